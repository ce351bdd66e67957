/*
 * webpush_model.h: Web Push without I/O — the message encryption of RFC 8291 (aes128gcm,
 * RFC 8188), the VAPID token of RFC 8292 (ES256), what a subscription must look like, and
 * what a push service's answer means. The push sender (push_sender.c) does the I/O.
 */
#ifndef NOTIFICATION_WEBPUSH_MODEL_H
#define NOTIFICATION_WEBPUSH_MODEL_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tc/tc_json.h"

#define WEBPUSH_PUB_LEN    65 /* an uncompressed P-256 point: 0x04 || x || y */
#define WEBPUSH_PRIV_LEN   32
#define WEBPUSH_AUTH_LEN   16
#define WEBPUSH_SALT_LEN   16
#define WEBPUSH_RS         4096
#define WEBPUSH_HEADER_LEN (WEBPUSH_SALT_LEN + 4 + 1 + WEBPUSH_PUB_LEN)
/* A push service must take 4096 bytes of body (RFC 8030 §7.2): the header, the plaintext,
 * its one-byte delimiter and the 16-byte tag. */
#define WEBPUSH_PLAINTEXT_MAX (4096 - WEBPUSH_HEADER_LEN - 1 - 16)
#define WEBPUSH_ENDPOINT_MAX  2048
/* RFC 8292 §2: a token is valid for at most 24 hours */
#define WEBPUSH_VAPID_TTL_MAX_S 86400

/* A P-256 key pair (an application server's VAPID key, or one message's ephemeral key). */
typedef struct webpush_key webpush_key_t;

/* From the 32-byte private scalar (VAPID keys are kept so, base64url, as web-push tools print
 * them). TC_EINVAL for a scalar that is not a key; TC_ENOMEM. */
int webpush_key_from_private(const uint8_t d[WEBPUSH_PRIV_LEN], webpush_key_t **out);
/* A new random key pair. */
int webpush_key_new(webpush_key_t **out);
void webpush_key_free(webpush_key_t *k);
/* The public key, uncompressed (the applicationServerKey browsers subscribe with). */
const uint8_t *webpush_key_public(const webpush_key_t *k);

/* Whether 65 bytes are an uncompressed point on P-256 (a subscription's p256dh). */
bool webpush_point_valid(const uint8_t pub[WEBPUSH_PUB_LEN]);

/*
 * The body of one push message (RFC 8291 §3, one aes128gcm record): salt || rs || idlen ||
 * the sender's public key || AES-128-GCM(plaintext || 0x02). `as` is the message's own key
 * pair and salt its random salt (fixed only in tests, for RFC 8291's example). *out is
 * malloc'd. TC_EINVAL for a plaintext over WEBPUSH_PLAINTEXT_MAX or a bad receiver key.
 */
int webpush_encrypt_with(const webpush_key_t *as, const uint8_t salt[WEBPUSH_SALT_LEN],
                         const uint8_t ua_pub[WEBPUSH_PUB_LEN],
                         const uint8_t auth[WEBPUSH_AUTH_LEN], const void *plain, size_t n,
                         uint8_t **out, size_t *outlen);
/* The same with a fresh key pair and salt: what every message is sent with. */
int webpush_encrypt(const uint8_t ua_pub[WEBPUSH_PUB_LEN], const uint8_t auth[WEBPUSH_AUTH_LEN],
                    const void *plain, size_t n, uint8_t **out, size_t *outlen);

/* The origin of a push endpoint (scheme://host[:port], the token's audience) into out.
 * TC_EINVAL when endpoint is not an absolute http(s) URL with a host. */
int webpush_origin(const char *endpoint, char *out, size_t outlen);

/*
 * The Authorization header value of RFC 8292 §3: "vapid t=<ES256 JWT>, k=<public key>". The
 * token's aud is the endpoint's origin, exp is now + ttl_s (at most 24 h), sub the operator's
 * contact (mailto: or https:). *out is malloc'd.
 */
int webpush_vapid_header(const webpush_key_t *vapid, const char *endpoint, const char *subject,
                         int64_t now_s, int64_t ttl_s, char **out);

/* A subscription as a browser's PushSubscription.toJSON() gives it. */
typedef struct {
    const char *endpoint; /* borrowed from the parsed body */
    uint8_t p256dh[WEBPUSH_PUB_LEN];
    uint8_t auth[WEBPUSH_AUTH_LEN];
} webpush_sub_t;

/* {"endpoint", "keys": {"p256dh", "auth"}, "expirationTime"?}: an https endpoint (http too
 * when allow_http: tests, on-premises push services), a point on P-256 and a 16-byte secret,
 * both base64url. Problems go to jv; out is filled when there are none. */
void webpush_sub_validate(tc_jv_t *jv, const cJSON *body, bool allow_http, webpush_sub_t *out);

/* What a push service's answer means for one subscription (RFC 8030 §5, §7.3, §8.4). */
typedef enum {
    WEBPUSH_ACCEPTED,  /* 201 (200/202 from older services): the service has the message */
    WEBPUSH_GONE,      /* 404/410: the subscription ended; forget it */
    WEBPUSH_TRANSIENT, /* no answer, 429, 5xx: try again later */
    WEBPUSH_REJECTED,  /* any other answer (400 bad request, 401/403 VAPID refused, 413): the
                          same message would be refused again */
} webpush_verdict_t;
webpush_verdict_t webpush_verdict(bool answered, long status);

/* The Topic header for a delivery (RFC 8030 §5.4: at most 32 base64url characters): a
 * message sent again after a crash replaces the first copy while the push service still
 * holds it, instead of arriving twice. */
void webpush_topic(const char *delivery_id, char out[33]);

#endif
