/*
 * tc_wake.h: wakes an idle worker thread at once when work becomes due, instead of at its next
 * poll (a workflow execution just started, a webhook message just committed). Signals are
 * counted, so a signal sent while every worker is busy is not lost: the next wait returns at
 * once. Waiting always has a timeout: work made due by another replica is found by polling.
 */
#ifndef TC_WAKE_H
#define TC_WAKE_H

#include <pthread.h>
#include <stdbool.h>

typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t cv;
    int pending; /* signals not yet consumed by a wait */
    int max_pending;
    bool scouting; /* an idle worker is waiting out the poll interval (tc_wake_idle) */
    bool closed;
    bool ready;
} tc_wake_t;

int tc_wake_init(tc_wake_t *w, int max_pending);
void tc_wake_destroy(tc_wake_t *w); /* safe on a zeroed or destroyed tc_wake_t */

/* Wakes one waiter, or the next thread to wait. */
void tc_wake_signal(tc_wake_t *w);

/* Waits for a signal (consuming it) or timeout_ms, whichever comes first; true when it was a
 * signal. */
bool tc_wake_wait(tc_wake_t *w, int timeout_ms);

/*
 * Where a pool's worker waits after finding no work. One idle worker at a time, the scout,
 * waits out poll_ms and then looks again (true); the others wait for a signal only. An idle
 * pool so costs one look per poll_ms per replica, not one per worker: with eight workers on
 * a 200 ms poll, 5 queries a second instead of 40. A worker that found work signals once
 * (tc_wake_signal) so another one looks too: the pool fills up while work keeps turning up,
 * and a busy scout is replaced by the next worker that finds nothing. false once closed.
 */
bool tc_wake_idle(tc_wake_t *w, int poll_ms);

/* Ends every wait now and later (shutdown: tc_service_on_stop). */
void tc_wake_close(tc_wake_t *w);

#endif
