/* SPDX-License-Identifier: ISC */
/* One line per event on stderr; see pns_log.h. */
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pns_log.h"
#include "pns_util.h"
#include "banned.h"

static const char		*log_prog = "pns";
static enum pns_log_level	 log_level = PNS_LOG_INFO;
/*
 * The pid each line names, kept: getpid(2) is a system call, one per
 * stored notice otherwise.  A forked child takes its own (the handler
 * runs in the child, alone); 0 before pns_log_init asks for it.
 */
static pid_t			 log_pid;

static void
child_pid(void)
{
	log_pid = getpid();
}

/*
 * The lines a thread holds (pns_log_hold) until pns_log_flush.  At most
 * PIPE_BUF bytes, so a write of them is as whole on a pipe (a piped
 * error log) as one line is.
 */
static __thread struct {
	char	buf[PIPE_BUF];
	size_t	len;
	int	on;
} held;

static const char *const levels[PNS_LOG__MAX] = {
	"error",	/* PNS_LOG_ERROR */
	"warn",		/* PNS_LOG_WARN */
	"info",		/* PNS_LOG_INFO */
	"debug",	/* PNS_LOG_DEBUG */
};

void
pns_log_init(const char *prog, enum pns_log_level level)
{
	static int	registered;

	log_prog = prog;
	log_level = level;
	if (!registered)
		registered = pthread_atfork(NULL, NULL, child_pid) == 0;
	/* Without the handler a forked child would name its parent. */
	log_pid = registered ? getpid() : 0;
}

void
pns_log_set_level(enum pns_log_level level)
{
	log_level = level;
}

int
pns_log_level_parse(const char *s)
{
	int	i;

	for (i = 0; i < PNS_LOG__MAX; i++)
		if (strcmp(s, levels[i]) == 0)
			return i;
	return -1;
}

static void
write_held(void)
{
	if (held.len > 0)
		(void)!write(STDERR_FILENO, held.buf, held.len);
	held.len = 0;
}

void
pns_log_hold(void)
{
	held.on = 1;
}

void
pns_log_flush(void)
{
	write_held();
	held.on = 0;
}

void
pns_log(enum pns_log_level level, const char *fmt, ...)
{
	char	line[1024], when[21];
	va_list	ap;
	int	n;

	if (level > log_level)
		return;
	pns_iso8601_fmt(time(NULL), when);
	n = snprintf(line, sizeof(line), "%s %s[%ld] %s: ", when, log_prog,
	    (long)(log_pid != 0 ? log_pid : getpid()), levels[level]);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	va_start(ap, fmt);
	(void)vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	n = (int)strlen(line);
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	/* Held: info and debug lines wait for the flush, in order. */
	if (held.on && level >= PNS_LOG_INFO) {
		if (held.len + (size_t)n > sizeof(held.buf))
			write_held();
		memcpy(held.buf + held.len, line, (size_t)n);
		held.len += (size_t)n;
		return;
	}
	/* Whole lines per write, so lines from several processes never
	 * mix; an error goes out now, after what was held before it. */
	write_held();
	(void)!write(STDERR_FILENO, line, (size_t)n);
}

/* Bytes c takes once escaped. */
static size_t
esc_width(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '\\' && c != '"' ? 1 : 4;
}

char *
pns_log_escape(const char *s, size_t len, char *out, size_t outsz)
{
	static const char	hex[] = "0123456789abcdef";
	size_t			i, o = 0, need = 0, room;
	unsigned char		c;

	if (outsz == 0)
		return out;
	for (i = 0; i < len; i++)
		need += esc_width((unsigned char)s[i]);
	/* All of it when it fits; else as much as leaves room for "...". */
	room = need < outsz ? outsz - 1 : (outsz > 4 ? outsz - 4 : 0);
	for (i = 0; i < len && o + esc_width((unsigned char)s[i]) <= room; i++) {
		c = (unsigned char)s[i];
		if (esc_width(c) == 1)
			out[o++] = (char)c;
		else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	if (i < len && outsz >= 4) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}
