/* Unit tests for auth's TOTP (totp.c): RFC 6238 vectors, the verification window and
 * replay, base32 (RFC 4648), the otpauth URI. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "totp.h"
#include "tc/tc_core.h"

/* RFC 6238 appendix B, SHA-1 seed "12345678901234567890"; 6-digit truncations of the
 * published 8-digit values. */
static const uint8_t rfc_secret[] = "12345678901234567890";

Test(totp, rfc6238_vectors)
{
    struct {
        int64_t t;
        uint32_t code;
    } v[] = {{59, 287082},       {1111111109, 81804},  {1111111111, 50471},
             {1234567890, 5924}, {2000000000, 279037}, {20000000000LL, 353130}};
    for (size_t i = 0; i < sizeof v / sizeof *v; i++)
        cr_assert_eq(totp_hotp(rfc_secret, 20, (uint64_t)(v[i].t / 30)), v[i].code, "t=%lld",
                     (long long)v[i].t);
}

Test(totp, verify_window_and_replay)
{
    int64_t step = 0, now = 1111111111; /* step 37037037 */
    char code[8];
    snprintf(code, sizeof code, "%06u", totp_hotp(rfc_secret, 20, (uint64_t)(now / 30)));
    cr_assert(totp_verify(rfc_secret, 20, code, now, 0, &step));
    cr_assert_eq(step, now / 30);
    cr_assert_not(totp_verify(rfc_secret, 20, code, now, step, &step),
                  "a used step cannot be replayed");
    cr_assert(totp_verify(rfc_secret, 20, code, now + 30, 0, &step), "one step late");
    cr_assert_eq(step, now / 30, "the step of the code, not of the clock");
    cr_assert(totp_verify(rfc_secret, 20, code, now - 30, 0, &step), "one step early");
    cr_assert_not(totp_verify(rfc_secret, 20, code, now + 60, 0, &step), "two steps late");
    cr_assert_not(totp_verify(rfc_secret, 20, code, now - 60, 0, &step), "two steps early");
    cr_assert_not(totp_verify(rfc_secret, 20, "12345", now, 0, &step));
    cr_assert_not(totp_verify(rfc_secret, 20, "12a456", now, 0, &step));
    cr_assert_not(totp_verify(rfc_secret, 20, "1234567", now, 0, &step));
    cr_assert_not(totp_verify(rfc_secret, 20, NULL, now, 0, &step));
}

Test(totp, replay_is_refused_across_the_window)
{
    /* a code of the previous step, accepted, makes that step and every older one unusable,
     * while the current step's code still works once */
    int64_t now = 1111111111, step = 0;
    char prev[8], cur[8];
    snprintf(prev, sizeof prev, "%06u", totp_hotp(rfc_secret, 20, (uint64_t)(now / 30 - 1)));
    snprintf(cur, sizeof cur, "%06u", totp_hotp(rfc_secret, 20, (uint64_t)(now / 30)));
    cr_assert(totp_verify(rfc_secret, 20, prev, now, 0, &step));
    int64_t last = step;
    cr_assert_not(totp_verify(rfc_secret, 20, prev, now, last, &step));
    cr_assert(totp_verify(rfc_secret, 20, cur, now, last, &step));
    cr_assert_eq(step, now / 30);
    cr_assert_not(totp_verify(rfc_secret, 20, cur, now + 30, step, &step), "once only");
}

Test(totp, base32_rfc4648_vectors_and_round_trip)
{
    struct {
        const char *in, *out;
    } v[] = {{"", ""},
             {"f", "MY"},
             {"fo", "MZXQ"},
             {"foo", "MZXW6"},
             {"foob", "MZXW6YQ"},
             {"fooba", "MZXW6YTB"},
             {"foobar", "MZXW6YTBOI"}};
    for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
        char enc[32];
        uint8_t dec[32];
        cr_assert_eq(totp_base32_encode((const uint8_t *)v[i].in, strlen(v[i].in), enc, sizeof enc),
                     TC_OK);
        cr_assert_str_eq(enc, v[i].out);
        ssize_t n = totp_base32_decode(v[i].out, dec, sizeof dec);
        cr_assert_eq(n, (ssize_t)strlen(v[i].in));
        cr_assert_eq(memcmp(dec, v[i].in, (size_t)n), 0);
    }
    uint8_t dec[8];
    cr_assert_eq(totp_base32_decode("mzxw6ytboi", dec, sizeof dec), 6, "lower case accepted");
    cr_assert_eq(totp_base32_decode("MZXW1", dec, sizeof dec), -1, "1 is not base32");
    cr_assert_eq(totp_base32_decode("MZXW6YTBOI", dec, 3), -1, "output bound respected");
}

Test(totp, otpauth_uri)
{
    char uri[256];
    cr_assert_eq(totp_uri("TechCorp", "ada@example.com", "JBSWY3DPEHPK3PXP", uri, sizeof uri),
                 TC_OK);
    cr_assert_str_eq(uri, "otpauth://totp/TechCorp:ada%40example.com?secret=JBSWY3DPEHPK3PXP"
                          "&issuer=TechCorp&algorithm=SHA1&digits=6&period=30");
    cr_assert_eq(totp_uri("TechCorp", "a", "S", uri, 20), TC_EINVAL);
}
