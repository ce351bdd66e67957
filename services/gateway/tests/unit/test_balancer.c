/* Unit tests for target selection (balancer.c): smooth weighted round-robin, skipping
 * ejected and excluded targets. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "balancer.h"
#include "breaker.h"
#include "tc/tc_core.h"

static gw_config_t *config(const char *targets, const char *canary)
{
    char doc[2048];
    snprintf(doc, sizeof doc,
             "{\"plans\": {\"free\": {\"per_minute\": 1, \"per_day\": null}},"
             " \"upstreams\": [{\"name\": \"svc\", \"targets\": [%s]%s%s%s}],"
             " \"routes\": [{\"prefix\": \"/\", \"upstream\": \"svc\"}]}",
             targets, canary ? ", \"canary\": {\"targets\": [" : "", canary ? canary : "",
             canary ? "], \"weight\": 0}" : "");
    cJSON *errors = cJSON_CreateArray();
    gw_config_t *c = NULL;
    cr_assert_eq(gw_config_parse(doc, NULL, &c, errors), TC_OK, "%s",
                 cJSON_PrintUnformatted(errors));
    cJSON_Delete(errors);
    return c;
}

/* ------------------------------------------------------------------ weighted round-robin */

Test(wrr, distribution_follows_weights)
{
    gw_config_t *c = config("{\"url\": \"http://127.0.0.1:1\", \"weight\": 5},"
                            "{\"url\": \"http://127.0.0.1:2\", \"weight\": 3},"
                            "{\"url\": \"http://127.0.0.1:3\", \"weight\": 2}",
                            NULL);
    gw_wrr_t w = {0};
    cr_assert_eq(wrr_reset(&w, c), TC_OK);
    gw_group_t *g = &c->upstreams[0].groups[0];
    int counts[3] = {0};
    for (int i = 0; i < 10000; i++) {
        bool probe;
        gw_target_t *t = wrr_pick(&w, g, 0, 0, &probe);
        cr_assert_not_null(t);
        counts[t - g->targets]++;
    }
    cr_assert_eq(counts[0], 5000);
    cr_assert_eq(counts[1], 3000);
    cr_assert_eq(counts[2], 2000);
    wrr_free(&w);
    gw_config_unref(c);
}

Test(wrr, smooth_no_bursts)
{
    gw_config_t *c = config("{\"url\": \"http://127.0.0.1:1\", \"weight\": 5},"
                            "{\"url\": \"http://127.0.0.1:2\", \"weight\": 1},"
                            "{\"url\": \"http://127.0.0.1:3\", \"weight\": 1}",
                            NULL);
    gw_wrr_t w = {0};
    wrr_reset(&w, c);
    gw_group_t *g = &c->upstreams[0].groups[0];
    char seq[8] = {0};
    for (int i = 0; i < 7; i++) {
        bool probe;
        seq[i] = (char)('a' + (wrr_pick(&w, g, 0, 0, &probe) - g->targets));
    }
    /* nginx's smooth WRR for 5/1/1: the heavy target is spread out, not 5 in a row */
    cr_assert_str_eq(seq, "aabacaa");
    wrr_free(&w);
    gw_config_unref(c);
}

Test(wrr, skips_ejected_and_excluded_targets)
{
    gw_config_t *c =
        config("{\"url\": \"http://127.0.0.1:1\"},{\"url\": \"http://127.0.0.1:2\"}", NULL);
    gw_wrr_t w = {0};
    wrr_reset(&w, c);
    gw_group_t *g = &c->upstreams[0].groups[0];
    for (int i = 0; i < 5; i++)
        breaker_failure(&g->targets[0].breaker, 0, 1000, 5, 30000);
    bool probe;
    for (int i = 0; i < 10; i++)
        cr_assert_eq(wrr_pick(&w, g, 2000, 0, &probe), &g->targets[1]);
    cr_assert_null(wrr_pick(&w, g, 2000, 2, &probe), "the healthy one excluded: nothing left");
    /* after the ejection: exactly one probe, then the other again */
    cr_assert_eq(wrr_pick(&w, g, 40000, 2, &probe), &g->targets[0]);
    cr_assert(probe);
    cr_assert_null(wrr_pick(&w, g, 40000, 2, &probe), "only one probe at a time");
    wrr_free(&w);
    gw_config_unref(c);
}

/* ------------------------------------------------------------------ panic (issue 14) */

Test(wrr, panic_below_the_threshold)
{
    gw_config_t *c = config("{\"url\": \"http://127.0.0.1:1\"},{\"url\": \"http://127.0.0.1:2\"},"
                            "{\"url\": \"http://127.0.0.1:3\"}",
                            NULL);
    gw_wrr_t w = {0};
    cr_assert_eq(wrr_reset(&w, c), TC_OK);
    gw_group_t *g = &c->upstreams[0].groups[0];
    bool probe, panic;
    /* one of three out (a failing health check): two thirds healthy, no panic */
    atomic_store(&g->targets[0].hc_ok, 0);
    for (int i = 0; i < 30; i++) {
        gw_target_t *t = wrr_pick_healthy(&w, g, 0, 0, 50, &probe, &panic);
        cr_assert_not_null(t);
        cr_assert_not(panic);
        cr_assert_neq(t, &g->targets[0], "an unhealthy target gets nothing");
    }
    /* two of three out (one ejected by its breaker): panic */
    breaker_failure(&g->targets[1].breaker, 0, 0, 1, 30000);
    cr_assert_null(wrr_pick_healthy(&w, g, 0, 0, 50, &probe, &panic));
    cr_assert(panic);
    /* threshold 0: no panic, the healthy one serves */
    cr_assert_eq(wrr_pick_healthy(&w, g, 0, 0, 0, &probe, &panic), &g->targets[2]);
    cr_assert_not(panic);
    /* panic mode spreads over all three, preferring untried ones */
    int counts[3] = {0};
    for (int i = 0; i < 300; i++)
        counts[wrr_pick_any(&w, g, 0) - g->targets]++;
    cr_assert_eq(counts[0], 100);
    cr_assert_eq(counts[1], 100);
    cr_assert_eq(counts[2], 100);
    cr_assert_eq(wrr_pick_any(&w, g, 0x3), &g->targets[2]);
    cr_assert_not_null(wrr_pick_any(&w, g, 0x7), "every one tried: any again");
    wrr_free(&w);
    gw_config_unref(c);
}

Test(wrr, single_target_never_panics_while_up)
{
    gw_config_t *c = config("{\"url\": \"http://127.0.0.1:1\"}", NULL);
    gw_wrr_t w = {0};
    cr_assert_eq(wrr_reset(&w, c), TC_OK);
    gw_group_t *g = &c->upstreams[0].groups[0];
    bool probe, panic;
    cr_assert_eq(wrr_pick_healthy(&w, g, 0, 0, 50, &probe, &panic), &g->targets[0]);
    cr_assert_not(panic);
    atomic_store(&g->targets[0].hc_ok, 0);
    cr_assert_null(wrr_pick_healthy(&w, g, 0, 0, 50, &probe, &panic));
    cr_assert(panic, "its only target failing: panic routes to it anyway");
    cr_assert_eq(wrr_pick_any(&w, g, 0), &g->targets[0]);
    wrr_free(&w);
    gw_config_unref(c);
}

Test(wrr, panic_leaves_out_targets_that_refuse_connections)
{
    gw_config_t *c = config("{\"url\": \"http://127.0.0.1:1\"},{\"url\": \"http://127.0.0.1:2\"},"
                            "{\"url\": \"http://127.0.0.1:3\"}",
                            NULL);
    gw_wrr_t w = {0};
    cr_assert_eq(wrr_reset(&w, c), TC_OK);
    gw_group_t *g = &c->upstreams[0].groups[0];
    bool probe, panic;
    /* two of three killed: their checks cannot connect. The third carries everything: no
     * panic, which would send two requests in three to targets known to refuse them */
    for (int i = 0; i < 2; i++) {
        atomic_store(&g->targets[i].hc_ok, 0);
        atomic_store(&g->targets[i].hc_unreachable, 1);
    }
    for (int i = 0; i < 10; i++) {
        cr_assert_eq(wrr_pick_healthy(&w, g, 0, 0, 50, &probe, &panic), &g->targets[2]);
        cr_assert_not(panic);
    }
    /* the third fails its checks but answers: panic over the reachable one only */
    atomic_store(&g->targets[2].hc_ok, 0);
    cr_assert_null(wrr_pick_healthy(&w, g, 0, 0, 50, &probe, &panic));
    cr_assert(panic);
    for (int i = 0; i < 10; i++)
        cr_assert_eq(wrr_pick_any(&w, g, 0), &g->targets[2]);
    /* every one unreachable: panic tries them all (a restart is about to end) */
    atomic_store(&g->targets[2].hc_unreachable, 1);
    cr_assert_null(wrr_pick_healthy(&w, g, 0, 0, 50, &probe, &panic));
    cr_assert(panic);
    cr_assert_neq(wrr_pick_any(&w, g, 0), wrr_pick_any(&w, g, 0));
    wrr_free(&w);
    gw_config_unref(c);
}
