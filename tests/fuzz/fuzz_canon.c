/*
 * fuzz_canon: the body canonicalizer's differential oracle. For both
 * algorithms and every scan table this CPU has, the input is hashed fed
 * whole and fed in chunks whose sizes come from a PRNG seeded by the
 * first input bytes (each chunk a fresh heap copy, freed after the feed,
 * so a span kept across chunks is a use-after-free); l= comes from the
 * input too. Every digest and canonical length must equal those of
 * ref_body(), a byte-at-a-time transcription of RFC 6376 §3.4.3/§3.4.4
 * (bare LF read as CRLF, §5.3; a lone CR an ordinary byte). The input
 * is then canonicalized as a header field value (relaxed) and as a raw
 * field (simple), compared with references, and written into buffers one
 * byte too small, which must refuse and stay unchanged.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "core/canon.h"
#include "core/scan.h"
#include "tests/fuzz/common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct obuf {
	uint8_t *p;
	size_t len, cap;
};

FUZZ_NOCOV static void
put(struct obuf *b, const uint8_t *p, size_t n)
{
	if (n > b->cap - b->len) {
		size_t ncap = b->cap * 2 + n + 64;
		uint8_t *np = realloc(b->p, ncap);

		FUZZ_CHECK(np != NULL);
		b->p = np;
		b->cap = ncap;
	}
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

FUZZ_NOCOV static void
putc1(struct obuf *b, uint8_t c)
{
	put(b, &c, 1);
}

FUZZ_NOCOV static bool
is_wsp(uint8_t c)
{
	return c == ' ' || c == '\t';
}

/* Append one body line, canonicalized, with its CRLF; is it non-empty? */
FUZZ_NOCOV static bool
ref_line(struct obuf *out, const uint8_t *p, size_t n, enum canon_alg alg)
{
	size_t i, before = out->len;
	bool wsp = false;

	if (alg == CANON_SIMPLE) {
		put(out, p, n);
	} else {
		for (i = 0; i < n; i++) {
			if (is_wsp(p[i])) {
				wsp = true;
				continue;
			}
			if (wsp)
				putc1(out, ' ');
			wsp = false;
			putc1(out, p[i]);
		}
	}
	put(out, (const uint8_t *)"\r\n", 2);
	return out->len - before > 2;
}

/*
 * Lines end at CRLF or a bare LF (a CR before anything else is content);
 * everything after the last non-empty canonical line is dropped.
 */
FUZZ_NOCOV static void
ref_body(struct obuf *out, const uint8_t *p, size_t n, enum canon_alg alg)
{
	size_t i = 0, start = 0, keep = 0;

	out->len = 0;
	while (i < n) {
		size_t eol;

		if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n')
			eol = 2;
		else if (p[i] == '\n')
			eol = 1;
		else {
			i++;
			continue;
		}
		if (ref_line(out, p + start, i - start, alg))
			keep = out->len;
		i += eol;
		start = i;
	}
	if (start < n && ref_line(out, p + start, n - start, alg))
		keep = out->len;
	/* §3.4.3/§3.4.4: no trailing empty lines; simple keeps one CRLF. */
	out->len = keep;
	if (keep == 0 && alg == CANON_SIMPLE)
		put(out, (const uint8_t *)"\r\n", 2);
}

/* RFC 6376 §3.4.2 as canon.h documents it (unfolding drops every EOL). */
FUZZ_NOCOV static void
ref_hdr_relaxed(struct obuf *out, span name, span v, bool last)
{
	size_t i;
	bool wsp = false, content = false;

	out->len = 0;
	for (i = 0; i < name.len; i++) {
		uint8_t c = name.p[i];

		putc1(out, c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c);
	}
	putc1(out, ':');
	for (i = 0; i < v.len; i++) {
		if (v.p[i] == '\r' && i + 1 < v.len && v.p[i + 1] == '\n') {
			i++;
			continue;
		}
		if (v.p[i] == '\n')
			continue;
		if (is_wsp(v.p[i])) {
			wsp = true;
			continue;
		}
		if (wsp && content)
			putc1(out, ' ');
		wsp = false;
		content = true;
		putc1(out, v.p[i]);
	}
	if (!last)
		put(out, (const uint8_t *)"\r\n", 2);
}

/* §3.4.1, with a bare LF written as CRLF (§5.3). */
FUZZ_NOCOV static void
ref_hdr_simple(struct obuf *out, span raw, bool last)
{
	size_t i;

	out->len = 0;
	for (i = 0; i < raw.len; i++) {
		if (raw.p[i] == '\n' && (i == 0 || raw.p[i - 1] != '\r'))
			putc1(out, '\r');
		putc1(out, raw.p[i]);
	}
	if (!last)
		put(out, (const uint8_t *)"\r\n", 2);
}

/* splitmix64 over the first input bytes: the chunking is reproducible. */
FUZZ_NOCOV static uint64_t
rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

struct result {
	uint8_t d[EVP_MAX_MD_SIZE];
	unsigned len;
	uint64_t total;
};

static EVP_MD_CTX *md;
static const EVP_MD *sha256;

static void
begin(struct canon_body *cb, enum canon_alg alg, const struct scan_ops *ops,
    uint64_t limit)
{
	FUZZ_CHECK(EVP_DigestInit_ex2(md, sha256, NULL) == 1);
	canon_body_init(cb, alg, ops, md, limit);
}

static void
end(struct canon_body *cb, struct result *r)
{
	FUZZ_CHECK(canon_body_finish(cb));
	FUZZ_CHECK(EVP_DigestFinal_ex(md, r->d, &r->len) == 1);
	r->total = cb->total;
}

/* Feed a heap copy of the chunk and destroy it once the feed returns. */
static void
feed_copy(struct canon_body *cb, const uint8_t *p, size_t n)
{
	uint8_t *c = malloc(n ? n : 1);

	FUZZ_CHECK(c != NULL);
	memcpy(c, p, n);
	FUZZ_CHECK(canon_body_feed(cb, span_make(c, n)));
	memset(c, 0xA5, n);
	free(c);
}

static void
check_same(const struct result *a, const struct result *b)
{
	FUZZ_CHECK(a->len == b->len);
	FUZZ_CHECK(memcmp(a->d, b->d, a->len) == 0);
	FUZZ_CHECK(a->total == b->total);
}

static void
body_one(const uint8_t *data, size_t size, enum canon_alg alg,
    const struct scan_ops *ops, uint64_t seed, uint64_t limit,
    const struct result *want)
{
	static struct canon_body cb;
	struct result r;
	size_t off = 0;
	uint64_t s = seed;
	/* Mostly tiny chunks (every boundary case), sometimes long ones. */
	uint64_t maxchunk = (seed & 3) == 1 ? 33 : (seed & 3) == 2 ? 700 : 4;

	/* Tiny chunks of a long input cost time and find nothing more. */
	if (maxchunk == 4 && size > 1024)
		maxchunk = 33;

	begin(&cb, alg, ops, limit);
	FUZZ_CHECK(canon_body_feed(&cb, span_make(data, size)));
	end(&cb, &r);
	check_same(&r, want);

	begin(&cb, alg, ops, limit);
	while (off < size) {
		size_t n = 1 + (size_t)(rng_next(&s) % maxchunk);

		if (n > size - off)
			n = size - off;
		/* An empty chunk now and then must change nothing. */
		if ((rng_next(&s) & 15) == 0)
			feed_copy(&cb, data + off, 0);
		feed_copy(&cb, data + off, n);
		off += n;
	}
	end(&cb, &r);
	check_same(&r, want);
}

static void
check_body(const uint8_t *data, size_t size)
{
	static const enum scan_isa isas[] = { SCAN_REF, SCAN_SWAR, SCAN_SSE2,
		SCAN_AVX2 };
	static struct obuf ref;
	uint64_t seed = 0, limit = CANON_NO_LIMIT;
	size_t i, k;
	int a;

	for (i = 0; i < 8 && i < size; i++)
		seed = seed << 8 | data[i];
	/* l= on roughly half the inputs, anywhere from 0 to past the end. */
	if (size > 8 && (data[8] & 1))
		limit = (uint64_t)(data[8] >> 1) * (size / 64 + 1);
	for (a = 0; a < 2; a++) {
		enum canon_alg alg = a ? CANON_RELAXED : CANON_SIMPLE;
		struct result want;

		ref_body(&ref, data, size, alg);
		want.total = ref.len;
		FUZZ_CHECK(
		    EVP_Digest(ref.p, limit < ref.len ? (size_t)limit : ref.len,
		        want.d, &want.len, sha256, NULL) == 1);
		for (k = 0; k < sizeof(isas) / sizeof(isas[0]); k++) {
			const struct scan_ops *ops = scan_select(isas[k]);

			if (ops != NULL)
				body_one(
				    data, size, alg, ops, seed, limit, &want);
		}
	}
}

/* Canonicalize into a buffer exactly as large as the reference output. */
static void
check_fit(bool relaxed, span name, span v, bool last, const struct obuf *ref)
{
	uint8_t *mem = malloc(ref->len + 1);
	struct buf b;
	bool ok;

	FUZZ_CHECK(mem != NULL);
	buf_init_fixed(&b, mem, ref->len);
	ok = relaxed ? canon_hdr_relaxed(&b, name, v, last)
	             : canon_hdr_simple(&b, v, last);
	FUZZ_CHECK(ok && b.len == ref->len);
	FUZZ_CHECK(b.len == 0 || memcmp(b.p, ref->p, b.len) == 0);
	if (ref->len > 0) {
		/* One byte short: refused, buf unchanged (nothing appended). */
		buf_init_fixed(&b, mem, ref->len - 1);
		ok = relaxed ? canon_hdr_relaxed(&b, name, v, last)
		             : canon_hdr_simple(&b, v, last);
		FUZZ_CHECK(!ok && b.len == 0);
	}
	free(mem);
}

static void
check_hdr(const uint8_t *data, size_t size)
{
	static struct obuf ref;
	span v = span_make(data, size);
	span name = SPAN_LIT("X-Fuzz-Field");
	int last;

	for (last = 0; last < 2; last++) {
		ref_hdr_relaxed(&ref, name, v, last);
		check_fit(true, name, v, last, &ref);
		ref_hdr_simple(&ref, v, last);
		check_fit(false, name, v, last, &ref);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (md == NULL) {
		sha256 = EVP_sha256();
		md = EVP_MD_CTX_new();
		FUZZ_CHECK(md != NULL);
	}
	check_body(data, size);
	check_hdr(data, size);
	return 0;
}
