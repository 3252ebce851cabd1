/* SPDX-License-Identifier: ISC */
/*
 * Group commit of the notice store.  A receiver writes a notice's file,
 * its name and its queue entry without syncing any of them, then waits
 * here: one syncfs(2) of the store's file system makes every write made
 * before it durable, so the threads of a process that arrive while a
 * sync is running are all covered by the next one.  Under load a
 * hundred notices cost one sync instead of three fsyncs each, and
 * "acknowledged means stored" still holds: nobody returns from
 * pns_commit_wait before a sync that began after its writes has ended.
 *
 * syncfs also writes whatever else on that file system is dirty; the
 * data directory is best kept on a file system of its own where others
 * write a lot (docs/performance.md).
 */
#ifndef PNS_COMMIT_H
#define PNS_COMMIT_H

#include <pthread.h>

#include "pns_config.h"
#include "pns_err.h"

struct pns_commit_waiter;

struct pns_commit {
	pthread_mutex_t			 lock;
	struct pns_commit_waiter	*pending;	/* joined, not yet syncing */
	int				 running;	/* a sync is under way */
	int				 fd[2];		/* notices/, queue/ (-1 if
							   on the same device) */
	unsigned long			 syncs;		/* for the benchmark */
};

/* Opens the store's directories; one per process, shared by threads. */
int	pns_commit_init(struct pns_commit *c, const struct pns_config *cfg,
	    struct pns_err *err);
void	pns_commit_release(struct pns_commit *c);

/*
 * Returns once everything this thread wrote to the store before the
 * call is durable: 0, or -1 when the sync failed (nothing it covered may
 * be acknowledged).
 */
int	pns_commit_wait(struct pns_commit *c, struct pns_err *err);

#endif
