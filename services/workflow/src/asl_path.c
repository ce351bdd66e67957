/*
 * asl_path.c: JSONPath as Step Functions evaluates it (Jayway semantics for the parts the
 * service accepts), reference paths and ResultPath.
 *
 * The evaluator walks the path text once, keeping the set of nodes selected so far, so there
 * is no syntax tree to allocate: a segment is parsed and applied to every node at once. A
 * filter ([?(...)]) is parsed once without a node (which checks its syntax even when nothing
 * is selected) and then re-read for every candidate node.
 *
 * Grammar: $ then segments: .name, .*, ..name, ..*, ..[...], ['a'], ['a','b'], [0], [-1],
 * [0,2], [*], [start:end:step], [?(expr)]. In a dot name "\" escapes the next character. A
 * filter expr has ||, &&, !, parentheses, comparisons == != < <= > >= between @-paths,
 * $-paths and literals (numbers, 'strings', "strings", true, false, null), and @-paths alone
 * (existence).
 */
#include "asl_internal.h"
#include "tc/tc_core.h"
#include "tc/tc_json.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REF_MAX_SEGS 64
#define FILTER_DEPTH 16

const cJSON *asl_get(const cJSON *obj, const char *name)
{
    if (!cJSON_IsObject(obj) || !name)
        return NULL;
    return cJSON_GetObjectItemCaseSensitive(obj, name);
}

/* ------------------------------------------------------------------ node sets */

typedef struct {
    const cJSON **v;
    size_t n, cap;
} nodes_t;

static int nodes_push(nodes_t *s, const cJSON *node)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        const cJSON **v = realloc(s->v, cap * sizeof *v);
        if (!v)
            return TC_ENOMEM;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = node;
    return TC_OK;
}

static void nodes_free(nodes_t *s)
{
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}

/* Pre-order: the node then every descendant (what ".." ranges over). */
static int nodes_descend(nodes_t *s, const cJSON *node)
{
    if (nodes_push(s, node) != TC_OK)
        return TC_ENOMEM;
    if (cJSON_IsObject(node) || cJSON_IsArray(node))
        for (const cJSON *c = node->child; c; c = c->next)
            if (nodes_descend(s, c) != TC_OK)
                return TC_ENOMEM;
    return TC_OK;
}

/* ------------------------------------------------------------------ parser state */

typedef struct {
    const char *s;     /* cursor */
    const cJSON *root; /* $ inside filters */
    bool indefinite;   /* a segment may select more than one node */
    bool in_filter;    /* dot names also end at operators and spaces */
    int rc;            /* TC_OK, TC_EINVAL (syntax) or TC_ENOMEM */
    int depth;
} pp_t;

static void skip_ws(pp_t *p)
{
    while (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r')
        p->s++;
}

/* Consumes c if it is next (never steps over the terminating NUL). */
static bool eat(pp_t *p, char c)
{
    if (*p->s != c)
        return false;
    p->s++;
    return true;
}

static bool fail(pp_t *p, int rc)
{
    if (p->rc == TC_OK)
        p->rc = rc;
    return false;
}

static bool dot_name_end(const pp_t *p, char c)
{
    if (c == '\0' || c == '.' || c == '[')
        return true;
    return p->in_filter && strchr(" \t\r\n)=!<>&|,", c) != NULL;
}

/* Reads a dot name (with "\" escapes) into a malloc'd string. */
static char *read_dot_name(pp_t *p)
{
    size_t cap = strlen(p->s) + 1, n = 0;
    char *out = malloc(cap);
    if (!out) {
        fail(p, TC_ENOMEM);
        return NULL;
    }
    while (!dot_name_end(p, *p->s)) {
        if (*p->s == '\\' && p->s[1])
            p->s++;
        out[n++] = *p->s++;
    }
    out[n] = '\0';
    if (n == 0) {
        free(out);
        fail(p, TC_EINVAL);
        return NULL;
    }
    return out;
}

/* Reads a quoted name ('x' or "x", "\" escapes the next character). */
static char *read_quoted(pp_t *p)
{
    char q = *p->s++;
    size_t cap = strlen(p->s) + 1, n = 0;
    char *out = malloc(cap);
    if (!out) {
        fail(p, TC_ENOMEM);
        return NULL;
    }
    while (*p->s && *p->s != q) {
        if (*p->s == '\\' && p->s[1])
            p->s++;
        out[n++] = *p->s++;
    }
    if (*p->s != q) {
        free(out);
        fail(p, TC_EINVAL);
        return NULL;
    }
    p->s++;
    out[n] = '\0';
    return out;
}

static bool read_int(pp_t *p, long *v)
{
    const char *start = p->s;
    if (*p->s == '-')
        p->s++;
    if (!isdigit((unsigned char)*p->s)) {
        p->s = start;
        return false;
    }
    errno = 0;
    char *end;
    *v = strtol(start, &end, 10);
    if (errno || *v > INT_MAX || *v < INT_MIN)
        return fail(p, TC_EINVAL);
    p->s = end;
    return true;
}

/* ------------------------------------------------------------------ selectors */

static int select_name(const nodes_t *in, const char *name, nodes_t *out)
{
    for (size_t i = 0; i < in->n; i++) {
        const cJSON *c = asl_get(in->v[i], name);
        if (c && nodes_push(out, c) != TC_OK)
            return TC_ENOMEM;
    }
    return TC_OK;
}

static int select_all(const nodes_t *in, nodes_t *out)
{
    for (size_t i = 0; i < in->n; i++) {
        const cJSON *node = in->v[i];
        if (!cJSON_IsObject(node) && !cJSON_IsArray(node))
            continue;
        for (const cJSON *c = node->child; c; c = c->next)
            if (nodes_push(out, c) != TC_OK)
                return TC_ENOMEM;
    }
    return TC_OK;
}

static int select_index(const nodes_t *in, long idx, nodes_t *out)
{
    for (size_t i = 0; i < in->n; i++) {
        if (!cJSON_IsArray(in->v[i]))
            continue;
        long size = cJSON_GetArraySize(in->v[i]);
        long k = idx < 0 ? size + idx : idx;
        if (k < 0 || k >= size)
            continue;
        if (nodes_push(out, cJSON_GetArrayItem(in->v[i], (int)k)) != TC_OK)
            return TC_ENOMEM;
    }
    return TC_OK;
}

/* Python slice bounds with a positive step. */
static int select_slice(const nodes_t *in, bool has_start, long start, bool has_end, long end,
                        long step, nodes_t *out)
{
    for (size_t i = 0; i < in->n; i++) {
        if (!cJSON_IsArray(in->v[i]))
            continue;
        long size = cJSON_GetArraySize(in->v[i]);
        long a = has_start ? (start < 0 ? size + start : start) : 0;
        long b = has_end ? (end < 0 ? size + end : end) : size;
        a = a < 0 ? 0 : (a > size ? size : a);
        b = b < 0 ? 0 : (b > size ? size : b);
        for (long k = a; k < b; k += step)
            if (nodes_push(out, cJSON_GetArrayItem(in->v[i], (int)k)) != TC_OK)
                return TC_ENOMEM;
    }
    return TC_OK;
}

/* ------------------------------------------------------------------ filters */

static bool eval_segments(pp_t *p, nodes_t *cur);

/* One filter operand: a node of the document (borrowed) or a literal (owned). NULL node
 * means "missing". */
typedef struct {
    const cJSON *node;
    cJSON *owned;
} operand_t;

static void operand_free(operand_t *o)
{
    cJSON_Delete(o->owned);
    o->owned = NULL;
    o->node = NULL;
}

/* A path inside a filter: @... against the candidate, $... against the root. Selecting
 * exactly one node gives it; none or several give "missing". */
static bool filter_path(pp_t *p, const cJSON *base, operand_t *o)
{
    nodes_t set = {0};
    p->s++;
    if (base && nodes_push(&set, base) != TC_OK)
        return fail(p, TC_ENOMEM);
    bool saved = p->indefinite;
    bool ok = eval_segments(p, &set);
    p->indefinite = saved;
    if (ok && set.n == 1)
        o->node = set.v[0];
    nodes_free(&set);
    return ok;
}

static bool filter_literal(pp_t *p, operand_t *o)
{
    const char *s = p->s;
    if (*s == '\'' || *s == '"') {
        char *text = read_quoted(p);
        if (!text)
            return false;
        o->owned = cJSON_CreateString(text);
        free(text);
    } else if (strncmp(s, "true", 4) == 0 || strncmp(s, "false", 5) == 0) {
        o->owned = cJSON_CreateBool(*s == 't');
        p->s += *s == 't' ? 4 : 5;
    } else if (strncmp(s, "null", 4) == 0) {
        o->owned = cJSON_CreateNull();
        p->s += 4;
    } else if (*s == '-' || isdigit((unsigned char)*s)) {
        char *end;
        double d = strtod(s, &end);
        if (end == s)
            return fail(p, TC_EINVAL);
        p->s = end;
        o->owned = cJSON_CreateNumber(d);
    } else {
        return fail(p, TC_EINVAL);
    }
    if (!o->owned)
        return fail(p, TC_ENOMEM);
    o->node = o->owned;
    return true;
}

static bool filter_operand(pp_t *p, const cJSON *node, operand_t *o)
{
    skip_ws(p);
    if (*p->s == '@')
        return filter_path(p, node, o);
    if (*p->s == '$')
        return filter_path(p, node ? p->root : NULL, o);
    return filter_literal(p, o);
}

typedef enum { OP_NONE, OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE } cmp_op_t;

static cmp_op_t read_op(pp_t *p)
{
    static const struct {
        const char *text;
        cmp_op_t op;
    } ops[] = {{"==", OP_EQ}, {"!=", OP_NE}, {"<=", OP_LE},
               {">=", OP_GE}, {"<", OP_LT},  {">", OP_GT}};
    skip_ws(p);
    for (size_t i = 0; i < TC_ARRAY_LEN(ops); i++) {
        size_t n = strlen(ops[i].text);
        if (strncmp(p->s, ops[i].text, n) == 0) {
            p->s += n;
            return ops[i].op;
        }
    }
    return OP_NONE;
}

static bool compare(const cJSON *a, const cJSON *b, cmp_op_t op)
{
    if (!a || !b)
        return op == OP_NE;
    if (op == OP_EQ || op == OP_NE) {
        bool eq = cJSON_Compare(a, b, true);
        return op == OP_EQ ? eq : !eq;
    }
    int c;
    if (cJSON_IsNumber(a) && cJSON_IsNumber(b))
        c = a->valuedouble < b->valuedouble ? -1 : a->valuedouble > b->valuedouble ? 1 : 0;
    else if (cJSON_IsString(a) && cJSON_IsString(b))
        c = strcmp(a->valuestring, b->valuestring);
    else
        return false;
    switch (op) {
    case OP_LT:
        return c < 0;
    case OP_LE:
        return c <= 0;
    case OP_GT:
        return c > 0;
    default:
        return c >= 0;
    }
}

static bool filter_or(pp_t *p, const cJSON *node, bool *v);

static bool filter_cmp(pp_t *p, const cJSON *node, bool *v)
{
    operand_t a = {0}, b = {0};
    if (!filter_operand(p, node, &a))
        return false;
    cmp_op_t op = read_op(p);
    if (op == OP_NONE) {
        *v = a.node != NULL;
        operand_free(&a);
        return true;
    }
    bool ok = filter_operand(p, node, &b);
    if (ok)
        *v = compare(a.node, b.node, op);
    operand_free(&a);
    operand_free(&b);
    return ok;
}

static bool filter_unary(pp_t *p, const cJSON *node, bool *v)
{
    skip_ws(p);
    if (++p->depth > FILTER_DEPTH)
        return fail(p, TC_EINVAL);
    bool ok;
    if (*p->s == '!' && p->s[1] != '=') {
        p->s++;
        ok = filter_unary(p, node, v);
        *v = !*v;
    } else if (*p->s == '(') {
        p->s++;
        ok = filter_or(p, node, v);
        skip_ws(p);
        if (ok && !eat(p, ')'))
            ok = fail(p, TC_EINVAL);
    } else {
        ok = filter_cmp(p, node, v);
    }
    p->depth--;
    return ok;
}

static bool filter_and(pp_t *p, const cJSON *node, bool *v)
{
    if (!filter_unary(p, node, v))
        return false;
    for (;;) {
        skip_ws(p);
        if (strncmp(p->s, "&&", 2) != 0)
            return true;
        p->s += 2;
        bool w = false;
        if (!filter_unary(p, node, &w))
            return false;
        *v = *v && w;
    }
}

static bool filter_or(pp_t *p, const cJSON *node, bool *v)
{
    if (!filter_and(p, node, v))
        return false;
    for (;;) {
        skip_ws(p);
        if (strncmp(p->s, "||", 2) != 0)
            return true;
        p->s += 2;
        bool w = false;
        if (!filter_and(p, node, &w))
            return false;
        *v = *v || w;
    }
}

/* Evaluates the filter starting at p->s ("(expr)]" follows "[?") for one node; leaves the
 * cursor after the closing "]". node NULL checks the syntax only. */
static bool filter_once(pp_t *p, const char *start, const cJSON *node, bool *v)
{
    bool saved_in = p->in_filter;
    p->s = start;
    p->in_filter = true;
    *v = false;
    bool ok = eat(p, '(') && filter_or(p, node, v);
    skip_ws(p);
    ok = ok && eat(p, ')');
    skip_ws(p);
    ok = ok && eat(p, ']');
    p->in_filter = saved_in;
    return ok ? true : fail(p, TC_EINVAL);
}

/* Jayway: a filter on an array tests each element, on an object the object itself. */
static bool select_filter(pp_t *p, const nodes_t *in, nodes_t *out)
{
    const char *start = p->s;
    bool v;
    if (!filter_once(p, start, NULL, &v))
        return false;
    const char *after = p->s;
    for (size_t i = 0; i < in->n; i++) {
        const cJSON *node = in->v[i];
        if (!cJSON_IsArray(node) && !cJSON_IsObject(node))
            continue;
        const cJSON *c = cJSON_IsArray(node) ? node->child : node;
        for (; c; c = cJSON_IsArray(node) ? c->next : NULL) {
            if (!filter_once(p, start, c, &v))
                return false;
            if (v && nodes_push(out, c) != TC_OK)
                return fail(p, TC_ENOMEM);
        }
    }
    p->s = after;
    return true;
}

/* ------------------------------------------------------------------ segments */

/* After "[": a union of quoted names. */
static bool bracket_names(pp_t *p, const nodes_t *in, nodes_t *out)
{
    int count = 0;
    for (;;) {
        skip_ws(p);
        if (*p->s != '\'' && *p->s != '"')
            return fail(p, TC_EINVAL);
        char *name = read_quoted(p);
        if (!name)
            return false;
        int rc = select_name(in, name, out);
        free(name);
        if (rc != TC_OK)
            return fail(p, rc);
        count++;
        skip_ws(p);
        if (*p->s == ',') {
            p->s++;
            continue;
        }
        if (!eat(p, ']'))
            return fail(p, TC_EINVAL);
        if (count > 1)
            p->indefinite = true;
        return true;
    }
}

/* After "[": indexes, a union of indexes or a slice. */
static bool bracket_numbers(pp_t *p, const nodes_t *in, nodes_t *out)
{
    long a = 0, b = 0, step = 1;
    bool has_a = read_int(p, &a), has_b = false;
    skip_ws(p);
    if (*p->s == ':') {
        p->s++;
        skip_ws(p);
        has_b = read_int(p, &b);
        skip_ws(p);
        if (*p->s == ':') {
            p->s++;
            skip_ws(p);
            if (!read_int(p, &step) || step <= 0)
                return fail(p, TC_EINVAL);
        }
        skip_ws(p);
        if (!eat(p, ']'))
            return fail(p, TC_EINVAL);
        p->indefinite = true;
        int rc = select_slice(in, has_a, a, has_b, b, step, out);
        return rc == TC_OK ? true : fail(p, rc);
    }
    if (!has_a)
        return fail(p, TC_EINVAL);
    int count = 0;
    for (;;) {
        int rc = select_index(in, a, out);
        if (rc != TC_OK)
            return fail(p, rc);
        count++;
        skip_ws(p);
        if (*p->s == ']') {
            p->s++;
            break;
        }
        if (!eat(p, ','))
            return fail(p, TC_EINVAL);
        skip_ws(p);
        if (!read_int(p, &a))
            return fail(p, TC_EINVAL);
    }
    if (count > 1)
        p->indefinite = true;
    return true;
}

static bool bracket(pp_t *p, const nodes_t *in, nodes_t *out)
{
    p->s++; /* [ */
    skip_ws(p);
    if (*p->s == '*') {
        p->s++;
        skip_ws(p);
        if (!eat(p, ']'))
            return fail(p, TC_EINVAL);
        p->indefinite = true;
        int rc = select_all(in, out);
        return rc == TC_OK ? true : fail(p, rc);
    }
    if (*p->s == '?') {
        p->s++;
        p->indefinite = true;
        return select_filter(p, in, out);
    }
    if (*p->s == '\'' || *p->s == '"')
        return bracket_names(p, in, out);
    return bracket_numbers(p, in, out);
}

/* After "." (not ".."): a name or "*". */
static bool dot_child(pp_t *p, const nodes_t *in, nodes_t *out)
{
    if (*p->s == '*') {
        p->s++;
        p->indefinite = true;
        int rc = select_all(in, out);
        return rc == TC_OK ? true : fail(p, rc);
    }
    char *name = read_dot_name(p);
    if (!name)
        return false;
    int rc = select_name(in, name, out);
    free(name);
    return rc == TC_OK ? true : fail(p, rc);
}

/* One segment applied to cur (replaced by the selection). */
static bool segment(pp_t *p, nodes_t *cur)
{
    nodes_t next = {0}, desc = {0};
    const nodes_t *from = cur;
    bool ok;
    if (p->s[0] == '.' && p->s[1] == '.') {
        p->s += 2;
        p->indefinite = true;
        for (size_t i = 0; i < cur->n; i++)
            if (nodes_descend(&desc, cur->v[i]) != TC_OK) {
                nodes_free(&desc);
                return fail(p, TC_ENOMEM);
            }
        from = &desc;
        ok = *p->s == '[' ? bracket(p, from, &next) : dot_child(p, from, &next);
    } else if (*p->s == '.') {
        p->s++;
        ok = dot_child(p, from, &next);
    } else {
        ok = bracket(p, from, &next);
    }
    nodes_free(&desc);
    nodes_free(cur);
    *cur = next;
    return ok;
}

static bool eval_segments(pp_t *p, nodes_t *cur)
{
    while (*p->s == '.' || *p->s == '[')
        if (!segment(p, cur))
            return false;
    return true;
}

/* ------------------------------------------------------------------ public */

/* Runs a whole path; the root is doc ("$") or ctx ("$$"). */
static int run_path(const cJSON *doc, const cJSON *ctx, const char *path, nodes_t *set,
                    bool *indefinite)
{
    if (!path || path[0] != '$')
        return TC_EINVAL;
    bool context = path[1] == '$';
    const cJSON *root = context ? ctx : doc;
    pp_t p = {.s = path + (context ? 2 : 1), .root = root};
    if (root && nodes_push(set, root) != TC_OK)
        return TC_ENOMEM;
    if (!eval_segments(&p, set))
        return p.rc == TC_OK ? TC_EINVAL : p.rc;
    if (*p.s != '\0')
        return TC_EINVAL;
    *indefinite = p.indefinite;
    return TC_OK;
}

int asl_path_eval(const cJSON *doc, const cJSON *ctx, const char *path, cJSON **out)
{
    nodes_t set = {0};
    bool indefinite = false;
    *out = NULL;
    int rc = run_path(doc, ctx, path, &set, &indefinite);
    if (rc != TC_OK)
        goto cleanup;
    if (!indefinite) {
        rc = set.n == 1 ? TC_OK : TC_ENOTFOUND;
        if (rc == TC_OK && !(*out = cJSON_Duplicate(set.v[0], true)))
            rc = TC_ENOMEM;
        goto cleanup;
    }
    /* Indefinite paths answer the list of matches, [] when nothing matched (Jayway). */
    cJSON *arr = cJSON_CreateArray();
    rc = arr ? TC_OK : TC_ENOMEM;
    for (size_t i = 0; rc == TC_OK && i < set.n; i++) {
        cJSON *copy = cJSON_Duplicate(set.v[i], true);
        if (!copy || !cJSON_AddItemToArray(arr, copy)) {
            cJSON_Delete(copy);
            rc = TC_ENOMEM;
        }
    }
    if (rc == TC_OK)
        *out = arr;
    else
        cJSON_Delete(arr);
cleanup:
    nodes_free(&set);
    return rc;
}

/* ------------------------------------------------------------------ reference paths */

typedef struct {
    char *name; /* NULL for an index */
    long index;
} ref_seg_t;

static void ref_free(ref_seg_t *segs, int n)
{
    for (int i = 0; i < n; i++)
        free(segs[i].name);
}

/* Parses a reference path ("$", then .name, ['name'], [n]) into segs; TC_EINVAL. */
static int ref_parse(const char *path, ref_seg_t *segs, int *nsegs)
{
    pp_t p = {.s = path ? path + 1 : NULL};
    int n = 0;
    *nsegs = 0;
    if (!path || path[0] != '$' || path[1] == '$')
        return TC_EINVAL;
    while (*p.s && p.rc == TC_OK) {
        if (n == REF_MAX_SEGS)
            goto bad;
        ref_seg_t *seg = &segs[n];
        seg->name = NULL;
        if (p.s[0] == '.' && p.s[1] != '.' && p.s[1] != '*') {
            p.s++;
            if (!(seg->name = read_dot_name(&p)))
                goto bad;
        } else if (p.s[0] == '[' && (p.s[1] == '\'' || p.s[1] == '"')) {
            p.s++;
            if (!(seg->name = read_quoted(&p)) || !eat(&p, ']')) {
                free(seg->name);
                goto bad;
            }
        } else if (p.s[0] == '[') {
            p.s++;
            if (!read_int(&p, &seg->index) || seg->index < 0 || !eat(&p, ']'))
                goto bad;
        } else {
            goto bad;
        }
        n++;
    }
    if (p.rc != TC_OK)
        goto bad;
    *nsegs = n;
    return TC_OK;
bad:
    ref_free(segs, n);
    return p.rc == TC_ENOMEM ? TC_ENOMEM : TC_EINVAL;
}

bool asl_path_valid(const char *path, bool reference_only)
{
    if (!path)
        return false;
    if (reference_only) {
        ref_seg_t segs[REF_MAX_SEGS];
        int n;
        if (ref_parse(path, segs, &n) != TC_OK)
            return false;
        ref_free(segs, n);
        return true;
    }
    nodes_t set = {0};
    bool indefinite;
    int rc = run_path(NULL, NULL, path, &set, &indefinite);
    nodes_free(&set);
    return rc == TC_OK;
}

/* Puts value at segs into doc (which is a copy the caller owns); false: the path crosses a
 * non-object or a missing array element. value is taken over on success. */
static bool ref_put(cJSON *doc, const ref_seg_t *segs, int n, cJSON *value, bool *oom)
{
    cJSON *cur = doc;
    for (int i = 0; i < n; i++) {
        bool last = i == n - 1;
        if (segs[i].name) {
            if (!cJSON_IsObject(cur))
                return false;
            cJSON *child = cJSON_GetObjectItemCaseSensitive(cur, segs[i].name);
            if (last) {
                bool ok = child ? cJSON_ReplaceItemInObjectCaseSensitive(cur, segs[i].name, value)
                                : cJSON_AddItemToObject(cur, segs[i].name, value);
                *oom = !ok;
                return ok;
            }
            if (!child) {
                /* Missing objects on the way are created, as Step Functions does. */
                if (!(child = cJSON_AddObjectToObject(cur, segs[i].name))) {
                    *oom = true;
                    return false;
                }
            }
            cur = child;
        } else {
            if (!cJSON_IsArray(cur) || segs[i].index >= cJSON_GetArraySize(cur))
                return false;
            cJSON *child = cJSON_GetArrayItem(cur, (int)segs[i].index);
            if (last) {
                bool ok = cJSON_ReplaceItemViaPointer(cur, child, value);
                *oom = !ok;
                return ok;
            }
            cur = child;
        }
    }
    return false;
}

int asl_result_path(const cJSON *input, const char *path, cJSON *value, cJSON **out, asl_err_t *err)
{
    ref_seg_t segs[REF_MAX_SEGS];
    int n = 0, rc;
    cJSON *doc = NULL;
    *out = NULL;
    if (!path) {
        cJSON_Delete(value);
        *out = cJSON_Duplicate(input, true);
        return *out ? TC_OK : TC_ENOMEM;
    }
    if ((rc = ref_parse(path, segs, &n)) != TC_OK) {
        if (rc == TC_EINVAL)
            asl_err_set(err, ASL_E_RESULT_PATH, "Invalid ResultPath '%s'", path);
        goto cleanup;
    }
    if (n == 0) {
        *out = value;
        value = NULL;
        goto cleanup;
    }
    if (!(doc = cJSON_Duplicate(input, true))) {
        rc = TC_ENOMEM;
        goto cleanup;
    }
    bool oom = false;
    if (!ref_put(doc, segs, n, value, &oom)) {
        rc = oom ? TC_ENOMEM : TC_EINVAL;
        if (!oom)
            asl_err_set(err, ASL_E_RESULT_PATH,
                        "Unable to apply ResultPath '%s' to the state's input", path);
        goto cleanup;
    }
    value = NULL;
    *out = doc;
    doc = NULL;
cleanup:
    ref_free(segs, n);
    cJSON_Delete(value);
    cJSON_Delete(doc);
    return rc;
}

int asl_apply_io_path(const cJSON *state, const char *field, const cJSON *value, cJSON **out,
                      asl_err_t *err)
{
    const cJSON *p = asl_get(state, field);
    *out = NULL;
    if (!p)
        *out = cJSON_Duplicate(value, true);
    else if (cJSON_IsNull(p))
        *out = cJSON_CreateObject();
    else {
        int rc = asl_path_eval(value, NULL, p->valuestring, out);
        if (rc == TC_ENOMEM)
            return rc;
        if (rc != TC_OK) {
            asl_err_set(err, ASL_E_RUNTIME, "Invalid path '%s': the %s selects nothing",
                        p->valuestring ? p->valuestring : "", field);
            return TC_EINVAL;
        }
        return TC_OK;
    }
    return *out ? TC_OK : TC_ENOMEM;
}
