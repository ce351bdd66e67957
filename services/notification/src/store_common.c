#include "store_common.h"
#include "tc/tc_db.h"
#include "tc/tc_core.h"
#include "tc/tc_json.h"

#include <stdio.h>

cJSON *row_str(cJSON *obj, const char *name, const PGresult *r, int row, int col)
{
    return tc_json_add_str(obj, name, tc_db_val(r, row, col));
}

cJSON *row_int(cJSON *obj, const char *name, const PGresult *r, int row, int col)
{
    return tc_json_add_int(obj, name, tc_db_int(r, row, col, 0));
}

int rows_page(PGresult *r, int limit, cJSON *(*row_fn)(const PGresult *, int), cJSON **data,
              char *next_key, size_t keylen)
{
    int n = PQntuples(r);
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; arr && i < n && i < limit; i++) {
        cJSON *o = row_fn(r, i);
        if (!o || !cJSON_AddItemToArray(arr, o)) {
            cJSON_Delete(o);
            cJSON_Delete(arr);
            arr = NULL;
        }
    }
    next_key[0] = '\0';
    if (arr && n > limit)
        snprintf(next_key, keylen, "%s", tc_db_val(r, limit - 1, 0));
    PQclear(r);
    *data = arr;
    return arr ? TC_OK : TC_ENOMEM;
}
