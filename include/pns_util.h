/* SPDX-License-Identifier: ISC */
/*
 * Small bounded helpers shared by every module: number parsing, a
 * growable buffer with a hard maximum, base64url, hashing, timestamps.
 */
#ifndef PNS_UTIL_H
#define PNS_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "pns_err.h"

/*
 * Parses all of s as a decimal integer in [min, max].  On failure
 * returns 0 and sets *errstr to "invalid", "too small" or "too large";
 * on success *errstr is NULL.  (OpenBSD strtonum.)
 */
long long	pns_strtonum(const char *s, long long min, long long max,
		    const char **errstr);

/*
 * A growable byte buffer that never grows past max.  The data is kept
 * NUL-terminated (the NUL is not counted in len).  Initialise with
 * pns_buf_init; pns_buf_reset empties it keeping the memory (for the
 * FastCGI loop); pns_buf_release frees it.
 */
struct pns_buf {
	char	*data;
	size_t	 len;
	size_t	 cap;
	size_t	 max;
};

void	pns_buf_init(struct pns_buf *b, size_t max);
void	pns_buf_reset(struct pns_buf *b);
void	pns_buf_release(struct pns_buf *b);
/* Makes room for n more bytes (and the NUL) without adding any. */
int	pns_buf_reserve(struct pns_buf *b, size_t n, struct pns_err *err);
int	pns_buf_add(struct pns_buf *b, const void *p, size_t n,
	    struct pns_err *err);
int	pns_buf_adds(struct pns_buf *b, const char *s, struct pns_err *err);
int	pns_buf_printf(struct pns_buf *b, struct pns_err *err,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * base64url without padding (RFC 7515 section 2).  Decoding is strict:
 * only the url-safe alphabet, no '=', no whitespace, and no non-zero
 * trailing bits.  out must hold (len * 3) / 4 bytes.  Returns the
 * number of bytes written, or -1.
 */
long		pns_b64url_decode(const char *in, size_t len, unsigned char *out);
/* 1 if each of the len bytes of s is a base64url character or a dot:
 * a compact JWS, which JSON carries in a string without escapes. */
int		pns_b64url_plain(const char *s, size_t len);
/* out must hold pns_b64url_enclen(len) + 1 bytes; it is NUL-terminated. */
size_t		pns_b64url_enclen(size_t len);
size_t		pns_b64url_encode(const unsigned char *in, size_t len, char *out);

/* The value of a hex digit (either case), or -1. */
int		pns_hexval(char c);

/* Initialises OpenSSL without its configuration file or error strings;
 * each program calls it first, before anything uses OpenSSL. */
void		pns_crypto_init(void);

/* SHA-256 of the concatenation of n strings, each followed by a NUL
 * (so that ("ab","c") and ("a","bc") differ), as 64 lowercase hex. */
void		pns_hash_fields(char out[65], size_t n, const char *const *fields);

/* 1 if s is an RFC 3339 / ISO-8601 date-time with a time zone
 * (YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)), else 0. */
int		pns_iso8601_valid(const char *s, size_t len);
/* Formats t as YYYY-MM-DDTHH:MM:SSZ into out[21]. */
void		pns_iso8601_fmt(time_t t, char out[21]);

/* Fills buf with n bytes from the kernel CSPRNG. */
int		pns_random(void *buf, size_t n, struct pns_err *err);

/* Constant-time comparison of two equal-length byte strings. */
int		pns_ct_equal(const void *a, const void *b, size_t n);

#endif
