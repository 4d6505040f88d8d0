#include "resolv_unbound.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <unbound.h>

#define DNS_T_TXT 16
#define DNS_C_IN  1

struct waiter {
	dns_done_fn *done;
	void *cookie;
	struct waiter *next;
};

/* One distinct query in flight. */
struct query {
	struct resolv_ub *r;
	char name[256];
	int id; /* libunbound's async id */
	double deadline;
	bool used;
	struct waiter *waiters;
};

struct resolv_ub {
	struct ub_ctx *ctx;
	double timeout;
	struct query *q;
	size_t nq; /* slots */
	size_t pending;
	uint8_t txt[RESOLV_TXT_RRS][RESOLV_TXT_MAX];
};

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
setup(struct resolv_ub *r, const struct resolv_ub_opts *o, char *err,
    size_t errlen)
{
	int e = ub_ctx_async(r->ctx, 1);

	/* Bounded caches: answers and negative answers live for their TTL. */
	if (e == 0)
		e = ub_ctx_set_option(r->ctx, "msg-cache-size:", "8m");
	if (e == 0)
		e = ub_ctx_set_option(r->ctx, "rrset-cache-size:", "16m");
	if (e == 0 && o->server != NULL)
		e = ub_ctx_set_fwd(r->ctx, o->server);
	else if (e == 0 && (e = ub_ctx_resolvconf(r->ctx, NULL)) == 0)
		e = ub_ctx_hosts(r->ctx, NULL);
	if (e == 0 && o->trust_anchor != NULL)
		e = ub_ctx_add_ta_file(r->ctx, o->trust_anchor);
	if (e != 0) {
		snprintf(err, errlen, "resolver setup: %s", ub_strerror(e));
		return -EINVAL;
	}
	return 0;
}

int
resolv_ub_new(const struct resolv_ub_opts *o, struct resolv_ub **out, char *err,
    size_t errlen)
{
	struct resolv_ub *r = calloc(1, sizeof(*r));
	size_t n = o->max_inflight > 0 ? o->max_inflight : 256;
	int e;

	if (r == NULL || (r->q = calloc(n, sizeof(*r->q))) == NULL ||
	    (r->ctx = ub_ctx_create()) == NULL) {
		snprintf(err, errlen, "cannot create a resolver context");
		resolv_ub_free(r);
		return -ENOMEM;
	}
	r->nq = n;
	r->timeout = o->timeout > 0 ? o->timeout : 5.0;
	if ((e = setup(r, o, err, errlen)) != 0) {
		resolv_ub_free(r);
		return e;
	}
	*out = r;
	return 0;
}

static void free_waiters(struct query *q);

void
resolv_ub_free(struct resolv_ub *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; r->q != NULL && i < r->nq; i++) {
		if (!r->q[i].used)
			continue;
		ub_cancel(r->ctx, r->q[i].id);
		free_waiters(&r->q[i]);
	}
	if (r->ctx != NULL)
		ub_ctx_delete(r->ctx);
	free(r->q);
	free(r);
}

size_t
resolv_ub_pending(const struct resolv_ub *r)
{
	return r->pending;
}

static void
free_waiters(struct query *q)
{
	struct waiter *w, *next;

	for (w = q->waiters; w != NULL; w = next) {
		next = w->next;
		free(w);
	}
	q->waiters = NULL;
}

/* Join the <length><bytes> character-strings of one TXT rdata. */
static size_t
txt_join(const uint8_t *rd, size_t n, uint8_t *out, size_t cap)
{
	size_t i = 0, len = 0;

	while (i < n) {
		size_t l = rd[i++];

		if (l > n - i || l > cap - len)
			return len;
		memcpy(out + len, rd + i, l);
		len += l;
		i += l;
	}
	return len;
}

static enum dns_rcode
ub_rcode(int err, const struct ub_result *res)
{
	if (err != 0 || res == NULL)
		return DNS_TEMPFAIL;
	if (res->rcode == 3)
		return DNS_NXDOMAIN;
	if (res->rcode != 0 || res->bogus)
		return DNS_TEMPFAIL; /* SERVFAIL, REFUSED, bogus */
	return res->havedata ? DNS_OK : DNS_NODATA;
}

/* Answer every waiter of q; the slot is free before anyone is called. */
static void
deliver(struct query *q, const struct dns_answer *ans)
{
	struct waiter *w = q->waiters, *next;

	q->waiters = NULL;
	q->used = false;
	q->r->pending--;
	for (; w != NULL; w = next) {
		next = w->next;
		w->done(w->cookie, ans);
		free(w);
	}
}

static void
on_result(void *data, int err, struct ub_result *res)
{
	struct query *q = data;
	struct resolv_ub *r = q->r;
	struct dns_answer ans = { ub_rcode(err, res), 0, NULL, 0, 0 };
	span txt[RESOLV_TXT_RRS];
	size_t i;

	if (res != NULL) {
		ans.ttl = (uint32_t)res->ttl;
		ans.secure = res->bogus ? -1 : res->secure ? 1 : 0;
	}
	for (i = 0;
	     ans.rcode == DNS_OK && i < RESOLV_TXT_RRS && res->data[i] != NULL;
	     i++)
		txt[i] = span_make(r->txt[i],
		    txt_join((const uint8_t *)res->data[i], (size_t)res->len[i],
		        r->txt[i], RESOLV_TXT_MAX));
	ans.txt = txt;
	ans.ntxt = ans.rcode == DNS_OK ? i : 0;
	deliver(q, &ans);
	if (res != NULL)
		ub_resolve_free(res);
}

static struct query *
find(struct resolv_ub *r, const char *name, struct query **freeslot)
{
	size_t i;

	*freeslot = NULL;
	for (i = 0; i < r->nq; i++) {
		if (!r->q[i].used) {
			if (*freeslot == NULL)
				*freeslot = &r->q[i];
		} else if (strcmp(r->q[i].name, name) == 0) {
			return &r->q[i];
		}
	}
	return NULL;
}

static int
ub_txt(void *ctx, span qname, dns_done_fn *done, void *cookie)
{
	struct resolv_ub *r = ctx;
	struct query *q, *slot;
	struct waiter *w;
	char name[256];
	size_t i;

	if (qname.len == 0 || qname.len >= sizeof(name))
		return -EINVAL;
	for (i = 0; i < qname.len; i++) /* names match case-blind */
		name[i] = (char)(qname.p[i] >= 'A' && qname.p[i] <= 'Z'
		        ? qname.p[i] + 32
		        : qname.p[i]);
	name[qname.len] = '\0';
	if ((w = malloc(sizeof(*w))) == NULL)
		return -ENOMEM;
	w->done = done;
	w->cookie = cookie;
	if ((q = find(r, name, &slot)) == NULL) {
		if ((q = slot) == NULL) {
			free(w);
			return -EAGAIN; /* more distinct queries than slots */
		}
		memcpy(q->name, name, qname.len + 1);
		q->r = r;
		q->waiters = NULL;
		q->deadline = mono() + r->timeout;
		if (ub_resolve_async(r->ctx, q->name, DNS_T_TXT, DNS_C_IN, q,
		        on_result, &q->id) != 0) {
			free(w);
			return -EIO;
		}
		q->used = true;
		r->pending++;
	}
	w->next = q->waiters;
	q->waiters = w;
	return 0;
}

static void
expire(struct resolv_ub *r)
{
	struct dns_answer ans = { DNS_TEMPFAIL, 0, NULL, 0, 0 };
	double now = mono();
	size_t i;

	for (i = 0; i < r->nq; i++) {
		if (!r->q[i].used || r->q[i].deadline > now)
			continue;
		ub_cancel(r->ctx, r->q[i].id);
		deliver(&r->q[i], &ans);
	}
}

/* Milliseconds until the first deadline, at most ms. */
static int
wait_ms(const struct resolv_ub *r, int ms)
{
	double now = mono(), first = now + ms / 1000.0;
	size_t i;

	for (i = 0; i < r->nq; i++)
		if (r->q[i].used && r->q[i].deadline < first)
			first = r->q[i].deadline;
	return first <= now ? 0 : (int)((first - now) * 1000.0) + 1;
}

void
resolv_ub_poll(struct resolv_ub *r, int ms)
{
	struct pollfd p = { ub_fd(r->ctx), POLLIN, 0 };

	if (r->pending == 0)
		return;
	ms = wait_ms(r, ms);
	if (poll(&p, 1, ms) > 0 || ub_poll(r->ctx))
		ub_process(r->ctx);
	expire(r);
}

void
resolv_ub_ops(struct resolv_ub *r, struct dns_ops *out)
{
	out->ctx = r;
	out->txt = ub_txt;
}
