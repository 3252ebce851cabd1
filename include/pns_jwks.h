/* SPDX-License-Identifier: ISC */
/*
 * Platform key sets, cached in three layers: parsed keys in the memory
 * of a long-lived process, the fetched document in data_dir/jwks (shared
 * by every process and surviving restarts), and the platform's JWKS URL.
 *
 * A key set is fetched when no copy exists, when the copy is older than
 * jwks_max_age, or when a token names a kid the copy lacks (keys
 * rotate).  Fetches of one set are serialised with a lock and happen at
 * most once per jwks_refetch_interval, whatever the number of processes
 * and whatever an attacker sends, so unknown kids cannot turn the tool
 * into a traffic amplifier against the platform.  A stale copy is still
 * used when a refresh fails.
 *
 * A kid is unknown for good only when it is missing after a fetch tried
 * since the token came (by that lookup, or for an earlier token of the
 * same round).  One missing from a copy the interval kept from being
 * refreshed is worth a retry: that copy may predate the rotation that
 * brought the kid, and whoever sent a made-up kid a moment before may
 * have opened the interval.
 */
#ifndef PNS_JWKS_H
#define PNS_JWKS_H

#include <sys/types.h>

#include <time.h>

#include <openssl/evp.h>

#include "pns_config.h"
#include "pns_jwk.h"
#include "pns_verdict.h"

#define PNS_JWKS_CACHE_MAX	32	/* key sets kept in memory */

struct pns_jwks_entry {
	char			hash[65];	/* H(jwks_url); "" if unused */
	struct pns_keyset	keys;
	time_t			fetched_at;	/* mtime of the cached file */
	ino_t			ino;		/* identity of that file */
	time_t			used;		/* for eviction */
	unsigned long		checked;	/* round of the last check */
	unsigned long		tried;		/* round of its own last fetch */
};

/* Entries are allocated as key sets are first used: every thread of a
 * receiver has a cache, and most see one platform. */
struct pns_jwks_cache {
	const struct pns_config	*cfg;
	struct pns_jwks_entry	*e[PNS_JWKS_CACHE_MAX];	/* or NULL */
	/*
	 * The caller's request, when it counts them (0 when not): within
	 * one, the cached file of a key set already checked is not looked
	 * at again, so a batch checks it once, not once per notice.
	 */
	unsigned long		 round;
};

void	pns_jwks_cache_init(struct pns_jwks_cache *c,
	    const struct pns_config *cfg);
void	pns_jwks_cache_release(struct pns_jwks_cache *c);

/*
 * Finds the key kid of the key set at jwks_url, refreshing as described
 * above.  *pkey is borrowed from the cache and valid until the next call.
 * Returns PNS_V_OK, PNS_V_UNKNOWN_KID, PNS_V_UNKNOWN_KID_RETRY (not
 * fetched again yet: transient) or PNS_V_JWKS_UNAVAILABLE.
 */
enum pns_verdict pns_jwks_find(struct pns_jwks_cache *c,
	    const char *jwks_url, const char *kid, time_t now,
	    EVP_PKEY **pkey);

/* Fetches and stores the key set at jwks_url now (for pnsctl). */
int	pns_jwks_refresh(struct pns_jwks_cache *c, const char *jwks_url,
	    struct pns_err *err);

#endif
