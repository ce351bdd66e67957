/* Helpers shared by the store_*.c files (not part of the store's interface). */
#ifndef NOTIFICATION_STORE_COMMON_H
#define NOTIFICATION_STORE_COMMON_H

#include <cjson/cJSON.h>
#include <libpq-fe.h>

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

/* Adds column col of row as a string member (SQL NULL → null). NULL on OOM. */
cJSON *row_str(cJSON *obj, const char *name, const PGresult *r, int row, int col);
/* Adds an integer member. */
cJSON *row_int(cJSON *obj, const char *name, const PGresult *r, int row, int col);

/* Turns up to `limit` rows of r into a JSON array (row_fn builds one), and sets next_key to
 * the first column of the last row returned when r holds more (the query asked for
 * limit + 1). Takes r over. TC_OK or TC_ENOMEM. */
int rows_page(PGresult *r, int limit, cJSON *(*row_fn)(const PGresult *, int), cJSON **data,
              char *next_key, size_t keylen);

#endif
