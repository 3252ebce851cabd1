/* SPDX-License-Identifier: ISC */
/*
 * Delivery of stored notices to the application, at least once.
 *
 * A notice whose type has a delivery target (pns_deliver_target) gets a
 * queue entry, made durable with the notice before the platform hears
 * "accepted".  Workers (at most deliver_workers at a time, each holding
 * a slot lock) take due entries one by one under the notice's own lock,
 * run the hook or POST to the URL, and then either record the delivery
 * and drop the entry, or count the attempt and set the next one after
 * an exponential backoff, or, after deliver_attempts, move the entry to
 * failed/.  A crash at any point leaves the entry in the queue, so the
 * notice is delivered again: twice only if the crash fell between the
 * application's answer and the record of it.
 */
#ifndef PNS_DELIVER_H
#define PNS_DELIVER_H

#include <time.h>

#include "pns_config.h"
#include "pns_err.h"

enum pns_target_kind { PNS_TARGET_NONE, PNS_TARGET_COMMAND, PNS_TARGET_URL };

struct pns_target {
	enum pns_target_kind	 kind;
	const char		*where;		/* the command line or URL */
};

/* Where notices of type go: its rule, else deliver_command or
 * deliver_url, else nowhere. */
void	pns_deliver_target(const struct pns_config *cfg, const char *type,
	    struct pns_target *t);

/* 1 when any delivery at all is configured. */
int	pns_deliver_configured(const struct pns_config *cfg);

/*
 * Queues the stored notice key for delivery (nothing if already queued,
 * failed or delivered).  fresh says the notice was stored just now, so
 * it has no delivery history to look up.  The entry is durable only
 * after pns_commit_wait.  0, or -1 on error.
 */
int	pns_deliver_enqueue(const struct pns_config *cfg, const char *key,
	    int fresh, struct pns_err *err);

/* What has become of a notice. */
enum pns_dstatus {
	PNS_DS_NONE,		/* stored, no delivery configured then */
	PNS_DS_PENDING,
	PNS_DS_DELIVERED,
	PNS_DS_FAILED,
};

struct pns_delivery {
	enum pns_dstatus	status;
	long			attempts;
	time_t			next_at;	/* pending: next attempt */
	char			last_error[256];
	char			delivered_at[21];
};

const char	*pns_dstatus_str(enum pns_dstatus s);
/* -1 when s is not a status name. */
int		 pns_dstatus_parse(const char *s);

int	pns_deliver_status(const struct pns_config *cfg, const char *key,
	    struct pns_delivery *d, struct pns_err *err);

/*
 * argv[1] of the delivery worker notices.fcgi starts after answering: the
 * helper program (pns_child_helper), which runs pns_dispatch with
 * PNS_DISPATCH_LINGER and the configuration PNS_CONFIG names.
 */
#define PNS_DISPATCH_ARG	"--dispatch"
/* How long that worker waits for retries coming due. */
#define PNS_DISPATCH_LINGER	120

/* Counts of what a run of pns_dispatch did. */
struct pns_dispatch_stats {
	long	delivered, retried, failed;
	int	busy;		/* every worker slot was taken: nothing run */
};

/*
 * Delivers every due notice as one worker.  With linger > 0 it then
 * waits for retries coming due within linger seconds before it stops;
 * as it stops it stamps when the next retry is due, for
 * pns_deliver_due.  0, or -1 on a storage error.
 */
int	pns_dispatch(const struct pns_config *cfg, long linger,
	    struct pns_dispatch_stats *st, struct pns_err *err);

/* 1 when a retry has come due (stamped by the last worker) at now. */
int	pns_deliver_due(const struct pns_config *cfg, time_t now);

/* 1 when a worker slot is free right now (a worker could start). */
int	pns_deliver_slot_free(const struct pns_config *cfg);

/*
 * Puts failed notices back in the queue with their attempts reset: key,
 * or every failed notice when key is NULL.  Returns how many.
 */
long	pns_deliver_retry(const struct pns_config *cfg, const char *key,
	    struct pns_err *err);

/* Counts of the queue and the dead letters, cheap (no notice read). */
int	pns_deliver_counts(const struct pns_config *cfg, long *pending,
	    long *failed, struct pns_err *err);

#endif
