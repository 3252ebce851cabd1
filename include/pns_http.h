/* SPDX-License-Identifier: ISC */
/*
 * Outgoing HTTP through libcurl, loaded on first use, with the limits
 * every fetch of a platform document needs: http and https only, a
 * whole-exchange timeout, at most three redirects, and a size cap
 * enforced while the body streams in (not after).
 */
#ifndef PNS_HTTP_H
#define PNS_HTTP_H

#include "pns_err.h"
#include "pns_util.h"

/*
 * Loads libcurl (dlopen of libcurl.so.4) and initialises it, once per
 * process; later calls only report how that went.  Thread-safe.  The
 * requests below call it themselves, so a program need not: calling it
 * early only brings a missing libcurl to light before the first request
 * and costs the loading even when no request is made.  Fails with
 * PNS_ENET ("cannot load libcurl: ...").
 */
int	pns_http_global_init(struct pns_err *err);

/*
 * GETs url into body (whose max is the size cap) and requires a 200
 * answer.  timeout is in seconds.
 */
int	pns_http_get(const char *url, long timeout, struct pns_buf *body,
	    struct pns_err *err);

/* One outgoing request, for the calls that send a body or a token. */
struct pns_http_call {
	const char	*method;	/* "GET", "POST", "PUT" */
	const char	*url;
	const char	*bearer;	/* Authorization: Bearer, or NULL */
	const char	*content_type;	/* of body, or NULL */
	const char	*body;		/* or NULL */
	size_t		 body_len;
	const char *const *headers;	/* more "Name: value" lines, NULL-ended,
					   or NULL */
	long		 timeout;	/* seconds, whole exchange */
	long		 status;	/* out: HTTP status, 0 if none */
};

/*
 * Performs call, putting the answer in resp (its max is the cap), or
 * reading and dropping it when resp is NULL.  Fails
 * only when no HTTP answer arrived (or it was too large); any status,
 * 4xx and 5xx included, is an answer and is left in call->status.
 */
int	pns_http_request(struct pns_http_call *call, struct pns_buf *resp,
	    struct pns_err *err);

#endif
