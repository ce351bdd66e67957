/*
 * Active health checks (issue 14) and the gauges of targets by state, on one thread of their
 * own: the workers' loops never wait for a check, never resolve, never count targets.
 *
 * Every upstream with a `health_check` has each of its targets checked every interval_ms:
 * `GET <path>` to the target's address on the check port (default: the target's port + 1000,
 * the platform's admin port, whose /ready says whether the service can serve). A 2xx within
 * timeout_ms passes; anything else fails. `unhealthy` consecutive failures take the target
 * out of rotation (hc_ok, read by the balancer); `healthy` consecutive passes bring it back,
 * and also restore a target its breaker ejected once the checks saw it down (record()), so a
 * restarted service takes traffic again within about one interval of becoming ready instead
 * of after eject_ms.
 *
 * All checks of a round run at once (non-blocking sockets, one poll), so a dead target costs
 * its timeout, not everyone's. A reload abandons checks in flight and starts over on the new
 * snapshot (targets that stay inherit hc_ok: config_upstreams.c).
 */
#include "gw.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"
#include "tc/tc_time.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define GAUGE_EVERY_MS 500
#define MAX_SLEEP_MS   100
#define REQ_MAX        512
#define RESP_MAX       64 /* the status line is all we read */

typedef struct {
    gw_upstream_t *up;
    gw_target_t *t;
    int fd;
    int connected;
    int64_t deadline_ms;
    char req[REQ_MAX];
    size_t req_len, sent;
    char resp[RESP_MAX];
    size_t resp_len;
} probe_t;

struct gw_hc {
    gw_app_t *app;
    pthread_t thread;
    int started;
    int wake[2]; /* a byte on wake[1] stops the thread */
    gw_config_t *cfg;
    probe_t *probes;
    int nprobes, cap;
    int64_t gauges_ms;
};

/* ------------------------------------------------------------------ one check */

static void probe_close(probe_t *p)
{
    if (p->fd >= 0)
        close(p->fd);
    p->fd = -1;
}

static void record(gw_hc_t *h, probe_t *p, bool ok)
{
    bool reached = p->connected;
    gw_app_t *app = h->app;
    gw_target_t *t = p->t;
    gw_upstream_t *up = p->up;
    int64_t now = tc_mono_ms();
    probe_close(p);
    tc_metric_inc(app->m.hc_results, 1, up->name, t->name, ok ? "pass" : "fail");
    uh_hc_change_t ch = uh_hc_result(&t->hc, ok, up->hc_healthy, up->hc_unhealthy);
    /* unreachable once it is out by its checks and the last one could not even connect */
    atomic_store(&t->hc_unreachable, !t->hc.healthy && !reached);
    if (ch == UH_HC_BECAME_UNHEALTHY) {
        atomic_store(&t->hc_ok, 0);
        tc_log_kv(TC_LOG_WARN, "upstream target failed its health checks", "upstream", up->name,
                  "target", t->url, NULL);
    } else if (ch == UH_HC_BECAME_HEALTHY) {
        atomic_store(&t->hc_ok, 1);
        tc_log_kv(TC_LOG_INFO, "upstream target passes its health checks again", "upstream",
                  up->name, "target", t->url, NULL);
    }
    /* A target its breaker ejected is taken back by a passing check, not after eject_ms, when
     * the checks saw it down meanwhile (a restart: it was refusing connections, now it is
     * ready). One that stays ready while answering requests with 5xx keeps its ejection, or
     * the checks would undo every ejection within an interval. */
    if (!ok && breaker_ejected(&t->breaker))
        t->hc_down_while_ejected = true;
    bool back = ok && t->hc.healthy && (ch == UH_HC_BECAME_HEALTHY || t->hc_down_while_ejected);
    if (ok)
        t->hc_down_while_ejected = false;
    if (back && breaker_restore(&t->breaker, now)) {
        tc_metric_set(app->m.breaker, BREAKER_CLOSED, up->name, t->name);
        tc_log_kv(TC_LOG_INFO, "upstream target restored by a passing health check", "upstream",
                  up->name, "target", t->url, NULL);
    }
}

/* The check's address: the target's, on the check port. */
static socklen_t check_addr(const gw_upstream_t *up, const gw_target_t *t,
                            struct sockaddr_storage *ss)
{
    memcpy(ss, &t->addr, t->addrlen);
    int port = up->hc_port ? up->hc_port : t->port + 1000;
    if (port > 65535)
        port = t->port;
    if (ss->ss_family == AF_INET)
        ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
    else if (ss->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
    return t->addrlen;
}

/* Starts a check; false when it failed at once (recorded). */
static bool probe_start(gw_hc_t *h, probe_t *p, int64_t now)
{
    gw_app_t *app = h->app;
    struct sockaddr_storage ss;
    socklen_t len = check_addr(p->up, p->t, &ss);
    int n = snprintf(p->req, sizeof p->req,
                     "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: techcorp-gateway-health\r\n"
                     "Connection: close\r\n\r\n",
                     p->up->hc_path, p->t->hostport);
    p->req_len = n > 0 && (size_t)n < sizeof p->req ? (size_t)n : 0;
    p->sent = p->resp_len = 0;
    p->connected = 0;
    p->deadline_ms = now + p->up->hc_timeout_ms;
    p->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (p->fd < 0 || !p->req_len)
        goto failed;
    if (app->source_len && app->source.ss_family == ss.ss_family) {
        int one = 1;
        setsockopt(p->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        if (bind(p->fd, (const struct sockaddr *)&app->source, app->source_len) != 0)
            goto failed;
    }
    if (connect(p->fd, (const struct sockaddr *)&ss, len) == 0)
        p->connected = 1;
    else if (errno != EINPROGRESS)
        goto failed;
    return true;
failed:
    record(h, p, false);
    return false;
}

/* Progress on readiness; true while the check goes on. */
static bool probe_step(gw_hc_t *h, probe_t *p, short revents)
{
    if (!p->connected) {
        int err = 0;
        socklen_t el = sizeof err;
        if (!(revents & (POLLOUT | POLLERR | POLLHUP)))
            return true;
        if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err) {
            record(h, p, false);
            return false;
        }
        p->connected = 1;
    }
    while (p->sent < p->req_len) {
        ssize_t n = send(p->fd, p->req + p->sent, p->req_len - p->sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EAGAIN)
            return true;
        if (n <= 0) {
            record(h, p, false);
            return false;
        }
        p->sent += (size_t)n;
    }
    for (;;) {
        ssize_t n = recv(p->fd, p->resp + p->resp_len, sizeof p->resp - 1 - p->resp_len, 0);
        if (n < 0 && errno == EAGAIN)
            return true;
        if (n > 0)
            p->resp_len += (size_t)n;
        p->resp[p->resp_len] = '\0';
        /* "HTTP/1.1 200 …": the status is all a check needs */
        if (p->resp_len >= 12 || n <= 0) {
            bool ok = p->resp_len >= 12 && strncmp(p->resp, "HTTP/1.", 7) == 0 &&
                      p->resp[9] == '2' && p->resp[12 - 1] >= '0' && p->resp[12 - 1] <= '9';
            record(h, p, ok);
            return false;
        }
    }
}

/* ------------------------------------------------------------------ rounds */

static void probes_abandon(gw_hc_t *h)
{
    for (int i = 0; i < h->nprobes; i++)
        probe_close(&h->probes[i]);
    h->nprobes = 0;
}

static int probes_reserve(gw_hc_t *h, int n)
{
    if (n <= h->cap)
        return TC_OK;
    probe_t *p = realloc(h->probes, (size_t)n * sizeof *p);
    if (!p)
        return TC_ENOMEM;
    h->probes = p;
    h->cap = n;
    return TC_OK;
}

/* Starts the checks that are due; the time of the next one due. */
static int64_t launch_due(gw_hc_t *h, int64_t now)
{
    gw_config_t *c = h->cfg;
    int64_t next = now + MAX_SLEEP_MS;
    for (int u = 0; u < c->nupstreams; u++) {
        gw_upstream_t *up = &c->upstreams[u];
        if (!up->hc_enabled)
            continue;
        for (int g = 0; g < 2; g++)
            for (int i = 0; i < up->groups[g].n; i++) {
                gw_target_t *t = &up->groups[g].targets[i];
                if (!t->resolved)
                    continue;
                if (t->hc_next_ms > now) {
                    if (t->hc_next_ms < next)
                        next = t->hc_next_ms;
                    continue;
                }
                /* timeout ≤ interval (validated): the previous check of t has ended */
                t->hc_next_ms = now + up->hc_interval_ms;
                if (probes_reserve(h, h->nprobes + 1) != TC_OK)
                    continue; /* out of memory: this round skips it */
                probe_t *p = &h->probes[h->nprobes];
                *p = (probe_t){.up = up, .t = t, .fd = -1};
                if (probe_start(h, p, now))
                    h->nprobes++;
            }
    }
    return next;
}

/* Targets per upstream by state, and whether a group is in panic (what the balancer would
 * decide now; the gauges only report it). */
static void gauges(gw_hc_t *h, int64_t now)
{
    gw_app_t *app = h->app;
    gw_config_t *c = h->cfg;
    for (int u = 0; u < c->nupstreams; u++) {
        gw_upstream_t *up = &c->upstreams[u];
        int healthy = 0, ejected = 0, unhealthy = 0, panic_n = 0, panic = 0;
        for (int g = 0; g < 2; g++) {
            gw_group_t *grp = &up->groups[g];
            bool gp = wrr_group_panic(grp, now, up->panic_threshold);
            int reachable = 0;
            for (int i = 0; i < grp->n; i++)
                reachable += !atomic_load(&grp->targets[i].hc_unreachable);
            panic |= gp;
            for (int i = 0; i < grp->n; i++) {
                gw_target_t *t = &grp->targets[i];
                if (wrr_target_up(t, now))
                    healthy++;
                else if (gp && (!atomic_load(&t->hc_unreachable) || !reachable))
                    panic_n++; /* not healthy, yet taking its share of the traffic */
                else if (!atomic_load(&t->hc_ok))
                    unhealthy++;
                else
                    ejected++;
            }
        }
        atomic_store(&up->panic, panic);
        tc_metric_set(app->m.targets, healthy, up->name, "healthy");
        tc_metric_set(app->m.targets, ejected, up->name, "ejected");
        tc_metric_set(app->m.targets, unhealthy, up->name, "unhealthy");
        tc_metric_set(app->m.targets, panic_n, up->name, "panic");
        tc_metric_set(app->m.panic, panic, up->name);
    }
}

static void *hc_main(void *arg)
{
    gw_hc_t *h = arg;
    gw_app_t *app = h->app;
    struct pollfd *fds = NULL;
    int fds_cap = 0;
    for (;;) {
        int64_t now = tc_mono_ms();
        if (!h->cfg || atomic_load(&app->cfg_generation) != h->cfg->generation) {
            probes_abandon(h);
            gw_config_unref(h->cfg);
            h->cfg = gw_app_config_get(app);
        }
        /* checks past their timeout fail */
        for (int i = 0; i < h->nprobes;) {
            if (h->probes[i].deadline_ms <= now) {
                record(h, &h->probes[i], false);
                h->probes[i] = h->probes[--h->nprobes];
            } else {
                i++;
            }
        }
        int64_t next = launch_due(h, now);
        if (now >= h->gauges_ms) {
            gauges(h, now);
            h->gauges_ms = now + GAUGE_EVERY_MS;
        }
        if (h->gauges_ms < next)
            next = h->gauges_ms;
        for (int i = 0; i < h->nprobes; i++)
            if (h->probes[i].deadline_ms < next)
                next = h->probes[i].deadline_ms;
        if (h->nprobes + 1 > fds_cap) {
            struct pollfd *f = realloc(fds, (size_t)(h->nprobes + 1) * sizeof *f);
            if (!f) {
                probes_abandon(h); /* out of memory: drop this round, keep the thread */
                continue;
            }
            fds = f;
            fds_cap = h->nprobes + 1;
        }
        fds[0] = (struct pollfd){.fd = h->wake[0], .events = POLLIN};
        for (int i = 0; i < h->nprobes; i++)
            fds[i + 1] =
                (struct pollfd){.fd = h->probes[i].fd,
                                .events = (short)(h->probes[i].connected &&
                                                          h->probes[i].sent == h->probes[i].req_len
                                                      ? POLLIN
                                                      : POLLOUT)};
        int64_t wait = next - tc_mono_ms();
        int n = poll(fds, (nfds_t)(h->nprobes + 1), wait < 0 ? 0 : (int)wait);
        if (n < 0 && errno != EINTR)
            break;
        if (fds[0].revents)
            break; /* stop */
        /* from the end, so removing (swap with the last) never skips an entry */
        for (int i = h->nprobes - 1; n > 0 && i >= 0; i--) {
            if (!fds[i + 1].revents)
                continue;
            if (!probe_step(h, &h->probes[i], fds[i + 1].revents))
                h->probes[i] = h->probes[--h->nprobes];
        }
    }
    free(fds);
    probes_abandon(h);
    return NULL;
}

/* ------------------------------------------------------------------ lifecycle */

int gw_hc_start(gw_app_t *app)
{
    gw_hc_t *h = calloc(1, sizeof *h);
    if (!h)
        return TC_ENOMEM;
    h->app = app;
    h->wake[0] = h->wake[1] = -1;
    if (pipe2(h->wake, O_CLOEXEC) != 0)
        goto fail;
    if (pthread_create(&h->thread, NULL, hc_main, h) != 0)
        goto fail;
    h->started = 1;
    app->hc = h;
    return TC_OK;
fail:
    if (h->wake[0] >= 0) {
        close(h->wake[0]);
        close(h->wake[1]);
    }
    free(h);
    return TC_ERROR;
}

void gw_hc_stop(gw_app_t *app)
{
    gw_hc_t *h = app->hc;
    if (!h)
        return;
    app->hc = NULL;
    if (h->started) {
        ssize_t n;
        do
            n = write(h->wake[1], "x", 1);
        while (n < 0 && errno == EINTR);
        pthread_join(h->thread, NULL);
    }
    close(h->wake[0]);
    close(h->wake[1]);
    gw_config_unref(h->cfg);
    free(h->probes);
    free(h);
}
