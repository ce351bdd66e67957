/* Unit tests for the timer heap (timer_heap.c): deadline order, moves and cancels. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timer_heap.h"
#include "tc/tc_core.h"

Test(timers, fire_in_deadline_order_with_moves_and_cancels)
{
    enum { N = 500 };
    gw_heap_t h;
    heap_init(&h);
    static gw_timer_t t[N];
    srand(7);
    for (int i = 0; i < N; i++) {
        timer_init(&t[i], 1);
        cr_assert_eq(heap_arm(&h, &t[i], rand() % 10000), TC_OK);
    }
    for (int i = 0; i < N; i += 3)
        heap_arm(&h, &t[i], rand() % 10000); /* re-arm: move up or down */
    for (int i = 1; i < N; i += 5)
        heap_cancel(&h, &t[i]);
    heap_cancel(&h, &t[1]); /* cancelling twice is harmless */
    int64_t last = -1;
    int n = 0;
    gw_timer_t *top;
    while ((top = heap_top(&h))) {
        cr_assert_geq(top->deadline_ms, last);
        last = top->deadline_ms;
        heap_cancel(&h, top);
        cr_assert_eq(top->idx, -1);
        n++;
    }
    cr_assert_eq(n, N - N / 5);
    heap_free(&h);
}
