/* SPDX-License-Identifier: ISC */
/*
 * The handlers/ stamps of pns_handlers.h.  Apart from handlers.c
 * because notices.fcgi sets them for each notice: linking the
 * registration with them would bring its token code, and libjwt, into
 * a process that never registers anything.
 */
#include <stdio.h>
#include <time.h>

#include "pns_fs.h"
#include "pns_handlers.h"
#include "pns_store.h"
#include "banned.h"

/* handlers/<h>.seen or .verified for (issuer, client_id, deployment_id). */
static int
stamp_path(const struct pns_config *cfg, enum pns_stamp which,
    const char *issuer, const char *client_id, const char *deployment_id,
    char *out)
{
	const char	*f[3] = { issuer, client_id, deployment_id };
	char		 h[65], name[80];

	pns_hash_fields(h, 3, f);
	(void)snprintf(name, sizeof(name), "%s.%s", h,
	    which == PNS_STAMP_SEEN ? "seen" : "verified");
	return pns_store_path(cfg, out, PNS_FS_PATH_MAX, PNS_DIR_HANDLERS,
	    name, NULL);
}

void
pns_handlers_stamp(const struct pns_config *cfg, enum pns_stamp which,
    const char *issuer, const char *client_id, const char *deployment_id)
{
	char	path[PNS_FS_PATH_MAX];

	if (stamp_path(cfg, which, issuer, client_id, deployment_id,
	    path) == 0)
		pns_touch(path);
}

time_t
pns_handlers_stamp_time(const struct pns_config *cfg, enum pns_stamp which,
    const char *issuer, const char *client_id, const char *deployment_id)
{
	char	path[PNS_FS_PATH_MAX];

	if (stamp_path(cfg, which, issuer, client_id, deployment_id,
	    path) == -1)
		return 0;
	return pns_mtime(path);
}
