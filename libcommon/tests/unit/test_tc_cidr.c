/* tc_cidr: ranges and lists of them, IPv4 and IPv6, and what is refused. */
#include <criterion/criterion.h>

#include "tc/tc_cidr.h"
#include "tc/tc_core.h"

#include <arpa/inet.h>
#include <stdlib.h>

Test(cidr, ranges_contain_their_addresses)
{
    tc_cidr_t c;
    uint8_t a[16];
    cr_assert_eq(tc_cidr_parse("10.0.0.0/8", &c), TC_OK);
    inet_pton(AF_INET, "10.200.3.4", a);
    cr_assert(tc_cidr_contains(&c, AF_INET, a));
    inet_pton(AF_INET, "11.0.0.1", a);
    cr_assert(!tc_cidr_contains(&c, AF_INET, a));
    cr_assert_eq(tc_cidr_parse("192.168.1.128/25", &c), TC_OK);
    inet_pton(AF_INET, "192.168.1.200", a);
    cr_assert(tc_cidr_contains(&c, AF_INET, a));
    inet_pton(AF_INET, "192.168.1.100", a);
    cr_assert(!tc_cidr_contains(&c, AF_INET, a));
    cr_assert_eq(tc_cidr_parse("2001:db8::/32", &c), TC_OK);
    inet_pton(AF_INET6, "2001:db8:ffff::1", a);
    cr_assert(tc_cidr_contains(&c, AF_INET6, a));
    inet_pton(AF_INET, "10.0.0.1", a);
    cr_assert(!tc_cidr_contains(&c, AF_INET, a), "families never mix");
    cr_assert_eq(tc_cidr_parse("0.0.0.0/0", &c), TC_OK);
    inet_pton(AF_INET, "203.0.113.1", a);
    cr_assert(tc_cidr_contains(&c, AF_INET, a));
}

Test(cidr, malformed_ranges_are_refused)
{
    tc_cidr_t c;
    const char *bad[] = {"",         "10.0.0.0/", "10.0.0.0/33",  "10.0.0.0/-1", "10.0.0.0/+8",
                         "10.0.0/8", "::1/129",   "host.example", "10.0.0.0/8x", "1.2.3.4.5"};
    for (size_t i = 0; i < TC_ARRAY_LEN(bad); i++)
        cr_assert_eq(tc_cidr_parse(bad[i], &c), TC_EINVAL, "%s", bad[i]);
}

Test(cidr, lists)
{
    tc_cidr_t *l = NULL;
    size_t n = 99;
    cr_assert_eq(tc_cidr_list_parse("", &l, &n), TC_OK);
    cr_assert_eq(n, 0);
    cr_assert_null(l);
    cr_assert(!tc_cidr_list_has(l, n, "127.0.0.1"));
    cr_assert_eq(tc_cidr_list_parse("127.0.0.2, 10.0.0.0/8,::1", &l, &n), TC_OK);
    cr_assert_eq(n, 3);
    cr_assert(tc_cidr_list_has(l, n, "127.0.0.2"));
    cr_assert(!tc_cidr_list_has(l, n, "127.0.0.1"));
    cr_assert(tc_cidr_list_has(l, n, "10.9.8.7"));
    cr_assert(tc_cidr_list_has(l, n, "::1"));
    cr_assert(!tc_cidr_list_has(l, n, "not-an-address"));
    cr_assert(!tc_cidr_list_has(l, n, NULL));
    free(l);
    cr_assert_eq(tc_cidr_list_parse("10.0.0.0/8, nonsense", &l, &n), TC_EINVAL);
    cr_assert_null(l);
}
