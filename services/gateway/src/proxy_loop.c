/*
 * The workers: one thread and one epoll loop each, listening on the public port.
 *
 * Accepting: by default every worker has its own listening socket on the port
 * (SO_REUSEPORT), so the kernel spreads connections without a shared accept queue or a
 * thundering herd; GATEWAY_ACCEPT=exclusive uses one socket that every worker watches with
 * EPOLLEXCLUSIVE instead (README: measurements of both).
 *
 * A loop turn: wait (until the earliest timer), handle events, fire due timers, run results
 * posted by other threads, flush Redis writes queued during the turn, pick up a new
 * configuration. Connections use edge-triggered events and remember readiness in flags, so
 * a connection that is busy elsewhere (waiting for Redis, say) loses no wake-up.
 */
#include "gw.h"
#include "ratelimit_async.h"
#include "usage_events.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"
#include "tc/tc_time.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_EVENTS     256
#define MAX_WAIT_MS    250 /* upper bound of a wait, so quiesce and reloads are seen promptly */
#define ACCEPT_BATCH   64
#define LISTEN_BACKLOG 4096
#define BUF_SPARES     256

#define container_of(p, type, member) ((type *)((char *)(p)-offsetof(type, member)))

/* ------------------------------------------------------------------ buffers */

void *gw_buf_get(gw_worker_t *w)
{
    if (w->bufs.n)
        return w->bufs.items[--w->bufs.n];
    return malloc(GW_BUF_SIZE);
}

void gw_buf_put(gw_worker_t *w, void *buf, size_t cap)
{
    if (!buf)
        return;
    /* Grown buffers go back to the allocator; the cache keeps at most BUF_SPARES spares
     * (enough for a hundred busy connections, 2 MiB per worker at most). */
    if (cap != GW_BUF_SIZE || w->bufs.n >= BUF_SPARES) {
        free(buf);
        return;
    }
    if (w->bufs.n == w->bufs.cap) {
        int cap2 = w->bufs.cap ? w->bufs.cap * 2 : 64;
        void **items = realloc(w->bufs.items, (size_t)cap2 * sizeof *items);
        if (!items) {
            free(buf);
            return;
        }
        w->bufs.items = items;
        w->bufs.cap = cap2;
    }
    w->bufs.items[w->bufs.n++] = buf;
}

/* ------------------------------------------------------------------ cross-thread results */

void gw_worker_post(gw_worker_t *w, gw_done_t *d)
{
    d->next = NULL;
    pthread_mutex_lock(&w->done_lock);
    if (w->done_tail)
        w->done_tail->next = d;
    else
        w->done_head = d;
    w->done_tail = d;
    pthread_mutex_unlock(&w->done_lock);
    if (!atomic_exchange(&w->wake_pending, 1)) {
        uint64_t one = 1;
        if (write(w->wake_fd, &one, sizeof one) < 0 && errno != EAGAIN) {
            char id[24];
            tc_log_kv(TC_LOG_ERROR, "cannot wake a worker", "worker", tc_log_int(id, w->id),
                      "error", strerror(errno), NULL);
        }
    }
}

static void run_posted(gw_worker_t *w)
{
    uint64_t v;
    while (read(w->wake_fd, &v, sizeof v) > 0)
        ;
    atomic_store(&w->wake_pending, 0);
    pthread_mutex_lock(&w->done_lock);
    gw_done_t *d = w->done_head;
    w->done_head = w->done_tail = NULL;
    pthread_mutex_unlock(&w->done_lock);
    while (d) {
        gw_done_t *next = d->next;
        d->run(w, d);
        d = next;
    }
}

static void drop_posted(gw_worker_t *w)
{
    pthread_mutex_lock(&w->done_lock);
    gw_done_t *d = w->done_head;
    w->done_head = w->done_tail = NULL;
    pthread_mutex_unlock(&w->done_lock);
    while (d) {
        gw_done_t *next = d->next;
        d->drop(d);
        d = next;
    }
}

/* ------------------------------------------------------------------ configuration */

void gw_worker_cfg_release(gw_worker_t *w, gw_config_t *cfg)
{
    if (cfg == w->cfg) {
        w->cfg_users--;
        return;
    }
    for (int i = 0; i < w->nretired; i++) {
        if (w->retired[i].cfg != cfg)
            continue;
        if (--w->retired[i].users == 0) {
            gw_config_unref(cfg);
            w->retired[i] = w->retired[--w->nretired];
        }
        return;
    }
}

/* Retry budgets for a configuration's upstreams: every new snapshot starts them over (a
 * window of at most two seconds is all they remember, and an upstream's index may now be
 * another's). Requests of an older snapshot still in flight use the new budgets by index,
 * bounds-checked (retry_budget in proxy_forward.c). */
static int budgets_reset(gw_worker_t *w, const gw_config_t *c)
{
    int n = c->nupstreams ? c->nupstreams : 1;
    uh_budget_t *b = calloc((size_t)n, sizeof *b);
    if (!b)
        return TC_ENOMEM;
    for (int i = 0; i < n; i++)
        uh_budget_init(&b[i]);
    free(w->budgets);
    w->budgets = b;
    w->nbudgets = n;
    return TC_OK;
}

/* Switches to the application's current configuration; requests in flight keep theirs. */
static void sync_config(gw_worker_t *w)
{
    gw_app_t *app = w->app;
    if (w->cfg && atomic_load(&app->cfg_generation) == w->cfg->generation)
        return;
    if (w->cfg && w->cfg_users > 0 && w->nretired == (int)TC_ARRAY_LEN(w->retired))
        return; /* try again once older requests have finished */
    gw_config_t *next = gw_app_config_get(app);
    if (gw_upstream_pools_bind(w, next) != TC_OK || wrr_reset(&w->wrr, next) != TC_OK ||
        budgets_reset(w, next) != TC_OK) {
        gw_config_unref(next);
        return; /* out of memory: keep serving with what we have */
    }
    if (w->cfg && w->cfg_users > 0) {
        w->retired[w->nretired].cfg = w->cfg;
        w->retired[w->nretired++].users = w->cfg_users;
    } else if (w->cfg) {
        gw_config_unref(w->cfg);
    }
    w->cfg = next;
    w->cfg_users = 0;
}

/* ------------------------------------------------------------------ listening */

static int listen_socket(gw_app_t *app, int port, int reuseport)
{
    struct sockaddr_storage ss;
    socklen_t len;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, app->bind_addr, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        len = sizeof *sin;
    } else if (inet_pton(AF_INET6, app->bind_addr, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        len = sizeof *sin6;
    } else {
        tc_log_kv(TC_LOG_ERROR, "BIND_ADDR is not an IP address", "bind_addr", app->bind_addr,
                  NULL);
        return -1;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) ||
        bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, LISTEN_BACKLOG) != 0) {
        char p[24];
        tc_log_kv(TC_LOG_ERROR, "cannot listen", "bind_addr", app->bind_addr, "port",
                  tc_log_int(p, port), "error", strerror(errno), NULL);
        close(fd);
        return -1;
    }
    return fd;
}

static void accept_some(gw_worker_t *w)
{
    /* A shared listener hands one connection per wake-up, so that a burst of connections
     * spreads over the workers instead of landing on whichever woke first. */
    int batch = w->app->reuseport ? ACCEPT_BATCH : 1;
    for (int i = 0; i < batch && w->accepting; i++) {
        struct sockaddr_storage sa;
        socklen_t len = sizeof sa;
        int fd = accept4(w->listen_fd, (struct sockaddr *)&sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE)
                tc_log_kv(TC_LOG_ERROR, "out of file descriptors; refusing connections", NULL);
            return; /* EAGAIN, or another worker took it (shared listener) */
        }
        gw_conn_accept(w, fd, &sa);
    }
}

static void stop_accepting(gw_worker_t *w)
{
    if (!w->accepting)
        return;
    w->accepting = 0;
    epoll_ctl(w->ep, EPOLL_CTL_DEL, w->listen_fd, NULL);
    if (w->app->reuseport)
        close(w->listen_fd); /* the kernel stops routing connections to this socket */
    w->listen_fd = -1;
}

int gw_epoll_add(gw_worker_t *w, int fd, gw_ev_t *ev, uint32_t events)
{
    struct epoll_event e = {.events = events, .data.ptr = ev};
    return epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &e) == 0 ? TC_OK : TC_ERROR;
}

/* ------------------------------------------------------------------ the loop */

static void dispatch(gw_worker_t *w, struct epoll_event *e)
{
    gw_ev_t *ev = e->data.ptr;
    switch (ev->type) {
    case EV_LISTEN:
        accept_some(w);
        break;
    case EV_WAKE:
        run_posted(w);
        break;
    case EV_CLIENT:
        gw_conn_event(container_of(ev, gw_conn_t, ev), e->events);
        break;
    case EV_UPSTREAM:
        gw_upstream_event(container_of(ev, up_conn_t, ev), e->events);
        break;
    case EV_REDIS:
        gw_rl_event(w->rl, e->events);
        break;
    default:
        break;
    }
}

static void fire_timers(gw_worker_t *w)
{
    gw_timer_t *t;
    while ((t = heap_top(&w->timers)) && t->deadline_ms <= w->now_ms) {
        heap_cancel(&w->timers, t);
        switch (t->kind) {
        case TIMER_CLIENT:
            gw_conn_timeout(container_of(t, gw_conn_t, timer));
            break;
        case TIMER_UPSTREAM:
            gw_upstream_timeout(container_of(t, up_conn_t, timer));
            break;
        case TIMER_REDIS:
            gw_rl_timer(w->rl);
            break;
        default:
            break;
        }
    }
}

static int wait_ms(gw_worker_t *w)
{
    if (w->ready)
        return 0;
    gw_timer_t *t = heap_top(&w->timers);
    if (!t)
        return MAX_WAIT_MS;
    int64_t d = t->deadline_ms - tc_mono_ms();
    return d <= 0 ? 0 : d > MAX_WAIT_MS ? MAX_WAIT_MS : (int)d;
}

static void *worker_main(void *arg)
{
    gw_worker_t *w = arg;
    gw_app_t *app = w->app;
    struct epoll_event events[MAX_EVENTS];
    int quiesced = 0;
    char name[16];
    snprintf(name, sizeof name, "gw-worker-%d", w->id);
    pthread_setname_np(pthread_self(), name); /* for top -H and perf */
    while (!atomic_load(&app->stopping)) {
        gw_rl_flush(w->rl);
        int n = epoll_wait(w->ep, events, MAX_EVENTS, wait_ms(w));
        if (n < 0 && errno != EINTR) {
            tc_log_kv(TC_LOG_ERROR, "epoll_wait failed", "error", strerror(errno), NULL);
            break;
        }
        w->now_ms = tc_mono_ms();
        sync_config(w); /* before the events: a request after a reload sees the new routes */
        for (int i = 0; i < n; i++)
            dispatch(w, &events[i]);
        fire_timers(w);
        gw_conns_run_ready(w);
        if (atomic_load(&app->quiescing)) {
            if (!quiesced) {
                quiesced = 1;
                stop_accepting(w);
            }
            /* every turn: a connection whose head completes becomes a request (active) */
            atomic_store(&w->receiving, gw_conns_close_idle(w));
            atomic_store(&w->quiesced, 1);
        }
    }
    return NULL;
}

/* ------------------------------------------------------------------ lifecycle */

static void worker_free(gw_worker_t *w)
{
    if (!w)
        return;
    gw_conns_free(w);
    gw_upstream_pools_free(w);
    gw_rl_free(w->rl);
    drop_posted(w);
    gw_auth_worker_free(w);
    if (w->listen_fd >= 0 && w->app->reuseport)
        close(w->listen_fd);
    if (w->wake_fd >= 0)
        close(w->wake_fd);
    if (w->ep >= 0)
        close(w->ep);
    for (int i = 0; i < w->nretired; i++)
        gw_config_unref(w->retired[i].cfg);
    gw_config_unref(w->cfg);
    wrr_free(&w->wrr);
    free(w->budgets);
    w->budgets = NULL;
    heap_free(&w->timers);
    for (int i = 0; i < w->bufs.n; i++)
        free(w->bufs.items[i]);
    free(w->bufs.items);
    pthread_mutex_destroy(&w->done_lock);
    free(w);
}

static gw_worker_t *worker_new(gw_app_t *app, int id, int port)
{
    gw_worker_t *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->app = app;
    w->id = id;
    w->listen_fd = w->wake_fd = -1;
    w->usage_ring = id;
    pthread_mutex_init(&w->done_lock, NULL);
    heap_init(&w->timers);
    w->now_ms = tc_mono_ms();
    w->ep = epoll_create1(EPOLL_CLOEXEC);
    w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->ep < 0 || w->wake_fd < 0)
        goto fail;
    w->listen_fd = app->reuseport ? listen_socket(app, port, 1) : app->shared_listen_fd;
    if (w->listen_fd < 0)
        goto fail;
    w->listen_ev = (gw_ev_t){EV_LISTEN, w->listen_fd};
    w->wake_ev = (gw_ev_t){EV_WAKE, w->wake_fd};
    uint32_t lev = EPOLLIN | (app->reuseport ? 0 : EPOLLEXCLUSIVE);
    if (gw_epoll_add(w, w->listen_fd, &w->listen_ev, lev) != TC_OK ||
        gw_epoll_add(w, w->wake_fd, &w->wake_ev, EPOLLIN) != TC_OK)
        goto fail;
    w->accepting = 1;
    sync_config(w);
    if (!w->cfg || !(w->rl = gw_rl_new(w)))
        goto fail;
    return w;
fail:;
    char wid[24];
    tc_log_kv(TC_LOG_ERROR, "cannot set up a worker", "worker", tc_log_int(wid, id), "error",
              strerror(errno), NULL);
    worker_free(w);
    return NULL;
}

int gw_workers_start(gw_app_t *app, int port)
{
    app->shared_listen_fd = -1;
    if (!app->reuseport && (app->shared_listen_fd = listen_socket(app, port, 0)) < 0)
        return TC_ERROR;
    app->workers = calloc((size_t)app->nworkers, sizeof *app->workers);
    if (!app->workers)
        return TC_ENOMEM;
    for (int i = 0; i < app->nworkers; i++) {
        if (!(app->workers[i] = worker_new(app, i, port)))
            goto fail;
    }
    for (int i = 0; i < app->nworkers; i++) {
        if (pthread_create(&app->workers[i]->thread, NULL, worker_main, app->workers[i]) != 0)
            goto fail;
        app->workers[i]->started = 1;
    }
    app->started = 1;
    char n[16];
    snprintf(n, sizeof n, "%d", app->nworkers);
    tc_log_kv(TC_LOG_INFO, "gateway proxy listening", "workers", n, "accept",
              app->reuseport ? "reuseport" : "exclusive", NULL);
    return TC_OK;
fail:
    gw_workers_free(app);
    return TC_ERROR;
}

void gw_workers_quiesce(gw_app_t *app)
{
    atomic_store(&app->quiescing, 1);
    for (int i = 0; app->workers && i < app->nworkers; i++) {
        gw_worker_t *w = app->workers[i];
        uint64_t one = 1;
        if (w && write(w->wake_fd, &one, sizeof one) < 0)
            continue; /* the loop also looks at the flag every MAX_WAIT_MS */
    }
}

/* Requests in flight, counting connections part-way through a head; -1 while a worker has
 * not yet seen the quiesce (bytes it has not read yet are counted nowhere until then). */
static int in_flight(gw_app_t *app)
{
    int n = 0;
    for (int i = 0; app->workers && i < app->nworkers; i++) {
        gw_worker_t *w = app->workers[i];
        if (!w)
            continue;
        if (w->started && !atomic_load(&w->quiesced))
            return -1;
        n += atomic_load(&w->active) + atomic_load(&w->receiving);
    }
    return n;
}

int gw_workers_drain(gw_app_t *app, int timeout_ms)
{
    int64_t deadline = tc_mono_ms() + timeout_ms;
    int n;
    while ((n = in_flight(app)) != 0) {
        if (tc_mono_ms() >= deadline) {
            char ms[24], cnt[24];
            if (n < 0)
                tc_log_kv(TC_LOG_WARN, "a worker did not stop accepting in time", "timeout_ms",
                          tc_log_int(ms, timeout_ms), NULL);
            else
                tc_log_kv(TC_LOG_WARN, "requests still in flight after the grace period",
                          "requests", tc_log_int(cnt, n), "timeout_ms", tc_log_int(ms, timeout_ms),
                          NULL);
            return TC_ETIMEDOUT;
        }
        tc_sleep_ms(10);
    }
    return TC_OK;
}

void gw_workers_stop(gw_app_t *app)
{
    atomic_store(&app->stopping, 1);
    for (int i = 0; app->workers && i < app->nworkers; i++) {
        gw_worker_t *w = app->workers[i];
        if (w && w->started) {
            uint64_t one = 1;
            if (write(w->wake_fd, &one, sizeof one) < 0) {
                char id[24];
                tc_log_kv(TC_LOG_WARN, "cannot wake a worker to stop", "worker",
                          tc_log_int(id, w->id), NULL);
            }
            pthread_join(w->thread, NULL);
            w->started = 0;
        }
    }
}

void gw_workers_free(gw_app_t *app)
{
    gw_workers_stop(app);
    for (int i = 0; app->workers && i < app->nworkers; i++)
        worker_free(app->workers[i]);
    free(app->workers);
    app->workers = NULL;
    if (app->shared_listen_fd >= 0)
        close(app->shared_listen_fd);
    app->shared_listen_fd = -1;
    app->started = 0;
}
