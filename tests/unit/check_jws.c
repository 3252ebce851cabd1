/* SPDX-License-Identifier: ISC */
/* Compact JWS parsing, the RS256 pin, signatures, registered claims and
 * JWK Sets.  Tokens are signed by libjwt or assembled by hand. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "pns_jwk.h"
#include "pns_jws.h"
#include "unit.h"

#define NOW	1742382700L
#define CLAIMS	"{\"iss\":\"https://p.example\",\"aud\":\"c1\",\"iat\":1742382677," \
		"\"exp\":1742386277}"

static struct tkey	k1, k2;

static void
setup(void)
{
	tkey_new(&k1, 2048);
	tkey_new(&k2, 2048);
}

static void
teardown(void)
{
	tkey_free(&k1);
	tkey_free(&k2);
}

static enum pns_verdict
parse(const char *tok, struct pns_jws *jws)
{
	return pns_jws_parse(jws, tok, strlen(tok));
}

START_TEST(good_token_verifies)
{
	struct pns_jws	 jws;
	char		*tok = tkey_sign(&k1, "k1", CLAIMS);

	pns_jws_init(&jws);
	ck_assert_int_eq(parse(tok, &jws), PNS_V_OK);
	ck_assert_str_eq(jws.kid, "k1");
	ck_assert_int_eq(pns_jws_verify(&jws, k1.pkey), 1);
	/* Another key, and one flipped signature byte, do not verify. */
	ck_assert_int_eq(pns_jws_verify(&jws, k2.pkey), 0);
	jws.sig[10] ^= 1;
	ck_assert_int_eq(pns_jws_verify(&jws, k1.pkey), 0);
	pns_jws_release(&jws);
	free(tok);
}
END_TEST

/*
 * The classic confusion: an attacker signs with HS256, using the
 * platform's public key PEM as the HMAC secret.  A verifier that takes
 * the algorithm from the header and hands the "key" to HMAC accepts it.
 * The header must say RS256 before any key is used.
 */
START_TEST(hs256_with_public_pem_refused)
{
	struct pns_jws	 jws;
	char		*tok = tkey_hs256("{\"alg\":\"HS256\",\"kid\":\"k1\"}",
			    CLAIMS, k1.pub_pem);

	pns_jws_init(&jws);
	ck_assert_int_eq(parse(tok, &jws), PNS_V_BAD_ALG);
	ck_assert_int_eq(pns_jws_verify(&jws, k1.pkey), 0);
	pns_jws_release(&jws);
	free(tok);
}
END_TEST

START_TEST(header_rules)
{
	static const struct {
		const char		*header;
		enum pns_verdict	 want;
	} cases[] = {
		{ "{\"alg\":\"none\",\"kid\":\"k1\"}", PNS_V_BAD_ALG },
		{ "{\"alg\":\"RS512\",\"kid\":\"k1\"}", PNS_V_BAD_ALG },
		{ "{\"alg\":\"rs256\",\"kid\":\"k1\"}", PNS_V_BAD_ALG },
		{ "{\"kid\":\"k1\"}", PNS_V_BAD_ALG },
		{ "{\"alg\":\"RS256\"}", PNS_V_NO_KID },
		{ "{\"alg\":\"RS256\",\"kid\":\"\"}", PNS_V_NO_KID },
		{ "{\"alg\":\"RS256\",\"kid\":7}", PNS_V_NO_KID },
		{ "{\"alg\":\"RS256\",\"kid\":\"k1\",\"crit\":[\"b64\"]}",
		    PNS_V_BAD_HEADER },
		{ "[\"RS256\"]", PNS_V_BAD_HEADER },
		{ "{\"alg\":\"RS256\",\"kid\":\"k1\"", PNS_V_BAD_HEADER },
		{ "{\"alg\":\"RS256\",\"kid\":\"k1\"}", PNS_V_OK },
	};
	unsigned char	sig[256];
	struct pns_jws	jws;
	char		*tok;
	size_t		i;

	memset(sig, 0x5a, sizeof(sig));
	pns_jws_init(&jws);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tok = tkey_raw(cases[i].header, CLAIMS, sig, sizeof(sig));
		ck_assert_msg(parse(tok, &jws) == cases[i].want, "%s",
		    cases[i].header);
		free(tok);
	}
	pns_jws_release(&jws);
}
END_TEST

START_TEST(structure_rules)
{
	static const char *const bad[] = {
		"", "abc", "a.b", "a.b.c.d", ".eyJ9.c", "eyJ9..c", "eyJ9.eyJ9.",
		"eyJ9.eyJ9.c*", "ey J9.eyJ9.c", "eyJ9=.eyJ9.c",
	};
	struct pns_jws	jws;
	char		big[PNS_JWS_HEADER_MAX + 64];
	size_t		i;

	pns_jws_init(&jws);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(parse(bad[i], &jws) == PNS_V_MALFORMED, "\"%s\"",
		    bad[i]);
	/* A header longer than any real one is refused unread. */
	memset(big, 'A', sizeof(big));
	memcpy(big + PNS_JWS_HEADER_MAX + 2, ".e.c", 5);
	ck_assert_int_eq(parse(big, &jws), PNS_V_MALFORMED);
	pns_jws_release(&jws);
}
END_TEST

static enum pns_verdict
claims(const char *json, struct pns_claims *c)
{
	struct json_object	*o = json_tokener_parse(json);
	enum pns_verdict	 v;

	ck_assert_ptr_nonnull(o);
	v = pns_claims_check(o, NOW, 10, c);
	json_object_put(o);
	return v;
}

#define T(aud, azp) "{\"iss\":\"i\"," aud azp ",\"iat\":1742382677,\"exp\":1742386277}"

START_TEST(audience_rules)
{
	struct pns_claims	c;

	ck_assert_int_eq(claims(T("\"aud\":\"c1\"", ""), &c), PNS_V_OK);
	ck_assert_int_eq(claims(T("\"aud\":[\"c1\"]", ""), &c), PNS_V_OK);
	ck_assert_int_eq(claims(T("\"aud\":[\"c1\",\"c2\"]", ""), &c),
	    PNS_V_BAD_AZP);
	ck_assert_int_eq(claims(T("\"aud\":[\"c1\",\"c2\"]", ",\"azp\":\"c2\""),
	    &c), PNS_V_OK);
	/* json-c borrows from the parsed object: compare while alive. */
	ck_assert_int_eq(claims(T("\"aud\":[\"c1\",\"c2\"]", ",\"azp\":\"c3\""),
	    &c), PNS_V_BAD_AZP);
	ck_assert_int_eq(claims(T("\"aud\":\"c1\"", ",\"azp\":\"c2\""), &c),
	    PNS_V_BAD_AZP);
	ck_assert_int_eq(claims(T("\"aud\":\"c1\"", ",\"azp\":\"c1\""), &c),
	    PNS_V_OK);
	ck_assert_int_eq(claims(T("\"aud\":5", ""), &c), PNS_V_BAD_AUD);
	ck_assert_int_eq(claims(T("\"aud\":[]", ""), &c), PNS_V_BAD_AUD);
	ck_assert_int_eq(claims(T("\"aud\":\"\"", ""), &c), PNS_V_BAD_AUD);
	ck_assert_int_eq(claims(T("\"aud\":[\"c1\",7]", ",\"azp\":\"c1\""), &c),
	    PNS_V_BAD_AUD);
	ck_assert_int_eq(claims("{\"iss\":\"i\",\"iat\":1742382677,"
	    "\"exp\":1742386277}", &c), PNS_V_BAD_AUD);
}
END_TEST

START_TEST(client_id_from_azp)
{
	struct json_object	*o = json_tokener_parse(T("\"aud\":[\"c1\",\"c2\"]",
				    ",\"azp\":\"c2\""));
	struct pns_claims	 c;

	ck_assert_int_eq(pns_claims_check(o, NOW, 10, &c), PNS_V_OK);
	ck_assert_str_eq(c.client_id, "c2");
	ck_assert_str_eq(c.iss, "i");
	json_object_put(o);
}
END_TEST

START_TEST(time_rules)
{
	struct pns_claims	c;
	char			j[256];

#define TM(iat, exp, extra) (snprintf(j, sizeof(j), "{\"iss\":\"i\"," \
	"\"aud\":\"c\",\"iat\":%ld,\"exp\":%ld%s}", (long)(iat), (long)(exp), \
	extra), claims(j, &c))
	ck_assert_int_eq(TM(NOW - 100, NOW - 11, ""), PNS_V_EXPIRED);
	ck_assert_int_eq(TM(NOW - 100, NOW - 10, ""), PNS_V_OK);
	ck_assert_int_eq(TM(NOW + 11, NOW + 100, ""), PNS_V_IAT_FUTURE);
	ck_assert_int_eq(TM(NOW + 10, NOW + 100, ""), PNS_V_OK);
	ck_assert_int_eq(TM(NOW, NOW + 100, ",\"nbf\":1742382800"),
	    PNS_V_IAT_FUTURE);
	ck_assert_int_eq(TM(NOW, NOW + 100, ",\"nbf\":1742382700"), PNS_V_OK);
	ck_assert_int_eq(claims("{\"iss\":\"i\",\"aud\":\"c\",\"iat\":1}", &c),
	    PNS_V_EXPIRED);
	ck_assert_int_eq(claims("{\"iss\":\"i\",\"aud\":\"c\",\"exp\":1742386277}",
	    &c), PNS_V_IAT_FUTURE);
	ck_assert_int_eq(claims("{\"iss\":\"i\",\"aud\":\"c\",\"iat\":1742382677,"
	    "\"exp\":\"1742386277\"}", &c), PNS_V_EXPIRED);
	ck_assert_int_eq(claims("{\"aud\":\"c\",\"iat\":1742382677,"
	    "\"exp\":1742386277}", &c), PNS_V_BAD_CLAIMS);
#undef TM
}
END_TEST

START_TEST(keyset_keeps_rs256_signature_keys)
{
	struct tkey		small;
	struct pns_keyset	ks;
	char			doc[12288], a[2048], b[2048], c[2048], d[2048];
	char			e[2048];

	tkey_new(&small, 1024);
	tkey_jwk(&k1, "good", ",\"alg\":\"RS256\",\"use\":\"sig\"", a, sizeof(a));
	tkey_jwk(&k1, "rs512", ",\"alg\":\"RS512\"", b, sizeof(b));
	tkey_jwk(&k1, "enc", ",\"use\":\"enc\"", c, sizeof(c));
	tkey_jwk(&small, "small", "", d, sizeof(d));
	tkey_jwk(&k2, "bare", "", e, sizeof(e));
	(void)snprintf(doc, sizeof(doc), "{\"keys\":[%s,%s,%s,%s,%s,"
	    "{\"kty\":\"EC\",\"kid\":\"ec\"}]}", a, b, c, d, e);
	pns_keyset_init(&ks);
	ck_assert_int_eq(pns_keyset_parse(&ks, doc, strlen(doc), NULL), 0);
	ck_assert_uint_eq(ks.n, 2);
	ck_assert_ptr_nonnull(pns_keyset_find(&ks, "good"));
	ck_assert_ptr_nonnull(pns_keyset_find(&ks, "bare"));
	ck_assert_ptr_null(pns_keyset_find(&ks, "rs512"));
	ck_assert_ptr_null(pns_keyset_find(&ks, "enc"));
	ck_assert_ptr_null(pns_keyset_find(&ks, "small"));
	ck_assert_ptr_null(pns_keyset_find(&ks, "ec"));
	/* A set with nothing usable fails as a whole. */
	(void)snprintf(doc, sizeof(doc), "{\"keys\":[%s,%s]}", b, d);
	ck_assert_int_eq(pns_keyset_parse(&ks, doc, strlen(doc), NULL), -1);
	ck_assert_int_eq(pns_keyset_parse(&ks, "{}", 2, NULL), -1);
	pns_keyset_release(&ks);
	tkey_free(&small);
}
END_TEST

static Suite *
jws_suite(void)
{
	Suite	*s = suite_create("jws");
	TCase	*tc = tcase_create("jws");

	/* Keys are made once: RSA key generation is slow under valgrind. */
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, good_token_verifies);
	tcase_add_test(tc, hs256_with_public_pem_refused);
	tcase_add_test(tc, header_rules);
	tcase_add_test(tc, structure_rules);
	tcase_add_test(tc, audience_rules);
	tcase_add_test(tc, client_id_from_azp);
	tcase_add_test(tc, time_rules);
	tcase_add_test(tc, keyset_keeps_rs256_signature_keys);
	suite_add_tcase(s, tc);
	return s;
}

TEST_MAIN(jws_suite)
