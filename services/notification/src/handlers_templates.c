/* /v1/notifications/templates: the org's templates (CRUD) and previews. */
#include "handlers.h"
#include "store.h"
#include "template_model.h"
#include "tc/tc_audit.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_page.h"
#include "tc/tc_tx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void h_templates_list(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    notification_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    tc_page_t page;
    if (tc_page_parse(req, resp, &page) != TC_OK)
        return;
    const char *kind = tc_req_query(req, "kind");
    if (kind && !notify_kind_valid(kind)) {
        tc_resp_error(resp, 400, "bad_request", "kind must match ^[a-z][a-z0-9_]*$");
        return;
    }
    tc_dbconn_t *c = tc_tx_conn(app->db, resp);
    if (!c)
        return;
    cJSON *data = NULL;
    char next[TC_ID_MAX];
    int rc = store_template_list(c, p->org, kind, &page, &data, next, sizeof next);
    tc_db_release(app->db, c);
    tc_page_respond(resp, rc, data, next);
}

static void row_from(template_row_t *t, const cJSON *body)
{
    t->subject = (char *)tc_json_get_str(body, "subject");
    t->text = (char *)tc_json_get_str(body, "text");
    t->html = (char *)tc_json_get_str(body, "html");
}

void h_templates_create(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    notification_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    cJSON *body = tc_req_json(req);
    tc_jv_t jv;
    tc_jv_init(&jv);
    notify_template_validate(&jv, body, true);
    if (tc_jv_failed(&jv)) {
        tc_resp_invalid(resp, &jv);
        return;
    }
    tc_jv_free(&jv);
    template_row_t t = {0};
    row_from(&t, body);
    snprintf(t.kind, sizeof t.kind, "%s", tc_json_get_str(body, "kind"));
    notify_locale_normalize(tc_json_get_str(body, "locale"), t.locale);
    if (tc_id_new("tpl", t.id, sizeof t.id) != TC_OK) {
        tc_resp_fail(resp, TC_ERROR);
        return;
    }
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        return;
    tc_idem_t idem;
    if (tc_idem_begin(&idem, req, resp, tx, p->org) != TC_OK) {
        tc_tx_abort(app->db, tx);
        return;
    }
    cJSON *json = NULL;
    int rc = store_template_insert(tx, p->org, &t, &json);
    if (rc == TC_OK)
        rc = tc_audit_record(tx, p, p->org, "notification.template_create", "template", t.id, NULL,
                             json);
    if (rc != TC_OK) {
        cJSON_Delete(json);
        tc_tx_abort(app->db, tx);
        if (rc == TC_ECONFLICT)
            tc_resp_error(resp, 409, "template_exists",
                          "The organization already has a template for this kind and locale");
        else
            tc_resp_fail(resp, rc);
        return;
    }
    char location[96];
    snprintf(location, sizeof location, "/v1/notifications/templates/%s", t.id);
    tc_tx_respond(app->db, tx, &idem, resp, 201, json, location);
}

void h_templates_get(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    notification_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    const char *id = tc_req_param_id(req, resp, "id", "tpl", "Template");
    if (!id)
        return;
    tc_dbconn_t *c = tc_tx_conn(app->db, resp);
    if (!c)
        return;
    cJSON *json = NULL;
    int rc = store_template_get(c, p->org, id, &json);
    tc_db_release(app->db, c);
    if (rc != TC_OK)
        tc_resp_fail_for(resp, rc, "Template");
    else
        tc_resp_json(resp, 200, json);
}

void h_templates_put(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    notification_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    const char *id = tc_req_param_id(req, resp, "id", "tpl", "Template");
    if (!id)
        return;
    cJSON *body = tc_req_json(req);
    tc_jv_t jv;
    tc_jv_init(&jv);
    notify_template_validate(&jv, body, false);
    if (tc_jv_failed(&jv)) {
        tc_resp_invalid(resp, &jv);
        return;
    }
    tc_jv_free(&jv);
    template_row_t t = {0};
    row_from(&t, body);
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        return;
    cJSON *before = NULL, *json = NULL;
    int rc = store_template_get(tx, p->org, id, &before);
    if (rc == TC_OK)
        rc = store_template_update(tx, p->org, id, &t, &json);
    if (rc == TC_OK)
        rc = tc_audit_record(tx, p, p->org, "notification.template_update", "template", id, before,
                             json);
    cJSON_Delete(before);
    if (rc != TC_OK) {
        cJSON_Delete(json);
        tc_tx_abort(app->db, tx);
        tc_resp_fail_for(resp, rc, "Template");
        return;
    }
    tc_tx_respond(app->db, tx, NULL, resp, 200, json, NULL);
}

void h_templates_delete(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    notification_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    const char *id = tc_req_param_id(req, resp, "id", "tpl", "Template");
    if (!id)
        return;
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        return;
    cJSON *before = NULL;
    int rc = store_template_get(tx, p->org, id, &before);
    if (rc == TC_OK)
        rc = store_template_delete(tx, p->org, id);
    if (rc == TC_OK)
        rc = tc_audit_record(tx, p, p->org, "notification.template_delete", "template", id, before,
                             NULL);
    cJSON_Delete(before);
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        tc_resp_fail_for(resp, rc, "Template");
        return;
    }
    if (tc_tx_commit(app->db, tx, resp) == TC_OK)
        tc_resp_empty(resp, 204);
}

/* What a preview renders: the template given in the body, else the org's along the locale
 * chain, else the built-in default. */
static int preview_source(notification_app_t *app, const tc_principal_t *p, const cJSON *body,
                          const char *kind, const char *locale, template_row_t *row,
                          notify_template_t *t, const char **source)
{
    if (tc_json_get_str(body, "subject")) {
        *t = (notify_template_t){kind, locale, tc_json_get_str(body, "subject"),
                                 tc_json_get_str(body, "text"), tc_json_get_str(body, "html")};
        *source = "request";
        return TC_OK;
    }
    char chain[NOTIFY_CHAIN_MAX][NOTIFY_LOCALE_MAX];
    int n = notify_locale_chain(locale, chain);
    tc_dbconn_t *c = tc_db_acquire(app->db);
    if (!c)
        return TC_EUNAVAIL;
    int rc = store_template_find(c, p->org, kind, chain, n, row);
    tc_db_release(app->db, c);
    if (rc == TC_OK) {
        *t = (notify_template_t){row->kind, row->locale, row->subject, row->text, row->html};
        *source = "org";
        return TC_OK;
    }
    if (rc != TC_ENOTFOUND)
        return rc;
    const notify_template_t *b = notify_builtin_for(kind, locale);
    if (!b)
        return TC_ENOTFOUND;
    *t = *b;
    *source = "default";
    return TC_OK;
}

void h_templates_preview(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    static const char *const allowed[] = {"kind", "locale", "subject", "text",
                                          "html", "params", NULL};
    notification_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    cJSON *body = tc_req_json(req);
    tc_jv_t jv;
    tc_jv_init(&jv);
    tc_jv_no_unknown(&jv, body, allowed);
    const char *kind = tc_jv_str(&jv, body, "kind", TC_JV_REQUIRED, 1, NOTIFY_KIND_MAX - 1);
    if (kind && !notify_kind_valid(kind))
        tc_jv_error(&jv, "kind", "must match ^[a-z][a-z0-9_]*$");
    const char *locale = tc_jv_str(&jv, body, "locale", TC_JV_OPTIONAL, 2, 35);
    char norm[NOTIFY_LOCALE_MAX] = NOTIFY_DEFAULT_LOCALE;
    if (locale && notify_locale_normalize(locale, norm) != TC_OK)
        tc_jv_error(&jv, "locale", "must be a BCP 47 language tag such as fr-CA");
    const cJSON *params = tc_jv_obj(&jv, body, "params", TC_JV_OPTIONAL);
    if (tc_jv_has(body, "subject") || tc_jv_has(body, "text") || tc_jv_has(body, "html")) {
        cJSON *parts = cJSON_CreateObject();
        static const char *const names[] = {"subject", "text", "html"};
        for (int i = 0; parts && i < 3; i++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, names[i]);
            if (v)
                cJSON_AddItemReferenceToObject(parts, names[i], (cJSON *)v);
        }
        if (parts)
            notify_template_validate(&jv, parts, false);
        cJSON_Delete(parts);
    }
    if (tc_jv_failed(&jv)) {
        tc_resp_invalid(resp, &jv);
        return;
    }
    tc_jv_free(&jv);

    template_row_t row = {0};
    notify_template_t t;
    const char *source = NULL;
    cJSON *ctx = NULL, *sample = NULL, *out = NULL;
    notify_rendered_t r = {0};
    int rc = preview_source(app, p, body, kind, norm, &row, &t, &source);
    if (rc != TC_OK) {
        tc_resp_fail_for(resp, rc, "Template");
        goto cleanup;
    }
    sample = notify_sample_params(kind);
    for (const cJSON *it = params ? params->child : NULL; sample && it; it = it->next) {
        cJSON *copy = cJSON_Duplicate(it, 1);
        cJSON_DeleteItemFromObjectCaseSensitive(sample, it->string);
        if (!copy || !cJSON_AddItemToObject(sample, it->string, copy)) {
            cJSON_Delete(copy);
            cJSON_Delete(sample);
            sample = NULL;
        }
    }
    ctx = sample ? notify_context(sample, "Ada Lovelace", "ada@example.com") : NULL;
    const char *why = NULL;
    rc = ctx ? notify_render(&t, ctx, &r, &why) : TC_ENOMEM;
    if (rc == TC_EINVAL) {
        tc_resp_error(resp, 422, "template_render_failed", "The template does not render: %s", why);
        goto cleanup;
    }
    if (rc != TC_OK) {
        tc_resp_fail(resp, rc);
        goto cleanup;
    }
    out = cJSON_CreateObject();
    if (out && (!cJSON_AddStringToObject(out, "kind", kind) ||
                !cJSON_AddStringToObject(out, "locale", t.locale) ||
                !cJSON_AddStringToObject(out, "source", source) ||
                !cJSON_AddStringToObject(out, "subject", r.subject) ||
                !cJSON_AddStringToObject(out, "text", r.text) ||
                !cJSON_AddStringToObject(out, "html", r.html))) {
        cJSON_Delete(out);
        out = NULL;
    }
    tc_resp_json(resp, 200, out);
cleanup:
    notify_rendered_clear(&r);
    cJSON_Delete(ctx);
    cJSON_Delete(sample);
    template_row_clear(&row);
}
