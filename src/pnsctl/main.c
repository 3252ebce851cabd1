/* SPDX-License-Identifier: ISC */
/*
 * pnsctl: sets up and inspects the data directory.  Commands are rows
 * of one table; the dispatcher loads the configuration and checks the
 * store before a command that needs them runs.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pns_config.h"
#include "pns_json.h"
#include "pns_log.h"
#include "pns_store.h"
#include "pns_util.h"
#include "pnsctl.h"
#include "banned.h"

enum need {
	NEED_CONFIG = 1 << 0,	/* a valid configuration */
	NEED_STORE = 1 << 1,	/* an initialised data_dir */
};

struct command {
	const char	*group;		/* first word */
	const char	*verb;		/* second word, or NULL */
	pnsctl_fn	 fn;
	int		 needs;
	const char	*usage;
};

static const struct command commands[] = {
	{ "init", NULL, cmd_init, NEED_CONFIG, "init" },
	{ "check-config", NULL, NULL, NEED_CONFIG, "check-config" },
	{ "platform", "add", cmd_platform_add, NEED_CONFIG | NEED_STORE,
	    "platform add --issuer URL --client-id ID --auth-url URL "
	    "--token-url URL --jwks-url URL [--deployment ID]..." },
	{ "platform", "list", cmd_platform_list, NEED_CONFIG | NEED_STORE,
	    "platform list [--json]" },
	{ "notices", "list", cmd_notices_list, NEED_CONFIG | NEED_STORE,
	    "notices list [--json] [--status stored|pending|delivered|"
	    "failed]" },
	{ "notices", "show", cmd_notices_show, NEED_CONFIG | NEED_STORE,
	    "notices show ID" },
	{ "notices", "retry", cmd_notices_retry, NEED_CONFIG | NEED_STORE,
	    "notices retry ID|--all-failed" },
	{ "notices", "prune", cmd_notices_prune, NEED_CONFIG | NEED_STORE,
	    "notices prune --older-than DAYS" },
	{ "dispatch", NULL, cmd_dispatch, NEED_CONFIG | NEED_STORE,
	    "dispatch" },
	{ "status", NULL, cmd_status, NEED_CONFIG | NEED_STORE,
	    "status [--json]" },
	{ "contexts", "copies", cmd_contexts_copies, NEED_CONFIG | NEED_STORE,
	    "contexts copies [--json]" },
	{ "handlers", "list", cmd_handlers_list, NEED_CONFIG | NEED_STORE,
	    "handlers list [--json]" },
	{ "handlers", "sync", cmd_handlers_sync, NEED_CONFIG | NEED_STORE,
	    "handlers sync DEPLOYMENT" },
	{ "handlers", "remove", cmd_handlers_remove, NEED_CONFIG | NEED_STORE,
	    "handlers remove DEPLOYMENT TYPE" },
	{ "key", "show", cmd_key_show, NEED_CONFIG | NEED_STORE,
	    "key show" },
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

int
pnsctl_fail(const char *fmt, ...)
{
	va_list	ap;

	(void)fputs("pnsctl: ", stderr);
	va_start(ap, fmt);
	(void)vfprintf(stderr, fmt, ap);
	va_end(ap);
	(void)fputc('\n', stderr);
	return 1;
}

const char *
pnsctl_str(struct json_object *o, const char *key)
{
	const char	*v = pns_json_str(o, key);

	return v != NULL ? v : "-";
}

const char *
pnsctl_text(const char *s)
{
	static char	bufs[8][4 * PNS_URL_MAX + 1];
	static size_t	next;
	char		*out = bufs[next++ % 8];

	if (s == NULL)
		return "-";
	return pns_log_escape(s, strlen(s), out, sizeof(bufs[0]));
}

const char *
pnsctl_field(struct json_object *o, const char *key)
{
	return pnsctl_text(pnsctl_str(o, key));
}

int
pnsctl_usage(const char *line)
{
	(void)fprintf(stderr, "usage: pnsctl %s\n", line);
	return EXIT_USAGE;
}

static int
usage_all(void)
{
	size_t	i;

	(void)fputs("usage:\n", stderr);
	for (i = 0; i < NCOMMANDS; i++)
		(void)fprintf(stderr, "  pnsctl %s\n", commands[i].usage);
	(void)fputs("The configuration file is $PNS_CONFIG, or "
	    PNS_DEFAULT_CONFIG ".\n", stderr);
	return EXIT_USAGE;
}

int
main(int argc, char *argv[])
{
	const struct command	*c = NULL;
	struct pns_config	 cfg;
	struct pns_err		 err;
	const char		*path;
	size_t			 i;
	int			 skip;

	pns_log_init("pnsctl", PNS_LOG_WARN);
	pns_crypto_init();
	if (argc < 2 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0)
		return usage_all();
	for (i = 0; i < NCOMMANDS && c == NULL; i++) {
		if (strcmp(argv[1], commands[i].group) != 0)
			continue;
		if (commands[i].verb == NULL ||
		    (argc > 2 && strcmp(argv[2], commands[i].verb) == 0))
			c = &commands[i];
	}
	if (c == NULL)
		return usage_all();
	skip = c->verb != NULL ? 3 : 2;

	pns_err_clear(&err);
	pns_config_defaults(&cfg);
	path = pns_config_path();
	if (pns_config_load(&cfg, path, &err) == -1)
		return pnsctl_fail("%s", err.msg);
	if (c->fn == NULL) {
		if (argc != skip)
			return pnsctl_usage(c->usage);
		(void)printf("configuration OK\n");
		return 0;
	}
	if ((c->needs & NEED_STORE) && pns_store_check(&cfg, &err) == -1)
		return pnsctl_fail("%s", err.msg);
	return c->fn(&cfg, argc - skip, argv + skip);
}
