/* Unit tests for the usage meter's spool (meter_spool.c): the line format, a file adopted
 * only when no process holds it, torn lines skipped, rewrites. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "meter_spool.h"
#include "tc/tc_core.h"

static gw_meter_rec_t rec(const char *inst, const char *org, int64_t window, uint64_t n)
{
    gw_meter_rec_t r;
    memset(&r, 0, sizeof r);
    snprintf(r.inst, sizeof r.inst, "%s", inst);
    snprintf(r.org, sizeof r.org, "%s", org);
    r.window_ms = window;
    r.width_ms = 1000;
    r.requests = n;
    return r;
}

static char *tmpdir(void)
{
    char *d = strdup("/tmp/tc-spool-XXXXXX");
    cr_assert_not_null(mkdtemp(d));
    return d;
}

static int count_files(const char *dir)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "ls %s | wc -l", dir);
    FILE *p = popen(cmd, "r");
    int n = -1;
    cr_assert_eq(fscanf(p, "%d", &n), 1);
    pclose(p);
    return n;
}

typedef struct {
    gw_meter_rec_t got[16];
    int n;
} sink_t;

static int collect(void *ud, const gw_meter_rec_t *r)
{
    sink_t *s = ud;
    cr_assert_lt(s->n, 16);
    s->got[s->n++] = *r;
    return TC_OK;
}

Test(spool, a_line_round_trips_and_the_id_names_process_window_and_org)
{
    gw_meter_rec_t r = rec("gwi_A", "org_\"q\\", 1700000000000, 42), back;
    tc_buf_t b = TC_BUF_INIT;
    cr_assert_eq(gw_meter_rec_line(&r, &b), TC_OK);
    cr_assert_eq(b.data[b.len - 1], '\n');
    cr_assert(gw_meter_rec_parse(b.data, b.len - 1, &back));
    cr_assert_str_eq(back.org, "org_\"q\\");
    cr_assert_str_eq(back.inst, "gwi_A");
    cr_assert_eq(back.window_ms, 1700000000000);
    cr_assert_eq(back.width_ms, 1000);
    cr_assert_eq(back.requests, 42);
    /* a torn write, a zero count, a fraction: not records */
    cr_assert_not(gw_meter_rec_parse(b.data, b.len / 2, &back));
    const char *zero = "{\"inst\":\"i\",\"org\":\"o\",\"window_ms\":1,\"width_ms\":1000,"
                       "\"requests\":0}";
    cr_assert_not(gw_meter_rec_parse(zero, strlen(zero), &back));
    const char *frac = "{\"inst\":\"i\",\"org\":\"o\",\"window_ms\":1.5,\"width_ms\":1000,"
                       "\"requests\":3}";
    cr_assert_not(gw_meter_rec_parse(frac, strlen(frac), &back));
    char id[128];
    cr_assert_eq(gw_meter_rec_id(&r, id, sizeof id), TC_OK);
    cr_assert_str_eq(id, "mtr_gwi_A_1700000000000_org_\"q\\");
    cr_assert_eq(gw_meter_rec_id(&r, id, 10), TC_EINVAL);
    tc_buf_free(&b);
}

Test(spool, an_abandoned_file_is_adopted_and_a_held_one_is_not)
{
    char *dir = tmpdir();
    sink_t none = {0}, got = {0};
    gw_spool_t *a = NULL, *b = NULL, *c = NULL;
    cr_assert_eq(gw_spool_open(dir, "gwi_A", collect, &none, &a), TC_OK);
    gw_meter_rec_t rs[2] = {rec("gwi_A", "org_1", 1000, 5), rec("gwi_A", "org_2", 1000, 7)};
    cr_assert_eq(gw_spool_append(a, rs, 2), TC_OK);
    cr_assert_eq(gw_spool_records(a), 2);
    /* A is alive: B leaves its file alone */
    cr_assert_eq(gw_spool_open(dir, "gwi_B", collect, &got, &b), TC_OK);
    cr_assert_eq(got.n, 0);
    cr_assert_eq(count_files(dir), 2);
    /* A goes with records unacknowledged (as a kill would leave them): C adopts them */
    gw_spool_close(a, false);
    cr_assert_eq(gw_spool_open(dir, "gwi_C", collect, &got, &c), TC_OK);
    cr_assert_eq(got.n, 2);
    cr_assert_str_eq(got.got[0].org, "org_1");
    cr_assert_eq(got.got[1].requests, 7);
    cr_assert_str_eq(got.got[1].inst, "gwi_A", "adopted records keep their process's ids");
    cr_assert_eq(gw_spool_records(c), 2, "they are in C's own file before A's is deleted");
    cr_assert_eq(count_files(dir), 2, "B's and C's files");
    gw_spool_close(b, true);
    gw_spool_close(c, false);
    /* C's file has them still: the next process gets them again */
    sink_t again = {0};
    gw_spool_t *d = NULL;
    cr_assert_eq(gw_spool_open(dir, "gwi_D", collect, &again, &d), TC_OK);
    cr_assert_eq(again.n, 2);
    gw_spool_close(d, true);
    cr_assert_eq(count_files(dir), 0);
    rmdir(dir);
    free(dir);
}

Test(spool, a_torn_last_line_is_skipped_and_the_rest_adopted)
{
    char *dir = tmpdir();
    char path[256];
    snprintf(path, sizeof path, "%s/meter-gwi_X.spool", dir);
    FILE *f = fopen(path, "w");
    fputs("{\"inst\":\"gwi_X\",\"org\":\"org_1\",\"window_ms\":5000,\"width_ms\":1000,"
          "\"requests\":3}\n{\"inst\":\"gwi_X\",\"org\":\"or",
          f);
    fclose(f);
    sink_t got = {0};
    gw_spool_t *s = NULL;
    cr_assert_eq(gw_spool_open(dir, "gwi_Y", collect, &got, &s), TC_OK);
    cr_assert_eq(got.n, 1);
    cr_assert_eq(got.got[0].requests, 3);
    cr_assert_eq(access(path, F_OK), -1, "the abandoned file is gone");
    gw_spool_close(s, true);
    rmdir(dir);
    free(dir);
}

Test(spool, a_rewrite_keeps_only_what_it_is_given_and_stays_locked)
{
    char *dir = tmpdir();
    sink_t got = {0};
    gw_spool_t *s = NULL, *other = NULL;
    cr_assert_eq(gw_spool_open(dir, "gwi_R", collect, &got, &s), TC_OK);
    gw_meter_rec_t rs[3] = {rec("gwi_R", "org_1", 1000, 1), rec("gwi_R", "org_2", 1000, 2),
                            rec("gwi_R", "org_3", 1000, 3)};
    cr_assert_eq(gw_spool_append(s, rs, 3), TC_OK);
    cr_assert_eq(gw_spool_rewrite(s, rs + 2, 1), TC_OK);
    cr_assert_eq(gw_spool_records(s), 1);
    /* still held after the rename: another process does not take it */
    cr_assert_eq(gw_spool_open(dir, "gwi_S", collect, &got, &other), TC_OK);
    cr_assert_eq(got.n, 0);
    gw_spool_close(other, true);
    cr_assert_eq(gw_spool_append(s, rs, 1), TC_OK);
    gw_spool_close(s, false);
    cr_assert_eq(gw_spool_open(dir, "gwi_T", collect, &got, &other), TC_OK);
    cr_assert_eq(got.n, 2);
    cr_assert_str_eq(got.got[0].org, "org_3");
    cr_assert_str_eq(got.got[1].org, "org_1");
    cr_assert_eq(gw_spool_rewrite(other, NULL, 0), TC_OK);
    cr_assert_eq(gw_spool_records(other), 0);
    gw_spool_close(other, false);
    got.n = 0;
    cr_assert_eq(gw_spool_open(dir, "gwi_U", collect, &got, &other), TC_OK);
    cr_assert_eq(got.n, 0, "an emptied file has nothing to adopt");
    gw_spool_close(other, true);
    rmdir(dir);
    free(dir);
}
