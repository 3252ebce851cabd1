/* SPDX-License-Identifier: ISC */
/* Bounded helpers: numbers, buffers, base64url, hashes, timestamps, log
 * escaping. */
#include <string.h>

#include "pns_log.h"
#include "pns_util.h"
#include "unit.h"

START_TEST(strtonum_ranges)
{
	const char	*e;

	ck_assert_int_eq(pns_strtonum("42", 0, 100, &e), 42);
	ck_assert_ptr_null(e);
	ck_assert_int_eq(pns_strtonum("-5", -10, 10, &e), -5);
	ck_assert_ptr_null(e);
	(void)pns_strtonum("101", 0, 100, &e);
	ck_assert_str_eq(e, "too large");
	(void)pns_strtonum("-1", 0, 100, &e);
	ck_assert_str_eq(e, "too small");
	(void)pns_strtonum("99999999999999999999999", 0, 100, &e);
	ck_assert_str_eq(e, "too large");
}
END_TEST

/* What atoi and strtol would quietly take is refused. */
START_TEST(strtonum_refuses_junk)
{
	static const char *const bad[] = {
		"", " 1", "+1", "1 ", "1x", "0x10", "--1", "-", "1e3",
	};
	const char	*e;
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		(void)pns_strtonum(bad[i], -100, 10000, &e);
		ck_assert_msg(e != NULL && strcmp(e, "invalid") == 0,
		    "\"%s\" accepted", bad[i]);
	}
	(void)pns_strtonum(NULL, 0, 1, &e);
	ck_assert_str_eq(e, "invalid");
}
END_TEST

START_TEST(buf_respects_max)
{
	struct pns_buf	b;
	struct pns_err	err;

	pns_buf_init(&b, 8);
	pns_err_clear(&err);
	ck_assert_int_eq(pns_buf_adds(&b, "12345678", &err), 0);
	ck_assert_str_eq(b.data, "12345678");
	ck_assert_int_eq(pns_buf_adds(&b, "9", &err), -1);
	ck_assert_int_eq(err.code, PNS_ELIMIT);
	ck_assert_uint_eq(b.len, 8);
	pns_buf_reset(&b);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_int_eq(pns_buf_printf(&b, NULL, "%d-%s", 12, "ab"), 0);
	ck_assert_str_eq(b.data, "12-ab");
	ck_assert_int_eq(pns_buf_printf(&b, NULL, "%s", "toolong"), -1);
	ck_assert_int_eq(pns_buf_reserve(&b, 3, NULL), 0);
	ck_assert_int_eq(pns_buf_reserve(&b, 4, NULL), -1);
	pns_buf_release(&b);
}
END_TEST

START_TEST(b64url_round_trip)
{
	unsigned char	in[64], out[64];
	char		enc[128];
	size_t		n, len;
	long		got;

	for (n = 0; n < sizeof(in); n++)
		in[n] = (unsigned char)(n * 37 + 11);
	for (len = 0; len <= sizeof(in); len++) {
		n = pns_b64url_encode(in, len, enc);
		ck_assert_uint_eq(n, pns_b64url_enclen(len));
		ck_assert_ptr_null(strchr(enc, '='));
		got = pns_b64url_decode(enc, n, out);
		ck_assert_int_eq(got, (long)len);
		ck_assert_int_eq(memcmp(in, out, len), 0);
	}
}
END_TEST

/* Each value has one encoding: padding, the standard alphabet, spaces
 * and non-zero trailing bits are refused, so a token cannot be altered
 * without changing what is signed. */
START_TEST(b64url_strict)
{
	static const char *const bad[] = {
		"QQ==", "a+b/", "QQ Q", "Q", "QR", "QUJ", "QU\n",
	};
	unsigned char	out[16];
	size_t		i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(pns_b64url_decode(bad[i], strlen(bad[i]), out) < 0,
		    "\"%s\" accepted", bad[i]);
	/* Twins: the canonical encodings of "A" and "AB". */
	ck_assert_int_eq(pns_b64url_decode("QQ", 2, out), 1);
	ck_assert_int_eq(pns_b64url_decode("QUI", 3, out), 2);
	ck_assert_int_eq(out[1], 'B');
}
END_TEST

START_TEST(iso8601)
{
	static const char *const good[] = {
		"2025-03-19T11:11:17Z", "2025-07-30T03:26:44-06:00",
		"2025-07-30T03:26:44.123456+05:30", "2016-12-31T23:59:60Z",
	};
	static const char *const bad[] = {
		"2025-03-19 11:11:17Z", "2025-03-19T11:11:17", "2025-13-19T11:11:17Z",
		"2025-03-19T24:11:17Z", "2025-03-19T11:11:17+0600",
		"2025-03-19T11:11:17.Z", "2025-03-19T11:11:17Zjunk", "",
		"2025-03-19T11:11:17.0000000000000000000000000Z",
	};
	size_t	i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(pns_iso8601_valid(good[i], strlen(good[i])),
		    "%s refused", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!pns_iso8601_valid(bad[i], strlen(bad[i])),
		    "%s accepted", bad[i]);
}
END_TEST

START_TEST(hash_fields_keeps_boundaries)
{
	const char	*ab_c[2] = { "ab", "c" }, *a_bc[2] = { "a", "bc" };
	char		 h1[65], h2[65], h3[65];

	pns_hash_fields(h1, 2, ab_c);
	pns_hash_fields(h2, 2, a_bc);
	pns_hash_fields(h3, 2, ab_c);
	ck_assert_str_ne(h1, h2);
	ck_assert_str_eq(h1, h3);
	ck_assert_uint_eq(strlen(h1), 64);
}
END_TEST

START_TEST(log_escape)
{
	char	out[16];

	ck_assert_str_eq(pns_log_escape("ok", 2, out, sizeof(out)), "ok");
	ck_assert_str_eq(pns_log_escape("a\nb\"", 4, out, sizeof(out)),
	    "a\\x0ab\\x22");
	/* Cut with "..." and never past the buffer. */
	ck_assert_str_eq(pns_log_escape("0123456789abcdefghij", 20, out,
	    sizeof(out)), "0123456789ab...");
	ck_assert_uint_lt(strlen(pns_log_escape("\x01\x02\x03\x04\x05", 5, out,
	    sizeof(out))), sizeof(out));
}
END_TEST

static Suite *
util_suite(void)
{
	Suite	*s = suite_create("util");
	TCase	*tc = tcase_create("util");

	tcase_add_test(tc, strtonum_ranges);
	tcase_add_test(tc, strtonum_refuses_junk);
	tcase_add_test(tc, buf_respects_max);
	tcase_add_test(tc, b64url_round_trip);
	tcase_add_test(tc, b64url_strict);
	tcase_add_test(tc, iso8601);
	tcase_add_test(tc, hash_fields_keeps_boundaries);
	tcase_add_test(tc, log_escape);
	suite_add_tcase(s, tc);
	return s;
}

TEST_MAIN(util_suite)
