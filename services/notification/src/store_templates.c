/* Per-org templates. */
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TPL_COLS                                                                                   \
    "id, kind, locale, subject, body_text, body_html, version, " TC_DB_TS(                         \
        "created_at") ", " TC_DB_TS("updated_at")

void template_row_clear(template_row_t *t)
{
    free(t->subject);
    free(t->text);
    free(t->html);
    memset(t, 0, sizeof *t);
}

static cJSON *template_json(const PGresult *r, int i)
{
    cJSON *o = cJSON_CreateObject();
    if (!o || !tc_db_json_str(o, "id", r, i, 0) || !tc_db_json_str(o, "kind", r, i, 1) ||
        !tc_db_json_str(o, "locale", r, i, 2) || !tc_db_json_str(o, "subject", r, i, 3) ||
        !tc_db_json_str(o, "text", r, i, 4) || !tc_db_json_str(o, "html", r, i, 5) ||
        !tc_db_json_int(o, "version", r, i, 6) || !tc_db_json_str(o, "created_at", r, i, 7) ||
        !tc_db_json_str(o, "updated_at", r, i, 8)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static int one(int rc, PGresult *r, cJSON **json)
{
    if (rc == TC_OK && PQntuples(r) != 1)
        rc = TC_ENOTFOUND;
    if (rc == TC_OK && !(*json = template_json(r, 0)))
        rc = TC_ENOMEM;
    PQclear(r);
    return rc;
}

int store_template_find(tc_dbconn_t *c, const char *org_id, const char *kind,
                        char chain[][NOTIFY_LOCALE_MAX], int n, template_row_t *out)
{
    memset(out, 0, sizeof *out);
    /* the chain as a text[] literal: locales are validated tags (letters, digits, '-') */
    char arr[NOTIFY_CHAIN_MAX * (NOTIFY_LOCALE_MAX + 1) + 3] = "{";
    for (int i = 0; i < n; i++) {
        if (i)
            strcat(arr, ",");
        strcat(arr, chain[i]);
    }
    strcat(arr, "}");
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "tpl_find",
                      "SELECT id, kind, locale, subject, body_text, body_html FROM templates"
                      " WHERE org_id=$1 AND kind=$2 AND locale = ANY($3::text[])"
                      " ORDER BY array_position($3::text[], locale) LIMIT 1",
                      org_id, kind, arr);
    if (rc == TC_OK && PQntuples(r) != 1)
        rc = TC_ENOTFOUND;
    if (rc == TC_OK) {
        snprintf(out->id, sizeof out->id, "%s", tc_db_val(r, 0, 0));
        snprintf(out->kind, sizeof out->kind, "%s", tc_db_val(r, 0, 1));
        snprintf(out->locale, sizeof out->locale, "%s", tc_db_val(r, 0, 2));
        out->subject = strdup(tc_db_val(r, 0, 3));
        out->text = strdup(tc_db_val(r, 0, 4));
        out->html = strdup(tc_db_val(r, 0, 5));
        if (!out->subject || !out->text || !out->html) {
            template_row_clear(out);
            rc = TC_ENOMEM;
        }
    }
    PQclear(r);
    return rc;
}

int store_template_insert(tc_dbconn_t *c, const char *org_id, const template_row_t *t, cJSON **json)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "tpl_insert",
                      "INSERT INTO templates (id, org_id, kind, locale, subject, body_text,"
                      " body_html) VALUES ($1,$2,$3,$4,$5,$6,$7) RETURNING " TPL_COLS,
                      t->id, org_id, t->kind, t->locale, t->subject, t->text, t->html);
    return one(rc, r, json);
}

int store_template_get(tc_dbconn_t *c, const char *org_id, const char *id, cJSON **json)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "tpl_get",
                      "SELECT " TPL_COLS " FROM templates WHERE org_id=$1 AND id=$2", org_id, id);
    return one(rc, r, json);
}

int store_template_update(tc_dbconn_t *c, const char *org_id, const char *id,
                          const template_row_t *t, cJSON **json)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "tpl_update",
                      "UPDATE templates SET subject=$3, body_text=$4, body_html=$5,"
                      " version = version + 1, updated_at = now()"
                      " WHERE org_id=$1 AND id=$2 RETURNING " TPL_COLS,
                      org_id, id, t->subject, t->text, t->html);
    return one(rc, r, json);
}

int store_template_delete(tc_dbconn_t *c, const char *org_id, const char *id)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "tpl_delete",
                      "DELETE FROM templates WHERE org_id=$1 AND id=$2 RETURNING id", org_id, id);
    if (rc == TC_OK && PQntuples(r) != 1)
        rc = TC_ENOTFOUND;
    PQclear(r);
    return rc;
}

int store_template_list(tc_dbconn_t *c, const char *org_id, const char *kind, const tc_page_t *page,
                        cJSON **data, char *next_key, size_t keylen)
{
    PGresult *r = NULL;
    char lim[16];
    snprintf(lim, sizeof lim, "%d", page->limit + 1);
    *data = NULL;
    next_key[0] = '\0';
    int rc = tc_db_qp(c, &r, "tpl_list",
                      "SELECT " TPL_COLS " FROM templates WHERE org_id=$1"
                      " AND ($2::text IS NULL OR kind = $2) AND id > $3"
                      " ORDER BY id LIMIT $4::int",
                      org_id, kind, page->after, lim);
    return rc == TC_OK ? tc_db_page(r, page->limit, template_json, data, next_key, keylen) : rc;
}
