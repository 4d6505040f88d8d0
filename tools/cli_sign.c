/*
 * hanko sign: filter mode (one message on stdin, signed on stdout), with
 * keys from -d/-s/-k or from OpenDKIM KeyTable/SigningTable files.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpsl.h>

#include "cli_sign.h"
#include "cli_table.h"
#include "core/dkim_key.h"
#include "core/dkim_sign.h"
#include "core/hdr.h"

static const char sign_usage[] =
    "usage: hanko sign [KEYS] [OPTIONS] < message > signed\n"
    "       hanko sign [KEYS] [OPTIONS] [BATCH] SPOOL_DIR OUT_DIR\n"
    "       hanko sign [KEYS] [OPTIONS] [BATCH] --deliver URL SPOOL_DIR\n"
    "KEYS:\n"
    "  -d, --domain DOMAIN        signing domain (d=) for the keys that follow\n"
    "  -s, --selector SELECTOR    selector (s=) for the next -k\n"
    "  -k, --key FILE             private key (PEM PKCS#1/PKCS#8, or base64\n"
    "                             Ed25519 seed); repeat -s/-k to dual-sign\n"
    "  --key-table FILE           OpenDKIM KeyTable\n"
    "  --signing-table SPEC       OpenDKIM SigningTable (refile:PATH for wildcards)\n"
    "  --multiple-signatures      apply every matching SigningTable entry\n"
    "OPTIONS:\n"
    "  -c, --canon H/B            canonicalization (default relaxed/relaxed)\n"
    "  -i, --identity ADDR        i= value (must be within d=)\n"
    "  -x, --expire SECONDS       add x= = t= + SECONDS\n"
    "  --headers LIST             colon-separated fields to sign (replaces default)\n"
    "  --oversign LIST            fields signed once more than present\n"
    "  --no-oversign              sign only the fields present\n"
    "  --time T                   use T as the signing time (t=)\n"
    "  --max-size BYTES           largest message accepted (default 64 MiB)\n"
    "  --allow-unsafe-key-perms   accept keys readable by group or others\n"
    "  --require-aligned          refuse mail whose From domain is not aligned\n"
    "                             with any d= (DMARC relaxed alignment)\n"
    "BATCH (sign every file in SPOOL_DIR, hand each off to OUT_DIR once):\n"
    "  -j, --jobs N               worker threads (default: CPUs online)\n"
    "  --failed DIR               unsignable messages + NAME.reason\n"
    "                             (default SPOOL_DIR/failed; same file system)\n"
    "  --io uring|sync|auto       I/O backend (default auto)\n"
    "  --no-fsync                 skip durability: throwaway benchmarks only\n"
    "  --batch N                  messages per worker batch (default 64)\n"
    "  --watch                    keep signing as messages arrive (SIGTERM\n"
    "                             drains and exits, SIGHUP reloads keys)\n"
    "  --stats-json FILE          write the run's summary as JSON\n"
    "  --check-keys               load every KeyTable key at start (default:\n"
    "                             each when a worker first needs it)\n"
    "DELIVER (sign every file in SPOOL_DIR and hand it to the MTA):\n"
    "  --deliver URL              smtp://HOST[:PORT], lmtp://HOST[:PORT],\n"
    "                             lmtp:unix:PATH or sendmail[:PATH]\n"
    "  --envelope sidecar|headers envelope from NAME.env (default), or from\n"
    "                             Return-Path/From and To/Cc/Bcc\n"
    "  --connections N            sessions in parallel (default 4)\n"
    "  --helo NAME                EHLO/LHLO name (default: host name)\n"
    "  --smtp-timeout SECONDS     per read or write (default 300)\n"
    "  --tls                      require STARTTLS; the certificate must match\n"
    "                             HOST and chain to a trusted CA\n"
    "  --tls-ca FILE              trust these CAs (PEM) instead of the system's\n"
    "  --tls-no-verify            encrypt without checking the certificate\n"
    "  --retry-max SECONDS        --watch: longest back-off (default 3600)\n";

static const struct option sign_longopts[] = {
	CLI_SIGN_KEY_LONGOPTS,
	{ "identity", required_argument, NULL, 'i' },
	{ "time", required_argument, NULL, OPT_TIME },
	{ "max-size", required_argument, NULL, OPT_MAXSIZE },
	{ "require-aligned", no_argument, NULL, OPT_REQALIGNED },
	{ "jobs", required_argument, NULL, 'j' },
	{ "failed", required_argument, NULL, CLI_OPT_FAILED },
	{ "io", required_argument, NULL, CLI_OPT_IO },
	{ "no-fsync", no_argument, NULL, CLI_OPT_NOFSYNC },
	{ "batch", required_argument, NULL, CLI_OPT_BATCH },
	{ "watch", no_argument, NULL, CLI_OPT_WATCH },
	{ "stats-json", required_argument, NULL, CLI_OPT_STATS },
	{ "check-keys", no_argument, NULL, CLI_OPT_CHECKKEYS },
	CLI_OPS_LONGOPTS,
	{ "deliver", required_argument, NULL, CLI_OPT_DELIVER },
	{ "envelope", required_argument, NULL, CLI_OPT_ENVELOPE },
	{ "connections", required_argument, NULL, CLI_OPT_CONNECTIONS },
	{ "helo", required_argument, NULL, CLI_OPT_DELIVER_HELO },
	{ "smtp-timeout", required_argument, NULL, CLI_OPT_SMTPTIMEOUT },
	{ "retry-max", required_argument, NULL, CLI_OPT_RETRYMAX },
	{ "tls", no_argument, NULL, CLI_OPT_TLS },
	{ "tls-ca", required_argument, NULL, CLI_OPT_TLSCA },
	{ "tls-no-verify", no_argument, NULL, CLI_OPT_TLSNOVERIFY },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Split "a:b:c" (process lifetime string) into spans. */
static int
parse_list(const char *s, span *out, size_t max, size_t *n)
{
	const char *p = s, *c;

	*n = 0;
	while (*p != '\0') {
		size_t len;

		c = strchr(p, ':');
		len = c ? (size_t)(c - p) : strlen(p);
		if (len > 0) {
			if (*n == max)
				return -1;
			out[(*n)++] = span_make(p, len);
		}
		p += len + (c != NULL);
	}
	return 0;
}

static int
parse_canon(const char *s, struct dkim_sign_conf *c)
{
	const char *slash = strchr(s, '/');
	span h = span_make(s, slash ? (size_t)(slash - s) : strlen(s));
	span b = slash ? span_cstr(slash + 1) : SPAN_LIT("simple");

	if ((!span_eq(h, SPAN_LIT("relaxed")) &&
	        !span_eq(h, SPAN_LIT("simple"))) ||
	    (!span_eq(b, SPAN_LIT("relaxed")) &&
	        !span_eq(b, SPAN_LIT("simple"))))
		return -1;
	c->hdr_canon =
	    span_eq(h, SPAN_LIT("relaxed")) ? CANON_RELAXED : CANON_SIMPLE;
	c->body_canon =
	    span_eq(b, SPAN_LIT("relaxed")) ? CANON_RELAXED : CANON_SIMPLE;
	return 0;
}

/* Keys are recorded while parsing and loaded once all options are known. */
static int
add_key(struct cli_sign_opts *o, const char *path)
{
	if (o->domain == NULL || o->selector == NULL) {
		cli_err(
		    "-k %s needs -d DOMAIN and -s SELECTOR before it", path);
		return CLI_EX_USAGE;
	}
	if (o->nconfs == MAX_CONFS) {
		cli_err("at most %d keys", MAX_CONFS);
		return CLI_EX_USAGE;
	}
	o->specs[o->nconfs].domain = o->domain;
	o->specs[o->nconfs].selector = o->selector;
	o->specs[o->nconfs].path = path;
	o->nconfs++;
	o->selector = NULL;
	return 0;
}

static int
load_keys(struct cli_sign_opts *o)
{
	char err[512];
	size_t i;
	int r;

	for (i = 0; i < o->nconfs; i++) {
		struct dkim_sign_conf *c = &o->confs[i];

		if ((r = cli_key_load(o->specs[i].path, o->allow_unsafe,
		         &o->keys[i], err, sizeof(err))) != 0) {
			cli_err("%s", err);
			return r;
		}
		*c = o->base;
		c->domain = span_cstr(o->specs[i].domain);
		c->selector = span_cstr(o->specs[i].selector);
		c->key = &o->keys[i];
	}
	return 0;
}

int
cli_sign_opt(struct cli_sign_opts *o, int ch, const char *arg)
{
	size_t n;
	int r;

	switch (ch) {
	case 'd':
		o->domain = arg;
		return 0;
	case 's':
		o->selector = arg;
		return 0;
	case 'k':
		return add_key(o, arg);
	case 'c':
		if (parse_canon(arg, &o->base) == 0)
			return 0;
		cli_err("-c %s: use relaxed|simple[/relaxed|simple]", arg);
		return CLI_EX_USAGE;
	case 'i':
		o->base.identity = span_cstr(arg);
		return 0;
	case 'x':
		if (cli_parse_u64(arg, &o->base.expire) && o->base.expire > 0)
			return 0;
		cli_err("-x %s: expected seconds", arg);
		return CLI_EX_USAGE;
	case OPT_KEYTABLE:
		o->key_table = arg;
		return 0;
	case OPT_SIGNTABLE:
		o->sign_table = arg;
		return 0;
	case OPT_MULTIPLE:
		o->multiple = true;
		return 0;
	case OPT_HEADERS:
		if (parse_list(arg, o->headers, MAX_NAMES, &n) != 0 || n == 0)
			break;
		o->base.headers = o->headers;
		o->base.nheaders = n;
		return 0;
	case OPT_OVERSIGN:
		if (parse_list(arg, o->oversign, MAX_NAMES, &n) != 0)
			break;
		o->base.oversign = o->oversign;
		o->base.noversign = n;
		return 0;
	case OPT_NOOVERSIGN:
		o->base.noversign = 0;
		return 0;
	case OPT_TIME:
		if (!cli_parse_u64(arg, &o->now))
			break;
		o->fixed_time = true;
		return 0;
	case OPT_UNSAFE:
		o->allow_unsafe = true;
		return 0;
	case OPT_REQALIGNED:
		o->require_aligned = true;
		return 0;
	case OPT_MAXSIZE:
		if (!cli_parse_u64(arg, &o->max_size) || o->max_size == 0)
			break;
		return 0;
	default:
		if ((r = cli_ops_opt(&o->ops, ch, arg)) != CLI_OPS_NOT_MINE)
			return r;
		return cli_sign_batch_opt(o, ch, arg);
	}
	cli_err("bad value %s", arg ? arg : "");
	return CLI_EX_USAGE;
}

static int load_tables(struct cli_sign_opts *o);

int
cli_sign_keys_load(struct cli_sign_opts *o)
{
	int r;

	if ((r = load_tables(o)) != 0 || (r = load_keys(o)) != 0)
		return r;
	return 0;
}

static int
load_tables(struct cli_sign_opts *o)
{
	char err[256];

	if ((o->key_table == NULL) != (o->sign_table == NULL)) {
		cli_err("--key-table and --signing-table go together");
		return CLI_EX_USAGE;
	}
	if (o->key_table == NULL)
		return 0;
	if (cli_keytable_load(o->key_table, &o->kt, err, sizeof(err)) != 0 ||
	    cli_signtable_load(
	        o->sign_table, o->kt, &o->st, err, sizeof(err)) != 0) {
		cli_err("%s", err);
		return CLI_EX_CONFIG;
	}
	return 0;
}

/*
 * The SigningTable keys for this From address, loaded on demand. A From
 * domain that cannot name a key is the message's fault (EX_DATAERR); a
 * key that cannot be loaded is the configuration's.
 */
static int
table_confs(struct cli_sign_opts *o, span from, size_t *nconfs)
{
	struct cli_key_ref *refs = o->refs;
	char addr[512], err[512];
	size_t n, i, k = o->nconfs;
	int r;

	if (from.len >= sizeof(addr))
		return 0;
	memcpy(addr, from.p, from.len);
	addr[from.len] = '\0';
	n = cli_signtable_match(o->st, o->kt, addr, o->multiple, refs,
	    MAX_CONFS - k, err, sizeof(err));
	if (n == 0 && err[0] != '\0') {
		cli_err("message not signed: %s", err);
		return CLI_EX_DATAERR;
	}
	for (i = 0; i < n; i++, k++) {
		struct dkim_sign_conf *c = &o->confs[k];

		if ((r = cli_key_load(refs[i].keypath, o->allow_unsafe,
		         &o->keys[k], err, sizeof(err))) != 0) {
			cli_err("%s", err);
			*nconfs = k;
			return r;
		}
		*c = o->base;
		c->domain = span_cstr(refs[i].domain);
		c->selector = span_cstr(refs[i].selector);
		if (refs[i].signer[0] != '\0')
			c->identity = span_cstr(refs[i].signer);
		c->key = &o->keys[k];
	}
	*nconfs = k;
	return 0;
}

static double
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int
res_exit(dkim_res r)
{
	switch (r) {
	case DKIM_OK:
	case DKIM_PENDING:
		return CLI_EX_OK;
	case DKIM_E_SYNTAX:
	case DKIM_E_FROM:
	case DKIM_E_LIMIT:
		return CLI_EX_DATAERR;
	case DKIM_E_KEY:
	case DKIM_E_ARG:
		return CLI_EX_CONFIG;
	case DKIM_E_NOMEM:
	case DKIM_E_CRYPTO:
		break;
	}
	return CLI_EX_SOFTWARE;
}

/*
 * A signature DMARC will not align with the From domain passes DKIM and
 * still fails DMARC at the receiver: say so, or refuse the message.
 */
static int
check_aligned(const struct cli_sign_opts *o, span from, size_t nconfs)
{
	span d = o->confs[0].domain, fd = hdr_addr_domain(from);

	if (dkim_sign_aligned(o->confs, nconfs, from, o->psl))
		return 0;
	if (fd.len > 200)
		fd.len = 200;
	if (o->require_aligned) {
		cli_err("message not signed: its From domain %.*s is not "
		        "aligned with d=%.*s (--require-aligned)",
		    (int)fd.len, (const char *)fd.p, (int)d.len,
		    (const char *)d.p);
		return CLI_EX_DATAERR;
	}
	cli_warn("From domain %.*s is not aligned with d=%.*s: the "
	         "signature passes DKIM but not DMARC",
	    (int)fd.len, (const char *)fd.p, (int)d.len, (const char *)d.p);
	return 0;
}

/* Sign one message held in memory; writes the result to stdout. */
static int
sign_filter(struct cli_env *e, struct cli_sign_opts *o, span msg,
    struct cli_ops *ops)
{
	struct cli_ops_note *note = NULL;
	struct dkim_signer *s = NULL;
	const char *why = NULL;
	struct arena ar;
	struct buf out;
	size_t nconfs = o->nconfs;
	span from;
	dkim_res r;
	int ex;

	arena_init(&ar, e->core.alloc, 64 << 10, e->limits.max_arena_bytes);
	buf_init_arena(&out, &ar);
	if ((r = dkim_signer_new(&e->core, &s)) != DKIM_OK) {
		ex = res_exit(r);
		cli_err("cannot set up signing: %s", dkim_res_str(r));
		why = dkim_res_str(r);
		goto done;
	}
	if ((r = dkim_sign_parse(s, msg, &ar, &from)) != DKIM_OK) {
		ex = res_exit(r);
		cli_err("message not signed: %s", dkim_signer_err(s));
		why = dkim_signer_err(s);
		goto done;
	}
	note = cli_ops_note_new(&ar, from);
	why = "no key for its From domain, or a key that cannot be loaded";
	if (o->st != NULL && (ex = table_confs(o, from, &nconfs)) != 0)
		goto done;
	why = "its From domain is not aligned with d= (--require-aligned)";
	if (nconfs > 0 && (ex = check_aligned(o, from, nconfs)) != 0)
		goto done;
	why = NULL;
	if (nconfs == 0) {
		cli_warn("no SigningTable entry for %.*s; message passed "
		         "through unsigned",
		    (int)from.len, (const char *)from.p);
	} else if ((r = dkim_sign_emit(s, o->confs, nconfs, o->now, &out)) !=
	    DKIM_OK) {
		ex = res_exit(r);
		cli_err("message not signed: %s", dkim_signer_err(s));
		why = dkim_signer_err(s);
		goto done;
	}
	if (!cli_ops_note_sigs(note, &ar, o->confs, nconfs))
		note = NULL;
	ex = CLI_EX_OK;
	if (cli_write_all(STDOUT_FILENO, out.p, out.len) != 0 ||
	    cli_write_all(STDOUT_FILENO, msg.p, msg.len) != 0) {
		cli_err("cannot write the signed message");
		why = "cannot write the signed message";
		ex = CLI_EX_IOERR;
	}
done:
	if (ops->log != NULL)
		cli_ops_filter(ops, &o->ops, note, why, mono_now() - o->t_start);
	while (nconfs > o->nconfs)
		dkim_privkey_fini(&o->keys[--nconfs]);
	dkim_signer_free(s);
	arena_fini(&ar);
	return ex;
}

static void
sign_opts_fini(struct cli_sign_opts *o)
{
	size_t i;

	for (i = 0; i < o->nconfs; i++)
		dkim_privkey_fini(&o->keys[i]);
	cli_signtable_free(o->st);
	cli_keytable_free(o->kt);
	psl_free(o->psl);
}

static int
sign_setup(struct cli_sign_opts *o, int argc, char **argv)
{
	int ch, r;

	dkim_sign_conf_default(&o->base);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "d:s:k:c:i:x:j:h", sign_longopts,
	            NULL)) != -1) {
		if (ch == 'h') {
			fputs(sign_usage, stdout);
			fputs(cli_ops_usage, stdout);
			return -1;
		}
		if (ch == '?') {
			fputs(sign_usage, stderr);
			fputs(cli_ops_usage, stderr);
			return CLI_EX_USAGE;
		}
		if ((r = cli_sign_opt(o, ch, optarg)) != 0)
			return r;
	}
	if (o->deliver != NULL && optind + 1 != argc) {
		cli_err("--deliver URL takes one SPOOL_DIR");
		return CLI_EX_USAGE;
	}
	if (o->deliver == NULL && optind != argc && optind + 2 != argc) {
		cli_err("give SPOOL_DIR and OUT_DIR for batch mode, or neither "
		        "for filter mode");
		return CLI_EX_USAGE;
	}
	if (optind == argc && ((o->ops.log != NULL &&
	                           strcmp(o->ops.log, "-") == 0) ||
	                          o->ops.metrics != NULL)) {
		cli_err("filter mode writes the message to standard output and "
		        "ends with it: --log - and --metrics need SPOOL_DIR "
		        "OUT_DIR");
		return CLI_EX_USAGE;
	}
	if (o->nconfs == 0 && o->key_table == NULL) {
		cli_err("no key: give -d DOMAIN -s SELECTOR -k KEYFILE or "
		        "--key-table/--signing-table");
		return CLI_EX_USAGE;
	}
	if ((r = cli_sign_keys_load(o)) != 0)
		return r;
	/* The system's list, else libpsl's built-in one; else a fallback. */
	o->psl = psl_latest(NULL);
	if (!o->fixed_time)
		o->now = (uint64_t)time(NULL);
	return 0;
}

/* The options are big (MAX_CONFS keys and confs): on the heap. */
static int
sign_main(struct cli_env *e, struct cli_sign_opts *o, int argc, char **argv)
{
	struct cli_ops ops;
	uint8_t *msg = NULL;
	size_t len = 0;
	char err[512];
	int r;

	o->t_start = mono_now();
	if ((r = sign_setup(o, argc, argv)) != 0) {
		sign_opts_fini(o);
		return r < 0 ? CLI_EX_OK : r;
	}
	if (o->max_size > 0)
		e->limits.max_msg_bytes = (size_t)o->max_size;
	if (o->deliver != NULL) {
		r = cli_sign_deliver(e, o, argv[optind]);
		sign_opts_fini(o);
		return r;
	}
	if (optind + 2 == argc) {
		r = cli_sign_batch(e, o, argv[optind], argv[optind + 1]);
		sign_opts_fini(o);
		return r;
	}
	if ((r = cli_read_fd(
	         STDIN_FILENO, e->limits.max_msg_bytes, &msg, &len)) != 0) {
		cli_err("cannot read the message: %s",
		    r == -EFBIG ? "larger than --max-size" : strerror(-r));
		sign_opts_fini(o);
		return r == -EFBIG ? CLI_EX_DATAERR : CLI_EX_IOERR;
	}
	if ((r = cli_ops_start(&o->ops, &ops, false, err, sizeof(err))) !=
	    0) {
		cli_err("%s", err);
		free(msg);
		sign_opts_fini(o);
		return r;
	}
	r = sign_filter(e, o, span_make(msg, len), &ops);
	cli_ops_stop(&ops);
	free(msg);
	sign_opts_fini(o);
	return r;
}

int
cli_sign_main(struct cli_env *e, int argc, char **argv)
{
	struct cli_sign_opts *o = calloc(1, sizeof(*o));
	int r;

	if (o == NULL) {
		cli_err("out of memory");
		return CLI_EX_SOFTWARE;
	}
	r = sign_main(e, o, argc, argv);
	free(o);
	return r;
}
