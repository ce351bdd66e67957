/* The second factor's rules around TOTP: recovery codes, enrolment window. */
#include "mfa_model.h"

void mfa_recovery_code(const uint8_t rnd[MFA_RECOVERY_RANDOM], char out[MFA_RECOVERY_LEN])
{
    static const char alphabet[] = "abcdefghjkmnpqrstuvwxyz23456789";
    int o = 0;
    for (int k = 0; k < MFA_RECOVERY_RANDOM; k++) {
        if (k == MFA_RECOVERY_RANDOM / 2)
            out[o++] = '-';
        out[o++] = alphabet[rnd[k] % (sizeof alphabet - 1)];
    }
    out[o] = '\0';
}

bool mfa_enrolment_fresh(int64_t started_s, int64_t now_s, int ttl_s)
{
    return now_s - started_s <= ttl_s;
}
