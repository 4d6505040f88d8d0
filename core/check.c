/*
 * check.c - the audit's driver: queries and their copied answers, the
 * step that starts the rua/ruf checks once the DMARC policy is known,
 * the findings list and the MX judgement.
 *
 * Every query, the DMARC evaluator's included (through a wrapper around
 * env->dns), is counted in outstanding; the audit is over when nothing
 * is outstanding and nothing is left to ask. Only then are the findings
 * made, in one fixed order.
 */
#include "check.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "check_int.h"

span
check_name(struct check *c, const char *prefix, span name)
{
	struct buf b;

	buf_init_arena(&b, c->ar);
	if (!buf_add_cstr(&b, prefix) || !buf_add_span(&b, name)) {
		c->nomem = true;
		return span_make(NULL, 0);
	}
	return buf_span(&b);
}

/* Copy what the judges need: TXT strings, MX count and null MX. */
static void
store(struct check_q *q, const struct dns_answer *ans)
{
	struct check *c = q->c;
	size_t i;

	q->rc = ans->rcode;
	q->secure = ans->secure;
	if (ans->rcode != DNS_OK)
		return;
	if (ans->ntxt > 0 &&
	    (q->txt = arena_alloc(c->ar, ans->ntxt * sizeof(span))) != NULL) {
		for (i = 0; i < ans->ntxt; i++) {
			uint8_t *p = arena_dup(c->ar, ans->txt[i].p,
			    ans->txt[i].len > 0 ? ans->txt[i].len : 1);

			if (p == NULL)
				break;
			q->txt[i] = span_make(p, ans->txt[i].len);
		}
		q->ntxt = i;
	}
	if (ans->ntxt > q->ntxt) {
		c->nomem = true;
		q->rc = DNS_TEMPFAIL;
	}
	q->naddr = ans->naddr;
	q->nname = ans->nname;
	q->null_mx = ans->nname == 1 && ans->name[0].len == 0;
}

static void
on_answer(void *cookie, const struct dns_answer *ans)
{
	struct check_q *q = cookie;
	struct check *c = q->c;
	bool running = c->running;

	if (q->done)
		return; /* a second answer to one query */
	q->done = true;
	c->outstanding--;
	store(q, ans);
	if (q->rc == DNS_TEMPFAIL)
		c->dns_failed = true;
	/*
	 * The consumer may ask again, and an answer that comes at once (a
	 * refused name) lands here nested, before the consumer has stored
	 * its query: that one must not finish the audit, or the last
	 * answer's order decides the findings. The outermost answer does.
	 */
	c->running = true;
	if (q->on != NULL)
		q->on(q);
	c->running = running;
	check_advance(c);
}

struct check_q *
check_ask(
    struct check *c, uint16_t qtype, span name, check_on_fn *on, size_t arg)
{
	const struct dns_ops *dns = c->env->dns;
	struct check_q *q;
	int r;

	if (c->nq >= CHECK_MAX_QUERIES + c->req.nsel || name.len == 0) {
		/* Not asked: the audit is incomplete, like after a failure. */
		c->dns_failed = true;
		return NULL;
	}
	if ((q = arena_alloc(c->ar, sizeof(*q))) == NULL) {
		c->nomem = true;
		return NULL;
	}
	memset(q, 0, sizeof(*q));
	q->c = c;
	q->on = on;
	q->arg = arg;
	q->qtype = qtype;
	c->nq++;
	c->outstanding++;
	if (qtype == DNS_T_TXT && dns->query == NULL)
		r = dns->txt(dns->ctx, name, on_answer, q);
	else if (dns->query != NULL)
		r = dns->query(dns->ctx, qtype, name, on_answer, q);
	else
		r = -1; /* a TXT-only backend: the lookup failed */
	if (r < 0 && !q->done) {
		struct dns_answer a;

		memset(&a, 0, sizeof(a));
		/* A name that cannot exist holds nothing (as in SPF). */
		a.rcode = r == DNS_E_BADNAME ? DNS_NXDOMAIN : DNS_TEMPFAIL;
		on_answer(q, &a);
	}
	return q;
}

void
check_add(
    struct check *c, enum check_code code, span selector, const char *fmt, ...)
{
	struct check_finding *f;
	char msg[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(msg))
		n = (int)sizeof(msg) - 1;
	if ((f = arena_alloc(c->ar, sizeof(*f))) == NULL ||
	    (f->message.p = arena_dup(c->ar, msg, (size_t)n + 1)) == NULL) {
		c->nomem = true;
		return;
	}
	f->next = NULL;
	f->code = code;
	f->selector = selector;
	f->message.len = (size_t)n;
	if (c->tail != NULL)
		c->tail->next = f;
	else
		c->head = f;
	c->tail = f;
}

void
check_dnssec(struct check *c, enum check_code code, span selector,
    const struct check_q *q, span name)
{
	if (!c->req.dnssec || q == NULL || !q->done || q->rc == DNS_TEMPFAIL ||
	    q->rc == DNS_PERMFAIL)
		return;
	check_add(c, code, selector, "%.*s: %s", (int)name.len,
	    (const char *)name.p,
	    q->secure == 1 ? "answer DNSSEC-validated"
	                   : "answer not DNSSEC-validated (unsigned zone, or "
	                     "no trust anchor for it)");
}

static void
mx_judge(struct check *c)
{
	span none = span_make(NULL, 0);
	struct check_q *q = c->mx;

	if (q == NULL)
		return;
	switch (q->rc) {
	case DNS_OK:
		if (q->null_mx)
			check_add(c, CHECK_MX_NULL, none,
			    "null MX (RFC 7505): %.*s accepts no mail",
			    (int)c->domain.len, (const char *)c->domain.p);
		else if (q->nname > 0)
			check_add(c, CHECK_MX_OK, none, "%zu MX record%s",
			    q->nname, q->nname == 1 ? "" : "s");
		else
			check_add(c, CHECK_MX_NONE, none,
			    "no MX record: bounces and replies to this domain "
			    "go to its A record or nowhere; publish an MX (or "
			    "a null MX \"0 .\" if it takes no mail)");
		break;
	case DNS_NXDOMAIN:
	case DNS_NODATA:
		check_add(c, CHECK_MX_NONE, none,
		    "no MX record: bounces and replies to this domain go to "
		    "its A record or nowhere; publish an MX (or a null MX "
		    "\"0 .\" if it takes no mail)");
		break;
	case DNS_TEMPFAIL:
	case DNS_PERMFAIL:
		check_add(c, CHECK_MX_DNS, none, "MX lookup failed (%s)",
		    dns_rcode_str(q->rc));
		break;
	}
	check_dnssec(c, CHECK_MX_DNSSEC, none, q, c->domain);
}

static void
finish(struct check *c)
{
	c->finished = true;
	if ((c->req.what & CHECK_W_SPF) != 0)
		check_spf_judge(c);
	if ((c->req.what & (CHECK_W_DKIM | CHECK_W_ADSP)) != 0)
		check_dkim_judge(c);
	if ((c->req.what & CHECK_W_DMARC) != 0)
		check_dmarc_judge(c);
	if ((c->req.what & CHECK_W_MX) != 0)
		mx_judge(c);
	check_dmarc_fini(c);
}

/*
 * After every answer: start what the answers so far make possible, and
 * finish once nothing is outstanding. Re-entered from a synchronous
 * answer, it only notes that it must run again.
 */
void
check_advance(struct check *c)
{
	if (c->running || c->in_ev > 0) {
		c->again = true;
		return;
	}
	c->running = true;
	do {
		c->again = false;
		if (!c->started || c->finished)
			break;
		if ((c->req.what & CHECK_W_DMARC) != 0)
			check_dmarc_advance(c);
		if (c->outstanding == 0 && !c->again &&
		    ((c->req.what & CHECK_W_DMARC) == 0 ||
		        check_dmarc_is_done(c)))
			finish(c);
	} while (c->again);
	c->running = false;
}

check_res
check_start(const struct core_env *env, const struct check_request *req,
    struct arena *ar, struct check **out)
{
	struct check *c;
	bool nomem = false;

	if (env == NULL || env->dns == NULL ||
	    (env->dns->txt == NULL && env->dns->query == NULL))
		return CHECK_R_ARG;
	if ((c = arena_alloc(ar, sizeof(*c))) == NULL)
		return CHECK_R_NOMEM;
	memset(c, 0, sizeof(*c));
	c->env = env;
	c->ar = ar;
	c->req = *req;
	if (!dmarc_domain_norm(req->domain, ar, &c->domain, &nomem))
		return nomem ? CHECK_R_NOMEM : CHECK_R_ARG;
	*out = c;
	c->running = true; /* answers that come at once only get stored */
	if ((req->what & CHECK_W_SPF) != 0)
		check_spf_start(c);
	if ((req->what & (CHECK_W_DKIM | CHECK_W_ADSP)) != 0)
		check_dkim_start(c);
	if ((req->what & CHECK_W_DMARC) != 0)
		check_dmarc_start(c);
	if ((req->what & CHECK_W_MX) != 0)
		c->mx = check_ask(c, DNS_T_MX, c->domain, NULL, 0);
	c->started = true;
	c->running = false;
	check_advance(c);
	if (!check_is_done(c))
		return CHECK_R_PENDING;
	return c->nomem ? CHECK_R_NOMEM : CHECK_R_OK;
}

bool
check_is_done(const struct check *c)
{
	return c->finished && c->outstanding == 0;
}

check_res
check_status(const struct check *c)
{
	if (!check_is_done(c))
		return CHECK_R_PENDING;
	return c->nomem ? CHECK_R_NOMEM : CHECK_R_OK;
}

const struct check_finding *
check_findings(const struct check *c)
{
	return c->head;
}

bool
check_dns_failed(const struct check *c)
{
	return c->dns_failed;
}

const struct check_spf_node *
check_spf_tree(
    const struct check *c, size_t *n, unsigned *lookups, unsigned *voids)
{
	*n = c->ntree;
	*lookups = c->lookups;
	*voids = c->voids;
	return c->tree;
}

void
check_fini(struct check *c)
{
	if (c != NULL)
		check_dmarc_fini(c);
}

span
check_domain(const struct check *c)
{
	return c->domain;
}

const char *
check_res_str(check_res r)
{
	switch (r) {
	case CHECK_R_OK:
		return "ok";
	case CHECK_R_PENDING:
		return "pending";
	case CHECK_R_NOMEM:
		return "out of memory";
	case CHECK_R_ARG:
		return "bad argument";
	}
	return "?";
}
