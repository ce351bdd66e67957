/*
 * gate.h: admission control of one model. At most `concurrency` requests run at once; up to
 * `queue` more wait, each at most `wait_ms`; anything beyond is refused at once, so overload
 * answers 503 with Retry-After instead of growing every caller's latency without bound.
 */
#ifndef ML_GATE_H
#define ML_GATE_H

#include <pthread.h>
#include <stdint.h>

typedef struct {
    int concurrency; /* requests running at once (default: the cores) */
    int queue;       /* requests waiting at most */
    int wait_ms;     /* how long one may wait */
} ml_gate_opts_t;

typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t freed;
    ml_gate_opts_t opts;
    int running, waiting;
    uint64_t refused;
} ml_gate_t;

void ml_gate_init(ml_gate_t *g, const ml_gate_opts_t *opts);
void ml_gate_destroy(ml_gate_t *g);
/* TC_OK: admitted (call ml_gate_leave after); TC_EAGAIN: the queue is full or the wait ran
 * out — refuse the request. */
int ml_gate_enter(ml_gate_t *g);
void ml_gate_leave(ml_gate_t *g);
/* Requests running and waiting now, and refused so far (for metrics and tests). */
void ml_gate_stats(ml_gate_t *g, int *running, int *waiting, uint64_t *refused);

#endif
