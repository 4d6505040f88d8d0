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
#include <sys/stat.h>
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

/*
 * Errors that concern one message (a name taken, something not a regular
 * file where one was expected): it stays where it is, reported, and the
 * run goes on. Any other error is the system's and stops the run.
 */
static bool
per_message(int err)
{
	return err == -EEXIST || err == -ENOTEMPTY || err == -ELOOP ||
	    err == -EISDIR || err == -ENOTDIR || err == -SPOOL_EFTYPE ||
	    err == -ENAMETOOLONG;
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
		/* Our own name taken: only a copy or reason is created. */
		if (m[i].err == -EEXIST &&
		    (strcmp(step, "write") == 0 ||
		        strcmp(step, "reason for") == 0))
			atomic_store(&r->stale, true);
		if (m[i].err != tolerated) {
			char why[96];

			spool_run_err(r, m[i].err, !per_message(m[i].err),
			    "%s %s: %s; %s", step, m[i].name,
			    strerror(-m[i].err),
			    strcmp(step, "publish") == 0
			        ? "committed, published by the next run"
			        : "left in the spool");
			atomic_fetch_add(&r->left, 1);
			snprintf(why, sizeof(why), "%s: %s", step,
			    strerror(-m[i].err));
			spool_tell(r, w, &m[i], m[i].name, SPOOL_LEFT, why);
		}
		m[i].skip = true;
	}
}

/* An uncommitted copy: only ever one this run created. */
static void
drop_tmp(struct spool_runner *r, struct spool_msg *m)
{
	if (m->created)
		unlinkat(r->out_fd, m->tmp, 0);
	m->created = false;
}

/*
 * The commit moved whatever had the message's name: if the spool's
 * writer replaced it after it was read, what was committed is not what
 * was signed. Put it back (or in failed_dir) and drop the copy.
 */
static void
check_committed(struct spool_worker *w, struct spool_msg *m, size_t n)
{
	struct spool_runner *r = w->r;
	struct stat st;
	size_t i;

	for (i = 0; i < n; i++) {
		if (m[i].err != 0 || m[i].skip)
			continue;
		if (fstatat(r->done_fd, m[i].name, &st, AT_SYMLINK_NOFOLLOW) ==
		        0 &&
		    (uint64_t)st.st_ino == m[i].ino)
			continue;
		if (renameat2(r->done_fd, m[i].name, r->spool_fd, m[i].name,
		        RENAME_NOREPLACE) != 0 &&
		    renameat2(r->done_fd, m[i].name, r->failed_fd, m[i].name,
		        RENAME_NOREPLACE) != 0) {
			spool_held(r, m[i].name, "replaced while being signed");
		} else {
			spool_run_err(r, -EAGAIN, false,
			    "%s: replaced in the spool while being signed; "
			    "not signed, put back (or in failed_dir)",
			    m[i].name);
			atomic_fetch_add(&r->left, 1);
		}
		spool_tell(r, w, &m[i], m[i].name, SPOOL_LEFT,
		    "replaced while being signed");
		drop_tmp(r, &m[i]);
		m[i].skip = true;
	}
}

/* Committed, but out_dir holds the name: to failed_dir, or held. */
static void
taken_in_out(struct spool_worker *w, struct spool_msg *m)
{
	struct spool_runner *r = w->r;

	if (spool_to_failed(r, m->name, m->ino, m->tmp))
		spool_tell(r, w, m, m->name, SPOOL_FAILED,
		    "out_dir already holds a file of this name");
	else
		spool_tell(r, w, m, m->name, SPOOL_LEFT,
		    "held: name taken in out_dir and failed_dir");
	m->skip = true;
}

static void
handoff_out(struct spool_worker *w, struct spool_msg *m, size_t n)
{
	struct spool_runner *r = w->r;
	const struct spool_be_ops *be = r->be;
	size_t i;

	/* 1. Durable copies in out_dir, named by the source's identity. */
	for (i = 0; i < n; i++)
		spool_tmp_name(r, m[i].ino, "", m[i].tmp);
	be->write(w->be, r->out_fd, m, n, r->c->durable);
	step_failed(w, m, n, "write", 0);
	sync_dir(w, r->out_fd, "out_dir");
	if (atomic_load(&r->abort))
		return; /* recovery removes the uncommitted copies */
	/*
	 * 2. Commit: the source moves to the done directory, never over a
	 * held message of the same name.
	 */
	be->rename(w->be, r->spool_fd, SPOOL_BY_NAME, r->done_fd, SPOOL_BY_NAME,
	    m, n, RENAME_NOREPLACE);
	for (i = 0; i < n; i++)
		if (m[i].err != 0 && !m[i].skip)
			drop_tmp(r, &m[i]);
	step_failed(w, m, n, "commit", -ENOENT);
	check_committed(w, m, n);
	sync_dir(w, r->done_fd, SPOOL_DONE);
	sync_dir(w, r->spool_fd, "the spool");
	/*
	 * 3. Publish, never replacing a file the MTA has not taken yet; a
	 * sidecar NAME.env goes first, so it is in place before NAME (as
	 * the spool's writer put it). A name taken there fails the message
	 * rather than publish it beside someone else's envelope.
	 */
	for (i = 0; i < n; i++) {
		int e;

		if (m[i].skip || m[i].err != 0)
			continue;
		if ((e = spool_move_sidecar(r, r->out_fd, m[i].name)) ==
		    -EEXIST) {
			spool_to_failed(r, m[i].name, m[i].ino, m[i].tmp);
			m[i].skip = true;
		} else if (e != 0 && e != -ENOENT) {
			spool_held(r, m[i].name, strerror(-e));
			m[i].skip = true;
		}
	}
	be->rename(w->be, r->out_fd, SPOOL_BY_TMP, r->out_fd, SPOOL_BY_NAME, m,
	    n, RENAME_NOREPLACE);
	for (i = 0; i < n; i++) {
		if (m[i].skip)
			continue;
		if (m[i].err == -EEXIST) {
			taken_in_out(w, &m[i]);
		} else if (m[i].err == 0) {
			atomic_fetch_add(&r->bytes_out,
			    m[i].iov[0].iov_len + m[i].iov[1].iov_len);
		} else if (per_message(m[i].err)) {
			spool_held(r, m[i].name, strerror(-m[i].err));
			spool_tell(r, w, &m[i], m[i].name, SPOOL_LEFT,
			    "held: publish failed");
			m[i].skip = true;
		}
	}
	step_failed(w, m, n, "publish", 0);
	sync_dir(w, r->out_fd, "out_dir");
	/* 4. Forget the source; recovery would do it too. */
	be->unlink(w->be, r->done_fd, SPOOL_BY_NAME, m, n);
	for (i = 0; i < n; i++) {
		if (m[i].skip)
			continue;
		atomic_fetch_add(&r->done, 1);
		spool_tell(r, w, &m[i], m[i].name, SPOOL_PUBLISHED, NULL);
	}
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
	/* Never over a file of the same name: that message stays put. */
	r->be->rename(w->be, r->spool_fd, SPOOL_BY_NAME, r->failed_fd,
	    SPOOL_BY_NAME, m, n, RENAME_NOREPLACE);
	for (i = 0; i < n; i++)
		if (m[i].err != 0 && !m[i].skip)
			spool_drop_reason_tmp(r, m[i].ino);
	step_failed(w, m, n, "move to failed_dir", -ENOENT);
	sync_dir(w, r->failed_fd, "failed_dir");
	sync_dir(w, r->spool_fd, "the spool");
	for (i = 0; i < n; i++) {
		int e;

		if (m[i].skip)
			continue;
		/* The sidecar follows its message. */
		e = spool_move_sidecar(r, r->failed_fd, m[i].name);
		if (e != 0 && e != -ENOENT)
			spool_run_err(r, e, false,
			    "%s.env: %s; left in the spool", m[i].name,
			    strerror(-e));
		spool_publish_reason(r, m[i].ino, m[i].name);
		atomic_fetch_add(&r->failed, 1);
		spool_tell(r, w, &m[i], m[i].name, SPOOL_FAILED, m[i].reason);
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
