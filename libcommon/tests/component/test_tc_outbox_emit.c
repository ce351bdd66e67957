/* tc_emit / tc_emit_at: the DESIGN section 5 attributes of a catalogued event, on its topic,
 * from the outbox to the broker. */
#include "component.h"

#include "tc/tc_json.h"
#include "tc/tc_proto.h"

static tc_db_t *g_db;
static tc_producer_t *g_producer;
static tc_relay_t *g_relay;

static void setup(void)
{
    g_db = it_db(4);
    g_producer = it_producer();
    tc_relay_opts_t ro = {.db = g_db, .producer = g_producer, .poll_interval_ms = 100};
    g_relay = tc_relay_start(&ro);
    cr_assert_not_null(g_relay);
}

static void teardown(void)
{
    tc_relay_stop(g_relay);
    tc_producer_free(g_producer);
    tc_db_close(g_db);
}

TestSuite(emit, .init = setup, .fini = teardown, .timeout = 90);

typedef struct {
    const char *want_subject;
    char source[128], subject[128], type[128], schema[192], key[128];
    int found;
} seen_t;

static void on_msg(const rd_kafka_message_t *m, void *ud)
{
    seen_t *s = ud;
    char subject[128];
    if (!it_header(m, "ce_subject", subject, sizeof subject) ||
        strcmp(subject, s->want_subject) != 0)
        return;
    s->found++;
    it_header(m, "ce_source", s->source, sizeof s->source);
    it_header(m, "ce_type", s->type, sizeof s->type);
    it_header(m, "ce_dataschema", s->schema, sizeof s->schema);
    snprintf(s->key, sizeof s->key, "%.*s", (int)m->key_len, (const char *)m->key);
    snprintf(s->subject, sizeof s->subject, "%s", subject);
}

static void emit_in_tx(int (*emit)(tc_dbconn_t *tx, const char *id), const char *id)
{
    tc_dbconn_t *tx = tc_db_acquire(g_db);
    cr_assert_not_null(tx);
    cr_assert_eq(tc_db_begin(tx), TC_OK);
    cr_assert_eq(emit(tx, id), TC_OK);
    cr_assert_eq(tc_db_commit(tx), TC_OK);
    tc_db_release(g_db, tx);
}

static int emit_org(tc_dbconn_t *tx, const char *id)
{
    cJSON *d = cJSON_CreateObject();
    tc_json_add_str(d, "id", id);
    return tc_emit(tx, TC_EV_ORG_UPDATED, id, d);
}

static int emit_login(tc_dbconn_t *tx, const char *id)
{
    cJSON *d = cJSON_CreateObject();
    tc_json_add_str(d, "session_id", id);
    char source[96];
    snprintf(source, sizeof source, "/sessions/%s", id);
    return tc_emit_at(tx, TC_EV_AUTH_LOGIN_SUCCEEDED, source, NULL, "usr_key", d);
}

Test(emit, a_catalogued_event_carries_its_source_key_topic_and_schema)
{
    char id[64];
    it_unique("org", id, sizeof id);
    emit_in_tx(emit_org, id);
    seen_t s = {.want_subject = id};
    it_read_topic("user-events", 24, 1000000, 8000, on_msg, &s);
    cr_assert_eq(s.found, 1, "exactly one event on user-events");
    char want[128];
    snprintf(want, sizeof want, "/orgs/%s", id);
    cr_assert_str_eq(s.source, want);
    cr_assert_str_eq(s.type, "com.techcorp.org.updated");
    cr_assert_str_eq(s.key, id);
    cr_assert_str_eq(s.schema, "https://schemas.techcorp.com/events/com.techcorp.org.updated.json");
}

Test(emit, emit_at_sets_each_attribute)
{
    char sid[64];
    it_unique("ses", sid, sizeof sid);
    emit_in_tx(emit_login, sid);
    seen_t s = {.want_subject = sid};
    it_read_topic("auth-events", 12, 1000000, 8000, on_msg, &s);
    cr_assert_eq(s.found, 1);
    char want[128];
    snprintf(want, sizeof want, "/sessions/%s", sid);
    cr_assert_str_eq(s.source, want);
    cr_assert_str_eq(s.key, "usr_key", "keyed by the aggregate, not the source");
    cr_assert_str_eq(s.subject, sid);
}

Test(emit, what_cannot_be_an_event_is_refused_before_the_outbox)
{
    tc_dbconn_t *tx = tc_db_acquire(g_db);
    cr_assert_not_null(tx);
    cr_assert_eq(tc_db_begin(tx), TC_OK);
    cr_assert_eq(tc_emit(tx, TC_EV_ORG_UPDATED, "org_1", NULL), TC_ENOMEM);
    cr_assert_eq(tc_emit(tx, TC_EV_ORG_UPDATED, "", cJSON_CreateObject()), TC_EINVAL);
    cr_assert_eq(tc_emit(tx, TC_EV_ORG_UPDATED, "a/b", cJSON_CreateObject()), TC_EINVAL);
    /* an audit record has no collection of its own: it must say where it comes from */
    cr_assert_eq(tc_emit(tx, TC_EV_AUDIT_RECORDED, "org_1", cJSON_CreateObject()), TC_EINVAL);
    cr_assert_eq(tc_emit_at(tx, TC_EV_AUDIT_RECORDED, "no-slash", NULL, NULL, cJSON_CreateObject()),
                 TC_EINVAL);
    cr_assert_eq(tc_emit_at(tx, TC_EV_AUDIT_RECORDED, "/orgs/", NULL, NULL, cJSON_CreateObject()),
                 TC_EINVAL);
    tc_db_rollback(tx);
    tc_db_release(g_db, tx);
}

/* ------------------------------------------------------------------ batches */

typedef struct {
    char prefix[64];
    int found;
    char data[3][256];
    char source[3][128];
    char key[3][128];
} batch_seen_t;

static void on_batch_msg(const rd_kafka_message_t *m, void *ud)
{
    batch_seen_t *s = ud;
    char subject[128];
    size_t plen = strlen(s->prefix);
    if (!it_header(m, "ce_subject", subject, sizeof subject) ||
        strncmp(subject, s->prefix, plen) != 0 || subject[plen] < '0' || subject[plen] > '2')
        return;
    int i = subject[plen] - '0';
    s->found++;
    snprintf(s->data[i], sizeof s->data[i], "%.*s", (int)m->len, (const char *)m->payload);
    it_header(m, "ce_source", s->source[i], sizeof s->source[i]);
    snprintf(s->key[i], sizeof s->key[i], "%.*s", (int)m->key_len, (const char *)m->key);
}

Test(emit, a_batch_writes_its_events_in_order_with_one_copy_and_they_reach_the_topic)
{
    batch_seen_t s = {0};
    it_unique("org", s.prefix, sizeof s.prefix);
    tc_emit_batch_t *b = tc_emit_batch_new();
    cr_assert_not_null(b);
    /* the COPY format's own characters in the data: a tab, a newline, a backslash */
    const char *notes[] = {"plain", "tab\there\nnew line", "back\\slash \\N"};
    for (int i = 0; i < 3; i++) {
        char id[80];
        snprintf(id, sizeof id, "%s%d", s.prefix, i);
        cJSON *d = cJSON_CreateObject();
        tc_json_add_str(d, "note", notes[i]);
        cr_assert_eq(tc_emit_batch_add(b, TC_EV_ORG_UPDATED, id, d), TC_OK);
    }
    cr_assert_eq(tc_emit_batch_count(b), 3);
    cr_assert_eq(tc_emit_batch_add(b, TC_EV_ORG_UPDATED, "a/b", cJSON_CreateObject()), TC_EINVAL);
    cr_assert_eq(tc_emit_batch_add(b, TC_EV_ORG_UPDATED, "org_x", NULL), TC_ENOMEM);
    cr_assert_eq(tc_emit_batch_count(b), 3, "a refused event adds nothing");

    tc_dbconn_t *tx = tc_db_acquire(g_db);
    cr_assert_not_null(tx);
    cr_assert_eq(tc_db_begin(tx), TC_OK);
    cr_assert_eq(tc_emit_batch_flush(tx, b), TC_OK);
    cr_assert_eq(tc_emit_batch_count(b), 0, "a flushed batch is empty");
    cr_assert_eq(tc_emit_batch_flush(tx, b), TC_OK, "flushing an empty batch writes nothing");
    cr_assert_eq(tc_db_commit(tx), TC_OK);
    tc_db_release(g_db, tx);
    tc_emit_batch_free(b);

    char like[80];
    snprintf(like, sizeof like, "%s%%", s.prefix);
    cr_assert_eq(it_scalar(g_db,
                           "SELECT count(*) FROM (SELECT subject, row_number() OVER (ORDER BY seq)"
                           " AS n FROM outbox WHERE subject LIKE $1) o"
                           " WHERE right(subject, 1)::int + 1 = n",
                           like),
                 3, "the outbox holds them in the order they were added");

    it_read_topic("user-events", 24, 1000000, 8000, on_batch_msg, &s);
    cr_assert_eq(s.found, 3, "each event once on the type's topic");
    for (int i = 0; i < 3; i++) {
        char want[128], id[80];
        snprintf(id, sizeof id, "%s%d", s.prefix, i);
        snprintf(want, sizeof want, "/orgs/%s", id);
        cr_assert_str_eq(s.source[i], want);
        cr_assert_str_eq(s.key[i], id);
        cJSON *d = cJSON_Parse(s.data[i]);
        cr_assert_not_null(d, "%s", s.data[i]);
        cr_assert_str_eq(tc_json_get_str(d, "note"), notes[i], "the data arrives unchanged");
        cJSON_Delete(d);
    }
}

Test(emit, a_batch_flushed_in_a_transaction_rolled_back_leaves_nothing)
{
    char id[64];
    it_unique("org", id, sizeof id);
    tc_emit_batch_t *b = tc_emit_batch_new();
    cr_assert_not_null(b);
    cr_assert_eq(tc_emit_batch_add(b, TC_EV_ORG_UPDATED, id, cJSON_CreateObject()), TC_OK);
    tc_dbconn_t *tx = tc_db_acquire(g_db);
    cr_assert_not_null(tx);
    cr_assert_eq(tc_db_begin(tx), TC_OK);
    cr_assert_eq(tc_emit_batch_flush(tx, b), TC_OK);
    tc_db_rollback(tx);
    tc_db_release(g_db, tx);
    tc_emit_batch_free(b);
    cr_assert_eq(it_scalar(g_db, "SELECT count(*) FROM outbox WHERE subject=$1", id), 0);
}
