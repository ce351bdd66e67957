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
    bool ready;
} tc_wake_t;

int tc_wake_init(tc_wake_t *w, int max_pending);
void tc_wake_destroy(tc_wake_t *w); /* safe on a zeroed or destroyed tc_wake_t */

/* Wakes one waiter, or the next thread to wait. */
void tc_wake_signal(tc_wake_t *w);

/* Waits for a signal (consuming it) or timeout_ms, whichever comes first; true when it was a
 * signal. */
bool tc_wake_wait(tc_wake_t *w, int timeout_ms);

#endif
