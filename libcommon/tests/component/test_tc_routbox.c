/*
 * tc_routbox against the real Redis and Kafka dev broker: events appended to a stream reach
 * the topic once each, with their ids, keys and headers, and leave the stream; entries a
 * relay read but never acknowledged (it died) are claimed and published by another; a
 * non-event entry is dropped, not retried forever; Redis unreachable is TC_EUNAVAIL.
 * Each test uses its own stream and auto-created topic.
 */
#include "component.h"
#include "tc/tc_redis.h"
#include "tc/tc_routbox.h"

static tc_redis_t *redis;

static void setup(void)
{
    tc_log_init("it", getenv("TC_TEST_LOG_LEVEL") ? getenv("TC_TEST_LOG_LEVEL") : "error");
    tc_redis_opts_t o = {.url = it_env("TC_TEST_REDIS_URL"), .pool_size = 4};
    redis = tc_redis_open(&o);
    cr_assert_not_null(redis);
}

static void teardown(void)
{
    tc_redis_close(redis);
}

TestSuite(routbox, .init = setup, .fini = teardown, .timeout = 120);

static long long stream_len(const char *stream)
{
    redisReply *r = tc_redis_cmdf(redis, "XLEN %s", stream);
    cr_assert(r && r->type == REDIS_REPLY_INTEGER);
    long long n = r->integer;
    freeReplyObject(r);
    return n;
}

static void add_events(const char *stream, const char *topic, int n, char ids[][TC_ID_MAX])
{
    for (int i = 0; i < n; i++) {
        char key[32], data[32];
        snprintf(key, sizeof key, "org-%d", i % 3);
        snprintf(data, sizeof data, "{\"n\":%d}", i);
        tc_event_t ev = {
            .type = IT_EV_TYPE, .source = "/tests/routbox", .partitionkey = key, .data = data};
        cr_assert_eq(tc_routbox_add(redis, stream, topic, &ev, ids ? ids[i] : NULL, TC_ID_MAX),
                     TC_OK);
    }
}

typedef struct {
    int n, with_id, keys_ok;
    char seen[64][TC_ID_MAX];
} seen_t;

static void on_message(const rd_kafka_message_t *m, void *ud)
{
    seen_t *s = ud;
    char id[TC_ID_MAX];
    if (it_header(m, "ce_id", id, sizeof id) && s->n < 64) {
        snprintf(s->seen[s->n], TC_ID_MAX, "%s", id);
        s->with_id++;
    }
    if (m->key_len >= 5 && memcmp(m->key, "org-", 4) == 0)
        s->keys_ok++;
    s->n++;
}

static bool seen_once(const seen_t *s, const char *id)
{
    int count = 0;
    for (int i = 0; i < s->n && i < 64; i++)
        count += strcmp(s->seen[i], id) == 0;
    return count == 1;
}

typedef struct {
    tc_routbox_t *r;
    uint64_t want;
} published_t;

static int published_enough(void *ud)
{
    published_t *p = ud;
    return tc_routbox_published(p->r) >= p->want;
}

Test(routbox, events_reach_the_topic_once_and_leave_the_stream)
{
    char stream[64], topic[64], ids[30][TC_ID_MAX];
    it_unique("it-rstream", stream, sizeof stream);
    it_unique("it-routbox", topic, sizeof topic);
    add_events(stream, topic, 30, ids);
    cr_assert_eq(stream_len(stream), 30, "stored before any relay runs");

    tc_producer_t *p = it_producer();
    tc_routbox_opts_t o = {
        .redis = redis, .producer = p, .stream = stream, .consumer = "it-a", .interval_ms = 50};
    tc_routbox_t *r = tc_routbox_start(&o);
    cr_assert_not_null(r);
    published_t want = {r, 30};
    cr_assert(it_wait(published_enough, &want, 30000), "published %llu of 30",
              (unsigned long long)tc_routbox_published(r));
    tc_routbox_stop(r);

    seen_t s = {0};
    cr_assert_eq(it_read_topic(topic, IT_AUTO_PARTITIONS, 31, 3000, on_message, &s), 30,
                 "exactly the 30 events");
    cr_assert_eq(s.with_id, 30);
    cr_assert_eq(s.keys_ok, 30, "the partition key is the message key");
    for (int i = 0; i < 30; i++)
        cr_assert(seen_once(&s, ids[i]), "event %s published once with its own id", ids[i]);
    cr_assert_eq(stream_len(stream), 0, "acknowledged entries are deleted");
    tc_producer_free(p);
}

Test(routbox, entries_a_dead_relay_read_are_claimed_by_another)
{
    char stream[64], topic[64], ids[5][TC_ID_MAX];
    it_unique("it-rstream", stream, sizeof stream);
    it_unique("it-routbox", topic, sizeof topic);
    add_events(stream, topic, 5, ids);
    /* a relay that read the entries and died before publishing them */
    redisReply *rep = tc_redis_cmdf(redis, "XGROUP CREATE %s relay 0 MKSTREAM", stream);
    cr_assert(rep && rep->type != REDIS_REPLY_ERROR);
    freeReplyObject(rep);
    rep = tc_redis_cmdf(redis, "XREADGROUP GROUP relay dead COUNT 10 STREAMS %s >", stream);
    cr_assert(rep && rep->type == REDIS_REPLY_ARRAY);
    freeReplyObject(rep);

    tc_producer_t *p = it_producer();
    tc_routbox_opts_t o = {.redis = redis,
                           .producer = p,
                           .stream = stream,
                           .consumer = "it-b",
                           .interval_ms = 50,
                           .claim_idle_ms = 300};
    tc_routbox_t *r = tc_routbox_start(&o);
    published_t want = {r, 5};
    cr_assert(it_wait(published_enough, &want, 30000), "the dead relay's entries were claimed");
    tc_routbox_stop(r);
    seen_t s = {0};
    cr_assert_eq(it_read_topic(topic, IT_AUTO_PARTITIONS, 6, 3000, on_message, &s), 5);
    for (int i = 0; i < 5; i++)
        cr_assert(seen_once(&s, ids[i]));
    cr_assert_eq(stream_len(stream), 0);
    tc_producer_free(p);
}

Test(routbox, entries_that_cannot_be_published_are_set_aside_and_the_rest_go_out)
{
    char stream[64], topic[64];
    it_unique("it-rstream", stream, sizeof stream);
    it_unique("it-routbox", topic, sizeof topic);
    redisReply *rep = tc_redis_cmdf(redis, "XADD %s * junk 1", stream);
    cr_assert(rep && rep->type == REDIS_REPLY_STRING);
    freeReplyObject(rep);
    /* stored by something other than tc_routbox_add: an event type no header may carry */
    rep = tc_redis_cmdf(redis,
                        "XADD %s * topic %s id evt_x type %b source /s time "
                        "2026-01-01T00:00:00Z data {}",
                        stream, topic, "bad\x01type", (size_t)8);
    cr_assert(rep && rep->type == REDIS_REPLY_STRING);
    freeReplyObject(rep);
    add_events(stream, topic, 3, NULL);
    tc_producer_t *p = it_producer();
    tc_routbox_opts_t o = {
        .redis = redis, .producer = p, .stream = stream, .consumer = "it-c", .interval_ms = 50};
    tc_routbox_t *r = tc_routbox_start(&o);
    published_t want = {r, 3};
    cr_assert(it_wait(published_enough, &want, 30000));
    tc_routbox_stop(r);
    cr_assert_eq(stream_len(stream), 0, "the junk entry is gone too");
    char dead[80];
    snprintf(dead, sizeof dead, "%s:dead", stream);
    cr_assert_eq(stream_len(dead), 1, "the unpublishable event is kept aside, not lost");
    rep = tc_redis_cmdf(redis, "XRANGE %s - +", dead);
    cr_assert(rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 1);
    const redisReply *kv = rep->element[0]->element[1];
    cr_assert_str_eq(kv->element[0]->str, "reason");
    cr_assert_str_eq(kv->element[2]->str, "topic", "the entry's own fields follow");
    freeReplyObject(rep);
    tc_producer_free(p);
}

Test(routbox, add_refuses_an_incomplete_event_and_reports_redis_unreachable)
{
    tc_event_t ev = {.type = IT_EV_TYPE, .source = "/tests/routbox"};
    cr_assert_eq(tc_routbox_add(redis, "it-rstream-x", "t", &ev, NULL, 0), TC_EINVAL);
    tc_event_t bad = {.type = "bad\x01type", .source = "/tests/routbox", .data = "{}"};
    cr_assert_eq(tc_routbox_add(redis, "it-rstream-x", "t", &bad, NULL, 0), TC_EINVAL,
                 "an event no relay could publish is refused when it is stored");
    tc_redis_opts_t o = {.url = "redis://127.0.0.1:1/0", .connect_timeout_ms = 200};
    tc_redis_t *down = tc_redis_open(&o);
    cr_assert_not_null(down);
    ev.data = "{}";
    cr_assert_eq(tc_routbox_add(down, "it-rstream-x", "t", &ev, NULL, 0), TC_EUNAVAIL);
    tc_redis_close(down);
}

Test(routbox, relays_that_are_gone_and_hold_nothing_are_forgotten)
{
    char stream[64], topic[64];
    it_unique("it-rstream", stream, sizeof stream);
    it_unique("it-routbox", topic, sizeof topic);
    add_events(stream, topic, 1, NULL);
    redisReply *rep = tc_redis_cmdf(redis, "XGROUP CREATE %s relay 0 MKSTREAM", stream);
    cr_assert(rep && rep->type != REDIS_REPLY_ERROR);
    freeReplyObject(rep);
    /* "holding" read the entry and died; "gone" read nothing since */
    rep = tc_redis_cmdf(redis, "XREADGROUP GROUP relay holding COUNT 10 STREAMS %s >", stream);
    freeReplyObject(rep);
    rep = tc_redis_cmdf(redis, "XREADGROUP GROUP relay gone COUNT 10 STREAMS %s >", stream);
    freeReplyObject(rep);
    tc_sleep_ms(300);
    tc_producer_t *p = it_producer();
    tc_routbox_opts_t o = {.redis = redis,
                           .producer = p,
                           .stream = stream,
                           .consumer = "it-d",
                           .interval_ms = 50,
                           .claim_idle_ms = 60000,
                           .forget_idle_ms = 200};
    tc_routbox_t *r = tc_routbox_start(&o);
    tc_sleep_ms(500);
    tc_routbox_stop(r);
    rep = tc_redis_cmdf(redis, "XINFO CONSUMERS %s relay", stream);
    cr_assert(rep && rep->type == REDIS_REPLY_ARRAY);
    bool gone = true, holding = false;
    for (size_t i = 0; i < rep->elements; i++) {
        const redisReply *kv = rep->element[i];
        for (size_t k = 0; k + 1 < kv->elements; k += 2)
            if (strcmp(kv->element[k]->str, "name") == 0) {
                gone = gone && strcmp(kv->element[k + 1]->str, "gone") != 0;
                holding = holding || strcmp(kv->element[k + 1]->str, "holding") == 0;
            }
    }
    freeReplyObject(rep);
    cr_assert(gone, "the idle relay holding nothing is forgotten");
    cr_assert(holding, "a relay still holding entries is kept (another relay claims them)");
    tc_producer_free(p);
}
