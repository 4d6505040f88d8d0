#include "scan.h"

#include <immintrin.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The AVX2 table: 32 bytes per step, then at most one 16-byte step, then
 * a scalar tail; nothing is read outside [p, p+len). Only this file is
 * built for AVX2 (libsodium's layout), so the rest of the project stays
 * at baseline ISA and scan_select() decides at run time whether these
 * functions may be called. gcc takes "#pragma GCC target"; clang 14
 * ignores that pragma, so it gets the same target through an attribute
 * pushed onto every function below. The pragma comes after the system
 * headers so their declarations keep their own targets.
 */
#if defined(__clang__)
#pragma clang attribute push( \
    __attribute__((target("avx2"))), apply_to = function)
#else
#pragma GCC target("avx2")
#endif

#define VLEN 32
#define HLEN 16

static __m256i
load32(const uint8_t *p)
{
	return _mm256_loadu_si256((const __m256i *)(const void *)p);
}

static __m128i
load16(const uint8_t *p)
{
	return _mm_loadu_si128((const __m128i *)(const void *)p);
}

static __m256i
splat32(uint8_t c)
{
	return _mm256_set1_epi8((char)c);
}

static size_t
first_set(size_t i, int m)
{
	return i + (size_t)__builtin_ctz((unsigned)m);
}

/* Lanes equal to x or to y. */
static __m256i
eq2(__m256i v, __m256i x, __m256i y)
{
	return _mm256_or_si256(
	    _mm256_cmpeq_epi8(v, x), _mm256_cmpeq_epi8(v, y));
}

static __m128i
eq2_16(__m128i v, __m128i x, __m128i y)
{
	return _mm_or_si128(_mm_cmpeq_epi8(v, x), _mm_cmpeq_epi8(v, y));
}

static size_t
avx2_byte2(const uint8_t *p, size_t len, uint8_t a, uint8_t b)
{
	__m256i va = splat32(a), vb = splat32(b);
	__m128i ha = _mm256_castsi256_si128(va);
	__m128i hb = _mm256_castsi256_si128(vb);
	size_t i;
	int m;

	for (i = 0; len - i >= VLEN; i += VLEN)
		if ((m = _mm256_movemask_epi8(eq2(load32(p + i), va, vb))) != 0)
			return first_set(i, m);
	if (len - i >= HLEN) {
		m = _mm_movemask_epi8(eq2_16(load16(p + i), ha, hb));
		if (m != 0)
			return first_set(i, m);
		i += HLEN;
	}
	for (; i < len; i++)
		if (p[i] == a || p[i] == b)
			break;
	return i;
}

static __m256i
eq4(__m256i v, const __m256i *s)
{
	return _mm256_or_si256(eq2(v, s[0], s[1]), eq2(v, s[2], s[3]));
}

/* Vector part of cls for sets of at most 4 bytes (repeated to fill s). */
static size_t
cls4(const uint8_t *p, size_t len, const __m256i *s)
{
	size_t i;
	int m;

	for (i = 0; len - i >= VLEN; i += VLEN)
		if ((m = _mm256_movemask_epi8(eq4(load32(p + i), s))) != 0)
			return first_set(i, m);
	return i;
}

static size_t
cls8(const uint8_t *p, size_t len, const __m256i *s)
{
	__m256i v;
	size_t i;
	int m;

	for (i = 0; len - i >= VLEN; i += VLEN) {
		v = load32(p + i);
		m = _mm256_movemask_epi8(
		    _mm256_or_si256(eq4(v, s), eq4(v, s + 4)));
		if (m != 0)
			return first_set(i, m);
	}
	return i;
}

static bool
in_class(uint8_t c, const uint8_t *set, size_t n)
{
	size_t k;

	for (k = 0; k < n; k++)
		if (c == set[k])
			return true;
	return false;
}

/*
 * As in scan_sse2.c, the class bytes are repeated to fill 4 or 8
 * compare lanes. The tail after the 32-byte loop is scalar: cls is
 * off the relaxed canonicalizer's hot path, so it gets no 16-byte step.
 */
static size_t
avx2_cls(const uint8_t *p, size_t len, const struct scan_class *c)
{
	__m256i s[sizeof(c->bytes)];
	size_t i, k, n;

	n = c->nbytes < sizeof(c->bytes) ? c->nbytes : sizeof(c->bytes);
	if (n == 0)
		return len;
	for (k = 0; k < sizeof(c->bytes); k++)
		s[k] = splat32(c->bytes[k % n]);
	i = n <= 4 ? cls4(p, len, s) : cls8(p, len, s);
	for (; i < len; i++)
		if (in_class(p[i], c->bytes, n))
			break;
	return i;
}

/*
 * SP, HTAB, LF and CR have distinct low nibbles (0, 9, 10, 13), so one
 * PSHUFB lookup by low nibble followed by a compare with the input tests
 * membership exactly: a byte matches only if it equals the table entry
 * for its own low nibble, and PSHUFB yields 0 for bytes >= 0x80.
 */
static __m256i
ws_table(void)
{
	return _mm256_setr_epi8(' ', 0, 0, 0, 0, 0, 0, 0, 0, '\t', '\n', 0, 0,
	    '\r', 0, 0, ' ', 0, 0, 0, 0, 0, 0, 0, 0, '\t', '\n', 0, 0, '\r', 0,
	    0);
}

static __m256i
is_ws32(__m256i v)
{
	const __m256i t = ws_table();

	return _mm256_cmpeq_epi8(_mm256_shuffle_epi8(t, v), v);
}

static __m128i
is_ws16(__m128i v)
{
	const __m128i t = _mm256_castsi256_si128(ws_table());

	return _mm_cmpeq_epi8(_mm_shuffle_epi8(t, v), v);
}

/*
 * Stop mask for the vector at p; the caller guarantees one more readable
 * byte. A lane stops when it is WSP/EOL, unless it is SP and the next
 * byte is not: stop = ws0 & ~(sp0 & ~ws1).
 */
static int
relaxed_mask32(const uint8_t *p)
{
	__m256i v0 = load32(p), v1 = load32(p + 1), sp0;

	sp0 = _mm256_cmpeq_epi8(v0, splat32(' '));
	return _mm256_movemask_epi8(_mm256_andnot_si256(
	    _mm256_andnot_si256(is_ws32(v1), sp0), is_ws32(v0)));
}

static int
relaxed_mask16(const uint8_t *p)
{
	__m128i v0 = load16(p), v1 = load16(p + 1), sp0;

	sp0 = _mm_cmpeq_epi8(v0, _mm_set1_epi8(' '));
	return _mm_movemask_epi8(
	    _mm_andnot_si128(_mm_andnot_si128(is_ws16(v1), sp0), is_ws16(v0)));
}

static bool
is_wsp_or_eol(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool
is_relaxed_stop(const uint8_t *p, size_t len, size_t i)
{
	if (p[i] == '\t' || p[i] == '\r' || p[i] == '\n')
		return true;
	return p[i] == ' ' && (i + 1 == len || is_wsp_or_eol(p[i + 1]));
}

static size_t
avx2_relaxed_stop(const uint8_t *p, size_t len)
{
	size_t i;
	int m;

	for (i = 0; len - i > VLEN; i += VLEN)
		if ((m = relaxed_mask32(p + i)) != 0)
			return first_set(i, m);
	if (len - i > HLEN) {
		if ((m = relaxed_mask16(p + i)) != 0)
			return first_set(i, m);
		i += HLEN;
	}
	for (; i < len; i++)
		if (is_relaxed_stop(p, len, i))
			break;
	return i;
}

const struct scan_ops scan_ops_avx2 = {
	.name = "avx2",
	.byte2 = avx2_byte2,
	.cls = avx2_cls,
	.relaxed_stop = avx2_relaxed_stop,
};

#if defined(__clang__)
#pragma clang attribute pop
#endif
