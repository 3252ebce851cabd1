/* SPDX-License-Identifier: ISC */
/*
 * LTI Dynamic Registration (docs/register.md): the URL host parser the
 * allow-list relies on, the door, the OpenID configuration checks on a
 * Canvas-shaped document with each bad variant beside the good one, the
 * registration request, the platform's answer, the configuration keys,
 * and the whole registration stopping before it stores anything.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "pns_dynreg.h"
#include "pns_store.h"
#include "pns_toolkey.h"
#include "unit.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define OC_URL		"https://canvas.example.edu/api/lti/security/" \
			"openid-configuration"
#define NH		"https://purl.imsglobal.org/spec/lti/scope/noticehandlers"
#define PC		PNS_DYNREG_PLATFORM_CONF

/* Canvas's OpenID configuration, as canvas-lms doc/api/registration.md
 * shows it (shortened), on the issuer's host. */
static const char good_doc[] =
    "{\"issuer\":\"https://canvas.example.edu\","
    "\"authorization_endpoint\":\"https://sso.example.edu/api/lti/"
    "authorize_redirect\","
    "\"registration_endpoint\":\"https://canvas.example.edu/api/lti/"
    "registrations\","
    "\"jwks_uri\":\"https://sso.example.edu/api/lti/security/jwks\","
    "\"token_endpoint\":\"https://sso.example.edu/login/oauth2/token\","
    "\"token_endpoint_auth_methods_supported\":[\"private_key_jwt\"],"
    "\"token_endpoint_auth_signing_alg_values_supported\":[\"RS256\"],"
    "\"scopes_supported\":[\"https://purl.imsglobal.org/spec/lti-ags/scope/"
    "score\",\"" NH "\"],"
    "\"response_types_supported\":[\"id_token\"],"
    "\"id_token_signing_alg_values_supported\":[\"RS256\"],"
    "\"claims_supported\":[\"sub\",\"name\"],"
    "\"subject_types_supported\":[\"public\"],"
    "\"authorization_server\":\"canvas.example.edu\","
    "\"" PC "\":{\"product_family_code\":\"canvas\",\"version\":\"vCloud\","
    "\"messages_supported\":[{\"type\":\"LtiResourceLinkRequest\","
    "\"placements\":[\"course_navigation\"]},{\"type\":"
    "\"LtiDeepLinkingRequest\"}],"
    "\"notice_types_supported\":[\"LtiHelloWorldNotice\","
    "\"LtiContextCopyNotice\",\"not a type\"],"
    "\"variables\":[\"ResourceLink.id\"],"
    "\"https://canvas.instructure.com/lti/account_name\":\"U\"}}";

/* Parses the good document with member name replaced by value (JSON
 * text; NULL removes it), inside the platform configuration when inner. */
static int
parse_with(const char *name, const char *value, int inner, int allow_http,
    struct pns_dynreg_platform *pl, enum pns_dynreg_code *code)
{
	struct json_object	*o, *target;
	struct pns_err		 err;
	const char		*text;
	int			 rc;

	o = json_tokener_parse(good_doc);
	ck_assert_ptr_nonnull(o);
	target = inner ? json_object_object_get(o, PC) : o;
	if (name != NULL) {
		json_object_object_del(target, name);
		if (value != NULL)
			json_object_object_add(target, name,
			    json_tokener_parse(value));
	}
	text = json_object_to_json_string(o);
	pns_err_clear(&err);
	rc = pns_dynreg_parse_config(text, strlen(text), OC_URL, allow_http, pl,
	    code, &err);
	if (rc == -1)
		ck_assert(err.msg[0] != '\0');
	json_object_put(o);
	return rc;
}

static enum pns_dynreg_code
refused(const char *name, const char *value, int inner)
{
	struct pns_dynreg_platform	pl;
	enum pns_dynreg_code		code;

	ck_assert_int_eq(parse_with(name, value, inner, 0, &pl, &code), -1);
	ck_assert_int_ne(code, PNS_DYNREG_OK);
	return code;
}

START_TEST(url_host)
{
	static const struct {
		const char	*url;
		const char	*host;		/* NULL: refused */
		int		 https;
	} cases[] = {
		{ "https://canvas.example.edu/api", "canvas.example.edu", 1 },
		{ "https://Canvas.Example.EDU", "canvas.example.edu", 1 },
		{ "http://127.0.0.1:8080/x?y#z", "127.0.0.1", 0 },
		{ "https://[::1]:443/", "[::1]", 1 },
		{ "https://h.example:65535?q", "h.example", 1 },
		{ "https://h.example#f", "h.example", 1 },
		/* User info would let "allowed@evil" pass as allowed. */
		{ "https://allowed.example@evil.example/", NULL, 0 },
		{ "https://evil.example\\@allowed.example/", NULL, 0 },
		{ "https://allowed.example\\.evil.example/", NULL, 0 },
		{ "https://h.example:0/", NULL, 0 },
		{ "https://h.example:65536/", NULL, 0 },
		{ "https://h.example:/", NULL, 0 },
		{ "https://h.example:+80/", NULL, 0 },
		{ "https://h.example:80a/", NULL, 0 },
		{ "https://h_example/", NULL, 0 },
		{ "https://h%2eexample/", NULL, 0 },
		{ "https://[::1/", NULL, 0 },
		{ "https://[]/", NULL, 0 },
		{ "https://:443/", NULL, 0 },
		{ "https:///path", NULL, 0 },
		{ "ftp://h.example/", NULL, 0 },
		{ "h.example", NULL, 0 },
		{ "https://h.example/a b", NULL, 0 },
		{ "https://h.example/\x01", NULL, 0 },
		{ "", NULL, 0 },
	};
	char	host[256];
	size_t	i;
	int	https;

	for (i = 0; i < NELEM(cases); i++) {
		https = -1;
		if (cases[i].host == NULL) {
			ck_assert_msg(pns_dynreg_url_host(cases[i].url, host,
			    sizeof(host), &https, NULL) == -1, "%s accepted",
			    cases[i].url);
			continue;
		}
		ck_assert_msg(pns_dynreg_url_host(cases[i].url, host,
		    sizeof(host), &https, NULL) == 0, "%s refused", cases[i].url);
		ck_assert_str_eq(host, cases[i].host);
		ck_assert_int_eq(https, cases[i].https);
	}
	/* A host that does not fit is refused, not cut. */
	ck_assert_int_eq(pns_dynreg_url_host("https://abcdef.example/", host, 6,
	    &https, NULL), -1);
}
END_TEST

static void
door_config(struct pns_config *cfg)
{
	pns_config_defaults(cfg);
	(void)snprintf(cfg->base_url, sizeof(cfg->base_url),
	    "https://tool.example/cgi-bin");
	(void)snprintf(cfg->data_dir, sizeof(cfg->data_dir), "/nonexistent");
	cfg->registration = 1;
	(void)snprintf(cfg->registration_issuer_hosts,
	    sizeof(cfg->registration_issuer_hosts),
	    "canvas.example.edu 127.0.0.1");
}

static enum pns_dynreg_code
door(const struct pns_config *cfg, const char *oc, const char *token,
    const char *secret)
{
	struct pns_dynreg_request	rq;
	enum pns_dynreg_code		code;
	struct pns_err			err;
	int				rc;

	memset(&rq, 0, sizeof(rq));
	rq.openid_configuration = oc;
	rq.registration_token = token;
	rq.secret = secret;
	pns_err_clear(&err);
	rc = pns_dynreg_gate(cfg, &rq, &code, &err);
	ck_assert_int_eq(rc == 0, code == PNS_DYNREG_OK);
	return code;
}

START_TEST(gate)
{
	static const char	 secret[] = "s3cret-s3cret-s3cret";
	struct pns_config	 cfg;
	struct pns_dynreg_request rq;
	enum pns_dynreg_code	 code;

	door_config(&cfg);
	ck_assert_int_eq(door(&cfg, OC_URL, "tok", NULL), PNS_DYNREG_OK);
	ck_assert_int_eq(door(&cfg, OC_URL, NULL, NULL), PNS_DYNREG_OK);
	ck_assert_int_eq(door(&cfg, "https://CANVAS.example.edu/x", NULL,
	    NULL), PNS_DYNREG_OK);

	cfg.registration = 0;
	ck_assert_int_eq(door(&cfg, OC_URL, "tok", NULL), PNS_DYNREG_OFF);
	cfg.registration = 1;

	/* The door without a lock: refused, whatever the request. */
	door_config(&cfg);
	cfg.registration_issuer_hosts[0] = '\0';
	ck_assert_int_eq(door(&cfg, OC_URL, "tok", NULL),
	    PNS_DYNREG_NOT_CONFIGURED);

	door_config(&cfg);
	memset(&rq, 0, sizeof(rq));
	rq.malformed = 1;
	rq.openid_configuration = OC_URL;
	ck_assert_int_eq(pns_dynreg_gate(&cfg, &rq, &code, NULL), -1);
	ck_assert_int_eq(code, PNS_DYNREG_BAD_REQUEST);
	ck_assert_int_eq(door(&cfg, NULL, "tok", NULL), PNS_DYNREG_BAD_REQUEST);
	ck_assert_int_eq(door(&cfg, "", "tok", NULL), PNS_DYNREG_BAD_REQUEST);
	ck_assert_int_eq(door(&cfg, "canvas.example.edu", "tok", NULL),
	    PNS_DYNREG_BAD_REQUEST);
	/* The token becomes a header line. */
	ck_assert_int_eq(door(&cfg, OC_URL, "a\r\nX-Evil: 1", NULL),
	    PNS_DYNREG_BAD_REQUEST);
	ck_assert_int_eq(door(&cfg, OC_URL, "a b", NULL),
	    PNS_DYNREG_BAD_REQUEST);
	ck_assert_int_eq(door(&cfg, OC_URL, "", NULL), PNS_DYNREG_BAD_REQUEST);

	/* Allow-list: exact hosts. */
	ck_assert_int_eq(door(&cfg, "https://evil.example/x", NULL, NULL),
	    PNS_DYNREG_NOT_ALLOWED);
	ck_assert_int_eq(door(&cfg, "https://canvas.example.edu.evil.example/",
	    NULL, NULL), PNS_DYNREG_NOT_ALLOWED);
	ck_assert_int_eq(door(&cfg, "https://example.edu/", NULL, NULL),
	    PNS_DYNREG_NOT_ALLOWED);
	ck_assert_int_eq(door(&cfg, "https://canvas.example.edu@evil.example/",
	    NULL, NULL), PNS_DYNREG_BAD_REQUEST);

	/* http only when allowed. */
	ck_assert_int_eq(door(&cfg, "http://127.0.0.1:8080/oc", NULL, NULL),
	    PNS_DYNREG_INSECURE);
	cfg.registration_allow_http = 1;
	ck_assert_int_eq(door(&cfg, "http://127.0.0.1:8080/oc", NULL, NULL),
	    PNS_DYNREG_OK);

	/* A secret alone, then with the allow-list: both must pass. */
	door_config(&cfg);
	cfg.registration_issuer_hosts[0] = '\0';
	(void)snprintf(cfg.registration_secret, sizeof(cfg.registration_secret),
	    "%s", secret);
	ck_assert_int_eq(door(&cfg, "https://anywhere.example/", NULL, secret),
	    PNS_DYNREG_OK);
	ck_assert_int_eq(door(&cfg, OC_URL, NULL, NULL), PNS_DYNREG_BAD_SECRET);
	ck_assert_int_eq(door(&cfg, OC_URL, NULL, ""), PNS_DYNREG_BAD_SECRET);
	ck_assert_int_eq(door(&cfg, OC_URL, NULL, "s3cret-s3cret-s3cre"),
	    PNS_DYNREG_BAD_SECRET);
	ck_assert_int_eq(door(&cfg, OC_URL, NULL, "s3cret-s3cret-s3cret!"),
	    PNS_DYNREG_BAD_SECRET);
	/* Checked before the request itself is looked at. */
	ck_assert_int_eq(door(&cfg, NULL, NULL, "wrong"), PNS_DYNREG_BAD_SECRET);
	(void)snprintf(cfg.registration_issuer_hosts,
	    sizeof(cfg.registration_issuer_hosts), "canvas.example.edu");
	ck_assert_int_eq(door(&cfg, OC_URL, NULL, secret), PNS_DYNREG_OK);
	ck_assert_int_eq(door(&cfg, "https://anywhere.example/", NULL, secret),
	    PNS_DYNREG_NOT_ALLOWED);
	ck_assert_int_eq(door(&cfg, OC_URL, NULL, NULL), PNS_DYNREG_BAD_SECRET);

	ck_assert(pns_dynreg_host_allowed(&cfg, "CANVAS.example.edu"));
	ck_assert(!pns_dynreg_host_allowed(&cfg, "canvas.example"));
	ck_assert(!pns_dynreg_host_allowed(&cfg, ""));
}
END_TEST

START_TEST(good_configuration)
{
	struct pns_dynreg_platform	pl;
	enum pns_dynreg_code		code;

	ck_assert_int_eq(parse_with(NULL, NULL, 0, 0, &pl, &code), 0);
	ck_assert_int_eq(code, PNS_DYNREG_OK);
	ck_assert_str_eq(pl.issuer, "https://canvas.example.edu");
	ck_assert_str_eq(pl.auth_url,
	    "https://sso.example.edu/api/lti/authorize_redirect");
	ck_assert_str_eq(pl.token_url,
	    "https://sso.example.edu/login/oauth2/token");
	ck_assert_str_eq(pl.jwks_url,
	    "https://sso.example.edu/api/lti/security/jwks");
	ck_assert_str_eq(pl.registration_url,
	    "https://canvas.example.edu/api/lti/registrations");
	ck_assert_str_eq(pl.product_family_code, "canvas");
	ck_assert_str_eq(pl.version, "vCloud");
	ck_assert(pl.lists_scopes && pl.offers_noticehandlers);
	ck_assert(pl.lists_notice_types);
	/* Names that cannot be notice types are skipped. */
	ck_assert_str_eq(pl.notice_types,
	    "LtiHelloWorldNotice LtiContextCopyNotice");

	/* What is optional may be absent. */
	ck_assert_int_eq(parse_with("scopes_supported", NULL, 0, 0, &pl, &code),
	    0);
	ck_assert(!pl.lists_scopes && !pl.offers_noticehandlers);
	ck_assert_int_eq(parse_with("scopes_supported", "[\"x\"]", 0, 0, &pl,
	    &code), 0);
	ck_assert(pl.lists_scopes && !pl.offers_noticehandlers);
	ck_assert_int_eq(parse_with("notice_types_supported", NULL, 1, 0, &pl,
	    &code), 0);
	ck_assert(!pl.lists_notice_types);
	ck_assert_int_eq(parse_with("messages_supported", NULL, 1, 0, &pl,
	    &code), 0);
	ck_assert_int_eq(parse_with("messages_supported",
	    "[\"LtiResourceLinkRequest\"]", 1, 0, &pl, &code), 0);
	ck_assert_int_eq(parse_with("product_family_code", NULL, 1, 0, &pl,
	    &code), 0);
	ck_assert_str_eq(pl.product_family_code, "");
	ck_assert_int_eq(parse_with("token_endpoint_auth_methods_supported",
	    NULL, 0, 0, &pl, &code), 0);
	/* The issuer's host, compared without case. */
	ck_assert_int_eq(parse_with("issuer", "\"https://Canvas.Example.edu\"",
	    0, 0, &pl, &code), 0);
	/* A port on the issuer changes nothing: hosts are compared. */
	ck_assert_int_eq(parse_with("issuer", "\"https://canvas.example.edu:8443"
	    "\"", 0, 0, &pl, &code), 0);
	/* http endpoints only when allowed. */
	ck_assert_int_eq(parse_with("token_endpoint",
	    "\"http://sso.example.edu/token\"", 0, 1, &pl, &code), 0);
}
END_TEST

START_TEST(bad_configuration)
{
	static const char *const required[] = { "issuer",
	    "authorization_endpoint", "token_endpoint", "jwks_uri",
	    "registration_endpoint", PC };
	static const struct {
		const char	*name, *value;
		int		 inner;
	} bad[] = {
		{ "issuer", "\"\"", 0 },
		{ "issuer", "5", 0 },
		{ "issuer", "\"canvas.example.edu\"", 0 },
		{ "issuer", "\"https://canvas.example.edu/?a=b\"", 0 },
		{ "issuer", "\"https://canvas.example.edu/#f\"", 0 },
		{ "issuer", "\"http://canvas.example.edu\"", 0 },
		{ "issuer", "\"https://u@canvas.example.edu\"", 0 },
		{ "token_endpoint", "\"http://sso.example.edu/token\"", 0 },
		{ "jwks_uri", "[\"https://sso.example.edu/jwks\"]", 0 },
		{ "registration_endpoint", "\"ftp://canvas.example.edu/r\"", 0 },
		{ "authorization_endpoint", "\"https://a b\"", 0 },
		{ "response_types_supported", "[\"code\"]", 0 },
		{ "id_token_signing_alg_values_supported", "[\"HS256\"]", 0 },
		{ "token_endpoint_auth_methods_supported",
		    "[\"client_secret_basic\"]", 0 },
		{ "token_endpoint_auth_signing_alg_values_supported", "[]", 0 },
		{ "token_endpoint_auth_methods_supported", "\"private_key_jwt\"",
		    0 },
		{ "scopes_supported", "[\"" NH "\", 7]", 0 },
		{ "scopes_supported", "{}", 0 },
		{ PC, "[]", 0 },
		{ "product_family_code", "7", 1 },
		{ "version", "{}", 1 },
		{ "messages_supported", "[{\"type\":\"LtiDeepLinkingRequest\"}]",
		    1 },
		{ "messages_supported", "[]", 1 },
		{ "messages_supported", "[{\"placements\":[]}]", 1 },
		{ "messages_supported", "{\"type\":\"LtiResourceLinkRequest\"}",
		    1 },
		{ "notice_types_supported", "\"LtiHelloWorldNotice\"", 1 },
		{ "notice_types_supported", "[1]", 1 },
	};
	static const char *const not_docs[] = { "", "[]", "\"x\"", "null",
	    "{\"issuer\":", "{} x", "<html>" };
	struct pns_dynreg_platform	pl;
	enum pns_dynreg_code		code;
	char				deep[200];
	size_t				i;

	for (i = 0; i < NELEM(required); i++)
		ck_assert_int_eq(refused(required[i], NULL, 0),
		    PNS_DYNREG_BAD_CONFIG);
	for (i = 0; i < NELEM(bad); i++)
		ck_assert_msg(refused(bad[i].name, bad[i].value, bad[i].inner) ==
		    PNS_DYNREG_BAD_CONFIG, "%s = %s", bad[i].name, bad[i].value);
	for (i = 0; i < NELEM(not_docs); i++) {
		ck_assert_int_eq(pns_dynreg_parse_config(not_docs[i],
		    strlen(not_docs[i]), OC_URL, 0, &pl, &code, NULL), -1);
		ck_assert_int_eq(code, PNS_DYNREG_BAD_CONFIG);
	}
	memset(deep, '[', sizeof(deep));
	ck_assert_int_eq(pns_dynreg_parse_config(deep, sizeof(deep), OC_URL, 0,
	    &pl, &code, NULL), -1);
	ck_assert_int_eq(code, PNS_DYNREG_BAD_CONFIG);
	/* A NUL inside the document ends nothing early. */
	ck_assert_int_eq(pns_dynreg_parse_config(good_doc, sizeof(good_doc),
	    OC_URL, 0, &pl, &code, NULL), -1);
}
END_TEST

START_TEST(issuer_mismatch)
{
	static const char *const issuers[] = {
		"\"https://canvas.instructure.com\"",
		"\"https://example.edu\"",
		"\"https://canvas.example.edu.evil.example\"",
		"\"https://evil.example/canvas.example.edu\"",
	};
	struct pns_dynreg_platform	pl;
	enum pns_dynreg_code		code;
	size_t				i;

	for (i = 0; i < NELEM(issuers); i++)
		ck_assert_msg(refused("issuer", issuers[i], 0) ==
		    PNS_DYNREG_ISSUER_MISMATCH, "%s", issuers[i]);
	/* The twin: the same document served from the issuer's host. */
	ck_assert_int_eq(pns_dynreg_parse_config(good_doc, strlen(good_doc),
	    "https://canvas.example.edu:443/oc", 0, &pl, &code, NULL), 0);
	ck_assert_int_eq(pns_dynreg_parse_config(good_doc, strlen(good_doc),
	    "https://sso.example.edu/oc", 0, &pl, &code, NULL), -1);
	ck_assert_int_eq(code, PNS_DYNREG_ISSUER_MISMATCH);
}
END_TEST

START_TEST(request_body)
{
	struct pns_config		 cfg;
	struct pns_dynreg_platform	 pl;
	struct json_object		*o, *tc, *m;
	enum pns_dynreg_code		 code;
	struct pns_buf			 b;
	char				 scope[256];

	door_config(&cfg);
	(void)snprintf(cfg.tool_title, sizeof(cfg.tool_title), "T \"1\"");
	ck_assert_int_eq(parse_with(NULL, NULL, 0, 0, &pl, &code), 0);
	pns_buf_init(&b, 64 * 1024);
	ck_assert_int_eq(pns_dynreg_request_body(&cfg, &pl, &b, scope,
	    sizeof(scope), NULL), 0);
	ck_assert_str_eq(scope, NH);
	o = json_tokener_parse(b.data);
	ck_assert_ptr_nonnull(o);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(o,
	    "application_type")), "web");
	ck_assert_str_eq(json_object_to_json_string_ext(json_object_object_get(o,
	    "grant_types"), JSON_C_TO_STRING_PLAIN),
	    "[\"implicit\",\"client_credentials\"]");
	ck_assert_str_eq(json_object_to_json_string_ext(json_object_object_get(o,
	    "response_types"), JSON_C_TO_STRING_PLAIN), "[\"id_token\"]");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(o,
	    "initiate_login_uri")), "https://tool.example/cgi-bin/lti.cgi/login");
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(
	    json_object_object_get(o, "redirect_uris"), 0)),
	    "https://tool.example/cgi-bin/lti.cgi/launch");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(o,
	    "jwks_uri")), "https://tool.example/cgi-bin/lti.cgi/jwks");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(o,
	    "client_name")), "T \"1\"");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(o,
	    "token_endpoint_auth_method")), "private_key_jwt");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(o,
	    "scope")), NH);
	tc = json_object_object_get(o, PNS_DYNREG_TOOL_CONF);
	ck_assert_ptr_nonnull(tc);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(tc,
	    "domain")), "tool.example");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(tc,
	    "target_link_uri")), "https://tool.example/cgi-bin/lti.cgi/launch");
	ck_assert(json_object_is_type(json_object_object_get(tc, "claims"),
	    json_type_array));
	m = json_object_array_get_idx(json_object_object_get(tc, "messages"), 0);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(m,
	    "type")), "LtiResourceLinkRequest");
	json_object_put(o);

	/* Only scopes the platform offers, when it lists them. */
	pl.offers_noticehandlers = 0;
	pns_buf_reset(&b);
	ck_assert_int_eq(pns_dynreg_request_body(&cfg, &pl, &b, scope,
	    sizeof(scope), NULL), 0);
	ck_assert_str_eq(scope, "");
	ck_assert_ptr_nonnull(strstr(b.data, "\"scope\":\"\""));
	pl.lists_scopes = 0;
	pns_buf_reset(&b);
	ck_assert_int_eq(pns_dynreg_request_body(&cfg, &pl, &b, scope,
	    sizeof(scope), NULL), 0);
	ck_assert_str_eq(scope, NH);
	pns_buf_release(&b);
}
END_TEST

static int
answer(const char *text, struct pns_dynreg_result *res)
{
	memset(res, 0, sizeof(*res));
	return pns_dynreg_parse_answer(text, strlen(text), res, NULL);
}

START_TEST(registration_answer)
{
	static const char *const bad[] = {
		"", "[]", "<html>ok</html>", "{}",
		"{\"client_id\":10000000000001}",
		"{\"client_id\":\"\"}",
		"{\"client_id\":\"a\\nb\"}",
		"{\"client_id\":\"c\",\"" PNS_DYNREG_TOOL_CONF "\":[]}",
		"{\"client_id\":\"c\",\"" PNS_DYNREG_TOOL_CONF "\":"
		    "{\"deployment_id\":5}}",
		"{\"client_id\":\"c\",\"" PNS_DYNREG_TOOL_CONF "\":"
		    "{\"deployment_id\":\"\"}}",
		"{\"client_id\":\"c\",\"scope\":[]}",
	};
	struct pns_dynreg_result	res;
	size_t				i;

	ck_assert_int_eq(answer("{\"client_id\":\"10000000000001\","
	    "\"scope\":\"" NH "\",\"" PNS_DYNREG_TOOL_CONF "\":{\"domain\":"
	    "\"tool.example\",\"deployment_id\":\"12:ab\"}}", &res), 0);
	ck_assert_str_eq(res.client_id, "10000000000001");
	ck_assert_str_eq(res.deployment_id, "12:ab");
	ck_assert_str_eq(res.granted_scope, NH);
	ck_assert_int_eq(answer("{\"client_id\":\"c\"}", &res), 0);
	ck_assert_str_eq(res.deployment_id, "");
	ck_assert_str_eq(res.granted_scope, "");
	for (i = 0; i < NELEM(bad); i++)
		ck_assert_msg(answer(bad[i], &res) == -1, "%s", bad[i]);
}
END_TEST

static int
conf(const char *lines, struct pns_config *cfg, struct pns_err *err)
{
	char	text[1024];

	(void)snprintf(text, sizeof(text), "base_url = https://t.example\n"
	    "data_dir = /var/lib/pns\n%s", lines);
	pns_config_defaults(cfg);
	pns_err_clear(err);
	return pns_config_parse(cfg, text, strlen(text), "pns.conf", err);
}

START_TEST(configuration_keys)
{
	static const char *const bad[] = {
		"registration = yes\n", "registration = 1\n",
		"registration = On\n", "registration_allow_http = on\n",
		"registration_allow_http = true\n",
		"registration_issuer_hosts = *.example.edu\n",
		"registration_issuer_hosts = https://canvas.example.edu\n",
		"registration_issuer_hosts = a/b\n",
		"registration_secret = short\n",
		"registration_secret = has a blank in it ok\n",
		"registration = on\nregistration = off\n",
	};
	struct pns_config	cfg;
	struct pns_err		err;
	size_t			i;

	ck_assert_int_eq(conf("", &cfg, &err), 0);
	ck_assert_int_eq(cfg.registration, 0);
	ck_assert_int_eq(cfg.registration_allow_http, 0);
	ck_assert_str_eq(cfg.registration_issuer_hosts, "");
	ck_assert_str_eq(cfg.registration_secret, "");
	ck_assert_int_eq(conf("registration = on\n"
	    "registration_issuer_hosts =  Canvas.Example.EDU\t127.0.0.1  [::1]\n"
	    "registration_secret = 0123456789abcdef\n"
	    "registration_allow_http = yes\n", &cfg, &err), 0);
	ck_assert_int_eq(cfg.registration, 1);
	ck_assert_int_eq(cfg.registration_allow_http, 1);
	ck_assert_str_eq(cfg.registration_issuer_hosts,
	    "canvas.example.edu 127.0.0.1 [::1]");
	ck_assert_str_eq(cfg.registration_secret, "0123456789abcdef");
	ck_assert_int_eq(conf("registration = off\n"
	    "registration_allow_http = no\n", &cfg, &err), 0);
	ck_assert_int_eq(cfg.registration, 0);
	for (i = 0; i < NELEM(bad); i++) {
		ck_assert_msg(conf(bad[i], &cfg, &err) == -1, "%s", bad[i]);
		ck_assert_ptr_nonnull(strstr(err.msg, "pns.conf:"));
	}
}
END_TEST

START_TEST(csp)
{
	static const char	 script[] = PNS_DYNREG_CLOSE_SCRIPT;
	unsigned char		 md[32], b64[64];
	char			 policy[256], want[128];

	ck_assert_int_eq(pns_dynreg_csp(policy, sizeof(policy), NULL), 0);
	ck_assert_int_eq(EVP_Digest(script, strlen(script), md, NULL,
	    EVP_sha256(), NULL), 1);
	ck_assert_int_eq(EVP_EncodeBlock(b64, md, 32), 44);
	(void)snprintf(want, sizeof(want), "script-src 'sha256-%s'", b64);
	ck_assert_ptr_nonnull(strstr(policy, want));
	ck_assert_ptr_nonnull(strstr(policy, "default-src 'none'"));
	/* Scripts by hash only: nothing inline besides, nothing loaded. */
	ck_assert_ptr_null(strstr(strstr(policy, "script-src"), "unsafe"));
	ck_assert_ptr_null(strstr(strstr(policy, "script-src"), "self"));
	ck_assert_int_eq(pns_dynreg_csp(policy, 20, NULL), -1);
	/* The message object is fixed and the target is the parent. */
	ck_assert_ptr_nonnull(strstr(script, "window.parent.postMessage("
	    "{subject:\"org.imsglobal.lti.close\"},\"*\")"));
}
END_TEST

START_TEST(codes)
{
	int	c;

	for (c = 0; c < PNS_DYNREG_CODE__MAX; c++) {
		ck_assert_ptr_nonnull(pns_dynreg_code_str(c));
		ck_assert_ptr_nonnull(pns_dynreg_code_text(c));
		ck_assert(pns_dynreg_code_status(c) >= 200);
	}
	ck_assert_str_eq(pns_dynreg_code_str(PNS_DYNREG_ISSUER_MISMATCH),
	    "issuer_mismatch");
	ck_assert_str_eq(pns_dynreg_code_str(PNS_DYNREG_CODE__MAX), "unknown");
}
END_TEST

/* The whole registration stops, storing nothing, when the tool has no
 * key or the platform cannot be reached. */
START_TEST(register_stores_nothing_on_failure)
{
	char				 dir[] = "/tmp/pns-check-dynreg-XXXXXX";
	char				 cmd[128];
	static struct pns_dynreg_result	 res;
	struct pns_dynreg_request	 rq;
	struct pns_config		 cfg;
	struct pns_err			 err;
	int				 n;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	door_config(&cfg);
	(void)snprintf(cfg.data_dir, sizeof(cfg.data_dir), "%s/d", dir);
	cfg.registration_allow_http = 1;
	cfg.http_timeout = 2;
	ck_assert_int_eq(pns_store_init(&cfg, NULL), 0);
	memset(&rq, 0, sizeof(rq));
	/* Nothing listens on port 9 of the loopback. */
	rq.openid_configuration = "http://127.0.0.1:9/oc";
	rq.registration_token = "tok";

	pns_err_clear(&err);
	ck_assert_int_eq(pns_dynreg_register(&cfg, &rq, &res, &err), -1);
	ck_assert_int_eq(res.code, PNS_DYNREG_NOT_CONFIGURED);
	ck_assert_int_eq(pns_toolkey_create(&cfg, NULL), 0);
	pns_err_clear(&err);
	ck_assert_int_eq(pns_dynreg_register(&cfg, &rq, &res, &err), -1);
	ck_assert_int_eq(res.code, PNS_DYNREG_UNREACHABLE);
	ck_assert_int_eq(err.code, PNS_ENET);
	cfg.registration = 0;
	ck_assert_int_eq(pns_dynreg_register(&cfg, &rq, &res, NULL), -1);
	ck_assert_int_eq(res.code, PNS_DYNREG_OFF);

	(void)snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A %s/d/platforms)\"",
	    dir);
	n = system(cmd);
	ck_assert_int_eq(n, 0);
	(void)snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	(void)!system(cmd);
}
END_TEST

static Suite *
dynreg_suite(void)
{
	Suite	*s = suite_create("dynreg");
	TCase	*tc = tcase_create("dynreg");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, url_host);
	tcase_add_test(tc, gate);
	tcase_add_test(tc, good_configuration);
	tcase_add_test(tc, bad_configuration);
	tcase_add_test(tc, issuer_mismatch);
	tcase_add_test(tc, request_body);
	tcase_add_test(tc, registration_answer);
	tcase_add_test(tc, configuration_keys);
	tcase_add_test(tc, csp);
	tcase_add_test(tc, codes);
	tcase_add_test(tc, register_stores_nothing_on_failure);
	suite_add_tcase(s, tc);
	return s;
}

TEST_MAIN(dynreg_suite)
