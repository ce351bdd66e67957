/* tc_egress: which addresses a customer's call may reach, the refusals that happen before
 * any byte is sent (no server needed: a refused address never gets a socket), and a session's
 * kept connections (a small keep-alive server on loopback counts the connections it accepts). */
#include "tc/tc_core.h"
#include "tc/tc_egress.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static bool public_ip(const char *text)
{
    unsigned char a[16];
    if (strchr(text, ':')) {
        cr_assert_eq(inet_pton(AF_INET6, text, a), 1, "%s", text);
        return tc_egress_addr_public(AF_INET6, a);
    }
    cr_assert_eq(inet_pton(AF_INET, text, a), 1, "%s", text);
    return tc_egress_addr_public(AF_INET, a);
}

Test(egress, private_and_special_addresses_are_refused)
{
    const char *blocked[] = {"127.0.0.1",
                             "127.255.0.9",
                             "10.1.2.3",
                             "172.16.0.1",
                             "172.31.255.255",
                             "192.168.1.1",
                             "169.254.169.254",
                             "100.64.0.1",
                             "0.0.0.0",
                             "224.0.0.1",
                             "255.255.255.255",
                             "198.18.0.1",
                             "::1",
                             "::",
                             "fe80::1",
                             "fd00::1",
                             "fc12::9",
                             "ff02::1",
                             "::ffff:127.0.0.1",
                             "::ffff:10.0.0.1",
                             "64:ff9b::a9fe:a9fe",
                             "2001:db8::1"};
    for (size_t i = 0; i < TC_ARRAY_LEN(blocked); i++)
        cr_assert_not(public_ip(blocked[i]), "%s should be refused", blocked[i]);
}

Test(egress, public_addresses_pass)
{
    const char *open[] = {"93.184.216.34",        "8.8.8.8",       "172.32.0.1", "100.128.0.1",
                          "2606:4700::6810:84e5", "::ffff:1.1.1.1"};
    for (size_t i = 0; i < TC_ARRAY_LEN(open); i++)
        cr_assert(public_ip(open[i]), "%s should pass", open[i]);
    cr_assert_not(tc_egress_addr_public(AF_UNIX, (const unsigned char *)"x"));
    cr_assert_not(tc_egress_addr_public(AF_INET, NULL));
}

Test(egress, loopback_is_refused_unless_allowed)
{
    tc_egress_opts_t o = {.connect_timeout_ms = 1000};
    tc_egress_req_t req = {.url = "http://127.0.0.1:1/x", .timeout_ms = 2000};
    tc_egress_resp_t r;
    cr_assert_eq(tc_egress_do(&o, &req, &r), TC_EDENIED);
    cr_assert(strstr(r.error, "127.0.0.1"), "%s", r.error);
    tc_egress_resp_free(&r);
    /* a name is judged by what it resolves to */
    req.url = "http://localhost:1/x";
    cr_assert_eq(tc_egress_do(&o, &req, &r), TC_EDENIED);
    tc_egress_resp_free(&r);
    o.allow_private = true; /* now it connects, and port 1 is closed */
    req.url = "http://127.0.0.1:1/x";
    cr_assert_eq(tc_egress_do(&o, &req, &r), TC_EUNAVAIL);
    tc_egress_resp_free(&r);
}

Test(egress, bad_requests_are_refused_before_connecting)
{
    tc_egress_resp_t r;
    tc_egress_req_t req = {.url = "file:///etc/passwd"};
    cr_assert_eq(tc_egress_do(NULL, &req, &r), TC_EINVAL);
    tc_egress_resp_free(&r);
    req.url = "gopher://example.com/";
    cr_assert_eq(tc_egress_do(NULL, &req, &r), TC_EINVAL);
    tc_egress_resp_free(&r);
    req = (tc_egress_req_t){.url = "http://example.com/", .method = "CONNECT"};
    cr_assert_eq(tc_egress_do(NULL, &req, &r), TC_EINVAL);
    tc_egress_resp_free(&r);
    cr_assert_eq(tc_egress_do(NULL, NULL, &r), TC_EINVAL);
    tc_egress_resp_free(&r);
}

/* A header line that could add a header (or a request) of its own is refused before any
 * connection: the loopback target is allowed and its port is closed, so a request that got
 * past the check fails to connect (TC_EUNAVAIL), not TC_EINVAL. */
Test(egress, header_lines_that_could_smuggle_are_refused)
{
    static const char *const bad[] = {
        "X-A: 1\r\nX-Injected: 2",
        "X-A: 1\nGET / HTTP/1.1",
        "X-A: 1\r",
        "X-A: a\x01b",
        "X-A: a\x7f",
        "no colon here",
        ": empty name",
        "Bad Name: x",
        "X-A",
    };
    tc_egress_opts_t o = {.allow_private = true, .connect_timeout_ms = 500};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *headers[] = {"Accept: */*", bad[i], NULL};
        tc_egress_req_t req = {.url = "http://127.0.0.1:1/", .headers = headers, .timeout_ms = 500};
        tc_egress_resp_t r;
        cr_assert_eq(tc_egress_do(&o, &req, &r), TC_EINVAL, "%s", bad[i]);
        cr_assert(strstr(r.error, "header 2"), "%s: %s", bad[i], r.error);
        tc_egress_resp_free(&r);
    }
    const char *fine[] = {"X-Tab: a\tb", "X-Empty:", "Content-Type: application/json; x=\"y\"",
                          NULL};
    tc_egress_req_t req = {.url = "http://127.0.0.1:1/", .headers = fine, .timeout_ms = 500};
    tc_egress_resp_t r;
    cr_assert_eq(tc_egress_do(&o, &req, &r), TC_EUNAVAIL, "%s", r.error); /* port 1: closed */
    tc_egress_resp_free(&r);
}

/* A loopback server answering every request on a connection with 200 "ok", keeping it open;
 * counts the connections it accepted. */
typedef struct {
    int fd;
    uint16_t port;
    atomic_int accepted;
} keepalive_srv_t;

static void serve_conn(int c)
{
    char buf[4096];
    size_t have = 0;
    for (;;) {
        ssize_t n = read(c, buf + have, sizeof buf - 1 - have);
        if (n <= 0)
            break;
        have += (size_t)n;
        buf[have] = '\0';
        char *end;
        while ((end = strstr(buf, "\r\n\r\n"))) { /* requests here carry no body */
            static const char ans[] =
                "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok";
            if (write(c, ans, sizeof ans - 1) != (ssize_t)(sizeof ans - 1))
                return;
            size_t used = (size_t)(end + 4 - buf);
            memmove(buf, end + 4, have - used + 1);
            have -= used;
        }
    }
}

static void *srv_main(void *ud)
{
    keepalive_srv_t *s = ud;
    for (;;) {
        int c = accept(s->fd, NULL, NULL);
        if (c < 0)
            return NULL;
        atomic_fetch_add(&s->accepted, 1);
        serve_conn(c);
        close(c);
    }
}

Test(egress, a_session_keeps_its_connection_and_checks_new_ones)
{
    keepalive_srv_t srv = {.fd = socket(AF_INET, SOCK_STREAM, 0)};
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    cr_assert(srv.fd >= 0);
    cr_assert_eq(bind(srv.fd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(listen(srv.fd, 8), 0);
    cr_assert_eq(getsockname(srv.fd, (struct sockaddr *)&a, &len), 0);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, srv_main, &srv), 0);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/hook", ntohs(a.sin_port));

    tc_egress_opts_t o = {.allow_private = true, .connect_timeout_ms = 2000};
    tc_egress_req_t req = {.url = url, .timeout_ms = 5000};
    tc_egress_session_t *s = tc_egress_session_new(&o);
    cr_assert_not_null(s);
    tc_egress_resp_t r;
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(tc_egress_session_do(s, &req, &r), TC_OK, "%s", r.error);
        cr_assert_eq(r.status, 200);
        cr_assert_str_eq(r.body, "ok");
        tc_egress_resp_free(&r);
    }
    cr_assert_eq(atomic_load(&srv.accepted), 1, "five calls, one connection");
    req.url = "file:///etc/passwd";
    cr_assert_eq(tc_egress_session_do(s, &req, &r), TC_EINVAL);
    tc_egress_resp_free(&r);
    tc_egress_session_free(s);
    tc_egress_session_free(NULL);

    /* an answer longer than the cap fails, unless the caller takes it cut */
    tc_egress_opts_t small = {.allow_private = true, .max_response_bytes = 1};
    cr_assert_eq(tc_egress_do(&small, &(tc_egress_req_t){.url = url}, &r), TC_EINVAL);
    cr_assert_not(r.truncated);
    tc_egress_resp_free(&r);
    small.truncate_response = true;
    cr_assert_eq(tc_egress_do(&small, &(tc_egress_req_t){.url = url}, &r), TC_OK, "%s", r.error);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.body, "o");
    cr_assert(r.truncated);
    tc_egress_resp_free(&r);
    cr_assert_eq(atomic_load(&srv.accepted), 3, "tc_egress_do keeps no connection");
    /* the scheme is case-insensitive, as in URLs */
    char upper[64];
    snprintf(upper, sizeof upper, "HTTP://%s", url + 7);
    cr_assert_eq(tc_egress_do(&(tc_egress_opts_t){.allow_private = true},
                              &(tc_egress_req_t){.url = upper}, &r),
                 TC_OK, "%s", r.error);
    tc_egress_resp_free(&r);

    /* a session without private addresses refuses the same server, kept connection or not */
    o.allow_private = false;
    s = tc_egress_session_new(&o);
    req.url = url;
    cr_assert_eq(tc_egress_session_do(s, &req, &r), TC_EDENIED);
    tc_egress_resp_free(&r);
    tc_egress_session_free(s);
    cr_assert_eq(atomic_load(&srv.accepted), 4);
    shutdown(srv.fd, SHUT_RDWR);
    close(srv.fd);
    pthread_join(t, NULL);
}
