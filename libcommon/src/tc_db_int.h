/* Private to libcommon: what tc_db shares with tc_dbpipe. */
#ifndef TC_DB_INT_H
#define TC_DB_INT_H

#include <libpq-fe.h>

/* The TC_* code of a statement's result (see tc_db_query), logging failures as tc_db does;
 * sqlstate receives the SQLSTATE ("08006" for a lost connection, "" if none). */
int tc_db_result_code(PGconn *pg, const PGresult *r, char sqlstate[6]);

#endif
