/* SPDX-License-Identifier: ISC */
/*
 * lti.cgi: the LTI 1.3 side of the tool, one process per request.  Routes
 * are rows of a table; each handler fills a response that main writes.
 * docs/launch.md is the contract.
 */
#include <sys/prctl.h>
#include <sys/stat.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pns_config.h"
#include "pns_deliver.h"
#include "pns_dynreg.h"
#include "pns_form.h"
#include "pns_handlers.h"
#include "pns_html.h"
#include "pns_http.h"
#include "pns_json.h"
#include "pns_launch.h"
#include "pns_log.h"
#include "pns_platform.h"
#include "pns_state.h"
#include "pns_store.h"
#include "pns_toolkey.h"
#include "banned.h"

#define FORM_TOO_LARGE	(-2)
#define PAGE_MAX	(1024 * 1024)
/* Followed by the login's state: see state_cookie. */
#define COOKIE_PREFIX	"pns_state_"

/* HEAD is its own method: only routes without side effects take it. */
enum method { M_GET = 1 << 0, M_POST = 1 << 1, M_HEAD = 1 << 2 };

struct req {
	const struct pns_config	*cfg;
	int			 method;	/* enum method, 0 if other */
	const char		*query;
	const char		*content_type;
	const char		*content_length;
	const char		*cookie;
	const char		*remote;
};

struct resp {
	int		 status;
	const char	*type;		/* Content-Type */
	const char	*allow;
	char		 location[8192];
	char		 cookie[512];
	const char	*cache;		/* Cache-Control */
	char		 csp[256];	/* Content-Security-Policy, "" : the
					   default, which allows no script */
	struct pns_buf	 body;
};

typedef void (*route_fn)(const struct req *, struct resp *);

static void	route_login(const struct req *, struct resp *);
static void	route_launch(const struct req *, struct resp *);
static void	route_jwks(const struct req *, struct resp *);
static void	route_config(const struct req *, struct resp *);
static void	route_register(const struct req *, struct resp *);

static const struct route {
	const char	*path;
	int		 methods;
	const char	*allow;
	route_fn	 fn;
} routes[] = {
	{ "/login", M_GET | M_POST, "GET, POST", route_login },
	{ "/launch", M_POST, "POST", route_launch },
	{ "/jwks", M_GET | M_HEAD, "GET, HEAD", route_jwks },
	{ "/config.json", M_GET | M_HEAD, "GET, HEAD", route_config },
	{ "/register", M_GET, "GET", route_register },
};

/* A short HTML page saying what went wrong, with its code. */
static void
page_error(struct resp *r, int status, const char *code, const char *text)
{
	r->status = status;
	r->type = "text/html; charset=utf-8";
	pns_buf_reset(&r->body);
	(void)pns_html_head(&r->body, "LTI launch failed", NULL);
	(void)pns_buf_adds(&r->body, "<h1>LTI launch failed</h1>\n<p class=err>"
	    "Error <code>", NULL);
	(void)pns_html_escape(&r->body, code, NULL);
	(void)pns_buf_adds(&r->body, "</code>: ", NULL);
	(void)pns_html_escape(&r->body, text, NULL);
	(void)pns_buf_adds(&r->body, "</p>\n", NULL);
	(void)pns_html_foot(&r->body, NULL);
}

/*
 * Reads a urlencoded form body (POST) into f: 0, -1 (bad request) or
 * FORM_TOO_LARGE when the declared length is over the limit, which is
 * refused before a byte of it is read.
 */
static int
read_form(const struct req *q, struct pns_form *f)
{
	struct pns_buf	 b;
	const char	*errstr;
	long long	 len;
	size_t		 got;
	int		 rc = -1;

	if (q->content_type == NULL || strncmp(q->content_type,
	    "application/x-www-form-urlencoded", 33) != 0)
		return -1;
	len = pns_strtonum(q->content_length, 0, LLONG_MAX, &errstr);
	if (errstr != NULL)
		return -1;
	if (len > q->cfg->max_body_bytes)
		return FORM_TOO_LARGE;
	pns_buf_init(&b, (size_t)q->cfg->max_body_bytes);
	if (pns_buf_reserve(&b, (size_t)len, NULL) == 0) {
		got = fread(b.data, 1, (size_t)len, stdin);
		b.len = got;
		b.data[got] = '\0';
		if (got == (size_t)len && pns_form_parse(f, b.data, b.len, NULL) == 0)
			rc = 0;
	}
	pns_buf_release(&b);
	return rc;
}

/* The path part of base_url ("/cgi-bin" of https://host/cgi-bin). */
static const char *
base_path(const struct pns_config *cfg)
{
	const char	*p = strstr(cfg->base_url, "://");
	const char	*slash;

	if (p == NULL || (slash = strchr(p + 3, '/')) == NULL)
		return "";
	return slash;
}

/*
 * Sets (max_age > 0) or clears the cookie that binds a login's state to
 * the browser.  It is named after the state, so that two logins under
 * way in one browser (two placements of the tool on one page) each keep
 * their own; one name for all let the second overwrite the first, whose
 * launch then failed.  Only a state of the shape pns_state_create makes
 * (base64url) names a cookie: the launch's state comes from the browser.
 */
static void
state_cookie(struct resp *r, const struct pns_config *cfg,
    const char *state, long max_age)
{
	static const char	b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_";

	r->cookie[0] = '\0';
	if (strlen(state) != PNS_STATE_LEN ||
	    strspn(state, b64url) != PNS_STATE_LEN)
		return;
	(void)snprintf(r->cookie, sizeof(r->cookie), COOKIE_PREFIX "%s=%s; "
	    "Path=%.256s/lti.cgi; Max-Age=%ld; HttpOnly; Secure; "
	    "SameSite=None", state, max_age > 0 ? state : "", base_path(cfg),
	    max_age);
}

/* The one platform registered for issuer, when client_id is not given. */
struct find_issuer {
	const char		*issuer;
	struct pns_platform	*out;
	int			 found;
};

static int
match_issuer(const struct pns_platform *p, void *arg)
{
	struct find_issuer	*fi = arg;
	size_t			 i;

	if (strcmp(p->issuer, fi->issuer) != 0)
		return 0;
	if (fi->found++ == 0) {
		*fi->out = *p;
		/* The copy must own its deployments. */
		fi->out->deployments = NULL;
		fi->out->ndeployments = 0;
		for (i = 0; i < p->ndeployments; i++)
			(void)pns_platform_add_deployment(fi->out,
			    p->deployments[i], NULL);
	}
	return 0;
}

static int
find_platform(const struct pns_config *cfg, const char *iss,
    const char *client_id, struct pns_platform *p)
{
	struct find_issuer	fi = { iss, p, 0 };

	if (client_id != NULL)
		return pns_platform_load(cfg, iss, client_id, p, NULL);
	if (pns_platform_foreach(cfg, match_issuer, &fi, NULL) == -1 ||
	    fi.found != 1) {
		pns_platform_release(p);
		return -1;
	}
	return 0;
}

static int
add_param(struct pns_buf *b, const char *name, const char *value)
{
	return pns_buf_adds(b, b->len && strchr(b->data, '?') ? "&" : "?", NULL) ||
	    pns_buf_adds(b, name, NULL) || pns_buf_adds(b, "=", NULL) ||
	    pns_url_encode(b, value, NULL);
}

static void
route_login(const struct req *q, struct resp *r)
{
	struct pns_form		 f;
	struct pns_platform	 p;
	struct pns_state	 st;
	struct pns_buf		 loc, redirect;
	struct pns_err		 err;
	const char		*iss, *hint, *target, *msg_hint, *client_id;
	size_t			 blen = strlen(q->cfg->base_url);
	int			 bad;

	pns_form_init(&f);
	pns_platform_init(&p);
	pns_buf_init(&loc, sizeof(r->location) - 1);
	pns_buf_init(&redirect, PNS_URL_MAX);
	if (q->method == M_POST)
		bad = read_form(q, &f);
	else
		bad = pns_form_parse(&f, q->query, strlen(q->query), NULL);
	if (bad == FORM_TOO_LARGE) {
		page_error(r, 413, "too_large", "The login request is larger "
		    "than this tool accepts.");
		goto out;
	}
	if (bad) {
		page_error(r, 400, "bad_request", "The login request could not "
		    "be read (a parameter given twice, or a bad encoding).");
		goto out;
	}
	iss = pns_form_get(&f, "iss");
	hint = pns_form_get(&f, "login_hint");
	target = pns_form_get(&f, "target_link_uri");
	msg_hint = pns_form_get(&f, "lti_message_hint");
	client_id = pns_form_get(&f, "client_id");
	/* An empty value is as absent as a missing one. */
	if (iss == NULL || hint == NULL || target == NULL ||
	    *iss == '\0' || *hint == '\0' || *target == '\0') {
		page_error(r, 400, "bad_request", "iss, login_hint and "
		    "target_link_uri are required.");
		goto out;
	}
	/* The launch may only land on this tool. */
	if (strncmp(target, q->cfg->base_url, blen) != 0 ||
	    (target[blen] != '/' && target[blen] != '\0')) {
		page_error(r, 400, "bad_target_link_uri",
		    "target_link_uri is not a URL of this tool.");
		goto out;
	}
	if (find_platform(q->cfg, iss, client_id, &p) == -1) {
		page_error(r, 400, "unknown_platform", "This platform is not "
		    "registered with the tool.");
		goto out;
	}
	pns_err_clear(&err);
	if (pns_state_create(q->cfg, &p, target, time(NULL), q->cfg->state_ttl,
	    &st, &err) == -1) {
		pns_log(PNS_LOG_ERROR, "login: %s", err.msg);
		page_error(r, 503, "storage", "The login could not be recorded.");
		goto out;
	}
	if (pns_buf_adds(&redirect, q->cfg->base_url, NULL) ||
	    pns_buf_adds(&redirect, "/lti.cgi/launch", NULL) ||
	    pns_buf_adds(&loc, p.auth_url, NULL) ||
	    add_param(&loc, "scope", "openid") ||
	    add_param(&loc, "response_type", "id_token") ||
	    add_param(&loc, "response_mode", "form_post") ||
	    add_param(&loc, "prompt", "none") ||
	    add_param(&loc, "client_id", p.client_id) ||
	    add_param(&loc, "redirect_uri", redirect.data) ||
	    add_param(&loc, "login_hint", hint) ||
	    (msg_hint != NULL && add_param(&loc, "lti_message_hint", msg_hint)) ||
	    add_param(&loc, "state", st.state) ||
	    add_param(&loc, "nonce", st.nonce)) {
		page_error(r, 400, "bad_request", "The login parameters are "
		    "too long.");
		goto out;
	}
	memcpy(r->location, loc.data, loc.len + 1);
	state_cookie(r, q->cfg, st.state, q->cfg->state_ttl);
	r->status = 302;
	r->type = "text/plain; charset=utf-8";
	(void)pns_buf_adds(&r->body, "Redirecting to the platform.\n", NULL);
out:
	pns_buf_release(&loc);
	pns_buf_release(&redirect);
	pns_platform_release(&p);
	pns_form_release(&f);
}

static void
row(struct pns_buf *b, const char *name, const char *value)
{
	(void)pns_buf_adds(b, "<tr><th>", NULL);
	(void)pns_html_escape(b, name, NULL);
	(void)pns_buf_adds(b, "</th><td>", NULL);
	(void)pns_html_escape(b, value != NULL && *value ? value : "-", NULL);
	(void)pns_buf_adds(b, "</td></tr>\n", NULL);
}

/* A row whose value is a time, or text when the time is 0. */
static void
row_time(struct pns_buf *b, const char *name, time_t t, const char *none)
{
	char	when[21];

	pns_iso8601_fmt(t, when);
	row(b, name, t != 0 ? when : none);
}

/*
 * The notice-handler section, for staff.  Everything here costs a few
 * file lookups, whatever the size of the store: counts of notices by
 * type need a scan and are left to "pnsctl status".
 */
static void
handlers_section(struct pns_buf *b, const struct req *q,
    const struct pns_launch *l, const struct pns_platform *p,
    const struct pns_handlers_status *hs, int have_status)
{
	struct pns_err	err;
	long		pending, failed;
	char		text[64];

	(void)pns_buf_adds(b, "<h2>Notice handlers</h2>\n<table>\n", NULL);
	if (!have_status)
		row(b, "Status", l->pns == NULL ? "the platform offers no "
		    "notice service in this launch" : "not registered");
	else {
		if (hs->busy)
			row(b, "Status", "another launch (or pnsctl) is "
			    "updating the registration now");
		row(b, "Registered types", hs->types);
		row(b, "Registered at", hs->registered_at);
		row(b, "Last error", hs->last_error);
	}
	row_time(b, "Channel verified", pns_handlers_stamp_time(q->cfg,
	    PNS_STAMP_VERIFIED, p->issuer, p->client_id, l->deployment_id),
	    "no hello-world notice yet");
	row_time(b, "Last notice received", pns_handlers_stamp_time(q->cfg,
	    PNS_STAMP_SEEN, p->issuer, p->client_id, l->deployment_id),
	    "none yet");
	pns_err_clear(&err);
	if (!pns_deliver_configured(q->cfg))
		row(b, "Delivery to the application", "not configured");
	else if (pns_deliver_counts(q->cfg, &pending, &failed, &err) == 0) {
		(void)snprintf(text, sizeof(text), "%ld pending, %ld failed",
		    pending, failed);
		row(b, "Delivery queue (all deployments)", text);
	}
	(void)pns_buf_adds(b, "</table>\n", NULL);
}

static void
launch_page(struct resp *r, const struct req *q, const struct pns_launch *l,
    const struct pns_platform *p, const struct pns_handlers_status *hs,
    int have_status)
{
	const char		*cfg_title = q->cfg->tool_title;
	struct json_object	*ctx = pns_json_obj(l->jws.payload, PNS_CLAIM_CONTEXT);
	struct pns_buf		*b = &r->body;
	size_t			 i, n;

	r->status = 200;
	r->type = "text/html; charset=utf-8";
	(void)pns_html_head(b, cfg_title, NULL);
	(void)pns_buf_adds(b, "<h1>", NULL);
	(void)pns_html_escape(b, cfg_title, NULL);
	(void)pns_buf_adds(b, "</h1>\n<table>\n", NULL);
	row(b, "Name", pns_json_str(l->jws.payload, "name"));
	(void)pns_buf_adds(b, "<tr><th>Roles</th><td>", NULL);
	n = json_object_array_length(l->roles);
	for (i = 0; i < n; i++) {
		if (i > 0)
			(void)pns_buf_adds(b, "<br>", NULL);
		(void)pns_html_escape(b, json_object_get_string(
		    json_object_array_get_idx(l->roles, i)), NULL);
	}
	(void)pns_buf_adds(b, "</td></tr>\n", NULL);
	row(b, "Context", ctx != NULL ? pns_json_str(ctx, "title") : NULL);
	row(b, "Platform", l->claims.iss);
	row(b, "Deployment", l->deployment_id);
	(void)pns_buf_adds(b, "</table>\n", NULL);
	if (pns_launch_is_staff(l))
		handlers_section(b, q, l, p, hs, have_status);
	(void)pns_html_foot(b, NULL);
}

static void
route_launch(const struct req *q, struct resp *r)
{
	/* Static: its key cache is too large for the stack. */
	static struct pns_verifier	v;
	struct pns_form			f;
	struct pns_state		st;
	struct pns_launch		l;
	struct pns_handlers_status	hs;
	struct pns_err			err;
	enum pns_verdict		verdict;
	const char			*tok, *state;
	int				 bad;
	char				cookie[PNS_STATE_LEN + 2];
	char				name[sizeof(COOKIE_PREFIX) +
					    PNS_STATE_LEN];
	int				have_status = 0;

	pns_form_init(&f);
	pns_launch_init(&l);
	pns_verifier_init(&v, q->cfg);
	if ((bad = read_form(q, &f)) == FORM_TOO_LARGE) {
		page_error(r, 413, "too_large", "The launch is larger than "
		    "this tool accepts.");
		goto out;
	}
	if (bad == -1 ||
	    (tok = pns_form_get(&f, "id_token")) == NULL ||
	    (state = pns_form_get(&f, "state")) == NULL) {
		page_error(r, 400, "bad_request", "The launch must be a form "
		    "post with id_token and state.");
		goto out;
	}
	/* The state's cookie has done its job whatever happens next. */
	state_cookie(r, q->cfg, state, 0);
	(void)snprintf(name, sizeof(name), COOKIE_PREFIX "%s", state);
	pns_err_clear(&err);
	/* Consumed first: a state is used once, success or not. */
	if (pns_state_consume(q->cfg, state, time(NULL), &st, &err) == -1 ||
	    pns_cookie_get(q->cookie, name, cookie, sizeof(cookie)) == -1 ||
	    strlen(cookie) != strlen(st.state) ||
	    !pns_ct_equal(cookie, st.state, strlen(st.state))) {
		page_error(r, 401, "bad_state", "The login state is missing, "
		    "unknown, expired, used, or not this browser's.");
		goto out;
	}
	verdict = pns_launch_verify(&v, &st, tok, strlen(tok), time(NULL), &l);
	if (verdict != PNS_V_OK) {
		pns_log(PNS_LOG_INFO, "launch rejected: %s", pns_verdict_str(verdict));
		page_error(r, pns_verdict_transient(verdict) ? 503 : 401,
		    pns_verdict_str(verdict), "The launch could not be verified.");
		goto out;
	}
	/* A verified launch of a registered platform vouches for its
	 * deployment: notices for it are accepted from now on. */
	if (!pns_platform_has_deployment(&v.platform, l.deployment_id) &&
	    pns_platform_learn_deployment(q->cfg, v.platform.issuer,
	    v.platform.client_id, l.deployment_id, &err) == -1)
		pns_log(PNS_LOG_ERROR, "learning deployment: %s", err.msg);
	memset(&hs, 0, sizeof(hs));
	pns_err_clear(&err);
	if (l.pns != NULL) {
		if (pns_handlers_sync(q->cfg, &v.platform, l.deployment_id, l.pns,
		    time(NULL), &hs, &err) == -1)
			(void)snprintf(hs.last_error, sizeof(hs.last_error),
			    "%.200s", err.msg);
		have_status = 1;
	} else if (pns_handlers_status(q->cfg, &v.platform, l.deployment_id,
	    &hs, &err) == 0)
		have_status = 1;
	launch_page(r, q, &l, &v.platform, &hs, have_status);
out:
	pns_launch_release(&l);
	pns_verifier_release(&v);
	pns_form_release(&f);
}

static void
route_jwks(const struct req *q, struct resp *r)
{
	struct pns_toolkey	k;
	struct pns_err		err;

	pns_err_clear(&err);
	if (pns_toolkey_load(q->cfg, &k, &err) == -1) {
		pns_log(PNS_LOG_ERROR, "jwks: %s", err.msg);
		r->status = 503;
		r->type = "application/json";
		(void)pns_buf_adds(&r->body, "{\"error\":\"no_key\"}\n", NULL);
		return;
	}
	r->status = 200;
	r->type = "application/json";
	r->cache = "public, max-age=300";
	(void)pns_toolkey_jwks(&k, &r->body, NULL);
	pns_toolkey_release(&k);
}

static void
route_config(const struct req *q, struct resp *r)
{
	struct json_object	*o, *scopes;
	struct pns_buf		 u;
	const char		*base = q->cfg->base_url;

	pns_buf_init(&u, PNS_URL_MAX + 64);
	o = json_object_new_object();
	scopes = json_object_new_array();
	json_object_object_add(o, "title",
	    json_object_new_string(q->cfg->tool_title));
	json_object_object_add(o, "description",
	    json_object_new_string(q->cfg->tool_description));
	(void)pns_buf_printf(&u, NULL, "%s/lti.cgi/login", base);
	json_object_object_add(o, "oidc_initiation_url",
	    json_object_new_string(u.data));
	pns_buf_reset(&u);
	(void)pns_buf_printf(&u, NULL, "%s/lti.cgi/launch", base);
	json_object_object_add(o, "target_link_uri",
	    json_object_new_string(u.data));
	pns_buf_reset(&u);
	(void)pns_buf_printf(&u, NULL, "%s/lti.cgi/jwks", base);
	json_object_object_add(o, "public_jwk_url",
	    json_object_new_string(u.data));
	json_object_array_add(scopes, json_object_new_string(
	    "https://purl.imsglobal.org/spec/lti/scope/noticehandlers"));
	json_object_object_add(o, "scopes", scopes);
	r->status = 200;
	r->type = "application/json";
	(void)pns_buf_adds(&r->body, json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE), NULL);
	(void)pns_buf_adds(&r->body, "\n", NULL);
	json_object_put(o);
	pns_buf_release(&u);
}

/* 1 if the space-separated list holds word. */
static int
has_word(const char *list, const char *word, size_t len)
{
	size_t	w;

	while (*list != '\0') {
		w = strcspn(list, " ");
		if (w == len && strncmp(list, word, len) == 0)
			return 1;
		list += w;
		while (*list == ' ')
			list++;
	}
	return 0;
}

static void
register_failed(struct resp *r, const struct pns_dynreg_result *res,
    const struct pns_err *err)
{
	struct pns_buf	*b = &r->body;
	char		 status[32];

	r->status = pns_dynreg_code_status(res->code);
	r->type = "text/html; charset=utf-8";
	pns_buf_reset(b);
	(void)pns_html_head(b, "LTI registration failed", NULL);
	(void)pns_buf_adds(b, "<h1>LTI registration failed</h1>\n<p class=err>"
	    "Error <code>", NULL);
	(void)pns_html_escape(b, pns_dynreg_code_str(res->code), NULL);
	(void)pns_buf_adds(b, "</code>: ", NULL);
	(void)pns_html_escape(b, pns_dynreg_code_text(res->code), NULL);
	(void)pns_buf_adds(b, "</p>\n<p>", NULL);
	(void)pns_html_escape(b, err->msg, NULL);
	(void)pns_buf_adds(b, "</p>\n", NULL);
	if (res->detail[0] != '\0') {
		(void)snprintf(status, sizeof(status), "%ld", res->status);
		(void)pns_buf_adds(b, "<p>The platform answered HTTP ", NULL);
		(void)pns_html_escape(b, status, NULL);
		(void)pns_buf_adds(b, ":</p>\n<pre>", NULL);
		(void)pns_html_escape(b, res->detail, NULL);
		(void)pns_buf_adds(b, "</pre>\n", NULL);
	}
	(void)pns_buf_adds(b, "<p>Nothing was stored by the tool.</p>\n", NULL);
	(void)pns_html_foot(b, NULL);
}

/* What the administrator should know before the platform's review. */
static void
register_warnings(struct pns_buf *b, const struct req *q,
    const struct pns_dynreg_result *res)
{
	const struct pns_dynreg_platform	*pl = &res->platform;
	const char				*t = q->cfg->notice_types;
	const char				*w[3];
	size_t					 n = 0, i, len;
	int					 any = 0;

	if (res->scope[0] == '\0')
		w[n++] = "The platform does not offer the notice-handlers "
		    "scope: launches will work, but no notice handler can be "
		    "registered.";
	else if (res->granted_scope[0] != '\0' &&
	    !has_word(res->granted_scope, res->scope, strlen(res->scope)))
		w[n++] = "The platform did not grant the notice-handlers "
		    "scope: enable it on the platform, or no notice handler "
		    "can be registered.";
	if (pl->lists_notice_types) {
		while (*t != '\0' && !any) {
			len = strcspn(t, " ");
			any = has_word(pl->notice_types, t, len);
			t += len;
			while (*t == ' ')
				t++;
		}
		if (!any)
			w[n++] = "The platform supports none of the notice "
			    "types this tool subscribes to (notice_types).";
	}
	if (n == 0)
		return;
	(void)pns_buf_adds(b, "<div id=\"warnings\">\n", NULL);
	for (i = 0; i < n; i++) {
		(void)pns_buf_adds(b, "<p class=err>", NULL);
		(void)pns_html_escape(b, w[i], NULL);
		(void)pns_buf_adds(b, "</p>\n", NULL);
	}
	(void)pns_buf_adds(b, "</div>\n", NULL);
}

/*
 * The confirmation page.  Its only script is the fixed close message,
 * allowed by hash; everything from the platform is escaped text.
 */
static void
register_page(struct resp *r, const struct req *q,
    const struct pns_dynreg_result *res)
{
	const struct pns_dynreg_platform	*pl = &res->platform;
	struct pns_buf				*b = &r->body;
	char					 product[160];

	r->status = 200;
	r->type = "text/html; charset=utf-8";
	(void)snprintf(product, sizeof(product), "%s %s",
	    pl->product_family_code, pl->version);
	(void)pns_html_head(b, "LTI registration", NULL);
	(void)pns_buf_adds(b, "<h1>Registered with the platform</h1>\n<p>", NULL);
	(void)pns_html_escape(b, q->cfg->tool_title, NULL);
	(void)pns_buf_adds(b, " is registered; the platform may ask you to "
	    "review and enable it.</p>\n<table>\n", NULL);
	row(b, "Platform", pl->issuer);
	row(b, "Product", product[0] != ' ' ? product : NULL);
	row(b, "Client ID", res->client_id);
	row(b, "Deployment", res->deployment_id[0] != '\0' ?
	    res->deployment_id : "none yet: learned at the first launch");
	row(b, "Scope requested", res->scope);
	if (res->granted_scope[0] != '\0')
		row(b, "Scope granted", res->granted_scope);
	if (pl->lists_notice_types)
		row(b, "Notice types offered", pl->notice_types);
	row(b, "Record", res->updated ? "updated (registered again)" : "new");
	(void)pns_buf_adds(b, "</table>\n", NULL);
	register_warnings(b, q, res);
	(void)pns_buf_adds(b, "<p><button id=\"close\" type=\"button\">Close"
	    "</button></p>\n<script>" PNS_DYNREG_CLOSE_SCRIPT "</script>\n",
	    NULL);
	(void)pns_html_foot(b, NULL);
}

/*
 * LTI Dynamic Registration (docs/register.md): the platform opens this
 * in a frame with openid_configuration and registration_token; the
 * administrator's URL may carry the tool's secret.  The work and every
 * check are pns_dynreg_register's; this renders the outcome.
 */
static void
route_register(const struct req *q, struct resp *r)
{
	/* Static: several URLs long, as the verifier above. */
	static struct pns_dynreg_result	res;
	struct pns_dynreg_request	rq;
	struct pns_form			f;
	struct pns_err			err;
	char				e1[160], e2[160], e3[64];

	pns_form_init(&f);
	memset(&rq, 0, sizeof(rq));
	if (pns_form_parse(&f, q->query, strlen(q->query), NULL) == -1)
		rq.malformed = 1;
	else {
		rq.openid_configuration = pns_form_get(&f,
		    "openid_configuration");
		rq.registration_token = pns_form_get(&f, "registration_token");
		rq.secret = pns_form_get(&f, "secret");
	}
	pns_err_clear(&err);
	if (pns_dynreg_register(q->cfg, &rq, &res, &err) == -1) {
		pns_log(PNS_LOG_WARN, "registration refused: %s: %s (from %s)",
		    pns_dynreg_code_str(res.code), err.msg,
		    pns_log_escape(q->remote != NULL ? q->remote : "-",
		    strlen(q->remote != NULL ? q->remote : "-"), e3,
		    sizeof(e3)));
		register_failed(r, &res, &err);
		goto out;
	}
	pns_log(PNS_LOG_INFO, "registered platform %s client %s by dynamic "
	    "registration (%s)", pns_log_escape(res.platform.issuer,
	    strlen(res.platform.issuer), e1, sizeof(e1)),
	    pns_log_escape(res.client_id, strlen(res.client_id), e2,
	    sizeof(e2)), res.updated ? "updated" : "new");
	pns_err_clear(&err);
	if (pns_dynreg_csp(r->csp, sizeof(r->csp), &err) == -1)
		/* The page stays under the default policy: no script runs,
		 * and the Close button does nothing; the platform is stored
		 * all the same. */
		r->csp[0] = '\0';
	register_page(r, q, &res);
out:
	pns_form_release(&f);
}

static void
respond(const struct resp *r)
{
	(void)printf("Status: %d\r\nContent-Type: %s\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "Content-Security-Policy: %s\r\n"
	    "Cache-Control: %s\r\n", r->status, r->type,
	    r->csp[0] != '\0' ? r->csp :
	    "default-src 'none'; style-src 'unsafe-inline'",
	    r->cache != NULL ? r->cache : "no-store");
	if (r->allow != NULL)
		(void)printf("Allow: %s\r\n", r->allow);
	if (r->location[0] != '\0')
		(void)printf("Location: %s\r\n", r->location);
	if (r->cookie[0] != '\0')
		(void)printf("Set-Cookie: %s\r\n", r->cookie);
	(void)printf("Content-Length: %zu\r\n\r\n", r->body.len);
	(void)fwrite(r->body.data != NULL ? r->body.data : "", 1, r->body.len,
	    stdout);
	(void)fflush(stdout);
}

static int
method_of(const char *m)
{
	if (m == NULL)
		return 0;
	if (strcmp(m, "GET") == 0)
		return M_GET;
	if (strcmp(m, "HEAD") == 0)
		return M_HEAD;
	if (strcmp(m, "POST") == 0)
		return M_POST;
	return 0;
}

/* The delivery worker notices.fcgi starts (PNS_DISPATCH_ARG). */
static int
dispatch_main(void)
{
	struct pns_config		cfg;
	struct pns_dispatch_stats	st;
	struct pns_err			err;
	const char			*path;

	if ((path = getenv("PNS_CONFIG")) == NULL)
		return 2;
	pns_err_clear(&err);
	pns_config_defaults(&cfg);
	if (pns_config_load(&cfg, path, &err) == -1 ||
	    pns_store_check(&cfg, &err) == -1 ||
	    pns_dispatch(&cfg, PNS_DISPATCH_LINGER, &st, &err) == -1) {
		pns_log(PNS_LOG_ERROR, "delivery: %s", err.msg);
		return 1;
	}
	return 0;
}

/*
 * The helper modes this program runs for notices.fcgi
 * (pns_child_helper), chosen by argv[1]: the delivery worker
 * (PNS_DISPATCH_ARG) and the child that makes a key set fetch
 * (PNS_HTTP_CHILD_ARG).  1 with *rc set when argv names one.  They run
 * only when no web server started this process: Apache's mod_cgi passes
 * a query string without '=' as arguments, and a request must not be
 * able to start a worker that holds the connection for minutes, or make
 * the tool GET any URL and answer with what came back.
 */
static int
helper_mode(int argc, char *argv[], int *rc)
{
	int	dispatch, get;

	dispatch = argc == 2 && strcmp(argv[1], PNS_DISPATCH_ARG) == 0;
	get = argc >= 2 && strcmp(argv[1], PNS_HTTP_CHILD_ARG) == 0;
	if (!dispatch && !get)
		return 0;
	if (getenv("GATEWAY_INTERFACE") != NULL)
		*rc = 2;
	else
		*rc = dispatch ? dispatch_main() :
		    pns_http_child_main(argc, argv);
	return 1;
}

int
main(int argc, char *argv[])
{
	static struct resp	 r;
	struct pns_config	 cfg;
	struct pns_err		 err;
	struct req		 q;
	const char		*path;
	char			 cfgpath[PATH_MAX];
	size_t			 i;
	int			 rc;

	pns_log_init("lti.cgi", PNS_LOG_INFO);
	pns_crypto_init();
	if (helper_mode(argc, argv, &rc))
		return rc;
	(void)umask(077);
	(void)prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	memset(&r, 0, sizeof(r));
	pns_buf_init(&r.body, PAGE_MAX);
	r.type = "application/json";

	pns_err_clear(&err);
	pns_config_defaults(&cfg);
	if (pns_config_load(&cfg, pns_config_find(getenv("PNS_CONFIG"),
	    cfgpath, sizeof(cfgpath)), &err) == -1 ||
	    pns_store_check(&cfg, &err) == -1) {
		pns_log(PNS_LOG_ERROR, "configuration: %s", err.msg);
		r.status = 503;
		(void)pns_buf_adds(&r.body, "{\"error\":\"not_configured\"}\n", NULL);
		respond(&r);
		return 0;
	}
	pns_log_set_level((enum pns_log_level)cfg.log_level);
	q.cfg = &cfg;
	q.method = method_of(getenv("REQUEST_METHOD"));
	q.query = getenv("QUERY_STRING") != NULL ? getenv("QUERY_STRING") : "";
	q.content_type = getenv("CONTENT_TYPE");
	q.content_length = getenv("CONTENT_LENGTH");
	q.cookie = getenv("HTTP_COOKIE");
	q.remote = getenv("REMOTE_ADDR");
	path = getenv("PATH_INFO") != NULL ? getenv("PATH_INFO") : "";

	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (strcmp(path, routes[i].path) == 0)
			break;
	if (i == sizeof(routes) / sizeof(routes[0])) {
		r.status = 404;
		(void)pns_buf_adds(&r.body, "{\"error\":\"not_found\"}\n", NULL);
	} else if (!(routes[i].methods & q.method)) {
		r.status = 405;
		r.allow = routes[i].allow;
		(void)pns_buf_adds(&r.body,
		    "{\"error\":\"method_not_allowed\"}\n", NULL);
	} else
		routes[i].fn(&q, &r);
	respond(&r);
	pns_buf_release(&r.body);
	return 0;
}
