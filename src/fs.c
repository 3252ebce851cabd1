/* SPDX-License-Identifier: ISC */
/*
 * Atomic, durable flat-file writes and locks; the rules are in pns_fs.h.
 * Modelled on git's lockfile/tempfile and cgit's cache (write aside,
 * fsync, rename).
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pns_fs.h"
#include "banned.h"

int
pns_path_join(char *out, size_t size, const char *a, const char *b,
    struct pns_err *err)
{
	int	n = snprintf(out, size, "%s/%s", a, b);

	if (n < 0 || (size_t)n >= size)
		return pns_err_set(err, PNS_ELIMIT, "path too long");
	return 0;
}

int
pns_read_file(const char *path, struct pns_buf *b, struct pns_err *err)
{
	char	chunk[8192];
	ssize_t	n;
	int	fd, rc = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return pns_err_set(err, PNS_ENOENT, "%s: not found",
			    path);
		return pns_err_sys(err, "open %s", path);
	}
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			pns_err_sys(err, "read %s", path);
			goto out;
		}
		if (n == 0)
			break;
		if (pns_buf_add(b, chunk, (size_t)n, err) == -1)
			goto out;
	}
	rc = 0;
out:
	(void)close(fd);
	return rc;
}

int
pns_write_all(int fd, const void *data, size_t len)
{
	const char	*p = data;
	ssize_t		 n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Writes data to a new temporary file in dir and, unless nosync, fsyncs
 * it; its path is left in tmp.  The name is random so that processes
 * never collide.
 */
static int
write_temp(const char *dir, const void *data, size_t len, int nosync,
    char *tmp, size_t tmpsz, struct pns_err *err)
{
	unsigned char	rnd[8];
	char		name[32];
	int		fd, i;

	for (i = 0; i < 8; i++) {
		if (pns_random(rnd, sizeof(rnd), err) == -1)
			return -1;
		(void)snprintf(name, sizeof(name),
		    ".tmp-%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1],
		    rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
		if (pns_path_join(tmp, tmpsz, dir, name, err) == -1)
			return -1;
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd != -1)
			break;
		if (errno != EEXIST)
			return pns_err_sys(err, "create %s", tmp);
	}
	if (fd == -1)
		return pns_err_set(err, PNS_ESYS, "no free temporary name");
	if (pns_write_all(fd, data, len) == -1 || (!nosync && fsync(fd) == -1)) {
		pns_err_sys(err, "write %s", tmp);
		(void)close(fd);
		(void)unlink(tmp);
		return -1;
	}
	if (close(fd) == -1) {
		pns_err_sys(err, "close %s", tmp);
		(void)unlink(tmp);
		return -1;
	}
	return 0;
}

int
pns_fsync_dir(const char *dir, struct pns_err *err)
{
	int	fd, rc = 0;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return pns_err_sys(err, "open %s", dir);
	if (fsync(fd) == -1)
		rc = pns_err_sys(err, "fsync %s", dir);
	(void)close(fd);
	return rc;
}

int
pns_write_atomic(const char *dir, const char *name, const void *data,
    size_t len, struct pns_err *err)
{
	char	tmp[PNS_FS_PATH_MAX], dst[PNS_FS_PATH_MAX];

	if (pns_path_join(dst, sizeof(dst), dir, name, err) == -1 ||
	    write_temp(dir, data, len, 0, tmp, sizeof(tmp), err) == -1)
		return -1;
	if (rename(tmp, dst) == -1) {
		pns_err_sys(err, "rename to %s", dst);
		(void)unlink(tmp);
		return -1;
	}
	return pns_fsync_dir(dir, err);
}

/*
 * Moves tmp to dst unless dst exists: 0 when moved, 1 when dst existed
 * (tmp is then removed), -1 on error.  renameat2(RENAME_NOREPLACE) does
 * it in one step; a file system without it (NFS, older kernels) says
 * EINVAL and gets link(2), which also refuses to replace dst, then
 * unlink(2) of the temporary name.
 */
static int
move_noreplace(const char *tmp, const char *dst, struct pns_err *err)
{
	int	existed = 0;

	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dst, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno == EEXIST)
		existed = 1;
	else if (errno != EINVAL && errno != ENOSYS) {
		pns_err_sys(err, "rename to %s", dst);
		(void)unlink(tmp);
		return -1;
	} else if (link(tmp, dst) == -1) {
		if (errno != EEXIST) {
			pns_err_sys(err, "link %s", dst);
			(void)unlink(tmp);
			return -1;
		}
		existed = 1;
	}
	(void)unlink(tmp);
	return existed;
}

/* link_unnamed's answer when it cannot be used here. */
#define UNNAMED_UNAVAILABLE	2

/*
 * pns_create_exclusive's quick way: the content goes into an unnamed
 * file (O_TMPFILE) in dir, which linkat(2) then names dst; linkat, like
 * link, refuses to replace.  One directory entry is added and none
 * removed, where a temporary name costs an entry made, moved and
 * removed, and a crash leaves nothing behind (an unnamed file is freed
 * with its last descriptor, or by the file system's recovery).  linkat
 * reaches the file through /proc/self/fd: AT_EMPTY_PATH would ask for
 * CAP_DAC_READ_SEARCH.  0 created, 1 existed, -1 error (writing);
 * UNNAMED_UNAVAILABLE when the unnamed file cannot be made or linked
 * (a file system without O_TMPFILE, no /proc in a chroot): the caller
 * then takes the temporary name, which meets any real error again and
 * reports it.
 */
static int
link_unnamed(const char *dir, const char *dst, const void *data, size_t len,
    int nosync, struct pns_err *err)
{
	char	proc[32];
	int	fd, rc;

	/* File systems say "not here" in several ways (EOPNOTSUPP, EISDIR
	 * on kernels without O_TMPFILE, EINVAL): any failure is left to the
	 * temporary name, which meets a real one (no such directory, no
	 * space) again and reports it as before. */
	if ((fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600)) == -1)
		return UNNAMED_UNAVAILABLE;
	if (pns_write_all(fd, data, len) == -1 || (!nosync && fsync(fd) == -1)) {
		pns_err_sys(err, "write in %s", dir);
		(void)close(fd);
		return -1;
	}
	(void)snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (linkat(AT_FDCWD, proc, AT_FDCWD, dst, AT_SYMLINK_FOLLOW) == 0)
		rc = 0;
	else
		rc = errno == EEXIST ? 1 : UNNAMED_UNAVAILABLE;
	(void)close(fd);
	return rc;
}

int
pns_create_exclusive(const char *dir, const char *name, const void *data,
    size_t len, int nosync, struct pns_err *err)
{
	char	tmp[PNS_FS_PATH_MAX], dst[PNS_FS_PATH_MAX];
	int	existed;

	/*
	 * No lookup of dst first: for a new name (nearly every call) it is
	 * a second search of the directory, and the link or move that
	 * follows decides races anyway.
	 */
	if (pns_path_join(dst, sizeof(dst), dir, name, err) == -1 ||
	    (existed = link_unnamed(dir, dst, data, len, nosync, err)) == -1)
		return -1;
	if (existed == UNNAMED_UNAVAILABLE &&
	    (write_temp(dir, data, len, nosync, tmp, sizeof(tmp), err) == -1 ||
	    (existed = move_noreplace(tmp, dst, err)) == -1))
		return -1;
	if (!nosync && pns_fsync_dir(dir, err) == -1)
		return -1;
	return existed;
}

int
pns_mkdir(const char *dir, struct pns_err *err)
{
	struct stat	st;

	if (mkdir(dir, 0700) == 0)
		return 0;
	if (errno != EEXIST)
		return pns_err_sys(err, "mkdir %s", dir);
	if (stat(dir, &st) == -1)
		return pns_err_sys(err, "stat %s", dir);
	if (!S_ISDIR(st.st_mode))
		return pns_err_set(err, PNS_EEXIST, "%s is not a directory",
		    dir);
	return 0;
}

/* How often a lock that is busy is looked at again, in milliseconds. */
#define LOCK_NAP_MS	20

/*
 * flock on path (created 0600), waiting without limit when ms < 0, else
 * at most ms milliseconds: 0 held, 1 busy, -1 error.  flock has no
 * timeout of its own, and an alarm would be a signal handler in a
 * library, so a bounded wait asks again every LOCK_NAP_MS.
 */
static int
lock_file(const char *path, long ms, int *fd, struct pns_err *err)
{
	struct timespec	start, now, nap = { 0, LOCK_NAP_MS * 1000000L };
	int		op = ms < 0 ? LOCK_EX : LOCK_EX | LOCK_NB, rc = 1;

	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (*fd == -1)
		return pns_err_sys(err, "open %s", path);
	(void)clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		if (flock(*fd, op) == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK) {
			rc = pns_err_sys(err, "flock %s", path);
			break;
		}
		(void)clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - start.tv_sec) * 1000 +
		    (now.tv_nsec - start.tv_nsec) / 1000000 >= ms)
			break;
		(void)nanosleep(&nap, NULL);
	}
	(void)close(*fd);
	*fd = -1;
	return rc;
}

int
pns_lock(const char *path, int *fd, struct pns_err *err)
{
	return lock_file(path, -1, fd, err);
}

int
pns_trylock(const char *path, int *fd, struct pns_err *err)
{
	return lock_file(path, 0, fd, err);
}

int
pns_lock_wait(const char *path, long ms, int *fd, struct pns_err *err)
{
	return lock_file(path, ms < 0 ? 0 : ms, fd, err);
}

void
pns_unlock(int fd)
{
	if (fd != -1)
		(void)close(fd);	/* closing releases the flock */
}

void
pns_touch(const char *path)
{
	int	fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) != -1) {
		(void)futimens(fd, NULL);
		(void)close(fd);
	}
}

time_t
pns_mtime(const char *path)
{
	struct stat	st;

	return stat(path, &st) == 0 ? st.st_mtime : 0;
}
