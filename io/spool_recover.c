/*
 * Start-up of a run: one hanko per spool (flock), the directories and the
 * layouts refused, and crash recovery, which finishes or undoes each step
 * of spool.h's protocol so every message ends up in exactly one place.
 * Recovery judges a message by its identity (the spool's id and the
 * message's inode, see spool.h), never by its name alone, and removes
 * nothing it has not proved to be published or held elsewhere.
 */
#include "spool_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

void
spool_tmp_name(
    const struct spool_runner *r, uint64_t ino, const char *suffix, char *out)
{
	snprintf(out, SPOOL_TMPNAME_MAX, "%s%s.%" PRIx64 "%s", SPOOL_TMP,
	    r->sid, ino, suffix);
}

/*
 * NAME.reason, or for a name too long for that, its first bytes and the
 * inode (still unique: RENAME_NOREPLACE settles any clash).
 */
static void
reason_name(const char *name, uint64_t ino, char *out)
{
	if (strlen(name) + sizeof(".reason") <= SPOOL_NAME_MAX + 1)
		snprintf(out, SPOOL_PATH_MAX, "%s.reason", name);
	else
		snprintf(out, SPOOL_PATH_MAX, "%.200s~%" PRIx64 ".reason", name,
		    ino);
}

/* Create dirfd/name exclusively (never through a symlink), durably. */
static int
write_excl(int dirfd, const char *name, const char *text, bool durable)
{
	size_t len = strlen(text);
	int fd, e = 0;

	fd = openat(dirfd, name,
	    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len || (durable && fsync(fd) != 0))
		e = errno != 0 ? -errno : -EIO;
	if (close(fd) != 0 && e == 0)
		e = -errno;
	if (e != 0)
		unlinkat(dirfd, name, 0);
	return e;
}

int
spool_write_reason_tmp(struct spool_runner *r, const struct spool_msg *m)
{
	char path[SPOOL_TMPNAME_MAX], text[200];
	int e;

	spool_tmp_name(r, m->ino, ".reason", path);
	snprintf(text, sizeof(text), "%s\n", m->reason);
	if ((e = spool_fault_hit(&r->faults, "write")) != 0)
		return e;
	return write_excl(r->failed_fd, path, text, r->c->durable);
}

void
spool_drop_reason_tmp(struct spool_runner *r, uint64_t ino)
{
	char path[SPOOL_TMPNAME_MAX];

	spool_tmp_name(r, ino, ".reason", path);
	unlinkat(r->failed_fd, path, 0);
}

void
spool_publish_reason(struct spool_runner *r, uint64_t ino, const char *msgname)
{
	char name[SPOOL_PATH_MAX], path[SPOOL_TMPNAME_MAX];

	spool_tmp_name(r, ino, ".reason", path);
	reason_name(msgname, ino, name);
	/* Never over a file (or symlink) someone else put there. */
	if (renameat2(r->failed_fd, path, r->failed_fd, name,
	        RENAME_NOREPLACE) != 0) {
		spool_run_err(r, -errno, false,
		    "%s: reason not written (%s exists); failed message kept",
		    msgname, name);
		unlinkat(r->failed_fd, path, 0);
	}
}

void
spool_held(struct spool_runner *r, const char *name, const char *why)
{
	atomic_fetch_add(&r->held, 1);
	spool_run_err(r, -EEXIST, false,
	    "%s: %s; held in %s/%s, retried "
	    "on every run",
	    name, why, r->c->spool_dir, SPOOL_DONE);
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

/*
 * A directory hanko keeps inside the spool: the spool's writer must not
 * be able to plant a symlink (or a directory of its own) there.
 */
static int
open_own_dir(int dirfd, const char *name, mode_t mode, bool must_own)
{
	struct stat st;
	int fd;

	if (mkdirat(dirfd, name, mode) != 0 && errno != EEXIST)
		return -1;
	fd = openat(
	    dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (must_own &&
	    (fstat(fd, &st) != 0 || st.st_uid != geteuid() ||
	        (st.st_mode & 022) != 0)) {
		close(fd);
		errno = EPERM;
		return -1;
	}
	return fd;
}

/* Is there a regular file in dirfd with this inode? Its name into name. */
static bool
find_ino(int dirfd, uint64_t ino, char *name)
{
	struct dirent *de;
	struct stat st;
	bool found = false;
	DIR *d;
	int fd;

	if ((fd = dup(dirfd)) < 0)
		return false;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return false;
	}
	rewinddir(d);
	while (!found && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' ||
		    fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		if (S_ISREG(st.st_mode) && (uint64_t)st.st_ino == ino) {
			snprintf(name, SPOOL_PATH_MAX, "%s", de->d_name);
			found = true;
		}
	}
	closedir(d);
	return found;
}

static void
sync_fd(struct spool_runner *r, int fd)
{
	if (r->c->durable)
		fsync(fd);
}

bool
spool_is_sidecar(const char *name)
{
	size_t len = strlen(name);

	return len > 4 && strcmp(name + len - 4, ".env") == 0;
}

int
spool_move_sidecar(struct spool_runner *r, int to_fd, const char *name)
{
	char env[SPOOL_NAME_MAX + 1];

	if (strlen(name) + 4 > SPOOL_NAME_MAX)
		return -ENOENT; /* no room for a sidecar's name */
	snprintf(env, sizeof(env), "%s.env", name);
	if (renameat2(r->spool_fd, env, to_fd, env, RENAME_NOREPLACE) != 0)
		return -errno;
	return 0;
}

/* The sidecar follows a message into failed_dir; a clash is reported. */
static void
sidecar_to_failed(struct spool_runner *r, const char *name)
{
	int e = spool_move_sidecar(r, r->failed_fd, name);

	if (e != 0 && e != -ENOENT)
		spool_run_err(r, e, false, "%s.env: %s; left in the spool",
		    name, strerror(-e));
}

/*
 * A committed message whose name is taken in out_dir: to failed_dir,
 * made durable before its signed copy goes (so a crash cannot leave a
 * done entry without copy that was never published), else held.
 */
bool
spool_to_failed(
    struct spool_runner *r, const char *name, uint64_t ino, const char *tmp)
{
	struct spool_msg m = { .ino = ino };

	/* The reason first, so recovery finds it if we die after the move. */
	snprintf(m.reason, sizeof(m.reason), "%s",
	    "out_dir already holds a file of this name; not replaced");
	if (spool_write_reason_tmp(r, &m) != 0 ||
	    (r->c->durable && fsync(r->failed_fd) != 0)) {
		spool_drop_reason_tmp(r, ino);
		spool_held(r, name, "no reason could be written in failed_dir");
		return false;
	}
	if (renameat2(r->done_fd, name, r->failed_fd, name, RENAME_NOREPLACE) !=
	    0) {
		spool_drop_reason_tmp(r, ino);
		spool_held(r, name, "name taken in out_dir and failed_dir");
		return false;
	}
	sidecar_to_failed(r, name);
	sync_fd(r, r->failed_fd);
	sync_fd(r, r->done_fd);
	unlinkat(r->out_fd, tmp, 0);
	spool_publish_reason(r, ino, name);
	atomic_fetch_add(&r->failed, 1);
	return true;
}

/* A done entry: publish its copy, or prove it was published, or hold. */
static void
recover_done(struct spool_runner *r, const char *name)
{
	char tmp[SPOOL_TMPNAME_MAX], legacy[SPOOL_PATH_MAX + 16];
	struct stat src, cp;
	int e;

	if (fstatat(r->done_fd, name, &src, AT_SYMLINK_NOFOLLOW) != 0)
		return;
	if (!S_ISREG(src.st_mode)) {
		spool_held(r, name, "not a regular file");
		return;
	}
	spool_tmp_name(r, (uint64_t)src.st_ino, "", tmp);
	if (fstatat(r->out_fd, tmp, &cp, AT_SYMLINK_NOFOLLOW) != 0) {
		snprintf(legacy, sizeof(legacy), "%s%s", SPOOL_TMP, name);
		if (errno != ENOENT) {
			spool_held(r, name, strerror(errno));
		} else if (fstatat(r->out_fd, legacy, &cp,
		               AT_SYMLINK_NOFOLLOW) == 0) {
			/* Left by a hanko that named copies by name. */
			spool_held(r, name, "an old-style copy is in out_dir");
		} else {
			/* Only a publish removes a committed copy. */
			unlinkat(r->done_fd, name, 0);
		}
		return;
	}
	if (!S_ISREG(cp.st_mode) || cp.st_uid != geteuid() ||
	    cp.st_nlink != 1 || cp.st_size < src.st_size) {
		/* Not the copy we wrote: sign the message again. */
		unlinkat(r->out_fd, tmp, 0);
		if (renameat2(r->done_fd, name, r->spool_fd, name,
		        RENAME_NOREPLACE) != 0)
			spool_held(r, name, "its copy in out_dir was replaced");
		return;
	}
	/* The sidecar goes first, so it is in place before the message. */
	if ((e = spool_move_sidecar(r, r->out_fd, name)) == -EEXIST) {
		spool_to_failed(r, name, (uint64_t)src.st_ino, tmp);
		return;
	} else if (e != 0 && e != -ENOENT) {
		spool_held(r, name, strerror(-e));
		return;
	}
	if (renameat2(r->out_fd, tmp, r->out_fd, name, RENAME_NOREPLACE) != 0) {
		if (errno != EEXIST)
			spool_held(r, name, strerror(errno));
		else if (spool_to_failed(r, name, (uint64_t)src.st_ino, tmp))
			spool_tell(r, NULL, NULL, name, SPOOL_FAILED,
			    "recovered: out_dir already holds a file of this "
			    "name");
		return;
	}
	sync_fd(r, r->out_fd);
	unlinkat(r->done_fd, name, 0);
	atomic_fetch_add(&r->done, 1);
	spool_tell(r, NULL, NULL, name, SPOOL_PUBLISHED, "recovered");
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

/* The inode a name of ours carries, after the prefix; false if none. */
static bool
tmp_ino(const struct spool_runner *r, const char *name, uint64_t *ino,
    const char **rest)
{
	char pre[SPOOL_TMPNAME_MAX], *end;

	snprintf(pre, sizeof(pre), "%s%s.", SPOOL_TMP, r->sid);
	if (strncmp(name, pre, strlen(pre)) != 0)
		return false;
	errno = 0;
	*ino = strtoull(name + strlen(pre), &end, 16);
	*rest = end;
	return errno == 0 && end != name + strlen(pre);
}

/*
 * One of our copies in out_dir with no done entry: uncommitted (its
 * source is still in the spool) or its message moved to failed_dir.
 * A held message keeps its copy. Other spools' copies are never ours.
 */
static void
recover_tmp_out(struct spool_runner *r, const char *name)
{
	char held[SPOOL_PATH_MAX];
	const char *rest;
	uint64_t ino;

	if (!tmp_ino(r, name, &ino, &rest) || *rest != '\0')
		return;
	if (!find_ino(r->done_fd, ino, held))
		unlinkat(r->out_fd, name, 0);
}

/* A reason waiting for its message: publish it if the message moved. */
static void
recover_tmp_failed(struct spool_runner *r, const char *name)
{
	char msg[SPOOL_PATH_MAX];
	const char *rest;
	uint64_t ino;

	if (!tmp_ino(r, name, &ino, &rest) || strcmp(rest, ".reason") != 0)
		return;
	if (find_ino(r->failed_fd, ino, msg))
		spool_publish_reason(r, ino, msg);
	else
		unlinkat(r->failed_fd, name, 0);
}

int
spool_recover_run(struct spool_runner *r)
{
	char pre[SPOOL_TMPNAME_MAX];
	int e;

	atomic_store(&r->held, 0);
	snprintf(pre, sizeof(pre), "%s%s.", SPOOL_TMP, r->sid);
	if ((e = each_entry(r, r->done_fd, "", recover_done)) != 0 ||
	    (e = each_entry(r, r->out_fd, pre, recover_tmp_out)) != 0 ||
	    (e = each_entry(r, r->failed_fd, pre, recover_tmp_failed)) != 0)
		return e;
	if (r->c->durable &&
	    (fsync(r->out_fd) != 0 || fsync(r->done_fd) != 0 ||
	        fsync(r->failed_fd) != 0 || fsync(r->spool_fd) != 0))
		return -errno;
	return 0;
}

/*
 * The spool's id in the names it owns elsewhere: its file system's id
 * (from the UUID on disk file systems, so it survives a reboot that
 * renumbers devices; st_dev where there is none) and its inode.
 */
static void
spool_id(struct spool_runner *r, const struct stat *st)
{
	struct statfs sfs;
	uint64_t fs = (uint64_t)st->st_dev;
	unsigned v[2];

	if (fstatfs(r->spool_fd, &sfs) == 0) {
		memcpy(v, &sfs.f_fsid, sizeof(v));
		if (v[0] != 0 || v[1] != 0)
			fs = (uint64_t)v[0] << 32 | v[1];
	}
	snprintf(r->sid, sizeof(r->sid), "%" PRIx64 "-%" PRIx64, fs,
	    (uint64_t)st->st_ino);
}

/*
 * Layouts where one directory feeds another (the spool re-signing its
 * own output, unsigned mail or reasons published to the MTA), compared
 * by device and inode so no spelling of a path slips through.
 */
static int
check_layout(struct spool_runner *r, char *err, size_t errlen)
{
	const struct spool_conf *c = r->c;
	char done[PATH_MAX];
	const char *name[4] = { c->spool_dir, c->out_dir, r->failed_path,
		done };
	int fd[4] = { r->spool_fd, r->out_fd, r->failed_fd, r->done_fd };
	struct stat st[4];
	int i, j;

	snprintf(done, sizeof(done), "%s/%s", c->spool_dir, SPOOL_DONE);
	for (i = 0; i < 4; i++)
		if (fstat(fd[i], &st[i]) != 0)
			return -errno;
	for (i = 0; i < 4; i++)
		for (j = i + 1; j < 4; j++)
			if (st[i].st_dev == st[j].st_dev &&
			    st[i].st_ino == st[j].st_ino) {
				snprintf(err, errlen,
				    "%s and %s are the same directory; the "
				    "spool, out and failed directories must "
				    "not feed one another",
				    name[i], name[j]);
				return -ELOOP;
			}
	spool_id(r, &st[0]);
	return 0;
}

static int
open_all(struct spool_runner *r, char *err, size_t errlen)
{
	const struct spool_conf *c = r->c;
	struct stat a, b;
	int e;

	if ((r->spool_fd = open_dir(c->spool_dir, false, err, errlen)) < 0 ||
	    (r->out_fd = open_dir(c->out_dir, true, err, errlen)) < 0)
		return -EINVAL;
	if (c->failed_dir != NULL) {
		snprintf(r->failed_path, sizeof(r->failed_path), "%s",
		    c->failed_dir);
		if ((r->failed_fd =
		            open_dir(c->failed_dir, true, err, errlen)) < 0)
			return -EINVAL;
	} else {
		snprintf(r->failed_path, sizeof(r->failed_path), "%s/failed",
		    c->spool_dir);
		if ((r->failed_fd = open_own_dir(
		         r->spool_fd, "failed", 0755, false)) < 0) {
			snprintf(err, errlen, "%s: %s", r->failed_path,
			    strerror(errno));
			return -EINVAL;
		}
	}
	if ((r->done_fd = open_own_dir(r->spool_fd, SPOOL_DONE, 0700, true)) <
	    0) {
		snprintf(err, errlen, "%s/%s: %s", c->spool_dir, SPOOL_DONE,
		    errno == EPERM ? "not a directory of hanko's own"
		                   : strerror(errno));
		return -EINVAL;
	}
	if ((e = check_layout(r, err, errlen)) != 0)
		return e;
	if (flock(r->done_fd, LOCK_EX | LOCK_NB) != 0) {
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
		    r->failed_path);
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
	if ((e = spool_recover_run(r)) != 0) {
		snprintf(err, errlen, "crash recovery: %s", strerror(-e));
		return e;
	}
	r->recovered = true;
	return 0;
}
