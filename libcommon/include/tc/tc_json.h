/*
 * tc_json.h: typed, validated access to cJSON values with collected errors.
 *
 * A validator (tc_jv_t) is created per request; each getter checks one field and, when it is
 * wrong, records {field, message} and returns a neutral value. After reading every field the
 * handler checks tc_jv_failed() and answers one 422 listing every bad field
 * (tc_resp_invalid in tc_http.h).
 *
 *   tc_jv_t jv; tc_jv_init(&jv);
 *   const char *email = tc_jv_email(&jv, body, "email", TC_JV_REQUIRED);
 *   const char *role  = tc_jv_enum(&jv, body, "role", TC_JV_REQUIRED, roles);
 *   if (tc_jv_failed(&jv)) return tc_resp_invalid(resp, &jv);
 */
#ifndef TC_JSON_H
#define TC_JSON_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

enum {
    TC_JV_OPTIONAL = 0,
    TC_JV_REQUIRED = 1 << 0,
    TC_JV_NULLABLE = 1 << 1, /* explicit null accepted (reported through *is_null / NULL) */
};

typedef struct {
    cJSON *errors; /* array of {"field","message"}; NULL until the first error */
    int count;
    int oom;
} tc_jv_t;

void tc_jv_init(tc_jv_t *jv);
void tc_jv_free(tc_jv_t *jv);
bool tc_jv_failed(const tc_jv_t *jv);
void tc_jv_error(tc_jv_t *jv, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Detaches the errors array (caller owns it). */
cJSON *tc_jv_take_errors(tc_jv_t *jv);

/* Requires obj to be a JSON object; records an error on `field` ("body" at top level). */
bool tc_jv_object(tc_jv_t *jv, const cJSON *obj, const char *field);
/* Records an error for every member of obj not named in allowed (NULL-terminated). */
void tc_jv_no_unknown(tc_jv_t *jv, const cJSON *obj, const char *const *allowed);
/* 1 if obj has a member `name` (even null). */
bool tc_jv_has(const cJSON *obj, const char *name);

/* String with length in [minlen, maxlen] characters (UTF-8 code points; invalid UTF-8 and
 * control characters other than tab/newline are rejected). Returns NULL when absent/invalid. */
const char *tc_jv_str(tc_jv_t *jv, const cJSON *obj, const char *name, unsigned flags,
                      size_t minlen, size_t maxlen);
const char *tc_jv_email(tc_jv_t *jv, const cJSON *obj, const char *name, unsigned flags);
/* One of `choices` (NULL-terminated). */
const char *tc_jv_enum(tc_jv_t *jv, const cJSON *obj, const char *name, unsigned flags,
                       const char *const *choices);
/* Returns def when absent; records an error if not a bool. */
bool tc_jv_bool(tc_jv_t *jv, const cJSON *obj, const char *name, unsigned flags, bool def);
/* Integer (no fraction, within [min,max]); def when absent. */
int64_t tc_jv_int(tc_jv_t *jv, const cJSON *obj, const char *name, unsigned flags, int64_t def,
                  int64_t min, int64_t max);
/* Member that must be an object (not copied); NULL when absent/invalid. */
const cJSON *tc_jv_obj(tc_jv_t *jv, const cJSON *obj, const char *name, unsigned flags);

/* Checks that s is valid UTF-8 without NUL or control characters (tab/newline allowed).
 * Returns the number of code points, or -1. */
ssize_t tc_utf8_validate(const char *s, size_t n);
/* Well-formed UTF-8 of any characters (controls included: texts, emails, JSON-escaped values):
 * the number of code points, or -1 for overlong forms, surrogates, code points past U+10FFFF
 * and broken sequences. */
ssize_t tc_utf8_count(const char *s, size_t n);
bool tc_email_valid(const char *s);
/* A BCP 47 language tag's shape: a 2-3 letter language, then up to 3 subtags of 2-8 letters
 * or digits after '-' ("en", "pt-BR", "zh-Hant-TW"); not "english", "en_GB" or "en-". */
bool tc_lang_tag_valid(const char *s);

/* Helpers for building responses. All return the added item or NULL on OOM. */
cJSON *tc_json_add_str(cJSON *obj, const char *name, const char *value); /* NULL → null */
cJSON *tc_json_add_int(cJSON *obj, const char *name, int64_t value);
/* Parses `text` (which must be valid JSON) and attaches it; NULL text → null. */
cJSON *tc_json_add_raw(cJSON *obj, const char *name, const char *text);
/* Unformatted print; NULL on OOM. Caller frees with free(). */
char *tc_json_print(const cJSON *v);
const char *tc_json_get_str(const cJSON *obj, const char *name); /* NULL when not a string */

#endif
