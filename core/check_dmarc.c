/*
 * check_dmarc.c - the DMARC audit. The policy that applies, and where
 * it came from, is what core/dmarc_eval finds for a message from the
 * domain (RFC 9989 §4.10.1: the domain's own record, else its
 * Organizational Domain's, else a PSD's); its queries pass through a
 * wrapper that counts them with the audit's own. The records at
 * _dmarc.DOMAIN are read again only to see whether there are several
 * (the evaluator discards them silently, §4.10).
 *
 * rua/ruf destinations: a mailto: host in another Organizational Domain
 * than the domain the policy record came from (each found by a §4.10
 * tree walk over dmarc_walk_targets and dmarc_walk_org; for a record
 * inherited from a public suffix that is not the audited domain's) must
 * publish <record domain>._report._dmarc.<host>
 * with v=DMARC1 (RFC 9990 §3, RFC 9991 §2), else receivers send it no
 * reports.
 */
#include "check.h"

#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "check_int.h"

/* One query of the evaluator's, passed through to the real backend. */
struct proxied {
	struct check *c;
	dns_done_fn *done;
	void *cookie;
	bool answered;
};

static void
proxy_done(void *cookie, const struct dns_answer *ans)
{
	struct proxied *p = cookie;
	struct check *c = p->c;

	if (p->answered)
		return;
	p->answered = true;
	c->outstanding--;
	if (ans->rcode == DNS_TEMPFAIL)
		c->dns_failed = true;
	c->in_ev++;
	p->done(p->cookie, ans);
	c->in_ev--;
	check_advance(c);
}

static int
proxy_txt(void *ctx, span qname, dns_done_fn *done, void *cookie)
{
	struct check *c = ctx;
	const struct dns_ops *dns = c->env->dns;
	struct proxied *p;
	int r;

	if ((p = arena_alloc(c->ar, sizeof(*p))) == NULL) {
		c->nomem = true;
		return -12; /* -ENOMEM: the evaluator sees a temporary error */
	}
	memset(p, 0, sizeof(*p));
	p->c = c;
	p->done = done;
	p->cookie = cookie;
	c->outstanding++;
	r = dns->query != NULL
	    ? dns->query(dns->ctx, DNS_T_TXT, qname, proxy_done, p)
	    : dns->txt(dns->ctx, qname, proxy_done, p);
	if (r < 0 && !p->answered) {
		p->answered = true;
		c->outstanding--;
	}
	return r;
}

static void
walk_start(struct check *c, struct check_walk *w, span dom)
{
	span t[DMARC_WALK_MAX];
	size_t i;

	w->dom = dom;
	w->n = dmarc_walk_targets(dom, t);
	for (i = 0; i < w->n; i++)
		w->q[i] = check_ask(
		    c, DNS_T_TXT, check_name(c, "_dmarc.", t[i]), NULL, 0);
}

/* How many DMARC records an answer holds; *rec gets the first's. */
static size_t
dmarc_records(const struct check_q *q, struct dmarc_record *rec)
{
	struct dmarc_record tmp;
	size_t i, n = 0;

	if (q == NULL || q->rc != DNS_OK)
		return 0;
	for (i = 0; i < q->ntxt; i++) {
		if (dmarc_record_parse(q->txt[i], DMARC_RFC9989, &tmp, NULL,
		        0) == DMARC_REC_NOT_DMARC)
			continue;
		if (n++ == 0 && rec != NULL)
			*rec = tmp;
	}
	return n;
}

/*
 * The walk's Organizational Domain, as the evaluator's walk() finds it;
 * false while answers are out or when one failed.
 */
static bool
walk_org(const struct check_walk *w, span *org)
{
	struct dmarc_walk_hit hits[DMARC_WALK_MAX];
	span t[DMARC_WALK_MAX];
	struct dmarc_record rec;
	size_t i, nhits = 0;

	memset(&rec, 0, sizeof(rec));
	(void)dmarc_walk_targets(w->dom, t);
	for (i = 0; i < w->n; i++) {
		const struct check_q *q = w->q[i];

		if (q == NULL || !q->done || q->rc == DNS_TEMPFAIL ||
		    q->rc == DNS_PERMFAIL)
			return false;
		if (dmarc_records(q, &rec) != 1)
			continue; /* none, or several: all discarded */
		hits[nhits].name = t[i];
		hits[nhits++].psd = rec.psd;
		if (rec.psd != DMARC_PSD_U)
			break;
	}
	*org = dmarc_walk_org(w->dom, hits, nhits);
	return true;
}

static bool
walk_is_done(const struct check_walk *w)
{
	size_t i;

	for (i = 0; i < w->n; i++)
		if (w->q[i] != NULL && !w->q[i]->done)
			return false;
	return true;
}

void
check_dmarc_start(struct check *c)
{
	dmarc_res r;

	c->dmarc_own = check_ask(
	    c, DNS_T_TXT, check_name(c, "_dmarc.", c->domain), NULL, 0);
	c->ev_dns.ctx = c;
	c->ev_dns.txt = proxy_txt;
	c->ev_dns.query = NULL;
	c->ev_env = *c->env;
	c->ev_env.dns = &c->ev_dns;
	memset(&c->ev_req, 0, sizeof(c->ev_req));
	c->ev_req.from_domain = c->domain;
	c->ev_req.mode = DMARC_RFC9989;
	if (dmarc_evaluator_new(&c->ev_env, &c->ev) != DMARC_OK) {
		c->ev = NULL;
		c->nomem = true;
		return;
	}
	if ((r = dmarc_eval_start(c->ev, &c->ev_req, c->ar)) == DMARC_E_NOMEM)
		c->nomem = true;
	else if (r == DMARC_E_ARG)
		c->dns_failed = true;
}

/* Note the mailto: host of uri unless it is already listed. */
static void
add_dest(struct check *c, span uri, bool ruf)
{
	struct check_rua *r;
	span host, norm;
	bool nomem = false;
	size_t i;

	if (!dmarc_uri_mailto_domain(uri, &host) ||
	    !dmarc_domain_norm(host, c->ar, &norm, &nomem)) {
		c->nomem = c->nomem || nomem;
		return;
	}
	for (i = 0; i < c->nrua; i++)
		if (span_eq(c->rua[i].host, norm))
			return;
	if (c->nrua == CHECK_MAX_RUA)
		return;
	r = &c->rua[c->nrua++];
	memset(r, 0, sizeof(*r));
	r->uri = uri;
	r->host = norm;
	r->ruf = ruf;
	walk_start(c, &r->walk, norm);
}

static void
start_dests(struct check *c)
{
	const struct dmarc_outcome *o = dmarc_eval_outcome(c->ev);
	size_t pos;
	span uri;

	c->rua_started = true;
	if (!o->have_record || o->rec.rua.len + o->rec.ruf.len == 0)
		return;
	/* RFC 9990 section 3: relative to the domain the record came from */
	walk_start(c, &c->pol_walk, o->record_domain);
	for (pos = 0; dmarc_uri_next(o->rec.rua, &pos, &uri);)
		add_dest(c, uri, false);
	for (pos = 0; dmarc_uri_next(o->rec.ruf, &pos, &uri);)
		add_dest(c, uri, true);
}

void
check_dmarc_advance(struct check *c)
{
	const struct dmarc_outcome *o;
	span own, org;
	size_t i;

	if (c->ev == NULL || !dmarc_eval_is_done(c->ev))
		return;
	if (!c->rua_started)
		start_dests(c);
	o = dmarc_eval_outcome(c->ev);
	for (i = 0; i < c->nrua; i++) {
		struct check_rua *r = &c->rua[i];
		struct buf b;

		if (r->decided || !walk_is_done(&r->walk) ||
		    !walk_is_done(&c->pol_walk))
			continue;
		r->decided = true;
		if (!walk_org(&r->walk, &org) || !walk_org(&c->pol_walk, &own))
			continue; /* DNS failed: already noted */
		if ((r->external = !span_eq(org, own)) == false)
			continue;
		buf_init_arena(&b, c->ar);
		if (!buf_add_span(&b, o->record_domain) ||
		    !buf_add_cstr(&b, "._report._dmarc.") ||
		    !buf_add_span(&b, r->host)) {
			c->nomem = true;
			continue;
		}
		r->auth = check_ask(c, DNS_T_TXT, buf_span(&b), NULL, i);
	}
}

bool
check_dmarc_is_done(const struct check *c)
{
	size_t i;

	if (c->ev == NULL)
		return true;
	if (!dmarc_eval_is_done(c->ev) || !c->rua_started)
		return false;
	for (i = 0; i < c->nrua; i++)
		if (!c->rua[i].decided)
			return false;
	return true;
}

void
check_dmarc_fini(struct check *c)
{
	dmarc_evaluator_free(c->ev);
	c->ev = NULL;
}

/* The tags with a value not allowed, as "adkim= fo=". */
static void
bad_tags(unsigned bits, char *out, size_t len)
{
	static const struct {
		unsigned bit;
		const char *name;
	} tags[] = {
		{ DMARC_BAD_ADKIM, "adkim=" },
		{ DMARC_BAD_ASPF, "aspf=" },
		{ DMARC_BAD_PSD, "psd=" },
		{ DMARC_BAD_T, "t=" },
		{ DMARC_BAD_FO, "fo=" },
		{ DMARC_BAD_RUA, "rua=" },
		{ DMARC_BAD_RUF, "ruf=" },
		{ DMARC_BAD_DUP, "(a tag given twice)" },
	};
	size_t i, n = 0;

	out[0] = '\0';
	for (i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
		int w;

		if ((bits & tags[i].bit) == 0)
			continue;
		w = snprintf(
		    out + n, len - n, "%s%s", n > 0 ? " " : "", tags[i].name);
		if (w < 0 || (size_t)w >= len - n)
			return;
		n += (size_t)w;
	}
}

static void
judge_place(struct check *c, const struct dmarc_outcome *o)
{
	span none = span_make(NULL, 0);
	const struct dmarc_record *r = &o->rec;
	int rl = (int)o->record_domain.len;
	const char *rd = (const char *)o->record_domain.p;

	if (o->result == DMARC_R_PERMERROR)
		return; /* no usable policy: judge_record says why */
	if (dmarc_domain_eq(o->record_domain, c->domain)) {
		check_add(c, CHECK_DMARC_OK, none,
		    "p=%s published at _dmarc.%.*s", dmarc_policy_str(r->p), rl,
		    rd);
		return;
	}
	check_add(c, CHECK_DMARC_INHERITED, none,
	    "no record at _dmarc.%.*s; the policy comes from _dmarc.%.*s, "
	    "the %s found by the RFC 9989 tree walk: %s=%s applies",
	    (int)c->domain.len, (const char *)c->domain.p, rl, rd,
	    dmarc_domain_eq(o->record_domain, o->org_domain)
	        ? "organizational domain"
	        : "public suffix domain (psd=y)",
	    r->sp != DMARC_P_UNSPEC ? "sp" : "p",
	    dmarc_policy_str(r->sp != DMARC_P_UNSPEC ? r->sp : r->p));
}

static void
judge_record(struct check *c, const struct dmarc_outcome *o, bool at_author)
{
	span none = span_make(NULL, 0);
	const struct dmarc_record *r = &o->rec;
	enum dmarc_policy p =
	    at_author || r->sp == DMARC_P_UNSPEC ? r->p : r->sp;
	unsigned other = r->invalid &
	    ~(DMARC_BAD_P | DMARC_BAD_SP | DMARC_BAD_NP | DMARC_BAD_PCT);
	char tags[128];

	if (o->result == DMARC_R_PERMERROR || r->rescued)
		check_add(c, CHECK_DMARC_INVALID_POLICY, none,
		    "_dmarc.%.*s: %s; write p=none, p=quarantine or p=reject",
		    (int)o->record_domain.len, (const char *)o->record_domain.p,
		    r->rescued ? "invalid or missing policy, read as p=none "
		                 "only because rua= is valid"
		               : o->reason);
	if (other != 0) {
		bad_tags(other, tags, sizeof(tags));
		check_add(c, CHECK_DMARC_SYNTAX, none,
		    "_dmarc.%.*s: invalid %s (ignored by receivers); fix the "
		    "value",
		    (int)o->record_domain.len, (const char *)o->record_domain.p,
		    tags);
	}
	if (p == DMARC_P_NONE && r->nrua_ok == 0)
		check_add(c, CHECK_DMARC_NO_RUA, none,
		    "p=none without rua=: you will get no reports, so nothing "
		    "tells you when it is safe to move to quarantine; add "
		    "rua=mailto:ADDRESS");
	if (r->dropped != 0)
		check_add(c, CHECK_DMARC_OBSOLETE_TAG, none,
		    "%s%s%sremoved by RFC 9989 and ignored by its receivers; "
		    "drop %s (t=y replaces pct=0..99)",
		    (r->dropped & DMARC_DROPPED_PCT) != 0 ? "pct= " : "",
		    (r->dropped & DMARC_DROPPED_RI) != 0 ? "ri= " : "",
		    (r->dropped & DMARC_DROPPED_RF) != 0 ? "rf= " : "",
		    r->dropped == DMARC_DROPPED_PCT ||
		            r->dropped == DMARC_DROPPED_RI ||
		            r->dropped == DMARC_DROPPED_RF
		        ? "it"
		        : "them");
}

static void
judge_dests(struct check *c, const struct dmarc_outcome *o)
{
	span none = span_make(NULL, 0);
	size_t i;

	for (i = 0; i < c->nrua; i++) {
		const struct check_rua *r = &c->rua[i];
		int hl = (int)r->host.len, rl = (int)o->record_domain.len;
		const char *h = (const char *)r->host.p;
		const char *rd = (const char *)o->record_domain.p;

		if (!r->external || r->auth == NULL)
			continue;
		if (r->auth->rc == DNS_TEMPFAIL || r->auth->rc == DNS_PERMFAIL)
			check_add(c, CHECK_DMARC_DNS, none,
			    "lookup of %.*s._report._dmarc.%.*s failed", rl, rd,
			    hl, h);
		else if (dmarc_records(r->auth, NULL) > 0)
			check_add(c, CHECK_DMARC_RUA_AUTHORIZED, none,
			    "%s to %.*s is authorized by %.*s._report._dmarc."
			    "%.*s",
			    r->ruf ? "ruf" : "rua", hl, h, rl, rd, hl, h);
		else
			check_add(c, CHECK_DMARC_RUA_UNAUTHORIZED, none,
			    "%s destination %.*s is in another organizational "
			    "domain and %.*s._report._dmarc.%.*s has no "
			    "\"v=DMARC1\" record: receivers will not send "
			    "reports there; ask its owner to publish it",
			    r->ruf ? "ruf" : "rua", hl, h, rl, rd, hl, h);
	}
}

void
check_dmarc_judge(struct check *c)
{
	span none = span_make(NULL, 0);
	const struct dmarc_outcome *o;
	size_t nown = dmarc_records(c->dmarc_own, NULL);
	int dl = (int)c->domain.len;
	const char *d = (const char *)c->domain.p;

	if (nown > 1)
		check_add(c, CHECK_DMARC_MULTIPLE, none,
		    "%zu DMARC records at _dmarc.%.*s: receivers discard them "
		    "all (RFC 9989 section 4.10); keep one",
		    nown, dl, d);
	check_dnssec(c, CHECK_DMARC_DNSSEC, none, c->dmarc_own,
	    check_name(c, "_dmarc.", c->domain));
	if (c->ev == NULL)
		return;
	o = dmarc_eval_outcome(c->ev);
	if (!o->have_record) {
		if (o->result == DMARC_R_TEMPERROR)
			check_add(c, CHECK_DMARC_DNS, none,
			    "DMARC policy discovery for %.*s failed: %s", dl, d,
			    o->reason);
		else if (nown <= 1)
			check_add(c, CHECK_DMARC_NONE, none,
			    "no DMARC policy for %.*s or its organizational "
			    "domain: publish _dmarc.%.*s TXT \"v=DMARC1; "
			    "p=none; rua=mailto:ADDRESS\" and tighten it as "
			    "reports come in",
			    dl, d, dl, d);
		return;
	}
	judge_place(c, o);
	judge_record(c, o, dmarc_domain_eq(o->record_domain, c->domain));
	judge_dests(c, o);
}
