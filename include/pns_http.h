/* SPDX-License-Identifier: ISC */
/*
 * Outgoing HTTP through libcurl, loaded on first use, with the limits
 * every fetch of a platform document needs: http and https only, a
 * whole-exchange timeout, at most three redirects, and a size cap
 * enforced while the body streams in (not after).  A missing libcurl
 * fails the first request with PNS_ENET ("cannot load libcurl: ...").
 */
#ifndef PNS_HTTP_H
#define PNS_HTTP_H

#include "pns_err.h"
#include "pns_util.h"

/*
 * GETs url into body (whose max is the size cap) and requires a 200
 * answer.  timeout is in seconds.  Fails with PNS_ELIMIT ("answer larger
 * than N bytes"), or PNS_ENET with libcurl's message or "HTTP status N".
 * In a process that called pns_http_get_in_child, the GET is made by a
 * child process, with the same results.
 */
int	pns_http_get(const char *url, long timeout, struct pns_buf *body,
	    struct pns_err *err);

/* argv[1] of the child that makes a GET (pns_http_child_main). */
#define PNS_HTTP_CHILD_ARG	"--http-get"

/*
 * From now on pns_http_get runs each GET in a short-lived child: the
 * helper program (pns_child_helper) with argv[1] PNS_HTTP_CHILD_ARG,
 * whose main must then call pns_http_child_main.  libcurl and its
 * libraries are then mapped in the child alone, not kept resident by a
 * long-lived process that needs one fetch now and then, and a program
 * linked statically, which cannot load libcurl, can still fetch.  The
 * child's environment is only what libcurl and OpenSSL read here (proxy
 * and CA variables, the library path, sanitizer options), taken now.
 * The child is given timeout and a few seconds more to start, then
 * killed.  To be called once, at start, before any thread or request.
 */
void	pns_http_get_in_child(void);

/*
 * The child's side, for main: argv is { name, PNS_HTTP_CHILD_ARG, url,
 * timeout, size cap }.  Makes the GET here and writes its outcome to
 * standard output for the parent.  Returns the exit status: 0 when an
 * outcome was written (a failed GET included), 1 when not, 2 for
 * arguments that are not the parent's.  The caller decides whether this
 * process may act as the child at all.
 */
int	pns_http_child_main(int argc, char *argv[]);

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
