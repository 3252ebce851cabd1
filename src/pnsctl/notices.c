/* SPDX-License-Identifier: ISC */
/*
 * pnsctl notices list|show|retry|prune: the stored notices and what
 * became of their delivery to the application.  A store may hold
 * millions of notices, some 11 KiB each once parsed: every command here
 * walks it one record at a time and never holds them all.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "pns_deliver.h"
#include "pns_json.h"
#include "pns_jws.h"
#include "pns_nstore.h"
#include "pns_util.h"
#include "pnsctl.h"
#include "banned.h"

int
pnsctl_add_delivery(const struct pns_config *cfg, struct json_object *o)
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

int
pnsctl_notices_foreach(const struct pns_config *cfg, enum pnsctl_order order,
    int (*fn)(struct json_object *, void *), void *arg)
{
	struct pns_err	err;
	int		rc;

	pns_err_clear(&err);
	if (order == PNSCTL_RECEIVED)
		rc = pns_nstore_foreach_received(cfg, fn, arg, &err);
	else
		rc = pns_nstore_foreach(cfg, fn, arg, &err);
	if (rc == -1)
		return pnsctl_fail("%s", err.msg[0] ? err.msg : "cannot list");
	return rc != 0;
}

/*
 * One element of the array that json-c would print for the whole
 * listing (pretty): the element's own lines, each indented two spaces as
 * json-c indents an array's members.  Strings never hold a raw newline.
 */
static void
print_element(struct json_object *o, int first)
{
	const char	*s, *nl;

	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	(void)fputs(first ? "[\n  " : ",\n  ", stdout);
	while ((nl = strchr(s, '\n')) != NULL) {
		(void)fwrite(s, 1, (size_t)(nl - s) + 1, stdout);
		(void)fputs("  ", stdout);
		s = nl + 1;
	}
	(void)fputs(s, stdout);
}

struct listing {
	const struct pns_config	*cfg;
	const char		*status;	/* only these, or NULL */
	int			 json;
	long			 shown;
};

static int
list_one(struct json_object *o, void *arg)
{
	struct listing	*l = arg;

	if (pnsctl_add_delivery(l->cfg, o) != 0)
		return 1;
	if (l->status != NULL && strcmp(delivery_status(o), l->status) != 0)
		return 0;
	/* The raw token is for "show"; a listing stays readable. */
	json_object_object_del(o, "jwt");
	if (l->json)
		print_element(o, l->shown == 0);
	else
		(void)printf("%s  %-36s  %-34s  %-9s  %s\n",
		    pnsctl_field(o, "received_at"), pnsctl_field(o, "id"),
		    pnsctl_field(o, "type"), delivery_status(o),
		    pnsctl_field(o, "deployment_id"));
	l->shown++;
	return 0;
}

/*
 * Prints each notice as it is loaded, in the order received: a store may
 * hold millions, more than a whole listing of them fits in memory.  A
 * failure part way leaves the JSON array unclosed, so that what was
 * printed cannot be taken for the whole.
 */
int
cmd_notices_list(const struct pns_config *cfg, int argc, char **argv)
{
	static const char	 usage[] = "notices list [--json] "
	    "[--status stored|pending|delivered|failed]";
	struct listing		 l = { cfg, NULL, 0, 0 };
	size_t			 i;

	for (i = 0; i < (size_t)argc; i++) {
		if (strcmp(argv[i], "--json") == 0 && !l.json)
			l.json = 1;
		else if (strcmp(argv[i], "--status") == 0 && l.status == NULL &&
		    i + 1 < (size_t)argc && pns_dstatus_parse(argv[i + 1]) >= 0)
			l.status = argv[++i];
		else
			return pnsctl_usage(usage);
	}
	if (pnsctl_notices_foreach(cfg, PNSCTL_RECEIVED, list_one, &l) != 0)
		return 1;
	if (l.json)
		(void)fputs(l.shown > 0 ? "\n]\n" : "[\n]\n", stdout);
	return 0;
}

static void
print_record(struct json_object *o)
{
	(void)printf("%s\n", json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
}

struct with_id {
	const char		*id;
	struct json_object	*found;
};

static int
add_if_id(struct json_object *o, void *arg)
{
	struct with_id	*w = arg;

	if (strcmp(pnsctl_str(o, "id"), w->id) != 0)
		return 0;
	if (json_object_array_add(w->found, json_object_get(o)) != 0) {
		json_object_put(o);
		return pnsctl_fail("out of memory");
	}
	return 0;
}

/*
 * The records of the notices with that id, oldest first; NULL after
 * printing why.  A notice id is unique per platform, so it may match a
 * few: only those are held.
 */
static struct json_object *
with_id(const struct pns_config *cfg, const char *id)
{
	struct with_id	w = { id, json_object_new_array() };

	if (w.found == NULL) {
		(void)pnsctl_fail("out of memory");
		return NULL;
	}
	if (pnsctl_notices_foreach(cfg, PNSCTL_RECEIVED, add_if_id, &w) != 0) {
		json_object_put(w.found);
		return NULL;
	}
	return w.found;
}

int
cmd_notices_show(const struct pns_config *cfg, int argc, char **argv)
{
	struct json_object	*arr, *o;
	struct pns_err		 err;
	size_t			 i, n;

	if (argc != 1)
		return pnsctl_usage("notices show ID");
	/* A key names its file: no need to read the whole store. */
	if (pns_nstore_key_valid(argv[0])) {
		pns_err_clear(&err);
		if (pns_nstore_get(cfg, argv[0], &o, &err) == 0) {
			if (pnsctl_add_delivery(cfg, o) == 0)
				print_record(o);
			json_object_put(o);
			return 0;
		}
		if (err.code != PNS_ENOENT)
			return pnsctl_fail("%s", err.msg);
	}
	if ((arr = with_id(cfg, argv[0])) == NULL)
		return 1;
	n = json_object_array_length(arr);
	for (i = 0; i < n; i++)
		if (pnsctl_add_delivery(cfg, json_object_array_get_idx(arr,
		    i)) != 0) {
			json_object_put(arr);
			return 1;
		}
	for (i = 0; i < n; i++)
		print_record(json_object_array_get_idx(arr, i));
	json_object_put(arr);
	if (n == 0)
		return pnsctl_fail("no notice with id or key %s", argv[0]);
	return 0;
}

/* The keys of the notices named by id-or-key arg, into keys. */
static int
keys_of(const struct pns_config *cfg, const char *arg,
    struct json_object *keys)
{
	struct json_object	*arr;
	size_t			 i, n;

	if (pns_nstore_key_valid(arg)) {
		json_object_array_add(keys, json_object_new_string(arg));
		return 0;
	}
	if ((arr = with_id(cfg, arg)) == NULL)
		return -1;
	n = json_object_array_length(arr);
	for (i = 0; i < n; i++)
		json_object_array_add(keys, json_object_new_string(pnsctl_str(
		    json_object_array_get_idx(arr, i), "key")));
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

struct prune {
	const struct pns_config	*cfg;
	time_t			 now;
	char			 cutoff[21];
	long			 removed, kept, live;
};

/*
 * Removing a notice forgets its id: the receiver takes the next token
 * carrying it for a new notice.  So however long ago it was received,
 * a notice stays while its token could still be accepted; a platform
 * may sign tokens that live for weeks, and a replay of one must still
 * be answered duplicate.
 */
static int
prune_one(struct json_object *o, void *arg)
{
	struct prune	*p = arg;
	struct pns_err	 err;
	const char	*st;
	int		 live;

	if (strcmp(pnsctl_str(o, "received_at"), p->cutoff) >= 0)
		return 0;
	if (pnsctl_add_delivery(p->cfg, o) != 0)
		return 1;
	/* What the application has not had yet stays. */
	st = delivery_status(o);
	if (strcmp(st, "pending") == 0 || strcmp(st, "failed") == 0) {
		p->kept++;
		return 0;
	}
	/*
	 * The receiver's own rule and leeway, from the configuration both
	 * read.  A receiver not restarted since the leeway was lowered
	 * would take a replay the difference longer (300 s at most).
	 */
	live = pns_claims_live(pns_json_obj(o, "claims"), p->now,
	    p->cfg->clock_leeway);
	if (live == 1) {
		p->live++;
		return 0;
	}
	/*
	 * The receiver stores no token without a numeric exp, so a record
	 * without one was not written by it as it is: how long a token of
	 * its id lives cannot be known, and it stays.  Traffic cannot add
	 * such records, so keeping them does not grow the store; the
	 * administrator is told which, to look at and remove by hand.
	 */
	if (live == -1) {
		(void)pnsctl_fail("notice %s: kept, its claims have no exp to "
		    "tell when its token expires", pnsctl_field(o, "key"));
		return 0;
	}
	pns_err_clear(&err);
	if (pns_nstore_remove(p->cfg, pnsctl_str(o, "key"), &err) == -1)
		return pnsctl_fail("%s", err.msg);
	p->removed++;
	return 0;
}

int
cmd_notices_prune(const struct pns_config *cfg, int argc, char **argv)
{
	struct prune	 p = { cfg, 0, "", 0, 0, 0 };
	const char	*errstr;
	long long	 days;

	if (argc != 2 || strcmp(argv[0], "--older-than") != 0)
		return pnsctl_usage("notices prune --older-than DAYS");
	/*
	 * At least a day: a pruned id is forgotten.  prune_one keeps a
	 * notice while its own token lives, against replays of it; a
	 * platform retrying a notice signs a new token, though, and the day
	 * is what lets a late retry still be answered duplicate.
	 */
	days = pns_strtonum(argv[1], 1, 36500, &errstr);
	if (errstr != NULL)
		return pnsctl_fail("DAYS is %s (1 to 36500)", errstr);
	p.now = time(NULL);
	pns_iso8601_fmt(p.now - (time_t)days * 86400, p.cutoff);
	/* Each notice is judged alone. */
	if (pnsctl_notices_foreach(cfg, PNSCTL_ANY_ORDER, prune_one, &p) != 0)
		return 1;
	(void)printf("%ld notice(s) removed, %ld older ones kept (pending or "
	    "failed), %ld kept while their token is still valid\n",
	    p.removed, p.kept, p.live);
	return 0;
}
