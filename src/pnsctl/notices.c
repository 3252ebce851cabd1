/* SPDX-License-Identifier: ISC */
/*
 * pnsctl notices list|show|retry|prune: the stored notices and what
 * became of their delivery to the application.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "pns_deliver.h"
#include "pns_json.h"
#include "pns_nstore.h"
#include "pns_util.h"
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

/* Adds "delivery": {status, attempts, ...} to the record o. */
static int
add_delivery(const struct pns_config *cfg, struct json_object *o)
{
	struct pns_delivery	 d;
	struct json_object	*dj;
	struct pns_err		 err;
	const char		*key = pns_json_str(o, "key");
	char			 when[21];

	pns_err_clear(&err);
	if (key == NULL || pns_deliver_status(cfg, key, &d, &err) == -1)
		return pnsctl_fail("%s", err.msg[0] ? err.msg :
		    "a stored notice has no key");
	if ((dj = json_object_new_object()) == NULL)
		return pnsctl_fail("out of memory");
	json_object_object_add(dj, "status",
	    json_object_new_string(pns_dstatus_str(d.status)));
	json_object_object_add(dj, "attempts", json_object_new_int64(
	    d.attempts));
	if (d.last_error[0] != '\0')
		json_object_object_add(dj, "last_error",
		    json_object_new_string(d.last_error));
	if (d.delivered_at[0] != '\0')
		json_object_object_add(dj, "delivered_at",
		    json_object_new_string(d.delivered_at));
	/* Never attempted yet: due now, no time to show. */
	if (d.status == PNS_DS_PENDING && d.next_at != 0) {
		pns_iso8601_fmt(d.next_at, when);
		json_object_object_add(dj, "next_attempt_at",
		    json_object_new_string(when));
	}
	json_object_object_add(o, "delivery", dj);
	return 0;
}

static const char *
delivery_status(struct json_object *o)
{
	const char	*st = pns_json_str(pns_json_obj(o, "delivery"),
	    "status");

	return st != NULL ? st : "-";
}

struct json_object *
pnsctl_load_notices(const struct pns_config *cfg)
{
	struct json_object	*arr;
	struct pns_err		 err;
	size_t			 i, n;

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
	n = json_object_array_length(arr);
	for (i = 0; i < n; i++)
		if (add_delivery(cfg, json_object_array_get_idx(arr, i)) != 0) {
			json_object_put(arr);
			return NULL;
		}
	return arr;
}

int
cmd_notices_list(const struct pns_config *cfg, int argc, char **argv)
{
	static const char	 usage[] = "notices list [--json] "
	    "[--status stored|pending|delivered|failed]";
	struct json_object	*arr, *out, *o;
	const char		*status = NULL;
	size_t			 i, n;
	int			 json = 0;

	for (i = 0; i < (size_t)argc; i++) {
		if (strcmp(argv[i], "--json") == 0 && !json)
			json = 1;
		else if (strcmp(argv[i], "--status") == 0 && status == NULL &&
		    i + 1 < (size_t)argc && pns_dstatus_parse(argv[i + 1]) >= 0)
			status = argv[++i];
		else
			return pnsctl_usage(usage);
	}
	if ((arr = pnsctl_load_notices(cfg)) == NULL)
		return 1;
	if ((out = json_object_new_array()) == NULL) {
		json_object_put(arr);
		return pnsctl_fail("out of memory");
	}
	n = json_object_array_length(arr);
	for (i = 0; i < n; i++) {
		o = json_object_array_get_idx(arr, i);
		if (status != NULL && strcmp(delivery_status(o), status) != 0)
			continue;
		/* The raw token is for "show"; a listing stays readable. */
		json_object_object_del(o, "jwt");
		json_object_array_add(out, json_object_get(o));
		if (!json)
			(void)printf("%s  %-36s  %-34s  %-9s  %s\n",
			    pnsctl_field(o, "received_at"),
			    pnsctl_field(o, "id"), pnsctl_field(o, "type"),
			    delivery_status(o),
			    pnsctl_field(o, "deployment_id"));
	}
	if (json)
		(void)printf("%s\n", json_object_to_json_string_ext(out,
		    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(out);
	json_object_put(arr);
	return 0;
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
	if (pns_nstore_key_valid(argv[0])) {
		pns_err_clear(&err);
		if (pns_nstore_get(cfg, argv[0], &o, &err) == 0) {
			if (add_delivery(cfg, o) == 0)
				print_record(o);
			json_object_put(o);
			return 0;
		}
		if (err.code != PNS_ENOENT)
			return pnsctl_fail("%s", err.msg);
	}
	/* A notice id is unique per platform, so it may match several. */
	if ((arr = pnsctl_load_notices(cfg)) == NULL)
		return 1;
	n = json_object_array_length(arr);
	for (i = 0; i < n; i++) {
		o = json_object_array_get_idx(arr, i);
		if (strcmp(pnsctl_str(o, "id"), argv[0]) == 0) {
			print_record(o);
			found++;
		}
	}
	json_object_put(arr);
	if (!found)
		return pnsctl_fail("no notice with id or key %s", argv[0]);
	return 0;
}

/* The keys of the notices named by id-or-key arg, into keys. */
static int
keys_of(const struct pns_config *cfg, const char *arg,
    struct json_object *keys)
{
	struct json_object	*arr, *o;
	size_t			 i, n;

	if (pns_nstore_key_valid(arg)) {
		json_object_array_add(keys, json_object_new_string(arg));
		return 0;
	}
	if ((arr = pnsctl_load_notices(cfg)) == NULL)
		return -1;
	n = json_object_array_length(arr);
	for (i = 0; i < n; i++) {
		o = json_object_array_get_idx(arr, i);
		if (strcmp(pnsctl_str(o, "id"), arg) == 0)
			json_object_array_add(keys,
			    json_object_new_string(pnsctl_str(o, "key")));
	}
	json_object_put(arr);
	return 0;
}

int
cmd_notices_retry(const struct pns_config *cfg, int argc, char **argv)
{
	struct json_object	*keys;
	struct pns_err		 err;
	size_t			 i, n;
	long			 r, total = 0;

	if (argc != 1)
		return pnsctl_usage("notices retry ID|--all-failed");
	pns_err_clear(&err);
	if (strcmp(argv[0], "--all-failed") == 0) {
		if ((total = pns_deliver_retry(cfg, NULL, &err)) == -1)
			return pnsctl_fail("%s", err.msg);
	} else {
		if ((keys = json_object_new_array()) == NULL)
			return pnsctl_fail("out of memory");
		if (keys_of(cfg, argv[0], keys) == -1) {
			json_object_put(keys);
			return 1;
		}
		n = json_object_array_length(keys);
		for (i = 0; i < n; i++) {
			r = pns_deliver_retry(cfg, json_object_get_string(
			    json_object_array_get_idx(keys, i)), &err);
			if (r == -1 && err.code != PNS_ENOENT) {
				json_object_put(keys);
				return pnsctl_fail("%s", err.msg);
			}
			total += r > 0 ? r : 0;
		}
		json_object_put(keys);
		if (total == 0)
			return pnsctl_fail("no failed notice with id or key %s",
			    argv[0]);
	}
	(void)printf("%ld notice(s) queued for delivery again\n", total);
	return 0;
}

int
cmd_notices_prune(const struct pns_config *cfg, int argc, char **argv)
{
	struct json_object	*arr, *o;
	struct pns_err		 err;
	const char		*errstr, *st;
	char			 cutoff[21];
	long long		 days;
	size_t			 i, n;
	long			 removed = 0, kept = 0;

	if (argc != 2 || strcmp(argv[0], "--older-than") != 0)
		return pnsctl_usage("notices prune --older-than DAYS");
	/* At least a day: a pruned id is forgotten, and a notice token must
	 * be long expired before its id may be accepted again. */
	days = pns_strtonum(argv[1], 1, 36500, &errstr);
	if (errstr != NULL)
		return pnsctl_fail("DAYS is %s (1 to 36500)", errstr);
	pns_iso8601_fmt(time(NULL) - (time_t)days * 86400, cutoff);
	if ((arr = pnsctl_load_notices(cfg)) == NULL)
		return 1;
	pns_err_clear(&err);
	n = json_object_array_length(arr);
	for (i = 0; i < n; i++) {
		o = json_object_array_get_idx(arr, i);
		if (strcmp(pnsctl_str(o, "received_at"), cutoff) >= 0)
			continue;
		/* What the application has not had yet stays. */
		st = delivery_status(o);
		if (strcmp(st, "pending") == 0 || strcmp(st, "failed") == 0) {
			kept++;
			continue;
		}
		if (pns_nstore_remove(cfg, pnsctl_str(o, "key"), &err) == -1) {
			json_object_put(arr);
			return pnsctl_fail("%s", err.msg);
		}
		removed++;
	}
	json_object_put(arr);
	(void)printf("%ld notice(s) removed, %ld older ones kept (pending or "
	    "failed)\n", removed, kept);
	return 0;
}
