#include "resolv_unbound.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <unbound.h>

#include "dns_name.h"

#define DNS_C_IN 1

/* RFC 1035 §2.3.4, §3.1: presentation form without the trailing dot. */
#define NAME_MAX_LEN  DNS_NAME_MAX
#define LABEL_MAX_LEN DNS_LABEL_MAX
#define WIRE_MAX_LEN  255

struct waiter {
	dns_done_fn *done;
	void *cookie;
	struct waiter *next;
};

/* One distinct (qtype, qname) in flight. */
struct query {
	struct resolv_ub *r;
	char name[NAME_MAX_LEN + 1]; /* lower case, no trailing dot */
	uint16_t qtype;
	int id; /* libunbound's async id */
	double deadline;
	bool used;
	struct waiter *waiters;
};

/*
 * The decoded answer being delivered lives here, not on the stack: it is
 * valid only during done() (core/dns.h), and only one is delivered at a
 * time because answers arrive from ub_process() on this thread.
 */
struct resolv_ub {
	struct ub_ctx *ctx;
	double timeout;
	struct query *q;
	size_t nq; /* slots */
	size_t pending;
	uint8_t txt[RESOLV_TXT_RRS][RESOLV_TXT_MAX];
	span txtv[RESOLV_TXT_RRS];
	struct dns_addr addr[RESOLV_ADDR_RRS];
	uint8_t name[RESOLV_NAME_RRS][NAME_MAX_LEN];
	span namev[RESOLV_NAME_RRS];
	uint16_t pref[RESOLV_NAME_RRS];
};

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * libunbound answers names under its built-in local zones itself, without
 * asking any server: NXDOMAIN for RFC 6761/7686/8375 names (test, invalid,
 * onion, home.arpa), the RFC 6303 reverse zones (10/8, 172.16/12,
 * 192.168/16, 100.64/10 (RFC 6598), 169.254/16, 0/8, the documentation
 * nets, fd00::/8, fe80::/10, 2001:db8::/32, ...) and fixed data for
 * localhost. A deployment whose own server serves such names (keys, SPF
 * and DMARC records of a .test or home.arpa domain, PTR names of its
 * 10.x addresses) would read "no record" without the server ever being
 * asked. Each of these zones, as libunbound 1.17 enters them (its
 * localzone.c and as112.c), is made transparent without local data, which
 * hands every query under it to the resolution path (the configured
 * server); resolver.arpa and service.arpa are added ahead of versions
 * that make them defaults. "nodefault", the documented switch, is not
 * honoured when set through ub_ctx_set_option() in 1.17 (tried), while a
 * zone configured by name replaces the default one.
 */
static const char *const local_zones[] = {
	"localhost.",
	"127.in-addr.arpa.",
	/* ::1 and :: */
	"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa.",
	"0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa.",
	"onion.",
	"test.",
	"invalid.",
	"home.arpa.",
	"resolver.arpa.",
	"service.arpa.",
	"10.in-addr.arpa.",
	"168.192.in-addr.arpa.",
	"0.in-addr.arpa.",
	"254.169.in-addr.arpa.",
	"2.0.192.in-addr.arpa.",
	"100.51.198.in-addr.arpa.",
	"113.0.203.in-addr.arpa.",
	"255.255.255.255.in-addr.arpa.",
	"d.f.ip6.arpa.",
	"8.e.f.ip6.arpa.",
	"9.e.f.ip6.arpa.",
	"a.e.f.ip6.arpa.",
	"b.e.f.ip6.arpa.",
	"8.b.d.0.1.0.0.2.ip6.arpa.",
};

static int
transparent(struct ub_ctx *ctx, const char *zone)
{
	char v[128];

	snprintf(v, sizeof(v), "%s transparent", zone);
	return ub_ctx_set_option(ctx, "local-zone:", v);
}

/* Forward every name: see local_zones. */
static int
ask_for_local_zones(struct ub_ctx *ctx)
{
	char z[64];
	size_t i;
	unsigned n;
	int e = 0;

	for (i = 0; e == 0 && i < sizeof(local_zones) / sizeof(local_zones[0]);
	     i++)
		e = transparent(ctx, local_zones[i]);
	for (n = 16; e == 0 && n <= 31; n++) { /* 172.16.0.0/12 */
		snprintf(z, sizeof(z), "%u.172.in-addr.arpa.", n);
		e = transparent(ctx, z);
	}
	for (n = 64; e == 0 && n <= 127; n++) { /* 100.64.0.0/10 */
		snprintf(z, sizeof(z), "%u.100.in-addr.arpa.", n);
		e = transparent(ctx, z);
	}
	return e;
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
	if (e == 0)
		e = ask_for_local_zones(r->ctx);
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

/*
 * Decode the uncompressed wire-format name at rd[0..n) (RFC 1035 §3.1;
 * libunbound hands rdata names decompressed) into out, lower case, labels
 * joined by dots, without the trailing dot: the root is the empty string.
 * Returns the wire octets used, or 0 when the name is malformed (runs past
 * n or 255 octets, a compression pointer or reserved label type) or has a
 * label holding a dot or a NUL, which the answer's spans cannot express.
 */
static size_t
name_from_wire(
    const uint8_t *rd, size_t n, uint8_t out[NAME_MAX_LEN], size_t *outlen)
{
	size_t i = 0, o = 0;

	for (;;) {
		size_t l, k;

		if (i >= n || i >= WIRE_MAX_LEN)
			return 0;
		if ((l = rd[i++]) == 0)
			break;
		/* the root octet must still fit in the 255 */
		if (l > LABEL_MAX_LEN || l > n - i || l >= WIRE_MAX_LEN - i)
			return 0;
		/* implied by the line above; kept as the guard of out[] */
		if (l + (o > 0) > NAME_MAX_LEN - o)
			return 0;
		if (o > 0)
			out[o++] = '.';
		for (k = 0; k < l; k++) {
			uint8_t c = rd[i + k];

			if (c == '.' || c == 0)
				return 0;
			if (c >= 'A' && c <= 'Z')
				c = (uint8_t)(c + ('a' - 'A'));
			out[o++] = c;
		}
		i += l;
	}
	*outlen = o;
	return i;
}

/* One name (PTR) or preference and name (MX) filling all of rd[0..n). */
static bool
decode_name(
    struct resolv_ub *r, size_t k, uint16_t qtype, const uint8_t *rd, size_t n)
{
	size_t off = 0, len = 0, used;

	r->pref[k] = 0;
	if (qtype == DNS_T_MX) {
		if (n < 2)
			return false;
		r->pref[k] = (uint16_t)(rd[0] << 8 | rd[1]);
		off = 2;
	}
	used = name_from_wire(rd + off, n - off, r->name[k], &len);
	if (used == 0 || used != n - off)
		return false;
	r->namev[k] = span_make(r->name[k], len);
	return true;
}

static bool
decode_addr(
    struct resolv_ub *r, size_t k, uint16_t qtype, const uint8_t *rd, size_t n)
{
	if (n != (qtype == DNS_T_A ? 4u : 16u))
		return false;
	r->addr[k].len = (uint8_t)n;
	memcpy(r->addr[k].b, rd, n);
	return true;
}

/*
 * Decode the records of res into r's arrays and point ans at them. At most
 * the cap of the type is kept (the first ones, in answer order); a record
 * whose rdata does not parse is skipped, and when records came but none
 * parsed the answer is DNS_TEMPFAIL, as a resolver's FORMERR would be.
 */
static void
decode_records(struct resolv_ub *r, uint16_t qtype, const struct ub_result *res,
    struct dns_answer *ans)
{
	size_t i, k = 0, cap;

	if (qtype == DNS_T_TXT)
		cap = RESOLV_TXT_RRS;
	else if (qtype == DNS_T_A || qtype == DNS_T_AAAA)
		cap = RESOLV_ADDR_RRS;
	else
		cap = RESOLV_NAME_RRS;
	for (i = 0; k < cap && res->data[i] != NULL; i++) {
		const uint8_t *rd = (const uint8_t *)res->data[i];
		size_t n = res->len[i] > 0 ? (size_t)res->len[i] : 0;

		if (qtype == DNS_T_TXT) {
			r->txtv[k] = span_make(r->txt[k],
			    txt_join(rd, n, r->txt[k], RESOLV_TXT_MAX));
			k++;
		} else if (qtype == DNS_T_A || qtype == DNS_T_AAAA)
			k += decode_addr(r, k, qtype, rd, n);
		else
			k += decode_name(r, k, qtype, rd, n);
	}
	if (k == 0) {
		ans->rcode = DNS_TEMPFAIL;
	} else if (qtype == DNS_T_TXT) {
		ans->txt = r->txtv;
		ans->ntxt = k;
	} else if (qtype == DNS_T_A || qtype == DNS_T_AAAA) {
		ans->addr = r->addr;
		ans->naddr = k;
	} else {
		ans->name = r->namev;
		ans->pref = qtype == DNS_T_MX ? r->pref : NULL;
		ans->nname = k;
	}
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

void
resolv_ub_decode(struct resolv_ub *r, uint16_t qtype, int err,
    const struct ub_result *res, struct dns_answer *out)
{
	memset(out, 0, sizeof(*out));
	out->rcode = ub_rcode(err, res);
	if (res == NULL)
		return;
	out->ttl = res->ttl > 0 ? (uint32_t)res->ttl : 0;
	out->secure = res->bogus ? -1 : res->secure ? 1 : 0;
	if (out->rcode == DNS_OK && res->data != NULL && res->len != NULL)
		decode_records(r, qtype, res, out);
	else if (out->rcode == DNS_OK)
		out->rcode = DNS_TEMPFAIL;
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
	struct dns_answer ans;

	resolv_ub_decode(q->r, q->qtype, err, res, &ans);
	deliver(q, &ans);
	if (res != NULL)
		ub_resolve_free(res);
}

static struct query *
find(struct resolv_ub *r, uint16_t qtype, const char *name,
    struct query **freeslot)
{
	size_t i;

	*freeslot = NULL;
	for (i = 0; i < r->nq; i++) {
		if (!r->q[i].used) {
			if (*freeslot == NULL)
				*freeslot = &r->q[i];
		} else if (r->q[i].qtype == qtype &&
		    strcmp(r->q[i].name, name) == 0) {
			return &r->q[i];
		}
	}
	return NULL;
}

/*
 * libunbound parses its qname as presentation format, where a backslash
 * starts an escape; every byte but a letter, digit, '-', '_' or the label
 * dot is sent as \DDD, so the name queried is exactly the bytes given.
 */
static void
name_escape(const char *key, char out[4 * NAME_MAX_LEN + 1])
{
	size_t o = 0;

	for (; *key != '\0'; key++) {
		uint8_t c = (uint8_t)*key;

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.') {
			out[o++] = (char)c;
			continue;
		}
		out[o++] = '\\';
		out[o++] = (char)('0' + c / 100);
		out[o++] = (char)('0' + c / 10 % 10);
		out[o++] = (char)('0' + c % 10);
	}
	out[o] = '\0';
}

/* Start the lookup for q (name and qtype set); -errno if it cannot. */
static int
submit(struct resolv_ub *r, struct query *q)
{
	char wire[4 * NAME_MAX_LEN + 1];

	name_escape(q->name, wire);
	q->r = r;
	q->waiters = NULL;
	q->deadline = mono() + r->timeout;
	if (ub_resolve_async(
	        r->ctx, wire, q->qtype, DNS_C_IN, q, on_result, &q->id) != 0)
		return -EIO;
	q->used = true;
	r->pending++;
	return 0;
}

static int
ub_query(void *ctx, uint16_t qtype, span qname, dns_done_fn *done, void *cookie)
{
	struct resolv_ub *r = ctx;
	struct query *q, *slot;
	struct waiter *w;
	char key[NAME_MAX_LEN + 1];
	int rc;

	if (!dns_qtype_ok(qtype))
		return -EINVAL;
	if (!dns_name_norm(qname, key))
		return -EINVAL;
	if ((w = malloc(sizeof(*w))) == NULL)
		return -ENOMEM;
	w->done = done;
	w->cookie = cookie;
	if ((q = find(r, qtype, key, &slot)) == NULL) {
		if ((q = slot) == NULL) {
			free(w);
			return -EAGAIN; /* more distinct queries than slots */
		}
		memcpy(q->name, key, sizeof(key));
		q->qtype = qtype;
		if ((rc = submit(r, q)) != 0) {
			free(w);
			return rc;
		}
	}
	w->next = q->waiters;
	q->waiters = w;
	return 0;
}

static int
ub_txt(void *ctx, span qname, dns_done_fn *done, void *cookie)
{
	return ub_query(ctx, DNS_T_TXT, qname, done, cookie);
}

static void
expire(struct resolv_ub *r)
{
	struct dns_answer ans;
	double now = mono();
	size_t i;

	memset(&ans, 0, sizeof(ans));
	ans.rcode = DNS_TEMPFAIL;
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
	out->query = ub_query;
}
