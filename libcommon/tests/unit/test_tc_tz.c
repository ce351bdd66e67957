/*
 * tc_tz: zone names, TZif parsing (real Debian files and files crafted here, valid and
 * hostile), the POSIX TZ footer on its own, offsets against glibc for every zone, and
 * wall-clock to UTC conversion in gaps and folds against a brute-force search.
 */
#include <criterion/criterion.h>

#include "tc/tc_core.h"
#include "tc/tc_time.h"
#include "tc/tc_tz.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ZONEINFO "/usr/share/zoneinfo"
#define H        3600

static char g_dir[64]; /* the TZDIR of the tests that write zone files */

/* ------------------------------------------------------------------------- helpers */

/* "2026-03-08T07:00:00" counted as UTC: an instant, or what a wall clock reads. */
static int64_t ts(const char *iso)
{
    char buf[40];
    int64_t ms;
    snprintf(buf, sizeof buf, "%sZ", iso);
    cr_assert_eq(tc_time_parse(buf, &ms), TC_OK, "%s", buf);
    return ms / 1000;
}

static tc_tz_t *load(const char *name)
{
    tc_tz_t *tz = NULL;
    int rc = tc_tz_load(name, &tz);
    cr_assert_eq(rc, TC_OK, "load(%s): %s", name, tc_strerror(rc));
    cr_assert_not_null(tz);
    return tz;
}

static void expect_off(const tc_tz_t *tz, const char *utc_iso, int32_t want)
{
    int32_t got = tc_tz_offset(tz, ts(utc_iso));
    cr_expect_eq(got, want, "offset at %sZ: %d, want %d", utc_iso, got, want);
}

/* The offset changes from `before` to `after` exactly at the instant utc_iso. */
static void expect_change(const tc_tz_t *tz, const char *utc_iso, int32_t before, int32_t after)
{
    int64_t t = ts(utc_iso);
    cr_expect_eq(tc_tz_offset(tz, t - 1), before, "offset just before %sZ", utc_iso);
    cr_expect_eq(tc_tz_offset(tz, t), after, "offset at %sZ", utc_iso);
}

static void expect_utc(const tc_tz_t *tz, const char *local_iso, const char *utc_iso, int kind)
{
    int got_kind = -1;
    int64_t got = tc_tz_to_utc(tz, ts(local_iso), &got_kind);
    int64_t want = ts(utc_iso);
    cr_expect_eq(got, want, "to_utc(%s) = %lld, want %sZ (%lld)", local_iso, (long long)got,
                 utc_iso, (long long)want);
    cr_expect_eq(got_kind, kind, "kind of %s: %d, want %d", local_iso, got_kind, kind);
}

static void read_real(const char *name, uint8_t **buf, size_t *len)
{
    char path[256];
    snprintf(path, sizeof path, ZONEINFO "/%s", name);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    *buf = malloc(256 * 1024);
    cr_assert_not_null(*buf);
    *len = fread(*buf, 1, 256 * 1024, f);
    fclose(f);
    cr_assert_gt(*len, 44);
}

static void write_file(const char *dir, const char *name, const void *data, size_t len)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "%s", path);
    cr_assert_eq(fwrite(data, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void tmp_setup(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/tc-tz-test-XXXXXX");
    cr_assert_not_null(mkdtemp(g_dir));
    cr_assert_eq(setenv("TZDIR", g_dir, 1), 0);
}

static void tmp_teardown(void)
{
    nftw(g_dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* ------------------------------------------------------------------------- TZif builder */

struct zone_spec {
    char version; /* 0 (version 1), '2', '3', '4' */
    size_t ntrans;
    const int64_t *at;
    const uint8_t *idx;
    size_t ntypes;
    const int32_t *off;
    const uint8_t *isdst;
    const char *footer; /* v2+: NULL writes no footer at all */
    uint32_t leapcnt;
    uint32_t isstdcnt, isutcnt; /* indicator bytes written (all 0) */
};

struct bytes {
    uint8_t b[16384];
    size_t n;
};

static void put(struct bytes *o, const void *p, size_t n)
{
    cr_assert_leq(o->n + n, sizeof o->b);
    if (n == 0) /* p may be NULL then, which memcpy does not allow */
        return;
    memcpy(o->b + o->n, p, n);
    o->n += n;
}

static void put32(struct bytes *o, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    put(o, b, 4);
}

static void put64(struct bytes *o, int64_t v)
{
    put32(o, (uint32_t)((uint64_t)v >> 32));
    put32(o, (uint32_t)v);
}

/* isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt */
static void put_header(struct bytes *o, char version, const uint32_t counts[6])
{
    uint8_t h[20] = {'T', 'Z', 'i', 'f', (uint8_t)version};
    put(o, h, sizeof h);
    for (int i = 0; i < 6; i++)
        put32(o, counts[i]);
}

static void put_block(struct bytes *o, const struct zone_spec *s, bool wide)
{
    uint32_t counts[6] = {s->isutcnt,          s->isstdcnt,         s->leapcnt,
                          (uint32_t)s->ntrans, (uint32_t)s->ntypes, 4};
    put_header(o, s->version, counts);
    for (size_t i = 0; i < s->ntrans; i++) {
        if (wide)
            put64(o, s->at[i]);
        else
            put32(o, (uint32_t)(int32_t)s->at[i]);
    }
    put(o, s->idx, s->ntrans);
    for (size_t i = 0; i < s->ntypes; i++) {
        put32(o, (uint32_t)s->off[i]);
        uint8_t rest[2] = {s->isdst ? s->isdst[i] : 0, 0};
        put(o, rest, 2);
    }
    put(o, "ZZZ", 4);
    for (uint32_t i = 0; i < s->leapcnt; i++) {
        if (wide)
            put64(o, 78796800 + i);
        else
            put32(o, 78796800 + i);
        put32(o, i + 1);
    }
    for (uint32_t i = 0; i < s->isstdcnt + s->isutcnt; i++)
        put(o, "", 1);
}

static void build(const struct zone_spec *s, struct bytes *o)
{
    o->n = 0;
    if (s->version == 0) {
        put_block(o, s, false);
        return;
    }
    /* the v1 block a v2+ reader skips: one type, one byte of names */
    static const uint32_t v1[6] = {0, 0, 0, 0, 1, 1};
    put_header(o, s->version, v1);
    put(o, "\0\0\0\0\0\0\0", 7);
    put_block(o, s, true);
    if (s->footer) {
        put(o, "\n", 1);
        put(o, s->footer, strlen(s->footer));
        put(o, "\n", 1);
    }
}

/* Writes the bytes as zone "Crafted" in g_dir (the TZDIR) and loads it. */
static int load_bytes(const void *data, size_t len, tc_tz_t **out)
{
    write_file(g_dir, "Crafted", data, len);
    return tc_tz_load("Crafted", out);
}

static int load_spec(const struct zone_spec *s, tc_tz_t **out)
{
    struct bytes o;
    build(s, &o);
    return load_bytes(o.b, o.n, out);
}

/* A v2 file with no transitions: the footer alone governs every instant. */
static int load_footer(const char *footer, char version, tc_tz_t **out)
{
    static const int32_t off[1] = {-123};
    struct zone_spec s = {.version = version, .ntypes = 1, .off = off, .footer = footer};
    return load_spec(&s, out);
}

static tc_tz_t *footer_zone(const char *footer)
{
    tc_tz_t *tz = NULL;
    int rc = load_footer(footer, '2', &tz);
    cr_assert_eq(rc, TC_OK, "footer \"%s\": %s", footer, tc_strerror(rc));
    return tz;
}

/* ------------------------------------------------------------------------- names */

Test(tz, name_validation)
{
    static const char *const good[] = {
        "UTC",
        "Etc/GMT+5",
        "Etc/GMT-14",
        "America/Argentina/Buenos_Aires",
        "America/Port-au-Prince",
        "EST5EDT",
        "A",
        "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk", /* 63 */
    };
    static const char *const bad[] = {
        "",
        "../etc/passwd",
        "/UTC",
        "Europe//Paris",
        "Europe/",
        "/",
        ".",
        "..",
        "Europe/./Paris",
        "Europe/../Paris",
        "Europe/Paris/..",
        "./UTC",
        "UTC ",
        "Europe/Par is",
        "Europe\\Paris",
        "Europe/Paris\n",
        "Europe/Zürich",
        "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl", /* 64 */
    };
    for (size_t i = 0; i < TC_ARRAY_LEN(good); i++)
        cr_expect(tc_tz_name_valid(good[i]), "rejected \"%s\"", good[i]);
    for (size_t i = 0; i < TC_ARRAY_LEN(bad); i++)
        cr_expect_not(tc_tz_name_valid(bad[i]), "accepted \"%s\"", bad[i]);
    cr_expect_not(tc_tz_name_valid(NULL));
}

/* ------------------------------------------------------------------------- real zones */

Test(tz, utc_loads_even_without_files, .init = tmp_setup, .fini = tmp_teardown)
{
    /* TZDIR is an empty directory: nothing is there to read */
    static const char *const names[] = {"UTC", "Etc/UTC"};
    for (size_t i = 0; i < TC_ARRAY_LEN(names); i++) {
        tc_tz_t *tz = load(names[i]);
        static const int64_t at[] = {INT64_MIN, -5364662400LL, 0, 1772953200, INT64_MAX};
        for (size_t j = 0; j < TC_ARRAY_LEN(at); j++)
            cr_expect_eq(tc_tz_offset(tz, at[j]), 0);
        int kind = -1;
        cr_expect_eq(tc_tz_to_utc(tz, 1772953200, &kind), 1772953200);
        cr_expect_eq(kind, TC_TZ_NORMAL);
        tc_tz_free(tz);
    }
    tc_tz_t *tz = (tc_tz_t *)&tz;
    cr_expect_eq(tc_tz_load("Etc/GMT", &tz), TC_ENOTFOUND, "TZDIR is where zones come from");
    cr_expect_null(tz);
    /* no zone at all reads as UTC */
    int kind = -1;
    cr_expect_eq(tc_tz_offset(NULL, 1772953200), 0);
    cr_expect_eq(tc_tz_to_utc(NULL, 1772953200, &kind), 1772953200);
    cr_expect_eq(kind, TC_TZ_NORMAL);
    tc_tz_free(NULL);
}

Test(tz, new_york_offsets)
{
    tc_tz_t *tz = load("America/New_York");
    expect_change(tz, "2026-03-08T07:00:00", -5 * H, -4 * H);
    expect_change(tz, "2026-11-01T06:00:00", -4 * H, -5 * H);
    expect_off(tz, "2026-01-15T12:00:00", -5 * H);
    expect_off(tz, "2026-07-04T12:00:00", -4 * H);
    expect_off(tz, "1970-01-01T00:00:00", -5 * H);
    tc_tz_free(tz);
}

Test(tz, new_york_gap_fold_and_normal)
{
    tc_tz_t *tz = load("America/New_York");
    /* spring forward: 02:00..02:59:59 does not exist */
    expect_utc(tz, "2026-03-08T01:59:59", "2026-03-08T06:59:59", TC_TZ_NORMAL);
    expect_utc(tz, "2026-03-08T02:00:00", "2026-03-08T07:00:00", TC_TZ_GAP);
    expect_utc(tz, "2026-03-08T02:30:00", "2026-03-08T07:30:00", TC_TZ_GAP);
    expect_utc(tz, "2026-03-08T02:59:59", "2026-03-08T07:59:59", TC_TZ_GAP);
    expect_utc(tz, "2026-03-08T03:00:00", "2026-03-08T07:00:00", TC_TZ_NORMAL);
    expect_utc(tz, "2026-03-08T03:30:00", "2026-03-08T07:30:00", TC_TZ_NORMAL);
    /* fall back: 01:00..01:59:59 happens twice, the EDT one first */
    expect_utc(tz, "2026-11-01T00:59:59", "2026-11-01T04:59:59", TC_TZ_NORMAL);
    expect_utc(tz, "2026-11-01T01:00:00", "2026-11-01T05:00:00", TC_TZ_FOLD);
    expect_utc(tz, "2026-11-01T01:30:00", "2026-11-01T05:30:00", TC_TZ_FOLD);
    expect_utc(tz, "2026-11-01T01:59:59", "2026-11-01T05:59:59", TC_TZ_FOLD);
    expect_utc(tz, "2026-11-01T02:00:00", "2026-11-01T07:00:00", TC_TZ_NORMAL);
    /* ordinary times */
    expect_utc(tz, "2026-01-15T12:00:00", "2026-01-15T17:00:00", TC_TZ_NORMAL);
    expect_utc(tz, "2026-07-04T09:00:00", "2026-07-04T13:00:00", TC_TZ_NORMAL);
    expect_utc(tz, "1999-12-31T23:59:59", "2000-01-01T04:59:59", TC_TZ_NORMAL);
    cr_expect_eq(tc_tz_to_utc(tz, ts("2026-03-08T02:30:00"), NULL), ts("2026-03-08T07:30:00"));
    tc_tz_free(tz);
}

Test(tz, berlin_summer_and_winter)
{
    tc_tz_t *tz = load("Europe/Berlin");
    expect_off(tz, "2026-01-15T12:00:00", 1 * H);
    expect_off(tz, "2026-07-15T12:00:00", 2 * H);
    expect_change(tz, "2026-03-29T01:00:00", 1 * H, 2 * H);
    expect_change(tz, "2026-10-25T01:00:00", 2 * H, 1 * H);
    expect_utc(tz, "2026-03-29T02:30:00", "2026-03-29T01:30:00", TC_TZ_GAP);
    expect_utc(tz, "2026-10-25T02:30:00", "2026-10-25T00:30:00", TC_TZ_FOLD);
    expect_utc(tz, "2026-07-15T14:00:00", "2026-07-15T12:00:00", TC_TZ_NORMAL);
    expect_utc(tz, "2026-12-24T18:00:00", "2026-12-24T17:00:00", TC_TZ_NORMAL);
    tc_tz_free(tz);
}

Test(tz, half_hour_offsets)
{
    tc_tz_t *tz = load("Asia/Kolkata");
    expect_off(tz, "2026-01-15T12:00:00", 5 * H + 1800);
    expect_off(tz, "2026-07-15T12:00:00", 5 * H + 1800);
    expect_off(tz, "2100-07-15T12:00:00", 5 * H + 1800);
    expect_utc(tz, "2026-01-15T10:00:00", "2026-01-15T04:30:00", TC_TZ_NORMAL);
    tc_tz_free(tz);

    /* southern hemisphere: DST from October to April, across the new year */
    tz = load("Australia/Adelaide");
    expect_off(tz, "2026-01-15T00:00:00", 10 * H + 1800);
    expect_off(tz, "2026-07-15T00:00:00", 9 * H + 1800);
    expect_change(tz, "2026-04-04T16:30:00", 10 * H + 1800, 9 * H + 1800);
    expect_change(tz, "2026-10-03T16:30:00", 9 * H + 1800, 10 * H + 1800);
    expect_off(tz, "2026-12-31T13:00:00", 10 * H + 1800); /* 23:30 local, New Year's Eve */
    expect_off(tz, "2026-12-31T14:00:00", 10 * H + 1800); /* 00:30 local, January 1 */
    expect_utc(tz, "2027-01-01T00:30:00", "2026-12-31T14:00:00", TC_TZ_NORMAL);
    expect_utc(tz, "2026-04-05T02:30:00", "2026-04-04T16:00:00", TC_TZ_FOLD);
    expect_utc(tz, "2026-10-04T02:30:00", "2026-10-03T17:00:00", TC_TZ_GAP);
    expect_off(tz, "2100-01-01T00:00:00", 10 * H + 1800);
    expect_change(tz, "2100-04-03T16:30:00", 10 * H + 1800, 9 * H + 1800);
    expect_change(tz, "2100-10-02T16:30:00", 9 * H + 1800, 10 * H + 1800);
    tc_tz_free(tz);
}

/* DST of 30 minutes: +10:30 standard, +11 in summer. */
Test(tz, lord_howe)
{
    tc_tz_t *tz = load("Australia/Lord_Howe");
    expect_off(tz, "2026-07-15T00:00:00", 10 * H + 1800);
    expect_off(tz, "2026-01-15T00:00:00", 11 * H);
    expect_change(tz, "2026-04-04T15:00:00", 11 * H, 10 * H + 1800);
    expect_change(tz, "2026-10-03T15:30:00", 10 * H + 1800, 11 * H);
    expect_utc(tz, "2026-10-04T02:15:00", "2026-10-03T15:45:00", TC_TZ_GAP);
    expect_utc(tz, "2026-10-04T02:30:00", "2026-10-03T15:30:00", TC_TZ_NORMAL);
    expect_utc(tz, "2026-04-05T01:45:00", "2026-04-04T14:45:00", TC_TZ_FOLD);
    expect_utc(tz, "2026-04-05T02:00:00", "2026-04-04T15:30:00", TC_TZ_NORMAL);
    expect_change(tz, "2100-04-03T15:00:00", 11 * H, 10 * H + 1800);
    expect_change(tz, "2100-10-02T15:30:00", 10 * H + 1800, 11 * H);
    expect_utc(tz, "2100-10-03T02:15:00", "2100-10-02T15:45:00", TC_TZ_GAP);
    tc_tz_free(tz);
}

/* Far past the last transition in the files (2037), only the footer can answer. */
Test(tz, far_future_uses_the_footer)
{
    tc_tz_t *ny = load("America/New_York");
    expect_change(ny, "2100-03-14T07:00:00", -5 * H, -4 * H);
    expect_change(ny, "2100-11-07T06:00:00", -4 * H, -5 * H);
    expect_utc(ny, "2100-03-14T02:30:00", "2100-03-14T07:30:00", TC_TZ_GAP);
    expect_utc(ny, "2100-11-07T01:30:00", "2100-11-07T05:30:00", TC_TZ_FOLD);
    expect_off(ny, "9999-07-01T00:00:00", -4 * H);
    expect_off(ny, "9999-12-01T00:00:00", -5 * H);
    tc_tz_t *be = load("Europe/Berlin");
    expect_change(be, "2100-03-28T01:00:00", 1 * H, 2 * H);
    expect_change(be, "2100-10-31T01:00:00", 2 * H, 1 * H);
    expect_utc(be, "2100-03-28T02:30:00", "2100-03-28T01:30:00", TC_TZ_GAP);
    expect_utc(be, "2100-10-31T02:30:00", "2100-10-31T00:30:00", TC_TZ_FOLD);
    /* a million 400-year cycles on, the calendar (and the rule) repeats exactly */
    const int64_t cycle = 146097LL * 86400;
    int64_t july = ts("2026-07-01T12:00:00") + 1000000 * cycle;
    cr_expect_eq(tc_tz_offset(ny, july), -4 * H);
    cr_expect_eq(tc_tz_offset(ny, july + 183 * 86400), -5 * H);
    cr_expect_eq(tc_tz_offset(be, ts("2026-03-29T01:00:00") + 1000000 * cycle - 1), 1 * H);
    cr_expect_eq(tc_tz_offset(be, ts("2026-03-29T01:00:00") + 1000000 * cycle), 2 * H);
    /* the ends of the time scale: defined answers, no overflow (UBSan watches) */
    int32_t hi = tc_tz_offset(ny, INT64_MAX);
    cr_expect(hi == -4 * H || hi == -5 * H, "offset at INT64_MAX: %d", hi);
    int kind = -1;
    int64_t u = tc_tz_to_utc(ny, INT64_MAX, &kind);
    cr_expect_gt(u, INT64_MAX - 3 * 86400);
    cr_expect(kind == TC_TZ_NORMAL || kind == TC_TZ_FOLD || kind == TC_TZ_GAP);
    u = tc_tz_to_utc(ny, INT64_MIN, &kind);
    cr_expect_lt(u, INT64_MIN + 3 * 86400);
    tc_tz_free(ny);
    tc_tz_free(be);
}

/* RFC 8536 section 3.2: before the first transition, time type 0 (local mean time here). */
Test(tz, before_the_first_transition)
{
    tc_tz_t *tz = load("America/New_York");
    expect_change(tz, "1883-11-18T17:00:00", -17762, -5 * H);
    expect_off(tz, "1800-01-01T00:00:00", -17762);
    cr_expect_eq(tc_tz_offset(tz, INT64_MIN), -17762);
    expect_utc(tz, "1800-01-01T00:00:00", "1800-01-01T04:56:02", TC_TZ_NORMAL);
    tc_tz_free(tz);
    tz = load("Europe/Berlin");
    expect_change(tz, "1893-03-31T23:06:32", 3208, 1 * H);
    expect_off(tz, "1850-06-01T00:00:00", 3208);
    tc_tz_free(tz);
    tz = load("Asia/Kolkata");
    expect_off(tz, "1800-01-01T00:00:00", 21208);
    tc_tz_free(tz);
}

Test(tz, missing_zones)
{
    static const char *const names[] = {"Nowhere/Atlantis", "Mars", "America",
                                        "America/New_York/Queens"};
    for (size_t i = 0; i < TC_ARRAY_LEN(names); i++) {
        tc_tz_t *tz = (tc_tz_t *)&tz;
        cr_expect_eq(tc_tz_load(names[i], &tz), TC_ENOTFOUND, "%s", names[i]);
        cr_expect_null(tz, "%s: *out cleared", names[i]);
    }
}

/* The file at TZDIR/../secret is a valid zone: reaching it would load it, so TC_EINVAL proves
 * the name was refused before any path was opened. */
Test(tz, path_traversal_is_refused_before_the_file_system, .init = tmp_setup, .fini = tmp_teardown)
{
    uint8_t *buf;
    size_t len;
    read_real("Europe/Berlin", &buf, &len);
    char zones[96];
    snprintf(zones, sizeof zones, "%s/zones", g_dir);
    cr_assert_eq(mkdir(zones, 0700), 0);
    write_file(g_dir, "secret", buf, len);
    write_file(zones, "Real", buf, len);
    free(buf);
    cr_assert_eq(setenv("TZDIR", zones, 1), 0);
    tc_tz_t *tz = load("Real");
    tc_tz_free(tz);
    static const char *const names[] = {"../secret", "Etc/../../secret", "/../secret",
                                        "./../secret", "..//secret"};
    for (size_t i = 0; i < TC_ARRAY_LEN(names); i++) {
        tz = (tc_tz_t *)&tz;
        cr_expect_eq(tc_tz_load(names[i], &tz), TC_EINVAL, "%s", names[i]);
        cr_expect_null(tz);
    }
    cr_expect_eq(tc_tz_load(NULL, &tz), TC_EINVAL);
    cr_expect_eq(tc_tz_load("UTC", NULL), TC_EINVAL);
}

/* ------------------------------------------------------------------------- hostile files */

Test(tz, truncated_copies_are_refused, .init = tmp_setup, .fini = tmp_teardown)
{
    static const char *const zones[] = {"America/New_York", "Asia/Kolkata"};
    for (size_t z = 0; z < TC_ARRAY_LEN(zones); z++) {
        uint8_t *buf;
        size_t len;
        read_real(zones[z], &buf, &len);
        tc_tz_t *tz;
        cr_assert_eq(load_bytes(buf, len, &tz), TC_OK, "the whole file loads");
        tc_tz_free(tz);
        for (size_t n = 0; n < len; n++) {
            tz = (tc_tz_t *)&tz;
            int rc = load_bytes(buf, n, &tz);
            cr_assert_eq(rc, TC_EINVAL, "%s cut to %zu of %zu bytes: %s", zones[z], n, len,
                         tc_strerror(rc));
            cr_assert_null(tz);
        }
        free(buf);
    }
}

/* (.timeout: a FIFO that blocked open() would otherwise hang the run) */
Test(tz, garbage_and_special_files_are_refused, .init = tmp_setup, .fini = tmp_teardown,
     .timeout = 20)
{
    tc_tz_t *tz;
    uint8_t junk[4096];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof junk; i++) {
        x = x * 1103515245u + 12345u;
        junk[i] = (uint8_t)(x >> 16);
    }
    cr_expect_eq(load_bytes(junk, sizeof junk, &tz), TC_EINVAL);
    cr_expect_eq(load_bytes("", 0, &tz), TC_EINVAL);
    memcpy(junk, "TZif2", 5); /* the magic, then random counts */
    cr_expect_eq(load_bytes(junk, sizeof junk, &tz), TC_EINVAL);
    /* past the size cap, even with a valid start */
    uint8_t *big = calloc(1, 300 * 1024);
    cr_assert_not_null(big);
    uint8_t *real;
    size_t len;
    read_real("Europe/Berlin", &real, &len);
    memcpy(big, real, len);
    cr_expect_eq(load_bytes(big, 300 * 1024, &tz), TC_EINVAL);
    free(big);
    free(real);
    /* a FIFO must neither block open() nor pass for a zone */
    char path[128];
    snprintf(path, sizeof path, "%s/Fifo", g_dir);
    cr_assert_eq(mkfifo(path, 0600), 0);
    tz = (tc_tz_t *)&tz;
    cr_expect_eq(tc_tz_load("Fifo", &tz), TC_EINVAL);
    cr_expect_null(tz);
}

Test(tz, malformed_structures_are_refused, .init = tmp_setup, .fini = tmp_teardown)
{
    const int64_t at[2] = {1000, 2000};
    const uint8_t idx[2] = {1, 0};
    const int32_t off[2] = {0, 3600};
    struct zone_spec ok = {
        .version = '2', .ntrans = 2, .at = at, .idx = idx, .ntypes = 2, .off = off, .footer = ""};
    tc_tz_t *tz;
    cr_assert_eq(load_spec(&ok, &tz), TC_OK);
    tc_tz_free(tz);

    struct zone_spec s = ok;
    const int64_t backwards[2] = {2000, 1000};
    s.at = backwards;
    cr_expect_eq(load_spec(&s, &tz), TC_EINVAL, "transitions out of order");
    const int64_t same[2] = {1000, 1000};
    s.at = same;
    cr_expect_eq(load_spec(&s, &tz), TC_EINVAL, "transitions not strictly ascending");
    s = ok;
    const uint8_t bad_idx[2] = {1, 2};
    s.idx = bad_idx;
    cr_expect_eq(load_spec(&s, &tz), TC_EINVAL, "type index out of range");
    s = ok;
    s.ntypes = 0;
    s.ntrans = 0;
    cr_expect_eq(load_spec(&s, &tz), TC_EINVAL, "no types");
    s = ok;
    const int32_t far_off[2] = {0, 26 * H};
    s.off = far_off;
    cr_expect_eq(load_spec(&s, &tz), TC_EINVAL, "UT offset of 26 hours");
    const int32_t min_off[2] = {0, INT32_MIN};
    s.off = min_off;
    cr_expect_eq(load_spec(&s, &tz), TC_EINVAL, "UT offset of -2^31");
    s = ok;
    s.version = '5';
    cr_expect_eq(load_spec(&s, &tz), TC_EINVAL, "unknown version");
    s = ok;
    s.leapcnt = 2;
    cr_expect_eq(load_spec(&s, &tz), TC_EINVAL, "leap-second records");
    s = ok;
    s.footer = NULL;
    cr_expect_eq(load_spec(&s, &tz), TC_EINVAL, "v2 without its footer");

    struct bytes o;
    build(&ok, &o);
    o.n--; /* the footer's closing newline */
    cr_expect_eq(load_bytes(o.b, o.n, &tz), TC_EINVAL, "footer not terminated");
    build(&ok, &o);
    o.b[4] = '3'; /* v1 header says 3, v2 header says 2 */
    cr_expect_eq(load_bytes(o.b, o.n, &tz), TC_EINVAL, "headers disagree on the version");
    build(&ok, &o);
    const size_t v2 = 44 + 6 + 1;
    o.b[v2 + 32] = 0x7f; /* v2 timecnt's high byte: far more transitions than bytes */
    cr_expect_eq(load_bytes(o.b, o.n, &tz), TC_EINVAL, "timecnt beyond the file");
    s = ok;
    s.isstdcnt = s.isutcnt = 2;
    cr_expect_eq(load_spec(&s, &tz), TC_OK, "indicators for every type");
    tc_tz_free(tz);
    s.isstdcnt = 1;
    cr_expect_eq(load_spec(&s, &tz), TC_EINVAL, "isstdcnt neither 0 nor typecnt");
    s.isstdcnt = 2;
    s.isutcnt = 3;
    cr_expect_eq(load_spec(&s, &tz), TC_EINVAL, "isutcnt neither 0 nor typecnt");
    struct zone_spec nul = ok;
    nul.footer = "UTC0";
    build(&nul, &o);
    cr_expect_eq(load_bytes(o.b, o.n, &tz), TC_OK);
    tc_tz_free(tz);
    o.b[o.n - 3] = '\0'; /* "UT\00": a NUL inside the footer */
    cr_expect_eq(load_bytes(o.b, o.n, &tz), TC_EINVAL, "NUL in the footer");

    /* extra data after the footer is left for future versions */
    build(&ok, &o);
    put(&o, "future\n", 7);
    cr_expect_eq(load_bytes(o.b, o.n, &tz), TC_OK);
    tc_tz_free(tz);
}

/* Random bytes flipped in a real file: every outcome is a clean TC_OK or TC_EINVAL, and a
 * zone that loads answers lookups without reading out of bounds (ASan watches). */
Test(tz, mutated_files_never_crash, .init = tmp_setup, .fini = tmp_teardown)
{
    uint8_t *real;
    size_t len;
    read_real("America/New_York", &real, &len);
    uint8_t *buf = malloc(len);
    cr_assert_not_null(buf);
    uint32_t x = 2024;
    int loaded = 0;
    for (int round = 0; round < 1500; round++) {
        memcpy(buf, real, len);
        int flips = 1 + round % 4;
        for (int f = 0; f < flips; f++) {
            x = x * 1103515245u + 12345u;
            size_t at = (x >> 8) % len;
            x = x * 1103515245u + 12345u;
            buf[at] ^= (uint8_t)(1u << ((x >> 16) % 8));
        }
        tc_tz_t *tz = NULL;
        int rc = load_bytes(buf, len, &tz);
        cr_assert(rc == TC_OK || rc == TC_EINVAL, "round %d: %s", round, tc_strerror(rc));
        if (rc != TC_OK)
            continue;
        loaded++;
        for (int64_t t = -4000000000LL; t < 8000000000LL; t += 97654321) {
            int32_t o = tc_tz_offset(tz, t);
            cr_assert(o > -26 * H && o < 26 * H);
            tc_tz_to_utc(tz, t, NULL);
        }
        tc_tz_free(tz);
    }
    cr_expect_gt(loaded, 100, "flips in transition times and the like still load");
    free(buf);
    free(real);
}

/* ------------------------------------------------------------------------- POSIX footer */

Test(tz, footer_alone_us_rules, .init = tmp_setup, .fini = tmp_teardown)
{
    tc_tz_t *tz = footer_zone("EST5EDT,M3.2.0,M11.1.0");
    expect_change(tz, "2026-03-08T07:00:00", -5 * H, -4 * H);
    expect_change(tz, "2026-11-01T06:00:00", -4 * H, -5 * H);
    expect_change(tz, "2100-03-14T07:00:00", -5 * H, -4 * H);
    expect_off(tz, "1900-07-01T00:00:00", -4 * H); /* no transitions: the footer, always */
    expect_off(tz, "1900-01-01T00:00:00", -5 * H);
    expect_utc(tz, "2026-03-08T02:30:00", "2026-03-08T07:30:00", TC_TZ_GAP);
    expect_utc(tz, "2026-11-01T01:30:00", "2026-11-01T05:30:00", TC_TZ_FOLD);
    expect_utc(tz, "2026-07-04T09:00:00", "2026-07-04T13:00:00", TC_TZ_NORMAL);
    tc_tz_free(tz);
}

Test(tz, footer_alone_fixed_offsets, .init = tmp_setup, .fini = tmp_teardown)
{
    static const struct {
        const char *footer;
        int32_t off;
    } cases[] = {
        {"<+0330>-3:30", 3 * H + 1800},
        {"<-03>3", -3 * H},
        {"IST-5:30", 5 * H + 1800},
        {"UTC0", 0},
        {"<+1245>-12:45", 12 * H + 2700},
        {"<-0930>+9:30", -(9 * H + 1800)},
        {"LMT-0:53:28", 3208},
        {"<+14>-14", 14 * H},
    };
    for (size_t i = 0; i < TC_ARRAY_LEN(cases); i++) {
        tc_tz_t *tz = footer_zone(cases[i].footer);
        cr_expect_eq(tc_tz_offset(tz, ts("2026-06-01T00:00:00")), cases[i].off, "%s",
                     cases[i].footer);
        cr_expect_eq(tc_tz_offset(tz, INT64_MIN), cases[i].off, "%s", cases[i].footer);
        int kind = -1;
        cr_expect_eq(tc_tz_to_utc(tz, 1000000000, &kind), 1000000000 - cases[i].off);
        cr_expect_eq(kind, TC_TZ_NORMAL);
        tc_tz_free(tz);
    }
}

/* Jn never counts February 29; n (zero-based) does. Both checked in a leap year and not. */
Test(tz, footer_julian_days, .init = tmp_setup, .fini = tmp_teardown)
{
    tc_tz_t *tz = footer_zone("AAA-1BBB,J60,J300");
    expect_change(tz, "2024-03-01T01:00:00", 1 * H, 2 * H);
    expect_change(tz, "2025-03-01T01:00:00", 1 * H, 2 * H);
    expect_change(tz, "2024-10-27T00:00:00", 2 * H, 1 * H);
    expect_change(tz, "2025-10-27T00:00:00", 2 * H, 1 * H);
    expect_off(tz, "2024-02-29T12:00:00", 1 * H);
    tc_tz_free(tz);
    tz = footer_zone("AAA-1BBB,59,299");
    expect_change(tz, "2024-02-29T01:00:00", 1 * H, 2 * H);
    expect_change(tz, "2025-03-01T01:00:00", 1 * H, 2 * H);
    expect_change(tz, "2024-10-26T00:00:00", 2 * H, 1 * H);
    expect_change(tz, "2025-10-27T00:00:00", 2 * H, 1 * H);
    tc_tz_free(tz);
}

/* RFC 8536 hours outside 0..24 and explicit DST offsets. */
Test(tz, footer_extended_hours, .init = tmp_setup, .fini = tmp_teardown)
{
    tc_tz_t *tz = footer_zone("<-02>2<-01>,M3.5.0/-1,M10.5.0/0"); /* America/Nuuk */
    expect_change(tz, "2026-03-29T01:00:00", -2 * H, -1 * H);
    expect_change(tz, "2026-10-25T01:00:00", -1 * H, -2 * H);
    tc_tz_free(tz);
    tz = footer_zone("<-04>4<-03>,M9.1.6/24,M4.1.6/24"); /* America/Santiago */
    expect_change(tz, "2026-04-05T03:00:00", -3 * H, -4 * H);
    expect_change(tz, "2026-09-06T04:00:00", -4 * H, -3 * H);
    expect_utc(tz, "2026-09-06T00:30:00", "2026-09-06T04:30:00", TC_TZ_GAP);
    expect_utc(tz, "2026-04-04T23:30:00", "2026-04-05T02:30:00", TC_TZ_FOLD);
    tc_tz_free(tz);
    tz = footer_zone("XXX0YYY,M3.1.0/167,M10.1.0/-167");
    expect_change(tz, "2026-03-07T23:00:00", 0, 1 * H);
    expect_change(tz, "2026-09-27T00:00:00", 1 * H, 0);
    tc_tz_free(tz);
    tz = footer_zone("IST-1GMT0,M10.5.0,M3.5.0/1"); /* Europe/Dublin: negative DST */
    expect_change(tz, "2026-03-29T01:00:00", 0, 1 * H);
    expect_change(tz, "2026-10-25T01:00:00", 1 * H, 0);
    expect_off(tz, "2026-01-15T00:00:00", 0);
    expect_utc(tz, "2026-03-29T01:30:00", "2026-03-29T01:30:00", TC_TZ_GAP);
    expect_utc(tz, "2026-10-25T01:30:00", "2026-10-25T00:30:00", TC_TZ_FOLD);
    tc_tz_free(tz);
    tz = footer_zone("ACST-9:30ACDT,M10.1.0,M4.1.0/3"); /* Australia/Adelaide */
    expect_change(tz, "2026-04-04T16:30:00", 10 * H + 1800, 9 * H + 1800);
    expect_change(tz, "2026-10-03T16:30:00", 9 * H + 1800, 10 * H + 1800);
    expect_off(tz, "2027-01-01T00:00:00", 10 * H + 1800);
    tc_tz_free(tz);
    tz = footer_zone("<+1030>-10:30<+11>-11,M10.1.0,M4.1.0"); /* Australia/Lord_Howe */
    expect_change(tz, "2026-04-04T15:00:00", 11 * H, 10 * H + 1800);
    expect_change(tz, "2026-10-03T15:30:00", 10 * H + 1800, 11 * H);
    tc_tz_free(tz);
}

/* RFC 8536 section 3.3.1: DST all year when it starts Jan 1 00:00 and ends Dec 31 at 24:00
 * plus the DST difference: no change, no gap and no fold at the new year. */
Test(tz, footer_all_year_dst, .init = tmp_setup, .fini = tmp_teardown)
{
    tc_tz_t *tz = NULL;
    cr_assert_eq(load_footer("EST5EDT,0/0,J365/25", '3', &tz), TC_OK);
    static const char *const at[] = {"2026-01-01T05:00:00", "2026-01-01T04:59:59",
                                     "2026-07-01T00:00:00", "2024-12-31T23:00:00",
                                     "2100-01-01T05:00:00", "2027-01-01T05:00:00"};
    for (size_t i = 0; i < TC_ARRAY_LEN(at); i++)
        expect_off(tz, at[i], -4 * H);
    expect_utc(tz, "2026-12-31T23:30:00", "2027-01-01T03:30:00", TC_TZ_NORMAL);
    expect_utc(tz, "2027-01-01T00:30:00", "2027-01-01T04:30:00", TC_TZ_NORMAL);
    tc_tz_free(tz);
}

Test(tz, footer_versions_and_data_handover, .init = tmp_setup, .fini = tmp_teardown)
{
    static const char versions[] = {'2', '3', '4'};
    for (size_t i = 0; i < TC_ARRAY_LEN(versions); i++) {
        tc_tz_t *tz = NULL;
        cr_expect_eq(load_footer("<+0330>-3:30", versions[i], &tz), TC_OK, "version %c",
                     versions[i]);
        tc_tz_free(tz);
    }
    /* data until 2000-01-01, then the footer: a fixed +2 becomes US rules */
    const int64_t at[2] = {0, 946684800};
    const uint8_t idx[2] = {1, 2};
    const int32_t off[3] = {1000, 7200, -5 * H};
    struct zone_spec s = {.version = '2',
                          .ntrans = 2,
                          .at = at,
                          .idx = idx,
                          .ntypes = 3,
                          .off = off,
                          .footer = "EST5EDT,M3.2.0,M11.1.0"};
    tc_tz_t *tz = NULL;
    cr_assert_eq(load_spec(&s, &tz), TC_OK);
    cr_expect_eq(tc_tz_offset(tz, -1), 1000, "type 0 before the first transition");
    cr_expect_eq(tc_tz_offset(tz, 0), 7200);
    cr_expect_eq(tc_tz_offset(tz, 946684799), 7200);
    cr_expect_eq(tc_tz_offset(tz, 946684800), -5 * H);
    expect_off(tz, "1999-07-01T00:00:00", 7200);
    expect_off(tz, "2000-07-01T00:00:00", -4 * H);
    expect_change(tz, "2026-03-08T07:00:00", -5 * H, -4 * H);
    /* the handover itself: 02:00 local becomes 19:00 the day before, a fold of 7 hours */
    expect_utc(tz, "1999-12-31T20:00:00", "1999-12-31T18:00:00", TC_TZ_FOLD);
    tc_tz_free(tz);
    /* an empty footer: the last type lasts for ever */
    s.footer = "";
    cr_assert_eq(load_spec(&s, &tz), TC_OK);
    expect_off(tz, "2026-07-01T00:00:00", -5 * H);
    tc_tz_free(tz);
}

Test(tz, version_1_files, .init = tmp_setup, .fini = tmp_teardown)
{
    const int64_t at[3] = {-2000000000LL, 0, 2000000000LL};
    const uint8_t idx[3] = {1, 2, 1};
    const int32_t off[3] = {-100, 3600, 7200};
    const uint8_t isdst[3] = {0, 0, 1};
    struct zone_spec s = {
        .version = 0, .ntrans = 3, .at = at, .idx = idx, .ntypes = 3, .off = off, .isdst = isdst};
    tc_tz_t *tz = NULL;
    cr_assert_eq(load_spec(&s, &tz), TC_OK);
    cr_expect_eq(tc_tz_offset(tz, -2000000001LL), -100);
    cr_expect_eq(tc_tz_offset(tz, -2000000000LL), 3600);
    cr_expect_eq(tc_tz_offset(tz, -1), 3600);
    cr_expect_eq(tc_tz_offset(tz, 0), 7200);
    cr_expect_eq(tc_tz_offset(tz, 2000000000LL), 3600);
    cr_expect_eq(tc_tz_offset(tz, INT64_MAX), 3600, "no footer: the last type lasts");
    /* at 0 the clock jumps from 01:00 to 02:00: 01:30 is read on the +1 clock */
    int kind = -1;
    cr_expect_eq(tc_tz_to_utc(tz, 5400, &kind), 1800);
    cr_expect_eq(kind, TC_TZ_GAP);
    cr_expect_eq(tc_tz_to_utc(tz, 1800, &kind), -1800);
    cr_expect_eq(kind, TC_TZ_NORMAL);
    tc_tz_free(tz);
}

Test(tz, footer_syntax_errors, .init = tmp_setup, .fini = tmp_teardown)
{
    static const char *const bad[] = {
        "EST5EDT",                      /* DST without dates */
        "EST5EDT4",                     /* the same, with an offset */
        "EST",                          /* no offset */
        "ES5",                          /* abbreviation too short */
        "<+3>-3",                       /* quoted, too short */
        "<+03-3",                       /* unclosed */
        "<>3",                          /* empty */
        "E5T5",                         /* digit in an unquoted name */
        "EST25",                        /* offset hours */
        "EST5:60",                      /* offset minutes */
        "EST5:00:60",                   /* offset seconds */
        "EST 5",                        /* space */
        "EST5x",                        /* trailing junk */
        "EST5EDT,M3.2.0",               /* one date */
        "EST5EDT,M3.2.0,",              /* empty second date */
        "EST5EDT,M3.2.0,M11.1.0,",      /* a third */
        "EST5EDT,M13.2.0,M11.1.0",      /* month */
        "EST5EDT,M0.2.0,M11.1.0",       /* month */
        "EST5EDT,M3.0.0,M11.1.0",       /* week */
        "EST5EDT,M3.6.0,M11.1.0",       /* week */
        "EST5EDT,M3.2.7,M11.1.0",       /* weekday */
        "EST5EDT,M3.2,M11.1.0",         /* incomplete */
        "EST5EDT,J0,J300",              /* Jn starts at 1 */
        "EST5EDT,J366,J300",            /* Jn ends at 365 */
        "EST5EDT,366,1",                /* n ends at 365 */
        "EST5EDT,M3.2.0/168,M11.1.0",   /* change hour beyond 167 */
        "EST5EDT,M3.2.0/-168,M11.1.0",  /* and below -167 */
        "EST5EDT,M3.2.0/2:,M11.1.0",    /* empty minutes */
        "EST5EDT25,M3.2.0,M11.1.0",     /* DST offset hours */
        "EST5EDT,M3.2.0,M11.1.0 ",      /* trailing space */
        "EST5EDT;M3.2.0,M11.1.0",       /* separator */
        "EST5EDT,X3.2.0,M11.1.0",       /* date form */
        "\x01\x02\x03",                 /* binary */
        "EST5EDT,M3.2.0,M11.1.0\rjunk", /* CR */
    };
    for (size_t i = 0; i < TC_ARRAY_LEN(bad); i++) {
        tc_tz_t *tz = (tc_tz_t *)&tz;
        cr_expect_eq(load_footer(bad[i], '3', &tz), TC_EINVAL, "accepted footer \"%s\"", bad[i]);
        cr_expect_null(tz);
    }
    /* a footer longer than any real one is refused rather than cut */
    char longer[200];
    memset(longer, 'A', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    memcpy(longer + sizeof longer - 3, "-1", 2);
    tc_tz_t *tz;
    cr_expect_eq(load_footer(longer, '2', &tz), TC_EINVAL);
}

/* ------------------------------------------------------------------------- oracles */

/* glibc's own TZif reader and TZ-string parser as an independent implementation. */
static int32_t glibc_offset(int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    cr_assert_not_null(localtime_r(&tt, &tm), "localtime_r(%lld)", (long long)t);
    return (int32_t)tm.tm_gmtoff;
}

/* The first instant in (lo, hi] where our offset differs from the one at lo. */
static int64_t bisect_change(const tc_tz_t *tz, int64_t lo, int64_t hi)
{
    int32_t o = tc_tz_offset(tz, lo);
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;
        if (tc_tz_offset(tz, mid) == o)
            lo = mid;
        else
            hi = mid;
    }
    return hi;
}

static void compare_with_glibc(const char *name)
{
    const int64_t from = -5364662400LL; /* 1800 */
    const int64_t to = 7258118400LL;    /* 2200 */
    const int64_t step = 5 * 86400 + 7 * H + 13;
    tc_tz_t *tz = load(name);
    cr_assert_eq(setenv("TZ", name, 1), 0);
    tzset();
    int32_t prev = tc_tz_offset(tz, from);
    cr_assert_eq(prev, glibc_offset(from), "%s at %lld", name, (long long)from);
    for (int64_t t = from + step; t < to; t += step) {
        int32_t o = tc_tz_offset(tz, t);
        cr_assert_eq(o, glibc_offset(t), "%s at %lld: %d", name, (long long)t, o);
        if (o != prev) { /* the change itself, to the second */
            int64_t c = bisect_change(tz, t - step, t);
            cr_assert_eq(tc_tz_offset(tz, c - 1), glibc_offset(c - 1), "%s before %lld", name,
                         (long long)c);
            cr_assert_eq(tc_tz_offset(tz, c), glibc_offset(c), "%s at %lld", name, (long long)c);
        }
        /* every wall time that exists maps back to an instant that reads it, the earliest */
        int64_t w = t + o;
        int kind = -1;
        int64_t u = tc_tz_to_utc(tz, w, &kind);
        cr_assert_neq(kind, TC_TZ_GAP, "%s: wall %lld of instant %lld", name, (long long)w,
                      (long long)t);
        cr_assert_eq(u + tc_tz_offset(tz, u), w, "%s: wall %lld", name, (long long)w);
        cr_assert_leq(u, t, "%s: wall %lld", name, (long long)w);
        prev = o;
    }
    tc_tz_free(tz);
}

/* Every zone tzdata defines (tzdata.zi "Z" lines), 1800 to 2200, against glibc. */
Test(tz, every_zone_agrees_with_glibc, .timeout = 600)
{
    cr_assert_eq(unsetenv("TZDIR"), 0);
    FILE *f = fopen(ZONEINFO "/tzdata.zi", "r");
    cr_assert_not_null(f, "tzdata is installed");
    char line[512];
    int zones = 0;
    while (fgets(line, sizeof line, f)) {
        char name[TC_TZ_NAME_MAX + 1];
        if (line[0] != 'Z' || sscanf(line, "Z %64s", name) != 1)
            continue;
        compare_with_glibc(name);
        zones++;
    }
    fclose(f);
    cr_expect_gt(zones, 300);
}

/* The answer by definition: every offset seen within a day of w that reads w. */
static void expect_to_utc_brute(const tc_tz_t *tz, const char *name, int64_t w, int64_t change)
{
    int64_t valid[64];
    int nvalid = 0;
    for (int64_t d = -27 * H; d <= 27 * H; d += 600) {
        int32_t o = tc_tz_offset(tz, w + d);
        if (tc_tz_offset(tz, w - o) != o)
            continue;
        int j = 0;
        while (j < nvalid && valid[j] != w - o)
            j++;
        if (j == nvalid && nvalid < 64)
            valid[nvalid++] = w - o;
    }
    int kind = -1;
    int64_t got = tc_tz_to_utc(tz, w, &kind);
    if (nvalid == 0) {
        int32_t before = tc_tz_offset(tz, change - 1), after = tc_tz_offset(tz, change);
        cr_assert(before < after && change + before <= w && w < change + after,
                  "%s: wall %lld exists nowhere yet is not in the gap at %lld", name, (long long)w,
                  (long long)change);
        cr_assert_eq(kind, TC_TZ_GAP, "%s: wall %lld", name, (long long)w);
        cr_assert_eq(got, w - before, "%s: gap wall %lld", name, (long long)w);
        return;
    }
    int64_t best = valid[0];
    for (int j = 1; j < nvalid; j++)
        best = valid[j] < best ? valid[j] : best;
    cr_assert_eq(got, best, "%s: wall %lld -> %lld, want %lld", name, (long long)w, (long long)got,
                 (long long)best);
    cr_assert_eq(kind, nvalid > 1 ? TC_TZ_FOLD : TC_TZ_NORMAL, "%s: wall %lld", name, (long long)w);
}

/* Around every change of a few years (data and footer), wall times at 5-minute steps and at
 * each edge of the gap or fold. */
Test(tz, to_utc_matches_brute_force_around_changes)
{
    static const char *const zones[] = {
        "America/New_York", "Europe/Berlin",    "Australia/Adelaide", "Australia/Lord_Howe",
        "Europe/Dublin",    "America/Santiago", "America/Nuuk",       "Pacific/Apia",
        "Asia/Kolkata",     "America/St_Johns"};
    static const char *const years[] = {"1942-01-01T00:00:00", "1995-01-01T00:00:00",
                                        "2026-01-01T00:00:00", "2100-01-01T00:00:00"};
    int changes = 0;
    for (size_t z = 0; z < TC_ARRAY_LEN(zones); z++) {
        tc_tz_t *tz = load(zones[z]);
        for (size_t y = 0; y < TC_ARRAY_LEN(years); y++) {
            int64_t start = ts(years[y]);
            for (int64_t t = start; t < start + 366 * 86400; t += 6 * H) {
                if (tc_tz_offset(tz, t) == tc_tz_offset(tz, t + 6 * H))
                    continue;
                int64_t c = bisect_change(tz, t, t + 6 * H);
                int32_t b = tc_tz_offset(tz, c - 1), a = tc_tz_offset(tz, c);
                int32_t lo = b < a ? b : a, hi = b < a ? a : b;
                for (int64_t w = c + lo - 2 * H; w <= c + hi + 2 * H; w += 300)
                    expect_to_utc_brute(tz, zones[z], w, c);
                const int64_t edges[] = {c + b - 1, c + b, c + a - 1, c + a};
                for (size_t e = 0; e < TC_ARRAY_LEN(edges); e++)
                    expect_to_utc_brute(tz, zones[z], edges[e], c);
                changes++;
            }
        }
        tc_tz_free(tz);
    }
    cr_expect_gt(changes, 40);
}
