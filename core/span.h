/*
 * NAME
 *	span.h - borrowed byte ranges and bounded output buffers
 * DESCRIPTION
 *	A span is a pointer and a length into memory someone else owns; all
 *	message data travels as spans and is never NUL-terminated. A buf is
 *	an output buffer whose storage is either fixed or grown from an arena;
 *	appends that do not fit return false and leave the buf unchanged.
 */
#ifndef HANKO_CORE_SPAN_H
#define HANKO_CORE_SPAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
	const uint8_t *p;
	size_t len;
} span;

struct arena;

/*
 * Output buffer. When ar is NULL the storage [p, p+cap) is fixed; otherwise
 * it grows from the arena (old storage stays valid until the arena resets).
 */
struct buf {
	uint8_t *p;
	size_t len;
	size_t cap;
	struct arena *ar;
};

#define SPAN_INIT(s)                                \
	{                                           \
		(const uint8_t *)(s), sizeof(s) - 1 \
	}
#define SPAN_LIT(s) ((span)SPAN_INIT(s))

static inline span
span_make(const void *p, size_t len)
{
	span s = { (const uint8_t *)p, len };
	return s;
}

static inline span
span_sub(span s, size_t off, size_t len)
{
	span r = { s.p + off, len };
	return r;
}

/* A span over a NUL-terminated C string (CLI values only). */
span span_cstr(const char *s);
bool span_eq(span a, span b);
/* ASCII-only case-insensitive comparison; no locale. */
bool span_ieq_ascii(span a, span b);
bool span_ieq_cstr(span a, const char *s);
/* Strip leading and trailing SP, HTAB, CR and LF. */
span span_trim_ws(span s);
/* Parse an unsigned decimal number of at most 20 digits; false on junk. */
bool span_to_u64(span s, uint64_t *out);
bool span_has_prefix_ci(span s, span prefix);
/* Length of the valid UTF-8 sequence (RFC 3629) at p[0..n), or 0. */
size_t span_utf8_len(const uint8_t *p, size_t n);

void buf_init_fixed(struct buf *b, uint8_t *p, size_t cap);
void buf_init_arena(struct buf *b, struct arena *ar);
/* Append bytes; false (buf unchanged) when full or the arena is spent. */
bool buf_add(struct buf *b, const void *p, size_t len);
bool buf_add_span(struct buf *b, span s);
bool buf_add_cstr(struct buf *b, const char *s);
bool buf_add_byte(struct buf *b, uint8_t c);
bool buf_add_u64(struct buf *b, uint64_t v);
static inline span
buf_span(const struct buf *b)
{
	span s = { b->p, b->len };
	return s;
}

#endif
