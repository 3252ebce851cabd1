/* SPDX-License-Identifier: ISC */
/*
 * LTI Dynamic Registration; see pns_dynreg.h and docs/register.md.
 * The platform's documents are parsed as (buf, len) with a depth limit,
 * and the members the tool relies on are rows of the tables below, each
 * with the rule it must meet, so that a new requirement is a new row.
 * Every string from the platform that reaches an error message is
 * escaped there, since error messages go to the log.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "pns_dynreg.h"
#include "pns_http.h"
#include "pns_json.h"
#include "pns_log.h"
#include "pns_token.h"
#include "pns_toolkey.h"
#include "banned.h"

#define DOC_DEPTH		16
#define MSG_RESOURCE_LINK	"LtiResourceLinkRequest"
#define BASE_CSP		"default-src 'none'; style-src 'unsafe-inline'"

/* Per code: its name, the page's status, a sentence, the error code. */
static const struct code_row {
	const char	*name;
	int		 status;
	enum pns_code	 ecode;
	const char	*text;
} codes[PNS_DYNREG_CODE__MAX] = {
	/* PNS_DYNREG_OK */
	{ "ok", 200, PNS_OK,
	    "The tool is registered with the platform." },
	/* PNS_DYNREG_OFF */
	{ "registration_off", 403, PNS_EINVAL,
	    "Dynamic registration is turned off on this tool; its "
	    "administrator can turn it on." },
	/* PNS_DYNREG_NOT_CONFIGURED */
	{ "registration_not_configured", 503, PNS_EINVAL,
	    "Dynamic registration is turned on, but the tool is not set up "
	    "for it: it needs a list of the platform hosts allowed to "
	    "register or a registration secret, and its key pair." },
	/* PNS_DYNREG_BAD_REQUEST */
	{ "bad_request", 400, PNS_EINVAL,
	    "The registration request needs one openid_configuration URL, "
	    "and at most one registration_token and one secret." },
	/* PNS_DYNREG_BAD_SECRET */
	{ "bad_secret", 403, PNS_EINVAL,
	    "The registration URL lacks the tool's registration secret, or "
	    "carries a wrong one." },
	/* PNS_DYNREG_INSECURE */
	{ "insecure_url", 403, PNS_EINVAL,
	    "The platform's URLs must use https." },
	/* PNS_DYNREG_NOT_ALLOWED */
	{ "issuer_not_allowed", 403, PNS_EINVAL,
	    "This platform's host is not on the tool's list of platforms "
	    "allowed to register." },
	/* PNS_DYNREG_UNREACHABLE */
	{ "platform_unreachable", 502, PNS_ENET,
	    "The platform could not be reached, or did not answer as "
	    "expected in time." },
	/* PNS_DYNREG_BAD_CONFIG */
	{ "bad_openid_configuration", 502, PNS_EINVAL,
	    "The platform's OpenID configuration is not one the tool can "
	    "use." },
	/* PNS_DYNREG_ISSUER_MISMATCH */
	{ "issuer_mismatch", 502, PNS_EINVAL,
	    "The platform's issuer is not on the host its OpenID "
	    "configuration came from." },
	/* PNS_DYNREG_REFUSED */
	{ "registration_refused", 502, PNS_ENET,
	    "The platform refused the registration." },
	/* PNS_DYNREG_BAD_ANSWER */
	{ "bad_registration_response", 502, PNS_EINVAL,
	    "The platform's answer to the registration is not one the tool "
	    "can use; the platform may have kept a registration, which "
	    "should be removed there before trying again." },
	/* PNS_DYNREG_STORAGE */
	{ "storage", 503, PNS_ESYS,
	    "The platform could not be stored by the tool; the platform may "
	    "have kept a registration, which should be removed there before "
	    "trying again." },
};

const char *
pns_dynreg_code_str(enum pns_dynreg_code code)
{
	return (unsigned)code < PNS_DYNREG_CODE__MAX ? codes[code].name :
	    "unknown";
}

int
pns_dynreg_code_status(enum pns_dynreg_code code)
{
	return (unsigned)code < PNS_DYNREG_CODE__MAX ? codes[code].status : 500;
}

const char *
pns_dynreg_code_text(enum pns_dynreg_code code)
{
	return (unsigned)code < PNS_DYNREG_CODE__MAX ? codes[code].text :
	    "The registration failed.";
}

/* Sets *out to code, err from the message, and returns -1. */
static int	fail(enum pns_dynreg_code *, enum pns_dynreg_code,
		    struct pns_err *, const char *, ...)
		    __attribute__((format(printf, 4, 5)));

static int
fail(enum pns_dynreg_code *out, enum pns_dynreg_code code,
    struct pns_err *err, const char *fmt, ...)
{
	va_list	ap;
	char	msg[sizeof(err->msg)];

	*out = code;
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return pns_err_set(err, codes[code].ecode, "%s", msg);
}

/* Untrusted s, escaped and cut for a message. */
static const char *
esc(const char *s, char *buf, size_t size)
{
	return pns_log_escape(s, strlen(s), buf, size);
}

int
pns_dynreg_url_host(const char *url, char *host, size_t size, int *https,
    struct pns_err *err)
{
	const char	*a, *end, *he, *p;
	size_t		 n, i;
	long		 port;

	/* Printable ASCII without blanks, http(s), a host, a length that
	 * fits; a backslash is refused too, since URL parsers disagree on
	 * whether it ends the authority. */
	if (!pns_url_valid(url) || strchr(url, '\\') != NULL)
		return pns_err_set(err, PNS_EINVAL, "not an http(s) URL");
	*https = strncmp(url, "https://", 8) == 0;
	a = url + (*https ? 8 : 7);
	end = a + strcspn(a, "/?#");
	if (memchr(a, '@', (size_t)(end - a)) != NULL)
		return pns_err_set(err, PNS_EINVAL, "URL with user info");
	if (*a == '[') {
		if ((he = memchr(a, ']', (size_t)(end - a))) == NULL ||
		    he == a + 1)
			return pns_err_set(err, PNS_EINVAL, "bad IPv6 host");
		for (p = a + 1; p < he; p++)
			if (!isxdigit((unsigned char)*p) && *p != ':' &&
			    *p != '.')
				return pns_err_set(err, PNS_EINVAL,
				    "bad IPv6 host");
		he++;
	} else {
		for (he = a; he < end && *he != ':'; he++)
			if (!isalnum((unsigned char)*he) && *he != '.' &&
			    *he != '-')
				return pns_err_set(err, PNS_EINVAL,
				    "bad host in URL");
		if (he == a)
			return pns_err_set(err, PNS_EINVAL, "no host in URL");
	}
	if (he < end) {
		/* ":port", digits only, 1 to 65535. */
		if (*he != ':' || end - he < 2 || end - he > 6)
			return pns_err_set(err, PNS_EINVAL, "bad port in URL");
		port = 0;
		for (p = he + 1; p < end; p++) {
			if (!isdigit((unsigned char)*p))
				return pns_err_set(err, PNS_EINVAL,
				    "bad port in URL");
			port = port * 10 + (*p - '0');
		}
		if (port < 1 || port > 65535)
			return pns_err_set(err, PNS_EINVAL, "bad port in URL");
	}
	n = (size_t)(he - a);
	if (n >= size)
		return pns_err_set(err, PNS_ELIMIT, "host name too long");
	for (i = 0; i < n; i++)
		host[i] = (char)tolower((unsigned char)a[i]);
	host[n] = '\0';
	return 0;
}

int
pns_dynreg_host_allowed(const struct pns_config *cfg, const char *host)
{
	const char	*p = cfg->registration_issuer_hosts;
	size_t		 n = strlen(host), w;

	if (n == 0)
		return 0;
	while (*p != '\0') {
		w = strcspn(p, " ");
		if (w == n && strncasecmp(p, host, n) == 0)
			return 1;
		p += w;
		while (*p == ' ')
			p++;
	}
	return 0;
}

/*
 * The secret and the candidate are hashed first, so that the
 * constant-time comparison also hides how long the secret is.
 */
static int
secret_matches(const char *secret, const char *given)
{
	const char	*fs[1] = { secret }, *fg[1] = { given };
	char		 hs[65], hg[65];

	pns_hash_fields(hs, 1, fs);
	pns_hash_fields(hg, 1, fg);
	return pns_ct_equal(hs, hg, 64);
}

/* A bearer token goes into a header line: printable, no blank. */
static int
token_valid(const char *t)
{
	size_t	i;

	for (i = 0; t[i] != '\0'; i++)
		if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f)
			return 0;
	return i > 0 && i < PNS_DYNREG_TOKEN_MAX;
}

int
pns_dynreg_gate(const struct pns_config *cfg,
    const struct pns_dynreg_request *rq, enum pns_dynreg_code *code,
    struct pns_err *err)
{
	struct pns_err	lerr;
	char		host[256], e[160];
	int		https;

	*code = PNS_DYNREG_OK;
	if (!cfg->registration)
		return fail(code, PNS_DYNREG_OFF, err, "registration is off");
	if (cfg->registration_issuer_hosts[0] == '\0' &&
	    cfg->registration_secret[0] == '\0')
		return fail(code, PNS_DYNREG_NOT_CONFIGURED, err,
		    "registration is on, but neither "
		    "registration_issuer_hosts nor registration_secret is set");
	if (rq->malformed)
		return fail(code, PNS_DYNREG_BAD_REQUEST, err, "the query does "
		    "not parse (a parameter given twice, or a bad escape)");
	/* Before anything about the request is looked at: without the
	 * secret a caller learns nothing else. */
	if (cfg->registration_secret[0] != '\0' && (rq->secret == NULL ||
	    !secret_matches(cfg->registration_secret, rq->secret)))
		return fail(code, PNS_DYNREG_BAD_SECRET, err,
		    "registration secret %s", rq->secret == NULL ? "missing" :
		    "wrong");
	if (rq->openid_configuration == NULL ||
	    rq->openid_configuration[0] == '\0')
		return fail(code, PNS_DYNREG_BAD_REQUEST, err,
		    "openid_configuration missing");
	if (rq->registration_token != NULL &&
	    !token_valid(rq->registration_token))
		return fail(code, PNS_DYNREG_BAD_REQUEST, err,
		    "registration_token malformed");
	pns_err_clear(&lerr);
	if (pns_dynreg_url_host(rq->openid_configuration, host, sizeof(host),
	    &https, &lerr) == -1)
		return fail(code, PNS_DYNREG_BAD_REQUEST, err,
		    "openid_configuration: %s", lerr.msg);
	if (!https && !cfg->registration_allow_http)
		return fail(code, PNS_DYNREG_INSECURE, err,
		    "openid_configuration is not https");
	if (cfg->registration_issuer_hosts[0] != '\0' &&
	    !pns_dynreg_host_allowed(cfg, host))
		return fail(code, PNS_DYNREG_NOT_ALLOWED, err, "host %s is not "
		    "in registration_issuer_hosts", esc(host, e, sizeof(e)));
	return 0;
}

/* The platform's URLs: present, usable, https unless allowed. */
static const struct url_field {
	const char	*key;
	size_t		 off;		/* in struct pns_dynreg_platform */
} url_fields[] = {
	{ "issuer", offsetof(struct pns_dynreg_platform, issuer) },
	{ "authorization_endpoint",
	    offsetof(struct pns_dynreg_platform, auth_url) },
	{ "token_endpoint", offsetof(struct pns_dynreg_platform, token_url) },
	{ "jwks_uri", offsetof(struct pns_dynreg_platform, jwks_url) },
	{ "registration_endpoint",
	    offsetof(struct pns_dynreg_platform, registration_url) },
};

/* Lists that, where the platform gives them, must hold what the tool
 * uses: it only knows id_token launches, RS256 and signed assertions. */
static const struct list_field {
	const char	*key;
	const char	*needs;
} list_fields[] = {
	{ "response_types_supported", "id_token" },
	{ "id_token_signing_alg_values_supported", "RS256" },
	{ "token_endpoint_auth_methods_supported", "private_key_jwt" },
	{ "token_endpoint_auth_signing_alg_values_supported", "RS256" },
};

/*
 * Member key of o, when present, as an array of strings: 1 if it holds
 * want (want may be NULL), 0 if not, -1 if it is not such an array.
 * *present says whether the member exists.
 */
static int
str_list(struct json_object *o, const char *key, const char *want,
    int *present)
{
	struct json_object	*arr, *v;
	size_t			 i, n;
	int			 has = 0;

	*present = json_object_object_get_ex(o, key, &arr);
	if (!*present)
		return 0;
	if (!json_object_is_type(arr, json_type_array))
		return -1;
	n = json_object_array_length(arr);
	for (i = 0; i < n; i++) {
		v = json_object_array_get_idx(arr, i);
		if (!pns_json_is_clean_str(v))
			return -1;
		if (want != NULL && strcmp(json_object_get_string(v), want) == 0)
			has = 1;
	}
	return has;
}

/* An optional string member, for display: printable, cut to size. */
static int
opt_text(struct json_object *o, const char *key, char *dst, size_t size)
{
	struct json_object	*v;
	const char		*s;
	size_t			 i;

	dst[0] = '\0';
	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!pns_json_is_clean_str(v))
		return -1;
	s = json_object_get_string(v);
	for (i = 0; s[i] != '\0' && i + 1 < size; i++)
		dst[i] = (unsigned char)s[i] >= 0x20 &&
		    (unsigned char)s[i] < 0x7f ? s[i] : '?';
	dst[i] = '\0';
	return 0;
}

/* messages_supported: objects with a "type" (or, leniently, bare type
 * names); 1 if one is a resource link launch, -1 if malformed. */
static int
offers_resource_link(struct json_object *arr)
{
	struct json_object	*v;
	const char		*type;
	size_t			 i, n;
	int			 has = 0;

	if (!json_object_is_type(arr, json_type_array))
		return -1;
	n = json_object_array_length(arr);
	for (i = 0; i < n; i++) {
		v = json_object_array_get_idx(arr, i);
		if (pns_json_is_clean_str(v))
			type = json_object_get_string(v);
		else if ((type = pns_json_str(v, "type")) == NULL)
			return -1;
		if (strcmp(type, MSG_RESOURCE_LINK) == 0)
			has = 1;
	}
	return has;
}

/* notice_types_supported, where given: the names that can be notice
 * types (letters and digits), space-separated; others are skipped, as
 * the configuration could never ask for them. */
static int
notice_types(struct json_object *arr, char *dst, size_t size)
{
	struct json_object	*v;
	const char		*s;
	size_t			 i, n, o = 0, len, j;

	dst[0] = '\0';
	if (!json_object_is_type(arr, json_type_array))
		return -1;
	n = json_object_array_length(arr);
	for (i = 0; i < n; i++) {
		v = json_object_array_get_idx(arr, i);
		if (!pns_json_is_clean_str(v))
			return -1;
		s = json_object_get_string(v);
		len = strlen(s);
		for (j = 0; j < len && isalnum((unsigned char)s[j]); j++)
			continue;
		if (len == 0 || j != len || o + len + 2 > size)
			continue;
		if (o > 0)
			dst[o++] = ' ';
		memcpy(dst + o, s, len + 1);
		o += len;
	}
	return 0;
}

int
pns_dynreg_parse_config(const char *buf, size_t len, const char *oc_url,
    int allow_http, struct pns_dynreg_platform *pl,
    enum pns_dynreg_code *code, struct pns_err *err)
{
	struct json_object	*o = NULL, *pc, *v;
	struct pns_err		 lerr;
	const char		*s;
	char			 oc_host[256], host[256], e1[160], e2[160];
	size_t			 i;
	int			 https, present, rc = -1;

	memset(pl, 0, sizeof(*pl));
	*code = PNS_DYNREG_OK;
	pns_err_clear(&lerr);
	if (pns_dynreg_url_host(oc_url, oc_host, sizeof(oc_host), &https,
	    &lerr) == -1) {
		fail(code, PNS_DYNREG_BAD_REQUEST, err,
		    "openid_configuration: %s", lerr.msg);
		goto out;
	}
	if (pns_json_parse(buf, len, DOC_DEPTH, &o, &lerr) == -1) {
		fail(code, PNS_DYNREG_BAD_CONFIG, err, "not JSON: %s", lerr.msg);
		goto out;
	}
	if (!json_object_is_type(o, json_type_object)) {
		fail(code, PNS_DYNREG_BAD_CONFIG, err, "not a JSON object");
		goto out;
	}
	for (i = 0; i < sizeof(url_fields) / sizeof(url_fields[0]); i++) {
		if ((s = pns_json_nestr(o, url_fields[i].key)) == NULL) {
			fail(code, PNS_DYNREG_BAD_CONFIG, err, "%s missing",
			    url_fields[i].key);
			goto out;
		}
		pns_err_clear(&lerr);
		if (pns_dynreg_url_host(s, host, sizeof(host), &https,
		    &lerr) == -1) {
			fail(code, PNS_DYNREG_BAD_CONFIG, err, "%s: %s",
			    url_fields[i].key, lerr.msg);
			goto out;
		}
		if (!https && !allow_http) {
			fail(code, PNS_DYNREG_BAD_CONFIG, err, "%s is not https",
			    url_fields[i].key);
			goto out;
		}
		memcpy((char *)pl + url_fields[i].off, s, strlen(s) + 1);
		if (i != 0)
			continue;
		/* The issuer is an identifier: no query, no fragment; and it
		 * must be the host that served this document, or any host
		 * could speak for any platform. */
		if (strpbrk(s, "?#") != NULL) {
			fail(code, PNS_DYNREG_BAD_CONFIG, err,
			    "issuer has a query or fragment");
			goto out;
		}
		if (strcmp(host, oc_host) != 0) {
			fail(code, PNS_DYNREG_ISSUER_MISMATCH, err, "issuer host "
			    "%s is not the host %s of openid_configuration",
			    esc(host, e1, sizeof(e1)),
			    esc(oc_host, e2, sizeof(e2)));
			goto out;
		}
	}
	for (i = 0; i < sizeof(list_fields) / sizeof(list_fields[0]); i++) {
		switch (str_list(o, list_fields[i].key, list_fields[i].needs,
		    &present)) {
		case -1:
			fail(code, PNS_DYNREG_BAD_CONFIG, err,
			    "%s is not a list of strings", list_fields[i].key);
			goto out;
		case 0:
			if (!present)
				break;
			fail(code, PNS_DYNREG_BAD_CONFIG, err, "%s lacks %s",
			    list_fields[i].key, list_fields[i].needs);
			goto out;
		default:
			break;
		}
	}
	switch (str_list(o, "scopes_supported", PNS_SCOPE_NOTICEHANDLERS,
	    &present)) {
	case -1:
		fail(code, PNS_DYNREG_BAD_CONFIG, err,
		    "scopes_supported is not a list of strings");
		goto out;
	case 1:
		pl->offers_noticehandlers = 1;
		break;
	default:
		break;
	}
	pl->lists_scopes = present;

	if ((pc = pns_json_obj(o, PNS_DYNREG_PLATFORM_CONF)) == NULL) {
		fail(code, PNS_DYNREG_BAD_CONFIG, err, "no %s object",
		    PNS_DYNREG_PLATFORM_CONF);
		goto out;
	}
	if (opt_text(pc, "product_family_code", pl->product_family_code,
	    sizeof(pl->product_family_code)) == -1 ||
	    opt_text(pc, "version", pl->version, sizeof(pl->version)) == -1) {
		fail(code, PNS_DYNREG_BAD_CONFIG, err,
		    "product_family_code or version is not a string");
		goto out;
	}
	if (json_object_object_get_ex(pc, "messages_supported", &v)) {
		switch (offers_resource_link(v)) {
		case -1:
			fail(code, PNS_DYNREG_BAD_CONFIG, err,
			    "messages_supported is malformed");
			goto out;
		case 0:
			/* The handlers are registered at a launch: a platform
			 * that never launches the tool never sends notices. */
			fail(code, PNS_DYNREG_BAD_CONFIG, err,
			    "messages_supported lacks " MSG_RESOURCE_LINK);
			goto out;
		default:
			break;
		}
	}
	if (json_object_object_get_ex(pc, "notice_types_supported", &v)) {
		if (notice_types(v, pl->notice_types,
		    sizeof(pl->notice_types)) == -1) {
			fail(code, PNS_DYNREG_BAD_CONFIG, err,
			    "notice_types_supported is not a list of strings");
			goto out;
		}
		pl->lists_notice_types = 1;
	}
	rc = 0;
out:
	json_object_put(o);
	return rc;
}

static void
add_str(struct json_object *o, const char *key, const char *value)
{
	json_object_object_add(o, key, json_object_new_string(value));
}

static struct json_object *
str_array(const char *const *v, size_t n)
{
	struct json_object	*a = json_object_new_array();
	size_t			 i;

	for (i = 0; a != NULL && i < n; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

int
pns_dynreg_request_body(const struct pns_config *cfg,
    const struct pns_dynreg_platform *pl, struct pns_buf *out, char *scope,
    size_t size, struct pns_err *err)
{
	static const char *const response_types[] = { "id_token" };
	static const char *const grant_types[] = { "implicit",
	    "client_credentials" };
	/* What the launch page shows: who launched. */
	static const char *const claims[] = { "iss", "sub", "name" };
	struct json_object	*o, *tc, *msgs, *msg;
	char			 login[PNS_URL_MAX + 32], launch[PNS_URL_MAX + 32];
	char			 jwks[PNS_URL_MAX + 32], domain[256];
	const char		*launch_p = launch;
	int			 https, rc;

	if (pns_dynreg_url_host(cfg->base_url, domain, sizeof(domain), &https,
	    err) == -1)
		return -1;
	(void)snprintf(login, sizeof(login), "%s/lti.cgi/login", cfg->base_url);
	(void)snprintf(launch, sizeof(launch), "%s/lti.cgi/launch",
	    cfg->base_url);
	(void)snprintf(jwks, sizeof(jwks), "%s/lti.cgi/jwks", cfg->base_url);
	/* Only scopes the platform offers, when it says which it offers. */
	if (!pl->lists_scopes || pl->offers_noticehandlers)
		(void)snprintf(scope, size, "%s", PNS_SCOPE_NOTICEHANDLERS);
	else if (size > 0)
		scope[0] = '\0';

	if ((o = json_object_new_object()) == NULL)
		return pns_err_set(err, PNS_ENOMEM, "out of memory");
	add_str(o, "application_type", "web");
	json_object_object_add(o, "response_types", str_array(response_types,
	    sizeof(response_types) / sizeof(response_types[0])));
	json_object_object_add(o, "grant_types", str_array(grant_types,
	    sizeof(grant_types) / sizeof(grant_types[0])));
	add_str(o, "initiate_login_uri", login);
	json_object_object_add(o, "redirect_uris", str_array(&launch_p, 1));
	add_str(o, "client_name", cfg->tool_title);
	add_str(o, "jwks_uri", jwks);
	add_str(o, "token_endpoint_auth_method", "private_key_jwt");
	add_str(o, "scope", scope);

	tc = json_object_new_object();
	add_str(tc, "domain", domain);
	add_str(tc, "target_link_uri", launch);
	add_str(tc, "description", cfg->tool_description);
	json_object_object_add(tc, "claims", str_array(claims,
	    sizeof(claims) / sizeof(claims[0])));
	msgs = json_object_new_array();
	msg = json_object_new_object();
	add_str(msg, "type", MSG_RESOURCE_LINK);
	add_str(msg, "target_link_uri", launch);
	add_str(msg, "label", cfg->tool_title);
	json_object_array_add(msgs, msg);
	json_object_object_add(tc, "messages", msgs);
	json_object_object_add(o, PNS_DYNREG_TOOL_CONF, tc);

	rc = pns_buf_adds(out, json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE), err);
	json_object_put(o);
	return rc;
}

int
pns_dynreg_parse_answer(const char *buf, size_t len,
    struct pns_dynreg_result *res, struct pns_err *err)
{
	struct json_object	*o = NULL, *tc, *v;
	const char		*s;
	int			 rc = -1;

	res->client_id[0] = res->deployment_id[0] = '\0';
	res->granted_scope[0] = '\0';
	if (pns_json_parse(buf, len, DOC_DEPTH, &o, err) == -1)
		goto out;
	if (!json_object_is_type(o, json_type_object)) {
		pns_err_set(err, PNS_EINVAL, "the answer is not a JSON object");
		goto out;
	}
	if ((s = pns_json_str(o, "client_id")) == NULL || !pns_id_valid(s)) {
		pns_err_set(err, PNS_EINVAL, "the answer has no usable client_id");
		goto out;
	}
	memcpy(res->client_id, s, strlen(s) + 1);
	if (json_object_object_get_ex(o, PNS_DYNREG_TOOL_CONF, &tc)) {
		if (!json_object_is_type(tc, json_type_object)) {
			pns_err_set(err, PNS_EINVAL,
			    "the answer's tool configuration is not an object");
			goto out;
		}
		if (json_object_object_get_ex(tc, "deployment_id", &v)) {
			if (!pns_json_is_clean_str(v) ||
			    !pns_id_valid(json_object_get_string(v))) {
				pns_err_set(err, PNS_EINVAL,
				    "the answer's deployment_id is not usable");
				goto out;
			}
			s = json_object_get_string(v);
			memcpy(res->deployment_id, s, strlen(s) + 1);
		}
	}
	if (opt_text(o, "scope", res->granted_scope,
	    sizeof(res->granted_scope)) == -1) {
		pns_err_set(err, PNS_EINVAL, "the answer's scope is not a string");
		goto out;
	}
	rc = 0;
out:
	json_object_put(o);
	return rc;
}

/* The start of a refusal's body, for the page: printable ASCII. */
static void
detail(const struct pns_buf *b, char *out, size_t size)
{
	size_t	i;

	for (i = 0; i < b->len && i + 1 < size; i++)
		out[i] = b->data[i] == '\n' || b->data[i] == '\t' ? ' ' :
		    (unsigned char)b->data[i] >= 0x20 &&
		    (unsigned char)b->data[i] < 0x7f ? b->data[i] : '?';
	out[i] = '\0';
}

int
pns_dynreg_register(const struct pns_config *cfg,
    const struct pns_dynreg_request *rq, struct pns_dynreg_result *res,
    struct pns_err *err)
{
	struct pns_http_call		 call;
	struct pns_toolkey		 key;
	struct pns_platform		 p, old;
	struct pns_buf			 doc, body;
	struct pns_err			 lerr;
	const struct pns_dynreg_platform *pl = &res->platform;
	int				 rc = -1;

	memset(res, 0, sizeof(*res));
	pns_buf_init(&doc, PNS_DYNREG_DOC_MAX);
	pns_buf_init(&body, 64 * 1024);
	pns_platform_init(&p);
	pns_platform_init(&old);
	if (pns_dynreg_gate(cfg, rq, &res->code, err) == -1)
		goto out;
	/* The platform may fetch the tool's key set at once, and every
	 * access token needs the key: no key, no registration. */
	pns_err_clear(&lerr);
	if (pns_toolkey_load(cfg, &key, &lerr) == -1) {
		fail(&res->code, PNS_DYNREG_NOT_CONFIGURED, err,
		    "the tool has no key pair (pnsctl init): %s", lerr.msg);
		goto out;
	}
	pns_toolkey_release(&key);

	/* The registration token goes with the configuration request too,
	 * as Canvas asks; redirects are not followed, so it goes nowhere
	 * but the URL that passed the gate. */
	memset(&call, 0, sizeof(call));
	call.method = "GET";
	call.url = rq->openid_configuration;
	call.bearer = rq->registration_token;
	call.timeout = cfg->http_timeout;
	pns_err_clear(&lerr);
	if (pns_http_request(&call, &doc, &lerr) == -1) {
		fail(&res->code, PNS_DYNREG_UNREACHABLE, err,
		    "openid_configuration: %s", lerr.msg);
		goto out;
	}
	if (call.status != 200) {
		fail(&res->code, PNS_DYNREG_UNREACHABLE, err,
		    "openid_configuration: HTTP status %ld", call.status);
		goto out;
	}
	if (pns_dynreg_parse_config(doc.data, doc.len, rq->openid_configuration,
	    cfg->registration_allow_http, &res->platform, &res->code, err) == -1)
		goto out;
	pns_err_clear(&lerr);
	if (pns_dynreg_request_body(cfg, pl, &body, res->scope,
	    sizeof(res->scope), &lerr) == -1) {
		fail(&res->code, PNS_DYNREG_NOT_CONFIGURED, err,
		    "registration request: %s", lerr.msg);
		goto out;
	}

	pns_buf_reset(&doc);
	memset(&call, 0, sizeof(call));
	call.method = "POST";
	call.url = pl->registration_url;
	call.bearer = rq->registration_token;
	call.content_type = "application/json";
	call.body = body.data;
	call.body_len = body.len;
	call.timeout = cfg->http_timeout;
	pns_err_clear(&lerr);
	if (pns_http_request(&call, &doc, &lerr) == -1) {
		fail(&res->code, PNS_DYNREG_UNREACHABLE, err,
		    "registration_endpoint: %s", lerr.msg);
		goto out;
	}
	res->status = call.status;
	if (call.status < 200 || call.status > 299) {
		detail(&doc, res->detail, sizeof(res->detail));
		fail(&res->code, PNS_DYNREG_REFUSED, err,
		    "registration_endpoint answered HTTP %ld", call.status);
		goto out;
	}
	pns_err_clear(&lerr);
	if (pns_dynreg_parse_answer(doc.data, doc.len, res, &lerr) == -1) {
		fail(&res->code, PNS_DYNREG_BAD_ANSWER, err,
		    "registration_endpoint: %s", lerr.msg);
		goto out;
	}

	memcpy(p.issuer, pl->issuer, sizeof(p.issuer));
	memcpy(p.client_id, res->client_id, sizeof(p.client_id));
	memcpy(p.auth_url, pl->auth_url, sizeof(p.auth_url));
	memcpy(p.token_url, pl->token_url, sizeof(p.token_url));
	memcpy(p.jwks_url, pl->jwks_url, sizeof(p.jwks_url));
	(void)snprintf(p.registered_by, sizeof(p.registered_by), "dynamic");
	pns_err_clear(&lerr);
	if (res->deployment_id[0] != '\0' &&
	    pns_platform_add_deployment(&p, res->deployment_id, &lerr) == -1) {
		fail(&res->code, PNS_DYNREG_BAD_ANSWER, err, "deployment_id: %s",
		    lerr.msg);
		goto out;
	}
	res->updated = pns_platform_load(cfg, p.issuer, p.client_id, &old,
	    NULL) == 0;
	pns_err_clear(&lerr);
	if (pns_platform_save(cfg, &p, &lerr) == -1) {
		fail(&res->code, PNS_DYNREG_STORAGE, err, "storing the platform: "
		    "%s", lerr.msg);
		goto out;
	}
	res->code = PNS_DYNREG_OK;
	rc = 0;
out:
	pns_platform_release(&old);
	pns_platform_release(&p);
	pns_buf_release(&body);
	pns_buf_release(&doc);
	return rc;
}

int
pns_dynreg_csp(char *out, size_t size, struct pns_err *err)
{
	static const char	 script[] = PNS_DYNREG_CLOSE_SCRIPT;
	unsigned char		 md[EVP_MAX_MD_SIZE], b64[4 * EVP_MAX_MD_SIZE];
	unsigned int		 mdlen = 0;
	int			 n;

	if (EVP_Digest(script, sizeof(script) - 1, md, &mdlen, EVP_sha256(),
	    NULL) != 1)
		return pns_err_set(err, PNS_ECRYPTO, "SHA-256 failed");
	(void)EVP_EncodeBlock(b64, md, (int)mdlen);
	n = snprintf(out, size, BASE_CSP "; script-src 'sha256-%s'", b64);
	if (n < 0 || (size_t)n >= size)
		return pns_err_set(err, PNS_ELIMIT, "policy does not fit");
	return 0;
}
