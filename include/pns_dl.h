/* SPDX-License-Identifier: ISC */
/*
 * Libraries opened with dlopen on first use instead of linked.  A CGI
 * process pays for every library it is linked with at each start (the
 * loader maps, relocates and initialises it), and a long-lived one keeps
 * it resident; libcurl and libjwt are needed only when a request goes
 * out, which most requests never do.
 *
 * A struct pns_dl names the library, the functions wanted and the table
 * of function pointers they go in; the header of the library still
 * gives the types and constants.  pns_dl_load opens it once per process,
 * under a lock so that threads may race to the first use, and later
 * calls only say how that went.  Once loaded a library stays.
 */
#ifndef PNS_DL_H
#define PNS_DL_H

#include <pthread.h>
#include <stddef.h>

#include "pns_err.h"

struct pns_dl_sym {
	const char	*name;
	size_t		 off;		/* of its pointer in the table */
};

struct pns_dl {
	const char		*soname;	/* e.g. "libcurl.so.4" */
	enum pns_code		 code;		/* of a failed load */
	const struct pns_dl_sym	*syms;
	size_t			 nsyms;
	void			*table;		/* struct of function pointers */
	/* Run once after every function was found; non-zero fails the
	 * load with the message it put in msg (may be NULL). */
	int			(*init)(char *msg, size_t size);
	pthread_mutex_t		 lock;
	int			 state;		/* 0 not tried, 1 ok, -1 failed */
	char			 error[256];
};

#define PNS_DL_INIT(soname, code, syms, table, init)			\
	{ (soname), (code), (syms), sizeof(syms) / sizeof((syms)[0]), (table),	\
	  (init), PTHREAD_MUTEX_INITIALIZER, 0, { 0 } }

/* Loads dl on its first call; fails with dl's code ("cannot load
 * <soname>: ...") every time when that load failed. */
int	pns_dl_load(struct pns_dl *dl, struct pns_err *err);

#endif
