/* /v1/notifications: the caller's own in-app inbox (never another user's, never another
 * org's: every query is keyed by the token's org and subject). */
#include "handlers.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_page.h"
#include "tc/tc_tx.h"

#include <string.h>

void respond_count(tc_resp_t *resp, int rc, const char *name, int64_t n)
{
    if (rc != TC_OK) {
        tc_resp_fail(resp, rc);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    if (o && !tc_json_add_int(o, name, n)) {
        cJSON_Delete(o);
        o = NULL;
    }
    tc_resp_json(resp, 200, o);
}

typedef enum { ITEM_READ, ITEM_ARCHIVE, ITEM_UNARCHIVE } item_op_t;

/* One of the caller's items changed, answered as it now is (404 when it is not theirs). */
static void item_op(tc_req_t *req, tc_resp_t *resp, notification_app_t *app, item_op_t op)
{
    const tc_principal_t *p = tc_req_principal(req);
    const char *id = tc_req_param_id(req, resp, "id", "ntf", "Notification");
    if (!id)
        return;
    tc_dbconn_t *c = tc_tx_conn(app->db, resp);
    if (!c)
        return;
    cJSON *item = NULL;
    int rc = op == ITEM_READ
                 ? store_inbox_read(c, p->org, p->sub, id, &item)
                 : store_inbox_archive(c, p->org, p->sub, id, op == ITEM_ARCHIVE, &item);
    tc_db_release(app->db, c);
    if (rc != TC_OK) {
        tc_resp_fail_for(resp, rc, "Notification");
        return;
    }
    tc_resp_json(resp, 200, item);
}

/* An optional true/false query parameter; false (after a 400) when it is something else. */
static bool query_bool(tc_req_t *req, tc_resp_t *resp, const char *name, bool *out)
{
    const char *v = tc_req_query(req, name);
    if (!v || strcmp(v, "false") == 0)
        return true;
    if (strcmp(v, "true") == 0) {
        *out = true;
        return true;
    }
    tc_resp_error(resp, 400, "bad_request", "%s must be true or false", name);
    return false;
}

void h_inbox_list(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    notification_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    tc_page_t page;
    if (tc_page_parse(req, resp, &page) != TC_OK)
        return;
    bool unread = false, archived = false;
    if (!query_bool(req, resp, "unread", &unread) || !query_bool(req, resp, "archived", &archived))
        return;
    tc_dbconn_t *c = tc_tx_conn(app->db, resp);
    if (!c)
        return;
    cJSON *data = NULL;
    char next[TC_ID_MAX];
    int rc = store_inbox_list(c, p->org, p->sub, unread, archived, &page, &data, next, sizeof next);
    tc_db_release(app->db, c);
    tc_page_respond(resp, rc, data, next);
}

void h_inbox_unread(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    notification_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    tc_dbconn_t *c = tc_tx_conn(app->db, resp);
    if (!c)
        return;
    int64_t n = 0;
    int rc = store_inbox_unread(c, p->org, p->sub, &n);
    tc_db_release(app->db, c);
    respond_count(resp, rc, "unread", n);
}

void h_inbox_read(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    item_op(req, resp, ud, ITEM_READ);
}

void h_inbox_read_all(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    notification_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    tc_dbconn_t *c = tc_tx_conn(app->db, resp);
    if (!c)
        return;
    int64_t n = 0;
    int rc = store_inbox_read_all(c, p->org, p->sub, &n);
    tc_db_release(app->db, c);
    respond_count(resp, rc, "updated", n);
}

void h_inbox_archive(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    item_op(req, resp, ud, ITEM_ARCHIVE);
}

void h_inbox_unarchive(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    item_op(req, resp, ud, ITEM_UNARCHIVE);
}
