/* Principals: roles, scopes, the bearer token of an Authorization header. */
#include "tc_auth_int.h"

/* ------------------------------------------------------------------------- roles */

static const char *const role_names[] = {NULL, "viewer", "editor", "admin", "owner"};

tc_role_t tc_role_parse(const char *name)
{
    if (!name)
        return TC_ROLE_NONE;
    for (int r = TC_ROLE_VIEWER; r <= TC_ROLE_OWNER; r++)
        if (strcmp(name, role_names[r]) == 0)
            return (tc_role_t)r;
    return TC_ROLE_NONE;
}

const char *tc_role_name(tc_role_t role)
{
    if (role < TC_ROLE_VIEWER || role > TC_ROLE_OWNER)
        return NULL;
    return role_names[role];
}

bool tc_principal_has_scope(const tc_principal_t *p, const char *scope)
{
    if (!p || !scope || !scope[0] || strchr(scope, ' '))
        return false;
    size_t n = strlen(scope);
    const char *s = p->scope;
    while (*s) {
        while (*s == ' ')
            s++;
        size_t w = strcspn(s, " ");
        if (w == n && strncmp(s, scope, n) == 0)
            return true;
        s += w;
    }
    return false;
}

bool tc_principal_at_least(const tc_principal_t *p, tc_role_t min)
{
    /* Service principals act by scope, never by role. */
    if (!p || p->is_service || p->role < TC_ROLE_VIEWER || p->role > TC_ROLE_OWNER)
        return false;
    return p->role >= min;
}

const char *tc_auth_bearer(const char *authorization)
{
    if (!authorization)
        return NULL;
    const char *p = authorization;
    while (*p == ' ')
        p++;
    if (strncasecmp(p, "Bearer", 6) != 0 || p[6] != ' ')
        return NULL;
    p += 6;
    while (*p == ' ')
        p++;
    if (!*p)
        return NULL;
    for (const char *q = p; *q; q++)
        if (isspace((unsigned char)*q) || iscntrl((unsigned char)*q))
            return NULL;
    return p;
}
