/*
 * Unit tests for core/dkim_verify.c (and the signature parser under it):
 * the RFC 8463 example against its zone file, tampering, every permerror
 * class of RFC 6376 §6.1 and RFC 8301, key record problems, limits,
 * answers delivered before and after dkim_verify_start() returns, and an
 * arena-exhaustion sweep. Signatures with tags our signer never writes
 * (l=, odd values) come from ref_sign(), a second signer built from the
 * canonicalizer alone. The binary runs from the repository root.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "core/arena.h"
#include "core/b64.h"
#include "core/canon.h"
#include "core/dkim.h"
#include "core/dkim_bodystream.h"
#include "core/dkim_hash.h"
#include "core/dkim_key.h"
#include "core/dkim_sign.h"
#include "core/dkim_verify.h"
#include "core/dnsq.h"
#include "core/env.h"
#include "core/hdr.h"
#include "core/scan.h"
#include "core/span.h"
#include "io/zone.h"
#include "tests/fake/dkim_fixture.h"
#include "tests/fake/fake_alloc.h"
#include "tests/fake/fake_dns.h"

#define RFC_NOW 1528637969u
#define NOW     1700000000u
#define MAX_RES 64
#define MSG_CRLF                                   \
	"From: Alice <alice@example.com>\r\n"      \
	"To: bob@example.net\r\n"                  \
	"Subject: hello\r\n"                       \
	"Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n" \
	"Message-ID: <1@example.com>\r\n"          \
	"\r\n"                                     \
	"Hello  world \r\n"                        \
	"second line\r\n"                          \
	"\r\n"
/* A syntactically valid bh= and b= for signatures that never get hashed. */
#define BH "bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8="
#define B                                                            \
	"b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus" \
	"Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw=="

/* The p= value of k's record (static buffer). */
static const char *
pvalue(const struct dkim_privkey *k)
{
	static char p[2048];
	uint8_t mem[2048];
	char err[160];
	struct buf b;
	const char *v;

	buf_init_fixed(&b, mem, sizeof(mem) - 1);
	assert_int_equal(dkim_privkey_record(k, &b, err, sizeof(err)), DKIM_OK);
	mem[b.len] = '\0';
	v = strstr((const char *)mem, "p=");
	assert_non_null(v);
	snprintf(p, sizeof(p), "%s", v + 2);
	return p;
}

/* Verify msg expecting exactly one result; returns it (static). */
static const struct dkim_result *
one(const char *msg, uint64_t now)
{
	static struct dkim_result res[MAX_RES];

	assert_int_equal(fix_verify_msg(msg, now, res, MAX_RES), 1);
	return &res[0];
}

static void
expect(const struct dkim_result *r, enum dkim_verdict v, const char *why)
{
	if (r->verdict != v || strstr(r->reason, why) == NULL)
		fail_msg("got %s \"%s\", want %s \"%s\"",
		    dkim_verdict_str(r->verdict), r->reason,
		    dkim_verdict_str(v), why);
}

/* Sign MSG_CRLF-like msg with one conf; malloc'd signed message. */
static char *
signed1(const char *msg, const struct dkim_sign_conf *c)
{
	char *fields, *out;

	assert_int_equal(
	    fix_sign_msg(span_cstr(msg), c, 1, NOW, &fields, &out), DKIM_OK);
	free(fields);
	return out;
}

/* Replace the first occurrence of from by to in s (malloc'd result). */
static char *
replace(const char *s, const char *from, const char *to)
{
	const char *at = strstr(s, from);
	size_t n = strlen(s) - strlen(from) + strlen(to) + 1;
	char *r;

	assert_non_null(at);
	r = malloc(n);
	assert_non_null(r);
	snprintf(r, n, "%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
	return r;
}

/* Verify s with from replaced by to, expecting verdict v for reason why. */
static void
expect_edited(const char *s, const char *from, const char *to,
    enum dkim_verdict v, const char *why)
{
	char *t = replace(s, from, to);

	expect(one(t, NOW), v, why);
	free(t);
}

/*
 * A second signer made only of the canonicalizer and OpenSSL: tags is
 * the field up to (not including) bh=; h/nh, hc, bc and l must agree
 * with it. Returns the signed message (malloc'd).
 */
static char *
ref_sign(const char *msg, const char *tags, const span *h, size_t nh,
    enum canon_alg hc, enum canon_alg bc, uint64_t l,
    const struct dkim_privkey *k)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_MD *sha = EVP_MD_fetch(NULL, "SHA256", NULL);
	uint8_t bh[DKIM_HASH_LEN], dg[DKIM_HASH_LEN], sig[512];
	size_t siglen;
	uint64_t total;
	struct hdr_msg m;
	struct buf hd, f;
	char err[160], *out;

	arena_reset(&fx.ar);
	assert_int_equal(
	    hdr_split(span_cstr(msg), &fx.lim, &fx.ar, &m, err, sizeof(err)),
	    HDR_OK);
	assert_true(
	    dkim_hash_body(md, sha, fx.env.scan, bc, l, m.body, bh, &total));
	buf_init_arena(&f, &fx.ar);
	assert_true(buf_add_cstr(&f, "DKIM-Signature: ") &&
	    buf_add_cstr(&f, tags) && buf_add_cstr(&f, "; bh=") &&
	    b64_encode(&f, span_make(bh, sizeof(bh))) &&
	    buf_add_cstr(&f, ";\r\n b="));
	buf_init_arena(&hd, &fx.ar);
	assert_true(dkim_hash_fields(&hd, hc, &m, h, nh, &fx.ar));
	if (hc == CANON_RELAXED)
		assert_true(canon_hdr_relaxed(&hd, SPAN_LIT("DKIM-Signature"),
		    span_sub(buf_span(&f), 15, f.len - 15), true));
	else
		assert_true(canon_hdr_simple(&hd, buf_span(&f), true));
	assert_true(dkim_hash_data(md, sha, buf_span(&hd), dg));
	siglen = fix_sign_digest(k, md, sha, dg, sig, sizeof(sig));
	assert_true(b64_encode(&f, span_make(sig, siglen)) &&
	    buf_add_cstr(&f, "\r\n") && buf_add_cstr(&f, msg));
	out = malloc(f.len + 1);
	assert_non_null(out);
	memcpy(out, f.p, f.len);
	out[f.len] = '\0';
	EVP_MD_free(sha);
	EVP_MD_CTX_free(md);
	return out;
}

/* ---- RFC 8463 ---------------------------------------------------------- */

static void
verify_file_zone(const char *file, size_t want, const char *const *sels)
{
	struct resolv_zone *z = NULL;
	struct dkim_result res[MAX_RES];
	char err[256], *msg;
	size_t i, len;

	if (resolv_zone_load(FIX_SUITE "keys.zone", &z, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	resolv_zone_ops(z, &fx.ops);
	msg = fix_read_file(file, &len);
	assert_int_equal(fix_verify_msg(msg, RFC_NOW, res, MAX_RES), want);
	for (i = 0; i < want; i++) {
		fix_assert_pass(&res[i]);
		assert_true(
		    span_eq(res[i].d, SPAN_LIT("football.example.com")));
		assert_true(span_eq(res[i].s, span_cstr(sels[i])));
		assert_int_equal(res[i].key_bits,
		    res[i].alg == DKIM_ALG_RSA_SHA256 ? 1024 : 256);
		assert_false(res[i].testing);
		assert_int_equal(res[i].body_len, 54);
	}
	free(msg);
	fake_dns_ops(fx.fdns, &fx.ops);
	resolv_zone_free(z);
}

static void
t_dkim_verify_start_rfc8463(void **state)
{
	static const char *const both[] = { "brisbane", "test" };
	static const char *const rsa[] = { "test" };
	static const char *const ed[] = { "brisbane" };

	(void)state;
	verify_file_zone(FIX_SUITE "signed.eml", 2, both);
	verify_file_zone(FIX_SUITE "signed-rsa-only.eml", 1, rsa);
	verify_file_zone(FIX_SUITE "signed-ed25519-only.eml", 1, ed);
}

/* ---- tampering --------------------------------------------------------- */

static void
t_dkim_verify_start_tampered(void **state)
{
	struct dkim_sign_conf c;
	char *s, *t, *u;

	(void)state;
	fix_conf_for(&c, &fx.krsa, "rsa", CANON_RELAXED, CANON_RELAXED);
	s = signed1(MSG_CRLF, &c);
	assert_int_equal(one(s, NOW)->verdict, DKIM_V_PASS);
	expect_edited(s, "second line", "second linE", DKIM_V_FAIL,
	    "body hash did not verify");
	expect_edited(s, "Subject: hello", "Subject: hellO", DKIM_V_FAIL,
	    "signature did not verify");
	/* Oversigned fields: a second instance anywhere breaks it. */
	expect_edited(s, "From: Alice",
	    "From: Mallory <m@evil.example>\r\nFrom: Alice", DKIM_V_FAIL,
	    "signature did not verify");
	expect_edited(s, "\r\n\r\nHello", "\r\nSubject: buy now\r\n\r\nHello",
	    DKIM_V_FAIL, "signature did not verify");
	expect_edited(s, "\r\n\r\nHello",
	    "\r\nFrom: m@evil.example\r\n\r\nHello", DKIM_V_FAIL,
	    "signature did not verify");
	/* An unsigned field may be added. */
	expect_edited(s, "\r\n\r\nHello", "\r\nX-Added: yes\r\n\r\nHello",
	    DKIM_V_PASS, "good");
	/* Relaxed: whitespace in headers and body, trailing blank lines. */
	t = replace(s, "Subject: hello", "SUBJECT:   hello \t");
	u = replace(t, "Hello  world \r\n", "Hello \t world\t\r\n");
	expect(one(u, NOW), DKIM_V_PASS, "good");
	free(t);
	free(u);
	free(s);
	fix_conf_for(&c, &fx.krsa, "rsa", CANON_SIMPLE, CANON_SIMPLE);
	s = signed1(MSG_CRLF, &c);
	assert_int_equal(one(s, NOW)->verdict, DKIM_V_PASS);
	expect_edited(s, "Subject: hello", "Subject:  hello", DKIM_V_FAIL,
	    "signature did not verify");
	expect_edited(s, "Hello  world", "Hello world", DKIM_V_FAIL,
	    "body hash did not verify");
	/* Simple body still ignores trailing empty lines (§3.4.3). */
	expect_edited(s, "second line\r\n\r\n", "second line\r\n\r\n\r\n\r\n",
	    DKIM_V_PASS, "good");
	/* The b= value itself. */
	t = replace(s, "b=", "b=AAAA");
	u = strstr(t, "\tb=AAAA");
	assert_non_null(u);
	expect(one(t, NOW), DKIM_V_FAIL, "signature did not verify");
	free(t);
	free(s);
}

/* ---- permerror classes ------------------------------------------------- */

#define T_V  "v=1; "
#define T_A  "a=rsa-sha256; "
#define T_C  "c=relaxed/relaxed; "
#define T_D  "d=example.com; "
#define T_S  "s=rsa; "
#define T_H  "h=from:subject; "
#define T_BH BH "; "
#define T_B  B

static const struct {
	const char *tags;
	const char *why;
} perm[] = {
	{ T_A T_C T_D T_S T_H T_BH T_B, "no v= tag" },
	{ T_V T_C T_D T_S T_H T_BH T_B, "no a= tag" },
	{ T_V T_A T_C T_D T_S T_H T_BH "x=1", "no b= tag" },
	{ T_V T_A T_C T_D T_S T_H T_B, "no bh= tag" },
	{ T_V T_A T_C T_S T_H T_BH T_B, "no d= tag" },
	{ T_V T_A T_C T_D T_S T_BH T_B, "no h= tag" },
	{ T_V T_A T_C T_D T_H T_BH T_B, "no s= tag" },
	{ "v=2; " T_A T_D T_S T_H T_BH T_B, "version" },
	{ T_V T_A T_D T_S "h=subject:to; " T_BH T_B, "does not sign From" },
	{ T_V T_A T_D T_S "h=from::to; " T_BH T_B, "empty field name" },
	{ T_V "a=rsa-sha1; " T_D T_S T_H T_BH T_B, "RFC 8301" },
	{ T_V "a=dsa-sha256; " T_D T_S T_H T_BH T_B, "unknown algorithm" },
	{ T_V T_A "c=relaxed/fancy; " T_D T_S T_H T_BH T_B,
	    "canonicalization" },
	{ T_V T_A "c=; " T_D T_S T_H T_BH T_B, "canonicalization" },
	{ T_V T_A T_D T_S "i=@badexample.com; " T_H T_BH T_B, "i= domain" },
	{ T_V T_A T_D T_S "i=@example.com.evil; " T_H T_BH T_B, "i= domain" },
	{ T_V T_A T_D T_S "i=example.com; " T_H T_BH T_B, "no '@'" },
	{ T_V T_A "d=exa_mple..com; " T_S T_H T_BH T_B, "d= is not a valid" },
	{ T_V T_A T_D "s=a/b; " T_H T_BH T_B, "s= is not a valid" },
	{ T_V T_A T_D T_S "q=dns/xyz; " T_H T_BH T_B, "q=" },
	{ T_V T_A T_D T_S "t=1699999000; x=1699999999; " T_H T_BH T_B,
	    "expired" },
	{ T_V T_A T_D T_S "t=1699999000; x=1699998000; " T_H T_BH T_B,
	    "earlier than t=" },
	{ T_V T_A T_D T_S "t=1700001000; " T_H T_BH T_B, "future" },
	{ T_V T_A T_D T_S "t=17000x; " T_H T_BH T_B, "t= is not a number" },
	{ T_V T_A T_D T_S "l=-1; " T_H T_BH T_B, "l= is not a number" },
	{ T_V T_A T_D T_S T_H T_BH "b=abc$def", "b= is not valid base64" },
	{ T_V T_A T_D T_S T_H T_BH "b=", "b= is not valid base64" },
	{ T_V T_A T_D T_S T_H "bh=AAAA; " T_B, "bh=" },
	{ T_V T_A T_D T_S T_H "bh=" B "; " T_B, "bh=" },
	{ T_V T_A T_D T_S T_D T_H T_BH T_B, "duplicate tag" },
	{ T_V T_A T_D T_S T_H T_BH T_B "; novalue", "without '='" },
};

static void
t_dkim_verify_start_permerror(void **state)
{
	char msg[2048];
	size_t i, q = fake_dns_queries(fx.fdns);

	(void)state;
	for (i = 0; i < sizeof(perm) / sizeof(perm[0]); i++) {
		const struct dkim_result *r;

		snprintf(msg, sizeof(msg), "DKIM-Signature: %s\r\n%s",
		    perm[i].tags, MSG_CRLF);
		r = one(msg, NOW);
		if (r->verdict != DKIM_V_PERMERROR ||
		    strstr(r->reason, perm[i].why) == NULL)
			fail_msg("case %zu (%s): %s \"%s\"", i, perm[i].tags,
			    dkim_verdict_str(r->verdict), r->reason);
	}
	/* None of them was worth a DNS query. */
	assert_int_equal(fake_dns_queries(fx.fdns), q);
}

/* i= in a subdomain of d= is fine, and so are timestamps at the edges. */
static void
t_dkim_verify_start_edges_ok(void **state)
{
	static const span h[] = { SPAN_INIT("from"), SPAN_INIT("subject") };
	char *s;

	(void)state;
	s = ref_sign(MSG_CRLF,
	    T_V T_A T_C T_D T_S "i=news@mail.Example.COM; t=1700000300; "
	                        "x=1700000300; q=dns/txt:foo/bar; " T_H
	                        "z=ignored|tag",
	    h, 2, CANON_RELAXED, CANON_RELAXED, CANON_NO_LIMIT, &fx.krsa);
	expect(one(s, NOW), DKIM_V_PASS, "good");
	expect(one(s, NOW + 300), DKIM_V_PASS, "good");
	expect(one(s, NOW + 301), DKIM_V_PERMERROR, "expired");
	expect(one(s, NOW - 1), DKIM_V_PERMERROR, "future");
	free(s);
}

/* l= longer than the canonical body is permerror, not a silent pass. */
static void
t_dkim_verify_start_l_too_long(void **state)
{
	static const span h[] = { SPAN_INIT("from") };
	const struct dkim_result *r;
	char *s;

	(void)state;
	s = ref_sign(MSG_CRLF, T_V T_A T_C T_D T_S "l=99999; h=from", h, 1,
	    CANON_RELAXED, CANON_RELAXED, 99999, &fx.krsa);
	r = one(s, NOW);
	expect(r, DKIM_V_PERMERROR, "l= is longer");
	assert_true(r->has_l);
	assert_int_equal(r->l, 99999);
	free(s);
}

/* ---- key records ------------------------------------------------------- */

static const struct dkim_result *last;

static void
key_case(const char *sel, const struct dkim_privkey *k, const char *ident,
    enum dkim_verdict v, const char *why)
{
	struct dkim_sign_conf c;
	char *s;

	fix_conf_for(&c, k, sel, CANON_RELAXED, CANON_RELAXED);
	if (ident != NULL)
		c.identity = span_cstr(ident);
	s = signed1(MSG_CRLF, &c);
	last = one(s, NOW);
	if (last->verdict != v || strstr(last->reason, why) == NULL)
		fail_msg("selector %s: got %s \"%s\", want %s \"%s\"", sel,
		    dkim_verdict_str(last->verdict), last->reason,
		    dkim_verdict_str(v), why);
	free(s);
}

static void
rec(const char *sel, const char *pre, const char *p)
{
	char name[128], txt[2048];

	snprintf(name, sizeof(name), "%s._domainkey.example.com", sel);
	snprintf(txt, sizeof(txt), "%s%s", pre, p);
	fake_dns_add_txt(fx.fdns, name, txt);
}

static void
t_dkim_verify_start_key_records(void **state)
{
	EVP_PKEY *pk;
	uint8_t der[256], *dp = der;
	uint8_t mem[512];
	struct buf b;
	int n;

	(void)state;
	key_case("none", &fx.krsa, NULL, DKIM_V_PERMERROR, "no key");
	fake_dns_set_rcode(
	    fx.fdns, "nodata._domainkey.example.com", DNS_NODATA);
	key_case("nodata", &fx.krsa, NULL, DKIM_V_PERMERROR, "no key");
	fake_dns_set_rcode(fx.fdns, "tmp._domainkey.example.com", DNS_TEMPFAIL);
	key_case("tmp", &fx.krsa, NULL, DKIM_V_TEMPERROR, "temporarily");
	fake_dns_set_rcode(fx.fdns, "srv._domainkey.example.com", DNS_PERMFAIL);
	key_case("srv", &fx.krsa, NULL, DKIM_V_PERMERROR, "no key");
	rec("rev", "v=DKIM1; k=rsa; p=", "");
	key_case("rev", &fx.krsa, NULL, DKIM_V_PERMERROR, "revoked");
	rec("kmis", "v=DKIM1; k=ed25519; p=", pvalue(&fx.ked));
	key_case("kmis", &fx.krsa, NULL, DKIM_V_PERMERROR, "does not match");
	rec("kmis2", "v=DKIM1; p=", pvalue(&fx.krsa));
	key_case("kmis2", &fx.ked, NULL, DKIM_V_PERMERROR, "does not match");
	rec("sha1", "v=DKIM1; h=sha1; p=", pvalue(&fx.krsa));
	key_case("sha1", &fx.krsa, NULL, DKIM_V_PERMERROR, "sha256");
	rec("both", "v=DKIM1; h=sha1:sha256; p=", pvalue(&fx.krsa));
	key_case("both", &fx.krsa, NULL, DKIM_V_PASS, "good");
	rec("svc", "v=DKIM1; s=tlsrpt; p=", pvalue(&fx.krsa));
	key_case("svc", &fx.krsa, NULL, DKIM_V_PERMERROR, "s=");
	rec("svc2", "v=DKIM1; s=email:tlsrpt; p=", pvalue(&fx.krsa));
	key_case("svc2", &fx.krsa, NULL, DKIM_V_PASS, "good");
	rec("strict", "v=DKIM1; t=s; p=", pvalue(&fx.krsa));
	key_case(
	    "strict", &fx.krsa, "@mail.example.com", DKIM_V_PERMERROR, "t=s");
	key_case("strict", &fx.krsa, "joe@example.com", DKIM_V_PASS, "good");
	key_case("strict", &fx.krsa, NULL, DKIM_V_PASS, "good");
	rec("junk", "v=DKIM1; p=", "!!!!");
	key_case("junk", &fx.krsa, NULL, DKIM_V_PERMERROR, "p=");
	rec("junk2", "v=DKIM1; p=", "QUJDRA==");
	key_case("junk2", &fx.krsa, NULL, DKIM_V_PERMERROR, "p=");
	rec("short", "v=DKIM1; k=ed25519; p=", "QUJDRA==");
	key_case("short", &fx.ked, NULL, DKIM_V_PERMERROR, "not 32");
	rec("nop", "v=DKIM1; k=rsa", "");
	key_case("nop", &fx.krsa, NULL, DKIM_V_PERMERROR, "no p=");
	rec("vlate", "k=rsa; v=DKIM1; p=", pvalue(&fx.krsa));
	key_case("vlate", &fx.krsa, NULL, DKIM_V_PERMERROR, "v=");
	/* §3.6.2.2: the first record that parses is used. */
	rec("multi", "garbage without tags", "");
	rec("multi", "v=DKIM1; p=", pvalue(&fx.krsa));
	key_case("multi", &fx.krsa, NULL, DKIM_V_PASS, "good");
	rec("test", "v=DKIM1; k=ed25519; t=y:s; p=", pvalue(&fx.ked));
	key_case("test", &fx.ked, NULL, DKIM_V_PASS, "good");
	assert_true(last->testing);
	assert_int_equal(last->key_bits, 256);
	/* RSA under 1024 bits in the record: RFC 8301. */
	pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)512);
	assert_non_null(pk);
	n = i2d_PUBKEY(pk, &dp);
	assert_true(n > 0);
	buf_init_fixed(&b, mem, sizeof(mem) - 1);
	assert_true(b64_encode(&b, span_make(der, (size_t)n)));
	mem[b.len] = '\0';
	rec("weak", "v=DKIM1; k=rsa; p=", (const char *)mem);
	key_case("weak", &fx.krsa, NULL, DKIM_V_PERMERROR, "512 bits");
	EVP_PKEY_free(pk);
}

/* ---- limits ------------------------------------------------------------ */

static void
t_dkim_verify_start_max_sigs(void **state)
{
	const struct dkim_result *r;
	struct dkim_sign_conf c;
	char *fields, *out, *msg, *p;
	size_t i, n, flen, q;

	(void)state;
	fix_conf_for(&c, &fx.ked, "ed", CANON_RELAXED, CANON_RELAXED);
	assert_int_equal(
	    fix_sign_msg(SPAN_LIT(MSG_CRLF), &c, 1, NOW, &fields, &out),
	    DKIM_OK);
	flen = strlen(fields);
	msg = malloc(50 * flen + sizeof(MSG_CRLF));
	assert_non_null(msg);
	for (i = 0, p = msg; i < 50; i++, p += flen)
		memcpy(p, fields, flen);
	memcpy(p, MSG_CRLF, sizeof(MSG_CRLF));
	fx.lim.max_sigs = 7;
	q = fake_dns_queries(fx.fdns);
	arena_reset(&fx.ar);
	assert_int_equal(
	    dkim_verify_start(fx.vf, span_cstr(msg), NOW, &fx.ar), DKIM_OK);
	n = dkim_verify_results(fx.vf, &r);
	assert_int_equal(n, 7);
	assert_int_equal(dkim_verify_skipped(fx.vf), 43);
	/* Seven signatures with one key name: the key is asked once. */
	assert_int_equal(fake_dns_queries(fx.fdns) - q, 1);
	for (i = 0; i < n; i++)
		fix_assert_pass(&r[i]);
	fx.lim.max_sigs = 0;
	arena_reset(&fx.ar);
	assert_int_equal(
	    dkim_verify_start(fx.vf, span_cstr(msg), NOW, &fx.ar), DKIM_OK);
	assert_int_equal(dkim_verify_results(fx.vf, &r), 0);
	assert_int_equal(dkim_verify_skipped(fx.vf), 50);
	free(msg);
	free(fields);
	free(out);
}

/*
 * More distinct (body canon, l=) pairs than the verifier caches, each
 * signed by the reference signer; text appended after signing is outside
 * l= and must not matter.
 */
static void
t_dkim_verify_start_many_bodyhashes(void **state)
{
	static const span h[] = { SPAN_INIT("from"), SPAN_INIT("subject") };
	static const uint64_t ls[] = { 0, 1, 7, 20, 26, CANON_NO_LIMIT };
	struct dkim_result res[MAX_RES];
	char *msg = strdup(MSG_CRLF), *s, tags[256];
	size_t i, bc, n = 0;

	(void)state;
	assert_non_null(msg);
	fx.lim.max_sigs = 32;
	for (bc = 0; bc < 2; bc++) {
		for (i = 0; i < sizeof(ls) / sizeof(ls[0]); i++) {
			char lt[32] = "";

			if (ls[i] != CANON_NO_LIMIT)
				snprintf(lt, sizeof(lt), "l=%llu; ",
				    (unsigned long long)ls[i]);
			snprintf(tags, sizeof(tags),
			    T_V T_A "c=simple/%s; " T_D T_S "%s" T_H "t=1",
			    bc ? "relaxed" : "simple", lt);
			s = ref_sign(msg, tags, h, 2, CANON_SIMPLE,
			    (enum canon_alg)bc, ls[i], &fx.krsa);
			free(msg);
			msg = s;
			n++;
		}
	}
	s = malloc(strlen(msg) + 64);
	assert_non_null(s);
	sprintf(s, "%s", msg);
	assert_int_equal(fix_verify_msg(s, NOW, res, MAX_RES), n);
	for (i = 0; i < n; i++)
		fix_assert_pass(&res[i]);
	/* Appending text breaks exactly the signatures without l=. */
	strcat(s, "P.S. added\r\n");
	assert_int_equal(fix_verify_msg(s, NOW, res, MAX_RES), n);
	for (i = 0; i < n; i++) {
		if (res[i].has_l)
			fix_assert_pass(&res[i]);
		else
			expect(&res[i], DKIM_V_FAIL, "body hash");
	}
	free(s);
	free(msg);
}

/* ---- asynchronous DNS -------------------------------------------------- */

static char *
three_sig_msg(void)
{
	struct dkim_sign_conf c[3];
	char *fields, *out;

	fix_conf_for(&c[0], &fx.krsa, "rsa", CANON_RELAXED, CANON_SIMPLE);
	fix_conf_for(&c[1], &fx.ked, "ed", CANON_SIMPLE, CANON_RELAXED);
	fix_conf_for(&c[2], &fx.ked, "gone", CANON_RELAXED, CANON_RELAXED);
	fake_dns_set_rcode(fx.fdns, "tmp._domainkey.example.com", DNS_TEMPFAIL);
	assert_int_equal(
	    fix_sign_msg(SPAN_LIT(MSG_CRLF), c, 3, NOW, &fields, &out),
	    DKIM_OK);
	free(fields);
	return out;
}

static void
t_dkim_verify_start_async(void **state)
{
	struct dkim_result sync[MAX_RES];
	const struct dkim_result *r;
	char *msg = three_sig_msg();
	size_t n, i, lifo;

	(void)state;
	n = fix_verify_msg(msg, NOW, sync, MAX_RES);
	assert_int_equal(n, 3);
	fix_assert_pass(&sync[0]);
	fix_assert_pass(&sync[1]);
	expect(&sync[2], DKIM_V_PERMERROR, "no key");
	for (lifo = 0; lifo < 2; lifo++) {
		fake_dns_set_mode(fx.fdns, FAKE_DNS_QUEUED);
		fake_dns_set_lifo(fx.fdns, lifo != 0);
		arena_reset(&fx.ar);
		assert_int_equal(
		    dkim_verify_start(fx.vf, span_cstr(msg), NOW, &fx.ar),
		    DKIM_PENDING);
		assert_false(dkim_verify_is_done(fx.vf));
		assert_int_equal(fake_dns_pending(fx.fdns), 3);
		assert_int_equal(dkim_verify_results(fx.vf, &r), 3);
		for (i = 0; i < 3; i++)
			assert_int_equal(r[i].verdict, DKIM_V_NONE);
		assert_int_equal(fake_dns_run(fx.fdns), 3);
		assert_true(dkim_verify_is_done(fx.vf));
		assert_int_equal(dkim_verify_results(fx.vf, &r), 3);
		for (i = 0; i < 3; i++) {
			assert_int_equal(r[i].verdict, sync[i].verdict);
			assert_string_equal(r[i].reason, sync[i].reason);
			/* A key refused before hashing leaves body_len 0. */
			if (sync[i].verdict == DKIM_V_PASS)
				assert_int_equal(
				    r[i].body_len, sync[i].body_len);
			assert_int_equal(r[i].key_bits, sync[i].key_bits);
		}
	}
	assert_true(span_eq(fake_dns_query_name(fx.fdns, 0),
	    SPAN_LIT("rsa._domainkey."
	             "example.com")));
	free(msg);
}

static void
t_dkim_verify_start_no_dns(void **state)
{
	const struct core_env *saved = NULL;
	struct dkim_verifier *v;
	struct core_env e = fx.env;
	const struct dkim_result *r;
	char *msg = three_sig_msg();

	(void)state;
	(void)saved;
	e.dns = NULL;
	assert_int_equal(dkim_verifier_new(&e, &v), DKIM_OK);
	arena_reset(&fx.ar);
	assert_int_equal(
	    dkim_verify_start(v, span_cstr(msg), NOW, &fx.ar), DKIM_OK);
	assert_int_equal(dkim_verify_results(v, &r), 3);
	expect(&r[0], DKIM_V_TEMPERROR, "no DNS");
	dkim_verifier_free(v);
	fake_dns_set_refuse(fx.fdns, true);
	arena_reset(&fx.ar);
	assert_int_equal(
	    dkim_verify_start(fx.vf, span_cstr(msg), NOW, &fx.ar), DKIM_OK);
	assert_int_equal(dkim_verify_results(fx.vf, &r), 3);
	expect(&r[1], DKIM_V_TEMPERROR, "could not start");
	fake_dns_set_refuse(fx.fdns, false);
	free(msg);
}

static void
t_dkim_verify_start_malformed(void **state)
{
	const struct dkim_result *r;

	(void)state;
	arena_reset(&fx.ar);
	assert_int_equal(
	    dkim_verify_start(fx.vf,
	        SPAN_LIT("From: a@example.com\r\nno colon\r\n\r\n"), NOW,
	        &fx.ar),
	    DKIM_E_SYNTAX);
	assert_true(strlen(dkim_verifier_err(fx.vf)) > 0);
	assert_int_equal(dkim_verify_results(fx.vf, &r), 0);
	arena_reset(&fx.ar);
	assert_int_equal(
	    dkim_verify_start(fx.vf, SPAN_LIT(MSG_CRLF), NOW, &fx.ar), DKIM_OK);
	assert_int_equal(dkim_verify_results(fx.vf, &r), 0);
}

/* ---- memory ------------------------------------------------------------ */

/*
 * Messages verified back to back with the arena reset in between, with
 * blocks small enough that each message spans several: nothing from the
 * previous message may be touched (ASan).
 */
static void
t_dkim_verify_start_arena_reuse(void **state)
{
	struct arena small;
	const struct dkim_result *r;
	char *msg = three_sig_msg();
	int round;

	(void)state;
	arena_init(&small, fx.env.alloc, 1024, fx.lim.max_arena_bytes);
	for (round = 0; round < 4; round++) {
		arena_reset(&small);
		assert_int_equal(
		    dkim_verify_start(fx.vf, span_cstr(msg), NOW, &small),
		    DKIM_OK);
		assert_int_equal(dkim_verify_results(fx.vf, &r), 3);
		fix_assert_pass(&r[0]);
	}
	arena_fini(&small);
	free(msg);
}

static void
t_dkim_verify_start_arena_sweep(void **state)
{
	struct resolv_zone *z = NULL;
	const struct dkim_result *r;
	struct arena small;
	size_t limit, len, i, n, nok = 0;
	char err[256], *msg;
	dkim_res res;

	(void)state;
	if (resolv_zone_load(FIX_SUITE "keys.zone", &z, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	resolv_zone_ops(z, &fx.ops);
	msg = fix_read_file(FIX_SUITE "signed.eml", &len);
	for (limit = 0; limit <= 24576; limit += limit < 8192 ? 16 : 512) {
		arena_init(&small, fx.env.alloc, 1024, limit);
		res = dkim_verify_start(
		    fx.vf, span_make(msg, len), RFC_NOW, &small);
		if (res == DKIM_E_NOMEM) {
			arena_fini(&small);
			continue;
		}
		assert_int_equal(res, DKIM_OK);
		n = dkim_verify_results(fx.vf, &r);
		assert_int_equal(n, 2);
		for (i = 0; i < n; i++)
			if (r[i].verdict != DKIM_V_PASS &&
			    r[i].verdict != DKIM_V_TEMPERROR)
				fail_msg("limit %zu sig %zu: %s %s", limit, i,
				    dkim_verdict_str(r[i].verdict),
				    r[i].reason);
		nok +=
		    r[0].verdict == DKIM_V_PASS && r[1].verdict == DKIM_V_PASS;
		arena_fini(&small);
	}
	assert_true(nok > 0);
	free(msg);
	fake_dns_ops(fx.fdns, &fx.ops);
	resolv_zone_free(z);
}

static void
t_dkim_verifier_new_nomem(void **state)
{
	struct dkim_verifier *v = NULL;

	(void)state;
	fake_alloc_fail_after(0);
	assert_int_equal(dkim_verifier_new(&fx.env, &v), DKIM_E_NOMEM);
	fake_alloc_reset();
	assert_null(v);
	dkim_verifier_free(NULL);
	assert_string_equal(dkim_verdict_str(DKIM_V_PERMERROR), "permerror");
}

/* ---- streaming body (dkim_bodystream) ------------------------------------ */

#define BS_HDR                                     \
	"From: Alice <alice@example.com>\r\n"      \
	"To: bob@example.net\r\n"                  \
	"Subject: streamed\r\n"                    \
	"Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n" \
	"\r\n"
#define BS_BODY                                                 \
	"Hello \t world  \r\n"                                  \
	"\r\n"                                                  \
	"  indented\tline\t \r\n"                               \
	"cr\ralone and bare lf\n"                               \
	"\r\n\r\n"                                              \
	"last line\r\n"                                         \
	" \r\n"                                                 \
	"\r\n"

/*
 * Verify signed (signature fields + BS_HDR + body) with the body fed as
 * chunks cut at cuts[0..ncuts); results copied to res, count returned.
 */
static size_t
bs_verify(const char *fields, const char *body, const size_t *cuts,
    size_t ncuts, struct dkim_result *res)
{
	const struct dkim_result *r;
	struct dkim_bodystream *bs = NULL;
	struct hdr_msg m;
	struct dnsq *q;
	char *hdr, err[160];
	size_t i, at = 0, n, blen = strlen(body);
	dkim_res d;

	hdr = malloc(strlen(fields) + sizeof(BS_HDR));
	assert_non_null(hdr);
	strcpy(hdr, fields);
	strcat(hdr, BS_HDR);
	arena_reset(&fx.ar);
	assert_int_equal(hdr_split(span_cstr(hdr), &fx.lim, &fx.ar, &m, err,
	                     sizeof(err)),
	    HDR_OK);
	assert_int_equal(m.body.len, 0);
	assert_int_equal(
	    dkim_bodystream_new(&fx.env, &m, NOW, &fx.ar, &bs), DKIM_OK);
	for (i = 0; i <= ncuts; i++) {
		size_t end = i < ncuts ? cuts[i] : blen;

		assert_true(
		    dkim_bodystream_feed(bs, span_make(body + at, end - at)));
		at = end;
	}
	assert_true(dkim_bodystream_finish(bs));
	assert_non_null(q = dnsq_new(fx.env.dns, &fx.ar));
	dkim_verify_set_bodies(fx.vf, bs);
	d = dkim_verify_start_hdr(fx.vf, &m, NOW, q);
	assert_int_equal(d, DKIM_OK);
	n = dkim_verify_results(fx.vf, &r);
	memcpy(res, r, n * sizeof(*r));
	dkim_bodystream_free(bs);
	free(hdr);
	return n;
}

static void
bs_same(const struct dkim_result *a, const struct dkim_result *b, size_t n,
    const char *what, size_t i, size_t j)
{
	size_t k;

	for (k = 0; k < n; k++)
		if (a[k].verdict != b[k].verdict ||
		    a[k].body_len != b[k].body_len)
			fail_msg("%s cuts %zu,%zu: signature %zu: %s, want %s",
			    what, i, j, k, dkim_verdict_str(b[k].verdict),
			    dkim_verdict_str(a[k].verdict));
}

/*
 * Verifying with the body streamed gives the whole-message results for
 * every single cut and every pair of cuts, for signatures over both body
 * canonicalizations, and a changed body byte still fails.
 */
static void
t_dkim_bodystream_split_independent(void **state)
{
	static const char body[] = BS_BODY;
	const size_t blen = sizeof(body) - 1;
	struct dkim_sign_conf c[2];
	struct dkim_result want[MAX_RES], got[MAX_RES];
	size_t n, i, j, cuts[2];
	char *fields, *signed_msg, *bad;

	(void)state;
	fix_conf_for(&c[0], &fx.ked, "ed", CANON_RELAXED, CANON_RELAXED);
	fix_conf_for(&c[1], &fx.krsa, "rsa", CANON_SIMPLE, CANON_SIMPLE);
	assert_int_equal(fix_sign_msg(SPAN_LIT(BS_HDR BS_BODY), c, 2, NOW,
	                     &fields, &signed_msg),
	    DKIM_OK);
	n = fix_verify_msg(signed_msg, NOW, want, MAX_RES);
	assert_int_equal(n, 2);
	assert_int_equal(want[0].verdict, DKIM_V_PASS);
	assert_int_equal(want[1].verdict, DKIM_V_PASS);
	for (i = 0; i <= blen; i++) {
		assert_int_equal(bs_verify(fields, body, &i, 1, got), n);
		bs_same(want, got, n, "one", i, i);
	}
	for (i = 0; i <= blen; i += 3) {
		for (j = i; j <= blen; j += 2) {
			cuts[0] = i;
			cuts[1] = j;
			assert_int_equal(bs_verify(fields, body, cuts, 2, got),
			    n);
			bs_same(want, got, n, "two", i, j);
		}
	}
	bad = strdup(body);
	assert_non_null(bad);
	bad[3] = 'X';
	i = 7;
	assert_int_equal(bs_verify(fields, bad, &i, 1, got), n);
	assert_int_equal(got[0].verdict, DKIM_V_FAIL);
	assert_int_equal(got[1].verdict, DKIM_V_FAIL);
	free(bad);
	free(fields);
	free(signed_msg);
}

/*
 * Each l= gets its own hasher, whose digest and canonical length equal
 * dkim_hash_body's on the whole body, whatever the cut.
 */
static void
t_dkim_bodystream_limits(void **state)
{
	static const char body[] = BS_BODY;
	static const uint64_t limits[] = { 0, 1, 9, 17, 40, 1000 };
	const size_t blen = sizeof(body) - 1;
	char hdr[4096], err[160];
	struct dkim_bodystream *bs;
	struct hdr_msg m;
	uint8_t d1[DKIM_HASH_LEN], d2[DKIM_HASH_LEN];
	uint64_t t1, t2;
	size_t i, k, len = 0;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_MD *sha = EVP_MD_fetch(NULL, "SHA256", NULL);

	(void)state;
	assert_non_null(md);
	assert_non_null(sha);
	for (k = 0; k < sizeof(limits) / sizeof(limits[0]); k++)
		len += (size_t)snprintf(hdr + len, sizeof(hdr) - len,
		    "DKIM-Signature: v=1; a=rsa-sha256; c=simple/%s; "
		    "d=example.com; s=rsa; h=from; l=%llu; "
		    "bh=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=; b=AAAA\r\n",
		    k % 2 ? "relaxed" : "simple", (unsigned long long)limits[k]);
	snprintf(hdr + len, sizeof(hdr) - len, "%s", BS_HDR);
	for (i = 0; i <= blen; i++) {
		arena_reset(&fx.ar);
		assert_int_equal(hdr_split(span_cstr(hdr), &fx.lim, &fx.ar, &m,
		                     err, sizeof(err)),
		    HDR_OK);
		assert_int_equal(
		    dkim_bodystream_new(&fx.env, &m, NOW, &fx.ar, &bs), DKIM_OK);
		assert_int_equal(dkim_bodystream_count(bs), 6);
		assert_false(dkim_bodystream_get(
		    bs, CANON_SIMPLE, limits[0], d2, &t2));
		assert_true(dkim_bodystream_feed(bs, span_make(body, i)));
		assert_true(
		    dkim_bodystream_feed(bs, span_make(body + i, blen - i)));
		assert_true(dkim_bodystream_finish(bs));
		assert_false(dkim_bodystream_feed(bs, SPAN_LIT("late")));
		for (k = 0; k < sizeof(limits) / sizeof(limits[0]); k++) {
			enum canon_alg a = k % 2 ? CANON_RELAXED : CANON_SIMPLE;

			assert_true(dkim_hash_body(md, sha, fx.env.scan, a,
			    limits[k], span_make(body, blen), d1, &t1));
			assert_true(
			    dkim_bodystream_get(bs, a, limits[k], d2, &t2));
			assert_memory_equal(d1, d2, DKIM_HASH_LEN);
			assert_int_equal(t1, t2);
		}
		assert_false(
		    dkim_bodystream_get(bs, CANON_RELAXED, 12345, d2, &t2));
		dkim_bodystream_free(bs);
	}
	EVP_MD_CTX_free(md);
	EVP_MD_free(sha);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(t_dkim_verify_start_rfc8463, fix_setup),
		cmocka_unit_test_setup(t_dkim_verify_start_tampered, fix_setup),
		cmocka_unit_test_setup(
		    t_dkim_verify_start_permerror, fix_setup),
		cmocka_unit_test_setup(t_dkim_verify_start_edges_ok, fix_setup),
		cmocka_unit_test_setup(
		    t_dkim_verify_start_l_too_long, fix_setup),
		cmocka_unit_test_setup(
		    t_dkim_verify_start_key_records, fix_setup),
		cmocka_unit_test_setup(t_dkim_verify_start_max_sigs, fix_setup),
		cmocka_unit_test_setup(
		    t_dkim_verify_start_many_bodyhashes, fix_setup),
		cmocka_unit_test_setup(t_dkim_verify_start_async, fix_setup),
		cmocka_unit_test_setup(t_dkim_verify_start_no_dns, fix_setup),
		cmocka_unit_test_setup(
		    t_dkim_verify_start_malformed, fix_setup),
		cmocka_unit_test_setup(
		    t_dkim_verify_start_arena_reuse, fix_setup),
		cmocka_unit_test_setup(
		    t_dkim_verify_start_arena_sweep, fix_setup),
		cmocka_unit_test_setup(t_dkim_verifier_new_nomem, fix_setup),
		cmocka_unit_test_setup(
		    t_dkim_bodystream_split_independent, fix_setup),
		cmocka_unit_test_setup(t_dkim_bodystream_limits, fix_setup),
	};

	return cmocka_run_group_tests(
	    tests, fix_group_setup, fix_group_teardown);
}
