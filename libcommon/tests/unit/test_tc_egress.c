/* tc_egress: which addresses a customer's call may reach, and the refusals that happen before
 * any byte is sent (no server needed: a refused address never gets a socket). */
#include "tc/tc_core.h"
#include "tc/tc_egress.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <string.h>
#include <sys/socket.h>

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
