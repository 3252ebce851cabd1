/* SPDX-License-Identifier: ISC */
/*
 * Outgoing HTTP through libcurl, with the limits every fetch of a
 * platform document needs: http and https only, a whole-exchange
 * timeout, at most three redirects, and a size cap enforced while the
 * body streams in (not after).
 */
#ifndef PNS_HTTP_H
#define PNS_HTTP_H

#include "pns_err.h"
#include "pns_util.h"

/* Once per process, before any thread or request. */
int	pns_http_global_init(struct pns_err *err);

/*
 * GETs url into body (whose max is the size cap) and requires a 200
 * answer.  timeout is in seconds.
 */
int	pns_http_get(const char *url, long timeout, struct pns_buf *body,
	    struct pns_err *err);

#endif
