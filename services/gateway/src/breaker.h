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
 *
 * Issue 14: an ejection lasts base × n for the n-th consecutive one (capped; the count starts
 * over after reset_ms healthy), the caller may forbid an ejection (the upstream's ejection cap:
 * upstream_health.h), and an active health check that passes restores an ejected target at
 * once (breaker_restore).
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
    atomic_int probing;          /* a half-open probe is in flight */
    atomic_int ejections;        /* consecutive ejections (the ejection time grows with it) */
    _Atomic int64_t restored_ms; /* when it last came back (0: never ejected) */
} gw_breaker_t;

/* How a breaker ejects (the upstream's `breaker` settings). */
typedef struct {
    int failures; /* consecutive failures that eject */
    int base_ms;  /* first ejection; the n-th lasts base × n … */
    int max_ms;   /* … at most this */
    int reset_ms; /* healthy this long: the next ejection counts as a first one */
} gw_eject_policy_t;

void breaker_init(gw_breaker_t *b);
/* Copies the state of another breaker (configuration reload keeps ejections). */
void breaker_copy(gw_breaker_t *dst, const gw_breaker_t *src);
/* Whether a request may be sent now (without claiming the probe). */
bool breaker_available(gw_breaker_t *b, int64_t now_ms);
/* Claims the right to send (and *probe when this is the half-open probe); false: not now. */
bool breaker_acquire(gw_breaker_t *b, int64_t now_ms, bool *probe);
/* Outcome of a request sent after breaker_acquire; true when the state changed. */
bool breaker_success(gw_breaker_t *b, bool probe);
/* The same, recording when a probe's success restored the target (now_ms > 0). */
bool breaker_success_at(gw_breaker_t *b, bool probe, int64_t now_ms);
bool breaker_failure(gw_breaker_t *b, bool probe, int64_t now_ms, int threshold, int eject_ms);
/* The same under a policy; may_eject false (the upstream's ejection cap is reached) keeps a
 * closed breaker closed however many failures it counts. A failed probe always ejects again
 * (the target is already counted as ejected). */
bool breaker_failure_policy(gw_breaker_t *b, bool probe, int64_t now_ms, const gw_eject_policy_t *p,
                            bool may_eject);
/* Closes an open or half-open breaker (a passing health check, a success in panic mode); true
 * when it was not closed. */
bool breaker_restore(gw_breaker_t *b, int64_t now_ms);
/* Ejected: open or half-open (what counts against the ejection cap). */
bool breaker_ejected(gw_breaker_t *b);
/* A probe that ended without an outcome (client went away): let the next request probe. */
void breaker_release(gw_breaker_t *b, bool probe);
gw_breaker_state_t breaker_state(gw_breaker_t *b);
const char *breaker_state_name(gw_breaker_state_t state);

#endif
