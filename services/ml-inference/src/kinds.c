/* The kinds of model this build can load (a card's "kind"). */
#include "ml_kind.h"

const ml_kind_t *const ml_kinds[] = {&ml_kind_fasttext, &ml_kind_vader, &ml_kind_embeddings,
                                     &ml_kind_textrank, &ml_kind_ner};
const int ml_nkinds = (int)(sizeof ml_kinds / sizeof ml_kinds[0]);
