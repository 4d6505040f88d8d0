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

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "core/arena.h"
#include "core/b64.h"
#include "core/canon.h"
#include "core/dkim.h"
#include "core/dkim_hash.h"
#include "core/dkim_key.h"
#include "core/dkim_sign.h"
#include "core/dkim_verify.h"
#include "core/env.h"
#include "core/hdr.h"
#include "core/scan.h"
#include "core/span.h"
#include "io/zone.h"
#include "tests/fake/fake_alloc.h"
#include "tests/fake/fake_dns.h"

#define SUITE   "../shared/testsuites/rfc8463/"
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

static struct hanko_limits lim;
static struct core_env env;
static struct fake_dns *fdns;
static struct dns_ops ops;
static struct arena ar;
static struct dkim_signer *sg;
static struct dkim_verifier *vf;
static struct dkim_privkey krsa, ked, rfc_rsa, rfc_ed;

static char *
read_file(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *p;
	long n;

	if (fp == NULL)
		fail_msg("cannot open %s", path);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	assert_true(n >= 0);
	rewind(fp);
	p = malloc((size_t)n + 1);
	assert_non_null(p);
	assert_int_equal(fread(p, 1, (size_t)n, fp), (size_t)n);
	p[n] = '\0';
	fclose(fp);
	*len = (size_t)n;
	return p;
}

static void
load_key_file(const char *path, struct dkim_privkey *k)
{
	char err[256];
	size_t len;
	char *p = read_file(path, &len);

	if (dkim_privkey_load(span_make(p, len), k, err, sizeof(err)) !=
	    DKIM_OK)
		fail_msg("%s: %s", path, err);
	free(p);
}

/* Generate a key and load it through its PKCS#8 PEM. */
static void
gen_key(const char *type, size_t bits, struct dkim_privkey *k)
{
	EVP_PKEY *pk = bits > 0 ? EVP_PKEY_Q_keygen(NULL, NULL, type, bits)
	                        : EVP_PKEY_Q_keygen(NULL, NULL, type);
	BIO *bio = BIO_new(BIO_s_mem());
	char err[256], *pem;
	long n;

	assert_non_null(pk);
	assert_non_null(bio);
	assert_int_equal(
	    PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0, NULL, NULL), 1);
	n = BIO_get_mem_data(bio, &pem);
	if (dkim_privkey_load(span_make(pem, (size_t)n), k, err, sizeof(err)) !=
	    DKIM_OK)
		fail_msg("%s", err);
	BIO_free(bio);
	EVP_PKEY_free(pk);
}

/* Publish k's record at sel._domainkey.example.com. */
static void
publish(const char *sel, const struct dkim_privkey *k)
{
	uint8_t mem[2048];
	char name[128], err[160];
	struct buf b;

	buf_init_fixed(&b, mem, sizeof(mem));
	assert_int_equal(dkim_privkey_record(k, &b, err, sizeof(err)), DKIM_OK);
	snprintf(name, sizeof(name), "%s._domainkey.example.com", sel);
	fake_dns_add_txt_span(fdns, name, buf_span(&b));
}

static void
conf_for(struct dkim_sign_conf *c, const struct dkim_privkey *k,
    const char *sel, enum canon_alg hc, enum canon_alg bc)
{
	dkim_sign_conf_default(c);
	c->domain = SPAN_LIT("example.com");
	c->selector = span_cstr(sel);
	c->key = k;
	c->hdr_canon = hc;
	c->body_canon = bc;
}

/*
 * Sign msg; on DKIM_OK *fields (NUL-terminated) holds the emitted fields
 * and *out the signed message, both malloc'd.
 */
static dkim_res
sign_msg(span msg, const struct dkim_sign_conf *c, size_t n, uint64_t now,
    char **fields, char **out)
{
	struct buf b;
	span from;
	dkim_res r;

	arena_reset(&ar);
	if ((r = dkim_sign_parse(sg, msg, &ar, &from)) != DKIM_OK)
		return r;
	buf_init_arena(&b, &ar);
	if ((r = dkim_sign_emit(sg, c, n, now, &b)) != DKIM_OK)
		return r;
	*fields = malloc(b.len + 1);
	*out = malloc(b.len + msg.len + 1);
	assert_non_null(*fields);
	assert_non_null(*out);
	memcpy(*fields, b.p, b.len);
	(*fields)[b.len] = '\0';
	memcpy(*out, b.p, b.len);
	memcpy(*out + b.len, msg.p, msg.len);
	(*out)[b.len + msg.len] = '\0';
	return DKIM_OK;
}

/* Verify msg synchronously; copies the results into res. */
static size_t
verify_msg(const char *msg, uint64_t now, struct dkim_result *res)
{
	const struct dkim_result *r;
	size_t n;

	arena_reset(&ar);
	assert_int_equal(
	    dkim_verify_start(vf, span_cstr(msg), now, &ar), DKIM_OK);
	n = dkim_verify_results(vf, &r);
	assert_true(n <= MAX_RES);
	memcpy(res, r, n * sizeof(*r));
	return n;
}

static void
assert_pass(const struct dkim_result *r)
{
	if (r->verdict != DKIM_V_PASS)
		fail_msg(
		    "verdict %s: %s", dkim_verdict_str(r->verdict), r->reason);
}

static int
group_setup(void **state)
{
	(void)state;
	hanko_limits_default(&lim);
	fdns = fake_dns_new(FAKE_DNS_SYNC);
	assert_non_null(fdns);
	fake_dns_ops(fdns, &ops);
	env.alloc = fake_alloc_get();
	env.dns = &ops;
	env.scan = scan_select(SCAN_AUTO);
	env.limits = &lim;
	arena_init(&ar, env.alloc, 64 << 10, lim.max_arena_bytes);
	assert_int_equal(dkim_signer_new(&env, &sg), DKIM_OK);
	assert_int_equal(dkim_verifier_new(&env, &vf), DKIM_OK);
	gen_key("RSA", 2048, &krsa);
	gen_key("ED25519", 0, &ked);
	load_key_file(SUITE "rsa.private.pem", &rfc_rsa);
	load_key_file(SUITE "ed25519.private.b64", &rfc_ed);
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	dkim_signer_free(sg);
	dkim_verifier_free(vf);
	arena_fini(&ar);
	dkim_privkey_fini(&krsa);
	dkim_privkey_fini(&ked);
	dkim_privkey_fini(&rfc_rsa);
	dkim_privkey_fini(&rfc_ed);
	fake_dns_free(fdns);
	return 0;
}

static int
setup(void **state)
{
	(void)state;
	fake_dns_ops(fdns, &ops);
	fake_dns_set_refuse(fdns, false);
	fake_dns_set_lifo(fdns, false);
	fake_dns_clear(fdns);
	fake_dns_set_mode(fdns, FAKE_DNS_SYNC);
	lim.max_sigs = 10;
	publish("rsa", &krsa);
	publish("ed", &ked);
	return 0;
}

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

	assert_int_equal(verify_msg(msg, now, res), 1);
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
	    sign_msg(span_cstr(msg), c, 1, NOW, &fields, &out), DKIM_OK);
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
	size_t siglen = sizeof(sig);
	uint64_t total;
	struct hdr_msg m;
	struct buf hd, f;
	char err[160], *out;

	arena_reset(&ar);
	assert_int_equal(
	    hdr_split(span_cstr(msg), &lim, &ar, &m, err, sizeof(err)), HDR_OK);
	assert_true(
	    dkim_hash_body(md, sha, env.scan, bc, l, m.body, bh, &total));
	buf_init_arena(&f, &ar);
	assert_true(buf_add_cstr(&f, "DKIM-Signature: ") &&
	    buf_add_cstr(&f, tags) && buf_add_cstr(&f, "; bh=") &&
	    b64_encode(&f, span_make(bh, sizeof(bh))) &&
	    buf_add_cstr(&f, ";\r\n b="));
	buf_init_arena(&hd, &ar);
	assert_true(dkim_hash_fields(&hd, hc, &m, h, nh, &ar));
	if (hc == CANON_RELAXED)
		assert_true(canon_hdr_relaxed(&hd, SPAN_LIT("DKIM-Signature"),
		    span_sub(buf_span(&f), 15, f.len - 15), true));
	else
		assert_true(canon_hdr_simple(&hd, buf_span(&f), true));
	assert_true(dkim_hash_data(md, sha, buf_span(&hd), dg));
	if (k->type == DKIM_KEY_ED25519) {
		assert_int_equal(EVP_DigestSignInit_ex(
		                     md, NULL, NULL, NULL, NULL, k->pk, NULL),
		    1);
		assert_int_equal(
		    EVP_DigestSign(md, sig, &siglen, dg, sizeof(dg)), 1);
	} else {
		EVP_PKEY_CTX *pc =
		    EVP_PKEY_CTX_new_from_pkey(NULL, k->pk, NULL);

		assert_non_null(pc);
		assert_int_equal(EVP_PKEY_sign_init(pc), 1);
		assert_int_equal(
		    EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING), 1);
		assert_int_equal(EVP_PKEY_CTX_set_signature_md(pc, sha), 1);
		assert_int_equal(
		    EVP_PKEY_sign(pc, sig, &siglen, dg, sizeof(dg)), 1);
		EVP_PKEY_CTX_free(pc);
	}
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

	if (resolv_zone_load(SUITE "keys.zone", &z, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	resolv_zone_ops(z, &ops);
	msg = read_file(file, &len);
	assert_int_equal(verify_msg(msg, RFC_NOW, res), want);
	for (i = 0; i < want; i++) {
		assert_pass(&res[i]);
		assert_true(
		    span_eq(res[i].d, SPAN_LIT("football.example.com")));
		assert_true(span_eq(res[i].s, span_cstr(sels[i])));
		assert_int_equal(res[i].key_bits,
		    res[i].alg == DKIM_ALG_RSA_SHA256 ? 1024 : 256);
		assert_false(res[i].testing);
		assert_int_equal(res[i].body_len, 54);
	}
	free(msg);
	fake_dns_ops(fdns, &ops);
	resolv_zone_free(z);
}

static void
t_dkim_verify_start_rfc8463(void **state)
{
	static const char *const both[] = { "brisbane", "test" };
	static const char *const rsa[] = { "test" };
	static const char *const ed[] = { "brisbane" };

	(void)state;
	verify_file_zone(SUITE "signed.eml", 2, both);
	verify_file_zone(SUITE "signed-rsa-only.eml", 1, rsa);
	verify_file_zone(SUITE "signed-ed25519-only.eml", 1, ed);
}

/* ---- tampering --------------------------------------------------------- */

static void
t_dkim_verify_start_tampered(void **state)
{
	struct dkim_sign_conf c;
	char *s, *t, *u;

	(void)state;
	conf_for(&c, &krsa, "rsa", CANON_RELAXED, CANON_RELAXED);
	s = signed1(MSG_CRLF, &c);
	assert_int_equal(one(s, NOW)->verdict, DKIM_V_PASS);
	t = replace(s, "second line", "second linE");
	expect(one(t, NOW), DKIM_V_FAIL, "body hash did not verify");
	free(t);
	t = replace(s, "Subject: hello", "Subject: hellO");
	expect(one(t, NOW), DKIM_V_FAIL, "signature did not verify");
	free(t);
	/* Oversigned fields: a second instance anywhere breaks it. */
	t = replace(
	    s, "From: Alice", "From: Mallory <m@evil.example>\r\nFrom: Alice");
	expect(one(t, NOW), DKIM_V_FAIL, "signature did not verify");
	free(t);
	t = replace(s, "\r\n\r\nHello", "\r\nSubject: buy now\r\n\r\nHello");
	expect(one(t, NOW), DKIM_V_FAIL, "signature did not verify");
	free(t);
	t = replace(
	    s, "\r\n\r\nHello", "\r\nFrom: m@evil.example\r\n\r\nHello");
	expect(one(t, NOW), DKIM_V_FAIL, "signature did not verify");
	free(t);
	/* An unsigned field may be added. */
	t = replace(s, "\r\n\r\nHello", "\r\nX-Added: yes\r\n\r\nHello");
	expect(one(t, NOW), DKIM_V_PASS, "good");
	free(t);
	/* Relaxed: whitespace in headers and body, trailing blank lines. */
	t = replace(s, "Subject: hello", "SUBJECT:   hello \t");
	u = replace(t, "Hello  world \r\n", "Hello \t world\t\r\n");
	expect(one(u, NOW), DKIM_V_PASS, "good");
	free(t);
	free(u);
	free(s);
	conf_for(&c, &krsa, "rsa", CANON_SIMPLE, CANON_SIMPLE);
	s = signed1(MSG_CRLF, &c);
	assert_int_equal(one(s, NOW)->verdict, DKIM_V_PASS);
	t = replace(s, "Subject: hello", "Subject:  hello");
	expect(one(t, NOW), DKIM_V_FAIL, "signature did not verify");
	free(t);
	t = replace(s, "Hello  world", "Hello world");
	expect(one(t, NOW), DKIM_V_FAIL, "body hash did not verify");
	free(t);
	/* Simple body still ignores trailing empty lines (§3.4.3). */
	t = replace(s, "second line\r\n\r\n", "second line\r\n\r\n\r\n\r\n");
	expect(one(t, NOW), DKIM_V_PASS, "good");
	free(t);
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
	size_t i, q = fake_dns_queries(fdns);

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
	assert_int_equal(fake_dns_queries(fdns), q);
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
	    h, 2, CANON_RELAXED, CANON_RELAXED, CANON_NO_LIMIT, &krsa);
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
	    CANON_RELAXED, CANON_RELAXED, 99999, &krsa);
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

	conf_for(&c, k, sel, CANON_RELAXED, CANON_RELAXED);
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
	fake_dns_add_txt(fdns, name, txt);
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
	key_case("none", &krsa, NULL, DKIM_V_PERMERROR, "no key");
	fake_dns_set_rcode(fdns, "nodata._domainkey.example.com", DNS_NODATA);
	key_case("nodata", &krsa, NULL, DKIM_V_PERMERROR, "no key");
	fake_dns_set_rcode(fdns, "tmp._domainkey.example.com", DNS_TEMPFAIL);
	key_case("tmp", &krsa, NULL, DKIM_V_TEMPERROR, "temporarily");
	fake_dns_set_rcode(fdns, "srv._domainkey.example.com", DNS_PERMFAIL);
	key_case("srv", &krsa, NULL, DKIM_V_PERMERROR, "no key");
	rec("rev", "v=DKIM1; k=rsa; p=", "");
	key_case("rev", &krsa, NULL, DKIM_V_PERMERROR, "revoked");
	rec("kmis", "v=DKIM1; k=ed25519; p=", pvalue(&ked));
	key_case("kmis", &krsa, NULL, DKIM_V_PERMERROR, "does not match");
	rec("kmis2", "v=DKIM1; p=", pvalue(&krsa));
	key_case("kmis2", &ked, NULL, DKIM_V_PERMERROR, "does not match");
	rec("sha1", "v=DKIM1; h=sha1; p=", pvalue(&krsa));
	key_case("sha1", &krsa, NULL, DKIM_V_PERMERROR, "sha256");
	rec("both", "v=DKIM1; h=sha1:sha256; p=", pvalue(&krsa));
	key_case("both", &krsa, NULL, DKIM_V_PASS, "good");
	rec("svc", "v=DKIM1; s=tlsrpt; p=", pvalue(&krsa));
	key_case("svc", &krsa, NULL, DKIM_V_PERMERROR, "s=");
	rec("svc2", "v=DKIM1; s=email:tlsrpt; p=", pvalue(&krsa));
	key_case("svc2", &krsa, NULL, DKIM_V_PASS, "good");
	rec("strict", "v=DKIM1; t=s; p=", pvalue(&krsa));
	key_case("strict", &krsa, "@mail.example.com", DKIM_V_PERMERROR, "t=s");
	key_case("strict", &krsa, "joe@example.com", DKIM_V_PASS, "good");
	key_case("strict", &krsa, NULL, DKIM_V_PASS, "good");
	rec("junk", "v=DKIM1; p=", "!!!!");
	key_case("junk", &krsa, NULL, DKIM_V_PERMERROR, "p=");
	rec("junk2", "v=DKIM1; p=", "QUJDRA==");
	key_case("junk2", &krsa, NULL, DKIM_V_PERMERROR, "p=");
	rec("short", "v=DKIM1; k=ed25519; p=", "QUJDRA==");
	key_case("short", &ked, NULL, DKIM_V_PERMERROR, "not 32");
	rec("nop", "v=DKIM1; k=rsa", "");
	key_case("nop", &krsa, NULL, DKIM_V_PERMERROR, "no p=");
	rec("vlate", "k=rsa; v=DKIM1; p=", pvalue(&krsa));
	key_case("vlate", &krsa, NULL, DKIM_V_PERMERROR, "v=");
	/* §3.6.2.2: the first record that parses is used. */
	rec("multi", "garbage without tags", "");
	rec("multi", "v=DKIM1; p=", pvalue(&krsa));
	key_case("multi", &krsa, NULL, DKIM_V_PASS, "good");
	rec("test", "v=DKIM1; k=ed25519; t=y:s; p=", pvalue(&ked));
	key_case("test", &ked, NULL, DKIM_V_PASS, "good");
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
	key_case("weak", &krsa, NULL, DKIM_V_PERMERROR, "512 bits");
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
	conf_for(&c, &ked, "ed", CANON_RELAXED, CANON_RELAXED);
	assert_int_equal(
	    sign_msg(SPAN_LIT(MSG_CRLF), &c, 1, NOW, &fields, &out), DKIM_OK);
	flen = strlen(fields);
	msg = malloc(50 * flen + sizeof(MSG_CRLF));
	assert_non_null(msg);
	for (i = 0, p = msg; i < 50; i++, p += flen)
		memcpy(p, fields, flen);
	memcpy(p, MSG_CRLF, sizeof(MSG_CRLF));
	lim.max_sigs = 7;
	q = fake_dns_queries(fdns);
	arena_reset(&ar);
	assert_int_equal(
	    dkim_verify_start(vf, span_cstr(msg), NOW, &ar), DKIM_OK);
	n = dkim_verify_results(vf, &r);
	assert_int_equal(n, 7);
	assert_int_equal(dkim_verify_skipped(vf), 43);
	assert_int_equal(fake_dns_queries(fdns) - q, 7);
	for (i = 0; i < n; i++)
		assert_pass(&r[i]);
	lim.max_sigs = 0;
	arena_reset(&ar);
	assert_int_equal(
	    dkim_verify_start(vf, span_cstr(msg), NOW, &ar), DKIM_OK);
	assert_int_equal(dkim_verify_results(vf, &r), 0);
	assert_int_equal(dkim_verify_skipped(vf), 50);
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
	lim.max_sigs = 32;
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
			    (enum canon_alg)bc, ls[i], &krsa);
			free(msg);
			msg = s;
			n++;
		}
	}
	s = malloc(strlen(msg) + 64);
	assert_non_null(s);
	sprintf(s, "%s", msg);
	assert_int_equal(verify_msg(s, NOW, res), n);
	for (i = 0; i < n; i++)
		assert_pass(&res[i]);
	/* Appending text breaks exactly the signatures without l=. */
	strcat(s, "P.S. added\r\n");
	assert_int_equal(verify_msg(s, NOW, res), n);
	for (i = 0; i < n; i++) {
		if (res[i].has_l)
			assert_pass(&res[i]);
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

	conf_for(&c[0], &krsa, "rsa", CANON_RELAXED, CANON_SIMPLE);
	conf_for(&c[1], &ked, "ed", CANON_SIMPLE, CANON_RELAXED);
	conf_for(&c[2], &ked, "gone", CANON_RELAXED, CANON_RELAXED);
	fake_dns_set_rcode(fdns, "tmp._domainkey.example.com", DNS_TEMPFAIL);
	assert_int_equal(
	    sign_msg(SPAN_LIT(MSG_CRLF), c, 3, NOW, &fields, &out), DKIM_OK);
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
	n = verify_msg(msg, NOW, sync);
	assert_int_equal(n, 3);
	assert_pass(&sync[0]);
	assert_pass(&sync[1]);
	expect(&sync[2], DKIM_V_PERMERROR, "no key");
	for (lifo = 0; lifo < 2; lifo++) {
		fake_dns_set_mode(fdns, FAKE_DNS_QUEUED);
		fake_dns_set_lifo(fdns, lifo != 0);
		arena_reset(&ar);
		assert_int_equal(
		    dkim_verify_start(vf, span_cstr(msg), NOW, &ar),
		    DKIM_PENDING);
		assert_false(dkim_verify_is_done(vf));
		assert_int_equal(fake_dns_pending(fdns), 3);
		assert_int_equal(dkim_verify_results(vf, &r), 3);
		for (i = 0; i < 3; i++)
			assert_int_equal(r[i].verdict, DKIM_V_NONE);
		assert_int_equal(fake_dns_run(fdns), 3);
		assert_true(dkim_verify_is_done(vf));
		assert_int_equal(dkim_verify_results(vf, &r), 3);
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
	assert_true(span_eq(fake_dns_query_name(fdns, 0),
	    SPAN_LIT("rsa._domainkey."
	             "example.com")));
	free(msg);
}

static void
t_dkim_verify_start_no_dns(void **state)
{
	const struct core_env *saved = NULL;
	struct dkim_verifier *v;
	struct core_env e = env;
	const struct dkim_result *r;
	char *msg = three_sig_msg();

	(void)state;
	(void)saved;
	e.dns = NULL;
	assert_int_equal(dkim_verifier_new(&e, &v), DKIM_OK);
	arena_reset(&ar);
	assert_int_equal(
	    dkim_verify_start(v, span_cstr(msg), NOW, &ar), DKIM_OK);
	assert_int_equal(dkim_verify_results(v, &r), 3);
	expect(&r[0], DKIM_V_TEMPERROR, "no DNS");
	dkim_verifier_free(v);
	fake_dns_set_refuse(fdns, true);
	arena_reset(&ar);
	assert_int_equal(
	    dkim_verify_start(vf, span_cstr(msg), NOW, &ar), DKIM_OK);
	assert_int_equal(dkim_verify_results(vf, &r), 3);
	expect(&r[1], DKIM_V_TEMPERROR, "could not start");
	fake_dns_set_refuse(fdns, false);
	free(msg);
}

static void
t_dkim_verify_start_malformed(void **state)
{
	const struct dkim_result *r;

	(void)state;
	arena_reset(&ar);
	assert_int_equal(
	    dkim_verify_start(vf,
	        SPAN_LIT("From: a@example.com\r\nno colon\r\n\r\n"), NOW, &ar),
	    DKIM_E_SYNTAX);
	assert_true(strlen(dkim_verifier_err(vf)) > 0);
	assert_int_equal(dkim_verify_results(vf, &r), 0);
	arena_reset(&ar);
	assert_int_equal(
	    dkim_verify_start(vf, SPAN_LIT(MSG_CRLF), NOW, &ar), DKIM_OK);
	assert_int_equal(dkim_verify_results(vf, &r), 0);
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
	arena_init(&small, env.alloc, 1024, lim.max_arena_bytes);
	for (round = 0; round < 4; round++) {
		arena_reset(&small);
		assert_int_equal(
		    dkim_verify_start(vf, span_cstr(msg), NOW, &small),
		    DKIM_OK);
		assert_int_equal(dkim_verify_results(vf, &r), 3);
		assert_pass(&r[0]);
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
	if (resolv_zone_load(SUITE "keys.zone", &z, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	resolv_zone_ops(z, &ops);
	msg = read_file(SUITE "signed.eml", &len);
	for (limit = 0; limit <= 24576; limit += limit < 8192 ? 16 : 512) {
		arena_init(&small, env.alloc, 1024, limit);
		res =
		    dkim_verify_start(vf, span_make(msg, len), RFC_NOW, &small);
		if (res == DKIM_E_NOMEM) {
			arena_fini(&small);
			continue;
		}
		assert_int_equal(res, DKIM_OK);
		n = dkim_verify_results(vf, &r);
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
	fake_dns_ops(fdns, &ops);
	resolv_zone_free(z);
}

static void
t_dkim_verifier_new_nomem(void **state)
{
	struct dkim_verifier *v = NULL;

	(void)state;
	fake_alloc_fail_after(0);
	assert_int_equal(dkim_verifier_new(&env, &v), DKIM_E_NOMEM);
	fake_alloc_reset();
	assert_null(v);
	dkim_verifier_free(NULL);
	assert_string_equal(dkim_verdict_str(DKIM_V_PERMERROR), "permerror");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(t_dkim_verify_start_rfc8463, setup),
		cmocka_unit_test_setup(t_dkim_verify_start_tampered, setup),
		cmocka_unit_test_setup(t_dkim_verify_start_permerror, setup),
		cmocka_unit_test_setup(t_dkim_verify_start_edges_ok, setup),
		cmocka_unit_test_setup(t_dkim_verify_start_l_too_long, setup),
		cmocka_unit_test_setup(t_dkim_verify_start_key_records, setup),
		cmocka_unit_test_setup(t_dkim_verify_start_max_sigs, setup),
		cmocka_unit_test_setup(
		    t_dkim_verify_start_many_bodyhashes, setup),
		cmocka_unit_test_setup(t_dkim_verify_start_async, setup),
		cmocka_unit_test_setup(t_dkim_verify_start_no_dns, setup),
		cmocka_unit_test_setup(t_dkim_verify_start_malformed, setup),
		cmocka_unit_test_setup(t_dkim_verify_start_arena_reuse, setup),
		cmocka_unit_test_setup(t_dkim_verify_start_arena_sweep, setup),
		cmocka_unit_test_setup(t_dkim_verifier_new_nomem, setup),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
