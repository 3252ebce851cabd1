/* SPDX-License-Identifier: ISC */
/*
 * Compact JWS parsing and RS256 verification; see pns_jws.h.  Order
 * matters: every check that needs no key runs before any key is looked
 * up, so that malformed or wrong-algorithm tokens never cost an RSA
 * operation or a key fetch.
 */
#include <stdlib.h>
#include <string.h>

/*
 * RS256 through RSA_verify and the low-level SHA-256, both deprecated in
 * OpenSSL 3: unlike EVP_DigestVerify they fetch nothing from a provider,
 * which is most of the CPU of a CGI process that checks one signature
 * (lti.cgi's /launch).  RSA_verify compares the whole DigestInfo, as
 * PKCS #1 v1.5 requires.
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

#include "pns_json.h"
#include "pns_jws.h"
#include "pns_util.h"
#include "banned.h"

void
pns_jws_init(struct pns_jws *jws)
{
	memset(jws, 0, sizeof(*jws));
}

void
pns_jws_release(struct pns_jws *jws)
{
	json_object_put(jws->header);
	json_object_put(jws->payload);
	pns_jws_init(jws);
}

/*
 * Decodes a base64url segment into a new buffer (*out, *outlen).
 * Returns -1 when it is not base64url: the token is then malformed,
 * whatever the segment was meant to hold.
 */
static int
segment_decode(const char *s, size_t len, char **out, size_t *outlen)
{
	unsigned char	*buf;
	long		 n;

	*out = NULL;
	if ((buf = malloc(len / 4 * 3 + 3)) == NULL)
		return -1;
	if ((n = pns_b64url_decode(s, len, buf)) <= 0) {
		free(buf);
		return -1;
	}
	*out = (char *)buf;
	*outlen = (size_t)n;
	return 0;
}

/* Parses a decoded segment as a JSON object, or returns NULL. */
static struct json_object *
segment_json(const char *buf, size_t len, int depth)
{
	struct json_object	*obj = NULL;

	if (pns_json_parse(buf, len, depth, &obj, NULL) == 0 &&
	    !json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		obj = NULL;
	}
	return obj;
}

enum pns_verdict
pns_jws_parse(struct pns_jws *jws, const char *tok, size_t len)
{
	const char		*dot1, *dot2, *alg;
	char			*hdr = NULL, *pay = NULL;
	size_t			 hlen, plen, slen, hdr_len = 0, pay_len = 0;
	long			 n;
	enum pns_verdict	 v;

	pns_jws_release(jws);
	if (len == 0 || len > PNS_JWT_MAX)
		return PNS_V_MALFORMED;
	if ((dot1 = memchr(tok, '.', len)) == NULL)
		return PNS_V_MALFORMED;
	hlen = (size_t)(dot1 - tok);
	if ((dot2 = memchr(dot1 + 1, '.', len - hlen - 1)) == NULL)
		return PNS_V_MALFORMED;
	plen = (size_t)(dot2 - dot1 - 1);
	slen = len - hlen - plen - 2;
	/* A third dot means JWE or garbage; neither is ours. */
	if (memchr(dot2 + 1, '.', slen) != NULL || hlen == 0 || plen == 0 ||
	    slen == 0)
		return PNS_V_MALFORMED;
	if (hlen > PNS_JWS_HEADER_MAX || slen > pns_b64url_enclen(PNS_JWS_SIG_MAX))
		return PNS_V_MALFORMED;
	if ((n = pns_b64url_decode(dot2 + 1, slen, jws->sig)) <= 0)
		return PNS_V_MALFORMED;
	jws->sig_len = (size_t)n;
	if (segment_decode(tok, hlen, &hdr, &hdr_len) == -1 ||
	    segment_decode(dot1 + 1, plen, &pay, &pay_len) == -1) {
		v = PNS_V_MALFORMED;
		goto out;
	}

	v = PNS_V_BAD_HEADER;
	if ((jws->header = segment_json(hdr, hdr_len, 4)) == NULL)
		goto out;
	/* RFC 7515 4.1.11: extensions we do not understand must fail. */
	if (json_object_object_get_ex(jws->header, "crit", NULL))
		goto out;
	v = PNS_V_BAD_ALG;
	alg = pns_json_str(jws->header, "alg");
	if (alg == NULL || strcmp(alg, "RS256") != 0)
		goto out;
	v = PNS_V_NO_KID;
	if ((jws->kid = pns_json_nestr(jws->header, "kid")) == NULL)
		goto out;
	v = PNS_V_BAD_CLAIMS;
	if ((jws->payload = segment_json(pay, pay_len, PNS_JSON_DEPTH)) == NULL)
		goto out;
	v = PNS_V_OK;
	jws->input = tok;
	jws->input_len = hlen + 1 + plen;
out:
	free(hdr);
	free(pay);
	return v;
}

int
pns_jws_verify(const struct pns_jws *jws, EVP_PKEY *pkey)
{
	unsigned char	 md[SHA256_DIGEST_LENGTH];
	SHA256_CTX	 c;
	RSA		*rsa;
	int		 ok;

	if (pkey == NULL || jws->input == NULL ||
	    (rsa = EVP_PKEY_get1_RSA(pkey)) == NULL)
		return 0;
	ok = jws->sig_len == (size_t)RSA_size(rsa);
	if (ok) {
		(void)SHA256_Init(&c);
		(void)SHA256_Update(&c, jws->input, jws->input_len);
		(void)SHA256_Final(md, &c);
		ok = RSA_verify(NID_sha256, md, sizeof(md), jws->sig,
		    (unsigned int)jws->sig_len, rsa) == 1;
	}
	RSA_free(rsa);
	/* A bad signature is an answer, not an error to keep queued. */
	if (!ok)
		ERR_clear_error();
	return ok;
}

/*
 * aud is a string, or an array of strings that must name us.  With
 * several audiences the token is for azp, which must be among them
 * (OIDC Core 3.1.3.7); azp, when present, must agree with the result.
 */
static enum pns_verdict
check_aud(struct json_object *payload, struct pns_claims *c)
{
	struct json_object	*aud, *v;
	const char		*azp, *s;
	size_t			 i, n;
	int			 found = 0;

	if (!json_object_object_get_ex(payload, "aud", &aud))
		return PNS_V_BAD_AUD;
	azp = pns_json_str(payload, "azp");
	if (json_object_object_get_ex(payload, "azp", NULL) && azp == NULL)
		return PNS_V_BAD_AZP;
	if (json_object_is_type(aud, json_type_string)) {
		if ((c->client_id = pns_json_nestr(payload, "aud")) == NULL)
			return PNS_V_BAD_AUD;
	} else if (json_object_is_type(aud, json_type_array)) {
		n = json_object_array_length(aud);
		if (n == 0 || n > 32)
			return PNS_V_BAD_AUD;
		for (i = 0; i < n; i++) {
			v = json_object_array_get_idx(aud, i);
			if (!pns_json_is_clean_str(v) ||
			    *(s = json_object_get_string(v)) == '\0')
				return PNS_V_BAD_AUD;
			if (azp != NULL && strcmp(s, azp) == 0)
				found = 1;
		}
		if (n == 1)
			c->client_id = json_object_get_string(
			    json_object_array_get_idx(aud, 0));
		else if (azp == NULL || !found)
			return PNS_V_BAD_AZP;
		else
			c->client_id = azp;
	} else
		return PNS_V_BAD_AUD;
	if (azp != NULL && strcmp(azp, c->client_id) != 0)
		return PNS_V_BAD_AZP;
	return PNS_V_OK;
}

int
pns_claims_live(struct json_object *payload, time_t now, long leeway)
{
	double	exp;

	if (pns_json_num(payload, "exp", &exp) == -1)
		return -1;
	return (double)now > exp + (double)leeway ? 0 : 1;
}

enum pns_verdict
pns_claims_check(struct json_object *payload, time_t now, long leeway,
    struct pns_claims *c)
{
	enum pns_verdict	v;
	double			iat, nbf;

	memset(c, 0, sizeof(*c));
	if ((c->iss = pns_json_nestr(payload, "iss")) == NULL)
		return PNS_V_BAD_CLAIMS;
	if ((v = check_aud(payload, c)) != PNS_V_OK)
		return v;
	if (pns_claims_live(payload, now, leeway) != 1)
		return PNS_V_EXPIRED;
	if (pns_json_num(payload, "iat", &iat) == -1 ||
	    iat > (double)now + (double)leeway)
		return PNS_V_IAT_FUTURE;
	if (json_object_object_get_ex(payload, "nbf", NULL) &&
	    (pns_json_num(payload, "nbf", &nbf) == -1 ||
	    nbf > (double)now + (double)leeway))
		return PNS_V_IAT_FUTURE;
	return PNS_V_OK;
}
