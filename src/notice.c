/* SPDX-License-Identifier: ISC */
/*
 * Notice verification.  The rules and their order are those of
 * docs/receiver.md: structure and algorithm, then the claims that need
 * no key, then the platform, key and signature, and last the deployment
 * (only a genuine token learns whether a deployment is known).
 */
#include <string.h>

#include "pns_json.h"
#include "pns_notice.h"
#include "pns_util.h"
#include "banned.h"

void
pns_notice_init(struct pns_notice *n)
{
	memset(n, 0, sizeof(*n));
	pns_jws_init(&n->jws);
}

void
pns_notice_release(struct pns_notice *n)
{
	pns_jws_release(&n->jws);
	pns_notice_init(n);
}

enum pns_verdict
pns_notice_check_claims(struct pns_notice *n)
{
	struct json_object	*notice;
	const char		*version;

	version = pns_json_str(n->jws.payload, PNS_CLAIM_VERSION);
	if (version == NULL || strcmp(version, "1.3.0") != 0)
		return PNS_V_BAD_VERSION;
	if ((notice = pns_json_obj(n->jws.payload, PNS_CLAIM_NOTICE)) == NULL)
		return PNS_V_BAD_NOTICE;
	n->id = pns_json_nestr(notice, "id");
	n->type = pns_json_nestr(notice, "type");
	n->timestamp = pns_json_str(notice, "timestamp");
	if (n->id == NULL || strlen(n->id) >= PNS_NOTICE_ID_MAX ||
	    n->type == NULL || strlen(n->type) >= 128 ||
	    n->timestamp == NULL ||
	    !pns_iso8601_valid(n->timestamp, strlen(n->timestamp)))
		return PNS_V_BAD_NOTICE;
	n->deployment_id = pns_json_nestr(n->jws.payload, PNS_CLAIM_DEPLOYMENT);
	return PNS_V_OK;
}

enum pns_verdict
pns_notice_verify(struct pns_verifier *v, const char *tok, size_t len,
    time_t now, struct pns_notice *n)
{
	enum pns_verdict	 r;
	const char		*f[3];

	pns_notice_release(n);
	n->token = tok;
	n->token_len = len;
	if ((r = pns_jws_parse(&n->jws, tok, len)) != PNS_V_OK)
		return r;
	if ((r = pns_claims_check(n->jws.payload, now, v->cfg->clock_leeway,
	    &n->claims)) != PNS_V_OK)
		return r;
	if ((r = pns_notice_check_claims(n)) != PNS_V_OK)
		return r;

	if ((r = pns_verify_signature(v, &n->jws, &n->claims, now)) != PNS_V_OK)
		return r;
	if (n->deployment_id == NULL ||
	    !pns_platform_has_deployment(&v->platform, n->deployment_id))
		return PNS_V_UNKNOWN_DEPLOYMENT;

	f[0] = n->claims.iss;
	f[1] = n->claims.client_id;
	f[2] = n->id;
	pns_hash_fields(n->key, 3, f);
	return PNS_V_OK;
}
