/* SPDX-License-Identifier: ISC */
/*
 * Test keys made at run time (no private key is committed) and tokens
 * signed by libjwt, an implementation independent of the verifier
 * under test.
 */
#ifndef PNS_TEST_KEYS_H
#define PNS_TEST_KEYS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jwt.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "pns_util.h"

struct tkey {
	EVP_PKEY	*pkey;
	char		 pem[4096];	/* private key */
	char		 pub_pem[1024];
	char		 n[1400], e[16];
};

static inline void
tkey_b64(EVP_PKEY *k, const char *name, char *out)
{
	BIGNUM		*bn = NULL;
	unsigned char	 buf[1024];
	int		 n;

	if (EVP_PKEY_get_bn_param(k, name, &bn) != 1)
		abort();
	n = BN_bn2bin(bn, buf);
	BN_free(bn);
	(void)pns_b64url_encode(buf, (size_t)n, out);
}

static inline void
tkey_new(struct tkey *t, int bits)
{
	BIO	*b;
	long	 len;
	char	*p;

	memset(t, 0, sizeof(*t));
	if ((t->pkey = EVP_RSA_gen((unsigned int)bits)) == NULL)
		abort();
	b = BIO_new(BIO_s_mem());
	if (PEM_write_bio_PrivateKey(b, t->pkey, NULL, NULL, 0, NULL, NULL) != 1 ||
	    (len = BIO_get_mem_data(b, &p)) <= 0 || (size_t)len >= sizeof(t->pem))
		abort();
	memcpy(t->pem, p, (size_t)len);
	BIO_free(b);
	b = BIO_new(BIO_s_mem());
	if (PEM_write_bio_PUBKEY(b, t->pkey) != 1 ||
	    (len = BIO_get_mem_data(b, &p)) <= 0 ||
	    (size_t)len >= sizeof(t->pub_pem))
		abort();
	memcpy(t->pub_pem, p, (size_t)len);
	BIO_free(b);
	tkey_b64(t->pkey, OSSL_PKEY_PARAM_RSA_N, t->n);
	tkey_b64(t->pkey, OSSL_PKEY_PARAM_RSA_E, t->e);
}

static inline void
tkey_free(struct tkey *t)
{
	EVP_PKEY_free(t->pkey);
	t->pkey = NULL;
}

/* One JWK of t; extra is spliced in (e.g. ",\"alg\":\"RS256\""). */
static inline void
tkey_jwk(const struct tkey *t, const char *kid, const char *extra,
    char *out, size_t size)
{
	(void)snprintf(out, size, "{\"kty\":\"RSA\",\"kid\":\"%s\",\"n\":\"%s\","
	    "\"e\":\"%s\"%s}", kid, t->n, t->e, extra);
}

/* An RS256 token signed by libjwt with t, header kid, claims as JSON.
 * The caller frees it. */
static inline char *
tkey_sign(const struct tkey *t, const char *kid, const char *claims)
{
	jwt_t	*jwt;
	char	*out;

	if (jwt_new(&jwt) != 0 || jwt_add_grants_json(jwt, claims) != 0 ||
	    (kid != NULL && jwt_add_header(jwt, "kid", kid) != 0) ||
	    jwt_set_alg(jwt, JWT_ALG_RS256, (const unsigned char *)t->pem,
	    (int)strlen(t->pem)) != 0 || (out = jwt_encode_str(jwt)) == NULL)
		abort();
	jwt_free(jwt);
	return out;
}

/* A token assembled by hand: header and payload JSON, and a signature
 * made by sign (or none).  The caller frees it. */
static inline char *
tkey_raw(const char *header, const char *payload, const unsigned char *sig,
    size_t siglen)
{
	size_t	 hl = strlen(header), pl = strlen(payload);
	char	*out = malloc(pns_b64url_enclen(hl) + pns_b64url_enclen(pl) +
		    pns_b64url_enclen(siglen) + 4);
	size_t	 o;

	if (out == NULL)
		abort();
	o = pns_b64url_encode((const unsigned char *)header, hl, out);
	out[o++] = '.';
	o += pns_b64url_encode((const unsigned char *)payload, pl, out + o);
	out[o++] = '.';
	(void)pns_b64url_encode(sig, siglen, out + o);
	return out;
}

/* HMAC-SHA256 over "b64(header).b64(payload)" keyed with key. */
static inline char *
tkey_hs256(const char *header, const char *payload, const char *key)
{
	unsigned char	 mac[32];
	unsigned int	 maclen = 0;
	char		*unsigned_tok = tkey_raw(header, payload, NULL, 0), *out;
	size_t		 inlen = strlen(unsigned_tok) - 1;

	if (HMAC(EVP_sha256(), key, (int)strlen(key),
	    (unsigned char *)unsigned_tok, inlen, mac, &maclen) == NULL)
		abort();
	out = tkey_raw(header, payload, mac, maclen);
	free(unsigned_tok);
	return out;
}

#endif
