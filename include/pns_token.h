/* SPDX-License-Identifier: ISC */
/*
 * LTI Advantage access tokens by the OAuth 2 client_credentials grant
 * with a JWT client assertion (RFC 7523, 1EdTech Security Framework
 * 4.1): iss = sub = client_id, aud = the token URL, iat, exp five
 * minutes on, a random jti, and the tool key's kid in the header.  The
 * assertion is signed with libjwt (opened on first use) from the tool's
 * PEM key; without libjwt it fails with PNS_ECRYPTO.
 *
 * Tokens are cached in data_dir/tokens until 60 seconds before they
 * expire, shared by every process; a lock makes concurrent processes
 * fetch once, and a process waits for that lock only within its own
 * timeout.
 */
#ifndef PNS_TOKEN_H
#define PNS_TOKEN_H

#include <time.h>

#include "pns_config.h"
#include "pns_err.h"
#include "pns_platform.h"

#define PNS_SCOPE_NOTICEHANDLERS \
	"https://purl.imsglobal.org/spec/lti/scope/noticehandlers"
#define PNS_TOKEN_MAX	8192

/*
 * Puts a token for scope at platform p in out (PNS_TOKEN_MAX bytes),
 * from the cache or from the token endpoint.  timeout (seconds) bounds
 * the whole call: the wait for another process fetching the same token
 * and the fetch.
 */
int	pns_token_get(const struct pns_config *cfg, const struct pns_platform *p,
	    const char *scope, time_t now, long timeout, char *out,
	    struct pns_err *err);

/* Drops the cached token (after the platform refused it). */
void	pns_token_forget(const struct pns_config *cfg,
	    const struct pns_platform *p, const char *scope);

/* The signed client assertion for p at now; the caller frees *out. */
int	pns_token_assertion(const struct pns_config *cfg,
	    const struct pns_platform *p, time_t now, char **out,
	    struct pns_err *err);

#endif
