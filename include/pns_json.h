/* SPDX-License-Identifier: ISC */
/*
 * Bounded JSON parsing over json-c, and typed getters that refuse what a
 * careless getter would coerce (json-c turns a number into a string on
 * request; we do not want "iss": 5 to pass as the issuer "5").
 */
#ifndef PNS_JSON_H
#define PNS_JSON_H

#include <stddef.h>

#include <json-c/json.h>

#include "pns_err.h"

/* Depth limit for anything that came from the network. */
#define PNS_JSON_DEPTH	32

/*
 * Parses exactly (buf, len) as one JSON value, strictly, with UTF-8
 * validation and at most depth levels of nesting.  Trailing bytes other
 * than whitespace are an error.  The caller owns *out (json_object_put).
 */
int		 pns_json_parse(const char *buf, size_t len, int depth,
		    struct json_object **out, struct pns_err *err);

/*
 * Counts the values of the JSON text (buf, len) without building them:
 * each object, array and string (member names included) and each other
 * scalar, up to limit + 1 (the scan stops there).  A bound on what
 * parsing the text would build, taken before parsing it: text that is
 * not JSON is counted all the same and left to the parser to refuse.
 */
size_t		 pns_json_count_values(const char *buf, size_t len,
		    size_t limit);

/*
 * Reads the file at path, of at most max bytes, and parses it as
 * pns_json_parse does: the stored records' and state files' one load.
 * A missing file fails with code PNS_ENOENT.  The caller owns *out.
 */
int		 pns_json_load(const char *path, size_t max, int depth,
		    struct json_object **out, struct pns_err *err);

/*
 * Finds the top-level member key of the JSON object text (buf, len)
 * without building the object, for a walk that needs one field of
 * many records.  Returns 1 with the member's string value in out (cut
 * to size - 1 bytes, NUL-terminated) when it is written without escapes;
 * 0 when the object has no such member; -1 when a scan cannot tell (not
 * an object, an escape in a top-level key or in the value, a value that
 * is not a string, text cut short or followed by more): the caller then
 * parses the text.  Of repeated members the last counts, as when parsed.
 */
int		 pns_json_scan_str(const char *buf, size_t len,
		    const char *key, char *out, size_t size);

/* Member key of obj if obj is an object and the member a string with no
 * NUL inside, else NULL.  Borrowed from obj. */
const char	*pns_json_str(struct json_object *obj, const char *key);
/* As above, and non-empty. */
const char	*pns_json_nestr(struct json_object *obj, const char *key);
/* Member key if it is an object, else NULL.  Borrowed. */
struct json_object *pns_json_obj(struct json_object *obj, const char *key);
/* Member key if it is an array, else NULL.  Borrowed. */
struct json_object *pns_json_arr(struct json_object *obj, const char *key);
/* Member key as a number (int or finite double) in *out: 0, else -1. */
int		 pns_json_num(struct json_object *obj, const char *key,
		    double *out);
/* 1 if v is a string without NUL inside. */
int		 pns_json_is_clean_str(struct json_object *v);

#endif
