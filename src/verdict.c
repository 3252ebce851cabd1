/* SPDX-License-Identifier: ISC */
/* Names of the verdicts; see pns_verdict.h and docs/receiver.md. */
#include "pns_verdict.h"
#include "banned.h"

static const char *const names[PNS_V__MAX] = {
	"ok",			/* PNS_V_OK */
	"malformed",		/* PNS_V_MALFORMED */
	"bad_header",		/* PNS_V_BAD_HEADER */
	"bad_alg",		/* PNS_V_BAD_ALG */
	"no_kid",		/* PNS_V_NO_KID */
	"bad_claims",		/* PNS_V_BAD_CLAIMS */
	"bad_aud",		/* PNS_V_BAD_AUD */
	"bad_azp",		/* PNS_V_BAD_AZP */
	"expired",		/* PNS_V_EXPIRED */
	"iat_future",		/* PNS_V_IAT_FUTURE */
	"bad_version",		/* PNS_V_BAD_VERSION */
	"bad_notice",		/* PNS_V_BAD_NOTICE */
	"unknown_platform",	/* PNS_V_UNKNOWN_PLATFORM */
	"unknown_kid",		/* PNS_V_UNKNOWN_KID */
	"unknown_kid_retry",	/* PNS_V_UNKNOWN_KID_RETRY */
	"jwks_unavailable",	/* PNS_V_JWKS_UNAVAILABLE */
	"bad_signature",	/* PNS_V_BAD_SIGNATURE */
	"unknown_deployment",	/* PNS_V_UNKNOWN_DEPLOYMENT */
	"storage",		/* PNS_V_STORAGE */
	"bad_request",		/* PNS_V_BAD_REQUEST */
	"bad_state",		/* PNS_V_BAD_STATE */
	"platform_mismatch",	/* PNS_V_PLATFORM_MISMATCH */
	"bad_nonce",		/* PNS_V_BAD_NONCE */
	"bad_message_type",	/* PNS_V_BAD_MESSAGE_TYPE */
	"missing_claim",	/* PNS_V_MISSING_CLAIM */
	"bad_target_link_uri",	/* PNS_V_BAD_TARGET_LINK_URI */
	"bad_type_claims",	/* PNS_V_BAD_TYPE_CLAIMS */
};

const char *
pns_verdict_str(enum pns_verdict v)
{
	if ((int)v < 0 || v >= PNS_V__MAX)
		return "invalid";
	return names[v];
}

int
pns_verdict_transient(enum pns_verdict v)
{
	return v == PNS_V_UNKNOWN_KID_RETRY || v == PNS_V_JWKS_UNAVAILABLE ||
	    v == PNS_V_STORAGE;
}
