/*
 * One message of a delivery pass (deliver.h): read it and its envelope,
 * normalise, sign, run the transaction, then update the spool by what
 * the MTA said, recipient by recipient.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/env.h"
#include "core/hdr.h"
#include "core/sidecar.h"
#include "deliver_int.h"

extern char **environ;

#define REASON_MAX 512
#define SIDECAR_FILE_MAX (64 << 10)

/* What the spool gave for one message. Message lifetime (the arena). */
struct dmsg {
	const char *name;
	uint64_t ino;
	mode_t mode;
	span raw, env_text, msg; /* msg: CRLF, Bcc removed */
	bool has_env;
	struct sidecar_env env;
	struct buf prefix;
	enum smtp_rcpt_state *st;
	struct smtp_reply *rep;
};

/*
 * Read dir/name, a regular file opened without following a link or
 * blocking, into the arena: 0, -ENOENT, -EFBIG, -EFTYPE-like -EINVAL,
 * or another -errno.
 */
static int
read_at(int dir, const char *name, size_t max, struct arena *ar, span *out,
    struct stat *st)
{
	uint8_t *p;
	size_t got = 0;
	ssize_t n;
	int fd, e = 0;

	if ((fd = openat(dir, name,
	         O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0)
		return errno == ELOOP ? -EINVAL : -errno;
	if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
		close(fd);
		return -EINVAL;
	}
	if ((size_t)st->st_size > max) {
		close(fd);
		return -EFBIG;
	}
	if ((p = arena_alloc(ar, (size_t)st->st_size + 1)) == NULL) {
		close(fd);
		return -ENOMEM;
	}
	while (got < (size_t)st->st_size + 1) {
		n = read(fd, p + got, (size_t)st->st_size + 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			e = -errno;
			break;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (e == 0 && got > (size_t)st->st_size)
		e = -EAGAIN; /* still being written: not put in atomically */
	*out = span_make(p, got);
	return e;
}

/*
 * Every line ending the spool may hold (CRLF, LF, a bare CR) becomes
 * CRLF: SMTP's form (RFC 5321 §2.3.8), and signed as sent.
 */
static span
crlf(span in, struct arena *ar)
{
	uint8_t *o = arena_alloc(ar, in.len * 2 + 1);
	size_t i, n = 0;

	if (o == NULL)
		return span_make(NULL, 0);
	for (i = 0; i < in.len; i++) {
		uint8_t ch = in.p[i];

		if (ch == '\r') {
			o[n++] = '\r';
			o[n++] = '\n';
			if (i + 1 < in.len && in.p[i + 1] == '\n')
				i++;
		} else if (ch == '\n') {
			o[n++] = '\r';
			o[n++] = '\n';
		} else {
			o[n++] = ch;
		}
	}
	return span_make(o, n);
}

static bool
has_8bit(span s, size_t from)
{
	size_t i;

	for (i = from; i < s.len; i++)
		if (s.p[i] & 0x80)
			return true;
	return false;
}

/* Add the addr-specs of every field called name to the recipients. */
static bool
add_header_rcpts(const struct hdr_msg *h, const char *name, struct arena *ar,
    span *list, size_t *n, char *reason)
{
	size_t i, k, got;

	for (i = 0; i < h->nf; i++) {
		if (!span_ieq_cstr(h->f[i].name, name))
			continue;
		got = hdr_addr_list(h->f[i].value, ar, list + *n,
		    SIDECAR_RCPT_MAX - *n);
		if (got == SIZE_MAX || got == HDR_ADDR_NOMEM ||
		    *n + got > SIDECAR_RCPT_MAX) {
			snprintf(reason, REASON_MAX,
			    "--envelope headers: %s field %s", name,
			    got == SIZE_MAX ? "is malformed"
			                    : "has too many addresses");
			return false;
		}
		for (k = 0; k < got; k++)
			if (!sidecar_addr_is_safe(list[*n + k])) {
				snprintf(reason, REASON_MAX,
				    "--envelope headers: %s holds an "
				    "address unusable in SMTP",
				    name);
				return false;
			}
		*n += got;
	}
	return true;
}

/*
 * --envelope headers: MAIL FROM from Return-Path (else From), the
 * recipients from To, Cc and Bcc; Bcc fields are removed before signing,
 * as a submission server would (RFC 5322 §3.6.3).
 */
static bool
env_from_headers(struct deliver_worker *w, struct dmsg *m, char *reason)
{
	struct hdr_msg h;
	struct buf b;
	span *list, from[1];
	size_t i, n = 0, k;
	char err[128];

	if (hdr_split(m->msg, w->d->c->limits, &w->ar, &h, err, sizeof(err)) !=
	    HDR_OK) {
		snprintf(reason, REASON_MAX, "--envelope headers: %s", err);
		return false;
	}
	if ((list = arena_alloc(&w->ar, SIDECAR_RCPT_MAX * sizeof(span))) ==
	    NULL)
		goto nomem;
	if ((i = hdr_find(&h, span_cstr("Return-Path"), 0)) < h.nf) {
		m->env.mail_from = sidecar_path(h.f[i].value);
	} else if ((i = hdr_find(&h, span_cstr("From"), 0)) < h.nf &&
	    hdr_addr_list(h.f[i].value, &w->ar, from, 1) >= 1) {
		m->env.mail_from = from[0];
	} else {
		snprintf(reason, REASON_MAX,
		    "no envelope: no %.200s.env, and neither Return-Path nor "
		    "From to take MAIL FROM from",
		    m->name);
		return false;
	}
	if (!sidecar_addr_is_safe(m->env.mail_from)) {
		snprintf(reason, REASON_MAX,
		    "--envelope headers: the sender is unusable in SMTP");
		return false;
	}
	if (!add_header_rcpts(&h, "To", &w->ar, list, &n, reason) ||
	    !add_header_rcpts(&h, "Cc", &w->ar, list, &n, reason) ||
	    !add_header_rcpts(&h, "Bcc", &w->ar, list, &n, reason))
		return false;
	if (n == 0) {
		snprintf(reason, REASON_MAX,
		    "no envelope: no %.200s.env, and no To, Cc or Bcc "
		    "recipient",
		    m->name);
		return false;
	}
	m->env.rcpt = list;
	m->env.nrcpt = n;
	if (hdr_count(&h, span_cstr("Bcc")) == 0)
		return true;
	buf_init_arena(&b, &w->ar);
	for (k = 0; k < h.nf; k++)
		if (!span_ieq_cstr(h.f[k].name, "Bcc") &&
		    (!buf_add_span(&b, h.f[k].raw) || !buf_add(&b, "\r\n", 2)))
			goto nomem;
	if (!buf_add(&b, "\r\n", 2) || !buf_add_span(&b, h.body))
		goto nomem;
	m->msg = buf_span(&b);
	return true;
nomem:
	snprintf(reason, REASON_MAX, "out of memory");
	return false;
}

/* NAME.reason, or for a long name its first 200 bytes, ~INO.reason. */
static void
reason_name(const char *name, uint64_t ino, char *out, size_t outlen)
{
	if (strlen(name) + 7 <= SPOOL_NAME_MAX)
		snprintf(out, outlen, "%s.reason", name);
	else
		snprintf(out, outlen, "%.200s~%llu.reason", name,
		    (unsigned long long)ino);
}

/*
 * Write data to dir/final through a temporary dot file created
 * exclusively; replace says whether final may be replaced (our own
 * sidecar in the spool) or must be new (the failed directory).
 */
static int
put_file(struct deliver_worker *w, int dir, const char *final,
    const char *what, span data, bool replace)
{
	char tmp[64];
	int fd, e = 0;
	ssize_t n;
	size_t off = 0;

	snprintf(tmp, sizeof(tmp), ".hanko-tmp.deliver.%llu.%s",
	    (unsigned long long)w->ino, what);
	unlinkat(dir, tmp, 0); /* ours, from a crash */
	if ((fd = openat(dir, tmp,
	         O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	         0640)) < 0)
		return -errno;
	while (off < data.len && e == 0) {
		n = write(fd, data.p + off, data.len - off);
		if (n < 0 && errno != EINTR)
			e = -errno;
		else if (n > 0)
			off += (size_t)n;
	}
	if (e == 0 && w->d->c->durable && fsync(fd) != 0)
		e = -errno;
	if (close(fd) != 0 && e == 0)
		e = -errno;
	if (e == 0 &&
	    (replace ? renameat(dir, tmp, dir, final)
	             : renameat2(dir, tmp, dir, final, RENAME_NOREPLACE)) !=
	        0)
		e = -errno;
	if (e != 0)
		unlinkat(dir, tmp, 0);
	return e;
}

/* A sidecar of the recipients in state want, with the sender. */
static span
env_text(struct deliver_worker *w, const struct dmsg *m,
    enum smtp_rcpt_state want)
{
	struct buf b;
	size_t i;

	buf_init_arena(&b, &w->ar);
	(void)(buf_add_cstr(&b, "mail-from=<") &&
	    buf_add_span(&b, m->env.mail_from) && buf_add_cstr(&b, ">\n"));
	for (i = 0; i < m->env.nrcpt; i++)
		if (m->st[i] == want)
			(void)(buf_add_cstr(&b, "rcpt=") &&
			    buf_add_span(&b, m->env.rcpt[i]) &&
			    buf_add_cstr(&b, "\n"));
	return buf_span(&b);
}

static const char *
reasons_text(struct deliver_worker *w, const struct dmsg *m)
{
	struct buf b;
	size_t i;

	buf_init_arena(&b, &w->ar);
	for (i = 0; i < m->env.nrcpt; i++)
		if (m->st[i] == SMTP_RCPT_REFUSED)
			(void)(buf_add_cstr(&b, "rcpt=") &&
			    buf_add_span(&b, m->env.rcpt[i]) &&
			    buf_add_cstr(&b, ": ") &&
			    buf_add_cstr(&b, m->rep[i].text) &&
			    buf_add_cstr(&b, "\n"));
	if (!buf_add(&b, "", 1))
		return "refused (out of memory for the replies)";
	return (const char *)b.p;
}

static void
sync_dir(struct deliver_worker *w, int fd, const char *what)
{
	if (w->d->c->durable && fsync(fd) != 0)
		deliver_os_err(w->d, -errno, "fsync of %s: %s", what,
		    strerror(errno));
}

/* The reason as a file: one trailing newline. */
static span
reason_line(struct deliver_worker *w, const char *reason)
{
	size_t n = strlen(reason);
	char *p;

	if ((n > 0 && reason[n - 1] == '\n') ||
	    (p = arena_alloc(&w->ar, n + 2)) == NULL)
		return span_make(reason, n);
	snprintf(p, n + 2, "%s\n", reason);
	return span_make(p, n + 1);
}

/* The path the failed directory holds for name, taken: say so. */
static void
taken(struct deliver_worker *w, const char *name, int e)
{
	deliver_report(w->d, "%s: cannot go to the failed directory (%s); "
	                     "left in the spool",
	    name, strerror(-e));
	w->st.left++;
}

/*
 * The whole message to the failed directory: NAME (moved, or linked
 * when some recipients got it and others wait in the spool), then
 * NAME.env (moved with it, or env written), then NAME.reason.
 */
static bool
to_failed(struct deliver_worker *w, struct dmsg *m, const char *reason,
    span env, bool keep)
{
	struct deliver *d = w->d;
	char env_name[SPOOL_NAME_MAX + 8], rname[SPOOL_NAME_MAX + 8];
	int e = 0;

	snprintf(env_name, sizeof(env_name), "%s.env", m->name);
	reason_name(m->name, m->ino, rname, sizeof(rname));
	if (keep ? linkat(d->spool_fd, m->name, d->failed_fd, m->name, 0)
	         : renameat2(d->spool_fd, m->name, d->failed_fd, m->name,
	               RENAME_NOREPLACE)) {
		taken(w, m->name, -errno);
		return false;
	}
	if (strlen(m->name) + 4 <= SPOOL_NAME_MAX) {
		if (env.len > 0)
			e = put_file(w, d->failed_fd, env_name, "env", env,
			    false);
		else if (m->has_env)
			e = renameat2(d->spool_fd, env_name, d->failed_fd,
			        env_name, RENAME_NOREPLACE) != 0
			    ? -errno
			    : 0;
		if (e != 0)
			deliver_report(d, "failed/%s: %s", env_name,
			    strerror(-e));
	}
	if ((e = put_file(w, d->failed_fd, rname, "reason",
	         reason_line(w, reason), false)) != 0)
		deliver_report(d, "failed/%s: %s", rname, strerror(-e));
	sync_dir(w, d->failed_fd, "the failed directory");
	sync_dir(w, d->spool_fd, "the spool");
	return true;
}

static void
fail_msg(struct deliver_worker *w, struct dmsg *m, const char *reason)
{
	if (to_failed(w, m, reason, span_make(NULL, 0), false)) {
		w->st.failed++;
		atomic_fetch_add(&w->d->n_failed, 1);
	}
}

/*
 * Step 1 of deliver.h: the marker, before the MTA can have the message.
 * An empty file named INO.SEQ: its name says all recovery needs, so only
 * the directory is synced (grouped with the other connections').
 */
static bool
committing(void *ctx)
{
	struct deliver_worker *w = ctx;
	struct deliver *d = w->d;
	int fd, e = 0;

	snprintf(w->mark, sizeof(w->mark), "%llu.%llu",
	    (unsigned long long)w->ino,
	    (unsigned long long)atomic_fetch_add(&d->seq, 1));
	fd = openat(d->inflight_fd, w->mark,
	    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || close(fd) != 0 || (e = deliver_sync_inflight(d)) != 0) {
		e = e != 0 ? e : -errno;
		deliver_os_err(d, e, "in-flight marker: %s", strerror(-e));
		if (fd >= 0)
			unlinkat(d->inflight_fd, w->mark, 0);
		w->mark[0] = '\0';
		return false;
	}
	return true;
}

/*
 * Markers go once the spool changes they cover are durable: every
 * DELIVER_GROUP messages one spool sync, then their markers (losing a
 * removal is harmless: recovery counts only markers whose message is
 * still in the spool). now: at once (the message stays in the spool).
 */
static void
unmark(struct deliver_worker *w, bool now)
{
	struct deliver *d = w->d;
	size_t i;

	if (w->mark[0] != '\0') {
		if (now) {
			unlinkat(d->inflight_fd, w->mark, 0);
		} else {
			memcpy(w->done_marks[w->ndone++], w->mark,
			    sizeof(w->mark));
		}
		w->mark[0] = '\0';
	}
	if (w->ndone < DELIVER_GROUP && !(now && w->ndone > 0))
		return;
	if (d->c->durable && fsync(d->spool_fd) != 0) {
		deliver_os_err(d, -errno, "fsync of the spool: %s",
		    strerror(errno));
		return; /* markers kept: the restart counts them */
	}
	for (i = 0; i < w->ndone; i++)
		unlinkat(d->inflight_fd, w->done_marks[i], 0);
	w->ndone = 0;
}

/* NAME is still the file we read (the writer may not replace it). */
static bool
still_ours(struct deliver_worker *w, const struct dmsg *m)
{
	struct stat st;

	return fstatat(w->d->spool_fd, m->name, &st, AT_SYMLINK_NOFOLLOW) ==
	        0 &&
	    st.st_ino == m->ino;
}

/* Step 2 of deliver.h, by the recipients' states. */
static void
settle(struct deliver_worker *w, struct dmsg *m)
{
	struct deliver *d = w->d;
	size_t i, nacc = 0, ndef = 0, nref = 0;
	char env_name[SPOOL_NAME_MAX + 8];

	for (i = 0; i < m->env.nrcpt; i++) {
		nacc += m->st[i] == SMTP_RCPT_ACCEPTED;
		ndef += m->st[i] == SMTP_RCPT_DEFERRED;
		nref += m->st[i] == SMTP_RCPT_REFUSED;
	}
	snprintf(env_name, sizeof(env_name), "%s.env", m->name);
	if (!still_ours(w, m)) {
		deliver_report(d, "%s was replaced while it was delivered; "
		                  "the new file is left for the next pass",
		    m->name);
		w->st.left++;
		return;
	}
	if (ndef == m->env.nrcpt) {
		w->st.deferred++;
		atomic_fetch_add(&w->d->n_deferred, 1);
		deliver_defer(d, m->ino);
		return;
	}
	if (nacc == 0 && ndef == 0) {
		/* Refused whole: the replies that refused it. */
		if (to_failed(w, m, reasons_text(w, m),
		        m->has_env ? span_make(NULL, 0)
		                   : env_text(w, m, SMTP_RCPT_REFUSED),
		        false)) {
			w->st.failed++;
			atomic_fetch_add(&w->d->n_failed, 1);
		}
		return;
	}
	w->st.rcpt_refused += nref;
	if (nref > 0 &&
	    !to_failed(w, m, reasons_text(w, m),
	        env_text(w, m, SMTP_RCPT_REFUSED), ndef > 0) &&
	    ndef == 0)
		deliver_report(d, "%s: the refused recipients are not "
		                  "recorded; the message was delivered to the "
		                  "others",
		    m->name);
	if (ndef > 0) {
		/* Only the deferred stay: no accepted one is sent again. */
		if (strlen(m->name) + 4 > SPOOL_NAME_MAX ||
		    put_file(w, d->spool_fd, env_name, "env",
		        env_text(w, m, SMTP_RCPT_DEFERRED), true) != 0) {
			deliver_os_err(d, -EIO,
			    "%s: cannot record the deferred recipients",
			    m->name);
			return;
		}
		sync_dir(w, d->spool_fd, "the spool");
		w->st.deferred++;
		atomic_fetch_add(&w->d->n_deferred, 1);
		deliver_defer(d, m->ino);
		return;
	}
	if ((nref == 0 || still_ours(w, m)) &&
	    unlinkat(d->spool_fd, m->name, 0) != 0 && errno != ENOENT)
		deliver_os_err(d, -errno, "unlink %s: %s", m->name,
		    strerror(errno));
	if (m->has_env)
		unlinkat(d->spool_fd, env_name, 0);
	w->st.delivered++;
	atomic_fetch_add(&w->d->n_delivered, 1);
}

/* Write all of s to fd, CRLF as LF (sendmail's local form). */
static int
pipe_lf(int fd, span s, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	size_t off = 0;
	ssize_t n;

	while (off < s.len) {
		const uint8_t *cr = memchr(s.p + off, '\r', s.len - off);
		size_t len = cr != NULL ? (size_t)(cr - (s.p + off)) : s.len - off;

		if (len == 0) { /* the CR of a CRLF */
			off++;
			continue;
		}
		if (poll(&p, 1, timeout_ms) <= 0)
			return -ETIMEDOUT;
		if ((n = write(fd, s.p + off, len)) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		off += (size_t)n;
	}
	return 0;
}

/*
 * sendmail -i -f FROM -- RCPT...: exit 0 delivered to all, EX_TEMPFAIL
 * (75), a signal or a timeout deferred, any other status refused.
 */
static void
run_sendmail(struct deliver_worker *w, struct dmsg *m)
{
	const struct deliver_conf *c = w->d->c;
	char **argv, *from;
	posix_spawn_file_actions_t fa;
	int pfd[2], status = 0, e, code;
	pid_t pid;
	size_t i;
	struct smtp_reply rep;
	double waited = 0;

	argv = arena_alloc(&w->ar, (m->env.nrcpt + 7) * sizeof(*argv));
	from = arena_alloc(&w->ar, m->env.mail_from.len + 3);
	if (argv == NULL || from == NULL || pipe2(pfd, O_CLOEXEC) != 0) {
		deliver_os_err(w->d, -ENOMEM, "sendmail: out of resources");
		return;
	}
	snprintf(from, m->env.mail_from.len + 3, "<%.*s>",
	    (int)m->env.mail_from.len, (const char *)m->env.mail_from.p);
	argv[0] = (char *)(uintptr_t)c->sendmail;
	argv[1] = (char *)(uintptr_t) "-i";
	argv[2] = (char *)(uintptr_t) "-f";
	argv[3] = from;
	argv[4] = (char *)(uintptr_t) "--";
	for (i = 0; i < m->env.nrcpt; i++) {
		char *r = arena_alloc(&w->ar, m->env.rcpt[i].len + 1);

		if (r == NULL) {
			close(pfd[0]);
			close(pfd[1]);
			deliver_os_err(w->d, -ENOMEM, "out of memory");
			return;
		}
		memcpy(r, m->env.rcpt[i].p, m->env.rcpt[i].len);
		r[m->env.rcpt[i].len] = '\0';
		argv[5 + i] = r;
	}
	argv[5 + m->env.nrcpt] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[0], 0);
	e = posix_spawn(&pid, c->sendmail, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[0]);
	if (e != 0) {
		close(pfd[1]);
		snprintf(rep.text, sizeof(rep.text), "%s: %s", c->sendmail,
		    strerror(e));
		code = 451;
		goto decide;
	}
	if (!committing(w)) {
		kill(pid, SIGKILL);
		e = -EIO;
	}
	if (e == 0)
		e = pipe_lf(pfd[1], buf_span(&m->prefix), c->timeout_ms);
	if (e == 0)
		e = pipe_lf(pfd[1], m->msg, c->timeout_ms);
	close(pfd[1]);
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (waited * 1000 > c->timeout_ms) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			break;
		}
		nanosleep(&(struct timespec){ .tv_nsec = 2000000 }, NULL);
		waited += 0.002;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && e == 0)
		code = 250;
	else if (WIFEXITED(status) && WEXITSTATUS(status) != 75 && e == 0)
		code = 550;
	else
		code = 451;
	if (WIFEXITED(status))
		snprintf(rep.text, sizeof(rep.text), "%s exited with status %d",
		    c->sendmail, WEXITSTATUS(status));
	else
		snprintf(rep.text, sizeof(rep.text), "%s ended by signal %d",
		    c->sendmail, WIFSIGNALED(status) ? WTERMSIG(status) : 0);
decide:
	rep.code = code;
	for (i = 0; i < m->env.nrcpt; i++) {
		m->st[i] = code == 250 ? SMTP_RCPT_ACCEPTED
		    : code >= 500      ? SMTP_RCPT_REFUSED
		                       : SMTP_RCPT_DEFERRED;
		m->rep[i] = rep;
	}
}

/* One SMTP/LMTP transaction; a session is opened when there is none. */
static void
run_smtp(struct deliver_worker *w, struct dmsg *m)
{
	struct deliver *d = w->d;
	const struct deliver_conf *c = d->c;
	struct smtp_txn t = {
		.from = m->env.mail_from,
		.rcpt = m->env.rcpt,
		.nrcpt = m->env.nrcpt,
		.data = { buf_span(&m->prefix), m->msg },
		.st = m->st,
		.rep = m->rep,
		.committing = committing,
		.ctx = w,
	};
	struct smtp_reply rep;
	size_t i;

	t.eightbit = has_8bit(m->msg, 0) || has_8bit(buf_span(&m->prefix), 0);
	t.utf8 = has_8bit(m->env.mail_from, 0);
	for (i = 0; i < m->env.nrcpt; i++)
		t.utf8 = t.utf8 || has_8bit(m->env.rcpt[i], 0);
	if (!smtp_is_open(&w->conn) &&
	    smtp_open(&w->conn, &c->target, c->helo, c->timeout_ms, &rep) !=
	        0) {
		deliver_report(d, "%s: %s", c->target.unix_path
		        ? c->target.path
		        : c->target.host,
		    w->conn.err);
		atomic_store(&d->unreachable, true);
		for (i = 0; i < m->env.nrcpt; i++) {
			m->st[i] = SMTP_RCPT_DEFERRED;
			m->rep[i].code = 0;
			snprintf(m->rep[i].text, sizeof(m->rep[i].text), "%s",
			    w->conn.err);
		}
		return;
	}
	if (smtp_send(&w->conn, &t) != SMTP_OK)
		deliver_report(d, "%s: session ended: %s", m->name,
		    w->conn.err);
}

/* Read, envelope, normalise, sign: false when the message is settled. */
static bool
prepare(struct deliver_worker *w, struct dmsg *m, char *reason)
{
	struct deliver *d = w->d;
	const struct deliver_conf *c = d->c;
	char env_name[SPOOL_NAME_MAX + 8], err[256];
	struct stat st;
	int e;

	memset(&st, 0, sizeof(st));
	if ((e = read_at(d->spool_fd, m->name, c->max_msg, &w->ar, &m->raw,
	         &st)) != 0) {
		if (e == -ENOENT)
			return false;
		if (e == -EFBIG) {
			m->ino = (uint64_t)st.st_ino;
			w->ino = m->ino;
			snprintf(reason, REASON_MAX,
			    "larger than --max-size (%zu bytes)", c->max_msg);
			goto fail;
		}
		deliver_report(d, "%s: %s; left in the spool", m->name,
		    e == -EINVAL ? "not a regular file"
		    : e == -EAGAIN ? "changed while read"
		                   : strerror(-e));
		w->st.left++;
		return false;
	}
	m->ino = (uint64_t)st.st_ino;
	w->ino = m->ino;
	w->st.bytes_in += m->raw.len;
	if (strlen(m->name) + 4 <= SPOOL_NAME_MAX) {
		snprintf(env_name, sizeof(env_name), "%s.env", m->name);
		e = read_at(d->spool_fd, env_name, SIDECAR_FILE_MAX, &w->ar,
		    &m->env_text, &st);
		if (e == 0) {
			m->has_env = true;
		} else if (e != -ENOENT) {
			snprintf(reason, REASON_MAX, "%s: %s", env_name,
			    e == -EINVAL ? "not a regular file"
			    : e == -EFBIG ? "larger than 64 KiB"
			                  : strerror(-e));
			goto fail;
		}
	}
	if ((m->msg = crlf(m->raw, &w->ar)).p == NULL && m->raw.len > 0) {
		snprintf(reason, REASON_MAX, "out of memory");
		goto fail;
	}
	if (m->has_env) {
		if (sidecar_envelope(m->env_text, &w->ar, &m->env, err,
		        sizeof(err)) != SIDECAR_OK) {
			snprintf(reason, REASON_MAX, "%.250s: %.200s", env_name, err);
			goto fail;
		}
	} else if (!c->envelope_headers) {
		snprintf(reason, REASON_MAX,
		    "no envelope: %.200s.env is missing (write one, or use "
		    "--envelope headers)",
		    m->name);
		goto fail;
	} else if (!env_from_headers(w, m, reason)) {
		goto fail;
	}
	buf_init_arena(&m->prefix, &w->ar);
	if (c->work->work(w->sw, m->msg, &w->ar, &m->prefix, reason,
	        REASON_MAX) != SPOOL_OUT)
		goto fail;
	m->st = arena_alloc(&w->ar, m->env.nrcpt * sizeof(*m->st));
	m->rep = arena_alloc(&w->ar, m->env.nrcpt * sizeof(*m->rep));
	if (m->st == NULL || m->rep == NULL) {
		snprintf(reason, REASON_MAX, "out of memory");
		goto fail;
	}
	return true;
fail:
	fail_msg(w, m, reason);
	return false;
}

static void
one(struct deliver_worker *w, const char *name)
{
	struct dmsg m;
	char reason[REASON_MAX];

	memset(&m, 0, sizeof(m));
	reason[0] = '\0';
	arena_reset(&w->ar);
	m.name = name;
	w->name = name;
	w->mark[0] = '\0';
	if (!prepare(w, &m, reason))
		return;
	if (w->d->c->kind == DELIVER_SENDMAIL)
		run_sendmail(w, &m);
	else
		run_smtp(w, &m);
	settle(w, &m);
	/* A message still in the spool was synced there by settle(). */
	unmark(w, still_ours(w, &m));
}

void *
deliver_worker_main(void *arg)
{
	struct deliver_worker *w = arg;
	struct deliver *d = w->d;
	const struct deliver_conf *c = d->c;
	char name[SPOOL_NAME_MAX + 1];

	arena_init(&w->ar, c->alloc, 1 << 20, c->max_msg * 4 + (64 << 20));
	smtp_init(&w->conn);
	if ((w->done_marks = calloc(DELIVER_GROUP, sizeof(*w->done_marks))) ==
	    NULL) {
		deliver_os_err(d, -ENOMEM, "out of memory");
		arena_fini(&w->ar);
		return NULL;
	}
	if ((w->sw = c->work->worker_new(c->work->ctx, w->idx)) == NULL) {
		deliver_os_err(d, -ENOMEM, "cannot start a signing worker");
		free(w->done_marks);
		arena_fini(&w->ar);
		return NULL;
	}
	while (deliver_next(d, name))
		one(w, name);
	if (w->ndone > 0)
		unmark(w, true);
	free(w->done_marks);
	smtp_fini(&w->conn);
	c->work->worker_free(w->sw);
	arena_fini(&w->ar);
	return NULL;
}
