#include "span.h"

#include <string.h>

#include "arena.h"

static uint8_t
lower_ascii(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + ('a' - 'A')) : c;
}

span
span_cstr(const char *s)
{
	return span_make(s, strlen(s));
}

bool
span_eq(span a, span b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

bool
span_ieq_ascii(span a, span b)
{
	size_t i;

	if (a.len != b.len)
		return false;
	for (i = 0; i < a.len; i++)
		if (lower_ascii(a.p[i]) != lower_ascii(b.p[i]))
			return false;
	return true;
}

bool
span_ieq_cstr(span a, const char *s)
{
	return span_ieq_ascii(a, span_cstr(s));
}

bool
span_has_prefix_ci(span s, span prefix)
{
	return s.len >= prefix.len &&
	    span_ieq_ascii(span_sub(s, 0, prefix.len), prefix);
}

static bool
is_ws(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

span
span_trim_ws(span s)
{
	while (s.len > 0 && is_ws(s.p[0])) {
		s.p++;
		s.len--;
	}
	while (s.len > 0 && is_ws(s.p[s.len - 1]))
		s.len--;
	return s;
}

bool
span_to_u64(span s, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (s.len == 0 || s.len > 20)
		return false;
	for (i = 0; i < s.len; i++) {
		uint64_t d;

		if (s.p[i] < '0' || s.p[i] > '9')
			return false;
		d = (uint64_t)(s.p[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

void
buf_init_fixed(struct buf *b, uint8_t *p, size_t cap)
{
	b->p = p;
	b->len = 0;
	b->cap = cap;
	b->ar = NULL;
}

void
buf_init_arena(struct buf *b, struct arena *ar)
{
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
	b->ar = ar;
}

static bool
buf_grow(struct buf *b, size_t need)
{
	size_t ncap;
	uint8_t *np;

	if (b->ar == NULL)
		return false;
	ncap = b->cap < 256 ? 256 : b->cap;
	while (ncap - b->len < need) {
		if (ncap > SIZE_MAX / 2)
			return false;
		ncap *= 2;
	}
	if ((np = arena_alloc(b->ar, ncap)) == NULL)
		return false;
	if (b->len > 0)
		memcpy(np, b->p, b->len);
	b->p = np;
	b->cap = ncap;
	return true;
}

bool
buf_add(struct buf *b, const void *p, size_t len)
{
	if (len > b->cap - b->len && !buf_grow(b, len))
		return false;
	if (len > 0)
		memcpy(b->p + b->len, p, len);
	b->len += len;
	return true;
}

bool
buf_add_span(struct buf *b, span s)
{
	return buf_add(b, s.p, s.len);
}

bool
buf_add_cstr(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

bool
buf_add_byte(struct buf *b, uint8_t c)
{
	return buf_add(b, &c, 1);
}

bool
buf_add_u64(struct buf *b, uint64_t v)
{
	char tmp[24];
	size_t n = sizeof(tmp);

	do {
		tmp[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	return buf_add(b, tmp + n, sizeof(tmp) - n);
}

/* Length of the valid UTF-8 sequence at p (RFC 3629), or 0. */
size_t
span_utf8_len(const uint8_t *p, size_t n)
{
	size_t len, i;
	uint32_t cp;

	if (p[0] < 0xc2 || p[0] > 0xf4)
		return 0;
	len = p[0] < 0xe0 ? 2 : p[0] < 0xf0 ? 3 : 4;
	if (len > n)
		return 0;
	cp = p[0] & (0x7f >> len);
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}
