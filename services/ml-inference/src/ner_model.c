/* ner_model.c: ner-v2 tokenizer, rules, hashed-feature tagger and span typing (see
 * ner_model.h). Every function is reentrant: the model is read-only after load and each
 * prediction allocates its own scratch memory. */
#include "ner_model.h"

#include "tc/tc_core.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const type_names[NER_NTYPES] = {
    "PERSON", "LOCATION", "ORGANIZATION", "MISC", "DATE", "MONEY", "PERCENT", "EMAIL",
};

const char *ner_type_name(int type)
{
    return type >= 0 && type < NER_NTYPES ? type_names[type] : NULL;
}

int ner_type_parse(const char *name)
{
    for (int t = 0; t < NER_NTYPES; t++)
        if (strcmp(name, type_names[t]) == 0)
            return t;
    return -1;
}

bool ner_type_is_name(int type)
{
    return type >= NER_PERSON && type <= NER_MISC;
}

/* ================================================================== UTF-8 */

/* The code point at s[i] and its length in bytes; a malformed or truncated sequence reads as
 * one byte (U+FFFD), so the tokenizer never stalls on bad input. */
static uint32_t decode_at(const char *s, size_t len, size_t i, size_t *adv)
{
    const unsigned char *u = (const unsigned char *)s + i;
    size_t left = len - i;
    *adv = 1;
    if (u[0] < 0x80)
        return u[0];
    size_t need = u[0] >= 0xF0 ? 4 : u[0] >= 0xE0 ? 3 : u[0] >= 0xC0 ? 2 : 0;
    if (need == 0 || need > left)
        return 0xFFFD;
    uint32_t cp = u[0] & (0x3F >> (need - 1));
    for (size_t k = 1; k < need; k++) {
        if ((u[k] & 0xC0) != 0x80)
            return 0xFFFD;
        cp = (cp << 6) | (u[k] & 0x3F);
    }
    *adv = need;
    return cp;
}

/* The start of the code point that ends at byte b (> a). */
static size_t back_one(const char *s, size_t a, size_t b)
{
    size_t c = b - 1;
    while (c > a && ((unsigned char)s[c] & 0xC0) == 0x80 && b - c < 4)
        c--;
    return c;
}

static bool is_space(uint32_t cp)
{
    return cp == ' ' || (cp >= 0x09 && cp <= 0x0D) || cp == 0xA0 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
           cp == 0x3000;
}

static bool is_currency(uint32_t cp)
{
    return cp == '$' || cp == 0xA3 || cp == 0x20AC || cp == 0xA5;
}

/* Split off the front of a word: opening quotes and brackets, currency signs. */
static bool is_leading(uint32_t cp)
{
    return cp == '"' || cp == '\'' || cp == '(' || cp == '[' || cp == '{' || cp == '<' ||
           cp == '`' || cp == 0x201C || cp == 0x2018 || cp == 0xAB || is_currency(cp);
}

/* Split off the end of a word (the period and apostrophe are decided apart). */
static bool is_trailing(uint32_t cp)
{
    return cp == '"' || cp == ')' || cp == ']' || cp == '}' || cp == '>' || cp == ',' ||
           cp == ';' || cp == ':' || cp == '!' || cp == '?' || cp == '%' || cp == 0x201D ||
           cp == 0xBB;
}

static bool is_upper_ascii(char c)
{
    return c >= 'A' && c <= 'Z';
}

static bool is_alpha_ascii(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit_ascii(char c)
{
    return c >= '0' && c <= '9';
}

static char lower_ascii(char c)
{
    return is_upper_ascii(c) ? (char)(c + 32) : c;
}

/* s[0..n) equals the lower-case word w, ignoring ASCII case. */
static bool eq_ci(const char *s, size_t n, const char *w)
{
    size_t k = 0;
    for (; k < n; k++)
        if (w[k] == '\0' || lower_ascii(s[k]) != w[k])
            return false;
    return w[k] == '\0';
}

static bool in_list_ci(const char *s, size_t n, const char *const *list)
{
    for (size_t k = 0; list[k]; k++)
        if (eq_ci(s, n, list[k]))
            return true;
    return false;
}

/* ================================================================== tokenizer */

typedef struct {
    ner_token_t *v;
    size_t n, cap;
} tokvec_t;

static int tok_push(tokvec_t *tv, size_t a, size_t b)
{
    if (tv->n == tv->cap) {
        size_t cap = tv->cap ? tv->cap * 2 : 64;
        ner_token_t *v = realloc(tv->v, cap * sizeof *v);
        if (!v)
            return TC_ENOMEM;
        tv->v = v;
        tv->cap = cap;
    }
    tv->v[tv->n++] = (ner_token_t){.start = (uint32_t)a, .end = (uint32_t)b};
    return TC_OK;
}

/* Words whose final period belongs to them (compared without the period). */
static const char *const abbreviations[] = {
    "mr",   "mrs",  "ms",   "dr",   "jr",   "sr",   "st",   "mt",   "ft",     "prof", "rev",
    "gen",  "gov",  "sen",  "rep",  "col",  "capt", "lt",   "sgt",  "maj",    "adm",  "cmdr",
    "inc",  "corp", "co",   "ltd",  "bros", "vs",   "etc",  "jan",  "feb",    "mar",  "apr",
    "jun",  "jul",  "aug",  "sep",  "sept", "oct",  "nov",  "dec",  "no",     "vol",  "fig",
    "dept", "univ", "assn", "ave",  "blvd", "rd",   "mme",  "mlle", "messrs", "esq",  "calif",
    "ore",  "mass", "conn", "wash", "penn", "ariz", "colo", "ill",  "tenn",   "okla", "fla",
    "mo",   "va",   "ga",   "ala",  "ark",  "del",  "ind",  "kan",  "ky",     "md",   "mich",
    "minn", "mont", "neb",  "nev",  "pa",   "tex",  "vt",   "wis",  "wyo",    "drs",  "dist",
    "reps", "gens", "ph",   "hon",  "ch",   "pp",   "ibid", NULL,
};

/* s[0..n) (a word without its final period) takes the period: an initial ("J"), dotted
 * letters ("U.S", "Ph.D", "a.m") or a known abbreviation. */
static bool is_abbreviation(const char *s, size_t n)
{
    if (n == 1)
        return is_alpha_ascii(s[0]);
    if (memchr(s, '.', n)) {
        size_t seg = 0;
        for (size_t k = 0; k < n; k++) {
            if (s[k] == '.') {
                if (seg == 0)
                    return false;
                seg = 0;
            } else if (!is_alpha_ascii(s[k]) || ++seg > 3) {
                return false;
            }
        }
        return seg > 0;
    }
    return in_list_ci(s, n, abbreviations);
}

/* Tokens of a word without dashes: leading marks, the core, trailing marks (in order). */
static int tok_piece(tokvec_t *tv, const char *s, size_t a, size_t b)
{
    size_t adv;
    while (a < b) {
        uint32_t cp = decode_at(s, b, a, &adv);
        if (!is_leading(cp) || a + adv == b)
            break;
        if (tok_push(tv, a, a + adv) != TC_OK)
            return TC_ENOMEM;
        a += adv;
    }
    /* Trailing marks are found from the end but emitted after the core; a word rarely has
     * more than a few, and any beyond the stack stay on the core. */
    size_t stack[16][2];
    size_t depth = 0;
    while (b > a && depth < TC_ARRAY_LEN(stack)) {
        size_t c = back_one(s, a, b);
        uint32_t cp = decode_at(s, b, c, &adv);
        size_t cut = c;
        if (cp == '.') {
            if (b - a >= 3 && memcmp(s + b - 3, "...", 3) == 0)
                cut = b - 3;
            else if (c > a && is_abbreviation(s + a, c - a))
                break;
        } else if (cp == '\'' || cp == 0x2019) {
            /* "Jones'" keeps its possessive apostrophe, as Brown does. */
            if (c > a && (s[c - 1] == 's' || s[c - 1] == 'S'))
                break;
        } else if (!is_trailing(cp)) {
            break;
        }
        if (cut == a)
            break; /* the whole piece is punctuation: one token */
        stack[depth][0] = cut;
        stack[depth][1] = b;
        depth++;
        b = cut;
    }
    if (b > a && tok_push(tv, a, b) != TC_OK)
        return TC_ENOMEM;
    while (depth > 0) {
        depth--;
        if (tok_push(tv, stack[depth][0], stack[depth][1]) != TC_OK)
            return TC_ENOMEM;
    }
    return TC_OK;
}

/* The length of a dash that splits words at s[i]: "--" (or longer) or an em dash, else 0. */
static size_t dash_at(const char *s, size_t b, size_t i)
{
    if (s[i] == '-' && i + 1 < b && s[i + 1] == '-') {
        size_t k = i;
        while (k < b && s[k] == '-')
            k++;
        return k - i;
    }
    if (i + 3 <= b && memcmp(s + i, "\xE2\x80\x94", 3) == 0)
        return 3;
    return 0;
}

static int tok_word(tokvec_t *tv, const char *s, size_t a, size_t b)
{
    size_t from = a;
    for (size_t i = a; i < b;) {
        size_t d = dash_at(s, b, i);
        if (d == 0) {
            i++;
            continue;
        }
        if (i > from && tok_piece(tv, s, from, i) != TC_OK)
            return TC_ENOMEM;
        if (tok_push(tv, i, i + d) != TC_OK)
            return TC_ENOMEM;
        i += d;
        from = i;
    }
    if (from < b)
        return tok_piece(tv, s, from, b);
    return TC_OK;
}

/* Fills the code-point offsets: one walk over the text, tokens being in byte order. */
static void set_code_points(const char *text, size_t len, ner_token_t *t, size_t n)
{
    size_t byte = 0, cp = 0;
    for (size_t k = 0; k < n; k++) {
        for (; byte < t[k].start; byte++)
            cp += ((unsigned char)text[byte] & 0xC0) != 0x80;
        t[k].cp_start = (uint32_t)cp;
        for (; byte < t[k].end && byte < len; byte++)
            cp += ((unsigned char)text[byte] & 0xC0) != 0x80;
        t[k].cp_end = (uint32_t)cp;
    }
}

int ner_tokenize(const char *text, size_t len, ner_token_t **out, size_t *n)
{
    tokvec_t tv = {0};
    size_t i = 0, adv;
    *out = NULL;
    *n = 0;
    while (i < len) {
        if (is_space(decode_at(text, len, i, &adv))) {
            i += adv;
            continue;
        }
        size_t a = i;
        while (i < len && !is_space(decode_at(text, len, i, &adv)))
            i += adv;
        if (tok_word(&tv, text, a, i) != TC_OK) {
            free(tv.v);
            return TC_ENOMEM;
        }
    }
    set_code_points(text, len, tv.v, tv.n);
    *out = tv.v;
    *n = tv.n;
    return TC_OK;
}

static bool tok_is(const char *text, const ner_token_t *t, const char *w)
{
    return eq_ci(text + t->start, t->end - t->start, w);
}

static bool tok_in(const char *text, const ner_token_t *t, const char *const *list)
{
    return in_list_ci(text + t->start, t->end - t->start, list);
}

static bool is_closer(const char *text, const ner_token_t *t)
{
    static const char *const closers[] = {"\"",           "'", ")", "]", "\xE2\x80\x9D",
                                          "\xE2\x80\x99", NULL};
    return tok_in(text, t, closers);
}

size_t ner_sentence_end(const char *text, const ner_token_t *toks, size_t n, size_t s)
{
    static const char *const enders[] = {".", "!", "?", "...", NULL};
    for (size_t i = s; i < n; i++) {
        if (tok_in(text, &toks[i], enders)) {
            size_t j = i + 1;
            while (j < n && toks[j].start == toks[j - 1].end && is_closer(text, &toks[j]))
                j++;
            return j;
        }
        if (i + 1 < n) {
            /* A blank line between two tokens ends a paragraph, a heading or a list item. */
            int newlines = 0;
            for (uint32_t k = toks[i].end; k < toks[i + 1].start; k++)
                newlines += text[k] == '\n';
            if (newlines >= 2)
                return i + 1;
        }
    }
    return n;
}

/* ================================================================== entities */

void ner_entities_free(ner_entities_t *e)
{
    free(e->v);
    *e = (ner_entities_t){0};
}

/* Room for extra more entities. */
static int ent_reserve(ner_entities_t *out, size_t extra)
{
    if (out->n + extra <= out->cap)
        return TC_OK;
    size_t cap = out->cap ? out->cap : 16;
    while (cap < out->n + extra)
        cap *= 2;
    ner_entity_t *v = realloc(out->v, cap * sizeof *v);
    if (!v)
        return TC_ENOMEM;
    out->v = v;
    out->cap = cap;
    return TC_OK;
}

static int ent_push(ner_entities_t *out, const ner_token_t *toks, size_t a, size_t b,
                    uint32_t byte_end, ner_type_t type, float score)
{
    if (ent_reserve(out, 1) != TC_OK)
        return TC_ENOMEM;
    /* A trimmed possessive is ASCII ("'s", "'"), so bytes and code points shrink alike. */
    uint32_t trim = toks[b - 1].end - byte_end;
    out->v[out->n++] = (ner_entity_t){
        .start = toks[a].cp_start,
        .end = toks[b - 1].cp_end - trim,
        .byte_start = toks[a].start,
        .byte_end = byte_end,
        .type = type,
        .score = score,
    };
    return TC_OK;
}

/* ================================================================== rules */

static const char *const months[] = {
    "january", "february", "march",    "april", "may",  "june", "july", "august", "september",
    "october", "november", "december", "jan.",  "feb.", "mar.", "apr.", "jun.",   "jul.",
    "aug.",    "sep.",     "sept.",    "oct.",  "nov.", "dec.", NULL,
};
static const char *const weekdays[] = {"monday", "tuesday",  "wednesday", "thursday",
                                       "friday", "saturday", "sunday",    NULL};
static const char *const scales[] = {"thousand", "million", "billion", "trillion", "bn", NULL};
static const char *const money_words[] = {"dollar", "dollars", "cent",  "cents", "euro",
                                          "euros",  "pounds",  "pound", "yen",   NULL};
/* Words after which a lone year or an ambiguous month ("May", "March") is a date. */
static const char *const date_cues[] = {"in",    "since", "until", "till",   "by",    "during",
                                        "early", "late",  "mid",   "before", "after", "of",
                                        "last",  "next",  "this",  NULL};

static bool tok_cap(const char *text, const ner_token_t *t)
{
    return is_upper_ascii(text[t->start]);
}

/* Digits with "," or "." between groups: "7", "1,000", "3.5". */
static bool tok_number(const char *text, const ner_token_t *t)
{
    const char *s = text + t->start;
    size_t n = t->end - t->start;
    if (n == 0 || !is_digit_ascii(s[0]) || !is_digit_ascii(s[n - 1]))
        return false;
    for (size_t k = 1; k < n; k++)
        if (!is_digit_ascii(s[k]) && !((s[k] == ',' || s[k] == '.') && is_digit_ascii(s[k - 1])))
            return false;
    return true;
}

/* The value of a token of 1..4 plain digits, else -1. */
static int tok_small_int(const char *text, const ner_token_t *t)
{
    size_t n = t->end - t->start;
    if (n == 0 || n > 4)
        return -1;
    int v = 0;
    for (size_t k = 0; k < n; k++) {
        char c = text[t->start + k];
        if (!is_digit_ascii(c))
            return -1;
        v = v * 10 + (c - '0');
    }
    return v;
}

static bool tok_year(const char *text, const ner_token_t *t)
{
    int v = tok_small_int(text, t);
    return t->end - t->start == 4 && v >= 1000 && v <= 2999;
}

/* A day of the month: "5", "31", "5th", "22nd". */
static bool tok_day(const char *text, const ner_token_t *t)
{
    size_t n = t->end - t->start;
    const char *s = text + t->start;
    size_t digits = 0;
    while (digits < n && digits < 3 && is_digit_ascii(s[digits]))
        digits++;
    if (digits == 0 || digits > 2)
        return false;
    int v = s[0] - '0';
    if (digits == 2)
        v = v * 10 + (s[1] - '0');
    if (v < 1 || v > 31)
        return false;
    if (digits == n)
        return true;
    static const char *const ords[] = {"st", "nd", "rd", "th", NULL};
    return in_list_ci(s + digits, n - digits, ords);
}

static bool tok_month(const char *text, const ner_token_t *t)
{
    /* Capitalised only: "may" and "march" are verbs. */
    return tok_cap(text, t) && tok_in(text, t, months);
}

/* "2024-01-15", "1/15/2024", "15/1/60", or a decade "1960s". */
static bool tok_numeric_date(const char *text, const ner_token_t *t)
{
    const char *s = text + t->start;
    size_t n = t->end - t->start;
    if (n == 10 && s[4] == '-' && s[7] == '-') {
        for (size_t k = 0; k < n; k++)
            if (k != 4 && k != 7 && !is_digit_ascii(s[k]))
                return false;
        return true;
    }
    if (n == 5 && s[4] == 's')
        return tok_year(text, &(ner_token_t){.start = t->start, .end = t->start + 4});
    int parts = 1;
    size_t run = 0;
    for (size_t k = 0; k < n; k++) {
        if (s[k] == '/') {
            if (run == 0 || run > 4)
                return false;
            parts++;
            run = 0;
        } else if (is_digit_ascii(s[k])) {
            run++;
        } else {
            return false;
        }
    }
    return parts == 3 && run >= 2 && run <= 4;
}

/* A date starting at token i: how many tokens, or 0. */
static size_t match_date(const char *text, const ner_token_t *t, size_t n, size_t i)
{
    if (tok_numeric_date(text, &t[i]))
        return 1;
    if (tok_cap(text, &t[i]) && tok_in(text, &t[i], weekdays))
        return 1;
    size_t j = i;
    if (tok_day(text, &t[i]) && i + 1 < n && tok_month(text, &t[i + 1])) {
        j = i + 2; /* "5 March [1960]" */
    } else if (tok_month(text, &t[i])) {
        j = i + 1;
        if (j < n && tok_day(text, &t[j]) && !tok_year(text, &t[j]))
            j++; /* "March 5" */
    } else {
        bool cue = i > 0 && tok_in(text, &t[i - 1], date_cues);
        /* "in 1960" but not "in 1500 cases". */
        bool plural_next = i + 1 < n && !tok_cap(text, &t[i + 1]) &&
                           text[t[i + 1].end - 1] == 's' && is_alpha_ascii(text[t[i + 1].start]);
        return cue && tok_year(text, &t[i]) && !plural_next ? 1 : 0;
    }
    if (j + 1 < n && tok_is(text, &t[j], ",") && tok_year(text, &t[j + 1]))
        j += 2;
    else if (j < n && tok_year(text, &t[j]))
        j++;
    if (j == i + 1) {
        /* A month alone: "May" and "March" need a cue ("in May"), the others are dates. */
        bool ambiguous = tok_is(text, &t[i], "may") || tok_is(text, &t[i], "march");
        if (ambiguous && !(i > 0 && tok_in(text, &t[i - 1], date_cues)))
            return 0;
    }
    return j - i;
}

static size_t match_money(const char *text, const ner_token_t *t, size_t n, size_t i)
{
    size_t j;
    size_t adv;
    uint32_t cp = decode_at(text, t[i].end, t[i].start, &adv);
    if (is_currency(cp) && t[i].start + adv == t[i].end && i + 1 < n &&
        tok_number(text, &t[i + 1])) {
        j = i + 2;
        if (j < n && tok_in(text, &t[j], scales))
            j++;
        return j - i;
    }
    if (!tok_number(text, &t[i]))
        return 0;
    j = i + 1;
    if (j < n && tok_in(text, &t[j], scales))
        j++;
    return j < n && tok_in(text, &t[j], money_words) ? j + 1 - i : 0;
}

static size_t match_percent(const char *text, const ner_token_t *t, size_t n, size_t i)
{
    if (!tok_number(text, &t[i]) || i + 1 >= n)
        return 0;
    if (tok_is(text, &t[i + 1], "%") || tok_is(text, &t[i + 1], "percent") ||
        tok_is(text, &t[i + 1], "pct"))
        return 2;
    if (i + 2 < n && tok_is(text, &t[i + 1], "per") && tok_is(text, &t[i + 2], "cent"))
        return 3;
    return 0;
}

static bool email_local(char c)
{
    return is_alpha_ascii(c) || is_digit_ascii(c) || c == '.' || c == '_' || c == '%' || c == '+' ||
           c == '-';
}

/* local@domain.tld, one '@', a dotted domain of letters, digits and hyphens. */
static size_t match_email(const char *text, const ner_token_t *t, size_t i)
{
    const char *s = text + t[i].start;
    size_t n = t[i].end - t[i].start;
    const char *at = memchr(s, '@', n);
    if (!at || at == s)
        return 0;
    for (const char *p = s; p < at; p++)
        if (!email_local(*p))
            return 0;
    const char *d = at + 1, *end = s + n;
    if (d == end || *d == '.' || *d == '-' || end[-1] == '.' || end[-1] == '-')
        return 0;
    bool dot = false;
    for (const char *p = d; p < end; p++) {
        if (*p == '.') {
            if (p[-1] == '.')
                return 0;
            dot = true;
        } else if (!is_alpha_ascii(*p) && !is_digit_ascii(*p) && *p != '-') {
            return 0;
        }
    }
    return dot ? 1 : 0;
}

int ner_rules(const char *text, const ner_token_t *toks, size_t n, ner_entities_t *out)
{
    for (size_t i = 0; i < n;) {
        size_t k;
        ner_type_t type;
        if ((k = match_email(text, toks, i)) > 0)
            type = NER_EMAIL;
        else if ((k = match_money(text, toks, n, i)) > 0)
            type = NER_MONEY;
        else if ((k = match_percent(text, toks, n, i)) > 0)
            type = NER_PERCENT;
        else if ((k = match_date(text, toks, n, i)) > 0)
            type = NER_DATE;
        else {
            i++;
            continue;
        }
        if (ent_push(out, toks, i, i + k, toks[i + k - 1].end, type, 1.0f) != TC_OK)
            return TC_ENOMEM;
        i += k;
    }
    return TC_OK;
}

/* ================================================================== hashing */

#define FNV_PRIME 1099511628211ULL

uint64_t ner_hash_bytes(uint64_t h, const char *s, size_t n)
{
    for (size_t k = 0; k < n; k++)
        h = (h ^ (unsigned char)s[k]) * FNV_PRIME;
    return h;
}

uint64_t ner_hash_lower(uint64_t h, const char *s, size_t n)
{
    for (size_t k = 0; k < n; k++)
        h = (h ^ (unsigned char)lower_ascii(s[k])) * FNV_PRIME;
    return h;
}

uint64_t ner_phrase_hash(const char *text, const ner_token_t *toks, size_t from, size_t to)
{
    uint64_t h = NER_HASH_SEED;
    for (size_t k = from; k < to; k++) {
        if (k > from)
            h = ner_hash_bytes(h, " ", 1);
        h = ner_hash_lower(h, text + toks[k].start, toks[k].end - toks[k].start);
    }
    return h;
}

uint32_t ner_bucket(uint64_t h, uint32_t mask)
{
    /* splitmix64's finaliser: every input bit reaches the low bits the mask keeps. */
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return (uint32_t)h & mask;
}

uint32_t ner_gaz_lookup(const ner_gaz_t *g, uint64_t hash)
{
    size_t lo = 0, hi = g ? g->n : 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (g->e[mid].hash < hash)
            lo = mid + 1;
        else
            hi = mid;
    }
    return g && lo < g->n && g->e[lo].hash == hash ? g->e[lo].flags : 0;
}

/* ================================================================== features */

/* Word shape: X for an upper-case letter, x lower, d digit, u a non-ASCII character, other
 * bytes as they are, runs collapsed ("Xx", "X.X.", "d,d"); at most 15 characters. */
static size_t shape_of(const char *s, size_t n, char out[16])
{
    size_t m = 0;
    for (size_t k = 0; k < n && m < 15; k++) {
        unsigned char c = (unsigned char)s[k];
        char x;
        if (c >= 0x80) {
            if ((c & 0xC0) == 0x80)
                continue;
            x = 'u';
        } else if (is_upper_ascii((char)c)) {
            x = 'X';
        } else if (c >= 'a' && c <= 'z') {
            x = 'x';
        } else if (is_digit_ascii((char)c)) {
            x = 'd';
        } else {
            x = (char)c;
        }
        if (m == 0 || out[m - 1] != x)
            out[m++] = x;
    }
    out[m] = '\0';
    return m;
}

/* A feature's hash starts from its template number, so equal strings under different
 * templates land in different buckets. */
static uint64_t tmpl(unsigned char id)
{
    return (NER_HASH_SEED ^ id) * FNV_PRIME;
}

static uint64_t sep(uint64_t h)
{
    return (h ^ 0x1F) * FNV_PRIME;
}

typedef struct {
    const char *s; /* NULL outside the sentence */
    size_t n;
    char shape[16];
    size_t shape_n;
    uint32_t gaz;
} word_t;

static void word_at(const ner_gaz_t *gaz, const char *text, const ner_token_t *toks, size_t s,
                    size_t e, long i, word_t *w)
{
    if (i < (long)s || i >= (long)e) {
        /* The sentence boundary is itself a word, so "first word" features exist. */
        w->s = i < (long)s ? "<s>" : "</s>";
        w->n = strlen(w->s);
        w->shape_n = shape_of(w->s, w->n, w->shape);
        w->gaz = 0;
        return;
    }
    w->s = text + toks[i].start;
    w->n = toks[i].end - toks[i].start;
    w->shape_n = shape_of(w->s, w->n, w->shape);
    w->gaz = ner_gaz_lookup(gaz, ner_hash_lower(NER_HASH_SEED, w->s, w->n));
}

size_t ner_features(const ner_gaz_t *gaz, const char *text, const ner_token_t *toks, size_t s,
                    size_t e, size_t i, int prev, int prev2, uint64_t *out)
{
    word_t w[5]; /* i-2 .. i+2 */
    for (int k = 0; k < 5; k++)
        word_at(gaz, text, toks, s, e, (long)i + k - 2, &w[k]);
    const word_t *c = &w[2];
    size_t m = 0;
    char tags[2] = {(char)('0' + prev), (char)('0' + prev2)};
    bool first = i == s;
    bool cap = is_upper_ascii(c->s[0]);

    out[m++] = tmpl(0); /* bias */
    out[m++] = ner_hash_lower(tmpl(1), c->s, c->n);
    out[m++] = ner_hash_bytes(tmpl(2), c->s, c->n);
    out[m++] = ner_hash_lower(tmpl(3), c->s + (c->n > 3 ? c->n - 3 : 0), c->n > 3 ? 3 : c->n);
    out[m++] = ner_hash_lower(tmpl(4), c->s + (c->n > 2 ? c->n - 2 : 0), c->n > 2 ? 2 : c->n);
    out[m++] = ner_hash_lower(tmpl(5), c->s, c->n > 3 ? 3 : c->n);
    out[m++] = ner_hash_bytes(tmpl(6), c->shape, c->shape_n);
    out[m++] = ner_hash_bytes(sep(ner_hash_bytes(tmpl(7), c->shape, c->shape_n)), &"01"[first], 1);
    out[m++] = ner_hash_lower(tmpl(8), w[1].s, w[1].n);
    out[m++] = ner_hash_lower(tmpl(9), w[3].s, w[3].n);
    out[m++] = ner_hash_lower(tmpl(10), w[0].s, w[0].n);
    out[m++] = ner_hash_lower(tmpl(11), w[4].s, w[4].n);
    out[m++] = ner_hash_bytes(sep(ner_hash_bytes(tmpl(12), w[1].shape, w[1].shape_n)), c->shape,
                              c->shape_n);
    out[m++] = ner_hash_bytes(sep(ner_hash_bytes(tmpl(13), w[3].shape, w[3].shape_n)), c->shape,
                              c->shape_n);
    out[m++] = ner_hash_bytes(tmpl(14), tags, 1);
    out[m++] = ner_hash_bytes(tmpl(15), tags, 2);
    out[m++] = ner_hash_lower(sep(ner_hash_bytes(tmpl(16), tags, 1)), c->s, c->n);
    out[m++] = ner_hash_bytes(sep(ner_hash_bytes(tmpl(17), tags, 1)), c->shape, c->shape_n);
    /* Gazetteer flags: a capitalised word that is a known first name or place is likely a
     * name; the same lower-case word ("bill", "china") is likely not. */
    char g[3] = {(char)(w[2].gaz & 0xFF), (char)('0' + cap), (char)('0' + first)};
    out[m++] = ner_hash_bytes(tmpl(18), g, 3);
    out[m++] = ner_hash_bytes(tmpl(19), (char[]){(char)w[3].gaz}, 1);
    out[m++] = ner_hash_bytes(tmpl(20), (char[]){(char)w[1].gaz}, 1);
    out[m++] = ner_hash_bytes(sep(ner_hash_lower(tmpl(21), w[1].s, w[1].n)), c->shape, c->shape_n);
    out[m++] = ner_hash_bytes(sep(ner_hash_lower(tmpl(22), w[3].s, w[3].n)), c->shape, c->shape_n);
    if (first)
        out[m++] = ner_hash_lower(tmpl(23), c->s, c->n);
    return m;
}

void ner_scores(const float *weights, uint32_t mask, const uint64_t *feats, size_t nfeats,
                float scores[NER_NTAGS])
{
    scores[0] = scores[1] = scores[2] = 0.0f;
    for (size_t k = 0; k < nfeats; k++) {
        const float *w = weights + (size_t)ner_bucket(feats[k], mask) * NER_NTAGS;
        scores[0] += w[0];
        scores[1] += w[1];
        scores[2] += w[2];
    }
}

size_t ner_bio_decode(const uint8_t *tags, size_t n, ner_span_t *out)
{
    size_t m = 0;
    for (size_t i = 0; i < n;) {
        if (tags[i] == NER_TAG_O) {
            i++;
            continue;
        }
        size_t j = i + 1;
        while (j < n && tags[j] == NER_TAG_I)
            j++;
        out[m++] = (ner_span_t){.a = (uint32_t)i, .b = (uint32_t)j};
        i = j;
    }
    return m;
}

uint32_t ner_name_end(const char *text, const ner_token_t *t)
{
    const char *s = text + t->start;
    size_t n = t->end - t->start;
    if (n > 2 && s[n - 2] == '\'' && (s[n - 1] == 's' || s[n - 1] == 'S'))
        return t->end - 2;
    if (n > 1 && s[n - 1] == '\'')
        return t->end - 1;
    return t->end;
}

/* ================================================================== typing */

static const char *const titles[] = {
    "mr.",       "mr",        "mrs.",     "mrs",     "ms.",       "ms",      "miss",    "dr.",
    "dr",        "prof.",     "sen.",     "gov.",    "rep.",      "gen.",    "col.",    "capt.",
    "lt.",       "sgt.",      "maj.",     "adm.",    "rev.",      "sir",     "lady",    "lord",
    "dame",      "mme.",      "mlle.",    "messrs.", "president", "judge",   "mayor",   "senator",
    "governor",  "king",      "queen",    "pope",    "father",    "general", "colonel", "captain",
    "professor", "secretary", "chairman", "uncle",   "aunt",      "jr.",     NULL,
};
/* The last word of an organisation's name, or the word right after a name ("Acme Corp."). */
static const char *const org_words[] = {
    "inc.",        "inc",          "corp.",      "corp",      "co.",
    "ltd.",        "ltd",          "llc",        "plc",       "company",
    "corporation", "university",   "college",    "institute", "association",
    "bank",        "party",        "committee",  "council",   "department",
    "foundation",  "society",      "club",       "union",     "agency",
    "commission",  "bureau",       "church",     "school",    "hospital",
    "press",       "airlines",     "group",      "academy",   "administration",
    "federation",  "laboratories", "industries", "museum",    "orchestra",
    "league",      "senate",       NULL,
};
/* An organisation word that names the organisation before "of": "University of Chicago". */
static const char *const org_heads[] = {
    "university", "college", "bank",    "institute", "department", "bureau", "museum", "academy",
    "church",     "council", "society", "school",    "commission", "board",  NULL,
};
static const char *const loc_preps[] = {"in",     "at",      "from",       "near",
                                        "into",   "across",  "throughout", "outside",
                                        "toward", "towards", NULL};

/* "J." or "J": an initial. */
static bool tok_initial(const char *text, const ner_token_t *t)
{
    size_t n = t->end - t->start;
    const char *s = text + t->start;
    return is_upper_ascii(s[0]) && (n == 1 || (n == 2 && s[1] == '.'));
}

static uint32_t word_gaz(const ner_gaz_t *gaz, const char *text, const ner_token_t *t)
{
    return ner_gaz_lookup(gaz, ner_hash_lower(NER_HASH_SEED, text + t->start, t->end - t->start));
}

ner_type_t ner_type_span(const ner_gaz_t *gaz, const char *text, const ner_token_t *toks, size_t n,
                         size_t a, size_t b)
{
    const ner_token_t *first = &toks[a], *last = &toks[b - 1];
    if (a > 0 && tok_in(text, &toks[a - 1], titles) && tok_cap(text, first))
        return NER_PERSON;
    bool cap_after = b < n && tok_cap(text, &toks[b]);
    if ((b - a > 1 && tok_in(text, last, org_words)) ||
        (cap_after && tok_in(text, &toks[b], org_words)) ||
        (a > 1 && tok_is(text, &toks[a - 1], "of") && tok_cap(text, &toks[a - 2]) &&
         tok_in(text, &toks[a - 2], org_heads)))
        return NER_ORGANIZATION;
    uint32_t whole = ner_gaz_lookup(gaz, ner_phrase_hash(text, toks, a, b));
    if (whole & NER_GAZ_ORG)
        return NER_ORGANIZATION;
    if (whole & NER_GAZ_PERSON)
        return NER_PERSON;
    bool loc_cue = a > 0 && tok_in(text, &toks[a - 1], loc_preps);
    /* A place that is also a first name ("Georgia", "Florence") is a person when it starts
     * a longer name and no preposition says otherwise. */
    if ((whole & NER_GAZ_LOC) && (loc_cue || b - a > 1 || !(whole & NER_GAZ_FIRST)))
        return NER_LOCATION;
    if (whole & NER_GAZ_DEMONYM)
        return NER_MISC;
    uint32_t g_first = word_gaz(gaz, text, first), g_last = word_gaz(gaz, text, last);
    if (b - a > 1 && ((g_first & NER_GAZ_FIRST) || tok_initial(text, first)))
        return NER_PERSON;
    if (b - a == 1 && (g_first & NER_GAZ_FIRST) && !loc_cue)
        return NER_PERSON;
    if ((g_last & NER_GAZ_LAST) && !loc_cue)
        return NER_PERSON;
    if (loc_cue)
        return NER_LOCATION;
    /* "Portland, Oregon": a name followed by a comma and a known place. */
    if (b + 1 < n && tok_is(text, &toks[b], ",") && tok_cap(text, &toks[b + 1]) &&
        (word_gaz(gaz, text, &toks[b + 1]) & NER_GAZ_LOC))
        return NER_LOCATION;
    return NER_MISC;
}

/* ================================================================== prediction */

struct ner_model {
    void *wmap, *gmap;
    size_t wlen, glen;
    const float *weights;
    uint32_t mask;
    ner_gaz_t gaz;
    float temperature;
};

/* Tags the sentence [s, e) greedily; tags[] gets the BIO tags, prob[] the probability (a
 * softmax of the scores) that each token is part of a name. */
static void tag_sentence(const float *weights, uint32_t mask, const ner_gaz_t *gaz,
                         float temperature, const char *text, const ner_token_t *toks, size_t s,
                         size_t e, uint8_t *tags, float *prob)
{
    uint64_t feats[NER_MAX_FEATS];
    int prev = NER_TAG_O, prev2 = NER_TAG_O;
    for (size_t i = s; i < e; i++) {
        size_t nf = ner_features(gaz, text, toks, s, e, i, prev, prev2, feats);
        float sc[NER_NTAGS];
        ner_scores(weights, mask, feats, nf, sc);
        int best = 0;
        for (int t = 1; t < NER_NTAGS; t++)
            if (sc[t] > sc[best])
                best = t;
        float mx = sc[best], z = 0.0f, p[NER_NTAGS];
        for (int t = 0; t < NER_NTAGS; t++)
            z += p[t] = expf((sc[t] - mx) / temperature);
        tags[i] = (uint8_t)best;
        prob[i] = (p[NER_TAG_B] + p[NER_TAG_I]) / z;
        prev2 = prev;
        prev = best;
    }
}

static bool overlaps(const ner_entities_t *rules, uint32_t a, uint32_t b)
{
    for (size_t k = 0; k < rules->n; k++)
        if (rules->v[k].byte_start < b && a < rules->v[k].byte_end)
            return true;
    return false;
}

static int by_start(const void *x, const void *y)
{
    const ner_entity_t *a = x, *b = y;
    return a->start < b->start ? -1 : a->start > b->start;
}

/* A MISC name whose last word is the last word of a PERSON elsewhere in the text
 * ("John F. Kennedy ... Kennedy said") is that person. */
static void resolve_people(const char *text, ner_entities_t *ents, size_t from)
{
    for (size_t k = from; k < ents->n; k++) {
        ner_entity_t *m = &ents->v[k];
        if (m->type != NER_MISC)
            continue;
        size_t mlen = m->byte_end - m->byte_start;
        for (size_t j = from; j < ents->n; j++) {
            const ner_entity_t *p = &ents->v[j];
            size_t plen = p->byte_end - p->byte_start;
            if (p->type == NER_PERSON && plen > mlen &&
                memcmp(text + p->byte_end - mlen, text + m->byte_start, mlen) == 0 &&
                text[p->byte_end - mlen - 1] == ' ') {
                m->type = NER_PERSON;
                break;
            }
        }
    }
}

/* Brown never tags "Inc." or "Corp." as part of a name and seldom saw one, so the tagger can
 * miss a company it has not met ("Apple Inc."): up to three capitalised words right before a
 * corporate suffix, none of them tagged, become a name (typed ORGANIZATION by the suffix). */
static void name_before_suffix(const char *text, const ner_token_t *toks, size_t s, size_t e,
                               uint8_t *tags)
{
    static const char *const suffixes[] = {"inc.", "inc", "corp.", "corp", "co.",
                                           "ltd.", "ltd", "llc",   "plc",  NULL};
    for (size_t i = s + 1; i < e; i++) {
        if (!tok_cap(text, &toks[i]) || !tok_in(text, &toks[i], suffixes))
            continue;
        size_t a = i;
        while (a > s && i - a < 3 && tags[a - 1] == NER_TAG_O && tok_cap(text, &toks[a - 1]))
            a--;
        if (a == i || (a > s && tags[a - 1] != NER_TAG_O))
            continue; /* nothing to add, or the tagger already found part of the name */
        tags[a] = NER_TAG_B;
        for (size_t k = a + 1; k < i; k++)
            tags[k] = NER_TAG_I;
    }
}

/* Tags every sentence of the tokens; see tag_sentence. */
static void tag_all(const float *weights, uint32_t mask, const ner_gaz_t *gaz, float temperature,
                    const char *text, const ner_token_t *toks, size_t n, uint8_t *tags, float *prob)
{
    for (size_t s = 0; s < n;) {
        size_t e = ner_sentence_end(text, toks, n, s);
        tag_sentence(weights, mask, gaz, temperature, text, toks, s, e, tags, prob);
        /* A name never crosses a sentence end: an I opening a sentence begins a new span. */
        if (tags[s] == NER_TAG_I)
            tags[s] = NER_TAG_B;
        name_before_suffix(text, toks, s, e, tags);
        s = e;
    }
}

/* Appends the typed names of the tags that no rule entity overlaps; spans is scratch room
 * for n spans. */
static int add_names(const ner_gaz_t *gaz, const char *text, const ner_token_t *toks, size_t n,
                     const uint8_t *tags, const float *prob, ner_span_t *spans,
                     const ner_entities_t *rules, ner_entities_t *out)
{
    size_t nspans = ner_bio_decode(tags, n, spans);
    for (size_t k = 0; k < nspans; k++) {
        size_t a = spans[k].a, b = spans[k].b;
        uint32_t end = ner_name_end(text, &toks[b - 1]);
        if (end <= toks[a].start || overlaps(rules, toks[a].start, end))
            continue;
        float score = 0.0f;
        for (size_t i = a; i < b; i++)
            score += prob[i];
        ner_type_t type = ner_type_span(gaz, text, toks, n, a, b);
        if (ent_push(out, toks, a, b, end, type, score / (float)(b - a)) != TC_OK)
            return TC_ENOMEM;
    }
    return TC_OK;
}

int ner_predict_with(const float *weights, uint32_t mask, const ner_gaz_t *gaz, float temperature,
                     const char *text, size_t len, ner_entities_t *out)
{
    int rc = TC_ENOMEM;
    ner_token_t *toks = NULL;
    size_t n = 0;
    uint8_t *tags = NULL;
    float *prob = NULL;
    ner_span_t *spans = NULL;
    ner_entities_t rules = {0};
    size_t from = out->n;

    if (ner_tokenize(text, len, &toks, &n) != TC_OK)
        goto cleanup;
    if (n == 0) {
        rc = TC_OK;
        goto cleanup;
    }
    tags = malloc(n);
    prob = malloc(n * sizeof *prob);
    spans = malloc(n * sizeof *spans);
    if (!tags || !prob || !spans || ner_rules(text, toks, n, &rules) != TC_OK)
        goto cleanup;
    tag_all(weights, mask, gaz, temperature, text, toks, n, tags, prob);
    if (ent_reserve(out, rules.n) != TC_OK)
        goto cleanup;
    if (rules.n > 0)
        memcpy(out->v + out->n, rules.v, rules.n * sizeof *rules.v);
    out->n += rules.n;
    if (add_names(gaz, text, toks, n, tags, prob, spans, &rules, out) != TC_OK)
        goto cleanup;
    if (out->n > from) {
        resolve_people(text, out, from);
        qsort(out->v + from, out->n - from, sizeof *out->v, by_start);
    }
    rc = TC_OK;
cleanup:
    if (rc != TC_OK)
        out->n = from; /* no half answer */
    free(toks);
    free(tags);
    free(prob);
    free(spans);
    ner_entities_free(&rules);
    return rc;
}

int ner_model_predict(const ner_model_t *m, const char *text, size_t len, ner_entities_t *out)
{
    return ner_predict_with(m->weights, m->mask, &m->gaz, m->temperature, text, len, out);
}

/* ================================================================== loading */

#define WEIGHTS_HEADER 16
#define GAZ_HEADER     16

/* Maps a whole file read-only; *len its size. */
static int map_file(const char *path, void **map, size_t *len, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return TC_EINVAL;
    }
    struct stat st;
    int rc = TC_OK;
    if (fstat(fd, &st) != 0 || st.st_size <= 0) {
        snprintf(err, errlen, "%s: empty or unreadable", path);
        rc = TC_EINVAL;
        goto cleanup;
    }
    *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (*map == MAP_FAILED) {
        *map = NULL;
        snprintf(err, errlen, "%s: mmap: %s", path, strerror(errno));
        rc = TC_ERROR;
        goto cleanup;
    }
    *len = (size_t)st.st_size;
cleanup:
    close(fd);
    return rc;
}

static uint32_t read_u32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static int check_weights(ner_model_t *m, const char *path, char *err, size_t errlen)
{
    const unsigned char *p = m->wmap;
    if (m->wlen < WEIGHTS_HEADER || memcmp(p, "NERW0001", 8) != 0) {
        snprintf(err, errlen, "%s: not a ner-v2 weights file", path);
        return TC_EINVAL;
    }
    uint32_t log2 = read_u32(p + 8), ntags = read_u32(p + 12);
    if (log2 < 4 || log2 > 26 || ntags != NER_NTAGS ||
        m->wlen != WEIGHTS_HEADER + ((size_t)1 << log2) * NER_NTAGS * sizeof(float)) {
        snprintf(err, errlen, "%s: bad header or size", path);
        return TC_EINVAL;
    }
    m->weights = (const float *)(p + WEIGHTS_HEADER);
    m->mask = (uint32_t)((1u << log2) - 1);
    return TC_OK;
}

static int check_gaz(ner_model_t *m, const char *path, char *err, size_t errlen)
{
    const unsigned char *p = m->gmap;
    if (m->glen < GAZ_HEADER || memcmp(p, "NERG0001", 8) != 0) {
        snprintf(err, errlen, "%s: not a ner-v2 gazetteer", path);
        return TC_EINVAL;
    }
    size_t n = read_u32(p + 8);
    if (m->glen != GAZ_HEADER + n * sizeof(ner_gaz_entry_t)) {
        snprintf(err, errlen, "%s: bad header or size", path);
        return TC_EINVAL;
    }
    m->gaz.e = (const ner_gaz_entry_t *)(p + GAZ_HEADER);
    m->gaz.n = n;
    /* Lookups are binary searches: an unsorted file would miss entries silently. */
    for (size_t k = 1; k < n; k++) {
        if (m->gaz.e[k - 1].hash >= m->gaz.e[k].hash) {
            snprintf(err, errlen, "%s: entries not sorted", path);
            return TC_EINVAL;
        }
    }
    return TC_OK;
}

int ner_model_load(const char *weights_path, const char *gaz_path, float temperature,
                   ner_model_t **out, char *err, size_t errlen)
{
    int rc;
    *out = NULL;
    if (!(temperature > 0.0f && isfinite(temperature))) {
        snprintf(err, errlen, "temperature must be a positive number");
        return TC_EINVAL;
    }
    ner_model_t *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "out of memory");
        return TC_ENOMEM;
    }
    m->temperature = temperature;
    if ((rc = map_file(weights_path, &m->wmap, &m->wlen, err, errlen)) != TC_OK ||
        (rc = check_weights(m, weights_path, err, errlen)) != TC_OK ||
        (rc = map_file(gaz_path, &m->gmap, &m->glen, err, errlen)) != TC_OK ||
        (rc = check_gaz(m, gaz_path, err, errlen)) != TC_OK)
        goto cleanup;
    *out = m;
    m = NULL;
cleanup:
    ner_model_free(m);
    return rc;
}

void ner_model_free(ner_model_t *m)
{
    if (!m)
        return;
    if (m->wmap)
        munmap(m->wmap, m->wlen);
    if (m->gmap)
        munmap(m->gmap, m->glen);
    free(m);
}

const ner_gaz_t *ner_model_gaz(const ner_model_t *m)
{
    return &m->gaz;
}

size_t ner_model_bytes(const ner_model_t *m)
{
    return m->wlen + m->glen;
}
