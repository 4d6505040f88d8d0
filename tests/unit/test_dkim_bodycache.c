#include "core/dkim_bodycache.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/fake/dkim_fixture.h"
#include "tests/fake/fake_alloc.h"

/*
 * Body-hash reuse: a signer with the cache must emit byte-identical
 * fields to a signer without it, over a corpus of exact repeats and
 * near-repeats (one byte changed at and around chunk boundaries, LF
 * instead of CRLF, one byte more or less, trailing blank lines that
 * canonicalize away), for each body canonicalization and for dual
 * signatures; and it must actually reuse exactly where the raw bodies
 * are equal.
 */

#define NOW      1767225600u
#define BODY_LEN 9000u
#define MAX_MSGS 64

static struct hanko_limits off_lim;
static struct core_env off_env;
static struct dkim_signer *off; /* the same signer, cache turned off */

struct corpus {
	char *msg[MAX_MSGS];
	size_t len[MAX_MSGS];
	size_t n;
};

/* Text lines with WSP runs, CRLF or LF; deterministic. */
static size_t
make_body(char *out, size_t cap, bool lf)
{
	static const char *const words[] = { "garden", "news", "\t", "of",
		"tomatoes  ", "and", "volunteers", " ", "spring" };
	size_t len = 0, col = 0, i = 0;

	while (len + 16 < cap && len < BODY_LEN) {
		const char *w = words[(i * 7 + i / 5) % 9];
		size_t wl = strlen(w);

		memcpy(out + len, w, wl);
		len += wl;
		out[len++] = ' ';
		col += wl + 1;
		if (col > 60) {
			if (!lf)
				out[len++] = '\r';
			out[len++] = '\n';
			col = 0;
		}
		i++;
	}
	if (!lf)
		out[len++] = '\r';
	out[len++] = '\n';
	return len;
}

/* One message: personalised headers, then body (borrowed). */
static void
add_msg(struct corpus *c, const char *body, size_t blen, bool lf)
{
	const char *nl = lf ? "\n" : "\r\n";
	size_t cap = blen + 512, hl;
	char *m = malloc(cap);

	assert_non_null(m);
	assert_true(c->n < MAX_MSGS);
	hl = (size_t)snprintf(m, cap,
	    "From: News <news@example.com>%sTo: <reader%zu@example.net>%s"
	    "Subject: issue %zu%sMessage-ID: <%zu@example.com>%s%s",
	    nl, c->n, nl, c->n, nl, c->n, nl, nl);
	memcpy(m + hl, body, blen);
	c->msg[c->n] = m;
	c->len[c->n++] = hl + blen;
}

static void
corpus_free(struct corpus *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		free(c->msg[i]);
	c->n = 0;
}

/*
 * The campaign body between near-repeats of it: each variant once, the
 * campaign body again after each, and some variants twice in a row.
 */
static void
make_corpus(struct corpus *c)
{
	static const size_t flips[] = { 0, 63, 64, 65, 4095, 4096, 4097, 8191,
		8192, SIZE_MAX };
	char base[BODY_LEN + 64], var[BODY_LEN + 64], lfb[BODY_LEN + 64];
	size_t blen = make_body(base, sizeof(base), false), i;
	size_t llen = make_body(lfb, sizeof(lfb), true);

	memset(c, 0, sizeof(*c));
	add_msg(c, base, blen, false);
	for (i = 0; i < sizeof(flips) / sizeof(flips[0]); i++) {
		size_t at = flips[i] < blen ? flips[i] : blen - 1;

		memcpy(var, base, blen);
		var[at] = var[at] == 'x' ? 'y' : 'x';
		add_msg(c, var, blen, false);
		add_msg(c, base, blen, false);
		if (i % 3 == 0)
			add_msg(c, var, blen, false);
	}
	add_msg(c, base, blen - 1, false); /* one byte less */
	memcpy(var, base, blen);
	memcpy(var + blen, "\r\n\r\n", 4); /* canonicalizes away */
	add_msg(c, var, blen + 4, false);
	add_msg(c, base, blen, false);
	add_msg(c, lfb, llen, true); /* LF, same text */
	add_msg(c, lfb, llen, true);
	add_msg(c, base, blen, false);
	add_msg(c, "", 0, false); /* empty body, twice */
	add_msg(c, "", 0, false);
}

/* Where the body of a message built by add_msg starts. */
static span
body_of(const char *m, size_t len)
{
	const char *p = strstr(m, "\r\n\r\n");
	const char *q = strstr(m, "\n\n");

	if (p != NULL && (q == NULL || p < q))
		return span_make(p + 4, len - (size_t)(p + 4 - m));
	assert_non_null(q);
	return span_make(q + 2, len - (size_t)(q + 2 - m));
}

/* Messages whose raw body appeared earlier in the corpus. */
static uint64_t
repeats(const struct corpus *c)
{
	uint64_t n = 0;
	size_t i, j;

	for (i = 1; i < c->n; i++) {
		span a = body_of(c->msg[i], c->len[i]);

		for (j = 0; j < i; j++)
			if (span_eq(a, body_of(c->msg[j], c->len[j]))) {
				n++;
				break;
			}
	}
	return n;
}

/* The fields s emits for msg, malloc'd and NUL-terminated. */
static char *
fields_of(
    struct dkim_signer *s, span msg, const struct dkim_sign_conf *c, size_t n)
{
	struct buf b;
	span from;
	char *f;

	arena_reset(&fx.ar);
	assert_int_equal(dkim_sign_parse(s, msg, &fx.ar, &from), DKIM_OK);
	buf_init_arena(&b, &fx.ar);
	assert_int_equal(dkim_sign_emit(s, c, n, NOW, &b), DKIM_OK);
	f = malloc(b.len + 1);
	assert_non_null(f);
	memcpy(f, b.p, b.len);
	f[b.len] = '\0';
	return f;
}

/* Sign the corpus with both signers; every field must match. */
static uint64_t
differential(struct dkim_signer *cached, const struct corpus *c,
    const struct dkim_sign_conf *confs, size_t n)
{
	uint64_t before = dkim_signer_bodies_reused(cached);
	size_t i;

	for (i = 0; i < c->n; i++) {
		span m = span_make(c->msg[i], c->len[i]);
		char *want = fields_of(off, m, confs, n);
		char *got = fields_of(cached, m, confs, n);

		if (strcmp(want, got) != 0)
			fail_msg("message %zu: with the cache\n%s\nwithout\n%s",
			    i, got, want);
		free(want);
		free(got);
	}
	assert_int_equal(dkim_signer_bodies_reused(off), 0);
	return dkim_signer_bodies_reused(cached) - before;
}

static void
t_dkim_bodycache_same_fields(void **state)
{
	enum canon_alg algs[] = { CANON_RELAXED, CANON_SIMPLE };
	struct dkim_sign_conf c[2];
	struct dkim_signer *s;
	struct corpus corp;
	size_t a;

	(void)state;
	make_corpus(&corp);
	for (a = 0; a < 2; a++) {
		assert_int_equal(dkim_signer_new(&fx.env, &s), DKIM_OK);
		fix_conf_for(&c[0], &fx.ked, "ed", CANON_RELAXED, algs[a]);
		assert_int_equal(differential(s, &corp, c, 1), repeats(&corp));
		dkim_signer_free(s);
	}
	/* Dual, two body canonicalizations: one reuse per hash. */
	assert_int_equal(dkim_signer_new(&fx.env, &s), DKIM_OK);
	fix_conf_for(&c[0], &fx.krsa, "rsa", CANON_RELAXED, CANON_SIMPLE);
	fix_conf_for(&c[1], &fx.ked, "ed", CANON_RELAXED, CANON_RELAXED);
	assert_int_equal(differential(s, &corp, c, 2), 2 * repeats(&corp));
	dkim_signer_free(s);
	corpus_free(&corp);
}

/* A canonicalization not hashed before for a kept body is computed. */
static void
t_dkim_bodycache_per_canon(void **state)
{
	struct dkim_sign_conf rel, sim;
	struct dkim_signer *s;
	struct corpus corp;
	size_t n;

	(void)state;
	make_corpus(&corp);
	n = corp.n;
	fix_conf_for(&rel, &fx.ked, "ed", CANON_RELAXED, CANON_RELAXED);
	fix_conf_for(&sim, &fx.ked, "ed", CANON_RELAXED, CANON_SIMPLE);
	assert_int_equal(dkim_signer_new(&fx.env, &s), DKIM_OK);
	corp.n = 1;
	assert_int_equal(differential(s, &corp, &rel, 1), 0);
	assert_int_equal(differential(s, &corp, &sim, 1), 0);
	assert_int_equal(differential(s, &corp, &sim, 1), 1);
	assert_int_equal(differential(s, &corp, &rel, 1), 1);
	dkim_signer_free(s);
	corp.n = n;
	corpus_free(&corp);
}

/* Bodies over budget / N are never kept; budget 0 is off. */
static void
t_dkim_bodycache_budget(void **state)
{
	struct hanko_limits lim = fx.lim;
	struct core_env env = fx.env;
	struct dkim_sign_conf c;
	struct dkim_signer *s;
	struct corpus corp;

	(void)state;
	make_corpus(&corp);
	env.limits = &lim;
	fix_conf_for(&c, &fx.ked, "ed", CANON_RELAXED, CANON_RELAXED);
	lim.body_cache_bytes = DKIM_BODYCACHE_N * (BODY_LEN / 2);
	assert_int_equal(dkim_signer_new(&env, &s), DKIM_OK);
	/* Only the empty body fits. */
	assert_int_equal(differential(s, &corp, &c, 1), 1);
	dkim_signer_free(s);
	lim.body_cache_bytes = 0;
	assert_int_equal(dkim_signer_new(&env, &s), DKIM_OK);
	assert_int_equal(differential(s, &corp, &c, 1), 0);
	dkim_signer_free(s);
	corpus_free(&corp);
}

/* No memory for a copy: nothing kept, fields still right. */
static void
t_dkim_bodycache_nomem(void **state)
{
	struct dkim_sign_conf c;
	struct dkim_signer *s;
	struct corpus corp;

	(void)state;
	make_corpus(&corp);
	fix_conf_for(&c, &fx.ked, "ed", CANON_RELAXED, CANON_RELAXED);
	assert_int_equal(dkim_signer_new(&fx.env, &s), DKIM_OK);
	fake_alloc_fail_after(0);
	/* The empty body needs no copy and is still kept. */
	assert_int_equal(differential(s, &corp, &c, 1), 1);
	fake_alloc_reset();
	dkim_signer_free(s);
	corpus_free(&corp);
}

static int
group_setup(void **state)
{
	if (fix_group_setup(state) != 0)
		return -1;
	off_lim = fx.lim;
	off_lim.body_cache_bytes = 0;
	off_env = fx.env;
	off_env.limits = &off_lim;
	return dkim_signer_new(&off_env, &off) == DKIM_OK ? 0 : -1;
}

static int
group_teardown(void **state)
{
	dkim_signer_free(off);
	return fix_group_teardown(state);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(t_dkim_bodycache_same_fields, fix_setup),
		cmocka_unit_test_setup(t_dkim_bodycache_per_canon, fix_setup),
		cmocka_unit_test_setup(t_dkim_bodycache_budget, fix_setup),
		cmocka_unit_test_setup(t_dkim_bodycache_nomem, fix_setup),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
