/* SPDX-License-Identifier: ISC */
/*
 * Platform registrations: one file per (issuer, client_id) under
 * data_dir/platforms, holding the platform's endpoints and the
 * deployment ids known for it.  Notices are accepted only for a
 * registered platform and a known deployment; launches only for a
 * registered platform, and a verified launch makes its deployment known
 * (the platform's signature vouches for it: docs/launch.md).
 */
#ifndef PNS_PLATFORM_H
#define PNS_PLATFORM_H

#include <stddef.h>

#include <json-c/json.h>

#include "pns_config.h"
#include "pns_err.h"

#define PNS_ID_MAX		256	/* client_id, deployment_id */
#define PNS_DEPLOYMENTS_MAX	1024

struct pns_platform {
	char	  key[65];			/* H(issuer, client_id) */
	char	  issuer[PNS_URL_MAX];
	char	  client_id[PNS_ID_MAX];
	char	  auth_url[PNS_URL_MAX];
	char	  token_url[PNS_URL_MAX];
	char	  jwks_url[PNS_URL_MAX];
	char	  registered_at[21];		/* first registration */
	char	  updated_at[21];		/* last (re-)registration */
	char	  registered_by[16];		/* "manual" or "dynamic" */
	char	**deployments;			/* owned */
	size_t	  ndeployments;
};

void	pns_platform_init(struct pns_platform *p);
void	pns_platform_release(struct pns_platform *p);

/* The store key of (issuer, client_id), 64 hex digits. */
void	pns_platform_key(const char *issuer, const char *client_id,
	    char out[65]);

/*
 * Loads the platform registered for (issuer, client_id) into p
 * (released first).  Fails with PNS_ENOENT when there is none.
 */
int	pns_platform_load(const struct pns_config *cfg, const char *issuer,
	    const char *client_id, struct pns_platform *p, struct pns_err *err);

/* 1 if deployment_id is known for p. */
int	pns_platform_has_deployment(const struct pns_platform *p,
	    const char *deployment_id);

/* Adds a deployment id to p in memory (no duplicates). */
int	pns_platform_add_deployment(struct pns_platform *p,
	    const char *deployment_id, struct pns_err *err);

/*
 * Registers p, or merges it into the registration of the same
 * (issuer, client_id): endpoints are replaced, deployments added, and
 * registered_by (p's, "manual" when empty) and updated_at set, so that
 * registering again updates the one record.  registered_at stays the
 * time of the first registration.  Serialised against other writers;
 * written atomically.
 */
int	pns_platform_save(const struct pns_config *cfg,
	    const struct pns_platform *p, struct pns_err *err);

/* Adds one deployment to a registered platform, under the lock. */
int	pns_platform_learn_deployment(const struct pns_config *cfg,
	    const char *issuer, const char *client_id,
	    const char *deployment_id, struct pns_err *err);

/* The platform as the JSON object its file holds; the caller owns it. */
struct json_object *pns_platform_json(const struct pns_platform *p);

/* Calls fn for every registered platform, in no particular order. */
int	pns_platform_foreach(const struct pns_config *cfg,
	    int (*fn)(const struct pns_platform *, void *), void *arg,
	    struct pns_err *err);

/* Checks that s is usable as an id: 1..PNS_ID_MAX-1 printable bytes. */
int	pns_id_valid(const char *s);
/* Checks that s is an http(s) URL of printable ASCII that fits. */
int	pns_url_valid(const char *s);

#endif
