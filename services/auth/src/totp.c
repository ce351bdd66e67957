/*
 * TOTP (RFC 6238) as authenticator apps implement it: HMAC-SHA1, 30-second steps, 6 digits,
 * secrets exchanged in base32 (RFC 4648, no padding) inside an otpauth:// URI.
 */
#include "totp.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

int totp_base32_encode(const uint8_t *in, size_t n, char *out, size_t outlen)
{
    size_t need = (n * 8 + 4) / 5 + 1, o = 0;
    if (outlen < need)
        return TC_EINVAL;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 5) {
            out[o++] = b32[(acc >> (bits - 5)) & 31];
            bits -= 5;
        }
    }
    if (bits > 0)
        out[o++] = b32[(acc << (5 - bits)) & 31];
    out[o] = '\0';
    return TC_OK;
}

ssize_t totp_base32_decode(const char *in, uint8_t *out, size_t outlen)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (const char *p = in; *p; p++) {
        char c = *p;
        if (c == '=' || c == ' ')
            continue;
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        const char *at = strchr(b32, c);
        if (!at || !c)
            return -1;
        acc = (acc << 5) | (uint32_t)(at - b32);
        bits += 5;
        if (bits >= 8) {
            if (o >= outlen)
                return -1;
            out[o++] = (uint8_t)(acc >> (bits - 8));
            bits -= 8;
        }
    }
    return (ssize_t)o;
}

uint32_t totp_hotp(const uint8_t *secret, size_t n, uint64_t counter)
{
    uint8_t msg[8], mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    for (int i = 7; i >= 0; i--) {
        msg[i] = (uint8_t)(counter & 0xff);
        counter >>= 8;
    }
    if (!HMAC(EVP_sha1(), secret, (int)n, msg, sizeof msg, mac, &maclen) || maclen < 20)
        return UINT32_MAX; /* never a valid 6-digit code */
    int off = mac[maclen - 1] & 0x0f;
    uint32_t bin = ((uint32_t)(mac[off] & 0x7f) << 24) | ((uint32_t)mac[off + 1] << 16) |
                   ((uint32_t)mac[off + 2] << 8) | mac[off + 3];
    return bin % 1000000u;
}

bool totp_verify(const uint8_t *secret, size_t n, const char *code, int64_t now_s,
                 int64_t last_step, int64_t *step)
{
    if (!code || strlen(code) != TOTP_DIGITS)
        return false;
    uint32_t want = 0;
    for (int i = 0; i < TOTP_DIGITS; i++) {
        if (code[i] < '0' || code[i] > '9')
            return false;
        want = want * 10 + (uint32_t)(code[i] - '0');
    }
    int64_t now_step = now_s / TOTP_STEP_S;
    bool match = false;
    /* one step either side tolerates clock drift and a code typed at a boundary; check all
     * three so the time taken does not tell which one matched */
    for (int64_t s = now_step - 1; s <= now_step + 1; s++) {
        uint32_t got = totp_hotp(secret, n, (uint64_t)s);
        bool eq = tc_ct_equal(&got, &want, sizeof got);
        if (eq && s > last_step && !match) {
            *step = s;
            match = true;
        }
    }
    return match;
}

int totp_uri(const char *issuer, const char *account, const char *secret_b32, char *out,
             size_t outlen)
{
    char *iss = curl_easy_escape(NULL, issuer, 0);
    char *acc = curl_easy_escape(NULL, account, 0);
    int n = -1;
    if (iss && acc)
        n = snprintf(out, outlen,
                     "otpauth://totp/%s:%s?secret=%s&issuer=%s&algorithm=SHA1&digits=6&period=30",
                     iss, acc, secret_b32, iss);
    curl_free(iss);
    curl_free(acc);
    return (n < 0 || (size_t)n >= outlen) ? TC_EINVAL : TC_OK;
}
