/* SPDX-License-Identifier: ISC */
/* Form, query and cookie parsing; see pns_form.h. */
#include <stdlib.h>
#include <string.h>

#include "pns_form.h"
#include "banned.h"

void
pns_form_init(struct pns_form *f)
{
	f->n = 0;
}

void
pns_form_release(struct pns_form *f)
{
	size_t	i;

	for (i = 0; i < f->n; i++) {
		free(f->kv[i].key);
		free(f->kv[i].val);
	}
	f->n = 0;
}

/* Decodes (s, len) into a new string; NULL on a bad escape or a NUL. */
static char *
decode(const char *s, size_t len)
{
	char	*out;
	size_t	 i, o = 0;
	int	 hi, lo;

	if ((out = malloc(len + 1)) == NULL)
		return NULL;
	for (i = 0; i < len; i++) {
		if (s[i] == '+')
			out[o++] = ' ';
		else if (s[i] == '%') {
			if (len - i < 3)
				goto bad;
			if ((hi = pns_hexval(s[i + 1])) < 0 ||
			    (lo = pns_hexval(s[i + 2])) < 0 || (hi | lo) == 0)
				goto bad;
			out[o++] = (char)(hi * 16 + lo);
			i += 2;
		} else if (s[i] == '\0')
			goto bad;
		else
			out[o++] = s[i];
	}
	out[o] = '\0';
	return out;
bad:
	free(out);
	return NULL;
}

int
pns_form_parse(struct pns_form *f, const char *buf, size_t len,
    struct pns_err *err)
{
	const char	*p = buf, *end = buf + len, *amp, *eq;
	char		*key, *val;
	size_t		 plen;

	pns_form_release(f);
	while (p < end) {
		amp = memchr(p, '&', (size_t)(end - p));
		plen = amp != NULL ? (size_t)(amp - p) : (size_t)(end - p);
		if (plen > 0) {
			if (f->n == PNS_FORM_MAX_PAIRS) {
				pns_form_release(f);
				return pns_err_set(err, PNS_ELIMIT,
				    "more than %d parameters", PNS_FORM_MAX_PAIRS);
			}
			eq = memchr(p, '=', plen);
			key = decode(p, eq != NULL ? (size_t)(eq - p) : plen);
			val = eq != NULL ? decode(eq + 1, plen - (size_t)(eq - p) - 1) :
			    decode("", 0);
			if (key == NULL || val == NULL || *key == '\0' ||
			    pns_form_get(f, key) != NULL) {
				free(key);
				free(val);
				pns_form_release(f);
				return pns_err_set(err, PNS_EINVAL,
				    "bad or repeated parameter");
			}
			f->kv[f->n].key = key;
			f->kv[f->n].val = val;
			f->n++;
		}
		p += plen + 1;
	}
	return 0;
}

const char *
pns_form_get(const struct pns_form *f, const char *key)
{
	size_t	i;

	for (i = 0; i < f->n; i++)
		if (strcmp(f->kv[i].key, key) == 0)
			return f->kv[i].val;
	return NULL;
}

int
pns_cookie_get(const char *header, const char *name, char *out, size_t size)
{
	const char	*p = header, *semi, *eq;
	size_t		 nlen = strlen(name), vlen, plen;

	if (header == NULL)
		return -1;
	while (*p != '\0') {
		while (*p == ' ' || *p == '\t')
			p++;
		semi = strchr(p, ';');
		plen = semi != NULL ? (size_t)(semi - p) : strlen(p);
		eq = memchr(p, '=', plen);
		if (eq != NULL && (size_t)(eq - p) == nlen &&
		    memcmp(p, name, nlen) == 0) {
			vlen = plen - nlen - 1;
			while (vlen > 0 && (eq[vlen] == ' ' || eq[vlen] == '\t'))
				vlen--;
			if (vlen >= size)
				return -1;
			memcpy(out, eq + 1, vlen);
			out[vlen] = '\0';
			return 0;
		}
		if (semi == NULL)
			break;
		p = semi + 1;
	}
	return -1;
}

int
pns_url_encode(struct pns_buf *b, const char *s, struct pns_err *err)
{
	static const char	hex[] = "0123456789ABCDEF";
	char			esc[3];
	unsigned char		c;

	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~') {
			if (pns_buf_add(b, s, 1, err) == -1)
				return -1;
			continue;
		}
		esc[0] = '%';
		esc[1] = hex[c >> 4];
		esc[2] = hex[c & 15];
		if (pns_buf_add(b, esc, 3, err) == -1)
			return -1;
	}
	return 0;
}
