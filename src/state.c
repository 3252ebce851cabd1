/* SPDX-License-Identifier: ISC */
/* One-time OIDC state and nonce records; see pns_state.h. */
#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "pns_fs.h"
#include "pns_json.h"
#include "pns_state.h"
#include "pns_store.h"
#include "banned.h"

#define STATE_FILE_MAX	(16 * 1024)
#define SWEEP_INTERVAL	60		/* seconds between sweeps */
#define SWEEP_STAMP	".swept"	/* its mtime: the last sweep */

static int
random_b64(char out[PNS_STATE_LEN + 1], struct pns_err *err)
{
	unsigned char	raw[32];

	if (pns_random(raw, sizeof(raw), err) == -1)
		return -1;
	(void)pns_b64url_encode(raw, sizeof(raw), out);
	return 0;
}

static void
state_name(const char *state, char name[80])
{
	const char	*f[1] = { state };
	char		 h[65];

	pns_hash_fields(h, 1, f);
	(void)snprintf(name, 80, "%s.json", h);
}

/*
 * Removes the records of logins that were never completed, by the age of
 * the file (written once, when the login began), at most once a
 * SWEEP_INTERVAL: a login must not pay for reading every pending one, or
 * a flood of /login requests would make each later login slower.  A
 * failure here costs nothing.
 */
static void
sweep(const char *dir, time_t now, long ttl)
{
	char		 stamp[PNS_FS_PATH_MAX];
	struct stat	 st;
	struct dirent	*de;
	time_t		 last;
	DIR		*d;

	if (pns_path_join(stamp, sizeof(stamp), dir, SWEEP_STAMP, NULL) == -1)
		return;
	last = pns_mtime(stamp);
	if (last <= now && now - last < SWEEP_INTERVAL)
		return;
	pns_touch(stamp);
	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || strlen(de->d_name) != 69)
			continue;
		if (fstatat(dirfd(d), de->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
		    st.st_mtime < now - ttl)
			(void)unlinkat(dirfd(d), de->d_name, 0);
	}
	(void)closedir(d);
}

int
pns_state_create(const struct pns_config *cfg, const struct pns_platform *p,
    const char *target_link_uri, time_t now, long ttl, struct pns_state *st,
    struct pns_err *err)
{
	struct json_object	*o;
	char			 dir[PNS_FS_PATH_MAX], name[80];
	const char		*text;
	int			 rc;

	memset(st, 0, sizeof(*st));
	if (strlen(target_link_uri) >= sizeof(st->target_link_uri))
		return pns_err_set(err, PNS_ELIMIT, "target_link_uri too long");
	if (random_b64(st->state, err) == -1 || random_b64(st->nonce, err) == -1)
		return -1;
	(void)snprintf(st->issuer, sizeof(st->issuer), "%s", p->issuer);
	(void)snprintf(st->client_id, sizeof(st->client_id), "%s", p->client_id);
	(void)snprintf(st->target_link_uri, sizeof(st->target_link_uri), "%s",
	    target_link_uri);
	st->expires = now + ttl;
	if (pns_store_path(cfg, dir, sizeof(dir), PNS_DIR_STATE, NULL, err) == -1)
		return -1;
	sweep(dir, now, ttl);
	if ((o = json_object_new_object()) == NULL)
		return pns_err_set(err, PNS_ENOMEM, "out of memory");
	json_object_object_add(o, "nonce", json_object_new_string(st->nonce));
	json_object_object_add(o, "issuer", json_object_new_string(st->issuer));
	json_object_object_add(o, "client_id",
	    json_object_new_string(st->client_id));
	json_object_object_add(o, "target_link_uri",
	    json_object_new_string(st->target_link_uri));
	json_object_object_add(o, "expires", json_object_new_int64(st->expires));
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	state_name(st->state, name);
	rc = pns_write_atomic(dir, name, text, strlen(text), err);
	json_object_put(o);
	return rc;
}

static int
copy(char *dst, size_t size, const char *src)
{
	if (src == NULL || strlen(src) >= size)
		return -1;
	memcpy(dst, src, strlen(src) + 1);
	return 0;
}

int
pns_state_consume(const struct pns_config *cfg, const char *state, time_t now,
    struct pns_state *st, struct pns_err *err)
{
	char			 dir[PNS_FS_PATH_MAX], src[PNS_FS_PATH_MAX];
	char			 dst[PNS_FS_PATH_MAX], name[80], taken[96];
	unsigned char		 rnd[8];
	struct json_object	*o = NULL;
	double			 exp;
	int			 rc = -1;

	memset(st, 0, sizeof(*st));
	if (strlen(state) != PNS_STATE_LEN)
		return pns_err_set(err, PNS_ENOENT, "unknown state");
	state_name(state, name);
	if (pns_random(rnd, sizeof(rnd), err) == -1)
		return -1;
	(void)snprintf(taken, sizeof(taken), ".taken-%02x%02x%02x%02x%02x%02x%02x%02x",
	    rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
	if (pns_store_path(cfg, dir, sizeof(dir), PNS_DIR_STATE, NULL, err) == -1 ||
	    pns_path_join(src, sizeof(src), dir, name, err) == -1 ||
	    pns_path_join(dst, sizeof(dst), dir, taken, err) == -1)
		return -1;
	/* Whoever renames first owns the record; everyone else finds none. */
	if (rename(src, dst) == -1) {
		if (errno == ENOENT)
			return pns_err_set(err, PNS_ENOENT, "unknown state");
		return pns_err_sys(err, "rename %s", src);
	}
	if (pns_json_load(dst, STATE_FILE_MAX, 4, &o, err) == -1)
		goto out;
	if (pns_json_num(o, "expires", &exp) == -1 || exp < (double)now) {
		pns_err_set(err, PNS_ENOENT, "state expired");
		goto out;
	}
	if (copy(st->state, sizeof(st->state), state) == -1 ||
	    copy(st->nonce, sizeof(st->nonce), pns_json_str(o, "nonce")) == -1 ||
	    copy(st->issuer, sizeof(st->issuer), pns_json_str(o, "issuer")) == -1 ||
	    copy(st->client_id, sizeof(st->client_id),
	    pns_json_str(o, "client_id")) == -1 ||
	    copy(st->target_link_uri, sizeof(st->target_link_uri),
	    pns_json_str(o, "target_link_uri")) == -1) {
		pns_err_set(err, PNS_EINVAL, "bad state record");
		goto out;
	}
	st->expires = (time_t)exp;
	rc = 0;
out:
	(void)unlink(dst);
	json_object_put(o);
	return rc;
}
