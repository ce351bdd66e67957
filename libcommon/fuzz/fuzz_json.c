/* libFuzzer driver: JSON body validation (tc_json), UTF-8 and email checks, RFC 3339. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tc/tc_json.h"
#include "tc/tc_time.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const roles[] = {"viewer", "editor", "admin", "owner", NULL};
    static const char *const allowed[] = {"email", "name", "role", "age", "flag", "profile", NULL};
    (void)tc_utf8_validate((const char *)data, size);
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    (void)tc_email_valid(text);
    int64_t ms;
    if (tc_time_parse(text, &ms) == 0) {
        char back[TC_RFC3339_LEN];
        tc_time_format(ms, back); /* any parsed time formats without overflow */
    }
    cJSON *body = cJSON_ParseWithLength(text, size);
    if (body) {
        tc_jv_t jv;
        tc_jv_init(&jv);
        tc_jv_object(&jv, body, "body");
        tc_jv_no_unknown(&jv, body, allowed);
        const char *s = tc_jv_str(&jv, body, "name", TC_JV_REQUIRED, 1, 200);
        if (s && tc_utf8_validate(s, strlen(s)) < 0)
            abort(); /* the validator handed back text it should have refused */
        tc_jv_email(&jv, body, "email", TC_JV_OPTIONAL);
        tc_jv_enum(&jv, body, "role", TC_JV_NULLABLE, roles);
        int64_t age = tc_jv_int(&jv, body, "age", TC_JV_OPTIONAL, 7, 0, 150);
        if (age < 0 || age > 150)
            abort();
        tc_jv_bool(&jv, body, "flag", TC_JV_OPTIONAL, 0);
        tc_jv_obj(&jv, body, "profile", TC_JV_OPTIONAL);
        cJSON *errors = tc_jv_take_errors(&jv);
        if ((errors == NULL) != (jv.count == 0) && !jv.oom)
            abort(); /* one detail per counted error */
        cJSON_Delete(errors);
        tc_jv_free(&jv);
        cJSON_Delete(body);
    }
    free(text);
    return 0;
}
