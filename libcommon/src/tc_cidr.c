/* Addresses and CIDR ranges in binary form, so a membership test is a few byte compares. */
#include "tc/tc_cidr.h"
#include "tc/tc_core.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

/* The address of text[0..n) into out; its family, or 0 when it is not one. */
static int parse_addr(const char *text, size_t n, uint8_t out[16])
{
    char buf[INET6_ADDRSTRLEN];
    if (n == 0 || n >= sizeof buf)
        return 0;
    memcpy(buf, text, n);
    buf[n] = '\0';
    memset(out, 0, 16);
    if (inet_pton(AF_INET, buf, out) == 1)
        return AF_INET;
    if (inet_pton(AF_INET6, buf, out) == 1)
        return AF_INET6;
    return 0;
}

int tc_cidr_parse(const char *text, tc_cidr_t *out)
{
    const char *slash = strchr(text, '/');
    size_t n = slash ? (size_t)(slash - text) : strlen(text);
    memset(out, 0, sizeof *out);
    out->family = parse_addr(text, n, out->addr);
    if (!out->family)
        return TC_EINVAL;
    out->bits = out->family == AF_INET ? 32 : 128;
    if (slash) {
        char *end = NULL;
        long bits = strtol(slash + 1, &end, 10);
        if (!slash[1] || *end || slash[1] == '-' || slash[1] == '+' || bits < 0 || bits > out->bits)
            return TC_EINVAL;
        out->bits = (int)bits;
    }
    return TC_OK;
}

bool tc_cidr_contains(const tc_cidr_t *c, int family, const uint8_t *addr)
{
    if (c->family != family)
        return false;
    int full = c->bits / 8, rest = c->bits % 8;
    if (memcmp(c->addr, addr, (size_t)full) != 0)
        return false;
    if (!rest)
        return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (c->addr[full] & mask) == (addr[full] & mask);
}

int tc_cidr_list_parse(const char *text, tc_cidr_t **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    size_t cap = 1;
    for (const char *p = text; p && *p; p++)
        cap += *p == ',' || *p == ' ';
    tc_cidr_t *list = calloc(cap, sizeof *list);
    if (!list)
        return TC_ENOMEM;
    size_t count = 0;
    const char *p = text ? text : "";
    while (*p) {
        size_t len = strcspn(p, ", ");
        if (len) {
            char item[64];
            if (len >= sizeof item) {
                free(list);
                return TC_EINVAL;
            }
            memcpy(item, p, len);
            item[len] = '\0';
            if (tc_cidr_parse(item, &list[count]) != TC_OK) {
                free(list);
                return TC_EINVAL;
            }
            count++;
        }
        p += len;
        p += *p != '\0';
    }
    if (count == 0) {
        free(list);
        list = NULL;
    }
    *out = list;
    *n = count;
    return TC_OK;
}

bool tc_cidr_list_has(const tc_cidr_t *list, size_t n, const char *ip)
{
    uint8_t addr[16];
    int family = ip ? parse_addr(ip, strlen(ip), addr) : 0;
    for (size_t i = 0; family && i < n; i++)
        if (tc_cidr_contains(&list[i], family, addr))
            return true;
    return false;
}
