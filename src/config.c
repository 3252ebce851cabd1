/* SPDX-License-Identifier: ISC */
/*
 * The configuration parser.  Modelled on cgit's NAME=VALUE files, but
 * strict: unknown or repeated keys, missing '=', over-long lines and
 * out-of-range numbers are errors, because a typo that is silently
 * ignored leaves a security limit at a value nobody chose.
 */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pns_config.h"
#include "pns_fs.h"
#include "pns_log.h"
#include "pns_util.h"
#include "banned.h"

enum kind { K_URL, K_PATH, K_TYPES, K_NUM, K_LEVEL, K_TEXT, K_CMD,
	K_SECRET, K_ONOFF, K_YESNO, K_HOSTS };

struct field {
	const char	*key;
	enum kind	 kind;
	size_t		 off;		/* offset in struct pns_config */
	size_t		 size;		/* for strings: buffer size */
	long		 min, max;	/* for numbers */
};

#define S(m, k) { #m, k, offsetof(struct pns_config, m), \
	sizeof(((struct pns_config *)0)->m), 0, 0 }
#define N(m, lo, hi) { #m, K_NUM, offsetof(struct pns_config, m), \
	sizeof(long), lo, hi }
#define B(m, k) { #m, k, offsetof(struct pns_config, m), sizeof(int), 0, 0 }

static const struct field fields[] = {
	S(base_url, K_URL),
	S(data_dir, K_PATH),
	S(notice_types, K_TYPES),
	N(max_body_bytes, 1024, 64L * 1024 * 1024),
	N(clock_leeway, 0, 300),
	N(jwks_refetch_interval, 1, 86400),
	N(jwks_max_age, 60, 2592000),
	N(http_timeout, 1, 120),
	N(jwks_max_bytes, 1024, 4L * 1024 * 1024),
	{ "log_level", K_LEVEL, offsetof(struct pns_config, log_level),
	    sizeof(int), 0, 0 },
	S(tool_title, K_TEXT),
	S(tool_description, K_TEXT),
	N(state_ttl, 60, 3600),
	N(handler_refresh, 3600, 2592000),
	S(deliver_command, K_CMD),
	S(deliver_url, K_URL),
	S(deliver_secret, K_SECRET),
	N(deliver_attempts, 1, 100),
	N(deliver_backoff, 1, 86400),
	N(deliver_timeout, 1, 3600),
	N(deliver_workers, 1, 16),
	B(registration, K_ONOFF),
	S(registration_issuer_hosts, K_HOSTS),
	S(registration_secret, K_SECRET),
	B(registration_allow_http, K_YESNO),
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

void
pns_config_defaults(struct pns_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	(void)snprintf(cfg->notice_types, sizeof(cfg->notice_types), "%s",
	    "LtiHelloWorldNotice LtiContextCopyNotice");
	cfg->max_body_bytes = 1024 * 1024;
	cfg->clock_leeway = 10;
	cfg->jwks_refetch_interval = 60;
	cfg->jwks_max_age = 86400;
	cfg->http_timeout = 10;
	cfg->jwks_max_bytes = 256 * 1024;
	cfg->log_level = PNS_LOG_INFO;
	(void)snprintf(cfg->tool_title, sizeof(cfg->tool_title), "%s",
	    "Notice receiver");
	(void)snprintf(cfg->tool_description, sizeof(cfg->tool_description),
	    "%s", "Receives LTI Platform Notification Service notices.");
	cfg->state_ttl = 600;
	cfg->handler_refresh = 86400;
	cfg->deliver_attempts = 10;
	cfg->deliver_backoff = 60;
	cfg->deliver_timeout = 30;
	cfg->deliver_workers = 2;
}

static int
valid_url(const char *v)
{
	const char	*host;
	size_t		 i;

	if (strncmp(v, "https://", 8) == 0)
		host = v + 8;
	else if (strncmp(v, "http://", 7) == 0)
		host = v + 7;
	else
		return 0;
	if (*host == '\0' || *host == '/')
		return 0;
	for (i = 0; v[i] != '\0'; i++)
		if ((unsigned char)v[i] <= 0x20 || (unsigned char)v[i] >= 0x7f)
			return 0;
	return 1;
}

/*
 * Blank-separated words, each byte passing ok, into dst with one space
 * between words (lowercased when lower is set).  Returns the number of
 * words, or -1 when a byte fails or the result does not fit.
 */
static int
set_words(char *dst, size_t size, const char *v, int (*ok)(int), int lower)
{
	size_t	o = 0, i = 0, start;
	int	n = 0;

	while (v[i] != '\0') {
		while (v[i] == ' ' || v[i] == '\t')
			i++;
		if (v[i] == '\0')
			break;
		start = i;
		while (v[i] != '\0' && v[i] != ' ' && v[i] != '\t') {
			if (!ok((unsigned char)v[i]))
				return -1;
			i++;
		}
		if (o + (o ? 1 : 0) + (i - start) + 1 > size)
			return -1;
		if (o)
			dst[o++] = ' ';
		for (; start < i; start++)
			dst[o++] = lower ? (char)tolower((unsigned char)v[start]) :
			    v[start];
		n++;
	}
	dst[o] = '\0';
	return n;
}

/* Notice types are identifiers: letters and digits only. */
static int
type_byte(int c)
{
	return isalnum(c);
}

static int
set_types(char *dst, size_t size, const char *v)
{
	return set_words(dst, size, v, type_byte, 0) == -1 ? -1 : 0;
}

/*
 * Host names (or IP literals) separated by blanks, stored lowercase with
 * one space between them.  Only the characters a host can have: the
 * list is compared with the host of a URL, never matched as a pattern.
 */
static int
host_byte(int c)
{
	return isalnum(c) || c == '.' || c == '-' || c == ':' || c == '[' ||
	    c == ']';
}

static int
set_hosts(char *dst, size_t size, const char *v)
{
	return set_words(dst, size, v, host_byte, 1) > 0 ? 0 : -1;
}

static int	set_field(struct pns_config *, const struct field *, const char *,
		    const char *, size_t, struct pns_err *);

/* Printable ASCII (spaces and tabs allowed), nothing else. */
static int
plain_words(const char *v)
{
	for (; *v != '\0'; v++)
		if (((unsigned char)*v < 0x20 && *v != '\t') ||
		    (unsigned char)*v >= 0x7f)
			return 0;
	return 1;
}

static size_t
count_words(const char *v)
{
	size_t	n = 0;

	while (*v != '\0') {
		while (*v == ' ' || *v == '\t')
			v++;
		if (*v == '\0')
			break;
		n++;
		while (*v != '\0' && *v != ' ' && *v != '\t')
			v++;
	}
	return n;
}

/*
 * deliver_command.TYPE and deliver_url.TYPE: a rule for one notice type,
 * "none" turning delivery off for it.
 */
static int
set_rule(struct pns_config *cfg, const char *key, const char *v,
    const char *name, size_t lineno, struct pns_err *err)
{
	struct pns_deliver_rule	*r = NULL;
	struct field		 f;
	const char		*type = strchr(key, '.') + 1;
	int			 is_cmd = strncmp(key, "deliver_command.", 16) == 0;
	char			 check[sizeof(r->type)];
	size_t			 i;

	if (set_types(check, sizeof(check), type) == -1 || *type == '\0' ||
	    strcmp(check, type) != 0)
		return pns_err_set(err, PNS_EINVAL,
		    "%s:%zu: \"%.64s\" must name one notice type", name,
		    lineno, key);
	for (i = 0; i < cfg->nrules && r == NULL; i++)
		if (strcmp(cfg->rules[i].type, type) == 0)
			r = &cfg->rules[i];
	if (r == NULL) {
		if (cfg->nrules == PNS_DELIVER_RULES)
			return pns_err_set(err, PNS_ELIMIT,
			    "%s:%zu: more than %d notice types with their own "
			    "delivery", name, lineno, PNS_DELIVER_RULES);
		r = &cfg->rules[cfg->nrules++];
		memset(r, 0, sizeof(*r));
		memcpy(r->type, type, strlen(type) + 1);
	}
	if (is_cmd ? r->set_command++ : r->set_url++)
		return pns_err_set(err, PNS_EINVAL, "%s:%zu: %s given twice",
		    name, lineno, key);
	if (strcmp(v, "none") == 0)
		return 0;
	memset(&f, 0, sizeof(f));
	f.key = key;
	f.kind = is_cmd ? K_CMD : K_URL;
	f.off = is_cmd ? offsetof(struct pns_config, rules) +
	    (size_t)(r - cfg->rules) * sizeof(*r) +
	    offsetof(struct pns_deliver_rule, command) :
	    offsetof(struct pns_config, rules) +
	    (size_t)(r - cfg->rules) * sizeof(*r) +
	    offsetof(struct pns_deliver_rule, url);
	f.size = is_cmd ? sizeof(r->command) : sizeof(r->url);
	return set_field(cfg, &f, v, name, lineno, err);
}

static int
set_field(struct pns_config *cfg, const struct field *f, const char *v,
    const char *name, size_t lineno, struct pns_err *err)
{
	char		*base = (char *)cfg + f->off;
	const char	*errstr;
	long long	 n;
	int		 lvl;
	size_t		 len = strlen(v);

	switch (f->kind) {
	case K_URL:
		if (!valid_url(v) || len >= f->size)
			return pns_err_set(err, PNS_EINVAL,
			    "%s:%zu: %s must be an http or https URL",
			    name, lineno, f->key);
		/* base_url is joined with "/notices.fcgi": no trailing '/'. */
		while (len > 0 && v[len - 1] == '/')
			len--;
		memcpy(base, v, len);
		base[len] = '\0';
		return 0;
	case K_PATH:
		if (v[0] != '/' || len >= f->size || len >= PNS_PATH_MAX - 128)
			return pns_err_set(err, PNS_EINVAL,
			    "%s:%zu: %s must be an absolute path", name,
			    lineno, f->key);
		memcpy(base, v, len + 1);
		return 0;
	case K_TYPES:
		if (set_types(base, f->size, v) == -1)
			return pns_err_set(err, PNS_EINVAL,
			    "%s:%zu: %s must be notice type names separated "
			    "by spaces", name, lineno, f->key);
		return 0;
	case K_NUM:
		n = pns_strtonum(v, f->min, f->max, &errstr);
		if (errstr != NULL)
			return pns_err_set(err, PNS_EINVAL,
			    "%s:%zu: %s is %s (allowed %ld to %ld)", name,
			    lineno, f->key, errstr, f->min, f->max);
		*(long *)(void *)base = (long)n;
		return 0;
	case K_TEXT:
		/* Shown in JSON and HTML (escaped there); no control bytes. */
		for (n = 0; v[n] != '\0'; n++)
			if ((unsigned char)v[n] < 0x20)
				break;
		if (v[n] != '\0' || len >= f->size)
			return pns_err_set(err, PNS_EINVAL,
			    "%s:%zu: %s is too long or has control characters",
			    name, lineno, f->key);
		memcpy(base, v, len + 1);
		return 0;
	case K_CMD:
		/* Run without a shell: an absolute program path and plain
		 * words, so nothing here is ever interpreted. */
		if (v[0] != '/' || len >= f->size || !plain_words(v) ||
		    count_words(v) > PNS_CMD_MAX_WORDS)
			return pns_err_set(err, PNS_EINVAL,
			    "%s:%zu: %s must be an absolute program path and "
			    "at most %d words in all, separated by spaces",
			    name, lineno, f->key, PNS_CMD_MAX_WORDS);
		memcpy(base, v, len + 1);
		return 0;
	case K_SECRET:
		if (len < 16 || len >= f->size || !plain_words(v) ||
		    strpbrk(v, " \t") != NULL)
			return pns_err_set(err, PNS_EINVAL,
			    "%s:%zu: %s must be 16 to %zu printable characters",
			    name, lineno, f->key, f->size - 1);
		memcpy(base, v, len + 1);
		return 0;
	case K_ONOFF:
	case K_YESNO:
		/* The two words of the key's documentation, nothing else: a
		 * "true" or "1" that silently meant off would open nothing,
		 * but one that meant on might. */
		if (strcmp(v, f->kind == K_ONOFF ? "on" : "yes") == 0)
			*(int *)(void *)base = 1;
		else if (strcmp(v, f->kind == K_ONOFF ? "off" : "no") == 0)
			*(int *)(void *)base = 0;
		else
			return pns_err_set(err, PNS_EINVAL,
			    "%s:%zu: %s must be %s", name, lineno, f->key,
			    f->kind == K_ONOFF ? "off or on" : "no or yes");
		return 0;
	case K_HOSTS:
		if (set_hosts(base, f->size, v) == -1)
			return pns_err_set(err, PNS_EINVAL,
			    "%s:%zu: %s must be host names separated by "
			    "spaces", name, lineno, f->key);
		return 0;
	case K_LEVEL:
		if ((lvl = pns_log_level_parse(v)) < 0)
			return pns_err_set(err, PNS_EINVAL,
			    "%s:%zu: log_level must be error, warn, info or "
			    "debug", name, lineno);
		*(int *)(void *)base = lvl;
		return 0;
	}
	return pns_err_set(err, PNS_EINVAL, "%s:%zu: bad field", name, lineno);
}

static char *
trim(char *s)
{
	char	*e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

int
pns_config_parse(struct pns_config *cfg, const char *buf, size_t len,
    const char *name, struct pns_err *err)
{
	char		 line[PNS_CONFIG_MAX_LINE + 1], *key, *val, *eq;
	unsigned char	 seen[NFIELDS];
	size_t		 pos = 0, lineno = 0, ll, i;
	const char	*nl;

	memset(seen, 0, sizeof(seen));
	while (pos < len) {
		lineno++;
		nl = memchr(buf + pos, '\n', len - pos);
		ll = nl != NULL ? (size_t)(nl - (buf + pos)) : len - pos;
		if (ll > PNS_CONFIG_MAX_LINE)
			return pns_err_set(err, PNS_ELIMIT,
			    "%s:%zu: line longer than %d bytes", name, lineno,
			    PNS_CONFIG_MAX_LINE);
		if (memchr(buf + pos, '\0', ll) != NULL)
			return pns_err_set(err, PNS_EINVAL,
			    "%s:%zu: NUL byte", name, lineno);
		memcpy(line, buf + pos, ll);
		line[ll] = '\0';
		pos += ll + (nl != NULL);
		key = trim(line);
		if (*key == '\0' || *key == '#')
			continue;
		if ((eq = strchr(key, '=')) == NULL)
			return pns_err_set(err, PNS_EINVAL,
			    "%s:%zu: expected key = value", name, lineno);
		*eq = '\0';
		key = trim(key);
		val = trim(eq + 1);
		if (strncmp(key, "deliver_command.", 16) == 0 ||
		    strncmp(key, "deliver_url.", 12) == 0) {
			if (*val == '\0')
				return pns_err_set(err, PNS_EINVAL,
				    "%s:%zu: %s has no value", name, lineno, key);
			if (set_rule(cfg, key, val, name, lineno, err) == -1)
				return -1;
			continue;
		}
		for (i = 0; i < NFIELDS; i++)
			if (strcmp(key, fields[i].key) == 0)
				break;
		if (i == NFIELDS)
			return pns_err_set(err, PNS_EINVAL,
			    "%s:%zu: unknown key \"%.64s\"", name, lineno, key);
		if (seen[i]++)
			return pns_err_set(err, PNS_EINVAL,
			    "%s:%zu: %s given twice", name, lineno, key);
		if (*val == '\0')
			return pns_err_set(err, PNS_EINVAL,
			    "%s:%zu: %s has no value", name, lineno, key);
		if (set_field(cfg, &fields[i], val, name, lineno, err) == -1)
			return -1;
	}
	if (cfg->base_url[0] == '\0')
		return pns_err_set(err, PNS_EINVAL, "%s: base_url is not set",
		    name);
	if (cfg->data_dir[0] == '\0')
		return pns_err_set(err, PNS_EINVAL, "%s: data_dir is not set",
		    name);
	/* One target per notice type, so that "delivered" means one thing. */
	if (cfg->deliver_command[0] != '\0' && cfg->deliver_url[0] != '\0')
		return pns_err_set(err, PNS_EINVAL, "%s: set deliver_command "
		    "or deliver_url, not both", name);
	for (i = 0; i < cfg->nrules; i++)
		if (cfg->rules[i].command[0] != '\0' &&
		    cfg->rules[i].url[0] != '\0')
			return pns_err_set(err, PNS_EINVAL, "%s: notice type "
			    "%s has both a deliver_command and a deliver_url",
			    name, cfg->rules[i].type);
	/* The application must be able to tell our POSTs from anyone's. */
	if (cfg->deliver_secret[0] == '\0') {
		if (cfg->deliver_url[0] != '\0')
			return pns_err_set(err, PNS_EINVAL,
			    "%s: deliver_url needs deliver_secret", name);
		for (i = 0; i < cfg->nrules; i++)
			if (cfg->rules[i].url[0] != '\0')
				return pns_err_set(err, PNS_EINVAL,
				    "%s: deliver_url.%s needs deliver_secret",
				    name, cfg->rules[i].type);
	}
	return 0;
}

int
pns_config_load(struct pns_config *cfg, const char *path,
    struct pns_err *err)
{
	struct pns_buf	b;
	int		rc;

	pns_buf_init(&b, PNS_CONFIG_MAX_BYTES);
	if (pns_read_file(path, &b, err) == -1)
		rc = -1;
	else
		rc = pns_config_parse(cfg, b.data, b.len, path, err);
	pns_buf_release(&b);
	return rc;
}

const char *
pns_config_path(void)
{
	const char	*p = getenv("PNS_CONFIG");

	return p != NULL && *p != '\0' ? p : PNS_DEFAULT_CONFIG;
}

const char *
pns_config_find(const char *given, char *buf, size_t size)
{
	static const char *const	 rel[] = { "pns.conf", "../pns.conf" };
	char				 dir[PATH_MAX], *slash;
	ssize_t				 n;
	size_t				 i;
	int				 w;

	if (given != NULL && *given != '\0')
		return given;
	n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
	if (n > 0) {
		dir[n] = '\0';
		if ((slash = strrchr(dir, '/')) != NULL)
			*slash = '\0';
		for (i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
			w = snprintf(buf, size, "%s/%s", dir, rel[i]);
			if (w > 0 && (size_t)w < size && access(buf, F_OK) == 0)
				return buf;
		}
	}
	return PNS_DEFAULT_CONFIG;
}

int
pns_config_wants_type(const struct pns_config *cfg, const char *type)
{
	const char	*p = cfg->notice_types;
	size_t		 n = strlen(type);

	/* One name, never a run of them: "A B" is not a listed type. */
	if (n == 0 || strpbrk(type, " \t") != NULL)
		return 0;
	while (*p != '\0') {
		if (strncmp(p, type, n) == 0 && (p[n] == ' ' || p[n] == '\0'))
			return 1;
		while (*p != '\0' && *p != ' ')
			p++;
		while (*p == ' ')
			p++;
	}
	return 0;
}
