/*
 * dns_txt.h: TXT records (RFC 1035 §3.3.14) through libc's resolver — the machine's name
 * servers, or the one AUTH_DNS_SERVER names (an internal resolver; the test stack's DNS
 * server). Each lookup has its own resolver state, so lookups run on any thread.
 */
#ifndef AUTH_DNS_TXT_H
#define AUTH_DNS_TXT_H

#include <stdbool.h>

typedef struct {
    const char *server; /* "host:port" (IPv4) or NULL: the system's resolv.conf */
    int timeout_ms;     /* per attempt, rounded up to whole seconds (the resolver's unit) */
} dns_conf_t;

/* Is `server` a usable "a.b.c.d:port" (or "a.b.c.d", port 53)? */
bool dns_server_valid(const char *server);

/* The TXT records at `name`, each one's strings joined (malloc'd array of malloc'd strings).
 * TC_OK (n may be 0), TC_ENOTFOUND (no such name or no TXT there), TC_EUNAVAIL (no answer:
 * timeout, server failure), TC_ENOMEM. */
int dns_txt_lookup(const dns_conf_t *conf, const char *name, char ***out, int *n);
void dns_txt_free(char **records, int n);

#endif
