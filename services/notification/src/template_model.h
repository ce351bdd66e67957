/*
 * template_model.h: a safe, logic-less template language (a subset of Mustache) for the
 * notification service's subjects and bodies. Pure: no I/O, no clock.
 *
 *   {{name}}        the value of name, HTML-escaped when rendering an HTML body
 *   {{{name}}}      the value unescaped ({{& name}} is the same)
 *   {{a.b.c}}       dotted names: a is looked up through the context stack, then b, then c
 *   {{.}}           the current context value
 *   {{#name}}…{{/name}}   section: skipped when name is missing, null, false, "" or an empty
 *                   list; repeated for each element of a list; rendered once with an object
 *                   (or other truthy value) pushed as the context
 *   {{^name}}…{{/name}}   inverted section: rendered only when the section would be skipped
 *   {{! comment }}  nothing
 *
 * Missing names render as nothing. Partials ({{> x}}) and delimiter changes ({{=<% %>=}}) are
 * refused, as are unbalanced sections. Strings render as is, integers without a fraction,
 * true and false as "true" and "false"; objects and lists as nothing. Output is bounded (max_out
 * bytes) and section nesting too (TPL_MAX_DEPTH), so no template and no data can make rendering
 * unbounded.
 */
#ifndef NOTIFICATION_TEMPLATE_MODEL_H
#define NOTIFICATION_TEMPLATE_MODEL_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#define TPL_MAX_DEPTH 16

/* Checks a template's syntax. TC_OK, or TC_EINVAL with a static *why. */
int tpl_check(const char *tpl, const char **why);

/*
 * Renders tpl against ctx (any JSON value; usually an object). html: escape {{var}} for an
 * HTML body. On TC_OK *out is a malloc'd NUL-terminated string. TC_EINVAL with *why for a
 * syntax error or output longer than max_out bytes; TC_ENOMEM.
 */
int tpl_render(const char *tpl, const cJSON *ctx, bool html, size_t max_out, char **out,
               const char **why);

#endif
