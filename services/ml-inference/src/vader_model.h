/*
 * vader_model.h: VADER sentiment scoring (Hutto & Gilbert 2014), a faithful port of the JS
 * package vader-sentiment@1.1.3 (src/vaderSentiment.js), quirks included, so that its answers
 * match the package's number for number.
 *
 * The lexicon is a compact sorted file written by models/sentiment-v3/pack.py (little-endian):
 *
 *   "VADERLX1"  u32 count  u32 blob_len
 *   count x {u32 key_off, u32 key_len, f64 valence}   sorted by key bytes (memcmp), unique
 *   blob_len bytes of keys, UTF-8, not NUL-terminated
 *
 * A loaded model is read-only: vader_model_score() may run on many threads at once.
 */
#ifndef VADER_MODEL_H
#define VADER_MODEL_H

#include <stddef.h>

typedef struct vader_model vader_model_t;

/* What the JS package's polarity_scores() returns, rounded the same way (compound to 4
 * decimals, the proportions to 3). */
typedef struct {
    double compound; /* in [-1, 1] */
    double pos;
    double neu;
    double neg;
} vader_scores_t;

/* Thresholds of the standard VADER labels on the rounded compound score. */
#define VADER_POSITIVE_MIN 0.05
#define VADER_NEGATIVE_MAX (-0.05)

/* Maps the lexicon file at path. TC_OK and *out, or TC_ENOMEM, or TC_EINVAL / TC_ERROR after
 * logging what is wrong with the file. */
int vader_model_open(const char *path, vader_model_t **out);

/* A model over a lexicon image already in memory (same format); buf is borrowed and must
 * outlive the model. TC_OK, TC_ENOMEM or TC_EINVAL (logged). */
int vader_model_wrap(const void *buf, size_t len, vader_model_t **out);

void vader_model_free(vader_model_t *m);

/* Number of lexicon entries, and bytes of memory the loaded model holds. */
size_t vader_model_entries(const vader_model_t *m);
size_t vader_model_bytes(const vader_model_t *m);

/* 1 and *valence when the key (exact bytes, lower case) is in the lexicon, else 0. */
int vader_model_lookup(const vader_model_t *m, const char *key, size_t len, double *valence);

/* Scores len bytes of well-formed UTF-8. TC_OK, or TC_ENOMEM. */
int vader_model_score(const vader_model_t *m, const char *text, size_t len, vader_scores_t *out);

/* "positive", "neutral" or "negative" for a rounded compound score. */
const char *vader_label(double compound);

/* Number.prototype.toFixed(digits) then parseFloat, as the JS package rounds: to the nearest
 * multiple of 10^-digits of the exact binary value, ties away from zero (C's printf would
 * round ties to even). digits is 3 or 4. */
double vader_js_round(double x, int digits);

#endif
