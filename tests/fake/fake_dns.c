#include "fake_dns.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fd_name {
	uint8_t *name; /* lower case, no trailing dot */
	size_t len;
	enum dns_rcode rc;
	span *txt; /* heap copies */
	size_t ntxt;
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
	struct fd_name *names;
	size_t nnames;
	struct fd_query *queue;
	size_t nqueue;
	span *log; /* every qname received, heap copies */
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
free_name(struct fd_name *n)
{
	size_t i;

	for (i = 0; i < n->ntxt; i++)
		free((void *)(uintptr_t)n->txt[i].p);
	free(n->txt);
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

/*
 * Build the answer in fresh heap memory, call done(), then poison and
 * free that memory: whatever core/ kept from it is dead.
 */
static void
deliver(struct fake_dns *fd, span qname, dns_done_fn *done, void *cookie)
{
	const struct fd_name *e = find(fd, qname);
	struct dns_answer ans = { DNS_NXDOMAIN, 300, NULL, 0, 0 };
	span *txt = NULL;
	size_t i, n = 0;

	if (e != NULL) {
		ans.rcode = e->rc;
		n = e->rc == DNS_OK ? e->ntxt : 0;
	}
	if (n > 0) {
		txt = xrealloc(NULL, n * sizeof(*txt));
		for (i = 0; i < n; i++) {
			uint8_t *c = xrealloc(NULL, e->txt[i].len);

			if (e->txt[i].len > 0)
				memcpy(c, e->txt[i].p, e->txt[i].len);
			txt[i] = span_make(c, e->txt[i].len);
		}
	}
	ans.txt = txt;
	ans.ntxt = n;
	done(cookie, &ans);
	for (i = 0; i < n; i++) {
		memset((void *)(uintptr_t)txt[i].p, 0xA5, txt[i].len);
		free((void *)(uintptr_t)txt[i].p);
	}
	free(txt);
}

static int
fake_txt(void *ctx, span qname, dns_done_fn *done, void *cookie)
{
	struct fake_dns *fd = ctx;
	struct fd_query *q;

	fd->log = xrealloc(fd->log, (fd->nlog + 1) * sizeof(span));
	fd->log[fd->nlog++] = norm_name(qname);
	if (fd->refuse)
		return -EIO;
	if (fd->mode == FAKE_DNS_SYNC) {
		deliver(fd, fd->log[fd->nlog - 1], done, cookie);
		return 0;
	}
	fd->queue = xrealloc(fd->queue, (fd->nqueue + 1) * sizeof(*q));
	q = &fd->queue[fd->nqueue++];
	q->qidx = fd->nlog - 1;
	q->done = done;
	q->cookie = cookie;
	return 0;
}

void
fake_dns_ops(struct fake_dns *fd, struct dns_ops *out)
{
	out->ctx = fd;
	out->txt = fake_txt;
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
		deliver(fd, fd->log[q.qidx], q.done, q.cookie);
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
