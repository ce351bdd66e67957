/*
 * tc_trace.h: W3C Trace Context (traceparent) helpers.
 */
#ifndef TC_TRACE_H
#define TC_TRACE_H

/* Parses "00-<trace 32 hex>-<parent 16 hex>-<flags 2 hex>". TC_EINVAL when malformed. */
int tc_traceparent_parse(const char *tp, char trace_id[33], char parent_id[17], char flags[3]);
/* New span under trace_id (a new trace when trace_id is NULL): out is 55 chars + NUL. */
int tc_traceparent_child(const char *trace_id, const char *flags, char out[56]);

#endif
