/*
 * spf_eval.c - one pass of check_host() (RFC 7208 §4-§6) over the
 * answers cached so far. Every function returns an enum spf_ev; a
 * missing answer (SPF_EV_PENDING) unwinds the whole pass, which starts
 * again from the top once the answers are in.
 */
#include "spf_eval.h"

#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "spf_record.h"

/* State of one pass; counters start from zero on every pass. */
struct pass {
	struct spf_checker *c;
	const struct spf_request *rq;
	unsigned lookups;
	unsigned voids;
	struct spf_macro_vars vars; /* all but d and p */
};

/* What a check_host() call leaves for its caller. */
struct host_out {
	span mech; /* matching directive, or "default" */
	span exp;  /* exp= of the record that decided */
	bool has_exp;
	struct spf_name dom; /* that record's <domain> */
};

static enum spf_ev check_host(struct pass *ps, const struct spf_name *start,
    unsigned depth, struct host_out *ho);

static span
name_span(const struct spf_name *n)
{
	return span_make(n->b, n->len);
}

static void
name_set(struct spf_name *n, span s)
{
	n->len = s.len < sizeof(n->b) ? s.len : sizeof(n->b) - 1;
	memcpy(n->b, s.p, n->len);
	n->valid = spf_name_is_valid(span_make(n->b, n->len));
}

static bool
is_dns_error(const struct spf_ans *a)
{
	return a->rcode == DNS_TEMPFAIL || a->rcode == DNS_PERMFAIL;
}

/* §4.6.4: the 10 terms that query DNS. */
static enum spf_ev
count_lookup(struct pass *ps)
{
	if (++ps->lookups <= SPF_MAX_LOOKUPS)
		return SPF_EV_OK;
	spf_problem(ps->c, false, "too many DNS lookups (more than %d)",
	    SPF_MAX_LOOKUPS);
	return SPF_EV_PERMERROR;
}

/* §4.6.4: a lookup answering NXDOMAIN or no records. */
static enum spf_ev
void_lookup(struct pass *ps)
{
	if (++ps->voids <= SPF_MAX_VOID)
		return SPF_EV_NOMATCH;
	spf_problem(ps->c, false, "too many void DNS lookups (more than %d)",
	    SPF_MAX_VOID);
	return SPF_EV_PERMERROR;
}

static bool
ip_in(const struct spf_ip *ip, const uint8_t *net, size_t len, unsigned bits)
{
	size_t full = bits / 8;
	unsigned rest = bits % 8;
	uint8_t mask;

	if (ip->len != len)
		return false;
	if (memcmp(ip->b, net, full) != 0)
		return false;
	if (rest == 0)
		return true;
	mask = (uint8_t)(0xff << (8 - rest));
	return (ip->b[full] & mask) == (net[full] & mask);
}

/* s is d or a subdomain of d, ASCII case-insensitively. */
static bool
is_within(span s, span d)
{
	span tail;

	if (s.len == d.len)
		return span_ieq_ascii(s, d);
	if (s.len < d.len + 1 || s.p[s.len - d.len - 1] != '.')
		return false;
	tail = span_sub(s, s.len - d.len, d.len);
	return span_ieq_ascii(tail, d);
}

/* The in-addr.arpa or ip6.arpa name of the client (§5.5). */
static span
reverse_name(const struct spf_ip *ip, uint8_t *b, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	static const uint8_t arpa[8] = { 'i', 'p', '6', '.', 'a', 'r', 'p',
		'a' };
	size_t n = 0;
	int i, w;

	if (ip->len == 4) {
		w = snprintf((char *)b, cap, "%u.%u.%u.%u.in-addr.arpa",
		    ip->b[3], ip->b[2], ip->b[1], ip->b[0]);
		return span_make(b, w > 0 ? (size_t)w : 0);
	}
	for (i = 15; i >= 0 && n + 4 < cap; i--) {
		b[n++] = (uint8_t)hex[ip->b[i] & 15];
		b[n++] = '.';
		b[n++] = (uint8_t)hex[ip->b[i] >> 4];
		b[n++] = '.';
	}
	if (n + sizeof(arpa) <= cap) {
		memcpy(b + n, arpa, sizeof(arpa));
		n += sizeof(arpa);
	}
	return span_make(b, n);
}

static uint16_t
addr_qtype(const struct pass *ps)
{
	return ps->rq->ip.len == 4 ? DNS_T_A : DNS_T_AAAA;
}

static bool
has_ip(const struct spf_ans *a, const struct spf_ip *ip)
{
	size_t i;

	for (i = 0; a->rcode == DNS_OK && i < a->naddr; i++)
		if (a->addr[i].len == ip->len &&
		    memcmp(a->addr[i].b, ip->b, ip->len) == 0)
			return true;
	return false;
}

/*
 * %{p} (§7.3): a PTR name of <ip> whose forward lookup gives <ip> back,
 * preferring <domain> itself, then a subdomain of it, then any; errors
 * are skipped, nothing found is "unknown". Not a counted lookup.
 */
static enum spf_ev
validated_name(struct pass *ps, span domain, struct spf_name *out)
{
	uint8_t rb[80];
	const struct spf_ans *pa, *a;
	size_t i, best = 0;
	int rank, best_rank = 0;
	bool pending = false;
	enum spf_ev e;

	name_set(out, SPAN_LIT("unknown"));
	e = spf_lookup(
	    ps->c, DNS_T_PTR, reverse_name(&ps->rq->ip, rb, sizeof(rb)), &pa);
	if (e != SPF_EV_OK)
		return e;
	for (i = 0; pa->rcode == DNS_OK && i < pa->nname && i < SPF_MAX_PTR;
	     i++) {
		if (!spf_name_is_valid(pa->name[i]))
			continue;
		e = spf_lookup(ps->c, addr_qtype(ps), pa->name[i], &a);
		if (e == SPF_EV_PENDING)
			pending = true;
		else if (e != SPF_EV_OK)
			return e;
		if (pending || !has_ip(a, &ps->rq->ip))
			continue;
		rank = span_ieq_ascii(pa->name[i], domain) ? 3
		    : is_within(pa->name[i], domain)       ? 2
		                                           : 1;
		if (rank > best_rank) {
			best_rank = rank;
			best = i;
		}
	}
	if (pending)
		return SPF_EV_PENDING;
	if (best_rank > 0)
		name_set(out, pa->name[best]);
	return SPF_EV_OK;
}

/*
 * The name a domain-spec designates (§4.8): the current domain when
 * spec is empty, else its expansion (%{p} resolved first if used).
 */
static enum spf_ev
target(struct pass *ps, span spec, span domain, struct spf_name *out)
{
	struct spf_macro_vars v = ps->vars;
	struct spf_name p;
	enum spf_ev e;

	if (spec.len == 0) {
		name_set(out, domain);
		return SPF_EV_OK;
	}
	v.d = domain;
	if (spf_macro_uses_p(spec)) {
		if ((e = validated_name(ps, domain, &p)) != SPF_EV_OK)
			return e;
		v.p = name_span(&p);
	}
	if (!spf_macro_domain(spec, &v, out)) {
		spf_problem(ps->c, false, "macro expansion too large");
		return SPF_EV_PERMERROR;
	}
	return SPF_EV_OK;
}

/*
 * A mechanism's lookup of (type, name): SPF_EV_OK with records in *out;
 * otherwise the verdict: no match for a name that cannot exist,
 * temperror for a DNS failure (§5), and for no records a void lookup
 * when the query is the mechanism's own (§4.6.4), else no match.
 */
static enum spf_ev
lookup_records(struct pass *ps, uint16_t type, span name, bool own,
    const struct spf_ans **out)
{
	const struct spf_ans *a;
	enum spf_ev e;
	size_t n;

	if ((e = spf_lookup(ps->c, type, name, &a)) != SPF_EV_OK)
		return e;
	*out = a;
	if (a->refused == DNSQ_BADNAME)
		return SPF_EV_NOMATCH;
	if (is_dns_error(a)) {
		spf_problem(ps->c, false, "DNS failure looking up %s %.*s",
		    dns_qtype_str(type), (int)(name.len > 100 ? 100 : name.len),
		    (const char *)name.p);
		return SPF_EV_TEMPERROR;
	}
	n = type == DNS_T_MX || type == DNS_T_PTR ? a->nname
	    : type == DNS_T_TXT                   ? a->ntxt
	                                          : a->naddr;
	if (a->rcode != DNS_OK || n == 0)
		return own ? void_lookup(ps) : SPF_EV_NOMATCH;
	return SPF_EV_OK;
}

/* The a mechanism's test on one name (also each MX exchange). */
static enum spf_ev
match_addrs(struct pass *ps, span name, const struct spf_term *t, bool own)
{
	const struct spf_ans *a;
	unsigned bits = ps->rq->ip.len == 4 ? t->cidr4 : t->cidr6;
	enum spf_ev e;
	size_t i;

	if ((e = lookup_records(ps, addr_qtype(ps), name, own, &a)) !=
	    SPF_EV_OK)
		return e;
	for (i = 0; i < a->naddr; i++)
		if (ip_in(&ps->rq->ip, a->addr[i].b, a->addr[i].len, bits))
			return SPF_EV_MATCH;
	return SPF_EV_NOMATCH;
}

/* §5.3 a, §5.7 exists: count, expand, look up. */
static enum spf_ev
mech_a(struct pass *ps, const struct spf_term *t, span domain)
{
	struct spf_name n;
	const struct spf_ans *a;
	enum spf_ev e;

	if ((e = count_lookup(ps)) != SPF_EV_OK ||
	    (e = target(ps, t->domain, domain, &n)) != SPF_EV_OK)
		return e;
	if (!n.valid) /* §4.8: not a name DNS can hold: no match */
		return SPF_EV_NOMATCH;
	if (t->kind == SPF_K_A)
		return match_addrs(ps, name_span(&n), t, true);
	/* exists: an A query whatever the client's family (§5.7). */
	e = lookup_records(ps, DNS_T_A, name_span(&n), true, &a);
	return e == SPF_EV_OK ? SPF_EV_MATCH : e;
}

/* §5.4 mx: the exchanges' addresses, at most 10 exchanges (§4.6.4). */
static enum spf_ev
mech_mx(struct pass *ps, const struct spf_term *t, span domain)
{
	struct spf_name n;
	const struct spf_ans *mx;
	bool pending = false;
	enum spf_ev e;
	size_t i;

	if ((e = count_lookup(ps)) != SPF_EV_OK ||
	    (e = target(ps, t->domain, domain, &n)) != SPF_EV_OK)
		return e;
	if (!n.valid)
		return SPF_EV_NOMATCH;
	if ((e = lookup_records(ps, DNS_T_MX, name_span(&n), true, &mx)) !=
	    SPF_EV_OK)
		return e;
	if (mx->nname > SPF_MAX_MX) {
		spf_problem(ps->c, false, "%.*s has more than %d MX records",
		    (int)n.len, (const char *)n.b, SPF_MAX_MX);
		return SPF_EV_PERMERROR;
	}
	/* Ask for every exchange at once; judge them in order. */
	for (i = 0; i < mx->nname; i++) {
		if (!spf_name_is_valid(mx->name[i])) /* null MX "." too */
			continue;
		e = match_addrs(ps, mx->name[i], t, false);
		if (e == SPF_EV_PENDING)
			pending = true;
		else if (e == SPF_EV_NOMEM || e == SPF_EV_PERMERROR)
			return e;
		else if (!pending && e != SPF_EV_NOMATCH)
			return e; /* match, or temperror (§5) */
	}
	return pending ? SPF_EV_PENDING : SPF_EV_NOMATCH;
}

/*
 * §5.5 ptr: validated PTR names (first 10) equal to or under the target.
 * A failed PTR lookup does not match; a failed forward lookup skips
 * that name.
 */
static enum spf_ev
mech_ptr(struct pass *ps, const struct spf_term *t, span domain)
{
	struct spf_name n;
	uint8_t rb[80];
	const struct spf_ans *pa, *a;
	bool pending = false;
	enum spf_ev e;
	size_t i;

	if ((e = count_lookup(ps)) != SPF_EV_OK ||
	    (e = target(ps, t->domain, domain, &n)) != SPF_EV_OK)
		return e;
	e = spf_lookup(
	    ps->c, DNS_T_PTR, reverse_name(&ps->rq->ip, rb, sizeof(rb)), &pa);
	if (e != SPF_EV_OK)
		return e;
	if (pa->rcode == DNS_NXDOMAIN || pa->rcode == DNS_NODATA ||
	    (pa->rcode == DNS_OK && pa->nname == 0))
		return void_lookup(ps);
	for (i = 0; pa->rcode == DNS_OK && i < pa->nname && i < SPF_MAX_PTR;
	     i++) {
		if (!spf_name_is_valid(pa->name[i]) ||
		    !is_within(pa->name[i], name_span(&n)))
			continue;
		/* Errors skip a name, so any validated match decides. */
		e = spf_lookup(ps->c, addr_qtype(ps), pa->name[i], &a);
		if (e == SPF_EV_PENDING)
			pending = true;
		else if (e != SPF_EV_OK)
			return e;
		else if (has_ip(a, &ps->rq->ip))
			return SPF_EV_MATCH;
	}
	return pending ? SPF_EV_PENDING : SPF_EV_NOMATCH;
}

/* §5.2 include: pass matches, fail/softfail/neutral do not. */
static enum spf_ev
mech_include(
    struct pass *ps, const struct spf_term *t, span domain, unsigned depth)
{
	struct spf_name n;
	struct host_out sub;
	enum spf_ev e;

	if ((e = count_lookup(ps)) != SPF_EV_OK ||
	    (e = target(ps, t->domain, domain, &n)) != SPF_EV_OK)
		return e;
	if (depth + 1 >= SPF_MAX_DEPTH) {
		spf_problem(ps->c, false, "include nesting too deep");
		return SPF_EV_PERMERROR;
	}
	switch ((e = check_host(ps, &n, depth + 1, &sub))) {
	case SPF_EV_PASS:
		return SPF_EV_MATCH;
	case SPF_EV_FAIL:
	case SPF_EV_SOFTFAIL:
	case SPF_EV_NEUTRAL:
		return SPF_EV_NOMATCH;
	case SPF_EV_NONE:
		spf_problem(ps->c, true,
		    "included domain %.*s has no SPF record", (int)n.len,
		    (const char *)n.b);
		return SPF_EV_PERMERROR;
	case SPF_EV_TEMPERROR:
	case SPF_EV_PERMERROR:
	case SPF_EV_PENDING:
	case SPF_EV_NOMEM:
		return e;
	case SPF_EV_OK:
	case SPF_EV_MATCH:
	case SPF_EV_NOMATCH:
		break;
	}
	return SPF_EV_PERMERROR;
}

static enum spf_ev
eval_term(
    struct pass *ps, const struct spf_term *t, span domain, unsigned depth)
{
	switch (t->kind) {
	case SPF_K_ALL:
		return SPF_EV_MATCH;
	case SPF_K_INCLUDE:
		return mech_include(ps, t, domain, depth);
	case SPF_K_A:
	case SPF_K_EXISTS:
		return mech_a(ps, t, domain);
	case SPF_K_MX:
		return mech_mx(ps, t, domain);
	case SPF_K_PTR:
		return mech_ptr(ps, t, domain);
	case SPF_K_IP4:
	case SPF_K_IP6:
		return ip_in(&ps->rq->ip, t->net.b, t->net.len,
		           t->kind == SPF_K_IP4 ? t->cidr4 : t->cidr6)
		    ? SPF_EV_MATCH
		    : SPF_EV_NOMATCH;
	case SPF_K_REDIRECT:
	case SPF_K_EXP:
	case SPF_K_UNKNOWN:
		break;
	}
	return SPF_EV_NOMATCH;
}

/* §4.3-§4.6: the one SPF record of a domain, syntax-checked. */
static enum spf_ev
fetch_record(
    struct pass *ps, const struct spf_name *dom, struct spf_record *rec)
{
	const struct spf_ans *a;
	char why[120];
	size_t i, nspf = 0, at = 0;
	enum spf_ev e;
	span d = name_span(dom), top;

	for (i = d.len; i > 0 && d.p[i - 1] != '.'; i--)
		;
	top = span_sub(d, i, d.len - i);
	/* §4.3: malformed or single-label domain: none. */
	if (!dom->valid || i == 0 || !spf_is_toplabel(top)) {
		spf_problem(ps->c, false, "invalid domain name \"%.*s\"",
		    (int)(d.len > 80 ? 80 : d.len), (const char *)d.p);
		return SPF_EV_NONE;
	}
	if ((e = spf_lookup(ps->c, DNS_T_TXT, d, &a)) != SPF_EV_OK)
		return e;
	if (a->refused == DNSQ_BADNAME)
		return SPF_EV_NONE;
	if (a->rcode == DNS_TEMPFAIL || a->rcode == DNS_PERMFAIL) {
		spf_problem(ps->c, false, "DNS failure looking up TXT %.*s",
		    (int)d.len, (const char *)d.p);
		return SPF_EV_TEMPERROR;
	}
	for (i = 0; a->rcode == DNS_OK && i < a->ntxt; i++) {
		if (spf_record_is_spf(a->txt[i])) {
			nspf++;
			at = i;
		}
	}
	if (nspf == 0) {
		spf_problem(ps->c, false, "no SPF record at %.*s", (int)d.len,
		    (const char *)d.p);
		return SPF_EV_NONE;
	}
	if (nspf > 1) {
		spf_problem(ps->c, false, "multiple SPF records at %.*s",
		    (int)d.len, (const char *)d.p);
		return SPF_EV_PERMERROR;
	}
	if (!spf_record_parse(a->txt[at], rec, why, sizeof(why))) {
		spf_problem(ps->c, false, "%.*s: %s", (int)d.len,
		    (const char *)d.p, why);
		return SPF_EV_PERMERROR;
	}
	return SPF_EV_OK;
}

/* The record's terms in order (§4.6.2); SPF_EV_NOMATCH when none matched. */
static enum spf_ev
eval_terms(struct pass *ps, const struct spf_record *rec, span domain,
    unsigned depth, struct host_out *ho)
{
	struct spf_term t;
	size_t pos = 0;
	enum spf_ev e;

	while (spf_record_next(rec, &pos, &t)) {
		e = eval_term(ps, &t, domain, depth);
		if (e == SPF_EV_MATCH) {
			ho->mech = t.text;
			return (enum spf_ev)t.qual;
		}
		if (e != SPF_EV_NOMATCH)
			return e;
	}
	return SPF_EV_NOMATCH;
}

/* check_host(); redirect= (§6.1) loops here rather than recursing. */
static enum spf_ev
check_host(struct pass *ps, const struct spf_name *start, unsigned depth,
    struct host_out *ho)
{
	struct spf_name dom = *start, next;
	struct spf_record rec;
	bool redirected = false;
	enum spf_ev e;

	for (;;) {
		e = fetch_record(ps, &dom, &rec);
		if (e == SPF_EV_NONE && redirected) {
			spf_problem(ps->c, true,
			    "redirect target %.*s has no SPF record",
			    (int)dom.len, (const char *)dom.b);
			return SPF_EV_PERMERROR;
		}
		if (e != SPF_EV_OK)
			return e;
		ho->has_exp = rec.has_exp;
		ho->exp = rec.exp;
		ho->dom = dom;
		e = eval_terms(ps, &rec, name_span(&dom), depth, ho);
		if (e != SPF_EV_NOMATCH)
			return e;
		if (!rec.has_redirect) {
			ho->mech = SPAN_LIT("default");
			return SPF_EV_NEUTRAL;
		}
		if ((e = count_lookup(ps)) != SPF_EV_OK ||
		    (e = target(ps, rec.redirect, name_span(&dom), &next)) !=
		        SPF_EV_OK)
			return e;
		dom = next;
		redirected = true;
	}
}

/* §6.2: exp= of the deciding record; any failure means no explanation. */
static enum spf_ev
explain(struct pass *ps, const struct host_out *ho)
{
	struct spf_macro_vars v = ps->vars;
	uint8_t text[SPF_EXP_MAX];
	struct spf_name n, p;
	const struct spf_ans *a;
	size_t len, i;
	enum spf_ev e;
	uint8_t *copy = NULL;

	e = target(ps, ho->exp, name_span(&ho->dom), &n);
	if (e == SPF_EV_PENDING || e == SPF_EV_NOMEM)
		return e;
	if (e != SPF_EV_OK || !n.valid)
		return SPF_EV_OK;
	if ((e = spf_lookup(ps->c, DNS_T_TXT, name_span(&n), &a)) != SPF_EV_OK)
		return e == SPF_EV_PERMERROR ? SPF_EV_OK : e;
	if (a->rcode != DNS_OK || a->ntxt != 1)
		return SPF_EV_OK;
	for (i = 0; i < a->txt[0].len; i++)
		if (a->txt[0].p[i] >= 0x80)
			return SPF_EV_OK; /* 7-bit ASCII only (§6.2) */
	v.d = name_span(&ho->dom);
	if (spf_macro_uses_p(a->txt[0])) {
		if ((e = validated_name(ps, v.d, &p)) != SPF_EV_OK)
			return e == SPF_EV_PERMERROR ? SPF_EV_OK : e;
		v.p = name_span(&p);
	}
	if (!spf_macro_exp(a->txt[0], &v, text, sizeof(text), &len))
		return SPF_EV_OK;
	/*
	 * §6.2: US-ASCII only, after expansion too: %{l}, %{h} and the like
	 * bring in the client's bytes, which may be 8-bit or CR LF that an
	 * SMTP reply built from this text would send on.
	 */
	for (i = 0; i < len; i++)
		if (text[i] < 0x20 || text[i] >= 0x7f)
			return SPF_EV_OK;
	if (len > 0 && (copy = arena_dup(ps->c->ar, text, len)) == NULL)
		return SPF_EV_NOMEM;
	ps->c->out.explanation = span_make(len > 0 ? copy : NULL, len);
	return SPF_EV_OK;
}

enum spf_ev
spf_eval_run(struct spf_checker *c)
{
	struct pass ps;
	struct host_out ho;
	enum spf_ev e;

	memset(&ps, 0, sizeof(ps));
	memset(&ho, 0, sizeof(ho));
	ps.c = c;
	ps.rq = &c->rq;
	ps.vars.s = c->sender;
	ps.vars.l = c->local;
	ps.vars.o = c->sdomain;
	ps.vars.h = c->rq.helo;
	ps.vars.r = c->rq.receiver;
	ps.vars.ip = &c->rq.ip;
	ps.vars.t = c->rq.now;
	c->out.problem[0] = '\0';
	c->out.explanation = span_make(NULL, 0);
	e = check_host(&ps, &c->domain, 0, &ho);
	c->out.lookups = ps.lookups;
	c->out.void_lookups = ps.voids;
	if (e == SPF_EV_PENDING || e == SPF_EV_NOMEM)
		return e;
	c->out.mechanism = e <= SPF_EV_SOFTFAIL && e != SPF_EV_NONE
	    ? ho.mech
	    : span_make(NULL, 0);
	if (e == SPF_EV_FAIL && ho.has_exp) {
		enum spf_ev x = explain(&ps, &ho);

		if (x == SPF_EV_PENDING || x == SPF_EV_NOMEM)
			return x;
	}
	if (e != SPF_EV_NONE && e != SPF_EV_TEMPERROR && e != SPF_EV_PERMERROR)
		c->out.problem[0] = '\0';
	return e;
}
