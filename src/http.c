/* SPDX-License-Identifier: ISC */
/*
 * Bounded outgoing HTTP with libcurl; see pns_http.h.
 *
 * libcurl is loaded with dlopen on the first request, not linked: with
 * it come gnutls, krb5, ldap, ssh2, nettle and more, about 30 libraries
 * that every lti.cgi process would map, relocate and initialise and
 * every notices.fcgi process would keep resident, though most requests
 * never go out (a key set is fetched once and cached).  <curl/curl.h>
 * still gives the types and constants; the functions are called through
 * the table below, filled once under pthread_once so that threads may
 * race to the first request.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "pns_http.h"
#include "banned.h"

/* The soname of Debian's libcurl4 (the ABI <curl/curl.h> describes). */
#define CURL_SONAME	"libcurl.so.4"

static struct curlfn {
	CURLcode	 (*global_init)(long);
	CURL		*(*easy_init)(void);
	CURLcode	 (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode	 (*easy_perform)(CURL *);
	CURLcode	 (*easy_getinfo)(CURL *, CURLINFO, ...);
	void		 (*easy_cleanup)(CURL *);
	const char	*(*easy_strerror)(CURLcode);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void		 (*slist_free_all)(struct curl_slist *);
} fn;

static const struct {
	const char	*name;
	size_t		 off;
} syms[] = {
	{ "curl_global_init", offsetof(struct curlfn, global_init) },
	{ "curl_easy_init", offsetof(struct curlfn, easy_init) },
	{ "curl_easy_setopt", offsetof(struct curlfn, easy_setopt) },
	{ "curl_easy_perform", offsetof(struct curlfn, easy_perform) },
	{ "curl_easy_getinfo", offsetof(struct curlfn, easy_getinfo) },
	{ "curl_easy_cleanup", offsetof(struct curlfn, easy_cleanup) },
	{ "curl_easy_strerror", offsetof(struct curlfn, easy_strerror) },
	{ "curl_slist_append", offsetof(struct curlfn, slist_append) },
	{ "curl_slist_free_all", offsetof(struct curlfn, slist_free_all) },
};

static pthread_once_t	 load_once = PTHREAD_ONCE_INIT;
/* Set by load() alone, read after pthread_once: empty when loaded. */
static char		 load_error[256];

_Static_assert(sizeof(void *) == sizeof(fn.easy_init),
    "a dlsym result must fit a function pointer");

static void
load(void)
{
	void		*h = NULL, *p;
	const char	*e;
	size_t		 i;

	/* RTLD_LOCAL: curl's dependencies stay out of the global scope. */
	if ((h = dlopen(CURL_SONAME, RTLD_NOW | RTLD_LOCAL)) == NULL)
		goto fail;
	for (i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		if ((p = dlsym(h, syms[i].name)) == NULL)
			goto fail;
		/* POSIX makes a dlsym result usable as a function pointer;
		 * memcpy says so without a cast ISO C leaves undefined. */
		memcpy((char *)&fn + syms[i].off, &p, sizeof(p));
	}
	/* Not thread-safe in every libcurl: it runs here, once. */
	if (fn.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		(void)snprintf(load_error, sizeof(load_error),
		    "curl_global_init failed");
	/* The handle is never closed: the table points into it. */
	return;
fail:
	e = dlerror();
	(void)snprintf(load_error, sizeof(load_error),
	    "cannot load libcurl: %s", e != NULL ? e : "unknown error");
	if (h != NULL)
		(void)dlclose(h);
}

struct sink {
	struct pns_buf	*body;
	struct pns_err	*err;
	int		 over;
};

static size_t
on_data(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct sink	*s = arg;
	size_t		 n = size * nmemb;

	/* No buffer: the caller only wants the status. */
	if (s->body == NULL)
		return n;
	/* Returning short makes curl abort the transfer at once. */
	if (pns_buf_add(s->body, ptr, n, NULL) == -1) {
		s->over = 1;
		return 0;
	}
	return n;
}

int
pns_http_global_init(struct pns_err *err)
{
	if (pthread_once(&load_once, load) != 0)
		return pns_err_set(err, PNS_ENET,
		    "cannot load libcurl: pthread_once failed");
	if (load_error[0] != '\0')
		return pns_err_set(err, PNS_ENET, "%s", load_error);
	return 0;
}

int
pns_http_request(struct pns_http_call *call, struct pns_buf *resp,
    struct pns_err *err)
{
	CURL			*c;
	CURLcode		 rc;
	struct curl_slist	*hdrs = NULL, *h;
	struct sink		 s = { resp, err, 0 };
	char			 line[4096];
	int			 n, ret = -1, ok = 1;

	call->status = 0;
	if (pns_http_global_init(err) == -1)
		return -1;
	if ((c = fn.easy_init()) == NULL)
		return pns_err_set(err, PNS_ENOMEM, "curl_easy_init failed");
	if (call->bearer != NULL) {
		n = snprintf(line, sizeof(line), "Authorization: Bearer %s",
		    call->bearer);
		ok = n > 0 && (size_t)n < sizeof(line);
		if (ok && (h = fn.slist_append(hdrs, line)) != NULL)
			hdrs = h;
		else
			ok = 0;
	}
	if (ok && call->content_type != NULL) {
		n = snprintf(line, sizeof(line), "Content-Type: %s",
		    call->content_type);
		ok = n > 0 && (size_t)n < sizeof(line);
		if (ok && (h = fn.slist_append(hdrs, line)) != NULL)
			hdrs = h;
		else
			ok = 0;
	}
	if (ok && (h = fn.slist_append(hdrs, "Accept: application/json")) != NULL)
		hdrs = h;
	else
		ok = 0;
	for (n = 0; ok && call->headers != NULL && call->headers[n] != NULL;
	    n++) {
		/* A header line must stay one line. */
		if (strpbrk(call->headers[n], "\r\n") != NULL ||
		    (h = fn.slist_append(hdrs, call->headers[n])) == NULL)
			ok = 0;
		else
			hdrs = h;
	}
	/* Redirects are not followed: a POST or PUT must not be replayed
	 * elsewhere with the bearer token. */
	if (!ok ||
	    fn.easy_setopt(c, CURLOPT_URL, call->url) != CURLE_OK ||
	    fn.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
	    fn.easy_setopt(c, CURLOPT_CUSTOMREQUEST, call->method) != CURLE_OK ||
	    fn.easy_setopt(c, CURLOPT_HTTPHEADER, hdrs) != CURLE_OK ||
	    fn.easy_setopt(c, CURLOPT_TIMEOUT, call->timeout) != CURLE_OK ||
	    fn.easy_setopt(c, CURLOPT_CONNECTTIMEOUT, call->timeout) != CURLE_OK ||
	    fn.easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    fn.easy_setopt(c, CURLOPT_USERAGENT, "pns/1") != CURLE_OK ||
	    fn.easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data) != CURLE_OK ||
	    fn.easy_setopt(c, CURLOPT_WRITEDATA, &s) != CURLE_OK ||
	    (call->body != NULL &&
	    (fn.easy_setopt(c, CURLOPT_POSTFIELDS, call->body) != CURLE_OK ||
	    fn.easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)call->body_len) != CURLE_OK))) {
		pns_err_set(err, PNS_ENET, "curl_easy_setopt failed");
		goto out;
	}
	rc = fn.easy_perform(c);
	if (s.over) {
		pns_err_set(err, PNS_ELIMIT, "answer larger than %zu bytes",
		    resp->max);
		goto out;
	}
	if (rc != CURLE_OK) {
		pns_err_set(err, PNS_ENET, "%s", fn.easy_strerror(rc));
		goto out;
	}
	(void)fn.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &call->status);
	ret = 0;
out:
	fn.slist_free_all(hdrs);
	fn.easy_cleanup(c);
	return ret;
}

int
pns_http_get(const char *url, long timeout, struct pns_buf *body,
    struct pns_err *err)
{
	CURL		*c;
	CURLcode	 rc;
	struct sink	 s = { body, err, 0 };
	long		 status = 0;
	int		 ret = -1;

	if (pns_http_global_init(err) == -1)
		return -1;
	if ((c = fn.easy_init()) == NULL)
		return pns_err_set(err, PNS_ENOMEM, "curl_easy_init failed");
	if (fn.easy_setopt(c, CURLOPT_URL, url) != CURLE_OK ||
	    fn.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
	    fn.easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") != CURLE_OK ||
	    fn.easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L) != CURLE_OK ||
	    fn.easy_setopt(c, CURLOPT_MAXREDIRS, 3L) != CURLE_OK ||
	    fn.easy_setopt(c, CURLOPT_TIMEOUT, timeout) != CURLE_OK ||
	    fn.easy_setopt(c, CURLOPT_CONNECTTIMEOUT, timeout) != CURLE_OK ||
	    fn.easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    fn.easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)body->max) != CURLE_OK ||
	    fn.easy_setopt(c, CURLOPT_USERAGENT, "pns/1") != CURLE_OK ||
	    fn.easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data) != CURLE_OK ||
	    fn.easy_setopt(c, CURLOPT_WRITEDATA, &s) != CURLE_OK) {
		pns_err_set(err, PNS_ENET, "curl_easy_setopt failed");
		goto out;
	}
	rc = fn.easy_perform(c);
	if (s.over || rc == CURLE_FILESIZE_EXCEEDED) {
		pns_err_set(err, PNS_ELIMIT, "answer larger than %zu bytes",
		    body->max);
		goto out;
	}
	if (rc != CURLE_OK) {
		pns_err_set(err, PNS_ENET, "%s", fn.easy_strerror(rc));
		goto out;
	}
	(void)fn.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		pns_err_set(err, PNS_ENET, "HTTP status %ld", status);
		goto out;
	}
	ret = 0;
out:
	fn.easy_cleanup(c);
	return ret;
}
