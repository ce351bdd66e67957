/*
 * Responses the gateway makes itself: errors in the platform's format
 * ({"error":{"code","message","request_id","docs_url"}}), CORS preflights, and the headers
 * every answer of the gateway carries (X-Request-Id, c->extra: CORS and RateLimit-*).
 */
#include "gw.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_http.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *reason(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 417:
        return "Expectation Failed";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Unknown";
    }
}

gw_tx_ctx_t gw_tx_ctx_of(const gw_conn_t *c)
{
    return (gw_tx_ctx_t){
        .org = c->principal.org,
        .sub = c->principal.sub,
        .request_id = c->request_id,
        .client_ip = c->fwd.client_ip,
        .path = c->head_dropped ? NULL : c->in + c->req.target_off,
        .path_len = c->head_dropped ? 0 : c->req.path_len,
    };
}

void gw_resp_ctx_of(gw_conn_t *c, const gw_tx_ctx_t *x, gw_resp_ctx_t *ctx)
{
    gw_app_t *app = c->w->app;
    const gw_transform_t *t = c->route ? c->route->transform : NULL;
    size_t sec_len = 0;
    const char *sec = gw_conn_security_headers(c, GW_CONTENT_API, &sec_len);
    *ctx = (gw_resp_ctx_t){
        .request_id = c->request_id,
        .extra = c->extra,
        .extra_len = c->extra_len,
        .security = sec,
        .security_len = sec_len,
        .hsts = app->hsts && app->hsts[0] && gw_conn_tls(c),
        .strip_cors = c->cors_ok,
        .keep_alive = c->keep_alive,
        .client_minor = c->client_minor,
        .tx = t && !gw_tx_set_empty(&t->resp_headers) ? &t->resp_headers : NULL,
        .txc = x,
    };
}

int gw_conn_build_head(gw_conn_t *c, const char *buf, const http_response_t *resp,
                       const gw_resp_ctx_t *ctx)
{
    for (size_t need = resp->head_len + c->extra_len + ctx->security_len + 1024;; need *= 2) {
        if (need > 4 * (size_t)GW_IN_MAX || gw_conn_out_reserve(c, need) != TC_OK)
            return TC_ENOMEM;
        long n = gw_build_client_response(buf, resp, ctx, c->out, c->out_cap);
        if (n >= 0) {
            c->out_len = (uint32_t)n;
            c->out_sent = 0;
            return TC_OK;
        }
    }
}

void gw_respond_continue(gw_conn_t *c)
{
    /* a body is written with what is left of the head (gw_conn_write) */
    if (c->hit && gw_cache_body_flush(c) != GW_IO_DONE)
        return;
    if (c->rx_ready && gw_body_tx_flush(c) != GW_IO_DONE)
        return;
    if (gw_conn_flush(c) != GW_IO_DONE)
        return;
    gw_request_finish(c);
}

void gw_request_id_ensure(gw_conn_t *c)
{
    if (!c->request_id[0] && tc_id_new("req", c->request_id, sizeof c->request_id) != TC_OK)
        snprintf(c->request_id, sizeof c->request_id, "req_unknown");
}

/* The whole answer into c->out. TC_ENOMEM when it does not fit. */
static int build_response(gw_conn_t *c, int status, const char *body, size_t len,
                          const char *headers)
{
    size_t sec_len = 0;
    const char *sec = gw_conn_security_headers(c, GW_CONTENT_API, &sec_len);
    size_t need = 512 + strlen(headers ? headers : "") + c->extra_len + sec_len + len;
    if (gw_conn_out_reserve(c, need) != TC_OK)
        return TC_ENOMEM;
    bool body_allowed = status != 204 && status != 304;
    int n = snprintf(c->out, c->out_cap, "HTTP/1.1 %d %s\r\nX-Request-Id: %s\r\n", status,
                     reason(status), c->request_id);
    if (body_allowed)
        n += snprintf(c->out + n, c->out_cap - (size_t)n,
                      "Content-Type: application/json\r\nContent-Length: %zu\r\n"
                      "Cache-Control: no-store\r\n",
                      len);
    n += snprintf(c->out + n, c->out_cap - (size_t)n, "%.*s%.*s%s%s\r\n", (int)c->extra_len,
                  c->extra, (int)sec_len, sec, headers ? headers : "",
                  c->close_after ? "Connection: close\r\n" : "");
    if (n < 0 || (size_t)n + len > c->out_cap)
        return TC_ENOMEM;
    if (body_allowed && c->method != HTTP_M_HEAD && len) {
        memcpy(c->out + n, body, len);
        n += (int)len;
    }
    c->out_len = (uint32_t)n;
    c->out_sent = 0;
    return TC_OK;
}

void gw_respond(gw_conn_t *c, int status, const char *body, size_t len, const char *headers,
                bool close)
{
    gw_request_id_ensure(c);
    if (!c->body_done || !c->in_request)
        close = true; /* an unread body (or unparsable input) cannot be skipped reliably */
    c->close_after |= close;
    c->status = status;
    c->response_started = 1;
    if (build_response(c, status, body, len, headers) != TC_OK ||
        gw_conn_arm(c, c->w->now_ms + c->w->app->send_timeout_ms) != TC_OK) {
        gw_conn_close(c);
        return;
    }
    c->state = CS_RESPOND;
    gw_respond_continue(c);
}

void gw_respond_error(gw_conn_t *c, int status, const char *code, const char *message,
                      const char *extra_headers, bool close)
{
    gw_request_id_ensure(c);
    char *body = tc_error_body(code, message, c->request_id, NULL);
    if (!body) {
        gw_conn_close(c);
        return;
    }
    gw_respond(c, status, body, strlen(body), extra_headers, close);
    free(body);
}

bool gw_conn_tls(const gw_conn_t *c)
{
    return strcmp(c->fwd.proto, "https") == 0;
}

const char *gw_conn_security_headers(const gw_conn_t *c, gw_content_t kind, size_t *len)
{
    return gw_sechdr_get(&c->w->app->sechdr, kind, gw_conn_tls(c), len);
}

void gw_extra_add(gw_conn_t *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = sizeof c->extra - c->extra_len;
    int n = vsnprintf(c->extra + c->extra_len, room, fmt, ap);
    va_end(ap);
    if (n > 0 && (size_t)n < room)
        c->extra_len += (uint32_t)n;
}
