/*
 * What both I/O backends share about one message: the names it is known
 * by, the check of what was actually opened, and the fault-injection
 * hook the crash and fault tests drive.
 */
#include "spool_io.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

int
spool_fault_hit(struct spool_faults *fs, const char *op)
{
	if (fs == NULL || fs->f == NULL ||
	    (strcmp(fs->f->op, op) != 0 && strcmp(fs->f->op, "any") != 0))
		return 0;
	if (atomic_fetch_add(&fs->calls, 1) + 1 != fs->f->nth)
		return 0;
	if (fs->f->crash != NULL)
		fs->f->crash();
	return -fs->f->err;
}

const char *
spool_msg_file(const struct spool_msg *m, int which)
{
	return which == SPOOL_BY_TMP ? m->tmp : m->name;
}

int
spool_opened(int fd, struct spool_msg *m, struct stat *st)
{
	if (fstat(fd, st) != 0)
		return -errno;
	/* The name may have been renamed over since the stat. */
	if (!S_ISREG(st->st_mode))
		return -SPOOL_EFTYPE;
	if ((uint64_t)st->st_size != (uint64_t)m->len)
		return -EAGAIN;
	m->ino = (uint64_t)st->st_ino;
	m->mode = (unsigned)st->st_mode & 07777;
	return 0;
}
