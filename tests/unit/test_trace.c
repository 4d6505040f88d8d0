#include "core/trace.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

/*
 * The envelope from trace fields (hanko dmarc --trust-received): the
 * from-clause forms that Postfix, Sendmail and Exim write, and inputs
 * that must be refused rather than half-read.
 */

static void
expect_rcvd(const char *v, const char *helo, const char *ip)
{
	span h = SPAN_LIT("unset"), a = SPAN_LIT("unset");

	assert_true(trace_received(span_cstr(v), &h, &a));
	assert_true(span_eq(h, span_cstr(helo)));
	assert_true(span_eq(a, span_cstr(ip)));
}

static void
test_postfix(void **state)
{
	(void)state;
	expect_rcvd("from mail.example.com (mail.example.com [192.0.2.1])\r\n"
	            "\tby mx.example.net (Postfix) with ESMTPS id 4Xy; "
	            "Sat, 28 Nov 2026 10:00:00 +0000",
	    "mail.example.com", "192.0.2.1");
	/* The HELO name differs from the reverse DNS name: HELO first. */
	expect_rcvd(" from helo.example (rdns.example [198.51.100.7]) by mx",
	    "helo.example", "198.51.100.7");
	/* Unknown reverse DNS, IPv6 tagged as RFC 5321 writes it. */
	expect_rcvd("from h.example (unknown [IPv6:2001:db8::25]) by mx; x",
	    "h.example", "2001:db8::25");
}

/*
 * The client chooses its HELO, "[192.0.2.9]" included: the address must
 * come from the comment the receiving MTA wrote.
 */
static void
test_helo_literal(void **state)
{
	(void)state;
	expect_rcvd("from [192.0.2.9] (unknown [198.51.100.7]) by mx (Postfix)",
	    "", "198.51.100.7");
	expect_rcvd("from [IPv6:2001:db8::9] (h.example [IPv6:2001:db8::7])"
	            " by mx",
	    "", "2001:db8::7");
	/* A comment with nested parentheses before the address. */
	expect_rcvd("from h.example (rdns.example (x) [198.51.100.8]) by mx",
	    "h.example", "198.51.100.8");
}

static void
test_exim(void **state)
{
	(void)state;
	expect_rcvd("from rdns.example ([192.0.2.9]:41122 helo=helo.example)\n"
	            " by mx.example.net with esmtps (Exim 4.96)",
	    "helo.example", "192.0.2.9");
	expect_rcvd("from [192.0.2.10] (helo=bare.example) by mx with smtp",
	    "bare.example", "192.0.2.10");
	/* No helo= and a bare address: no HELO name to offer. */
	expect_rcvd("from [192.0.2.11] by mx with smtp", "", "192.0.2.11");
}

static void
test_refused(void **state)
{
	span h, a;

	(void)state;
	/* No from-clause (a local submission), no address, unclosed. */
	assert_false(trace_received(
	    span_cstr("by mx.example.net with local id 1"), &h, &a));
	assert_false(trace_received(
	    span_cstr("from mail.example.com by mx.example.net"), &h, &a));
	assert_false(
	    trace_received(span_cstr("from x (y [192.0.2.1 by mx"), &h, &a));
	/* A bracket after "by" belongs to the receiving host: not ours. */
	assert_false(
	    trace_received(span_cstr("from x (y) by mx [192.0.2.1]"), &h, &a));
	assert_false(trace_received(span_cstr(""), &h, &a));
	assert_false(trace_received(span_cstr("from"), &h, &a));
}

static void
test_return_path(void **state)
{
	span a;

	(void)state;
	assert_true(trace_return_path(span_cstr(" <bounce@example.com>"), &a));
	assert_true(span_eq(a, span_cstr("bounce@example.com")));
	assert_true(trace_return_path(span_cstr("<>"), &a));
	assert_int_equal(a.len, 0);
	assert_false(trace_return_path(span_cstr("bounce@example.com"), &a));
	assert_false(trace_return_path(span_cstr("<bounce@example.com"), &a));
	assert_false(trace_return_path(span_cstr(""), &a));
	/* CFWS before the angle-addr. */
	assert_true(
	    trace_return_path(span_cstr(" (bounces (x)) <b@example.com>"), &a));
	assert_true(span_eq(a, span_cstr("b@example.com")));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_postfix),
		cmocka_unit_test(test_helo_literal),
		cmocka_unit_test(test_exim),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_return_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
