/*
 * Strict HTTP/1.1 head and chunked-body parsing (see http_parse.h for the rules and why).
 *
 * A head is parsed in one pass once its end is in the buffer; the caller looks for the
 * empty line first, so a slowly arriving head is not re-parsed byte by byte. Every loop is
 * bounded by the buffer length and the limits below, never by the content.
 */
#include "http_parse.h"
#include "tc/tc_codec.h"

#include <string.h>
#include <strings.h>

/* RFC 9110 tchar */
static const unsigned char tchar[256] = {
    ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1, ['+'] = 1,
    ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1, ['|'] = 1,  ['~'] = 1, ['0'] = 1,
    ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1,  ['7'] = 1, ['8'] = 1,
    ['9'] = 1, ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1,  ['F'] = 1, ['G'] = 1,
    ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1,  ['N'] = 1, ['O'] = 1,
    ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1,  ['V'] = 1, ['W'] = 1,
    ['X'] = 1, ['Y'] = 1, ['Z'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1,  ['d'] = 1, ['e'] = 1,
    ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1,  ['l'] = 1, ['m'] = 1,
    ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1,  ['t'] = 1, ['u'] = 1,
    ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
};

static const char *const method_names[HTTP_M_COUNT] = {
    NULL, "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS",
};

const char *http_method_name(http_method_t m)
{
    return m > HTTP_M_OTHER && m < HTTP_M_COUNT ? method_names[m] : NULL;
}

http_method_t http_method_parse(const char *s, size_t n)
{
    for (int m = HTTP_M_GET; m < HTTP_M_COUNT; m++)
        if (strlen(method_names[m]) == n && memcmp(method_names[m], s, n) == 0)
            return (http_method_t)m;
    return HTTP_M_OTHER;
}

bool http_method_idempotent(http_method_t m)
{
    return m == HTTP_M_GET || m == HTTP_M_HEAD || m == HTTP_M_PUT || m == HTTP_M_DELETE ||
           m == HTTP_M_OPTIONS;
}

/* Field-value octets: VCHAR, obs-text, SP, HTAB. */
static bool value_char(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static bool is_ws(char c)
{
    return c == ' ' || c == '\t';
}

bool http_header_is(const char *buf, const http_hdr_t *h, const char *name, size_t name_len)
{
    return h->name_len == name_len && strncasecmp(buf + h->name_off, name, name_len) == 0;
}

int http_find_header(const char *buf, const http_hdr_t *h, int n, const char *name)
{
    size_t len = strlen(name);
    for (int i = 0; i < n; i++)
        if (http_header_is(buf, &h[i], name, len))
            return i;
    return -1;
}

bool http_list_has(const char *value, size_t len, const char *token)
{
    return http_list_has_n(value, len, token, strlen(token));
}

bool http_list_has_n(const char *value, size_t len, const char *token, size_t tlen)
{
    size_t i = 0;
    while (i < len) {
        while (i < len && (is_ws(value[i]) || value[i] == ','))
            i++;
        size_t start = i;
        while (i < len && value[i] != ',')
            i++;
        size_t end = i;
        while (end > start && is_ws(value[end - 1]))
            end--;
        if (end - start == tlen && strncasecmp(value + start, token, tlen) == 0)
            return true;
    }
    return false;
}

bool http_list_next(const char *value, size_t len, size_t *pos, const char **tok, size_t *tlen)
{
    size_t k = *pos;
    while (k < len && (value[k] == ',' || is_ws(value[k])))
        k++;
    size_t s = k;
    while (k < len && value[k] != ',' && !is_ws(value[k]))
        k++;
    *pos = k;
    *tok = value + s;
    *tlen = k - s;
    return k > s;
}

/* ------------------------------------------------------------------ lines and fields */

/* Length of the line at p (up to CR), -1 if a lone CR/LF or another control character
 * appears first, -2 if no CRLF within max bytes of the available n. */
static long line_end(const char *p, size_t n, size_t max, int *too_long)
{
    size_t lim = n < max + 2 ? n : max + 2;
    const char *cr = memchr(p, '\r', lim);
    const char *lf = memchr(p, '\n', cr ? (size_t)(cr - p) : lim);
    if (lf)
        return -1; /* bare LF */
    if (!cr) {
        *too_long = n >= max + 2;
        return -2;
    }
    size_t i = (size_t)(cr - p);
    if (i + 1 >= n) {
        *too_long = 0;
        return -2; /* CR is the last byte: LF may follow */
    }
    if (p[i + 1] != '\n')
        return -1;
    if (i > max) {
        *too_long = 1;
        return -2;
    }
    return (long)i;
}

static bool parse_digits(const char *s, size_t n, int64_t *out)
{
    if (n == 0 || n > 18)
        return false;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

/* "HTTP/1.0" or "HTTP/1.1": the minor version, -1 malformed, -2 another valid version. */
static int parse_version(const char *s, size_t n)
{
    if (n != 8 || memcmp(s, "HTTP/", 5) != 0 || s[6] != '.' || s[5] < '0' || s[5] > '9' ||
        s[7] < '0' || s[7] > '9')
        return -1;
    if (s[5] != '1' || (s[7] != '0' && s[7] != '1'))
        return -2;
    return s[7] - '0';
}

typedef struct {
    const char *why;
    int status;
} fail_t;

/* Parses one field line [p, p+len) into h; the offset base is buf. False: f says why. */
static bool parse_field(const char *buf, const char *p, size_t len, http_hdr_t *h, fail_t *f)
{
    size_t i = 0;
    if (len && is_ws(p[0])) {
        f->why = "obsolete line folding";
        return false;
    }
    while (i < len && tchar[(unsigned char)p[i]])
        i++;
    if (i == 0 || i == len || p[i] != ':') {
        f->why = i < len && is_ws(p[i]) ? "whitespace before colon" : "malformed header line";
        return false;
    }
    h->name_off = (uint32_t)(p - buf);
    h->name_len = (uint32_t)i;
    i++;
    while (i < len && is_ws(p[i]))
        i++;
    size_t end = len;
    while (end > i && is_ws(p[end - 1]))
        end--;
    for (size_t k = i; k < end; k++) {
        if (!value_char((unsigned char)p[k])) {
            f->why = "control character in header value";
            return false;
        }
    }
    h->value_off = (uint32_t)(p + i - buf);
    h->value_len = (uint32_t)(end - i);
    return true;
}

/*
 * Field lines from p until the empty line. Returns the bytes consumed including the empty
 * line, 0 when incomplete, -1 on error (f set).
 */
static long parse_fields(const char *buf, const char *p, size_t n, http_hdr_t *hs, int *nh,
                         fail_t *f, int too_big_status)
{
    size_t off = 0;
    *nh = 0;
    for (;;) {
        int too_long = 0;
        size_t room = off < HTTP_MAX_HEADER_BYTES ? HTTP_MAX_HEADER_BYTES - off : 0;
        long l = line_end(p + off, n - off, room, &too_long);
        if (l == -1) {
            f->why = "bare CR or LF in header section";
            f->status = 400;
            return -1;
        }
        if (l == -2) {
            if (!too_long)
                return 0;
            f->why = "header section too large";
            f->status = too_big_status;
            return -1;
        }
        if (l == 0)
            return (long)(off + 2);
        if (*nh == HTTP_MAX_HEADERS) {
            f->why = "too many headers";
            f->status = too_big_status;
            return -1;
        }
        if (!parse_field(buf, p + off, (size_t)l, &hs[*nh], f)) {
            f->status = 400;
            return -1;
        }
        (*nh)++;
        off += (size_t)l + 2;
    }
}

/* ------------------------------------------------------------------ framing headers */

typedef struct {
    int64_t content_length;
    int chunked;
    int conn_close, conn_keep_alive;
    int expect_continue, expect_other;
    int host, nhost;
} framing_t;

/* The framing headers of a head; false when they are ambiguous or unsupported (f says why). */
static bool framing_scan(const char *buf, const http_hdr_t *hs, int n, framing_t *fr, fail_t *f)
{
    int ncl = 0, nte = 0;
    fr->content_length = -1;
    fr->host = -1;
    for (int i = 0; i < n; i++) {
        const http_hdr_t *h = &hs[i];
        const char *v = buf + h->value_off;
        if (http_header_is(buf, h, "content-length", 14)) {
            if (++ncl > 1 || !parse_digits(v, h->value_len, &fr->content_length)) {
                f->why = ncl > 1 ? "more than one Content-Length" : "invalid Content-Length";
                return false;
            }
        } else if (http_header_is(buf, h, "transfer-encoding", 17)) {
            if (++nte > 1) {
                f->why = "more than one Transfer-Encoding";
                return false;
            }
            if (h->value_len != 7 || strncasecmp(v, "chunked", 7) != 0) {
                f->why = "unsupported Transfer-Encoding";
                f->status = 501;
                return false;
            }
            fr->chunked = 1;
        } else if (http_header_is(buf, h, "connection", 10)) {
            fr->conn_close |= http_list_has(v, h->value_len, "close");
            fr->conn_keep_alive |= http_list_has(v, h->value_len, "keep-alive");
        } else if (http_header_is(buf, h, "expect", 6)) {
            if (h->value_len == 12 && strncasecmp(v, "100-continue", 12) == 0)
                fr->expect_continue = 1;
            else
                fr->expect_other = 1;
        } else if (http_header_is(buf, h, "host", 4)) {
            fr->host = i;
            fr->nhost++;
        }
    }
    if (ncl && nte) {
        f->why = "both Content-Length and Transfer-Encoding";
        return false;
    }
    return true;
}

/* ------------------------------------------------------------------ requests */

static bool target_ok(const char *t, size_t n, http_method_t m, uint32_t *path_len)
{
    if (n == 1 && t[0] == '*')
        return m == HTTP_M_OPTIONS ? (*path_len = 1, true) : false;
    if (n == 0 || t[0] != '/')
        return false; /* absolute-form and authority-form are not served */
    size_t path = n;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)t[i];
        if (c <= 0x20 || c >= 0x7f || c == '#')
            return false;
        if (c == '?' && path == n)
            path = i;
    }
    *path_len = (uint32_t)path;
    return true;
}

static bool parse_request_line(const char *buf, size_t start, size_t l, http_request_t *r,
                               fail_t *f)
{
    const char *p = buf + start;
    const char *sp1 = memchr(p, ' ', l);
    const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', l - (size_t)(sp1 + 1 - p)) : NULL;
    f->status = 400;
    if (!sp1 || !sp2 || sp1 == p) {
        f->why = "malformed request line";
        return false;
    }
    for (const char *q = p; q < sp1; q++) {
        if (!tchar[(unsigned char)*q]) {
            f->why = "invalid method";
            return false;
        }
    }
    r->method_off = (uint32_t)start;
    r->method_len = (uint32_t)(sp1 - p);
    r->method = http_method_parse(p, r->method_len);
    r->target_off = (uint32_t)(sp1 + 1 - buf);
    r->target_len = (uint32_t)(sp2 - sp1 - 1);
    if (!target_ok(buf + r->target_off, r->target_len, r->method, &r->path_len)) {
        f->why = "invalid request target";
        return false;
    }
    r->minor = parse_version(sp2 + 1, l - (size_t)(sp2 + 1 - p));
    if (r->minor < 0) {
        f->why = r->minor == -2 ? "unsupported HTTP version" : "malformed HTTP version";
        f->status = r->minor == -2 ? 505 : 400;
        return false;
    }
    return true;
}

static bool request_framing(const char *buf, http_request_t *r, fail_t *f)
{
    framing_t fr = {0};
    f->status = 400;
    if (!framing_scan(buf, r->headers, r->nheaders, &fr, f))
        return false;
    if (fr.chunked && r->minor == 0) {
        f->why = "Transfer-Encoding in an HTTP/1.0 request";
        return false;
    }
    if (fr.nhost > 1 || (fr.nhost == 0 && r->minor == 1)) {
        f->why = fr.nhost ? "more than one Host" : "missing Host";
        return false;
    }
    if (fr.expect_other) {
        f->why = "unsupported expectation";
        f->status = 417;
        return false;
    }
    r->content_length = fr.content_length;
    r->chunked = fr.chunked;
    r->host = fr.host;
    r->expect_continue = fr.expect_continue && r->minor == 1;
    r->keep_alive = r->minor == 1 ? !fr.conn_close : (fr.conn_keep_alive && !fr.conn_close);
    return true;
}

http_parse_rc_t http_parse_request(const char *buf, size_t len, http_request_t *r, int *status,
                                   const char **why)
{
    fail_t f = {NULL, 400};
    size_t start = 0;
    /* RFC 9112 §2.2: ignore empty lines before the request line (a client's stray CRLF
     * after a body); a bounded number, so they cannot be used to stall the parser. */
    while (start + 1 < len && start < 8 && buf[start] == '\r' && buf[start + 1] == '\n')
        start += 2;
    int too_long = 0;
    long l = line_end(buf + start, len - start, HTTP_MAX_LINE, &too_long);
    if (l == -2 && !too_long)
        return HTTP_INCOMPLETE;
    if (l < 0) {
        f.why = l == -1 ? "bare CR or LF in request line" : "request line too long";
        f.status = l == -1 ? 400 : 414;
        goto fail;
    }
    memset(r, 0, offsetof(http_request_t, headers));
    if (!parse_request_line(buf, start, (size_t)l, r, &f))
        goto fail;
    size_t hstart = start + (size_t)l + 2;
    long hl = parse_fields(buf, buf + hstart, len - hstart, r->headers, &r->nheaders, &f, 431);
    if (hl == 0)
        return HTTP_INCOMPLETE;
    if (hl < 0)
        goto fail;
    r->head_len = (uint32_t)(hstart + (size_t)hl);
    if (!request_framing(buf, r, &f))
        goto fail;
    return HTTP_OK;
fail:
    *status = f.status;
    *why = f.why;
    return HTTP_ERROR;
}

/* ------------------------------------------------------------------ responses */

static bool parse_status_line(const char *p, size_t l, http_response_t *r, fail_t *f)
{
    f->why = "malformed status line";
    if (l < 12 || p[8] != ' ')
        return false;
    r->minor = parse_version(p, 8);
    if (r->minor < 0)
        return false;
    int code = 0;
    for (int i = 9; i < 12; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        code = code * 10 + (p[i] - '0');
    }
    if (code < 100 || (l > 12 && p[12] != ' '))
        return false;
    for (size_t i = 13; i < l; i++)
        if (!value_char((unsigned char)p[i]))
            return false;
    r->status = code;
    return true;
}

http_parse_rc_t http_parse_response(const char *buf, size_t len, http_response_t *r,
                                    const char **why)
{
    fail_t f = {NULL, 502};
    int too_long = 0;
    long l = line_end(buf, len, HTTP_MAX_LINE, &too_long);
    if (l == -2 && !too_long)
        return HTTP_INCOMPLETE;
    if (l < 0) {
        f.why = "malformed status line";
        goto fail;
    }
    memset(r, 0, offsetof(http_response_t, headers));
    if (!parse_status_line(buf, (size_t)l, r, &f))
        goto fail;
    size_t hstart = (size_t)l + 2;
    long hl = parse_fields(buf, buf + hstart, len - hstart, r->headers, &r->nheaders, &f, 502);
    if (hl == 0)
        return HTTP_INCOMPLETE;
    if (hl < 0)
        goto fail;
    r->head_len = (uint32_t)(hstart + (size_t)hl);
    framing_t fr = {0};
    if (!framing_scan(buf, r->headers, r->nheaders, &fr, &f))
        goto fail;
    r->content_length = fr.content_length;
    r->chunked = fr.chunked;
    r->keep_alive = r->minor == 1 ? !fr.conn_close : (fr.conn_keep_alive && !fr.conn_close);
    return HTTP_OK;
fail:
    *why = f.why;
    return HTTP_ERROR;
}

bool http_response_bodyless(http_method_t method, int status)
{
    return method == HTTP_M_HEAD || (status >= 100 && status < 200) || status == 204 ||
           status == 304;
}

/* ------------------------------------------------------------------ chunked */

enum {
    C_SIZE0,   /* first hex digit of a size line */
    C_SIZE,    /* more hex digits */
    C_EXT,     /* chunk extension up to CR */
    C_SIZE_LF, /* LF after the size line */
    C_DATA,
    C_DATA_CR,
    C_DATA_LF,
    C_TRAILER0, /* start of a trailer line (or the final CRLF) */
    C_TRAILER,
    C_TRAILER_LF,
    C_FINAL_LF,
    C_DONE,
};

void http_chunked_init(http_chunked_t *c)
{
    memset(c, 0, sizeof *c);
}

/* One framing byte; false when it breaks the framing. */
static bool chunk_byte(http_chunked_t *c, char ch)
{
    unsigned h;
    switch (c->state) {
    case C_SIZE0:
    case C_SIZE:
        if (tc_hex_nibble(ch, &h)) {
            if (c->remaining >> 59)
                return false; /* would overflow 64 bits */
            c->remaining = c->remaining * 16 + (uint64_t)h;
            c->state = C_SIZE;
        } else if (c->state == C_SIZE && ch == ';') {
            c->state = C_EXT;
        } else if (c->state == C_SIZE && ch == '\r') {
            c->state = C_SIZE_LF;
        } else {
            return false;
        }
        break;
    case C_EXT:
        if (ch == '\r')
            c->state = C_SIZE_LF;
        else if (!value_char((unsigned char)ch))
            return false;
        break;
    case C_SIZE_LF:
        if (ch != '\n')
            return false;
        c->state = c->remaining ? C_DATA : C_TRAILER0;
        c->line = 0;
        return true;
    case C_DATA_CR:
        if (ch != '\r')
            return false;
        c->state = C_DATA_LF;
        break;
    case C_DATA_LF:
        if (ch != '\n')
            return false;
        c->state = C_SIZE0;
        c->line = 0;
        return true;
    case C_TRAILER0:
        if (ch == '\r') {
            c->state = C_FINAL_LF;
            break;
        }
        if (is_ws(ch) || !tchar[(unsigned char)ch])
            return false; /* folding or not a field name */
        c->state = C_TRAILER;
        break;
    case C_TRAILER:
        if (ch == '\r')
            c->state = C_TRAILER_LF;
        else if (!value_char((unsigned char)ch))
            return false;
        break;
    case C_TRAILER_LF:
        if (ch != '\n')
            return false;
        c->state = C_TRAILER0;
        break;
    case C_FINAL_LF:
        if (ch != '\n')
            return false;
        c->state = C_DONE;
        c->done = 1;
        return true;
    default:
        return false;
    }
    if (c->state <= C_SIZE_LF && ++c->line > HTTP_MAX_CHUNK_LINE)
        return false;
    if (c->state >= C_TRAILER0 && ++c->trailer_bytes > HTTP_MAX_TRAILERS)
        return false;
    return true;
}

long http_chunked_step(http_chunked_t *c, const char *p, size_t n, size_t *data_off,
                       size_t *data_len)
{
    *data_off = 0;
    *data_len = 0;
    size_t i = 0;
    while (i < n && c->state != C_DONE) {
        if (c->state == C_DATA) {
            size_t take = n - i < c->remaining ? n - i : (size_t)c->remaining;
            *data_off = i;
            *data_len = take;
            c->remaining -= take;
            c->total += take;
            if (c->remaining == 0)
                c->state = C_DATA_CR;
            return (long)(i + take);
        }
        if (!chunk_byte(c, p[i]))
            return -1;
        i++;
    }
    return (long)i;
}
