#include "core/sidecar.h"

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
#include "tests/fake/fake_alloc.h"

/*
 * The NAME.env sidecar: the line reader both consumers share, and the
 * strict envelope reader delivery uses (every rule, and the line named
 * when one is broken), at every truncation and with a failing arena.
 */

static struct arena ar;

static int
setup(void **state)
{
	(void)state;
	fake_alloc_reset();
	arena_init(&ar, fake_alloc_get(), 1024, 1 << 20);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	arena_fini(&ar);
	return fake_alloc_live() == 0 ? 0 : -1;
}

static sidecar_res
parse(const char *text, struct sidecar_env *env, char *err, size_t errlen)
{
	err[0] = '\0';
	return sidecar_envelope(span_cstr(text), &ar, env, err, errlen);
}

static void
assert_span(span s, const char *want)
{
	assert_int_equal(s.len, strlen(want));
	assert_memory_equal(s.p, want, s.len);
}

static void
test_envelope(void **state)
{
	struct sidecar_env e;
	char err[160];

	(void)state;
	assert_int_equal(parse("# campaign 7\r\nmail-from=<bounce+7@a.example>"
	                       "\r\nrcpt=one@b.example\r\n\r\nrcpt = <two@c."
	                       "example> \r\nip=192.0.2.1\r\nhelo=x\r\n",
	                     &e, err, sizeof(err)),
	    SIDECAR_OK);
	assert_span(e.mail_from, "bounce+7@a.example");
	assert_int_equal(e.nrcpt, 2);
	assert_span(e.rcpt[0], "one@b.example");
	assert_span(e.rcpt[1], "two@c.example");
	/* The null sender, both ways; no final newline. */
	assert_int_equal(parse("mail-from=<>\nrcpt=x@y", &e, err, sizeof(err)),
	    SIDECAR_OK);
	assert_int_equal(e.mail_from.len, 0);
	assert_int_equal(parse("mail-from=\nrcpt=x@y\n", &e, err, sizeof(err)),
	    SIDECAR_OK);
	assert_int_equal(e.mail_from.len, 0);
	/* UTF-8 (SMTPUTF8) passes. */
	assert_int_equal(parse("mail-from=a@b\nrcpt=\xc3\xa9l\xc3\xa8ve@\xc3\xa9"
	                       "cole.example\n",
	                     &e, err, sizeof(err)),
	    SIDECAR_OK);
}

static void
expect_bad(const char *text, const char *want_err)
{
	struct sidecar_env e;
	char err[160];

	if (parse(text, &e, err, sizeof(err)) == SIDECAR_OK)
		fail_msg("accepted: %s", text);
	if (strstr(err, want_err) == NULL)
		fail_msg("for %s: error \"%s\", want \"%s\"", text, err,
		    want_err);
}

static void
test_bad(void **state)
{
	(void)state;
	expect_bad("mail-from=a@b\nrcpt one@b\n", "line 2: no '='");
	expect_bad("mail-from=a@b\n=x\n", "line 2: invalid key");
	expect_bad("mail-from=a@b\nrc pt=x@y\n", "line 2: invalid key");
	expect_bad("mail-from=a@b\nmail-from=c@d\nrcpt=x@y\n",
	    "line 2: a second mail-from=");
	expect_bad("rcpt=x@y\n", "no mail-from= line");
	expect_bad("mail-from=a@b\n# rcpt=x@y\n", "no rcpt= line");
	expect_bad("mail-from=a@b\nrcpt=\n", "line 2: rcpt= is not");
	expect_bad("mail-from=a@b\nrcpt=<>\n", "line 2: rcpt=<> is not");
	/* Nothing that could end or extend an SMTP command. */
	expect_bad("mail-from=a@b\nrcpt=x@y>SIZE=1\n", "line 2:");
	expect_bad("mail-from=a@b\nrcpt=x@y\rRSET\n", "line 2:");
	expect_bad("mail-from=a b@c\nrcpt=x@y\n", "line 1:");
	expect_bad("mail-from=a@b\nrcpt=x\x01@y\n", "line 2:");
	expect_bad("mail-from=a@b\nrcpt=x\x7f@y\n", "line 2:");
	expect_bad("mail-from=<a@b\nrcpt=x@y\n", "line 1:");
}

static void
test_nul_and_limits(void **state)
{
	static const char nul[] = "mail-from=a@b\nrcpt=x\0@y\n";
	struct sidecar_env e;
	char err[160], *big;
	size_t i, off = 0;

	(void)state;
	assert_int_equal(sidecar_envelope(span_make(nul, sizeof(nul) - 1), &ar,
	                     &e, err, sizeof(err)),
	    SIDECAR_E_SYNTAX);
	assert_non_null(strstr(err, "line 2: NUL"));
	/* SIDECAR_RCPT_MAX recipients pass, one more does not. */
	big = malloc(64 + (SIDECAR_RCPT_MAX + 1) * 32);
	assert_non_null(big);
	off = (size_t)sprintf(big, "mail-from=a@b\n");
	for (i = 0; i < SIDECAR_RCPT_MAX; i++)
		off += (size_t)sprintf(big + off, "rcpt=r%zu@x.example\n", i);
	assert_int_equal(parse(big, &e, err, sizeof(err)), SIDECAR_OK);
	assert_int_equal(e.nrcpt, SIDECAR_RCPT_MAX);
	sprintf(big + off, "rcpt=one-more@x.example\n");
	assert_int_equal(parse(big, &e, err, sizeof(err)), SIDECAR_E_LIMIT);
	free(big);
	/* An address longer than SMTP allows. */
	big = malloc(SIDECAR_ADDR_MAX + 64);
	assert_non_null(big);
	off = (size_t)sprintf(big, "mail-from=a@b\nrcpt=");
	memset(big + off, 'a', SIDECAR_ADDR_MAX + 1);
	strcpy(big + off + SIDECAR_ADDR_MAX + 1, "\n");
	assert_int_equal(parse(big, &e, err, sizeof(err)), SIDECAR_E_SYNTAX);
	free(big);
}

/* Every prefix parses or fails cleanly; a failing arena is NOMEM. */
static void
test_truncated_and_nomem(void **state)
{
	static const char text[] = "# c\nmail-from=<a@b>\nrcpt=x@y\nrcpt=z@w\n";
	struct sidecar_env e;
	char err[160];
	size_t n;
	sidecar_res r;

	(void)state;
	for (n = 0; n <= sizeof(text) - 1; n++) {
		r = sidecar_envelope(span_make(text, n), &ar, &e, err,
		    sizeof(err));
		assert_true(r == SIDECAR_OK || r == SIDECAR_E_SYNTAX);
		arena_reset(&ar);
	}
	arena_fini(&ar);
	fake_alloc_reset();
	arena_init(&ar, fake_alloc_get(), 1024, 1 << 20);
	fake_alloc_fail_after(0);
	assert_int_equal(parse(text, &e, err, sizeof(err)), SIDECAR_E_NOMEM);
	fake_alloc_reset();
}

/* The lenient reader goes past a bad line to the next. */
static void
test_iter(void **state)
{
	struct sidecar_iter it;
	struct sidecar_line l;
	char err[160];

	(void)state;
	sidecar_iter_init(&it, span_cstr("junk\nip = 192.0.2.1\n"));
	assert_int_equal(sidecar_next(&it, &l, err, sizeof(err)),
	    SIDECAR_E_SYNTAX);
	assert_int_equal(sidecar_next(&it, &l, err, sizeof(err)), SIDECAR_OK);
	assert_span(l.key, "ip");
	assert_span(l.value, "192.0.2.1");
	assert_int_equal(l.lineno, 2);
	assert_int_equal(sidecar_next(&it, &l, err, sizeof(err)), SIDECAR_END);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_envelope, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_nul_and_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_truncated_and_nomem, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iter, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
