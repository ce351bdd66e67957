/*
 * tc_routbox.h: the outbox of a service whose store is Redis (DESIGN section 5's outbox
 * without a database): an event is appended to a Redis stream before the request that
 * caused it is answered, and a relay thread publishes the stream to Kafka and deletes each
 * entry once the broker acknowledged it.
 *
 *   tc_routbox_add()    XADD of the event (its id and time fixed here, so a republished entry
 *                       is the same CloudEvent and consumers' inboxes drop the copy)
 *   tc_routbox_start()  the relay: a consumer group on the stream; each round retries its own
 *                       pending entries, else claims those left by a relay that died
 *                       (XAUTOCLAIM past claim_idle_ms), else reads new ones; publishes them
 *                       with tc_producer_send_all and XACK + XDEL those acknowledged. What the
 *                       broker did not take is retried; what the producer refuses outright
 *                       (an invalid event) is moved to <stream>:dead with the reason.
 *
 * Delivery is at least once. Durability is Redis's: with append-only persistence a kill of
 * the service or of Redis loses nothing the service acknowledged.
 */
#ifndef TC_ROUTBOX_H
#define TC_ROUTBOX_H

#include <stdint.h>

#include "tc/tc_events.h"
#include "tc/tc_redis.h"

/* Appends ev, bound for topic, to the stream (ev->id NULL: a new evt_ id; ev->time NULL: now).
 * TC_OK; TC_EUNAVAIL when Redis cannot be reached (nothing was stored); TC_EINVAL for an event
 * the relay could never publish (tc_event_validate refuses it, or data over
 * TC_ROUTBOX_MAX_DATA); TC_ERROR when Redis refused the command. The id used goes to id_out
 * when non-NULL. */
#define TC_ROUTBOX_MAX_DATA (900 * 1024) /* under the broker's 1 MB message limit */
int tc_routbox_add(tc_redis_t *redis, const char *stream, const char *topic, const tc_event_t *ev,
                   char *id_out, size_t id_out_len);

typedef struct tc_routbox tc_routbox_t;

typedef struct {
    tc_redis_t *redis;
    tc_producer_t *producer;
    const char *stream;   /* "ml-inference:outbox" */
    const char *consumer; /* this replica's stable name in the relay group (its host name: a
                           * restarted process resumes its own pending entries at once) */
    int batch_size;       /* entries per round; default 500 */
    int interval_ms;      /* pause when a round found nothing; default 100 */
    int claim_idle_ms;    /* entries pending this long in a dead relay are taken; above the
                           * producer's message timeout (a live relay waiting out an outage
                           * keeps its batch); default 90000 */
    int forget_idle_ms;   /* relays idle this long holding nothing are dropped from the group
                           * (replicas that are gone); checked every 10 minutes; default 1 h */
} tc_routbox_opts_t;

/* Starts the relay thread; NULL when out of memory (a Redis outage is retried, not fatal). */
tc_routbox_t *tc_routbox_start(const tc_routbox_opts_t *opts);
/* Stops after a last round, so what was acknowledged before shutdown is published. */
void tc_routbox_stop(tc_routbox_t *r);
/* Entries in the stream at the last round (published ones are deleted): the backlog. */
int64_t tc_routbox_pending(tc_routbox_t *r);
uint64_t tc_routbox_published(tc_routbox_t *r);

#endif
