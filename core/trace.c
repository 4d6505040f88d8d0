#include "trace.h"

#include <string.h>

static bool
is_ws(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static size_t
skip_ws(span v, size_t i)
{
	while (i < v.len && is_ws(v.p[i]))
		i++;
	return i;
}

/* Offset of the ASCII word w (case-insensitive) standing alone, or len. */
static size_t
find_word(span v, size_t from, const char *w)
{
	size_t n = strlen(w), i;

	for (i = from; i + n <= v.len; i++)
		if ((i == 0 || is_ws(v.p[i - 1]) || v.p[i - 1] == '(') &&
		    span_ieq_cstr(span_make(v.p + i, n), w) &&
		    (i + n == v.len || is_ws(v.p[i + n]) || v.p[i + n] == '='))
			return i;
	return v.len;
}

/* The token at i: up to white space, '(' or ')'. */
static span
token_at(span v, size_t i)
{
	size_t e = i;

	while (e < v.len && !is_ws(v.p[e]) && v.p[e] != '(' && v.p[e] != ')')
		e++;
	return span_make(v.p + i, e - i);
}

/* The text between '[' and ']' in v[from, end), or false. */
static bool
bracketed(span v, size_t from, size_t end, span *out)
{
	size_t i, b;

	for (i = from; i < end && v.p[i] != '['; i++)
		;
	if (i == end)
		return false;
	b = i + 1;
	for (i = b; i < end && v.p[i] != ']'; i++)
		;
	if (i == end)
		return false;
	*out = span_make(v.p + b, i - b);
	return true;
}

/* Offset just past the comment that opens at i (nesting counted). */
static size_t
comment_end(span v, size_t i, size_t end)
{
	size_t depth = 0;

	for (; i < end; i++) {
		if (v.p[i] == '\\' && i + 1 < end)
			i++;
		else if (v.p[i] == '(')
			depth++;
		else if (v.p[i] == ')' && --depth == 0)
			return i + 1;
	}
	return end;
}

bool
trace_received(span value, span *helo, span *ip)
{
	size_t from, end, c, h;
	span first;

	from = find_word(value, 0, "from");
	if (from == value.len)
		return false;
	from = skip_ws(value, from + 4);
	/* The from-clause ends where the by-clause starts. */
	end = find_word(value, from, "by");
	first = token_at(span_make(value.p, end), from);
	/*
	 * The address is the one the receiving MTA saw: inside the
	 * TCP-info comment after the first token. The first token itself
	 * is the client's HELO for Postfix and Sendmail ("from [192.0.2.9]
	 * (unknown [198.51.100.7])" came from 198.51.100.7); only Exim's
	 * "from [IP] (helo=NAME)" puts the address there.
	 */
	c = skip_ws(value, from + first.len);
	if (c < end && value.p[c] == '(' &&
	    bracketed(value, c, comment_end(value, c, end), ip)) {
		;
	} else if (first.len > 2 && first.p[0] == '[') {
		if (!bracketed(first, 0, first.len, ip))
			return false;
	} else {
		return false;
	}
	if (span_has_prefix_ci(*ip, span_cstr("IPv6:")))
		*ip = span_sub(*ip, 5, ip->len - 5);
	/* Exim records the HELO name as helo=NAME inside the comment. */
	h = find_word(span_make(value.p, end), from, "helo");
	if (h < end && h + 5 <= end && value.p[h + 4] == '=') {
		*helo = token_at(span_make(value.p, end), h + 5);
		return true;
	}
	*helo = first.len > 0 && first.p[0] != '[' ? first : span_make(NULL, 0);
	return true;
}

bool
trace_return_path(span value, span *addr)
{
	span v = span_trim_ws(value);
	const uint8_t *gt;
	size_t i = 0;

	/* CFWS may come before the angle-addr (RFC 5322 §3.6.7, §3.4). */
	while (i < v.len && (is_ws(v.p[i]) || v.p[i] == '('))
		i = v.p[i] == '(' ? comment_end(v, i, v.len) : i + 1;
	v = span_sub(v, i, v.len - i);
	if (v.len < 2 || v.p[0] != '<')
		return false;
	gt = memchr(v.p, '>', v.len);
	if (gt == NULL)
		return false;
	*addr = span_make(v.p + 1, (size_t)(gt - v.p) - 1);
	return true;
}
