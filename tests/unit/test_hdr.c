#include "core/hdr.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "core/arena.h"
#include "core/env.h"
#include "tests/fake/fake_alloc.h"

/*
 * hdr_split: field boundaries, folding, both line-ending styles, every
 * error code and limit; hdr_find/hdr_count; hdr_addr_list over RFC 5322
 * §3.4 address forms, including the malformed ones that must be refused.
 */

struct fixture {
	struct hanko_limits lim;
	struct arena ar;
	struct hdr_msg m;
	char err[160];
};

static int
setup(void **state)
{
	static struct fixture f;

	fake_alloc_reset();
	hanko_limits_default(&f.lim);
	arena_init(&f.ar, fake_alloc_get(), 4096, (size_t)64 << 20);
	memset(&f.m, 0, sizeof(f.m));
	memset(f.err, 0, sizeof(f.err));
	*state = &f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	arena_fini(&f->ar);
	return fake_alloc_live() == 0 ? 0 : -1;
}

static hdr_res
split(struct fixture *f, span msg)
{
	return hdr_split(msg, &f->lim, &f->ar, &f->m, f->err, sizeof(f->err));
}

/* The call fails with code r and says something specific in err. */
static void
expect_err(struct fixture *f, span msg, hdr_res r)
{
	f->err[0] = '\0';
	f->m.nf = 12345;
	assert_int_equal(split(f, msg), r);
	assert_true(strlen(f->err) > 0);
	/* Out-parameters are written only on success. */
	assert_int_equal(f->m.nf, 12345);
}

static void
assert_span(span s, const char *want)
{
	if (!span_eq(s, span_cstr(want)))
		fail_msg("got \"%.*s\", want \"%s\"", (int)s.len,
		    (const char *)s.p, want);
}

static void
t_hdr_split_crlf(void **state)
{
	struct fixture *f = *state;
	static const char msg[] = "From: a@example.com\r\n"
	                          "To: b@example.org\r\n"
	                          "Subject: hi\r\n"
	                          "\r\n"
	                          "body\r\n";

	assert_int_equal(split(f, SPAN_LIT(msg)), HDR_OK);
	assert_int_equal(f->m.nf, 3);
	assert_true(f->m.crlf);
	assert_span(f->m.f[0].raw, "From: a@example.com");
	assert_span(f->m.f[0].name, "From");
	assert_span(f->m.f[0].value, " a@example.com");
	assert_span(f->m.f[1].name, "To");
	assert_span(f->m.f[2].raw, "Subject: hi");
	assert_span(f->m.body, "body\r\n");
	assert_int_equal(f->m.header_len, sizeof(msg) - 1 - 6);
	/* Spans point into the message, nothing is copied. */
	assert_ptr_equal(f->m.f[0].raw.p, msg);
	assert_ptr_equal(f->m.body.p, msg + f->m.header_len);
}

static void
t_hdr_split_lf(void **state)
{
	struct fixture *f = *state;
	static const char msg[] = "From: a@example.com\n"
	                          "Subject: a\n"
	                          " b\n"
	                          "\n"
	                          "body\n";

	assert_int_equal(split(f, SPAN_LIT(msg)), HDR_OK);
	assert_false(f->m.crlf);
	assert_int_equal(f->m.nf, 2);
	assert_span(f->m.f[0].raw, "From: a@example.com");
	assert_span(f->m.f[1].raw, "Subject: a\n b");
	assert_span(f->m.f[1].value, " a\n b");
	assert_span(f->m.body, "body\n");
}

static void
t_hdr_split_folded(void **state)
{
	struct fixture *f = *state;
	static const char msg[] = "Subject: one\r\n"
	                          " two\r\n"
	                          "\tthree\r\n"
	                          "X: y\r\n"
	                          "\r\n";

	assert_int_equal(split(f, SPAN_LIT(msg)), HDR_OK);
	assert_int_equal(f->m.nf, 2);
	assert_span(f->m.f[0].raw, "Subject: one\r\n two\r\n\tthree");
	assert_span(f->m.f[0].value, " one\r\n two\r\n\tthree");
	assert_span(f->m.f[1].raw, "X: y");
	assert_int_equal(f->m.body.len, 0);
	assert_int_equal(f->m.header_len, sizeof(msg) - 1);
}

static void
t_hdr_split_empty_value(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(split(f, SPAN_LIT("X-Empty:\r\nY:\r\n\r\nb")), HDR_OK);
	assert_int_equal(f->m.nf, 2);
	assert_span(f->m.f[0].name, "X-Empty");
	assert_int_equal(f->m.f[0].value.len, 0);
	assert_span(f->m.f[0].raw, "X-Empty:");
	assert_span(f->m.f[1].name, "Y");
	assert_span(f->m.body, "b");
}

/* RFC 5322 §4.5 obsolete syntax: WSP between the name and the colon. */
static void
t_hdr_split_wsp_before_colon(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(split(f, SPAN_LIT("Subject \t: x\r\n\r\n")), HDR_OK);
	assert_int_equal(f->m.nf, 1);
	assert_span(f->m.f[0].name, "Subject");
	assert_span(f->m.f[0].value, " x");
	assert_span(f->m.f[0].raw, "Subject \t: x");
}

/* A colon in the value is part of the value. */
static void
t_hdr_split_colon_in_value(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(split(f, SPAN_LIT("Date: 12:34:56\n\n")), HDR_OK);
	assert_span(f->m.f[0].name, "Date");
	assert_span(f->m.f[0].value, " 12:34:56");
}

/* A message may have no header fields at all, and a NUL in the body. */
static void
t_hdr_split_no_fields(void **state)
{
	struct fixture *f = *state;
	static const char msg[] = "\r\nbo\0dy";

	assert_int_equal(split(f, SPAN_LIT(msg)), HDR_OK);
	assert_int_equal(f->m.nf, 0);
	assert_int_equal(f->m.header_len, 2);
	assert_int_equal(f->m.body.len, 5);
}

static void
t_hdr_find_duplicates(void **state)
{
	struct fixture *f = *state;
	static const char msg[] = "Received: 1\r\n"
	                          "From: a@b.c\r\n"
	                          "received: 2\r\n"
	                          "RECEIVED: 3\r\n"
	                          "\r\n";
	span rcv = SPAN_LIT("Received");

	assert_int_equal(split(f, SPAN_LIT(msg)), HDR_OK);
	assert_int_equal(hdr_count(&f->m, rcv), 3);
	assert_int_equal(hdr_count(&f->m, SPAN_LIT("from")), 1);
	assert_int_equal(hdr_count(&f->m, SPAN_LIT("To")), 0);
	/* Prefixes do not match. */
	assert_int_equal(hdr_count(&f->m, SPAN_LIT("Receive")), 0);
	assert_int_equal(hdr_find(&f->m, rcv, 0), 0);
	assert_int_equal(hdr_find(&f->m, rcv, 1), 2);
	assert_int_equal(hdr_find(&f->m, rcv, 2), 3);
	assert_int_equal(hdr_find(&f->m, rcv, 3), f->m.nf);
	assert_int_equal(hdr_find(&f->m, SPAN_LIT("To"), 0), f->m.nf);
	assert_span(f->m.f[hdr_find(&f->m, rcv, 1)].value, " 2");
}

static void
t_hdr_split_err_empty(void **state)
{
	expect_err(*state, span_make("", 0), HDR_E_EMPTY);
}

static void
t_hdr_split_err_nocolon(void **state)
{
	expect_err(*state, SPAN_LIT("From a@b.c\r\n\r\n"), HDR_E_NOCOLON);
	expect_err(
	    *state, SPAN_LIT("From: a\r\nnonsense\r\n\r\n"), HDR_E_NOCOLON);
}

static void
t_hdr_split_err_name(void **state)
{
	expect_err(*state, SPAN_LIT(": x\r\n\r\n"), HDR_E_NAME);
	expect_err(*state, SPAN_LIT("Fr om: x\r\n\r\n"), HDR_E_NAME);
	expect_err(*state, SPAN_LIT("Fr\x80om: x\r\n\r\n"), HDR_E_NAME);
}

static void
t_hdr_split_err_nul(void **state)
{
	static const char m1[] = "From: a\0b\r\n\r\n";
	static const char m2[] = "From: a\r\n \0\r\n\r\n";
	static const char m3[] = "Fr\0m: a\r\n\r\n";

	expect_err(*state, SPAN_LIT(m1), HDR_E_NUL);
	expect_err(*state, SPAN_LIT(m2), HDR_E_NUL);
	expect_err(*state, SPAN_LIT(m3), HDR_E_NUL);
}

/* The fields and an empty body ending the message (header_len == len). */
static void
expect_header_only(struct fixture *f, span msg, size_t nf, const char *last)
{
	assert_int_equal(split(f, msg), HDR_OK);
	assert_int_equal(f->m.nf, nf);
	assert_span(f->m.f[nf - 1].raw, last);
	assert_int_equal(f->m.header_len, msg.len);
	assert_int_equal(f->m.body.len, 0);
	assert_ptr_equal(f->m.body.p, msg.p + msg.len);
}

/*
 * RFC 5322 §3.5: a message may be header fields alone, without the empty
 * line; its body is empty, and the last line may lack its line ending.
 */
static void
t_hdr_split_header_only(void **state)
{
	struct fixture *f = *state;

	expect_header_only(f, SPAN_LIT("From: a\r\n"), 1, "From: a");
	assert_true(f->m.crlf);
	expect_header_only(f, SPAN_LIT("From: a"), 1, "From: a");
	assert_false(f->m.crlf);
	expect_header_only(f, SPAN_LIT("From: a\nTo: b\n"), 2, "To: b");
	expect_header_only(f, SPAN_LIT("From: a\r\nTo: b"), 2, "To: b");
	expect_header_only(f, SPAN_LIT("From: a\r\nTo: b\r\n\r"), 2, "To: b");
	expect_header_only(f, SPAN_LIT("From: a\r\n "), 1, "From: a\r\n ");
	expect_header_only(
	    f, SPAN_LIT("From: a\r\n b\r\n"), 1, "From: a\r\n b");
	/* Still refused: a last line that is no field. */
	expect_err(f, SPAN_LIT("From: a\r\nnot a field"), HDR_E_NOCOLON);
}

static void
t_hdr_split_err_continuation_first(void **state)
{
	expect_err(*state, SPAN_LIT(" From: a\r\n\r\n"), HDR_E_NAME);
	expect_err(*state, SPAN_LIT("\tFrom: a\n\n"), HDR_E_NAME);
}

static void
t_hdr_split_limit_fields(void **state)
{
	struct fixture *f = *state;
	static const char msg[] = "A: 1\r\nB: 2\r\nC: 3\r\n\r\n";

	f->lim.max_header_fields = 3;
	assert_int_equal(split(f, SPAN_LIT(msg)), HDR_OK);
	assert_int_equal(f->m.nf, 3);
	f->lim.max_header_fields = 2;
	expect_err(f, SPAN_LIT(msg), HDR_E_LIMIT);
}

/* The limit covers a field with all its continuation lines. */
static void
t_hdr_split_limit_field_bytes(void **state)
{
	struct fixture *f = *state;
	static const char msg[] = "A: 1\r\nS: 12\r\n 34\r\n 56\r\nB: 2\r\n\r\n";

	f->lim.max_field_bytes = 100;
	assert_int_equal(split(f, SPAN_LIT(msg)), HDR_OK);
	assert_span(f->m.f[1].raw, "S: 12\r\n 34\r\n 56");
	/* Every line of S is short; the folded whole is 17 bytes. */
	f->lim.max_field_bytes = 14;
	expect_err(f, SPAN_LIT(msg), HDR_E_LIMIT);
}

static void
t_hdr_split_limit_msg_bytes(void **state)
{
	struct fixture *f = *state;
	static const char msg[] = "A: 1\r\n\r\nbody";

	f->lim.max_msg_bytes = sizeof(msg) - 1;
	assert_int_equal(split(f, SPAN_LIT(msg)), HDR_OK);
	f->lim.max_msg_bytes = sizeof(msg) - 2;
	expect_err(f, SPAN_LIT(msg), HDR_E_LIMIT);
}

/* Arena exhaustion is reported, never a crash. */
static void
t_hdr_split_nomem(void **state)
{
	struct fixture *f = *state;
	struct arena small;

	arena_init(&small, fake_alloc_get(), 1024, 64);
	assert_int_equal(hdr_split(SPAN_LIT("A: 1\r\n\r\n"), &f->lim, &small,
	                     &f->m, f->err, sizeof(f->err)),
	    HDR_E_NOMEM);
	arena_fini(&small);
	arena_init(&small, fake_alloc_get(), 1024, 1 << 20);
	fake_alloc_fail_after(0);
	assert_int_equal(hdr_split(SPAN_LIT("A: 1\r\n\r\n"), &f->lim, &small,
	                     &f->m, f->err, sizeof(f->err)),
	    HDR_E_NOMEM);
	fake_alloc_reset();
	arena_fini(&small);
}

static double
seconds_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* 100,000 fields: refused at the default limit, linear when allowed. */
static void
t_hdr_split_many_fields(void **state)
{
	struct fixture *f = *state;
	size_t n = 100000, i, len = 0;
	char *msg = malloc(n * 8 + 3);
	struct timespec t0;

	assert_non_null(msg);
	for (i = 0; i < n; i++) {
		memcpy(msg + len, "X: abc\r\n", 8);
		len += 8;
	}
	memcpy(msg + len, "\r\nb", 3);
	len += 3;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	expect_err(f, span_make(msg, len), HDR_E_LIMIT);
	f->lim.max_header_fields = n;
	assert_int_equal(split(f, span_make(msg, len)), HDR_OK);
	assert_int_equal(f->m.nf, n);
	assert_span(f->m.f[n - 1].raw, "X: abc");
	assert_span(f->m.body, "b");
	f->lim.max_header_fields = n - 1;
	expect_err(f, span_make(msg, len), HDR_E_LIMIT);
	/* Generous: sanitizer builds are slow, a quadratic split is not. */
	assert_true(seconds_since(&t0) < 2.0);
	free(msg);
}

/* A 1 MB single line is refused by max_field_bytes, not scanned twice. */
static void
t_hdr_split_huge_line(void **state)
{
	struct fixture *f = *state;
	size_t n = (size_t)1 << 20;
	char *msg = malloc(n + 8);
	struct timespec t0;

	assert_non_null(msg);
	memcpy(msg, "X: ", 3);
	memset(msg + 3, 'a', n);
	memcpy(msg + 3 + n, "\r\n\r\n", 4);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	expect_err(f, span_make(msg, n + 7), HDR_E_LIMIT);
	/* Without a line end at all: the same limit. */
	expect_err(f, span_make(msg, n + 3), HDR_E_LIMIT);
	/* A continuation line that long hits the same limit. */
	memcpy(msg, "X:\r\n", 4);
	expect_err(f, span_make(msg, n + 7), HDR_E_LIMIT);
	assert_true(seconds_since(&t0) < 2.0);
	free(msg);
}

static void
t_hdr_res_str_all(void **state)
{
	hdr_res r;

	(void)state;
	for (r = HDR_OK; r <= HDR_E_NOMEM; r++) {
		assert_non_null(hdr_res_str(r));
		assert_string_not_equal(hdr_res_str(r), "unknown");
	}
	assert_string_equal(hdr_res_str(HDR_OK), "ok");
}

/* ---- hdr_addr_list ------------------------------------------------- */

/*
 * value must hold exactly the addresses in want (NULL-terminated), in
 * order.
 */
static void
expect_addrs(struct fixture *f, const char *value, const char *const *want)
{
	span addrs[8];
	size_t n, nwant = 0, i;

	while (want[nwant] != NULL)
		nwant++;
	n = hdr_addr_list(span_cstr(value), &f->ar, addrs, 8);
	if (n != nwant)
		fail_msg("\"%s\": %zu addresses, want %zu", value, n, nwant);
	for (i = 0; i < n; i++)
		assert_span(addrs[i], want[i]);
}

#define ADDRS(f, v, ...)                                               \
	do {                                                           \
		static const char *const w_[] = { __VA_ARGS__, NULL }; \
		expect_addrs(f, v, w_);                                \
	} while (0)

static void
t_hdr_addr_list_plain(void **state)
{
	struct fixture *f = *state;

	ADDRS(f, "a@example.com", "a@example.com");
	ADDRS(f, " a@example.com ", "a@example.com");
	ADDRS(f, "a @ example.com", "a@example.com");
	ADDRS(f, " <a@example.com>", "a@example.com");
}

static void
t_hdr_addr_list_display_name(void **state)
{
	struct fixture *f = *state;

	ADDRS(f, "Alice <alice@example.com>", "alice@example.com");
	ADDRS(
	    f, "Alice Q. Public\r\n <alice@example.com>", "alice@example.com");
	ADDRS(f, "\"Smith, John\" <js@example.com>", "js@example.com");
	ADDRS(f, "\"a\\\"b\" <x@y.example>", "x@y.example");
	/* An address in the display name is not the address. */
	ADDRS(f, "\"ceo@bank.example\" <x@evil.example>", "x@evil.example");
	ADDRS(f, "ceo@bank.example <x@evil.example>", "x@evil.example");
	ADDRS(f, "\"<a@b.example>\" <x@evil.example>", "x@evil.example");
}

static void
t_hdr_addr_list_quoted_local(void **state)
{
	struct fixture *f = *state;

	ADDRS(f, "\"a@b\"@example.com", "\"a@b\"@example.com");
	ADDRS(f, "<\"john doe\"@example.com>", "\"john doe\"@example.com");
	ADDRS(f, "\"a,b\"@example.com, c@d.example", "\"a,b\"@example.com",
	    "c@d.example");
}

static void
t_hdr_addr_list_comments(void **state)
{
	struct fixture *f = *state;

	ADDRS(f, "alice@example.com (Alice)", "alice@example.com");
	ADDRS(
	    f, "alice@example.com (Alice (the (great)))", "alice@example.com");
	ADDRS(
	    f, "(x@evil.example) alice(c)@(d)example.com", "alice@example.com");
	ADDRS(f, "(a \\) b) <alice@example.com>", "alice@example.com");
	ADDRS(f, "Alice <alice@example.com> (x@evil.example)",
	    "alice@example.com");
}

static void
t_hdr_addr_list_groups(void **state)
{
	struct fixture *f = *state;
	span a[2];

	assert_int_equal(
	    hdr_addr_list(SPAN_LIT("undisclosed-recipients:;"), &f->ar, a, 2),
	    0);
	ADDRS(f, "friends: a@b.example, Dee <d@e.example>;", "a@b.example",
	    "d@e.example");
	ADDRS(
	    f, "team: a@b.example;, c@d.example", "a@b.example", "c@d.example");
}

static void
t_hdr_addr_list_multiple(void **state)
{
	struct fixture *f = *state;
	span a[1];

	ADDRS(f, "a@b.example, Bob <d@e.example>, \"x\" <g@h.example>",
	    "a@b.example", "d@e.example", "g@h.example");
	ADDRS(
	    f, "a@b.example,\r\n\tc@d.example,", "a@b.example", "c@d.example");
	/* More than max: all are counted, max are stored. */
	assert_int_equal(
	    hdr_addr_list(SPAN_LIT("a@b.x, c@d.y, e@f.z"), &f->ar, a, 1), 3);
	assert_span(a[0], "a@b.x");
}

/* Nothing that is an address: zero, not an error. */
static void
t_hdr_addr_list_none(void **state)
{
	struct fixture *f = *state;
	span a[1];

	assert_int_equal(hdr_addr_list(SPAN_LIT(""), &f->ar, a, 1), 0);
	assert_int_equal(hdr_addr_list(SPAN_LIT("  "), &f->ar, a, 1), 0);
	assert_int_equal(hdr_addr_list(SPAN_LIT("Alice"), &f->ar, a, 1), 0);
	assert_int_equal(
	    hdr_addr_list(SPAN_LIT("(just a comment)"), &f->ar, a, 1), 0);
}

static void
t_hdr_addr_list_malformed(void **state)
{
	struct fixture *f = *state;
	static const char *const bad[] = {
		"\"unbalanced@example.com",
		"a@b.example, \"x <c@d.example>",
		"<a@example.com",
		"a@example.com>",
		"Alice <<a@example.com>>",
		"<a@b.example, c@d.example>",
		"(unclosed comment a@example.com",
		"((a) a@example.com",
		"<a@b.example> <c@d.example>",
		"<a@b.example> x@y.example",
		"Alice <a@b.example> \"quoted\"",
	};
	span a[4];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (hdr_addr_list(span_cstr(bad[i]), &f->ar, a, 4) != SIZE_MAX)
			fail_msg("accepted \"%s\"", bad[i]);
}

static void
t_hdr_addr_list_nomem(void **state)
{
	struct arena small;
	span a[1];

	(void)state;
	arena_init(&small, fake_alloc_get(), 1024, 0);
	assert_int_equal(hdr_addr_list(SPAN_LIT("a@b.example"), &small, a, 1),
	    HDR_ADDR_NOMEM);
	arena_fini(&small);
}

static void
t_hdr_addr_domain_forms(void **state)
{
	(void)state;
	assert_span(hdr_addr_domain(SPAN_LIT("a@example.com")), "example.com");
	assert_span(
	    hdr_addr_domain(SPAN_LIT("\"a@b\"@example.com")), "example.com");
	assert_span(hdr_addr_domain(SPAN_LIT("a@")), "");
	assert_span(hdr_addr_domain(SPAN_LIT("nodomain")), "");
	assert_span(hdr_addr_domain(SPAN_LIT("")), "");
	assert_span(hdr_addr_domain(SPAN_LIT("@x")), "x");
}

/* Host names as RFC 5321 §4.1.2 spells them; everything else refused. */
static void
t_hdr_domain_is_host_forms(void **state)
{
	static const char *const good[] = { "example.com", "a", "A-1.b2.C",
		"xn--bcher-kva.example", "1.2.3.4", "a.b-c.d", NULL };
	static const char *const bad[] = { "", ".", "a..b", ".a", "a.", "../x",
		"a/b", "-a.b", "a-.b", "a.-b", "a.b-", "a_b.example",
		"[192.0.2.1]", "a b", "a%b",
		"b\xc3\xbc"
		"cher.example",
		"a\\b", "a\rb", NULL };
	char label[80], name[300];
	size_t i;

	(void)state;
	for (i = 0; good[i] != NULL; i++)
		if (!hdr_domain_is_host(span_cstr(good[i])))
			fail_msg("\"%s\" refused", good[i]);
	for (i = 0; bad[i] != NULL; i++)
		if (hdr_domain_is_host(span_cstr(bad[i])))
			fail_msg("\"%s\" accepted", bad[i]);
	/* RFC 1035 §2.3.4: labels of 63 octets, names of 253. */
	memset(label, 'a', 64);
	assert_true(hdr_domain_is_host(span_make(label, 63)));
	assert_false(hdr_domain_is_host(span_make(label, 64)));
	for (i = 0; i < 253; i++)
		name[i] = i % 2 == 1 ? '.' : 'a';
	assert_true(hdr_domain_is_host(span_make(name, 253)));
	name[253] = '.';
	name[254] = 'a';
	assert_false(hdr_domain_is_host(span_make(name, 255)));
	assert_false(hdr_domain_is_host(span_make("a\0b", 3)));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(t_hdr_split_crlf),
		T(t_hdr_split_lf),
		T(t_hdr_split_folded),
		T(t_hdr_split_empty_value),
		T(t_hdr_split_wsp_before_colon),
		T(t_hdr_split_colon_in_value),
		T(t_hdr_split_no_fields),
		T(t_hdr_find_duplicates),
		T(t_hdr_split_err_empty),
		T(t_hdr_split_err_nocolon),
		T(t_hdr_split_err_name),
		T(t_hdr_split_err_nul),
		T(t_hdr_split_header_only),
		T(t_hdr_split_err_continuation_first),
		T(t_hdr_split_limit_fields),
		T(t_hdr_split_limit_field_bytes),
		T(t_hdr_split_limit_msg_bytes),
		T(t_hdr_split_nomem),
		T(t_hdr_split_many_fields),
		T(t_hdr_split_huge_line),
		T(t_hdr_res_str_all),
		T(t_hdr_addr_list_plain),
		T(t_hdr_addr_list_display_name),
		T(t_hdr_addr_list_quoted_local),
		T(t_hdr_addr_list_comments),
		T(t_hdr_addr_list_groups),
		T(t_hdr_addr_list_multiple),
		T(t_hdr_addr_list_none),
		T(t_hdr_addr_list_malformed),
		T(t_hdr_addr_list_nomem),
		T(t_hdr_addr_domain_forms),
		T(t_hdr_domain_is_host_forms),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
