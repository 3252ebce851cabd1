/* SPDX-License-Identifier: ISC */
/* Bounded outgoing HTTP with libcurl; see pns_http.h. */
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "pns_http.h"
#include "banned.h"

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
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return pns_err_set(err, PNS_ENET, "curl_global_init failed");
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
	if ((c = curl_easy_init()) == NULL)
		return pns_err_set(err, PNS_ENOMEM, "curl_easy_init failed");
	if (call->bearer != NULL) {
		n = snprintf(line, sizeof(line), "Authorization: Bearer %s",
		    call->bearer);
		ok = n > 0 && (size_t)n < sizeof(line);
		if (ok && (h = curl_slist_append(hdrs, line)) != NULL)
			hdrs = h;
		else
			ok = 0;
	}
	if (ok && call->content_type != NULL) {
		n = snprintf(line, sizeof(line), "Content-Type: %s",
		    call->content_type);
		ok = n > 0 && (size_t)n < sizeof(line);
		if (ok && (h = curl_slist_append(hdrs, line)) != NULL)
			hdrs = h;
		else
			ok = 0;
	}
	if (ok && (h = curl_slist_append(hdrs, "Accept: application/json")) != NULL)
		hdrs = h;
	else
		ok = 0;
	for (n = 0; ok && call->headers != NULL && call->headers[n] != NULL;
	    n++) {
		/* A header line must stay one line. */
		if (strpbrk(call->headers[n], "\r\n") != NULL ||
		    (h = curl_slist_append(hdrs, call->headers[n])) == NULL)
			ok = 0;
		else
			hdrs = h;
	}
	/* Redirects are not followed: a POST or PUT must not be replayed
	 * elsewhere with the bearer token. */
	if (!ok ||
	    curl_easy_setopt(c, CURLOPT_URL, call->url) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, call->method) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_TIMEOUT, call->timeout) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, call->timeout) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_USERAGENT, "pns/1") != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s) != CURLE_OK ||
	    (call->body != NULL &&
	    (curl_easy_setopt(c, CURLOPT_POSTFIELDS, call->body) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)call->body_len) != CURLE_OK))) {
		pns_err_set(err, PNS_ENET, "curl_easy_setopt failed");
		goto out;
	}
	rc = curl_easy_perform(c);
	if (s.over) {
		pns_err_set(err, PNS_ELIMIT, "answer larger than %zu bytes",
		    resp->max);
		goto out;
	}
	if (rc != CURLE_OK) {
		pns_err_set(err, PNS_ENET, "%s", curl_easy_strerror(rc));
		goto out;
	}
	(void)curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &call->status);
	ret = 0;
out:
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
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

	if ((c = curl_easy_init()) == NULL)
		return pns_err_set(err, PNS_ENOMEM, "curl_easy_init failed");
	if (curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 3L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, timeout) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)body->max) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_USERAGENT, "pns/1") != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s) != CURLE_OK) {
		pns_err_set(err, PNS_ENET, "curl_easy_setopt failed");
		goto out;
	}
	rc = curl_easy_perform(c);
	if (s.over || rc == CURLE_FILESIZE_EXCEEDED) {
		pns_err_set(err, PNS_ELIMIT, "answer larger than %zu bytes",
		    body->max);
		goto out;
	}
	if (rc != CURLE_OK) {
		pns_err_set(err, PNS_ENET, "%s", curl_easy_strerror(rc));
		goto out;
	}
	(void)curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		pns_err_set(err, PNS_ENET, "HTTP status %ld", status);
		goto out;
	}
	ret = 0;
out:
	curl_easy_cleanup(c);
	return ret;
}
