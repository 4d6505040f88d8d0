/*
 * hanko sign --deliver URL SPOOL_DIR: the delivery loop (io/deliver.h)
 * with batch mode's signing as its work, a summary, --stats-json, and
 * --watch with inotify and back-off for deferred messages.
 */
#include "cli_sign.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "io/deliver.h"

static atomic_int dstop;
static volatile sig_atomic_t dhup;

/* SIGTERM/SIGINT: finish the messages in flight, then stop; twice: now. */
static void
on_stop(int sig)
{
	if (sig == SIGHUP) {
		dhup = 1;
		return;
	}
	if (atomic_load(&dstop)) {
		signal(SIGTERM, SIG_DFL);
		raise(SIGTERM);
	}
	atomic_store(&dstop, 1);
}

static void
report(void *ctx, const char *what)
{
	/* On a terminal, past the progress line. */
	fprintf(stderr, "%shanko: %s\n", ctx != NULL ? "\n" : "", what);
}

struct dprogress {
	uint64_t total; /* messages at start */
};

static void
progress(void *ctx, const struct deliver_stats *s)
{
	const struct dprogress *p = ctx;
	uint64_t done = s->delivered + s->failed + s->deferred;
	double rate = s->seconds > 0 ? (double)done / s->seconds : 0;
	double eta =
	    rate > 0 && p->total > done ? (double)(p->total - done) / rate : 0;

	fprintf(stderr,
	    "\rhanko: %llu/%llu delivered, %llu deferred, %llu failed, "
	    "%.0f msgs/s, ETA %.0fs   ",
	    (unsigned long long)s->delivered, (unsigned long long)p->total,
	    (unsigned long long)s->deferred, (unsigned long long)s->failed,
	    rate, eta);
}

static double
mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int
setup(struct cli_env *e, struct cli_sign_opts *o, const char *spool,
    struct deliver_conf *c, const struct spool_work *work,
    struct dprogress *prog, char *helo, size_t helolen)
{
	char err[512];

	memset(c, 0, sizeof(*c));
	if (deliver_url_parse(o->deliver, c, err, sizeof(err)) != 0) {
		cli_err("%s", err);
		return CLI_EX_USAGE;
	}
	if (o->helo != NULL)
		snprintf(helo, helolen, "%s", o->helo);
	else if (gethostname(helo, helolen - 1) != 0 || helo[0] == '\0' ||
	    strpbrk(helo, " \t\r\n") != NULL)
		snprintf(helo, helolen, "localhost");
	if ((o->tls || o->tls_ca != NULL || o->tls_no_verify) &&
	    c->kind == DELIVER_SENDMAIL) {
		cli_err("--tls is for smtp:// and lmtp:// targets");
		return CLI_EX_USAGE;
	}
	c->target.tls = o->tls || o->tls_ca != NULL || o->tls_no_verify;
	c->target.tls_verify = !o->tls_no_verify;
	c->target.tls_ca = o->tls_ca;
	c->spool_dir = spool;
	c->failed_dir = o->failed;
	c->helo = helo;
	c->connections = o->connections > 0 ? (unsigned)o->connections : 4;
	c->timeout_ms =
	    (int)(o->smtp_timeout > 0 ? o->smtp_timeout : 300) * 1000;
	c->envelope_headers = o->envelope_headers;
	c->durable = !o->no_fsync;
	c->retry_base_s = 1;
	c->retry_max_s = o->retry_max > 0 ? (unsigned)o->retry_max : 3600;
	c->max_msg = e->limits.max_msg_bytes;
	c->alloc = e->core.alloc;
	c->limits = &e->limits;
	c->work = work;
	c->stop = &dstop;
	c->report = report;
	if (isatty(STDERR_FILENO) == 1) {
		c->progress = progress;
		c->ctx = prog;
		prog->total = spool_count(spool);
	}
	if (!c->durable)
		cli_warn("--no-fsync: a crash or power loss can lose or "
		         "duplicate messages; use it for throwaway benchmarks "
		         "only");
	return 0;
}

static void
summary(const struct cli_sign_opts *o, const struct deliver_conf *c,
    const struct deliver_stats *s, uint64_t resent)
{
	double wall = mono_s() - o->t_start;
	double secs = wall > 0 ? wall : 1e-9;

	fprintf(stderr,
	    "hanko: delivered %llu, deferred %llu, failed %llu, left %llu "
	    "in %.2fs: %.0f msgs/s, %.1f MB/s (%u connections%s)\n",
	    (unsigned long long)s->delivered,
	    (unsigned long long)s->deferred, (unsigned long long)s->failed,
	    (unsigned long long)s->left, wall, (double)s->delivered / secs,
	    (double)s->bytes_in / secs / 1e6, c->connections,
	    c->durable ? "" : ", NOT durable");
	if (s->rcpt_refused > 0)
		fprintf(stderr,
		    "hanko: %llu recipients were refused; their messages, "
		    "envelopes and replies are in the failed directory\n",
		    (unsigned long long)s->rcpt_refused);
	if (resent > 0)
		fprintf(stderr,
		    "hanko: %llu messages were in flight when the last run "
		    "stopped and were sent again: each may have arrived "
		    "twice\n",
		    (unsigned long long)resent);
	if (s->first_err != 0)
		fprintf(stderr, "hanko: %s\n", s->err);
}

static int
write_stats(const struct cli_sign_opts *o, const struct deliver_conf *c,
    const struct deliver_stats *s, uint64_t resent)
{
	double wall = mono_s() - o->t_start;
	FILE *f;

	if (o->stats_json == NULL)
		return 0;
	if ((f = fopen(o->stats_json, "w")) == NULL) {
		cli_err("%s: %s", o->stats_json, strerror(errno));
		return CLI_EX_CANTCREAT;
	}
	fprintf(f,
	    "{\"delivered\":%llu,\"deferred\":%llu,\"failed\":%llu,"
	    "\"left\":%llu,\"rcpt_refused\":%llu,\"inflight_resent\":%llu,"
	    "\"seconds\":%.6f,\"wall_seconds\":%.6f,\"msgs_per_s\":%.1f,"
	    "\"bytes_in\":%llu,\"connections\":%u,\"durable\":%s}\n",
	    (unsigned long long)s->delivered,
	    (unsigned long long)s->deferred, (unsigned long long)s->failed,
	    (unsigned long long)s->left, (unsigned long long)s->rcpt_refused,
	    (unsigned long long)resent, s->seconds, wall,
	    (double)s->delivered / (wall > 0 ? wall : 1e-9),
	    (unsigned long long)s->bytes_in, c->connections,
	    c->durable ? "true" : "false");
	return fclose(f) == 0 ? 0 : CLI_EX_IOERR;
}

static int
watch(struct deliver *d, const struct deliver_conf *c, struct deliver_stats *s)
{
	int ifd, e = 0;
	char buf[4096];

	if ((ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK)) < 0 ||
	    inotify_add_watch(ifd, c->spool_dir, IN_MOVED_TO | IN_CLOSE_WRITE) <
	        0) {
		cli_err("--watch %s: %s", c->spool_dir, strerror(errno));
		if (ifd >= 0)
			close(ifd);
		return -EIO;
	}
	while (!atomic_load(&dstop) && e == 0) {
		struct pollfd p = { .fd = ifd, .events = POLLIN };

		/* A timeout also brings deferred messages' retries. */
		if (poll(&p, 1, 1000) > 0)
			while (read(ifd, buf, sizeof(buf)) > 0)
				continue;
		if (dhup) {
			dhup = 0;
			cli_warn("SIGHUP: --deliver does not reload keys and "
			         "tables; restart hanko to load new ones");
		}
		if (!atomic_load(&dstop))
			e = deliver_pass(d, s);
	}
	close(ifd);
	return e;
}

int
cli_sign_deliver(
    struct cli_env *e, struct cli_sign_opts *o, const char *spool)
{
	const struct spool_work *work;
	struct deliver_conf *c = calloc(1, sizeof(*c));
	struct deliver *d = NULL;
	struct deliver_stats s;
	struct batch *b = NULL;
	struct sigaction sa;
	char helo[256], err[512];
	struct dprogress prog = { .total = 0 };
	uint64_t resent = 0;
	int ex, r;

	memset(&s, 0, sizeof(s));
	if (c == NULL || (b = cli_batch_new(e, o, &work)) == NULL) {
		free(c);
		return c == NULL ? CLI_EX_SOFTWARE : CLI_EX_CONFIG;
	}
	if ((ex = setup(e, o, spool, c, work, &prog, helo, sizeof(helo))) != 0)
		goto done;
	if ((r = deliver_new(c, &d, err, sizeof(err))) != 0) {
		cli_err("%s", err);
		ex = r == -EBUSY ? CLI_EX_TEMPFAIL : CLI_EX_CANTCREAT;
		goto done;
	}
	resent = deliver_inflight_found(d);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	r = deliver_pass(d, &s);
	if (r == 0 && o->watch)
		r = watch(d, c, &s);
	if (c->progress != NULL)
		fputc('\n', stderr);
	summary(o, c, &s, resent);
	if (r == -ENOSPC || r == -EDQUOT)
		ex = CLI_EX_TEMPFAIL;
	else if (r != 0)
		ex = CLI_EX_IOERR;
	else
		ex = s.deferred > 0 || s.failed > 0 || s.left > 0 ||
		        s.rcpt_refused > 0
		    ? CLI_EX_SOMEFAIL
		    : CLI_EX_OK;
	if (write_stats(o, c, &s, resent) != 0 && ex == 0)
		ex = CLI_EX_IOERR;
done:
	deliver_free(d);
	cli_batch_free(b);
	free(c);
	return ex;
}
