/* libFuzzer driver: base64url/base64 decoding, traceparent parsing, ids. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tc/tc_crypto.h"
#include "tc/tc_trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t out[512];
    char text[1100];
    long n = tc_b64url_decode((const char *)data, size, out, sizeof out);
    if (n >= 0) {
        /* decoding is strict, so re-encoding gives back the input (without padding) */
        long e = tc_b64url_encode(out, (size_t)n, text, sizeof text);
        if (e < 0 || (size_t)e > size || memcmp(text, data, (size_t)e) != 0)
            abort();
    }
    (void)tc_b64_decode((const char *)data, size, out, sizeof out);
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    char trace[33], parent[17], flags[3];
    if (tc_traceparent_parse(s, trace, parent, flags) == 0) {
        char child[56];
        if (tc_traceparent_child(trace, flags, child) != 0 || memcmp(child + 3, trace, 32) != 0)
            abort();
    }
    (void)tc_id_valid("usr", s);
    free(s);
    return 0;
}
