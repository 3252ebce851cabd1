/* SPDX-License-Identifier: ISC */
/* Libraries opened on first use; see pns_dl.h. */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "pns_dl.h"
#include "banned.h"

_Static_assert(sizeof(void *) == sizeof(void (*)(void)),
    "a dlsym result must fit a function pointer");

static void
load(struct pns_dl *dl)
{
	void		*h, *p;
	const char	*e;
	char		 msg[200] = "";
	size_t		 i;

	/* RTLD_LOCAL: the library's dependencies stay out of the global
	 * scope, where they could stand in for the program's own. */
	if ((h = dlopen(dl->soname, RTLD_NOW | RTLD_LOCAL)) == NULL)
		goto fail;
	for (i = 0; i < dl->nsyms; i++) {
		if ((p = dlsym(h, dl->syms[i].name)) == NULL)
			goto fail;
		/* POSIX makes a dlsym result usable as a function pointer;
		 * memcpy says so without a cast ISO C leaves undefined. */
		memcpy((char *)dl->table + dl->syms[i].off, &p, sizeof(p));
	}
	if (dl->init != NULL && dl->init(msg, sizeof(msg)) != 0) {
		(void)snprintf(dl->error, sizeof(dl->error),
		    "cannot load %s: %s", dl->soname,
		    msg[0] != '\0' ? msg : "initialisation failed");
		dl->state = -1;
		return;
	}
	/* The handle is never closed: the table points into it. */
	dl->state = 1;
	return;
fail:
	e = dlerror();
	(void)snprintf(dl->error, sizeof(dl->error), "cannot load %s: %s",
	    dl->soname, e != NULL ? e : "unknown error");
	dl->state = -1;
	if (h != NULL)
		(void)dlclose(h);
}

int
pns_dl_load(struct pns_dl *dl, struct pns_err *err)
{
	int	state;

	if (pthread_mutex_lock(&dl->lock) != 0)
		return pns_err_set(err, dl->code,
		    "cannot load %s: lock failed", dl->soname);
	if (dl->state == 0)
		load(dl);
	state = dl->state;
	(void)pthread_mutex_unlock(&dl->lock);
	if (state != 1)
		return pns_err_set(err, dl->code, "%s", dl->error);
	return 0;
}
