/*
 * ingest_model.h: what becomes a row of the events table, without I/O.
 *
 *   fleet events   a CloudEvent of any *-events topic: its type without "com.techcorp." is
 *                  the name, the org and the person are read from the data's usual fields,
 *                  and the data minus personal and bulky fields are the properties.
 *   captured       product events a client sends (PostHog/Segment capture shape), validated
 *                  one by one so a bad batch is answered with every bad field at once.
 *   COPY rows      both rendered as lines of PostgreSQL's COPY text format.
 */
#ifndef INGEST_MODEL_H
#define INGEST_MODEL_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "tc/tc_buf.h"
#include "tc/tc_json.h"

#define AN_ORG_MAX      63    /* bytes of an org id */
#define AN_EVENT_ID_MAX 128   /* bytes of an event id (a client's uuid too) */
#define AN_NAME_MAX     200   /* code points of an event name */
#define AN_DISTINCT_MAX 200   /* code points of a distinct id */
#define AN_PROPS_MAX    32768 /* bytes of an event's properties as JSON */
#define AN_CAPTURE_MAX  1000  /* events per capture request */

/* A row to store. Strings are borrowed from the event or body it was read from, except
 * properties, which the row owns. */
typedef struct {
    const char *org_id;
    const char *id;
    const char *name;
    const char *distinct_id;
    int64_t occurred_ms;
    cJSON *properties;
} an_row_t;

/* Why a fleet event is not stored. */
typedef enum {
    AN_KEEP = 0,
    AN_SKIP_NO_ORG,  /* no org to file it under (a service token's call, a system event) */
    AN_SKIP_EXPIRED, /* older than the retention: its partition is gone or about to be */
    AN_SKIP_FUTURE,  /* its time (checked against its envelope's) more than the skew ahead of now */
} an_verdict_t;

/*
 * The row of a fleet event (type, id, time from the envelope; data parsed). The time is the
 * data's own (occurred_at, started_at, received_at), else the envelope's, else now_ms (no
 * time anywhere: a redelivery of such an event is a second row); a data time more than skew
 * past the envelope's is replaced by the envelope's. A time still more than skew ahead of
 * now_ms is skipped (a clock ahead must not fill months without partitions); older than
 * oldest_ms (now - retention) it is skipped. Properties: the data without personal, secret
 * and bulky fields at any depth.
 * TC_OK with *verdict; TC_EINVAL for an event that cannot be read (dead-lettered); TC_ENOMEM.
 */
int an_row_from_event(const char *type, const char *id, const char *time, const cJSON *data,
                      int64_t now_ms, int64_t oldest_ms, int64_t skew_ms, an_row_t *row,
                      an_verdict_t *verdict);

/*
 * The rows of a capture request: {"batch": [event, …]} or one event as the body; each event
 * {"event", "distinct_id", "properties"?, "timestamp"?, "uuid"? (with timestamp)}. Every problem
 * goes into jv (field names like "batch[3].event"); *rows (n) is filled only when there is none. An
 * event without uuid gets a fresh evt_ id (a retry of it is then a second event: clients that retry
 * send uuid, as PostHog's do). Rows borrow from body; an_rows_free releases them.
 */
int an_rows_from_capture(const cJSON *body, int64_t now_ms, int64_t oldest_ms, int64_t skew_ms,
                         tc_jv_t *jv, const char *org_id, an_row_t **rows, int *n);
void an_rows_free(an_row_t *rows, int n);
void an_row_clear(an_row_t *row);

/* Appends the row as one line of COPY text format (org_id, id, name, distinct_id,
 * occurred_at, source, properties). TC_OK or TC_ENOMEM. */
int an_copy_line(tc_buf_t *out, const an_row_t *row, const char *source);

#endif
