/* SPDX-License-Identifier: ISC */
/*
 * Why a token was refused.  The short names are what a notice sender
 * sees (docs/receiver.md); they say which rule failed and nothing about
 * keys or stored data.  The order of the enum is the order in which the
 * checks run.
 */
#ifndef PNS_VERDICT_H
#define PNS_VERDICT_H

enum pns_verdict {
	PNS_V_OK = 0,
	PNS_V_MALFORMED,
	PNS_V_BAD_HEADER,
	PNS_V_BAD_ALG,
	PNS_V_NO_KID,
	PNS_V_BAD_CLAIMS,
	PNS_V_BAD_AUD,
	PNS_V_BAD_AZP,
	PNS_V_EXPIRED,
	PNS_V_IAT_FUTURE,
	PNS_V_BAD_VERSION,
	PNS_V_BAD_NOTICE,
	PNS_V_UNKNOWN_PLATFORM,
	PNS_V_UNKNOWN_KID,
	PNS_V_UNKNOWN_KID_RETRY,	/* not in the set, not refetched yet */
	PNS_V_JWKS_UNAVAILABLE,
	PNS_V_BAD_SIGNATURE,
	PNS_V_UNKNOWN_DEPLOYMENT,
	PNS_V_STORAGE,
	/* Launches only (docs/launch.md). */
	PNS_V_BAD_REQUEST,
	PNS_V_BAD_STATE,
	PNS_V_PLATFORM_MISMATCH,
	PNS_V_BAD_NONCE,
	PNS_V_BAD_MESSAGE_TYPE,
	PNS_V_MISSING_CLAIM,
	PNS_V_BAD_TARGET_LINK_URI,
	PNS_V_BAD_TYPE_CLAIMS,	/* a known type's own claims are malformed */
	PNS_V__MAX
};

/* The short name of v ("bad_alg"); never NULL. */
const char	*pns_verdict_str(enum pns_verdict v);
/* 1 if a later retry of the same request could succeed. */
int		 pns_verdict_transient(enum pns_verdict v);

#endif
