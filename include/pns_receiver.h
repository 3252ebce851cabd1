/* SPDX-License-Identifier: ISC */
/*
 * The notice handler endpoint, independent of how the request arrived
 * (FastCGI or CGI): a cheap precheck on the request line and headers,
 * then the body.  docs/receiver.md is the contract.
 */
#ifndef PNS_RECEIVER_H
#define PNS_RECEIVER_H

#include <stddef.h>
#include <time.h>

#include "pns_commit.h"
#include "pns_config.h"
#include "pns_notice.h"
#include "pns_util.h"

/* What the handler needs of a request: CGI variables, borrowed. */
struct pns_http_req {
	const char	*method;		/* REQUEST_METHOD */
	const char	*content_type;		/* CONTENT_TYPE */
	const char	*content_length;	/* CONTENT_LENGTH */
	const char	*remote_addr;		/* REMOTE_ADDR, for logs */
};

struct pns_http_resp {
	int		 status;
	const char	*allow;		/* Allow header, or NULL */
	struct pns_buf	 body;		/* application/json */
};

void	pns_http_resp_init(struct pns_http_resp *r);
void	pns_http_resp_reset(struct pns_http_resp *r);
void	pns_http_resp_release(struct pns_http_resp *r);
/* The reason phrase of a status we answer with. */
const char *pns_http_reason(int status);

/*
 * One per thread, living as long as it; reset per request by the
 * handler.  Threads share the configuration and the group commit.
 */
struct pns_receiver {
	const struct pns_config	*cfg;
	struct pns_commit	*commit;
	struct pns_verifier	 verifier;
	struct pns_notice	 notice;
	unsigned long		 requests;
	unsigned long		 queued;	/* notices queued for delivery */
	/* The deployment whose stamp (pns_handlers_stamp: "last notice",
	 * "verified") this thread set last, and when, for each stamp: a
	 * burst costs one stamp per second, not one a notice. */
	struct {
		char		 key[65];
		time_t		 at;
	}			 stamped[2];
};

void	pns_receiver_init(struct pns_receiver *rc, const struct pns_config *cfg,
	    struct pns_commit *commit);
void	pns_receiver_release(struct pns_receiver *rc);

/*
 * Checks method, content type and length before the body is read.
 * Returns 0 and sets *len when the body should be read, or 1 with resp
 * filled (405, 411, 413, 415).
 */
int	pns_receiver_precheck(const struct pns_receiver *rc,
	    const struct pns_http_req *req, size_t *len,
	    struct pns_http_resp *resp);

/*
 * Judges every notice in the body (body, len) at time now, stores the
 * verified ones durably, and fills resp (200, 400 or 503).
 */
void	pns_receiver_handle(struct pns_receiver *rc,
	    const struct pns_http_req *req, const char *body, size_t len,
	    time_t now, struct pns_http_resp *resp);

#endif
