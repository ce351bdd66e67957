/* Unit tests for auth's pure logic: TOTP (RFC 6238 vectors), base32, Argon2id, policy. */
#include <criterion/criterion.h>
#include <string.h>

#include "auth_app.h"
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
    cr_assert_eq(totp_verify(rfc_secret, 20, code, now, 0, &step), TC_OK);
    cr_assert_eq(step, now / 30);
    cr_assert_eq(totp_verify(rfc_secret, 20, code, now, step, &step), TC_EINVAL,
                 "a used step cannot be replayed");
    cr_assert_eq(totp_verify(rfc_secret, 20, code, now + 30, 0, &step), TC_OK, "one step late");
    cr_assert_eq(totp_verify(rfc_secret, 20, code, now - 30, 0, &step), TC_OK, "one step early");
    cr_assert_eq(totp_verify(rfc_secret, 20, code, now + 90, 0, &step), TC_EINVAL, "too late");
    cr_assert_eq(totp_verify(rfc_secret, 20, "12345", now, 0, &step), TC_EINVAL);
    cr_assert_eq(totp_verify(rfc_secret, 20, "12a456", now, 0, &step), TC_EINVAL);
    cr_assert_eq(totp_verify(rfc_secret, 20, NULL, now, 0, &step), TC_EINVAL);
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
        long n = totp_base32_decode(v[i].out, dec, sizeof dec);
        cr_assert_eq(n, (long)strlen(v[i].in));
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

static auth_app_t app_with(uint32_t m, uint32_t t, uint32_t p)
{
    auth_app_t a;
    memset(&a, 0, sizeof a);
    a.argon2_m_kib = m;
    a.argon2_t = t;
    a.argon2_p = p;
    return a;
}

Test(passwords, argon2id_phc_round_trip_and_rehash_policy)
{
    auth_app_t a = app_with(7168, 5, 1);
    char phc[256];
    cr_assert_eq(pw_hash(&a, "correct horse battery", phc, sizeof phc), TC_OK);
    cr_assert(strncmp(phc, "$argon2id$v=19$m=7168,t=5,p=1$", 30) == 0, "%s", phc);
    cr_assert_eq(pw_verify(phc, "correct horse battery"), TC_OK);
    cr_assert_eq(pw_verify(phc, "correct horse batterY"), TC_EINVAL);
    cr_assert_eq(pw_verify("$2b$10$notargon", "x"), TC_ERROR, "other schemes are not accepted");
    cr_assert(!pw_needs_rehash(&a, phc));
    auth_app_t stronger = app_with(19456, 2, 1);
    cr_assert(pw_needs_rehash(&stronger, phc), "changed parameters ask for a rehash");
    char again[256];
    cr_assert_eq(pw_hash(&a, "correct horse battery", again, sizeof again), TC_OK);
    cr_assert_str_neq(phc, again, "a fresh salt every time");
}

Test(passwords, owasp_minimums)
{
    cr_assert(pw_params_ok(19456, 2, 1));
    cr_assert(pw_params_ok(47104, 1, 1));
    cr_assert(pw_params_ok(7168, 5, 1));
    cr_assert(!pw_params_ok(19456, 1, 1));
    cr_assert(!pw_params_ok(4096, 10, 1));
    cr_assert(!pw_params_ok(65536, 3, 0));
}

static int violations(const char *pw, const char *email)
{
    tc_jv_t jv;
    tc_jv_init(&jv);
    pw_policy(&jv, "password", pw, email);
    int n = jv.count;
    tc_jv_free(&jv);
    return n;
}

Test(passwords, policy)
{
    cr_assert_eq(violations("correct horse battery", "ada@example.com"), 0);
    cr_assert_eq(violations("short", NULL), 1);
    cr_assert_eq(violations("          ", NULL), 1, "only spaces");
    cr_assert_eq(violations("Password123", NULL), 1, "a common password");
    cr_assert_eq(violations("qwertyuiop", NULL), 1);
    cr_assert_eq(violations("my-lovelace-2024", "lovelace@example.com"), 1, "contains the email");
    cr_assert_eq(violations("bad\x01password", NULL), 1, "control characters");
    char longpw[200];
    memset(longpw, 'x', sizeof longpw - 1);
    longpw[sizeof longpw - 1] = '\0';
    cr_assert_eq(violations(longpw, NULL), 1, "too long");
    cr_assert_eq(violations("ünïcödé-päss", NULL), 0, "counted in characters, not bytes");
}

Test(tokens, opaque_secrets_are_random_and_hashed)
{
    char a[AUTH_SECRET_LEN], b[AUTH_SECRET_LEN], ha[TC_SHA256_HEX_LEN], hb[TC_SHA256_HEX_LEN];
    cr_assert_eq(tok_secret("rt", a, ha), TC_OK);
    cr_assert_eq(tok_secret("rt", b, hb), TC_OK);
    cr_assert(strncmp(a, "rt_", 3) == 0, "%s", a);
    cr_assert_eq(strlen(a), 3 + 43);
    cr_assert_str_neq(a, b);
    char check[TC_SHA256_HEX_LEN];
    tok_hash(a, check);
    cr_assert_str_eq(check, ha);
    cr_assert_eq(tok_secret("tc_live", a, ha), TC_OK);
    cr_assert(strncmp(a, "tc_live_", 8) == 0);
}
