/*
 * hanko verify: one Authentication-Results field (or JSON object) per
 * message, for files, directories or stdin.
 */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli_json.h"
#include "core/authres.h"
#include "core/dkim_verify.h"
#include "io/resolv_unbound.h"
#include "io/zone.h"

/* Process lifetime. */
struct verify_opts {
	const char *zone, *resolver, *trust_anchor, *authserv;
	bool json;
	uint64_t now, max_size, max_sigs;
	char host[256];
	struct dkim_verifier *v;
	struct arena ar;
	size_t nmsgs;
	bool any_nopass, any_temp, any_unreadable;
};

static const char verify_usage[] =
    "usage: hanko verify [DNS] [OPTIONS] [FILE|DIR...]   (no file: stdin)\n"
    "DNS:\n"
    "  --dns-zone FILE          answer only from an RFC 1035 master file\n"
    "  --resolver ADDR[@PORT]   query this server instead of resolv.conf\n"
    "  --dnssec FILE            validate with the trust anchors in FILE\n"
    "OPTIONS:\n"
    "  --json                   one JSON object per message\n"
    "  --authserv-id NAME       authserv-id in the field (default: host name)\n"
    "  --time T                 verify as of time T (x= and t= checks)\n"
    "  --max-size BYTES         largest message accepted (default 64 MiB)\n"
    "  --max-signatures N       signatures examined per message (default 10)\n"
    "exit: 0 every message has a passing signature; 1 some message has none;\n"
    "      75 a DNS failure left a message without a pass; 66 unreadable input\n";

enum {
	OPT_ZONE = 256,
	OPT_RESOLVER,
	OPT_DNSSEC,
	OPT_JSON,
	OPT_AUTHSERV,
	OPT_TIME,
	OPT_MAXSIZE,
	OPT_MAXSIGS,
};

static const struct option verify_longopts[] = {
	{ "dns-zone", required_argument, NULL, OPT_ZONE },
	{ "resolver", required_argument, NULL, OPT_RESOLVER },
	{ "dnssec", required_argument, NULL, OPT_DNSSEC },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "authserv-id", required_argument, NULL, OPT_AUTHSERV },
	{ "time", required_argument, NULL, OPT_TIME },
	{ "max-size", required_argument, NULL, OPT_MAXSIZE },
	{ "max-signatures", required_argument, NULL, OPT_MAXSIGS },
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
tally(struct verify_opts *o, const struct dkim_result *res, size_t n)
{
	bool pass = false, temp = false;
	size_t i;

	for (i = 0; i < n; i++) {
		pass = pass || res[i].verdict == DKIM_V_PASS;
		temp = temp || res[i].verdict == DKIM_V_TEMPERROR;
	}
	if (!pass && temp)
		o->any_temp = true;
	else if (!pass)
		o->any_nopass = true;
}

static int
emit(struct verify_opts *o, const char *name, dkim_res r, const char *error)
{
	const struct dkim_result *res = NULL;
	struct buf out, arf;
	size_t n = 0, skipped = dkim_verify_skipped(o->v);
	bool ok;

	if (error != NULL)
		skipped = 0;
	else if (r == DKIM_OK)
		n = dkim_verify_results(o->v, &res);
	else if (r == DKIM_E_SYNTAX)
		error = dkim_verifier_err(o->v);
	else
		error = dkim_res_str(r);
	tally(o, res, n);
	buf_init_arena(&out, &o->ar);
	buf_init_arena(&arf, &o->ar);
	ok = authres_dkim(&arf, span_cstr(o->authserv), res, n, skipped, error,
	    o->json ? NULL : "\n");
	if (ok && o->json)
		ok = json_msg(
		    &out, name, res, n, skipped, error, buf_span(&arf));
	else if (ok)
		ok =
		    (o->nmsgs == 1 ||
		        (buf_add_cstr(&out, "# ") && buf_add_cstr(&out, name) &&
		            buf_add_byte(&out, '\n'))) &&
		    buf_add_span(&out, buf_span(&arf)) &&
		    buf_add_byte(&out, '\n');
	if (!ok || cli_write_all(STDOUT_FILENO, out.p, out.len) != 0) {
		cli_err("cannot write the result");
		return CLI_EX_IOERR;
	}
	return 0;
}

static int
verify_msg(struct verify_opts *o, const char *name, span msg)
{
	dkim_res r;
	int ex;

	arena_reset(&o->ar);
	r = dkim_verify_start(o->v, msg, o->now, &o->ar);
	if (r == DKIM_PENDING) {
		/* Every backend here answers synchronously. */
		cli_err("%s: DNS answers still outstanding", name);
		return CLI_EX_SOFTWARE;
	}
	if (r == DKIM_E_SYNTAX)
		o->any_nopass = true;
	ex = emit(o, name, r, NULL);
	return ex;
}

static int
verify_path(struct verify_opts *o, const char *path)
{
	uint8_t *msg = NULL;
	size_t len = 0;
	int r;

	if (strcmp(path, "-") == 0)
		r = cli_read_fd(STDIN_FILENO, o->max_size, &msg, &len);
	else
		r = cli_read_file(path, o->max_size, &msg, &len);
	if (r == -EFBIG) {
		o->any_nopass = true;
		return emit(o, path, DKIM_E_LIMIT,
		    "message larger than "
		    "--max-size");
	}
	if (r != 0) {
		cli_err("%s: %s", path, strerror(-r));
		o->any_unreadable = true;
		return 0;
	}
	r = verify_msg(o, path, span_make(msg, len));
	free(msg);
	return r;
}

/* Every regular file in dir, in name order; dot files are skipped. */
static int
verify_dir(struct verify_opts *o, const char *dir)
{
	struct dirent **ents = NULL;
	char path[4096];
	int n, i, r = 0;

	if ((n = scandir(dir, &ents, NULL, alphasort)) < 0) {
		cli_err("%s: %s", dir, strerror(errno));
		o->any_unreadable = true;
		return 0;
	}
	for (i = 0; i < n; i++) {
		struct stat st;

		if (r == 0 && ents[i]->d_name[0] != '.' &&
		    (size_t)snprintf(path, sizeof(path), "%s/%s", dir,
		        ents[i]->d_name) < sizeof(path) &&
		    stat(path, &st) == 0 && S_ISREG(st.st_mode))
			r = verify_path(o, path);
		free(ents[i]);
	}
	free(ents);
	return r;
}

static int
verify_parse(struct verify_opts *o, int argc, char **argv)
{
	int ch;

	optind = 1;
	while (
	    (ch = getopt_long(argc, argv, "h", verify_longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			fputs(verify_usage, stdout);
			return -1;
		case OPT_ZONE:
			o->zone = optarg;
			break;
		case OPT_RESOLVER:
			o->resolver = optarg;
			break;
		case OPT_DNSSEC:
			o->trust_anchor = optarg;
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_AUTHSERV:
			o->authserv = optarg;
			break;
		case OPT_TIME:
			if (!cli_parse_u64(optarg, &o->now))
				goto usage;
			break;
		case OPT_MAXSIZE:
			if (!cli_parse_u64(optarg, &o->max_size) ||
			    o->max_size == 0)
				goto usage;
			break;
		case OPT_MAXSIGS:
			if (!cli_parse_u64(optarg, &o->max_sigs) ||
			    o->max_sigs == 0 || o->max_sigs > 1000)
				goto usage;
			break;
		default:
			goto usage;
		}
	}
	return 0;
usage:
	fputs(verify_usage, stderr);
	return CLI_EX_USAGE;
}

/* The DNS backend: a zone file, or libunbound. */
static int
verify_dns(struct cli_env *e, struct verify_opts *o, struct resolv_zone **zone,
    struct resolv_ub **ub)
{
	char err[256];

	if (o->zone != NULL &&
	    (o->resolver != NULL || o->trust_anchor != NULL)) {
		cli_err("--dns-zone answers offline; it excludes --resolver "
		        "and --dnssec");
		return CLI_EX_USAGE;
	}
	if (o->zone != NULL) {
		if (resolv_zone_load(o->zone, zone, err, sizeof(err)) != 0) {
			cli_err("%s", err);
			return CLI_EX_CONFIG;
		}
		resolv_zone_ops(*zone, &e->dns);
	} else {
		if (resolv_ub_new(o->resolver, o->trust_anchor, ub, err,
		        sizeof(err)) != 0) {
			cli_err("%s", err);
			return CLI_EX_CONFIG;
		}
		resolv_ub_ops(*ub, &e->dns);
	}
	e->core.dns = &e->dns;
	return 0;
}

static int
verify_inputs(struct verify_opts *o, int argc, char **argv)
{
	struct stat st;
	int i, r = 0;

	o->nmsgs = argc - optind > 1 ? 2 : 1;
	for (i = optind; i < argc; i++)
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
			o->nmsgs = 2;
	if (optind == argc)
		return verify_path(o, "-");
	for (i = optind; i < argc && r == 0; i++) {
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
			r = verify_dir(o, argv[i]);
		else
			r = verify_path(o, argv[i]);
	}
	return r;
}

int
cli_verify_main(struct cli_env *e, int argc, char **argv)
{
	static struct verify_opts o;
	struct resolv_zone *zone = NULL;
	struct resolv_ub *ub = NULL;
	int r;

	memset(&o, 0, sizeof(o));
	o.now = (uint64_t)time(NULL);
	o.max_size = e->limits.max_msg_bytes;
	o.max_sigs = e->limits.max_sigs;
	if ((r = verify_parse(&o, argc, argv)) != 0)
		return r < 0 ? CLI_EX_OK : r;
	e->limits.max_msg_bytes = (size_t)o.max_size;
	e->limits.max_sigs = (size_t)o.max_sigs;
	if (o.authserv == NULL) {
		if (gethostname(o.host, sizeof(o.host) - 1) != 0)
			snprintf(o.host, sizeof(o.host), "localhost");
		o.authserv = o.host;
	}
	if ((r = verify_dns(e, &o, &zone, &ub)) != 0)
		return r;
	arena_init(&o.ar, e->core.alloc, 64 << 10, e->limits.max_arena_bytes);
	if (dkim_verifier_new(&e->core, &o.v) != DKIM_OK) {
		cli_err("cannot set up verification");
		r = CLI_EX_SOFTWARE;
	} else {
		r = verify_inputs(&o, argc, argv);
	}
	dkim_verifier_free(o.v);
	arena_fini(&o.ar);
	resolv_zone_free(zone);
	resolv_ub_free(ub);
	if (r != 0)
		return r;
	if (o.any_unreadable)
		return CLI_EX_NOINPUT;
	if (o.any_temp)
		return CLI_EX_TEMPFAIL;
	return o.any_nopass ? CLI_EX_SOMEFAIL : CLI_EX_OK;
}
