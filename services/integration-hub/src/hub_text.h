/* hub_text.h: what of a sender's or an endpoint's bytes can be kept as text. */
#ifndef HUB_TEXT_H
#define HUB_TEXT_H

#include <stddef.h>

/* The length of the longest prefix of s (at most max bytes) that is well-formed UTF-8
 * without NUL (what a PostgreSQL text column and a JSON string can hold): n itself when all
 * of s is text. Overlong forms, surrogates and code points above U+10FFFF end the prefix. */
size_t hub_utf8_prefix(const char *s, size_t n, size_t max);

#endif
