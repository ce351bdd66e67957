/*
 * Password rules (DESIGN §6): Argon2id at or above OWASP's minimums, a rehash whenever the
 * configured parameters change, and a policy for new passwords (length, a shipped list of the
 * most common passwords, not the email).
 */
#include "password_model.h"

#include <argon2.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

bool pw_params_ok(const pw_params_t *params)
{
    /* OWASP Password Storage Cheat Sheet: m=47104/t=1, 19456/2, 12288/3, 9216/4, 7168/5 */
    uint32_t m = params->m_kib, t = params->t;
    if (params->p < 1)
        return false;
    return (m >= 47104 && t >= 1) || (m >= 19456 && t >= 2) || (m >= 12288 && t >= 3) ||
           (m >= 9216 && t >= 4) || (m >= 7168 && t >= 5);
}

bool pw_needs_rehash(const pw_params_t *configured, const char *phc)
{
    unsigned m = 0, t = 0, p = 0, v = 0;
    if (!phc || sscanf(phc, "$argon2id$v=%u$m=%u,t=%u,p=%u$", &v, &m, &t, &p) != 4)
        return true;
    return v != ARGON2_VERSION_NUMBER || m != configured->m_kib || t != configured->t ||
           p != configured->p;
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

static bool is_common(const char *pw)
{
    char lower[PW_MAX_CHARS * 4 + 1];
    lower_copy(pw, lower, sizeof lower);
    for (int i = 0; common_passwords[i]; i++) {
        char c[64];
        lower_copy(common_passwords[i], c, sizeof c);
        if (strcmp(lower, c) == 0)
            return true;
    }
    return false;
}

static bool contains_email(const char *pw, const char *email)
{
    if (!email)
        return false;
    const char *at = strchr(email, '@');
    size_t n = at ? (size_t)(at - email) : strlen(email);
    if (n < 4 || n > 64)
        return false;
    char local[65], lpw[PW_MAX_CHARS * 4 + 1];
    lower_copy(email, local, n + 1);
    lower_copy(pw, lpw, sizeof lpw);
    return strstr(lpw, local) != NULL;
}

void pw_policy(tc_jv_t *jv, const char *field, const char *password, const char *email)
{
    ssize_t n = tc_utf8_validate(password, strlen(password));
    if (n < 0) {
        tc_jv_error(jv, field, "must be valid text without control characters");
        return;
    }
    if (n < PW_MIN_CHARS || n > PW_MAX_CHARS) {
        tc_jv_error(jv, field, "must be between %d and %d characters long", PW_MIN_CHARS,
                    PW_MAX_CHARS);
        return;
    }
    bool blank = true;
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
