/* SPDX-License-Identifier: ISC */
/* Form, query-string and cookie parsing; percent-encoding. */
#include <stdio.h>
#include <string.h>

#include "pns_form.h"
#include "unit.h"

START_TEST(form_decodes)
{
	struct pns_form	f;
	const char	q[] = "iss=https%3A%2F%2Fp.example&login_hint=a+b&x=&&y";

	pns_form_init(&f);
	ck_assert_int_eq(pns_form_parse(&f, q, strlen(q), NULL), 0);
	ck_assert_str_eq(pns_form_get(&f, "iss"), "https://p.example");
	ck_assert_str_eq(pns_form_get(&f, "login_hint"), "a b");
	ck_assert_str_eq(pns_form_get(&f, "x"), "");
	ck_assert_str_eq(pns_form_get(&f, "y"), "");
	ck_assert_ptr_null(pns_form_get(&f, "z"));
	pns_form_release(&f);
}
END_TEST

/*
 * A parameter given twice is refused: with "state=a&state=b" one layer
 * could check the first value and another use the second.
 */
START_TEST(form_refuses_repeats)
{
	struct pns_form	f;
	const char	bad[] = "state=a&nonce=n&state=b";
	const char	good[] = "state=a&nonce=n&other=b";

	pns_form_init(&f);
	ck_assert_int_eq(pns_form_parse(&f, bad, strlen(bad), NULL), -1);
	ck_assert_uint_eq(f.n, 0);
	ck_assert_int_eq(pns_form_parse(&f, good, strlen(good), NULL), 0);
	ck_assert_uint_eq(f.n, 3);
	pns_form_release(&f);
}
END_TEST

START_TEST(form_refuses_bad_escapes)
{
	static const char *const bad[] = {
		"a=%", "a=%4", "a=%zz", "a=%00", "%=1", "=1",
	};
	struct pns_form	f;
	size_t		i;
	const char	nul[] = "a=b\0c";

	pns_form_init(&f);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(pns_form_parse(&f, bad[i], strlen(bad[i]),
		    NULL) == -1, "%s accepted", bad[i]);
	ck_assert_int_eq(pns_form_parse(&f, nul, sizeof(nul) - 1, NULL), -1);
	/* The twin: a valid escape of the same shape. */
	ck_assert_int_eq(pns_form_parse(&f, "a=%41", 5, NULL), 0);
	ck_assert_str_eq(pns_form_get(&f, "a"), "A");
	pns_form_release(&f);
}
END_TEST

START_TEST(form_limits_pairs)
{
	struct pns_form	f;
	char		q[PNS_FORM_MAX_PAIRS * 8 + 16];
	size_t		i, o = 0;

	pns_form_init(&f);
	for (i = 0; i < PNS_FORM_MAX_PAIRS; i++)
		o += (size_t)snprintf(q + o, sizeof(q) - o, "k%zu=1&", i);
	ck_assert_int_eq(pns_form_parse(&f, q, o, NULL), 0);
	ck_assert_uint_eq(f.n, PNS_FORM_MAX_PAIRS);
	o += (size_t)snprintf(q + o, sizeof(q) - o, "one=more");
	ck_assert_int_eq(pns_form_parse(&f, q, o, NULL), -1);
	pns_form_release(&f);
}
END_TEST

START_TEST(cookie_found_by_exact_name)
{
	char	v[64];

	ck_assert_int_eq(pns_cookie_get("a=1; pns_state=abc; b=2", "pns_state",
	    v, sizeof(v)), 0);
	ck_assert_str_eq(v, "abc");
	ck_assert_int_eq(pns_cookie_get("xpns_state=abc", "pns_state", v,
	    sizeof(v)), -1);
	ck_assert_int_eq(pns_cookie_get("pns_state_x=abc", "pns_state", v,
	    sizeof(v)), -1);
	ck_assert_int_eq(pns_cookie_get(NULL, "pns_state", v, sizeof(v)), -1);
	/* Too long for the caller's buffer: not found, never truncated. */
	ck_assert_int_eq(pns_cookie_get("pns_state=abcdef", "pns_state", v, 4),
	    -1);
}
END_TEST

START_TEST(url_encode_unreserved_only)
{
	struct pns_buf	b;

	pns_buf_init(&b, 256);
	ck_assert_int_eq(pns_url_encode(&b, "106:ab/c d~_.-", NULL), 0);
	ck_assert_str_eq(b.data, "106%3Aab%2Fc%20d~_.-");
	pns_buf_release(&b);
}
END_TEST

static Suite *
form_suite(void)
{
	Suite	*s = suite_create("form");
	TCase	*tc = tcase_create("form");

	tcase_add_test(tc, form_decodes);
	tcase_add_test(tc, form_refuses_repeats);
	tcase_add_test(tc, form_refuses_bad_escapes);
	tcase_add_test(tc, form_limits_pairs);
	tcase_add_test(tc, cookie_found_by_exact_name);
	tcase_add_test(tc, url_encode_unreserved_only);
	suite_add_tcase(s, tc);
	return s;
}

TEST_MAIN(form_suite)
