/* SPDX-License-Identifier: ISC */
/* The data directory layout; see pns_store.h. */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pns_fs.h"
#include "pns_json.h"
#include "pns_log.h"
#include "pns_store.h"
#include "banned.h"

static const char *const subdirs[] = {
	PNS_DIR_KEYS, PNS_DIR_PLATFORMS, PNS_DIR_JWKS, PNS_DIR_NOTICES,
	PNS_DIR_STATE, PNS_DIR_TOKENS, PNS_DIR_HANDLERS, PNS_DIR_QUEUE,
	PNS_DIR_FAILED, PNS_DIR_COPIES,
};
#define NSUBDIRS (sizeof(subdirs) / sizeof(subdirs[0]))

int
pns_store_path(const struct pns_config *cfg, char *out, size_t size,
    const char *sub, const char *name, struct pns_err *err)
{
	int	n;

	if (name != NULL)
		n = snprintf(out, size, "%s/%s/%s", cfg->data_dir, sub, name);
	else
		n = snprintf(out, size, "%s/%s", cfg->data_dir, sub);
	if (n < 0 || (size_t)n >= size)
		return pns_err_set(err, PNS_ELIMIT, "path too long");
	return 0;
}

/*
 * The 256 notice shards exist from the start, so that no receiving
 * process ever acknowledges a notice in a shard whose own directory
 * entry another process created a moment ago and has not yet fsynced.
 */
static int
make_shards(const struct pns_config *cfg, struct pns_err *err)
{
	static const char	hex[] = "0123456789abcdef";
	char			top[PNS_FS_PATH_MAX], dir[PNS_FS_PATH_MAX];
	char			shard[3];
	int			i;

	if (pns_store_path(cfg, top, sizeof(top), PNS_DIR_NOTICES, NULL,
	    err) == -1)
		return -1;
	for (i = 0; i < 256; i++) {
		shard[0] = hex[i / 16];
		shard[1] = hex[i % 16];
		shard[2] = '\0';
		if (pns_path_join(dir, sizeof(dir), top, shard, err) == -1 ||
		    pns_mkdir(dir, err) == -1)
			return -1;
	}
	return pns_fsync_dir(top, err);
}

int
pns_store_init(const struct pns_config *cfg, struct pns_err *err)
{
	char	path[PNS_FS_PATH_MAX];
	size_t	i;
	mode_t	old;
	int	rc = 0;

	old = umask(077);
	if (pns_mkdir(cfg->data_dir, err) == -1)
		rc = -1;
	for (i = 0; rc == 0 && i < NSUBDIRS; i++)
		if (pns_store_path(cfg, path, sizeof(path), subdirs[i], NULL,
		    err) == -1 || pns_mkdir(path, err) == -1)
			rc = -1;
	if (rc == 0)
		rc = make_shards(cfg, err);
	if (rc == 0)
		rc = pns_fsync_dir(cfg->data_dir, err);
	(void)umask(old);
	return rc;
}

int
pns_store_check(const struct pns_config *cfg, struct pns_err *err)
{
	char		path[PNS_FS_PATH_MAX];
	struct stat	st;
	size_t		i;

	for (i = 0; i < NSUBDIRS; i++) {
		if (pns_store_path(cfg, path, sizeof(path), subdirs[i], NULL,
		    err) == -1)
			return -1;
		if (stat(path, &st) == -1 || !S_ISDIR(st.st_mode))
			return pns_err_set(err, PNS_ENOENT,
			    "%s is not set up: run \"pnsctl init\"",
			    cfg->data_dir);
	}
	return 0;
}

int
pns_store_name_valid(const char *name, const char *suffix)
{
	size_t	i;

	for (i = 0; i < 64; i++)
		/* Names are written in lowercase; nothing else is ours. */
		if (!((name[i] >= '0' && name[i] <= '9') ||
		    (name[i] >= 'a' && name[i] <= 'f')))
			return 0;
	return strcmp(name + 64, suffix) == 0;
}

int
pns_store_foreach_name(const char *dir, const char *suffix, int missing_ok,
    int (*fn)(const char *, const char *, void *), void *arg,
    struct pns_err *err)
{
	struct dirent	*de;
	DIR		*d;
	int		 rc = 0;

	if ((d = opendir(dir)) == NULL)
		return missing_ok && errno == ENOENT ? 0 :
		    pns_err_sys(err, "opendir %s", dir);
	while (rc == 0 && (de = readdir(d)) != NULL)
		if (pns_store_name_valid(de->d_name, suffix))
			rc = fn(dir, de->d_name, arg);
	(void)closedir(d);
	return rc;
}

struct text_walk {
	struct pns_buf	  b;
	int		(*fn)(const char *, const char *, size_t, void *);
	void		 *arg;
	struct pns_err	 *err;
};

static int
text_one(const char *dir, const char *name, void *arg)
{
	struct text_walk	*w = arg;
	struct pns_err		 rerr;
	char			 path[PNS_FS_PATH_MAX];

	pns_buf_reset(&w->b);
	if (pns_path_join(path, sizeof(path), dir, name, w->err) == -1)
		return -1;
	/* readdir hands out names read ahead: one removed since (a prune
	 * running, or by hand) is gone, not an error. */
	pns_err_clear(&rerr);
	if (pns_read_file(path, &w->b, &rerr) == -1)
		return rerr.code == PNS_ENOENT ? 0 :
		    pns_err_set(w->err, rerr.code, "%s", rerr.msg);
	return w->fn(name, w->b.data, w->b.len, w->arg);
}

int
pns_store_foreach_text(const char *dir, size_t max,
    int (*fn)(const char *, const char *, size_t, void *), void *arg,
    struct pns_err *err)
{
	struct text_walk	w;
	int			rc;

	pns_buf_init(&w.b, max);
	w.fn = fn;
	w.arg = arg;
	w.err = err;
	rc = pns_store_foreach_name(dir, ".json", 1, text_one, &w, err);
	pns_buf_release(&w.b);
	return rc;
}

struct json_walk {
	int		  depth;
	int		(*fn)(struct json_object *, void *);
	void		 *arg;
	struct pns_err	 *err;
};

static int
json_one(const char *name, const char *buf, size_t len, void *arg)
{
	struct json_walk	*w = arg;
	struct json_object	*o;
	struct pns_err		 perr;
	int			 rc;

	pns_err_clear(&perr);
	if (pns_json_parse(buf, len, w->depth, &o, &perr) == -1) {
		if (perr.code != PNS_EINVAL)
			return pns_err_set(w->err, perr.code, "%s", perr.msg);
		pns_log(PNS_LOG_WARN, "%s: skipped, not a whole record (%s)",
		    name, perr.msg);
		return 0;
	}
	rc = w->fn(o, w->arg);
	json_object_put(o);
	return rc;
}

int
pns_store_foreach_json(const char *dir, size_t max, int depth,
    int (*fn)(struct json_object *, void *), void *arg, struct pns_err *err)
{
	struct json_walk	w;

	w.depth = depth;
	w.fn = fn;
	w.arg = arg;
	w.err = err;
	return pns_store_foreach_text(dir, max, json_one, &w, err);
}
