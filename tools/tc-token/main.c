/*
 * tc-token: developer signing keys and access tokens for the local stack and the tests.
 *
 *   tc-token keygen --key PATH --jwks PATH [--kid ID] [--force]
 *       RSA-2048 private key (PEM, mode 0600) and a JWKS file with its public JWK.
 *       Prints the kid. Refuses to overwrite an existing key unless --force.
 *
 *   tc-token mint --key PATH --kid ID --sub SUB [--org ORG] [--role ROLE] [--scope "a b"]
 *                 [--plan PLAN] [--service] [--ttl SECONDS] [--iss ISS] [--aud AUD]
 *                 [--claim NAME=VALUE]...
 *       Prints an RS256 access token (DESIGN section 6): sub, org, role, scope, plan, iss, aud,
 *       iat, nbf, exp, jti, and token_use "service" with --service. --ttl defaults to 900 and
 *       may be negative (an already expired token, for tests). iss and aud default to
 *       $JWT_ISSUER / $JWT_AUDIENCE, else "techcorp-auth" / "techcorp-api". --claim adds or
 *       overrides a claim; VALUE is parsed as JSON when it is valid JSON, else taken as a
 *       string (negative tests: --claim role=superuser, --claim 'aud=["x","y"]').
 *
 * Exit status: 0 success, 1 failure, 2 usage error.
 */
#include "tc/tc_auth.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define EXIT_USAGE 2
#define RSA_BITS   2048

static void usage(FILE *out)
{
    fputs("usage:\n"
          "  tc-token keygen --key PATH --jwks PATH [--kid ID] [--force]\n"
          "  tc-token mint --key PATH --kid ID --sub SUB [--org ORG] [--role ROLE]\n"
          "                [--scope \"a b\"] [--plan PLAN] [--service] [--ttl SECONDS]\n"
          "                [--iss ISS] [--aud AUD] [--claim NAME=VALUE]...\n"
          "\n"
          "keygen  writes an RSA-2048 private key (PEM, 0600) and a JWKS with its public key,\n"
          "        prints the kid (default dev-<random>)\n"
          "mint    prints an RS256 access token; --ttl defaults to 900 s, iss/aud default to\n"
          "        $JWT_ISSUER/$JWT_AUDIENCE or techcorp-auth/techcorp-api; roles: viewer,\n"
          "        editor, admin, owner\n",
          out);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("tc-token: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\n", stderr);
    va_end(ap);
    fputs("tc-token: run 'tc-token --help' for usage\n", stderr);
    return EXIT_USAGE;
}

static void print_openssl_errors(void)
{
    unsigned long e;
    char buf[256];
    while ((e = ERR_get_error()) != 0) {
        ERR_error_string_n(e, buf, sizeof buf);
        fprintf(stderr, "tc-token:   %s\n", buf);
    }
}

/*
 * Creates `path` with `mode` through a temp file in the same directory and rename(2), so a
 * reader never sees half a file. `write_fn` writes the content to the open stream.
 */
typedef int (*write_fn_t)(FILE *f, const void *ctx);

static int write_file_atomic(const char *path, mode_t mode, write_fn_t write_fn, const void *ctx)
{
    char tmp[PATH_MAX];
    int n = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof tmp) {
        fprintf(stderr, "tc-token: path too long: %s\n", path);
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        fprintf(stderr, "tc-token: cannot create %s: %s\n", tmp, strerror(errno));
        return -1;
    }
    FILE *f = fdopen(fd, "w");
    if (!f) {
        fprintf(stderr, "tc-token: fdopen %s: %s\n", tmp, strerror(errno));
        close(fd);
        goto fail;
    }
    /* The umask may have narrowed the mode; set exactly what was asked. */
    if (fchmod(fd, mode) != 0 || write_fn(f, ctx) != 0 || fflush(f) != 0 || fsync(fd) != 0) {
        fprintf(stderr, "tc-token: cannot write %s: %s\n", tmp, strerror(errno));
        fclose(f);
        goto fail;
    }
    if (fclose(f) != 0) {
        fprintf(stderr, "tc-token: cannot write %s: %s\n", tmp, strerror(errno));
        goto fail;
    }
    if (rename(tmp, path) != 0) {
        fprintf(stderr, "tc-token: cannot rename %s to %s: %s\n", tmp, path, strerror(errno));
        goto fail;
    }
    return 0;
fail:
    unlink(tmp);
    return -1;
}

static int write_pem(FILE *f, const void *ctx)
{
    EVP_PKEY *key = (EVP_PKEY *)ctx;
    if (PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) != 1) {
        print_openssl_errors();
        return -1;
    }
    return 0;
}

static int write_text(FILE *f, const void *ctx)
{
    const char *text = ctx;
    if (fputs(text, f) < 0 || fputc('\n', f) == EOF)
        return -1;
    return 0;
}

/* ----------------------------------------------------------------------------- keygen */

static int cmd_keygen(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"key", required_argument, NULL, 'k'}, {"jwks", required_argument, NULL, 'j'},
        {"kid", required_argument, NULL, 'i'}, {"force", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},      {NULL, 0, NULL, 0},
    };
    const char *key_path = NULL, *jwks_path = NULL, *kid_arg = NULL;
    int force = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'k':
            key_path = optarg;
            break;
        case 'j':
            jwks_path = optarg;
            break;
        case 'i':
            kid_arg = optarg;
            break;
        case 'f':
            force = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default: /* getopt has said what was wrong */
            fputs("tc-token: run 'tc-token --help' for usage\n", stderr);
            return EXIT_USAGE;
        }
    }
    if (optind < argc)
        return usage_error("keygen: unexpected argument '%s'", argv[optind]);
    if (!key_path || !jwks_path)
        return usage_error("keygen: --key and --jwks are required");
    if (kid_arg && (!kid_arg[0] || strlen(kid_arg) > 64))
        return usage_error("keygen: --kid must be 1..64 characters");
    if (!force && access(key_path, F_OK) == 0) {
        fprintf(stderr, "tc-token: %s exists; not overwriting a signing key (use --force)\n",
                key_path);
        return 1;
    }

    int rc = 1;
    EVP_PKEY *key = NULL;
    cJSON *jwks = NULL;
    char *jwks_text = NULL;
    char kid[80];

    if (kid_arg) {
        snprintf(kid, sizeof kid, "%s", kid_arg);
    } else {
        char rnd[32];
        if (tc_random_token("", 9, rnd, sizeof rnd) != TC_OK) {
            fprintf(stderr, "tc-token: random generator failed\n");
            goto out;
        }
        snprintf(kid, sizeof kid, "dev-%s", rnd);
    }

    key = EVP_RSA_gen(RSA_BITS);
    if (!key) {
        fprintf(stderr, "tc-token: RSA key generation failed\n");
        print_openssl_errors();
        goto out;
    }
    cJSON *jwk = tc_jwk_from_pkey(key, kid);
    if (!jwk) {
        fprintf(stderr, "tc-token: cannot build the JWK\n");
        goto out;
    }
    jwks = cJSON_CreateObject();
    cJSON *keys = jwks ? cJSON_AddArrayToObject(jwks, "keys") : NULL;
    if (!keys) {
        cJSON_Delete(jwk);
        fprintf(stderr, "tc-token: out of memory\n");
        goto out;
    }
    cJSON_AddItemToArray(keys, jwk);
    jwks_text = cJSON_Print(jwks);
    if (!jwks_text) {
        fprintf(stderr, "tc-token: out of memory\n");
        goto out;
    }
    /* Key first: a JWKS without its private key is useless, the reverse is recoverable. */
    if (write_file_atomic(key_path, 0600, write_pem, key) != 0)
        goto out;
    if (write_file_atomic(jwks_path, 0644, write_text, jwks_text) != 0)
        goto out;
    printf("%s\n", kid);
    rc = fflush(stdout) == 0 ? 0 : 1;
out:
    cJSON_free(jwks_text);
    cJSON_Delete(jwks);
    EVP_PKEY_free(key);
    return rc;
}

/* ------------------------------------------------------------------------------- mint */

static int parse_long(const char *s, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || !end || end == s || *end)
        return -1;
    *out = v;
    return 0;
}

/* Adds or replaces a claim from "NAME=VALUE" (VALUE as JSON when it parses, else string). */
static int add_claim_arg(cJSON *claims, const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg)
        return -1;
    char name[128];
    size_t nlen = (size_t)(eq - arg);
    if (nlen >= sizeof name)
        return -1;
    memcpy(name, arg, nlen);
    name[nlen] = '\0';
    const char *value = eq + 1;
    cJSON *item = value[0] ? cJSON_Parse(value) : NULL;
    if (!item)
        item = cJSON_CreateString(value);
    if (!item)
        return -1;
    cJSON_DeleteItemFromObjectCaseSensitive(claims, name);
    cJSON_AddItemToObject(claims, name, item);
    return 0;
}

static int set_string(cJSON *claims, const char *name, const char *value)
{
    return cJSON_AddStringToObject(claims, name, value) ? 0 : -1;
}

static int set_number(cJSON *claims, const char *name, long long value)
{
    return cJSON_AddNumberToObject(claims, name, (double)value) ? 0 : -1;
}

static int cmd_mint(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"key", required_argument, NULL, 'k'},  {"kid", required_argument, NULL, 'i'},
        {"sub", required_argument, NULL, 's'},  {"org", required_argument, NULL, 'o'},
        {"role", required_argument, NULL, 'r'}, {"scope", required_argument, NULL, 'S'},
        {"plan", required_argument, NULL, 'p'}, {"service", no_argument, NULL, 'v'},
        {"ttl", required_argument, NULL, 't'},  {"iss", required_argument, NULL, 'I'},
        {"aud", required_argument, NULL, 'a'},  {"claim", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0},
    };
    const char *key_path = NULL, *kid = NULL, *sub = NULL, *org = NULL, *role = NULL;
    const char *scope = NULL, *plan = NULL, *iss = NULL, *aud = NULL;
    const char *extra[32];
    int n_extra = 0, service = 0, c;
    long ttl = 900;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'k':
            key_path = optarg;
            break;
        case 'i':
            kid = optarg;
            break;
        case 's':
            sub = optarg;
            break;
        case 'o':
            org = optarg;
            break;
        case 'r':
            role = optarg;
            break;
        case 'S':
            scope = optarg;
            break;
        case 'p':
            plan = optarg;
            break;
        case 'v':
            service = 1;
            break;
        case 't':
            if (parse_long(optarg, &ttl) != 0 || ttl == 0 || ttl > 366L * 86400 ||
                ttl < -366L * 86400)
                return usage_error("mint: --ttl must be a non-zero number of seconds, not '%s'",
                                   optarg);
            break;
        case 'I':
            iss = optarg;
            break;
        case 'a':
            aud = optarg;
            break;
        case 'c':
            if (n_extra >= (int)TC_ARRAY_LEN(extra))
                return usage_error("mint: too many --claim options");
            if (!strchr(optarg, '=') || optarg[0] == '=')
                return usage_error("mint: --claim wants NAME=VALUE, not '%s'", optarg);
            extra[n_extra++] = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default: /* getopt has said what was wrong */
            fputs("tc-token: run 'tc-token --help' for usage\n", stderr);
            return EXIT_USAGE;
        }
    }
    if (optind < argc)
        return usage_error("mint: unexpected argument '%s'", argv[optind]);
    if (!key_path || !kid || !sub)
        return usage_error("mint: --key, --kid and --sub are required");
    if (!kid[0] || !sub[0])
        return usage_error("mint: --kid and --sub must not be empty");
    if (role && tc_role_parse(role) == TC_ROLE_NONE)
        return usage_error("mint: unknown role '%s' (viewer, editor, admin, owner)", role);
    if (!iss)
        iss = getenv("JWT_ISSUER") && getenv("JWT_ISSUER")[0] ? getenv("JWT_ISSUER")
                                                              : "techcorp-auth";
    if (!aud)
        aud = getenv("JWT_AUDIENCE") && getenv("JWT_AUDIENCE")[0] ? getenv("JWT_AUDIENCE")
                                                                  : "techcorp-api";

    int rc = 1;
    EVP_PKEY *key = NULL;
    cJSON *claims = NULL;
    char *token = NULL;
    char jti[TC_ID_MAX];

    key = tc_pkey_load_pem(key_path);
    if (!key) {
        fprintf(stderr, "tc-token: cannot load a private key from %s\n", key_path);
        goto out;
    }
    if (tc_id_new("jti", jti, sizeof jti) != TC_OK) {
        fprintf(stderr, "tc-token: cannot generate a jti\n");
        goto out;
    }
    long long now = (long long)time(NULL);
    claims = cJSON_CreateObject();
    if (!claims)
        goto oom;
    if (set_string(claims, "sub", sub) != 0)
        goto oom;
    if (org && set_string(claims, "org", org) != 0)
        goto oom;
    if (role && set_string(claims, "role", role) != 0)
        goto oom;
    if (scope && set_string(claims, "scope", scope) != 0)
        goto oom;
    if (plan && set_string(claims, "plan", plan) != 0)
        goto oom;
    if (service && set_string(claims, "token_use", "service") != 0)
        goto oom;
    if (set_string(claims, "iss", iss) != 0 || set_string(claims, "aud", aud) != 0 ||
        set_number(claims, "iat", now) != 0 || set_number(claims, "nbf", now) != 0 ||
        set_number(claims, "exp", now + ttl) != 0 || set_string(claims, "jti", jti) != 0)
        goto oom;
    for (int i = 0; i < n_extra; i++)
        if (add_claim_arg(claims, extra[i]) != 0)
            goto oom;

    int src = tc_jwt_sign_rs256(key, kid, claims, &token);
    if (src != TC_OK || !token) {
        fprintf(stderr, "tc-token: signing failed: %s\n", tc_strerror(src));
        goto out;
    }
    printf("%s\n", token);
    rc = fflush(stdout) == 0 ? 0 : 1;
    goto out;
oom:
    fprintf(stderr, "tc-token: out of memory\n");
out:
    free(token);
    cJSON_Delete(claims);
    EVP_PKEY_free(key);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "keygen") == 0)
        return cmd_keygen(argc - 1, argv + 1);
    if (strcmp(cmd, "mint") == 0)
        return cmd_mint(argc - 1, argv + 1);
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    return usage_error("unknown command '%s'", cmd);
}
