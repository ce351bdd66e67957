/* W3C Trace Context (traceparent) parsing and child-span creation. */
#include "tc/tc_trace.h"
#include "tc/tc_core.h"
#include "tc/tc_codec.h"
#include "tc/tc_crypto.h"

#include <ctype.h>
#include <string.h>

static bool is_lower_hex(const char *s, size_t n)
{
    unsigned v;
    for (size_t i = 0; i < n; i++)
        if (!tc_hex_nibble(s[i], &v) || (s[i] >= 'A' && s[i] <= 'F'))
            return false;
    return true;
}

static bool all_zero(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != '0')
            return false;
    return true;
}

int tc_traceparent_parse(const char *tp, char trace_id[33], char parent_id[17], char flags[3])
{
    /* version(2) - trace-id(32) - parent-id(16) - flags(2) */
    if (!tp || strlen(tp) < 55 || tp[2] != '-' || tp[35] != '-' || tp[52] != '-')
        return TC_EINVAL;
    if (!is_lower_hex(tp, 2) || strncmp(tp, "ff", 2) == 0)
        return TC_EINVAL;
    /* version 00 is exactly 55 chars; future versions may append fields after a '-' */
    if (strncmp(tp, "00", 2) == 0 && tp[55] != '\0')
        return TC_EINVAL;
    if (tp[55] != '\0' && tp[55] != '-')
        return TC_EINVAL;
    if (!is_lower_hex(tp + 3, 32) || !is_lower_hex(tp + 36, 16) || !is_lower_hex(tp + 53, 2))
        return TC_EINVAL;
    if (all_zero(tp + 3, 32) || all_zero(tp + 36, 16))
        return TC_EINVAL;
    memcpy(trace_id, tp + 3, 32);
    trace_id[32] = '\0';
    memcpy(parent_id, tp + 36, 16);
    parent_id[16] = '\0';
    memcpy(flags, tp + 53, 2);
    flags[2] = '\0';
    return TC_OK;
}

int tc_traceparent_child(const char *trace_id, const char *flags, char out[56])
{
    unsigned char rnd[24];
    char hex[49];
    if (tc_random_id_bytes(rnd, sizeof rnd) != TC_OK)
        return TC_ERROR;
    tc_hex_encode(rnd, sizeof rnd, hex);
    /* assembled by hand: it runs for every request a service or the gateway takes */
    const char *tid = trace_id && strlen(trace_id) == 32 ? trace_id : hex;
    const char *fl = flags && strlen(flags) == 2 ? flags : "01";
    memcpy(out, "00-", 3);
    memcpy(out + 3, tid, 32);
    out[35] = '-';
    memcpy(out + 36, hex + 32, 16);
    out[52] = '-';
    memcpy(out + 53, fl, 2);
    out[55] = '\0';
    return TC_OK;
}

bool tc_request_id_valid(const char *s, size_t n)
{
    if (!s || n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.' || c == ':'))
            return false;
    }
    return true;
}
