/* tc_ws: the handshake's checks and accept value (RFC 6455 §1.3's example), client frames
 * parsed and refused, server frames built. */
#include <criterion/criterion.h>

#include "tc/tc_core.h"
#include "tc/tc_ws.h"

#include <string.h>

static const char *rfc_key = "dGhlIHNhbXBsZSBub25jZQ==";

Test(ws, accept_value_is_the_rfc_example)
{
    char out[TC_WS_ACCEPT_LEN];
    cr_assert_eq(tc_ws_accept(rfc_key, out), TC_OK);
    cr_assert_str_eq(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

Test(ws, handshake_needs_every_header_right)
{
    cr_assert(tc_ws_handshake_ok("websocket", "Upgrade", "13", rfc_key));
    cr_assert(tc_ws_handshake_ok("WebSocket", "keep-alive, Upgrade", "13", rfc_key));
    cr_assert_not(tc_ws_handshake_ok(NULL, "Upgrade", "13", rfc_key), "no Upgrade");
    cr_assert_not(tc_ws_handshake_ok("h2c", "Upgrade", "13", rfc_key), "another protocol");
    cr_assert_not(tc_ws_handshake_ok("websocket", "keep-alive", "13", rfc_key),
                  "Connection without upgrade");
    cr_assert_not(tc_ws_handshake_ok("websocket", "upgraded", "13", rfc_key), "not a token");
    cr_assert_not(tc_ws_handshake_ok("websocket", "Upgrade", "8", rfc_key), "old version");
    cr_assert_not(tc_ws_handshake_ok("websocket", "Upgrade", "13", "dGhlIHNhbXBsZQ=="),
                  "a key of 10 bytes");
    cr_assert_not(tc_ws_handshake_ok("websocket", "Upgrade", "13", "not base64 at all!!!!!!!"),
                  "not base64");
}

Test(ws, token_lists_match_whole_tokens_in_a_counted_value)
{
    /* a header as the gateway's parser holds it: not NUL-terminated, the next bytes follow */
    const char raw[] = "keep-alive, Upgrade\r\nHost: upgraded";
    size_t n = strlen("keep-alive, Upgrade");
    cr_assert(tc_ws_lists_n(raw, n, "upgrade"));
    cr_assert(tc_ws_lists_n(raw, n, "KEEP-ALIVE"));
    cr_assert_not(tc_ws_lists_n(raw, n - 1, "upgrade"), "a prefix of the token");
    cr_assert(tc_ws_lists_n("websocket,h2c", 13, "h2c"));
    cr_assert_not(tc_ws_lists_n("websocket,h2c", 9, "h2c"), "a token past the value's end");
    cr_assert_not(tc_ws_lists_n(" , ,\t", 5, "upgrade"));
    cr_assert_not(tc_ws_lists_n("", 0, ""), "an empty value lists nothing");
    cr_assert(tc_ws_lists("websocket ,\th2c", "h2c"));
    cr_assert_not(tc_ws_lists(NULL, "websocket"));
}

Test(ws, a_bearer_entry_is_found_by_its_exact_prefix)
{
    /* as a browser sends it, in a head that goes on past the value */
    const char raw[] = "techcorp.notifications.v1, techcorp.bearer.eyJ.a-b_c.sig ,x\r\nHost: h";
    size_t n = strlen("techcorp.notifications.v1, techcorp.bearer.eyJ.a-b_c.sig ,x");
    const char *tok = NULL;
    size_t tlen = 0;
    cr_assert(tc_ws_bearer_n(raw, n, &tok, &tlen));
    cr_assert_eq(tlen, strlen("eyJ.a-b_c.sig"));
    cr_assert(strncmp(tok, "eyJ.a-b_c.sig", tlen) == 0);
    cr_assert(tc_ws_bearer_n("a,techcorp.bearer.one,techcorp.bearer.two", 41, &tok, &tlen));
    cr_assert(tlen == 3 && strncmp(tok, "one", 3) == 0, "the first bearer entry");
    cr_assert(tc_ws_bearer_entry("techcorp.bearer.x", 17));
    cr_assert_not(tc_ws_bearer_entry("techcorp.notifications.v1", 25));

    cr_assert_not(tc_ws_bearer_n("techcorp.bearer.", 16, &tok, &tlen), "no token after it");
    cr_assert_not(tc_ws_bearer_n("Techcorp.Bearer.t", 17, &tok, &tlen), "the prefix is exact");
    cr_assert_not(tc_ws_bearer_n("x-techcorp.bearer.t", 19, &tok, &tlen), "a prefix, not inside");
    cr_assert_not(tc_ws_bearer_n("techcorp.bearer.t", 15, &tok, &tlen), "past the value's end");
    cr_assert_not(tc_ws_bearer_n("", 0, &tok, &tlen));
}

Test(ws, entries_are_walked_trimmed_and_empty_ones_skipped)
{
    const char *v = " a ,, \tbb\t,c";
    size_t pos = 0, elen;
    const char *e;
    const char *want[] = {"a", "bb", "c"};
    for (size_t i = 0; i < 3; i++) {
        cr_assert(tc_ws_entry_next(v, strlen(v), &pos, &e, &elen));
        cr_assert(elen == strlen(want[i]) && strncmp(e, want[i], elen) == 0, "entry %zu", i);
    }
    cr_assert_not(tc_ws_entry_next(v, strlen(v), &pos, &e, &elen));
    pos = 0;
    cr_assert_not(tc_ws_entry_next(" ,\t, ", 5, &pos, &e, &elen));
}

/* A masked client frame of the payload into buf; returns its length. */
static size_t client_frame(uint8_t *buf, int byte0, const char *payload, size_t len)
{
    const uint8_t mask[4] = {0x37, 0xfa, 0x21, 0x3d};
    size_t h = tc_ws_header(buf, byte0 & 0x0F, len);
    buf[0] = (uint8_t)byte0;
    buf[1] |= 0x80;
    memcpy(buf + h, mask, 4);
    memcpy(buf + h + 4, payload, len);
    tc_ws_unmask(buf + h + 4, len, mask);
    return h + 4 + len;
}

Test(ws, a_masked_text_frame_parses_and_unmasks)
{
    uint8_t buf[64];
    size_t n = client_frame(buf, 0x81, "Hello", 5);
    tc_ws_frame_t f;
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(tc_ws_parse(buf, i, 1024, &f), TC_WS_FRAME_MORE, "a prefix of %zu", i);
    cr_assert_eq(tc_ws_parse(buf, n, 1024, &f), TC_WS_FRAME_OK);
    cr_assert(f.fin);
    cr_assert_eq(f.opcode, TC_WS_TEXT);
    cr_assert_eq(f.len, 5);
    cr_assert_eq(f.header_len, 6);
    tc_ws_unmask(buf + f.header_len, (size_t)f.len, f.mask);
    cr_assert_arr_eq(buf + f.header_len, "Hello", 5);
}

Test(ws, extended_lengths_parse)
{
    static uint8_t buf[70000 + 14];
    static char payload[70000];
    memset(payload, 'x', sizeof payload);
    tc_ws_frame_t f;
    size_t n = client_frame(buf, 0x82, payload, 300);
    cr_assert_eq(tc_ws_parse(buf, n, 100000, &f), TC_WS_FRAME_OK);
    cr_assert_eq(f.len, 300);
    cr_assert_eq(f.header_len, 8);
    n = client_frame(buf, 0x82, payload, sizeof payload);
    cr_assert_eq(tc_ws_parse(buf, n, 100000, &f), TC_WS_FRAME_OK);
    cr_assert_eq(f.len, sizeof payload);
    cr_assert_eq(f.header_len, 14);
    cr_assert_eq(tc_ws_parse(buf, n, 1000, &f), TC_WS_FRAME_BIG, "over the limit");
}

Test(ws, protocol_errors_are_refused)
{
    uint8_t buf[300];
    tc_ws_frame_t f;
    size_t n = client_frame(buf, 0x81, "hi", 2);
    buf[1] &= 0x7F;
    cr_assert_eq(tc_ws_parse(buf, n, 1024, &f), TC_WS_FRAME_BAD, "unmasked");
    n = client_frame(buf, 0xC1, "hi", 2);
    cr_assert_eq(tc_ws_parse(buf, n, 1024, &f), TC_WS_FRAME_BAD, "RSV1 without an extension");
    n = client_frame(buf, 0x83, "hi", 2);
    cr_assert_eq(tc_ws_parse(buf, n, 1024, &f), TC_WS_FRAME_BAD, "reserved data opcode");
    n = client_frame(buf, 0x8B, "hi", 2);
    cr_assert_eq(tc_ws_parse(buf, n, 1024, &f), TC_WS_FRAME_BAD, "reserved control opcode");
    n = client_frame(buf, 0x09, "hi", 2);
    cr_assert_eq(tc_ws_parse(buf, n, 1024, &f), TC_WS_FRAME_BAD, "fragmented ping");
    char big[200];
    memset(big, 'p', sizeof big);
    n = client_frame(buf, 0x89, big, 126);
    cr_assert_eq(tc_ws_parse(buf, n, 1024, &f), TC_WS_FRAME_BAD, "ping over 125 bytes");
    /* a length of 5 written in the 16-bit form is not minimal */
    const uint8_t padded[] = {0x81, 0xFE, 0x00, 0x05, 1, 2, 3, 4, 'a', 'b', 'c', 'd', 'e'};
    cr_assert_eq(tc_ws_parse(padded, sizeof padded, 1024, &f), TC_WS_FRAME_BAD);
    const uint8_t huge[] = {0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4};
    cr_assert_eq(tc_ws_parse(huge, sizeof huge, UINT64_MAX, &f), TC_WS_FRAME_BAD, "top bit");
}

Test(ws, server_headers_use_the_shortest_length)
{
    uint8_t h[TC_WS_HEADER_MAX];
    cr_assert_eq(tc_ws_header(h, TC_WS_TEXT, 125), 2);
    cr_assert_eq(h[0], 0x81);
    cr_assert_eq(h[1], 125);
    cr_assert_eq(tc_ws_header(h, TC_WS_TEXT, 126), 4);
    cr_assert_eq(h[1], 126);
    cr_assert_eq(h[2], 0);
    cr_assert_eq(h[3], 126);
    cr_assert_eq(tc_ws_header(h, TC_WS_BINARY, 65536), 10);
    cr_assert_eq(h[0], 0x82);
    cr_assert_eq(h[1], 127);
    cr_assert_eq(h[7], 1);
    cr_assert_eq(h[8], 0);
}

Test(ws, close_frames_carry_the_code_and_a_bounded_reason)
{
    uint8_t out[127];
    size_t n = tc_ws_close_frame(out, TC_WS_GOING_AWAY, "shutting down");
    cr_assert_eq(n, 2 + 2 + 13);
    cr_assert_eq(out[0], 0x88);
    cr_assert_eq(out[1], 15);
    cr_assert_eq(out[2], 0x03);
    cr_assert_eq(out[3], 0xE9);
    char reason[300];
    memset(reason, 'r', sizeof reason - 1);
    reason[sizeof reason - 1] = '\0';
    n = tc_ws_close_frame(out, TC_WS_POLICY, reason);
    cr_assert_eq(n, 127, "a control frame carries at most 125 bytes");
    cr_assert_eq(out[1], 125);
}
