/*
 * Users table access. Email, name and profile are stored sealed with the org's data key,
 * bound to the row ("users.<column>|<user id>") so a ciphertext cannot be moved between
 * rows; email_hash and search_tokens are keyed hashes that let SQL answer uniqueness, exact
 * and prefix lookups without seeing the plaintext.
 */
#include "store.h"
#include "tc/tc_buf.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define USER_COLS                                                                                  \
    "id, org_id, email_enc, name_enc, profile_enc, role, status, coalesce(invited_by, ''),"        \
    " version, " TC_DB_TS("created_at") ", " TC_DB_TS("updated_at") ", " TC_DB_TS("deleted_at")
/* distinct search keys of one user: at most one per code point of the name's parts (200),
 * one per code point of its blank-separated words (200) and 32 for the email */
#define MAX_TOKENS 512

int store_prepare_keys(user_app_t *app, const char *org_id)
{
    uint8_t dek[TC_AEAD_KEY_LEN];
    return tc_keyring_dek(app->keys, org_id, 1, dek);
}

/* ------------------------------------------------------------------ (de)sealing */

static void context(char *out, size_t n, const char *column, const char *user_id)
{
    snprintf(out, n, "users.%s|%s", column, user_id);
}

static int open_field(user_app_t *app, const char *org, const char *user_id, const char *column,
                      const char *sealed, char **out)
{
    char ctx[128];
    context(ctx, sizeof ctx, column, user_id);
    int rc = tc_keyring_open(app->keys, org, ctx, sealed, out);
    if (rc == TC_EINVAL)
        tc_log_kv(TC_LOG_ERROR, "stored field does not decrypt", "user_id", user_id, "column",
                  column, NULL);
    return rc == TC_EINVAL ? TC_ERROR : rc;
}

static int seal_field(user_app_t *app, const user_t *u, const char *column, const char *plain,
                      char **out)
{
    char ctx[128];
    context(ctx, sizeof ctx, column, u->id);
    return tc_keyring_seal(app->keys, u->org_id, ctx, plain, out);
}

static int row_to_user(user_app_t *app, const PGresult *r, int row, user_t *u)
{
    memset(u, 0, sizeof *u);
    snprintf(u->id, sizeof u->id, "%s", tc_db_val(r, row, 0));
    snprintf(u->org_id, sizeof u->org_id, "%s", tc_db_val(r, row, 1));
    snprintf(u->role, sizeof u->role, "%s", tc_db_val(r, row, 5));
    snprintf(u->status, sizeof u->status, "%s", tc_db_val(r, row, 6));
    snprintf(u->invited_by, sizeof u->invited_by, "%s", tc_db_val(r, row, 7));
    u->version = tc_db_int(r, row, 8, 0);
    snprintf(u->created_at, sizeof u->created_at, "%s", tc_db_val(r, row, 9));
    snprintf(u->updated_at, sizeof u->updated_at, "%s", tc_db_val(r, row, 10));
    const char *deleted = tc_db_val(r, row, 11);
    snprintf(u->deleted_at, sizeof u->deleted_at, "%s", deleted ? deleted : "");
    char *profile = NULL;
    int rc = open_field(app, u->org_id, u->id, "email", tc_db_val(r, row, 2), &u->email);
    if (rc == TC_OK)
        rc = open_field(app, u->org_id, u->id, "name", tc_db_val(r, row, 3), &u->name);
    if (rc == TC_OK && tc_db_val(r, row, 4))
        rc = open_field(app, u->org_id, u->id, "profile", tc_db_val(r, row, 4), &profile);
    if (rc == TC_OK) {
        u->profile = profile ? cJSON_Parse(profile) : cJSON_CreateObject();
        if (!u->profile)
            rc = TC_ERROR;
    }
    free(profile);
    if (rc != TC_OK)
        user_clear(u);
    return rc;
}

/* ------------------------------------------------------------------ keyed hashes */

static int email_hash(user_app_t *app, const char *email, char out[24])
{
    return tc_email_index(app->email_index_key, email, out);
}

typedef struct {
    user_app_t *app;
    const char *org;
    char tokens[MAX_TOKENS][24];
    int n;
    int rc;
} token_set_t;

static int add_token(const char *prefix, size_t n, void *ud)
{
    token_set_t *ts = ud;
    char tok[24];
    int rc = tc_keyring_blind(ts->app->keys, ts->org, "search", prefix, n, tok);
    if (rc != TC_OK)
        return rc;
    for (int i = 0; i < ts->n; i++)
        if (strcmp(ts->tokens[i], tok) == 0)
            return TC_OK;
    if (ts->n < MAX_TOKENS)
        memcpy(ts->tokens[ts->n++], tok, sizeof tok);
    return TC_OK;
}

static void tokens_literal(const token_set_t *ts, tc_buf_t *out)
{
    tc_buf_putc(out, '{');
    for (int i = 0; i < ts->n; i++)
        tc_buf_printf(out, "%s\"%s\"", i ? "," : "", ts->tokens[i]);
    tc_buf_putc(out, '}');
}

static int search_tokens(user_app_t *app, const user_t *u, tc_buf_t *out)
{
    token_set_t *ts = calloc(1, sizeof *ts);
    if (!ts)
        return TC_ENOMEM;
    ts->app = app;
    ts->org = u->org_id;
    int rc = user_search_prefixes(u->name, u->email, add_token, ts);
    if (rc == TC_OK)
        tokens_literal(ts, out);
    free(ts);
    return rc == TC_OK && out->oom ? TC_ENOMEM : rc;
}

/* Query tokens: one per word of the query; a row must carry all of them. */
static int query_tokens(user_app_t *app, const char *org, const char *q, tc_buf_t *out)
{
    char *norm = user_search_normalize(q);
    token_set_t *ts = calloc(1, sizeof *ts);
    int rc = (norm && ts) ? TC_OK : TC_ENOMEM;
    if (rc == TC_OK) {
        ts->app = app;
        ts->org = org;
        for (char *p = norm; *p && rc == TC_OK;) {
            while (*p == ' ' || *p == '\t')
                p++;
            size_t len = 0, cps = 0, cut = 0;
            while (p[len] && p[len] != ' ' && p[len] != '\t') {
                if (((unsigned char)p[len] & 0xc0) != 0x80 && ++cps <= USER_SEARCH_PREFIX_MAX)
                    cut = len;
                len++;
            }
            /* words longer than the indexed prefixes are matched on their indexed part */
            size_t use = cps > USER_SEARCH_PREFIX_MAX ? cut : len;
            if (use)
                rc = add_token(p, use, ts);
            p += len;
        }
        if (rc == TC_OK)
            tokens_literal(ts, out);
    }
    free(norm);
    free(ts);
    return rc;
}

/* ------------------------------------------------------------------ reads */

int store_user_get(user_app_t *app, tc_dbconn_t *c, const char *org_id, const char *id,
                   int for_update, user_t *out)
{
    PGresult *r = NULL;
    int rc;
    if (org_id && for_update)
        rc = tc_db_qp(c, &r, "user_get_org_lock",
                      "SELECT " USER_COLS " FROM users WHERE id=$1 AND org_id=$2 FOR UPDATE", id,
                      org_id);
    else if (org_id)
        rc = tc_db_qp(c, &r, "user_get_org",
                      "SELECT " USER_COLS " FROM users WHERE id=$1 AND org_id=$2", id, org_id);
    else if (for_update)
        rc = tc_db_qp(c, &r, "user_get_any_lock",
                      "SELECT " USER_COLS " FROM users WHERE id=$1 FOR UPDATE", id);
    else
        rc = tc_db_qp(c, &r, "user_get_any", "SELECT " USER_COLS " FROM users WHERE id=$1", id);
    if (rc == TC_OK)
        rc = PQntuples(r) == 1 ? row_to_user(app, r, 0, out) : TC_ENOTFOUND;
    PQclear(r);
    return rc;
}

int store_user_get_async(user_app_t *app, const char *org_id, const char *id, tc_dbpipe_fn fn,
                         void *ud)
{
    return tc_dbpipe_submit(app->reads, "user_get_org",
                            "SELECT " USER_COLS " FROM users WHERE id=$1 AND org_id=$2", 2,
                            TC_DB_PARAMS(id, org_id), fn, ud);
}

int store_user_from_result(user_app_t *app, const PGresult *r, user_t *out)
{
    return PQntuples(r) == 1 ? row_to_user(app, r, 0, out) : TC_ENOTFOUND;
}

void store_users_free(user_t *users, int n)
{
    for (int i = 0; i < n; i++)
        user_clear(&users[i]);
    free(users);
}

int store_user_list(user_app_t *app, tc_dbconn_t *c, const char *org_id, const user_filter_t *f,
                    const tc_page_t *page, user_t **users, int *n, char *next_key, size_t keylen)
{
    char hash[24], limit[16];
    tc_buf_t tokens = TC_BUF_INIT;
    PGresult *r = NULL;
    int rc = TC_OK;
    *users = NULL;
    *n = 0;
    next_key[0] = '\0';
    if (f->email)
        rc = email_hash(app, f->email, hash);
    if (rc == TC_OK && f->q)
        rc = query_tokens(app, org_id, f->q, &tokens);
    if (rc != TC_OK)
        goto cleanup;
    snprintf(limit, sizeof limit, "%d", page->limit + 1); /* one more tells if a page follows */
    rc = tc_db_qp(c, &r, "user_list",
                  "SELECT " USER_COLS " FROM users WHERE org_id=$1"
                  " AND ($2::text IS NULL OR role=$2)"
                  " AND (CASE WHEN $3::text IS NULL THEN status <> 'deleted' ELSE status=$3 END)"
                  " AND ($4::text IS NULL OR email_hash=$4)"
                  " AND ($5::text[] IS NULL OR search_tokens @> $5::text[])"
                  " AND ($6::text IS NULL OR id > $6)"
                  " ORDER BY id LIMIT $7::int",
                  org_id, f->role, f->status, f->email ? hash : NULL,
                  f->q ? tc_buf_cstr(&tokens) : NULL, page->after[0] ? page->after : NULL, limit);
    if (rc != TC_OK)
        goto cleanup;
    int rows = PQntuples(r), take = rows > page->limit ? page->limit : rows;
    if (take && !(*users = calloc((size_t)take, sizeof **users))) {
        rc = TC_ENOMEM;
        goto cleanup;
    }
    for (int i = 0; i < take && rc == TC_OK; i++) {
        rc = row_to_user(app, r, i, &(*users)[i]);
        if (rc == TC_OK)
            (*n)++;
    }
    if (rc == TC_OK && rows > page->limit)
        snprintf(next_key, keylen, "%s", (*users)[take - 1].id);
cleanup:
    if (rc != TC_OK) {
        store_users_free(*users, *n);
        *users = NULL;
        *n = 0;
    }
    PQclear(r);
    tc_buf_free(&tokens);
    return rc;
}

int store_owner_count(tc_dbconn_t *c, const char *org_id, const char *except_id, int64_t *n)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "user_owner_count",
                      "SELECT count(*) FROM users WHERE org_id=$1 AND role='owner'"
                      " AND status='active' AND id <> $2",
                      org_id, except_id);
    if (rc == TC_OK)
        *n = tc_db_int(r, 0, 0, 0);
    PQclear(r);
    return rc;
}

int store_user_standing(tc_dbconn_t *c, const char *org_id, const char *id, char *role,
                        size_t rolelen, char *status, size_t statuslen)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "user_standing",
                      "SELECT role, status FROM users WHERE id=$1 AND org_id=$2", id, org_id);
    if (rc == TC_OK && PQntuples(r) != 1)
        rc = TC_ENOTFOUND;
    if (rc == TC_OK) {
        snprintf(role, rolelen, "%s", tc_db_val(r, 0, 0));
        snprintf(status, statuslen, "%s", tc_db_val(r, 0, 1));
    }
    PQclear(r);
    return rc;
}

/* ------------------------------------------------------------------ writes */

typedef struct {
    char *email, *name, *profile_text, *profile;
    char hash[24];
    tc_buf_t tokens;
} sealed_t;

static void sealed_free(sealed_t *s)
{
    free(s->email);
    free(s->name);
    free(s->profile_text);
    free(s->profile);
    tc_buf_free(&s->tokens);
}

static int seal_user(user_app_t *app, const user_t *u, sealed_t *s)
{
    memset(s, 0, sizeof *s);
    int rc = seal_field(app, u, "email", u->email, &s->email);
    if (rc == TC_OK)
        rc = seal_field(app, u, "name", u->name, &s->name);
    if (rc == TC_OK && u->profile && cJSON_GetArraySize(u->profile) > 0) {
        s->profile_text = cJSON_PrintUnformatted(u->profile);
        rc = s->profile_text ? seal_field(app, u, "profile", s->profile_text, &s->profile)
                             : TC_ENOMEM;
    }
    if (rc == TC_OK)
        rc = email_hash(app, u->email, s->hash);
    if (rc == TC_OK)
        rc = search_tokens(app, u, &s->tokens);
    return rc;
}

int store_user_insert(user_app_t *app, tc_dbconn_t *c, user_t *u)
{
    sealed_t s;
    PGresult *r = NULL;
    int rc = seal_user(app, u, &s);
    if (rc == TC_OK)
        rc = tc_db_qp(c, &r, "user_insert",
                      "INSERT INTO users (id, org_id, email_enc, email_hash, name_enc, profile_enc,"
                      " search_tokens, role, status, invited_by)"
                      " VALUES ($1,$2,$3,$4,$5,$6,$7::text[],$8,$9,nullif($10,''))"
                      " RETURNING version, " TC_DB_TS("created_at") ", " TC_DB_TS("updated_at"),
                      u->id, u->org_id, s.email, s.hash, s.name, s.profile, tc_buf_cstr(&s.tokens),
                      u->role, u->status, u->invited_by);
    if (rc == TC_OK) {
        u->version = tc_db_int(r, 0, 0, 1);
        snprintf(u->created_at, sizeof u->created_at, "%s", tc_db_val(r, 0, 1));
        snprintf(u->updated_at, sizeof u->updated_at, "%s", tc_db_val(r, 0, 2));
    }
    PQclear(r);
    sealed_free(&s);
    return rc;
}

int store_user_save(user_app_t *app, tc_dbconn_t *c, user_t *u)
{
    sealed_t s;
    PGresult *r = NULL;
    int rc = seal_user(app, u, &s);
    if (rc == TC_OK)
        rc = tc_db_qp(c, &r, "user_save",
                      "UPDATE users SET name_enc=$2, profile_enc=$3, search_tokens=$4::text[],"
                      " role=$5, status=$6,"
                      " deleted_at = CASE WHEN $6='deleted' THEN coalesce(deleted_at, now()) END,"
                      " version = version + 1, updated_at = now()"
                      " WHERE id=$1"
                      " RETURNING version, " TC_DB_TS("updated_at") ", " TC_DB_TS("deleted_at"),
                      u->id, s.name, s.profile, tc_buf_cstr(&s.tokens), u->role, u->status);
    if (rc == TC_OK && PQntuples(r) != 1)
        rc = TC_ENOTFOUND;
    if (rc == TC_OK) {
        u->version = tc_db_int(r, 0, 0, u->version + 1);
        snprintf(u->updated_at, sizeof u->updated_at, "%s", tc_db_val(r, 0, 1));
        const char *deleted = tc_db_val(r, 0, 2);
        snprintf(u->deleted_at, sizeof u->deleted_at, "%s", deleted ? deleted : "");
    }
    PQclear(r);
    sealed_free(&s);
    return rc;
}

int store_prefs_get(tc_dbconn_t *c, const char *org_id, const char *id, char **json)
{
    PGresult *r = NULL;
    *json = NULL;
    int rc = tc_db_qp(c, &r, "prefs_get",
                      "SELECT preferences::text FROM users WHERE id=$1 AND org_id=$2", id, org_id);
    if (rc == TC_OK && PQntuples(r) != 1)
        rc = TC_ENOTFOUND;
    if (rc == TC_OK && !(*json = strdup(tc_db_val(r, 0, 0))))
        rc = TC_ENOMEM;
    PQclear(r);
    return rc;
}

/* Preferences equal to the stored ones (jsonb equality) change nothing: no new version, so
 * a PUT sent twice (a client's or the gateway's retry after a cut connection) is applied
 * once. *version is 0 then; the caller holds the row locked, so no row means no change. */
int store_prefs_put(tc_dbconn_t *c, const char *id, const char *json, int64_t *version)
{
    PGresult *r = NULL;
    *version = 0;
    int rc = tc_db_qp(c, &r, "prefs_put",
                      "UPDATE users SET preferences=$2::jsonb, version = version + 1,"
                      " updated_at = now() WHERE id=$1 AND preferences IS DISTINCT FROM $2::jsonb"
                      " RETURNING version",
                      id, json);
    if (rc == TC_OK && PQntuples(r) == 1)
        *version = tc_db_int(r, 0, 0, 0);
    PQclear(r);
    return rc;
}

int store_user_purge(tc_dbconn_t *c, int64_t retention_s, int batch, PGresult **res)
{
    char secs[32], lim[16];
    snprintf(secs, sizeof secs, "%lld", (long long)retention_s);
    snprintf(lim, sizeof lim, "%d", batch);
    return tc_db_qp(c, res, "user_purge",
                    "DELETE FROM users WHERE id IN (SELECT id FROM users WHERE status='deleted'"
                    " AND deleted_at < now() - make_interval(secs => $1::double precision)"
                    " ORDER BY deleted_at LIMIT $2::int FOR UPDATE SKIP LOCKED)"
                    " RETURNING id, org_id",
                    secs, lim);
}

int store_user_scim_list(user_app_t *app, tc_dbconn_t *c, const char *org_id,
                         const store_scim_query_t *q, user_t **users, int *n, long *total)
{
    char hash[24], offset[16], limit[16];
    PGresult *r = NULL;
    *users = NULL;
    *n = 0;
    *total = 0;
    int rc = q->email ? email_hash(app, q->email, hash) : TC_OK;
    snprintf(offset, sizeof offset, "%d", q->offset);
    snprintf(limit, sizeof limit, "%d", q->limit);
#define SCIM_WHERE                                                                                 \
    " WHERE org_id=$1 AND status <> 'deleted' AND ($2::text IS NULL OR email_hash=$2)"             \
    " AND ($3::text IS NULL OR id IN (SELECT user_id FROM scim_users WHERE org_id=$1"              \
    " AND external_id=$3)) AND ($4::text IS NULL OR id=$4) AND ($5::text IS NULL OR role=$5)"
    if (rc == TC_OK)
        rc = tc_db_qp(c, &r, "user_scim_count", "SELECT count(*) FROM users" SCIM_WHERE, org_id,
                      q->email ? hash : NULL, q->external_id, q->id, q->role);
    if (rc == TC_OK)
        *total = (long)tc_db_int(r, 0, 0, 0);
    PQclear(r);
    r = NULL;
    if (rc == TC_OK)
        rc =
            tc_db_qp(c, &r, "user_scim_list",
                     "SELECT " USER_COLS " FROM users" SCIM_WHERE
                     " ORDER BY id OFFSET $6::int LIMIT $7::int",
                     org_id, q->email ? hash : NULL, q->external_id, q->id, q->role, offset, limit);
#undef SCIM_WHERE
    int rows = rc == TC_OK ? PQntuples(r) : 0;
    if (rows && !(*users = calloc((size_t)rows, sizeof **users)))
        rc = TC_ENOMEM;
    for (int i = 0; i < rows && rc == TC_OK; i++)
        if ((rc = row_to_user(app, r, i, &(*users)[i])) == TC_OK)
            (*n)++;
    if (rc != TC_OK) {
        store_users_free(*users, *n);
        *users = NULL;
        *n = 0;
    }
    PQclear(r);
    return rc;
}
