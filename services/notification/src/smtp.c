/* SMTP through libcurl (smtp.h). */
#include "smtp.h"
#include "tc/tc_core.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct smtp_client {
    CURL *curl;
    smtp_opts_t o;
    char url[300];
};

typedef struct {
    const char *p;
    size_t left;
} reader_t;

static size_t read_cb(char *buf, size_t size, size_t nmemb, void *ud)
{
    reader_t *r = ud;
    size_t n = size * nmemb;
    if (n > r->left)
        n = r->left;
    memcpy(buf, r->p, n);
    r->p += n;
    r->left -= n;
    return n;
}

static void base_url(const smtp_opts_t *o, char *out, size_t len)
{
    snprintf(out, len, "smtp://%s:%d", o->host, o->port);
}

static void apply_common(CURL *h, const smtp_opts_t *o, const char *url)
{
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)o->connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)o->timeout_ms);
    if (o->tls)
        curl_easy_setopt(h, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
    if (o->username) {
        curl_easy_setopt(h, CURLOPT_USERNAME, o->username);
        if (o->password)
            curl_easy_setopt(h, CURLOPT_PASSWORD, o->password);
    }
}

smtp_client_t *smtp_client_new(const smtp_opts_t *opts)
{
    smtp_client_t *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->o = *opts;
    base_url(opts, c->url, sizeof c->url);
    c->curl = curl_easy_init();
    if (!c->curl) {
        free(c);
        return NULL;
    }
    return c;
}

void smtp_client_free(smtp_client_t *c)
{
    if (!c)
        return;
    curl_easy_cleanup(c->curl);
    free(c);
}

int smtp_send(smtp_client_t *c, const char *from, const char *to, const char *msg, size_t len,
              smtp_result_t *res)
{
    memset(res, 0, sizeof *res);
    char from_env[300];
    snprintf(from_env, sizeof from_env, "<%s>", from);
    struct curl_slist *rcpt = curl_slist_append(NULL, to);
    if (!rcpt) {
        snprintf(res->detail, sizeof res->detail, "out of memory");
        return TC_ENOMEM;
    }
    reader_t r = {msg, len};
    CURL *h = c->curl;
    curl_easy_reset(h); /* keeps the open connection */
    apply_common(h, &c->o, c->url);
    curl_easy_setopt(h, CURLOPT_MAIL_FROM, from_env);
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(h, CURLOPT_READDATA, &r);
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
    char err[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, err);
    CURLcode cc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &res->code);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
    curl_slist_free_all(rcpt);
    if (cc == CURLE_OK) {
        res->transport_ok = true;
        if (res->code == 0)
            res->code = 250;
        return res->code >= 200 && res->code < 300 ? TC_OK : TC_ERROR;
    }
    /* a reply the relay gave (4xx / 5xx to MAIL, RCPT or DATA) ends the exchange cleanly;
     * anything else is the transport */
    res->transport_ok = res->code >= 400;
    /* the relay may still hold the failed transaction: never reuse that connection */
    CURL *fresh = curl_easy_init();
    if (fresh) {
        curl_easy_cleanup(c->curl);
        c->curl = fresh;
    }
    snprintf(res->detail, sizeof res->detail, "%.150s", err[0] ? err : curl_easy_strerror(cc));
    return TC_ERROR;
}
