/* SPDX-License-Identifier: ISC */
/* pnsctl: shared declarations of the command implementations. */
#ifndef PNSCTL_H
#define PNSCTL_H

#include <json-c/json.h>

#include "pns_config.h"

#define EXIT_USAGE	2

/* Every command: argc/argv start at the command's own arguments. */
typedef int (*pnsctl_fn)(const struct pns_config *, int, char **);

int	cmd_init(const struct pns_config *, int, char **);
int	cmd_platform_add(const struct pns_config *, int, char **);
int	cmd_platform_list(const struct pns_config *, int, char **);
int	cmd_notices_list(const struct pns_config *, int, char **);
int	cmd_notices_show(const struct pns_config *, int, char **);
int	cmd_handlers_list(const struct pns_config *, int, char **);
int	cmd_handlers_sync(const struct pns_config *, int, char **);
int	cmd_handlers_remove(const struct pns_config *, int, char **);
int	cmd_key_show(const struct pns_config *, int, char **);
int	cmd_notices_retry(const struct pns_config *, int, char **);
int	cmd_notices_prune(const struct pns_config *, int, char **);
int	cmd_dispatch(const struct pns_config *, int, char **);
int	cmd_status(const struct pns_config *, int, char **);
int	cmd_contexts_copies(const struct pns_config *, int, char **);

enum pnsctl_order {
	PNSCTL_ANY_ORDER,	/* one pass, holding one record */
	PNSCTL_RECEIVED,	/* oldest first, the key breaking ties */
};

/*
 * Calls fn with each stored notice record in that order; the record is
 * released when fn returns.  fn prints its own failures and returns 1 to
 * stop the walk.  Returns 0, or 1 after printing why.
 */
int	pnsctl_notices_foreach(const struct pns_config *cfg,
	    enum pnsctl_order order, int (*fn)(struct json_object *, void *),
	    void *arg);
/* Adds "delivery": {status, attempts, ...} to the notice record o;
 * returns 0, or 1 after printing why. */
int	pnsctl_add_delivery(const struct pns_config *cfg,
	    struct json_object *o);

/* Member key of o as a string, "-" when it is missing. */
const char	*pnsctl_str(struct json_object *o, const char *key);

/*
 * s made safe for a terminal: bytes that came from the network (ids,
 * names) could carry newlines or escape sequences.  Valid until eight
 * more calls; NULL gives "-".
 */
const char	*pnsctl_text(const char *s);
/* pnsctl_text(pnsctl_str(o, key)): a member, ready to print as text. */
const char	*pnsctl_field(struct json_object *o, const char *key);

/* Prints "pnsctl: msg" on stderr; returns 1 (the failure status). */
int	pnsctl_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints the usage line of a command on stderr; returns EXIT_USAGE. */
int	pnsctl_usage(const char *line);

#endif
