/*
 * hanko dmarc: SPF (from the envelope), DKIM (every signature) and DMARC
 * for each message, as the Authentication-Results a receiver would add,
 * with the disposition; or one JSON object per message holding what an
 * aggregate report records (--history appends it to a file, with the
 * time). Runs inside cli_verify.c's message loop as cli_dmarc_mode; the
 * mail rules, the multi-domain one included, are core/auth.c's.
 *
 * The envelope of a message comes from, field by field, the first of:
 * --ip/--mail-from/--helo (every message); the sidecar DIR/NAME.env
 * (--envelope-dir); the trace fields, when --trust-received N names the
 * Received field (top-down) that this site's own MTA wrote, with the
 * topmost Return-Path for MAIL FROM. Without a client IP, SPF is none.
 */
#include "cli_verify.h"

#include <errno.h>
#include <fcntl.h>
#include <libpsl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_envelope.h"
#include "cli_json.h"
#include "core/arena.h"
#include "core/auth.h"
#include "core/dkim_verify.h"
#include "core/dmarc.h"
#include "core/spf.h"
#include "io/spool.h"

static const char cli_dmarc_usage[] =
    "usage: hanko dmarc [DNS] [ENVELOPE] [OPTIONS] [FILE|DIR...]  (no "
    "file: stdin)\n" CLI_DNS_USAGE
    "ENVELOPE (first source that has a field wins):\n"
    "  --ip IP --mail-from ADDR --helo NAME   for every message given\n"
    "  --envelope-dir DIR       sidecar DIR/NAME.env per message NAME:\n"
    "                           ip=, helo=, mail-from= lines (or Postfix\n"
    "                           policy names client_address=, "
    "helo_name=, sender=)\n"
    "  --trust-received N       the N-th Received field from the top was\n"
    "                           written by our MTA: take IP and HELO from "
    "it,\n"
    "                           MAIL FROM from the topmost Return-Path\n"
    "OPTIONS:\n"
    "  --rfc7489                RFC 7489 rules: public suffix list "
    "organizational\n"
    "                           domain, pct= honoured (default: RFC 9989)\n"
    "  --psl FILE               public suffix list (default: libpsl's "
    "newest)\n"
    "  --pct-roll N             fix the RFC 7489 pct= sample (0-99), for "
    "tests\n"
    "  --history FILE           append each message's JSON object, with "
    "\"time\",\n"
    "                           as one line to FILE (created 0640)\n"
    "  --json                   one JSON object per message\n"
    "  --authserv-id NAME       authserv-id in the field (default: host "
    "name)\n"
    "  --time T                 verify as of time T\n"
    "  --max-size BYTES         largest message accepted (default 64 MiB)\n"
    "  --max-signatures N       signatures examined per message (default "
    "10)\n"
    "  -j, --jobs N             worker threads for directories (default: "
    "CPUs)\n"
    "  --batch N                messages in flight per worker (default "
    "64)\n"
    "exit: 0 every message passes DMARC; 1 some message does not; 75 a DNS\n"
    "      failure left a message without a result; 66 unreadable input, or\n"
    "      a directory holding no message\n";

static int
cli_dmarc_opt(struct verify_opts *o, int ch, const char *arg)
{
	uint64_t v;

	switch (ch) {
	case CLI_OPT_IP:
		o->ip = arg;
		return 1;
	case CLI_OPT_MAILFROM:
		o->mail_from = arg;
		return 1;
	case CLI_OPT_HELO:
		o->helo = arg;
		return 1;
	case CLI_OPT_ENVDIR:
		o->envelope_dir = arg;
		return 1;
	case CLI_OPT_TRUST_RECEIVED:
		if (!cli_parse_u64(arg, &v) || v < 1 || v > 100)
			return -1;
		o->trust_received = v;
		return 1;
	case CLI_OPT_RFC7489:
		o->rfc7489 = true;
		return 1;
	case CLI_OPT_PSL:
		o->psl_file = arg;
		return 1;
	case CLI_OPT_PCT_ROLL:
		if (!cli_parse_u64(arg, &v) || v > 99)
			return -1;
		o->pct_roll = (int)v;
		return 1;
	case CLI_OPT_HISTORY:
		o->history = arg;
		return 1;
	default:
		return 0;
	}
}

static int
cli_dmarc_setup(struct verify_opts *o)
{
	struct spf_ip ip;

	if (o->ip != NULL && !spf_ip_parse(span_cstr(o->ip), &ip)) {
		cli_err("dmarc: --ip %s is not an IPv4 or IPv6 address", o->ip);
		return CLI_EX_USAGE;
	}
	o->conf.dmarc = true;
	o->conf.mode = o->rfc7489 ? DMARC_RFC7489 : DMARC_RFC9989;
	if (o->history != NULL &&
	    (o->history_fd = cli_history_open(o->history)) < 0) {
		cli_err("dmarc: --history %s: %s", o->history,
		    strerror(-o->history_fd));
		return CLI_EX_CANTCREAT;
	}
	if (!o->rfc7489)
		return 0;
	o->psl =
	    o->psl_file != NULL ? psl_load_file(o->psl_file) : psl_latest(NULL);
	if (o->psl == NULL) {
		cli_err("dmarc: cannot load the public suffix list%s%s",
		    o->psl_file != NULL ? " " : "",
		    o->psl_file != NULL ? o->psl_file : "");
		return CLI_EX_CONFIG;
	}
	o->conf.psl = o->psl;
	return 0;
}

static void
cli_dmarc_fini(struct verify_opts *o)
{
	psl_free(o->psl);
	o->psl = NULL;
	if (o->history_fd >= 0)
		close(o->history_fd);
	o->history_fd = -1;
}

/*
 * The envelope from the flags, then the sidecar; core/auth.c adds the
 * trace fields (--trust-received) once it has split the header.
 */
static void cli_dmarc_prepare(struct verify_opts *o,
    const struct spool_item *it, struct arena *ar, struct auth_request *req);

static unsigned
pct_roll(const struct verify_opts *o)
{
	unsigned v = 0;

	if (o->pct_roll >= 0)
		return (unsigned)o->pct_roll;
	if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
		v = (unsigned)getpid();
	return v % 100;
}

static void
cli_dmarc_prepare(struct verify_opts *o, const struct spool_item *it,
    struct arena *ar, struct auth_request *req)
{
	struct auth_envelope *e = &req->env;

	req->trust_received = (size_t)o->trust_received;
	req->pct_roll = pct_roll(o);
	if (req->unread != NULL)
		return;
	if (o->ip != NULL)
		auth_envelope_set(e, AUTH_ENV_IP, span_cstr(o->ip), "flags");
	if (o->mail_from != NULL)
		auth_envelope_set(e, AUTH_ENV_MAIL_FROM,
		    envelope_path(span_cstr(o->mail_from)), "flags");
	if (o->helo != NULL)
		auth_envelope_set(
		    e, AUTH_ENV_HELO, span_cstr(o->helo), "flags");
	if (o->envelope_dir != NULL)
		envelope_sidecar(e, o->envelope_dir, it->name, ar);
}

static bool
json_env(struct buf *b, const struct auth_envelope *e)
{
	return buf_add_byte(b, '{') && cli_json_key(b, "ip", true) &&
	    cli_json_opt_str(b, e->has_ip ? e->ip : span_make(NULL, 0)) &&
	    cli_json_key(b, "mail_from", false) &&
	    (e->has_mail_from ? cli_json_str(b, e->mail_from)
	                      : buf_add_cstr(b, "null")) &&
	    cli_json_key(b, "helo", false) &&
	    cli_json_opt_str(b, e->has_helo ? e->helo : span_make(NULL, 0)) &&
	    cli_json_key(b, "source", false) &&
	    cli_json_opt_str(
	        b, span_cstr(e->source != NULL ? e->source : "")) &&
	    cli_json_key(b, "problem", false) &&
	    cli_json_opt_str(b, span_cstr(e->problem)) && buf_add_byte(b, '}');
}

static bool
json_spf(struct buf *b, const struct auth_result *s)
{
	const struct spf_outcome *so;

	if (!s->spf_run)
		return buf_add_cstr(b, "{\"result\":\"none\",\"problem\":") &&
		    cli_json_str(b,
		        span_cstr(s->env.problem[0] != '\0'
		                ? s->env.problem
		                : "no client IP in the envelope")) &&
		    buf_add_byte(b, '}');
	so = s->spf;
	return buf_add_byte(b, '{') && cli_json_key(b, "result", true) &&
	    cli_json_str(b, span_cstr(spf_result_str(so->result))) &&
	    cli_json_key(b, "domain", false) && cli_json_str(b, so->domain) &&
	    cli_json_key(b, "scope", false) && buf_add_cstr(b, "\"mfrom\"") &&
	    cli_json_key(b, "sender", false) && cli_json_str(b, so->sender) &&
	    cli_json_key(b, "mechanism", false) &&
	    cli_json_opt_str(b, so->mechanism) &&
	    cli_json_key(b, "explanation", false) &&
	    cli_json_opt_str(b, so->explanation) &&
	    cli_json_key(b, "problem", false) &&
	    cli_json_opt_str(b, span_cstr(so->problem)) && buf_add_byte(b, '}');
}

static bool
json_dkim(
    struct buf *b, const struct auth_result *oc, const struct dmarc_outcome *d)
{
	size_t k;
	bool ok = buf_add_byte(b, '[');

	for (k = 0; ok && k < oc->ndkim; k++) {
		const struct dkim_result *r = &oc->dkim[k];
		bool aligned = k < d->ndkim && d->dkim[k].aligned;

		ok = (k == 0 || buf_add_byte(b, ',')) && buf_add_byte(b, '{') &&
		    cli_json_key(b, "result", true) &&
		    cli_json_str(b, span_cstr(dkim_verdict_str(r->verdict))) &&
		    cli_json_key(b, "d", false) && cli_json_opt_str(b, r->d) &&
		    cli_json_key(b, "s", false) && cli_json_opt_str(b, r->s) &&
		    cli_json_key(b, "reason", false) &&
		    cli_json_opt_str(b, span_cstr(r->reason)) &&
		    cli_json_key(b, "aligned", false) &&
		    buf_add_cstr(b, aligned ? "true" : "false") &&
		    buf_add_byte(b, '}');
	}
	return ok && buf_add_byte(b, ']');
}

static bool
json_policy(struct buf *b, const char *key, enum dmarc_policy p)
{
	return cli_json_key(b, key, false) &&
	    (p == DMARC_P_UNSPEC
	            ? buf_add_cstr(b, "null")
	            : cli_json_str(b, span_cstr(dmarc_policy_str(p))));
}

static bool
json_dmarc(struct buf *b, const struct auth_result *s,
    const struct dmarc_outcome *d, bool rfc7489)
{
	const struct dmarc_record *r = &d->rec;
	size_t k;
	bool ok = buf_add_byte(b, '{') && cli_json_key(b, "result", true) &&
	    cli_json_str(b, span_cstr(dmarc_result_str(d->result))) &&
	    cli_json_key(b, "header_from", false) &&
	    cli_json_opt_str(
	        b, d->from_domain.len > 0 ? d->from_domain : s->from_domain) &&
	    cli_json_key(b, "mode", false) &&
	    buf_add_cstr(b, rfc7489 ? "\"rfc7489\"" : "\"rfc9989\"") &&
	    cli_json_key(b, "record_domain", false) &&
	    cli_json_opt_str(b, d->record_domain) &&
	    cli_json_key(b, "org_domain", false) &&
	    cli_json_opt_str(b, d->org_domain);

	if (ok && d->have_record)
		ok = json_policy(b, "p", r->p) && json_policy(b, "sp", r->sp) &&
		    json_policy(b, "np", r->np) &&
		    cli_json_key(b, "adkim", false) &&
		    buf_add_cstr(
		        b, r->adkim == DMARC_A_STRICT ? "\"s\"" : "\"r\"") &&
		    cli_json_key(b, "aspf", false) &&
		    buf_add_cstr(
		        b, r->aspf == DMARC_A_STRICT ? "\"s\"" : "\"r\"") &&
		    cli_json_key(b, "testing", false) &&
		    buf_add_cstr(b, r->testing ? "true" : "false") &&
		    cli_json_key(b, "pct", false) && buf_add_u64(b, r->pct) &&
		    cli_json_key(b, "rua", false) &&
		    cli_json_opt_str(b, r->rua) &&
		    cli_json_key(b, "ruf", false) &&
		    cli_json_opt_str(b, r->ruf);
	if (ok && s->ndoms > 1) {
		ok = cli_json_key(b, "author_domains", false) &&
		    buf_add_byte(b, '[');
		for (k = 0; ok && k < s->ndoms; k++)
			ok = (k == 0 || buf_add_byte(b, ',')) &&
			    buf_add_byte(b, '{') &&
			    cli_json_key(b, "domain", true) &&
			    cli_json_str(b, s->doms[k]) &&
			    cli_json_key(b, "result", false) &&
			    cli_json_str(b,
			        span_cstr(
			            dmarc_result_str(s->outs[k].result))) &&
			    json_policy(b, "disposition",
			        s->outs[k].disposition != DMARC_P_UNSPEC
			            ? s->outs[k].disposition
			            : DMARC_P_NONE) &&
			    buf_add_byte(b, '}');
		ok = ok && buf_add_byte(b, ']');
	}
	return ok && json_policy(b, "policy", d->policy) &&
	    json_policy(b, "disposition",
	        d->disposition != DMARC_P_UNSPEC ? d->disposition
	                                         : DMARC_P_NONE) &&
	    cli_json_key(b, "spf_aligned", false) &&
	    buf_add_cstr(b, d->spf_aligned ? "true" : "false") &&
	    cli_json_key(b, "dkim_aligned", false) &&
	    buf_add_cstr(b, d->dkim_aligned ? "true" : "false") &&
	    cli_json_key(b, "reason", false) &&
	    cli_json_opt_str(b, span_cstr(d->reason)) && buf_add_byte(b, '}');
}

static void
dmarc_tally(struct verify_opts *o, const struct auth_result *r)
{
	if (r->dmarc->result == DMARC_R_TEMPERROR)
		o->any_temp = true;
	else if (r->dmarc->result != DMARC_R_PASS)
		o->any_nopass = true;
}

/* The --json object; time, when not NULL, is added as "time". */
bool
cli_dmarc_json(struct buf *out, const char *name, const struct auth_result *r,
    span authres, bool rfc7489, const uint64_t *time)
{
	const struct dmarc_outcome *d = r->dmarc;

	return buf_add_byte(out, '{') && cli_json_key(out, "file", true) &&
	    cli_json_str(out, span_cstr(name)) &&
	    cli_json_key(out, "error", false) &&
	    cli_json_opt_str(
	        out, span_cstr(r->error != NULL ? r->error : "")) &&
	    cli_json_key(out, "envelope", false) && json_env(out, &r->env) &&
	    cli_json_key(out, "spf", false) && json_spf(out, r) &&
	    cli_json_key(out, "dkim", false) && json_dkim(out, r, d) &&
	    cli_json_key(out, "dmarc", false) &&
	    json_dmarc(out, r, d, rfc7489) &&
	    cli_json_key(out, "authentication_results", false) &&
	    cli_json_str(out, authres) &&
	    (time == NULL ||
	        (cli_json_key(out, "time", false) &&
	            buf_add_u64(out, *time))) &&
	    buf_add_cstr(out, "}\n");
}

static bool
cli_dmarc_format(struct verify_opts *o, const char *name,
    const struct auth_ctx *a, struct buf *out)
{
	const struct auth_result *r = auth_result(a);

	if (!r->authres_ok)
		return false;
	if (o->json)
		return cli_dmarc_json(out, name, r, r->authres, o->rfc7489, NULL);
	return (!o->tagged ||
	           (buf_add_cstr(out, "# ") && buf_add_cstr(out, name) &&
	               buf_add_byte(out, '\n'))) &&
	    buf_add_span(out, r->authres) &&
	    buf_add_cstr(out, "\ndisposition: ") &&
	    buf_add_cstr(out, dmarc_policy_str(r->disposition)) &&
	    buf_add_byte(out, '\n');
}

/*
 * --history: the --json object of the message (its field on one line
 * whatever the output form) plus "time", the evaluation's Unix time
 * (--time when given), as one line in one write().
 */
static int
cli_dmarc_record(struct verify_opts *o, const char *name,
    const struct auth_ctx *a, struct arena *ar)
{
	const struct auth_result *r = auth_result(a);
	struct buf line, field;
	span authres = r->authres;
	int e;

	if (o->history_fd < 0)
		return 0;
	buf_init_arena(&line, ar);
	buf_init_arena(&field, ar);
	if (!o->json) {
		if (!auth_write_authres(a, &field, NULL))
			goto full;
		authres = buf_span(&field);
	}
	if (!cli_dmarc_json(&line, name, r, authres, o->rfc7489, &o->now))
		goto full;
	if ((e = cli_history_append(o->history_fd, line.p, line.len)) != 0) {
		cli_err("--history %s: %s", o->history, strerror(-e));
		return CLI_EX_IOERR;
	}
	return 0;
full:
	cli_err("--history %s: the line does not fit in memory", o->history);
	return CLI_EX_IOERR;
}

const struct verify_mode cli_dmarc_mode = {
	.usage = cli_dmarc_usage,
	/* SPF may need some 30 lookups, a DMARC tree walk 8 per domain. */
	.extra_queries = 64,
	.opt = cli_dmarc_opt,
	.setup = cli_dmarc_setup,
	.fini = cli_dmarc_fini,
	.prepare = cli_dmarc_prepare,
	.format = cli_dmarc_format,
	.tally = dmarc_tally,
	.record = cli_dmarc_record,
};

int
cli_history_open(const char *path)
{
	/* O_NONBLOCK: opening a FIFO must not wait for a reader. */
	const int flags =
	    O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK;
	struct stat st;
	int fd, tries;

	/*
	 * Open an existing file, else create it exclusively: O_EXCL never
	 * follows a symbolic link (a dangling one gives EEXIST), and
	 * O_NOFOLLOW refuses one on the next try. Another process may
	 * create or remove the file in between: try again a few times.
	 */
	for (tries = 0; tries < 8; tries++) {
		if ((fd = open(path, flags)) >= 0)
			break;
		if (errno != ENOENT)
			return -errno;
		if ((fd = open(path, flags | O_CREAT | O_EXCL, 0640)) >= 0) {
			/* 0640 whatever the umask: readers are the group. */
			if (fchmod(fd, 0640) != 0) {
				int e = errno;

				close(fd);
				return -e;
			}
			break;
		}
		if (errno != EEXIST)
			return -errno;
	}
	if (fd < 0)
		return -EAGAIN;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL; /* a FIFO or device would block or vanish */
	}
	if (fcntl(fd, F_SETFL, O_APPEND) != 0) {
		close(fd);
		return -errno;
	}
	return fd;
}

int
cli_history_append(int fd, const void *line, size_t len)
{
	ssize_t n = write(fd, line, len);

	if (n < 0)
		return -errno;
	/* A short write would let another process's line interleave. */
	return (size_t)n == len ? 0 : -EIO;
}
