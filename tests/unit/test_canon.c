#include "core/canon.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include <cmocka.h>

#include "core/arena.h"
#include "core/env.h"
#include "core/hdr.h"
#include "core/scan.h"
#include "tests/fake/fake_alloc.h"
#include "tests/fake/rng.h"

/*
 * Body and header canonicalization tests. The body canonicalizer is
 * checked against ref_canon(), a deliberately naive line-by-line
 * transcription of RFC 6376 §3.4.3/§3.4.4 (bare LF read as CRLF per
 * §5.3, a lone CR an ordinary byte), on random bodies for every scan
 * table, both algorithms, whole and chunked, with and without l=. The
 * reference itself is pinned by the literal expectations in the edge
 * case and RFC 6376 §3.4.5 tests.
 */

#define RNG_SEED   0x68616e6b6f63616eULL
#define NBODIES    600 /* per alphabet */
#define SPLIT_MAX  48  /* bodies up to this length are split everywhere */
#define NCHUNKINGS 3   /* random chunkings per body, table and alg */

struct fixture {
	const struct scan_ops *ops[4];
	size_t nops;
	EVP_MD *sha256;
	EVP_MD_CTX *md;
	uint64_t rng;
	struct canon_body cb;
};

struct digest {
	uint8_t d[EVP_MAX_MD_SIZE];
	unsigned len;
	uint64_t total;
};

/* ---- the reference canonicalizer ---------------------------------- */

struct refbuf {
	uint8_t *p;
	size_t len, cap;
};

static void
ref_put(struct refbuf *b, const uint8_t *p, size_t n)
{
	if (n > b->cap - b->len) {
		size_t ncap = b->cap * 2 + n + 16;
		uint8_t *np = realloc(b->p, ncap);

		assert_non_null(np);
		b->p = np;
		b->cap = ncap;
	}
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

/* §3.4.4: WSP runs become one SP, WSP at the end of the line goes. */
static void
ref_put_relaxed_line(struct refbuf *b, const uint8_t *p, size_t n)
{
	bool wsp = false;
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] == ' ' || p[i] == '\t') {
			wsp = true;
			continue;
		}
		if (wsp)
			ref_put(b, (const uint8_t *)" ", 1);
		wsp = false;
		ref_put(b, p + i, 1);
	}
}

/*
 * Canonicalize in into a malloc'd buffer. Every line, including an
 * unterminated last one, is written with CRLF; the output is then cut
 * after the last non-empty line, which drops all trailing empty lines
 * and leaves the CRLF an unterminated last line needs.
 */
static uint8_t *
ref_canon(enum canon_alg alg, const uint8_t *in, size_t len, size_t *outlen)
{
	struct refbuf b = { NULL, 0, 0 };
	size_t i = 0, start, keep = 0, before;

	while (i < len) {
		size_t eol = 0;

		for (start = i; i < len; i++) {
			if (in[i] == '\n') {
				eol = 1;
				break;
			}
			if (in[i] == '\r' && i + 1 < len && in[i + 1] == '\n') {
				eol = 2;
				break;
			}
		}
		before = b.len;
		if (alg == CANON_RELAXED)
			ref_put_relaxed_line(&b, in + start, i - start);
		else
			ref_put(&b, in + start, i - start);
		if (b.len > before)
			keep = b.len + 2;
		ref_put(&b, (const uint8_t *)"\r\n", 2);
		i += eol;
	}
	b.len = keep;
	if (b.len == 0 && alg == CANON_SIMPLE)
		ref_put(&b, (const uint8_t *)"\r\n", 2);
	if (b.p == NULL) {
		b.p = malloc(1);
		assert_non_null(b.p);
	}
	*outlen = b.len;
	return b.p;
}

/* ---- driving the production canonicalizer ------------------------- */

static void
prod_begin(struct fixture *f, enum canon_alg alg, const struct scan_ops *ops,
    uint64_t limit)
{
	assert_int_equal(EVP_DigestInit_ex(f->md, f->sha256, NULL), 1);
	canon_body_init(&f->cb, alg, ops, f->md, limit);
}

/*
 * Feed a private copy of the chunk and destroy it afterwards: if the
 * canonicalizer kept a pointer into an earlier chunk, it would hash the
 * 0xdd garbage (and ASan would report the use after free).
 */
static void
prod_feed_copy(struct fixture *f, const uint8_t *p, size_t n)
{
	uint8_t *c = malloc(n == 0 ? 1 : n);

	assert_non_null(c);
	if (n > 0)
		memcpy(c, p, n);
	assert_true(canon_body_feed(&f->cb, span_make(c, n)));
	memset(c, 0xdd, n);
	free(c);
}

static void
prod_end(struct fixture *f, struct digest *out)
{
	assert_true(canon_body_finish(&f->cb));
	assert_int_equal(EVP_DigestFinal_ex(f->md, out->d, &out->len), 1);
	out->total = f->cb.total;
}

static void
sha256(struct fixture *f, const uint8_t *p, size_t n, struct digest *out)
{
	assert_int_equal(
	    EVP_Digest(p, n, out->d, &out->len, f->sha256, NULL), 1);
	out->total = n;
}

static void
dump(const char *what, const uint8_t *p, size_t n)
{
	size_t i;

	fprintf(stderr, "%s (%zu bytes):", what, n);
	for (i = 0; i < n; i++)
		fprintf(stderr, " %02x", p[i]);
	fprintf(stderr, "\n");
}

/*
 * The production digest must equal SHA-256 of the first limit bytes of
 * the reference output, and total must be the whole reference length.
 */
static void
check(const struct digest *got, const uint8_t *ref, size_t reflen,
    uint64_t limit, const struct digest *want, const char *how,
    const struct scan_ops *ops, enum canon_alg alg, const uint8_t *body,
    size_t len)
{
	if (got->total == reflen && got->len == want->len &&
	    memcmp(got->d, want->d, want->len) == 0)
		return;
	fprintf(stderr, "mismatch: %s, table %s, %s, limit %llu\n", how,
	    ops->name, canon_alg_str(alg), (unsigned long long)limit);
	dump("body", body, len);
	dump("reference", ref, reflen);
	fprintf(stderr, "total %llu, want %zu\n",
	    (unsigned long long)got->total, reflen);
	fail();
}

/* Hash body fed in the pieces cut at cuts[0..ncuts) (ascending). */
static void
prod_hash_cuts(struct fixture *f, const struct scan_ops *ops,
    enum canon_alg alg, uint64_t limit, const uint8_t *body, size_t len,
    const size_t *cuts, size_t ncuts, struct digest *out)
{
	size_t i, prev = 0;

	prod_begin(f, alg, ops, limit);
	for (i = 0; i < ncuts; i++) {
		prod_feed_copy(f, body + prev, cuts[i] - prev);
		prev = cuts[i];
	}
	prod_feed_copy(f, body + prev, len - prev);
	prod_end(f, out);
}

static size_t
random_cuts(struct fixture *f, size_t len, size_t *cuts, size_t max)
{
	size_t n = 0, at = 0;

	while (n < max && at < len) {
		/* Mostly short pieces, sometimes long or empty ones. */
		size_t step = rng_below(&f->rng, 8) == 0
		    ? rng_below(&f->rng, 700)
		    : rng_below(&f->rng, 9);

		at = step > len - at ? len : at + step;
		cuts[n++] = at;
	}
	return n;
}

/* ---- random bodies ------------------------------------------------- */

static const char *const alphabets[] = {
	" \t\r\na\x80",
	"  \t\r\n\naaaaa\xff\xa0",
	"\r\n\r\n\n\n \t",
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaa b\r\n",
	"a \t\r\n\x89\x8a\x8d\xa0\xc3\x00",
};
#define NALPHA (sizeof(alphabets) / sizeof(alphabets[0]))

/* Alphabet sizes: alphabets[4] ends in an embedded NUL. */
static size_t
alpha_len(size_t k)
{
	return strlen(alphabets[k]) + (k == 4);
}

static size_t
random_body(struct fixture *f, size_t k, uint8_t *buf, size_t cap)
{
	const char *a = alphabets[k];
	size_t na = alpha_len(k), len, i;

	/* Some bodies are long enough to cross the stage and DIRECT_MIN. */
	len = rng_below(&f->rng, 16) == 0 ? rng_below(&f->rng, cap)
	                                  : rng_below(&f->rng, 200);
	for (i = 0; i < len;) {
		uint8_t c = (uint8_t)a[rng_below(&f->rng, na)];
		size_t run = rng_below(&f->rng, 10) == 0
		    ? 1 + rng_below(&f->rng, 600)
		    : 1;

		for (; run > 0 && i < len; run--)
			buf[i++] = c;
	}
	return len;
}

static void
differential(struct fixture *f, const uint8_t *body, size_t len,
    enum canon_alg alg, const struct scan_ops *ops)
{
	size_t reflen, cuts[2048], ncuts, j;
	uint8_t *ref = ref_canon(alg, body, len, &reflen);
	struct digest want, lwant, got;
	uint64_t limit;

	sha256(f, ref, reflen, &want);
	prod_hash_cuts(f, ops, alg, CANON_NO_LIMIT, body, len, NULL, 0, &got);
	check(&got, ref, reflen, CANON_NO_LIMIT, &want, "whole", ops, alg, body,
	    len);
	for (j = 0; j < NCHUNKINGS; j++) {
		ncuts = random_cuts(f, len, cuts, 2048);
		prod_hash_cuts(
		    f, ops, alg, CANON_NO_LIMIT, body, len, cuts, ncuts, &got);
		check(&got, ref, reflen, CANON_NO_LIMIT, &want, "chunked", ops,
		    alg, body, len);
	}
	/* l=: a random limit, hashed whole and chunked. */
	limit = rng_below(&f->rng, reflen + 3);
	sha256(f, ref, limit < reflen ? (size_t)limit : reflen, &lwant);
	prod_hash_cuts(f, ops, alg, limit, body, len, NULL, 0, &got);
	check(
	    &got, ref, reflen, limit, &lwant, "whole l=", ops, alg, body, len);
	ncuts = random_cuts(f, len, cuts, 2048);
	prod_hash_cuts(f, ops, alg, limit, body, len, cuts, ncuts, &got);
	check(&got, ref, reflen, limit, &lwant, "chunked l=", ops, alg, body,
	    len);
	free(ref);
}

static void
t_canon_body_feed_random_whole_and_chunked(void **state)
{
	struct fixture *f = *state;
	size_t cap = 3 * CANON_STAGE_CAP, k, n, o, len, a;
	uint8_t *body = malloc(cap);

	assert_non_null(body);
	for (k = 0; k < NALPHA; k++) {
		for (n = 0; n < NBODIES; n++) {
			len = random_body(f, k, body, cap);
			for (o = 0; o < f->nops; o++)
				for (a = 0; a < 2; a++)
					differential(f, body, len,
					    (enum canon_alg)a, f->ops[o]);
		}
	}
	free(body);
}

/* Every table hashes body, cut in two at every offset, like ref_canon. */
static void
split_everywhere(
    struct fixture *f, const uint8_t *body, size_t len, enum canon_alg alg)
{
	size_t o, cut, reflen;
	uint8_t *ref = ref_canon(alg, body, len, &reflen);
	struct digest want, got;

	sha256(f, ref, reflen, &want);
	for (o = 0; o < f->nops; o++)
		for (cut = 0; cut <= len; cut++) {
			prod_hash_cuts(f, f->ops[o], alg, CANON_NO_LIMIT, body,
			    len, &cut, 1, &got);
			check(&got, ref, reflen, CANON_NO_LIMIT, &want, "split",
			    f->ops[o], alg, body, len);
		}
	free(ref);
}

/* Short bodies split into two pieces at every offset. */
static void
t_canon_body_feed_every_split(void **state)
{
	struct fixture *f = *state;
	uint8_t body[SPLIT_MAX];
	size_t k, n, len, i;

	for (k = 0; k < NALPHA; k++)
		for (n = 0; n < 100; n++) {
			len = rng_below(&f->rng, SPLIT_MAX + 1);
			for (i = 0; i < len; i++)
				body[i] = (uint8_t)alphabets[k][rng_below(
				    &f->rng, alpha_len(k))];
			split_everywhere(f, body, len, CANON_SIMPLE);
			split_everywhere(f, body, len, CANON_RELAXED);
		}
}

/* One byte per chunk, the harshest split, on the trickiest alphabet. */
static void
t_canon_body_feed_byte_at_a_time(void **state)
{
	struct fixture *f = *state;
	uint8_t body[300];
	size_t cuts[300], n, o, a, i, len, reflen;

	for (n = 0; n < 200; n++) {
		len = rng_below(&f->rng, sizeof(body));
		for (i = 0; i < len; i++) {
			body[i] = (uint8_t)alphabets[0][rng_below(&f->rng, 6)];
			cuts[i] = i;
		}
		for (a = 0; a < 2; a++) {
			enum canon_alg alg = (enum canon_alg)a;
			uint8_t *ref = ref_canon(alg, body, len, &reflen);
			struct digest want, got;

			sha256(f, ref, reflen, &want);
			for (o = 0; o < f->nops; o++) {
				prod_hash_cuts(f, f->ops[o], alg,
				    CANON_NO_LIMIT, body, len, cuts, len, &got);
				check(&got, ref, reflen, CANON_NO_LIMIT, &want,
				    "bytewise", f->ops[o], alg, body, len);
			}
			free(ref);
		}
	}
}

/* ---- literal expectations ------------------------------------------ */

/*
 * The reference must produce want from body, and every table must hash
 * body (whole, and split at every offset) to SHA-256(want).
 */
static void
expect_body(struct fixture *f, enum canon_alg alg, const char *body, size_t len,
    const char *want, size_t wantlen)
{
	const uint8_t *b = (const uint8_t *)body;
	size_t reflen, o, cut;
	uint8_t *ref = ref_canon(alg, b, len, &reflen);
	struct digest dw, got;

	assert_int_equal(reflen, wantlen);
	assert_memory_equal(ref, want, wantlen);
	sha256(f, (const uint8_t *)want, wantlen, &dw);
	for (o = 0; o < f->nops; o++)
		for (cut = 0; cut <= len; cut++) {
			prod_hash_cuts(f, f->ops[o], alg, CANON_NO_LIMIT, b,
			    len, &cut, 1, &got);
			check(&got, ref, reflen, CANON_NO_LIMIT, &dw, "literal",
			    f->ops[o], alg, b, len);
		}
	free(ref);
}

#define EXPECT(f, alg, body, want) \
	expect_body(f, alg, body, sizeof(body) - 1, want, sizeof(want) - 1)

/* RFC 6376 §3.4.5, the body of the example message. */
#define RFC_BODY " C \r\nD \t E\r\n\r\n\r\n"

static void
t_canon_body_feed_rfc6376_example(void **state)
{
	EXPECT(*state, CANON_SIMPLE, RFC_BODY, " C \r\nD \t E\r\n");
	EXPECT(*state, CANON_RELAXED, RFC_BODY, " C\r\nD E\r\n");
}

static void
t_canon_body_finish_empty(void **state)
{
	struct fixture *f = *state;
	struct digest want, got;
	size_t o;

	EXPECT(f, CANON_SIMPLE, "", "\r\n");
	EXPECT(f, CANON_RELAXED, "", "");
	/* No feed call at all, not even an empty one. */
	for (o = 0; o < f->nops; o++) {
		prod_begin(f, CANON_SIMPLE, f->ops[o], CANON_NO_LIMIT);
		prod_end(f, &got);
		sha256(f, (const uint8_t *)"\r\n", 2, &want);
		assert_int_equal(got.total, 2);
		assert_memory_equal(got.d, want.d, want.len);
		prod_begin(f, CANON_RELAXED, f->ops[o], CANON_NO_LIMIT);
		prod_end(f, &got);
		sha256(f, (const uint8_t *)"", 0, &want);
		assert_int_equal(got.total, 0);
		assert_memory_equal(got.d, want.d, want.len);
	}
}

static void
t_canon_body_feed_only_crlf(void **state)
{
	EXPECT(*state, CANON_SIMPLE, "\r\n", "\r\n");
	EXPECT(*state, CANON_SIMPLE, "\r\n\r\n\r\n\r\n", "\r\n");
	EXPECT(*state, CANON_RELAXED, "\r\n\r\n\r\n\r\n", "");
	EXPECT(*state, CANON_RELAXED, "\r\n \r\n\t\r\n", "");
	EXPECT(*state, CANON_SIMPLE, "\r\n \r\n\t\r\n", "\r\n \r\n\t\r\n");
}

static void
t_canon_body_finish_no_final_newline(void **state)
{
	EXPECT(*state, CANON_SIMPLE, "abc", "abc\r\n");
	EXPECT(*state, CANON_RELAXED, "abc", "abc\r\n");
	EXPECT(*state, CANON_SIMPLE, "a\r\nb", "a\r\nb\r\n");
	EXPECT(*state, CANON_RELAXED, "a \t", "a\r\n");
	EXPECT(*state, CANON_SIMPLE, "a\r\n\r\n  ", "a\r\n\r\n  \r\n");
	EXPECT(*state, CANON_RELAXED, "a\r\n\r\n  ", "a\r\n");
}

static void
t_canon_body_feed_trailing_wsp(void **state)
{
	EXPECT(*state, CANON_RELAXED, "a  \r\nb\t\r\n", "a\r\nb\r\n");
	EXPECT(*state, CANON_SIMPLE, "a  \r\nb\t\r\n", "a  \r\nb\t\r\n");
	EXPECT(*state, CANON_RELAXED, "  a \t b  \r\n", " a b\r\n");
	EXPECT(*state, CANON_RELAXED, "a\r\n \t \r\nb\r\n", "a\r\n\r\nb\r\n");
	EXPECT(*state, CANON_RELAXED, "x \r\n \r\n", "x\r\n");
}

/* RFC 6376 §5.3: bare LF is read as CRLF. */
static void
t_canon_body_feed_lf_only(void **state)
{
	EXPECT(*state, CANON_SIMPLE, "a\nb\n\n\n", "a\r\nb\r\n");
	EXPECT(*state, CANON_RELAXED, "a \nb\t\n\n", "a\r\nb\r\n");
	EXPECT(*state, CANON_SIMPLE, "\n\n", "\r\n");
	EXPECT(*state, CANON_RELAXED, "\n\n", "");
	EXPECT(*state, CANON_SIMPLE, "a\n\r\nb\r\n\n", "a\r\n\r\nb\r\n");
}

/* A lone CR is an ordinary byte, also next to WSP and at the very end. */
static void
t_canon_body_feed_lone_cr(void **state)
{
	EXPECT(*state, CANON_SIMPLE, "a\rb\r\n", "a\rb\r\n");
	EXPECT(*state, CANON_RELAXED, "a \r b\r\n", "a \r b\r\n");
	EXPECT(*state, CANON_SIMPLE, "a\r", "a\r\r\n");
	EXPECT(*state, CANON_RELAXED, "a \r", "a \r\r\n");
	EXPECT(*state, CANON_SIMPLE, "\r\r\n", "\r\r\n");
	EXPECT(*state, CANON_RELAXED, "\r\r\r\n\r\n", "\r\r\r\n");
}

/* A CR ending one chunk and the LF starting the next are one CRLF. */
static void
t_canon_body_feed_cr_at_chunk_end(void **state)
{
	struct fixture *f = *state;
	static const char *const pieces[] = { "line one\r", "\nline two \r",
		"\n\r", "\r", "\n", "end \r" };
	static const char want_s[] =
	    "line one\r\nline two \r\n\r\r\nend \r\r\n";
	static const char want_r[] = "line one\r\nline two\r\n\r\r\nend \r\r\n";
	struct digest dw, got;
	size_t o, a, i;

	for (o = 0; o < f->nops; o++)
		for (a = 0; a < 2; a++) {
			prod_begin(
			    f, (enum canon_alg)a, f->ops[o], CANON_NO_LIMIT);
			for (i = 0; i < 6; i++)
				prod_feed_copy(f, (const uint8_t *)pieces[i],
				    strlen(pieces[i]));
			prod_end(f, &got);
			if (a == CANON_SIMPLE)
				sha256(f, (const uint8_t *)want_s,
				    sizeof(want_s) - 1, &dw);
			else
				sha256(f, (const uint8_t *)want_r,
				    sizeof(want_r) - 1, &dw);
			assert_int_equal(got.total, dw.total);
			assert_memory_equal(got.d, dw.d, dw.len);
		}
}

static void
t_canon_body_feed_nul(void **state)
{
#define NUL_BODY "a\0b\r\n\0\r\n \0 \r\n\0"
	EXPECT(*state, CANON_SIMPLE, NUL_BODY, NUL_BODY "\r\n");
	EXPECT(*state, CANON_RELAXED, NUL_BODY, "a\0b\r\n\0\r\n \0\r\n\0\r\n");
#undef NUL_BODY
}

/* Long runs go around the stage; lines longer than the stage, too. */
static void
t_canon_body_feed_long_lines(void **state)
{
	struct fixture *f = *state;
	size_t len = 3 * CANON_STAGE_CAP + 7, o, a, i;
	uint8_t *body = malloc(len);

	assert_non_null(body);
	for (i = 0; i < len; i++)
		body[i] = (uint8_t)('a' + i % 26);
	/* One space run, one tab, a bare LF and a CRLF somewhere inside. */
	memset(body + 1000, ' ', 3);
	body[5000] = '\t';
	body[6000] = '\n';
	memcpy(body + 9000, "  \r\n", 4);
	for (o = 0; o < f->nops; o++)
		for (a = 0; a < 2; a++)
			differential(
			    f, body, len, (enum canon_alg)a, f->ops[o]);
	free(body);
}

/* l= counts canonical bytes: it may end inside a synthesized CRLF. */
static void
t_canon_body_init_limit(void **state)
{
	struct fixture *f = *state;
	static const char body[] = "ab  c\nd\n\n";
	static const char canon[] = "ab c\r\nd\r\n"; /* relaxed */
	struct digest want, got;
	uint64_t limit;
	size_t o;

	for (o = 0; o < f->nops; o++)
		for (limit = 0; limit <= sizeof(canon) + 1; limit++) {
			size_t n = limit < sizeof(canon) - 1
			    ? (size_t)limit
			    : sizeof(canon) - 1;

			prod_begin(f, CANON_RELAXED, f->ops[o], limit);
			prod_feed_copy(
			    f, (const uint8_t *)body, sizeof(body) - 1);
			prod_end(f, &got);
			sha256(f, (const uint8_t *)canon, n, &want);
			assert_memory_equal(got.d, want.d, want.len);
			assert_int_equal(got.total, sizeof(canon) - 1);
			assert_int_equal(f->cb.hashed, n);
		}
}

/* ---- header canonicalization --------------------------------------- */

static void
expect_hdr_relaxed(
    const char *name, const char *value, bool last, const char *want)
{
	uint8_t mem[256];
	struct buf b;

	buf_init_fixed(&b, mem, sizeof(mem));
	assert_true(
	    canon_hdr_relaxed(&b, span_cstr(name), span_cstr(value), last));
	assert_int_equal(b.len, strlen(want));
	assert_memory_equal(b.p, want, b.len);
}

static void
expect_hdr_simple(const char *raw, bool last, const char *want)
{
	uint8_t mem[256];
	struct buf b;

	buf_init_fixed(&b, mem, sizeof(mem));
	assert_true(canon_hdr_simple(&b, span_cstr(raw), last));
	assert_int_equal(b.len, strlen(want));
	assert_memory_equal(b.p, want, b.len);
}

/* RFC 6376 §3.4.5: the two header fields, from hdr_split. */
static void
t_canon_hdr_rfc6376_example(void **state)
{
	static const char msg[] = "A: X\r\nB : Y\t\r\n\tZ  \r\n\r\n" RFC_BODY;
	struct hanko_limits lim;
	struct arena ar;
	struct hdr_msg m;
	struct buf b;
	uint8_t mem[128];
	char err[160];
	size_t i;

	(void)state;
	hanko_limits_default(&lim);
	arena_init(&ar, fake_alloc_get(), 4096, 1 << 20);
	assert_int_equal(
	    hdr_split(SPAN_LIT(msg), &lim, &ar, &m, err, sizeof(err)), HDR_OK);
	assert_int_equal(m.nf, 2);
	assert_true(span_eq(m.body, SPAN_LIT(RFC_BODY)));
	buf_init_fixed(&b, mem, sizeof(mem));
	for (i = 0; i < m.nf; i++)
		assert_true(
		    canon_hdr_relaxed(&b, m.f[i].name, m.f[i].value, false));
	assert_true(span_eq(buf_span(&b), SPAN_LIT("a:X\r\nb:Y Z\r\n")));
	buf_init_fixed(&b, mem, sizeof(mem));
	for (i = 0; i < m.nf; i++)
		assert_true(canon_hdr_simple(&b, m.f[i].raw, false));
	assert_true(
	    span_eq(buf_span(&b), SPAN_LIT("A: X\r\nB : Y\t\r\n\tZ  \r\n")));
	arena_fini(&ar);
	assert_int_equal(fake_alloc_live(), 0);
}

static void
t_canon_hdr_relaxed_folding(void **state)
{
	(void)state;
	expect_hdr_relaxed(
	    "Subject", " hello\r\n world", false, "subject:hello world\r\n");
	expect_hdr_relaxed(
	    "Subject", " a\r\n\t\r\n b", false, "subject:a b\r\n");
	/* Bare-LF folding unfolds the same way. */
	expect_hdr_relaxed(
	    "Subject", " a\n b\n\tc", false, "subject:a b c\r\n");
	/* Folding with nothing around it still joins the words. */
	expect_hdr_relaxed("X", "a\r\nb", false, "x:ab\r\n");
	expect_hdr_relaxed("X", "  \r\n  ", false, "x:\r\n");
	expect_hdr_relaxed("X", "", false, "x:\r\n");
}

static void
t_canon_hdr_relaxed_tabs(void **state)
{
	(void)state;
	expect_hdr_relaxed(
	    "X", "\tfoo\t\tbar \t baz\t", false, "x:foo bar baz\r\n");
}

/* WSP before the colon is hdr_split's to drop; after it, canon's. */
static void
t_canon_hdr_relaxed_colon_wsp(void **state)
{
	(void)state;
	expect_hdr_relaxed("X", " \t  v  ", false, "x:v\r\n");
	expect_hdr_relaxed("X", "v :w", false, "x:v :w\r\n");
}

static void
t_canon_hdr_relaxed_uppercase(void **state)
{
	(void)state;
	expect_hdr_relaxed("DKIM-Signature", " V=1; A=RSA", false,
	    "dkim-signature:V=1; A=RSA\r\n");
	expect_hdr_relaxed(
	    "X-\xc3\x89Z", "\xc3\x89", false, "x-\xc3\x89z:\xc3\x89\r\n");
}

/* A CR that does not start CRLF is an ordinary byte. */
static void
t_canon_hdr_relaxed_lone_cr(void **state)
{
	(void)state;
	expect_hdr_relaxed("X", " a\rb", false, "x:a\rb\r\n");
	expect_hdr_relaxed("X", " a\r", false, "x:a\r\r\n");
	expect_hdr_relaxed("X", " \r\r\n b", false, "x:\r b\r\n");
}

static void
t_canon_hdr_relaxed_last(void **state)
{
	(void)state;
	expect_hdr_relaxed(
	    "DKIM-Signature", " v=1; b=", true, "dkim-signature:v=1; b=");
	expect_hdr_relaxed("X", " v \r\n ", true, "x:v");
}

/* A field that does not fit leaves the buf as it was. */
static void
t_canon_hdr_relaxed_full(void **state)
{
	uint8_t mem[16];
	struct buf b;
	size_t cap;

	(void)state;
	for (cap = 0; cap < 12; cap++) {
		buf_init_fixed(&b, mem, cap);
		assert_false(canon_hdr_relaxed(
		    &b, SPAN_LIT("Subject"), SPAN_LIT(" hello  you"), false));
		assert_int_equal(b.len, 0);
	}
	buf_init_fixed(&b, mem, sizeof(mem));
	assert_true(buf_add(&b, "ab", 2));
	assert_false(canon_hdr_relaxed(
	    &b, SPAN_LIT("Subject"), SPAN_LIT(" hello"), false));
	assert_int_equal(b.len, 2);
	assert_true(
	    canon_hdr_relaxed(&b, SPAN_LIT("S"), SPAN_LIT(" hello"), false));
	assert_true(span_eq(buf_span(&b), SPAN_LIT("abs:hello\r\n")));
}

/* Reference: drop CRLF and LF, then collapse and trim WSP. */
static size_t
ref_hdr_relaxed(const uint8_t *v, size_t n, uint8_t *out)
{
	size_t i, len = 0;
	bool wsp = false;

	for (i = 0; i < n; i++) {
		if (v[i] == '\r' && i + 1 < n && v[i + 1] == '\n') {
			i++;
			continue;
		}
		if (v[i] == '\n')
			continue;
		if (v[i] == ' ' || v[i] == '\t') {
			wsp = true;
			continue;
		}
		if (wsp && len > 0)
			out[len++] = ' ';
		wsp = false;
		out[len++] = v[i];
	}
	return len;
}

static void
t_canon_hdr_relaxed_random(void **state)
{
	struct fixture *f = *state;
	uint8_t v[64], want[160], mem[160];
	struct buf b;
	size_t n, i, len, wlen;

	for (n = 0; n < 20000; n++) {
		len = rng_below(&f->rng, sizeof(v));
		for (i = 0; i < len; i++)
			v[i] = (uint8_t)alphabets[4][rng_below(&f->rng, 11)];
		memcpy(want, "xy:", 3);
		wlen = ref_hdr_relaxed(v, len, want + 3);
		buf_init_fixed(&b, mem, sizeof(mem));
		assert_true(canon_hdr_relaxed(
		    &b, SPAN_LIT("xY"), span_make(v, len), true));
		assert_int_equal(b.len, 3 + wlen);
		assert_memory_equal(b.p, want, b.len);
	}
}

static void
t_canon_hdr_simple_folding(void **state)
{
	(void)state;
	expect_hdr_simple("Subject: a\r\n\tb", false, "Subject: a\r\n\tb\r\n");
	expect_hdr_simple("X-Empty:", false, "X-Empty:\r\n");
	expect_hdr_simple("X :  v \t", false, "X :  v \t\r\n");
}

/* RFC 6376 §5.3: a bare LF in the stored message is signed as CRLF. */
static void
t_canon_hdr_simple_bare_lf(void **state)
{
	(void)state;
	expect_hdr_simple("Subject: a\n\tb", false, "Subject: a\r\n\tb\r\n");
	expect_hdr_simple("A: x\r\n y\n z", false, "A: x\r\n y\r\n z\r\n");
	expect_hdr_simple("A: x\n\n", true, "A: x\r\n\r\n");
	expect_hdr_simple("A: x\ry", false, "A: x\ry\r\n");
}

static void
t_canon_hdr_simple_last(void **state)
{
	(void)state;
	expect_hdr_simple(
	    "DKIM-Signature: v=1;\n b=", true, "DKIM-Signature: v=1;\r\n b=");
}

static void
t_canon_hdr_simple_full(void **state)
{
	uint8_t mem[32];
	struct buf b;
	size_t cap;

	(void)state;
	for (cap = 0; cap < 14; cap++) {
		buf_init_fixed(&b, mem, cap);
		assert_false(
		    canon_hdr_simple(&b, SPAN_LIT("A: x\n y\n z"), false));
		assert_int_equal(b.len, 0);
	}
	buf_init_fixed(&b, mem, 14);
	assert_true(canon_hdr_simple(&b, SPAN_LIT("A: x\n y\n z"), false));
	assert_int_equal(b.len, 14);
}

static void
t_canon_alg_str_names(void **state)
{
	(void)state;
	assert_string_equal(canon_alg_str(CANON_SIMPLE), "simple");
	assert_string_equal(canon_alg_str(CANON_RELAXED), "relaxed");
}

/* ---- fixture ------------------------------------------------------- */

static int
group_setup(void **state)
{
	static struct fixture f;
	static const enum scan_isa isas[] = { SCAN_REF, SCAN_SWAR, SCAN_SSE2,
		SCAN_AVX2 };
	size_t i;

	for (i = 0; i < 4; i++)
		if ((f.ops[f.nops] = scan_select(isas[i])) != NULL)
			f.nops++;
	if (f.nops < 2)
		return -1;
	if ((f.sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL)
		return -1;
	if ((f.md = EVP_MD_CTX_new()) == NULL)
		return -1;
	*state = &f;
	return 0;
}

static int
group_teardown(void **state)
{
	struct fixture *f = *state;

	EVP_MD_CTX_free(f->md);
	EVP_MD_free(f->sha256);
	return 0;
}

/* Each test sees the same random sequence whatever ran before it. */
static int
test_setup(void **state)
{
	struct fixture *f = *state;

	f->rng = RNG_SEED;
	fake_alloc_reset();
	return 0;
}

#define T(fn) cmocka_unit_test_setup(fn, test_setup)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(t_canon_body_feed_random_whole_and_chunked),
		T(t_canon_body_feed_every_split),
		T(t_canon_body_feed_byte_at_a_time),
		T(t_canon_body_feed_rfc6376_example),
		T(t_canon_body_finish_empty),
		T(t_canon_body_feed_only_crlf),
		T(t_canon_body_finish_no_final_newline),
		T(t_canon_body_feed_trailing_wsp),
		T(t_canon_body_feed_lf_only),
		T(t_canon_body_feed_lone_cr),
		T(t_canon_body_feed_cr_at_chunk_end),
		T(t_canon_body_feed_nul),
		T(t_canon_body_feed_long_lines),
		T(t_canon_body_init_limit),
		T(t_canon_hdr_rfc6376_example),
		T(t_canon_hdr_relaxed_folding),
		T(t_canon_hdr_relaxed_tabs),
		T(t_canon_hdr_relaxed_colon_wsp),
		T(t_canon_hdr_relaxed_uppercase),
		T(t_canon_hdr_relaxed_lone_cr),
		T(t_canon_hdr_relaxed_last),
		T(t_canon_hdr_relaxed_full),
		T(t_canon_hdr_relaxed_random),
		T(t_canon_hdr_simple_folding),
		T(t_canon_hdr_simple_bare_lf),
		T(t_canon_hdr_simple_last),
		T(t_canon_hdr_simple_full),
		T(t_canon_alg_str_names),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
