/* The search domain: query plans, the searchable-document contract, cursors (no I/O). */
#include "search_model.h"
#include "tc/tc_auth.h"
#include "tc/tc_core.h"
#include "tc/tc_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ query plan */

int search_typo_budget(int letters)
{
    if (letters >= 9)
        return 2;
    return letters >= 5 ? 1 : 0;
}

static bool word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

static bool all_digits(const char *s)
{
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

bool search_word_valid(const char *word)
{
    if (!word || !*word || strlen(word) > SEARCH_WORD_MAX)
        return false;
    for (const unsigned char *p = (const unsigned char *)word; *p; p++)
        if (!word_byte(*p))
            return false;
    return tc_utf8_validate(word, strlen(word)) > 0;
}

/* Decodes up to cap code points of s (invalid bytes count as one each). */
static int code_points(const char *s, uint32_t *out, int cap)
{
    int n = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p && n < cap) {
        uint32_t c = *p++;
        int more = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
        for (; more > 0 && (*p & 0xC0) == 0x80; more--)
            c = (c << 6) | (*p++ & 0x3F);
        out[n++] = c;
    }
    return n;
}

int search_edit_distance(const char *a, const char *b, int max)
{
    uint32_t x[SEARCH_WORD_MAX], y[SEARCH_WORD_MAX];
    int m = code_points(a, x, SEARCH_WORD_MAX), n = code_points(b, y, SEARCH_WORD_MAX);
    int d[SEARCH_WORD_MAX + 1][SEARCH_WORD_MAX + 1];
    if (abs(m - n) > max)
        return max + 1;
    for (int i = 0; i <= m; i++)
        d[i][0] = i;
    for (int j = 0; j <= n; j++)
        d[0][j] = j;
    for (int i = 1; i <= m; i++)
        for (int j = 1; j <= n; j++) {
            int cost = x[i - 1] == y[j - 1] ? 0 : 1;
            int v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v)
                v = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < v)
                v = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && x[i - 1] == y[j - 2] && x[i - 2] == y[j - 1] &&
                d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    return d[m][n] > max ? max + 1 : d[m][n];
}

void search_word_add_candidate(search_word_t *w, const char *cand)
{
    if (w->ncands >= SEARCH_MAX_TYPOS || !search_word_valid(cand) || strcmp(cand, w->text) == 0)
        return;
    for (int i = 0; i < w->ncands; i++)
        if (strcmp(w->cands[i], cand) == 0)
            return;
    snprintf(w->cands[w->ncands++], sizeof w->cands[0], "%s", cand);
}

/* ------------------------------------------------------------------ synonyms */

int search_synonym_normalize(const char *in, int max_words, char *out, size_t cap)
{
    char word[SEARCH_WORD_MAX + 1];
    size_t at = 0;
    int words = 0;
    if (!in || cap == 0)
        return TC_EINVAL;
    for (const char *p = in; *p;) {
        while (*p == ' ' || *p == '\t')
            p++;
        size_t n = strcspn(p, " \t");
        if (n == 0)
            break;
        if (n > SEARCH_WORD_MAX || ++words > max_words || at + n + (at > 0) >= cap)
            return TC_EINVAL;
        for (size_t i = 0; i < n; i++)
            word[i] = (p[i] >= 'A' && p[i] <= 'Z') ? (char)(p[i] - 'A' + 'a') : p[i];
        word[n] = '\0';
        if (!search_word_valid(word))
            return TC_EINVAL;
        if (at > 0)
            out[at++] = ' ';
        memcpy(out + at, word, n + 1);
        at += n;
        p += n;
    }
    return words > 0 ? TC_OK : TC_EINVAL;
}

void search_word_add_synonym(search_word_t *w, const char *syn)
{
    char norm[SEARCH_SYNONYM_MAX + 1];
    if (w->nsyns >= SEARCH_MAX_SYNONYMS ||
        search_synonym_normalize(syn, SEARCH_SYNONYM_WORDS, norm, sizeof norm) != TC_OK ||
        strcmp(norm, w->text) == 0)
        return;
    for (int i = 0; i < w->nsyns; i++)
        if (strcmp(w->syns[i], norm) == 0)
            return;
    memcpy(w->syns[w->nsyns++], norm, strlen(norm) + 1);
}

bool search_synonym_entry(search_synonym_entry_t *e, tc_jv_t *jv, const char *key,
                          const cJSON *value)
{
    e->nsyns = 0;
    if (search_synonym_normalize(key, SEARCH_SYNONYM_WORDS, e->word, sizeof e->word) != TC_OK) {
        tc_jv_error(jv, "synonyms",
                    "a synonym's key is 1 to %d words of letters and digits, each at most %d "
                    "bytes",
                    SEARCH_SYNONYM_WORDS, SEARCH_WORD_MAX);
        return false;
    }
    int n = cJSON_IsArray(value) ? cJSON_GetArraySize(value) : 0;
    if (n < 1 || n > SEARCH_MAX_SYNONYMS) {
        tc_jv_error(jv, "synonyms", "synonyms of \"%s\": an array of 1 to %d strings", e->word,
                    SEARCH_MAX_SYNONYMS);
        return false;
    }
    const cJSON *item;
    cJSON_ArrayForEach(item, value)
    {
        char *syn = e->syns[e->nsyns];
        if (!cJSON_IsString(item) ||
            search_synonym_normalize(item->valuestring, SEARCH_SYNONYM_WORDS, syn,
                                     SEARCH_SYNONYM_MAX + 1) != TC_OK) {
            tc_jv_error(jv, "synonyms",
                        "synonyms of \"%s\": each is 1 to %d words of letters and digits", e->word,
                        SEARCH_SYNONYM_WORDS);
            return false;
        }
        bool known = strcmp(syn, e->word) == 0;
        for (int i = 0; !known && i < e->nsyns; i++)
            known = strcmp(e->syns[i], syn) == 0;
        if (!known)
            e->nsyns++;
    }
    if (e->nsyns == 0) {
        tc_jv_error(jv, "synonyms", "synonyms of \"%s\": none but the word itself", e->word);
        return false;
    }
    return true;
}

/* Copies at most SEARCH_WORD_MAX bytes of a word, cut on a code point boundary, lower-casing
 * ASCII; returns the number of code points. */
static int copy_word(char *out, const char *s, size_t n)
{
    if (n > SEARCH_WORD_MAX) {
        n = SEARCH_WORD_MAX;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    int letters = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        out[i] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
        if ((c & 0xC0) != 0x80)
            letters++;
    }
    out[n] = '\0';
    return letters;
}

typedef struct {
    search_plan_t *plan;
    bool pending_or;
    bool typo_tolerance;
} parser_t;

/* Starts a new alternative: in the current clause after OR, else in a new clause. */
static search_alt_t *new_alt(parser_t *p, bool negated)
{
    search_plan_t *plan = p->plan;
    if (plan->nalts >= SEARCH_MAX_WORDS)
        return NULL;
    search_alt_t *a = &plan->alts[plan->nalts];
    memset(a, 0, sizeof *a);
    a->first = plan->nwords;
    a->negated = negated;
    if (p->pending_or && plan->nclauses > 0) {
        plan->clauses[plan->nclauses - 1].count++;
    } else {
        search_clause_t *c = &plan->clauses[plan->nclauses++];
        c->first = plan->nalts;
        c->count = 1;
    }
    p->pending_or = false;
    plan->nalts++;
    return a;
}

static search_word_t *add_word(search_plan_t *plan, const char *s, size_t n)
{
    if (plan->nwords >= SEARCH_MAX_WORDS) {
        plan->truncated = true;
        return NULL;
    }
    search_word_t *w = &plan->words[plan->nwords++];
    memset(w, 0, sizeof *w);
    w->letters = copy_word(w->text, s, n);
    return w;
}

/* Reads the words of a quoted phrase starting at s (after the opening quote); returns where
 * parsing continues (after the closing quote, or the end). */
static const char *parse_phrase(parser_t *p, const char *s, bool negated)
{
    search_plan_t *plan = p->plan;
    search_alt_t *alt = NULL;
    while (*s && *s != '"') {
        if (!word_byte((unsigned char)*s)) {
            s++;
            continue;
        }
        const char *start = s;
        while (*s && word_byte((unsigned char)*s))
            s++;
        if (!alt && plan->nwords < SEARCH_MAX_WORDS)
            alt = new_alt(p, negated);
        if (alt && add_word(plan, start, (size_t)(s - start)))
            alt->count++;
    }
    if (alt) {
        alt->phrase = alt->count > 1;
        alt->quoted = true;
    }
    return *s == '"' ? s + 1 : s;
}

int search_plan_parse(search_plan_t *plan, const char *q, bool prefix, bool typo_tolerance)
{
    memset(plan, 0, sizeof *plan);
    if (!q)
        return TC_OK;
    size_t len = strlen(q);
    if (len > SEARCH_Q_MAX || (len > 0 && tc_utf8_validate(q, len) < 0))
        return TC_EINVAL;
    parser_t p = {.plan = plan, .typo_tolerance = typo_tolerance};
    const char *s = q;
    int last_plain = -1; /* the word that ended q, when it is a plain word */
    while (*s) {
        bool negated = false;
        bool at_start = s == q || s[-1] == ' ' || s[-1] == '\t' || s[-1] == '\n';
        if (*s == '-' && at_start && (s[1] == '"' || word_byte((unsigned char)s[1]))) {
            negated = true;
            s++;
        }
        if (*s == '"') {
            s = parse_phrase(&p, s + 1, negated);
            last_plain = -1;
            continue;
        }
        if (!word_byte((unsigned char)*s)) {
            s++;
            last_plain = -1;
            continue;
        }
        const char *start = s;
        while (*s && word_byte((unsigned char)*s))
            s++;
        size_t n = (size_t)(s - start);
        if (!negated && n == 2 && memcmp(start, "OR", 2) == 0) {
            p.pending_or = plan->nalts > 0;
            last_plain = -1;
            continue;
        }
        if (plan->nwords >= SEARCH_MAX_WORDS) {
            plan->truncated = true;
            continue;
        }
        search_alt_t *alt = new_alt(&p, negated);
        search_word_t *w = alt ? add_word(plan, start, n) : NULL;
        if (!w)
            continue;
        alt->count = 1;
        if (!negated && p.typo_tolerance && !all_digits(w->text))
            w->typos = search_typo_budget(w->letters);
        last_plain = negated ? -1 : plan->nwords - 1;
    }
    /* search-as-you-type: q ends inside its last word */
    if (prefix && last_plain >= 0 && word_byte((unsigned char)q[len - 1]))
        plan->words[last_plain].prefix = true;
    return TC_OK;
}

bool search_plan_word_free(const search_plan_t *plan, int i)
{
    for (int a = 0; a < plan->nalts; a++) {
        const search_alt_t *alt = &plan->alts[a];
        if (i >= alt->first && i < alt->first + alt->count)
            return !alt->negated && !alt->quoted && alt->count == 1;
    }
    return false;
}

/* The clause that is words[i] alone (one alternative of one free word), or -1. */
static int clause_of_word(const search_plan_t *plan, int i)
{
    for (int c = 0; c < plan->nclauses; c++) {
        const search_clause_t *cl = &plan->clauses[c];
        const search_alt_t *a = &plan->alts[cl->first];
        if (cl->count == 1 && a->first == i && a->count == 1)
            return search_plan_word_free(plan, i) ? c : -1;
    }
    return -1;
}

bool search_plan_span_ok(const search_plan_t *plan, int first, int count)
{
    if (count < 2 || count > SEARCH_SYNONYM_WORDS || first < 0 || first + count > plan->nwords)
        return false;
    int c0 = clause_of_word(plan, first);
    for (int k = 0; c0 >= 0 && k < count; k++)
        if (clause_of_word(plan, first + k) != c0 + k)
            return false;
    return c0 >= 0;
}

void search_plan_words(const search_plan_t *plan, int first, int count, char *out, size_t cap)
{
    size_t at = 0;
    if (cap)
        out[0] = '\0';
    for (int k = 0; k < count && first + k < plan->nwords && at < cap; k++) {
        int n = snprintf(out + at, cap - at, "%s%s", k ? " " : "", plan->words[first + k].text);
        at += n > 0 ? (size_t)n : 0;
    }
}

void search_plan_add_span_synonym(search_plan_t *plan, int first, int count, const char *syn)
{
    search_span_t *sp = NULL;
    for (int i = 0; i < plan->nspans; i++) {
        search_span_t *o = &plan->spans[i];
        if (o->first == first && o->count == count)
            sp = o;
        else if (first < o->first + o->count && o->first < first + count)
            return; /* overlaps a span already taken: the first found wins */
    }
    char norm[SEARCH_SYNONYM_MAX + 1];
    if (search_synonym_normalize(syn, SEARCH_SYNONYM_WORDS, norm, sizeof norm) != TC_OK)
        return;
    if (!sp) {
        if (plan->nspans >= SEARCH_MAX_SPANS || !search_plan_span_ok(plan, first, count))
            return;
        sp = &plan->spans[plan->nspans++];
        *sp = (search_span_t){.first = first, .count = count};
    }
    char typed[SEARCH_SYNONYM_MAX + 1];
    search_plan_words(plan, first, count, typed, sizeof typed);
    if (sp->nsyns >= SEARCH_MAX_SYNONYMS || strcmp(norm, typed) == 0)
        return;
    for (int i = 0; i < sp->nsyns; i++)
        if (strcmp(sp->syns[i], norm) == 0)
            return;
    memcpy(sp->syns[sp->nsyns++], norm, strlen(norm) + 1);
}

/* ------------------------------------------------------------------ stop words */

/* The languages a query may name (ISO 639-1), with PostgreSQL's stop-word list for each (NULL:
 * none ships) and its Snowball stemming configuration (migrations 003 and 005). */
static const struct {
    const char *code, *stop, *stem;
} LANGS[] = {
    {"ar", NULL, "search_arabic"},
    {"ca", NULL, "search_catalan"},
    {"da", "search_stop_danish", "search_danish"},
    {"de", "search_stop_german", "search_german"},
    {"el", NULL, "search_greek"},
    {"en", "search_stop_english", "search_english"},
    {"es", "search_stop_spanish", "search_spanish"},
    {"eu", NULL, "search_basque"},
    {"fi", "search_stop_finnish", "search_finnish"},
    {"fr", "search_stop_french", "search_french"},
    {"ga", NULL, "search_irish"},
    {"hi", NULL, "search_hindi"},
    {"hu", "search_stop_hungarian", "search_hungarian"},
    {"hy", NULL, "search_armenian"},
    {"id", NULL, "search_indonesian"},
    {"it", "search_stop_italian", "search_italian"},
    {"lt", NULL, "search_lithuanian"},
    {"nb", "search_stop_norwegian", "search_norwegian"},
    {"ne", "search_stop_nepali", "search_nepali"},
    {"nl", "search_stop_dutch", "search_dutch"},
    {"nn", "search_stop_norwegian", "search_norwegian"},
    {"no", "search_stop_norwegian", "search_norwegian"},
    {"pt", "search_stop_portuguese", "search_portuguese"},
    {"ro", NULL, "search_romanian"},
    {"ru", "search_stop_russian", "search_russian"},
    {"sr", NULL, "search_serbian"},
    {"sv", "search_stop_swedish", "search_swedish"},
    {"ta", NULL, "search_tamil"},
    {"tr", "search_stop_turkish", "search_turkish"},
    {"yi", NULL, "search_yiddish"},
};

static bool ascii_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* The length of a tag's primary subtag (2 or 3 letters), 0 when it has none. */
static size_t primary_len(const char *tag, size_t n)
{
    size_t k = 0;
    while (k < n && ascii_alpha(tag[k]))
        k++;
    return (k == 2 || k == 3) && (k == n || tag[k] == '-') ? k : 0;
}

/* The LANGS entry of a tag's primary subtag (two letters, any case), or -1. */
static int lang_index_n(const char *tag, size_t n)
{
    size_t k = primary_len(tag, n);
    if (k != 2)
        return -1;
    char code[3] = {(char)(tag[0] | 0x20), (char)(tag[1] | 0x20), '\0'};
    for (size_t i = 0; i < TC_ARRAY_LEN(LANGS); i++)
        if (strcmp(code, LANGS[i].code) == 0)
            return (int)i;
    return -1;
}

const char *search_stop_dictionary(const char *lang)
{
    int i = lang ? lang_index_n(lang, strlen(lang)) : -1;
    return i >= 0 ? LANGS[i].stop : NULL;
}

const char *search_stem_config(const char *lang)
{
    int i = lang ? lang_index_n(lang, strlen(lang)) : -1;
    return i >= 0 ? LANGS[i].stem : NULL;
}

int search_stem_map_json(tc_buf_t *out)
{
    tc_buf_putc(out, '{');
    for (size_t i = 0; i < TC_ARRAY_LEN(LANGS); i++)
        tc_buf_printf(out, "%s\"%s\":\"%s\"", i ? "," : "", LANGS[i].code, LANGS[i].stem);
    tc_buf_putc(out, '}');
    return out->oom ? TC_ENOMEM : TC_OK;
}

/* The q of an Accept-Language item's parameters (";q=0.8"), 1000ths; 1000 when absent, -1 when
 * malformed. */
static int accept_q(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == ';'))
        p++;
    if (p == end)
        return 1000;
    if (end - p < 3 || (p[0] != 'q' && p[0] != 'Q') || p[1] != '=')
        return -1;
    p += 2;
    int q = 0, scale = 1000, digits = 0;
    if (*p == '1' || *p == '0') {
        q = (*p - '0') * 1000;
        p++;
    } else {
        return -1;
    }
    if (p < end && *p == '.') {
        for (p++; p < end && *p >= '0' && *p <= '9' && digits < 3; p++, digits++) {
            scale /= 10;
            q += (*p - '0') * scale;
        }
    }
    while (p < end && *p == ' ')
        p++;
    return p == end && q <= 1000 ? q : -1;
}

void search_lang_from_accept(const char *header, char *out, size_t cap)
{
    if (cap > 0)
        out[0] = '\0';
    if (!header || cap < 3)
        return;
    int best = 0;
    for (const char *p = header; *p;) {
        const char *end = p + strcspn(p, ",");
        while (p < end && *p == ' ')
            p++;
        size_t tag = strcspn(p, ";, ");
        if (p + tag > end)
            tag = (size_t)(end - p);
        int q = accept_q(p + tag, end);
        if (q > best && lang_index_n(p, tag) >= 0) {
            best = q;
            out[0] = (char)(p[0] | 0x20);
            out[1] = (char)(p[1] | 0x20);
            out[2] = '\0';
        }
        p = *end ? end + 1 : end;
    }
}

bool search_plan_word_droppable(const search_plan_t *plan, int i)
{
    if (i < 0 || i >= plan->nwords || plan->words[i].prefix)
        return false;
    for (int c = 0; c < plan->nclauses; c++) {
        const search_clause_t *cl = &plan->clauses[c];
        if (cl->count != 1)
            continue;
        const search_alt_t *a = &plan->alts[cl->first];
        if (a->first == i && a->count == 1)
            return !a->negated && !a->quoted;
    }
    return false;
}

int search_plan_drop_stop_words(search_plan_t *plan)
{
    int positive = 0, stop = 0;
    for (int a = 0; a < plan->nalts; a++)
        if (!plan->alts[a].negated)
            positive += plan->alts[a].count > 0;
    for (int i = 0; i < plan->nwords; i++)
        stop += plan->words[i].stop && search_plan_word_droppable(plan, i);
    if (stop == 0 || stop >= positive)
        return 0;
    int dropped = 0;
    for (int c = 0; c < plan->nclauses; c++) {
        search_alt_t *a = &plan->alts[plan->clauses[c].first];
        if (plan->clauses[c].count != 1 || a->count != 1)
            continue;
        search_word_t *w = &plan->words[a->first];
        if (!w->stop || !search_plan_word_droppable(plan, a->first))
            continue;
        w->dropped = true;
        w->typos = 0;
        a->count = 0; /* an empty alternative: every tsquery skips it */
        dropped++;
    }
    return dropped;
}

bool search_plan_has_positive(const search_plan_t *plan)
{
    for (int i = 0; i < plan->nalts; i++)
        if (!plan->alts[i].negated && plan->alts[i].count > 0)
            return true;
    return false;
}

static void put_lexeme(tc_buf_t *out, const char *w, bool prefix)
{
    tc_buf_printf(out, "'%s'%s", w, prefix ? ":*" : "");
}

/* A synonym: one lexeme, or its words adjacent ("new york" -> 'new' <-> 'york'). */
static void put_synonym(tc_buf_t *out, const char *syn)
{
    char word[SEARCH_WORD_MAX + 1];
    bool several = strchr(syn, ' ') != NULL;
    if (several)
        tc_buf_putc(out, '(');
    for (const char *p = syn; *p;) {
        size_t n = strcspn(p, " ");
        if (n > SEARCH_WORD_MAX)
            n = SEARCH_WORD_MAX; /* not so when normalized (search_word_add_synonym) */
        memcpy(word, p, n);
        word[n] = '\0';
        if (p != syn)
            tc_buf_puts(out, " <-> ");
        put_lexeme(out, word, false);
        p += n;
        p += *p == ' ';
    }
    if (several)
        tc_buf_putc(out, ')');
}

/* A word as the MATCH query wants it (itself or as prefix, any typo candidate, any synonym),
 * or as the EXACT part wants it (itself as typed, any synonym). */
static void put_free_word(tc_buf_t *out, const search_word_t *w, bool match)
{
    int ncands = match ? w->ncands : 0;
    bool prefix = match && w->prefix;
    if (ncands == 0 && w->nsyns == 0) {
        put_lexeme(out, w->text, prefix);
        return;
    }
    tc_buf_putc(out, '(');
    put_lexeme(out, w->text, prefix);
    for (int i = 0; i < ncands; i++) {
        tc_buf_puts(out, " | ");
        put_lexeme(out, w->cands[i], false);
    }
    for (int i = 0; i < w->nsyns; i++) {
        tc_buf_puts(out, " | ");
        put_synonym(out, w->syns[i]);
    }
    tc_buf_putc(out, ')');
}

static void put_alt(tc_buf_t *out, const search_plan_t *plan, const search_alt_t *a, bool match)
{
    if (a->negated)
        tc_buf_putc(out, '!');
    if (a->count > 1 || a->negated)
        tc_buf_putc(out, '(');
    for (int i = 0; i < a->count; i++) {
        const search_word_t *w = &plan->words[a->first + i];
        if (i > 0)
            tc_buf_puts(out, " <-> ");
        if (!a->quoted && !a->negated)
            put_free_word(out, w, match);
        else
            put_lexeme(out, w->text, false);
    }
    if (a->count > 1 || a->negated)
        tc_buf_putc(out, ')');
}

static int clause_nonempty(const search_plan_t *plan, const search_clause_t *cl)
{
    int nonempty = 0;
    for (int i = 0; i < cl->count; i++)
        nonempty += plan->alts[cl->first + i].count > 0;
    return nonempty;
}

static void put_clause(tc_buf_t *out, const search_plan_t *plan, const search_clause_t *cl)
{
    int nonempty = clause_nonempty(plan, cl);
    if (nonempty > 1)
        tc_buf_putc(out, '(');
    bool first_alt = true;
    for (int i = 0; i < cl->count; i++) {
        const search_alt_t *a = &plan->alts[cl->first + i];
        if (a->count == 0)
            continue;
        if (!first_alt)
            tc_buf_puts(out, " | ");
        first_alt = false;
        put_alt(out, plan, a, true);
    }
    if (nonempty > 1)
        tc_buf_putc(out, ')');
}

/* The span whose first word is clause c's, or NULL. */
static const search_span_t *span_at_clause(const search_plan_t *plan, int c)
{
    for (int i = 0; i < plan->nspans; i++)
        if (clause_of_word(plan, plan->spans[i].first) == c)
            return &plan->spans[i];
    return NULL;
}

/* A span's words as the query has them (each clause as usual, all of them), or one of its
 * synonyms: ((new & york) | 'nyc'). Returns the clauses it stood for. */
static int put_span(tc_buf_t *out, const search_plan_t *plan, const search_span_t *sp, int c)
{
    tc_buf_puts(out, "((");
    for (int k = 0; k < sp->count; k++) {
        if (k > 0)
            tc_buf_puts(out, " & ");
        put_clause(out, plan, &plan->clauses[c + k]);
    }
    tc_buf_putc(out, ')');
    for (int i = 0; i < sp->nsyns; i++) {
        tc_buf_puts(out, " | ");
        put_synonym(out, sp->syns[i]);
    }
    tc_buf_putc(out, ')');
    return sp->count;
}

static void put_match(const search_plan_t *plan, tc_buf_t *out)
{
    bool first_clause = true;
    for (int c = 0; c < plan->nclauses;) {
        const search_clause_t *cl = &plan->clauses[c];
        if (clause_nonempty(plan, cl) == 0) {
            c++;
            continue;
        }
        if (!first_clause)
            tc_buf_puts(out, " & ");
        first_clause = false;
        const search_span_t *sp = span_at_clause(plan, c);
        if (sp) {
            c += put_span(out, plan, sp, c);
            continue;
        }
        put_clause(out, plan, cl);
        c++;
    }
}

static void put_or(tc_buf_t *out, bool *first)
{
    if (!*first)
        tc_buf_puts(out, " | ");
    *first = false;
}

int search_plan_tsquery(const search_plan_t *plan, search_tsq_kind_t kind, tc_buf_t *out)
{
    tc_buf_reset(out);
    tc_buf_puts(out, "");
    bool first = true;
    int positive_words = 0;
    switch (kind) {
    case SEARCH_TSQ_MATCH:
        put_match(plan, out);
        break;
    case SEARCH_TSQ_EXACT:
        for (int i = 0; i < plan->nalts; i++) {
            const search_alt_t *a = &plan->alts[i];
            if (a->negated || a->count == 0)
                continue;
            put_or(out, &first);
            put_alt(out, plan, a, false);
        }
        for (int i = 0; i < plan->nspans; i++)
            for (int k = 0; k < plan->spans[i].nsyns; k++) {
                put_or(out, &first);
                put_synonym(out, plan->spans[i].syns[k]);
            }
        break;
    case SEARCH_TSQ_PHRASE:
        for (int i = 0; i < plan->nalts; i++)
            if (!plan->alts[i].negated)
                positive_words += plan->alts[i].count;
        if (positive_words < 2)
            break;
        /* the stop words left out still stand between their neighbours in the text: "state of
         * the art" is 'state' <3> 'art' */
        for (int i = 0, gap = 1; i < plan->nalts; i++) {
            const search_alt_t *a = &plan->alts[i];
            if (a->count == 0 && a->first < plan->nwords && plan->words[a->first].dropped)
                gap++;
            for (int j = 0; !a->negated && j < a->count; j++) {
                if (!first && gap == 1)
                    tc_buf_puts(out, " <-> ");
                else if (!first)
                    tc_buf_printf(out, " <%d> ", gap);
                first = false;
                gap = 1;
                put_lexeme(out, plan->words[a->first + j].text, false);
            }
        }
        break;
    case SEARCH_TSQ_PREFIX:
        for (int i = 0; i < plan->nwords; i++) {
            if (!plan->words[i].prefix)
                continue;
            put_or(out, &first);
            put_lexeme(out, plan->words[i].text, true);
        }
        break;
    case SEARCH_TSQ_TYPO:
        for (int i = 0; i < plan->nwords; i++)
            for (int j = 0; j < plan->words[i].ncands; j++) {
                put_or(out, &first);
                put_lexeme(out, plan->words[i].cands[j], false);
            }
        break;
    default:
        return TC_EINVAL;
    }
    return out->oom ? TC_ENOMEM : TC_OK;
}

/* ------------------------------------------------------------------ query parameters */

bool search_type_valid(const char *type)
{
    if (!type || !(*type >= 'a' && *type <= 'z') || strlen(type) > SEARCH_TYPE_MAX)
        return false;
    for (const char *p = type; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return false;
    return true;
}

bool search_id_valid(const char *id)
{
    if (!id || !*id || strlen(id) > 128)
        return false;
    for (const char *p = id; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '.' || *p == ':' || *p == '-'))
            return false;
    return true;
}

static void add_type(search_query_t *sq, tc_jv_t *jv, const char *t, size_t n)
{
    char name[SEARCH_TYPE_MAX + 1];
    if (n == 0)
        return;
    if (n > SEARCH_TYPE_MAX) {
        tc_jv_error(jv, "types", "a type name is at most %d characters", SEARCH_TYPE_MAX);
        return;
    }
    memcpy(name, t, n);
    name[n] = '\0';
    if (!search_type_valid(name)) {
        tc_jv_error(jv, "types", "a type name is lower-case letters, digits and _");
        return;
    }
    for (int i = 0; i < sq->ntypes; i++)
        if (strcmp(sq->types[i], name) == 0)
            return;
    if (sq->ntypes >= SEARCH_MAX_TYPES) {
        tc_jv_error(jv, "types", "at most %d types", SEARCH_MAX_TYPES);
        return;
    }
    snprintf(sq->types[sq->ntypes++], sizeof sq->types[0], "%s", name);
}

void search_query_build(search_query_t *sq, tc_jv_t *jv, const char *q, const char *types_csv,
                        const cJSON *types_json, int limit, int offset, bool debug, bool prefix,
                        bool typo_tolerance)
{
    memset(sq, 0, sizeof *sq);
    sq->limit = limit;
    sq->offset = offset;
    sq->debug = debug;
    sq->highlight = true;
    if (q && search_plan_parse(&sq->plan, q, prefix, typo_tolerance) != TC_OK)
        tc_jv_error(jv, "q", "at most %d bytes of UTF-8 text", SEARCH_Q_MAX);
    else if (q)
        snprintf(sq->q, sizeof sq->q, "%s", q);
    if (types_csv) {
        const char *s = types_csv;
        while (*s) {
            const char *comma = strchr(s, ',');
            size_t n = comma ? (size_t)(comma - s) : strlen(s);
            add_type(sq, jv, s, n);
            s += n + (comma ? 1 : 0);
        }
    }
    if (types_json) {
        if (!cJSON_IsArray(types_json)) {
            tc_jv_error(jv, "types", "must be an array of type names");
            return;
        }
        const cJSON *t;
        cJSON_ArrayForEach(t, types_json)
        {
            if (!cJSON_IsString(t))
                tc_jv_error(jv, "types", "must be an array of type names");
            else
                add_type(sq, jv, t->valuestring, strlen(t->valuestring));
        }
    }
}

void search_query_lang(search_query_t *sq, tc_jv_t *jv, const char *lang,
                       const char *accept_language)
{
    sq->lang[0] = '\0';
    if (!lang) {
        search_lang_from_accept(accept_language, sq->lang, sizeof sq->lang);
        return;
    }
    if (strlen(lang) > SEARCH_LANG_MAX || !tc_lang_tag_valid(lang)) {
        tc_jv_error(jv, "lang", "must be a language tag such as en or pt-BR");
        return;
    }
    if (lang_index_n(lang, strlen(lang)) >= 0) {
        sq->lang[0] = (char)(lang[0] | 0x20);
        sq->lang[1] = (char)(lang[1] | 0x20);
        sq->lang[2] = '\0';
    }
}

bool search_field_name_valid(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > SEARCH_FIELD_NAME_MAX || (name[0] >= '0' && name[0] <= '9'))
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return false;
    }
    return true;
}

/* Adds value (its text) to the filter's values of name; false (jv told) when it cannot. */
static bool filter_add(cJSON *filter, tc_jv_t *jv, const char *name, const char *value)
{
    if (!search_field_name_valid(name)) {
        tc_jv_error(jv, "filter", "a field name is letters, digits and _ (at most %d bytes)",
                    SEARCH_FIELD_NAME_MAX);
        return false;
    }
    if (strlen(value) > SEARCH_FILTER_VALUE_MAX || tc_utf8_validate(value, strlen(value)) < 0) {
        tc_jv_error(jv, "filter", "a value is at most %d bytes of UTF-8 text",
                    SEARCH_FILTER_VALUE_MAX);
        return false;
    }
    cJSON *values = cJSON_GetObjectItemCaseSensitive(filter, name);
    if (!values && cJSON_GetArraySize(filter) >= SEARCH_MAX_FILTERS) {
        tc_jv_error(jv, "filter", "at most %d fields", SEARCH_MAX_FILTERS);
        return false;
    }
    if (!values)
        values = cJSON_AddArrayToObject(filter, name);
    if (values && cJSON_GetArraySize(values) >= SEARCH_FILTER_VALUES) {
        tc_jv_error(jv, "filter", "at most %d values of one field", SEARCH_FILTER_VALUES);
        return false;
    }
    cJSON *v = values ? cJSON_CreateString(value) : NULL;
    if (!v || !cJSON_AddItemToArray(values, v)) {
        cJSON_Delete(v);
        tc_jv_error(jv, "filter", "out of memory");
        return false;
    }
    return true;
}

static bool filter_csv(cJSON *filter, tc_jv_t *jv, const char *csv)
{
    char item[SEARCH_FIELD_NAME_MAX + SEARCH_FILTER_VALUE_MAX + 2];
    for (const char *s = csv; *s;) {
        size_t n = strcspn(s, ",");
        const char *colon = memchr(s, ':', n);
        if (!colon || (s[n] == ',' && !s[n + 1])) {
            tc_jv_error(jv, "filter", "name:value pairs separated by commas");
            return false;
        }
        if (n >= sizeof item) {
            tc_jv_error(jv, "filter", "a name is at most %d bytes, a value %d",
                        SEARCH_FIELD_NAME_MAX, SEARCH_FILTER_VALUE_MAX);
            return false;
        }
        memcpy(item, s, n);
        item[n] = '\0';
        item[colon - s] = '\0';
        if (!filter_add(filter, jv, item, item + (colon - s) + 1))
            return false;
        s += n + (s[n] == ',');
    }
    return true;
}

/* A JSON scalar as the text a document's field compares with (->> in SQL). */
static bool scalar_text(const cJSON *v, char *out, size_t cap)
{
    if (cJSON_IsString(v)) {
        if (strlen(v->valuestring) >= cap)
            return false;
        memcpy(out, v->valuestring, strlen(v->valuestring) + 1);
        return true;
    }
    if (cJSON_IsBool(v)) {
        snprintf(out, cap, "%s", cJSON_IsTrue(v) ? "true" : "false");
        return true;
    }
    /* the range first: converting a double out of long long's range is undefined */
    if (cJSON_IsNumber(v) && v->valuedouble > -9e15 && v->valuedouble < 9e15 &&
        v->valuedouble == (double)(long long)v->valuedouble) {
        snprintf(out, cap, "%lld", (long long)v->valuedouble);
        return true;
    }
    return false; /* fractions: their text is not one to compare by */
}

/* One value of a POST filter; false (jv told) when it is not one. */
static bool filter_add_json(cJSON *filter, tc_jv_t *jv, const char *name, const cJSON *v)
{
    char text[SEARCH_FILTER_VALUE_MAX + 1];
    if (!scalar_text(v, text, sizeof text)) {
        tc_jv_error(jv, "filter", "a value is a string, an integer or a boolean (at most %d bytes)",
                    SEARCH_FILTER_VALUE_MAX);
        return false;
    }
    return filter_add(filter, jv, name, text);
}

static bool filter_json(cJSON *filter, tc_jv_t *jv, const cJSON *json)
{
    if (!cJSON_IsObject(json)) {
        tc_jv_error(jv, "filter", "an object of field names to a value or an array of values");
        return false;
    }
    const cJSON *field, *v;
    cJSON_ArrayForEach(field, json)
    {
        if (!cJSON_IsArray(field)) {
            if (!filter_add_json(filter, jv, field->string, field))
                return false;
            continue;
        }
        if (cJSON_GetArraySize(field) == 0) {
            tc_jv_error(jv, "filter", "every field needs at least one value");
            return false;
        }
        cJSON_ArrayForEach(v, field)
        {
            if (!filter_add_json(filter, jv, field->string, v))
                return false;
        }
    }
    return true;
}

void search_query_filter(search_query_t *sq, tc_jv_t *jv, const char *csv, const cJSON *json)
{
    sq->filter[0] = '\0';
    if ((!csv || !*csv) && !json)
        return;
    cJSON *filter = cJSON_CreateObject();
    if (!filter) {
        tc_jv_error(jv, "filter", "out of memory");
        return;
    }
    bool ok = (!csv || filter_csv(filter, jv, csv)) && (!json || filter_json(filter, jv, json));
    char *text = ok ? cJSON_PrintUnformatted(filter) : NULL;
    if (text && cJSON_GetArraySize(filter) > 0) {
        if (strlen(text) > SEARCH_FILTER_JSON_MAX)
            tc_jv_error(jv, "filter", "at most %d bytes as JSON", SEARCH_FILTER_JSON_MAX);
        else
            memcpy(sq->filter, text, strlen(text) + 1);
    }
    free(text);
    cJSON_Delete(filter);
}

void search_query_sort(search_query_t *sq, tc_jv_t *jv, const char *spec)
{
    sq->sort_by = SEARCH_SORT_RELEVANCE;
    sq->sort_field[0] = '\0';
    sq->sort_desc = false;
    if (!spec || !*spec || strcmp(spec, "relevance") == 0)
        return;
    const char *colon = strchr(spec, ':');
    size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
    const char *dir = colon ? colon + 1 : NULL;
    if (dir && strcmp(dir, "asc") != 0 && strcmp(dir, "desc") != 0)
        goto bad;
    if (n == 10 && strncmp(spec, "updated_at", 10) == 0) {
        sq->sort_by = SEARCH_SORT_UPDATED;
        sq->sort_desc = !dir || strcmp(dir, "desc") == 0;
        return;
    }
    if (n > 7 && n - 7 <= SEARCH_FIELD_NAME_MAX && strncmp(spec, "fields.", 7) == 0) {
        memcpy(sq->sort_field, spec + 7, n - 7);
        sq->sort_field[n - 7] = '\0';
        if (search_field_name_valid(sq->sort_field)) {
            sq->sort_by = SEARCH_SORT_FIELD;
            sq->sort_desc = dir && strcmp(dir, "desc") == 0;
            return;
        }
        sq->sort_field[0] = '\0';
    }
bad:
    tc_jv_error(jv, "sort", "relevance, updated_at or fields.<name>, then :asc or :desc");
}

void search_next_key(int offset, int limit, int returned, char *out, size_t outlen)
{
    int next = offset + returned;
    if (returned < limit || next >= SEARCH_MAX_OFFSET)
        snprintf(out, outlen, "%s", "");
    else
        snprintf(out, outlen, "o%d", next);
}

int search_offset_from_key(const char *key, int *offset)
{
    *offset = 0;
    if (!key || !*key)
        return TC_OK;
    if (key[0] != 'o' || !key[1])
        return TC_EINVAL;
    long v = 0;
    for (const char *p = key + 1; *p; p++) {
        if (*p < '0' || *p > '9' || v > SEARCH_MAX_OFFSET)
            return TC_EINVAL;
        v = v * 10 + (*p - '0');
    }
    if (v > SEARCH_MAX_OFFSET)
        return TC_EINVAL;
    *offset = (int)v;
    return TC_OK;
}

/* ------------------------------------------------------------------ documents */

void search_doc_clear(search_doc_t *d)
{
    free(d->fields_json);
    memset(d, 0, sizeof *d);
}

static void set_time(search_doc_t *d, tc_jv_t *jv, const char *field, const char *s)
{
    int64_t ms = 0;
    if (!s || tc_time_parse(s, &ms) != TC_OK) {
        tc_jv_error(jv, field, "must be an RFC 3339 time");
        return;
    }
    tc_time_format(ms, d->updated_at);
}

void search_doc_from_json(search_doc_t *d, tc_jv_t *jv, const cJSON *data)
{
    memset(d, 0, sizeof *d);
    static const char *const allowed[] = {"org_id",  "type",       "id",     "title",
                                          "body",    "fields",     "locale", "min_role",
                                          "version", "updated_at", NULL};
    static const char *const roles[] = {"viewer", "editor", "admin", "owner", NULL};
    if (!tc_jv_object(jv, data, "body"))
        return;
    tc_jv_no_unknown(jv, data, allowed);
    d->org_id = tc_jv_str(jv, data, "org_id", TC_JV_REQUIRED, 1, 64);
    d->type = tc_jv_str(jv, data, "type", TC_JV_REQUIRED, 1, SEARCH_TYPE_MAX);
    if (d->type && !search_type_valid(d->type))
        tc_jv_error(jv, "type", "lower-case letters, digits and _, starting with a letter");
    d->id = tc_jv_str(jv, data, "id", TC_JV_REQUIRED, 1, 128);
    if (d->id && !search_id_valid(d->id))
        tc_jv_error(jv, "id", "letters, digits and _ . : -");
    d->title = tc_jv_str(jv, data, "title", TC_JV_REQUIRED, 0, SEARCH_TITLE_MAX);
    d->body = tc_jv_str(jv, data, "body", TC_JV_OPTIONAL, 0, SEARCH_BODY_MAX);
    if (!d->body)
        d->body = "";
    d->locale = tc_jv_str(jv, data, "locale", TC_JV_OPTIONAL, 1, 35);
    if (!d->locale)
        d->locale = "simple";
    const char *min_role = tc_jv_enum(jv, data, "min_role", TC_JV_OPTIONAL, roles);
    d->min_role = min_role ? (int)tc_role_parse(min_role) : TC_ROLE_VIEWER;
    d->version = tc_jv_int(jv, data, "version", TC_JV_REQUIRED, 0, 1, INT64_MAX / 2);
    set_time(d, jv, "updated_at", tc_json_get_str(data, "updated_at"));
    const cJSON *fields = tc_jv_obj(jv, data, "fields", TC_JV_OPTIONAL);
    if (fields) {
        d->fields_json = cJSON_PrintUnformatted(fields);
        if (!d->fields_json)
            tc_jv_error(jv, "fields", "could not be read");
        else if (strlen(d->fields_json) > SEARCH_FIELDS_MAX)
            tc_jv_error(jv, "fields", "at most %d bytes as JSON", SEARCH_FIELDS_MAX);
    } else {
        d->fields_json = strdup("{}");
        if (!d->fields_json)
            tc_jv_error(jv, "fields", "could not be read");
    }
}

void search_doc_ref_from_json(search_doc_ref_t *r, tc_jv_t *jv, const cJSON *data)
{
    static const char *const allowed[] = {"org_id", "type", "id", "version", "updated_at", NULL};
    search_doc_t tmp;
    memset(r, 0, sizeof *r);
    memset(&tmp, 0, sizeof tmp);
    if (!tc_jv_object(jv, data, "body"))
        return;
    tc_jv_no_unknown(jv, data, allowed);
    r->org_id = tc_jv_str(jv, data, "org_id", TC_JV_REQUIRED, 1, 64);
    r->type = tc_jv_str(jv, data, "type", TC_JV_REQUIRED, 1, SEARCH_TYPE_MAX);
    if (r->type && !search_type_valid(r->type))
        tc_jv_error(jv, "type", "lower-case letters, digits and _, starting with a letter");
    r->id = tc_jv_str(jv, data, "id", TC_JV_REQUIRED, 1, 128);
    if (r->id && !search_id_valid(r->id))
        tc_jv_error(jv, "id", "letters, digits and _ . : -");
    r->version = tc_jv_int(jv, data, "version", TC_JV_REQUIRED, 0, 1, INT64_MAX / 2);
    set_time(&tmp, jv, "updated_at", tc_json_get_str(data, "updated_at"));
    memcpy(r->updated_at, tmp.updated_at, sizeof r->updated_at);
}

static int change_key_cmp(const search_change_t *a, const search_change_t *b)
{
    int d = strcmp(a->org_id, b->org_id);
    if (d == 0)
        d = strcmp(a->type, b->type);
    return d != 0 ? d : strcmp(a->id, b->id);
}

/* key order, then the change that would stand first (newest version, earliest in the batch) */
static int change_cmp(const void *pa, const void *pb)
{
    const search_change_t *a = pa, *b = pb;
    int d = change_key_cmp(a, b);
    if (d != 0)
        return d;
    if (a->version != b->version)
        return a->version > b->version ? -1 : 1;
    return (a->seq > b->seq) - (a->seq < b->seq);
}

int search_changes_collapse(search_change_t *c, int n)
{
    if (n <= 0)
        return 0;
    qsort(c, (size_t)n, sizeof *c, change_cmp);
    int kept = 1;
    for (int i = 1; i < n; i++)
        if (change_key_cmp(&c[kept - 1], &c[i]) != 0)
            c[kept++] = c[i];
    return kept;
}

static int64_t version_of(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsNumber(v) && v->valuedouble >= 1 ? (int64_t)v->valuedouble : 0;
}

/* The document's order: "version", or for records whose events count every change in
 * another member (workflows, connections), that member. */
static int finish_doc(search_doc_t *d, const cJSON *src, const char *version_key, cJSON *fields)
{
    int64_t ms = 0;
    const char *updated = tc_json_get_str(src, "updated_at");
    d->version = version_of(src, version_key);
    if (!fields)
        return TC_ENOMEM;
    d->fields_json = cJSON_PrintUnformatted(fields);
    cJSON_Delete(fields);
    if (!d->fields_json)
        return TC_ENOMEM;
    if (!d->org_id || !d->id || !d->title || d->version < 1 || !updated ||
        tc_time_parse(updated, &ms) != TC_OK) {
        search_doc_clear(d);
        return TC_EINVAL;
    }
    tc_time_format(ms, d->updated_at);
    return TC_OK;
}

/* The parts every event-fed document has, borrowed from src (which outlives d); body "" when
 * src has none. */
static void doc_head(search_doc_t *d, const cJSON *src, const char *type, const char *id_key,
                     const char *title_key, const char *body_key)
{
    memset(d, 0, sizeof *d);
    d->org_id = tc_json_get_str(src, "org_id");
    d->type = type;
    d->id = tc_json_get_str(src, id_key);
    d->title = tc_json_get_str(src, title_key);
    d->body = tc_json_get_str(src, body_key);
    if (!d->body)
        d->body = "";
    d->locale = "simple";
    d->min_role = TC_ROLE_VIEWER; /* the org's directory, workflows, connections: every member */
}

int search_doc_from_user(search_doc_t *d, const cJSON *user)
{
    doc_head(d, user, "user", "id", "name", "email");
    cJSON *fields = cJSON_CreateObject();
    if (fields && (!tc_json_add_str(fields, "email", tc_json_get_str(user, "email")) ||
                   !tc_json_add_str(fields, "role", tc_json_get_str(user, "role")) ||
                   !tc_json_add_str(fields, "status", tc_json_get_str(user, "status")))) {
        cJSON_Delete(fields);
        fields = NULL;
    }
    return finish_doc(d, user, "version", fields);
}

int search_doc_from_org(search_doc_t *d, const cJSON *org)
{
    memset(d, 0, sizeof *d);
    d->org_id = tc_json_get_str(org, "id");
    d->type = "org";
    d->id = d->org_id;
    d->title = tc_json_get_str(org, "name");
    d->body = "";
    d->locale = "simple";
    cJSON *fields = cJSON_CreateObject();
    if (fields && !tc_json_add_str(fields, "plan", tc_json_get_str(org, "plan"))) {
        cJSON_Delete(fields);
        fields = NULL;
    }
    return finish_doc(d, org, "version", fields);
}

int search_doc_from_workflow(search_doc_t *d, const cJSON *wf)
{
    doc_head(d, wf, "workflow", "workflow_id", "name", "description");
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(wf, "version");
    const cJSON *states = cJSON_GetObjectItemCaseSensitive(wf, "states");
    cJSON *fields = cJSON_CreateObject();
    if (fields && ((cJSON_IsNumber(version) &&
                    !cJSON_AddNumberToObject(fields, "version", version->valuedouble)) ||
                   (cJSON_IsNumber(states) &&
                    !cJSON_AddNumberToObject(fields, "states", states->valuedouble)))) {
        cJSON_Delete(fields);
        fields = NULL;
    }
    /* "version" is the definition's; the document's order is the revision */
    return finish_doc(d, wf, "revision", fields);
}

int search_doc_from_connection(search_doc_t *d, const cJSON *conn)
{
    doc_head(d, conn, "connection", "connection_id", "name", "connector");
    if (!*d->body)
        return TC_EINVAL;
    cJSON *fields = cJSON_CreateObject();
    if (fields && (!tc_json_add_str(fields, "connector", d->body) ||
                   !tc_json_add_str(fields, "status", tc_json_get_str(conn, "status")))) {
        cJSON_Delete(fields);
        fields = NULL;
    }
    return finish_doc(d, conn, "revision", fields);
}

bool search_user_gone(const cJSON *user)
{
    const char *status = tc_json_get_str(user, "status");
    return status && strcmp(status, "deleted") == 0;
}

/* ------------------------------------------------------------------ results */

double search_score(double exact, double phrase, double prefix, double typo)
{
    return SEARCH_W_EXACT * exact + SEARCH_W_PHRASE * phrase + SEARCH_W_PREFIX * prefix +
           SEARCH_W_TYPO * typo;
}

int search_highlight_html(tc_buf_t *out, const char *text)
{
    const size_t mark_len = sizeof SEARCH_MARK_OPEN - 1;
    bool open = false;
    const char *seg = text;
    for (const char *p = text; *p;) {
        bool opens = strncmp(p, SEARCH_MARK_OPEN, mark_len) == 0;
        bool closes = !opens && strncmp(p, SEARCH_MARK_CLOSE, mark_len) == 0;
        if (!opens && !closes) {
            p++;
            continue;
        }
        tc_buf_html_escape(out, seg, (size_t)(p - seg));
        if (opens && !open)
            tc_buf_puts(out, "<mark>");
        else if (closes && open)
            tc_buf_puts(out, "</mark>");
        if ((opens && !open) || (closes && open))
            open = !open;
        p += mark_len;
        seg = p;
    }
    tc_buf_html_escape(out, seg, strlen(seg));
    if (open)
        tc_buf_puts(out, "</mark>");
    return out->oom ? TC_ENOMEM : TC_OK;
}
