/*
 * Migrations runner against PostgreSQL: N processes starting together apply each migration
 * exactly once (advisory lock), and an applied migration that was edited is refused.
 */
#include "component.h"

#include <sys/wait.h>
#include <unistd.h>

static char component[64];
static char table[64];
static char sql_create[256], sql_insert[256];
static tc_migration_t migs[3];

static void define_migrations(void)
{
    it_unique("it-mig", component, sizeof component);
    snprintf(table, sizeof table, "mig_%s", component + 7);
    /* no IF NOT EXISTS: applying it twice fails loudly */
    snprintf(sql_create, sizeof sql_create, "CREATE TABLE %s (n int);", table);
    snprintf(sql_insert, sizeof sql_insert, "INSERT INTO %s VALUES (1);", table);
    migs[0] = (tc_migration_t){"001_create.sql", sql_create};
    migs[1] = (tc_migration_t){"002_slow.sql", "SELECT pg_sleep(0.5);"};
    migs[2] = (tc_migration_t){"003_insert.sql", sql_insert};
}

static int migrate_in_child(void)
{
    tc_db_opts_t o = {.url = it_env("TC_TEST_PG_URL"), .pool_size = 1};
    tc_db_t *db = tc_db_open(&o);
    if (!db)
        return 10;
    int rc = tc_db_migrate(db, component, migs, 3);
    tc_db_close(db);
    return rc == TC_OK ? 0 : 11;
}

Test(migrations, concurrent_starts_apply_each_migration_once, .timeout = 60)
{
    define_migrations();
    tc_db_t *db = it_db(2); /* schema_migrations exists before the race */
    pid_t kids[4];
    for (int i = 0; i < 4; i++) {
        kids[i] = fork();
        cr_assert_neq(kids[i], -1);
        if (kids[i] == 0)
            _exit(migrate_in_child());
    }
    for (int i = 0; i < 4; i++) {
        int status = 0;
        cr_assert_eq(waitpid(kids[i], &status, 0), kids[i]);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "replica %d failed to migrate (%d)", i, WEXITSTATUS(status));
    }
    cr_assert_eq(
        it_scalar(db, "SELECT count(*) FROM schema_migrations WHERE component=$1", component), 3);
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
    cr_assert_eq(it_scalar(db, sql, NULL), 1, "the insert migration ran exactly once");
    tc_db_close(db);
}

Test(migrations, edited_applied_migration_is_refused)
{
    define_migrations();
    tc_db_t *db = it_db(2);
    cr_assert_eq(tc_db_migrate(db, component, migs, 1), TC_OK);
    cr_assert_eq(tc_db_migrate(db, component, migs, 1), TC_OK, "re-running is a no-op");
    tc_migration_t edited = {"001_create.sql", "CREATE TABLE somewhere_else (n int);"};
    cr_assert_eq(tc_db_migrate(db, component, &edited, 1), TC_ECONFLICT);
    tc_db_close(db);
}

Test(migrations, failing_migration_is_rolled_back_and_not_recorded)
{
    define_migrations();
    tc_db_t *db = it_db(2);
    char sql[256];
    snprintf(sql, sizeof sql, "CREATE TABLE %s_x (n int); SELECT no_such_function();", table);
    tc_migration_t bad = {"001_bad.sql", sql};
    cr_assert_neq(tc_db_migrate(db, component, &bad, 1), TC_OK);
    cr_assert_eq(
        it_scalar(db, "SELECT count(*) FROM schema_migrations WHERE component=$1", component), 0);
    char check[160];
    snprintf(check, sizeof check, "SELECT count(*) FROM pg_tables WHERE tablename='%s_x'", table);
    cr_assert_eq(it_scalar(db, check, NULL), 0, "the partial migration was rolled back");
    tc_db_close(db);
}
