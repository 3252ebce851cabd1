/* SPDX-License-Identifier: ISC */
/*
 * pns_http_get made by a child process (pns_http_get_in_child) must
 * answer exactly as the GET made here does: the same return, the same
 * pns_err code and message, the same body, byte for byte.  Each test
 * makes its GET both ways against a small HTTP server on 127.0.0.1 in a
 * thread of the test, first here, then through the child, which is this
 * program again: main below plays the child's part, as notices.fcgi's
 * does.  The switch is process-wide and one-way, so each test relies on
 * Check's fork mode to start with GETs made here.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pns_child.h"
#include "pns_err.h"
#include "pns_fs.h"
#include "pns_http.h"
#include "pns_util.h"
#include "unit.h"

/* The child of the kill test: it never answers. */
#define HANG_URL	"http://hang.invalid/"
#define CAP		1024

static int	port;

struct route {
	const char	*path;
	const char	*head;		/* status line and headers */
	const char	*body;
	size_t		 len;		/* of body */
};

static char	big[CAP + 1], exact[CAP];

static const struct route routes[] = {
	{ "/ok", "200 OK", "{\"keys\":[]}", 11 },
	/* NULs and newlines must cross the pipe as they are. */
	{ "/binary", "200 OK", "a\0b\nc\r\0", 7 },
	{ "/empty", "200 OK", "", 0 },
	{ "/missing", "404 Not Found", "no", 2 },
	{ "/big", "200 OK", big, sizeof(big) },
	{ "/exact", "200 OK", exact, sizeof(exact) },
	{ "/moved", "302 Found\r\nLocation: /ok", "", 0 },
};

/* Answers one connection: the route's answer, or none at all for
 * /silent (until the client gives up). */
static void
answer(int fd)
{
	char		req[4096], head[256];
	size_t		got = 0, i;
	ssize_t		r;
	int		n;

	while (got < sizeof(req) - 1 &&
	    (r = read(fd, req + got, sizeof(req) - 1 - got)) > 0) {
		got += (size_t)r;
		req[got] = '\0';
		if (strstr(req, "\r\n\r\n") != NULL)
			break;
	}
	req[got] = '\0';
	if (strncmp(req, "GET /silent ", 12) == 0) {
		(void)sleep(4);
		return;
	}
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		n = (int)strlen(routes[i].path);
		if (strncmp(req + 4, routes[i].path, (size_t)n) != 0 ||
		    req[4 + n] != ' ')
			continue;
		n = snprintf(head, sizeof(head), "HTTP/1.1 %s\r\n"
		    "Content-Length: %zu\r\nConnection: close\r\n\r\n",
		    routes[i].head, routes[i].len);
		(void)write(fd, head, (size_t)n);
		(void)write(fd, routes[i].body, routes[i].len);
		return;
	}
}

static void *
serve(void *arg)
{
	int	lfd = *(int *)arg, fd;

	while ((fd = accept(lfd, NULL, NULL)) != -1) {
		answer(fd);
		(void)close(fd);
	}
	return NULL;
}

/* A port on 127.0.0.1: listened on by a server thread, or, with
 * listening 0, one nothing listens on. */
static int
loopback(int listening)
{
	static int		 lfd;
	struct sockaddr_in	 sa;
	socklen_t		 len = sizeof(sa);
	pthread_t		 t;
	int			 fd;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ne(fd = socket(AF_INET, SOCK_STREAM, 0), -1);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	if (!listening) {
		(void)close(fd);
		return ntohs(sa.sin_port);
	}
	ck_assert_int_eq(listen(fd, 16), 0);
	lfd = fd;
	ck_assert_int_eq(pthread_create(&t, NULL, serve, &lfd), 0);
	(void)pthread_detach(t);
	return ntohs(sa.sin_port);
}

static void
setup(void)
{
	memset(big, 'x', sizeof(big));
	memset(exact, 'y', sizeof(exact));
	port = loopback(1);
}

struct outcome {
	int		rc;
	struct pns_err	err;
	struct pns_buf	body;
};

static void
get(const char *url, long timeout, struct outcome *o)
{
	pns_buf_init(&o->body, CAP);
	pns_err_clear(&o->err);
	o->rc = pns_http_get(url, timeout, &o->body, &o->err);
}

/* GETs path here, then through the child; checks that both agree and
 * returns what the child gave (in *child). */
static void
both(const char *path, long timeout, struct outcome *child)
{
	struct outcome	here;
	char		url[128];

	(void)snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	get(url, timeout, &here);
	pns_http_get_in_child();
	get(url, timeout, child);
	ck_assert_int_eq(child->rc, here.rc);
	ck_assert_int_eq(child->err.code, here.err.code);
	ck_assert_str_eq(child->err.msg, here.err.msg);
	/* An empty body may have no buffer at all. */
	if (here.rc == 0) {
		ck_assert_uint_eq(child->body.len, here.body.len);
		if (here.body.len > 0)
			ck_assert_mem_eq(child->body.data, here.body.data,
			    here.body.len);
	}
	pns_buf_release(&here.body);
	/* Every child was reaped. */
	ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
	ck_assert_int_eq(errno, ECHILD);
}

/* What each GET must give, here and through the child alike. */
static const struct want {
	const char	*path;		/* NULL: a port nothing listens on */
	long		 timeout;
	enum pns_code	 code;		/* PNS_OK: the GET succeeds */
	const char	*msg;		/* the error, or the body if not NULL */
	size_t		 len;		/* of the body */
} wants[] = {
	{ "/ok", 5, PNS_OK, "{\"keys\":[]}", 11 },
	/* NULs and newlines cross the pipe as they are. */
	{ "/binary", 5, PNS_OK, "a\0b\nc\r\0", 7 },
	{ "/empty", 5, PNS_OK, "", 0 },
	{ "/missing", 5, PNS_ENET, "HTTP status 404", 0 },
	/* One byte over the cap is refused; the twin at the cap is not. */
	{ "/big", 5, PNS_ELIMIT, "answer larger than 1024 bytes", 0 },
	{ "/exact", 5, PNS_OK, NULL, CAP },
	{ "/moved", 5, PNS_OK, "{\"keys\":[]}", 11 },
	{ NULL, 5, PNS_ENET, "Couldn't connect to server", 0 },
	/* A server that never answers: libcurl's own timeout, in the
	 * child too. */
	{ "/silent", 1, PNS_ENET, "Timeout was reached", 0 },
};

START_TEST(get_both_ways)
{
	const struct want	*w = &wants[_i];
	struct outcome		 o;

	if (w->path == NULL)
		port = loopback(0);
	both(w->path != NULL ? w->path : "/ok", w->timeout, &o);
	ck_assert_int_eq(o.rc, w->code == PNS_OK ? 0 : -1);
	ck_assert_int_eq(o.err.code, w->code);
	if (w->code != PNS_OK)
		ck_assert_str_eq(o.err.msg, w->msg);
	else {
		ck_assert_uint_eq(o.body.len, w->len);
		if (w->msg != NULL && w->len > 0)
			ck_assert_mem_eq(o.body.data, w->msg, w->len);
	}
	pns_buf_release(&o.body);
}
END_TEST

/* 1 if this process has libcurl mapped. */
static int
libcurl_mapped(void)
{
	struct pns_buf	maps;
	struct pns_err	err;
	int		mapped;

	pns_buf_init(&maps, 1 << 20);
	pns_err_clear(&err);
	ck_assert_int_eq(pns_read_file("/proc/self/maps", &maps, &err), 0);
	mapped = strstr(maps.data, "libcurl") != NULL;
	pns_buf_release(&maps);
	return mapped;
}

/* The point of the child: this process never maps libcurl, though the
 * GET was made; the twin made here does map it. */
START_TEST(get_leaves_no_libcurl)
{
	struct outcome	 o;
	char		 url[128];

	pns_http_get_in_child();
	(void)snprintf(url, sizeof(url), "http://127.0.0.1:%d/ok", port);
	get(url, 5, &o);
	ck_assert_int_eq(o.rc, 0);
	ck_assert_str_eq(o.body.data, "{\"keys\":[]}");
	ck_assert_int_eq(libcurl_mapped(), 0);
	pns_buf_release(&o.body);
}
END_TEST

/*
 * notices.fcgi has its GETs made by lti.cgi, found beside it
 * (pns_child_use_helper): a link to this program, named as the helper,
 * makes them; a helper name with nothing beside this program fails
 * with the path it tried.
 */
START_TEST(get_through_named_helper)
{
	static const char	*names[] = { "check_http-helper",
				    "check_http-none" };
	struct outcome		 o;
	char			 self[1024], dir[1024], link[1100], url[128];
	ssize_t			 n;
	char			*slash;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	ck_assert(n > 0 && (size_t)n < sizeof(self) - 1);
	self[n] = '\0';
	(void)snprintf(dir, sizeof(dir), "%s", self);
	ck_assert((slash = strrchr(dir, '/')) != NULL);
	*slash = '\0';
	(void)snprintf(link, sizeof(link), "%s/%s", dir, names[_i]);
	(void)unlink(link);
	if (_i == 0)
		ck_assert_int_eq(symlink(self, link), 0);

	pns_child_use_helper(names[_i]);
	pns_http_get_in_child();
	ck_assert_str_eq(pns_child_helper(), link);
	(void)snprintf(url, sizeof(url), "http://127.0.0.1:%d/ok", port);
	get(url, 5, &o);
	(void)unlink(link);
	if (_i == 0) {
		ck_assert_int_eq(o.rc, 0);
		ck_assert_str_eq(o.body.data, "{\"keys\":[]}");
	} else {
		ck_assert_int_eq(o.rc, -1);
		ck_assert_ptr_nonnull(strstr(o.err.msg, link));
		ck_assert_int_eq(o.body.len, 0);
	}
	ck_assert_int_eq(libcurl_mapped(), 0);
	pns_buf_release(&o.body);
}
END_TEST

START_TEST(get_here_maps_libcurl)
{
	struct outcome	 o;
	char		 url[128];

	(void)snprintf(url, sizeof(url), "http://127.0.0.1:%d/ok", port);
	get(url, 5, &o);
	ck_assert_int_eq(o.rc, 0);
	ck_assert_int_eq(libcurl_mapped(), 1);
	pns_buf_release(&o.body);
}
END_TEST

/* A child that never answers is killed after the timeout and the grace,
 * reaped, and reported; the parent does not hang. */
START_TEST(get_child_killed)
{
	struct outcome	o;
	time_t		start = time(NULL);

	pns_http_get_in_child();
	get(HANG_URL, 1, &o);
	ck_assert_int_eq(o.rc, -1);
	ck_assert_int_eq(o.err.code, PNS_ENET);
	ck_assert_str_eq(o.err.msg, "GET of " HANG_URL " took more than 6 s; "
	    "its process was killed");
	ck_assert_int_le(time(NULL) - start, 8);
	ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
	ck_assert_int_eq(errno, ECHILD);
	pns_buf_release(&o.body);
}
END_TEST

/* The child's side takes only the parent's arguments. */
START_TEST(child_refuses_other_arguments)
{
	char	 a0[] = "t", a1[] = PNS_HTTP_CHILD_ARG, url[] = "http://x/";
	char	 five[] = "5", cap[] = "1024", neg[] = "-1", word[] = "ten";
	char	*short_argv[] = { a0, a1, url, five, NULL };
	char	*bad_secs[] = { a0, a1, url, word, cap, NULL };
	char	*bad_cap[] = { a0, a1, url, five, neg, NULL };

	ck_assert_int_eq(pns_http_child_main(4, short_argv), 2);
	ck_assert_int_eq(pns_http_child_main(5, bad_secs), 2);
	ck_assert_int_eq(pns_http_child_main(5, bad_cap), 2);
}
END_TEST

static Suite *
http_suite(void)
{
	Suite	*s = suite_create("http");
	TCase	*tc = tcase_create("get_in_child");

	tcase_add_checked_fixture(tc, setup, NULL);
	/* The kill test waits for the timeout and the grace. */
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, get_both_ways, 0,
	    sizeof(wants) / sizeof(wants[0]));
	tcase_add_test(tc, get_leaves_no_libcurl);
	tcase_add_loop_test(tc, get_through_named_helper, 0, 2);
	tcase_add_test(tc, get_here_maps_libcurl);
	tcase_add_test(tc, get_child_killed);
	tcase_add_test(tc, child_refuses_other_arguments);
	suite_add_tcase(s, tc);
	return s;
}

int
main(int argc, char *argv[])
{
	/* This program as the GET child of the tests above. */
	if (argc >= 2 && strcmp(argv[1], PNS_HTTP_CHILD_ARG) == 0) {
		if (argc == 5 && strcmp(argv[2], HANG_URL) == 0)
			for (;;)
				(void)pause();
		return pns_http_child_main(argc, argv);
	}
	/*
	 * A process of its own per test: pns_http_get_in_child cannot be
	 * turned off, and libcurl once loaded stays mapped, so tests sharing
	 * one process (CK_FORK=no) would compare the child with itself and
	 * see libcurl mapped by an earlier test.
	 */
	return unit_run_mode(http_suite(), 1);
}
