#include "gate.h"
#include "tc/tc_core.h"
#include "tc/tc_time.h"

#include <time.h>

void ml_gate_init(ml_gate_t *g, const ml_gate_opts_t *opts)
{
    pthread_mutex_init(&g->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&g->freed, &attr);
    pthread_condattr_destroy(&attr);
    g->opts = *opts;
    if (g->opts.concurrency < 1)
        g->opts.concurrency = 1;
    if (g->opts.queue < 0)
        g->opts.queue = 0;
    g->running = g->waiting = 0;
    g->refused = 0;
}

void ml_gate_destroy(ml_gate_t *g)
{
    pthread_mutex_destroy(&g->lock);
    pthread_cond_destroy(&g->freed);
}

int ml_gate_enter(ml_gate_t *g)
{
    int rc = TC_OK;
    pthread_mutex_lock(&g->lock);
    if (g->running < g->opts.concurrency) {
        g->running++;
        goto out;
    }
    if (g->waiting >= g->opts.queue) {
        rc = TC_EAGAIN;
        goto out;
    }
    struct timespec until = tc_deadline_ms(CLOCK_MONOTONIC, g->opts.wait_ms);
    g->waiting++;
    while (g->running >= g->opts.concurrency) {
        if (pthread_cond_timedwait(&g->freed, &g->lock, &until) != 0 &&
            g->running >= g->opts.concurrency) {
            rc = TC_EAGAIN;
            break;
        }
    }
    g->waiting--;
    if (rc == TC_OK)
        g->running++;
out:
    if (rc != TC_OK)
        g->refused++;
    pthread_mutex_unlock(&g->lock);
    return rc;
}

void ml_gate_leave(ml_gate_t *g)
{
    pthread_mutex_lock(&g->lock);
    g->running--;
    pthread_cond_signal(&g->freed);
    pthread_mutex_unlock(&g->lock);
}

void ml_gate_stats(ml_gate_t *g, int *running, int *waiting, uint64_t *refused)
{
    pthread_mutex_lock(&g->lock);
    *running = g->running;
    *waiting = g->waiting;
    *refused = g->refused;
    pthread_mutex_unlock(&g->lock);
}
