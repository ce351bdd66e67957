/*
 * totp.h: TOTP (RFC 6238) as authenticator apps implement it — HMAC-SHA1, 30-second steps,
 * 6 digits, one step of clock drift either way, each step accepted once — and the base32
 * secrets (RFC 4648, no padding) and otpauth:// URIs they exchange. No I/O.
 */
#ifndef AUTH_TOTP_H
#define AUTH_TOTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TOTP_SECRET_LEN 20 /* 160 bits, RFC 4226's recommendation for SHA-1 */
#define TOTP_STEP_S     30
#define TOTP_DIGITS     6

int totp_base32_encode(const uint8_t *in, size_t n, char *out, size_t outlen);
/* Decoded length, or -1 for a character outside the alphabet or an output too small. */
ssize_t totp_base32_decode(const char *in, uint8_t *out, size_t outlen);
/* The 6-digit code of a counter (HOTP, RFC 4226); UINT32_MAX if HMAC fails. */
uint32_t totp_hotp(const uint8_t *secret, size_t n, uint64_t counter);
/* true when code is the code of a step within one of now's and newer than last_step (a step
 * is accepted once: no replay); *step gets the step that matched. All three candidate steps
 * are computed and compared in constant time, whichever matches. */
bool totp_verify(const uint8_t *secret, size_t n, const char *code, int64_t now_s,
                 int64_t last_step, int64_t *step);
int totp_uri(const char *issuer, const char *account, const char *secret_b32, char *out,
             size_t outlen);

#endif
