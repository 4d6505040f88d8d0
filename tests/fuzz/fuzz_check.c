/*
 * fuzz_check: check_start() (the record audit behind hanko check) of
 * fuzz.example with two selectors against a DNS the input writes. The
 * input, split at '\n', is a list of TXT records: fuzz.example gets line
 * 0, _dmarc.fuzz.example line 1, a._domainkey.fuzz.example line 2, any
 * other TXT name a line a hash of the name picks (or NXDOMAIN, NODATA,
 * TEMPFAIL); A and MX answers are a hash of (type, name): an rcode, up to
 * 3 addresses, up to 12 exchanges (some the null MX). Every answer is a
 * pure function of (input, type, name), so the audit runs answered
 * synchronously, queued oldest first and queued newest first. Oracles:
 * each run ends with every answer in; the findings, their order and the
 * SPF tree are the same in the three runs; every code is in the table
 * and DKIM findings (only they) carry a selector; the tree holds at most
 * CHECK_SPF_MAX_NODES records, no deeper than CHECK_SPF_MAX_DEPTH. Answer
 * memory is poisoned and freed after done(), so a kept span is a
 * use-after-free.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/check.h"
#include "core/env.h"
#include "tests/fuzz/common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The names an audit always asks, and the lines that answer them. */
static const struct fuzz_fdns_fixed fixed[] = {
	{ "fuzz.example", 0 },
	{ "_dmarc.fuzz.example", 1 },
	{ "a._domainkey.fuzz.example", 2 },
};

/* What one run said, flattened. */
struct snap {
	char text[16384];
	size_t len;
};

static void
add(struct snap *s, const void *p, size_t n)
{
	if (n > sizeof(s->text) - s->len)
		n = sizeof(s->text) - s->len;
	memcpy(s->text + s->len, p, n);
	s->len += n;
}

static void
take(const struct check *c, struct snap *s)
{
	const struct check_finding *f;
	const struct check_spf_node *t;
	unsigned lookups, voids;
	size_t i, n;

	s->len = 0;
	for (f = check_findings(c); f != NULL; f = f->next) {
		FUZZ_CHECK((unsigned)f->code < CHECK_NCODES);
		FUZZ_CHECK((check_code_kind(f->code) == CHECK_K_DKIM) ==
		    (f->selector.len > 0));
		FUZZ_CHECK(f->message.len > 0 && f->message.len < 512);
		add(s, check_code_str(f->code),
		    strlen(check_code_str(f->code)));
		add(s, f->message.p, f->message.len);
	}
	t = check_spf_tree(c, &n, &lookups, &voids);
	FUZZ_CHECK(n <= CHECK_SPF_MAX_NODES);
	for (i = 0; i < n; i++) {
		FUZZ_CHECK(t[i].depth <= CHECK_SPF_MAX_DEPTH);
		add(s, t[i].domain.p, t[i].domain.len);
		add(s, &t[i].lookups, sizeof(t[i].lookups));
	}
	add(s, &lookups, sizeof(lookups));
	add(s, &voids, sizeof(voids));
}

static void
run_one(struct fuzz_fdns *f, int mode, struct snap *s)
{
	static struct core_env env;
	static struct hanko_limits lim;
	static struct dns_ops ops;
	static struct fuzz_dns fd;
	static bool ready;
	struct check_selector sel[2];
	struct check_request req;
	struct check *c = NULL;
	struct arena ar;
	check_res r;

	if (!ready) {
		fd.answer = fuzz_fdns_answer;
		fuzz_dns_ops(&fd, &ops);
		fuzz_env_init(&env, &lim, &ops);
		ready = true;
	}
	fd.answer_ctx = f;
	fd.queued = mode != 0;
	fd.lifo = mode == 2;
	fuzz_dns_reset(&fd);
	memset(sel, 0, sizeof(sel));
	sel[0].name = SPAN_LIT("a");
	sel[1].name = SPAN_LIT("b");
	memset(&req, 0, sizeof(req));
	req.domain = SPAN_LIT("fuzz.example");
	req.sel = sel;
	req.nsel = 2;
	req.what = CHECK_W_ALL;
	arena_init(&ar, fuzz_alloc(), 4096, 1u << 22);
	r = check_start(&env, &req, &ar, &c);
	FUZZ_CHECK(r == CHECK_R_OK || r == CHECK_R_PENDING);
	fuzz_dns_run(&fd);
	FUZZ_CHECK(check_is_done(c));
	FUZZ_CHECK(check_status(c) == CHECK_R_OK);
	take(c, s);
	check_fini(c);
	arena_fini(&ar);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz_fdns f;
	static struct snap s[3];
	const uint8_t *p, *end, *nl;
	int m;

	memset(&f, 0, sizeof(f));
	f.fixed = fixed;
	f.nfixed = sizeof(fixed) / sizeof(fixed[0]);
	f.flags = 0;
	for (p = data, end = data + size; p < end && f.nlines < FUZZ_FDNS_LINES;
	     p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		f.line[f.nlines++] = span_make(p, (size_t)(nl - p));
	}
	for (m = 0; m < 3; m++)
		run_one(&f, m, &s[m]);
	FUZZ_CHECK(s[0].len == s[1].len && s[0].len == s[2].len);
	FUZZ_CHECK(memcmp(s[0].text, s[1].text, s[0].len) == 0);
	FUZZ_CHECK(memcmp(s[0].text, s[2].text, s[0].len) == 0);
	return 0;
}
