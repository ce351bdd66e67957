/* Unit tests for canary assignment (canary.c): uniform buckets, sticky splits and
 * overrides, no canary targets. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "balancer.h"
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
