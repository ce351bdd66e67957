/*
 * usage_meter.h: billing-grade usage records. Per org and window (GATEWAY_METER_WINDOW_MS,
 * 1 s), the count of requests that reached an upstream, published as com.techcorp.api.usage
 * on analytics-events at least once, under an id made of (gateway process, window, org), and
 * sent again until the broker acknowledges it. Billing counts these records and drops a
 * repeat by id; the per-request api.request events stay at most once (usage_events.h).
 *
 * Workers count into a table of their own (behind a mutex only the meter's thread also takes,
 * once per window). The meter's thread closes each window: it swaps every worker's table,
 * sums them per org, appends the records to the spool (meter_spool.h, synced) and sends them.
 * So a kill -9 loses at most the window being counted; a broker outage loses nothing while
 * the unacknowledged records fit GATEWAY_METER_MAX_RECORDS (beyond it a window's records are
 * dropped and their requests counted in gateway_meter_dropped_requests_total).
 */
#ifndef GW_USAGE_METER_H
#define GW_USAGE_METER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "meter_spool.h"
#include "tc/tc_events.h"
#include "tc/tc_metrics.h"

#define GW_METER_TOPIC  "analytics-events"
#define GW_METER_TYPE   "com.techcorp.api.usage"
#define GW_METER_SCHEMA "https://schemas.techcorp.com/events/com.techcorp.api.usage.json"

typedef struct gw_meter gw_meter_t;

/* Hands one record to the broker: TC_OK when queued (cb(opaque, rc, error) reports the
 * broker's answer later, on another thread), TC_EAGAIN when the local queue is full,
 * TC_EINVAL when no broker would ever take it. */
typedef int (*gw_meter_send_fn)(void *ud, const gw_meter_rec_t *r, tc_delivery_fn cb, void *opaque);

typedef struct {
    int workers;
    int window_ms;         /* GATEWAY_METER_WINDOW_MS */
    size_t max_records;    /* GATEWAY_METER_MAX_RECORDS: unacknowledged records kept */
    int retry_ms;          /* a record the broker refused is sent again after this */
    const char *spool_dir; /* GATEWAY_METER_SPOOL_DIR; NULL: memory only */
    gw_meter_send_fn send; /* NULL: gw_meter_send_event through producer */
    void *send_ud;
    tc_producer_t *producer;
    tc_metric_t *m_requests; /* gateway_meter_requests_total */
    tc_metric_t *m_dropped;  /* gateway_meter_dropped_requests_total{reason} */
} gw_meter_opts_t;

/* The process's instance id is drawn here; with a spool directory, abandoned spools are
 * adopted (their records sent again). NULL when out of memory or the spool cannot be used
 * (logged). */
gw_meter_t *gw_meter_new(const gw_meter_opts_t *o);
int gw_meter_start(gw_meter_t *m);
/* After the workers stopped: closes the window being counted and sends its records. */
void gw_meter_stop(gw_meter_t *m);
/* After the producer is gone (every report in): the spool keeps only what is unacknowledged,
 * and goes when nothing is. */
void gw_meter_free(gw_meter_t *m);

/* One request of org that reached an upstream, from worker w (0 ≤ w < workers). */
void gw_meter_count(gw_meter_t *m, int w, const char *org);

/* Closes the window that started at window_ms: the records go to the spool and are sent,
 * and due retries are sent. The meter's thread calls it once per window; tests call it. */
int gw_meter_close_window(gw_meter_t *m, int64_t window_ms);
/* Records not yet acknowledged. */
size_t gw_meter_pending(gw_meter_t *m);
const char *gw_meter_instance(const gw_meter_t *m);

/* The event a record becomes (exposed for tests): data JSON into b, the id into id. */
int gw_meter_event_data(const gw_meter_rec_t *r, tc_buf_t *b);
/* gw_meter_send_fn over a tc_producer_t (ud). */
int gw_meter_send_event(void *ud, const gw_meter_rec_t *r, tc_delivery_fn cb, void *opaque);

#endif
