/* SPDX-License-Identifier: ISC */
/* Bounded helpers: numbers, buffers, base64url, hashes, timestamps, log
 * escaping, and the error contract they all report through. */
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "pns_err.h"
#include "pns_json.h"
#include "pns_log.h"
#include "pns_util.h"
#include "unit.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* ---- pns_strtonum ---------------------------------------------------- */

START_TEST(strtonum_ranges)
{
	const char	*e;

	ck_assert_int_eq(pns_strtonum("42", 0, 100, &e), 42);
	ck_assert_ptr_null(e);
	ck_assert_int_eq(pns_strtonum("-5", -10, 10, &e), -5);
	ck_assert_ptr_null(e);
	/* Both bounds are inclusive; one past each is refused. */
	ck_assert_int_eq(pns_strtonum("0", 0, 100, &e), 0);
	ck_assert_ptr_null(e);
	ck_assert_int_eq(pns_strtonum("100", 0, 100, &e), 100);
	ck_assert_ptr_null(e);
	ck_assert_int_eq(pns_strtonum("101", 0, 100, &e), 0);
	ck_assert_str_eq(e, "too large");
	ck_assert_int_eq(pns_strtonum("-1", 0, 100, &e), 0);
	ck_assert_str_eq(e, "too small");
	/* min > max: no number can be in range. */
	(void)pns_strtonum("5", 10, 1, &e);
	ck_assert_str_eq(e, "invalid");
}
END_TEST

/* strtoll saturates at LLONG_MIN/LLONG_MAX with ERANGE: a value past the
 * type is "too large"/"too small", never the saturated value. */
START_TEST(strtonum_overflow)
{
	const char	*e;

	ck_assert(pns_strtonum("9223372036854775807", LLONG_MIN, LLONG_MAX,
	    &e) == LLONG_MAX);
	ck_assert_ptr_null(e);
	ck_assert(pns_strtonum("-9223372036854775808", LLONG_MIN, LLONG_MAX,
	    &e) == LLONG_MIN);
	ck_assert_ptr_null(e);
	ck_assert_int_eq(pns_strtonum("9223372036854775808", LLONG_MIN,
	    LLONG_MAX, &e), 0);
	ck_assert_str_eq(e, "too large");
	ck_assert_int_eq(pns_strtonum("-9223372036854775809", LLONG_MIN,
	    LLONG_MAX, &e), 0);
	ck_assert_str_eq(e, "too small");
	(void)pns_strtonum("99999999999999999999999", 0, 100, &e);
	ck_assert_str_eq(e, "too large");
	(void)pns_strtonum("-99999999999999999999999", 0, 100, &e);
	ck_assert_str_eq(e, "too small");
}
END_TEST

/* What atoi and strtol would quietly take is refused; each refused
 * spelling has a clean twin that is accepted. */
START_TEST(strtonum_refuses_junk)
{
	static const struct {
		const char	*bad, *good;
		long long	 value;
	} cases[] = {
		{ "", "0", 0 },
		{ " 1", "1", 1 },
		{ "\t1", "1", 1 },
		{ "+1", "1", 1 },
		{ "1 ", "1", 1 },
		{ "1\n", "1", 1 },
		{ "1x", "1", 1 },
		{ "0x10", "16", 16 },
		{ "--1", "-1", -1 },
		{ "- 1", "-1", -1 },
		{ "-", "-0", 0 },
		{ "1e3", "1000", 1000 },
		{ "1.0", "1", 1 },
	};
	const char	*e;
	size_t		 i;

	for (i = 0; i < NELEM(cases); i++) {
		(void)pns_strtonum(cases[i].bad, -100, 10000, &e);
		ck_assert_msg(e != NULL && strcmp(e, "invalid") == 0,
		    "\"%s\" accepted", cases[i].bad);
		ck_assert_msg(pns_strtonum(cases[i].good, -100, 10000, &e) ==
		    cases[i].value && e == NULL, "\"%s\" refused",
		    cases[i].good);
	}
	(void)pns_strtonum(NULL, 0, 1, &e);
	ck_assert_str_eq(e, "invalid");
}
END_TEST

/* ---- pns_buf --------------------------------------------------------- */

START_TEST(buf_respects_max)
{
	struct pns_buf	b;
	struct pns_err	err;

	pns_buf_init(&b, 8);
	pns_err_clear(&err);
	ck_assert_int_eq(pns_buf_adds(&b, "12345678", &err), 0);
	ck_assert_str_eq(b.data, "12345678");
	ck_assert_int_eq(err.code, PNS_OK);
	/* One byte over: refused, and the buffer is unchanged. */
	ck_assert_int_eq(pns_buf_adds(&b, "9", &err), -1);
	ck_assert_int_eq(err.code, PNS_ELIMIT);
	ck_assert_uint_eq(b.len, 8);
	ck_assert_str_eq(b.data, "12345678");
	/* An empty addition still fits. */
	ck_assert_int_eq(pns_buf_add(&b, "", 0, NULL), 0);
	ck_assert_uint_eq(b.len, 8);
	/* A huge length cannot wrap the check around. */
	ck_assert_int_eq(pns_buf_reserve(&b, (size_t)-1, NULL), -1);
	ck_assert_int_eq(pns_buf_reserve(&b, (size_t)-1 - 4, NULL), -1);
	pns_buf_release(&b);
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.max, 8);

	/* A buffer of max 0 holds only the empty string. */
	pns_buf_init(&b, 0);
	ck_assert_int_eq(pns_buf_add(&b, "", 0, NULL), 0);
	ck_assert_str_eq(b.data, "");
	ck_assert_int_eq(pns_buf_adds(&b, "x", NULL), -1);
	pns_buf_release(&b);
}
END_TEST

START_TEST(buf_reset_keeps_memory)
{
	struct pns_buf	 b;
	char		*before;

	pns_buf_init(&b, 64);
	ck_assert_int_eq(pns_buf_adds(&b, "hello", NULL), 0);
	before = b.data;
	pns_buf_reset(&b);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_ptr_eq(b.data, before);
	ck_assert_str_eq(b.data, "");
	/* Reset of a buffer that never allocated is harmless. */
	pns_buf_release(&b);
	pns_buf_reset(&b);
	ck_assert_uint_eq(b.len, 0);
	pns_buf_release(&b);
}
END_TEST

/* reserve makes room without adding: the next n bytes go in without
 * moving the data, and n + 1 past the maximum is refused. */
START_TEST(buf_reserve)
{
	struct pns_buf	 b;
	char		*p;

	pns_buf_init(&b, 1000);
	ck_assert_int_eq(pns_buf_adds(&b, "ab", NULL), 0);
	ck_assert_int_eq(pns_buf_reserve(&b, 600, NULL), 0);
	ck_assert_uint_eq(b.len, 2);
	ck_assert_str_eq(b.data, "ab");
	ck_assert_uint_ge(b.cap, 2 + 600 + 1);
	p = b.data;
	while (b.len < 602)
		ck_assert_int_eq(pns_buf_add(&b, "x", 1, NULL), 0);
	ck_assert_ptr_eq(b.data, p);
	ck_assert_int_eq(pns_buf_reserve(&b, 398, NULL), 0);
	ck_assert_int_eq(pns_buf_reserve(&b, 399, NULL), -1);
	ck_assert_uint_eq(b.len, 602);
	pns_buf_release(&b);
}
END_TEST

START_TEST(buf_printf)
{
	struct pns_buf	b;
	struct pns_err	err;

	pns_buf_init(&b, 8);
	ck_assert_int_eq(pns_buf_printf(&b, NULL, "%d-%s", 12, "ab"), 0);
	ck_assert_str_eq(b.data, "12-ab");
	ck_assert_int_eq(pns_buf_printf(&b, NULL, "%s", "cd"), 0);
	ck_assert_str_eq(b.data, "12-abcd");
	/* Nine bytes in total would not fit: nothing is appended. */
	pns_err_clear(&err);
	ck_assert_int_eq(pns_buf_printf(&b, &err, "%s", "ef"), -1);
	ck_assert_int_eq(err.code, PNS_ELIMIT);
	ck_assert_str_eq(b.data, "12-abcd");
	ck_assert_uint_eq(b.len, 7);
	/* ...while exactly eight do. */
	ck_assert_int_eq(pns_buf_printf(&b, NULL, "%c", 'e'), 0);
	ck_assert_str_eq(b.data, "12-abcde");
	pns_buf_release(&b);
}
END_TEST

/* Bytes, NULs included, are kept as given and still NUL-terminated. */
START_TEST(buf_binary)
{
	struct pns_buf	b;

	pns_buf_init(&b, 16);
	ck_assert_int_eq(pns_buf_add(&b, "a\0b", 3, NULL), 0);
	ck_assert_uint_eq(b.len, 3);
	ck_assert_int_eq(memcmp(b.data, "a\0b", 4), 0);
	pns_buf_release(&b);
}
END_TEST

/* ---- scanning JSON for one member ---------------------------------- */

/*
 * pns_json_scan_str finds a top-level string member without parsing, or
 * says it cannot tell; whenever it answers, the answer is the parser's.
 * Each text is checked against json-c: found (1) means the parsed
 * object has that string, absent (0) that it has no such member.
 */
START_TEST(json_scan_agrees_with_parser)
{
	static const struct {
		const char	*text;
		int		 want;		/* 1, 0 or -1 */
		const char	*value;
	} v[] = {
		/* found, top level, whatever is around it */
		{ "{\"a\":\"x\"}", 1, "x" },
		{ " {\"k\":\"1\", \"a\" : \"2026-01-01T00:00:00.000000Z\"} \n",
		    1, "2026-01-01T00:00:00.000000Z" },
		{ "{\"c\":{\"a\":\"inner\"},\"a\":\"outer\"}", 1, "outer" },
		{ "{\"a\":\"outer\",\"c\":{\"a\":\"inner\"}}", 1, "outer" },
		{ "{\"s\":\"\\\"a\\\":\\\"no\\\"\",\"a\":\"yes\"}", 1, "yes" },
		{ "{\"l\":[{\"a\":\"no\"},\"}\"],\"a\":\"yes\"}", 1, "yes" },
		{ "{\"a\":\"first\",\"a\":\"last\"}", 1, "last" },
		{ "{\"a\":\"\"}", 1, "" },
		/* absent: only nested, only as a value, or nowhere */
		{ "{}", 0, NULL },
		{ "{\"c\":{\"a\":\"inner\"}}", 0, NULL },
		{ "{\"b\":\"a\",\"l\":[\"a\"]}", 0, NULL },
		{ "{\"ab\":\"x\",\"\":\"a\"}", 0, NULL },
		/* cannot tell: parse instead */
		{ "{\"a\":\"x\\ny\"}", -1, NULL },	/* escape in value */
		{ "{\"\\u0061\":\"x\"}", -1, NULL },	/* escaped key */
		{ "{\"a\":5}", -1, NULL },		/* not a string */
		{ "{\"a\":null}", -1, NULL },
		{ "[\"a\",\"x\"]", -1, NULL },		/* not an object */
		{ "{\"a\":\"x\"", -1, NULL },		/* cut short */
		{ "{\"a\":\"x", -1, NULL },
		{ "{\"a\":\"x\"}}", -1, NULL },		/* more after it */
		{ "{\"a\":\"x\"} {}", -1, NULL },
		{ "", -1, NULL },
	};
	struct json_object	*o;
	char			 out[32];
	size_t			 i;
	int			 got;

	for (i = 0; i < NELEM(v); i++) {
		got = pns_json_scan_str(v[i].text, strlen(v[i].text), "a",
		    out, sizeof(out));
		ck_assert_msg(got == v[i].want, "%s: %d", v[i].text, got);
		if (got == -1)
			continue;
		ck_assert_int_eq(pns_json_parse(v[i].text, strlen(v[i].text),
		    8, &o, NULL), 0);
		if (got == 1) {
			ck_assert_str_eq(out, v[i].value);
			ck_assert_str_eq(pns_json_str(o, "a"), v[i].value);
		} else
			ck_assert(!json_object_object_get_ex(o, "a", NULL));
		json_object_put(o);
	}
}
END_TEST

/* A value longer than out is cut, terminated; one that fits is whole. */
START_TEST(json_scan_bounds)
{
	const char	*text = "{\"a\":\"0123456789\"}";
	char		 out[11], small[5];

	ck_assert_int_eq(pns_json_scan_str(text, strlen(text), "a", out,
	    sizeof(out)), 1);
	ck_assert_str_eq(out, "0123456789");
	ck_assert_int_eq(pns_json_scan_str(text, strlen(text), "a", small,
	    sizeof(small)), 1);
	ck_assert_str_eq(small, "0123");
	/* Only (buf, len) is read: the same text cut before its end. */
	ck_assert_int_eq(pns_json_scan_str(text, strlen(text) - 2, "a", out,
	    sizeof(out)), -1);
	ck_assert_int_eq(pns_json_scan_str(text, 0, "a", out, sizeof(out)),
	    -1);
}
END_TEST

/* What json-c builds for a parsed value: every object, array, member
 * name, string and other scalar (null included, which json-c keeps as a
 * NULL pointer). */
static size_t
tree_values(struct json_object *o)
{
	size_t	n = 1, i;

	if (json_object_is_type(o, json_type_object)) {
		json_object_object_foreach(o, k, v) {
			(void)k;
			n += 1 + tree_values(v);
		}
	} else if (json_object_is_type(o, json_type_array))
		for (i = 0; i < json_object_array_length(o); i++)
			n += tree_values(json_object_array_get_idx(o, i));
	return n;
}

/*
 * The receiver refuses a body whose values outnumber what its length
 * could carry before json-c builds them (a megabyte of {} cost 700 MB).
 * The count must not fall short of what a parse builds: it is that
 * count, exactly, for any JSON text, escapes and all.
 */
START_TEST(json_count_matches_the_tree)
{
	static const char *const v[] = {
		"{\"notices\":[{\"jwt\":\"a.b.c\"},\"d.e.f\"]}",
		"{\"notices\":[{},{},[],[[]],0,-1.5e+3,true,false,null]}",
		"{\"a\\\"b\":\"x\\\\\",\"c\":[\"\\u0022\",\"]\",\"{\"]}",
		" [ 1 , 2 ,\n3\t] ",
		"\"\"",
		"{\"k\":{\"k\":{\"k\":[null,{\"z\":\"\\\\\"}]}}}",
	};
	struct json_object	*o;
	size_t			 i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		ck_assert_int_eq(pns_json_parse(v[i], strlen(v[i]), 16, &o,
		    NULL), 0);
		ck_assert_uint_eq(pns_json_count_values(v[i], strlen(v[i]),
		    1000), tree_values(o));
		json_object_put(o);
	}
}
END_TEST

/* The scan stops one past its limit, and reads only (buf, len). */
START_TEST(json_count_bounds)
{
	const char	*text = "[{},{},{},{}]";

	ck_assert_uint_eq(pns_json_count_values(text, strlen(text), 100), 5);
	ck_assert_uint_eq(pns_json_count_values(text, strlen(text), 5), 5);
	ck_assert_uint_eq(pns_json_count_values(text, strlen(text), 2), 3);
	ck_assert_uint_eq(pns_json_count_values(text, 4, 100), 2);
	ck_assert_uint_eq(pns_json_count_values(text, 0, 100), 0);
	/* An escape at the very end reads nothing past it. */
	ck_assert_uint_eq(pns_json_count_values("\"\\", 2, 100), 1);
}
END_TEST

/* ---- base64url ------------------------------------------------------- */

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
		ck_assert_uint_eq(strlen(enc), n);
		ck_assert_ptr_null(strchr(enc, '='));
		got = pns_b64url_decode(enc, n, out);
		ck_assert_int_eq(got, (long)len);
		ck_assert_int_eq(memcmp(in, out, len), 0);
	}
}
END_TEST

/* RFC 4648 section 10, without padding, and the url-safe alphabet. */
START_TEST(b64url_known_answers)
{
	static const struct {
		const char	*plain, *enc;
	} v[] = {
		{ "", "" }, { "f", "Zg" }, { "fo", "Zm8" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg" }, { "fooba", "Zm9vYmE" },
		{ "foobar", "Zm9vYmFy" },
	};
	const unsigned char	 url[2] = { 0xfb, 0xff };
	unsigned char		 out[16];
	char			 enc[16];
	size_t			 i, len;

	for (i = 0; i < NELEM(v); i++) {
		len = strlen(v[i].plain);
		(void)pns_b64url_encode((const unsigned char *)v[i].plain, len,
		    enc);
		ck_assert_str_eq(enc, v[i].enc);
		ck_assert_int_eq(pns_b64url_decode(v[i].enc, strlen(v[i].enc),
		    out), (long)len);
		ck_assert_int_eq(memcmp(out, v[i].plain, len), 0);
	}
	/* Standard base64 would say "+/8=". */
	(void)pns_b64url_encode(url, 2, enc);
	ck_assert_str_eq(enc, "-_8");
	ck_assert_int_eq(pns_b64url_decode("-_8", 3, out), 2);
	ck_assert_int_eq(memcmp(out, url, 2), 0);
}
END_TEST

/* The compact JWS alphabet: base64url and '.', byte by byte, nothing
 * else (a NUL inside len included). */
START_TEST(b64url_plain)
{
	static const char	ok[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.";
	char			s[3] = "a.";
	int			c;

	ck_assert_int_eq(pns_b64url_plain(ok, strlen(ok)), 1);
	ck_assert_int_eq(pns_b64url_plain("", 0), 1);
	for (c = 0; c < 256; c++) {
		s[1] = (char)c;
		ck_assert_int_eq(pns_b64url_plain(s, 2),
		    c != 0 && strchr(ok, c) != NULL);
	}
	/* Only len bytes are looked at. */
	ck_assert_int_eq(pns_b64url_plain("ab\"", 2), 1);
	ck_assert_int_eq(pns_b64url_plain("ab\"", 3), 0);
}
END_TEST

/*
 * Each value has one encoding: padding, the standard alphabet, spaces,
 * a lone trailing character and non-zero trailing bits are refused, so a
 * token cannot be altered without changing what is signed.  Every
 * refused spelling sits beside the canonical one, which is accepted.
 */
START_TEST(b64url_strict)
{
	static const struct {
		const char	*bad, *good;
	} cases[] = {
		{ "QQ==", "QQ" },		/* padding */
		{ "QUI=", "QUI" },
		{ "Zm=v", "Zm9v" },
		{ "+/8", "-_8" },		/* standard alphabet */
		{ "Zm9+", "Zm9-" },
		{ "Zm9/", "Zm9_" },
		{ "Zm9v\n", "Zm9v" },		/* whitespace */
		{ " Zm9v", "Zm9v" },
		{ "Zm 9v", "Zm9v" },
		{ "Zm9\tv", "Zm9v" },
		{ "Zm9vY", "Zm9vYg" },		/* len % 4 == 1 */
		{ "Q", "QQ" },
		{ "QR", "QQ" },			/* non-zero trailing bits */
		{ "Zh", "Zg" },
		{ "Zm9", "Zm8" },
		{ "QUJ", "QUI" },
		{ "Zm.v", "Zm9v" },		/* other bytes */
		{ "Zm9v\xc3\xa9", "Zm9v" },
	};
	unsigned char	out[16];
	size_t		i;

	for (i = 0; i < NELEM(cases); i++) {
		ck_assert_msg(pns_b64url_decode(cases[i].bad,
		    strlen(cases[i].bad), out) < 0, "\"%s\" accepted",
		    cases[i].bad);
		ck_assert_msg(pns_b64url_decode(cases[i].good,
		    strlen(cases[i].good), out) >= 0, "\"%s\" refused",
		    cases[i].good);
	}
	/* A NUL inside the given length is a bad byte, not an end. */
	ck_assert_int_lt(pns_b64url_decode("Zm\0v", 4, out), 0);
	ck_assert_int_eq(pns_b64url_decode("Zm9v", 4, out), 3);
}
END_TEST

/* The decoder reads only len bytes and writes at most (len * 3) / 4. */
START_TEST(b64url_bounds)
{
	unsigned char	out[8];

	memset(out, 0xee, sizeof(out));
	/* "Zg" followed by junk that lies outside the given length. */
	ck_assert_int_eq(pns_b64url_decode("Zg!!!!", 2, out), 1);
	ck_assert_int_eq(out[0], 'f');
	ck_assert_int_eq(out[1], 0xee);
	memset(out, 0xee, sizeof(out));
	ck_assert_int_eq(pns_b64url_decode("Zm9vYmE", 7, out), 5);
	ck_assert_int_eq(out[5], 0xee);
	ck_assert_int_eq(pns_b64url_decode("", 0, out), 0);
}
END_TEST

/* ---- pns_iso8601_valid ---------------------------------------------- */

START_TEST(iso8601)
{
	static const struct {
		const char	*bad, *good;
	} cases[] = {
		/* Separator between date and time. */
		{ "2025-03-19 11:11:17Z", "2025-03-19T11:11:17Z" },
		/* A time zone is required. */
		{ "2025-03-19T11:11:17", "2025-03-19T11:11:17Z" },
		{ "2025-03-19T11:11:17.5", "2025-03-19T11:11:17.5Z" },
		/* Offsets are +HH:MM or -HH:MM, in range. */
		{ "2025-03-19T11:11:17+0600", "2025-03-19T11:11:17+06:00" },
		{ "2025-07-30T03:26:44-06", "2025-07-30T03:26:44-06:00" },
		{ "2025-07-30T03:26:44-24:00", "2025-07-30T03:26:44-23:00" },
		{ "2025-07-30T03:26:44+05:60", "2025-07-30T03:26:44+05:59" },
		{ "2025-07-30T03:26:44+05:30Z", "2025-07-30T03:26:44+05:30" },
		/* Fields in range. */
		{ "2025-13-19T11:11:17Z", "2025-12-19T11:11:17Z" },
		{ "2025-00-19T11:11:17Z", "2025-01-19T11:11:17Z" },
		{ "2025-03-00T11:11:17Z", "2025-03-01T11:11:17Z" },
		{ "2025-03-32T11:11:17Z", "2025-03-31T11:11:17Z" },
		{ "2025-03-19T24:11:17Z", "2025-03-19T23:11:17Z" },
		{ "2025-03-19T11:60:17Z", "2025-03-19T11:59:17Z" },
		{ "2025-03-19T11:11:61Z", "2016-12-31T23:59:60Z" },
		/* Fractions need a digit; nothing may follow the zone. */
		{ "2025-03-19T11:11:17.Z", "2025-03-19T11:11:17.0Z" },
		{ "2025-03-19T11:11:17Zjunk", "2025-03-19T11:11:17Z" },
		{ "2025-03-19T11:11:17.12a3Z", "2025-03-19T11:11:17.123Z" },
		/* Two digits everywhere, four for the year. */
		{ "2025-3-19T11:11:17Z", "2025-03-19T11:11:17Z" },
		{ "25-03-19T11:11:17Z", "2025-03-19T11:11:17Z" },
		{ "2025-03-19T11:11Z", "2025-03-19T11:11:00Z" },
		{ "", "2025-03-19T11:11:17z" },
		/* Too long to be a real timestamp. */
		{ "2025-03-19T11:11:17.0000000000000000000000000Z",
		    "2025-07-30T03:26:44.123456789+05:30" },
	};
	size_t	i;

	for (i = 0; i < NELEM(cases); i++) {
		ck_assert_msg(!pns_iso8601_valid(cases[i].bad,
		    strlen(cases[i].bad)), "%s accepted", cases[i].bad);
		ck_assert_msg(pns_iso8601_valid(cases[i].good,
		    strlen(cases[i].good)), "%s refused", cases[i].good);
	}
}
END_TEST

/*
 * Regression (pns_util.h: "1 if s is an RFC 3339 / ISO-8601 date-time"):
 * the day was only checked against 1..31, whatever the month, so February 30
 * and April 31 pass.  RFC 3339 section 5.7 bounds the day by month and
 * year.  Low impact: the notice timestamp is stored, not computed with.
 */
START_TEST(iso8601_day_of_month)
{
	static const struct {
		const char	*bad, *good;
	} cases[] = {
		{ "2025-02-29T00:00:00Z", "2025-02-28T00:00:00Z" },
		{ "2025-02-30T00:00:00Z", "2024-02-29T00:00:00Z" },
		{ "2025-04-31T00:00:00Z", "2025-04-30T00:00:00Z" },
		{ "1900-02-29T00:00:00Z", "2000-02-29T00:00:00Z" },
	};
	size_t	i;

	for (i = 0; i < NELEM(cases); i++) {
		ck_assert_msg(pns_iso8601_valid(cases[i].good,
		    strlen(cases[i].good)), "%s refused", cases[i].good);
		ck_assert_msg(!pns_iso8601_valid(cases[i].bad,
		    strlen(cases[i].bad)), "%s accepted", cases[i].bad);
	}
}
END_TEST

/* Only len bytes count: the same text cut short is judged as cut. */
START_TEST(iso8601_uses_len)
{
	const char	*s = "2025-03-19T11:11:17Zjunk";

	ck_assert(pns_iso8601_valid(s, 20));
	ck_assert(!pns_iso8601_valid(s, 19));
	ck_assert(!pns_iso8601_valid(s, strlen(s)));
}
END_TEST

START_TEST(iso8601_fmt)
{
	char	out[21];

	pns_iso8601_fmt(1742382677, out);
	ck_assert_str_eq(out, "2025-03-19T11:11:17Z");
	ck_assert(pns_iso8601_valid(out, strlen(out)));
	pns_iso8601_fmt(0, out);
	ck_assert_str_eq(out, "1970-01-01T00:00:00Z");
}
END_TEST

/* ---- pns_hash_fields ------------------------------------------------- */

/*
 * Store names are H(fields).  If fields were simply concatenated, the
 * platform ("https://p.example/a", "bc") and ("https://p.example/ab", "c")
 * would share a file.  Each field is followed by a NUL, so the boundary
 * is part of what is hashed.
 */
START_TEST(hash_fields_keeps_boundaries)
{
	const char	*ab_c[2] = { "ab", "c" }, *a_bc[2] = { "a", "bc" };
	const char	*abc[1] = { "abc" }, *ab_c_[3] = { "ab", "c", "" };
	char		 h1[65], h2[65], h3[65], h4[65], h5[65];

	pns_hash_fields(h1, 2, ab_c);
	pns_hash_fields(h2, 2, a_bc);
	pns_hash_fields(h3, 2, ab_c);
	pns_hash_fields(h4, 1, abc);
	pns_hash_fields(h5, 3, ab_c_);
	ck_assert_str_ne(h1, h2);
	ck_assert_str_ne(h1, h4);
	ck_assert_str_ne(h1, h5);	/* a trailing empty field counts */
	ck_assert_str_eq(h1, h3);	/* and the same fields agree */
	ck_assert_uint_eq(strlen(h1), 64);
}
END_TEST

/* SHA-256 of "ab\0c\0", and of nothing, in lowercase hex. */
START_TEST(hash_fields_known_answer)
{
	const char	*ab_c[2] = { "ab", "c" };
	char		 h[65];

	pns_hash_fields(h, 2, ab_c);
	ck_assert_str_eq(h,
	    "629c2f14f654f026086f2aefe1855533d0897f49df86a19073be17b237361b09");
	pns_hash_fields(h, 0, NULL);
	ck_assert_str_eq(h,
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}
END_TEST

/* ---- small helpers ---------------------------------------------------- */

START_TEST(hexval_and_ct_equal)
{
	ck_assert_int_eq(pns_hexval('0'), 0);
	ck_assert_int_eq(pns_hexval('9'), 9);
	ck_assert_int_eq(pns_hexval('a'), 10);
	ck_assert_int_eq(pns_hexval('F'), 15);
	ck_assert_int_eq(pns_hexval('g'), -1);
	ck_assert_int_eq(pns_hexval('/'), -1);
	ck_assert_int_eq(pns_ct_equal("abcd", "abcd", 4), 1);
	ck_assert_int_eq(pns_ct_equal("abcd", "abce", 4), 0);
	ck_assert_int_eq(pns_ct_equal("xbcd", "abcd", 4), 0);
	ck_assert_int_eq(pns_ct_equal("a", "b", 0), 1);
}
END_TEST

START_TEST(random_fills)
{
	unsigned char	a[32], b[32];

	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	ck_assert_int_eq(pns_random(a, sizeof(a), NULL), 0);
	ck_assert_int_eq(pns_random(b, sizeof(b), NULL), 0);
	ck_assert_int_ne(memcmp(a, b, sizeof(a)), 0);
}
END_TEST

/* ---- pns_log_escape -------------------------------------------------- */

START_TEST(log_escape)
{
	char	out[64];

	ck_assert_str_eq(pns_log_escape("ok", 2, out, sizeof(out)), "ok");
	/* Quotes, backslashes, control bytes, DEL and non-ASCII. */
	ck_assert_str_eq(pns_log_escape("a\nb\"", 4, out, sizeof(out)),
	    "a\\x0ab\\x22");
	ck_assert_str_eq(pns_log_escape("\\", 1, out, sizeof(out)), "\\x5c");
	ck_assert_str_eq(pns_log_escape("\r\t\x1b[1m", 6, out, sizeof(out)),
	    "\\x0d\\x09\\x1b[1m");
	ck_assert_str_eq(pns_log_escape("\x7f", 1, out, sizeof(out)), "\\x7f");
	ck_assert_str_eq(pns_log_escape("caf\xc3\xa9", 5, out, sizeof(out)),
	    "caf\\xc3\\xa9");
	/* A NUL inside len is escaped, not an end. */
	ck_assert_str_eq(pns_log_escape("a\0b", 3, out, sizeof(out)),
	    "a\\x00b");
	/* Only len bytes are read. */
	ck_assert_str_eq(pns_log_escape("abcdef", 3, out, sizeof(out)), "abc");
	ck_assert_str_eq(pns_log_escape("abcdef", 0, out, sizeof(out)), "");
	/* The printable rest of ASCII passes unchanged. */
	ck_assert_str_eq(pns_log_escape(" ~'<>&", 6, out, sizeof(out)),
	    " ~'<>&");
}
END_TEST

/*
 * Points stderr at one end of a SOCK_SEQPACKET pair, sv[1] reading
 * what the log writes, each write on its own; returns the saved stderr.
 */
static int
log_to_socket(int sv[2])
{
	int	saved;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	ck_assert_int_ne(saved = dup(STDERR_FILENO), -1);
	ck_assert_int_ne(dup2(sv[0], STDERR_FILENO), -1);
	return saved;
}

/* Undoes log_to_socket. */
static void
log_to_stderr(int sv[2], int saved)
{
	ck_assert_int_ne(dup2(saved, STDERR_FILENO), -1);
	(void)close(saved);
	(void)close(sv[0]);
	(void)close(sv[1]);
}

/* The next write made to the log socket, "" if none is waiting. */
static size_t
next_write(int fd, char *buf, size_t size)
{
	ssize_t	n = recv(fd, buf, size - 1, MSG_DONTWAIT);

	if (n < 0) {
		ck_assert_int_eq(errno, EAGAIN);
		n = 0;
	}
	buf[n] = '\0';
	return (size_t)n;
}

static int
count_lines(const char *s)
{
	int	n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

/*
 * Held lines wait for the flush and go out in whole lines, at most
 * PIPE_BUF bytes a write; an error is not held and follows what was
 * held before it; once flushed, lines go out one by one again.  stderr
 * is a SOCK_SEQPACKET socket here, so each write arrives on its own.
 */
START_TEST(log_hold_and_flush)
{
	char	buf[2 * PIPE_BUF], pad[200], want[32], *p;
	int	sv[2], saved, i, lines = 0, n;
	size_t	len;

	saved = log_to_socket(sv);
	pns_log_init("t", PNS_LOG_INFO);
	memset(pad, 'x', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';

	pns_log_hold();
	pns_log(PNS_LOG_INFO, "one");
	pns_log(PNS_LOG_INFO, "two");
	ck_assert_uint_eq(next_write(sv[1], buf, sizeof(buf)), 0);
	pns_log(PNS_LOG_ERROR, "three");
	ck_assert_uint_gt(next_write(sv[1], buf, sizeof(buf)), 0);
	ck_assert_int_eq(count_lines(buf), 2);
	ck_assert_ptr_nonnull(strstr(buf, "info: one\n"));
	ck_assert_ptr_nonnull(strstr(strstr(buf, "one"), "info: two\n"));
	ck_assert_uint_gt(next_write(sv[1], buf, sizeof(buf)), 0);
	ck_assert_ptr_nonnull(strstr(buf, "error: three\n"));
	ck_assert_int_eq(count_lines(buf), 1);

	/* More than PIPE_BUF held: several writes, each of whole lines. */
	for (i = 0; i < 40; i++)
		pns_log(PNS_LOG_INFO, "%02d %s", i, pad);
	pns_log_flush();
	while ((len = next_write(sv[1], buf, sizeof(buf))) > 0) {
		ck_assert_uint_le(len, PIPE_BUF);
		ck_assert_int_eq(buf[len - 1], '\n');
		n = count_lines(buf);
		/* In order: this write starts with the next line. */
		(void)snprintf(want, sizeof(want), "info: %02d ", lines);
		ck_assert_ptr_nonnull(p = strstr(buf, "info: "));
		ck_assert_int_eq(strncmp(p, want, strlen(want)), 0);
		lines += n;
	}
	ck_assert_int_eq(lines, 40);

	/* Flushed: a line is written at once. */
	pns_log(PNS_LOG_INFO, "four");
	ck_assert_uint_gt(next_write(sv[1], buf, sizeof(buf)), 0);
	ck_assert_ptr_nonnull(strstr(buf, "info: four\n"));

	log_to_stderr(sv, saved);
}
END_TEST

/*
 * Each line names the process that wrote it: the pid is kept rather than
 * asked for per line, so a forked child must name itself, not the parent
 * it was copied from.
 */
START_TEST(log_line_names_its_process)
{
	char	buf[1024], want[64];
	int	sv[2], saved, status;
	pid_t	pid;

	saved = log_to_socket(sv);
	pns_log_init("t", PNS_LOG_INFO);

	pns_log(PNS_LOG_INFO, "parent");
	ck_assert_uint_gt(next_write(sv[1], buf, sizeof(buf)), 0);
	(void)snprintf(want, sizeof(want), " t[%ld] info: parent\n",
	    (long)getpid());
	ck_assert_ptr_nonnull(strstr(buf, want));

	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		pns_log(PNS_LOG_INFO, "child");
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_uint_gt(next_write(sv[1], buf, sizeof(buf)), 0);
	(void)snprintf(want, sizeof(want), " t[%ld] info: child\n", (long)pid);
	ck_assert_ptr_nonnull(strstr(buf, want));

	log_to_stderr(sv, saved);
}
END_TEST

/*
 * A log line must never be a place where a request overflows a buffer:
 * for every output size and inputs of every kind, the result is
 * NUL-terminated inside outsz and nothing past it is touched; anything
 * cut ends with "...".
 */
START_TEST(log_escape_never_overflows)
{
	static const char *const inputs[] = {
		"0123456789abcdefghij", "\x01\x02\x03\x04\x05\x06\x07",
		"a\"b\\c\nd\xff" "e", "",
	};
	char	buf[64 + 8], full[128];
	size_t	i, sz, k, len, n;

	for (i = 0; i < NELEM(inputs); i++) {
		len = strlen(inputs[i]);
		(void)pns_log_escape(inputs[i], len, full, sizeof(full));
		for (sz = 1; sz <= 64; sz++) {
			memset(buf, 0x5a, sizeof(buf));
			(void)pns_log_escape(inputs[i], len, buf, sz);
			ck_assert_msg(memchr(buf, '\0', sz) != NULL,
			    "input %zu size %zu: not terminated", i, sz);
			for (k = sz; k < sizeof(buf); k++)
				ck_assert_msg(buf[k] == 0x5a,
				    "input %zu size %zu: byte %zu written", i,
				    sz, k);
			if (strcmp(buf, full) == 0 || sz < 4)
				continue;
			/* Cut: a prefix of the whole escape, then "...". */
			n = strlen(buf);
			ck_assert_msg(n >= 3 && strcmp(buf + n - 3, "...") == 0 &&
			    strncmp(buf, full, n - 3) == 0,
			    "input %zu size %zu: bad cut \"%s\"", i, sz, buf);
		}
		/* Size 0: nothing is written at all. */
		memset(buf, 0x5a, sizeof(buf));
		(void)pns_log_escape(inputs[i], len, buf, 0);
		ck_assert_int_eq(buf[0], 0x5a);
	}
}
END_TEST

START_TEST(log_escape_cuts_with_dots)
{
	char	out[16], big[32];

	ck_assert_str_eq(pns_log_escape("0123456789abcdefghij", 20, out,
	    sizeof(out)), "0123456789ab...");
	/* An escape is never split: \x0a either fits whole or is cut. */
	ck_assert_str_eq(pns_log_escape("012345678901\n", 13, out, sizeof(out)),
	    "012345678901...");
	ck_assert_str_eq(pns_log_escape("0123456789\n", 11, out, sizeof(out)),
	    "0123456789\\x0a");
	/* Twins: with room, the same texts come out whole. */
	ck_assert_str_eq(pns_log_escape("0123456789abcdefghij", 20, big,
	    sizeof(big)), "0123456789abcdefghij");
	ck_assert_str_eq(pns_log_escape("0123456789\n", 11, big, sizeof(big)),
	    "0123456789\\x0a");
}
END_TEST

/*
 * Regression (pns_log.h: "cut with "..." when it does not fit"): the
 * escaper kept room for "..." at every step, so text that fits was cut
 * when it came within three bytes of the end: "abc" in 4 bytes comes
 * out as "...", losing all of it, 15 bytes in 16 lose their last three,
 * and an escape that would end exactly at the buffer's end is dropped.
 */
START_TEST(log_escape_exact_fit)
{
	char	out[16];

	/* Positive control: with three bytes to spare, text comes whole. */
	ck_assert_str_eq(pns_log_escape("abc", 3, out, 16), "abc");
	ck_assert_str_eq(pns_log_escape("0123456789ab", 12, out, 16),
	    "0123456789ab");
	/* Exactly fitting: the whole text, no dots. */
	ck_assert_str_eq(pns_log_escape("abc", 3, out, 4), "abc");
	ck_assert_str_eq(pns_log_escape("0123456789abcde", 15, out, 16),
	    "0123456789abcde");
	ck_assert_str_eq(pns_log_escape("\n", 1, out, 5), "\\x0a");
}
END_TEST

/* ---- the error contract ---------------------------------------------- */

START_TEST(err_first_message_wins)
{
	struct pns_err	err;

	pns_err_clear(&err);
	ck_assert_int_eq(err.code, PNS_OK);
	ck_assert_str_eq(err.msg, "");
	ck_assert_int_eq(pns_err_set(&err, PNS_EINVAL, "root %d", 1), -1);
	ck_assert_int_eq(pns_err_set(&err, PNS_ENOMEM, "later"), -1);
	ck_assert_int_eq(err.code, PNS_EINVAL);
	ck_assert_str_eq(err.msg, "root 1");
	/* No err at all is allowed and still fails. */
	ck_assert_int_eq(pns_err_set(NULL, PNS_EINVAL, "x"), -1);
	ck_assert_int_eq(pns_err_sys(NULL, "x"), -1);
	/* pns_err_sys appends strerror and keeps errno. */
	pns_err_clear(&err);
	errno = ENOENT;
	ck_assert_int_eq(pns_err_sys(&err, "open %s", "f"), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(err.code, PNS_ESYS);
	ck_assert_str_eq(err.msg, "open f: No such file or directory");
	/* A system error after another root cause changes nothing. */
	pns_err_clear(&err);
	(void)pns_err_set(&err, PNS_EINVAL, "root");
	errno = EACCES;
	(void)pns_err_sys(&err, "open g");
	ck_assert_int_eq(err.code, PNS_EINVAL);
	ck_assert_str_eq(err.msg, "root");
	/* Long messages are cut inside msg. */
	pns_err_clear(&err);
	(void)pns_err_set(&err, PNS_EINVAL, "%0300d", 7);
	ck_assert_uint_eq(strlen(err.msg), sizeof(err.msg) - 1);
}
END_TEST

/*
 * Regression (pns_err.h: "The first message wins"): pns_err_sys appended
 * ": strerror(errno)" whenever err already held a PNS_ESYS, so a second
 * failing system call (a sync that keeps going over every directory)
 * grafts its errno onto the first message: "open a: No such file or
 * directory: Permission denied" names a cause that is not the root one.
 */
START_TEST(err_sys_second_keeps_first)
{
	struct pns_err	err;

	pns_err_clear(&err);
	errno = ENOENT;
	(void)pns_err_sys(&err, "open a");
	/* Positive control: the first message is as it should be. */
	ck_assert_str_eq(err.msg, "open a: No such file or directory");
	errno = EACCES;
	(void)pns_err_sys(&err, "open b");
	ck_assert_int_eq(err.code, PNS_ESYS);
	ck_assert_str_eq(err.msg, "open a: No such file or directory");
}
END_TEST

START_TEST(strerror_names)
{
	int	c;

	for (c = 0; c < PNS_CODE__MAX; c++)
		ck_assert_ptr_nonnull(pns_strerror((enum pns_code)c));
	ck_assert_str_eq(pns_strerror(PNS_OK), "ok");
	ck_assert_str_eq(pns_strerror(PNS_ENOENT), "not found");
	ck_assert_str_eq(pns_strerror(PNS_CODE__MAX), "unknown");
	ck_assert_str_eq(pns_strerror((enum pns_code)-1), "unknown");
}
END_TEST

static Suite *
util_suite(void)
{
	Suite	*s = suite_create("util");
	TCase	*tc;

	tc = tcase_create("strtonum");
	tcase_add_test(tc, strtonum_ranges);
	tcase_add_test(tc, strtonum_overflow);
	tcase_add_test(tc, strtonum_refuses_junk);
	suite_add_tcase(s, tc);

	tc = tcase_create("buf");
	tcase_add_test(tc, buf_respects_max);
	tcase_add_test(tc, buf_reset_keeps_memory);
	tcase_add_test(tc, buf_reserve);
	tcase_add_test(tc, buf_printf);
	tcase_add_test(tc, buf_binary);
	suite_add_tcase(s, tc);

	tc = tcase_create("b64url");
	tcase_add_test(tc, b64url_round_trip);
	tcase_add_test(tc, b64url_known_answers);
	tcase_add_test(tc, b64url_strict);
	tcase_add_test(tc, b64url_plain);
	tcase_add_test(tc, json_scan_agrees_with_parser);
	tcase_add_test(tc, json_scan_bounds);
	tcase_add_test(tc, json_count_matches_the_tree);
	tcase_add_test(tc, json_count_bounds);
	tcase_add_test(tc, b64url_bounds);
	suite_add_tcase(s, tc);

	tc = tcase_create("time");
	tcase_add_test(tc, iso8601);
	tcase_add_test(tc, iso8601_day_of_month);
	tcase_add_test(tc, iso8601_uses_len);
	tcase_add_test(tc, iso8601_fmt);
	suite_add_tcase(s, tc);

	tc = tcase_create("hash");
	tcase_add_test(tc, hash_fields_keeps_boundaries);
	tcase_add_test(tc, hash_fields_known_answer);
	tcase_add_test(tc, hexval_and_ct_equal);
	tcase_add_test(tc, random_fills);
	suite_add_tcase(s, tc);

	tc = tcase_create("log");
	tcase_add_test(tc, log_escape);
	tcase_add_test(tc, log_hold_and_flush);
	tcase_add_test(tc, log_line_names_its_process);
	tcase_add_test(tc, log_escape_never_overflows);
	tcase_add_test(tc, log_escape_cuts_with_dots);
	tcase_add_test(tc, log_escape_exact_fit);
	suite_add_tcase(s, tc);

	tc = tcase_create("err");
	tcase_add_test(tc, err_first_message_wins);
	tcase_add_test(tc, err_sys_second_keeps_first);
	tcase_add_test(tc, strerror_names);
	suite_add_tcase(s, tc);
	return s;
}

TEST_MAIN(util_suite)
