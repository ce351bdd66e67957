/*
 * shadow.c: shadow traffic. A share of a model's requests is copied to its shadow candidate
 * after the default has answered; one worker thread runs the candidate and counts how often
 * it agrees (the kind's agree()). The copies wait in a bounded queue: when the candidate
 * cannot keep up, copies are dropped and counted, never the caller's request slowed. The queue
 * is bounded in jobs and in bytes (a batch copies up to 64 inputs), and a slot is reserved
 * before anything is copied, so a full queue costs the request nothing.
 */
#include "ml_app.h"
#include "tc/tc_crypto.h"
#include "tc/tc_log.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define SHADOW_MAX_BYTES (64u << 20)

typedef struct {
    ml_model_t *model;
    int version;  /* index of the candidate when the copy was made */
    size_t bytes; /* the copied texts: what the job holds of the queue's byte budget */
    int n;
    char **texts;
    size_t *lens;
    cJSON *options;
    cJSON **answers; /* the default's */
} ml_shadow_job_t;

struct ml_shadow {
    ml_app_t *app;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t more;
    ml_shadow_job_t *ring;
    int cap, head, count, reserved;
    size_t bytes; /* held by queued, reserved and running jobs */
    bool stop;
};

static void job_free(ml_shadow_job_t *j)
{
    for (int i = 0; i < j->n; i++) {
        free(j->texts ? j->texts[i] : NULL);
        cJSON_Delete(j->answers ? j->answers[i] : NULL);
    }
    free(j->texts);
    free(j->lens);
    free(j->answers);
    cJSON_Delete(j->options);
    memset(j, 0, sizeof *j);
}

static void job_run(ml_app_t *app, ml_shadow_job_t *j)
{
    ml_model_t *m = j->model;
    const ml_version_t *v = &m->versions[j->version];
    for (int i = 0; i < j->n; i++) {
        cJSON *out = NULL;
        if (v->kind->predict(v->model, j->texts[i], j->lens[i], j->options, &out) != TC_OK)
            continue;
        bool agree = v->kind->agree(j->answers[i], out);
        cJSON_Delete(out);
        /* the candidate may have changed while the copy waited: count only for the current */
        if (atomic_load(&m->shadow) != j->version)
            continue;
        atomic_fetch_add(&m->shadow_compared, 1);
        if (agree)
            atomic_fetch_add(&m->shadow_agreed, 1);
        tc_metric_inc(app->m_shadow, 1, m->name, v->version, agree ? "agree" : "disagree");
    }
}

static void *shadow_main(void *arg)
{
    ml_shadow_t *s = arg;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        while (!s->stop && s->count == 0)
            pthread_cond_wait(&s->more, &s->lock);
        if (s->count == 0)
            break; /* stopping, and nothing left */
        ml_shadow_job_t job = s->ring[s->head];
        memset(&s->ring[s->head], 0, sizeof job);
        s->head = (s->head + 1) % s->cap;
        s->count--;
        bool stop = s->stop;
        pthread_mutex_unlock(&s->lock);
        if (!stop)
            job_run(s->app, &job);
        size_t bytes = job.bytes;
        job_free(&job);
        pthread_mutex_lock(&s->lock);
        s->bytes -= bytes;
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

ml_shadow_t *ml_shadow_start(ml_app_t *app, int queue)
{
    ml_shadow_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->app = app;
    s->cap = queue > 0 ? queue : 1;
    s->ring = calloc((size_t)s->cap, sizeof *s->ring);
    if (!s->ring) {
        free(s);
        return NULL;
    }
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->more, NULL);
    if (pthread_create(&s->thread, NULL, shadow_main, s) != 0) {
        pthread_mutex_destroy(&s->lock);
        pthread_cond_destroy(&s->more);
        free(s->ring);
        free(s);
        return NULL;
    }
    return s;
}

/* Whether this request is in the mirrored share. */
static bool sampled(int percent)
{
    uint32_t r = 0;
    if (percent >= 100)
        return true;
    return tc_random_bytes(&r, sizeof r) == TC_OK && (int)(r % 100) < percent;
}

static int job_copy(ml_shadow_job_t *j, const char *const *texts, const size_t *lens, int n,
                    const cJSON *options, cJSON *const *answers)
{
    j->texts = calloc((size_t)n, sizeof *j->texts);
    j->lens = calloc((size_t)n, sizeof *j->lens);
    j->answers = calloc((size_t)n, sizeof *j->answers);
    j->n = n;
    if (!j->texts || !j->lens || !j->answers)
        return TC_ENOMEM;
    for (int i = 0; i < n; i++) {
        j->texts[i] = malloc(lens[i] + 1);
        j->answers[i] = cJSON_Duplicate(answers[i], 1);
        if (!j->texts[i] || !j->answers[i])
            return TC_ENOMEM;
        memcpy(j->texts[i], texts[i], lens[i]);
        j->texts[i][lens[i]] = '\0';
        j->lens[i] = lens[i];
    }
    if (options && !(j->options = cJSON_Duplicate(options, 1)))
        return TC_ENOMEM;
    return TC_OK;
}

void ml_shadow_offer(ml_shadow_t *s, ml_model_t *m, const char *const *texts, const size_t *lens,
                     int n, const cJSON *options, cJSON *const *answers)
{
    int version = atomic_load(&m->shadow);
    if (!s || version < 0 || !sampled(atomic_load(&m->shadow_percent)))
        return;
    size_t bytes = 0;
    for (int i = 0; i < n; i++)
        bytes += lens[i];
    /* a slot and the bytes first: a full queue drops the copy before it is made */
    pthread_mutex_lock(&s->lock);
    bool room = !s->stop && s->count + s->reserved < s->cap && s->bytes + bytes <= SHADOW_MAX_BYTES;
    if (room) {
        s->reserved++;
        s->bytes += bytes;
    }
    pthread_mutex_unlock(&s->lock);
    if (!room) {
        atomic_fetch_add(&m->shadow_dropped, (uint64_t)n);
        return;
    }
    ml_shadow_job_t job = {.model = m, .version = version, .bytes = bytes};
    bool copied = job_copy(&job, texts, lens, n, options, answers) == TC_OK;
    pthread_mutex_lock(&s->lock);
    s->reserved--;
    if (copied) {
        s->ring[(s->head + s->count) % s->cap] = job;
        s->count++;
        pthread_cond_signal(&s->more);
    } else {
        s->bytes -= bytes;
    }
    pthread_mutex_unlock(&s->lock);
    if (!copied) {
        job_free(&job);
        atomic_fetch_add(&m->shadow_dropped, (uint64_t)n);
    }
}

void ml_shadow_stop(ml_shadow_t *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->lock);
    s->stop = true;
    pthread_cond_signal(&s->more);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    for (; s->count > 0; s->count--, s->head = (s->head + 1) % s->cap)
        job_free(&s->ring[s->head]); /* offered after the worker left: never run */
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->more);
    free(s->ring);
    free(s);
}
