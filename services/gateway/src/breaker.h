/*
 * breaker.h: per-target circuit breaker (outlier ejection), shared by every worker.
 *
 * closed     requests flow; `failures` consecutive failures (5xx, timeout, connection error)
 *            eject the target: open
 * open       no request goes to the target until `eject_ms` have passed
 * half_open  exactly one request (the probe) is let through; its success closes the breaker,
 *            its failure ejects the target again
 *
 * Lock-free (atomics): workers update it on every response without a shared lock. Time is
 * passed in (monotonic ms), so the state machine is unit-testable without sleeping.
 */
#ifndef GW_BREAKER_H
#define GW_BREAKER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef enum { BREAKER_CLOSED = 0, BREAKER_OPEN = 1, BREAKER_HALF_OPEN = 2 } gw_breaker_state_t;

typedef struct {
    atomic_int state;
    atomic_int failures; /* consecutive */
    _Atomic int64_t open_until_ms;
    atomic_int probing; /* a half-open probe is in flight */
} gw_breaker_t;

void breaker_init(gw_breaker_t *b);
/* Copies the state of another breaker (configuration reload keeps ejections). */
void breaker_copy(gw_breaker_t *dst, const gw_breaker_t *src);
/* Whether a request may be sent now (without claiming the probe). */
bool breaker_available(gw_breaker_t *b, int64_t now_ms);
/* Claims the right to send (and *probe when this is the half-open probe); false: not now. */
bool breaker_acquire(gw_breaker_t *b, int64_t now_ms, bool *probe);
/* Outcome of a request sent after breaker_acquire; true when the state changed. */
bool breaker_success(gw_breaker_t *b, bool probe);
bool breaker_failure(gw_breaker_t *b, bool probe, int64_t now_ms, int threshold, int eject_ms);
/* A probe that ended without an outcome (client went away): let the next request probe. */
void breaker_release(gw_breaker_t *b, bool probe);
gw_breaker_state_t breaker_state(gw_breaker_t *b);
const char *breaker_state_name(gw_breaker_state_t state);

#endif
