/*
 * hub_model.h: the integration hub's domain, without I/O: Standard Webhooks signing of what
 * the hub sends, verification of what senders post to inbound hooks (Standard Webhooks,
 * GitHub, Stripe), the retry schedule, event-type filters and validation of endpoint and hook
 * bodies. Times are Unix seconds passed in by the caller, so every rule is testable without a
 * clock. (The org of an event and the payload an endpoint receives are libcommon's
 * tc_event_org and tc_event_json.)
 */
#ifndef HUB_MODEL_H
#define HUB_MODEL_H

#include "tc/tc_egress.h"
#include "tc/tc_json.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------ secrets */
#define HUB_SECRET_PREFIX    "whsec_"
#define HUB_SECRET_BYTES     32 /* random key bytes of a generated secret */
#define HUB_SECRET_MIN_BYTES 24 /* Standard Webhooks: 24..64 bytes */
#define HUB_SECRET_MAX_BYTES 64
#define HUB_SECRET_MAX       128 /* room for any valid secret, NUL included */
#define HUB_HINT_MAX         24

/* A new "whsec_" + standard base64 of HUB_SECRET_BYTES random bytes. */
int hub_secret_new(char *out, size_t outlen);
/* "whsec_" followed by standard base64 of 24..64 bytes. */
bool hub_secret_valid(const char *secret);
/* What the API shows instead of a secret: "whsec_…" and its last 4 characters. */
void hub_secret_hint(const char *secret, char out[HUB_HINT_MAX]);

/* ------------------------------------------------------------------ signing (outgoing) */
#define HUB_USER_AGENT TC_UA_WEBHOOKS /* what deliveries say they are (tc_egress.h) */

#define HUB_SIG_MAX 64 /* "v1," + base64 of 32 bytes, NUL included */

/*
 * One Standard Webhooks signature: "v1," + base64(HMAC-SHA256(key, "<msg_id>.<ts>.<body>"))
 * where key is the base64-decoded part of a "whsec_" secret. TC_EINVAL for an invalid secret.
 */
int hub_sign(const char *secret, const char *msg_id, int64_t ts, const char *body, size_t n,
             char out[HUB_SIG_MAX]);

/*
 * The webhook-signature header value: the signature with the current secret, then (during a
 * rotation, prev_secret non-NULL) the one with the previous secret, separated by a space.
 * out: 2 * HUB_SIG_MAX.
 */
int hub_signature_header(const char *secret, const char *prev_secret, const char *msg_id,
                         int64_t ts, const char *body, size_t n, char out[2 * HUB_SIG_MAX]);

/* ------------------------------------------------------------------ verification (inbound) */
typedef enum {
    HUB_VERIFY_NONE = 0, /* anyone holding the URL */
    HUB_VERIFY_STANDARD, /* webhook-id / webhook-timestamp / webhook-signature (also svix-*) */
    HUB_VERIFY_GITHUB,   /* X-Hub-Signature-256: sha256=<hex HMAC of the body> */
    HUB_VERIFY_STRIPE,   /* Stripe-Signature: t=<ts>,v1=<hex HMAC of "<t>.<body>">[,v1=…] */
} hub_verify_t;

/* "none", "standard", "github", "stripe" and back; -1 for an unknown name. */
int hub_verify_parse(const char *name);
const char *hub_verify_name(hub_verify_t v);

/* The request headers verification reads (NULL when absent). */
typedef struct {
    const char *webhook_id;        /* webhook-id, else svix-id */
    const char *webhook_timestamp; /* webhook-timestamp, else svix-timestamp */
    const char *webhook_signature; /* webhook-signature, else svix-signature */
    const char *github_signature;  /* x-hub-signature-256 */
    const char *github_delivery;   /* x-github-delivery */
    const char *stripe_signature;  /* stripe-signature */
} hub_sig_headers_t;

/*
 * Checks an inbound request. TC_OK when it authenticates; TC_EDENIED otherwise, with *why a
 * short static reason ("missing signature", "signature mismatch", "timestamp outside the
 * tolerance", "malformed signature header"). Standard and Stripe: the timestamp must be within
 * tolerance_s of now (replays of an old signed request are refused); any one of several
 * signatures may match. GitHub signs no timestamp: the caller dedupes by X-GitHub-Delivery.
 * Standard Webhooks keys are the base64 part of a whsec_ secret; GitHub and Stripe keys are
 * the secret's bytes as given. Comparisons are constant-time.
 */
int hub_verify(hub_verify_t kind, const char *secret, const hub_sig_headers_t *h, const char *body,
               size_t n, int64_t now, int tolerance_s, const char **why);

/* The sender's id of a delivery, shown with the stored request: webhook-id (Standard),
 * X-GitHub-Delivery (GitHub), NULL otherwise. */
const char *hub_sender_delivery_id(hub_verify_t kind, const hub_sig_headers_t *h);

#define HUB_REPLAY_KEY_LEN 65 /* SHA-256 hex and its NUL */

/*
 * What makes a verified request the same request again: the SHA-256 hex of the signed part a
 * replay must repeat (Standard: webhook-id; GitHub: X-Hub-Signature-256, which signs only the
 * body, so the same body again is a replay whatever X-GitHub-Delivery says; Stripe:
 * Stripe-Signature). A hook keeps one request per key: a redelivery or a replay is answered
 * with the first one. false when the kind signs nothing (none).
 */
bool hub_replay_key(hub_verify_t kind, const hub_sig_headers_t *h, char out[HUB_REPLAY_KEY_LEN]);

/* ------------------------------------------------------------------ retry schedule */
#define HUB_SCHEDULE_MAX 32

/* The default schedule, seconds before attempt 1, 2, …: immediately, 5 s, 5 min, 30 min, 2 h,
 * 5 h, 10 h, 10 h (Standard Webhooks / Svix). */
#define HUB_SCHEDULE_DEFAULT "0,5,300,1800,7200,18000,36000,36000"

/* Parses "0,5,300,…" (1..HUB_SCHEDULE_MAX non-negative integers ≤ 7 days, the first 0). Returns
 * the number of attempts, or -1 when malformed. */
int hub_schedule_parse(const char *text, int out[HUB_SCHEDULE_MAX]);
/* Seconds to wait before attempt number `next` (1-based) after attempt next-1 failed; -1 when
 * the schedule has no such attempt (the delivery has failed for good). */
int hub_schedule_delay(const int *schedule, int n, int next);

/* ------------------------------------------------------------------ event-type filters */
#define HUB_FILTERS_MAX 50
#define HUB_FILTER_LEN  128

/* A filter is an event type ("com.techcorp.user.created"), a prefix ending in ".*"
 * ("com.techcorp.workflow.*": every type under it, at any depth) or "*" (every type). */
bool hub_filter_valid(const char *filter);
bool hub_filter_match(const char *filter, const char *type);
/* Does any filter of a JSON array of strings match? */
bool hub_filters_match(const cJSON *filters, const char *type);

/* ------------------------------------------------------------------ validation */
#define HUB_URL_MAX         2048
#define HUB_DESCRIPTION_MAX 500
#define HUB_NAME_MAX        200

/* An endpoint body's fields, borrowed from the JSON; `has_*` tells which a PATCH sets. */
typedef struct {
    const char *url;
    const char *description;
    const cJSON *event_types; /* array of filters */
    const char *secret;       /* a given whsec_ secret (create only); NULL: generated */
    bool disabled;
    int rate_limit_per_s; /* 0: none */
    bool has_url, has_description, has_event_types, has_disabled, has_rate_limit;
} hub_endpoint_in_t;

/*
 * Validates a create (create=true: url and event_types required) or PATCH body: url http(s)
 * only, no userinfo or fragment, ≤ HUB_URL_MAX, and — unless allow_private — its host is not a
 * literal private, loopback or link-local address (names are checked at delivery time);
 * description ≤ HUB_DESCRIPTION_MAX; event_types 1..HUB_FILTERS_MAX valid distinct filters;
 * secret valid; rate_limit_per_s 1..10000 or null; disabled bool; unknown fields refused.
 * Every problem goes into jv.
 */
void hub_endpoint_validate(tc_jv_t *jv, const cJSON *body, bool create, bool allow_private,
                           hub_endpoint_in_t *out);

/* An inbound hook body's fields, borrowed. */
typedef struct {
    const char *name;
    hub_verify_t verification;
    const char *secret; /* NULL: generated for "standard", required for github and stripe */
    bool has_name, has_verification, has_secret;
} hub_hook_in_t;

/* Validates a create or PATCH body: name 1..HUB_NAME_MAX; verification one of the four;
 * secret: a whsec_ secret for standard, 16..256 printable characters for github and stripe,
 * refused for none. */
void hub_hook_validate(tc_jv_t *jv, const cJSON *body, bool create, hub_hook_in_t *out);

#endif
