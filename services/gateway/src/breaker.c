/* Circuit breaker state machine (see breaker.h). */
#include "breaker.h"

void breaker_init(gw_breaker_t *b)
{
    atomic_init(&b->state, BREAKER_CLOSED);
    atomic_init(&b->failures, 0);
    atomic_init(&b->open_until_ms, 0);
    atomic_init(&b->probing, 0);
}

void breaker_copy(gw_breaker_t *dst, const gw_breaker_t *src)
{
    gw_breaker_t *s = (gw_breaker_t *)src;
    atomic_store(&dst->state, atomic_load(&s->state));
    atomic_store(&dst->failures, atomic_load(&s->failures));
    atomic_store(&dst->open_until_ms, atomic_load(&s->open_until_ms));
    /* a probe in flight belongs to the old configuration's request; it reports there */
    atomic_store(&dst->probing, 0);
}

int breaker_available(gw_breaker_t *b, int64_t now_ms)
{
    switch (atomic_load_explicit(&b->state, memory_order_relaxed)) {
    case BREAKER_CLOSED:
        return 1;
    case BREAKER_OPEN:
        return now_ms >= atomic_load(&b->open_until_ms);
    default:
        return !atomic_load(&b->probing);
    }
}

int breaker_acquire(gw_breaker_t *b, int64_t now_ms, int *probe)
{
    *probe = 0;
    int st = atomic_load_explicit(&b->state, memory_order_relaxed);
    if (st == BREAKER_CLOSED)
        return 1;
    if (st == BREAKER_OPEN && now_ms < atomic_load(&b->open_until_ms))
        return 0;
    int expected = 0;
    if (!atomic_compare_exchange_strong(&b->probing, &expected, 1))
        return 0;
    atomic_store(&b->state, BREAKER_HALF_OPEN);
    *probe = 1;
    return 1;
}

int breaker_success(gw_breaker_t *b, int probe)
{
    atomic_store_explicit(&b->failures, 0, memory_order_relaxed);
    if (!probe)
        return 0;
    atomic_store(&b->state, BREAKER_CLOSED);
    atomic_store(&b->probing, 0);
    return 1;
}

int breaker_failure(gw_breaker_t *b, int probe, int64_t now_ms, int threshold, int eject_ms)
{
    if (probe) {
        atomic_store(&b->open_until_ms, now_ms + eject_ms);
        atomic_store(&b->state, BREAKER_OPEN);
        atomic_store(&b->failures, 0);
        atomic_store(&b->probing, 0);
        return 1;
    }
    int n = atomic_fetch_add(&b->failures, 1) + 1;
    if (n < threshold)
        return 0;
    int expected = BREAKER_CLOSED;
    atomic_store(&b->open_until_ms, now_ms + eject_ms);
    if (!atomic_compare_exchange_strong(&b->state, &expected, BREAKER_OPEN))
        return 0; /* already ejected by a concurrent failure */
    atomic_store(&b->failures, 0);
    return 1;
}

void breaker_release(gw_breaker_t *b, int probe)
{
    if (probe)
        atomic_store(&b->probing, 0);
}

int breaker_state(gw_breaker_t *b)
{
    return atomic_load(&b->state);
}

const char *breaker_state_name(int state)
{
    switch (state) {
    case BREAKER_CLOSED:
        return "closed";
    case BREAKER_OPEN:
        return "open";
    default:
        return "half_open";
    }
}
