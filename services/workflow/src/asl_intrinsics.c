/*
 * asl_intrinsics.c: the intrinsic functions of JSONPath mode (States.Format, States.Array,
 * ..., States.UUID), parsed and evaluated in one pass.
 *
 * Arguments are string literals in single quotes (escapes \' \{ \} \\ as the Step Functions
 * guide lists them; any other backslash is a syntax error), numbers, true, false, null,
 * paths ($..., $$...) and nested calls (at most 10 deep, the guide's limit). The parser runs
 * without an evaluation context to check syntax and arity (asl_intrinsic_valid): the same
 * code, so validation and evaluation cannot disagree on what parses.
 */
#include "asl_internal.h"
#include "tc/tc_buf.h"
#include "tc/tc_codec.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"

#include <ctype.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ARGS        64
#define MAX_NESTING     10
#define MAX_STRING_IN   10000 /* Base64Encode/Decode and Hash input, as Step Functions */
#define MAX_RANGE_ITEMS 1000  /* States.ArrayRange, as Step Functions */

typedef struct {
    const char *s;
    asl_eval_t *ev; /* NULL: syntax and arity only */
    asl_err_t *err;
    int rc;
    int depth;
} ip_t;

typedef struct {
    cJSON *v;  /* the value (NULL when only checking syntax) */
    char *raw; /* a string literal's text with its escapes kept (States.Format), or NULL */
} iarg_t;

typedef int (*ifn_t)(ip_t *ip, iarg_t *a, int n, cJSON **out);

/* Sets an IntrinsicFailure (the first failure wins) and answers TC_EINVAL. */
static int ifail(ip_t *ip, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int ifail(ip_t *ip, const char *fmt, ...)
{
    if (ip->rc == TC_OK) {
        va_list ap;
        va_start(ap, fmt);
        if (ip->err)
            asl_err_vset(ip->err, ASL_E_INTRINSIC, fmt, ap);
        va_end(ap);
        ip->rc = TC_EINVAL;
    }
    return TC_EINVAL;
}

static int ioom(ip_t *ip)
{
    if (ip->rc == TC_OK)
        ip->rc = TC_ENOMEM;
    return TC_ENOMEM;
}

/* ------------------------------------------------------------------ randomness */

int asl_eval_draw(asl_eval_t *ev, uint8_t out[16])
{
    if (!ev->uuid)
        return TC_EINVAL;
    if (ev->draws == 0) {
        memcpy(out, ev->uuid, 16);
    } else {
        uint8_t buf[20], h[TC_SHA256_LEN];
        memcpy(buf, ev->uuid, 16);
        for (int i = 0; i < 4; i++)
            buf[16 + i] = (uint8_t)(ev->draws >> (8 * i));
        tc_sha256(buf, sizeof buf, h);
        memcpy(out, h, 16);
    }
    ev->draws++;
    return TC_OK;
}

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

/* ------------------------------------------------------------------ argument helpers */

static bool arg_int(ip_t *ip, const cJSON *v, const char *fn, const char *what, int64_t min,
                    int64_t max, int64_t *out)
{
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
        v->valuedouble < (double)min || v->valuedouble > (double)max) {
        ifail(ip, "States.%s: %s must be an integer in [%lld, %lld]", fn, what, (long long)min,
              (long long)max);
        return false;
    }
    *out = (int64_t)v->valuedouble;
    return true;
}

static bool arg_type(ip_t *ip, const cJSON *v, int type, const char *fn, const char *what)
{
    if (v && (v->type & 0xFF) == type)
        return true;
    static const struct {
        int type;
        const char *name;
    } names[] = {
        {cJSON_String, "a string"}, {cJSON_Array, "an array"}, {cJSON_Object, "an object"}};
    const char *tn = "of another type";
    for (size_t i = 0; i < TC_ARRAY_LEN(names); i++)
        if (names[i].type == type)
            tn = names[i].name;
    ifail(ip, "States.%s: %s must be %s", fn, what, tn);
    return false;
}

static cJSON *take(iarg_t *a)
{
    cJSON *v = a->v;
    a->v = NULL;
    return v;
}

/* ------------------------------------------------------------------ functions */

/* Appends one States.Format argument as text (strings raw, other scalars as JSON). */
static int format_value(ip_t *ip, const cJSON *v, tc_buf_t *b)
{
    if (cJSON_IsString(v))
        return tc_buf_puts(b, v->valuestring);
    if (cJSON_IsObject(v) || cJSON_IsArray(v))
        return ifail(ip, "States.Format: arguments must be strings, numbers, booleans or null");
    char *text = cJSON_PrintUnformatted(v);
    if (!text)
        return ioom(ip);
    int rc = tc_buf_puts(b, text);
    free(text);
    return rc;
}

static int fn_format(ip_t *ip, iarg_t *a, int n, cJSON **out)
{
    if (!arg_type(ip, a[0].v, cJSON_String, "Format", "the template"))
        return TC_EINVAL;
    /* A literal template keeps its escapes so "\{" is a brace, not a placeholder. */
    const char *t = a[0].raw ? a[0].raw : a[0].v->valuestring;
    bool escapes = a[0].raw != NULL;
    tc_buf_t b = TC_BUF_INIT;
    int used = 1, rc = TC_OK;
    while (*t && rc == TC_OK) {
        if (escapes && t[0] == '\\' && t[1]) {
            tc_buf_putc(&b, t[1]);
            t += 2;
        } else if (t[0] == '{' && t[1] == '}') {
            if (used >= n)
                rc = ifail(ip, "States.Format: more placeholders than arguments");
            else
                rc = format_value(ip, a[used++].v, &b);
            t += 2;
        } else {
            tc_buf_putc(&b, *t++);
        }
    }
    if (rc == TC_OK && used != n)
        rc = ifail(ip, "States.Format: %d arguments for %d placeholders", n - 1, used - 1);
    if (rc == TC_OK && b.oom)
        rc = ioom(ip);
    if (rc == TC_OK && !(*out = cJSON_CreateString(tc_buf_cstr(&b))))
        rc = ioom(ip);
    tc_buf_free(&b);
    return rc;
}

static int fn_string_to_json(ip_t *ip, iarg_t *a, int n, cJSON **out)
{
    TC_UNUSED(n);
    if (!arg_type(ip, a[0].v, cJSON_String, "StringToJson", "the argument"))
        return TC_EINVAL;
    *out = cJSON_ParseWithOpts(a[0].v->valuestring, NULL, true);
    return *out ? TC_OK : ifail(ip, "States.StringToJson: the argument is not valid JSON");
}

static int fn_json_to_string(ip_t *ip, iarg_t *a, int n, cJSON **out)
{
    TC_UNUSED(n);
    char *text = cJSON_PrintUnformatted(a[0].v);
    if (!text)
        return ioom(ip);
    *out = cJSON_CreateString(text);
    free(text);
    return *out ? TC_OK : ioom(ip);
}

static int fn_array(ip_t *ip, iarg_t *a, int n, cJSON **out)
{
    if (!(*out = cJSON_CreateArray()))
        return ioom(ip);
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(*out, take(&a[i]));
    return TC_OK;
}

static int fn_array_partition(ip_t *ip, iarg_t *a, int n, cJSON **out)
{
    TC_UNUSED(n);
    int64_t size;
    if (!arg_type(ip, a[0].v, cJSON_Array, "ArrayPartition", "the first argument") ||
        !arg_int(ip, a[1].v, "ArrayPartition", "the chunk size", 1, INT32_MAX, &size))
        return TC_EINVAL;
    if (!(*out = cJSON_CreateArray()))
        return ioom(ip);
    cJSON *chunk = NULL;
    int64_t in_chunk = 0;
    for (const cJSON *e = a[0].v->child; e; e = e->next) {
        if (!chunk || in_chunk == size) {
            if (!(chunk = cJSON_CreateArray()))
                return ioom(ip);
            cJSON_AddItemToArray(*out, chunk);
            in_chunk = 0;
        }
        cJSON *copy = cJSON_Duplicate(e, true);
        if (!copy)
            return ioom(ip);
        cJSON_AddItemToArray(chunk, copy);
        in_chunk++;
    }
    return TC_OK;
}

static int fn_array_contains(ip_t *ip, iarg_t *a, int n, cJSON **out)
{
    TC_UNUSED(n);
    if (!arg_type(ip, a[0].v, cJSON_Array, "ArrayContains", "the first argument"))
        return TC_EINVAL;
    bool found = false;
    for (const cJSON *e = a[0].v->child; e && !found; e = e->next)
        found = cJSON_Compare(e, a[1].v, true);
    return (*out = cJSON_CreateBool(found)) ? TC_OK : ioom(ip);
}

static int fn_array_range(ip_t *ip, iarg_t *a, int n, cJSON **out)
{
    TC_UNUSED(n);
    int64_t start, end, step;
    if (!arg_int(ip, a[0].v, "ArrayRange", "the start", INT32_MIN, INT32_MAX, &start) ||
        !arg_int(ip, a[1].v, "ArrayRange", "the end", INT32_MIN, INT32_MAX, &end) ||
        !arg_int(ip, a[2].v, "ArrayRange", "the step", INT32_MIN, INT32_MAX, &step))
        return TC_EINVAL;
    if (step == 0)
        return ifail(ip, "States.ArrayRange: the step must not be 0");
    int64_t count = (end - start) / step >= 0 ? (end - start) / step + 1 : 0;
    if ((end - start) != 0 && ((end - start) > 0) != (step > 0))
        count = 0;
    if (count > MAX_RANGE_ITEMS)
        return ifail(ip, "States.ArrayRange: more than %d items", MAX_RANGE_ITEMS);
    if (!(*out = cJSON_CreateArray()))
        return ioom(ip);
    for (int64_t i = 0; i < count; i++) {
        cJSON *v = cJSON_CreateNumber((double)(start + i * step));
        if (!v)
            return ioom(ip);
        cJSON_AddItemToArray(*out, v);
    }
    return TC_OK;
}

static int fn_array_get_item(ip_t *ip, iarg_t *a, int n, cJSON **out)
{
    TC_UNUSED(n);
    int64_t idx;
    if (!arg_type(ip, a[0].v, cJSON_Array, "ArrayGetItem", "the first argument") ||
        !arg_int(ip, a[1].v, "ArrayGetItem", "the index", 0, INT32_MAX, &idx))
        return TC_EINVAL;
    const cJSON *e = idx < cJSON_GetArraySize(a[0].v) ? cJSON_GetArrayItem(a[0].v, (int)idx) : NULL;
    if (!e)
        return ifail(ip, "States.ArrayGetItem: index %lld is out of range", (long long)idx);
    return (*out = cJSON_Duplicate(e, true)) ? TC_OK : ioom(ip);
}

static int fn_array_length(ip_t *ip, iarg_t *a, int n, cJSON **out)
{
    TC_UNUSED(n);
    if (!arg_type(ip, a[0].v, cJSON_Array, "ArrayLength", "the argument"))
        return TC_EINVAL;
    return (*out = cJSON_CreateNumber(cJSON_GetArraySize(a[0].v))) ? TC_OK : ioom(ip);
}

static int fn_array_unique(ip_t *ip, iarg_t *a, int n, cJSON **out)
{
    TC_UNUSED(n);
    if (!arg_type(ip, a[0].v, cJSON_Array, "ArrayUnique", "the argument"))
        return TC_EINVAL;
    if (!(*out = cJSON_CreateArray()))
        return ioom(ip);
    for (const cJSON *e = a[0].v->child; e; e = e->next) {
        bool seen = false;
        for (const cJSON *k = (*out)->child; k && !seen; k = k->next)
            seen = cJSON_Compare(e, k, true);
        if (seen)
            continue;
        cJSON *copy = cJSON_Duplicate(e, true);
        if (!copy)
            return ioom(ip);
        cJSON_AddItemToArray(*out, copy);
    }
    return TC_OK;
}

static int fn_base64_encode(ip_t *ip, iarg_t *a, int n, cJSON **out)
{
    TC_UNUSED(n);
    if (!arg_type(ip, a[0].v, cJSON_String, "Base64Encode", "the argument"))
        return TC_EINVAL;
    size_t len = strlen(a[0].v->valuestring);
    if (len > MAX_STRING_IN)
        return ifail(ip, "States.Base64Encode: the input exceeds %d characters", MAX_STRING_IN);
    size_t cap = 4 * ((len + 2) / 3) + 1;
    char *enc = malloc(cap);
    if (!enc)
        return ioom(ip);
    int rc = TC_OK;
    if (tc_b64_encode(a[0].v->valuestring, len, enc, cap) < 0)
        rc = ifail(ip, "States.Base64Encode: cannot encode");
    else if (!(*out = cJSON_CreateString(enc)))
        rc = ioom(ip);
    free(enc);
    return rc;
}

static int fn_base64_decode(ip_t *ip, iarg_t *a, int n, cJSON **out)
{
    TC_UNUSED(n);
    if (!arg_type(ip, a[0].v, cJSON_String, "Base64Decode", "the argument"))
        return TC_EINVAL;
    size_t len = strlen(a[0].v->valuestring);
    if (len > MAX_STRING_IN)
        return ifail(ip, "States.Base64Decode: the input exceeds %d characters", MAX_STRING_IN);
    char *dec = malloc(len + 1);
    if (!dec)
        return ioom(ip);
    int rc = TC_OK;
    ssize_t m = tc_b64_decode(a[0].v->valuestring, len, dec, len + 1);
    if (m < 0 || memchr(dec, '\0', (size_t)m)) {
        rc = ifail(ip, "States.Base64Decode: the argument is not base64 of a string");
    } else {
        dec[m] = '\0';
        if (!(*out = cJSON_CreateString(dec)))
            rc = ioom(ip);
    }
    free(dec);
    return rc;
}

static const EVP_MD *hash_md(const char *name)
{
    if (strcmp(name, "MD5") == 0)
        return EVP_md5();
    if (strcmp(name, "SHA-1") == 0)
        return EVP_sha1();
    if (strcmp(name, "SHA-256") == 0)
        return EVP_sha256();
    if (strcmp(name, "SHA-384") == 0)
        return EVP_sha384();
    if (strcmp(name, "SHA-512") == 0)
        return EVP_sha512();
    return NULL;
}

/* Strings are hashed as their bytes; other values as their compact JSON text. */
static int fn_hash(ip_t *ip, iarg_t *a, int n, cJSON **out)
{
    TC_UNUSED(n);
    if (!arg_type(ip, a[1].v, cJSON_String, "Hash", "the algorithm"))
        return TC_EINVAL;
    const EVP_MD *md = hash_md(a[1].v->valuestring);
    if (!md)
        return ifail(ip, "States.Hash: the algorithm must be MD5, SHA-1, SHA-256, SHA-384 or "
                         "SHA-512");
    if (cJSON_IsNull(a[0].v))
        return ifail(ip, "States.Hash: the data must not be null");
    char *text = cJSON_IsString(a[0].v) ? NULL : cJSON_PrintUnformatted(a[0].v);
    const char *data = cJSON_IsString(a[0].v) ? a[0].v->valuestring : text;
    if (!data)
        return ioom(ip);
    int rc = TC_OK;
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    char hex[2 * EVP_MAX_MD_SIZE + 1];
    if (strlen(data) > MAX_STRING_IN)
        rc = ifail(ip, "States.Hash: the data exceeds %d characters", MAX_STRING_IN);
    else if (EVP_Digest(data, strlen(data), digest, &dlen, md, NULL) != 1)
        rc = ifail(ip, "States.Hash: the digest failed");
    if (rc == TC_OK) {
        tc_hex_encode(digest, dlen, hex);
        if (!(*out = cJSON_CreateString(hex)))
            rc = ioom(ip);
    }
    free(text);
    return rc;
}

/* Shallow merge: the second object's members replace the first's. */
static int fn_json_merge(ip_t *ip, iarg_t *a, int n, cJSON **out)
{
    TC_UNUSED(n);
    if (!arg_type(ip, a[0].v, cJSON_Object, "JsonMerge", "the first argument") ||
        !arg_type(ip, a[1].v, cJSON_Object, "JsonMerge", "the second argument"))
        return TC_EINVAL;
    if (!cJSON_IsFalse(a[2].v))
        return ifail(ip, "States.JsonMerge: only a shallow merge (false) is supported");
    *out = take(&a[0]);
    for (const cJSON *m = a[1].v->child; m; m = m->next) {
        cJSON *copy = cJSON_Duplicate(m, true);
        if (!copy)
            return ioom(ip);
        bool ok = cJSON_GetObjectItemCaseSensitive(*out, m->string)
                      ? cJSON_ReplaceItemInObjectCaseSensitive(*out, m->string, copy)
                      : cJSON_AddItemToObject(*out, m->string, copy);
        if (!ok) {
            cJSON_Delete(copy);
            return ioom(ip);
        }
    }
    return TC_OK;
}

/* An integer in [start, end): from the seed when given, else from the caller's bytes. */
static int fn_math_random(ip_t *ip, iarg_t *a, int n, cJSON **out)
{
    int64_t start, end, seed = 0;
    if (!arg_int(ip, a[0].v, "MathRandom", "the start", INT32_MIN, INT32_MAX, &start) ||
        !arg_int(ip, a[1].v, "MathRandom", "the end", INT32_MIN, INT32_MAX, &end) ||
        (n == 3 && !arg_int(ip, a[2].v, "MathRandom", "the seed", INT32_MIN, INT32_MAX, &seed)))
        return TC_EINVAL;
    if (end <= start)
        return ifail(ip, "States.MathRandom: the end must be greater than the start");
    uint64_t r;
    if (n == 3) {
        r = splitmix64((uint64_t)seed);
    } else {
        uint8_t b[16];
        if (asl_eval_draw(ip->ev, b) != TC_OK)
            return ifail(ip, "States.MathRandom: no randomness was supplied");
        r = 0;
        for (int i = 0; i < 8; i++)
            r = r << 8 | b[i];
    }
    int64_t v = start + (int64_t)(r % (uint64_t)(end - start));
    return (*out = cJSON_CreateNumber((double)v)) ? TC_OK : ioom(ip);
}

/* Non-integer arguments are rounded to the nearest integer (half up, as Java's Math.round),
 * as the Step Functions guide describes States.MathAdd. */
static int fn_math_add(ip_t *ip, iarg_t *a, int n, cJSON **out)
{
    TC_UNUSED(n);
    double sum = 0;
    for (int i = 0; i < 2; i++) {
        const cJSON *v = a[i].v;
        double r = cJSON_IsNumber(v) ? floor(v->valuedouble + 0.5) : NAN;
        if (!(r >= INT32_MIN && r <= INT32_MAX))
            return ifail(ip, "States.MathAdd: arguments must be numbers in [%d, %d]", INT32_MIN,
                         INT32_MAX);
        sum += r;
    }
    return (*out = cJSON_CreateNumber(sum)) ? TC_OK : ioom(ip);
}

/* Splits on every byte of the delimiter set; empty pieces are dropped. */
static int fn_string_split(ip_t *ip, iarg_t *a, int n, cJSON **out)
{
    TC_UNUSED(n);
    if (!arg_type(ip, a[0].v, cJSON_String, "StringSplit", "the first argument") ||
        !arg_type(ip, a[1].v, cJSON_String, "StringSplit", "the delimiter"))
        return TC_EINVAL;
    if (!(*out = cJSON_CreateArray()))
        return ioom(ip);
    const char *s = a[0].v->valuestring, *delims = a[1].v->valuestring;
    while (*s) {
        size_t len = *delims ? strcspn(s, delims) : strlen(s);
        if (len > 0) {
            char *piece = strndup(s, len);
            cJSON *v = piece ? cJSON_CreateString(piece) : NULL;
            free(piece);
            if (!v)
                return ioom(ip);
            cJSON_AddItemToArray(*out, v);
        }
        s += len;
        if (*s)
            s++;
    }
    return TC_OK;
}

static int fn_uuid(ip_t *ip, iarg_t *a, int n, cJSON **out)
{
    TC_UNUSED(a);
    TC_UNUSED(n);
    uint8_t b[16];
    if (asl_eval_draw(ip->ev, b) != TC_OK)
        return ifail(ip, "States.UUID: no randomness was supplied");
    b[6] = (uint8_t)((b[6] & 0x0F) | 0x40); /* version 4 */
    b[8] = (uint8_t)((b[8] & 0x3F) | 0x80); /* RFC 4122 variant */
    char hex[33], text[37];
    tc_hex_encode(b, 16, hex);
    snprintf(text, sizeof text, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16,
             hex + 20);
    return (*out = cJSON_CreateString(text)) ? TC_OK : ioom(ip);
}

static const struct {
    const char *name;
    int min, max; /* arity; max -1: any */
    ifn_t fn;
} functions[] = {
    {"Format", 1, -1, fn_format},
    {"StringToJson", 1, 1, fn_string_to_json},
    {"JsonToString", 1, 1, fn_json_to_string},
    {"Array", 0, -1, fn_array},
    {"ArrayPartition", 2, 2, fn_array_partition},
    {"ArrayContains", 2, 2, fn_array_contains},
    {"ArrayRange", 3, 3, fn_array_range},
    {"ArrayGetItem", 2, 2, fn_array_get_item},
    {"ArrayLength", 1, 1, fn_array_length},
    {"ArrayUnique", 1, 1, fn_array_unique},
    {"Base64Encode", 1, 1, fn_base64_encode},
    {"Base64Decode", 1, 1, fn_base64_decode},
    {"Hash", 2, 2, fn_hash},
    {"JsonMerge", 3, 3, fn_json_merge},
    {"MathRandom", 2, 3, fn_math_random},
    {"MathAdd", 2, 2, fn_math_add},
    {"StringSplit", 2, 2, fn_string_split},
    {"UUID", 0, 0, fn_uuid},
};

/* ------------------------------------------------------------------ parser */

static void skip_ws(ip_t *ip)
{
    while (isspace((unsigned char)*ip->s))
        ip->s++;
}

static int parse_call(ip_t *ip, cJSON **out);

/* Consumes c if it is next (never steps over the terminating NUL). */
static bool eat(ip_t *ip, char c)
{
    if (*ip->s != c)
        return false;
    ip->s++;
    return true;
}

/* 'text' with \' \{ \} \\ escapes: the value unescaped, raw with its escapes. */
static int parse_string(ip_t *ip, iarg_t *arg)
{
    const char *start = ++ip->s;
    size_t n = 0;
    char *val = malloc(strlen(start) + 1);
    if (!val)
        return ioom(ip);
    while (*ip->s && *ip->s != '\'') {
        if (*ip->s == '\\') {
            if (!strchr("'{}\\", ip->s[1]) || !ip->s[1]) {
                free(val);
                return ifail(ip, "Invalid escape in a string literal of an intrinsic function");
            }
            ip->s++;
        }
        val[n++] = *ip->s++;
    }
    val[n] = '\0';
    if (*ip->s != '\'') {
        free(val);
        return ifail(ip, "Unterminated string literal in an intrinsic function");
    }
    arg->raw = strndup(start, (size_t)(ip->s - start));
    ip->s++;
    arg->v = ip->ev ? cJSON_CreateString(val) : NULL;
    free(val);
    if (!arg->raw || (ip->ev && !arg->v))
        return ioom(ip);
    return TC_OK;
}

/* A path runs to the "," or ")" that ends the argument, outside brackets and quotes. */
static int parse_path(ip_t *ip, iarg_t *arg)
{
    const char *start = ip->s;
    int depth = 0;
    char quote = 0;
    for (; *ip->s; ip->s++) {
        char c = *ip->s;
        if (quote) {
            if (c == '\\' && ip->s[1])
                ip->s++;
            else if (c == quote)
                quote = 0;
        } else if (c == '\'' || c == '"') {
            quote = c;
        } else if (c == '[' || c == '(') {
            depth++;
        } else if ((c == ']' || c == ')') && depth > 0) {
            depth--;
        } else if ((c == ',' || c == ')') && depth == 0) {
            break;
        }
    }
    const char *end = ip->s;
    while (end > start && isspace((unsigned char)end[-1]))
        end--;
    char *path = strndup(start, (size_t)(end - start));
    if (!path)
        return ioom(ip);
    int rc = TC_OK;
    if (!asl_path_valid(path, false)) {
        rc = ifail(ip, "Invalid path '%s' in an intrinsic function", path);
    } else if (ip->ev) {
        rc = asl_path_eval(ip->ev->input, ip->ev->ctx, path, &arg->v);
        if (rc == TC_ENOMEM)
            ioom(ip);
        else if (rc != TC_OK)
            rc = ifail(ip, "The JSONPath '%s' of an intrinsic function argument selects nothing",
                       path);
    }
    free(path);
    return rc;
}

static int parse_scalar(ip_t *ip, iarg_t *arg)
{
    const char *s = ip->s;
    if (strncmp(s, "true", 4) == 0 || strncmp(s, "false", 5) == 0) {
        ip->s += *s == 't' ? 4 : 5;
        arg->v = ip->ev ? cJSON_CreateBool(*s == 't') : NULL;
    } else if (strncmp(s, "null", 4) == 0) {
        ip->s += 4;
        arg->v = ip->ev ? cJSON_CreateNull() : NULL;
    } else if (*s == '-' || isdigit((unsigned char)*s)) {
        char *end;
        double d = strtod(s, &end);
        if (end == s || !isfinite(d))
            return ifail(ip, "Invalid number in an intrinsic function");
        ip->s = end;
        arg->v = ip->ev ? cJSON_CreateNumber(d) : NULL;
    } else {
        return ifail(ip, "Invalid argument in an intrinsic function at '%.20s'", s);
    }
    return ip->ev && !arg->v ? ioom(ip) : TC_OK;
}

static int parse_arg(ip_t *ip, iarg_t *arg)
{
    skip_ws(ip);
    if (*ip->s == '\'')
        return parse_string(ip, arg);
    if (*ip->s == '$')
        return parse_path(ip, arg);
    if (strncmp(ip->s, "States.", 7) == 0)
        return parse_call(ip, &arg->v);
    return parse_scalar(ip, arg);
}

static void args_free(iarg_t *a, int n)
{
    for (int i = 0; i < n; i++) {
        cJSON_Delete(a[i].v);
        free(a[i].raw);
    }
}

/* Reads "(" args ")" into a; answers the count through *n. */
static int parse_args(ip_t *ip, iarg_t *a, int *n)
{
    *n = 0;
    skip_ws(ip);
    if (!eat(ip, '('))
        return ifail(ip, "Expected '(' after the intrinsic function name");
    skip_ws(ip);
    if (*ip->s == ')') {
        ip->s++;
        return TC_OK;
    }
    for (;;) {
        if (*n == MAX_ARGS)
            return ifail(ip, "More than %d arguments in an intrinsic function", MAX_ARGS);
        memset(&a[*n], 0, sizeof a[*n]);
        int rc = parse_arg(ip, &a[(*n)++]);
        if (rc != TC_OK)
            return rc;
        skip_ws(ip);
        if (*ip->s == ')') {
            ip->s++;
            return TC_OK;
        }
        if (!eat(ip, ','))
            return ifail(ip, "Expected ',' or ')' in an intrinsic function");
    }
}

static int parse_call(ip_t *ip, cJSON **out)
{
    iarg_t args[MAX_ARGS];
    int n = 0, rc;
    *out = NULL;
    if (++ip->depth > MAX_NESTING)
        return ifail(ip, "Intrinsic functions are nested more than %d deep", MAX_NESTING);
    ip->s += 7; /* States. */
    size_t len = 0;
    while (isalnum((unsigned char)ip->s[len]))
        len++;
    int f = -1;
    for (size_t i = 0; i < TC_ARRAY_LEN(functions) && f < 0; i++)
        if (strlen(functions[i].name) == len && strncmp(functions[i].name, ip->s, len) == 0)
            f = (int)i;
    if (f < 0)
        return ifail(ip, "Unknown intrinsic function 'States.%.*s'", (int)len, ip->s);
    ip->s += len;
    if ((rc = parse_args(ip, args, &n)) != TC_OK)
        goto cleanup;
    if (n < functions[f].min || (functions[f].max >= 0 && n > functions[f].max)) {
        rc = ifail(ip, "States.%s takes %d to %d arguments, not %d", functions[f].name,
                   functions[f].min, functions[f].max < 0 ? MAX_ARGS : functions[f].max, n);
        goto cleanup;
    }
    if (ip->ev) {
        rc = functions[f].fn(ip, args, n, out);
        if (rc != TC_OK) {
            cJSON_Delete(*out);
            *out = NULL;
        }
    }
cleanup:
    args_free(args, n);
    ip->depth--;
    return rc;
}

static int parse_top(ip_t *ip, cJSON **out)
{
    *out = NULL;
    skip_ws(ip);
    if (strncmp(ip->s, "States.", 7) != 0)
        return ifail(ip, "An intrinsic function starts with 'States.'");
    int rc = parse_call(ip, out);
    skip_ws(ip);
    if (rc == TC_OK && *ip->s)
        rc = ifail(ip, "Unexpected text after the intrinsic function: '%.20s'", ip->s);
    if (rc != TC_OK) {
        cJSON_Delete(*out);
        *out = NULL;
        /* The first failure recorded decides what the caller sees (OOM included). */
        return ip->rc != TC_OK ? ip->rc : rc;
    }
    return TC_OK;
}

int asl_intrinsic_eval_in(asl_eval_t *ev, const char *expr, cJSON **out, asl_err_t *err)
{
    ip_t ip = {.s = expr ? expr : "", .ev = ev, .err = err};
    return parse_top(&ip, out);
}

int asl_intrinsic_eval(const char *expr, const cJSON *input, const cJSON *ctx,
                       const uint8_t uuid_bytes[16], cJSON **out, asl_err_t *err)
{
    asl_eval_t ev = {.input = input, .ctx = ctx, .uuid = uuid_bytes};
    return asl_intrinsic_eval_in(&ev, expr, out, err);
}

bool asl_intrinsic_valid(const char *expr)
{
    cJSON *out = NULL;
    ip_t ip = {.s = expr ? expr : ""};
    int rc = parse_top(&ip, &out);
    cJSON_Delete(out);
    return rc == TC_OK;
}
