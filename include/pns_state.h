/* SPDX-License-Identifier: ISC */
/*
 * Pending OIDC logins.  /login makes a state and a nonce from the CSPRNG
 * and stores them, with the platform and the target_link_uri asked for,
 * in data_dir/state under the hash of the state; /launch consumes the
 * record.  Consuming is a rename(2) to a private name, so of two requests
 * racing with the same state exactly one gets the record: a state, and
 * with it its nonce, is usable once.
 */
#ifndef PNS_STATE_H
#define PNS_STATE_H

#include <time.h>

#include "pns_config.h"
#include "pns_err.h"
#include "pns_platform.h"

#define PNS_STATE_LEN	43	/* 32 random bytes, base64url */

struct pns_state {
	char	state[PNS_STATE_LEN + 1];
	char	nonce[PNS_STATE_LEN + 1];
	char	issuer[PNS_URL_MAX];
	char	client_id[PNS_ID_MAX];
	char	target_link_uri[PNS_URL_MAX];
	time_t	expires;
};

/*
 * Makes a new state for platform p and target_link_uri, valid for
 * ttl seconds from now, stores it, and fills st.  Records of earlier
 * logins older than ttl are removed on the way, at most once a minute.
 */
int	pns_state_create(const struct pns_config *cfg,
	    const struct pns_platform *p, const char *target_link_uri,
	    time_t now, long ttl, struct pns_state *st, struct pns_err *err);

/*
 * Takes the record of state out of the store into st.  Fails with
 * PNS_ENOENT when it is unknown, used or expired.
 */
int	pns_state_consume(const struct pns_config *cfg, const char *state,
	    time_t now, struct pns_state *st, struct pns_err *err);

#endif
