/* SPDX-License-Identifier: ISC */
/* Bounded JSON parsing and strict getters; see pns_json.h. */
#include <math.h>
#include <string.h>

#include "pns_json.h"
#include "banned.h"

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
	for (; used < len; used++)
		if (strchr(" \t\r\n", buf[used]) == NULL || buf[used] == '\0') {
			json_object_put(obj);
			return pns_err_set(err, PNS_EINVAL,
			    "JSON: trailing bytes after the value");
		}
	*out = obj;
	return 0;
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
