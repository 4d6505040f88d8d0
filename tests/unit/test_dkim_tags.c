#include "core/dkim_tags.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/arena.h"
#include "tests/fake/fake_alloc.h"

/* RFC 6376 §3.2 tag=value lists. */

struct fixture {
	struct arena ar;
	struct dkim_tags tl;
	char err[160];
};

static int
setup(void **state)
{
	static struct fixture f;

	fake_alloc_reset();
	arena_init(&f.ar, fake_alloc_get(), 4096, 1 << 20);
	memset(&f.tl, 0, sizeof(f.tl));
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

static dkim_tags_res
parse(struct fixture *f, const char *in, size_t max)
{
	return dkim_tags_parse(
	    span_cstr(in), max, &f->ar, &f->tl, f->err, sizeof(f->err));
}

static void
expect_ok(struct fixture *f, const char *in, size_t n)
{
	dkim_tags_res r = parse(f, in, 64);

	if (r != DKIM_TAGS_OK)
		fail_msg("\"%s\": %s (%s)", in, dkim_tags_res_str(r), f->err);
	assert_int_equal(f->tl.n, n);
}

/* Fails with r, says so in err, and leaves the output alone. */
static void
expect_err(struct fixture *f, const char *in, size_t max, dkim_tags_res r)
{
	f->err[0] = '\0';
	f->tl.n = 999;
	if (parse(f, in, max) != r)
		fail_msg("\"%s\": want %s", in, dkim_tags_res_str(r));
	assert_true(strlen(f->err) > 0);
	assert_int_equal(f->tl.n, 999);
}

static void
expect_tag(const struct dkim_tags *tl, const char *name, const char *want)
{
	const span *v = dkim_tags_get(tl, name);

	if (v == NULL)
		fail_msg("no tag %s", name);
	if (!span_eq(*v, span_cstr(want)))
		fail_msg("%s=\"%.*s\", want \"%s\"", name, (int)v->len,
		    (const char *)v->p, want);
}

static void
t_dkim_tags_parse_basic(void **state)
{
	struct fixture *f = *state;

	expect_ok(f, "v=1; a=rsa-sha256; d=example.com; s=sel", 4);
	expect_tag(&f->tl, "v", "1");
	expect_tag(&f->tl, "a", "rsa-sha256");
	expect_tag(&f->tl, "d", "example.com");
	expect_tag(&f->tl, "s", "sel");
	/* Order is kept. */
	assert_true(span_eq(f->tl.t[0].name, SPAN_LIT("v")));
	assert_true(span_eq(f->tl.t[3].name, SPAN_LIT("s")));
	assert_null(dkim_tags_get(&f->tl, "b"));
	/* Tag names are case-sensitive (§3.2). */
	assert_null(dkim_tags_get(&f->tl, "V"));
}

static void
t_dkim_tags_parse_fws(void **state)
{
	struct fixture *f = *state;

	expect_ok(f, " v = 1 ;\r\n\ta =\r\n rsa-sha256 \t;\r\n d\t=x ", 3);
	expect_tag(&f->tl, "v", "1");
	expect_tag(&f->tl, "a", "rsa-sha256");
	expect_tag(&f->tl, "d", "x");
	expect_ok(f, "k=rsa;\n p=MIGf", 2);
	expect_tag(&f->tl, "p", "MIGf");
}

/* FWS inside a value stays; h=, b= and p= strip it themselves. */
static void
t_dkim_tags_parse_inner_fws_kept(void **state)
{
	struct fixture *f = *state;

	expect_ok(f, "b=abc\r\n def\r\n\tghi ; h=from : to", 2);
	expect_tag(&f->tl, "b", "abc\r\n def\r\n\tghi");
	expect_tag(&f->tl, "h", "from : to");
}

static void
t_dkim_tags_parse_trailing_semicolon(void **state)
{
	struct fixture *f = *state;

	expect_ok(f, "v=1;", 1);
	expect_ok(f, "v=1; \r\n ", 1);
	expect_ok(f, "v=1;; a=2", 2);
	expect_ok(f, "", 0);
	expect_ok(f, " ; ", 0);
}

static void
t_dkim_tags_parse_empty_values(void **state)
{
	struct fixture *f = *state;

	expect_ok(f, "v=; b= ;t=\r\n ", 3);
	expect_tag(&f->tl, "v", "");
	expect_tag(&f->tl, "b", "");
	expect_tag(&f->tl, "t", "");
}

/*
 * An empty TXT record reaches the parser as the NULL span: no tags, and
 * no arithmetic on the NULL pointer (UBSan checks it).
 */
static void
t_dkim_tags_parse_null_span(void **state)
{
	struct fixture *f = *state;
	span none = { NULL, 0 };

	assert_int_equal(
	    dkim_tags_parse(none, 64, &f->ar, &f->tl, f->err, sizeof(f->err)),
	    DKIM_TAGS_OK);
	assert_int_equal(f->tl.n, 0);
}

/* Only the first '=' separates; base64 padding is value. */
static void
t_dkim_tags_parse_equals_in_value(void **state)
{
	struct fixture *f = *state;

	expect_ok(f, "bh=abc==; z=a=b", 2);
	expect_tag(&f->tl, "bh", "abc==");
	expect_tag(&f->tl, "z", "a=b");
}

static void
t_dkim_tags_parse_8bit_value(void **state)
{
	struct fixture *f = *state;

	expect_ok(f, "n=caf\xc3\xa9", 1);
	expect_tag(&f->tl, "n", "caf\xc3\xa9");
}

static void
t_dkim_tags_parse_duplicate(void **state)
{
	struct fixture *f = *state;

	expect_err(f, "v=1; a=x; v=1", 64, DKIM_TAGS_E_DUP);
	assert_non_null(strstr(f->err, "v="));
	expect_err(f, "a=1; a = 2", 64, DKIM_TAGS_E_DUP);
	/* Names differing in case are different tags. */
	expect_ok(f, "a=1; A=2", 2);
}

static void
t_dkim_tags_parse_bad_name(void **state)
{
	struct fixture *f = *state;
	static const char *const bad[] = { "1v=1", "=1", " = 1", "v-x=1",
		"v x=1", "v.x=1", "_v=1", "v\x80=1", "v=1; @=2" };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_err(f, bad[i], 64, DKIM_TAGS_E_SYNTAX);
	/* ALNUMPUNC after the first letter: digits and '_'. */
	expect_ok(f, "x1_b=1", 1);
	expect_tag(&f->tl, "x1_b", "1");
}

static void
t_dkim_tags_parse_missing_equals(void **state)
{
	struct fixture *f = *state;

	expect_err(f, "v=1; a", 64, DKIM_TAGS_E_SYNTAX);
	expect_err(f, "v", 64, DKIM_TAGS_E_SYNTAX);
	expect_err(f, "v 1; a=b", 64, DKIM_TAGS_E_SYNTAX);
}

static void
t_dkim_tags_parse_bad_value(void **state)
{
	struct fixture *f = *state;

	expect_err(f, "a=b\x01c", 64, DKIM_TAGS_E_SYNTAX);
	expect_err(f, "a=b\x7f", 64, DKIM_TAGS_E_SYNTAX);
	expect_err(f, "a=b\x0b", 64, DKIM_TAGS_E_SYNTAX);
}

static void
t_dkim_tags_parse_nul(void **state)
{
	struct fixture *f = *state;
	static const char in[] = "a=b\0c; d=e";

	f->err[0] = '\0';
	assert_int_equal(dkim_tags_parse(SPAN_LIT(in), 64, &f->ar, &f->tl,
	                     f->err, sizeof(f->err)),
	    DKIM_TAGS_E_SYNTAX);
	assert_true(strlen(f->err) > 0);
}

static void
t_dkim_tags_parse_limit(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(parse(f, "a=1; b=2; c=3", 3), DKIM_TAGS_OK);
	assert_int_equal(f->tl.n, 3);
	assert_int_equal(parse(f, "a=1; b=2; c=3;", 3), DKIM_TAGS_OK);
	expect_err(f, "a=1; b=2; c=3; d=4", 3, DKIM_TAGS_E_LIMIT);
	expect_err(f, "a=1", 0, DKIM_TAGS_E_LIMIT);
	expect_err(f, "a=1;b=2;c=3;d=4;e=5;f=6;g=7;h=8", 3, DKIM_TAGS_E_LIMIT);
}

static void
t_dkim_tags_parse_nomem(void **state)
{
	struct fixture *f = *state;
	struct arena small;

	arena_init(&small, fake_alloc_get(), 1024, 0);
	assert_int_equal(dkim_tags_parse(SPAN_LIT("v=1"), 64, &small, &f->tl,
	                     f->err, sizeof(f->err)),
	    DKIM_TAGS_E_NOMEM);
	arena_fini(&small);
	arena_init(&small, fake_alloc_get(), 1024, 1 << 20);
	fake_alloc_fail_after(0);
	assert_int_equal(dkim_tags_parse(SPAN_LIT("v=1"), 64, &small, &f->tl,
	                     f->err, sizeof(f->err)),
	    DKIM_TAGS_E_NOMEM);
	fake_alloc_reset();
	arena_fini(&small);
}

/* The values point into the input; nothing is copied. */
static void
t_dkim_tags_parse_zero_copy(void **state)
{
	struct fixture *f = *state;
	static const char in[] = "v=1; d=example.com";

	assert_int_equal(dkim_tags_parse(SPAN_LIT(in), 64, &f->ar, &f->tl,
	                     f->err, sizeof(f->err)),
	    DKIM_TAGS_OK);
	assert_ptr_equal(dkim_tags_get(&f->tl, "d")->p, in + 7);
	assert_ptr_equal(f->tl.t[0].name.p, in);
}

/* The RFC 6376 Appendix A.2 signature value parses as published. */
static void
t_dkim_tags_parse_rfc6376_a2(void **state)
{
	struct fixture *f = *state;
	static const char sig[] =
	    " v=1; a=rsa-sha256; s=brisbane; d=example.com;\r\n"
	    "      c=simple/simple; q=dns/txt; i=joe@football.example.com;\r\n"
	    "      h=Received : From : To : Subject : Date : Message-ID;\r\n"
	    "      bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
	    "      b=AuUoFEfDxTDkHlLXSZEpZj79LICEps6eda7W3deTVFOk4yAUoqOB\r\n"
	    "      4nujc7YopdG5dWLSdNg6xNAZpOPr+kHxt1IrE+NahM6L/LbvaHut\r\n"
	    "      KVdkLLkpVaVVQPzeRDI009SO2Il5Lu7rDNH6mZckBdrIx0orEtZV\r\n"
	    "      4bmp/YzhwvcubU4=;";

	expect_ok(f, sig, 10);
	expect_tag(&f->tl, "s", "brisbane");
	expect_tag(&f->tl, "i", "joe@football.example.com");
	expect_tag(
	    &f->tl, "h", "Received : From : To : Subject : Date : Message-ID");
	expect_tag(
	    &f->tl, "bh", "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=");
	assert_true(dkim_tags_get(&f->tl, "b")->len > 100);
}

static void
t_dkim_tags_res_str_all(void **state)
{
	dkim_tags_res r;

	(void)state;
	for (r = DKIM_TAGS_OK; r <= DKIM_TAGS_E_NOMEM; r++)
		assert_string_not_equal(dkim_tags_res_str(r), "unknown");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(t_dkim_tags_parse_basic),
		T(t_dkim_tags_parse_fws),
		T(t_dkim_tags_parse_inner_fws_kept),
		T(t_dkim_tags_parse_trailing_semicolon),
		T(t_dkim_tags_parse_empty_values),
		T(t_dkim_tags_parse_null_span),
		T(t_dkim_tags_parse_equals_in_value),
		T(t_dkim_tags_parse_8bit_value),
		T(t_dkim_tags_parse_duplicate),
		T(t_dkim_tags_parse_bad_name),
		T(t_dkim_tags_parse_missing_equals),
		T(t_dkim_tags_parse_bad_value),
		T(t_dkim_tags_parse_nul),
		T(t_dkim_tags_parse_limit),
		T(t_dkim_tags_parse_nomem),
		T(t_dkim_tags_parse_zero_copy),
		T(t_dkim_tags_parse_rfc6376_a2),
		T(t_dkim_tags_res_str_all),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
