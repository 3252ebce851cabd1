/* SPDX-License-Identifier: ISC */
/*
 * Bounded outgoing HTTP with libcurl; see pns_http.h.
 *
 * libcurl is loaded with dlopen on the first request, not linked: with
 * it come gnutls, krb5, ldap, ssh2, nettle and more, about 30 libraries
 * that every lti.cgi process would map, relocate and initialise and
 * every notices.fcgi process would keep resident, though most requests
 * never go out (a key set is fetched once and cached).  <curl/curl.h>
 * still gives the types and constants; the functions are called through
 * the table below, which pns_dl_load fills on the first request.
 *
 * Once loaded, libcurl stays: dlclose after curl_global_cleanup leaves
 * several of its libraries mapped (they are marked not to be unloaded).
 * A long-lived process that only GETs a key set now and then therefore
 * asks for its GETs to be made by a child (pns_http_get_in_child), which
 * takes libcurl with it when it exits.  The child writes to its standard
 * output one head, "CC LLLLLLLLLLLLLLLLLLLL\n" (the pns_code, two
 * digits; a length, twenty), then that many bytes: the body when the
 * code is PNS_OK, else the error message.  A fixed head needs no parser
 * and the length bounds every read.
 */
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "pns_child.h"
#include "pns_dl.h"
#include "pns_fs.h"
#include "pns_http.h"
#include "banned.h"

/* The soname of Debian's libcurl4 (the ABI <curl/curl.h> describes). */
#define CURL_SONAME	"libcurl.so.4"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
/* The head the GET child writes first, without its NUL. */
#define CHILD_HEAD_LEN	24
/* Seconds beyond the GET's timeout for the child to start and load
 * libcurl before it is killed. */
#define CHILD_GRACE	5
/* The largest size cap and timeout a child accepts. */
#define CHILD_MAX_BYTES	(1L << 30)
#define CHILD_MAX_SECS	86400

_Static_assert(PNS_CODE__MAX <= 99, "a pns_code must fit two digits");

static struct curlfn {
	CURLcode	 (*global_init)(long);
	CURL		*(*easy_init)(void);
	CURLcode	 (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode	 (*easy_perform)(CURL *);
	CURLcode	 (*easy_getinfo)(CURL *, CURLINFO, ...);
	void		 (*easy_cleanup)(CURL *);
	const char	*(*easy_strerror)(CURLcode);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void		 (*slist_free_all)(struct curl_slist *);
} fn;

static const struct pns_dl_sym syms[] = {
	{ "curl_global_init", offsetof(struct curlfn, global_init) },
	{ "curl_easy_init", offsetof(struct curlfn, easy_init) },
	{ "curl_easy_setopt", offsetof(struct curlfn, easy_setopt) },
	{ "curl_easy_perform", offsetof(struct curlfn, easy_perform) },
	{ "curl_easy_getinfo", offsetof(struct curlfn, easy_getinfo) },
	{ "curl_easy_cleanup", offsetof(struct curlfn, easy_cleanup) },
	{ "curl_easy_strerror", offsetof(struct curlfn, easy_strerror) },
	{ "curl_slist_append", offsetof(struct curlfn, slist_append) },
	{ "curl_slist_free_all", offsetof(struct curlfn, slist_free_all) },
};

/* Not thread-safe in every libcurl: it runs once, under the load lock. */
static int
curl_init(char *msg, size_t size)
{
	if (fn.global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK)
		return 0;
	(void)snprintf(msg, size, "curl_global_init failed");
	return -1;
}

static struct pns_dl curl = PNS_DL_INIT(CURL_SONAME, PNS_ENET, syms, &fn,
    curl_init);

struct sink {
	struct pns_buf	*body;
	struct pns_err	*err;
	int		 over;
};

static size_t
on_data(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct sink	*s = arg;
	size_t		 n = size * nmemb;

	/* No buffer: the caller only wants the status. */
	if (s->body == NULL)
		return n;
	/* Returning short makes curl abort the transfer at once. */
	if (pns_buf_add(s->body, ptr, n, NULL) == -1) {
		s->over = 1;
		return 0;
	}
	return n;
}

int
pns_http_request(struct pns_http_call *call, struct pns_buf *resp,
    struct pns_err *err)
{
	CURL			*c;
	CURLcode		 rc;
	struct curl_slist	*hdrs = NULL, *h;
	struct sink		 s = { resp, err, 0 };
	char			 line[4096];
	int			 n, ret = -1, ok = 1;

	call->status = 0;
	if (pns_dl_load(&curl, err) == -1)
		return -1;
	if ((c = fn.easy_init()) == NULL)
		return pns_err_set(err, PNS_ENOMEM, "curl_easy_init failed");
	if (call->bearer != NULL) {
		n = snprintf(line, sizeof(line), "Authorization: Bearer %s",
		    call->bearer);
		ok = n > 0 && (size_t)n < sizeof(line);
		if (ok && (h = fn.slist_append(hdrs, line)) != NULL)
			hdrs = h;
		else
			ok = 0;
	}
	if (ok && call->content_type != NULL) {
		n = snprintf(line, sizeof(line), "Content-Type: %s",
		    call->content_type);
		ok = n > 0 && (size_t)n < sizeof(line);
		if (ok && (h = fn.slist_append(hdrs, line)) != NULL)
			hdrs = h;
		else
			ok = 0;
	}
	if (ok && (h = fn.slist_append(hdrs, "Accept: application/json")) != NULL)
		hdrs = h;
	else
		ok = 0;
	for (n = 0; ok && call->headers != NULL && call->headers[n] != NULL;
	    n++) {
		/* A header line must stay one line. */
		if (strpbrk(call->headers[n], "\r\n") != NULL ||
		    (h = fn.slist_append(hdrs, call->headers[n])) == NULL)
			ok = 0;
		else
			hdrs = h;
	}
	/* Redirects are not followed: a POST or PUT must not be replayed
	 * elsewhere with the bearer token. */
	if (!ok ||
	    fn.easy_setopt(c, CURLOPT_URL, call->url) != CURLE_OK ||
	    fn.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
	    fn.easy_setopt(c, CURLOPT_CUSTOMREQUEST, call->method) != CURLE_OK ||
	    fn.easy_setopt(c, CURLOPT_HTTPHEADER, hdrs) != CURLE_OK ||
	    fn.easy_setopt(c, CURLOPT_TIMEOUT, call->timeout) != CURLE_OK ||
	    fn.easy_setopt(c, CURLOPT_CONNECTTIMEOUT, call->timeout) != CURLE_OK ||
	    fn.easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    fn.easy_setopt(c, CURLOPT_USERAGENT, "pns/1") != CURLE_OK ||
	    fn.easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data) != CURLE_OK ||
	    fn.easy_setopt(c, CURLOPT_WRITEDATA, &s) != CURLE_OK ||
	    (call->body != NULL &&
	    (fn.easy_setopt(c, CURLOPT_POSTFIELDS, call->body) != CURLE_OK ||
	    fn.easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)call->body_len) != CURLE_OK))) {
		pns_err_set(err, PNS_ENET, "curl_easy_setopt failed");
		goto out;
	}
	rc = fn.easy_perform(c);
	if (s.over) {
		pns_err_set(err, PNS_ELIMIT, "answer larger than %zu bytes",
		    resp->max);
		goto out;
	}
	if (rc != CURLE_OK) {
		pns_err_set(err, PNS_ENET, "%s", fn.easy_strerror(rc));
		goto out;
	}
	(void)fn.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &call->status);
	ret = 0;
out:
	fn.slist_free_all(hdrs);
	fn.easy_cleanup(c);
	return ret;
}

/* pns_http_get in this process. */
static int
get_here(const char *url, long timeout, struct pns_buf *body,
    struct pns_err *err)
{
	CURL		*c;
	CURLcode	 rc;
	struct sink	 s = { body, err, 0 };
	long		 status = 0;
	int		 ret = -1;

	if (pns_dl_load(&curl, err) == -1)
		return -1;
	if ((c = fn.easy_init()) == NULL)
		return pns_err_set(err, PNS_ENOMEM, "curl_easy_init failed");
	if (fn.easy_setopt(c, CURLOPT_URL, url) != CURLE_OK ||
	    fn.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
	    fn.easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") != CURLE_OK ||
	    fn.easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L) != CURLE_OK ||
	    fn.easy_setopt(c, CURLOPT_MAXREDIRS, 3L) != CURLE_OK ||
	    fn.easy_setopt(c, CURLOPT_TIMEOUT, timeout) != CURLE_OK ||
	    fn.easy_setopt(c, CURLOPT_CONNECTTIMEOUT, timeout) != CURLE_OK ||
	    fn.easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    fn.easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)body->max) != CURLE_OK ||
	    fn.easy_setopt(c, CURLOPT_USERAGENT, "pns/1") != CURLE_OK ||
	    fn.easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data) != CURLE_OK ||
	    fn.easy_setopt(c, CURLOPT_WRITEDATA, &s) != CURLE_OK) {
		pns_err_set(err, PNS_ENET, "curl_easy_setopt failed");
		goto out;
	}
	rc = fn.easy_perform(c);
	if (s.over || rc == CURLE_FILESIZE_EXCEEDED) {
		pns_err_set(err, PNS_ELIMIT, "answer larger than %zu bytes",
		    body->max);
		goto out;
	}
	if (rc != CURLE_OK) {
		pns_err_set(err, PNS_ENET, "%s", fn.easy_strerror(rc));
		goto out;
	}
	(void)fn.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		pns_err_set(err, PNS_ENET, "HTTP status %ld", status);
		goto out;
	}
	ret = 0;
out:
	fn.easy_cleanup(c);
	return ret;
}

/* Set once at start by pns_http_get_in_child, read-only afterwards. */
static int	 get_in_child;
static char	*child_env[16];

/*
 * What libcurl and OpenSSL read from the environment, and nothing else:
 * a CGI's environment holds the request (and GATEWAY_INTERFACE, which
 * the child's main refuses).  Not HTTP_PROXY, which a CGI gets from a
 * request's Proxy header and libcurl ignores for that reason.
 */
static const char *const child_vars[] = {
	"http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
	"no_proxy", "NO_PROXY",
	"SSL_CERT_FILE", "SSL_CERT_DIR",	/* OpenSSL's CA locations */
	"LD_LIBRARY_PATH",			/* where libcurl is found */
	"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS",
};

_Static_assert(NELEM(child_vars) < NELEM(child_env),
    "child_env needs room for every variable and the NULL");

void
pns_http_get_in_child(void)
{
	extern char	**environ;
	size_t		  i, j, len, n = 0;

	for (i = 0; environ != NULL && environ[i] != NULL; i++) {
		for (j = 0; j < NELEM(child_vars); j++) {
			len = strlen(child_vars[j]);
			if (strncmp(environ[i], child_vars[j], len) == 0 &&
			    environ[i][len] == '=')
				break;
		}
		/* A name given twice is passed once, the first. */
		if (j < NELEM(child_vars) && n < NELEM(child_env) - 1)
			child_env[n++] = environ[i];
	}
	child_env[n] = NULL;
	(void)pns_child_helper();
	get_in_child = 1;
}

/* Parses the child's head into *code and *len; -1 if malformed. */
static int
parse_head(char *head, int *code, size_t *len)
{
	const char	*e1, *e2;

	if (head[2] != ' ' || head[CHILD_HEAD_LEN - 1] != '\n')
		return -1;
	head[2] = head[CHILD_HEAD_LEN - 1] = '\0';
	*code = (int)pns_strtonum(head, PNS_OK, PNS_CODE__MAX - 1, &e1);
	*len = (size_t)pns_strtonum(head + 3, 0, CHILD_MAX_BYTES, &e2);
	return e1 == NULL && e2 == NULL ? 0 : -1;
}

/*
 * Reads the child's outcome from fd: 1 when it was read whole (then 0
 * and body filled, or err set as the child's GET failed, in *ret), 0
 * when it was not.
 */
static int
read_outcome(int fd, struct pns_buf *body, const struct timespec *deadline,
    int *ret, struct pns_err *err)
{
	char	head[CHILD_HEAD_LEN + 1], msg[sizeof(err->msg)];
	size_t	len;
	int	code;

	if (pns_child_read(fd, head, CHILD_HEAD_LEN, deadline) != CHILD_HEAD_LEN ||
	    parse_head(head, &code, &len) == -1)
		return 0;
	if (code != PNS_OK) {
		if (len >= sizeof(msg) ||
		    pns_child_read(fd, msg, len, deadline) != len)
			return 0;
		msg[len] = '\0';
		*ret = pns_err_set(err, (enum pns_code)code, "%s", msg);
		return 1;
	}
	/* The child was given body->max: more is not its answer. */
	if (len > body->max - body->len ||
	    pns_buf_reserve(body, len, NULL) == -1 ||
	    pns_child_read(fd, body->data + body->len, len, deadline) != len)
		return 0;
	body->len += len;
	body->data[body->len] = '\0';
	*ret = 0;
	return 1;
}

/* pns_http_get in a child; see pns_http_get_in_child. */
static int
get_in_a_child(const char *url, long timeout, struct pns_buf *body,
    struct pns_err *err)
{
	static char	 arg[] = PNS_HTTP_CHILD_ARG;
	char		 secs[24], max[24];
	/* posix_spawn does not write to argv; the type lacks the const
	 * for old code's sake (POSIX rationale of exec). */
	const char	*helper = pns_child_helper();
	const char	*name = strrchr(helper, '/');
	char		*argv[] = { (char *)(name != NULL ? name + 1 : helper),
			    arg, (char *)url, secs, max, NULL };
	struct timespec	 deadline;
	pid_t		 pid;
	int		 p[2], status = 0, ret = -1, whole, exited;

	(void)snprintf(secs, sizeof(secs), "%ld", timeout);
	(void)snprintf(max, sizeof(max), "%zu", body->max - body->len);
	/* Close-on-exec: a child another thread starts now must not hold
	 * the write end, or this one would never see its end of file. */
	if (pipe2(p, O_CLOEXEC) == -1)
		return pns_err_sys(err, "pipe");
	if (pns_child_spawn(&pid, helper, argv, child_env, -1, p[1],
	    err) == -1) {
		(void)close(p[0]);
		(void)close(p[1]);
		return -1;
	}
	(void)close(p[1]);
	pns_child_deadline(&deadline, timeout + CHILD_GRACE);
	whole = read_outcome(p[0], body, &deadline, &ret, err);
	/* A child still writing gets EPIPE (or SIGPIPE) and ends. */
	(void)close(p[0]);
	exited = pns_child_wait(pid, &status, &deadline);
	if (whole)
		return ret;
	if (!exited)
		return pns_err_set(err, PNS_ENET, "GET of %s took more than "
		    "%ld s; its process was killed", url,
		    timeout + CHILD_GRACE);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return pns_err_set(err, PNS_ENET, "GET process gave a "
		    "malformed answer");
	return pns_child_status_err(err, PNS_ENET, "GET process", status);
}

int
pns_http_get(const char *url, long timeout, struct pns_buf *body,
    struct pns_err *err)
{
	if (get_in_child)
		return get_in_a_child(url, timeout, body, err);
	return get_here(url, timeout, body, err);
}

int
pns_http_child_main(int argc, char *argv[])
{
	struct pns_buf	 body;
	struct pns_err	 err;
	const char	*e1, *e2, *out;
	char		 head[CHILD_HEAD_LEN + 1];
	long long	 secs, max;
	size_t		 len;
	int		 code, rc;

	if (argc != 5 || strcmp(argv[1], PNS_HTTP_CHILD_ARG) != 0)
		return 2;
	secs = pns_strtonum(argv[3], 0, CHILD_MAX_SECS, &e1);
	max = pns_strtonum(argv[4], 0, CHILD_MAX_BYTES, &e2);
	if (e1 != NULL || e2 != NULL)
		return 2;
	pns_buf_init(&body, (size_t)max);
	pns_err_clear(&err);
	if (get_here(argv[2], (long)secs, &body, &err) == 0) {
		code = PNS_OK;
		out = body.data != NULL ? body.data : "";
		len = body.len;
	} else {
		if (err.code == PNS_OK)
			(void)pns_err_set(&err, PNS_ENET, "GET failed");
		code = (int)err.code;
		out = err.msg;
		len = strlen(err.msg);
	}
	(void)snprintf(head, sizeof(head), "%02d %020zu\n", code, len);
	rc = pns_write_all(STDOUT_FILENO, head, CHILD_HEAD_LEN) == 0 &&
	    pns_write_all(STDOUT_FILENO, out, len) == 0 ? 0 : 1;
	pns_buf_release(&body);
	return rc;
}
