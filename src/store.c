/* SPDX-License-Identifier: ISC */
/* The data directory layout; see pns_store.h. */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pns_fs.h"
#include "pns_json.h"
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
pns_store_foreach_json(const char *dir, size_t max, int depth,
    int (*fn)(struct json_object *, void *), void *arg, struct pns_err *err)
{
	char			 path[PNS_FS_PATH_MAX];
	struct pns_buf		 b;
	struct pns_err		 rerr;
	struct json_object	*o;
	struct dirent		*de;
	DIR			*d;
	int			 rc = 0;

	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : pns_err_sys(err, "opendir %s", dir);
	pns_buf_init(&b, max);
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || strlen(de->d_name) != 69 ||
		    strcmp(de->d_name + 64, ".json") != 0)
			continue;
		pns_buf_reset(&b);
		if (pns_path_join(path, sizeof(path), dir, de->d_name,
		    err) == -1) {
			rc = -1;
			break;
		}
		/* readdir hands out names read ahead: one removed since (a
		 * prune running, or by hand) is gone, not an error. */
		pns_err_clear(&rerr);
		if (pns_read_file(path, &b, &rerr) == -1) {
			if (rerr.code == PNS_ENOENT)
				continue;
			rc = pns_err_set(err, rerr.code, "%s", rerr.msg);
			break;
		}
		if (pns_json_parse(b.data, b.len, depth, &o, err) == -1) {
			rc = -1;
			break;
		}
		rc = fn(o, arg);
		json_object_put(o);
	}
	pns_buf_release(&b);
	(void)closedir(d);
	return rc;
}
