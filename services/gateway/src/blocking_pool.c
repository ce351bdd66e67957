/*
 * A few threads for work that may block (a token whose signing key must be fetched, an
 * API-key introspection over HTTP), so the event loops never do. Bounded queue: when it is
 * full the caller answers 503 instead of queueing without limit behind a slow auth service.
 */
#include "gw.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct task {
    struct task *next;
    gw_task_fn run, drop;
    void *arg;
} task_t;

struct gw_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    task_t *head, *tail;
    int queued, max_queue;
    int stop;
    int nthreads;
    pthread_t *threads;
};

static void *pool_main(void *arg)
{
    gw_pool_t *p = arg;
    pthread_setname_np(pthread_self(), "gw-blocking");
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (!p->head && !p->stop)
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->stop) {
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        task_t *t = p->head;
        p->head = t->next;
        if (!p->head)
            p->tail = NULL;
        p->queued--;
        pthread_mutex_unlock(&p->mu);
        t->run(t->arg);
        free(t);
    }
}

gw_pool_t *gw_pool_new(int threads, int max_queue)
{
    gw_pool_t *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->max_queue = max_queue;
    p->threads = calloc((size_t)threads, sizeof *p->threads);
    if (!p->threads) {
        gw_pool_free(p);
        return NULL;
    }
    for (int i = 0; i < threads; i++) {
        if (pthread_create(&p->threads[i], NULL, pool_main, p) != 0) {
            tc_log_kv(TC_LOG_ERROR, "cannot start a blocking-pool thread", NULL);
            gw_pool_free(p);
            return NULL;
        }
        p->nthreads++;
    }
    return p;
}

int gw_pool_submit(gw_pool_t *p, gw_task_fn run, gw_task_fn drop, void *arg)
{
    task_t *t = malloc(sizeof *t);
    if (!t)
        return TC_ENOMEM;
    *t = (task_t){NULL, run, drop, arg};
    pthread_mutex_lock(&p->mu);
    if (p->stop || p->queued >= p->max_queue) {
        pthread_mutex_unlock(&p->mu);
        free(t);
        return TC_EAGAIN;
    }
    if (p->tail)
        p->tail->next = t;
    else
        p->head = t;
    p->tail = t;
    p->queued++;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return TC_OK;
}

/* Stops after the tasks running now; queued ones are dropped (their owners are gone). */
void gw_pool_free(gw_pool_t *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    task_t *t = p->head;
    while (t) {
        task_t *next = t->next;
        t->drop(t->arg);
        free(t);
        t = next;
    }
    free(p->threads);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
