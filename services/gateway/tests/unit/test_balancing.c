/* Unit tests for target selection: smooth weighted round-robin, the breaker state machine
 * and canary assignment. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "balancer.h"
#include "breaker.h"
#include "canary.h"
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
        int probe;
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
        int probe;
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
    int probe;
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

/* ------------------------------------------------------------------ breaker */

Test(breaker, opens_after_consecutive_failures)
{
    gw_breaker_t b;
    breaker_init(&b);
    int probe;
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(breaker_failure(&b, 0, 100, 5, 1000), 0);
        cr_assert(breaker_acquire(&b, 100, &probe));
    }
    breaker_success(&b, 0); /* a success in between resets the count */
    for (int i = 0; i < 4; i++)
        breaker_failure(&b, 0, 100, 5, 1000);
    cr_assert_eq(breaker_state(&b), BREAKER_CLOSED);
    cr_assert_eq(breaker_failure(&b, 0, 100, 5, 1000), 1, "the 5th consecutive failure");
    cr_assert_eq(breaker_state(&b), BREAKER_OPEN);
    cr_assert_not(breaker_available(&b, 500));
    cr_assert_not(breaker_acquire(&b, 1099, &probe));
    cr_assert(breaker_available(&b, 1100));
}

Test(breaker, half_open_probe_success_closes)
{
    gw_breaker_t b;
    breaker_init(&b);
    breaker_failure(&b, 0, 0, 1, 1000);
    int probe = 0;
    cr_assert(breaker_acquire(&b, 1000, &probe));
    cr_assert(probe);
    cr_assert_eq(breaker_state(&b), BREAKER_HALF_OPEN);
    int other;
    cr_assert_not(breaker_acquire(&b, 1000, &other), "one probe at a time");
    cr_assert_not(breaker_available(&b, 1000));
    cr_assert_eq(breaker_success(&b, 1), 1);
    cr_assert_eq(breaker_state(&b), BREAKER_CLOSED);
    cr_assert(breaker_acquire(&b, 1000, &other));
    cr_assert_not(other);
}

Test(breaker, half_open_probe_failure_ejects_again)
{
    gw_breaker_t b;
    breaker_init(&b);
    breaker_failure(&b, 0, 0, 1, 1000);
    int probe;
    cr_assert(breaker_acquire(&b, 1000, &probe) && probe);
    cr_assert_eq(breaker_failure(&b, 1, 1000, 1, 1000), 1);
    cr_assert_eq(breaker_state(&b), BREAKER_OPEN);
    cr_assert_not(breaker_acquire(&b, 1999, &probe));
    cr_assert(breaker_acquire(&b, 2000, &probe) && probe);
    /* a probe that ends without an outcome lets the next request probe */
    breaker_release(&b, 1);
    cr_assert(breaker_acquire(&b, 2000, &probe) && probe);
    cr_assert_str_eq(breaker_state_name(BREAKER_HALF_OPEN), "half_open");
}

/* ------------------------------------------------------------------ canary */

Test(canary, buckets_are_uniform)
{
    int hist[100] = {0};
    char key[40];
    for (int i = 0; i < 100000; i++) {
        snprintf(key, sizeof key, "usr_01J%019d", i);
        hist[canary_bucket("user", key, strlen(key))]++;
    }
    for (int b = 0; b < 100; b++)
        cr_assert(hist[b] > 850 && hist[b] < 1150, "bucket %d has %d of 100000", b, hist[b]);
}

Test(canary, sticky_split_and_overrides)
{
    gw_config_t *c =
        config("{\"url\": \"http://127.0.0.1:1\"}", "{\"url\": \"http://127.0.0.1:2\"}");
    gw_upstream_t *up = &c->upstreams[0];
    char key[32];
    int canary = 0;
    atomic_store(&up->canary_weight, 25);
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof key, "10.0.%d.%d", i / 256, i % 256);
        gw_group_id_t g = canary_choose(up, CANARY_AUTO, key, strlen(key));
        cr_assert_eq(g, canary_choose(up, CANARY_AUTO, key, strlen(key)), "sticky");
        canary += g == GW_GROUP_CANARY;
    }
    cr_assert(canary >= 440 && canary <= 560, "%d of 2000 at weight 25", canary);
    /* raising the weight only moves keys towards the canary */
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof key, "usr_%d", i);
        atomic_store(&up->canary_weight, 30);
        int before = canary_choose(up, CANARY_AUTO, key, strlen(key)) == GW_GROUP_CANARY;
        atomic_store(&up->canary_weight, 60);
        int after = canary_choose(up, CANARY_AUTO, key, strlen(key)) == GW_GROUP_CANARY;
        cr_assert(!before || after);
    }
    atomic_store(&up->canary_weight, 0);
    cr_assert_eq(canary_choose(up, CANARY_ALWAYS, "u", 1), GW_GROUP_CANARY);
    atomic_store(&up->canary_weight, 100);
    cr_assert_eq(canary_choose(up, CANARY_AUTO, "u", 1), GW_GROUP_CANARY);
    cr_assert_eq(canary_choose(up, CANARY_NEVER, "u", 1), GW_GROUP_STABLE);
    cr_assert_eq(canary_override("ALWAYS", 6), CANARY_ALWAYS);
    cr_assert_eq(canary_override("never", 5), CANARY_NEVER);
    cr_assert_eq(canary_override("sometimes", 9), CANARY_AUTO);
    gw_config_unref(c);
}

Test(canary, no_canary_targets_means_stable)
{
    gw_config_t *c = config("{\"url\": \"http://127.0.0.1:1\"}", NULL);
    atomic_store(&c->upstreams[0].canary_weight, 100);
    cr_assert_eq(canary_choose(&c->upstreams[0], CANARY_ALWAYS, "u", 1), GW_GROUP_STABLE);
    gw_config_unref(c);
}
