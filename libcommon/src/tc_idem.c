#include "tc/tc_idem.h"
#include "tc/tc_buf.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tc_idem_key(tc_req_t *req, const char **key)
{
    const char *k = tc_req_header(req, "Idempotency-Key");
    *key = NULL;
    if (!k)
        return TC_ENOTFOUND;
    size_t n = strlen(k);
    if (n == 0 || n > 255)
        return TC_EINVAL;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)k[i] < 0x20 || (unsigned char)k[i] > 0x7e)
            return TC_EINVAL;
    *key = k;
    return TC_OK;
}

void tc_idem_hash(tc_req_t *req, char out[65])
{
    size_t len = 0;
    const char *body = tc_req_body(req, &len);
    tc_buf_t b = TC_BUF_INIT;
    tc_buf_printf(&b, "%s\n%s\n", tc_req_method(req), tc_req_path(req));
    tc_buf_append(&b, body, len);
    tc_sha256_hex(tc_buf_cstr(&b), b.len, out);
    tc_buf_free(&b);
}

int tc_idem_claim(tc_dbconn_t *tx, const char *scope, const char *key, const char *hash,
                  tc_idem_replay_t *replay)
{
    replay->status = 0;
    replay->body = NULL;
    PGresult *r = NULL;
    int rc = tc_db_qp(tx, &r, "tc_idem_claim",
                      "INSERT INTO idempotency_keys (scope, key, request_hash) VALUES ($1,$2,$3)"
                      " ON CONFLICT DO NOTHING",
                      scope, key, hash);
    if (rc != TC_OK)
        return rc;
    int inserted = strcmp(PQcmdTuples(r), "1") == 0;
    PQclear(r);
    if (inserted)
        return TC_OK;
    rc = tc_db_qp(tx, &r, "tc_idem_get",
                  "SELECT request_hash, status, response FROM idempotency_keys"
                  " WHERE scope=$1 AND key=$2",
                  scope, key);
    if (rc != TC_OK)
        return rc;
    if (PQntuples(r) != 1 || !tc_db_val(r, 0, 1)) {
        /* claimed by a transaction that committed without a response: should not happen */
        PQclear(r);
        return TC_ERROR;
    }
    if (strcmp(tc_db_val(r, 0, 0), hash) != 0) {
        PQclear(r);
        return TC_EINVAL;
    }
    replay->status = (int)tc_db_int(r, 0, 1, 500);
    replay->body = strdup(tc_db_val(r, 0, 2) ? tc_db_val(r, 0, 2) : "");
    PQclear(r);
    return replay->body ? TC_ECONFLICT : TC_ENOMEM;
}

int tc_idem_store(tc_dbconn_t *tx, const char *scope, const char *key, int status, const char *body)
{
    char st[16];
    snprintf(st, sizeof st, "%d", status);
    return tc_db_qp(tx, NULL, "tc_idem_store",
                    "UPDATE idempotency_keys SET status=$3::int, response=$4"
                    " WHERE scope=$1 AND key=$2",
                    scope, key, st, body);
}

void tc_idem_respond(tc_resp_t *resp, tc_idem_replay_t *replay)
{
    tc_resp_header(resp, "Idempotent-Replayed", "true");
    size_t len = strlen(replay->body);
    tc_resp_raw(resp, replay->status, NULL, replay->body, len);
    replay->body = NULL;
}

int tc_idem_expire(tc_db_t *db, int max_age_s)
{
    tc_dbconn_t *c = tc_db_acquire(db);
    if (!c)
        return TC_EUNAVAIL;
    char age[16];
    snprintf(age, sizeof age, "%d", max_age_s);
    int rc = tc_db_q(
        c, NULL,
        "DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(secs => $1::int)",
        age);
    tc_db_release(db, c);
    return rc;
}

int tc_idem_begin(tc_idem_t *idem, tc_req_t *req, tc_resp_t *resp, tc_dbconn_t *tx,
                  const char *scope)
{
    idem->key = NULL;
    idem->scope = scope;
    const char *key = NULL;
    int rc = tc_idem_key(req, &key);
    if (rc == TC_ENOTFOUND)
        return TC_OK;
    if (rc != TC_OK) {
        tc_resp_error(resp, 400, "invalid_idempotency_key",
                      "Idempotency-Key must be 1 to 255 printable characters");
        return TC_EINVAL;
    }
    char hash[TC_SHA256_HEX_LEN];
    tc_idem_replay_t replay;
    tc_idem_hash(req, hash);
    rc = tc_idem_claim(tx, scope, key, hash, &replay);
    if (rc == TC_ECONFLICT) {
        tc_idem_respond(resp, &replay);
        return TC_ECONFLICT;
    }
    if (rc == TC_EINVAL) {
        tc_resp_error(resp, 422, "idempotency_key_reused",
                      "This Idempotency-Key was used for a different request");
        return TC_EINVAL;
    }
    if (rc != TC_OK) {
        tc_resp_fail(resp, rc);
        return rc;
    }
    idem->key = key;
    return TC_OK;
}
