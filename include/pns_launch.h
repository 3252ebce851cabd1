/* SPDX-License-Identifier: ISC */
/*
 * LTI 1.3 launch validation: the id_token posted to /launch, checked
 * against the state its login stored (docs/launch.md has the rules and
 * their order).  The signature part is the notices' verifier.
 */
#ifndef PNS_LAUNCH_H
#define PNS_LAUNCH_H

#include <stddef.h>
#include <time.h>

#include <json-c/json.h>

#include "pns_jws.h"
#include "pns_state.h"
#include "pns_verdict.h"
#include "pns_verifier.h"

#define PNS_LTI			"https://purl.imsglobal.org/spec/lti/claim/"
#define PNS_CLAIM_MESSAGE_TYPE	PNS_LTI "message_type"
#define PNS_CLAIM_ROLES		PNS_LTI "roles"
#define PNS_CLAIM_RESOURCE_LINK	PNS_LTI "resource_link"
#define PNS_CLAIM_CONTEXT	PNS_LTI "context"
#define PNS_CLAIM_TARGET_LINK	PNS_LTI "target_link_uri"
#define PNS_CLAIM_PNS		PNS_LTI "platformnotificationservice"
#define PNS_CLAIM_DL_SETTINGS	\
	"https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"

/* A verified launch; strings borrowed from jws.payload. */
struct pns_launch {
	struct pns_jws		 jws;
	struct pns_claims	 claims;
	const char		*message_type;
	const char		*deployment_id;
	struct json_object	*roles;		/* array */
	struct json_object	*pns;		/* the PNS claim, or NULL */
};

void	pns_launch_init(struct pns_launch *l);
void	pns_launch_release(struct pns_launch *l);

/*
 * Verifies the id_token (tok, len) for the consumed login record st at
 * time now.  tok must outlive l.  On PNS_V_OK, v->platform is the
 * launch's platform.
 */
enum pns_verdict pns_launch_verify(struct pns_verifier *v,
	    const struct pns_state *st, const char *tok, size_t len,
	    time_t now, struct pns_launch *l);

/* 1 if the launch's roles include an instructor or administrator role. */
int	pns_launch_is_staff(const struct pns_launch *l);

#endif
