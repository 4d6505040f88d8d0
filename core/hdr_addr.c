/*
 * RFC 5322 §3.4 mailbox lists: display names, quoted strings, comments
 * (nested), angle-addr, groups. Each mailbox's addr-spec is rebuilt in the
 * arena without comments and folding white space.
 */
#include "hdr.h"

#include <string.h>

#include "arena.h"

struct addr_state {
	struct arena *ar;
	span *addrs;
	size_t max, n;
	struct buf cur;   /* addr-spec text outside <> */
	struct buf angle; /* text inside <> */
	bool has_angle;
	int depth_angle;
};

/* Skip a comment starting at p[i] == '('; returns the index after it. */
static size_t
skip_comment(span v, size_t i)
{
	int depth = 0;

	for (; i < v.len; i++) {
		if (v.p[i] == '\\') {
			i++;
		} else if (v.p[i] == '(') {
			depth++;
		} else if (v.p[i] == ')' && --depth == 0) {
			return i + 1;
		}
	}
	return SIZE_MAX;
}

/* Copy a quoted string starting at p[i] == '"' into b; index after it. */
static size_t
take_quoted(span v, size_t i, struct buf *b)
{
	size_t start = i;

	for (i++; i < v.len; i++) {
		if (v.p[i] == '\\') {
			i++;
		} else if (v.p[i] == '"') {
			if (b != NULL &&
			    !buf_add(b, v.p + start, i + 1 - start))
				return HDR_ADDR_NOMEM;
			return i + 1;
		}
	}
	return SIZE_MAX;
}

static bool
end_mailbox(struct addr_state *st)
{
	struct buf *src = st->has_angle ? &st->angle : &st->cur;
	span a = buf_span(src);

	/* A bare display name without an address is not a mailbox. */
	if (a.len > 0 && (st->has_angle || memchr(a.p, '@', a.len) != NULL)) {
		if (st->n < st->max)
			st->addrs[st->n] = a;
		st->n++;
	}
	buf_init_arena(&st->cur, st->ar);
	buf_init_arena(&st->angle, st->ar);
	st->has_angle = false;
	return true;
}

static size_t
step(struct addr_state *st, span v, size_t i)
{
	uint8_t c = v.p[i];
	struct buf *b = st->depth_angle ? &st->angle : &st->cur;
	/* After "<...>" only comments and white space may end the mailbox. */
	bool closed = st->has_angle && st->depth_angle == 0;

	switch (c) {
	case '(':
		return skip_comment(v, i);
	case '"':
		return closed ? SIZE_MAX : take_quoted(v, i, b);
	case '<':
		/* One angle-addr per mailbox; a second would be glued on. */
		if (st->depth_angle++ != 0 || st->has_angle)
			return SIZE_MAX;
		st->has_angle = true;
		return i + 1;
	case '>':
		if (--st->depth_angle != 0)
			return SIZE_MAX;
		return i + 1;
	case ',':
	case ';':
		if (st->depth_angle)
			return SIZE_MAX;
		end_mailbox(st);
		return i + 1;
	case ':':
		/* A group name ends here; what came before was its name. */
		if (!st->depth_angle) {
			buf_init_arena(&st->cur, st->ar);
			return i + 1;
		}
		break;
	case ' ':
	case '\t':
	case '\r':
	case '\n':
		return i + 1;
	default:
		break;
	}
	if (closed)
		return SIZE_MAX;
	return buf_add_byte(b, c) ? i + 1 : HDR_ADDR_NOMEM;
}

size_t
hdr_addr_list(span value, struct arena *ar, span *addrs, size_t max)
{
	struct addr_state st;
	size_t i = 0;

	memset(&st, 0, sizeof(st));
	st.ar = ar;
	st.addrs = addrs;
	st.max = max;
	buf_init_arena(&st.cur, ar);
	buf_init_arena(&st.angle, ar);
	while (i < value.len) {
		if ((i = step(&st, value, i)) >= HDR_ADDR_NOMEM)
			return i;
	}
	if (st.depth_angle != 0)
		return SIZE_MAX;
	end_mailbox(&st);
	return st.n;
}

span
hdr_addr_domain(span addr)
{
	size_t i = addr.len;

	while (i > 0 && addr.p[i - 1] != '@')
		i--;
	if (i == 0)
		return span_make(addr.p + addr.len, 0);
	return span_make(addr.p + i, addr.len - i);
}

static bool
is_let_dig(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

/*
 * RFC 5321 §4.1.2 Domain: sub-domain *("." sub-domain), each sub-domain a
 * Let-dig, then LDH with a Let-dig last; RFC 1035 §2.3.4 bounds a label
 * to 63 octets and a name to 255 on the wire, 253 as text. No trailing
 * dot, no underscore (RFC 5321 host names have none), no octet over 0x7f:
 * an internationalised name is written as A-labels here (RFC 5890), so
 * one domain has one spelling.
 */
bool
hdr_domain_is_host(span d)
{
	size_t i, lab = 0;

	if (d.len == 0 || d.len > 253)
		return false;
	for (i = 0; i < d.len; i++) {
		uint8_t c = d.p[i];

		if (c == '.') {
			if (lab == 0 || d.p[i - 1] == '-')
				return false;
			lab = 0;
		} else if (c == '-') {
			if (lab++ == 0)
				return false;
		} else if (!is_let_dig(c)) {
			return false;
		} else {
			lab++;
		}
		if (lab > 63)
			return false;
	}
	return lab > 0 && d.p[d.len - 1] != '-';
}
