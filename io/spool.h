/*
 * NAME
 *	spool.h - the batch pipeline: spool directory in, signed messages out,
 *	exactly once
 * SYNOPSIS
 *	spool_runner_new(&conf, &r, err, sizeof(err));	(recovers)
 *	spool_runner_pass(r, &stats);			(until quiet)
 *	spool_runner_free(r);
 * DESCRIPTION
 *	Every regular, non-dot file in spool_dir is a message. Workers (one
 *	thread each, with their own ring or syscall backend, arena and work
 *	state) take names in batches, read the messages, hand each to the
 *	work callback, and hand the result off in four grouped steps:
 *
 *	1. write the signed copy to OUT/.hanko-tmp.SID.INO, created
 *	   exclusively (never through a symlink, never over a file) with the
 *	   source's mode, and make it durable (fsync each file, then the
 *	   directory once per batch). SID names the spool (its file system's
 *	   id and its inode), INO the message file actually read (its inode,
 *	   which the rename of step 2 keeps): a copy is known by identity,
 *	   never by the message's name;
 *	2. rename SPOOL/NAME to SPOOL/.hanko-done/NAME, never over a held
 *	   message of that name, and sync: the commit point, after which the
 *	   message belongs to the output side (a file renamed over NAME by
 *	   the spool's writer in the meantime is detected and put back);
 *	3. rename the copy to OUT/NAME (never replacing an existing file)
 *	   and sync OUT;
 *	4. unlink SPOOL/.hanko-done/NAME.
 *
 *	Only step 3 removes a committed copy. So a done entry without its
 *	copy means exactly "published", and spool_runner_new() finishes
 *	whatever a crash left: a done entry with its copy is published, a
 *	done entry without one was published already, a copy of this
 *	spool without a done entry is removed (its source is still in the
 *	spool, or in failed_dir). Other spools' copies in a shared OUT are
 *	never touched. So after a restart every message ends in OUT exactly
 *	once, even if the MTA consumed the output before the crash.
 *
 *	A committed message whose name is taken in OUT goes to failed_dir
 *	(durably, before its copy is removed); if that name is taken too it
 *	stays in the done directory with its copy, "held": counted in
 *	stats.left and reported in stats.err by every run, and published
 *	by the first pass that finds OUT/NAME free. A message the callback
 *	rejects moves by rename, unchanged, to failed_dir with NAME.reason
 *	beside it (mode 0640, written exclusively under
 *	failed/.hanko-tmp.SID.INO.reason first); when its name is taken
 *	there it stays in the spool, reported, and the run goes on.
 *
 *	Refused at start (-ELOOP): any two of spool, out, failed and the
 *	done directory being one directory (by device and inode). The
 *	default failed_dir and the done directory are opened beneath the
 *	spool without following symlinks. Messages are opened non-blocking
 *	and without following symlinks, and must be regular files when
 *	opened: a FIFO renamed in blocks no worker.
 *
 *	Writers must put complete files into the spool atomically (write a
 *	dot file or elsewhere on the same file system, then rename), as with
 *	maildir. Any name Linux allows (up to 255 bytes) is handled.
 * OWNERSHIP
 *	The conf and what it points to must outlive the runner. Memory is
 *	bounded by workers x batch x the largest message in flight; the
 *	spool is read as a stream, never listed whole.
 */
#ifndef HANKO_IO_SPOOL_H
#define HANKO_IO_SPOOL_H

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/span.h"

#define SPOOL_NAME_MAX 255 /* NAME_MAX: every name Linux allows */
#define SPOOL_TMP      ".hanko-tmp."
#define SPOOL_DONE     ".hanko-done"

enum spool_io {
	SPOOL_IO_AUTO = 0,
	SPOOL_IO_URING,
	SPOOL_IO_SYNC,
};

/* What the work callback decided for one message. */
enum spool_verdict {
	SPOOL_OUT = 0, /* hand off prefix + message to out_dir */
	SPOOL_FAIL,    /* move the message to failed_dir with reason */
};

/* What became of a message (spool_work.outcome). */
enum spool_fate {
	SPOOL_PUBLISHED = 0, /* handed off to out_dir: stats.done */
	SPOOL_FAILED,        /* moved to failed_dir: stats.failed */
	SPOOL_LEFT,          /* left in the spool or held: stats.left */
};

/* One message's end, as outcome() sees it; valid during the call. */
struct spool_outcome {
	const char *name;
	enum spool_fate fate;
	const char *reason; /* why it failed or was left; "" when published */
	void *note;         /* what note() returned for it, or NULL */
	double seconds;     /* from when a worker took it to now; 0 if unknown */
	size_t bytes;       /* the message's size as read; 0 if unknown */
};

/* A message as a batch callback sees it (read-only runs). */
struct spool_item {
	const char *name;
	span msg;
	int err; /* -errno when it could not be read */
};

/*
 * Per-worker callbacks. work() gets the message and appends what to
 * write before it (the signature fields) to prefix, an arena-backed buf
 * valid until the batch ends; on SPOOL_FAIL it fills reason.
 */
struct spool_work {
	void *ctx;
	void *(*worker_new)(void *ctx, unsigned idx);
	void (*worker_free)(void *w);
	enum spool_verdict (*work)(void *w, span msg, struct arena *ar,
	    struct buf *prefix, char *reason, size_t reasonlen);
	/*
	 * Read-only runs (verify) get whole batches instead, so one worker
	 * can keep many messages' DNS lookups in flight at once.
	 */
	void (*work_batch)(void *w, struct spool_item *items, size_t n);
	/*
	 * Optional, for logs and metrics. note(w), called right after each
	 * work(), returns what the worker wants to remember of that message
	 * (in the arena: batch lifetime). outcome() is called once for each
	 * message published or failed, exactly when stats count it, and for
	 * each left: from a worker's thread (w its state, several at once)
	 * or, for what recovery finishes, from the caller's (w and note
	 * NULL). It must be thread-safe and must not block for long.
	 */
	void *(*note)(void *w);
	void (*outcome)(void *ctx, void *w, const struct spool_outcome *o);
};

/*
 * Fault injection for tests: op "write", "fsync", "rename", "read", or
 * "any" (every hook counts). With crash set, the nth call calls it
 * instead of failing (a crash point; crash does not return).
 */
struct spool_fault {
	const char *op;
	unsigned long nth; /* the nth call of op fails (1-based) */
	int err;           /* with this errno */
	void (*crash)(void);
};

struct spool_stats {
	uint64_t done;   /* handed off to out_dir */
	uint64_t failed; /* moved to failed_dir */
	uint64_t left;   /* left in the spool or held (reported in err) */
	uint64_t bytes_in;
	uint64_t bytes_out;
	double seconds;
	int first_err; /* -errno of the first OS error, or 0 */
	char err[256]; /* what it was */
};

typedef void spool_progress_fn(void *ctx, const struct spool_stats *s);

struct spool_conf {
	const char *spool_dir;
	const char *out_dir;
	const char *failed_dir; /* NULL: SPOOL_DIR/failed, opened beneath it */
	unsigned workers;
	enum spool_io io;
	bool durable;   /* fsync; false only for throwaway runs */
	bool readonly;  /* read and work_batch only: no hand-off, one pass */
	size_t batch;   /* messages per worker batch */
	size_t max_msg; /* larger messages are failed unread */
	const struct hanko_alloc *alloc;
	const struct spool_work *work;
	const struct spool_fault *fault;
	/*
	 * Set (from a signal handler: lock-free, so async-signal-safe):
	 * finish in-flight work, return. Atomic because workers read it.
	 */
	atomic_int *stop;
	spool_progress_fn *progress; /* called about twice a second */
	void *progress_ctx;
	/*
	 * Each message left in place or held, as it happens (from any
	 * thread, one call at a time), so every run names every one; NULL:
	 * only the first is kept, in stats.err.
	 */
	void (*report)(void *ctx, const char *what);
};

struct spool_runner;

/*
 * Take the spool (an exclusive lock: one hanko per spool), create missing
 * directories, refuse a layout where they feed one another (-ELOOP),
 * check that failed_dir shares the spool's file system (so a failed
 * message moves by rename, never by copy), and finish or undo whatever a
 * crash left. Then create each worker's state once. 0, or -errno with
 * err filled.
 */
int spool_runner_new(const struct spool_conf *c, struct spool_runner **out,
    char *err, size_t errlen);
/*
 * Process the spool until a pass finds nothing more to do, adding to
 * stats. Returns 0, or -errno when an OS error stopped the run
 * (stats->err says which); every message is then still safe in the
 * spool, out_dir or failed_dir.
 */
int spool_runner_pass(struct spool_runner *r, struct spool_stats *stats);
/* The spool directory's fd, for inotify and the like. */
int spool_runner_spool_fd(const struct spool_runner *r);
void spool_runner_free(struct spool_runner *r);
/*
 * The messages waiting in the runner's spool now: *n of them, the
 * oldest last modified at *oldest_mtime (Unix seconds; 0 when none).
 * Reads the whole directory (one stat per message): call it seldom.
 * 0 or -errno.
 */
int spool_backlog(
    const struct spool_runner *r, uint64_t *n, double *oldest_mtime);
/* Count the spool's messages (for progress). */
uint64_t spool_count(const char *spool_dir);
/* io_uring usable here? (containers often forbid it) */
bool spool_uring_available(void);
const char *spool_io_str(enum spool_io io);

#endif
