/*
 * stream_feed.h: what the live inbox streams carry, read from PostgreSQL. A thread LISTENs on
 * STREAM_CHANNEL (each in-app insert notifies "<org> <user> <seq> <id>" at commit), reads the
 * items of users who have a stream open on this replica — in batches, with one query — and
 * hands them to the hub; it also answers the hub's catch-up requests (a stream resuming after
 * a number). When the LISTEN session is lost, notifications may have been missed: once it is
 * back, the hub closes every stream (1012) and each client resumes from its last number.
 */
#ifndef NOTIFICATION_STREAM_FEED_H
#define NOTIFICATION_STREAM_FEED_H

#include "stream_hub.h"
#include "tc/tc_db.h"

typedef struct stream_feed stream_feed_t;

stream_feed_t *stream_feed_new(tc_db_t *db, int catch_up_max);
/* The hub's catch-up hook (stream_catch_up_fn, ud = the feed): queued for the feed's thread. */
void stream_feed_catch_up(void *ud, uint64_t conn, const char *org, const char *user,
                          int64_t after);
int stream_feed_start(stream_feed_t *f, stream_hub_t *hub);
void stream_feed_stop(stream_feed_t *f);
void stream_feed_free(stream_feed_t *f);
/* TC_OK while the LISTEN session is up (readiness). */
int stream_feed_check(void *ud);

#endif
