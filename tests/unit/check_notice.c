/* SPDX-License-Identifier: ISC */
/*
 * End-to-end notice verification against a real data_dir: a platform
 * registered with pns_platform_save and its key set placed in the cache
 * file data_dir/jwks/H(jwks_url).json, so no network is used (the JWKS
 * URL is a closed local port: a fetch fails at once).  Tokens are signed
 * by libjwt with keys made at run time.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keys.h"
#include "pns_commit.h"
#include "pns_fs.h"
#include "pns_notice.h"
#include "pns_nstore.h"
#include "pns_store.h"
#include "unit.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define NOW		1742382700L
#define ISS		"https://canvas.instructure.com"
#define CID		"10000000000068"
#define DEP		"106:8865aa05b4b79b64a91a86042e43af5ea8ae79eb"
#define JWKS_URL	"http://127.0.0.1:9/jwks"
#define SEED_KID	"2025-02-01T01:16:43Z_3018685d-05b7-43cb-b865-027eec352714"
#define SEED_ID		"1258e850-8446-43bf-9460-d249a6000904"
#define V		"https://purl.imsglobal.org/spec/lti/claim/"

static struct pns_config	cfg;
static struct pns_verifier	ver;
static struct tkey		key, other;
static char			dir[] = "/tmp/pns-check-notice-XXXXXX";

/* data_dir/jwks/H(JWKS_URL)<ext>: the cache file names of pns_store.h. */
static void
jwks_path(const char *ext, char *out, size_t size)
{
	const char	*f[1] = { JWKS_URL };
	char		 h[65], name[80];

	pns_hash_fields(h, 1, f);
	(void)snprintf(name, sizeof(name), "%s%s", h, ext);
	ck_assert_int_eq(pns_store_path(&cfg, out, size, PNS_DIR_JWKS, name,
	    NULL), 0);
}

/* Puts doc into the key set cache file, as a fetch (or another process)
 * would. */
static void
put_jwks_doc(const char *doc)
{
	char		 jdir[PNS_FS_PATH_MAX], name[80], h[65];
	const char	*f[1] = { JWKS_URL };

	pns_hash_fields(h, 1, f);
	(void)snprintf(name, sizeof(name), "%s.json", h);
	ck_assert_int_eq(pns_store_path(&cfg, jdir, sizeof(jdir), PNS_DIR_JWKS,
	    NULL, NULL), 0);
	ck_assert_int_eq(pns_write_atomic(jdir, name, doc, strlen(doc), NULL), 0);
}

/* Puts a key set holding key under kid into the cache. */
static void
put_jwks(const char *kid)
{
	char	jwk[2048], doc[2200];

	tkey_jwk(&key, kid, ",\"alg\":\"RS256\",\"use\":\"sig\"", jwk, sizeof(jwk));
	(void)snprintf(doc, sizeof(doc), "{\"keys\":[%s]}", jwk);
	put_jwks_doc(doc);
}

static void
set_mtime(const char *path, time_t t)
{
	struct timespec	ts[2] = { { t, 0 }, { t, 0 } };

	ck_assert_int_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static time_t
mtime(const char *path)
{
	struct stat	st;

	return stat(path, &st) == 0 ? st.st_mtime : 0;
}

static void
setup(void)
{
	struct pns_platform	p;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	pns_config_defaults(&cfg);
	(void)snprintf(cfg.base_url, sizeof(cfg.base_url), "https://t/cgi-bin");
	(void)snprintf(cfg.data_dir, sizeof(cfg.data_dir), "%s/d", dir);
	cfg.http_timeout = 2;
	ck_assert_int_eq(pns_store_init(&cfg, NULL), 0);
	pns_platform_init(&p);
	(void)snprintf(p.issuer, sizeof(p.issuer), ISS);
	(void)snprintf(p.client_id, sizeof(p.client_id), CID);
	(void)snprintf(p.auth_url, sizeof(p.auth_url), "http://127.0.0.1:9/a");
	(void)snprintf(p.token_url, sizeof(p.token_url), "http://127.0.0.1:9/t");
	(void)snprintf(p.jwks_url, sizeof(p.jwks_url), JWKS_URL);
	ck_assert_int_eq(pns_platform_add_deployment(&p, DEP, NULL), 0);
	ck_assert_int_eq(pns_platform_save(&cfg, &p, NULL), 0);
	pns_platform_release(&p);
	put_jwks("k1");
	pns_verifier_init(&ver, &cfg);
}

static void
teardown(void)
{
	char	cmd[128];

	pns_verifier_release(&ver);
	(void)snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	(void)!system(cmd);
	memcpy(dir + strlen(dir) - 6, "XXXXXX", 6);
}

/* Keys are made once per suite: key generation is slow under valgrind. */
static void
keys_setup(void)
{
	tkey_new(&key, 2048);
	tkey_new(&other, 2048);
}

static void
keys_teardown(void)
{
	tkey_free(&key);
	tkey_free(&other);
}

/*
 * Canvas's hello-world claims, any member replaced: each field is raw
 * JSON text; NULL keeps the default and "" leaves the member out.
 */
struct claims {
	const char	*iss, *aud, *azp, *iat, *exp, *version, *dep, *notice;
};

#define GOOD_NOTICE "{\"id\":\"1258e850\",\"timestamp\":\"2025-03-19T11:11:17Z\"," \
	"\"type\":\"LtiHelloWorldNotice\"}"

static void
member(char **p, size_t *left, const char *name, const char *val,
    const char *dflt)
{
	int	n;

	if (val == NULL)
		val = dflt;
	if (*val == '\0')
		return;
	n = snprintf(*p, *left, ",\"%s\":%s", name, val);
	ck_assert(n > 0 && (size_t)n < *left);
	*p += n;
	*left -= (size_t)n;
}

static void
build(char *out, size_t size, const struct claims *c)
{
	char	 body[4096], *p = body;
	size_t	 left = sizeof(body);
	int	 n;

	body[0] = '\0';
	member(&p, &left, "iss", c->iss, "\"" ISS "\"");
	member(&p, &left, "aud", c->aud, "\"" CID "\"");
	member(&p, &left, "azp", c->azp, "\"" CID "\"");
	member(&p, &left, "iat", c->iat, "1742382677");
	member(&p, &left, "exp", c->exp, "1742386277");
	member(&p, &left, "nonce", NULL, "\"n\"");
	member(&p, &left, V "version", c->version, "\"1.3.0\"");
	member(&p, &left, V "deployment_id", c->dep, "\"" DEP "\"");
	member(&p, &left, V "notice", c->notice, GOOD_NOTICE);
	/* Every member starts with ','; the first one's is dropped. */
	n = snprintf(out, size, "{%s}", body[0] != '\0' ? body + 1 : "");
	ck_assert(n > 0 && (size_t)n < size);
}

/* Signs c with k under kid, verifies at now, releases; the verdict. */
static enum pns_verdict
verify_at(const struct tkey *k, const char *kid, const struct claims *c,
    time_t now)
{
	struct pns_notice	 n;
	enum pns_verdict	 v;
	char			 json[4096], *tok;

	build(json, sizeof(json), c);
	tok = tkey_sign(k, kid, json);
	pns_notice_init(&n);
	v = pns_notice_verify(&ver, tok, strlen(tok), now, &n);
	pns_notice_release(&n);
	free(tok);
	return v;
}

static enum pns_verdict
verify(const struct tkey *k, const char *kid, const struct claims *c)
{
	return verify_at(k, kid, c, NOW);
}

START_TEST(good_notice)
{
	struct pns_notice	 n;
	struct claims		 c = { 0 };
	char			 json[4096], key_hex[65], *tok;
	const char		*f[3] = { ISS, CID, "1258e850" };

	build(json, sizeof(json), &c);
	tok = tkey_sign(&key, "k1", json);
	pns_notice_init(&n);
	ck_assert_int_eq(pns_notice_verify(&ver, tok, strlen(tok), NOW, &n),
	    PNS_V_OK);
	ck_assert_str_eq(n.id, "1258e850");
	ck_assert_str_eq(n.type, "LtiHelloWorldNotice");
	ck_assert_str_eq(n.timestamp, "2025-03-19T11:11:17Z");
	ck_assert_str_eq(n.deployment_id, DEP);
	ck_assert_str_eq(n.claims.iss, ISS);
	ck_assert_str_eq(n.claims.client_id, CID);
	ck_assert_ptr_eq(n.token, tok);
	ck_assert_uint_eq(n.token_len, strlen(tok));
	pns_hash_fields(key_hex, 3, f);
	ck_assert_str_eq(n.key, key_hex);
	ck_assert_str_eq(ver.platform.jwks_url, JWKS_URL);
	pns_notice_release(&n);
	free(tok);
}
END_TEST

/* The key set cache is named SHA-256("http://127.0.0.1:9/jwks\0"). */
START_TEST(jwks_cache_name)
{
	char	path[PNS_FS_PATH_MAX];

	jwks_path(".json", path, sizeof(path));
	ck_assert_ptr_nonnull(strstr(path, "/jwks/19713702c29693025ca8892ca56e"
	    "500c02eaf5f520fc1456036b4cfe7446829b.json"));
	ck_assert_int_eq(access(path, R_OK), 0);
}
END_TEST

/* A verified notice goes into the store once; the same token verified
 * again (a platform's retry) is a duplicate of the same record. */
START_TEST(verified_notice_stored_once)
{
	struct pns_notice	 n;
	struct pns_commit	 commit;
	struct json_object	*rec, *v;
	struct claims		 c = { 0 };
	char			 json[4096], *tok;
	int			 round;

	build(json, sizeof(json), &c);
	tok = tkey_sign(&key, "k1", json);
	pns_notice_init(&n);
	for (round = 0; round < 2; round++) {
		ck_assert_int_eq(pns_notice_verify(&ver, tok, strlen(tok), NOW,
		    &n), PNS_V_OK);
		ck_assert_int_eq(pns_nstore_put(&cfg, &n, "2025-03-19T11:11:40Z",
		    NULL), round);
	}
	ck_assert_int_eq(pns_commit_init(&commit, &cfg, NULL), 0);
	ck_assert_int_eq(pns_commit_wait(&commit, NULL), 0);
	pns_commit_release(&commit);
	ck_assert_int_eq(pns_nstore_get(&cfg, n.key, &rec, NULL), 0);
	ck_assert(json_object_object_get_ex(rec, "jwt", &v));
	ck_assert_str_eq(json_object_get_string(v), tok);
	ck_assert(json_object_object_get_ex(rec, "deployment_id", &v));
	ck_assert_str_eq(json_object_get_string(v), DEP);
	json_object_put(rec);
	pns_notice_release(&n);
	free(tok);
}
END_TEST

/*
 * Every verdict of docs/receiver.md that a signed notice can earn, each
 * one member away from the good notice, which comes first as the
 * positive control.  One verifier and one notice serve all of them, as
 * in the long-lived FastCGI process.
 */
START_TEST(each_rule_refuses)
{
	static const struct {
		const char		*what;
		struct claims		 c;
		int			 other_key;
		const char		*kid;
		enum pns_verdict	 want;
	} rows[] = {
		{ "good", { 0 }, 0, "k1", PNS_V_OK },
		{ "aud array, azp", { .aud = "[\"" CID "\",\"x\"]" }, 0, "k1",
		    PNS_V_OK },
		{ "no azp", { .azp = "" }, 0, "k1", PNS_V_OK },
		{ "no iss", { .iss = "" }, 0, "k1", PNS_V_BAD_CLAIMS },
		{ "aud number", { .aud = "10000000000068" }, 0, "k1",
		    PNS_V_BAD_AUD },
		{ "two aud, no azp", { .aud = "[\"" CID "\",\"x\"]", .azp = "" },
		    0, "k1", PNS_V_BAD_AZP },
		{ "azp not aud", { .azp = "\"x\"" }, 0, "k1", PNS_V_BAD_AZP },
		{ "expired", { .exp = "1742382689" }, 0, "k1", PNS_V_EXPIRED },
		{ "exp within leeway", { .exp = "1742382690" }, 0, "k1",
		    PNS_V_OK },
		{ "iat future", { .iat = "1742382711" }, 0, "k1",
		    PNS_V_IAT_FUTURE },
		{ "no version", { .version = "" }, 0, "k1", PNS_V_BAD_VERSION },
		{ "version 1.1", { .version = "\"1.1\"" }, 0, "k1",
		    PNS_V_BAD_VERSION },
		{ "version number", { .version = "1.3" }, 0, "k1",
		    PNS_V_BAD_VERSION },
		{ "no notice", { .notice = "" }, 0, "k1", PNS_V_BAD_NOTICE },
		{ "notice string", { .notice = "\"a string\"" }, 0, "k1",
		    PNS_V_BAD_NOTICE },
		{ "notice array", { .notice = "[" GOOD_NOTICE "]" }, 0, "k1",
		    PNS_V_BAD_NOTICE },
		{ "id number", { .notice = "{\"id\":5,\"timestamp\":"
		    "\"2025-03-19T11:11:17Z\",\"type\":\"LtiHelloWorldNotice\"}" },
		    0, "k1", PNS_V_BAD_NOTICE },
		{ "id empty", { .notice = "{\"id\":\"\",\"timestamp\":"
		    "\"2025-03-19T11:11:17Z\",\"type\":\"LtiHelloWorldNotice\"}" },
		    0, "k1", PNS_V_BAD_NOTICE },
		{ "no id", { .notice = "{\"timestamp\":\"2025-03-19T11:11:17Z\","
		    "\"type\":\"LtiHelloWorldNotice\"}" }, 0, "k1",
		    PNS_V_BAD_NOTICE },
		{ "no type", { .notice = "{\"id\":\"x\",\"timestamp\":"
		    "\"2025-03-19T11:11:17Z\"}" }, 0, "k1", PNS_V_BAD_NOTICE },
		{ "type number", { .notice = "{\"id\":\"x\",\"timestamp\":"
		    "\"2025-03-19T11:11:17Z\",\"type\":1}" }, 0, "k1",
		    PNS_V_BAD_NOTICE },
		{ "bad timestamp", { .notice = "{\"id\":\"x\",\"timestamp\":"
		    "\"yesterday\",\"type\":\"LtiHelloWorldNotice\"}" }, 0, "k1",
		    PNS_V_BAD_NOTICE },
		{ "timestamp without zone", { .notice = "{\"id\":\"x\","
		    "\"timestamp\":\"2025-03-19T11:11:17\","
		    "\"type\":\"LtiHelloWorldNotice\"}" }, 0, "k1",
		    PNS_V_BAD_NOTICE },
		{ "timestamp number", { .notice = "{\"id\":\"x\",\"timestamp\":"
		    "1742382677,\"type\":\"LtiHelloWorldNotice\"}" }, 0, "k1",
		    PNS_V_BAD_NOTICE },
		{ "offset timestamp", { .notice = "{\"id\":\"x\",\"timestamp\":"
		    "\"2025-07-30T03:26:44-06:00\",\"type\":\"LtiHelloWorldNotice\"}" },
		    0, "k1", PNS_V_OK },
		{ "unknown issuer", { .iss = "\"https://other.example\"" }, 0,
		    "k1", PNS_V_UNKNOWN_PLATFORM },
		{ "unknown client", { .aud = "\"10000000000069\"", .azp = "" }, 0,
		    "k1", PNS_V_UNKNOWN_PLATFORM },
		{ "unknown kid", { 0 }, 0, "k9", PNS_V_UNKNOWN_KID },
		{ "other key", { 0 }, 1, "k1", PNS_V_BAD_SIGNATURE },
		{ "unknown deployment", { .dep = "\"106:other\"" }, 0, "k1",
		    PNS_V_UNKNOWN_DEPLOYMENT },
		{ "no deployment", { .dep = "" }, 0, "k1",
		    PNS_V_UNKNOWN_DEPLOYMENT },
		{ "deployment number", { .dep = "106" }, 0, "k1",
		    PNS_V_UNKNOWN_DEPLOYMENT },
		{ "good again", { 0 }, 0, "k1", PNS_V_OK },
	};
	enum pns_verdict	v;
	size_t			i;

	for (i = 0; i < NELEM(rows); i++) {
		v = verify(rows[i].other_key ? &other : &key, rows[i].kid,
		    &rows[i].c);
		ck_assert_msg(v == rows[i].want, "%s: got %s, want %s",
		    rows[i].what, pns_verdict_str(v),
		    pns_verdict_str(rows[i].want));
	}
}
END_TEST

/*
 * The order of docs/receiver.md: key-free checks before the platform and
 * key, the signature before the deployment.  A token failing two rules
 * gets the earlier verdict, so that an unsigned guess learns nothing
 * about registrations and deployments.
 */
START_TEST(verdict_order)
{
	struct claims	unknown_bad_version = {
		.iss = "\"https://other.example\"", .version = "\"1.0\"" };
	struct claims	unknown_expired = {
		.iss = "\"https://other.example\"", .exp = "1" };
	struct claims	unknown_dep = { .dep = "\"106:other\"" };
	struct claims	good = { 0 };

	ck_assert_int_eq(verify(&key, "k1", &good), PNS_V_OK);
	ck_assert_int_eq(verify(&key, "k1", &unknown_bad_version),
	    PNS_V_BAD_VERSION);
	ck_assert_int_eq(verify(&key, "k1", &unknown_expired), PNS_V_EXPIRED);
	/* A forged token does not learn whether a deployment exists. */
	ck_assert_int_eq(verify(&other, "k1", &unknown_dep),
	    PNS_V_BAD_SIGNATURE);
	ck_assert_int_eq(verify(&key, "k9", &unknown_dep), PNS_V_UNKNOWN_KID);
	ck_assert_int_eq(verify(&key, "k1", &unknown_dep),
	    PNS_V_UNKNOWN_DEPLOYMENT);
}
END_TEST

/*
 * A malformed or wrong-algorithm token must never cost a key fetch: here
 * the platform's key set is not cached, so any key lookup would try to
 * fetch and leave the attempt stamp behind.  The HS256 token signed with
 * the public key as HMAC secret, an unsigned alg none token and a crit
 * header are all refused before that.
 */
START_TEST(refused_before_any_key)
{
	struct claims	 good = { 0 };
	struct pns_notice n;
	char		 json[4096], path[PNS_FS_PATH_MAX], attempt[PNS_FS_PATH_MAX];
	char		*hs, *none, *crit;
	unsigned char	 sig[256];

	jwks_path(".json", path, sizeof(path));
	jwks_path(".attempt", attempt, sizeof(attempt));
	ck_assert_int_eq(unlink(path), 0);
	build(json, sizeof(json), &good);
	hs = tkey_hs256("{\"alg\":\"HS256\",\"kid\":\"k1\"}", json, key.pub_pem);
	none = tkey_raw("{\"alg\":\"none\",\"kid\":\"k1\"}", json, NULL, 0);
	memset(sig, 7, sizeof(sig));
	crit = tkey_raw("{\"alg\":\"RS256\",\"kid\":\"k1\",\"crit\":[\"exp\"]}",
	    json, sig, sizeof(sig));
	pns_notice_init(&n);
	ck_assert_int_eq(pns_notice_verify(&ver, hs, strlen(hs), NOW, &n),
	    PNS_V_BAD_ALG);
	ck_assert_int_eq(pns_notice_verify(&ver, none, strlen(none), NOW, &n),
	    PNS_V_MALFORMED);
	ck_assert_int_eq(pns_notice_verify(&ver, crit, strlen(crit), NOW, &n),
	    PNS_V_BAD_HEADER);
	ck_assert_int_eq(pns_notice_verify(&ver, "", 0, NOW, &n),
	    PNS_V_MALFORMED);
	ck_assert_int_eq(access(attempt, F_OK), -1);
	/* Positive control: a well-formed token does try to fetch. */
	ck_assert_int_eq(verify(&key, "k1", &good), PNS_V_JWKS_UNAVAILABLE);
	ck_assert_int_eq(access(attempt, F_OK), 0);
	pns_notice_release(&n);
	free(hs);
	free(none);
	free(crit);
}
END_TEST

START_TEST(no_key_set_is_unavailable)
{
	struct claims	good = { 0 };
	char		path[PNS_FS_PATH_MAX];

	/* Positive control: with the cached set, the notice verifies. */
	ck_assert_int_eq(verify(&key, "k1", &good), PNS_V_OK);
	/* A fresh verifier (a new process) and no cached set: the fetch
	 * fails, and there is nothing to fall back on. */
	pns_verifier_release(&ver);
	pns_verifier_init(&ver, &cfg);
	jwks_path(".json", path, sizeof(path));
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(verify(&key, "k1", &good), PNS_V_JWKS_UNAVAILABLE);
	ck_assert(pns_verdict_transient(PNS_V_JWKS_UNAVAILABLE));
	/* A cached document with no usable key is no better... */
	put_jwks_doc("{\"keys\":[{\"kty\":\"EC\",\"kid\":\"k1\"}]}");
	ck_assert_int_eq(verify(&key, "k1", &good), PNS_V_JWKS_UNAVAILABLE);
	put_jwks_doc("not json");
	ck_assert_int_eq(verify(&key, "k1", &good), PNS_V_JWKS_UNAVAILABLE);
	/* ...and a good one put back by another process is used at once. */
	put_jwks("k1");
	ck_assert_int_eq(verify(&key, "k1", &good), PNS_V_OK);
}
END_TEST

/* jwks_max_age is a refresh policy, not an expiry: a copy older than
 * that is refreshed, and still used when the refresh fails. */
START_TEST(stale_key_set_still_used)
{
	struct claims	good = { 0 };
	char		path[PNS_FS_PATH_MAX], attempt[PNS_FS_PATH_MAX];

	jwks_path(".json", path, sizeof(path));
	jwks_path(".attempt", attempt, sizeof(attempt));
	set_mtime(path, NOW - cfg.jwks_max_age - 100);
	ck_assert_int_eq(access(attempt, F_OK), -1);
	ck_assert_int_eq(verify(&key, "k1", &good), PNS_V_OK);
	/* A refresh was tried (and failed on the closed port). */
	ck_assert_int_eq(access(attempt, F_OK), 0);
	/* Twin: a copy younger than max age is used without a fetch. */
	ck_assert_int_eq(unlink(attempt), 0);
	pns_verifier_release(&ver);
	pns_verifier_init(&ver, &cfg);
	set_mtime(path, NOW - 100);
	ck_assert_int_eq(verify(&key, "k1", &good), PNS_V_OK);
	ck_assert_int_eq(access(attempt, F_OK), -1);
}
END_TEST

/*
 * A 60 s refetch interval, a cached key set fetched long ago and the last
 * fetch tried at "at"; the attempt stamp's path into attempt.
 */
static void
last_try_at(time_t at, char *attempt, size_t size)
{
	char	path[PNS_FS_PATH_MAX];
	int	fd;

	jwks_path(".json", path, sizeof(path));
	jwks_path(".attempt", attempt, size);
	cfg.jwks_refetch_interval = 60;
	set_mtime(path, NOW - 1000);
	ck_assert((fd = open(attempt, O_WRONLY | O_CREAT, 0600)) >= 0);
	(void)close(fd);
	set_mtime(attempt, at);
}

/*
 * Unknown kids cannot turn the tool into a traffic amplifier: a token
 * naming a kid the cached set lacks triggers a refetch at most once per
 * jwks_refetch_interval (pns_jwks.h), however many such tokens come.
 * The attempt stamp's mtime shows whether a fetch was tried.
 *
 * Held back by the interval, the kid was once answered unknown_kid, a
 * final refusal: anyone could open the interval with a made-up kid, and
 * a genuine notice signed with a key rotated in just then was dropped
 * for good.  Without a fetch the kid is only missing from an old copy,
 * so the verdict is now the transient unknown_kid_retry; a fetch tried
 * for the token is what makes unknown_kid final.
 */
START_TEST(unknown_kid_refetch_rate_limited)
{
	struct claims	good = { 0 };
	char		attempt[PNS_FS_PATH_MAX];
	long		i;

	last_try_at(NOW - 5, attempt, sizeof(attempt));
	/* Within the interval: no fetch, whatever the number of tokens,
	 * and so no final verdict. */
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(verify_at(&key, "k9", &good, NOW + i),
		    PNS_V_UNKNOWN_KID_RETRY);
	ck_assert_int_eq(mtime(attempt), NOW - 5);
	ck_assert(pns_verdict_transient(PNS_V_UNKNOWN_KID_RETRY));
	/* The known kid is still served from the cache meanwhile. */
	ck_assert_int_eq(verify(&key, "k1", &good), PNS_V_OK);
	/* Once the interval has passed, one fetch is tried: the twin, a
	 * kid still missing after it is unknown for good. */
	ck_assert_int_eq(verify_at(&key, "k9", &good, NOW + 55),
	    PNS_V_UNKNOWN_KID);
	ck_assert_int_ne(mtime(attempt), NOW - 5);
	ck_assert(!pns_verdict_transient(PNS_V_UNKNOWN_KID));
}
END_TEST

/*
 * A fetch tried for one notice of a batch (a round) came after all of
 * them arrived: a later notice of the batch naming the same missing kid
 * is unknown for good too.  Were it unknown_kid_retry, a batch holding
 * two such notices would be answered 503 on every retry, for ever.  The
 * next round, within the interval, has had no fetch of its own.
 */
START_TEST(unknown_kid_after_a_fetch_of_the_round)
{
	struct claims	good = { 0 };
	char		attempt[PNS_FS_PATH_MAX];

	last_try_at(NOW - 100, attempt, sizeof(attempt));
	pns_verifier_round(&ver);
	ck_assert_int_eq(verify(&key, "k9", &good), PNS_V_UNKNOWN_KID);
	ck_assert_int_ne(mtime(attempt), NOW - 100);
	/* The stamp is now newer than NOW: put it back within the interval. */
	set_mtime(attempt, NOW - 5);
	ck_assert_int_eq(verify(&key, "k9", &good), PNS_V_UNKNOWN_KID);
	ck_assert_int_eq(verify(&key, "k8", &good), PNS_V_UNKNOWN_KID);
	ck_assert_int_eq(mtime(attempt), NOW - 5);
	pns_verifier_round(&ver);
	ck_assert_int_eq(verify(&key, "k9", &good), PNS_V_UNKNOWN_KID_RETRY);
	ck_assert_int_eq(mtime(attempt), NOW - 5);
	ck_assert_int_eq(verify(&key, "k1", &good), PNS_V_OK);
}
END_TEST

/* Keys rotate: when another process stores a set with the new kid, a
 * long-lived verifier picks it up from the shared copy. */
START_TEST(rotated_key_from_shared_copy)
{
	struct claims	good = { 0 };

	ck_assert_int_eq(verify(&key, "k1", &good), PNS_V_OK);
	ck_assert_int_eq(verify(&key, "k2", &good), PNS_V_UNKNOWN_KID);
	put_jwks("k2");
	ck_assert_int_eq(verify(&key, "k2", &good), PNS_V_OK);
	/* The old kid left the set with the rotation. */
	ck_assert_int_eq(verify(&key, "k1", &good), PNS_V_UNKNOWN_KID);
}
END_TEST

/* Replaces the platform's file with one cut short, unreadable. */
static void
break_platform_file(void)
{
	char	pdir[PNS_FS_PATH_MAX], name[80], key_hex[65];

	pns_platform_key(ISS, CID, key_hex);
	(void)snprintf(name, sizeof(name), "%s.json", key_hex);
	ck_assert_int_eq(pns_store_path(&cfg, pdir, sizeof(pdir),
	    PNS_DIR_PLATFORMS, NULL, NULL), 0);
	ck_assert_int_eq(pns_write_atomic(pdir, name, "{\"issuer\":", 10, NULL),
	    0);
}

/*
 * stat(2) failing on the platform file for any reason but ENOENT was
 * taken for "platform not found": a file-system fault (EACCES, EIO,
 * ELOOP, ...) made a registered platform's notices unknown_platform, a
 * final refusal in a 200, where pns_verifier.h promises storage (503,
 * retried).  The tests run as root, whom mode bits do not stop, so the
 * faults here are a symbolic link to itself (ELOOP) and a platforms
 * directory that is a file (ENOTDIR).  The twin: a platform whose file
 * truly does not exist stays unknown_platform.
 */
START_TEST(platform_file_fault_is_storage)
{
	struct claims	good = { 0 };
	char		pdir[PNS_FS_PATH_MAX], path[PNS_FS_PATH_MAX];
	char		moved[PNS_FS_PATH_MAX + 8], name[80], key_hex[65];
	int		fd;

	pns_platform_key(ISS, CID, key_hex);
	(void)snprintf(name, sizeof(name), "%s.json", key_hex);
	ck_assert_int_eq(pns_store_path(&cfg, pdir, sizeof(pdir),
	    PNS_DIR_PLATFORMS, NULL, NULL), 0);
	ck_assert_int_eq(pns_path_join(path, sizeof(path), pdir, name, NULL),
	    0);
	(void)snprintf(moved, sizeof(moved), "%s.moved", path);
	ck_assert_int_eq(verify(&key, "k1", &good), PNS_V_OK);

	ck_assert_int_eq(rename(path, moved), 0);
	ck_assert_int_eq(symlink(path, path), 0);
	ck_assert_int_eq(verify(&key, "k1", &good), PNS_V_STORAGE);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(verify(&key, "k1", &good), PNS_V_UNKNOWN_PLATFORM);
	ck_assert_int_eq(rename(moved, path), 0);
	ck_assert_int_eq(verify(&key, "k1", &good), PNS_V_OK);

	(void)snprintf(moved, sizeof(moved), "%s.moved", pdir);
	ck_assert_int_eq(rename(pdir, moved), 0);
	ck_assert((fd = open(pdir, O_WRONLY | O_CREAT | O_EXCL, 0600)) >= 0);
	(void)close(fd);
	ck_assert_int_eq(verify(&key, "k1", &good), PNS_V_STORAGE);
	ck_assert_int_eq(unlink(pdir), 0);
	ck_assert_int_eq(rename(moved, pdir), 0);
	ck_assert_int_eq(verify(&key, "k1", &good), PNS_V_OK);
}
END_TEST

/* A platform file that cannot be read is a storage failure (503, retry
 * later), not an unknown platform (a permanent refusal). */
START_TEST(unreadable_platform_is_storage)
{
	struct claims	good = { 0 };

	ck_assert_int_eq(verify(&key, "k1", &good), PNS_V_OK);
	break_platform_file();
	ck_assert_int_eq(verify(&key, "k1", &good), PNS_V_STORAGE);
	ck_assert(pns_verdict_transient(PNS_V_STORAGE));
	/* An unknown platform stays a permanent refusal. */
	ck_assert(!pns_verdict_transient(PNS_V_UNKNOWN_PLATFORM));
}
END_TEST

/*
 * Within a round (one request, all the notices of a batch) the cached
 * key set and the platform file are checked once: a replacement made
 * during the round counts from the next one.  Without rounds each token
 * checks, as the tests above show.
 */
START_TEST(rounds_check_files_once)
{
	struct claims	good = { 0 };

	pns_verifier_round(&ver);
	ck_assert_int_eq(verify(&key, "k1", &good), PNS_V_OK);
	/* The key set rotates away from k1: not seen in this round... */
	put_jwks("k2");
	ck_assert_int_eq(verify(&key, "k1", &good), PNS_V_OK);
	/* ...but in the next. */
	pns_verifier_round(&ver);
	ck_assert_int_eq(verify(&key, "k1", &good), PNS_V_UNKNOWN_KID);
	ck_assert_int_eq(verify(&key, "k2", &good), PNS_V_OK);

	/* The platform file breaks: not seen in this round... */
	break_platform_file();
	ck_assert_int_eq(verify(&key, "k2", &good), PNS_V_OK);
	/* ...but in the next. */
	pns_verifier_round(&ver);
	ck_assert_int_eq(verify(&key, "k2", &good), PNS_V_STORAGE);
}
END_TEST

/* The short names a sender sees are those of docs/receiver.md, and the
 * enum runs in the order of its table. */
START_TEST(verdict_names_follow_docs)
{
	static const char *const docs[] = {
		"ok", "malformed", "bad_header", "bad_alg", "no_kid",
		"bad_claims", "bad_aud", "bad_azp", "expired", "iat_future",
		"bad_version", "bad_notice", "unknown_platform", "unknown_kid",
		"unknown_kid_retry", "jwks_unavailable", "bad_signature",
		"unknown_deployment", "storage",
	};
	int	v;

	for (v = 0; v <= PNS_V_STORAGE; v++) {
		ck_assert_str_eq(pns_verdict_str((enum pns_verdict)v), docs[v]);
		/* Only the three 503 answers are worth a retry. */
		ck_assert_int_eq(pns_verdict_transient((enum pns_verdict)v),
		    v == PNS_V_UNKNOWN_KID_RETRY ||
		    v == PNS_V_JWKS_UNAVAILABLE || v == PNS_V_STORAGE);
	}
	ck_assert_uint_eq(NELEM(docs), PNS_V_STORAGE + 1);
	ck_assert_str_eq(pns_verdict_str(PNS_V__MAX), "invalid");
}
END_TEST

static char *
seed_token(void)
{
	struct pns_buf	b;
	char		*tok;

	pns_buf_init(&b, 8192);
	ck_assert_int_eq(pns_read_file(FIXTURES "/canvas_hello_world.jwt", &b,
	    NULL), 0);
	while (b.len > 0 && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == ' '))
		b.data[--b.len] = '\0';
	tok = strdup(b.data);
	pns_buf_release(&b);
	ck_assert_ptr_nonnull(tok);
	return tok;
}

/*
 * The real Canvas notice of the seed document decodes with its expected
 * claims; its key is not public, so with the issuer registered under
 * another key it is unverifiable: unknown kid, and with our key under
 * its kid, a bad signature.
 */
START_TEST(canvas_seed_notice)
{
	struct pns_notice	 n;
	struct pns_claims	 c;
	char			*tok = seed_token();

	pns_notice_init(&n);
	ck_assert_int_eq(pns_jws_parse(&n.jws, tok, strlen(tok)), PNS_V_OK);
	ck_assert_str_eq(n.jws.kid, SEED_KID);
	ck_assert_int_eq(pns_claims_check(n.jws.payload, NOW, 10, &c), PNS_V_OK);
	ck_assert_str_eq(c.iss, ISS);
	ck_assert_str_eq(c.client_id, CID);
	n.claims = c;
	ck_assert_int_eq(pns_notice_check_claims(&n), PNS_V_OK);
	ck_assert_str_eq(n.id, SEED_ID);
	ck_assert_str_eq(n.type, "LtiHelloWorldNotice");
	ck_assert_str_eq(n.timestamp, "2025-03-19T11:11:17Z");
	ck_assert_str_eq(n.deployment_id, DEP);
	ck_assert_int_eq(pns_notice_verify(&ver, tok, strlen(tok), NOW, &n),
	    PNS_V_UNKNOWN_KID);
	put_jwks(SEED_KID);
	ck_assert_int_eq(pns_notice_verify(&ver, tok, strlen(tok), NOW, &n),
	    PNS_V_BAD_SIGNATURE);
	/* Two hours on it is expired, before any key is looked at. */
	ck_assert_int_eq(pns_notice_verify(&ver, tok, strlen(tok), NOW + 7200,
	    &n), PNS_V_EXPIRED);
	pns_notice_release(&n);
	free(tok);
}
END_TEST

static Suite *
notice_suite(void)
{
	Suite	*s = suite_create("notice");
	TCase	*tc = tcase_create("notice");

	tcase_add_unchecked_fixture(tc, keys_setup, keys_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, good_notice);
	tcase_add_test(tc, jwks_cache_name);
	tcase_add_test(tc, verified_notice_stored_once);
	tcase_add_test(tc, each_rule_refuses);
	tcase_add_test(tc, verdict_order);
	tcase_add_test(tc, refused_before_any_key);
	tcase_add_test(tc, no_key_set_is_unavailable);
	tcase_add_test(tc, stale_key_set_still_used);
	tcase_add_test(tc, unknown_kid_refetch_rate_limited);
	tcase_add_test(tc, unknown_kid_after_a_fetch_of_the_round);
	tcase_add_test(tc, rotated_key_from_shared_copy);
	tcase_add_test(tc, unreadable_platform_is_storage);
	tcase_add_test(tc, platform_file_fault_is_storage);
	tcase_add_test(tc, rounds_check_files_once);
	tcase_add_test(tc, verdict_names_follow_docs);
	tcase_add_test(tc, canvas_seed_notice);
	suite_add_tcase(s, tc);
	return s;
}

TEST_MAIN(notice_suite)
