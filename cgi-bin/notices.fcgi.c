/* SPDX-License-Identifier: ISC */
/*
 * notices.fcgi: the notice handler endpoint.  A thin main around
 * pns_receiver: it runs as a FastCGI process pool under lighttpd or
 * mod_fcgid, or, started without a FastCGI socket, as a plain CGI that
 * answers one request.  Every decision is in the library; this file only
 * moves bytes between the server and the receiver.
 *
 * A FastCGI process runs PNS_THREADS threads (default 8), each with its
 * own receiver, accepting in turn on the server's socket.  Several
 * requests in flight per process is what lets one group commit
 * (pns_commit.h) cover many of them; mod_fcgid sends a process one
 * request at a time, and there the other threads only wait.
 */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "pns_child.h"
#include "pns_commit.h"
#include "pns_config.h"
#include "pns_deliver.h"
#include "pns_http.h"
#include "pns_log.h"
#include "pns_receiver.h"
#include "pns_store.h"
#include "banned.h"

/* One way in and out per request: FastCGI streams or stdio. */
struct io {
	FCGX_Request	*fcgi;		/* NULL in CGI mode */
};

#define THREADS_DEFAULT	8
/* A thread keeps a body buffer this large between requests; a batch's
 * larger one goes back to the system once answered. */
#define BODY_KEEP	(64 * 1024)
#define THREADS_MAX	64

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

/* Only interrupts a thread's accept(); stopping says what to do next. */
static void
on_wake(int sig)
{
	(void)sig;
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
	sa.sa_handler = on_wake;
	(void)sigaction(SIGUSR2, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	(void)sigaction(SIGPIPE, &sa, NULL);
}

/*
 * glibc keeps freed small blocks in a cache per thread (tcache), up to
 * seven of each size, ahead of the heap the threads share.  With eight
 * threads that is memory no other thread may reuse and that is never
 * given back: 0.45 MiB of a 3.9 MiB process after single notices, 1.9
 * of 5.2 MiB after batches (docs/performance.md).  glibc takes the
 * setting only from its environment at start, so a FastCGI process,
 * which lives long, starts itself once more with it set.  A value of
 * GLIBC_TUNABLES that names it already is kept; the mark stops a second
 * restart where glibc drops the variable (a set-user-ID start).
 */
#define TCACHE_TUNABLE	"glibc.malloc.tcache_count"
#define TCACHE_SETTING	TCACHE_TUNABLE "=0"
#define RESTART_MARK	"PNS_MALLOC_TUNED"

static void
tune_malloc(char *argv[])
{
	const char	*cur = getenv("GLIBC_TUNABLES");
	char		 val[512];
	int		 n;

	if (getenv(RESTART_MARK) != NULL) {
		(void)unsetenv(RESTART_MARK);
		return;
	}
	if (cur != NULL && strstr(cur, TCACHE_TUNABLE) != NULL)
		return;
	n = snprintf(val, sizeof(val), "%s%s" TCACHE_SETTING,
	    cur != NULL ? cur : "", cur != NULL && *cur != '\0' ? ":" : "");
	if (n < 0 || (size_t)n >= sizeof(val))
		return;
	/* Children are given environments of their own: if the exec
	 * fails, what it leaves set here reaches nobody. */
	if (setenv("GLIBC_TUNABLES", val, 1) == 0 &&
	    setenv(RESTART_MARK, "1", 1) == 0)
		(void)execv("/proc/self/exe", argv);
	pns_log(PNS_LOG_WARN, "cannot restart with GLIBC_TUNABLES=%s: %s; "
	    "running with glibc's default", val, strerror(errno));
}

/*
 * Process-wide state, shared by the threads: the configuration, once it
 * could be loaded, and the group commit of the store.
 */
struct app {
	pthread_mutex_t		lock;		/* guards loading */
	int			ready;
	struct pns_config	cfg;
	struct pns_commit	commit;
	/* The delivery worker's whole environment. */
	char			config_env[PATH_MAX + 16];
};

/* One thread: its request, its receiver and its buffers. */
struct worker {
	struct app		*app;
	pthread_t		 tid;
	FCGX_Request		 req;
	struct io		 io;
	int			 in_accept;	/* under wake_lock */
	int			 ready;		/* rcv and body set up */
	struct pns_receiver	 rcv;
	struct pns_buf		 body;
	struct pns_http_resp	 resp;
};

/* Guards in_accept: only a thread inside accept is woken at shutdown. */
static pthread_mutex_t	wake_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * Loads the configuration named by PNS_CONFIG, looking at the request's
 * parameters too (mod_fcgid passes a SetEnv from .htaccess that way, not
 * in the environment), and beside the program where nothing can be set
 * (pns_config_find).  Until it loads, requests get 503.
 */
static int
app_load(struct app *app, const struct io *io)
{
	const char	*path;
	char		 buf[PATH_MAX];
	struct pns_err	 err;

	if ((path = getenv("PNS_CONFIG")) == NULL || *path == '\0')
		path = io_param(io, "PNS_CONFIG");
	path = pns_config_find(path, buf, sizeof(buf));
	pns_err_clear(&err);
	pns_config_defaults(&app->cfg);
	if (pns_config_load(&app->cfg, path, &err) == -1 ||
	    pns_store_check(&app->cfg, &err) == -1 ||
	    pns_commit_init(&app->commit, &app->cfg, &err) == -1) {
		pns_log(PNS_LOG_ERROR, "configuration: %s", err.msg);
		return 0;
	}
	(void)snprintf(app->config_env, sizeof(app->config_env),
	    "PNS_CONFIG=%s", path);
	pns_log_set_level((enum pns_log_level)app->cfg.log_level);
	return 1;
}

static int
worker_ready(struct worker *w)
{
	struct app	*app = w->app;
	int		 ready;

	if (w->ready)
		return 1;
	(void)pthread_mutex_lock(&app->lock);
	if (!app->ready)
		app->ready = app_load(app, &w->io);
	ready = app->ready;
	(void)pthread_mutex_unlock(&app->lock);
	if (!ready)
		return 0;
	pns_receiver_init(&w->rcv, &app->cfg, &app->commit);
	pns_buf_init(&w->body, (size_t)app->cfg.max_body_bytes);
	w->ready = 1;
	return 1;
}

/*
 * Starts a delivery worker when this request queued a notice or a retry
 * has come due, and a worker slot is free.  The worker is the helper
 * program (PNS_DISPATCH_ARG, pns_child_helper), executed by a grandchild
 * in a session of its own, so the answer to the platform never waits
 * for it and no zombie is left; the child of a threaded process may only
 * exec.  It lingers a while for retries coming due, and "pnsctl
 * dispatch" (cron) covers anything later.  As a plain CGI its stderr is
 * closed too: the web server waits for that.
 */
static void
kick_delivery(struct worker *w, unsigned long queued_before, int cgi)
{
	struct app	*app = w->app;
	static char	 arg[] = PNS_DISPATCH_ARG;
	char		*argv[] = { NULL, arg, NULL };
	char		*envp[] = { app->config_env, NULL };
	const char	*helper, *name;
	pid_t		 pid;
	int		 fd;

	if (!w->ready || !pns_deliver_configured(&app->cfg) ||
	    (w->rcv.queued == queued_before &&
	    !pns_deliver_due(&app->cfg, time(NULL))) ||
	    !pns_deliver_slot_free(&app->cfg))
		return;
	/* Before the fork: its child may only use the string. */
	helper = pns_child_helper();
	/* Named as the fetch child names it: whatever helper this is. */
	name = strrchr(helper, '/');
	argv[0] = (char *)(name != NULL ? name + 1 : helper);
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
	(void)execve(helper, argv, envp);
	_exit(127);
}

static void
handle(struct worker *w)
{
	struct pns_http_resp	*resp = &w->resp;
	struct pns_http_req	 req;
	size_t			 len;
	struct pns_err		 err;

	pns_http_resp_reset(resp);
	if (!worker_ready(w)) {
		resp->status = 503;
		(void)pns_buf_adds(&resp->body,
		    "{\"error\":\"not_configured\"}\n", NULL);
		return;
	}
	req.method = io_param(&w->io, "REQUEST_METHOD");
	req.content_type = io_param(&w->io, "CONTENT_TYPE");
	req.content_length = io_param(&w->io, "CONTENT_LENGTH");
	req.remote_addr = io_param(&w->io, "REMOTE_ADDR");
	if (pns_receiver_precheck(&w->rcv, &req, &len, resp))
		return;
	pns_buf_reset(&w->body);
	pns_err_clear(&err);
	/* Grow once to the announced length, then read straight in. */
	if (pns_buf_reserve(&w->body, len, &err) == -1) {
		pns_log(PNS_LOG_ERROR, "request body: %s", err.msg);
		resp->status = 503;
		(void)pns_buf_adds(&resp->body,
		    "{\"error\":\"out_of_memory\"}\n", NULL);
		return;
	}
	w->body.len = io_read(&w->io, w->body.data, len);
	w->body.data[w->body.len] = '\0';
	if (w->body.len != len) {
		resp->status = 400;
		(void)pns_buf_adds(&resp->body, "{\"error\":\"short_body\"}\n",
		    NULL);
		return;
	}
	pns_receiver_handle(&w->rcv, &req, w->body.data, len, time(NULL),
	    resp);
}

static void
worker_release(struct worker *w)
{
	pns_http_resp_release(&w->resp);
	if (w->ready) {
		pns_receiver_release(&w->rcv);
		pns_buf_release(&w->body);
	}
}

static void
set_in_accept(struct worker *w, int in)
{
	(void)pthread_mutex_lock(&wake_lock);
	w->in_accept = in;
	(void)pthread_mutex_unlock(&wake_lock);
}

/*
 * One FastCGI thread: accept, answer, repeat.  Every idle thread waits
 * in accept(2) itself: Linux hands each connection to one of them, and
 * libfcgi takes no lock of its own there (USE_LOCKING is off), so a
 * mutex around it would only add a hand-off between threads per request.
 */
static void *
serve(void *arg)
{
	struct worker	*w = arg;
	unsigned long	 queued;
	int		 rc;

	for (;;) {
		set_in_accept(w, 1);
		rc = stopping ? -1 : FCGX_Accept_r(&w->req);
		set_in_accept(w, 0);
		if (rc < 0)
			break;
		queued = w->ready ? w->rcv.queued : 0;
		/* The request's log lines go out together, before the answer
		 * (whoever reads the answer may look for them). */
		pns_log_hold();
		handle(w);
		pns_log_flush();
		respond(&w->io, &w->resp);
		FCGX_Finish_r(&w->req);
		if (w->ready && w->body.cap > BODY_KEEP) {
			pns_buf_release(&w->body);
			pns_buf_init(&w->body, (size_t)w->app->cfg.max_body_bytes);
			/*
			 * A large body's parsed tree left the heap holed by
			 * thousands of small frees, which glibc keeps: give
			 * the free pages back.  Its cost is small beside the
			 * signatures such a body carried.
			 */
			(void)malloc_trim(0);
		}
		kick_delivery(w, queued, 0);
	}
	/* A listener that fails for good ends the process, not one thread. */
	if (!stopping)
		(void)kill(getpid(), SIGTERM);
	return NULL;
}

static int
thread_count(void)
{
	const char	*s = getenv("PNS_THREADS"), *errstr;
	long long	 n;

	if (s == NULL || *s == '\0')
		return THREADS_DEFAULT;
	n = pns_strtonum(s, 1, THREADS_MAX, &errstr);
	if (errstr != NULL) {
		pns_log(PNS_LOG_ERROR, "PNS_THREADS is %s (1 to %d); using %d",
		    errstr, THREADS_MAX, THREADS_DEFAULT);
		return THREADS_DEFAULT;
	}
	return (int)n;
}

/*
 * The FastCGI pool: the threads accept while this one waits for a
 * signal; then no thread accepts again, and each ends once its request
 * is answered.  The thread inside accept() is woken with SIGUSR2, again
 * until it has ended, since the signal may arrive just before it blocks.
 * Only that thread: a signal would cut short the reads and writes of one
 * answering a request (EINTR), and that answer must still go out.
 */
static int
serve_fcgi(struct app *app)
{
	static struct worker	 workers[THREADS_MAX];
	struct timespec		 ts;
	sigset_t		 stop, wake;
	int			 i, n = thread_count(), started = 0, sig, alive;

	(void)sigemptyset(&stop);
	(void)sigaddset(&stop, SIGTERM);
	(void)sigaddset(&stop, SIGINT);
	(void)sigaddset(&stop, SIGUSR1);
	(void)sigaddset(&stop, SIGHUP);
	(void)sigemptyset(&wake);
	(void)sigaddset(&wake, SIGUSR2);
	/*
	 * glibc gives threads malloc arenas of their own, up to eight per
	 * core, each keeping its freed pages: that is resident memory for
	 * threads that mostly wait on the disk.  Two arenas are plenty.
	 */
	(void)mallopt(M_ARENA_MAX, 2);
	/*
	 * A fixed threshold: blocks above it (batch bodies, their parsed
	 * trees' largest arrays) are mapped and unmapped, not kept in the
	 * heap; glibc would otherwise raise it after the first large free.
	 */
	(void)mallopt(M_MMAP_THRESHOLD, BODY_KEEP);
	/*
	 * Free memory at the top of a heap goes back from 32 KiB on (glibc
	 * keeps 128), and a heap grows by what is asked, no spare: about
	 * 60 KiB less resident, at no CPU cost that alternating benchmark
	 * runs could tell from the noise.
	 */
	(void)mallopt(M_TRIM_THRESHOLD, 32 * 1024);
	(void)mallopt(M_TOP_PAD, 0);
	/* Threads inherit the mask: stop signals come here only. */
	(void)pthread_sigmask(SIG_BLOCK, &stop, NULL);
	for (i = 0; i < n; i++) {
		workers[i].app = app;
		pns_http_resp_init(&workers[i].resp);
		if (FCGX_InitRequest(&workers[i].req, 0, 0) != 0) {
			pns_log(PNS_LOG_ERROR, "FCGX_InitRequest failed");
			break;
		}
		workers[i].io.fcgi = &workers[i].req;
		if (pthread_create(&workers[i].tid, NULL, serve,
		    &workers[i]) != 0) {
			pns_log(PNS_LOG_ERROR, "cannot start thread %d", i);
			FCGX_Free(&workers[i].req, 0);
			break;
		}
		started++;
	}
	if (started > 0) {
		(void)sigwait(&stop, &sig);
		stopping = 1;
		FCGX_ShutdownPending();
	}
	(void)pthread_sigmask(SIG_BLOCK, &wake, NULL);
	do {
		alive = 0;
		for (i = 0; i < started; i++) {
			if (workers[i].app == NULL)
				continue;
			(void)pthread_mutex_lock(&wake_lock);
			if (workers[i].in_accept)
				(void)pthread_kill(workers[i].tid, SIGUSR2);
			(void)pthread_mutex_unlock(&wake_lock);
			(void)clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 20 * 1000 * 1000;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			if (pthread_timedjoin_np(workers[i].tid, NULL,
			    &ts) == 0) {
				FCGX_Free(&workers[i].req, 1);
				workers[i].app = NULL;
			} else
				alive = 1;
		}
	} while (alive);
	for (i = 0; i < n; i++)
		worker_release(&workers[i]);
	pns_log(PNS_LOG_INFO, "stopping");
	return started > 0 ? 0 : 1;
}

int
main(int argc, char *argv[])
{
	static struct app	app;
	static struct worker	cgi;
	int			rc = 0;

	pns_log_init("notices.fcgi", PNS_LOG_INFO);
	if (FCGX_Init() != 0) {
		pns_log(PNS_LOG_ERROR, "startup: FCGX_Init failed");
		return 1;
	}
	if (argc > 0 && !FCGX_IsCGI())
		tune_malloc(argv);
	pns_crypto_init();
	setup_process();
	/*
	 * Key sets are fetched by a child, the helper program, which loads
	 * libcurl and takes it away when it exits: this program is linked
	 * statically and cannot load it, and even linked dynamically,
	 * libcurl and its thirty libraries would stay resident for the life
	 * of the process after one fetch.  Set before any thread starts.
	 */
	pns_child_use_helper(PNS_HELPER_NAME);
	pns_http_get_in_child();
	/* Said at start, not only at the first fetch or delivery. */
	if (access(pns_child_helper(), X_OK) == -1)
		pns_log(PNS_LOG_WARN, "cannot run %s: %s; key set fetches and "
		    "delivery need lti.cgi beside notices.fcgi",
		    pns_child_helper(), strerror(errno));
	(void)pthread_mutex_init(&app.lock, NULL);

	if (FCGX_IsCGI()) {
		cgi.app = &app;
		pns_http_resp_init(&cgi.resp);
		handle(&cgi);
		respond(&cgi.io, &cgi.resp);
		(void)fclose(stdout);
		kick_delivery(&cgi, 0, 1);
		worker_release(&cgi);
	} else
		rc = serve_fcgi(&app);
	if (app.ready)
		pns_commit_release(&app.commit);
	return rc;
}
