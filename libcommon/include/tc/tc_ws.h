/*
 * tc_ws.h: the WebSocket protocol (RFC 6455) a server speaks: the opening handshake's checks
 * and Sec-WebSocket-Accept, and the framing — a client's masked frames parsed, a server's
 * unmasked frames built. No I/O: the caller owns its sockets and buffers (the notification
 * stream's hub; the fuzz driver feeds the parser directly).
 */
#ifndef TC_WS_H
#define TC_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    TC_WS_CONT = 0x0,
    TC_WS_TEXT = 0x1,
    TC_WS_BINARY = 0x2,
    TC_WS_CLOSE = 0x8,
    TC_WS_PING = 0x9,
    TC_WS_PONG = 0xA,
};

/* Close codes (RFC 6455 §7.4.1). */
enum {
    TC_WS_NORMAL = 1000,
    TC_WS_GOING_AWAY = 1001,
    TC_WS_PROTOCOL_ERROR = 1002,
    TC_WS_POLICY = 1008,
    TC_WS_TOO_BIG = 1009,
    TC_WS_TRY_AGAIN = 1013,
};

/* A Sec-WebSocket-Accept value: 28 base64 characters and a NUL. */
#define TC_WS_ACCEPT_LEN 29
/* The longest frame header: 2 bytes, 8 of extended length, 4 of mask. */
#define TC_WS_HEADER_MAX 14

/*
 * Whether a GET's headers ask for a WebSocket this server speaks: Upgrade names "websocket"
 * and Connection names "upgrade" (both case-insensitive token lists), Sec-WebSocket-Version
 * is 13 and Sec-WebSocket-Key is 16 bytes in base64. Any argument may be NULL (absent).
 */
bool tc_ws_handshake_ok(const char *upgrade, const char *connection, const char *version,
                        const char *key);
/* Whether a comma-separated header value lists token (case-insensitive), e.g. Upgrade
 * listing "websocket"; false for NULL. */
bool tc_ws_lists(const char *value, const char *token);
/* The same for a value of n bytes, not NUL-terminated (a header as a parser found it). */
bool tc_ws_lists_n(const char *value, size_t n, const char *token);
/*
 * Browsers cannot set Authorization on a WebSocket handshake; the only header their API lets a
 * page choose is Sec-WebSocket-Protocol. A page offers its access token there as one more
 * entry, TC_WS_BEARER_PROTOCOL followed by the token, beside the subprotocol it speaks:
 *   new WebSocket(url, ["techcorp.notifications.v1", "techcorp.bearer." + token])
 * The server answers with the subprotocol, never with the bearer entry.
 */
#define TC_WS_BEARER_PROTOCOL "techcorp.bearer."

/* Walks the comma-separated entries of a header value of n bytes: each call yields the next
 * non-empty entry, blanks around it trimmed, as *e and *elen (pointing into value); false at the
 * end. *pos starts at 0. */
bool tc_ws_entry_next(const char *value, size_t n, size_t *pos, const char **e, size_t *elen);
/* Whether an entry is a bearer entry: TC_WS_BEARER_PROTOCOL and at least one byte after it. */
bool tc_ws_bearer_entry(const char *e, size_t elen);
/* The token of the first bearer entry of a Sec-WebSocket-Protocol value of n bytes, as
 * *tok and *tok_len pointing into value; false when there is none. */
bool tc_ws_bearer_n(const char *value, size_t n, const char **tok, size_t *tok_len);

/* Sec-WebSocket-Accept for a client's key: base64(SHA-1(key + the RFC's GUID)). TC_OK, or
 * TC_ERROR when the digest cannot be computed. */
int tc_ws_accept(const char *key, char out[TC_WS_ACCEPT_LEN]);

typedef struct {
    bool fin;
    int opcode;        /* TC_WS_* */
    uint64_t len;      /* payload bytes */
    size_t header_len; /* bytes before the payload */
    uint8_t mask[4];   /* the client's masking key */
} tc_ws_frame_t;

typedef enum {
    TC_WS_FRAME_OK = 0, /* *f describes a whole frame in the buffer */
    TC_WS_FRAME_MORE,   /* the frame is not all there yet: read more */
    TC_WS_FRAME_BAD,    /* a protocol error: close with 1002 */
    TC_WS_FRAME_BIG,    /* a frame longer than max_payload: close with 1009 */
} tc_ws_parse_t;

/*
 * Parses the client frame at the start of buf[0, n). A client frame must be masked, use no
 * reserved bit or opcode, and a control frame must be final and carry at most 125 bytes. On
 * TC_WS_FRAME_OK the frame spans header_len + len bytes of buf; tc_ws_unmask reveals its
 * payload in place.
 */
tc_ws_parse_t tc_ws_parse(const uint8_t *buf, size_t n, uint64_t max_payload, tc_ws_frame_t *f);
void tc_ws_unmask(uint8_t *payload, size_t len, const uint8_t mask[4]);

/* Writes a server frame's header (final, unmasked) for a payload of len bytes; returns its
 * length (2, 4 or 10). out needs TC_WS_HEADER_MAX bytes. */
size_t tc_ws_header(uint8_t *out, int opcode, uint64_t len);
/* A whole close frame with code and a reason (truncated to fit 125 bytes); returns its length.
 * out needs 127 bytes. */
size_t tc_ws_close_frame(uint8_t *out, uint16_t code, const char *reason);

#endif
