/* SPDX-License-Identifier: ISC */
/*
 * Notice-handler registration; see pns_handlers.h.  A slow platform
 * delays a launch by at most http_timeout seconds: the whole
 * registration (the token, with any wait for another process fetching
 * it, and the PUTs) runs against one deadline, set once the
 * deployment's lock is held, and no call is started with less than a
 * second left.  The lock is taken without waiting: a launch that finds
 * another registering the same deployment shows the stored status and
 * goes on, where queueing would add the other's http_timeout to its own.
 * After a failure the same registration is not tried again for
 * RETRY_AFTER seconds, so that during an outage launches neither wait
 * for the platform nor keep calling it.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "pns_child.h"
#include "pns_form.h"
#include "pns_fs.h"
#include "pns_handlers.h"
#include "pns_http.h"
#include "pns_json.h"
#include "pns_log.h"
#include "pns_store.h"
#include "pns_token.h"
#include "banned.h"

#define RECORD_MAX	(64 * 1024)
#define REPLY_MAX	(256 * 1024)

/*
 * Seconds after a failed attempt before a launch makes the same
 * registration again (docs/launch.md).  Long enough that an outage costs
 * the platform a call per deployment every few minutes rather than one
 * per launch; short enough that a platform back up is used again soon.
 * pnsctl handlers sync clears the error, and with it the wait.
 */
#define RETRY_AFTER	300

int
pns_handlers_url(const struct pns_config *cfg, const char *deployment_id,
    struct pns_buf *out, struct pns_err *err)
{
	if (pns_buf_adds(out, cfg->base_url, err) == -1 ||
	    pns_buf_adds(out, "/notices.fcgi/", err) == -1)
		return -1;
	return pns_url_encode(out, deployment_id, err);
}

static int
record_paths(const struct pns_config *cfg, const struct pns_platform *p,
    const char *deployment_id, char *dir, char *name, char *lock,
    struct pns_err *err)
{
	const char	*f[3] = { p->issuer, p->client_id, deployment_id };
	char		 h[65], lname[80];

	pns_hash_fields(h, 3, f);
	(void)snprintf(name, 80, "%s.json", h);
	(void)snprintf(lname, sizeof(lname), "%s.lock", h);
	if (pns_store_path(cfg, dir, PNS_FS_PATH_MAX, PNS_DIR_HANDLERS, NULL,
	    err) == -1)
		return -1;
	return pns_path_join(lock, PNS_FS_PATH_MAX, dir, lname, err);
}

static struct json_object *
load_record(const char *dir, const char *name)
{
	char			 path[PNS_FS_PATH_MAX];
	struct json_object	*o = NULL;

	if (pns_path_join(path, sizeof(path), dir, name, NULL) == 0 &&
	    pns_json_load(path, RECORD_MAX, 8, &o, NULL) == 0 &&
	    !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		o = NULL;
	}
	return o;
}

static void
copy_str(char *dst, size_t size, const char *src)
{
	(void)snprintf(dst, size, "%s", src != NULL ? src : "");
}

static void
fill_status(struct json_object *rec, struct pns_handlers_status *st)
{
	copy_str(st->types, sizeof(st->types), pns_json_str(rec, "types"));
	copy_str(st->registered_at, sizeof(st->registered_at),
	    pns_json_str(rec, "registered_at"));
	copy_str(st->last_error, sizeof(st->last_error),
	    pns_json_str(rec, "last_error"));
	copy_str(st->pns_url, sizeof(st->pns_url), pns_json_str(rec, "pns_url"));
	st->registered = st->types[0] != '\0';
}

int
pns_handlers_status(const struct pns_config *cfg, const struct pns_platform *p,
    const char *deployment_id, struct pns_handlers_status *st,
    struct pns_err *err)
{
	char			 dir[PNS_FS_PATH_MAX], name[80];
	char			 lock[PNS_FS_PATH_MAX];
	struct json_object	*rec;

	memset(st, 0, sizeof(*st));
	if (record_paths(cfg, p, deployment_id, dir, name, lock, err) == -1)
		return -1;
	if ((rec = load_record(dir, name)) == NULL)
		return pns_err_set(err, PNS_ENOENT, "no registration record");
	fill_status(rec, st);
	json_object_put(rec);
	return 0;
}

/*
 * The next type of a space-separated list, its length in *len, or NULL
 * at the end; *list moves past it.
 */
static const char *
next_type(const char **list, size_t *len)
{
	const char	*t = *list, *end;

	while (*t == ' ')
		t++;
	if (*t == '\0')
		return NULL;
	end = strchr(t, ' ');
	*len = end != NULL ? (size_t)(end - t) : strlen(t);
	*list = t + *len;
	return t;
}

/* 1 if the space-separated list (NULL: empty) has the type. */
static int
list_has(const char *list, const char *type, size_t len)
{
	const char	*t;
	size_t		 n;

	while (list != NULL && (t = next_type(&list, &n)) != NULL)
		if (n == len && strncmp(t, type, len) == 0)
			return 1;
	return 0;
}

/* Appends the type to the list in out unless there or too long. */
static void
list_add(char *out, size_t size, const char *type, size_t len)
{
	size_t	o = strlen(out);

	if (len == 0 || list_has(out, type, len) || o + len + 2 > size)
		return;
	if (o > 0)
		out[o++] = ' ';
	memcpy(out + o, type, len);
	out[o + len] = '\0';
}

/* 1 if the claim's notice_types_supported has the type. */
static int
supports(struct json_object *supported, const char *type, size_t len)
{
	struct json_object	*v;
	size_t			 i, n = json_object_array_length(supported);

	for (i = 0; i < n; i++) {
		v = json_object_array_get_idx(supported, i);
		if (pns_json_is_clean_str(v) &&
		    (size_t)json_object_get_string_len(v) == len &&
		    strncmp(json_object_get_string(v), type, len) == 0)
			return 1;
	}
	return 0;
}

/*
 * The registered types to unsubscribe: those the platform still lists
 * as supported that the configuration no longer wants.  A registered
 * type the claim does not list is left alone.  The list varies with the
 * launch (Canvas's Asset Processor deep-linking launches list only
 * LtiAssetProcessorSubmissionNotice), so leaving it out says nothing of
 * the subscriptions made from other launches; a type the platform no
 * longer supports at all it cannot send, and Canvas would refuse the
 * PUT ("Notice type unknown"), so that the registration would fail
 * every time.  Such a type stays in the record as registered, which is
 * all the tool knows, until a launch lists it again.
 */
static void
dropped_types(const char *registered, const char *wanted,
    struct json_object *supported, char *out, size_t size)
{
	const char	*t;
	size_t		 len;

	out[0] = '\0';
	while (registered != NULL &&
	    (t = next_type(&registered, &len)) != NULL)
		if (!list_has(wanted, t, len) && supports(supported, t, len))
			list_add(out, size, t, len);
}

/*
 * The configured types the platform supports, in configuration order.
 * The claim is the platform's: an element that is not a string (null, a
 * number, a string with a NUL inside) names no type and is passed over,
 * as json_object_get_string would turn null into a NULL pointer and a
 * number into its digits.
 */
static int
wanted_types(const struct pns_config *cfg, struct json_object *supported,
    char *out, size_t size)
{
	struct json_object	*v;
	const char		*p = cfg->notice_types, *end;
	char			 type[128];
	size_t			 i, n, o = 0, len;
	int			 found;

	out[0] = '\0';
	n = json_object_array_length(supported);
	while (*p != '\0') {
		end = strchr(p, ' ');
		len = end != NULL ? (size_t)(end - p) : strlen(p);
		if (len < sizeof(type)) {
			memcpy(type, p, len);
			type[len] = '\0';
			found = 0;
			for (i = 0; i < n && !found; i++) {
				v = json_object_array_get_idx(supported, i);
				found = pns_json_is_clean_str(v) &&
				    strcmp(json_object_get_string(v), type) == 0;
			}
			if (found && o + len + 2 < size) {
				if (o > 0)
					out[o++] = ' ';
				memcpy(out + o, type, len + 1);
				o += len;
			}
		}
		p += len;
		while (*p == ' ')
			p++;
	}
	return 0;
}

/*
 * Whether a PUT reply confirms type -> handler ("" for an unsubscribe).
 * Canvas answers the handler ({notice_type, handler}, handler "" after
 * an unsubscribe); older Canvas and other platforms the whole catalog
 * ({notice_handlers: [...]}), which may leave out a type without a
 * handler; an empty 2xx body is taken at its word.
 */
static int
reply_confirms(const struct pns_buf *reply, const char *type,
    const char *handler)
{
	struct json_object	*o = NULL, *list, *e;
	const char		*t, *h;
	size_t			 i, n;
	int			 ok = 0, listed = 0;

	if (reply->len == 0)
		return 1;
	if (pns_json_parse(reply->data, reply->len, 8, &o, NULL) == -1)
		return 0;
	if ((t = pns_json_str(o, "notice_type")) != NULL) {
		h = pns_json_str(o, "handler");
		ok = strcmp(t, type) == 0 && h != NULL && strcmp(h, handler) == 0;
	} else if ((list = pns_json_arr(o, "notice_handlers")) != NULL) {
		n = json_object_array_length(list);
		for (i = 0; i < n && !listed; i++) {
			e = json_object_array_get_idx(list, i);
			t = pns_json_str(e, "notice_type");
			h = pns_json_str(e, "handler");
			listed = t != NULL && strcmp(t, type) == 0;
			ok = listed && h != NULL && strcmp(h, handler) == 0;
		}
		if (!listed)
			ok = handler[0] == '\0';
	}
	json_object_put(o);
	return ok;
}

/* The error message of a platform's error body, for the record. */
static void
reply_error(const struct pns_buf *reply, long status, char *out, size_t size)
{
	struct json_object	*o = NULL, *errs;
	const char		*msg = NULL;
	char			 esc[160];

	if (pns_json_parse(reply->data, reply->len, 8, &o, NULL) == 0 &&
	    (errs = pns_json_obj(o, "errors")) != NULL)
		msg = pns_json_str(errs, "message");
	if (msg != NULL)
		(void)snprintf(out, size, "HTTP %ld: %s", status,
		    pns_log_escape(msg, strlen(msg), esc, sizeof(esc)));
	else
		(void)snprintf(out, size, "HTTP %ld", status);
	json_object_put(o);
}

/*
 * PUTs type -> handler ("" unsubscribes) with the token; 0 once the
 * platform confirms it, else -1 and error says why.
 */
static int
put_handler(const struct pns_config *cfg, const struct pns_platform *p,
    const char *pns_url, const char *token, const char *type,
    const char *handler, const struct timespec *deadline, char *error,
    size_t errsz)
{
	struct pns_http_call	 call;
	struct pns_buf		 body, reply;
	struct pns_err		 err;
	struct json_object	*o;
	long			 left;
	int			 rc = -1;

	pns_buf_init(&body, 16 * 1024);
	pns_buf_init(&reply, REPLY_MAX);
	o = json_object_new_object();
	json_object_object_add(o, "notice_type", json_object_new_string(type));
	json_object_object_add(o, "handler", json_object_new_string(handler));
	(void)pns_buf_adds(&body, json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE), NULL);
	json_object_put(o);

	if ((left = pns_child_s_left(deadline)) == 0) {
		(void)snprintf(error, errsz, "%.60s: no time left "
		    "within http_timeout", type);
		goto out;
	}
	memset(&call, 0, sizeof(call));
	call.method = "PUT";
	call.url = pns_url;
	call.bearer = token;
	call.content_type = "application/json";
	call.body = body.data;
	call.body_len = body.len;
	call.timeout = left;
	pns_err_clear(&err);
	if (pns_http_request(&call, &reply, &err) == -1) {
		(void)snprintf(error, errsz, "%.60s: %.180s", type, err.msg);
		goto out;
	}
	if (call.status == 401)
		pns_token_forget(cfg, p, PNS_SCOPE_NOTICEHANDLERS);
	if (call.status < 200 || call.status > 299) {
		reply_error(&reply, call.status, error, errsz);
		goto out;
	}
	if (!reply_confirms(&reply, type, handler)) {
		(void)snprintf(error, errsz, "%.60s: the platform's answer "
		    "does not confirm the %s", type,
		    handler[0] != '\0' ? "handler" : "unsubscription");
		goto out;
	}
	rc = 0;
out:
	pns_buf_release(&body);
	pns_buf_release(&reply);
	return rc;
}

/*
 * PUTs every wanted type, then an empty handler for every type in drop;
 * done and gone get the types the platform confirmed.  The first
 * failure stops and is returned.  Unsubscribing comes last so that a
 * registration short of time leaves a type the tool no longer wants
 * registered (the record says so) rather than one it wants missing.
 */
static int
register_types(const struct pns_config *cfg, const struct pns_platform *p,
    const char *pns_url, const char *handler, const char *wanted,
    const char *drop, time_t now, const struct timespec *deadline,
    char *done, char *gone, size_t listsz, char *error, size_t errsz)
{
	struct pns_err		 err;
	char			 token[PNS_TOKEN_MAX], type[128];
	const char		*lists[2] = { wanted, drop }, *w, *t;
	size_t			 len, i;
	long			 left;
	int			 rc = -1;

	done[0] = gone[0] = '\0';
	token[0] = '\0';
	pns_err_clear(&err);
	if ((left = pns_child_s_left(deadline)) == 0) {
		(void)snprintf(error, errsz, "no time left for an access token "
		    "within http_timeout");
		goto out;
	}
	if (pns_token_get(cfg, p, PNS_SCOPE_NOTICEHANDLERS, now, left, token,
	    &err) == -1) {
		(void)snprintf(error, errsz, "access token: %.200s", err.msg);
		goto out;
	}
	for (i = 0; i < 2; i++) {
		w = lists[i];
		while ((t = next_type(&w, &len)) != NULL &&
		    len < sizeof(type)) {
			memcpy(type, t, len);
			type[len] = '\0';
			if (put_handler(cfg, p, pns_url, token, type,
			    i == 0 ? handler : "", deadline, error,
			    errsz) == -1)
				goto out;
			list_add(i == 0 ? done : gone, listsz, type, len);
		}
	}
	rc = 0;
out:
	OPENSSL_cleanse(token, sizeof(token));
	return rc;
}

static int
save_record(const char *dir, const char *name, const struct pns_platform *p,
    const char *deployment_id, const char *pns_url, const char *handler,
    const char *wanted, const struct pns_handlers_status *st, time_t now,
    struct pns_err *err)
{
	struct json_object	*o;
	const char		*text;
	char			 when[21];
	int			 rc;

	pns_iso8601_fmt(now, when);
	if ((o = json_object_new_object()) == NULL)
		return pns_err_set(err, PNS_ENOMEM, "out of memory");
	json_object_object_add(o, "issuer", json_object_new_string(p->issuer));
	json_object_object_add(o, "client_id",
	    json_object_new_string(p->client_id));
	json_object_object_add(o, "deployment_id",
	    json_object_new_string(deployment_id));
	json_object_object_add(o, "pns_url", json_object_new_string(pns_url));
	json_object_object_add(o, "handler", json_object_new_string(handler));
	json_object_object_add(o, "wanted", json_object_new_string(wanted));
	json_object_object_add(o, "types", json_object_new_string(st->types));
	json_object_object_add(o, "registered_at",
	    json_object_new_string(st->registered_at));
	json_object_object_add(o, "attempted_at", json_object_new_string(when));
	json_object_object_add(o, "last_error",
	    json_object_new_string(st->last_error));
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	rc = pns_write_atomic(dir, name, text, strlen(text), err);
	json_object_put(o);
	return rc;
}

/* 1 if the record is of this registration: same URLs, same types. */
static int
same_request(struct json_object *rec, const char *pns_url,
    const char *handler, const char *wanted)
{
	const char	*s;

	return rec != NULL &&
	    (s = pns_json_str(rec, "pns_url")) != NULL && !strcmp(s, pns_url) &&
	    (s = pns_json_str(rec, "handler")) != NULL && !strcmp(s, handler) &&
	    (s = pns_json_str(rec, "wanted")) != NULL && !strcmp(s, wanted);
}

/*
 * 1 if the record's time key is within window seconds before now.  A
 * time more than a minute ahead (a clock set back) counts as outside,
 * so that it cannot hold registration off for good.
 */
static int
recent(struct json_object *rec, const char *key, time_t now, long window)
{
	const char	*s;
	struct tm	 tm;
	time_t		 at;

	if ((s = pns_json_str(rec, key)) == NULL || strlen(s) != 20)
		return 0;
	memset(&tm, 0, sizeof(tm));
	if (strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm) == NULL)
		return 0;
	at = timegm(&tm);
	return now - at < window && at <= now + 60;
}

/* 1 if every type of wanted is in the list. */
static int
list_covers(const char *list, const char *wanted)
{
	const char	*t;
	size_t		 len;

	while ((t = next_type(&wanted, &len)) != NULL)
		if (!list_has(list, t, len))
			return 0;
	return 1;
}

/*
 * 1 if the record shows this exact registration done recently, with
 * nothing left to unsubscribe.  The record's types may hold more than
 * wanted: registered types that this claim does not list.
 */
static int
up_to_date(struct json_object *rec, const char *pns_url, const char *handler,
    const char *wanted, const char *drop, time_t now, long refresh)
{
	const char	*s;

	return same_request(rec, pns_url, handler, wanted) && *drop == '\0' &&
	    (s = pns_json_str(rec, "last_error")) != NULL && *s == '\0' &&
	    (s = pns_json_str(rec, "types")) != NULL &&
	    list_covers(s, wanted) &&
	    recent(rec, "registered_at", now, refresh);
}

/*
 * 1 if this exact registration failed under RETRY_AFTER seconds ago.  A
 * changed claim or handler URL is another registration and is tried.
 */
static int
backing_off(struct json_object *rec, const char *pns_url,
    const char *handler, const char *wanted, time_t now)
{
	const char	*s;

	return same_request(rec, pns_url, handler, wanted) &&
	    (s = pns_json_str(rec, "last_error")) != NULL && *s != '\0' &&
	    recent(rec, "attempted_at", now, RETRY_AFTER);
}

int
pns_handlers_sync(const struct pns_config *cfg, const struct pns_platform *p,
    const char *deployment_id, struct json_object *claim, time_t now,
    struct pns_handlers_status *st, struct pns_err *err)
{
	char			 dir[PNS_FS_PATH_MAX], name[80];
	char			 lock[PNS_FS_PATH_MAX], wanted[1024];
	char			 drop[1024], done[1024], gone[1024];
	struct json_object	*supported, *rec = NULL;
	struct pns_buf		 handler;
	struct timespec		 deadline;
	const char		*pns_url, *prev = NULL, *s, *t, *w;
	size_t			 len;
	int			 fd = -1, rc = -1, busy, rc_reg;

	memset(st, 0, sizeof(*st));
	pns_buf_init(&handler, PNS_URL_MAX);
	pns_url = pns_json_str(claim, "platform_notification_service_url");
	supported = pns_json_arr(claim, "notice_types_supported");
	if (pns_url == NULL || !pns_url_valid(pns_url) || supported == NULL) {
		pns_err_set(err, PNS_EINVAL, "platformnotificationservice claim "
		    "without a usable URL or notice_types_supported");
		goto out;
	}
	/*
	 * The notice-handler access token, a bearer credential, goes to that
	 * URL, which the launch names: never in clear text for a platform
	 * whose token endpoint is https.
	 */
	if (strncmp(p->token_url, "https://", 8) == 0 &&
	    strncmp(pns_url, "https://", 8) != 0) {
		pns_err_set(err, PNS_EINVAL, "platformnotificationservice URL "
		    "is not https, while the platform's token endpoint is");
		goto out;
	}
	wanted_types(cfg, supported, wanted, sizeof(wanted));
	if (pns_handlers_url(cfg, deployment_id, &handler, err) == -1 ||
	    record_paths(cfg, p, deployment_id, dir, name, lock, err) == -1 ||
	    (busy = pns_trylock(lock, &fd, err)) == -1)
		goto out;
	rc = 0;
	/* Read after the lock, or unlocked when busy: writes are atomic. */
	rec = load_record(dir, name);
	/*
	 * What is registered at this PNS URL, and so what to unsubscribe.
	 * Types registered at a URL the launch no longer names are not
	 * this endpoint's to withdraw.
	 */
	if (rec != NULL && (s = pns_json_str(rec, "pns_url")) != NULL &&
	    strcmp(s, pns_url) == 0)
		prev = pns_json_str(rec, "types");
	dropped_types(prev, wanted, supported, drop, sizeof(drop));
	if (busy || (wanted[0] == '\0' && drop[0] == '\0') ||
	    up_to_date(rec, pns_url, handler.data, wanted, drop, now,
	    cfg->handler_refresh) || backing_off(rec, pns_url, handler.data,
	    wanted, now)) {
		if (rec != NULL)
			fill_status(rec, st);
		st->busy = busy;
		goto out;
	}
	/* Set here: the lock and the record are not the platform's time. */
	pns_child_deadline(&deadline, cfg->http_timeout);
	st->attempted = 1;
	copy_str(st->pns_url, sizeof(st->pns_url), pns_url);
	rc_reg = register_types(cfg, p, pns_url, handler.data, wanted, drop,
	    now, &deadline, done, gone, sizeof(done), st->last_error,
	    sizeof(st->last_error));
	/*
	 * What the platform has now: the types just registered, and those
	 * registered before that were not unsubscribed, a failed or unsent
	 * unsubscribe included.
	 */
	copy_str(st->types, sizeof(st->types), done);
	for (w = prev; w != NULL && (t = next_type(&w, &len)) != NULL; )
		if (!list_has(gone, t, len))
			list_add(st->types, sizeof(st->types), t, len);
	if (rc_reg == 0)
		pns_iso8601_fmt(now, st->registered_at);
	else {
		/*
		 * Keep what an earlier success registered on display, at
		 * another PNS URL too.
		 */
		if (done[0] == '\0' && rec != NULL) {
			if (prev == NULL)
				copy_str(st->types, sizeof(st->types),
				    pns_json_str(rec, "types"));
			copy_str(st->registered_at, sizeof(st->registered_at),
			    pns_json_str(rec, "registered_at"));
		}
		pns_log(PNS_LOG_WARN, "registering notice handlers: %s",
		    st->last_error);
	}
	st->registered = st->types[0] != '\0';
	if (save_record(dir, name, p, deployment_id, pns_url, handler.data,
	    wanted, st, now, err) == -1)
		pns_log(PNS_LOG_ERROR, "registration record: %s", err->msg);
out:
	pns_unlock(fd);
	json_object_put(rec);
	pns_buf_release(&handler);
	return rc;
}

struct handlers_walk {
	int	(*fn)(struct json_object *, void *);
	void	 *arg;
};

static int
handlers_one(const char *dir, const char *name, void *arg)
{
	struct handlers_walk	*w = arg;
	struct json_object	*rec;
	int			 rc;

	/* One unreadable record must not hide the others. */
	if ((rec = load_record(dir, name)) == NULL)
		return 0;
	rc = w->fn(rec, w->arg);
	json_object_put(rec);
	return rc;
}

int
pns_handlers_foreach(const struct pns_config *cfg,
    int (*fn)(struct json_object *, void *), void *arg, struct pns_err *err)
{
	struct handlers_walk	w = { fn, arg };
	char			dir[PNS_FS_PATH_MAX];

	if (pns_store_path(cfg, dir, sizeof(dir), PNS_DIR_HANDLERS, NULL,
	    err) == -1)
		return -1;
	return pns_store_foreach_name(dir, ".json", 0, handlers_one, &w, err);
}

/*
 * The platform, paths and lock of a record, and in *fresh the record as
 * it is under the lock: rec was read before it was taken, and a launch
 * may have registered since, so that writing rec back would undo that.
 * The caller unlocks and puts *fresh.
 */
static int
open_record(const struct pns_config *cfg, struct json_object *rec,
    struct pns_platform *p, char *dir, char *name, int *fd,
    struct json_object **fresh, struct pns_err *err)
{
	const char	*iss = pns_json_str(rec, "issuer");
	const char	*cid = pns_json_str(rec, "client_id");
	const char	*dep = pns_json_str(rec, "deployment_id");
	char		 lock[PNS_FS_PATH_MAX];

	*fd = -1;
	*fresh = NULL;
	if (iss == NULL || cid == NULL || dep == NULL)
		return pns_err_set(err, PNS_EINVAL, "incomplete record");
	if (pns_platform_load(cfg, iss, cid, p, err) == -1 ||
	    record_paths(cfg, p, dep, dir, name, lock, err) == -1 ||
	    pns_lock(lock, fd, err) == -1)
		return -1;
	if ((*fresh = load_record(dir, name)) == NULL)
		return pns_err_set(err, PNS_ENOENT, "the registration record "
		    "is gone");
	if (pns_json_str(*fresh, "pns_url") == NULL ||
	    pns_json_str(*fresh, "handler") == NULL)
		return pns_err_set(err, PNS_EINVAL, "incomplete record");
	return 0;
}

/* Writes rec back with new types (and error) after a CLI action. */
static int
rewrite(const char *dir, const char *name, struct json_object *rec,
    const char *types, const char *error, time_t now, struct pns_err *err)
{
	char		 when[21];
	const char	*text;

	pns_iso8601_fmt(now, when);
	json_object_object_add(rec, "types", json_object_new_string(types));
	json_object_object_add(rec, "attempted_at", json_object_new_string(when));
	json_object_object_add(rec, "last_error", json_object_new_string(error));
	text = json_object_to_json_string_ext(rec, JSON_C_TO_STRING_PRETTY |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	return pns_write_atomic(dir, name, text, strlen(text), err);
}

/* One authenticated call to the deployment's PNS URL. */
static int
pns_call(const struct pns_config *cfg, const struct pns_platform *p,
    const char *method, const char *url, const char *body,
    struct pns_buf *reply, struct pns_err *err)
{
	struct pns_http_call	call;
	char			token[PNS_TOKEN_MAX];
	char			msg[256];
	int			rc;

	if (pns_token_get(cfg, p, PNS_SCOPE_NOTICEHANDLERS, time(NULL),
	    cfg->http_timeout, token, err) == -1)
		return -1;
	memset(&call, 0, sizeof(call));
	call.method = method;
	call.url = url;
	call.bearer = token;
	call.content_type = body != NULL ? "application/json" : NULL;
	call.body = body;
	call.body_len = body != NULL ? strlen(body) : 0;
	call.timeout = cfg->http_timeout;
	rc = pns_http_request(&call, reply, err);
	OPENSSL_cleanse(token, sizeof(token));
	if (rc == -1)
		return -1;
	if (call.status == 401)
		pns_token_forget(cfg, p, PNS_SCOPE_NOTICEHANDLERS);
	if (call.status < 200 || call.status > 299) {
		reply_error(reply, call.status, msg, sizeof(msg));
		return pns_err_set(err, PNS_ENET, "%s", msg);
	}
	return 0;
}

int
pns_handlers_reconcile(const struct pns_config *cfg, struct json_object *rec,
    struct pns_err *err)
{
	struct pns_platform	 p;
	struct pns_buf		 reply;
	struct json_object	*cat = NULL, *fresh = NULL, *list, *e;
	char			 dir[PNS_FS_PATH_MAX], name[80], types[1024];
	const char		*handler, *t, *h;
	size_t			 i, n, o = 0;
	int			 fd = -1, rc = -1;

	pns_platform_init(&p);
	pns_buf_init(&reply, REPLY_MAX);
	types[0] = '\0';
	if (open_record(cfg, rec, &p, dir, name, &fd, &fresh, err) == -1)
		goto out;
	handler = pns_json_str(fresh, "handler");
	if (pns_call(cfg, &p, "GET", pns_json_str(fresh, "pns_url"), NULL,
	    &reply, err) == -1 ||
	    pns_json_parse(reply.data, reply.len, 8, &cat, err) == -1)
		goto out;
	if ((list = pns_json_arr(cat, "notice_handlers")) == NULL) {
		pns_err_set(err, PNS_EINVAL, "the platform's catalog has no "
		    "notice_handlers");
		goto out;
	}
	n = json_object_array_length(list);
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(list, i);
		t = pns_json_nestr(e, "notice_type");
		h = pns_json_str(e, "handler");
		if (t == NULL || h == NULL || strcmp(h, handler) != 0 ||
		    o + strlen(t) + 2 >= sizeof(types))
			continue;
		if (o > 0)
			types[o++] = ' ';
		memcpy(types + o, t, strlen(t) + 1);
		o += strlen(t);
	}
	if ((rc = rewrite(dir, name, fresh, types, "", time(NULL), err)) == 0)
		json_object_object_add(rec, "types",
		    json_object_new_string(types));
out:
	pns_unlock(fd);
	json_object_put(fresh);
	json_object_put(cat);
	pns_buf_release(&reply);
	pns_platform_release(&p);
	return rc;
}

int
pns_handlers_remove(const struct pns_config *cfg, struct json_object *rec,
    const char *type, struct pns_err *err)
{
	struct pns_platform	 p;
	struct pns_buf		 reply;
	struct json_object	*o, *fresh = NULL;
	char			 dir[PNS_FS_PATH_MAX], name[80], types[1024];
	const char		*cur, *t;
	size_t			 len;
	int			 fd = -1, rc = -1;

	pns_platform_init(&p);
	pns_buf_init(&reply, REPLY_MAX);
	if (open_record(cfg, rec, &p, dir, name, &fd, &fresh, err) == -1)
		goto out;
	o = json_object_new_object();
	json_object_object_add(o, "notice_type", json_object_new_string(type));
	json_object_object_add(o, "handler", json_object_new_string(""));
	rc = pns_call(cfg, &p, "PUT", pns_json_str(fresh, "pns_url"),
	    json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), &reply,
	    err);
	json_object_put(o);
	if (rc == -1)
		goto out;
	/* The record's types, less the one removed. */
	types[0] = '\0';
	cur = pns_json_str(fresh, "types");
	while (cur != NULL && (t = next_type(&cur, &len)) != NULL)
		if (!(len == strlen(type) && strncmp(t, type, len) == 0))
			list_add(types, sizeof(types), t, len);
	rc = rewrite(dir, name, fresh, types, "", time(NULL), err);
out:
	pns_unlock(fd);
	json_object_put(fresh);
	pns_buf_release(&reply);
	pns_platform_release(&p);
	return rc;
}
