/* tc_wake: counted wake-ups of idle workers with a bounded wait. */
#include "tc/tc_core.h"
#include "tc/tc_time.h"
#include "tc/tc_wake.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

Test(wake, a_wait_without_a_signal_times_out)
{
    tc_wake_t w;
    cr_assert_eq(tc_wake_init(&w, 4), TC_OK);
    int64_t t0 = tc_mono_ms();
    cr_assert_not(tc_wake_wait(&w, 50));
    cr_assert_geq(tc_mono_ms() - t0, 45, "it waited the timeout");
    tc_wake_destroy(&w);
    tc_wake_destroy(&w); /* twice is harmless */
}

Test(wake, signals_sent_before_the_wait_are_counted_not_lost)
{
    tc_wake_t w;
    cr_assert_eq(tc_wake_init(&w, 4), TC_OK);
    tc_wake_signal(&w);
    tc_wake_signal(&w);
    cr_assert(tc_wake_wait(&w, 10000));
    cr_assert(tc_wake_wait(&w, 10000));
    cr_assert_not(tc_wake_wait(&w, 10), "two signals wake two waits, not three");
    tc_wake_destroy(&w);
}

Test(wake, signals_beyond_the_workers_count_are_not_kept)
{
    tc_wake_t w;
    cr_assert_eq(tc_wake_init(&w, 2), TC_OK);
    for (int i = 0; i < 10; i++)
        tc_wake_signal(&w);
    cr_assert(tc_wake_wait(&w, 10000));
    cr_assert(tc_wake_wait(&w, 10000));
    cr_assert_not(tc_wake_wait(&w, 10), "ten signals, two workers: two wake-ups kept");
    tc_wake_destroy(&w);
}

static void *signal_later(void *ud)
{
    tc_sleep_ms(50);
    tc_wake_signal(ud);
    return NULL;
}

Test(wake, a_signal_ends_a_wait_in_progress)
{
    tc_wake_t w;
    cr_assert_eq(tc_wake_init(&w, 4), TC_OK);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, signal_later, &w), 0);
    cr_assert(tc_wake_wait(&w, 60000), "woken by the signal, long before the timeout");
    pthread_join(t, NULL);
    tc_wake_destroy(&w);
}

Test(wake, destroying_a_zeroed_one_is_harmless)
{
    tc_wake_t w = {0};
    tc_wake_destroy(&w);
}

/* ------------------------------------------------------------------ tc_wake_idle */

typedef struct {
    tc_wake_t *w;
    int poll_ms;
    atomic_int *looks;
    atomic_int returned;
    bool last;
} idler_t;

static void *idle_until_closed(void *ud)
{
    idler_t *it = ud;
    while (tc_wake_idle(it->w, it->poll_ms))
        atomic_fetch_add(it->looks, 1);
    atomic_store(&it->returned, 1);
    return NULL;
}

static void *idle_once(void *ud)
{
    idler_t *it = ud;
    it->last = tc_wake_idle(it->w, it->poll_ms);
    atomic_store(&it->returned, 1);
    return NULL;
}

Test(wake, an_idle_pool_looks_once_per_interval_not_once_per_worker)
{
    enum { WORKERS = 4, POLL_MS = 20 };
    tc_wake_t w;
    cr_assert_eq(tc_wake_init(&w, WORKERS), TC_OK);
    atomic_int looks = 0;
    idler_t it[WORKERS];
    pthread_t t[WORKERS];
    int64_t t0 = tc_mono_ms();
    for (int i = 0; i < WORKERS; i++) {
        it[i] = (idler_t){.w = &w, .poll_ms = POLL_MS, .looks = &looks};
        cr_assert_eq(pthread_create(&t[i], NULL, idle_until_closed, &it[i]), 0);
    }
    tc_sleep_ms(400);
    tc_wake_close(&w);
    for (int i = 0; i < WORKERS; i++)
        pthread_join(t[i], NULL);
    int64_t elapsed = tc_mono_ms() - t0;
    int n = atomic_load(&looks);
    /* one scout: about elapsed / POLL_MS looks; one per worker would be WORKERS times that */
    cr_assert_geq(n, 1, "an idle pool still looks");
    cr_assert_leq(n, elapsed / POLL_MS + 2, "%d looks in %lld ms by %d idle workers", n,
                  (long long)elapsed, WORKERS);
    tc_wake_destroy(&w);
}

Test(wake, a_signal_brings_in_one_idle_worker_and_close_ends_every_wait)
{
    tc_wake_t w;
    cr_assert_eq(tc_wake_init(&w, 4), TC_OK);
    idler_t it[3];
    pthread_t t[3];
    for (int i = 0; i < 3; i++) {
        it[i] = (idler_t){.w = &w, .poll_ms = 600000};
        cr_assert_eq(pthread_create(&t[i], NULL, idle_once, &it[i]), 0);
    }
    tc_sleep_ms(100);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(atomic_load(&it[i].returned), 0, "idle workers wait for work");
    tc_wake_signal(&w);
    int64_t until = tc_mono_ms() + 10000;
    int back = 0;
    while (back == 0 && tc_mono_ms() < until) {
        tc_sleep_ms(5);
        back = atomic_load(&it[0].returned) + atomic_load(&it[1].returned) +
               atomic_load(&it[2].returned);
    }
    tc_sleep_ms(100);
    back =
        atomic_load(&it[0].returned) + atomic_load(&it[1].returned) + atomic_load(&it[2].returned);
    cr_assert_eq(back, 1, "one signal, one worker looks (%d did)", back);
    tc_wake_close(&w);
    int looked = 0;
    for (int i = 0; i < 3; i++) {
        pthread_join(t[i], NULL);
        looked += it[i].last;
    }
    cr_assert_eq(looked, 1, "the others were ended by the close, not told to look");
    cr_assert_not(tc_wake_idle(&w, 600000), "closed: no wait at all");
    cr_assert_not(tc_wake_wait(&w, 600000));
    tc_wake_destroy(&w);
}
