/* SPDX-License-Identifier: ISC */
/*
 * End-to-end notice verification against a real data_dir: a platform
 * registered with pns_platform_save and its key set placed in the cache
 * file, so no network is used (the JWKS URL is a closed local port).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keys.h"
#include "pns_fs.h"
#include "pns_notice.h"
#include "pns_nstore.h"
#include "pns_store.h"
#include "unit.h"

#define NOW		1742382700L
#define ISS		"https://canvas.instructure.com"
#define CID		"10000000000068"
#define DEP		"106:8865aa05b4b79b64a91a86042e43af5ea8ae79eb"
#define JWKS_URL	"http://127.0.0.1:9/jwks"
#define SEED_KID	"2025-02-01T01:16:43Z_3018685d-05b7-43cb-b865-027eec352714"
#define V		"https://purl.imsglobal.org/spec/lti/claim/"

static struct pns_config	cfg;
static struct pns_verifier	ver;
static struct tkey		key, other;
static char			dir[] = "/tmp/pns-check-notice-XXXXXX";

static void
put_jwks(const char *kid)
{
	char		 jwk[2048], doc[2200], jdir[PNS_FS_PATH_MAX], name[80];
	char		 h[65];
	const char	*f[1] = { JWKS_URL };

	tkey_jwk(&key, kid, ",\"alg\":\"RS256\",\"use\":\"sig\"", jwk, sizeof(jwk));
	(void)snprintf(doc, sizeof(doc), "{\"keys\":[%s]}", jwk);
	pns_hash_fields(h, 1, f);
	(void)snprintf(name, sizeof(name), "%s.json", h);
	ck_assert_int_eq(pns_store_path(&cfg, jdir, sizeof(jdir), PNS_DIR_JWKS,
	    NULL, NULL), 0);
	ck_assert_int_eq(pns_write_atomic(jdir, name, doc, strlen(doc), NULL), 0);
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

/* Canvas's hello-world claims with one member replaced or removed. */
static void
claims(char *out, size_t size, const char *iss, const char *dep,
    const char *version, const char *notice)
{
	(void)snprintf(out, size, "{\"iss\":\"%s\",\"aud\":\"" CID "\","
	    "\"azp\":\"" CID "\",\"iat\":1742382677,\"exp\":1742386277,"
	    "\"nonce\":\"n\",\"" V "version\":\"%s\",\"" V "deployment_id\":"
	    "\"%s\",\"" V "notice\":%s}", iss, version, dep, notice);
}

#define GOOD_NOTICE "{\"id\":\"1258e850\",\"timestamp\":\"2025-03-19T11:11:17Z\"," \
	"\"type\":\"LtiHelloWorldNotice\"}"

static enum pns_verdict
verify_signed(const struct tkey *k, const char *kid, const char *c,
    struct pns_notice *n)
{
	char			*tok = tkey_sign(k, kid, c);
	enum pns_verdict	 v;

	/* The token must outlive n: keep it in n's owner, the test. */
	v = pns_notice_verify(&ver, tok, strlen(tok), NOW, n);
	if (v != PNS_V_OK)
		free(tok);
	return v;
}

START_TEST(good_notice)
{
	struct pns_notice	 n;
	char			 c[2048], key_hex[65];
	const char		*f[3] = { ISS, CID, "1258e850" };

	pns_notice_init(&n);
	claims(c, sizeof(c), ISS, DEP, "1.3.0", GOOD_NOTICE);
	ck_assert_int_eq(verify_signed(&key, "k1", c, &n), PNS_V_OK);
	ck_assert_str_eq(n.id, "1258e850");
	ck_assert_str_eq(n.type, "LtiHelloWorldNotice");
	ck_assert_str_eq(n.deployment_id, DEP);
	ck_assert_str_eq(n.claims.client_id, CID);
	pns_hash_fields(key_hex, 3, f);
	ck_assert_str_eq(n.key, key_hex);
	free((char *)n.token);
	pns_notice_release(&n);
}
END_TEST

START_TEST(each_rule_refuses)
{
	struct pns_notice	n;
	char			c[2048];

	pns_notice_init(&n);
	claims(c, sizeof(c), "https://other.example", DEP, "1.3.0", GOOD_NOTICE);
	ck_assert_int_eq(verify_signed(&key, "k1", c, &n), PNS_V_UNKNOWN_PLATFORM);
	claims(c, sizeof(c), ISS, DEP, "1.3.0", GOOD_NOTICE);
	ck_assert_int_eq(verify_signed(&other, "k1", c, &n), PNS_V_BAD_SIGNATURE);
	/* A cached set exists, and the refetch fails fast on the closed port:
	 * the kid stays unknown. */
	ck_assert_int_eq(verify_signed(&key, "k9", c, &n), PNS_V_UNKNOWN_KID);
	claims(c, sizeof(c), ISS, "106:other", "1.3.0", GOOD_NOTICE);
	ck_assert_int_eq(verify_signed(&key, "k1", c, &n),
	    PNS_V_UNKNOWN_DEPLOYMENT);
	claims(c, sizeof(c), ISS, DEP, "1.1", GOOD_NOTICE);
	ck_assert_int_eq(verify_signed(&key, "k1", c, &n), PNS_V_BAD_VERSION);
	claims(c, sizeof(c), ISS, DEP, "1.3.0", "{\"id\":5,\"timestamp\":"
	    "\"2025-03-19T11:11:17Z\",\"type\":\"LtiHelloWorldNotice\"}");
	ck_assert_int_eq(verify_signed(&key, "k1", c, &n), PNS_V_BAD_NOTICE);
	claims(c, sizeof(c), ISS, DEP, "1.3.0", "{\"id\":\"x\",\"timestamp\":"
	    "\"yesterday\",\"type\":\"LtiHelloWorldNotice\"}");
	ck_assert_int_eq(verify_signed(&key, "k1", c, &n), PNS_V_BAD_NOTICE);
	claims(c, sizeof(c), ISS, DEP, "1.3.0", "\"a string\"");
	ck_assert_int_eq(verify_signed(&key, "k1", c, &n), PNS_V_BAD_NOTICE);
	pns_notice_release(&n);
}
END_TEST

START_TEST(no_key_set_is_unavailable)
{
	struct pns_notice	 n;
	char			 c[2048], jdir[PNS_FS_PATH_MAX], path[PNS_FS_PATH_MAX];
	char			 h[65], name[80];
	const char		*f[1] = { JWKS_URL };

	pns_hash_fields(h, 1, f);
	(void)snprintf(name, sizeof(name), "%s.json", h);
	ck_assert_int_eq(pns_store_path(&cfg, jdir, sizeof(jdir), PNS_DIR_JWKS,
	    name, NULL), 0);
	(void)snprintf(path, sizeof(path), "%s", jdir);
	ck_assert_int_eq(unlink(path), 0);
	pns_notice_init(&n);
	claims(c, sizeof(c), ISS, DEP, "1.3.0", GOOD_NOTICE);
	ck_assert_int_eq(verify_signed(&key, "k1", c, &n), PNS_V_JWKS_UNAVAILABLE);
	pns_notice_release(&n);
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
	ck_assert_str_eq(n.id, "1258e850-8446-43bf-9460-d249a6000904");
	ck_assert_str_eq(n.type, "LtiHelloWorldNotice");
	ck_assert_str_eq(n.timestamp, "2025-03-19T11:11:17Z");
	ck_assert_str_eq(n.deployment_id, DEP);
	ck_assert_int_eq(pns_notice_verify(&ver, tok, strlen(tok), NOW, &n),
	    PNS_V_UNKNOWN_KID);
	put_jwks(SEED_KID);
	ck_assert_int_eq(pns_notice_verify(&ver, tok, strlen(tok), NOW, &n),
	    PNS_V_BAD_SIGNATURE);
	/* At today's date it is long expired, before any key is looked at. */
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
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, good_notice);
	tcase_add_test(tc, each_rule_refuses);
	tcase_add_test(tc, no_key_set_is_unavailable);
	tcase_add_test(tc, canvas_seed_notice);
	suite_add_tcase(s, tc);
	return s;
}

TEST_MAIN(notice_suite)
