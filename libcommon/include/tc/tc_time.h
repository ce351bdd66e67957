/*
 * tc_time.h: clocks and RFC 3339 timestamps.
 *
 * tc_now_ms() is wall-clock time and can be offset in tests (tc_time_set_offset_ms) so that
 * expiry logic (sessions, retention, token lifetimes) is testable without sleeping.
 */
#ifndef TC_TIME_H
#define TC_TIME_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define TC_RFC3339_LEN 32

int64_t tc_now_ms(void);  /* Unix epoch milliseconds, plus the test offset */
int64_t tc_mono_ms(void); /* monotonic milliseconds, for durations and deadlines */
int64_t tc_mono_ns(void);
void tc_time_set_offset_ms(int64_t offset);

/* "2025-01-15T10:30:00.123Z" (millisecond precision, always UTC). */
void tc_time_format(int64_t epoch_ms, char out[TC_RFC3339_LEN]);
/* Parses RFC 3339 with optional fraction and Z or +hh:mm offset. */
int tc_time_parse(const char *s, int64_t *epoch_ms);

void tc_sleep_ms(int64_t ms);

/* The absolute time ms from now on `clock`, for pthread_cond_timedwait and the like (a
 * condition variable waits on CLOCK_REALTIME unless set to CLOCK_MONOTONIC). */
struct timespec tc_deadline_ms(clockid_t clock, int64_t ms);

#endif
