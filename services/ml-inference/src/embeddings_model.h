/*
 * embeddings_model.h: word vectors in a memory-mapped file and SIF sentence vectors (the pure
 * model behind the "embeddings" kind; no JSON here).
 *
 * The file is written at build time by models/embeddings-v2/pack.py (its docstring has the
 * byte layout): a 128-byte header, the words as an offset table + blob, a precomputed
 * open-addressing hash table over them (FNV-1a 64, linear probing), one float32 scale per
 * word and the int8 vectors. Opening maps it and checks the header and section bounds, O(1):
 * nothing is parsed or built at load, pages come in as words are looked up.
 *
 * Word ids are the vocabulary's frequency order (id 0 is the most frequent word); a word's SIF
 * weight is a / (a + p(w)) with p(w) = 1 / ((id + 1) * H) (Zipf's law), a and H from the
 * header.
 *
 * A model is read-only once opened: every function below may be called from many threads at
 * once; scratch memory is per call.
 */
#ifndef EMBEDDINGS_MODEL_H
#define EMBEDDINGS_MODEL_H

#include <stddef.h>
#include <stdint.h>

#define EMB_MAGIC       "TCEMBI8" /* 8 bytes with the NUL */
#define EMB_FORMAT      1u
#define EMB_HEADER_SIZE 128u
#define EMB_MAX_DIMS    1024u
/* Tokens longer than this (bytes, normalised) are never words: counted, not looked up. */
#define EMB_MAX_TOKEN 255u

typedef struct emb_model emb_model_t;

/* Maps and validates the file at path. TC_OK and *out; TC_ERROR when it cannot be opened or
 * mapped, TC_EINVAL when it is not a valid model file (logged with the reason), TC_ENOMEM. */
int emb_model_open(const char *path, emb_model_t **out);
void emb_model_close(emb_model_t *m);

size_t emb_model_dims(const emb_model_t *m);
size_t emb_model_words(const emb_model_t *m);
size_t emb_model_file_bytes(const emb_model_t *m);

/* The id of a normalised word (lowercase, as the tokeniser emits it), or -1. */
int64_t emb_model_lookup(const emb_model_t *m, const char *word, size_t len);
/* The dequantised vector of word id (< emb_model_words) into out[dims]. */
void emb_model_vector(const emb_model_t *m, size_t id, float *out);
/* The SIF weight of word id. */
double emb_model_weight(const emb_model_t *m, size_t id);

/* a / (a + p) with p = 1 / (rank * zipf_h); rank is 1-based. */
double emb_sif_weight(double a, double zipf_h, size_t rank);
/* FNV-1a 64: the hash the file's table was built with. */
uint64_t emb_hash(const char *s, size_t len);

/*
 * Tokeniser (GloVe-like, for an ASCII lowercase vocabulary). A chunk is a run of word
 * characters (ASCII letters and digits, and any non-ASCII code point outside the punctuation
 * and symbol blocks) where a single apostrophe (' or U+2019) or hyphen between two word
 * characters is kept. Normalising lowercases ASCII, folds U+00C0..U+017F to ASCII ("Café" ->
 * "cafe", "ß" -> "ss") and turns U+2019 into '. A hyphenated chunk is one token when the model
 * knows it ("well-known"), else its parts are. In a part, "n't" and the clitics 's 'm 'd 'll
 * 're 've are split off as GloVe's tokeniser does ("don't" -> "do" "n't", "it's" -> "it"
 * "'s") and other apostrophes separate tokens ("o'neill" -> "o" "neill"). A part whose
 * normalised form exceeds EMB_MAX_TOKEN bytes is one token passed as tok = NULL (len = its raw
 * length).
 *
 * fn receives each token (normalised, not NUL-terminated, valid for the call only). m may be
 * NULL: then hyphenated chunks are always split. Returns the number of tokens. text must be
 * valid UTF-8 (invalid bytes are treated as one separator each).
 */
typedef void (*emb_token_fn)(const char *tok, size_t len, void *ctx);
size_t emb_tokenize(const emb_model_t *m, const char *text, size_t len, emb_token_fn fn, void *ctx);

typedef struct {
    size_t tokens; /* tokens in the text */
    size_t known;  /* of which the vocabulary has */
} emb_counts_t;

/*
 * The sentence vector of text into out[dims]: sum over known tokens (repeats count) of SIF
 * weight x word vector, L2-normalised (averaging first would not change the direction); the
 * zero vector when no token is known. TC_OK or TC_ENOMEM.
 */
int emb_model_sentence(const emb_model_t *m, const char *text, size_t len, float *out,
                       emb_counts_t *counts);

/* The arithmetic of emb_model_sentence, exposed for tests: acc += weight * scale * q, and
 * out = acc / |acc| (zeros when |acc| is 0). */
void emb_accumulate(double *acc, size_t dims, double weight, float scale, const int8_t *q);
void emb_normalise(const double *acc, size_t dims, float *out);

#endif
