/*
 * Unit tests for core/dmarc*.c: record parsing (valid, invalid, absurd),
 * the RFC 9989 DNS Tree Walk (targets, the 8-query jump, psd=y/n,
 * Organizational Domain choice), policy discovery and p/sp/np choice,
 * t=y downgrade, SPF/DKIM alignment (relaxed, strict, HELO), DNS
 * failures, several records at a name, the author domain of a header,
 * RFC 7489 mode with the system Public Suffix List, and allocation
 * failure. Every evaluation runs three times (answers before txt()
 * returns, queued FIFO, queued LIFO) and must give the same outcome.
 */
#include "core/dmarc.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <libpsl.h>

#include "core/arena.h"
#include "core/dns.h"
#include "core/env.h"
#include "core/hdr.h"
#include "tests/fake/fake_alloc.h"
#include "tests/fake/fake_dns.h"
#include "tests/fake/fake_env.h"

#define PSL_FILE "/usr/share/publicsuffix/public_suffix_list.dafsa"

struct fixture {
	struct fake_env fe;
	struct dmarc_evaluator *e;
};

/* What one evaluation said, with its spans copied out. */
struct sum {
	dmarc_res r;
	enum dmarc_result result;
	enum dmarc_policy policy, disposition;
	bool have, spf_al, dkim_al, nonexistent, downgraded;
	bool dal[8];
	char rec_dom[256], org[256];
	unsigned queries;
	char reason[160];
};

static psl_ctx_t *psl;

static int
setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	fake_env_init(&f.fe);
	assert_int_equal(dmarc_evaluator_new(&f.fe.env, &f.e), DMARC_OK);
	*state = &f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	dmarc_evaluator_free(f->e);
	return fake_env_fini(&f->fe);
}

static void
copy_span(char *dst, size_t cap, span s)
{
	snprintf(
	    dst, cap, "%.*s", (int)s.len, s.p != NULL ? (const char *)s.p : "");
}

static void
summarise(const struct dmarc_outcome *o, dmarc_res r, struct sum *s)
{
	size_t i;

	memset(s, 0, sizeof(*s));
	s->r = r;
	s->result = o->result;
	s->policy = o->policy;
	s->disposition = o->disposition;
	s->have = o->have_record;
	s->spf_al = o->spf_aligned;
	s->dkim_al = o->dkim_aligned;
	s->nonexistent = o->nonexistent;
	s->downgraded = o->downgraded;
	for (i = 0; i < o->ndkim && i < 8; i++)
		s->dal[i] = o->dkim[i].aligned;
	copy_span(s->rec_dom, sizeof(s->rec_dom), o->record_domain);
	copy_span(s->org, sizeof(s->org), o->org_domain);
	s->queries = o->queries;
	snprintf(s->reason, sizeof(s->reason), "%s", o->reason);
}

/* One evaluation in mode 0 (sync), 1 (queued FIFO) or 2 (queued LIFO). */
static void
eval_mode(
    struct fixture *f, const struct dmarc_request *req, int mode, struct sum *s)
{
	dmarc_res r;

	fake_dns_set_mode(
	    f->fe.dns, mode == 0 ? FAKE_DNS_SYNC : FAKE_DNS_QUEUED);
	fake_dns_set_lifo(f->fe.dns, mode == 2);
	arena_reset(&f->fe.ar);
	r = dmarc_eval_start(f->e, req, &f->fe.ar);
	if (mode == 0) {
		assert_int_not_equal(r, DMARC_PENDING);
	} else {
		size_t guard = 0;

		while (!dmarc_eval_is_done(f->e)) {
			assert_true(fake_dns_run(f->fe.dns) > 0);
			assert_true(++guard < 100);
		}
		if (r == DMARC_PENDING)
			r = DMARC_OK;
	}
	assert_true(dmarc_eval_is_done(f->e));
	assert_int_equal(fake_dns_pending(f->fe.dns), 0);
	summarise(dmarc_eval_outcome(f->e), r, s);
}

static void
same(const struct sum *a, const struct sum *b)
{
	assert_int_equal(a->result, b->result);
	assert_int_equal(a->policy, b->policy);
	assert_int_equal(a->disposition, b->disposition);
	assert_int_equal(a->have, b->have);
	assert_int_equal(a->spf_al, b->spf_al);
	assert_int_equal(a->dkim_al, b->dkim_al);
	assert_int_equal(a->nonexistent, b->nonexistent);
	assert_memory_equal(a->dal, b->dal, sizeof(a->dal));
	assert_string_equal(a->rec_dom, b->rec_dom);
	assert_string_equal(a->org, b->org);
	assert_int_equal(a->queries, b->queries);
	assert_string_equal(a->reason, b->reason);
}

/* Evaluate req in all three delivery orders; they must agree. */
static struct sum
eval3(struct fixture *f, const struct dmarc_request *req)
{
	struct sum s[3];
	int m;

	for (m = 0; m < 3; m++)
		eval_mode(f, req, m, &s[m]);
	same(&s[0], &s[1]);
	same(&s[0], &s[2]);
	return s[0];
}

/* A request: From domain, SPF (mfrom) domain/result, DKIM d= list. */
struct req_buf {
	struct dmarc_request req;
	struct dmarc_dkim_in dkim[16];
};

static struct dmarc_request *
mkreq(struct req_buf *b, const char *from, const char *spf,
    enum dmarc_auth spf_res, const char *dkim_pass)
{
	memset(b, 0, sizeof(*b));
	b->req.from_domain = span_cstr(from);
	b->req.spf.domain = span_cstr(spf != NULL ? spf : "");
	b->req.spf.result = spf != NULL ? spf_res : DMARC_AUTH_NONE;
	b->req.spf.scope = DMARC_SPF_MFROM;
	b->req.dkim = b->dkim;
	if (dkim_pass != NULL) {
		b->dkim[0].domain = span_cstr(dkim_pass);
		b->dkim[0].selector = SPAN_LIT("sel");
		b->dkim[0].result = DMARC_AUTH_PASS;
		b->req.ndkim = 1;
	}
	return &b->req;
}

static void
add_dkim(struct req_buf *b, const char *d, enum dmarc_auth res)
{
	assert_true(b->req.ndkim < 16);
	b->dkim[b->req.ndkim].domain = span_cstr(d);
	b->dkim[b->req.ndkim].selector = SPAN_LIT("s");
	b->dkim[b->req.ndkim].result = res;
	b->req.ndkim++;
}

static void
expect(const struct sum *s, enum dmarc_result r, enum dmarc_policy p,
    enum dmarc_policy disp)
{
	if (s->result != r || s->policy != p || s->disposition != disp)
		fail_msg("got %s policy=%s disposition=%s (%s), want %s %s %s",
		    dmarc_result_str(s->result), dmarc_policy_str(s->policy),
		    dmarc_policy_str(s->disposition), s->reason,
		    dmarc_result_str(r), dmarc_policy_str(p),
		    dmarc_policy_str(disp));
}

/* ---- record parsing ---- */

struct rec_case {
	const char *txt;
	enum dmarc_mode mode;
	dmarc_rec_res res;
	enum dmarc_policy p, sp, np;
};

static void
t_dmarc_record_parse_table(void **state)
{
	static const struct rec_case cases[] = {
		{ "v=DMARC1; p=reject", DMARC_RFC9989, DMARC_REC_OK,
		    DMARC_P_REJECT, 0, 0 },
		{ "v=DMARC1;p=none;sp=quarantine;np=reject", DMARC_RFC9989,
		    DMARC_REC_OK, DMARC_P_NONE, DMARC_P_QUARANTINE,
		    DMARC_P_REJECT },
		{ "V = DMARC1 ;\tP = Reject ; SP=NONE", DMARC_RFC9989,
		    DMARC_REC_OK, DMARC_P_REJECT, DMARC_P_NONE, 0 },
		{ "v=DMARC1;", DMARC_RFC9989, DMARC_REC_OK, DMARC_P_NONE, 0,
		    0 },
		{ "v=DMARC1", DMARC_RFC7489, DMARC_REC_INVALID, 0, 0, 0 },
		{ "v=dmarc1; p=reject", DMARC_RFC9989, DMARC_REC_NOT_DMARC, 0,
		    0, 0 },
		{ "p=reject; v=DMARC1", DMARC_RFC9989, DMARC_REC_NOT_DMARC, 0,
		    0, 0 },
		{ "v=DMARC1 p=reject", DMARC_RFC9989, DMARC_REC_NOT_DMARC, 0, 0,
		    0 },
		{ "v=DMARC2; p=reject", DMARC_RFC9989, DMARC_REC_NOT_DMARC, 0,
		    0, 0 },
		{ "", DMARC_RFC9989, DMARC_REC_NOT_DMARC, 0, 0, 0 },
		{ "v=spf1 -all", DMARC_RFC9989, DMARC_REC_NOT_DMARC, 0, 0, 0 },
		{ "v=DMARC1; p=foo", DMARC_RFC9989, DMARC_REC_INVALID, 0, 0,
		    0 },
		{ "v=DMARC1; p=foo; rua=mailto:d@example.com", DMARC_RFC9989,
		    DMARC_REC_OK, DMARC_P_NONE, 0, 0 },
		{ "v=DMARC1; p=reject; sp=bogus", DMARC_RFC9989,
		    DMARC_REC_INVALID, 0, 0, 0 },
		{ "v=DMARC1; p=reject; sp=bogus; rua=mailto:a@b.example",
		    DMARC_RFC9989, DMARC_REC_OK, DMARC_P_NONE, 0, 0 },
		{ "v=DMARC1; p=reject; np=bogus", DMARC_RFC9989,
		    DMARC_REC_INVALID, 0, 0, 0 },
		{ "v=DMARC1; p=reject; np=bogus", DMARC_RFC7489, DMARC_REC_OK,
		    DMARC_P_REJECT, 0, 0 },
		{ "v=DMARC1; p=reject; np=none", DMARC_RFC7489, DMARC_REC_OK,
		    DMARC_P_REJECT, 0, 0 },
		{ "v=DMARC1; p=none; p=reject", DMARC_RFC9989,
		    DMARC_REC_INVALID, 0, 0, 0 },
		{ "v=DMARC1; p=reject; foo=bar; x; =y; 9=1; p2=q",
		    DMARC_RFC9989, DMARC_REC_OK, DMARC_P_REJECT, 0, 0 },
		{ "v=DMARC1; p=reject; rua=", DMARC_RFC9989, DMARC_REC_OK,
		    DMARC_P_REJECT, 0, 0 },
		{ "v=DMARC1; p=", DMARC_RFC9989, DMARC_REC_INVALID, 0, 0, 0 },
		{ "v=DMARC1; p=r\xc3\xa9ject", DMARC_RFC9989, DMARC_REC_INVALID,
		    0, 0, 0 },
		{ "v=DMARC1; p=quarantine; rua=not a uri", DMARC_RFC9989,
		    DMARC_REC_OK, DMARC_P_QUARANTINE, 0, 0 },
		{ "v=DMARC1; p=reject;;; sp=none;", DMARC_RFC9989, DMARC_REC_OK,
		    DMARC_P_REJECT, DMARC_P_NONE, 0 },
		{ "v=DMARC1 ; p=reject ", DMARC_RFC9989, DMARC_REC_OK,
		    DMARC_P_REJECT, 0, 0 },
		/*
		 * The record starts with dmarc-version (RFC 9989 §4.8, RFC
		 * 7489 §6.4): nothing before the "v", not even WSP; "v" is
		 * an ABNF quoted string (any case), the value exact.
		 */
		{ " v=DMARC1 ; p=reject ", DMARC_RFC9989, DMARC_REC_NOT_DMARC,
		    0, 0, 0 },
		{ " v=DMARC1; p=reject", DMARC_RFC7489, DMARC_REC_NOT_DMARC, 0,
		    0, 0 },
		{ "\tv=DMARC1; p=reject", DMARC_RFC9989, DMARC_REC_NOT_DMARC, 0,
		    0, 0 },
		{ "\xef\xbb\xbfv=DMARC1; p=reject", DMARC_RFC9989,
		    DMARC_REC_NOT_DMARC, 0, 0, 0 },
		{ ";v=DMARC1; p=reject", DMARC_RFC9989, DMARC_REC_NOT_DMARC, 0,
		    0, 0 },
		{ "V=DMARC1; p=reject", DMARC_RFC7489, DMARC_REC_OK,
		    DMARC_P_REJECT, 0, 0 },
		{ "v=DMARC1x; p=reject", DMARC_RFC9989, DMARC_REC_NOT_DMARC, 0,
		    0, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct rec_case *c = &cases[i];
		struct dmarc_record r;
		char why[160];
		dmarc_rec_res res;

		res = dmarc_record_parse(
		    span_cstr(c->txt), c->mode, &r, why, sizeof(why));
		if (res != c->res)
			fail_msg("case %zu \"%s\": got %d (%s), want %d", i,
			    c->txt, (int)res, why, (int)c->res);
		if (res != DMARC_REC_OK)
			continue;
		if (r.p != c->p || r.sp != c->sp || r.np != c->np)
			fail_msg("case %zu \"%s\": p=%d sp=%d np=%d", i, c->txt,
			    (int)r.p, (int)r.sp, (int)r.np);
	}
}

static struct dmarc_record
parse_ok(const char *txt, enum dmarc_mode mode)
{
	struct dmarc_record r;

	assert_int_equal(dmarc_record_parse(span_cstr(txt), mode, &r, NULL, 0),
	    DMARC_REC_OK);
	return r;
}

static void
t_dmarc_record_parse_tags(void **state)
{
	struct dmarc_record r;

	(void)state;
	r = parse_ok("v=DMARC1; p=reject; adkim=x; aspf=s", DMARC_RFC9989);
	assert_int_equal(r.adkim, DMARC_A_RELAXED);
	assert_int_equal(r.aspf, DMARC_A_STRICT);
	assert_true((r.invalid & DMARC_BAD_ADKIM) != 0);
	r = parse_ok("v=DMARC1; p=reject; adkim=S", DMARC_RFC9989);
	assert_int_equal(r.adkim, DMARC_A_STRICT);
	r = parse_ok("v=DMARC1; p=reject; t=y", DMARC_RFC9989);
	assert_true(r.testing);
	r = parse_ok("v=DMARC1; p=reject; t=y", DMARC_RFC7489);
	assert_false(r.testing);
	r = parse_ok("v=DMARC1; p=reject; t=maybe", DMARC_RFC9989);
	assert_false(r.testing);
	assert_true((r.invalid & DMARC_BAD_T) != 0);
	r = parse_ok("v=DMARC1; p=reject; psd=y", DMARC_RFC9989);
	assert_int_equal(r.psd, DMARC_PSD_Y);
	r = parse_ok("v=DMARC1; p=reject; psd=n", DMARC_RFC9989);
	assert_int_equal(r.psd, DMARC_PSD_N);
	r = parse_ok("v=DMARC1; p=reject; psd=q", DMARC_RFC9989);
	assert_int_equal(r.psd, DMARC_PSD_U);
	r = parse_ok("v=DMARC1; p=reject; psd=y", DMARC_RFC7489);
	assert_int_equal(r.psd, DMARC_PSD_U);
	r = parse_ok("v=DMARC1; p=reject; pct=50", DMARC_RFC7489);
	assert_int_equal(r.pct, 50);
	r = parse_ok("v=DMARC1; p=reject; pct=0", DMARC_RFC7489);
	assert_int_equal(r.pct, 0);
	r = parse_ok("v=DMARC1; p=reject; pct=101", DMARC_RFC7489);
	assert_int_equal(r.pct, 100);
	assert_true((r.invalid & DMARC_BAD_PCT) != 0);
	r = parse_ok("v=DMARC1; p=reject; pct=-1", DMARC_RFC7489);
	assert_int_equal(r.pct, 100);
	r = parse_ok("v=DMARC1; p=reject; pct=10", DMARC_RFC9989);
	assert_int_equal(r.pct, 100);
	r = parse_ok("v=DMARC1; p=reject; fo=0:d", DMARC_RFC9989);
	assert_true(span_eq(r.fo, SPAN_LIT("0:d")));
	r = parse_ok("v=DMARC1; p=reject; fo=0:1", DMARC_RFC9989);
	assert_true(span_eq(r.fo, SPAN_LIT("0")));
	assert_true((r.invalid & DMARC_BAD_FO) != 0);
	r = parse_ok("v=DMARC1; p=reject; fo=0:1:d:s", DMARC_RFC7489);
	assert_true(span_eq(r.fo, SPAN_LIT("0:1:d:s")));
	r = parse_ok("v=DMARC1; p=reject; fo=d:d", DMARC_RFC7489);
	assert_true(span_eq(r.fo, SPAN_LIT("0")));
	r = parse_ok("v=DMARC1; p=reject; rua=mailto:a@b.example!10m , "
	             "https://r.example/x,bogus, mailto:c@d.example!",
	    DMARC_RFC9989);
	assert_int_equal(r.nrua_ok, 2);
	assert_true(span_eq(r.rua,
	    SPAN_LIT("mailto:a@b.example!10m , https://r.example/x,bogus, "
	             "mailto:c@d.example!")));
	r = parse_ok(
	    "v=DMARC1; p=reject; ruf=mailto:f@example.com", DMARC_RFC9989);
	assert_true(span_eq(r.ruf, SPAN_LIT("mailto:f@example.com")));
	r = parse_ok("v=DMARC1; p=x; rua=mailto:a@example.com", DMARC_RFC9989);
	assert_true(r.rescued);
	assert_int_equal(r.p, DMARC_P_NONE);
	r = parse_ok("v=DMARC1; sp=reject", DMARC_RFC9989);
	assert_true(r.p_missing);
	assert_int_equal(r.p, DMARC_P_NONE);
	assert_int_equal(r.sp, DMARC_P_REJECT);
}

/* NULs, control bytes and 0xff in values: no crash, the RFC's result. */
static void
t_dmarc_record_parse_binary(void **state)
{
	static const char nul[] = "v=DMARC1; p=re\0ject";
	static const char nul2[] = "v=DMARC1; p=reject; sp=\0";
	static const char nulv[] = "v=DMARC1\0; p=reject";
	struct dmarc_record r;

	(void)state;
	assert_int_equal(dmarc_record_parse(span_make(nul, sizeof(nul) - 1),
	                     DMARC_RFC9989, &r, NULL, 0),
	    DMARC_REC_INVALID);
	assert_int_equal(dmarc_record_parse(span_make(nul2, sizeof(nul2) - 1),
	                     DMARC_RFC9989, &r, NULL, 0),
	    DMARC_REC_INVALID);
	assert_int_equal(dmarc_record_parse(span_make(nulv, sizeof(nulv) - 1),
	                     DMARC_RFC9989, &r, NULL, 0),
	    DMARC_REC_NOT_DMARC);
	assert_int_equal(dmarc_record_parse(SPAN_LIT("v=DMARC1; p=\xff"),
	                     DMARC_RFC9989, &r, NULL, 0),
	    DMARC_REC_INVALID);
	assert_int_equal(
	    dmarc_record_parse(span_make(NULL, 0), DMARC_RFC9989, &r, NULL, 0),
	    DMARC_REC_NOT_DMARC);
}

/* 10,000 tags and a 1,000-URI rua: linear, no allocation, all counted. */
static void
t_dmarc_record_parse_absurd(void **state)
{
	size_t cap = 200000, len = 0, i;
	char *t = malloc(cap);
	struct dmarc_record r;

	(void)state;
	assert_non_null(t);
	len += (size_t)snprintf(t + len, cap - len, "v=DMARC1; p=reject");
	for (i = 0; i < 10000; i++)
		len += (size_t)snprintf(t + len, cap - len, "; x%zu=y", i);
	len += (size_t)snprintf(t + len, cap - len, "; rua=");
	for (i = 0; i < 1000; i++)
		len += (size_t)snprintf(t + len, cap - len,
		    "%smailto:r%zu@example.com", i ? "," : "", i);
	assert_true(len < cap);
	assert_int_equal(
	    dmarc_record_parse(span_make(t, len), DMARC_RFC9989, &r, NULL, 0),
	    DMARC_REC_OK);
	assert_int_equal(r.p, DMARC_P_REJECT);
	assert_int_equal(r.ntags, 10003); /* v, p, 10,000, rua */
	assert_int_equal(r.nrua_ok, 1000);
	free(t);
}

static void
t_dmarc_strings(void **state)
{
	(void)state;
	assert_string_equal(dmarc_policy_str(DMARC_P_NONE), "none");
	assert_string_equal(dmarc_policy_str(DMARC_P_QUARANTINE), "quarantine");
	assert_string_equal(dmarc_policy_str(DMARC_P_REJECT), "reject");
	assert_string_equal(dmarc_result_str(DMARC_R_PASS), "pass");
	assert_string_equal(dmarc_result_str(DMARC_R_TEMPERROR), "temperror");
	assert_string_equal(dmarc_result_str(DMARC_R_PERMERROR), "permerror");
	assert_string_equal(dmarc_res_str(DMARC_E_NOMEM), "out of memory");
	assert_string_equal(dmarc_from_res_str(DMARC_FROM_MULTIPLE_FIELDS),
	    "more than one From field");
}

/* ---- names and the tree walk ---- */

static void
assert_span(span s, const char *want)
{
	if (!span_eq(s, span_cstr(want)))
		fail_msg("got \"%.*s\", want \"%s\"", (int)s.len,
		    s.p != NULL ? (const char *)s.p : "", want);
}

static void
t_dmarc_walk_targets(void **state)
{
	static const char *rfc[] = { "a.b.c.d.e.f.g.h.i.j.mail.example.com",
		"g.h.i.j.mail.example.com", "h.i.j.mail.example.com",
		"i.j.mail.example.com", "j.mail.example.com",
		"mail.example.com", "example.com", "com" };
	span t[DMARC_WALK_MAX];
	size_t n, i;

	(void)state;
	/* §4.10's example: 13 labels, 8 queries. */
	n = dmarc_walk_targets(span_cstr(rfc[0]), t);
	assert_int_equal(n, 8);
	for (i = 0; i < n; i++)
		assert_span(t[i], rfc[i]);
	/* 9 labels: the name, then 7 labels. */
	n = dmarc_walk_targets(SPAN_LIT("a.b.c.d.e.f.g.example.com"), t);
	assert_int_equal(n, 8);
	assert_span(t[1], "c.d.e.f.g.example.com");
	assert_span(t[7], "com");
	/* 8 labels: every label. */
	n = dmarc_walk_targets(SPAN_LIT("b.c.d.e.f.g.example.com"), t);
	assert_int_equal(n, 8);
	assert_span(t[1], "c.d.e.f.g.example.com");
	n = dmarc_walk_targets(SPAN_LIT("a.mail.example.com"), t);
	assert_int_equal(n, 4);
	assert_span(t[3], "com");
	n = dmarc_walk_targets(SPAN_LIT("com"), t);
	assert_int_equal(n, 1);
	assert_int_equal(dmarc_walk_targets(span_make(NULL, 0), t), 0);
}

static void
t_dmarc_walk_org(void **state)
{
	span d = SPAN_LIT("a.mail.example.com");
	struct dmarc_walk_hit h[3];

	(void)state;
	memset(h, 0, sizeof(h));
	assert_span(dmarc_walk_org(d, h, 0), "a.mail.example.com");
	/* §4.10.2 examples. */
	h[0] = (struct dmarc_walk_hit){ SPAN_LIT("mail.example.com"),
		DMARC_PSD_U };
	h[1] = (struct dmarc_walk_hit){ SPAN_LIT("example.com"), DMARC_PSD_U };
	assert_span(dmarc_walk_org(d, h, 2), "example.com");
	h[0].psd = DMARC_PSD_N;
	assert_span(dmarc_walk_org(d, h, 1), "mail.example.com");
	h[0] = (struct dmarc_walk_hit){ SPAN_LIT("com"), DMARC_PSD_Y };
	assert_span(dmarc_walk_org(d, h, 1), "example.com");
	/* psd=y at the start itself: rule 3, the start. */
	h[0] = (struct dmarc_walk_hit){ d, DMARC_PSD_Y };
	assert_span(dmarc_walk_org(d, h, 1), "a.mail.example.com");
	/* psd=y right above the start: the start. */
	h[0] = (struct dmarc_walk_hit){ SPAN_LIT("mail.example.com"),
		DMARC_PSD_Y };
	assert_span(dmarc_walk_org(d, h, 1), "a.mail.example.com");
}

static void
t_dmarc_domain_helpers(void **state)
{
	struct fixture *f = *state;
	span out;
	bool nomem;

	assert_true(dmarc_domain_norm(
	    SPAN_LIT("Mail.Example.COM."), &f->fe.ar, &out, &nomem));
	assert_span(out, "mail.example.com");
	assert_false(
	    dmarc_domain_norm(SPAN_LIT("a..b"), &f->fe.ar, &out, &nomem));
	assert_false(nomem);
	assert_false(dmarc_domain_norm(SPAN_LIT("."), &f->fe.ar, &out, &nomem));
	assert_false(dmarc_domain_norm(
	    SPAN_LIT("[192.0.2.1]"), &f->fe.ar, &out, &nomem));
	assert_false(dmarc_domain_norm(
	    SPAN_LIT("exa mple.com"), &f->fe.ar, &out, &nomem));
	/*
	 * Names no host may have are still names the walk starts from:
	 * their parents can hold the policy (a U-label the caller could not
	 * convert, '+', a label over 63 octets).
	 */
	assert_true(dmarc_domain_norm(
	    SPAN_LIT("b\xc3\xbc.example"), &f->fe.ar, &out, &nomem));
	assert_true(dmarc_domain_norm(
	    SPAN_LIT("x+y.example"), &f->fe.ar, &out, &nomem));
	assert_true(dmarc_domain_norm(
	    SPAN_LIT("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example"),
	    &f->fe.ar, &out, &nomem));
	assert_false(dmarc_domain_norm(
	    SPAN_LIT("a\x01b.example"), &f->fe.ar, &out, &nomem));
	assert_true(dmarc_domain_norm(
	    SPAN_LIT("_x.xn--bcher-kva.example"), &f->fe.ar, &out, &nomem));
	assert_true(
	    dmarc_domain_eq(SPAN_LIT("A.example."), SPAN_LIT("a.EXAMPLE")));
	assert_false(dmarc_domain_eq(SPAN_LIT(""), SPAN_LIT(".")));
	assert_int_equal(dmarc_domain_labels(SPAN_LIT("a.b.c")), 3);
	assert_span(dmarc_domain_suffix(SPAN_LIT("a.b.c"), 2), "b.c");
	assert_span(dmarc_domain_suffix(SPAN_LIT("a.b.c"), 9), "a.b.c");
}

/* ---- evaluation, RFC 9989 ---- */

static void
t_dmarc_eval_no_record(void **state)
{
	struct fixture *f = *state;
	struct req_buf b;
	struct sum s;

	s = eval3(f,
	    mkreq(&b, "example.com", "example.com", DMARC_AUTH_PASS,
	        "example.com"));
	expect(&s, DMARC_R_NONE, DMARC_P_UNSPEC, DMARC_P_UNSPEC);
	assert_false(s.have);
	assert_int_equal(s.queries, 2);
}

static void
t_dmarc_eval_pass_exact_no_walk(void **state)
{
	struct fixture *f = *state;
	struct req_buf b;
	struct sum s;

	fake_dns_add_txt(f->fe.dns, "_dmarc.example.com", "v=DMARC1; p=reject");
	s = eval3(
	    f, mkreq(&b, "Example.COM.", NULL, DMARC_AUTH_NONE, "example.com"));
	expect(&s, DMARC_R_PASS, DMARC_P_REJECT, DMARC_P_UNSPEC);
	assert_true(s.dkim_al);
	assert_true(s.dal[0]);
	assert_int_equal(s.queries, 1);
	assert_string_equal(s.rec_dom, "example.com");
}

static void
t_dmarc_eval_fail_policy_p(void **state)
{
	struct fixture *f = *state;
	struct req_buf b;
	struct sum s;

	fake_dns_add_txt(f->fe.dns, "_dmarc.example.com",
	    "v=DMARC1; p=reject; sp=none; rua=mailto:d@example.com");
	fake_dns_add_txt(f->fe.dns, "_dmarc.example.net", "v=DMARC1; p=none");
	s = eval3(f,
	    mkreq(&b, "example.com", "example.net", DMARC_AUTH_PASS,
	        "example.net"));
	expect(&s, DMARC_R_FAIL, DMARC_P_REJECT, DMARC_P_REJECT);
	assert_false(s.spf_al);
	assert_false(s.dkim_al);
	assert_string_equal(s.org, "example.com");
}

static void
t_dmarc_eval_subdomain_sp(void **state)
{
	struct fixture *f = *state;
	struct req_buf b;
	struct sum s;

	fake_dns_add_txt(f->fe.dns, "_dmarc.example.com",
	    "v=DMARC1; p=reject; sp=quarantine");
	fake_dns_set_rcode(f->fe.dns, "a.b.example.com", DNS_NODATA);
	s = eval3(f, mkreq(&b, "a.b.example.com", NULL, DMARC_AUTH_NONE, NULL));
	expect(&s, DMARC_R_FAIL, DMARC_P_QUARANTINE, DMARC_P_QUARANTINE);
	assert_string_equal(s.rec_dom, "example.com");
	assert_string_equal(s.org, "example.com");
	/* No sp=: p= for subdomains. */
	fake_dns_clear(f->fe.dns);
	fake_dns_add_txt(f->fe.dns, "_dmarc.example.com", "v=DMARC1; p=reject");
	s = eval3(f, mkreq(&b, "a.b.example.com", NULL, DMARC_AUTH_NONE, NULL));
	expect(&s, DMARC_R_FAIL, DMARC_P_REJECT, DMARC_P_REJECT);
}

/* np= for a From domain that does not exist (NXDOMAIN, §3.2.13). */
static void
t_dmarc_eval_np(void **state)
{
	struct fixture *f = *state;
	struct req_buf b;
	struct sum s;

	fake_dns_add_txt(f->fe.dns, "_dmarc.example.com",
	    "v=DMARC1; p=quarantine; sp=none; np=reject");
	/* Unregistered names answer NXDOMAIN in the fake. */
	s = eval3(f, mkreq(&b, "nx.example.com", NULL, DMARC_AUTH_NONE, NULL));
	expect(&s, DMARC_R_FAIL, DMARC_P_REJECT, DMARC_P_REJECT);
	assert_true(s.nonexistent);
	/* _dmarc.nx, _dmarc.example, _dmarc.com, then nx itself. */
	assert_int_equal(s.queries, 4);
	/* It exists (NODATA): sp=. */
	fake_dns_set_rcode(f->fe.dns, "nx.example.com", DNS_NODATA);
	s = eval3(f, mkreq(&b, "nx.example.com", NULL, DMARC_AUTH_NONE, NULL));
	expect(&s, DMARC_R_FAIL, DMARC_P_NONE, DMARC_P_NONE);
	assert_false(s.nonexistent);
	/* _dmarc.<author> answering NODATA proves existence: no query. */
	fake_dns_set_rcode(f->fe.dns, "_dmarc.nx.example.com", DNS_NODATA);
	s = eval3(f, mkreq(&b, "nx.example.com", NULL, DMARC_AUTH_NONE, NULL));
	expect(&s, DMARC_R_FAIL, DMARC_P_NONE, DMARC_P_NONE);
	assert_int_equal(s.queries, 3);
	/* Existence unknown: a failing message is temperror. */
	fake_dns_clear(f->fe.dns);
	fake_dns_add_txt(f->fe.dns, "_dmarc.example.com",
	    "v=DMARC1; p=quarantine; np=reject");
	fake_dns_set_rcode(f->fe.dns, "nx.example.com", DNS_TEMPFAIL);
	s = eval3(f, mkreq(&b, "nx.example.com", NULL, DMARC_AUTH_NONE, NULL));
	assert_int_equal(s.result, DMARC_R_TEMPERROR);
	/* ... but a pass stays a pass. */
	s = eval3(f,
	    mkreq(
	        &b, "nx.example.com", "nx.example.com", DMARC_AUTH_PASS, NULL));
	expect(&s, DMARC_R_PASS, DMARC_P_QUARANTINE, DMARC_P_UNSPEC);
	/* np= equal to the existing-domain policy: no existence query. */
	fake_dns_clear(f->fe.dns);
	fake_dns_add_txt(
	    f->fe.dns, "_dmarc.example.com", "v=DMARC1; p=reject; np=reject");
	s = eval3(f, mkreq(&b, "nx.example.com", NULL, DMARC_AUTH_NONE, NULL));
	expect(&s, DMARC_R_FAIL, DMARC_P_REJECT, DMARC_P_REJECT);
	assert_int_equal(s.queries, 3);
	/* np= does not apply to the record's own domain. */
	s = eval3(f, mkreq(&b, "example.com", NULL, DMARC_AUTH_NONE, NULL));
	expect(&s, DMARC_R_FAIL, DMARC_P_REJECT, DMARC_P_REJECT);
}

/* §4.7 t=y: one step down; none stays none. */
static void
t_dmarc_eval_testing(void **state)
{
	static const struct {
		const char *rec;
		enum dmarc_policy p, disp;
	} cases[] = {
		{ "v=DMARC1; p=reject; t=y", DMARC_P_REJECT,
		    DMARC_P_QUARANTINE },
		{ "v=DMARC1; p=quarantine; t=y", DMARC_P_QUARANTINE,
		    DMARC_P_NONE },
		{ "v=DMARC1; p=none; t=y", DMARC_P_NONE, DMARC_P_NONE },
		{ "v=DMARC1; p=reject; t=n", DMARC_P_REJECT, DMARC_P_REJECT },
	};
	struct fixture *f = *state;
	struct req_buf b;
	struct sum s;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fake_dns_clear(f->fe.dns);
		fake_dns_add_txt(f->fe.dns, "_dmarc.example.com", cases[i].rec);
		s = eval3(
		    f, mkreq(&b, "example.com", NULL, DMARC_AUTH_NONE, NULL));
		expect(&s, DMARC_R_FAIL, cases[i].p, cases[i].disp);
		assert_int_equal(s.downgraded, cases[i].p != cases[i].disp);
	}
	/* A pass has no disposition at all. */
	s = eval3(
	    f, mkreq(&b, "example.com", "example.com", DMARC_AUTH_PASS, NULL));
	expect(&s, DMARC_R_PASS, DMARC_P_REJECT, DMARC_P_UNSPEC);
}

/* A 9-label From: the walk jumps to 7 labels, 8 queries in all. */
static void
t_dmarc_eval_walk_jump(void **state)
{
	static const char *want[] = { "_dmarc.a.b.c.d.e.f.g.example.com",
		"_dmarc.c.d.e.f.g.example.com", "_dmarc.d.e.f.g.example.com",
		"_dmarc.e.f.g.example.com", "_dmarc.f.g.example.com",
		"_dmarc.g.example.com", "_dmarc.example.com", "_dmarc.com" };
	struct fixture *f = *state;
	size_t before = fake_dns_queries(f->fe.dns), i;
	struct req_buf b;
	struct sum s;

	fake_dns_add_txt(f->fe.dns, "_dmarc.example.com", "v=DMARC1; p=reject");
	/* Never asked: the jump skips it. */
	fake_dns_add_txt(f->fe.dns, "_dmarc.b.c.d.e.f.g.example.com",
	    "v=DMARC1; p=none; psd=n");
	fake_dns_set_rcode(f->fe.dns, "a.b.c.d.e.f.g.example.com", DNS_NODATA);
	eval_mode(f,
	    mkreq(&b, "a.b.c.d.e.f.g.example.com", NULL, DMARC_AUTH_NONE, NULL),
	    0, &s);
	expect(&s, DMARC_R_FAIL, DMARC_P_REJECT, DMARC_P_REJECT);
	assert_int_equal(s.queries, 8);
	assert_int_equal(fake_dns_queries(f->fe.dns) - before, 8);
	for (i = 0; i < 8; i++)
		assert_span(
		    fake_dns_query_name(f->fe.dns, before + i), want[i]);
	assert_string_equal(s.org, "example.com");
	s = eval3(f,
	    mkreq(
	        &b, "a.b.c.d.e.f.g.example.com", NULL, DMARC_AUTH_NONE, NULL));
	assert_int_equal(s.queries, 8);
}

/* B.4.3: a PSD record with psd=y. */
static void
t_dmarc_eval_psd_y(void **state)
{
	struct fixture *f = *state;
	struct req_buf b;
	struct sum s;

	fake_dns_add_txt(f->fe.dns, "_dmarc.bank.example",
	    "v=DMARC1; p=reject; sp=quarantine; psd=y");
	fake_dns_add_txt(
	    f->fe.dns, "_dmarc.giant.bank.example", "v=DMARC1; p=none");
	/* SPF mail.giant.bank.example aligns; DKIM mail.mega does not. */
	mkreq(&b, "giant.bank.example", "mail.giant.bank.example",
	    DMARC_AUTH_FAIL, "mail.mega.bank.example");
	s = eval3(f, &b.req);
	expect(&s, DMARC_R_FAIL, DMARC_P_NONE, DMARC_P_NONE);
	assert_false(s.dal[0]);
	assert_string_equal(s.org, "giant.bank.example");
	b.req.spf.result = DMARC_AUTH_PASS;
	s = eval3(f, &b.req);
	expect(&s, DMARC_R_PASS, DMARC_P_NONE, DMARC_P_UNSPEC);
	assert_true(s.spf_al);
	assert_false(s.dkim_al);
	/* A From domain under the PSD with no record of its own or of its
	 * Organizational Domain gets the PSD's policy (sp=). */
	fake_dns_set_rcode(f->fe.dns, "x.small.bank.example", DNS_NODATA);
	s = eval3(
	    f, mkreq(&b, "x.small.bank.example", NULL, DMARC_AUTH_NONE, NULL));
	expect(&s, DMARC_R_FAIL, DMARC_P_QUARANTINE, DMARC_P_QUARANTINE);
	assert_string_equal(s.rec_dom, "bank.example");
	assert_string_equal(s.org, "small.bank.example");
	/* ... and mail signed by its Organizational Domain aligns. */
	s = eval3(f,
	    mkreq(&b, "x.small.bank.example", NULL, DMARC_AUTH_NONE,
	        "small.bank.example"));
	expect(&s, DMARC_R_PASS, DMARC_P_QUARANTINE, DMARC_P_UNSPEC);
	/* A sibling under the PSD does not. */
	s = eval3(f,
	    mkreq(&b, "x.small.bank.example", NULL, DMARC_AUTH_NONE,
	        "other.bank.example"));
	expect(&s, DMARC_R_FAIL, DMARC_P_QUARANTINE, DMARC_P_QUARANTINE);
}

/* psd=n makes an Organizational Domain below the apex (§5.1.8). */
static void
t_dmarc_eval_psd_n(void **state)
{
	struct fixture *f = *state;
	struct req_buf b;
	struct sum s;

	fake_dns_add_txt(f->fe.dns, "_dmarc.example.com", "v=DMARC1; p=none");
	fake_dns_add_txt(f->fe.dns, "_dmarc.mail.example.com",
	    "v=DMARC1; p=reject; sp=quarantine; psd=n");
	fake_dns_set_rcode(f->fe.dns, "a.mail.example.com", DNS_NODATA);
	s = eval3(f,
	    mkreq(&b, "a.mail.example.com", NULL, DMARC_AUTH_NONE,
	        "example.com"));
	expect(&s, DMARC_R_FAIL, DMARC_P_QUARANTINE, DMARC_P_QUARANTINE);
	assert_string_equal(s.org, "mail.example.com");
	assert_string_equal(s.rec_dom, "mail.example.com");
	assert_false(s.dkim_al);
	s = eval3(f,
	    mkreq(&b, "a.mail.example.com", NULL, DMARC_AUTH_NONE,
	        "b.mail.example.com"));
	assert_int_equal(s.result, DMARC_R_PASS);
}

/*
 * Records at an intermediate level (§4.10.2 example, B.4.2): the
 * Organizational Domain is the name with the fewest labels that has a
 * record, and its record is the policy (§4.10.1), not the nearer one.
 */
static void
t_dmarc_eval_intermediate(void **state)
{
	struct fixture *f = *state;
	struct req_buf b;
	struct sum s;

	fake_dns_add_txt(
	    f->fe.dns, "_dmarc.mail.example.com", "v=DMARC1; p=reject");
	fake_dns_set_rcode(f->fe.dns, "a.mail.example.com", DNS_NODATA);
	s = eval3(
	    f, mkreq(&b, "a.mail.example.com", NULL, DMARC_AUTH_NONE, NULL));
	expect(&s, DMARC_R_FAIL, DMARC_P_REJECT, DMARC_P_REJECT);
	assert_string_equal(s.org, "mail.example.com");
	assert_string_equal(s.rec_dom, "mail.example.com");
	fake_dns_add_txt(
	    f->fe.dns, "_dmarc.example.com", "v=DMARC1; p=quarantine; sp=none");
	s = eval3(f,
	    mkreq(&b, "a.mail.example.com", NULL, DMARC_AUTH_NONE,
	        "example.com"));
	expect(&s, DMARC_R_PASS, DMARC_P_NONE, DMARC_P_UNSPEC);
	assert_string_equal(s.org, "example.com");
	assert_string_equal(s.rec_dom, "example.com");
	/* mail.example.com's own mail still gets its own record's p=. */
	s = eval3(
	    f, mkreq(&b, "mail.example.com", NULL, DMARC_AUTH_NONE, NULL));
	expect(&s, DMARC_R_FAIL, DMARC_P_REJECT, DMARC_P_REJECT);
}

/* Relaxed and strict, SPF and DKIM, parents and siblings. */
static void
t_dmarc_eval_alignment(void **state)
{
	struct fixture *f = *state;
	struct req_buf b;
	struct sum s;

	fake_dns_add_txt(f->fe.dns, "_dmarc.example.com", "v=DMARC1; p=reject");
	fake_dns_set_rcode(f->fe.dns, "news.example.com", DNS_NODATA);
	/* DKIM d= a parent of the From domain: relaxed. */
	s = eval3(f,
	    mkreq(
	        &b, "news.example.com", NULL, DMARC_AUTH_NONE, "example.com"));
	expect(&s, DMARC_R_PASS, DMARC_P_REJECT, DMARC_P_UNSPEC);
	/* Sibling subdomains under one Organizational Domain. */
	s = eval3(f,
	    mkreq(&b, "news.example.com", "bounce.example.com", DMARC_AUTH_PASS,
	        "mail.example.com"));
	expect(&s, DMARC_R_PASS, DMARC_P_REJECT, DMARC_P_UNSPEC);
	assert_true(s.spf_al);
	assert_true(s.dkim_al);
	/* A different organisation. */
	s = eval3(f,
	    mkreq(&b, "news.example.com", "example.net", DMARC_AUTH_PASS,
	        "example.org"));
	expect(&s, DMARC_R_FAIL, DMARC_P_REJECT, DMARC_P_REJECT);
	/* Failing or neutral results never align. */
	mkreq(&b, "news.example.com", "news.example.com", DMARC_AUTH_SOFTFAIL,
	    NULL);
	add_dkim(&b, "news.example.com", DMARC_AUTH_FAIL);
	add_dkim(&b, "example.com", DMARC_AUTH_NEUTRAL);
	add_dkim(&b, "example.com", DMARC_AUTH_PASS);
	s = eval3(f, &b.req);
	expect(&s, DMARC_R_PASS, DMARC_P_REJECT, DMARC_P_UNSPEC);
	assert_false(s.dal[0]);
	assert_false(s.dal[1]);
	assert_true(s.dal[2]);
	assert_false(s.spf_al);
	/* Strict: the parent no longer aligns, identity still does. */
	fake_dns_clear(f->fe.dns);
	fake_dns_add_txt(f->fe.dns, "_dmarc.example.com",
	    "v=DMARC1; p=reject; adkim=s; aspf=s");
	fake_dns_set_rcode(f->fe.dns, "news.example.com", DNS_NODATA);
	s = eval3(f,
	    mkreq(&b, "news.example.com", "bounce.example.com", DMARC_AUTH_PASS,
	        "example.com"));
	expect(&s, DMARC_R_FAIL, DMARC_P_REJECT, DMARC_P_REJECT);
	s = eval3(f,
	    mkreq(&b, "news.example.com", "NEWS.example.com.", DMARC_AUTH_PASS,
	        NULL));
	expect(&s, DMARC_R_PASS, DMARC_P_REJECT, DMARC_P_UNSPEC);
	/* Strict for SPF only: DKIM relaxed still passes. */
	fake_dns_clear(f->fe.dns);
	fake_dns_add_txt(
	    f->fe.dns, "_dmarc.example.com", "v=DMARC1; p=reject; aspf=s");
	fake_dns_set_rcode(f->fe.dns, "news.example.com", DNS_NODATA);
	s = eval3(f,
	    mkreq(&b, "news.example.com", "bounce.example.com", DMARC_AUTH_PASS,
	        "example.com"));
	expect(&s, DMARC_R_PASS, DMARC_P_REJECT, DMARC_P_UNSPEC);
	assert_false(s.spf_al);
	assert_true(s.dkim_al);
}

/* §4.4.2: an SPF pass for the HELO identity must not align. */
static void
t_dmarc_eval_spf_helo(void **state)
{
	struct fixture *f = *state;
	struct req_buf b;
	struct sum s;

	fake_dns_add_txt(f->fe.dns, "_dmarc.example.com", "v=DMARC1; p=reject");
	mkreq(&b, "example.com", "example.com", DMARC_AUTH_PASS, NULL);
	b.req.spf.scope = DMARC_SPF_HELO;
	s = eval3(f, &b.req);
	expect(&s, DMARC_R_FAIL, DMARC_P_REJECT, DMARC_P_REJECT);
	assert_false(s.spf_al);
	b.req.spf.scope = DMARC_SPF_MFROM;
	s = eval3(f, &b.req);
	expect(&s, DMARC_R_PASS, DMARC_P_REJECT, DMARC_P_UNSPEC);
}

static void
t_dmarc_eval_temperror(void **state)
{
	struct fixture *f = *state;
	struct req_buf b;
	struct sum s;

	/* The author domain's own query fails. */
	fake_dns_set_rcode(f->fe.dns, "_dmarc.example.com", DNS_TEMPFAIL);
	s = eval3(
	    f, mkreq(&b, "example.com", "example.com", DMARC_AUTH_PASS, NULL));
	assert_int_equal(s.result, DMARC_R_TEMPERROR);
	assert_int_equal(s.disposition, DMARC_P_UNSPEC);
	/* A failure during the walk. */
	s = eval3(f, mkreq(&b, "a.example.com", NULL, DMARC_AUTH_NONE, NULL));
	assert_int_equal(s.result, DMARC_R_TEMPERROR);
	/* Permanent failure. */
	fake_dns_set_rcode(f->fe.dns, "_dmarc.example.com", DNS_PERMFAIL);
	s = eval3(f, mkreq(&b, "example.com", NULL, DMARC_AUTH_NONE, NULL));
	assert_int_equal(s.result, DMARC_R_PERMERROR);
	/* Policy known, an exact-match pass: a failed walk does not matter. */
	fake_dns_clear(f->fe.dns);
	fake_dns_add_txt(f->fe.dns, "_dmarc.example.com", "v=DMARC1; p=reject");
	fake_dns_set_rcode(
	    f->fe.dns, "_dmarc.mail.other.example", DNS_TEMPFAIL);
	s = eval3(f,
	    mkreq(&b, "example.com", "mail.other.example", DMARC_AUTH_PASS,
	        "example.com"));
	expect(&s, DMARC_R_PASS, DMARC_P_REJECT, DMARC_P_UNSPEC);
	assert_true(s.dkim_al);
	/* Without the aligned pass it is temperror, not fail. */
	s = eval3(f,
	    mkreq(&b, "example.com", "mail.other.example", DMARC_AUTH_PASS,
	        NULL));
	assert_int_equal(s.result, DMARC_R_TEMPERROR);
	assert_int_equal(s.policy, DMARC_P_REJECT);
	assert_int_equal(s.disposition, DMARC_P_UNSPEC);
}

static void
t_dmarc_eval_refused_and_no_dns(void **state)
{
	struct fixture *f = *state;
	struct req_buf b;
	struct sum s;

	fake_dns_set_refuse(f->fe.dns, true);
	s = eval3(f, mkreq(&b, "example.com", NULL, DMARC_AUTH_NONE, NULL));
	assert_int_equal(s.result, DMARC_R_TEMPERROR);
	fake_dns_set_refuse(f->fe.dns, false);
	f->fe.env.dns = NULL;
	s = eval3(f, mkreq(&b, "example.com", NULL, DMARC_AUTH_NONE, NULL));
	assert_int_equal(s.result, DMARC_R_TEMPERROR);
	f->fe.env.dns = &f->fe.ops;
}

/* §4.10 steps 2/6: several records at a name are all discarded. */
static void
t_dmarc_eval_multiple_records(void **state)
{
	struct fixture *f = *state;
	struct req_buf b;
	struct sum s;

	fake_dns_add_txt(f->fe.dns, "_dmarc.example.com", "v=DMARC1; p=reject");
	fake_dns_add_txt(f->fe.dns, "_dmarc.example.com", "v=DMARC1; p=none");
	s = eval3(f, mkreq(&b, "example.com", NULL, DMARC_AUTH_NONE, NULL));
	expect(&s, DMARC_R_NONE, DMARC_P_UNSPEC, DMARC_P_UNSPEC);
	assert_non_null(strstr(s.reason, "several"));
	/* Non-DMARC TXT beside one DMARC record is fine. */
	fake_dns_clear(f->fe.dns);
	fake_dns_add_txt(f->fe.dns, "_dmarc.example.com", "v=spf1 -all");
	fake_dns_add_txt(f->fe.dns, "_dmarc.example.com", "v=DMARC1; p=reject");
	fake_dns_add_txt(f->fe.dns, "_dmarc.example.com", "hello");
	s = eval3(f, mkreq(&b, "example.com", NULL, DMARC_AUTH_NONE, NULL));
	expect(&s, DMARC_R_FAIL, DMARC_P_REJECT, DMARC_P_REJECT);
	/* Several at the author domain: the walk goes on to the parent. */
	fake_dns_add_txt(f->fe.dns, "_dmarc.a.example.com", "v=DMARC1; p=none");
	fake_dns_add_txt(f->fe.dns, "_dmarc.a.example.com", "v=DMARC1; p=none");
	fake_dns_set_rcode(f->fe.dns, "a.example.com", DNS_NODATA);
	s = eval3(f, mkreq(&b, "a.example.com", NULL, DMARC_AUTH_NONE, NULL));
	expect(&s, DMARC_R_FAIL, DMARC_P_REJECT, DMARC_P_REJECT);
	assert_string_equal(s.rec_dom, "example.com");
}

/* §4.10.1: invalid policy and no valid rua= means no DMARC processing. */
static void
t_dmarc_eval_invalid_record(void **state)
{
	struct fixture *f = *state;
	struct req_buf b;
	struct sum s;

	fake_dns_add_txt(f->fe.dns, "_dmarc.example.com", "v=DMARC1; p=foo");
	s = eval3(f, mkreq(&b, "example.com", NULL, DMARC_AUTH_NONE, NULL));
	assert_int_equal(s.result, DMARC_R_PERMERROR);
	assert_int_equal(s.disposition, DMARC_P_UNSPEC);
	assert_true(s.have);
	fake_dns_clear(f->fe.dns);
	fake_dns_add_txt(f->fe.dns, "_dmarc.example.com",
	    "v=DMARC1; p=foo; rua=mailto:agg@example.com");
	s = eval3(f, mkreq(&b, "example.com", NULL, DMARC_AUTH_NONE, NULL));
	expect(&s, DMARC_R_FAIL, DMARC_P_NONE, DMARC_P_NONE);
	/* A record without p= reads as p=none (§4.7). */
	fake_dns_clear(f->fe.dns);
	fake_dns_add_txt(f->fe.dns, "_dmarc.example.com", "v=DMARC1");
	s = eval3(f, mkreq(&b, "example.com", NULL, DMARC_AUTH_NONE, NULL));
	expect(&s, DMARC_R_FAIL, DMARC_P_NONE, DMARC_P_NONE);
}

static void
t_dmarc_eval_bad_request(void **state)
{
	struct fixture *f = *state;
	struct req_buf b;
	struct sum s;

	mkreq(&b, "", NULL, DMARC_AUTH_NONE, NULL);
	assert_int_equal(
	    dmarc_eval_start(f->e, &b.req, &f->fe.ar), DMARC_E_ARG);
	mkreq(&b, "example.com", NULL, DMARC_AUTH_NONE, NULL);
	b.req.mode = DMARC_RFC7489;
	assert_int_equal(
	    dmarc_eval_start(f->e, &b.req, &f->fe.ar), DMARC_E_ARG);
	/* Busy: answers still outstanding. */
	fake_dns_set_mode(f->fe.dns, FAKE_DNS_QUEUED);
	mkreq(&b, "example.com", NULL, DMARC_AUTH_NONE, NULL);
	assert_int_equal(
	    dmarc_eval_start(f->e, &b.req, &f->fe.ar), DMARC_PENDING);
	assert_false(dmarc_eval_is_done(f->e));
	assert_int_equal(
	    dmarc_eval_start(f->e, &b.req, &f->fe.ar), DMARC_E_ARG);
	fake_dns_run(f->fe.dns);
	assert_true(dmarc_eval_is_done(f->e));
	/* A From domain that is no DNS name: permerror, no query. */
	s = eval3(f, mkreq(&b, "[192.0.2.1]", NULL, DMARC_AUTH_NONE, NULL));
	assert_int_equal(s.result, DMARC_R_PERMERROR);
	assert_int_equal(s.queries, 0);
	/*
	 * One that no host could have still finds its parent's policy: a
	 * raw U-label under a p=reject domain fails with np=/sp=.
	 */
	fake_dns_add_txt(f->fe.dns, "_dmarc.example", "v=DMARC1; p=reject");
	s = eval3(
	    f, mkreq(&b, "b\xc3\xbc.example", NULL, DMARC_AUTH_NONE, NULL));
	assert_int_equal(s.result, DMARC_R_FAIL);
	assert_int_equal(s.disposition, DMARC_P_REJECT);
	/*
	 * A From domain of 250 octets: "_dmarc." + it is too long to ask
	 * for (the backend refuses it), which is "no record", not a DNS
	 * failure; the walk goes on to the parent's p=reject.
	 */
	{
		char dom[251];

		memset(dom, 'a', sizeof(dom));
		for (size_t i = 60; i < 240; i += 61)
			dom[i] = '.';
		memcpy(dom + 242, ".example", 8);
		dom[250] = '\0';
		fake_dns_set_strict_names(f->fe.dns, true);
		s = eval3(f, mkreq(&b, dom, NULL, DMARC_AUTH_NONE, NULL));
		fake_dns_set_strict_names(f->fe.dns, false);
		assert_int_equal(s.result, DMARC_R_FAIL);
		assert_int_equal(s.disposition, DMARC_P_REJECT);
	}
}

/* Many signatures, each with a deep d=: the query budget holds. */
static void
t_dmarc_eval_query_limit(void **state)
{
	static char names[8][64];
	struct fixture *f = *state;
	struct req_buf b;
	struct sum s;
	size_t i;

	fake_dns_add_txt(f->fe.dns, "_dmarc.example.com", "v=DMARC1; p=reject");
	mkreq(&b, "example.com", NULL, DMARC_AUTH_NONE, NULL);
	for (i = 0; i < 8; i++) {
		snprintf(names[i], sizeof(names[i]),
		    "a.b.c.d.e.f.g.h%zu.example%zu.net", i, i);
		add_dkim(&b, names[i], DMARC_AUTH_PASS);
	}
	s = eval3(f, &b.req);
	assert_int_equal(s.result, DMARC_R_FAIL);
	assert_true(s.queries <= DMARC_MAX_QUERIES);
	assert_non_null(strstr(s.reason, "limit"));
	/* An exact match still aligns past the limit. */
	add_dkim(&b, "example.com", DMARC_AUTH_PASS);
	s = eval3(f, &b.req);
	assert_int_equal(s.result, DMARC_R_PASS);
}

/* ---- the author domain ---- */

static dmarc_from_res
author(struct fixture *f, const char *hdr, span *d)
{
	struct hdr_msg m;
	char err[160];

	assert_int_equal(hdr_split(span_cstr(hdr), &f->fe.lim, &f->fe.ar, &m,
	                     err, sizeof(err)),
	    HDR_OK);
	return dmarc_author_domain(&m, &f->fe.ar, d);
}

static void
t_dmarc_author_domain(void **state)
{
	struct fixture *f = *state;
	span d;

	assert_int_equal(
	    author(f, "From: Alice <alice@Example.COM>\r\n\r\n", &d),
	    DMARC_FROM_OK);
	assert_span(d, "Example.COM");
	assert_int_equal(
	    author(f, "To: a@example.com\r\n\r\n", &d), DMARC_FROM_NONE);
	assert_int_equal(
	    author(f, "From: a@example.com\r\nFrom: b@example.com\r\n\r\n", &d),
	    DMARC_FROM_MULTIPLE_FIELDS);
	assert_int_equal(
	    author(f, "From: a@example.com, b@example.net\r\n\r\n", &d),
	    DMARC_FROM_MULTIPLE_ADDRS);
	assert_int_equal(
	    author(f, "From: a@example.com, b@EXAMPLE.com\r\n\r\n", &d),
	    DMARC_FROM_OK);
	assert_int_equal(
	    author(f, "From: undisclosed-recipients:;\r\n\r\n", &d),
	    DMARC_FROM_NO_DOMAIN);
	assert_int_equal(
	    author(f, "From: <nodomain>\r\n\r\n", &d), DMARC_FROM_NO_DOMAIN);
	assert_int_equal(
	    author(f, "From: \"unbalanced <a@b.example>\r\n\r\n", &d),
	    DMARC_FROM_NO_DOMAIN);
	assert_int_equal(author(f,
	                     "From: a@x.example, b@x.example, c@x.example, "
	                     "d@x.example, e@x.example, f@x.example, "
	                     "g@x.example, h@x.example, i@x.example, "
	                     "j@x.example, k@x.example, l@x.example, "
	                     "m@x.example, n@x.example, o@x.example, "
	                     "p@x.example, q@x.example\r\n\r\n",
	                     &d),
	    DMARC_FROM_MULTIPLE_ADDRS);
}

/* ---- RFC 7489 mode ---- */

static void
t_dmarc_eval_rfc7489(void **state)
{
	struct fixture *f = *state;
	struct req_buf b;
	struct sum s;

	if (psl == NULL)
		skip();
	fake_dns_add_txt(f->fe.dns, "_dmarc.example.co.uk",
	    "v=DMARC1; p=reject; sp=quarantine; np=none; t=y");
	mkreq(&b, "mail.example.co.uk", NULL, DMARC_AUTH_NONE, NULL);
	b.req.mode = DMARC_RFC7489;
	b.req.psl = psl;
	s = eval3(f, &b.req);
	/* sp=; np= and t= are not RFC 7489 tags. */
	expect(&s, DMARC_R_FAIL, DMARC_P_QUARANTINE, DMARC_P_QUARANTINE);
	assert_string_equal(s.org, "example.co.uk");
	assert_string_equal(s.rec_dom, "example.co.uk");
	assert_int_equal(s.queries, 2);
	/* Relaxed alignment by the PSL, no DNS walk. */
	b.dkim[0].domain = SPAN_LIT("other.example.co.uk");
	b.dkim[0].result = DMARC_AUTH_PASS;
	b.req.ndkim = 1;
	s = eval3(f, &b.req);
	expect(&s, DMARC_R_PASS, DMARC_P_QUARANTINE, DMARC_P_UNSPEC);
	assert_int_equal(s.queries, 2);
	/* Another registrant under co.uk does not align. */
	b.dkim[0].domain = SPAN_LIT("example2.co.uk");
	s = eval3(f, &b.req);
	assert_int_equal(s.result, DMARC_R_FAIL);
	/* The From domain is a public suffix: its own Organizational Domain. */
	mkreq(&b, "co.uk", NULL, DMARC_AUTH_NONE, NULL);
	b.req.mode = DMARC_RFC7489;
	b.req.psl = psl;
	s = eval3(f, &b.req);
	assert_int_equal(s.result, DMARC_R_NONE);
	assert_string_equal(s.org, "co.uk");
	assert_int_equal(s.queries, 1);
}

static void
t_dmarc_eval_rfc7489_pct(void **state)
{
	struct fixture *f = *state;
	struct req_buf b;
	struct sum s;

	if (psl == NULL)
		skip();
	fake_dns_add_txt(
	    f->fe.dns, "_dmarc.example.com", "v=DMARC1; p=reject; pct=50");
	mkreq(&b, "example.com", NULL, DMARC_AUTH_NONE, NULL);
	b.req.mode = DMARC_RFC7489;
	b.req.psl = psl;
	b.req.pct_roll = 49;
	s = eval3(f, &b.req);
	expect(&s, DMARC_R_FAIL, DMARC_P_REJECT, DMARC_P_REJECT);
	b.req.pct_roll = 50;
	s = eval3(f, &b.req);
	expect(&s, DMARC_R_FAIL, DMARC_P_REJECT, DMARC_P_QUARANTINE);
	assert_true(s.downgraded);
	/* In RFC 9989 mode pct= is unknown, and ignored. */
	b.req.mode = DMARC_RFC9989;
	s = eval3(f, &b.req);
	expect(&s, DMARC_R_FAIL, DMARC_P_REJECT, DMARC_P_REJECT);
	/* pct=0: never sampled; the default 100 always. */
	fake_dns_clear(f->fe.dns);
	fake_dns_add_txt(
	    f->fe.dns, "_dmarc.example.com", "v=DMARC1; p=quarantine; pct=0");
	b.req.mode = DMARC_RFC7489;
	b.req.pct_roll = 0;
	s = eval3(f, &b.req);
	expect(&s, DMARC_R_FAIL, DMARC_P_QUARANTINE, DMARC_P_NONE);
	fake_dns_clear(f->fe.dns);
	fake_dns_add_txt(f->fe.dns, "_dmarc.example.com", "v=DMARC1; p=reject");
	b.req.pct_roll = 99;
	s = eval3(f, &b.req);
	expect(&s, DMARC_R_FAIL, DMARC_P_REJECT, DMARC_P_REJECT);
	/* Several records at the author domain end discovery (§6.6.3). */
	fake_dns_add_txt(f->fe.dns, "_dmarc.example.com", "v=DMARC1; p=none");
	mkreq(&b, "example.com", NULL, DMARC_AUTH_NONE, NULL);
	b.req.mode = DMARC_RFC7489;
	b.req.psl = psl;
	s = eval3(f, &b.req);
	assert_int_equal(s.result, DMARC_R_NONE);
	/* A missing p= is invalid in RFC 7489. */
	fake_dns_clear(f->fe.dns);
	fake_dns_add_txt(f->fe.dns, "_dmarc.example.com", "v=DMARC1; sp=none");
	s = eval3(f, &b.req);
	assert_int_equal(s.result, DMARC_R_PERMERROR);
}

static void
t_dmarc_psl_org(void **state)
{
	(void)state;
	if (psl == NULL)
		skip();
	assert_span(
	    dmarc_psl_org(psl, SPAN_LIT("a.b.example.co.uk")), "example.co.uk");
	assert_span(dmarc_psl_org(psl, SPAN_LIT("co.uk")), "co.uk");
	assert_span(dmarc_psl_org(psl, SPAN_LIT("uk")), "uk");
	assert_span(
	    dmarc_psl_org(psl, SPAN_LIT("www.example.com")), "example.com");
	assert_span(dmarc_psl_org(NULL, SPAN_LIT("www.example.com")),
	    "www.example.com");
}

/* Relaxed alignment as a signer checks it, with and without the list. */
static void
t_dmarc_psl_aligned(void **state)
{
	static const struct {
		const char *from, *d;
		bool psl, nopsl;
	} c[] = {
		{ "example.com", "example.com", true, true },
		{ "news.example.com", "example.com", true, true },
		{ "example.com", "mail.example.com", true, true },
		{ "news.example.com", "mail.example.com", true, false },
		{ "Example.COM.", "example.com", true, true },
		{ "example.com", "com", false, true },
		{ "a.example.co.uk", "b.example.co.uk", true, false },
		{ "example.co.uk", "other.co.uk", false, false },
		{ "badexample.com", "example.com", false, false },
		{ "example.com", "example.net", false, false },
		{ "", "example.com", false, false },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		span from = span_cstr(c[i].from), d = span_cstr(c[i].d);

		if (dmarc_psl_aligned(NULL, from, d) != c[i].nopsl)
			fail_msg("no list: %s / %s", c[i].from, c[i].d);
		if (psl != NULL && dmarc_psl_aligned(psl, from, d) != c[i].psl)
			fail_msg("list: %s / %s", c[i].from, c[i].d);
	}
}

/* ---- allocation failure ---- */

static void
t_dmarc_evaluator_new_nomem(void **state)
{
	struct fixture *f = *state;
	struct dmarc_evaluator *e = NULL;

	fake_alloc_fail_after(0);
	assert_int_equal(dmarc_evaluator_new(&f->fe.env, &e), DMARC_E_NOMEM);
	fake_alloc_reset();
	assert_null(e);
}

/*
 * Cut the arena short at every size up to what a full evaluation needs:
 * each run ends (done) with either the full answer or DMARC_E_NOMEM and
 * a temperror saying so; no leak, no crash.
 */
static void
t_dmarc_eval_nomem_sweep(void **state)
{
	struct fixture *f = *state;
	struct req_buf b;
	struct sum full, s;
	size_t limit;
	dmarc_res r;
	int mode;

	fake_dns_add_txt(f->fe.dns, "_dmarc.example.com",
	    "v=DMARC1; p=reject; sp=quarantine; np=reject; "
	    "rua=mailto:agg@example.com");
	mkreq(&b, "a.b.example.com", "bounce.example.com", DMARC_AUTH_FAIL,
	    "mail.example.com");
	add_dkim(&b, "x.example.net", DMARC_AUTH_PASS);
	full = eval3(f, &b.req);
	expect(&full, DMARC_R_PASS, DMARC_P_REJECT, DMARC_P_UNSPEC);
	for (mode = 0; mode < 3; mode++) {
		for (limit = 0; limit < 8192; limit += 16) {
			struct arena small;

			arena_init(&small, fake_alloc_get(), 64, limit);
			fake_dns_set_mode(f->fe.dns,
			    mode == 0 ? FAKE_DNS_SYNC : FAKE_DNS_QUEUED);
			fake_dns_set_lifo(f->fe.dns, mode == 2);
			r = dmarc_eval_start(f->e, &b.req, &small);
			while (!dmarc_eval_is_done(f->e))
				assert_true(fake_dns_run(f->fe.dns) > 0);
			summarise(dmarc_eval_outcome(f->e), r, &s);
			if (r == DMARC_E_NOMEM ||
			    strcmp(s.reason, "out of memory") == 0) {
				assert_int_equal(s.result, DMARC_R_TEMPERROR);
			} else {
				/*
				 * A verdict reached despite a lost answer:
				 * the same one (the existence test may be
				 * what was lost, so np= may not apply).
				 */
				assert_true(
				    r == DMARC_OK || r == DMARC_PENDING);
				assert_int_equal(s.result, full.result);
				assert_memory_equal(
				    s.dal, full.dal, sizeof(s.dal));
			}
			arena_fini(&small);
		}
	}
	/* Allocator failures under the arena as well. */
	for (limit = 0; limit < 40; limit++) {
		struct arena small;

		arena_init(&small, fake_alloc_get(), 64, (size_t)1 << 20);
		fake_dns_set_mode(f->fe.dns, FAKE_DNS_SYNC);
		fake_alloc_fail_after(limit);
		r = dmarc_eval_start(f->e, &b.req, &small);
		assert_true(r == DMARC_OK || r == DMARC_E_NOMEM);
		assert_true(dmarc_eval_is_done(f->e));
		fake_alloc_reset();
		arena_fini(&small);
	}
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(t_dmarc_record_parse_table),
		T(t_dmarc_record_parse_tags),
		T(t_dmarc_record_parse_binary),
		T(t_dmarc_record_parse_absurd),
		T(t_dmarc_strings),
		T(t_dmarc_walk_targets),
		T(t_dmarc_walk_org),
		T(t_dmarc_domain_helpers),
		T(t_dmarc_eval_no_record),
		T(t_dmarc_eval_pass_exact_no_walk),
		T(t_dmarc_eval_fail_policy_p),
		T(t_dmarc_eval_subdomain_sp),
		T(t_dmarc_eval_np),
		T(t_dmarc_eval_testing),
		T(t_dmarc_eval_walk_jump),
		T(t_dmarc_eval_psd_y),
		T(t_dmarc_eval_psd_n),
		T(t_dmarc_eval_intermediate),
		T(t_dmarc_eval_alignment),
		T(t_dmarc_eval_spf_helo),
		T(t_dmarc_eval_temperror),
		T(t_dmarc_eval_refused_and_no_dns),
		T(t_dmarc_eval_multiple_records),
		T(t_dmarc_eval_invalid_record),
		T(t_dmarc_eval_bad_request),
		T(t_dmarc_eval_query_limit),
		T(t_dmarc_author_domain),
		T(t_dmarc_eval_rfc7489),
		T(t_dmarc_eval_rfc7489_pct),
		T(t_dmarc_psl_org),
		T(t_dmarc_psl_aligned),
		T(t_dmarc_evaluator_new_nomem),
		T(t_dmarc_eval_nomem_sweep),
	};
	int rc;

	psl = psl_load_file(PSL_FILE);
	if (psl == NULL)
		psl = psl_latest(NULL);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	psl_free(psl);
	return rc;
}
