/*
 * A minimal blocking HTTP client for the libcommon tests (libcurl, loopback only): one request,
 * the status, the body and the value of one chosen response header. Tests that exercise
 * tc_httpc itself do not use it.
 */
#ifndef TC_TEST_HTTP_PROBE_H
#define TC_TEST_HTTP_PROBE_H

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct {
    long status;
    char body[131072]; /* what does not fit is dropped */
    size_t body_len;
    const char *want_header; /* in: the header to capture (case-insensitive), or NULL */
    char header[256];        /* out: its value, "" when absent */
    char content_type[128];
} probe_resp_t;

static inline size_t probe_body_cb(char *p, size_t size, size_t n, void *ud)
{
    probe_resp_t *r = ud;
    size_t len = size * n, room = sizeof r->body - 1 - r->body_len;
    size_t take = len < room ? len : room;
    memcpy(r->body + r->body_len, p, take);
    r->body_len += take;
    r->body[r->body_len] = '\0';
    return len;
}

static inline size_t probe_header_cb(char *p, size_t size, size_t n, void *ud)
{
    probe_resp_t *r = ud;
    size_t len = size * n;
    size_t want = r->want_header ? strlen(r->want_header) : 0;
    if (want && len > want + 1 && strncasecmp(p, r->want_header, want) == 0 && p[want] == ':') {
        const char *v = p + want + 1;
        size_t vlen = len - want - 1;
        while (vlen && (*v == ' ' || *v == '\t'))
            v++, vlen--;
        while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
            vlen--;
        snprintf(r->header, sizeof r->header, "%.*s", (int)vlen, v);
    }
    return len;
}

/* 0 when a response arrived (any status), -1 when none did (refused, reset, timed out).
 * headers: extra "Name: value" lines, NULL-terminated, or NULL. */
static inline int probe_h(const char *method, const char *url, const char *const *headers,
                          const char *body, const char *want_header, probe_resp_t *out)
{
    memset(out, 0, sizeof *out);
    out->want_header = want_header;
    CURL *c = curl_easy_init();
    if (!c)
        return -1;
    struct curl_slist *h = NULL;
    for (int i = 0; headers && headers[i]; i++)
        h = curl_slist_append(h, headers[i]);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, probe_body_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, probe_header_cb);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 20000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
        char *ct = NULL;
        curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
        if (ct)
            snprintf(out->content_type, sizeof out->content_type, "%s", ct);
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return rc == CURLE_OK ? 0 : -1;
}

/* The same with an optional Content-Type and no other header. */
static inline int probe(const char *method, const char *url, const char *content_type,
                        const char *body, const char *want_header, probe_resp_t *out)
{
    char line[160];
    const char *headers[] = {line, NULL};
    if (content_type)
        snprintf(line, sizeof line, "Content-Type: %s", content_type);
    return probe_h(method, url, content_type ? headers : NULL, body, want_header, out);
}

/* A loopback TCP port nothing listens on right now (bound, read, closed). */
static inline int probe_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

#endif
