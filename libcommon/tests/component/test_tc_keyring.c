/* tc_keyring against PostgreSQL: per-tenant data keys stored wrapped, sealing bound to its
 * row, concurrent creators, blind indexes. */
#include "component.h"

#include "tc/tc_keyring.h"

#include <pthread.h>

static tc_db_t *db;
static uint8_t kek[TC_AEAD_KEY_LEN];

static void setup(void)
{
    db = it_db(6);
    memset(kek, 0x42, sizeof kek);
}

static void teardown(void)
{
    tc_db_close(db);
}

TestSuite(keyring, .init = setup, .fini = teardown, .timeout = 60);

Test(keyring, seal_open_round_trip_and_binding)
{
    char tenant[64], other[64];
    it_unique("org", tenant, sizeof tenant);
    it_unique("org", other, sizeof other);
    tc_keyring_t *k = tc_keyring_new(db, kek);
    char *sealed = NULL, *plain = NULL;
    cr_assert_eq(tc_keyring_seal(k, tenant, "users.email|usr_1", "ada@example.com", &sealed),
                 TC_OK);
    cr_assert_null(strstr(sealed, "ada"));
    cr_assert_eq(tc_keyring_open(k, tenant, "users.email|usr_1", sealed, &plain), TC_OK);
    cr_assert_str_eq(plain, "ada@example.com");
    free(plain);
    cr_assert_eq(tc_keyring_open(k, tenant, "users.email|usr_2", sealed, &plain), TC_EINVAL,
                 "a ciphertext moved to another row does not open");
    cr_assert_eq(tc_keyring_dek(k, other, 1, (uint8_t[32]){0}), TC_OK);
    cr_assert_eq(tc_keyring_open(k, other, "users.email|usr_1", sealed, &plain), TC_EINVAL,
                 "nor in another tenant");
    free(sealed);
    tc_keyring_free(k);
}

Test(keyring, data_key_is_stored_wrapped_and_survives_a_restart)
{
    char tenant[64];
    it_unique("org", tenant, sizeof tenant);
    tc_keyring_t *k1 = tc_keyring_new(db, kek);
    char *sealed = NULL, *plain = NULL;
    cr_assert_eq(tc_keyring_seal(k1, tenant, "ctx", "secret", &sealed), TC_OK);
    tc_keyring_free(k1);
    cr_assert_eq(it_scalar(db, "SELECT count(*) FROM tenant_keys WHERE tenant=$1", tenant), 1);

    tc_keyring_t *k2 = tc_keyring_new(db, kek); /* a fresh process: empty cache */
    cr_assert_eq(tc_keyring_open(k2, tenant, "ctx", sealed, &plain), TC_OK);
    cr_assert_str_eq(plain, "secret");
    free(plain);
    tc_keyring_free(k2);

    uint8_t wrong[TC_AEAD_KEY_LEN];
    memset(wrong, 0x17, sizeof wrong);
    tc_keyring_t *k3 = tc_keyring_new(db, wrong);
    cr_assert_neq(tc_keyring_open(k3, tenant, "ctx", sealed, &plain), TC_OK,
                  "a wrong KEK cannot unwrap the data key");
    tc_keyring_free(k3);
    free(sealed);
}

typedef struct {
    tc_keyring_t *k;
    const char *tenant;
    uint8_t dek[TC_AEAD_KEY_LEN];
} race_t;

static void *create_dek(void *arg)
{
    race_t *r = arg;
    cr_assert_eq(tc_keyring_dek(r->k, r->tenant, 1, r->dek), TC_OK);
    return NULL;
}

Test(keyring, concurrent_creators_agree_on_one_key)
{
    char tenant[64];
    it_unique("org", tenant, sizeof tenant);
    race_t r[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        r[i].k = tc_keyring_new(db, kek); /* separate caches, as separate replicas */
        r[i].tenant = tenant;
        pthread_create(&t[i], NULL, create_dek, &r[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    for (int i = 1; i < 4; i++)
        cr_assert_eq(memcmp(r[0].dek, r[i].dek, TC_AEAD_KEY_LEN), 0);
    for (int i = 0; i < 4; i++)
        tc_keyring_free(r[i].k);
}

Test(keyring, blind_index_is_deterministic_per_tenant)
{
    char a[64], b[64];
    it_unique("org", a, sizeof a);
    it_unique("org", b, sizeof b);
    tc_keyring_t *k = tc_keyring_new(db, kek);
    char t1[24], t2[24], t3[24];
    cr_assert_eq(tc_keyring_blind(k, a, "search", "ada", 3, t1), TC_OK);
    cr_assert_eq(tc_keyring_blind(k, a, "search", "ada", 3, t2), TC_OK);
    cr_assert_eq(tc_keyring_blind(k, b, "search", "ada", 3, t3), TC_OK);
    cr_assert_str_eq(t1, t2);
    cr_assert_str_neq(t1, t3);
    tc_keyring_free(k);
}
