/* The plain-syscall backend: where io_uring is unavailable, and the oracle
 * the ring backend is tested against. */
#include "spool_io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

struct spool_be {
	struct spool_faults *fs;
};

static int
sync_init(struct spool_be **out, unsigned depth, struct spool_faults *fs)
{
	struct spool_be *be = calloc(1, sizeof(*be));

	(void)depth;
	if (be == NULL)
		return -ENOMEM;
	be->fs = fs;
	*out = be;
	return 0;
}

static void
sync_fini(struct spool_be *be)
{
	free(be);
}

static int
read_all(int fd, uint8_t *p, size_t len)
{
	size_t got = 0;
	ssize_t r;

	while (got < len) {
		r = pread(fd, p + got, len - got, (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EIO; /* shrank under us */
		got += (size_t)r;
	}
	return 0;
}

static int
stat_one(struct spool_be *be, int dirfd, struct spool_msg *m, size_t max)
{
	struct stat st;

	(void)be;
	if (fstatat(dirfd, m->name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -ENOENT; /* not a message: ignore it */
	m->ino = (uint64_t)st.st_ino;
	m->mode = (unsigned)st.st_mode & 07777;
	if ((uint64_t)st.st_size > max)
		return -EFBIG;
	m->len = (size_t)st.st_size;
	return 0;
}

static void
sync_stat(
    struct spool_be *be, int dirfd, struct spool_msg *m, size_t n, size_t max)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (m[i].err == 0 && !m[i].skip)
			m[i].err = stat_one(be, dirfd, &m[i], max);
}

static int
read_one(struct spool_be *be, int dirfd, struct spool_msg *m)
{
	struct stat st;
	uint8_t probe;
	int fd, r;

	if ((r = spool_fault_hit(be->fs, "read")) != 0)
		return r;
	/* A FIFO or symlink renamed in since the stat must not block us. */
	fd = openat(
	    dirfd, m->name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if ((r = spool_opened(fd, m, &st)) == 0)
		r = read_all(fd, m->data, m->len);
	/* A writer still appending broke the spool contract: leave it. */
	if (r == 0 && pread(fd, &probe, 1, (off_t)m->len) > 0)
		r = -EAGAIN;
	close(fd);
	return r;
}

static void
sync_read(struct spool_be *be, int dirfd, struct spool_msg *m, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (m[i].err == 0 && !m[i].skip)
			m[i].err = read_one(be, dirfd, &m[i]);
}

static int
write_one(struct spool_be *be, int dirfd, struct spool_msg *m, bool durable)
{
	int fd, r = 0;
	ssize_t w;
	size_t want = m->iov[0].iov_len + m->iov[1].iov_len;

	/*
	 * Exclusive: never through a symlink or over a file someone put at
	 * our name; stale copies are recovery's to remove. The source's
	 * mode, so the copy is never more readable than the message.
	 */
	fd = openat(dirfd, m->tmp,
	    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    (mode_t)(m->mode & 0666));
	if (fd < 0)
		return -errno;
	m->created = true;
	if ((r = spool_fault_hit(be->fs, "write")) == 0) {
		do {
			w = writev(fd, m->iov, 2);
		} while (w < 0 && errno == EINTR);
		if (w < 0)
			r = -errno;
		else if ((size_t)w != want)
			r = -EIO; /* short write: disk full */
	}
	if (r == 0 && durable && (r = spool_fault_hit(be->fs, "fsync")) == 0 &&
	    fsync(fd) != 0)
		r = -errno;
	if (close(fd) != 0 && r == 0)
		r = -errno;
	if (r != 0) {
		unlinkat(dirfd, m->tmp, 0);
		m->created = false;
	}
	return r;
}

static void
sync_write(
    struct spool_be *be, int dirfd, struct spool_msg *m, size_t n, bool durable)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (m[i].err == 0 && !m[i].skip)
			m[i].err = write_one(be, dirfd, &m[i], durable);
}

static void
sync_rename(struct spool_be *be, int odir, int a, int ndir, int b,
    struct spool_msg *m, size_t n, unsigned flags)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (m[i].err != 0 || m[i].skip)
			continue;
		if ((m[i].err = spool_fault_hit(be->fs, "rename")) != 0)
			continue;
		if (renameat2(odir, spool_msg_file(&m[i], a), ndir,
		        spool_msg_file(&m[i], b), flags) != 0)
			m[i].err = -errno;
	}
}

static void
sync_unlink(
    struct spool_be *be, int dirfd, int a, struct spool_msg *m, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (m[i].err != 0 || m[i].skip)
			continue;
		if ((m[i].err = spool_fault_hit(be->fs, "unlink")) != 0)
			continue;
		if (unlinkat(dirfd, spool_msg_file(&m[i], a), 0) != 0)
			m[i].err = -errno;
	}
}

static int
sync_fsync_dir(struct spool_be *be, int dirfd)
{
	int r;

	if ((r = spool_fault_hit(be->fs, "fsync")) != 0)
		return r;
	return fsync(dirfd) == 0 ? 0 : -errno;
}

const struct spool_be_ops spool_be_sync = {
	"sync",
	sync_init,
	sync_fini,
	sync_stat,
	sync_read,
	sync_write,
	sync_rename,
	sync_unlink,
	sync_fsync_dir,
};
