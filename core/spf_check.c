/*
 * spf_check.c - the SPF checker: API and driver.
 *
 * Answers come from the message's dnsq (core/dnsq.h), which keeps each
 * one for the rest of the message, so a pass that runs again from the
 * top finds it. A pass runs when spf_check_start is
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

static void run(struct spf_checker *c);

/* An answer we waited for arrived: pass again once none is missing. */
static void
on_wake(void *arg)
{
	struct spf_checker *c = arg;

	if (!c->running && !c->finished && c->cl.waiting == 0)
		run(c);
}

enum spf_ev
spf_lookup(struct spf_checker *c, uint16_t qtype, span name,
    const struct spf_ans **out)
{
	switch (dnsq_lookup(c->q, &c->cl, qtype, name, out)) {
	case DNSQ_OK:
		if ((*out)->nomem)
			c->nomem = true;
		return SPF_EV_OK;
	case DNSQ_PENDING:
		return SPF_EV_PENDING;
	case DNSQ_LIMIT:
		spf_problem(
		    c, false, "more than %d DNS queries", SPF_MAX_QUERIES);
		return SPF_EV_PERMERROR;
	case DNSQ_NOMEM:
		break;
	}
	return SPF_EV_NOMEM;
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
	while (e == SPF_EV_PENDING && c->cl.waiting == 0 &&
	    ++n < SPF_MAX_QUERIES + 2);
	c->running = false;
	if (e == SPF_EV_PENDING && c->cl.waiting > 0)
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
	struct dnsq *q;

	if (c->cl.waiting > 0)
		return SPF_E_ARG;
	if ((q = dnsq_new(c->env->dns, ar)) == NULL) {
		memset(&c->out, 0, sizeof(c->out));
		c->nomem = true;
		c->finished = true;
		c->out.result = SPF_R_TEMPERROR;
		spf_problem(c, true, "out of memory");
		return SPF_E_NOMEM;
	}
	return spf_check_start_q(c, req, q);
}

spf_res
spf_check_start_q(
    struct spf_checker *c, const struct spf_request *req, struct dnsq *q)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff,
		0xff };
	span d;

	if (c->cl.waiting > 0)
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
	c->q = q;
	dnsq_client_init(&c->cl, on_wake, c, SPF_MAX_QUERIES);
	c->ar = dnsq_arena(q);
	c->rq = *req;
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
	return c->finished && c->cl.waiting == 0;
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
