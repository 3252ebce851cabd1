/* SPDX-License-Identifier: ISC */
/* Platform, key and signature: the shared tail of token verification. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pns_fs.h"
#include "pns_log.h"
#include "pns_store.h"
#include "pns_verifier.h"
#include "banned.h"

void
pns_verifier_init(struct pns_verifier *v, const struct pns_config *cfg)
{
	v->cfg = cfg;
	pns_jwks_cache_init(&v->jwks, cfg);
	pns_platform_init(&v->platform);
	v->platform_ok = 0;
	v->round = v->platform_round = 0;
}

void
pns_verifier_round(struct pns_verifier *v)
{
	/* 0 stands for "no rounds": skip it when the count wraps. */
	if (++v->round == 0)
		v->round = 1;
	v->jwks.round = v->round;
}

void
pns_verifier_release(struct pns_verifier *v)
{
	pns_jwks_cache_release(&v->jwks);
	pns_platform_release(&v->platform);
}

static int
same_file(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev &&
	    a->st_size == b->st_size &&
	    a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	    a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/*
 * The platform of c into v->platform.  Another process (a launch, pnsctl)
 * may have added a deployment since the last round, so its file is
 * checked once per round (each token, without rounds); it is only read
 * and parsed again when it was replaced (platform files are replaced by
 * rename, never edited).
 */
static int
load_platform(struct pns_verifier *v, const struct pns_claims *c,
    struct pns_err *err)
{
	char		key[65], name[80], path[PNS_FS_PATH_MAX];
	struct stat	st;
	int		saved;

	/* Checked already in this round: the same strings, the same key. */
	if (v->round != 0 && v->platform_round == v->round && v->platform_ok &&
	    strcmp(v->platform.issuer, c->iss) == 0 &&
	    strcmp(v->platform.client_id, c->client_id) == 0)
		return 0;
	pns_platform_key(c->iss, c->client_id, key);
	(void)snprintf(name, sizeof(name), "%s.json", key);
	if (pns_store_path(v->cfg, path, sizeof(path), PNS_DIR_PLATFORMS,
	    name, err) == -1)
		return -1;
	if (stat(path, &st) == -1) {
		saved = errno;
		v->platform_ok = 0;
		pns_platform_release(&v->platform);
		/*
		 * Only a missing file is a platform not registered, a final
		 * refusal.  Any other failure (EACCES, EIO, ELOOP, ENOMEM, and
		 * ENOTDIR: the platforms directory itself is broken, since the
		 * name is a hash under it) is the store's, worth a retry.
		 */
		if (saved == ENOENT)
			return pns_err_set(err, PNS_ENOENT,
			    "platform not found");
		errno = saved;
		return pns_err_sys(err, "stat %s", path);
	}
	v->platform_round = v->round;
	if (v->platform_ok && strcmp(v->platform.key, key) == 0 &&
	    same_file(&st, &v->platform_st))
		return 0;
	v->platform_ok = 0;
	if (pns_platform_load(v->cfg, c->iss, c->client_id, &v->platform,
	    err) == -1) {
		pns_platform_release(&v->platform);
		return -1;
	}
	v->platform_ok = 1;
	v->platform_st = st;
	return 0;
}

enum pns_verdict
pns_verify_signature(struct pns_verifier *v, const struct pns_jws *jws,
    const struct pns_claims *c, time_t now)
{
	enum pns_verdict	 r;
	struct pns_err		 err;
	EVP_PKEY		*pkey;

	pns_err_clear(&err);
	if (load_platform(v, c, &err) == -1) {
		if (err.code != PNS_ENOENT)
			pns_log(PNS_LOG_ERROR, "platform: %s", err.msg);
		return err.code == PNS_ENOENT ? PNS_V_UNKNOWN_PLATFORM :
		    PNS_V_STORAGE;
	}
	if ((r = pns_jwks_find(&v->jwks, v->platform.jwks_url, jws->kid, now,
	    &pkey)) != PNS_V_OK)
		return r;
	return pns_jws_verify(jws, pkey) ? PNS_V_OK : PNS_V_BAD_SIGNATURE;
}
