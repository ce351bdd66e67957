#include "predict_model.h"
#include "tc/tc_codec.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

static bool input_string(tc_jv_t *jv, const cJSON *item, const char *field, ml_request_t *req)
{
    if (!cJSON_IsString(item) || !item->valuestring) {
        tc_jv_error(jv, field, "must be a string");
        return false;
    }
    req->text[req->n] = item->valuestring;
    req->len[req->n] = strlen(item->valuestring);
    req->n++;
    return true;
}

bool ml_request_parse(const cJSON *body, bool batch, ml_request_t *req, tc_jv_t *jv)
{
    static const char *const single_keys[] = {"input", "options", "version", NULL};
    static const char *const batch_keys[] = {"inputs", "options", "version", NULL};
    memset(req, 0, sizeof *req);
    if (!tc_jv_object(jv, body, NULL))
        return false;
    tc_jv_no_unknown(jv, body, batch ? batch_keys : single_keys);
    if (!batch) {
        const cJSON *in = cJSON_GetObjectItemCaseSensitive(body, "input");
        if (!in)
            tc_jv_error(jv, "input", "is required");
        else
            input_string(jv, in, "input", req);
    } else {
        const cJSON *ins = cJSON_GetObjectItemCaseSensitive(body, "inputs");
        int n = cJSON_IsArray(ins) ? cJSON_GetArraySize(ins) : -1;
        if (n < 1 || n > ML_BATCH_MAX) {
            tc_jv_error(jv, "inputs", "must be an array of 1 to %d strings", ML_BATCH_MAX);
        } else {
            const cJSON *item;
            int i = 0;
            cJSON_ArrayForEach(item, ins)
            {
                char field[24];
                snprintf(field, sizeof field, "inputs[%d]", i++);
                if (!input_string(jv, item, field, req))
                    break;
            }
        }
    }
    const cJSON *opts = cJSON_GetObjectItemCaseSensitive(body, "options");
    if (opts && !cJSON_IsNull(opts) && !cJSON_IsObject(opts))
        tc_jv_error(jv, "options", "must be an object");
    else if (cJSON_IsObject(opts))
        req->options = opts;
    req->version = tc_jv_str(jv, body, "version", 0, 1, 32);
    return !tc_jv_failed(jv);
}

static bool is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

ml_input_check_t ml_input_check(const char *text, size_t len, int max_chars, size_t *chars)
{
    *chars = 0;
    size_t i = 0;
    while (i < len && is_space((unsigned char)text[i]))
        i++;
    if (i == len)
        return ML_INPUT_EMPTY;
    ssize_t cps = tc_utf8_count(text, len);
    if (cps < 0 || memchr(text, '\0', len))
        return ML_INPUT_BAD_UTF8;
    *chars = (size_t)cps;
    return *chars > (size_t)max_chars ? ML_INPUT_TOO_LONG : ML_INPUT_OK;
}

bool ml_cache_key(const char *prefix, const char *model, const char *version,
                  const char *options_json, const char *text, size_t len,
                  char out[ML_CACHE_KEY_MAX])
{
    /* the options' text ends at a NUL, so no input can collide with other options */
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    char hex[2 * EVP_MAX_MD_SIZE + 1] = "";
    const char *opts = options_json ? options_json : "";
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
              EVP_DigestUpdate(ctx, opts, strlen(opts) + 1) == 1 &&
              EVP_DigestUpdate(ctx, text, len) == 1 && EVP_DigestFinal_ex(ctx, digest, &dlen) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return false;
    tc_hex_encode(digest, dlen, hex);
    int n = snprintf(out, ML_CACHE_KEY_MAX, "%s%s:%s:%s", prefix, model, version, hex);
    return n > 0 && n < ML_CACHE_KEY_MAX;
}
