/*
 * NAME
 *	spool_internal.h - what the pipeline's files share
 * DESCRIPTION
 *	spool.c runs passes and workers, spool_handoff.c the durable
 *	hand-off steps, spool_recover.c start-up: locking, directories and
 *	crash recovery.
 */
#ifndef HANKO_IO_SPOOL_INTERNAL_H
#define HANKO_IO_SPOOL_INTERNAL_H

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "core/arena.h"
#include "spool.h"
#include "spool_io.h"

/* Process lifetime; the atomics and dir are per pass. */
struct spool_runner {
	const struct spool_conf *c;
	const struct spool_be_ops *be;
	int spool_fd, out_fd, failed_fd, done_fd;
	void **wstate; /* work state per worker */
	struct spool_faults faults;
	pthread_mutex_t lock; /* guards dir, first_err, err */
	DIR *dir;
	atomic_uint_fast64_t done, failed, left, bytes_in, bytes_out;
	atomic_uint running; /* workers still in this pass */
	atomic_bool abort;   /* an OS error: stop taking work */
	int first_err;
	char err[256];
};

/* Worker lifetime (one pass). */
struct spool_worker {
	struct spool_runner *r;
	unsigned idx;
	void *state;
	struct spool_be *be;
	struct arena ar;
	struct spool_msg *msgs;
	struct spool_msg tmp; /* scratch for partitioning */
};

/* Record the first error; fatal ones stop the run after this batch. */
void spool_run_err(struct spool_runner *r, int err, bool fatal, const char *fmt,
    ...) __attribute__((format(printf, 4, 5)));
/* Hand off a worked batch: to out_dir, or to failed_dir with reasons. */
void spool_handoff(struct spool_worker *w, struct spool_msg *m, size_t n);
/*
 * Reason files beside failed messages: written under a temporary name
 * (durably when the run is), published after the message has moved.
 * spool_write_reason() writes NAME.reason directly.
 */
int spool_write_reason_tmp(struct spool_runner *r, const struct spool_msg *m);
void spool_publish_reason(struct spool_runner *r, const char *name);
void spool_write_reason(
    struct spool_runner *r, const char *name, const char *reason);
/* Start-up: lock, directories, same-device check, crash recovery. */
int spool_recover(struct spool_runner *r, char *err, size_t errlen);

#endif
