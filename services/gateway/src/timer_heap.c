/* Binary min-heap of embedded timers (see timer_heap.h). */
#include "timer_heap.h"
#include "tc/tc_core.h"

#include <stdlib.h>

void heap_init(gw_heap_t *h)
{
    h->items = NULL;
    h->n = h->cap = 0;
}

void heap_free(gw_heap_t *h)
{
    free(h->items);
    heap_init(h);
}

void timer_init(gw_timer_t *t, int kind)
{
    t->deadline_ms = 0;
    t->idx = -1;
    t->kind = kind;
}

static void place(gw_heap_t *h, int i, gw_timer_t *t)
{
    h->items[i] = t;
    t->idx = i;
}

static void sift_up(gw_heap_t *h, int i)
{
    gw_timer_t *t = h->items[i];
    while (i > 0) {
        int parent = (i - 1) / 2;
        if (h->items[parent]->deadline_ms <= t->deadline_ms)
            break;
        place(h, i, h->items[parent]);
        i = parent;
    }
    place(h, i, t);
}

static void sift_down(gw_heap_t *h, int i)
{
    gw_timer_t *t = h->items[i];
    for (;;) {
        int child = 2 * i + 1;
        if (child >= h->n)
            break;
        if (child + 1 < h->n && h->items[child + 1]->deadline_ms < h->items[child]->deadline_ms)
            child++;
        if (h->items[child]->deadline_ms >= t->deadline_ms)
            break;
        place(h, i, h->items[child]);
        i = child;
    }
    place(h, i, t);
}

int heap_arm(gw_heap_t *h, gw_timer_t *t, int64_t deadline_ms)
{
    if (t->idx >= 0) {
        int64_t old = t->deadline_ms;
        t->deadline_ms = deadline_ms;
        if (deadline_ms < old)
            sift_up(h, t->idx);
        else if (deadline_ms > old)
            sift_down(h, t->idx);
        return TC_OK;
    }
    if (h->n == h->cap) {
        int cap = h->cap ? h->cap * 2 : 256;
        gw_timer_t **items = realloc(h->items, (size_t)cap * sizeof *items);
        if (!items)
            return TC_ENOMEM;
        h->items = items;
        h->cap = cap;
    }
    t->deadline_ms = deadline_ms;
    place(h, h->n++, t);
    sift_up(h, t->idx);
    return TC_OK;
}

void heap_cancel(gw_heap_t *h, gw_timer_t *t)
{
    int i = t->idx;
    if (i < 0)
        return;
    t->idx = -1;
    gw_timer_t *last = h->items[--h->n];
    if (i == h->n)
        return;
    place(h, i, last);
    if (i > 0 && h->items[(i - 1) / 2]->deadline_ms > last->deadline_ms)
        sift_up(h, i);
    else
        sift_down(h, i);
}

gw_timer_t *heap_top(const gw_heap_t *h)
{
    return h->n ? h->items[0] : NULL;
}
