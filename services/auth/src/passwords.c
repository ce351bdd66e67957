/*
 * Argon2id in PHC string format. Every hash works in a buffer of m KiB (19 MiB by default).
 */
#include "passwords.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_log.h"

#include <argon2.h>
#include <malloc.h>
#include <string.h>

#define SALT_LEN 16
#define HASH_LEN 32

/* glibc maps a block as big as Argon2id's buffer with mmap only until the first free raises
 * its dynamic threshold past it; from then on each thread's arena keeps a buffer, and auth
 * held ~19 MiB for every HTTP thread that ever hashed (≈190 MiB with 8 threads). A fixed
 * threshold keeps those buffers in mmap, returned on free; the page faults it costs per hash
 * are small beside the hash itself. */
void pw_memory_policy(void)
{
    mallopt(M_MMAP_THRESHOLD, 1024 * 1024);
}

int pw_hash(const pw_params_t *params, const char *password, char *out, size_t outlen)
{
    uint8_t salt[SALT_LEN];
    if (tc_random_bytes(salt, sizeof salt) != TC_OK)
        return TC_ERROR;
    int rc = argon2id_hash_encoded(params->t, params->m_kib, params->p, password, strlen(password),
                                   salt, sizeof salt, HASH_LEN, out, outlen);
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
