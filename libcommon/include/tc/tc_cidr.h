/*
 * tc_cidr.h: IPv4/IPv6 addresses and CIDR ranges in binary form, for the trusted-proxy lists
 * behind X-Forwarded-For (tc_http, the gateway) and address allow-lists.
 */
#ifndef TC_CIDR_H
#define TC_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    int family; /* AF_INET / AF_INET6 */
    uint8_t addr[16];
    int bits;
} tc_cidr_t;

/* "10.0.0.0/8", "::1", "192.0.2.7" (a single address is /32 or /128). TC_OK or TC_EINVAL. */
int tc_cidr_parse(const char *text, tc_cidr_t *out);
/* Whether the address (binary, in its family) is inside the range. */
bool tc_cidr_contains(const tc_cidr_t *c, int family, const uint8_t *addr);
/* A comma- or space-separated list ("10.0.0.0/8, 127.0.0.2"); an empty text is an empty list.
 * *out is malloc'd (free()). TC_OK, TC_EINVAL naming nothing (the caller reports the variable),
 * TC_ENOMEM. */
int tc_cidr_list_parse(const char *text, tc_cidr_t **out, size_t *n);
/* Whether a textual address (IPv4 or IPv6, no port) lies in any range of the list. */
bool tc_cidr_list_has(const tc_cidr_t *list, size_t n, const char *ip);

#endif
