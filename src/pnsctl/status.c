/* SPDX-License-Identifier: ISC */
/*
 * pnsctl dispatch, status and contexts copies: delivering what is due,
 * and seeing the flow per deployment.
 */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "pns_copies.h"
#include "pns_deliver.h"
#include "pns_handlers.h"
#include "pns_json.h"
#include "pns_platform.h"
#include "pns_util.h"
#include "pnsctl.h"
#include "banned.h"

static int
json_flag(int argc, char **argv, const char *usage, int *json)
{
	*json = 0;
	if (argc == 1 && strcmp(argv[0], "--json") == 0)
		*json = 1;
	else if (argc != 0)
		return pnsctl_usage(usage);
	return 0;
}

static void
print_json(struct json_object *o)
{
	(void)printf("%s\n", json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
}

int
cmd_dispatch(const struct pns_config *cfg, int argc, char **argv)
{
	struct pns_dispatch_stats	st;
	struct pns_err			err;

	(void)argv;
	if (argc != 0)
		return pnsctl_usage("dispatch");
	if (!pns_deliver_configured(cfg))
		return pnsctl_fail("no delivery is configured (deliver_command "
		    "or deliver_url, see docs/delivery.md)");
	pns_err_clear(&err);
	if (pns_dispatch(cfg, 0, &st, &err) == -1)
		return pnsctl_fail("%s", err.msg);
	if (st.busy)
		(void)printf("all %ld delivery workers are busy; nothing "
		    "to do\n", cfg->deliver_workers);
	else
		(void)printf("%ld delivered, %ld to retry, %ld failed\n",
		    st.delivered, st.retried, st.failed);
	return 0;
}

/* One row of status: a deployment and what the store says of it. */
static struct json_object *
deployment_status(const struct pns_config *cfg, const struct pns_platform *p,
    const char *dep)
{
	struct pns_handlers_status	 hs;
	struct json_object		*o, *h;
	struct pns_err			 err;
	time_t				 t;
	char				 when[21];

	if ((o = json_object_new_object()) == NULL)
		return NULL;
	json_object_object_add(o, "issuer", json_object_new_string(p->issuer));
	json_object_object_add(o, "client_id",
	    json_object_new_string(p->client_id));
	json_object_object_add(o, "deployment_id", json_object_new_string(dep));
	pns_err_clear(&err);
	if (pns_handlers_status(cfg, p, dep, &hs, &err) == 0 &&
	    (h = json_object_new_object()) != NULL) {
		json_object_object_add(h, "types",
		    json_object_new_string(hs.types));
		json_object_object_add(h, "registered_at",
		    json_object_new_string(hs.registered_at));
		json_object_object_add(h, "last_error",
		    json_object_new_string(hs.last_error));
		json_object_object_add(o, "handlers", h);
	}
	t = pns_handlers_stamp_time(cfg, PNS_STAMP_VERIFIED, p->issuer,
	    p->client_id, dep);
	pns_iso8601_fmt(t, when);
	json_object_object_add(o, "channel_verified_at", t != 0 ?
	    json_object_new_string(when) : NULL);
	t = pns_handlers_stamp_time(cfg, PNS_STAMP_SEEN, p->issuer,
	    p->client_id, dep);
	pns_iso8601_fmt(t, when);
	json_object_object_add(o, "last_notice_at", t != 0 ?
	    json_object_new_string(when) : NULL);
	json_object_object_add(o, "notices_by_type", json_object_new_object());
	json_object_object_add(o, "notices_by_status",
	    json_object_new_object());
	return o;
}

struct rows {
	const struct pns_config	*cfg;
	struct json_object	*rows;
};

static int
add_platform(const struct pns_platform *p, void *arg)
{
	struct rows		*r = arg;
	struct json_object	*o;
	size_t			 i;

	for (i = 0; i < p->ndeployments; i++) {
		if ((o = deployment_status(r->cfg, p, p->deployments[i])) ==
		    NULL)
			return -1;
		json_object_array_add(r->rows, o);
	}
	return 0;
}

/* One more notice counted under name; 0, or -1 out of memory. */
static int
count(struct json_object *counts, const char *name)
{
	struct json_object	*c;

	if (json_object_object_get_ex(counts, name, &c))
		return json_object_int_inc(c, 1) ? 0 : -1;
	if ((c = json_object_new_int64(1)) == NULL)
		return -1;
	if (json_object_object_add(counts, name, c) != 0) {
		json_object_put(c);
		return -1;
	}
	return 0;
}

struct tally {
	const struct pns_config	*cfg;
	struct json_object	*rows;
};

/* Adds the notice n to the counts of its deployment's row. */
static int
tally_one(struct json_object *n, void *arg)
{
	struct tally		*t = arg;
	struct json_object	*row;
	size_t			 j, nr = json_object_array_length(t->rows);

	for (j = 0; j < nr; j++) {
		row = json_object_array_get_idx(t->rows, j);
		if (strcmp(pnsctl_str(row, "issuer"),
		    pnsctl_str(n, "iss")) != 0 ||
		    strcmp(pnsctl_str(row, "client_id"),
		    pnsctl_str(n, "client_id")) != 0 ||
		    strcmp(pnsctl_str(row, "deployment_id"),
		    pnsctl_str(n, "deployment_id")) != 0)
			continue;
		if (pnsctl_add_delivery(t->cfg, n) != 0)
			return 1;
		if (count(pns_json_obj(row, "notices_by_type"),
		    pnsctl_str(n, "type")) != 0 ||
		    count(pns_json_obj(row, "notices_by_status"),
		    pnsctl_str(pns_json_obj(n, "delivery"), "status")) != 0)
			return pnsctl_fail("out of memory");
		break;
	}
	return 0;
}

/*
 * Counts the stored notices per deployment, by type and by status, a
 * notice at a time; 1 after printing why.  Oldest first, so that each
 * count's names come in the order "notices list" first shows them.
 */
static int
tally(const struct pns_config *cfg, struct json_object *rows)
{
	struct tally	t = { cfg, rows };

	return pnsctl_notices_foreach(cfg, PNSCTL_RECEIVED, tally_one, &t);
}

static void
print_counts(const char *label, struct json_object *counts)
{
	struct json_object_iterator	it, end;

	(void)printf("  %s:", label);
	if (json_object_object_length(counts) == 0)
		(void)printf(" none");
	it = json_object_iter_begin(counts);
	end = json_object_iter_end(counts);
	for (; !json_object_iter_equal(&it, &end);
	    json_object_iter_next(&it))
		(void)printf(" %s %lld",
		    pnsctl_text(json_object_iter_peek_name(&it)),
		    (long long)json_object_get_int64(
		    json_object_iter_peek_value(&it)));
	(void)printf("\n");
}

int
cmd_status(const struct pns_config *cfg, int argc, char **argv)
{
	struct json_object	*rows, *top, *q, *row, *h;
	struct rows		 r;
	struct pns_err		 err;
	long			 pending = 0, failed = 0;
	size_t			 i, n;
	int			 json, rc;

	if ((rc = json_flag(argc, argv, "status [--json]", &json)) != 0)
		return rc;
	if ((rows = json_object_new_array()) == NULL)
		return pnsctl_fail("out of memory");
	r.cfg = cfg;
	r.rows = rows;
	pns_err_clear(&err);
	if (pns_platform_foreach(cfg, add_platform, &r, &err) != 0 ||
	    pns_deliver_counts(cfg, &pending, &failed, &err) == -1) {
		json_object_put(rows);
		return pnsctl_fail("%s", err.msg[0] ? err.msg :
		    "out of memory");
	}
	if (tally(cfg, rows) != 0) {
		json_object_put(rows);
		return 1;
	}
	top = json_object_new_object();
	q = json_object_new_object();
	json_object_object_add(q, "pending", json_object_new_int64(pending));
	json_object_object_add(q, "failed", json_object_new_int64(failed));
	json_object_object_add(top, "deployments", rows);
	json_object_object_add(top, "delivery", q);
	if (json)
		print_json(top);
	else {
		n = json_object_array_length(rows);
		for (i = 0; i < n; i++) {
			row = json_object_array_get_idx(rows, i);
			h = pns_json_obj(row, "handlers");
			(void)printf("%s %s deployment %s\n",
			    pnsctl_field(row, "issuer"),
			    pnsctl_field(row, "client_id"),
			    pnsctl_field(row, "deployment_id"));
			(void)printf("  handlers: %s (registered %s)\n",
			    h != NULL && *pnsctl_str(h, "types") ?
			    pnsctl_field(h, "types") : "none",
			    pnsctl_field(h, "registered_at"));
			if (h != NULL && *pnsctl_str(h, "last_error"))
				(void)printf("  last registration error: %s\n",
				    pnsctl_field(h, "last_error"));
			(void)printf("  channel verified: %s\n",
			    pns_json_str(row, "channel_verified_at") ?
			    pnsctl_str(row, "channel_verified_at") : "no");
			(void)printf("  last notice: %s\n",
			    pnsctl_str(row, "last_notice_at"));
			print_counts("notices by type",
			    pns_json_obj(row, "notices_by_type"));
			print_counts("notices by status",
			    pns_json_obj(row, "notices_by_status"));
		}
		(void)printf("delivery: %ld pending, %ld failed\n", pending,
		    failed);
	}
	json_object_put(top);
	return 0;
}

static int
collect(struct json_object *rec, void *arg)
{
	return json_object_array_add(arg, json_object_get(rec)) == 0 ? 0 : -1;
}

/* Newest copy last, as they happened. */
static int
by_copied(const void *a, const void *b)
{
	struct json_object	*x = *(struct json_object *const *)a;
	struct json_object	*y = *(struct json_object *const *)b;
	int			 c;

	if ((c = strcmp(pnsctl_str(x, "copied_at"),
	    pnsctl_str(y, "copied_at"))) != 0)
		return c;
	return strcmp(pnsctl_str(x, "notice_id"), pnsctl_str(y, "notice_id"));
}

int
cmd_contexts_copies(const struct pns_config *cfg, int argc, char **argv)
{
	struct json_object	*arr, *o, *origins;
	struct pns_err		 err;
	size_t			 i, j, n;
	int			 json, rc;

	if ((rc = json_flag(argc, argv, "contexts copies [--json]",
	    &json)) != 0)
		return rc;
	if ((arr = json_object_new_array()) == NULL)
		return pnsctl_fail("out of memory");
	pns_err_clear(&err);
	if (pns_copies_foreach(cfg, collect, arr, &err) != 0) {
		json_object_put(arr);
		return pnsctl_fail("%s", err.msg[0] ? err.msg : "cannot list");
	}
	json_object_array_sort(arr, by_copied);
	if (json)
		print_json(arr);
	n = json ? 0 : json_object_array_length(arr);
	for (i = 0; i < n; i++) {
		o = json_object_array_get_idx(arr, i);
		(void)printf("%s  context %s (%s) copied from",
		    pnsctl_field(o, "copied_at"),
		    pnsctl_field(pns_json_obj(o, "context"), "id"),
		    pnsctl_field(pns_json_obj(o, "context"), "title"));
		origins = pns_json_arr(o, "origin_contexts");
		if (origins == NULL || json_object_array_length(origins) == 0)
			(void)printf(" no course");
		for (j = 0; origins != NULL &&
		    j < json_object_array_length(origins); j++)
			(void)printf(" %s", pnsctl_text(json_object_get_string(
			    json_object_array_get_idx(origins, j))));
		(void)printf("  [%s %s deployment %s]\n",
		    pnsctl_field(o, "iss"), pnsctl_field(o, "client_id"),
		    pnsctl_field(o, "deployment_id"));
	}
	json_object_put(arr);
	return 0;
}
