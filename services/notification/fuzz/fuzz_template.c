/* libFuzzer driver: the template language (template_model.c) on any template and any data,
 * and the MIME builder (email_model.c) on what it renders. Input: template, a NUL byte, then
 * the JSON context. Invariants: nothing crashes or leaks, output stays within its bound,
 * a template tpl_check accepts never fails to render for a syntax reason, and a built message
 * never carries a header line the builder did not write. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "email_model.h"
#include "template_model.h"
#include "tc/tc_core.h"

#define MAX_OUT 4096

static void check_headers(const char *msg)
{
    static const char *const ours[] = {
        "Date:",         "From:",           "To:",           "Subject:", "Message-ID:",
        "MIME-Version:", "Auto-Submitted:", "Content-Type:", " ",        NULL};
    const char *end = strstr(msg, "\r\n\r\n");
    for (const char *line = msg; end && line < end;) {
        int known = 0;
        for (int i = 0; ours[i]; i++)
            known |= strncmp(line, ours[i], strlen(ours[i])) == 0;
        if (!known)
            abort();
        const char *nl = strstr(line, "\r\n");
        if (!nl)
            abort();
        line = nl + 2;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    const char *tpl = buf;
    size_t tlen = strlen(buf);
    cJSON *ctx = tlen < size ? cJSON_ParseWithLength(buf + tlen + 1, size - tlen - 1) : NULL;
    const char *why = NULL;
    bool syntax_ok = tpl_check(tpl, &why) == TC_OK;
    for (int html = 0; html < 2; html++) {
        char *out = NULL;
        int rc = tpl_render(tpl, ctx, html, MAX_OUT, &out, &why);
        if (rc == TC_OK) {
            if (!out || strlen(out) > MAX_OUT)
                abort();
            if (html) {
                email_msg_t m = {.from_email = "a@b.c",
                                 .to_email = "d@e.f",
                                 .to_name = out,
                                 .subject = out,
                                 .text = out,
                                 .html = out,
                                 .message_id = "<dlv_x@techcorp.test>",
                                 .date_ms = 0};
                char *msg = NULL;
                size_t len = 0;
                if (email_build(&m, &msg, &len, &why) == TC_OK)
                    check_headers(msg);
                free(msg);
            }
            free(out);
        } else if (syntax_ok && rc == TC_EINVAL && strcmp(why, "rendered output too large") != 0 &&
                   strcmp(why, "template too expensive to render") != 0 &&
                   strcmp(why, "sections nested too deeply") != 0) {
            abort(); /* a template the check accepted failed to render for its syntax */
        }
    }
    cJSON_Delete(ctx);
    free(buf);
    return 0;
}
