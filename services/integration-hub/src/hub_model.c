/* The integration hub's domain: signatures out and in, the retry schedule, filters and request
 * bodies. No I/O and no clock. */
#include "hub_model.h"
#include "tc/tc_codec.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_egress.h"
#include "tc/tc_events.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define PREFIX_LEN (sizeof HUB_SECRET_PREFIX - 1)
#define ELLIPSIS   "\xe2\x80\xa6" /* "…" in UTF-8 */
#define HINT_SHOWN 4
/* Showing 4 characters of fewer than 12 would give away too large a share of the secret. */
#define HINT_MIN_REST  12
#define SCHEDULE_MAX_S (7 * 24 * 3600)
#define RATE_MAX       10000
#define SHARED_MIN     16
#define SHARED_MAX     256
#define TS_DIGITS_MAX  18 /* any more could overflow int64 */
#define HOST_MAX       253
#define WHY_MISSING    "missing signature"
#define WHY_MISMATCH   "signature mismatch"
#define WHY_TOLERANCE  "timestamp outside the tolerance"
#define WHY_MALFORMED  "malformed signature header"

/* ------------------------------------------------------------------ secrets */

int hub_secret_new(char *out, size_t outlen)
{
    uint8_t key[HUB_SECRET_BYTES];
    if (!out || outlen <= PREFIX_LEN)
        return TC_EINVAL;
    int rc = tc_random_bytes(key, sizeof key);
    if (rc != TC_OK)
        return rc;
    memcpy(out, HUB_SECRET_PREFIX, PREFIX_LEN);
    ssize_t n = tc_b64_encode(key, sizeof key, out + PREFIX_LEN, outlen - PREFIX_LEN);
    OPENSSL_cleanse(key, sizeof key);
    if (n < 0) {
        out[0] = '\0';
        return TC_EINVAL;
    }
    return TC_OK;
}

/* The signing key of a whsec_ secret; -1 when it is not one. key holds HUB_SECRET_MAX_BYTES. */
static ssize_t secret_key(const char *secret, uint8_t *key)
{
    if (!secret || strncmp(secret, HUB_SECRET_PREFIX, PREFIX_LEN) != 0)
        return -1;
    const char *b64 = secret + PREFIX_LEN;
    ssize_t n = tc_b64_decode(b64, strlen(b64), key, HUB_SECRET_MAX_BYTES);
    if (n < HUB_SECRET_MIN_BYTES) {
        OPENSSL_cleanse(key, HUB_SECRET_MAX_BYTES);
        return -1;
    }
    return n;
}

bool hub_secret_valid(const char *secret)
{
    uint8_t key[HUB_SECRET_MAX_BYTES];
    ssize_t n = secret_key(secret, key);
    OPENSSL_cleanse(key, sizeof key);
    return n > 0;
}

static bool ascii_printable(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return false;
    return true;
}

void hub_secret_hint(const char *secret, char out[HUB_HINT_MAX])
{
    out[0] = '\0';
    if (!secret || !secret[0])
        return;
    const char *prefix = "", *rest = secret;
    if (strncmp(secret, HUB_SECRET_PREFIX, PREFIX_LEN) == 0) {
        prefix = HUB_SECRET_PREFIX;
        rest += PREFIX_LEN;
    }
    size_t n = strlen(rest);
    const char *tail = "";
    if (n >= HINT_MIN_REST && ascii_printable(rest + n - HINT_SHOWN, HINT_SHOWN))
        tail = rest + n - HINT_SHOWN;
    snprintf(out, HUB_HINT_MAX, "%s" ELLIPSIS "%s", prefix, tail);
}

/* ------------------------------------------------------------------ signing (outgoing) */

/*
 * HMAC-SHA256 of "<id>.<ts>.<body>" (Standard Webhooks) or, id NULL, "<ts>.<body>" (Stripe).
 * The MAC is one-shot, so the content is assembled in one buffer.
 */
static int mac_dotted(const void *key, size_t keylen, const char *id, const char *ts,
                      const char *body, size_t n, uint8_t mac[TC_SHA256_LEN])
{
    size_t idlen = id ? strlen(id) + 1 : 0, tslen = strlen(ts) + 1;
    if ((!body && n) || n > SIZE_MAX - idlen - tslen - 1)
        return TC_EINVAL;
    char *buf = malloc(idlen + tslen + n + 1);
    if (!buf)
        return TC_ENOMEM;
    char *p = buf;
    if (id) {
        memcpy(p, id, idlen - 1);
        p[idlen - 1] = '.';
        p += idlen;
    }
    memcpy(p, ts, tslen - 1);
    p[tslen - 1] = '.';
    p += tslen;
    if (n)
        memcpy(p, body, n);
    int rc = tc_hmac_sha256(key, keylen, buf, idlen + tslen + n, mac);
    free(buf);
    return rc;
}

/* The Standard Webhooks MAC of a message with a whsec_ secret. */
static int standard_mac(const char *secret, const char *msg_id, const char *ts, const char *body,
                        size_t n, uint8_t mac[TC_SHA256_LEN])
{
    uint8_t key[HUB_SECRET_MAX_BYTES];
    ssize_t keylen = secret_key(secret, key);
    if (keylen < 0)
        return TC_EINVAL;
    int rc = mac_dotted(key, (size_t)keylen, msg_id, ts, body, n, mac);
    OPENSSL_cleanse(key, sizeof key);
    return rc;
}

int hub_sign(const char *secret, const char *msg_id, int64_t ts, const char *body, size_t n,
             char out[HUB_SIG_MAX])
{
    char tstext[24];
    uint8_t mac[TC_SHA256_LEN];
    out[0] = '\0';
    if (!msg_id)
        return TC_EINVAL;
    snprintf(tstext, sizeof tstext, "%" PRId64, ts);
    int rc = standard_mac(secret, msg_id, tstext, body, n, mac);
    if (rc != TC_OK)
        return rc;
    memcpy(out, "v1,", 3);
    if (tc_b64_encode(mac, sizeof mac, out + 3, HUB_SIG_MAX - 3) < 0) {
        out[0] = '\0';
        return TC_ERROR;
    }
    return TC_OK;
}

int hub_signature_header(const char *secret, const char *prev_secret, const char *msg_id,
                         int64_t ts, const char *body, size_t n, char out[2 * HUB_SIG_MAX])
{
    char cur[HUB_SIG_MAX], prev[HUB_SIG_MAX];
    out[0] = '\0';
    int rc = hub_sign(secret, msg_id, ts, body, n, cur);
    if (rc == TC_OK && prev_secret)
        rc = hub_sign(prev_secret, msg_id, ts, body, n, prev);
    if (rc != TC_OK)
        return rc;
    snprintf(out, 2 * HUB_SIG_MAX, "%s%s%s", cur, prev_secret ? " " : "", prev_secret ? prev : "");
    return TC_OK;
}

/* ------------------------------------------------------------------ verification (inbound) */

/* In hub_verify_t's order; NULL-terminated for tc_jv_enum. */
static const char *const verify_names[] = {"none", "standard", "github", "stripe", NULL};
#define VERIFY_COUNT ((int)TC_ARRAY_LEN(verify_names) - 1)

int hub_verify_parse(const char *name)
{
    for (int i = 0; name && i < VERIFY_COUNT; i++)
        if (strcmp(name, verify_names[i]) == 0)
            return i;
    return -1;
}

const char *hub_verify_name(hub_verify_t v)
{
    if ((int)v < 0 || (int)v >= VERIFY_COUNT)
        return NULL;
    return verify_names[v];
}

static bool present(const char *header)
{
    return header && header[0];
}

/* A Unix timestamp as senders write it: decimal digits only. */
static bool parse_ts(const char *s, size_t n, int64_t *out)
{
    if (n == 0 || n > TS_DIGITS_MAX)
        return false;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

/* |ts - now| <= tolerance, computed in unsigned arithmetic so no pair of int64 overflows. */
static bool within(int64_t ts, int64_t now, int tolerance_s)
{
    uint64_t diff = ts >= now ? (uint64_t)ts - (uint64_t)now : (uint64_t)now - (uint64_t)ts;
    return diff <= (uint64_t)(tolerance_s > 0 ? tolerance_s : 0);
}

/* Does one space-separated entry of webhook-signature hold the MAC? *usable: it was a v1
 * entry of the right shape, so a mismatch is a wrong key or body rather than garbage. */
static bool standard_entry_matches(const char *p, size_t len, const uint8_t mac[TC_SHA256_LEN],
                                   bool *usable)
{
    uint8_t sig[TC_SHA256_LEN];
    if (len <= 3 || strncmp(p, "v1,", 3) != 0)
        return false; /* other schemes (v1a, …) are not ours to check */
    if (tc_b64_decode(p + 3, len - 3, sig, sizeof sig) != (ssize_t)sizeof sig)
        return false;
    *usable = true;
    return tc_ct_equal(sig, mac, sizeof sig);
}

static int verify_standard(const char *secret, const hub_sig_headers_t *h, const char *body,
                           size_t n, int64_t now, int tolerance_s, const char **why)
{
    int64_t ts;
    uint8_t mac[TC_SHA256_LEN];
    if (!present(h->webhook_id) || !present(h->webhook_timestamp) ||
        !present(h->webhook_signature)) {
        *why = WHY_MISSING;
        return TC_EDENIED;
    }
    if (!parse_ts(h->webhook_timestamp, strlen(h->webhook_timestamp), &ts)) {
        *why = WHY_MALFORMED;
        return TC_EDENIED;
    }
    if (!within(ts, now, tolerance_s)) {
        *why = WHY_TOLERANCE;
        return TC_EDENIED;
    }
    int rc = standard_mac(secret, h->webhook_id, h->webhook_timestamp, body, n, mac);
    if (rc != TC_OK) {
        *why = rc == TC_EINVAL ? "the hook's secret is invalid" : "could not compute the MAC";
        return rc;
    }
    bool usable = false, match = false;
    for (const char *p = h->webhook_signature; *p && !match;) {
        size_t len = strcspn(p, " ");
        match = standard_entry_matches(p, len, mac, &usable);
        p += len;
        p += strspn(p, " ");
    }
    if (match)
        return TC_OK;
    *why = usable ? WHY_MISMATCH : WHY_MALFORMED;
    return TC_EDENIED;
}

static int verify_github(const char *secret, const hub_sig_headers_t *h, const char *body, size_t n,
                         const char **why)
{
    static const char prefix[] = "sha256=";
    uint8_t sig[TC_SHA256_LEN];
    const char *v = h->github_signature;
    if (!present(v)) {
        *why = WHY_MISSING;
        return TC_EDENIED;
    }
    size_t len = strlen(v);
    if (len != sizeof prefix - 1 + 2 * TC_SHA256_LEN || strncmp(v, prefix, sizeof prefix - 1) ||
        tc_hex_decode(v + sizeof prefix - 1, 2 * TC_SHA256_LEN, sig, sizeof sig) < 0) {
        *why = WHY_MALFORMED;
        return TC_EDENIED;
    }
    if (!tc_hmac_sha256_verify(secret, strlen(secret), body, n, sig, sizeof sig)) {
        *why = WHY_MISMATCH;
        return TC_EDENIED;
    }
    return TC_OK;
}

/* Stripe-Signature's "t" item; false when it is absent, repeated or not a timestamp. */
static bool stripe_ts(const char *header, const char **text, size_t *textlen, int64_t *ts)
{
    bool found = false;
    for (const char *p = header; *p;) {
        size_t len = strcspn(p, ",");
        if (len > 2 && strncmp(p, "t=", 2) == 0) {
            if (found || !parse_ts(p + 2, len - 2, ts))
                return false;
            *text = p + 2;
            *textlen = len - 2;
            found = true;
        }
        p += len;
        p += *p == ',';
    }
    return found;
}

/* Does any "v1=<hex>" item hold the MAC? *usable as for standard_entry_matches. */
static bool stripe_v1_matches(const char *header, const uint8_t mac[TC_SHA256_LEN], bool *usable)
{
    uint8_t sig[TC_SHA256_LEN];
    bool match = false;
    for (const char *p = header; *p && !match;) {
        size_t len = strcspn(p, ",");
        if (len == 3 + 2 * sizeof sig && strncmp(p, "v1=", 3) == 0 &&
            tc_hex_decode(p + 3, 2 * sizeof sig, sig, sizeof sig) == (ssize_t)sizeof sig) {
            *usable = true;
            match = tc_ct_equal(sig, mac, sizeof sig);
        }
        p += len;
        p += *p == ',';
    }
    return match;
}

static int verify_stripe(const char *secret, const hub_sig_headers_t *h, const char *body, size_t n,
                         int64_t now, int tolerance_s, const char **why)
{
    const char *v = h->stripe_signature, *tstext = NULL;
    size_t tslen = 0;
    int64_t ts;
    char tsbuf[TS_DIGITS_MAX + 1];
    uint8_t mac[TC_SHA256_LEN];
    if (!present(v)) {
        *why = WHY_MISSING;
        return TC_EDENIED;
    }
    if (!stripe_ts(v, &tstext, &tslen, &ts)) {
        *why = WHY_MALFORMED;
        return TC_EDENIED;
    }
    if (!within(ts, now, tolerance_s)) {
        *why = WHY_TOLERANCE;
        return TC_EDENIED;
    }
    memcpy(tsbuf, tstext, tslen);
    tsbuf[tslen] = '\0';
    int rc = mac_dotted(secret, strlen(secret), NULL, tsbuf, body, n, mac);
    if (rc != TC_OK) {
        *why = "could not compute the MAC";
        return rc;
    }
    bool usable = false;
    if (stripe_v1_matches(v, mac, &usable))
        return TC_OK;
    *why = usable ? WHY_MISMATCH : WHY_MALFORMED;
    return TC_EDENIED;
}

int hub_verify(hub_verify_t kind, const char *secret, const hub_sig_headers_t *h, const char *body,
               size_t n, int64_t now, int tolerance_s, const char **why)
{
    static const hub_sig_headers_t none = {0};
    const char *ignored;
    if (!why)
        why = &ignored;
    *why = NULL;
    if (kind == HUB_VERIFY_NONE)
        return TC_OK;
    if (!h)
        h = &none;
    /* Without a secret nothing can authenticate: a server-side fault, not the sender's. */
    if (!secret) {
        *why = "the hook has no secret";
        return TC_EINVAL;
    }
    switch (kind) {
    case HUB_VERIFY_STANDARD:
        return verify_standard(secret, h, body, n, now, tolerance_s, why);
    case HUB_VERIFY_GITHUB:
        return verify_github(secret, h, body, n, why);
    case HUB_VERIFY_STRIPE:
        return verify_stripe(secret, h, body, n, now, tolerance_s, why);
    default:
        *why = "unknown verification";
        return TC_EINVAL;
    }
}

const char *hub_sender_delivery_id(hub_verify_t kind, const hub_sig_headers_t *h)
{
    if (!h)
        return NULL;
    if (kind == HUB_VERIFY_STANDARD)
        return h->webhook_id;
    if (kind == HUB_VERIFY_GITHUB)
        return h->github_delivery;
    return NULL;
}

bool hub_replay_key(hub_verify_t kind, const hub_sig_headers_t *h, char out[HUB_REPLAY_KEY_LEN])
{
    const char *signed_part = NULL;
    if (h && kind == HUB_VERIFY_STANDARD)
        signed_part = h->webhook_id; /* the id is signed, with the timestamp and the body */
    else if (h && kind == HUB_VERIFY_GITHUB)
        signed_part = h->github_signature; /* a MAC of the body: the same body is a replay */
    else if (h && kind == HUB_VERIFY_STRIPE)
        signed_part = h->stripe_signature; /* t and the MAC of t.body */
    if (!signed_part)
        return false;
    char buf[16 + 1024];
    int n = snprintf(buf, sizeof buf, "%s\n%s", hub_verify_name(kind), signed_part);
    if (n < 0 || (size_t)n >= sizeof buf)
        return false; /* longer than any header verification accepts */
    tc_sha256_hex(buf, (size_t)n, out);
    return true;
}

/* ------------------------------------------------------------------ retry schedule */

/* One item of the schedule, spaces around it allowed (an operator's "0, 5, 300"). */
static bool schedule_item(const char **pp, int *out)
{
    const char *p = *pp;
    p += strspn(p, " ");
    if (*p < '0' || *p > '9')
        return false;
    long v = 0;
    while (*p >= '0' && *p <= '9') {
        v = v * 10 + (*p++ - '0');
        if (v > SCHEDULE_MAX_S)
            return false;
    }
    p += strspn(p, " ");
    if (*p != ',' && *p != '\0')
        return false;
    *out = (int)v;
    *pp = p;
    return true;
}

int hub_schedule_parse(const char *text, int out[HUB_SCHEDULE_MAX])
{
    int tmp[HUB_SCHEDULE_MAX], n = 0;
    if (!text)
        return -1;
    for (const char *p = text;; p++) {
        if (n == HUB_SCHEDULE_MAX || !schedule_item(&p, &tmp[n]))
            return -1;
        n++;
        if (*p == '\0')
            break;
    }
    /* attempt 1 is the delivery itself: waiting before it would only delay every event */
    if (tmp[0] != 0)
        return -1;
    memcpy(out, tmp, (size_t)n * sizeof *tmp);
    return n;
}

int hub_schedule_delay(const int *schedule, int n, int next)
{
    if (!schedule || next < 1 || next > n)
        return -1;
    return schedule[next - 1];
}

/* ------------------------------------------------------------------ event-type filters */

/* Dot-separated non-empty segments of the catalogue's characters (proto/topics.json). */
static bool segments_valid(const char *s, size_t n)
{
    bool empty = true;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '.') {
            if (empty)
                return false;
            empty = true;
        } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_') {
            empty = false;
        } else {
            return false;
        }
    }
    return !empty;
}

static bool is_prefix_filter(const char *filter, size_t n)
{
    return n > 2 && filter[n - 2] == '.' && filter[n - 1] == '*';
}

bool hub_filter_valid(const char *filter)
{
    if (!filter)
        return false;
    size_t n = strlen(filter);
    if (n == 0 || n >= HUB_FILTER_LEN)
        return false;
    if (strcmp(filter, "*") == 0)
        return true;
    return segments_valid(filter, is_prefix_filter(filter, n) ? n - 2 : n);
}

bool hub_filter_match(const char *filter, const char *type)
{
    return tc_event_type_match(filter, type);
}

bool hub_filters_match(const cJSON *filters, const char *type)
{
    const cJSON *f;
    if (!cJSON_IsArray(filters))
        return false;
    cJSON_ArrayForEach(f, filters)
    {
        if (cJSON_IsString(f) && hub_filter_match(f->valuestring, type))
            return true;
    }
    return false;
}

/* ------------------------------------------------------------------ validation */

#define URL_SCHEME "must be an http:// or https:// URL"
#define URL_HOST   "must name a valid host"
#define URL_PORT   "must have a port between 1 and 65535"
#define URL_PRIVATE                                                                                \
    "must not name a private, loopback or link-local address (allowed only by "                    \
    "INTEGRATION_ALLOW_PRIVATE)"

static const char *port_problem(const char *p, size_t n)
{
    long v = 0;
    if (n == 0 || n > 5)
        return URL_PORT;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return URL_PORT;
        v = v * 10 + (p[i] - '0');
    }
    return v >= 1 && v <= 65535 ? NULL : URL_PORT;
}

/* "[v6]" with an optional zone ("%25eth0", which names an interface, not another address). */
static const char *ipv6_problem(const char *h, size_t n, bool allow_private)
{
    char buf[INET6_ADDRSTRLEN];
    unsigned char addr[16];
    size_t len = strcspn(h, "%");
    if (len > n)
        len = n;
    if (len == 0 || len >= sizeof buf)
        return URL_HOST;
    memcpy(buf, h, len);
    buf[len] = '\0';
    if (inet_pton(AF_INET6, buf, addr) != 1)
        return URL_HOST;
    return allow_private || tc_egress_addr_public(AF_INET6, addr) ? NULL : URL_PRIVATE;
}

static bool host_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c >= 0x80;
}

static bool is_localhost(const char *h, size_t n)
{
    static const char sub[] = ".localhost";
    return (n == 9 && strncasecmp(h, "localhost", 9) == 0) ||
           (n > sizeof sub - 1 && strncasecmp(h + n - (sizeof sub - 1), sub, sizeof sub - 1) == 0);
}

/*
 * A name, or an IPv4 address in any form the resolver reads as one: inet_aton takes what
 * getaddrinfo takes ("127.1", "0x7f000001", "2130706433", octal), so none of those spellings
 * slips past as a "name".
 */
static const char *name_problem(const char *h, size_t n, bool allow_private)
{
    char buf[HOST_MAX + 2];
    struct in_addr v4;
    if (n > 1 && h[n - 1] == '.')
        n--; /* the root label: "localhost." is localhost */
    if (n == 0 || n > HOST_MAX)
        return URL_HOST;
    for (size_t i = 0; i < n; i++)
        if (!host_char((unsigned char)h[i]))
            return URL_HOST;
    memcpy(buf, h, n);
    buf[n] = '\0';
    if (buf[0] == '.' || strstr(buf, ".."))
        return URL_HOST;
    if (allow_private)
        return NULL;
    if (is_localhost(buf, n))
        return URL_PRIVATE;
    if (inet_aton(buf, &v4) == 1 && !tc_egress_addr_public(AF_INET, (unsigned char *)&v4))
        return URL_PRIVATE;
    return NULL;
}

/* The authority after "scheme://" up to the path: host, optional port; no userinfo. */
static const char *authority_problem(const char *a, size_t n, bool allow_private)
{
    if (memchr(a, '@', n))
        return "must not contain user information (user:password@)";
    const char *why, *port = NULL;
    size_t portlen = 0;
    if (n > 0 && a[0] == '[') {
        const char *close = memchr(a, ']', n);
        if (!close)
            return URL_HOST;
        size_t after = n - (size_t)(close + 1 - a);
        if (after > 0 && close[1] != ':')
            return URL_HOST;
        if (after > 0) {
            port = close + 2;
            portlen = after - 1;
        }
        why = ipv6_problem(a + 1, (size_t)(close - a - 1), allow_private);
    } else {
        const char *colon = memchr(a, ':', n);
        size_t hostlen = colon ? (size_t)(colon - a) : n;
        if (colon) {
            port = colon + 1;
            portlen = n - hostlen - 1;
        }
        why = name_problem(a, hostlen, allow_private);
    }
    return why ? why : port ? port_problem(port, portlen) : NULL;
}

static const char *url_problem(const char *url, bool allow_private)
{
    size_t skip;
    if (strncasecmp(url, "https://", 8) == 0)
        skip = 8;
    else if (strncasecmp(url, "http://", 7) == 0)
        skip = 7;
    else
        return URL_SCHEME;
    for (const unsigned char *p = (const unsigned char *)url; *p; p++)
        if (*p <= 0x20 || *p == 0x7f || *p == '\\')
            return "must not contain spaces, control characters or backslashes";
    if (strchr(url, '#'))
        return "must not contain a fragment (#…)";
    const char *a = url + skip;
    return authority_problem(a, strcspn(a, "/?"), allow_private);
}

/* Optional in a PATCH, but a member that is present must not be null: flags that make
 * tc_jv_* refuse a null where it would otherwise read as "absent". */
static unsigned need(const cJSON *body, const char *name, bool create)
{
    return create || tc_jv_has(body, name) ? TC_JV_REQUIRED : TC_JV_OPTIONAL;
}

static void check_url(tc_jv_t *jv, const cJSON *body, bool create, bool allow_private,
                      hub_endpoint_in_t *out)
{
    out->has_url = tc_jv_has(body, "url");
    out->url = tc_jv_str(jv, body, "url", need(body, "url", create), 1, HUB_URL_MAX);
    const char *why = out->url ? url_problem(out->url, allow_private) : NULL;
    if (why) {
        tc_jv_error(jv, "url", "%s", why);
        out->url = NULL;
    }
}

/* Each filter valid and distinct; problems named by position ("event_types[2]"). */
static void check_filter_items(tc_jv_t *jv, const cJSON *types)
{
    int n = cJSON_GetArraySize(types);
    for (int i = 0; i < n; i++) {
        const cJSON *f = cJSON_GetArrayItem(types, i);
        char field[32];
        snprintf(field, sizeof field, "event_types[%d]", i);
        if (!cJSON_IsString(f) || !hub_filter_valid(f->valuestring)) {
            tc_jv_error(jv, field, "must be an event type, a prefix ending in .* or *");
            continue;
        }
        for (int j = 0; j < i; j++) {
            const cJSON *g = cJSON_GetArrayItem(types, j);
            if (cJSON_IsString(g) && strcmp(g->valuestring, f->valuestring) == 0) {
                tc_jv_error(jv, field, "repeats event_types[%d]", j);
                break;
            }
        }
    }
}

static void check_event_types(tc_jv_t *jv, const cJSON *body, bool create, hub_endpoint_in_t *out)
{
    const cJSON *types = cJSON_GetObjectItemCaseSensitive(body, "event_types");
    out->has_event_types = types != NULL;
    if (!types) {
        if (create)
            tc_jv_error(jv, "event_types", "is required");
        return;
    }
    int n = cJSON_IsArray(types) ? cJSON_GetArraySize(types) : -1;
    if (n < 1 || n > HUB_FILTERS_MAX) {
        tc_jv_error(jv, "event_types", "must be an array of 1 to %d filters", HUB_FILTERS_MAX);
        return;
    }
    check_filter_items(jv, types);
    out->event_types = types;
}

static void check_endpoint_secret(tc_jv_t *jv, const cJSON *body, bool create,
                                  hub_endpoint_in_t *out)
{
    if (!create) {
        if (tc_jv_has(body, "secret"))
            tc_jv_error(jv, "secret", "cannot be changed here: rotate the secret instead");
        return;
    }
    out->secret = tc_jv_str(jv, body, "secret", TC_JV_OPTIONAL, 1, HUB_SECRET_MAX - 1);
    if (out->secret && !hub_secret_valid(out->secret)) {
        tc_jv_error(jv, "secret", "must be whsec_ followed by the base64 of %d to %d bytes",
                    HUB_SECRET_MIN_BYTES, HUB_SECRET_MAX_BYTES);
        out->secret = NULL;
    }
}

void hub_endpoint_validate(tc_jv_t *jv, const cJSON *body, bool create, bool allow_private,
                           hub_endpoint_in_t *out)
{
    static const char *const allowed[] = {"url",      "description",      "event_types", "secret",
                                          "disabled", "rate_limit_per_s", NULL};
    memset(out, 0, sizeof *out);
    if (!tc_jv_object(jv, body, "body"))
        return;
    tc_jv_no_unknown(jv, body, allowed);
    check_url(jv, body, create, allow_private, out);
    out->has_description = tc_jv_has(body, "description");
    out->description = tc_jv_str(jv, body, "description", TC_JV_NULLABLE, 0, HUB_DESCRIPTION_MAX);
    check_event_types(jv, body, create, out);
    check_endpoint_secret(jv, body, create, out);
    out->has_disabled = tc_jv_has(body, "disabled");
    out->disabled = tc_jv_bool(jv, body, "disabled", need(body, "disabled", false), false);
    /* null removes the cap, like leaving it out at creation */
    out->has_rate_limit = tc_jv_has(body, "rate_limit_per_s");
    out->rate_limit_per_s =
        (int)tc_jv_int(jv, body, "rate_limit_per_s", TC_JV_NULLABLE, 0, 1, RATE_MAX);
}

/* A secret the sender and the hub share as text (GitHub, Stripe): printable ASCII, as both
 * sign its bytes and a hint shows its end. */
static void check_shared_secret(tc_jv_t *jv, const char *secret)
{
    size_t n = strlen(secret);
    if (n < SHARED_MIN || n > SHARED_MAX || !ascii_printable(secret, n))
        tc_jv_error(jv, "secret", "must be %d to %d printable ASCII characters", SHARED_MIN,
                    SHARED_MAX);
}

static void check_hook_secret(tc_jv_t *jv, const cJSON *body, bool create, hub_hook_in_t *out)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(body, "secret");
    bool shared = out->verification == HUB_VERIFY_GITHUB || out->verification == HUB_VERIFY_STRIPE;
    /* null asks for the default (generated, or none), the same as leaving the secret out */
    out->has_secret = s && !cJSON_IsNull(s);
    /* A PATCH does not tell which verification the hook has, and the secret's rules depend
     * on it: a new secret comes with the verification it is for. */
    if (!create && !out->has_verification) {
        if (s)
            tc_jv_error(jv, "secret", "must come with the verification it is for");
        return;
    }
    if (out->verification == HUB_VERIFY_NONE) {
        if (out->has_secret)
            tc_jv_error(jv, "secret", "is not used when verification is none");
        return;
    }
    out->secret =
        tc_jv_str(jv, body, "secret", shared ? TC_JV_REQUIRED : TC_JV_OPTIONAL, 1, SHARED_MAX);
    if (!out->secret)
        return;
    if (shared)
        check_shared_secret(jv, out->secret);
    else if (!hub_secret_valid(out->secret))
        tc_jv_error(jv, "secret", "must be whsec_ followed by the base64 of %d to %d bytes",
                    HUB_SECRET_MIN_BYTES, HUB_SECRET_MAX_BYTES);
}

void hub_hook_validate(tc_jv_t *jv, const cJSON *body, bool create, hub_hook_in_t *out)
{
    static const char *const allowed[] = {"name", "verification", "secret", NULL};
    memset(out, 0, sizeof *out);
    out->verification = HUB_VERIFY_STANDARD;
    if (!tc_jv_object(jv, body, "body"))
        return;
    tc_jv_no_unknown(jv, body, allowed);
    out->has_name = tc_jv_has(body, "name");
    out->name = tc_jv_str(jv, body, "name", need(body, "name", create), 1, HUB_NAME_MAX);
    out->has_verification = tc_jv_has(body, "verification");
    const char *v =
        tc_jv_enum(jv, body, "verification", need(body, "verification", create), verify_names);
    if (v)
        out->verification = (hub_verify_t)hub_verify_parse(v);
    else if (out->has_verification)
        return; /* the secret's rules depend on a verification we could not read */
    check_hook_secret(jv, body, create, out);
}
