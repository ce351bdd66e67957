/* Writing a decided subscription change (subscriptions.h). */
#include "subscriptions.h"
#include "invoicing.h"
#include "store.h"
#include "tc/tc_audit.h"
#include "tc/tc_core.h"
#include "tc/tc_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A move to another price settles the usage so far under the one it happened on (its
 * inclusion whole): pending usage items for the next invoice. */
static int settle_usage(tc_dbconn_t *tx, const bill_sub_t *s, const bill_sub_t *before,
                        int64_t now_ms)
{
    if (strcmp(before->plan_id, s->plan_id) == 0 && before->price_version == s->price_version)
        return TC_OK;
    bill_price_t price;
    bill_line_t *lines = calloc(BILL_MAX_LINES, sizeof *lines);
    char key[96];
    int n = 0;
    snprintf(key, sizeof key, "%s@change:%lld", s->id, (long long)now_ms);
    int rc =
        lines ? store_price_get(tx, before->plan_id, before->price_version, &price) : TC_ENOMEM;
    if (rc == TC_OK)
        rc = usage_settle(tx, before, now_ms, key, lines, &n, BILL_MAX_LINES);
    for (int i = 0; rc == TC_OK && i < n; i++)
        rc = store_usage_item_add(tx, s, before->plan_id, before->price_version, price.currency,
                                  &lines[i]);
    free(lines);
    return rc;
}

int sub_persist(tc_dbconn_t *tx, const tc_principal_t *actor, bill_sub_t *s,
                const bill_sub_t *before, const bill_outcome_t *o, bill_ev_reason_t why)
{
    char item_id[BILL_ID_MAX];
    int rc = settle_usage(tx, s, before, tc_now_ms());
    if (rc == TC_OK)
        rc = store_sub_save(tx, s);
    if (rc == TC_OK && o->reanchor_now)
        rc = store_sub_reanchor(tx, s, tc_now_ms());
    for (int i = 0; rc == TC_OK && i < o->nitems; i++)
        rc = store_item_add(tx, s, &o->items[i], item_id, sizeof item_id);
    bool plan_moved = strcmp(o->previous_plan, s->plan_id) != 0;
    if (rc == TC_OK)
        rc = events_subscription(tx, s, why, plan_moved ? o->previous_plan : NULL);
    cJSON *was = rc == TC_OK ? bill_sub_json(before) : NULL, *is = was ? bill_sub_json(s) : NULL;
    if (rc == TC_OK)
        rc = is ? tc_audit_record(tx, actor, s->org_id, "billing.subscription.change",
                                  "subscription", s->id, was, is)
                : TC_ENOMEM;
    cJSON_Delete(was);
    cJSON_Delete(is);
    return rc;
}
