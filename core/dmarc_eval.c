/*
 * DMARC evaluation: policy discovery (RFC 9989 §4.10.1; RFC 7489
 * §6.6.3), identifier alignment (RFC 9989 §4.4, §4.10.2), the result
 * (§5.3.5, §5.3.6) and the policy to apply (§4.7 p/sp/np/t; RFC 7489
 * §6.3 pct).
 *
 * Resumable DNS by replay: run() evaluates the whole message from the
 * top, asking every question through lookup(), which answers from the
 * message's DNS cache (core/dnsq.h) or sends the query and reports
 * "blocked". Each answer is kept there (in the arena) and the evaluation
 * replays when the dnsq wakes it; an answer delivered before txt()
 * returns is simply found in the cache. A replay issues every query it
 * can before giving up, so the alignment walks of different identifiers
 * run in parallel; policy discovery is sequential by nature.
 *
 * Decisions (section numbers of RFC 9989):
 *  - Policy record (§4.10.1, B.4.2): the author domain's own record (p=);
 *    else the record at the author domain's Organizational Domain, else
 *    the record of the Public Suffix Domain (psd=y) the walk stopped at
 *    (sp= / np=). A record at an intermediate name that is neither is
 *    not a policy for the author domain (the sp= text of §4.7 says so).
 *  - Several DMARC records at one name are all discarded (§4.10 steps 2
 *    and 6) and the walk goes on; in RFC 7489 mode they end discovery
 *    (RFC 7489 §6.6.3 step 5).
 *  - A record that is DMARC but whose policy is invalid with no valid
 *    rua= (§4.10.1: no DMARC processing) gives dmarc=permerror, the
 *    registry's "syntactically incorrect DMARC Policy Record" (§9.2),
 *    and disposition none. It still counts in the tree walk.
 *  - Existence (§3.2.13, A.4) is asked only when np= would change the
 *    policy: an NXDOMAIN for a TXT query at the author domain itself
 *    means it does not exist; NOERROR (with or without data) means it
 *    does. An answer other than NXDOMAIN for _dmarc.<author> already
 *    proves existence (RFC 8020) and saves the query.
 *  - DNS errors (§5.3.6): a temporary failure that leaves the policy
 *    unknown gives temperror (a permanent one, permerror). Once a policy
 *    record is known, an aligned pass needs no further answers, so a
 *    failed walk for another identifier (or the existence test) turns the
 *    result into temperror only when nothing aligned.
 *  - SPF aligns only for the MAIL FROM identity (§4.4.2); a HELO result
 *    never does. Only pass results align (B.1).
 *  - t=y lowers the applied policy one step, reject to quarantine,
 *    quarantine to none (§4.7 t); RFC 7489 pct= does the same for a
 *    message not sampled (pct_roll >= pct, RFC 7489 §6.3 pct).
 */
#include "dmarc.h"

#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "dns.h"
#include "dnsq.h"
#include "env.h"

enum st {
	ST_OK = 0,
	ST_BLOCKED, /* an answer is outstanding */
	ST_TEMP,    /* temporary DNS failure (or memory) */
	ST_PERM,    /* permanent DNS failure */
	ST_LIMIT,   /* DMARC_MAX_QUERIES reached */
};

/* One question of this evaluation and what its answer holds. */
struct dq {
	span dom;
	span name; /* _dmarc.dom, or dom itself */ /* the domain asked about,
	                                              normalised */
	bool exist; /* TXT at dom itself (existence), not at _dmarc.dom */
	bool done;
	enum dns_rcode rc;
	size_t ndmarc; /* answers starting with v=DMARC1 */
	dmarc_rec_res rres;
	struct dmarc_record rec; /* when ndmarc == 1; spans in the arena */
	char why[96];
};

struct walk {
	struct dmarc_walk_hit hits[DMARC_WALK_MAX];
	const struct dq *hq[DMARC_WALK_MAX];
	size_t nhits;
	span org;
};

struct policy {
	const struct dq *q; /* NULL: no record applies */
	span domain;
	bool at_author;
	bool discarded; /* some name held several records */
};

/* Worker lifetime; the rest is reset by each dmarc_eval_start. */
struct dmarc_evaluator {
	const struct core_env *env;
	struct arena *ar;
	struct dnsq *dq; /* the message's DNS */
	struct dnsq_client cl;
	struct dmarc_request req;
	span from;      /* normalised author domain */
	span spf_dom;   /* normalised; empty when unusable */
	span *dkim_dom; /* normalised d= per signature */
	struct dq *q[DMARC_MAX_QUERIES];
	size_t nq;
	span walked[DMARC_MAX_WALKS]; /* identifiers walked, this replay */
	size_t nwalked;
	bool running, again, finished, nomem;
	struct dmarc_outcome out;
};

static void drive(struct dmarc_evaluator *e);

dmarc_res
dmarc_evaluator_new(const struct core_env *env, struct dmarc_evaluator **out)
{
	struct dmarc_evaluator *e;

	if (env == NULL || env->alloc == NULL)
		return DMARC_E_ARG;
	if ((e = env->alloc->alloc(env->alloc->ctx, sizeof(*e))) == NULL)
		return DMARC_E_NOMEM;
	memset(e, 0, sizeof(*e));
	e->env = env;
	e->finished = true;
	*out = e;
	return DMARC_OK;
}

void
dmarc_evaluator_free(struct dmarc_evaluator *e)
{
	if (e == NULL)
		return;
	e->env->alloc->free(e->env->alloc->ctx, e);
}

bool
dmarc_eval_is_done(const struct dmarc_evaluator *e)
{
	return e->finished && e->cl.waiting == 0;
}

const struct dmarc_outcome *
dmarc_eval_outcome(const struct dmarc_evaluator *e)
{
	return &e->out;
}

/* Count the DMARC records of an answer; parse a single one. */
static void
take_records(
    struct dmarc_evaluator *e, struct dq *q, const struct dnsq_ans *ans)
{
	struct dmarc_record tmp;
	size_t i, first = 0;

	for (i = 0; i < ans->ntxt; i++) {
		if (dmarc_record_parse(ans->txt[i], e->req.mode, &tmp, NULL,
		        0) == DMARC_REC_NOT_DMARC)
			continue;
		if (q->ndmarc++ == 0)
			first = i;
	}
	if (q->ndmarc != 1)
		return;
	/* The cached answer lives in the arena as long as the outcome. */
	q->rres = dmarc_record_parse(
	    ans->txt[first], e->req.mode, &q->rec, q->why, sizeof(q->why));
}

/* The answer to q is in: what this evaluation keeps of it. */
static void
take_answer(struct dmarc_evaluator *e, struct dq *q, const struct dnsq_ans *ans)
{
	q->done = true;
	q->rc = ans->rcode;
	if (ans->nomem)
		e->nomem = true;
	if (ans->rcode == DNS_OK && !q->exist)
		take_records(e, q, ans);
}

static void
on_wake(void *arg)
{
	drive(arg);
}

/* "_dmarc." dom, or dom itself for the existence test, in the arena. */
static bool
qname(struct dmarc_evaluator *e, span dom, bool exist, span *out)
{
	struct buf b;

	buf_init_arena(&b, e->ar);
	if ((!exist && !buf_add_cstr(&b, "_dmarc.")) || !buf_add_span(&b, dom))
		return false;
	*out = buf_span(&b);
	return true;
}

static enum st
rc_status(const struct dq *q)
{
	if (q->rc == DNS_TEMPFAIL)
		return ST_TEMP;
	if (q->rc == DNS_PERMFAIL)
		return ST_PERM;
	return ST_OK;
}

/* Ask the dnsq about q (again): ST_OK once answered, or ST_BLOCKED. */
static enum st
poll_answer(struct dmarc_evaluator *e, struct dq *q)
{
	const struct dnsq_ans *ans;

	switch (dnsq_lookup(e->dq, &e->cl, DNS_T_TXT, q->name, &ans)) {
	case DNSQ_OK:
		take_answer(e, q, ans);
		return ST_OK;
	case DNSQ_PENDING:
		return ST_BLOCKED;
	case DNSQ_LIMIT: /* no limit is set: cannot happen */
	case DNSQ_NOMEM:
		break;
	}
	e->nomem = true;
	return ST_TEMP;
}

/* A new question for (dom, exist); the entry is e->q[e->nq - 1]. */
static enum st
ask(struct dmarc_evaluator *e, span dom, bool exist, const struct dq **out)
{
	struct dq *q;

	if (e->nq == DMARC_MAX_QUERIES)
		return ST_LIMIT;
	if ((q = arena_alloc(e->ar, sizeof(*q))) == NULL) {
		e->nomem = true;
		return ST_TEMP;
	}
	memset(q, 0, sizeof(*q));
	if (!qname(e, dom, exist, &q->name)) {
		e->nomem = true;
		return ST_TEMP;
	}
	q->dom = dom;
	q->exist = exist;
	e->q[e->nq++] = q;
	e->out.queries++;
	*out = q;
	return poll_answer(e, q);
}

/* The cached answer for (dom, exist), asking when there is none yet. */
static enum st
lookup(struct dmarc_evaluator *e, span dom, bool exist, const struct dq **out)
{
	size_t i;

	for (i = 0; i < e->nq; i++) {
		struct dq *q = e->q[i];

		if (q->exist == exist && span_eq(q->dom, dom)) {
			*out = q;
			return q->done ? ST_OK : poll_answer(e, q);
		}
	}
	return ask(e, dom, exist, out);
}

/* _dmarc.dom: its status, and whether one DMARC record is there. */
static enum st
lookup_dmarc(struct dmarc_evaluator *e, span dom, const struct dq **out)
{
	enum st s;

	if ((s = lookup(e, dom, false, out)) != ST_OK)
		return s;
	return rc_status(*out);
}

/* §4.10: walk from d, stopping at the first psd=y or psd=n. */
static enum st
walk(struct dmarc_evaluator *e, span d, struct walk *w)
{
	span t[DMARC_WALK_MAX];
	size_t n = dmarc_walk_targets(d, t), i;

	w->nhits = 0;
	for (i = 0; i < n; i++) {
		const struct dq *q;
		enum st s;

		if ((s = lookup_dmarc(e, t[i], &q)) != ST_OK)
			return s;
		if (q->ndmarc != 1)
			continue; /* none, or several: all discarded */
		w->hits[w->nhits].name = t[i];
		w->hits[w->nhits].psd = q->rec.psd;
		w->hq[w->nhits++] = q;
		if (q->rec.psd != DMARC_PSD_U)
			break;
	}
	w->org = dmarc_walk_org(d, w->hits, w->nhits);
	return ST_OK;
}

static bool
some_discarded(const struct dmarc_evaluator *e)
{
	size_t i;

	for (i = 0; i < e->nq; i++)
		if (e->q[i]->done && !e->q[i]->exist && e->q[i]->ndmarc > 1)
			return true;
	return false;
}

/* §4.10.1: author domain, else Organizational Domain, else PSD. */
static enum st
policy_9989(struct dmarc_evaluator *e, struct policy *pol)
{
	const struct dq *q;
	struct walk w;
	size_t i;
	enum st s;

	if ((s = lookup_dmarc(e, e->from, &q)) != ST_OK)
		return s;
	if (q->ndmarc == 1) {
		pol->q = q;
		pol->domain = e->from;
		pol->at_author = true;
		return ST_OK;
	}
	if ((s = walk(e, e->from, &w)) != ST_OK)
		return s;
	e->out.org_domain = w.org;
	for (i = 0; i < w.nhits; i++) {
		if (span_eq(w.hits[i].name, w.org)) {
			pol->q = w.hq[i];
			pol->domain = w.org;
			return ST_OK;
		}
	}
	if (w.nhits > 0 && w.hits[w.nhits - 1].psd == DMARC_PSD_Y) {
		pol->q = w.hq[w.nhits - 1];
		pol->domain = w.hits[w.nhits - 1].name;
	}
	return ST_OK;
}

/* RFC 7489 §6.6.3: the author domain, then its PSL Organizational Domain. */
static enum st
policy_7489(struct dmarc_evaluator *e, struct policy *pol)
{
	const struct dq *q;
	span org = dmarc_psl_org(e->req.psl, e->from);
	enum st s;

	e->out.org_domain = org;
	if ((s = lookup_dmarc(e, e->from, &q)) != ST_OK)
		return s;
	if (q->ndmarc == 1) {
		pol->q = q;
		pol->domain = e->from;
		pol->at_author = true;
		return ST_OK;
	}
	if (q->ndmarc > 1 || span_eq(org, e->from))
		return ST_OK; /* step 5: several records end discovery */
	if ((s = lookup_dmarc(e, org, &q)) != ST_OK)
		return s;
	if (q->ndmarc == 1) {
		pol->q = q;
		pol->domain = org;
	}
	return ST_OK;
}

/* The Organizational Domain of d: tree walk, or the PSL. */
static enum st
org_of(struct dmarc_evaluator *e, span d, span *org)
{
	struct walk w;
	enum st s;

	if (e->req.mode == DMARC_RFC7489) {
		*org = dmarc_psl_org(e->req.psl, d);
		return ST_OK;
	}
	if ((s = walk(e, d, &w)) == ST_OK)
		*org = w.org;
	return s;
}

/*
 * A tree walk for identifier id fits the budget: the first
 * DMARC_MAX_WALKS distinct identifiers in request order (SPF, then DKIM)
 * get one. Counted afresh by each replay, so the choice does not depend
 * on the order answers arrive in.
 */
static bool
walk_budget(struct dmarc_evaluator *e, span id)
{
	size_t i;

	if (e->req.mode == DMARC_RFC7489)
		return true;
	for (i = 0; i < e->nwalked; i++)
		if (span_eq(e->walked[i], id))
			return true;
	if (e->nwalked == DMARC_MAX_WALKS)
		return false;
	e->walked[e->nwalked++] = id;
	return true;
}

/*
 * §4.4, §4.10.2: an identical name aligns in either mode, with no walk;
 * strict needs identity; relaxed needs the same Organizational Domain.
 * ST_OK with *yes set, or why it cannot be told yet.
 */
static enum st
aligned(
    struct dmarc_evaluator *e, span id, enum dmarc_alignment mode, bool *yes)
{
	span oa, ob;
	enum st a, b;

	*yes = false;
	if (id.len == 0)
		return ST_OK;
	if (span_eq(id, e->from)) {
		*yes = true;
		return ST_OK;
	}
	if (mode == DMARC_A_STRICT)
		return ST_OK;
	if ((a = org_of(e, e->from, &oa)) == ST_OK)
		e->out.org_domain = oa;
	if (!walk_budget(e, id))
		return a == ST_BLOCKED ? ST_BLOCKED : ST_LIMIT;
	b = org_of(e, id, &ob); /* asked now too, in parallel */
	if (a == ST_BLOCKED || b == ST_BLOCKED)
		return ST_BLOCKED;
	if (a != ST_OK)
		return a;
	if (b != ST_OK)
		return b;
	*yes = span_eq(oa, ob);
	return ST_OK;
}

/* What the identifiers made of it so far. */
struct tally {
	bool pass, blocked, temp, perm, limit;
};

static void
count(struct tally *t, enum st s, bool yes)
{
	switch (s) {
	case ST_OK:
		t->pass = t->pass || yes;
		break;
	case ST_BLOCKED:
		t->blocked = true;
		break;
	case ST_TEMP:
		t->temp = true;
		break;
	case ST_PERM:
		t->perm = true;
		break;
	case ST_LIMIT:
		t->limit = true; /* counted as not aligned */
		break;
	}
}

static void
align_all(
    struct dmarc_evaluator *e, const struct dmarc_record *rec, struct tally *t)
{
	const struct dmarc_spf_in *spf = &e->req.spf;
	size_t i;
	bool yes;
	enum st s;

	e->out.spf_aligned = false;
	e->out.dkim_aligned = false;
	if (spf->scope == DMARC_SPF_MFROM && spf->result == DMARC_AUTH_PASS) {
		s = aligned(e, e->spf_dom, rec->aspf, &yes);
		count(t, s, yes);
		e->out.spf_aligned = s == ST_OK && yes;
	}
	for (i = 0; i < e->out.ndkim; i++) {
		struct dmarc_dkim_eval *d = &e->out.dkim[i];

		d->aligned = false;
		if (d->result != DMARC_AUTH_PASS)
			continue;
		s = aligned(e, e->dkim_dom[i], rec->adkim, &yes);
		count(t, s, yes);
		d->aligned = s == ST_OK && yes;
		e->out.dkim_aligned = e->out.dkim_aligned || d->aligned;
	}
}

/* §3.2.13, A.4: does the author domain exist? */
static enum st
author_exists(struct dmarc_evaluator *e, bool *exists)
{
	const struct dq *q;
	enum st s;

	*exists = true;
	if (lookup(e, e->from, false, &q) == ST_OK &&
	    (q->rc == DNS_OK || q->rc == DNS_NODATA))
		return ST_OK;
	if ((s = lookup(e, e->from, true, &q)) != ST_OK)
		return s == ST_LIMIT ? ST_TEMP : s;
	if ((s = rc_status(q)) != ST_OK)
		return s;
	*exists = q->rc != DNS_NXDOMAIN;
	return ST_OK;
}

static enum dmarc_policy
lower_policy(enum dmarc_policy p)
{
	switch (p) {
	case DMARC_P_REJECT:
		return DMARC_P_QUARANTINE;
	case DMARC_P_QUARANTINE:
		return DMARC_P_NONE;
	case DMARC_P_UNSPEC:
	case DMARC_P_NONE:
		break;
	}
	return p;
}

static void
finish(struct dmarc_evaluator *e, enum dmarc_result r, const char *reason)
{
	e->out.result = r;
	if (r == DMARC_R_TEMPERROR && e->nomem)
		reason = "out of memory";
	snprintf(e->out.reason, sizeof(e->out.reason), "%s", reason);
	e->finished = true;
}

/*
 * §4.10.1: p= for the author domain's own record; for a subdomain np=
 * when the author domain does not exist, else sp=, else p=. ST_OK, or
 * the status of the existence test when np= would decide.
 */
static enum st
choose_policy(
    struct dmarc_evaluator *e, const struct policy *pol, enum dmarc_policy *p)
{
	const struct dmarc_record *r = &pol->q->rec;
	enum dmarc_policy sub = r->sp != DMARC_P_UNSPEC ? r->sp : r->p;
	bool exists;
	enum st s;

	*p = r->p;
	if (pol->at_author)
		return ST_OK;
	*p = sub;
	if (e->req.mode == DMARC_RFC7489 || r->np == DMARC_P_UNSPEC ||
	    r->np == sub)
		return ST_OK;
	if ((s = author_exists(e, &exists)) != ST_OK)
		return s;
	e->out.nonexistent = !exists;
	if (!exists)
		*p = r->np;
	return ST_OK;
}

/* §5.3.5, §5.3.6: the verdict once every needed answer is in. */
static void
verdict(struct dmarc_evaluator *e, const struct policy *pol,
    const struct tally *t, enum st ps)
{
	const struct dmarc_record *r = &pol->q->rec;
	unsigned roll = e->req.pct_roll > 99 ? 99 : e->req.pct_roll;

	if (t->pass) {
		finish(e, DMARC_R_PASS,
		    e->out.spf_aligned ? "SPF identifier aligned"
		                       : "DKIM identifier aligned");
		return;
	}
	if (t->temp || (ps == ST_TEMP || ps == ST_LIMIT)) {
		finish(e, DMARC_R_TEMPERROR,
		    t->temp ? "DNS failed temporarily during alignment"
		            : "could not tell whether the From domain exists");
		return;
	}
	if (t->perm || ps == ST_PERM) {
		finish(e, DMARC_R_PERMERROR,
		    "DNS failed permanently during evaluation");
		return;
	}
	e->out.disposition = e->out.policy;
	if ((e->req.mode == DMARC_RFC9989 && r->testing) ||
	    (e->req.mode == DMARC_RFC7489 && roll >= r->pct)) {
		e->out.disposition = lower_policy(e->out.policy);
		e->out.downgraded = e->out.disposition != e->out.policy;
	}
	finish(e, DMARC_R_FAIL,
	    t->limit ? "no aligned identifier (walk limit reached)"
	             : "no aligned identifier");
}

static void
judge(struct dmarc_evaluator *e, const struct policy *pol)
{
	struct tally t;
	enum st ps;

	memset(&t, 0, sizeof(t));
	align_all(e, &pol->q->rec, &t);
	ps = choose_policy(e, pol, &e->out.policy);
	if (t.blocked || ps == ST_BLOCKED)
		return;
	verdict(e, pol, &t, ps);
}

static void
policy_failed(struct dmarc_evaluator *e, enum st s)
{
	if (s == ST_PERM)
		finish(e, DMARC_R_PERMERROR,
		    "policy discovery: DNS failed permanently");
	else
		finish(e, DMARC_R_TEMPERROR,
		    s == ST_LIMIT ? "policy discovery: query limit reached"
		                  : "policy discovery: DNS failed temporarily");
}

static void
run(struct dmarc_evaluator *e)
{
	struct policy pol;
	enum st s;

	memset(&pol, 0, sizeof(pol));
	e->nwalked = 0;
	s = e->req.mode == DMARC_RFC7489 ? policy_7489(e, &pol)
	                                 : policy_9989(e, &pol);
	if (s == ST_BLOCKED)
		return;
	if (s != ST_OK) {
		policy_failed(e, s);
		return;
	}
	if (pol.q == NULL) {
		finish(e, DMARC_R_NONE,
		    some_discarded(e) ? "no DMARC policy record (several "
		                        "records at one name are discarded)"
		                      : "no DMARC policy record");
		return;
	}
	e->out.have_record = true;
	e->out.rec = pol.q->rec;
	e->out.record_domain = pol.domain;
	if (pol.q->rres == DMARC_REC_INVALID) {
		finish(e, DMARC_R_PERMERROR, pol.q->why);
		return;
	}
	judge(e, &pol);
}

static void
drive(struct dmarc_evaluator *e)
{
	if (e->running) {
		e->again = true;
		return;
	}
	e->running = true;
	do {
		e->again = false;
		if (!e->finished)
			run(e);
	} while (e->again);
	e->running = false;
}

/* Normalise the request's names; false only when the arena is spent. */
static bool
prepare(struct dmarc_evaluator *e, const struct dmarc_request *req)
{
	size_t i, n = req->ndkim;
	bool nomem;

	e->out.dkim =
	    arena_alloc(e->ar, (n > 0 ? n : 1) * sizeof(*e->out.dkim));
	e->dkim_dom = arena_alloc(e->ar, (n > 0 ? n : 1) * sizeof(span));
	if (e->out.dkim == NULL || e->dkim_dom == NULL)
		return false;
	memset(e->out.dkim, 0, (n > 0 ? n : 1) * sizeof(*e->out.dkim));
	e->out.ndkim = n;
	for (i = 0; i < n; i++) {
		e->out.dkim[i].domain = req->dkim[i].domain;
		e->out.dkim[i].selector = req->dkim[i].selector;
		e->out.dkim[i].result = req->dkim[i].result;
		e->dkim_dom[i] = span_make(NULL, 0);
		if (!dmarc_domain_norm(
		        req->dkim[i].domain, e->ar, &e->dkim_dom[i], &nomem) &&
		    nomem)
			return false;
	}
	e->spf_dom = span_make(NULL, 0);
	if (!dmarc_domain_norm(req->spf.domain, e->ar, &e->spf_dom, &nomem) &&
	    nomem)
		return false;
	return true;
}

static bool
request_ok(const struct dmarc_evaluator *e, const struct dmarc_request *req)
{
	return req->from_domain.len > 0 &&
	    (req->mode == DMARC_RFC9989 ||
	        (req->mode == DMARC_RFC7489 && req->psl != NULL)) &&
	    (req->ndkim == 0 || req->dkim != NULL) && e->cl.waiting == 0 &&
	    !e->running;
}

dmarc_res
dmarc_eval_start(struct dmarc_evaluator *e, const struct dmarc_request *req,
    struct arena *ar)
{
	struct dnsq *q;

	if (!request_ok(e, req))
		return DMARC_E_ARG;
	if ((q = dnsq_new(e->env->dns, ar)) == NULL) {
		memset(&e->out, 0, sizeof(e->out));
		e->nomem = true;
		finish(e, DMARC_R_TEMPERROR, "out of memory");
		return DMARC_E_NOMEM;
	}
	return dmarc_eval_start_q(e, req, q);
}

dmarc_res
dmarc_eval_start_q(
    struct dmarc_evaluator *e, const struct dmarc_request *req, struct dnsq *dq)
{
	struct arena *ar = dnsq_arena(dq);
	bool nomem = false;

	if (!request_ok(e, req))
		return DMARC_E_ARG;
	e->ar = ar;
	e->dq = dq;
	dnsq_client_init(&e->cl, on_wake, e, 0);
	e->req = *req;
	e->nq = 0;
	e->again = false;
	e->finished = false;
	e->nomem = false;
	memset(&e->out, 0, sizeof(e->out));
	e->out.spf = req->spf;
	if (!dmarc_domain_norm(req->from_domain, ar, &e->from, &nomem)) {
		if (nomem) {
			e->nomem = true;
			finish(e, DMARC_R_TEMPERROR, "out of memory");
			return DMARC_E_NOMEM;
		}
		finish(e, DMARC_R_PERMERROR,
		    "From domain is not a domain name (empty label, white "
		    "space or control bytes)");
		return DMARC_OK;
	}
	e->out.from_domain = e->from;
	if (!prepare(e, req)) {
		e->nomem = true;
		finish(e, DMARC_R_TEMPERROR, "out of memory");
		return DMARC_E_NOMEM;
	}
	drive(e);
	if (!dmarc_eval_is_done(e))
		return DMARC_PENDING;
	/* Memory that ran out on a path the verdict did not need is moot. */
	return e->nomem && e->out.result == DMARC_R_TEMPERROR ? DMARC_E_NOMEM
	                                                      : DMARC_OK;
}
