/*
 * usage_events.h: one com.techcorp.api.request event per request, off the request path.
 *
 * A worker copies a fixed-size record into its own single-producer ring (no lock, no
 * allocation); one background thread drains every ring each millisecond (20 ms when idle),
 * formats the CloudEvent and hands it to the libcommon producer (librdkafka batches and
 * retries). A full ring, or a full producer queue while the broker is down, drops the event
 * and counts it in gateway_usage_events_dropped_total.
 */
#ifndef GW_USAGE_EVENTS_H
#define GW_USAGE_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "gw.h"
#include "tc/tc_buf.h"

#define GW_USAGE_TOPIC  "analytics-events"
#define GW_USAGE_TYPE   "com.techcorp.api.request"
#define GW_USAGE_SCHEMA "https://schemas.techcorp.com/events/com.techcorp.api.request.json"

typedef struct {
    char request_id[48];
    char org[64];
    char principal[64];
    char route[64];
    uint8_t ptype;  /* gw_principal_type_t */
    uint8_t method; /* http_method_t */
    uint16_t status;
    uint32_t latency_us;
    uint64_t bytes_in, bytes_out;
    int64_t occurred_ms; /* wall clock */
} gw_usage_rec_t;

gw_usage_t *gw_usage_new(gw_app_t *app, int rings, int capacity);
int gw_usage_start(gw_usage_t *u);
/* Stops the thread after draining the rings into the producer. */
void gw_usage_stop(gw_usage_t *u);
void gw_usage_free(gw_usage_t *u);
/* From worker `ring` only. */
void gw_usage_record(gw_usage_t *u, int ring, const gw_usage_rec_t *rec);

/* The event's data JSON (exposed for unit tests). TC_OK or TC_ENOMEM. */
int gw_usage_format(const gw_usage_rec_t *rec, tc_buf_t *out);
const char *gw_principal_type_name(int ptype);

#endif
