/*
 * tc_events.h: CloudEvents 1.0 over Kafka (binary content mode), idempotent producer,
 * transactional outbox with its relay, and a consumer with inbox dedupe, retries and
 * dead-lettering.
 *
 * Binary mode: every attribute is a `ce_<name>` header, `content-type` carries
 * datacontenttype, the message value is the data, and the message key is the
 * `partitionkey` extension (the aggregate id), so one aggregate's events stay ordered.
 *
 * Delivery is at-least-once end to end:
 *   tc_outbox_add() writes the event in the caller's transaction; the relay publishes rows
 *   in order and marks them sent only after the broker acknowledged them (acks=all,
 *   idempotent producer); the consumer records (group, event id) in `processed_events` in the
 *   same transaction as the handler's effects and stores the Kafka offset only after that
 *   transaction committed, so a redelivered event is recognised and skipped.
 */
#ifndef TC_EVENTS_H
#define TC_EVENTS_H

#include <cjson/cJSON.h>
#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "tc/tc_db.h"

/* An event. When decoded (tc_event_decode) every field is owned by the event and released by
 * tc_event_clear(); when built by a producer the fields are borrowed. */
typedef struct {
    char *specversion;     /* "1.0" */
    char *id;              /* evt_… (the outbox row id) */
    char *source;          /* "/users/usr_…" */
    char *type;            /* "com.techcorp.user.created" */
    char *subject;         /* optional */
    char *time;            /* RFC 3339; optional on input, always set by the outbox */
    char *datacontenttype; /* default application/json */
    char *dataschema;      /* optional */
    char *partitionkey;    /* Kafka message key */
    char *traceparent;     /* W3C trace context extension (optional) */
    char *data;            /* the payload (JSON text for application/json) */
    size_t data_len;
} tc_event_t;

/* TC_OK when id, source, type and specversion "1.0" are present and well-formed. */
int tc_event_validate(const tc_event_t *ev, const char **why);
/* Builds the Kafka headers of binary mode (caller owns the result). NULL when invalid. */
rd_kafka_headers_t *tc_event_headers(const tc_event_t *ev);
/* Decodes a Kafka message. TC_EINVAL (and *why) if a required attribute is missing. */
int tc_event_decode(const rd_kafka_message_t *msg, tc_event_t *ev, const char **why);
/* Same, from parts (used by tests and the DLT path). */
int tc_event_decode_parts(const rd_kafka_headers_t *hdrs, const void *key, size_t keylen,
                          const void *value, size_t len, tc_event_t *ev, const char **why);
void tc_event_clear(tc_event_t *ev);

/*
 * The org an event belongs to: data.org_id when it is a string, else the id in a source of
 * "/orgs/<id>" (the org's own events; a resource under an org carries data.org_id). false when
 * the event names no org, or its id does not fit in orglen. For consumers that act per org
 * (webhook fan-out, workflow event triggers).
 */
bool tc_event_org(const char *source, const cJSON *data, char *org, size_t orglen);
/*
 * The event as a CloudEvents JSON object in structured mode (what a webhook endpoint receives
 * as its body): specversion, id, source, type, subject, time, datacontenttype, and data as JSON
 * when the content type is JSON and the data parses, else as a string, or as data_base64 when
 * it is not UTF-8 text. partitionkey and traceparent stay out. Caller owns the result; NULL
 * when ev is NULL or out of memory.
 */
cJSON *tc_event_json(const tc_event_t *ev);

/* ------------------------------------------------------------------ producer */

typedef struct tc_producer tc_producer_t;

/* Connection security for Kafka (MSK and friends), applied to every producer and consumer
 * of the process: librdkafka property names and values, NULL-terminated pairs
 * ({"security.protocol", "SASL_SSL", "sasl.mechanisms", "SCRAM-SHA-512", …, NULL}).
 * tc_service fills it from KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_MECHANISM,
 * KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD and KAFKA_SSL_CA_LOCATION. */
typedef const char *const *tc_kafka_props_t;

typedef struct {
    const char *brokers;
    const char *client_id;
    tc_kafka_props_t props; /* optional connection security */
    int linger_ms;          /* default 5 */
    int message_timeout_ms; /* give up on a message after this long; default 30000 */
    int queue_max_messages; /* local buffer bound; default 100000 */
} tc_producer_opts_t;

/* rc is TC_OK when the broker acknowledged the message (acks=all), an error otherwise. */
typedef void (*tc_delivery_fn)(void *opaque, int rc, const char *error);

tc_producer_t *tc_producer_new(const tc_producer_opts_t *opts);
void tc_producer_free(tc_producer_t *p); /* flushes for up to 5 s first */
/* Queues a message; cb runs on the producer's poll thread. TC_EAGAIN when the local queue is
 * full; TC_EINVAL for a message no broker would take (over the size limit; tc_producer_send:
 * an invalid event); TC_ERROR otherwise. hdrs (may be NULL) is taken over in every case. */
int tc_producer_send_raw(tc_producer_t *p, const char *topic, const void *key, size_t keylen,
                         const void *value, size_t len, rd_kafka_headers_t *hdrs, tc_delivery_fn cb,
                         void *opaque);
int tc_producer_send(tc_producer_t *p, const char *topic, const tc_event_t *ev, tc_delivery_fn cb,
                     void *opaque);
/* Sends and waits for the delivery report. */
int tc_producer_send_sync(tc_producer_t *p, const char *topic, const tc_event_t *ev,
                          int timeout_ms);
/* Raw message, waits for the delivery report (dead-letter path). hdrs is taken over. */
int tc_producer_send_raw_sync(tc_producer_t *p, const char *topic, const void *key, size_t keylen,
                              const void *value, size_t len, rd_kafka_headers_t *hdrs,
                              int timeout_ms);
/* Queues n events (events[i] to topics[i]) and waits for every delivery report: rcs[i] is
 * TC_OK when the broker acknowledged events[i]. Every queued message gets exactly one report,
 * at the latest after message_timeout_ms. Returns how many failed, or TC_ENOMEM. For relays
 * that publish a batch of stored events and then mark which ones are out. */
int tc_producer_send_all(tc_producer_t *p, const char *const *topics, const tc_event_t *events,
                         int n, int *rcs);
int tc_producer_flush(tc_producer_t *p, int timeout_ms);
/* TC_OK when a broker answered a metadata request within timeout_ms. */
int tc_producer_ping(tc_producer_t *p, int timeout_ms);
rd_kafka_t *tc_producer_handle(tc_producer_t *p);

/* ------------------------------------------------------------------ outbox */

/*
 * Writes the event into `outbox` inside the caller's open transaction and NOTIFYs the relay
 * (delivered at commit). id NULL → a new evt_ id; time NULL → now; datacontenttype NULL →
 * application/json. The id used is copied to id_out when non-NULL.
 */
int tc_outbox_add(tc_dbconn_t *tx, const char *topic, const tc_event_t *ev, char *id_out,
                  size_t id_out_len);

/* The platform's schema URL for an event type (proto/events/<type>.json). */
#define TC_SCHEMA_BASE "https://schemas.techcorp.com/events/"

/*
 * A catalogued event type: one entry of a topic's "events" in proto/topics.json. The build
 * generates them as TC_EV_<DOMAIN>_<EVENT> (tc/tc_proto.h), e.g. TC_EV_USER_CREATED for
 * "com.techcorp.user.created" on user-events with source "/users/{id}".
 */
typedef struct {
    const char *type;       /* "com.techcorp.user.created" */
    const char *topic;      /* "user-events" */
    const char *collection; /* "users": the source is "/users/<id>"; NULL: chosen per event */
} tc_event_type_t;

/* The catalogued type of that name, or NULL. */
const tc_event_type_t *tc_event_type_find(const char *type);

/* Whether an event type matches a pattern: the type itself, "prefix.*" (the types under that
 * prefix: "com.techcorp.user.*" matches "com.techcorp.user.created", not
 * "com.techcorp.users.created" nor "com.techcorp.user"), or "*" (every type). */
bool tc_event_type_match(const char *pattern, const char *type);

/*
 * Emits an event of a catalogued type in the caller's transaction (DESIGN section 5): the
 * topic from the catalogue, source "/<collection>/<id>", subject and partition key id (the
 * aggregate whose events stay in order), time now, the schema URL of the type, and data
 * serialised (taken over; NULL means it could not be built: TC_ENOMEM).
 */
int tc_emit(tc_dbconn_t *tx, const tc_event_type_t *type, const char *id, cJSON *data);
/* The same with each attribute given: source (a path "/<collection>/<id>"), subject and
 * partition key (NULL: the id at the end of the source). For events whose source is not the
 * type's collection (an audit record names the resource acted upon) or whose key is another
 * aggregate than the source (a login keyed by its user, sourced at its session). */
int tc_emit_at(tc_dbconn_t *tx, const tc_event_type_t *type, const char *source,
               const char *subject, const char *key, cJSON *data);

/*
 * Many events of one transaction in one round trip: a fan-out that emits thousands of events
 * would otherwise pay one statement each. add() stamps an event as tc_emit would (id, time,
 * trace) and keeps it; flush() writes what was added, in that order, with one COPY into the
 * outbox inside the caller's open transaction, NOTIFYs the relay once and empties the batch.
 */
typedef struct tc_emit_batch tc_emit_batch_t;
tc_emit_batch_t *tc_emit_batch_new(void);
/* As tc_emit: data taken over (NULL: TC_ENOMEM). */
int tc_emit_batch_add(tc_emit_batch_t *b, const tc_event_type_t *type, const char *id, cJSON *data);
size_t tc_emit_batch_count(const tc_emit_batch_t *b);
int tc_emit_batch_flush(tc_dbconn_t *tx, tc_emit_batch_t *b);
void tc_emit_batch_free(tc_emit_batch_t *b);

typedef struct tc_relay tc_relay_t;

typedef struct {
    tc_db_t *db; /* the service's pool (for conninfo) */
    tc_producer_t *producer;
    int batch_size;       /* rows per round; default 1000 */
    int poll_interval_ms; /* fallback poll when no NOTIFY arrives; default 1000 */
    int retention_hours;  /* sent rows kept this long, then deleted; default 24 */
} tc_relay_opts_t;

/* Starts the relay thread. Only one relay per database publishes at a time (advisory
 * lock); the others wait as standbys and take over if the leader goes away. */
tc_relay_t *tc_relay_start(const tc_relay_opts_t *opts);
/* Stops after the batch in flight is acknowledged (or timed out), then returns. */
void tc_relay_stop(tc_relay_t *r);
bool tc_relay_is_leader(tc_relay_t *r);
/* Rows not yet sent, as of the last round (-1 before the first). */
int64_t tc_relay_pending(tc_relay_t *r);
/* Events published since start. */
uint64_t tc_relay_published(tc_relay_t *r);

/* ------------------------------------------------------------------ consumer */

/*
 * Handler contract: runs inside the consumer's transaction when a db is given (tx non-NULL)
 * and must do all its writes through tx. Returns:
 *   TC_OK         processed; committed together with the inbox row
 *   TC_EINVAL     permanently bad (poison): dead-lettered at once, no retry
 *   TC_EUNAVAIL / TC_ETIMEDOUT   a dependency is down: retried with backoff for as long as
 *                 it takes (never dead-lettered: the event is fine, the world is not)
 *   other         retried with backoff up to max_attempts, then dead-lettered
 */
typedef int (*tc_event_handler_fn)(const tc_event_t *ev, const char *topic, tc_dbconn_t *tx,
                                   void *ud);
/* A batch handler (tc_consumer_opts_t.batch_fn): the events of a batch the inbox had not
 * seen, in order, inside the batch's transaction — one statement for many events. Any result
 * but TC_OK rolls the batch back, and each of its events is then handled on its own by
 * `handler` (retries, dead-lettering). */
typedef int (*tc_batch_handler_fn)(const tc_event_t *const *evs, int n, tc_dbconn_t *tx, void *ud);
/* Called after the handler's transaction committed and before the offset is stored. */
typedef void (*tc_consumer_hook_fn)(const tc_event_t *ev, void *ud);

typedef struct tc_consumer tc_consumer_t;

typedef struct {
    const char *brokers;
    tc_kafka_props_t props;    /* optional connection security, see tc_producer_opts_t */
    const char *group;         /* consumer group id, also the inbox key */
    const char *const *topics; /* NULL-terminated */
    tc_event_handler_fn handler;
    void *ud;
    tc_db_t *db;                   /* NULL: no transaction, no inbox (idempotent handlers) */
    tc_producer_t *producer;       /* used for <topic>.dlt */
    int max_attempts;              /* default 5 */
    int backoff_initial_ms;        /* default 200 */
    int backoff_max_ms;            /* default 10000 */
    int session_timeout_ms;        /* default 10000 (dev/test: 6000) */
    int heartbeat_interval_ms;     /* default 3000 (dev/test: 1000) */
    int fetch_wait_ms;             /* fetch.wait.max.ms; default 500 (librdkafka's) */
    const char *auto_offset_reset; /* default "earliest" */
    tc_consumer_hook_fn after_commit;
    void *hook_ud;
    /* Up to this many events already fetched are handled in one transaction (one commit, one
     * fsync), each with its inbox row, in order. When any of them fails, or the commit does,
     * the transaction is rolled back and each event of the batch is handled on its own, as
     * without batching (retries, dead-lettering; no further than the first event left for
     * redelivery when stopping). A handler's effects outside the transaction (counters, log
     * lines) then happen twice. 0 or 1: one event per transaction. With a db only; for
     * high-volume topics whose handlers are short (metering). */
    int batch_max;
    /* With batch_max > 1: the batch's inbox rows in one statement and its new events handed
     * to batch_fn at once (batch_ud) instead of to handler one by one. Optional. */
    tc_batch_handler_fn batch_fn;
    void *batch_ud;
    /* No inbox rows: every handler (and batch_fn) writes only rows keyed by the event (its id
     * a unique key, ON CONFLICT DO NOTHING), so a redelivered event is absorbed by the store
     * itself, one write per event fewer. Every event of a batch is handed over, an id
     * repeated within a batch too. For high-volume append-only stores (analytics). */
    bool no_inbox;
} tc_consumer_opts_t;

tc_consumer_t *tc_consumer_start(const tc_consumer_opts_t *opts);
/* Finishes the event in hand, commits stored offsets, leaves the group. */
void tc_consumer_stop(tc_consumer_t *c);
/* 1 once the consumer has been assigned partitions at least once. */
bool tc_consumer_assigned(tc_consumer_t *c);
uint64_t tc_consumer_processed(tc_consumer_t *c);
/* Deletes up to limit inbox rows (processed_events) older than retention_hours: a redelivery
 * comes only while the broker still holds the event (the topics' retention), so older rows
 * recognise nothing and only grow the table. *deleted: how many (may be NULL). */
int tc_inbox_prune(tc_dbconn_t *c, int retention_hours, int limit, int *deleted);
/* Events behind on the partitions assigned to this member, as of the last measurement (every
 * second, also exported as events_consumer_lag{topic,group}); -1 before it is known. */
int64_t tc_consumer_lag(tc_consumer_t *c);

/* ------------------------------------------------------------------ tail reader */

/*
 * A group-less reader of a topic's recent events: every partition from lookback_ms ago on,
 * nothing committed, fn called for each event on the reader's thread. For state each process
 * must build from the whole topic, which a consumer group (one share of the partitions per
 * replica) cannot give: the revocation list behind every token verifier. Records that are not
 * CloudEvents are skipped. A broker outage delays it; it retries until stopped.
 */
typedef void (*tc_tail_fn)(const tc_event_t *ev, void *ud);
typedef struct {
    const char *brokers;
    tc_kafka_props_t props;
    const char *topic;
    int64_t lookback_ms;
    tc_tail_fn fn;
    void *ud;
} tc_tail_opts_t;
typedef struct tc_tail tc_tail_t;
tc_tail_t *tc_tail_start(const tc_tail_opts_t *opts);
void tc_tail_stop(tc_tail_t *t);
/* true once every partition has been read to the end it had when reading began */
bool tc_tail_caught_up(const tc_tail_t *t);

/* ------------------------------------------------------------------ dispatch by type */

/* A handler for one event type: data is the parsed payload (a JSON object); the rest is the
 * consumer's contract above (runs in tx, returns TC_OK / TC_EINVAL / …). */
typedef int (*tc_event_on_fn)(const tc_event_t *ev, const cJSON *data, tc_dbconn_t *tx, void *ud);

typedef struct {
    const tc_event_type_t *type; /* TC_EV_… */
    tc_event_on_fn fn;
} tc_event_route_t;

/*
 * A dispatcher is a tc_event_handler_fn (tc_dispatch_event, with the dispatcher as ud) for the
 * topics its routes' types live on. Each event goes to the handler of its type; a type no
 * route names is counted in events_skipped_total{topic,reason="unhandled_type"} and skipped
 * (its offset moves on); data that is not a JSON object is poison (TC_EINVAL, dead-lettered).
 * NULL for an empty table, a route without type or handler, or a type listed twice.
 */
typedef struct tc_dispatch tc_dispatch_t;
tc_dispatch_t *tc_dispatch_new(const tc_event_route_t *routes, size_t n, void *ud);
void tc_dispatch_free(tc_dispatch_t *d);
/* The distinct topics of the routes' types, NULL-terminated; lives as long as d. */
const char *const *tc_dispatch_topics(const tc_dispatch_t *d);
int tc_dispatch_event(const tc_event_t *ev, const char *topic, tc_dbconn_t *tx, void *ud);

/* DLT header names (original headers are kept as they were). */
#define TC_DLT_TOPIC     "dlt.original.topic"
#define TC_DLT_PARTITION "dlt.original.partition"
#define TC_DLT_OFFSET    "dlt.original.offset"
#define TC_DLT_GROUP     "dlt.consumer.group"
#define TC_DLT_ERROR     "dlt.error"
#define TC_DLT_ATTEMPTS  "dlt.attempts"
#define TC_DLT_FAILED_AT "dlt.failed.at"

#endif
