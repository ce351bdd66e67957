/*
 * schedule_model.h: schedule triggers without I/O beyond the system's time zone files — the
 * request bodies, a schedule's next time (cron on a zone's wall clock, plus jitter), and what
 * the firer does with a scheduled time that has come (start, buffer or skip it).
 */
#ifndef WORKFLOW_SCHEDULE_MODEL_H
#define WORKFLOW_SCHEDULE_MODEL_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tc/tc_json.h"

#define WF_SCHEDULES_MAX     20          /* per workflow */
#define WF_JITTER_MAX_S      3600        /* jitter_seconds at most */
#define WF_CATCHUP_MAX_S     (7 * 86400) /* catchup_window_seconds at most */
#define WF_CATCHUP_DEFAULT_S 60
/* catchup_window_seconds at least: a firer under load is a few seconds late, and a window
 * shorter than that would skip times nothing missed */
#define WF_CATCHUP_MIN_S     10
#define WF_SCHEDULE_NAME_MAX 128

typedef enum { WF_OVERLAP_SKIP, WF_OVERLAP_BUFFER_ONE, WF_OVERLAP_ALLOW_ALL } wf_overlap_t;

/* "skip", "buffer_one", "allow_all" (NULL-terminated, in wf_overlap_t's order). */
extern const char *const wf_overlap_names[];
/* -1 for an unknown name. */
int wf_overlap_of(const char *name);

/* POST /v1/workflows/{id}/schedules {cron, timezone?, name?, jitter_seconds?,
 * overlap_policy?, catchup_window_seconds?, input?, enabled?} and PATCH (every field
 * optional, at least one): the cron expression parses and fires within ten years in the
 * zone, the zone is a time zone of the system's database, input at most WF_PAYLOAD_MAX
 * bytes. now_s: when the check is made (a cron that never fires again from now fails). */
void wf_validate_schedule(tc_jv_t *jv, const cJSON *body, bool create, int64_t now_s);

/* The first scheduled time of cron in zone after after_s (UTC seconds): TC_OK with *next_s,
 * TC_ENOTFOUND when there is none, TC_EINVAL for an expression or zone that is not one. */
int wf_schedule_next(const char *cron, const char *zone, int64_t after_s, int64_t *next_s);

/* The delay (milliseconds, 0..jitter_s * 1000) a scheduled time of schedule id fires after:
 * spread by a hash of both, so it is the same however often it is computed. */
int64_t wf_schedule_jitter_ms(const char *id, int64_t scheduled_s, int jitter_s);

/* What the firer does with a schedule it holds. */
typedef enum {
    WF_FIRE_WAIT,           /* nothing is due */
    WF_FIRE_START_BUFFERED, /* the running one stopped: start the buffered time */
    WF_FIRE_START,          /* start the due time */
    WF_FIRE_BUFFER,         /* buffer_one: keep the due time until the running one stops */
    WF_FIRE_SKIP_OVERLAP,   /* the previous execution still runs: skip the due time */
    WF_FIRE_SKIP_MISSED,    /* the due time is older than the catch-up window: skip it */
} wf_fire_t;

typedef struct {
    int64_t now_ms;
    int64_t fire_ms; /* the due time's fire time (with jitter); < 0: none */
    /* the due time plus the whole jitter_seconds: lateness counts from there, so a time held
     * back behind an earlier one's long jitter is not missed */
    int64_t late_ms;
    bool buffered; /* a buffered time waits */
    bool running;  /* an execution of the schedule runs */
    wf_overlap_t policy;
    int64_t window_ms; /* catch-up window */
} wf_fire_in_t;

/* The buffered time first (it is older), then the due one. A due time later than late_ms by
 * more than the window is missed (the service was down). */
wf_fire_t wf_schedule_decide(const wf_fire_in_t *in);

#endif
