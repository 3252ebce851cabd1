/* SPDX-License-Identifier: ISC */
/* Flat-file store: atomic writes, exclusive creation, the data_dir
 * layout, the notice store and its deduplication across processes,
 * platform records and their merges. */
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pns_commit.h"
#include "pns_fs.h"
#include "pns_json.h"
#include "pns_nstore.h"
#include "pns_platform.h"
#include "pns_store.h"
#include "unit.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define NPROC		16

static struct pns_config	cfg;
static char			dir[] = "/tmp/pns-check-store-XXXXXX";

static void
setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(dir));
	pns_config_defaults(&cfg);
	(void)snprintf(cfg.base_url, sizeof(cfg.base_url), "https://t/cgi-bin");
	(void)snprintf(cfg.data_dir, sizeof(cfg.data_dir), "%s/d", dir);
}

static void
teardown(void)
{
	char	cmd[128];

	(void)snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	(void)!system(cmd);
	memcpy(dir + strlen(dir) - 6, "XXXXXX", 6);
}

static mode_t
mode_of(const char *path)
{
	struct stat	st;

	ck_assert_msg(stat(path, &st) == 0, "%s missing", path);
	return st.st_mode & 07777;
}

/* Makes everything stored so far durable, as the receiver does. */
static int
commit(void)
{
	struct pns_commit	c;
	int			rc;

	if (pns_commit_init(&c, &cfg, NULL) == -1)
		return -1;
	rc = pns_commit_wait(&c, NULL);
	pns_commit_release(&c);
	return rc;
}

/* Reads path whole into a new string (the caller frees it). */
static char *
slurp(const char *path)
{
	struct pns_buf	 b;
	char		*s;

	pns_buf_init(&b, 1 << 20);
	ck_assert_int_eq(pns_read_file(path, &b, NULL), 0);
	s = strdup(b.data != NULL ? b.data : "");
	pns_buf_release(&b);
	ck_assert_ptr_nonnull(s);
	return s;
}

/* Names in d that start with ".tmp": leftovers of a temporary file. */
static int
temp_files(const char *d)
{
	DIR		*dp = opendir(d);
	struct dirent	*de;
	int		 n = 0;

	ck_assert_ptr_nonnull(dp);
	while ((de = readdir(dp)) != NULL)
		if (strncmp(de->d_name, ".tmp", 4) == 0)
			n++;
	(void)closedir(dp);
	return n;
}

/* ---- data_dir layout --------------------------------------------------- */

START_TEST(init_layout_and_check)
{
	static const char *const subs[] = {
		PNS_DIR_KEYS, PNS_DIR_PLATFORMS, PNS_DIR_JWKS, PNS_DIR_NOTICES,
		PNS_DIR_STATE, PNS_DIR_TOKENS, PNS_DIR_HANDLERS,
	};
	char		path[PNS_FS_PATH_MAX];
	struct pns_err	err;
	mode_t		old;
	size_t		i;

	pns_err_clear(&err);
	ck_assert_int_eq(pns_store_check(&cfg, &err), -1);
	ck_assert_int_eq(err.code, PNS_ENOENT);
	ck_assert_ptr_nonnull(strstr(err.msg, "pnsctl init"));
	/* 0700 whatever the umask of the caller, and the umask restored. */
	old = umask(0);
	ck_assert_int_eq(pns_store_init(&cfg, NULL), 0);
	ck_assert_int_eq(umask(old), 0);
	ck_assert_int_eq(pns_store_init(&cfg, NULL), 0);	/* idempotent */
	ck_assert_int_eq(pns_store_check(&cfg, NULL), 0);
	ck_assert_int_eq(mode_of(cfg.data_dir), 0700);
	for (i = 0; i < NELEM(subs); i++) {
		(void)snprintf(path, sizeof(path), "%s/%s", cfg.data_dir,
		    subs[i]);
		ck_assert_int_eq(mode_of(path), 0700);
	}
	/* Every notice shard exists from the start. */
	for (i = 0; i < 256; i++) {
		(void)snprintf(path, sizeof(path), "%s/notices/%02zx",
		    cfg.data_dir, i);
		ck_assert_int_eq(mode_of(path), 0700);
	}
	/* A missing subdirectory fails the check; init repairs it. */
	(void)snprintf(path, sizeof(path), "%s/jwks", cfg.data_dir);
	ck_assert_int_eq(rmdir(path), 0);
	pns_err_clear(&err);
	ck_assert_int_eq(pns_store_check(&cfg, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "pnsctl init"));
	ck_assert_int_eq(pns_store_init(&cfg, NULL), 0);
	ck_assert_int_eq(pns_store_check(&cfg, NULL), 0);
}
END_TEST

/* A file where a directory belongs is an error, not silently used. */
START_TEST(init_refuses_file_in_the_way)
{
	struct pns_err	err;

	ck_assert_int_eq(pns_write_atomic(dir, "d", "x", 1, NULL), 0);
	pns_err_clear(&err);
	ck_assert_int_eq(pns_store_init(&cfg, &err), -1);
	ck_assert_int_eq(err.code, PNS_EEXIST);
	ck_assert_int_eq(pns_store_check(&cfg, NULL), -1);
	/* Twin: the same under a free name. */
	(void)snprintf(cfg.data_dir, sizeof(cfg.data_dir), "%s/e", dir);
	ck_assert_int_eq(pns_store_init(&cfg, NULL), 0);
	ck_assert_int_eq(pns_store_check(&cfg, NULL), 0);
}
END_TEST

START_TEST(store_path)
{
	char		out[PNS_FS_PATH_MAX], small[8];
	struct pns_err	err;

	ck_assert_int_eq(pns_store_path(&cfg, out, sizeof(out), PNS_DIR_JWKS,
	    "h.json", NULL), 0);
	ck_assert_ptr_nonnull(strstr(out, "/d/jwks/h.json"));
	ck_assert_int_eq(pns_store_path(&cfg, out, sizeof(out), PNS_DIR_JWKS,
	    NULL, NULL), 0);
	ck_assert_ptr_nonnull(strstr(out, "/d/jwks"));
	pns_err_clear(&err);
	ck_assert_int_eq(pns_store_path(&cfg, small, sizeof(small),
	    PNS_DIR_JWKS, NULL, &err), -1);
	ck_assert_int_eq(err.code, PNS_ELIMIT);
}
END_TEST

/* ---- atomic files ------------------------------------------------------ */

START_TEST(atomic_write_replaces)
{
	char	 path[PNS_FS_PATH_MAX], *s;
	mode_t	 old;

	old = umask(0);
	ck_assert_int_eq(pns_write_atomic(dir, "f", "one", 3, NULL), 0);
	(void)umask(old);
	(void)snprintf(path, sizeof(path), "%s/f", dir);
	s = slurp(path);
	ck_assert_str_eq(s, "one");
	free(s);
	ck_assert_int_eq(mode_of(path), 0600);
	ck_assert_int_eq(pns_write_atomic(dir, "f", "two!", 4, NULL), 0);
	s = slurp(path);
	ck_assert_str_eq(s, "two!");
	free(s);
	ck_assert_int_eq(mode_of(path), 0600);
	/* Empty content is content. */
	ck_assert_int_eq(pns_write_atomic(dir, "f", "", 0, NULL), 0);
	s = slurp(path);
	ck_assert_str_eq(s, "");
	free(s);
	ck_assert_int_eq(temp_files(dir), 0);
}
END_TEST

/* Never rewritten in place: a reader holding the old file keeps reading
 * the old content whole. */
START_TEST(atomic_write_is_not_in_place)
{
	char	path[PNS_FS_PATH_MAX], buf[16];
	int	fd;
	ssize_t	n;

	ck_assert_int_eq(pns_write_atomic(dir, "f", "old content", 11, NULL), 0);
	(void)snprintf(path, sizeof(path), "%s/f", dir);
	ck_assert((fd = open(path, O_RDONLY)) >= 0);
	ck_assert_int_eq(pns_write_atomic(dir, "f", "NEW", 3, NULL), 0);
	n = read(fd, buf, sizeof(buf) - 1);
	(void)close(fd);
	ck_assert_int_eq(n, 11);
	buf[n] = '\0';
	ck_assert_str_eq(buf, "old content");
}
END_TEST

START_TEST(atomic_write_missing_dir)
{
	char		missing[PNS_FS_PATH_MAX];
	struct pns_err	err;

	(void)snprintf(missing, sizeof(missing), "%s/nope", dir);
	pns_err_clear(&err);
	ck_assert_int_eq(pns_write_atomic(missing, "f", "x", 1, &err), -1);
	ck_assert_int_eq(err.code, PNS_ESYS);
	ck_assert_ptr_nonnull(strstr(err.msg, "nope"));
	pns_err_clear(&err);
	ck_assert_int_eq(pns_create_exclusive(missing, "f", "x", 1, 0, &err),
	    -1);
	ck_assert_int_eq(err.code, PNS_ESYS);
	/* Twin: once the directory exists. */
	ck_assert_int_eq(pns_mkdir(missing, NULL), 0);
	ck_assert_int_eq(pns_write_atomic(missing, "f", "x", 1, NULL), 0);
}
END_TEST

/*
 * A launch that meets another registering the same deployment must not
 * queue behind it (docs/launch.md): pns_trylock says "busy" at once
 * while another open file holds the lock (flock locks belong to the
 * open file, so one process can stand for two), and takes it once freed.
 */
START_TEST(trylock_does_not_wait)
{
	char		path[PNS_FS_PATH_MAX], missing[PNS_FS_PATH_MAX];
	struct pns_err	err;
	int		held = -1, fd = 123;

	(void)snprintf(path, sizeof(path), "%s/x.lock", dir);
	ck_assert_int_eq(pns_lock(path, &held, NULL), 0);
	ck_assert_int_eq(pns_trylock(path, &fd, NULL), 1);
	ck_assert_int_eq(fd, -1);
	/* Twin: free, it is taken, and then it is the other's turn. */
	pns_unlock(held);
	ck_assert_int_eq(pns_trylock(path, &fd, NULL), 0);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(pns_trylock(path, &held, NULL), 1);
	pns_unlock(fd);
	ck_assert_int_eq(mode_of(path), 0600);
	/* A lock file that cannot be made is an error, not "busy". */
	(void)snprintf(missing, sizeof(missing), "%s/nope/x.lock", dir);
	pns_err_clear(&err);
	ck_assert_int_eq(pns_trylock(missing, &fd, &err), -1);
	ck_assert_int_eq(fd, -1);
	ck_assert_int_eq(err.code, PNS_ESYS);
}
END_TEST

static long
ms_since(const struct timespec *t0)
{
	struct timespec	t;

	(void)clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 +
	    (t.tv_nsec - t0->tv_nsec) / 1000000;
}

static void *
unlock_later(void *arg)
{
	struct timespec	nap = { 0, 150 * 1000000L };

	(void)nanosleep(&nap, NULL);
	pns_unlock(*(int *)arg);
	return NULL;
}

/*
 * A process fetching a token must wait for another fetching it, but
 * only within its own deadline (the token endpoint may hang): the wait
 * ends busy after about ms, and (the twin) with the lock as soon as the
 * holder lets go, well before ms.
 */
START_TEST(lock_wait_is_bounded)
{
	char		path[PNS_FS_PATH_MAX];
	struct timespec	t0;
	pthread_t	tid;
	int		held = -1, fd = 123;
	long		ms;

	(void)snprintf(path, sizeof(path), "%s/w.lock", dir);
	ck_assert_int_eq(pns_lock(path, &held, NULL), 0);
	(void)clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(pns_lock_wait(path, 300, &fd, NULL), 1);
	ms = ms_since(&t0);
	ck_assert_int_eq(fd, -1);
	ck_assert_msg(ms >= 300 && ms < 2000, "waited %ld ms", ms);
	ck_assert_int_eq(pthread_create(&tid, NULL, unlock_later, &held), 0);
	(void)clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(pns_lock_wait(path, 10000, &fd, NULL), 0);
	ms = ms_since(&t0);
	ck_assert_int_eq(pthread_join(tid, NULL), 0);
	ck_assert_int_ne(fd, -1);
	ck_assert_msg(ms >= 100 && ms < 5000, "waited %ld ms", ms);
	pns_unlock(fd);
}
END_TEST

START_TEST(exclusive_create_once)
{
	char	 path[PNS_FS_PATH_MAX], *s;
	mode_t	 old;

	old = umask(0);
	ck_assert_int_eq(pns_create_exclusive(dir, "x", "first", 5, 0, NULL), 0);
	(void)umask(old);
	ck_assert_int_eq(pns_create_exclusive(dir, "x", "second", 6, 0, NULL), 1);
	ck_assert_int_eq(pns_create_exclusive(dir, "x", "third", 5, 1, NULL), 1);
	(void)snprintf(path, sizeof(path), "%s/x", dir);
	s = slurp(path);
	ck_assert_str_eq(s, "first");
	free(s);
	ck_assert_int_eq(mode_of(path), 0600);
	/* With the directory sync deferred, creation is the same. */
	ck_assert_int_eq(pns_create_exclusive(dir, "y", "why", 3, 1, NULL), 0);
	(void)snprintf(path, sizeof(path), "%s/y", dir);
	s = slurp(path);
	ck_assert_str_eq(s, "why");
	free(s);
	ck_assert_int_eq(temp_files(dir), 0);
}
END_TEST

/*
 * The store's open, linkat and renameat2: these definitions stand in for
 * libc's in this program, so a test can play a file system without
 * O_TMPFILE, a system where linkat cannot name an unnamed file (no /proc
 * in a chroot) and a file system without RENAME_NOREPLACE (NFS says
 * EINVAL), and see pns_create_exclusive fall back to a temporary name,
 * then to link(2).
 */
static int	no_tmpfile, no_linkat, no_renameat2;
static int	linkat_calls, renameat2_calls;

int
open(const char *path, int flags, ...)
{
	va_list	ap;
	mode_t	mode = 0;

	if ((flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE) {
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	if (no_tmpfile && (flags & O_TMPFILE) == O_TMPFILE) {
		errno = EOPNOTSUPP;
		return -1;
	}
	return (int)syscall(SYS_openat, AT_FDCWD, path, flags, mode);
}

int
linkat(int ofd, const char *from, int nfd, const char *to, int flags)
{
	linkat_calls++;
	if (no_linkat) {
		errno = ENOENT;
		return -1;
	}
	return (int)syscall(SYS_linkat, ofd, from, nfd, to, flags);
}

int
renameat2(int ofd, const char *from, int nfd, const char *to,
    unsigned int flags)
{
	renameat2_calls++;
	if (no_renameat2) {
		errno = EINVAL;
		return -1;
	}
	return (int)syscall(SYS_renameat2, ofd, from, nfd, to, flags);
}

/*
 * Each way gives the same outcome: the first copy wins, nothing is left
 * behind.  Way 0 names an unnamed file (linkat only); way 1 has no
 * linkat of it and moves a temporary file (renameat2); way 2 has
 * neither and links the temporary file; way 3 cannot make an unnamed
 * file at all and moves a temporary one.
 */
START_TEST(exclusive_create_each_way)
{
	static const int	 want_linkat[] = { 2, 2, 2, 0 };
	static const int	 want_renameat2[] = { 0, 2, 2, 2 };
	char			 path[PNS_FS_PATH_MAX], *s;
	int			 way, sync;

	for (way = 0; way <= 3; way++) {
		for (sync = 0; sync <= 1; sync++) {
			no_tmpfile = way == 3;
			no_linkat = way == 1 || way == 2;
			no_renameat2 = way == 2;
			linkat_calls = renameat2_calls = 0;
			(void)snprintf(path, sizeof(path), "%s/f%d%d", dir, way,
			    sync);
			ck_assert_int_eq(pns_create_exclusive(dir, path +
			    strlen(dir) + 1, "first", 5, !sync, NULL), 0);
			ck_assert_int_eq(pns_create_exclusive(dir, path +
			    strlen(dir) + 1, "second", 6, !sync, NULL), 1);
			/* Asked both times, whether or not it could do it. */
			ck_assert_int_eq(linkat_calls, want_linkat[way]);
			ck_assert_int_eq(renameat2_calls, want_renameat2[way]);
			s = slurp(path);
			ck_assert_str_eq(s, "first");
			free(s);
			ck_assert_int_eq(mode_of(path), 0600);
			ck_assert_int_eq(temp_files(dir), 0);
		}
	}
	no_tmpfile = no_linkat = no_renameat2 = 0;
}
END_TEST

START_TEST(read_file_bounds)
{
	char		path[PNS_FS_PATH_MAX];
	struct pns_buf	b;
	struct pns_err	err;

	ck_assert_int_eq(pns_write_atomic(dir, "f", "0123456789", 10, NULL), 0);
	(void)snprintf(path, sizeof(path), "%s/f", dir);
	pns_buf_init(&b, 10);
	ck_assert_int_eq(pns_read_file(path, &b, NULL), 0);
	ck_assert_str_eq(b.data, "0123456789");
	pns_buf_release(&b);
	pns_buf_init(&b, 9);
	pns_err_clear(&err);
	ck_assert_int_eq(pns_read_file(path, &b, &err), -1);
	ck_assert_int_eq(err.code, PNS_ELIMIT);
	pns_buf_release(&b);
	(void)snprintf(path, sizeof(path), "%s/none", dir);
	pns_buf_init(&b, 10);
	pns_err_clear(&err);
	ck_assert_int_eq(pns_read_file(path, &b, &err), -1);
	ck_assert_int_eq(err.code, PNS_ENOENT);
	pns_buf_release(&b);
}
END_TEST

/* Every stored JSON file is loaded through pns_json_load: a whole object
 * is handed back; a missing, oversized, cut or too deep one is refused
 * with the code its caller tells apart, and nothing is handed back. */
START_TEST(json_load_bounds)
{
	char			 path[PNS_FS_PATH_MAX];
	struct json_object	*o = (struct json_object *)&o;
	struct pns_err		 err;
	static const char	 whole[] = "{\"a\":{\"b\":1}}";

	ck_assert_int_eq(pns_write_atomic(dir, "j", whole, strlen(whole),
	    NULL), 0);
	(void)snprintf(path, sizeof(path), "%s/j", dir);
	ck_assert_int_eq(pns_json_load(path, strlen(whole), 4, &o, NULL), 0);
	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(json_object_get_int(json_object_object_get(
	    json_object_object_get(o, "a"), "b")), 1);
	json_object_put(o);
	/* One byte over the bound. */
	pns_err_clear(&err);
	ck_assert_int_eq(pns_json_load(path, strlen(whole) - 1, 4, &o, &err),
	    -1);
	ck_assert_int_eq(err.code, PNS_ELIMIT);
	ck_assert_ptr_null(o);
	/* Deeper than allowed. */
	pns_err_clear(&err);
	ck_assert_int_eq(pns_json_load(path, 64, 1, &o, &err), -1);
	ck_assert_int_eq(err.code, PNS_EINVAL);
	ck_assert_ptr_null(o);
	/* Cut short, as a crash can leave it. */
	ck_assert_int_eq(pns_write_atomic(dir, "j", whole, 7, NULL), 0);
	pns_err_clear(&err);
	ck_assert_int_eq(pns_json_load(path, 64, 4, &o, &err), -1);
	ck_assert_int_eq(err.code, PNS_EINVAL);
	ck_assert_ptr_null(o);
	(void)snprintf(path, sizeof(path), "%s/none", dir);
	pns_err_clear(&err);
	ck_assert_int_eq(pns_json_load(path, 64, 4, &o, &err), -1);
	ck_assert_int_eq(err.code, PNS_ENOENT);
	ck_assert_ptr_null(o);
}
END_TEST

/* ---- the notice store -------------------------------------------------- */

/* A minimal verified-looking notice for the store (the store trusts its
 * caller: only pns_notice_verify makes these in the programs). */
static void
fake_notice(struct pns_notice *n, const char *id)
{
	const char	*f[3] = { "https://p", "c1", id };

	pns_notice_init(n);
	n->jws.payload = json_tokener_parse("{\"iss\":\"https://p\"}");
	n->claims.iss = "https://p";
	n->claims.client_id = "c1";
	n->id = id;
	n->type = "LtiHelloWorldNotice";
	n->timestamp = "2025-03-19T11:11:17Z";
	n->deployment_id = "d1";
	n->token = "a.b.c";
	n->token_len = 5;
	pns_hash_fields(n->key, 3, f);
}

static int
count(struct json_object *rec, void *arg)
{
	(void)rec;
	(*(int *)arg)++;
	return 0;
}

static const char *
field(struct json_object *rec, const char *name)
{
	struct json_object	*v;

	ck_assert_msg(json_object_object_get_ex(rec, name, &v), "no %s", name);
	return json_object_get_string(v);
}

START_TEST(nstore_dedup_and_read_back)
{
	struct pns_notice	 n;
	struct json_object	*rec, *claims;
	char			 path[PNS_FS_PATH_MAX];
	int			 total = 0;

	ck_assert_int_eq(pns_store_init(&cfg, NULL), 0);
	fake_notice(&n, "id-1");
	ck_assert_int_eq(pns_nstore_put(&cfg, &n, "2026-01-01T00:00:00.000000Z",
	    NULL), 0);
	ck_assert_int_eq(pns_nstore_put(&cfg, &n, "2026-01-01T00:00:01.000000Z",
	    NULL), 1);
	ck_assert_int_eq(commit(), 0);
	/* Under its shard, named by its key, 0600. */
	(void)snprintf(path, sizeof(path), "%s/notices/%.2s/%s.json",
	    cfg.data_dir, n.key, n.key);
	ck_assert_int_eq(mode_of(path), 0600);
	ck_assert_int_eq(pns_nstore_get(&cfg, n.key, &rec, NULL), 0);
	/* The first copy is the one kept. */
	ck_assert_str_eq(field(rec, "received_at"),
	    "2026-01-01T00:00:00.000000Z");
	ck_assert_str_eq(field(rec, "key"), n.key);
	ck_assert_str_eq(field(rec, "id"), "id-1");
	ck_assert_str_eq(field(rec, "type"), "LtiHelloWorldNotice");
	ck_assert_str_eq(field(rec, "timestamp"), "2025-03-19T11:11:17Z");
	ck_assert_str_eq(field(rec, "iss"), "https://p");
	ck_assert_str_eq(field(rec, "client_id"), "c1");
	ck_assert_str_eq(field(rec, "deployment_id"), "d1");
	ck_assert_str_eq(field(rec, "jwt"), "a.b.c");
	ck_assert(json_object_object_get_ex(rec, "claims", &claims));
	ck_assert_str_eq(field(claims, "iss"), "https://p");
	json_object_put(rec);
	ck_assert_int_eq(pns_nstore_foreach(&cfg, count, &total, NULL), 0);
	ck_assert_int_eq(total, 1);
	pns_notice_release(&n);
}
END_TEST

/*
 * A verified token is copied into its record as it came; a token with
 * anything a JSON string must escape (only a caller other than the
 * verifier could pass one) still reads back exactly, and so does a
 * plain one, byte for byte in the file.
 */
/*
 * A power failure can leave a notice's name without its record: ext4
 * writes a new file's directory entry and inode before it allocates and
 * writes the file's blocks, so after the restart the name may hold
 * nothing, zeros, a cut text or, without a journal, another file's old
 * blocks.  That notice was never acknowledged, so the platform retries
 * it, and the store used to answer the retry "duplicate": acknowledged,
 * and its record lost.  Now what is under the name is read first; only a
 * whole record of the same notice makes a duplicate, anything else is
 * replaced by the new record.
 */
START_TEST(nstore_replaces_what_a_crash_left)
{
	static const struct {
		const char	*what;
		size_t		 zeros;		/* else text */
		const char	*text;
	} left[] = {
		{ "empty", 0, "" },
		{ "zero-filled", 2711, NULL },
		{ "cut short", 0, "{\"key\":\"" },
		{ "not an object", 0, "[1,2]" },
		{ "too long", PNS_NOTICE_FILE_MAX + 1, NULL },
	};
	struct pns_notice	 n, other;
	struct json_object	*rec;
	char			 path[PNS_FS_PATH_MAX], opath[PNS_FS_PATH_MAX];
	char			 shard[PNS_FS_PATH_MAX - 80];
	char			*zeros, *before, *after;
	size_t			 i;
	FILE			*f;

	ck_assert_int_eq(pns_store_init(&cfg, NULL), 0);
	fake_notice(&n, "id-crash");
	(void)snprintf(shard, sizeof(shard), "%s/notices/%.2s", cfg.data_dir,
	    n.key);
	(void)snprintf(path, sizeof(path), "%s/%s.json", shard, n.key);
	for (i = 0; i < NELEM(left); i++) {
		ck_assert_ptr_nonnull(f = fopen(path, "w"));
		if (left[i].text != NULL)
			ck_assert_int_eq(fputs(left[i].text, f) >= 0, 1);
		else {
			ck_assert_ptr_nonnull(zeros = calloc(1,
			    left[i].zeros));
			ck_assert_uint_eq(fwrite(zeros, 1, left[i].zeros, f),
			    left[i].zeros);
			free(zeros);
		}
		ck_assert_int_eq(fclose(f), 0);
		ck_assert_msg(pns_nstore_put(&cfg, &n,
		    "2026-01-01T00:00:00.000000Z", NULL) == 0, "%s: not "
		    "stored", left[i].what);
		ck_assert_int_eq(pns_nstore_get(&cfg, n.key, &rec, NULL), 0);
		ck_assert_str_eq(field(rec, "key"), n.key);
		ck_assert_str_eq(field(rec, "jwt"), "a.b.c");
		json_object_put(rec);
		ck_assert_int_eq(temp_files(shard), 0);
	}

	/* Another notice's whole record under this name: not this one. */
	fake_notice(&other, "id-other");
	ck_assert_int_eq(pns_nstore_put(&cfg, &other,
	    "2026-01-01T00:00:00.000000Z", NULL), 0);
	(void)snprintf(opath, sizeof(opath), "%s/notices/%.2s/%s.json",
	    cfg.data_dir, other.key, other.key);
	ck_assert_int_eq(rename(opath, path), 0);
	ck_assert_int_eq(pns_nstore_put(&cfg, &n,
	    "2026-01-01T00:00:02.000000Z", NULL), 0);
	ck_assert_int_eq(pns_nstore_get(&cfg, n.key, &rec, NULL), 0);
	ck_assert_str_eq(field(rec, "key"), n.key);
	json_object_put(rec);

	/* The twin: a whole record of the notice is a duplicate, and kept
	 * byte for byte. */
	before = slurp(path);
	ck_assert_int_eq(pns_nstore_put(&cfg, &n,
	    "2026-01-01T00:00:09.000000Z", NULL), 1);
	after = slurp(path);
	ck_assert_str_eq(after, before);
	free(after);
	ck_assert_ptr_nonnull(strstr(before, "2026-01-01T00:00:02"));
	free(before);
	ck_assert_int_eq(commit(), 0);
	pns_notice_release(&other);
	pns_notice_release(&n);
}
END_TEST

START_TEST(nstore_record_jwt_verbatim_or_escaped)
{
	static const char *const tokens[] = {
		"eyJh-_Zz09.eyJpc3M.c2ln-_",		/* as verified */
		"a\"b\\c.d/e\nf",			/* needs escaping */
	};
	struct pns_notice	 n;
	struct json_object	*rec;
	char			 path[PNS_FS_PATH_MAX], id[8], *text, want[64];
	size_t			 i;

	ck_assert_int_eq(pns_store_init(&cfg, NULL), 0);
	for (i = 0; i < NELEM(tokens); i++) {
		(void)snprintf(id, sizeof(id), "j%zu", i);
		fake_notice(&n, id);
		n.token = tokens[i];
		n.token_len = strlen(tokens[i]);
		ck_assert_int_eq(pns_nstore_put(&cfg, &n,
		    "2026-01-01T00:00:00.000000Z", NULL), 0);
		ck_assert_int_eq(pns_nstore_get(&cfg, n.key, &rec, NULL), 0);
		ck_assert_str_eq(field(rec, "jwt"), tokens[i]);
		ck_assert_str_eq(field(rec, "id"), id);
		json_object_put(rec);
		(void)snprintf(path, sizeof(path), "%s/notices/%.2s/%s.json",
		    cfg.data_dir, n.key, n.key);
		text = slurp(path);
		(void)snprintf(want, sizeof(want), ",\"jwt\":\"%s\"}",
		    tokens[i]);
		/* Only the plain one appears unescaped, at the end. */
		ck_assert_int_eq(strlen(text) >= strlen(want) &&
		    strcmp(text + strlen(text) - strlen(want), want) == 0,
		    i == 0);
		free(text);
		pns_notice_release(&n);
	}
}
END_TEST

/* Keys are validated before they name a file. */
START_TEST(nstore_get_refuses_bad_keys)
{
	static const char *const bad[] = {
		"../../etc/passwd", "",
		"ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789",
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde",
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0",
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg",
		"../0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab",
	};
	struct json_object	*rec;
	struct pns_err		 err;
	struct pns_notice	 n;
	size_t			 i;

	ck_assert_int_eq(pns_store_init(&cfg, NULL), 0);
	for (i = 0; i < NELEM(bad); i++) {
		pns_err_clear(&err);
		ck_assert_msg(pns_nstore_get(&cfg, bad[i], &rec, &err) == -1 &&
		    err.code == PNS_EINVAL && rec == NULL, "%s", bad[i]);
	}
	/* A well-formed key that is not stored is not found. */
	pns_err_clear(&err);
	ck_assert_int_eq(pns_nstore_get(&cfg,
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	    &rec, &err), -1);
	ck_assert_int_eq(err.code, PNS_ENOENT);
	/* Positive control: a stored one is. */
	fake_notice(&n, "id-x");
	ck_assert_int_eq(pns_nstore_put(&cfg, &n, "2026-01-01T00:00:00Z",
	    NULL), 0);
	ck_assert_int_eq(pns_nstore_get(&cfg, n.key, &rec, NULL), 0);
	json_object_put(rec);
	pns_notice_release(&n);
}
END_TEST

struct stop_after {
	int	seen, stop_at;
};

static int
stop_after(struct json_object *rec, void *arg)
{
	struct stop_after	*s = arg;

	(void)rec;
	return ++s->seen == s->stop_at ? 42 : 0;
}

/* Every stored record is visited once; a non-zero answer stops the walk
 * and is returned. */
START_TEST(nstore_foreach)
{
	struct pns_notice	 n[6];
	struct stop_after	 s = { 0, 3 };
	char			 ids[6][8];
	int			 i, total = 0;

	ck_assert_int_eq(pns_store_init(&cfg, NULL), 0);
	ck_assert_int_eq(pns_nstore_foreach(&cfg, count, &total, NULL), 0);
	ck_assert_int_eq(total, 0);
	for (i = 0; i < 6; i++) {
		(void)snprintf(ids[i], sizeof(ids[i]), "n%d", i);
		fake_notice(&n[i], ids[i]);
		ck_assert_int_eq(pns_nstore_put(&cfg, &n[i], "2026-01-01T00:00:00Z",
		    NULL), 0);
	}
	ck_assert_int_eq(commit(), 0);
	ck_assert_int_eq(pns_nstore_foreach(&cfg, count, &total, NULL), 0);
	ck_assert_int_eq(total, 6);
	ck_assert_int_eq(pns_nstore_foreach(&cfg, stop_after, &s, NULL), 42);
	ck_assert_int_eq(s.seen, 3);
	for (i = 0; i < 6; i++)
		pns_notice_release(&n[i]);
}
END_TEST

struct walk {
	char		 ids[8][16];
	int		 seen, stop_at;
	const char	*remove;	/* a key to remove at the first record */
};

static int
walk_received(struct json_object *rec, void *arg)
{
	struct walk	*w = arg;

	ck_assert_int_lt(w->seen, 8);
	(void)snprintf(w->ids[w->seen], sizeof(w->ids[0]), "%s",
	    field(rec, "id"));
	if (w->seen++ == 0 && w->remove != NULL)
		ck_assert_int_eq(pns_nstore_remove(&cfg, w->remove, NULL), 0);
	return w->seen == w->stop_at ? 42 : 0;
}

/*
 * The ordered walk of pnsctl notices list: oldest received first, the
 * key breaking ties, each record loaded again by its key after the
 * first pass.  A record removed between the passes (pruned meanwhile)
 * is skipped, not an error; the twin without a removal sees it.
 */
START_TEST(nstore_foreach_received)
{
	static const char *const at[4] = {
		"2026-01-02T00:00:00.000000Z", "2026-01-01T00:00:00.000000Z",
		"2026-01-01T00:00:01.000000Z", "2026-01-01T00:00:01.000000Z",
	};
	struct pns_notice	 n[4];
	struct walk		 w;
	struct pns_err		 err;
	const char		*tie[2];
	char			 ids[4][8];
	int			 i;

	ck_assert_int_eq(pns_store_init(&cfg, NULL), 0);
	memset(&w, 0, sizeof(w));
	ck_assert_int_eq(pns_nstore_foreach_received(&cfg, walk_received, &w,
	    NULL), 0);
	ck_assert_int_eq(w.seen, 0);
	for (i = 0; i < 4; i++) {
		(void)snprintf(ids[i], sizeof(ids[i]), "r%d", i);
		fake_notice(&n[i], ids[i]);
		ck_assert_int_eq(pns_nstore_put(&cfg, &n[i], at[i], NULL), 0);
	}
	/* r2 and r3 were received at the same time: the key decides. */
	tie[0] = strcmp(n[2].key, n[3].key) < 0 ? "r2" : "r3";
	tie[1] = strcmp(n[2].key, n[3].key) < 0 ? "r3" : "r2";
	ck_assert_int_eq(pns_nstore_foreach_received(&cfg, walk_received, &w,
	    NULL), 0);
	ck_assert_int_eq(w.seen, 4);
	ck_assert_str_eq(w.ids[0], "r1");
	ck_assert_str_eq(w.ids[1], tie[0]);
	ck_assert_str_eq(w.ids[2], tie[1]);
	ck_assert_str_eq(w.ids[3], "r0");
	/* A non-zero answer stops the walk and is returned. */
	memset(&w, 0, sizeof(w));
	w.stop_at = 2;
	ck_assert_int_eq(pns_nstore_foreach_received(&cfg, walk_received, &w,
	    NULL), 42);
	ck_assert_int_eq(w.seen, 2);
	/* r0, the newest, removed once the first pass has listed it. */
	memset(&w, 0, sizeof(w));
	w.remove = n[0].key;
	pns_err_clear(&err);
	ck_assert_msg(pns_nstore_foreach_received(&cfg, walk_received, &w,
	    &err) == 0, "%s", err.msg);
	ck_assert_int_eq(w.seen, 3);
	ck_assert_str_eq(w.ids[0], "r1");
	ck_assert_str_eq(w.ids[2], tie[1]);
	for (i = 0; i < 4; i++)
		pns_notice_release(&n[i]);
}
END_TEST

/*
 * The first pass reads received_at without parsing when it can; records
 * written otherwise than by the receiver (by hand, by another version)
 * must come out in the same order a full parse gives: received_at
 * spelled with an escape, a received_at inside claims only (not the
 * record's, so it sorts as none), one beside a top-level one, and the
 * order holding against a record the receiver wrote.
 */
START_TEST(nstore_foreach_received_odd_records)
{
	static const struct {
		const char	*id, *body;
	} odd[] = {
		{ "escaped", "\"received_at\":\"2026-01-01T00:00:00\\u002e5Z\"" },
		{ "inner", "\"claims\":{\"received_at\":\"2020-01-01\"}" },
		{ "both", "\"claims\":{\"received_at\":\"2030-01-01\"},"
		    "\"received_at\":\"2026-01-01T00:00:00.7Z\"" },
	};
	struct pns_notice	 n;
	struct walk		 w;
	char			 shard[PNS_FS_PATH_MAX], name[80], key[65];
	char			 text[256];
	const char		*f[1];
	size_t			 i;

	ck_assert_int_eq(pns_store_init(&cfg, NULL), 0);
	fake_notice(&n, "receiver");
	ck_assert_int_eq(pns_nstore_put(&cfg, &n, "2026-01-01T00:00:00.6Z",
	    NULL), 0);
	pns_notice_release(&n);
	for (i = 0; i < NELEM(odd); i++) {
		f[0] = odd[i].id;
		pns_hash_fields(key, 1, f);
		(void)snprintf(shard, sizeof(shard), "%s/notices/%.2s",
		    cfg.data_dir, key);
		(void)snprintf(name, sizeof(name), "%s.json", key);
		(void)snprintf(text, sizeof(text),
		    "{\"key\":\"%s\",\"id\":\"%s\",%s}", key, odd[i].id,
		    odd[i].body);
		ck_assert_int_eq(pns_write_atomic(shard, name, text,
		    strlen(text), NULL), 0);
	}
	memset(&w, 0, sizeof(w));
	ck_assert_int_eq(pns_nstore_foreach_received(&cfg, walk_received, &w,
	    NULL), 0);
	ck_assert_int_eq(w.seen, 4);
	ck_assert_str_eq(w.ids[0], "inner");	/* none sorts first */
	ck_assert_str_eq(w.ids[1], "escaped");	/* 00.5 once unescaped */
	ck_assert_str_eq(w.ids[2], "receiver");	/* 00.6 */
	ck_assert_str_eq(w.ids[3], "both");	/* 00.7, not 2030 */
}
END_TEST

/*
 * What a crash left under a notice's name (see
 * nstore_replaces_what_a_crash_left) once made every listing fail:
 * pnsctl could show no notice at all until the file was removed by hand.
 * The walks now pass over it, and reading it says it is not a record of
 * that notice.
 */
START_TEST(nstore_walks_skip_what_a_crash_left)
{
	static const char *const left[] = { "", "{\"key\":\"", "{}" };
	struct pns_notice	 n, other;
	struct json_object	*rec;
	struct pns_err		 err;
	struct walk		 w;
	char			 shard[PNS_FS_PATH_MAX - 80], name[80];
	char			 path[PNS_FS_PATH_MAX], *whole;
	size_t			 i;
	int			 total;

	ck_assert_int_eq(pns_store_init(&cfg, NULL), 0);
	fake_notice(&n, "id-left");
	fake_notice(&other, "id-kept");
	ck_assert_int_eq(pns_nstore_put(&cfg, &n, "2026-01-01T00:00:00Z",
	    NULL), 0);
	ck_assert_int_eq(pns_nstore_put(&cfg, &other, "2026-01-01T00:00:01Z",
	    NULL), 0);
	(void)snprintf(shard, sizeof(shard), "%s/notices/%.2s", cfg.data_dir,
	    n.key);
	(void)snprintf(name, sizeof(name), "%s.json", n.key);
	(void)snprintf(path, sizeof(path), "%s/%s", shard, name);
	whole = slurp(path);
	for (i = 0; i < NELEM(left); i++) {
		ck_assert_int_eq(pns_write_atomic(shard, name, left[i],
		    strlen(left[i]), NULL), 0);
		total = 0;
		ck_assert_int_eq(pns_nstore_foreach(&cfg, count, &total, NULL),
		    0);
		ck_assert_int_eq(total, 1);
		memset(&w, 0, sizeof(w));
		ck_assert_int_eq(pns_nstore_foreach_received(&cfg,
		    walk_received, &w, NULL), 0);
		ck_assert_int_eq(w.seen, 1);
		ck_assert_str_eq(w.ids[0], "id-kept");
		pns_err_clear(&err);
		ck_assert_int_eq(pns_nstore_get(&cfg, n.key, &rec, &err), -1);
		ck_assert_int_eq(err.code, PNS_EINVAL);
		ck_assert_ptr_null(rec);
	}
	/* The twin: the whole record back, both are seen and read. */
	ck_assert_int_eq(pns_write_atomic(shard, name, whole, strlen(whole),
	    NULL), 0);
	total = 0;
	ck_assert_int_eq(pns_nstore_foreach(&cfg, count, &total, NULL), 0);
	ck_assert_int_eq(total, 2);
	memset(&w, 0, sizeof(w));
	ck_assert_int_eq(pns_nstore_foreach_received(&cfg, walk_received, &w,
	    NULL), 0);
	ck_assert_int_eq(w.seen, 2);
	ck_assert_int_eq(pns_nstore_get(&cfg, n.key, &rec, NULL), 0);
	json_object_put(rec);
	free(whole);
	pns_notice_release(&other);
	pns_notice_release(&n);
}
END_TEST

/* Two records, "a" and "b", under their 64-hex names in dir; which each
 * is shows in its member "n". */
static void
two_records(char names[2][70])
{
	static const char *const body[2] = {
		"{\"n\":\"a\"}", "{\"n\":\"b\"}"
	};
	int	i;

	for (i = 0; i < 2; i++) {
		memset(names[i], "ab"[i], 64);
		memcpy(names[i] + 64, ".json", 6);
		ck_assert_int_eq(pns_write_atomic(dir, names[i], body[i],
		    strlen(body[i]), NULL), 0);
	}
}

struct remover {
	char	names[2][70];
	int	remove, seen;
};

/* Counts the records seen; at the first, removes the other one (if
 * asked), as a prune running meanwhile would. */
static int
remove_other(struct json_object *rec, void *arg)
{
	struct remover	*r = arg;
	char		 path[PNS_FS_PATH_MAX];

	if (r->seen++ == 0 && r->remove) {
		(void)snprintf(path, sizeof(path), "%s/%s", dir,
		    r->names[strcmp(field(rec, "n"), "a") == 0 ? 1 : 0]);
		ck_assert_int_eq(unlink(path), 0);
	}
	return 0;
}

/*
 * readdir reads names ahead, so a record removed while a walk goes on
 * (a listing while "notices prune" runs) can still be named; opening it
 * failed the whole walk with "not found".  It is skipped now; the twin
 * without a removal sees both.
 */
START_TEST(foreach_skips_removed_file)
{
	struct remover	r;
	struct pns_err	err;

	memset(&r, 0, sizeof(r));
	two_records(r.names);
	ck_assert_int_eq(pns_store_foreach_json(dir, 64, 4, remove_other, &r,
	    NULL), 0);
	ck_assert_int_eq(r.seen, 2);
	r.seen = 0;
	r.remove = 1;
	pns_err_clear(&err);
	ck_assert_msg(pns_store_foreach_json(dir, 64, 4, remove_other, &r,
	    &err) == 0, "%s", err.msg);
	ck_assert_int_eq(r.seen, 1);
}
END_TEST

/*
 * A file under a record's name that does not parse (what a power
 * failure can leave, see nstore_replaces_what_a_crash_left) failed the
 * whole walk, so pnsctl listed no context copy at all.  It is passed
 * over now; the twin with both records whole sees both.
 */
START_TEST(foreach_json_skips_what_a_crash_left)
{
	struct remover	r;
	struct pns_err	err;

	memset(&r, 0, sizeof(r));
	two_records(r.names);
	ck_assert_int_eq(pns_store_foreach_json(dir, 64, 4, remove_other, &r,
	    NULL), 0);
	ck_assert_int_eq(r.seen, 2);
	ck_assert_int_eq(pns_write_atomic(dir, r.names[1], "\0\0\0", 3,
	    NULL), 0);
	r.seen = 0;
	pns_err_clear(&err);
	ck_assert_msg(pns_store_foreach_json(dir, 64, 4, remove_other, &r,
	    &err) == 0, "%s", err.msg);
	ck_assert_int_eq(r.seen, 1);
}
END_TEST

/* Counts the names a walk gives; stops at the name stop_at. */
struct names {
	int		 seen;
	const char	*stop_at;
};

static int
count_name(const char *d, const char *name, void *arg)
{
	struct names	*nm = arg;

	ck_assert_str_eq(d, dir);
	nm->seen++;
	return nm->stop_at != NULL && strcmp(name, nm->stop_at) == 0 ? 7 : 0;
}

static void
touch_in_dir(const char *name)
{
	char	path[PNS_FS_PATH_MAX];
	int	fd;

	(void)snprintf(path, sizeof(path), "%s/%s", dir, name);
	ck_assert_int_ne(fd = open(path, O_WRONLY | O_CREAT, 0600), -1);
	(void)close(fd);
}

/*
 * One walker serves every directory of records and queue entries: it
 * gives exactly the names that are 64 lowercase hex digits and the
 * suffix, never a temporary file, a lock or a stamp.
 */
START_TEST(foreach_name_filters)
{
	static const char	hex[] =
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	static const char	upper[] =
	    "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef";
	struct names		nm = { 0, NULL };
	struct pns_err		err;
	char			name[96], missing[PNS_FS_PATH_MAX];

	(void)snprintf(name, sizeof(name), "%s.json", hex);
	touch_in_dir(name);			/* a record */
	touch_in_dir(hex);			/* a queue entry */
	(void)snprintf(name, sizeof(name), "%s.lock", hex);
	touch_in_dir(name);
	(void)snprintf(name, sizeof(name), "%s.json", upper);
	touch_in_dir(name);
	(void)snprintf(name, sizeof(name), ".tmp-%s.json", hex);
	touch_in_dir(name);
	(void)snprintf(name, sizeof(name), "%.63s.json", hex);
	touch_in_dir(name);
	touch_in_dir(".due");

	ck_assert_int_eq(pns_store_foreach_name(dir, ".json", 0, count_name,
	    &nm, NULL), 0);
	ck_assert_int_eq(nm.seen, 1);
	nm.seen = 0;
	ck_assert_int_eq(pns_store_foreach_name(dir, "", 0, count_name, &nm,
	    NULL), 0);
	ck_assert_int_eq(nm.seen, 1);
	/* fn's non-zero stops the walk and is returned. */
	nm.seen = 0;
	nm.stop_at = hex;
	ck_assert_int_eq(pns_store_foreach_name(dir, "", 0, count_name, &nm,
	    NULL), 7);
	ck_assert_int_eq(nm.seen, 1);

	/* A missing directory: empty when allowed, else an error. */
	(void)snprintf(missing, sizeof(missing), "%s/none", dir);
	ck_assert_int_eq(pns_store_foreach_name(missing, "", 1, count_name,
	    &nm, NULL), 0);
	pns_err_clear(&err);
	ck_assert_int_eq(pns_store_foreach_name(missing, "", 0, count_name,
	    &nm, &err), -1);
	ck_assert_int_eq(err.code, PNS_ESYS);
	ck_assert_ptr_nonnull(strstr(err.msg, "opendir"));
}
END_TEST

/* A shard removed by hand is made again by the next put. */
START_TEST(nstore_shards)
{
	struct pns_notice	n;
	struct pns_err		err;
	char			shard[PNS_FS_PATH_MAX], cmd[PNS_FS_PATH_MAX + 16];

	ck_assert_int_eq(pns_store_init(&cfg, NULL), 0);
	fake_notice(&n, "id-shard");
	(void)snprintf(shard, sizeof(shard), "%s/notices/%.2s", cfg.data_dir,
	    n.key);
	ck_assert_int_eq(rmdir(shard), 0);
	ck_assert_int_eq(pns_nstore_put(&cfg, &n, "2026-01-01T00:00:00Z",
	    NULL), 0);
	ck_assert_int_eq(mode_of(shard), 0700);
	ck_assert_int_eq(commit(), 0);
	ck_assert_int_eq(pns_nstore_put(&cfg, &n, "2026-01-01T00:00:00Z",
	    NULL), 1);
	pns_notice_release(&n);
	/* Without notices/ itself there is nothing to repair: an error. */
	fake_notice(&n, "id-no-store");
	(void)snprintf(cmd, sizeof(cmd), "rm -rf %s/notices", cfg.data_dir);
	ck_assert_int_eq(system(cmd), 0);
	pns_err_clear(&err);
	ck_assert_int_eq(pns_nstore_put(&cfg, &n, "2026-01-01T00:00:00Z",
	    &err), -1);
	ck_assert_int_eq(err.code, PNS_ESYS);
	ck_assert_ptr_nonnull(strstr(err.msg, "notices"));
	pns_notice_release(&n);
}
END_TEST

/* A group commit needs the store's directories, and says which is
 * missing; the same call on a store that is set up succeeds. */
START_TEST(commit_needs_the_store)
{
	struct pns_commit	c;
	struct pns_err		err;

	pns_err_clear(&err);
	ck_assert_int_eq(pns_commit_init(&c, &cfg, &err), -1);
	ck_assert_int_eq(err.code, PNS_ESYS);
	ck_assert_ptr_nonnull(strstr(err.msg, "/notices"));
	ck_assert_int_eq(pns_store_init(&cfg, NULL), 0);
	pns_err_clear(&err);
	ck_assert_int_eq(pns_commit_init(&c, &cfg, &err), 0);
	ck_assert_int_eq(pns_commit_wait(&c, &err), 0);
	ck_assert_uint_eq(c.syncs, 1);
	pns_commit_release(&c);
}
END_TEST

#define NTHREAD		8
#define PER_THREAD	40

struct committer {
	struct pns_commit	*c;
	int			 no, fails;
	int			 early;	/* returned before a sync could cover it */
};

/* Stores PER_THREAD notices, waiting for the commit after each. */
static void *
commit_thread(void *arg)
{
	struct committer	*t = arg;
	struct pns_notice	 n;
	unsigned long		 before;
	char			 id[32];
	int			 i;

	for (i = 0; i < PER_THREAD; i++) {
		(void)snprintf(id, sizeof(id), "t%d-%d", t->no, i);
		fake_notice(&n, id);
		/* A sync under way now may have begun before the put. */
		(void)pthread_mutex_lock(&t->c->lock);
		before = t->c->syncs + 1 + (unsigned long)t->c->running;
		(void)pthread_mutex_unlock(&t->c->lock);
		if (pns_nstore_put(&cfg, &n, "2026-01-01T00:00:00Z",
		    NULL) != 0 || pns_commit_wait(t->c, NULL) != 0)
			t->fails++;
		(void)pthread_mutex_lock(&t->c->lock);
		if (t->c->syncs < before)
			t->early++;
		(void)pthread_mutex_unlock(&t->c->lock);
		pns_notice_release(&n);
	}
	return NULL;
}

/*
 * Threads of one process share a commit: every wait returns 0 after its
 * own notice is in the store, and only after a sync that began after the
 * notice was written has ended (one more sync than had ended before,
 * two if one was under way); no wait runs a sync of its own while
 * another is under way, so there are at most as many syncs as waits
 * (fewer whenever threads overlap).
 */
START_TEST(commit_shared_by_threads)
{
	struct pns_commit	c;
	struct committer	t[NTHREAD];
	pthread_t		tid[NTHREAD];
	int			i, total = 0;

	ck_assert_int_eq(pns_store_init(&cfg, NULL), 0);
	ck_assert_int_eq(pns_commit_init(&c, &cfg, NULL), 0);
	for (i = 0; i < NTHREAD; i++) {
		t[i].c = &c;
		t[i].no = i;
		t[i].fails = 0;
		t[i].early = 0;
		ck_assert_int_eq(pthread_create(&tid[i], NULL, commit_thread,
		    &t[i]), 0);
	}
	for (i = 0; i < NTHREAD; i++) {
		ck_assert_int_eq(pthread_join(tid[i], NULL), 0);
		ck_assert_int_eq(t[i].fails, 0);
		ck_assert_int_eq(t[i].early, 0);
	}
	ck_assert_uint_ge(c.syncs, 1);
	ck_assert_uint_le(c.syncs, NTHREAD * PER_THREAD);
	pns_commit_release(&c);
	ck_assert_int_eq(pns_nstore_foreach(&cfg, count, &total, NULL), 0);
	ck_assert_int_eq(total, NTHREAD * PER_THREAD);
}
END_TEST

/* Runs put (and commit) of n in a child; its exit status is put's
 * answer, 9 for an error. */
static pid_t
put_in_child(const struct pns_notice *n)
{
	pid_t	pid;
	int	rc;

	if ((pid = fork()) == 0) {
		rc = pns_nstore_put(&cfg, n, "2026-01-01T00:00:00.0Z", NULL);
		_exit(rc < 0 || commit() < 0 ? 9 : rc);
	}
	ck_assert_int_gt(pid, 0);
	return pid;
}

/*
 * A platform that retries sends the same notice again, possibly while
 * the first copy is still being stored by another process.  Sixteen
 * processes store the same notice at once: exactly one stores it, the
 * others are told it is a duplicate, and one record exists.
 */
START_TEST(nstore_dedup_across_processes)
{
	struct pns_notice	n;
	pid_t			pids[NPROC];
	int			i, status, created = 0, dup = 0, total = 0;

	ck_assert_int_eq(pns_store_init(&cfg, NULL), 0);
	fake_notice(&n, "racy");
	for (i = 0; i < NPROC; i++)
		pids[i] = put_in_child(&n);
	for (i = 0; i < NPROC; i++) {
		ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
		ck_assert(WIFEXITED(status));
		if (WEXITSTATUS(status) == 0)
			created++;
		else if (WEXITSTATUS(status) == 1)
			dup++;
	}
	ck_assert_int_eq(created, 1);
	ck_assert_int_eq(dup, NPROC - 1);
	ck_assert_int_eq(pns_nstore_foreach(&cfg, count, &total, NULL), 0);
	ck_assert_int_eq(total, 1);
	pns_notice_release(&n);
}
END_TEST

/* Twin of the above: sixteen different notices at once are all stored. */
START_TEST(nstore_distinct_across_processes)
{
	struct pns_notice	n[NPROC];
	char			ids[NPROC][16];
	pid_t			pids[NPROC];
	int			i, status, total = 0;

	ck_assert_int_eq(pns_store_init(&cfg, NULL), 0);
	for (i = 0; i < NPROC; i++) {
		(void)snprintf(ids[i], sizeof(ids[i]), "distinct-%d", i);
		fake_notice(&n[i], ids[i]);
	}
	for (i = 0; i < NPROC; i++)
		pids[i] = put_in_child(&n[i]);
	for (i = 0; i < NPROC; i++) {
		ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
		ck_assert(WIFEXITED(status));
		ck_assert_int_eq(WEXITSTATUS(status), 0);
	}
	ck_assert_int_eq(pns_nstore_foreach(&cfg, count, &total, NULL), 0);
	ck_assert_int_eq(total, NPROC);
	for (i = 0; i < NPROC; i++)
		pns_notice_release(&n[i]);
}
END_TEST

/* ---- platforms --------------------------------------------------------- */

static void
platform(struct pns_platform *p, const char *jwks, const char *dep)
{
	pns_platform_init(p);
	(void)snprintf(p->issuer, sizeof(p->issuer), "https://p.example");
	(void)snprintf(p->client_id, sizeof(p->client_id), "c1");
	(void)snprintf(p->auth_url, sizeof(p->auth_url), "https://p.example/a");
	(void)snprintf(p->token_url, sizeof(p->token_url), "https://p.example/t");
	(void)snprintf(p->jwks_url, sizeof(p->jwks_url), "%s", jwks);
	if (dep != NULL)
		ck_assert_int_eq(pns_platform_add_deployment(p, dep, NULL), 0);
}

START_TEST(platform_merge)
{
	struct pns_platform	p, got;
	struct pns_err		err;
	char			first_at[21], path[PNS_FS_PATH_MAX], key[65];

	ck_assert_int_eq(pns_store_init(&cfg, NULL), 0);
	platform(&p, "https://p.example/jwks1", "d1");
	ck_assert_int_eq(pns_platform_save(&cfg, &p, NULL), 0);
	pns_platform_release(&p);
	/* Stored as platforms/H(issuer, client_id).json, 0600. */
	pns_platform_key("https://p.example", "c1", key);
	(void)snprintf(path, sizeof(path), "%s/platforms/%s.json", cfg.data_dir,
	    key);
	ck_assert_int_eq(mode_of(path), 0600);
	pns_platform_init(&got);
	ck_assert_int_eq(pns_platform_load(&cfg, "https://p.example", "c1", &got,
	    NULL), 0);
	ck_assert_str_eq(got.key, key);
	ck_assert_uint_eq(got.ndeployments, 1);
	ck_assert(pns_iso8601_valid(got.registered_at, strlen(got.registered_at)));
	memcpy(first_at, got.registered_at, sizeof(first_at));

	/* Again with new endpoints, d2 and d1 again. */
	platform(&p, "https://p.example/jwks2", "d2");
	(void)snprintf(p.auth_url, sizeof(p.auth_url), "https://p.example/a2");
	(void)snprintf(p.token_url, sizeof(p.token_url), "https://p.example/t2");
	ck_assert_int_eq(pns_platform_add_deployment(&p, "d1", NULL), 0);
	ck_assert_int_eq(pns_platform_save(&cfg, &p, NULL), 0);
	pns_platform_release(&p);
	ck_assert_int_eq(pns_platform_learn_deployment(&cfg, "https://p.example",
	    "c1", "d3", NULL), 0);
	/* Learning a known deployment changes nothing. */
	ck_assert_int_eq(pns_platform_learn_deployment(&cfg, "https://p.example",
	    "c1", "d2", NULL), 0);

	ck_assert_int_eq(pns_platform_load(&cfg, "https://p.example", "c1", &got,
	    NULL), 0);
	ck_assert_str_eq(got.jwks_url, "https://p.example/jwks2");
	ck_assert_str_eq(got.auth_url, "https://p.example/a2");
	ck_assert_str_eq(got.token_url, "https://p.example/t2");
	ck_assert_uint_eq(got.ndeployments, 3);
	ck_assert(pns_platform_has_deployment(&got, "d1"));
	ck_assert(pns_platform_has_deployment(&got, "d2"));
	ck_assert(pns_platform_has_deployment(&got, "d3"));
	ck_assert(!pns_platform_has_deployment(&got, "d4"));
	ck_assert(!pns_platform_has_deployment(&got, "D1"));
	ck_assert_str_eq(got.registered_by, "manual");
	ck_assert_str_eq(got.registered_at, first_at);

	pns_err_clear(&err);
	ck_assert_int_eq(pns_platform_load(&cfg, "https://p.example", "c2", &got,
	    &err), -1);
	ck_assert_int_eq(err.code, PNS_ENOENT);
	pns_err_clear(&err);
	ck_assert_int_eq(pns_platform_load(&cfg, "https://q.example", "c1", &got,
	    &err), -1);
	ck_assert_int_eq(err.code, PNS_ENOENT);
	/* Learning a deployment never creates a platform. */
	pns_err_clear(&err);
	ck_assert_int_eq(pns_platform_learn_deployment(&cfg, "https://q.example",
	    "c1", "d1", &err), -1);
	ck_assert_int_eq(err.code, PNS_ENOENT);
	pns_err_clear(&err);
	ck_assert_int_eq(pns_platform_load(&cfg, "https://q.example", "c1", &got,
	    &err), -1);
	ck_assert_int_eq(err.code, PNS_ENOENT);
	pns_platform_release(&got);
}
END_TEST

/* Bad input is refused and changes nothing. */
START_TEST(platform_save_refuses_bad_input)
{
	static const struct {
		const char	*what;
		size_t		 off;
		const char	*value;
	} bad[] = {
		{ "issuer", offsetof(struct pns_platform, issuer), "p.example" },
		{ "issuer", offsetof(struct pns_platform, issuer), "" },
		{ "client_id", offsetof(struct pns_platform, client_id), "" },
		{ "client_id", offsetof(struct pns_platform, client_id), "c\n1" },
		{ "auth_url", offsetof(struct pns_platform, auth_url), "ftp://a" },
		{ "token_url", offsetof(struct pns_platform, token_url),
		    "https://" },
		{ "jwks_url", offsetof(struct pns_platform, jwks_url),
		    "ftp://p.example/jwks" },
		{ "jwks_url", offsetof(struct pns_platform, jwks_url),
		    "https://p.example/j wks" },
	};
	struct pns_platform	p, got;
	struct pns_err		err;
	char			dep[32];
	size_t			i;

	ck_assert_int_eq(pns_store_init(&cfg, NULL), 0);
	platform(&p, "https://p.example/jwks", "d1");
	ck_assert_int_eq(pns_platform_save(&cfg, &p, NULL), 0);
	pns_platform_release(&p);
	for (i = 0; i < NELEM(bad); i++) {
		platform(&p, "https://p.example/other", "d9");
		(void)snprintf((char *)&p + bad[i].off, 64, "%s", bad[i].value);
		pns_err_clear(&err);
		ck_assert_msg(pns_platform_save(&cfg, &p, &err) == -1,
		    "%s \"%s\" accepted", bad[i].what, bad[i].value);
		ck_assert_int_eq(err.code, PNS_EINVAL);
		pns_platform_release(&p);
	}
	pns_platform_init(&got);
	ck_assert_int_eq(pns_platform_load(&cfg, "https://p.example", "c1", &got,
	    NULL), 0);
	ck_assert_str_eq(got.jwks_url, "https://p.example/jwks");
	ck_assert(!pns_platform_has_deployment(&got, "d9"));
	pns_platform_release(&got);
	/* Deployment ids are printable and bounded. */
	platform(&p, "https://p.example/jwks", NULL);
	ck_assert_int_eq(pns_platform_add_deployment(&p, "", NULL), -1);
	ck_assert_int_eq(pns_platform_add_deployment(&p, "a\x01", NULL), -1);
	ck_assert_int_eq(pns_platform_add_deployment(&p, "d1", NULL), 0);
	ck_assert_int_eq(pns_platform_add_deployment(&p, "d1", NULL), 0);
	ck_assert_uint_eq(p.ndeployments, 1);
	/* At most PNS_DEPLOYMENTS_MAX of them. */
	while (p.ndeployments < PNS_DEPLOYMENTS_MAX) {
		(void)snprintf(dep, sizeof(dep), "d-%zu", p.ndeployments);
		ck_assert_int_eq(pns_platform_add_deployment(&p, dep, NULL), 0);
	}
	pns_err_clear(&err);
	ck_assert_int_eq(pns_platform_add_deployment(&p, "one-more", &err), -1);
	ck_assert_int_eq(err.code, PNS_ELIMIT);
	ck_assert_uint_eq(p.ndeployments, PNS_DEPLOYMENTS_MAX);
	pns_platform_release(&p);
}
END_TEST

/*
 * The file is found by H(issuer, client_id), and the issuer and client_id
 * inside are compared again after reading: a record under a name that
 * does not match its content (a planted or misplaced file) is no
 * registration of the asked-for platform.
 */
START_TEST(platform_file_content_must_match_name)
{
	struct pns_platform	p, got;
	struct pns_err		err;
	char			from[PNS_FS_PATH_MAX], to[PNS_FS_PATH_MAX];
	char			key[65];

	ck_assert_int_eq(pns_store_init(&cfg, NULL), 0);
	platform(&p, "https://p.example/jwks", "d1");
	ck_assert_int_eq(pns_platform_save(&cfg, &p, NULL), 0);
	pns_platform_release(&p);
	pns_platform_init(&got);
	ck_assert_int_eq(pns_platform_load(&cfg, "https://p.example", "c1", &got,
	    NULL), 0);
	/* The same record under the name of ("https://evil.example", "c1"). */
	(void)snprintf(from, sizeof(from), "%s/platforms/%s.json", cfg.data_dir,
	    got.key);
	pns_platform_key("https://evil.example", "c1", key);
	(void)snprintf(to, sizeof(to), "%s/platforms/%s.json", cfg.data_dir, key);
	ck_assert_int_eq(link(from, to), 0);
	pns_err_clear(&err);
	ck_assert_int_eq(pns_platform_load(&cfg, "https://evil.example", "c1",
	    &got, &err), -1);
	ck_assert_int_eq(err.code, PNS_ENOENT);
	pns_platform_release(&got);
}
END_TEST

static int
count_platforms(const struct pns_platform *p, void *arg)
{
	ck_assert(p->issuer[0] != '\0');
	(*(int *)arg)++;
	return 0;
}

START_TEST(platform_foreach)
{
	struct pns_platform	p;
	int			n = 0;

	ck_assert_int_eq(pns_store_init(&cfg, NULL), 0);
	ck_assert_int_eq(pns_platform_foreach(&cfg, count_platforms, &n, NULL),
	    0);
	ck_assert_int_eq(n, 0);
	platform(&p, "https://p.example/jwks", "d1");
	ck_assert_int_eq(pns_platform_save(&cfg, &p, NULL), 0);
	(void)snprintf(p.client_id, sizeof(p.client_id), "c2");
	ck_assert_int_eq(pns_platform_save(&cfg, &p, NULL), 0);
	ck_assert_int_eq(pns_platform_save(&cfg, &p, NULL), 0);
	pns_platform_release(&p);
	/* Two platforms, whatever the lock file and saves in between. */
	ck_assert_int_eq(pns_platform_foreach(&cfg, count_platforms, &n, NULL),
	    0);
	ck_assert_int_eq(n, 2);
}
END_TEST

/*
 * Launches in several processes learn deployments of one platform at
 * the same moment.  Without the lock, two read-modify-write cycles
 * interleave and one deployment is lost.  All of them must be kept.
 */
START_TEST(platform_learn_across_processes)
{
	struct pns_platform	p;
	pid_t			pids[NPROC];
	char			dep[16];
	int			i, status;

	ck_assert_int_eq(pns_store_init(&cfg, NULL), 0);
	platform(&p, "https://p.example/jwks", "d0");
	ck_assert_int_eq(pns_platform_save(&cfg, &p, NULL), 0);
	pns_platform_release(&p);
	for (i = 0; i < NPROC; i++) {
		if ((pids[i] = fork()) == 0) {
			(void)snprintf(dep, sizeof(dep), "learned-%d", i);
			_exit(pns_platform_learn_deployment(&cfg,
			    "https://p.example", "c1", dep, NULL) == 0 ? 0 : 9);
		}
		ck_assert_int_gt(pids[i], 0);
	}
	for (i = 0; i < NPROC; i++) {
		ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
		ck_assert(WIFEXITED(status));
		ck_assert_int_eq(WEXITSTATUS(status), 0);
	}
	pns_platform_init(&p);
	ck_assert_int_eq(pns_platform_load(&cfg, "https://p.example", "c1", &p,
	    NULL), 0);
	ck_assert_uint_eq(p.ndeployments, NPROC + 1);
	for (i = 0; i < NPROC; i++) {
		(void)snprintf(dep, sizeof(dep), "learned-%d", i);
		ck_assert_msg(pns_platform_has_deployment(&p, dep), "%s lost",
		    dep);
	}
	pns_platform_release(&p);
}
END_TEST

static Suite *
store_suite(void)
{
	Suite	*s = suite_create("store");
	TCase	*tc = tcase_create("store");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, init_layout_and_check);
	tcase_add_test(tc, init_refuses_file_in_the_way);
	tcase_add_test(tc, store_path);
	tcase_add_test(tc, atomic_write_replaces);
	tcase_add_test(tc, atomic_write_is_not_in_place);
	tcase_add_test(tc, atomic_write_missing_dir);
	tcase_add_test(tc, trylock_does_not_wait);
	tcase_add_test(tc, lock_wait_is_bounded);
	tcase_add_test(tc, exclusive_create_once);
	tcase_add_test(tc, exclusive_create_each_way);
	tcase_add_test(tc, read_file_bounds);
	tcase_add_test(tc, json_load_bounds);
	tcase_add_test(tc, nstore_dedup_and_read_back);
	tcase_add_test(tc, nstore_replaces_what_a_crash_left);
	tcase_add_test(tc, nstore_walks_skip_what_a_crash_left);
	tcase_add_test(tc, nstore_record_jwt_verbatim_or_escaped);
	tcase_add_test(tc, nstore_get_refuses_bad_keys);
	tcase_add_test(tc, nstore_foreach);
	tcase_add_test(tc, foreach_skips_removed_file);
	tcase_add_test(tc, foreach_json_skips_what_a_crash_left);
	tcase_add_test(tc, foreach_name_filters);
	tcase_add_test(tc, nstore_foreach_received);
	tcase_add_test(tc, nstore_foreach_received_odd_records);
	tcase_add_test(tc, nstore_shards);
	tcase_add_test(tc, commit_needs_the_store);
	tcase_add_test(tc, commit_shared_by_threads);
	tcase_add_test(tc, nstore_dedup_across_processes);
	tcase_add_test(tc, nstore_distinct_across_processes);
	tcase_add_test(tc, platform_merge);
	tcase_add_test(tc, platform_save_refuses_bad_input);
	tcase_add_test(tc, platform_file_content_must_match_name);
	tcase_add_test(tc, platform_foreach);
	tcase_add_test(tc, platform_learn_across_processes);
	suite_add_tcase(s, tc);
	return s;
}

TEST_MAIN(store_suite)
