/* SPDX-License-Identifier: ISC */
/* One-time OIDC state records. */
#include <sys/stat.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pns_state.h"
#include "pns_store.h"
#include "pns_util.h"
#include "unit.h"

static struct pns_config	cfg;
static struct pns_platform	plat;
static char			dir[] = "/tmp/pns-check-state-XXXXXX";

static void
setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(dir));
	pns_config_defaults(&cfg);
	(void)snprintf(cfg.base_url, sizeof(cfg.base_url), "https://t/cgi-bin");
	(void)snprintf(cfg.data_dir, sizeof(cfg.data_dir), "%s/d", dir);
	ck_assert_int_eq(pns_store_init(&cfg, NULL), 0);
	pns_platform_init(&plat);
	(void)snprintf(plat.issuer, sizeof(plat.issuer), "https://p.example");
	(void)snprintf(plat.client_id, sizeof(plat.client_id), "c1");
}

static void
teardown(void)
{
	char	cmd[128];

	(void)snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	(void)!system(cmd);
	memcpy(dir + strlen(dir) - 6, "XXXXXX", 6);
}

START_TEST(state_round_trip_once)
{
	struct pns_state	st, got;

	ck_assert_int_eq(pns_state_create(&cfg, &plat,
	    "https://t/cgi-bin/lti.cgi/launch", 1000, 600, &st, NULL), 0);
	ck_assert_uint_eq(strlen(st.state), PNS_STATE_LEN);
	ck_assert_uint_eq(strlen(st.nonce), PNS_STATE_LEN);
	ck_assert_str_ne(st.state, st.nonce);
	ck_assert_int_eq(pns_state_consume(&cfg, st.state, 1001, &got, NULL), 0);
	ck_assert_str_eq(got.nonce, st.nonce);
	ck_assert_str_eq(got.issuer, "https://p.example");
	ck_assert_str_eq(got.client_id, "c1");
	ck_assert_str_eq(got.target_link_uri, "https://t/cgi-bin/lti.cgi/launch");
	/* The replay: the same state a second time is unknown. */
	ck_assert_int_eq(pns_state_consume(&cfg, st.state, 1002, &got, NULL), -1);
}
END_TEST

START_TEST(state_expires)
{
	struct pns_state	st, got;
	struct pns_err		err;

	ck_assert_int_eq(pns_state_create(&cfg, &plat, "https://t/x", 1000, 60,
	    &st, NULL), 0);
	pns_err_clear(&err);
	ck_assert_int_eq(pns_state_consume(&cfg, st.state, 1061, &got, &err), -1);
	ck_assert_int_eq(err.code, PNS_ENOENT);
	/* Its twin within the lifetime. */
	ck_assert_int_eq(pns_state_create(&cfg, &plat, "https://t/x", 1000, 60,
	    &st, NULL), 0);
	ck_assert_int_eq(pns_state_consume(&cfg, st.state, 1060, &got, NULL), 0);
}
END_TEST

START_TEST(state_unknown)
{
	struct pns_state	got;

	ck_assert_int_eq(pns_state_consume(&cfg, "nope", 1, &got, NULL), -1);
	ck_assert_int_eq(pns_state_consume(&cfg,
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 1, &got, NULL), -1);
}
END_TEST

/* Eight processes race to consume one state: exactly one wins. */
START_TEST(state_consumed_by_one_racer)
{
	struct pns_state	st, got;
	pid_t			pids[8];
	int			i, status, winners = 0;

	ck_assert_int_eq(pns_state_create(&cfg, &plat, "https://t/x", 1000, 600,
	    &st, NULL), 0);
	for (i = 0; i < 8; i++) {
		if ((pids[i] = fork()) == 0)
			_exit(pns_state_consume(&cfg, st.state, 1001, &got,
			    NULL) == 0 ? 0 : 1);
		ck_assert_int_gt(pids[i], 0);
	}
	for (i = 0; i < 8; i++) {
		ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			winners++;
	}
	ck_assert_int_eq(winners, 1);
}
END_TEST

/* data_dir/state/<H(state)>.json, or, for name ".swept", the stamp. */
static void
state_path(const char *state, const char *name, char *out, size_t size)
{
	const char	*f[1] = { state };
	char		 h[65];

	if (name == NULL) {
		pns_hash_fields(h, 1, f);
		(void)snprintf(out, size, "%s/state/%s.json", cfg.data_dir, h);
	} else
		(void)snprintf(out, size, "%s/state/%s", cfg.data_dir, name);
}

/* Sets path's mtime to ago seconds before now. */
static void
age(const char *path, time_t now, time_t ago)
{
	struct timespec	ts[2] = { { now - ago, 0 }, { now - ago, 0 } };

	ck_assert_int_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
}

/*
 * Regression: every /login read and parsed the record of every pending
 * login to find the expired ones, so a flood of /login requests (no
 * credentials needed) made each later login slower, quadratically.  A
 * sweep now goes by the age of each file and runs at most once a minute.
 */
START_TEST(state_sweep_by_age_and_seldom)
{
	struct pns_state	old, young, st, late;
	char			path[1200], young_path[1200], late_path[1200];
	char			stamp[1200];
	time_t			now = time(NULL);

	ck_assert_int_eq(pns_state_create(&cfg, &plat, "https://t/x", now, 600,
	    &old, NULL), 0);
	ck_assert_int_eq(pns_state_create(&cfg, &plat, "https://t/x", now, 600,
	    &young, NULL), 0);
	state_path(old.state, NULL, path, sizeof(path));
	state_path(young.state, NULL, young_path, sizeof(young_path));
	state_path(NULL, ".swept", stamp, sizeof(stamp));
	age(path, now, 700);
	age(young_path, now, 500);
	/* The last sweep was two minutes ago: this login sweeps. */
	age(stamp, now, 120);
	ck_assert_int_eq(pns_state_create(&cfg, &plat, "https://t/x", now, 600,
	    &st, NULL), 0);
	ck_assert_int_eq(access(path, F_OK), -1);
	/* Its twin, younger than the lifetime, stays and still works. */
	ck_assert_int_eq(access(young_path, F_OK), 0);
	ck_assert_int_eq(pns_state_consume(&cfg, young.state, now, &st, NULL),
	    0);
	/* A sweep ran just now: the next login does not scan again. */
	ck_assert_int_eq(pns_state_create(&cfg, &plat, "https://t/x", now, 600,
	    &late, NULL), 0);
	state_path(late.state, NULL, late_path, sizeof(late_path));
	age(late_path, now, 700);
	ck_assert_int_eq(pns_state_create(&cfg, &plat, "https://t/x", now, 600,
	    &st, NULL), 0);
	ck_assert_int_eq(access(late_path, F_OK), 0);
	/* A minute later it does. */
	age(stamp, now, 61);
	ck_assert_int_eq(pns_state_create(&cfg, &plat, "https://t/x", now, 600,
	    &st, NULL), 0);
	ck_assert_int_eq(access(late_path, F_OK), -1);
}
END_TEST

static Suite *
state_suite(void)
{
	Suite	*s = suite_create("state");
	TCase	*tc = tcase_create("state");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, state_round_trip_once);
	tcase_add_test(tc, state_expires);
	tcase_add_test(tc, state_unknown);
	tcase_add_test(tc, state_consumed_by_one_racer);
	tcase_add_test(tc, state_sweep_by_age_and_seldom);
	suite_add_tcase(s, tc);
	return s;
}

TEST_MAIN(state_suite)
