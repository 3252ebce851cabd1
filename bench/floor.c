/* SPDX-License-Identifier: ISC */
/*
 * The work floor of the benchmark: the least that any receiver keeping
 * the promise must do for a notice, done as cheaply as this
 * machine allows, so that the benchmark can tell a goal out of reach
 * here from one that notices.fcgi leaves on the table.
 *
 * For each token of a request body it checks the RS256 signature with a
 * key loaded once at start (low-level SHA-256 and RSA_verify, the
 * cheapest path OpenSSL has), appends the token to a segment file of
 * the process that a thread of its own zeroed and synced ahead (so that
 * a flush writes data only, no block allocation, and no request waits
 * for the zeroing), and answers once an fdatasync that began after the
 * write has ended; the threads of a process share each fdatasync (group
 * commit).  It skips everything else a correct receiver must do:
 * parsing the body and the token's JSON, the claim checks, the key
 * lookup by kid, deduplication, the record's other fields, the delivery
 * queue and the log.  A receiver built as notices.fcgi is (libfcgi, a
 * thread per request, under this lighttpd) cannot beat it here, so a
 * goal it misses is out of that design's reach on this machine.  At one
 * connection the design does not matter: a request is the transport,
 * one check and one flush, one after the other, whatever serves it.
 *
 * Same lighttpd configuration as notices.fcgi: PNS_CONFIG names the
 * floor's directory, which holds key.pem (the notices' public key) and
 * gets notices/<pid>.<n>.log; PNS_THREADS the threads per process.
 */
#define _GNU_SOURCE
#define OPENSSL_SUPPRESS_DEPRECATED
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/uio.h>

#include <fcgiapp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

#define THREADS_MAX	64
#define BODY_MAX	(4 * 1024 * 1024)	/* lighttpd's limit here */
#define SEG_SIZE	(32 * 1024 * 1024)	/* bytes of a segment */
#define SIG_MAX		512

static RSA		*key;
static char		 seg_dir[4096];	/* where the segments go */

/*
 * The records go into segments: files of SEG_SIZE zeroed and synced in
 * advance by a thread of their own, so that a flush writes data only and
 * never waits behind the zeroing.  All of it, and the group commit,
 * under one lock.
 */
static pthread_mutex_t	 lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 synced_cond = PTHREAD_COND_INITIALIZER;
static pthread_cond_t	 seg_cond = PTHREAD_COND_INITIALIZER;
static int		 cur_fd = -1;	/* the segment being filled */
static off_t		 cur_off;	/* where its next record goes */
static int		 inflight;	/* writes into it not yet ended */
static int		 next_fd = -1;	/* the one ready after it */
static int		 prev_fd = -1;	/* the one before, until synced */
static int		 seg_no;	/* number of the next one made */
static unsigned long	 written;	/* requests whose writes have ended */
static unsigned long	 synced;	/* requests a finished sync covered */
static int		 syncing;
static int		 broken;	/* a write or a sync failed */

static const char	zeros[65536];

static void
die(const char *what)
{
	fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* A new segment, zeroed, synced, and its name too; -1 on error. */
static int
make_segment(int no)
{
	char	path[4200];
	off_t	at;
	int	fd, dfd;

	(void)snprintf(path, sizeof(path), "%s/%d.%d.log", seg_dir,
	    (int)getpid(), no);
	if ((fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) == -1)
		return -1;
	for (at = 0; at < SEG_SIZE; at += (off_t)sizeof(zeros))
		if (pwrite(fd, zeros, sizeof(zeros), at) !=
		    (ssize_t)sizeof(zeros))
			goto fail;
	if (fdatasync(fd) == -1 ||
	    (dfd = open(seg_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		goto fail;
	at = fsync(dfd);
	(void)close(dfd);
	if (at == 0)
		return fd;
fail:
	(void)close(fd);
	return -1;
}

/* Keeps the next segment ready. */
static void *
zeroer(void *arg)
{
	int	fd, no;

	(void)arg;
	(void)pthread_mutex_lock(&lock);
	for (;;) {
		while (next_fd != -1 && !broken)
			(void)pthread_cond_wait(&seg_cond, &lock);
		if (broken)
			break;
		no = seg_no++;
		(void)pthread_mutex_unlock(&lock);
		fd = make_segment(no);
		(void)pthread_mutex_lock(&lock);
		if (fd == -1)
			broken = 1;
		next_fd = fd;
		(void)pthread_cond_broadcast(&seg_cond);
	}
	(void)pthread_mutex_unlock(&lock);
	return NULL;
}

/*
 * Moves to the next segment once every write into the current one has
 * ended and the one before has been synced: a sync then covers at most
 * two segments.  Called with the lock held.
 */
static void
switch_segment(void)
{
	while ((next_fd == -1 || inflight > 0 || prev_fd != -1) && !broken)
		(void)pthread_cond_wait(&seg_cond, &lock);
	if (broken)
		return;
	prev_fd = cur_fd;
	cur_fd = next_fd;
	cur_off = 0;
	next_fd = -1;
	(void)pthread_cond_broadcast(&seg_cond);
}

/*
 * Writes the n records of a request (each a token and a newline) and
 * returns once they are durable: 0, or -1 if they may not be.
 */
static int
store(const char *const *tok, const size_t *len, int n)
{
	off_t		off;
	size_t		total = 0;
	unsigned long	mine;
	int		i, fd, rc, bad = 0, sprev, scur;

	for (i = 0; i < n; i++)
		total += len[i] + 1;
	if (total == 0)
		return 0;
	if (total > SEG_SIZE)
		return -1;
	(void)pthread_mutex_lock(&lock);
	while (cur_off + (off_t)total > SEG_SIZE && !broken)
		switch_segment();
	off = cur_off;
	cur_off += (off_t)total;
	fd = cur_fd;
	inflight++;
	bad = broken;
	(void)pthread_mutex_unlock(&lock);
	/* One pwritev per IOV_MAX / 2 records: token, newline, token... */
	for (i = 0; i < n && !bad; ) {
		struct iovec	iov[IOV_MAX];
		size_t		chunk = 0;
		int		k = 0;

		for (; i < n && k + 2 <= IOV_MAX; i++) {
			iov[k].iov_base = (void *)(uintptr_t)tok[i];
			iov[k++].iov_len = len[i];
			iov[k].iov_base = (void *)(uintptr_t)"\n";
			iov[k++].iov_len = 1;
			chunk += len[i] + 1;
		}
		if (pwritev(fd, iov, k, off) != (ssize_t)chunk)
			bad = 1;
		off += (off_t)chunk;
	}
	(void)pthread_mutex_lock(&lock);
	if (--inflight == 0)
		(void)pthread_cond_broadcast(&seg_cond);
	if (bad)
		broken = 1;
	mine = ++written;
	while (synced < mine && !broken) {
		if (!syncing) {
			unsigned long	target = written;

			syncing = 1;
			sprev = prev_fd;
			scur = cur_fd;
			(void)pthread_mutex_unlock(&lock);
			rc = (sprev != -1 ? fdatasync(sprev) : 0) == -1 ||
			    fdatasync(scur) == -1;
			(void)pthread_mutex_lock(&lock);
			syncing = 0;
			if (rc)
				broken = 1;
			else {
				synced = target;
				/* Nobody writes into it any more. */
				if (sprev != -1) {
					(void)close(sprev);
					prev_fd = -1;
					(void)pthread_cond_broadcast(&seg_cond);
				}
			}
			(void)pthread_cond_broadcast(&synced_cond);
		} else
			(void)pthread_cond_wait(&synced_cond, &lock);
	}
	bad = broken;
	(void)pthread_mutex_unlock(&lock);
	return bad ? -1 : 0;
}

static int
b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/* Decodes unpadded base64url; -1 if malformed or too long. */
static long
b64url_decode(const char *s, size_t len, unsigned char *out, size_t cap)
{
	uint32_t	acc = 0;
	size_t		i, o = 0;
	int		bits = 0, v;

	for (i = 0; i < len; i++) {
		if ((v = b64url_value((unsigned char)s[i])) < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		if ((bits += 6) >= 8) {
			bits -= 8;
			if (o == cap)
				return -1;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	return (long)o;
}

/* 1 if the compact JWS tok[0..len) carries a valid RS256 signature. */
static int
verify(const char *tok, size_t len)
{
	unsigned char	 md[SHA256_DIGEST_LENGTH], sig[SIG_MAX];
	const char	*dot = memrchr(tok, '.', len);
	long		 n;

	if (dot == NULL)
		return 0;
	n = b64url_decode(dot + 1, len - (size_t)(dot + 1 - tok), sig,
	    sizeof(sig));
	if (n != RSA_size(key))
		return 0;
	(void)SHA256((const unsigned char *)tok, (size_t)(dot - tok), md);
	return RSA_verify(NID_sha256, md, sizeof(md), sig, (unsigned int)n,
	    key) == 1;
}

static void
answer(FCGX_Request *req, int status, const char *body, size_t len)
{
	char	head[160];
	int	n;

	n = snprintf(head, sizeof(head), "Status: %d\r\n"
	    "Content-Type: application/json\r\n"
	    "Content-Length: %zu\r\n\r\n", status, len);
	(void)FCGX_PutStr(head, n, req->out);
	(void)FCGX_PutStr(body, (int)len, req->out);
}

#define TOKENS_MAX	(BODY_MAX / 64)

/* A thread's buffers, allocated once. */
struct thread {
	FCGX_Request	  req;
	char		  body[BODY_MAX];
	const char	 *good[TOKENS_MAX];	/* tokens whose check passed */
	size_t		  glen[TOKENS_MAX];
	unsigned char	  ok[TOKENS_MAX];	/* per token of the body */
	char		  out[32 * TOKENS_MAX + 64];
};

/* Bodies of up to BODY_MAX, {"notices":[{"jwt":"..."},...]}: every
 * "jwt" member's string is a token (no escapes occur in one). */
static void
handle(struct thread *th)
{
	static const char	 field[] = "\"jwt\"";
	const char		*p, *end, *q;
	size_t			 used, len = 0, tlen;
	int			 n = 0, ng = 0, i, got;

	while (len < BODY_MAX &&
	    (got = FCGX_GetStr(th->body + len, (int)(BODY_MAX - len),
	    th->req.in)) > 0)
		len += (size_t)got;
	end = th->body + len;
	for (p = th->body; n < TOKENS_MAX &&
	    (p = memmem(p, (size_t)(end - p), field, sizeof(field) - 1)) !=
	    NULL; p = q + 1) {
		/* "jwt" : "token", with any blanks JSON allows. */
		for (p += sizeof(field) - 1; p < end && strchr(" \t\r\n:",
		    *p) != NULL && *p != '\0'; p++)
			;
		if (p == end || *p++ != '"' ||
		    (q = memchr(p, '"', (size_t)(end - p))) == NULL)
			break;
		tlen = (size_t)(q - p);
		if ((th->ok[n++] = (unsigned char)verify(p, tlen))) {
			th->good[ng] = p;
			th->glen[ng++] = tlen;
		}
	}
	if (store(th->good, th->glen, ng) == -1) {
		answer(&th->req, 503, "{}\n", 3);
		return;
	}
	used = (size_t)snprintf(th->out, sizeof(th->out), "{\"notices\":[");
	for (i = 0; i < n; i++)
		used += (size_t)snprintf(th->out + used, sizeof(th->out) - used,
		    "%s{\"status\":\"%s\"}", i ? "," : "",
		    th->ok[i] ? "accepted" : "rejected");
	used += (size_t)snprintf(th->out + used, sizeof(th->out) - used,
	    "]}\n");
	answer(&th->req, 200, th->out, used);
}

static void *
serve(void *arg)
{
	struct thread	*th = malloc(sizeof(*th));

	(void)arg;
	if (th == NULL || FCGX_InitRequest(&th->req, 0, 0) != 0)
		die("thread");
	while (FCGX_Accept_r(&th->req) >= 0) {
		handle(th);
		FCGX_Finish_r(&th->req);
	}
	exit(1);
}

int
main(void)
{
	const char	*dir = getenv("PNS_CONFIG"), *t = getenv("PNS_THREADS");
	char		 path[4096], *end;
	pthread_t	 tid;
	FILE		*f;
	long		 threads = 8;
	int		 i;

	if (dir == NULL)
		die("PNS_CONFIG is not set");
	if (t != NULL) {
		threads = strtol(t, &end, 10);
		if (*t == '\0' || *end != '\0' || threads < 1 ||
		    threads > THREADS_MAX)
			threads = 8;
	}
	(void)snprintf(path, sizeof(path), "%s/key.pem", dir);
	if ((f = fopen(path, "r")) == NULL ||
	    (key = PEM_read_RSA_PUBKEY(f, NULL, NULL, NULL)) == NULL)
		die(path);
	(void)fclose(f);
	(void)snprintf(seg_dir, sizeof(seg_dir), "%s/notices", dir);
	/* The first segment is ready before any request. */
	if ((cur_fd = make_segment(seg_no++)) == -1)
		die(seg_dir);
	if (FCGX_Init() != 0)
		die("FCGX_Init");
	if (pthread_create(&tid, NULL, zeroer, NULL) != 0)
		die("pthread_create");
	for (i = 1; i < threads; i++)
		if (pthread_create(&tid, NULL, serve, NULL) != 0)
			die("pthread_create");
	serve(NULL);
	return 0;
}
