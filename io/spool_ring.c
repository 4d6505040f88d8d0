/*
 * The io_uring backend: each step of a batch is one submission (statx,
 * openat, read, close; openat then a hard-linked writev -> fsync -> close
 * chain per file; renameat; unlinkat), so a batch of N messages costs a
 * handful of system calls instead of ~10 N.
 */
#include "spool_io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <liburing.h>

enum ring_op {
	OP_STATX = 1,
	OP_OPEN,
	OP_READ,
	OP_CLOSE,
	OP_WRITE,
	OP_FSYNC,
	OP_RENAME,
	OP_UNLINK,
};

struct spool_be {
	struct io_uring ring;
	unsigned depth;
	struct spool_faults *fs;
	struct statx *stx; /* depth entries */
	int *fds;          /* depth entries */
	bool creating;     /* the opens under way create files */
};

static uint64_t
ud(enum ring_op op, size_t i)
{
	return (uint64_t)op << 32 | (uint64_t)i;
}

static int
ring_init(struct spool_be **out, unsigned depth, struct spool_faults *fs)
{
	struct spool_be *be = calloc(1, sizeof(*be));
	int e;

	if (be == NULL)
		return -ENOMEM;
	be->depth = depth < 8 ? 8 : depth;
	be->fs = fs;
	be->stx = calloc(be->depth, sizeof(*be->stx));
	be->fds = calloc(be->depth, sizeof(*be->fds));
	if (be->stx == NULL || be->fds == NULL) {
		e = -ENOMEM;
		goto fail;
	}
	if ((e = io_uring_queue_init(be->depth, &be->ring, 0)) != 0)
		goto fail;
	*out = be;
	return 0;
fail:
	free(be->stx);
	free(be->fds);
	free(be);
	return e;
}

static void
ring_fini(struct spool_be *be)
{
	io_uring_queue_exit(&be->ring);
	free(be->stx);
	free(be->fds);
	free(be);
}

typedef void cqe_fn(
    struct spool_be *be, struct spool_msg *m, uint64_t data, int res);

/* Submit what is queued and reap exactly n completions. */
static void
run(struct spool_be *be, struct spool_msg *m, unsigned n, cqe_fn *fn)
{
	struct io_uring_cqe *cqe;
	unsigned got = 0;
	int e;

	while (got < n) {
		e = io_uring_submit_and_wait(&be->ring, 1);
		if (e < 0 && e != -EINTR && e != -EAGAIN && e != -EBUSY)
			break;
		while (got < n && io_uring_peek_cqe(&be->ring, &cqe) == 0) {
			fn(be, m, cqe->user_data, cqe->res);
			io_uring_cqe_seen(&be->ring, cqe);
			got++;
		}
	}
}

static bool
live(const struct spool_msg *m)
{
	return m->err == 0 && !m->skip;
}

/* An SQE tagged with op and the message index; chunks fit the ring. */
static struct io_uring_sqe *
sqe_for(struct spool_be *be, enum ring_op op, size_t i)
{
	struct io_uring_sqe *sqe;

	/* Chunks are sized to the ring; submitting frees room regardless. */
	while ((sqe = io_uring_get_sqe(&be->ring)) == NULL)
		io_uring_submit(&be->ring);
	io_uring_sqe_set_data64(sqe, ud(op, i));
	return sqe;
}

/* Messages whose completion never came (the ring failed) get -EIO. */
static void
settle(struct spool_msg *m, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (m[i].err == -EINPROGRESS)
			m[i].err = -EIO;
}

static void
on_statx(struct spool_be *be, struct spool_msg *m, uint64_t data, int res)
{
	size_t i = (uint32_t)data;

	m[i].err = res;
	if (res == 0 && !S_ISREG(be->stx[i].stx_mode)) {
		m[i].err = -ENOENT; /* not a message: ignore it */
	} else if (res == 0) {
		m[i].len = (size_t)be->stx[i].stx_size;
		m[i].ino = be->stx[i].stx_ino;
		m[i].mode = be->stx[i].stx_mode & 07777u;
	}
}

/* What one SQE-per-message step needs to queue its operation. */
struct step {
	enum ring_op op;
	int dirfd, ndirfd;
	int a, b; /* SPOOL_BY_NAME or SPOOL_BY_TMP */
	unsigned flags;
	const char *fault; /* fault-injection name, or NULL */
};

/* Queue s's operation for m[i] (index i within the chunk at m). */
static bool
queue_step(
    struct spool_be *be, const struct step *s, struct spool_msg *m, size_t i)
{
	int e;

	if (s->fault != NULL && (e = spool_fault_hit(be->fs, s->fault)) != 0) {
		m[i].err = e;
		return false;
	}
	if (s->op == OP_STATX)
		io_uring_prep_statx(sqe_for(be, OP_STATX, i), s->dirfd,
		    m[i].name, AT_SYMLINK_NOFOLLOW,
		    STATX_TYPE | STATX_MODE | STATX_SIZE | STATX_INO,
		    &be->stx[i]);
	else if (s->op == OP_RENAME)
		io_uring_prep_renameat(sqe_for(be, OP_RENAME, i), s->dirfd,
		    spool_msg_file(&m[i], s->a), s->ndirfd,
		    spool_msg_file(&m[i], s->b), s->flags);
	else
		io_uring_prep_unlinkat(sqe_for(be, OP_UNLINK, i), s->dirfd,
		    spool_msg_file(&m[i], s->a), 0);
	m[i].err = -EINPROGRESS;
	return true;
}

/* Run s over every live message, one ring-sized chunk at a time. */
static void
run_step(struct spool_be *be, const struct step *s, struct spool_msg *m,
    size_t n, cqe_fn *fn)
{
	size_t base, i, end;
	unsigned q;

	for (base = 0; base < n; base = end) {
		end = n - base < be->depth ? n : base + be->depth;
		for (i = base, q = 0; i < end; i++)
			if (live(&m[i]) &&
			    queue_step(be, s, m + base, i - base))
				q++;
		run(be, m + base, q, fn);
		settle(m + base, end - base);
	}
}

static void
ring_stat(
    struct spool_be *be, int dirfd, struct spool_msg *m, size_t n, size_t max)
{
	struct step s = { OP_STATX, dirfd, -1, 0, 0, 0, NULL };
	size_t i;

	run_step(be, &s, m, n, on_statx);
	for (i = 0; i < n; i++)
		if (m[i].err == 0 && m[i].len > max)
			m[i].err = -EFBIG;
}

static void
on_open(struct spool_be *be, struct spool_msg *m, uint64_t data, int res)
{
	size_t i = (uint32_t)data;

	be->fds[i] = res;
	m[i].err = res < 0 ? res : 0;
	m[i].created = res >= 0 && be->creating;
}

/* Open each live message's file (flags, mode) into be->fds. */
static void
open_chunk(struct spool_be *be, int dirfd, struct spool_msg *m, size_t n,
    bool tmp, int flags)
{
	size_t i;
	unsigned q = 0;

	for (i = 0; i < n; i++) {
		be->fds[i] = -1;
		if (!live(&m[i]))
			continue;
		io_uring_prep_openat(sqe_for(be, OP_OPEN, i), dirfd,
		    tmp ? m[i].tmp : m[i].name, flags | O_CLOEXEC,
		    (mode_t)(m[i].mode & 0666));
		m[i].err = -EINPROGRESS;
		q++;
	}
	be->creating = tmp;
	run(be, m, q, on_open);
	settle(m, n);
}

static void
on_close(struct spool_be *be, struct spool_msg *m, uint64_t data, int res)
{
	(void)m;
	(void)res;
	be->fds[(uint32_t)data] = -1;
}

static void
close_chunk(struct spool_be *be, size_t n)
{
	size_t i;
	unsigned q = 0;

	for (i = 0; i < n; i++) {
		if (be->fds[i] < 0)
			continue;
		io_uring_prep_close(sqe_for(be, OP_CLOSE, i), be->fds[i]);
		q++;
	}
	run(be, NULL, q, on_close);
	for (i = 0; i < n; i++) /* should the ring have failed */
		if (be->fds[i] >= 0)
			close(be->fds[i]);
}

static void
on_read(struct spool_be *be, struct spool_msg *m, uint64_t data, int res)
{
	size_t i = (uint32_t)data, got = res > 0 ? (size_t)res : 0;
	ssize_t r = 1;

	/*
	 * Asking for len + 1 bytes, len means EOF as expected and len + 1
	 * a file still growing; fewer is a short read: finish it with pread.
	 */
	while (res >= 0 && got < m[i].len && r > 0) {
		r = pread(be->fds[i], m[i].data + got, m[i].len + 1 - got,
		    (off_t)got);
		if (r < 0 && errno != EINTR)
			res = -errno;
		got += r > 0 ? (size_t)r : 0;
		res = res < 0 ? res : (int)(got > INT32_MAX ? INT32_MAX : got);
	}
	if (res < 0)
		m[i].err = res;
	else if ((size_t)res == m[i].len + 1)
		m[i].err = -EAGAIN; /* still growing: contract broken */
	else if ((size_t)res != m[i].len)
		m[i].err = -EIO; /* shrank under us */
	else
		m[i].err = 0;
}

/* What was opened must be the regular file of the size stat saw. */
static void
on_fstatx(struct spool_be *be, struct spool_msg *m, uint64_t data, int res)
{
	size_t i = (uint32_t)data;
	const struct statx *stx = &be->stx[i];

	if (res < 0)
		m[i].err = res;
	else if (!S_ISREG(stx->stx_mode))
		m[i].err = -SPOOL_EFTYPE; /* renamed over since the stat */
	else if (stx->stx_size != (uint64_t)m[i].len)
		m[i].err = -EAGAIN;
	else
		m[i].err = 0;
	if (m[i].err == 0) {
		m[i].ino = stx->stx_ino;
		m[i].mode = stx->stx_mode & 07777u;
	}
}

/*
 * statx of each opened descriptor, on the ring like the open itself (the
 * descriptor never meets a plain system call, which is also what keeps
 * ThreadSanitizer's descriptor tracking consistent).
 */
static void
fstat_chunk(struct spool_be *be, struct spool_msg *m, size_t n)
{
	size_t i;
	unsigned q = 0;

	for (i = 0; i < n; i++) {
		if (!live(&m[i]))
			continue;
		io_uring_prep_statx(sqe_for(be, OP_STATX, i), be->fds[i], "",
		    AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW,
		    STATX_TYPE | STATX_MODE | STATX_SIZE | STATX_INO,
		    &be->stx[i]);
		m[i].err = -EINPROGRESS;
		q++;
	}
	run(be, m, q, on_fstatx);
	settle(m, n);
}

/*
 * Read len + 1 bytes into the caller's len + 1 buffer: one byte more
 * than the size seen means a writer is still appending.
 */
static void
ring_read(struct spool_be *be, int dirfd, struct spool_msg *m, size_t n)
{
	size_t base, i, end;
	unsigned q;
	int e;

	for (base = 0; base < n; base = end) {
		end = n - base < be->depth ? n : base + be->depth;
		/* A FIFO or symlink renamed in must not block a worker. */
		open_chunk(be, dirfd, m + base, end - base, false,
		    O_RDONLY | O_NONBLOCK | O_NOFOLLOW);
		fstat_chunk(be, m + base, end - base);
		for (i = base, q = 0; i < end; i++) {
			if (!live(&m[i]))
				continue;
			if ((e = spool_fault_hit(be->fs, "read")) != 0) {
				m[i].err = e;
				continue;
			}
			io_uring_prep_read(sqe_for(be, OP_READ, i - base),
			    be->fds[i - base], m[i].data,
			    (unsigned)(m[i].len + 1), 0);
			m[i].err = -EINPROGRESS;
			q++;
		}
		run(be, m + base, q, on_read);
		settle(m + base, end - base);
		close_chunk(be, end - base);
	}
}

static void
on_write(struct spool_be *be, struct spool_msg *m, uint64_t data, int res)
{
	size_t i = (uint32_t)data;
	enum ring_op op = (enum ring_op)(data >> 32);
	size_t want = m[i].iov[0].iov_len + m[i].iov[1].iov_len;

	if (op == OP_CLOSE) {
		be->fds[i] = -1;
		if (res < 0 && m[i].err == 0)
			m[i].err = res;
	} else if (op == OP_WRITE) {
		if (m[i].err == 0 && (res < 0 || (size_t)res != want))
			m[i].err = res < 0 ? res : -EIO; /* disk full */
	} else if (res < 0 && m[i].err == 0) {
		m[i].err = res;
	}
}

/* Queue writev -> fsync -> close, hard-linked so close always runs. */
static unsigned
queue_write(struct spool_be *be, struct spool_msg *m, size_t i, bool durable)
{
	struct io_uring_sqe *sqe;
	unsigned q = 0;
	int e;

	if ((e = spool_fault_hit(be->fs, "write")) != 0) {
		m[i].err = e;
	} else {
		sqe = sqe_for(be, OP_WRITE, i);
		io_uring_prep_writev(sqe, be->fds[i], m[i].iov, 2, 0);
		sqe->flags |= IOSQE_IO_HARDLINK;
		q++;
		if (durable && (e = spool_fault_hit(be->fs, "fsync")) != 0) {
			m[i].err = e;
		} else if (durable) {
			sqe = sqe_for(be, OP_FSYNC, i);
			io_uring_prep_fsync(sqe, be->fds[i], 0);
			sqe->flags |= IOSQE_IO_HARDLINK;
			q++;
		}
	}
	io_uring_prep_close(sqe_for(be, OP_CLOSE, i), be->fds[i]);
	return q + 1;
}

static void
ring_write(
    struct spool_be *be, int dirfd, struct spool_msg *m, size_t n, bool durable)
{
	size_t base, i, end, per = be->depth / 3;
	unsigned q;

	for (base = 0; base < n; base = end) {
		end = n - base < per ? n : base + per;
		/*
		 * Exclusive, never through a symlink or over an existing
		 * file; the source's mode (open_chunk) so the copy is never
		 * more readable than the message.
		 */
		open_chunk(be, dirfd, m + base, end - base, true,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW);
		for (i = base, q = 0; i < end; i++)
			if (live(&m[i]))
				q += queue_write(
				    be, m + base, i - base, durable);
		/* A fault hit before the writev still has to be reaped. */
		run(be, m + base, q, on_write);
		close_chunk(be, end - base);
		for (i = base; i < end; i++)
			if (m[i].err != 0 && !m[i].skip && m[i].created) {
				unlinkat(dirfd, m[i].tmp, 0);
				m[i].created = false;
			}
	}
}

static void
on_result(struct spool_be *be, struct spool_msg *m, uint64_t data, int res)
{
	(void)be;
	m[(uint32_t)data].err = res < 0 ? res : 0;
}

static void
ring_rename(struct spool_be *be, int odir, int a, int ndir, int b,
    struct spool_msg *m, size_t n, unsigned flags)
{
	struct step s = { OP_RENAME, odir, ndir, a, b, flags, "rename" };

	run_step(be, &s, m, n, on_result);
}

static void
ring_unlink(
    struct spool_be *be, int dirfd, int a, struct spool_msg *m, size_t n)
{
	struct step s = { OP_UNLINK, dirfd, -1, a, 0, 0, "unlink" };

	run_step(be, &s, m, n, on_result);
}

static int
ring_fsync_dir(struct spool_be *be, int dirfd)
{
	int r;

	if ((r = spool_fault_hit(be->fs, "fsync")) != 0)
		return r;
	return fsync(dirfd) == 0 ? 0 : -errno;
}

bool
spool_uring_available(void)
{
	static const int ops[] = { IORING_OP_STATX, IORING_OP_OPENAT,
		IORING_OP_READ, IORING_OP_WRITEV, IORING_OP_FSYNC,
		IORING_OP_CLOSE, IORING_OP_RENAMEAT, IORING_OP_UNLINKAT };
	struct io_uring_probe *p;
	struct io_uring ring;
	bool ok = true;
	size_t i;

	if (io_uring_queue_init(4, &ring, 0) != 0)
		return false; /* EPERM/ENOSYS: seccomp or an old kernel */
	if ((p = io_uring_get_probe_ring(&ring)) == NULL) {
		ok = false;
	} else {
		for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
			ok = ok && io_uring_opcode_supported(p, ops[i]);
		io_uring_free_probe(p);
	}
	io_uring_queue_exit(&ring);
	return ok;
}

const struct spool_be_ops spool_be_ring = {
	"uring",
	ring_init,
	ring_fini,
	ring_stat,
	ring_read,
	ring_write,
	ring_rename,
	ring_unlink,
	ring_fsync_dir,
};
