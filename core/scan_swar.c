#include "scan.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * The portable table: eight bytes at a time, musl memchr style. Words
 * are read with memcpy, which compiles to one unaligned load and has no
 * aliasing or alignment UB, so no aligned prologue is needed. Bytes that
 * do not fill a whole word are handled by the scalar tail; nothing is
 * read outside [p, p+len).
 *
 * has_byte() is musl's HASZERO applied to w ^ splat(c): it sets the high
 * bit of every byte of w equal to c, and may also set it in a byte above
 * a real match (the borrow). Such false positives are harmless for byte2
 * and cls, where a flagged word always holds a real match, and are
 * filtered out for relaxed_stop by resolving every flagged word with the
 * exact scalar test. Resolving in byte order keeps the code endian-neutral.
 */

#define ONES     ((uint64_t)0x0101010101010101ULL)
#define HIGHS    ((uint64_t)0x8080808080808080ULL)
#define WORD     sizeof(uint64_t)
#define SPLAT(c) (ONES * (uint64_t)(c))

static uint64_t
load64(const uint8_t *p)
{
	uint64_t w;

	memcpy(&w, p, sizeof(w));
	return w;
}

static uint64_t
has_byte(uint64_t w, uint64_t splat)
{
	uint64_t x = w ^ splat;

	return (x - ONES) & ~x & HIGHS;
}

static size_t
swar_byte2(const uint8_t *p, size_t len, uint8_t a, uint8_t b)
{
	uint64_t sa = SPLAT(a), sb = SPLAT(b), w;
	size_t i;

	for (i = 0; len - i >= WORD; i += WORD) {
		w = load64(p + i);
		if ((has_byte(w, sa) | has_byte(w, sb)) != 0)
			break;
	}
	for (; i < len; i++)
		if (p[i] == a || p[i] == b)
			break;
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

static size_t
swar_cls(const uint8_t *p, size_t len, const struct scan_class *c)
{
	uint64_t splat[sizeof(c->bytes)], w, m;
	size_t i, k, n;

	n = c->nbytes < sizeof(c->bytes) ? c->nbytes : sizeof(c->bytes);
	if (n == 0)
		return len;
	for (k = 0; k < n; k++)
		splat[k] = SPLAT(c->bytes[k]);
	for (i = 0; len - i >= WORD; i += WORD) {
		w = load64(p + i);
		m = 0;
		for (k = 0; k < n; k++)
			m |= has_byte(w, splat[k]);
		if (m != 0)
			break;
	}
	for (; i < len; i++)
		if (in_class(p[i], c->bytes, n))
			break;
	return i;
}

static bool
is_wsp_or_eol(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The exact test, for p[i] with i < len. */
static bool
is_relaxed_stop(const uint8_t *p, size_t len, size_t i)
{
	if (p[i] == '\t' || p[i] == '\r' || p[i] == '\n')
		return true;
	return p[i] == ' ' && (i + 1 == len || is_wsp_or_eol(p[i + 1]));
}

/*
 * A candidate mask for the word at p: HTAB, CR or LF at j, or SP at j
 * with SP, HTAB, CR or LF at j+1 (read from the overlapping word at
 * p+1, so the caller guarantees nine readable bytes).
 */
static uint64_t
relaxed_candidates(const uint8_t *p)
{
	uint64_t w0 = load64(p), w1 = load64(p + 1), ctl0, ws1;

	ctl0 = has_byte(w0, SPLAT('\t')) | has_byte(w0, SPLAT('\r')) |
	    has_byte(w0, SPLAT('\n'));
	ws1 = has_byte(w1, SPLAT(' ')) | has_byte(w1, SPLAT('\t')) |
	    has_byte(w1, SPLAT('\r')) | has_byte(w1, SPLAT('\n'));
	return ctl0 | (has_byte(w0, SPLAT(' ')) & ws1);
}

static size_t
swar_relaxed_stop(const uint8_t *p, size_t len)
{
	size_t i, j;

	for (i = 0; len - i > WORD; i += WORD) {
		if (relaxed_candidates(p + i) == 0)
			continue;
		for (j = i; j < i + WORD; j++)
			if (is_relaxed_stop(p, len, j))
				return j;
	}
	for (; i < len; i++)
		if (is_relaxed_stop(p, len, i))
			break;
	return i;
}

const struct scan_ops scan_ops_swar = {
	.name = "swar",
	.byte2 = swar_byte2,
	.cls = swar_cls,
	.relaxed_stop = swar_relaxed_stop,
};
