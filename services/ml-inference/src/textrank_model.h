/*
 * textrank_model.h: extractive summarization (summarizer-v1): TextRank over a TF-IDF cosine
 * sentence graph, plus a position prior that favours early sentences (on news the lead
 * sentence is the baseline to beat).
 *
 * The model file (textrank.bin, written by models/summarizer-v1/build_model.py) holds the
 * stop words and the IDF of word stems, both in one open-addressing hash table that is used
 * straight from an mmap:
 *
 *   header (32 bytes, little-endian)
 *     char  magic[8]      "TXTRANK1"
 *     u32   endian        0x01020304
 *     u32   n_docs        documents the IDF was counted over
 *     u32   n_entries     occupied slots
 *     u32   n_slots       a power of two, more than n_entries
 *     u32   strings_size  bytes of the string pool
 *     f32   idf_unseen    IDF of a stem the table does not hold
 *   slots: n_slots x {u32 str_off; u16 str_len; u16 flags; f32 idf}  (str_len 0: empty)
 *   strings: the keys, not NUL-terminated
 *
 * A key is found by FNV-1a (32 bit) of its bytes, then linear probing. flags bit 0 marks a
 * stop word (looked up as the lowercased token); idf belongs to the key as a stem.
 *
 * A loaded model is read-only: every function below may run on one model from many threads.
 */
#ifndef TEXTRANK_MODEL_H
#define TEXTRANK_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TEXTRANK_MAX_SENTENCES 200 /* only the first ones are ranked: bounds the graph */
#define TEXTRANK_DAMPING       0.85
#define TEXTRANK_MAX_ITER      150
#define TEXTRANK_TOL           1e-8 /* L1 change of the ranks that counts as converged */

typedef struct textrank_model textrank_model_t;

/* Maps path and checks every slot of its table. TC_OK and *out, TC_EINVAL for a malformed
 * file, TC_ERROR when it cannot be read, TC_ENOMEM (each logged with the path). */
int textrank_model_open(const char *path, textrank_model_t **out);
/* A model over a copy of an in-memory image of the file (tests, tools); same checks. */
int textrank_model_from_image(const void *image, size_t len, textrank_model_t **out);
void textrank_model_free(textrank_model_t *m);
/* Bytes the model holds (the image). */
size_t textrank_model_bytes(const textrank_model_t *m);

/* Builds a file image from stop words and stems with their IDF (what the recipe writes), for
 * tests. *image is malloc'd and owned by the caller. TC_OK, TC_EINVAL (empty or overlong
 * key), TC_ENOMEM. */
int textrank_image_build(const char *const *stop, size_t n_stop, const char *const *stems,
                         const float *idf, size_t n_stems, float idf_unseen, void **image,
                         size_t *len);

/* 1 for a stop word (lowercased token), else 0. */
bool textrank_is_stop(const textrank_model_t *m, const char *w, size_t len);
/* IDF of a stem (idf_unseen when the table does not hold it). */
double textrank_idf(const textrank_model_t *m, const char *stem, size_t len);

/* Harman's S-stemmer (plurals: -ies to -y, -es to -e, -s dropped, but not -us, -ss, -aes,
 * -ees, -oes, -aies, -eies) on a lowercased word of at least 4 bytes, in place. The new
 * length (never longer). */
size_t textrank_stem(char *w, size_t len);

/* A sentence as a byte range of the input (surrounding whitespace included). */
typedef struct {
    size_t start;
    size_t len;
} textrank_span_t;

/* Splits UTF-8 text into sentences: at . ! ? (with closing quotes/brackets) followed by
 * whitespace, unless the next word is lowercase, the period ends a title (Mr., Dr.) or an
 * ambiguous abbreviation, initial or dotted acronym (Corp., F., U.S.) that is not followed by
 * a capitalised sentence starter (The, It, ...); and at blank lines. Ranges without a word
 * character are dropped. *spans (malloc'd, caller frees; NULL when *n is 0). TC_OK or
 * TC_ENOMEM. */
int textrank_split(const char *text, size_t len, textrank_span_t **spans, size_t *n);
/* The span's text with every whitespace run made one space and the ends trimmed; malloc'd,
 * NUL-terminated, NULL on ENOMEM. */
char *textrank_span_text(const char *text, textrank_span_t span);

/* PageRank on a weighted undirected graph in CSR form (row i's neighbours are
 * col[row[i]..row[i+1]) with weights w): rank[j] = (1-d) t[j] + d (sum over i of rank[i]
 * w[i][j] / out[i] + dangling t[j]), where out[i] is row i's weight sum and dangling the rank
 * of nodes without edges, from uniform ranks until the L1 change is under TEXTRANK_TOL or
 * TEXTRANK_MAX_ITER rounds. next is scratch of n doubles. Returns the rounds run. */
int textrank_pagerank(size_t n, const size_t *row, const uint32_t *col, const double *w,
                      const double *teleport, double *rank, double *next);

typedef struct {
    size_t index; /* among all sentences of the text */
    double score; /* PageRank x ranked sentences + prior / (index + 1) */
    char *text;   /* normalised as textrank_span_text */
} textrank_pick_t;

typedef struct {
    textrank_pick_t *picks; /* in document order */
    size_t n_picks;
    size_t sentence_count; /* every sentence of the text, ranked or not */
} textrank_summary_t;

/* The n best of the first TEXTRANK_MAX_SENTENCES sentences (ties: the earlier one) by
 * PageRank over the TF-IDF cosine graph of their content-word stems, scaled to mean 1, plus
 * prior / (position + 1). prior 0 is plain TextRank. *out is cleared first and owned by the
 * caller (textrank_summary_free). TC_OK or TC_ENOMEM. */
int textrank_summarize(const textrank_model_t *m, const char *text, size_t len, size_t n,
                       double prior, textrank_summary_t *out);
void textrank_summary_free(textrank_summary_t *s);

#endif
