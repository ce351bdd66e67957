/*
 * The server side of RFC 6455: handshake checks, the accept value, client frames parsed and
 * server frames built. Pure functions over caller-owned bytes.
 */
#include "tc/tc_ws.h"
#include "tc/tc_codec.h"
#include "tc/tc_core.h"

#include <openssl/evp.h>
#include <string.h>
#include <strings.h>

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

bool tc_ws_lists_n(const char *v, size_t n, const char *token)
{
    size_t tlen = strlen(token), pos = 0, elen;
    const char *e;
    while (tc_ws_entry_next(v, n, &pos, &e, &elen))
        if (elen == tlen && strncasecmp(e, token, tlen) == 0)
            return true;
    return false;
}

bool tc_ws_entry_next(const char *v, size_t n, size_t *pos, const char **e, size_t *elen)
{
    size_t i = *pos;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t start = i;
        while (i < n && v[i] != ',')
            i++;
        size_t end = i;
        while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t'))
            end--;
        if (end > start) {
            *pos = i;
            *e = v + start;
            *elen = end - start;
            return true;
        }
    }
    *pos = n;
    return false;
}

bool tc_ws_bearer_entry(const char *e, size_t elen)
{
    size_t plen = sizeof TC_WS_BEARER_PROTOCOL - 1;
    return elen > plen && memcmp(e, TC_WS_BEARER_PROTOCOL, plen) == 0;
}

bool tc_ws_bearer_n(const char *value, size_t n, const char **tok, size_t *tok_len)
{
    size_t pos = 0, elen;
    const char *e;
    while (tc_ws_entry_next(value, n, &pos, &e, &elen)) {
        if (tc_ws_bearer_entry(e, elen)) {
            *tok = e + sizeof TC_WS_BEARER_PROTOCOL - 1;
            *tok_len = elen - (sizeof TC_WS_BEARER_PROTOCOL - 1);
            return true;
        }
    }
    return false;
}

bool tc_ws_lists(const char *value, const char *token)
{
    return value && tc_ws_lists_n(value, strlen(value), token);
}

bool tc_ws_handshake_ok(const char *upgrade, const char *connection, const char *version,
                        const char *key)
{
    if (!upgrade || !connection || !version || !key)
        return false;
    if (!tc_ws_lists(upgrade, "websocket") || !tc_ws_lists(connection, "upgrade"))
        return false;
    if (strcmp(version, "13") != 0)
        return false;
    uint8_t nonce[18];
    return strlen(key) == 24 && tc_b64_decode(key, 24, nonce, sizeof nonce) == 16;
}

int tc_ws_accept(const char *key, char out[TC_WS_ACCEPT_LEN])
{
    char joined[128];
    size_t klen = strlen(key);
    if (klen + sizeof WS_GUID > sizeof joined)
        return TC_EINVAL;
    memcpy(joined, key, klen);
    memcpy(joined + klen, WS_GUID, sizeof WS_GUID);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    if (EVP_Digest(joined, klen + sizeof WS_GUID - 1, digest, &dlen, EVP_sha1(), NULL) != 1 ||
        dlen != 20)
        return TC_ERROR;
    return tc_b64_encode(digest, 20, out, TC_WS_ACCEPT_LEN) == 28 ? TC_OK : TC_ERROR;
}

tc_ws_parse_t tc_ws_parse(const uint8_t *buf, size_t n, uint64_t max_payload, tc_ws_frame_t *f)
{
    if (n < 2)
        return TC_WS_FRAME_MORE;
    f->fin = (buf[0] & 0x80) != 0;
    f->opcode = buf[0] & 0x0F;
    if (buf[0] & 0x70) /* no extension was negotiated, so no reserved bit may be set */
        return TC_WS_FRAME_BAD;
    bool control = f->opcode >= 0x8;
    if (f->opcode > TC_WS_BINARY && !control)
        return TC_WS_FRAME_BAD;
    if (control && f->opcode > TC_WS_PONG)
        return TC_WS_FRAME_BAD;
    if (!(buf[1] & 0x80)) /* §5.1: a server closes on an unmasked client frame */
        return TC_WS_FRAME_BAD;
    uint64_t len = buf[1] & 0x7F;
    size_t h = 2;
    if (len == 126) {
        if (n < 4)
            return TC_WS_FRAME_MORE;
        len = ((uint64_t)buf[2] << 8) | buf[3];
        if (len < 126) /* §5.2: the minimal number of bytes must be used */
            return TC_WS_FRAME_BAD;
        h = 4;
    } else if (len == 127) {
        if (n < 10)
            return TC_WS_FRAME_MORE;
        len = 0;
        for (int i = 0; i < 8; i++)
            len = (len << 8) | buf[2 + i];
        if (len >> 63 || len <= 0xFFFF)
            return TC_WS_FRAME_BAD;
        h = 10;
    }
    if (control && (!f->fin || len > 125))
        return TC_WS_FRAME_BAD;
    if (len > max_payload)
        return TC_WS_FRAME_BIG;
    if (n < h + 4)
        return TC_WS_FRAME_MORE;
    memcpy(f->mask, buf + h, 4);
    f->header_len = h + 4;
    f->len = len;
    if (n - f->header_len < len)
        return TC_WS_FRAME_MORE;
    return TC_WS_FRAME_OK;
}

void tc_ws_unmask(uint8_t *payload, size_t len, const uint8_t mask[4])
{
    for (size_t i = 0; i < len; i++)
        payload[i] ^= mask[i & 3];
}

size_t tc_ws_header(uint8_t *out, int opcode, uint64_t len)
{
    out[0] = (uint8_t)(0x80 | (opcode & 0x0F));
    if (len < 126) {
        out[1] = (uint8_t)len;
        return 2;
    }
    if (len <= 0xFFFF) {
        out[1] = 126;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        return 4;
    }
    out[1] = 127;
    for (int i = 0; i < 8; i++)
        out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
    return 10;
}

size_t tc_ws_close_frame(uint8_t *out, uint16_t code, const char *reason)
{
    size_t rlen = reason ? strlen(reason) : 0;
    if (rlen > 123)
        rlen = 123;
    size_t h = tc_ws_header(out, TC_WS_CLOSE, 2 + rlen);
    out[h] = (uint8_t)(code >> 8);
    out[h + 1] = (uint8_t)code;
    if (rlen)
        memcpy(out + h + 2, reason, rlen);
    return h + 2 + rlen;
}
