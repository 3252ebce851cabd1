/* SPDX-License-Identifier: ISC */
/*
 * JSON Web Keys to OpenSSL keys.  libjwt 1.10 takes only PEM text and
 * parses it again on every verification; a key set is parsed here once
 * into EVP_PKEYs that live as long as the set.
 *
 * Only RSA signature keys usable with RS256 are kept: a key whose "alg"
 * names anything else or whose "use" is not "sig" is skipped, so the
 * algorithm is pinned by the key as well as by the verifier.  Moduli
 * must be 2048 to 8192 bits.
 */
#ifndef PNS_JWK_H
#define PNS_JWK_H

#include <stddef.h>

#include <openssl/evp.h>

#include "pns_err.h"

#define PNS_KID_MAX	256
#define PNS_KEYSET_MAX	64	/* keys kept from one set */

struct pns_key {
	char		 kid[PNS_KID_MAX];
	EVP_PKEY	*pkey;
};

struct pns_keyset {
	struct pns_key	keys[PNS_KEYSET_MAX];
	size_t		n;
};

void	pns_keyset_init(struct pns_keyset *ks);
void	pns_keyset_release(struct pns_keyset *ks);

/*
 * Parses a JWK Set document (buf, len) into ks (released first).  Keys
 * that are unusable are skipped; a document with no usable key fails.
 */
int	pns_keyset_parse(struct pns_keyset *ks, const char *buf, size_t len,
	    struct pns_err *err);

/* The key with that kid, or NULL.  Borrowed from ks. */
EVP_PKEY *pns_keyset_find(const struct pns_keyset *ks, const char *kid);

/* An RSA public key from base64url n and e; the caller owns it. */
EVP_PKEY *pns_rsa_from_ne(const char *n, const char *e, struct pns_err *err);

#endif
