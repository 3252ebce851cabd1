/* SPDX-License-Identifier: ISC */
/*
 * The one error contract of the core library.  Every public pns_*
 * function that can fail returns 0 on success and -1 on failure, and on
 * failure fills the caller's struct pns_err.  The first message wins: a
 * low-level function says what went wrong and callers higher up do not
 * overwrite it, so the log line names the root cause.
 */
#ifndef PNS_ERR_H
#define PNS_ERR_H

enum pns_code {
	PNS_OK = 0,
	PNS_ESYS,	/* a system call failed; msg carries strerror */
	PNS_ENOMEM,	/* out of memory */
	PNS_EINVAL,	/* bad input from a caller, a file or the network */
	PNS_ENOENT,	/* the thing asked for does not exist */
	PNS_EEXIST,	/* the thing to create exists already */
	PNS_ELIMIT,	/* input over a configured or protocol limit */
	PNS_ENET,	/* an outgoing HTTP exchange failed */
	PNS_ECRYPTO,	/* OpenSSL failed (not a bad signature) */
	PNS_EAPP,	/* the application refused a delivery, or timed out */
	PNS_CODE__MAX
};

struct pns_err {
	enum pns_code	code;
	char		msg[256];
};

/* Sets err (if not NULL and still empty) and returns -1. */
int		pns_err_set(struct pns_err *err, enum pns_code code,
		    const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));
/* As pns_err_set with PNS_ESYS, appending ": strerror(errno)". */
int		pns_err_sys(struct pns_err *err, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
void		pns_err_clear(struct pns_err *err);
/* Short name of a code, for logs: never NULL. */
const char	*pns_strerror(enum pns_code code);

#endif
