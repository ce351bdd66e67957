/* What the gateway allows and believes of clients: "cors" (origins, headers, preflight cache)
 * and "trusted_proxies" (whose X-Forwarded-For/-Proto count). */
#include "config_int.h"
#include "tc/tc_core.h"

#include <stdlib.h>
#include <string.h>

static int join_headers(gw_cv_t *v, const cJSON *arr, gw_cors_t *cors)
{
    static const char defaults[] = "Authorization, Content-Type, Idempotency-Key, X-API-Key, "
                                   "X-Request-Id, traceparent";
    size_t cap = sizeof defaults;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        if (!cJSON_IsString(it) || !it->valuestring[0] || strpbrk(it->valuestring, ",\r\n")) {
            gw_cv_error(v, "cors.headers", "must be header names");
            return TC_OK;
        }
        cap += strlen(it->valuestring) + 2;
    }
    cors->allow_headers = calloc(1, cap);
    if (!cors->allow_headers)
        return TC_ENOMEM;
    if (!arr) {
        memcpy(cors->allow_headers, defaults, sizeof defaults);
        return TC_OK;
    }
    cJSON_ArrayForEach(it, arr)
    {
        if (cors->allow_headers[0])
            strcat(cors->allow_headers, ", ");
        strcat(cors->allow_headers, it->valuestring);
    }
    return TC_OK;
}

int gw_config_parse_cors(gw_cv_t *v, const cJSON *root, gw_cors_t *cors)
{
    cors->max_age = 600;
    const cJSON *o = gw_cv_obj(v, root, "cors", "", 0);
    if (!o)
        return join_headers(v, NULL, cors);
    gw_cv_keys(v, o, "cors",
               (const char *const[]){"origins", "headers", "max_age", "credentials", NULL});
    cors->max_age = (int)gw_cv_int(v, o, "max_age", "cors", 600, 0, 86400);
    cors->credentials = gw_cv_bool(v, o, "credentials", "cors", 0);
    const cJSON *origins = gw_cv_array(v, o, "origins", "cors", 0);
    int n = origins ? cJSON_GetArraySize(origins) : 0;
    cors->origins = calloc((size_t)n + 1, sizeof *cors->origins);
    if (!cors->origins)
        return TC_ENOMEM;
    const cJSON *it;
    cJSON_ArrayForEach(it, origins)
    {
        if (!cJSON_IsString(it) || !it->valuestring[0] || strpbrk(it->valuestring, " ,\r\n")) {
            gw_cv_error(v, "cors.origins", "must be origins such as \"https://app.example.com\"");
            continue;
        }
        if (strcmp(it->valuestring, "*") == 0)
            cors->any_origin = 1;
        if (!(cors->origins[cors->norigins++] = strdup(it->valuestring)))
            return TC_ENOMEM;
    }
    if (cors->any_origin && cors->credentials)
        gw_cv_error(v, "cors", "origin \"*\" cannot be combined with credentials");
    return join_headers(v, gw_cv_array(v, o, "headers", "cors", 0), cors);
}

int gw_config_parse_trusted(gw_cv_t *v, const cJSON *root, gw_config_t *c)
{
    const cJSON *arr = gw_cv_array(v, root, "trusted_proxies", "", 0);
    int n = arr ? cJSON_GetArraySize(arr) : 0;
    c->trusted = calloc((size_t)n + 1, sizeof *c->trusted);
    if (!c->trusted)
        return TC_ENOMEM;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        if (!cJSON_IsString(it) || tc_cidr_parse(it->valuestring, &c->trusted[c->ntrusted]) != 0)
            gw_cv_error(v, "trusted_proxies", "\"%s\" is not an address or CIDR",
                        cJSON_IsString(it) ? it->valuestring : "(not a string)");
        else
            c->ntrusted++;
    }
    return TC_OK;
}
