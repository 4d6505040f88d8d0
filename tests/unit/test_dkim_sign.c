/*
 * Unit tests for core/dkim_sign.c: the RFC 8463 Appendix A example, round
 * trips through the verifier for every canonicalization and message shape,
 * refusals, the shape of the emitted fields, and an arena-exhaustion sweep.
 * Keys are generated once per run; DNS is tests/fake/fake_dns.c. The binary
 * runs with the repository root as its working directory.
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
#include "tests/fake/dkim_fixture.h"
#include "tests/fake/fake_alloc.h"
#include "tests/fake/fake_dns.h"

#define RFC_T   1528637909u
#define RFC_NOW (RFC_T + 60u)
#define NOW     1700000000u
#define RFC_BH  "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8="
#define MAX_RES 16
#define RFC_ED_B                                                   \
	"/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus" \
	"Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw=="
#define RFC_RSA_B                                                    \
	"F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3"   \
	"DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tFOeS9mPYQTnGdaSGsgeefOsk2Jz" \
	"dA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8="
#define MSG_CRLF                                   \
	"From: Alice <alice@example.com>\r\n"      \
	"To: bob@example.net\r\n"                  \
	"Subject: hello\r\n"                       \
	"Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n" \
	"Message-ID: <1@example.com>\r\n"          \
	"\r\n"                                     \
	"Hello  world \r\n"                        \
	"\r\n"                                     \
	"\r\n"
#define MSG_LF                              \
	"From: Alice <alice@example.com>\n" \
	"To: bob@example.net\n"             \
	"Subject: hello\n"                  \
	"\n"                                \
	"Hello  world \n"                   \
	"\n"

/*
 * The value of tag name in the first DKIM-Signature field of f, with all
 * folding white space removed; "" when absent.
 */
static const char *
tag_of(const char *f, const char *name)
{
	static char val[2048];
	size_t nl = strlen(name), i = 0;
	const char *p = strchr(f, ':'), *end;

	val[0] = '\0';
	assert_non_null(p);
	/* The field ends at the first line that is not a continuation. */
	for (end = p; *end != '\0'; end++)
		if (end[0] == '\n' && end[1] != ' ' && end[1] != '\t')
			break;
	for (p++; p < end;) {
		while (p < end && strchr(" \t\r\n;", *p) != NULL)
			p++;
		if ((size_t)(end - p) > nl && strncmp(p, name, nl) == 0 &&
		    p[nl] == '=') {
			for (p += nl + 1; p < end && *p != ';'; p++)
				if (strchr(" \t\r\n", *p) == NULL &&
				    i + 1 < sizeof(val))
					val[i++] = *p;
			val[i] = '\0';
			return val;
		}
		while (p < end && *p != ';')
			p++;
	}
	return val;
}

/* ---- RFC 8463 Appendix A ---------------------------------------------- */

static const span rfc_hlist[] = { SPAN_INIT("from"), SPAN_INIT("to"),
	SPAN_INIT("subject"), SPAN_INIT("date"), SPAN_INIT("message-id"),
	SPAN_INIT("from"), SPAN_INIT("subject"), SPAN_INIT("date") };
static const span rfc_five[] = { SPAN_INIT("from"), SPAN_INIT("to"),
	SPAN_INIT("subject"), SPAN_INIT("date"), SPAN_INIT("message-id") };
static const span rfc_over[] = { SPAN_INIT("from"), SPAN_INIT("subject"),
	SPAN_INIT("date") };

static void
rfc_conf(
    struct dkim_sign_conf *c, const struct dkim_privkey *k, const char *sel)
{
	dkim_sign_conf_default(c);
	c->domain = SPAN_LIT("football.example.com");
	c->selector = span_cstr(sel);
	c->identity = SPAN_LIT("@football.example.com");
	c->key = k;
	c->headers = rfc_hlist;
	c->nheaders = 8;
	c->oversign = NULL;
	c->noversign = 0;
}

/* Verify msg against the RFC's own zone file. */
static void
verify_with_zone(const char *msg, size_t want)
{
	struct resolv_zone *z = NULL;
	struct dkim_result res[MAX_RES];
	char err[256];
	size_t i;

	if (resolv_zone_load(FIX_SUITE "keys.zone", &z, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	resolv_zone_ops(z, &fx.ops);
	assert_int_equal(fix_verify_msg(msg, RFC_NOW, res, MAX_RES), want);
	for (i = 0; i < want; i++)
		fix_assert_pass(&res[i]);
	fake_dns_ops(fx.fdns, &fx.ops);
	resolv_zone_free(z);
}

/*
 * The header list the RFC prints comes out of an eight-name headers list
 * without oversigning: each mention of an absent second instance is
 * written once and hashes nothing.
 */
static void
t_dkim_sign_emit_rfc8463_hlist_exact(void **state)
{
	struct dkim_sign_conf c[2];
	char *fields, *out, *msg, *second;
	size_t len;

	(void)state;
	msg = fix_read_file(FIX_SUITE "unsigned.eml", &len);
	rfc_conf(&c[0], &fx.rfc_ed, "brisbane");
	rfc_conf(&c[1], &fx.rfc_rsa, "test");
	assert_int_equal(
	    fix_sign_msg(span_make(msg, len), c, 2, RFC_T, &fields, &out),
	    DKIM_OK);
	assert_string_equal(tag_of(fields, "h"),
	    "from:to:subject:date:message-id:from:subject:date");
	assert_string_equal(tag_of(fields, "bh"), RFC_BH);
	assert_string_equal(tag_of(fields, "t"), "1528637909");
	assert_string_equal(tag_of(fields, "i"), "@football.example.com");
	assert_string_equal(tag_of(fields, "a"), "ed25519-sha256");
	assert_string_equal(tag_of(fields, "q"), "dns/txt");
	assert_string_equal(tag_of(fields, "b"), RFC_ED_B);
	second = strstr(fields, "\nDKIM-Signature:");
	assert_non_null(second);
	assert_string_equal(tag_of(second + 1, "a"), "rsa-sha256");
	assert_string_equal(tag_of(second + 1, "b"), RFC_RSA_B);
	verify_with_zone(out, 2);
	free(fields);
	free(out);
	free(msg);
}

/*
 * headers + oversign groups each name's mentions together, so it cannot
 * give the RFC's order; the result still covers the same fields.
 */
static void
t_dkim_sign_emit_rfc8463_oversign_order(void **state)
{
	struct dkim_sign_conf c;
	char *fields, *out, *msg;
	size_t len;

	(void)state;
	msg = fix_read_file(FIX_SUITE "unsigned.eml", &len);
	rfc_conf(&c, &fx.rfc_ed, "brisbane");
	c.headers = rfc_five;
	c.nheaders = 5;
	c.oversign = rfc_over;
	c.noversign = 3;
	assert_int_equal(
	    fix_sign_msg(span_make(msg, len), &c, 1, RFC_T, &fields, &out),
	    DKIM_OK);
	assert_string_equal(tag_of(fields, "h"),
	    "from:from:to:subject:subject:date:date:message-id");
	assert_string_equal(tag_of(fields, "bh"), RFC_BH);
	verify_with_zone(out, 1);
	free(fields);
	free(out);
	free(msg);
}

/* RFC 8463 A.3's first field up to "b=", exactly as printed. */
#define RFC_ED_FIELD                                                    \
	"DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n" \
	" d=football.example.com; i=@football.example.com;\r\n"         \
	" q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n"       \
	" subject : date : message-id : from : subject : date;\r\n"     \
	" bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"         \
	" b="
#define RFC_RSA_FIELD                                                   \
	"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n"     \
	" d=football.example.com; i=@football.example.com;\r\n"         \
	" q=dns/txt; s=test; t=1528637909; h=from : to : subject :\r\n" \
	" date : message-id : from : subject : date;\r\n"               \
	" bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"         \
	" b="

/*
 * Independent of the signer's field writer: hash the RFC's own field text
 * with our canonicalizer and sign the digest with the keys as
 * dkim_privkey_load read them. Both b= values must come out byte for byte
 * (Ed25519 and PKCS#1 v1.5 are deterministic).
 */
static void
rfc_reference_b(
    const char *field, const struct dkim_privkey *k, const char *want_b64)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_MD *sha = EVP_MD_fetch(NULL, "SHA256", NULL);
	uint8_t dg[DKIM_HASH_LEN], sig[512], want[512];
	size_t len, siglen, wlen;
	struct hdr_msg m;
	struct buf hd;
	char err[160], *msg;

	msg = fix_read_file(FIX_SUITE "unsigned.eml", &len);
	arena_reset(&fx.ar);
	assert_int_equal(hdr_split(span_make(msg, len), &fx.lim, &fx.ar, &m,
	                     err, sizeof(err)),
	    HDR_OK);
	buf_init_arena(&hd, &fx.ar);
	assert_true(
	    dkim_hash_fields(&hd, CANON_RELAXED, &m, rfc_hlist, 8, &fx.ar));
	assert_true(canon_hdr_relaxed(
	    &hd, SPAN_LIT("DKIM-Signature"), span_cstr(field + 15), true));
	assert_true(dkim_hash_data(md, sha, buf_span(&hd), dg));
	siglen = fix_sign_digest(k, md, sha, dg, sig, sizeof(sig));
	assert_true(b64_decode(span_cstr(want_b64), want, sizeof(want), &wlen));
	assert_int_equal(siglen, wlen);
	assert_memory_equal(sig, want, wlen);
	EVP_MD_free(sha);
	EVP_MD_CTX_free(md);
	free(msg);
}

static void
t_dkim_sign_emit_rfc8463_reference_b(void **state)
{
	char *signed_eml, *f;
	size_t len;

	(void)state;
	signed_eml = fix_read_file(FIX_SUITE "signed.eml", &len);
	assert_string_equal(tag_of(signed_eml, "b"), RFC_ED_B);
	f = strstr(signed_eml, "\nDKIM-Signature:");
	assert_non_null(f);
	assert_string_equal(tag_of(f + 1, "b"), RFC_RSA_B);
	rfc_reference_b(RFC_ED_FIELD, &fx.rfc_ed, RFC_ED_B);
	rfc_reference_b(RFC_RSA_FIELD, &fx.rfc_rsa, RFC_RSA_B);
	free(signed_eml);
}

/* ---- round trips ------------------------------------------------------- */

static const char *const shapes[] = {
	MSG_CRLF,
	MSG_LF,
	"From: a@example.com\r\nSubject: empty body\r\n\r\n",
	"From: a@example.com\nSubject: empty body, LF\n\n",
	"From: a@example.com\r\nSubject: x\r\n\r\nno final newline",
	"From: a@example.com\r\nSubject: a very\r\n\tlong  subject\r\n"
	"   folded twice  \r\nTo: b@example.net,\r\n c@example.net\r\n\r\n"
	"body\r\n",
	"From: =?utf-8?q?caf=C3=A9?= <a@example.com>\r\n"
	"Subject: caf\xc3\xa9 \xe2\x82\xac\r\n\r\n"
	"\xe2\x82\xac 10\t \r\n\xff\xfe\x80\r\n\r\n",
	"From: a@example.com\r\nSubject: bare CR\r\n\r\nx\ry\r\n \t\r\n",
};

static void
t_dkim_sign_emit_roundtrip_all_canon(void **state)
{
	static const char *const sel[] = { "rsa", "ed" };
	const struct dkim_privkey *keys[] = { &fx.krsa, &fx.ked };
	struct dkim_result res[MAX_RES];
	struct dkim_sign_conf c;
	size_t m, k, hc, bc;
	char *fields, *out;

	(void)state;
	for (m = 0; m < sizeof(shapes) / sizeof(shapes[0]); m++)
		for (k = 0; k < 2; k++)
			for (hc = 0; hc < 2; hc++)
				for (bc = 0; bc < 2; bc++) {
					fix_conf_for(&c, keys[k], sel[k],
					    (enum canon_alg)hc,
					    (enum canon_alg)bc);
					assert_int_equal(
					    fix_sign_msg(span_cstr(shapes[m]),
					        &c, 1, NOW, &fields, &out),
					    DKIM_OK);
					assert_int_equal(
					    fix_verify_msg(
					        out, NOW + 10, res, MAX_RES),
					    1);
					if (res[0].verdict != DKIM_V_PASS)
						fail_msg("shape %zu key %zu "
						         "c=%zu/%zu: %s",
						    m, k, hc, bc,
						    res[0].reason);
					free(fields);
					free(out);
				}
}

/* Two confs, two fields, in conf order, each passing on its own. */
static void
t_dkim_sign_emit_dual(void **state)
{
	struct dkim_result res[MAX_RES];
	struct dkim_sign_conf c[2];
	char *fields, *out;

	(void)state;
	fix_conf_for(&c[0], &fx.krsa, "rsa", CANON_RELAXED, CANON_RELAXED);
	fix_conf_for(&c[1], &fx.ked, "ed", CANON_SIMPLE, CANON_SIMPLE);
	assert_int_equal(
	    fix_sign_msg(SPAN_LIT(MSG_CRLF), c, 2, NOW, &fields, &out),
	    DKIM_OK);
	assert_int_equal(strncmp(fields, "DKIM-Signature:", 15), 0);
	assert_non_null(strstr(fields + 1, "\r\nDKIM-Signature:"));
	assert_int_equal(fix_verify_msg(out, NOW, res, MAX_RES), 2);
	fix_assert_pass(&res[0]);
	fix_assert_pass(&res[1]);
	assert_int_equal(res[0].alg, DKIM_ALG_RSA_SHA256);
	assert_int_equal(res[1].alg, DKIM_ALG_ED25519_SHA256);
	assert_int_equal(res[0].key_bits, 2048);
	free(fields);
	free(out);
}

static size_t
count_lines(const char *p, const char *end)
{
	size_t n = 0;

	for (; p < end; p++)
		n += *p == '\n';
	return n;
}

/* The second of two identical confs is folded like the first. */
static void
t_dkim_sign_emit_dual_same_folding(void **state)
{
	struct dkim_sign_conf c[2];
	char *fields, *out, *second;

	(void)state;
	fix_conf_for(&c[0], &fx.ked, "ed", CANON_RELAXED, CANON_RELAXED);
	c[1] = c[0];
	assert_int_equal(
	    fix_sign_msg(SPAN_LIT(MSG_CRLF), c, 2, NOW, &fields, &out),
	    DKIM_OK);
	second = strstr(fields + 1, "DKIM-Signature:");
	assert_non_null(second);
	assert_int_equal(count_lines(fields, second),
	    count_lines(second, second + strlen(second)));
	free(fields);
	free(out);
}

/* ---- refusals ---------------------------------------------------------- */

static void
expect_parse(const char *msg, dkim_res want)
{
	span from;

	arena_reset(&fx.ar);
	assert_int_equal(
	    dkim_sign_parse(fx.sg, span_cstr(msg), &fx.ar, &from), want);
	if (want != DKIM_OK)
		assert_true(strlen(dkim_signer_err(fx.sg)) > 0);
}

static void
t_dkim_sign_parse_from(void **state)
{
	span from;

	(void)state;
	arena_reset(&fx.ar);
	assert_int_equal(dkim_sign_parse(fx.sg,
	                     SPAN_LIT("From: \"Al, B\" <al@Example.COM> "
	                              "(x)\r\nTo: x@y\r\n\r\nb\r\n"),
	                     &fx.ar, &from),
	    DKIM_OK);
	assert_int_equal(from.len, strlen("al@Example.COM"));
	assert_memory_equal(from.p, "al@Example.COM", from.len);
	assert_true(dkim_sign_msg_is_crlf(fx.sg));
	expect_parse("From: a@b.example\n\nbody\n", DKIM_OK);
	assert_false(dkim_sign_msg_is_crlf(fx.sg));
	/* RFC 5322 §3.5: header fields alone, an empty body. */
	expect_parse(
	    "From: a@example.com\r\nSubject: no separator\r\n", DKIM_OK);
	assert_true(dkim_sign_msg_is_crlf(fx.sg));
}

static void
t_dkim_sign_parse_refusals(void **state)
{
	(void)state;
	expect_parse(
	    "To: a@example.com\r\nSubject: x\r\n\r\nbody\r\n", DKIM_E_FROM);
	expect_parse("From: a@example.com\r\nFrom: b@example.com\r\n\r\nb\r\n",
	    DKIM_E_FROM);
	expect_parse(
	    "from: a@example.com\r\nFROM: a@example.com\r\n\r\n", DKIM_E_FROM);
	expect_parse(
	    "From: undisclosed-recipients:;\r\n\r\nb\r\n", DKIM_E_FROM);
	expect_parse("From: a@example.com\r\nthis line has no colon\r\n\r\n",
	    DKIM_E_SYNTAX);
	expect_parse(" From: a@example.com\r\n\r\n", DKIM_E_SYNTAX);
	expect_parse("", DKIM_E_SYNTAX);
}

static void
expect_emit(const struct dkim_sign_conf *c, dkim_res want)
{
	struct buf b;
	span from;
	dkim_res r;

	arena_reset(&fx.ar);
	assert_int_equal(
	    dkim_sign_parse(fx.sg, SPAN_LIT(MSG_CRLF), &fx.ar, &from), DKIM_OK);
	buf_init_arena(&b, &fx.ar);
	r = dkim_sign_emit(fx.sg, c, 1, NOW, &b);
	if (r != want)
		fail_msg("d=%.*s s=%.*s i=%.*s nheaders=%zu: %s, want %s",
		    (int)c->domain.len, (const char *)c->domain.p,
		    (int)c->selector.len, (const char *)c->selector.p,
		    (int)c->identity.len, (const char *)c->identity.p,
		    c->nheaders, dkim_res_str(r), dkim_res_str(want));
	if (want != DKIM_OK) {
		assert_int_equal(b.len, 0);
		assert_true(strlen(dkim_signer_err(fx.sg)) > 0);
	}
}

static void
t_dkim_sign_emit_bad_conf(void **state)
{
	static const span no_from[] = { SPAN_INIT("subject"), SPAN_INIT("to") };
	struct dkim_sign_conf c;

	(void)state;
	fix_conf_for(&c, &fx.krsa, "rsa", CANON_RELAXED, CANON_RELAXED);
	expect_emit(&c, DKIM_OK);
	c.domain = SPAN_LIT("exa;mple.com");
	expect_emit(&c, DKIM_E_ARG);
	c.domain = SPAN_LIT("example.com\r\nBcc: x@y");
	expect_emit(&c, DKIM_E_ARG);
	c.domain = SPAN_LIT("");
	expect_emit(&c, DKIM_E_ARG);
	c.domain = SPAN_LIT("example.com");
	c.selector = SPAN_LIT("sel ector");
	expect_emit(&c, DKIM_E_ARG);
	c.selector = SPAN_LIT("");
	expect_emit(&c, DKIM_E_ARG);
	c.selector = SPAN_LIT("rsa");
	c.identity = SPAN_LIT("a;b@example.com");
	expect_emit(&c, DKIM_E_ARG);
	c.identity = SPAN_LIT("");
	c.key = NULL;
	expect_emit(&c, DKIM_E_ARG);
	/* RFC 6376 §5.4: From MUST be signed. */
	fix_conf_for(&c, &fx.krsa, "rsa", CANON_RELAXED, CANON_RELAXED);
	c.headers = no_from;
	c.nheaders = 2;
	c.noversign = 0;
	expect_emit(&c, DKIM_E_ARG);
}

/* A failing second conf leaves nothing of the first in out. */
static void
t_dkim_sign_emit_all_or_nothing(void **state)
{
	struct dkim_sign_conf c[2];
	struct buf b;
	span from;

	(void)state;
	fix_conf_for(&c[0], &fx.ked, "ed", CANON_RELAXED, CANON_RELAXED);
	fix_conf_for(&c[1], &fx.ked, "ed", CANON_RELAXED, CANON_RELAXED);
	c[1].selector = SPAN_LIT("b@d");
	arena_reset(&fx.ar);
	assert_int_equal(
	    dkim_sign_parse(fx.sg, SPAN_LIT(MSG_CRLF), &fx.ar, &from), DKIM_OK);
	buf_init_arena(&b, &fx.ar);
	assert_true(buf_add_cstr(&b, "Received: x\r\n"));
	assert_int_equal(dkim_sign_emit(fx.sg, c, 2, NOW, &b), DKIM_E_ARG);
	assert_int_equal(b.len, strlen("Received: x\r\n"));
}

/* ---- shape of the output ----------------------------------------------- */

static void
assert_line_widths(const char *f)
{
	size_t col = 0;

	for (; *f != '\0'; f++) {
		if (*f == '\n') {
			col = 0;
			continue;
		}
		col = *f == '\t' ? (col + 8) & ~(size_t)7 : col + 1;
		if (col > 80)
			fail_msg("line longer than 80 columns in:\n%s", f);
	}
}

static void
t_dkim_sign_emit_line_endings(void **state)
{
	struct dkim_sign_conf c[2];
	char *fields, *out, *p;

	(void)state;
	fix_conf_for(&c[0], &fx.krsa, "rsa", CANON_RELAXED, CANON_RELAXED);
	fix_conf_for(&c[1], &fx.ked, "ed", CANON_RELAXED, CANON_RELAXED);
	assert_int_equal(
	    fix_sign_msg(SPAN_LIT(MSG_LF), c, 2, NOW, &fields, &out), DKIM_OK);
	assert_null(strchr(fields, '\r'));
	assert_int_equal(fields[strlen(fields) - 1], '\n');
	assert_line_widths(fields);
	free(fields);
	free(out);
	assert_int_equal(
	    fix_sign_msg(SPAN_LIT(MSG_CRLF), c, 2, NOW, &fields, &out),
	    DKIM_OK);
	for (p = fields; (p = strchr(p, '\n')) != NULL; p++)
		assert_true(p > fields && p[-1] == '\r');
	for (p = fields; (p = strchr(p, '\r')) != NULL; p++)
		assert_int_equal(p[1], '\n');
	assert_line_widths(fields);
	free(fields);
	free(out);
}

/* A long domain and header list still fold under 80 columns. */
static void
t_dkim_sign_emit_folding_long(void **state)
{
	struct dkim_sign_conf c;
	char *fields, *out;

	(void)state;
	fix_conf_for(&c, &fx.krsa, "rsa", CANON_RELAXED, CANON_RELAXED);
	c.domain = SPAN_LIT("a-rather-long-subdomain-name.mail.example.com");
	c.identity = SPAN_LIT("newsletter+x@a-rather-long-subdomain-name.mail"
	                      ".example.com");
	assert_int_equal(
	    fix_sign_msg(SPAN_LIT(MSG_CRLF), &c, 1, NOW, &fields, &out),
	    DKIM_OK);
	assert_line_widths(fields);
	free(fields);
	free(out);
}

static void
t_dkim_sign_emit_tags(void **state)
{
	struct dkim_result res[MAX_RES];
	struct dkim_sign_conf c;
	char *fields, *out, want[32];

	(void)state;
	fix_conf_for(&c, &fx.ked, "ed", CANON_SIMPLE, CANON_RELAXED);
	assert_int_equal(
	    fix_sign_msg(SPAN_LIT(MSG_CRLF), &c, 1, NOW, &fields, &out),
	    DKIM_OK);
	snprintf(want, sizeof(want), "%u", NOW);
	assert_string_equal(tag_of(fields, "t"), want);
	assert_string_equal(tag_of(fields, "x"), "");
	assert_string_equal(tag_of(fields, "l"), "");
	assert_string_equal(tag_of(fields, "v"), "1");
	assert_string_equal(tag_of(fields, "c"), "simple/relaxed");
	assert_string_equal(tag_of(fields, "d"), "example.com");
	assert_string_equal(tag_of(fields, "s"), "ed");
	/* Default list: present fields plus one oversigned From etc. */
	assert_string_equal(tag_of(fields, "h"),
	    "from:from:reply-to:subject:subject:date:date:to:to:cc:"
	    "list-unsubscribe:list-unsubscribe-post:message-id:content-type");
	free(fields);
	free(out);
	c.expire = 3600;
	assert_int_equal(
	    fix_sign_msg(SPAN_LIT(MSG_CRLF), &c, 1, NOW, &fields, &out),
	    DKIM_OK);
	snprintf(want, sizeof(want), "%u", NOW + 3600);
	assert_string_equal(tag_of(fields, "x"), want);
	assert_string_equal(tag_of(fields, "l"), "");
	assert_int_equal(fix_verify_msg(out, NOW + 3600, res, MAX_RES), 1);
	fix_assert_pass(&res[0]);
	assert_int_equal(fix_verify_msg(out, NOW + 3601, res, MAX_RES), 1);
	assert_int_equal(res[0].verdict, DKIM_V_PERMERROR);
	assert_non_null(strstr(res[0].reason, "expired"));
	free(fields);
	free(out);
}

/* Signing the same message twice is deterministic for Ed25519. */
static void
t_dkim_sign_emit_deterministic(void **state)
{
	struct dkim_sign_conf c;
	char *f1, *f2, *o1, *o2;

	(void)state;
	fix_conf_for(&c, &fx.ked, "ed", CANON_RELAXED, CANON_RELAXED);
	assert_int_equal(
	    fix_sign_msg(SPAN_LIT(MSG_CRLF), &c, 1, NOW, &f1, &o1), DKIM_OK);
	assert_int_equal(
	    fix_sign_msg(SPAN_LIT(MSG_CRLF), &c, 1, NOW, &f2, &o2), DKIM_OK);
	assert_string_equal(f1, f2);
	free(f1);
	free(f2);
	free(o1);
	free(o2);
}

/* ---- streaming ----------------------------------------------------------- */

/*
 * A body that exercises every canonicalizer state across a split: WSP
 * runs and trailing WSP, a lone CR, bare LF, CRLF runs mid-body and at
 * the end (which both canonicalizations drop or keep differently).
 */
#define STREAM_HDR                                 \
	"From: Alice <alice@example.com>\r\n"      \
	"To: bob@example.net\r\n"                  \
	"Subject: streaming\r\n"                   \
	"Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n" \
	"\r\n"
#define STREAM_BODY                                            \
	"Hello \t world  \r\n"                                  \
	"\r\n"                                                   \
	"  indented\tline\t \r\n"                                \
	"cr\ralone and bare lf\n"                                 \
	"\r\n\r\n"                                                \
	"last line without trailing space\r\n"                 \
	" \r\n"                                                  \
	"\r\n"                                                   \
	"\r\n"

/* Sign header + the body given as chunks cut at cuts[0..ncuts). */
static char *
stream_sign(const struct dkim_sign_conf *c, size_t n, const size_t *cuts,
    size_t ncuts)
{
	static const char body[] = STREAM_BODY;
	struct buf b;
	span from;
	size_t i, at = 0;
	char *f;

	arena_reset(&fx.ar);
	assert_int_equal(dkim_sign_begin(fx.sg, SPAN_LIT(STREAM_HDR), &fx.ar,
	                     &from),
	    DKIM_OK);
	assert_true(span_eq(from, SPAN_LIT("alice@example.com")));
	for (i = 0; i <= ncuts; i++) {
		size_t end = i < ncuts ? cuts[i] : sizeof(body) - 1;

		assert_int_equal(dkim_sign_body(fx.sg,
		                     span_make(body + at, end - at)),
		    DKIM_OK);
		at = end;
	}
	assert_int_equal(dkim_sign_body_end(fx.sg), DKIM_OK);
	buf_init_arena(&b, &fx.ar);
	assert_int_equal(dkim_sign_emit(fx.sg, c, n, NOW, &b), DKIM_OK);
	f = malloc(b.len + 1);
	assert_non_null(f);
	memcpy(f, b.p, b.len);
	f[b.len] = '\0';
	return f;
}

/*
 * Streaming gives the fields of whole-message signing for every split of
 * the body: each single cut, every pair of cuts, and one byte at a time,
 * with simple and relaxed body canonicalization signed together.
 */
static void
t_dkim_sign_stream_split_independent(void **state)
{
	static const char body[] = STREAM_BODY;
	const size_t blen = sizeof(body) - 1;
	struct dkim_sign_conf c[2];
	size_t cuts[sizeof(body)], i, j;
	char *want, *got, *o;

	(void)state;
	fix_conf_for(&c[0], &fx.ked, "ed", CANON_RELAXED, CANON_SIMPLE);
	fix_conf_for(&c[1], &fx.ked, "ed", CANON_SIMPLE, CANON_RELAXED);
	assert_int_equal(fix_sign_msg(SPAN_LIT(STREAM_HDR STREAM_BODY), c, 2,
	                     NOW, &want, &o),
	    DKIM_OK);
	free(o);
	for (i = 0; i <= blen; i++) {
		got = stream_sign(c, 2, &i, 1);
		if (strcmp(got, want) != 0)
			fail_msg("one cut at %zu: fields differ", i);
		free(got);
	}
	for (i = 0; i <= blen; i++) {
		for (j = i; j <= blen; j++) {
			cuts[0] = i;
			cuts[1] = j;
			got = stream_sign(c, 2, cuts, 2);
			if (strcmp(got, want) != 0)
				fail_msg("cuts at %zu and %zu differ", i, j);
			free(got);
		}
	}
	for (i = 0; i < blen; i++)
		cuts[i] = i + 1;
	got = stream_sign(c, 2, cuts, blen - 1);
	assert_string_equal(got, want);
	free(got);
	free(want);
}

/* The signature streamed verifies, and a changed body byte breaks it. */
static void
t_dkim_sign_stream_verifies(void **state)
{
	struct dkim_sign_conf c;
	struct dkim_result res[MAX_RES];
	size_t cut = 20, n;
	char *f, *msg;

	(void)state;
	fix_conf_for(&c, &fx.krsa, "rsa", CANON_RELAXED, CANON_RELAXED);
	f = stream_sign(&c, 1, &cut, 1);
	msg = malloc(strlen(f) + sizeof(STREAM_HDR STREAM_BODY));
	assert_non_null(msg);
	strcpy(msg, f);
	strcat(msg, STREAM_HDR STREAM_BODY);
	n = fix_verify_msg(msg, NOW, res, MAX_RES);
	assert_int_equal(n, 1);
	assert_int_equal(res[0].verdict, DKIM_V_PASS);
	msg[strlen(msg) - 5] = 'X';
	n = fix_verify_msg(msg, NOW, res, MAX_RES);
	assert_int_equal(n, 1);
	assert_int_equal(res[0].verdict, DKIM_V_FAIL);
	free(msg);
	free(f);
}

/* Out of order: body before begin, emit before the end, body after it. */
static void
t_dkim_sign_stream_order(void **state)
{
	struct dkim_sign_conf c;
	struct buf b;
	span from;

	(void)state;
	fix_conf_for(&c, &fx.ked, "ed", CANON_RELAXED, CANON_RELAXED);
	arena_reset(&fx.ar);
	assert_int_equal(dkim_sign_parse(fx.sg, SPAN_LIT(MSG_CRLF), &fx.ar,
	                     &from),
	    DKIM_OK);
	assert_int_equal(dkim_sign_body(fx.sg, SPAN_LIT("x")), DKIM_E_ARG);
	assert_int_equal(dkim_sign_begin(fx.sg, SPAN_LIT(STREAM_HDR), &fx.ar,
	                     &from),
	    DKIM_OK);
	buf_init_arena(&b, &fx.ar);
	assert_int_equal(dkim_sign_emit(fx.sg, &c, 1, NOW, &b), DKIM_E_ARG);
	assert_int_equal(dkim_sign_body_end(fx.sg), DKIM_OK);
	assert_int_equal(dkim_sign_body(fx.sg, SPAN_LIT("x")), DKIM_E_ARG);
	assert_int_equal(dkim_sign_body_end(fx.sg), DKIM_E_ARG);
	/* A header span holding body bytes is refused. */
	assert_int_equal(dkim_sign_begin(fx.sg, SPAN_LIT(MSG_CRLF), &fx.ar,
	                     &from),
	    DKIM_E_ARG);
}

/* ---- memory ------------------------------------------------------------ */

/*
 * Sign the RFC message with both keys under every arena limit from tiny
 * to enough: each attempt either succeeds with the right output or says
 * DKIM_E_NOMEM, and never anything else.
 */
static void
t_dkim_sign_emit_arena_sweep(void **state)
{
	struct dkim_sign_conf c[2];
	struct arena small;
	size_t limit, len, nok = 0;
	char *msg, *fields, *out;
	dkim_res r;

	(void)state;
	msg = fix_read_file(FIX_SUITE "unsigned.eml", &len);
	rfc_conf(&c[0], &fx.rfc_ed, "brisbane");
	rfc_conf(&c[1], &fx.rfc_rsa, "test");
	assert_int_equal(
	    fix_sign_msg(span_make(msg, len), c, 2, RFC_T, &fields, &out),
	    DKIM_OK);
	free(out);
	for (limit = 0; limit <= 16384; limit += limit < 4096 ? 16 : 256) {
		struct buf b;
		span from;

		arena_init(&small, fx.env.alloc, 1024, limit);
		r = dkim_sign_parse(fx.sg, span_make(msg, len), &small, &from);
		if (r == DKIM_OK) {
			buf_init_arena(&b, &small);
			r = dkim_sign_emit(fx.sg, c, 2, RFC_T, &b);
		}
		if (r == DKIM_OK) {
			assert_int_equal(b.len, strlen(fields));
			assert_memory_equal(b.p, fields, b.len);
			nok++;
		} else if (r != DKIM_E_NOMEM) {
			fail_msg("limit %zu: %s (%s)", limit, dkim_res_str(r),
			    dkim_signer_err(fx.sg));
		}
		arena_fini(&small);
	}
	assert_true(nok > 0);
	free(fields);
	free(msg);
}

static void
t_dkim_signer_new_nomem(void **state)
{
	struct dkim_signer *s = NULL;

	(void)state;
	fake_alloc_fail_after(0);
	assert_int_equal(dkim_signer_new(&fx.env, &s), DKIM_E_NOMEM);
	fake_alloc_reset();
	assert_null(s);
	dkim_signer_free(NULL);
}

/* ---- keys -------------------------------------------------------------- */

static dkim_res
load_pem(EVP_PKEY *pk, bool traditional, struct dkim_privkey *k)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char err[256], *pem;
	dkim_res r;
	long n;

	assert_non_null(bio);
	assert_int_equal(traditional
	        ? PEM_write_bio_PrivateKey_traditional(
	              bio, pk, NULL, NULL, 0, NULL, NULL)
	        : PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0, NULL, NULL),
	    1);
	n = BIO_get_mem_data(bio, &pem);
	r = dkim_privkey_load(span_make(pem, (size_t)n), k, err, sizeof(err));
	if (r != DKIM_OK)
		assert_true(strlen(err) > 0);
	BIO_free(bio);
	return r;
}

static void
t_dkim_privkey_load_formats(void **state)
{
	EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	EVP_PKEY *weak = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)512);
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	uint8_t raw[64], mem[2048];
	struct dkim_keyrec kr;
	struct dkim_privkey k;
	size_t n = 32;
	struct buf b;
	char err[256];

	(void)state;
	assert_non_null(rsa);
	assert_non_null(weak);
	assert_non_null(ed);
	assert_int_equal(load_pem(rsa, true, &k), DKIM_OK);
	assert_int_equal(k.type, DKIM_KEY_RSA);
	assert_int_equal(k.bits, 1024);
	dkim_privkey_fini(&k);
	assert_int_equal(load_pem(rsa, false, &k), DKIM_OK);
	dkim_privkey_fini(&k);
	assert_int_equal(load_pem(ed, false, &k), DKIM_OK);
	assert_int_equal(k.type, DKIM_KEY_ED25519);
	dkim_privkey_fini(&k);
	/* RFC 8301: under 1024 bits is refused, in either PEM form. */
	assert_int_equal(load_pem(weak, true, &k), DKIM_E_KEY);
	assert_int_equal(load_pem(weak, false, &k), DKIM_E_KEY);
	/* libsodium's seed || public key, base64. */
	assert_int_equal(EVP_PKEY_get_raw_private_key(ed, raw, &n), 1);
	n = 32;
	assert_int_equal(EVP_PKEY_get_raw_public_key(ed, raw + 32, &n), 1);
	buf_init_fixed(&b, mem, sizeof(mem));
	assert_true(b64_encode(&b, span_make(raw, 64)));
	assert_int_equal(
	    dkim_privkey_load(buf_span(&b), &k, err, sizeof(err)), DKIM_OK);
	/* Its record parses back to the same public key. */
	b.len = 0;
	assert_int_equal(
	    dkim_privkey_record(&k, &b, err, sizeof(err)), DKIM_OK);
	arena_reset(&fx.ar);
	assert_int_equal(
	    dkim_keyrec_parse(buf_span(&b), 64, &fx.ar, &kr, err, sizeof(err)),
	    DKIM_OK);
	assert_int_equal(kr.type, DKIM_KEY_ED25519);
	assert_int_equal(EVP_PKEY_eq(kr.pk, ed), 1);
	dkim_keyrec_fini(&kr);
	dkim_privkey_fini(&k);
	assert_int_equal(dkim_privkey_load(SPAN_LIT("not a key at all"), &k,
	                     err, sizeof(err)),
	    DKIM_E_KEY);
	assert_int_equal(dkim_privkey_load(SPAN_LIT("-----BEGIN PRIVATE "
	                                            "KEY-----\nAAAA\n"),
	                     &k, err, sizeof(err)),
	    DKIM_E_KEY);
	assert_int_equal(
	    dkim_privkey_load(SPAN_LIT("QUJD"), &k, err, sizeof(err)),
	    DKIM_E_KEY);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(weak);
	EVP_PKEY_free(ed);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(
		    t_dkim_sign_emit_rfc8463_hlist_exact, fix_setup),
		cmocka_unit_test_setup(
		    t_dkim_sign_emit_rfc8463_oversign_order, fix_setup),
		cmocka_unit_test_setup(
		    t_dkim_sign_emit_rfc8463_reference_b, fix_setup),
		cmocka_unit_test_setup(
		    t_dkim_sign_emit_roundtrip_all_canon, fix_setup),
		cmocka_unit_test_setup(t_dkim_sign_emit_dual, fix_setup),
		cmocka_unit_test_setup(
		    t_dkim_sign_emit_dual_same_folding, fix_setup),
		cmocka_unit_test_setup(t_dkim_sign_parse_from, fix_setup),
		cmocka_unit_test_setup(t_dkim_sign_parse_refusals, fix_setup),
		cmocka_unit_test_setup(t_dkim_sign_emit_bad_conf, fix_setup),
		cmocka_unit_test_setup(
		    t_dkim_sign_emit_all_or_nothing, fix_setup),
		cmocka_unit_test_setup(
		    t_dkim_sign_emit_line_endings, fix_setup),
		cmocka_unit_test_setup(
		    t_dkim_sign_emit_folding_long, fix_setup),
		cmocka_unit_test_setup(t_dkim_sign_emit_tags, fix_setup),
		cmocka_unit_test_setup(
		    t_dkim_sign_emit_deterministic, fix_setup),
		cmocka_unit_test_setup(t_dkim_sign_emit_arena_sweep, fix_setup),
		cmocka_unit_test_setup(t_dkim_signer_new_nomem, fix_setup),
		cmocka_unit_test_setup(t_dkim_privkey_load_formats, fix_setup),
		cmocka_unit_test_setup(
		    t_dkim_sign_stream_split_independent, fix_setup),
		cmocka_unit_test_setup(t_dkim_sign_stream_verifies, fix_setup),
		cmocka_unit_test_setup(t_dkim_sign_stream_order, fix_setup),
	};

	return cmocka_run_group_tests(
	    tests, fix_group_setup, fix_group_teardown);
}
