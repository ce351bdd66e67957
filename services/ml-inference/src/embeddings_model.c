/*
 * embeddings_model.c: the mapped word-vector file, its hash lookup, the tokeniser and SIF
 * sentence vectors. See embeddings_model.h for the contract and pack.py for the file layout.
 */
#include "embeddings_model.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tc/tc_core.h"
#include "tc/tc_log.h"

/* The file is little endian and its sections are read in place. */
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "embeddings_model.c reads a little-endian file in place"
#endif

struct emb_model {
    void *map;
    size_t map_len;
    uint32_t dims;
    uint32_t words;
    uint32_t slots; /* power of two */
    uint32_t longest;
    double sif_a;
    double zipf_h;
    const uint32_t *offsets; /* words + 1 */
    const char *blob;
    uint64_t blob_len;
    const uint32_t *table; /* slots; 0 = empty, else id + 1 */
    const float *scales;   /* words */
    const int8_t *vectors; /* words x dims */
};

/* ------------------------------------------------------------------ header */

typedef struct {
    char magic[8];
    uint32_t format, dims, words, slots, longest, flags;
    double sif_a, zipf_h;
    uint64_t offsets, blob, blob_len, table, scales, vectors, file_size;
} emb_header_t;

/* Field by field with memcpy: no assumption about the struct's padding. */
static void header_read(const unsigned char *p, emb_header_t *h)
{
    memcpy(h->magic, p, 8);
    uint32_t *u32[] = {&h->format, &h->dims, &h->words, &h->slots, &h->longest, &h->flags};
    for (size_t i = 0; i < TC_ARRAY_LEN(u32); i++)
        memcpy(u32[i], p + 8 + 4 * i, 4);
    memcpy(&h->sif_a, p + 32, 8);
    memcpy(&h->zipf_h, p + 40, 8);
    uint64_t *u64[] = {&h->offsets, &h->blob,    &h->blob_len, &h->table,
                       &h->scales,  &h->vectors, &h->file_size};
    for (size_t i = 0; i < TC_ARRAY_LEN(u64); i++)
        memcpy(u64[i], p + 48 + 8 * i, 8);
}

/* A section [off, off + bytes) lies after the header, inside the file, aligned for its type. */
static bool section_ok(uint64_t off, uint64_t bytes, uint64_t align, uint64_t size)
{
    return off >= EMB_HEADER_SIZE && off % align == 0 && off <= size && bytes <= size - off;
}

/* NULL when the header describes a usable file of size bytes, else what is wrong. */
static const char *header_check(const emb_header_t *h, uint64_t size)
{
    if (memcmp(h->magic, EMB_MAGIC, 8) != 0)
        return "bad magic";
    if (h->format != EMB_FORMAT)
        return "unsupported format version";
    if (h->file_size != size)
        return "file size differs from the header (truncated?)";
    if (h->dims == 0 || h->dims > EMB_MAX_DIMS)
        return "dimensions out of range";
    if (h->words == 0 || h->words == UINT32_MAX)
        return "word count out of range";
    /* A power of two above the word count leaves an empty slot to end every probe. */
    if (h->slots <= h->words || (h->slots & (h->slots - 1)) != 0)
        return "hash table size is not a power of two above the word count";
    if (h->longest == 0 || h->longest > EMB_MAX_TOKEN)
        return "longest word out of range";
    if (!(isfinite(h->sif_a) && h->sif_a > 0) || !(isfinite(h->zipf_h) && h->zipf_h >= 1))
        return "SIF parameters out of range";
    uint64_t n = h->words;
    if (!section_ok(h->offsets, 4 * (n + 1), 4, size) ||
        !section_ok(h->blob, h->blob_len, 1, size) ||
        !section_ok(h->table, 4 * (uint64_t)h->slots, 4, size) ||
        !section_ok(h->scales, 4 * n, 4, size) || !section_ok(h->vectors, n * h->dims, 1, size))
        return "a section lies outside the file";
    return NULL;
}

/* ------------------------------------------------------------------ open / close */

static void log_invalid(const char *path, const char *reason)
{
    tc_log_kv(TC_LOG_ERROR, "embeddings model file is invalid", "path", path, "reason", reason,
              NULL);
}

/* Points the model's sections into the mapping; the cheap O(1) consistency checks that the
 * header alone cannot give (the word table's ends) happen here. */
static const char *bind_sections(emb_model_t *m, const emb_header_t *h)
{
    const char *base = m->map;
    m->dims = h->dims;
    m->words = h->words;
    m->slots = h->slots;
    m->longest = h->longest;
    m->sif_a = h->sif_a;
    m->zipf_h = h->zipf_h;
    m->offsets = (const uint32_t *)(const void *)(base + h->offsets);
    m->blob = base + h->blob;
    m->blob_len = h->blob_len;
    m->table = (const uint32_t *)(const void *)(base + h->table);
    m->scales = (const float *)(const void *)(base + h->scales);
    m->vectors = (const int8_t *)(const void *)(base + h->vectors);
    if (m->offsets[0] != 0 || m->offsets[m->words] != m->blob_len)
        return "word offsets do not span the word blob";
    return NULL;
}

int emb_model_open(const char *path, emb_model_t **out)
{
    int rc = TC_ERROR;
    int fd = -1;
    emb_model_t *m = NULL;
    const char *bad = NULL;
    struct stat st;
    emb_header_t h;

    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0) {
        tc_log_kv(TC_LOG_ERROR, "cannot open embeddings model file", "path", path, "error",
                  strerror(errno), NULL);
        goto cleanup;
    }
    if (st.st_size < (off_t)EMB_HEADER_SIZE) {
        log_invalid(path, "shorter than the header");
        rc = TC_EINVAL;
        goto cleanup;
    }
    m = calloc(1, sizeof(*m));
    if (!m) {
        rc = TC_ENOMEM;
        goto cleanup;
    }
    m->map_len = (size_t)st.st_size;
    m->map = mmap(NULL, m->map_len, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m->map == MAP_FAILED) {
        m->map = NULL;
        tc_log_kv(TC_LOG_ERROR, "cannot map embeddings model file", "path", path, "error",
                  strerror(errno), NULL);
        goto cleanup;
    }
    header_read(m->map, &h);
    bad = header_check(&h, m->map_len);
    if (!bad)
        bad = bind_sections(m, &h);
    if (bad) {
        log_invalid(path, bad);
        rc = TC_EINVAL;
        goto cleanup;
    }
    /* No MADV_WILLNEED / MAP_POPULATE: measured, readahead advice did not make the first
     * cold requests faster, and populating would read 44 MB before the service is ready.
     * Pages come in on first use (about 10 ms for the first request on a cold page cache). */
    *out = m;
    m = NULL;
    rc = TC_OK;
cleanup:
    if (fd >= 0)
        close(fd);
    emb_model_close(m);
    return rc;
}

void emb_model_close(emb_model_t *m)
{
    if (!m)
        return;
    if (m->map)
        munmap(m->map, m->map_len);
    free(m);
}

size_t emb_model_dims(const emb_model_t *m)
{
    return m->dims;
}

size_t emb_model_words(const emb_model_t *m)
{
    return m->words;
}

size_t emb_model_file_bytes(const emb_model_t *m)
{
    return m->map_len;
}

/* ------------------------------------------------------------------ lookup */

uint64_t emb_hash(const char *s, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* Offsets are checked per use: validating all of them at open would touch the whole table. */
static bool word_is(const emb_model_t *m, uint32_t id, const char *word, size_t len)
{
    uint32_t a = m->offsets[id], b = m->offsets[id + 1];
    return a <= b && b <= m->blob_len && b - a == len && memcmp(m->blob + a, word, len) == 0;
}

int64_t emb_model_lookup(const emb_model_t *m, const char *word, size_t len)
{
    if (len == 0 || len > m->longest)
        return -1;
    uint32_t mask = m->slots - 1;
    uint32_t i = (uint32_t)(emb_hash(word, len) & mask);
    /* At most one pass over the table, so even a corrupt table without an empty slot ends. */
    for (uint32_t probe = 0; probe < m->slots; probe++, i = (i + 1) & mask) {
        uint32_t e = m->table[i];
        if (e == 0 || e > m->words)
            return -1;
        if (word_is(m, e - 1, word, len))
            return e - 1;
    }
    return -1;
}

void emb_model_vector(const emb_model_t *m, size_t id, float *out)
{
    const int8_t *q = m->vectors + id * m->dims;
    float s = m->scales[id];
    for (size_t d = 0; d < m->dims; d++)
        out[d] = s * (float)q[d];
}

double emb_sif_weight(double a, double zipf_h, size_t rank)
{
    return a / (a + 1.0 / ((double)rank * zipf_h));
}

double emb_model_weight(const emb_model_t *m, size_t id)
{
    return emb_sif_weight(m->sif_a, m->zipf_h, id + 1);
}

/* ------------------------------------------------------------------ tokeniser */

/* U+00C0..U+017F folded to ASCII (the vocabulary is ASCII only); "" for the x and / signs,
 * which are separators and never reach the table. Same table as FOLD in pack.py. */
/* clang-format off */
static const char *const kFold[0x180 - 0xC0] = {
    /* U+00C0 */ "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
    /* U+00D0 */ "d", "n", "o", "o", "o", "o", "o", "", "o", "u", "u", "u", "u", "y", "th", "ss",
    /* U+00E0 */ "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
    /* U+00F0 */ "d", "n", "o", "o", "o", "o", "o", "", "o", "u", "u", "u", "u", "y", "th", "y",
    /* U+0100 */ "a", "a", "a", "a", "a", "a", "c", "c", "c", "c", "c", "c", "c", "c", "d", "d",
    /* U+0110 */ "d", "d", "e", "e", "e", "e", "e", "e", "e", "e", "e", "e", "g", "g", "g", "g",
    /* U+0120 */ "g", "g", "g", "g", "h", "h", "h", "h", "i", "i", "i", "i", "i", "i", "i", "i",
    /* U+0130 */ "i", "i", "ij", "ij", "j", "j", "k", "k", "k", "l", "l", "l", "l", "l", "l", "l",
    /* U+0140 */ "l", "l", "l", "n", "n", "n", "n", "n", "n", "n", "ng", "ng", "o", "o", "o", "o",
    /* U+0150 */ "o", "o", "oe", "oe", "r", "r", "r", "r", "r", "r", "s", "s", "s", "s", "s", "s",
    /* U+0160 */ "s", "s", "t", "t", "t", "t", "t", "t", "u", "u", "u", "u", "u", "u", "u", "u",
    /* U+0170 */ "u", "u", "u", "u", "w", "w", "y", "y", "y", "z", "z", "z", "z", "z", "z", "s",
};
/* clang-format on */

/* The code point at s[*i] (advancing *i); an invalid byte is U+FFFD of length 1. */
static uint32_t next_cp(const char *s, size_t len, size_t *i)
{
    const unsigned char *p = (const unsigned char *)s + *i;
    size_t left = len - *i;
    uint32_t c = p[0];
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || n > left) {
        *i += 1;
        return n == 1 ? c : 0xFFFD;
    }
    if (n > 1)
        c &= 0x7Fu >> n;
    for (size_t k = 1; k < n; k++) {
        if ((p[k] & 0xC0) != 0x80) {
            *i += 1;
            return 0xFFFD;
        }
        c = (c << 6) | (p[k] & 0x3F);
    }
    *i += n;
    return c;
}

/* Punctuation and symbol blocks outside ASCII (and U+FFFD, which invalid bytes decode to):
 * separators like ASCII punctuation. */
static bool is_word_cp(uint32_t c)
{
    static const uint32_t seps[][2] = {
        {0x80, 0xBF},     {0xD7, 0xD7},       {0xF7, 0xF7},       {0x2000, 0x2BFF},
        {0x3000, 0x303F}, {0xFE00, 0xFE0F},   {0xFE30, 0xFE4F},   {0xFEFF, 0xFEFF},
        {0xFF00, 0xFF0F}, {0xFF1A, 0xFF20},   {0xFF3B, 0xFF40},   {0xFF5B, 0xFF65},
        {0xFFF0, 0xFFFF}, {0x1F000, 0x1FAFF}, {0xE0000, 0xE007F},
    };
    if (c < 0x80)
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    for (size_t i = 0; i < TC_ARRAY_LEN(seps); i++)
        if (c >= seps[i][0] && c <= seps[i][1])
            return false;
    return true;
}

static bool is_apos(uint32_t c)
{
    return c == '\'' || c == 0x2019;
}

typedef struct {
    const emb_model_t *m;
    emb_token_fn fn;
    void *ctx;
    size_t count;
    char buf[EMB_MAX_TOKEN];
} tokenizer_t;

/* Normalises raw[0..len) into t->buf: its length, or SIZE_MAX when longer than the buffer. */
static size_t normalise(tokenizer_t *t, const char *raw, size_t len)
{
    size_t out = 0, i = 0;
    while (i < len) {
        size_t start = i;
        uint32_t c = next_cp(raw, len, &i);
        const char *rep = raw + start;
        size_t n = i - start;
        char lower;
        if (c < 0x80) {
            lower = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
            rep = &lower;
        } else if (c == 0x2019) {
            rep = "'";
            n = 1;
        } else if (c >= 0xC0 && c < 0x180) {
            rep = kFold[c - 0xC0];
            n = strlen(rep);
        }
        if (n > sizeof(t->buf) - out)
            return SIZE_MAX;
        memcpy(t->buf + out, rep, n);
        out += n;
    }
    return out;
}

static void emit(tokenizer_t *t, const char *tok, size_t len)
{
    t->count++;
    t->fn(tok, len, t->ctx);
}

/* Pieces of a normalised part, split at its apostrophes (never first or last in a part). */
static void emit_pieces(tokenizer_t *t, const char *p, size_t len)
{
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || p[i] == '\'') {
            emit(t, p + start, i - start);
            start = i + 1;
        }
    }
}

/* A hyphen-free part: split off "n't" or a clitic as GloVe's tokeniser does. */
static void emit_part(tokenizer_t *t, const char *raw, size_t rawlen)
{
    static const char *const clitics[] = {"'s", "'m", "'d", "'ll", "'re", "'ve"};
    size_t n = normalise(t, raw, rawlen);
    if (n == SIZE_MAX) {
        emit(t, NULL, rawlen);
        return;
    }
    const char *p = t->buf;
    if (n > 3 && memcmp(p + n - 3, "n't", 3) == 0) {
        emit_pieces(t, p, n - 3);
        emit(t, "n't", 3);
        return;
    }
    const char *last = memrchr(p, '\'', n);
    if (last && last > p) {
        size_t k = (size_t)(last - p);
        for (size_t i = 0; i < TC_ARRAY_LEN(clitics); i++) {
            if (n - k == strlen(clitics[i]) && memcmp(last, clitics[i], n - k) == 0) {
                emit_pieces(t, p, k);
                emit(t, last, n - k);
                return;
            }
        }
    }
    emit_pieces(t, p, n);
}

/* A chunk: whole when it is a known hyphenated word, else part by part. */
static void emit_chunk(tokenizer_t *t, const char *raw, size_t len)
{
    bool hyphen = memchr(raw, '-', len) != NULL;
    bool apos = memchr(raw, '\'', len) != NULL || memmem(raw, len, "\xE2\x80\x99", 3) != NULL;
    if (hyphen && !apos && t->m) {
        size_t n = normalise(t, raw, len);
        if (n != SIZE_MAX && emb_model_lookup(t->m, t->buf, n) >= 0) {
            emit(t, t->buf, n);
            return;
        }
    }
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || raw[i] == '-') {
            emit_part(t, raw + start, i - start);
            start = i + 1;
        }
    }
}

/* The end of the chunk starting at *pos (a word character): word characters, with single
 * apostrophes and hyphens kept when a word character follows. */
static size_t chunk_end(const char *text, size_t len, size_t pos)
{
    size_t end = pos;
    while (end < len) {
        size_t next = end;
        uint32_t c = next_cp(text, len, &next);
        if (is_word_cp(c)) {
            end = next;
            continue;
        }
        if ((is_apos(c) || c == '-') && next < len) {
            size_t after = next;
            if (is_word_cp(next_cp(text, len, &after))) {
                end = after;
                continue;
            }
        }
        break;
    }
    return end;
}

size_t emb_tokenize(const emb_model_t *m, const char *text, size_t len, emb_token_fn fn, void *ctx)
{
    tokenizer_t t = {.m = m, .fn = fn, .ctx = ctx, .count = 0};
    size_t pos = 0;
    while (pos < len) {
        size_t start = pos;
        if (!is_word_cp(next_cp(text, len, &pos)))
            continue;
        pos = chunk_end(text, len, pos);
        emit_chunk(&t, text + start, pos - start);
    }
    return t.count;
}

/* ------------------------------------------------------------------ sentence vectors */

void emb_accumulate(double *acc, size_t dims, double weight, float scale, const int8_t *q)
{
    double ws = weight * (double)scale;
    for (size_t d = 0; d < dims; d++)
        acc[d] += ws * (double)q[d];
}

void emb_normalise(const double *acc, size_t dims, float *out)
{
    double ss = 0;
    for (size_t d = 0; d < dims; d++)
        ss += acc[d] * acc[d];
    double inv = ss > 0 ? 1.0 / sqrt(ss) : 0.0;
    for (size_t d = 0; d < dims; d++)
        out[d] = (float)(acc[d] * inv);
}

typedef struct {
    const emb_model_t *m;
    double *acc;
    size_t known;
} sentence_t;

static void sentence_token(const char *tok, size_t len, void *ctx)
{
    sentence_t *s = ctx;
    if (!tok)
        return;
    int64_t id = emb_model_lookup(s->m, tok, len);
    if (id < 0)
        return;
    s->known++;
    const emb_model_t *m = s->m;
    emb_accumulate(s->acc, m->dims, emb_model_weight(m, (size_t)id), m->scales[id],
                   m->vectors + (size_t)id * m->dims);
}

int emb_model_sentence(const emb_model_t *m, const char *text, size_t len, float *out,
                       emb_counts_t *counts)
{
    sentence_t s = {.m = m, .acc = calloc(m->dims, sizeof(double)), .known = 0};
    if (!s.acc)
        return TC_ENOMEM;
    counts->tokens = emb_tokenize(m, text, len, sentence_token, &s);
    counts->known = s.known;
    emb_normalise(s.acc, m->dims, out);
    free(s.acc);
    return TC_OK;
}
