/* tc_dispatch: events reach the handler of their type with parsed data; other types are
 * skipped and counted; data that is not a JSON object is poison. */
#include <criterion/criterion.h>

#include "tc/tc_buf.h"
#include "tc/tc_core.h"
#include "tc/tc_events.h"
#include "tc/tc_json.h"
#include "tc/tc_log.h"
#include "tc/tc_metrics.h"
#include "tc/tc_proto.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    int created, updated;
    char last_id[64];
} seen_t;

static int on_created(const tc_event_t *ev, const cJSON *data, tc_dbconn_t *tx, void *ud)
{
    TC_UNUSED(ev);
    TC_UNUSED(tx);
    seen_t *s = ud;
    s->created++;
    snprintf(s->last_id, sizeof s->last_id, "%s", tc_json_get_str(data, "id"));
    return TC_OK;
}

static int on_updated(const tc_event_t *ev, const cJSON *data, tc_dbconn_t *tx, void *ud)
{
    TC_UNUSED(ev);
    TC_UNUSED(data);
    TC_UNUSED(tx);
    ((seen_t *)ud)->updated++;
    return TC_EUNAVAIL; /* a handler's code is the consumer's to act on */
}

static tc_event_t ev_of(const char *type, const char *data)
{
    tc_event_t ev = {.type = (char *)type, .id = "evt_1", .data = (char *)data};
    ev.data_len = data ? strlen(data) : 0;
    return ev;
}

static double skipped(void)
{
    tc_buf_t b = TC_BUF_INIT;
    cr_assert_eq(tc_metrics_render(&b), TC_OK);
    const char *line = strstr(
        tc_buf_cstr(&b), "events_skipped_total{topic=\"user-events\",reason=\"unhandled_type\"} ");
    double v = line ? strtod(strchr(line, '}') + 2, NULL) : 0;
    tc_buf_free(&b);
    return v;
}

Test(dispatch, each_type_to_its_handler)
{
    tc_log_init("dispatch-test", "error");
    seen_t seen = {0};
    const tc_event_route_t routes[] = {
        {TC_EV_USER_CREATED, on_created},
        {TC_EV_USER_UPDATED, on_updated},
        {TC_EV_ORG_CREATED, on_created},
    };
    tc_dispatch_t *d = tc_dispatch_new(routes, TC_ARRAY_LEN(routes), &seen);
    cr_assert_not_null(d);
    const char *const *topics = tc_dispatch_topics(d);
    cr_assert_str_eq(topics[0], "user-events");
    cr_assert_null(topics[1], "one topic, listed once");

    tc_event_t created = ev_of("com.techcorp.user.created", "{\"id\":\"usr_1\"}");
    cr_assert_eq(tc_dispatch_event(&created, "user-events", NULL, d), TC_OK);
    cr_assert_eq(seen.created, 1);
    cr_assert_str_eq(seen.last_id, "usr_1");
    tc_event_t updated = ev_of("com.techcorp.user.updated", "{\"id\":\"usr_1\"}");
    cr_assert_eq(tc_dispatch_event(&updated, "user-events", NULL, d), TC_EUNAVAIL);
    cr_assert_eq(seen.updated, 1);

    double before = skipped();
    tc_event_t other = ev_of("com.techcorp.user.purged", "{\"id\":\"usr_1\"}");
    cr_assert_eq(tc_dispatch_event(&other, "user-events", NULL, d), TC_OK);
    cr_assert_eq(skipped(), before + 1);
    cr_assert_eq(seen.created + seen.updated, 2, "nothing ran for the unhandled type");

    tc_event_t poison = ev_of("com.techcorp.user.created", "[1,2]");
    cr_assert_eq(tc_dispatch_event(&poison, "user-events", NULL, d), TC_EINVAL);
    tc_event_t empty = ev_of("com.techcorp.user.created", NULL);
    cr_assert_eq(tc_dispatch_event(&empty, "user-events", NULL, d), TC_EINVAL);
    cr_assert_eq(seen.created, 1);
    tc_dispatch_free(d);
}

Test(dispatch, tables_that_cannot_work_are_refused)
{
    seen_t seen = {0};
    const tc_event_route_t twice[] = {{TC_EV_USER_CREATED, on_created},
                                      {TC_EV_USER_CREATED, on_updated}};
    const tc_event_route_t no_fn[] = {{TC_EV_USER_CREATED, NULL}};
    cr_assert_null(tc_dispatch_new(twice, 2, &seen));
    cr_assert_null(tc_dispatch_new(no_fn, 1, &seen));
    cr_assert_null(tc_dispatch_new(twice, 0, &seen));
    const tc_event_route_t two_topics[] = {{TC_EV_USER_CREATED, on_created},
                                           {TC_EV_AUTH_SESSION_REVOKED, on_updated}};
    tc_dispatch_t *d = tc_dispatch_new(two_topics, 2, &seen);
    cr_assert_not_null(d);
    cr_assert_str_eq(tc_dispatch_topics(d)[0], "user-events");
    cr_assert_str_eq(tc_dispatch_topics(d)[1], "auth-events");
    cr_assert_null(tc_dispatch_topics(d)[2]);
    tc_dispatch_free(d);
}

Test(dispatch, the_catalogue_is_complete_and_consistent)
{
    cr_assert_eq(tc_event_type_find("com.techcorp.user.created"), TC_EV_USER_CREATED);
    cr_assert_null(tc_event_type_find("com.techcorp.user.invented"));
    cr_assert_null(tc_event_type_find(NULL));
    for (size_t i = 0; i < TC_EVENT_TYPES_COUNT; i++) {
        const tc_event_type_t *t = &tc_event_types[i];
        cr_assert(strncmp(t->type, "com.techcorp.", 13) == 0, "%s", t->type);
        size_t n = strlen(t->topic);
        cr_assert(n > 7 && strcmp(t->topic + n - 7, "-events") == 0, "%s", t->topic);
        cr_assert(!t->collection || t->collection[0], "%s", t->type);
    }
    cr_assert_str_eq(TC_EV_AUDIT_RECORDED->topic, "audit-events");
    cr_assert_null(TC_EV_AUDIT_RECORDED->collection, "an audit record names its own source");
    cr_assert_str_eq(TC_EV_ORG_UPDATED->collection, "orgs");
}
