/* SPDX-License-Identifier: ISC */
/* Delivery of notices to the application; see pns_deliver.h. */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "pns_deliver.h"
#include "pns_fs.h"
#include "pns_hook.h"
#include "pns_http.h"
#include "pns_json.h"
#include "pns_log.h"
#include "pns_nstore.h"
#include "pns_store.h"
#include "banned.h"

#define ENTRY_MAX	4096
#define BACKOFF_CAP	86400L
#define HOOK_PATH	"PATH=/usr/local/bin:/usr/bin:/bin"

static const char *const dstatus_names[] = {
	"stored", "pending", "delivered", "failed",
};

const char *
pns_dstatus_str(enum pns_dstatus s)
{
	if ((int)s < 0 || (size_t)s >= sizeof(dstatus_names) /
	    sizeof(dstatus_names[0]))
		return "invalid";
	return dstatus_names[s];
}

int
pns_dstatus_parse(const char *s)
{
	size_t	i;

	for (i = 0; i < sizeof(dstatus_names) / sizeof(dstatus_names[0]); i++)
		if (strcmp(s, dstatus_names[i]) == 0)
			return (int)i;
	return -1;
}

void
pns_deliver_target(const struct pns_config *cfg, const char *type,
    struct pns_target *t)
{
	const struct pns_deliver_rule	*r;
	size_t				 i;

	t->kind = PNS_TARGET_NONE;
	t->where = NULL;
	for (i = 0; i < cfg->nrules; i++) {
		r = &cfg->rules[i];
		if (type == NULL || strcmp(r->type, type) != 0)
			continue;
		if (r->command[0] != '\0') {
			t->kind = PNS_TARGET_COMMAND;
			t->where = r->command;
		} else if (r->url[0] != '\0') {
			t->kind = PNS_TARGET_URL;
			t->where = r->url;
		}
		return;
	}
	if (cfg->deliver_command[0] != '\0') {
		t->kind = PNS_TARGET_COMMAND;
		t->where = cfg->deliver_command;
	} else if (cfg->deliver_url[0] != '\0') {
		t->kind = PNS_TARGET_URL;
		t->where = cfg->deliver_url;
	}
}

int
pns_deliver_configured(const struct pns_config *cfg)
{
	size_t	i;

	if (cfg->deliver_command[0] != '\0' || cfg->deliver_url[0] != '\0')
		return 1;
	for (i = 0; i < cfg->nrules; i++)
		if (cfg->rules[i].command[0] != '\0' ||
		    cfg->rules[i].url[0] != '\0')
			return 1;
	return 0;
}

static int
sub_path(const struct pns_config *cfg, const char *sub, const char *name,
    char *out, struct pns_err *err)
{
	return pns_store_path(cfg, out, PNS_FS_PATH_MAX, sub, name, err);
}

/* notices/<hh>/<key><suffix> */
static int
notice_path(const struct pns_config *cfg, const char *key,
    const char *suffix, char *out, struct pns_err *err)
{
	char	name[96];

	(void)snprintf(name, sizeof(name), "%c%c/%.64s%.16s", key[0], key[1],
	    key, suffix);
	return sub_path(cfg, PNS_DIR_NOTICES, name, out, err);
}

static int
exists(const char *path)
{
	return access(path, F_OK) == 0;
}

int
pns_deliver_enqueue(const struct pns_config *cfg, const char *key,
    int fresh, struct pns_err *err)
{
	char	path[PNS_FS_PATH_MAX];
	int	fd;

	if (!pns_nstore_key_valid(key))
		return pns_err_set(err, PNS_EINVAL, "not a notice key");
	/* Failed or delivered already: nothing to do.  A notice stored
	 * just now cannot be either. */
	if (!fresh) {
		if (sub_path(cfg, PNS_DIR_FAILED, key, path, err) == -1)
			return -1;
		if (exists(path))
			return 0;
		if (notice_path(cfg, key, ".delivered", path, err) == -1)
			return -1;
		if (exists(path))
			return 0;
	}
	if (sub_path(cfg, PNS_DIR_QUEUE, key, path, err) == -1)
		return -1;
	/* Empty: no attempt yet, due now.  Its name is the whole entry. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1 && errno != EEXIST)
		return pns_err_sys(err, "create %s", path);
	if (fd != -1)
		(void)close(fd);
	return 0;
}

/* An entry: {"attempts": n, "next_at": t, "last_error": "..."}. */
struct entry {
	long	attempts;
	time_t	next_at;
	char	last_error[256];
};

static int
read_entry(const char *path, struct entry *e, struct pns_err *err)
{
	struct pns_buf		 b;
	struct json_object	*o = NULL;
	double			 d;
	const char		*s;
	int			 rc;

	memset(e, 0, sizeof(*e));
	pns_buf_init(&b, ENTRY_MAX);
	rc = pns_read_file(path, &b, err);
	if (rc == 0 && b.len > 0) {
		/* A damaged entry is retried from scratch, never dropped. */
		if (pns_json_parse(b.data, b.len, 4, &o, NULL) == 0) {
			if (pns_json_num(o, "attempts", &d) == 0 && d >= 0 &&
			    d < 1e6)
				e->attempts = (long)d;
			if (pns_json_num(o, "next_at", &d) == 0 && d >= 0 &&
			    d < 1e12)
				e->next_at = (time_t)d;
			if ((s = pns_json_str(o, "last_error")) != NULL)
				(void)snprintf(e->last_error,
				    sizeof(e->last_error), "%s", s);
			json_object_put(o);
		}
	}
	pns_buf_release(&b);
	return rc;
}

static int
write_entry(const char *dir, const char *key, const struct entry *e,
    struct pns_err *err)
{
	struct json_object	*o;
	const char		*text;
	int			 rc;

	if ((o = json_object_new_object()) == NULL)
		return pns_err_set(err, PNS_ENOMEM, "out of memory");
	json_object_object_add(o, "attempts", json_object_new_int64(
	    e->attempts));
	json_object_object_add(o, "next_at", json_object_new_int64(
	    (int64_t)e->next_at));
	json_object_object_add(o, "last_error", json_object_new_string(
	    e->last_error));
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	rc = pns_write_atomic(dir, key, text, strlen(text), err);
	json_object_put(o);
	return rc;
}

int
pns_deliver_status(const struct pns_config *cfg, const char *key,
    struct pns_delivery *d, struct pns_err *err)
{
	char			 path[PNS_FS_PATH_MAX];
	struct entry		 e;
	struct json_object	*o = NULL;
	double			 n;
	const char		*s;

	memset(d, 0, sizeof(*d));
	if (!pns_nstore_key_valid(key))
		return pns_err_set(err, PNS_EINVAL, "not a notice key");
	if (sub_path(cfg, PNS_DIR_QUEUE, key, path, err) == -1)
		return -1;
	if (read_entry(path, &e, NULL) == 0) {
		d->status = PNS_DS_PENDING;
		goto entry;
	}
	if (sub_path(cfg, PNS_DIR_FAILED, key, path, err) == -1)
		return -1;
	if (read_entry(path, &e, NULL) == 0) {
		d->status = PNS_DS_FAILED;
		goto entry;
	}
	if (notice_path(cfg, key, ".delivered", path, err) == -1)
		return -1;
	if (pns_json_load(path, ENTRY_MAX, 4, &o, NULL) == 0) {
		d->status = PNS_DS_DELIVERED;
		if (pns_json_num(o, "attempts", &n) == 0 && n >= 0 && n < 1e6)
			d->attempts = (long)n;
		if ((s = pns_json_str(o, "delivered_at")) != NULL)
			(void)snprintf(d->delivered_at,
			    sizeof(d->delivered_at), "%s", s);
		json_object_put(o);
	}
	return 0;
entry:
	d->attempts = e.attempts;
	d->next_at = e.next_at;
	memcpy(d->last_error, e.last_error, sizeof(d->last_error));
	return 0;
}

/* -- delivering one notice ------------------------------------------ */

static void
env_add(char **envp, size_t *n, char *buf, size_t size, const char *name,
    const char *value)
{
	int	w;

	w = snprintf(buf, size, "%s=%s", name, value != NULL ? value : "");
	if (w > 0 && (size_t)w < size)
		envp[(*n)++] = buf;
}

static int
run_command(const char *cmd, struct json_object *rec, const char *text,
    size_t len, long timeout, struct pns_err *err)
{
	/* Room for the longest value: an issuer URL. */
	static char	 vars[6][PNS_URL_MAX + 64];
	char		*envp[8];
	size_t		 n = 0;

	envp[n++] = (char *)(uintptr_t)HOOK_PATH;
	env_add(envp, &n, vars[0], sizeof(vars[0]), "PNS_NOTICE_ID",
	    pns_json_str(rec, "id"));
	env_add(envp, &n, vars[1], sizeof(vars[1]), "PNS_NOTICE_TYPE",
	    pns_json_str(rec, "type"));
	env_add(envp, &n, vars[2], sizeof(vars[2]), "PNS_ISSUER",
	    pns_json_str(rec, "iss"));
	env_add(envp, &n, vars[3], sizeof(vars[3]), "PNS_CLIENT_ID",
	    pns_json_str(rec, "client_id"));
	env_add(envp, &n, vars[4], sizeof(vars[4]), "PNS_DEPLOYMENT_ID",
	    pns_json_str(rec, "deployment_id"));
	env_add(envp, &n, vars[5], sizeof(vars[5]), "PNS_NOTICE_KEY",
	    pns_json_str(rec, "key"));
	envp[n] = NULL;
	return pns_hook_run(cmd, envp, text, len, timeout, err);
}

static int
post_url(const struct pns_config *cfg, const char *url, const char *text,
    size_t len, struct pns_err *err)
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 mac[EVP_MAX_MD_SIZE];
	unsigned int		 maclen = 0, i;
	char			 sig[32 + 2 * EVP_MAX_MD_SIZE];
	const char		*headers[2];
	struct pns_http_call	 call;
	size_t			 o;
	int			 rc;

	/* The application checks this to know the POST is ours. */
	if (HMAC(EVP_sha256(), cfg->deliver_secret,
	    (int)strlen(cfg->deliver_secret), (const unsigned char *)text,
	    len, mac, &maclen) == NULL)
		return pns_err_set(err, PNS_ECRYPTO, "HMAC failed");
	o = (size_t)snprintf(sig, sizeof(sig), "X-PNS-Signature: sha256=");
	for (i = 0; i < maclen; i++) {
		sig[o++] = hex[mac[i] >> 4];
		sig[o++] = hex[mac[i] & 15];
	}
	sig[o] = '\0';
	headers[0] = sig;
	headers[1] = NULL;
	memset(&call, 0, sizeof(call));
	call.method = "POST";
	call.url = url;
	call.content_type = "application/json";
	call.body = text;
	call.body_len = len;
	call.headers = headers;
	call.timeout = cfg->deliver_timeout;
	/* Only the status counts: whatever the application says is
	 * dropped, however long. */
	rc = pns_http_request(&call, NULL, err);
	if (rc == -1)
		return -1;
	if (call.status < 200 || call.status > 299)
		return pns_err_set(err, PNS_EAPP, "application answered %ld",
		    call.status);
	return 0;
}

/* Delivers the stored notice key: 0 when the application took it. */
static int
deliver_one(const struct pns_config *cfg, const char *key,
    struct pns_err *err)
{
	struct pns_buf		 b;
	struct json_object	*rec = NULL;
	struct pns_target	 t;
	int			 rc = -1;

	/* Never what a crash left under its name (pns_nstore_load). */
	pns_buf_init(&b, PNS_NOTICE_FILE_MAX);
	if (pns_nstore_load(cfg, key, &b, &rec, err) == -1)
		goto out;
	pns_deliver_target(cfg, pns_json_str(rec, "type"), &t);
	switch (t.kind) {
	case PNS_TARGET_COMMAND:
		rc = run_command(t.where, rec, b.data, b.len,
		    cfg->deliver_timeout, err);
		break;
	case PNS_TARGET_URL:
		rc = post_url(cfg, t.where, b.data, b.len, err);
		break;
	case PNS_TARGET_NONE:
		rc = pns_err_set(err, PNS_EINVAL, "no delivery is configured "
		    "for this notice type");
		break;
	}
out:
	json_object_put(rec);
	pns_buf_release(&b);
	return rc;
}

/* -- workers ----------------------------------------------------------- */

static int
try_lock(const char *path)
{
	int	fd;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd == -1)
		return -1;
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		(void)close(fd);
		return -1;
	}
	return fd;
}

static int
take_slot(const struct pns_config *cfg)
{
	char	name[32], path[PNS_FS_PATH_MAX];
	long	i;
	int	fd;

	for (i = 0; i < cfg->deliver_workers; i++) {
		(void)snprintf(name, sizeof(name), ".worker.%ld", i);
		if (sub_path(cfg, PNS_DIR_QUEUE, name, path, NULL) == -1)
			return -1;
		if ((fd = try_lock(path)) != -1)
			return fd;
	}
	return -1;
}

int
pns_deliver_slot_free(const struct pns_config *cfg)
{
	int	fd;

	if ((fd = take_slot(cfg)) == -1)
		return 0;
	(void)close(fd);
	return 1;
}

static time_t
backoff(const struct pns_config *cfg, long attempts)
{
	long	d = cfg->deliver_backoff;

	while (--attempts > 0 && d < BACKOFF_CAP)
		d *= 2;
	return d < BACKOFF_CAP ? d : BACKOFF_CAP;
}

static void
stamp_due(const struct pns_config *cfg, time_t earliest)
{
	char		path[PNS_FS_PATH_MAX];
	struct timespec	ts[2];

	if (sub_path(cfg, PNS_DIR_QUEUE, ".due", path, NULL) == -1)
		return;
	if (earliest == 0) {
		(void)unlink(path);
		return;
	}
	pns_touch(path);
	ts[0].tv_sec = ts[1].tv_sec = earliest;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	(void)utimensat(AT_FDCWD, path, ts, 0);
}

int
pns_deliver_due(const struct pns_config *cfg, time_t now)
{
	char	path[PNS_FS_PATH_MAX];
	time_t	t;

	if (sub_path(cfg, PNS_DIR_QUEUE, ".due", path, NULL) == -1)
		return 0;
	return (t = pns_mtime(path)) != 0 && t <= now;
}

/* Records the outcome of one attempt on the entry of key. */
static int
settle(const struct pns_config *cfg, const char *qdir, const char *key,
    struct entry *e, int ok, const struct pns_err *why,
    struct pns_dispatch_stats *st, struct pns_err *err)
{
	char			 path[PNS_FS_PATH_MAX], fdir[PNS_FS_PATH_MAX];
	char			 ndir[PNS_FS_PATH_MAX], name[80], when[21];
	char			 qpath[PNS_FS_PATH_MAX];
	struct json_object	*o;
	const char		*text;
	time_t			 now = time(NULL);
	int			 rc;

	e->attempts++;
	if (pns_path_join(qpath, sizeof(qpath), qdir, key, err) == -1)
		return -1;
	if (ok) {
		/* The record first: a crash before the unlink means one more
		 * delivery, never none. */
		pns_iso8601_fmt(now, when);
		if ((o = json_object_new_object()) == NULL)
			return pns_err_set(err, PNS_ENOMEM, "out of memory");
		json_object_object_add(o, "delivered_at",
		    json_object_new_string(when));
		json_object_object_add(o, "attempts",
		    json_object_new_int64(e->attempts));
		text = json_object_to_json_string_ext(o,
		    JSON_C_TO_STRING_PLAIN);
		(void)snprintf(name, sizeof(name), "%.64s.delivered", key);
		(void)snprintf(path, sizeof(path), "%c%c", key[0], key[1]);
		rc = sub_path(cfg, PNS_DIR_NOTICES, path, ndir, err);
		if (rc == 0)
			rc = pns_write_atomic(ndir, name, text, strlen(text),
			    err);
		json_object_put(o);
		if (rc == -1)
			return -1;
		if (unlink(qpath) == -1 && errno != ENOENT)
			return pns_err_sys(err, "unlink %s", qpath);
		st->delivered++;
		return 0;
	}
	(void)snprintf(e->last_error, sizeof(e->last_error), "%s", why->msg);
	if (e->attempts >= cfg->deliver_attempts) {
		/* The dead letter keeps its count and last error. */
		e->next_at = 0;
		if (write_entry(qdir, key, e, err) == -1 ||
		    sub_path(cfg, PNS_DIR_FAILED, NULL, fdir, err) == -1 ||
		    pns_path_join(path, sizeof(path), fdir, key, err) == -1)
			return -1;
		if (rename(qpath, path) == -1)
			return pns_err_sys(err, "rename %s", qpath);
		st->failed++;
		pns_log(PNS_LOG_WARN, "delivery of notice %.16s gave up after "
		    "%ld attempts: %s", key, e->attempts, why->msg);
		return pns_fsync_dir(fdir, err);
	}
	e->next_at = now + backoff(cfg, e->attempts);
	st->retried++;
	pns_log(PNS_LOG_INFO, "delivery of notice %.16s failed (attempt %ld), "
	    "retry in %ld s: %s", key, e->attempts, (long)(e->next_at - now),
	    why->msg);
	return write_entry(qdir, key, e, err);
}

/*
 * Tries the queue entry key if it is due.  Returns 1 when it was
 * attempted, 0 when not due (earliest lowered to its time) or taken by
 * another worker, -1 on a storage error.
 */
static int
try_entry(const struct pns_config *cfg, const char *qdir, const char *key,
    time_t now, time_t *earliest, struct pns_dispatch_stats *st,
    struct pns_err *err)
{
	char		qpath[PNS_FS_PATH_MAX], npath[PNS_FS_PATH_MAX];
	struct entry	e;
	struct pns_err	why;
	int		lock, ok, rc;

	if (pns_path_join(qpath, sizeof(qpath), qdir, key, err) == -1)
		return -1;
	if (read_entry(qpath, &e, NULL) == -1)
		return 0;			/* settled by another worker */
	if (e.next_at > now) {
		if (*earliest == 0 || e.next_at < *earliest)
			*earliest = e.next_at;
		return 0;
	}
	/* The notice file is never replaced: its lock is the entry's. */
	if (notice_path(cfg, key, ".json", npath, err) == -1)
		return -1;
	if ((lock = open(npath, O_RDONLY | O_CLOEXEC)) == -1) {
		pns_log(PNS_LOG_ERROR, "queued notice %.16s is missing", key);
		return 0;
	}
	if (flock(lock, LOCK_EX | LOCK_NB) == -1) {
		(void)close(lock);
		return 0;
	}
	/* Another worker may have settled it between our read and lock. */
	if (read_entry(qpath, &e, NULL) == -1 || e.next_at > now) {
		(void)close(lock);
		return 0;
	}
	/* A duplicate may have queued it again just as a worker delivered
	 * it: the record says so, and the entry is only a leftover. */
	if (notice_path(cfg, key, ".delivered", npath, err) == -1) {
		(void)close(lock);
		return -1;
	}
	if (exists(npath)) {
		(void)unlink(qpath);
		(void)close(lock);
		return 0;
	}
	pns_err_clear(&why);
	ok = deliver_one(cfg, key, &why) == 0;
	rc = settle(cfg, qdir, key, &e, ok, &why, st, err);
	(void)close(lock);
	return rc == -1 ? -1 : 1;
}

struct pass {
	const struct pns_config		*cfg;
	time_t				*earliest;
	struct pns_dispatch_stats	*st;
	struct pns_err			*err;
	long				 n;
};

static int
pass_one(const char *qdir, const char *key, void *arg)
{
	struct pass	*p = arg;
	int		 r;

	r = try_entry(p->cfg, qdir, key, time(NULL), p->earliest, p->st,
	    p->err);
	if (r == -1)
		return -1;
	p->n += r;
	return 0;
}

/* One pass over the queue; returns the number attempted or -1. */
static long
pass(const struct pns_config *cfg, const char *qdir, time_t *earliest,
    struct pns_dispatch_stats *st, struct pns_err *err)
{
	struct pass	p = { cfg, earliest, st, err, 0 };

	*earliest = 0;
	if (pns_store_foreach_name(qdir, "", 0, pass_one, &p, err) != 0)
		return -1;
	return p.n;
}

int
pns_dispatch(const struct pns_config *cfg, long linger,
    struct pns_dispatch_stats *st, struct pns_err *err)
{
	char		qdir[PNS_FS_PATH_MAX];
	struct timespec	nap;
	time_t		earliest = 0, until = time(NULL) + linger, now;
	long		n;
	int		slot, rc = 0;

	memset(st, 0, sizeof(*st));
	if (sub_path(cfg, PNS_DIR_QUEUE, NULL, qdir, err) == -1)
		return -1;
	if ((slot = take_slot(cfg)) == -1) {
		st->busy = 1;
		return 0;
	}
	for (;;) {
		if ((n = pass(cfg, qdir, &earliest, st, err)) == -1) {
			rc = -1;
			break;
		}
		if (n > 0)
			continue;
		now = time(NULL);
		if (earliest == 0 || earliest > until || now >= until)
			break;
		/* Rescans every second: new entries are taken up too. */
		nap.tv_sec = earliest - now < 1 ? 0 : 1;
		nap.tv_nsec = earliest - now < 1 ? 200 * 1000 * 1000 : 0;
		(void)nanosleep(&nap, NULL);
	}
	stamp_due(cfg, earliest);
	(void)close(slot);
	return rc;
}

struct retry {
	const char	*qdir;
	struct pns_err	*err;
	int		 listed;	/* walking failed/, not one key */
	long		 n;
};

/* Moves failed/<key> back to the queue with its attempts reset. */
static int
retry_one(const char *fdir, const char *key, void *arg)
{
	struct retry	*r = arg;
	struct entry	 e;
	char		 from[PNS_FS_PATH_MAX], to[PNS_FS_PATH_MAX];

	if (pns_path_join(from, sizeof(from), fdir, key, r->err) == -1 ||
	    pns_path_join(to, sizeof(to), r->qdir, key, r->err) == -1)
		return -1;
	if (read_entry(from, &e, r->err) == -1)
		/* Listed a moment ago, retried or moved since: skip it.
		 * One key asked for by name must exist. */
		return r->listed ? 0 : -1;
	/* The last error stays until the next attempt replaces it. */
	e.attempts = 0;
	e.next_at = 0;
	if (write_entry(fdir, key, &e, r->err) == -1)
		return -1;
	if (rename(from, to) == -1)
		return pns_err_sys(r->err, "rename %s", from);
	r->n++;
	return 0;
}

long
pns_deliver_retry(const struct pns_config *cfg, const char *key,
    struct pns_err *err)
{
	char		fdir[PNS_FS_PATH_MAX], qdir[PNS_FS_PATH_MAX];
	struct retry	r = { qdir, err, key == NULL, 0 };
	int		rc;

	if (key != NULL && !pns_nstore_key_valid(key))
		return pns_err_set(err, PNS_EINVAL, "not a notice key");
	if (sub_path(cfg, PNS_DIR_FAILED, NULL, fdir, err) == -1 ||
	    sub_path(cfg, PNS_DIR_QUEUE, NULL, qdir, err) == -1)
		return -1;
	if (key != NULL)
		rc = retry_one(fdir, key, &r);
	else
		rc = pns_store_foreach_name(fdir, "", 0, retry_one, &r, err);
	if (rc != 0)
		return -1;
	if (r.n > 0 && (pns_fsync_dir(qdir, err) == -1 ||
	    pns_fsync_dir(fdir, err) == -1))
		return -1;
	/* Due now: the next request to notices.fcgi starts a worker. */
	if (r.n > 0)
		stamp_due(cfg, time(NULL));
	return r.n;
}

static int
count_one(const char *dir, const char *key, void *arg)
{
	(void)dir;
	(void)key;
	(*(long *)arg)++;
	return 0;
}

static long
count_keys(const char *dir, struct pns_err *err)
{
	long	n = 0;

	if (pns_store_foreach_name(dir, "", 0, count_one, &n, err) != 0)
		return -1;
	return n;
}

int
pns_deliver_counts(const struct pns_config *cfg, long *pending, long *failed,
    struct pns_err *err)
{
	char	dir[PNS_FS_PATH_MAX];

	if (sub_path(cfg, PNS_DIR_QUEUE, NULL, dir, err) == -1 ||
	    (*pending = count_keys(dir, err)) == -1 ||
	    sub_path(cfg, PNS_DIR_FAILED, NULL, dir, err) == -1 ||
	    (*failed = count_keys(dir, err)) == -1)
		return -1;
	return 0;
}
