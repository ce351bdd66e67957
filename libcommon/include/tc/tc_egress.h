/*
 * tc_egress.h: HTTP calls to addresses a customer chose (a workflow's tc:http Task, a
 * connector's action, a webhook's endpoint), as opposed to tc_httpc's calls to the fleet's
 * own peers.
 *
 * What a customer may name is not trusted: the address every connection actually goes to
 * (after DNS, on every connect, so a name that resolves to a private address is caught) must
 * be public unless the deployment allows private ones (SSRF: loopback, RFC 1918, CGNAT,
 * link-local and cloud metadata, unique-local, multicast and unspecified are refused);
 * only http and https; no redirects followed (the 3xx is the answer); the response body is
 * capped; one attempt (retries are the caller's policy: ASL Retry, a connector's policy).
 */
#ifndef TC_EGRESS_H
#define TC_EGRESS_H

/* The User-Agent of the platform's own calls to customers' addresses: integration-hub's
 * webhook deliveries and connector actions, and workflow's tc:http Tasks. The hub's inbound
 * hooks refuse all three, or a delivery, action or Task aimed at one would start what sent it
 * again, without end. */
#define TC_UA_WEBHOOKS     "techcorp-webhooks"
#define TC_UA_WORKFLOW     "techcorp-workflow"
#define TC_UA_INTEGRATIONS "techcorp-integrations"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct {
    bool allow_private;        /* tests and on-premises deployments */
    int connect_timeout_ms;    /* default 3000 */
    size_t max_response_bytes; /* default 1 MiB; a longer body fails with TC_EINVAL */
    bool truncate_response;    /* instead: the body is cut there (out->truncated), and the
                                  answer stands (a webhook receiver's 200 with a long page) */
    const char *user_agent;    /* default "techcorp-platform" */
} tc_egress_opts_t;

typedef struct {
    const char *method; /* default GET */
    const char *url;
    const char *const *headers; /* "Name: value" lines, NULL-terminated; may be NULL; a line
                                   with a control character (CR, LF…) is refused */
    const char *body;           /* may be NULL */
    size_t body_len;
    int timeout_ms; /* total; default 60000 */
} tc_egress_req_t;

typedef struct {
    long status;
    char *body; /* NUL-terminated, malloc'd */
    size_t body_len;
    cJSON *headers; /* {"content-type": "…", …}: names lower-cased, repeated ones joined ", " */
    bool truncated; /* the body was cut at max_response_bytes (truncate_response) */
    char error[256]; /* why the call failed, when it did */
} tc_egress_resp_t;

/*
 * One request. TC_OK when a response arrived (any status). Otherwise: TC_EDENIED (the address
 * is not allowed), TC_ETIMEDOUT, TC_EUNAVAIL (no connection: refused, DNS, TLS), TC_EINVAL
 * (bad URL, method or header line, response too large), TC_ENOMEM; out->error says which. out is
 * always initialised; release it with tc_egress_resp_free.
 */
int tc_egress_do(const tc_egress_opts_t *opts, const tc_egress_req_t *req, tc_egress_resp_t *out);
void tc_egress_resp_free(tc_egress_resp_t *r);

/*
 * A caller's kept connections (HTTP keep-alive, TLS sessions), for the many calls of one
 * thread to the same few hosts (a webhook worker): each call is tc_egress_do's, with the same
 * checks (a new connection's address is checked when it opens), on a connection kept from an
 * earlier call when one to the same host is open. The options are the session's, copied at
 * creation (opts NULL: the defaults), so a kept connection never outlives the rules it was
 * checked under. One thread at a time.
 */
typedef struct tc_egress_session tc_egress_session_t;
tc_egress_session_t *tc_egress_session_new(const tc_egress_opts_t *opts);
void tc_egress_session_free(tc_egress_session_t *s);
int tc_egress_session_do(tc_egress_session_t *s, const tc_egress_req_t *req, tc_egress_resp_t *out);

/* Is an address (AF_INET: 4 bytes, AF_INET6: 16 bytes) one any customer may reach: not
 * loopback, private, shared, link-local, unique-local, multicast, reserved or unspecified
 * (IPv4-mapped and NAT64 IPv6 judged by their IPv4 address). */
bool tc_egress_addr_public(int family, const unsigned char *addr);

#endif
