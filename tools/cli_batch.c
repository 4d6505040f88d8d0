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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "cli_keymap.h"
#include "core/arena.h"
#include "io/spool.h"

/* Process lifetime: what every worker reads. */
struct batch {
	struct cli_env *e;
	struct cli_sign_opts *o;
	struct cli_keymap *keys; /* every KeyTable key, loaded at start */
	struct spool_conf conf;
	struct spool_work work;
	struct spool_fault fault;
	uint64_t total; /* messages at start, for progress */
	bool tty;
};

/* Worker lifetime. */
struct bworker {
	struct batch *b;
	struct dkim_signer *signer;
	struct cli_keymap *own; /* keys whose path has '%' */
	struct cli_key_ref refs[MAX_CONFS];
};

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

/* The SigningTable's keys for this From, as confs in the arena. */
static size_t
table_confs(
    struct bworker *w, span from, struct arena *ar, struct dkim_sign_conf **out)
{
	struct cli_sign_opts *o = w->b->o;
	struct dkim_sign_conf *c;
	char addr[512];
	size_t n, i, k = 0;

	if (from.len >= sizeof(addr))
		return 0;
	memcpy(addr, from.p, from.len);
	addr[from.len] = '\0';
	n = cli_signtable_match(
	    o->st, o->kt, addr, o->multiple, w->refs, MAX_CONFS);
	if (n == 0 || (c = arena_alloc(ar, n * sizeof(*c))) == NULL)
		return 0;
	for (i = 0; i < n; i++) {
		const struct cli_key_ref *ref = &w->refs[i];
		const struct dkim_privkey *key;

		key = cli_keymap_find(w->b->keys, ref->keypath);
		if (key == NULL)
			key = cli_keymap_load(
			    w->own, ref->keypath, o->allow_unsafe);
		if (key == NULL)
			continue;
		c[k] = o->base;
		c[k].key = key;
		c[k].domain = span_cstr(arena_str(ar, ref->domain));
		c[k].selector = span_cstr(ref->selector);
		if (ref->signer[0] != '\0')
			c[k].identity = span_cstr(arena_str(ar, ref->signer));
		k++;
	}
	*out = c;
	return k;
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
	span from;

	if (dkim_sign_parse(w->signer, msg, ar, &from) != DKIM_OK) {
		snprintf(reason, reasonlen, "%s", dkim_signer_err(w->signer));
		return SPOOL_FAIL;
	}
	if (o->st != NULL && (n = table_confs(w, from, ar, &confs)) == 0) {
		snprintf(reason, reasonlen, "no SigningTable key for %.*s",
		    (int)(from.len > 200 ? 200 : from.len),
		    (const char *)from.p);
		return SPOOL_FAIL;
	}
	if (dkim_sign_emit(w->signer, confs, n, now, prefix) != DKIM_OK) {
		snprintf(reason, reasonlen, "%s", dkim_signer_err(w->signer));
		return SPOOL_FAIL;
	}
	return SPOOL_OUT;
}

/* Every KeyTable key without '%' in its path, loaded and checked once. */
static int
load_table_keys(struct batch *b)
{
	const struct cli_keytable *kt = b->o->kt;
	size_t i;

	if ((b->keys = cli_keymap_new()) == NULL)
		return CLI_EX_SOFTWARE;
	for (i = 0; kt != NULL && i < cli_keytable_count(kt); i++) {
		const char *path = cli_keytable_entry(kt, i)->keypath;

		if (strchr(path, '%') == NULL &&
		    cli_keymap_load(b->keys, path, b->o->allow_unsafe) == NULL)
			return CLI_EX_CONFIG;
	}
	return 0;
}

static void
progress(void *ctx, const struct spool_stats *s)
{
	struct batch *b = ctx;
	uint64_t done = s->done + s->failed;
	double rate = s->seconds > 0 ? (double)done / s->seconds : 0;
	double eta =
	    rate > 0 && b->total > done ? (double)(b->total - done) / rate : 0;

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

static void
summary(const struct batch *b, const struct spool_stats *s)
{
	double secs = s->seconds > 0 ? s->seconds : 1e-9;

	if (b->tty)
		fputc('\n', stderr);
	fprintf(stderr,
	    "hanko: signed %llu, failed %llu, left %llu in %.2fs: "
	    "%.0f msgs/s, %.1f MB/s (%s, %u workers%s)\n",
	    (unsigned long long)s->done, (unsigned long long)s->failed,
	    (unsigned long long)s->left, s->seconds, (double)s->done / secs,
	    (double)s->bytes_in / secs / 1e6, spool_io_str(b->conf.io),
	    b->conf.workers, b->conf.durable ? "" : ", NOT durable");
	if (s->failed > 0)
		fprintf(stderr,
		    "hanko: failed messages and their reasons are "
		    "in %s\n",
		    b->o->failed);
	if (s->first_err != 0)
		fprintf(stderr, "hanko: %s\n", s->err);
}

static int
write_stats(const struct batch *b, const struct spool_stats *s)
{
	double secs = s->seconds > 0 ? s->seconds : 1e-9;
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
	    "\"io\":\"%s\",\"durable\":%s}\n",
	    (unsigned long long)s->done, (unsigned long long)s->failed,
	    (unsigned long long)s->left, s->seconds, (double)s->done / secs,
	    (double)s->bytes_in / secs / 1e6, (unsigned long long)s->bytes_in,
	    (unsigned long long)s->bytes_out, b->conf.workers,
	    spool_io_str(b->conf.io), b->conf.durable ? "true" : "false");
	return fclose(f) == 0 ? 0 : CLI_EX_IOERR;
}

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
 * the process there (tests only).
 */
static const struct spool_fault *
fault_from_env(struct spool_fault *f)
{
	const char *v = getenv("HANKO_FAULT"), *c;
	static char op[16];
	char *end;
	size_t len;

	if (v == NULL || (c = strchr(v, ':')) == NULL ||
	    (len = (size_t)(c - v)) == 0 || len >= sizeof(op))
		return NULL;
	memcpy(op, v, len);
	op[len] = '\0';
	f->op = op;
	f->nth = strtoul(c + 1, &end, 10);
	f->err = *end == ':' ? (int)strtol(end + 1, NULL, 10) : ENOSPC;
	f->crash = strcmp(end, ":crash") == 0 ? fault_crash : NULL;
	return f->nth > 0 ? f : NULL;
}

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
	static char failed[PATH_MAX];
	struct spool_conf *c = &b->conf;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int r;

	/* The default is opened beneath the spool, never through a link. */
	c->failed_dir = b->o->failed;
	if (b->o->failed == NULL) {
		snprintf(failed, sizeof(failed), "%s/failed", spool);
		b->o->failed = failed;
	}
	if ((r = load_table_keys(b)) != 0)
		return r;
	b->work.ctx = b;
	b->work.worker_new = bworker_new;
	b->work.worker_free = bworker_free;
	b->work.work = sign_work;
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
	c->fault = fault_from_env(&b->fault);
	c->stop = &stop_flag;
	b->tty = isatty(STDERR_FILENO) == 1;
	c->progress = b->tty ? progress : NULL;
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
	return 0;
}

/* SIGHUP: reread tables and keys between passes, then a fresh runner. */
static int
reload(struct batch *b, struct spool_runner **r)
{
	struct cli_sign_opts *o = b->o;
	char err[256];
	size_t i;
	int ex;

	reload_flag = 0;
	spool_runner_free(*r);
	*r = NULL;
	cli_keymap_free(b->keys);
	b->keys = NULL;
	if (o->kt != NULL) {
		cli_signtable_free(o->st);
		cli_keytable_free(o->kt);
		o->st = NULL;
		o->kt = NULL;
		if (cli_keytable_load(o->key_table, &o->kt, err, sizeof(err)) !=
		        0 ||
		    cli_signtable_load(
		        o->sign_table, o->kt, &o->st, err, sizeof(err)) != 0) {
			cli_err("reload: %s", err);
			return CLI_EX_CONFIG;
		}
	}
	for (i = 0; i < o->nconfs; i++) {
		dkim_privkey_fini(&o->keys[i]);
		if ((ex = cli_key_load(
		         o->specs[i].path, o->allow_unsafe, &o->keys[i])) != 0)
			return ex;
	}
	if ((ex = load_table_keys(b)) != 0)
		return ex;
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
	static struct batch b;
	struct spool_runner *r = NULL;
	struct spool_stats s;
	struct sigaction sa;
	int ex, err;

	memset(&b, 0, sizeof(b));
	memset(&s, 0, sizeof(s));
	b.e = e;
	b.o = o;
	if ((ex = batch_setup(&b, spool, out)) != 0 ||
	    (ex = runner_start(&b, &r)) != 0)
		goto done;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	if (b.tty)
		b.total = spool_count(spool);
	err = spool_runner_pass(r, &s);
	ex = exit_code(err, &s);
	if (err == 0 && o->watch)
		ex = watch_loop(&b, &r, &s);
	summary(&b, &s);
	if (write_stats(&b, &s) != 0 && ex == 0)
		ex = CLI_EX_IOERR;
done:
	spool_runner_free(r);
	cli_keymap_free(b.keys);
	return ex;
}
