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
#include <sys/uio.h>

#include "spool.h"

#define SPOOL_PATH_MAX (SPOOL_NAME_MAX + 16)

/* One message in a worker's batch; batch lifetime. */
struct spool_msg {
	char name[SPOOL_NAME_MAX + 1];
	char path_a[SPOOL_PATH_MAX]; /* scratch paths kept alive for */
	char path_b[SPOOL_PATH_MAX]; /* the ring until completion */
	uint8_t *data;
	size_t len;
	struct iovec iov[2];
	int err;   /* -errno of the failed step, or 0 */
	bool skip; /* out of the pipeline (vanished, left) */
	enum spool_verdict verdict;
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
	/* Read len bytes of each dirfd/name into data (allocated by caller). */
	void (*read)(
	    struct spool_be *be, int dirfd, struct spool_msg *m, size_t n);
	/* Create dirfd/SPOOL_TMP+name afresh, write iov, fsync if durable. */
	void (*write)(struct spool_be *be, int dirfd, struct spool_msg *m,
	    size_t n, bool durable);
	/* Rename opre+name in odir to npre+name in ndir (RENAME_ flags). */
	void (*rename)(struct spool_be *be, int odir, const char *opre,
	    int ndir, const char *npre, struct spool_msg *m, size_t n,
	    unsigned flags);
	void (*unlink)(struct spool_be *be, int dirfd, const char *pre,
	    struct spool_msg *m, size_t n);
	int (*fsync_dir)(struct spool_be *be, int dirfd);
};

extern const struct spool_be_ops spool_be_sync;
extern const struct spool_be_ops spool_be_ring;

/* "pre" + "name" into out; false when it does not fit. */
bool spool_path(char *out, const char *pre, const char *name);

#endif
