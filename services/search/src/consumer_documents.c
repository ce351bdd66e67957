/*
 * search-events → the index: the searchable-document contract
 * (proto/events/common/searchable-document.json) that makes any service's records searchable.
 * Upserts and deletes apply in version order per document (newest wins).
 */
#include "search_app.h"
#include "search_model.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_proto.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define DOCUMENTS_BATCH 1000

static int on_upserted(const tc_event_t *ev, const cJSON *data, tc_dbconn_t *tx, void *ud)
{
    TC_UNUSED(ev);
    TC_UNUSED(ud);
    tc_jv_t jv;
    search_doc_t d;
    bool applied = false;
    tc_jv_init(&jv);
    search_doc_from_json(&d, &jv, data);
    int rc = tc_jv_failed(&jv) ? TC_EINVAL : store_doc_upsert(tx, &d, &applied);
    search_doc_clear(&d);
    tc_jv_free(&jv);
    return rc;
}

static int on_deleted(const tc_event_t *ev, const cJSON *data, tc_dbconn_t *tx, void *ud)
{
    TC_UNUSED(ev);
    TC_UNUSED(ud);
    search_doc_ref_t ref;
    tc_jv_t jv;
    bool applied = false;
    tc_jv_init(&jv);
    search_doc_ref_from_json(&ref, &jv, data);
    bool bad = tc_jv_failed(&jv);
    tc_jv_free(&jv);
    if (bad)
        return TC_EINVAL;
    return store_doc_delete(tx, ref.org_id, ref.type, ref.id, ref.version, ref.updated_at,
                            &applied);
}

/* ------------------------------------------------------------------ batches */

/* One event of a batch, parsed: its data owns the strings the change borrows. */
typedef struct {
    cJSON *data;
    search_doc_t doc;     /* an upsert */
    search_doc_ref_t ref; /* a delete */
} batch_item_t;

/* Parses an event of ours into item and its change; TC_ENOTFOUND for any other type, TC_EINVAL
 * for a malformed one (the batch is then redone event by event, and that event dead-lettered). */
static int parse_change(const tc_event_t *ev, int seq, batch_item_t *item, search_change_t *c)
{
    bool upsert = ev->type && strcmp(ev->type, TC_EV_SEARCH_DOCUMENT_UPSERTED->type) == 0;
    bool deleted = ev->type && strcmp(ev->type, TC_EV_SEARCH_DOCUMENT_DELETED->type) == 0;
    if (!upsert && !deleted)
        return TC_ENOTFOUND;
    item->data = ev->data ? cJSON_ParseWithLength(ev->data, ev->data_len) : NULL;
    if (!item->data)
        return TC_EINVAL;
    tc_jv_t jv;
    tc_jv_init(&jv);
    if (upsert) {
        search_doc_from_json(&item->doc, &jv, item->data);
        *c = (search_change_t){.org_id = item->doc.org_id,
                               .type = item->doc.type,
                               .id = item->doc.id,
                               .version = item->doc.version,
                               .seq = seq,
                               .item = item};
    } else {
        search_doc_ref_from_json(&item->ref, &jv, item->data);
        *c = (search_change_t){.org_id = item->ref.org_id,
                               .type = item->ref.type,
                               .id = item->ref.id,
                               .version = item->ref.version,
                               .seq = seq,
                               .deleted = true,
                               .item = item};
    }
    int rc = tc_jv_failed(&jv) ? TC_EINVAL : TC_OK;
    tc_jv_free(&jv);
    return rc;
}

/* The changes c[0..n) of one org as its part of the batch. */
static int add_org(store_batch_t *b, const search_change_t *c, int n)
{
    cJSON *ups = cJSON_CreateArray(), *dels = cJSON_CreateArray();
    int rc = ups && dels ? TC_OK : TC_ENOMEM;
    for (int i = 0; rc == TC_OK && i < n; i++) {
        const batch_item_t *it = c[i].item;
        cJSON *row = c[i].deleted ? store_doc_ref_row(it->ref.type, it->ref.id, it->ref.version,
                                                      it->ref.updated_at)
                                  : store_doc_row(&it->doc);
        if (!row || !cJSON_AddItemToArray(c[i].deleted ? dels : ups, row)) {
            cJSON_Delete(row);
            rc = TC_ENOMEM;
        }
    }
    if (rc == TC_OK)
        rc = store_batch_add(b, c[0].org_id, ups, dels);
    cJSON_Delete(ups);
    cJSON_Delete(dels);
    return rc;
}

/* The other share of a batch's orgs, written on a connection of its own in a thread of its
 * own while the consumer's transaction writes the first. */
typedef struct {
    search_app_t *app;
    store_batch_t *b;
    int rc;
} share_t;

static void *share_run(void *arg)
{
    share_t *sh = arg;
    tc_dbconn_t *c = NULL;
    sh->rc = tc_db_start(sh->app->db, &c);
    if (sh->rc == TC_OK)
        sh->rc = tc_db_end(sh->app->db, c, store_batch_run(c, sh->b, NULL));
    return NULL;
}

/* Writes the shares: the first on tx, the second (when it has orgs) at the same time on
 * another connection, committed there. Orgs never span shares, so the two transactions touch
 * disjoint rows (documents, postings and vocabulary are all the org's) and cannot deadlock.
 * When one fails the batch fails and is redone event by event: what the other share committed
 * is then a no-op (its versions are stored), as a redelivery is. */
static int write_shares(search_app_t *app, tc_dbconn_t *tx, store_batch_t *first,
                        store_batch_t *second)
{
    share_t sh = {.app = app, .b = second, .rc = TC_OK};
    pthread_t th;
    bool threaded = store_batch_orgs(second) > 0 && pthread_create(&th, NULL, share_run, &sh) == 0;
    int rc = store_batch_run(tx, first, NULL);
    if (threaded)
        pthread_join(th, NULL);
    else if (store_batch_orgs(second) > 0) /* no thread to spare: one after the other */
        share_run(&sh);
    return rc != TC_OK ? rc : sh.rc;
}

/* A batch in a few statements per org, all sent at once (one round trip): one change per
 * document (the newest), org by org, each org's documents in key order. With
 * SEARCH_INDEX_CONNECTIONS 2 the orgs are dealt into two shares by their number of changes and
 * written in two transactions at once (PostgreSQL works on a batch with one backend per
 * transaction: a second one uses the core the first leaves idle). */
static int on_batch(const tc_event_t *const *evs, int n, tc_dbconn_t *tx, void *ud)
{
    search_app_t *app = ud;
    batch_item_t *items = calloc((size_t)n, sizeof *items);
    search_change_t *changes = calloc((size_t)n, sizeof *changes);
    store_batch_t *b[2] = {store_batch_new(n), store_batch_new(n)};
    int rc = items && changes && b[0] && b[1] ? TC_OK : TC_ENOMEM, nc = 0, load[2] = {0, 0};
    for (int i = 0; rc == TC_OK && i < n; i++) {
        rc = parse_change(evs[i], i, &items[i], &changes[nc]);
        if (rc == TC_OK)
            nc++;
        else if (rc == TC_ENOTFOUND)
            rc = TC_OK;
    }
    if (rc == TC_OK)
        nc = search_changes_collapse(changes, nc);
    for (int start = 0, end = 0; rc == TC_OK && start < nc; start = end) {
        for (end = start + 1; end < nc && strcmp(changes[end].org_id, changes[start].org_id) == 0;)
            end++;
        int k = app->index_connections > 1 && load[1] < load[0] ? 1 : 0;
        load[k] += end - start;
        rc = add_org(b[k], &changes[start], end - start);
    }
    if (rc == TC_OK)
        rc = write_shares(app, tx, b[0], b[1]);
    store_batch_free(b[0]);
    store_batch_free(b[1]);
    for (int i = 0; items && i < n; i++) {
        search_doc_clear(&items[i].doc);
        cJSON_Delete(items[i].data);
    }
    free(items);
    free(changes);
    return rc;
}

int consumer_documents_start(search_app_t *app)
{
    static const tc_event_route_t routes[] = {
        {TC_EV_SEARCH_DOCUMENT_UPSERTED, on_upserted},
        {TC_EV_SEARCH_DOCUMENT_DELETED, on_deleted},
    };
    int rc = tc_service_consume_types(app->svc, "documents", routes, TC_ARRAY_LEN(routes), app);
    /* No inbox: a document's version absorbs a redelivered event (an upsert or delete not newer
     * than the stored row changes nothing), so an inbox row per event would be a write for
     * nothing. */
    if (rc == TC_OK)
        rc = tc_service_consume_keyed(app->svc);
    /* Many documents per transaction and a few statements per org, not per event, sent in one
     * round trip (on_batch).
     * A batch that fails (a malformed event, a deadlock) is redone event by event, so one bad
     * event fails alone. Measured in the README's Figures. */
    return rc == TC_OK ? tc_service_consume_batch(app->svc, DOCUMENTS_BATCH, on_batch, app) : rc;
}
