/*
 * Unit tests for core/auth.c (one message: SPF, DKIM, DMARC, the
 * multi-domain rule, the Authentication-Results field) and core/dnsq.c
 * (the per-message DNS cache and its rules), through the fake DNS.
 * Every policy case runs three times: answers synchronous, queued and
 * delivered oldest first, and newest first; the three fields must be
 * byte for byte the same.
 */
#include "core/auth.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/arena.h"
#include "core/dns.h"
#include "core/dnsq.h"
#include "core/env.h"
#include "core/scan.h"
#include "tests/fake/fake_alloc.h"
#include "tests/fake/fake_dns.h"
#include "tests/fake/fake_env.h"

#define NOW 1700000000u

struct fixture {
	struct fake_env fe;
	struct auth_conf conf;
	struct auth_ctx *a;
};

/* What one message said, copied out of the arena. */
struct said {
	enum dmarc_result result;
	enum dmarc_policy disposition;
	char from[128];
	char field[2048];
	size_t ndoms;
	bool spf_run;
	enum spf_result spf;
	size_t queries;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	fake_env_init(&f->fe);
	f->fe.env.scan = scan_select(SCAN_AUTO);
	f->conf.dmarc = true;
	f->conf.mode = DMARC_RFC9989;
	f->conf.authserv_id = SPAN_LIT("mx.test");
	f->conf.receiver = SPAN_LIT("mx.test");
	assert_int_equal(auth_new(&f->fe.env, &f->conf, NULL, &f->a), AUTH_OK);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	int r;

	auth_free(f->a);
	r = fake_env_fini(&f->fe);
	free(f);
	return r;
}

static void
request(struct auth_request *req, const char *msg, const char *ip,
    const char *mail_from)
{
	memset(req, 0, sizeof(*req));
	req->msg = span_cstr(msg);
	req->now = NOW;
	req->pct_roll = 0;
	if (ip != NULL)
		auth_envelope_set(&req->env, AUTH_ENV_IP, span_cstr(ip), "t");
	if (mail_from != NULL)
		auth_envelope_set(
		    &req->env, AUTH_ENV_MAIL_FROM, span_cstr(mail_from), "t");
}

/* Run req with DNS answering as mode says (lifo: newest first). */
static void
run(struct fixture *f, const struct auth_request *req, enum fake_dns_mode mode,
    bool lifo, struct said *s)
{
	const struct auth_result *r;
	size_t before = fake_dns_queries(f->fe.dns);
	auth_res ar;

	fake_dns_set_mode(f->fe.dns, mode);
	fake_dns_set_lifo(f->fe.dns, lifo);
	arena_reset(&f->fe.ar);
	ar = auth_start(f->a, req, &f->fe.ar);
	if (mode == FAKE_DNS_SYNC)
		assert_int_equal(ar, AUTH_OK);
	while (!auth_is_done(f->a))
		assert_true(fake_dns_run(f->fe.dns) > 0);
	assert_int_equal(fake_dns_pending(f->fe.dns), 0);
	r = auth_result(f->a);
	memset(s, 0, sizeof(*s));
	assert_true(r->authres_ok);
	snprintf(s->field, sizeof(s->field), "%.*s", (int)r->authres.len,
	    (const char *)r->authres.p);
	if (f->conf.dmarc) {
		s->result = r->dmarc->result;
		s->disposition = r->disposition;
		snprintf(s->from, sizeof(s->from), "%.*s",
		    (int)r->dmarc_from.len,
		    r->dmarc_from.p != NULL ? (const char *)r->dmarc_from.p
		                            : "");
	}
	s->ndoms = r->ndoms;
	s->spf_run = r->spf_run;
	s->spf = r->spf_run ? r->spf->result : SPF_R_NONE;
	s->queries = fake_dns_queries(f->fe.dns) - before;
}

/* The same message in the three delivery orders: one result. */
static void
run3(struct fixture *f, const struct auth_request *req, struct said *s)
{
	struct said q, l;

	run(f, req, FAKE_DNS_SYNC, false, s);
	run(f, req, FAKE_DNS_QUEUED, false, &q);
	run(f, req, FAKE_DNS_QUEUED, true, &l);
	assert_string_equal(s->field, q.field);
	assert_string_equal(s->field, l.field);
	assert_int_equal(s->result, q.result);
	assert_int_equal(s->result, l.result);
	assert_int_equal(s->disposition, q.disposition);
	assert_int_equal(s->disposition, l.disposition);
	assert_string_equal(s->from, l.from);
	assert_int_equal(s->queries, q.queries);
	assert_int_equal(s->queries, l.queries);
}

static size_t
count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (hay = strstr(hay, needle); hay != NULL;
	     hay = strstr(hay + 1, needle))
		n++;
	return n;
}

static void
world(struct fixture *f)
{
	fake_dns_add_txt(f->fe.dns, "_dmarc.rej.example", "v=DMARC1; p=reject");
	fake_dns_add_txt(
	    f->fe.dns, "_dmarc.quar.example", "v=DMARC1; p=quarantine");
	fake_dns_add_txt(f->fe.dns, "_dmarc.none.example", "v=DMARC1; p=none");
	fake_dns_add_txt(f->fe.dns, "rej.example", "v=spf1 ip4:192.0.2.1 -all");
	fake_dns_add_txt(
	    f->fe.dns, "quar.example", "v=spf1 ip4:192.0.2.2 -all");
	fake_dns_add_txt(
	    f->fe.dns, "none.example", "v=spf1 ip4:192.0.2.3 -all");
	fake_dns_set_rcode(f->fe.dns, "_dmarc.temp.example", DNS_TEMPFAIL);
}

#define BODY "Subject: t\r\n\r\nbody\r\n"

/* One author domain: SPF aligned passes, a spoof fails with p=reject. */
static void
t_auth_single_domain(void **state)
{
	struct fixture *f = *state;
	struct auth_request req;
	struct said s;

	world(f);
	request(
	    &req, "From: a@rej.example\r\n" BODY, "192.0.2.1", "b@rej.example");
	run3(f, &req, &s);
	assert_int_equal(s.result, DMARC_R_PASS);
	assert_int_equal(s.spf, SPF_R_PASS);
	assert_non_null(strstr(s.field, "spf=pass"));
	assert_non_null(strstr(s.field, "dkim=none"));
	assert_non_null(strstr(s.field, "dmarc=pass"));
	request(&req, "From: a@rej.example\r\n" BODY, "198.51.100.7",
	    "b@rej.example");
	run3(f, &req, &s);
	assert_int_equal(s.result, DMARC_R_FAIL);
	assert_int_equal(s.disposition, DMARC_P_REJECT);
	assert_string_equal(s.from, "rej.example");
	assert_non_null(strstr(s.field, "spf=fail"));
	assert_int_equal(count(s.field, "dmarc="), 1);
}

/*
 * Several author domains: the strictest failing policy decides, and the
 * field has exactly one dmarc=, with every domain in its comment.
 */
static void
t_auth_multi_domain_strictest(void **state)
{
	struct fixture *f = *state;
	struct auth_request req;
	struct said s;

	world(f);
	/* Nothing aligns: none, quarantine and reject fail; reject wins. */
	request(&req,
	    "From: a@none.example, b@rej.example, c@quar.example\r\n" BODY,
	    "198.51.100.7", "x@other.example");
	run3(f, &req, &s);
	assert_int_equal(s.ndoms, 3);
	assert_int_equal(s.result, DMARC_R_FAIL);
	assert_int_equal(s.disposition, DMARC_P_REJECT);
	assert_string_equal(s.from, "rej.example");
	assert_int_equal(count(s.field, "dmarc="), 1);
	assert_non_null(strstr(s.field, "dmarc=fail"));
	assert_non_null(strstr(s.field, "none.example"));
	assert_non_null(strstr(s.field, "quar.example"));
	/* The order of the addresses does not change who decides. */
	request(&req,
	    "From: b@rej.example, c@quar.example, a@none.example\r\n" BODY,
	    "198.51.100.7", "x@other.example");
	run3(f, &req, &s);
	assert_int_equal(s.disposition, DMARC_P_REJECT);
	assert_string_equal(s.from, "rej.example");
	/*
	 * SPF aligns with quar.example only: rej.example still fails and
	 * decides; the innocent pass does not show as the verdict.
	 */
	request(&req, "From: c@quar.example, b@rej.example\r\n" BODY,
	    "192.0.2.2", "x@quar.example");
	run3(f, &req, &s);
	assert_int_equal(s.result, DMARC_R_FAIL);
	assert_int_equal(s.disposition, DMARC_P_REJECT);
	assert_string_equal(s.from, "rej.example");
	assert_int_equal(count(s.field, "dmarc="), 1);
	/* A failure with a temperror beside it: the failure decides. */
	request(&req, "From: a@temp.example, b@quar.example\r\n" BODY,
	    "198.51.100.7", "x@other.example");
	run3(f, &req, &s);
	assert_int_equal(s.result, DMARC_R_FAIL);
	assert_int_equal(s.disposition, DMARC_P_QUARANTINE);
	/* Only a temperror and a none: temperror (retry, not accept). */
	request(&req, "From: a@temp.example, b@nothing.example\r\n" BODY,
	    "198.51.100.7", "x@other.example");
	run3(f, &req, &s);
	assert_int_equal(s.result, DMARC_R_TEMPERROR);
	assert_int_equal(s.disposition, DMARC_P_NONE);
}

/* Two From fields never pass, even when each domain would. */
static void
t_auth_several_from_fields(void **state)
{
	struct fixture *f = *state;
	struct auth_request req;
	struct said s;

	world(f);
	request(&req, "From: a@rej.example\r\nFrom: b@rej.example\r\n" BODY,
	    "192.0.2.1", "x@rej.example");
	run3(f, &req, &s);
	assert_int_equal(s.result, DMARC_R_FAIL);
	assert_int_equal(s.disposition, DMARC_P_REJECT);
	assert_non_null(strstr(s.field, "several From fields"));
	/* No From at all: fail, without a lookup for DMARC. */
	request(&req, BODY, NULL, NULL);
	run3(f, &req, &s);
	assert_int_equal(s.result, DMARC_R_FAIL);
	assert_int_equal(s.queries, 0);
	assert_false(s.spf_run);
}

/* More author domains than evaluated: the message cannot pass. */
static void
t_auth_too_many_domains(void **state)
{
	struct fixture *f = *state;
	struct auth_request req;
	struct said s;

	world(f);
	fake_dns_add_txt(f->fe.dns, "_dmarc.p1.example", "v=DMARC1; p=none");
	request(&req,
	    "From: a@p1.example, b@p2.example, c@p3.example, d@p4.example, "
	    "e@p5.example\r\n" BODY,
	    NULL, NULL);
	run3(f, &req, &s);
	assert_int_equal(s.ndoms, AUTH_FROM_DOMAINS_MAX);
	assert_int_equal(s.result, DMARC_R_FAIL);
	assert_non_null(strstr(s.field, "not every author"));
}

/*
 * One cache: SPF's TXT at the author domain and DMARC's existence test
 * (np=) ask the same question once.
 */
static void
t_auth_one_cache(void **state)
{
	struct fixture *f = *state;
	struct auth_request req;
	struct said s;
	size_t i, j, n0 = fake_dns_queries(f->fe.dns);

	fake_dns_add_txt(
	    f->fe.dns, "_dmarc.org.example", "v=DMARC1; p=none; np=reject");
	fake_dns_add_txt(f->fe.dns, "sub.org.example", "v=spf1 -all");
	request(&req, "From: a@sub.org.example\r\n" BODY, "192.0.2.9",
	    "b@sub.org.example");
	run3(f, &req, &s);
	assert_int_equal(s.result, DMARC_R_FAIL);
	assert_int_equal(s.disposition, DMARC_P_NONE);
	/* Each (type, name) was sent once per run. */
	for (i = n0; i < n0 + s.queries; i++)
		for (j = i + 1; j < n0 + s.queries; j++)
			assert_false(span_eq(fake_dns_query_name(f->fe.dns, i),
			                 fake_dns_query_name(f->fe.dns, j)) &&
			    fake_dns_query_type(f->fe.dns, i) ==
			        fake_dns_query_type(f->fe.dns, j));
}

/* A message that could not be read: DKIM error, DMARC permerror. */
static void
t_auth_unread(void **state)
{
	struct fixture *f = *state;
	struct auth_request req;
	struct said s;

	request(&req, "", "192.0.2.1", "a@b.example");
	req.unread = "message larger than --max-size";
	run3(f, &req, &s);
	assert_int_equal(s.result, DMARC_R_PERMERROR);
	assert_false(s.spf_run);
	assert_non_null(strstr(s.field, "larger than"));
	/* A header that does not split: the same, with its reason. */
	request(&req, "no colon here\r\n\r\nbody\r\n", NULL, NULL);
	run3(f, &req, &s);
	assert_int_equal(s.result, DMARC_R_PERMERROR);
	assert_int_equal(s.queries, 0);
}

/* --trust-received: the envelope from the trace fields. */
static void
t_auth_trace_envelope(void **state)
{
	struct fixture *f = *state;
	struct auth_request req;
	const struct auth_result *r;
	struct said s;

	world(f);
	request(&req,
	    "Return-Path: <b@rej.example>\r\n"
	    "Received: from mx.rej.example (mx.rej.example [192.0.2.1])\r\n"
	    "\tby mx.test; Tue, 14 Nov 2023 22:13:20 +0000\r\n"
	    "From: a@rej.example\r\n" BODY,
	    NULL, NULL);
	req.trust_received = 1;
	run3(f, &req, &s);
	r = auth_result(f->a);
	assert_true(r->env.has_ip);
	assert_string_equal(r->env.source, "trace");
	assert_int_equal(s.spf, SPF_R_PASS);
	assert_int_equal(s.result, DMARC_R_PASS);
	/* The caller's sources come first. */
	request(&req,
	    "Received: from h (h [192.0.2.1]) by mx.test; "
	    "Tue, 14 Nov 2023 22:13:20 +0000\r\n"
	    "From: a@rej.example\r\n" BODY,
	    "198.51.100.7", "b@rej.example");
	req.trust_received = 1;
	run3(f, &req, &s);
	assert_int_equal(s.spf, SPF_R_FAIL);
}

/* A toy IDNA: one U-label name, as an embedder's hook would map it. */
static size_t
toy_idna(void *ctx, span d, char *out, size_t outlen)
{
	const char *want = ctx;

	if (!span_eq(d,
	        SPAN_LIT("b\xc3\xbc"
	                 "cher.example")) ||
	    strlen(want) >= outlen)
		return 0;
	memcpy(out, want, strlen(want) + 1);
	return strlen(want);
}

static void
t_auth_idna_hook(void **state)
{
	struct fixture *f = *state;
	static char alabel[] = "xn--bcher-kva.example";
	struct dnsq_idna idna = { alabel, toy_idna };
	struct auth_request req;
	struct said s;

	fake_dns_add_txt(
	    f->fe.dns, "_dmarc.xn--bcher-kva.example", "v=DMARC1; p=reject");
	f->conf.idna = &idna;
	request(&req,
	    "From: a@b\xc3\xbc"
	    "cher.example\r\n" BODY,
	    NULL, NULL);
	run3(f, &req, &s);
	assert_int_equal(s.result, DMARC_R_FAIL);
	assert_int_equal(s.disposition, DMARC_P_REJECT);
	assert_string_equal(s.from, "xn--bcher-kva.example");
	f->conf.idna = NULL;
	/* Without the hook the U-label name is asked and has no policy. */
	run3(f, &req, &s);
	assert_int_equal(s.result, DMARC_R_NONE);
	assert_null(strstr(s.field, "xn--"));
}

/* DKIM only (hanko verify): the authres_dkim field, no lookups. */
static void
t_auth_dkim_only(void **state)
{
	struct fixture *f = *state;
	struct auth_ctx *a;
	struct auth_request req;
	struct said s;

	auth_free(f->a);
	f->conf.dmarc = false;
	f->conf.eol = "\n";
	assert_int_equal(auth_new(&f->fe.env, &f->conf, NULL, &a), AUTH_OK);
	f->a = a;
	request(&req, "From: a@rej.example\r\n" BODY, "192.0.2.1", NULL);
	run3(f, &req, &s);
	assert_int_equal(s.queries, 0);
	assert_false(s.spf_run);
	assert_string_equal(s.field,
	    "Authentication-Results: mx.test; dkim=none (no signatures)");
}

/* A second message while the first waits is refused. */
static void
t_auth_busy(void **state)
{
	struct fixture *f = *state;
	struct auth_request req;

	world(f);
	request(&req, "From: a@rej.example\r\n" BODY, NULL, NULL);
	fake_dns_set_mode(f->fe.dns, FAKE_DNS_QUEUED);
	arena_reset(&f->fe.ar);
	assert_int_equal(auth_start(f->a, &req, &f->fe.ar), AUTH_PENDING);
	assert_false(auth_is_done(f->a));
	assert_int_equal(auth_start(f->a, &req, &f->fe.ar), AUTH_E_ARG);
	fake_dns_run(f->fe.dns);
	assert_true(auth_is_done(f->a));
	assert_int_equal(auth_result(f->a)->dmarc->result, DMARC_R_FAIL);
}

/* Out of memory anywhere: a result, never a crash or a leak. */
static void
t_auth_nomem_sweep(void **state)
{
	struct fixture *f = *state;
	struct auth_request req;
	struct arena small;
	size_t lim;

	world(f);
	request(&req, "From: a@none.example, b@rej.example\r\n" BODY,
	    "192.0.2.1", "x@rej.example");
	for (lim = 256; lim < 64 * 1024; lim += 512) {
		arena_init(&small, fake_alloc_get(), 256, lim);
		assert_int_equal(auth_start(f->a, &req, &small), AUTH_OK);
		assert_true(auth_is_done(f->a));
		assert_non_null(auth_result(f->a)->dmarc);
		arena_fini(&small);
	}
}

/* --- dnsq rules, with a backend the test drives by hand --- */

struct hand {
	dns_done_fn *done[8];
	void *cookie[8];
	size_t n;
	int refuse; /* returned by the backend when not 0 */
	bool sync;
};

static void
answer(struct hand *h, size_t i, enum dns_rcode rc, const char *txt)
{
	span t = span_cstr(txt != NULL ? txt : "");
	struct dns_answer a;

	memset(&a, 0, sizeof(a));
	a.rcode = rc;
	a.txt = &t;
	a.ntxt = txt != NULL ? 1 : 0;
	h->done[i](h->cookie[i], &a);
}

static int
hand_txt(void *ctx, span qname, dns_done_fn *done, void *cookie)
{
	struct hand *h = ctx;

	(void)qname;
	if (h->refuse != 0)
		return h->refuse;
	h->done[h->n] = done;
	h->cookie[h->n++] = cookie;
	if (h->sync)
		answer(h, h->n - 1, DNS_OK, "sync");
	return 0;
}

static unsigned wakes;

static void
wake(void *arg)
{
	(void)arg;
	wakes++;
}

static void
t_dnsq_rules(void **state)
{
	struct fixture *f = *state;
	struct hand h;
	struct dns_ops ops = { &h, hand_txt, NULL };
	struct dnsq_client a, b;
	const struct dnsq_ans *ans;
	struct dnsq *q;

	memset(&h, 0, sizeof(h));
	arena_reset(&f->fe.ar);
	assert_non_null(q = dnsq_new(&ops, &f->fe.ar));
	dnsq_client_init(&a, wake, NULL, 0);
	dnsq_client_init(&b, wake, NULL, 2);
	wakes = 0;
	/* Two clients, one question: sent once, both woken. */
	assert_int_equal(
	    dnsq_lookup(q, &a, DNS_T_TXT, SPAN_LIT("X.example."), &ans),
	    DNSQ_PENDING);
	assert_int_equal(
	    dnsq_lookup(q, &b, DNS_T_TXT, SPAN_LIT("x.example"), &ans),
	    DNSQ_PENDING);
	assert_int_equal(h.n, 1);
	assert_int_equal(dnsq_sent(q), 1);
	assert_false(dnsq_idle(q));
	assert_int_equal(a.waiting, 1);
	answer(&h, 0, DNS_OK, "first");
	assert_true(dnsq_idle(q));
	assert_int_equal(wakes, 2);
	assert_int_equal(a.waiting + b.waiting, 0);
	/* A duplicate answer is ignored: the first is kept. */
	answer(&h, 0, DNS_TEMPFAIL, NULL);
	assert_int_equal(wakes, 2);
	assert_int_equal(
	    dnsq_lookup(q, &a, DNS_T_TXT, SPAN_LIT("x.example"), &ans),
	    DNSQ_OK);
	assert_int_equal(ans->rcode, DNS_OK);
	assert_int_equal(ans->ntxt, 1);
	assert_memory_equal(ans->txt[0].p, "first", 5);
	/* Another type is another question; no query(): not asked. */
	assert_int_equal(
	    dnsq_lookup(q, &a, DNS_T_A, SPAN_LIT("x.example"), &ans), DNSQ_OK);
	assert_int_equal(ans->rcode, DNS_TEMPFAIL);
	assert_int_equal(ans->refused, DNSQ_NODNS);
	/* b's limit counts the questions it asked, hits included. */
	assert_int_equal(
	    dnsq_lookup(q, &b, DNS_T_A, SPAN_LIT("x.example"), &ans), DNSQ_OK);
	assert_int_equal(
	    dnsq_lookup(q, &b, DNS_T_TXT, SPAN_LIT("y.example"), &ans),
	    DNSQ_LIMIT);
	/* Refused: a bad name is NXDOMAIN, anything else TEMPFAIL. */
	h.refuse = DNS_E_BADNAME;
	assert_int_equal(
	    dnsq_lookup(q, &a, DNS_T_TXT, SPAN_LIT("bad..example"), &ans),
	    DNSQ_OK);
	assert_int_equal(ans->rcode, DNS_NXDOMAIN);
	assert_int_equal(ans->refused, DNSQ_BADNAME);
	h.refuse = -5;
	assert_int_equal(
	    dnsq_lookup(q, &a, DNS_T_TXT, SPAN_LIT("io.example"), &ans),
	    DNSQ_OK);
	assert_int_equal(ans->rcode, DNS_TEMPFAIL);
	assert_int_equal(ans->refused, DNSQ_REFUSED);
	/* Synchronous: found by the lookup, nobody woken. */
	h.refuse = 0;
	h.sync = true;
	assert_int_equal(
	    dnsq_lookup(q, &a, DNS_T_TXT, SPAN_LIT("s.example"), &ans),
	    DNSQ_OK);
	assert_memory_equal(ans->txt[0].p, "sync", 4);
	assert_int_equal(wakes, 2);
	assert_true(dnsq_idle(q));
}

/* An answer that does not fit the arena is a TEMPFAIL marked nomem. */
static void
t_dnsq_nomem_answer(void **state)
{
	struct fixture *f = *state;
	struct hand h;
	struct dns_ops ops = { &h, hand_txt, NULL };
	struct dnsq_client a;
	const struct dnsq_ans *ans;
	struct arena small;
	char big[4000];
	struct dnsq *q;

	(void)f;
	memset(&h, 0, sizeof(h));
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	arena_init(&small, fake_alloc_get(), 1024, 2048);
	assert_non_null(q = dnsq_new(&ops, &small));
	dnsq_client_init(&a, wake, NULL, 0);
	assert_int_equal(
	    dnsq_lookup(q, &a, DNS_T_TXT, SPAN_LIT("x.example"), &ans),
	    DNSQ_PENDING);
	answer(&h, 0, DNS_OK, big);
	assert_int_equal(
	    dnsq_lookup(q, &a, DNS_T_TXT, SPAN_LIT("x.example"), &ans),
	    DNSQ_OK);
	assert_true(ans->nomem);
	assert_int_equal(ans->rcode, DNS_TEMPFAIL);
	arena_fini(&small);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(t_auth_single_domain),
		T(t_auth_multi_domain_strictest),
		T(t_auth_several_from_fields),
		T(t_auth_too_many_domains),
		T(t_auth_one_cache),
		T(t_auth_unread),
		T(t_auth_trace_envelope),
		T(t_auth_idna_hook),
		T(t_auth_dkim_only),
		T(t_auth_busy),
		T(t_auth_nomem_sweep),
		T(t_dnsq_rules),
		T(t_dnsq_nomem_answer),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
