/*
 * textrank_model.c: summarizer-v1, see textrank_model.h. The splitter, tokenizer, stemmer,
 * graph and PageRank mirror models/summarizer-v1/textrank_ref.py step for step: the
 * component test holds this code (prior 0) to that reference's answers.
 */
#include "textrank_model.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tc/tc_core.h"
#include "tc/tc_log.h"

/* ------------------------------------------------------------------ the model file */

#define HEADER_BYTES 32
#define SLOT_BYTES   12
#define FLAG_STOP    1u

static const char MAGIC[8] = {'T', 'X', 'T', 'R', 'A', 'N', 'K', '1'};

typedef struct {
    uint32_t off;
    uint16_t len;
    uint16_t flags;
    float idf;
} slot_t;

_Static_assert(sizeof(slot_t) == SLOT_BYTES, "slot layout is the file's");

struct textrank_model {
    unsigned char *base; /* the image: mapped, or a malloc'd copy */
    size_t size;
    bool mapped;
    const unsigned char *slots;
    const char *strings;
    uint32_t mask; /* n_slots - 1 */
    float idf_unseen;
};

static uint32_t rd_u32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static float rd_f32(const unsigned char *p)
{
    float v;
    memcpy(&v, p, sizeof v);
    return v;
}

static slot_t slot_at(const textrank_model_t *m, uint32_t i)
{
    slot_t s;
    /* memcpy: the image's alignment is the file's business, not the compiler's */
    memcpy(&s, m->slots + (size_t)i * SLOT_BYTES, sizeof s);
    return s;
}

static uint32_t fnv1a(const char *s, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

/* The slot holding key, or NULL. Probing ends: the table always has an empty slot. */
static bool lookup(const textrank_model_t *m, const char *key, size_t len, slot_t *found)
{
    if (len == 0 || len > UINT16_MAX)
        return false;
    uint32_t i = fnv1a(key, len) & m->mask;
    for (;;) {
        slot_t s = slot_at(m, i);
        if (s.len == 0)
            return false;
        if (s.len == len && memcmp(m->strings + s.off, key, len) == 0) {
            *found = s;
            return true;
        }
        i = (i + 1) & m->mask;
    }
}

/* Checks the image so that lookups can trust every offset; fills the model's views. */
static int validate(textrank_model_t *m, const char *path)
{
    const unsigned char *b = m->base;
    const char *why = NULL;
    if (m->size < HEADER_BYTES || memcmp(b, MAGIC, sizeof MAGIC) != 0) {
        why = "not a TXTRANK1 file";
        goto bad;
    }
    if (rd_u32(b + 8) != 0x01020304u) {
        why = "byte order differs";
        goto bad;
    }
    uint32_t n_entries = rd_u32(b + 16), n_slots = rd_u32(b + 20), strings = rd_u32(b + 24);
    float unseen = rd_f32(b + 28);
    if (n_slots == 0 || (n_slots & (n_slots - 1)) != 0 || n_entries >= n_slots) {
        why = "slot count is not a power of two above the entries";
        goto bad;
    }
    if (m->size != HEADER_BYTES + (size_t)n_slots * SLOT_BYTES + strings) {
        why = "size does not match the header";
        goto bad;
    }
    if (!isfinite(unseen) || unseen <= 0) {
        why = "bad unseen IDF";
        goto bad;
    }
    m->slots = b + HEADER_BYTES;
    m->strings = (const char *)(m->slots + (size_t)n_slots * SLOT_BYTES);
    m->mask = n_slots - 1;
    m->idf_unseen = unseen;
    uint32_t used = 0;
    for (uint32_t i = 0; i < n_slots; i++) {
        slot_t s = slot_at(m, i);
        if (s.len == 0)
            continue;
        used++;
        if ((uint64_t)s.off + s.len > strings || !isfinite(s.idf) || s.idf <= 0) {
            why = "slot out of range";
            goto bad;
        }
    }
    if (used != n_entries) {
        why = "entry count does not match the slots";
        goto bad;
    }
    return TC_OK;
bad:
    tc_log_kv(TC_LOG_ERROR, "textrank model file is malformed", "path", path, "reason", why, NULL);
    return TC_EINVAL;
}

int textrank_model_open(const char *path, textrank_model_t **out)
{
    *out = NULL;
    int rc = TC_ERROR, fd = -1;
    textrank_model_t *m = calloc(1, sizeof *m);
    if (!m)
        return TC_ENOMEM;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size <= 0) {
        tc_log_kv(TC_LOG_ERROR, "textrank model file cannot be read", "path", path, "error",
                  strerror(errno), NULL);
        goto cleanup;
    }
    m->size = (size_t)st.st_size;
    void *p = mmap(NULL, m->size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
        tc_log_kv(TC_LOG_ERROR, "textrank model file cannot be mapped", "path", path, "error",
                  strerror(errno), NULL);
        goto cleanup;
    }
    m->base = p;
    m->mapped = true;
    rc = validate(m, path);
    if (rc != TC_OK)
        goto cleanup;
    *out = m;
    m = NULL;
cleanup:
    if (fd >= 0)
        close(fd);
    textrank_model_free(m);
    return rc;
}

int textrank_model_from_image(const void *image, size_t len, textrank_model_t **out)
{
    *out = NULL;
    textrank_model_t *m = calloc(1, sizeof *m);
    if (!m)
        return TC_ENOMEM;
    m->base = malloc(len ? len : 1);
    if (!m->base) {
        free(m);
        return TC_ENOMEM;
    }
    memcpy(m->base, image, len);
    m->size = len;
    int rc = validate(m, "(image)");
    if (rc != TC_OK) {
        textrank_model_free(m);
        return rc;
    }
    *out = m;
    return TC_OK;
}

void textrank_model_free(textrank_model_t *m)
{
    if (!m)
        return;
    if (m->mapped)
        munmap(m->base, m->size);
    else
        free(m->base);
    free(m);
}

size_t textrank_model_bytes(const textrank_model_t *m)
{
    return m->size + sizeof *m;
}

bool textrank_is_stop(const textrank_model_t *m, const char *w, size_t len)
{
    slot_t s;
    return lookup(m, w, len, &s) && (s.flags & FLAG_STOP);
}

double textrank_idf(const textrank_model_t *m, const char *stem, size_t len)
{
    slot_t s;
    return lookup(m, stem, len, &s) ? (double)s.idf : (double)m->idf_unseen;
}

/* ------------------------------------------------------------------ building an image */

/* Puts key into the image's table (or finds it there); the slot's index. */
static uint32_t image_put(unsigned char *slots, uint32_t mask, char *pool, uint32_t *pool_len,
                          const char *key, size_t len)
{
    uint32_t i = fnv1a(key, len) & mask;
    for (;;) {
        slot_t s;
        memcpy(&s, slots + (size_t)i * SLOT_BYTES, sizeof s);
        if (s.len == 0) {
            s.off = *pool_len;
            s.len = (uint16_t)len;
            memcpy(pool + *pool_len, key, len);
            *pool_len += (uint32_t)len;
            memcpy(slots + (size_t)i * SLOT_BYTES, &s, sizeof s);
            return i;
        }
        if (s.len == len && memcmp(pool + s.off, key, len) == 0)
            return i;
        i = (i + 1) & mask;
    }
}

int textrank_image_build(const char *const *stop, size_t n_stop, const char *const *stems,
                         const float *idf, size_t n_stems, float idf_unseen, void **image,
                         size_t *len)
{
    *image = NULL;
    *len = 0;
    size_t n_keys = n_stop + n_stems, pool_max = 0;
    for (size_t i = 0; i < n_keys; i++) {
        size_t l = strlen(i < n_stop ? stop[i] : stems[i - n_stop]);
        if (l == 0 || l > UINT16_MAX)
            return TC_EINVAL;
        pool_max += l;
    }
    uint32_t n_slots = 8;
    while (n_slots < 2 * n_keys + 1)
        n_slots *= 2;
    size_t max = HEADER_BYTES + (size_t)n_slots * SLOT_BYTES + pool_max;
    unsigned char *b = calloc(1, max);
    char *pool = malloc(pool_max ? pool_max : 1);
    if (!b || !pool) {
        free(b);
        free(pool);
        return TC_ENOMEM;
    }
    unsigned char *slots = b + HEADER_BYTES;
    uint32_t pool_len = 0;
    for (size_t i = 0; i < n_keys; i++) {
        const char *k = i < n_stop ? stop[i] : stems[i - n_stop];
        uint32_t at = image_put(slots, n_slots - 1, pool, &pool_len, k, strlen(k));
        slot_t s;
        memcpy(&s, slots + (size_t)at * SLOT_BYTES, sizeof s);
        if (i < n_stop) {
            s.flags |= FLAG_STOP;
            if (s.idf == 0)
                s.idf = idf_unseen;
        } else {
            s.idf = idf[i - n_stop];
        }
        memcpy(slots + (size_t)at * SLOT_BYTES, &s, sizeof s);
    }
    uint32_t used = 0;
    for (uint32_t i = 0; i < n_slots; i++) {
        slot_t s;
        memcpy(&s, slots + (size_t)i * SLOT_BYTES, sizeof s);
        used += s.len != 0;
    }
    uint32_t hdr[5] = {0x01020304u, 0, used, n_slots, pool_len};
    memcpy(b, MAGIC, sizeof MAGIC);
    memcpy(b + 8, hdr, sizeof hdr);
    memcpy(b + 28, &idf_unseen, sizeof idf_unseen);
    memcpy(slots + (size_t)n_slots * SLOT_BYTES, pool, pool_len);
    free(pool);
    *image = b;
    *len = HEADER_BYTES + (size_t)n_slots * SLOT_BYTES + pool_len;
    return TC_OK;
}

/* ------------------------------------------------------------------ characters */

static bool is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool is_upper(unsigned char c)
{
    return c >= 'A' && c <= 'Z';
}

static bool is_lower(unsigned char c)
{
    return c >= 'a' && c <= 'z';
}

static bool is_alpha(unsigned char c)
{
    return is_upper(c) || is_lower(c);
}

static bool is_terminator(unsigned char c)
{
    return c == '.' || c == '!' || c == '?';
}

/* The code point at s[i] and its byte length (a stray byte counts as itself, length 1: the
 * service hands over valid UTF-8, this only keeps a bad byte from reading past the end). */
static uint32_t decode(const char *s, size_t len, size_t i, size_t *n)
{
    const unsigned char *p = (const unsigned char *)s + i;
    size_t left = len - i;
    if (p[0] < 0x80) {
        *n = 1;
        return p[0];
    }
    size_t want = p[0] >= 0xF0 ? 4 : p[0] >= 0xE0 ? 3 : p[0] >= 0xC0 ? 2 : 1;
    if (want == 1 || want > left) {
        *n = 1;
        return p[0];
    }
    uint32_t cp = p[0] & (0x7F >> want);
    for (size_t k = 1; k < want; k++)
        cp = (cp << 6) | (p[k] & 0x3F);
    *n = want;
    return cp;
}

/* ASCII letters and digits and letters of other scripts; Latin-1 signs, general punctuation
 * (dashes, curly quotes) and CJK punctuation separate words. */
static bool cp_is_word(uint32_t cp)
{
    if (cp < 0x80)
        return (cp >= '0' && cp <= '9') || is_alpha((unsigned char)cp);
    if (cp <= 0xBF || cp == 0xD7 || cp == 0xF7)
        return false;
    if ((cp >= 0x2000 && cp <= 0x206F) || (cp >= 0x3000 && cp <= 0x303F))
        return false;
    return true;
}

/* Byte length of the closing quote or bracket at s[i], 0 when there is none. */
static size_t closer_len(const char *s, size_t len, size_t i)
{
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\'' || c == ')' || c == ']')
        return 1;
    if (c == 0xE2 && i + 2 < len && (unsigned char)s[i + 1] == 0x80 &&
        ((unsigned char)s[i + 2] == 0x9D || (unsigned char)s[i + 2] == 0x99))
        return 3; /* ” ’ */
    if (c == 0xC2 && i + 1 < len && (unsigned char)s[i + 1] == 0xBB)
        return 2; /* » */
    return 0;
}

static size_t opener_len(const char *s, size_t len, size_t i)
{
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\'' || c == '(' || c == '[')
        return 1;
    if (c == 0xE2 && i + 2 < len && (unsigned char)s[i + 1] == 0x80 &&
        ((unsigned char)s[i + 2] == 0x9C || (unsigned char)s[i + 2] == 0x98))
        return 3; /* “ ‘ */
    if (c == 0xC2 && i + 1 < len && (unsigned char)s[i + 1] == 0xAB)
        return 2; /* « */
    return 0;
}

static bool has_word_char(const char *s, size_t len, size_t from, size_t to)
{
    for (size_t i = from, n; i < to; i += n)
        if (cp_is_word(decode(s, len, i, &n)))
            return true;
    return false;
}

/* ------------------------------------------------------------------ sentences */

/* Lowercased ASCII word in one of a NULL-terminated list. */
static bool word_in(const char *w, size_t len, const char *const *list)
{
    char low[16];
    if (len == 0 || len >= sizeof low)
        return false;
    for (size_t i = 0; i < len; i++)
        low[i] = is_upper((unsigned char)w[i]) ? (char)(w[i] + 32) : w[i];
    for (size_t i = 0; list[i]; i++)
        if (strlen(list[i]) == len && memcmp(list[i], low, len) == 0)
            return true;
    return false;
}

/* A period after these never ends a sentence: they precede a name or a number. */
static const char *const TITLES[] = {
    "mr",     "mrs",  "ms",  "dr",   "prof",   "gen",  "sen", "rep", "gov", "lt",
    "col",    "capt", "sgt", "cmdr", "adm",    "rev",  "hon", "st",  "mt",  "ft",
    "messrs", "vs",   "vol", "fig",  "approx", "dept", "est", "cf",  NULL};
/* These may end a sentence too ("... bought by Smith Corp. The company ..."). */
static const char *const AMBIGUOUS[] = {"inc", "corp", "co",  "ltd", "plc",  "llc", "bros",
                                        "jr",  "sr",   "etc", "no",  "nos",  "jan", "feb",
                                        "mar", "apr",  "jun", "jul", "aug",  "sep", "sept",
                                        "oct", "nov",  "dec", "ave", "blvd", "rd",  NULL};
/* After an ambiguous period, a capitalised one of these opens a new sentence. */
static const char *const STARTERS[] = {
    "a",      "an",   "the",  "it",    "its",   "he",    "she",  "they", "we",    "i",
    "you",    "this", "that", "these", "those", "there", "here", "but",  "and",   "or",
    "so",     "in",   "on",   "at",    "for",   "if",    "as",   "when", "while", "after",
    "before", "his",  "her",  "their", "our",   "my",    "not",  "yet",  "then",  "however",
    "also",   "some", "one",  "all",   "no",    "what",  "who",  "why",  "how",   NULL};

enum abbrev { ABBREV_NONE, ABBREV_TITLE, ABBREV_AMBIGUOUS };

/* What the letters and dots right before the period at i (within the sentence) make. */
static enum abbrev abbrev_class(const char *s, size_t start, size_t i)
{
    size_t p = i;
    while (p > start && (is_alpha((unsigned char)s[p - 1]) || s[p - 1] == '.'))
        p--;
    while (p < i && s[p] == '.')
        p++;
    size_t n = i - p;
    if (n == 0)
        return ABBREV_NONE;
    if (word_in(s + p, n, TITLES))
        return ABBREV_TITLE;
    if (word_in(s + p, n, AMBIGUOUS) || memchr(s + p, '.', n) ||
        (n == 1 && is_upper((unsigned char)s[p])))
        return ABBREV_AMBIGUOUS;
    return ABBREV_NONE;
}

/* Whether the terminator at i (run and closers end at j, whitespace at k) ends the sentence
 * begun at start. */
static bool ends_sentence(const char *s, size_t len, size_t start, size_t i, size_t k)
{
    for (size_t n; k < len && (n = opener_len(s, len, k)) > 0;)
        k += n;
    unsigned char c = k < len ? (unsigned char)s[k] : 0;
    if (is_lower(c))
        return false;
    bool single_period = s[i] == '.' && (i + 1 >= len || !is_terminator((unsigned char)s[i + 1]));
    if (!single_period)
        return true;
    enum abbrev a = abbrev_class(s, start, i);
    if (a == ABBREV_TITLE)
        return false;
    if (a == ABBREV_AMBIGUOUS) {
        if (!is_upper(c))
            return false;
        size_t e = k;
        while (e < len && is_alpha((unsigned char)s[e]))
            e++;
        return word_in(s + k, e - k, STARTERS);
    }
    return true;
}

typedef struct {
    textrank_span_t *v;
    size_t n, cap;
} spans_t;

static int emit(spans_t *sp, const char *s, size_t len, size_t from, size_t to)
{
    if (!has_word_char(s, len, from, to))
        return TC_OK;
    if (sp->n == sp->cap) {
        size_t cap = sp->cap ? sp->cap * 2 : 16;
        textrank_span_t *v = realloc(sp->v, cap * sizeof *v);
        if (!v)
            return TC_ENOMEM;
        sp->v = v;
        sp->cap = cap;
    }
    sp->v[sp->n++] = (textrank_span_t){from, to - from};
    return TC_OK;
}

/* At a newline: the index after a blank line's second newline, or 0 when it is no blank
 * line. */
static size_t blank_line_end(const char *s, size_t len, size_t i)
{
    size_t k = i + 1;
    while (k < len && (s[k] == ' ' || s[k] == '\t' || s[k] == '\r' || s[k] == '\f' || s[k] == '\v'))
        k++;
    return k < len && s[k] == '\n' ? k + 1 : 0;
}

int textrank_split(const char *s, size_t len, textrank_span_t **spans, size_t *n)
{
    spans_t sp = {0};
    size_t start = 0, i = 0;
    int rc = TC_OK;
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n') {
            size_t next = blank_line_end(s, len, i);
            if (next) {
                if ((rc = emit(&sp, s, len, start, i)) != TC_OK)
                    goto cleanup;
                start = i = next;
                continue;
            }
            i++;
            continue;
        }
        if (!is_terminator(c)) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < len && is_terminator((unsigned char)s[j]))
            j++;
        for (size_t cl; j < len && (cl = closer_len(s, len, j)) > 0;)
            j += cl;
        if (j < len && !is_space((unsigned char)s[j])) {
            i = j; /* 3.5, U.S, "a.b": inside a word */
            continue;
        }
        size_t k = j;
        while (k < len && is_space((unsigned char)s[k]))
            k++;
        if (k >= len || ends_sentence(s, len, start, i, k)) {
            if ((rc = emit(&sp, s, len, start, j)) != TC_OK)
                goto cleanup;
            start = i = k;
            continue;
        }
        i = j;
    }
    if (start < len)
        rc = emit(&sp, s, len, start, len);
cleanup:
    if (rc != TC_OK) {
        free(sp.v);
        sp.v = NULL;
        sp.n = 0;
    }
    if (sp.n == 0) {
        free(sp.v);
        sp.v = NULL;
    }
    *spans = sp.v;
    *n = sp.n;
    return rc;
}

char *textrank_span_text(const char *text, textrank_span_t span)
{
    const char *s = text + span.start;
    char *out = malloc(span.len + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    bool gap = false;
    for (size_t i = 0; i < span.len; i++) {
        if (is_space((unsigned char)s[i])) {
            gap = true;
            continue;
        }
        if (gap && o > 0)
            out[o++] = ' ';
        gap = false;
        out[o++] = s[i];
    }
    out[o] = '\0';
    return out;
}

/* ------------------------------------------------------------------ words */

static bool ends(const char *w, size_t len, const char *suf)
{
    size_t n = strlen(suf);
    return len >= n && memcmp(w + len - n, suf, n) == 0;
}

size_t textrank_stem(char *w, size_t len)
{
    if (len < 4)
        return len;
    if (ends(w, len, "ies") && !ends(w, len, "eies") && !ends(w, len, "aies")) {
        w[len - 3] = 'y';
        return len - 2;
    }
    if (ends(w, len, "es") && !ends(w, len, "aes") && !ends(w, len, "ees") && !ends(w, len, "oes"))
        return len - 1;
    if (ends(w, len, "s") && !ends(w, len, "us") && !ends(w, len, "ss"))
        return len - 1;
    return len;
}

static bool all_digits(const char *w, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (w[i] < '0' || w[i] > '9')
            return false;
    return true;
}

/* One content-word occurrence: sentence, then the local term id. */
typedef struct {
    uint32_t sent;
    uint32_t term;
} occ_t;

typedef struct {
    uint32_t off; /* into the lowercased copy */
    uint32_t len;
    double idf;
} term_t;

/* Per-call vocabulary: the distinct stems of the ranked sentences. */
typedef struct {
    const textrank_model_t *m;
    const char *low; /* lowercased copy of the ranked text, stems in place */
    uint32_t *table; /* term id + 1, 0 empty; size mask + 1 */
    uint32_t mask;
    term_t *terms;
    size_t n_terms;
    occ_t *occ;
    size_t n_occ, cap_occ;
} vocab_t;

static int vocab_add(vocab_t *v, uint32_t sent, uint32_t off, uint32_t len)
{
    const char *key = v->low + off;
    uint32_t i = fnv1a(key, len) & v->mask, id;
    for (;;) {
        uint32_t t = v->table[i];
        if (t == 0) {
            /* table is sized to twice the possible terms: never full */
            id = (uint32_t)v->n_terms++;
            v->terms[id] = (term_t){off, len, textrank_idf(v->m, key, len)};
            v->table[i] = id + 1;
            break;
        }
        const term_t *e = &v->terms[t - 1];
        if (e->len == len && memcmp(v->low + e->off, key, len) == 0) {
            id = t - 1;
            break;
        }
        i = (i + 1) & v->mask;
    }
    if (v->n_occ == v->cap_occ) {
        size_t cap = v->cap_occ ? v->cap_occ * 2 : 256;
        occ_t *o = realloc(v->occ, cap * sizeof *o);
        if (!o)
            return TC_ENOMEM;
        v->occ = o;
        v->cap_occ = cap;
    }
    v->occ[v->n_occ++] = (occ_t){sent, id};
    return TC_OK;
}

/* Content words of one sentence (span relative to the lowercased copy's origin base) into
 * the vocabulary: 2+ bytes, not all digits, not a stop word; stemmed. */
static int vocab_sentence(vocab_t *v, char *low, size_t low_len, size_t from, size_t to,
                          uint32_t sent)
{
    size_t i = from;
    while (i < to) {
        size_t n;
        if (!cp_is_word(decode(low, low_len, i, &n))) {
            i += n;
            continue;
        }
        size_t b = i;
        while (i < to && cp_is_word(decode(low, low_len, i, &n)))
            i += n;
        size_t len = i - b;
        if (len < 2 || all_digits(low + b, len) || textrank_is_stop(v->m, low + b, len))
            continue;
        len = textrank_stem(low + b, len);
        int rc = vocab_add(v, sent, (uint32_t)b, (uint32_t)len);
        if (rc != TC_OK)
            return rc;
    }
    return TC_OK;
}

/* ------------------------------------------------------------------ graph and ranks */

int textrank_pagerank(size_t n, const size_t *row, const uint32_t *col, const double *w,
                      const double *teleport, double *rank, double *next)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        rank[i] = 1.0 / (double)n;
    int it = 0;
    while (it < TEXTRANK_MAX_ITER) {
        it++;
        double dangling = 0;
        for (size_t i = 0; i < n; i++)
            if (row[i] == row[i + 1])
                dangling += rank[i];
        for (size_t j = 0; j < n; j++)
            next[j] =
                (1.0 - TEXTRANK_DAMPING) * teleport[j] + TEXTRANK_DAMPING * dangling * teleport[j];
        for (size_t i = 0; i < n; i++) {
            double out = 0;
            for (size_t e = row[i]; e < row[i + 1]; e++)
                out += w[e];
            if (out == 0)
                continue;
            double share = TEXTRANK_DAMPING * rank[i] / out;
            for (size_t e = row[i]; e < row[i + 1]; e++)
                next[col[e]] += share * w[e];
        }
        double diff = 0;
        for (size_t j = 0; j < n; j++) {
            diff += fabs(next[j] - rank[j]);
            rank[j] = next[j];
        }
        if (diff < TEXTRANK_TOL)
            break;
    }
    return it;
}

/* Sentence vectors: term ids ascending with their TF-IDF weights, and norms. */
typedef struct {
    size_t *start; /* m + 1 */
    uint32_t *term;
    double *weight;
    double *norm;
} vectors_t;

static int cmp_occ(const void *a, const void *b)
{
    const occ_t *x = a, *y = b;
    if (x->sent != y->sent)
        return x->sent < y->sent ? -1 : 1;
    return x->term < y->term ? -1 : x->term > y->term;
}

static int build_vectors(vocab_t *v, size_t m, vectors_t *vec)
{
    vec->start = calloc(m + 1, sizeof *vec->start);
    vec->term = malloc((v->n_occ ? v->n_occ : 1) * sizeof *vec->term);
    vec->weight = malloc((v->n_occ ? v->n_occ : 1) * sizeof *vec->weight);
    vec->norm = calloc(m ? m : 1, sizeof *vec->norm);
    if (!vec->start || !vec->term || !vec->weight || !vec->norm)
        return TC_ENOMEM;
    qsort(v->occ, v->n_occ, sizeof *v->occ, cmp_occ);
    size_t k = 0;
    for (size_t o = 0; o < v->n_occ;) {
        size_t e = o;
        while (e < v->n_occ && v->occ[e].sent == v->occ[o].sent && v->occ[e].term == v->occ[o].term)
            e++;
        vec->term[k] = v->occ[o].term;
        vec->weight[k] = (double)(e - o) * v->terms[v->occ[o].term].idf;
        vec->start[v->occ[o].sent + 1] = ++k;
        o = e;
    }
    /* sentences without content words keep the end of the one before */
    for (size_t i = 1; i <= m; i++)
        if (vec->start[i] < vec->start[i - 1])
            vec->start[i] = vec->start[i - 1];
    for (size_t i = 0; i < m; i++) {
        double s = 0;
        for (size_t e = vec->start[i]; e < vec->start[i + 1]; e++)
            s += vec->weight[e] * vec->weight[e];
        vec->norm[i] = sqrt(s);
    }
    return TC_OK;
}

static void free_vectors(vectors_t *vec)
{
    free(vec->start);
    free(vec->term);
    free(vec->weight);
    free(vec->norm);
}

static double cosine(const vectors_t *vec, size_t a, size_t b)
{
    double dot = 0;
    size_t i = vec->start[a], j = vec->start[b];
    while (i < vec->start[a + 1] && j < vec->start[b + 1]) {
        if (vec->term[i] == vec->term[j])
            dot += vec->weight[i++] * vec->weight[j++];
        else if (vec->term[i] < vec->term[j])
            i++;
        else
            j++;
    }
    return dot == 0 ? 0 : dot / (vec->norm[a] * vec->norm[b]);
}

/* The cosine graph in CSR form (both directions of each edge). */
typedef struct {
    size_t *row;
    uint32_t *col;
    double *w;
} graph_t;

static int build_graph(const vectors_t *vec, size_t m, graph_t *g)
{
    int rc = TC_ENOMEM;
    double *sim = NULL;
    size_t pairs = m * (m - 1) / 2, p = 0, edges = 0;
    g->row = calloc(m + 1, sizeof *g->row);
    sim = malloc((pairs ? pairs : 1) * sizeof *sim);
    if (!g->row || !sim)
        goto cleanup;
    for (size_t i = 0; i < m; i++)
        for (size_t j = i + 1; j < m; j++, p++) {
            sim[p] = cosine(vec, i, j);
            if (sim[p] > 0) {
                g->row[i + 1]++;
                g->row[j + 1]++;
                edges += 2;
            }
        }
    for (size_t i = 0; i < m; i++)
        g->row[i + 1] += g->row[i];
    g->col = malloc((edges ? edges : 1) * sizeof *g->col);
    g->w = malloc((edges ? edges : 1) * sizeof *g->w);
    size_t *fill = malloc((m ? m : 1) * sizeof *fill);
    if (!g->col || !g->w || !fill) {
        free(fill);
        goto cleanup;
    }
    memcpy(fill, g->row, m * sizeof *fill);
    p = 0;
    for (size_t i = 0; i < m; i++)
        for (size_t j = i + 1; j < m; j++, p++)
            if (sim[p] > 0) {
                g->col[fill[i]] = (uint32_t)j;
                g->w[fill[i]++] = sim[p];
                g->col[fill[j]] = (uint32_t)i;
                g->w[fill[j]++] = sim[p];
            }
    free(fill);
    rc = TC_OK;
cleanup:
    free(sim);
    return rc;
}

static void free_graph(graph_t *g)
{
    free(g->row);
    free(g->col);
    free(g->w);
}

/* ------------------------------------------------------------------ summaries */

typedef struct {
    double score;
    size_t index;
} ranked_t;

static int cmp_best(const void *a, const void *b)
{
    const ranked_t *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

static int cmp_index(const void *a, const void *b)
{
    const ranked_t *x = a, *y = b;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* Scores of the m ranked sentences: PageRank x m + prior / (i + 1). */
static int score_sentences(const textrank_model_t *model, const char *text,
                           const textrank_span_t *spans, size_t m, double prior, ranked_t *out)
{
    int rc = TC_ENOMEM;
    size_t from = spans[0].start, to = spans[m - 1].start + spans[m - 1].len;
    size_t low_len = to - from;
    vocab_t v = {.m = model};
    vectors_t vec = {0};
    graph_t g = {0};
    double *tele = NULL, *rank = NULL, *next = NULL;
    char *low = malloc(low_len ? low_len : 1);
    /* a word takes a byte and its separator another: at most half the bytes are words */
    size_t max_terms = low_len / 2 + 1, size = 16;
    while (size < 2 * max_terms)
        size *= 2;
    v.table = calloc(size, sizeof *v.table);
    v.terms = malloc(max_terms * sizeof *v.terms);
    tele = calloc(m, sizeof *tele);
    rank = calloc(m, sizeof *rank);
    next = calloc(m, sizeof *next);
    if (!low || !v.table || !v.terms || !tele || !rank || !next)
        goto cleanup;
    /* one lowercased copy, stemmed in place, so every stem is a key without a copy of its own */
    for (size_t i = 0; i < low_len; i++)
        low[i] =
            is_upper((unsigned char)text[from + i]) ? (char)(text[from + i] + 32) : text[from + i];
    v.low = low;
    v.mask = (uint32_t)(size - 1);
    for (size_t i = 0; i < m; i++) {
        size_t a = spans[i].start - from;
        if ((rc = vocab_sentence(&v, low, low_len, a, a + spans[i].len, (uint32_t)i)) != TC_OK)
            goto cleanup;
    }
    rc = TC_ENOMEM;
    if (build_vectors(&v, m, &vec) != TC_OK || build_graph(&vec, m, &g) != TC_OK)
        goto cleanup;
    for (size_t i = 0; i < m; i++)
        tele[i] = 1.0 / (double)m;
    textrank_pagerank(m, g.row, g.col, g.w, tele, rank, next);
    for (size_t i = 0; i < m; i++)
        out[i] = (ranked_t){rank[i] * (double)m + prior / (double)(i + 1), i};
    rc = TC_OK;
cleanup:
    free(low);
    free(v.table);
    free(v.terms);
    free(v.occ);
    free_vectors(&vec);
    free_graph(&g);
    free(tele);
    free(rank);
    free(next);
    return rc;
}

int textrank_summarize(const textrank_model_t *model, const char *text, size_t len, size_t n,
                       double prior, textrank_summary_t *out)
{
    *out = (textrank_summary_t){0};
    textrank_span_t *spans = NULL;
    ranked_t *ranked = NULL;
    size_t count = 0;
    int rc = textrank_split(text, len, &spans, &count);
    if (rc != TC_OK)
        goto cleanup;
    out->sentence_count = count;
    size_t m = count < TEXTRANK_MAX_SENTENCES ? count : TEXTRANK_MAX_SENTENCES;
    size_t k = n < m ? n : m;
    if (k == 0)
        goto cleanup;
    rc = TC_ENOMEM;
    ranked = malloc(m * sizeof *ranked);
    out->picks = calloc(k, sizeof *out->picks);
    if (!ranked || !out->picks)
        goto cleanup;
    if ((rc = score_sentences(model, text, spans, m, prior, ranked)) != TC_OK)
        goto cleanup;
    qsort(ranked, m, sizeof *ranked, cmp_best);
    qsort(ranked, k, sizeof *ranked, cmp_index);
    rc = TC_ENOMEM;
    for (size_t i = 0; i < k; i++) {
        textrank_pick_t *p = &out->picks[i];
        p->index = ranked[i].index;
        p->score = ranked[i].score;
        p->text = textrank_span_text(text, spans[p->index]);
        if (!p->text)
            goto cleanup;
        out->n_picks++;
    }
    rc = TC_OK;
cleanup:
    free(spans);
    free(ranked);
    if (rc != TC_OK) {
        textrank_summary_free(out);
        out->sentence_count = 0;
    }
    return rc;
}

void textrank_summary_free(textrank_summary_t *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_picks; i++)
        free(s->picks[i].text);
    free(s->picks);
    s->picks = NULL;
    s->n_picks = 0;
}
