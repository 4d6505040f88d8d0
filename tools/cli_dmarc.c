/*
 * hanko dmarc: SPF (from the envelope), DKIM (every signature) and DMARC
 * for each message, as the Authentication-Results a receiver would add,
 * with the disposition; or one JSON object per message holding what an
 * aggregate report records. Runs inside cli_verify.c's message loop.
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
#include <unistd.h>

#include "cli_envelope.h"
#include "cli_json.h"
#include "core/authres.h"
#include "core/dkim_verify.h"
#include "core/dmarc.h"
#include "core/hdr.h"
#include "core/spf.h"
#include "core/trace.h"
#include "io/spool.h"

/*
 * A From naming several domains is evaluated once per domain and the
 * strictest failing policy applies (RFC 9989 §11 after RFC 7489
 * §6.6.1); beyond this many the cost is an attacker's lever, so such a
 * message fails without lookups.
 */
#define FROM_DOMAINS_MAX 4
#define FROM_ADDRS_MAX   64

const char cli_dmarc_usage[] =
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

/* One message in flight: message lifetime, reused. */
struct dmarc_slot {
	struct spf_checker *spf;
	struct dmarc_evaluator *dm;
	struct spf_request sreq;
	struct envelope env;
	bool spf_started, dm_started, final;
	bool hdr_ok;
	struct hdr_msg hm;
	dmarc_from_res from;
	span from_domain;
	span doms[FROM_DOMAINS_MAX]; /* author domains to evaluate */
	size_t ndoms, cur;
	bool incomplete; /* a From domain could not be read or was over */
	bool unread;     /* the message could not be read or split */
	struct dmarc_outcome outs[FROM_DOMAINS_MAX];
	char err[160];
};

void
cli_dmarc_init(struct verify_opts *o)
{
	o->pct_roll = -1;
}

int
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
	default:
		return 0;
	}
}

int
cli_dmarc_setup(struct verify_opts *o)
{
	struct spf_ip ip;

	if (o->ip != NULL && !spf_ip_parse(span_cstr(o->ip), &ip)) {
		cli_err("dmarc: --ip %s is not an IPv4 or IPv6 address", o->ip);
		return CLI_EX_USAGE;
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
	return 0;
}

void
cli_dmarc_fini(struct verify_opts *o)
{
	psl_free(o->psl);
	o->psl = NULL;
}

int
cli_dmarc_slot_new(struct vctx *c, size_t i)
{
	struct dmarc_slot *s = calloc(1, sizeof(*s));

	c->dm[i] = s;
	if (s == NULL || spf_checker_new(&c->env, &s->spf) != SPF_OK ||
	    dmarc_evaluator_new(&c->env, &s->dm) != DMARC_OK)
		return -1;
	return 0;
}

void
cli_dmarc_slot_free(struct vctx *c, size_t i)
{
	struct dmarc_slot *s = c->dm[i];

	if (s == NULL)
		return;
	spf_checker_free(s->spf);
	dmarc_evaluator_free(s->dm);
	free(s);
	c->dm[i] = NULL;
}

/* Add d to the slot's author domains unless present; false when full. */
static bool
add_domain(struct dmarc_slot *s, span d)
{
	size_t k;

	if (d.len == 0)
		return true;
	for (k = 0; k < s->ndoms; k++)
		if (span_ieq_ascii(s->doms[k], d))
			return true;
	if (s->ndoms == FROM_DOMAINS_MAX)
		return false;
	s->doms[s->ndoms++] = d;
	return true;
}

/*
 * The domains of every From field, at most FROM_DOMAINS_MAX. An address
 * without a domain, a list that does not parse or domains beyond the
 * limit make the set incomplete: what was read is still evaluated and
 * the message cannot pass (a partial evaluation proves nothing).
 */
static void
from_domains(struct dmarc_slot *s, struct arena *ar)
{
	span from = span_cstr("From"), addrs[FROM_ADDRS_MAX], d;
	size_t f, n, k, nth = 0;

	while ((f = hdr_find(&s->hm, from, nth++)) < s->hm.nf) {
		n = hdr_addr_list(s->hm.f[f].value, ar, addrs, FROM_ADDRS_MAX);
		if (n == SIZE_MAX || n == HDR_ADDR_NOMEM || n == 0) {
			s->incomplete = true;
			continue;
		}
		if (n > FROM_ADDRS_MAX) {
			s->incomplete = true;
			n = FROM_ADDRS_MAX;
		}
		for (k = 0; k < n; k++) {
			d = hdr_addr_domain(addrs[k]);
			if (d.len == 0 ||
			    !add_domain(s, envelope_a_label(d, ar)))
				s->incomplete = true;
		}
	}
	if (s->incomplete)
		snprintf(s->err, sizeof(s->err),
		    "%s; not every author domain could be evaluated",
		    dmarc_from_res_str(s->from));
}

void
cli_dmarc_start(struct vctx *c, size_t i, const struct spool_item *it)
{
	struct verify_opts *o = c->o;
	struct dmarc_slot *s = c->dm[i];
	struct arena *ar = &c->ar[i];
	char err[128];

	memset(&s->env, 0, sizeof(s->env));
	s->spf_started = s->dm_started = s->final = false;
	s->hdr_ok = s->incomplete = s->unread = false;
	s->err[0] = '\0';
	s->from = DMARC_FROM_NONE;
	s->from_domain = span_make(NULL, 0);
	s->ndoms = s->cur = 0;
	memset(&s->sreq, 0, sizeof(s->sreq));
	if (it->err != 0) {
		s->unread = true;
		snprintf(s->err, sizeof(s->err), "message not read");
		return;
	}
	if (hdr_split(it->msg, &o->e->limits, ar, &s->hm, err, sizeof(err)) !=
	    HDR_OK) {
		s->unread = true;
		snprintf(s->err, sizeof(s->err), "header: %s", err);
		return;
	}
	s->hdr_ok = true;
	s->from = dmarc_author_domain(&s->hm, ar, &s->from_domain);
	s->from_domain = envelope_a_label(s->from_domain, ar);
	if (s->from == DMARC_FROM_OK)
		s->doms[s->ndoms++] = s->from_domain;
	else if (s->from == DMARC_FROM_MULTIPLE_ADDRS ||
	    s->from == DMARC_FROM_MULTIPLE_FIELDS ||
	    s->from == DMARC_FROM_NO_DOMAIN)
		from_domains(s, ar);
	if (o->ip != NULL)
		envelope_set(&s->env, ENV_IP, span_cstr(o->ip), "flags");
	if (o->mail_from != NULL)
		envelope_set(&s->env, ENV_MAIL_FROM,
		    envelope_path(span_cstr(o->mail_from)), "flags");
	if (o->helo != NULL)
		envelope_set(&s->env, ENV_HELO, span_cstr(o->helo), "flags");
	if (o->envelope_dir != NULL)
		envelope_sidecar(&s->env, o->envelope_dir, it->name, ar);
	if (o->trust_received > 0)
		envelope_trace(&s->env, &s->hm, (size_t)o->trust_received);
	if (!s->env.has_ip)
		return;
	if (!s->env.has_mail_from) {
		/* Unknown is not the null path: postmaster@HELO would be. */
		snprintf(s->env.problem, sizeof(s->env.problem),
		    "no MAIL FROM in the envelope");
		return;
	}
	if (!spf_ip_parse(s->env.ip, &s->sreq.ip)) {
		snprintf(s->env.problem, sizeof(s->env.problem),
		    "envelope client IP is not an address");
		return;
	}
	s->sreq.sender = envelope_addr_a_label(s->env.mail_from, ar);
	s->sreq.helo = envelope_a_label(s->env.helo, ar);
	s->sreq.receiver = span_cstr(o->host);
	s->sreq.now = o->now;
	s->sreq.identity = SPF_ID_MAILFROM;
	if (s->sreq.sender.len == 0 && s->sreq.helo.len == 0) {
		snprintf(s->env.problem, sizeof(s->env.problem),
		    "no MAIL FROM and no HELO in the envelope");
		return;
	}
	switch (spf_check_start(s->spf, &s->sreq, ar)) {
	case SPF_OK:
	case SPF_PENDING:
		s->spf_started = true;
		break;
	case SPF_E_ARG:
	case SPF_E_NOMEM:
		snprintf(s->env.problem, sizeof(s->env.problem), "SPF: %.150s",
		    spf_check_outcome(s->spf)->problem);
		break;
	}
}

static enum dmarc_auth
auth_of_dkim(enum dkim_verdict v)
{
	switch (v) {
	case DKIM_V_PASS:
		return DMARC_AUTH_PASS;
	case DKIM_V_FAIL:
		return DMARC_AUTH_FAIL;
	case DKIM_V_NEUTRAL:
		return DMARC_AUTH_NEUTRAL;
	case DKIM_V_POLICY:
		return DMARC_AUTH_POLICY;
	case DKIM_V_TEMPERROR:
		return DMARC_AUTH_TEMPERROR;
	case DKIM_V_PERMERROR:
		return DMARC_AUTH_PERMERROR;
	case DKIM_V_NONE:
		break;
	}
	return DMARC_AUTH_NONE;
}

static enum dmarc_auth
auth_of_spf(enum spf_result r)
{
	switch (r) {
	case SPF_R_PASS:
		return DMARC_AUTH_PASS;
	case SPF_R_FAIL:
		return DMARC_AUTH_FAIL;
	case SPF_R_SOFTFAIL:
		return DMARC_AUTH_SOFTFAIL;
	case SPF_R_NEUTRAL:
		return DMARC_AUTH_NEUTRAL;
	case SPF_R_TEMPERROR:
		return DMARC_AUTH_TEMPERROR;
	case SPF_R_PERMERROR:
		return DMARC_AUTH_PERMERROR;
	case SPF_R_NONE:
		break;
	}
	return DMARC_AUTH_NONE;
}

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

/*
 * DKIM and SPF are final: evaluate DMARC for author domain s->cur.
 * false when it could not start (the outcome is then made here).
 */
static bool
dmarc_begin(struct vctx *c, size_t i)
{
	struct dmarc_slot *s = c->dm[i];
	struct arena *ar = &c->ar[i];
	struct dmarc_outcome *out = &s->outs[s->cur];
	const struct dkim_result *res;
	struct dmarc_dkim_in *din;
	struct dmarc_request req;
	dmarc_res r;
	size_t n, k;

	s->dm_started = true;
	n = dkim_verify_results(c->v[i], &res);
	din = n > 0 ? arena_alloc(ar, n * sizeof(*din)) : NULL;
	if (n > 0 && din == NULL) {
		r = DMARC_E_NOMEM;
		goto fail;
	}
	for (k = 0; k < n; k++) {
		din[k].domain = res[k].d;
		din[k].selector = res[k].s;
		din[k].result = auth_of_dkim(res[k].verdict);
	}
	memset(&req, 0, sizeof(req));
	req.from_domain = s->doms[s->cur];
	req.dkim = din;
	req.ndkim = n;
	if (s->spf_started) {
		const struct spf_outcome *so = spf_check_outcome(s->spf);

		req.spf.domain = so->domain;
		req.spf.result = auth_of_spf(so->result);
		req.spf.scope = DMARC_SPF_MFROM;
	}
	req.mode = c->o->rfc7489 ? DMARC_RFC7489 : DMARC_RFC9989;
	req.psl = c->o->psl;
	req.pct_roll = pct_roll(c->o);
	r = dmarc_eval_start(s->dm, &req, ar);
	if (r == DMARC_OK || r == DMARC_PENDING)
		return true;
fail:
	memset(out, 0, sizeof(*out));
	out->from_domain = s->doms[s->cur];
	out->result =
	    r == DMARC_E_NOMEM ? DMARC_R_TEMPERROR : DMARC_R_PERMERROR;
	snprintf(out->reason, sizeof(out->reason), "%s", dmarc_res_str(r));
	return false;
}

bool
cli_dmarc_step(struct vctx *c, size_t i)
{
	struct dmarc_slot *s = c->dm[i];

	if (s->final)
		return true;
	if (s->spf_started && !spf_check_is_done(s->spf))
		return false;
	/* One author domain after the other, on the one evaluator. */
	while (s->cur < s->ndoms) {
		if (!s->dm_started) {
			if (!dmarc_begin(c, i)) {
				s->dm_started = false;
				s->cur++;
				continue;
			}
		}
		if (!dmarc_eval_is_done(s->dm))
			return false;
		s->outs[s->cur++] = *dmarc_eval_outcome(s->dm);
		s->dm_started = false;
	}
	s->final = true;
	return true;
}

static const char *
from_problem(dmarc_from_res r)
{
	switch (r) {
	case DMARC_FROM_OK:
		return NULL;
	case DMARC_FROM_NONE:
		return "no From field";
	case DMARC_FROM_MULTIPLE_FIELDS:
		return "several From fields";
	case DMARC_FROM_MULTIPLE_ADDRS:
		return "several addresses in From";
	case DMARC_FROM_NO_DOMAIN:
		return "From address without a domain";
	case DMARC_FROM_NOMEM:
		return "out of memory";
	}
	return "unusable From field";
}

/* The strictest policy among the evaluated author domains. */
static enum dmarc_policy
strictest(const struct dmarc_slot *s)
{
	enum dmarc_policy p = DMARC_P_NONE, q;
	size_t k;

	for (k = 0; k < s->ndoms; k++) {
		q = s->outs[k].result == DMARC_R_FAIL ? s->outs[k].disposition
		                                      : s->outs[k].policy;
		if (q > p)
			p = q;
	}
	return p;
}

/*
 * The outcome that decides, and its index in outs (SIZE_MAX when made
 * here): the one evaluation, or of several author domains the failing
 * one with the strictest disposition (then a temperror, a permerror, a
 * none; all passing: the first). Several From fields, or a From not
 * every domain of which was evaluated, never pass: RFC 5322 allows one
 * From field, and a second is how a spoofed author hides beside a real
 * one; the strictest policy found applies. Without an author domain:
 * permerror for a message that could not be read, else fail.
 */
static const struct dmarc_outcome *
slot_outcome(const struct dmarc_slot *s, struct dmarc_outcome *tmp, size_t *idx)
{
	static const enum dmarc_result order[] = { DMARC_R_FAIL,
		DMARC_R_TEMPERROR, DMARC_R_PERMERROR, DMARC_R_NONE };
	const char *why = s->err[0] != '\0' ? s->err : from_problem(s->from);
	const struct dmarc_outcome *d = NULL;
	char reason[sizeof(tmp->reason)];
	size_t j, k;

	*idx = SIZE_MAX;
	if (s->ndoms == 0) {
		memset(tmp, 0, sizeof(*tmp));
		tmp->result = s->from == DMARC_FROM_NOMEM ? DMARC_R_TEMPERROR
		    : s->unread                           ? DMARC_R_PERMERROR
		                                          : DMARC_R_FAIL;
		snprintf(tmp->reason, sizeof(tmp->reason), "%s",
		    why != NULL ? why : "not evaluated");
		return tmp;
	}
	for (j = 0; d == NULL && j < sizeof(order) / sizeof(order[0]); j++)
		for (k = 0; k < s->ndoms; k++)
			if (s->outs[k].result == order[j] &&
			    (d == NULL ||
			        s->outs[k].disposition > d->disposition)) {
				d = &s->outs[k];
				*idx = k;
			}
	if (d == NULL) {
		d = &s->outs[0];
		*idx = 0;
	}
	if (why == NULL)
		return d;
	*tmp = *d;
	snprintf(reason, sizeof(reason), "%.60s%s%.95s", why,
	    d->reason[0] != '\0' ? ": " : "", d->reason);
	memcpy(tmp->reason, reason, sizeof(reason));
	if ((s->from == DMARC_FROM_MULTIPLE_FIELDS || s->incomplete) &&
	    (tmp->result == DMARC_R_PASS || tmp->result == DMARC_R_NONE)) {
		tmp->result = DMARC_R_FAIL;
		tmp->disposition = strictest(s);
	}
	return tmp;
}

static bool
json_env(struct buf *b, const struct envelope *e)
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
json_spf(struct buf *b, const struct dmarc_slot *s)
{
	const struct spf_outcome *so;

	if (!s->spf_started)
		return buf_add_cstr(b, "{\"result\":\"none\",\"problem\":") &&
		    cli_json_str(b,
		        span_cstr(s->env.problem[0] != '\0'
		                ? s->env.problem
		                : "no client IP in the envelope")) &&
		    buf_add_byte(b, '}');
	so = spf_check_outcome(s->spf);
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
    struct buf *b, const struct outcome *oc, const struct dmarc_outcome *d)
{
	size_t k;
	bool ok = buf_add_byte(b, '[');

	for (k = 0; ok && k < oc->n; k++) {
		const struct dkim_result *r = &oc->res[k];
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
json_dmarc(struct buf *b, const struct dmarc_slot *s,
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
dmarc_tally(struct verify_opts *o, const struct dmarc_outcome *d)
{
	if (d->result == DMARC_R_TEMPERROR)
		o->any_temp = true;
	else if (d->result != DMARC_R_PASS)
		o->any_nopass = true;
}

int
cli_dmarc_emit(struct vctx *c, size_t i, const char *name, struct outcome oc)
{
	struct verify_opts *o = c->o;
	struct dmarc_slot *s = c->dm[i];
	struct arena *ar = &c->ar[i];
	const char *eol = o->json ? NULL : "\n";
	const struct dmarc_outcome *d;
	struct dmarc_outcome tmp;
	struct buf out, arf;
	struct authres_w w;
	size_t dec;
	bool ok;
	int ex = 0;

	d = slot_outcome(s, &tmp, &dec);
	buf_init_arena(&out, ar);
	buf_init_arena(&arf, ar);
	authres_begin(&w, &arf, span_cstr(o->authserv), eol);
	if (s->spf_started)
		authres_add_spf(&w, &s->sreq, spf_check_outcome(s->spf));
	authres_add_dkim(&w, oc.res, oc.n, oc.skipped, oc.error);
	/*
	 * One dmarc= per message, the one that decided: filters read the
	 * first dmarc= of a field, so a pass for an innocent second author
	 * domain must not stand beside the spoofed one's fail.
	 */
	authres_add_dmarc_authors(&w, d,
	    d->from_domain.len > 0 ? d->from_domain
	        : dec < s->ndoms   ? s->doms[dec]
	                           : s->from_domain,
	    s->outs, s->ndoms);
	ok = authres_end(&w);
	if (ok && o->json)
		ok = buf_add_byte(&out, '{') &&
		    cli_json_key(&out, "file", true) &&
		    cli_json_str(&out, span_cstr(name)) &&
		    cli_json_key(&out, "error", false) &&
		    cli_json_opt_str(
		        &out, span_cstr(oc.error != NULL ? oc.error : "")) &&
		    cli_json_key(&out, "envelope", false) &&
		    json_env(&out, &s->env) &&
		    cli_json_key(&out, "spf", false) && json_spf(&out, s) &&
		    cli_json_key(&out, "dkim", false) &&
		    json_dkim(&out, &oc, d) &&
		    cli_json_key(&out, "dmarc", false) &&
		    json_dmarc(&out, s, d, o->rfc7489) &&
		    cli_json_key(&out, "authentication_results", false) &&
		    cli_json_str(&out, buf_span(&arf)) &&
		    buf_add_cstr(&out, "}\n");
	else if (ok)
		ok =
		    (!o->tagged ||
		        (buf_add_cstr(&out, "# ") && buf_add_cstr(&out, name) &&
		            buf_add_byte(&out, '\n'))) &&
		    buf_add_span(&out, buf_span(&arf)) &&
		    buf_add_cstr(&out, "\ndisposition: ") &&
		    buf_add_cstr(&out,
		        dmarc_policy_str(d->disposition != DMARC_P_UNSPEC
		                ? d->disposition
		                : DMARC_P_NONE)) &&
		    buf_add_byte(&out, '\n');
	pthread_mutex_lock(&o->out_lock);
	o->nmsgs++;
	dmarc_tally(o, d);
	if (!ok || cli_write_all(STDOUT_FILENO, out.p, out.len) != 0) {
		cli_err("cannot write the result");
		ex = CLI_EX_IOERR;
	}
	pthread_mutex_unlock(&o->out_lock);
	return ex;
}
