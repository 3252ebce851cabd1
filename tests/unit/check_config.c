/* SPDX-License-Identifier: ISC */
/* The configuration parser: every key, every refusal names file:line. */
#include <stdio.h>
#include <string.h>

#include "pns_config.h"
#include "pns_log.h"
#include "unit.h"

#define BASE "base_url = https://tool.example.edu/cgi-bin\ndata_dir = /var/lib/pns\n"

static int
parse(const char *text, struct pns_config *cfg, struct pns_err *err)
{
	pns_config_defaults(cfg);
	pns_err_clear(err);
	return pns_config_parse(cfg, text, strlen(text), "pns.conf", err);
}

START_TEST(defaults_and_required)
{
	struct pns_config	cfg;
	struct pns_err		err;

	ck_assert_int_eq(parse(BASE, &cfg, &err), 0);
	ck_assert_str_eq(cfg.base_url, "https://tool.example.edu/cgi-bin");
	ck_assert_str_eq(cfg.data_dir, "/var/lib/pns");
	ck_assert_int_eq(cfg.max_body_bytes, 1048576);
	ck_assert_int_eq(cfg.clock_leeway, 10);
	ck_assert_int_eq(cfg.jwks_refetch_interval, 60);
	ck_assert_int_eq(cfg.log_level, PNS_LOG_INFO);
	ck_assert(pns_config_wants_type(&cfg, "LtiHelloWorldNotice"));
	ck_assert(!pns_config_wants_type(&cfg, "LtiHelloWorld"));
	ck_assert_int_eq(parse("data_dir = /x\n", &cfg, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "base_url"));
	ck_assert_int_eq(parse("base_url = http://x\n", &cfg, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "data_dir"));
}
END_TEST

START_TEST(every_key)
{
	struct pns_config	cfg;
	struct pns_err		err;
	const char		text[] =
	    "# comment\n\n   \n"
	    "base_url = http://127.0.0.1:8080/cgi-bin///\n"
	    "data_dir=/srv/pns\r\n"
	    "notice_types =  LtiContextCopyNotice\tLtiHelloWorldNotice  \n"
	    "max_body_bytes = 65536\n"
	    "clock_leeway = 0\n"
	    "jwks_refetch_interval = 5\n"
	    "jwks_max_age = 3600\n"
	    "http_timeout = 3\n"
	    "jwks_max_bytes = 4096\n"
	    "log_level = debug\n"
	    "tool_title = My tool\n"
	    "tool_description = Gets notices.\n"
	    "state_ttl = 300\n"
	    "handler_refresh = 7200\n";

	ck_assert_int_eq(parse(text, &cfg, &err), 0);
	ck_assert_str_eq(cfg.base_url, "http://127.0.0.1:8080/cgi-bin");
	ck_assert_str_eq(cfg.data_dir, "/srv/pns");
	ck_assert_str_eq(cfg.notice_types,
	    "LtiContextCopyNotice LtiHelloWorldNotice");
	ck_assert_int_eq(cfg.max_body_bytes, 65536);
	ck_assert_int_eq(cfg.clock_leeway, 0);
	ck_assert_int_eq(cfg.jwks_refetch_interval, 5);
	ck_assert_int_eq(cfg.jwks_max_age, 3600);
	ck_assert_int_eq(cfg.http_timeout, 3);
	ck_assert_int_eq(cfg.jwks_max_bytes, 4096);
	ck_assert_int_eq(cfg.log_level, PNS_LOG_DEBUG);
	ck_assert_str_eq(cfg.tool_title, "My tool");
	ck_assert_int_eq(cfg.state_ttl, 300);
	ck_assert_int_eq(cfg.handler_refresh, 7200);
}
END_TEST

/* A typo that is silently ignored leaves a limit at a value nobody
 * chose: each of these must fail and say where. */
START_TEST(refusals_name_the_line)
{
	static const struct {
		const char	*line;
		const char	*says;
	} bad[] = {
		{ "max_body_byte = 10\n", "unknown key" },
		{ "max_body_bytes = 10\n", "too small" },
		{ "max_body_bytes = 1e6\n", "invalid" },
		{ "clock_leeway = 301\n", "too large" },
		{ "clock_leeway 5\n", "key = value" },
		{ "clock_leeway =\n", "no value" },
		{ "base_url = ftp://x\n", "http or https" },
		{ "data_dir = relative/dir\n", "absolute" },
		{ "notice_types = Lti-Hello\n", "notice type" },
		{ "log_level = loud\n", "log_level" },
		{ "data_dir = /again\n", "twice" },
	};
	struct pns_config	cfg;
	struct pns_err		err;
	char			text[512];
	size_t			i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* First, so that it is the first error: line 1.  The repeated
		 * data_dir is found at line 3, where the second one stands. */
		(void)snprintf(text, sizeof(text), "%s" BASE, bad[i].line);
		ck_assert_msg(parse(text, &cfg, &err) == -1, "%s accepted",
		    bad[i].line);
		ck_assert_msg(strstr(err.msg, strcmp(bad[i].says, "twice") == 0 ?
		    "pns.conf:3:" : "pns.conf:1:") != NULL &&
		    strstr(err.msg, bad[i].says) != NULL, "%s: %s",
		    bad[i].line, err.msg);
	}
}
END_TEST

START_TEST(long_lines_and_nul)
{
	struct pns_config	cfg;
	struct pns_err		err;
	char			text[PNS_CONFIG_MAX_LINE + 128];
	const char		nul[] = BASE "log_level = info\0x\n";

	memset(text, '#', sizeof(text));
	text[sizeof(text) - 1] = '\0';
	ck_assert_int_eq(parse(text, &cfg, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "pns.conf:1: line longer"));
	pns_config_defaults(&cfg);
	ck_assert_int_eq(pns_config_parse(&cfg, nul, sizeof(nul) - 1, "pns.conf",
	    &err), -1);
	/* A comment of the longest allowed length is fine. */
	memset(text, '#', PNS_CONFIG_MAX_LINE);
	(void)snprintf(text + PNS_CONFIG_MAX_LINE, 128, "\n%s", BASE);
	ck_assert_int_eq(parse(text, &cfg, &err), 0);
}
END_TEST

static Suite *
config_suite(void)
{
	Suite	*s = suite_create("config");
	TCase	*tc = tcase_create("config");

	tcase_add_test(tc, defaults_and_required);
	tcase_add_test(tc, every_key);
	tcase_add_test(tc, refusals_name_the_line);
	tcase_add_test(tc, long_lines_and_nul);
	suite_add_tcase(s, tc);
	return s;
}

TEST_MAIN(config_suite)
