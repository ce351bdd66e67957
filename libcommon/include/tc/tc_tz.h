/*
 * tc_tz.h: IANA time zones read from the system's TZif files (RFC 8536 / RFC 9636), for
 * turning UTC instants into local wall-clock time and back ("every Monday 09:00 in the
 * customer's zone").
 *
 * A loaded zone is immutable: one tc_tz_t may be shared by any number of threads without
 * locking. Times are whole seconds on the POSIX time scale (no leap seconds); zone files
 * carrying leap-second records (the right/ tree) are refused as TC_EINVAL rather than
 * misread.
 */
#ifndef TC_TZ_H
#define TC_TZ_H

#include <stdbool.h>
#include <stdint.h>

typedef struct tc_tz tc_tz_t;

#define TC_TZ_NAME_MAX 64

/* true when `name` is a syntactically acceptable IANA zone name: 1..63 chars of
 * [A-Za-z0-9_+-/], no leading '/', no "." or ".." component, no empty component.
 * ("UTC", "Etc/GMT+5", "America/Argentina/Buenos_Aires" pass; "../etc/passwd", "/UTC",
 * "Europe//Paris", "" fail). */
bool tc_tz_name_valid(const char *name);

/* Loads zone `name` from the directory in the TZDIR environment variable, else
 * /usr/share/zoneinfo. "UTC" (and "Etc/UTC") always loads, even without the files.
 * TC_EINVAL: name not valid or the file is not a TZif file (or corrupt/truncated);
 * TC_ENOTFOUND: no such zone file; TC_ENOMEM. *out is owned by the caller (tc_tz_free).
 * (TC_ERROR for an unexpected I/O failure such as EACCES.) On failure *out is NULL. */
int tc_tz_load(const char *name, tc_tz_t **out);
void tc_tz_free(tc_tz_t *tz);

/* Offset from UTC in seconds (east positive) in effect at the UTC instant utc_s.
 * (Here and in tc_tz_to_utc a NULL tz reads as UTC.) */
int32_t tc_tz_offset(const tc_tz_t *tz, int64_t utc_s);

enum { TC_TZ_NORMAL = 0, TC_TZ_GAP = 1, TC_TZ_FOLD = 2 };
/* Converts a local wall-clock time (seconds since 1970-01-01T00:00 of the local calendar,
 * i.e. what the wall clock reads, counted as if it were UTC) to the UTC instant.
 * In a gap (a wall time skipped by a forward change), the wall time is read with the offset
 * in effect before the change, i.e. it lands the length of the gap later on the new wall
 * clock (02:30 on a US spring-forward day -> 07:30Z = 03:30 EDT); *kind = TC_TZ_GAP.
 * In a fold (a wall time that occurs twice), the earlier instant; *kind = TC_TZ_FOLD.
 * kind may be NULL. (local_s within two days of the int64 limits is clamped first.) */
int64_t tc_tz_to_utc(const tc_tz_t *tz, int64_t local_s, int *kind);

#endif
