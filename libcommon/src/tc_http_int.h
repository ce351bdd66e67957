/* Private to the HTTP server: the request and response objects behind tc_req_t/tc_resp_t. */
#ifndef TC_HTTP_INT_H
#define TC_HTTP_INT_H

#include <microhttpd.h>
#include <stdint.h>
#include "tc/tc_buf.h"
#include "tc/tc_http.h"

#define TC_REQ_MAX_QUERY 32
/* Each connection's libmicrohttpd memory pool: the request head within the limits of tc_http.h
 * (target, header fields, query arguments) fits with room to spare, so libmicrohttpd's own
 * answers (HTML, outside the platform's error format) are left for heads several times larger
 * than any the server accepts. Allocated lazily (mmap), so an idle connection costs little. */
#define TC_HTTP_CONN_POOL   (64 * 1024)
#define TC_RESP_MAX_HEADERS 16

struct tc_resp {
    int status;
    char *body; /* malloc'd, owned */
    size_t len;
    char content_type[64];
    char *hnames[TC_RESP_MAX_HEADERS];
    char *hvalues[TC_RESP_MAX_HEADERS];
    int nheaders;
    const char *request_id; /* of the request being answered, for error bodies */
    tc_upgrade_fn upgrade;  /* tc_resp_upgrade: status 101, the socket handed to upgrade */
    void *upgrade_ud;
    void (*upgrade_drop)(void *ud);
};

struct tc_req {
    struct tc_http_server *srv;
    struct MHD_Connection *conn;
    char *uri; /* raw request target as received */
    const char *method;
    char *path;        /* points into uri copy: raw path */
    const char *query; /* raw query string (no '?'), may be "" */
    char *uri_copy;
    int started;        /* first access-handler call done */
    int responded;      /* a response was queued */
    int must_close;     /* answer with Connection: close (the framing could not be trusted) */
    int head_status;    /* 400/414/431: the request head is refused before routing */
    int suspended;      /* tc_req_suspend: waiting for tc_req_resume */
    tc_handler_fn cont; /* set by tc_req_resume: the rest of the handler */
    void *cont_ud;
    const tc_route_t *route;
    tc_params_t params;
    size_t max_body;
    tc_buf_t body;
    size_t discarded; /* bytes dropped after the limit was hit */
    int too_large;
    cJSON *json;
    tc_principal_t principal;
    int has_principal;
    const char *token; /* points into the MHD header storage, or is ws_token */
    char *ws_token;    /* a browser's token from Sec-WebSocket-Protocol (owned, wiped) */
    char request_id[80];
    char trace_id[33];
    char traceparent[56];
    char client_ip[64];
    int64_t start_ns;
    int status;
    size_t resp_bytes;
    char *qkeys[TC_REQ_MAX_QUERY];
    char *qvalues[TC_REQ_MAX_QUERY];
    int nquery;
    int query_parsed;
    struct tc_resp resp;
};

/* Releases everything a response owns. */
void tc_resp_release(struct tc_resp *r);

#endif
