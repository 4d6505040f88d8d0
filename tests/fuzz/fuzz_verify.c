/*
 * fuzz_verify: dkim_verify_start() on the input as a whole message, at
 * the vectors' time, against fuzz_dns serving the vectors' key records
 * (RSA and Ed25519 selectors in hanko.example, RFC 8463's in
 * football.example.com) and NXDOMAIN, NODATA, TEMPFAIL and PERMFAIL
 * names. Any selector under fuzz.example answers the values of the
 * message's own "X-Fuzz-Key:" lines (up to three, one TXT RR each), so
 * the fuzzer writes key records too and the worker's key cache sees an
 * endless stream of them. The input's length picks how DNS answers:
 * before txt() returns, or queued and delivered after dkim_verify_start()
 * returns (oldest or newest first), the two orders STYLE.md requires
 * core/ to handle; and which of two verifiers sharing one key cache runs.
 * Oracles: no crash or leak; a final state with every answer in and
 * every result a verdict with a NUL-terminated reason; d= and s= inside
 * the message.
 */
#include <stdint.h>
#include <string.h>

#include "core/arena.h"
#include "core/dkim_verify.h"
#include "core/env.h"
#include "tests/fuzz/common.h"

/* tests/vectors/dkim/README: hanko verify --time 1700003600 */
#define NOW 1700003600u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
inside(span s, span m)
{
	return s.len == 0 || (s.p >= m.p && s.p + s.len <= m.p + m.len);
}

static void
check_results(const struct dkim_verifier *v, span msg, size_t max_sigs)
{
	const struct dkim_result *res;
	size_t n = dkim_verify_results(v, &res), i;

	FUZZ_CHECK(n <= max_sigs);
	for (i = 0; i < n; i++) {
		const struct dkim_result *r = &res[i];

		FUZZ_CHECK(r->verdict != DKIM_V_NONE);
		FUZZ_CHECK(r->verdict <= DKIM_V_PERMERROR);
		FUZZ_CHECK(memchr(r->reason, '\0', sizeof(r->reason)) != NULL);
		FUZZ_CHECK(memchr(r->bpref, '\0', sizeof(r->bpref)) != NULL);
		FUZZ_CHECK(inside(r->d, msg) && inside(r->s, msg));
		FUZZ_CHECK(inside(r->i, msg));
		FUZZ_CHECK(dkim_verdict_str(r->verdict) != NULL);
	}
}

/* The values of the "X-Fuzz-Key:" lines, CR and leading SP dropped. */
static size_t
fuzz_keys(span msg, span *out, size_t max)
{
	static const char tag[] = "\nX-Fuzz-Key:";
	const uint8_t *p = msg.p, *end = msg.p + msg.len, *at, *eol;
	size_t n = 0;

	if (msg.len == 0)
		return 0;
	while (n < max &&
	    (at = memmem(p, (size_t)(end - p), tag, sizeof(tag) - 1)) != NULL) {
		at += sizeof(tag) - 1;
		while (at < end && *at == ' ')
			at++;
		if ((eol = memchr(at, '\n', (size_t)(end - at))) == NULL)
			eol = end;
		p = eol;
		if (eol > at && eol[-1] == '\r')
			eol--;
		out[n++] = span_make(at, (size_t)(eol - at));
	}
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz_dns fd;
	static struct dns_ops ops;
	static struct hanko_limits lim;
	static struct core_env env;
	static struct arena ar;
	static struct dkim_verifier *vs[2];
	span msg = span_make(data, size);
	struct dkim_verifier *v;
	dkim_res r;

	if (vs[0] == NULL) {
		fd.names = fuzz_vector_names;
		fd.nnames = fuzz_vector_nnames;
		fd.dyn_suffix = "._domainkey.fuzz.example";
		fuzz_dns_ops(&fd, &ops);
		fuzz_env_init(&env, &lim, &ops);
		arena_init(&ar, env.alloc, 64 << 10, lim.max_arena_bytes);
		FUZZ_CHECK(dkim_verifier_new(&env, &vs[0]) == DKIM_OK);
		FUZZ_CHECK(
		    dkim_verifier_new_shared(&env, vs[0], &vs[1]) == DKIM_OK);
	}
	v = vs[(size >> 2) & 1];
	fuzz_dns_reset(&fd);
	fd.queued = (size & 1) != 0;
	fd.lifo = (size & 2) != 0;
	fd.ndyn = fuzz_keys(msg, fd.dyn_txt, FUZZ_DNS_DYNMAX);
	arena_reset(&ar);
	r = dkim_verify_start(v, msg, NOW, &ar);
	FUZZ_CHECK(memchr(dkim_verifier_err(v), '\0', 160) != NULL);
	switch (r) {
	case DKIM_OK:
		FUZZ_CHECK(dkim_verify_is_done(v));
		break;
	case DKIM_PENDING:
		FUZZ_CHECK(fd.queued);
		FUZZ_CHECK(!dkim_verify_is_done(v));
		FUZZ_CHECK(fuzz_dns_run(&fd) > 0);
		FUZZ_CHECK(dkim_verify_is_done(v));
		break;
	case DKIM_E_SYNTAX:
	case DKIM_E_LIMIT:
	case DKIM_E_NOMEM:
		/* No results; nothing may still be waiting for DNS. */
		fuzz_dns_run(&fd);
		return 0;
	case DKIM_E_FROM:
	case DKIM_E_CRYPTO:
	case DKIM_E_KEY:
	case DKIM_E_ARG:
		fuzz_fail(__FILE__, __LINE__, "unexpected result");
		break;
	}
	FUZZ_CHECK(fd.nq == 0);
	check_results(v, msg, lim.max_sigs);
	return 0;
}
