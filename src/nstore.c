/* SPDX-License-Identifier: ISC */
/* The notice store; see pns_nstore.h for its layout and guarantees. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pns_fs.h"
#include "pns_json.h"
#include "pns_log.h"
#include "pns_nstore.h"
#include "pns_store.h"
#include "pns_util.h"
#include "banned.h"

int
pns_nstore_key_valid(const char *key)
{
	return pns_store_name_valid(key, "");
}

static int
shard_dir(const struct pns_config *cfg, const char *key, char *out,
    size_t size, struct pns_err *err)
{
	char	shard[3] = { key[0], key[1], '\0' };
	char	top[PNS_FS_PATH_MAX];

	if (pns_store_path(cfg, top, sizeof(top), PNS_DIR_NOTICES, NULL,
	    err) == -1)
		return -1;
	return pns_path_join(out, size, top, shard, err);
}

/*
 * pns_store_init creates every shard; this only repairs a data_dir whose
 * shard was removed by hand, once a write has found it missing (a check
 * before every write would cost each notice a lookup).  The parent is
 * fsynced whoever made the directory, so the notice about to go in is
 * never under a name that a crash could lose.
 */
static int
repair_shard(const struct pns_config *cfg, const char *dir,
    struct pns_err *err)
{
	char	top[PNS_FS_PATH_MAX];

	if (pns_mkdir(dir, err) == -1 ||
	    pns_store_path(cfg, top, sizeof(top), PNS_DIR_NOTICES, NULL,
	    err) == -1)
		return -1;
	return pns_fsync_dir(top, err);
}

/* Every field but the jwt, which record_text adds. */
static struct json_object *
record(const struct pns_notice *n, const char *received_at)
{
	struct json_object	*o;

	if ((o = json_object_new_object()) == NULL)
		return NULL;
	json_object_object_add(o, "key", json_object_new_string(n->key));
	json_object_object_add(o, "id", json_object_new_string(n->id));
	json_object_object_add(o, "type", json_object_new_string(n->type));
	json_object_object_add(o, "timestamp",
	    json_object_new_string(n->timestamp));
	json_object_object_add(o, "iss", json_object_new_string(n->claims.iss));
	json_object_object_add(o, "client_id",
	    json_object_new_string(n->claims.client_id));
	json_object_object_add(o, "deployment_id",
	    json_object_new_string(n->deployment_id));
	json_object_object_add(o, "received_at",
	    json_object_new_string(received_at));
	json_object_object_add(o, "claims", json_object_get(n->jws.payload));
	return o;
}

/*
 * The record as one JSON text, the jwt last.  A verified token is
 * base64url and dots, so it is copied as it came rather than built as a
 * json-c string and escaped character by character: it is over half of
 * every record.  Anything else goes through json-c.
 */
static int
record_text(const struct pns_notice *n, const char *received_at,
    struct pns_buf *b, struct pns_err *err)
{
	struct json_object	*o;
	const char		*text;
	size_t			 len;
	int			 plain, rc;

	if ((o = record(n, received_at)) == NULL)
		return pns_err_set(err, PNS_ENOMEM, "out of memory");
	if (!(plain = pns_b64url_plain(n->token, n->token_len)))
		json_object_object_add(o, "jwt",
		    json_object_new_string_len(n->token, (int)n->token_len));
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	len = strlen(text);
	if (!plain)
		rc = pns_buf_add(b, text, len, err);
	else if (len < 2 || text[len - 1] != '}')
		rc = pns_err_set(err, PNS_EINVAL, "record is not an object");
	else	/* The jwt goes before the object's closing '}'. */
		rc = pns_buf_add(b, text, len - 1, err) == -1 ||
		    pns_buf_adds(b, ",\"jwt\":\"", err) == -1 ||
		    pns_buf_add(b, n->token, n->token_len, err) == -1 ||
		    pns_buf_adds(b, "\"}", err) == -1 ? -1 : 0;
	json_object_put(o);
	return rc;
}

/*
 * Parses the record text of the notice key into *out: 0, or -1 with
 * PNS_EINVAL when it is not a whole record of that notice.
 *
 * The receiver never shows a partial record under a notice's name: the
 * content is complete before the name appears.  A power failure can
 * still leave one.  ext4 allocates a new file's blocks when it writes
 * them back, so its directory entry and inode can reach the disk before
 * its data: after the restart the name is there, the content empty or
 * zero-filled, or, without a journal, some deleted file's old blocks.
 */
static int
parse_record(const char *key, const char *buf, size_t len,
    struct json_object **out, struct pns_err *err)
{
	const char	*k;

	if (pns_json_parse(buf, len, PNS_JSON_DEPTH + 2, out, err) == -1)
		return -1;
	if ((k = pns_json_str(*out, "key")) == NULL || strcmp(k, key) != 0) {
		json_object_put(*out);
		*out = NULL;
		return pns_err_set(err, PNS_EINVAL,
		    "not a whole record of notice %s", key);
	}
	return 0;
}

/* "<key>.json" names the record of key; the walks take the key from it. */
static void
key_of(const char *name, char key[65])
{
	memcpy(key, name, 64);
	key[64] = '\0';
}

/* Reads the record of key at path into text and parses it (*out). */
static int
load_record(const char *path, const char *key, struct pns_buf *text,
    struct json_object **out, struct pns_err *err)
{
	*out = NULL;
	if (pns_read_file(path, text, err) == -1)
		return -1;
	return parse_record(key, text->data, text->len, out, err);
}

/*
 * 1 if the file at path holds a whole record of the notice key, 0 if it
 * holds something else, -1 if it cannot be read.  A notice whose name a
 * crash left without its record was never acknowledged (the crash came
 * before its sync ended), so the platform sends it again; calling the
 * retry a duplicate would acknowledge a notice whose record is lost.
 */
static int
record_whole(const char *path, const char *key, struct pns_err *err)
{
	struct json_object	*o;
	struct pns_buf		 b;
	struct pns_err		 lerr;
	int			 rc;

	pns_buf_init(&b, PNS_NOTICE_FILE_MAX);
	pns_err_clear(&lerr);
	if ((rc = load_record(path, key, &b, &o, &lerr)) == 0)
		rc = 1;
	/* Not a record of key, too long to be one, or removed since. */
	else if (lerr.code == PNS_EINVAL || lerr.code == PNS_ELIMIT ||
	    lerr.code == PNS_ENOENT)
		rc = 0;
	else
		rc = pns_err_set(err, lerr.code, "%s", lerr.msg);
	json_object_put(o);
	pns_buf_release(&b);
	return rc;
}

/*
 * The name of n was taken: 1 if by a whole record (a duplicate), else 0
 * once the record text has replaced what a crash left there.  Two
 * receivers of the same retry may both replace it; each puts a whole
 * record of the same notice, and both answer "accepted".
 */
static int
settle_taken(const char *dir, const char *name, const char *key,
    const struct pns_buf *text, struct pns_err *err)
{
	char	path[PNS_FS_PATH_MAX];
	int	whole;

	if (pns_path_join(path, sizeof(path), dir, name, err) == -1 ||
	    (whole = record_whole(path, key, err)) == -1)
		return -1;
	if (whole)
		return 1;
	pns_log(PNS_LOG_WARN, "notice %s: replacing what a crash left "
	    "under its name (%s)", key, path);
	return pns_write_atomic(dir, name, text->data, text->len, err);
}

int
pns_nstore_put(const struct pns_config *cfg, const struct pns_notice *n,
    const char *received_at, struct pns_err *err)
{
	struct pns_buf	 b;
	struct pns_err	 first;
	char		 dir[PNS_FS_PATH_MAX], name[80];
	int		 rc;

	if (shard_dir(cfg, n->key, dir, sizeof(dir), err) == -1)
		return -1;
	(void)snprintf(name, sizeof(name), "%s.json", n->key);
	pns_buf_init(&b, PNS_NOTICE_FILE_MAX);
	if ((rc = record_text(n, received_at, &b, err)) == 0) {
		pns_err_clear(&first);
		rc = pns_create_exclusive(dir, name, b.data, b.len, 1, &first);
		if (rc == -1 && errno == ENOENT && access(dir, F_OK) == -1)
			rc = repair_shard(cfg, dir, err) == -1 ? -1 :
			    pns_create_exclusive(dir, name, b.data, b.len, 1,
			    err);
		else if (rc == -1)
			(void)pns_err_set(err, first.code, "%s", first.msg);
		if (rc == 1)
			rc = settle_taken(dir, name, n->key, &b, err);
	}
	pns_buf_release(&b);
	return rc;
}

int
pns_nstore_load(const struct pns_config *cfg, const char *key,
    struct pns_buf *text, struct json_object **out, struct pns_err *err)
{
	char	dir[PNS_FS_PATH_MAX], path[PNS_FS_PATH_MAX], name[80];

	*out = NULL;
	if (!pns_nstore_key_valid(key))
		return pns_err_set(err, PNS_EINVAL, "not a notice key");
	(void)snprintf(name, sizeof(name), "%s.json", key);
	if (shard_dir(cfg, key, dir, sizeof(dir), err) == -1 ||
	    pns_path_join(path, sizeof(path), dir, name, err) == -1)
		return -1;
	return load_record(path, key, text, out, err);
}

int
pns_nstore_get(const struct pns_config *cfg, const char *key,
    struct json_object **out, struct pns_err *err)
{
	struct pns_buf	b;
	int		rc;

	pns_buf_init(&b, PNS_NOTICE_FILE_MAX);
	rc = pns_nstore_load(cfg, key, &b, out, err);
	pns_buf_release(&b);
	return rc;
}

/* Calls fn(dir, arg) with each of the 256 shard directories in turn. */
static int
foreach_shard(const struct pns_config *cfg,
    int (*fn)(const char *, void *), void *arg, struct pns_err *err)
{
	static const char	hex[] = "0123456789abcdef";
	char			top[PNS_FS_PATH_MAX], dir[PNS_FS_PATH_MAX];
	char			shard[3];
	int			i, rc = 0;

	if (pns_store_path(cfg, top, sizeof(top), PNS_DIR_NOTICES, NULL,
	    err) == -1)
		return -1;
	for (i = 0; rc == 0 && i < 256; i++) {
		shard[0] = hex[i / 16];
		shard[1] = hex[i % 16];
		shard[2] = '\0';
		if (pns_path_join(dir, sizeof(dir), top, shard, err) == -1)
			return -1;
		rc = fn(dir, arg);
	}
	return rc;
}

/*
 * A walk passes over a file that is not a whole record, saying so: one
 * left by a crash (see parse_record) must not hide every other notice
 * from pnsctl.  The receiver replaces it if the notice comes again.
 */
static void
skip_broken(const char *key, const struct pns_err *why)
{
	pns_log(PNS_LOG_WARN, "notice %s: skipped, not a whole record (%s)",
	    key, why->msg);
}

struct records {
	int		(*fn)(struct json_object *, void *);
	void		 *arg;
	struct pns_err	 *err;
};

static int
record_one(const char *name, const char *buf, size_t len, void *arg)
{
	struct records		*r = arg;
	struct json_object	*rec;
	struct pns_err		 perr;
	char			 key[65];
	int			 rc;

	key_of(name, key);
	pns_err_clear(&perr);
	if (parse_record(key, buf, len, &rec, &perr) == -1) {
		if (perr.code != PNS_EINVAL)
			return pns_err_set(r->err, perr.code, "%s", perr.msg);
		skip_broken(key, &perr);
		return 0;
	}
	rc = r->fn(rec, r->arg);
	json_object_put(rec);
	return rc;
}

static int
shard_records(const char *dir, void *arg)
{
	struct records	*r = arg;

	return pns_store_foreach_text(dir, PNS_NOTICE_FILE_MAX, record_one, r,
	    r->err);
}

int
pns_nstore_foreach(const struct pns_config *cfg,
    int (*fn)(struct json_object *, void *), void *arg,
    struct pns_err *err)
{
	struct records	r = { fn, arg, err };

	return foreach_shard(cfg, shard_records, &r, err);
}

/*
 * What the ordered walk keeps of a record between its two passes: about
 * 100 bytes, against some 11 KiB for the record parsed.  The receiver
 * writes received_at in 27 characters; a longer one (written by hand)
 * is ordered by its first 31.
 */
struct received {
	char	at[32];
	char	key[65];
};

struct index {
	struct received	*v;
	size_t		 n, size;
	struct pns_err	*err;
};

/*
 * One record's (received_at, key): the key is its file's name, which the
 * walk has checked; received_at is scanned for in the text, since parsing
 * a whole record (claims, 1.5 KB of token) to read 27 bytes was most of
 * the first pass.  A record the scan cannot read is parsed.
 */
static int
index_add(const char *name, const char *buf, size_t len, void *arg)
{
	struct index		*ix = arg;
	struct received		*v;
	struct json_object	*rec;
	const char		*at;
	size_t			 size;

	if (ix->n == ix->size) {
		size = ix->size == 0 ? 1024 : ix->size * 2;
		if (size > SIZE_MAX / sizeof(*v) ||
		    (v = realloc(ix->v, size * sizeof(*v))) == NULL)
			return pns_err_set(ix->err, PNS_ENOMEM,
			    "out of memory");
		ix->v = v;
		ix->size = size;
	}
	v = &ix->v[ix->n];
	memcpy(v->key, name, sizeof(v->key) - 1);
	v->key[sizeof(v->key) - 1] = '\0';
	switch (pns_json_scan_str(buf, len, "received_at", v->at,
	    sizeof(v->at))) {
	case 1:
		break;
	case 0:
		v->at[0] = '\0';
		break;
	default:
		/* Not a whole record: the second pass skips it, saying so. */
		if (pns_json_parse(buf, len, PNS_JSON_DEPTH + 2, &rec,
		    NULL) == -1) {
			v->at[0] = '\0';
			break;
		}
		at = pns_json_str(rec, "received_at");
		(void)snprintf(v->at, sizeof(v->at), "%s", at != NULL ? at : "");
		json_object_put(rec);
	}
	ix->n++;
	return 0;
}

/* The first pass: every record's (received_at, key), unsorted. */
static int
shard_index(const char *dir, void *arg)
{
	struct index	*ix = arg;

	return pns_store_foreach_text(dir, PNS_NOTICE_FILE_MAX, index_add, ix,
	    ix->err);
}

/* Oldest first; the key breaks ties so the order is stable. */
static int
by_received(const void *a, const void *b)
{
	const struct received	*x = a, *y = b;
	int			 c;

	if ((c = strcmp(x->at, y->at)) != 0)
		return c;
	return strcmp(x->key, y->key);
}

int
pns_nstore_foreach_received(const struct pns_config *cfg,
    int (*fn)(struct json_object *, void *), void *arg,
    struct pns_err *err)
{
	struct index		 ix = { NULL, 0, 0, err };
	struct json_object	*rec;
	struct pns_err		 gerr;
	size_t			 i;
	int			 rc;

	if ((rc = foreach_shard(cfg, shard_index, &ix, err)) != 0) {
		free(ix.v);
		return rc;
	}
	if (ix.n > 1)
		qsort(ix.v, ix.n, sizeof(*ix.v), by_received);
	for (i = 0; rc == 0 && i < ix.n; i++) {
		pns_err_clear(&gerr);
		if (pns_nstore_get(cfg, ix.v[i].key, &rec, &gerr) == -1) {
			/* Removed since the first pass: pruned meanwhile. */
			if (gerr.code == PNS_ENOENT)
				continue;
			if (gerr.code == PNS_EINVAL) {
				skip_broken(ix.v[i].key, &gerr);
				continue;
			}
			rc = pns_err_set(err, gerr.code, "%s", gerr.msg);
			break;
		}
		rc = fn(rec, arg);
		json_object_put(rec);
	}
	free(ix.v);
	return rc;
}

int
pns_nstore_remove(const struct pns_config *cfg, const char *key,
    struct pns_err *err)
{
	static const char *const suffixes[] = { ".json", ".delivered" };
	char	dir[PNS_FS_PATH_MAX], path[PNS_FS_PATH_MAX], name[80];
	size_t	i;

	if (!pns_nstore_key_valid(key))
		return pns_err_set(err, PNS_EINVAL, "not a notice key");
	if (shard_dir(cfg, key, dir, sizeof(dir), err) == -1)
		return -1;
	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		(void)snprintf(name, sizeof(name), "%s%s", key, suffixes[i]);
		if (pns_path_join(path, sizeof(path), dir, name, err) == -1)
			return -1;
		if (unlink(path) == -1 && errno != ENOENT)
			return pns_err_sys(err, "unlink %s", path);
	}
	return pns_fsync_dir(dir, err);
}
