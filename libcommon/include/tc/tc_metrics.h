/*
 * tc_metrics.h: a process-wide registry of Prometheus metrics.
 *
 * Families are created once (at start-up) and updated from any thread. Label values are
 * passed positionally in the order the family declared its label names. The registry
 * renders the Prometheus text exposition format (0.0.4), which `promtool check metrics`
 * accepts: HELP and TYPE once per family, histograms with cumulative `le` buckets, `+Inf`,
 * `_sum` and `_count`.
 */
#ifndef TC_METRICS_H
#define TC_METRICS_H

#include <stddef.h>
#include "tc/tc_buf.h"

typedef struct tc_metric tc_metric_t;

/* labels: comma-separated label names ("route,method,code") or NULL/"" for none.
 * Returns the existing family if one with that name is already registered. */
tc_metric_t *tc_metric_counter(const char *name, const char *help, const char *labels);
tc_metric_t *tc_metric_gauge(const char *name, const char *help, const char *labels);
/* buckets: ascending upper bounds; NULL → default latency buckets (5 ms … 10 s). */
tc_metric_t *tc_metric_histogram(const char *name, const char *help, const char *labels,
                                 const double *buckets, size_t nbuckets);
/* A gauge computed at scrape time (e.g. outbox_pending, db_pool_in_use). */
typedef double (*tc_metric_fn)(void *ud);
tc_metric_t *tc_metric_gauge_fn(const char *name, const char *help, tc_metric_fn fn, void *ud);

/* The label values follow, one const char * per declared label. */
void tc_metric_inc(tc_metric_t *m, double v, ...);
void tc_metric_set(tc_metric_t *m, double v, ...);
void tc_metric_observe(tc_metric_t *m, double v, ...);
/* Current value of a counter/gauge series (0 if absent); used by tests and the canary. */
double tc_metric_value(tc_metric_t *m, ...);

int tc_metrics_render(tc_buf_t *out);
/* Drops every family (tests, and process exit for leak checkers). */
void tc_metrics_reset(void);

#endif
