/*
 * Start-up of a run: one hanko per spool (flock), the directories, and
 * crash recovery, which finishes or undoes each step of spool.h's
 * protocol so every message ends up in exactly one place.
 */
#include "spool_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

bool
spool_path(char *out, const char *pre, const char *name)
{
	return (size_t)snprintf(out, SPOOL_PATH_MAX, "%s%s", pre, name) <
	    SPOOL_PATH_MAX;
}

int
spool_fault_hit(struct spool_faults *fs, const char *op)
{
	if (fs == NULL || fs->f == NULL || strcmp(fs->f->op, op) != 0)
		return 0;
	if (atomic_fetch_add(&fs->calls, 1) + 1 != fs->f->nth)
		return 0;
	return -fs->f->err;
}

static int
write_file(int dirfd, const char *path, const char *text, bool durable)
{
	size_t len = strlen(text);
	int fd, e = 0;

	fd =
	    openat(dirfd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len || (durable && fsync(fd) != 0))
		e = errno != 0 ? -errno : -EIO;
	if (close(fd) != 0 && e == 0)
		e = -errno;
	return e;
}

int
spool_write_reason_tmp(struct spool_runner *r, const struct spool_msg *m)
{
	char name[SPOOL_PATH_MAX], path[SPOOL_PATH_MAX], text[200];
	int e;

	snprintf(name, sizeof(name), "%s.reason", m->name);
	snprintf(text, sizeof(text), "%s\n", m->reason);
	if (!spool_path(path, SPOOL_TMP, name))
		return -ENAMETOOLONG;
	if ((e = spool_fault_hit(&r->faults, "write")) != 0)
		return e;
	return write_file(r->failed_fd, path, text, r->c->durable);
}

void
spool_publish_reason(struct spool_runner *r, const char *msgname)
{
	char name[SPOOL_PATH_MAX], path[SPOOL_PATH_MAX];

	snprintf(name, sizeof(name), "%s.reason", msgname);
	if (spool_path(path, SPOOL_TMP, name))
		renameat(r->failed_fd, path, r->failed_fd, name);
}

void
spool_write_reason(
    struct spool_runner *r, const char *msgname, const char *reason)
{
	char name[SPOOL_PATH_MAX], text[200];

	snprintf(name, sizeof(name), "%s.reason", msgname);
	snprintf(text, sizeof(text), "%s\n", reason);
	(void)write_file(r->failed_fd, name, text, r->c->durable);
}

static int
open_dir(const char *path, bool create, char *err, size_t errlen)
{
	int fd;

	if (create && mkdir(path, 0755) != 0 && errno != EEXIST) {
		snprintf(
		    err, errlen, "cannot create %s: %s", path, strerror(errno));
		return -1;
	}
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		snprintf(err, errlen, "cannot open directory %s: %s", path,
		    strerror(errno));
	return fd;
}

static bool
exists_at(int dirfd, const char *name)
{
	struct stat st;

	return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* A done entry: publish its temporary copy if there is one, then forget. */
static void
recover_done(struct spool_runner *r, const char *name)
{
	char tmp[SPOOL_PATH_MAX];

	if (spool_path(tmp, SPOOL_TMP, name) && exists_at(r->out_fd, tmp)) {
		if (renameat2(r->out_fd, tmp, r->out_fd, name,
		        RENAME_NOREPLACE) != 0) {
			/* Name taken: keep the message, in failed_dir. */
			unlinkat(r->out_fd, tmp, 0);
			if (renameat2(r->done_fd, name, r->failed_fd, name,
			        RENAME_NOREPLACE) == 0)
				spool_write_reason(r, name,
				    "out_dir already "
				    "holds a file of this name; not replaced");
			return;
		}
		atomic_fetch_add(&r->done, 1);
	}
	unlinkat(r->done_fd, name, 0);
}

/* Call fn for each entry of dirfd whose name starts with pre. */
static int
each_entry(struct spool_runner *r, int dirfd, const char *pre,
    void (*fn)(struct spool_runner *, const char *))
{
	size_t plen = strlen(pre);
	struct dirent *de;
	DIR *d;
	int fd;

	if ((fd = dup(dirfd)) < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 ||
		    strncmp(de->d_name, pre, plen) != 0)
			continue;
		fn(r, de->d_name);
	}
	closedir(d);
	return 0;
}

/* An uncommitted temporary copy: its source is still in the spool. */
static void
recover_tmp_out(struct spool_runner *r, const char *name)
{
	unlinkat(r->out_fd, name, 0);
}

/* A reason waiting for its message: publish it if the message moved. */
static void
recover_tmp_failed(struct spool_runner *r, const char *tmpname)
{
	char msg[SPOOL_PATH_MAX];
	size_t len;

	snprintf(msg, sizeof(msg), "%s", tmpname + strlen(SPOOL_TMP));
	len = strlen(msg);
	if (len > 7 && strcmp(msg + len - 7, ".reason") == 0) {
		msg[len - 7] = '\0';
		if (exists_at(r->failed_fd, msg)) {
			spool_publish_reason(r, msg);
			return;
		}
	}
	unlinkat(r->failed_fd, tmpname, 0);
}

static int
recover(struct spool_runner *r)
{
	int e;

	if ((e = each_entry(r, r->done_fd, "", recover_done)) != 0 ||
	    (e = each_entry(r, r->out_fd, SPOOL_TMP, recover_tmp_out)) != 0 ||
	    (e = each_entry(r, r->failed_fd, SPOOL_TMP, recover_tmp_failed)) !=
	        0)
		return e;
	if (fsync(r->out_fd) != 0 || fsync(r->done_fd) != 0 ||
	    fsync(r->failed_fd) != 0 || fsync(r->spool_fd) != 0)
		return -errno;
	return 0;
}

static int
open_all(struct spool_runner *r, char *err, size_t errlen)
{
	const struct spool_conf *c = r->c;
	struct stat a, b;

	if ((r->spool_fd = open_dir(c->spool_dir, false, err, errlen)) < 0 ||
	    (r->out_fd = open_dir(c->out_dir, true, err, errlen)) < 0 ||
	    (r->failed_fd = open_dir(c->failed_dir, true, err, errlen)) < 0)
		return -EINVAL;
	if (mkdirat(r->spool_fd, SPOOL_DONE, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s/%s: %s", c->spool_dir,
		    SPOOL_DONE, strerror(errno));
		return -errno;
	}
	r->done_fd =
	    openat(r->spool_fd, SPOOL_DONE, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r->done_fd < 0 || flock(r->done_fd, LOCK_EX | LOCK_NB) != 0) {
		snprintf(err, errlen, "%s: %s", c->spool_dir,
		    errno == EWOULDBLOCK ? "another hanko is processing this "
		                           "spool"
		                         : strerror(errno));
		return -EBUSY;
	}
	if (fstat(r->spool_fd, &a) != 0 || fstat(r->failed_fd, &b) != 0 ||
	    a.st_dev != b.st_dev) {
		snprintf(err, errlen,
		    "the failed directory %s must be on the "
		    "spool's file system (messages move there by rename)",
		    c->failed_dir);
		return -EXDEV;
	}
	return 0;
}

int
spool_recover(struct spool_runner *r, char *err, size_t errlen)
{
	int e;

	if ((e = open_all(r, err, errlen)) != 0)
		return e;
	if ((e = recover(r)) != 0) {
		snprintf(err, errlen, "crash recovery: %s", strerror(-e));
		return e;
	}
	return 0;
}
