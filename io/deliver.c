/*
 * The delivery loop of deliver.h: a shared directory stream, one thread
 * per connection, and the spool updates that make a hand-off to the MTA
 * happen once (outside the documented in-flight window).
 */
#include "deliver.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/env.h"
#include "core/sidecar.h"
#include "deliver_int.h"

#define BACKOFF_CAP      65536 /* deferred messages remembered */

int
deliver_url_parse(
    const char *url, struct deliver_conf *c, char *err, size_t errlen)
{
	struct smtp_target *t = &c->target;
	const char *hp, *colon;
	size_t hlen;

	memset(t, 0, sizeof(*t));
	if (strcmp(url, "sendmail") == 0 || strncmp(url, "sendmail:", 9) == 0) {
		const char *p = url[8] == ':' ? url + 9 : "/usr/sbin/sendmail";

		if (p[0] != '/' || strlen(p) >= sizeof(c->sendmail))
			goto bad;
		c->kind = DELIVER_SENDMAIL;
		snprintf(c->sendmail, sizeof(c->sendmail), "%s", p);
		return 0;
	}
	if (strncmp(url, "lmtp:unix:", 10) == 0) {
		if (url[10] == '\0' || strlen(url + 10) >= sizeof(t->path))
			goto bad;
		c->kind = DELIVER_LMTP;
		t->lmtp = t->unix_path = true;
		snprintf(t->path, sizeof(t->path), "%s", url + 10);
		return 0;
	}
	if (strncmp(url, "smtp://", 7) == 0) {
		c->kind = DELIVER_SMTP;
		hp = url + 7;
		snprintf(t->port, sizeof(t->port), "25");
	} else if (strncmp(url, "lmtp://", 7) == 0) {
		c->kind = DELIVER_LMTP;
		t->lmtp = true;
		hp = url + 7;
		snprintf(t->port, sizeof(t->port), "24");
	} else {
		goto bad;
	}
	if (hp[0] == '[') { /* [IPv6]:port */
		const char *end = strchr(hp, ']');

		if (end == NULL)
			goto bad;
		hlen = (size_t)(end - hp - 1);
		hp++;
		colon = end[1] == ':' ? end + 1 : end[1] == '\0' ? NULL : hp;
		if (colon == hp)
			goto bad;
	} else {
		colon = strrchr(hp, ':');
		hlen = colon != NULL ? (size_t)(colon - hp) : strlen(hp);
	}
	if (hlen == 0 || hlen >= sizeof(t->host) ||
	    memchr(hp, '/', hlen) != NULL)
		goto bad;
	memcpy(t->host, hp, hlen);
	t->host[hlen] = '\0';
	if (colon != NULL) {
		char *end;
		unsigned long port = strtoul(colon + 1, &end, 10);

		if (colon[1] == '\0' || *end != '\0' || port == 0 ||
		    port > 65535)
			goto bad;
		snprintf(t->port, sizeof(t->port), "%lu", port);
	}
	return 0;
bad:
	snprintf(err, errlen,
	    "--deliver %s: expected smtp://HOST[:PORT], lmtp://HOST[:PORT], "
	    "lmtp:unix:PATH or sendmail[:/PATH]",
	    url);
	return -EINVAL;
}

void
deliver_report(struct deliver *d, const char *fmt, ...)
{
	char buf[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&d->mu);
	if (d->c->report != NULL)
		d->c->report(d->c->ctx, buf);
	pthread_mutex_unlock(&d->mu);
}

void
deliver_os_err(struct deliver *d, int e, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&d->mu);
	if (d->first_err == 0) {
		d->first_err = e;
		va_start(ap, fmt);
		vsnprintf(d->err, sizeof(d->err), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&d->mu);
	atomic_store(&d->halt, true);
}

/* A directory of hanko's own beneath the spool: never through a link. */
static int
own_dir(int at, const char *name, mode_t mode, bool private_dir)
{
	struct stat st;
	int fd;

	if (mkdirat(at, name, mode) != 0 && errno != EEXIST)
		return -1;
	fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (private_dir && (fstat(fd, &st) != 0 || st.st_uid != geteuid())) {
		close(fd);
		errno = EPERM;
		return -1;
	}
	return fd;
}

static int
open_dirs(struct deliver *d, char *err, size_t errlen)
{
	const struct deliver_conf *c = d->c;
	struct stat a, b;

	if ((d->spool_fd = open(c->spool_dir,
	         O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "%s: %s", c->spool_dir, strerror(errno));
		return -errno;
	}
	if ((d->done_fd = own_dir(d->spool_fd, SPOOL_DONE, 0700, true)) < 0 ||
	    (d->inflight_fd = own_dir(d->spool_fd, DELIVER_INFLIGHT, 0700,
	         true)) < 0) {
		snprintf(err, errlen, "%s: %s beneath it: %s", c->spool_dir,
		    d->done_fd < 0 ? SPOOL_DONE : DELIVER_INFLIGHT,
		    errno == EPERM ? "not a directory of hanko's own"
		                   : strerror(errno));
		return -EINVAL;
	}
	if (flock(d->done_fd, LOCK_EX | LOCK_NB) != 0) {
		snprintf(err, errlen, "%s: %s", c->spool_dir,
		    errno == EWOULDBLOCK ? "another hanko is processing this "
		                           "spool"
		                         : strerror(errno));
		return -EBUSY;
	}
	d->failed_fd = c->failed_dir != NULL
	    ? open(c->failed_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
	    : own_dir(d->spool_fd, "failed", 0755, false);
	if (d->failed_fd < 0) {
		snprintf(err, errlen, "failed directory: %s", strerror(errno));
		return -EINVAL;
	}
	if (fstat(d->spool_fd, &a) != 0 || fstat(d->failed_fd, &b) != 0 ||
	    a.st_dev != b.st_dev || a.st_ino == b.st_ino) {
		snprintf(err, errlen,
		    "the failed directory must be another directory on the "
		    "spool's file system (messages move there by rename)");
		return -EXDEV;
	}
	return 0;
}

int
deliver_sync_inflight(struct deliver *d)
{
	uint64_t mine, target;
	int e = 0;

	if (!d->c->durable)
		return 0;
	pthread_mutex_lock(&d->mu);
	mine = ++d->sync_asked;
	while (d->sync_done < mine && e == 0) {
		if (d->syncing) {
			pthread_cond_wait(&d->synced_cv, &d->mu);
			continue;
		}
		/* One fsync covers every marker created before it starts. */
		d->syncing = true;
		target = d->sync_asked;
		pthread_mutex_unlock(&d->mu);
		if (fsync(d->inflight_fd) != 0)
			e = -errno;
		pthread_mutex_lock(&d->mu);
		d->syncing = false;
		if (e == 0)
			d->sync_done = target;
		pthread_cond_broadcast(&d->synced_cv);
	}
	pthread_mutex_unlock(&d->mu);
	return e;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The inodes named by the markers (INO.SEQ), sorted; *n of them. */
static uint64_t *
marker_inodes(struct deliver *d, size_t *n)
{
	uint64_t *v = NULL, *nv;
	size_t cap = 0;
	struct dirent *de;
	DIR *dir;
	int fd = dup(d->inflight_fd);

	*n = 0;
	if (fd < 0 || (dir = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	rewinddir(dir); /* the dup shares the offset of earlier reads */
	while ((de = readdir(dir)) != NULL) {
		char *end;
		unsigned long long ino = strtoull(de->d_name, &end, 10);

		if (de->d_name[0] == '.' || end == de->d_name || *end != '.')
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL)
				break;
			v = nv;
		}
		v[(*n)++] = ino;
	}
	closedir(dir);
	if (*n > 0)
		qsort(v, *n, sizeof(*v), cmp_u64);
	return v;
}

/*
 * Markers a crash left: the messages still in the spool with a marker's
 * inode are the ones that may reach the MTA twice. Then every marker
 * goes (a marker whose message left the spool was settled already).
 */
static int
recover_inflight(struct deliver *d)
{
	size_t n;
	uint64_t *inos = marker_inodes(d, &n);
	struct dirent *de;
	DIR *dir;
	int fd;

	if (n > 0 && (fd = dup(d->spool_fd)) >= 0) {
		if ((dir = fdopendir(fd)) == NULL) {
			close(fd);
		} else {
			rewinddir(dir);
			while ((de = readdir(dir)) != NULL) {
				uint64_t ino = de->d_ino;

				if (de->d_name[0] == '.' ||
				    bsearch(&ino, inos, n, sizeof(*inos),
				        cmp_u64) == NULL)
					continue;
				d->inflight_found++;
				deliver_report(d,
				    "%s was being delivered when the last "
				    "run stopped: it is sent again and may "
				    "arrive twice",
				    de->d_name);
			}
			closedir(dir);
		}
	}
	free(inos);
	if ((fd = dup(d->inflight_fd)) < 0 || (dir = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	rewinddir(dir);
	while ((de = readdir(dir)) != NULL)
		if (de->d_name[0] != '.')
			unlinkat(d->inflight_fd, de->d_name, 0);
	closedir(dir);
	if (d->c->durable)
		fsync(d->inflight_fd);
	return 0;
}

int
deliver_new(const struct deliver_conf *c, struct deliver **out, char *err,
    size_t errlen)
{
	struct deliver *d = calloc(1, sizeof(*d));
	int e;

	*out = NULL;
	if (d == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	d->c = c;
	d->spool_fd = d->done_fd = d->inflight_fd = d->failed_fd = -1;
	pthread_mutex_init(&d->mu, NULL);
	pthread_cond_init(&d->synced_cv, NULL);
	if ((e = open_dirs(d, err, errlen)) != 0 ||
	    (e = recover_inflight(d)) != 0) {
		if (e != 0 && err[0] == '\0')
			snprintf(err, errlen, "in-flight markers: %s",
			    strerror(-e));
		deliver_free(d);
		return e;
	}
	*out = d;
	return 0;
}

uint64_t
deliver_inflight_found(const struct deliver *d)
{
	return d->inflight_found;
}

int
deliver_spool_fd(const struct deliver *d)
{
	return d->spool_fd;
}

void
deliver_free(struct deliver *d)
{
	if (d == NULL)
		return;
	if (d->spool_fd >= 0)
		close(d->spool_fd);
	if (d->done_fd >= 0)
		close(d->done_fd);
	if (d->inflight_fd >= 0)
		close(d->inflight_fd);
	if (d->failed_fd >= 0)
		close(d->failed_fd);
	free(d->backoff);
	pthread_cond_destroy(&d->synced_cv);
	pthread_mutex_destroy(&d->mu);
	free(d);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The back-off slot of an inode (linear probing; d->mu held). */
static struct deliver_backoff *
backoff_slot(struct deliver *d, uint64_t ino, bool create)
{
	size_t i, h;

	if (d->backoff == NULL) {
		if (!create ||
		    (d->backoff = calloc(BACKOFF_CAP, sizeof(*d->backoff))) ==
		        NULL)
			return NULL;
	}
	h = (size_t)(ino * 0x9E3779B97F4A7C15ull) % BACKOFF_CAP;
	for (i = 0; i < BACKOFF_CAP; i++) {
		struct deliver_backoff *b = &d->backoff[(h + i) % BACKOFF_CAP];

		if (b->ino == ino)
			return b;
		if (b->ino == 0) {
			if (!create)
				return NULL;
			if (d->nbackoff >= BACKOFF_CAP * 3 / 4) {
				/* Full: forget (retries just come sooner). */
				memset(d->backoff, 0,
				    BACKOFF_CAP * sizeof(*d->backoff));
				d->nbackoff = 0;
				return backoff_slot(d, ino, create);
			}
			d->nbackoff++;
			b->ino = ino;
			return b;
		}
	}
	return NULL;
}

void
deliver_defer(struct deliver *d, uint64_t ino)
{
	const struct deliver_conf *c = d->c;
	struct deliver_backoff *b;
	double wait;

	pthread_mutex_lock(&d->mu);
	if ((b = backoff_slot(d, ino, true)) != NULL) {
		wait = (double)c->retry_base_s;
		for (unsigned i = 0; i < b->tries && wait < c->retry_max_s; i++)
			wait *= 2;
		if (wait > c->retry_max_s)
			wait = c->retry_max_s;
		b->tries++;
		b->next = now_s() + wait;
	}
	pthread_mutex_unlock(&d->mu);
}

/* A message name: not a dot file, not a sidecar. */
static bool
is_message_name(const char *n)
{
	size_t len = strlen(n);

	return n[0] != '.' &&
	    !(len >= 4 && strcmp(n + len - 4, ".env") == 0);
}

/* The next message to try, or false at the end of the pass. */
bool
deliver_next(struct deliver *d, char *name)
{
	struct dirent *de;
	bool found = false;
	double now = now_s();

	pthread_mutex_lock(&d->mu);
	while (!found && d->dir != NULL && (de = readdir(d->dir)) != NULL) {
		struct deliver_backoff *b;

		if (!is_message_name(de->d_name) || de->d_type == DT_DIR)
			continue;
		if (atomic_load(&d->unreachable)) {
			d->deferred_unattempted++;
			continue;
		}
		if (de->d_ino != 0 && d->backoff != NULL &&
		    (b = backoff_slot(d, de->d_ino, false)) != NULL &&
		    b->next > now) {
			d->waiting++;
			continue;
		}
		snprintf(name, SPOOL_NAME_MAX + 1, "%s", de->d_name);
		found = true;
	}
	if (d->c->progress != NULL && now - d->last_progress >= 0.5) {
		struct deliver_stats p;

		memset(&p, 0, sizeof(p));
		p.delivered = atomic_load(&d->n_delivered);
		p.deferred = atomic_load(&d->n_deferred);
		p.failed = atomic_load(&d->n_failed);
		p.seconds = now - d->pass_start;
		d->last_progress = now;
		d->c->progress(d->c->ctx, &p);
	}
	pthread_mutex_unlock(&d->mu);
	return found && !atomic_load(&d->halt) && !atomic_load(d->c->stop);
}

int
deliver_pass(struct deliver *d, struct deliver_stats *s)
{
	const struct deliver_conf *c = d->c;
	pthread_t th[256];
	struct deliver_worker *w;
	unsigned i, n = c->connections > 0 ? c->connections : 1;
	int fd;
	double t0 = now_s();

	if (n > 256)
		n = 256;
	if ((fd = dup(d->spool_fd)) < 0 || (d->dir = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		snprintf(s->err, sizeof(s->err), "%s: %s", c->spool_dir,
		    strerror(errno));
		return -errno;
	}
	rewinddir(d->dir);
	atomic_store(&d->unreachable, false);
	d->deferred_unattempted = 0;
	d->waiting = 0;
	atomic_store(&d->n_delivered, 0);
	atomic_store(&d->n_deferred, 0);
	atomic_store(&d->n_failed, 0);
	d->pass_start = d->last_progress = t0;
	if ((w = calloc(n, sizeof(*w))) == NULL) {
		closedir(d->dir);
		d->dir = NULL;
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		w[i].d = d;
		w[i].idx = i;
		if (pthread_create(&th[i], NULL, deliver_worker_main, &w[i]) !=
		    0) {
			n = i;
			break;
		}
	}
	for (i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	closedir(d->dir);
	d->dir = NULL;
	for (i = 0; i < n; i++) {
		s->delivered += w[i].st.delivered;
		s->deferred += w[i].st.deferred;
		s->failed += w[i].st.failed;
		s->rcpt_refused += w[i].st.rcpt_refused;
		s->left += w[i].st.left;
		s->bytes_in += w[i].st.bytes_in;
	}
	free(w);
	s->deferred += d->deferred_unattempted;
	s->seconds += now_s() - t0;
	if (d->first_err != 0 && s->first_err == 0) {
		s->first_err = d->first_err;
		snprintf(s->err, sizeof(s->err), "%s", d->err);
	}
	return d->first_err;
}
