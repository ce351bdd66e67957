/*
 * stream_hub.h: the live inbox over WebSockets (GET /v1/notifications/stream). One thread owns
 * every upgraded connection in one epoll loop: it sends each user's new inbox items to that
 * user's connections, answers pings, pings idle clients and drops silent ones, and ends a
 * stream when its access token expires. Other threads talk to it through a queue:
 *   - the HTTP server hands it each upgraded socket (stream_hub_adopt);
 *   - the feed (stream_feed.h) publishes items as they commit and answers catch-up requests.
 *
 * Order and resume: items carry their user's stream number (seq, commit order). A connection
 * that resumes after a number is registered first, then caught up from the table; live items
 * arriving meanwhile wait, and anything at or below the last number sent is skipped — so a
 * resumed stream has no gap and no repeat.
 */
#ifndef NOTIFICATION_STREAM_HUB_H
#define NOTIFICATION_STREAM_HUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "store.h"

typedef struct stream_hub stream_hub_t;

/* Who a stream belongs to, from its handshake. */
typedef struct {
    char org[64];
    char user[64];
    int64_t after;  /* resume after this number; -1: live items only */
    int64_t exp_ms; /* the access token's expiry (wall clock): the stream ends then */
} stream_who_t;

/* Asks for the user's items after a number for connection conn (the feed's thread answers
 * with stream_hub_caught_up). Called on the hub's thread; must not block. */
typedef void (*stream_catch_up_fn)(void *ud, uint64_t conn, const char *org, const char *user,
                                   int64_t after);

typedef struct {
    int max_conns;      /* streams at once (NOTIFY_STREAM_MAX) */
    int ping_ms;        /* a silent client is pinged after this, dropped after twice it */
    size_t max_backlog; /* bytes queued for a slow client before it is dropped */
    int catch_up_max;   /* items a resume sends before telling the client it was cut */
    stream_catch_up_fn catch_up;
    void *catch_up_ud;
} stream_hub_opts_t;

stream_hub_t *stream_hub_new(const stream_hub_opts_t *opts);
int stream_hub_start(stream_hub_t *h);
/* Ends every stream (close 1001) and the thread; later adoptions are closed at once. */
void stream_hub_stop(stream_hub_t *h);
void stream_hub_free(stream_hub_t *h);

/* Streams open now (any thread). */
int stream_hub_count(stream_hub_t *h);
/* Whether another stream would exceed max_conns (any thread). */
bool stream_hub_full(stream_hub_t *h);

/* An upgraded connection (HTTP server thread, must not block): the hub owns fd from here. */
void stream_hub_adopt(stream_hub_t *h, int fd, const char *extra, size_t extra_len,
                      const stream_who_t *who);

/* The feed's side (any thread). */
/* Whether any stream of this user is open here: items of others need not be read. */
bool stream_hub_watching(stream_hub_t *h, const char *org, const char *user);
/* New items, by user then number; the hub takes ev (and its items). */
void stream_hub_publish(stream_hub_t *h, inbox_event_t *ev, int n);
/* The answer to a catch-up request: items after the number, in order (taken), and whether
 * there were more than catch_up_max. rc != TC_OK: the read failed and the stream is closed
 * (1011) for the client to resume again. */
void stream_hub_caught_up(stream_hub_t *h, uint64_t conn, int rc, inbox_event_t *ev, int n,
                          bool truncated);
/* The feed lost its LISTEN session: items may have been missed, so every stream is closed
 * with 1012 (service restart) and its client resumes from the last number it saw. */
void stream_hub_reset(stream_hub_t *h);

/* The text of one stream message: {"type":"notification","seq":n,"data":{…}} (malloc'd). */
char *stream_message(int64_t seq, const cJSON *item);

#endif
