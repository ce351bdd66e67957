/*
 * timer_heap.h: a binary min-heap of deadlines, one per worker (no locking).
 *
 * Timers are embedded in the objects they time (client and upstream connections); each
 * knows its heap index, so re-arming or cancelling is O(log n) without searching. A
 * connection has one timer whose meaning follows its state (header read, upstream
 * deadline, keep-alive idle …), so the heap holds at most one entry per connection.
 */
#ifndef GW_TIMER_HEAP_H
#define GW_TIMER_HEAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct gw_timer {
    int64_t deadline_ms;
    int idx;  /* position in the heap, -1 when not armed */
    int kind; /* who owns it (the worker dispatches on it) */
} gw_timer_t;

typedef struct {
    gw_timer_t **items;
    int n, cap;
} gw_heap_t;

void heap_init(gw_heap_t *h);
void heap_free(gw_heap_t *h);
void timer_init(gw_timer_t *t, int kind);
/* Arms (or moves) t to deadline. TC_ENOMEM when the heap cannot grow. */
int heap_arm(gw_heap_t *h, gw_timer_t *t, int64_t deadline_ms);
void heap_cancel(gw_heap_t *h, gw_timer_t *t);
/* The earliest timer, or NULL. */
gw_timer_t *heap_top(const gw_heap_t *h);

#endif
