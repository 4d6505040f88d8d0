#include "scan.h"

#include <emmintrin.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The x86-64 baseline table: 16 bytes per step with SSE2 compares and
 * movemask. Loads are unaligned and never cross p+len; each vector loop
 * stops where fewer than a whole vector remains (or at a match) and
 * returns that offset to a scalar loop, which finishes the tail and
 * confirms the match.
 */

#define VLEN 16

static __m128i
load(const uint8_t *p)
{
	return _mm_loadu_si128((const __m128i *)(const void *)p);
}

static __m128i
splat(uint8_t c)
{
	return _mm_set1_epi8((char)c);
}

static size_t
first_set(size_t i, int m)
{
	return i + (size_t)__builtin_ctz((unsigned)m);
}

/* Lanes equal to x or to y. */
static __m128i
eq2(__m128i v, __m128i x, __m128i y)
{
	return _mm_or_si128(_mm_cmpeq_epi8(v, x), _mm_cmpeq_epi8(v, y));
}

static __m128i
eq4(__m128i v, const __m128i *s)
{
	return _mm_or_si128(eq2(v, s[0], s[1]), eq2(v, s[2], s[3]));
}

static size_t
sse2_byte2(const uint8_t *p, size_t len, uint8_t a, uint8_t b)
{
	__m128i va = splat(a), vb = splat(b);
	size_t i;
	int m;

	for (i = 0; len - i >= VLEN; i += VLEN) {
		if ((m = _mm_movemask_epi8(eq2(load(p + i), va, vb))) != 0)
			return first_set(i, m);
	}
	for (; i < len; i++)
		if (p[i] == a || p[i] == b)
			break;
	return i;
}

/* Vector part of cls for sets of at most 4 bytes (repeated to fill s). */
static size_t
cls4(const uint8_t *p, size_t len, const __m128i *s)
{
	size_t i;
	int m;

	for (i = 0; len - i >= VLEN; i += VLEN)
		if ((m = _mm_movemask_epi8(eq4(load(p + i), s))) != 0)
			return first_set(i, m);
	return i;
}

static size_t
cls8(const uint8_t *p, size_t len, const __m128i *s)
{
	__m128i v;
	size_t i;
	int m;

	for (i = 0; len - i >= VLEN; i += VLEN) {
		v = load(p + i);
		m = _mm_movemask_epi8(_mm_or_si128(eq4(v, s), eq4(v, s + 4)));
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
 * Fixed-width compare chains instead of a loop over nbytes: repeating
 * the class bytes to fill 4 or 8 lanes costs a redundant compare at
 * worst and keeps the inner loop branch-free.
 */
static size_t
sse2_cls(const uint8_t *p, size_t len, const struct scan_class *c)
{
	__m128i s[sizeof(c->bytes)];
	size_t i, k, n;

	n = c->nbytes < sizeof(c->bytes) ? c->nbytes : sizeof(c->bytes);
	if (n == 0)
		return len;
	for (k = 0; k < sizeof(c->bytes); k++)
		s[k] = splat(c->bytes[k % n]);
	i = n <= 4 ? cls4(p, len, s) : cls8(p, len, s);
	for (; i < len; i++)
		if (in_class(p[i], c->bytes, n))
			break;
	return i;
}

static __m128i
is_ctl(__m128i v)
{
	return _mm_or_si128(
	    eq2(v, splat('\t'), splat('\r')), _mm_cmpeq_epi8(v, splat('\n')));
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

/*
 * v0 holds p[i..i+15] and v1 p[i+1..i+16], so lane j of v1 is the byte
 * after lane j of v0. A lane stops when it is WSP/EOL, unless it is SP
 * and the next byte is not: stop = ws0 & ~(sp0 & ~ws1).
 */
static size_t
sse2_relaxed_stop(const uint8_t *p, size_t len)
{
	__m128i v0, v1, sp0, ws0, ws1, stop;
	size_t i;
	int m;

	for (i = 0; len - i > VLEN; i += VLEN) {
		v0 = load(p + i);
		v1 = load(p + i + 1);
		sp0 = _mm_cmpeq_epi8(v0, splat(' '));
		ws0 = _mm_or_si128(sp0, is_ctl(v0));
		ws1 = _mm_or_si128(_mm_cmpeq_epi8(v1, splat(' ')), is_ctl(v1));
		stop = _mm_andnot_si128(_mm_andnot_si128(ws1, sp0), ws0);
		if ((m = _mm_movemask_epi8(stop)) != 0)
			return first_set(i, m);
	}
	for (; i < len; i++)
		if (is_relaxed_stop(p, len, i))
			break;
	return i;
}

const struct scan_ops scan_ops_sse2 = {
	.name = "sse2",
	.byte2 = sse2_byte2,
	.cls = sse2_cls,
	.relaxed_stop = sse2_relaxed_stop,
};
