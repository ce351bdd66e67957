/*
 * vader_model.c: VADER scoring, ported from vader-sentiment@1.1.3 (src/vaderSentiment.js).
 *
 * The port is compared output for output with the JS package, so it keeps the package's
 * behaviour where it differs from the Python original or from common sense: its tokenizer
 * (split on JavaScript's \s, tokens shorter than two UTF-16 units dropped, one run of listed
 * punctuation stripped from one end only), case-sensitive negation and idiom matches, the
 * "so"/"this" quirk of the third preceding word, and JS rounding of the answer. Every floating
 * point operation is done in the package's order so that the doubles come out the same.
 */
#include "vader_model.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tc/tc_core.h"
#include "tc/tc_log.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "lexicon.bin is little-endian and read in place"
#endif

/* Constants of vaderSentiment.js. */
#define B_INCR   0.293
#define B_DECR   (-0.293)
#define C_INCR   0.733
#define N_SCALAR (-0.74)

#define LEX_MAGIC     "VADERLX1"
#define LEX_HEADER    16
#define LEX_ENTRY     16
#define LEX_MAX_BYTES (64u << 20) /* far above the real 180 KB: refuse a wrong file early */

struct vader_model {
    const unsigned char *image; /* the whole lexicon file */
    size_t image_len;
    bool mapped; /* image is ours to munmap (else borrowed) */
    uint32_t count;
    const unsigned char *entries;
    const unsigned char *blob;
};

/* One word of the text as the package's words_and_emoticons holds it. */
typedef struct {
    const char *s; /* the token's bytes in the caller's text */
    size_t n;
    const char *low; /* toLowerCase() of it, in per-call scratch */
    size_t nlow;
    double lex;  /* LEXICON[low] when in_lex */
    bool in_lex; /* LEXICON.hasOwnProperty(low) */
    bool upper;  /* is_upper_python(token) */
} tok_t;

/* Per-call state: the model, the tokens and the sentence-level cap flag. */
typedef struct {
    const vader_model_t *m;
    tok_t *tok;
    size_t n;
    bool cap_diff;
} ctx_t;

/* ------------------------------------------------------------------ lexicon file */

static uint32_t rd_u32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v); /* the image may be unaligned when borrowed */
    return v;
}

static double rd_f64(const unsigned char *p)
{
    double v;
    memcpy(&v, p, sizeof v);
    return v;
}

static int key_cmp(const unsigned char *a, size_t an, const unsigned char *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    if (c != 0)
        return c;
    return an < bn ? -1 : an > bn ? 1 : 0;
}

/* Checks the whole image once so that lookups can trust offsets and order. */
static int lexicon_check(vader_model_t *m, const char *what)
{
    const unsigned char *p = m->image;
    size_t len = m->image_len;
    if (len < LEX_HEADER || memcmp(p, LEX_MAGIC, 8) != 0) {
        tc_log_kv(TC_LOG_ERROR, "vader lexicon: not a VADERLX1 file", "file", what, NULL);
        return TC_EINVAL;
    }
    uint64_t count = rd_u32(p + 8), blob_len = rd_u32(p + 12);
    if ((uint64_t)LEX_HEADER + count * LEX_ENTRY + blob_len != len) {
        tc_log_kv(TC_LOG_ERROR, "vader lexicon: size does not match its header", "file", what,
                  NULL);
        return TC_EINVAL;
    }
    m->count = (uint32_t)count;
    m->entries = p + LEX_HEADER;
    m->blob = m->entries + count * LEX_ENTRY;
    const unsigned char *prev = NULL;
    size_t prev_n = 0;
    for (uint32_t i = 0; i < m->count; i++) {
        const unsigned char *e = m->entries + (size_t)i * LEX_ENTRY;
        uint64_t off = rd_u32(e), n = rd_u32(e + 4);
        if (n == 0 || off + n > blob_len || !isfinite(rd_f64(e + 8))) {
            tc_log_kv(TC_LOG_ERROR, "vader lexicon: bad entry", "file", what, NULL);
            return TC_EINVAL;
        }
        if (prev && key_cmp(prev, prev_n, m->blob + off, n) >= 0) {
            tc_log_kv(TC_LOG_ERROR, "vader lexicon: keys not sorted and unique", "file", what,
                      NULL);
            return TC_EINVAL;
        }
        prev = m->blob + off;
        prev_n = n;
    }
    return TC_OK;
}

int vader_model_wrap(const void *buf, size_t len, vader_model_t **out)
{
    *out = NULL;
    vader_model_t *m = calloc(1, sizeof *m);
    if (!m)
        return TC_ENOMEM;
    m->image = buf;
    m->image_len = len;
    int rc = lexicon_check(m, "(memory)");
    if (rc != TC_OK) {
        free(m);
        return rc;
    }
    *out = m;
    return TC_OK;
}

int vader_model_open(const char *path, vader_model_t **out)
{
    *out = NULL;
    int rc = TC_ERROR;
    void *map = MAP_FAILED;
    size_t len = 0;
    vader_model_t *m = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        tc_log_kv(TC_LOG_ERROR, "vader lexicon: cannot open", "file", path, "error",
                  strerror(errno), NULL);
        goto cleanup;
    }
    if (!S_ISREG(st.st_mode) || st.st_size < LEX_HEADER || st.st_size > LEX_MAX_BYTES) {
        tc_log_kv(TC_LOG_ERROR, "vader lexicon: not a lexicon-sized regular file", "file", path,
                  NULL);
        rc = TC_EINVAL;
        goto cleanup;
    }
    len = (size_t)st.st_size;
    map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
        tc_log_kv(TC_LOG_ERROR, "vader lexicon: mmap failed", "file", path, "error",
                  strerror(errno), NULL);
        goto cleanup;
    }
    m = calloc(1, sizeof *m);
    if (!m) {
        rc = TC_ENOMEM;
        goto cleanup;
    }
    m->image = map;
    m->image_len = len;
    m->mapped = true;
    rc = lexicon_check(m, path);
    if (rc != TC_OK)
        goto cleanup;
    *out = m;
    m = NULL;
    map = MAP_FAILED; /* owned by *out now */
    rc = TC_OK;
cleanup:
    free(m);
    if (map != MAP_FAILED)
        munmap(map, len);
    if (fd >= 0)
        close(fd);
    return rc;
}

void vader_model_free(vader_model_t *m)
{
    if (!m)
        return;
    if (m->mapped)
        munmap((void *)m->image, m->image_len);
    free(m);
}

size_t vader_model_entries(const vader_model_t *m)
{
    return m->count;
}

size_t vader_model_bytes(const vader_model_t *m)
{
    return m->image_len + sizeof *m;
}

int vader_model_lookup(const vader_model_t *m, const char *key, size_t len, double *valence)
{
    size_t lo = 0, hi = m->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const unsigned char *e = m->entries + mid * LEX_ENTRY;
        int c = key_cmp(m->blob + rd_u32(e), rd_u32(e + 4), (const unsigned char *)key, len);
        if (c == 0) {
            *valence = rd_f64(e + 8);
            return 1;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

/* ------------------------------------------------------------------ word lists */

/* BOOSTER_DICT's one-word keys, sorted for bsearch; the three two-word keys ("just enough",
 * "kind of", "sort of") can only match the bigrams of idioms_check, see is_booster_bigram. */
typedef struct {
    const char *w;
    double v;
} booster_t;

static const booster_t BOOSTERS[] = {
    {"absolutely", B_INCR},    {"almost", B_DECR},
    {"amazingly", B_INCR},     {"awfully", B_INCR},
    {"barely", B_DECR},        {"completely", B_INCR},
    {"considerably", B_INCR},  {"decidedly", B_INCR},
    {"deeply", B_INCR},        {"effing", B_INCR},
    {"enormously", B_INCR},    {"entirely", B_INCR},
    {"especially", B_INCR},    {"exceptionally", B_INCR},
    {"extremely", B_INCR},     {"fabulously", B_INCR},
    {"flippin", B_INCR},       {"flipping", B_INCR},
    {"frickin", B_INCR},       {"fricking", B_INCR},
    {"friggin", B_INCR},       {"frigging", B_INCR},
    {"fucking", B_INCR},       {"fully", B_INCR},
    {"greatly", B_INCR},       {"hardly", B_DECR},
    {"hella", B_INCR},         {"highly", B_INCR},
    {"hugely", B_INCR},        {"incredibly", B_INCR},
    {"intensely", B_INCR},     {"kind-of", B_DECR},
    {"kinda", B_DECR},         {"kindof", B_DECR},
    {"less", B_DECR},          {"little", B_DECR},
    {"majorly", B_INCR},       {"marginally", B_DECR},
    {"more", B_INCR},          {"most", B_INCR},
    {"occasionally", B_DECR},  {"particularly", B_INCR},
    {"partly", B_DECR},        {"purely", B_INCR},
    {"quite", B_INCR},         {"really", B_INCR},
    {"remarkably", B_INCR},    {"scarcely", B_DECR},
    {"slightly", B_DECR},      {"so", B_INCR},
    {"somewhat", B_DECR},      {"sort-of", B_DECR},
    {"sorta", B_DECR},         {"sortof", B_DECR},
    {"substantially", B_INCR}, {"thoroughly", B_INCR},
    {"totally", B_INCR},       {"tremendously", B_INCR},
    {"uber", B_INCR},          {"unbelievably", B_INCR},
    {"unusually", B_INCR},     {"utterly", B_INCR},
    {"very", B_INCR},
};

/* NEGATE, matched case-sensitively as the package does (Array.indexOf). */
static const char *const NEGATE[] = {
    "aint",   "arent",    "cannot",  "cant",     "couldnt",  "darent",   "didnt",   "doesnt",
    "ain't",  "aren't",   "can't",   "couldn't", "daren't",  "didn't",   "doesn't", "dont",
    "hadnt",  "hasnt",    "havent",  "isnt",     "mightnt",  "mustnt",   "neither", "don't",
    "hadn't", "hasn't",   "haven't", "isn't",    "mightn't", "mustn't",  "neednt",  "needn't",
    "never",  "none",     "nope",    "nor",      "not",      "nothing",  "nowhere", "oughtnt",
    "shant",  "shouldnt", "uhuh",    "wasnt",    "werent",   "oughtn't", "shan't",  "shouldn't",
    "uh-uh",  "wasn't",   "weren't", "without",  "wont",     "wouldnt",  "won't",   "wouldn't",
    "rarely", "seldom",   "despite",
};

/* SPECIAL_CASE_IDIOMS as word sequences: the package joins tokens with one space and looks
 * the string up, and tokens never hold whitespace, so word-by-word equality is the same. */
static const struct {
    const char *w[3];
    size_t n;
    double v;
} IDIOMS[] = {
    {{"the", "shit"}, 2, 3},           {{"the", "bomb"}, 2, 3},
    {{"bad", "ass"}, 2, 1.5},          {{"yeah", "right"}, 2, -2},
    {{"cut", "the", "mustard"}, 3, 2}, {{"kiss", "of", "death"}, 3, -1.5},
    {{"hand", "to", "mouth"}, 3, -2},
};

/* The 17 entries of PUNC_LIST: a token loses a leading or trailing run of punctuation only
 * when the run is exactly one of these. */
static const char *const PUNC_LIST[] = {".",  "!",   "?",  ",",   ";",   ":",   "-",    "'",   "\"",
                                        "!!", "!!!", "??", "???", "?!?", "!?!", "?!?!", "!?!?"};

static bool eq(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

static int booster_cmp(const void *key, const void *elem)
{
    const tok_t *t = key;
    const booster_t *b = elem;
    return key_cmp((const unsigned char *)t->low, t->nlow, (const unsigned char *)b->w,
                   strlen(b->w));
}

/* BOOSTER_DICT[word.toLowerCase()], or 0 when absent (no booster is worth 0). */
static double booster(const tok_t *t)
{
    const booster_t *hit =
        bsearch(t, BOOSTERS, TC_ARRAY_LEN(BOOSTERS), sizeof BOOSTERS[0], booster_cmp);
    return hit ? hit->v : 0.0;
}

/* negated([word]): in NEGATE, or containing "n't" (the "least" rule needs two words and so
 * never fires for the one-word arrays the scorer passes). */
static bool negated(const tok_t *t)
{
    for (size_t i = 0; i < TC_ARRAY_LEN(NEGATE); i++)
        if (eq(t->s, t->n, NEGATE[i]))
            return true;
    for (size_t i = 0; i + 3 <= t->n; i++)
        if (memcmp(t->s + i, "n't", 3) == 0)
            return true;
    return false;
}

/* ------------------------------------------------------------------ tokenizer */

/* Bytes of the JavaScript \s character at p (ECMAScript WhiteSpace + LineTerminator), or 0.
 * Continuation bytes never match, so scanning byte by byte is safe. */
static size_t space_len(const unsigned char *p, size_t rem)
{
    if (*p == ' ' || (*p >= '\t' && *p <= '\r'))
        return 1;
    if (rem >= 2 && p[0] == 0xC2 && p[1] == 0xA0)
        return 2;
    if (rem < 3)
        return 0;
    if (p[0] == 0xE1 && p[1] == 0x9A && p[2] == 0x80) /* U+1680 */
        return 3;
    if (p[0] == 0xE2 && p[1] == 0x80 &&
        (p[2] <= 0x8A || p[2] == 0xA8 || p[2] == 0xA9 || p[2] == 0xAF))
        return 3;                                     /* U+2000..U+200A, U+2028, U+2029, U+202F */
    if (p[0] == 0xE2 && p[1] == 0x81 && p[2] == 0x9F) /* U+205F */
        return 3;
    if (p[0] == 0xE3 && p[1] == 0x80 && p[2] == 0x80) /* U+3000 */
        return 3;
    if (p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF) /* U+FEFF */
        return 3;
    return 0;
}

/* String.length: UTF-16 code units, so one character outside the BMP counts 2. */
static size_t utf16_len(const char *s, size_t n)
{
    size_t units = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        units += (c & 0xC0) != 0x80;
        units += c >= 0xF0;
    }
    return units;
}

/* REGEX_REMOVE_PUNCTUATION: the 32 ASCII punctuation characters. */
static bool is_punct(unsigned char c)
{
    return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') ||
           (c >= '{' && c <= '~');
}

static bool has_punct(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (is_punct((unsigned char)s[i]))
            return true;
    return false;
}

static bool in_punc_list(const char *s, size_t n)
{
    for (size_t i = 0; i < TC_ARRAY_LEN(PUNC_LIST); i++)
        if (eq(s, n, PUNC_LIST[i]))
            return true;
    return false;
}

/* get_words_and_emoticons' lookup in words_plus_punc: a token is replaced by w when it is
 * p + w or w + p with p in PUNC_LIST and w a punctuation-free word of two or more UTF-16
 * units (w is then always in the dictionary, since the token itself put it there). */
static void strip_token(tok_t *t)
{
    size_t lead = 0, trail = 0;
    while (lead < t->n && is_punct((unsigned char)t->s[lead]))
        lead++;
    if (lead > 0) {
        const char *w = t->s + lead;
        size_t wn = t->n - lead;
        if (!has_punct(w, wn) && utf16_len(w, wn) > 1 && in_punc_list(t->s, lead)) {
            t->s = w;
            t->n = wn;
        }
        return;
    }
    while (trail < t->n && is_punct((unsigned char)t->s[t->n - 1 - trail]))
        trail++;
    if (trail > 0) {
        size_t wn = t->n - trail;
        if (!has_punct(t->s, wn) && utf16_len(t->s, wn) > 1 && in_punc_list(t->s + wn, trail))
            t->n = wn;
    }
}

/* Splits on \s and keeps tokens of two or more UTF-16 units; with tok NULL only counts. */
static size_t split(const char *text, size_t len, tok_t *tok)
{
    const unsigned char *p = (const unsigned char *)text;
    size_t n = 0, i = 0;
    while (i < len) {
        size_t sl = space_len(p + i, len - i);
        if (sl) {
            i += sl;
            continue;
        }
        size_t start = i;
        while (i < len && space_len(p + i, len - i) == 0)
            i++;
        if (utf16_len(text + start, i - start) < 2)
            continue;
        if (tok) {
            tok[n] = (tok_t){.s = text + start, .n = i - start};
            strip_token(&tok[n]);
        }
        n++;
    }
    return n;
}

/* toLowerCase() as far as lexicon and keyword matches can tell: every key is ASCII, and the
 * only non-ASCII character whose lower case is ASCII is U+212A KELVIN SIGN ("k"); any other
 * non-ASCII character stays non-ASCII and so never matches, whatever its lower case. */
static size_t lower(const char *s, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == 0xE2 && i + 2 < n && (unsigned char)s[i + 1] == 0x84 &&
            (unsigned char)s[i + 2] == 0xAA) {
            out[o++] = 'k';
            i += 2;
        } else {
            out[o++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
        }
    }
    return o;
}

/* is_upper_python: /^[^a-z]*[A-Z]+[^a-z]*$/, i.e. some A-Z and no a-z. */
static bool is_upper(const char *s, size_t n)
{
    bool cap = false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] >= 'a' && s[i] <= 'z')
            return false;
        cap |= s[i] >= 'A' && s[i] <= 'Z';
    }
    return cap;
}

/* ------------------------------------------------------------------ rules */

static bool word_is(const ctx_t *c, size_t i, const char *lit)
{
    return eq(c->tok[i].s, c->tok[i].n, lit);
}

static bool low_is(const ctx_t *c, size_t i, const char *lit)
{
    return eq(c->tok[i].low, c->tok[i].nlow, lit);
}

static bool so_or_this(const ctx_t *c, size_t i)
{
    return word_is(c, i, "so") || word_is(c, i, "this");
}

/* scalar_inc_dec: what a preceding booster/dampener adds to valence. */
static double scalar_inc_dec(const ctx_t *c, size_t i, double valence)
{
    double scalar = booster(&c->tok[i]);
    if (scalar == 0.0)
        return 0.0;
    if (valence < 0)
        scalar *= -1;
    if (c->cap_diff && c->tok[i].upper) {
        if (valence > 0)
            scalar += C_INCR;
        else
            scalar -= C_INCR;
    }
    return scalar;
}

/* never_check, including its quirk: a "so" or "this" right before the word scales it by 1.25
 * on the third pass whether or not "never" is there. */
static double never_check(const ctx_t *c, double valence, size_t start_i, size_t i)
{
    if (start_i == 0 && negated(&c->tok[i - 1]))
        valence *= N_SCALAR;
    if (start_i == 1) {
        if (word_is(c, i - 2, "never") && so_or_this(c, i - 1))
            valence *= 1.5;
        else if (negated(&c->tok[i - 2]))
            valence *= N_SCALAR;
    }
    if (start_i == 2) {
        if ((word_is(c, i - 3, "never") && so_or_this(c, i - 2)) || so_or_this(c, i - 1))
            valence *= 1.25;
        else if (negated(&c->tok[i - 3]))
            valence *= N_SCALAR;
    }
    return valence;
}

/* The idiom made of the n words from first, if any. */
static bool idiom_at(const ctx_t *c, size_t first, size_t n, double *value)
{
    for (size_t k = 0; k < TC_ARRAY_LEN(IDIOMS); k++) {
        if (IDIOMS[k].n != n)
            continue;
        size_t j = 0;
        while (j < n && word_is(c, first + j, IDIOMS[k].w[j]))
            j++;
        if (j == n) {
            *value = IDIOMS[k].v;
            return true;
        }
    }
    return false;
}

static bool is_booster_bigram(const ctx_t *c, size_t first)
{
    return (word_is(c, first, "just") && word_is(c, first + 1, "enough")) ||
           ((word_is(c, first, "kind") || word_is(c, first, "sort")) &&
            word_is(c, first + 1, "of"));
}

/* idioms_check; only called with i >= 3. */
static double idioms_check(const ctx_t *c, double valence, size_t i)
{
    /* onezero, twoonezero, twoone, threetwoone, threetwo: the first that is an idiom wins */
    static const struct {
        size_t back, n;
    } seqs[] = {{1, 2}, {2, 3}, {2, 2}, {3, 3}, {3, 2}};
    for (size_t k = 0; k < TC_ARRAY_LEN(seqs); k++)
        if (idiom_at(c, i - seqs[k].back, seqs[k].n, &valence))
            break;
    if (c->n - 1 > i)
        idiom_at(c, i, 2, &valence);
    if (c->n - 1 > i + 1)
        idiom_at(c, i, 3, &valence);
    if (is_booster_bigram(c, i - 3) || is_booster_bigram(c, i - 2))
        valence = valence + B_DECR;
    return valence;
}

static double least_check(const ctx_t *c, double valence, size_t i)
{
    if (i > 1 && low_is(c, i - 1, "least") && !c->tok[i - 1].in_lex) {
        if (!low_is(c, i - 2, "at") && !low_is(c, i - 2, "very"))
            valence *= N_SCALAR;
    } else if (i > 0 && low_is(c, i - 1, "least") && !c->tok[i - 1].in_lex) {
        valence *= N_SCALAR;
    }
    return valence;
}

/* sentiment_valence for a word found in the lexicon. */
static double valence_of(const ctx_t *c, size_t i)
{
    double valence = c->tok[i].lex;
    if (c->tok[i].upper && c->cap_diff) {
        if (valence > 0)
            valence += C_INCR;
        else
            valence -= C_INCR;
    }
    for (size_t start_i = 0; start_i < 3; start_i++) {
        if (i <= start_i || c->tok[i - (start_i + 1)].in_lex)
            continue;
        double s = scalar_inc_dec(c, i - (start_i + 1), valence);
        if (start_i == 1 && s != 0)
            s = s * 0.95;
        else if (start_i == 2 && s != 0)
            s = s * 0.9;
        valence = valence + s;
        valence = never_check(c, valence, start_i, i);
        if (start_i == 2)
            valence = idioms_check(c, valence, i);
    }
    return least_check(c, valence, i);
}

/* but_check: the first "but" (else the first "BUT") halves what is before it and raises what
 * follows by half. */
static void but_check(const ctx_t *c, double *sentiments)
{
    size_t but = c->n;
    for (size_t i = 0; i < c->n && but == c->n; i++)
        if (word_is(c, i, "but"))
            but = i;
    for (size_t i = 0; i < c->n && but == c->n; i++)
        if (word_is(c, i, "BUT"))
            but = i;
    if (but == c->n)
        return;
    for (size_t i = 0; i < c->n; i++) {
        if (i < but)
            sentiments[i] = 0.5 * sentiments[i];
        else if (i > but)
            sentiments[i] = 1.5 * sentiments[i];
    }
}

/* ------------------------------------------------------------------ scores */

double vader_js_round(double x, int digits)
{
    double scale = digits == 3 ? 1e3 : 1e4;
    double a = fabs(x);
    double f = floor(a * scale);
    /* the fused a*scale - (f + .5) is rounded once, so it is zero exactly on a true tie */
    double d = fma(a, scale, -(f + 0.5));
    double n = d >= 0 ? f + 1 : f;
    double r = n / scale;
    return x < 0 ? -r : r;
}

/* punctuation_emphasis: amplify_ep + amplify_qm over the whole text. */
static double punct_amplifier(const char *text, size_t len)
{
    size_t ep = 0, qm = 0;
    for (size_t i = 0; i < len; i++) {
        ep += text[i] == '!';
        qm += text[i] == '?';
    }
    if (ep > 4)
        ep = 4;
    double ep_amp = 0.292 * (double)ep;
    double qm_amp = 0;
    if (qm > 1)
        qm_amp = qm <= 3 ? 0.18 * (double)qm : 0.96;
    return ep_amp + qm_amp;
}

static double normalize(double score)
{
    double norm = score / sqrt(score * score + 15);
    return norm < -1 ? -1 : norm > 1 ? 1 : norm;
}

/* score_valence for a non-empty list of word sentiments. */
static void score_valence(const double *sentiments, size_t n, const char *text, size_t len,
                          vader_scores_t *out)
{
    double sum_s = 0;
    for (size_t i = 0; i < n; i++)
        sum_s += sentiments[i];
    double amp = punct_amplifier(text, len);
    if (sum_s > 0)
        sum_s += amp;
    else if (sum_s < 0)
        sum_s -= amp;
    double compound = normalize(sum_s);

    double pos_sum = 0, neg_sum = 0, neu_count = 0;
    for (size_t i = 0; i < n; i++) {
        if (sentiments[i] > 0)
            pos_sum += sentiments[i] + 1;
        else if (sentiments[i] < 0)
            neg_sum += sentiments[i] - 1;
        else
            neu_count += 1;
    }
    if (pos_sum > fabs(neg_sum))
        pos_sum += amp;
    else if (pos_sum < fabs(neg_sum))
        neg_sum -= amp;
    double total = pos_sum + fabs(neg_sum) + neu_count;
    /* + 0.0 turns JS's -0 into 0, as JSON.stringify prints it */
    out->neg = vader_js_round(fabs(neg_sum / total), 3) + 0.0;
    out->neu = vader_js_round(fabs(neu_count / total), 3) + 0.0;
    out->pos = vader_js_round(fabs(pos_sum / total), 3) + 0.0;
    out->compound = vader_js_round(compound, 4) + 0.0;
}

/* Lower case, caps and lexicon hits of every token, then the sentence's cap flag. */
static void annotate(ctx_t *c, char *lowbuf)
{
    size_t upper = 0;
    for (size_t i = 0; i < c->n; i++) {
        tok_t *t = &c->tok[i];
        t->low = lowbuf;
        t->nlow = lower(t->s, t->n, lowbuf);
        lowbuf += t->nlow;
        t->in_lex = vader_model_lookup(c->m, t->low, t->nlow, &t->lex) == 1;
        t->upper = is_upper(t->s, t->n);
        upper += t->upper;
    }
    /* allcap_differential: some but not all words in capitals */
    c->cap_diff = upper > 0 && upper < c->n;
}

int vader_model_score(const vader_model_t *m, const char *text, size_t len, vader_scores_t *out)
{
    *out = (vader_scores_t){0};
    ctx_t c = {.m = m, .n = split(text, len, NULL)};
    if (c.n == 0)
        return TC_OK; /* the package answers all zeros for no words */
    /* one block: tokens, then their sentiments, then their lower-cased bytes (never longer
     * than the text) */
    char *block = malloc(c.n * (sizeof(tok_t) + sizeof(double)) + len);
    if (!block)
        return TC_ENOMEM;
    c.tok = (tok_t *)block;
    double *sentiments = (double *)(block + c.n * sizeof(tok_t));
    split(text, len, c.tok);
    annotate(&c, block + c.n * (sizeof(tok_t) + sizeof(double)));

    for (size_t i = 0; i < c.n; i++) {
        bool kind_of = i < c.n - 1 && low_is(&c, i, "kind") && low_is(&c, i + 1, "of");
        if (kind_of || booster(&c.tok[i]) != 0.0 || !c.tok[i].in_lex)
            sentiments[i] = 0;
        else
            sentiments[i] = valence_of(&c, i);
    }
    but_check(&c, sentiments);
    score_valence(sentiments, c.n, text, len, out);
    free(block);
    return TC_OK;
}

const char *vader_label(double compound)
{
    if (compound >= VADER_POSITIVE_MIN)
        return "positive";
    if (compound <= VADER_NEGATIVE_MAX)
        return "negative";
    return "neutral";
}
