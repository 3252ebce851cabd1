/* SPDX-License-Identifier: ISC */
/* Child processes for a threaded program; see pns_child.h. */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "pns_child.h"
#include "banned.h"

static char		self_path[PATH_MAX];
static pthread_once_t	self_once = PTHREAD_ONCE_INIT;
static const char	*helper_name;	/* NULL: this program */
static char		helper_path[PATH_MAX];
static pthread_once_t	helper_once = PTHREAD_ONCE_INIT;

static void
resolve_self(void)
{
	ssize_t	n;

	n = readlink("/proc/self/exe", self_path, sizeof(self_path) - 1);
	if (n > 0 && (size_t)n < sizeof(self_path) - 1)
		self_path[n] = '\0';
	else
		(void)snprintf(self_path, sizeof(self_path), "/proc/self/exe");
}

static void
resolve_helper(void)
{
	const char	*slash;
	int		 w;

	(void)pthread_once(&self_once, resolve_self);
	if (helper_name == NULL) {
		(void)snprintf(helper_path, sizeof(helper_path), "%s",
		    self_path);
		return;
	}
	slash = strrchr(self_path, '/');
	w = snprintf(helper_path, sizeof(helper_path), "%.*s/%s",
	    slash != NULL ? (int)(slash - self_path) : 0, self_path,
	    helper_name);
	/* Too long: starting it fails and says so. */
	if (w < 0 || (size_t)w >= sizeof(helper_path))
		(void)snprintf(helper_path, sizeof(helper_path), "%s",
		    helper_name);
}

const char *
pns_child_self(void)
{
	(void)pthread_once(&self_once, resolve_self);
	return self_path;
}

void
pns_child_use_helper(const char *name)
{
	helper_name = name;
}

const char *
pns_child_helper(void)
{
	(void)pthread_once(&helper_once, resolve_helper);
	return helper_path;
}

int
pns_child_spawn(pid_t *pid, const char *path, char *const argv[],
    char *const envp[], int in, int out, struct pns_err *err)
{
	posix_spawn_file_actions_t	 fa;
	posix_spawnattr_t		 attr;
	sigset_t			 all, none;
	int				 rc;

	/* Said plainly here: under valgrind a failed exec shows only as
	 * the child's status 127, posix_spawn cannot report it there. */
	if (access(path, X_OK) == -1)
		return pns_err_sys(err, "cannot run %s", path);
	(void)posix_spawn_file_actions_init(&fa);
	if (in != -1)
		(void)posix_spawn_file_actions_adddup2(&fa, in, STDIN_FILENO);
	else
		(void)posix_spawn_file_actions_addopen(&fa, STDIN_FILENO,
		    "/dev/null", O_RDONLY, 0);
	if (out != -1)
		(void)posix_spawn_file_actions_adddup2(&fa, out,
		    STDOUT_FILENO);
	else
		(void)posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO,
		    "/dev/null", O_WRONLY, 0);
	/* Runs from "/", wherever the caller happened to be started. */
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
	rc = posix_spawn(pid, path, &fa, &attr, argv, envp);
	(void)posix_spawn_file_actions_destroy(&fa);
	(void)posix_spawnattr_destroy(&attr);
	if (rc != 0) {
		errno = rc;
		return pns_err_sys(err, "cannot run %s", path);
	}
	return 0;
}

void
pns_child_deadline(struct timespec *deadline, long seconds)
{
	(void)clock_gettime(CLOCK_MONOTONIC, deadline);
	deadline->tv_sec += seconds;
}

long
pns_child_ms_left(const struct timespec *deadline)
{
	struct timespec	now;

	(void)clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(deadline->tv_sec - now.tv_sec) * 1000 +
	    (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

long
pns_child_s_left(const struct timespec *deadline)
{
	long	ms = pns_child_ms_left(deadline);

	return ms > 0 ? (ms + 100) / 1000 : 0;
}

/* pns_child_write when wbuf is set, else pns_child_read into rbuf. */
static size_t
xfer(int fd, const char *wbuf, char *rbuf, size_t len,
    const struct timespec *deadline)
{
	struct pollfd	pfd = { fd, wbuf != NULL ? POLLOUT : POLLIN, 0 };
	size_t		done = 0;
	ssize_t		n;
	long		left;

	while (done < len && (left = pns_child_ms_left(deadline)) > 0) {
		/* EINTR (a thread woken by a signal) only goes round again. */
		if (poll(&pfd, 1, (int)(left > 1000 ? 1000 : left)) <= 0)
			continue;
		if (wbuf != NULL)
			n = write(fd, wbuf + done, len - done);
		else
			n = read(fd, rbuf + done, len - done);
		if (n > 0)
			done += (size_t)n;
		else if (n == 0 || (errno != EAGAIN && errno != EINTR))
			break;		/* the end, or EPIPE: it stopped reading */
	}
	return done;
}

size_t
pns_child_write(int fd, const char *buf, size_t len,
    const struct timespec *deadline)
{
	return xfer(fd, buf, NULL, len, deadline);
}

size_t
pns_child_read(int fd, char *buf, size_t len, const struct timespec *deadline)
{
	return xfer(fd, NULL, buf, len, deadline);
}

int
pns_child_wait(pid_t pid, int *status, const struct timespec *deadline)
{
	struct timespec	nap = { 0, 5 * 1000 * 1000 };
	pid_t		r;

	for (;;) {
		r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return 1;
		if (r == -1 && errno != EINTR)
			return 1;
		if (pns_child_ms_left(deadline) <= 0)
			break;
		(void)nanosleep(&nap, NULL);
	}
	(void)kill(-pid, SIGKILL);
	(void)kill(pid, SIGKILL);
	while (waitpid(pid, status, 0) == -1 && errno == EINTR)
		;
	return 0;
}

int
pns_child_status_err(struct pns_err *err, enum pns_code code,
    const char *what, int status)
{
	if (WIFEXITED(status))
		return pns_err_set(err, code, "%s exited with status %d", what,
		    WEXITSTATUS(status));
	if (WIFSIGNALED(status))
		return pns_err_set(err, code, "%s killed by signal %d", what,
		    WTERMSIG(status));
	return pns_err_set(err, code, "%s ended abnormally", what);
}
