/* Circuit breaker state machine (see breaker.h). */
#include "breaker.h"
#include "upstream_health.h"

void breaker_init(gw_breaker_t *b)
{
    atomic_init(&b->state, BREAKER_CLOSED);
    atomic_init(&b->failures, 0);
    atomic_init(&b->open_until_ms, 0);
    atomic_init(&b->probing, 0);
    atomic_init(&b->ejections, 0);
    atomic_init(&b->restored_ms, 0);
}

void breaker_copy(gw_breaker_t *dst, const gw_breaker_t *src)
{
    gw_breaker_t *s = (gw_breaker_t *)src;
    atomic_store(&dst->state, atomic_load(&s->state));
    atomic_store(&dst->failures, atomic_load(&s->failures));
    atomic_store(&dst->open_until_ms, atomic_load(&s->open_until_ms));
    atomic_store(&dst->ejections, atomic_load(&s->ejections));
    atomic_store(&dst->restored_ms, atomic_load(&s->restored_ms));
    /* a probe in flight belongs to the old configuration's request; it reports there */
    atomic_store(&dst->probing, 0);
}

bool breaker_available(gw_breaker_t *b, int64_t now_ms)
{
    switch (atomic_load_explicit(&b->state, memory_order_relaxed)) {
    case BREAKER_CLOSED:
        return true;
    case BREAKER_OPEN:
        return now_ms >= atomic_load(&b->open_until_ms);
    default:
        return !atomic_load(&b->probing);
    }
}

bool breaker_acquire(gw_breaker_t *b, int64_t now_ms, bool *probe)
{
    *probe = false;
    int st = atomic_load_explicit(&b->state, memory_order_relaxed);
    if (st == BREAKER_CLOSED)
        return true;
    if (st == BREAKER_OPEN && now_ms < atomic_load(&b->open_until_ms))
        return false;
    int expected = 0;
    if (!atomic_compare_exchange_strong(&b->probing, &expected, 1))
        return false;
    atomic_store(&b->state, BREAKER_HALF_OPEN);
    *probe = true;
    return true;
}

bool breaker_success(gw_breaker_t *b, bool probe)
{
    return breaker_success_at(b, probe, 0);
}

bool breaker_success_at(gw_breaker_t *b, bool probe, int64_t now_ms)
{
    /* a plain store would cost every response a write to a line all workers share */
    if (atomic_load_explicit(&b->failures, memory_order_relaxed))
        atomic_store_explicit(&b->failures, 0, memory_order_relaxed);
    if (!probe)
        return false;
    atomic_store(&b->restored_ms, now_ms); /* the healthy period (reset_ms) starts */
    atomic_store(&b->state, BREAKER_CLOSED);
    atomic_store(&b->probing, 0);
    return true;
}

/* The length of the next ejection, counting it. */
static int64_t next_ejection_ms(gw_breaker_t *b, int64_t now_ms, const gw_eject_policy_t *p)
{
    int n = uh_ejections_before(atomic_load(&b->ejections), atomic_load(&b->restored_ms), now_ms,
                                p->reset_ms) +
            1;
    atomic_store(&b->ejections, n);
    return uh_eject_ms(p->base_ms, p->max_ms, n);
}

bool breaker_failure_policy(gw_breaker_t *b, bool probe, int64_t now_ms, const gw_eject_policy_t *p,
                            bool may_eject)
{
    if (probe) {
        atomic_store(&b->open_until_ms, now_ms + next_ejection_ms(b, now_ms, p));
        atomic_store(&b->state, BREAKER_OPEN);
        atomic_store(&b->failures, 0);
        atomic_store(&b->probing, 0);
        return true;
    }
    int n = atomic_fetch_add(&b->failures, 1) + 1;
    if (n < p->failures || !may_eject)
        return false;
    int expected = BREAKER_CLOSED;
    if (!atomic_compare_exchange_strong(&b->state, &expected, BREAKER_OPEN))
        return false; /* already ejected by a concurrent failure */
    atomic_store(&b->open_until_ms, now_ms + next_ejection_ms(b, now_ms, p));
    atomic_store(&b->failures, 0);
    return true;
}

bool breaker_failure(gw_breaker_t *b, bool probe, int64_t now_ms, int threshold, int eject_ms)
{
    const gw_eject_policy_t p = {
        .failures = threshold, .base_ms = eject_ms, .max_ms = eject_ms, .reset_ms = 0};
    return breaker_failure_policy(b, probe, now_ms, &p, true);
}

bool breaker_restore(gw_breaker_t *b, int64_t now_ms)
{
    int st = atomic_load(&b->state);
    if (st == BREAKER_CLOSED)
        return false;
    atomic_store(&b->failures, 0);
    atomic_store(&b->restored_ms, now_ms > 0 ? now_ms : 1);
    /* a probe in flight still reports; its failure ejects again, its success is a no-op */
    return atomic_compare_exchange_strong(&b->state, &st, BREAKER_CLOSED);
}

bool breaker_ejected(gw_breaker_t *b)
{
    return atomic_load_explicit(&b->state, memory_order_relaxed) != BREAKER_CLOSED;
}

void breaker_release(gw_breaker_t *b, bool probe)
{
    if (probe)
        atomic_store(&b->probing, 0);
}

gw_breaker_state_t breaker_state(gw_breaker_t *b)
{
    return (gw_breaker_state_t)atomic_load(&b->state);
}

const char *breaker_state_name(gw_breaker_state_t state)
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
