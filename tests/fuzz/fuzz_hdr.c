/*
 * fuzz_hdr: hdr_split() on the input as a whole message, then
 * hdr_addr_list() on every From value (and every other field's value, so
 * the address parser sees more shapes). Oracles: every span lies inside
 * the message and in order, the fields and the body tile the message,
 * names are valid; an address list gives the same count and first
 * address whatever max is, and each domain is a suffix of its address.
 * Every value also goes through the trace-field readers (hanko dmarc
 * --trust-received): what they return lies inside the value, the IP
 * holds no ']' and the HELO no white space.
 */
#include <stdint.h>
#include <string.h>

#include "core/arena.h"
#include "core/env.h"
#include "core/hdr.h"
#include "core/trace.h"
#include "tests/fuzz/common.h"

#define MAXADDR 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
inside(span s, span m)
{
	return s.p >= m.p && s.p + s.len <= m.p + m.len;
}

static void
check_addrs(span value, struct arena *ar)
{
	span addrs[MAXADDR], one[1];
	size_t n, n1, i;

	n = hdr_addr_list(value, ar, addrs, MAXADDR);
	if (n == HDR_ADDR_NOMEM)
		return;
	n1 = hdr_addr_list(value, ar, one, 1);
	FUZZ_CHECK(n1 == n);
	if (n == SIZE_MAX || n == 0)
		return;
	FUZZ_CHECK(span_eq(addrs[0], one[0]));
	for (i = 0; i < n && i < MAXADDR; i++) {
		span d = hdr_addr_domain(addrs[i]);

		FUZZ_CHECK(addrs[i].len > 0);
		FUZZ_CHECK(d.p + d.len == addrs[i].p + addrs[i].len);
		FUZZ_CHECK(d.len < addrs[i].len ||
		    memchr(addrs[i].p, '@', addrs[i].len) == NULL);
		FUZZ_CHECK(memchr(d.p, '@', d.len) == NULL);
	}
}

static void
check_trace(span value)
{
	span helo = SPAN_LIT("x"), ip = SPAN_LIT("x"), addr;
	size_t i;

	if (trace_received(value, &helo, &ip)) {
		FUZZ_CHECK(inside(ip, value));
		FUZZ_CHECK(memchr(ip.p, ']', ip.len) == NULL);
		FUZZ_CHECK(helo.len == 0 || inside(helo, value));
		for (i = 0; i < helo.len; i++)
			FUZZ_CHECK(helo.p[i] != ' ' && helo.p[i] != '\t' &&
			    helo.p[i] != '\n' && helo.p[i] != '\r');
	}
	if (trace_return_path(value, &addr)) {
		FUZZ_CHECK(addr.len == 0 || inside(addr, value));
		FUZZ_CHECK(memchr(addr.p, '>', addr.len) == NULL);
	}
}

static void
check_msg(span msg, const struct hdr_msg *m)
{
	const uint8_t *prev = msg.p;
	size_t i;

	FUZZ_CHECK(m->header_len <= msg.len);
	FUZZ_CHECK(m->body.p == msg.p + m->header_len);
	FUZZ_CHECK(m->body.len == msg.len - m->header_len);
	for (i = 0; i < m->nf; i++) {
		const struct hdr_field *f = &m->f[i];

		FUZZ_CHECK(inside(f->raw, msg));
		FUZZ_CHECK(f->raw.p >= prev);
		FUZZ_CHECK(f->raw.p + f->raw.len <= msg.p + m->header_len);
		FUZZ_CHECK(f->name.p == f->raw.p && f->name.len > 0);
		FUZZ_CHECK(f->value.p + f->value.len == f->raw.p + f->raw.len);
		FUZZ_CHECK(f->value.p >= f->name.p + f->name.len + 1);
		FUZZ_CHECK(f->value.p[-1] == ':');
		FUZZ_CHECK(memchr(f->name.p, ':', f->name.len) == NULL);
		FUZZ_CHECK(memchr(f->raw.p, '\0', f->raw.len) == NULL);
		FUZZ_CHECK(hdr_find(m, f->name, 0) <= i);
		prev = f->raw.p + f->raw.len;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct hanko_limits lim;
	static struct arena ar;
	static bool init;
	span msg = span_make(data, size);
	struct hdr_msg m;
	char err[160];
	size_t i;

	if (!init) {
		hanko_limits_default(&lim);
		/* Small limits, so the fuzzer can reach them. */
		lim.max_header_fields = 64;
		lim.max_field_bytes = 2048;
		arena_init(&ar, fuzz_alloc(), 16 << 10, 8 << 20);
		init = true;
	}
	arena_reset(&ar);
	err[0] = '\0';
	if (hdr_split(msg, &lim, &ar, &m, err, sizeof(err)) != HDR_OK) {
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
		return 0;
	}
	check_msg(msg, &m);
	FUZZ_CHECK(m.nf <= lim.max_header_fields);
	for (i = 0; i < m.nf; i++) {
		check_addrs(m.f[i].value, &ar);
		check_trace(m.f[i].value);
	}
	if ((i = hdr_find(&m, SPAN_LIT("from"), 0)) < m.nf)
		check_addrs(m.f[i].value, &ar);
	return 0;
}
