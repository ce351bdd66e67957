/*
 * ner_model.h: ner-v2, a named-entity tagger. Names (any proper-noun span) are found by a
 * greedy averaged-perceptron BIO tagger over hashed features, trained at build time on the
 * Brown corpus (models/ner-v2), and typed PERSON / LOCATION / ORGANIZATION / MISC by
 * gazetteers and context; DATE, MONEY, PERCENT and EMAIL are found by rules.
 *
 * The model is two files the recipe writes and load() maps read-only:
 *   weights  "NERW0001", u32 log2 of the bucket count, u32 tag count (3), then
 *            float32[buckets][3]: the averaged weight of each hashed feature for O, B, I
 *   gazetteer "NERG0001", u32 entry count, u32 0, then ner_gaz_entry_t[count] sorted by hash
 *            (lowercase phrase, tokens joined by one space, hashed as ner_phrase_hash)
 * Both are little-endian, as this machine writes them; load() refuses a file whose header or
 * size is wrong.
 *
 * Offsets: tokens keep both byte offsets into the input and code-point offsets; entities
 * report code points (what a JSON client counts), the glue uses the byte offsets to cut the
 * text. No JSON here.
 */
#ifndef NER_MODEL_H
#define NER_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    NER_PERSON,
    NER_LOCATION,
    NER_ORGANIZATION,
    NER_MISC,
    NER_DATE,
    NER_MONEY,
    NER_PERCENT,
    NER_EMAIL,
    NER_NTYPES
} ner_type_t;

/* "PERSON", ...; NULL for a value out of range. */
const char *ner_type_name(int type);
/* The type named name (exact, upper case), or -1. */
int ner_type_parse(const char *name);
/* PERSON, LOCATION, ORGANIZATION and MISC come from the tagger; the rest from rules. */
bool ner_type_is_name(int type);

/* ------------------------------------------------------------------ tokens */

typedef struct {
    uint32_t start, end;       /* bytes, [start, end) */
    uint32_t cp_start, cp_end; /* code points */
} ner_token_t;

/* Splits text into words and punctuation, as the Brown corpus does: whitespace separates,
 * leading quotes/brackets/currency signs and trailing punctuation are tokens of their own, a
 * final period stays on an abbreviation ("Mr.", "U.S.", "J."), "--" and an em dash split a
 * word. *out is a new array of *n tokens (NULL when none), owned by the caller. TC_OK or
 * TC_ENOMEM; invalid UTF-8 is read a byte at a time, never rejected. */
int ner_tokenize(const char *text, size_t len, ner_token_t **out, size_t *n);

/* The index one past the last token of the sentence that starts at token s (< n): after
 * ".", "!", "?" or "..." (and a closing quote or bracket glued to it), or before a blank line. */
size_t ner_sentence_end(const char *text, const ner_token_t *toks, size_t n, size_t s);

/* ------------------------------------------------------------------ entities */

typedef struct {
    uint32_t start, end;           /* code points, [start, end) */
    uint32_t byte_start, byte_end; /* the same span in bytes */
    ner_type_t type;
    float score; /* 1 for a rule; the tagger's mean name probability for a name */
} ner_entity_t;

typedef struct {
    ner_entity_t *v;
    size_t n, cap;
} ner_entities_t;

void ner_entities_free(ner_entities_t *e);

/* Appends the rule entities (EMAIL, MONEY, PERCENT, DATE) found in the tokens, in order and
 * not overlapping. TC_OK or TC_ENOMEM. */
int ner_rules(const char *text, const ner_token_t *toks, size_t n, ner_entities_t *out);

/* ------------------------------------------------------------------ hashing */

#define NER_HASH_SEED 14695981039346656037ULL /* FNV-1a 64 offset basis */

/* FNV-1a 64 of n bytes continued from h; the _lower form folds ASCII letters to lower case. */
uint64_t ner_hash_bytes(uint64_t h, const char *s, size_t n);
uint64_t ner_hash_lower(uint64_t h, const char *s, size_t n);
/* The gazetteer key of tokens [from, to): their lower-case text joined by single spaces. */
uint64_t ner_phrase_hash(const char *text, const ner_token_t *toks, size_t from, size_t to);
/* The weight bucket of a feature hash: the hash mixed (FNV's low bits are weak) and masked. */
uint32_t ner_bucket(uint64_t h, uint32_t mask);

/* ------------------------------------------------------------------ gazetteer */

enum {
    NER_GAZ_FIRST = 1,   /* a first name */
    NER_GAZ_LAST = 2,    /* a family name */
    NER_GAZ_PERSON = 4,  /* a full name of a known person */
    NER_GAZ_LOC = 8,     /* a country, region, city or place */
    NER_GAZ_ORG = 16,    /* an organisation or sports team */
    NER_GAZ_DEMONYM = 32 /* "American", "Germans" */
};

typedef struct {
    uint64_t hash;
    uint32_t flags;
    uint32_t pad;
} ner_gaz_entry_t;

typedef struct {
    const ner_gaz_entry_t *e; /* sorted by hash */
    size_t n;
} ner_gaz_t;

/* The flags of a phrase hash, 0 when absent. */
uint32_t ner_gaz_lookup(const ner_gaz_t *g, uint64_t hash);

/* ------------------------------------------------------------------ tagger */

enum { NER_TAG_O = 0, NER_TAG_B = 1, NER_TAG_I = 2, NER_NTAGS = 3 };
#define NER_MAX_FEATS 32

/* The feature hashes of token i of the sentence [s, e) given the two previous tags (NER_TAG_O
 * before the sentence); returns how many were written to out (at most NER_MAX_FEATS). The
 * trainer and the model share this function, so they cannot drift apart. */
size_t ner_features(const ner_gaz_t *gaz, const char *text, const ner_token_t *toks, size_t s,
                    size_t e, size_t i, int prev, int prev2, uint64_t *out);

/* The tag scores of a feature set under weights[bucket * 3 + tag]. */
void ner_scores(const float *weights, uint32_t mask, const uint64_t *feats, size_t nfeats,
                float scores[NER_NTAGS]);

typedef struct {
    uint32_t a, b; /* tokens [a, b) */
} ner_span_t;

/* The name spans of a BIO tag sequence: B starts a span, I continues one, and an I after O
 * starts one too (greedy decoding can produce it). Writes at most n spans to out (a span has
 * at least one token, so n is enough) and returns how many. */
size_t ner_bio_decode(const uint8_t *tags, size_t n, ner_span_t *out);

/* The end (bytes) of a name ending at token t, without a possessive "'s" or "'". */
uint32_t ner_name_end(const char *text, const ner_token_t *t);

/* The type of the name tokens [a, b) of toks[0..n): a title before it makes a PERSON, an
 * organisation word in or after it an ORGANIZATION, then the gazetteer on the whole phrase,
 * its first and last word, then context ("in X" is a LOCATION), else MISC. */
ner_type_t ner_type_span(const ner_gaz_t *gaz, const char *text, const ner_token_t *toks, size_t n,
                         size_t a, size_t b);

/* ------------------------------------------------------------------ model */

typedef struct ner_model ner_model_t;

/* Maps the two files; temperature (> 0) divides the tag scores before the softmax that gives
 * a name's score (the recipe fits it on held-out tokens; perceptron margins are not
 * probabilities). TC_OK and *out, or TC_EINVAL / TC_ENOMEM / TC_ERROR with what is wrong with
 * which file in err. */
int ner_model_load(const char *weights_path, const char *gaz_path, float temperature,
                   ner_model_t **out, char *err, size_t errlen);
void ner_model_free(ner_model_t *m);
const ner_gaz_t *ner_model_gaz(const ner_model_t *m);
/* Bytes mapped by the model (weights + gazetteer). */
size_t ner_model_bytes(const ner_model_t *m);

/* All entities of the input, sorted by start, not overlapping (a rule entity wins over a name
 * it overlaps). out must be zeroed or hold earlier results (it is appended to); the caller
 * frees it with ner_entities_free. TC_OK or TC_ENOMEM. */
int ner_model_predict(const ner_model_t *m, const char *text, size_t len, ner_entities_t *out);

/* The same with explicit weights, for the trainer and tests. */
int ner_predict_with(const float *weights, uint32_t mask, const ner_gaz_t *gaz, float temperature,
                     const char *text, size_t len, ner_entities_t *out);

#endif
