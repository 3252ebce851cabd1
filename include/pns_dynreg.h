/* SPDX-License-Identifier: ISC */
/*
 * LTI Dynamic Registration (1EdTech LTI Dynamic Registration 1.0), the
 * tool's side (docs/register.md).  The platform opens
 * lti.cgi/register?openid_configuration=URL&registration_token=TOKEN;
 * the tool fetches and checks the platform's OpenID configuration, POSTs
 * its own registration to the platform's registration_endpoint, and
 * stores the platform the answer describes.
 *
 * Anyone who can reach /register could register a platform of their own
 * and then launch the tool and send it notices, so the door is shut
 * unless the configuration opens it, and then only for issuer hosts on
 * an allow-list and/or URLs carrying a secret.  The gate runs before
 * any outgoing request: a refused caller cannot make the tool fetch
 * anything.
 *
 * Every public function follows pns_err.h (0 or -1 and err); those that
 * can fail for a reason the administrator must see also say which one
 * in an enum pns_dynreg_code, whose short names are what the pages show.
 */
#ifndef PNS_DYNREG_H
#define PNS_DYNREG_H

#include <stddef.h>

#include "pns_config.h"
#include "pns_err.h"
#include "pns_platform.h"
#include "pns_util.h"

#define PNS_DYNREG_DOC_MAX	(256 * 1024)	/* either document */
#define PNS_DYNREG_TOKEN_MAX	2048		/* registration_token */
#define PNS_DYNREG_DETAIL_MAX	512		/* a refusal, for the page */

#define PNS_DYNREG_PLATFORM_CONF \
	"https://purl.imsglobal.org/spec/lti-platform-configuration"
#define PNS_DYNREG_TOOL_CONF \
	"https://purl.imsglobal.org/spec/lti-tool-configuration"

/*
 * The script of the confirmation page: it posts the fixed close message
 * to the frame's parent (the platform), at once unless the page has a
 * "warnings" element, and again from a "close" button.  It carries no
 * data, so that the page's Content-Security-Policy can allow exactly
 * this script by its hash (pns_dynreg_csp).
 */
#define PNS_DYNREG_CLOSE_SCRIPT						\
	"(function(){function c(){window.parent.postMessage("		\
	"{subject:\"org.imsglobal.lti.close\"},\"*\");}"		\
	"var b=document.getElementById(\"close\");"			\
	"if(b)b.addEventListener(\"click\",c);"				\
	"if(!document.getElementById(\"warnings\"))c();})();"

/* Why a registration did not happen; the order is the order of checks. */
enum pns_dynreg_code {
	PNS_DYNREG_OK = 0,
	PNS_DYNREG_OFF,			/* registration = off */
	PNS_DYNREG_NOT_CONFIGURED,	/* on, but no allow-list nor secret,
					   or no tool key */
	PNS_DYNREG_BAD_REQUEST,		/* parameters missing or malformed */
	PNS_DYNREG_BAD_SECRET,		/* secret configured, missing/wrong */
	PNS_DYNREG_INSECURE,		/* http where https is required */
	PNS_DYNREG_NOT_ALLOWED,		/* host not on the allow-list */
	PNS_DYNREG_UNREACHABLE,		/* OpenID configuration not fetched */
	PNS_DYNREG_BAD_CONFIG,		/* it is not a usable configuration */
	PNS_DYNREG_ISSUER_MISMATCH,	/* issuer host != the URL's host */
	PNS_DYNREG_REFUSED,		/* the platform refused or failed */
	PNS_DYNREG_BAD_ANSWER,		/* its answer is unusable */
	PNS_DYNREG_STORAGE,		/* the platform could not be stored */
	PNS_DYNREG_CODE__MAX
};

/* The code's short name ("issuer_mismatch"), never NULL. */
const char	*pns_dynreg_code_str(enum pns_dynreg_code code);
/* The HTTP status of the page that reports the code. */
int		 pns_dynreg_code_status(enum pns_dynreg_code code);
/* One sentence for the administrator, never NULL. */
const char	*pns_dynreg_code_text(enum pns_dynreg_code code);

/* The parameters of one /register request; all borrowed. */
struct pns_dynreg_request {
	int		 malformed;		/* the query did not parse */
	const char	*openid_configuration;	/* NULL if absent */
	const char	*registration_token;	/* NULL if absent */
	const char	*secret;		/* NULL if absent */
};

/* A platform's OpenID configuration, checked. */
struct pns_dynreg_platform {
	char	issuer[PNS_URL_MAX];
	char	auth_url[PNS_URL_MAX];		/* authorization_endpoint */
	char	token_url[PNS_URL_MAX];		/* token_endpoint */
	char	jwks_url[PNS_URL_MAX];		/* jwks_uri */
	char	registration_url[PNS_URL_MAX];	/* registration_endpoint */
	char	product_family_code[64];	/* "" when not given */
	char	version[64];			/* "" when not given */
	int	lists_scopes;			/* scopes_supported given */
	int	offers_noticehandlers;		/* ... and lists the scope */
	int	lists_notice_types;		/* notice_types_supported given */
	char	notice_types[1024];		/* its names, space-separated */
};

/* The outcome of pns_dynreg_register. */
struct pns_dynreg_result {
	enum pns_dynreg_code		code;
	struct pns_dynreg_platform	platform;
	char	client_id[PNS_ID_MAX];
	char	deployment_id[PNS_ID_MAX];	/* "" when none was given */
	char	scope[256];			/* the scope asked for */
	char	granted_scope[1024];		/* the answer's, "" if none */
	int	updated;			/* it was registered already */
	long	status;				/* the registration's HTTP
						   status, 0 before it */
	char	detail[PNS_DYNREG_DETAIL_MAX];	/* the platform's refusal,
						   printable ASCII, or "" */
};

/*
 * The host of url, lowercased, into host (size bytes), and in *https
 * whether its scheme is https.  url must be an http(s) URL of printable
 * ASCII whose authority is host[:port] only: no user info, a host of
 * letters, digits, '.' and '-' or a bracketed IPv6 literal, a port of
 * 1 to 65535.  Anything else fails, so that the host compared with the
 * allow-list is the host libcurl connects to.
 */
int	pns_dynreg_url_host(const char *url, char *host, size_t size,
	    int *https, struct pns_err *err);

/* 1 if host is listed in registration_issuer_hosts (case-insensitive). */
int	pns_dynreg_host_allowed(const struct pns_config *cfg, const char *host);

/*
 * The door: registration on; an allow-list or a secret configured; a
 * well-formed request; the secret (compared in constant time) when one
 * is configured; an https openid_configuration URL (http only with
 * registration_allow_http) whose host is on the allow-list when there
 * is one.  On refusal *code says why.
 */
int	pns_dynreg_gate(const struct pns_config *cfg,
	    const struct pns_dynreg_request *rq, enum pns_dynreg_code *code,
	    struct pns_err *err);

/*
 * Parses and checks the OpenID configuration (buf, len) fetched from
 * oc_url into pl: issuer and the four endpoints present, https (or http
 * when allow_http), the issuer's host that of oc_url; the lists of
 * methods, algorithms and response types, where given, holding what the
 * tool uses; the LTI platform configuration present, its
 * messages_supported, where given, offering LtiResourceLinkRequest.
 * On failure *code is PNS_DYNREG_BAD_CONFIG or PNS_DYNREG_ISSUER_MISMATCH.
 */
int	pns_dynreg_parse_config(const char *buf, size_t len, const char *oc_url,
	    int allow_http, struct pns_dynreg_platform *pl,
	    enum pns_dynreg_code *code, struct pns_err *err);

/*
 * Appends to out the tool's registration request for platform pl, and
 * puts the scope it asks for in scope (size bytes): the notice-handlers
 * scope, unless pl lists its scopes without it.
 */
int	pns_dynreg_request_body(const struct pns_config *cfg,
	    const struct pns_dynreg_platform *pl, struct pns_buf *out,
	    char *scope, size_t size, struct pns_err *err);

/*
 * Parses the platform's answer to the registration (buf, len) into
 * res: client_id (required), the tool configuration's deployment_id and
 * the scope (where given).
 */
int	pns_dynreg_parse_answer(const char *buf, size_t len,
	    struct pns_dynreg_result *res, struct pns_err *err);

/*
 * The whole registration: the gate, the tool's key, the OpenID
 * configuration, the registration request, the answer, and the platform
 * stored (registered_by "dynamic"; the record of the same issuer and
 * client_id is updated).  Nothing is stored unless every step succeeds.
 * res is filled as far as the registration got; res->code says why it
 * stopped.
 */
int	pns_dynreg_register(const struct pns_config *cfg,
	    const struct pns_dynreg_request *rq, struct pns_dynreg_result *res,
	    struct pns_err *err);

/*
 * The Content-Security-Policy of the confirmation page: the usual one,
 * plus PNS_DYNREG_CLOSE_SCRIPT allowed by its SHA-256.
 */
int	pns_dynreg_csp(char *out, size_t size, struct pns_err *err);

#endif
