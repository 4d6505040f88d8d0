/*
 * fuzz_auth: auth_start() (core/auth.c: SPF, DKIM, DMARC on one dnsq)
 * on the input as a whole message. The message writes its own DNS:
 * each "X-Fuzz-Z: NAME RCODE [TXT]" line (RCODE one of OK, NX, NODATA,
 * TEMP, PERM) answers NAME for any type, TXT being its one record; other
 * names answer NXDOMAIN, and the DKIM vectors' keys answer as in
 * fuzz_verify. The envelope is a fixed client and MAIL FROM, or the
 * trace fields (Received, Return-Path) when the length says so.
 * Oracle: the message is evaluated three times, answers synchronous,
 * queued oldest first and newest first: every answer arrives and the
 * three Authentication-Results fields are byte for byte the same, each
 * with a dmarc= result; a disposition only on fail.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/auth.h"
#include "core/dns.h"
#include "core/dnsq.h"
#include "core/env.h"
#include "tests/fuzz/common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW    1700000000u
#define ZMAX   16
#define OUTMAX 8192

struct zline {
	span name;
	enum dns_rcode rc;
	span txt;
};

struct world {
	struct zline z[ZMAX];
	size_t nz;
};

static bool
word(span *s, span *out)
{
	size_t i = 0, j;

	while (i < s->len && s->p[i] == ' ')
		i++;
	for (j = i; j < s->len && s->p[j] != ' '; j++)
		;
	*out = span_make(s->p + i, j - i);
	*s = span_make(s->p + j, s->len - j);
	return out->len > 0;
}

/* The "X-Fuzz-Z:" lines of msg. */
static void
read_world(span msg, struct world *w)
{
	static const char tag[] = "\nX-Fuzz-Z:";
	static const struct {
		const char *w;
		enum dns_rcode rc;
	} rcs[] = { { "OK", DNS_OK }, { "NX", DNS_NXDOMAIN },
		{ "NODATA", DNS_NODATA }, { "TEMP", DNS_TEMPFAIL },
		{ "PERM", DNS_PERMFAIL } };
	const uint8_t *p = msg.p, *end = msg.p + msg.len, *at, *eol;
	span line, name, rc;
	size_t k;

	w->nz = 0;
	if (msg.len == 0)
		return;
	while (w->nz < ZMAX &&
	    (at = memmem(p, (size_t)(end - p), tag, sizeof(tag) - 1)) != NULL) {
		at += sizeof(tag) - 1;
		if ((eol = memchr(at, '\n', (size_t)(end - at))) == NULL)
			eol = end;
		p = eol;
		if (eol > at && eol[-1] == '\r')
			eol--;
		line = span_make(at, (size_t)(eol - at));
		if (!word(&line, &name) || !word(&line, &rc))
			continue;
		for (k = 0; k < sizeof(rcs) / sizeof(rcs[0]); k++)
			if (span_eq(rc, span_cstr(rcs[k].w)))
				break;
		if (k == sizeof(rcs) / sizeof(rcs[0]))
			continue;
		while (line.len > 0 && line.p[0] == ' ')
			line = span_make(line.p + 1, line.len - 1);
		w->z[w->nz].name = name;
		w->z[w->nz].rc = rcs[k].rc;
		w->z[w->nz++].txt = line;
	}
}

static void
answer(void *ctx, uint16_t qtype, span qname, struct dns_answer *ans)
{
	const struct world *w = ctx;
	static span txt;
	size_t i;

	ans->rcode = DNS_NXDOMAIN;
	for (i = 0; i < fuzz_vector_nnames; i++) {
		const struct fuzz_dns_name *n = &fuzz_vector_names[i];

		if (qtype == DNS_T_TXT && span_ieq_cstr(qname, n->name) &&
		    n->rc == DNS_OK && n->txt[0] != NULL) {
			txt = span_cstr(n->txt[0]);
			ans->rcode = DNS_OK;
			ans->txt = &txt;
			ans->ntxt = 1;
			return;
		}
	}
	for (i = 0; i < w->nz; i++) {
		if (!span_ieq_ascii(qname, w->z[i].name))
			continue;
		ans->rcode = w->z[i].rc;
		if (w->z[i].rc == DNS_OK && qtype == DNS_T_TXT) {
			txt = w->z[i].txt;
			ans->txt = &txt;
			ans->ntxt = 1;
		}
		return;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz_dns fd;
	static struct dns_ops ops;
	static struct hanko_limits lim;
	static struct core_env env;
	static struct arena ar;
	static struct auth_conf conf;
	static struct auth_ctx *a;
	static struct world w;
	static uint8_t first[OUTMAX];
	struct auth_request req;
	const struct auth_result *r;
	size_t flen = 0, run;
	const uint8_t *d;

	if (a == NULL) {
		fd.answer = answer;
		fd.answer_ctx = &w;
		fuzz_dns_ops(&fd, &ops);
		fuzz_env_init(&env, &lim, &ops);
		arena_init(&ar, env.alloc, 64 << 10, lim.max_arena_bytes);
		conf.dmarc = true;
		conf.mode = DMARC_RFC9989;
		conf.authserv_id = span_cstr("mx.fuzz");
		conf.receiver = span_cstr("mx.fuzz");
		FUZZ_CHECK(auth_new(&env, &conf, NULL, &a) == AUTH_OK);
	}
	read_world(span_make(data, size), &w);
	memset(&req, 0, sizeof(req));
	req.msg = span_make(data, size);
	req.now = NOW;
	req.pct_roll = (unsigned)(size % 100);
	if ((size & 1) != 0) {
		req.trust_received = 1;
	} else {
		auth_envelope_set(
		    &req.env, AUTH_ENV_IP, span_cstr("192.0.2.1"), "flags");
		auth_envelope_set(&req.env, AUTH_ENV_MAIL_FROM,
		    span_cstr("a@fuzz.example"), "flags");
	}
	for (run = 0; run < 3; run++) {
		fuzz_dns_reset(&fd);
		fd.queued = run > 0;
		fd.lifo = run == 2;
		arena_reset(&ar);
		switch (auth_start(a, &req, &ar)) {
		case AUTH_OK:
			break;
		case AUTH_PENDING:
			FUZZ_CHECK(fd.queued);
			FUZZ_CHECK(fuzz_dns_run(&fd) > 0);
			break;
		case AUTH_E_NOMEM:
		case AUTH_E_ARG:
			fuzz_fail(__FILE__, __LINE__, "unexpected status");
		}
		FUZZ_CHECK(auth_is_done(a));
		FUZZ_CHECK(fd.nq == 0);
		r = auth_result(a);
		FUZZ_CHECK(r->dmarc != NULL);
		FUZZ_CHECK(r->ndoms <= AUTH_FROM_DOMAINS_MAX);
		FUZZ_CHECK(r->disposition != DMARC_P_UNSPEC);
		FUZZ_CHECK(r->dmarc->result == DMARC_R_FAIL ||
		    r->disposition == DMARC_P_NONE);
		if (!r->authres_ok || r->authres.len > OUTMAX) {
			FUZZ_CHECK(run == 0 || flen == SIZE_MAX);
			flen = SIZE_MAX;
			continue;
		}
		/* A dmarc= resinfo, whatever the From says. */
		d = memmem(r->authres.p, r->authres.len, "; dmarc=", 8);
		FUZZ_CHECK(d != NULL);
		if (run == 0) {
			flen = r->authres.len;
			memcpy(first, r->authres.p, flen);
		} else {
			FUZZ_CHECK(flen == r->authres.len);
			FUZZ_CHECK(memcmp(first, r->authres.p, flen) == 0);
		}
	}
	return 0;
}
