/* SPDX-License-Identifier: ISC */
/* The data_dir the fuzz harnesses run against; see fuzz.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "pns_fs.h"
#include "pns_platform.h"
#include "pns_store.h"
#include "pns_toolkey.h"

static void
die(const struct pns_err *err)
{
	(void)fprintf(stderr, "fuzz set-up: %s\n", err->msg);
	abort();
}

/* The tool key's JWK Set with its kid replaced by the seed's. */
static void
seed_jwks(const struct pns_config *cfg, struct pns_buf *out)
{
	struct pns_toolkey	 k;
	struct pns_buf		 b;
	struct pns_err		 err;
	const char		*at;

	pns_err_clear(&err);
	pns_buf_init(&b, 64 * 1024);
	if (pns_toolkey_create(cfg, &err) == -1 ||
	    pns_toolkey_load(cfg, &k, &err) == -1 ||
	    pns_toolkey_jwks(&k, &b, &err) == -1)
		die(&err);
	if ((at = strstr(b.data, k.kid)) == NULL)
		abort();
	if (pns_buf_add(out, b.data, (size_t)(at - b.data), &err) == -1 ||
	    pns_buf_adds(out, FUZZ_SEED_KID, &err) == -1 ||
	    pns_buf_adds(out, at + strlen(k.kid), &err) == -1)
		die(&err);
	pns_toolkey_release(&k);
	pns_buf_release(&b);
}

void
fuzz_store(struct pns_config *cfg)
{
	static char		 dir[] = "/tmp/pns-fuzz-XXXXXX";
	struct pns_platform	 p;
	struct pns_buf		 jwks;
	struct pns_err		 err;
	char			 jdir[PNS_FS_PATH_MAX], name[80], hash[65];
	const char		*f[1];

	if (mkdtemp(dir) == NULL)
		abort();
	pns_config_defaults(cfg);
	(void)snprintf(cfg->base_url, sizeof(cfg->base_url), "http://t/cgi-bin");
	(void)snprintf(cfg->data_dir, sizeof(cfg->data_dir), "%s", dir);
	/* Never refetch: the harness must not touch the network. */
	cfg->jwks_max_age = 2592000;
	cfg->jwks_refetch_interval = 86400;

	pns_err_clear(&err);
	pns_platform_init(&p);
	(void)snprintf(p.issuer, sizeof(p.issuer), "https://canvas.instructure.com");
	(void)snprintf(p.client_id, sizeof(p.client_id), "10000000000068");
	(void)snprintf(p.auth_url, sizeof(p.auth_url), "http://127.0.0.1:9/a");
	(void)snprintf(p.token_url, sizeof(p.token_url), "http://127.0.0.1:9/t");
	(void)snprintf(p.jwks_url, sizeof(p.jwks_url), "http://127.0.0.1:9/jwks");
	if (pns_store_init(cfg, &err) == -1 ||
	    pns_platform_add_deployment(&p,
	    "106:8865aa05b4b79b64a91a86042e43af5ea8ae79eb", &err) == -1 ||
	    pns_platform_save(cfg, &p, &err) == -1)
		die(&err);

	pns_buf_init(&jwks, 64 * 1024);
	seed_jwks(cfg, &jwks);
	f[0] = p.jwks_url;
	pns_hash_fields(hash, 1, f);
	(void)snprintf(name, sizeof(name), "%s.json", hash);
	if (pns_store_path(cfg, jdir, sizeof(jdir), PNS_DIR_JWKS, NULL,
	    &err) == -1 ||
	    pns_write_atomic(jdir, name, jwks.data, jwks.len, &err) == -1)
		die(&err);
	pns_buf_release(&jwks);
	pns_platform_release(&p);
}
