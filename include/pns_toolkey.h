/* SPDX-License-Identifier: ISC */
/*
 * The tool's own RSA key: it signs the client assertions the tool sends
 * to platforms, and its public half is published as a JWK Set.  The
 * private key lives in data_dir/keys/tool.pem (0600); its kid is the
 * RFC 7638 thumbprint of the public key, so it is stable and needs no
 * second file.
 */
#ifndef PNS_TOOLKEY_H
#define PNS_TOOLKEY_H

#include <openssl/evp.h>

#include "pns_config.h"
#include "pns_err.h"
#include "pns_util.h"

#define PNS_TOOLKEY_FILE	"tool.pem"

struct pns_toolkey {
	EVP_PKEY	*pkey;
	char		 kid[44];	/* base64url SHA-256, 43 chars */
};

/* Creates the key pair unless it exists.  Returns 0 if created, 1 if it
 * existed, -1 on error. */
int	pns_toolkey_create(const struct pns_config *cfg, struct pns_err *err);

/* Loads the key pair and computes its kid. */
int	pns_toolkey_load(const struct pns_config *cfg, struct pns_toolkey *k,
	    struct pns_err *err);
void	pns_toolkey_release(struct pns_toolkey *k);

/* Appends the private key in PEM to pem (for libjwt, which signs from
 * PEM text).  The caller wipes and releases pem. */
int	pns_toolkey_pem(const struct pns_config *cfg, struct pns_buf *pem,
	    struct pns_err *err);

/* Appends {"keys":[{kty, alg, use, kid, n, e}]} to out. */
int	pns_toolkey_jwks(const struct pns_toolkey *k, struct pns_buf *out,
	    struct pns_err *err);

#endif
