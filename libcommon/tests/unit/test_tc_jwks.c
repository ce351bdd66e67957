/* tc_jwks: key sets from a file or an URL — rotation, refetch limits, periodic refresh,
 * failed reloads, unusable keys, concurrency. */
#include "../auth_fixture.h"

TestSuite(auth, .init = setup, .fini = teardown, .timeout = 60);

/* The issuer verifies its own tokens against the keys it installs (no fetching). */
Test(auth, manual_key_set)
{
    tc_auth_opts_t o = {.issuer = ISS, .audience = AUD, .manual = 1};
    tc_auth_t *a = tc_auth_new(&o);
    cr_assert_not_null(a);
    cr_assert_eq(tc_auth_key_count(a), 0);
    char *tok = sign(user_claims());
    expect_reject(a, tok, "no_keys");
    EVP_PKEY *keys[] = {g_key1};
    const char *kids[] = {"k1"};
    char *jwks = jwks_text(keys, kids, 1);
    cr_assert_eq(tc_auth_set_jwks(a, jwks), TC_OK);
    cr_assert_eq(tc_auth_key_count(a), 1);
    expect_ok(a, tok, NULL);
    cr_assert_eq(tc_auth_set_jwks(a, "{\"keys\":[]}"), TC_EINVAL, "an empty set is refused");
    expect_ok(a, tok, NULL);
    tc_auth_free(a);
    tc_auth_t *fetching = auth_default();
    cr_assert_eq(tc_auth_set_jwks(fetching, jwks), TC_EINVAL, "only manual verifiers take keys");
    tc_auth_free(fetching);
    tc_auth_opts_t bad = {.issuer = ISS, .audience = AUD, .manual = 1, .jwks_file = g_jwks};
    cr_assert_null(tc_auth_new(&bad), "manual excludes a JWKS source");
    free(jwks);
    free(tok);
}

/* ------------------------------------------------------------------------- rotation */

Test(auth, rotation_refetches_on_unknown_kid)
{
    tc_auth_t *a = auth_default();
    char *old = sign(user_claims());
    expect_ok(a, old, NULL);

    EVP_PKEY *key2 = new_rsa(2048);
    write_jwks(&key2, (const char *const[]){"k2"}, 1);
    char *fresh = sign_with(key2, "k2", user_claims());
    expect_ok(a, fresh, NULL);
    cr_assert_eq(tc_auth_key_count(a), 1);
    /* k1 was withdrawn: its cached token stops verifying too. */
    expect_reject(a, old, "unknown_kid");

    free(old);
    free(fresh);
    EVP_PKEY_free(key2);
    tc_auth_free(a);
}

Test(auth, unknown_kid_refetch_is_rate_limited)
{
    tc_auth_t *a = auth_with(60000, 0, 0);
    EVP_PKEY *key2 = new_rsa(2048);
    char *t2 = sign_with(key2, "k2", user_claims());
    expect_reject(a, t2, "unknown_kid"); /* refetched once: not there yet */
    write_jwks((EVP_PKEY *const[]){g_key1, key2}, (const char *const[]){"k1", "k2"}, 2);
    expect_reject(a, t2, "unknown_kid"); /* within the interval: no refetch */
    cr_assert_eq(tc_auth_key_count(a), 1);
    cr_assert_eq(tc_auth_reload(a), TC_OK);
    cr_assert_eq(tc_auth_key_count(a), 2);
    expect_ok(a, t2, NULL);
    free(t2);
    EVP_PKEY_free(key2);
    tc_auth_free(a);
}

Test(auth, periodic_refresh)
{
    EVP_PKEY *key2 = new_rsa(2048);
    tc_auth_t *a = auth_with(60000, 300, 0);
    write_jwks((EVP_PKEY *const[]){g_key1, key2}, (const char *const[]){"k1", "k2"}, 2);
    char *t1 = sign(user_claims());
    expect_ok(a, t1, NULL);
    cr_assert_eq(tc_auth_key_count(a), 1);
    tc_sleep_ms(400);
    cJSON *c = user_claims();
    set_str(c, "jti", "jti_other"); /* a different token: not cached, so it needs the keys */
    char *t1b = sign(c);
    expect_ok(a, t1b, NULL);
    cr_assert_eq(tc_auth_key_count(a), 2);
    free(t1);
    free(t1b);
    EVP_PKEY_free(key2);
    tc_auth_free(a);
}

Test(auth, failed_reload_keeps_old_keys)
{
    tc_auth_t *a = auth_default();
    write_text(g_jwks, "{\"keys\": [ this is not json");
    cr_assert_neq(tc_auth_reload(a), TC_OK);
    cr_assert_eq(tc_auth_key_count(a), 1);
    write_text(g_jwks, "{\"keys\": []}");
    cr_assert_neq(tc_auth_reload(a), TC_OK);
    cr_assert_eq(tc_auth_key_count(a), 1);
    char *tok = sign(user_claims());
    expect_ok(a, tok, NULL);
    free(tok);
    tc_auth_free(a);
}

Test(auth, jwks_skips_unusable_keys)
{
    EVP_PKEY *small = new_rsa(1024), *key2 = new_rsa(2048);
    cJSON *root = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(root, "keys");
    cJSON *weak = tc_jwk_from_pkey(small, "weak");
    cJSON *enc = tc_jwk_from_pkey(key2, "enc");
    set_str(enc, "use", "enc");
    cJSON *rs512 = tc_jwk_from_pkey(key2, "rs512");
    set_str(rs512, "alg", "RS512");
    cJSON *ec =
        cJSON_Parse("{\"kty\":\"EC\",\"kid\":\"ec\",\"crv\":\"P-256\",\"x\":\"AA\",\"y\":\"AA\"}");
    cJSON *good = tc_jwk_from_pkey(g_key1, "k1");
    cJSON *nokid = tc_jwk_from_pkey(key2, NULL);
    cJSON *items[] = {weak, enc, rs512, ec, good, nokid};
    for (size_t i = 0; i < TC_ARRAY_LEN(items); i++) {
        cr_assert_not_null(items[i]);
        cJSON_AddItemToArray(arr, items[i]);
    }
    char *text = cJSON_PrintUnformatted(root);
    write_text(g_jwks, text);
    cJSON_free(text);
    cJSON_Delete(root);

    tc_auth_t *a = auth_default();
    cr_assert_eq(tc_auth_key_count(a), 1);
    char *tok = sign_with(small, "weak", user_claims());
    expect_reject(a, tok, "unknown_kid");
    free(tok);
    tok = sign_with(key2, "rs512", user_claims());
    expect_reject(a, tok, "unknown_kid");
    free(tok);
    tc_auth_free(a);
    EVP_PKEY_free(small);
    EVP_PKEY_free(key2);
}

Test(auth, no_keys)
{
    char missing[320];
    snprintf(missing, sizeof missing, "%s/absent.json", g_dir);
    tc_auth_opts_t o = {.jwks_file = missing, .issuer = ISS, .audience = AUD};
    tc_auth_t *a = tc_auth_new(&o);
    cr_assert_not_null(a);
    cr_assert_eq(tc_auth_key_count(a), 0);
    char *tok = sign(user_claims());
    expect_reject(a, tok, "no_keys");
    free(tok);
    tc_auth_free(a);
}

/* ------------------------------------------------------------------------- concurrency */

typedef struct {
    tc_auth_t *a;
    char **toks;
    int ntoks;
    int ok;
} verifier_t;

static void *verifier(void *arg)
{
    verifier_t *v = arg;
    for (int i = 0; i < 400; i++) {
        tc_principal_t p;
        const char *why;
        if (tc_auth_verify(v->a, v->toks[i % v->ntoks], &p, &why) == TC_OK)
            v->ok++;
    }
    return NULL;
}

Test(auth, concurrent_verify_during_reloads)
{
    enum { THREADS = 6, TOKS = 24 };
    tc_auth_t *a = auth_with(1, 0, 8);
    char *toks[TOKS];
    char sub[32];
    for (int i = 0; i < TOKS; i++) {
        cJSON *c = user_claims();
        snprintf(sub, sizeof sub, "usr_%d", i);
        set_str(c, "sub", sub);
        toks[i] = sign(c);
    }
    pthread_t th[THREADS];
    verifier_t v[THREADS];
    for (int i = 0; i < THREADS; i++) {
        v[i] = (verifier_t){.a = a, .toks = toks, .ntoks = TOKS};
        cr_assert_eq(pthread_create(&th[i], NULL, verifier, &v[i]), 0);
    }
    for (int i = 0; i < 20; i++)
        cr_assert_eq(tc_auth_reload(a), TC_OK);
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        cr_assert_eq(v[i].ok, 400);
    }
    for (int i = 0; i < TOKS; i++)
        free(toks[i]);
    tc_auth_free(a);
}

/* ------------------------------------------------------------------------- JWKS over HTTP */

static pthread_mutex_t g_served_mu = PTHREAD_MUTEX_INITIALIZER;
static char *g_served;
static atomic_int g_jwks_hits;

static enum MHD_Result serve_jwks(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *data_size, void **state)
{
    (void)cls;
    (void)version;
    (void)data;
    (void)data_size;
    (void)state;
    if (strcmp(method, "GET") != 0)
        return MHD_NO;
    int found = strcmp(url, "/.well-known/jwks.json") == 0;
    if (found)
        atomic_fetch_add(&g_jwks_hits, 1);
    pthread_mutex_lock(&g_served_mu);
    const char *body = found && g_served ? g_served : "{\"error\":\"not_found\"}";
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    pthread_mutex_unlock(&g_served_mu);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ok = MHD_queue_response(conn, found ? 200 : 404, r);
    MHD_destroy_response(r);
    return ok;
}

static void serve(char *text)
{
    pthread_mutex_lock(&g_served_mu);
    cJSON_free(g_served);
    g_served = text;
    pthread_mutex_unlock(&g_served_mu);
}

Test(auth, jwks_over_http)
{
    serve(jwks_text(&g_key1, (const char *const[]){"k1"}, 1));
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d =
        MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, serve_jwks, NULL,
                         MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_END);
    cr_assert_not_null(d);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    cr_assert_not_null(info);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/.well-known/jwks.json", (unsigned)info->port);

    tc_auth_opts_t o = {
        .jwks_url = url, .issuer = ISS, .audience = AUD, .refetch_min_interval_ms = 1};
    tc_auth_t *a = tc_auth_new(&o);
    cr_assert_not_null(a);
    cr_assert_eq(tc_auth_key_count(a), 1);
    cr_assert_eq(atomic_load(&g_jwks_hits), 1);
    char *tok = sign(user_claims());
    tc_principal_t p;
    expect_ok(a, tok, &p);
    cr_assert_str_eq(p.org, "org_01TESTORG");
    free(tok);

    /* Rotation through the URL. */
    EVP_PKEY *key2 = new_rsa(2048);
    serve(jwks_text((EVP_PKEY *const[]){g_key1, key2}, (const char *const[]){"k1", "k2"}, 2));
    tok = sign_with(key2, "k2", user_claims());
    expect_ok(a, tok, NULL);
    cr_assert_eq(tc_auth_key_count(a), 2);
    cr_assert_eq(atomic_load(&g_jwks_hits), 2);
    free(tok);

    /* The issuer going away does not lose the keys we have. */
    MHD_stop_daemon(d);
    cr_assert_neq(tc_auth_reload(a), TC_OK);
    cr_assert_eq(tc_auth_key_count(a), 2);
    tok = sign(user_claims());
    expect_ok(a, tok, NULL);
    free(tok);

    tc_auth_free(a);
    EVP_PKEY_free(key2);
    serve(NULL);
}
