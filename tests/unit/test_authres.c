#include "core/authres.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/dkim_verify.h"
#include "core/dmarc.h"
#include "core/spf.h"

/*
 * RFC 8601 output. Besides exact expected fields, every output is run
 * through lex_field(), a small lexer for the field's structure: quoted
 * strings and (nested) comments must be closed, CR and LF may appear
 * only as the eol that folds a line before a TAB, and the number of
 * top-level "dkim=" resinfos must be the number of results. A hostile d=
 * or s= that could add a resinfo or end the field fails one of these.
 */

#define ID SPAN_LIT("mx.example.org")

struct lexed {
	size_t nres;  /* top-level dkim= */
	size_t nfold; /* eol + TAB */
};

static bool
is_ctl(uint8_t c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

/* One quoted-string or comment, from the byte after its opener. */
static size_t
lex_nested(span f, size_t i, bool quote)
{
	int depth = 1;

	for (; i < f.len; i++) {
		uint8_t c = f.p[i];

		if (is_ctl(c))
			fail_msg("control byte 0x%02x inside %s", c,
			    quote ? "quoted-string" : "comment");
		if (c == '\\') {
			if (++i == f.len || is_ctl(f.p[i]))
				fail_msg("dangling quoted-pair");
		} else if (quote && c == '"') {
			return i + 1;
		} else if (!quote && c == '(') {
			depth++;
		} else if (!quote && c == ')' && --depth == 0) {
			return i + 1;
		}
	}
	fail_msg("unterminated %s", quote ? "quoted-string" : "comment");
	return f.len;
}

static struct lexed
lex_field(span f, const char *eol)
{
	struct lexed lx = { 0, 0 };
	size_t i = 0, el = strlen(eol);

	while (i < f.len) {
		uint8_t c = f.p[i];

		if (f.len - i > el && memcmp(f.p + i, eol, el) == 0 &&
		    f.p[i + el] == '\t') {
			lx.nfold++;
			i += el + 1;
		} else if (is_ctl(c)) {
			fail_msg("bare control byte 0x%02x at %zu", c, i);
		} else if (c == '"' || c == '(') {
			i = lex_nested(f, i + 1, c == '"');
		} else if (c == ')') {
			fail_msg("unbalanced ')' at %zu", i);
		} else {
			if (f.len - i >= 5 &&
			    memcmp(f.p + i, "dkim=", 5) == 0 && i > 0 &&
			    (f.p[i - 1] == ' ' || f.p[i - 1] == '\t'))
				lx.nres++;
			i++;
		}
	}
	return lx;
}

/*
 * The value of the first top-level prop= (token or unescaped quoted
 * string) into out; false when absent.
 */
static bool
prop_value(span f, const char *prop, char *out, size_t cap)
{
	size_t i = 0, pl = strlen(prop), n = 0;

	while (i < f.len) {
		if (f.p[i] == '"' || f.p[i] == '(') {
			i = lex_nested(f, i + 1, f.p[i] == '"');
			continue;
		}
		if (f.len - i > pl && memcmp(f.p + i, prop, pl) == 0)
			break;
		i++;
	}
	if (i == f.len)
		return false;
	i += pl;
	if (f.p[i] != '"') {
		while (
		    i < f.len && f.p[i] != ' ' && f.p[i] != ';' && n < cap - 1)
			out[n++] = (char)f.p[i++];
	} else {
		for (i++; i < f.len && f.p[i] != '"' && n < cap - 1; i++) {
			if (f.p[i] == '\\')
				i++;
			out[n++] = (char)f.p[i];
		}
	}
	out[n] = '\0';
	return true;
}

static void
init_result(
    struct dkim_result *r, enum dkim_verdict v, const char *d, const char *s)
{
	memset(r, 0, sizeof(*r));
	r->verdict = v;
	r->alg = DKIM_ALG_RSA_SHA256;
	r->alg_known = true;
	r->d = span_cstr(d);
	r->s = span_cstr(s);
	snprintf(r->bpref, sizeof(r->bpref), "%s", "abcdEFGH");
}

static void
expect_field(const struct dkim_result *res, size_t n, size_t nskipped,
    const char *error, const char *want)
{
	uint8_t mem[2048];
	struct buf b;
	struct lexed lx;

	buf_init_fixed(&b, mem, sizeof(mem));
	assert_true(authres_dkim(&b, ID, res, n, nskipped, error, "\r\n"));
	if (!span_eq(buf_span(&b), span_cstr(want)))
		fail_msg(
		    "got\n%.*s\nwant\n%s", (int)b.len, (const char *)b.p, want);
	lx = lex_field(buf_span(&b), "\r\n");
	assert_int_equal(lx.nres, n > 0 ? n : 1);
	assert_int_equal(lx.nfold, n > 0 ? n : error != NULL);
}

static void
t_authres_dkim_pass(void **state)
{
	struct dkim_result r;

	(void)state;
	init_result(&r, DKIM_V_PASS, "example.com", "sel");
	r.key_bits = 2048;
	snprintf(r.reason, sizeof(r.reason), "ignored on pass");
	expect_field(&r, 1, 0, NULL,
	    "Authentication-Results: mx.example.org;\r\n"
	    "\tdkim=pass (2048-bit rsa-sha256 key) header.d=example.com "
	    "header.s=sel header.a=rsa-sha256 header.b=abcdEFGH");
}

static void
t_authres_dkim_fail(void **state)
{
	struct dkim_result r;

	(void)state;
	init_result(&r, DKIM_V_FAIL, "example.com", "sel");
	r.alg = DKIM_ALG_ED25519_SHA256;
	r.key_bits = 256;
	r.i = SPAN_LIT("joe@example.com");
	snprintf(r.reason, sizeof(r.reason), "body hash mismatch");
	expect_field(&r, 1, 0, NULL,
	    "Authentication-Results: mx.example.org;\r\n"
	    "\tdkim=fail (256-bit ed25519-sha256 key) "
	    "reason=\"body hash mismatch\" header.d=example.com "
	    "header.i=joe@example.com header.s=sel "
	    "header.a=ed25519-sha256 header.b=abcdEFGH");
}

/* A signature rejected before its alg or key were known. */
static void
t_authres_dkim_permerror(void **state)
{
	struct dkim_result r;

	(void)state;
	init_result(&r, DKIM_V_PERMERROR, "example.com", "");
	r.alg_known = false;
	r.bpref[0] = '\0';
	snprintf(r.reason, sizeof(r.reason), "missing s= tag");
	expect_field(&r, 1, 0, NULL,
	    "Authentication-Results: mx.example.org;\r\n"
	    "\tdkim=permerror reason=\"missing s= tag\" "
	    "header.d=example.com");
}

static void
t_authres_dkim_none(void **state)
{
	(void)state;
	expect_field(NULL, 0, 0, NULL,
	    "Authentication-Results: mx.example.org; dkim=none "
	    "(no signatures)");
}

static void
t_authres_dkim_multiple(void **state)
{
	struct dkim_result r[3];

	(void)state;
	init_result(&r[0], DKIM_V_PASS, "a.example", "s1");
	init_result(&r[1], DKIM_V_TEMPERROR, "b.example", "s2");
	snprintf(r[1].reason, sizeof(r[1].reason), "DNS timeout");
	init_result(&r[2], DKIM_V_NEUTRAL, "c.example", "s3");
	r[2].alg_known = false;
	expect_field(r, 3, 2, NULL,
	    "Authentication-Results: mx.example.org;\r\n"
	    "\tdkim=pass header.d=a.example header.s=s1 "
	    "header.a=rsa-sha256 header.b=abcdEFGH;\r\n"
	    "\tdkim=temperror reason=\"DNS timeout\" header.d=b.example "
	    "header.s=s2 header.a=rsa-sha256 header.b=abcdEFGH;\r\n"
	    "\tdkim=neutral header.d=c.example header.s=s3 "
	    "header.b=abcdEFGH (2 more signatures not checked)");
}

static void
t_authres_dkim_nskipped(void **state)
{
	struct dkim_result r;

	(void)state;
	init_result(&r, DKIM_V_PASS, "a.example", "s");
	expect_field(&r, 1, 40, NULL,
	    "Authentication-Results: mx.example.org;\r\n"
	    "\tdkim=pass header.d=a.example header.s=s "
	    "header.a=rsa-sha256 header.b=abcdEFGH "
	    "(40 more signatures not checked)");
}

static void
t_authres_dkim_error(void **state)
{
	(void)state;
	expect_field(NULL, 0, 0, "no From field",
	    "Authentication-Results: mx.example.org;\r\n"
	    "\tdkim=permerror reason=\"no From field\"");
	/* The reason may quote the message; it stays inside its quotes. */
	expect_field(NULL, 0, 0, "bad \"x\\\r\n\ty\"; dkim=pass",
	    "Authentication-Results: mx.example.org;\r\n"
	    "\tdkim=permerror reason=\"bad \\\"x\\\\???y\\\"; dkim=pass\"");
}

/* Key size, testing, DNSSEC and l= go into one comment. */
static void
t_authres_dkim_details(void **state)
{
	struct dkim_result r;

	(void)state;
	init_result(&r, DKIM_V_PASS, "a.example", "s");
	r.key_bits = 1024;
	r.testing = true;
	r.dnssec = 1;
	r.has_l = true;
	r.l = 10;
	r.body_len = 20;
	expect_field(&r, 1, 0, NULL,
	    "Authentication-Results: mx.example.org;\r\n"
	    "\tdkim=pass (1024-bit rsa-sha256 key; key in testing mode; "
	    "dnssec; l= signs 10 of 20 body bytes) header.d=a.example "
	    "header.s=s header.a=rsa-sha256 header.b=abcdEFGH");
}

/* header.b: the 8-character prefix; base64 '/' '+' '=' force quotes. */
static void
t_authres_dkim_header_b(void **state)
{
	uint8_t mem[512];
	struct dkim_result r;
	struct buf b;
	char v[64];

	(void)state;
	init_result(&r, DKIM_V_PASS, "a.example", "s");
	snprintf(r.bpref, sizeof(r.bpref), "%s", "ab/+cd==");
	buf_init_fixed(&b, mem, sizeof(mem));
	assert_true(authres_dkim(&b, ID, &r, 1, 0, NULL, "\r\n"));
	assert_non_null(memmem(b.p, b.len, "header.b=\"ab/+cd==\"", 19));
	assert_true(prop_value(buf_span(&b), "header.b=", v, sizeof(v)));
	assert_string_equal(v, "ab/+cd==");
	assert_int_equal(strlen(v), 8);
}

/* Bytes a value can hold that must never reach the field raw. */
static const char hostile[] = { '"', '\\', ';', ' ', '(', ')', '\r', '\n', '\t',
	'=', '@', ',', '\0' };

/* What the value must read back as: controls shown as '?'. */
static void
sanitize(const char *in, char *out)
{
	for (; *in != '\0'; in++, out++)
		*out = ((unsigned char)*in < 0x20 || *in == 0x7f) ? '?' : *in;
	*out = '\0';
}

static void
check_hostile(const char *d, const char *s, const char *eol)
{
	uint8_t mem[1024];
	char got[256], want[256];
	struct dkim_result r[2];
	struct buf b;
	struct lexed lx;

	init_result(&r[0], DKIM_V_FAIL, d, s);
	r[0].i = span_cstr(s);
	snprintf(r[0].reason, sizeof(r[0].reason), "%s", d);
	init_result(&r[1], DKIM_V_PASS, "ok.example", "s");
	buf_init_fixed(&b, mem, sizeof(mem));
	assert_true(authres_dkim(&b, ID, r, 2, 0, NULL, eol));
	lx = lex_field(buf_span(&b), eol);
	if (lx.nres != 2 || lx.nfold != 2)
		fail_msg("d=\"%s\" s=\"%s\" broke the field:\n%.*s", d, s,
		    (int)b.len, (const char *)b.p);
	assert_true(prop_value(buf_span(&b), "header.d=", got, sizeof(got)));
	sanitize(d, want);
	assert_string_equal(got, want);
	assert_true(prop_value(buf_span(&b), "header.s=", got, sizeof(got)));
	sanitize(s, want);
	assert_string_equal(got, want);
	assert_true(prop_value(buf_span(&b), "header.i=", got, sizeof(got)));
	assert_string_equal(got, want);
	assert_true(prop_value(buf_span(&b), "reason=", got, sizeof(got)));
	sanitize(d, want);
	assert_string_equal(got, want);
}

static void
t_authres_dkim_hostile_values(void **state)
{
	char d[32], s[32];
	size_t i, j;

	(void)state;
	for (i = 0; hostile[i] != '\0'; i++)
		for (j = 0; hostile[j] != '\0'; j++) {
			snprintf(d, sizeof(d), "ex%cample.com%c", hostile[i],
			    hostile[j]);
			snprintf(
			    s, sizeof(s), "%csel%c", hostile[j], hostile[i]);
			check_hostile(d, s, "\r\n");
			check_hostile(d, s, "\n");
		}
	check_hostile("a.example; dkim=pass header.d=bank.example",
	    "x\r\nX-Injected: 1", "\r\n");
	check_hostile("\"", "\\", "\r\n");
	check_hostile("((((", "))))", "\r\n");
	check_hostile("\\\"", "\\\\\"", "\n");
}

/* With "\n" as eol no CR appears anywhere. */
static void
t_authres_dkim_lf_eol(void **state)
{
	uint8_t mem[512];
	struct dkim_result r[2];
	struct buf b;

	(void)state;
	init_result(&r[0], DKIM_V_PASS, "a.example", "s");
	init_result(&r[1], DKIM_V_FAIL, "b\r\n.example", "s\r");
	buf_init_fixed(&b, mem, sizeof(mem));
	assert_true(authres_dkim(&b, ID, r, 2, 0, NULL, "\n"));
	assert_null(memchr(b.p, '\r', b.len));
	assert_int_equal(lex_field(buf_span(&b), "\n").nres, 2);
}

static void
t_authres_dkim_hostile_authserv_id(void **state)
{
	uint8_t mem[512];
	struct buf b;
	struct lexed lx;

	(void)state;
	buf_init_fixed(&b, mem, sizeof(mem));
	assert_true(authres_dkim(
	    &b, SPAN_LIT("mx; dkim=pass\r\n"), NULL, 0, 0, NULL, "\r\n"));
	assert_true(span_eq(buf_span(&b),
	    SPAN_LIT("Authentication-Results: \"mx; dkim=pass??\"; dkim=none "
	             "(no signatures)")));
	lx = lex_field(buf_span(&b), "\r\n");
	assert_int_equal(lx.nres, 1);
}

/* A field that does not fit leaves the buf as it was, at every size. */
static void
t_authres_dkim_full(void **state)
{
	uint8_t mem[1024];
	struct dkim_result r[2];
	struct buf b;
	size_t cap, need;

	(void)state;
	init_result(&r[0], DKIM_V_PASS, "a.example", "s");
	r[0].key_bits = 2048;
	r[0].has_l = true;
	init_result(&r[1], DKIM_V_FAIL, "b\".example", "s");
	snprintf(r[1].reason, sizeof(r[1].reason), "bad \"sig\"");
	buf_init_fixed(&b, mem, sizeof(mem));
	assert_true(authres_dkim(&b, ID, r, 2, 3, NULL, "\r\n"));
	need = b.len;
	for (cap = 3; cap < need + 3; cap++) {
		buf_init_fixed(&b, mem, cap);
		assert_true(buf_add(&b, "X: ", 3));
		if (cap < need + 3) {
			assert_false(
			    authres_dkim(&b, ID, r, 2, 3, NULL, "\r\n"));
			assert_int_equal(b.len, 3);
		}
	}
	buf_init_fixed(&b, mem, need + 3);
	assert_true(buf_add(&b, "X: ", 3));
	assert_true(authres_dkim(&b, ID, r, 2, 3, NULL, "\r\n"));
	assert_int_equal(b.len, need + 3);
	for (cap = 0; cap < 50; cap++) {
		buf_init_fixed(&b, mem, cap);
		assert_false(
		    authres_dkim(&b, ID, NULL, 0, 0, "a reason", "\n"));
		assert_int_equal(b.len, 0);
	}
}

static void
expect_av(span v, const char *want)
{
	uint8_t mem[64];
	struct buf b;

	buf_init_fixed(&b, mem, sizeof(mem));
	assert_true(authres_value(&b, v));
	if (!span_eq(buf_span(&b), span_cstr(want)))
		fail_msg(
		    "got %.*s, want %s", (int)b.len, (const char *)b.p, want);
}

static void
t_authres_value_forms(void **state)
{
	static const char nul[] = "a\0b";
	uint8_t mem[4];
	struct buf b;

	(void)state;
	expect_av(SPAN_LIT("example.com"), "example.com");
	expect_av(SPAN_LIT("a-b_c.d+e"), "a-b_c.d+e");
	expect_av(SPAN_LIT(""), "\"\"");
	expect_av(SPAN_LIT("a b"), "\"a b\"");
	expect_av(SPAN_LIT("a\"b\\c"), "\"a\\\"b\\\\c\"");
	expect_av(SPAN_LIT("a;b"), "\"a;b\"");
	expect_av(SPAN_LIT("(x)"), "\"(x)\"");
	expect_av(SPAN_LIT("a\r\nb\x7f"), "\"a??b?\"");
	expect_av(SPAN_LIT(nul), "\"a?b\"");
	expect_av(SPAN_LIT("caf\xc3\xa9"), "\"caf\xc3\xa9\"");
	/* Too small: nothing written. */
	buf_init_fixed(&b, mem, sizeof(mem));
	assert_false(authres_value(&b, SPAN_LIT("a\"b")));
	assert_int_equal(b.len, 0);
	assert_false(authres_value(&b, SPAN_LIT("abcde")));
	assert_int_equal(b.len, 0);
}

static void
t_authres_comment_text_escapes(void **state)
{
	uint8_t mem[64];
	struct buf b;

	(void)state;
	buf_init_fixed(&b, mem, sizeof(mem));
	assert_true(authres_comment_text(&b, SPAN_LIT("a(b)c\\d\r\n\"")));
	assert_true(span_eq(buf_span(&b), SPAN_LIT("a\\(b\\)c\\\\d??\"")));
	buf_init_fixed(&b, mem, 5);
	assert_false(authres_comment_text(&b, SPAN_LIT("((((")));
	assert_int_equal(b.len, 0);
}

/* A field with spf=, dkim= and dmarc= as hanko dmarc writes it. */
static void
t_authres_spf_dkim_dmarc(void **state)
{
	uint8_t mem[2048];
	struct spf_request rq;
	struct spf_outcome so;
	struct dkim_result r;
	struct dmarc_outcome dm;
	struct authres_w w;
	struct buf b;

	(void)state;
	memset(&rq, 0, sizeof(rq));
	memset(&so, 0, sizeof(so));
	memset(&dm, 0, sizeof(dm));
	so.result = SPF_R_PASS;
	so.sender = SPAN_LIT("bounce@mail.example.com");
	so.mechanism = SPAN_LIT("ip4:192.0.2.0/24");
	init_result(&r, DKIM_V_PASS, "example.com", "sel");
	dm.result = DMARC_R_PASS;
	dm.have_record = true;
	dm.rec.p = DMARC_P_REJECT;
	buf_init_fixed(&b, mem, sizeof(mem));
	authres_begin(&w, &b, ID, "\r\n");
	authres_add_spf(&w, &rq, &so);
	authres_add_dkim(&w, &r, 1, 0, NULL);
	authres_add_dmarc(&w, &dm, SPAN_LIT("example.com"));
	assert_true(authres_end(&w));
	assert_true(span_eq(buf_span(&b),
	    SPAN_LIT("Authentication-Results: mx.example.org;\r\n"
	             "\tspf=pass (matched ip4:192.0.2.0/24) "
	             "smtp.mailfrom=bounce@mail.example.com;\r\n"
	             "\tdkim=pass header.d=example.com header.s=sel "
	             "header.a=rsa-sha256 header.b=abcdEFGH;\r\n"
	             "\tdmarc=pass (p=REJECT sp=REJECT dis=NONE) "
	             "header.from=example.com")));
	assert_int_equal(lex_field(buf_span(&b), "\r\n").nfold, 3);

	/* The HELO identity; np= shown when it applied; a reason on fail. */
	rq.identity = SPF_ID_HELO;
	rq.helo = SPAN_LIT("mta.example.com");
	so.result = SPF_R_FAIL;
	so.mechanism = SPAN_LIT("-all");
	dm.result = DMARC_R_FAIL;
	dm.rec.sp = DMARC_P_NONE;
	dm.rec.np = DMARC_P_QUARANTINE;
	dm.nonexistent = true;
	dm.disposition = DMARC_P_QUARANTINE;
	snprintf(dm.reason, sizeof(dm.reason), "no aligned identifier");
	buf_init_fixed(&b, mem, sizeof(mem));
	authres_begin(&w, &b, ID, NULL);
	authres_add_spf(&w, &rq, &so);
	authres_add_dmarc(&w, &dm, SPAN_LIT("nx.example.com"));
	assert_true(authres_end(&w));
	assert_true(span_eq(buf_span(&b),
	    SPAN_LIT("Authentication-Results: mx.example.org; spf=fail "
	             "(matched -all) smtp.helo=mta.example.com; dmarc=fail "
	             "(p=REJECT sp=NONE np=QUARANTINE dis=QUARANTINE) "
	             "reason=\"no aligned identifier\" "
	             "header.from=nx.example.com")));
	/* Nothing added: "none" (RFC 8601 §2.2). */
	buf_init_fixed(&b, mem, sizeof(mem));
	authres_begin(&w, &b, ID, NULL);
	assert_true(authres_end(&w));
	assert_true(span_eq(buf_span(&b),
	    SPAN_LIT("Authentication-Results: mx.example.org; none")));
}

/*
 * A hostile MAIL FROM, mechanism text and From domain cannot add a
 * resinfo or end the field; a full buffer leaves it as it was.
 */
static void
t_authres_spf_dmarc_hostile(void **state)
{
	uint8_t mem[2048];
	struct spf_request rq;
	struct spf_outcome so;
	struct dmarc_outcome dm;
	struct authres_w w;
	struct buf b;
	struct lexed lx;

	(void)state;
	memset(&rq, 0, sizeof(rq));
	memset(&so, 0, sizeof(so));
	memset(&dm, 0, sizeof(dm));
	so.result = SPF_R_PASS;
	so.sender = SPAN_LIT("a;dkim=pass@x\r\nX-Evil: 1");
	so.mechanism = SPAN_LIT("a:(x)) dkim=pass (");
	dm.result = DMARC_R_NONE;
	snprintf(dm.reason, sizeof(dm.reason), "\"; dkim=pass");
	buf_init_fixed(&b, mem, sizeof(mem));
	authres_begin(&w, &b, ID, "\r\n");
	authres_add_spf(&w, &rq, &so);
	authres_add_dmarc(&w, &dm, SPAN_LIT("e.com; dkim=pass header.d=bank"));
	assert_true(authres_end(&w));
	lx = lex_field(buf_span(&b), "\r\n");
	assert_int_equal(lx.nres, 0);
	assert_int_equal(lx.nfold, 2);
	buf_init_fixed(&b, mem, 60);
	authres_begin(&w, &b, ID, "\r\n");
	authres_add_spf(&w, &rq, &so);
	authres_add_dmarc(&w, &dm, SPAN_LIT("example.com"));
	assert_false(authres_end(&w));
	assert_int_equal(b.len, 0);
}

/*
 * Several author domains: one dmarc=, the deciding outcome's, with each
 * domain's result in the comment; a domain that is not a DNS name
 * cannot put "dmarc=pass" into the field.
 */
static void
t_authres_dmarc_authors(void **state)
{
	uint8_t mem[1024];
	struct dmarc_outcome each[2];
	struct authres_w w;
	struct buf b;

	(void)state;
	memset(each, 0, sizeof(each));
	each[0].result = DMARC_R_PASS;
	each[0].from_domain = SPAN_LIT("example.com");
	each[1].result = DMARC_R_FAIL;
	each[1].from_domain = SPAN_LIT("example.org");
	each[1].have_record = true;
	each[1].rec.p = DMARC_P_REJECT;
	each[1].disposition = DMARC_P_REJECT;
	snprintf(
	    each[1].reason, sizeof(each[1].reason), "no aligned identifier");
	buf_init_fixed(&b, mem, sizeof(mem));
	authres_begin(&w, &b, ID, NULL);
	authres_add_dmarc_authors(&w, &each[1], each[1].from_domain, each, 2);
	assert_true(authres_end(&w));
	assert_true(span_eq(buf_span(&b),
	    SPAN_LIT("Authentication-Results: mx.example.org; dmarc=fail "
	             "(p=REJECT sp=REJECT dis=REJECT; authors: example.com "
	             "pass, example.org fail) reason=\"no aligned "
	             "identifier\" header.from=example.org")));
	/* Without a record: the comment holds the authors alone. */
	each[1].have_record = false;
	each[1].reason[0] = '\0';
	each[0].from_domain = SPAN_LIT("dmarc=pass");
	buf_init_fixed(&b, mem, sizeof(mem));
	authres_begin(&w, &b, ID, NULL);
	authres_add_dmarc_authors(&w, &each[1], each[1].from_domain, each, 2);
	assert_true(authres_end(&w));
	assert_true(span_eq(buf_span(&b),
	    SPAN_LIT("Authentication-Results: mx.example.org; dmarc=fail "
	             "(authors: ? pass, example.org fail) "
	             "header.from=example.org")));
	/* One author domain: no list. */
	buf_init_fixed(&b, mem, sizeof(mem));
	authres_begin(&w, &b, ID, NULL);
	authres_add_dmarc_authors(&w, &each[1], each[1].from_domain, each, 1);
	assert_true(authres_end(&w));
	assert_true(span_eq(buf_span(&b),
	    SPAN_LIT("Authentication-Results: mx.example.org; dmarc=fail "
	             "header.from=example.org")));
}

/* RFC 8601 §5: which fields claim our authserv-id, and which do not. */
static void
t_authres_claims_id_forms(void **state)
{
	static const char *const ours[] = {
		" mx.example.org; dkim=pass",
		"mx.example.org;dkim=pass",
		" MX.Example.ORG; spf=pass",
		"\r\n\tmx.example.org; dkim=pass",
		" (forged) mx.example.org; dkim=pass",
		" (a (nested) one)\r\n (two) mx.example.org (x); none",
		" \"mx.example.org\"; dkim=pass",
		" \"m\\x.example.org\"; dkim=pass",
		" mx.example.org 1; dkim=pass",
		" mx.example.org",
	};
	static const char *const others[] = {
		" mx.example.org.evil; dkim=pass",
		" other.example.org; dkim=pass",
		" xmx.example.org; dkim=pass",
		"",
		"   ",
		" (unterminated mx.example.org; dkim=pass",
		" \"mx.example.org; dkim=pass",
		" ; mx.example.org",
		" mx.example.or; dkim=pass",
	};
	size_t i;
	span id;

	(void)state;
	for (i = 0; i < sizeof(ours) / sizeof(ours[0]); i++) {
		if (!authres_claims_id(span_cstr(ours[i]), ID))
			fail_msg("not claimed: [%s]", ours[i]);
	}
	for (i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		if (authres_claims_id(span_cstr(others[i]), ID))
			fail_msg("claimed: [%s]", others[i]);
	}
	assert_true(authres_id_of(span_cstr(" (c) \"a b\" ;"), &id));
	assert_true(span_eq(id, SPAN_LIT("a b")));
	assert_false(authres_id_of(span_cstr(" \\"), &id));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_authres_dkim_pass),
		cmocka_unit_test(t_authres_dkim_fail),
		cmocka_unit_test(t_authres_dkim_permerror),
		cmocka_unit_test(t_authres_dkim_none),
		cmocka_unit_test(t_authres_dkim_multiple),
		cmocka_unit_test(t_authres_dkim_nskipped),
		cmocka_unit_test(t_authres_dkim_error),
		cmocka_unit_test(t_authres_dkim_details),
		cmocka_unit_test(t_authres_dkim_header_b),
		cmocka_unit_test(t_authres_dkim_hostile_values),
		cmocka_unit_test(t_authres_dkim_lf_eol),
		cmocka_unit_test(t_authres_dkim_hostile_authserv_id),
		cmocka_unit_test(t_authres_dkim_full),
		cmocka_unit_test(t_authres_value_forms),
		cmocka_unit_test(t_authres_comment_text_escapes),
		cmocka_unit_test(t_authres_spf_dkim_dmarc),
		cmocka_unit_test(t_authres_spf_dmarc_hostile),
		cmocka_unit_test(t_authres_dmarc_authors),
		cmocka_unit_test(t_authres_claims_id_forms),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
