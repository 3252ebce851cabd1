/* SPDX-License-Identifier: ISC */
/* Flat-file store: atomic writes, exclusive creation, the notice store
 * and its deduplication across processes, platform records. */
#include <sys/stat.h>
#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pns_fs.h"
#include "pns_nstore.h"
#include "pns_platform.h"
#include "pns_store.h"
#include "unit.h"

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

	ck_assert_int_eq(stat(path, &st), 0);
	return st.st_mode & 07777;
}

START_TEST(init_layout_and_check)
{
	char	path[PNS_FS_PATH_MAX];
	struct pns_err err;

	pns_err_clear(&err);
	ck_assert_int_eq(pns_store_check(&cfg, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "pnsctl init"));
	ck_assert_int_eq(pns_store_init(&cfg, NULL), 0);
	ck_assert_int_eq(pns_store_init(&cfg, NULL), 0);	/* idempotent */
	ck_assert_int_eq(pns_store_check(&cfg, NULL), 0);
	ck_assert_int_eq(mode_of(cfg.data_dir), 0700);
	(void)snprintf(path, sizeof(path), "%s/notices/ff", cfg.data_dir);
	ck_assert_int_eq(mode_of(path), 0700);
}
END_TEST

START_TEST(atomic_write_replaces)
{
	char	path[PNS_FS_PATH_MAX];
	struct pns_buf b;

	ck_assert_int_eq(pns_write_atomic(dir, "f", "one", 3, NULL), 0);
	ck_assert_int_eq(pns_write_atomic(dir, "f", "two!", 4, NULL), 0);
	(void)snprintf(path, sizeof(path), "%s/f", dir);
	pns_buf_init(&b, 64);
	ck_assert_int_eq(pns_read_file(path, &b, NULL), 0);
	ck_assert_str_eq(b.data, "two!");
	ck_assert_int_eq(mode_of(path), 0600);
	pns_buf_release(&b);
	/* No temporary file is left behind. */
	(void)snprintf(path, sizeof(path), "ls -A %s | grep -q tmp", dir);
	ck_assert_int_ne(system(path), 0);
}
END_TEST

START_TEST(exclusive_create_once)
{
	char	path[PNS_FS_PATH_MAX];
	struct pns_buf b;

	ck_assert_int_eq(pns_create_exclusive(dir, "x", "first", 5, 0, NULL), 0);
	ck_assert_int_eq(pns_create_exclusive(dir, "x", "second", 6, 0, NULL), 1);
	(void)snprintf(path, sizeof(path), "%s/x", dir);
	pns_buf_init(&b, 64);
	ck_assert_int_eq(pns_read_file(path, &b, NULL), 0);
	ck_assert_str_eq(b.data, "first");
	pns_buf_release(&b);
}
END_TEST

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

START_TEST(nstore_dedup_and_read_back)
{
	struct pns_notice	 n;
	struct pns_nstore_batch	 b;
	struct json_object	*rec;
	int			 total = 0;

	ck_assert_int_eq(pns_store_init(&cfg, NULL), 0);
	fake_notice(&n, "id-1");
	pns_nstore_batch_init(&b);
	ck_assert_int_eq(pns_nstore_put(&cfg, &n, "2026-01-01T00:00:00.000000Z",
	    &b, NULL), 0);
	ck_assert_int_eq(pns_nstore_put(&cfg, &n, "2026-01-01T00:00:01.000000Z",
	    &b, NULL), 1);
	ck_assert_int_eq(pns_nstore_sync(&cfg, &b, NULL), 0);
	ck_assert_int_eq(pns_nstore_get(&cfg, n.key, &rec, NULL), 0);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(rec,
	    "received_at")), "2026-01-01T00:00:00.000000Z");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(rec,
	    "jwt")), "a.b.c");
	json_object_put(rec);
	ck_assert_int_eq(pns_nstore_foreach(&cfg, count, &total, NULL), 0);
	ck_assert_int_eq(total, 1);
	/* Keys are validated before they name a file. */
	ck_assert_int_eq(pns_nstore_get(&cfg, "../../etc/passwd", &rec, NULL), -1);
	pns_notice_release(&n);
}
END_TEST

/* Sixteen processes store the same notice at once: one stores it. */
START_TEST(nstore_dedup_across_processes)
{
	struct pns_notice	n;
	struct pns_nstore_batch	b;
	pid_t			pids[16];
	int			i, status, created = 0, dup = 0, total = 0, rc;

	ck_assert_int_eq(pns_store_init(&cfg, NULL), 0);
	fake_notice(&n, "racy");
	for (i = 0; i < 16; i++) {
		if ((pids[i] = fork()) == 0) {
			pns_nstore_batch_init(&b);
			rc = pns_nstore_put(&cfg, &n, "2026-01-01T00:00:00.0Z",
			    &b, NULL);
			_exit(rc < 0 || pns_nstore_sync(&cfg, &b, NULL) < 0 ?
			    9 : rc);
		}
		ck_assert_int_gt(pids[i], 0);
	}
	for (i = 0; i < 16; i++) {
		ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
		ck_assert(WIFEXITED(status));
		if (WEXITSTATUS(status) == 0)
			created++;
		else if (WEXITSTATUS(status) == 1)
			dup++;
	}
	ck_assert_int_eq(created, 1);
	ck_assert_int_eq(dup, 15);
	ck_assert_int_eq(pns_nstore_foreach(&cfg, count, &total, NULL), 0);
	ck_assert_int_eq(total, 1);
	pns_notice_release(&n);
}
END_TEST

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

	ck_assert_int_eq(pns_store_init(&cfg, NULL), 0);
	platform(&p, "https://p.example/jwks1", "d1");
	ck_assert_int_eq(pns_platform_save(&cfg, &p, NULL), 0);
	pns_platform_release(&p);
	platform(&p, "https://p.example/jwks2", "d2");
	ck_assert_int_eq(pns_platform_add_deployment(&p, "d1", NULL), 0);
	ck_assert_int_eq(pns_platform_save(&cfg, &p, NULL), 0);
	pns_platform_release(&p);
	ck_assert_int_eq(pns_platform_learn_deployment(&cfg, "https://p.example",
	    "c1", "d3", NULL), 0);

	pns_platform_init(&got);
	ck_assert_int_eq(pns_platform_load(&cfg, "https://p.example", "c1", &got,
	    NULL), 0);
	ck_assert_str_eq(got.jwks_url, "https://p.example/jwks2");
	ck_assert_uint_eq(got.ndeployments, 3);
	ck_assert(pns_platform_has_deployment(&got, "d1"));
	ck_assert(pns_platform_has_deployment(&got, "d2"));
	ck_assert(pns_platform_has_deployment(&got, "d3"));
	ck_assert(!pns_platform_has_deployment(&got, "d4"));
	ck_assert_str_eq(got.registered_by, "manual");

	pns_err_clear(&err);
	ck_assert_int_eq(pns_platform_load(&cfg, "https://p.example", "c2", &got,
	    &err), -1);
	ck_assert_int_eq(err.code, PNS_ENOENT);
	/* Learning a deployment never creates a platform. */
	ck_assert_int_eq(pns_platform_learn_deployment(&cfg, "https://q.example",
	    "c1", "d1", NULL), -1);
	/* Bad input is refused and changes nothing. */
	platform(&p, "ftp://p.example/jwks", NULL);
	ck_assert_int_eq(pns_platform_save(&cfg, &p, NULL), -1);
	pns_platform_release(&p);
	ck_assert_int_eq(pns_platform_load(&cfg, "https://p.example", "c1", &got,
	    NULL), 0);
	ck_assert_str_eq(got.jwks_url, "https://p.example/jwks2");
	pns_platform_release(&got);
}
END_TEST

static Suite *
store_suite(void)
{
	Suite	*s = suite_create("store");
	TCase	*tc = tcase_create("store");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, init_layout_and_check);
	tcase_add_test(tc, atomic_write_replaces);
	tcase_add_test(tc, exclusive_create_once);
	tcase_add_test(tc, nstore_dedup_and_read_back);
	tcase_add_test(tc, nstore_dedup_across_processes);
	tcase_add_test(tc, platform_merge);
	suite_add_tcase(s, tc);
	return s;
}

TEST_MAIN(store_suite)
