/* SPDX-License-Identifier: ISC */
/* Bounded JSON parsing and strict getters; see pns_json.h. */
#include <math.h>
#include <string.h>

#include "pns_fs.h"
#include "pns_json.h"
#include "pns_util.h"
#include "banned.h"

/* JSON's whitespace (RFC 8259, section 2). */
static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The index of the first byte at or after i that is not whitespace. */
static size_t
skip_space(const char *buf, size_t len, size_t i)
{
	while (i < len && is_space(buf[i]))
		i++;
	return i;
}

int
pns_json_parse(const char *buf, size_t len, int depth,
    struct json_object **out, struct pns_err *err)
{
	struct json_tokener	*tok;
	struct json_object	*obj;
	enum json_tokener_error	 jerr;
	size_t			 used;

	*out = NULL;
	if (len > (size_t)INT32_MAX)
		return pns_err_set(err, PNS_ELIMIT, "JSON text too large");
	if ((tok = json_tokener_new_ex(depth)) == NULL)
		return pns_err_set(err, PNS_ENOMEM, "out of memory");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, buf, (int)len);
	jerr = json_tokener_get_error(tok);
	used = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (jerr == json_tokener_continue) {
		/* A bare number or an unfinished text: json-c waits for more.
		 * Strict JSON has no use for top-level scalars here. */
		json_object_put(obj);
		return pns_err_set(err, PNS_EINVAL, "JSON text incomplete");
	}
	if (obj == NULL || jerr != json_tokener_success)
		return pns_err_set(err, PNS_EINVAL, "JSON: %s",
		    json_tokener_error_desc(jerr));
	if (skip_space(buf, len, used) != len) {
		json_object_put(obj);
		return pns_err_set(err, PNS_EINVAL,
		    "JSON: trailing bytes after the value");
	}
	*out = obj;
	return 0;
}

size_t
pns_json_count_values(const char *buf, size_t len, size_t limit)
{
	const char	*q, *e;
	size_t		 i, n = 0;
	int		 in_str = 0, in_word = 0;
	char		 c;

	for (i = 0; i < len && n <= limit; i++) {
		if (in_str) {
			/* Tokens are long runs with neither '"' nor '\\':
			 * skip them with memchr, not byte by byte. */
			q = memchr(buf + i, '"', len - i);
			e = memchr(buf + i, '\\', (q ? (size_t)(q - buf) : len) -
			    i);
			if (e != NULL)
				i = (size_t)(e - buf) + 1; /* what it escapes */
			else if (q != NULL) {
				i = (size_t)(q - buf);
				in_str = 0;
			} else
				i = len;
			continue;
		}
		c = buf[i];
		if (c == '"' || c == '{' || c == '[') {
			in_str = c == '"';
			in_word = 0;
			n++;
		} else if (c == ',' || c == ':' || c == ']' || c == '}' ||
		    is_space(c))
			in_word = 0;
		else if (!in_word) {
			/* A number, true, false or null begins. */
			in_word = 1;
			n++;
		}
	}
	return n;
}

int
pns_json_load(const char *path, size_t max, int depth,
    struct json_object **out, struct pns_err *err)
{
	struct pns_buf	b;
	int		rc;

	*out = NULL;
	pns_buf_init(&b, max);
	rc = pns_read_file(path, &b, err);
	if (rc == 0)
		rc = pns_json_parse(b.data, b.len, depth, out, err);
	pns_buf_release(&b);
	return rc;
}

int
pns_json_is_clean_str(struct json_object *v)
{
	const char	*s;

	if (!json_object_is_type(v, json_type_string))
		return 0;
	s = json_object_get_string(v);
	return strlen(s) == (size_t)json_object_get_string_len(v);
}

const char *
pns_json_str(struct json_object *obj, const char *key)
{
	struct json_object	*v;

	if (!json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, key, &v) ||
	    !pns_json_is_clean_str(v))
		return NULL;
	return json_object_get_string(v);
}

const char *
pns_json_nestr(struct json_object *obj, const char *key)
{
	const char	*s = pns_json_str(obj, key);

	return s != NULL && *s != '\0' ? s : NULL;
}

struct json_object *
pns_json_obj(struct json_object *obj, const char *key)
{
	struct json_object	*v;

	if (!json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, key, &v) ||
	    !json_object_is_type(v, json_type_object))
		return NULL;
	return v;
}

struct json_object *
pns_json_arr(struct json_object *obj, const char *key)
{
	struct json_object	*v;

	if (!json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, key, &v) ||
	    !json_object_is_type(v, json_type_array))
		return NULL;
	return v;
}

int
pns_json_num(struct json_object *obj, const char *key, double *out)
{
	struct json_object	*v;
	double			 d;

	if (!json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, key, &v))
		return -1;
	if (json_object_is_type(v, json_type_int)) {
		*out = (double)json_object_get_int64(v);
		return 0;
	}
	if (json_object_is_type(v, json_type_double)) {
		d = json_object_get_double(v);
		if (!isfinite(d))
			return -1;
		*out = d;
		return 0;
	}
	return -1;
}

/* Index of the '"' closing the string opened before start, or len; *esc
 * says whether it holds an escape. */
static size_t
string_end(const char *buf, size_t len, size_t start, int *esc)
{
	size_t	i = start;

	*esc = 0;
	while (i < len && buf[i] != '"') {
		if (buf[i] == '\\') {
			*esc = 1;
			i++;
		}
		i++;
	}
	return i < len ? i : len;
}

/*
 * The value after a top-level key ending at buf[i - 1]: 1 and copied to
 * out when it is a string without escapes or control characters, else
 * -1.  *end is set to its closing quote.
 */
static int
scan_value(const char *buf, size_t len, size_t i, char *out, size_t size,
    size_t *end)
{
	size_t	start, n;

	i = skip_space(buf, len, i);
	if (i >= len || buf[i] != ':')
		return -1;
	i = skip_space(buf, len, i + 1);
	if (i >= len || buf[i] != '"')
		return -1;
	for (start = ++i; i < len && buf[i] != '"'; i++)
		if (buf[i] == '\\' || (unsigned char)buf[i] < 0x20)
			return -1;
	if (i >= len)
		return -1;
	n = i - start < size - 1 ? i - start : size - 1;
	memcpy(out, buf + start, n);
	out[n] = '\0';
	*end = i;
	return 1;
}

int
pns_json_scan_str(const char *buf, size_t len, const char *key, char *out,
    size_t size)
{
	size_t	i, klen = strlen(key), end;
	int	depth = 0, want_key = 0, found = 0, esc;

	if (size == 0)
		return -1;
	i = skip_space(buf, len, 0);
	if (i >= len || buf[i] != '{')
		return -1;
	for (; i < len; i++) {
		switch (buf[i]) {
		case '"':
			end = string_end(buf, len, i + 1, &esc);
			if (end >= len)
				return -1;
			if (depth == 1 && want_key) {
				want_key = 0;
				/* An escaped key may spell key another way. */
				if (esc)
					return -1;
				if (end - i - 1 == klen &&
				    memcmp(buf + i + 1, key, klen) == 0) {
					if (scan_value(buf, len, end + 1, out,
					    size, &end) == -1)
						return -1;
					found = 1;	/* the last one counts */
				}
			}
			i = end;
			break;
		case '{':
			if (++depth == 1)
				want_key = 1;
			break;
		case '[':
			depth++;
			break;
		case '}':
		case ']':
			if (--depth > 0)
				break;
			if (depth < 0)
				return -1;
			return skip_space(buf, len, i + 1) == len ? found : -1;
		case ',':
			if (depth == 1)
				want_key = 1;
			break;
		}
	}
	return -1;
}
