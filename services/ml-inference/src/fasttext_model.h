/*
 * fasttext_model.h: a fastText supervised classifier served from its .bin file (format version
 * 12, as fastText 0.9.x writes it), and the text normalisation its training data went through.
 *
 * The reader maps the file read-only and keeps only the dictionary's index in memory; the
 * matrices are read from the mapping. Only what text-classifier-v2 trains is accepted: model
 * "supervised", loss softmax, dense (not quantized) matrices; anything else is refused with a
 * logged reason. A loaded model is read-only: ft_model_predict() may run on many threads.
 */
#ifndef FASTTEXT_MODEL_H
#define FASTTEXT_MODEL_H

#include <stddef.h>
#include <stdint.h>

typedef struct ft_model ft_model_t;

/* The tokens of a raw email or any text (UTF-8, len bytes), joined by single spaces, as the
 * recipe's normalise.py writes them: an email keeps its Subject and body only, base64 lines
 * are dropped, quoted-printable soft breaks and printable =XX escapes are decoded, ASCII is
 * lowercased and each ASCII punctuation character is a token. *out is a new NUL-terminated
 * string of *out_len bytes owned by the caller. TC_OK or TC_ENOMEM. */
int ft_normalise(const char *in, size_t len, char **out, size_t *out_len);

/* fastText's string hash: 32-bit FNV-1a, except that each byte is sign-extended before the
 * xor (fastText hashes a signed char), which matters for bytes >= 0x80. */
uint32_t ft_hash(const char *s, size_t len);

/* v[0..n) becomes softmax(v), computed as fastText does (max subtracted, float exp). */
void ft_softmax(float *v, size_t n);

/* Maps and checks the .bin at path. TC_OK and *out; TC_EINVAL when the file is not a model
 * this reader serves (the reason is logged with the path); TC_ERROR when it cannot be read;
 * TC_ENOMEM. */
int ft_model_open(const char *path, ft_model_t **out);
void ft_model_close(ft_model_t *m);

size_t ft_model_nlabels(const ft_model_t *m);
/* Label i (0 <= i < nlabels) without fastText's "__label__" prefix. */
const char *ft_model_label(const ft_model_t *m, size_t i);
/* Width of the model's vectors (-dim). */
int ft_model_dim(const ft_model_t *m);

/* The probability of every label for normalised text (tokens separated by spaces, as
 * ft_normalise() writes; fastText's end-of-line token is added here). probs has nlabels
 * floats. TC_OK or TC_ENOMEM. */
int ft_model_predict_normalised(const ft_model_t *m, const char *norm, size_t len, float *probs);
/* ft_normalise() then ft_model_predict_normalised(). */
int ft_model_predict(const ft_model_t *m, const char *text, size_t len, float *probs);

#endif
