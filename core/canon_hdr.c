#include "canon.h"

static bool
is_wsp(uint8_t c)
{
	return c == ' ' || c == '\t';
}

static uint8_t
lower_ascii(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + ('a' - 'A')) : c;
}

/*
 * RFC 6376 §3.4.2: lowercase the name, unfold, reduce WSP runs to one SP,
 * drop WSP at the end of the value and around the colon.
 */
bool
canon_hdr_relaxed(struct buf *out, span name, span value, bool last)
{
	size_t mark = out->len, i, start;
	bool wsp = false, content = false;

	for (i = 0; i < name.len; i++)
		if (!buf_add_byte(out, lower_ascii(name.p[i])))
			goto full;
	if (!buf_add_byte(out, ':'))
		goto full;
	for (i = 0; i < value.len;) {
		uint8_t c = value.p[i];

		if (c == '\r' && i + 1 < value.len && value.p[i + 1] == '\n') {
			i += 2;
			continue;
		}
		if (c == '\n') {
			i++;
			continue;
		}
		if (is_wsp(c)) {
			wsp = true;
			i++;
			continue;
		}
		if (wsp && content && !buf_add_byte(out, ' '))
			goto full;
		wsp = false;
		content = true;
		/* Copy the run of ordinary bytes in one append. */
		for (start = i; i < value.len && !is_wsp(value.p[i]) &&
		     value.p[i] != '\r' && value.p[i] != '\n';)
			i++;
		if (!buf_add(out, value.p + start, i - start))
			goto full;
		/* A CR not starting CRLF is an ordinary byte. */
		if (i < value.len && value.p[i] == '\r' &&
		    (i + 1 == value.len || value.p[i + 1] != '\n')) {
			if (!buf_add_byte(out, '\r'))
				goto full;
			i++;
		}
	}
	if (!last && !buf_add(out, "\r\n", 2))
		goto full;
	return true;
full:
	out->len = mark;
	return false;
}

/* RFC 6376 §3.4.1: unchanged, but a bare LF is written as CRLF (§5.3). */
bool
canon_hdr_simple(struct buf *out, span raw, bool last)
{
	size_t mark = out->len, i, start = 0;

	for (i = 0; i < raw.len; i++) {
		if (raw.p[i] != '\n' || (i > 0 && raw.p[i - 1] == '\r'))
			continue;
		if (!buf_add(out, raw.p + start, i - start) ||
		    !buf_add(out, "\r\n", 2))
			goto full;
		start = i + 1;
	}
	if (!buf_add(out, raw.p + start, raw.len - start))
		goto full;
	if (!last && !buf_add(out, "\r\n", 2))
		goto full;
	return true;
full:
	out->len = mark;
	return false;
}

const char *
canon_alg_str(enum canon_alg a)
{
	return a == CANON_RELAXED ? "relaxed" : "simple";
}
