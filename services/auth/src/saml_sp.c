/*
 * saml_sp.c: SAML 2.0 messages through Lasso (saml_sp.h). A Lasso server is built per call
 * from the connection's two metadata documents: it costs a parse of two small documents, and
 * keeps no state between the requests of a multi-threaded service.
 *
 * The assertion's signature is checked here explicitly on the very node the facts are read
 * from (lasso_provider_verify_single_node_signature: an enveloped signature whose reference is
 * that node's ID, with the provider's key), on top of whatever Lasso checked while processing
 * the response; and a response must carry exactly one assertion. Together they refuse the
 * signature-wrapping forms where a signed assertion sits beside or inside an unsigned one.
 */
#include "saml_sp.h"

#include "tc/tc_buf.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"
#include "tc/tc_time.h"

#include <glib.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <lasso/lasso.h>
#include <lasso/xml/misc_text_node.h>
#include <lasso/xml/saml-2.0/saml2_assertion.h>
#include <lasso/xml/saml-2.0/saml2_attribute.h>
#include <lasso/xml/saml-2.0/saml2_attribute_statement.h>
#include <lasso/xml/saml-2.0/saml2_attribute_value.h>
#include <lasso/xml/saml-2.0/saml2_audience_restriction.h>
#include <lasso/xml/saml-2.0/saml2_conditions.h>
#include <lasso/xml/saml-2.0/saml2_name_id.h>
#include <lasso/xml/saml-2.0/saml2_subject.h>
#include <lasso/xml/saml-2.0/saml2_subject_confirmation.h>
#include <lasso/xml/saml-2.0/saml2_subject_confirmation_data.h>
#include <lasso/xml/saml-2.0/samlp2_authn_request.h>
#include <lasso/xml/saml-2.0/samlp2_name_id_policy.h>
#include <lasso/xml/saml-2.0/samlp2_response.h>
#include <lasso/xml/saml-2.0/samlp2_status.h>
#include <lasso/xml/saml-2.0/samlp2_status_code.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Lasso and xmlsec keep process-wide state (Lasso's class registry, xmlsec's key loading) that
 * their documentation does not promise is safe across threads. SAML logins are rare next to
 * everything else auth does, so they take turns. */
static pthread_mutex_t lasso_lock = PTHREAD_MUTEX_INITIALIZER;

/* Lasso speaks through GLib's log: its warnings are about messages we refuse anyway, so they
 * are debug lines here, not noise on stderr. */
static void lasso_log_to_tc(const gchar *domain, GLogLevelFlags level, const gchar *msg,
                            gpointer ud)
{
    (void)domain;
    (void)ud;
    tc_log_kv((level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL)) ? TC_LOG_WARN : TC_LOG_DEBUG,
              "lasso", "message", msg ? msg : "", NULL);
}

int saml_sp_init(void)
{
    if (lasso_init() != 0)
        return TC_ERROR;
    g_log_set_handler("Lasso", G_LOG_LEVEL_MASK | G_LOG_FLAG_FATAL | G_LOG_FLAG_RECURSION,
                      lasso_log_to_tc, NULL);
    return TC_OK;
}

void saml_sp_shutdown(void)
{
    lasso_shutdown();
}

static void xml_escape(tc_buf_t *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            tc_buf_append(b, "&amp;", 5);
            break;
        case '<':
            tc_buf_append(b, "&lt;", 4);
            break;
        case '>':
            tc_buf_append(b, "&gt;", 4);
            break;
        case '"':
            tc_buf_append(b, "&quot;", 6);
            break;
        default:
            tc_buf_append(b, s, 1);
        }
    }
}

char *saml_sp_metadata(const saml_sp_t *sp)
{
    tc_buf_t b = TC_BUF_INIT;
    tc_buf_printf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                      "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" "
                      "entityID=\"");
    xml_escape(&b, sp->entity_id);
    tc_buf_printf(&b, "\">\n  <md:SPSSODescriptor AuthnRequestsSigned=\"false\" "
                      "WantAssertionsSigned=\"true\" "
                      "protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">\n"
                      "    <md:NameIDFormat>" LASSO_SAML2_NAME_IDENTIFIER_FORMAT_EMAIL
                      "</md:NameIDFormat>\n"
                      "    <md:NameIDFormat>" LASSO_SAML2_NAME_IDENTIFIER_FORMAT_PERSISTENT
                      "</md:NameIDFormat>\n"
                      "    <md:AssertionConsumerService "
                      "Binding=\"" LASSO_SAML2_METADATA_BINDING_POST "\" Location=\"");
    xml_escape(&b, sp->acs_url);
    tc_buf_printf(&b, "\" index=\"0\" isDefault=\"true\"/>\n"
                      "  </md:SPSSODescriptor>\n</md:EntityDescriptor>\n");
    return tc_buf_detach(&b);
}

/* A server of our metadata with the provider added: NULL when either does not parse. */
static LassoServer *server_for(const saml_sp_t *sp, const char *idp_metadata, char **idp_id)
{
    char *md = saml_sp_metadata(sp);
    LassoServer *server = md ? lasso_server_new_from_buffers(md, NULL, NULL, NULL) : NULL;
    free(md);
    LassoProvider *idp =
        server ? lasso_provider_new_from_buffer(LASSO_PROVIDER_ROLE_IDP, idp_metadata, NULL, NULL)
               : NULL;
    if (!idp || !idp->ProviderID || lasso_server_add_provider2(server, idp) != 0) {
        if (idp)
            g_object_unref(idp);
        if (server)
            lasso_server_destroy(server);
        return NULL;
    }
    *idp_id = idp->ProviderID; /* lives as long as the server, which holds the provider now */
    g_object_unref(idp);
    return server;
}

/* The provider's metadata names a certificate to verify its signatures with. Lasso keeps the
 * key it loaded private, so the document is asked directly. */
static bool has_signing_certificate(const char *metadata)
{
    static const xmlChar xpath[] =
        "//md:IDPSSODescriptor/md:KeyDescriptor[not(@use) or @use='signing']"
        "/ds:KeyInfo/ds:X509Data/ds:X509Certificate";
    bool found = false;
    xmlDocPtr doc =
        xmlReadMemory(metadata, (int)strlen(metadata), "idp.xml", NULL, XML_PARSE_NONET);
    xmlXPathContextPtr ctx = doc ? xmlXPathNewContext(doc) : NULL;
    if (ctx &&
        xmlXPathRegisterNs(ctx, BAD_CAST "md", BAD_CAST "urn:oasis:names:tc:SAML:2.0:metadata") ==
            0 &&
        xmlXPathRegisterNs(ctx, BAD_CAST "ds", BAD_CAST "http://www.w3.org/2000/09/xmldsig#") ==
            0) {
        xmlXPathObjectPtr r = xmlXPathEvalExpression(xpath, ctx);
        found = r && r->nodesetval && r->nodesetval->nodeNr > 0;
        xmlXPathFreeObject(r);
    }
    xmlXPathFreeContext(ctx);
    xmlFreeDoc(doc);
    return found;
}

static const char *idp_read_locked(const char *metadata, char **entity_id)
{
    *entity_id = NULL;
    LassoProvider *idp =
        lasso_provider_new_from_buffer(LASSO_PROVIDER_ROLE_IDP, metadata, NULL, NULL);
    if (!idp || !idp->ProviderID || !idp->ProviderID[0]) {
        if (idp)
            g_object_unref(idp);
        return "is not the SAML 2.0 metadata of an identity provider";
    }
    const char *why = NULL;
    char *sso = lasso_provider_get_metadata_one(idp, "SingleSignOnService HTTP-Redirect");
    if (!sso)
        why = "names no single sign-on service with the HTTP-Redirect binding";
    else if (!has_signing_certificate(metadata))
        why = "names no signing certificate (IDPSSODescriptor KeyDescriptor with an "
              "X509Certificate)";
    else if (!(*entity_id = strdup(idp->ProviderID)))
        why = "out of memory";
    g_free(sso);
    g_object_unref(idp);
    return why;
}

static int authn_request_locked(const saml_sp_t *sp, const char *idp_metadata,
                                const char *relay_state, char **url, char request_id[SAML_ID_MAX])
{
    char *idp_id = NULL;
    *url = NULL;
    request_id[0] = '\0';
    LassoServer *server = server_for(sp, idp_metadata, &idp_id);
    if (!server)
        return TC_EINVAL;
    int rc = TC_EINVAL, lrc = 0;
    LassoLogin *login = lasso_login_new(server);
    if (!login)
        goto cleanup;
    /* requests go unsigned (our metadata says AuthnRequestsSigned="false"): the SP holds no
     * key, and what a request asks for is checked again in the signed answer */
    lasso_profile_set_signature_hint(LASSO_PROFILE(login), LASSO_PROFILE_SIGNATURE_HINT_FORBID);
    if ((lrc = lasso_login_init_authn_request(login, idp_id, LASSO_HTTP_METHOD_REDIRECT)) != 0)
        goto cleanup;
    LassoProfile *profile = LASSO_PROFILE(login);
    LassoSamlp2AuthnRequest *req = LASSO_SAMLP2_AUTHN_REQUEST(profile->request);
    /* answer by POST to our one consumer service, naming whoever signed in however the
     * provider knows them (the email comes from the assertion either way) */
    g_free(req->ProtocolBinding);
    req->ProtocolBinding = g_strdup(LASSO_SAML2_METADATA_BINDING_POST);
    g_free(req->AssertionConsumerServiceURL);
    req->AssertionConsumerServiceURL = g_strdup(sp->acs_url);
    req->AssertionConsumerServiceIndex = -1;
    if (req->NameIDPolicy) {
        g_free(req->NameIDPolicy->Format);
        req->NameIDPolicy->Format = g_strdup(LASSO_SAML2_NAME_IDENTIFIER_FORMAT_UNSPECIFIED);
        req->NameIDPolicy->AllowCreate = TRUE;
    }
    g_free(profile->msg_relayState);
    profile->msg_relayState = g_strdup(relay_state);
    if ((lrc = lasso_login_build_authn_request_msg(login)) != 0 || !profile->msg_url)
        goto cleanup;
    const char *id = LASSO_SAMLP2_REQUEST_ABSTRACT(profile->request)->ID;
    if (!id || strlen(id) >= SAML_ID_MAX)
        goto cleanup;
    snprintf(request_id, SAML_ID_MAX, "%s", id);
    rc = (*url = strdup(profile->msg_url)) ? TC_OK : TC_ENOMEM;
cleanup:
    if (lrc)
        tc_log_kv(TC_LOG_WARN, "saml authn request failed", "error", lasso_strerror(lrc), NULL);
    if (login)
        lasso_login_destroy(login);
    lasso_server_destroy(server);
    return rc;
}

/* ------------------------------------------------------------------ reading a response */

static void copy(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
}

static int64_t epoch_s(const char *t)
{
    int64_t ms = 0;
    return t && tc_time_parse(t, &ms) == TC_OK ? ms / 1000 : 0;
}

/* The text of an attribute value (a text node of the value element). */
static const char *value_text(LassoNode *v)
{
    if (!LASSO_IS_SAML2_ATTRIBUTE_VALUE(v))
        return NULL;
    GList *any = LASSO_SAML2_ATTRIBUTE_VALUE(v)->any;
    if (any && LASSO_IS_MISC_TEXT_NODE(any->data))
        return LASSO_MISC_TEXT_NODE(any->data)->content;
    return NULL;
}

static void read_attribute(LassoSaml2Attribute *a, saml_facts_t *f)
{
    for (GList *v = a->AttributeValue; v; v = v->next) {
        const char *text = value_text(v->data);
        if (!text || !text[0])
            continue;
        if (saml_is_email_attribute(a->Name) && !f->email[0])
            copy(f->email, sizeof f->email, text);
        else if (saml_is_name_attribute(a->Name) && !f->name[0])
            copy(f->name, sizeof f->name, text);
        else if (saml_is_groups_attribute(a->Name) && f->n_groups < SAML_GROUPS_MAX &&
                 strlen(text) < SAML_GROUP_MAX)
            copy(f->groups[f->n_groups++], SAML_GROUP_MAX, text);
    }
}

static void read_conditions(LassoSaml2Conditions *c, saml_facts_t *f)
{
    if (!c)
        return;
    f->not_before = epoch_s(c->NotBefore);
    f->not_on_or_after = epoch_s(c->NotOnOrAfter);
    for (GList *r = c->AudienceRestriction; r; r = r->next) {
        if (!LASSO_IS_SAML2_AUDIENCE_RESTRICTION(r->data))
            continue;
        f->audience_restricted = true;
        const char *aud = LASSO_SAML2_AUDIENCE_RESTRICTION(r->data)->Audience;
        if (aud && f->n_audiences < SAML_AUDIENCES_MAX)
            copy(f->audiences[f->n_audiences++], SAML_URL_MAX, aud);
    }
}

static void read_subject(LassoSaml2Subject *s, saml_facts_t *f)
{
    if (!s)
        return;
    if (s->NameID) {
        copy(f->name_id, sizeof f->name_id, s->NameID->content);
        copy(f->name_id_format, sizeof f->name_id_format, s->NameID->Format);
    }
    LassoSaml2SubjectConfirmation *sc = s->SubjectConfirmation;
    if (!sc || !sc->Method || strcmp(sc->Method, LASSO_SAML2_CONFIRMATION_METHOD_BEARER) != 0)
        return;
    f->bearer = true;
    LassoSaml2SubjectConfirmationData *d = sc->SubjectConfirmationData;
    if (!d)
        return;
    copy(f->recipient, sizeof f->recipient, d->Recipient);
    copy(f->in_response_to, sizeof f->in_response_to, d->InResponseTo);
    f->confirm_not_on_or_after = epoch_s(d->NotOnOrAfter);
}

static void read_assertion(LassoSaml2Assertion *a, saml_facts_t *f)
{
    copy(f->assertion_id, sizeof f->assertion_id, a->ID);
    if (a->Issuer)
        copy(f->issuer, sizeof f->issuer, a->Issuer->content);
    read_subject(a->Subject, f);
    read_conditions(a->Conditions, f);
    for (GList *st = a->AttributeStatement; st; st = st->next) {
        if (!LASSO_IS_SAML2_ATTRIBUTE_STATEMENT(st->data))
            continue;
        for (GList *at = LASSO_SAML2_ATTRIBUTE_STATEMENT(st->data)->Attribute; at; at = at->next)
            if (LASSO_IS_SAML2_ATTRIBUTE(at->data))
                read_attribute(at->data, f);
    }
}

static void read_envelope(LassoSamlp2Response *r, saml_facts_t *f)
{
    LassoSamlp2StatusResponse *sr = LASSO_SAMLP2_STATUS_RESPONSE(r);
    const char *code = sr->Status && sr->Status->StatusCode ? sr->Status->StatusCode->Value : NULL;
    f->success = code && strcmp(code, LASSO_SAML2_STATUS_CODE_SUCCESS) == 0;
    f->assertions = (int)(g_list_length(r->Assertion) + g_list_length(r->EncryptedAssertion));
    copy(f->destination, sizeof f->destination, sr->Destination);
    copy(f->response_in_response_to, sizeof f->response_in_response_to, sr->InResponseTo);
    if (sr->Issuer)
        copy(f->response_issuer, sizeof f->response_issuer, sr->Issuer->content);
}

static int response_read_locked(const saml_sp_t *sp, const char *idp_metadata,
                                const char *response_b64, saml_facts_t *f, const char **why)
{
    char *idp_id = NULL;
    memset(f, 0, sizeof *f);
    *why = NULL;
    LassoServer *server = server_for(sp, idp_metadata, &idp_id);
    if (!server) {
        *why = "connection_unusable";
        return TC_OK;
    }
    LassoLogin *login = lasso_login_new(server);
    if (!login) {
        lasso_server_destroy(server);
        return TC_ENOMEM;
    }
    LassoProfile *profile = LASSO_PROFILE(login);
    /* Lasso checks a signed response; the assertion's own signature, which the platform
     * requires whether or not the response is signed, is checked below on the very node read
     * (FORCE would demand a signed response, which most providers do not send) */
    lasso_profile_set_signature_verify_hint(profile, LASSO_PROFILE_SIGNATURE_VERIFY_HINT_MAYBE);
    int lrc = lasso_login_process_authn_response_msg(login, (gchar *)response_b64);
    LassoSamlp2Response *r = LASSO_IS_SAMLP2_RESPONSE(profile->response)
                                 ? LASSO_SAMLP2_RESPONSE(profile->response)
                                 : NULL;
    if (r)
        read_envelope(r, f);
    LassoProvider *idp = lasso_server_get_provider(server, idp_id);
    LassoNode *first = r && r->Assertion ? r->Assertion->data : NULL;
    if (!r) {
        *why = "malformed";
    } else if (!f->success) {
        *why = "idp_error";
    } else if (f->assertions != 1 || !LASSO_IS_SAML2_ASSERTION(first)) {
        *why = "assertion_count";
    } else if (lrc != 0 && lrc != LASSO_PROFILE_ERROR_STATUS_NOT_SUCCESS) {
        tc_log_kv(TC_LOG_INFO, "saml response refused by lasso", "error", lasso_strerror(lrc),
                  NULL);
        *why = lrc == LASSO_SERVER_ERROR_PROVIDER_NOT_FOUND ||
                       lrc == LASSO_PROFILE_ERROR_MISSING_ISSUER
                   ? "unknown_issuer"
                   : "signature_invalid";
    } else if (!idp || lasso_provider_verify_single_node_signature(idp, first, "ID") != 0) {
        *why = "signature_invalid";
    } else {
        read_assertion(LASSO_SAML2_ASSERTION(first), f);
    }
    lasso_login_destroy(login);
    lasso_server_destroy(server);
    return TC_OK;
}

/* ------------------------------------------------------------------ one at a time */

const char *saml_idp_read(const char *metadata, char **entity_id)
{
    pthread_mutex_lock(&lasso_lock);
    const char *why = idp_read_locked(metadata, entity_id);
    pthread_mutex_unlock(&lasso_lock);
    return why;
}

int saml_authn_request(const saml_sp_t *sp, const char *idp_metadata, const char *relay_state,
                       char **url, char request_id[SAML_ID_MAX])
{
    pthread_mutex_lock(&lasso_lock);
    int rc = authn_request_locked(sp, idp_metadata, relay_state, url, request_id);
    pthread_mutex_unlock(&lasso_lock);
    return rc;
}

int saml_response_read(const saml_sp_t *sp, const char *idp_metadata, const char *response_b64,
                       saml_facts_t *f, const char **why)
{
    pthread_mutex_lock(&lasso_lock);
    int rc = response_read_locked(sp, idp_metadata, response_b64, f, why);
    pthread_mutex_unlock(&lasso_lock);
    return rc;
}
