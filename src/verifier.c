/* SPDX-License-Identifier: ISC */
/* Platform, key and signature: the shared tail of token verification. */
#include "pns_log.h"
#include "pns_verifier.h"
#include "banned.h"

void
pns_verifier_init(struct pns_verifier *v, const struct pns_config *cfg)
{
	v->cfg = cfg;
	pns_jwks_cache_init(&v->jwks, cfg);
	pns_platform_init(&v->platform);
}

void
pns_verifier_release(struct pns_verifier *v)
{
	pns_jwks_cache_release(&v->jwks);
	pns_platform_release(&v->platform);
}

enum pns_verdict
pns_verify_signature(struct pns_verifier *v, const struct pns_jws *jws,
    const struct pns_claims *c, time_t now)
{
	enum pns_verdict	 r;
	struct pns_err		 err;
	EVP_PKEY		*pkey;

	/* Read afresh for each token: another process (a launch, pnsctl)
	 * may have added a deployment since the last one. */
	pns_err_clear(&err);
	if (pns_platform_load(v->cfg, c->iss, c->client_id, &v->platform,
	    &err) == -1) {
		if (err.code != PNS_ENOENT)
			pns_log(PNS_LOG_ERROR, "platform: %s", err.msg);
		pns_platform_release(&v->platform);
		return err.code == PNS_ENOENT ? PNS_V_UNKNOWN_PLATFORM :
		    PNS_V_STORAGE;
	}
	if ((r = pns_jwks_find(&v->jwks, v->platform.jwks_url, jws->kid, now,
	    &pkey)) != PNS_V_OK)
		return r;
	return pns_jws_verify(jws, pkey) ? PNS_V_OK : PNS_V_BAD_SIGNATURE;
}
