/* SPDX-License-Identifier: ISC */
/* The three-layer key set cache; the policy is in pns_jwks.h. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pns_fs.h"
#include "pns_http.h"
#include "pns_jwks.h"
#include "pns_log.h"
#include "pns_store.h"
#include "banned.h"

void
pns_jwks_cache_init(struct pns_jwks_cache *c, const struct pns_config *cfg)
{
	memset(c, 0, sizeof(*c));
	c->cfg = cfg;
}

void
pns_jwks_cache_release(struct pns_jwks_cache *c)
{
	size_t	i;

	for (i = 0; i < PNS_JWKS_CACHE_MAX; i++) {
		if (c->e[i] == NULL)
			continue;
		pns_keyset_release(&c->e[i]->keys);
		free(c->e[i]);
		c->e[i] = NULL;
	}
}

/* The entry of hash: cached, new in a free slot, or the least recently
 * used one reset.  NULL only when out of memory. */
static struct pns_jwks_entry *
entry_for(struct pns_jwks_cache *c, const char *hash)
{
	struct pns_jwks_entry	*victim = NULL;
	size_t			 i;

	for (i = 0; i < PNS_JWKS_CACHE_MAX; i++)
		if (c->e[i] != NULL && strcmp(c->e[i]->hash, hash) == 0)
			return c->e[i];
	for (i = 0; i < PNS_JWKS_CACHE_MAX; i++) {
		if (c->e[i] == NULL) {
			if ((victim = calloc(1, sizeof(*victim))) == NULL)
				return NULL;
			pns_keyset_init(&victim->keys);
			c->e[i] = victim;
			break;
		}
		if (victim == NULL || c->e[i]->used < victim->used)
			victim = c->e[i];
	}
	pns_keyset_release(&victim->keys);
	memcpy(victim->hash, hash, sizeof(victim->hash));
	victim->fetched_at = 0;
	victim->ino = 0;
	victim->checked = 0;
	victim->tried = 0;
	return victim;
}

/* The shared copy's paths; attempt and lock may be NULL, not wanted. */
static int
paths(struct pns_jwks_cache *c, const char *hash, char *dir, char *file,
    char *attempt, char *lock, struct pns_err *err)
{
	char	name[80];

	if (pns_store_path(c->cfg, dir, PNS_FS_PATH_MAX, PNS_DIR_JWKS, NULL,
	    err) == -1)
		return -1;
	(void)snprintf(name, sizeof(name), "%s.json", hash);
	if (pns_path_join(file, PNS_FS_PATH_MAX, dir, name, err) == -1)
		return -1;
	if (attempt == NULL)
		return 0;
	(void)snprintf(name, sizeof(name), "%s.attempt", hash);
	if (pns_path_join(attempt, PNS_FS_PATH_MAX, dir, name, err) == -1)
		return -1;
	(void)snprintf(name, sizeof(name), "%s.lock", hash);
	return pns_path_join(lock, PNS_FS_PATH_MAX, dir, name, err);
}

/*
 * Loads the cached document into e when it differs from what e holds.
 * Returns 0 if e now holds a copy, -1 if there is no usable copy.
 */
static int
load_disk(struct pns_jwks_entry *e, const char *file, long max)
{
	struct stat	st;
	struct pns_buf	b;
	struct pns_err	err;
	int		rc = -1;

	if (stat(file, &st) == -1)
		return e->keys.n > 0 ? 0 : -1;
	if (e->keys.n > 0 && st.st_ino == e->ino &&
	    st.st_mtime == e->fetched_at)
		return 0;
	pns_buf_init(&b, (size_t)max);
	pns_err_clear(&err);
	if (pns_read_file(file, &b, &err) == 0 &&
	    pns_keyset_parse(&e->keys, b.data, b.len, &err) == 0) {
		e->fetched_at = st.st_mtime;
		e->ino = st.st_ino;
		rc = 0;
	} else
		pns_log(PNS_LOG_WARN, "cached key set %s unusable: %s", file,
		    err.msg);
	pns_buf_release(&b);
	return rc;
}

/* Fetches the set, checks that it has a usable key, stores it. */
static int
fetch(struct pns_jwks_cache *c, const char *url, const char *dir,
    const char *hash, struct pns_err *err)
{
	struct pns_keyset	ks;
	struct pns_buf		b;
	char			name[80];
	int			rc = -1;

	pns_keyset_init(&ks);
	pns_buf_init(&b, (size_t)c->cfg->jwks_max_bytes);
	if (pns_http_get(url, c->cfg->http_timeout, &b, err) == -1 ||
	    pns_keyset_parse(&ks, b.data, b.len, err) == -1)
		goto out;
	(void)snprintf(name, sizeof(name), "%s.json", hash);
	rc = pns_write_atomic(dir, name, b.data, b.len, err);
out:
	pns_keyset_release(&ks);
	pns_buf_release(&b);
	return rc;
}

/*
 * Refreshes e from the platform unless some process tried within the
 * refetch interval.  Holding the lock while fetching makes concurrent
 * processes wait for one fetch and then read its result.  Returns 1 if
 * this call tried a fetch, 0 if it did not (held back by the interval,
 * or the cache could not be locked): a kid missing then may only be
 * missing from an old copy.
 */
static int
refresh(struct pns_jwks_cache *c, struct pns_jwks_entry *e, const char *url,
    time_t now, int force)
{
	char		dir[PNS_FS_PATH_MAX], file[PNS_FS_PATH_MAX];
	char		attempt[PNS_FS_PATH_MAX], lock[PNS_FS_PATH_MAX];
	struct pns_err	err;
	time_t		last;
	int		fd = -1, tried = 0;

	pns_err_clear(&err);
	if (paths(c, e->hash, dir, file, attempt, lock, &err) == -1 ||
	    pns_lock(lock, &fd, &err) == -1) {
		pns_log(PNS_LOG_ERROR, "key set cache: %s", err.msg);
		return 0;
	}
	last = pns_mtime(attempt);
	if (pns_mtime(file) > last)
		last = pns_mtime(file);
	if (force || last == 0 || now - last >= c->cfg->jwks_refetch_interval ||
	    last > now) {
		pns_touch(attempt);
		tried = 1;
		if (fetch(c, url, dir, e->hash, &err) == -1)
			pns_log(PNS_LOG_WARN, "fetching key set %s: %s", url,
			    err.msg);
		else
			pns_log(PNS_LOG_INFO, "fetched key set %s", url);
	}
	(void)load_disk(e, file, c->cfg->jwks_max_bytes);
	pns_unlock(fd);
	return tried;
}

/*
 * Loads the shared copy into e if another process replaced it.  In a
 * frame of its own, with the two paths it needs: pns_jwks_find held all
 * four (16 KiB) on every call, with load_disk's reading below them, and
 * a receiver thread's stack stays resident as deep as it ever went.
 */
static __attribute__((noinline)) int
check_disk(struct pns_jwks_cache *c, struct pns_jwks_entry *e)
{
	char	dir[PNS_FS_PATH_MAX], file[PNS_FS_PATH_MAX];

	if (paths(c, e->hash, dir, file, NULL, NULL, NULL) == -1)
		return -1;
	(void)load_disk(e, file, c->cfg->jwks_max_bytes);
	return 0;
}

enum pns_verdict
pns_jwks_find(struct pns_jwks_cache *c, const char *jwks_url,
    const char *kid, time_t now, EVP_PKEY **pkey)
{
	struct pns_jwks_entry	*e;
	char			 hash[65];
	const char		*f[1] = { jwks_url };
	int			 tried;

	*pkey = NULL;
	pns_hash_fields(hash, 1, f);
	if ((e = entry_for(c, hash)) == NULL)
		return PNS_V_JWKS_UNAVAILABLE;
	e->used = now;
	/* Another process may have refreshed the shared copy; checked
	 * once per round, its paths built only then. */
	if (c->round == 0 || e->checked != c->round) {
		if (check_disk(c, e) == -1)
			return PNS_V_JWKS_UNAVAILABLE;
		e->checked = c->round;
	}
	if (e->keys.n > 0 && now - e->fetched_at < c->cfg->jwks_max_age &&
	    (*pkey = pns_keyset_find(&e->keys, kid)) != NULL)
		return PNS_V_OK;
	/* A fetch tried for an earlier token of this round came after
	 * this one arrived, as one of this call would. */
	if ((tried = refresh(c, e, jwks_url, now, 0)))
		e->tried = c->round;
	else if (c->round != 0 && e->tried == c->round)
		tried = 1;
	if ((*pkey = pns_keyset_find(&e->keys, kid)) != NULL)
		return PNS_V_OK;
	if (e->keys.n == 0)
		return PNS_V_JWKS_UNAVAILABLE;
	/*
	 * Only a kid missing after a fetch is unknown for good.  Held back
	 * by the interval, the copy may predate a rotation (anyone can have
	 * opened the interval with a made-up kid): the sender is to retry,
	 * and a retry after the interval fetches.
	 */
	return tried ? PNS_V_UNKNOWN_KID : PNS_V_UNKNOWN_KID_RETRY;
}

int
pns_jwks_refresh(struct pns_jwks_cache *c, const char *jwks_url,
    struct pns_err *err)
{
	char		 hash[65], dir[PNS_FS_PATH_MAX], file[PNS_FS_PATH_MAX];
	char		 attempt[PNS_FS_PATH_MAX], lock[PNS_FS_PATH_MAX];
	const char	*f[1] = { jwks_url };
	int		 fd = -1, rc;

	pns_hash_fields(hash, 1, f);
	if (paths(c, hash, dir, file, attempt, lock, err) == -1 ||
	    pns_lock(lock, &fd, err) == -1)
		return -1;
	pns_touch(attempt);
	rc = fetch(c, jwks_url, dir, hash, err);
	pns_unlock(fd);
	return rc;
}
