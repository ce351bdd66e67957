/*
 * meter_spool.h: the usage meter's records on disk until the broker has acknowledged them.
 *
 * One file per gateway process, meter-<instance>.spool in GATEWAY_METER_SPOOL_DIR, held with
 * flock(2) for the process's life. A closed window's records are appended as JSON lines and
 * synced before they are sent, so a kill -9 loses none of them. At start a process adopts the
 * spool files no live process holds (one that crashed or stopped with records unacknowledged):
 * their records go into its own file, synced, before those files are deleted, and are sent
 * again under their own ids (billing drops a repeat by id).
 */
#ifndef GW_METER_SPOOL_H
#define GW_METER_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tc/tc_buf.h"

#define GW_METER_INST_MAX 32
#define GW_METER_ORG_MAX  64

/* The requests one org made through one gateway process in one window that reached an
 * upstream. (inst, window_ms, org) is the record's identity: gw_meter_rec_id. */
typedef struct {
    char inst[GW_METER_INST_MAX]; /* the process that counted (a random id per start) */
    char org[GW_METER_ORG_MAX];
    int64_t window_ms; /* the window's start, ms since the epoch */
    int32_t width_ms;
    uint64_t requests;
} gw_meter_rec_t;

/* The record's event id: "mtr_<inst>_<window_ms>_<org>". TC_OK, or TC_EINVAL when it does not
 * fit cap. */
int gw_meter_rec_id(const gw_meter_rec_t *r, char *out, size_t cap);
/* One spool line (JSON and '\n'), appended to b. TC_OK or TC_ENOMEM. */
int gw_meter_rec_line(const gw_meter_rec_t *r, tc_buf_t *b);
/* A spool line back into a record: false for a line that is not one (a torn last write). */
bool gw_meter_rec_parse(const char *line, size_t len, gw_meter_rec_t *r);

typedef struct gw_spool gw_spool_t;
typedef int (*gw_spool_rec_fn)(void *ud, const gw_meter_rec_t *r);

/* Creates dir when missing, opens and locks this instance's file, and adopts every other
 * spool file no process holds: fn gets each of their records (a TC_* error from fn stops the
 * adoption and is returned; the files stay for the next start). TC_OK, TC_ENOMEM, or
 * TC_ERROR (logged) when the directory or the file cannot be used. */
int gw_spool_open(const char *dir, const char *inst, gw_spool_rec_fn fn, void *ud,
                  gw_spool_t **out);
/* Appends n records and syncs the file. TC_OK or TC_ERROR (logged). */
int gw_spool_append(gw_spool_t *s, const gw_meter_rec_t *recs, size_t n);
/* Replaces the file by these n records (0: empties it) without ever leaving it unlocked or
 * holding fewer records than are unacknowledged. TC_OK, TC_ENOMEM or TC_ERROR (logged). */
int gw_spool_rewrite(gw_spool_t *s, const gw_meter_rec_t *recs, size_t n);
/* Records in the file (appended since its last rewrite). */
size_t gw_spool_records(const gw_spool_t *s);
/* Deletes the file when nothing in it is unacknowledged (drop), then unlocks it. */
void gw_spool_close(gw_spool_t *s, bool drop);

#endif
