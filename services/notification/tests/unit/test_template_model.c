/* template_model.c: the logic-less template language (variables, escaping, sections,
 * inverted sections, dotted names, bounds, syntax errors). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "template_model.h"
#include "tc/tc_core.h"

static char *render(const char *tpl, const char *json, bool html)
{
    cJSON *ctx = cJSON_Parse(json);
    cr_assert_not_null(ctx, "bad test JSON: %s", json);
    char *out = NULL;
    const char *why = NULL;
    int rc = tpl_render(tpl, ctx, html, 4096, &out, &why);
    cJSON_Delete(ctx);
    cr_assert_eq(rc, TC_OK, "render %s: %s", tpl, why ? why : "?");
    return out;
}

static void expect(const char *tpl, const char *json, bool html, const char *want)
{
    char *got = render(tpl, json, html);
    cr_expect_str_eq(got, want, "template %s", tpl);
    free(got);
}

static void expect_error(const char *tpl, const char *json)
{
    cJSON *ctx = cJSON_Parse(json);
    char *out = NULL;
    const char *why = NULL;
    cr_expect_eq(tpl_render(tpl, ctx, true, 4096, &out, &why), TC_EINVAL, "template %s", tpl);
    cr_expect_null(out);
    cr_expect_not_null(why);
    cr_expect_eq(tpl_check(tpl, &why), TC_EINVAL, "check %s", tpl);
    cJSON_Delete(ctx);
}

Test(template, plain_text_passes_through)
{
    expect("no tags at all", "{}", true, "no tags at all");
    expect("", "{}", true, "");
    expect("a { b } c {x}", "{}", true, "a { b } c {x}");
}

Test(template, variables_are_html_escaped_in_html)
{
    expect("<p>{{name}}</p>", "{\"name\":\"<b>Tom & 'Jerry'\\\"=`</b>\"}", true,
           "<p>&lt;b&gt;Tom &amp; &#39;Jerry&#39;&quot;&#x3D;&#x60;&lt;/b&gt;</p>");
}

Test(template, variables_are_not_escaped_in_text)
{
    expect("Hi {{name}}", "{\"name\":\"<b>Tom & Jerry</b>\"}", false, "Hi <b>Tom & Jerry</b>");
}

Test(template, triple_and_ampersand_are_raw)
{
    expect("{{{url}}}|{{& url}}", "{\"url\":\"https://x.test/?a=1&b=2\"}", true,
           "https://x.test/?a=1&b=2|https://x.test/?a=1&b=2");
}

Test(template, whitespace_inside_tags)
{
    expect("{{ name }}-{{{ name }}}-{{#  on  }}y{{/ on }}", "{\"name\":\"n\",\"on\":true}", true,
           "n-n-y");
}

Test(template, missing_and_null_render_empty)
{
    expect("[{{nope}}][{{n}}][{{a.b.c}}]", "{\"n\":null,\"a\":{}}", true, "[][][]");
}

Test(template, numbers_and_booleans)
{
    expect("{{i}} {{f}} {{t}} {{fa}} {{big}}",
           "{\"i\":42,\"f\":1.5,\"t\":true,\"fa\":false,\"big\":-7}", true, "42 1.5 true false -7");
}

Test(template, objects_and_lists_render_empty)
{
    expect("[{{o}}][{{l}}]", "{\"o\":{\"a\":1},\"l\":[1,2]}", true, "[][]");
}

Test(template, dotted_names)
{
    expect("{{user.name.first}} {{user.age}}",
           "{\"user\":{\"name\":{\"first\":\"Ada\"},\"age\":36}}", true, "Ada 36");
    /* a dotted name does not fall back to outer frames once the first part matched */
    expect("{{#a}}{{b.c}}{{/a}}", "{\"a\":{\"b\":{}},\"b\":{\"c\":\"outer\"}}", true, "");
}

Test(template, sections_on_truthy_values)
{
    expect("{{#on}}yes{{/on}}{{#off}}no{{/off}}", "{\"on\":true,\"off\":false}", true, "yes");
    expect("{{#s}}[{{.}}]{{/s}}", "{\"s\":\"text\"}", true, "[text]");
    expect("{{#e}}x{{/e}}", "{\"e\":\"\"}", true, "");
    expect("{{#missing}}x{{/missing}}", "{}", true, "");
    expect("{{#n}}x{{/n}}", "{\"n\":null}", true, "");
    expect("{{#z}}{{.}}{{/z}}", "{\"z\":0}", true, "0");
}

Test(template, sections_push_objects)
{
    expect("{{#org}}{{name}} ({{plan}}) by {{owner}}{{/org}}",
           "{\"org\":{\"name\":\"Acme\",\"plan\":\"pro\"},\"owner\":\"Ada\"}", true,
           "Acme (pro) by Ada");
}

Test(template, sections_iterate_lists)
{
    expect("{{#items}}<li>{{name}}</li>{{/items}}",
           "{\"items\":[{\"name\":\"a\"},{\"name\":\"<b>\"}]}", true,
           "<li>a</li><li>&lt;b&gt;</li>");
    expect("{{#l}}{{.}},{{/l}}", "{\"l\":[1,\"two\",true]}", true, "1,two,true,");
    expect("{{#l}}x{{/l}}", "{\"l\":[]}", true, "");
}

Test(template, nested_sections_with_the_same_name)
{
    expect("{{#a}}{{#a}}{{v}}{{/a}}{{/a}}", "{\"a\":{\"a\":{\"v\":\"deep\"}}}", true, "deep");
    /* inner names climb the context stack: the list is found again from each element */
    expect("{{#l}}{{#l}}.{{/l}}{{/l}}", "{\"l\":[1,2]}", true, "....");
}

Test(template, inverted_sections)
{
    expect("{{^name}}anonymous{{/name}}{{name}}", "{}", true, "anonymous");
    expect("{{^name}}anonymous{{/name}}{{name}}", "{\"name\":\"Ada\"}", true, "Ada");
    expect("{{^l}}empty{{/l}}", "{\"l\":[]}", true, "empty");
    expect("{{^f}}off{{/f}}", "{\"f\":false}", true, "off");
}

Test(template, comments_render_nothing)
{
    expect("a{{! a comment with {{ braces }}b", "{}", true, "ab");
    expect("a{{!note}}b", "{}", true, "ab");
}

Test(template, injected_tags_in_values_are_not_rendered)
{
    expect("{{v}}", "{\"v\":\"{{secret}}\",\"secret\":\"s\"}", false, "{{secret}}");
}

Test(template, syntax_errors)
{
    expect_error("{{#a}}unclosed", "{\"a\":true}");
    expect_error("{{#a}}x{{/b}}", "{\"a\":true}");
    expect_error("stray {{/a}}", "{}");
    expect_error("{{unclosed", "{}");
    expect_error("{{> partial}}", "{}");
    expect_error("{{=<% %>=}}", "{}");
    expect_error("{{}}", "{}");
    expect_error("{{a..b}}", "{}");
    expect_error("{{bad name}}", "{}");
    expect_error("{{{raw}}", "{}");
}

Test(template, check_accepts_good_templates)
{
    const char *why = NULL;
    cr_expect_eq(tpl_check("{{#a}}{{^b}}{{c.d}}{{{e}}}{{/b}}{{/a}}{{! x }}", &why), TC_OK);
    cr_expect_eq(tpl_check("plain", &why), TC_OK);
    cr_expect_eq(tpl_check(NULL, &why), TC_EINVAL);
}

Test(template, nesting_is_bounded)
{
    char tpl[2048] = "";
    for (int i = 0; i < TPL_MAX_DEPTH + 1; i++)
        strcat(tpl, "{{#a}}");
    for (int i = 0; i < TPL_MAX_DEPTH + 1; i++)
        strcat(tpl, "{{/a}}");
    const char *why = NULL;
    cr_expect_eq(tpl_check(tpl, &why), TC_EINVAL);
    cJSON *ctx = cJSON_Parse("{\"a\":true}");
    char *out = NULL;
    cr_expect_eq(tpl_render(tpl, ctx, false, 4096, &out, &why), TC_EINVAL);
    cJSON_Delete(ctx);
}

Test(template, output_is_bounded)
{
    cJSON *ctx = cJSON_Parse("{\"l\":[1,2,3,4,5,6,7,8,9,10],\"v\":\"0123456789\"}");
    char *out = NULL;
    const char *why = NULL;
    cr_expect_eq(tpl_render("{{#l}}{{#l}}{{v}}{{/l}}{{/l}}", ctx, false, 999, &out, &why),
                 TC_EINVAL);
    cr_expect_null(out);
    cr_expect_str_eq(why, "rendered output too large");
    cr_expect_eq(tpl_render("{{#l}}{{#l}}{{v}}{{/l}}{{/l}}", ctx, false, 1000, &out, &why), TC_OK);
    cr_expect_eq(strlen(out), 1000);
    free(out);
    /* escaping counts against the bound too */
    cJSON_Delete(ctx);
    ctx = cJSON_Parse("{\"v\":\"<<<<<<<<<<\"}");
    cr_expect_eq(tpl_render("{{v}}", ctx, true, 20, &out, &why), TC_EINVAL);
    cJSON_Delete(ctx);
}

Test(template, work_is_bounded_even_without_output)
{
    /* lists in lists with nothing printed: bounded by evaluation steps, not by output */
    cJSON *ctx = cJSON_CreateObject();
    cJSON *l = cJSON_AddArrayToObject(ctx, "l");
    for (int i = 0; i < 200; i++)
        cJSON_AddItemToArray(l, cJSON_CreateNumber(i));
    char *out = NULL;
    const char *why = NULL;
    cr_expect_eq(
        tpl_render("{{#l}}{{#l}}{{#l}}{{n}}{{/l}}{{/l}}{{/l}}", ctx, false, 4096, &out, &why),
        TC_EINVAL);
    cr_expect_str_eq(why, "template too expensive to render");
    cJSON_Delete(ctx);
}

Test(template, null_context_renders_text)
{
    char *out = NULL;
    const char *why = NULL;
    cr_assert_eq(tpl_render("a{{b}}c", NULL, true, 100, &out, &why), TC_OK);
    cr_expect_str_eq(out, "ac");
    free(out);
}
