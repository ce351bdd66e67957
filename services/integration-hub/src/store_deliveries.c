/* The delivery workers' statements: claiming due deliveries under a lease, the per-endpoint
 * rate cap, recording an attempt and moving the delivery on, and retention. */
#include "store.h"
#include "tc/tc_core.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void free_secret(char *s)
{
    if (s) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
}

void hub_job_clear(hub_job_t *j)
{
    free(j->url);
    free_secret(j->secret);
    free_secret(j->prev_secret);
    free(j->payload);
    memset(j, 0, sizeof *j);
}

/* A claimed row as a job. A secret that does not open (TC_EINVAL: sealed under another key)
 * leaves the job without it: its attempt is recorded as failed, on the schedule, instead of
 * the row coming back at every lease forever. Any other failure (out of memory, the key
 * store unreachable) marks the job unopened: it is put back, not attempted. */
static void job_from_row(tc_keyring_t *keys, const PGresult *r, int i, hub_job_t *j)
{
    snprintf(j->message_id, sizeof j->message_id, "%s", tc_db_val(r, i, 0));
    snprintf(j->endpoint_id, sizeof j->endpoint_id, "%s", tc_db_val(r, i, 1));
    snprintf(j->org_id, sizeof j->org_id, "%s", tc_db_val(r, i, 2));
    j->attempt = (int)tc_db_int(r, i, 3, 1);
    j->rate_limit_per_s = (int)tc_db_int(r, i, 8, 0);
    snprintf(j->event_id, sizeof j->event_id, "%s", tc_db_val(r, i, 9));
    snprintf(j->event_type, sizeof j->event_type, "%s", tc_db_val(r, i, 10));
    j->round_start = (int)tc_db_int(r, i, 11, 0);
    j->disabled = strcmp(tc_db_val(r, i, 12), "t") == 0;
    if (!(j->url = strdup(tc_db_val(r, i, 4))) || !(j->payload = strdup(tc_db_val(r, i, 7)))) {
        j->unopened = true;
        return;
    }
    int rc =
        tc_keyring_open(keys, j->org_id, HUB_CTX_ENDPOINT_SECRET, tc_db_val(r, i, 5), &j->secret);
    if (rc == TC_OK && tc_db_val(r, i, 6))
        rc = tc_keyring_open(keys, j->org_id, HUB_CTX_ENDPOINT_SECRET, tc_db_val(r, i, 6),
                             &j->prev_secret);
    if (rc == TC_EINVAL) {
        free_secret(j->secret);
        free_secret(j->prev_secret);
        j->secret = j->prev_secret = NULL;
    } else if (rc != TC_OK) {
        j->unopened = true;
    }
}

int store_dlv_claim(tc_dbconn_t *c, tc_keyring_t *keys, int max, int lease_ms, hub_job_t **jobs,
                    int *n)
{
    *jobs = NULL;
    *n = 0;
    char lim[16], lease[16];
    snprintf(lim, sizeof lim, "%d", max);
    snprintf(lease, sizeof lease, "%d", lease_ms);
    PGresult *r = NULL;
    /* due rows first by time; rows whose lease lapsed lost their worker (a crash) and are
     * attempted again. Both scans are index-only on their partial indexes. */
    int rc = tc_db_qp(
        c, &r, "dlv_claim",
        "WITH due AS (SELECT message_id, endpoint_id FROM webhook_deliveries"
        "   WHERE status='pending' AND next_at <= now() ORDER BY next_at LIMIT $1::int"
        "   FOR UPDATE SKIP LOCKED),"
        " lapsed AS (SELECT message_id, endpoint_id FROM webhook_deliveries"
        "   WHERE status='delivering' AND lease_until < now() LIMIT $1::int"
        "   FOR UPDATE SKIP LOCKED),"
        " pick AS (SELECT * FROM due UNION ALL SELECT * FROM lapsed LIMIT $1::int)"
        " UPDATE webhook_deliveries d SET status='delivering', attempts = d.attempts + 1,"
        "   lease_until = now() + $2::int * interval '1 millisecond', updated_at = now()"
        " FROM pick, webhook_endpoints e, webhook_messages m"
        " WHERE d.message_id = pick.message_id AND d.endpoint_id = pick.endpoint_id"
        "   AND e.id = d.endpoint_id AND m.id = d.message_id"
        " RETURNING d.message_id, d.endpoint_id, d.org_id, d.attempts, e.url, e.secret_sealed,"
        "   CASE WHEN e.prev_secret_until > now() THEN e.prev_secret_sealed END, m.payload,"
        "   coalesce(e.rate_limit_per_s, 0), m.event_id, m.event_type, d.round_start,"
        "   e.disabled",
        lim, lease);
    if (rc != TC_OK) {
        PQclear(r);
        return rc;
    }
    int rows = PQntuples(r);
    hub_job_t *out = rows ? calloc((size_t)rows, sizeof *out) : NULL;
    if (rows && !out) {
        PQclear(r);
        return TC_ENOMEM; /* the claimed rows go back when their lease lapses */
    }
    for (int i = 0; i < rows; i++)
        job_from_row(keys, r, i, &out[i]);
    PQclear(r);
    *jobs = out;
    *n = rows;
    return TC_OK;
}

int store_dlv_rate_take(tc_dbconn_t *c, const char *endpoint_id, int limit, bool *allowed)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", limit);
    PGresult *r = NULL;
    /* one counter per endpoint and second, shared by every worker of every replica */
    int rc =
        tc_db_qp(c, &r, "dlv_rate",
                 "UPDATE webhook_endpoints SET"
                 " rl_count = CASE WHEN rl_second = extract(epoch FROM clock_timestamp())::bigint"
                 "   THEN rl_count + 1 ELSE 1 END,"
                 " rl_second = extract(epoch FROM clock_timestamp())::bigint"
                 " WHERE id=$1 RETURNING rl_count <= $2::int",
                 endpoint_id, lim);
    *allowed = rc != TC_OK || PQntuples(r) != 1 || strcmp(tc_db_val(r, 0, 0), "t") == 0;
    PQclear(r);
    return rc;
}

int store_dlv_defer(tc_dbconn_t *c, const hub_job_t *j, int delay_ms)
{
    char delay[16], attempt[16];
    snprintf(delay, sizeof delay, "%d", delay_ms);
    snprintf(attempt, sizeof attempt, "%d", j->attempt);
    return tc_db_qp(c, NULL, "dlv_defer",
                    "UPDATE webhook_deliveries SET status='pending', attempts = attempts - 1,"
                    " next_at = now() + $3::int * interval '1 millisecond', lease_until=NULL,"
                    " updated_at=now() WHERE message_id=$1 AND endpoint_id=$2"
                    " AND status='delivering' AND attempts=$4::int",
                    j->message_id, j->endpoint_id, delay, attempt);
}

int store_dlv_fail_disabled(tc_dbconn_t *c, const hub_job_t *j)
{
    char attempt[16];
    snprintf(attempt, sizeof attempt, "%d", j->attempt);
    return tc_db_qp(c, NULL, "dlv_fail_disabled",
                    "UPDATE webhook_deliveries SET status='failed', attempts = attempts - 1,"
                    " lease_until=NULL, last_error='endpoint disabled', updated_at=now()"
                    " WHERE message_id=$1 AND endpoint_id=$2 AND status='delivering'"
                    " AND attempts=$3::int",
                    j->message_id, j->endpoint_id, attempt);
}

static int record_attempt(tc_dbconn_t *tx, const hub_job_t *j, const hub_outcome_t *o)
{
    char id[TC_ID_MAX], attempt[16], status[16], dur[16];
    int rc = tc_id_new("wha", id, sizeof id);
    if (rc != TC_OK)
        return rc;
    snprintf(attempt, sizeof attempt, "%d", j->attempt);
    snprintf(status, sizeof status, "%d", o->status_code);
    snprintf(dur, sizeof dur, "%d", o->duration_ms);
    return tc_db_qp(tx, NULL, "attempt_insert",
                    "INSERT INTO webhook_attempts (id, message_id, endpoint_id, org_id, attempt,"
                    " status_code, error, response_body, duration_ms)"
                    " VALUES ($1,$2,$3,$4,$5::int,$6::int,$7,$8,$9::int)",
                    id, j->message_id, j->endpoint_id, j->org_id, attempt,
                    o->status_code > 0 ? status : NULL, o->error, o->body, dur);
}

/* Success clears the endpoint's failure streak; a failure starts it (or keeps its start) and
 * tells whether it has lasted disable_after_s. */
static int endpoint_streak(tc_dbconn_t *tx, const hub_job_t *j, bool ok, int disable_after_s,
                           bool *disable)
{
    *disable = false;
    if (ok)
        return tc_db_qp(tx, NULL, "ep_streak_clear",
                        "UPDATE webhook_endpoints SET failing_since = NULL"
                        " WHERE id=$1 AND failing_since IS NOT NULL",
                        j->endpoint_id);
    char after[16];
    snprintf(after, sizeof after, "%d", disable_after_s);
    PGresult *r = NULL;
    int rc = tc_db_qp(tx, &r, "ep_streak_fail",
                      "UPDATE webhook_endpoints SET failing_since = coalesce(failing_since, now())"
                      " WHERE id=$1 RETURNING NOT disabled AND"
                      " failing_since <= now() - $2::int * interval '1 second'",
                      j->endpoint_id, after);
    if (rc == TC_OK && PQntuples(r) == 1)
        *disable = strcmp(tc_db_val(r, 0, 0), "t") == 0;
    PQclear(r);
    return rc;
}

int store_dlv_finish(tc_dbconn_t *tx, const hub_job_t *j, const hub_outcome_t *o, int retry_delay_s,
                     int disable_after_s, hub_dlv_result_t *result, bool *disable)
{
    /* The endpoint's row before the delivery's, as a PATCH that disables the endpoint, a
     * delete and store_ep_disable take them (endpoint, then its deliveries): the other order
     * deadlocked with them. A success of an endpoint without a failure streak locks no endpoint
     * row at all, so the workers delivering to one endpoint do not queue behind each other. */
    int rc = endpoint_streak(tx, j, o->ok, disable_after_s, disable);
    if (rc == TC_OK)
        rc = record_attempt(tx, j, o);
    if (rc != TC_OK)
        return rc;
    char attempt[16], delay[16], status[16];
    snprintf(attempt, sizeof attempt, "%d", j->attempt);
    snprintf(delay, sizeof delay, "%d", retry_delay_s);
    snprintf(status, sizeof status, "%d", o->status_code);
    const char *next = o->ok ? "succeeded" : retry_delay_s >= 0 ? "pending" : "failed";
    PGresult *r = NULL;
    /* only the worker holding the claim (status and attempt number unchanged) moves it on */
    rc = tc_db_qp(tx, &r, "dlv_finish",
                  "UPDATE webhook_deliveries SET status=$4, lease_until=NULL,"
                  " next_at = CASE WHEN $4 = 'pending'"
                  "   THEN now() + $5::int * interval '1 second' ELSE next_at END,"
                  " last_status=$6::int, last_error=$7, updated_at=now()"
                  " WHERE message_id=$1 AND endpoint_id=$2 AND status='delivering'"
                  " AND attempts=$3::int RETURNING 1",
                  j->message_id, j->endpoint_id, attempt, next, delay,
                  o->status_code > 0 ? status : NULL, o->error);
    bool held = rc == TC_OK && PQntuples(r) == 1;
    PQclear(r);
    if (rc != TC_OK)
        return rc;
    /* a delivery another worker took over is that worker's to move on; the attempt happened
     * all the same, and counts in the endpoint's streak */
    *result = !held                ? HUB_DLV_LOST
              : o->ok              ? HUB_DLV_SUCCEEDED
              : retry_delay_s >= 0 ? HUB_DLV_RETRY
                                   : HUB_DLV_FAILED;
    return TC_OK;
}

int store_purge(tc_dbconn_t *c, int days, int batch, int64_t *deleted)
{
    char d[16], b[16];
    snprintf(d, sizeof d, "%d", days);
    snprintf(b, sizeof b, "%d", batch);
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "purge",
                      "WITH m AS (DELETE FROM webhook_messages WHERE id IN (SELECT id FROM"
                      "   webhook_messages WHERE created_at < now() - $1::int * interval '1 day'"
                      "   LIMIT $2::int) RETURNING 1),"
                      " q AS (DELETE FROM inbound_requests WHERE id IN (SELECT id FROM"
                      "   inbound_requests WHERE received_at < now() - $1::int * interval '1 day'"
                      "   LIMIT $2::int) RETURNING 1)"
                      " SELECT (SELECT count(*) FROM m) + (SELECT count(*) FROM q)",
                      d, b);
    if (rc == TC_OK)
        *deleted = tc_db_int(r, 0, 0, 0);
    PQclear(r);
    return rc;
}
