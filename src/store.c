/* SPDX-License-Identifier: ISC */
/* The data directory layout; see pns_store.h. */
#include <sys/stat.h>

#include <stdio.h>

#include "pns_fs.h"
#include "pns_store.h"
#include "banned.h"

static const char *const subdirs[] = {
	PNS_DIR_KEYS, PNS_DIR_PLATFORMS, PNS_DIR_JWKS, PNS_DIR_NOTICES,
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
