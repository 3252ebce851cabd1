/* SPDX-License-Identifier: ISC */
/*
 * Runs the application's hook command for one notice: no shell, an
 * environment built from scratch, the notice on stdin, and a deadline
 * after which the hook and everything it started are killed.
 */
#ifndef PNS_HOOK_H
#define PNS_HOOK_H

#include <stddef.h>

#include "pns_config.h"
#include "pns_err.h"

#define PNS_HOOK_MAX_ARGS	PNS_CMD_MAX_WORDS

/*
 * Runs cmdline (an absolute program path and arguments separated by
 * blanks, as the configuration holds them) with environment envp
 * (NULL-ended "NAME=value" strings), writing (in, inlen) to its stdin;
 * its stdout is discarded and its stderr is ours.  Returns 0 when it
 * exited with status 0 within timeout seconds, -1 otherwise with the
 * reason in err (exit status, signal, timeout, or failure to start).
 * A line of more than PNS_HOOK_MAX_ARGS words is refused, never cut.
 */
int	pns_hook_run(const char *cmdline, char *const envp[], const char *in,
	    size_t inlen, long timeout, struct pns_err *err);

#endif
