/* SPDX-License-Identifier: ISC */
/*
 * The part of token verification shared by notices and launches: find
 * the registered platform for (iss, client_id), find the key named by
 * kid in its key set (cached, refetched on a miss), and check the RS256
 * signature.  Callers run their own key-free checks before this, so
 * that a token failing them never costs an RSA operation.
 */
#ifndef PNS_VERIFIER_H
#define PNS_VERIFIER_H

#include <sys/stat.h>

#include <time.h>

#include "pns_config.h"
#include "pns_jwks.h"
#include "pns_jws.h"
#include "pns_platform.h"
#include "pns_verdict.h"

/*
 * What a verifier keeps across requests: config, key cache, and the
 * platform of the last token with the identity (inode, size, mtime) of
 * the file it was read from, so that it is read again only once that
 * file has been replaced.
 */
struct pns_verifier {
	const struct pns_config	*cfg;
	struct pns_jwks_cache	 jwks;
	struct pns_platform	 platform;	/* of the last token */
	int			 platform_ok;	/* platform is loaded */
	struct stat		 platform_st;	/* of its file then */
	unsigned long		 round;		/* see pns_verifier_round */
	unsigned long		 platform_round; /* when its file was checked */
};

void	pns_verifier_init(struct pns_verifier *v, const struct pns_config *cfg);
void	pns_verifier_release(struct pns_verifier *v);

/*
 * Starts a round: one request of a long-lived process.  The platform
 * file and the cached key set a token needs are checked for replacement
 * once per round, so every notice of a batch after the first skips those
 * checks; a replacement made during a request counts from the next.
 * Without rounds (a verifier that never calls this) each token checks.
 */
void	pns_verifier_round(struct pns_verifier *v);

/*
 * Loads the platform of c into v->platform and verifies the signature of
 * jws with its key kid.  Returns PNS_V_OK, PNS_V_UNKNOWN_PLATFORM,
 * PNS_V_UNKNOWN_KID, PNS_V_UNKNOWN_KID_RETRY, PNS_V_JWKS_UNAVAILABLE,
 * PNS_V_BAD_SIGNATURE or PNS_V_STORAGE (the platform file could not be
 * read).
 */
enum pns_verdict pns_verify_signature(struct pns_verifier *v,
	    const struct pns_jws *jws, const struct pns_claims *c, time_t now);

#endif
