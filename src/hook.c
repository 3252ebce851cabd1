/* SPDX-License-Identifier: ISC */
/*
 * The hook runner; see pns_hook.h.  The hook gets its own process group
 * so that a timeout kills whatever it forked as well, and default signal
 * dispositions so that it does not inherit our ignored SIGPIPE.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pns_hook.h"
#include "banned.h"

/* Splits cmdline into argv in buf; returns the number of words, or 0
 * when there are none or too many. */
static size_t
split_words(const char *cmdline, char *buf, size_t size, char **argv)
{
	size_t	n = 0, len = strlen(cmdline);
	char	*p;

	if (len >= size)
		return 0;
	memcpy(buf, cmdline, len + 1);
	for (p = buf; *p != '\0'; ) {
		while (*p == ' ' || *p == '\t')
			*p++ = '\0';
		if (*p == '\0')
			break;
		if (n == PNS_HOOK_MAX_ARGS)
			return 0;
		argv[n++] = p;
		while (*p != '\0' && *p != ' ' && *p != '\t')
			p++;
	}
	argv[n] = NULL;
	return n;
}

static long
ms_left(const struct timespec *deadline)
{
	struct timespec	now;

	(void)clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(deadline->tv_sec - now.tv_sec) * 1000 +
	    (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

/* Feeds in to fd until done, the hook closes its end, or the deadline. */
static void
feed(int fd, const char *in, size_t inlen, const struct timespec *deadline)
{
	struct pollfd	pfd = { fd, POLLOUT, 0 };
	size_t		off = 0;
	ssize_t		w;
	long		left;

	while (off < inlen && (left = ms_left(deadline)) > 0) {
		if (poll(&pfd, 1, (int)(left > 1000 ? 1000 : left)) <= 0)
			continue;
		w = write(fd, in + off, inlen - off);
		if (w > 0)
			off += (size_t)w;
		else if (w == -1 && errno != EAGAIN && errno != EINTR)
			break;		/* EPIPE: it stopped reading */
	}
}

/* Waits for pid until the deadline; 1 with *status, or 0 on timeout. */
static int
wait_until(pid_t pid, int *status, const struct timespec *deadline)
{
	struct timespec	nap = { 0, 5 * 1000 * 1000 };
	pid_t		r;

	for (;;) {
		r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return 1;
		if (r == -1 && errno != EINTR)
			return 1;
		if (ms_left(deadline) <= 0)
			return 0;
		(void)nanosleep(&nap, NULL);
	}
}

int
pns_hook_run(const char *cmdline, char *const envp[], const char *in,
    size_t inlen, long timeout, struct pns_err *err)
{
	char				 buf[1024], *argv[PNS_HOOK_MAX_ARGS + 1];
	posix_spawn_file_actions_t	 fa;
	posix_spawnattr_t		 attr;
	sigset_t			 all, none;
	struct timespec			 deadline;
	struct sigaction		 ign, old;
	pid_t				 pid;
	int				 p[2], status = 0, rc;

	if (split_words(cmdline, buf, sizeof(buf), argv) == 0)
		return pns_err_set(err, PNS_EINVAL, "hook command empty or of "
		    "more than %d words", PNS_HOOK_MAX_ARGS);
	/* Said plainly here: a failed exec would only show as status 127. */
	if (access(argv[0], X_OK) == -1)
		return pns_err_sys(err, "cannot run %s", argv[0]);
	if (pipe2(p, O_CLOEXEC) == -1)
		return pns_err_sys(err, "pipe");
	(void)posix_spawn_file_actions_init(&fa);
	(void)posix_spawn_file_actions_adddup2(&fa, p[0], STDIN_FILENO);
	(void)posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO,
	    "/dev/null", O_WRONLY, 0);
	/* Runs from "/", wherever the worker happened to be started. */
	(void)posix_spawn_file_actions_addchdir_np(&fa, "/");
	/* Nothing of ours (locks, sockets, the FastCGI listener) leaks in. */
	(void)posix_spawn_file_actions_addclosefrom_np(&fa, STDERR_FILENO + 1);
	(void)posix_spawnattr_init(&attr);
	(void)sigfillset(&all);
	(void)sigemptyset(&none);
	(void)posix_spawnattr_setsigdefault(&attr, &all);
	(void)posix_spawnattr_setsigmask(&attr, &none);
	(void)posix_spawnattr_setpgroup(&attr, 0);
	(void)posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF |
	    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP);
	rc = posix_spawn(&pid, argv[0], &fa, &attr, argv, envp);
	(void)posix_spawn_file_actions_destroy(&fa);
	(void)posix_spawnattr_destroy(&attr);
	(void)close(p[0]);
	if (rc != 0) {
		(void)close(p[1]);
		errno = rc;
		return pns_err_sys(err, "cannot run %s", argv[0]);
	}

	(void)clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout;
	(void)fcntl(p[1], F_SETFL, O_NONBLOCK);
	/* A hook that stops reading must give EPIPE, not kill the caller. */
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	(void)sigaction(SIGPIPE, &ign, &old);
	feed(p[1], in, inlen, &deadline);
	(void)close(p[1]);
	(void)sigaction(SIGPIPE, &old, NULL);
	if (!wait_until(pid, &status, &deadline)) {
		(void)kill(-pid, SIGKILL);
		(void)kill(pid, SIGKILL);
		(void)waitpid(pid, &status, 0);
		return pns_err_set(err, PNS_EAPP, "hook timed out after "
		    "%ld s and was killed", timeout);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		return pns_err_set(err, PNS_EAPP, "hook exited with status %d",
		    WEXITSTATUS(status));
	if (WIFSIGNALED(status))
		return pns_err_set(err, PNS_EAPP, "hook killed by signal %d",
		    WTERMSIG(status));
	return pns_err_set(err, PNS_EAPP, "hook ended abnormally");
}
