/*
 * fuzz_dmarc: dmarc_record_parse() and dmarc_eval_start() on a small
 * text script, one directive per line:
 *
 *	F <from domain>
 *	S <spf domain> <pass|fail|...> [helo]
 *	D <d=> <pass|fail|...>			(up to 8)
 *	M 7489 | P <pct roll>
 *	Z <name> <OK|NX|NODATA|TEMP|PERM> [TXT]	DNS answers
 *
 * Names without a Z line answer NXDOMAIN; several OK lines for a name
 * are several TXT RRs. Every TXT value is also parsed as a record in
 * both modes. The input's length picks how DNS answers: before txt()
 * returns, or queued and delivered oldest or newest first.
 * Oracles: parsing is deterministic (twice, same fields) and its fields
 * are in range; the evaluation finishes with every answer delivered,
 * within DMARC_MAX_QUERIES queries, and its outcome is consistent (a
 * disposition only on fail, aligned identifiers only on pass, a
 * NUL-terminated reason). Answers are heap copies poisoned after done(),
 * so a kept answer span is a use-after-free.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libpsl.h>

#include "core/arena.h"
#include "core/dmarc.h"
#include "core/dns.h"
#include "core/env.h"
#include "tests/fuzz/common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ZMAX 64

struct zline {
	span name;
	enum dns_rcode rc;
	span txt;
};

/* The script's DNS; answered through common.c's fuzz_dns. */
struct zone {
	struct zline z[ZMAX];
	size_t nz;
	span txt[ZMAX];
};

static bool
ieq(span a, const char *b, size_t blen)
{
	size_t i;

	if (a.len != blen)
		return false;
	for (i = 0; i < blen; i++) {
		uint8_t x = a.p[i], y = (uint8_t)b[i];

		if (x >= 'A' && x <= 'Z')
			x = (uint8_t)(x + 32);
		if (y >= 'A' && y <= 'Z')
			y = (uint8_t)(y + 32);
		if (x != y)
			return false;
	}
	return true;
}

/* Z lines for the name: the first one's rcode; every OK line a TXT RR. */
static void
zone_answer(void *ctx, uint16_t qtype, span qname, struct dns_answer *ans)
{
	struct zone *zn = ctx;
	size_t i, n = 0;
	bool seen = false;

	for (i = 0; i < zn->nz; i++) {
		const struct zline *z = &zn->z[i];

		if (!ieq(z->name, (const char *)qname.p, qname.len))
			continue;
		if (!seen)
			ans->rcode = z->rc;
		seen = true;
		if (z->rc == DNS_OK && ans->rcode == DNS_OK &&
		    qtype == DNS_T_TXT)
			zn->txt[n++] = z->txt;
	}
	if (seen && ans->rcode == DNS_OK && n == 0)
		ans->rcode = DNS_NODATA;
	ans->txt = n > 0 ? zn->txt : NULL;
	ans->ntxt = n;
}

/* The next space-separated word of *line (empty at the end). */
static span
word(span *line)
{
	span all = *line;
	size_t i = 0, j;

	while (i < all.len && all.p[i] == ' ')
		i++;
	j = i;
	while (j < all.len && all.p[j] != ' ')
		j++;
	*line = span_sub(all, j, all.len - j);
	return span_sub(all, i, j - i);
}

static span
rest(span line)
{
	if (line.len > 0 && line.p[0] == ' ')
		return span_sub(line, 1, line.len - 1);
	return line;
}

static enum dmarc_auth
auth_word(span w)
{
	static const char *names[] = { "none", "pass", "fail", "softfail",
		"neutral", "temperror", "permerror", "policy" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (ieq(w, names[i], strlen(names[i])))
			return (enum dmarc_auth)i;
	return DMARC_AUTH_NONE;
}

static enum dns_rcode
rc_word(span w)
{
	if (ieq(w, "NX", 2))
		return DNS_NXDOMAIN;
	if (ieq(w, "NODATA", 6))
		return DNS_NODATA;
	if (ieq(w, "TEMP", 4))
		return DNS_TEMPFAIL;
	if (ieq(w, "PERM", 4))
		return DNS_PERMFAIL;
	return DNS_OK;
}

struct script {
	struct dmarc_request req;
	struct dmarc_dkim_in dkim[8];
};

static void
take_line(struct script *s, struct zone *d, span line)
{
	span w;

	if (line.len > 0 && line.p[line.len - 1] == '\r')
		line.len--;
	w = word(&line);
	if (w.len != 1)
		return;
	switch (w.p[0]) {
	case 'F':
		s->req.from_domain = word(&line);
		break;
	case 'S':
		s->req.spf.domain = word(&line);
		s->req.spf.result = auth_word(word(&line));
		s->req.spf.scope = ieq(word(&line), "helo", 4)
		    ? DMARC_SPF_HELO
		    : DMARC_SPF_MFROM;
		break;
	case 'D':
		if (s->req.ndkim == 8)
			break;
		s->dkim[s->req.ndkim].domain = word(&line);
		s->dkim[s->req.ndkim].selector = SPAN_LIT("s");
		s->dkim[s->req.ndkim++].result = auth_word(word(&line));
		break;
	case 'M':
		if (ieq(word(&line), "7489", 4))
			s->req.mode = DMARC_RFC7489;
		break;
	case 'P':
		w = word(&line);
		s->req.pct_roll = w.len > 0 ? (unsigned)(w.p[0] % 100) : 0;
		break;
	case 'Z':
		if (d->nz == ZMAX)
			break;
		d->z[d->nz].name = word(&line);
		d->z[d->nz].rc = rc_word(word(&line));
		d->z[d->nz++].txt = rest(line);
		break;
	default:
		break;
	}
}

static void
check_record(span txt, enum dmarc_mode mode)
{
	struct dmarc_record a, b;
	char wa[160], wb[160];
	dmarc_rec_res ra, rb;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	ra = dmarc_record_parse(txt, mode, &a, wa, sizeof(wa));
	rb = dmarc_record_parse(txt, mode, &b, wb, sizeof(wb));
	FUZZ_CHECK(ra == rb);
	FUZZ_CHECK(memchr(wa, '\0', sizeof(wa)) != NULL);
	FUZZ_CHECK(strcmp(wa, wb) == 0);
	if (ra == DMARC_REC_NOT_DMARC)
		return;
	FUZZ_CHECK(memcmp(&a, &b, sizeof(a)) == 0);
	FUZZ_CHECK(a.p <= DMARC_P_REJECT && a.sp <= DMARC_P_REJECT &&
	    a.np <= DMARC_P_REJECT);
	FUZZ_CHECK(a.adkim <= DMARC_A_STRICT && a.aspf <= DMARC_A_STRICT);
	FUZZ_CHECK(a.psd <= DMARC_PSD_N);
	FUZZ_CHECK(a.pct <= 100);
	FUZZ_CHECK(a.fo.len > 0);
	if (ra == DMARC_REC_OK)
		FUZZ_CHECK(a.p != DMARC_P_UNSPEC);
	if (mode == DMARC_RFC7489)
		FUZZ_CHECK(!a.testing && a.np == DMARC_P_UNSPEC &&
		    a.psd == DMARC_PSD_U);
	else
		FUZZ_CHECK(a.pct == 100);
}

static void
check_outcome(const struct dmarc_outcome *o)
{
	size_t i;

	FUZZ_CHECK(memchr(o->reason, '\0', sizeof(o->reason)) != NULL);
	FUZZ_CHECK(o->result <= DMARC_R_PERMERROR);
	FUZZ_CHECK(o->queries <= DMARC_MAX_QUERIES);
	FUZZ_CHECK(dmarc_result_str(o->result) != NULL);
	if (o->result != DMARC_R_FAIL)
		FUZZ_CHECK(o->disposition == DMARC_P_UNSPEC);
	else
		FUZZ_CHECK(o->disposition != DMARC_P_UNSPEC &&
		    o->disposition <= o->policy);
	if (o->result != DMARC_R_PASS) {
		FUZZ_CHECK(!o->spf_aligned && !o->dkim_aligned);
		for (i = 0; i < o->ndkim; i++)
			FUZZ_CHECK(!o->dkim[i].aligned);
	} else {
		FUZZ_CHECK(o->spf_aligned || o->dkim_aligned);
	}
	if (o->spf_aligned)
		FUZZ_CHECK(o->spf.scope == DMARC_SPF_MFROM &&
		    o->spf.result == DMARC_AUTH_PASS);
	for (i = 0; i < o->ndkim; i++)
		if (o->dkim[i].aligned)
			FUZZ_CHECK(o->dkim[i].result == DMARC_AUTH_PASS);
	if (o->result == DMARC_R_FAIL || o->result == DMARC_R_PASS)
		FUZZ_CHECK(o->have_record && o->policy != DMARC_P_UNSPEC);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct zone zn;
	static struct fuzz_dns d;
	static struct dns_ops ops;
	static struct hanko_limits lim;
	static struct core_env env;
	static struct arena ar;
	static struct dmarc_evaluator *e;
	static const psl_ctx_t *psl;
	struct script s;
	size_t start = 0, i;
	dmarc_res r;

	if (e == NULL) {
		d.answer = zone_answer;
		d.answer_ctx = &zn;
		fuzz_dns_ops(&d, &ops);
		fuzz_env_init(&env, &lim, &ops);
		arena_init(&ar, env.alloc, 16 << 10, lim.max_arena_bytes);
		FUZZ_CHECK(dmarc_evaluator_new(&env, &e) == DMARC_OK);
		/* The distribution's list; libpsl's built-in copy otherwise. */
		if ((psl = psl_latest(NULL)) == NULL)
			psl = psl_builtin();
	}
	memset(&s, 0, sizeof(s));
	zn.nz = 0;
	fuzz_dns_reset(&d);
	for (i = 0; i <= size; i++) {
		if (i < size && data[i] != '\n')
			continue;
		take_line(&s, &zn, span_make(data + start, i - start));
		start = i + 1;
	}
	for (i = 0; i < zn.nz; i++) {
		check_record(zn.z[i].txt, DMARC_RFC9989);
		check_record(zn.z[i].txt, DMARC_RFC7489);
	}
	s.req.dkim = s.dkim;
	s.req.psl = psl;
	d.queued = (size % 3) != 0;
	d.lifo = (size % 3) == 2;
	arena_reset(&ar);
	r = dmarc_eval_start(e, &s.req, &ar);
	switch (r) {
	case DMARC_OK:
	case DMARC_E_NOMEM:
		FUZZ_CHECK(dmarc_eval_is_done(e));
		break;
	case DMARC_PENDING:
		FUZZ_CHECK(d.queued);
		for (i = 0; i < DMARC_MAX_QUERIES && !dmarc_eval_is_done(e);
		     i++)
			FUZZ_CHECK(fuzz_dns_run(&d) > 0);
		FUZZ_CHECK(dmarc_eval_is_done(e));
		break;
	case DMARC_E_ARG:
		FUZZ_CHECK(s.req.from_domain.len == 0 ||
		    (s.req.mode == DMARC_RFC7489 && psl == NULL));
		return 0;
	}
	FUZZ_CHECK(d.nq == 0);
	FUZZ_CHECK(d.nqueries <= DMARC_MAX_QUERIES);
	check_outcome(dmarc_eval_outcome(e));
	return 0;
}
