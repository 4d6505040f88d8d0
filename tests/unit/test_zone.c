/*
 * Unit tests for io/zone.c: small master files written to a temporary
 * directory, plus the RFC 8463 zone from the shared test suite (the binary
 * runs with the repository root as its working directory).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/dns.h"
#include "core/span.h"
#include "io/zone.h"

#define RFC8463_ZONE "../shared/testsuites/rfc8463/keys.zone"
#define RFC8463_RSA \
	"../shared/testsuites/rfc8463/test._domainkey.football.example.com.txt"

static char tmpdir[64];

/* Write text to a fresh file in tmpdir; returns its path (static buffer). */
static const char *
write_zone(const char *name, const char *text)
{
	static char path[128];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
	return path;
}

static struct resolv_zone *
load_text(const char *text)
{
	struct resolv_zone *z = NULL;
	char err[256];
	int rc;

	rc = resolv_zone_load(write_zone("t.zone", text), &z, err, sizeof(err));
	if (rc != 0)
		fail_msg("load: %s", err);
	return z;
}

static struct dns_answer
txt(const struct resolv_zone *z, const char *name)
{
	struct dns_answer a;

	assert_int_equal(resolv_zone_txt(z, span_cstr(name), &a), 0);
	return a;
}

static void
assert_span_str(span s, const char *want)
{
	assert_int_equal(s.len, strlen(want));
	assert_memory_equal(s.p, want, s.len);
}

static void
t_resolv_zone_txt_multistring_join(void **state)
{
	struct resolv_zone *z;
	struct dns_answer a;

	(void)state;
	z = load_text("$ORIGIN example.com.\n$TTL 600\n"
	              "k TXT \"v=DKIM1; \" \"p=AB\" \"CD\"\n"
	              "k 100 TXT ( \"second\"\n   \" rr\" )\n");
	a = txt(z, "k.example.com");
	assert_int_equal(a.rcode, DNS_OK);
	assert_int_equal(a.ntxt, 2);
	assert_span_str(a.txt[0], "v=DKIM1; p=ABCD");
	assert_span_str(a.txt[1], "second rr");
	assert_int_equal(a.ttl, 100);
	resolv_zone_free(z);
}

static void
t_resolv_zone_txt_cname_follow(void **state)
{
	struct resolv_zone *z;
	struct dns_answer a;

	(void)state;
	z = load_text("$ORIGIN example.com.\n"
	              "a 300 CNAME b\n"
	              "b 200 CNAME c.example.com.\n"
	              "c 400 TXT \"target\"\n"
	              "loop1 CNAME loop2\nloop2 CNAME loop1\n"
	              "dangling CNAME nowhere\n");
	a = txt(z, "a.example.com");
	assert_int_equal(a.rcode, DNS_OK);
	assert_int_equal(a.ntxt, 1);
	assert_span_str(a.txt[0], "target");
	assert_int_equal(a.ttl, 200);
	assert_int_equal(txt(z, "loop1.example.com").rcode, DNS_TEMPFAIL);
	assert_int_equal(txt(z, "dangling.example.com").rcode, DNS_NXDOMAIN);
	resolv_zone_free(z);
}

static void
t_resolv_zone_txt_cname_limit(void **state)
{
	struct resolv_zone *z;

	(void)state;
	/* n0 -> n8 is 8 hops: allowed; m0 -> m9 is 9: refused. */
	z = load_text("$ORIGIN x.\n"
	              "n0 CNAME n1\nn1 CNAME n2\nn2 CNAME n3\nn3 CNAME n4\n"
	              "n4 CNAME n5\nn5 CNAME n6\nn6 CNAME n7\nn7 CNAME n8\n"
	              "n8 TXT \"end\"\n"
	              "m0 CNAME n0\n");
	assert_int_equal(txt(z, "n0.x").rcode, DNS_OK);
	assert_int_equal(txt(z, "m0.x").rcode, DNS_TEMPFAIL);
	resolv_zone_free(z);
}

static void
t_resolv_zone_txt_nxdomain_nodata(void **state)
{
	struct resolv_zone *z;
	struct dns_answer a;

	(void)state;
	z = load_text("$ORIGIN example.com.\n"
	              "host A 192.0.2.1\n"
	              "s._domainkey.deep TXT \"k\"\n");
	a = txt(z, "host.example.com");
	assert_int_equal(a.rcode, DNS_NODATA);
	assert_int_equal(a.ntxt, 0);
	assert_null(a.txt);
	/* Empty non-terminals exist: a name below them does. */
	assert_int_equal(
	    txt(z, "_domainkey.deep.example.com").rcode, DNS_NODATA);
	assert_int_equal(txt(z, "deep.example.com").rcode, DNS_NODATA);
	assert_int_equal(txt(z, "nope.example.com").rcode, DNS_NXDOMAIN);
	assert_int_equal(txt(z, "x.host.example.com").rcode, DNS_NXDOMAIN);
	resolv_zone_free(z);
}

static void
t_resolv_zone_txt_case_insensitive(void **state)
{
	struct resolv_zone *z;
	struct dns_answer a;

	(void)state;
	z = load_text("$ORIGIN Example.COM.\nMixed TXT \"Case Kept\"\n");
	a = txt(z, "mIXED.eXAMPLE.com.");
	assert_int_equal(a.rcode, DNS_OK);
	assert_span_str(a.txt[0], "Case Kept");
	assert_int_equal(txt(z, "mixed.example.com").rcode, DNS_OK);
	resolv_zone_free(z);
}

static void
t_resolv_zone_txt_tempfail_marker(void **state)
{
	struct resolv_zone *z;

	(void)state;
	z = load_text("$ORIGIN example.com.\n"
	              "bad TXT \"HANKO-TEMPFAIL\"\n"
	              "alias CNAME bad\n"
	              "ok TXT \"HANKO-TEMPFAIL\" \"x\"\n");
	assert_int_equal(txt(z, "bad.example.com").rcode, DNS_TEMPFAIL);
	assert_int_equal(txt(z, "alias.example.com").rcode, DNS_TEMPFAIL);
	assert_int_equal(txt(z, "ok.example.com").rcode, DNS_OK);
	resolv_zone_free(z);
}

static void
t_resolv_zone_load_syntax_error(void **state)
{
	struct resolv_zone *z = NULL;
	char err[256], want[160];
	const char *path;
	int rc;

	(void)state;
	path = write_zone("bad.zone",
	    "$ORIGIN example.com.\n"
	    "ok TXT \"fine\"\n"
	    "\n"
	    "broken A 1.2.3\n");
	rc = resolv_zone_load(path, &z, err, sizeof(err));
	assert_int_equal(rc, -EINVAL);
	assert_null(z);
	snprintf(want, sizeof(want), "%s:4: ", path);
	assert_true(strncmp(err, want, strlen(want)) == 0);
}

static void
t_resolv_zone_load_missing_file(void **state)
{
	struct resolv_zone *z = NULL;
	char err[256];

	(void)state;
	assert_int_equal(
	    resolv_zone_load("/nonexistent/x.zone", &z, err, sizeof(err)),
	    -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/x.zone"));
}

static void
t_resolv_zone_load_include_rejected(void **state)
{
	struct resolv_zone *z = NULL;
	char err[256];
	const char *path;

	(void)state;
	path = write_zone("inc.zone", "a TXT \"x\"\n$INCLUDE other.zone\n");
	assert_int_equal(resolv_zone_load(path, &z, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, ":2: $INCLUDE"));
}

static void
t_resolv_zone_query_types(void **state)
{
	static const uint8_t v4[4] = { 192, 0, 2, 7 };
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	struct resolv_zone *z;
	struct resolv_answer a;

	(void)state;
	z = load_text("$ORIGIN example.org.\n$TTL 60\n"
	              "@ MX 10 mail\n@ MX 20 Backup.Example.NET.\n"
	              "mail A 192.0.2.7\nmail AAAA 2001:db8::1\n"
	              "7.2.0.192.in-addr.arpa. PTR mail\n");
	assert_int_equal(
	    resolv_zone_query(z, span_cstr("example.org"), RESOLV_T_MX, &a), 0);
	assert_int_equal(a.rcode, DNS_OK);
	assert_int_equal(a.nrr, 2);
	assert_int_equal(a.rr[0].pref, 10);
	assert_span_str(a.rr[0].data, "mail.example.org");
	assert_span_str(a.rr[1].data, "backup.example.net");
	assert_int_equal(
	    resolv_zone_query(z, span_cstr("mail.example.org"), RESOLV_T_A, &a),
	    0);
	assert_int_equal(a.nrr, 1);
	assert_memory_equal(a.rr[0].data.p, v4, 4);
	assert_int_equal(resolv_zone_query(z, span_cstr("mail.example.org"),
	                     RESOLV_T_AAAA, &a),
	    0);
	assert_memory_equal(a.rr[0].data.p, v6, 16);
	assert_int_equal(
	    resolv_zone_query(
	        z, span_cstr("7.2.0.192.in-addr.arpa"), RESOLV_T_PTR, &a),
	    0);
	assert_span_str(a.rr[0].data, "mail.example.org");
	assert_int_equal(
	    resolv_zone_query(z, span_cstr("example.org"), 2, &a), -EINVAL);
	assert_int_equal(
	    resolv_zone_query(z, span_cstr("."), RESOLV_T_A, &a), -EINVAL);
	resolv_zone_free(z);
}

struct capture {
	int calls;
	enum dns_rcode rcode;
	size_t ntxt;
};

static void
capture_done(void *cookie, const struct dns_answer *ans)
{
	struct capture *c = cookie;

	c->calls++;
	c->rcode = ans->rcode;
	c->ntxt = ans->ntxt;
}

static void
t_resolv_zone_ops_sync_done(void **state)
{
	struct resolv_zone *z;
	struct dns_ops ops;
	struct capture c = { 0, DNS_PERMFAIL, 0 };

	(void)state;
	z = load_text("a.test. TXT \"x\"\n");
	resolv_zone_ops(z, &ops);
	assert_int_equal(
	    ops.txt(ops.ctx, span_cstr("a.test"), capture_done, &c), 0);
	assert_int_equal(c.calls, 1);
	assert_int_equal(c.rcode, DNS_OK);
	assert_int_equal(c.ntxt, 1);
	assert_int_equal(
	    ops.txt(ops.ctx, span_cstr(""), capture_done, &c), -EINVAL);
	assert_int_equal(c.calls, 1);
	resolv_zone_free(z);
}

/* One answer through ops->query(), which must call done() before return. */
struct qcap {
	int calls;
	struct dns_answer a;
};

static void
qcap_done(void *cookie, const struct dns_answer *ans)
{
	struct qcap *c = cookie;

	c->calls++;
	c->a = *ans; /* the arrays are the zone's: valid until free */
}

static struct dns_answer
query(struct resolv_zone *z, uint16_t qtype, const char *name)
{
	struct dns_ops ops;
	struct qcap c;

	memset(&c, 0, sizeof(c));
	resolv_zone_ops(z, &ops);
	assert_non_null(ops.query);
	assert_int_equal(
	    ops.query(ops.ctx, qtype, span_cstr(name), qcap_done, &c), 0);
	assert_int_equal(c.calls, 1);
	if (c.a.rcode != DNS_OK) {
		assert_int_equal(c.a.naddr + c.a.nname + c.a.ntxt, 0);
		assert_null(c.a.addr);
		assert_null(c.a.name);
		assert_null(c.a.txt);
	}
	return c.a;
}

static const char typed_zone[] =
    "$ORIGIN example.org.\n$TTL 60\n"
    "@ MX 10 Mail\n@ 30 MX 20 Backup.Example.NET.\n"
    "mail A 192.0.2.7\nmail A 192.0.2.8\nmail 40 AAAA 2001:db8::1\n"
    "nomail MX 0 .\n"
    "www CNAME mail\n"
    "mxalias 20 CNAME example.org.\n"
    "7.2.0.192.in-addr.arpa. PTR mail\n"
    "7.2.0.192.in-addr.arpa. PTR Other.Example.\n"
    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"
    ".ip6.arpa. PTR mail.example.org.\n"
    "txt TXT \"v=spf1 \" \"-all\"\n"
    "bad TXT \"HANKO-TEMPFAIL\"\n"
    "bad A 192.0.2.99\n"
    "badalias CNAME bad\n";

static void
t_resolv_zone_query_a_aaaa(void **state)
{
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	struct resolv_zone *z;
	struct dns_answer a;

	(void)state;
	z = load_text(typed_zone);
	a = query(z, DNS_T_A, "MAIL.example.org.");
	assert_int_equal(a.rcode, DNS_OK);
	assert_int_equal(a.naddr, 2);
	assert_int_equal(a.addr[0].len, 4);
	assert_memory_equal(a.addr[0].b, "\xc0\x00\x02\x07", 4);
	assert_memory_equal(a.addr[1].b, "\xc0\x00\x02\x08", 4);
	assert_int_equal(a.ttl, 60);
	assert_int_equal(a.nname + a.ntxt, 0);
	assert_null(a.pref);
	assert_int_equal(a.secure, 0);
	a = query(z, DNS_T_AAAA, "mail.example.org");
	assert_int_equal(a.rcode, DNS_OK);
	assert_int_equal(a.naddr, 1);
	assert_int_equal(a.addr[0].len, 16);
	assert_memory_equal(a.addr[0].b, v6, 16);
	assert_int_equal(a.ttl, 40);
	resolv_zone_free(z);
}

static void
t_resolv_zone_query_mx(void **state)
{
	struct resolv_zone *z;
	struct dns_answer a;

	(void)state;
	z = load_text(typed_zone);
	a = query(z, DNS_T_MX, "example.org");
	assert_int_equal(a.rcode, DNS_OK);
	assert_int_equal(a.nname, 2);
	assert_non_null(a.pref);
	assert_int_equal(a.pref[0], 10);
	assert_span_str(a.name[0], "mail.example.org");
	assert_int_equal(a.pref[1], 20);
	assert_span_str(a.name[1], "backup.example.net");
	assert_int_equal(a.ttl, 30);
	assert_int_equal(a.naddr + a.ntxt, 0);
	/* RFC 7505 null MX: the root is the empty span */
	a = query(z, DNS_T_MX, "nomail.example.org");
	assert_int_equal(a.rcode, DNS_OK);
	assert_int_equal(a.nname, 1);
	assert_int_equal(a.pref[0], 0);
	assert_int_equal(a.name[0].len, 0);
	resolv_zone_free(z);
}

static void
t_resolv_zone_query_ptr(void **state)
{
	struct resolv_zone *z;
	struct dns_answer a;

	(void)state;
	z = load_text(typed_zone);
	a = query(z, DNS_T_PTR, "7.2.0.192.in-addr.arpa");
	assert_int_equal(a.rcode, DNS_OK);
	assert_int_equal(a.nname, 2);
	assert_null(a.pref);
	assert_span_str(a.name[0], "mail.example.org");
	assert_span_str(a.name[1], "other.example");
	a = query(z, DNS_T_PTR,
	    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.B.D.0.1.0.0.2"
	    ".IP6.ARPA.");
	assert_int_equal(a.rcode, DNS_OK);
	assert_int_equal(a.nname, 1);
	assert_span_str(a.name[0], "mail.example.org");
	assert_int_equal(
	    query(z, DNS_T_PTR, "8.2.0.192.in-addr.arpa").rcode, DNS_NXDOMAIN);
	/* 2.0.192.in-addr.arpa is an empty non-terminal */
	assert_int_equal(
	    query(z, DNS_T_PTR, "2.0.192.in-addr.arpa").rcode, DNS_NODATA);
	resolv_zone_free(z);
}

static void
t_resolv_zone_query_txt_is_txt(void **state)
{
	static const char *const names[] = { "txt.example.org",
		"mail.example.org", "none.example.org", "bad.example.org" };
	struct resolv_zone *z;
	struct dns_answer a, b;
	struct dns_ops ops;
	struct qcap c;
	size_t i, k;

	(void)state;
	z = load_text(typed_zone);
	resolv_zone_ops(z, &ops);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		a = query(z, DNS_T_TXT, names[i]);
		memset(&c, 0, sizeof(c));
		assert_int_equal(
		    ops.txt(ops.ctx, span_cstr(names[i]), qcap_done, &c), 0);
		assert_int_equal(c.calls, 1);
		b = c.a;
		assert_int_equal(a.rcode, b.rcode);
		assert_int_equal(a.ttl, b.ttl);
		assert_int_equal(a.ntxt, b.ntxt);
		for (k = 0; k < a.ntxt; k++) {
			assert_int_equal(a.txt[k].len, b.txt[k].len);
			assert_memory_equal(
			    a.txt[k].p, b.txt[k].p, a.txt[k].len);
		}
		assert_int_equal(a.naddr + a.nname, 0);
	}
	a = query(z, DNS_T_TXT, "txt.example.org");
	assert_int_equal(a.ntxt, 1);
	assert_span_str(a.txt[0], "v=spf1 -all");
	resolv_zone_free(z);
}

static void
t_resolv_zone_query_cname_follow(void **state)
{
	struct resolv_zone *z;
	struct dns_answer a;

	(void)state;
	z = load_text(typed_zone);
	a = query(z, DNS_T_A, "www.example.org");
	assert_int_equal(a.rcode, DNS_OK);
	assert_int_equal(a.naddr, 2);
	assert_memory_equal(a.addr[1].b, "\xc0\x00\x02\x08", 4);
	a = query(z, DNS_T_AAAA, "www.example.org");
	assert_int_equal(a.rcode, DNS_OK);
	assert_int_equal(a.naddr, 1);
	a = query(z, DNS_T_MX, "mxalias.example.org");
	assert_int_equal(a.rcode, DNS_OK);
	assert_int_equal(a.nname, 2);
	assert_span_str(a.name[0], "mail.example.org");
	assert_int_equal(a.ttl, 20); /* the CNAME's ttl is the lowest */
	/* the alias's target has no MX: NODATA, not the CNAME itself */
	assert_int_equal(
	    query(z, DNS_T_MX, "www.example.org").rcode, DNS_NODATA);
	resolv_zone_free(z);
}

static void
t_resolv_zone_query_nxdomain_nodata(void **state)
{
	static const uint16_t types[] = { DNS_T_A, DNS_T_AAAA, DNS_T_MX,
		DNS_T_PTR, DNS_T_TXT };
	struct resolv_zone *z;
	size_t i;

	(void)state;
	z = load_text(typed_zone);
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		uint16_t t = types[i];

		assert_int_equal(
		    query(z, t, "nope.example.org").rcode, DNS_NXDOMAIN);
		assert_int_equal(
		    query(z, t, "x.mail.example.org").rcode, DNS_NXDOMAIN);
		/* a name with other types only */
		assert_int_equal(query(z, t, "txt.example.org").rcode,
		    t == DNS_T_TXT ? DNS_OK : DNS_NODATA);
		/* an empty non-terminal */
		assert_int_equal(
		    query(z, t, "0.192.in-addr.arpa").rcode, DNS_NODATA);
	}
	assert_int_equal(query(z, DNS_T_AAAA, "www.example.org").rcode, DNS_OK);
	assert_int_equal(
	    query(z, DNS_T_PTR, "mail.example.org").rcode, DNS_NODATA);
	resolv_zone_free(z);
}

static void
t_resolv_zone_query_tempfail_marker(void **state)
{
	static const uint16_t types[] = { DNS_T_A, DNS_T_AAAA, DNS_T_MX,
		DNS_T_PTR, DNS_T_TXT };
	struct resolv_zone *z;
	size_t i;

	(void)state;
	z = load_text(typed_zone);
	/* the marker wins over the A record beside it, also through a CNAME */
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		assert_int_equal(
		    query(z, types[i], "bad.example.org").rcode, DNS_TEMPFAIL);
		assert_int_equal(
		    query(z, types[i], "badalias.example.org").rcode,
		    DNS_TEMPFAIL);
	}
	resolv_zone_free(z);
}

static void
t_resolv_zone_query_invalid(void **state)
{
	static const char *const bad[] = { "", ".", "..", "a..example.org",
		".example.org", "example.org..",
		("a234567890123456789012345678901234567890123456789012345678901234"
		 ".example.org") };
	struct resolv_zone *z;
	struct dns_ops ops;
	struct qcap c;
	char longname[256];
	size_t i;

	(void)state;
	z = load_text(typed_zone);
	resolv_zone_ops(z, &ops);
	memset(&c, 0, sizeof(c));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(ops.query(ops.ctx, DNS_T_A, span_cstr(bad[i]),
		                     qcap_done, &c),
		    -EINVAL);
		assert_int_equal(
		    ops.txt(ops.ctx, span_cstr(bad[i]), qcap_done, &c),
		    -EINVAL);
	}
	/* a NUL inside the name */
	assert_int_equal(
	    ops.query(ops.ctx, DNS_T_A,
	        span_make((const uint8_t *)"mail\0.example.org", 17), qcap_done,
	        &c),
	    -EINVAL);
	/* 253 octets is the longest name; 254 is refused */
	memset(longname, 'a', sizeof(longname));
	for (i = 63; i < sizeof(longname); i += 64)
		longname[i] = '.';
	assert_int_equal(
	    ops.query(ops.ctx, DNS_T_A,
	        span_make((const uint8_t *)longname, 253), qcap_done, &c),
	    0);
	assert_int_equal(c.a.rcode, DNS_NXDOMAIN);
	assert_int_equal(
	    ops.query(ops.ctx, DNS_T_A,
	        span_make((const uint8_t *)longname, 254), qcap_done, &c),
	    -EINVAL);
	assert_int_equal(c.calls, 1);
	/* qtypes outside dns_qtype, CNAME included, are refused */
	assert_int_equal(ops.query(ops.ctx, RESOLV_T_CNAME,
	                     span_cstr("www.example.org"), qcap_done, &c),
	    -EINVAL);
	assert_int_equal(
	    ops.query(ops.ctx, 2, span_cstr("example.org"), qcap_done, &c),
	    -EINVAL);
	assert_int_equal(c.calls, 1);
	resolv_zone_free(z);
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(fp);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	assert_true(n >= 0);
	rewind(fp);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	*len = fread(buf, 1, (size_t)n, fp);
	fclose(fp);
	while (*len > 0 && (buf[*len - 1] == '\n' || buf[*len - 1] == '\r'))
		(*len)--;
	return buf;
}

static void
t_resolv_zone_load_rfc8463(void **state)
{
	struct resolv_zone *z = NULL;
	struct dns_answer a;
	char err[256], *want;
	size_t wantlen;

	(void)state;
	assert_int_equal(
	    resolv_zone_load(RFC8463_ZONE, &z, err, sizeof(err)), 0);
	a = txt(z, "test._domainkey.football.example.com");
	assert_int_equal(a.rcode, DNS_OK);
	assert_int_equal(a.ntxt, 1);
	assert_int_equal(a.ttl, 300);
	want = slurp(RFC8463_RSA, &wantlen);
	assert_int_equal(a.txt[0].len, wantlen);
	assert_memory_equal(a.txt[0].p, want, wantlen);
	free(want);
	a = txt(z, "brisbane._domainkey.football.example.com.");
	assert_int_equal(a.rcode, DNS_OK);
	assert_span_str(a.txt[0],
	    "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
	assert_int_equal(
	    txt(z, "_domainkey.football.example.com").rcode, DNS_NODATA);
	resolv_zone_free(z);
}

static void
t_resolv_zone_free_null(void **state)
{
	(void)state;
	resolv_zone_free(NULL);
}

static int
setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/hanko-zone-XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	static const char *const names[] = { "t.zone", "bad.zone", "inc.zone" };
	char path[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, names[i]);
		(void)unlink(path);
	}
	return rmdir(tmpdir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_resolv_zone_txt_multistring_join),
		cmocka_unit_test(t_resolv_zone_txt_cname_follow),
		cmocka_unit_test(t_resolv_zone_txt_cname_limit),
		cmocka_unit_test(t_resolv_zone_txt_nxdomain_nodata),
		cmocka_unit_test(t_resolv_zone_txt_case_insensitive),
		cmocka_unit_test(t_resolv_zone_txt_tempfail_marker),
		cmocka_unit_test(t_resolv_zone_load_syntax_error),
		cmocka_unit_test(t_resolv_zone_load_missing_file),
		cmocka_unit_test(t_resolv_zone_load_include_rejected),
		cmocka_unit_test(t_resolv_zone_query_types),
		cmocka_unit_test(t_resolv_zone_ops_sync_done),
		cmocka_unit_test(t_resolv_zone_query_a_aaaa),
		cmocka_unit_test(t_resolv_zone_query_mx),
		cmocka_unit_test(t_resolv_zone_query_ptr),
		cmocka_unit_test(t_resolv_zone_query_txt_is_txt),
		cmocka_unit_test(t_resolv_zone_query_cname_follow),
		cmocka_unit_test(t_resolv_zone_query_nxdomain_nodata),
		cmocka_unit_test(t_resolv_zone_query_tempfail_marker),
		cmocka_unit_test(t_resolv_zone_query_invalid),
		cmocka_unit_test(t_resolv_zone_load_rfc8463),
		cmocka_unit_test(t_resolv_zone_free_null),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
