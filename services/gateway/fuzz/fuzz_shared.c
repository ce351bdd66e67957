/*
 * libFuzzer driver for the shared cache tier's values and marker names (cache_shared.c):
 * whatever a Redis value holds (another version's, a truncated one, anything someone SET), a
 * read either refuses it or yields parts inside it that write back to the same bytes; and the
 * markers of any key stay inside their buffer.
 *
 *   make fuzz-build && build/fuzz/fuzz/gateway/fuzz_shared -max_total_time=300 \
 *       /tmp/shared-corpus services/gateway/fuzz/corpus/fuzz_shared
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cache_shared.h"
#include "tc/tc_core.h"

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x))                                                                                  \
            abort();                                                                               \
    } while (0)

static bool inside(const char *p, size_t n, const char *buf, size_t len)
{
    return n == 0 || (p >= buf && n <= len && (size_t)(p - buf) <= len - n);
}

static void value(const char *buf, size_t len)
{
    gw_shared_entry_t e;
    if (gw_shared_decode(buf, len, &e) != TC_OK)
        return;
    CHECK(inside(e.key, e.key_len, buf, len) && inside(e.head, e.head_len, buf, len) &&
          inside(e.body, e.body_len, buf, len) && inside(e.etag, e.etag_len, buf, len) &&
          inside(e.vary_sig, e.vary_sig_len, buf, len) &&
          inside(e.vary_names, e.vary_names_len, buf, len));
    size_t n = 0;
    char *again = gw_shared_encode(&e, &n);
    CHECK(again && n == len && memcmp(again, buf, len) == 0);
    free(again);
    bool fresh;
    (void)gw_shared_usable(&e, e.key, e.key_len, e.stored_ms, e.fetched_ms, 0, &fresh);
}

static void markers(const char *key, size_t len)
{
    static char buf[GW_SHARED_MAX_MARKERS * GW_SHARED_NAME_MAX];
    const char *names[GW_SHARED_MAX_MARKERS];
    size_t lens[GW_SHARED_MAX_MARKERS];
    int n = gw_shared_markers("route", "org_x", key, len, buf, sizeof buf, names, lens);
    CHECK(n <= GW_SHARED_MAX_MARKERS);
    for (int i = 0; i < n; i++)
        CHECK(inside(names[i], lens[i] + 1, buf, sizeof buf) && names[i][lens[i]] == '\0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    value((const char *)data, size);
    markers((const char *)data, size);
    return 0;
}
