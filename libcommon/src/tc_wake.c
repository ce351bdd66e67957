#include "tc/tc_wake.h"
#include "tc/tc_core.h"

#include <errno.h>
#include <string.h>
#include <time.h>

int tc_wake_init(tc_wake_t *w, int max_pending)
{
    memset(w, 0, sizeof *w);
    w->max_pending = max_pending > 0 ? max_pending : 1;
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0)
        return TC_ERROR;
    /* a monotonic deadline: a clock step must not stretch or cut a worker's poll */
    int rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (rc == 0)
        rc = pthread_cond_init(&w->cv, &attr);
    pthread_condattr_destroy(&attr);
    if (rc != 0)
        return TC_ERROR;
    if (pthread_mutex_init(&w->lock, NULL) != 0) {
        pthread_cond_destroy(&w->cv);
        return TC_ERROR;
    }
    w->ready = true;
    return TC_OK;
}

void tc_wake_destroy(tc_wake_t *w)
{
    if (!w->ready)
        return;
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->lock);
    w->ready = false;
}

void tc_wake_signal(tc_wake_t *w)
{
    pthread_mutex_lock(&w->lock);
    if (w->pending < w->max_pending)
        w->pending++;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->lock);
}

static struct timespec deadline_after(int timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    return ts;
}

bool tc_wake_wait(tc_wake_t *w, int timeout_ms)
{
    struct timespec ts = deadline_after(timeout_ms);
    pthread_mutex_lock(&w->lock);
    while (w->pending == 0 && !w->closed)
        if (pthread_cond_timedwait(&w->cv, &w->lock, &ts) == ETIMEDOUT)
            break;
    bool signalled = w->pending > 0;
    if (signalled)
        w->pending--;
    pthread_mutex_unlock(&w->lock);
    return signalled;
}

bool tc_wake_idle(tc_wake_t *w, int poll_ms)
{
    bool look = false;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        if (w->closed)
            break;
        if (w->pending > 0) {
            w->pending--;
            look = true;
            break;
        }
        if (!w->scouting) {
            w->scouting = true;
            struct timespec ts = deadline_after(poll_ms);
            while (w->pending == 0 && !w->closed)
                if (pthread_cond_timedwait(&w->cv, &w->lock, &ts) == ETIMEDOUT)
                    break;
            w->scouting = false;
            /* an idle worker takes over while this one looks (and perhaps stays busy) */
            pthread_cond_broadcast(&w->cv);
            if (w->pending > 0)
                w->pending--;
            look = !w->closed;
            break;
        }
        pthread_cond_wait(&w->cv, &w->lock);
    }
    pthread_mutex_unlock(&w->lock);
    return look;
}

void tc_wake_close(tc_wake_t *w)
{
    if (!w->ready)
        return;
    pthread_mutex_lock(&w->lock);
    w->closed = true;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->lock);
}
