/* SPDX-License-Identifier: ISC */
/* JWK Set parsing into cached OpenSSL keys; see pns_jwk.h. */
#include <stdlib.h>
#include <string.h>

/*
 * Keys are built as OpenSSL's (deprecated) RSA objects, not through the
 * provider interface: verifying with them (pns_jws_verify) never loads
 * a provider, which costs a CGI process a millisecond or more before
 * its first signature check.
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/bn.h>
#include <openssl/rsa.h>

#include "pns_json.h"
#include "pns_jwk.h"
#include "pns_log.h"
#include "pns_util.h"
#include "banned.h"

/* 8192-bit modulus: 1024 bytes, 1366 base64url characters. */
#define N_B64_MAX	1400
#define E_B64_MAX	12

void
pns_keyset_init(struct pns_keyset *ks)
{
	ks->n = 0;
}

void
pns_keyset_release(struct pns_keyset *ks)
{
	size_t	i;

	for (i = 0; i < ks->n; i++)
		EVP_PKEY_free(ks->keys[i].pkey);
	ks->n = 0;
}

static BIGNUM *
b64_bn(const char *s, size_t max)
{
	unsigned char	buf[N_B64_MAX];
	size_t		len = strlen(s);
	long		n;

	if (len == 0 || len > max)
		return NULL;
	if ((n = pns_b64url_decode(s, len, buf)) <= 0)
		return NULL;
	return BN_bin2bn(buf, (int)n, NULL);
}

EVP_PKEY *
pns_rsa_from_ne(const char *n64, const char *e64, struct pns_err *err)
{
	BIGNUM		*n = NULL, *e = NULL;
	RSA		*rsa = NULL;
	EVP_PKEY	*pkey = NULL;
	int		 bits;

	/* Everything above is NULL until owned; out: frees what is set. */
	if ((n = b64_bn(n64, N_B64_MAX)) == NULL ||
	    (e = b64_bn(e64, E_B64_MAX)) == NULL) {
		pns_err_set(err, PNS_EINVAL, "bad RSA n or e");
		goto out;
	}
	bits = BN_num_bits(n);
	if (bits < 2048 || bits > 8192) {
		pns_err_set(err, PNS_EINVAL, "RSA modulus of %d bits refused",
		    bits);
		goto out;
	}
	if (!BN_is_odd(e) || BN_num_bits(e) < 2 || BN_num_bits(e) > 33) {
		pns_err_set(err, PNS_EINVAL, "RSA exponent refused");
		goto out;
	}
	if ((rsa = RSA_new()) == NULL || RSA_set0_key(rsa, n, e, NULL) != 1) {
		pns_err_set(err, PNS_ECRYPTO, "cannot build RSA key");
		goto out;
	}
	n = e = NULL;		/* rsa owns them now */
	if ((pkey = EVP_PKEY_new()) == NULL ||
	    EVP_PKEY_assign_RSA(pkey, rsa) != 1) {
		pns_err_set(err, PNS_ECRYPTO, "cannot build RSA key");
		EVP_PKEY_free(pkey);
		pkey = NULL;
		goto out;
	}
	rsa = NULL;		/* and pkey owns rsa */
out:
	RSA_free(rsa);
	BN_free(n);
	BN_free(e);
	return pkey;
}

/* Adds one JWK to ks if it is an RS256 signature key; skips it if not. */
static void
add_jwk(struct pns_keyset *ks, struct json_object *jwk)
{
	const char	*kty, *kid, *alg, *use, *n, *e;
	struct pns_err	 err;
	EVP_PKEY	*pkey;
	char		 esc[80];

	kty = pns_json_str(jwk, "kty");
	kid = pns_json_nestr(jwk, "kid");
	alg = pns_json_str(jwk, "alg");
	use = pns_json_str(jwk, "use");
	n = pns_json_str(jwk, "n");
	e = pns_json_str(jwk, "e");
	if (kty == NULL || strcmp(kty, "RSA") != 0 || kid == NULL ||
	    strlen(kid) >= PNS_KID_MAX || n == NULL || e == NULL)
		return;
	if ((alg != NULL && strcmp(alg, "RS256") != 0) ||
	    (use != NULL && strcmp(use, "sig") != 0))
		return;
	if (pns_keyset_find(ks, kid) != NULL || ks->n == PNS_KEYSET_MAX)
		return;
	pns_err_clear(&err);
	if ((pkey = pns_rsa_from_ne(n, e, &err)) == NULL) {
		pns_log(PNS_LOG_WARN, "JWK \"%s\" skipped: %s",
		    pns_log_escape(kid, strlen(kid), esc, sizeof(esc)), err.msg);
		return;
	}
	memcpy(ks->keys[ks->n].kid, kid, strlen(kid) + 1);
	ks->keys[ks->n].pkey = pkey;
	ks->n++;
}

int
pns_keyset_parse(struct pns_keyset *ks, const char *buf, size_t len,
    struct pns_err *err)
{
	struct json_object	*doc, *keys;
	size_t			 i, n;

	pns_keyset_release(ks);
	if (pns_json_parse(buf, len, 8, &doc, err) == -1)
		return -1;
	if ((keys = pns_json_arr(doc, "keys")) == NULL) {
		json_object_put(doc);
		return pns_err_set(err, PNS_EINVAL, "JWK Set without keys");
	}
	n = json_object_array_length(keys);
	for (i = 0; i < n; i++)
		add_jwk(ks, json_object_array_get_idx(keys, i));
	json_object_put(doc);
	if (ks->n == 0)
		return pns_err_set(err, PNS_EINVAL,
		    "JWK Set has no usable RS256 key");
	return 0;
}

EVP_PKEY *
pns_keyset_find(const struct pns_keyset *ks, const char *kid)
{
	size_t	i;

	for (i = 0; i < ks->n; i++)
		if (strcmp(ks->keys[i].kid, kid) == 0)
			return ks->keys[i].pkey;
	return NULL;
}
