/* TXT lookups through libc's resolver (dns_txt.h). */
#include "dns_txt.h"
#include "tc/tc_core.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool parse_server(const char *server, struct sockaddr_in *sa)
{
    char host[64];
    unsigned port = 53;
    const char *colon = strchr(server, ':');
    size_t hl = colon ? (size_t)(colon - server) : strlen(server);
    if (hl == 0 || hl >= sizeof host)
        return false;
    memcpy(host, server, hl);
    host[hl] = '\0';
    if (colon) {
        char *end = NULL;
        unsigned long p = strtoul(colon + 1, &end, 10);
        if (!colon[1] || *end || p == 0 || p > 65535)
            return false;
        port = (unsigned)p;
    }
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    return inet_pton(AF_INET, host, &sa->sin_addr) == 1;
}

bool dns_server_valid(const char *server)
{
    struct sockaddr_in sa;
    return server && parse_server(server, &sa);
}

/* One TXT record's character-strings joined (RFC 7208 §3.3 reads them so). */
static char *txt_text(const unsigned char *p, size_t n)
{
    char *out = malloc(n + 1), *w = out;
    if (!out)
        return NULL;
    while (n > 0) {
        size_t len = *p++;
        n--;
        if (len > n)
            len = n; /* a malformed length: take what is there */
        memcpy(w, p, len);
        w += len;
        p += len;
        n -= len;
    }
    *w = '\0';
    return out;
}

static int read_answer(const unsigned char *ans, int len, char ***out, int *n)
{
    ns_msg msg;
    if (ns_initparse(ans, len, &msg) != 0)
        return TC_EUNAVAIL;
    int count = ns_msg_count(msg, ns_s_an);
    if (count > 0 && !(*out = calloc((size_t)count, sizeof **out)))
        return TC_ENOMEM;
    for (int i = 0; i < count; i++) {
        ns_rr rr;
        if (ns_parserr(&msg, ns_s_an, i, &rr) != 0 || ns_rr_type(rr) != ns_t_txt)
            continue;
        if (!((*out)[*n] = txt_text(ns_rr_rdata(rr), ns_rr_rdlen(rr))))
            return TC_ENOMEM;
        (*n)++;
    }
    return TC_OK;
}

int dns_txt_lookup(const dns_conf_t *conf, const char *name, char ***out, int *n)
{
    struct __res_state st;
    unsigned char ans[8192];
    *out = NULL;
    *n = 0;
    memset(&st, 0, sizeof st);
    if (res_ninit(&st) != 0)
        return TC_EUNAVAIL;
    if (conf->server) {
        struct sockaddr_in sa;
        if (!parse_server(conf->server, &sa)) {
            res_nclose(&st);
            return TC_EINVAL;
        }
        st.nscount = 1;
        st.nsaddr_list[0] = sa;
    }
    st.retrans = conf->timeout_ms > 1000 ? (conf->timeout_ms + 999) / 1000 : 1;
    st.retry = 2;
    int len = res_nquery(&st, name, ns_c_in, ns_t_txt, ans, sizeof ans);
    int rc = TC_OK;
    if (len < 0)
        rc = st.res_h_errno == HOST_NOT_FOUND || st.res_h_errno == NO_DATA ? TC_ENOTFOUND
                                                                           : TC_EUNAVAIL;
    else
        rc = read_answer(ans, len, out, n);
    res_nclose(&st);
    if (rc == TC_OK && *n == 0)
        rc = TC_ENOTFOUND;
    if (rc != TC_OK) {
        dns_txt_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

void dns_txt_free(char **records, int n)
{
    for (int i = 0; records && i < n; i++)
        free(records[i]);
    free(records);
}
