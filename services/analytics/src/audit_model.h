/*
 * audit_model.h: the audit log's records and filters, without I/O.
 *
 * A record is one com.techcorp.audit.recorded event (proto/events): who (actor) did what
 * (action) to which resource (target), with the state before and after. The database chains
 * each org's records (see migrations/001_init.sql); this module reads events into records,
 * list filters from a query string, and rows back into the API's JSON.
 */
#ifndef AUDIT_MODEL_H
#define AUDIT_MODEL_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "tc/tc_json.h"

#define AUDIT_FIELD_MAX    200   /* bytes of an id, action or type */
#define AUDIT_EXPORT_MAX   10000 /* records per export request (narrow the time range) */
#define AUDIT_SNAPSHOT_MAX 16384 /* bytes of before or after as JSON; larger is summarized */

typedef struct {
    const char *org_id, *event_id, *source;
    const char *actor_type, *actor_id, *actor_role; /* role may be NULL */
    const char *action, *target_type, *target_id;
    const char *request_id; /* NULL when none */
    char *before, *after;   /* JSON text or NULL; owned (audit_rec_clear) */
    int64_t occurred_ms;
} audit_rec_t;

/* The record of an audit event (strings borrowed from data and the envelope). TC_EINVAL when
 * a required field is missing or malformed (the event is dead-lettered), TC_ENOMEM. */
int audit_rec_from_event(const char *id, const char *source, const cJSON *data, audit_rec_t *r);
void audit_rec_clear(audit_rec_t *r);

typedef struct {
    const char *actor_id;    /* ?actor= */
    const char *action;      /* ?action= (exact, or a prefix ending in '.': "user.") */
    const char *target_type; /* ?resource_type= */
    const char *target_id;   /* ?resource_id= */
    int64_t from_ms, to_ms;  /* ?from= ?to= (RFC 3339); 0 when absent */
    int limit;
    int64_t before_seq; /* the cursor: records older than this seq; 0 for the newest */
} audit_filter_t;

/* Reads the filter from query values (any may be NULL). Problems go into jv. */
void audit_filter_parse(audit_filter_t *f, tc_jv_t *jv, const char *actor, const char *action,
                        const char *resource_type, const char *resource_id, const char *from,
                        const char *to);

/* The API's representation of a stored row: columns in the order the store selects them
 * (seq, event_id, actor_type, actor_id, actor_role, action, target_type, target_id, before,
 * after, request_id, source, occurred_at, recorded_at, prev_hash, hash), NULL for SQL NULL. */
cJSON *audit_row_json(const char *const *cols);

#endif
