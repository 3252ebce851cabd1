/* SPDX-License-Identifier: ISC */
/*
 * Short-lived child processes, started safely from a threaded program:
 * posix_spawn (no code runs between fork and exec), default signal
 * dispositions and an empty mask (not our ignored SIGPIPE, not a
 * thread's blocked signals), none of our descriptors beyond 0 to 2
 * (locks, sockets, the FastCGI listener), a process group of its own so
 * that a timeout kills whatever it started too, and "/" as the working
 * directory.  The caller waits for it against a deadline; a child is
 * always reaped, so none is left a zombie.
 */
#ifndef PNS_CHILD_H
#define PNS_CHILD_H

#include <sys/types.h>

#include <stddef.h>
#include <time.h>

#include "pns_err.h"

/*
 * Starts path with argv and exactly the environment envp.  Its standard
 * input is in and its standard output out (descriptors of ours, left
 * open here), /dev/null where -1; its standard error is ours.  Fails
 * with PNS_ESYS ("cannot run path: ...").
 */
/*
 * This program's path, for starting it again: /proc/self/exe read once.
 * Executing "/proc/self/exe" itself would start whatever really runs the
 * process, which under valgrind is valgrind's tool; reading the link
 * gives the program (valgrind answers that read for it).  Call it once
 * before threads or forks: a forked child of a threaded process may only
 * use the string.
 */
const char *pns_child_self(void);

/*
 * The program that runs this one's helper modes, a key set fetch
 * (PNS_HTTP_CHILD_ARG) and the delivery worker (PNS_DISPATCH_ARG): this
 * program itself, or after pns_child_use_helper(name), the program name
 * in the directory of this one (pns_child_self, links resolved).
 * notices.fcgi names lti.cgi (PNS_HELPER_NAME), installed beside it:
 * notices.fcgi is linked statically, and a static program cannot load
 * libcurl, which both helpers need.  pns_child_use_helper must come
 * before the first pns_child_helper; the same rules as pns_child_self.
 */
#define PNS_HELPER_NAME	"lti.cgi"
void		 pns_child_use_helper(const char *name);
const char	*pns_child_helper(void);

int	pns_child_spawn(pid_t *pid, const char *path, char *const argv[],
	    char *const envp[], int in, int out, struct pns_err *err);

/* A deadline seconds from now, on the monotonic clock. */
void	pns_child_deadline(struct timespec *deadline, long seconds);
/* Milliseconds left until deadline, 0 or less once it has passed. */
long	pns_child_ms_left(const struct timespec *deadline);
/*
 * Whole seconds left until deadline, as the timeout of a call that must
 * end by it (libcurl's are in seconds), or 0 when under one is left and
 * no call should start.  Rounded down, with a tenth of a second of
 * grace, or a call made at once would get a second less than asked.
 */
long	pns_child_s_left(const struct timespec *deadline);

/*
 * Writes len bytes of buf to fd (non-blocking), or reads len bytes from
 * fd into buf, unless fd fails, ends or stops taking them (EPIPE), or
 * deadline passes, first.  Returns the number of bytes moved.
 */
size_t	pns_child_write(int fd, const char *buf, size_t len,
	    const struct timespec *deadline);
size_t	pns_child_read(int fd, char *buf, size_t len,
	    const struct timespec *deadline);

/*
 * Waits for pid until deadline.  Returns 1 with its *status, or 0 when
 * the deadline passed: its process group has then been killed and it
 * has been reaped.
 */
int	pns_child_wait(pid_t pid, int *status, const struct timespec *deadline);

/*
 * Sets err to code with "<what> exited with status N", "<what> killed by
 * signal N" or "<what> ended abnormally", from a waitpid status that is
 * not a clean exit, and returns -1.
 */
int	pns_child_status_err(struct pns_err *err, enum pns_code code,
	    const char *what, int status);

#endif
