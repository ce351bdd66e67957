/*
 * tc-protogen: the C side of the contracts in proto/, generated at build time so that a name
 * the contracts do not define is a compile error rather than an event nobody can read.
 *
 *   tc-protogen TOPICS.json EVENTS_DIR SCOPES.json OUT.h OUT.c
 *
 * From the topic catalog (proto/topics.json) it emits one tc_event_type_t per CloudEvents
 * type a topic lists (type, topic, source collection) and a TC_EV_<DOMAIN>_<EVENT> macro for
 * each: "com.techcorp.user.created" on user-events with source "/users/{id}" becomes
 * TC_EV_USER_CREATED (a source of "/{collection}/{id}" leaves the collection to each event).
 * Every listed type must have its data schema EVENTS_DIR/<type>.json, and
 * every schema there must be listed by exactly one topic.
 *
 * From the scope vocabulary (proto/scopes.json) it emits the list of API-key scopes and a
 * TC_SCOPE_<NAME> macro for each ("users:read" becomes TC_SCOPE_USERS_READ, its string), and
 * the reserved scopes no key may hold.
 */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TYPE_PREFIX "com.techcorp."
#define MAX_TYPES   512

typedef struct {
    char type[128];
    char topic[64];
    char collection[64];
} ev_t;

static ev_t g_types[MAX_TYPES];
static int g_ntypes;

#define MAX_SCOPES 256
typedef struct {
    char name[64];
    int reserved;
} scope_t;
static scope_t g_scopes[MAX_SCOPES];
static int g_nscopes;

static int fail(const char *what, const char *detail)
{
    fprintf(stderr, "protogen: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    return 1;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *text = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        if (n >= 0 && fseek(f, 0, SEEK_SET) == 0 && (text = malloc((size_t)n + 1))) {
            if (fread(text, 1, (size_t)n, f) != (size_t)n) {
                free(text);
                text = NULL;
            } else {
                text[n] = '\0';
            }
        }
    }
    fclose(f);
    return text;
}

/* "/users/{id}" -> "users"; "/{collection}/{id}" (chosen per event) -> ""; nothing else. */
static int collection_of(const char *source, char *out, size_t outlen)
{
    if (strcmp(source, "/{collection}/{id}") == 0) {
        out[0] = '\0';
        return 0;
    }
    size_t n = strlen(source);
    const char *tail = "/{id}";
    size_t tl = strlen(tail);
    if (n <= tl + 1 || source[0] != '/' || strcmp(source + n - tl, tail) != 0)
        return -1;
    size_t cl = n - tl - 1;
    if (cl >= outlen)
        return -1;
    for (size_t i = 1; i <= cl; i++)
        if (!(islower((unsigned char)source[i]) || source[i] == '-'))
            return -1;
    memcpy(out, source + 1, cl);
    out[cl] = '\0';
    return 0;
}

static int type_ok(const char *type)
{
    size_t p = strlen(TYPE_PREFIX);
    if (strncmp(type, TYPE_PREFIX, p) != 0 || strlen(type) >= sizeof g_types[0].type)
        return 0;
    int dots = 0;
    for (const char *c = type + p; *c; c++) {
        if (*c == '.')
            dots++;
        else if (!(islower((unsigned char)*c) || isdigit((unsigned char)*c) || *c == '_'))
            return 0;
    }
    return dots >= 1 && type[p] != '.' && type[strlen(type) - 1] != '.';
}

static int schema_exists(const char *dir, const char *type)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.json", dir, type);
    FILE *f = fopen(path, "rb");
    if (f)
        fclose(f);
    return f != NULL;
}

static int load_catalog(const char *path, const char *events_dir)
{
    char *text = read_file(path);
    if (!text)
        return fail("cannot read", path);
    cJSON *root = cJSON_Parse(text);
    free(text);
    const cJSON *topics = root ? cJSON_GetObjectItemCaseSensitive(root, "topics") : NULL;
    if (!cJSON_IsArray(topics)) {
        cJSON_Delete(root);
        return fail("no \"topics\" array in", path);
    }
    int rc = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, topics)
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(t, "name");
        const cJSON *events = cJSON_GetObjectItemCaseSensitive(t, "events");
        if (!cJSON_IsString(name) || strlen(name->valuestring) >= sizeof g_types[0].topic) {
            rc = fail("a topic without a usable name in", path);
            break;
        }
        if (!events)
            continue;
        const cJSON *e;
        cJSON_ArrayForEach(e, events)
        {
            const cJSON *source = cJSON_GetObjectItemCaseSensitive(e, "source");
            ev_t *ev = &g_types[g_ntypes];
            if (g_ntypes == MAX_TYPES)
                rc = fail("too many event types", NULL);
            else if (!type_ok(e->string))
                rc = fail("not a com.techcorp.<domain>.<event> type", e->string);
            else if (!cJSON_IsString(source) ||
                     collection_of(source->valuestring, ev->collection, sizeof ev->collection))
                rc = fail("\"source\" must be \"/<collection>/{id}\" for", e->string);
            else if (!schema_exists(events_dir, e->string))
                rc = fail("no data schema in proto/events/ for", e->string);
            if (rc)
                break;
            for (int i = 0; i < g_ntypes; i++)
                if (strcmp(g_types[i].type, e->string) == 0)
                    rc = fail("listed by two topics", e->string);
            if (rc)
                break;
            snprintf(ev->type, sizeof ev->type, "%s", e->string);
            snprintf(ev->topic, sizeof ev->topic, "%s", name->valuestring);
            g_ntypes++;
        }
        if (rc)
            break;
    }
    cJSON_Delete(root);
    return rc;
}

/* Every schema file must be catalogued (shared fragments live in subdirectories). */
static int check_schemas_listed(const char *events_dir)
{
    DIR *d = opendir(events_dir);
    if (!d)
        return fail("cannot open", events_dir);
    int rc = 0;
    struct dirent *de;
    while (!rc && (de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (n < 6 || strcmp(de->d_name + n - 5, ".json") != 0)
            continue;
        int found = 0;
        for (int i = 0; i < g_ntypes && !found; i++)
            found = strlen(g_types[i].type) == n - 5 &&
                    strncmp(g_types[i].type, de->d_name, n - 5) == 0;
        if (!found)
            rc = fail("schema not listed by any topic in proto/topics.json", de->d_name);
    }
    closedir(d);
    return rc;
}

/* "users:read", "ml:infer": lower-case resource, a colon, a lower-case action. */
static int scope_name_ok(const char *name)
{
    const char *colon = strchr(name, ':');
    if (!colon || colon == name || !colon[1] || strchr(colon + 1, ':') ||
        strlen(name) >= sizeof g_scopes[0].name)
        return 0;
    for (const char *c = name; *c; c++)
        if (!(islower((unsigned char)*c) || isdigit((unsigned char)*c) || *c == '_' || *c == ':'))
            return 0;
    return 1;
}

static int add_scopes(const cJSON *obj, int reserved, const char *path)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, obj)
    {
        int named_ok = reserved ? it->string && *it->string && strlen(it->string) < 64
                                : scope_name_ok(it->string);
        if (!named_ok)
            return fail("not a scope name (\"<resource>:<action>\") in", path);
        if (g_nscopes == MAX_SCOPES)
            return fail("too many scopes in", path);
        for (int i = 0; i < g_nscopes; i++)
            if (strcmp(g_scopes[i].name, it->string) == 0)
                return fail("scope listed twice", it->string);
        snprintf(g_scopes[g_nscopes].name, sizeof g_scopes[0].name, "%s", it->string);
        g_scopes[g_nscopes++].reserved = reserved;
    }
    return 0;
}

static int load_scopes(const char *path)
{
    char *text = read_file(path);
    if (!text)
        return fail("cannot read", path);
    cJSON *root = cJSON_Parse(text);
    free(text);
    const cJSON *scopes = root ? cJSON_GetObjectItemCaseSensitive(root, "scopes") : NULL;
    const cJSON *reserved = root ? cJSON_GetObjectItemCaseSensitive(root, "reserved") : NULL;
    int rc = 0;
    if (!cJSON_IsObject(scopes) || (reserved && !cJSON_IsObject(reserved)))
        rc = fail("\"scopes\" (and \"reserved\") must be objects in", path);
    if (!rc)
        rc = add_scopes(scopes, 0, path);
    if (!rc && reserved)
        rc = add_scopes(reserved, 1, path);
    cJSON_Delete(root);
    return rc;
}

static void scope_macro(const char *name, char *out, size_t outlen)
{
    size_t o = (size_t)snprintf(out, outlen, "TC_SCOPE_");
    for (const char *c = name; *c && o + 1 < outlen; c++)
        out[o++] = *c == ':' ? '_' : (char)toupper((unsigned char)*c);
    out[o] = '\0';
}

static void macro_name(const char *type, char *out, size_t outlen)
{
    size_t o = 0;
    o += (size_t)snprintf(out, outlen, "TC_EV_");
    for (const char *c = type + strlen(TYPE_PREFIX); *c && o + 1 < outlen; c++)
        out[o++] = *c == '.' ? '_' : (char)toupper((unsigned char)*c);
    out[o] = '\0';
}

static int write_header(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return fail("cannot write", path);
    fputs("/* Generated by tools/protogen from proto/topics.json: do not edit. */\n"
          "#ifndef TC_PROTO_H\n#define TC_PROTO_H\n\n#include \"tc/tc_events.h\"\n\n"
          "extern const tc_event_type_t tc_event_types[];\n",
          f);
    fprintf(f, "#define TC_EVENT_TYPES_COUNT %d\n\n", g_ntypes);
    for (int i = 0; i < g_ntypes; i++) {
        char m[160];
        macro_name(g_types[i].type, m, sizeof m);
        fprintf(f, "#define %s (&tc_event_types[%d]) /* %s on %s */\n", m, i, g_types[i].type,
                g_types[i].topic);
    }
    fputs("\n/* API-key scopes (proto/scopes.json): the vocabulary, then the reserved ones. */\n"
          "extern const char *const tc_scopes[];\n",
          f);
    int nkeys = 0;
    for (int i = 0; i < g_nscopes; i++)
        nkeys += !g_scopes[i].reserved;
    fprintf(f, "#define TC_SCOPES_COUNT %d\n#define TC_SCOPES_ALL_COUNT %d\n", nkeys, g_nscopes);
    for (int i = 0; i < g_nscopes; i++) {
        char m[160];
        scope_macro(g_scopes[i].name, m, sizeof m);
        fprintf(f, "#define %s \"%s\"%s\n", m, g_scopes[i].name,
                g_scopes[i].reserved ? " /* reserved */" : "");
    }
    fputs("\n#endif\n", f);
    return fclose(f) == 0 ? 0 : fail("cannot write", path);
}

static int write_source(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return fail("cannot write", path);
    fputs("/* Generated by tools/protogen from proto/topics.json: do not edit. */\n"
          "#include \"tc/tc_proto.h\"\n\nconst tc_event_type_t tc_event_types[] = {\n",
          f);
    for (int i = 0; i < g_ntypes; i++) {
        if (g_types[i].collection[0])
            fprintf(f, "    {\"%s\", \"%s\", \"%s\"},\n", g_types[i].type, g_types[i].topic,
                    g_types[i].collection);
        else
            fprintf(f, "    {\"%s\", \"%s\", 0},\n", g_types[i].type, g_types[i].topic);
    }
    fputs("    {0, 0, 0},\n};\n\nconst char *const tc_scopes[] = {\n", f);
    for (int i = 0; i < g_nscopes; i++)
        fprintf(f, "    \"%s\",\n", g_scopes[i].name);
    fputs("    0,\n};\n", f);
    return fclose(f) == 0 ? 0 : fail("cannot write", path);
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: tc-protogen TOPICS.json EVENTS_DIR SCOPES.json OUT.h OUT.c\n");
        return 2;
    }
    if (load_catalog(argv[1], argv[2]) || check_schemas_listed(argv[2]) || load_scopes(argv[3]) ||
        write_header(argv[4]) || write_source(argv[5])) {
        remove(argv[4]);
        remove(argv[5]);
        return 1;
    }
    return 0;
}
