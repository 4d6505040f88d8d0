/*
 * hanko verify: one Authentication-Results field (or JSON object) per
 * message, for files, directories or stdin. hanko dmarc runs the same
 * loop with its own struct verify_mode (cli_dmarc.c); each message is
 * one core/auth.h call either way.
 */
#include "cli_verify.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli_envelope.h"
#include "cli_json.h"
#include "core/arena.h"
#include "core/dkim_verify.h"
#include "io/spool.h"

static const char verify_usage[] =
    "usage: hanko verify [DNS] [OPTIONS] [FILE|DIR...]   (no file: stdin)\n" CLI_DNS_USAGE
    "OPTIONS:\n"
    "  --json                   one JSON object per message\n"
    "  --authserv-id NAME       authserv-id in the field (default: host name)\n"
    "  --time T                 verify as of time T (x= and t= checks)\n"
    "  --max-size BYTES         largest message accepted (default 64 MiB)\n"
    "  --max-signatures N       signatures examined per message (default 10)\n"
    "  -j, --jobs N             worker threads for directories (default: CPUs)\n"
    "  --batch N                messages in flight per worker (default 64)\n"
    "exit: 0 every message has a passing signature; 1 some message has none;\n"
    "      75 a DNS failure left a message without a pass; 66 unreadable input,\n"
    "      or a directory holding no message\n";

enum {
	OPT_JSON = 256,
	OPT_AUTHSERV,
	OPT_TIME,
	OPT_MAXSIZE,
	OPT_MAXSIGS,
	OPT_BATCH,
};

static const struct option verify_longopts[] = {
	CLI_DNS_LONGOPTS,
	CLI_DMARC_LONGOPTS,
	{ "json", no_argument, NULL, OPT_JSON },
	{ "authserv-id", required_argument, NULL, OPT_AUTHSERV },
	{ "time", required_argument, NULL, OPT_TIME },
	{ "max-size", required_argument, NULL, OPT_MAXSIZE },
	{ "max-signatures", required_argument, NULL, OPT_MAXSIGS },
	{ "jobs", required_argument, NULL, 'j' },
	{ "batch", required_argument, NULL, OPT_BATCH },
	CLI_OPS_LONGOPTS,
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static bool
json_result(struct buf *b, const struct dkim_result *r)
{
	bool ok = buf_add_byte(b, '{') && cli_json_key(b, "result", true) &&
	    cli_json_str(b, span_cstr(dkim_verdict_str(r->verdict))) &&
	    cli_json_key(b, "reason", false) &&
	    cli_json_str(b, span_cstr(r->reason)) &&
	    cli_json_key(b, "d", false) && cli_json_opt_str(b, r->d) &&
	    cli_json_key(b, "s", false) && cli_json_opt_str(b, r->s) &&
	    cli_json_key(b, "i", false) && cli_json_opt_str(b, r->i) &&
	    cli_json_key(b, "a", false) &&
	    cli_json_str(b,
	        r->alg_known ? span_cstr(dkim_alg_str(r->alg))
	                     : span_make(NULL, 0)) &&
	    cli_json_key(b, "b", false) &&
	    cli_json_str(b, span_cstr(r->bpref)) &&
	    cli_json_key(b, "key_bits", false) && buf_add_u64(b, r->key_bits) &&
	    cli_json_key(b, "testing", false) &&
	    buf_add_cstr(b, r->testing ? "true" : "false") &&
	    cli_json_key(b, "dnssec", false) &&
	    buf_add_cstr(b, r->dnssec == 1 ? "true" : "false") &&
	    cli_json_key(b, "l", false);

	if (ok && r->has_l)
		ok = buf_add_u64(b, r->l);
	else if (ok)
		ok = buf_add_cstr(b, "null");
	return ok && cli_json_key(b, "body_length", false) &&
	    buf_add_u64(b, r->body_len) && buf_add_byte(b, '}');
}

static bool
json_msg(struct buf *b, const char *name, const struct dkim_result *res,
    size_t n, size_t skipped, const char *error, span ar)
{
	size_t i;
	bool ok = buf_add_byte(b, '{') && cli_json_key(b, "file", true) &&
	    cli_json_str(b, span_cstr(name)) && cli_json_key(b, "error", false);

	ok = ok &&
	    (error ? cli_json_str(b, span_cstr(error))
	           : buf_add_cstr(b, "null"));
	ok = ok && cli_json_key(b, "skipped", false) &&
	    buf_add_u64(b, skipped) && cli_json_key(b, "dkim", false) &&
	    buf_add_byte(b, '[');
	for (i = 0; ok && i < n; i++)
		ok =
		    (i == 0 || buf_add_byte(b, ',')) && json_result(b, &res[i]);
	return ok && buf_add_byte(b, ']') &&
	    cli_json_key(b, "authentication_results", false) &&
	    cli_json_str(b, ar) && buf_add_cstr(b, "}\n");
}

static void
verify_tally(struct verify_opts *o, const struct auth_result *r)
{
	bool pass = false, temp = false;
	size_t i;

	if (r->error != NULL) {
		o->any_nopass = true;
		return;
	}
	for (i = 0; i < r->ndkim; i++) {
		pass = pass || r->dkim[i].verdict == DKIM_V_PASS;
		temp = temp || r->dkim[i].verdict == DKIM_V_TEMPERROR;
	}
	if (!pass && temp)
		o->any_temp = true;
	else if (!pass)
		o->any_nopass = true;
}

static bool
verify_format(struct verify_opts *o, const char *name, const struct auth_ctx *a,
    struct buf *out)
{
	const struct auth_result *r = auth_result(a);

	if (!r->authres_ok)
		return false;
	if (o->json)
		return json_msg(out, name, r->dkim, r->ndkim, r->skipped,
		    r->error, r->authres);
	return (!o->tagged ||
	           (buf_add_cstr(out, "# ") && buf_add_cstr(out, name) &&
	               buf_add_byte(out, '\n'))) &&
	    buf_add_span(out, r->authres) && buf_add_byte(out, '\n');
}

const struct verify_mode cli_verify_mode = {
	.usage = verify_usage,
	.format = verify_format,
	.tally = verify_tally,
};

static double
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/*
 * Print one message's result with a single write, under the output lock
 * (workers print concurrently).
 */
static int
emit(struct vctx *c, size_t slot, const char *name, double t0)
{
	struct verify_opts *o = c->o;
	struct arena *ar = &c->ar[slot];
	const struct auth_ctx *a = c->a[slot];
	struct buf out;
	char full[PATH_MAX];
	bool ok;
	int ex = 0;

	if (o->dir != NULL) {
		snprintf(full, sizeof(full), "%s/%s", o->dir, name);
		name = full;
	}
	buf_init_arena(&out, ar);
	ok = o->mode->format(o, name, a, &out);
	pthread_mutex_lock(&o->out_lock);
	o->nmsgs++;
	o->mode->tally(o, auth_result(a));
	if (!ok || cli_write_all(STDOUT_FILENO, out.p, out.len) != 0) {
		cli_err("cannot write the result");
		ex = CLI_EX_IOERR;
	}
	if (ex == 0 && o->mode->record != NULL)
		ex = o->mode->record(o, name, a, ar);
	pthread_mutex_unlock(&o->out_lock);
	if (cli_ops_active(&o->ops_rt))
		cli_ops_auth(&o->ops_rt, span_cstr(name), auth_result(a),
		    o->mode == &cli_dmarc_mode ? "evaluated" : "verified",
		    mono_now() - t0);
	return ex;
}

/* Every message of the batch has its final result. */
struct batch_wait {
	struct vctx *c;
	size_t n;
};

static bool
batch_done(void *arg)
{
	struct batch_wait *w = arg;
	size_t i;

	for (i = 0; i < w->n; i++)
		if (!auth_is_done(w->c->a[i]))
			return false;
	return true;
}

static void
wait_dns(struct vctx *c, size_t n)
{
	struct batch_wait w = { c, n };

	cli_resolver_wait(&c->res, batch_done, &w);
}

static int
vctx_init(
    struct vctx *c, struct verify_opts *o, size_t nv, char *err, size_t errlen)
{
	size_t inflight =
	    nv * ((size_t)o->max_sigs + o->mode->extra_queries) + 16;
	size_t i;
	int r;

	memset(c, 0, sizeof(*c));
	c->o = o;
	c->env = o->e->core;
	if ((r = cli_resolver_open(&o->dns, inflight, &c->res, err, errlen)) !=
	    0)
		return r;
	if (cli_ops_dns_init(&c->counted, &o->ops_rt, &c->res.ops, inflight) !=
	    0) {
		snprintf(err, errlen, "out of memory");
		return CLI_EX_SOFTWARE;
	}
	c->env.dns = &c->res.ops;
	for (i = 0; i < nv; i++) {
		arena_init(&c->ar[i], c->env.alloc, 64 << 10,
		    o->e->limits.max_arena_bytes);
		c->nv = i + 1;
		if (auth_new(&c->env, &o->conf, i > 0 ? c->a[0] : NULL,
		        &c->a[i]) != AUTH_OK) {
			snprintf(err, errlen, "cannot set up verification");
			return CLI_EX_SOFTWARE;
		}
	}
	return 0;
}

static void
vctx_fini(struct vctx *c)
{
	size_t i;

	for (i = c->nv; i-- > 0;) { /* a[0] owns the shared key cache */
		auth_free(c->a[i]);
		arena_fini(&c->ar[i]);
	}
	cli_resolver_close(&c->res);
	cli_ops_dns_fini(&c->counted); /* after the last answer */
}

/*
 * Verify up to nv messages together: every query goes out before any
 * answer is awaited, so lookups overlap instead of queueing.
 */
static int
verify_items(struct vctx *c, struct spool_item *it, size_t n)
{
	struct verify_opts *o = c->o;
	struct auth_request req;
	double t0 = mono_now();
	size_t i;
	int ex = 0, e;

	for (i = 0; i < n; i++) {
		arena_reset(&c->ar[i]);
		memset(&req, 0, sizeof(req));
		req.msg = it[i].msg;
		req.now = o->now;
		if (it[i].err == -EFBIG)
			req.unread = "message larger than --max-size";
		else if (it[i].err != 0)
			req.unread = strerror(-it[i].err);
		if (o->mode->prepare != NULL)
			o->mode->prepare(o, &it[i], &c->ar[i], &req);
		/*
		 * AUTH_E_ARG (busy) cannot happen: each batch is waited for
		 * to the last answer before the next starts.
		 */
		if (auth_start(c->a[i], &req, &c->ar[i]) == AUTH_E_ARG)
			cli_err("%s: context busy", it[i].name);
	}
	wait_dns(c, n);
	for (i = 0; i < n; i++) {
		e = emit(c, i, it[i].name, t0);
		ex = ex != 0 ? ex : e;
	}
	return ex;
}

static int
verify_path(struct vctx *c, const char *path)
{
	struct spool_item it = { path, { NULL, 0 }, 0 };
	uint8_t *msg = NULL;
	size_t len = 0;
	int r;

	if (strcmp(path, "-") == 0)
		r = cli_read_fd(STDIN_FILENO, c->o->max_size, &msg, &len);
	else
		r = cli_read_file(path, c->o->max_size, &msg, &len);
	if (r != 0 && r != -EFBIG) {
		cli_err("%s: %s", path, strerror(-r));
		c->o->any_unreadable = true;
		return 0;
	}
	it.msg = span_make(msg, len);
	it.err = r;
	r = verify_items(c, &it, 1);
	free(msg);
	return r;
}

/* Directory workers: the spool pipeline's readers, read-only. */
static void *
dir_worker_new(void *ctx, unsigned idx)
{
	struct verify_opts *o = ctx;
	struct vctx *c = malloc(sizeof(*c));
	char err[256];

	(void)idx;
	if (c != NULL &&
	    vctx_init(c, o, (size_t)o->batch, err, sizeof(err)) != 0) {
		cli_err("%s", err);
		vctx_fini(c);
		free(c);
		c = NULL;
	}
	return c;
}

static void
dir_worker_free(void *w)
{
	vctx_fini(w);
	free(w);
}

static void
dir_work_batch(void *w, struct spool_item *items, size_t n)
{
	(void)verify_items(w, items, n);
}

static int
verify_dir(struct verify_opts *o, const char *dir)
{
	struct spool_work work = { .ctx = o,
		.worker_new = dir_worker_new,
		.worker_free = dir_worker_free,
		.work_batch = dir_work_batch };
	struct spool_conf conf;
	struct spool_runner *r = NULL;
	struct spool_stats st;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	char err[512];
	uint64_t before;
	int e;

	memset(&conf, 0, sizeof(conf));
	memset(&st, 0, sizeof(st));
	conf.spool_dir = dir;
	conf.readonly = true;
	conf.workers =
	    o->jobs > 0 ? (unsigned)o->jobs : (unsigned)(ncpu > 0 ? ncpu : 1);
	conf.io = spool_uring_available() ? SPOOL_IO_URING : SPOOL_IO_SYNC;
	conf.batch = (size_t)o->batch;
	conf.max_msg = (size_t)o->max_size;
	conf.alloc = o->e->core.alloc;
	conf.work = &work;
	if (spool_runner_new(&conf, &r, err, sizeof(err)) != 0) {
		cli_err("%s", err);
		o->any_unreadable = true;
		return 0;
	}
	o->dir = dir;
	before = o->nmsgs;
	e = spool_runner_pass(r, &st);
	o->dir = NULL;
	spool_runner_free(r);
	if (e != 0 || st.first_err != 0) {
		cli_err("%s", st.err[0] != '\0' ? st.err : strerror(-e));
		o->any_unreadable = true;
	} else if (o->nmsgs == before) {
		/*
		 * Nothing checked is not "all passed": a monitoring job
		 * reading exit 0 would report green (EX_NOINPUT).
		 */
		cli_err("%s: no message in the directory (empty, or only dot "
		        "files, directories and other non-regular entries)",
		    dir);
		o->any_unreadable = true;
	}
	return 0;
}

static int
verify_num(const char *arg, uint64_t lo, uint64_t hi, uint64_t *out)
{
	return cli_parse_u64(arg, out) && *out >= lo && *out <= hi ? 0 : -1;
}

static int
verify_opt(struct verify_opts *o, int ch, const char *arg)
{
	int r = cli_dns_opt(&o->dns, ch, arg), k;

	if (r == 0 && (k = cli_ops_opt(&o->ops, ch, arg)) != CLI_OPS_NOT_MINE)
		return k == 0 ? 0 : -1;
	if (r == 0 && o->mode->opt != NULL)
		r = o->mode->opt(o, ch, arg);
	if (r != 0)
		return r > 0 ? 0 : -1;
	switch (ch) {
	case OPT_JSON:
		o->json = true;
		return 0;
	case OPT_AUTHSERV:
		o->authserv = arg;
		return 0;
	case OPT_TIME:
		return cli_parse_u64(arg, &o->now) ? 0 : -1;
	case OPT_MAXSIZE:
		return verify_num(arg, 1, UINT64_MAX, &o->max_size);
	case OPT_MAXSIGS:
		return verify_num(arg, 1, 1000, &o->max_sigs);
	case 'j':
		return verify_num(arg, 1, 256, &o->jobs);
	case OPT_BATCH:
		return verify_num(arg, 1, VERIFY_BATCH_MAX, &o->batch);
	default:
		return -1;
	}
}

static int
verify_parse(struct verify_opts *o, int argc, char **argv)
{
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "hj:", verify_longopts, NULL)) !=
	    -1) {
		if (ch == 'h') {
			fputs(o->mode->usage, stdout);
			fputs(cli_ops_usage, stdout);
			return -1;
		}
		if (verify_opt(o, ch, optarg) != 0) {
			fputs(o->mode->usage, stderr);
			return CLI_EX_USAGE;
		}
	}
	return 0;
}

static int
verify_inputs(struct vctx *c, int argc, char **argv)
{
	struct verify_opts *o = c->o;
	struct stat st;
	int i, r = 0;

	o->tagged = argc - optind > 1;
	for (i = optind; i < argc; i++)
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
			o->tagged = true;
	if (optind == argc)
		return verify_path(c, "-");
	for (i = optind; i < argc && r == 0; i++) {
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
			r = verify_dir(o, argv[i]);
		else
			r = verify_path(c, argv[i]);
	}
	return r;
}

/* --log and --metrics; the results themselves go to standard output. */
static int
verify_ops_start(struct verify_opts *o)
{
	char err[512];
	int r;

	if (o->ops.log != NULL && strcmp(o->ops.log, "-") == 0) {
		cli_err("--log -: the results go to standard output; give a "
		        "FILE or syslog");
		return CLI_EX_USAGE;
	}
	if ((r = cli_ops_start(&o->ops, &o->ops_rt, true, err,
	         sizeof(err))) != 0)
		cli_err("%s", err);
	return r;
}

static int
verify_setup(struct cli_env *e, struct verify_opts *o)
{
	int r;

	e->limits.max_msg_bytes = (size_t)o->max_size;
	e->limits.max_sigs = (size_t)o->max_sigs;
	o->e = e;
	if (o->authserv == NULL) {
		if (gethostname(o->host, sizeof(o->host) - 1) != 0)
			snprintf(o->host, sizeof(o->host), "localhost");
		o->authserv = o->host;
	}
	if ((r = cli_dns_setup(&o->dns)) != 0)
		return r;
	o->conf.authserv_id = span_cstr(o->authserv);
	o->conf.receiver = span_cstr(o->host);
	o->conf.eol = o->json ? NULL : "\n";
	cli_idna(&o->idna);
	o->conf.idna = &o->idna;
	if (o->mode->setup != NULL && (r = o->mode->setup(o)) != 0)
		return r;
	return verify_ops_start(o);
}

static int
verify_run(
    struct cli_env *e, const struct verify_mode *mode, int argc, char **argv)
{
	struct verify_opts *o = calloc(1, sizeof(*o));
	struct vctx *c = calloc(1, sizeof(*c));
	char err[256];
	int r;

	if (o == NULL || c == NULL) {
		free(o);
		free(c);
		cli_err("out of memory");
		return CLI_EX_SOFTWARE;
	}
	pthread_mutex_init(&o->out_lock, NULL);
	cli_dns_init(&o->dns);
	o->mode = mode;
	o->now = (uint64_t)time(NULL);
	o->max_size = e->limits.max_msg_bytes;
	o->max_sigs = e->limits.max_sigs;
	o->batch = 64;
	o->pct_roll = -1;
	o->history_fd = -1;
	if ((r = verify_parse(o, argc, argv)) != 0) {
		r = r < 0 ? CLI_EX_OK : r;
		goto out;
	}
	if ((r = verify_setup(e, o)) != 0)
		goto out;
	if ((r = vctx_init(c, o, 1, err, sizeof(err))) != 0)
		cli_err("%s", err);
	else
		r = verify_inputs(c, argc, argv);
	vctx_fini(c);
	if (r == 0 && o->any_unreadable)
		r = CLI_EX_NOINPUT;
	else if (r == 0 && o->any_temp)
		r = CLI_EX_TEMPFAIL;
	else if (r == 0 && o->any_nopass)
		r = CLI_EX_SOMEFAIL;
out:
	cli_ops_stop(&o->ops_rt);
	if (mode->fini != NULL)
		mode->fini(o);
	cli_dns_fini(&o->dns);
	pthread_mutex_destroy(&o->out_lock);
	free(c);
	free(o);
	return r;
}

int
cli_verify_main(struct cli_env *e, int argc, char **argv)
{
	return verify_run(e, &cli_verify_mode, argc, argv);
}

int
cli_dmarc_main(struct cli_env *e, int argc, char **argv)
{
	return verify_run(e, &cli_dmarc_mode, argc, argv);
}
