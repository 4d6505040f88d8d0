/*
 * dnsq.c - one message's DNS questions and answers (see dnsq.h).
 *
 * Entries are hashed by (type, lower-case name). Each entry keeps the
 * clients that asked it (for their limits and their wake-ups); an
 * answer marks the entry answered, takes it off each waiting client's
 * count, then wakes those clients, then tells the owner.
 */
#include "dnsq.h"

#include <string.h>

#include "arena.h"

#define DNSQ_BUCKETS 64
#define DNSQ_NAMEMAX 1024

struct dnsq_ref {
	struct dnsq_ref *next;
	struct dnsq_client *cl;
	bool waiting;
};

struct dnsq_ent {
	struct dnsq *q;
	struct dnsq_ent *next; /* hash chain */
	uint16_t qtype;
	bool answered;
	bool asking; /* inside the backend call */
	span qname;  /* lower case, no trailing dot */
	struct dnsq_ref *refs;
	struct dnsq_ans ans;
};

struct dnsq {
	const struct dns_ops *ops;
	struct arena *ar;
	struct dnsq_ent *bucket[DNSQ_BUCKETS];
	size_t sent;
	size_t outstanding;
	dnsq_wake_fn *notify;
	void *notify_arg;
};

static uint8_t
lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + ('a' - 'A')) : c;
}

struct dnsq *
dnsq_new(const struct dns_ops *ops, struct arena *ar)
{
	struct dnsq *q = arena_alloc(ar, sizeof(*q));

	if (q == NULL)
		return NULL;
	memset(q, 0, sizeof(*q));
	q->ops = ops;
	q->ar = ar;
	return q;
}

struct arena *
dnsq_arena(const struct dnsq *q)
{
	return q->ar;
}

void
dnsq_set_notify(struct dnsq *q, dnsq_wake_fn *fn, void *arg)
{
	q->notify = fn;
	q->notify_arg = arg;
}

void
dnsq_client_init(
    struct dnsq_client *cl, dnsq_wake_fn *wake, void *arg, size_t max)
{
	cl->wake = wake;
	cl->arg = arg;
	cl->waiting = 0;
	cl->asked = 0;
	cl->max = max;
}

bool
dnsq_idle(const struct dnsq *q)
{
	return q->outstanding == 0;
}

size_t
dnsq_sent(const struct dnsq *q)
{
	return q->sent;
}

static size_t
bucket_of(uint16_t qtype, span name)
{
	uint32_t h = 2166136261u ^ qtype;
	size_t i;

	for (i = 0; i < name.len; i++)
		h = (h ^ lower(name.p[i])) * 16777619u;
	return h % DNSQ_BUCKETS;
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
 * MX exchanges by preference, then name (RFC 7208 §5.4 gives no order;
 * answer order is arbitrary and would make a result depend on the
 * resolver's shuffle).
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

/* Copy what is kept of an answer; it dies when done() returns. */
static bool
copy_answer(struct arena *ar, struct dnsq_ans *to, const struct dns_answer *a)
{
	memset(to, 0, sizeof(*to));
	to->rcode = a->rcode;
	to->secure = a->secure;
	to->ttl = a->ttl;
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

/*
 * The entry has its answer: off the clients' counts, then wake them
 * (unless the answer came inside the backend call, where the lookup
 * that asked finds it), then the owner.
 */
static void
answered(struct dnsq_ent *e)
{
	struct dnsq *q = e->q;
	struct dnsq_ref *r;

	e->answered = true;
	if (q->outstanding > 0)
		q->outstanding--;
	for (r = e->refs; r != NULL; r = r->next) {
		if (!r->waiting)
			continue;
		r->waiting = false;
		if (r->cl->waiting > 0)
			r->cl->waiting--;
	}
	if (e->asking)
		return;
	for (r = e->refs; r != NULL; r = r->next) {
		if (r->cl->wake != NULL)
			r->cl->wake(r->cl->arg);
	}
	if (q->notify != NULL)
		q->notify(q->notify_arg);
}

static void
on_done(void *cookie, const struct dns_answer *ans)
{
	struct dnsq_ent *e = cookie;

	if (e->answered)
		return; /* a backend answering twice: keep the first */
	if (!copy_answer(e->q->ar, &e->ans, ans)) {
		memset(&e->ans, 0, sizeof(e->ans));
		e->ans.rcode = DNS_TEMPFAIL;
		e->ans.nomem = true;
	}
	answered(e);
}

/* Send e's question; answered at once when there is nobody to ask. */
static void
issue(struct dnsq *q, struct dnsq_ent *e)
{
	const struct dns_ops *ops = q->ops;
	int rc = 0;
	bool sent = false;

	q->outstanding++;
	e->asking = true;
	if (ops != NULL && e->qtype == DNS_T_TXT && ops->txt != NULL) {
		q->sent++;
		sent = true;
		rc = ops->txt(ops->ctx, e->qname, on_done, e);
	} else if (ops != NULL && ops->query != NULL) {
		q->sent++;
		sent = true;
		rc = ops->query(ops->ctx, e->qtype, e->qname, on_done, e);
	}
	e->asking = false;
	if (e->answered || (sent && rc >= 0))
		return;
	/* Refused, or nobody to ask: done() will not be called. */
	memset(&e->ans, 0, sizeof(e->ans));
	e->ans.rcode = !sent      ? DNS_TEMPFAIL
	    : rc == DNS_E_BADNAME ? DNS_NXDOMAIN
	                          : DNS_TEMPFAIL;
	e->ans.refused = !sent    ? DNSQ_NODNS
	    : rc == DNS_E_BADNAME ? DNSQ_BADNAME
	                          : DNSQ_REFUSED;
	e->asking = true; /* no wake-up: the lookup sees it */
	answered(e);
	e->asking = false;
}

static struct dnsq_ref *
ref_of(struct dnsq_ent *e, const struct dnsq_client *cl)
{
	struct dnsq_ref *r;

	for (r = e->refs; r != NULL; r = r->next)
		if (r->cl == cl)
			return r;
	return NULL;
}

/* cl's first use of e: counted against its limit. */
static dnsq_res
add_ref(struct dnsq *q, struct dnsq_ent *e, struct dnsq_client *cl,
    struct dnsq_ref **out)
{
	struct dnsq_ref *r;

	if (cl->max > 0 && cl->asked >= cl->max)
		return DNSQ_LIMIT;
	if ((r = arena_alloc(q->ar, sizeof(*r))) == NULL)
		return DNSQ_NOMEM;
	r->cl = cl;
	r->waiting = false;
	r->next = e->refs;
	e->refs = r;
	cl->asked++;
	*out = r;
	return DNSQ_OK;
}

dnsq_res
dnsq_lookup(struct dnsq *q, struct dnsq_client *cl, uint16_t qtype, span name,
    const struct dnsq_ans **out)
{
	size_t b, i;
	struct dnsq_ent *e;
	struct dnsq_ref *r = NULL;
	uint8_t *n;
	dnsq_res res;

	if (name.len > 0 && name.p[name.len - 1] == '.')
		name.len--;
	b = bucket_of(qtype, name);
	for (e = q->bucket[b]; e != NULL; e = e->next)
		if (e->qtype == qtype && span_ieq_ascii(e->qname, name))
			break;
	if (e != NULL) {
		r = ref_of(e, cl);
		if (r == NULL && (res = add_ref(q, e, cl, &r)) != DNSQ_OK)
			return res;
	} else {
		if (cl->max > 0 && cl->asked >= cl->max)
			return DNSQ_LIMIT;
		if ((e = arena_alloc(q->ar, sizeof(*e))) == NULL ||
		    (n = arena_alloc(q->ar, name.len + 1)) == NULL)
			return DNSQ_NOMEM;
		for (i = 0; i < name.len; i++)
			n[i] = lower(name.p[i]);
		n[name.len] = '\0';
		memset(e, 0, sizeof(*e));
		e->q = q;
		e->qtype = qtype;
		e->qname = span_make(n, name.len);
		if ((res = add_ref(q, e, cl, &r)) != DNSQ_OK)
			return res;
		e->next = q->bucket[b];
		q->bucket[b] = e;
		issue(q, e);
	}
	if (e->answered) {
		*out = &e->ans;
		return DNSQ_OK;
	}
	if (!r->waiting) {
		r->waiting = true;
		cl->waiting++;
	}
	return DNSQ_PENDING;
}

span
dnsq_a_label(const struct dnsq_idna *idna, span d, struct arena *ar)
{
	char out[DNSQ_NAMEMAX];
	size_t i, n;
	void *c;

	for (i = 0; i < d.len && d.p[i] < 0x80; i++)
		;
	if (i == d.len || idna == NULL || idna->to_ascii == NULL ||
	    d.len >= DNSQ_NAMEMAX)
		return d;
	n = idna->to_ascii(idna->ctx, d, out, sizeof(out));
	if (n == 0 || n >= sizeof(out) || (c = arena_dup(ar, out, n)) == NULL)
		return d;
	return span_make(c, n);
}

span
dnsq_addr_a_label(const struct dnsq_idna *idna, span addr, struct arena *ar)
{
	const uint8_t *at = NULL;
	struct buf b;
	span d, a;
	size_t i;

	for (i = 0; i < addr.len; i++)
		if (addr.p[i] == '@')
			at = addr.p + i;
	if (at == NULL)
		return addr;
	d = span_make(at + 1, addr.len - (size_t)(at + 1 - addr.p));
	if ((a = dnsq_a_label(idna, d, ar)).p == d.p)
		return addr;
	buf_init_arena(&b, ar);
	if (!buf_add(&b, addr.p, (size_t)(at + 1 - addr.p)) ||
	    !buf_add_span(&b, a))
		return addr;
	return buf_span(&b);
}
