/* tc_db without a server: what a malformed DATABASE_URL does (the pool against PostgreSQL is
 * tests/component/test_tc_db.c). */
#include <criterion/criterion.h>

#include "tc/tc_core.h"
#include "tc/tc_db.h"
#include "tc/tc_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char g_out[8192];

static void open_bad_urls(void)
{
    tc_log_init("db-test", "info");
    const char *urls[] = {
        "postgresql://app:hunter2%zz@db.internal:5432/app",
        "postgresql://app:hunter2@db.internal:5432/app?sslmode=req%zzire",
        "postgresql://app:hunter2@db.internal:5432/app?no_such_option=hunter2",
    };
    for (size_t i = 0; i < sizeof urls / sizeof *urls; i++) {
        tc_db_opts_t o = {.url = urls[i], .pool_size = 1};
        tc_db_t *db = tc_db_open(&o);
        cr_assert_null(db, "%s must not open", urls[i]);
    }
    tc_log_flush();
}

Test(db, an_unparsable_url_is_refused_without_logging_it)
{
    char path[] = "/tmp/tc-db-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    fflush(stdout);
    int saved = dup(1);
    dup2(fd, 1);
    open_bad_urls();
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    ssize_t n = pread(fd, g_out, sizeof g_out - 1, 0);
    g_out[n > 0 ? n : 0] = '\0';
    close(fd);
    unlink(path);
    cr_assert(strstr(g_out, "invalid DATABASE_URL"), "the problem is reported: %s", g_out);
    cr_assert_null(strstr(g_out, "hunter2"), "the password never reaches the log: %s", g_out);
}

/* COPY text format: the four characters COPY reads as syntax are escaped, NULL is \N, and
 * the caller's separator ends the field. */
Test(copy, fields_are_escaped_null_is_backslash_n_and_the_separator_follows)
{
    tc_buf_t b;
    tc_buf_init(&b);
    cr_assert_eq(tc_db_copy_field(&b, "a\\b\tc\nd\re", '\t'), TC_OK);
    cr_assert_eq(tc_db_copy_field(&b, NULL, '\t'), TC_OK);
    cr_assert_eq(tc_db_copy_field(&b, "", '\t'), TC_OK);
    cr_assert_eq(tc_db_copy_field(&b, "\\N", '\n'), TC_OK);
    cr_assert_str_eq(tc_buf_cstr(&b), "a\\\\b\\tc\\nd\\re\t\\N\t\t\\\\N\n");
    tc_buf_free(&b);
}
