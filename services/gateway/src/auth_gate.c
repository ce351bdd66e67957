/*
 * Authentication at the edge: JWTs (RS256, auth's JWKS) and API keys (auth's introspection).
 *
 * The event loop only ever does non-blocking work: a JWT already verified is found in
 * libcommon's verified-token cache (tc_auth_lookup: a hash and a striped lock), and an API
 * key already introspected in the gateway's key cache. Anything else (an RSA check that may
 * need a key-set fetch, an HTTP call to auth) goes to the blocking pool and the request
 * resumes when the answer is posted back.
 *
 * Credentials: "Authorization: Bearer <jwt>", "Authorization: Bearer tc_live_…|tc_test_…",
 * or "X-API-Key: tc_…". For an API key, services receive the access token auth minted for
 * that key, so every service only ever sees JWTs. A browser's WebSocket handshake, which
 * cannot carry Authorization, may offer either as a Sec-WebSocket-Protocol entry (tc_ws.h):
 * the service receives it as Authorization. Such entries never travel upstream
 * (header_rewrite.c); beside an Authorization header they are not looked at.
 */
#include "apikey_cache.h"
#include "gw.h"
#include "introspect.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_log.h"
#include "tc/tc_time.h"
#include "tc/tc_ws.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define API_KEY_MAX 256

typedef struct {
    gw_done_t done;
    gw_app_t *app;
    gw_worker_t *w;
    uint32_t slot, seq;
    char *credential; /* the JWT or the API key (owned, wiped) */
    bool api_key;
    /* result */
    int rc; /* TC_OK, TC_EINVAL (bad credential), other: auth unavailable */
    const char *why;
    uint8_t hash[TC_SHA256_LEN]; /* of the JWT, for the worker's rejection cache */
    tc_principal_t p;
    char key_id[64];
    char *access_token;
} auth_job_t;

/* ------------------------------------------------------------------ decisions */

static void unauthorized(gw_conn_t *c, const char *reason, const char *message, bool presented)
{
    tc_metric_inc(c->w->app->m.auth_failures, 1, reason);
    gw_respond_error(c, 401, "unauthorized", message,
                     presented ? "WWW-Authenticate: Bearer "
                                 "error=\"invalid_token\"\r\n"
                               : "WWW-Authenticate: Bearer\r\n",
                     0);
}

static const char *jwt_message(const char *why)
{
    if (why && strcmp(why, "expired") == 0)
        return "The access token has expired";
    if (why && strcmp(why, "unknown_kid") == 0)
        return "The access token was signed with an unknown key";
    if (why && strcmp(why, "alg_not_allowed") == 0)
        return "The access token uses a signing algorithm that is not accepted";
    return "The access token is invalid";
}

/* The principal is known: check the route's role floor. GW_NEXT or GW_DONE. */
static gw_step_t admit(gw_conn_t *c)
{
    const gw_route_t *r = c->route;
    if (c->ptype != PT_API_KEY)
        c->ptype = c->principal.is_service ? PT_SERVICE : PT_USER;
    if (r->min_role != TC_ROLE_NONE && !tc_principal_at_least(&c->principal, r->min_role)) {
        tc_metric_inc(c->w->app->m.auth_failures, 1, "forbidden");
        gw_respond_error(c, 403, "forbidden", "Your role does not allow this action", NULL, false);
        return GW_DONE;
    }
    return GW_NEXT;
}

/* ------------------------------------------------------------------ rejected tokens */

/*
 * Tokens that failed verification, per worker (no locks): the verified-token cache only
 * remembers good tokens, so without this every replay of an expired or forged token would
 * cost an RSA verification on the blocking pool. Direct-mapped by SHA-256; a collision only
 * forgets an entry.
 */
#define REJECTED_SLOTS 1024

struct gw_authneg {
    struct {
        uint8_t hash[TC_SHA256_LEN];
        int64_t until;
        const char *why; /* static string from tc_auth */
    } e[REJECTED_SLOTS];
};

static size_t rejected_slot(const uint8_t *h)
{
    uint32_t v;
    memcpy(&v, h, sizeof v);
    return v % REJECTED_SLOTS;
}

static const char *rejected_find(gw_worker_t *w, const uint8_t *h)
{
    if (!w->authneg)
        return NULL;
    size_t i = rejected_slot(h);
    if (w->authneg->e[i].until <= w->now_ms ||
        CRYPTO_memcmp(w->authneg->e[i].hash, h, TC_SHA256_LEN) != 0)
        return NULL;
    return w->authneg->e[i].why;
}

static void rejected_put(gw_worker_t *w, const uint8_t *h, const char *why)
{
    if (!w->authneg && !(w->authneg = calloc(1, sizeof *w->authneg)))
        return;
    /* a key may appear (rotation) or the clock catch up: those are remembered briefly */
    bool brief = strcmp(why, "unknown_kid") == 0 || strcmp(why, "not_yet_valid") == 0 ||
                 strcmp(why, "no_keys") == 0;
    size_t i = rejected_slot(h);
    memcpy(w->authneg->e[i].hash, h, TC_SHA256_LEN);
    w->authneg->e[i].until = w->now_ms + (brief ? 5000 : 60000);
    w->authneg->e[i].why = why;
}

void gw_auth_worker_free(gw_worker_t *w)
{
    free(w->authneg);
    w->authneg = NULL;
}

/* ------------------------------------------------------------------ blocking work */

static void job_free(auth_job_t *j)
{
    if (j->credential) {
        OPENSSL_cleanse(j->credential, strlen(j->credential));
        free(j->credential);
    }
    free(j->access_token);
    free(j);
}

static void job_drop(void *arg)
{
    job_free(arg);
}

static void done_drop(gw_done_t *d)
{
    job_free((auth_job_t *)d);
}

static void done_run(gw_worker_t *w, gw_done_t *d)
{
    auth_job_t *j = (auth_job_t *)d;
    gw_conn_t *c = j->slot < w->nconns ? w->conns[j->slot] : NULL;
    if (!c || c->ev.fd < 0 || c->seq != j->seq || c->state != CS_AUTH) {
        job_free(j); /* the client left, or the auth deadline already answered */
        return;
    }
    c->state = CS_STAGE;
    if (j->rc == TC_OK) {
        c->principal = j->p;
        if (j->api_key) {
            c->ptype = PT_API_KEY;
            snprintf(c->key_id, sizeof c->key_id, "%s", j->key_id);
            if (gw_bearer_copy(&c->fwd_auth, &c->fwd_auth_cap, j->access_token) != TC_OK) {
                job_free(j);
                gw_respond_error(c, 500, "internal_error", "Out of memory", NULL, true);
                return;
            }
        }
        job_free(j);
        if (admit(c) == GW_NEXT)
            gw_request_resume(c);
        return;
    }
    if (j->rc == TC_EINVAL && !j->api_key && j->why)
        rejected_put(w, j->hash, j->why);
    if (j->rc == TC_EINVAL && !(j->why && strcmp(j->why, "no_keys") == 0)) {
        if (j->api_key)
            unauthorized(c, "invalid_api_key", "The API key is invalid or revoked", true);
        else
            unauthorized(c, j->why ? j->why : "invalid_token", jwt_message(j->why), true);
    } else {
        gw_respond_error(c, 503, "auth_unavailable",
                         "Authentication is temporarily unavailable; try again shortly", NULL,
                         false);
    }
    job_free(j);
}

static void run_verify(void *arg)
{
    auth_job_t *j = arg;
    j->rc = tc_auth_verify(j->app->auth, j->credential, &j->p, &j->why);
    if (j->rc != TC_OK)
        tc_sha256(j->credential, strlen(j->credential), j->hash);
    gw_worker_post(j->w, &j->done);
}

static void run_introspect(void *arg)
{
    auth_job_t *j = arg;
    gw_app_t *app = j->app;
    uint8_t hash[TC_SHA256_LEN];
    tc_sha256(j->credential, strlen(j->credential), hash);
    uint64_t gen = gw_apikeys_generation(app->apikeys);
    gw_introspection_t res;
    int rc = gw_introspect(app, j->credential, &res);
    int64_t now = tc_mono_ms();
    if (rc == TC_OK) {
        j->p = res.principal;
        snprintf(j->key_id, sizeof j->key_id, "%s", res.key_id);
        j->access_token = res.access_token;
        res.access_token = NULL;
        gw_apikeys_put(app->apikeys, hash, &j->p, j->key_id, j->access_token, now,
                       res.token_exp_mono_ms, gen);
    } else if (rc == TC_ENOTFOUND) {
        gw_apikeys_put_negative(app->apikeys, hash, now, gen);
        rc = TC_EINVAL;
    }
    gw_introspection_clear(&res);
    j->rc = rc;
    gw_worker_post(j->w, &j->done);
}

static gw_step_t submit(gw_conn_t *c, const char *cred, size_t len, bool api_key)
{
    gw_app_t *app = c->w->app;
    auth_job_t *j = calloc(1, sizeof *j);
    if (!j || !(j->credential = strndup(cred, len))) {
        free(j);
        gw_respond_error(c, 500, "internal_error", "Out of memory", NULL, true);
        return GW_DONE;
    }
    j->done.run = done_run;
    j->done.drop = done_drop;
    j->app = app;
    j->w = c->w;
    j->slot = c->slot;
    j->seq = c->seq;
    j->api_key = api_key;
    if (gw_pool_submit(app->pool, api_key ? run_introspect : run_verify, job_drop, j) != TC_OK) {
        job_free(j);
        gw_respond_error(c, 503, "auth_unavailable",
                         "Authentication is overloaded; try again shortly", NULL, false);
        return GW_DONE;
    }
    if (gw_conn_arm(c, c->w->now_ms + app->auth_timeout_ms) != TC_OK) {
        gw_conn_close(c);
        return GW_DONE;
    }
    c->state = CS_AUTH;
    return GW_WAIT;
}

/* ------------------------------------------------------------------ credentials */

/* Whether a bearer token names an API key (its environment prefix) rather than a JWT. */
static bool api_key_prefixed(const char *s, size_t n)
{
    return n >= 8 && (strncmp(s, "tc_live_", 8) == 0 || strncmp(s, "tc_test_", 8) == 0);
}

static bool api_key_shaped(const char *s, size_t n)
{
    if (n < 9 || n > API_KEY_MAX || !api_key_prefixed(s, n))
        return false;
    for (size_t i = 8; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '-'))
            return false;
    }
    return true;
}

static gw_step_t api_key_path(gw_conn_t *c, const char *key, size_t n)
{
    gw_app_t *app = c->w->app;
    if (!api_key_shaped(key, n)) {
        unauthorized(c, "malformed_api_key", "The API key is malformed", true);
        return GW_DONE;
    }
    uint8_t hash[TC_SHA256_LEN];
    tc_sha256(key, n, hash);
    gw_apikey_lookup_t hit = gw_apikeys_get(app->apikeys, hash, c->w->now_ms, &c->principal,
                                            c->key_id, &c->fwd_auth, &c->fwd_auth_cap);
    if (hit == GW_APIKEY_VALID) {
        c->ptype = PT_API_KEY;
        return admit(c);
    }
    if (hit == GW_APIKEY_INVALID) {
        unauthorized(c, "invalid_api_key", "The API key is invalid or revoked", true);
        return GW_DONE;
    }
    if (!app->svctoken) {
        gw_respond_error(c, 503, "auth_unavailable",
                         "API keys cannot be checked: the gateway has no auth client "
                         "credentials",
                         NULL, false);
        return GW_DONE;
    }
    return submit(c, key, n, true);
}

static gw_step_t jwt_path(gw_conn_t *c, char *token)
{
    const char *why = NULL;
    int rc = tc_auth_lookup(c->w->app->auth, token, &c->principal, &why);
    if (rc == TC_OK)
        return admit(c);
    if (rc == TC_EINVAL) {
        unauthorized(c, why ? why : "invalid_token", jwt_message(why), true);
        return GW_DONE;
    }
    uint8_t hash[TC_SHA256_LEN];
    size_t n = strlen(token);
    tc_sha256(token, n, hash);
    if ((why = rejected_find(c->w, hash))) {
        unauthorized(c, why, jwt_message(why), true);
        return GW_DONE;
    }
    return submit(c, token, n, false);
}

/* A tunnelled WebSocket handshake without Authorization whose Sec-WebSocket-Protocol has a
 * bearer entry: *step is that credential's path. False when there is none. */
static bool ws_bearer_path(gw_conn_t *c, gw_step_t *step)
{
    size_t vlen = 0, n = 0;
    const char *v = gw_request_header(c, "sec-websocket-protocol", &vlen), *tok;
    if (!v || !gw_tunnel_wanted(c) || !tc_ws_bearer_n(v, vlen, &tok, &n))
        return false;
    c->ws_bearer = true;
    if (api_key_prefixed(tok, n)) {
        *step = api_key_path(c, tok, n);
        return true;
    }
    /* the entry runs on into the rest of the header: the copy is the NUL-terminated token */
    if (gw_bearer_copy_n(&c->fwd_auth, &c->fwd_auth_cap, tok, n) != TC_OK) {
        gw_respond_error(c, 500, "internal_error", "Out of memory", NULL, true);
        *step = GW_DONE;
        return true;
    }
    *step = jwt_path(c, c->fwd_auth + strlen("Bearer "));
    return true;
}

gw_step_t gw_auth_begin(gw_conn_t *c)
{
    const gw_route_t *r = c->route;
    c->ptype = PT_ANONYMOUS;
    if (r->auth == GW_AUTH_NONE)
        return GW_NEXT; /* credentials, if any, travel on untouched (X-API-Key excepted) */
    const http_hdr_t *hs = c->req.headers;
    int ki = http_find_header(c->in, hs, c->req.nheaders, "x-api-key");
    if (ki >= 0)
        return api_key_path(c, c->in + hs[ki].value_off, hs[ki].value_len);
    int ai = http_find_header(c->in, hs, c->req.nheaders, "authorization");
    gw_step_t step;
    if (ai < 0 && ws_bearer_path(c, &step))
        return step;
    if (ai < 0) {
        if (r->auth == GW_AUTH_OPTIONAL)
            return GW_NEXT;
        unauthorized(c, "missing", "Authentication required: send a bearer token or an API key",
                     false);
        return GW_DONE;
    }
    char *v = c->in + hs[ai].value_off;
    size_t n = hs[ai].value_len;
    if (n < 8 || strncasecmp(v, "bearer ", 7) != 0 || memchr(v + 7, ' ', n - 7) ||
        memchr(v + 7, '\t', n - 7)) {
        unauthorized(c, "malformed", "The Authorization header must be \"Bearer <token>\"", true);
        return GW_DONE;
    }
    char *token = v + 7;
    size_t tlen = n - 7;
    if (api_key_prefixed(token, tlen))
        return api_key_path(c, token, tlen);
    /* The head was parsed into offsets and is re-serialised from them, so the CR after
     * this value is no longer needed: terminate the token in place, without a copy. */
    token[tlen] = '\0';
    return jwt_path(c, token);
}
