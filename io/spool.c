/*
 * The batch pipeline: workers take names from one shared directory stream,
 * read, call the work callback and hand off in grouped, durable steps (see
 * spool.h for the protocol and why it is exactly-once).
 */
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/arena.h"
#include "spool_internal.h"

/* Read at most this many bytes per worker sub-batch (bounds memory). */
#define SUBBATCH_BYTES ((size_t)64 << 20)

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
spool_run_err(struct spool_runner *r, int err, bool fatal, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&r->lock);
	if (!fatal && r->c->report != NULL) {
		char what[sizeof(r->err)];

		va_start(ap, fmt);
		vsnprintf(what, sizeof(what), fmt, ap);
		va_end(ap);
		r->c->report(r->c->progress_ctx, what);
	} else if (r->first_err == 0) {
		r->first_err = err;
		va_start(ap, fmt);
		vsnprintf(r->err, sizeof(r->err), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&r->lock);
	if (fatal)
		atomic_store(&r->abort, true);
}

void
spool_tell(struct spool_runner *r, struct spool_worker *w,
    const struct spool_msg *m, const char *name, enum spool_fate fate,
    const char *reason)
{
	const struct spool_work *wk = r->c->work;
	struct spool_outcome o;

	if (wk->outcome == NULL)
		return;
	o.name = name;
	o.fate = fate;
	o.reason = reason != NULL ? reason : "";
	o.note = m != NULL ? m->note : NULL;
	o.seconds = m != NULL && m->t_taken > 0 ? now_s() - m->t_taken : 0;
	o.bytes = m != NULL ? m->len : 0;
	wk->outcome(wk->ctx, w != NULL ? w->state : NULL, &o);
}

/* Fill up to max names from the shared directory stream. */
static size_t
take_names(struct spool_runner *r, struct spool_msg *m, size_t max)
{
	struct dirent *de;
	size_t n = 0;

	pthread_mutex_lock(&r->lock);
	while (n < max && r->dir != NULL && (de = readdir(r->dir)) != NULL) {
		size_t len = strlen(de->d_name);

		/* Every name Linux allows fits (SPOOL_NAME_MAX). */
		if (de->d_name[0] == '.' || len > SPOOL_NAME_MAX ||
		    (de->d_type != DT_REG && de->d_type != DT_UNKNOWN) ||
		    spool_is_sidecar(de->d_name))
			continue;
		memset(&m[n], 0, offsetof(struct spool_msg, reason));
		memcpy(m[n].name, de->d_name, len + 1);
		n++;
	}
	pthread_mutex_unlock(&r->lock);
	return n;
}

static void
classify_read(struct spool_worker *w, struct spool_msg *m)
{
	struct spool_runner *r = w->r;
	char why[64];

	if (m->err == -EFBIG) {
		m->err = 0;
		m->verdict = SPOOL_FAIL;
		m->data = NULL;
		snprintf(m->reason, sizeof(m->reason),
		    "message larger than "
		    "%zu bytes",
		    r->c->max_msg);
	} else if (m->err == -ENOENT) {
		m->skip = true; /* gone: nothing to do */
	} else if (m->err == -SPOOL_EFTYPE || m->err == -ELOOP) {
		spool_run_err(r, m->err, false,
		    "%s: not a regular file when opened (renamed over "
		    "since listed); left alone",
		    m->name);
		atomic_fetch_add(&r->left, 1);
		spool_tell(r, w, m, m->name, SPOOL_LEFT, "not a regular file");
		m->skip = true;
	} else if (m->err != 0) {
		spool_run_err(
		    r, m->err, false, "%s: %s", m->name, strerror(-m->err));
		atomic_fetch_add(&r->left, 1);
		snprintf(why, sizeof(why), "read: %s", strerror(-m->err));
		spool_tell(r, w, m, m->name, SPOOL_LEFT, why);
		m->skip = true;
	}
}

/* Read m[0..n) into the worker's arena. */
static void
read_batch(struct spool_worker *w, struct spool_msg *m, size_t n)
{
	struct spool_runner *r = w->r;
	size_t i;

	for (i = 0; i < n; i++) {
		if (m[i].skip || m[i].verdict != SPOOL_OUT)
			m[i].err = m[i].err != 0 ? m[i].err : -ECANCELED;
		else if ((m[i].data = arena_alloc(&w->ar, m[i].len + 1)) ==
		    NULL)
			m[i].err = -ENOMEM;
	}
	r->be->read(w->be, r->spool_fd, m, n);
}

/* Read and run the work callback over m[0..n), within one arena. */
static void
work_batch(struct spool_worker *w, struct spool_msg *m, size_t n)
{
	struct spool_runner *r = w->r;
	size_t i;

	read_batch(w, m, n);
	for (i = 0; i < n; i++) {
		struct buf prefix;

		if (m[i].err == -ECANCELED)
			m[i].err = 0;
		if (m[i].skip || m[i].verdict != SPOOL_OUT)
			continue;
		if (m[i].err != 0) {
			classify_read(w, &m[i]);
			continue;
		}
		atomic_fetch_add(&r->bytes_in, m[i].len);
		buf_init_arena(&prefix, &w->ar);
		m[i].verdict =
		    r->c->work->work(w->state, span_make(m[i].data, m[i].len),
		        &w->ar, &prefix, m[i].reason, sizeof(m[i].reason));
		if (r->c->work->note != NULL)
			m[i].note = r->c->work->note(w->state);
		m[i].iov[0].iov_base = prefix.p;
		m[i].iov[0].iov_len = prefix.len;
		m[i].iov[1].iov_base = m[i].data;
		m[i].iov[1].iov_len = m[i].len;
	}
}

/* Read-only runs: hand the batch to work_batch, nothing moves. */
static void
work_readonly(struct spool_worker *w, struct spool_msg *m, size_t n)
{
	struct spool_item *items = arena_alloc(&w->ar, n * sizeof(*items));
	size_t i, k = 0;

	if (items == NULL)
		return;
	for (i = 0; i < n; i++) {
		if (m[i].err == -ECANCELED)
			m[i].err = 0;
		if (m[i].skip && m[i].err == -ENOENT)
			continue;
		items[k].name = m[i].name;
		items[k].msg = span_make(m[i].data, m[i].len);
		items[k].err = m[i].verdict == SPOOL_FAIL ? -EFBIG : m[i].err;
		if (items[k].err == 0)
			atomic_fetch_add(&w->r->bytes_in, m[i].len);
		k++;
	}
	w->r->c->work->work_batch(w->state, items, k);
	atomic_fetch_add(&w->r->done, k);
}

/* Stat a batch, then read, work and hand off in byte-bounded groups. */
static void
process_batch(struct spool_worker *w, struct spool_msg *m, size_t n)
{
	struct spool_runner *r = w->r;
	size_t i, start = 0;
	double t = r->c->work->outcome != NULL ? now_s() : 0;

	for (i = 0; i < n; i++)
		m[i].t_taken = t;
	r->be->stat(w->be, r->spool_fd, m, n, r->c->max_msg);
	for (i = 0; i < n; i++)
		if (m[i].err != 0)
			classify_read(w, &m[i]);
	while (start < n) {
		size_t end = start, bytes = 0;

		for (; end < n; end++) {
			size_t need = m[end].skip || m[end].verdict != SPOOL_OUT
			    ? 0
			    : m[end].len;

			if (end > start &&
			    (bytes >= SUBBATCH_BYTES ||
			        need > SUBBATCH_BYTES - bytes))
				break;
			bytes += need;
		}
		if (r->c->readonly) {
			read_batch(w, m + start, end - start);
			work_readonly(w, m + start, end - start);
		} else {
			work_batch(w, m + start, end - start);
			spool_handoff(w, m + start, end - start);
		}
		arena_reset(&w->ar);
		start = end;
	}
}

static void *
worker_main(void *arg)
{
	struct spool_worker *w = arg;
	struct spool_runner *r = w->r;
	size_t n;

	while (!atomic_load(&r->abort) &&
	    (r->c->stop == NULL || !atomic_load(r->c->stop)) &&
	    (n = take_names(r, w->msgs, r->c->batch)) > 0)
		process_batch(w, w->msgs, n);
	atomic_fetch_sub(&r->running, 1);
	return NULL;
}

static int
worker_init(struct spool_runner *r, struct spool_worker *w, unsigned idx)
{
	int e;

	w->r = r;
	w->idx = idx;
	w->state = r->wstate[idx];
	arena_init(&w->ar, r->c->alloc, (size_t)1 << 20, SIZE_MAX / 2);
	if ((w->msgs = calloc(r->c->batch, sizeof(*w->msgs))) == NULL)
		return -ENOMEM;
	if ((e = r->be->init(&w->be, (unsigned)r->c->batch * 4, &r->faults)) !=
	    0) {
		free(w->msgs);
		w->msgs = NULL;
	}
	return e;
}

static void
worker_fini(struct spool_runner *r, struct spool_worker *w)
{
	if (w->be != NULL)
		r->be->fini(w->be);
	arena_fini(&w->ar);
	free(w->msgs);
}

static void
collect(struct spool_runner *r, struct spool_stats *s,
    const struct spool_stats *base, double t0)
{
	s->done = base->done + atomic_load(&r->done);
	s->failed = base->failed + atomic_load(&r->failed);
	s->left = atomic_load(&r->left) + atomic_load(&r->held);
	s->bytes_in = base->bytes_in + atomic_load(&r->bytes_in);
	s->bytes_out = base->bytes_out + atomic_load(&r->bytes_out);
	s->seconds = base->seconds + (now_s() - t0);
}

/* Start the workers over one rewound directory stream; wait for them. */
static int
one_pass(struct spool_runner *r, struct spool_stats *s,
    const struct spool_stats *base, double t0)
{
	struct spool_worker *w = calloc(r->c->workers, sizeof(*w));
	pthread_t *th = calloc(r->c->workers, sizeof(*th));
	unsigned i, started = 0;
	double last = now_s();
	int e = 0;

	if (w == NULL || th == NULL) {
		free(w);
		free(th);
		return -ENOMEM;
	}
	rewinddir(r->dir);
	for (i = 0; i < r->c->workers && e == 0; i++) {
		if ((e = worker_init(r, &w[i], i)) != 0)
			break;
		atomic_fetch_add(&r->running, 1);
		if ((e = -pthread_create(&th[i], NULL, worker_main, &w[i])) !=
		    0) {
			atomic_fetch_sub(&r->running, 1);
			break;
		}
		started++;
	}
	while (atomic_load(&r->running) > 0) {
		usleep(20000);
		if (r->c->progress != NULL && now_s() - last >= 0.5) {
			last = now_s();
			collect(r, s, base, t0);
			r->c->progress(r->c->progress_ctx, s);
		}
	}
	for (i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < r->c->workers; i++)
		worker_fini(r, &w[i]);
	free(w);
	free(th);
	return e;
}

int
spool_runner_pass(struct spool_runner *r, struct spool_stats *s)
{
	struct spool_stats base = *s;
	uint64_t before;
	double t0 = now_s();
	int e = 0;

	/*
	 * Held messages are retried (the MTA may have freed their names),
	 * and names of ours found taken are cleared: between passes nothing
	 * is in flight, so recovery's judgement holds.
	 */
	if (!r->c->readonly && !r->recovered &&
	    (atomic_load(&r->held) > 0 || atomic_exchange(&r->stale, false)) &&
	    (e = spool_recover_run(r)) != 0)
		spool_run_err(r, e, false, "recovery: %s", strerror(-e));
	r->recovered = false;
	do {
		before = atomic_load(&r->done) + atomic_load(&r->failed);
		atomic_store(&r->left, 0);
		if ((e = one_pass(r, s, &base, t0)) != 0)
			break;
	} while (!r->c->readonly && !atomic_load(&r->abort) &&
	    (r->c->stop == NULL || !atomic_load(r->c->stop)) &&
	    atomic_load(&r->done) + atomic_load(&r->failed) > before);
	collect(r, s, &base, t0);
	if (r->first_err != 0 && s->first_err == 0) {
		s->first_err = r->first_err;
		snprintf(s->err, sizeof(s->err), "%s", r->err);
	}
	atomic_store(&r->done, 0);
	atomic_store(&r->failed, 0);
	atomic_store(&r->bytes_in, 0);
	atomic_store(&r->bytes_out, 0);
	if (e == 0 && atomic_load(&r->abort))
		e = r->first_err != 0 ? r->first_err : -EIO;
	return e;
}

int
spool_runner_new(const struct spool_conf *c, struct spool_runner **out,
    char *err, size_t errlen)
{
	struct spool_runner *r = calloc(1, sizeof(*r));
	unsigned i;
	int e, fd;

	if (r == NULL)
		return -ENOMEM;
	r->c = c;
	r->spool_fd = r->out_fd = r->failed_fd = r->done_fd = -1;
	r->faults.f = c->fault;
	pthread_mutex_init(&r->lock, NULL);
	r->be = c->io == SPOOL_IO_SYNC ||
	        (c->io == SPOOL_IO_AUTO && !spool_uring_available())
	    ? &spool_be_sync
	    : &spool_be_ring;
	if (c->readonly) {
		if ((r->spool_fd = open(c->spool_dir,
		         O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
			e = -errno;
			snprintf(err, errlen, "%s: %s", c->spool_dir,
			    strerror(errno));
			goto fail;
		}
	} else if ((e = spool_recover(r, err, errlen)) != 0) {
		goto fail;
	}
	if ((fd = dup(r->spool_fd)) < 0 || (r->dir = fdopendir(fd)) == NULL) {
		e = -errno;
		snprintf(err, errlen, "%s: %s", c->spool_dir, strerror(-e));
		goto fail;
	}
	e = -ENOMEM;
	if ((r->wstate = calloc(c->workers, sizeof(void *))) == NULL)
		goto fail;
	for (i = 0; i < c->workers; i++) {
		if ((r->wstate[i] = c->work->worker_new(c->work->ctx, i)) ==
		    NULL) {
			snprintf(err, errlen, "cannot set up worker %u", i);
			goto fail;
		}
	}
	*out = r;
	return 0;
fail:
	spool_runner_free(r);
	return e;
}

void
spool_runner_free(struct spool_runner *r)
{
	unsigned i;

	if (r == NULL)
		return;
	for (i = 0; r->wstate != NULL && i < r->c->workers; i++)
		if (r->wstate[i] != NULL)
			r->c->work->worker_free(r->wstate[i]);
	free(r->wstate);
	if (r->dir != NULL)
		closedir(r->dir);
	if (r->spool_fd >= 0)
		close(r->spool_fd);
	if (r->out_fd >= 0)
		close(r->out_fd);
	if (r->failed_fd >= 0)
		close(r->failed_fd);
	if (r->done_fd >= 0)
		close(r->done_fd); /* releases the lock */
	pthread_mutex_destroy(&r->lock);
	free(r);
}

int
spool_runner_spool_fd(const struct spool_runner *r)
{
	return r->spool_fd;
}

int
spool_backlog(const struct spool_runner *r, uint64_t *n, double *oldest_mtime)
{
	struct dirent *de;
	struct stat st;
	double oldest = 0;
	uint64_t k = 0;
	DIR *d;
	int fd;

	if ((fd = openat(r->spool_fd, ".", O_RDONLY | O_DIRECTORY |
	             O_CLOEXEC)) < 0)
		return -errno;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -errno;
	}
	while ((de = readdir(d)) != NULL) {
		double t;

		if (de->d_name[0] == '.' ||
		    (de->d_type != DT_REG && de->d_type != DT_UNKNOWN) ||
		    fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		k++;
		t = (double)st.st_mtim.tv_sec +
		    (double)st.st_mtim.tv_nsec * 1e-9;
		if (oldest == 0 || t < oldest)
			oldest = t;
	}
	closedir(d);
	*n = k;
	*oldest_mtime = oldest;
	return 0;
}

uint64_t
spool_count(const char *spool_dir)
{
	struct dirent *de;
	uint64_t n = 0;
	DIR *d;

	if ((d = opendir(spool_dir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.' && !spool_is_sidecar(de->d_name) &&
		    (de->d_type == DT_REG || de->d_type == DT_UNKNOWN);
	closedir(d);
	return n;
}

const char *
spool_io_str(enum spool_io io)
{
	switch (io) {
	case SPOOL_IO_AUTO:
		return "auto";
	case SPOOL_IO_URING:
		return "uring";
	case SPOOL_IO_SYNC:
		return "sync";
	}
	return "unknown";
}
