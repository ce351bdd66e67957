/*
 * store.h: the notification service's SQL. Functions take an open connection (usually inside
 * the caller's transaction) and return TC_* codes: TC_ENOTFOUND for absent rows, TC_ECONFLICT
 * for a taken key. Sealing and opening of personal data happens here, so callers see
 * plaintext. Representations come back as cJSON objects the caller owns.
 */
#ifndef NOTIFICATION_STORE_H
#define NOTIFICATION_STORE_H

#include "notification_app.h"
#include "notification_model.h"
#include "webpush_model.h"
#include "tc/tc_buf.h"
#include "tc/tc_page.h"

/* ------------------------------------------------------------------ recipients (read model) */

typedef struct {
    char status[16];
    char locale[NOTIFY_LOCALE_MAX]; /* "" when unknown */
    cJSON *channels;                /* user preferences.notifications; never NULL on TC_OK */
    cJSON *categories;              /* this service's per-category choices; never NULL */
    cJSON *org_categories;          /* the org's defaults per category; never NULL on TC_OK */
    cJSON *org_throttle;            /* the org's limits per channel; never NULL on TC_OK */
    cJSON *org_digests;             /* the org's digest windows per kind; never NULL on TC_OK */
    char *email, *name;             /* the address user-events gave (opened); NULL unknown */
    char *phone;                    /* the phone user-events gave, as written; NULL none */
    bool has_quiet;                 /* quiet hours: the user's own, else the org's default */
    notify_quiet_t quiet;
} recipient_t;

/* Applies a user-events state (created/updated/deleted): newest version wins. */
int store_recipient_apply_state(notification_app_t *app, tc_dbconn_t *tx, const cJSON *user);
/* Applies preferences_updated (locale, notification channels): newest version wins. */
int store_recipient_apply_prefs(tc_dbconn_t *tx, const cJSON *data);
/* user.purged: the recipient, their choices and inbox go; email contents are dropped. */
int store_recipient_forget(tc_dbconn_t *tx, const char *user_id);
/* What deciding a delivery needs, with the recipient's address (a request may name only the
 * user); an unknown recipient is status "unknown" with no address. */
int store_recipient_get(notification_app_t *app, tc_dbconn_t *c, const char *org_id,
                        const char *user_id, recipient_t *out);
void recipient_clear(recipient_t *r);
/* Each active member of the org (an announcement's audience), in user-id order, read as
 * store_recipient_get reads one; fn's recipient is cleared after it returns; a code other
 * than TC_OK from fn stops the walk and is returned. */
typedef int (*recipient_fn)(const char *user_id, recipient_t *r, void *ud);
int store_recipients_each(notification_app_t *app, tc_dbconn_t *c, const char *org_id,
                          recipient_fn fn, void *ud);

/* ------------------------------------------------------------------ templates */

typedef struct {
    char id[TC_ID_MAX];
    char kind[NOTIFY_KIND_MAX];
    char locale[NOTIFY_LOCALE_MAX];
    char *subject, *text, *html;
} template_row_t;
void template_row_clear(template_row_t *t);

/* The org's template of kind for the first locale of chain that has one. */
int store_template_find(tc_dbconn_t *c, const char *org_id, const char *kind,
                        char chain[][NOTIFY_LOCALE_MAX], int n, template_row_t *out);
int store_template_insert(tc_dbconn_t *c, const char *org_id, const template_row_t *t,
                          cJSON **json);
int store_template_get(tc_dbconn_t *c, const char *org_id, const char *id, cJSON **json);
int store_template_update(tc_dbconn_t *c, const char *org_id, const char *id,
                          const template_row_t *t, cJSON **json);
int store_template_delete(tc_dbconn_t *c, const char *org_id, const char *id);
int store_template_list(tc_dbconn_t *c, const char *org_id, const char *kind, const tc_page_t *page,
                        cJSON **data, char *next_key, size_t keylen);

/* ------------------------------------------------------------------ org settings */

/* The org's sender; NULLs (TC_OK) when the org has none. *from_email and *from_name malloc'd. */
int store_settings_get(tc_dbconn_t *c, const char *org_id, char **from_email, char **from_name);
int store_settings_put(tc_dbconn_t *c, const char *org_id, const char *from_email,
                       const char *from_name);

/* ------------------------------------------------------------------ deliveries */

typedef struct {
    char id[TC_ID_MAX];
    const char *request_id, *org_id, *recipient_id, *channel, *kind, *locale;
    const char *status; /* pending, delivered, suppressed, failed */
    int max_attempts;
    const char *message_enc; /* sealed email or push content; NULL for in-app */
    const char *last_error;
    int64_t not_before_s; /* pending until this UTC instant (quiet hours); 0: due now */
} delivery_new_t;

/* Inserts the delivery; TC_ECONFLICT when (request, recipient, channel) already has one. */
int store_delivery_insert(tc_dbconn_t *tx, delivery_new_t *d);
/* One delivery of the org with its attempts; recipient_only: only when it is theirs. */
int store_delivery_get(tc_dbconn_t *c, const char *org_id, const char *id,
                       const char *recipient_only, cJSON **json);
int store_delivery_list(tc_dbconn_t *c, const char *org_id, const char *recipient_id,
                        const char *status, const tc_page_t *page, cJSON **data, char *next_key,
                        size_t keylen);

/* Whether the request already has deliveries (an announcement handled before). */
int store_request_handled(tc_dbconn_t *tx, const char *request_id, bool *handled);

/* An announcement's deliveries, staged then written together a chunk at a time
 * (store_fanout.c). */
typedef struct {
    tc_buf_t lines;           /* COPY lines not yet sent to the stage */
    int staged;               /* lines in `lines` */
    const delivery_new_t *rq; /* the request's id, org, channel, kind and max_attempts */
} fanout_stage_t;
/* Creates the transaction's stage (dropped at commit, or by finish) for the request rq (kept,
 * not copied: it outlives the stage). */
int store_fanout_open(tc_dbconn_t *tx, fanout_stage_t *st, const delivery_new_t *rq);
/* One member's decided delivery: d->id is assigned; an in-app delivery delivered at once also
 * becomes an inbox item (title, body). Each 1,000 are written, with their attempts and items. */
int store_fanout_add(tc_dbconn_t *tx, fanout_stage_t *st, delivery_new_t *d, const char *title,
                     const char *body);
/* Writes what is still staged and drops the stage. */
int store_fanout_finish(tc_dbconn_t *tx, fanout_stage_t *st);
void store_fanout_clear(fanout_stage_t *st);

/* A claimed email or push delivery, ready to send. */
typedef struct {
    char id[TC_ID_MAX];
    char org_id[TC_ID_MAX];
    char recipient_id[TC_ID_MAX];
    char request_id[TC_ID_MAX + 16];
    char kind[NOTIFY_KIND_MAX];
    int attempt; /* this attempt's number */
    int max_attempts;
    char *message_enc;
    int64_t doubt_since_s; /* the start of its first attempt in doubt (epoch s); 0: none */
} claimed_t;

/* Claims up to `batch` due deliveries of the channel (email, push, sms) (pending or retrying whose
 * time has come, and sending ones whose lease expired: their previous attempt is recorded as in
 * doubt), marks them sending with a lease and records the attempt as in progress — all committed
 * before anything is sent (record-then-send). */
int store_claim_due(tc_db_t *db, const char *channel, int batch, int64_t lease_ms, claimed_t **rows,
                    int *n);
void store_claimed_free(claimed_t *rows, int n);
/* Gives a claimed delivery back unsent (shutdown): its attempt is forgotten. */
int store_delivery_release(tc_db_t *db, const claimed_t *d);
/* Records an attempt's end and the delivery's new status; next_delay_ms for "retrying".
 * TC_ENOTFOUND when the claim was lost (the lease ran out and another sender took it). */
int store_delivery_finish(tc_dbconn_t *tx, const claimed_t *d, const char *status,
                          const char *outcome, long code, const char *detail,
                          int64_t next_delay_ms);

/* consumer_requests.c, for the digests too: an email's content (address, name, subject, both
 * bodies) sealed for the org as a delivery's (NULL with *rc on failure); and when the
 * recipient's quiet hours hold a message back, the UTC instant they end (0: not held). */
char *delivery_seal_json(notification_app_t *app, const char *org_id, const char *what, cJSON *o,
                         int *rc); /* o taken over; `what` binds the sealed text to its use */
char *delivery_seal_email(notification_app_t *app, const char *org_id, const char *to,
                          const char *name, const notify_rendered_t *m, int *rc);
int64_t delivery_quiet_until(const recipient_t *rcpt, const char *kind, const char *channel);

/* ------------------------------------------------------------------ digests */

/* One request's email going into the person's digest of its kind (store_digests.c). */
typedef struct {
    const char *org_id, *recipient_id, *kind, *locale;
    const char *email, *name; /* where the digest goes: the first request's */
    int minutes;              /* the window of a digest this item opens */
    const char *delivery_id;  /* the request's delivery, 'digested' */
    const char *subject, *text;
} digest_item_t;
/* Adds the item to the person's open digest of the kind, opening one (closing in `minutes`)
 * when there is none. */
int store_digest_add(notification_app_t *app, tc_dbconn_t *tx, const digest_item_t *it);

/* A due digest, locked for closing: its recipient, where it goes and its items (a JSON array
 * of {"subject","text"}, oldest first), all opened. */
typedef struct {
    char id[TC_ID_MAX];
    char org_id[TC_ID_MAX];
    char recipient_id[TC_ID_MAX];
    char kind[NOTIFY_KIND_MAX];
    char locale[NOTIFY_LOCALE_MAX];
    char *to, *name;
    cJSON *items;
} digest_row_t;
void digest_row_clear(digest_row_t *d);
/* The oldest due open digest, locked (others' locks skipped); TC_ENOTFOUND when none;
 * TC_EINVAL, with out->id set, when its content does not open under the org's key. */
int store_digest_due(notification_app_t *app, tc_dbconn_t *tx, digest_row_t *out);
/* delivery_id NULL: closed without an email (its content could not be opened). */
int store_digest_close(tc_dbconn_t *tx, const char *digest_id, const char *delivery_id);

/* ------------------------------------------------------------------ push subscriptions */

/* At most this many browsers per user: a new one pushes out the least recently registered. */
#define PUSH_SUBS_PER_USER 20

/* Registers a browser for the user (sealed under the org's key), or registers it again: the
 * same endpoint keeps its id, takes the new keys and moves to this user if it was another's.
 * *created tells which; *json is the representation (owned). */
int store_push_sub_put(notification_app_t *app, tc_dbconn_t *tx, const char *org_id,
                       const char *user_id, const webpush_sub_t *sub, const char *origin,
                       bool *created, cJSON **json);
/* The user's browsers, newest first ({id, origin, created_at, updated_at}; never the endpoint). */
int store_push_sub_list(tc_dbconn_t *c, const char *org_id, const char *user_id, cJSON **data);
/* TC_ENOTFOUND when it is not one of the user's. */
int store_push_sub_delete(tc_dbconn_t *c, const char *org_id, const char *user_id, const char *id);

/* A browser a delivery's message still has to reach, opened. */
typedef struct {
    char id[TC_ID_MAX];
    char *endpoint;
    uint8_t p256dh[WEBPUSH_PUB_LEN];
    uint8_t auth[WEBPUSH_AUTH_LEN];
} push_target_t;
/* The user's browsers that have not yet taken delivery_id's message (*n of them), and how
 * many took it on an earlier attempt (*done). A browser whose sealed row no longer opens (its
 * org's data key gone) is neither: nothing can be sent to it. */
int store_push_targets(notification_app_t *app, tc_dbconn_t *c, const char *org_id,
                       const char *user_id, const char *delivery_id, push_target_t **out, int *n,
                       int *done);
void push_targets_free(push_target_t *t, int n);
/* The push service took the message for this browser. */
int store_push_sent(tc_dbconn_t *c, const char *delivery_id, const char *subscription_id);
/* The push service says the subscription ended (404/410). */
int store_push_sub_gone(tc_dbconn_t *c, const char *subscription_id);

/* ------------------------------------------------------------------ inbox */

/* The channel an inbox insert notifies at commit: "<org> <user> <seq> <id>". */
#define STREAM_CHANNEL "notification_inbox"

/* A new in-app item, numbered in its user's stream (inbox_seq), STREAM_CHANNEL notified. */
int store_inbox_insert(tc_dbconn_t *tx, const char *org_id, const char *user_id,
                       const char *delivery_id, const char *kind, const char *title,
                       const char *body);
/* The stream number of one of the user's items (TC_ENOTFOUND when it is not theirs). */
int store_inbox_seq_of(tc_dbconn_t *c, const char *org_id, const char *user_id, const char *id,
                       int64_t *seq);

/* An item as the stream sends it: whose, its number, its representation (owned). */
typedef struct {
    char org[64];
    char user[64];
    int64_t seq;
    cJSON *item;
} inbox_event_t;
void inbox_events_free(inbox_event_t *ev, int n);
/* The user's items numbered after `after`: the newest `limit` of them, in order. */
int store_inbox_since(tc_dbconn_t *c, const char *org_id, const char *user_id, int64_t after,
                      int limit, inbox_event_t **out, int *n);
/* The items of the ids in a PostgreSQL array literal ("{ntf_a,ntf_b}"), by user then number. */
int store_inbox_by_ids(tc_dbconn_t *c, const char *id_array, inbox_event_t **out, int *n);
/* The inbox (archived false) or what was archived out of it (true), newest first. */
int store_inbox_list(tc_dbconn_t *c, const char *org_id, const char *user_id, bool unread_only,
                     bool archived, const tc_page_t *page, cJSON **data, char *next_key,
                     size_t keylen);
int store_inbox_unread(tc_dbconn_t *c, const char *org_id, const char *user_id, int64_t *n);
int store_inbox_read(tc_dbconn_t *c, const char *org_id, const char *user_id, const char *id,
                     cJSON **json);
/* Archives (read too) or brings back one item; TC_ENOTFOUND when it is not the caller's. */
int store_inbox_archive(tc_dbconn_t *c, const char *org_id, const char *user_id, const char *id,
                        bool archive, cJSON **json);
int store_inbox_read_all(tc_dbconn_t *c, const char *org_id, const char *user_id, int64_t *n);

/* ------------------------------------------------------------------ preferences */

/* The user's categories object (text, malloc'd; "{}" when none), quiet hours (text,
 * malloc'd; NULL when none) and version (0 when none). */
int store_prefs_get(tc_dbconn_t *c, const char *org_id, const char *user_id, char **json,
                    char **quiet, int64_t *version);
/* Replaces both (quiet NULL: none). */
int store_prefs_put(tc_dbconn_t *c, const char *org_id, const char *user_id, const char *json,
                    const char *quiet, int64_t *version);
/* The org's defaults: categories and throttle (JSON text, "{}" when none), quiet hours (NULL:
 * none) and version (0: never set). Strings malloc'd by store_org_prefs_get. */
typedef struct {
    char *categories, *throttle, *quiet, *digests; /* digests: "{}" when none */
    int64_t version;
} org_prefs_t;
void org_prefs_clear(org_prefs_t *o);
int store_org_prefs_get(tc_dbconn_t *c, const char *org_id, org_prefs_t *out);
/* Replaces all three; o->version becomes the new version. */
int store_org_prefs_put(tc_dbconn_t *c, const char *org_id, org_prefs_t *o);
/* How many of the person's messages of channel were let through in the last hour (every
 * delivery but the suppressed ones). */
int store_recent_deliveries(tc_dbconn_t *c, const char *org_id, const char *user_id,
                            const char *channel, int64_t *n);
/* The same for every member of the org at once (an announcement's throttle): *out sorted for
 * recent_count_of, owned by the caller (free); members with none are absent. */
typedef struct {
    char user_id[TC_ID_MAX];
    int64_t count;
} recent_count_t;
int store_recent_by_recipient(tc_dbconn_t *c, const char *org_id, const char *channel,
                              recent_count_t **out, int *n);
int64_t recent_count_of(const recent_count_t *counts, int n, const char *user_id);

#endif
