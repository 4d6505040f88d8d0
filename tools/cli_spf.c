/*
 * hanko spf: check_host() (RFC 7208) for one client IP and MAIL FROM or
 * HELO identity; prints the result, the explanation of a fail, and the
 * Received-SPF and Authentication-Results fields a receiver would add.
 */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli_dns.h"
#include "cli_envelope.h"
#include "cli_json.h"
#include "core/authres.h"
#include "core/spf.h"

static const char spf_usage[] =
    "usage: hanko spf [DNS] --ip IP --mail-from ADDR [--helo NAME] "
    "[OPTIONS]\n" CLI_DNS_USAGE "OPTIONS:\n"
    "  --ip IP                  SMTP client address (IPv4 or IPv6)\n"
    "  --mail-from ADDR         MAIL FROM; \"\" is the null reverse-path\n"
    "                           (then postmaster@HELO is checked)\n"
    "  --helo NAME              HELO/EHLO name\n"
    "  --identity mailfrom|helo which identity to check (default "
    "mailfrom)\n"
    "  --receiver NAME          this host, for %{r} (default: host name)\n"
    "  --authserv-id NAME       authserv-id (default: host name)\n"
    "  --time T                 evaluate as of time T (%{t})\n"
    "  --json                   one JSON object\n"
    "exit: 0 a result was computed (whatever it is), 64 bad arguments\n";

enum {
	OPT_IP = 256,
	OPT_MAILFROM,
	OPT_HELO,
	OPT_IDENTITY,
	OPT_RECEIVER,
	OPT_AUTHSERV,
	OPT_TIME,
	OPT_JSON,
};

static const struct option spf_longopts[] = {
	CLI_DNS_LONGOPTS,
	{ "ip", required_argument, NULL, OPT_IP },
	{ "mail-from", required_argument, NULL, OPT_MAILFROM },
	{ "helo", required_argument, NULL, OPT_HELO },
	{ "identity", required_argument, NULL, OPT_IDENTITY },
	{ "receiver", required_argument, NULL, OPT_RECEIVER },
	{ "authserv-id", required_argument, NULL, OPT_AUTHSERV },
	{ "time", required_argument, NULL, OPT_TIME },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Process lifetime. */
struct spf_opts {
	struct cli_dns_opts dns;
	const char *ip, *mail_from, *helo, *receiver, *authserv;
	bool json, helo_identity;
	uint64_t now;
	char host[256];
};

static int
spf_opt(struct spf_opts *o, int ch, const char *arg)
{
	int r = cli_dns_opt(&o->dns, ch, arg);

	if (r != 0)
		return r > 0 ? 0 : -1;
	switch (ch) {
	case OPT_IP:
		o->ip = arg;
		return 0;
	case OPT_MAILFROM:
		o->mail_from = arg;
		return 0;
	case OPT_HELO:
		o->helo = arg;
		return 0;
	case OPT_IDENTITY:
		if (strcmp(arg, "mailfrom") == 0)
			o->helo_identity = false;
		else if (strcmp(arg, "helo") == 0)
			o->helo_identity = true;
		else
			return -1;
		return 0;
	case OPT_RECEIVER:
		o->receiver = arg;
		return 0;
	case OPT_AUTHSERV:
		o->authserv = arg;
		return 0;
	case OPT_TIME:
		return cli_parse_u64(arg, &o->now) ? 0 : -1;
	case OPT_JSON:
		o->json = true;
		return 0;
	default:
		return -1;
	}
}

static int
spf_parse_args(struct spf_opts *o, int argc, char **argv)
{
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", spf_longopts, NULL)) != -1) {
		if (ch == 'h') {
			fputs(spf_usage, stdout);
			return -1;
		}
		if (spf_opt(o, ch, optarg) != 0) {
			fputs(spf_usage, stderr);
			return CLI_EX_USAGE;
		}
	}
	if (optind != argc) {
		cli_err("spf: unexpected argument '%s'", argv[optind]);
		return CLI_EX_USAGE;
	}
	if (o->ip == NULL) {
		cli_err("spf: --ip is required");
		return CLI_EX_USAGE;
	}
	if (o->helo_identity ? o->helo == NULL : o->mail_from == NULL) {
		cli_err("spf: --%s is required",
		    o->helo_identity ? "helo" : "mail-from");
		return CLI_EX_USAGE;
	}
	if (o->mail_from != NULL && o->mail_from[0] == '\0' &&
	    o->helo == NULL) {
		cli_err("spf: a null reverse-path needs --helo");
		return CLI_EX_USAGE;
	}
	return 0;
}

static bool
spf_json(struct buf *b, const struct spf_outcome *oc, span rspf, span ar)
{
	return buf_add_byte(b, '{') && cli_json_key(b, "result", true) &&
	    cli_json_str(b, span_cstr(spf_result_str(oc->result))) &&
	    cli_json_key(b, "domain", false) && cli_json_str(b, oc->domain) &&
	    cli_json_key(b, "sender", false) && cli_json_str(b, oc->sender) &&
	    cli_json_key(b, "mechanism", false) &&
	    cli_json_opt_str(b, oc->mechanism) &&
	    cli_json_key(b, "explanation", false) &&
	    cli_json_opt_str(b, oc->explanation) &&
	    cli_json_key(b, "problem", false) &&
	    cli_json_opt_str(b, span_cstr(oc->problem)) &&
	    cli_json_key(b, "lookups", false) && buf_add_u64(b, oc->lookups) &&
	    cli_json_key(b, "void_lookups", false) &&
	    buf_add_u64(b, oc->void_lookups) &&
	    cli_json_key(b, "received_spf", false) && cli_json_str(b, rspf) &&
	    cli_json_key(b, "authentication_results", false) &&
	    cli_json_str(b, ar) && buf_add_cstr(b, "}\n");
}

static bool
spf_text(struct buf *b, const struct spf_outcome *oc, span rspf, span ar)
{
	bool ok = buf_add_cstr(b, "spf=") &&
	    buf_add_cstr(b, spf_result_str(oc->result));

	if (ok && oc->problem[0] != '\0')
		ok = buf_add_cstr(b, " (") && buf_add_cstr(b, oc->problem) &&
		    buf_add_byte(b, ')');
	if (ok && oc->explanation.len > 0)
		ok = buf_add_cstr(b, "\nexplanation: ") &&
		    authres_comment_text(b, oc->explanation);
	return ok && buf_add_byte(b, '\n') && buf_add_span(b, rspf) &&
	    buf_add_byte(b, '\n') && buf_add_span(b, ar) &&
	    buf_add_byte(b, '\n');
}

static int
spf_output(const struct spf_opts *o, const struct spf_request *req,
    const struct spf_outcome *oc, struct arena *ar)
{
	const char *eol = o->json ? NULL : "\n";
	struct buf rspf, arf, out;
	struct authres_w w;
	bool ok;

	buf_init_arena(&rspf, ar);
	buf_init_arena(&arf, ar);
	buf_init_arena(&out, ar);
	authres_begin(&w, &arf, span_cstr(o->authserv), eol);
	authres_add_spf(&w, req, oc);
	ok = authres_end(&w) && spf_received(&rspf, req, oc, eol);
	while (rspf.len > 0 &&
	    (rspf.p[rspf.len - 1] == '\n' || rspf.p[rspf.len - 1] == ' '))
		rspf.len--; /* the field's own line end: we add ours */
	if (ok)
		ok = o->json
		    ? spf_json(&out, oc, buf_span(&rspf), buf_span(&arf))
		    : spf_text(&out, oc, buf_span(&rspf), buf_span(&arf));
	if (!ok || cli_write_all(STDOUT_FILENO, out.p, out.len) != 0) {
		cli_err("cannot write the result");
		return CLI_EX_IOERR;
	}
	return CLI_EX_OK;
}

static bool
spf_done(void *arg)
{
	return spf_check_is_done(arg);
}

static int
spf_run(struct cli_env *e, struct spf_opts *o, struct spf_request *req)
{
	struct cli_resolver res;
	struct spf_checker *c = NULL;
	struct core_env env = e->core;
	struct arena ar;
	char err[256];
	spf_res sr;
	int r;

	if ((r = cli_resolver_open(&o->dns, 64, &res, err, sizeof(err))) != 0) {
		cli_err("%s", err);
		return r;
	}
	env.dns = &res.ops;
	arena_init(&ar, env.alloc, 64 << 10, e->limits.max_arena_bytes);
	req->sender = envelope_addr_a_label(req->sender, &ar);
	req->helo = envelope_a_label(req->helo, &ar);
	if (spf_checker_new(&env, &c) != SPF_OK) {
		cli_err("cannot set up the SPF check");
		r = CLI_EX_SOFTWARE;
	} else if ((sr = spf_check_start(c, req, &ar)) == SPF_E_NOMEM) {
		cli_err("out of memory");
		r = CLI_EX_SOFTWARE;
	} else if (sr == SPF_E_ARG) {
		cli_err("spf: %s", spf_check_outcome(c)->problem);
		r = CLI_EX_USAGE;
	} else {
		cli_resolver_wait(&res, spf_done, c);
		r = spf_output(o, req, spf_check_outcome(c), &ar);
	}
	spf_checker_free(c);
	arena_fini(&ar);
	cli_resolver_close(&res);
	return r;
}

int
cli_spf_main(struct cli_env *e, int argc, char **argv)
{
	struct spf_opts o;
	struct spf_request req;
	int r;

	memset(&o, 0, sizeof(o));
	cli_dns_init(&o.dns);
	o.now = (uint64_t)time(NULL);
	if ((r = spf_parse_args(&o, argc, argv)) != 0)
		return r < 0 ? CLI_EX_OK : r;
	if (gethostname(o.host, sizeof(o.host) - 1) != 0)
		snprintf(o.host, sizeof(o.host), "localhost");
	if (o.authserv == NULL)
		o.authserv = o.host;
	memset(&req, 0, sizeof(req));
	if (!spf_ip_parse(span_cstr(o.ip), &req.ip)) {
		cli_err("spf: --ip %s is not an IPv4 or IPv6 address", o.ip);
		return CLI_EX_USAGE;
	}
	req.sender =
	    envelope_path(span_cstr(o.mail_from != NULL ? o.mail_from : ""));
	req.helo = span_cstr(o.helo != NULL ? o.helo : "");
	req.receiver = span_cstr(o.receiver != NULL ? o.receiver : o.host);
	req.now = o.now;
	req.identity = o.helo_identity ? SPF_ID_HELO : SPF_ID_MAILFROM;
	if ((r = cli_dns_setup(&o.dns)) != 0)
		return r;
	r = spf_run(e, &o, &req);
	cli_dns_fini(&o.dns);
	return r;
}
