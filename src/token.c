/* SPDX-License-Identifier: ISC */
/* Client-credentials access tokens; see pns_token.h. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jwt.h>
#include <openssl/crypto.h>

#include "pns_child.h"
#include "pns_dl.h"
#include "pns_form.h"
#include "pns_fs.h"
#include "pns_http.h"
#include "pns_json.h"
#include "pns_store.h"
#include "pns_token.h"
#include "pns_toolkey.h"
#include "banned.h"

#define TOKEN_REPLY_MAX	(64 * 1024)
#define ASSERTION_LIFE	300
#define EXPIRY_MARGIN	60

/*
 * libjwt is opened on first use (pns_dl.h): only a launch that registers
 * notice handlers, or a delivery worker needing a token, signs an
 * assertion, and linking it would make every lti.cgi process load it and
 * the libcrypto, jansson and libb64 it brings.
 */
static struct jwtfn {
	int	 (*new)(jwt_t **);
	int	 (*add_grant)(jwt_t *, const char *, const char *);
	int	 (*add_grant_int)(jwt_t *, const char *, long);
	int	 (*add_header)(jwt_t *, const char *, const char *);
	int	 (*set_alg)(jwt_t *, jwt_alg_t, const unsigned char *, int);
	char	*(*encode_str)(jwt_t *);
	void	 (*free)(jwt_t *);
} jfn;

static const struct pns_dl_sym jsyms[] = {
	{ "jwt_new", offsetof(struct jwtfn, new) },
	{ "jwt_add_grant", offsetof(struct jwtfn, add_grant) },
	{ "jwt_add_grant_int", offsetof(struct jwtfn, add_grant_int) },
	{ "jwt_add_header", offsetof(struct jwtfn, add_header) },
	{ "jwt_set_alg", offsetof(struct jwtfn, set_alg) },
	{ "jwt_encode_str", offsetof(struct jwtfn, encode_str) },
	{ "jwt_free", offsetof(struct jwtfn, free) },
};

/* The soname of Debian's libjwt0 (libjwt 1.x, the ABI <jwt.h> says). */
static struct pns_dl libjwt = PNS_DL_INIT("libjwt.so.0", PNS_ECRYPTO, jsyms,
    &jfn, NULL);

int
pns_token_assertion(const struct pns_config *cfg, const struct pns_platform *p,
    time_t now, char **out, struct pns_err *err)
{
	struct pns_toolkey	 k;
	struct pns_buf		 pem;
	unsigned char		 rnd[16];
	char			 jti[32];
	jwt_t			*jwt = NULL;
	int			 rc = -1;

	*out = NULL;
	k.pkey = NULL;
	pns_buf_init(&pem, 16 * 1024);
	if (pns_dl_load(&libjwt, err) == -1 ||
	    pns_toolkey_load(cfg, &k, err) == -1 ||
	    pns_toolkey_pem(cfg, &pem, err) == -1 ||
	    pns_random(rnd, sizeof(rnd), err) == -1)
		goto out;
	(void)pns_b64url_encode(rnd, sizeof(rnd), jti);
	if (jfn.new(&jwt) != 0 ||
	    jfn.add_grant(jwt, "iss", p->client_id) != 0 ||
	    jfn.add_grant(jwt, "sub", p->client_id) != 0 ||
	    jfn.add_grant(jwt, "aud", p->token_url) != 0 ||
	    jfn.add_grant_int(jwt, "iat", (long)now) != 0 ||
	    jfn.add_grant_int(jwt, "exp", (long)now + ASSERTION_LIFE) != 0 ||
	    jfn.add_grant(jwt, "jti", jti) != 0 ||
	    jfn.add_header(jwt, "kid", k.kid) != 0 ||
	    jfn.set_alg(jwt, JWT_ALG_RS256, (const unsigned char *)pem.data,
	    (int)pem.len) != 0 ||
	    (*out = jfn.encode_str(jwt)) == NULL) {
		pns_err_set(err, PNS_ECRYPTO, "cannot sign the client assertion");
		goto out;
	}
	rc = 0;
out:
	if (jwt != NULL)
		jfn.free(jwt);
	if (pem.data != NULL)
		OPENSSL_cleanse(pem.data, pem.cap);
	pns_buf_release(&pem);
	pns_toolkey_release(&k);
	return rc;
}

static int
cache_paths(const struct pns_config *cfg, const struct pns_platform *p,
    const char *scope, char *dir, char *name, char *lock, struct pns_err *err)
{
	const char	*f[3] = { p->token_url, p->client_id, scope };
	char		 h[65], lname[80];

	pns_hash_fields(h, 3, f);
	(void)snprintf(name, 80, "%s.json", h);
	(void)snprintf(lname, sizeof(lname), "%s.lock", h);
	if (pns_store_path(cfg, dir, PNS_FS_PATH_MAX, PNS_DIR_TOKENS, NULL,
	    err) == -1)
		return -1;
	return pns_path_join(lock, PNS_FS_PATH_MAX, dir, lname, err);
}

/* A cached token still good at now, copied to out; 0 if found. */
static int
cached(const char *dir, const char *name, time_t now, char *out)
{
	char			 path[PNS_FS_PATH_MAX];
	struct json_object	*o = NULL;
	const char		*tok;
	double			 exp;
	int			 rc = -1;

	if (pns_path_join(path, sizeof(path), dir, name, NULL) == 0 &&
	    pns_json_load(path, TOKEN_REPLY_MAX, 4, &o, NULL) == 0 &&
	    (tok = pns_json_nestr(o, "access_token")) != NULL &&
	    strlen(tok) < PNS_TOKEN_MAX &&
	    pns_json_num(o, "expires_at", &exp) == 0 &&
	    exp - EXPIRY_MARGIN > (double)now) {
		memcpy(out, tok, strlen(tok) + 1);
		rc = 0;
	}
	json_object_put(o);
	return rc;
}

/* POSTs the client_credentials grant and parses the answer. */
static int
fetch(const struct pns_config *cfg, const struct pns_platform *p,
    const char *scope, time_t now, long timeout, char *out, double *expires,
    struct pns_err *err)
{
	struct pns_http_call	 call;
	struct pns_buf		 form, reply;
	struct json_object	*o = NULL;
	const char		*tok, *type;
	char			*assertion = NULL;
	double			 life;
	int			 rc = -1;

	pns_buf_init(&form, 32 * 1024);
	pns_buf_init(&reply, TOKEN_REPLY_MAX);
	if (pns_token_assertion(cfg, p, now, &assertion, err) == -1 ||
	    pns_buf_adds(&form, "grant_type=client_credentials"
	    "&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3A"
	    "client-assertion-type%3Ajwt-bearer&client_assertion=", err) == -1 ||
	    pns_url_encode(&form, assertion, err) == -1 ||
	    pns_buf_adds(&form, "&scope=", err) == -1 ||
	    pns_url_encode(&form, scope, err) == -1)
		goto out;
	memset(&call, 0, sizeof(call));
	call.method = "POST";
	call.url = p->token_url;
	call.content_type = "application/x-www-form-urlencoded";
	call.body = form.data;
	call.body_len = form.len;
	call.timeout = timeout;
	if (pns_http_request(&call, &reply, err) == -1)
		goto out;
	if (call.status != 200) {
		pns_err_set(err, PNS_ENET, "token endpoint answered %ld",
		    call.status);
		goto out;
	}
	if (pns_json_parse(reply.data, reply.len, 8, &o, err) == -1)
		goto out;
	tok = pns_json_nestr(o, "access_token");
	type = pns_json_str(o, "token_type");
	if (tok == NULL || strlen(tok) >= PNS_TOKEN_MAX ||
	    strspn(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-._~+/=") != strlen(tok) ||
	    (type != NULL && strcasecmp(type, "bearer") != 0)) {
		pns_err_set(err, PNS_EINVAL, "token endpoint: no usable token");
		goto out;
	}
	if (pns_json_num(o, "expires_in", &life) == -1 || life <= 0)
		life = 3600;
	memcpy(out, tok, strlen(tok) + 1);
	*expires = (double)now + life;
	rc = 0;
out:
	free(assertion);
	json_object_put(o);
	pns_buf_release(&form);
	pns_buf_release(&reply);
	return rc;
}

int
pns_token_get(const struct pns_config *cfg, const struct pns_platform *p,
    const char *scope, time_t now, long timeout, char *out,
    struct pns_err *err)
{
	struct json_object	*o;
	struct timespec		 deadline;
	char			 dir[PNS_FS_PATH_MAX], name[80];
	char			 lock[PNS_FS_PATH_MAX];
	const char		*text;
	double			 expires;
	long			 left;
	int			 fd = -1, rc = -1, busy;

	if (cache_paths(cfg, p, scope, dir, name, lock, err) == -1)
		return -1;
	if (cached(dir, name, now, out) == 0)
		return 0;
	/*
	 * Another process may be fetching: wait for it, but within timeout,
	 * or a caller with a deadline (a launch) would add the other's
	 * whole fetch, against an endpoint that may hang, to its own.
	 */
	pns_child_deadline(&deadline, timeout);
	if ((busy = pns_lock_wait(lock, timeout * 1000, &fd, err)) == -1)
		return -1;
	if (busy)
		return pns_err_set(err, PNS_ENET, "another process is still "
		    "fetching a token");
	/* Another process may have fetched while we waited for the lock. */
	if (cached(dir, name, now, out) == 0) {
		rc = 0;
		goto out;
	}
	if ((left = pns_child_s_left(&deadline)) == 0) {
		pns_err_set(err, PNS_ENET, "no time left to fetch a token");
		goto out;
	}
	if (fetch(cfg, p, scope, now, left, out, &expires, err) == -1)
		goto out;
	if ((o = json_object_new_object()) != NULL) {
		json_object_object_add(o, "access_token",
		    json_object_new_string(out));
		json_object_object_add(o, "expires_at",
		    json_object_new_int64((int64_t)expires));
		text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
		/* A cache that cannot be written costs a fetch next time. */
		(void)pns_write_atomic(dir, name, text, strlen(text), NULL);
		json_object_put(o);
	}
	rc = 0;
out:
	pns_unlock(fd);
	return rc;
}

void
pns_token_forget(const struct pns_config *cfg, const struct pns_platform *p,
    const char *scope)
{
	char	dir[PNS_FS_PATH_MAX], name[80], lock[PNS_FS_PATH_MAX];
	char	path[PNS_FS_PATH_MAX];

	if (cache_paths(cfg, p, scope, dir, name, lock, NULL) == 0 &&
	    pns_path_join(path, sizeof(path), dir, name, NULL) == 0)
		(void)unlink(path);
}
