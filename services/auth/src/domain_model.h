/*
 * domain_model.h: email domains an org proves it owns, which route its people to its single
 * sign-on connection (issue 22), free of I/O. Ownership is proven the way identity providers
 * and mail services ask for it: a DNS TXT record the org publishes at a name under the domain.
 */
#ifndef AUTH_DOMAIN_MODEL_H
#define AUTH_DOMAIN_MODEL_H

#include <stdbool.h>
#include <stddef.h>

#define DOMAIN_MAX         254 /* 253 characters and a NUL */
#define DOMAIN_RECORD_NAME "_techcorp-challenge"
#define DOMAIN_TXT_PREFIX  "techcorp-domain-verification="

/* A domain as the platform keeps it: lower case, labels of letters, digits and hyphens (not at
 * either end, at most 63 characters), at least two labels, no trailing dot, at most 253
 * characters. false when `in` is not one. */
bool domain_normalize(const char *in, char out[DOMAIN_MAX]);

/* The domain of an email address, normalized; false when there is none. */
bool domain_of_email(const char *email, char out[DOMAIN_MAX]);

/* The name the TXT record is published at: "_techcorp-challenge.<domain>". false when it would
 * not fit. */
bool domain_record_name(const char *domain, char *out, size_t size);

/* Does one of the TXT strings found at the record name carry the expected value
 * ("techcorp-domain-verification=<token>"; surrounding spaces ignored)? */
bool domain_txt_matches(char *const *records, int n, const char *expected);

#endif
