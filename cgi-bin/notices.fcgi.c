/* SPDX-License-Identifier: ISC */
/*
 * notices.fcgi: the notice handler endpoint.  A thin main around
 * pns_receiver: it runs as a FastCGI process pool under lighttpd or
 * mod_fcgid, or, started without a FastCGI socket, as a plain CGI that
 * answers one request.  Every decision is in the library; this file only
 * moves bytes between the server and the receiver.
 */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "pns_config.h"
#include "pns_deliver.h"
#include "pns_log.h"
#include "pns_receiver.h"
#include "pns_store.h"
#include "banned.h"

/* One way in and out per request: FastCGI streams or stdio. */
struct io {
	FCGX_Request	*fcgi;		/* NULL in CGI mode */
};

/* How long a delivery worker waits for retries coming due. */
#define DELIVERY_LINGER	120

static volatile sig_atomic_t	 stopping;

static const char *
io_param(const struct io *io, const char *name)
{
	if (io->fcgi != NULL)
		return FCGX_GetParam(name, io->fcgi->envp);
	return getenv(name);
}

/* Reads exactly len bytes; returns the number read (short at EOF). */
static size_t
io_read(const struct io *io, char *buf, size_t len)
{
	size_t	got = 0, n;
	int	r;

	while (got < len) {
		if (io->fcgi != NULL) {
			n = len - got > 65536 ? 65536 : len - got;
			if ((r = FCGX_GetStr(buf + got, (int)n, io->fcgi->in)) <= 0)
				break;
			got += (size_t)r;
		} else {
			n = fread(buf + got, 1, len - got, stdin);
			if (n == 0)
				break;
			got += n;
		}
	}
	return got;
}

static void
io_write(const struct io *io, const char *buf, size_t len)
{
	if (io->fcgi != NULL)
		(void)FCGX_PutStr(buf, (int)len, io->fcgi->out);
	else
		(void)fwrite(buf, 1, len, stdout);
}

static void
respond(const struct io *io, const struct pns_http_resp *resp)
{
	char	head[256];
	int	n;

	n = snprintf(head, sizeof(head), "Status: %d %s\r\n"
	    "Content-Type: application/json\r\n"
	    "Cache-Control: no-store\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "%s%s%s"
	    "Content-Length: %zu\r\n\r\n",
	    resp->status, pns_http_reason(resp->status),
	    resp->allow ? "Allow: " : "", resp->allow ? resp->allow : "",
	    resp->allow ? "\r\n" : "", resp->body.len);
	if (n > 0 && (size_t)n < sizeof(head))
		io_write(io, head, (size_t)n);
	io_write(io, resp->body.data != NULL ? resp->body.data : "",
	    resp->body.len);
	if (io->fcgi == NULL)
		(void)fflush(stdout);
}

static void
on_signal(int sig)
{
	(void)sig;
	stopping = 1;
	FCGX_ShutdownPending();
}

static void
setup_process(void)
{
	struct sigaction	sa;
	int			fd;

	/* A stderr that is not open would make the first log line land in
	 * whatever file gets descriptor 2 next. */
	if (fcntl(STDERR_FILENO, F_GETFD) == -1 &&
	    (fd = open("/dev/null", O_WRONLY)) != -1 && fd != STDERR_FILENO) {
		(void)dup2(fd, STDERR_FILENO);
		(void)close(fd);
	}
	(void)umask(077);
	(void)prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	(void)sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;	/* no SA_RESTART: accept() must return */
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGUSR1, &sa, NULL);
	(void)sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	(void)sigaction(SIGPIPE, &sa, NULL);
}

/* Process-wide state: the configuration, once it could be loaded. */
struct app {
	struct pns_config	cfg;
	int			ready;
	struct pns_receiver	rcv;
	struct pns_buf		body;
};

/*
 * Loads the configuration named by PNS_CONFIG, looking at the request's
 * parameters too (mod_fcgid passes a SetEnv from .htaccess that way, not
 * in the environment), and beside the program where nothing can be set
 * (pns_config_find).  Until it loads, requests get 503.
 */
static int
app_ready(struct app *app, const struct io *io)
{
	const char	*path;
	char		 buf[PATH_MAX];
	struct pns_err	 err;

	if (app->ready)
		return 1;
	if ((path = getenv("PNS_CONFIG")) == NULL || *path == '\0')
		path = io_param(io, "PNS_CONFIG");
	path = pns_config_find(path, buf, sizeof(buf));
	pns_err_clear(&err);
	pns_config_defaults(&app->cfg);
	if (pns_config_load(&app->cfg, path, &err) == -1 ||
	    pns_store_check(&app->cfg, &err) == -1) {
		pns_log(PNS_LOG_ERROR, "configuration: %s", err.msg);
		return 0;
	}
	pns_log_set_level((enum pns_log_level)app->cfg.log_level);
	pns_receiver_init(&app->rcv, &app->cfg);
	pns_buf_init(&app->body, (size_t)app->cfg.max_body_bytes);
	app->ready = 1;
	return 1;
}

/*
 * Starts a delivery worker when this request queued a notice or a retry
 * has come due, and a worker slot is free.  The worker is a grandchild
 * in a session of its own, so the answer to the platform never waits
 * for it and no zombie is left; it lingers a while for retries coming
 * due, and "pnsctl dispatch" (cron) covers anything later.  As a plain
 * CGI its stderr is closed too: the web server waits for that.
 */
static void
kick_delivery(struct app *app, unsigned long queued_before, int cgi)
{
	struct pns_dispatch_stats	st;
	struct pns_err			err;
	pid_t				pid;
	int				fd;

	if (!app->ready || !pns_deliver_configured(&app->cfg) ||
	    (app->rcv.queued == queued_before &&
	    !pns_deliver_due(&app->cfg, time(NULL))) ||
	    !pns_deliver_slot_free(&app->cfg))
		return;
	if ((pid = fork()) == -1) {
		pns_log(PNS_LOG_ERROR, "cannot start a delivery worker: %s",
		    strerror(errno));
		return;
	}
	if (pid > 0) {
		(void)waitpid(pid, NULL, 0);
		return;
	}
	if (fork() != 0)
		_exit(0);
	(void)setsid();
	/* Nothing of the server's: not its listener, not its connection. */
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		(void)dup2(fd, STDIN_FILENO);
		(void)dup2(fd, STDOUT_FILENO);
		if (cgi)
			(void)dup2(fd, STDERR_FILENO);
	}
	(void)close_range(STDERR_FILENO + 1, ~0U, 0);
	pns_err_clear(&err);
	if (pns_dispatch(&app->cfg, DELIVERY_LINGER, &st, &err) == -1)
		pns_log(PNS_LOG_ERROR, "delivery: %s", err.msg);
	_exit(0);
}

static void
handle(struct app *app, const struct io *io, struct pns_http_resp *resp)
{
	struct pns_http_req	req;
	size_t			len;
	struct pns_err		err;

	pns_http_resp_reset(resp);
	if (!app_ready(app, io)) {
		resp->status = 503;
		(void)pns_buf_adds(&resp->body,
		    "{\"error\":\"not_configured\"}\n", NULL);
		return;
	}
	req.method = io_param(io, "REQUEST_METHOD");
	req.content_type = io_param(io, "CONTENT_TYPE");
	req.content_length = io_param(io, "CONTENT_LENGTH");
	req.remote_addr = io_param(io, "REMOTE_ADDR");
	if (pns_receiver_precheck(&app->rcv, &req, &len, resp))
		return;
	pns_buf_reset(&app->body);
	pns_err_clear(&err);
	/* Grow once to the announced length, then read straight in. */
	if (pns_buf_reserve(&app->body, len, &err) == -1) {
		pns_log(PNS_LOG_ERROR, "request body: %s", err.msg);
		resp->status = 503;
		(void)pns_buf_adds(&resp->body,
		    "{\"error\":\"out_of_memory\"}\n", NULL);
		return;
	}
	app->body.len = io_read(io, app->body.data, len);
	app->body.data[app->body.len] = '\0';
	if (app->body.len != len) {
		resp->status = 400;
		(void)pns_buf_adds(&resp->body, "{\"error\":\"short_body\"}\n",
		    NULL);
		return;
	}
	pns_receiver_handle(&app->rcv, &req, app->body.data, len, time(NULL),
	    resp);
}

int
main(void)
{
	static struct app	app;
	struct pns_http_resp	resp;
	FCGX_Request		req;
	struct io		io = { NULL };
	unsigned long		queued;

	pns_log_init("notices.fcgi", PNS_LOG_INFO);
	setup_process();
	/* libcurl is loaded by the first key set fetch, not here. */
	if (FCGX_Init() != 0) {
		pns_log(PNS_LOG_ERROR, "startup: FCGX_Init failed");
		return 1;
	}
	pns_http_resp_init(&resp);

	if (FCGX_IsCGI()) {
		handle(&app, &io, &resp);
		respond(&io, &resp);
		(void)fclose(stdout);
		kick_delivery(&app, 0, 1);
	} else {
		if (FCGX_InitRequest(&req, 0, 0) != 0) {
			pns_log(PNS_LOG_ERROR, "FCGX_InitRequest failed");
			return 1;
		}
		io.fcgi = &req;
		while (!stopping && FCGX_Accept_r(&req) >= 0) {
			queued = app.rcv.queued;
			handle(&app, &io, &resp);
			respond(&io, &resp);
			FCGX_Finish_r(&req);
			kick_delivery(&app, queued, 0);
		}
		FCGX_Free(&req, 1);
		pns_log(PNS_LOG_INFO, "stopping");
	}

	pns_http_resp_release(&resp);
	if (app.ready) {
		pns_receiver_release(&app.rcv);
		pns_buf_release(&app.body);
	}
	return 0;
}
