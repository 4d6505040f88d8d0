#include "fake_dns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Per-type slots: rcode overrides for A, AAAA, MX, PTR, TXT. */
enum {
	SLOT_A,
	SLOT_AAAA,
	SLOT_MX,
	SLOT_PTR,
	SLOT_TXT,
	NSLOTS
};

struct fd_name {
	uint8_t *name; /* lower case, no trailing dot */
	size_t len;
	enum dns_rcode rc;
	span *txt; /* heap copies */
	size_t ntxt;
	struct dns_addr *addr; /* A and AAAA, told apart by len */
	size_t naddr;
	span *mx; /* heap copies, lower case */
	uint16_t *pref;
	size_t nmx;
	span *ptr;
	size_t nptr;
	span cname; /* empty: none */
	bool has_trc[NSLOTS];
	enum dns_rcode trc[NSLOTS];
};

struct fd_query {
	size_t qidx; /* index into the query log */
	dns_done_fn *done;
	void *cookie;
};

struct fake_dns {
	enum fake_dns_mode mode;
	bool lifo;
	bool refuse;
	bool strict;
	struct fd_name *names;
	size_t nnames;
	struct fd_query *queue;
	size_t nqueue;
	span *log; /* every qname received, heap copies */
	uint16_t *logtype;
	size_t nlog;
};

/* Test code: running out of memory is a broken environment, not a case. */
static void *
xrealloc(void *p, size_t n)
{
	if ((p = realloc(p, n == 0 ? 1 : n)) == NULL) {
		fprintf(stderr, "fake_dns: out of memory\n");
		abort();
	}
	return p;
}

static uint8_t
lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + ('a' - 'A')) : c;
}

/* A lower-cased heap copy of name without its trailing dot. */
static span
norm_name(span name)
{
	uint8_t *p;
	size_t i;

	if (name.len > 0 && name.p[name.len - 1] == '.')
		name.len--;
	p = xrealloc(NULL, name.len);
	for (i = 0; i < name.len; i++)
		p[i] = lower(name.p[i]);
	return span_make(p, name.len);
}

struct fake_dns *
fake_dns_new(enum fake_dns_mode mode)
{
	struct fake_dns *fd;

	if ((fd = calloc(1, sizeof(*fd))) == NULL)
		return NULL;
	fd->mode = mode;
	return fd;
}

static void
free_spans(span *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free((void *)(uintptr_t)v[i].p);
	free(v);
}

static void
free_name(struct fd_name *n)
{
	free_spans(n->txt, n->ntxt);
	free_spans(n->mx, n->nmx);
	free_spans(n->ptr, n->nptr);
	free(n->pref);
	free(n->addr);
	free((void *)(uintptr_t)n->cname.p);
	free(n->name);
}

void
fake_dns_clear(struct fake_dns *fd)
{
	size_t i;

	for (i = 0; i < fd->nnames; i++)
		free_name(&fd->names[i]);
	free(fd->names);
	fd->names = NULL;
	fd->nnames = 0;
}

void
fake_dns_free(struct fake_dns *fd)
{
	size_t i;

	if (fd == NULL)
		return;
	fake_dns_clear(fd);
	for (i = 0; i < fd->nlog; i++)
		free((void *)(uintptr_t)fd->log[i].p);
	free(fd->log);
	free(fd->logtype);
	free(fd->queue);
	free(fd);
}

void
fake_dns_set_mode(struct fake_dns *fd, enum fake_dns_mode mode)
{
	fd->mode = mode;
}

void
fake_dns_set_lifo(struct fake_dns *fd, bool lifo)
{
	fd->lifo = lifo;
}

void
fake_dns_set_refuse(struct fake_dns *fd, bool refuse)
{
	fd->refuse = refuse;
}

void
fake_dns_set_strict_names(struct fake_dns *fd, bool strict)
{
	fd->strict = strict;
}

static struct fd_name *
find(const struct fake_dns *fd, span name)
{
	size_t i;

	for (i = 0; i < fd->nnames; i++)
		if (span_eq(
		        span_make(fd->names[i].name, fd->names[i].len), name))
			return &fd->names[i];
	return NULL;
}

/* The entry for name, created (answering NODATA) when new. */
static struct fd_name *
entry(struct fake_dns *fd, const char *name)
{
	span n = norm_name(span_cstr(name));
	struct fd_name *e;

	if ((e = find(fd, n)) != NULL) {
		free((void *)(uintptr_t)n.p);
		return e;
	}
	fd->names = xrealloc(fd->names, (fd->nnames + 1) * sizeof(*e));
	e = &fd->names[fd->nnames++];
	memset(e, 0, sizeof(*e));
	e->name = (uint8_t *)(uintptr_t)n.p;
	e->len = n.len;
	e->rc = DNS_NODATA;
	return e;
}

void
fake_dns_add_txt_span(struct fake_dns *fd, const char *name, span txt)
{
	struct fd_name *e = entry(fd, name);
	uint8_t *copy = xrealloc(NULL, txt.len);

	if (txt.len > 0)
		memcpy(copy, txt.p, txt.len);
	e->txt = xrealloc(e->txt, (e->ntxt + 1) * sizeof(span));
	e->txt[e->ntxt++] = span_make(copy, txt.len);
	e->rc = DNS_OK;
}

void
fake_dns_add_txt(struct fake_dns *fd, const char *name, const char *txt)
{
	fake_dns_add_txt_span(fd, name, span_cstr(txt));
}

void
fake_dns_set_rcode(struct fake_dns *fd, const char *name, enum dns_rcode rc)
{
	struct fd_name *e = entry(fd, name);
	size_t i;

	for (i = 0; i < e->ntxt; i++)
		free((void *)(uintptr_t)e->txt[i].p);
	e->ntxt = 0;
	e->rc = rc;
}

static void
add_addr(struct fake_dns *fd, const char *name, int af, const char *text)
{
	struct fd_name *e = entry(fd, name);
	struct dns_addr a;

	memset(&a, 0, sizeof(a));
	a.len = af == AF_INET ? 4 : 16;
	if (inet_pton(af, text, a.b) != 1) {
		fprintf(stderr, "fake_dns: bad address %s\n", text);
		abort();
	}
	e->addr = xrealloc(e->addr, (e->naddr + 1) * sizeof(a));
	e->addr[e->naddr++] = a;
}

void
fake_dns_add_a(struct fake_dns *fd, const char *name, const char *ip4)
{
	add_addr(fd, name, AF_INET, ip4);
}

void
fake_dns_add_aaaa(struct fake_dns *fd, const char *name, const char *ip6)
{
	add_addr(fd, name, AF_INET6, ip6);
}

void
fake_dns_add_mx(
    struct fake_dns *fd, const char *name, unsigned pref, const char *exch)
{
	struct fd_name *e = entry(fd, name);

	e->mx = xrealloc(e->mx, (e->nmx + 1) * sizeof(span));
	e->pref = xrealloc(e->pref, (e->nmx + 1) * sizeof(uint16_t));
	e->mx[e->nmx] = norm_name(span_cstr(exch));
	e->pref[e->nmx++] = (uint16_t)pref;
}

void
fake_dns_add_ptr(struct fake_dns *fd, const char *name, const char *target)
{
	struct fd_name *e = entry(fd, name);

	e->ptr = xrealloc(e->ptr, (e->nptr + 1) * sizeof(span));
	e->ptr[e->nptr++] = norm_name(span_cstr(target));
}

void
fake_dns_set_cname(struct fake_dns *fd, const char *name, const char *target)
{
	struct fd_name *e = entry(fd, name);

	free((void *)(uintptr_t)e->cname.p);
	e->cname = norm_name(span_cstr(target));
}

static int
slot_of(uint16_t qtype)
{
	switch (qtype) {
	case DNS_T_A:
		return SLOT_A;
	case DNS_T_AAAA:
		return SLOT_AAAA;
	case DNS_T_MX:
		return SLOT_MX;
	case DNS_T_PTR:
		return SLOT_PTR;
	case DNS_T_TXT:
		return SLOT_TXT;
	default:
		return -1;
	}
}

void
fake_dns_set_rcode_type(
    struct fake_dns *fd, const char *name, uint16_t qtype, enum dns_rcode rc)
{
	struct fd_name *e = entry(fd, name);
	int s = slot_of(qtype);

	if (s < 0) {
		fprintf(stderr, "fake_dns: no slot for type %u\n", qtype);
		abort();
	}
	e->has_trc[s] = true;
	e->trc[s] = rc;
}

/* Heap copies of v[0..n), to be poisoned and freed after done(). */
static span *
dup_spans(const span *v, size_t n)
{
	span *r = xrealloc(NULL, n * sizeof(*r));
	size_t i;

	for (i = 0; i < n; i++) {
		uint8_t *c = xrealloc(NULL, v[i].len);

		if (v[i].len > 0)
			memcpy(c, v[i].p, v[i].len);
		r[i] = span_make(c, v[i].len);
	}
	return r;
}

static void
kill_spans(span *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		memset((void *)(uintptr_t)v[i].p, 0xA5, v[i].len);
		free((void *)(uintptr_t)v[i].p);
	}
	free(v);
}

/* The name qname leads to after CNAMEs, for a type it has no data of. */
static const struct fd_name *
resolve(
    const struct fake_dns *fd, span qname, uint16_t qtype, enum dns_rcode *rc)
{
	const struct fd_name *e = find(fd, qname);
	int s = slot_of(qtype), hops;
	bool has;

	for (hops = 0; e != NULL; hops++) {
		if (s >= 0 && e->has_trc[s]) {
			*rc = e->trc[s];
			return e;
		}
		switch (qtype) {
		case DNS_T_A:
		case DNS_T_AAAA: {
			size_t i;

			for (has = false, i = 0; i < e->naddr; i++)
				has = has ||
				    e->addr[i].len ==
				        (qtype == DNS_T_A ? 4 : 16);
			break;
		}
		case DNS_T_MX:
			has = e->nmx > 0;
			break;
		case DNS_T_PTR:
			has = e->nptr > 0;
			break;
		default:
			has = e->ntxt > 0 || e->rc == DNS_OK;
			break;
		}
		if (has) {
			*rc = DNS_OK;
			return e;
		}
		if (e->cname.len == 0)
			break;
		if (hops >= 8) {
			*rc = DNS_TEMPFAIL; /* a loop: SERVFAIL */
			return NULL;
		}
		e = find(fd, e->cname);
		if (e == NULL) {
			*rc = DNS_NXDOMAIN;
			return NULL;
		}
	}
	if (e == NULL) {
		*rc = DNS_NXDOMAIN;
		return NULL;
	}
	if (qtype == DNS_T_TXT)
		*rc = e->rc;
	else if (e->rc == DNS_NXDOMAIN || e->rc == DNS_TEMPFAIL ||
	    e->rc == DNS_PERMFAIL)
		*rc = e->rc;
	else
		*rc = DNS_NODATA;
	return e;
}

/*
 * Build the answer in fresh heap memory, call done(), then poison and
 * free that memory: whatever core/ kept from it is dead.
 */
static void
deliver(struct fake_dns *fd, span qname, uint16_t qtype, dns_done_fn *done,
    void *cookie)
{
	struct dns_answer ans;
	enum dns_rcode rc;
	const struct fd_name *e = resolve(fd, qname, qtype, &rc);
	span *txt = NULL, *names = NULL;
	struct dns_addr *addr = NULL;
	uint16_t *pref = NULL;
	size_t i, n = 0;

	memset(&ans, 0, sizeof(ans));
	ans.rcode = rc;
	ans.ttl = 300;
	if (rc == DNS_OK && e != NULL) {
		switch (qtype) {
		case DNS_T_A:
		case DNS_T_AAAA:
			addr = xrealloc(NULL, e->naddr * sizeof(*addr));
			for (i = 0; i < e->naddr; i++)
				if (e->addr[i].len ==
				    (qtype == DNS_T_A ? 4 : 16))
					addr[n++] = e->addr[i];
			ans.addr = addr;
			ans.naddr = n;
			break;
		case DNS_T_MX:
			names = dup_spans(e->mx, e->nmx);
			pref = xrealloc(NULL, e->nmx * sizeof(*pref));
			memcpy(pref, e->pref, e->nmx * sizeof(*pref));
			ans.name = names;
			ans.pref = pref;
			ans.nname = n = e->nmx;
			break;
		case DNS_T_PTR:
			names = dup_spans(e->ptr, e->nptr);
			ans.name = names;
			ans.nname = n = e->nptr;
			break;
		default:
			txt = dup_spans(e->txt, e->ntxt);
			ans.txt = txt;
			ans.ntxt = n = e->ntxt;
			break;
		}
	}
	done(cookie, &ans);
	if (txt != NULL)
		kill_spans(txt, ans.ntxt);
	if (names != NULL)
		kill_spans(names, ans.nname);
	if (addr != NULL)
		memset(addr, 0xA5, ans.naddr * sizeof(*addr));
	free(addr);
	free(pref);
}

/* RFC 1035 label and name lengths. */
static bool
name_ok(span n)
{
	size_t i, label = 0;

	if (n.len > 0 && n.p[n.len - 1] == '.')
		n.len--;
	if (n.len == 0 || n.len > 253)
		return false;
	for (i = 0; i < n.len; i++) {
		if (n.p[i] != '.') {
			if (++label > 63)
				return false;
		} else if (label == 0) {
			return false;
		} else {
			label = 0;
		}
	}
	return true;
}

static int
fake_query(
    void *ctx, uint16_t qtype, span qname, dns_done_fn *done, void *cookie)
{
	struct fake_dns *fd = ctx;
	struct fd_query *q;

	fd->log = xrealloc(fd->log, (fd->nlog + 1) * sizeof(span));
	fd->logtype = xrealloc(fd->logtype, (fd->nlog + 1) * sizeof(uint16_t));
	fd->logtype[fd->nlog] = qtype;
	fd->log[fd->nlog++] = norm_name(qname);
	if (fd->refuse)
		return -EIO;
	if (fd->strict && !name_ok(qname))
		return -EINVAL;
	if (fd->mode == FAKE_DNS_SYNC) {
		deliver(fd, fd->log[fd->nlog - 1], qtype, done, cookie);
		return 0;
	}
	fd->queue = xrealloc(fd->queue, (fd->nqueue + 1) * sizeof(*q));
	q = &fd->queue[fd->nqueue++];
	q->qidx = fd->nlog - 1;
	q->done = done;
	q->cookie = cookie;
	return 0;
}

static int
fake_txt(void *ctx, span qname, dns_done_fn *done, void *cookie)
{
	return fake_query(ctx, DNS_T_TXT, qname, done, cookie);
}

void
fake_dns_ops(struct fake_dns *fd, struct dns_ops *out)
{
	out->ctx = fd;
	out->txt = fake_txt;
	out->query = fake_query;
}

size_t
fake_dns_run(struct fake_dns *fd)
{
	size_t n = 0;

	/* done() may queue more queries: take one at a time. */
	while (fd->nqueue > 0) {
		struct fd_query q;

		if (fd->lifo) {
			q = fd->queue[--fd->nqueue];
		} else {
			q = fd->queue[0];
			memmove(
			    fd->queue, fd->queue + 1, --fd->nqueue * sizeof(q));
		}
		deliver(
		    fd, fd->log[q.qidx], fd->logtype[q.qidx], q.done, q.cookie);
		n++;
	}
	return n;
}

size_t
fake_dns_queries(const struct fake_dns *fd)
{
	return fd->nlog;
}

size_t
fake_dns_pending(const struct fake_dns *fd)
{
	return fd->nqueue;
}

span
fake_dns_query_name(const struct fake_dns *fd, size_t n)
{
	return n < fd->nlog ? fd->log[n] : span_make(NULL, 0);
}

uint16_t
fake_dns_query_type(const struct fake_dns *fd, size_t n)
{
	return n < fd->nlog ? fd->logtype[n] : 0;
}
