/*
 * Unit tests for tools/cli_table.c: OpenDKIM KeyTable and SigningTable
 * files written to a temporary directory.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "tools/cli_table.h"

#define NREF 8
#define NBIG 100000

static char tmpdir[64];
static char kpath[128], spath[128];
static struct cli_key_ref refs[NREF];

static const char keytable[] =
    "# OpenDKIM KeyTable\n"
    "\n"
    "rsa     example.com:sel1:/etc/keys/rsa.pem   # trailing comment\n"
    "ed      example.com:sel2:./keys/ed.pem\n"
    "sub\tsub.example.com:s3:/k/sub.pem\n"
    "any     %:default:/etc/keys/%.pem\n"
    "user    example.com:u:../u.pem\n"
    "example.org  example.org:org:/k/org.pem\n";

static void
write_file(char *path, size_t cap, const char *name, const char *text)
{
	FILE *fp;

	snprintf(path, cap, "%s/%s", tmpdir, name);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_true(fputs(text, fp) >= 0);
	assert_int_equal(fclose(fp), 0);
}

static struct cli_keytable *
load_kt(void)
{
	struct cli_keytable *kt = NULL;
	char err[256];

	write_file(kpath, sizeof(kpath), "KeyTable", keytable);
	if (cli_keytable_load(kpath, &kt, err, sizeof(err)) != 0)
		fail_msg("keytable: %s", err);
	return kt;
}

/* Load a signing table written from text; prefix is "", "file:", ... */
static struct cli_signtable *
load_st(const struct cli_keytable *kt, const char *prefix, const char *text)
{
	struct cli_signtable *st = NULL;
	char spec[160], err[256];

	write_file(spath, sizeof(spath), "SigningTable", text);
	snprintf(spec, sizeof(spec), "%s%s", prefix, spath);
	if (cli_signtable_load(spec, kt, &st, err, sizeof(err)) != 0)
		fail_msg("signtable: %s", err);
	return st;
}

static const char *
first_key(const struct cli_signtable *st, const struct cli_keytable *kt,
    const char *from)
{
	if (cli_signtable_match(st, kt, from, false, refs, NREF, NULL, 0) != 1)
		return NULL;
	return refs[0].name;
}

static void
t_cli_keytable_load_comments_blank(void **state)
{
	struct cli_keytable *kt;
	const struct cli_key_entry *e;

	(void)state;
	kt = load_kt();
	assert_int_equal(cli_keytable_count(kt), 6);
	e = cli_keytable_entry(kt, 0);
	assert_string_equal(e->name, "rsa");
	assert_string_equal(e->domain, "example.com");
	assert_string_equal(e->selector, "sel1");
	assert_string_equal(e->keypath, "/etc/keys/rsa.pem");
	assert_int_equal(e->line, 3);
	assert_string_equal(
	    cli_keytable_entry(kt, 2)->domain, "sub.example.com");
	assert_null(cli_keytable_entry(kt, 6));
	cli_keytable_free(kt);
}

static void
t_cli_keytable_load_malformed_line(void **state)
{
	struct cli_keytable *kt = NULL;
	char err[256], want[200];

	(void)state;
	write_file(kpath, sizeof(kpath), "BadKeys",
	    "# ok\nrsa example.com:s:/k.pem\nbroken example.com/s/k.pem\n");
	assert_int_equal(
	    cli_keytable_load(kpath, &kt, err, sizeof(err)), -EINVAL);
	assert_null(kt);
	snprintf(want, sizeof(want), "%s:3: ", kpath);
	assert_true(strncmp(err, want, strlen(want)) == 0);
	write_file(kpath, sizeof(kpath), "BadKeys", "lonely\n");
	assert_int_equal(
	    cli_keytable_load(kpath, &kt, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, ":1: missing value"));
}

static void
t_cli_keytable_load_inline_key(void **state)
{
	struct cli_keytable *kt = NULL;
	char err[256];

	(void)state;
	write_file(kpath, sizeof(kpath), "InlineKeys",
	    "k example.com:s:MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n");
	assert_int_equal(
	    cli_keytable_load(kpath, &kt, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, ":1: key \"k\": inline private keys"));
}

static void
t_cli_signtable_match_refile_order(void **state)
{
	struct cli_keytable *kt = load_kt();
	struct cli_signtable *st;

	(void)state;
	st = load_st(kt, "refile:",
	    "# first match wins\n"
	    "boss@example.com   user\n"
	    "*@sub.example.com  sub\n"
	    "*@*example.com     rsa\n"
	    "*@*example.com     ed\n"
	    "*                  any\n");
	assert_string_equal(first_key(st, kt, "boss@example.com"), "user");
	assert_string_equal(first_key(st, kt, "BOSS@Example.COM"), "user");
	assert_string_equal(first_key(st, kt, "x@sub.example.com"), "sub");
	assert_string_equal(first_key(st, kt, "x@example.com"), "rsa");
	assert_string_equal(first_key(st, kt, "x@notexample.com"), "rsa");
	assert_string_equal(first_key(st, kt, "x@other.net"), "any");
	assert_string_equal(refs[0].domain, "other.net");
	cli_signtable_free(st);
	cli_keytable_free(kt);
}

static void
t_cli_signtable_match_plain_order(void **state)
{
	struct cli_keytable *kt = load_kt();
	struct cli_signtable *st;

	(void)state;
	/* Lines are in reverse of OpenDKIM's lookup order on purpose. */
	st = load_st(kt, "",
	    "*                  any\n"
	    "boss@*             example.org\n"
	    ".example.com       ed\n"
	    "boss@.example.com  sub\n"
	    "example.com        rsa\n"
	    "boss@example.com   user\n");
	assert_string_equal(first_key(st, kt, "boss@example.com"), "user");
	assert_string_equal(first_key(st, kt, "other@example.com"), "rsa");
	assert_string_equal(first_key(st, kt, "boss@a.example.com"), "sub");
	assert_string_equal(first_key(st, kt, "other@a.example.com"), "ed");
	assert_string_equal(
	    first_key(st, kt, "boss@elsewhere.net"), "example.org");
	assert_string_equal(first_key(st, kt, "other@elsewhere.net"), "any");
	assert_int_equal(cli_signtable_match(
	                     st, kt, "no-at-sign", false, refs, NREF, NULL, 0),
	    0);
	cli_signtable_free(st);
	cli_keytable_free(kt);
}

static void
t_cli_signtable_match_subdomain(void **state)
{
	struct cli_keytable *kt = load_kt();
	struct cli_signtable *st;

	(void)state;
	/* A leading-dot key covers every subdomain, nearest parent first. */
	st = load_st(kt, "file:",
	    ".com          rsa\n"
	    ".example.com  ed\n");
	assert_string_equal(first_key(st, kt, "u@deep.a.example.com"), "ed");
	assert_string_equal(first_key(st, kt, "u@b.com"), "rsa");
	assert_null(first_key(st, kt, "u@example.com.au"));
	/* The bare domain is not covered by its own ".domain" key. */
	assert_string_equal(first_key(st, kt, "u@example.com"), "rsa");
	cli_signtable_free(st);
	cli_keytable_free(kt);
}

static void
t_cli_signtable_match_percent(void **state)
{
	struct cli_keytable *kt = load_kt();
	struct cli_signtable *st;

	(void)state;
	st = load_st(kt, "refile:",
	    "*@example.org  %\n"
	    "*              any:bounce@%\n");
	assert_string_equal(first_key(st, kt, "a@Example.ORG"), "example.org");
	assert_string_equal(refs[0].domain, "example.org");
	assert_string_equal(refs[0].signer, "");
	assert_string_equal(first_key(st, kt, "a@news.shop.test"), "any");
	assert_string_equal(refs[0].domain, "news.shop.test");
	assert_string_equal(refs[0].selector, "default");
	assert_string_equal(refs[0].keypath, "/etc/keys/news.shop.test.pem");
	assert_string_equal(refs[0].signer, "bounce@news.shop.test");
	cli_signtable_free(st);
	cli_keytable_free(kt);
}

/*
 * A From domain that is not a host name never reaches a key path, d= or
 * i=: every line that would substitute it is skipped with a reason, and
 * a line with a fixed key still applies.
 */
static void
t_cli_signtable_match_hostile_domain(void **state)
{
	static const char *const from[] = { "a@../../etc/x", "a@x/y", "a@..",
		"a@.example.org", "a@example.org.", "a@_x.example.org",
		"a@b\xc3\xbc"
		"cher.example",
		"a@[192.0.2.1]", "a@x\ry", NULL };
	struct cli_keytable *kt = load_kt();
	struct cli_signtable *st;
	char why[160];
	size_t i;

	(void)state;
	st = load_st(kt, "refile:", "*  any\n");
	for (i = 0; from[i] != NULL; i++) {
		if (cli_signtable_match(st, kt, from[i], true, refs, NREF, why,
		        sizeof(why)) != 0)
			fail_msg("%s: a %% key was used", from[i]);
		if (strstr(why, "not a host name") == NULL)
			fail_msg("%s: reason \"%s\"", from[i], why);
		assert_null(strpbrk(why, "\r\n"));
	}
	cli_signtable_free(st);
	/* Key name "%" and "%" in the signer are checked the same way. */
	st = load_st(kt, "refile:", "*  %\n*  rsa:x@%\n*  ed\n");
	assert_int_equal(cli_signtable_match(st, kt, "a@../u", true, refs, NREF,
	                     why, sizeof(why)),
	    1);
	assert_string_equal(refs[0].name, "ed");
	assert_non_null(strstr(why, "\"../u\""));
	assert_int_equal(cli_signtable_match(st, kt, "a@example.org", true,
	                     refs, NREF, why, sizeof(why)),
	    3);
	assert_string_equal(why, "");
	cli_signtable_free(st);
	cli_keytable_free(kt);
}

static void
t_cli_signtable_match_multiple(void **state)
{
	struct cli_keytable *kt = load_kt();
	struct cli_signtable *st;
	size_t n;

	(void)state;
	st = load_st(kt, "refile:",
	    "*@example.com  rsa\n"
	    "*@example.com  ed\n"
	    "*              any\n");
	n = cli_signtable_match(
	    st, kt, "a@example.com", true, refs, NREF, NULL, 0);
	assert_int_equal(n, 3);
	assert_string_equal(refs[0].name, "rsa");
	assert_string_equal(refs[1].name, "ed");
	assert_string_equal(refs[2].name, "any");
	assert_int_equal(cli_signtable_match(
	                     st, kt, "a@example.com", true, refs, 2, NULL, 0),
	    2);
	assert_int_equal(cli_signtable_match(st, kt, "a@example.com", false,
	                     refs, NREF, NULL, 0),
	    1);
	cli_signtable_free(st);
	st = load_st(kt, "", "a@example.com rsa\nexample.com ed\n* any\n");
	n = cli_signtable_match(
	    st, kt, "a@example.com", true, refs, NREF, NULL, 0);
	assert_int_equal(n, 3);
	assert_string_equal(refs[1].name, "ed");
	cli_signtable_free(st);
	cli_keytable_free(kt);
}

static void
t_cli_signtable_match_plain_duplicate(void **state)
{
	struct cli_keytable *kt = load_kt();
	struct cli_signtable *st;
	size_t n;

	(void)state;
	/*
	 * OpenDKIM does one data set lookup per key (dkimf_apply_signtable),
	 * so even with multiple signatures a repeated key yields only its
	 * first line; later steps still add theirs, in lookup order.
	 */
	st = load_st(kt, "",
	    "example.com        sub\n"
	    "A@Example.com      rsa\n"
	    "a@example.COM      ed\n"
	    "a@example.com      user\n");
	assert_string_equal(first_key(st, kt, "a@example.com"), "rsa");
	n = cli_signtable_match(
	    st, kt, "A@EXAMPLE.com", true, refs, NREF, NULL, 0);
	assert_int_equal(n, 2);
	assert_string_equal(refs[0].name, "rsa");
	assert_string_equal(refs[1].name, "sub");
	cli_signtable_free(st);
	cli_keytable_free(kt);
}

/* KeyTable "k<i> d<i>.example:s<i>:/keys/d<i>.pem", plus a repeat of k0. */
static void
write_big_keytable(char *path, size_t cap)
{
	FILE *fp;
	size_t i;

	snprintf(path, cap, "%s/BigKeys", tmpdir);
	assert_non_null(fp = fopen(path, "w"));
	for (i = 0; i < NBIG; i++)
		assert_true(
		    fprintf(fp, "k%zu d%zu.example:s%zu:/keys/d%zu.pem\n", i, i,
		        i, i) > 0);
	assert_true(fputs("k0 dup.example:dup:/keys/dup.pem\n", fp) >= 0);
	assert_int_equal(fclose(fp), 0);
}

/* SigningTable "d<i>.example k<i>", odd lines in mixed case, a repeat. */
static void
write_big_signtable(char *path, size_t cap)
{
	FILE *fp;
	size_t i;

	snprintf(path, cap, "%s/BigSigning", tmpdir);
	assert_non_null(fp = fopen(path, "w"));
	for (i = 0; i < NBIG; i++)
		assert_true(
		    fprintf(fp,
		        i % 2 ? "D%zu.Example k%zu\n" : "d%zu.example k%zu\n",
		        i, i) > 0);
	assert_true(fputs("d0.example k1\n", fp) >= 0);
	assert_int_equal(fclose(fp), 0);
}

static double
elapsed(const struct timespec *t0)
{
	struct timespec t1;

	(void)clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void
check_big(const struct cli_signtable *st, const struct cli_keytable *kt,
    const char *from, size_t i)
{
	char want[64];

	assert_int_equal(
	    cli_signtable_match(st, kt, from, false, refs, NREF, NULL, 0), 1);
	snprintf(want, sizeof(want), "k%zu", i);
	assert_string_equal(refs[0].name, want);
	snprintf(want, sizeof(want), "s%zu", i);
	assert_string_equal(refs[0].selector, want);
	snprintf(want, sizeof(want), "d%zu.example", i);
	assert_string_equal(refs[0].domain, want);
	snprintf(want, sizeof(want), "/keys/d%zu.pem", i);
	assert_string_equal(refs[0].keypath, want);
}

static void
t_cli_signtable_load_100k(void **state)
{
	struct cli_keytable *kt = NULL;
	struct cli_signtable *st = NULL;
	char bk[128], bs[128], err[256];
	struct timespec t0;

	(void)state;
	write_big_keytable(bk, sizeof(bk));
	write_big_signtable(bs, sizeof(bs));
	(void)clock_gettime(CLOCK_MONOTONIC, &t0);
	if (cli_keytable_load(bk, &kt, err, sizeof(err)) != 0)
		fail_msg("keytable: %s", err);
	if (cli_signtable_load(bs, kt, &st, err, sizeof(err)) != 0)
		fail_msg("signtable: %s", err);
	print_message("loaded %d-line KeyTable + SigningTable in %.3f s\n",
	    NBIG, elapsed(&t0));
	assert_int_equal(cli_keytable_count(kt), NBIG + 1);
	check_big(st, kt, "user@d0.example", 0);
	check_big(st, kt, "user@d50000.example", 50000);
	check_big(st, kt, "user@d99999.example", 99999);
	check_big(st, kt, "User@D50000.EXAMPLE", 50000);
	check_big(st, kt, "user@d12345.example", 12345);
	/* A bare-domain key does not cover its subdomains. */
	assert_int_equal(cli_signtable_match(st, kt, "user@mail.d77777.example",
	                     true, refs, NREF, NULL, 0),
	    0);
	assert_int_equal(cli_signtable_match(st, kt, "u@d100000.example", true,
	                     refs, NREF, NULL, 0),
	    0);
	cli_signtable_free(st);
	cli_keytable_free(kt);
}

static void
t_cli_signtable_load_unknown_key(void **state)
{
	struct cli_keytable *kt = load_kt();
	struct cli_signtable *st = NULL;
	char err[256], want[200];

	(void)state;
	write_file(spath, sizeof(spath), "SigningTable",
	    "*@example.com rsa\n\n# note\n*@x.test nosuchkey\n");
	assert_int_equal(
	    cli_signtable_load(spath, kt, &st, err, sizeof(err)), -EINVAL);
	assert_null(st);
	snprintf(
	    want, sizeof(want), "%s:4: unknown key name \"nosuchkey\"", spath);
	assert_true(strncmp(err, want, strlen(want)) == 0);
	cli_keytable_free(kt);
}

static void
t_cli_signtable_load_malformed_line(void **state)
{
	struct cli_keytable *kt = load_kt();
	struct cli_signtable *st = NULL;
	char err[256], spec[160];

	(void)state;
	write_file(spath, sizeof(spath), "SigningTable",
	    "*@example.com rsa\n*@b.test   \n");
	assert_int_equal(
	    cli_signtable_load(spath, kt, &st, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, ":2: missing value"));
	assert_int_equal(
	    cli_signtable_load("dsn:mysql://x/y", kt, &st, err, sizeof(err)),
	    -EINVAL);
	assert_non_null(strstr(err, "unsupported data set type"));
	snprintf(spec, sizeof(spec), "refile:%s/missing", tmpdir);
	assert_int_equal(
	    cli_signtable_load(spec, kt, &st, err, sizeof(err)), -ENOENT);
	cli_keytable_free(kt);
}

static void
t_cli_table_free_null(void **state)
{
	(void)state;
	cli_keytable_free(NULL);
	cli_signtable_free(NULL);
}

static int
setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/hanko-table-XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	static const char *const names[] = { "KeyTable", "BadKeys",
		"InlineKeys", "SigningTable", "BigKeys", "BigSigning" };
	char path[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, names[i]);
		(void)unlink(path);
	}
	return rmdir(tmpdir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_cli_keytable_load_comments_blank),
		cmocka_unit_test(t_cli_keytable_load_malformed_line),
		cmocka_unit_test(t_cli_keytable_load_inline_key),
		cmocka_unit_test(t_cli_signtable_match_refile_order),
		cmocka_unit_test(t_cli_signtable_match_plain_order),
		cmocka_unit_test(t_cli_signtable_match_subdomain),
		cmocka_unit_test(t_cli_signtable_match_percent),
		cmocka_unit_test(t_cli_signtable_match_hostile_domain),
		cmocka_unit_test(t_cli_signtable_match_multiple),
		cmocka_unit_test(t_cli_signtable_match_plain_duplicate),
		cmocka_unit_test(t_cli_signtable_load_100k),
		cmocka_unit_test(t_cli_signtable_load_unknown_key),
		cmocka_unit_test(t_cli_signtable_load_malformed_line),
		cmocka_unit_test(t_cli_table_free_null),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
