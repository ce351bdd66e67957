/* A target's URL: "http://host[:port]" into host, port and the Host header sent upstream, and
 * the host resolved to an address, or to every address of the name for upstreams with
 * `endpoints: "all"` (at load, reload and the resolver thread's rebuilds only: the request path
 * never waits for DNS). */
#include "config_int.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

static int from_hosts_file(const char *file, const char *host, int port, gw_addrs_t *out);

void gw_target_resolve(gw_target_t *t)
{
    const char *file = getenv("GATEWAY_HOSTS_FILE");
    gw_addrs_t *local = file && *file ? malloc(sizeof *local) : NULL;
    if (local) {
        local->n = 0;
        if (from_hosts_file(file, t->host, t->port, local) > 0) {
            t->addr = local->addr[0]; /* the file's first line for the name */
            t->addrlen = gw_addr_len(&local->addr[0]);
            t->resolved = 1;
            free(local);
            return;
        }
        free(local);
    }
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

/* ------------------------------------------------------------------ every address of a name */

static int addr_cmp(const void *a, const void *b)
{
    const struct sockaddr_storage *x = a, *y = b;
    if (x->ss_family != y->ss_family)
        return x->ss_family < y->ss_family ? -1 : 1;
    if (x->ss_family == AF_INET)
        return memcmp(&((const struct sockaddr_in *)x)->sin_addr,
                      &((const struct sockaddr_in *)y)->sin_addr, sizeof(struct in_addr));
    return memcmp(&((const struct sockaddr_in6 *)x)->sin6_addr,
                  &((const struct sockaddr_in6 *)y)->sin6_addr, sizeof(struct in6_addr));
}

/* Adds a numeric address unless it is there already; false when out is full. */
static bool add_addr(gw_addrs_t *out, int family, const void *bytes, int port)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (family == AF_INET) {
        struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        memcpy(&v4->sin_addr, bytes, sizeof v4->sin_addr);
    } else {
        struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        memcpy(&v6->sin6_addr, bytes, sizeof v6->sin6_addr);
    }
    for (int i = 0; i < out->n; i++)
        if (addr_cmp(&out->addr[i], &ss) == 0)
            return true;
    if (out->n == GW_MAX_GROUP_TARGETS)
        return false;
    out->addr[out->n++] = ss;
    return true;
}

/* The name's addresses in a hosts-format file ("address name…" per line, # comments): a
 * local resolver file, for tests and for pinning names without DNS. -1: no such file. */
static int from_hosts_file(const char *file, const char *host, int port, gw_addrs_t *out)
{
    FILE *f = fopen(file, "r");
    if (!f)
        return -1;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *save = NULL;
        char *addr = strtok_r(line, " \t\r\n", &save);
        if (!addr)
            continue;
        unsigned char bytes[16];
        int family = inet_pton(AF_INET, addr, bytes) == 1    ? AF_INET
                     : inet_pton(AF_INET6, addr, bytes) == 1 ? AF_INET6
                                                             : 0;
        for (char *name; family && (name = strtok_r(NULL, " \t\r\n", &save));)
            if (strcasecmp(name, host) == 0)
                add_addr(out, family, bytes, port);
    }
    fclose(f);
    return out->n;
}

int gw_resolve_all(const char *host, int port, gw_addrs_t *out)
{
    out->n = 0;
    const char *file = getenv("GATEWAY_HOSTS_FILE");
    if (file && *file && from_hosts_file(file, host, port, out) > 0)
        goto sorted;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    char p[8];
    snprintf(p, sizeof p, "%d", port);
    int rc = getaddrinfo(host, p, &hints, &res);
    if (rc != 0 || !res)
        return rc == EAI_MEMORY ? TC_ENOMEM : TC_ENOTFOUND;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        if (ai->ai_family == AF_INET)
            add_addr(out, AF_INET, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, port);
        else if (ai->ai_family == AF_INET6)
            add_addr(out, AF_INET6, &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr, port);
    }
    freeaddrinfo(res);
sorted:
    /* a stable order: the same set of addresses always expands to the same targets */
    qsort(out->addr, (size_t)out->n, sizeof out->addr[0], addr_cmp);
    return out->n ? TC_OK : TC_ENOTFOUND;
}

socklen_t gw_addr_len(const struct sockaddr_storage *ss)
{
    return ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

bool gw_addrs_equal(const gw_addrs_t *a, const gw_addrs_t *b)
{
    if (a->n != b->n)
        return false;
    for (int i = 0; i < a->n; i++)
        if (addr_cmp(&a->addr[i], &b->addr[i]) != 0)
            return false;
    return true;
}
