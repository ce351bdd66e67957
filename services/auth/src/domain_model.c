/* Email domains and their proof of ownership (domain_model.h). */
#include "domain_model.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static bool ldh(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

bool domain_normalize(const char *in, char out[DOMAIN_MAX])
{
    size_t len = in ? strlen(in) : 0;
    if (len == 0 || len >= DOMAIN_MAX)
        return false;
    int labels = 0;
    size_t label = 0;
    for (size_t i = 0; i <= len; i++) {
        char c = (char)tolower((unsigned char)in[i]);
        if (c == '.' || c == '\0') {
            /* a label: 1..63 characters, no hyphen at either end */
            if (label == 0 || label > 63 || out[i - 1] == '-' || out[i - label] == '-')
                return false;
            labels++;
            label = 0;
            out[i] = c;
            continue;
        }
        if (!ldh(c))
            return false;
        out[i] = c;
        label++;
    }
    return labels >= 2;
}

bool domain_of_email(const char *email, char out[DOMAIN_MAX])
{
    const char *at = email ? strrchr(email, '@') : NULL;
    return at && at != email && domain_normalize(at + 1, out);
}

bool domain_record_name(const char *domain, char *out, size_t size)
{
    int n = snprintf(out, size, "%s.%s", DOMAIN_RECORD_NAME, domain);
    return n > 0 && (size_t)n < size;
}

bool domain_txt_matches(char *const *records, int n, const char *expected)
{
    size_t want = strlen(expected);
    for (int i = 0; i < n; i++) {
        const char *r = records[i];
        while (*r == ' ')
            r++;
        size_t len = strlen(r);
        while (len && r[len - 1] == ' ')
            len--;
        if (len == want && memcmp(r, expected, want) == 0)
            return true;
    }
    return false;
}
