/*
 * hanko check: audit the records a domain publishes (core/check.h), or
 * every key of an OpenDKIM KeyTable/SigningTable in one asynchronous
 * pass. This file parses options, reads the private keys and prints the
 * findings; every judgement is core/'s.
 */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cli_check.h"
#include "cli_dns.h"
#include "cli_json.h"
#include "core/check.h"
#include "core/dkim_key.h"

static const char check_usage[] =
    "usage: hanko check [DNS] DOMAIN [-s SELECTOR [--key FILE]]... "
    "[--json]\n"
    "       hanko check [DNS] --key-table FILE --signing-table FILE "
    "[--all] [--json]\n" CLI_DNS_USAGE "OPTIONS:\n"
    "  -s, --selector SEL       audit the DKIM key record SEL._domainkey."
    "DOMAIN\n"
    "  -k, --key FILE           private key of the -s before it: the "
    "published\n"
    "                           key must be its public half (RSA, "
    "Ed25519)\n"
    "  --key-table FILE         OpenDKIM KeyTable: audit every "
    "(domain, selector, key)\n"
    "  --signing-table FILE     OpenDKIM SigningTable (checked against "
    "the KeyTable)\n"
    "  --all                    with a table: SPF, DMARC, ADSP and MX of "
    "each domain too\n"
    "  --json                   one JSON object per domain, one per line\n"
    "findings: 'error:', 'warning:' or 'ok:', the record kind (spf dkim "
    "dmarc adsp mx),\n"
    "the selector for DKIM, what is wrong and how to fix it, and [code].\n"
    "exit: 0 no error, 1 an error found, 75 a lookup failed (and no "
    "error), 64 usage\n";

enum {
	OPT_JSON = 256,
	OPT_KEYTABLE,
	OPT_SIGNTABLE,
	OPT_ALL,
};

static const struct option check_longopts[] = {
	CLI_DNS_LONGOPTS,
	{ "selector", required_argument, NULL, 's' },
	{ "key", required_argument, NULL, 'k' },
	{ "key-table", required_argument, NULL, OPT_KEYTABLE },
	{ "signing-table", required_argument, NULL, OPT_SIGNTABLE },
	{ "all", no_argument, NULL, OPT_ALL },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* A -s and its --key as given. */
struct sel_arg {
	const char *selector, *key;
};

/* Process lifetime. */
struct check_opts {
	struct cli_dns_opts dns;
	struct sel_arg *sel;
	size_t nsel;
	const char *domain, *keytable, *signtable;
	bool json, all;
};

static int
check_opt(struct check_opts *o, int ch, const char *arg)
{
	int r = cli_dns_opt(&o->dns, ch, arg);
	struct sel_arg *n;

	if (r != 0)
		return r > 0 ? 0 : -1;
	switch (ch) {
	case 's':
		if ((n = realloc(o->sel, (o->nsel + 1) * sizeof(*n))) == NULL)
			return -1;
		o->sel = n;
		o->sel[o->nsel].selector = arg;
		o->sel[o->nsel++].key = NULL;
		return 0;
	case 'k':
		if (o->nsel == 0 || o->sel[o->nsel - 1].key != NULL) {
			cli_err("check: --key belongs to the -s before it");
			return -1;
		}
		o->sel[o->nsel - 1].key = arg;
		return 0;
	case OPT_KEYTABLE:
		o->keytable = arg;
		return 0;
	case OPT_SIGNTABLE:
		o->signtable = arg;
		return 0;
	case OPT_ALL:
		o->all = true;
		return 0;
	case OPT_JSON:
		o->json = true;
		return 0;
	default:
		return -1;
	}
}

static int
check_parse_args(struct check_opts *o, int argc, char **argv)
{
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "s:k:h", check_longopts, NULL)) !=
	    -1) {
		if (ch == 'h') {
			fputs(check_usage, stdout);
			return -1;
		}
		if (check_opt(o, ch, optarg) != 0) {
			fputs(check_usage, stderr);
			return CLI_EX_USAGE;
		}
	}
	if ((o->keytable == NULL) != (o->signtable == NULL)) {
		cli_err("check: --key-table and --signing-table go together");
		return CLI_EX_USAGE;
	}
	if (o->keytable != NULL) {
		if (optind != argc || o->nsel > 0) {
			cli_err("check: a table audit takes no DOMAIN or -s");
			return CLI_EX_USAGE;
		}
		return 0;
	}
	if (optind + 1 != argc) {
		cli_err("check: give one DOMAIN");
		return CLI_EX_USAGE;
	}
	if (o->all) {
		cli_err("check: --all goes with --key-table");
		return CLI_EX_USAGE;
	}
	o->domain = argv[optind];
	return 0;
}

/*
 * Read a private key for comparison only: no permission rule (nothing
 * is signed), and the reason it failed becomes a finding.
 */
void
cli_check_key_read(const char *path, struct cli_check_key *k)
{
	uint8_t *data = NULL;
	size_t len = 0;
	dkim_res dr;
	int r;

	memset(k, 0, sizeof(*k));
	if ((r = cli_read_file(path, 1 << 20, &data, &len)) != 0) {
		snprintf(k->err, sizeof(k->err), "cannot read %s: %s", path,
		    strerror(-r));
		return;
	}
	dr = dkim_privkey_load(
	    span_make(data, len), &k->key, k->err, sizeof(k->err));
	OPENSSL_cleanse(data, len);
	free(data);
	if (dr != DKIM_OK) {
		char why[sizeof(k->err)];

		memcpy(why, k->err, sizeof(why));
		snprintf(k->err, sizeof(k->err), "%.60s: %.90s", path, why);
		return;
	}
	k->loaded = true;
}

void
cli_check_key_fini(struct cli_check_key *k)
{
	if (k->loaded)
		dkim_privkey_fini(&k->key);
	k->loaded = false;
}

static bool
json_tree(struct buf *b, const struct check *c)
{
	const struct check_spf_node *t;
	unsigned lookups, voids;
	size_t i, n;
	bool ok;

	t = check_spf_tree(c, &n, &lookups, &voids);
	if (n == 0)
		return true;
	ok = cli_json_key(b, "spf", false) && buf_add_byte(b, '{') &&
	    cli_json_key(b, "lookups", true) && buf_add_u64(b, lookups) &&
	    cli_json_key(b, "void_lookups", false) && buf_add_u64(b, voids) &&
	    cli_json_key(b, "tree", false) && buf_add_byte(b, '[');
	for (i = 0; ok && i < n; i++)
		ok = (i == 0 || buf_add_byte(b, ',')) && buf_add_byte(b, '{') &&
		    cli_json_key(b, "depth", true) &&
		    buf_add_u64(b, t[i].depth) &&
		    cli_json_key(b, "via", false) &&
		    cli_json_opt_str(b, t[i].via) &&
		    cli_json_key(b, "domain", false) &&
		    cli_json_str(b, t[i].domain) &&
		    cli_json_key(b, "record", false) &&
		    cli_json_opt_str(b, t[i].record) &&
		    cli_json_key(b, "lookups", false) &&
		    buf_add_u64(b, t[i].lookups) && buf_add_byte(b, '}');
	return ok && buf_add_cstr(b, "]}");
}

static bool
json_out(struct buf *b, const struct check *c)
{
	const struct check_finding *f;
	bool ok, first = true;

	ok = buf_add_byte(b, '{') && cli_json_key(b, "domain", true) &&
	    cli_json_str(b, check_domain(c)) &&
	    cli_json_key(b, "findings", false) && buf_add_byte(b, '[');
	for (f = check_findings(c); ok && f != NULL; f = f->next) {
		ok = (first || buf_add_byte(b, ',')) && buf_add_byte(b, '{') &&
		    cli_json_key(b, "severity", true) &&
		    cli_json_str(
		        b, span_cstr(check_sev_str(check_code_sev(f->code)))) &&
		    cli_json_key(b, "kind", false) &&
		    cli_json_str(b,
		        span_cstr(check_kind_str(check_code_kind(f->code)))) &&
		    cli_json_key(b, "selector", false) &&
		    cli_json_opt_str(b, f->selector) &&
		    cli_json_key(b, "code", false) &&
		    cli_json_str(b, span_cstr(check_code_str(f->code))) &&
		    cli_json_key(b, "message", false) &&
		    cli_json_str(b, f->message) && buf_add_byte(b, '}');
		first = false;
	}
	return ok && buf_add_byte(b, ']') && json_tree(b, c) &&
	    buf_add_cstr(b, "}\n");
}

/* Terminal-safe text: control bytes and non-ASCII become '?'. */
static bool
add_safe(struct buf *b, span s)
{
	size_t i;
	bool ok = true;

	for (i = 0; ok && i < s.len; i++)
		ok = buf_add_byte(
		    b, s.p[i] >= 0x20 && s.p[i] < 0x7f ? s.p[i] : (uint8_t)'?');
	return ok;
}

static bool
text_tree(struct buf *b, const struct check *c)
{
	const struct check_spf_node *t;
	unsigned lookups, voids, d;
	size_t i, n;
	bool ok = true;

	t = check_spf_tree(c, &n, &lookups, &voids);
	if (n == 0 || t[0].record.len == 0)
		return true;
	ok = buf_add_cstr(b, "spf tree: ") && buf_add_u64(b, lookups) &&
	    buf_add_cstr(b, " DNS-querying terms (limit 10), ") &&
	    buf_add_u64(b, voids) && buf_add_cstr(b, " void lookups\n");
	for (i = 0; ok && i < n; i++) {
		for (d = 0; ok && d <= t[i].depth; d++)
			ok = buf_add_cstr(b, "  ");
		if (ok && t[i].via.len > 0)
			ok = add_safe(b, t[i].via) && buf_add_cstr(b, " -> ");
		ok = ok && add_safe(b, t[i].domain) && buf_add_cstr(b, " [") &&
		    buf_add_u64(b, t[i].lookups) && buf_add_cstr(b, "] ");
		ok = ok &&
		    (t[i].record.len > 0
		            ? add_safe(b, t[i].record)
		            : buf_add_cstr(b, "(no SPF record)")) &&
		    buf_add_byte(b, '\n');
	}
	return ok;
}

static bool
text_out(struct buf *b, const struct check *c)
{
	const struct check_finding *f;
	bool ok;

	ok = buf_add_cstr(b, "domain: ") && add_safe(b, check_domain(c)) &&
	    buf_add_byte(b, '\n') && text_tree(b, c);
	for (f = check_findings(c); ok && f != NULL; f = f->next) {
		ok = buf_add_cstr(b, check_sev_str(check_code_sev(f->code))) &&
		    buf_add_cstr(b, ": ") &&
		    buf_add_cstr(b, check_kind_str(check_code_kind(f->code)));
		if (ok && f->selector.len > 0)
			ok = buf_add_byte(b, ' ') && add_safe(b, f->selector);
		ok = ok && buf_add_cstr(b, ": ") && add_safe(b, f->message) &&
		    buf_add_cstr(b, " [") &&
		    buf_add_cstr(b, check_code_str(f->code)) &&
		    buf_add_cstr(b, "]\n");
	}
	return ok;
}

int
cli_check_print(const struct check *c, bool json, struct arena *ar,
    struct cli_check_tally *t)
{
	const struct check_finding *f;
	struct buf b;

	for (f = check_findings(c); f != NULL; f = f->next)
		if (check_code_sev(f->code) == CHECK_ERROR)
			t->errors++;
	if (check_dns_failed(c))
		t->dns_failed = true;
	if (check_status(c) == CHECK_R_NOMEM)
		t->incomplete = true;
	buf_init_arena(&b, ar);
	if (!(json ? json_out(&b, c) : text_out(&b, c)) ||
	    cli_write_all(STDOUT_FILENO, b.p, b.len) != 0) {
		cli_err("cannot write the findings");
		return CLI_EX_IOERR;
	}
	return 0;
}

int
cli_check_exit(const struct cli_check_tally *t)
{
	if (t->errors > 0)
		return CLI_EX_SOMEFAIL;
	if (t->dns_failed || t->incomplete)
		return CLI_EX_TEMPFAIL;
	return CLI_EX_OK;
}

static bool
check_done(void *arg)
{
	return check_is_done(arg);
}

static int
check_domain_run(struct cli_env *e, struct check_opts *o)
{
	struct cli_check_tally tally = { 0, false, false };
	struct check_selector *sel;
	struct cli_check_key *keys;
	struct check_request req;
	struct cli_resolver res;
	struct core_env env = e->core;
	struct check *c = NULL;
	struct arena ar;
	char err[256];
	size_t i;
	int r;

	sel = calloc(o->nsel + 1, sizeof(*sel));
	keys = calloc(o->nsel + 1, sizeof(*keys));
	if (sel == NULL || keys == NULL) {
		free(sel);
		free(keys);
		cli_err("out of memory");
		return CLI_EX_SOFTWARE;
	}
	for (i = 0; i < o->nsel; i++) {
		sel[i].name = span_cstr(o->sel[i].selector);
		if (o->sel[i].key == NULL)
			continue;
		cli_check_key_read(o->sel[i].key, &keys[i]);
		sel[i].key = keys[i].loaded ? &keys[i].key : NULL;
		sel[i].key_error = keys[i].loaded ? NULL : keys[i].err;
	}
	memset(&req, 0, sizeof(req));
	req.domain = span_cstr(o->domain);
	req.sel = sel;
	req.nsel = o->nsel;
	req.what = CHECK_W_ALL;
	req.dnssec = o->dns.trust_anchor != NULL;
	if ((r = cli_resolver_open(&o->dns, 256, &res, err, sizeof(err))) !=
	    0) {
		cli_err("%s", err);
		goto out;
	}
	env.dns = &res.ops;
	arena_init(&ar, env.alloc, 64 << 10, e->limits.max_arena_bytes);
	switch (check_start(&env, &req, &ar, &c)) {
	case CHECK_R_ARG:
		cli_err("check: '%s' is not a domain name", o->domain);
		r = CLI_EX_USAGE;
		break;
	case CHECK_R_OK:
	case CHECK_R_PENDING:
	case CHECK_R_NOMEM:
		cli_resolver_wait(&res, check_done, c);
		r = cli_check_print(c, o->json, &ar, &tally);
		if (r == 0)
			r = cli_check_exit(&tally);
		check_fini(c);
		break;
	}
	arena_fini(&ar);
	cli_resolver_close(&res);
out:
	for (i = 0; i < o->nsel; i++)
		cli_check_key_fini(&keys[i]);
	free(keys);
	free(sel);
	return r;
}

int
cli_check_main(struct cli_env *e, int argc, char **argv)
{
	static struct check_opts o;
	int r;

	memset(&o, 0, sizeof(o));
	cli_dns_init(&o.dns);
	if ((r = check_parse_args(&o, argc, argv)) != 0) {
		free(o.sel);
		return r < 0 ? CLI_EX_OK : r;
	}
	if ((r = cli_dns_setup(&o.dns)) == 0) {
		if (o.keytable != NULL)
			r = cli_check_table(
			    e, &o.dns, o.keytable, o.signtable, o.all, o.json);
		else
			r = check_domain_run(e, &o);
	}
	cli_dns_fini(&o.dns);
	free(o.sel);
	return r;
}
