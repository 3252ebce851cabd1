/* SPDX-License-Identifier: ISC */
/* Context-copy records; see pns_copies.h. */
#include <stdio.h>
#include <string.h>

#include "pns_copies.h"
#include "pns_fs.h"
#include "pns_json.h"
#include "pns_store.h"
#include "banned.h"

#define RECORD_MAX	(256 * 1024)

/*
 * 1 if dir/name holds the whole record of n.  Only a notice stored (not
 * a duplicate) is recorded, so a record found under its name was left
 * by a power failure that cut the notice short (pns_nstore_put) or, when
 * two processes both replaced such a notice, written a moment ago.
 */
static int
record_whole(const char *dir, const char *name, const struct pns_notice *n)
{
	struct json_object	*o;
	char			 path[PNS_FS_PATH_MAX];
	const char		*id, *iss, *cid;
	int			 whole = 0;

	if (pns_path_join(path, sizeof(path), dir, name, NULL) == -1)
		return 0;
	if (pns_json_load(path, RECORD_MAX, PNS_JSON_DEPTH + 2, &o,
	    NULL) == 0) {
		id = pns_json_str(o, "notice_id");
		iss = pns_json_str(o, "iss");
		cid = pns_json_str(o, "client_id");
		whole = id != NULL && iss != NULL && cid != NULL &&
		    strcmp(id, n->id) == 0 && strcmp(iss, n->claims.iss) == 0 &&
		    strcmp(cid, n->claims.client_id) == 0;
		json_object_put(o);
	}
	return whole;
}

int
pns_copies_record(const struct pns_config *cfg, const struct pns_notice *n,
    struct pns_err *err)
{
	struct json_object	*o, *origins;
	const char		*text;
	char			 dir[PNS_FS_PATH_MAX], name[80];
	int			 rc;

	if (pns_store_path(cfg, dir, sizeof(dir), PNS_DIR_COPIES, NULL,
	    err) == -1)
		return -1;
	if ((o = json_object_new_object()) == NULL)
		return pns_err_set(err, PNS_ENOMEM, "out of memory");
	json_object_object_add(o, "notice_id", json_object_new_string(n->id));
	json_object_object_add(o, "iss", json_object_new_string(n->claims.iss));
	json_object_object_add(o, "client_id",
	    json_object_new_string(n->claims.client_id));
	json_object_object_add(o, "deployment_id",
	    json_object_new_string(n->deployment_id));
	json_object_object_add(o, "context", json_object_get(
	    pns_json_obj(n->jws.payload, PNS_CLAIM_N_CONTEXT)));
	if ((origins = pns_json_arr(n->jws.payload, PNS_CLAIM_ORIGINS)) != NULL)
		json_object_object_add(o, "origin_contexts",
		    json_object_get(origins));
	json_object_object_add(o, "copied_at",
	    json_object_new_string(n->timestamp));
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	(void)snprintf(name, sizeof(name), "%s.json", n->key);
	rc = pns_create_exclusive(dir, name, text, strlen(text), 1, err);
	if (rc == 1 && !record_whole(dir, name, n))
		rc = pns_write_atomic(dir, name, text, strlen(text), err);
	json_object_put(o);
	return rc == -1 ? -1 : 0;
}

int
pns_copies_foreach(const struct pns_config *cfg,
    int (*fn)(struct json_object *, void *), void *arg, struct pns_err *err)
{
	char	dir[PNS_FS_PATH_MAX];

	if (pns_store_path(cfg, dir, sizeof(dir), PNS_DIR_COPIES, NULL,
	    err) == -1)
		return -1;
	return pns_store_foreach_json(dir, RECORD_MAX, PNS_JSON_DEPTH + 2, fn,
	    arg, err);
}
