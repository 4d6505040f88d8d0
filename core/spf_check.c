/*
 * spf_check.c - the SPF checker: API, per-check answer cache, driver.
 *
 * Each query's answer is copied into the check's arena when done()
 * delivers it and kept for the rest of the check, so a pass that runs
 * again from the top finds it. A pass runs when spf_check_start is
 * called and again whenever the last outstanding answer arrives; an
 * answer delivered while a pass is running (done() called inside
 * query()) is only stored, and the pass carries on with it at once.
 */
#include "spf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "dns.h"
#include "env.h"
#include "spf_eval.h"

spf_res
spf_checker_new(const struct core_env *env, struct spf_checker **out)
{
	struct spf_checker *c;

	if (env == NULL || env->alloc == NULL)
		return SPF_E_ARG;
	if ((c = env->alloc->alloc(env->alloc->ctx, sizeof(*c))) == NULL)
		return SPF_E_NOMEM;
	memset(c, 0, sizeof(*c));
	c->env = env;
	c->finished = true;
	*out = c;
	return SPF_OK;
}

void
spf_checker_free(struct spf_checker *c)
{
	if (c == NULL)
		return;
	c->env->alloc->free(c->env->alloc->ctx, c);
}

void
spf_problem(struct spf_checker *c, bool force, const char *fmt, ...)
{
	va_list ap;

	if (!force && c->out.problem[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(c->out.problem, sizeof(c->out.problem), fmt, ap);
	va_end(ap);
}

static uint8_t
lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + ('a' - 'A')) : c;
}

static size_t
bucket_of(uint16_t qtype, span name)
{
	uint32_t h = 2166136261u ^ qtype;
	size_t i;

	for (i = 0; i < name.len; i++)
		h = (h ^ lower(name.p[i])) * 16777619u;
	return h % SPF_BUCKETS;
}

static bool
copy_spans(struct arena *ar, const span *in, size_t n, span **out)
{
	size_t i;

	*out = NULL;
	if (n == 0)
		return true;
	if ((*out = arena_alloc(ar, n * sizeof(span))) == NULL)
		return false;
	for (i = 0; i < n; i++) {
		uint8_t *p =
		    in[i].len > 0 ? arena_dup(ar, in[i].p, in[i].len) : NULL;

		if (in[i].len > 0 && p == NULL)
			return false;
		(*out)[i] = span_make(p, in[i].len);
	}
	return true;
}

static int
name_cmp(span a, span b)
{
	size_t n = a.len < b.len ? a.len : b.len;
	int c = n > 0 ? memcmp(a.p, b.p, n) : 0;

	if (c != 0)
		return c;
	return a.len < b.len ? -1 : a.len > b.len;
}

/*
 * MX exchanges by preference, then name (§5.4 gives no order; answer
 * order is arbitrary and would make a temperror on one exchange versus
 * a match on another depend on the resolver's shuffle).
 */
static void
sort_mx(span *name, uint16_t *pref, size_t n)
{
	size_t i, j;

	for (i = 1; i < n; i++) {
		span sn = name[i];
		uint16_t sp = pref[i];

		for (j = i; j > 0 &&
		     (pref[j - 1] > sp ||
		         (pref[j - 1] == sp && name_cmp(name[j - 1], sn) > 0));
		     j--) {
			name[j] = name[j - 1];
			pref[j] = pref[j - 1];
		}
		name[j] = sn;
		pref[j] = sp;
	}
}

/* Copy what core/ keeps of an answer; it dies when done() returns. */
static bool
copy_answer(struct arena *ar, struct spf_ans *to, const struct dns_answer *a)
{
	memset(to, 0, sizeof(*to));
	to->rcode = a->rcode;
	if (a->rcode != DNS_OK)
		return true;
	if (!copy_spans(ar, a->txt, a->ntxt, &to->txt))
		return false;
	to->ntxt = a->ntxt;
	if (a->naddr > 0) {
		to->addr = arena_dup(ar, a->addr, a->naddr * sizeof(*a->addr));
		if (to->addr == NULL)
			return false;
		to->naddr = a->naddr;
	}
	if (!copy_spans(ar, a->name, a->nname, &to->name))
		return false;
	if (a->nname > 0) {
		to->pref = arena_alloc(ar, a->nname * sizeof(uint16_t));
		if (to->pref == NULL)
			return false;
		if (a->pref != NULL)
			memcpy(to->pref, a->pref, a->nname * sizeof(uint16_t));
		else
			memset(to->pref, 0, a->nname * sizeof(uint16_t));
		sort_mx(to->name, to->pref, a->nname);
	}
	to->nname = a->nname;
	return true;
}

static void run(struct spf_checker *c);

static void
on_done(void *cookie, const struct dns_answer *ans)
{
	struct spf_qent *q = cookie;
	struct spf_checker *c = q->c;

	if (q->answered)
		return; /* a backend answering twice: keep the first */
	if (!copy_answer(c->ar, &q->ans, ans)) {
		c->nomem = true;
		memset(&q->ans, 0, sizeof(q->ans));
		q->ans.rcode = DNS_TEMPFAIL;
	}
	q->answered = true;
	if (c->outstanding > 0) /* always: q was outstanding */
		c->outstanding--;
	if (!c->running && !c->finished && c->outstanding == 0)
		run(c);
}

/* Send q's query; answered at once when there is nobody to ask. */
static void
issue(struct spf_checker *c, struct spf_qent *q)
{
	const struct dns_ops *ops = c->env->dns;
	int rc = -1;

	c->nqueries++;
	c->outstanding++;
	if (ops != NULL && ops->query != NULL)
		rc = ops->query(ops->ctx, q->qtype, q->qname, on_done, q);
	else if (ops != NULL && ops->txt != NULL && q->qtype == DNS_T_TXT)
		rc = ops->txt(ops->ctx, q->qname, on_done, q);
	if (rc >= 0)
		return;
	/* Refused: done() will not be called. */
	c->outstanding--;
	memset(&q->ans, 0, sizeof(q->ans));
	q->ans.rcode = DNS_TEMPFAIL;
	q->ans.invalid = rc == DNS_E_BADNAME;
	q->answered = true;
}

enum spf_ev
spf_lookup(struct spf_checker *c, uint16_t qtype, span name,
    const struct spf_ans **out)
{
	size_t b = bucket_of(qtype, name), i;
	struct spf_qent *q;
	uint8_t *n;

	for (q = c->bucket[b]; q != NULL; q = q->next) {
		if (q->qtype == qtype && span_ieq_ascii(q->qname, name)) {
			if (!q->answered)
				return SPF_EV_PENDING;
			*out = &q->ans;
			return SPF_EV_OK;
		}
	}
	if (c->nqueries >= SPF_MAX_QUERIES) {
		spf_problem(
		    c, false, "more than %d DNS queries", SPF_MAX_QUERIES);
		return SPF_EV_PERMERROR;
	}
	if ((q = arena_alloc(c->ar, sizeof(*q))) == NULL ||
	    (n = arena_alloc(c->ar, name.len + 1)) == NULL)
		return SPF_EV_NOMEM;
	for (i = 0; i < name.len; i++)
		n[i] = lower(name.p[i]);
	memset(q, 0, sizeof(*q));
	q->c = c;
	q->qtype = qtype;
	q->qname = span_make(n, name.len);
	q->next = c->bucket[b];
	c->bucket[b] = q;
	issue(c, q);
	if (!q->answered)
		return SPF_EV_PENDING;
	*out = &q->ans;
	return SPF_EV_OK;
}

static void
finish(struct spf_checker *c, enum spf_ev e)
{
	if (e == SPF_EV_NOMEM || c->nomem) {
		c->nomem = true;
		c->out.result = SPF_R_TEMPERROR;
		c->out.mechanism = span_make(NULL, 0);
		c->out.explanation = span_make(NULL, 0);
		spf_problem(c, true, "out of memory");
	} else if (e > SPF_EV_PERMERROR) { /* cannot happen: see run() */
		c->out.result = SPF_R_TEMPERROR;
		spf_problem(c, true, "internal error: evaluation stalled");
	} else {
		c->out.result = (enum spf_result)e;
	}
	c->finished = true;
}

/*
 * Passes until one ends or waits for an answer still to come: an answer
 * delivered during a pass that had already looked for it and moved on
 * (the backend may answer old queries while taking a new one) needs one
 * more pass.
 */
static void
run(struct spf_checker *c)
{
	enum spf_ev e;
	unsigned n = 0;

	c->running = true;
	do
		e = spf_eval_run(c);
	while (e == SPF_EV_PENDING && c->outstanding == 0 &&
	    ++n < SPF_MAX_QUERIES + 2);
	c->running = false;
	if (e == SPF_EV_PENDING && c->outstanding > 0)
		return;
	finish(c, e);
}

/* <sender>, its local-part and domain (§4.3, §2.4). */
static bool
set_sender(struct spf_checker *c)
{
	const struct spf_request *rq = &c->rq;
	span s = rq->sender, dom;
	const uint8_t *at = NULL;
	struct buf b;
	size_t i;

	for (i = s.len; i > 0 && at == NULL; i--)
		if (s.p[i - 1] == '@')
			at = s.p + i - 1;
	if (rq->identity == SPF_ID_HELO || s.len == 0) {
		dom = rq->helo;
	} else if (at == NULL) {
		dom = s;
	} else {
		dom = span_make(at + 1, (size_t)(s.p + s.len - at - 1));
		if (at > s.p) {
			c->sender = s;
			c->local = span_make(s.p, (size_t)(at - s.p));
			c->sdomain = dom;
			return true;
		}
	}
	/* No local-part: "postmaster" stands in (§4.3). */
	buf_init_arena(&b, c->ar);
	if (!buf_add_cstr(&b, "postmaster@") || !buf_add_span(&b, dom))
		return false;
	c->sender = buf_span(&b);
	c->local = span_sub(c->sender, 0, 10);
	c->sdomain = span_sub(c->sender, 11, dom.len);
	return true;
}

spf_res
spf_check_start(
    struct spf_checker *c, const struct spf_request *req, struct arena *ar)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff,
		0xff };
	span d;

	if (c->outstanding > 0)
		return SPF_E_ARG;
	/* Whatever happens next, no earlier check's outcome shows through. */
	memset(&c->out, 0, sizeof(c->out));
	if ((req->ip.len != 4 && req->ip.len != 16) ||
	    req->sender.len > SPF_VALUE_MAX || req->helo.len > SPF_VALUE_MAX ||
	    req->receiver.len > SPF_VALUE_MAX) {
		c->finished = true;
		c->out.result = SPF_R_NONE;
		snprintf(c->out.problem, sizeof(c->out.problem),
		    "request not checked: bad client address, or a MAIL FROM, "
		    "HELO or receiver over %d octets",
		    SPF_VALUE_MAX);
		return SPF_E_ARG;
	}
	memset(c->bucket, 0, sizeof(c->bucket));
	c->ar = ar;
	c->rq = *req;
	c->nqueries = 0;
	c->running = false;
	c->finished = false;
	c->nomem = false;
	/* A caller may fill ip by hand: ::ffff:a.b.c.d is IPv4 (§5). */
	if (c->rq.ip.len == 16 && memcmp(c->rq.ip.b, mapped, 12) == 0) {
		memmove(c->rq.ip.b, c->rq.ip.b + 12, 4);
		memset(c->rq.ip.b + 4, 0, 12);
		c->rq.ip.len = 4;
	}
	if (!set_sender(c)) {
		finish(c, SPF_EV_NOMEM);
		return SPF_E_NOMEM;
	}
	d = c->sdomain;
	if (d.len > 0 && d.p[d.len - 1] == '.')
		d.len--;
	c->out.domain = d;
	c->out.sender = c->sender;
	c->domain.len = d.len <= 253 ? d.len : 0;
	if (c->domain.len > 0)
		memcpy(c->domain.b, d.p, c->domain.len);
	c->domain.valid = spf_name_is_valid(d); /* §4.3: else none */
	run(c);
	if (!spf_check_is_done(c))
		return SPF_PENDING;
	return c->nomem ? SPF_E_NOMEM : SPF_OK;
}

bool
spf_check_is_done(const struct spf_checker *c)
{
	return c->finished && c->outstanding == 0;
}

spf_res
spf_check_status(const struct spf_checker *c)
{
	if (!spf_check_is_done(c))
		return SPF_PENDING;
	return c->nomem ? SPF_E_NOMEM : SPF_OK;
}

const struct spf_outcome *
spf_check_outcome(const struct spf_checker *c)
{
	return &c->out;
}

const char *
spf_result_str(enum spf_result r)
{
	switch (r) {
	case SPF_R_NONE:
		return "none";
	case SPF_R_NEUTRAL:
		return "neutral";
	case SPF_R_PASS:
		return "pass";
	case SPF_R_FAIL:
		return "fail";
	case SPF_R_SOFTFAIL:
		return "softfail";
	case SPF_R_TEMPERROR:
		return "temperror";
	case SPF_R_PERMERROR:
		return "permerror";
	}
	return "permerror";
}

const char *
spf_res_str(spf_res r)
{
	switch (r) {
	case SPF_OK:
		return "ok";
	case SPF_PENDING:
		return "pending";
	case SPF_E_NOMEM:
		return "out of memory";
	case SPF_E_ARG:
		return "bad argument";
	}
	return "unknown";
}
