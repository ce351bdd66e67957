/* tc_wake: counted wake-ups of idle workers with a bounded wait. */
#include "tc/tc_core.h"
#include "tc/tc_time.h"
#include "tc/tc_wake.h"

#include <criterion/criterion.h>
#include <pthread.h>

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
