/*
 * Access-token verification: the compact JWS taken apart and its RS256 signature checked
 * against the key set (tc_jwks.c), then the claims; verified tokens are cached
 * (tc_auth_cache.c) and revoked ones refused (tc_revoke.c). And the verifier's life.
 */
#include "tc_auth_int.h"

/* ------------------------------------------------------------------------- verification */

static bool b64url_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

static int jws_split(const char *token, jws_t *j)
{
    const char *dots[2];
    int ndots = 0;
    size_t i = 0;
    for (; token[i]; i++) {
        if (i >= TOKEN_MAX)
            return TC_EINVAL;
        if (token[i] == '.') {
            if (ndots == 2)
                return TC_EINVAL;
            dots[ndots++] = token + i;
        } else if (!b64url_char(token[i])) {
            return TC_EINVAL;
        }
    }
    if (ndots != 2)
        return TC_EINVAL;
    j->total = i;
    j->header = token;
    j->header_len = (size_t)(dots[0] - token);
    j->payload = dots[0] + 1;
    j->payload_len = (size_t)(dots[1] - j->payload);
    j->sig = dots[1] + 1;
    j->sig_len = i - (size_t)(j->sig - token);
    j->signed_len = (size_t)(dots[1] - token);
    return TC_OK;
}

/* alg pinned to RS256 before anything else, then a kid to look up. */
static const char *check_header(const jws_t *j, char kid[KID_MAX])
{
    const char *why = NULL;
    const cJSON *alg = NULL, *k = NULL, *crit = NULL;
    cJSON *h = auth_segment_json(j->header, j->header_len);
    if (!h)
        return "malformed";
    if (auth_json_member(h, "alg", &alg) || auth_json_member(h, "kid", &k) ||
        auth_json_member(h, "crit", &crit))
        why = "malformed";
    else if (!cJSON_IsString(alg) || strcmp(alg->valuestring, "RS256") != 0)
        why = "alg_not_allowed";
    else if (crit) /* we implement no extension, so none can be critical */
        why = "malformed";
    else if (!cJSON_IsString(k) || !k->valuestring[0])
        why = "missing_kid";
    else if (strlen(k->valuestring) >= KID_MAX)
        why = "unknown_kid";
    else
        memcpy(kid, k->valuestring, strlen(k->valuestring) + 1);
    cJSON_Delete(h);
    return why;
}

static bool rs256_verify(EVP_PKEY *pkey, const jws_t *j)
{
    uint8_t sig[RSA_MAX_BYTES];
    int size = EVP_PKEY_get_size(pkey);
    if (size <= 0 || size > RSA_MAX_BYTES)
        return false;
    long n = tc_b64url_decode(j->sig, j->sig_len, sig, sizeof sig);
    if (n != size)
        return false;
    bool ok = false;
    EVP_PKEY_CTX *pctx = NULL;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx && EVP_DigestVerifyInit_ex(ctx, &pctx, "SHA256", NULL, NULL, pkey, NULL) == 1 &&
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1)
        ok = EVP_DigestVerify(ctx, sig, (size_t)n, (const unsigned char *)j->header,
                              j->signed_len) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

static int claims_collect(const cJSON *obj, claims_t *c)
{
    if (auth_json_member(obj, "exp", &c->exp) || auth_json_member(obj, "nbf", &c->nbf) ||
        auth_json_member(obj, "iss", &c->iss) || auth_json_member(obj, "aud", &c->aud) ||
        auth_json_member(obj, "sub", &c->sub) || auth_json_member(obj, "org", &c->org) ||
        auth_json_member(obj, "role", &c->role) || auth_json_member(obj, "scope", &c->scope) ||
        auth_json_member(obj, "plan", &c->plan) || auth_json_member(obj, "jti", &c->jti) ||
        auth_json_member(obj, "token_use", &c->use) || auth_json_member(obj, "sid", &c->sid) ||
        auth_json_member(obj, "iat", &c->iat) || auth_json_member(obj, "principal_type", &c->ptype))
        return TC_EINVAL;
    return TC_OK;
}

/* NumericDate within a sane range (year 1970 … ~33658). */
static bool numeric_date(const cJSON *v, double *out)
{
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < 0 ||
        v->valuedouble > 1e12)
        return false;
    *out = v->valuedouble;
    return true;
}

static const char *check_times(const tc_auth_t *a, const claims_t *c, int64_t now,
                               tc_principal_t *p)
{
    double exp = 0, nbf = 0, iat = 0;
    if (!c->exp)
        return "missing_claims";
    if (!numeric_date(c->exp, &exp) || (c->nbf && !numeric_date(c->nbf, &nbf)) ||
        (c->iat && !numeric_date(c->iat, &iat)))
        return "bad_claims";
    p->iat = (int64_t)floor(iat);
    if ((double)now > exp + a->leeway_s)
        return "expired";
    if (c->nbf && (double)(now + a->leeway_s) < nbf)
        return "not_yet_valid";
    p->exp = (int64_t)floor(exp);
    return NULL;
}

static bool audience_ok(const cJSON *aud, const char *want)
{
    if (cJSON_IsString(aud))
        return strcmp(aud->valuestring, want) == 0;
    if (!cJSON_IsArray(aud))
        return false;
    const cJSON *it;
    cJSON_ArrayForEach(it, aud)
    {
        if (cJSON_IsString(it) && strcmp(it->valuestring, want) == 0)
            return true;
    }
    return false;
}

/* Optional string claim: absent is fine, anything else must fit. */
static bool optional_claim(const cJSON *v, char *dst, size_t cap)
{
    return auth_copy_claim(v, dst, cap) != TC_EINVAL;
}

static const char *check_identity(const claims_t *c, tc_principal_t *p)
{
    int rc = auth_copy_claim(c->sub, p->sub, sizeof p->sub);
    if (rc)
        return rc == TC_ENOTFOUND ? "missing_claims" : "bad_claims";
    /* only the uses auth issues: an unknown one (id tokens, "refresh", …) is not an access
     * token, whatever else it carries */
    if (c->use && (!cJSON_IsString(c->use) || (strcmp(c->use->valuestring, "access") != 0 &&
                                               strcmp(c->use->valuestring, "service") != 0)))
        return "bad_claims";
    p->is_service = c->use && strcmp(c->use->valuestring, "service") == 0;
    /* a token auth minted for an API key: its scopes bound what it may do (tc_http) */
    if (c->ptype && (!cJSON_IsString(c->ptype) || (strcmp(c->ptype->valuestring, "user") != 0 &&
                                                   strcmp(c->ptype->valuestring, "api_key") != 0)))
        return "bad_claims";
    p->is_api_key = c->ptype && strcmp(c->ptype->valuestring, "api_key") == 0;
    if (p->is_api_key && p->is_service)
        return "bad_claims";
    /* an empty scope is a user token with no extra scopes; other claims must not be empty */
    if (!(c->scope && cJSON_IsString(c->scope) && !c->scope->valuestring[0]) &&
        !optional_claim(c->scope, p->scope, sizeof p->scope))
        return "bad_claims";
    if (!optional_claim(c->plan, p->plan, sizeof p->plan) ||
        !optional_claim(c->jti, p->jti, sizeof p->jti) ||
        !optional_claim(c->sid, p->sid, sizeof p->sid))
        return "bad_claims";
    if (!p->plan[0])
        memcpy(p->plan, "free", sizeof "free");
    if (p->is_service) {
        /* A service acts by scope; org is kept when present, role never applies. */
        if (!p->scope[0])
            return "missing_claims";
        return optional_claim(c->org, p->org, sizeof p->org) ? NULL : "bad_claims";
    }
    rc = auth_copy_claim(c->org, p->org, sizeof p->org);
    if (rc)
        return rc == TC_ENOTFOUND ? "missing_claims" : "bad_claims";
    if (!c->role)
        return "missing_claims";
    p->role = cJSON_IsString(c->role) ? tc_role_parse(c->role->valuestring) : TC_ROLE_NONE;
    return p->role == TC_ROLE_NONE ? "bad_role" : NULL;
}

static const char *check_claims(const tc_auth_t *a, const jws_t *j, int64_t now, tc_principal_t *p)
{
    claims_t c = {0};
    const char *why = NULL;
    cJSON *obj = auth_segment_json(j->payload, j->payload_len);
    if (!obj)
        return "malformed";
    if (claims_collect(obj, &c) != TC_OK)
        why = "malformed";
    if (!why)
        why = check_times(a, &c, now, p);
    if (!why && !(cJSON_IsString(c.iss) && strcmp(c.iss->valuestring, a->issuer) == 0))
        why = "bad_issuer";
    if (!why && !audience_ok(c.aud, a->audience))
        why = "bad_audience";
    if (!why)
        why = check_identity(&c, p);
    cJSON_Delete(obj);
    return why;
}

static const char *verify_uncached(tc_auth_t *a, const jws_t *j, int64_t now, tc_principal_t *p)
{
    char kid[KID_MAX];
    const char *why = check_header(j, kid);
    if (why)
        return why;
    EVP_PKEY *pkey = NULL;
    keyset_t *ks = auth_key_for(a, kid, &pkey, &why);
    if (!ks)
        return why;
    bool ok = rs256_verify(pkey, j);
    auth_keyset_release(ks);
    if (!ok)
        return "bad_signature";
    return check_claims(a, j, now, p);
}

static const char *verify(tc_auth_t *a, const char *token, tc_principal_t *p)
{
    jws_t j;
    size_t n = token ? strnlen(token, TOKEN_MAX + 1) : 0;
    if (!a || n == 0 || n > TOKEN_MAX) /* the bounds of tc_auth_lookup and jws_split */
        return "malformed";
    uint8_t hash[TC_SHA256_LEN];
    tc_sha256(token, n, hash);
    /* Read before verification starts: see keyset_install. */
    uint64_t epoch = atomic_load(&a->epoch);
    int64_t now = tc_now_ms() / 1000;
    /* Only a token that passed every check below is in the cache, so a hit needs no parsing
     * (the same reasoning as tc_auth_lookup): most requests carry a token seen before. */
    auth_cache_hit_t hit = auth_cache_get(a, hash, epoch, now, p);
    if (hit == AUTH_CACHE_HIT)
        return NULL;
    if (hit == AUTH_CACHE_EXPIRED)
        return "expired";
    if (jws_split(token, &j) != TC_OK)
        return "malformed";
    const char *why = verify_uncached(a, &j, now, p);
    if (!why)
        auth_cache_put(a, hash, epoch, p);
    return why;
}

int tc_jws_verify_rs256(const char *jwks_json, const char *token, cJSON **claims, const char **why)
{
    jws_t j;
    char kid[KID_MAX];
    keyset_t *ks = NULL;
    *claims = NULL;
    *why = "malformed";
    if (!jwks_json || !token || jws_split(token, &j) != TC_OK)
        return TC_EINVAL;
    /* a provider with one key may leave the kid out (OpenID Connect Core section 10.1) */
    bool no_kid = false;
    if ((*why = check_header(&j, kid)) && !(no_kid = strcmp(*why, "missing_kid") == 0))
        return TC_EINVAL;
    int rc = auth_keyset_parse(jwks_json, true, &ks);
    if (rc != TC_OK) {
        *why = rc == TC_ENOMEM ? "out_of_memory" : "no_usable_key";
        return rc;
    }
    EVP_PKEY *pkey = no_kid ? (ks->n == 1 ? ks->keys[0].pkey : NULL) : auth_keyset_find(ks, kid);
    if (!pkey)
        *why = no_kid ? "missing_kid" : "unknown_kid";
    else if (!rs256_verify(pkey, &j))
        *why = "bad_signature";
    else if (!(*claims = auth_segment_json(j.payload, j.payload_len)) || !cJSON_IsObject(*claims))
        *why = "malformed";
    else
        *why = NULL;
    auth_keyset_release(ks);
    if (*why) {
        cJSON_Delete(*claims);
        *claims = NULL;
        return TC_EINVAL;
    }
    return TC_OK;
}

int tc_auth_verify(tc_auth_t *a, const char *token, tc_principal_t *out, const char **why)
{
    tc_principal_t scratch;
    tc_principal_t *p = out ? out : &scratch;
    memset(p, 0, sizeof *p);
    const char *reason = verify(a, token, p);
    if (!reason && tc_revocations_refuse(atomic_load(&a->revoked), p))
        reason = "revoked";
    if (why)
        *why = reason;
    if (reason) /* nothing of a rejected token reaches the caller */
        memset(p, 0, sizeof *p);
    return reason ? TC_EINVAL : TC_OK;
}

int tc_auth_lookup(tc_auth_t *a, const char *token, tc_principal_t *out, const char **why)
{
    *why = NULL;
    memset(out, 0, sizeof *out);
    size_t n = token ? strnlen(token, TOKEN_MAX + 1) : 0;
    if (!a || n == 0 || n > TOKEN_MAX) {
        *why = "malformed";
        return TC_EINVAL;
    }
    /* No syntax check here: only a token that passed verify() can hash to a cache entry, and
     * anything else goes to tc_auth_verify, which checks everything. */
    uint8_t hash[TC_SHA256_LEN];
    tc_sha256(token, n, hash);
    switch (auth_cache_get(a, hash, atomic_load(&a->epoch), tc_now_ms() / 1000, out)) {
    case AUTH_CACHE_HIT:
        if (!tc_revocations_refuse(atomic_load(&a->revoked), out))
            return TC_OK;
        memset(out, 0, sizeof *out);
        *why = "revoked";
        return TC_EINVAL;
    case AUTH_CACHE_EXPIRED:
        *why = "expired";
        return TC_EINVAL;
    default:
        return TC_EAGAIN;
    }
}

void tc_auth_set_revocations(tc_auth_t *a, tc_revocations_t *r)
{
    atomic_store(&a->revoked, r);
}

/* ------------------------------------------------------------------------- lifecycle */

static bool opts_valid(const tc_auth_opts_t *o)
{
    if (!o || !o->issuer || !o->issuer[0] || !o->audience || !o->audience[0])
        return false;
    int url = o->jwks_url && o->jwks_url[0], file = o->jwks_file && o->jwks_file[0];
    if (o->manual)
        return !url && !file;
    return url != file; /* exactly one source, so there is no doubt which one is trusted */
}

static char *dup_or_null(const char *s)
{
    return s && s[0] ? strdup(s) : NULL;
}

static int auth_init(tc_auth_t *a, const tc_auth_opts_t *o)
{
    a->jwks_url = dup_or_null(o->jwks_url);
    a->jwks_file = dup_or_null(o->jwks_file);
    a->issuer = strdup(o->issuer);
    a->audience = strdup(o->audience);
    a->manual = o->manual;
    a->leeway_s = o->leeway_s > 0 ? o->leeway_s : (o->leeway_s < 0 ? 0 : 30);
    a->refresh_ms = o->refresh_interval_ms > 0 ? o->refresh_interval_ms : 300000;
    a->refetch_ms = o->refetch_min_interval_ms > 0 ? o->refetch_min_interval_ms : 10000;
    a->cache_n = o->cache_size ? o->cache_size : CACHE_DEFAULT;
    if (a->cache_n > CACHE_MAX)
        a->cache_n = CACHE_MAX;
    a->cache = calloc(a->cache_n, sizeof *a->cache);
    a->last_refetch_ms = NEVER;
    atomic_init(&a->epoch, 0);
    atomic_init(&a->next_refresh_ms, 0);
    pthread_mutex_init(&a->ks_mu, NULL);
    pthread_mutex_init(&a->reload_mu, NULL);
    pthread_cond_init(&a->reload_cv, NULL);
    for (int i = 0; i < CACHE_STRIPES; i++)
        pthread_mutex_init(&a->cache_mu[i], NULL);
    if (!a->issuer || !a->audience || !a->cache || (o->jwks_url && !a->jwks_url) ||
        (o->jwks_file && !a->jwks_file))
        return TC_ENOMEM;
    if (a->jwks_url) {
        /* Short, one retry: threads holding an unknown kid wait for this fetch. Fetches are
         * already rate-limited, so the breaker only needs to stay open briefly; a long open
         * period would delay picking up keys once the issuer is back. */
        tc_httpc_opts_t ho = {.connect_timeout_ms = 1000,
                              .timeout_ms = 2000,
                              .max_retries = 1,
                              .breaker_open_ms = 2000,
                              .pool_size = 2};
        a->http = tc_httpc_new(&ho);
        if (!a->http)
            return TC_ENOMEM;
    }
    return TC_OK;
}

tc_auth_t *tc_auth_new(const tc_auth_opts_t *opts)
{
    if (!opts_valid(opts)) {
        tc_log_kv(TC_LOG_ERROR, "invalid auth options", "reason",
                  "issuer, audience and exactly one of jwks_url/jwks_file required", NULL);
        return NULL;
    }
    tc_auth_t *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    if (auth_init(a, opts) != TC_OK) {
        tc_auth_free(a);
        return NULL;
    }
    /* A failed first load is not fatal: the issuer may start after us, and every verify
     * retries (rate-limited) until keys arrive. */
    auth_reload(a, RELOAD_EXPLICIT);
    return a;
}

void tc_auth_free(tc_auth_t *a)
{
    if (!a)
        return;
    auth_keyset_release(a->ks);
    for (int i = 0; i < CACHE_STRIPES; i++)
        pthread_mutex_destroy(&a->cache_mu[i]);
    pthread_cond_destroy(&a->reload_cv);
    pthread_mutex_destroy(&a->reload_mu);
    pthread_mutex_destroy(&a->ks_mu);
    free(a->cache);
    tc_httpc_free(a->http);
    free(a->jwks_url);
    free(a->jwks_file);
    free(a->issuer);
    free(a->audience);
    free(a);
}
