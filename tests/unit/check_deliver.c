/* SPDX-License-Identifier: ISC */
/* Delivery to the application: its configuration, the hook runner, and
 * the queue from entry to delivered, retried, failed and retried again. */
#include <sys/file.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pns_config.h"
#include "pns_deliver.h"
#include "pns_fs.h"
#include "pns_hook.h"
#include "pns_store.h"
#include "unit.h"

#define BASE	"base_url = https://t/cgi-bin\ndata_dir = /tmp/x\n"
#define KEY	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static struct pns_config	cfg;
static char			dir[] = "/tmp/pns-check-deliver-XXXXXX";

static void
setup(void)
{
	struct pns_err	err;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	pns_config_defaults(&cfg);
	(void)snprintf(cfg.base_url, sizeof(cfg.base_url), "https://t/cgi-bin");
	(void)snprintf(cfg.data_dir, sizeof(cfg.data_dir), "%s/d", dir);
	ck_assert_int_eq(pns_store_init(&cfg, &err), 0);
}

static void
teardown(void)
{
	char	cmd[128];

	(void)snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	(void)!system(cmd);
	memcpy(dir + strlen(dir) - 6, "XXXXXX", 6);
}

static int
parse(const char *text, struct pns_config *c, struct pns_err *err)
{
	pns_config_defaults(c);
	pns_err_clear(err);
	return pns_config_parse(c, text, strlen(text), "t.conf", err);
}

/* Writes an executable /bin/sh script into dir; returns its path. */
static const char *
script(const char *name, const char *body)
{
	static char	path[256];
	FILE		*f;

	(void)snprintf(path, sizeof(path), "%s/%s", dir, name);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	(void)fprintf(f, "#!/bin/sh\n%s\n", body);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(path, 0700), 0);
	return path;
}

static char *
slurp(const char *path)
{
	struct pns_buf	b;
	struct pns_err	err;

	pns_buf_init(&b, 1 << 20);
	if (pns_read_file(path, &b, &err) == -1) {
		pns_buf_release(&b);
		return NULL;
	}
	return b.data != NULL ? b.data : strdup("");
}

/* -- configuration ------------------------------------------------------ */

START_TEST(config_accepts_targets_and_rules)
{
	struct pns_config	c;
	struct pns_err		err;
	struct pns_target	t;

	pns_err_clear(&err);
	ck_assert_int_eq(parse(BASE
	    "deliver_command = /usr/local/bin/app-hook --notice\n"
	    "deliver_command.LtiHelloWorldNotice = none\n"
	    "deliver_command.LtiContextCopyNotice = /usr/bin/copy-hook\n"
	    "deliver_attempts = 3\ndeliver_backoff = 5\n"
	    "deliver_timeout = 7\ndeliver_workers = 4\n", &c, &err), 0);
	ck_assert_int_eq(c.deliver_attempts, 3);
	ck_assert_int_eq(c.deliver_backoff, 5);
	ck_assert_int_eq(c.deliver_timeout, 7);
	ck_assert_int_eq(c.deliver_workers, 4);
	ck_assert(pns_deliver_configured(&c));
	pns_deliver_target(&c, "LtiAssetProcessorSubmissionNotice", &t);
	ck_assert_int_eq(t.kind, PNS_TARGET_COMMAND);
	ck_assert_str_eq(t.where, "/usr/local/bin/app-hook --notice");
	pns_deliver_target(&c, "LtiHelloWorldNotice", &t);
	ck_assert_int_eq(t.kind, PNS_TARGET_NONE);
	pns_deliver_target(&c, "LtiContextCopyNotice", &t);
	ck_assert_int_eq(t.kind, PNS_TARGET_COMMAND);
	ck_assert_str_eq(t.where, "/usr/bin/copy-hook");

	ck_assert_int_eq(parse(BASE "deliver_url = https://app/notices\n"
	    "deliver_secret = 0123456789abcdef\n"
	    "deliver_url.LtiHelloWorldNotice = none\n", &c, &err), 0);
	pns_deliver_target(&c, "X", &t);
	ck_assert_int_eq(t.kind, PNS_TARGET_URL);
	ck_assert_str_eq(t.where, "https://app/notices");
	pns_deliver_target(&c, "LtiHelloWorldNotice", &t);
	ck_assert_int_eq(t.kind, PNS_TARGET_NONE);

	/* Nothing configured: no target, nothing queued. */
	ck_assert_int_eq(parse(BASE, &c, &err), 0);
	ck_assert(!pns_deliver_configured(&c));
	pns_deliver_target(&c, "LtiHelloWorldNotice", &t);
	ck_assert_int_eq(t.kind, PNS_TARGET_NONE);
}
END_TEST

START_TEST(config_refuses_bad_delivery)
{
	static const char *const bad[] = {
		"deliver_command = hook.sh\n",			/* relative */
		"deliver_command = /bin/hook \x01\n",		/* control */
		"deliver_url = https://a/x\n",			/* no secret */
		"deliver_url = ftp://a/x\ndeliver_secret = 0123456789abcdef\n",
		"deliver_secret = short\n",
		"deliver_secret = has a space in it!!\n",
		"deliver_command = /bin/a\ndeliver_url = https://a/x\n"
		    "deliver_secret = 0123456789abcdef\n",	/* both */
		"deliver_command.Lti-Hello = /bin/a\n",	/* not a type */
		"deliver_command. = /bin/a\n",
		"deliver_command.A = /bin/a\ndeliver_command.A = /bin/b\n",
		"deliver_command.A = /bin/a\ndeliver_url.A = https://a/x\n"
		    "deliver_secret = 0123456789abcdef\n",	/* both, one type */
		"deliver_url.A = https://a/x\n",		/* no secret */
		"deliver_attempts = 0\n",
		"deliver_workers = 17\n",
		"deliver_command.A = /a\ndeliver_command.B = /a\n"
		    "deliver_command.C = /a\ndeliver_command.D = /a\n"
		    "deliver_command.E = /a\ndeliver_command.F = /a\n"
		    "deliver_command.G = /a\ndeliver_command.H = /a\n"
		    "deliver_command.I = /a\n",		/* nine rules */
	};
	struct pns_config	c;
	struct pns_err		err;
	char			text[1024];
	size_t			i;

	pns_err_clear(&err);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		(void)snprintf(text, sizeof(text), "%s%s", BASE, bad[i]);
		ck_assert_msg(parse(text, &c, &err) == -1, "accepted: %s",
		    bad[i]);
		ck_assert_msg(strstr(err.msg, "t.conf") != NULL, "%s", err.msg);
	}
	/* The twin: eight rules, a good secret, a command with words. */
	ck_assert_int_eq(parse(BASE
	    "deliver_command.A = /a\ndeliver_command.B = /a\n"
	    "deliver_command.C = /a\ndeliver_command.D = /a\n"
	    "deliver_command.E = /a\ndeliver_command.F = /a\n"
	    "deliver_command.G = /a\ndeliver_url.H = https://a/x\n"
	    "deliver_secret = 0123456789abcdef\n", &c, &err), 0);
	ck_assert_int_eq(c.nrules, 8);
}
END_TEST

/* -- the hook runner ---------------------------------------------------- */

START_TEST(hook_exit_status)
{
	struct pns_err	err;
	char		*envp[] = { NULL };

	pns_err_clear(&err);
	ck_assert_int_eq(pns_hook_run("/bin/true", envp, "x", 1, 5, &err), 0);
	pns_err_clear(&err);
	ck_assert_int_eq(pns_hook_run("/bin/false", envp, "x", 1, 5, &err), -1);
	ck_assert_int_eq(err.code, PNS_EAPP);
	ck_assert_ptr_nonnull(strstr(err.msg, "status 1"));
	pns_err_clear(&err);
	ck_assert_int_eq(pns_hook_run("/nonexistent/hook", envp, "x", 1, 5,
	    &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "cannot run"));
}
END_TEST

START_TEST(hook_gets_stdin_env_and_args_verbatim)
{
	struct pns_err	 err;
	char		 cmd[512], out[256], *got;
	char		*envp[] = { (char *)(uintptr_t)"PNS_NOTICE_ID=$(touch x); `y` | z",
			    (char *)(uintptr_t)"PATH=/usr/bin:/bin", NULL };
	const char	*s;
	static const char in[] = "{\"id\": \"a;b\\nc\"}";

	pns_err_clear(&err);
	(void)snprintf(out, sizeof(out), "%s/out", dir);
	s = script("h.sh", "cat > \"$1\"; printf '%s|%s|%s' \"$PNS_NOTICE_ID\" "
	    "\"$2\" \"$(pwd)\" > \"$1.env\"; env | grep -c . > \"$1.n\"");
	(void)snprintf(cmd, sizeof(cmd), "%s %s $(id)", s, out);
	ck_assert_int_eq(pns_hook_run(cmd, envp, in, sizeof(in) - 1, 5, &err),
	    0);
	ck_assert_ptr_nonnull(got = slurp(out));
	ck_assert_str_eq(got, in);
	free(got);
	(void)snprintf(out + strlen(out), sizeof(out) - strlen(out), ".env");
	ck_assert_ptr_nonnull(got = slurp(out));
	/* No shell on our side: "$(id)" is one plain word. */
	ck_assert_str_eq(got, "$(touch x); `y` | z|$(id)|/");
	free(got);
}
END_TEST

/* 1 when pid has exited, waiting a little for the kill to land. */
static int
dead(pid_t pid)
{
	char	path[64], *stat, *p;
	int	i, gone = 0;

	(void)snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	for (i = 0; i < 50 && !gone; i++) {
		if ((stat = slurp(path)) == NULL)
			return 1;
		p = strrchr(stat, ')');
		gone = p != NULL && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
		free(stat);
		if (!gone)
			usleep(20 * 1000);
	}
	return gone;
}

START_TEST(hook_timeout_kills_the_group)
{
	struct pns_err	 err;
	char		 cmd[512], pidfile[256], *pid;
	char		*envp[] = { (char *)(uintptr_t)"PATH=/usr/bin:/bin", NULL };
	const char	*s;
	time_t		 t0 = time(NULL);

	pns_err_clear(&err);
	(void)snprintf(pidfile, sizeof(pidfile), "%s/child.pid", dir);
	s = script("hang.sh", "sleep 60 & echo $! > \"$1\"; wait");
	(void)snprintf(cmd, sizeof(cmd), "%s %s", s, pidfile);
	ck_assert_int_eq(pns_hook_run(cmd, envp, "", 0, 1, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "timed out"));
	ck_assert_int_le(time(NULL) - t0, 4);
	ck_assert_ptr_nonnull(pid = slurp(pidfile));
	/* The grandchild went with it (gone, or a zombie nobody reaped). */
	ck_assert(dead((pid_t)atol(pid)));
	free(pid);
}
END_TEST

START_TEST(hook_that_ignores_stdin)
{
	struct pns_err	 err;
	char		*envp[] = { NULL };
	char		*big;
	size_t		 n = 512 * 1024;

	pns_err_clear(&err);
	/* More than a pipe holds, to a hook that never reads it. */
	ck_assert_ptr_nonnull(big = malloc(n));
	memset(big, 'x', n);
	ck_assert_int_eq(pns_hook_run("/bin/true", envp, big, n, 5, &err), 0);
	ck_assert_int_eq(pns_hook_run("/bin/false", envp, big, n, 5, &err), -1);
	free(big);
}
END_TEST

/* -- the queue ---------------------------------------------------------- */

/* A stored notice record, as nstore writes it, under KEY. */
static void
store_notice(const char *key, const char *type)
{
	char		ndir[PNS_FS_PATH_MAX], name[80], text[512];
	struct pns_err	err;

	(void)snprintf(ndir, sizeof(ndir), "%s/notices/%c%c", cfg.data_dir,
	    key[0], key[1]);
	(void)snprintf(name, sizeof(name), "%s.json", key);
	(void)snprintf(text, sizeof(text), "{\"key\":\"%s\",\"id\":\"n-1\","
	    "\"type\":\"%s\",\"iss\":\"https://p\",\"client_id\":\"c\","
	    "\"deployment_id\":\"d\",\"claims\":{}}", key, type);
	ck_assert_int_eq(pns_write_atomic(ndir, name, text, strlen(text),
	    &err), 0);
}

/* Puts the record of key under the name of as (what a crash can do). */
static void
store_notice_as(const char *as, const char *key)
{
	char		from[PNS_FS_PATH_MAX], to[PNS_FS_PATH_MAX];

	(void)snprintf(from, sizeof(from), "%s/notices/%c%c/%s.json",
	    cfg.data_dir, key[0], key[1], key);
	(void)snprintf(to, sizeof(to), "%s/notices/%c%c/%s.json",
	    cfg.data_dir, as[0], as[1], as);
	ck_assert_int_eq(rename(from, to), 0);
}

static enum pns_dstatus
status_of(const char *key, struct pns_delivery *d)
{
	struct pns_err	err;

	ck_assert_int_eq(pns_deliver_status(&cfg, key, d, &err), 0);
	return d->status;
}

START_TEST(queue_delivers_once)
{
	struct pns_dispatch_stats	st;
	struct pns_delivery		d;
	struct pns_err			err;
	char				out[256], cmd[512], *got;
	long				pending, failed;

	pns_err_clear(&err);
	(void)snprintf(out, sizeof(out), "%s/got", dir);
	(void)snprintf(cmd, sizeof(cmd), "%s %s", script("ok.sh",
	    "cat >> \"$1\"; echo \"$PNS_NOTICE_KEY\" >> \"$1\""), out);
	(void)snprintf(cfg.deliver_command, sizeof(cfg.deliver_command), "%s",
	    cmd);
	store_notice(KEY, "LtiHelloWorldNotice");
	ck_assert_int_eq(status_of(KEY, &d), PNS_DS_NONE);
	ck_assert_int_eq(pns_deliver_enqueue(&cfg, KEY, 0, &err), 0);
	ck_assert_int_eq(status_of(KEY, &d), PNS_DS_PENDING);
	ck_assert_int_eq(pns_deliver_counts(&cfg, &pending, &failed, &err), 0);
	ck_assert_int_eq(pending, 1);
	ck_assert_int_eq(failed, 0);

	ck_assert_int_eq(pns_dispatch(&cfg, 0, &st, &err), 0);
	ck_assert_int_eq(st.delivered, 1);
	ck_assert_int_eq(st.retried + st.failed, 0);
	ck_assert_int_eq(status_of(KEY, &d), PNS_DS_DELIVERED);
	ck_assert_int_eq(d.attempts, 1);
	ck_assert_int_eq(strlen(d.delivered_at), 20);
	ck_assert_ptr_nonnull(got = slurp(out));
	ck_assert_ptr_nonnull(strstr(got, "\"id\":\"n-1\""));
	ck_assert_ptr_nonnull(strstr(got, KEY "\n"));
	free(got);

	/* Queued again (a duplicate arriving): nothing more happens. */
	ck_assert_int_eq(pns_deliver_enqueue(&cfg, KEY, 0, &err), 0);
	ck_assert_int_eq(pns_deliver_counts(&cfg, &pending, &failed, &err), 0);
	ck_assert_int_eq(pending, 0);
	ck_assert_int_eq(pns_dispatch(&cfg, 0, &st, &err), 0);
	ck_assert_int_eq(st.delivered, 0);
	/* Not a key: refused, nothing created. */
	ck_assert_int_eq(pns_deliver_enqueue(&cfg, "../x", 0, &err), -1);
}
END_TEST

/*
 * After a power failure a notice's name can hold some other file's old
 * blocks, even another notice's whole record (pns_nstore_put).  The
 * worker read whatever parsed and handed it to the application as this
 * notice.  It now delivers a record only under its own key; the notice
 * stays queued, and goes once its record is whole again.
 */
START_TEST(queue_delivers_only_the_notice_own_record)
{
	static const char		 other[] =
	    "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
	struct pns_dispatch_stats	st;
	struct pns_delivery		d;
	struct pns_err			err;
	char				out[256], cmd[512];
	char				qdir[PNS_FS_PATH_MAX];
	char				*got;

	pns_err_clear(&err);
	(void)snprintf(out, sizeof(out), "%s/got", dir);
	(void)snprintf(cmd, sizeof(cmd), "%s %s", script("ok.sh",
	    "cat >> \"$1\""), out);
	(void)snprintf(cfg.deliver_command, sizeof(cfg.deliver_command), "%s",
	    cmd);
	/* The record of another key, put under KEY's name. */
	store_notice(other, "LtiHelloWorldNotice");
	store_notice_as(KEY, other);
	ck_assert_int_eq(pns_deliver_enqueue(&cfg, KEY, 0, &err), 0);
	ck_assert_int_eq(pns_dispatch(&cfg, 0, &st, &err), 0);
	ck_assert_int_eq(st.delivered, 0);
	ck_assert_int_eq(st.retried, 1);
	ck_assert_int_eq(status_of(KEY, &d), PNS_DS_PENDING);
	ck_assert_ptr_nonnull(strstr(d.last_error, "not a whole record"));
	ck_assert_int_eq(access(out, F_OK), -1);

	/* The twin: its own record back, due now, and it is delivered. */
	store_notice(KEY, "LtiHelloWorldNotice");
	(void)snprintf(qdir, sizeof(qdir), "%s/queue", cfg.data_dir);
	ck_assert_int_eq(pns_write_atomic(qdir, KEY, "", 0, &err), 0);
	ck_assert_int_eq(pns_dispatch(&cfg, 0, &st, &err), 0);
	ck_assert_int_eq(st.delivered, 1);
	ck_assert_int_eq(status_of(KEY, &d), PNS_DS_DELIVERED);
	ck_assert_ptr_nonnull(got = slurp(out));
	ck_assert_ptr_nonnull(strstr(got, "\"key\":\"" KEY "\""));
	free(got);
}
END_TEST

START_TEST(queue_retries_then_fails_then_retry)
{
	struct pns_dispatch_stats	st;
	struct pns_delivery		d;
	struct pns_err			err;
	char				flag[256], cmd[512];
	time_t				t0;

	pns_err_clear(&err);
	/* Fails while the flag file is missing. */
	(void)snprintf(flag, sizeof(flag), "%s/ready", dir);
	(void)snprintf(cmd, sizeof(cmd), "%s %s", script("gate.sh",
	    "cat > /dev/null; test -e \"$1\" || { echo no >&2; exit 3; }"),
	    flag);
	(void)snprintf(cfg.deliver_command, sizeof(cfg.deliver_command), "%s",
	    cmd);
	cfg.deliver_attempts = 2;
	cfg.deliver_backoff = 1;
	store_notice(KEY, "LtiContextCopyNotice");
	ck_assert_int_eq(pns_deliver_enqueue(&cfg, KEY, 0, &err), 0);

	t0 = time(NULL);
	ck_assert_int_eq(pns_dispatch(&cfg, 0, &st, &err), 0);
	ck_assert_int_eq(st.retried, 1);
	ck_assert_int_eq(status_of(KEY, &d), PNS_DS_PENDING);
	ck_assert_int_eq(d.attempts, 1);
	ck_assert_ptr_nonnull(strstr(d.last_error, "status 3"));
	ck_assert_int_ge(d.next_at, t0 + 1);
	/* Not due yet: a second run does nothing, and says when. */
	ck_assert_int_eq(pns_dispatch(&cfg, 0, &st, &err), 0);
	ck_assert_int_eq(st.retried + st.delivered + st.failed, 0);
	ck_assert(!pns_deliver_due(&cfg, t0 - 1));
	ck_assert(pns_deliver_due(&cfg, d.next_at));

	/* Lingering takes the retry when it comes due: the last attempt. */
	ck_assert_int_eq(pns_dispatch(&cfg, 5, &st, &err), 0);
	ck_assert_int_eq(st.failed, 1);
	ck_assert_int_eq(status_of(KEY, &d), PNS_DS_FAILED);
	ck_assert_int_eq(d.attempts, 2);
	ck_assert_ptr_nonnull(strstr(d.last_error, "status 3"));

	/* Fixed, and retried by hand: delivered. */
	(void)close(open(flag, O_WRONLY | O_CREAT, 0600));
	ck_assert_int_eq(pns_deliver_retry(&cfg, KEY, &err), 1);
	ck_assert_int_eq(status_of(KEY, &d), PNS_DS_PENDING);
	ck_assert_int_eq(d.attempts, 0);
	ck_assert_int_eq(pns_dispatch(&cfg, 0, &st, &err), 0);
	ck_assert_int_eq(st.delivered, 1);
	ck_assert_int_eq(status_of(KEY, &d), PNS_DS_DELIVERED);
	/* Nothing failed is left to retry. */
	ck_assert_int_eq(pns_deliver_retry(&cfg, NULL, &err), 0);
	pns_err_clear(&err);
	ck_assert_int_eq(pns_deliver_retry(&cfg, KEY, &err), -1);
	ck_assert_int_eq(err.code, PNS_ENOENT);
}
END_TEST

START_TEST(workers_are_bounded)
{
	struct pns_dispatch_stats	st;
	struct pns_err			err;
	char				path[PNS_FS_PATH_MAX];
	int				fd;

	pns_err_clear(&err);
	cfg.deliver_workers = 1;
	(void)snprintf(cfg.deliver_command, sizeof(cfg.deliver_command),
	    "/bin/true");
	ck_assert(pns_deliver_slot_free(&cfg));
	(void)snprintf(path, sizeof(path), "%s/queue/.worker.0", cfg.data_dir);
	ck_assert_int_ne(fd = open(path, O_RDWR | O_CREAT, 0600), -1);
	ck_assert_int_eq(flock(fd, LOCK_EX), 0);
	ck_assert(!pns_deliver_slot_free(&cfg));
	ck_assert_int_eq(pns_dispatch(&cfg, 0, &st, &err), 0);
	ck_assert_int_eq(st.busy, 1);
	(void)close(fd);
	ck_assert(pns_deliver_slot_free(&cfg));
	ck_assert_int_eq(pns_dispatch(&cfg, 0, &st, &err), 0);
	ck_assert_int_eq(st.busy, 0);
}
END_TEST

static Suite *
deliver_suite(void)
{
	Suite	*s = suite_create("deliver");
	TCase	*tc = tcase_create("deliver");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, config_accepts_targets_and_rules);
	tcase_add_test(tc, config_refuses_bad_delivery);
	tcase_add_test(tc, hook_exit_status);
	tcase_add_test(tc, hook_gets_stdin_env_and_args_verbatim);
	tcase_add_test(tc, hook_timeout_kills_the_group);
	tcase_add_test(tc, hook_that_ignores_stdin);
	tcase_add_test(tc, queue_delivers_once);
	tcase_add_test(tc, queue_delivers_only_the_notice_own_record);
	tcase_add_test(tc, queue_retries_then_fails_then_retry);
	tcase_add_test(tc, workers_are_bounded);
	suite_add_tcase(s, tc);
	return s;
}

TEST_MAIN(deliver_suite)
