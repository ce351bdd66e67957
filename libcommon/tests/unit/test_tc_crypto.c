#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_time.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void hex_of(const uint8_t *d, size_t n, char *out)
{
    tc_hex_encode(d, n, out);
}

static void hmac_hex(const void *key, size_t keylen, const void *data, size_t n, char out[65])
{
    uint8_t mac[TC_SHA256_LEN];
    cr_assert_eq(tc_hmac_sha256(key, keylen, data, n, mac), TC_OK);
    hex_of(mac, sizeof mac, out);
}

/* ------------------------------------------------------------------------- SHA-256 */

Test(sha256, fips_180_abc)
{
    char hex[TC_SHA256_HEX_LEN];
    tc_sha256_hex("abc", 3, hex);
    cr_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

Test(sha256, empty_string)
{
    char hex[TC_SHA256_HEX_LEN];
    tc_sha256_hex("", 0, hex);
    cr_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    uint8_t raw[TC_SHA256_LEN];
    tc_sha256(NULL, 0, raw);
    cr_assert_eq(raw[0], 0xe3);
    cr_assert_eq(raw[31], 0x55);
}

/* ------------------------------------------------------------------------- HMAC (RFC 4231) */

Test(hmac, rfc4231_case1)
{
    uint8_t key[20];
    memset(key, 0x0b, sizeof key);
    char hex[65];
    hmac_hex(key, sizeof key, "Hi There", 8, hex);
    cr_assert_str_eq(hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

Test(hmac, rfc4231_case2)
{
    char hex[65];
    const char *data = "what do ya want for nothing?";
    hmac_hex("Jefe", 4, data, strlen(data), hex);
    cr_assert_str_eq(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

Test(hmac, rfc4231_case4)
{
    uint8_t key[25], data[50];
    for (size_t i = 0; i < sizeof key; i++)
        key[i] = (uint8_t)(i + 1);
    memset(data, 0xcd, sizeof data);
    char hex[65];
    hmac_hex(key, sizeof key, data, sizeof data, hex);
    cr_assert_str_eq(hex, "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
}

Test(hmac, rfc4231_case6_long_key)
{
    uint8_t key[131];
    memset(key, 0xaa, sizeof key);
    const char *data = "Test Using Larger Than Block-Size Key - Hash Key First";
    char hex[65];
    hmac_hex(key, sizeof key, data, strlen(data), hex);
    cr_assert_str_eq(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

Test(hmac, verify_accepts_only_the_full_correct_mac)
{
    const char *data = "what do ya want for nothing?";
    uint8_t mac[TC_SHA256_LEN];
    cr_assert_eq(tc_hmac_sha256("Jefe", 4, data, strlen(data), mac), TC_OK);
    cr_assert_eq(tc_hmac_sha256_verify("Jefe", 4, data, strlen(data), mac, sizeof mac), 1);

    uint8_t bad[TC_SHA256_LEN];
    memcpy(bad, mac, sizeof bad);
    bad[31] ^= 0x01;
    cr_assert_eq(tc_hmac_sha256_verify("Jefe", 4, data, strlen(data), bad, sizeof bad), 0);
    /* A correct but truncated prefix must not verify. */
    cr_assert_eq(tc_hmac_sha256_verify("Jefe", 4, data, strlen(data), mac, 16), 0);
    cr_assert_eq(tc_hmac_sha256_verify("Jefe", 4, data, strlen(data), mac, 0), 0);
    cr_assert_eq(tc_hmac_sha256_verify("Jeff", 4, data, strlen(data), mac, sizeof mac), 0);
    cr_assert_eq(tc_hmac_sha256_verify("Jefe", 4, data, strlen(data) - 1, mac, sizeof mac), 0);
}

Test(hmac, ct_equal)
{
    cr_assert_eq(tc_ct_equal("abcdef", "abcdef", 6), 1);
    cr_assert_eq(tc_ct_equal("abcdef", "abcdeg", 6), 0);
    cr_assert_eq(tc_ct_equal("xbcdef", "abcdef", 6), 0);
    cr_assert_eq(tc_ct_equal("a", "b", 0), 1);
}

/* ------------------------------------------------------------------------- base64 */

static const struct {
    const char *plain, *std, *url;
} rfc4648[] = {
    {"", "", ""},
    {"f", "Zg==", "Zg"},
    {"fo", "Zm8=", "Zm8"},
    {"foo", "Zm9v", "Zm9v"},
    {"foob", "Zm9vYg==", "Zm9vYg"},
    {"fooba", "Zm9vYmE=", "Zm9vYmE"},
    {"foobar", "Zm9vYmFy", "Zm9vYmFy"},
};

Test(base64, rfc4648_vectors_encode)
{
    for (size_t i = 0; i < TC_ARRAY_LEN(rfc4648); i++) {
        char out[16];
        size_t n = strlen(rfc4648[i].plain);
        cr_assert_eq(tc_b64_encode(rfc4648[i].plain, n, out, sizeof out),
                     (long)strlen(rfc4648[i].std));
        cr_assert_str_eq(out, rfc4648[i].std);
        cr_assert_eq(tc_b64url_encode(rfc4648[i].plain, n, out, sizeof out),
                     (long)strlen(rfc4648[i].url));
        cr_assert_str_eq(out, rfc4648[i].url);
    }
}

Test(base64, rfc4648_vectors_decode)
{
    for (size_t i = 0; i < TC_ARRAY_LEN(rfc4648); i++) {
        char out[16];
        size_t want = strlen(rfc4648[i].plain);
        const char *std = rfc4648[i].std, *url = rfc4648[i].url;
        cr_assert_eq(tc_b64_decode(std, strlen(std), out, sizeof out), (long)want, "%s", std);
        cr_assert_eq(memcmp(out, rfc4648[i].plain, want), 0);
        cr_assert_eq(tc_b64url_decode(url, strlen(url), out, sizeof out), (long)want);
        cr_assert_eq(memcmp(out, rfc4648[i].plain, want), 0);
        /* base64url also accepts the padded form. */
        cr_assert_eq(tc_b64url_decode(std, strlen(std), out, sizeof out), (long)want);
    }
}

Test(base64, alphabets_differ)
{
    const uint8_t raw[] = {0xfb, 0xff};
    char out[8];
    cr_assert_eq(tc_b64_encode(raw, 2, out, sizeof out), 4);
    cr_assert_str_eq(out, "+/8=");
    cr_assert_eq(tc_b64url_encode(raw, 2, out, sizeof out), 3);
    cr_assert_str_eq(out, "-_8");
    uint8_t dec[4];
    cr_assert_eq(tc_b64url_decode("-_8", 3, dec, sizeof dec), 2);
    cr_assert_eq(memcmp(dec, raw, 2), 0);
    cr_assert_eq(tc_b64url_decode("+/8", 3, dec, sizeof dec), -1);
    cr_assert_eq(tc_b64_decode("-_8=", 4, dec, sizeof dec), -1);
}

Test(base64, rejects_invalid_input)
{
    uint8_t out[32];
    const char *bad_url[] = {"Zm9v!", "Zm 9v", "Zm9v\n", "Z",    "Zm9vY", "Zg=",
                             "Zg===", "Z===",  "Zm=9",   "=Zm9", "Zh",    "Zm9"};
    for (size_t i = 0; i < TC_ARRAY_LEN(bad_url); i++)
        cr_assert_eq(tc_b64url_decode(bad_url[i], strlen(bad_url[i]), out, sizeof out), -1, "%s",
                     bad_url[i]);
    /* "Zm9" decodes to 2 bytes only when its last char has clean trailing bits ("Zm8"). */
    const char *bad_std[] = {
        "Zg", "Zm8", "Zg=", "Zm9v*A==", "Zm9vYg=A", "Zh==", "Zm9=", "Zm9vYg==="};
    for (size_t i = 0; i < TC_ARRAY_LEN(bad_std); i++)
        cr_assert_eq(tc_b64_decode(bad_std[i], strlen(bad_std[i]), out, sizeof out), -1, "%s",
                     bad_std[i]);
    /* Embedded NUL inside the declared length is not base64. */
    cr_assert_eq(tc_b64url_decode("Zm\0v", 4, out, sizeof out), -1);
}

Test(base64, short_output_buffers)
{
    char enc[8];
    cr_assert_eq(tc_b64_encode("foobar", 6, enc, 8), -1); /* needs 9 */
    char enc9[9];
    cr_assert_eq(tc_b64_encode("foobar", 6, enc9, sizeof enc9), 8);
    cr_assert_eq(tc_b64url_encode("f", 1, enc, 2), -1);
    cr_assert_eq(tc_b64url_encode("f", 1, enc, 3), 2);
    uint8_t dec[6];
    cr_assert_eq(tc_b64_decode("Zm9vYmFy", 8, dec, 5), -1);
    cr_assert_eq(tc_b64_decode("Zm9vYmFy", 8, dec, 6), 6);
    cr_assert_eq(tc_b64url_decode("Zm9vYmE", 7, dec, 4), -1);
}

Test(base64, binary_round_trip)
{
    uint8_t raw[257], back[257];
    char enc[400];
    for (size_t n = 0; n <= sizeof raw; n++) {
        cr_assert_eq(tc_random_bytes(raw, sizeof raw), TC_OK);
        long e = tc_b64url_encode(raw, n, enc, sizeof enc);
        cr_assert_geq(e, 0);
        cr_assert_eq(tc_b64url_decode(enc, (size_t)e, back, sizeof back), (long)n);
        cr_assert_eq(memcmp(raw, back, n), 0);
        e = tc_b64_encode(raw, n, enc, sizeof enc);
        cr_assert_eq(e % 4, 0);
        cr_assert_eq(tc_b64_decode(enc, (size_t)e, back, sizeof back), (long)n);
        cr_assert_eq(memcmp(raw, back, n), 0);
    }
}

Test(hex, encode)
{
    char out[9];
    tc_hex_encode("\x00\xff\x10\xab", 4, out);
    cr_assert_str_eq(out, "00ff10ab");
}

/* ------------------------------------------------------------------------- random tokens */

Test(random, token_shape)
{
    char tok[64];
    cr_assert_eq(tc_random_token("tc_live", 24, tok, sizeof tok), TC_OK);
    cr_assert_eq(strncmp(tok, "tc_live_", 8), 0);
    cr_assert_eq(strlen(tok), 8 + 32);
    cr_assert_eq(tc_random_token("tc_test_", 24, tok, sizeof tok), TC_OK);
    cr_assert_eq(strncmp(tok, "tc_test_", 8), 0);
    /* a prefix that ends with the separator gets no second one (the first random character may
     * itself be '_', one time in 64, so the length is what tells) */
    cr_assert_eq(strlen(tok), 8 + 32);
    cr_assert_eq(tc_random_token("", 32, tok, sizeof tok), TC_OK);
    cr_assert_eq(strlen(tok), 43);
    char other[64];
    cr_assert_eq(tc_random_token("", 32, other, sizeof other), TC_OK);
    cr_assert_str_neq(tok, other);
    cr_assert_eq(tc_random_token("", 32, tok, 43), TC_EINVAL);
}

/* ------------------------------------------------------------------------- ids */

static int is_crockford(char c)
{
    return c && strchr("0123456789ABCDEFGHJKMNPQRSTVWXYZ", c) != NULL;
}

Test(ids, format_and_prefix)
{
    char id[TC_ID_MAX];
    cr_assert_eq(tc_id_new("usr", id, sizeof id), TC_OK);
    cr_assert_eq(strlen(id), 4 + 26);
    cr_assert_eq(strncmp(id, "usr_", 4), 0);
    for (int i = 4; i < 30; i++)
        cr_assert(is_crockford(id[i]), "char %d of %s", i, id);
    cr_assert(id[4] <= '7');
    cr_assert_eq(tc_id_valid("usr", id), 1);
    cr_assert_eq(tc_id_valid("org", id), 0);
    cr_assert_eq(tc_id_valid("us", id), 0);

    char small[30];
    cr_assert_eq(tc_id_new("usr", small, sizeof small), TC_EINVAL);
    cr_assert_eq(tc_id_new("", id, sizeof id), TC_EINVAL);
    cr_assert_eq(tc_id_new(NULL, id, sizeof id), TC_EINVAL);
    cr_assert_eq(tc_id_new("Bad-Prefix", id, sizeof id), TC_EINVAL);
}

Test(ids, timestamp_is_encoded_first)
{
    /* 48-bit ms time in the first 10 chars: decode them back and compare with the clock. */
    int64_t before = tc_now_ms();
    char id[TC_ID_MAX];
    cr_assert_eq(tc_id_new("evt", id, sizeof id), TC_OK);
    int64_t after = tc_now_ms();
    const char *alpha = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    uint64_t v = 0;
    for (int i = 0; i < 10; i++)
        v = v << 5 | (uint64_t)(strchr(alpha, id[4 + i]) - alpha);
    /* 10 chars = 50 bits: 2 leading zero bits + 48 bits of time. */
    cr_assert_geq((int64_t)v, before);
    cr_assert_leq((int64_t)v, after);
}

Test(ids, every_random_bit_reaches_the_text)
{
    /* Decode 26 symbols back into 130 bits: the two leading bits are zero, and over 64 ids
     * each of the 80 random bits is seen both set and clear (an encoder that dropped or
     * repeated bits would leave some position constant). One id per millisecond: within a
     * millisecond the next id steps from the last (ids_made_in_a_row_sort_in_order). */
    const char *alpha = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    uint8_t seen_set[80] = {0}, seen_clear[80] = {0};
    for (int n = 0; n < 64; n++) {
        char id[TC_ID_MAX];
        tc_sleep_ms(1);
        cr_assert_eq(tc_id_new("evt", id, sizeof id), TC_OK);
        int bits[130];
        for (int i = 0; i < 26; i++) {
            const char *p = strchr(alpha, id[4 + i]);
            cr_assert_not_null(p);
            for (int b = 0; b < 5; b++)
                bits[i * 5 + b] = ((int)(p - alpha) >> (4 - b)) & 1;
        }
        cr_assert_eq(bits[0] | bits[1], 0);
        for (int i = 0; i < 80; i++) {
            if (bits[2 + 48 + i])
                seen_set[i] = 1;
            else
                seen_clear[i] = 1;
        }
    }
    for (int i = 0; i < 80; i++)
        cr_assert(seen_set[i] && seen_clear[i], "random bit %d never changes", i);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

Test(ids, unique_over_10k)
{
    enum { N = 10000 };
    char(*ids)[TC_ID_MAX] = calloc(N, TC_ID_MAX);
    cr_assert_not_null(ids);
    for (int i = 0; i < N; i++)
        cr_assert_eq(tc_id_new("req", ids[i], TC_ID_MAX), TC_OK);
    qsort(ids, N, TC_ID_MAX, cmp_str);
    for (int i = 1; i < N; i++)
        cr_assert_str_neq(ids[i - 1], ids[i]);
    free(ids);
}

Test(ids, ids_made_in_a_row_sort_in_order)
{
    /* Thousands per millisecond: each id still sorts after the one made before it. */
    enum { N = 20000 };
    char prev[TC_ID_MAX], id[TC_ID_MAX];
    cr_assert_eq(tc_id_new("ntf", prev, sizeof prev), TC_OK);
    for (int i = 0; i < N; i++) {
        cr_assert_eq(tc_id_new("ntf", id, sizeof id), TC_OK);
        cr_assert_lt(strcmp(prev, id), 0, "id %d: %s !< %s", i, prev, id);
        memcpy(prev, id, sizeof id);
    }
}

Test(ids, sortable_across_time)
{
    char a[TC_ID_MAX], b[TC_ID_MAX];
    cr_assert_eq(tc_id_new("wf", a, sizeof a), TC_OK);
    tc_sleep_ms(2);
    cr_assert_eq(tc_id_new("wf", b, sizeof b), TC_OK);
    cr_assert_lt(strcmp(a, b), 0, "%s !< %s", a, b);
}

Test(ids, valid_rejects_bad_shapes)
{
    cr_assert_eq(tc_id_valid("usr", "usr_01J9ZXR4D7Q8G6N1W2E3R4T5Y6"), 1);
    cr_assert_eq(tc_id_valid("usr", "usr_01J9ZXR4D7Q8G6N1W2E3R4T5Y"), 0);   /* 25 chars */
    cr_assert_eq(tc_id_valid("usr", "usr_01J9ZXR4D7Q8G6N1W2E3R4T5Y67"), 0); /* 27 chars */
    cr_assert_eq(tc_id_valid("usr", "usr_01J9ZXR4D7Q8G6N1W2E3R4T5YU"), 0);  /* U not Crockford */
    cr_assert_eq(tc_id_valid("usr", "usr_01j9zxr4d7q8g6n1w2e3r4t5y6"), 0);  /* lowercase */
    cr_assert_eq(tc_id_valid("usr", "usr_81J9ZXR4D7Q8G6N1W2E3R4T5Y6"), 0);  /* > 128 bits */
    cr_assert_eq(tc_id_valid("usr", "usr01J9ZXR4D7Q8G6N1W2E3R4T5Y6X"), 0);
    cr_assert_eq(tc_id_valid("usr", "org_01J9ZXR4D7Q8G6N1W2E3R4T5Y6"), 0);
    cr_assert_eq(tc_id_valid("usr", ""), 0);
    cr_assert_eq(tc_id_valid("usr", NULL), 0);
}

/* ------------------------------------------------------------------------- AES-256-GCM */

static void fixed_key(uint8_t key[TC_AEAD_KEY_LEN], uint8_t seed)
{
    for (int i = 0; i < TC_AEAD_KEY_LEN; i++)
        key[i] = (uint8_t)(seed + i);
}

static const char msg[] = "card 4111 1111 1111 1111, api secret s3cr3t";
static const char aad[] = "org_01:connection_02";

static size_t seal_msg(const uint8_t key[TC_AEAD_KEY_LEN], uint8_t *sealed, size_t cap)
{
    size_t n = 0;
    cr_assert_eq(tc_aead_seal(key, aad, strlen(aad), msg, strlen(msg), sealed, cap, &n), TC_OK);
    cr_assert_eq(n, strlen(msg) + TC_AEAD_OVERHEAD);
    return n;
}

static int open_msg(const uint8_t key[TC_AEAD_KEY_LEN], const char *ad, const uint8_t *sealed,
                    size_t n, char *out, size_t cap)
{
    size_t w = 0;
    return tc_aead_open(key, ad, ad ? strlen(ad) : 0, sealed, n, (uint8_t *)out, cap, &w);
}

Test(aead, round_trip)
{
    uint8_t key[TC_AEAD_KEY_LEN], sealed[128];
    fixed_key(key, 1);
    size_t n = seal_msg(key, sealed, sizeof sealed);
    cr_assert_eq(sealed[0], 1);
    cr_assert_null(memmem(sealed, n, "4111", 4), "plaintext leaked into the ciphertext");
    char out[128] = {0};
    size_t w = 0;
    cr_assert_eq(tc_aead_open(key, aad, strlen(aad), sealed, n, (uint8_t *)out, sizeof out, &w),
                 TC_OK);
    cr_assert_eq(w, strlen(msg));
    cr_assert_str_eq(out, msg);

    /* Same plaintext twice: different nonces, different ciphertexts. */
    uint8_t again[128];
    size_t n2 = seal_msg(key, again, sizeof again);
    cr_assert_eq(n2, n);
    cr_assert_neq(memcmp(sealed, again, n), 0);
}

Test(aead, empty_plaintext_and_null_aad)
{
    uint8_t key[TC_AEAD_KEY_LEN], sealed[TC_AEAD_OVERHEAD];
    fixed_key(key, 2);
    size_t n = 0, w = 1;
    cr_assert_eq(tc_aead_seal(key, NULL, 0, NULL, 0, sealed, sizeof sealed, &n), TC_OK);
    cr_assert_eq(n, TC_AEAD_OVERHEAD);
    cr_assert_eq(tc_aead_open(key, NULL, 0, sealed, n, NULL, 0, &w), TC_OK);
    cr_assert_eq(w, 0);
    cr_assert_eq(tc_aead_open(key, "x", 1, sealed, n, NULL, 0, &w), TC_EINVAL);
}

Test(aead, tamper_detection)
{
    uint8_t key[TC_AEAD_KEY_LEN], other[TC_AEAD_KEY_LEN], sealed[128], copy[128];
    fixed_key(key, 3);
    fixed_key(other, 4);
    size_t n = seal_msg(key, sealed, sizeof sealed);
    char out[128];
    const size_t ct_at = 1 + TC_AEAD_NONCE_LEN, tag_at = n - TC_AEAD_TAG_LEN;
    const size_t flips[] = {1, 5, ct_at, ct_at + 7, tag_at, n - 1};
    for (size_t i = 0; i < TC_ARRAY_LEN(flips); i++) {
        memcpy(copy, sealed, n);
        copy[flips[i]] ^= 0x01;
        memset(out, 'Z', sizeof out);
        cr_assert_eq(open_msg(key, aad, copy, n, out, sizeof out), TC_EINVAL, "byte %zu", flips[i]);
        cr_assert_null(memmem(out, sizeof out, "4111", 4), "unauthenticated plaintext exposed");
    }
    cr_assert_eq(open_msg(key, "org_01:connection_03", sealed, n, out, sizeof out), TC_EINVAL);
    cr_assert_eq(open_msg(key, NULL, sealed, n, out, sizeof out), TC_EINVAL);
    cr_assert_eq(open_msg(other, aad, sealed, n, out, sizeof out), TC_EINVAL);
    /* Unknown version byte and truncation. */
    memcpy(copy, sealed, n);
    copy[0] = 2;
    cr_assert_eq(open_msg(key, aad, copy, n, out, sizeof out), TC_EINVAL);
    cr_assert_eq(open_msg(key, aad, sealed, n - 1, out, sizeof out), TC_EINVAL);
    cr_assert_eq(open_msg(key, aad, sealed, TC_AEAD_OVERHEAD - 1, out, sizeof out), TC_EINVAL);
    /* And the original still opens. */
    cr_assert_eq(open_msg(key, aad, sealed, n, out, sizeof out), TC_OK);
}

Test(aead, short_output_buffer)
{
    uint8_t key[TC_AEAD_KEY_LEN], sealed[128];
    fixed_key(key, 5);
    size_t n = 0;
    cr_assert_eq(tc_aead_seal(key, NULL, 0, msg, strlen(msg), sealed,
                              strlen(msg) + TC_AEAD_OVERHEAD - 1, &n),
                 TC_EINVAL);
    n = seal_msg(key, sealed, sizeof sealed);
    char out[8];
    cr_assert_eq(open_msg(key, aad, sealed, n, out, sizeof out), TC_EINVAL);
}

/* ------------------------------------------------------------------------- envelope keys */

Test(dek, wrap_unwrap)
{
    uint8_t kek[TC_AEAD_KEY_LEN], kek2[TC_AEAD_KEY_LEN], dek[TC_AEAD_KEY_LEN];
    uint8_t back[TC_AEAD_KEY_LEN];
    fixed_key(kek, 10);
    fixed_key(kek2, 11);
    cr_assert_eq(tc_dek_new(dek), TC_OK);
    char wrapped[128];
    cr_assert_eq(tc_dek_wrap(kek, "org_A", dek, wrapped, sizeof wrapped), TC_OK);
    cr_assert_eq(strlen(wrapped), 84);
    cr_assert_eq(tc_dek_unwrap(kek, "org_A", wrapped, back), TC_OK);
    cr_assert_eq(memcmp(dek, back, sizeof dek), 0);

    cr_assert_eq(tc_dek_unwrap(kek, "org_B", wrapped, back), TC_EINVAL);
    cr_assert_eq(tc_dek_unwrap(kek2, "org_A", wrapped, back), TC_EINVAL);
    cr_assert_eq(tc_dek_unwrap(kek, "org_A", "not base64!", back), TC_EINVAL);
    cr_assert_eq(tc_dek_unwrap(kek, "", wrapped, back), TC_EINVAL);
    char small[84];
    cr_assert_eq(tc_dek_wrap(kek, "org_A", dek, small, sizeof small), TC_EINVAL);

    /* A DEK then seals tenant data. */
    uint8_t sealed[128];
    size_t n = seal_msg(back, sealed, sizeof sealed);
    char out[128];
    cr_assert_eq(open_msg(dek, aad, sealed, n, out, sizeof out), TC_OK);
}

/* ------------------------------------------------------------------------- key parsing */

Test(keys, parse_hex_and_base64)
{
    uint8_t want[TC_AEAD_KEY_LEN], key[TC_AEAD_KEY_LEN];
    for (int i = 0; i < TC_AEAD_KEY_LEN; i++)
        want[i] = (uint8_t)(0xf0 + i * 7);
    char hex[2 * TC_AEAD_KEY_LEN + 1], b64[64], url[64];
    tc_hex_encode(want, sizeof want, hex);
    cr_assert_eq(tc_b64_encode(want, sizeof want, b64, sizeof b64), 44);
    cr_assert_eq(tc_b64url_encode(want, sizeof want, url, sizeof url), 43);

    memset(key, 0, sizeof key);
    cr_assert_eq(tc_key_parse(hex, key), TC_OK);
    cr_assert_eq(memcmp(key, want, sizeof key), 0);
    for (char *p = hex; *p; p++)
        *p = (char)(*p >= 'a' ? *p - 32 : *p);
    memset(key, 0, sizeof key);
    cr_assert_eq(tc_key_parse(hex, key), TC_OK);
    cr_assert_eq(memcmp(key, want, sizeof key), 0);
    memset(key, 0, sizeof key);
    cr_assert_eq(tc_key_parse(b64, key), TC_OK);
    cr_assert_eq(memcmp(key, want, sizeof key), 0);
    memset(key, 0, sizeof key);
    cr_assert_eq(tc_key_parse(url, key), TC_OK);
    cr_assert_eq(memcmp(key, want, sizeof key), 0);

    char with_newline[80];
    snprintf(with_newline, sizeof with_newline, "%s\n", b64);
    memset(key, 0, sizeof key);
    cr_assert_eq(tc_key_parse(with_newline, key), TC_OK);
    cr_assert_eq(memcmp(key, want, sizeof key), 0);
}

Test(keys, parse_rejects_wrong_lengths)
{
    uint8_t key[TC_AEAD_KEY_LEN];
    cr_assert_eq(tc_key_parse("", key), TC_EINVAL);
    cr_assert_eq(tc_key_parse(NULL, key), TC_EINVAL);
    /* 31 and 33 bytes in hex. */
    char hex[70];
    memset(hex, 'a', sizeof hex);
    hex[62] = '\0';
    cr_assert_eq(tc_key_parse(hex, key), TC_EINVAL);
    memset(hex, 'a', sizeof hex);
    hex[66] = '\0';
    cr_assert_eq(tc_key_parse(hex, key), TC_EINVAL);
    /* 64 chars that are not hex. */
    memset(hex, 'g', sizeof hex);
    hex[64] = '\0';
    cr_assert_eq(tc_key_parse(hex, key), TC_EINVAL);
    /* base64 of 16 and 48 bytes (0xff so that the text is not also valid hex). */
    uint8_t raw[48];
    memset(raw, 0xff, sizeof raw);
    char b64[80];
    cr_assert_gt(tc_b64_encode(raw, 16, b64, sizeof b64), 0);
    cr_assert_eq(tc_key_parse(b64, key), TC_EINVAL);
    cr_assert_gt(tc_b64_encode(raw, 48, b64, sizeof b64), 0);
    cr_assert_eq(tc_key_parse(b64, key), TC_EINVAL);
}

Test(random, id_bytes_are_fresh_across_refills)
{
    /* 10-byte draws cross the 512-byte refill boundary many times: never a repeat */
    enum { N = 2000 };
    static uint8_t seen[N][10];
    for (int i = 0; i < N; i++) {
        cr_assert_eq(tc_random_id_bytes(seen[i], 10), TC_OK);
        for (int j = 0; j < i; j++)
            cr_assert_neq(memcmp(seen[i], seen[j], 10), 0, "draw %d repeats draw %d", i, j);
    }
    uint8_t big[300];
    cr_assert_eq(tc_random_id_bytes(big, sizeof big), TC_OK); /* larger: straight from RAND */
}

Test(random, id_bytes_differ_between_parent_and_forked_child)
{
    uint8_t warm[10], mine[10], child[10];
    cr_assert_eq(tc_random_id_bytes(warm, sizeof warm), TC_OK); /* the pool is filled now */
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int ok = tc_random_id_bytes(child, sizeof child) == TC_OK &&
                 write(fds[1], child, sizeof child) == (ssize_t)sizeof child;
        _exit(ok ? 0 : 1);
    }
    close(fds[1]);
    cr_assert_eq(tc_random_id_bytes(mine, sizeof mine), TC_OK);
    cr_assert_eq(read(fds[0], child, sizeof child), (ssize_t)sizeof child);
    close(fds[0]);
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    cr_assert_neq(memcmp(mine, child, sizeof mine), 0, "a forked child repeated its parent's id");
}
