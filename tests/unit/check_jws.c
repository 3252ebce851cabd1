/* SPDX-License-Identifier: ISC */
/* Compact JWS parsing, the RS256 pin, signatures, registered claims and
 * JWK Sets.  Good tokens are signed by libjwt (an implementation
 * independent of the verifier); malicious ones are assembled by hand. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "pns_jwk.h"
#include "pns_jws.h"
#include "unit.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define NOW	1742382700L
#define CLAIMS	"{\"iss\":\"https://p.example\",\"aud\":\"c1\",\"iat\":1742382677," \
		"\"exp\":1742386277}"
#define HDR	"{\"alg\":\"RS256\",\"kid\":\"k1\"}"

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

/* Parses tok into a scratch jws and returns the verdict. */
static enum pns_verdict
verdict(const char *tok)
{
	struct pns_jws		jws;
	enum pns_verdict	v;

	pns_jws_init(&jws);
	v = parse(tok, &jws);
	pns_jws_release(&jws);
	return v;
}

/* As tkey_sign with another algorithm (libjwt signs, we never do). */
static char *
sign_alg(const struct tkey *t, jwt_alg_t alg, const char *kid,
    const char *claims)
{
	jwt_t	*jwt;
	char	*out;

	if (jwt_new(&jwt) != 0 || jwt_add_grants_json(jwt, claims) != 0 ||
	    jwt_add_header(jwt, "kid", kid) != 0 ||
	    jwt_set_alg(jwt, alg, (const unsigned char *)t->pem,
	    (int)strlen(t->pem)) != 0 || (out = jwt_encode_str(jwt)) == NULL)
		abort();
	jwt_free(jwt);
	return out;
}

/* Sets the lowest bit of the last character of the segment ending at
 * end: a padding bit when the segment's length is not a multiple of 4. */
static void
set_trailing_bit(char *end)
{
	static const char	a[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const char		*p = strchr(a, end[-1]);

	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq((p - a) & 1, 0);
	end[-1] = a[(p - a) | 1];
}

/* ---- signatures ------------------------------------------------------ */

START_TEST(good_token_verifies)
{
	struct pns_jws	 jws;
	char		*tok = tkey_sign(&k1, "k1", CLAIMS);

	pns_jws_init(&jws);
	ck_assert_int_eq(parse(tok, &jws), PNS_V_OK);
	ck_assert_str_eq(jws.kid, "k1");
	ck_assert_uint_eq(jws.sig_len, 256);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(
	    jws.payload, "iss")), "https://p.example");
	ck_assert_int_eq(pns_jws_verify(&jws, k1.pkey), 1);
	/* Another key, no key, and one flipped signature byte: no. */
	ck_assert_int_eq(pns_jws_verify(&jws, k2.pkey), 0);
	ck_assert_int_eq(pns_jws_verify(&jws, NULL), 0);
	jws.sig[10] ^= 1;
	ck_assert_int_eq(pns_jws_verify(&jws, k1.pkey), 0);
	jws.sig[10] ^= 1;
	ck_assert_int_eq(pns_jws_verify(&jws, k1.pkey), 1);
	/* A signature one byte short is not tried. */
	jws.sig_len--;
	ck_assert_int_eq(pns_jws_verify(&jws, k1.pkey), 0);
	pns_jws_release(&jws);
	free(tok);
}
END_TEST

/* The signature covers header and payload: moving a genuine signature
 * onto another payload or header does not verify. */
START_TEST(signature_binds_header_and_payload)
{
	char		*good = tkey_sign(&k1, "k1", CLAIMS);
	char		*other = tkey_sign(&k1, "k1", "{\"iss\":\"https://evil\","
			    "\"aud\":\"c1\",\"iat\":1742382677,\"exp\":1742386277}");
	char		*kid2 = tkey_sign(&k1, "k2", CLAIMS);
	char		 spliced[4096];
	const char	*g1 = strchr(good, '.'), *g2 = strrchr(good, '.');
	const char	*o1 = strchr(other, '.'), *o2 = strrchr(other, '.');
	const char	*h2 = strchr(kid2, '.');
	struct pns_jws	 jws;

	pns_jws_init(&jws);
	/* Positive control: the good token, and the other one, verify. */
	ck_assert_int_eq(parse(good, &jws), PNS_V_OK);
	ck_assert_int_eq(pns_jws_verify(&jws, k1.pkey), 1);
	ck_assert_int_eq(parse(other, &jws), PNS_V_OK);
	ck_assert_int_eq(pns_jws_verify(&jws, k1.pkey), 1);
	/* good's header, other's payload, good's signature. */
	(void)snprintf(spliced, sizeof(spliced), "%.*s%.*s%s",
	    (int)(g1 - good), good, (int)(o2 - o1), o1, g2);
	ck_assert_int_eq(parse(spliced, &jws), PNS_V_OK);
	ck_assert_int_eq(pns_jws_verify(&jws, k1.pkey), 0);
	/* Another header (kid k2), good's payload and signature. */
	(void)snprintf(spliced, sizeof(spliced), "%.*s%s",
	    (int)(h2 - kid2), kid2, g1);
	ck_assert_int_eq(parse(spliced, &jws), PNS_V_OK);
	ck_assert_int_eq(pns_jws_verify(&jws, k1.pkey), 0);
	pns_jws_release(&jws);
	free(good);
	free(other);
	free(kid2);
}
END_TEST

/*
 * The classic confusion: an attacker signs with HS256, using the
 * platform's public key PEM as the HMAC secret.  A verifier that takes
 * the algorithm from the header and hands the "key" to HMAC accepts it
 * (Debian's libjwt 1.10.2 does exactly that).  The header must say
 * RS256 before any key is used.
 */
START_TEST(hs256_with_public_pem_refused)
{
	struct pns_jws	 jws;
	char		*tok = tkey_hs256("{\"alg\":\"HS256\",\"kid\":\"k1\"}",
			    CLAIMS, k1.pub_pem);
	char		*twin = tkey_sign(&k1, "k1", CLAIMS);

	pns_jws_init(&jws);
	ck_assert_int_eq(parse(tok, &jws), PNS_V_BAD_ALG);
	ck_assert_ptr_null(jws.input);
	ck_assert_int_eq(pns_jws_verify(&jws, k1.pkey), 0);
	/* Positive control: the same claims, really signed RS256. */
	ck_assert_int_eq(parse(twin, &jws), PNS_V_OK);
	ck_assert_int_eq(pns_jws_verify(&jws, k1.pkey), 1);
	pns_jws_release(&jws);
	free(tok);
	free(twin);
}
END_TEST

/*
 * A token correctly signed by the right key, but with RS512: a valid
 * signature does not make a token acceptable when the algorithm is not
 * the pinned one, so the verdict comes before any key is looked at.
 */
START_TEST(rs512_with_right_key_refused)
{
	char	*rs512 = sign_alg(&k1, JWT_ALG_RS512, "k1", CLAIMS);
	char	*rs256 = sign_alg(&k1, JWT_ALG_RS256, "k1", CLAIMS);

	ck_assert_int_eq(verdict(rs512), PNS_V_BAD_ALG);
	ck_assert_int_eq(verdict(rs256), PNS_V_OK);
	free(rs512);
	free(rs256);
}
END_TEST

/* ---- header rules ---------------------------------------------------- */

START_TEST(header_rules)
{
	static const struct {
		const char		*header;
		enum pns_verdict	 want;
	} cases[] = {
		{ HDR, PNS_V_OK },
		{ "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"kid\":\"k1\"}", PNS_V_OK },
		{ "{\"alg\":\"none\",\"kid\":\"k1\"}", PNS_V_BAD_ALG },
		{ "{\"alg\":\"None\",\"kid\":\"k1\"}", PNS_V_BAD_ALG },
		{ "{\"alg\":\"HS256\",\"kid\":\"k1\"}", PNS_V_BAD_ALG },
		{ "{\"alg\":\"RS512\",\"kid\":\"k1\"}", PNS_V_BAD_ALG },
		{ "{\"alg\":\"PS256\",\"kid\":\"k1\"}", PNS_V_BAD_ALG },
		{ "{\"alg\":\"ES256\",\"kid\":\"k1\"}", PNS_V_BAD_ALG },
		{ "{\"alg\":\"rs256\",\"kid\":\"k1\"}", PNS_V_BAD_ALG },
		{ "{\"alg\":\"RS256 \",\"kid\":\"k1\"}", PNS_V_BAD_ALG },
		{ "{\"alg\":\"RS256\\u0000\",\"kid\":\"k1\"}", PNS_V_BAD_ALG },
		{ "{\"alg\":[\"RS256\"],\"kid\":\"k1\"}", PNS_V_BAD_ALG },
		{ "{\"alg\":null,\"kid\":\"k1\"}", PNS_V_BAD_ALG },
		{ "{\"kid\":\"k1\"}", PNS_V_BAD_ALG },
		{ "{\"alg\":\"RS256\"}", PNS_V_NO_KID },
		{ "{\"alg\":\"RS256\",\"kid\":\"\"}", PNS_V_NO_KID },
		{ "{\"alg\":\"RS256\",\"kid\":7}", PNS_V_NO_KID },
		{ "{\"alg\":\"RS256\",\"kid\":\"k\\u00001\"}", PNS_V_NO_KID },
		{ "{\"alg\":\"RS256\",\"kid\":\"k1\",\"crit\":[\"b64\"]}",
		    PNS_V_BAD_HEADER },
		{ "{\"alg\":\"RS256\",\"kid\":\"k1\",\"crit\":[]}",
		    PNS_V_BAD_HEADER },
		{ "{\"crit\":[\"exp\"],\"alg\":\"none\"}", PNS_V_BAD_HEADER },
		{ "[\"RS256\"]", PNS_V_BAD_HEADER },
		{ "\"RS256\"", PNS_V_BAD_HEADER },
		{ "{\"alg\":\"RS256\",\"kid\":\"k1\"", PNS_V_BAD_HEADER },
		{ "{\"alg\":\"RS256\",\"kid\":\"k1\"}x", PNS_V_BAD_HEADER },
		{ "{\"alg\":'RS256',\"kid\":\"k1\"}", PNS_V_BAD_HEADER },
		{ "{\"alg\":\"RS256\",\"kid\":\"\xff\"}", PNS_V_BAD_HEADER },
		/* Nesting: the header is shallow. */
		{ "{\"alg\":\"RS256\",\"kid\":\"k1\",\"x\":{\"y\":1}}", PNS_V_OK },
		{ "{\"alg\":\"RS256\",\"kid\":\"k1\",\"x\":{\"y\":{\"z\":{\"w\":"
		    "{\"v\":1}}}}}", PNS_V_BAD_HEADER },
	};
	unsigned char	sig[256];
	char		*tok;
	size_t		i;

	memset(sig, 0x5a, sizeof(sig));
	for (i = 0; i < NELEM(cases); i++) {
		tok = tkey_raw(cases[i].header, CLAIMS, sig, sizeof(sig));
		ck_assert_msg(verdict(tok) == cases[i].want, "%s: got %s",
		    cases[i].header, pns_verdict_str(verdict(tok)));
		free(tok);
	}
}
END_TEST

/* An unsigned token (alg none, empty signature) is not a compact JWS in
 * our sense: malformed before its header is even read. */
START_TEST(alg_none_unsigned)
{
	char	*none = tkey_raw("{\"alg\":\"none\"}", CLAIMS, NULL, 0);
	char	*none_kid = tkey_raw("{\"alg\":\"none\",\"kid\":\"k1\"}", CLAIMS,
		    NULL, 0);
	char	*signed_tok = tkey_sign(&k1, "k1", CLAIMS);

	ck_assert_int_eq(none[strlen(none) - 1], '.');
	ck_assert_int_eq(verdict(none), PNS_V_MALFORMED);
	ck_assert_int_eq(verdict(none_kid), PNS_V_MALFORMED);
	ck_assert_int_eq(verdict(signed_tok), PNS_V_OK);
	free(none);
	free(none_kid);
	free(signed_tok);
}
END_TEST

/* ---- structure ------------------------------------------------------- */

START_TEST(structure_rules)
{
	static const char *const bad[] = {
		"", ".", "..", "...", "abc", "a.b", "a.b.c.d", ".eyJ9.c",
		"eyJ9..c", "eyJ9.eyJ9.", "eyJ9.eyJ9.c*", "ey J9.eyJ9.c",
		"eyJ9=.eyJ9.c", "eyJ9.eyJ9.c.", "eyJ9.eyJ9.c\n",
	};
	char	*good = tkey_sign(&k1, "k1", CLAIMS);
	size_t	 i;

	/* Positive control: three non-empty base64url segments. */
	ck_assert_int_eq(verdict(good), PNS_V_OK);
	free(good);
	for (i = 0; i < NELEM(bad); i++)
		ck_assert_msg(verdict(bad[i]) == PNS_V_MALFORMED, "\"%s\"",
		    bad[i]);
}
END_TEST

/* A genuine token with anything added, or a segment re-spelled, is
 * refused: three dots, bad base64url, non-zero trailing bits. */
START_TEST(altered_good_token)
{
	char	*good = tkey_sign(&k1, "k1", CLAIMS);
	size_t	 len = strlen(good);
	char	*t = malloc(len + 32);
	char	*d1, *d2;

	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(verdict(good), PNS_V_OK);
	/* A fourth and fifth segment (JWE has five). */
	(void)snprintf(t, len + 32, "%s.AAAA", good);
	ck_assert_int_eq(verdict(t), PNS_V_MALFORMED);
	(void)snprintf(t, len + 32, "%s.AAAA.AAAA", good);
	ck_assert_int_eq(verdict(t), PNS_V_MALFORMED);
	/* Padding after the signature. */
	(void)snprintf(t, len + 32, "%s==", good);
	ck_assert_int_eq(verdict(t), PNS_V_MALFORMED);
	/* Standard base64 characters in the payload. */
	memcpy(t, good, len + 1);
	d1 = strchr(t, '.');
	d1[3] = '+';
	ck_assert_int_eq(verdict(t), PNS_V_MALFORMED);
	d1[3] = '/';
	ck_assert_int_eq(verdict(t), PNS_V_MALFORMED);
	/* Non-zero trailing bits in the signature: 256 bytes leave 4. */
	memcpy(t, good, len + 1);
	set_trailing_bit(t + len);
	ck_assert_int_eq(verdict(t), PNS_V_MALFORMED);
	/* ...and in the header, when its length leaves padding bits. */
	free(good);
	good = tkey_raw(HDR, "{\"iss\":\"i\"}", (const unsigned char *)"0123456789",
	    10);
	len = strlen(good);
	ck_assert_int_eq(verdict(good), PNS_V_OK);
	memcpy(t, good, len + 1);
	d1 = strchr(t, '.');
	ck_assert_int_ne((d1 - t) % 4, 0);
	set_trailing_bit(d1);
	ck_assert_int_eq(verdict(t), PNS_V_MALFORMED);
	memcpy(t, good, len + 1);
	d2 = strrchr(t, '.');
	ck_assert_int_ne((d2 - strchr(t, '.') - 1) % 4, 0);
	set_trailing_bit(d2);
	ck_assert_int_eq(verdict(t), PNS_V_MALFORMED);
	free(good);
	free(t);
}
END_TEST

/* Only len bytes are the token: what follows in memory is not read. */
START_TEST(parse_uses_len)
{
	struct pns_jws	 jws;
	char		*good = tkey_sign(&k1, "k1", CLAIMS);
	size_t		 len = strlen(good);
	char		*t = malloc(len + 16);

	ck_assert_ptr_nonnull(t);
	(void)snprintf(t, len + 16, "%s.junk", good);
	pns_jws_init(&jws);
	ck_assert_int_eq(pns_jws_parse(&jws, t, len), PNS_V_OK);
	ck_assert_int_eq(pns_jws_verify(&jws, k1.pkey), 1);
	ck_assert_int_eq(pns_jws_parse(&jws, t, len + 5), PNS_V_MALFORMED);
	pns_jws_release(&jws);
	free(good);
	free(t);
}
END_TEST

/* A header longer than any real one is refused unread; one exactly at
 * the limit is read. */
START_TEST(header_size_limit)
{
	const char	 prefix[] = "{\"alg\":\"RS256\",\"kid\":\"k1\",\"x\":\"";
	size_t		 raw = PNS_JWS_HEADER_MAX / 4 * 3;	/* 1536 bytes */
	char		 hdr[PNS_JWS_HEADER_MAX], big[PNS_JWS_HEADER_MAX + 64];
	unsigned char	 sig[256];
	char		*tok;

	memset(sig, 1, sizeof(sig));
	ck_assert_uint_eq(pns_b64url_enclen(raw), PNS_JWS_HEADER_MAX);
	memcpy(hdr, prefix, sizeof(prefix) - 1);
	memset(hdr + sizeof(prefix) - 1, 'p', raw - (sizeof(prefix) - 1) - 2);
	memcpy(hdr + raw - 2, "\"}", 3);
	ck_assert_uint_eq(strlen(hdr), raw);
	tok = tkey_raw(hdr, CLAIMS, sig, sizeof(sig));
	ck_assert_int_eq(verdict(tok), PNS_V_OK);
	free(tok);
	/* One byte more: the encoded header passes the limit. */
	memcpy(hdr + raw - 2, "p\"}", 4);
	tok = tkey_raw(hdr, CLAIMS, sig, sizeof(sig));
	ck_assert_int_eq(verdict(tok), PNS_V_MALFORMED);
	free(tok);
	memset(big, 'A', sizeof(big));
	memcpy(big + PNS_JWS_HEADER_MAX + 2, ".e.c", 5);
	ck_assert_int_eq(verdict(big), PNS_V_MALFORMED);
}
END_TEST

/* The whole token is bounded: a big signed token passes, a bigger one
 * (still validly signed) is refused as malformed. */
START_TEST(token_size_limit)
{
	struct pns_jws	 jws;
	size_t		 n;
	char		*claims, *tok;

	claims = malloc(PNS_JWT_MAX);
	ck_assert_ptr_nonnull(claims);
	n = 150000;
	(void)snprintf(claims, PNS_JWT_MAX, "{\"iss\":\"i\",\"x\":\"%0*d\"}",
	    (int)n, 0);
	tok = tkey_sign(&k1, "k1", claims);
	ck_assert_uint_lt(strlen(tok), PNS_JWT_MAX);
	pns_jws_init(&jws);
	ck_assert_int_eq(parse(tok, &jws), PNS_V_OK);
	ck_assert_int_eq(pns_jws_verify(&jws, k1.pkey), 1);
	free(tok);
	n = 200000;
	(void)snprintf(claims, PNS_JWT_MAX, "{\"iss\":\"i\",\"x\":\"%0*d\"}",
	    (int)n, 0);
	tok = tkey_sign(&k1, "k1", claims);
	ck_assert_uint_gt(strlen(tok), PNS_JWT_MAX);
	ck_assert_int_eq(parse(tok, &jws), PNS_V_MALFORMED);
	pns_jws_release(&jws);
	free(tok);
	free(claims);
}
END_TEST

/* The payload must be a JSON object; nothing else is claims. */
START_TEST(payload_rules)
{
	static const struct {
		const char		*payload;
		enum pns_verdict	 want;
	} cases[] = {
		{ CLAIMS, PNS_V_OK },
		{ "{}", PNS_V_OK },
		{ "[1,2]", PNS_V_BAD_CLAIMS },
		{ "5", PNS_V_BAD_CLAIMS },
		{ "\"iss\"", PNS_V_BAD_CLAIMS },
		{ "null", PNS_V_BAD_CLAIMS },
		{ "{\"iss\":", PNS_V_BAD_CLAIMS },
		{ "{\"iss\":\"i\"} {}", PNS_V_BAD_CLAIMS },
		{ "{\"iss\":\"i\",}", PNS_V_BAD_CLAIMS },
		{ "{\"iss\":\"\xc3\"}", PNS_V_BAD_CLAIMS },
	};
	unsigned char	sig[256];
	char		*tok, deep[256], *p;
	size_t		i;
	int		d;

	memset(sig, 0x5a, sizeof(sig));
	for (i = 0; i < NELEM(cases); i++) {
		tok = tkey_raw(HDR, cases[i].payload, sig, sizeof(sig));
		ck_assert_msg(verdict(tok) == cases[i].want, "%s",
		    cases[i].payload);
		free(tok);
	}
	/* Depth: 31 nested objects are claims, 32 are not. */
	for (d = 31; d <= 32; d++) {
		p = deep;
		for (i = 0; i < (size_t)d; i++)
			p += snprintf(p, 8, "{\"a\":");
		p += snprintf(p, 4, "1");
		for (i = 0; i < (size_t)d; i++)
			*p++ = '}';
		*p = '\0';
		tok = tkey_raw(HDR, deep, sig, sizeof(sig));
		ck_assert_int_eq(verdict(tok), d == 31 ? PNS_V_OK :
		    PNS_V_BAD_CLAIMS);
		free(tok);
	}
}
END_TEST

/* ---- registered claims ----------------------------------------------- */

/* Checks json at NOW with 10 s of leeway; client_id copied to cid. */
static enum pns_verdict
claims(const char *json, char *cid, size_t cidsz)
{
	struct json_object	*o = json_tokener_parse(json);
	struct pns_claims	 c;
	enum pns_verdict	 v;

	ck_assert_msg(o != NULL, "test JSON: %s", json);
	v = pns_claims_check(o, NOW, 10, &c);
	if (cid != NULL)
		(void)snprintf(cid, cidsz, "%s", v == PNS_V_OK && c.client_id ?
		    c.client_id : "");
	json_object_put(o);
	return v;
}

#define T(aud, azp) "{\"iss\":\"i\"," aud azp ",\"iat\":1742382677,\"exp\":1742386277}"

START_TEST(audience_rules)
{
	static const struct {
		const char		*json;
		enum pns_verdict	 want;
		const char		*client_id;
	} cases[] = {
		{ T("\"aud\":\"c1\"", ""), PNS_V_OK, "c1" },
		{ T("\"aud\":[\"c1\"]", ""), PNS_V_OK, "c1" },
		/* Several audiences: azp says which, and must be one. */
		{ T("\"aud\":[\"c1\",\"c2\"]", ""), PNS_V_BAD_AZP, NULL },
		{ T("\"aud\":[\"c1\",\"c2\"]", ",\"azp\":\"c2\""), PNS_V_OK, "c2" },
		{ T("\"aud\":[\"c1\",\"c2\"]", ",\"azp\":\"c1\""), PNS_V_OK, "c1" },
		{ T("\"aud\":[\"c1\",\"c2\"]", ",\"azp\":\"c3\""), PNS_V_BAD_AZP,
		    NULL },
		{ T("\"aud\":[\"c1\",\"c2\"]", ",\"azp\":5"), PNS_V_BAD_AZP, NULL },
		/* azp beside a single audience must agree with it. */
		{ T("\"aud\":\"c1\"", ",\"azp\":\"c1\""), PNS_V_OK, "c1" },
		{ T("\"aud\":\"c1\"", ",\"azp\":\"c2\""), PNS_V_BAD_AZP, NULL },
		{ T("\"aud\":[\"c1\"]", ",\"azp\":\"c1\""), PNS_V_OK, "c1" },
		{ T("\"aud\":[\"c1\"]", ",\"azp\":\"c2\""), PNS_V_BAD_AZP, NULL },
		{ T("\"aud\":\"c1\"", ",\"azp\":null"), PNS_V_BAD_AZP, NULL },
		/* aud is a non-empty string or array of them. */
		{ T("\"aud\":5", ""), PNS_V_BAD_AUD, NULL },
		{ T("\"aud\":null", ""), PNS_V_BAD_AUD, NULL },
		{ T("\"aud\":{\"c1\":1}", ""), PNS_V_BAD_AUD, NULL },
		{ T("\"aud\":[]", ""), PNS_V_BAD_AUD, NULL },
		{ T("\"aud\":\"\"", ""), PNS_V_BAD_AUD, NULL },
		{ T("\"aud\":[\"\"]", ""), PNS_V_BAD_AUD, NULL },
		{ T("\"aud\":[5]", ""), PNS_V_BAD_AUD, NULL },
		{ T("\"aud\":[\"c1\",7]", ",\"azp\":\"c1\""), PNS_V_BAD_AUD, NULL },
		{ T("\"aud\":\"c\\u00001\"", ""), PNS_V_BAD_AUD, NULL },
		{ "{\"iss\":\"i\",\"iat\":1742382677,\"exp\":1742386277}",
		    PNS_V_BAD_AUD, NULL },
	};
	char	cid[64];
	size_t	i;

	for (i = 0; i < NELEM(cases); i++) {
		ck_assert_msg(claims(cases[i].json, cid, sizeof(cid)) ==
		    cases[i].want, "%s", cases[i].json);
		if (cases[i].client_id != NULL)
			ck_assert_str_eq(cid, cases[i].client_id);
	}
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

START_TEST(issuer_rules)
{
	ck_assert_int_eq(claims("{\"iss\":\"i\",\"aud\":\"c\",\"iat\":1742382677,"
	    "\"exp\":1742386277}", NULL, 0), PNS_V_OK);
	ck_assert_int_eq(claims("{\"aud\":\"c\",\"iat\":1742382677,"
	    "\"exp\":1742386277}", NULL, 0), PNS_V_BAD_CLAIMS);
	ck_assert_int_eq(claims("{\"iss\":\"\",\"aud\":\"c\",\"iat\":1742382677,"
	    "\"exp\":1742386277}", NULL, 0), PNS_V_BAD_CLAIMS);
	ck_assert_int_eq(claims("{\"iss\":5,\"aud\":\"c\",\"iat\":1742382677,"
	    "\"exp\":1742386277}", NULL, 0), PNS_V_BAD_CLAIMS);
	ck_assert_int_eq(claims("{\"iss\":[\"i\"],\"aud\":\"c\","
	    "\"iat\":1742382677,\"exp\":1742386277}", NULL, 0), PNS_V_BAD_CLAIMS);
	/* Checks run in order: no iss wins over a bad aud and expiry. */
	ck_assert_int_eq(claims("{\"aud\":5,\"iat\":1,\"exp\":1}", NULL, 0),
	    PNS_V_BAD_CLAIMS);
	ck_assert_int_eq(claims("{\"iss\":\"i\",\"aud\":5,\"iat\":1,\"exp\":1}",
	    NULL, 0), PNS_V_BAD_AUD);
}
END_TEST

START_TEST(time_rules)
{
	char	j[256];

#define TM(iat, exp, extra) (snprintf(j, sizeof(j), "{\"iss\":\"i\"," \
	"\"aud\":\"c\",\"iat\":%ld,\"exp\":%ld%s}", (long)(iat), (long)(exp), \
	extra), claims(j, NULL, 0))
	/* exp: more than leeway in the past is expired, leeway is not. */
	ck_assert_int_eq(TM(NOW - 100, NOW - 11, ""), PNS_V_EXPIRED);
	ck_assert_int_eq(TM(NOW - 100, NOW - 10, ""), PNS_V_OK);
	/* iat: more than leeway in the future is refused. */
	ck_assert_int_eq(TM(NOW + 11, NOW + 100, ""), PNS_V_IAT_FUTURE);
	ck_assert_int_eq(TM(NOW + 10, NOW + 100, ""), PNS_V_OK);
	/* nbf: the same rule as iat. */
	ck_assert_int_eq(TM(NOW, NOW + 100, ",\"nbf\":1742382711"),
	    PNS_V_IAT_FUTURE);
	ck_assert_int_eq(TM(NOW, NOW + 100, ",\"nbf\":1742382710"), PNS_V_OK);
	ck_assert_int_eq(TM(NOW, NOW + 100, ",\"nbf\":\"1742382700\""),
	    PNS_V_IAT_FUTURE);
	ck_assert_int_eq(TM(NOW, NOW + 100, ",\"nbf\":1742382700.0"), PNS_V_OK);
#undef TM
	/* Missing or non-numeric exp and iat. */
	ck_assert_int_eq(claims("{\"iss\":\"i\",\"aud\":\"c\",\"iat\":1}", NULL,
	    0), PNS_V_EXPIRED);
	ck_assert_int_eq(claims("{\"iss\":\"i\",\"aud\":\"c\",\"exp\":1742386277}",
	    NULL, 0), PNS_V_IAT_FUTURE);
	ck_assert_int_eq(claims("{\"iss\":\"i\",\"aud\":\"c\",\"iat\":1742382677,"
	    "\"exp\":\"1742386277\"}", NULL, 0), PNS_V_EXPIRED);
	ck_assert_int_eq(claims("{\"iss\":\"i\",\"aud\":\"c\",\"iat\":null,"
	    "\"exp\":1742386277}", NULL, 0), PNS_V_IAT_FUTURE);
	/* Fractions count: 10.5 s past exp is more than 10 s. */
	ck_assert_int_eq(claims("{\"iss\":\"i\",\"aud\":\"c\",\"iat\":1742382677,"
	    "\"exp\":1742382689.5}", NULL, 0), PNS_V_EXPIRED);
	ck_assert_int_eq(claims("{\"iss\":\"i\",\"aud\":\"c\",\"iat\":1742382677,"
	    "\"exp\":1742382690.5}", NULL, 0), PNS_V_OK);
}
END_TEST

/*
 * pnsctl notices prune forgets a notice id once pns_claims_live says its
 * token can no longer be accepted; were it to say so of a token that
 * pns_claims_check still accepts, a replay of that token would be stored
 * and delivered again.  The two must agree on every exp, at the edge
 * and on either side of it.
 */
START_TEST(live_agrees_with_check)
{
	static const struct {
		const char	*exp;	/* as written in the payload */
		int		 live;	/* at NOW with 10 s of leeway */
	} cases[] = {
		{ "1742382689", 0 },		/* 11 s past exp */
		{ "1742382689.5", 0 },		/* 10.5 s past */
		{ "1742382690", 1 },		/* exactly the leeway */
		{ "1742382690.5", 1 },
		{ "1742382700", 1 },
		{ "1745000000", 1 },		/* a month ahead */
		{ "1e300", 1 },
		{ "0", 0 },
		{ "-1742382700", 0 },
		{ "\"1745000000\"", -1 },	/* not a number */
		{ "null", -1 },
		{ "[1745000000]", -1 },
		{ NULL, -1 },			/* no exp */
	};
	struct json_object	*o;
	struct pns_claims	 c;
	char			 j[256];
	size_t			 i;

	for (i = 0; i < NELEM(cases); i++) {
		if (cases[i].exp != NULL)
			(void)snprintf(j, sizeof(j), "{\"iss\":\"i\","
			    "\"aud\":\"c\",\"iat\":1742382600,\"exp\":%s}",
			    cases[i].exp);
		else
			(void)snprintf(j, sizeof(j), "{\"iss\":\"i\","
			    "\"aud\":\"c\",\"iat\":1742382600}");
		ck_assert_ptr_nonnull(o = json_tokener_parse(j));
		ck_assert_msg(pns_claims_live(o, NOW, 10) == cases[i].live,
		    "%s", j);
		ck_assert_msg((pns_claims_check(o, NOW, 10, &c) == PNS_V_OK) ==
		    (cases[i].live == 1), "%s", j);
		/* Leeway counts as that much less time gone by. */
		ck_assert_int_eq(pns_claims_live(o, NOW - 10, 0),
		    pns_claims_live(o, NOW, 10));
		json_object_put(o);
	}
}
END_TEST

/* ---- JWK Sets -------------------------------------------------------- */

START_TEST(keyset_keeps_rs256_signature_keys)
{
	struct tkey		small;
	struct pns_keyset	ks;
	struct pns_err		err;
	char			doc[16384], a[2048], b[2048], c[2048], d[2048];
	char			e[2048], f[2048], g[2048];

	tkey_new(&small, 1024);
	tkey_jwk(&k1, "good", ",\"alg\":\"RS256\",\"use\":\"sig\"", a, sizeof(a));
	tkey_jwk(&k1, "rs512", ",\"alg\":\"RS512\"", b, sizeof(b));
	tkey_jwk(&k1, "enc", ",\"use\":\"enc\"", c, sizeof(c));
	tkey_jwk(&small, "small", "", d, sizeof(d));
	tkey_jwk(&k2, "bare", "", e, sizeof(e));
	tkey_jwk(&k1, "ps256", ",\"alg\":\"PS256\",\"use\":\"sig\"", f, sizeof(f));
	(void)snprintf(g, sizeof(g), "{\"kty\":\"rsa\",\"kid\":\"lower\","
	    "\"n\":\"%s\",\"e\":\"%s\"}", k1.n, k1.e);
	(void)snprintf(doc, sizeof(doc), "{\"keys\":[%s,%s,%s,%s,%s,%s,%s,"
	    "{\"kty\":\"EC\",\"kid\":\"ec\",\"crv\":\"P-256\"},"
	    "{\"kty\":\"oct\",\"kid\":\"oct\",\"k\":\"AAAA\"},"
	    "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"%s\"}, 5, \"x\"]}",
	    a, b, c, d, e, f, g, k1.n, k1.e);
	pns_keyset_init(&ks);
	ck_assert_int_eq(pns_keyset_parse(&ks, doc, strlen(doc), NULL), 0);
	ck_assert_uint_eq(ks.n, 2);
	ck_assert_ptr_nonnull(pns_keyset_find(&ks, "good"));
	ck_assert_ptr_nonnull(pns_keyset_find(&ks, "bare"));
	ck_assert_ptr_null(pns_keyset_find(&ks, "rs512"));
	ck_assert_ptr_null(pns_keyset_find(&ks, "ps256"));
	ck_assert_ptr_null(pns_keyset_find(&ks, "enc"));
	ck_assert_ptr_null(pns_keyset_find(&ks, "small"));
	ck_assert_ptr_null(pns_keyset_find(&ks, "lower"));
	ck_assert_ptr_null(pns_keyset_find(&ks, "ec"));
	ck_assert_ptr_null(pns_keyset_find(&ks, "oct"));
	ck_assert_ptr_null(pns_keyset_find(&ks, ""));
	ck_assert_ptr_null(pns_keyset_find(&ks, "goo"));
	/* A set with nothing usable fails as a whole (and is left empty). */
	(void)snprintf(doc, sizeof(doc), "{\"keys\":[%s,%s,%s]}", b, c, d);
	pns_err_clear(&err);
	ck_assert_int_eq(pns_keyset_parse(&ks, doc, strlen(doc), &err), -1);
	ck_assert_int_eq(err.code, PNS_EINVAL);
	ck_assert_uint_eq(ks.n, 0);
	ck_assert_ptr_null(pns_keyset_find(&ks, "good"));
	/* Its twin with the good key added parses. */
	(void)snprintf(doc, sizeof(doc), "{\"keys\":[%s,%s,%s,%s]}", b, c, d, a);
	ck_assert_int_eq(pns_keyset_parse(&ks, doc, strlen(doc), NULL), 0);
	ck_assert_uint_eq(ks.n, 1);
	pns_keyset_release(&ks);
	tkey_free(&small);
}
END_TEST

START_TEST(keyset_document_rules)
{
	static const char *const bad[] = {
		"", "{}", "[]", "{\"keys\":{}}", "{\"keys\":\"x\"}",
		"{\"keys\":[]}", "{\"keys\":[]} x", "not json",
	};
	struct pns_keyset	ks;
	char			doc[4096], a[2048];
	size_t			i;

	pns_keyset_init(&ks);
	for (i = 0; i < NELEM(bad); i++)
		ck_assert_msg(pns_keyset_parse(&ks, bad[i], strlen(bad[i]),
		    NULL) == -1, "%s", bad[i]);
	tkey_jwk(&k1, "k1", "", a, sizeof(a));
	(void)snprintf(doc, sizeof(doc), "{\"keys\":[%s]}\n", a);
	ck_assert_int_eq(pns_keyset_parse(&ks, doc, strlen(doc), NULL), 0);
	ck_assert_uint_eq(ks.n, 1);
	/* A parse over a filled set replaces it. */
	tkey_jwk(&k2, "k2", "", a, sizeof(a));
	(void)snprintf(doc, sizeof(doc), "{\"keys\":[%s]}", a);
	ck_assert_int_eq(pns_keyset_parse(&ks, doc, strlen(doc), NULL), 0);
	ck_assert_uint_eq(ks.n, 1);
	ck_assert_ptr_null(pns_keyset_find(&ks, "k1"));
	ck_assert_ptr_nonnull(pns_keyset_find(&ks, "k2"));
	pns_keyset_release(&ks);
}
END_TEST

/* The key built from a JWK is the signer's: tokens signed by libjwt with
 * the private key verify with it, and with the other key they do not. */
START_TEST(keyset_key_verifies_libjwt_token)
{
	struct pns_keyset	 ks;
	struct pns_jws		 jws;
	char			 doc[8192], a[2048], b[2048];
	char			*t1 = tkey_sign(&k1, "k1", CLAIMS);
	char			*t2 = tkey_sign(&k2, "k1", CLAIMS);

	tkey_jwk(&k1, "k1", ",\"alg\":\"RS256\"", a, sizeof(a));
	tkey_jwk(&k2, "k2", ",\"use\":\"sig\"", b, sizeof(b));
	(void)snprintf(doc, sizeof(doc), "{\"keys\":[%s,%s]}", a, b);
	pns_keyset_init(&ks);
	ck_assert_int_eq(pns_keyset_parse(&ks, doc, strlen(doc), NULL), 0);
	pns_jws_init(&jws);
	ck_assert_int_eq(parse(t1, &jws), PNS_V_OK);
	ck_assert_int_eq(pns_jws_verify(&jws, pns_keyset_find(&ks, jws.kid)),
	    1);
	ck_assert_int_eq(pns_jws_verify(&jws, pns_keyset_find(&ks, "k2")), 0);
	/* Signed by k2 but naming k1: the key named does not verify it. */
	ck_assert_int_eq(parse(t2, &jws), PNS_V_OK);
	ck_assert_int_eq(pns_jws_verify(&jws, pns_keyset_find(&ks, jws.kid)),
	    0);
	pns_jws_release(&jws);
	pns_keyset_release(&ks);
	free(t1);
	free(t2);
}
END_TEST

/* The first key with a kid wins; a later one cannot replace it. */
START_TEST(keyset_duplicate_kid)
{
	struct pns_keyset	 ks;
	struct pns_jws		 jws;
	char			 doc[8192], a[2048], b[2048];
	char			*t1 = tkey_sign(&k1, "dup", CLAIMS);

	tkey_jwk(&k1, "dup", "", a, sizeof(a));
	tkey_jwk(&k2, "dup", "", b, sizeof(b));
	(void)snprintf(doc, sizeof(doc), "{\"keys\":[%s,%s]}", a, b);
	pns_keyset_init(&ks);
	ck_assert_int_eq(pns_keyset_parse(&ks, doc, strlen(doc), NULL), 0);
	ck_assert_uint_eq(ks.n, 1);
	pns_jws_init(&jws);
	ck_assert_int_eq(parse(t1, &jws), PNS_V_OK);
	ck_assert_int_eq(pns_jws_verify(&jws, pns_keyset_find(&ks, "dup")), 1);
	pns_jws_release(&jws);
	pns_keyset_release(&ks);
	free(t1);
}
END_TEST

/* At most PNS_KEYSET_MAX keys are kept from one document. */
START_TEST(keyset_bounded)
{
	struct pns_keyset	 ks;
	size_t			 size = (PNS_KEYSET_MAX + 2) * 512 + 64, o, i;
	char			*doc = malloc(size), kid[16];

	ck_assert_ptr_nonnull(doc);
	o = (size_t)snprintf(doc, size, "{\"keys\":[");
	for (i = 0; i < PNS_KEYSET_MAX + 1; i++) {
		(void)snprintf(kid, sizeof(kid), "k%zu", i);
		o += (size_t)snprintf(doc + o, size - o, "%s{\"kty\":\"RSA\","
		    "\"kid\":\"%s\",\"n\":\"%s\",\"e\":\"%s\"}", i ? "," : "",
		    kid, k1.n, k1.e);
		ck_assert_uint_lt(o, size);
	}
	(void)snprintf(doc + o, size - o, "]}");
	pns_keyset_init(&ks);
	ck_assert_int_eq(pns_keyset_parse(&ks, doc, strlen(doc), NULL), 0);
	ck_assert_uint_eq(ks.n, PNS_KEYSET_MAX);
	ck_assert_ptr_nonnull(pns_keyset_find(&ks, "k63"));
	ck_assert_ptr_null(pns_keyset_find(&ks, "k64"));
	pns_keyset_release(&ks);
	free(doc);
}
END_TEST

START_TEST(rsa_from_ne)
{
	struct pns_err	 err;
	EVP_PKEY	*k;

	/* Positive control: k1's own n and e. */
	k = pns_rsa_from_ne(k1.n, k1.e, NULL);
	ck_assert_ptr_nonnull(k);
	ck_assert_int_eq(EVP_PKEY_get_bits(k), 2048);
	EVP_PKEY_free(k);
	/* e = 3 is odd and allowed; 1 and 2 are not. */
	k = pns_rsa_from_ne(k1.n, "Aw", NULL);
	ck_assert_ptr_nonnull(k);
	EVP_PKEY_free(k);
	pns_err_clear(&err);
	ck_assert_ptr_null(pns_rsa_from_ne(k1.n, "AQ", &err));
	ck_assert_int_eq(err.code, PNS_EINVAL);
	ck_assert_ptr_null(pns_rsa_from_ne(k1.n, "Ag", NULL));
	ck_assert_ptr_null(pns_rsa_from_ne(k1.n, "", NULL));
	ck_assert_ptr_null(pns_rsa_from_ne("", k1.e, NULL));
	ck_assert_ptr_null(pns_rsa_from_ne(k1.n, "AQA=", NULL));
	ck_assert_ptr_null(pns_rsa_from_ne(k1.n, "AQ+B", NULL));
	/* Far too short a modulus. */
	pns_err_clear(&err);
	ck_assert_ptr_null(pns_rsa_from_ne("AQAB", k1.e, &err));
	ck_assert_ptr_nonnull(strstr(err.msg, "bits"));
}
END_TEST

static Suite *
jws_suite(void)
{
	Suite	*s = suite_create("jws");
	TCase	*tc = tcase_create("jws");

	/* Keys are made once: RSA key generation is slow under valgrind. */
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, good_token_verifies);
	tcase_add_test(tc, signature_binds_header_and_payload);
	tcase_add_test(tc, hs256_with_public_pem_refused);
	tcase_add_test(tc, rs512_with_right_key_refused);
	tcase_add_test(tc, header_rules);
	tcase_add_test(tc, alg_none_unsigned);
	tcase_add_test(tc, structure_rules);
	tcase_add_test(tc, altered_good_token);
	tcase_add_test(tc, parse_uses_len);
	tcase_add_test(tc, header_size_limit);
	tcase_add_test(tc, token_size_limit);
	tcase_add_test(tc, payload_rules);
	tcase_add_test(tc, audience_rules);
	tcase_add_test(tc, client_id_from_azp);
	tcase_add_test(tc, issuer_rules);
	tcase_add_test(tc, time_rules);
	tcase_add_test(tc, live_agrees_with_check);
	tcase_add_test(tc, keyset_keeps_rs256_signature_keys);
	tcase_add_test(tc, keyset_document_rules);
	tcase_add_test(tc, keyset_key_verifies_libjwt_token);
	tcase_add_test(tc, keyset_duplicate_kid);
	tcase_add_test(tc, keyset_bounded);
	tcase_add_test(tc, rsa_from_ne);
	suite_add_tcase(s, tc);
	return s;
}

TEST_MAIN(jws_suite)
