/*
 * Upstream connections and the per-worker keep-alive pools.
 *
 * Pools are keyed by address and belong to one worker, so taking and returning a warm
 * connection is a list operation without locks. An idle connection stays in the worker's
 * epoll set: if the upstream closes it (its own idle timeout, a restart), we hear about it
 * and drop it instead of handing a dead connection to the next request. Idle connections
 * are also closed after `keepalive_idle_ms`, chosen below the upstreams' own timeout so the
 * gateway, not the upstream, decides when an idle connection ends.
 */
#include "gw.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

/* ------------------------------------------------------------------ pools */

static void up_close(up_conn_t *u);

static gw_pool_slot_t *pool_find(gw_worker_t *w, const gw_target_t *t, int create)
{
    for (gw_pool_slot_t *p = w->pools; p; p = p->next)
        if (p->addrlen == t->addrlen && memcmp(&p->addr, &t->addr, t->addrlen) == 0)
            return p;
    if (!create)
        return NULL;
    gw_pool_slot_t *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    memcpy(&p->addr, &t->addr, t->addrlen);
    p->addrlen = t->addrlen;
    p->next = w->pools;
    w->pools = p;
    return p;
}

int gw_upstream_pools_bind(gw_worker_t *w, gw_config_t *c)
{
    gw_pool_slot_t **slots = calloc((size_t)(c->ntargets ? c->ntargets : 1), sizeof *slots);
    if (!slots)
        return TC_ENOMEM;
    for (gw_pool_slot_t *p = w->pools; p; p = p->next)
        p->max_idle = 0; /* addresses no longer configured keep no idle connections */
    for (int u = 0; u < c->nupstreams; u++) {
        gw_upstream_t *up = &c->upstreams[u];
        for (int g = 0; g < 2; g++) {
            for (int i = 0; i < up->groups[g].n; i++) {
                gw_target_t *t = &up->groups[g].targets[i];
                if (!t->resolved)
                    continue;
                gw_pool_slot_t *p = pool_find(w, t, 1);
                if (!p) {
                    free(slots);
                    return TC_ENOMEM;
                }
                if (up->keepalive > p->max_idle)
                    p->max_idle = up->keepalive;
                p->idle_ms = up->keepalive_idle_ms;
                slots[t->index] = p;
            }
        }
    }
    /* Drained: addresses no longer configured (a pod gone from its name) get no new request;
     * their idle connections close now, busy ones once their exchange ends (release finds
     * max_idle 0). */
    for (gw_pool_slot_t *p = w->pools; p; p = p->next)
        while (p->max_idle == 0 && p->idle)
            up_close(p->idle);
    free(w->slots);
    w->slots = slots;
    w->nslots = c->ntargets;
    return TC_OK;
}

/* ------------------------------------------------------------------ connections */

static void pool_unlink(up_conn_t *u)
{
    gw_pool_slot_t *p = u->pool;
    if (u->prev)
        u->prev->next = u->next;
    else
        p->idle = u->next;
    if (u->next)
        u->next->prev = u->prev;
    u->next = u->prev = NULL;
    p->nidle--;
}

static bool in_pool(const up_conn_t *u)
{
    return u->pool && !u->owner && (u->prev || u->pool->idle == u);
}

static void up_close(up_conn_t *u)
{
    gw_worker_t *w = u->w;
    /* A second close would put the struct on the free list twice, and two connections would
     * then share it: one pooled while the other is owned, until the pool's list points into
     * the free list (a crash in pool_unlink seen once in CI). Refuse it loudly instead. */
    if (u->closed) {
        tc_log_kv(TC_LOG_ERROR, "upstream connection closed twice (ignored)", NULL);
        return;
    }
    u->closed = 1;
    if (in_pool(u))
        pool_unlink(u);
    heap_cancel(&w->timers, &u->timer);
    if (u->ev.fd >= 0)
        close(u->ev.fd);
    u->ev.fd = -1;
    gw_buf_put(w, u->in, u->in_cap);
    u->in = NULL;
    u->in_cap = 0;
    u->owner = NULL;
    u->pool = NULL;
    u->next = w->free_ups;
    u->prev = NULL;
    w->free_ups = u;
}

/* Fresh per-exchange state; the socket and its readiness are kept. */
static void exchange_reset(up_conn_t *u)
{
    u->head_done = u->body_done = u->got_bytes = u->req_sent = u->req_whole = 0;
    u->in_len = u->in_pos = u->fwd_end = 0;
    u->wlen = u->wsent = 0;
    u->mode = UP_NONE;
    u->left = 0;
    u->dechunk = 0;
    u->collect = 0;
}

static up_conn_t *up_alloc(gw_worker_t *w)
{
    up_conn_t *u = w->free_ups;
    if (u) {
        w->free_ups = u->next;
        u->next = NULL;
        u->closed = 0;
        return u;
    }
    u = calloc(1, sizeof *u);
    if (!u)
        return NULL;
    u->w = w;
    u->ev.fd = -1;
    timer_init(&u->timer, TIMER_UPSTREAM);
    return u;
}

static up_conn_t *dial(gw_worker_t *w, const gw_target_t *t, gw_pool_slot_t *pool, int *err)
{
    up_conn_t *u = up_alloc(w);
    if (!u) {
        *err = ENOMEM;
        return NULL;
    }
    int fd = socket(t->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *err = errno;
        goto fail;
    }
    u->ev = (gw_ev_t){EV_UPSTREAM, fd};
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const gw_app_t *app = w->app;
    if (app->source_len && app->source.ss_family == t->addr.ss_family) {
        /* any port: a source address only, so connections do not compete for one port */
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        if (bind(fd, (const struct sockaddr *)&app->source, app->source_len) != 0) {
            *err = errno;
            goto fail;
        }
    }
    u->connecting = 0;
    if (connect(fd, (const struct sockaddr *)&t->addr, t->addrlen) != 0) {
        if (errno != EINPROGRESS) {
            *err = errno;
            goto fail;
        }
        u->connecting = 1;
    }
    if (gw_epoll_add(w, fd, &u->ev, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET) != TC_OK) {
        *err = errno;
        goto fail;
    }
    u->pool = pool;
    u->reused = 0;
    u->rd_ready = u->hup = 0;
    u->wr_ready = !u->connecting;
    return u;
fail:
    up_close(u);
    return NULL;
}

up_conn_t *gw_upstream_acquire(gw_worker_t *w, gw_target_t *t, int *err)
{
    *err = 0;
    if (!t->resolved) {
        *err = EHOSTUNREACH;
        return NULL;
    }
    gw_pool_slot_t *pool = t->index < w->nslots ? w->slots[t->index] : NULL;
    if (!pool || pool->addrlen != t->addrlen || memcmp(&pool->addr, &t->addr, t->addrlen) != 0)
        pool = pool_find(w, t, 1); /* a target of an older configuration */
    up_conn_t *u = NULL;
    while (pool && (u = pool->idle)) {
        pool_unlink(u);
        heap_cancel(&w->timers, &u->timer);
        if (!u->hup)
            break;
        up_close(u);
        u = NULL;
    }
    if (u) {
        u->reused = 1;
    } else if (!(u = dial(w, t, pool, err))) {
        return NULL;
    }
    if (!u->in && !(u->in = gw_buf_get(w))) {
        *err = ENOMEM;
        up_close(u);
        return NULL;
    }
    u->in_cap = GW_BUF_SIZE;
    exchange_reset(u);
    return u;
}

void gw_upstream_release(up_conn_t *u, bool reusable)
{
    gw_worker_t *w = u->w;
    gw_pool_slot_t *p = u->pool;
    if (u->closed || in_pool(u)) {
        /* released twice: linking it again would make the idle list point at itself */
        tc_log_kv(TC_LOG_ERROR, "upstream connection released twice (ignored)", NULL);
        return;
    }
    u->owner = NULL;
    if (!reusable || u->hup || !p || p->nidle >= p->max_idle || atomic_load(&w->app->stopping) ||
        heap_arm(&w->timers, &u->timer, w->now_ms + p->idle_ms) != TC_OK) {
        up_close(u);
        return;
    }
    /* idle connections hold no read buffer */
    gw_buf_put(w, u->in, u->in_cap);
    u->in = NULL;
    u->in_cap = 0;
    u->rd_ready = 0;
    u->next = p->idle;
    u->prev = NULL;
    if (p->idle)
        p->idle->prev = u;
    p->idle = u;
    p->nidle++;
}

void gw_upstream_event(up_conn_t *u, uint32_t events)
{
    if (!u->owner) {
        /* idle: the upstream closed it, or sent bytes nobody asked for */
        if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
            up_close(u);
        return;
    }
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        u->rd_ready = 1;
    if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        u->hup = 1;
    if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
        u->wr_ready = 1;
    gw_proxy_upstream_ready(u->owner, u);
}

void gw_upstream_timeout(up_conn_t *u)
{
    if (!u->owner)
        up_close(u); /* idle for keepalive_idle_ms */
}

void gw_upstream_pools_free(gw_worker_t *w)
{
    gw_pool_slot_t *p = w->pools;
    while (p) {
        while (p->idle)
            up_close(p->idle);
        gw_pool_slot_t *next = p->next;
        free(p);
        p = next;
    }
    w->pools = NULL;
    up_conn_t *u = w->free_ups;
    while (u) {
        up_conn_t *next = u->next;
        free(u->wbuf);
        free(u);
        u = next;
    }
    w->free_ups = NULL;
    free(w->slots);
    w->slots = NULL;
    w->nslots = 0;
}
