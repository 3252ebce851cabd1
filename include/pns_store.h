/* SPDX-License-Identifier: ISC */
/*
 * The layout of data_dir.  Every name below it that depends on outside
 * data is a SHA-256 over the fields (pns_hash_fields), never the data
 * itself, so no string from a request or a token ever becomes a path.
 *
 *   data_dir/              0700
 *     keys/tool.pem        the tool's RSA private key, 0600
 *     platforms/<h>.json   one platform: h = H(issuer, client_id)
 *     platforms/.lock      serialises read-modify-write of platforms
 *     jwks/<h>.json        cached key set of a platform: h = H(jwks_url)
 *     jwks/<h>.attempt     its mtime is the last fetch attempt
 *     jwks/<h>.lock        one fetch at a time per key set
 *     notices/<hh>/<h>.json one notice: h = H(iss, client_id, notice id),
 *                          hh its first two hex digits
 *     state/<h>.json       a pending OIDC login: h = H(state)
 *     tokens/<h>.json      a cached access token: h = H(token_url,
 *                          client_id, scope)
 *     handlers/<h>.json    notice-handler registration of a deployment:
 *                          h = H(issuer, client_id, deployment_id)
 *     handlers/<h>.lock    one registration at a time per deployment
 *     handlers/<h>.seen    its mtime is when the deployment's last new
 *                          notice arrived
 *     handlers/<h>.verified its mtime is when the deployment's last
 *                          hello-world notice arrived
 *     queue/<key>          a notice due for delivery to the application:
 *                          key as in notices/, content its attempts
 *     queue/.worker.<n>    held (flock) by the n-th delivery worker
 *     queue/.due           its mtime is when the next retry is due
 *     failed/<key>         a notice whose delivery gave up (dead letter)
 *     notices/<hh>/<key>.delivered  when and how it was delivered
 *     copies/<key>.json    a context copy, from the notice with that key
 */
#ifndef PNS_STORE_H
#define PNS_STORE_H

#include <json-c/json.h>

#include "pns_config.h"
#include "pns_err.h"

#define PNS_DIR_KEYS		"keys"
#define PNS_DIR_PLATFORMS	"platforms"
#define PNS_DIR_JWKS		"jwks"
#define PNS_DIR_NOTICES		"notices"
#define PNS_DIR_STATE		"state"
#define PNS_DIR_TOKENS		"tokens"
#define PNS_DIR_HANDLERS	"handlers"
#define PNS_DIR_QUEUE		"queue"
#define PNS_DIR_FAILED		"failed"
#define PNS_DIR_COPIES		"copies"

/* Creates data_dir and its subdirectories (0700); idempotent. */
int	pns_store_init(const struct pns_config *cfg, struct pns_err *err);

/* Fails with a hint to run "pnsctl init" when data_dir is not set up. */
int	pns_store_check(const struct pns_config *cfg, struct pns_err *err);

/* out = data_dir/sub[/name]; name may be NULL. */
int	pns_store_path(const struct pns_config *cfg, char *out, size_t size,
	    const char *sub, const char *name, struct pns_err *err);

/*
 * 1 when name is 64 lowercase hex digits followed by suffix ("" for
 * none): the name of a record or entry of data_dir, never a temporary
 * file (its name starts with a dot) or a lock.
 */
int	pns_store_name_valid(const char *name, const char *suffix);

/*
 * Calls fn(dir, name, arg) with each name in dir that
 * pns_store_name_valid takes with suffix.  fn returning non-zero stops
 * the walk and is returned.  A missing dir has no names when
 * missing_ok, else is an error.
 */
int	pns_store_foreach_name(const char *dir, const char *suffix,
	    int missing_ok, int (*fn)(const char *, const char *, void *),
	    void *arg, struct pns_err *err);

/*
 * Calls fn(name, text, len, arg) with each record of dir (the files
 * named <64 hex>.json), read whole (at most max bytes, NUL-terminated)
 * but not parsed: for a walk that needs one field of each record.  fn
 * returning non-zero stops the walk and is returned; a missing dir has
 * no records, and a file removed while the walk goes on is skipped.
 */
int	pns_store_foreach_text(const char *dir, size_t max,
	    int (*fn)(const char *, const char *, size_t, void *), void *arg,
	    struct pns_err *err);

/*
 * Calls fn with each record of dir: the files named <64 hex>.json
 * (temporary files start with a dot), each read (at most max bytes) and
 * parsed (at most depth levels).  fn returning non-zero stops the walk
 * and is returned; a missing dir has no records, and a file removed
 * while the walk goes on is skipped.  So is, with a warning, a file that
 * does not parse: what a power failure can leave under a record's name
 * (see pns_nstore_put) must not hide every other record.
 */
int	pns_store_foreach_json(const char *dir, size_t max, int depth,
	    int (*fn)(struct json_object *, void *), void *arg,
	    struct pns_err *err);

#endif
