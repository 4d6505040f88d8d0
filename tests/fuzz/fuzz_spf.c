/*
 * fuzz_spf: spf_check_start() against a DNS the input controls. Input:
 * byte 0 picks the client (IPv4 192.0.2.1 or IPv6 2001:db8::1) and the
 * sender form; the rest, split at '\n', is a list of TXT records. The
 * domain's own record is line 0; any other TXT query gets the line a
 * hash of its name picks (or NXDOMAIN/TEMPFAIL), and A, AAAA, MX and
 * PTR queries get answers that hash of the name and type decides: an
 * rcode, 0-3 addresses (often the client's), up to 12 MX or PTR names
 * under fuzz.example. Every answer is a pure function of (input, type,
 * name), so the same check is run answered synchronously, queued oldest
 * first and queued newest first. Oracles: each run ends with every
 * answer in; the result is one of the seven; at most 11 counted lookups
 * and 3 void lookups; a NUL-terminated problem; the explanation within
 * SPF_EXP_MAX; the three runs agree; spf_received writes a field whose
 * every line break is a fold. Answer memory is poisoned and freed after
 * done(), so a kept span is a use-after-free.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/env.h"
#include "core/spf.h"
#include "tests/fuzz/common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * The domain's own record is the first line; the split below always
 * yields one, so fuzz.example never answers NXDOMAIN.
 */
static const struct fuzz_fdns_fixed fixed[] = {
	{ "fuzz.example", 0 },
};

struct snap {
	enum spf_result result;
	unsigned lookups, voids;
	size_t nexp;
	uint8_t exp[SPF_EXP_MAX];
};

static void
check_received(const struct spf_request *req, const struct spf_outcome *o)
{
	static uint8_t mem[8192];
	struct buf b;
	size_t i;

	buf_init_fixed(&b, mem, sizeof(mem));
	if (!spf_received(&b, req, o, "\r\n"))
		return;
	for (i = 0; i < b.len; i++) {
		if (mem[i] == '\n')
			FUZZ_CHECK(i > 0 && mem[i - 1] == '\r' &&
			    (i + 1 == b.len || mem[i + 1] == '\t'));
		if (mem[i] == '\r')
			FUZZ_CHECK(i + 1 < b.len && mem[i + 1] == '\n');
	}
}

static void
run_one(struct fuzz_fdns *f, const struct spf_request *req, int mode,
    struct snap *s)
{
	static struct spf_checker *c;
	static struct core_env env;
	static struct hanko_limits lim;
	static struct dns_ops ops;
	static struct fuzz_dns fd;
	const struct spf_outcome *o;
	struct arena ar;
	spf_res r;

	if (c == NULL) {
		fd.answer = fuzz_fdns_answer;
		fuzz_dns_ops(&fd, &ops);
		fuzz_env_init(&env, &lim, &ops);
		FUZZ_CHECK(spf_checker_new(&env, &c) == SPF_OK);
	}
	fd.answer_ctx = f;
	fd.queued = mode != 0;
	fd.lifo = mode == 2;
	fuzz_dns_reset(&fd);
	arena_init(&ar, fuzz_alloc(), 4096, 1u << 22);
	r = spf_check_start(c, req, &ar);
	FUZZ_CHECK(r == SPF_OK || r == SPF_PENDING);
	fuzz_dns_run(&fd);
	FUZZ_CHECK(spf_check_is_done(c));
	FUZZ_CHECK(spf_check_status(c) == SPF_OK);
	o = spf_check_outcome(c);
	FUZZ_CHECK(o->result <= SPF_R_PERMERROR);
	FUZZ_CHECK(o->lookups <= SPF_MAX_LOOKUPS + 1);
	FUZZ_CHECK(o->void_lookups <= SPF_MAX_VOID + 1);
	FUZZ_CHECK(memchr(o->problem, '\0', sizeof(o->problem)) != NULL);
	FUZZ_CHECK(o->explanation.len <= SPF_EXP_MAX);
	FUZZ_CHECK(o->explanation.len == 0 || o->result == SPF_R_FAIL);
	FUZZ_CHECK(spf_result_str(o->result) != NULL);
	check_received(req, o);
	memset(s, 0, sizeof(*s));
	s->result = o->result;
	s->lookups = o->lookups;
	s->voids = o->void_lookups;
	s->nexp = o->explanation.len;
	if (s->nexp > 0)
		memcpy(s->exp, o->explanation.p, s->nexp);
	arena_fini(&ar);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz_fdns f;
	static struct snap s[3];
	struct spf_request req;
	const uint8_t *p, *end, *nl;
	int m;

	if (size < 1)
		return 0;
	memset(&f, 0, sizeof(f));
	f.fixed = fixed;
	f.nfixed = sizeof(fixed) / sizeof(fixed[0]);
	f.flags = FUZZ_FDNS_AAAA | FUZZ_FDNS_PTR | FUZZ_FDNS_ADDR_VARY;
	for (p = data + 1, end = data + size;
	     p <= end && f.nlines < FUZZ_FDNS_LINES; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		f.line[f.nlines++] = span_make(p, (size_t)(nl - p));
	}
	memset(&req, 0, sizeof(req));
	FUZZ_CHECK(spf_ip_parse(
	    (data[0] & 1) ? SPAN_LIT("2001:db8::1") : SPAN_LIT("192.0.2.1"),
	    &req.ip));
	req.sender = (data[0] & 2) ? SPAN_LIT("")
	    : (data[0] & 4)        ? SPAN_LIT("@fuzz.example")
	                           : SPAN_LIT("user-name+tag@fuzz.example");
	req.helo = SPAN_LIT("fuzz.example");
	req.receiver = (data[0] & 8) ? SPAN_LIT("") : SPAN_LIT("mx.example");
	req.identity = (data[0] & 16) ? SPF_ID_HELO : SPF_ID_MAILFROM;
	req.now = 1700000000;
	for (m = 0; m < 3; m++)
		run_one(&f, &req, m, &s[m]);
	FUZZ_CHECK(memcmp(&s[0], &s[1], sizeof(s[0])) == 0);
	FUZZ_CHECK(memcmp(&s[0], &s[2], sizeof(s[0])) == 0);
	return 0;
}
