/* Admission control: a bounded number run, a bounded number wait, the rest are refused. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <unistd.h>

#include "gate.h"
#include "tc/tc_core.h"

Test(gate, admits_up_to_concurrency_then_queues_then_refuses)
{
    ml_gate_t g;
    ml_gate_init(&g, &(ml_gate_opts_t){.concurrency = 2, .queue = 0, .wait_ms = 50});
    cr_assert_eq(ml_gate_enter(&g), TC_OK);
    cr_assert_eq(ml_gate_enter(&g), TC_OK);
    cr_assert_eq(ml_gate_enter(&g), TC_EAGAIN, "no queue: the third is refused at once");
    ml_gate_leave(&g);
    cr_assert_eq(ml_gate_enter(&g), TC_OK, "a freed slot is taken");
    int running, waiting;
    uint64_t refused;
    ml_gate_stats(&g, &running, &waiting, &refused);
    cr_assert_eq(running, 2);
    cr_assert_eq(waiting, 0);
    cr_assert_eq(refused, 1);
    ml_gate_leave(&g);
    ml_gate_leave(&g);
    ml_gate_destroy(&g);
}

Test(gate, a_waiter_past_its_deadline_is_refused)
{
    ml_gate_t g;
    ml_gate_init(&g, &(ml_gate_opts_t){.concurrency = 1, .queue = 4, .wait_ms = 30});
    cr_assert_eq(ml_gate_enter(&g), TC_OK);
    cr_assert_eq(ml_gate_enter(&g), TC_EAGAIN, "the slot stays busy past the wait");
    ml_gate_leave(&g);
    ml_gate_destroy(&g);
}

typedef struct {
    ml_gate_t *g;
    int rc;
} waiter_t;

static void *wait_in_gate(void *arg)
{
    waiter_t *w = arg;
    w->rc = ml_gate_enter(w->g);
    if (w->rc == TC_OK)
        ml_gate_leave(w->g);
    return NULL;
}

Test(gate, a_waiter_gets_the_slot_when_it_frees_and_the_queue_is_bounded)
{
    ml_gate_t g;
    ml_gate_init(&g, &(ml_gate_opts_t){.concurrency = 1, .queue = 1, .wait_ms = 5000});
    cr_assert_eq(ml_gate_enter(&g), TC_OK);
    waiter_t w = {.g = &g};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, wait_in_gate, &w), 0);
    int running = 0, waiting = 0;
    uint64_t refused;
    for (int i = 0; i < 500 && waiting == 0; i++) {
        usleep(2000);
        ml_gate_stats(&g, &running, &waiting, &refused);
    }
    cr_assert_eq(waiting, 1, "the second request waits");
    cr_assert_eq(ml_gate_enter(&g), TC_EAGAIN, "the queue of one is full: refused at once");
    ml_gate_leave(&g);
    pthread_join(t, NULL);
    cr_assert_eq(w.rc, TC_OK, "the waiter was admitted when the slot freed");
    ml_gate_stats(&g, &running, &waiting, &refused);
    cr_assert_eq(running, 0);
    cr_assert_eq(refused, 1);
    ml_gate_destroy(&g);
}
