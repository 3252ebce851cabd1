/* SPDX-License-Identifier: ISC */
/*
 * Platform registrations as flat JSON files; see pns_platform.h.  The
 * file is found by hashing (issuer, client_id), so a lookup costs one
 * open whatever the number of platforms, and the issuer and client_id
 * stored inside are compared again after reading.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pns_fs.h"
#include "pns_json.h"
#include "pns_platform.h"
#include "pns_store.h"
#include "banned.h"

#define PLATFORM_FILE_MAX	(256 * 1024)

void
pns_platform_init(struct pns_platform *p)
{
	memset(p, 0, sizeof(*p));
}

void
pns_platform_release(struct pns_platform *p)
{
	size_t	i;

	for (i = 0; i < p->ndeployments; i++)
		free(p->deployments[i]);
	free(p->deployments);
	pns_platform_init(p);
}

void
pns_platform_key(const char *issuer, const char *client_id, char out[65])
{
	const char	*f[2] = { issuer, client_id };

	pns_hash_fields(out, 2, f);
}

int
pns_id_valid(const char *s)
{
	size_t	i;

	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return i > 0 && i < PNS_ID_MAX;
}

int
pns_url_valid(const char *s)
{
	size_t	i, skip;

	if (strncmp(s, "https://", 8) == 0)
		skip = 8;
	else if (strncmp(s, "http://", 7) == 0)
		skip = 7;
	else
		return 0;
	if (s[skip] == '\0' || s[skip] == '/')
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	return i < PNS_URL_MAX;
}

int
pns_platform_has_deployment(const struct pns_platform *p, const char *id)
{
	size_t	i;

	for (i = 0; i < p->ndeployments; i++)
		if (strcmp(p->deployments[i], id) == 0)
			return 1;
	return 0;
}

int
pns_platform_add_deployment(struct pns_platform *p, const char *id,
    struct pns_err *err)
{
	char	**nd, *s;

	if (!pns_id_valid(id))
		return pns_err_set(err, PNS_EINVAL, "bad deployment id");
	if (pns_platform_has_deployment(p, id))
		return 0;
	if (p->ndeployments == PNS_DEPLOYMENTS_MAX)
		return pns_err_set(err, PNS_ELIMIT, "too many deployments");
	if ((s = strdup(id)) == NULL)
		return pns_err_set(err, PNS_ENOMEM, "out of memory");
	nd = realloc(p->deployments, (p->ndeployments + 1) * sizeof(*nd));
	if (nd == NULL) {
		free(s);
		return pns_err_set(err, PNS_ENOMEM, "out of memory");
	}
	nd[p->ndeployments++] = s;
	p->deployments = nd;
	return 0;
}

/* Copies member key of obj into dst (size bytes); missing gives "". */
static int
copy_str(struct json_object *obj, const char *key, char *dst, size_t size)
{
	const char	*s = pns_json_str(obj, key);
	size_t		 n;

	dst[0] = '\0';
	if (s == NULL)
		return 0;
	if ((n = strlen(s)) >= size)
		return -1;
	memcpy(dst, s, n + 1);
	return 0;
}

static int
from_json(struct pns_platform *p, struct json_object *o, struct pns_err *err)
{
	struct json_object	*deps, *d;
	size_t			 i, n;

	if (copy_str(o, "issuer", p->issuer, sizeof(p->issuer)) == -1 ||
	    copy_str(o, "client_id", p->client_id, sizeof(p->client_id)) == -1 ||
	    copy_str(o, "auth_url", p->auth_url, sizeof(p->auth_url)) == -1 ||
	    copy_str(o, "token_url", p->token_url, sizeof(p->token_url)) == -1 ||
	    copy_str(o, "jwks_url", p->jwks_url, sizeof(p->jwks_url)) == -1 ||
	    copy_str(o, "registered_at", p->registered_at,
	    sizeof(p->registered_at)) == -1 ||
	    copy_str(o, "updated_at", p->updated_at,
	    sizeof(p->updated_at)) == -1 ||
	    copy_str(o, "registered_by", p->registered_by,
	    sizeof(p->registered_by)) == -1)
		return pns_err_set(err, PNS_EINVAL, "platform field too long");
	if ((deps = pns_json_arr(o, "deployments")) != NULL) {
		n = json_object_array_length(deps);
		for (i = 0; i < n; i++) {
			d = json_object_array_get_idx(deps, i);
			if (!pns_json_is_clean_str(d) ||
			    pns_platform_add_deployment(p,
			    json_object_get_string(d), err) == -1)
				return pns_err_set(err, PNS_EINVAL,
				    "bad deployment in platform file");
		}
	}
	return 0;
}

static int
load_file(const char *path, struct pns_platform *p, struct pns_err *err)
{
	struct json_object	*o;
	int			 rc;

	if (pns_json_load(path, PLATFORM_FILE_MAX, 8, &o, err) == -1)
		return -1;
	rc = from_json(p, o, err);
	if (rc == 0 && (p->issuer[0] == '\0' || p->client_id[0] == '\0'))
		rc = pns_err_set(err, PNS_EINVAL, "%s: incomplete platform",
		    path);
	if (rc == 0)
		pns_platform_key(p->issuer, p->client_id, p->key);
	json_object_put(o);
	return rc;
}

int
pns_platform_load(const struct pns_config *cfg, const char *issuer,
    const char *client_id, struct pns_platform *p, struct pns_err *err)
{
	char	key[65], name[80], path[PNS_FS_PATH_MAX];

	pns_platform_release(p);
	pns_platform_key(issuer, client_id, key);
	(void)snprintf(name, sizeof(name), "%s.json", key);
	if (pns_store_path(cfg, path, sizeof(path), PNS_DIR_PLATFORMS, name,
	    err) == -1)
		return -1;
	if (load_file(path, p, err) == -1)
		return -1;
	if (strcmp(p->issuer, issuer) != 0 ||
	    strcmp(p->client_id, client_id) != 0)
		return pns_err_set(err, PNS_ENOENT, "platform not found");
	return 0;
}

struct json_object *
pns_platform_json(const struct pns_platform *p)
{
	struct json_object	*o, *deps;
	size_t			 i;

	if ((o = json_object_new_object()) == NULL ||
	    (deps = json_object_new_array()) == NULL) {
		json_object_put(o);
		return NULL;
	}
	json_object_object_add(o, "issuer", json_object_new_string(p->issuer));
	json_object_object_add(o, "client_id",
	    json_object_new_string(p->client_id));
	json_object_object_add(o, "auth_url",
	    json_object_new_string(p->auth_url));
	json_object_object_add(o, "token_url",
	    json_object_new_string(p->token_url));
	json_object_object_add(o, "jwks_url",
	    json_object_new_string(p->jwks_url));
	json_object_object_add(o, "registered_at",
	    json_object_new_string(p->registered_at));
	json_object_object_add(o, "updated_at",
	    json_object_new_string(p->updated_at[0] != '\0' ? p->updated_at :
	    p->registered_at));
	json_object_object_add(o, "registered_by",
	    json_object_new_string(p->registered_by));
	for (i = 0; i < p->ndeployments; i++)
		json_object_array_add(deps,
		    json_object_new_string(p->deployments[i]));
	json_object_object_add(o, "deployments", deps);
	return o;
}

static int
to_json(const struct pns_platform *p, struct pns_buf *out,
    struct pns_err *err)
{
	struct json_object	*o;
	int			 rc;

	if ((o = pns_platform_json(p)) == NULL)
		return pns_err_set(err, PNS_ENOMEM, "out of memory");
	rc = pns_buf_adds(out, json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE), err);
	if (rc == 0)
		rc = pns_buf_adds(out, "\n", err);
	json_object_put(o);
	return rc;
}

/* Under the platforms lock: loads the current record, lets merge change
 * it, and writes it back atomically. */
static int
update(const struct pns_config *cfg, const char *issuer,
    const char *client_id, int create,
    int (*merge)(struct pns_platform *, const void *, struct pns_err *),
    const void *arg, struct pns_err *err)
{
	struct pns_platform	cur;
	struct pns_buf		b;
	struct pns_err		lerr;
	char			dir[PNS_FS_PATH_MAX], lock[PNS_FS_PATH_MAX];
	char			name[80];
	int			fd = -1, rc = -1;

	pns_platform_init(&cur);
	pns_buf_init(&b, PLATFORM_FILE_MAX);
	if (pns_store_path(cfg, dir, sizeof(dir), PNS_DIR_PLATFORMS, NULL,
	    err) == -1 ||
	    pns_store_path(cfg, lock, sizeof(lock), PNS_DIR_PLATFORMS, ".lock",
	    err) == -1 ||
	    pns_lock(lock, &fd, err) == -1)
		goto out;
	pns_err_clear(&lerr);
	if (pns_platform_load(cfg, issuer, client_id, &cur, &lerr) == -1) {
		if (lerr.code != PNS_ENOENT || !create) {
			pns_err_set(err, lerr.code, "%s", lerr.msg);
			goto out;
		}
		pns_platform_release(&cur);
	}
	if (merge(&cur, arg, err) == -1 || to_json(&cur, &b, err) == -1)
		goto out;
	(void)snprintf(name, sizeof(name), "%s.json", cur.key);
	rc = pns_write_atomic(dir, name, b.data, b.len, err);
out:
	pns_unlock(fd);
	pns_buf_release(&b);
	pns_platform_release(&cur);
	return rc;
}

static int
merge_platform(struct pns_platform *cur, const void *arg, struct pns_err *err)
{
	const struct pns_platform	*p = arg;
	size_t				 i;

	pns_iso8601_fmt(time(NULL), cur->updated_at);
	if (cur->issuer[0] == '\0') {
		memcpy(cur->issuer, p->issuer, sizeof(cur->issuer));
		memcpy(cur->client_id, p->client_id, sizeof(cur->client_id));
		memcpy(cur->registered_at, cur->updated_at,
		    sizeof(cur->registered_at));
	}
	memcpy(cur->auth_url, p->auth_url, sizeof(cur->auth_url));
	memcpy(cur->token_url, p->token_url, sizeof(cur->token_url));
	memcpy(cur->jwks_url, p->jwks_url, sizeof(cur->jwks_url));
	(void)snprintf(cur->registered_by, sizeof(cur->registered_by), "%s",
	    p->registered_by[0] ? p->registered_by : "manual");
	pns_platform_key(cur->issuer, cur->client_id, cur->key);
	for (i = 0; i < p->ndeployments; i++)
		if (pns_platform_add_deployment(cur, p->deployments[i],
		    err) == -1)
			return -1;
	return 0;
}

int
pns_platform_save(const struct pns_config *cfg, const struct pns_platform *p,
    struct pns_err *err)
{
	if (!pns_url_valid(p->issuer) || !pns_id_valid(p->client_id) ||
	    !pns_url_valid(p->auth_url) || !pns_url_valid(p->token_url) ||
	    !pns_url_valid(p->jwks_url))
		return pns_err_set(err, PNS_EINVAL,
		    "platform needs an issuer URL, a client id and http(s) "
		    "auth, token and JWKS URLs");
	return update(cfg, p->issuer, p->client_id, 1, merge_platform, p, err);
}

static int
merge_deployment(struct pns_platform *cur, const void *arg,
    struct pns_err *err)
{
	return pns_platform_add_deployment(cur, arg, err);
}

int
pns_platform_learn_deployment(const struct pns_config *cfg,
    const char *issuer, const char *client_id, const char *deployment_id,
    struct pns_err *err)
{
	return update(cfg, issuer, client_id, 0, merge_deployment,
	    deployment_id, err);
}

struct platform_walk {
	int			(*fn)(const struct pns_platform *, void *);
	void			 *arg;
	struct pns_platform	  p;
	struct pns_err		 *err;
};

static int
platform_one(const char *dir, const char *name, void *arg)
{
	struct platform_walk	*w = arg;
	char			 path[PNS_FS_PATH_MAX];

	pns_platform_release(&w->p);
	if (pns_path_join(path, sizeof(path), dir, name, w->err) == -1 ||
	    load_file(path, &w->p, w->err) == -1)
		return -1;
	return w->fn(&w->p, w->arg);
}

int
pns_platform_foreach(const struct pns_config *cfg,
    int (*fn)(const struct pns_platform *, void *), void *arg,
    struct pns_err *err)
{
	struct platform_walk	w;
	char			dir[PNS_FS_PATH_MAX];
	int			rc;

	if (pns_store_path(cfg, dir, sizeof(dir), PNS_DIR_PLATFORMS, NULL,
	    err) == -1)
		return -1;
	w.fn = fn;
	w.arg = arg;
	w.err = err;
	pns_platform_init(&w.p);
	rc = pns_store_foreach_name(dir, ".json", 0, platform_one, &w, err);
	pns_platform_release(&w.p);
	return rc;
}
