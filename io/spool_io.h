/*
 * NAME
 *	spool_io.h - the pipeline's I/O backends (io_uring and plain syscalls)
 * DESCRIPTION
 *	Each operation works on a batch of messages so a ring can submit
 *	them all at once; the syscall backend loops. An operation skips
 *	messages whose err is set and records -errno in err for those that
 *	fail. Both backends must leave the file system in the same state.
 *	Lifetime: worker (one backend per worker thread).
 */
#ifndef HANKO_IO_SPOOL_IO_H
#define HANKO_IO_SPOOL_IO_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "spool.h"

#define SPOOL_PATH_MAX (SPOOL_NAME_MAX + 1)
/* ".hanko-tmp." + spool id + "." + inode, all hex (see spool.h). */
#define SPOOL_TMPNAME_MAX 80 /* 11 + 33 + 1 + 16 + 7 (".reason") + 1 */

/* One message in a worker's batch; batch lifetime. */
struct spool_msg {
	char name[SPOOL_NAME_MAX + 1];
	char tmp[SPOOL_TMPNAME_MAX]; /* its identity-named temporary copy */
	/* name and tmp stay put until the ring's operations complete. */
	uint8_t *data;
	size_t len;
	uint64_t ino;  /* identity: the inode of the file actually read */
	unsigned mode; /* its permission bits, kept by the signed copy */
	bool created;  /* this run created tmp (so may remove it) */
	struct iovec iov[2];
	int err;   /* -errno of the failed step, or 0 */
	bool skip; /* out of the pipeline (vanished, left) */
	enum spool_verdict verdict;
	void *note;     /* spool_work.note() after work() */
	double t_taken; /* CLOCK_MONOTONIC when its batch was taken */
	char reason[160];
};

/* Fault injection counters, shared by a run's workers. */
struct spool_faults {
	const struct spool_fault *f;
	atomic_ulong calls;
};

/* 0, or the injected -errno when this call of op is the chosen one. */
int spool_fault_hit(struct spool_faults *fs, const char *op);

struct spool_be;

struct spool_be_ops {
	const char *name;
	int (*init)(
	    struct spool_be **out, unsigned depth, struct spool_faults *fs);
	void (*fini)(struct spool_be *be);
	/* Size of each regular file dirfd/name into len (-EFBIG over max). */
	void (*stat)(struct spool_be *be, int dirfd, struct spool_msg *m,
	    size_t n, size_t max);
	/*
	 * Read len bytes of each dirfd/name into data (allocated by caller),
	 * opening without blocking or following a symlink and filling ino
	 * and mode from the opened file; -SPOOL_EFTYPE when it is no regular
	 * file (swapped in after stat), -EAGAIN when its size changed.
	 */
	void (*read)(
	    struct spool_be *be, int dirfd, struct spool_msg *m, size_t n);
	/*
	 * Create dirfd/tmp exclusively (never through a symlink, never over
	 * an existing file) with the source's mode, write iov, fsync if
	 * durable; sets created. On error a file it created is removed.
	 */
	void (*write)(struct spool_be *be, int dirfd, struct spool_msg *m,
	    size_t n, bool durable);
	/*
	 * Rename a to b, odir to ndir (RENAME_ flags), where a and b are
	 * name or tmp (SPOOL_BY_NAME, SPOOL_BY_TMP).
	 */
	void (*rename)(struct spool_be *be, int odir, int a, int ndir, int b,
	    struct spool_msg *m, size_t n, unsigned flags);
	void (*unlink)(struct spool_be *be, int dirfd, int a,
	    struct spool_msg *m, size_t n);
	int (*fsync_dir)(struct spool_be *be, int dirfd);
};

extern const struct spool_be_ops spool_be_sync;
extern const struct spool_be_ops spool_be_ring;

enum {
	SPOOL_BY_NAME,
	SPOOL_BY_TMP
};

/* The file name m is known by in its directory (SPOOL_BY_*). */
const char *spool_msg_file(const struct spool_msg *m, int which);

/* No regular file where one was expected (Linux has no EFTYPE). */
#define SPOOL_EFTYPE EMEDIUMTYPE

/*
 * Check a message just opened: a regular file (-SPOOL_EFTYPE if not) of
 * the size stat saw (-EAGAIN if not); fills m's ino and mode from it.
 */
int spool_opened(int fd, struct spool_msg *m, struct stat *st);

#endif
