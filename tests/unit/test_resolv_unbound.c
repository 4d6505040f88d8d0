/*
 * Unit tests for io/resolv_unbound.c without a network: the decoding of
 * libunbound results (hand-built struct ub_result, each rdata in a heap
 * block of its exact size so that ASan catches any over-read), and the
 * queue against a UDP socket on loopback that never answers (coalescing,
 * timeouts, refused names). The answers of a real server are covered by
 * tests/sh/dns_live.sh.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <unbound.h>

#include "core/dns.h"
#include "core/span.h"
#include "io/resolv_unbound.h"

#define MAXRR 300

/* A ub_result whose rdata are separate exact-size heap blocks. */
struct fres {
	struct ub_result res;
	char *data[MAXRR + 1];
	int len[MAXRR + 1];
	size_t n;
};

static void
fres_init(struct fres *f, int rcode, int havedata)
{
	memset(f, 0, sizeof(*f));
	f->res.rcode = rcode;
	f->res.havedata = havedata;
	f->res.ttl = 300;
	f->res.data = f->data;
	f->res.len = f->len;
}

static void
fres_add(struct fres *f, const void *rd, size_t n)
{
	assert_true(f->n < MAXRR);
	f->data[f->n] = malloc(n > 0 ? n : 1);
	assert_non_null(f->data[f->n]);
	if (n > 0)
		memcpy(f->data[f->n], rd, n);
	f->len[f->n++] = (int)n;
}

static void
fres_fini(struct fres *f)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		free(f->data[i]);
}

static struct resolv_ub *
new_ub(const char *server, double timeout)
{
	struct resolv_ub_opts o = { server, NULL, timeout, 0 };
	struct resolv_ub *r = NULL;
	char err[160];

	if (resolv_ub_new(&o, &r, err, sizeof(err)) != 0)
		fail_msg("resolv_ub_new: %s", err);
	return r;
}

static void
assert_span_str(span s, const char *want)
{
	assert_int_equal(s.len, strlen(want));
	assert_memory_equal(s.p, want, s.len);
}

static void
t_resolv_ub_decode_rcodes(void **state)
{
	struct resolv_ub *r = new_ub("127.0.0.1@1", 1);
	struct dns_answer a;
	struct fres f;

	(void)state;
	resolv_ub_decode(r, DNS_T_A, UB_SERVFAIL, NULL, &a);
	assert_int_equal(a.rcode, DNS_TEMPFAIL);
	fres_init(&f, 3, 0);
	f.res.secure = 1;
	resolv_ub_decode(r, DNS_T_MX, 0, &f.res, &a);
	assert_int_equal(a.rcode, DNS_NXDOMAIN);
	assert_int_equal(a.secure, 1);
	assert_int_equal(a.ttl, 300);
	fres_init(&f, 0, 0);
	resolv_ub_decode(r, DNS_T_PTR, 0, &f.res, &a);
	assert_int_equal(a.rcode, DNS_NODATA);
	assert_int_equal(a.secure, 0);
	fres_init(&f, 2, 0);
	resolv_ub_decode(r, DNS_T_A, 0, &f.res, &a);
	assert_int_equal(a.rcode, DNS_TEMPFAIL);
	fres_init(&f, 0, 1);
	f.res.bogus = 1;
	fres_add(&f, "\xc0\x00\x02\x01", 4);
	resolv_ub_decode(r, DNS_T_A, 0, &f.res, &a);
	assert_int_equal(a.rcode, DNS_TEMPFAIL);
	assert_int_equal(a.secure, -1);
	assert_int_equal(a.naddr, 0);
	fres_fini(&f);
	fres_init(&f, 0, 1);
	f.res.ttl = -5;
	resolv_ub_decode(r, DNS_T_A, 0, &f.res, &a); /* havedata, no data */
	assert_int_equal(a.rcode, DNS_TEMPFAIL);
	assert_int_equal(a.ttl, 0);
	resolv_ub_free(r);
}

static void
t_resolv_ub_decode_addr(void **state)
{
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	struct resolv_ub *r = new_ub("127.0.0.1@1", 1);
	struct dns_answer a;
	struct fres f;

	(void)state;
	fres_init(&f, 0, 1);
	f.res.secure = 1;
	fres_add(&f, "\xc0\x00\x02\x01", 4);
	fres_add(&f, "\xc0\x00\x02", 3);         /* short: skipped */
	fres_add(&f, "\xc0\x00\x02\x02\x00", 5); /* long: skipped */
	fres_add(&f, "", 0);
	fres_add(&f, "\xc0\x00\x02\x03", 4);
	resolv_ub_decode(r, DNS_T_A, 0, &f.res, &a);
	assert_int_equal(a.rcode, DNS_OK);
	assert_int_equal(a.secure, 1);
	assert_int_equal(a.naddr, 2);
	assert_int_equal(a.addr[0].len, 4);
	assert_memory_equal(a.addr[0].b, "\xc0\x00\x02\x01", 4);
	assert_memory_equal(a.addr[1].b, "\xc0\x00\x02\x03", 4);
	assert_int_equal(a.nname + a.ntxt, 0);
	assert_null(a.name);
	assert_null(a.txt);
	/* the same rdata asked as AAAA: nothing fits, a broken answer */
	resolv_ub_decode(r, DNS_T_AAAA, 0, &f.res, &a);
	assert_int_equal(a.rcode, DNS_TEMPFAIL);
	assert_int_equal(a.naddr, 0);
	assert_null(a.addr);
	fres_fini(&f);
	fres_init(&f, 0, 1);
	fres_add(&f, v6, 16);
	resolv_ub_decode(r, DNS_T_AAAA, 0, &f.res, &a);
	assert_int_equal(a.rcode, DNS_OK);
	assert_int_equal(a.naddr, 1);
	assert_int_equal(a.addr[0].len, 16);
	assert_memory_equal(a.addr[0].b, v6, 16);
	fres_fini(&f);
	resolv_ub_free(r);
}

static void
t_resolv_ub_decode_addr_cap(void **state)
{
	struct resolv_ub *r = new_ub("127.0.0.1@1", 1);
	struct dns_answer a;
	struct fres f;
	uint8_t ip[4] = { 10, 0, 0, 0 };
	size_t i;

	(void)state;
	fres_init(&f, 0, 1);
	for (i = 0; i < 200; i++) {
		ip[3] = (uint8_t)i;
		fres_add(&f, ip, 4);
	}
	resolv_ub_decode(r, DNS_T_A, 0, &f.res, &a);
	assert_int_equal(a.rcode, DNS_OK);
	assert_int_equal(a.naddr, RESOLV_ADDR_RRS);
	assert_int_equal(a.addr[RESOLV_ADDR_RRS - 1].b[3], RESOLV_ADDR_RRS - 1);
	fres_fini(&f);
	resolv_ub_free(r);
}

static void
t_resolv_ub_decode_mx(void **state)
{
	struct resolv_ub *r = new_ub("127.0.0.1@1", 1);
	struct dns_answer a;
	struct fres f;

	(void)state;
	fres_init(&f, 0, 1);
	fres_add(&f,
	    "\x00\x0a\x04MAIL\x07"
	    "Example\x03org\x00",
	    20);
	fres_add(&f, "\x00\x00\x00", 3);         /* null MX (RFC 7505) */
	fres_add(&f, "\x00\x05", 2);             /* no name */
	fres_add(&f, "\x00", 1);                 /* not even a preference */
	fres_add(&f, "\x00\x05\x04mail", 7);     /* no root label */
	fres_add(&f, "\x00\x05\x09mail\x00", 8); /* label past the end */
	fres_add(&f, "\x00\x05\xc0\x0c", 4);     /* compression pointer */
	fres_add(&f, "\x00\x05\x41mail\x00", 8); /* reserved label type */
	fres_add(&f, "\x00\x05\x00\x00", 4);     /* trailing bytes */
	fres_add(&f,
	    "\x00\x05\x03"
	    "a.b\x00",
	    7); /* a dot in a label */
	fres_add(&f,
	    "\x00\x05\x03"
	    "a\0b\x00",
	    7); /* a NUL in a label */
	fres_add(&f, "\xff\xff\x01x\x00", 5);
	resolv_ub_decode(r, DNS_T_MX, 0, &f.res, &a);
	assert_int_equal(a.rcode, DNS_OK);
	assert_int_equal(a.nname, 3);
	assert_non_null(a.pref);
	assert_int_equal(a.pref[0], 10);
	assert_span_str(a.name[0], "mail.example.org");
	assert_int_equal(a.pref[1], 0);
	assert_int_equal(a.name[1].len, 0);
	assert_int_equal(a.pref[2], 65535);
	assert_span_str(a.name[2], "x");
	assert_int_equal(a.naddr + a.ntxt, 0);
	fres_fini(&f);
	resolv_ub_free(r);
}

/* A wire name of n octets: labels of 63 and a last one to make n. */
static size_t
long_name(uint8_t *w, size_t n)
{
	size_t i = 0;

	while (n - i - 1 > 64) {
		w[i++] = 63;
		memset(w + i, 'a', 63);
		i += 63;
	}
	w[i] = (uint8_t)(n - i - 2);
	memset(w + i + 1, 'b', n - i - 2);
	w[n - 1] = 0;
	return n;
}

static void
t_resolv_ub_decode_ptr(void **state)
{
	struct resolv_ub *r = new_ub("127.0.0.1@1", 1);
	struct dns_answer a;
	struct fres f;
	uint8_t w[300];

	(void)state;
	fres_init(&f, 0, 1);
	fres_add(&f,
	    "\x04Host\x07"
	    "example\x00",
	    14);
	fres_add(&f, w, long_name(w, 255)); /* the longest name */
	fres_add(&f, w, long_name(w, 256)); /* one octet too long */
	fres_add(&f, "\x00", 1);            /* the root */
	resolv_ub_decode(r, DNS_T_PTR, 0, &f.res, &a);
	assert_int_equal(a.rcode, DNS_OK);
	assert_int_equal(a.nname, 3);
	assert_null(a.pref);
	assert_span_str(a.name[0], "host.example");
	assert_int_equal(a.name[1].len, 253);
	assert_int_equal(a.name[1].p[63], '.');
	assert_int_equal(a.name[1].p[252], 'b');
	assert_int_equal(a.name[2].len, 0);
	fres_fini(&f);
	/* a name cut short in the middle of every possible place */
	fres_init(&f, 0, 1);
	long_name(w, 255);
	for (size_t n = 0; n < 255; n++)
		fres_add(&f, w, n);
	resolv_ub_decode(r, DNS_T_PTR, 0, &f.res, &a);
	assert_int_equal(a.rcode, DNS_TEMPFAIL);
	assert_int_equal(a.nname, 0);
	fres_fini(&f);
	resolv_ub_free(r);
}

static void
t_resolv_ub_decode_name_cap(void **state)
{
	struct resolv_ub *r = new_ub("127.0.0.1@1", 1);
	struct dns_answer a;
	struct fres f;
	uint8_t rd[16];
	size_t i;

	(void)state;
	fres_init(&f, 0, 1);
	for (i = 0; i < 100; i++) {
		int n = snprintf((char *)rd + 3, sizeof(rd) - 3, "m%zu", i);

		rd[0] = 0;
		rd[1] = (uint8_t)i;
		rd[2] = (uint8_t)n;
		rd[3 + n] = 0;
		fres_add(&f, rd, (size_t)n + 4);
	}
	resolv_ub_decode(r, DNS_T_MX, 0, &f.res, &a);
	assert_int_equal(a.rcode, DNS_OK);
	assert_int_equal(a.nname, RESOLV_NAME_RRS);
	assert_int_equal(a.pref[RESOLV_NAME_RRS - 1], RESOLV_NAME_RRS - 1);
	fres_fini(&f);
	resolv_ub_free(r);
}

static void
t_resolv_ub_decode_txt(void **state)
{
	struct resolv_ub *r = new_ub("127.0.0.1@1", 1);
	struct dns_answer a;
	struct fres f;
	size_t i;

	(void)state;
	fres_init(&f, 0, 1);
	fres_add(&f,
	    "\x03v=a\x02"
	    "bc",
	    7);
	fres_add(&f,
	    "\x05"
	    "ab",
	    3); /* string past the end: what fits */
	for (i = 0; i < 20; i++)
		fres_add(&f, "\x01x", 2);
	resolv_ub_decode(r, DNS_T_TXT, 0, &f.res, &a);
	assert_int_equal(a.rcode, DNS_OK);
	assert_int_equal(a.ntxt, RESOLV_TXT_RRS);
	assert_span_str(a.txt[0], "v=abc");
	assert_int_equal(a.txt[1].len, 0);
	assert_span_str(a.txt[2], "x");
	assert_int_equal(a.naddr + a.nname, 0);
	fres_fini(&f);
	resolv_ub_free(r);
}

/* A UDP socket on loopback that reads queries and never answers. */
static int
silent_server(char *addr, size_t len)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
		close(fd);
		return -1;
	}
	snprintf(addr, len, "127.0.0.1@%u", (unsigned)ntohs(sa.sin_port));
	return fd;
}

/*
 * Read the queries that have arrived; bit 0 of *seen: (x.example.com, A),
 * bit 1: (x.example.com, MX), bit 2: anything else.
 */
static void
drain(int fd, unsigned *seen)
{
	static const uint8_t qx[] = "\x01x\x07"
	                            "example\x03"
	                            "com";
	uint8_t m[512];
	ssize_t n;

	while ((n = recv(fd, m, sizeof(m), MSG_DONTWAIT)) > 0) {
		size_t q = 12 + sizeof(qx), t;

		if ((size_t)n < q + 2 || memcmp(m + 12, qx, sizeof(qx)) != 0) {
			*seen |= 4;
			continue;
		}
		t = (size_t)m[q] << 8 | m[q + 1];
		*seen |= t == DNS_T_A ? 1u : t == DNS_T_MX ? 2u : 4u;
	}
}

struct count {
	int calls;
	enum dns_rcode rcode;
};

static void
count_done(void *cookie, const struct dns_answer *ans)
{
	struct count *c = cookie;

	c->calls++;
	c->rcode = ans->rcode;
}

static void
t_resolv_ub_query_coalesce_timeout(void **state)
{
	struct count c[5];
	struct resolv_ub *r;
	struct dns_ops ops;
	char addr[32];
	unsigned seen = 0;
	int fd, i;

	(void)state;
	if ((fd = silent_server(addr, sizeof(addr))) < 0)
		skip();
	memset(c, 0, sizeof(c));
	r = new_ub(addr, 0.5);
	resolv_ub_ops(r, &ops);
	assert_non_null(ops.query);
	/*
	 * Same name and type, whatever the case or trailing dot: one lookup.
	 */
	assert_int_equal(ops.query(ops.ctx, DNS_T_A, span_cstr("x.example.com"),
	                     count_done, &c[0]),
	    0);
	assert_int_equal(ops.query(ops.ctx, DNS_T_A,
	                     span_cstr("X.Example.COM."), count_done, &c[1]),
	    0);
	assert_int_equal(resolv_ub_pending(r), 1);
	/* another type for the same name is a lookup of its own */
	assert_int_equal(ops.query(ops.ctx, DNS_T_MX,
	                     span_cstr("x.example.com"), count_done, &c[2]),
	    0);
	assert_int_equal(resolv_ub_pending(r), 2);
	/* txt() is query(TXT): coalesced with it, apart from A and MX */
	assert_int_equal(
	    ops.txt(ops.ctx, span_cstr("x.example.com"), count_done, &c[3]), 0);
	assert_int_equal(ops.query(ops.ctx, DNS_T_TXT,
	                     span_cstr("x.example.com"), count_done, &c[4]),
	    0);
	assert_int_equal(resolv_ub_pending(r), 3);
	for (i = 0; i < 100 && resolv_ub_pending(r) > 0; i++) {
		resolv_ub_poll(r, 50);
		drain(fd, &seen);
	}
	assert_int_equal(resolv_ub_pending(r), 0);
	for (i = 0; i < 5; i++) {
		assert_int_equal(c[i].calls, 1);
		assert_int_equal(c[i].rcode, DNS_TEMPFAIL);
	}
	drain(fd, &seen);
	assert_int_equal(seen & 3u, 3u); /* both were asked */
	resolv_ub_free(r);
	close(fd);
}

static void
t_resolv_ub_query_refused(void **state)
{
	static const char *const bad[] = { "", ".", "a..b", ".a", "a.b..",
		("a234567890123456789012345678901234567890123456789012345678901234"
		 ".test") };
	struct resolv_ub *r = new_ub("127.0.0.1@1", 1);
	struct dns_ops ops;
	struct count c = { 0, DNS_OK };
	char name[300];
	size_t i;

	(void)state;
	resolv_ub_ops(r, &ops);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(ops.query(ops.ctx, DNS_T_A, span_cstr(bad[i]),
		                     count_done, &c),
		    -EINVAL);
		assert_int_equal(
		    ops.txt(ops.ctx, span_cstr(bad[i]), count_done, &c),
		    -EINVAL);
	}
	assert_int_equal(
	    ops.query(ops.ctx, DNS_T_A,
	        span_make((const uint8_t *)"a\0b.test", 8), count_done, &c),
	    -EINVAL);
	memset(name, 'a', sizeof(name));
	for (i = 63; i < sizeof(name); i += 64)
		name[i] = '.';
	assert_int_equal(
	    ops.query(ops.ctx, DNS_T_A, span_make((const uint8_t *)name, 254),
	        count_done, &c),
	    -EINVAL);
	assert_int_equal(
	    ops.query(ops.ctx, 5, span_cstr("a.test"), count_done, &c),
	    -EINVAL);
	assert_int_equal(
	    ops.query(ops.ctx, 255, span_cstr("a.test"), count_done, &c),
	    -EINVAL);
	assert_int_equal(resolv_ub_pending(r), 0);
	/* the longest name and odd bytes are queued (and cancelled by free) */
	assert_int_equal(
	    ops.query(ops.ctx, DNS_T_A, span_make((const uint8_t *)name, 253),
	        count_done, &c),
	    0);
	assert_int_equal(ops.query(ops.ctx, DNS_T_A,
	                     span_cstr("a\\065\"b c\xff.test"), count_done, &c),
	    0);
	assert_int_equal(resolv_ub_pending(r), 2);
	resolv_ub_free(r);
	assert_int_equal(c.calls, 0);
}

/*
 * Names under libunbound's built-in local zones (RFC 6761, 7686, 8375,
 * RFC 6303 reverse zones, localhost) go to the configured server like
 * any other: the silent server lets each time out (tempfail), where the
 * library would otherwise answer NXDOMAIN (or loopback) without asking.
 */
static void
t_resolv_ub_query_local_zones_asked(void **state)
{
	static const char *const names[] = { "k._domainkey.corp.test",
		"x.invalid", "x.onion", "x.home.arpa", "x.localhost",
		"localhost", "10.0.0.10.in-addr.arpa",
		"1.0.16.172.in-addr.arpa", "1.0.31.172.in-addr.arpa",
		"1.1.168.192.in-addr.arpa", "1.0.64.100.in-addr.arpa",
		"1.0.127.100.in-addr.arpa", "1.1.254.169.in-addr.arpa",
		"7.2.0.192.in-addr.arpa", "1.0.0.127.in-addr.arpa",
		"1.0.0.0.in-addr.arpa",
		"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f."
		"ip6.arpa",
		"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
		"ip6.arpa",
		"x.8.e.f.ip6.arpa", "x.b.e.f.ip6.arpa",
		"x.8.b.d.0.1.0.0.2.ip6.arpa" };
	enum {
		N = sizeof(names) / sizeof(names[0])
	};
	struct count c[N];
	struct resolv_ub *r;
	struct dns_ops ops;
	char addr[32];
	unsigned seen = 0;
	size_t i;
	int fd, k;

	(void)state;
	if ((fd = silent_server(addr, sizeof(addr))) < 0)
		skip();
	memset(c, 0, sizeof(c));
	r = new_ub(addr, 0.5);
	resolv_ub_ops(r, &ops);
	for (i = 0; i < N; i++)
		assert_int_equal(
		    ops.query(ops.ctx, i % 2 ? DNS_T_PTR : DNS_T_TXT,
		        span_cstr(names[i]), count_done, &c[i]),
		    0);
	for (k = 0; k < 100 && resolv_ub_pending(r) > 0; k++) {
		resolv_ub_poll(r, 50);
		drain(fd, &seen);
	}
	assert_int_equal(resolv_ub_pending(r), 0);
	for (i = 0; i < N; i++) {
		if (c[i].calls != 1 || c[i].rcode != DNS_TEMPFAIL)
			fail_msg("%s: %d answers, rcode %d: not asked",
			    names[i], c[i].calls, (int)c[i].rcode);
	}
	assert_true(seen & 4u); /* queries reached the server */
	resolv_ub_free(r);
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_resolv_ub_decode_rcodes),
		cmocka_unit_test(t_resolv_ub_decode_addr),
		cmocka_unit_test(t_resolv_ub_decode_addr_cap),
		cmocka_unit_test(t_resolv_ub_decode_mx),
		cmocka_unit_test(t_resolv_ub_decode_ptr),
		cmocka_unit_test(t_resolv_ub_decode_name_cap),
		cmocka_unit_test(t_resolv_ub_decode_txt),
		cmocka_unit_test(t_resolv_ub_query_coalesce_timeout),
		cmocka_unit_test(t_resolv_ub_query_refused),
		cmocka_unit_test(t_resolv_ub_query_local_zones_asked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
