/* SPDX-License-Identifier: ISC */
/* The configuration parser: every key, every refusal names file:line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pns_config.h"
#include "pns_log.h"
#include "unit.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define BASE_LINE	"base_url = https://tool.example.edu/cgi-bin\n"
#define DATA_LINE	"data_dir = /var/lib/pns\n"
#define BASE		BASE_LINE DATA_LINE

static int
parse(const char *text, struct pns_config *cfg, struct pns_err *err)
{
	pns_config_defaults(cfg);
	pns_err_clear(err);
	return pns_config_parse(cfg, text, strlen(text), "pns.conf", err);
}

/* line first (so that its error is at line 1), then whichever of the
 * required keys line does not set itself. */
static void
with_required(char *out, size_t size, const char *line)
{
	int	n;

	n = snprintf(out, size, "%s\n%s%s", line,
	    strncmp(line, "base_url", 8) == 0 ? "" : BASE_LINE,
	    strncmp(line, "data_dir", 8) == 0 ? "" : DATA_LINE);
	ck_assert(n > 0 && (size_t)n < size);
}

START_TEST(defaults)
{
	struct pns_config	cfg;

	pns_config_defaults(&cfg);
	ck_assert_str_eq(cfg.base_url, "");
	ck_assert_str_eq(cfg.data_dir, "");
	ck_assert_str_eq(cfg.notice_types,
	    "LtiHelloWorldNotice LtiContextCopyNotice");
	ck_assert_int_eq(cfg.max_body_bytes, 1048576);
	ck_assert_int_eq(cfg.clock_leeway, 10);
	ck_assert_int_eq(cfg.jwks_refetch_interval, 60);
	ck_assert_int_eq(cfg.jwks_max_age, 86400);
	ck_assert_int_eq(cfg.http_timeout, 10);
	ck_assert_int_eq(cfg.jwks_max_bytes, 262144);
	ck_assert_int_eq(cfg.log_level, PNS_LOG_INFO);
	ck_assert_str_eq(cfg.tool_title, "Notice receiver");
	ck_assert_str_eq(cfg.tool_description,
	    "Receives LTI Platform Notification Service notices.");
	ck_assert_int_eq(cfg.state_ttl, 600);
	ck_assert_int_eq(cfg.handler_refresh, 86400);
}
END_TEST

START_TEST(required_keys)
{
	struct pns_config	cfg;
	struct pns_err		err;

	/* Positive control: both given, and the defaults stay. */
	ck_assert_int_eq(parse(BASE, &cfg, &err), 0);
	ck_assert_str_eq(cfg.base_url, "https://tool.example.edu/cgi-bin");
	ck_assert_str_eq(cfg.data_dir, "/var/lib/pns");
	ck_assert_int_eq(cfg.max_body_bytes, 1048576);
	ck_assert_int_eq(cfg.log_level, PNS_LOG_INFO);
	ck_assert_int_eq(parse(DATA_LINE, &cfg, &err), -1);
	ck_assert_int_eq(err.code, PNS_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "pns.conf"));
	ck_assert_ptr_nonnull(strstr(err.msg, "base_url"));
	ck_assert_int_eq(parse(BASE_LINE, &cfg, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "data_dir"));
	ck_assert_int_eq(parse("", &cfg, &err), -1);
	ck_assert_int_eq(parse("# nothing\n\n", &cfg, &err), -1);
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
	    "handler_refresh = 7200";	/* no final newline */

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
	ck_assert_str_eq(cfg.tool_description, "Gets notices.");
	ck_assert_int_eq(cfg.state_ttl, 300);
	ck_assert_int_eq(cfg.handler_refresh, 7200);
}
END_TEST

START_TEST(log_levels)
{
	static const struct {
		const char	*name;
		int		 level;
	} levels[] = {
		{ "error", PNS_LOG_ERROR }, { "warn", PNS_LOG_WARN },
		{ "info", PNS_LOG_INFO }, { "debug", PNS_LOG_DEBUG },
	};
	struct pns_config	cfg;
	struct pns_err		err;
	char			line[64], text[256];
	size_t			i;

	for (i = 0; i < NELEM(levels); i++) {
		(void)snprintf(line, sizeof(line), "log_level = %s",
		    levels[i].name);
		with_required(text, sizeof(text), line);
		ck_assert_int_eq(parse(text, &cfg, &err), 0);
		ck_assert_int_eq(cfg.log_level, levels[i].level);
	}
}
END_TEST

/*
 * A typo that is silently ignored leaves a limit at a value nobody
 * chose: each bad line must fail and say where, and the corrected line
 * beside it must pass.
 */
START_TEST(refusals_name_the_line)
{
	static const struct {
		const char	*bad, *says, *good;
	} rows[] = {
		{ "max_body_byte = 2048", "unknown key",
		    "max_body_bytes = 2048" },
		{ "Max_Body_Bytes = 2048", "unknown key",
		    "max_body_bytes = 2048" },
		{ "= 2048", "unknown key", "max_body_bytes = 2048" },
		{ "max_body_bytes 2048", "key = value",
		    "max_body_bytes = 2048" },
		{ "max_body_bytes =", "no value", "max_body_bytes = 2048" },
		{ "max_body_bytes = \t ", "no value", "max_body_bytes = 2048" },
		/* Each bound: one past it refused, the bound itself kept. */
		{ "max_body_bytes = 1023", "too small",
		    "max_body_bytes = 1024" },
		{ "max_body_bytes = 67108865", "too large",
		    "max_body_bytes = 67108864" },
		{ "max_body_bytes = 99999999999999999999999", "too large",
		    "max_body_bytes = 67108864" },
		{ "max_body_bytes = 1e6", "invalid",
		    "max_body_bytes = 1000000" },
		{ "max_body_bytes = 0x400", "invalid",
		    "max_body_bytes = 1024" },
		{ "clock_leeway = -1", "too small", "clock_leeway = 0" },
		{ "clock_leeway = 301", "too large", "clock_leeway = 300" },
		{ "clock_leeway = +5", "invalid", "clock_leeway = 5" },
		{ "clock_leeway = 5 # five", "invalid", "clock_leeway = 5" },
		{ "jwks_refetch_interval = 0", "too small",
		    "jwks_refetch_interval = 1" },
		{ "jwks_refetch_interval = 86401", "too large",
		    "jwks_refetch_interval = 86400" },
		{ "jwks_max_age = 59", "too small", "jwks_max_age = 60" },
		{ "jwks_max_age = 2592001", "too large",
		    "jwks_max_age = 2592000" },
		{ "http_timeout = 0", "too small", "http_timeout = 1" },
		{ "http_timeout = 121", "too large", "http_timeout = 120" },
		{ "jwks_max_bytes = 1023", "too small",
		    "jwks_max_bytes = 1024" },
		{ "jwks_max_bytes = 4194305", "too large",
		    "jwks_max_bytes = 4194304" },
		{ "state_ttl = 59", "too small", "state_ttl = 60" },
		{ "state_ttl = 3601", "too large", "state_ttl = 3600" },
		{ "handler_refresh = 3599", "too small",
		    "handler_refresh = 3600" },
		{ "handler_refresh = 2592001", "too large",
		    "handler_refresh = 2592000" },
		/* URLs: http or https, a host, printable ASCII. */
		{ "base_url = ftp://x", "http or https", "base_url = https://x" },
		{ "base_url = tool.example.edu", "http or https",
		    "base_url = http://tool.example.edu" },
		{ "base_url = https://", "http or https",
		    "base_url = https://t" },
		{ "base_url = https:///cgi-bin", "http or https",
		    "base_url = https://t/cgi-bin" },
		{ "base_url = https://t/cgi bin", "http or https",
		    "base_url = https://t/cgi%20bin" },
		{ "base_url = https://t/caf\xc3\xa9", "http or https",
		    "base_url = https://t/caf%C3%A9" },
		{ "base_url = HTTPS://t", "http or https",
		    "base_url = https://t" },
		/* data_dir is absolute. */
		{ "data_dir = relative/dir", "absolute", "data_dir = /abs/dir" },
		{ "data_dir = ~/pns", "absolute", "data_dir = /home/u/pns" },
		{ "data_dir = ./pns", "absolute", "data_dir = /pns" },
		{ "notice_types = Lti-Hello", "notice type",
		    "notice_types = LtiHello" },
		{ "notice_types = A,B", "notice type", "notice_types = A B" },
		{ "log_level = loud", "log_level", "log_level = warn" },
		{ "log_level = INFO", "log_level", "log_level = info" },
		{ "tool_title = a\x01z", "control", "tool_title = a z" },
		{ "tool_description = a\tz", "control",
		    "tool_description = a z" },
	};
	struct pns_config	cfg;
	struct pns_err		err;
	char			text[512];
	size_t			i;

	for (i = 0; i < NELEM(rows); i++) {
		with_required(text, sizeof(text), rows[i].bad);
		ck_assert_msg(parse(text, &cfg, &err) == -1, "%s accepted",
		    rows[i].bad);
		ck_assert_int_eq(err.code, PNS_EINVAL);
		ck_assert_msg(strncmp(err.msg, "pns.conf:1: ", 12) == 0 &&
		    strstr(err.msg, rows[i].says) != NULL, "%s: %s",
		    rows[i].bad, err.msg);
		with_required(text, sizeof(text), rows[i].good);
		ck_assert_msg(parse(text, &cfg, &err) == 0, "%s refused: %s",
		    rows[i].good, err.msg);
	}
}
END_TEST

/* Comment and blank lines count: the error names the line in the file. */
START_TEST(line_numbers_count_every_line)
{
	struct pns_config	cfg;
	struct pns_err		err;

	ck_assert_int_eq(parse("# one\n\n   # three\n\t\n" BASE
	    "clock_leeway = 5\n", &cfg, &err), 0);
	ck_assert_int_eq(cfg.clock_leeway, 5);
	ck_assert_int_eq(parse("# one\n\n   # three\n\t\n" BASE
	    "clock_leeway = five\n", &cfg, &err), -1);
	ck_assert_msg(strncmp(err.msg, "pns.conf:7: ", 12) == 0, "%s", err.msg);
	/* CRLF line ends count as one line each. */
	ck_assert_int_eq(parse("# one\r\n\r\n" BASE "clock_leeway = 5x\r\n",
	    &cfg, &err), -1);
	ck_assert_msg(strncmp(err.msg, "pns.conf:5: ", 12) == 0, "%s", err.msg);
}
END_TEST

/* The second of two lines for one key is the error, whatever values. */
START_TEST(repeated_key)
{
	struct pns_config	cfg;
	struct pns_err		err;

	ck_assert_int_eq(parse(BASE "clock_leeway = 5\n", &cfg, &err), 0);
	ck_assert_int_eq(parse(BASE "clock_leeway = 5\nclock_leeway = 5\n",
	    &cfg, &err), -1);
	ck_assert_msg(strncmp(err.msg, "pns.conf:4: ", 12) == 0 &&
	    strstr(err.msg, "twice") != NULL, "%s", err.msg);
	ck_assert_int_eq(parse(BASE "data_dir = /again\n", &cfg, &err), -1);
	ck_assert_msg(strncmp(err.msg, "pns.conf:3: ", 12) == 0 &&
	    strstr(err.msg, "data_dir") != NULL, "%s", err.msg);
}
END_TEST

START_TEST(long_lines_and_nul)
{
	struct pns_config	cfg;
	struct pns_err		err;
	char			text[PNS_CONFIG_MAX_LINE + 256];
	const char		nul[] = BASE "log_level = info\0x\n";
	const char		no_nul[] = BASE "log_level = info\n";

	/* A comment of the longest allowed length is fine... */
	memset(text, '#', PNS_CONFIG_MAX_LINE);
	(void)snprintf(text + PNS_CONFIG_MAX_LINE, 256, "\n%s", BASE);
	ck_assert_int_eq(parse(text, &cfg, &err), 0);
	/* ...and one byte more is refused, naming its line. */
	memcpy(text, BASE, strlen(BASE));
	memset(text + strlen(BASE), '#', PNS_CONFIG_MAX_LINE + 1);
	(void)snprintf(text + strlen(BASE) + PNS_CONFIG_MAX_LINE + 1, 16, "\n");
	ck_assert_int_eq(parse(text, &cfg, &err), -1);
	ck_assert_int_eq(err.code, PNS_ELIMIT);
	ck_assert_msg(strstr(err.msg, "pns.conf:3: line longer") != NULL, "%s",
	    err.msg);
	/* The same holds for a last line without a newline. */
	text[strlen(text) - 1] = '\0';
	ck_assert_int_eq(parse(text, &cfg, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "pns.conf:3: line longer"));

	/* A NUL byte cannot hide the rest of a line. */
	pns_config_defaults(&cfg);
	pns_err_clear(&err);
	ck_assert_int_eq(pns_config_parse(&cfg, nul, sizeof(nul) - 1,
	    "pns.conf", &err), -1);
	ck_assert_msg(strstr(err.msg, "pns.conf:3: NUL") != NULL, "%s", err.msg);
	pns_config_defaults(&cfg);
	ck_assert_int_eq(pns_config_parse(&cfg, no_nul, sizeof(no_nul) - 1,
	    "pns.conf", NULL), 0);
}
END_TEST

/* Only len bytes are parsed: what follows in memory is not config. */
START_TEST(parse_uses_len)
{
	struct pns_config	cfg;
	const char		text[] = BASE "clock_leeway = bad\n";

	pns_config_defaults(&cfg);
	ck_assert_int_eq(pns_config_parse(&cfg, text, strlen(BASE), "pns.conf",
	    NULL), 0);
	pns_config_defaults(&cfg);
	ck_assert_int_eq(pns_config_parse(&cfg, text, strlen(text), "pns.conf",
	    NULL), -1);
}
END_TEST

/* base_url is joined with "/notices.fcgi": its trailing slashes go. */
START_TEST(base_url_trailing_slashes)
{
	static const struct {
		const char	*in, *out;
	} cases[] = {
		{ "https://t/cgi-bin", "https://t/cgi-bin" },
		{ "https://t/cgi-bin/", "https://t/cgi-bin" },
		{ "https://t/cgi-bin///", "https://t/cgi-bin" },
		{ "https://t/", "https://t" },
		{ "http://127.0.0.1:8080", "http://127.0.0.1:8080" },
	};
	struct pns_config	cfg;
	struct pns_err		err;
	char			line[128], text[256];
	size_t			i;

	for (i = 0; i < NELEM(cases); i++) {
		(void)snprintf(line, sizeof(line), "base_url = %s", cases[i].in);
		with_required(text, sizeof(text), line);
		ck_assert_int_eq(parse(text, &cfg, &err), 0);
		ck_assert_str_eq(cfg.base_url, cases[i].out);
	}
}
END_TEST

/* Values bounded by their buffers: the longest that fits is kept, one
 * more byte is refused rather than cut. */
START_TEST(value_lengths)
{
	struct pns_config	 cfg;
	struct pns_err		 err;
	char			*text, *line;
	size_t			 size = PNS_CONFIG_MAX_LINE + 512;

	text = malloc(size);
	line = malloc(size);
	ck_assert(text != NULL && line != NULL);
	/* base_url: at most PNS_URL_MAX - 1 bytes. */
	(void)snprintf(line, size, "base_url = https://%0*d", PNS_URL_MAX - 1 - 8,
	    0);
	with_required(text, size, line);
	ck_assert_int_eq(parse(text, &cfg, &err), 0);
	ck_assert_uint_eq(strlen(cfg.base_url), PNS_URL_MAX - 1);
	(void)snprintf(line, size, "base_url = https://%0*d", PNS_URL_MAX - 8, 0);
	with_required(text, size, line);
	ck_assert_int_eq(parse(text, &cfg, &err), -1);
	/* tool_title: at most 127 bytes. */
	(void)snprintf(line, size, "tool_title = %0127d", 0);
	with_required(text, size, line);
	ck_assert_int_eq(parse(text, &cfg, &err), 0);
	(void)snprintf(line, size, "tool_title = %0128d", 0);
	with_required(text, size, line);
	ck_assert_int_eq(parse(text, &cfg, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "pns.conf:1:"));
	/* notice_types: 1023 bytes once normalised. */
	(void)snprintf(line, size, "notice_types = A%01022d", 0);
	with_required(text, size, line);
	ck_assert_int_eq(parse(text, &cfg, &err), 0);
	(void)snprintf(line, size, "notice_types = A%01023d", 0);
	with_required(text, size, line);
	ck_assert_int_eq(parse(text, &cfg, &err), -1);
	free(text);
	free(line);
}
END_TEST

START_TEST(notice_types_normalised)
{
	struct pns_config	cfg;
	struct pns_err		err;

	ck_assert_int_eq(parse(BASE "notice_types = \t A  B\t\tC3 \t\n", &cfg,
	    &err), 0);
	ck_assert_str_eq(cfg.notice_types, "A B C3");
	ck_assert_int_eq(parse(BASE "notice_types = LtiHelloWorldNotice\n",
	    &cfg, &err), 0);
	ck_assert_str_eq(cfg.notice_types, "LtiHelloWorldNotice");
}
END_TEST

START_TEST(wants_type)
{
	struct pns_config	cfg;
	struct pns_err		err;

	pns_config_defaults(&cfg);
	ck_assert(pns_config_wants_type(&cfg, "LtiHelloWorldNotice"));
	ck_assert(pns_config_wants_type(&cfg, "LtiContextCopyNotice"));
	/* Whole names only, case and all. */
	ck_assert(!pns_config_wants_type(&cfg, "LtiHelloWorld"));
	ck_assert(!pns_config_wants_type(&cfg, "HelloWorldNotice"));
	ck_assert(!pns_config_wants_type(&cfg, "LtiHelloWorldNoticeX"));
	ck_assert(!pns_config_wants_type(&cfg, "ltihelloworldnotice"));
	ck_assert(!pns_config_wants_type(&cfg, "LtiAssetProcessorSubmissionNotice"));
	ck_assert(!pns_config_wants_type(&cfg, ""));
	ck_assert_int_eq(parse(BASE "notice_types = Aa Bb Cc\n", &cfg, &err), 0);
	ck_assert(pns_config_wants_type(&cfg, "Aa"));
	ck_assert(pns_config_wants_type(&cfg, "Bb"));
	ck_assert(pns_config_wants_type(&cfg, "Cc"));
	ck_assert(!pns_config_wants_type(&cfg, "B"));
	ck_assert(!pns_config_wants_type(&cfg, "LtiHelloWorldNotice"));
}
END_TEST

/*
 * Regression (pns_config.h: "1 if type is listed in cfg->notice_types"):
 * the match compared type as a prefix of the rest of the list, so a type
 * that spans several names ("Aa Bb", or the whole default list) is
 * reported as wanted though no such type was listed.  The type comes
 * from a notice or a platform; types never contain spaces.
 */
START_TEST(wants_type_spanning_names)
{
	struct pns_config	cfg;
	struct pns_err		err;

	ck_assert_int_eq(parse(BASE "notice_types = Aa Bb Cc\n", &cfg, &err), 0);
	/* Positive control: each listed name is wanted. */
	ck_assert(pns_config_wants_type(&cfg, "Bb"));
	ck_assert(!pns_config_wants_type(&cfg, "Aa Bb"));
	ck_assert(!pns_config_wants_type(&cfg, "Bb Cc"));
	pns_config_defaults(&cfg);
	ck_assert(!pns_config_wants_type(&cfg,
	    "LtiHelloWorldNotice LtiContextCopyNotice"));
}
END_TEST

static char	tmpdir[] = "/tmp/pns-check-config-XXXXXX";

static void
write_file(const char *path, const char *text)
{
	FILE	*f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
}

/* A file on disk: its path names the line in errors. */
START_TEST(load_file)
{
	struct pns_config	cfg;
	struct pns_err		err;
	char			path[128], missing[128], want[160];

	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	(void)snprintf(path, sizeof(path), "%s/pns.conf", tmpdir);
	(void)snprintf(missing, sizeof(missing), "%s/none.conf", tmpdir);

	write_file(path, BASE "clock_leeway = 7\n");
	pns_config_defaults(&cfg);
	ck_assert_int_eq(pns_config_load(&cfg, path, NULL), 0);
	ck_assert_int_eq(cfg.clock_leeway, 7);

	write_file(path, BASE "clock_leeway = seven\n");
	pns_config_defaults(&cfg);
	pns_err_clear(&err);
	ck_assert_int_eq(pns_config_load(&cfg, path, &err), -1);
	(void)snprintf(want, sizeof(want), "%s:3:", path);
	ck_assert_msg(strstr(err.msg, want) != NULL, "%s", err.msg);

	pns_config_defaults(&cfg);
	pns_err_clear(&err);
	ck_assert_int_eq(pns_config_load(&cfg, missing, &err), -1);
	ck_assert_int_eq(err.code, PNS_ENOENT);

	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(rmdir(tmpdir), 0);
	memcpy(tmpdir + strlen(tmpdir) - 6, "XXXXXX", 6);
}
END_TEST

START_TEST(config_path_from_env)
{
	ck_assert_int_eq(setenv("PNS_CONFIG", "/etc/x/pns.conf", 1), 0);
	ck_assert_str_eq(pns_config_path(), "/etc/x/pns.conf");
	/* Empty means unset. */
	ck_assert_int_eq(setenv("PNS_CONFIG", "", 1), 0);
	ck_assert_str_eq(pns_config_path(), PNS_DEFAULT_CONFIG);
	ck_assert_int_eq(unsetenv("PNS_CONFIG"), 0);
	ck_assert_str_eq(pns_config_path(), PNS_DEFAULT_CONFIG);
}
END_TEST

static Suite *
config_suite(void)
{
	Suite	*s = suite_create("config");
	TCase	*tc = tcase_create("config");

	tcase_add_test(tc, defaults);
	tcase_add_test(tc, required_keys);
	tcase_add_test(tc, every_key);
	tcase_add_test(tc, log_levels);
	tcase_add_test(tc, refusals_name_the_line);
	tcase_add_test(tc, line_numbers_count_every_line);
	tcase_add_test(tc, repeated_key);
	tcase_add_test(tc, long_lines_and_nul);
	tcase_add_test(tc, parse_uses_len);
	tcase_add_test(tc, base_url_trailing_slashes);
	tcase_add_test(tc, value_lengths);
	tcase_add_test(tc, notice_types_normalised);
	tcase_add_test(tc, wants_type);
	tcase_add_test(tc, wants_type_spanning_names);
	tcase_add_test(tc, load_file);
	tcase_add_test(tc, config_path_from_env);
	suite_add_tcase(s, tc);
	return s;
}

TEST_MAIN(config_suite)
