/*
 * report_model.h: saved reports without I/O.
 *
 * A report is a query of the query language (query_model.h) without from/to, run over the
 * last range_days days whenever it is computed, with a refresh policy for its cached result:
 * hourly or daily by the reports job, or manual (on demand only). Built-in reports are
 * definitions in code every org has (ids "builtin.<name>"), computed when asked for and their
 * cached result is older than an hour.
 */
#ifndef REPORT_MODEL_H
#define REPORT_MODEL_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "tc/tc_json.h"

#define RM_NAME_MAX        200
#define RM_DESCRIPTION_MAX 1000
#define RM_RANGE_DEFAULT   30
#define RM_RANGE_MAX       400
#define RM_BUILTIN_PREFIX  "builtin."

typedef enum { RM_HOURLY, RM_DAILY, RM_MANUAL } rm_refresh_t;

/* A report's fields as a request gives them (borrowed from the body; query owned). */
typedef struct {
    const char *name, *description; /* NULL when absent */
    cJSON *query;                   /* owned copy, NULL when absent */
    int range_days;                 /* 0 when absent */
    int refresh;                    /* rm_refresh_t, -1 when absent */
} rm_fields_t;

/* Reads a create (every required field) or a PATCH (any subset, at least one) body into f.
 * The query is checked by running the query language's validation over the last range_days
 * days at now_ms (its problems reported as "query.<field>"); it must not carry from/to. Every
 * problem goes into jv. TC_OK, TC_EINVAL, TC_ENOMEM. */
int rm_parse(const cJSON *body, bool create, int64_t now_ms, tc_jv_t *jv, rm_fields_t *f);
/* For a PATCH: the stored query and range checked together once merged (a new range with the
 * old query, or the reverse). */
int rm_check(const cJSON *query, int range_days, int64_t now_ms, tc_jv_t *jv);
void rm_fields_clear(rm_fields_t *f);

/* The query to run now: a copy of query with from = now - range_days and to = now. */
int rm_query_at(const cJSON *query, int range_days, int64_t now_ms, cJSON **out);

const char *rm_refresh_name(int refresh);
int rm_refresh_parse(const char *name); /* -1 when unknown */
/* How old a result may be before the job computes it again; 0 for manual. */
int64_t rm_refresh_ms(int refresh);

/* A built-in report. */
typedef struct {
    const char *id; /* "builtin.api_usage" */
    const char *name;
    const char *description;
    const char *query; /* JSON text, without from/to */
    int range_days;
} rm_builtin_t;

const rm_builtin_t *rm_builtin(const char *id); /* NULL when no such built-in */
int rm_builtin_count(void);
const rm_builtin_t *rm_builtin_at(int i);
/* A built-in's version: a hash of its definition, so results cached for an older definition
 * are never served after a deploy changes it (1 .. 2^30). */
int rm_builtin_version(const rm_builtin_t *b);
/* The API's representation of a built-in report (kind "builtin", refresh "hourly": a result
 * older than an hour is computed again when asked for). NULL on ENOMEM or a definition that
 * does not parse (a programming error the unit tests catch). */
cJSON *rm_builtin_json(const rm_builtin_t *b);

#endif
