/* Unit tests for auth's password rules (password_model.c): policy, OWASP's Argon2id minimums,
 * when a stored hash must be redone. No I/O. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "password_model.h"
#include "tc/tc_core.h"

static int violations(const char *pw, const char *email, char *field, size_t n)
{
    tc_jv_t jv;
    tc_jv_init(&jv);
    pw_policy(&jv, "password", pw, email);
    int count = jv.count;
    if (field) {
        field[0] = '\0';
        const cJSON *e = jv.errors ? jv.errors->child : NULL;
        if (e)
            snprintf(field, n, "%s", tc_json_get_str(e, "field"));
    }
    tc_jv_free(&jv);
    return count;
}

Test(password_model, policy)
{
    char field[32];
    cr_assert_eq(violations("correct horse battery", "ada@example.com", field, sizeof field), 0);
    cr_assert_eq(violations("short", NULL, field, sizeof field), 1);
    cr_assert_str_eq(field, "password", "reported under the field named");
    cr_assert_eq(violations("          ", NULL, NULL, 0), 1, "only spaces");
    cr_assert_eq(violations(" \t \t \t \t \t ", NULL, NULL, 0), 1, "only blanks");
    cr_assert_eq(violations("Password123", NULL, NULL, 0), 1, "a common password");
    cr_assert_eq(violations("PASSWORD123", NULL, NULL, 0), 1, "compared without case");
    cr_assert_eq(violations("qwertyuiop", NULL, NULL, 0), 1);
    cr_assert_eq(violations("my-lovelace-2024", "lovelace@example.com", NULL, 0), 1,
                 "contains the email's local part");
    cr_assert_eq(violations("my-LoveLace-2024", "lovelace@example.com", NULL, 0), 1);
    cr_assert_eq(violations("my-ada-password-2024", "ada@example.com", NULL, 0), 0,
                 "local parts under 4 characters are too common to refuse");
    cr_assert_eq(violations("bad\x01password", NULL, NULL, 0), 1, "control characters");
    char longpw[200];
    memset(longpw, 'x', sizeof longpw - 1);
    longpw[sizeof longpw - 1] = '\0';
    cr_assert_eq(violations(longpw, NULL, NULL, 0), 1, "too long");
    longpw[PW_MAX_CHARS] = '\0';
    cr_assert_eq(violations(longpw, NULL, NULL, 0), 0, "exactly the maximum");
    cr_assert_eq(violations("ünïcödé-päss", NULL, NULL, 0), 0, "counted in characters");
    cr_assert_eq(violations("üüüüüüüüü", NULL, NULL, 0), 1, "9 characters, 18 bytes: too short");
}

Test(password_model, owasp_minimums)
{
    pw_params_t ok[] = {{19456, 2, 1}, {47104, 1, 1}, {12288, 3, 1}, {9216, 4, 1}, {7168, 5, 2}};
    pw_params_t weak[] = {{19456, 1, 1}, {4096, 10, 1}, {65536, 3, 0}, {7168, 4, 1}};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        cr_assert(pw_params_ok(&ok[i]), "%u/%u/%u", ok[i].m_kib, ok[i].t, ok[i].p);
    for (size_t i = 0; i < sizeof weak / sizeof *weak; i++)
        cr_assert_not(pw_params_ok(&weak[i]), "%u/%u/%u", weak[i].m_kib, weak[i].t, weak[i].p);
}

Test(password_model, rehash_when_parameters_change)
{
    pw_params_t cfg = {19456, 2, 1};
    cr_assert_not(pw_needs_rehash(&cfg, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"));
    cr_assert(pw_needs_rehash(&cfg, "$argon2id$v=19$m=7168,t=5,p=1$c2FsdA$aGFzaA"));
    cr_assert(pw_needs_rehash(&cfg, "$argon2id$v=19$m=19456,t=3,p=1$c2FsdA$aGFzaA"));
    cr_assert(pw_needs_rehash(&cfg, "$argon2id$v=16$m=19456,t=2,p=1$c2FsdA$aGFzaA"),
              "an older version");
    cr_assert(pw_needs_rehash(&cfg, "$argon2i$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"),
              "another variant");
    cr_assert(pw_needs_rehash(&cfg, "$2b$10$bcrypt"), "another scheme");
    cr_assert(pw_needs_rehash(&cfg, NULL));
}
