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
#include <limits.h>
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
	char failed_path[PATH_MAX]; /* for messages */
	char sid[40];               /* spool id: its st_dev-st_ino, hex */
	void **wstate;              /* work state per worker */
	struct spool_faults faults;
	pthread_mutex_t lock; /* guards dir, first_err, err */
	DIR *dir;
	atomic_uint_fast64_t done, failed, left, bytes_in, bytes_out;
	atomic_uint_fast64_t held; /* committed, parked in the done dir */
	atomic_bool stale;         /* a name of ours was taken: recover first */
	atomic_uint running;       /* workers still in this pass */
	atomic_bool abort;         /* an OS error: stop taking work */
	bool recovered; /* recovery just ran: the first pass skips it */
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
/* OUT/.hanko-tmp.SID.INO+suffix, the names this spool owns (spool.h). */
void spool_tmp_name(
    const struct spool_runner *r, uint64_t ino, const char *suffix, char *out);
/*
 * Reason files beside failed messages: written exclusively under the
 * message's identity name (durably when the run is), published after
 * the message has moved, never over an existing file.
 */
int spool_write_reason_tmp(struct spool_runner *r, const struct spool_msg *m);
void spool_drop_reason_tmp(struct spool_runner *r, uint64_t ino);
void spool_publish_reason(
    struct spool_runner *r, uint64_t ino, const char *name);
/*
 * Tell the work's outcome() what became of a message; w and m are NULL
 * for what recovery finishes. No-op without an outcome().
 */
void spool_tell(struct spool_runner *r, struct spool_worker *w,
    const struct spool_msg *m, const char *name, enum spool_fate fate,
    const char *reason);
/* A committed message stays in the done dir: count and report it. */
void spool_held(struct spool_runner *r, const char *name, const char *why);
/*
 * Committed done/name whose out_dir name is taken: to failed_dir (then
 * its copy tmp goes; true), or held when that name is taken too (false).
 */
/*
 * The sidecar NAME.env travels with its message, from the spool into
 * to_fd (out_dir before the message is published there, or failed_dir),
 * never over a file: 0, -ENOENT (none) or -errno (-EEXIST: taken).
 */
int spool_move_sidecar(struct spool_runner *r, int to_fd, const char *name);
/* Is name a sidecar (NAME.env), never a message? */
bool spool_is_sidecar(const char *name);
bool spool_to_failed(
    struct spool_runner *r, const char *name, uint64_t ino, const char *tmp);
/* Start-up: lock, directories, refused layouts, crash recovery. */
int spool_recover(struct spool_runner *r, char *err, size_t errlen);
/* Recovery alone: at start, and before a pass when messages are held. */
int spool_recover_run(struct spool_runner *r);

#endif
