/*
 * IANA time zones from TZif files (RFC 8536, RFC 9636): the binary data for the instants it
 * lists, the POSIX TZ footer for every instant after them (all of them in a footer-only
 * "slim" file), and wall-clock to UTC conversion that sees gaps and folds.
 */
#include "tc/tc_tz.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TZ_DEFAULT_DIR "/usr/share/zoneinfo"
#define TZ_FILE_MAX    (256 * 1024) /* the largest real zone is under 4 KiB */
#define TZ_HEADER_LEN  44
#define TZ_FOOTER_MAX  128 /* real footers are under 64 bytes */
#define TZ_TYPES_MAX   256 /* a transition names its type in one byte */
/* RFC 9636 range for a UT offset; it keeps every instant of a wall time within TZ_WINDOW. */
#define TZ_OFF_MIN (-89999)
#define TZ_OFF_MAX 93599
#define TZ_WINDOW  93600
#define DAY_S      86400
/* 400 Gregorian years: dates, leap days and weekdays repeat, so footer rules do too. */
#define CYCLE_DAYS 146097
#define CYCLE_S    ((int64_t)CYCLE_DAYS * DAY_S)
/* Years of footer changes examined around an instant: a year's changes stay within about a
 * week of it (change times reach +-167 hours), so two years either side always suffice. */
#define RULE_YEARS 5

enum { DATE_JULIAN, DATE_ZERO_BASED, DATE_MONTH_WEEK }; /* Jn, n, Mm.w.d */

struct tz_date {
    int kind;
    int day; /* Jn: 1..365 (Feb 29 never counted); n: 0..365 */
    int month, week, wday;
    int32_t time; /* local time of the change, seconds after midnight, may be <0 or >24h */
};

/* The POSIX TZ footer, offsets east positive (POSIX writes them west positive). */
struct tz_rule {
    int32_t std_off;
    int32_t dst_off;
    bool has_dst;
    struct tz_date start, end; /* start: std -> dst; end: dst -> std */
};

struct tc_tz {
    size_t ntrans;
    int64_t *at;       /* transition instants, strictly ascending */
    int32_t *off;      /* offset in effect from at[i] */
    int32_t first_off; /* time type 0, for instants before the first transition */
    bool has_rule;     /* when set, the rule governs from the last transition on */
    struct tz_rule rule;
};

struct tz_change {
    int64_t at;
    int32_t off;
};

/* ------------------------------------------------------------------------- names */

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* ASCII only: the locale must not change what a zone name or footer may contain. */
static bool is_alpha(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool name_char(char c)
{
    return is_alpha(c) || is_digit(c) || c == '_' || c == '+' || c == '-';
}

bool tc_tz_name_valid(const char *name)
{
    if (!name)
        return false;
    size_t len = strnlen(name, TC_TZ_NAME_MAX);
    if (len == 0 || len >= TC_TZ_NAME_MAX)
        return false;
    /* '.' is not a name character at all, which rules out "." and ".." components; an empty
     * component (leading, trailing or doubled '/') would make the path mean something else. */
    size_t comp_len = 0;
    for (size_t i = 0; i <= len; i++) {
        if (name[i] == '/' || name[i] == '\0') {
            if (comp_len == 0)
                return false;
            comp_len = 0;
        } else if (!name_char(name[i])) {
            return false;
        } else {
            comp_len++;
        }
    }
    return true;
}

/* ------------------------------------------------------------------------- calendar */

static int64_t mod_floor(int64_t a, int64_t b)
{
    int64_t r = a % b;
    return r < 0 ? r + b : r;
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int64_t y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return days[m - 1] + (m == 2 && is_leap(y));
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * CYCLE_DAYS + doe - 719468;
}

/* Called with days within one 400-year cycle of the epoch: the estimate is a year or so off. */
static int64_t year_of_day(int64_t days)
{
    int64_t y = 1970 + days / 366;
    while (days_from_civil(y, 1, 1) > days)
        y--;
    while (days_from_civil(y + 1, 1, 1) <= days)
        y++;
    return y;
}

/* ------------------------------------------------------------------------- footer rule */

/* Days since the epoch of the day `d` names in `year`. */
static int64_t rule_day(const struct tz_date *d, int64_t year)
{
    int64_t jan1 = days_from_civil(year, 1, 1);
    if (d->kind == DATE_JULIAN)
        return jan1 + d->day - 1 + (is_leap(year) && d->day >= 60);
    if (d->kind == DATE_ZERO_BASED)
        return jan1 + d->day;
    int64_t first = days_from_civil(year, d->month, 1);
    int first_wday = (int)mod_floor(first + 4, 7); /* 1970-01-01 was a Thursday */
    int64_t day = first + (d->wday - first_wday + 7) % 7 + 7 * (d->week - 1);
    if (day >= first + month_days(year, d->month)) /* week 5 means "the last" */
        day -= 7;
    return day;
}

/* The changes of RULE_YEARS years around the instant t, in time order. Equal instants keep
 * year order, so a year that ends DST exactly when the next starts it stays in DST (RFC 9636
 * all-year DST, "EST5EDT,0/0,J365/25"). */
static void rule_changes(const struct tz_rule *r, int64_t t, struct tz_change out[2 * RULE_YEARS])
{
    int64_t year = year_of_day(t / DAY_S) - RULE_YEARS / 2;
    for (int i = 0; i < RULE_YEARS; i++, year++) {
        out[2 * i].at = rule_day(&r->start, year) * DAY_S + r->start.time - r->std_off;
        out[2 * i].off = r->dst_off;
        out[2 * i + 1].at = rule_day(&r->end, year) * DAY_S + r->end.time - r->dst_off;
        out[2 * i + 1].off = r->std_off;
    }
    for (int i = 1; i < 2 * RULE_YEARS; i++) {
        struct tz_change c = out[i];
        int j = i;
        for (; j > 0 && out[j - 1].at > c.at; j--)
            out[j] = out[j - 1];
        out[j] = c;
    }
}

static int32_t rule_offset(const struct tz_rule *r, int64_t t)
{
    if (!r->has_dst)
        return r->std_off;
    /* The rule repeats every 400 years; folding t into one cycle keeps the calendar
     * arithmetic far from overflow for any int64 instant. */
    int64_t folded = mod_floor(t, CYCLE_S);
    struct tz_change ch[2 * RULE_YEARS];
    rule_changes(r, folded, ch);
    int32_t off = ch[0].off;
    for (int i = 0; i < 2 * RULE_YEARS && ch[i].at <= folded; i++)
        off = ch[i].off;
    return off;
}

/* The first instant after t at which the rule changes the offset. */
static bool rule_next(const struct tz_rule *r, int64_t t, int64_t *at)
{
    if (!r->has_dst)
        return false;
    int64_t folded = mod_floor(t, CYCLE_S);
    struct tz_change ch[2 * RULE_YEARS];
    rule_changes(r, folded, ch);
    for (int i = 0; i < 2 * RULE_YEARS; i++) {
        if (ch[i].at <= folded)
            continue;
        int64_t delta = ch[i].at - folded;
        if (t > INT64_MAX - delta)
            return false;
        *at = t + delta;
        return true;
    }
    return false;
}

/* ------------------------------------------------------------------------- footer parsing */

static bool parse_num(const char **s, int max_digits, int max, int *out)
{
    const char *p = *s;
    int v = 0, n = 0;
    while (n < max_digits && is_digit(*p)) {
        v = v * 10 + (*p++ - '0');
        n++;
    }
    if (n == 0 || v > max)
        return false;
    *s = p;
    *out = v;
    return true;
}

/* ":mm" or ":ss" when present (absent leaves the value alone). */
static bool parse_sexagesimal(const char **s, int *out)
{
    if (**s != ':')
        return true;
    (*s)++;
    return parse_num(s, 2, 59, out);
}

/* [+-]h[h[h]][:mm[:ss]]: a UT offset (hours up to 24) or a change time (RFC 8536 allows
 * -167..167 hours there). */
static bool parse_hms(const char **s, int max_hours, int32_t *out)
{
    const char *p = *s;
    int sign = 1, h, m = 0, sec = 0;
    if (*p == '+' || *p == '-')
        sign = *p++ == '-' ? -1 : 1;
    if (!parse_num(&p, 3, max_hours, &h) || !parse_sexagesimal(&p, &m) ||
        !parse_sexagesimal(&p, &sec))
        return false;
    *out = sign * (h * 3600 + m * 60 + sec);
    *s = p;
    return true;
}

/* "EST" or "<+0330>": at least three characters (POSIX). */
static bool parse_abbr(const char **s)
{
    const char *p = *s;
    size_t n = 0;
    if (*p == '<') {
        for (p++; is_alpha(*p) || is_digit(*p) || *p == '+' || *p == '-'; p++)
            n++;
        if (*p++ != '>')
            return false;
    } else {
        for (; is_alpha(*p); p++)
            n++;
    }
    if (n < 3)
        return false;
    *s = p;
    return true;
}

static bool parse_month_week(const char **s, struct tz_date *d)
{
    const char *p = *s;
    if (!parse_num(&p, 2, 12, &d->month) || d->month < 1 || *p++ != '.' ||
        !parse_num(&p, 1, 5, &d->week) || d->week < 1 || *p++ != '.' ||
        !parse_num(&p, 1, 6, &d->wday))
        return false;
    *s = p;
    return true;
}

static bool parse_date(const char **s, struct tz_date *d)
{
    const char *p = *s;
    bool ok;
    if (*p == 'J') {
        p++;
        d->kind = DATE_JULIAN;
        ok = parse_num(&p, 3, 365, &d->day) && d->day >= 1;
    } else if (*p == 'M') {
        p++;
        d->kind = DATE_MONTH_WEEK;
        ok = parse_month_week(&p, d);
    } else {
        d->kind = DATE_ZERO_BASED;
        ok = parse_num(&p, 3, 365, &d->day);
    }
    d->time = 2 * 3600;
    if (ok && *p == '/') {
        p++;
        ok = parse_hms(&p, 167, &d->time);
    }
    if (!ok)
        return false;
    *s = p;
    return true;
}

/* "EST5EDT,M3.2.0,M11.1.0", "<+0330>-3:30", "IST-1GMT0,M10.5.0,M3.5.0/1", ... */
static int rule_parse(const char *s, struct tz_rule *r)
{
    int32_t v;
    memset(r, 0, sizeof *r);
    if (!parse_abbr(&s) || !parse_hms(&s, 24, &v))
        return TC_EINVAL;
    r->std_off = -v;
    if (*s == '\0')
        return TC_OK;
    if (!parse_abbr(&s))
        return TC_EINVAL;
    r->dst_off = r->std_off + 3600;
    if (*s != ',' && *s != '\0') {
        if (!parse_hms(&s, 24, &v))
            return TC_EINVAL;
        r->dst_off = -v;
    }
    /* Without dates POSIX leaves the changes to the implementation; zic always writes them,
     * so a footer lacking them is not one we can honour faithfully. */
    if (*s++ != ',' || !parse_date(&s, &r->start) || *s++ != ',' || !parse_date(&s, &r->end) ||
        *s != '\0')
        return TC_EINVAL;
    r->has_dst = true;
    return TC_OK;
}

/* ------------------------------------------------------------------------- TZif parsing */

struct reader {
    const uint8_t *p;
    size_t len;
    size_t pos;
};

struct tzif_header {
    uint8_t version;
    uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

static bool take(struct reader *r, uint64_t n, const uint8_t **out)
{
    if (n > r->len - r->pos)
        return false;
    *out = r->p + r->pos;
    r->pos += (size_t)n;
    return true;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const uint8_t *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

static int read_header(struct reader *r, struct tzif_header *h)
{
    const uint8_t *p;
    if (!take(r, TZ_HEADER_LEN, &p) || memcmp(p, "TZif", 4) != 0)
        return TC_EINVAL;
    h->version = p[4];
    if (h->version != 0 && (h->version < '2' || h->version > '4'))
        return TC_EINVAL;
    h->isutcnt = be32(p + 20);
    h->isstdcnt = be32(p + 24);
    h->leapcnt = be32(p + 28);
    h->timecnt = be32(p + 32);
    h->typecnt = be32(p + 36);
    h->charcnt = be32(p + 40);
    return TC_OK;
}

/* Only for the block whose data is used: a v2+ reader just skips the v1 block. */
static bool counts_valid(const struct tzif_header *h)
{
    return h->typecnt >= 1 && h->typecnt <= TZ_TYPES_MAX && h->charcnt >= 1 &&
           (h->isstdcnt == 0 || h->isstdcnt == h->typecnt) &&
           (h->isutcnt == 0 || h->isutcnt == h->typecnt);
}

/* 64-bit arithmetic on 32-bit counts cannot overflow; take() compares it with the file. */
static uint64_t block_len(const struct tzif_header *h, uint64_t tsize)
{
    return (uint64_t)h->timecnt * (tsize + 1) + (uint64_t)h->typecnt * 6 + h->charcnt +
           (uint64_t)h->leapcnt * (tsize + 4) + h->isstdcnt + h->isutcnt;
}

static int parse_types(const uint8_t *types, const struct tzif_header *h, int32_t *offs)
{
    for (uint32_t i = 0; i < h->typecnt; i++) {
        const uint8_t *t = types + 6 * (size_t)i;
        int32_t off = (int32_t)be32(t);
        if (off < TZ_OFF_MIN || off > TZ_OFF_MAX || t[4] > 1 || t[5] >= h->charcnt)
            return TC_EINVAL;
        offs[i] = off;
    }
    return TC_OK;
}

static int parse_block(const uint8_t *b, const struct tzif_header *h, size_t tsize, tc_tz_t *tz)
{
    int32_t offs[TZ_TYPES_MAX];
    const uint8_t *idx = b + (size_t)h->timecnt * tsize;
    /* Leap-second files count time on another scale than the POSIX seconds callers pass. */
    if (h->leapcnt != 0 || parse_types(idx + h->timecnt, h, offs) != TC_OK)
        return TC_EINVAL;
    tz->first_off = offs[0];
    if (h->timecnt == 0)
        return TC_OK;
    tz->at = malloc(sizeof *tz->at * h->timecnt);
    tz->off = malloc(sizeof *tz->off * h->timecnt);
    if (!tz->at || !tz->off)
        return TC_ENOMEM;
    for (uint32_t i = 0; i < h->timecnt; i++) {
        const uint8_t *p = b + (size_t)i * tsize;
        int64_t at = tsize == 8 ? be64(p) : (int32_t)be32(p);
        if ((i > 0 && at <= tz->at[i - 1]) || idx[i] >= h->typecnt)
            return TC_EINVAL;
        tz->at[i] = at;
        tz->off[i] = offs[idx[i]];
    }
    tz->ntrans = h->timecnt;
    return TC_OK;
}

/* "\n<POSIX TZ string>\n"; anything after it is left for future format versions. */
static int parse_footer(struct reader *r, tc_tz_t *tz)
{
    const uint8_t *nl1;
    if (!take(r, 1, &nl1) || *nl1 != '\n')
        return TC_EINVAL;
    const uint8_t *s = r->p + r->pos;
    size_t rest = r->len - r->pos;
    const uint8_t *nl2 = memchr(s, '\n', rest < TZ_FOOTER_MAX ? rest : TZ_FOOTER_MAX);
    if (!nl2)
        return TC_EINVAL;
    size_t n = (size_t)(nl2 - s);
    if (n == 0) /* no rule: the last transition's type lasts */
        return TC_OK;
    char text[TZ_FOOTER_MAX];
    memcpy(text, s, n);
    text[n] = '\0';
    if (strlen(text) != n || rule_parse(text, &tz->rule) != TC_OK)
        return TC_EINVAL;
    tz->has_rule = true;
    return TC_OK;
}

static int parse_tzif(const uint8_t *buf, size_t len, tc_tz_t *tz)
{
    struct reader r = {buf, len, 0};
    struct tzif_header h, h2;
    const uint8_t *block;
    if (read_header(&r, &h) != TC_OK || !take(&r, block_len(&h, 4), &block))
        return TC_EINVAL;
    if (h.version == 0)
        return counts_valid(&h) ? parse_block(block, &h, 4, tz) : TC_EINVAL;
    if (read_header(&r, &h2) != TC_OK || h2.version != h.version || !counts_valid(&h2) ||
        !take(&r, block_len(&h2, 8), &block))
        return TC_EINVAL;
    int rc = parse_block(block, &h2, 8, tz);
    return rc != TC_OK ? rc : parse_footer(&r, tz);
}

/* ------------------------------------------------------------------------- file */

static int errno_rc(int e)
{
    if (e == ENOENT || e == ENOTDIR)
        return TC_ENOTFOUND;
    if (e == ENOMEM)
        return TC_ENOMEM;
    if (e == ENAMETOOLONG || e == ELOOP)
        return TC_EINVAL;
    return TC_ERROR;
}

/* An errno as a TC_* code; the unexpected ones are logged here, where errno is still known. */
static int io_error(const char *path, int e)
{
    int rc = errno_rc(e);
    if (rc == TC_ERROR)
        tc_log_kv(TC_LOG_ERROR, "cannot read time zone file", "path", path, "errno",
                  strerrorname_np(e), NULL);
    return rc;
}

static int read_all(int fd, uint8_t *buf, size_t cap, size_t *got)
{
    size_t n = 0;
    while (n < cap) {
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return TC_ERROR;
        if (r == 0) /* shrank since fstat: the parser sees a truncated file */
            break;
        n += (size_t)r;
    }
    *got = n;
    return TC_OK;
}

static int read_file(const char *path, uint8_t **out, size_t *len)
{
    struct stat st;
    uint8_t *buf = NULL;
    int rc;
    /* O_NONBLOCK: a FIFO planted in the zone directory must not hang open(). */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return io_error(path, errno);
    if (fstat(fd, &st) != 0) {
        rc = io_error(path, errno);
        goto cleanup;
    }
    if (S_ISDIR(st.st_mode)) { /* "America" is a region, not a zone */
        rc = TC_ENOTFOUND;
        goto cleanup;
    }
    if (!S_ISREG(st.st_mode) || st.st_size < TZ_HEADER_LEN || st.st_size > TZ_FILE_MAX) {
        rc = TC_EINVAL;
        goto cleanup;
    }
    buf = malloc((size_t)st.st_size);
    if (!buf) {
        rc = TC_ENOMEM;
        goto cleanup;
    }
    rc = read_all(fd, buf, (size_t)st.st_size, len);
    if (rc != TC_OK) {
        rc = io_error(path, errno);
        goto cleanup;
    }
    *out = buf;
    buf = NULL;
cleanup:
    free(buf);
    close(fd);
    return rc;
}

static int load_file(const char *name, tc_tz_t *tz)
{
    char path[PATH_MAX];
    uint8_t *buf = NULL;
    size_t len = 0;
    const char *dir = getenv("TZDIR");
    if (!dir || !*dir)
        dir = TZ_DEFAULT_DIR;
    int n = snprintf(path, sizeof path, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof path)
        return TC_EINVAL;
    int rc = read_file(path, &buf, &len);
    if (rc == TC_OK)
        rc = parse_tzif(buf, len, tz);
    free(buf);
    return rc;
}

int tc_tz_load(const char *name, tc_tz_t **out)
{
    if (!out)
        return TC_EINVAL;
    *out = NULL;
    if (!tc_tz_name_valid(name))
        return TC_EINVAL;
    tc_tz_t *tz = calloc(1, sizeof *tz);
    if (!tz)
        return TC_ENOMEM;
    int rc = TC_OK;
    /* A zeroed zone is UTC (no transitions, type 0 at offset 0, no rule): it needs no file,
     * so minimal containers without tzdata still have it. */
    if (strcmp(name, "UTC") != 0 && strcmp(name, "Etc/UTC") != 0)
        rc = load_file(name, tz);
    if (rc != TC_OK)
        goto cleanup;
    *out = tz;
    tz = NULL;
cleanup:
    tc_tz_free(tz);
    return rc;
}

void tc_tz_free(tc_tz_t *tz)
{
    if (!tz)
        return;
    free(tz->at);
    free(tz->off);
    free(tz);
}

/* ------------------------------------------------------------------------- lookups */

/* Index of the first transition after t (ntrans when there is none). */
static size_t first_after(const tc_tz_t *tz, int64_t t)
{
    size_t lo = 0, hi = tz->ntrans;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (tz->at[mid] <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int32_t tc_tz_offset(const tc_tz_t *tz, int64_t utc_s)
{
    if (!tz)
        return 0;
    if (tz->ntrans == 0)
        return tz->has_rule ? rule_offset(&tz->rule, utc_s) : tz->first_off;
    if (utc_s < tz->at[0])
        return tz->first_off;
    if (tz->has_rule && utc_s >= tz->at[tz->ntrans - 1])
        return rule_offset(&tz->rule, utc_s);
    return tz->off[first_after(tz, utc_s) - 1];
}

/* The first instant after t at which the offset may change: the offset is constant between
 * the instants this reports, which is what lets tc_tz_to_utc see every offset near a time. */
static bool next_change(const tc_tz_t *tz, int64_t t, int64_t *at)
{
    size_t i = first_after(tz, t);
    if (i < tz->ntrans) {
        *at = tz->at[i];
        return true;
    }
    return tz->has_rule && rule_next(&tz->rule, t, at);
}

struct fit {
    int n;        /* offsets under which the wall time exists */
    int64_t best; /* the earliest such instant */
    bool fold;    /* two different instants */
};

static void try_offset(const tc_tz_t *tz, int64_t w, int32_t off, struct fit *f)
{
    int64_t u = w - off;
    if (tc_tz_offset(tz, u) != off)
        return;
    if (f->n++ == 0) {
        f->best = u;
        return;
    }
    f->fold |= u != f->best;
    if (u < f->best)
        f->best = u;
}

/*
 * A wall time w exists under offset o when the offset at the instant w - o is o. Offsets stay
 * below TZ_WINDOW, so those instants lie in [w - TZ_WINDOW, w + TZ_WINDOW]: trying the offset
 * at the window's start and the one after each change inside it tries every candidate. When
 * none fits, w is in the gap of a forward change (proof: take the last stretch of constant
 * offset whose wall clock starts at or before w; it ends before w, and the next stretch starts
 * after w), which the same walk finds.
 */
int64_t tc_tz_to_utc(const tc_tz_t *tz, int64_t local_s, int *kind)
{
    const int64_t limit = 2 * (int64_t)TZ_WINDOW;
    int64_t w = local_s;
    if (w > INT64_MAX - limit)
        w = INT64_MAX - limit;
    if (w < INT64_MIN + limit)
        w = INT64_MIN + limit;
    struct fit f = {0};
    int64_t gap = w - tc_tz_offset(tz, w); /* unreachable fallback, see above */
    int64_t t = w - TZ_WINDOW, at;
    try_offset(tz, w, tc_tz_offset(tz, t), &f);
    while (tz && next_change(tz, t, &at) && at <= w + TZ_WINDOW) {
        int32_t before = tc_tz_offset(tz, at - 1), after = tc_tz_offset(tz, at);
        try_offset(tz, w, after, &f);
        if (before < after && at + before <= w && w < at + after)
            gap = w - before;
        t = at;
    }
    if (kind)
        *kind = f.n == 0 ? TC_TZ_GAP : f.fold ? TC_TZ_FOLD : TC_TZ_NORMAL;
    return f.n == 0 ? gap : f.best;
}
