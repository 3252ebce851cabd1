/* SPDX-License-Identifier: ISC */
/*
 * The configuration file: "key = value" lines, '#' comment lines.  The
 * accepted keys are rows of one table in config.c, each with its parser
 * and bounds; anything else is an error naming file:line.
 */
#ifndef PNS_CONFIG_H
#define PNS_CONFIG_H

#include <stddef.h>

#include "pns_err.h"

#ifndef PNS_DEFAULT_CONFIG
#define PNS_DEFAULT_CONFIG "/usr/local/etc/pns/pns.conf"
#endif

#define PNS_CONFIG_MAX_BYTES	(64 * 1024)
#define PNS_CONFIG_MAX_LINE	4096
#define PNS_URL_MAX		2048
#define PNS_PATH_MAX		1024
#define PNS_CMD_MAX		1024
#define PNS_CMD_MAX_WORDS	32	/* program and arguments */
#define PNS_DELIVER_RULES	8

struct pns_config {
	char	base_url[PNS_URL_MAX];
	char	data_dir[PNS_PATH_MAX];
	char	notice_types[1024];	/* space-separated, normalised */
	long	max_body_bytes;
	long	clock_leeway;
	long	jwks_refetch_interval;
	long	jwks_max_age;
	long	http_timeout;
	long	jwks_max_bytes;
	int	log_level;		/* enum pns_log_level */
	char	tool_title[128];
	char	tool_description[512];
	long	state_ttl;
	long	handler_refresh;

	/* Delivery to the application: a command, a URL, or both (the
	 * command first); per-type rules override them. */
	char	deliver_command[PNS_CMD_MAX];
	char	deliver_url[PNS_URL_MAX];
	char	deliver_secret[256];
	long	deliver_attempts;
	long	deliver_backoff;
	long	deliver_timeout;
	long	deliver_workers;
	struct pns_deliver_rule {
		char	type[128];
		char	command[PNS_CMD_MAX];	/* "" : none */
		char	url[PNS_URL_MAX];	/* "" : none */
		int	set_command, set_url;
	}	rules[PNS_DELIVER_RULES];
	size_t	nrules;

	/* LTI Dynamic Registration at lti.cgi/register (docs/register.md):
	 * off unless turned on, and then limited to the listed issuer hosts
	 * and/or to URLs carrying the secret. */
	int	registration;		/* 0 off (default), 1 on */
	char	registration_issuer_hosts[1024]; /* lowercase, one space
						    between hosts */
	char	registration_secret[256];	/* "" : none */
	int	registration_allow_http;	/* testing only */
};

/* Fills cfg with the defaults; base_url and data_dir are left empty. */
void		pns_config_defaults(struct pns_config *cfg);

/*
 * Parses a configuration held in memory (buf, len) over cfg, which the
 * caller has set to the defaults.  name is used in error messages
 * ("name:line: ...").  Requires base_url and data_dir.
 */
int		pns_config_parse(struct pns_config *cfg, const char *buf,
		    size_t len, const char *name, struct pns_err *err);

/* Reads and parses the file at path (at most PNS_CONFIG_MAX_BYTES). */
int		pns_config_load(struct pns_config *cfg, const char *path,
		    struct pns_err *err);

/* The configuration path: $PNS_CONFIG when set and not empty, else the
 * compiled-in default.  Borrowed. */
const char	*pns_config_path(void);

/*
 * The configuration path of a program the web server runs: given (its
 * PNS_CONFIG, from the environment or the FastCGI request) when set and
 * not empty.  Else, for hosts where no variable can be set, pns.conf
 * beside the running program, then pns.conf one directory up (outside
 * the document root when the program is in a cgi-bin inside it), then
 * the compiled-in default.  Returns given, buf or the default.
 */
const char	*pns_config_find(const char *given, char *buf, size_t size);

/* 1 if type is listed in cfg->notice_types. */
int		pns_config_wants_type(const struct pns_config *cfg,
		    const char *type);

#endif
