/* SPDX-License-Identifier: ISC */
/* pnsctl notices list|show: the stored notices. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "pns_json.h"
#include "pns_nstore.h"
#include "pnsctl.h"
#include "banned.h"

static int
collect(struct json_object *rec, void *arg)
{
	return json_object_array_add(arg, json_object_get(rec)) == 0 ? 0 : -1;
}

/* Oldest first; the key breaks ties so the order is stable. */
static int
by_received(const void *a, const void *b)
{
	struct json_object	*x = *(struct json_object *const *)a;
	struct json_object	*y = *(struct json_object *const *)b;
	const char		*rx, *ry;
	int			 c;

	rx = pns_json_str(x, "received_at");
	ry = pns_json_str(y, "received_at");
	if ((c = strcmp(rx ? rx : "", ry ? ry : "")) != 0)
		return c;
	rx = pns_json_str(x, "key");
	ry = pns_json_str(y, "key");
	return strcmp(rx ? rx : "", ry ? ry : "");
}

static struct json_object *
load_all(const struct pns_config *cfg)
{
	struct json_object	*arr;
	struct pns_err		 err;

	if ((arr = json_object_new_array()) == NULL) {
		(void)pnsctl_fail("out of memory");
		return NULL;
	}
	pns_err_clear(&err);
	if (pns_nstore_foreach(cfg, collect, arr, &err) != 0) {
		(void)pnsctl_fail("%s", err.msg[0] ? err.msg : "cannot list");
		json_object_put(arr);
		return NULL;
	}
	json_object_array_sort(arr, by_received);
	return arr;
}

static const char *
s(struct json_object *o, const char *key)
{
	const char	*v = pns_json_str(o, key);

	return v != NULL ? v : "-";
}

int
cmd_notices_list(const struct pns_config *cfg, int argc, char **argv)
{
	struct json_object	*arr, *o;
	size_t			 i, n;
	int			 json = 0;

	if (argc == 1 && strcmp(argv[0], "--json") == 0)
		json = 1;
	else if (argc != 0)
		return pnsctl_usage("notices list [--json]");
	if ((arr = load_all(cfg)) == NULL)
		return 1;
	n = json_object_array_length(arr);
	for (i = 0; i < n; i++) {
		o = json_object_array_get_idx(arr, i);
		/* The raw token is for "show"; a listing stays readable. */
		json_object_object_del(o, "jwt");
		if (!json)
			(void)printf("%s  %-36s  %-34s  %s\n",
			    s(o, "received_at"), s(o, "id"), s(o, "type"),
			    s(o, "deployment_id"));
	}
	if (json)
		(void)printf("%s\n", json_object_to_json_string_ext(arr,
		    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(arr);
	return 0;
}

/* 1 if s is a 64-hex store key rather than a notice id. */
static int
is_key(const char *k)
{
	size_t	i;

	for (i = 0; k[i] != '\0'; i++)
		if (!((k[i] >= '0' && k[i] <= '9') || (k[i] >= 'a' && k[i] <= 'f')))
			return 0;
	return i == 64;
}

static void
print_record(struct json_object *o)
{
	(void)printf("%s\n", json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
}

int
cmd_notices_show(const struct pns_config *cfg, int argc, char **argv)
{
	struct json_object	*arr, *o;
	struct pns_err		 err;
	size_t			 i, n;
	int			 found = 0;

	if (argc != 1)
		return pnsctl_usage("notices show ID");
	/* A key names its file: no need to read the whole store. */
	if (is_key(argv[0])) {
		pns_err_clear(&err);
		if (pns_nstore_get(cfg, argv[0], &o, &err) == 0) {
			print_record(o);
			json_object_put(o);
			return 0;
		}
		if (err.code != PNS_ENOENT)
			return pnsctl_fail("%s", err.msg);
	}
	/* A notice id is unique per platform, so it may match several. */
	if ((arr = load_all(cfg)) == NULL)
		return 1;
	n = json_object_array_length(arr);
	for (i = 0; i < n; i++) {
		o = json_object_array_get_idx(arr, i);
		if (strcmp(s(o, "id"), argv[0]) == 0) {
			print_record(o);
			found++;
		}
	}
	json_object_put(arr);
	if (!found)
		return pnsctl_fail("no notice with id or key %s", argv[0]);
	return 0;
}
