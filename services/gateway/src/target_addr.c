/* A target's URL: "http://host[:port]" into host, port and the Host header sent upstream, and
 * the host resolved to an address (at load and reload only: the request path never waits for
 * DNS). */
#include "config_int.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int gw_target_parse_url(const char *url, gw_target_t *t)
{
    if (strncmp(url, "http://", 7) != 0)
        return TC_EINVAL;
    const char *h = url + 7, *hend, *rest;
    if (*h == '[') {
        hend = strchr(h, ']');
        if (!hend)
            return TC_EINVAL;
        h++;
        rest = hend + 1;
    } else {
        hend = h + strcspn(h, ":/");
        rest = hend;
    }
    size_t hl = (size_t)(hend - h);
    if (hl == 0 || hl >= sizeof t->host)
        return TC_EINVAL;
    memcpy(t->host, h, hl);
    t->host[hl] = '\0';
    t->port = 80;
    if (*rest == ':') {
        char *end = NULL;
        long port = strtol(rest + 1, &end, 10);
        if (end == rest + 1 || port < 1 || port > 65535)
            return TC_EINVAL;
        t->port = (int)port;
        rest = end;
    }
    if (*rest && strcmp(rest, "/") != 0)
        return TC_EINVAL; /* a target is a host and port; paths belong to routes */
    snprintf(t->hostport, sizeof t->hostport, "%s%s%s:%d", strchr(t->host, ':') ? "[" : "", t->host,
             strchr(t->host, ':') ? "]" : "", t->port);
    return TC_OK;
}

void gw_target_resolve(gw_target_t *t)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    char port[8];
    snprintf(port, sizeof port, "%d", t->port);
    int rc = getaddrinfo(t->host, port, &hints, &res);
    if (rc != 0 || !res) {
        tc_log_kv(TC_LOG_WARN, "upstream target does not resolve; requests to it will fail",
                  "target", t->url, "error", gai_strerror(rc), NULL);
        return;
    }
    memcpy(&t->addr, res->ai_addr, res->ai_addrlen);
    t->addrlen = res->ai_addrlen;
    t->resolved = 1;
    freeaddrinfo(res);
}
