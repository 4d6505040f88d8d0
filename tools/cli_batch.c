/*
 * hanko sign SPOOL_DIR OUT_DIR: the spool pipeline (io/spool.h) with DKIM
 * signing as its work, keys from -d/-s/-k or OpenDKIM tables, progress on
 * a terminal, a summary, --stats-json, and --watch with inotify.
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

#include "cli_keymap.h"
#include "cli_metrics.h"
#include "cli_ops.h"
#include "core/arena.h"
#include "core/hdr.h"
#include "io/spool.h"

/*
 * Keys a worker keeps loaded. A table of 100,000 keys is not read at
 * start: each key is loaded when a worker first signs for it, and the
 * worker's map starts afresh when it holds this many, so memory grows
 * with the keys in use up to this bound, never with the table. The
 * signer's contexts hold their own reference to a key, so dropping the
 * map never frees a key one of them still uses.
 */
#define KEY_CACHE_MAX 4096

/* Process lifetime: what every worker reads. */
struct batch {
	struct cli_env *e;
	struct cli_sign_opts *o;
	struct cli_keymap *keys; /* with --check-keys: every KeyTable key */
	struct spool_conf conf;
	struct spool_work work;
	struct spool_fault fault;
	char fault_op[16];         /* fault.op points here */
	char failed_dir[PATH_MAX]; /* default --failed: SPOOL/failed */
	uint64_t total;            /* messages at start, for progress */
	double t_run;              /* CLOCK_MONOTONIC when signing began */
	bool tty;
	atomic_uint_fast64_t unaligned; /* signed, From not aligned */
	atomic_uint_fast64_t reused;    /* body hashes from an equal body */
	atomic_flag warned;             /* the first one was reported */
	struct cli_ops ops;             /* --log, --metrics */
	struct spool_runner *r;         /* the runner in use */
	double t_scan, scan_cost;       /* the last backlog scan */
	double t_status;                /* the last status line (--watch) */
	uint64_t backlog;               /* at the last scan */
	double oldest;                  /* its oldest mtime, Unix seconds */
	uint64_t n_status;              /* messages done by then */
};

/* Worker lifetime. */
struct bworker {
	struct batch *b;
	struct dkim_signer *signer;
	struct cli_keymap *own; /* keys whose path has '%' */
	struct cli_key_ref refs[MAX_CONFS];
	uint64_t reused; /* the signer's count, as last added to b->reused */
	struct cli_ops_note *note; /* of the message just worked */
};

/* Drop the worker's keys when one more message could overflow the bound. */
static bool
own_keys_room(struct bworker *w, char *reason, size_t reasonlen)
{
	struct cli_keymap *m;

	if (cli_keymap_count(w->own) + MAX_CONFS <= KEY_CACHE_MAX)
		return true;
	if ((m = cli_keymap_new()) == NULL) {
		snprintf(reason, reasonlen, "out of memory");
		return false;
	}
	cli_keymap_free(w->own);
	w->own = m;
	return true;
}

static volatile sig_atomic_t reload_flag;
static atomic_int stop_flag; /* workers read it too */

/* Seconds SIGTERM waits for in-flight hand-offs before exiting anyway. */
#define STOP_GRACE 10

/*
 * SIGTERM/SIGINT: finish in-flight work and exit. A second one, or the
 * grace period running out (a worker stuck in the kernel), ends the
 * process at once, by SIGTERM's default action: the hand-off is
 * crash-safe, so the next start completes or undoes whatever was in
 * flight, exactly as after a power loss.
 */
static void
on_signal(int sig)
{
	if (sig == SIGHUP) {
		reload_flag = 1;
	} else if (sig == SIGALRM || atomic_load(&stop_flag)) {
		signal(SIGTERM, SIG_DFL);
		raise(SIGTERM);
	} else {
		atomic_store(&stop_flag, 1);
		alarm(STOP_GRACE);
	}
}

int
cli_sign_batch_opt(struct cli_sign_opts *o, int ch, const char *arg)
{
	switch (ch) {
	case 'j':
		if (cli_parse_u64(arg, &o->jobs) && o->jobs > 0 &&
		    o->jobs <= 256)
			return 0;
		break;
	case CLI_OPT_FAILED:
		o->failed = arg;
		return 0;
	case CLI_OPT_IO:
		if (strcmp(arg, "uring") == 0 || strcmp(arg, "sync") == 0 ||
		    strcmp(arg, "auto") == 0) {
			o->io = arg;
			return 0;
		}
		break;
	case CLI_OPT_NOFSYNC:
		o->no_fsync = true;
		return 0;
	case CLI_OPT_BATCH:
		if (cli_parse_u64(arg, &o->batch) && o->batch > 0 &&
		    o->batch <= 4096)
			return 0;
		break;
	case CLI_OPT_WATCH:
		o->watch = true;
		return 0;
	case CLI_OPT_STATS:
		o->stats_json = arg;
		return 0;
	case CLI_OPT_CHECKKEYS:
		o->check_keys = true;
		return 0;
	case CLI_OPT_DELIVER:
		o->deliver = arg;
		return 0;
	case CLI_OPT_ENVELOPE:
		if (strcmp(arg, "headers") == 0 ||
		    strcmp(arg, "sidecar") == 0) {
			o->envelope_headers = strcmp(arg, "headers") == 0;
			return 0;
		}
		break;
	case CLI_OPT_CONNECTIONS:
		if (cli_parse_u64(arg, &o->connections) &&
		    o->connections > 0 && o->connections <= 256)
			return 0;
		break;
	case CLI_OPT_DELIVER_HELO:
		if (arg[0] != '\0' && strlen(arg) < 256 &&
		    strpbrk(arg, " \t\r\n") == NULL) {
			o->helo = arg;
			return 0;
		}
		break;
	case CLI_OPT_SMTPTIMEOUT:
		if (cli_parse_u64(arg, &o->smtp_timeout) &&
		    o->smtp_timeout > 0 && o->smtp_timeout <= 3600)
			return 0;
		break;
	case CLI_OPT_TLS:
		o->tls = true;
		return 0;
	case CLI_OPT_TLSCA:
		o->tls_ca = arg;
		return 0;
	case CLI_OPT_TLSNOVERIFY:
		o->tls_no_verify = true;
		return 0;
	case CLI_OPT_RETRYMAX:
		if (cli_parse_u64(arg, &o->retry_max) && o->retry_max > 0 &&
		    o->retry_max <= 86400)
			return 0;
		break;
	default:
		break;
	}
	cli_err("bad option value %s", arg != NULL ? arg : "");
	return CLI_EX_USAGE;
}

static void *
bworker_new(void *ctx, unsigned idx)
{
	struct bworker *w = calloc(1, sizeof(*w));
	struct batch *b = ctx;

	(void)idx;
	if (w == NULL)
		return NULL;
	w->b = b;
	if (dkim_signer_new(&b->e->core, &w->signer) != DKIM_OK ||
	    (w->own = cli_keymap_new()) == NULL) {
		dkim_signer_free(w->signer);
		free(w);
		return NULL;
	}
	return w;
}

static void
bworker_free(void *p)
{
	struct bworker *w = p;

	dkim_signer_free(w->signer);
	cli_keymap_free(w->own);
	free(w);
}

static const char *
arena_str(struct arena *ar, const char *s)
{
	return arena_dup(ar, s, strlen(s) + 1);
}

/*
 * The SigningTable's keys for this From, as confs in the arena; *n of
 * them, or false with the reason. A key that cannot be loaded fails the
 * message, as it fails filter mode: signing with fewer keys than the
 * tables name would hide the broken one.
 */
static bool
table_confs(struct bworker *w, span from, struct arena *ar,
    struct dkim_sign_conf **out, size_t *nout, char *reason, size_t reasonlen)
{
	struct cli_sign_opts *o = w->b->o;
	struct dkim_sign_conf *c;
	char addr[512];
	size_t n, i;

	if (from.len >= sizeof(addr))
		goto nokey;
	memcpy(addr, from.p, from.len);
	addr[from.len] = '\0';
	n = cli_signtable_match(o->st, o->kt, addr, o->multiple, w->refs,
	    MAX_CONFS, reason, reasonlen);
	if (n == 0 && reason[0] != '\0')
		return false;
	if (n == 0)
		goto nokey;
	if (!own_keys_room(w, reason, reasonlen))
		return false;
	if ((c = arena_alloc(ar, n * sizeof(*c))) == NULL) {
		snprintf(reason, reasonlen, "out of memory");
		return false;
	}
	for (i = 0; i < n; i++) {
		const struct cli_key_ref *ref = &w->refs[i];
		const struct dkim_privkey *key;

		key = cli_keymap_find(w->b->keys, ref->keypath);
		if (key == NULL &&
		    (key = cli_keymap_load(w->own, ref->keypath,
		         o->allow_unsafe, reason, reasonlen)) == NULL)
			return false;
		c[i] = o->base;
		c[i].key = key;
		c[i].domain = span_cstr(arena_str(ar, ref->domain));
		c[i].selector = span_cstr(ref->selector);
		if (ref->signer[0] != '\0')
			c[i].identity = span_cstr(arena_str(ar, ref->signer));
	}
	*out = c;
	*nout = n;
	return true;
nokey:
	snprintf(reason, reasonlen, "no SigningTable key for %.*s",
	    (int)(from.len > 120 ? 120 : from.len), (const char *)from.p);
	return false;
}

static void
unaligned_reason(
    span from, const struct dkim_sign_conf *c, char *reason, size_t reasonlen)
{
	span fd = hdr_addr_domain(from);

	snprintf(reason, reasonlen,
	    "From domain %.*s is not aligned with d=%.*s (--require-aligned)",
	    (int)(fd.len > 80 ? 80 : fd.len), (const char *)fd.p,
	    (int)(c->domain.len > 60 ? 60 : c->domain.len),
	    (const char *)c->domain.p);
}

/*
 * A signature DMARC will not align passes DKIM and fails DMARC at the
 * receiver. Counted for the summary; the first one is reported, since a
 * batch usually has thousands of them or none.
 */
static void
count_unaligned(struct batch *b, span from, const struct dkim_sign_conf *c)
{
	span fd = hdr_addr_domain(from);

	atomic_fetch_add(&b->unaligned, 1);
	if (atomic_flag_test_and_set(&b->warned))
		return;
	cli_warn("From domain %.*s is not aligned with d=%.*s: the "
	         "signature passes DKIM but not DMARC (counted in the "
	         "summary; --require-aligned fails such messages)",
	    (int)(fd.len > 200 ? 200 : fd.len), (const char *)fd.p,
	    (int)c->domain.len, (const char *)c->domain.p);
}

/* The run's count of body hashes reused, for --stats-json. */
static void
add_reused(struct bworker *w)
{
	uint64_t r = dkim_signer_bodies_reused(w->signer);

	if (r != w->reused) {
		atomic_fetch_add(&w->b->reused, r - w->reused);
		w->reused = r;
	}
}

static enum spool_verdict
sign_work(void *p, span msg, struct arena *ar, struct buf *prefix, char *reason,
    size_t reasonlen)
{
	struct bworker *w = p;
	struct cli_sign_opts *o = w->b->o;
	struct dkim_sign_conf *confs = o->confs;
	size_t n = o->nconfs;
	uint64_t now = o->fixed_time ? o->now : (uint64_t)time(NULL);
	bool ops = cli_ops_active(&w->b->ops);
	span from;
	bool aligned;

	w->note = NULL;
	if (dkim_sign_parse(w->signer, msg, ar, &from) != DKIM_OK) {
		snprintf(reason, reasonlen, "%s", dkim_signer_err(w->signer));
		w->note = ops ? cli_ops_note_new(ar, SPAN_LIT("")) : NULL;
		return SPOOL_FAIL;
	}
	if (ops)
		w->note = cli_ops_note_new(ar, from);
	if (o->st != NULL &&
	    !table_confs(w, from, ar, &confs, &n, reason, reasonlen))
		return SPOOL_FAIL;
	aligned = dkim_sign_aligned(confs, n, from, o->psl);
	if (!aligned && o->require_aligned) {
		unaligned_reason(from, confs, reason, reasonlen);
		return SPOOL_FAIL;
	}
	if (dkim_sign_emit(w->signer, confs, n, now, prefix) != DKIM_OK) {
		snprintf(reason, reasonlen, "%s", dkim_signer_err(w->signer));
		return SPOOL_FAIL;
	}
	if (!aligned)
		count_unaligned(w->b, from, confs);
	add_reused(w);
	if (w->note != NULL && !cli_ops_note_sigs(w->note, ar, confs, n))
		w->note = NULL;
	return SPOOL_OUT;
}

static void *
sign_note(void *p)
{
	struct bworker *w = p;

	return w->note;
}

static void
sign_outcome(void *ctx, void *w, const struct spool_outcome *o)
{
	struct batch *b = ctx;

	(void)w;
	cli_ops_spool_outcome(&b->ops, o);
}

/*
 * A new map for the workers to share: empty unless check, else holding
 * every KeyTable key without '%' in its path, each loaded and checked
 * once; NULL with the reason in err. Without keep the checked keys are
 * dropped again (a SIGHUP reload checks a new table whole before using
 * it, whatever --check-keys says).
 */
static struct cli_keymap *
load_table_keys(const struct cli_keytable *kt, bool allow_unsafe, bool check,
    bool keep, char *err, size_t errlen)
{
	struct cli_keymap *m;
	size_t i;

	if ((m = cli_keymap_new()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (i = 0; check && kt != NULL && i < cli_keytable_count(kt); i++) {
		const char *path = cli_keytable_entry(kt, i)->keypath;

		if (strchr(path, '%') == NULL &&
		    cli_keymap_load(m, path, allow_unsafe, err, errlen) ==
		        NULL) {
			cli_keymap_free(m);
			return NULL;
		}
	}
	if (check && !keep) {
		cli_keymap_free(m);
		return load_table_keys(
		    kt, allow_unsafe, false, false, err, errlen);
	}
	return m;
}

static double mono_s(void);

/*
 * The backlog gauges, from a scan of the spool: at most once a second,
 * and never more than a tenth of the time, so a huge spool is not read
 * over and over.
 */
static void
refresh_backlog(struct batch *b)
{
	double t = mono_s(), oldest;
	uint64_t n;

	if (b->r == NULL || (b->ops.metrics == NULL && !(b->tty && b->o->watch)))
		return; /* nobody to show it to */
	if (t - b->t_scan < 1.0 || t - b->t_scan < 10 * b->scan_cost)
		return;
	if (spool_backlog(b->r, &n, &oldest) == 0) {
		b->backlog = n;
		b->oldest = oldest;
		cli_metrics_backlog(b->ops.metrics, n, oldest);
	}
	b->t_scan = mono_s();
	b->scan_cost = b->t_scan - t;
}

/* --watch on a terminal: one line, rewritten in place. */
static void
status_line(struct batch *b, const struct spool_stats *s)
{
	double t = mono_s(), dt = t - b->t_status, age = 0;
	uint64_t n = s->done + s->failed;
	struct timespec now;

	if (dt < 0.5)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	if (b->backlog > 0 && b->oldest > 0)
		age = (double)now.tv_sec + (double)now.tv_nsec * 1e-9 -
		    b->oldest;
	fprintf(stderr,
	    "\rhanko: watching: %llu signed, %llu failed, %.0f msgs/s, "
	    "backlog %llu, oldest %.0fs   ",
	    (unsigned long long)s->done, (unsigned long long)s->failed,
	    b->t_status > 0 && n >= b->n_status ? (double)(n - b->n_status) / dt
	                                        : 0,
	    (unsigned long long)b->backlog, age > 0 ? age : 0);
	b->t_status = t;
	b->n_status = n;
}

static void
progress(void *ctx, const struct spool_stats *s)
{
	struct batch *b = ctx;
	uint64_t done = s->done + s->failed;
	double rate = s->seconds > 0 ? (double)done / s->seconds : 0;
	double eta =
	    rate > 0 && b->total > done ? (double)(b->total - done) / rate : 0;

	refresh_backlog(b);
	if (!b->tty)
		return;
	if (b->o->watch) {
		status_line(b, s);
		return;
	}
	fprintf(stderr,
	    "\rhanko: %llu/%llu signed, %llu failed, %.0f msgs/s, "
	    "ETA %.0fs   ",
	    (unsigned long long)s->done, (unsigned long long)b->total,
	    (unsigned long long)s->failed, rate, eta);
}

/* A message left in place or held: named on every run. */
static void
report(void *ctx, const char *what)
{
	struct batch *b = ctx;

	fprintf(stderr, "%shanko: %s\n", b->tty ? "\n" : "", what);
}

static double
mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/*
 * Rates are over the wall time from the start of the process: loading
 * tables and keys is part of what a run costs. Start-up is shown apart.
 */
static void
summary(struct batch *b, const struct spool_stats *s)
{
	double wall = mono_s() - b->o->t_start;
	double secs = wall > 0 ? wall : 1e-9;
	uint64_t unaligned = atomic_load(&b->unaligned);
	char extra[48] = "";

	if (b->tty)
		fputc('\n', stderr);
	if (unaligned > 0)
		snprintf(extra, sizeof(extra), ", unaligned %llu",
		    (unsigned long long)unaligned);
	fprintf(stderr,
	    "hanko: signed %llu, failed %llu, left %llu%s in %.2fs "
	    "(start-up %.2fs): %.0f msgs/s, %.1f MB/s (%s, %u workers%s)\n",
	    (unsigned long long)s->done, (unsigned long long)s->failed,
	    (unsigned long long)s->left, extra, wall, b->t_run - b->o->t_start,
	    (double)s->done / secs, (double)s->bytes_in / secs / 1e6,
	    spool_io_str(b->conf.io), b->conf.workers,
	    b->conf.durable ? "" : ", NOT durable");
	if (unaligned > 0)
		fprintf(stderr,
		    "hanko: %llu signed messages have a From domain not "
		    "aligned with d=: receivers will not count their "
		    "signatures for DMARC\n",
		    (unsigned long long)unaligned);
	if (s->failed > 0)
		fprintf(stderr,
		    "hanko: failed messages and their reasons are "
		    "in %s\n",
		    b->o->failed);
	if (s->first_err != 0)
		fprintf(stderr, "hanko: %s\n", s->err);
}

static int
write_stats(struct batch *b, const struct spool_stats *s)
{
	double secs = s->seconds > 0 ? s->seconds : 1e-9;
	double wall = mono_s() - b->o->t_start;
	FILE *f;

	if (b->o->stats_json == NULL)
		return 0;
	if ((f = fopen(b->o->stats_json, "w")) == NULL) {
		cli_err("%s: %s", b->o->stats_json, strerror(errno));
		return CLI_EX_CANTCREAT;
	}
	fprintf(f,
	    "{\"signed\":%llu,\"failed\":%llu,\"left\":%llu,"
	    "\"seconds\":%.6f,\"msgs_per_s\":%.1f,\"mb_per_s\":%.3f,"
	    "\"bytes_in\":%llu,\"bytes_out\":%llu,\"workers\":%u,"
	    "\"io\":\"%s\",\"durable\":%s,\"unaligned\":%llu,"
	    "\"bodies_reused\":%llu,\"wall_seconds\":%.6f,"
	    "\"startup_seconds\":%.6f}\n",
	    (unsigned long long)s->done, (unsigned long long)s->failed,
	    (unsigned long long)s->left, s->seconds, (double)s->done / secs,
	    (double)s->bytes_in / secs / 1e6, (unsigned long long)s->bytes_in,
	    (unsigned long long)s->bytes_out, b->conf.workers,
	    spool_io_str(b->conf.io), b->conf.durable ? "true" : "false",
	    (unsigned long long)atomic_load(&b->unaligned),
	    (unsigned long long)atomic_load(&b->reused), wall,
	    b->t_run - b->o->t_start);
	return fclose(f) == 0 ? 0 : CLI_EX_IOERR;
}

#ifdef HANKO_FAULT_HOOK
/*
 * A crash point of the fault tests: die as a power loss would, with no
 * exit handlers (which would also make sanitizers report live threads).
 */
static void
fault_crash(void)
{
	kill(getpid(), SIGKILL);
	_exit(137);
}

/*
 * HANKO_FAULT=op:nth[:errno] makes the nth op fail, op:nth:crash ends
 * the process there. Only in the test build, hanko-fault (compiled with
 * -DHANKO_FAULT_HOOK): the shipped binary reads no such variable.
 */
static const struct spool_fault *
fault_from_env(struct spool_fault *f, char *op, size_t oplen)
{
	const char *v = getenv("HANKO_FAULT"), *c;
	char *end;
	size_t len;

	if (v == NULL || (c = strchr(v, ':')) == NULL ||
	    (len = (size_t)(c - v)) == 0 || len >= oplen)
		return NULL;
	memcpy(op, v, len);
	op[len] = '\0';
	f->op = op;
	f->nth = strtoul(c + 1, &end, 10);
	f->err = *end == ':' ? (int)strtol(end + 1, NULL, 10) : ENOSPC;
	f->crash = strcmp(end, ":crash") == 0 ? fault_crash : NULL;
	return f->nth > 0 ? f : NULL;
}
#else
static const struct spool_fault *
fault_from_env(struct spool_fault *f, char *op, size_t oplen)
{
	(void)f;
	(void)op;
	(void)oplen;
	return NULL;
}
#endif

static int
exit_code(int e, const struct spool_stats *s)
{
	if (e == -ENOSPC || e == -EDQUOT || e == -EBUSY)
		return CLI_EX_TEMPFAIL; /* retry later */
	if (e != 0)
		return CLI_EX_IOERR;
	return s->failed > 0 || s->left > 0 ? CLI_EX_SOMEFAIL : CLI_EX_OK;
}

static int
batch_setup(struct batch *b, const char *spool, const char *out)
{
	struct spool_conf *c = &b->conf;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	char err[512];
	int ex;

	/* The default is opened beneath the spool, never through a link. */
	c->failed_dir = b->o->failed;
	if (b->o->failed == NULL) {
		snprintf(
		    b->failed_dir, sizeof(b->failed_dir), "%s/failed", spool);
		b->o->failed = b->failed_dir;
	}
	if ((b->keys = load_table_keys(b->o->kt, b->o->allow_unsafe,
	         b->o->check_keys, b->o->check_keys, err, sizeof(err))) ==
	    NULL) {
		cli_err("%s", err);
		return CLI_EX_CONFIG;
	}
	b->work.ctx = b;
	b->work.worker_new = bworker_new;
	b->work.worker_free = bworker_free;
	b->work.work = sign_work;
	if ((ex = cli_ops_start(&b->o->ops, &b->ops, true, err,
	         sizeof(err))) != 0) {
		cli_err("%s", err);
		return ex;
	}
	if (cli_ops_active(&b->ops)) {
		b->work.note = sign_note;
		b->work.outcome = sign_outcome;
	}
	c->spool_dir = spool;
	c->out_dir = out;
	c->workers = b->o->jobs > 0 ? (unsigned)b->o->jobs
	                            : (unsigned)(ncpu > 0 ? ncpu : 1);
	c->io = b->o->io == NULL || strcmp(b->o->io, "auto") == 0
	    ? (spool_uring_available() ? SPOOL_IO_URING : SPOOL_IO_SYNC)
	    : strcmp(b->o->io, "uring") == 0 ? SPOOL_IO_URING
	                                     : SPOOL_IO_SYNC;
	if (c->io == SPOOL_IO_URING && !spool_uring_available()) {
		cli_err("--io uring: io_uring is not available here");
		return CLI_EX_USAGE;
	}
	c->durable = !b->o->no_fsync;
	c->batch = b->o->batch > 0 ? (size_t)b->o->batch : 64;
	c->max_msg = b->e->limits.max_msg_bytes;
	c->alloc = b->e->core.alloc;
	c->work = &b->work;
	c->fault = fault_from_env(&b->fault, b->fault_op, sizeof(b->fault_op));
	c->stop = &stop_flag;
	b->tty = isatty(STDERR_FILENO) == 1;
	c->progress = b->tty || b->ops.metrics != NULL ? progress : NULL;
	c->progress_ctx = b;
	c->report = report;
	if (!c->durable)
		cli_warn(
		    "--no-fsync: a crash or power loss can lose or "
		    "duplicate messages; use it for throwaway benchmarks only");
	return 0;
}

static int
runner_start(struct batch *b, struct spool_runner **r)
{
	char err[512];
	int e;

	if ((e = spool_runner_new(&b->conf, r, err, sizeof(err))) != 0) {
		cli_err("%s", err);
		if (e == -ELOOP)
			return CLI_EX_USAGE; /* a refused layout */
		return e == -EBUSY ? CLI_EX_TEMPFAIL : CLI_EX_CANTCREAT;
	}
	if (b->t_run == 0)
		b->t_run = mono_s();
	b->r = *r;
	b->t_scan = 0;
	refresh_backlog(b);
	return 0;
}

/* What a SIGHUP reloads, loaded beside what is in use. */
struct keyset {
	struct cli_keytable *kt;
	struct cli_signtable *st;
	struct cli_keymap *keys;
	struct dkim_privkey pk[MAX_CONFS]; /* the -k keys */
};

static void
keyset_free(struct keyset *k)
{
	size_t i;

	for (i = 0; i < MAX_CONFS; i++)
		if (k->pk[i].pk != NULL)
			dkim_privkey_fini(&k->pk[i]);
	cli_keymap_free(k->keys);
	cli_signtable_free(k->st);
	cli_keytable_free(k->kt);
}

static bool
keyset_load(
    const struct cli_sign_opts *o, struct keyset *k, char *err, size_t errlen)
{
	size_t i;

	if (o->key_table != NULL &&
	    (cli_keytable_load(o->key_table, &k->kt, err, errlen) != 0 ||
	        cli_signtable_load(o->sign_table, k->kt, &k->st, err, errlen) !=
	            0))
		return false;
	for (i = 0; i < o->nconfs; i++)
		if (cli_key_load(o->specs[i].path, o->allow_unsafe, &k->pk[i],
		        err, errlen) != 0)
			return false;
	k->keys = load_table_keys(
	    k->kt, o->allow_unsafe, true, o->check_keys, err, errlen);
	return k->keys != NULL;
}

/*
 * SIGHUP: reread tables and keys between passes. Only when all of them
 * load do they replace the ones in use (and a fresh runner drops the
 * workers' '%' keys); otherwise the error is logged and signing goes on
 * with what was loaded before, so a typo in a KeyTable does not stop the
 * mail.
 */
static int
reload(struct batch *b, struct spool_runner **r)
{
	struct cli_sign_opts *o = b->o;
	struct keyset k, old;
	char err[512];
	size_t i;

	reload_flag = 0;
	if (cli_log_reopen(b->ops.log, err, sizeof(err)) != 0)
		cli_err("%s; still logging to the file opened before", err);
	memset(&k, 0, sizeof(k));
	if (!keyset_load(o, &k, err, sizeof(err))) {
		keyset_free(&k);
		cli_err("reload failed, still signing with the keys and tables "
		        "loaded before: %s",
		    err);
		return 0;
	}
	spool_runner_free(*r);
	*r = NULL;
	b->r = NULL;
	memset(&old, 0, sizeof(old));
	old.kt = o->kt;
	old.st = o->st;
	old.keys = b->keys;
	o->kt = k.kt;
	o->st = k.st;
	b->keys = k.keys;
	for (i = 0; i < o->nconfs; i++) {
		old.pk[i] = o->keys[i];
		o->keys[i] = k.pk[i];
	}
	keyset_free(&old);
	cli_warn("reloaded keys and tables");
	return runner_start(b, r);
}

static int
watch_wait(int ifd)
{
	struct pollfd p = { ifd, POLLIN, 0 };
	char buf[4096];

	/* A timeout catches what inotify cannot see (e.g. NFS). */
	if (poll(&p, 1, 1000) > 0)
		while (read(ifd, buf, sizeof(buf)) > 0)
			continue;
	return 0;
}

static int
watch_loop(struct batch *b, struct spool_runner **r, struct spool_stats *s)
{
	int ifd, e = 0, ex;

	if ((ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK)) < 0 ||
	    inotify_add_watch(
	        ifd, b->conf.spool_dir, IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
		cli_err("--watch %s: %s", b->conf.spool_dir, strerror(errno));
		if (ifd >= 0)
			close(ifd);
		return CLI_EX_OSERR;
	}
	while (!atomic_load(&stop_flag)) {
		watch_wait(ifd);
		if (b->conf.progress != NULL)
			progress(b, s);
		if (reload_flag && (ex = reload(b, r)) != 0) {
			close(ifd);
			return ex;
		}
		if (!atomic_load(&stop_flag) &&
		    (e = spool_runner_pass(*r, s)) != 0)
			break;
	}
	close(ifd);
	return exit_code(e, s);
}

int
cli_sign_batch(struct cli_env *e, struct cli_sign_opts *o, const char *spool,
    const char *out)
{
	struct batch *b = calloc(1, sizeof(*b));
	struct spool_runner *r = NULL;
	struct spool_stats s;
	struct sigaction sa;
	int ex, err;

	if (b == NULL) {
		cli_err("out of memory");
		return CLI_EX_SOFTWARE;
	}
	atomic_init(&b->unaligned, 0);
	atomic_flag_clear(&b->warned);
	memset(&s, 0, sizeof(s));
	b->e = e;
	b->o = o;
	if ((ex = batch_setup(b, spool, out)) != 0 ||
	    (ex = runner_start(b, &r)) != 0)
		goto done;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	if (b->tty)
		b->total = spool_count(spool);
	err = spool_runner_pass(r, &s);
	ex = exit_code(err, &s);
	if (err == 0 && o->watch)
		ex = watch_loop(b, &r, &s);
	summary(b, &s);
	if (write_stats(b, &s) != 0 && ex == 0)
		ex = CLI_EX_IOERR;
done:
	spool_runner_free(r);
	cli_ops_stop(&b->ops);
	cli_keymap_free(b->keys);
	free(b);
	return ex;
}

struct batch *
cli_batch_new(struct cli_env *e, struct cli_sign_opts *o,
    const struct spool_work **work)
{
	struct batch *b = calloc(1, sizeof(*b));
	char err[512];

	if (b == NULL) {
		cli_err("out of memory");
		return NULL;
	}
	atomic_init(&b->unaligned, 0);
	atomic_flag_clear(&b->warned);
	b->e = e;
	b->o = o;
	if ((b->keys = load_table_keys(o->kt, o->allow_unsafe, o->check_keys,
	         o->check_keys, err, sizeof(err))) == NULL) {
		cli_err("%s", err);
		free(b);
		return NULL;
	}
	b->work.ctx = b;
	b->work.worker_new = bworker_new;
	b->work.worker_free = bworker_free;
	b->work.work = sign_work;
	*work = &b->work;
	return b;
}

void
cli_batch_free(struct batch *b)
{
	if (b == NULL)
		return;
	cli_keymap_free(b->keys);
	free(b);
}
