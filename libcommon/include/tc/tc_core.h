/*
 * tc_core.h: return codes and small macros shared by every libcommon module.
 *
 * Functions that can fail return an int: TC_OK (0) on success, a negative TC_E* code
 * otherwise (nginx style: one vocabulary of outcomes for the whole library). Functions that
 * return a pointer return NULL on failure.
 */
#ifndef TC_CORE_H
#define TC_CORE_H

#include <stddef.h>
#include <stdint.h>

enum {
    TC_OK = 0,
    TC_ERROR = -1,     /* unexpected failure (logged where it happened) */
    TC_ENOMEM = -2,    /* allocation failed */
    TC_ETIMEDOUT = -3, /* a deadline passed */
    TC_ENOTFOUND = -4, /* no such row / key / route */
    TC_ECONFLICT = -5, /* unique violation, version mismatch, state conflict */
    TC_EUNAVAIL = -6,  /* a dependency is unreachable (connection refused, pool exhausted) */
    TC_EINVAL = -7,    /* invalid input (bad token, bad event, bad config) */
    TC_EDENIED = -8,   /* authenticated but not allowed */
    TC_EAGAIN = -9,    /* transient, the caller may retry */
};

/* Human-readable name of a TC_* code, for logs. */
const char *tc_strerror(int rc);

#define TC_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define TC_UNUSED(x)    ((void)(x))

#endif
