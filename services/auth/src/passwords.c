/*
 * Passwords: Argon2id in PHC string format ($argon2id$v=19$m=…,t=…,p=…$salt$hash), parameters
 * at or above OWASP's minimums, a rehash on login whenever the configured parameters
 * change, and a policy (length, a shipped list of the most common passwords, not the email).
 */
#include "auth_app.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"

#include <argon2.h>
#include <ctype.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SALT_LEN 16
#define HASH_LEN 32
#define PW_MIN   10
#define PW_MAX   128

int pw_params_ok(uint32_t m_kib, uint32_t t, uint32_t p)
{
    /* OWASP Password Storage Cheat Sheet: m=47104/t=1, 19456/2, 12288/3, 9216/4, 7168/5 */
    if (p < 1)
        return 0;
    return (m_kib >= 47104 && t >= 1) || (m_kib >= 19456 && t >= 2) || (m_kib >= 12288 && t >= 3) ||
           (m_kib >= 9216 && t >= 4) || (m_kib >= 7168 && t >= 5);
}

/* Argon2id works in a buffer of m KiB (19 MiB or more) per hash. glibc maps a block that big
 * with mmap only until the first free raises its dynamic threshold past it; from then on each
 * thread's arena keeps a buffer, and auth held ~19 MiB for every HTTP thread that ever hashed
 * (≈190 MiB with 8 threads). A fixed threshold keeps those buffers in mmap, returned on free;
 * the page faults it costs per hash are small beside the hash itself. */
void pw_memory_policy(void)
{
    mallopt(M_MMAP_THRESHOLD, 1024 * 1024);
}

int pw_hash(const auth_app_t *app, const char *password, char *out, size_t outlen)
{
    uint8_t salt[SALT_LEN];
    if (tc_random_bytes(salt, sizeof salt) != TC_OK)
        return TC_ERROR;
    int rc = argon2id_hash_encoded(app->argon2_t, app->argon2_m_kib, app->argon2_p, password,
                                   strlen(password), salt, sizeof salt, HASH_LEN, out, outlen);
    if (rc != ARGON2_OK) {
        tc_log_kv(TC_LOG_ERROR, "argon2 hashing failed", "detail", argon2_error_message(rc), NULL);
        return rc == ARGON2_MEMORY_ALLOCATION_ERROR ? TC_ENOMEM : TC_ERROR;
    }
    return TC_OK;
}

int pw_verify(const char *phc, const char *password)
{
    if (!phc || strncmp(phc, "$argon2id$", 10) != 0)
        return TC_ERROR;
    int rc = argon2id_verify(phc, password, strlen(password));
    if (rc == ARGON2_OK)
        return TC_OK;
    if (rc == ARGON2_VERIFY_MISMATCH)
        return TC_EINVAL;
    tc_log_kv(TC_LOG_ERROR, "argon2 verify failed", "detail", argon2_error_message(rc), NULL);
    return TC_ERROR;
}

int pw_needs_rehash(const auth_app_t *app, const char *phc)
{
    unsigned m = 0, t = 0, p = 0, v = 0;
    if (sscanf(phc, "$argon2id$v=%u$m=%u,t=%u,p=%u$", &v, &m, &t, &p) != 4)
        return 1;
    return v != ARGON2_VERSION_NUMBER || m != app->argon2_m_kib || t != app->argon2_t ||
           p != app->argon2_p;
}

/* The most common passwords of public breach corpora that satisfy the length rule; a full
 * breached-password check (k-anonymity range queries) is a later addition. */
static const char *const common_passwords[] = {
    "1234567890",  "12345678910",  "123456789a",    "1q2w3e4r5t",  "1qaz2wsx3edc",
    "abcdefghij",  "abc1234567",   "password12",    "password123", "password1234",
    "passw0rd123", "qwertyuiop",   "qwerty1234",    "qwerty12345", "qwertyuiop1",
    "iloveyou12",  "iloveyou123",  "0987654321",    "1111111111",  "0000000000",
    "9876543210",  "asdfghjkl1",   "zxcvbnm123",    "letmein123",  "welcome123",
    "welcome1234", "admin12345",   "administrator", "football123", "baseball123",
    "princess123", "sunshine123",  "superman123",   "monkey1234",  "dragon1234",
    "starwars123", "changeme123",  "trustno1234",   "computer123", "michael123",
    "jennifer123", "whatever123",  "internet123",   "samsung123",  "password!1",
    "Password123", "Password1!",   "P@ssw0rd123",   "P@ssword123", "Welcome123!",
    "Qwerty123!",  "1234567890a",  "a1234567890",   "q1w2e3r4t5",  "1q2w3e4r5t6y",
    "zaq12wsxcde", "qazwsxedcrfv", "aaaaaaaaaa",    "abcd123456",  "password01",
    NULL};

static void lower_copy(const char *in, char *out, size_t n)
{
    size_t i = 0;
    for (; in[i] && i + 1 < n; i++)
        out[i] = (char)tolower((unsigned char)in[i]);
    out[i] = '\0';
}

static int is_common(const char *pw)
{
    char lower[PW_MAX * 4 + 1];
    lower_copy(pw, lower, sizeof lower);
    for (int i = 0; common_passwords[i]; i++) {
        char c[64];
        lower_copy(common_passwords[i], c, sizeof c);
        if (strcmp(lower, c) == 0)
            return 1;
    }
    return 0;
}

/* 1 when the password contains the email's local part (at least 4 characters of it). */
static int contains_email(const char *pw, const char *email)
{
    if (!email)
        return 0;
    const char *at = strchr(email, '@');
    size_t n = at ? (size_t)(at - email) : strlen(email);
    if (n < 4 || n > 64)
        return 0;
    char local[65], lpw[PW_MAX * 4 + 1];
    lower_copy(email, local, n + 1);
    lower_copy(pw, lpw, sizeof lpw);
    return strstr(lpw, local) != NULL;
}

void pw_policy(tc_jv_t *jv, const char *field, const char *password, const char *email)
{
    long n = tc_utf8_validate(password, strlen(password));
    if (n < 0) {
        tc_jv_error(jv, field, "must be valid text without control characters");
        return;
    }
    if (n < PW_MIN || n > PW_MAX) {
        tc_jv_error(jv, field, "must be between %d and %d characters long", PW_MIN, PW_MAX);
        return;
    }
    int blank = 1;
    for (const char *p = password; *p; p++)
        blank &= *p == ' ' || *p == '\t';
    if (blank) {
        tc_jv_error(jv, field, "must not be only spaces");
        return;
    }
    if (is_common(password))
        tc_jv_error(jv, field, "is one of the most common passwords; choose another");
    else if (contains_email(password, email))
        tc_jv_error(jv, field, "must not contain your email address");
}
