/* SPDX-License-Identifier: ISC */
/*
 * One platform notice: its verification, in the order of pns_verdict.h,
 * and the claims a verified notice is known to have.
 */
#ifndef PNS_NOTICE_H
#define PNS_NOTICE_H

#include <stddef.h>
#include <time.h>

#include "pns_config.h"
#include "pns_jws.h"
#include "pns_verdict.h"
#include "pns_verifier.h"

#define PNS_CLAIM_VERSION	"https://purl.imsglobal.org/spec/lti/claim/version"
#define PNS_CLAIM_DEPLOYMENT	"https://purl.imsglobal.org/spec/lti/claim/deployment_id"
#define PNS_CLAIM_NOTICE	"https://purl.imsglobal.org/spec/lti/claim/notice"
#define PNS_NOTICE_ID_MAX	256

/* Claims of the notice types handled here (Canvas's claim sets). */
#define PNS_LTI_CLAIM(x)	"https://purl.imsglobal.org/spec/lti/claim/" x
#define PNS_CLAIM_N_CONTEXT	PNS_LTI_CLAIM("context")
#define PNS_CLAIM_ORIGINS	PNS_LTI_CLAIM("origin_contexts")
#define PNS_CLAIM_ACTIVITY	PNS_LTI_CLAIM("activity")
#define PNS_CLAIM_SUBMISSION	PNS_LTI_CLAIM("submission")
#define PNS_CLAIM_FOR_USER	PNS_LTI_CLAIM("for_user")
#define PNS_CLAIM_ASSETSERVICE	PNS_LTI_CLAIM("assetservice")
#define PNS_CLAIM_ASSETREPORT	PNS_LTI_CLAIM("assetreport")
#define PNS_CLAIM_CONTRIBUTION	PNS_LTI_CLAIM("contribution")

#define PNS_TYPE_HELLO		"LtiHelloWorldNotice"
#define PNS_TYPE_COPY		"LtiContextCopyNotice"
#define PNS_TYPE_AP_SUBMISSION	"LtiAssetProcessorSubmissionNotice"
#define PNS_TYPE_AP_CONTRIBUTION "LtiAssetProcessorContributionNotice"

/* A notice being verified.  Strings are borrowed from jws.payload and
 * the token, valid until pns_notice_release. */
struct pns_notice {
	struct pns_jws		 jws;
	struct pns_claims	 claims;
	const char		*token;
	size_t			 token_len;
	const char		*id;
	const char		*type;
	const char		*timestamp;
	const char		*deployment_id;
	char			 key[65];	/* H(iss, client_id, id) */
};

void	pns_notice_init(struct pns_notice *n);
void	pns_notice_release(struct pns_notice *n);

/*
 * Verifies the notice token (tok, len) at time now.  On PNS_V_OK every
 * field of n is set and the notice is genuine: signed with the key its
 * registered platform publishes, for us, current, and for a known
 * deployment.  tok must outlive n.
 */
enum pns_verdict pns_notice_verify(struct pns_verifier *v, const char *tok,
	    size_t len, time_t now, struct pns_notice *n);

/*
 * The checks that need no key, on a decoded payload: version, the
 * notice claim, and the claims of the types known here (context copy,
 * asset processor).  Used by pns_notice_verify before any key is
 * touched.  Unknown types pass: they are stored and delivered as sent.
 */
enum pns_verdict pns_notice_check_claims(struct pns_notice *n);

#endif
