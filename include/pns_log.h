/* SPDX-License-Identifier: ISC */
/*
 * Logging: one line per event on stderr, which Apache and lighttpd put in
 * their error log.  stdout is the HTTP response and never carries a
 * diagnostic.  Line format:
 *   2026-01-01T00:00:00Z notices.fcgi[123] LEVEL: message
 * Anything that came from the network goes through pns_log_escape first.
 * Tokens, keys and whole payloads are never logged.
 */
#ifndef PNS_LOG_H
#define PNS_LOG_H

#include <stddef.h>

enum pns_log_level {
	PNS_LOG_ERROR = 0,
	PNS_LOG_WARN,
	PNS_LOG_INFO,
	PNS_LOG_DEBUG,
	PNS_LOG__MAX
};

/* Sets the program name shown in each line and the level shown. */
void	pns_log_init(const char *prog, enum pns_log_level level);
void	pns_log_set_level(enum pns_log_level level);
/* Parses "error", "warn", "info", "debug"; -1 if none. */
int	pns_log_level_parse(const char *s);
void	pns_log(enum pns_log_level level, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/*
 * pns_log_hold makes this thread keep its info and debug lines until
 * pns_log_flush writes them, a few whole lines per write: a request of
 * a hundred notices then costs a few writes, not a hundred.  Errors and
 * warnings are written at once, after the lines held before them.
 */
void	pns_log_hold(void);
void	pns_log_flush(void);

/*
 * Copies at most len bytes of untrusted s into out (of size outsz,
 * always NUL-terminated), with control bytes, quotes, backslashes and
 * non-ASCII as \xNN, cut with "..." when it does not fit.  Returns out.
 */
char	*pns_log_escape(const char *s, size_t len, char *out, size_t outsz);

#endif
