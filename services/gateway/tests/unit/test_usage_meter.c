/* Unit tests for the billing-grade usage meter (usage_meter.c), with a fake broker: counts of
 * every worker summed per org and window, sent until acknowledged, kept on disk until then,
 * adopted by the next process, and bounded. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "usage_meter.h"
#include "tc/tc_core.h"
#include "tc/tc_json.h"

/* The fake broker: what was sent, with the report to give later. */
typedef struct {
    gw_meter_rec_t rec;
    tc_delivery_fn cb;
    void *opaque;
} sent_t;

typedef struct {
    sent_t sent[64];
    int n;
    int refuse; /* answer TC_EAGAIN (local queue full) */
} broker_t;

static int fake_send(void *ud, const gw_meter_rec_t *r, tc_delivery_fn cb, void *opaque)
{
    broker_t *b = ud;
    if (b->refuse)
        return TC_EAGAIN;
    cr_assert_lt(b->n, 64);
    b->sent[b->n++] = (sent_t){*r, cb, opaque};
    return TC_OK;
}

static void report(broker_t *b, int i, int rc)
{
    b->sent[i].cb(b->sent[i].opaque, rc, rc == TC_OK ? NULL : "Local: Message timed out");
}

static gw_meter_t *meter(broker_t *b, const char *dir, size_t max)
{
    gw_meter_opts_t o = {.workers = 2,
                         .window_ms = 1000,
                         .max_records = max,
                         .retry_ms = 0,
                         .spool_dir = dir,
                         .send = fake_send,
                         .send_ud = b};
    gw_meter_t *m = gw_meter_new(&o);
    cr_assert_not_null(m);
    return m;
}

static const sent_t *sent_for(const broker_t *b, const char *org)
{
    for (int i = b->n - 1; i >= 0; i--)
        if (strcmp(b->sent[i].rec.org, org) == 0)
            return &b->sent[i];
    return NULL;
}

Test(meter, every_workers_counts_are_summed_per_org_and_window)
{
    broker_t b = {0};
    gw_meter_t *m = meter(&b, NULL, 1000);
    for (int i = 0; i < 3; i++)
        gw_meter_count(m, 0, "org_a");
    gw_meter_count(m, 1, "org_a");
    gw_meter_count(m, 1, "org_b");
    gw_meter_count(m, 1, ""); /* no org: nobody to bill */
    cr_assert_eq(gw_meter_close_window(m, 5000), TC_OK);
    cr_assert_eq(b.n, 2);
    const sent_t *a = sent_for(&b, "org_a"), *bb = sent_for(&b, "org_b");
    cr_assert_eq(a->rec.requests, 4);
    cr_assert_eq(bb->rec.requests, 1);
    cr_assert_eq(a->rec.window_ms, 5000);
    cr_assert_str_eq(a->rec.inst, gw_meter_instance(m));
    /* the next window starts from nothing */
    gw_meter_count(m, 0, "org_b");
    report(&b, 0, TC_OK);
    report(&b, 1, TC_OK);
    cr_assert_eq(gw_meter_close_window(m, 6000), TC_OK);
    cr_assert_eq(b.n, 3);
    cr_assert_eq(b.sent[2].rec.requests, 1);
    cr_assert_eq(b.sent[2].rec.window_ms, 6000);
    /* an empty window sends nothing */
    report(&b, 2, TC_OK);
    cr_assert_eq(gw_meter_close_window(m, 7000), TC_OK);
    cr_assert_eq(b.n, 3);
    cr_assert_eq(gw_meter_pending(m), 0);
    gw_meter_free(m);
}

Test(meter, many_orgs_in_one_window_each_get_a_record)
{
    broker_t b = {0};
    gw_meter_t *m = meter(&b, NULL, 1000);
    char org[32];
    for (int i = 0; i < 60; i++) { /* past the tables' first size, so they grow */
        snprintf(org, sizeof org, "org_%d", i);
        for (int k = 0; k <= i % 3; k++)
            gw_meter_count(m, i % 2, org);
    }
    cr_assert_eq(gw_meter_close_window(m, 1000), TC_OK);
    cr_assert_eq(b.n, 60);
    uint64_t total = 0;
    for (int i = 0; i < b.n; i++)
        total += b.sent[i].rec.requests;
    cr_assert_eq(total, 20 * 1 + 20 * 2 + 20 * 3);
    for (int i = 0; i < b.n; i++)
        report(&b, i, TC_OK);
    gw_meter_free(m);
}

Test(meter, a_record_the_broker_did_not_take_is_sent_again_under_its_id)
{
    broker_t b = {0};
    gw_meter_t *m = meter(&b, NULL, 1000);
    gw_meter_count(m, 0, "org_a");
    gw_meter_close_window(m, 1000);
    report(&b, 0, TC_ERROR);
    cr_assert_eq(gw_meter_pending(m), 1);
    b.refuse = 1; /* the local queue is full: it waits */
    gw_meter_close_window(m, 2000);
    cr_assert_eq(b.n, 1);
    b.refuse = 0;
    gw_meter_close_window(m, 3000);
    cr_assert_eq(b.n, 2);
    char id1[160], id2[160];
    gw_meter_rec_id(&b.sent[0].rec, id1, sizeof id1);
    gw_meter_rec_id(&b.sent[1].rec, id2, sizeof id2);
    cr_assert_str_eq(id1, id2);
    report(&b, 1, TC_OK);
    cr_assert_eq(gw_meter_pending(m), 0);
    gw_meter_free(m);
}

Test(meter, past_max_records_a_window_is_dropped_and_counted)
{
    broker_t b = {0};
    gw_meter_t *m = meter(&b, NULL, 1);
    gw_meter_count(m, 0, "org_a");
    cr_assert_eq(gw_meter_close_window(m, 1000), TC_OK);
    gw_meter_count(m, 0, "org_b");
    cr_assert_eq(gw_meter_close_window(m, 2000), TC_EAGAIN, "org_a's record is unacknowledged");
    cr_assert_eq(b.n, 1);
    report(&b, 0, TC_OK);
    gw_meter_count(m, 0, "org_b");
    cr_assert_eq(gw_meter_close_window(m, 3000), TC_OK, "room again once it is acknowledged");
    cr_assert_eq(b.n, 2);
    report(&b, 1, TC_OK);
    gw_meter_free(m);
}

Test(meter, the_event_is_the_records_data)
{
    gw_meter_rec_t r = {.inst = "gwi_1",
                        .org = "org_9",
                        .window_ms = 1700000000000,
                        .width_ms = 1000,
                        .requests = 12};
    tc_buf_t b = TC_BUF_INIT;
    cr_assert_eq(gw_meter_event_data(&r, &b), TC_OK);
    cJSON *j = cJSON_Parse(b.data);
    cr_assert_not_null(j, "%s", b.data);
    cr_assert_str_eq(tc_json_get_str(j, "org_id"), "org_9");
    cr_assert_str_eq(tc_json_get_str(j, "gateway"), "gwi_1");
    cr_assert_str_eq(tc_json_get_str(j, "window_start"), "2023-11-14T22:13:20.000Z");
    cr_assert_str_eq(tc_json_get_str(j, "window_end"), "2023-11-14T22:13:21.000Z");
    cr_assert_eq(cJSON_GetObjectItem(j, "requests")->valueint, 12);
    cJSON_Delete(j);
    tc_buf_free(&b);
}

Test(meter, unacknowledged_records_outlive_the_process_and_acknowledged_ones_do_not)
{
    char dir[] = "/tmp/tc-meter-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    broker_t b1 = {0};
    gw_meter_t *m1 = meter(&b1, dir, 1000);
    gw_meter_count(m1, 0, "org_a");
    gw_meter_count(m1, 1, "org_b");
    gw_meter_close_window(m1, 1000);
    report(&b1, 0, TC_OK); /* one of the two acknowledged */
    char first_inst[GW_METER_INST_MAX];
    snprintf(first_inst, sizeof first_inst, "%s", gw_meter_instance(m1));
    const char *unacked = b1.sent[1].rec.org;
    char unacked_org[GW_METER_ORG_MAX];
    snprintf(unacked_org, sizeof unacked_org, "%s", unacked);
    /* the process ends with a record the broker never took: the producer's last flush
     * reports it failed */
    report(&b1, 1, TC_ERROR);
    gw_meter_free(m1);

    broker_t b2 = {0};
    gw_meter_t *m2 = meter(&b2, dir, 1000);
    cr_assert_str_neq(gw_meter_instance(m2), first_inst, "a new process, a new instance id");
    cr_assert_eq(gw_meter_pending(m2), 1, "the unacknowledged record was adopted");
    gw_meter_close_window(m2, 2000); /* sends it (nothing new was counted) */
    cr_assert_eq(b2.n, 1);
    cr_assert_str_eq(b2.sent[0].rec.org, unacked_org);
    cr_assert_str_eq(b2.sent[0].rec.inst, first_inst, "sent again under its first id");
    cr_assert_eq(b2.sent[0].rec.window_ms, 1000);
    report(&b2, 0, TC_OK);
    gw_meter_close_window(m2, 3000);
    gw_meter_free(m2);

    broker_t b3 = {0};
    gw_meter_t *m3 = meter(&b3, dir, 1000);
    cr_assert_eq(gw_meter_pending(m3), 0, "nothing is sent twice once acknowledged");
    gw_meter_free(m3);
    rmdir(dir);
}
