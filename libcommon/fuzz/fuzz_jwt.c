/*
 * libFuzzer driver: access-token verification (tc_auth_verify) against a fixed key set, and
 * bearer-header parsing. Nothing the fuzzer builds can carry a valid signature, so any input
 * that verifies is a bug (abort).
 */
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tc/tc_auth.h"
#include "tc/tc_log.h"

static tc_auth_t *verifier(void)
{
    static tc_auth_t *a;
    if (a)
        return a;
    tc_log_init("fuzz", "error");
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    cJSON *jwk = key ? tc_jwk_from_pkey(key, "k1") : NULL;
    cJSON *set = cJSON_CreateObject();
    cJSON *keys = set ? cJSON_AddArrayToObject(set, "keys") : NULL;
    if (!jwk || !keys)
        abort();
    cJSON_AddItemToArray(keys, jwk);
    char *text = cJSON_PrintUnformatted(set);
    tc_auth_opts_t o = {.issuer = "techcorp-auth", .audience = "techcorp-api", .manual = 1};
    a = tc_auth_new(&o);
    if (!a || tc_auth_set_jwks(a, text) != 0)
        abort();
    free(text);
    cJSON_Delete(set);
    EVP_PKEY_free(key);
    return a;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *tok = malloc(size + 1);
    if (!tok)
        return 0;
    memcpy(tok, data, size);
    tok[size] = '\0';
    tc_principal_t p;
    const char *why = NULL;
    if (tc_auth_verify(verifier(), tok, &p, &why) == 0)
        abort(); /* forged without the private key */
    if (!why)
        abort();
    const char *bearer = tc_auth_bearer(tok);
    if (bearer && (bearer < tok || bearer > tok + size))
        abort();
    free(tok);
    return 0;
}
