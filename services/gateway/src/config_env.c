/* ${NAME} in the routing document, replaced by the environment variable NAME (an unset
 * variable is a problem), so one file serves the local stack and the Helm chart. */
#include "config_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *gw_env_expand(const char *s, char *missing, size_t missing_len)
{
    size_t cap = strlen(s) + 1, len = 0;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    while (*s) {
        const char *end = s[0] == '$' && s[1] == '{' ? strchr(s + 2, '}') : NULL;
        const char *piece = s;
        size_t plen = 1;
        if (end) {
            char name[128];
            size_t n = (size_t)(end - s - 2);
            snprintf(name, sizeof name, "%.*s", (int)(n < sizeof name ? n : sizeof name - 1),
                     s + 2);
            piece = n && n < sizeof name ? getenv(name) : NULL;
            if (!piece) {
                snprintf(missing, missing_len, "%s", name);
                free(out);
                return NULL;
            }
            plen = strlen(piece);
            s = end + 1;
        } else {
            s++;
        }
        if (len + plen + 1 > cap) {
            cap = (len + plen + 1) * 2;
            char *grown = realloc(out, cap);
            if (!grown) {
                free(out);
                return NULL;
            }
            out = grown;
        }
        memcpy(out + len, piece, plen);
        len += plen;
    }
    out[len] = '\0';
    return out;
}

void gw_config_expand_env(gw_cv_t *v, cJSON *node, const char *path)
{
    char p[256];
    int i = 0;
    for (cJSON *it = node->child; it; it = it->next, i++) {
        if (it->string && it->string[0] == '_')
            continue; /* comments are not expanded */
        if (it->string)
            gw_cv_path(p, sizeof p, path, it->string);
        else
            snprintf(p, sizeof p, "%s[%d]", path, i);
        if (cJSON_IsString(it) && strstr(it->valuestring, "${")) {
            char missing[128] = "";
            char *x = gw_env_expand(it->valuestring, missing, sizeof missing);
            if (!x) {
                if (missing[0])
                    gw_cv_error(v, p, "environment variable %s is not set", missing);
                else
                    gw_cv_error(v, p, "out of memory");
                continue;
            }
            if (!cJSON_SetValuestring(it, x))
                gw_cv_error(v, p, "out of memory");
            free(x);
        } else if (cJSON_IsObject(it) || cJSON_IsArray(it)) {
            gw_config_expand_env(v, it, p);
        }
    }
}
