/*
 * hub_schema.h: the subset of JSON Schema that connector definitions use to describe a
 * connection's settings and credentials and an action's input (proto/connectors/README.md):
 * type, properties, required, additionalProperties (boolean), items, enum, minLength,
 * maxLength, minimum, maximum, minItems, maxItems, format "uri", and annotations. A schema
 * with any other keyword is refused when the catalog loads, so no definition relies on a rule
 * the hub would silently skip.
 */
#ifndef HUB_SCHEMA_H
#define HUB_SCHEMA_H

#include "tc/tc_json.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/* Is schema one the subset can enforce? false with the reason (and its JSON path under at) in
 * err. */
bool hub_schema_usable(const cJSON *schema, const char *at, char *err, size_t errlen);

/* Checks value against schema; every violation goes into jv under a field named from prefix
 * ("settings" → "settings.base_url", "input.labels[2]"). Strings' lengths count code points. */
void hub_schema_check(tc_jv_t *jv, const cJSON *schema, const cJSON *value, const char *prefix);

/* Is a property named by the schema's "properties" (so a definition's field reference can be
 * checked when the catalog loads)? */
const cJSON *hub_schema_property(const cJSON *schema, const char *name);
/* Is the property listed in "required"? */
bool hub_schema_required(const cJSON *schema, const char *name);

/* format "uri": an absolute http or https URL with a host, no spaces or control characters. */
bool hub_schema_url_valid(const char *s);

#endif
