/* SPDX-License-Identifier: ISC */
/* pnsctl handlers list|sync|remove: notice-handler registrations. */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "pns_handlers.h"
#include "pns_json.h"
#include "pnsctl.h"
#include "banned.h"

static const char *
s(struct json_object *o, const char *key)
{
	const char	*v = pns_json_str(o, key);

	return v != NULL && *v != '\0' ? v : "-";
}

static int
collect(struct json_object *rec, void *arg)
{
	return json_object_array_add(arg, json_object_get(rec)) == 0 ? 0 : -1;
}

static struct json_object *
all_records(const struct pns_config *cfg)
{
	struct json_object	*arr = json_object_new_array();
	struct pns_err		 err;

	pns_err_clear(&err);
	if (arr == NULL || pns_handlers_foreach(cfg, collect, arr, &err) != 0) {
		(void)pnsctl_fail("%s", err.msg[0] ? err.msg : "out of memory");
		json_object_put(arr);
		return NULL;
	}
	return arr;
}

int
cmd_handlers_list(const struct pns_config *cfg, int argc, char **argv)
{
	struct json_object	*arr, *o;
	size_t			 i, n;
	int			 json = 0;

	if (argc == 1 && strcmp(argv[0], "--json") == 0)
		json = 1;
	else if (argc != 0)
		return pnsctl_usage("handlers list [--json]");
	if ((arr = all_records(cfg)) == NULL)
		return 1;
	if (json)
		(void)printf("%s\n", json_object_to_json_string_ext(arr,
		    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	n = json ? 0 : json_object_array_length(arr);
	for (i = 0; i < n; i++) {
		o = json_object_array_get_idx(arr, i);
		(void)printf("%s %s deployment %s\n  handler %s\n  types %s "
		    "(registered %s)\n  last error %s\n",
		    pnsctl_text(s(o, "issuer")), pnsctl_text(s(o, "client_id")),
		    pnsctl_text(s(o, "deployment_id")),
		    pnsctl_text(s(o, "handler")), pnsctl_text(s(o, "types")),
		    pnsctl_text(s(o, "registered_at")),
		    pnsctl_text(s(o, "last_error")));
	}
	json_object_put(arr);
	return 0;
}

/* The one record of a deployment id; NULL (and a message) otherwise. */
static struct json_object *
record_of(struct json_object *arr, const char *deployment)
{
	struct json_object	*o, *found = NULL;
	size_t			 i, n = json_object_array_length(arr);
	int			 matches = 0;

	for (i = 0; i < n; i++) {
		o = json_object_array_get_idx(arr, i);
		if (strcmp(s(o, "deployment_id"), deployment) == 0) {
			found = o;
			matches++;
		}
	}
	if (matches == 1)
		return found;
	(void)pnsctl_fail(matches == 0 ? "no registration for deployment %s" :
	    "deployment %s is registered with several platforms", deployment);
	return NULL;
}

int
cmd_handlers_sync(const struct pns_config *cfg, int argc, char **argv)
{
	struct json_object	*arr, *rec;
	struct pns_err		 err;
	int			 rc = 1;

	if (argc != 1)
		return pnsctl_usage("handlers sync DEPLOYMENT");
	if ((arr = all_records(cfg)) == NULL)
		return 1;
	pns_err_clear(&err);
	if ((rec = record_of(arr, argv[0])) != NULL) {
		if (pns_handlers_reconcile(cfg, rec, &err) == -1)
			(void)pnsctl_fail("%s", err.msg);
		else {
			(void)printf("deployment %s: registered types %s\n",
			    argv[0], s(rec, "types"));
			rc = 0;
		}
	}
	json_object_put(arr);
	return rc;
}

int
cmd_handlers_remove(const struct pns_config *cfg, int argc, char **argv)
{
	struct json_object	*arr, *rec;
	struct pns_err		 err;
	int			 rc = 1;

	if (argc != 2)
		return pnsctl_usage("handlers remove DEPLOYMENT TYPE");
	if ((arr = all_records(cfg)) == NULL)
		return 1;
	pns_err_clear(&err);
	if ((rec = record_of(arr, argv[0])) != NULL) {
		if (pns_handlers_remove(cfg, rec, argv[1], &err) == -1)
			(void)pnsctl_fail("%s", err.msg);
		else {
			(void)printf("deployment %s: %s unsubscribed\n", argv[0],
			    argv[1]);
			rc = 0;
		}
	}
	json_object_put(arr);
	return rc;
}
