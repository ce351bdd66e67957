/*
 * connector_model.h: the connector catalog and the pure half of running an action, without
 * I/O (connector_run.c does the calls). A connector is a declarative definition
 * (proto/connectors/README.md): its settings and credentials schemas, how credentials
 * authenticate, and its actions. From a definition, a connection's settings and opened
 * credentials, and an input, this module builds the exact HTTP request an action sends; it
 * also reads what vendors answer (OAuth token responses, Retry-After) and picks the part of an
 * answer an action returns. Times are passed in, so every rule is testable without a clock.
 */
#ifndef HUB_CONNECTOR_MODEL_H
#define HUB_CONNECTOR_MODEL_H

#include "tc/tc_json.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------ the catalog */
typedef enum {
    HUB_AUTH_NONE,
    HUB_AUTH_API_KEY,
    HUB_AUTH_BEARER,
    HUB_AUTH_BASIC,
    HUB_AUTH_OAUTH2_CC, /* OAuth 2.0 client credentials (RFC 6749 §4.4) */
} hub_auth_kind_t;

typedef struct {
    const char *id; /* borrowed from def */
    cJSON *def;     /* owned: the definition as loaded */
    hub_auth_kind_t auth;
    bool base_fixed; /* base_url is a fixed URL, which a connection may override */
} hub_connector_t;

typedef struct {
    hub_connector_t *items; /* sorted by id */
    size_t n;
} hub_catalog_t;

/* One definition file: its name ("slack.json") and text (tc-embed --files makes the array). */
typedef struct tc_embedded_file {
    const char *name;
    const char *text;
} hub_connector_file_t;

/* The definitions compiled into the binary (generated from the files of proto/connectors). */
extern const hub_connector_file_t hub_connector_files[];
extern const size_t hub_connector_files_count;

/* Loads and checks every definition (the rules of proto/connectors/README.md). TC_EINVAL with
 * the first problem in err: the catalog is part of the build, so a bad one stops the hub. */
int hub_catalog_load(hub_catalog_t *cat, const hub_connector_file_t *files, size_t n, char *err,
                     size_t errlen);
void hub_catalog_free(hub_catalog_t *cat);
const hub_connector_t *hub_catalog_find(const hub_catalog_t *cat, const char *id);

/* The catalog's categories; NULL-terminated. */
extern const char *const HUB_CATEGORIES[];
bool hub_category_known(const char *category);

/* Does the connector match a search (q: case-insensitive substring of id, name or
 * description; category: exact)? NULL means any. */
bool hub_connector_matches(const hub_connector_t *c, const char *q, const char *category);
/* {id, name, category, description, docs_url, auth_type, actions: [names]} */
cJSON *hub_connector_summary(const hub_connector_t *c);
/* Everything a console needs to render a connection form and action forms. */
cJSON *hub_connector_detail(const hub_connector_t *c);
/* The action's definition, NULL when the connector has none of that name. */
const cJSON *hub_connector_action(const hub_connector_t *c, const char *name);
/* The action POST …/test runs, NULL when none. */
const char *hub_connector_test_action(const hub_connector_t *c);

/* ------------------------------------------------------------------ connections */
#define HUB_CONN_NAME_MAX 200

/* A connection body's fields, borrowed from the JSON. */
typedef struct {
    const hub_connector_t *connector;
    const char *name;
    const cJSON *settings;    /* object */
    const cJSON *credentials; /* object */
    const char *base_url;     /* override of a fixed base URL; NULL: none */
    bool has_name, has_settings, has_credentials, has_base_url;
} hub_connection_in_t;

/*
 * Validates a create body (connector required; name required; settings, credentials default
 * {}) or a PATCH body (of a connection of `current`; settings and credentials replace the
 * whole objects). Settings and credentials are checked against the connector's schemas; a
 * base_url override is for connectors with a fixed base URL only. A PATCH that moves where
 * the stored credentials go (base_url, or the settings a base or token URL comes from) must
 * give them again (has_credentials: the connection holds some): otherwise any admin could send
 * another's secrets to an address of their choosing. Problems go into jv.
 */
void hub_connection_validate(tc_jv_t *jv, const hub_catalog_t *cat, const cJSON *body,
                             const hub_connector_t *current, bool has_credentials,
                             hub_connection_in_t *out);

/* {field: hint} for each credential: "…" and the last 4 characters of values of 12 or more
 * characters, "…" alone for shorter ones (a short secret's tail is most of it). */
cJSON *hub_credentials_hint(const cJSON *credentials);

/* ------------------------------------------------------------------ building a call */
/* What a connection brings to a call. */
typedef struct {
    const cJSON *settings;
    const cJSON *credentials; /* opened */
    const char *base_url;     /* the connection's override, or NULL */
    const char *access_token; /* OAuth: the current token */
    const char *idempotency_key;
} hub_conn_view_t;

#define HUB_CALL_HEADERS_MAX 48

typedef struct {
    const char *method; /* static */
    char *url;
    char *headers[HUB_CALL_HEADERS_MAX + 1]; /* "Name: value", NULL-terminated */
    int nheaders;
    char *body; /* NULL: none */
    size_t body_len;
    int max_attempts;
    const char *output; /* JSON Pointer into the answer, borrowed; NULL: the whole answer */
} hub_call_t;

void hub_call_free(hub_call_t *call);

/*
 * The request an action sends: the input is checked against the action's schema and the
 * path, query and header rules (problems into jv under "input…", then TC_EINVAL); the URL must
 * stay under the base URL. TC_EINVAL without a jv entry when the connection itself lacks what
 * the base URL names (a setting or credential); TC_ENOMEM.
 */
int hub_call_build(const hub_connector_t *c, const cJSON *action, const hub_conn_view_t *conn,
                   const cJSON *input, tc_jv_t *jv, hub_call_t *out);

/* The token request of an OAuth client-credentials connector: POST to its token URL,
 * form-encoded grant_type (and scope), the client authenticated by HTTP Basic (RFC 6749
 * §2.3.1: both parts form-encoded first). */
int hub_oauth_token_call(const hub_connector_t *c, const hub_conn_view_t *conn, hub_call_t *out);

/* Reads a token response: access_token (required, bearer token type or none) and
 * expires_in (default 3600 when absent). TC_EINVAL with why when it is not one. *token is
 * malloc'd. */
int hub_oauth_token_parse(const char *body, size_t n, char **token, int64_t *expires_in,
                          const char **why);

/* When a token obtained at now_ms with expires_in seconds should be replaced: a minute before
 * it expires, or halfway for tokens of under two minutes. */
int64_t hub_oauth_refresh_at(int64_t now_ms, int64_t expires_in);

/* ------------------------------------------------------------------ answers and retries */
#define HUB_RETRY_AFTER_MAX_MS 10000 /* a longer wait gives the answer back to the caller */

/* Is the status one another attempt may cure (429, 502, 503, 504)? */
bool hub_status_retryable(long status);
/* The wait a Retry-After value asks for (delay-seconds or an HTTP-date), in ms; -1 when absent
 * or unreadable. */
int64_t hub_retry_after_ms(const char *value, int64_t now_ms);
/* Backoff before attempt `next` (2-based) without Retry-After: 200 ms doubling, capped 2 s. */
int hub_backoff_ms(int next);

/* Did a parse that stopped at end consume the whole text up to limit (whitespace aside)? cJSON
 * stops after the first value: "404 page not found" would parse as 404. */
bool hub_json_whole(const char *end, const char *limit);

/* RFC 6901: the value a pointer names ("" is the whole document); NULL when none. */
const cJSON *hub_json_pointer(const cJSON *doc, const char *ptr);

#endif
