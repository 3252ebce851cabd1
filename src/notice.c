/* SPDX-License-Identifier: ISC */
/*
 * Notice verification.  The rules and their order are those of
 * docs/receiver.md: structure and algorithm, then the claims that need
 * no key, then the platform, key and signature, and last the deployment
 * (only a genuine token learns whether a deployment is known).
 */
#include <ctype.h>
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

/* Standard Base64 (with padding) of 32 bytes: a SHA-256 digest. */
static int
is_b64_sha256(const char *s)
{
	size_t	i;

	if (s == NULL || strlen(s) != 44 || s[43] != '=')
		return 0;
	for (i = 0; i < 43; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '+' && s[i] != '/')
			return 0;
	return 1;
}

static int
is_http_url(const char *s)
{
	return s != NULL && (strncmp(s, "https://", 8) == 0 ||
	    strncmp(s, "http://", 7) == 0) && strpbrk(s, " \t\r\n") == NULL;
}

/* An object claim with a non-empty string member. */
static int
has_id(struct json_object *p, const char *claim, const char *member)
{
	return pns_json_nestr(pns_json_obj(p, claim), member) != NULL;
}

static int
check_copy(struct json_object *p)
{
	struct json_object	*origins;
	size_t			 i, n;

	if (!has_id(p, PNS_CLAIM_N_CONTEXT, "id"))
		return 0;
	/* Absent when the content came from no course. */
	if (json_object_object_get_ex(p, PNS_CLAIM_ORIGINS, NULL)) {
		if ((origins = pns_json_arr(p, PNS_CLAIM_ORIGINS)) == NULL)
			return 0;
		n = json_object_array_length(origins);
		for (i = 0; i < n; i++)
			if (!pns_json_is_clean_str(
			    json_object_array_get_idx(origins, i)))
				return 0;
	}
	return 1;
}

static int
check_asset(struct json_object *a)
{
	double	size;

	return pns_json_nestr(a, "asset_id") != NULL &&
	    is_http_url(pns_json_str(a, "url")) &&
	    is_b64_sha256(pns_json_str(a, "sha256_checksum")) &&
	    pns_json_num(a, "size", &size) == 0 && size >= 0 &&
	    pns_json_nestr(a, "content_type") != NULL;
}

/*
 * Asset processor notices: activity, for_user and the asset service
 * with well-formed assets; the report service when present (Canvas
 * leaves it out of contributions without assets).  Submissions need a
 * submission id and a report service, contributions a contribution.
 */
static int
check_ap(struct json_object *p, int submission)
{
	static const char *const statuses[] = { "Draft", "Submitted",
	    "Deleted", "Hidden" };
	struct json_object	*svc, *assets, *report, *contrib;
	const char		*status;
	size_t			 i, n;
	int			 found = 0;

	if (!has_id(p, PNS_CLAIM_ACTIVITY, "id") ||
	    !has_id(p, PNS_CLAIM_FOR_USER, "user_id") ||
	    (svc = pns_json_obj(p, PNS_CLAIM_ASSETSERVICE)) == NULL ||
	    (assets = pns_json_arr(svc, "assets")) == NULL)
		return 0;
	n = json_object_array_length(assets);
	for (i = 0; i < n; i++)
		if (!check_asset(json_object_array_get_idx(assets, i)))
			return 0;
	if (json_object_object_get_ex(p, PNS_CLAIM_ASSETREPORT, &report) &&
	    !is_http_url(pns_json_str(report, "report_url")))
		return 0;
	if (submission)
		return has_id(p, PNS_CLAIM_SUBMISSION, "id") &&
		    json_object_object_get_ex(p, PNS_CLAIM_ASSETREPORT, NULL);
	if ((contrib = pns_json_obj(p, PNS_CLAIM_CONTRIBUTION)) == NULL ||
	    pns_json_nestr(contrib, "id") == NULL ||
	    (status = pns_json_str(contrib, "status")) == NULL)
		return 0;
	for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
		found |= strcmp(status, statuses[i]) == 0;
	return found;
}

static int
check_ap_submission(struct json_object *p)
{
	return check_ap(p, 1);
}

static int
check_ap_contribution(struct json_object *p)
{
	return check_ap(p, 0);
}

static const struct {
	const char	*type;
	int		(*check)(struct json_object *);
} type_checks[] = {
	{ PNS_TYPE_COPY, check_copy },
	{ PNS_TYPE_AP_SUBMISSION, check_ap_submission },
	{ PNS_TYPE_AP_CONTRIBUTION, check_ap_contribution },
};

enum pns_verdict
pns_notice_check_claims(struct pns_notice *n)
{
	struct json_object	*notice;
	const char		*version;
	size_t			 i;

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
	for (i = 0; i < sizeof(type_checks) / sizeof(type_checks[0]); i++)
		if (strcmp(n->type, type_checks[i].type) == 0 &&
		    !type_checks[i].check(n->jws.payload))
			return PNS_V_BAD_TYPE_CLAIMS;
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
