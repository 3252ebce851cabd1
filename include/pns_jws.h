/* SPDX-License-Identifier: ISC */
/*
 * Compact JWS tokens signed by a platform: bounded parsing, the RS256
 * pin, signature verification with a cached key, and the registered
 * claims every platform token carries (iss, aud, azp, exp, iat, nbf).
 *
 * Debian's libjwt 1.10.2 verifies with whatever "alg" the token header
 * names and re-reads a PEM key per call, so platform tokens are
 * verified here directly with OpenSSL: the header must say RS256 before
 * any key is looked at, and the key is an EVP_PKEY parsed once.
 */
#ifndef PNS_JWS_H
#define PNS_JWS_H

#include <stddef.h>
#include <time.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "pns_verdict.h"

#define PNS_JWT_MAX		(256 * 1024)	/* whole token */
#define PNS_JWS_HEADER_MAX	2048		/* encoded header */
#define PNS_JWS_SIG_MAX		1024		/* 8192-bit RSA */

struct pns_jws {
	const char		*input;		/* header.payload, borrowed */
	size_t			 input_len;
	struct json_object	*header;	/* owned */
	struct json_object	*payload;	/* owned */
	const char		*kid;		/* borrowed from header */
	unsigned char		 sig[PNS_JWS_SIG_MAX];
	size_t			 sig_len;
};

void	pns_jws_init(struct pns_jws *jws);
void	pns_jws_release(struct pns_jws *jws);

/*
 * Splits and decodes tok (len bytes, not NUL-terminated necessarily)
 * and checks the header: a JSON object, no "crit", "alg" exactly
 * "RS256", a non-empty string "kid".  tok must outlive jws.
 * Returns PNS_V_OK, PNS_V_MALFORMED, PNS_V_BAD_HEADER, PNS_V_BAD_ALG,
 * PNS_V_NO_KID or PNS_V_BAD_CLAIMS (payload not a JSON object).
 */
enum pns_verdict pns_jws_parse(struct pns_jws *jws, const char *tok,
	    size_t len);

/* 1 if the RS256 signature verifies with pkey, else 0. */
int	pns_jws_verify(const struct pns_jws *jws, EVP_PKEY *pkey);

/* The registered claims of a platform token, borrowed from its payload. */
struct pns_claims {
	const char	*iss;
	const char	*client_id;	/* aud, or azp among several aud */
};

/*
 * Checks iss, aud/azp, exp, iat and nbf of payload at time now with
 * leeway seconds of skew, and fills c.  Returns PNS_V_OK,
 * PNS_V_BAD_CLAIMS, PNS_V_BAD_AUD, PNS_V_BAD_AZP, PNS_V_EXPIRED or
 * PNS_V_IAT_FUTURE.
 */
enum pns_verdict pns_claims_check(struct json_object *payload, time_t now,
	    long leeway, struct pns_claims *c);

/*
 * The exp rule of pns_claims_check alone: 1 while a token with these
 * claims is at most leeway seconds past its exp at now, so that it may
 * still be accepted; 0 once it is further past (then for good, as now
 * only grows); -1 when exp is missing or not a number.  Shared so that
 * what forgets a notice id (pnsctl notices prune) cannot disagree with
 * what accepts its token.
 */
int	pns_claims_live(struct json_object *payload, time_t now, long leeway);

#endif
