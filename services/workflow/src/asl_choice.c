/*
 * asl_choice.c: Choice rules (And, Or, Not and the comparison operators), their evaluation
 * and their validation, both from one operator table.
 *
 * A comparison whose Variable (or *Path operand) selects nothing is States.Runtime, as in
 * Step Functions; only IsPresent looks at presence. A value of the wrong type (a string for
 * NumericEquals, a non-timestamp for TimestampEquals) makes the comparison false, not an
 * error.
 */
#include "asl_internal.h"
#include "tc/tc_core.h"
#include "tc/tc_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { T_STRING, T_NUMERIC, T_BOOLEAN, T_TIMESTAMP, T_MATCH, T_IS } optype_t;
typedef enum { C_EQ, C_LT, C_GT, C_LE, C_GE, C_NULL, C_PRESENT, C_NUM, C_STR, C_BOOL, C_TS } cmp_t;

typedef struct {
    const char *name;
    optype_t type;
    cmp_t cmp;
    bool path; /* the operand is a path to the value to compare with */
} op_t;

#define CMP_OPS(prefix, type)                                                                      \
    {prefix "Equals", type, C_EQ, false}, {prefix "EqualsPath", type, C_EQ, true},                 \
        {prefix "LessThan", type, C_LT, false}, {prefix "LessThanPath", type, C_LT, true},         \
        {prefix "GreaterThan", type, C_GT, false}, {prefix "GreaterThanPath", type, C_GT, true},   \
        {prefix "LessThanEquals", type, C_LE, false},                                              \
        {prefix "LessThanEqualsPath", type, C_LE, true},                                           \
        {prefix "GreaterThanEquals", type, C_GE, false},                                           \
    {                                                                                              \
        prefix "GreaterThanEqualsPath", type, C_GE, true                                           \
    }

static const op_t ops[] = {
    CMP_OPS("String", T_STRING),
    CMP_OPS("Numeric", T_NUMERIC),
    CMP_OPS("Timestamp", T_TIMESTAMP),
    {"BooleanEquals", T_BOOLEAN, C_EQ, false},
    {"BooleanEqualsPath", T_BOOLEAN, C_EQ, true},
    {"StringMatches", T_MATCH, C_EQ, false},
    {"IsNull", T_IS, C_NULL, false},
    {"IsPresent", T_IS, C_PRESENT, false},
    {"IsNumeric", T_IS, C_NUM, false},
    {"IsString", T_IS, C_STR, false},
    {"IsBoolean", T_IS, C_BOOL, false},
    {"IsTimestamp", T_IS, C_TS, false},
};

static const op_t *find_op(const char *name)
{
    for (size_t i = 0; i < TC_ARRAY_LEN(ops); i++)
        if (strcmp(ops[i].name, name) == 0)
            return &ops[i];
    return NULL;
}

/* The operator member of a comparison rule (the first one found). */
static const cJSON *rule_op(const cJSON *rule, const op_t **op)
{
    for (const cJSON *m = rule ? rule->child : NULL; m; m = m->next)
        if ((*op = find_op(m->string)))
            return m;
    *op = NULL;
    return NULL;
}

/* ------------------------------------------------------------------ matching */

bool asl_string_matches(const char *s, const char *pat)
{
    const char *star_p = NULL, *star_s = NULL;
    while (*s) {
        if (*pat == '*') {
            star_p = ++pat;
            star_s = s;
            continue;
        }
        /* "\x" is the literal x (x is '*' or '\' in practice). */
        const char *lit = pat;
        size_t w = 1;
        if (*pat == '\\' && pat[1]) {
            lit = pat + 1;
            w = 2;
        }
        if (*pat && *lit == *s) {
            pat += w;
            s++;
        } else if (star_p) {
            pat = star_p;
            s = ++star_s;
        } else {
            return false;
        }
    }
    while (*pat == '*')
        pat++;
    return *pat == '\0';
}

static bool is_timestamp(const cJSON *v, int64_t *ms)
{
    int64_t tmp;
    return cJSON_IsString(v) && tc_time_parse(v->valuestring, ms ? ms : &tmp) == TC_OK;
}

static bool cmp_result(int c, cmp_t cmp)
{
    switch (cmp) {
    case C_EQ:
        return c == 0;
    case C_LT:
        return c < 0;
    case C_GT:
        return c > 0;
    case C_LE:
        return c <= 0;
    case C_GE:
        return c >= 0;
    default:
        return false;
    }
}

static bool compare(const op_t *op, const cJSON *v, const cJSON *with)
{
    int64_t a, b;
    switch (op->type) {
    case T_STRING:
        if (!cJSON_IsString(v) || !cJSON_IsString(with))
            return false;
        return cmp_result(strcmp(v->valuestring, with->valuestring), op->cmp);
    case T_NUMERIC:
        if (!cJSON_IsNumber(v) || !cJSON_IsNumber(with))
            return false;
        return cmp_result(v->valuedouble < with->valuedouble   ? -1
                          : v->valuedouble > with->valuedouble ? 1
                                                               : 0,
                          op->cmp);
    case T_BOOLEAN:
        return cJSON_IsBool(v) && cJSON_IsBool(with) && cJSON_IsTrue(v) == cJSON_IsTrue(with);
    case T_TIMESTAMP:
        if (!is_timestamp(v, &a) || !is_timestamp(with, &b))
            return false;
        return cmp_result(a < b ? -1 : a > b ? 1 : 0, op->cmp);
    case T_MATCH:
        return cJSON_IsString(v) && cJSON_IsString(with) &&
               asl_string_matches(v->valuestring, with->valuestring);
    default:
        return false;
    }
}

static bool type_test(const op_t *op, const cJSON *v)
{
    switch (op->cmp) {
    case C_NULL:
        return cJSON_IsNull(v);
    case C_NUM:
        return cJSON_IsNumber(v);
    case C_STR:
        return cJSON_IsString(v);
    case C_BOOL:
        return cJSON_IsBool(v);
    case C_TS:
        return is_timestamp(v, NULL);
    default:
        return v != NULL;
    }
}

static int eval_path(const char *path, const cJSON *input, const cJSON *ctx, cJSON **out,
                     asl_err_t *err)
{
    int rc = asl_path_eval(input, ctx, path, out);
    if (rc == TC_ENOTFOUND || rc == TC_EINVAL) {
        asl_err_set(err, ASL_E_RUNTIME,
                    "Invalid path '%s': The choice state's condition path references an "
                    "invalid value.",
                    path ? path : "");
        return TC_EINVAL;
    }
    return rc;
}

static int eval_comparison(const cJSON *rule, const cJSON *input, const cJSON *ctx, bool *match,
                           asl_err_t *err)
{
    const op_t *op;
    const cJSON *operand = rule_op(rule, &op);
    const char *var = cJSON_GetStringValue(asl_get(rule, "Variable"));
    cJSON *value = NULL, *with = NULL;
    int rc;
    if (!op) {
        asl_err_set(err, ASL_E_RUNTIME, "A Choice rule has no comparison operator");
        return TC_EINVAL;
    }
    if (op->cmp == C_PRESENT) {
        rc = asl_path_eval(input, ctx, var, &value);
        if (rc == TC_ENOMEM)
            return rc;
        *match = (rc == TC_OK) == cJSON_IsTrue(operand);
        cJSON_Delete(value);
        return TC_OK;
    }
    if ((rc = eval_path(var, input, ctx, &value, err)) != TC_OK)
        goto cleanup;
    if (op->type == T_IS) {
        *match = type_test(op, value) == cJSON_IsTrue(operand);
        goto cleanup;
    }
    if (op->path && (rc = eval_path(operand->valuestring, input, ctx, &with, err)) != TC_OK)
        goto cleanup;
    *match = compare(op, value, op->path ? with : operand);
cleanup:
    cJSON_Delete(value);
    cJSON_Delete(with);
    return rc;
}

int asl_choice_rule_eval(const cJSON *rule, const cJSON *input, const cJSON *ctx, bool *match,
                         asl_err_t *err)
{
    const cJSON *list;
    int rc;
    *match = false;
    if ((list = asl_get(rule, "And")) || (list = asl_get(rule, "Or"))) {
        bool is_and = asl_get(rule, "And") != NULL;
        *match = is_and;
        const cJSON *sub;
        cJSON_ArrayForEach(sub, list)
        {
            bool m = false;
            if ((rc = asl_choice_rule_eval(sub, input, ctx, &m, err)) != TC_OK)
                return rc;
            /* Short-circuit: later rules are not evaluated (nor can they fail). */
            if (m != is_and) {
                *match = m;
                return TC_OK;
            }
        }
        return TC_OK;
    }
    if ((list = asl_get(rule, "Not"))) {
        bool m = false;
        if ((rc = asl_choice_rule_eval(list, input, ctx, &m, err)) != TC_OK)
            return rc;
        *match = !m;
        return TC_OK;
    }
    return eval_comparison(rule, input, ctx, match, err);
}

int asl_choice_next(const cJSON *state, const cJSON *input, const cJSON *ctx, const char **next,
                    asl_err_t *err)
{
    const cJSON *rule;
    *next = NULL;
    cJSON_ArrayForEach(rule, asl_get(state, "Choices"))
    {
        bool m = false;
        int rc = asl_choice_rule_eval(rule, input, ctx, &m, err);
        if (rc != TC_OK)
            return rc;
        if (m) {
            *next = cJSON_GetStringValue(asl_get(rule, "Next"));
            return TC_OK;
        }
    }
    if ((*next = cJSON_GetStringValue(asl_get(state, "Default"))))
        return TC_OK;
    asl_err_set(err, ASL_E_NO_CHOICE, "No Choice rule matched and there is no Default");
    return TC_EINVAL;
}

/* ------------------------------------------------------------------ validation */

static void check_operand(const op_t *op, const cJSON *v, const char *path, cJSON *problems)
{
    if (op->path) {
        if (!cJSON_IsString(v) || !asl_path_valid(v->valuestring, false))
            asl_problem(problems, path, "%s needs a valid path", op->name);
        return;
    }
    bool ok = false;
    switch (op->type) {
    case T_STRING:
    case T_MATCH:
        ok = cJSON_IsString(v);
        break;
    case T_NUMERIC:
        ok = cJSON_IsNumber(v);
        break;
    case T_BOOLEAN:
    case T_IS:
        ok = cJSON_IsBool(v);
        break;
    case T_TIMESTAMP:
        ok = is_timestamp(v, NULL);
        break;
    }
    if (!ok)
        asl_problem(problems, path, "%s needs %s", op->name,
                    op->type == T_NUMERIC                         ? "a number"
                    : op->type == T_TIMESTAMP                     ? "an RFC 3339 timestamp"
                    : op->type == T_STRING || op->type == T_MATCH ? "a string"
                                                                  : "a boolean");
}

static void check_list(const cJSON *list, const char *path, cJSON *problems)
{
    char sub[1024];
    if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) == 0) {
        asl_problem(problems, path, "must be a non-empty array of Choice rules");
        return;
    }
    int i = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, list)
    {
        asl_path_index(sub, sizeof sub, path, i++);
        asl_choice_rule_check(r, false, sub, problems);
    }
}

/* The members a comparison (or boolean) rule may have beyond its operator. */
static bool member_known(const char *name, bool top, bool boolean)
{
    if (strcmp(name, "Comment") == 0 || (top && strcmp(name, "Next") == 0))
        return true;
    if (boolean)
        return strcmp(name, "And") == 0 || strcmp(name, "Or") == 0 || strcmp(name, "Not") == 0;
    return strcmp(name, "Variable") == 0 || find_op(name) != NULL;
}

void asl_choice_rule_check(const cJSON *rule, bool top, const char *path, cJSON *problems)
{
    char sub[1024];
    if (!cJSON_IsObject(rule)) {
        asl_problem(problems, path, "a Choice rule must be an object");
        return;
    }
    if (top && !cJSON_IsString(asl_get(rule, "Next")))
        asl_problem(problems, path, "a Choice rule needs Next");
    if (!top && asl_get(rule, "Next")) {
        asl_path_join(sub, sizeof sub, path, "Next");
        asl_problem(problems, sub, "only top-level Choice rules have Next");
    }
    int nbool = !!asl_get(rule, "And") + !!asl_get(rule, "Or") + !!asl_get(rule, "Not");
    int nops = 0;
    for (const cJSON *m = rule->child; m; m = m->next) {
        if (find_op(m->string))
            nops++;
        if (!member_known(m->string, top, nbool > 0)) {
            asl_path_join(sub, sizeof sub, path, m->string);
            asl_problem(problems, sub, "unknown field in a Choice rule");
        }
    }
    if (nbool > 0) {
        if (nbool > 1)
            asl_problem(problems, path, "a Choice rule has one of And, Or, Not");
        const char *names[] = {"And", "Or"};
        for (size_t i = 0; i < TC_ARRAY_LEN(names); i++)
            if (asl_get(rule, names[i])) {
                asl_path_join(sub, sizeof sub, path, names[i]);
                check_list(asl_get(rule, names[i]), sub, problems);
            }
        if (asl_get(rule, "Not")) {
            asl_path_join(sub, sizeof sub, path, "Not");
            asl_choice_rule_check(asl_get(rule, "Not"), false, sub, problems);
        }
        return;
    }
    const cJSON *var = asl_get(rule, "Variable");
    asl_path_join(sub, sizeof sub, path, "Variable");
    if (!cJSON_IsString(var) || !asl_path_valid(var->valuestring, false))
        asl_problem(problems, sub, "a comparison needs Variable, a valid path");
    if (nops != 1) {
        asl_problem(problems, path, "a comparison has exactly one operator (%d given)", nops);
        return;
    }
    const op_t *op;
    const cJSON *operand = rule_op(rule, &op);
    asl_path_join(sub, sizeof sub, path, op->name);
    check_operand(op, operand, sub, problems);
}
