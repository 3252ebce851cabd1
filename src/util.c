/* SPDX-License-Identifier: ISC */
/*
 * Bounded helpers: numbers, buffers, base64url, hashes, timestamps.
 * Nothing here trusts a length it was not given.
 */
#include <sys/random.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * SHA256_Init and friends are deprecated in OpenSSL 3 in favour of EVP,
 * but they are what pns_hash_fields needs: they allocate nothing, so
 * they cannot fail (a failed EVP context would have named every record
 * with the hash of nothing), and they skip the provider look-up that
 * costs a CGI process most of a millisecond at its first digest.
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "pns_util.h"
#include "banned.h"

void
pns_crypto_init(void)
{
	/*
	 * Unless told otherwise, OpenSSL's first use parses openssl.cnf and
	 * indexes its error strings: a tenth of a CGI process's CPU.  These
	 * programs need neither: they speak no TLS (libcurl brings its own
	 * libraries), use only the default provider's RSA, SHA-256 and
	 * random numbers, and never log an OpenSSL message.  A failure here
	 * only means OpenSSL initialises itself later, the usual way.
	 *
	 * Nor do they need OpenSSL's clean-up at exit, which frees what the
	 * exit gives back anyway: it costs every CGI process CPU, would pull
	 * state from under a notices.fcgi thread still verifying, and in
	 * OpenSSL 3.0 itself allocates a block it then loses (its
	 * thread-event register, when nothing made it before).
	 */
	(void)OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG |
	    OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS | OPENSSL_INIT_NO_ATEXIT, NULL);
}

long long
pns_strtonum(const char *s, long long min, long long max, const char **errstr)
{
	long long	 v;
	char		*end;

	*errstr = "invalid";
	if (s == NULL || *s == '\0' || min > max)
		return 0;
	/* strtoll skips leading space and accepts '+'; we accept neither. */
	if (!(isdigit((unsigned char)s[0]) || (s[0] == '-' && isdigit((unsigned char)s[1]))))
		return 0;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end != '\0')
		return 0;
	if ((errno == ERANGE && v == LLONG_MIN) || v < min) {
		*errstr = "too small";
		return 0;
	}
	if ((errno == ERANGE && v == LLONG_MAX) || v > max) {
		*errstr = "too large";
		return 0;
	}
	*errstr = NULL;
	return v;
}

void
pns_buf_init(struct pns_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void
pns_buf_reset(struct pns_buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

void
pns_buf_release(struct pns_buf *b)
{
	free(b->data);
	pns_buf_init(b, b->max);
}

static int
buf_grow(struct pns_buf *b, size_t extra, struct pns_err *err)
{
	size_t	 need, ncap;
	char	*p;

	if (extra > b->max || b->len > b->max - extra)
		return pns_err_set(err, PNS_ELIMIT,
		    "buffer limit of %zu bytes reached", b->max);
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 256;
	while (ncap < need)
		ncap *= 2;
	if (ncap > b->max + 1)
		ncap = b->max + 1;
	if ((p = realloc(b->data, ncap)) == NULL)
		return pns_err_set(err, PNS_ENOMEM, "out of memory");
	b->data = p;
	b->cap = ncap;
	return 0;
}

int
pns_buf_reserve(struct pns_buf *b, size_t n, struct pns_err *err)
{
	return buf_grow(b, n, err);
}

int
pns_buf_add(struct pns_buf *b, const void *p, size_t n, struct pns_err *err)
{
	if (buf_grow(b, n, err) == -1)
		return -1;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int
pns_buf_adds(struct pns_buf *b, const char *s, struct pns_err *err)
{
	return pns_buf_add(b, s, strlen(s), err);
}

int
pns_buf_printf(struct pns_buf *b, struct pns_err *err, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return pns_err_set(err, PNS_EINVAL, "bad format");
	if (buf_grow(b, (size_t)n, err) == -1)
		return -1;
	va_start(ap, fmt);
	(void)vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

/*
 * The value of each base64url character, 0xff for any other byte.  A
 * table, not a chain of ranges: every token's three parts go through
 * here, and a lookup per character keeps decoding off the profile.
 */
#define B64__	0xff
static const unsigned char b64url_val[256] = {
#define R16(x)	x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x
	R16(B64__), R16(B64__),					/* 0x00 */
	B64__, B64__, B64__, B64__, B64__, B64__, B64__, B64__,	/* 0x20 */
	B64__, B64__, B64__, B64__, B64__, 62, B64__, B64__,	/* '-' */
	52, 53, 54, 55, 56, 57, 58, 59, 60, 61,			/* '0' */
	B64__, B64__, B64__, B64__, B64__, B64__,
	B64__, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,	/* 'A' */
	15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25,
	B64__, B64__, B64__, B64__, 63,				/* '_' */
	B64__, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38,	/* 'a' */
	39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51,
	B64__, B64__, B64__, B64__, B64__,
	R16(B64__), R16(B64__), R16(B64__), R16(B64__),		/* 0x80 */
	R16(B64__), R16(B64__), R16(B64__), R16(B64__),
#undef R16
};

long
pns_b64url_decode(const char *in, size_t len, unsigned char *out)
{
	const unsigned char	*p = (const unsigned char *)in;
	size_t			 i, o = 0, whole = len - len % 4;
	unsigned long		 v;
	unsigned char		 a, b, c, d;

	/* A lone trailing character carries 6 bits: never a whole byte. */
	if (len % 4 == 1 || len > LONG_MAX / 3)
		return -1;
	for (i = 0; i < whole; i += 4) {
		a = b64url_val[p[i]];
		b = b64url_val[p[i + 1]];
		c = b64url_val[p[i + 2]];
		d = b64url_val[p[i + 3]];
		if ((a | b | c | d) & 0xc0)
			return -1;
		v = (unsigned long)a << 18 | (unsigned long)b << 12 |
		    (unsigned long)c << 6 | d;
		out[o++] = (unsigned char)(v >> 16);
		out[o++] = (unsigned char)(v >> 8);
		out[o++] = (unsigned char)v;
	}
	if (len % 4 == 0)
		return (long)o;
	/*
	 * Two or three characters left: one or two bytes, and the bits
	 * below them must be zero, so each value has one encoding.
	 */
	a = b64url_val[p[i]];
	b = b64url_val[p[i + 1]];
	c = len % 4 == 3 ? b64url_val[p[i + 2]] : 0;
	if ((a | b | c) & 0xc0)
		return -1;
	v = (unsigned long)a << 18 | (unsigned long)b << 12 |
	    (unsigned long)c << 6;
	out[o++] = (unsigned char)(v >> 16);
	if (len % 4 == 3)
		out[o++] = (unsigned char)(v >> 8);
	if ((v & (len % 4 == 3 ? 0xffUL : 0xffffUL)) != 0)
		return -1;
	return (long)o;
}

int
pns_b64url_plain(const char *s, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++)
		if (s[i] != '.' && (b64url_val[(unsigned char)s[i]] & 0xc0))
			return 0;
	return 1;
}

size_t
pns_b64url_enclen(size_t len)
{
	return (len / 3) * 4 + (len % 3 ? len % 3 + 1 : 0);
}

size_t
pns_b64url_encode(const unsigned char *in, size_t len, char *out)
{
	static const char	 a[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t			 i, o = 0;
	unsigned long		 v;

	for (i = 0; i + 2 < len; i += 3) {
		v = ((unsigned long)in[i] << 16) | ((unsigned long)in[i + 1] << 8) | in[i + 2];
		out[o++] = a[(v >> 18) & 63];
		out[o++] = a[(v >> 12) & 63];
		out[o++] = a[(v >> 6) & 63];
		out[o++] = a[v & 63];
	}
	if (len - i == 1) {
		v = (unsigned long)in[i] << 16;
		out[o++] = a[(v >> 18) & 63];
		out[o++] = a[(v >> 12) & 63];
	} else if (len - i == 2) {
		v = ((unsigned long)in[i] << 16) | ((unsigned long)in[i + 1] << 8);
		out[o++] = a[(v >> 18) & 63];
		out[o++] = a[(v >> 12) & 63];
		out[o++] = a[(v >> 6) & 63];
	}
	out[o] = '\0';
	return o;
}

int
pns_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void
pns_hash_fields(char out[65], size_t n, const char *const *fields)
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 md[SHA256_DIGEST_LENGTH];
	SHA256_CTX		 ctx;
	size_t			 i;

	(void)SHA256_Init(&ctx);
	for (i = 0; i < n; i++)
		(void)SHA256_Update(&ctx, fields[i], strlen(fields[i]) + 1);
	(void)SHA256_Final(md, &ctx);
	for (i = 0; i < sizeof(md); i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
}

static int
digits(const char *s, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

static int
num2(const char *s)
{
	return (s[0] - '0') * 10 + (s[1] - '0');
}

/* RFC 3339 section 5.7: the day is bounded by month and year. */
static int
days_in(int year, int mon)
{
	static const int	days[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31,
	};

	if (mon == 2 && year % 4 == 0 && (year % 100 != 0 || year % 400 == 0))
		return 29;
	return days[mon - 1];
}

int
pns_iso8601_valid(const char *s, size_t len)
{
	size_t	i;
	int	year, mon, day, hh, mm, ss;

	/* 2025-03-19T11:11:17Z is the shortest form: 20 characters. */
	if (len < 20 || len > 40)
		return 0;
	if (!digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) ||
	    s[7] != '-' || !digits(s + 8, 2) ||
	    (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2) ||
	    s[13] != ':' || !digits(s + 14, 2) || s[16] != ':' ||
	    !digits(s + 17, 2))
		return 0;
	year = num2(s) * 100 + num2(s + 2);
	mon = num2(s + 5);
	day = num2(s + 8);
	hh = num2(s + 11);
	mm = num2(s + 14);
	ss = num2(s + 17);
	/* ss 60 allows a leap second, as RFC 3339 does. */
	if (mon < 1 || mon > 12 || day < 1 || day > days_in(year, mon) ||
	    hh > 23 || mm > 59 || ss > 60)
		return 0;
	i = 19;
	if (s[i] == '.') {
		i++;
		if (i >= len || !isdigit((unsigned char)s[i]))
			return 0;
		while (i < len && isdigit((unsigned char)s[i]))
			i++;
	}
	if (i < len && (s[i] == 'Z' || s[i] == 'z'))
		return i + 1 == len;
	if (i < len && (s[i] == '+' || s[i] == '-'))
		return len - i == 6 && digits(s + i + 1, 2) &&
		    s[i + 3] == ':' && digits(s + i + 4, 2) &&
		    num2(s + i + 1) <= 23 && num2(s + i + 4) <= 59;
	return 0;
}

void
pns_iso8601_fmt(time_t t, char out[21])
{
	struct tm	tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		(void)snprintf(out, 21, "1970-01-01T00:00:00Z");
}

int
pns_random(void *buf, size_t n, struct pns_err *err)
{
	unsigned char	*p = buf;
	ssize_t		 r;

	while (n > 0) {
		r = getrandom(p, n, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return pns_err_sys(err, "getrandom");
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

int
pns_ct_equal(const void *a, const void *b, size_t n)
{
	const unsigned char	*x = a, *y = b;
	unsigned char		 d = 0;
	size_t			 i;

	for (i = 0; i < n; i++)
		d |= x[i] ^ y[i];
	return d == 0;
}
