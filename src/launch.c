/* SPDX-License-Identifier: ISC */
/*
 * Launch validation, following the 1EdTech certification list: the
 * token-intrinsic checks first, then the platform, key and signature,
 * then what binds the token to this browser's login (nonce, platform,
 * target_link_uri).  docs/launch.md is the contract.
 */
#include <string.h>

#include "pns_json.h"
#include "pns_launch.h"
#include "pns_notice.h"
#include "pns_util.h"
#include "banned.h"

void
pns_launch_init(struct pns_launch *l)
{
	memset(l, 0, sizeof(*l));
	pns_jws_init(&l->jws);
}

void
pns_launch_release(struct pns_launch *l)
{
	pns_jws_release(&l->jws);
	pns_launch_init(l);
}

/* The message type's required claims, none of which needs a key. */
static enum pns_verdict
check_message(struct pns_launch *l)
{
	struct json_object	*p = l->jws.payload, *o, *v;
	const char		*version;
	size_t			 i, n;

	version = pns_json_str(p, PNS_CLAIM_VERSION);
	if (version == NULL || strcmp(version, "1.3.0") != 0)
		return PNS_V_BAD_VERSION;
	l->message_type = pns_json_str(p, PNS_CLAIM_MESSAGE_TYPE);
	if (l->message_type == NULL ||
	    (strcmp(l->message_type, "LtiResourceLinkRequest") != 0 &&
	    strcmp(l->message_type, "LtiDeepLinkingRequest") != 0))
		return PNS_V_BAD_MESSAGE_TYPE;
	if ((l->deployment_id = pns_json_nestr(p, PNS_CLAIM_DEPLOYMENT)) == NULL ||
	    !pns_id_valid(l->deployment_id))
		return PNS_V_MISSING_CLAIM;
	if ((l->roles = pns_json_arr(p, PNS_CLAIM_ROLES)) == NULL)
		return PNS_V_MISSING_CLAIM;
	n = json_object_array_length(l->roles);
	for (i = 0; i < n; i++) {
		v = json_object_array_get_idx(l->roles, i);
		if (!pns_json_is_clean_str(v))
			return PNS_V_MISSING_CLAIM;
	}
	/* sub may be absent (anonymous launch) but never empty. */
	if (json_object_object_get_ex(p, "sub", NULL) &&
	    pns_json_nestr(p, "sub") == NULL)
		return PNS_V_MISSING_CLAIM;
	if (strcmp(l->message_type, "LtiResourceLinkRequest") == 0) {
		o = pns_json_obj(p, PNS_CLAIM_RESOURCE_LINK);
		if (o == NULL || pns_json_nestr(o, "id") == NULL)
			return PNS_V_MISSING_CLAIM;
	} else {
		o = pns_json_obj(p, PNS_CLAIM_DL_SETTINGS);
		if (o == NULL || pns_json_nestr(o, "deep_link_return_url") == NULL)
			return PNS_V_MISSING_CLAIM;
	}
	l->pns = pns_json_obj(p, PNS_CLAIM_PNS);
	return PNS_V_OK;
}

enum pns_verdict
pns_launch_verify(struct pns_verifier *v, const struct pns_state *st,
    const char *tok, size_t len, time_t now, struct pns_launch *l)
{
	enum pns_verdict	 r;
	const char		*nonce, *target;

	pns_launch_release(l);
	if ((r = pns_jws_parse(&l->jws, tok, len)) != PNS_V_OK)
		return r;
	if ((r = pns_claims_check(l->jws.payload, now, v->cfg->clock_leeway,
	    &l->claims)) != PNS_V_OK)
		return r;
	if ((r = check_message(l)) != PNS_V_OK)
		return r;
	if ((r = pns_verify_signature(v, &l->jws, &l->claims, now)) != PNS_V_OK)
		return r;
	if (strcmp(l->claims.iss, st->issuer) != 0 ||
	    strcmp(l->claims.client_id, st->client_id) != 0)
		return PNS_V_PLATFORM_MISMATCH;
	nonce = pns_json_str(l->jws.payload, "nonce");
	if (nonce == NULL || strlen(nonce) != strlen(st->nonce) ||
	    !pns_ct_equal(nonce, st->nonce, strlen(st->nonce)))
		return PNS_V_BAD_NONCE;
	target = pns_json_str(l->jws.payload, PNS_CLAIM_TARGET_LINK);
	if (target == NULL || strcmp(target, st->target_link_uri) != 0)
		return PNS_V_BAD_TARGET_LINK_URI;
	return PNS_V_OK;
}

int
pns_launch_is_staff(const struct pns_launch *l)
{
	static const char *const staff[] = {
		"http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor",
		"http://purl.imsglobal.org/vocab/lis/v2/membership#Administrator",
		"http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator",
		"http://purl.imsglobal.org/vocab/lis/v2/system/person#Administrator",
		"Instructor",
		"Administrator",
	};
	const char	*role;
	size_t		 i, j, n;

	if (l->roles == NULL)
		return 0;
	n = json_object_array_length(l->roles);
	for (i = 0; i < n; i++) {
		role = json_object_get_string(json_object_array_get_idx(l->roles, i));
		for (j = 0; j < sizeof(staff) / sizeof(staff[0]); j++)
			if (strcmp(role, staff[j]) == 0)
				return 1;
	}
	return 0;
}
