/*
 * bench-produce: a burst of CloudEvents on a topic, as fast as the broker takes them (make
 * bench's metering load: kcat starts a process per event with its own headers).
 *
 *   bench-produce --brokers HOST:PORT --count N [--orgs K] [--prefix P] [--kind KIND]
 *       N events in binary content mode, each with its own event id, spread over K orgs
 *       (org_<P><index>, default 100). KIND workflow (default, billing's metering load):
 *       com.techcorp.workflow.execution.started on workflow-events, each with its execution id
 *       (exe_<P><counter>), keyed by a workflow per org. KIND api (analytics' ingest load):
 *       com.techcorp.api.request on analytics-events as the gateway sends them, stamped now,
 *       keyed by org, from 50 users per org with varied routes, statuses and latencies.
 *       KIND meter (billing's gateway metering load): com.techcorp.api.usage on analytics-events
 *       as the gateway's meter publishes them, one per org and 1 s window (mtr_<gateway>_<window
 *       start>_<org>, the gateway gwi_<P>), 1 to 50 requests each.
 *       KIND document (search's indexing load): com.techcorp.search.document_upserted on
 *       search-events, a new document each (doc_<P><n>, type note) with a three-word title and
 *       a 24-word body drawn from a small vocabulary, in English (so stemmed too), stamped
 *       when sent (freshness).
 *       KIND webhook (workflow's event-trigger load): com.techcorp.integration.webhook.received
 *       on integration-events for the org --org names, over 12 hooks, each stamped when sent.
 *       KIND inapp (the notification stream's load): com.techcorp.notification.requested on
 *       notification-events, an in-app message for user usr_0WS<n % U> (--users U) of the org
 *       --org names, keyed by the user, its body the Unix time in ms when it was sent.
 *       KIND push (the notification Web Push load): the same request on the push channel.
 *       KIND announce (the notification stream's fan-out): the same request with audience
 *       "org" instead of a person (every active member of --org), keyed by the org.
 *       --rate R paces any kind at R per second (each sent with the producer's shortest
 *       linger, 5 ms).
 *       Prints the count the broker acknowledged; exits 1 when any was refused.
 */
#include "tc/tc_core.h"
#include "tc/tc_events.h"
#include "tc/tc_time.h"

#include <getopt.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static atomic_long acked, failed;

static void delivered(void *opaque, int rc, const char *error)
{
    (void)opaque;
    (void)error;
    if (rc == TC_OK)
        atomic_fetch_add(&acked, 1);
    else
        atomic_fetch_add(&failed, 1);
}

/* "<kind>_<prefix><n>" padded with zeros to the 26 characters of an id. */
static void bench_id(char *out, size_t n, const char *kind, const char *prefix, long v)
{
    char digits[32];
    snprintf(digits, sizeof digits, "%ld", v);
    size_t pad = 26 - strlen(prefix) - strlen(digits);
    snprintf(out, n, "%s_%s%.*s%s", kind, prefix, (int)pad, "00000000000000000000000000", digits);
}

static const char *const vocabulary[] = {
    "quarterly", "report",    "invoice",   "workflow", "customer", "onboarding", "pipeline",
    "release",   "incident",  "review",    "budget",   "forecast", "roadmap",    "security",
    "audit",     "migration", "dashboard", "metrics",  "contract", "renewal"};

/* 24 words of the vocabulary, picked by a linear congruential walk from n. */
static void document_text(long n, char *out, size_t cap)
{
    unsigned long x = (unsigned long)n * 2654435761UL + 1;
    size_t at = 0;
    for (int w = 0; w < 24 && at < cap; w++) {
        x = x * 6364136223846793005UL + 1442695040888963407UL;
        int k = snprintf(out + at, cap - at, "%s%s", w ? " " : "", vocabulary[(x >> 33) % 20]);
        at += k > 0 ? (size_t)k : 0;
    }
}

int main(int argc, char **argv)
{
    const char *brokers = NULL, *prefix = "BENCH", *kind = "workflow", *org_id = NULL;
    long count = 0, orgs = 100, rate = 0, users = 1;
    static const struct option opts[] = {{"brokers", required_argument, 0, 'b'},
                                         {"count", required_argument, 0, 'n'},
                                         {"orgs", required_argument, 0, 'o'},
                                         {"prefix", required_argument, 0, 'p'},
                                         {"kind", required_argument, 0, 'k'},
                                         {"org", required_argument, 0, 'g'},
                                         {"rate", required_argument, 0, 'r'},
                                         {"users", required_argument, 0, 'u'},
                                         {0, 0, 0, 0}};
    for (int c; (c = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        if (c == 'b')
            brokers = optarg;
        else if (c == 'n')
            count = atol(optarg);
        else if (c == 'o')
            orgs = atol(optarg);
        else if (c == 'p')
            prefix = optarg;
        else if (c == 'k')
            kind = optarg;
        else if (c == 'g')
            org_id = optarg;
        else if (c == 'r')
            rate = atol(optarg);
        else if (c == 'u')
            users = atol(optarg);
        else
            return 2;
    }
    bool api = kind && strcmp(kind, "api") == 0;
    bool webhook = kind && strcmp(kind, "webhook") == 0;
    bool meter = kind && strcmp(kind, "meter") == 0;
    bool document = kind && strcmp(kind, "document") == 0;
    bool announce = kind && strcmp(kind, "announce") == 0;
    bool push = kind && strcmp(kind, "push") == 0;
    bool inapp = kind && (strcmp(kind, "inapp") == 0 || announce || push);
    if (!brokers || count <= 0 || orgs <= 0 || rate < 0 || users <= 0 || strlen(prefix) > 12 ||
        (!api && !webhook && !meter && !document && !inapp && strcmp(kind, "workflow") != 0) ||
        ((webhook || inapp) && !org_id) || (org_id && strlen(org_id) > 64)) {
        fprintf(
            stderr,
            "usage: bench-produce --brokers HOST:PORT --count N [--orgs K] "
            "[--prefix P (at most 12 characters)] "
            "[--kind workflow|api|meter|document|webhook|inapp|push|announce] [--org ORG_ID "
            "(webhook, inapp, push, announce)] [--users U (inapp, push)] [--rate PER_SECOND]\n");
        return 2;
    }
    tc_producer_opts_t po = {.brokers = brokers,
                             .client_id = "bench-produce",
                             .linger_ms = webhook || rate > 0 ? 0 : 20,
                             .queue_max_messages = 1000000};
    tc_producer_t *p = tc_producer_new(&po);
    if (!p)
        return 1;
    char now[TC_RFC3339_LEN];
    tc_time_format(tc_now_ms(), now);
    const int64_t t0 = tc_mono_ms();
    for (long i = 0; i < count; i++) {
        char org[80], key[80], sub[80], id[192], source[128], data[1024];
        bench_id(org, sizeof org, "org", prefix, i % orgs);
        bench_id(id, sizeof id, "evt", prefix, i);
        if (rate > 0) {
            int64_t due = t0 + i * 1000 / rate;
            if (due > tc_mono_ms())
                tc_sleep_ms(due - tc_mono_ms());
        }
        if (webhook) {
            tc_time_format(tc_now_ms(), now);
            bench_id(key, sizeof key, "hk", prefix, i % 12);
            bench_id(sub, sizeof sub, "req", prefix, i);
            snprintf(source, sizeof source, "/hooks/%s", key);
            snprintf(data, sizeof data,
                     "{\"org_id\":\"%s\",\"hook_id\":\"%s\",\"request_id\":\"%s\","
                     "\"sender_id\":null,\"verification\":\"hmac\","
                     "\"content_type\":\"application/json\",\"body_bytes\":9,"
                     "\"payload\":{\"n\":%ld},\"payload_omitted\":false,\"received_at\":\"%s\"}",
                     org_id, key, sub, i, now);
        } else if (announce) {
            tc_time_format(tc_now_ms(), now);
            snprintf(key, sizeof key, "%s", org_id);
            snprintf(source, sizeof source, "/orgs/%s", key);
            snprintf(data, sizeof data,
                     "{\"template\":\"bench\",\"channel\":\"in_app\",\"audience\":\"org\","
                     "\"org_id\":\"%s\",\"params\":{\"title\":\"bench %ld\","
                     "\"body\":\"%lld\"},\"occurred_at\":\"%s\"}",
                     org_id, i, (long long)tc_now_ms(), now);
        } else if (inapp) {
            tc_time_format(tc_now_ms(), now);
            bench_id(key, sizeof key, "usr", "0WS", i % users);
            snprintf(source, sizeof source, "/users/%s", key);
            snprintf(data, sizeof data,
                     "{\"template\":\"bench\",\"channel\":\"%s\",\"to\":{\"user_id\":"
                     "\"%s\"},\"org_id\":\"%s\",\"params\":{\"title\":\"bench %ld\","
                     "\"body\":\"%lld\"},\"occurred_at\":\"%s\"}",
                     push ? "push" : "in_app", key, org_id, i, (long long)tc_now_ms(), now);
        } else if (document) {
            tc_time_format(tc_now_ms(), now);
            bench_id(key, sizeof key, "doc", prefix, i);
            snprintf(source, sizeof source, "/documents/%s", key);
            char body[512] = "";
            document_text(i, body, sizeof body);
            snprintf(data, sizeof data,
                     "{\"org_id\":\"%s\",\"type\":\"note\",\"id\":\"%s\","
                     "\"title\":\"%s %s %s\",\"body\":\"%s\",\"locale\":\"en\","
                     "\"version\":1,\"updated_at\":\"%s\"}",
                     org, key, vocabulary[i % 20], vocabulary[(i / 20) % 20],
                     vocabulary[(i / 400) % 20], body, now);
        } else if (meter) {
            /* one window per `orgs` events, starting a day back so windows never repeat */
            int64_t start = tc_now_ms() / 1000 * 1000 - 86400000 + (i / orgs) * 1000;
            char from[TC_RFC3339_LEN], to[TC_RFC3339_LEN];
            tc_time_format(start, from);
            tc_time_format(start + 1000, to);
            snprintf(sub, sizeof sub, "gwi_%s", prefix);
            snprintf(id, sizeof id, "mtr_%s_%lld_%s", sub, (long long)start, org);
            snprintf(source, sizeof source, "/gateways/%s", sub);
            snprintf(data, sizeof data,
                     "{\"org_id\":\"%s\",\"gateway\":\"%s\",\"window_start\":\"%s\","
                     "\"window_end\":\"%s\",\"requests\":%ld}",
                     org, sub, from, to, 1 + i % 50);
            snprintf(key, sizeof key, "%s", org);
        } else if (api) {
            static const char *const routes[] = {"users", "workflows", "search", "billing"};
            static const int statuses[] = {200, 200, 200, 201, 404, 500};
            bench_id(sub, sizeof sub, "usr", prefix, (i / orgs) % 50);
            bench_id(key, sizeof key, "req", prefix, i);
            snprintf(source, sizeof source, "/requests/%s", key);
            snprintf(data, sizeof data,
                     "{\"request_id\":\"%s\",\"org_id\":\"%s\",\"principal\":\"%s\","
                     "\"principal_type\":\"user\",\"route\":\"%s\",\"method\":\"GET\","
                     "\"status\":%d,\"latency_ms\":%ld.5,\"bytes_in\":0,\"bytes_out\":%ld,"
                     "\"occurred_at\":\"%s\"}",
                     key, org, sub, routes[i % 4], statuses[i % 6], i % 97, 100 + i % 1000, now);
            snprintf(key, sizeof key, "%s", org);
        } else {
            char exe[80];
            bench_id(key, sizeof key, "wf", prefix, i % orgs);
            bench_id(exe, sizeof exe, "exe", prefix, i);
            snprintf(source, sizeof source, "/executions/%s", exe);
            snprintf(data, sizeof data,
                     "{\"execution_id\":\"%s\",\"workflow_id\":\"%s\",\"org_id\":\"%s\","
                     "\"version\":1,\"status\":\"running\",\"trigger\":\"api\","
                     "\"started_at\":\"2026-01-01T00:00:00.000Z\",\"steps_executed\":0,"
                     "\"occurred_at\":\"2026-01-01T00:00:00.000Z\"}",
                     exe, key, org);
        }
        tc_event_t ev = {
            .specversion = "1.0",
            .id = id,
            .source = source,
            .type = inapp      ? "com.techcorp.notification.requested"
                    : webhook  ? "com.techcorp.integration.webhook.received"
                    : document ? "com.techcorp.search.document_upserted"
                    : meter    ? "com.techcorp.api.usage"
                    : api      ? "com.techcorp.api.request"
                               : "com.techcorp.workflow.execution.started",
            .time = api || webhook || meter || document || inapp ? now : "2026-01-01T00:00:00.000Z",
            .datacontenttype = "application/json",
            .partitionkey = key,
            .data = data,
            .data_len = strlen(data)};
        int rc;
        const char *topic = inapp          ? "notification-events"
                            : webhook      ? "integration-events"
                            : document     ? "search-events"
                            : api || meter ? "analytics-events"
                                           : "workflow-events";
        while ((rc = tc_producer_send(p, topic, &ev, delivered, NULL)) == TC_EAGAIN)
            tc_producer_flush(p, 100);
        if (rc != TC_OK) {
            fprintf(stderr, "bench-produce: send: %s\n", tc_strerror(rc));
            break;
        }
    }
    tc_producer_flush(p, 60000);
    tc_producer_free(p);
    printf("%ld\n", atomic_load(&acked));
    return atomic_load(&failed) || atomic_load(&acked) != count ? 1 : 0;
}
