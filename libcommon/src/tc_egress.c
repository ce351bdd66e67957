/*
 * Outbound HTTP to customer-chosen addresses (tc_egress.h): libcurl with the address checked
 * in the open-socket callback, which sees every address curl is about to connect to after
 * resolution (and after Happy Eyeballs picks one), so DNS rebinding cannot slip a private
 * address past a check made on the name.
 */
#include "tc/tc_egress.h"
#include "tc/tc_core.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static CURLcode g_init_rc = CURLE_FAILED_INIT;

static void init_once(void)
{
    g_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ------------------------------------------------------------------------- addresses */

typedef struct {
    unsigned char net[4];
    int bits;
} v4net_t;

/* Not reachable by a customer's call: RFC 6890's special-purpose ranges that are not
 * globally reachable, plus shared (CGNAT) space and multicast. */
static const v4net_t v4_blocked[] = {
    {{0, 0, 0, 0}, 8},      {{10, 0, 0, 0}, 8},     {{100, 64, 0, 0}, 10}, {{127, 0, 0, 0}, 8},
    {{169, 254, 0, 0}, 16}, {{172, 16, 0, 0}, 12},  {{192, 0, 0, 0}, 24},  {{192, 0, 2, 0}, 24},
    {{192, 88, 99, 0}, 24}, {{192, 168, 0, 0}, 16}, {{198, 18, 0, 0}, 15}, {{198, 51, 100, 0}, 24},
    {{203, 0, 113, 0}, 24}, {{224, 0, 0, 0}, 4},    {{240, 0, 0, 0}, 4},
};

static bool prefix_match(const unsigned char *a, const unsigned char *net, int bits)
{
    int full = bits / 8, rest = bits % 8;
    if (memcmp(a, net, (size_t)full) != 0)
        return false;
    if (rest == 0)
        return true;
    unsigned char mask = (unsigned char)(0xFF << (8 - rest));
    return (a[full] & mask) == (net[full] & mask);
}

static bool v4_public(const unsigned char *a)
{
    for (size_t i = 0; i < TC_ARRAY_LEN(v4_blocked); i++)
        if (prefix_match(a, v4_blocked[i].net, v4_blocked[i].bits))
            return false;
    return true;
}

static bool v6_public(const unsigned char *a)
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
    static const unsigned char nat64[12] = {0, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0};
    static const unsigned char zero[16] = {0};
    if (memcmp(a, mapped, 12) == 0 || memcmp(a, nat64, 12) == 0)
        return v4_public(a + 12);
    if (memcmp(a, zero, 15) == 0) /* :: and ::1 */
        return false;
    if ((a[0] & 0xFE) == 0xFC) /* fc00::/7 unique local */
        return false;
    if (a[0] == 0xFE && (a[1] & 0xC0) == 0x80) /* fe80::/10 link-local */
        return false;
    if (a[0] == 0xFE && (a[1] & 0xC0) == 0xC0) /* fec0::/10 site-local (deprecated) */
        return false;
    if (a[0] == 0xFF) /* multicast */
        return false;
    if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0D && a[3] == 0xB8) /* documentation */
        return false;
    return true;
}

bool tc_egress_addr_public(int family, const unsigned char *addr)
{
    if (!addr)
        return false;
    if (family == AF_INET)
        return v4_public(addr);
    if (family == AF_INET6)
        return v6_public(addr);
    return false;
}

/* ------------------------------------------------------------------------- one call */

typedef struct {
    const tc_egress_opts_t *opts;
    tc_egress_resp_t *out;
    size_t cap;
    bool denied, too_big, oom;
    char denied_ip[INET6_ADDRSTRLEN];
} call_t;

static curl_socket_t open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
    call_t *c = ud;
    if (purpose != CURLSOCKTYPE_IPCXN)
        return CURL_SOCKET_BAD;
    const unsigned char *bytes = NULL;
    if (a->family == AF_INET)
        bytes = (const unsigned char *)&((struct sockaddr_in *)(void *)&a->addr)->sin_addr;
    else if (a->family == AF_INET6)
        bytes = (const unsigned char *)&((struct sockaddr_in6 *)(void *)&a->addr)->sin6_addr;
    if (!c->opts->allow_private && !tc_egress_addr_public(a->family, bytes)) {
        c->denied = true;
        if (bytes)
            inet_ntop(a->family, bytes, c->denied_ip, sizeof c->denied_ip);
        return CURL_SOCKET_BAD;
    }
    return socket(a->family, a->socktype, a->protocol);
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    call_t *c = ud;
    size_t len = size * n;
    tc_egress_resp_t *r = c->out;
    if (r->body_len + len > c->cap) {
        if (!c->opts->truncate_response) {
            c->too_big = true;
            return 0;
        }
        len = c->cap - r->body_len; /* keep what fits, then stop reading */
        r->truncated = true;
    }
    char *nb = realloc(r->body, r->body_len + len + 1);
    if (!nb) {
        c->oom = true;
        return 0;
    }
    memcpy(nb + r->body_len, p, len);
    r->body = nb;
    r->body_len += len;
    r->body[r->body_len] = '\0';
    return r->truncated ? 0 : len; /* 0 ends the transfer: the rest is not read */
}

/* Adds one "Name: value" line to the headers object (a new status line starts over: the
 * headers of a 100 Continue are not the response's). */
static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    call_t *c = ud;
    size_t len = size * n;
    if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
        cJSON_Delete(c->out->headers);
        c->out->headers = cJSON_CreateObject();
        return len;
    }
    const char *colon = memchr(p, ':', len);
    if (!colon || !c->out->headers || colon == p || (size_t)(colon - p) > 255)
        return len;
    char name[256];
    size_t nl = (size_t)(colon - p);
    for (size_t i = 0; i < nl; i++)
        name[i] = (char)tolower((unsigned char)p[i]);
    name[nl] = '\0';
    const char *v = colon + 1, *end = p + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    size_t vl = (size_t)(end - v);
    const cJSON *prev = cJSON_GetObjectItemCaseSensitive(c->out->headers, name);
    size_t pl = cJSON_IsString(prev) ? strlen(prev->valuestring) : 0;
    char *val = malloc(pl + 2 + vl + 1);
    if (!val) {
        c->oom = true;
        return 0;
    }
    if (pl)
        snprintf(val, pl + 3, "%s, ", prev->valuestring);
    else
        val[0] = '\0';
    memcpy(val + strlen(val), v, vl);
    val[(pl ? pl + 2 : 0) + vl] = '\0';
    cJSON_DeleteItemFromObjectCaseSensitive(c->out->headers, name);
    bool ok = cJSON_AddStringToObject(c->out->headers, name, val) != NULL;
    free(val);
    if (!ok)
        c->oom = true;
    return ok ? len : 0;
}

static bool method_ok(const char *m)
{
    static const char *const methods[] = {"GET",    "POST", "PUT",     "PATCH",
                                          "DELETE", "HEAD", "OPTIONS", NULL};
    for (size_t i = 0; methods[i]; i++)
        if (strcmp(methods[i], m) == 0)
            return true;
    return false;
}

static int setup(CURL *h, const tc_egress_opts_t *o, const tc_egress_req_t *req, call_t *c,
                 struct curl_slist **hdrs)
{
    const char *m = req->method ? req->method : "GET";
    for (const char *const *l = req->headers; l && *l; l++) {
        struct curl_slist *n = curl_slist_append(*hdrs, *l);
        if (!n)
            return TC_ENOMEM;
        *hdrs = n;
    }
    struct curl_slist *n = curl_slist_append(*hdrs, "Expect:"); /* no 100-continue round trip */
    if (!n)
        return TC_ENOMEM;
    *hdrs = n;
    bool ok = curl_easy_setopt(h, CURLOPT_URL, req->url) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                               (long)(o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 3000)) ==
                  CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
                               (long)(req->timeout_ms > 0 ? req->timeout_ms : 60000)) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_USERAGENT,
                               o->user_agent ? o->user_agent : "techcorp-platform") == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_socket) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, c) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_WRITEDATA, c) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_HEADERDATA, c) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_HTTPHEADER, *hdrs) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m) == CURLE_OK;
    if (ok && strcmp(m, "HEAD") == 0)
        ok = curl_easy_setopt(h, CURLOPT_NOBODY, 1L) == CURLE_OK;
    if (ok && req->body)
        ok = curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len) ==
                 CURLE_OK &&
             curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body) == CURLE_OK;
    return ok ? TC_OK : TC_ERROR;
}

static int result_of(CURLcode cc, call_t *c, tc_egress_resp_t *out)
{
    if (c->oom)
        return TC_ENOMEM;
    if (c->denied) {
        snprintf(out->error, sizeof out->error,
                 "the address %s is not public and private addresses are not allowed",
                 c->denied_ip[0] ? c->denied_ip : "(unknown)");
        return TC_EDENIED;
    }
    if (c->out->truncated && cc == CURLE_WRITE_ERROR)
        return TC_OK; /* cut on purpose: the status and headers stand */
    if (c->too_big) {
        snprintf(out->error, sizeof out->error, "the response is larger than %zu bytes", c->cap);
        return TC_EINVAL;
    }
    snprintf(out->error, sizeof out->error, "%s", curl_easy_strerror(cc));
    switch (cc) {
    case CURLE_OK:
        return TC_OK;
    case CURLE_OPERATION_TIMEDOUT:
        return TC_ETIMEDOUT;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return TC_EINVAL;
    default:
        return TC_EUNAVAIL;
    }
}

/* The checks every call passes before any connection; TC_OK or TC_EINVAL with out->error. */
/* RFC 9110 field-name characters. */
static bool header_name_char(unsigned char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

/* "Name: value" with a field name and a value free of control characters but tab. libcurl
 * sends each line as given, so a CR or LF in a value would start a header (or a request) the
 * caller never named: this is the last check before the wire, whatever the caller checked. */
static bool header_line_ok(const char *line)
{
    const unsigned char *p = (const unsigned char *)line;
    size_t name = 0;
    while (header_name_char(p[name]))
        name++;
    if (name == 0 || name > 255 || p[name] != ':')
        return false;
    for (p += name + 1; *p; p++)
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
            return false;
    return true;
}

static int precheck(const tc_egress_req_t *req, tc_egress_resp_t *out)
{
    if (!req || !req->url) {
        snprintf(out->error, sizeof out->error, "no URL");
        return TC_EINVAL;
    }
    if (req->method && !method_ok(req->method)) {
        snprintf(out->error, sizeof out->error, "unsupported method");
        return TC_EINVAL;
    }
    if (strncasecmp(req->url, "http://", 7) != 0 && strncasecmp(req->url, "https://", 8) != 0) {
        snprintf(out->error, sizeof out->error, "the URL must be http:// or https://");
        return TC_EINVAL;
    }
    for (const char *const *l = req->headers; l && *l; l++) {
        if (!header_line_ok(*l)) {
            snprintf(out->error, sizeof out->error,
                     "header %zu is not a \"Name: value\" line without control characters",
                     (size_t)(l - req->headers) + 1);
            return TC_EINVAL;
        }
    }
    pthread_once(&g_once, init_once);
    return g_init_rc == CURLE_OK ? TC_OK : TC_ERROR;
}

/* One request on handle h (fresh, or reset with its connections kept). */
static int perform(CURL *h, const tc_egress_opts_t *opts, const tc_egress_req_t *req,
                   tc_egress_resp_t *out)
{
    static const tc_egress_opts_t defaults = {0};
    const tc_egress_opts_t *o = opts ? opts : &defaults;
    call_t c = {
        .opts = o, .out = out, .cap = o->max_response_bytes ? o->max_response_bytes : 1024 * 1024};
    out->headers = cJSON_CreateObject();
    struct curl_slist *hdrs = NULL;
    int rc = (!h || !out->headers) ? TC_ENOMEM : setup(h, o, req, &c, &hdrs);
    if (rc == TC_OK) {
        CURLcode cc = curl_easy_perform(h);
        rc = result_of(cc, &c, out);
        if (rc == TC_OK)
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
    }
    if (rc == TC_OK && !out->body) {
        out->body = calloc(1, 1);
        if (!out->body)
            rc = TC_ENOMEM;
    }
    curl_slist_free_all(hdrs);
    return rc;
}

int tc_egress_do(const tc_egress_opts_t *opts, const tc_egress_req_t *req, tc_egress_resp_t *out)
{
    memset(out, 0, sizeof *out);
    int rc = precheck(req, out);
    if (rc != TC_OK)
        return rc;
    CURL *h = curl_easy_init();
    rc = perform(h, opts, req, out);
    if (h)
        curl_easy_cleanup(h);
    return rc;
}

struct tc_egress_session {
    CURL *h;
    tc_egress_opts_t opts; /* fixed: a kept connection was checked under these */
};

tc_egress_session_t *tc_egress_session_new(const tc_egress_opts_t *opts)
{
    tc_egress_session_t *s = calloc(1, sizeof *s);
    if (s && opts)
        s->opts = *opts;
    return s;
}

void tc_egress_session_free(tc_egress_session_t *s)
{
    if (!s)
        return;
    if (s->h)
        curl_easy_cleanup(s->h);
    free(s);
}

int tc_egress_session_do(tc_egress_session_t *s, const tc_egress_req_t *req, tc_egress_resp_t *out)
{
    memset(out, 0, sizeof *out);
    int rc = precheck(req, out);
    if (rc != TC_OK)
        return rc;
    /* the handle's connection cache outlives the reset: a kept connection was checked when
     * it was opened, and every new one is checked by open_socket */
    if (s->h)
        curl_easy_reset(s->h);
    else
        s->h = curl_easy_init();
    return perform(s->h, &s->opts, req, out);
}

void tc_egress_resp_free(tc_egress_resp_t *r)
{
    if (!r)
        return;
    free(r->body);
    cJSON_Delete(r->headers);
    r->body = NULL;
    r->headers = NULL;
}
