/*
 * fasttext_model.c: fastText's supervised prediction over its .bin format, and the recipe's
 * text normalisation (services/ml-inference/models/text-classifier-v2/normalise.py) in C.
 *
 * The .bin layout (fastText 0.9.x, little-endian, no padding):
 *   int32 magic 793712314, int32 version 12
 *   args: int32 dim, ws, epoch, minCount, neg, wordNgrams, loss, model, bucket, minn, maxn,
 *         lrUpdateRate; float64 t
 *   dictionary: int32 size, nwords, nlabels; int64 ntokens, pruneidx_size; size entries of
 *         (NUL-terminated word, int64 count, int8 type); pruneidx_size pairs of int32
 *   uint8 quantized input; int64 rows, int64 cols, rows*cols float32   (input matrix)
 *   uint8 quantized output; int64 rows, int64 cols, rows*cols float32  (output matrix)
 * The dictionary's strings end 1 byte apart from arbitrary counts, so the matrices are not
 * float-aligned in the file: rows are read with memcpy (an unaligned load), not cast.
 */
#include "fasttext_model.h"

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

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "fastText .bin files are little-endian; this reader assumes a little-endian host"
#endif

#define FT_MAGIC        793712314
#define FT_VERSION      12
#define FT_LOSS_SOFTMAX 3
#define FT_MODEL_SUP    3
#define FT_MAX_DIM      4096
#define FT_MAX_NGRAMS   16 /* -wordNgrams; fastText's own examples stop at 5 */
#define FT_MAX_CHARGRAM 64 /* -maxn */
#define FT_LABEL_PREFIX "__label__"
#define FT_EOS          "</s>"
#define FT_NGRAM_MUL    116049371u /* fastText's word n-gram hash multiplier */

struct ft_model {
    void *map;
    size_t map_len;
    int32_t dim, word_ngrams, bucket, minn, maxn;
    int32_t nwords, nlabels;
    const char **words; /* nwords + nlabels NUL-terminated strings inside the mapping */
    uint32_t *word_len;
    int32_t *table; /* open addressing on ft_hash, -1 = empty; mask + 1 slots */
    uint32_t mask;
    const unsigned char *input;  /* (nwords + bucket) x dim float32 */
    const unsigned char *output; /* nlabels x dim float32 */
};

/* ------------------------------------------------------------------ normalisation */

static bool is_punct(unsigned char c)
{
    return (c >= 0x21 && c <= 0x2f) || (c >= 0x3a && c <= 0x40) || (c >= 0x5b && c <= 0x60) ||
           (c >= 0x7b && c <= 0x7e);
}

static bool is_separator(unsigned char c)
{
    return c <= 0x20 || c == 0x7f;
}

static bool is_base64_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/' || c == '=';
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* One line of the input: [start, start + len), without its '\n'. */
typedef struct {
    const char *start;
    size_t len;
} line_t;

/* The line starting at *pos (which must be <= len); *pos moves past its '\n'. False once the
 * line after the last '\n' has been returned (a text ending in '\n' ends with an empty line,
 * as Python's split does). */
static bool next_line(const char *in, size_t len, size_t *pos, bool *done, line_t *line)
{
    if (*done)
        return false;
    const char *nl = memchr(in + *pos, '\n', len - *pos);
    line->start = in + *pos;
    if (nl == NULL) {
        line->len = len - *pos;
        *pos = len;
        *done = true;
    } else {
        line->len = (size_t)(nl - line->start);
        *pos += line->len + 1;
    }
    return true;
}

static size_t without_cr(line_t l)
{
    return l.len > 0 && l.start[l.len - 1] == '\r' ? l.len - 1 : l.len;
}

/* Length of the field name when the line is "Name:..." (RFC 5322 field name), else 0. */
static size_t field_name_len(line_t l)
{
    size_t k = 0;
    while (k < l.len && (unsigned char)l.start[k] >= 0x21 && (unsigned char)l.start[k] <= 0x7e &&
           l.start[k] != ':')
        k++;
    return k > 0 && k < l.len && l.start[k] == ':' ? k : 0;
}

static bool name_is(line_t l, size_t n, const char *want)
{
    if (strlen(want) != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)l.start[i];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        if (c != (unsigned char)want[i])
            return false;
    }
    return true;
}

static bool is_common_field(line_t l, size_t n)
{
    static const char *const common[] = {"from",     "to",          "subject",   "date",
                                         "received", "return-path", "message-id"};
    for (size_t i = 0; i < sizeof common / sizeof common[0]; i++)
        if (name_is(l, n, common[i]))
            return true;
    return false;
}

/* True when the text opens with a header block (fields, folded lines, an optional mbox
 * "From " line, at least one common field, then a blank line): *body is where the body
 * starts, and *has_body is false when the blank line was the text's end (nothing follows its
 * last '\n'). A text that merely starts with "Word:" stays whole. */
static bool email_split(const char *in, size_t len, size_t *body, bool *has_body)
{
    size_t pos = 0, i = 0;
    bool done = false, common = false;
    line_t l;
    for (; next_line(in, len, &pos, &done, &l); i++) {
        if (without_cr(l) == 0) {
            *body = pos;
            *has_body = !done;
            return i > 0 && common;
        }
        if (i == 0 && l.len >= 5 && memcmp(l.start, "From ", 5) == 0) {
            common = true;
            continue;
        }
        if (i > 0 && (l.start[0] == ' ' || l.start[0] == '\t'))
            continue;
        size_t n = field_name_len(l);
        if (n == 0)
            return false;
        common = common || is_common_field(l, n);
    }
    return false;
}

/* Appends a kept line to out (joined by '\n'), unless it looks like base64. */
static void keep_line(line_t l, char *out, size_t *n, bool *first)
{
    size_t len = without_cr(l);
    if (len >= 40) {
        size_t k = 0;
        while (k < len && is_base64_char((unsigned char)l.start[k]))
            k++;
        if (k == len)
            return;
    }
    if (!*first)
        out[(*n)++] = '\n';
    memcpy(out + *n, l.start, l.len);
    *n += l.len;
    *first = false;
}

/* The kept lines of in, joined by '\n', into out (at least len bytes): an email's Subject
 * value(s) and body, or the whole text. Returns the length written. */
static size_t kept_text(const char *in, size_t len, char *out)
{
    size_t body = 0, n = 0, pos = 0;
    bool done = false, first = true, in_subject = false, has_body = true;
    line_t l;
    if (email_split(in, len, &body, &has_body)) {
        /* the header block again, this time keeping the Subject lines */
        for (size_t i = 0; pos < body && next_line(in, len, &pos, &done, &l); i++) {
            if (without_cr(l) == 0)
                break;
            if (i == 0 && l.len >= 5 && memcmp(l.start, "From ", 5) == 0) {
                in_subject = false;
                continue;
            }
            if (i > 0 && (l.start[0] == ' ' || l.start[0] == '\t')) {
                if (in_subject)
                    keep_line(l, out, &n, &first);
                continue;
            }
            size_t k = field_name_len(l);
            in_subject = name_is(l, k, "subject");
            if (in_subject) {
                line_t value = {l.start + k + 1, l.len - k - 1};
                keep_line(value, out, &n, &first);
            }
        }
        pos = body;
        done = !has_body;
    }
    while (next_line(in, len, &pos, &done, &l))
        keep_line(l, out, &n, &first);
    return n;
}

/* Quoted-printable soft line breaks ("=\n", "=\r\n") removed in place; returns the length. */
static size_t drop_soft_breaks(char *s, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n;) {
        if (s[i] == '=' && i + 1 < n && s[i + 1] == '\n') {
            i += 2;
        } else if (s[i] == '=' && i + 2 < n && s[i + 1] == '\r' && s[i + 2] == '\n') {
            i += 3;
        } else {
            s[w++] = s[i++];
        }
    }
    return w;
}

/* "=XX" becomes its character when that is printable ASCII, in place, in one left-to-right
 * pass (a decoded '=' does not start another escape); returns the length. */
static size_t decode_qp_escapes(char *s, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n;) {
        int hi = -1, lo = -1;
        if (s[i] == '=' && i + 2 < n) {
            hi = hex_value((unsigned char)s[i + 1]);
            lo = hex_value((unsigned char)s[i + 2]);
        }
        if (hi < 0 || lo < 0) {
            s[w++] = s[i++];
            continue;
        }
        int c = hi * 16 + lo;
        if (c >= 0x20 && c <= 0x7e) {
            s[w++] = (char)c;
        } else {
            s[w++] = s[i];
            s[w++] = s[i + 1];
            s[w++] = s[i + 2];
        }
        i += 3;
    }
    return w;
}

/* Tokens of s[0..n) joined by single spaces into out (at least 2n + 1 bytes). */
static size_t join_tokens(const char *s, size_t n, char *out)
{
    size_t w = 0;
    bool in_word = false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (is_separator(c)) {
            in_word = false;
            continue;
        }
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        bool punct = is_punct(c);
        if (w > 0 && (punct || !in_word))
            out[w++] = ' ';
        out[w++] = (char)c;
        in_word = !punct;
    }
    out[w] = '\0';
    return w;
}

int ft_normalise(const char *in, size_t len, char **out, size_t *out_len)
{
    int rc = TC_ENOMEM;
    char *kept = NULL, *result = NULL;
    if (len > (SIZE_MAX - 1) / 2)
        goto cleanup;
    kept = malloc(len + 1);
    result = malloc(2 * len + 1);
    if (kept == NULL || result == NULL)
        goto cleanup;
    size_t n = kept_text(in, len, kept);
    n = drop_soft_breaks(kept, n);
    n = decode_qp_escapes(kept, n);
    *out_len = join_tokens(kept, n, result);
    *out = result;
    result = NULL;
    rc = TC_OK;
cleanup:
    free(kept);
    free(result);
    return rc;
}

/* ------------------------------------------------------------------ arithmetic */

uint32_t ft_hash(const char *s, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h ^= (uint32_t)(int32_t)(int8_t)s[i];
        h *= 16777619u;
    }
    return h;
}

void ft_softmax(float *v, size_t n)
{
    if (n == 0)
        return;
    float max = v[0], z = 0.0f;
    for (size_t i = 0; i < n; i++)
        max = v[i] > max ? v[i] : max;
    for (size_t i = 0; i < n; i++) {
        v[i] = expf(v[i] - max);
        z += v[i];
    }
    for (size_t i = 0; i < n; i++)
        v[i] /= z;
}

/* ------------------------------------------------------------------ reading the .bin */

typedef struct {
    const unsigned char *p;
    size_t left;
} cursor_t;

static bool take(cursor_t *c, void *dst, size_t n)
{
    if (c->left < n)
        return false;
    memcpy(dst, c->p, n);
    c->p += n;
    c->left -= n;
    return true;
}

static bool take_i32(cursor_t *c, int32_t *v)
{
    return take(c, v, sizeof *v);
}

static bool take_i64(cursor_t *c, int64_t *v)
{
    return take(c, v, sizeof *v);
}

static bool take_cstr(cursor_t *c, const char **s, uint32_t *len)
{
    const unsigned char *nul = memchr(c->p, '\0', c->left);
    if (nul == NULL || nul - c->p > INT32_MAX)
        return false;
    *s = (const char *)c->p;
    *len = (uint32_t)(nul - c->p);
    c->left -= (size_t)(nul - c->p) + 1;
    c->p = nul + 1;
    return true;
}

/* A dense matrix's header and where its rows are; false when it is quantized, has another
 * shape, or runs past the end of the file. */
static bool take_matrix(cursor_t *c, int64_t rows, int64_t cols, const unsigned char **data,
                        const char **why)
{
    unsigned char quantized;
    int64_t m, n;
    if (!take(c, &quantized, 1) || !take_i64(c, &m) || !take_i64(c, &n)) {
        *why = "file is truncated (matrix header)";
        return false;
    }
    if (quantized) {
        *why = "quantized model (.ftz) is not supported: serve the .bin";
        return false;
    }
    if (m != rows || n != cols) {
        *why = "matrix shape does not match the dictionary and dim";
        return false;
    }
    if ((uint64_t)m > c->left / 4 / (uint64_t)n) {
        *why = "file is truncated (matrix data)";
        return false;
    }
    size_t bytes = (size_t)m * (size_t)n * 4;
    *data = c->p;
    c->p += bytes;
    c->left -= bytes;
    return true;
}

/* Header and args; *why says what is wrong. */
static bool read_args(cursor_t *c, ft_model_t *m, const char **why)
{
    int32_t magic, version, a[12];
    double t;
    if (!take_i32(c, &magic) || magic != FT_MAGIC) {
        *why = "not a fastText model (bad magic number)";
        return false;
    }
    if (!take_i32(c, &version) || version != FT_VERSION) {
        *why = "unsupported fastText file version (want 12, fastText 0.9.x)";
        return false;
    }
    if (!take(c, a, sizeof a) || !take(c, &t, sizeof t)) {
        *why = "file is truncated (args)";
        return false;
    }
    /* dim, ws, epoch, minCount, neg, wordNgrams, loss, model, bucket, minn, maxn, lrUpdate */
    m->dim = a[0];
    m->word_ngrams = a[5];
    m->bucket = a[8];
    m->minn = a[9];
    m->maxn = a[10];
    if (a[7] != FT_MODEL_SUP) {
        *why = "not a supervised (classifier) model";
        return false;
    }
    if (a[6] != FT_LOSS_SOFTMAX) {
        *why = "loss is not softmax (train with -loss softmax)";
        return false;
    }
    if (m->dim < 1 || m->dim > FT_MAX_DIM || m->word_ngrams < 1 || m->word_ngrams > FT_MAX_NGRAMS ||
        m->bucket < 0 || m->maxn < 0 || m->maxn > FT_MAX_CHARGRAM ||
        (m->maxn > 0 && (m->minn < 1 || m->minn > m->maxn)) ||
        ((m->word_ngrams > 1 || m->maxn > 0) && m->bucket == 0)) {
        *why = "args out of range (dim, wordNgrams, bucket, minn, maxn)";
        return false;
    }
    return true;
}

static int32_t lookup(const ft_model_t *m, const char *w, uint32_t len, uint32_t h)
{
    for (uint32_t slot = h & m->mask;; slot = (slot + 1) & m->mask) {
        int32_t id = m->table[slot];
        if (id < 0 || (m->word_len[id] == len && memcmp(m->words[id], w, len) == 0))
            return id;
    }
}

/* The dictionary's entries and the index over them. TC_OK, TC_EINVAL (*why) or TC_ENOMEM. */
static int read_dictionary(cursor_t *c, ft_model_t *m, const char **why)
{
    int32_t size;
    int64_t ntokens, pruneidx_size;
    if (!take_i32(c, &size) || !take_i32(c, &m->nwords) || !take_i32(c, &m->nlabels) ||
        !take_i64(c, &ntokens) || !take_i64(c, &pruneidx_size)) {
        *why = "file is truncated (dictionary header)";
        return TC_EINVAL;
    }
    if (pruneidx_size != -1) {
        *why = "pruned or quantized dictionary (.ftz) is not supported: serve the .bin";
        return TC_EINVAL;
    }
    if (m->nwords < 1 || m->nlabels < 1 || size != m->nwords + m->nlabels || size > (1 << 28)) {
        *why = "dictionary sizes are inconsistent";
        return TC_EINVAL;
    }
    uint32_t slots = 1;
    while (slots < 2u * (uint32_t)size)
        slots <<= 1;
    m->mask = slots - 1;
    m->words = calloc((size_t)size, sizeof *m->words);
    m->word_len = calloc((size_t)size, sizeof *m->word_len);
    m->table = malloc((size_t)slots * sizeof *m->table);
    if (m->words == NULL || m->word_len == NULL || m->table == NULL)
        return TC_ENOMEM;
    memset(m->table, 0xff, (size_t)slots * sizeof *m->table);
    for (int32_t i = 0; i < size; i++) {
        int64_t count;
        int8_t type;
        if (!take_cstr(c, &m->words[i], &m->word_len[i]) || !take_i64(c, &count) ||
            !take(c, &type, 1)) {
            *why = "file is truncated (dictionary entries)";
            return TC_EINVAL;
        }
        if (type != (i < m->nwords ? 0 : 1)) {
            *why = "dictionary entries are not words then labels";
            return TC_EINVAL;
        }
        /* fastText lets a repeated entry's later index win; so does this index */
        uint32_t h = ft_hash(m->words[i], m->word_len[i]);
        uint32_t slot = h & m->mask;
        while (m->table[slot] >= 0 &&
               (m->word_len[m->table[slot]] != m->word_len[i] ||
                memcmp(m->words[m->table[slot]], m->words[i], m->word_len[i]) != 0))
            slot = (slot + 1) & m->mask;
        m->table[slot] = i;
    }
    return TC_OK;
}

static int parse(ft_model_t *m, const char **why)
{
    cursor_t c = {m->map, m->map_len};
    if (!read_args(&c, m, why))
        return TC_EINVAL;
    int rc = read_dictionary(&c, m, why);
    if (rc != TC_OK)
        return rc;
    if (!take_matrix(&c, (int64_t)m->nwords + m->bucket, m->dim, &m->input, why) ||
        !take_matrix(&c, m->nlabels, m->dim, &m->output, why))
        return TC_EINVAL;
    if (c.left != 0) {
        *why = "trailing bytes after the output matrix";
        return TC_EINVAL;
    }
    return TC_OK;
}

int ft_model_open(const char *path, ft_model_t **out)
{
    int rc = TC_ERROR, fd = -1;
    const char *why = NULL;
    ft_model_t *m = calloc(1, sizeof *m);
    if (m == NULL)
        return TC_ENOMEM;
    m->map = MAP_FAILED;
    struct stat st;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0) {
        char e[24];
        tc_log_kv(TC_LOG_ERROR, "fasttext: cannot open model file", "path", path, "errno",
                  tc_log_int(e, errno), NULL);
        goto cleanup;
    }
    if (st.st_size < 8) {
        rc = TC_EINVAL;
        why = "file is truncated (shorter than its header)";
        goto cleanup;
    }
    m->map_len = (size_t)st.st_size;
    m->map = mmap(NULL, m->map_len, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m->map == MAP_FAILED) {
        char e[24];
        tc_log_kv(TC_LOG_ERROR, "fasttext: cannot map model file", "path", path, "errno",
                  tc_log_int(e, errno), NULL);
        goto cleanup;
    }
    rc = parse(m, &why);
    if (rc == TC_OK) {
        *out = m;
        m = NULL;
    }
cleanup:
    if (why != NULL)
        tc_log_kv(TC_LOG_ERROR, "fasttext: model file rejected", "path", path, "reason", why, NULL);
    if (fd >= 0)
        close(fd);
    ft_model_close(m);
    return rc;
}

void ft_model_close(ft_model_t *m)
{
    if (m == NULL)
        return;
    if (m->map != MAP_FAILED && m->map != NULL)
        munmap(m->map, m->map_len);
    free(m->words);
    free(m->word_len);
    free(m->table);
    free(m);
}

size_t ft_model_nlabels(const ft_model_t *m)
{
    return (size_t)m->nlabels;
}

const char *ft_model_label(const ft_model_t *m, size_t i)
{
    const char *w = m->words[(size_t)m->nwords + i];
    size_t p = strlen(FT_LABEL_PREFIX);
    return strncmp(w, FT_LABEL_PREFIX, p) == 0 ? w + p : w;
}

int ft_model_dim(const ft_model_t *m)
{
    return m->dim;
}

/* ------------------------------------------------------------------ prediction */

/* The running sum of input rows, as fastText's computeHidden before it divides. */
typedef struct {
    const ft_model_t *m;
    float *hidden;
    size_t rows;
} acc_t;

static void add_row(acc_t *a, int64_t row)
{
    const unsigned char *p = a->m->input + (size_t)row * (size_t)a->m->dim * 4;
    for (int32_t j = 0; j < a->m->dim; j++) {
        float v;
        memcpy(&v, p + (size_t)j * 4, 4);
        a->hidden[j] += v;
    }
    a->rows++;
}

/* Byte k of "<" + token + ">", the word fastText cuts character n-grams from. */
static unsigned char bracketed(const char *tok, size_t len, size_t k)
{
    return k == 0 ? '<' : k == len + 1 ? '>' : (unsigned char)tok[k - 1];
}

/* The character n-grams (minn..maxn UTF-8 characters) of "<token>", each hashed into a
 * bucket: fastText's computeSubwords, hashing incrementally instead of building strings. */
static void add_char_ngrams(acc_t *a, const char *tok, size_t len)
{
    const ft_model_t *m = a->m;
    size_t total = len + 2;
    for (size_t i = 0; i < total; i++) {
        if ((bracketed(tok, len, i) & 0xC0) == 0x80)
            continue;
        uint32_t h = 2166136261u;
        for (size_t j = i, n = 1; j < total && n <= (size_t)m->maxn; n++) {
            do {
                h ^= (uint32_t)(int32_t)(int8_t)bracketed(tok, len, j++);
                h *= 16777619u;
            } while (j < total && (bracketed(tok, len, j) & 0xC0) == 0x80);
            if (n >= (size_t)m->minn && !(n == 1 && (i == 0 || j == total)))
                add_row(a, (int64_t)m->nwords + h % (uint32_t)m->bucket);
        }
    }
}

/* Word n-grams ending at the current token: the running hashes of the (wordNgrams - 1) most
 * recent starts, as fastText's addWordNgrams (a token hash widens to 64 bits through int32,
 * so with its sign). */
typedef struct {
    uint64_t run[FT_MAX_NGRAMS];
    int count;
} ngrams_t;

static void add_word_ngrams(acc_t *a, ngrams_t *g, uint32_t h)
{
    const ft_model_t *m = a->m;
    uint64_t widened = (uint64_t)(int64_t)(int32_t)h;
    if (m->word_ngrams < 2)
        return;
    for (int k = 0; k < g->count; k++) {
        g->run[k] = g->run[k] * FT_NGRAM_MUL + widened;
        add_row(a, (int64_t)m->nwords + (int64_t)(g->run[k] % (uint64_t)m->bucket));
    }
    if (g->count == m->word_ngrams - 1) { /* the oldest start has reached n words */
        memmove(g->run, g->run + 1, (size_t)(g->count - 1) * sizeof g->run[0]);
        g->count--;
    }
    g->run[g->count++] = widened;
}

/* One token as fastText's getLine treats it: its row (in vocabulary) and/or its character
 * n-grams, then the word n-grams it ends. Labels are not input. */
static void add_token(acc_t *a, ngrams_t *g, const char *tok, size_t len)
{
    const ft_model_t *m = a->m;
    uint32_t h = ft_hash(tok, len);
    int32_t id = lookup(m, tok, (uint32_t)len, h);
    size_t plen = strlen(FT_LABEL_PREFIX);
    if (id >= m->nwords || (id < 0 && len >= plen && memcmp(tok, FT_LABEL_PREFIX, plen) == 0))
        return;
    if (id >= 0)
        add_row(a, id);
    bool eos = len == strlen(FT_EOS) && memcmp(tok, FT_EOS, len) == 0;
    if (m->maxn > 0 && !eos)
        add_char_ngrams(a, tok, len);
    add_word_ngrams(a, g, h);
}

int ft_model_predict_normalised(const ft_model_t *m, const char *norm, size_t len, float *probs)
{
    float *hidden = calloc((size_t)m->dim, sizeof *hidden);
    if (hidden == NULL)
        return TC_ENOMEM;
    acc_t a = {m, hidden, 0};
    ngrams_t g = {.count = 0};
    for (size_t i = 0; i < len;) {
        if (norm[i] == ' ') {
            i++;
            continue;
        }
        size_t j = i;
        while (j < len && norm[j] != ' ')
            j++;
        add_token(&a, &g, norm + i, j - i);
        i = j;
    }
    add_token(&a, &g, FT_EOS, strlen(FT_EOS)); /* fastText reads the end of line as "</s>" */
    if (a.rows > 0) {
        float scale = (float)(1.0 / (double)a.rows);
        for (int32_t j = 0; j < m->dim; j++)
            hidden[j] *= scale;
    }
    for (int32_t l = 0; l < m->nlabels; l++) {
        const unsigned char *row = m->output + (size_t)l * (size_t)m->dim * 4;
        float dot = 0.0f;
        for (int32_t j = 0; j < m->dim; j++) {
            float w;
            memcpy(&w, row + (size_t)j * 4, 4);
            dot += w * hidden[j];
        }
        probs[l] = dot;
    }
    ft_softmax(probs, (size_t)m->nlabels);
    free(hidden);
    return TC_OK;
}

int ft_model_predict(const ft_model_t *m, const char *text, size_t len, float *probs)
{
    char *norm = NULL;
    size_t n = 0;
    int rc = ft_normalise(text, len, &norm, &n);
    if (rc != TC_OK)
        return rc;
    rc = ft_model_predict_normalised(m, norm, n, probs);
    free(norm);
    return rc;
}
