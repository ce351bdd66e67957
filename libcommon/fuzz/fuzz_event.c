/*
 * libFuzzer driver: CloudEvents binary-mode decoding (tc_event_decode_parts) from arbitrary
 * Kafka headers, key and value, and the round-trip property: an event that decodes encodes
 * back to headers that decode to the same event.
 *
 * Input: records [name_len:1][name][value_len:1][value] … then 0x00, key_len:1, key, value.
 */
#include <librdkafka/rdkafka.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tc/tc_events.h"

static int same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rd_kafka_headers_t *h = rd_kafka_headers_new(8);
    size_t i = 0;
    while (i < size && data[i] != 0) {
        size_t nl = data[i++];
        if (i + nl > size)
            break;
        char name[256];
        memcpy(name, data + i, nl);
        name[nl] = '\0';
        i += nl;
        if (i >= size)
            break;
        size_t vl = data[i++];
        if (i + vl > size)
            break;
        rd_kafka_header_add(h, name, (ssize_t)nl, data + i, (ssize_t)vl);
        i += vl;
    }
    const void *key = NULL;
    size_t keylen = 0;
    if (i < size) {
        i++; /* the 0x00 separator */
        if (i < size) {
            keylen = data[i++];
            if (i + keylen > size)
                keylen = size - i;
            key = keylen ? data + i : NULL;
            i += keylen;
        }
    }
    tc_event_t ev, back;
    const char *why = NULL;
    if (tc_event_decode_parts(h, key, keylen, i < size ? data + i : NULL, size - i, &ev, &why) ==
        0) {
        if (tc_event_validate(&ev, NULL) != 0)
            abort();
        rd_kafka_headers_t *enc = tc_event_headers(&ev);
        if (!enc)
            abort();
        const char *k = ev.partitionkey;
        if (tc_event_decode_parts(enc, k, k ? strlen(k) : 0, ev.data, ev.data_len, &back, &why) !=
                0 ||
            !same(ev.id, back.id) || !same(ev.type, back.type) || !same(ev.source, back.source) ||
            !same(ev.subject, back.subject) || !same(ev.time, back.time) ||
            back.data_len != ev.data_len)
            abort();
        tc_event_clear(&back);
        rd_kafka_headers_destroy(enc);
        tc_event_clear(&ev);
    }
    rd_kafka_headers_destroy(h);
    return 0;
}
