/*
 * Unit tests for core/check*.c, the record audit behind hanko check:
 * the SPF walk (counts over include and redirect, terms after "all",
 * void lookups, loops, a hostile chain), the "all" rules, DKIM key
 * records (sizes, t=y, revoked, h=sha1, syntax, missing) and the match
 * against a private key for RSA and Ed25519, the DMARC policy found by
 * the tree walk (own, inherited, none, several, invalid, no rua, dropped
 * tags, external rua with and without authorization), ADSP, MX, DNS
 * failures, memory exhaustion and the code table. Every audit runs three
 * times (answers before the query returns, queued FIFO, queued LIFO) and
 * must give the same findings in the same order.
 */
#include "core/check.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
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

#include "core/arena.h"
#include "core/dkim_key.h"
#include "core/dmarc.h"
#include "core/dns.h"
#include "core/env.h"
#include "tests/fake/fake_alloc.h"
#include "tests/fake/fake_dns.h"
#include "tests/fake/fake_env.h"

struct fixture {
	struct fake_env fe;
};

/* What one audit said: "code[selector]" joined by spaces, and more. */
struct sum {
	check_res r;
	char codes[2048];
	char msgs[8192];
	unsigned lookups, voids;
	size_t ntree;
	char tree[1024]; /* "depth:domain:lookups" joined by spaces */
	bool dns_failed;
};

static int
setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	fake_env_init(&f.fe);
	*state = &f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	return fake_env_fini(&f->fe);
}

static void
cat(char *dst, size_t cap, const char *fmt, ...)
{
	size_t n = strlen(dst);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dst + n, cap - n, fmt, ap);
	va_end(ap);
}

static void
summarise(const struct check *c, check_res r, struct sum *s)
{
	const struct check_finding *f;
	const struct check_spf_node *t;
	size_t i;

	memset(s, 0, sizeof(*s));
	s->r = r;
	for (f = check_findings(c); f != NULL; f = f->next) {
		cat(s->codes, sizeof(s->codes), "%s%s", s->codes[0] ? " " : "",
		    check_code_str(f->code));
		if (f->selector.len > 0)
			cat(s->codes, sizeof(s->codes), "[%.*s]",
			    (int)f->selector.len, (const char *)f->selector.p);
		cat(s->msgs, sizeof(s->msgs), "%.*s\n", (int)f->message.len,
		    (const char *)f->message.p);
	}
	t = check_spf_tree(c, &s->ntree, &s->lookups, &s->voids);
	for (i = 0; i < s->ntree; i++)
		cat(s->tree, sizeof(s->tree), "%s%u:%.*s:%u", i ? " " : "",
		    t[i].depth, (int)t[i].domain.len,
		    (const char *)t[i].domain.p, t[i].lookups);
	s->dns_failed = check_dns_failed(c);
}

static void
audit_mode(
    struct fixture *f, const struct check_request *req, int mode, struct sum *s)
{
	struct check *c = NULL;
	check_res r;

	fake_dns_set_mode(
	    f->fe.dns, mode == 0 ? FAKE_DNS_SYNC : FAKE_DNS_QUEUED);
	fake_dns_set_lifo(f->fe.dns, mode == 2);
	arena_reset(&f->fe.ar);
	r = check_start(&f->fe.env, req, &f->fe.ar, &c);
	assert_int_not_equal(r, CHECK_R_ARG);
	if (mode == 0) {
		assert_int_not_equal(r, CHECK_R_PENDING);
	} else {
		size_t guard = 0;

		while (!check_is_done(c)) {
			assert_true(fake_dns_run(f->fe.dns) > 0);
			assert_true(++guard < 200);
		}
		r = check_status(c);
	}
	assert_true(check_is_done(c));
	summarise(c, r, s);
	check_fini(c);
}

/* Audit in all three modes; they must agree. */
static void
audit(struct fixture *f, const char *domain, const struct check_selector *sel,
    size_t nsel, unsigned what, struct sum *s)
{
	struct check_request req;
	struct sum m;
	int mode;

	memset(&req, 0, sizeof(req));
	req.domain = span_cstr(domain);
	req.sel = sel;
	req.nsel = nsel;
	req.what = what;
	audit_mode(f, &req, 0, s);
	for (mode = 1; mode <= 2; mode++) {
		audit_mode(f, &req, mode, &m);
		assert_string_equal(m.codes, s->codes);
		assert_string_equal(m.msgs, s->msgs);
		assert_string_equal(m.tree, s->tree);
		assert_int_equal(m.lookups, s->lookups);
		assert_int_equal(m.voids, s->voids);
	}
}

static void
spf(struct fixture *f, const char *domain, struct sum *s)
{
	audit(f, domain, NULL, 0, CHECK_W_SPF, s);
}

static void
t_check_spf_counts_include_and_redirect(void **state)
{
	struct fixture *f = *state;
	struct sum s;

	fake_dns_add_txt(f->fe.dns, "a.test",
	    "v=spf1 mx include:b.test a:h.a.test redirect=c.test");
	fake_dns_add_txt(f->fe.dns, "b.test", "v=spf1 a exists:e.b.test -all");
	fake_dns_add_txt(f->fe.dns, "c.test", "v=spf1 include:b.test ~all");
	fake_dns_add_mx(f->fe.dns, "a.test", 10, "mx.a.test");
	fake_dns_add_a(f->fe.dns, "h.a.test", "192.0.2.1");
	fake_dns_add_a(f->fe.dns, "b.test", "192.0.2.2");
	fake_dns_add_a(f->fe.dns, "e.b.test", "192.0.2.3");
	spf(f, "a.test", &s);
	/* mx include a redirect (4) + b: a exists (2) + c: include (1) + b */
	assert_int_equal(s.lookups, 9);
	assert_int_equal(s.voids, 0);
	assert_string_equal(
	    s.tree, "0:a.test:4 1:b.test:2 1:c.test:1 2:b.test:2");
	assert_string_equal(s.codes, "spf-lookups");
}

static void
t_check_spf_stops_at_all(void **state)
{
	struct fixture *f = *state;
	struct sum s;

	/* §5.1: terms after all are never tested; §6.1: redirect ignored. */
	fake_dns_add_txt(f->fe.dns, "a.test",
	    "v=spf1 ip4:192.0.2.0/24 -all include:b.test redirect=c.test");
	fake_dns_add_txt(f->fe.dns, "b.test", "v=spf1 -all");
	fake_dns_add_txt(f->fe.dns, "c.test", "v=spf1 -all");
	spf(f, "a.test", &s);
	assert_int_equal(s.lookups, 0);
	assert_string_equal(s.tree, "0:a.test:0");
	assert_int_equal(fake_dns_queries(f->fe.dns) % 3, 0);
	assert_string_equal(s.codes, "spf-lookups");
}

static void
t_check_spf_limits(void **state)
{
	struct fixture *f = *state;
	struct sum s;

	/* exactly 10: silent */
	fake_dns_add_txt(
	    f->fe.dns, "ten.test", "v=spf1 a mx a mx a mx a mx a mx -all");
	fake_dns_add_a(f->fe.dns, "ten.test", "192.0.2.1");
	fake_dns_add_mx(f->fe.dns, "ten.test", 10, "mx.ten.test");
	spf(f, "ten.test", &s);
	assert_int_equal(s.lookups, 10);
	assert_string_equal(s.codes, "spf-lookups");
	/* 11: error */
	fake_dns_add_txt(
	    f->fe.dns, "eleven.test", "v=spf1 a mx a mx a mx a mx a mx a -all");
	fake_dns_add_a(f->fe.dns, "eleven.test", "192.0.2.1");
	fake_dns_add_mx(f->fe.dns, "eleven.test", 10, "mx.ten.test");
	spf(f, "eleven.test", &s);
	assert_int_equal(s.lookups, 11);
	assert_string_equal(s.codes, "spf-too-many-lookups");
	/* two void lookups: fine; three: error (NXDOMAIN and NODATA) */
	fake_dns_add_txt(
	    f->fe.dns, "v2.test", "v=spf1 a:gone.test exists:gone2.test -all");
	spf(f, "v2.test", &s);
	assert_int_equal(s.voids, 2);
	assert_string_equal(s.codes, "spf-lookups");
	fake_dns_add_txt(f->fe.dns, "v3.test",
	    "v=spf1 a:gone.test exists:gone2.test mx:v3.test -all");
	spf(f, "v3.test", &s);
	assert_int_equal(s.voids, 3);
	assert_string_equal(s.codes, "spf-lookups spf-too-many-void-lookups");
}

static void
t_check_spf_all_rules(void **state)
{
	struct fixture *f = *state;
	struct sum s;

	fake_dns_add_txt(f->fe.dns, "p.test", "v=spf1 ip4:192.0.2.1 +all");
	spf(f, "p.test", &s);
	assert_string_equal(s.codes, "spf-lookups spf-pass-all");
	fake_dns_add_txt(f->fe.dns, "bare.test", "v=spf1 all");
	spf(f, "bare.test", &s);
	assert_string_equal(s.codes, "spf-lookups spf-pass-all");
	fake_dns_add_txt(f->fe.dns, "q.test", "v=spf1 ip4:192.0.2.1 ?all");
	spf(f, "q.test", &s);
	assert_string_equal(s.codes, "spf-lookups spf-neutral-all");
	fake_dns_add_txt(f->fe.dns, "n.test", "v=spf1 ip4:192.0.2.1");
	spf(f, "n.test", &s);
	assert_string_equal(s.codes, "spf-lookups spf-no-all");
	fake_dns_add_txt(f->fe.dns, "s.test", "v=spf1 ip4:192.0.2.1 ~all");
	spf(f, "s.test", &s);
	assert_string_equal(s.codes, "spf-lookups");
	/* redirect alone is fine; the target's all is what counts */
	fake_dns_add_txt(f->fe.dns, "r.test", "v=spf1 redirect=p.test");
	spf(f, "r.test", &s);
	assert_string_equal(s.codes, "spf-lookups spf-pass-all");
	fake_dns_add_txt(f->fe.dns, "r2.test", "v=spf1 redirect=s.test");
	spf(f, "r2.test", &s);
	assert_string_equal(s.codes, "spf-lookups");
	fake_dns_add_txt(f->fe.dns, "ptr.test", "v=spf1 ptr -all");
	spf(f, "ptr.test", &s);
	assert_int_equal(s.lookups, 1);
	assert_string_equal(s.codes, "spf-lookups spf-ptr");
	fake_dns_add_txt(
	    f->fe.dns, "m.test", "v=spf1 include:%{i}.x.test -all");
	spf(f, "m.test", &s);
	assert_int_equal(s.lookups, 1);
	assert_string_equal(s.codes, "spf-lookups spf-macro");
}

static void
t_check_spf_broken_records(void **state)
{
	struct fixture *f = *state;
	struct sum s;

	spf(f, "none.test", &s);
	assert_string_equal(s.codes, "spf-none");
	assert_int_equal(s.ntree, 1);
	fake_dns_add_txt(f->fe.dns, "two.test", "v=spf1 -all");
	fake_dns_add_txt(f->fe.dns, "two.test", "v=spf1 mx -all");
	fake_dns_add_txt(f->fe.dns, "two.test", "not spf");
	spf(f, "two.test", &s);
	assert_string_equal(s.codes, "spf-multiple");
	fake_dns_add_txt(f->fe.dns, "bad.test", "v=spf1 ip4:1.2.3.4/33 -all");
	spf(f, "bad.test", &s);
	assert_string_equal(s.codes, "spf-syntax");
	assert_non_null(strstr(s.msgs, "invalid"));
	fake_dns_add_txt(f->fe.dns, "inc.test",
	    "v=spf1 include:none.test include:bad.test -all");
	spf(f, "inc.test", &s);
	assert_string_equal(
	    s.codes, "spf-include-none spf-include-syntax spf-lookups");
	assert_int_equal(s.voids, 1); /* none.test: NXDOMAIN */
	assert_non_null(strstr(s.msgs, "none.test has no SPF record"));
	fake_dns_add_txt(f->fe.dns, "inc2.test", "v=spf1 redirect=two.test");
	spf(f, "inc2.test", &s);
	assert_string_equal(s.codes, "spf-include-none spf-lookups");
	assert_non_null(strstr(s.msgs,
	    "redirect=two.test: two.test has more than one SPF record"));
	fake_dns_set_rcode(f->fe.dns, "tf.test", DNS_TEMPFAIL);
	spf(f, "tf.test", &s);
	assert_string_equal(s.codes, "spf-dns");
	assert_true(s.dns_failed);
}

static void
t_check_spf_loop_and_hostile_chain(void **state)
{
	struct fixture *f = *state;
	char name[32], rec[64];
	struct sum s;
	int i;

	fake_dns_add_txt(f->fe.dns, "l.test", "v=spf1 include:l2.test -all");
	fake_dns_add_txt(f->fe.dns, "l2.test", "v=spf1 include:L.test. -all");
	spf(f, "l.test", &s);
	assert_string_equal(s.codes, "spf-loop spf-lookups");
	assert_string_equal(s.tree, "0:l.test:1 1:l2.test:1 2:L.test:0");
	/* 200 includes in a chain: the walk stops at its depth limit */
	for (i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "c%d.test", i);
		snprintf(
		    rec, sizeof(rec), "v=spf1 include:c%d.test -all", i + 1);
		fake_dns_add_txt(f->fe.dns, name, rec);
	}
	spf(f, "c0.test", &s);
	assert_string_equal(s.codes, "spf-too-many-lookups");
	assert_int_equal(s.ntree, CHECK_SPF_MAX_DEPTH + 1);
	/* 1 + 8 + 64 records: the node cap holds */
	fake_dns_clear(f->fe.dns);
	fake_dns_add_txt(f->fe.dns, "w.test",
	    "v=spf1 include:w1.test include:w1.test include:w1.test "
	    "include:w1.test include:w1.test include:w1.test "
	    "include:w1.test include:w1.test -all");
	fake_dns_add_txt(f->fe.dns, "w1.test",
	    "v=spf1 include:w2.test include:w2.test include:w2.test "
	    "include:w2.test include:w2.test include:w2.test "
	    "include:w2.test include:w2.test -all");
	fake_dns_add_txt(f->fe.dns, "w2.test", "v=spf1 a a a a a a -all");
	fake_dns_add_a(f->fe.dns, "w2.test", "192.0.2.1");
	spf(f, "w.test", &s);
	assert_int_equal(s.ntree, CHECK_SPF_MAX_NODES);
	assert_string_equal(s.codes, "spf-too-many-lookups");
	assert_non_null(strstr(s.msgs, "more than"));
}

/* A key record for pk: "v=DKIM1; k=...; p=..." */
static void
record_of(EVP_PKEY *pk, enum dkim_keytype type, const char *extra, char *out,
    size_t cap)
{
	struct dkim_privkey k = { pk, type, 0 };
	uint8_t b[2048];
	struct buf buf;
	char err[160];
	const char *p;

	buf_init_fixed(&buf, b, sizeof(b));
	assert_int_equal(
	    dkim_privkey_record(&k, &buf, err, sizeof(err)), DKIM_OK);
	p = strstr((const char *)b, "p=");
	assert_non_null(p);
	snprintf(out, cap, "v=DKIM1; k=%s; %s%.*s",
	    type == DKIM_KEY_RSA ? "rsa" : "ed25519", extra,
	    (int)(buf.len - (size_t)(p - (const char *)b)), p);
}

static void
t_check_dkim_records(void **state)
{
	struct fixture *f = *state;
	EVP_PKEY *r1024 = EVP_RSA_gen(1024), *r512 = EVP_RSA_gen(512);
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	struct check_selector sel[8];
	char rec[1024];
	struct sum s;

	assert_non_null(r1024);
	assert_non_null(r512);
	assert_non_null(ed);
	record_of(r1024, DKIM_KEY_RSA, "", rec, sizeof(rec));
	fake_dns_add_txt(f->fe.dns, "short._domainkey.d.test", rec);
	record_of(r512, DKIM_KEY_RSA, "", rec, sizeof(rec));
	fake_dns_add_txt(f->fe.dns, "weak._domainkey.d.test", rec);
	record_of(ed, DKIM_KEY_ED25519, "t=y; ", rec, sizeof(rec));
	fake_dns_add_txt(f->fe.dns, "test._domainkey.d.test", rec);
	record_of(r1024, DKIM_KEY_RSA, "h=sha1; ", rec, sizeof(rec));
	fake_dns_add_txt(f->fe.dns, "sha1._domainkey.d.test", rec);
	fake_dns_add_txt(f->fe.dns, "rev._domainkey.d.test", "v=DKIM1; p=");
	fake_dns_add_txt(
	    f->fe.dns, "bad._domainkey.d.test", "v=DKIM1; k=dsa; p=");
	record_of(ed, DKIM_KEY_ED25519, "", rec, sizeof(rec));
	fake_dns_add_txt(f->fe.dns, "ed._domainkey.d.test", rec);
	memset(sel, 0, sizeof(sel));
	sel[0].name = span_cstr("short");
	sel[1].name = span_cstr("weak");
	sel[2].name = span_cstr("test");
	sel[3].name = span_cstr("sha1");
	sel[4].name = span_cstr("rev");
	sel[5].name = span_cstr("bad");
	sel[6].name = span_cstr("gone");
	sel[7].name = span_cstr("ed");
	audit(f, "d.test", sel, 8, CHECK_W_DKIM, &s);
	assert_string_equal(s.codes,
	    "dkim-rsa-short[short] dkim-rsa-weak[weak] dkim-testing[test] "
	    "dkim-rsa-short[sha1] dkim-sha1-only[sha1] dkim-revoked[rev] "
	    "dkim-syntax[bad] dkim-none[gone] dkim-ok[ed]");
	assert_non_null(strstr(s.msgs, "1024-bit RSA key"));
	assert_non_null(strstr(s.msgs, "unknown k=dsa"));
	EVP_PKEY_free(r1024);
	EVP_PKEY_free(r512);
	EVP_PKEY_free(ed);
}

static void
t_check_dkim_key_match(void **state)
{
	struct fixture *f = *state;
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	EVP_PKEY *ed2 = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	EVP_PKEY *rsa = EVP_RSA_gen(2048), *rsa2 = EVP_RSA_gen(2048);
	struct dkim_privkey ked = { ed, DKIM_KEY_ED25519, 256 };
	struct dkim_privkey ked2 = { ed2, DKIM_KEY_ED25519, 256 };
	struct dkim_privkey krsa = { rsa, DKIM_KEY_RSA, 2048 };
	struct dkim_privkey krsa2 = { rsa2, DKIM_KEY_RSA, 2048 };
	struct check_selector sel[6];
	char rec[1024];
	struct sum s;

	record_of(ed, DKIM_KEY_ED25519, "", rec, sizeof(rec));
	fake_dns_add_txt(f->fe.dns, "ed._domainkey.k.test", rec);
	record_of(rsa, DKIM_KEY_RSA, "", rec, sizeof(rec));
	fake_dns_add_txt(f->fe.dns, "rsa._domainkey.k.test", rec);
	memset(sel, 0, sizeof(sel));
	sel[0].name = span_cstr("ed");
	sel[0].key = &ked;
	sel[1].name = span_cstr("ed");
	sel[1].key = &ked2;
	sel[2].name = span_cstr("rsa");
	sel[2].key = &krsa;
	sel[3].name = span_cstr("rsa");
	sel[3].key = &krsa2;
	sel[4].name = span_cstr("rsa");
	sel[4].key = &ked; /* another key type */
	sel[5].name = span_cstr("ed");
	sel[5].key_error = "cannot read k.private";
	audit(f, "k.test", sel, 6, CHECK_W_DKIM, &s);
	assert_string_equal(s.codes,
	    "dkim-ok[ed] dkim-key-match[ed] dkim-ok[ed] dkim-key-mismatch[ed] "
	    "dkim-ok[rsa] dkim-key-match[rsa] dkim-ok[rsa] "
	    "dkim-key-mismatch[rsa] dkim-ok[rsa] dkim-key-mismatch[rsa] "
	    "dkim-ok[ed] dkim-key-unreadable[ed]");
	assert_non_null(strstr(s.msgs, "cannot read k.private"));
	EVP_PKEY_free(ed);
	EVP_PKEY_free(ed2);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(rsa2);
}

static void
dmarc(struct fixture *f, const char *domain, struct sum *s)
{
	audit(f, domain, NULL, 0, CHECK_W_DMARC, s);
}

static void
t_check_dmarc_policy(void **state)
{
	struct fixture *f = *state;
	struct sum s;

	fake_dns_add_txt(f->fe.dns, "_dmarc.own.test",
	    "v=DMARC1; p=reject; rua=mailto:d@own.test");
	dmarc(f, "own.test", &s);
	assert_string_equal(s.codes, "dmarc-ok");
	/* inherited from the Organizational Domain; the message says so */
	fake_dns_add_txt(f->fe.dns, "_dmarc.org.test",
	    "v=DMARC1; p=reject; sp=quarantine; rua=mailto:d@org.test");
	dmarc(f, "a.b.org.test", &s);
	assert_string_equal(s.codes, "dmarc-inherited");
	assert_non_null(strstr(s.msgs, "_dmarc.org.test"));
	assert_non_null(strstr(s.msgs, "sp=quarantine"));
	dmarc(f, "nothing.test", &s);
	assert_string_equal(s.codes, "dmarc-none");
	/* a public suffix's psd=y record applies to a name below it */
	fake_dns_add_txt(f->fe.dns, "_dmarc.psd.test",
	    "v=DMARC1; p=reject; psd=y; rua=mailto:d@psd.test");
	dmarc(f, "x.psd.test", &s);
	assert_string_equal(s.codes, "dmarc-inherited");
	assert_non_null(strstr(s.msgs, "public suffix domain (psd=y)"));
	fake_dns_add_txt(f->fe.dns, "_dmarc.two.test", "v=DMARC1; p=reject");
	fake_dns_add_txt(f->fe.dns, "_dmarc.two.test", "v=DMARC1; p=none");
	dmarc(f, "two.test", &s);
	assert_string_equal(s.codes, "dmarc-multiple");
	fake_dns_add_txt(f->fe.dns, "_dmarc.bad.test", "v=DMARC1; p=maybe");
	dmarc(f, "bad.test", &s);
	assert_string_equal(s.codes, "dmarc-invalid-policy");
	fake_dns_add_txt(f->fe.dns, "_dmarc.resc.test",
	    "v=DMARC1; p=maybe; rua=mailto:d@resc.test");
	dmarc(f, "resc.test", &s);
	assert_string_equal(s.codes, "dmarc-ok dmarc-invalid-policy");
	fake_dns_add_txt(f->fe.dns, "_dmarc.syn.test",
	    "v=DMARC1; p=reject; aspf=q; fo=9; rua=mailto:d@syn.test");
	dmarc(f, "syn.test", &s);
	assert_string_equal(s.codes, "dmarc-ok dmarc-syntax");
	assert_non_null(strstr(s.msgs, "aspf= fo="));
	fake_dns_add_txt(f->fe.dns, "_dmarc.none.test", "v=DMARC1; p=none");
	dmarc(f, "none.test", &s);
	assert_string_equal(s.codes, "dmarc-ok dmarc-no-rua");
	fake_dns_add_txt(f->fe.dns, "_dmarc.old.test",
	    "v=DMARC1; p=reject; pct=20; rf=afrf; rua=mailto:d@old.test");
	dmarc(f, "old.test", &s);
	assert_string_equal(s.codes, "dmarc-ok dmarc-obsolete-tag");
	assert_non_null(strstr(s.msgs, "pct= rf= "));
	fake_dns_set_rcode(f->fe.dns, "_dmarc.tf.test", DNS_TEMPFAIL);
	dmarc(f, "tf.test", &s);
	assert_string_equal(s.codes, "dmarc-dns");
	assert_true(s.dns_failed);
}

static void
t_check_dmarc_report_destinations(void **state)
{
	struct fixture *f = *state;
	struct sum s;

	/* same Organizational Domain: nothing to authorize */
	fake_dns_add_txt(f->fe.dns, "_dmarc.a.test",
	    "v=DMARC1; p=reject; rua=mailto:d@reports.a.test");
	dmarc(f, "a.test", &s);
	assert_string_equal(s.codes, "dmarc-ok");
	/* another one: authorized, then not */
	fake_dns_add_txt(f->fe.dns, "_dmarc.b.test",
	    "v=DMARC1; p=reject; rua=mailto:d@rep.test,mailto:e@x.test!10m; "
	    "ruf=mailto:f@rep.test");
	fake_dns_add_txt(
	    f->fe.dns, "b.test._report._dmarc.rep.test", "v=DMARC1");
	dmarc(f, "b.test", &s);
	assert_string_equal(s.codes,
	    "dmarc-ok dmarc-report-authorized dmarc-report-unauthorized");
	assert_non_null(strstr(s.msgs, "b.test._report._dmarc.x.test"));
	/* a destination's walk that fails: no verdict, a DNS failure */
	fake_dns_add_txt(f->fe.dns, "_dmarc.c.test",
	    "v=DMARC1; p=reject; rua=mailto:d@down.test");
	fake_dns_set_rcode(f->fe.dns, "_dmarc.down.test", DNS_TEMPFAIL);
	dmarc(f, "c.test", &s);
	assert_string_equal(s.codes, "dmarc-ok");
	assert_true(s.dns_failed);
}

static void
t_check_adsp_and_mx(void **state)
{
	struct fixture *f = *state;
	struct sum s;

	fake_dns_add_txt(
	    f->fe.dns, "_adsp._domainkey.a.test", "dkim=discardable");
	fake_dns_add_mx(f->fe.dns, "a.test", 10, "mx.a.test");
	fake_dns_add_mx(f->fe.dns, "a.test", 20, "mx2.a.test");
	audit(f, "a.test", NULL, 0, CHECK_W_ADSP | CHECK_W_MX, &s);
	assert_string_equal(s.codes, "adsp-present mx-ok");
	assert_non_null(strstr(s.msgs, "2 MX records"));
	fake_dns_add_txt(f->fe.dns, "_adsp._domainkey.b.test", "v=spf1 -all");
	fake_dns_add_mx(f->fe.dns, "b.test", 0, ".");
	audit(f, "b.test", NULL, 0, CHECK_W_ADSP | CHECK_W_MX, &s);
	assert_string_equal(s.codes, "mx-null");
	fake_dns_add_a(f->fe.dns, "c.test", "192.0.2.1");
	audit(f, "c.test", NULL, 0, CHECK_W_MX, &s);
	assert_string_equal(s.codes, "mx-none");
}

static void
t_check_whole_domain_order(void **state)
{
	struct fixture *f = *state;
	struct sum s;

	fake_dns_add_txt(f->fe.dns, "z.test", "v=spf1 mx -all");
	fake_dns_add_mx(f->fe.dns, "z.test", 10, "mx.z.test");
	fake_dns_add_txt(f->fe.dns, "_dmarc.z.test",
	    "v=DMARC1; p=none; rua=mailto:d@z.test");
	audit(f, "z.test", NULL, 0, CHECK_W_ALL, &s);
	assert_string_equal(s.codes, "spf-lookups dmarc-ok mx-ok");
	assert_false(s.dns_failed);
	assert_int_equal(s.r, CHECK_R_OK);
}

static void
t_check_bad_arguments(void **state)
{
	struct fixture *f = *state;
	struct check_request req;
	struct core_env env = f->fe.env;
	struct check *c = NULL;

	memset(&req, 0, sizeof(req));
	req.domain = span_cstr("bad..name");
	req.what = CHECK_W_ALL;
	assert_int_equal(
	    check_start(&f->fe.env, &req, &f->fe.ar, &c), CHECK_R_ARG);
	env.dns = NULL;
	req.domain = span_cstr("ok.test");
	assert_int_equal(check_start(&env, &req, &f->fe.ar, &c), CHECK_R_ARG);
}

static void
t_check_out_of_memory(void **state)
{
	struct fixture *f = *state;
	struct check_request req;
	struct check *c = NULL;
	struct arena small;
	size_t lim;
	check_res r;

	fake_dns_add_txt(f->fe.dns, "m.test", "v=spf1 include:n.test -all");
	fake_dns_add_txt(f->fe.dns, "n.test", "v=spf1 a mx -all");
	fake_dns_add_txt(f->fe.dns, "_dmarc.m.test",
	    "v=DMARC1; p=none; rua=mailto:d@other.test");
	memset(&req, 0, sizeof(req));
	req.domain = span_cstr("m.test");
	req.what = CHECK_W_ALL;
	/* every arena size up to enough: no crash, no leak, NOMEM or OK */
	for (lim = 0; lim < 64 << 10; lim += 997) {
		arena_init(&small, fake_alloc_get(), 1024, lim);
		c = NULL;
		r = check_start(&f->fe.env, &req, &small, &c);
		assert_true(r == CHECK_R_OK || r == CHECK_R_NOMEM);
		if (c != NULL) {
			assert_true(check_is_done(c));
			check_fini(c);
		}
		arena_fini(&small);
	}
	assert_int_equal(r, CHECK_R_OK);
}

static void
t_check_code_table(void **state)
{
	int i, j;

	(void)state;
	for (i = 0; i < CHECK_NCODES; i++) {
		const char *n = check_code_str((enum check_code)i);
		const char *k =
		    check_kind_str(check_code_kind((enum check_code)i));

		assert_non_null(n);
		/* a code names its kind: "dkim-...", "spf-..." */
		assert_int_equal(strncmp(n, k, strlen(k)), 0);
		assert_int_equal(n[strlen(k)], '-');
		for (j = 0; j < i; j++)
			assert_string_not_equal(
			    n, check_code_str((enum check_code)j));
	}
	assert_string_equal(check_sev_str(CHECK_ERROR), "error");
	assert_string_equal(check_code_str(CHECK_NCODES), "?");
}

static void
t_check_starters_pass(void **state)
{
	struct fixture *f = *state;
	uint8_t sb[128], db[256];
	struct buf spf, dm;
	char tmp[256];
	struct sum s;

	buf_init_fixed(&spf, sb, sizeof(sb));
	buf_init_fixed(&dm, db, sizeof(db));
	assert_true(check_starter_spf(&spf));
	assert_true(check_starter_dmarc(&dm, span_cstr("rep@s.test")));
	snprintf(tmp, sizeof(tmp), "%.*s", (int)spf.len, (const char *)spf.p);
	fake_dns_add_txt(f->fe.dns, "s.test", tmp);
	snprintf(tmp, sizeof(tmp), "%.*s", (int)dm.len, (const char *)dm.p);
	fake_dns_add_txt(f->fe.dns, "_dmarc.s.test", tmp);
	fake_dns_add_mx(f->fe.dns, "s.test", 10, "mx.s.test");
	audit(f, "s.test", NULL, 0, CHECK_W_ALL, &s);
	assert_string_equal(s.codes, "spf-lookups dmarc-ok mx-ok");
	buf_init_fixed(&dm, db, sizeof(db));
	assert_false(check_starter_dmarc(&dm, span_cstr("a,b@s.test")));
	assert_false(check_starter_dmarc(&dm, span_cstr("nobody")));
	assert_false(check_starter_dmarc(&dm, span_cstr("x@")));
	assert_int_equal(dm.len, 0);
}

/* The Ed25519 PKCS#8 fast path gives the key OpenSSL's decoder gives. */
static void
t_dkim_privkey_pem_ed25519(void **state)
{
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	EVP_PKEY *rsa = EVP_RSA_gen(1024);
	struct dkim_privkey k;
	char pem[8192], err[160];
	BIO *bio;
	long n;
	char *p;

	(void)state;
	bio = BIO_new(BIO_s_mem());
	assert_int_equal(
	    PEM_write_bio_PrivateKey(bio, ed, NULL, NULL, 0, NULL, NULL), 1);
	n = BIO_get_mem_data(bio, &p);
	assert_true(n > 0 && (size_t)n < sizeof(pem));
	memcpy(pem, p, (size_t)n);
	BIO_free(bio);
	assert_int_equal(
	    dkim_privkey_load(span_make(pem, (size_t)n), &k, err, sizeof(err)),
	    DKIM_OK);
	assert_int_equal(k.type, DKIM_KEY_ED25519);
	assert_int_equal(EVP_PKEY_eq(k.pk, ed), 1);
	dkim_privkey_fini(&k);
	/* CRLF line ends: the same key */
	{
		char crlf[8192];
		size_t i, o = 0;

		for (i = 0; i < (size_t)n; i++) {
			if (pem[i] == '\n')
				crlf[o++] = '\r';
			crlf[o++] = pem[i];
		}
		assert_int_equal(
		    dkim_privkey_load(span_make(crlf, o), &k, err, sizeof(err)),
		    DKIM_OK);
		assert_int_equal(EVP_PKEY_eq(k.pk, ed), 1);
		dkim_privkey_fini(&k);
	}
	/* an RSA PKCS#8 key still loads (through OpenSSL's decoder) */
	bio = BIO_new(BIO_s_mem());
	assert_int_equal(
	    PEM_write_bio_PrivateKey(bio, rsa, NULL, NULL, 0, NULL, NULL), 1);
	n = BIO_get_mem_data(bio, &p);
	assert_int_equal(
	    dkim_privkey_load(span_make(p, (size_t)n), &k, err, sizeof(err)),
	    DKIM_OK);
	assert_int_equal(k.type, DKIM_KEY_RSA);
	assert_int_equal(EVP_PKEY_eq(k.pk, rsa), 1);
	dkim_privkey_fini(&k);
	BIO_free(bio);
	/* a damaged Ed25519 body is refused, not misread */
	p = strstr(pem, "MC4C");
	assert_non_null(p);
	p[3] = 'D';
	assert_int_not_equal(
	    dkim_privkey_load(span_make(pem, (size_t)n), &k, err, sizeof(err)),
	    DKIM_OK);
	EVP_PKEY_free(ed);
	EVP_PKEY_free(rsa);
}

static void
t_dmarc_uri_helpers(void **state)
{
	span list = span_cstr(" mailto:a@X.test!10m , bogus, https://r.test/x,"
	                      "mailto:b@y.test?subject=r");
	span uri, dom;
	size_t pos = 0;

	(void)state;
	assert_true(dmarc_uri_next(list, &pos, &uri));
	assert_true(span_eq(uri, span_cstr("mailto:a@X.test!10m")));
	assert_true(dmarc_uri_mailto_domain(uri, &dom));
	assert_true(span_eq(dom, span_cstr("X.test")));
	assert_true(dmarc_uri_next(list, &pos, &uri));
	assert_true(span_eq(uri, span_cstr("https://r.test/x")));
	assert_false(dmarc_uri_mailto_domain(uri, &dom));
	assert_true(dmarc_uri_next(list, &pos, &uri));
	assert_true(dmarc_uri_mailto_domain(uri, &dom));
	assert_true(span_eq(dom, span_cstr("y.test")));
	assert_false(dmarc_uri_next(list, &pos, &uri));
	assert_false(dmarc_uri_mailto_domain(span_cstr("mailto:nobody"), &dom));
	pos = 0;
	assert_false(dmarc_uri_next(span_make(NULL, 0), &pos, &uri));
	assert_false(dmarc_uri_mailto_domain(span_cstr("mailto:a@"), &dom));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(t_check_spf_counts_include_and_redirect),
		T(t_check_spf_stops_at_all),
		T(t_check_spf_limits),
		T(t_check_spf_all_rules),
		T(t_check_spf_broken_records),
		T(t_check_spf_loop_and_hostile_chain),
		T(t_check_dkim_records),
		T(t_check_dkim_key_match),
		T(t_check_dmarc_policy),
		T(t_check_dmarc_report_destinations),
		T(t_check_adsp_and_mx),
		T(t_check_whole_domain_order),
		T(t_check_bad_arguments),
		T(t_check_out_of_memory),
		T(t_check_code_table),
		T(t_check_starters_pass),
		T(t_dmarc_uri_helpers),
		T(t_dkim_privkey_pem_ed25519),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
