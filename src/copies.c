/* SPDX-License-Identifier: ISC */
/* Context-copy records; see pns_copies.h. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pns_copies.h"
#include "pns_fs.h"
#include "pns_json.h"
#include "pns_store.h"
#include "banned.h"

#define RECORD_MAX	(256 * 1024)

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
	rc = pns_write_atomic(dir, name, text, strlen(text), err);
	json_object_put(o);
	return rc;
}

int
pns_copies_foreach(const struct pns_config *cfg,
    int (*fn)(struct json_object *, void *), void *arg, struct pns_err *err)
{
	char			 dir[PNS_FS_PATH_MAX], path[PNS_FS_PATH_MAX];
	struct pns_buf		 b;
	struct json_object	*o;
	struct dirent		*de;
	DIR			*d;
	int			 rc = 0;

	if (pns_store_path(cfg, dir, sizeof(dir), PNS_DIR_COPIES, NULL,
	    err) == -1)
		return -1;
	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : pns_err_sys(err, "opendir %s", dir);
	pns_buf_init(&b, RECORD_MAX);
	while (rc == 0 && (de = readdir(d)) != NULL) {
		/* <64 hex>.json; temporary files start with a dot. */
		if (strlen(de->d_name) != 69 || de->d_name[0] == '.')
			continue;
		pns_buf_reset(&b);
		if (pns_path_join(path, sizeof(path), dir, de->d_name,
		    err) == -1 || pns_read_file(path, &b, err) == -1 ||
		    pns_json_parse(b.data, b.len, PNS_JSON_DEPTH + 2, &o,
		    err) == -1) {
			rc = -1;
			break;
		}
		rc = fn(o, arg);
		json_object_put(o);
	}
	pns_buf_release(&b);
	(void)closedir(d);
	return rc;
}
