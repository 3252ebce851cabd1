/* SPDX-License-Identifier: ISC */
/*
 * The notice store: one file per verified notice, named by the hash of
 * (iss, client_id, notice id) under a shard directory of its first two
 * hex digits.  Creating that name is the deduplication: a link or move
 * that refuses to replace (pns_create_exclusive) lets exactly one process
 * win, whatever the number of processes, and a lookup costs one path
 * resolution however many notices are stored.
 *
 * A record is a JSON object: key, id, type, timestamp, iss, client_id,
 * deployment_id, received_at, claims (the verified payload) and jwt.
 */
#ifndef PNS_NSTORE_H
#define PNS_NSTORE_H

#include <json-c/json.h>

#include "pns_config.h"
#include "pns_err.h"
#include "pns_notice.h"
#include "pns_util.h"

#define PNS_NOTICE_FILE_MAX	(2 * PNS_JWT_MAX)

/* 1 if key is a store key (64 lowercase hex digits), which alone may
 * name a file; NUL-terminated. */
int	pns_nstore_key_valid(const char *key);

/*
 * Stores the verified notice n received at received_at (ISO-8601).
 * Returns 0 when stored, 1 when a notice with its key was stored
 * already, -1 on error.  A name that a crash left without its whole
 * record does not count as stored: the record replaces it (0).  Nothing
 * is synced: the notice (and, for 1, the copy stored by someone else a
 * moment ago) is durable only once pns_commit_wait has returned 0 after
 * this call.
 */
int	pns_nstore_put(const struct pns_config *cfg, const struct pns_notice *n,
	    const char *received_at, struct pns_err *err);

/* Calls fn for every stored record (unsorted); stops when fn returns
 * non-zero and returns that value. */
int	pns_nstore_foreach(const struct pns_config *cfg,
	    int (*fn)(struct json_object *, void *), void *arg,
	    struct pns_err *err);

/*
 * As pns_nstore_foreach, oldest received first (the key breaks ties).
 * Holds 100 to 200 bytes per stored notice, never the records: a first
 * pass orders (received_at, key) pairs, a second loads each record in
 * turn.  A record removed between the passes is skipped; one stored
 * after the first is not seen.
 */
int	pns_nstore_foreach_received(const struct pns_config *cfg,
	    int (*fn)(struct json_object *, void *), void *arg,
	    struct pns_err *err);

/*
 * Loads the record with that 64-hex key; the caller owns *out.  A file
 * under its name that is not a whole record of that notice (what a crash
 * can leave, see pns_nstore_put) fails with PNS_EINVAL.
 */
int	pns_nstore_get(const struct pns_config *cfg, const char *key,
	    struct json_object **out, struct pns_err *err);

/* As pns_nstore_get, keeping the record's text in text as well (read
 * into it; its max bounds it). */
int	pns_nstore_load(const struct pns_config *cfg, const char *key,
	    struct pns_buf *text, struct json_object **out,
	    struct pns_err *err);

/*
 * Removes the stored notice key and its delivery record.  Its id is then
 * unknown again, and a token carrying it is a new notice: only for
 * notices whose stored token can no longer be accepted (pns_claims_live
 * on its claims says 0 with the configured leeway), however long ago
 * they were received.  pnsctl notices prune also keeps at least a day,
 * for platform retries, which come in new tokens.
 */
int	pns_nstore_remove(const struct pns_config *cfg, const char *key,
	    struct pns_err *err);

#endif
