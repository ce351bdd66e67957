/* Unit tests of domain_model.c: which names are domains, the domain of an address, the record
 * that proves ownership and when it matches. */
#include <criterion/criterion.h>
#include <string.h>
#include "domain_model.h"

Test(domain_model, domains_are_kept_in_lower_case)
{
    char d[DOMAIN_MAX];
    cr_assert(domain_normalize("Example.COM", d));
    cr_assert_str_eq(d, "example.com");
    cr_assert(domain_normalize("a-b.c0.example.co.uk", d));
    cr_assert_str_eq(d, "a-b.c0.example.co.uk");
    cr_assert(domain_normalize("xn--bcher-kva.example", d), "IDNs in their ASCII form");
}

Test(domain_model, what_is_not_a_domain)
{
    char d[DOMAIN_MAX], long_label[80], long_name[300];
    const char *bad[] = {"",           "example",  "example.com.", ".example.com", "a..b.com",
                         "-a.com",     "a-.com",   "ex ample.com", "exa_mple.com", "ex@mple.com",
                         "münchen.de", "a.b/c.com"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        cr_assert_not(domain_normalize(bad[i], d), "%s", bad[i]);
    cr_assert_not(domain_normalize(NULL, d));
    memset(long_label, 'a', 64);
    strcpy(long_label + 64, ".com");
    cr_assert_not(domain_normalize(long_label, d), "a label of 64");
    long_label[63] = '\0';
    cr_assert(domain_normalize(strcat(long_label, ".com"), d), "a label of 63");
    memset(long_name, 0, sizeof long_name);
    for (int i = 0; i < 64; i++)
        strcat(long_name, "abc.");
    strcat(long_name, "com");
    cr_assert_not(domain_normalize(long_name, d), "259 characters");
}

Test(domain_model, the_domain_of_an_address)
{
    char d[DOMAIN_MAX];
    cr_assert(domain_of_email("Ann.Lee@Corp.Example.com", d));
    cr_assert_str_eq(d, "corp.example.com");
    cr_assert(domain_of_email("\"a@b\"@example.org", d), "the last @ separates");
    cr_assert_str_eq(d, "example.org");
    cr_assert_not(domain_of_email("no-at-sign", d));
    cr_assert_not(domain_of_email("@example.com", d));
    cr_assert_not(domain_of_email("ann@localhost", d));
}

Test(domain_model, the_record_and_its_value)
{
    char name[300];
    cr_assert(domain_record_name("example.com", name, sizeof name));
    cr_assert_str_eq(name, "_techcorp-challenge.example.com");
    cr_assert_not(domain_record_name("example.com", name, 10));
    char *found[] = {"v=spf1 -all", "  techcorp-domain-verification=tdv_x  ", "other"};
    cr_assert(domain_txt_matches(found, 3, DOMAIN_TXT_PREFIX "tdv_x"));
    cr_assert_not(domain_txt_matches(found, 3, DOMAIN_TXT_PREFIX "tdv_y"));
    cr_assert_not(domain_txt_matches(found, 1, DOMAIN_TXT_PREFIX "tdv_x"));
    char *prefix_only[] = {"techcorp-domain-verification=tdv_xy"};
    cr_assert_not(domain_txt_matches(prefix_only, 1, DOMAIN_TXT_PREFIX "tdv_x"), "exactly");
}
