/* SPDX-License-Identifier: ISC */
/*
 * application/x-www-form-urlencoded bodies and query strings, Cookie
 * headers, and percent-encoding for URLs we build.  Parsers take
 * (buf, len), decode strictly (a bad escape or a NUL byte fails the
 * whole input) and refuse a key given twice, since OIDC parameters
 * repeated with different values are a classic confusion attack.
 */
#ifndef PNS_FORM_H
#define PNS_FORM_H

#include <stddef.h>

#include "pns_err.h"
#include "pns_util.h"

#define PNS_FORM_MAX_PAIRS	64

struct pns_kv {
	char	*key;
	char	*val;		/* NUL-terminated; no NUL inside */
};

struct pns_form {
	struct pns_kv	kv[PNS_FORM_MAX_PAIRS];
	size_t		n;
};

void		 pns_form_init(struct pns_form *f);
void		 pns_form_release(struct pns_form *f);

/* Parses (buf, len) into f (released first).  Empty pairs are skipped. */
int		 pns_form_parse(struct pns_form *f, const char *buf, size_t len,
		    struct pns_err *err);

/* The value of key, or NULL.  Borrowed from f. */
const char	*pns_form_get(const struct pns_form *f, const char *key);

/*
 * Copies the value of cookie name from a Cookie header into out (size
 * bytes).  Returns 0 if found and it fits, -1 otherwise.
 */
int		 pns_cookie_get(const char *header, const char *name, char *out,
		    size_t size);

/* Appends s percent-encoded (everything but RFC 3986 unreserved). */
int		 pns_url_encode(struct pns_buf *b, const char *s,
		    struct pns_err *err);

#endif
