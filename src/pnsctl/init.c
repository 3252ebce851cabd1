/* SPDX-License-Identifier: ISC */
/* pnsctl init and key show: the data directory and the tool's key. */
#include <stdio.h>

#include "pns_store.h"
#include "pns_toolkey.h"
#include "pnsctl.h"
#include "banned.h"

int
cmd_init(const struct pns_config *cfg, int argc, char **argv)
{
	struct pns_toolkey	k;
	struct pns_err		err;
	int			made;

	(void)argv;
	if (argc != 0)
		return pnsctl_usage("init");
	pns_err_clear(&err);
	if (pns_store_init(cfg, &err) == -1 ||
	    (made = pns_toolkey_create(cfg, &err)) == -1 ||
	    pns_toolkey_load(cfg, &k, &err) == -1)
		return pnsctl_fail("%s", err.msg);
	(void)printf("data directory %s ready\n", cfg->data_dir);
	(void)printf("tool key %s (%s)\n", k.kid, made == 0 ? "created" :
	    "kept");
	pns_toolkey_release(&k);
	return 0;
}

int
cmd_key_show(const struct pns_config *cfg, int argc, char **argv)
{
	struct pns_toolkey	k;
	struct pns_buf		b;
	struct pns_err		err;
	int			rc = 0;

	(void)argv;
	if (argc != 0)
		return pnsctl_usage("key show");
	pns_err_clear(&err);
	pns_buf_init(&b, 16 * 1024);
	if (pns_toolkey_load(cfg, &k, &err) == -1)
		return pnsctl_fail("%s", err.msg);
	if (pns_toolkey_jwks(&k, &b, &err) == -1)
		rc = pnsctl_fail("%s", err.msg);
	else
		(void)fputs(b.data, stdout);
	pns_toolkey_release(&k);
	pns_buf_release(&b);
	return rc;
}
