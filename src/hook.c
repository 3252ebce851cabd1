/* SPDX-License-Identifier: ISC */
/*
 * The hook runner; see pns_hook.h.  The hook is started as pns_child.h
 * starts children: its own process group, so that a timeout kills
 * whatever it forked as well, and default signal dispositions, so that
 * it does not inherit our ignored SIGPIPE.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "pns_child.h"
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

int
pns_hook_run(const char *cmdline, char *const envp[], const char *in,
    size_t inlen, long timeout, struct pns_err *err)
{
	char			 buf[1024], *argv[PNS_HOOK_MAX_ARGS + 1];
	struct timespec		 deadline;
	struct sigaction	 ign, old;
	pid_t			 pid;
	int			 p[2], status = 0, rc;

	if (split_words(cmdline, buf, sizeof(buf), argv) == 0)
		return pns_err_set(err, PNS_EINVAL, "hook command empty or of "
		    "more than %d words", PNS_HOOK_MAX_ARGS);
	if (pipe2(p, O_CLOEXEC) == -1)
		return pns_err_sys(err, "pipe");
	rc = pns_child_spawn(&pid, argv[0], argv, envp, p[0], -1, err);
	(void)close(p[0]);
	if (rc == -1) {
		(void)close(p[1]);
		return -1;
	}
	pns_child_deadline(&deadline, timeout);
	(void)fcntl(p[1], F_SETFL, O_NONBLOCK);
	/* A hook that stops reading must give EPIPE, not kill the caller. */
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	(void)sigaction(SIGPIPE, &ign, &old);
	(void)pns_child_write(p[1], in, inlen, &deadline);
	(void)close(p[1]);
	(void)sigaction(SIGPIPE, &old, NULL);
	if (!pns_child_wait(pid, &status, &deadline))
		return pns_err_set(err, PNS_EAPP, "hook timed out after "
		    "%ld s and was killed", timeout);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	return pns_child_status_err(err, PNS_EAPP, "hook", status);
}
