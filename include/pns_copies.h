/* SPDX-License-Identifier: ISC */
/*
 * Context copies, as LtiContextCopyNotice reports them: "this course was
 * copied from those", so that the application can copy its own
 * per-course data.  One record per notice, copies/<key>.json:
 * notice_id, iss, client_id, deployment_id, context (the new course's
 * context claim), origin_contexts (absent when the content came from no
 * course) and copied_at (the notice's timestamp).
 */
#ifndef PNS_COPIES_H
#define PNS_COPIES_H

#include <json-c/json.h>

#include "pns_config.h"
#include "pns_err.h"
#include "pns_notice.h"

/*
 * Records the verified context-copy notice n, once: written with the
 * notice and made durable by the same group commit (pns_commit_wait).
 * A file a power failure left cut short under its name is replaced.
 */
int	pns_copies_record(const struct pns_config *cfg,
	    const struct pns_notice *n, struct pns_err *err);

/* Calls fn with every record; fn returning non-zero stops. */
int	pns_copies_foreach(const struct pns_config *cfg,
	    int (*fn)(struct json_object *, void *), void *arg,
	    struct pns_err *err);

#endif
