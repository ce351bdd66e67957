/* tc_tail against the Kafka dev broker: a group-less reader sees every partition's recent
 * events (those before its lookback stay unread) and then what arrives while it runs. */
#include "component.h"

#include <stdatomic.h>

typedef struct {
    char marker[64];
    atomic_int old, recent, live;
} seen_t;

static void on_event(const tc_event_t *ev, void *ud)
{
    seen_t *s = ud;
    if (!ev->subject || strncmp(ev->subject, s->marker, strlen(s->marker)) != 0)
        return;
    const char *what = ev->subject + strlen(s->marker);
    if (strcmp(what, "-old") == 0)
        atomic_fetch_add(&s->old, 1);
    else if (strncmp(what, "-recent", 7) == 0)
        atomic_fetch_add(&s->recent, 1);
    else if (strncmp(what, "-live", 5) == 0)
        atomic_fetch_add(&s->live, 1);
}

static void produce(tc_producer_t *p, const char *topic, const char *subject, int64_t time_ms)
{
    char t[TC_RFC3339_LEN], id[TC_ID_MAX];
    tc_time_format(time_ms, t);
    cr_assert_eq(tc_id_new("evt", id, sizeof id), TC_OK);
    tc_event_t ev = {.specversion = "1.0",
                     .id = id,
                     .source = "/tests/tail",
                     .type = IT_EV_TYPE,
                     .subject = (char *)subject,
                     .time = t,
                     .partitionkey = (char *)subject,
                     .data = "{}",
                     .data_len = 2};
    cr_assert_eq(tc_producer_send_sync(p, topic, &ev, 10000), TC_OK);
}

static int caught_up(void *ud)
{
    return tc_tail_caught_up(ud);
}

static int got_live(void *ud)
{
    return atomic_load(&((seen_t *)ud)->live) == 3;
}

Test(tail, reads_every_partition_from_the_lookback_on, .timeout = 90)
{
    tc_log_init("it", "error");
    char topic[64];
    it_unique("it-tail", topic, sizeof topic);
    seen_t s = {0};
    it_unique("m", s.marker, sizeof s.marker);
    tc_producer_t *p = it_producer();
    char subject[96];
    /* record timestamps are the producer's clock: wait between the batches instead */
    snprintf(subject, sizeof subject, "%s-old", s.marker);
    produce(p, topic, subject, tc_now_ms());
    tc_sleep_ms(4000);
    int64_t first_recent = tc_now_ms();
    for (int i = 0; i < 6; i++) {
        snprintf(subject, sizeof subject, "%s-recent-%d", s.marker, i); /* several partitions */
        produce(p, topic, subject, tc_now_ms());
    }
    /* back to a second before the recent ones, well after the old one */
    tc_tail_opts_t o = {.brokers = it_env("TC_TEST_KAFKA"),
                        .topic = topic,
                        .lookback_ms = tc_now_ms() - first_recent + 1000,
                        .fn = on_event,
                        .ud = &s};
    cr_assert_lt(o.lookback_ms, 3500, "producing took too long for this test's margins");
    tc_tail_t *t = tc_tail_start(&o);
    cr_assert_not_null(t);
    cr_assert(it_wait(caught_up, t, 30000), "never caught up");
    cr_assert_eq(atomic_load(&s.recent), 6, "every recent event, from every partition");
    cr_assert_eq(atomic_load(&s.old), 0, "nothing from before the lookback");
    for (int i = 0; i < 3; i++) {
        snprintf(subject, sizeof subject, "%s-live-%d", s.marker, i);
        produce(p, topic, subject, tc_now_ms());
    }
    cr_assert(it_wait(got_live, &s, 15000), "events arriving while it runs");
    tc_tail_stop(t);
    tc_producer_free(p);
}
