/* libFuzzer driver: WebSocket client frames (tc_ws_parse), handshake headers and the
 * Sec-WebSocket-Protocol entries a browser's token rides in. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tc/tc_ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a stream of frames, as a connection's input buffer holds them */
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    size_t off = 0;
    tc_ws_frame_t f;
    while (off < size && tc_ws_parse(buf + off, size - off, 1 << 20, &f) == TC_WS_FRAME_OK) {
        if (f.header_len + f.len > size - off)
            abort(); /* a whole frame must lie inside the buffer */
        tc_ws_unmask(buf + off + f.header_len, (size_t)f.len, f.mask);
        off += f.header_len + (size_t)f.len;
    }
    free(buf);
    /* a header value as the gateway's parser holds it: counted, not NUL-terminated */
    const char *v = (const char *)data, *e, *tok;
    size_t pos = 0, elen, n;
    while (tc_ws_entry_next(v, size, &pos, &e, &elen))
        if (e < v || e + elen > v + size || elen == 0)
            abort(); /* every entry lies inside the value */
    if (tc_ws_bearer_n(v, size, &tok, &n) && (n == 0 || tok + n > v + size))
        abort();
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    if (tc_ws_handshake_ok(s, s, "13", s)) {
        char accept[TC_WS_ACCEPT_LEN];
        (void)tc_ws_accept(s, accept);
    }
    free(s);
    return 0;
}
