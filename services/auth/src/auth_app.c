/* The auth service's configuration and start-up wiring. */
#include "auth_app.h"
#include "dns_txt.h"
#include "saml_sp.h"
#include "passwords.h"
#include "signer.h"
#include "sso_model.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void read_limit(tc_config_t *cfg, const char *rate_name, const char *burst_name,
                       int64_t rate, int64_t burst, auth_limit_t *out)
{
    out->limit = tc_config_int(cfg, rate_name, rate, 1, 1000000);
    out->period_ms = 60000;
    out->burst = tc_config_int(cfg, burst_name, burst, 1, 1000000);
}

/* AUTH_SERVICE_CLIENTS: [{"client_id":"gateway","secret_sha256":"<hex>","scopes":["internal"]}]
 * The secrets are random and high-entropy, so a SHA-256 of each is enough to store. */
static void read_clients(auth_app_t *app, tc_config_t *cfg)
{
    const char *text = tc_config_secret(cfg, "AUTH_SERVICE_CLIENTS", "[]");
    cJSON *arr = cJSON_Parse(text);
    if (!cJSON_IsArray(arr)) {
        tc_config_fail(cfg, "AUTH_SERVICE_CLIENTS", "must be a JSON array");
        cJSON_Delete(arr);
        return;
    }
    const cJSON *c;
    cJSON_ArrayForEach(c, arr)
    {
        const char *id = tc_json_get_str(c, "client_id"),
                   *hex = tc_json_get_str(c, "secret_sha256");
        const cJSON *scopes = cJSON_GetObjectItemCaseSensitive(c, "scopes");
        auth_client_t *cl = &app->clients[app->nclients];
        if (app->nclients >= AUTH_MAX_CLIENTS || !id || strlen(id) >= sizeof cl->client_id ||
            !hex || strlen(hex) != 2 * TC_SHA256_LEN || !cJSON_IsArray(scopes) ||
            tc_hex_decode(hex, strlen(hex), cl->secret_sha256, sizeof cl->secret_sha256) !=
                TC_SHA256_LEN) {
            tc_config_fail(cfg, "AUTH_SERVICE_CLIENTS",
                           "each entry needs client_id, secret_sha256 (64 hex) and scopes");
            break;
        }
        app->nclients++;
        snprintf(cl->client_id, sizeof cl->client_id, "%s", id);
        size_t off = 0;
        const cJSON *s;
        cJSON_ArrayForEach(s, scopes)
        {
            if (cJSON_IsString(s) && off + strlen(s->valuestring) + 2 < sizeof cl->scopes)
                off += (size_t)snprintf(cl->scopes + off, sizeof cl->scopes - off, "%s%s",
                                        off ? " " : "", s->valuestring);
        }
    }
    cJSON_Delete(arr);
}

static void cfg_int(tc_config_t *cfg, const char *name, int def, int min, int max, int *out)
{
    *out = (int)tc_config_int(cfg, name, def, min, max);
}

/* Single sign-on: the redirect URI providers are told is the platform's public API. */
static void read_sso(auth_app_t *app, tc_config_t *cfg)
{
    static const char path[] = "/v1/auth/sso/oidc/callback", saml[] = "/v1/auth/sso/saml";
    const char *base = tc_config_str(cfg, "AUTH_PUBLIC_URL", "https://api.techcorp.com");
    app->sso_allow_private = tc_config_bool(cfg, "AUTH_SSO_ALLOW_PRIVATE", false);
    size_t n = strlen(base);
    while (n && base[n - 1] == '/')
        n--;
    if (!(app->sso_redirect_uri = malloc(n + sizeof path)))
        tc_config_fail(cfg, "AUTH_PUBLIC_URL", "out of memory");
    else
        snprintf(app->sso_redirect_uri, n + sizeof path, "%.*s%s", (int)n, base, path);
    if (!(app->sso_saml_base = malloc(n + sizeof saml)))
        tc_config_fail(cfg, "AUTH_PUBLIC_URL", "out of memory");
    else
        snprintf(app->sso_saml_base, n + sizeof saml, "%.*s%s", (int)n, base, saml);
    if (app->sso_redirect_uri && !sso_url_ok(app->sso_redirect_uri, app->sso_allow_private))
        tc_config_fail(cfg, "AUTH_PUBLIC_URL",
                       "must be an https URL (http only with AUTH_SSO_ALLOW_PRIVATE=true)");
    cfg_int(cfg, "AUTH_SSO_TIMEOUT_MS", 5000, 100, 60000, &app->sso_timeout_ms);
    cfg_int(cfg, "AUTH_SSO_LOGIN_TTL_SECONDS", 600, 60, 3600, &app->sso_login_ttl_s);
    cfg_int(cfg, "AUTH_SSO_GRANT_TTL_SECONDS", 60, 10, 600, &app->sso_grant_ttl_s);
    cfg_int(cfg, "AUTH_SSO_CLOCK_SKEW_SECONDS", 60, 0, 600, &app->sso_skew_s);
    cfg_int(cfg, "AUTH_SSO_MAX_CONNECTIONS", 10, 1, 100, &app->sso_max_connections);
    cfg_int(cfg, "AUTH_SAML_MAX_ASSERTION_AGE_SECONDS", 3600, 60, 86400, &app->saml_max_age_s);
    /* proofs of domain ownership: the system's resolvers unless one is named */
    app->dns.server = tc_config_opt(cfg, "AUTH_DNS_SERVER");
    if (app->dns.server && !dns_server_valid(app->dns.server))
        tc_config_fail(cfg, "AUTH_DNS_SERVER", "must be an IPv4 address, with :port if not 53");
    cfg_int(cfg, "AUTH_DNS_TIMEOUT_MS", 2000, 100, 10000, &app->dns.timeout_ms);
}

void auth_app_config(auth_app_t *app, tc_config_t *cfg)
{
    static const char *const modes[] = {"live", "test", NULL};
    memset(app, 0, sizeof *app);
    tc_config_key32(cfg, "DATA_KEK", app->kek);
    tc_config_key32(cfg, "EMAIL_INDEX_KEY", app->email_index_key);
    app->issuer = tc_config_str(cfg, "JWT_ISSUER", "techcorp-auth");
    app->audience = tc_config_str(cfg, "JWT_AUDIENCE", "techcorp-api");
    app->user_url = tc_config_str(cfg, "USER_URL", NULL);
    app->app_url = tc_config_str(cfg, "APP_URL", "https://app.techcorp.com");
    app->dev_key_file = tc_config_opt(cfg, "JWT_DEV_KEY_FILE");
    app->dev_kid = tc_config_opt(cfg, "JWT_DEV_KID");
    if (!app->dev_key_file != !app->dev_kid)
        tc_config_fail(cfg, "JWT_DEV_KID", "JWT_DEV_KEY_FILE and JWT_DEV_KID go together");

    session_policy_t *s = &app->sessions;
    cfg_int(cfg, "AUTH_ACCESS_TTL_SECONDS", 900, 60, 3600, &s->access_ttl_s);
    cfg_int(cfg, "AUTH_REFRESH_TTL_SECONDS", 7 * 86400, 3600, 90 * 86400, &s->refresh_ttl_s);
    cfg_int(cfg, "AUTH_SESSION_MAX", 5, 1, 100, &s->session_max);
    cfg_int(cfg, "AUTH_SESSION_IDLE_SECONDS", 8 * 3600, 60, 30 * 86400, &s->idle_s);
    cfg_int(cfg, "AUTH_SESSION_MAX_AGE_SECONDS", 24 * 3600, 60, 90 * 86400, &s->max_age_s);
    cfg_int(cfg, "AUTH_SERVICE_TOKEN_TTL_SECONDS", 300, 60, 3600, &app->service_ttl_s);
    cfg_int(cfg, "AUTH_APIKEY_TOKEN_TTL_SECONDS", 300, 60, 3600, &app->apikey_token_ttl_s);
    cfg_int(cfg, "AUTH_MFA_CHALLENGE_TTL_SECONDS", 300, 30, 3600, &app->mfa_challenge_ttl_s);
    cfg_int(cfg, "AUTH_MFA_ENROLMENT_TTL_SECONDS", 600, 60, 3600, &app->mfa_enrol_ttl_s);
    cfg_int(cfg, "AUTH_INVITATION_TTL_SECONDS", 7 * 86400, 3600, 30 * 86400, &app->invite_ttl_s);
    cfg_int(cfg, "AUTH_RESET_TTL_SECONDS", 3600, 300, 86400, &app->reset_ttl_s);
    cfg_int(cfg, "AUTH_KEY_REFRESH_MS", 30000, 1000, 3600000, &app->key_refresh_ms);
    cfg_int(cfg, "AUTH_KEY_ROTATION_HOURS", 720, 0, 87600, &app->key_rotation_h);
    cfg_int(cfg, "AUTH_RESET_QUEUE_MS", 500, 50, 60000, &app->reset_queue_ms);

    /* OWASP minimum by default: 19 MiB, 2 passes, 1 lane */
    app->argon2.m_kib =
        (uint32_t)tc_config_int(cfg, "AUTH_ARGON2_MEMORY_KIB", 19456, 7168, 4194304);
    app->argon2.t = (uint32_t)tc_config_int(cfg, "AUTH_ARGON2_ITERATIONS", 2, 1, 100);
    app->argon2.p = (uint32_t)tc_config_int(cfg, "AUTH_ARGON2_PARALLELISM", 1, 1, 16);
    if (!pw_params_ok(&app->argon2))
        tc_config_fail(cfg, "AUTH_ARGON2_MEMORY_KIB",
                       "memory and iterations are below OWASP's Argon2id minimums");

    read_limit(cfg, "AUTH_LOGIN_IP_PER_MINUTE", "AUTH_LOGIN_IP_BURST", 30, 10, &app->login_ip);
    read_limit(cfg, "AUTH_LOGIN_ACCOUNT_PER_MINUTE", "AUTH_LOGIN_ACCOUNT_BURST", 5, 5,
               &app->login_account);
    read_limit(cfg, "AUTH_MFA_PER_MINUTE", "AUTH_MFA_BURST", 5, 5, &app->mfa_user);
    read_limit(cfg, "AUTH_RESET_IP_PER_MINUTE", "AUTH_RESET_IP_BURST", 5, 5, &app->reset_ip);
    app->ratelimit_fail_open = tc_config_bool(cfg, "AUTH_RATELIMIT_FAIL_OPEN", true);
    if (tc_config_opt(cfg, "AUTH_TRUST_PROXY"))
        tc_log_kv(TC_LOG_WARN,
                  "AUTH_TRUST_PROXY is ignored: X-Forwarded-For is believed only "
                  "from the peers in TRUSTED_PROXIES",
                  NULL);
    app->api_key_mode = modes[tc_config_enum(cfg, "AUTH_API_KEY_MODE", modes, 0)];
    read_clients(app, cfg);
    read_sso(app, cfg);
}

int auth_app_init(auth_app_t *app, tc_service_t *svc)
{
    app->svc = svc;
    app->db = tc_service_db(svc);
    app->redis = tc_service_redis(svc);
    app->http = tc_service_httpc(svc);
    app->keys = tc_keyring_new(app->db, app->kek);
    tc_auth_opts_t vo = {.issuer = app->issuer, .audience = app->audience, .manual = 1};
    app->verifier = tc_auth_new(&vo);
    if (!app->keys || !app->verifier) {
        tc_auth_free(app->verifier);
        app->verifier = NULL;
        return TC_ENOMEM;
    }
    tc_service_set_auth(svc, app->verifier); /* protected routes verify against our own keys */
    app->signer = signer_new(app);
    if (!app->signer)
        return TC_ENOMEM;
    int rc = saml_sp_init();
    if (rc != TC_OK) {
        tc_log_kv(TC_LOG_ERROR, "lasso (SAML 2.0) could not start", NULL);
        return rc;
    }
    app->saml_ready = true;
    rc = signer_load(app->signer);
    if (rc != TC_OK) {
        tc_log_kv(TC_LOG_ERROR, "signing keys could not be loaded", "error", tc_strerror(rc), NULL);
        return rc;
    }
    /* an unknown email is checked against this, so it costs what a real check costs */
    return pw_hash(&app->argon2, "no such account: equal timing", app->dummy_hash,
                   sizeof app->dummy_hash);
}

void auth_app_free(auth_app_t *app)
{
    signer_free(app->signer);
    free(app->sso_redirect_uri);
    free(app->sso_saml_base);
    if (app->saml_ready)
        saml_sp_shutdown();
    tc_keyring_free(app->keys);
    OPENSSL_cleanse(app->kek, sizeof app->kek);
    OPENSSL_cleanse(app->email_index_key, sizeof app->email_index_key);
}
