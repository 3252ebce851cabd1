/* SPDX-License-Identifier: ISC */
/*
 * Flat-file primitives for the data directory.  Files are never
 * rewritten in place: a new version is written to a temporary file in
 * the same directory (O_EXCL, 0600), fsynced, and renamed or linked into
 * place, and the directory is fsynced, so a reader sees the old or the
 * new content and a crash leaves one of them.  Temporary files start
 * with '.', and listings skip such names.  Writers that read, modify and
 * write a file serialise on a lock file with flock.
 */
#ifndef PNS_FS_H
#define PNS_FS_H

#include <stddef.h>

#include <time.h>

#include "pns_err.h"
#include "pns_util.h"

/*
 * Reads the whole file at path into b (appending; b's max bounds it).
 * A missing file fails with code PNS_ENOENT.
 */
int	pns_read_file(const char *path, struct pns_buf *b, struct pns_err *err);

/* Writes all of data to fd, going on after EINTR; -1 (errno) if not. */
int	pns_write_all(int fd, const void *data, size_t len);

/* Replaces dir/name with data atomically and durably. */
int	pns_write_atomic(const char *dir, const char *name, const void *data,
	    size_t len, struct pns_err *err);

/*
 * Creates dir/name with data unless it exists, atomically: the content
 * is complete before the name appears (an unnamed file then linked to
 * its name; where that cannot be done, a temporary file moved by a
 * rename that refuses to replace, or linked), so the name never shows a
 * partial file.  Returns 0 when created, 1 when dir/name existed
 * already, -1 on error.  The content is fsynced before the link or move
 * and the directory after it, also when the name existed (it may have
 * been made an instant ago by another process that has not yet made it
 * durable), unless nosync is set: then nothing is synced and the caller
 * makes it durable (pns_commit_wait).
 */
int	pns_create_exclusive(const char *dir, const char *name,
	    const void *data, size_t len, int nosync, struct pns_err *err);

/* fsyncs a directory, making the names in it durable. */
int	pns_fsync_dir(const char *dir, struct pns_err *err);

/* Creates dir with mode 0700 unless it exists as a directory. */
int	pns_mkdir(const char *dir, struct pns_err *err);

/* Takes an exclusive flock on path (created 0600); *fd gets the lock. */
int	pns_lock(const char *path, int *fd, struct pns_err *err);
/*
 * As pns_lock, without waiting: 0 when taken, 1 (and *fd -1) when
 * another holds it, -1 on error.  For a caller with a deadline, which
 * must not queue behind a holder that may keep the lock as long.
 */
int	pns_trylock(const char *path, int *fd, struct pns_err *err);
/* As pns_trylock, waiting up to ms milliseconds for the holder. */
int	pns_lock_wait(const char *path, long ms, int *fd,
	    struct pns_err *err);
void	pns_unlock(int fd);

/*
 * Stamps: files whose only content is their mtime (last fetch attempt,
 * last notice).  pns_touch sets path's mtime to now, creating it 0600;
 * informational, so not fsynced.  pns_mtime is 0 when path is missing.
 */
void	pns_touch(const char *path);
time_t	pns_mtime(const char *path);

/* Joins a and b with '/' into out; fails when it does not fit. */
#define PNS_FS_PATH_MAX 2048

int	pns_path_join(char *out, size_t size, const char *a, const char *b,
	    struct pns_err *err);

#endif
