/*
 * notification_model.h: the notification service's domain: requests, recipients'
 * preferences, templates (built-in defaults and locale fallback), the retry schedule and the
 * outcome of a send attempt. No I/O: no SQL, no SMTP, no clock (callers pass times and random
 * numbers in), so everything here is unit-tested.
 */
#ifndef NOTIFICATION_MODEL_H
#define NOTIFICATION_MODEL_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tc/tc_json.h"
#include "tc/tc_tz.h"

#define NOTIFY_LOCALE_MAX     36 /* BCP 47 tag as stored, with NUL */
#define NOTIFY_CHAIN_MAX      4  /* fr-CA → fr → en */
#define NOTIFY_KIND_MAX       64
#define NOTIFY_SUBJECT_MAX    998 /* RFC 5322 line limit */
#define NOTIFY_BODY_MAX       65536
#define NOTIFY_RENDER_MAX     262144 /* bound of one rendered body */
#define NOTIFY_CATEGORY_MAX   100
#define NOTIFY_DEFAULT_LOCALE "en"

/* ------------------------------------------------------------------ requests */

typedef struct {
    const char *kind;    /* "invitation", "password_reset", … (the request's "template") */
    const char *channel; /* "email", "in_app", "push" or "sms" */
    const char *org_id;
    const char *user_id; /* to.user_id; NULL for an audience */
    bool audience_org;   /* "audience": "org": every active member of org_id, not `to` */
    const char *email;   /* to.email; NULL: the recipient's address from user-events */
    const char *name;    /* to.name; NULL when null */
    const cJSON *params; /* the template's variables; NULL when absent */
} notify_request_t;

/* Reads com.techcorp.notification.requested data (borrowed pointers into data). TC_EINVAL with
 * *why when it is not a request this service can act on (the event is poison). */
int notify_request_parse(const cJSON *data, notify_request_t *req, const char **why);

/* true for a kind pattern ^[a-z][a-z0-9_]{0,63}$ */
bool notify_kind_valid(const char *kind);
/* Security and account mail (invitation, password_reset): always sent, cannot be turned off. */
bool notify_kind_critical(const char *kind);
/* true for the channels delivered: "email", "in_app", "push", "sms". */
bool notify_channel_supported(const char *channel);

/* ------------------------------------------------------------------ locales and templates */

/* A BCP 47 tag of the shape this service stores: language (2-3 letters) and optional
 * subtags of 2-8 alphanumerics, separated by '-'. */
bool notify_locale_valid(const char *locale);
/* Canonical case: language lower, a 2-letter region upper, other subtags as given
 * ("FR-ca" → "fr-CA"). out must hold NOTIFY_LOCALE_MAX. TC_EINVAL when not valid. */
int notify_locale_normalize(const char *locale, char out[NOTIFY_LOCALE_MAX]);
/* The fallback chain of a locale, most specific first, ending with "en":
 * "fr-CA" → fr-CA, fr, en; "en-GB" → en-GB, en; NULL or invalid → en. Returns the count. */
int notify_locale_chain(const char *locale, char chain[NOTIFY_CHAIN_MAX][NOTIFY_LOCALE_MAX]);

typedef struct {
    const char *kind;
    const char *locale;
    const char *subject;
    const char *text;
    const char *html;
} notify_template_t;

/* The built-in default of a kind for exactly this locale, or NULL. */
const notify_template_t *notify_builtin(const char *kind, const char *locale);
/* The first built-in along the locale chain, or NULL when the kind has no default. */
const notify_template_t *notify_builtin_for(const char *kind, const char *locale);
/* The template of a request whose kind has neither an org template nor a default but which
 * carries params.title (and params.body): subject {{title}}, text {{body}}. */
const notify_template_t *notify_builtin_generic(void);
/* Sample variables of a kind for previews (a new object, or NULL on OOM). */
cJSON *notify_sample_params(const char *kind);

/* Validates a template body (POST/PUT): subject, text, html (each required unless partial),
 * their syntax; kind and locale when with_key. Errors go into jv. */
void notify_template_validate(tc_jv_t *jv, const cJSON *body, bool with_key);

typedef struct {
    char *subject; /* one line: CR/LF folded into spaces */
    char *text;
    char *html;
} notify_rendered_t;

/* Renders the three parts against ctx. TC_EINVAL with *why; TC_ENOMEM. */
int notify_render(const notify_template_t *t, const cJSON *ctx, notify_rendered_t *out,
                  const char **why);
void notify_rendered_clear(notify_rendered_t *r);
/* The rendering context of a request: its params, plus recipient {name, email}. */
cJSON *notify_context(const cJSON *params, const char *name, const char *email);

/* ------------------------------------------------------------------ preferences */

/*
 * Whether a message of kind may go to channel for a recipient whose user-level channel
 * switches are user_channels (user-events preferences.notifications: {"email": false, …};
 * may be NULL), whose per-category choices are categories ({"<kind>": {"<channel>": bool}};
 * may be NULL) and whose org's defaults are org_categories (same shape; may be NULL).
 * Critical kinds always pass. Then, first that says: the user's category choice; the user's
 * channel switch when it is off; the org's default for the category; yes.
 */
bool notify_pref_allows(const char *kind, const char *channel, const cJSON *user_channels,
                        const cJSON *categories, const cJSON *org_categories);
/* Validates PUT /v1/notifications/preferences: {"categories": {"<kind>": {"<channel>": bool}},
 * "quiet_hours": {"start": "HH:MM", "end": "HH:MM", "time_zone": "<IANA name>"} | null (the
 * org's default) | false (none, the org's default neither)}; turning a critical kind off is
 * refused. Whether the zone exists is the caller's check. */
void notify_prefs_validate(tc_jv_t *jv, const cJSON *body);
/* Validates PUT /v1/notifications/org-preferences: {"categories": …} and "quiet_hours" as
 * above (the members' defaults; null is none, false is refused), "throttle": {"<channel>": messages
 * an hour, 1…NOTIFY_THROTTLE_MAX} and "digests": {"<kind>": minutes, NOTIFY_DIGEST_MIN…MAX; never a
 * critical kind}. */
void notify_org_prefs_validate(tc_jv_t *jv, const cJSON *body);

/* Digests: the org's email of a kind collected per person over a window, then sent as one
 * email listing them ("digest" template). */
#define NOTIFY_DIGEST_MIN 5
#define NOTIFY_DIGEST_MAX 1440
/* The org's window for an email of kind, in minutes; 0: sent on its own (none set, a critical
 * kind, or another channel). */
int notify_digest_minutes(const cJSON *digests, const char *kind, const char *channel);
/* The built-in "digest" template for the locale chain (en, fr). */
const notify_template_t *notify_builtin_digest(const char *locale);

/* Throttling: at most `limit` messages of a channel reach one person in any hour, critical
 * kinds aside; the rest are suppressed as "throttled" (a runaway producer's flood is dropped,
 * not queued for later). */
#define NOTIFY_THROTTLE_MAX 10000
/* The org's limit for channel from its throttle object; 0 when it set none. */
int notify_throttle_limit(const cJSON *throttle, const char *channel);
/* Whether a message of kind is one too many after last_hour of the channel's messages. */
bool notify_throttled(const char *kind, int limit, int64_t last_hour);

/* A recipient's quiet hours: from start to end (minutes after local midnight; end before
 * start spans midnight) in their time zone. */
typedef struct {
    int start_min, end_min;
    char time_zone[64];
} notify_quiet_t;

/* Parses a quiet_hours object (as validated above): TC_OK, or TC_EINVAL (anything else, a
 * member's false included: no quiet hours). */
int notify_quiet_parse(const cJSON *q, notify_quiet_t *out);
/* Whether a message that interrupts (email, push and SMS; not the silent in-app
 * inbox) of a non-critical kind waits at the UTC instant now_s: true with *until_s the UTC
 * instant the quiet hours end (their end's next wall-clock occurrence; in a DST gap, as
 * tc_tz_to_utc reads it). tz NULL reads as UTC. */
bool notify_quiet_defers(const notify_quiet_t *q, const tc_tz_t *tz, const char *kind,
                         const char *channel, int64_t now_s, int64_t *until_s);

/* ------------------------------------------------------------------ delivery */

/* Outcome of one send attempt. */
typedef enum {
    NOTIFY_SENT = 0,
    NOTIFY_TRANSIENT, /* try again later: SMTP 4xx, connection refused, timeout */
    NOTIFY_PERMANENT, /* never: SMTP 5xx, a message that cannot be built */
} notify_outcome_t;

/* Classifies an SMTP exchange: transport_ok false (could not connect, timed out, connection
 * broke) is transient; a final reply code 2xx sent, 4xx transient, 5xx permanent. */
notify_outcome_t notify_smtp_outcome(bool transport_ok, long smtp_code);

/* Delay before attempt number `attempt` + 1 after `attempt` failed (1-based): exponential,
 * initial_ms * 2^(attempt-1) capped at max_ms, with "equal jitter": half of it fixed, the other
 * half scaled by rnd / UINT32_MAX. Never below 1 ms. */
int64_t notify_backoff_ms(int attempt, int64_t initial_ms, int64_t max_ms, uint32_t rnd);

/* The status after an attempt: "delivered", "retrying" (transient and attempts left) or
 * "failed". */
const char *notify_next_status(notify_outcome_t outcome, int attempts, int max_attempts);

/* Message-ID of a delivery's email: "<dlv_…@domain>" (stable across retries, so a receiver
 * that sees it twice knows it is the same message). TC_EINVAL when it does not fit. */
int notify_message_id(const char *delivery_id, const char *domain, char *out, size_t outlen);

#endif
