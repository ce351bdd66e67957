/* The usage meter's spool file (see meter_spool.h). */
#include "meter_spool.h"
#include "tc/tc_core.h"
#include "tc/tc_json.h"
#include "tc/tc_log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define SPOOL_PREFIX "meter-"
#define SPOOL_SUFFIX ".spool"
#define NEW_SUFFIX   ".new"

struct gw_spool {
    char *dir;
    char *path; /* dir/meter-<inst>.spool */
    char *tmp;  /* path + ".new": a rewrite in progress */
    int fd;
    size_t records;
};

/* ------------------------------------------------------------------ records */

int gw_meter_rec_id(const gw_meter_rec_t *r, char *out, size_t cap)
{
    int n = snprintf(out, cap, "mtr_%s_%" PRId64 "_%s", r->inst, r->window_ms, r->org);
    return n > 0 && (size_t)n < cap ? TC_OK : TC_EINVAL;
}

int gw_meter_rec_line(const gw_meter_rec_t *r, tc_buf_t *b)
{
    tc_buf_puts(b, "{\"inst\":\"");
    tc_buf_json_escape(b, r->inst, strlen(r->inst));
    tc_buf_puts(b, "\",\"org\":\"");
    tc_buf_json_escape(b, r->org, strlen(r->org));
    tc_buf_printf(
        b, "\",\"window_ms\":%" PRId64 ",\"width_ms\":%" PRId32 ",\"requests\":%" PRIu64 "}\n",
        r->window_ms, r->width_ms, r->requests);
    return b->oom ? TC_ENOMEM : TC_OK;
}

static bool copy_field(char *dst, size_t cap, const char *src)
{
    if (!src || !src[0] || strlen(src) >= cap)
        return false;
    memcpy(dst, src, strlen(src) + 1);
    return true;
}

/* A whole number in [lo, hi] (JSON numbers are doubles: exact below 2^53). */
static bool whole(const cJSON *j, double lo, double hi, double *v)
{
    if (!cJSON_IsNumber(j) || j->valuedouble < lo || j->valuedouble > hi ||
        j->valuedouble != (double)(int64_t)j->valuedouble)
        return false;
    *v = j->valuedouble;
    return true;
}

bool gw_meter_rec_parse(const char *line, size_t len, gw_meter_rec_t *r)
{
    cJSON *j = cJSON_ParseWithLength(line, len);
    double window, width, requests;
    memset(r, 0, sizeof *r);
    bool ok = cJSON_IsObject(j) &&
              copy_field(r->inst, sizeof r->inst, tc_json_get_str(j, "inst")) &&
              copy_field(r->org, sizeof r->org, tc_json_get_str(j, "org")) &&
              whole(cJSON_GetObjectItem(j, "window_ms"), 0, 9007199254740991.0, &window) &&
              whole(cJSON_GetObjectItem(j, "width_ms"), 1, 3600000, &width) &&
              whole(cJSON_GetObjectItem(j, "requests"), 1, 9007199254740991.0, &requests);
    cJSON_Delete(j);
    if (ok) {
        r->window_ms = (int64_t)window;
        r->width_ms = (int32_t)width;
        r->requests = (uint64_t)requests;
    }
    return ok;
}

/* ------------------------------------------------------------------ files */

static char *join(const char *a, const char *b, const char *c)
{
    size_t n = strlen(a) + strlen(b) + strlen(c) + 1;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s%s%s", a, b, c);
    return s;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return TC_ERROR;
        p += w;
        n -= (size_t)w;
    }
    return TC_OK;
}

static int spool_failed(const char *what, const char *path)
{
    tc_log_kv(TC_LOG_ERROR, "usage meter spool", "step", what, "path", path, "error",
              strerror(errno), NULL);
    return TC_ERROR;
}

/* The whole file into a NUL-terminated buffer (caller frees). */
static int read_file(int fd, char **out, size_t *len)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return TC_ERROR;
    char *buf = malloc((size_t)st.st_size + 1);
    if (!buf)
        return TC_ENOMEM;
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t r = pread(fd, buf + got, (size_t)st.st_size - got, (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break; /* shorter than stat said: what was read is the file */
        got += (size_t)r;
    }
    buf[got] = '\0';
    *out = buf;
    *len = got;
    return TC_OK;
}

/* Every record of an abandoned file: to fn, and as lines into b. Bad lines are skipped (the
 * last write of a process killed mid-append). */
static int adopt_records(int fd, const char *path, gw_spool_rec_fn fn, void *ud, tc_buf_t *b,
                         size_t *nrec)
{
    char *buf = NULL;
    size_t len = 0;
    int rc = read_file(fd, &buf, &len);
    if (rc != TC_OK)
        return rc == TC_ERROR ? spool_failed("read", path) : rc;
    size_t skipped = 0;
    for (char *p = buf; rc == TC_OK && p < buf + len;) {
        char *nl = memchr(p, '\n', (size_t)(buf + len - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(buf + len - p);
        gw_meter_rec_t r;
        if (n > 0 && gw_meter_rec_parse(p, n, &r)) {
            rc = fn(ud, &r);
            if (rc == TC_OK)
                rc = gw_meter_rec_line(&r, b);
            (*nrec)++;
        } else if (n > 0) {
            skipped++;
        }
        p += n + 1;
    }
    char nb[24];
    if (skipped > 0)
        tc_log_kv(TC_LOG_WARN, "usage meter spool: unreadable lines skipped", "path", path, "lines",
                  tc_log_int(nb, (int64_t)skipped), NULL);
    free(buf);
    return rc;
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n > k && strcmp(s + n - k, suffix) == 0;
}

/* An abandoned file: adopted into ours (synced) before it is deleted. A file a live process
 * holds, or one another process deleted while we waited, is left alone. */
static int adopt_file(gw_spool_t *s, const char *name, gw_spool_rec_fn fn, void *ud)
{
    char *path = join(s->dir, "/", name);
    if (!path)
        return TC_ENOMEM;
    int rc = TC_OK;
    tc_buf_t b = TC_BUF_INIT;
    size_t n = 0;
    int fd = open(path, O_RDWR | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) != 0 || fstat(fd, &st) != 0 || st.st_nlink == 0)
        goto cleanup;
    if (has_suffix(name, NEW_SUFFIX)) { /* a rewrite cut short: its .spool holds them all */
        unlink(path);
        goto cleanup;
    }
    rc = adopt_records(fd, path, fn, ud, &b, &n);
    if (rc == TC_OK && b.len > 0 &&
        (write_all(s->fd, b.data, b.len) != TC_OK || fdatasync(s->fd) != 0))
        rc = spool_failed("adopt", s->path);
    if (rc == TC_OK) {
        char nb[24];
        s->records += n;
        unlink(path);
        tc_log_kv(TC_LOG_INFO, "usage meter: adopted an abandoned spool", "path", path, "records",
                  tc_log_int(nb, (int64_t)n), NULL);
    }
cleanup:
    tc_buf_free(&b);
    if (fd >= 0)
        close(fd); /* releases its lock */
    free(path);
    return rc;
}

static int adopt_all(gw_spool_t *s, gw_spool_rec_fn fn, void *ud)
{
    DIR *d = opendir(s->dir);
    if (!d)
        return spool_failed("opendir", s->dir);
    const char *own = strrchr(s->path, '/') + 1;
    int rc = TC_OK;
    struct dirent *e;
    while (rc == TC_OK && (e = readdir(d)) != NULL) {
        bool spool =
            has_suffix(e->d_name, SPOOL_SUFFIX) || has_suffix(e->d_name, SPOOL_SUFFIX NEW_SUFFIX);
        if (spool && strncmp(e->d_name, SPOOL_PREFIX, strlen(SPOOL_PREFIX)) == 0 &&
            strcmp(e->d_name, own) != 0)
            rc = adopt_file(s, e->d_name, fn, ud);
    }
    closedir(d);
    return rc;
}

int gw_spool_open(const char *dir, const char *inst, gw_spool_rec_fn fn, void *ud, gw_spool_t **out)
{
    *out = NULL;
    gw_spool_t *s = calloc(1, sizeof *s);
    if (!s)
        return TC_ENOMEM;
    s->fd = -1;
    int rc = TC_OK;
    char name[GW_METER_INST_MAX + 16];
    snprintf(name, sizeof name, "/" SPOOL_PREFIX "%s" SPOOL_SUFFIX, inst);
    if (!(s->dir = strdup(dir)) || !(s->path = join(dir, name, "")) ||
        !(s->tmp = join(s->path, NEW_SUFFIX, ""))) {
        rc = TC_ENOMEM;
        goto cleanup;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        rc = spool_failed("mkdir", dir);
        goto cleanup;
    }
    s->fd = open(s->path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (s->fd < 0 || flock(s->fd, LOCK_EX | LOCK_NB) != 0) {
        rc = spool_failed("open", s->path);
        goto cleanup;
    }
    rc = adopt_all(s, fn, ud);
cleanup:
    if (rc != TC_OK) {
        gw_spool_close(s, s->records == 0);
        return rc;
    }
    *out = s;
    return TC_OK;
}

static int lines_of(const gw_meter_rec_t *recs, size_t n, tc_buf_t *b)
{
    int rc = TC_OK;
    for (size_t i = 0; rc == TC_OK && i < n; i++)
        rc = gw_meter_rec_line(&recs[i], b);
    return rc;
}

int gw_spool_append(gw_spool_t *s, const gw_meter_rec_t *recs, size_t n)
{
    tc_buf_t b = TC_BUF_INIT;
    int rc = lines_of(recs, n, &b);
    if (rc == TC_OK && (write_all(s->fd, b.data, b.len) != TC_OK || fdatasync(s->fd) != 0))
        rc = spool_failed("append", s->path);
    tc_buf_free(&b);
    if (rc == TC_OK)
        s->records += n;
    return rc;
}

int gw_spool_rewrite(gw_spool_t *s, const gw_meter_rec_t *recs, size_t n)
{
    if (n == 0) { /* a crash before this is durable only sends acknowledged ones again */
        if (ftruncate(s->fd, 0) != 0)
            return spool_failed("truncate", s->path);
        s->records = 0;
        return TC_OK;
    }
    tc_buf_t b = TC_BUF_INIT;
    int rc = lines_of(recs, n, &b);
    /* locked before it has its name, so no starting process adopts it in between */
    int fd =
        rc == TC_OK ? open(s->tmp, O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600) : -1;
    if (rc == TC_OK &&
        (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) != 0 || write_all(fd, b.data, b.len) != TC_OK ||
         fdatasync(fd) != 0 || rename(s->tmp, s->path) != 0))
        rc = spool_failed("rewrite", s->tmp);
    tc_buf_free(&b);
    if (rc != TC_OK) {
        if (fd >= 0) {
            unlink(s->tmp);
            close(fd);
        }
        return rc;
    }
    close(s->fd);
    s->fd = fd;
    s->records = n;
    return TC_OK;
}

size_t gw_spool_records(const gw_spool_t *s)
{
    return s->records;
}

void gw_spool_close(gw_spool_t *s, bool drop)
{
    if (!s)
        return;
    if (drop && s->fd >= 0)
        unlink(s->path);
    if (s->fd >= 0)
        close(s->fd);
    free(s->dir);
    free(s->path);
    free(s->tmp);
    free(s);
}
