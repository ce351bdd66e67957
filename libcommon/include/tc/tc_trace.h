/*
 * tc_trace.h: request identity: W3C Trace Context (traceparent) and X-Request-Id.
 */
#ifndef TC_TRACE_H
#define TC_TRACE_H

#include <stdbool.h>
#include <stddef.h>

/* Parses "00-<trace 32 hex>-<parent 16 hex>-<flags 2 hex>". TC_EINVAL when malformed. */
int tc_traceparent_parse(const char *tp, char trace_id[33], char parent_id[17], char flags[3]);
/* New span under trace_id (a new trace when trace_id is NULL): out is 55 chars + NUL. */
int tc_traceparent_child(const char *trace_id, const char *flags, char out[56]);
/* An inbound X-Request-Id worth keeping: 1 to 64 of [A-Za-z0-9_.:-] (n bytes at s, no NUL
 * needed). Anything else is replaced, so a caller cannot inject into logs or headers. */
bool tc_request_id_valid(const char *s, size_t n);

#endif
