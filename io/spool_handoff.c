/*
 * The hand-off steps of spool.h, each applied to a group of messages so
 * one directory sync covers the whole group. Backends skip messages whose
 * err or skip is set; a step that fails for a message takes it out of the
 * pipeline, where recovery or the next pass finds it safe.
 */
#include "spool_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void
sync_dir(struct spool_worker *w, int fd, const char *what)
{
	struct spool_runner *r = w->r;
	int e;

	if (r->c->durable && (e = r->be->fsync_dir(w->be, fd)) != 0)
		spool_run_err(
		    r, e, true, "fsync of %s: %s", what, strerror(-e));
}

/* Take the messages a step failed for out of the pipeline. */
static void
step_failed(struct spool_worker *w, struct spool_msg *m, size_t n,
    const char *step, int tolerated)
{
	struct spool_runner *r = w->r;
	size_t i;

	for (i = 0; i < n; i++) {
		if (m[i].err == 0 || m[i].skip)
			continue;
		if (m[i].err != tolerated) {
			spool_run_err(r, m[i].err, true, "%s %s: %s", step,
			    m[i].name, strerror(-m[i].err));
			atomic_fetch_add(&r->left, 1);
		}
		m[i].skip = true;
	}
}

static void
drop_tmp(int dirfd, const struct spool_msg *m, const char *suffix)
{
	char path[SPOOL_PATH_MAX], name[SPOOL_PATH_MAX];

	if ((size_t)snprintf(name, sizeof(name), "%s%s", m->name, suffix) <
	        sizeof(name) &&
	    spool_path(path, SPOOL_TMP, name))
		unlinkat(dirfd, path, 0);
}

/*
 * A committed message whose name is taken in out_dir: keep it, in
 * failed_dir, rather than replace what the MTA may not have read yet.
 */
static void
publish_conflict(struct spool_worker *w, struct spool_msg *m)
{
	struct spool_runner *r = w->r;

	drop_tmp(r->out_fd, m, "");
	if (renameat2(r->done_fd, m->name, r->failed_fd, m->name,
	        RENAME_NOREPLACE) == 0) {
		spool_write_reason(r, m->name,
		    "out_dir already holds a file "
		    "of this name; not replaced");
		atomic_fetch_add(&r->failed, 1);
	} else {
		spool_run_err(r, -errno, false,
		    "%s: name taken in out_dir "
		    "and failed_dir; left in %s",
		    m->name, SPOOL_DONE);
		atomic_fetch_add(&r->left, 1);
	}
	m->skip = true;
}

static void
handoff_out(struct spool_worker *w, struct spool_msg *m, size_t n)
{
	struct spool_runner *r = w->r;
	const struct spool_be_ops *be = r->be;
	size_t i;

	/* 1. Durable temporary copies in out_dir. */
	be->write(w->be, r->out_fd, m, n, r->c->durable);
	step_failed(w, m, n, "write", 0);
	sync_dir(w, r->out_fd, "out_dir");
	if (atomic_load(&r->abort))
		return; /* recovery removes the uncommitted copies */
	/* 2. Commit: the source moves to the done directory. */
	be->rename(w->be, r->spool_fd, "", r->done_fd, "", m, n, 0);
	for (i = 0; i < n; i++)
		if (m[i].err != 0 && !m[i].skip)
			drop_tmp(r->out_fd, &m[i], "");
	step_failed(w, m, n, "commit", -ENOENT);
	sync_dir(w, r->done_fd, SPOOL_DONE);
	sync_dir(w, r->spool_fd, "the spool");
	/* 3. Publish, never replacing a file the MTA has not taken yet. */
	be->rename(
	    w->be, r->out_fd, SPOOL_TMP, r->out_fd, "", m, n, RENAME_NOREPLACE);
	for (i = 0; i < n; i++) {
		if (m[i].err == -EEXIST && !m[i].skip)
			publish_conflict(w, &m[i]);
		else if (m[i].err == 0 && !m[i].skip)
			atomic_fetch_add(&r->bytes_out,
			    m[i].iov[0].iov_len + m[i].iov[1].iov_len);
	}
	step_failed(w, m, n, "publish", 0);
	sync_dir(w, r->out_fd, "out_dir");
	/* 4. Forget the source; recovery would do it too. */
	be->unlink(w->be, r->done_fd, "", m, n);
	for (i = 0; i < n; i++)
		if (!m[i].skip)
			atomic_fetch_add(&r->done, 1);
}

/* Failed messages move by rename (same file system), reason beside. */
static void
handoff_failed(struct spool_worker *w, struct spool_msg *m, size_t n)
{
	struct spool_runner *r = w->r;
	size_t i;

	for (i = 0; i < n; i++)
		if (!m[i].skip &&
		    (m[i].err = spool_write_reason_tmp(r, &m[i])) != 0)
			step_failed(w, &m[i], 1, "reason for", 0);
	sync_dir(w, r->failed_fd, "failed_dir");
	if (atomic_load(&r->abort))
		return;
	r->be->rename(
	    w->be, r->spool_fd, "", r->failed_fd, "", m, n, RENAME_NOREPLACE);
	for (i = 0; i < n; i++)
		if (m[i].err != 0 && !m[i].skip)
			drop_tmp(r->failed_fd, &m[i], ".reason");
	step_failed(w, m, n, "move to failed_dir", -ENOENT);
	sync_dir(w, r->failed_fd, "failed_dir");
	sync_dir(w, r->spool_fd, "the spool");
	for (i = 0; i < n; i++) {
		if (m[i].skip)
			continue;
		spool_publish_reason(r, m[i].name);
		atomic_fetch_add(&r->failed, 1);
	}
}

/* Stable partition: messages to hand off first, failed ones after. */
static size_t
partition(struct spool_msg *m, size_t n, struct spool_msg *tmp)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++) {
		if (m[i].verdict != SPOOL_OUT)
			continue;
		if (i != k) {
			*tmp = m[i];
			memmove(&m[k + 1], &m[k], (i - k) * sizeof(*m));
			m[k] = *tmp;
		}
		k++;
	}
	return k;
}

void
spool_handoff(struct spool_worker *w, struct spool_msg *m, size_t n)
{
	size_t k = partition(m, n, &w->tmp);

	handoff_out(w, m, k);
	if (!atomic_load(&w->r->abort))
		handoff_failed(w, m + k, n - k);
}
