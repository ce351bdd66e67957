/*
 * Randomness, identifiers, hashes, MACs and AES-256-GCM on top of OpenSSL 3.
 *
 * Every OpenSSL call is checked; a failing generator or cipher never degrades into a
 * predictable or unauthenticated result.
 */
#include "tc/tc_crypto.h"
#include "tc/tc_codec.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"
#include "tc/tc_time.h"

#include <ctype.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#define SEALED_VERSION 1
#define ID_CHARS       26
#define ID_TIME_BYTES  6
#define ID_RAND_BYTES  10
#define ID_PREFIX_MAX  (TC_ID_MAX - 1 - ID_CHARS - 1)
/* OpenSSL takes int lengths; larger inputs are fed in chunks of this size. */
#define EVP_CHUNK (1 << 30)

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/* ------------------------------------------------------------------------- randomness */

int tc_random_bytes(void *out, size_t n)
{
    unsigned char *p = out;
    while (n > 0) {
        size_t chunk = n > EVP_CHUNK ? EVP_CHUNK : n;
        if (RAND_bytes(p, (int)chunk) != 1)
            return TC_ERROR;
        p += chunk;
        n -= chunk;
    }
    return TC_OK;
}

/* a refill (RAND_bytes) per ~100 trace and request ids: per id it cost the gateway 1% of a
 * cached answer at 512 */
#define ID_POOL 4096

/* Per thread; nothing here is secret once handed out (ids are public). A forked child gets a
 * copy of its parent's buffer, so a fork bumps fork_gen and a thread whose pool was filled in
 * another generation refills before handing out a byte: parent and child never share ids. */
static _Thread_local struct {
    uint8_t buf[ID_POOL];
    size_t pos;
    unsigned gen;
} id_pool = {.pos = ID_POOL};

static atomic_uint fork_gen;
static pthread_once_t fork_hook_once = PTHREAD_ONCE_INIT;

static void on_fork_child(void)
{
    atomic_fetch_add(&fork_gen, 1);
}

static void install_fork_hook(void)
{
    if (pthread_atfork(NULL, NULL, on_fork_child) != 0)
        abort(); /* only fails on ENOMEM at start-up; ids would repeat across a fork */
}

int tc_random_id_bytes(void *out, size_t n)
{
    if (n > ID_POOL / 4)
        return tc_random_bytes(out, n);
    pthread_once(&fork_hook_once, install_fork_hook);
    unsigned gen = atomic_load_explicit(&fork_gen, memory_order_relaxed);
    if (id_pool.pos + n > ID_POOL || id_pool.gen != gen) {
        if (tc_random_bytes(id_pool.buf, ID_POOL) != TC_OK)
            return TC_ERROR;
        id_pool.pos = 0;
        id_pool.gen = gen;
    }
    memcpy(out, id_pool.buf + id_pool.pos, n);
    id_pool.pos += n;
    return TC_OK;
}

int tc_random_token(const char *prefix, size_t nbytes, char *out, size_t outlen)
{
    if (!prefix || !out || nbytes == 0 || nbytes > 4096)
        return TC_EINVAL;
    size_t plen = strlen(prefix);
    /* "tc_live" and "tc_live_" both give "tc_live_…"; an empty prefix gives the bare token. */
    int sep = plen > 0 && prefix[plen - 1] != '_';
    if (plen + (size_t)sep >= outlen)
        return TC_EINVAL;
    unsigned char *raw = malloc(nbytes);
    if (!raw)
        return TC_ENOMEM;
    size_t head = plen + (size_t)sep;
    int rc = tc_random_bytes(raw, nbytes);
    if (rc != TC_OK)
        goto cleanup;
    memcpy(out, prefix, plen);
    if (sep)
        out[plen] = '_';
    if (tc_b64url_encode(raw, nbytes, out + head, outlen - head) < 0) {
        rc = TC_EINVAL;
        out[0] = '\0';
    }
cleanup:
    OPENSSL_cleanse(raw, nbytes);
    free(raw);
    return rc;
}

/* ------------------------------------------------------------------------- identifiers */

static int id_prefix_ok(const char *prefix)
{
    size_t n = prefix ? strlen(prefix) : 0;
    if (n == 0 || n > ID_PREFIX_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = prefix[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return 0;
    }
    return 1;
}

/* The 128-bit value, big-endian, as 26 five-bit symbols: 130 bits, so the text starts with
 * two zero bits. Bits stream through an accumulator byte by byte (ids are made for every
 * request and event, so this runs at 10^5/s). */
static void id_encode(const uint8_t v[16], char out[ID_CHARS])
{
    uint32_t acc = 0;
    int nbits = 2, o = 0;
    for (int i = 0; i < 16; i++) {
        acc = (acc << 8) | v[i];
        nbits += 8;
        while (nbits >= 5) {
            nbits -= 5;
            out[o++] = crockford[(acc >> nbits) & 31u];
        }
    }
}

/* The last id this thread made. Within one millisecond (or if the clock steps back) the next
 * id keeps that time and adds a random 1..2^32 to the random part, as ULID's monotonic mode
 * does: ids made one after another by a thread sort in the order they were made (an inbox
 * listed newest first by id shows two messages of the same millisecond in order), and
 * the step is still unpredictable. */
static _Thread_local struct {
    uint64_t ms;
    uint8_t rnd[ID_RAND_BYTES];
    bool set;
} id_last;

/* Adds inc to the big-endian number in r; false when it overflows. */
static bool id_rand_add(uint8_t r[ID_RAND_BYTES], uint64_t inc)
{
    for (int i = ID_RAND_BYTES - 1; i >= 0 && inc; i--) {
        inc += r[i];
        r[i] = (uint8_t)inc;
        inc >>= 8;
    }
    return inc == 0;
}

static int id_next(uint64_t ms, uint8_t v[16])
{
    bool fresh = !id_last.set || ms > id_last.ms;
    if (!fresh) {
        uint8_t step[4];
        if (tc_random_id_bytes(step, sizeof step) != TC_OK)
            return TC_ERROR;
        uint64_t inc = 1u + ((uint64_t)step[0] << 24 | (uint64_t)step[1] << 16 |
                             (uint64_t)step[2] << 8 | step[3]);
        ms = id_last.ms;
        if (!id_rand_add(id_last.rnd, inc)) {
            ms++; /* 2^80 ids in one millisecond: borrow the next one */
            fresh = true;
        }
    }
    if (fresh && tc_random_id_bytes(id_last.rnd, ID_RAND_BYTES) != TC_OK)
        return TC_ERROR;
    id_last.ms = ms & 0xFFFFFFFFFFFFull;
    id_last.set = true;
    for (int i = 0; i < ID_TIME_BYTES; i++)
        v[i] = (uint8_t)(id_last.ms >> (8 * (ID_TIME_BYTES - 1 - i)));
    memcpy(v + ID_TIME_BYTES, id_last.rnd, ID_RAND_BYTES);
    return TC_OK;
}

int tc_id_new(const char *prefix, char *out, size_t outlen)
{
    if (!id_prefix_ok(prefix) || !out)
        return TC_EINVAL;
    size_t plen = strlen(prefix);
    if (plen + 1 + ID_CHARS + 1 > outlen)
        return TC_EINVAL;
    uint8_t v[16];
    int64_t ms = tc_now_ms();
    if (id_next(ms < 0 ? 0 : (uint64_t)ms, v) != TC_OK)
        return TC_ERROR;
    memcpy(out, prefix, plen);
    out[plen] = '_';
    id_encode(v, out + plen + 1);
    out[plen + 1 + ID_CHARS] = '\0';
    return TC_OK;
}

bool tc_id_valid(const char *prefix, const char *id)
{
    if (!id_prefix_ok(prefix) || !id)
        return false;
    size_t plen = strlen(prefix);
    if (strncmp(id, prefix, plen) != 0 || id[plen] != '_')
        return false;
    const char *body = id + plen + 1;
    if (strlen(body) != ID_CHARS)
        return false;
    /* 26 symbols carry 130 bits; the first may only use the low 3 of its 5. */
    if (body[0] > '7')
        return false;
    for (int i = 0; i < ID_CHARS; i++)
        if (body[i] == '\0' || !strchr(crockford, body[i]))
            return false;
    return true;
}

/* ------------------------------------------------------------------------- hashes, MACs */

/* Fetched once: EVP_sha256() makes every EVP_Digest look the implementation up again in the
 * provider store (locks and all), a measurable share of hashing a token per request. */
static EVP_MD *g_sha256;
static pthread_once_t g_sha256_once = PTHREAD_ONCE_INIT;

static void fetch_sha256(void)
{
    g_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

void tc_sha256(const void *data, size_t n, uint8_t out[TC_SHA256_LEN])
{
    unsigned int len = 0;
    static const uint8_t empty[1];
    pthread_once(&g_sha256_once, fetch_sha256);
    const EVP_MD *md = g_sha256 ? g_sha256 : EVP_sha256();
    if (EVP_Digest(n ? data : empty, n, out, &len, md, NULL) != 1 || len != TC_SHA256_LEN) {
        /* The contract cannot report failure, and a made-up digest would silently break
         * every comparison built on it (token caches, API key lookups): stop instead. */
        tc_log_kv(TC_LOG_ERROR, "sha256 failed in libcrypto", NULL);
        abort();
    }
}

void tc_sha256_hex(const void *data, size_t n, char out[TC_SHA256_HEX_LEN])
{
    uint8_t d[TC_SHA256_LEN];
    tc_sha256(data, n, d);
    tc_hex_encode(d, sizeof d, out);
}

int tc_hmac_sha256(const void *key, size_t keylen, const void *data, size_t n,
                   uint8_t out[TC_SHA256_LEN])
{
    static const uint8_t empty[1];
    unsigned int len = 0;
    if (keylen > INT_MAX || (!key && keylen) || (!data && n) || !out)
        return TC_EINVAL;
    /* HMAC() treats a NULL key as "reuse the previous key"; an empty key must stay empty. */
    if (!HMAC(EVP_sha256(), key ? key : empty, (int)keylen, n ? data : empty, n, out, &len) ||
        len != TC_SHA256_LEN)
        return TC_ERROR;
    return TC_OK;
}

bool tc_ct_equal(const void *a, const void *b, size_t n)
{
    if (n == 0)
        return true;
    return CRYPTO_memcmp(a, b, n) == 0;
}

bool tc_hmac_sha256_verify(const void *key, size_t keylen, const void *data, size_t n,
                           const uint8_t *mac, size_t maclen)
{
    uint8_t want[TC_SHA256_LEN];
    /* A truncated MAC is easier to forge; only the full length is accepted. */
    if (!mac || maclen != TC_SHA256_LEN)
        return false;
    if (tc_hmac_sha256(key, keylen, data, n, want) != TC_OK)
        return false;
    int ok = CRYPTO_memcmp(want, mac, TC_SHA256_LEN) == 0;
    OPENSSL_cleanse(want, sizeof want);
    return ok;
}

/* ------------------------------------------------------------------------- AES-256-GCM */

static int cipher_update_all(EVP_CIPHER_CTX *ctx, int enc, uint8_t *out, const void *in, size_t n)
{
    const uint8_t *p = in;
    while (n > 0) {
        int chunk = n > EVP_CHUNK ? EVP_CHUNK : (int)n, len = 0;
        int ok = enc ? EVP_EncryptUpdate(ctx, out, &len, p, chunk)
                     : EVP_DecryptUpdate(ctx, out, &len, p, chunk);
        /* GCM is a stream mode: every input byte yields one output byte immediately. */
        if (ok != 1 || (out && len != chunk))
            return TC_ERROR;
        p += chunk;
        n -= (size_t)chunk;
        if (out)
            out += chunk;
    }
    return TC_OK;
}

/* Fetched once, like SHA-256 above: EVP_aes_256_gcm() costs a provider-store lookup on every
 * init, and a service opens three sealed fields for each user it reads. */
static EVP_CIPHER *g_gcm;
static pthread_once_t g_gcm_once = PTHREAD_ONCE_INIT;

static void fetch_gcm(void)
{
    g_gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
}

static const EVP_CIPHER *aes_256_gcm(void)
{
    pthread_once(&g_gcm_once, fetch_gcm);
    return g_gcm ? g_gcm : EVP_aes_256_gcm();
}

int tc_aead_seal(const uint8_t key[TC_AEAD_KEY_LEN], const void *aad, size_t aadlen,
                 const void *plain, size_t n, uint8_t *out, size_t outlen, size_t *written)
{
    if (written)
        *written = 0;
    if (!key || !out || (!aad && aadlen) || (!plain && n) || n > SIZE_MAX - TC_AEAD_OVERHEAD ||
        outlen < n + TC_AEAD_OVERHEAD)
        return TC_EINVAL;
    int rc = TC_ERROR, len = 0;
    uint8_t *nonce = out + 1, *ct = nonce + TC_AEAD_NONCE_LEN, *tag = ct + n;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx)
        return TC_ENOMEM;
    /* Random 96-bit nonces: safe for far more messages than one tenant key will ever seal. */
    if (tc_random_bytes(nonce, TC_AEAD_NONCE_LEN) != TC_OK)
        goto cleanup;
    if (EVP_EncryptInit_ex(ctx, aes_256_gcm(), NULL, key, nonce) != 1 ||
        cipher_update_all(ctx, 1, NULL, aad, aadlen) != TC_OK ||
        cipher_update_all(ctx, 1, ct, plain, n) != TC_OK ||
        EVP_EncryptFinal_ex(ctx, ct + n, &len) != 1 || len != 0 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TC_AEAD_TAG_LEN, tag) != 1)
        goto cleanup;
    out[0] = SEALED_VERSION;
    if (written)
        *written = n + TC_AEAD_OVERHEAD;
    rc = TC_OK;
cleanup:
    if (rc != TC_OK)
        OPENSSL_cleanse(out, n + TC_AEAD_OVERHEAD);
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

int tc_aead_open(const uint8_t key[TC_AEAD_KEY_LEN], const void *aad, size_t aadlen,
                 const uint8_t *sealed, size_t n, uint8_t *out, size_t outlen, size_t *written)
{
    if (written)
        *written = 0;
    if (!key || !sealed || (!aad && aadlen) || n < TC_AEAD_OVERHEAD || sealed[0] != SEALED_VERSION)
        return TC_EINVAL;
    size_t plen = n - TC_AEAD_OVERHEAD;
    if (outlen < plen || (!out && plen))
        return TC_EINVAL;
    const uint8_t *nonce = sealed + 1, *ct = nonce + TC_AEAD_NONCE_LEN, *tagp = ct + plen;
    uint8_t tag[TC_AEAD_TAG_LEN], fin[TC_AEAD_TAG_LEN];
    memcpy(tag, tagp, sizeof tag); /* the ctrl API wants a mutable buffer */
    int rc = TC_ERROR, len = 0;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx)
        return TC_ENOMEM;
    if (EVP_DecryptInit_ex(ctx, aes_256_gcm(), NULL, key, nonce) != 1 ||
        cipher_update_all(ctx, 0, NULL, aad, aadlen) != TC_OK ||
        cipher_update_all(ctx, 0, out, ct, plen) != TC_OK ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TC_AEAD_TAG_LEN, tag) != 1)
        goto cleanup;
    if (EVP_DecryptFinal_ex(ctx, fin, &len) != 1) {
        rc = TC_EINVAL;
        goto cleanup;
    }
    if (written)
        *written = plen;
    rc = TC_OK;
cleanup:
    /* Never hand out plaintext that did not authenticate. */
    if (rc != TC_OK && out)
        OPENSSL_cleanse(out, plen);
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

/* ------------------------------------------------------------------------- envelope keys */

#define WRAPPED_LEN (TC_AEAD_KEY_LEN + TC_AEAD_OVERHEAD)

int tc_dek_new(uint8_t dek[TC_AEAD_KEY_LEN])
{
    return tc_random_bytes(dek, TC_AEAD_KEY_LEN);
}

int tc_dek_wrap(const uint8_t kek[TC_AEAD_KEY_LEN], const char *tenant,
                const uint8_t dek[TC_AEAD_KEY_LEN], char *out_b64, size_t outlen)
{
    if (!kek || !dek || !out_b64 || !tenant || !tenant[0])
        return TC_EINVAL;
    uint8_t sealed[WRAPPED_LEN];
    size_t n = 0;
    int rc =
        tc_aead_seal(kek, tenant, strlen(tenant), dek, TC_AEAD_KEY_LEN, sealed, sizeof sealed, &n);
    if (rc != TC_OK)
        return rc;
    if (tc_b64_encode(sealed, n, out_b64, outlen) < 0)
        rc = TC_EINVAL;
    return rc;
}

int tc_dek_unwrap(const uint8_t kek[TC_AEAD_KEY_LEN], const char *tenant, const char *wrapped_b64,
                  uint8_t dek[TC_AEAD_KEY_LEN])
{
    if (!kek || !dek || !wrapped_b64 || !tenant || !tenant[0])
        return TC_EINVAL;
    uint8_t sealed[WRAPPED_LEN], plain[TC_AEAD_KEY_LEN];
    long n = tc_b64_decode(wrapped_b64, strlen(wrapped_b64), sealed, sizeof sealed);
    if (n != WRAPPED_LEN)
        return TC_EINVAL;
    size_t got = 0;
    int rc =
        tc_aead_open(kek, tenant, strlen(tenant), sealed, (size_t)n, plain, sizeof plain, &got);
    if (rc == TC_OK && got == TC_AEAD_KEY_LEN)
        memcpy(dek, plain, TC_AEAD_KEY_LEN);
    else if (rc == TC_OK)
        rc = TC_EINVAL;
    OPENSSL_cleanse(plain, sizeof plain);
    return rc;
}

int tc_key_parse(const char *text, uint8_t key[TC_AEAD_KEY_LEN])
{
    if (!text || !key)
        return TC_EINVAL;
    /* Secrets mounted from files usually end with a newline. */
    while (isspace((unsigned char)*text))
        text++;
    size_t n = strlen(text);
    while (n > 0 && isspace((unsigned char)text[n - 1]))
        n--;
    uint8_t tmp[TC_AEAD_KEY_LEN + 3];
    int rc = TC_EINVAL;
    if (n == 2 * TC_AEAD_KEY_LEN) {
        rc = tc_hex_decode(text, n, tmp, sizeof tmp) == TC_AEAD_KEY_LEN ? TC_OK : TC_EINVAL;
    } else if (tc_b64_decode(text, n, tmp, sizeof tmp) == TC_AEAD_KEY_LEN ||
               tc_b64url_decode(text, n, tmp, sizeof tmp) == TC_AEAD_KEY_LEN) {
        rc = TC_OK;
    }
    if (rc == TC_OK)
        memcpy(key, tmp, TC_AEAD_KEY_LEN);
    OPENSSL_cleanse(tmp, sizeof tmp);
    return rc;
}
