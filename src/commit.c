/* SPDX-License-Identifier: ISC */
/* Group commit of the notice store; see pns_commit.h. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "pns_commit.h"
#include "pns_fs.h"
#include "pns_store.h"
#include "banned.h"

/*
 * One thread waiting for its writes to become durable.  Each has its own
 * condition variable, so that the end of a sync wakes exactly the
 * threads it covered, and one of those who joined meanwhile to lead the
 * next: a broadcast woke them all, and those not yet covered only went
 * back to sleep, two context switches each for nothing.
 */
struct pns_commit_waiter {
	struct pns_commit_waiter	*next;
	pthread_cond_t			 cv;
	int				 done;
	int				 saved_errno;	/* 0 when synced */
};

static int
open_dir(const struct pns_config *cfg, const char *sub, int *fd,
    struct stat *st, struct pns_err *err)
{
	char	path[PNS_FS_PATH_MAX];

	if (pns_store_path(cfg, path, sizeof(path), sub, NULL, err) == -1)
		return -1;
	if ((*fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return pns_err_sys(err, "open %s", path);
	if (fstat(*fd, st) == -1) {
		pns_err_sys(err, "stat %s", path);
		(void)close(*fd);
		*fd = -1;
		return -1;
	}
	return 0;
}

int
pns_commit_init(struct pns_commit *c, const struct pns_config *cfg,
    struct pns_err *err)
{
	struct stat	st[2];

	memset(c, 0, sizeof(*c));
	c->fd[0] = c->fd[1] = -1;
	if (open_dir(cfg, PNS_DIR_NOTICES, &c->fd[0], &st[0], err) == -1)
		return -1;
	if (open_dir(cfg, PNS_DIR_QUEUE, &c->fd[1], &st[1], err) == -1) {
		(void)close(c->fd[0]);
		return -1;
	}
	/* A queue/ mounted elsewhere is a second file system to sync. */
	if (st[0].st_dev == st[1].st_dev) {
		(void)close(c->fd[1]);
		c->fd[1] = -1;
	}
	if (pthread_mutex_init(&c->lock, NULL) != 0) {
		pns_commit_release(c);
		return pns_err_set(err, PNS_ESYS, "pthread init failed");
	}
	return 0;
}

void
pns_commit_release(struct pns_commit *c)
{
	if (c->fd[0] != -1)
		(void)close(c->fd[0]);
	if (c->fd[1] != -1)
		(void)close(c->fd[1]);
	c->fd[0] = c->fd[1] = -1;
	(void)pthread_mutex_destroy(&c->lock);
}

/* 0, or the errno of the first failing syncfs. */
static int
sync_store(const struct pns_commit *c)
{
	int	i, e = 0;

	for (i = 0; i < 2; i++)
		if (c->fd[i] != -1 && syncfs(c->fd[i]) == -1 && e == 0)
			e = errno;
	return e;
}

int
pns_commit_wait(struct pns_commit *c, struct pns_err *err)
{
	struct pns_commit_waiter	 me, *group, *w;
	int				 e;

	memset(&me, 0, sizeof(me));
	if (pthread_cond_init(&me.cv, NULL) != 0)
		return pns_err_set(err, PNS_ESYS, "pthread_cond_init failed");
	(void)pthread_mutex_lock(&c->lock);
	me.next = c->pending;
	c->pending = &me;
	while (!me.done) {
		if (c->running) {
			(void)pthread_cond_wait(&me.cv, &c->lock);
			continue;
		}
		/*
		 * Lead: take everyone who joined so far, this thread
		 * included.  Their writes all happened before they joined,
		 * so before the sync starts.  Whoever joins meanwhile waits
		 * for the next sync: this one may have started before their
		 * writes.
		 */
		group = c->pending;
		c->pending = NULL;
		c->running = 1;
		(void)pthread_mutex_unlock(&c->lock);
		e = sync_store(c);
		(void)pthread_mutex_lock(&c->lock);
		/* Each returns only once this thread lets go of the lock. */
		for (w = group; w != NULL; w = w->next) {
			w->saved_errno = e;
			w->done = 1;
			if (w != &me)
				(void)pthread_cond_signal(&w->cv);
		}
		c->running = 0;
		c->syncs++;
		/* Someone joined during the sync: it leads the next one. */
		if (c->pending != NULL)
			(void)pthread_cond_signal(&c->pending->cv);
	}
	(void)pthread_mutex_unlock(&c->lock);
	(void)pthread_cond_destroy(&me.cv);
	if (me.saved_errno != 0) {
		errno = me.saved_errno;
		return pns_err_sys(err, "syncfs of the store");
	}
	return 0;
}
