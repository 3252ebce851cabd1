/* SPDX-License-Identifier: ISC */
/*
 * Automatic registration of notice handlers (docs/launch.md).  A launch
 * that carries the platformnotificationservice claim asks for every type
 * in the configuration that the platform supports to be sent to
 * {base_url}/notices.fcgi/<deployment>.  What was registered, where and
 * when, and the last error, are kept per (platform, deployment) in
 * data_dir/handlers, and a registration is only repeated when something
 * changed or handler_refresh seconds have passed.
 */
#ifndef PNS_HANDLERS_H
#define PNS_HANDLERS_H

#include <time.h>

#include <json-c/json.h>

#include "pns_config.h"
#include "pns_err.h"
#include "pns_platform.h"
#include "pns_util.h"

/* What the launch page shows of a deployment's registration. */
struct pns_handlers_status {
	int	 registered;		/* some types are registered */
	int	 attempted;		/* a registration ran in this call */
	int	 busy;			/* another process held the record */
	char	 types[1024];		/* registered types, space-separated */
	char	 registered_at[21];
	char	 last_error[256];
	char	 pns_url[PNS_URL_MAX];
};

/*
 * Registers the handlers of deployment_id at platform p from the PNS
 * claim of a verified launch, and unsubscribes registered types the
 * claim lists that the configuration no longer wants, unless the record
 * says it is done, or that the same registration failed under five
 * minutes ago, or another process is registering the deployment now
 * (st->busy): st then has the record's status.  A registration takes
 * at most cfg->http_timeout seconds.  Never fails the caller: the
 * outcome, errors included, is in st and in the record.  Returns 0, or
 * -1 when the claim is unusable or the lock cannot be taken (err says
 * why).
 */
int	pns_handlers_sync(const struct pns_config *cfg,
	    const struct pns_platform *p, const char *deployment_id,
	    struct json_object *claim, time_t now,
	    struct pns_handlers_status *st, struct pns_err *err);

/* Reads the record of (p, deployment_id) into st; ENOENT when none. */
int	pns_handlers_status(const struct pns_config *cfg,
	    const struct pns_platform *p, const char *deployment_id,
	    struct pns_handlers_status *st, struct pns_err *err);

/*
 * Stamps for the launch page and pnsctl status, per (issuer, client_id,
 * deployment_id): when the last new notice arrived (handlers/<h>.seen,
 * touched by notices.fcgi for each notice it stores) and when the last
 * hello-world notice proved the channel works (handlers/<h>.verified).
 * Informational, so setting one never fails its caller.
 */
enum pns_stamp { PNS_STAMP_SEEN, PNS_STAMP_VERIFIED };

void	pns_handlers_stamp(const struct pns_config *cfg, enum pns_stamp which,
	    const char *issuer, const char *client_id,
	    const char *deployment_id);
/* The stamp's time, 0 if never set. */
time_t	pns_handlers_stamp_time(const struct pns_config *cfg,
	    enum pns_stamp which, const char *issuer, const char *client_id,
	    const char *deployment_id);

/* Calls fn with every registration record (JSON objects: issuer,
 * client_id, deployment_id, pns_url, handler, wanted, types,
 * registered_at, attempted_at, last_error). */
int	pns_handlers_foreach(const struct pns_config *cfg,
	    int (*fn)(struct json_object *, void *), void *arg,
	    struct pns_err *err);

/*
 * GETs the platform's catalog for the deployment of record rec and
 * rewrites the record's registered types to what the platform has
 * pointing at our handler URL, and sets rec's types to them.  rec (from
 * pns_handlers_foreach) names the deployment; the record is read again
 * once its lock is held, as a launch may have registered since.
 */
int	pns_handlers_reconcile(const struct pns_config *cfg,
	    struct json_object *rec, struct pns_err *err);

/*
 * Unsubscribes type (PUT with handler "") and updates the record, read
 * again under its lock as for pns_handlers_reconcile.
 */
int	pns_handlers_remove(const struct pns_config *cfg,
	    struct json_object *rec, const char *type, struct pns_err *err);

/* The handler URL of a deployment: base_url/notices.fcgi/<encoded id>. */
int	pns_handlers_url(const struct pns_config *cfg, const char *deployment_id,
	    struct pns_buf *out, struct pns_err *err);

#endif
