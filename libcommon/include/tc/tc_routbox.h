/*
 * tc_routbox.h: the outbox of a service whose store is Redis (DESIGN section 5's outbox
 * without a database): an event is appended to a Redis stream before the request that
 * caused it is answered, and a relay thread publishes the stream to Kafka and deletes each
 * entry once the broker acknowledged it.
 *
 *   tc_routbox_add()    XADD of the event (its id and time fixed here, so a republished entry
 *                       is the same CloudEvent and consumers' inboxes drop the copy)
 *   tc_routbox_start()  the relay: a consumer group on the stream; each round claims entries
 *                       left pending by a relay that died (XAUTOCLAIM past claim_idle_ms),
 *                       reads new ones, publishes them with tc_producer_send_all, and
 *                       XACK + XDEL those acknowledged; the rest are retried.
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
 * TC_OK, TC_EUNAVAIL when Redis cannot be reached (nothing was stored), TC_EINVAL when the
 * event lacks type, source or data. The id used goes to id_out when non-NULL. */
int tc_routbox_add(tc_redis_t *redis, const char *stream, const char *topic, const tc_event_t *ev,
                   char *id_out, size_t id_out_len);

typedef struct tc_routbox tc_routbox_t;

typedef struct {
    tc_redis_t *redis;
    tc_producer_t *producer;
    const char *stream;   /* "ml-inference:outbox" */
    const char *consumer; /* this replica's name in the relay group (host and pid) */
    int batch_size;       /* entries per round; default 500 */
    int interval_ms;      /* pause when a round found nothing; default 100 */
    int claim_idle_ms;    /* entries pending this long in a dead relay are taken; default 30000 */
} tc_routbox_opts_t;

/* Starts the relay thread; NULL when out of memory (a Redis outage is retried, not fatal). */
tc_routbox_t *tc_routbox_start(const tc_routbox_opts_t *opts);
/* Stops after a last round, so what was acknowledged before shutdown is published. */
void tc_routbox_stop(tc_routbox_t *r);
/* Entries in the stream at the last round (published ones are deleted): the backlog. */
int64_t tc_routbox_pending(tc_routbox_t *r);
uint64_t tc_routbox_published(tc_routbox_t *r);

#endif
