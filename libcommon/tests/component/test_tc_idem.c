/* tc_idem against PostgreSQL: Idempotency-Key records (the first claim wins, a retry replays
 * the stored response, a different request under the same key is refused, a rolled-back claim
 * frees the key, a concurrent duplicate waits for the first and replays it). */
#include "component.h"

#include "tc/tc_idem.h"

#include <pthread.h>

static tc_db_t *db;

static void setup(void)
{
    db = it_db(6);
}

static void teardown(void)
{
    tc_db_close(db);
}

TestSuite(idem, .init = setup, .fini = teardown, .timeout = 60);

Test(idem, first_claim_wins_and_retries_replay_the_stored_response)
{
    char scope[64];
    it_unique("org", scope, sizeof scope);
    tc_idem_replay_t rep;
    tc_dbconn_t *c = tc_db_acquire(db);
    cr_assert_eq(tc_db_begin(c), TC_OK);
    cr_assert_eq(tc_idem_claim(c, scope, "key-1", "hash-a", &rep), TC_OK);
    cr_assert_eq(tc_idem_store(c, scope, "key-1", 201, "{\"id\":\"usr_1\"}"), TC_OK);
    cr_assert_eq(tc_db_commit(c), TC_OK);

    cr_assert_eq(tc_db_begin(c), TC_OK);
    cr_assert_eq(tc_idem_claim(c, scope, "key-1", "hash-a", &rep), TC_ECONFLICT);
    cr_assert_eq(rep.status, 201);
    cr_assert_str_eq(rep.body, "{\"id\":\"usr_1\"}");
    free(rep.body);
    cr_assert_eq(tc_idem_claim(c, scope, "key-1", "hash-b", &rep), TC_EINVAL,
                 "same key, different request");
    tc_db_rollback(c);
    tc_db_release(db, c);
}

Test(idem, rolled_back_claim_leaves_the_key_free)
{
    char scope[64];
    it_unique("org", scope, sizeof scope);
    tc_idem_replay_t rep;
    tc_dbconn_t *c = tc_db_acquire(db);
    cr_assert_eq(tc_db_begin(c), TC_OK);
    cr_assert_eq(tc_idem_claim(c, scope, "key-2", "h", &rep), TC_OK);
    tc_db_rollback(c);
    cr_assert_eq(tc_db_begin(c), TC_OK);
    cr_assert_eq(tc_idem_claim(c, scope, "key-2", "h", &rep), TC_OK);
    tc_db_rollback(c);
    tc_db_release(db, c);
}

typedef struct {
    const char *scope;
    int rc;
    int status;
} claimer_t;

static void *claim_late(void *arg)
{
    claimer_t *cl = arg;
    tc_idem_replay_t rep = {0};
    tc_dbconn_t *c = tc_db_acquire(db);
    tc_db_begin(c);
    cl->rc = tc_idem_claim(c, cl->scope, "key-3", "h", &rep); /* blocks until the first commits */
    cl->status = rep.status;
    free(rep.body);
    tc_db_rollback(c);
    tc_db_release(db, c);
    return NULL;
}

Test(idem, concurrent_duplicate_waits_for_the_first_and_replays)
{
    char scope[64];
    it_unique("org", scope, sizeof scope);
    tc_idem_replay_t rep;
    tc_dbconn_t *c = tc_db_acquire(db);
    cr_assert_eq(tc_db_begin(c), TC_OK);
    cr_assert_eq(tc_idem_claim(c, scope, "key-3", "h", &rep), TC_OK);
    claimer_t cl = {.scope = scope};
    pthread_t t;
    pthread_create(&t, NULL, claim_late, &cl);
    tc_sleep_ms(300); /* the second claim is now waiting on our row */
    cr_assert_eq(tc_idem_store(c, scope, "key-3", 201, "{}"), TC_OK);
    cr_assert_eq(tc_db_commit(c), TC_OK);
    tc_db_release(db, c);
    pthread_join(t, NULL);
    cr_assert_eq(cl.rc, TC_ECONFLICT);
    cr_assert_eq(cl.status, 201);
}
