/* SPDX-License-Identifier: ISC */
/* The error contract described in pns_err.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pns_err.h"
#include "banned.h"

static const char *const codes[PNS_CODE__MAX] = {
	"ok",			/* PNS_OK */
	"system error",		/* PNS_ESYS */
	"out of memory",	/* PNS_ENOMEM */
	"invalid",		/* PNS_EINVAL */
	"not found",		/* PNS_ENOENT */
	"exists",		/* PNS_EEXIST */
	"over limit",		/* PNS_ELIMIT */
	"network",		/* PNS_ENET */
	"crypto",		/* PNS_ECRYPTO */
	"application",		/* PNS_EAPP */
};

static void
vset(struct pns_err *err, enum pns_code code, const char *fmt, va_list ap)
{
	if (err == NULL || err->code != PNS_OK)
		return;
	err->code = code;
	if (vsnprintf(err->msg, sizeof(err->msg), fmt, ap) < 0)
		err->msg[0] = '\0';
}

int
pns_err_set(struct pns_err *err, enum pns_code code, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vset(err, code, fmt, ap);
	va_end(ap);
	return -1;
}

int
pns_err_sys(struct pns_err *err, const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno, was_empty;
	size_t	len;

	/* Only the call that set the message adds its strerror to it. */
	was_empty = err != NULL && err->code == PNS_OK;
	va_start(ap, fmt);
	vset(err, PNS_ESYS, fmt, ap);
	va_end(ap);
	if (was_empty) {
		len = strlen(err->msg);
		if (len < sizeof(err->msg))
			(void)snprintf(err->msg + len, sizeof(err->msg) - len,
			    ": %s", strerror(saved));
	}
	errno = saved;
	return -1;
}

void
pns_err_clear(struct pns_err *err)
{
	err->code = PNS_OK;
	err->msg[0] = '\0';
}

const char *
pns_strerror(enum pns_code code)
{
	if ((int)code < 0 || code >= PNS_CODE__MAX)
		return "unknown";
	return codes[code];
}
