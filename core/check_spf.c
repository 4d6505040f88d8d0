/*
 * check_spf.c - the SPF audit: the record, and the tree of every
 * include and redirect below it, read with spf_record_parse.
 *
 * RFC 7208 §4.6.4 limits an evaluation to 10 terms that query DNS
 * (include, a, mx, ptr, exists, redirect) and 2 void lookups. A check
 * for a client that matches nothing walks every term up to each
 * record's "all" (terms after it are never tested, §5.1; a redirect
 * beside "all" is ignored, §6.1), so that walk is the worst case and
 * the one counted here. Void lookups are the a, mx and exists lookups
 * and the include and redirect targets that answer NXDOMAIN or no
 * records, as an IPv4 client sees them (A for a and exists). Names
 * built with macros depend on the client and are counted but not
 * followed; ptr costs a lookup but needs the client's address.
 */
#include "check.h"

#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "check_int.h"
#include "hanko.h"
#include "spf_record.h"

enum node_state {
	NODE_OK = 0,
	NODE_NONE,   /* no SPF record */
	NODE_MULTI,  /* several (§4.5: permerror) */
	NODE_SYNTAX, /* §4.6: permerror */
	NODE_DNS,    /* temporary failure */
	NODE_LOOP,   /* not followed: an ancestor */
};

static bool
has_macro(span s)
{
	size_t i;

	for (i = 0; i < s.len; i++)
		if (s.p[i] == '%')
			return true;
	return false;
}

/* A domain-spec without its trailing dot (§7.3 drops it too). */
static span
spec_name(span s)
{
	if (s.len > 0 && s.p[s.len - 1] == '.')
		s.len--;
	return s;
}

static enum node_state
node_record(const struct check *c, size_t idx, struct spf_record *rec,
    char *why, size_t whylen)
{
	const struct check_spf_rec *n = &c->spf[idx];
	size_t i, nspf = 0, first = 0;

	if (n->loop)
		return NODE_LOOP;
	if (n->q == NULL || n->q->rc == DNS_TEMPFAIL ||
	    n->q->rc == DNS_PERMFAIL)
		return NODE_DNS;
	for (i = 0; i < n->q->ntxt; i++) {
		if (spf_record_is_spf(n->q->txt[i]) && nspf++ == 0)
			first = i;
	}
	if (nspf == 0)
		return NODE_NONE;
	if (nspf > 1)
		return NODE_MULTI;
	if (!spf_record_parse(n->q->txt[first], rec, why, whylen))
		return NODE_SYNTAX;
	return NODE_OK;
}

static void replay(struct check *c);

static void
on_answer(struct check_q *q)
{
	replay(q->c);
}

/* The cached query for (qtype, name), asked now when it is new. */
static struct check_q *
lookup(struct check *c, uint16_t qtype, span name)
{
	struct check_q *q;
	uint8_t *copy;
	size_t i;

	for (i = 0; i < c->nspfq; i++)
		if (c->spfq[i]->qtype == qtype &&
		    dmarc_domain_eq(c->spfq[i]->qname, name))
			return c->spfq[i];
	if (c->nspfq == CHECK_SPF_CACHE) {
		c->spf_capped = true;
		return NULL;
	}
	if ((copy = arena_dup(c->ar, name.p, name.len > 0 ? name.len : 1)) ==
	    NULL) {
		c->nomem = true;
		return NULL;
	}
	/* An answer that comes at once finds q missing and asks to replay. */
	if ((q = check_ask(
	         c, qtype, span_make(copy, name.len), on_answer, 0)) != NULL) {
		q->qname = span_make(copy, name.len);
		c->spfq[c->nspfq++] = q;
	}
	return q;
}

static bool
is_ancestor(const struct check *c, size_t idx, span name)
{
	for (;;) {
		if (dmarc_domain_eq(c->spf[idx].domain, name))
			return true;
		if (idx == 0)
			return false;
		idx = c->spf[idx].parent;
	}
}

static void
probe(struct check *c, uint16_t qtype, span name)
{
	struct check_q *q;

	if (has_macro(name))
		return;
	if (c->nprobe == SPF_MAX_QUERIES) {
		c->spf_capped = true;
		return;
	}
	if ((q = lookup(c, qtype, name)) != NULL)
		c->probe[c->nprobe++] = q;
}

/* Append a record to the tree, not yet asked for (nothing at a cap). */
static void
add_node(struct check *c, size_t parent, size_t pos, span via, span name)
{
	unsigned depth = c->nspf == 0 ? 0 : c->spf[parent].depth + 1;
	struct check_spf_rec *n;

	if (c->nspf == CHECK_SPF_MAX_NODES || depth > CHECK_SPF_MAX_DEPTH) {
		c->spf_capped = true;
		return;
	}
	n = &c->spf[c->nspf];
	memset(n, 0, sizeof(*n));
	n->parent = parent;
	n->pos = pos;
	n->depth = depth;
	n->via = via;
	n->domain = name;
	n->loop = c->nspf > 0 && is_ancestor(c, parent, name);
	c->nspf++;
}

/* The terms of a record, up to "all": children and probes, in order. */
static void
expand(struct check *c, size_t idx, const struct spf_record *rec)
{
	span self = c->spf[idx].domain, name;
	struct spf_term t;
	size_t pos = 0, i = 0;
	bool all = false;

	while (!all && spf_record_next(rec, &pos, &t)) {
		name = t.domain.len > 0 ? spec_name(t.domain) : self;
		all = t.kind == SPF_K_ALL;
		if (t.kind == SPF_K_INCLUDE && !has_macro(name))
			add_node(c, idx, i, t.text, name);
		else if (t.kind == SPF_K_A || t.kind == SPF_K_EXISTS)
			probe(c, DNS_T_A, name);
		else if (t.kind == SPF_K_MX)
			probe(c, DNS_T_MX, name);
		i++;
	}
	/* "redirect=" as written precedes its domain-spec in the record. */
	if (!all && rec->has_redirect && !has_macro(rec->redirect))
		add_node(c, idx, SIZE_MAX,
		    span_make(rec->redirect.p - 9, rec->redirect.len + 9),
		    spec_name(rec->redirect));
}

/*
 * The whole tree again, breadth first, from the answers so far. Records
 * are expanded only up to the first one still unanswered; the ones after
 * it are asked for but not expanded. So every name asked is one the
 * finished tree holds (the caps cut the same records whatever order
 * answers come in), and after the last answer the tree is complete.
 */
static void
replay(struct check *c)
{
	struct spf_record rec;
	bool blocked;
	char why[8];
	size_t i;

	if (c->spf_running) {
		c->spf_again = true;
		return;
	}
	c->spf_running = true;
	do {
		c->spf_again = false;
		c->nspf = 0;
		c->nprobe = 0;
		c->spf_capped = false;
		blocked = false;
		add_node(c, 0, 0, span_make(NULL, 0), c->domain);
		for (i = 0; i < c->nspf; i++) {
			struct check_spf_rec *n = &c->spf[i];

			if (n->loop)
				continue;
			n->q = lookup(c, DNS_T_TXT, n->domain);
			if (blocked || (n->q != NULL && !n->q->done)) {
				blocked = true;
				continue;
			}
			if (node_record(c, i, &rec, why, sizeof(why)) ==
			    NODE_OK)
				expand(c, i, &rec);
		}
	} while (c->spf_again);
	c->spf_running = false;
}

void
check_spf_start(struct check *c)
{
	replay(c);
}

static size_t
child_at(const struct check *c, size_t parent, size_t pos)
{
	size_t i;

	for (i = 1; i < c->nspf; i++)
		if (c->spf[i].parent == parent && c->spf[i].pos == pos)
			return i;
	return 0;
}

/* What the walk found besides the counts. */
struct walk_notes {
	bool ptr, macro;
};

static bool is_void(const struct check_q *q);

static bool
term_counts(enum spf_kind k)
{
	return k == SPF_K_INCLUDE || k == SPF_K_A || k == SPF_K_MX ||
	    k == SPF_K_PTR || k == SPF_K_EXISTS;
}

/* Pre-order: one tree node per record, the counts along the way. */
static void
emit(struct check *c, size_t idx, struct walk_notes *wn)
{
	struct check_spf_node *tn;
	struct spf_record rec;
	struct spf_term t;
	size_t pos = 0, i = 0, ch;
	char why[8];
	bool all = false;

	/* Each node is emitted once: the tree has room for all of them. */
	if (idx >= c->nspf || idx >= CHECK_SPF_MAX_NODES || c->ntree >= c->nspf)
		return;
	tn = &c->tree[c->ntree++];
	memset(tn, 0, sizeof(*tn));
	tn->depth = c->spf[idx].depth;
	tn->via = c->spf[idx].via;
	tn->domain = c->spf[idx].domain;
	if (idx > 0 && c->spf[idx].q != NULL && is_void(c->spf[idx].q))
		c->voids++;
	if (node_record(c, idx, &rec, why, sizeof(why)) != NODE_OK)
		return;
	tn->record = rec.text;
	while (!all && spf_record_next(&rec, &pos, &t)) {
		all = t.kind == SPF_K_ALL;
		if (term_counts(t.kind))
			tn->lookups++;
		wn->ptr = wn->ptr || t.kind == SPF_K_PTR;
		if (t.domain.len > 0 && has_macro(t.domain))
			wn->macro = true;
		if (t.kind == SPF_K_INCLUDE && (ch = child_at(c, idx, i)) > 0)
			emit(c, ch, wn);
		i++;
	}
	if (!all && rec.has_redirect) {
		tn->lookups++;
		wn->macro = wn->macro || has_macro(rec.redirect);
		if ((ch = child_at(c, idx, SIZE_MAX)) > 0)
			emit(c, ch, wn);
	}
}

static bool
is_void(const struct check_q *q)
{
	return q->done &&
	    (q->rc == DNS_NXDOMAIN || q->rc == DNS_NODATA ||
	        (q->rc == DNS_OK && q->ntxt == 0 && q->nname == 0 &&
	            q->naddr == 0));
}

static unsigned
count_lookups(const struct check *c)
{
	unsigned n = 0;
	size_t i;

	for (i = 0; i < c->ntree; i++)
		n += c->tree[i].lookups;
	return n;
}

/* The "all" that ends the policy, following redirect= (§6.1). */
static void
judge_all(struct check *c)
{
	span none = span_make(NULL, 0);
	struct spf_record rec;
	struct spf_term t;
	size_t idx = 0, pos, hops;
	char why[8];

	for (hops = 0; hops <= CHECK_SPF_MAX_DEPTH; hops++) {
		if (node_record(c, idx, &rec, why, sizeof(why)) != NODE_OK)
			return; /* reported as a broken record */
		pos = 0;
		while (spf_record_next(&rec, &pos, &t)) {
			if (t.kind != SPF_K_ALL)
				continue;
			if (t.qual == SPF_R_PASS)
				check_add(c, CHECK_SPF_PASS_ALL, none,
				    "\"%.*s\" at %.*s lets every host on the "
				    "Internet send as this domain; end the "
				    "record with ~all or -all",
				    (int)t.text.len, (const char *)t.text.p,
				    (int)c->spf[idx].domain.len,
				    (const char *)c->spf[idx].domain.p);
			else if (t.qual == SPF_R_NEUTRAL)
				check_add(c, CHECK_SPF_NEUTRAL_ALL, none,
				    "?all says nothing about other hosts; end "
				    "the record with ~all or -all");
			return;
		}
		if (!rec.has_redirect ||
		    (idx = child_at(c, idx, SIZE_MAX)) == 0) {
			if (!rec.has_redirect)
				check_add(c, CHECK_SPF_NO_ALL, none,
				    "the record has no \"all\": other hosts "
				    "get neutral; end it with ~all or -all");
			return;
		}
	}
}

static void
judge_node(struct check *c, size_t idx)
{
	span none = span_make(NULL, 0);
	const struct check_spf_rec *n = &c->spf[idx];
	struct spf_record rec;
	char why[160];
	bool redirect = n->pos == SIZE_MAX;
	int vl = (int)n->via.len, dl = (int)n->domain.len;
	const char *v = (const char *)n->via.p, *d = (const char *)n->domain.p;
	enum node_state st;

	switch ((st = node_record(c, idx, &rec, why, sizeof(why)))) {
	case NODE_OK:
		break;
	case NODE_NONE:
	case NODE_MULTI:
		check_add(c, CHECK_SPF_INCLUDE_NONE, none,
		    "%.*s: %.*s has %s SPF record, so the check is a "
		    "permerror; fix or remove the %s",
		    vl, v, dl, d, st == NODE_MULTI ? "more than one" : "no",
		    redirect ? "redirect" : "include");
		break;
	case NODE_SYNTAX:
		check_add(c, CHECK_SPF_INCLUDE_SYNTAX, none,
		    "%.*s: the record at %.*s is invalid (%s), so the check "
		    "is a permerror",
		    vl, v, dl, d, why);
		break;
	case NODE_DNS:
		check_add(c, CHECK_SPF_DNS, none, "%.*s: lookup failed", dl, d);
		break;
	case NODE_LOOP:
		check_add(c, CHECK_SPF_LOOP, none,
		    "%.*s loops back to %.*s; remove the loop", vl, v, dl, d);
		break;
	}
}

/* The root record itself; false when nothing more can be judged. */
static bool
judge_root(struct check *c)
{
	span none = span_make(NULL, 0);
	struct spf_record rec;
	char why[160];
	int dl = (int)c->domain.len;
	const char *d = (const char *)c->domain.p;

	switch (node_record(c, 0, &rec, why, sizeof(why))) {
	case NODE_OK:
		return true;
	case NODE_NONE:
		check_add(c, CHECK_SPF_NONE, none,
		    "no SPF record at %.*s: receivers cannot tell your servers "
		    "from forgers; publish one TXT record \"v=spf1 mx ~all\" "
		    "listing the hosts that send for it",
		    dl, d);
		break;
	case NODE_MULTI:
		check_add(c, CHECK_SPF_MULTIPLE, none,
		    "%zu SPF records at %.*s: RFC 7208 section 4.5 makes that a "
		    "permerror; merge them into one",
		    c->spf[0].q->ntxt, dl, d);
		break;
	case NODE_SYNTAX:
		check_add(c, CHECK_SPF_SYNTAX, none,
		    "the SPF record at %.*s is invalid (%s): every check is a "
		    "permerror",
		    dl, d, why);
		break;
	case NODE_DNS:
	case NODE_LOOP:
		check_add(c, CHECK_SPF_DNS, none, "SPF lookup for %.*s failed",
		    dl, d);
		break;
	}
	return false;
}

void
check_spf_judge(struct check *c)
{
	span none = span_make(NULL, 0);
	struct walk_notes wn = { false, false };
	size_t i;

	if ((c->tree = arena_alloc(c->ar, c->nspf * sizeof(*c->tree))) ==
	    NULL) {
		c->nomem = true;
		return;
	}
	emit(c, 0, &wn);
	for (i = 0; i < c->nprobe; i++)
		if (is_void(c->probe[i]))
			c->voids++;
	c->lookups = count_lookups(c);
	check_dnssec(c, CHECK_SPF_DNSSEC, none, c->spf[0].q, c->domain);
	if (!judge_root(c))
		return;
	for (i = 1; i < c->nspf; i++)
		judge_node(c, i);
	if (c->lookups > SPF_MAX_LOOKUPS || c->spf_capped)
		check_add(c, CHECK_SPF_TOO_MANY_LOOKUPS, none,
		    "%s%u DNS-querying terms (include, a, mx, ptr, exists, "
		    "redirect) over the limit of %d (RFC 7208 section 4.6.4): "
		    "receivers return permerror; flatten includes or drop "
		    "unused ones",
		    c->spf_capped ? "more than " : "", c->lookups,
		    SPF_MAX_LOOKUPS);
	else
		check_add(c, CHECK_SPF_LOOKUPS, none,
		    "%u of %d DNS-querying terms, %u void lookup%s", c->lookups,
		    SPF_MAX_LOOKUPS, c->voids, c->voids == 1 ? "" : "s");
	if (c->voids > SPF_MAX_VOID)
		check_add(c, CHECK_SPF_TOO_MANY_VOID, none,
		    "%u void lookups (names that do not exist or hold no "
		    "records) over the limit of %d: receivers return "
		    "permerror; remove the dead names",
		    c->voids, SPF_MAX_VOID);
	judge_all(c);
	if (wn.ptr)
		check_add(c, CHECK_SPF_PTR, none,
		    "\"ptr\" is slow and unreliable and RFC 7208 section 5.5 says not "
		    "to use it; list the addresses with ip4:/ip6: or a");
	if (wn.macro)
		check_add(c, CHECK_SPF_MACRO, none,
		    "terms built with macros depend on the client and were "
		    "counted but not followed");
}
