/*
 * asl_internal.h: what the asl_*.c files share and the executor does not need (asl.h is the
 * contract). Data-flow functions answer TC_OK, TC_ENOMEM, or TC_EINVAL with an ASL error in
 * err (the state then fails with it).
 */
#ifndef ASL_INTERNAL_H
#define ASL_INTERNAL_H

#include "asl.h"

#include <stdarg.h>

/* Error names of the specification (and of Step Functions) used here. */
#define ASL_E_ALL            "States.ALL"
#define ASL_E_RUNTIME        "States.Runtime"
#define ASL_E_TIMEOUT        "States.Timeout"
#define ASL_E_TASK_FAILED    "States.TaskFailed"
#define ASL_E_DATA_LIMIT     "States.DataLimitExceeded"
#define ASL_E_RESULT_PATH    "States.ResultPathMatchFailure"
#define ASL_E_PARAMETER_PATH "States.ParameterPathFailure"
#define ASL_E_INTRINSIC      "States.IntrinsicFailure"
#define ASL_E_NO_CHOICE      "States.NoChoiceMatched"

/* How far the asl_run Context object and intrinsics are fixed (asl.h, asl_run). */
#define ASL_RUN_START_MS   1767225600000LL /* 2026-01-01T00:00:00.000Z */
#define ASL_RUN_START_TEXT "2026-01-01T00:00:00.000Z"

/* One evaluation of templates and intrinsics: the effective input ($), the Context object
 * ($$), the caller's 16 random bytes (NULL: States.UUID and unseeded States.MathRandom
 * fail) and how many random draws were made, so that two States.UUID() of one template
 * differ while staying a function of the caller's bytes. bytes counts what the template's
 * paths and intrinsics have copied so far (ASL_TEMPLATE_BYTES_MAX). */
typedef struct {
    const cJSON *input;
    const cJSON *ctx;
    const uint8_t *uuid;
    unsigned draws;
    size_t bytes;
} asl_eval_t;

void asl_err_vset(asl_err_t *e, const char *error, const char *cause_fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Member of an object by exact name, or NULL (also when obj is not an object). */
const cJSON *asl_get(const cJSON *obj, const char *name);

/* The 16 bytes of the ev->draws-th draw: the caller's bytes for the first, SHA-256 of them
 * and the draw number after that. TC_EINVAL without caller bytes. */
int asl_eval_draw(asl_eval_t *ev, uint8_t out[16]);

/* Evaluates an intrinsic function expression in ev. */
int asl_intrinsic_eval_in(asl_eval_t *ev, const char *expr, cJSON **out, asl_err_t *err);

/* Applies a payload template in ev; field names the template for the error cause. */
int asl_template_apply_in(asl_eval_t *ev, const cJSON *tmpl, cJSON **out, asl_err_t *err);

/* The value of a "key.$" string: a path ($...), a context path ($$...) or an intrinsic
 * (States.X(...)). Not found is States.ParameterPathFailure (key names it in the cause). */
int asl_dollar_value(asl_eval_t *ev, const char *key, const char *expr, cJSON **out,
                     asl_err_t *err);

/* Is s a valid "key.$" value (path, context path or intrinsic). */
bool asl_dollar_valid(const char *s);

/* Checks a payload template; appends {"path","message"} problems under path. */
void asl_template_check(const cJSON *tmpl, const char *path, cJSON *problems);

/* InputPath / OutputPath: absent is "$", JSON null gives {}, a path selecting nothing is
 * States.Runtime. */
int asl_apply_io_path(const cJSON *state, const char *field, const cJSON *value, cJSON **out,
                      asl_err_t *err);

/* Appends a problem {"path","message"} to problems (silently dropped on OOM: the caller
 * checks the array afterwards). */
void asl_problem(cJSON *problems, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* path + ".name" or path + "['name']" when name is not a plain identifier. */
void asl_path_join(char *out, size_t n, const char *base, const char *name);

/* path + "[i]". */
void asl_path_index(char *out, size_t n, const char *base, int i);

/* Choice: picks the next state of a Choice state for its effective input (Default, or
 * States.NoChoiceMatched; a Variable naming nothing is States.Runtime). */
int asl_choice_next(const cJSON *state, const cJSON *input, const cJSON *ctx, const char **next,
                    asl_err_t *err);

/* Evaluates one Choice rule. */
int asl_choice_rule_eval(const cJSON *rule, const cJSON *input, const cJSON *ctx, bool *match,
                         asl_err_t *err);

/* Checks one Choice rule (top: a rule of Choices, which needs Next); calls back for Next so
 * the validator can check the name. */
void asl_choice_rule_check(const cJSON *rule, bool top, const char *path, cJSON *problems);

/* StringMatches: '*' any run of characters, "\*" a star, "\\" a backslash. */
bool asl_string_matches(const char *s, const char *pattern);

/* Does the error name match an ErrorEquals list (States.ALL, States.TaskFailed wildcards). */
bool asl_error_matches(const cJSON *error_equals, const char *error);

#endif
