/*
 * spf_macro.c - RFC 7208 §7: macro-string grammar and expansion.
 *
 * Domain expansions are written into a window that keeps the last
 * octets only: §7.3 truncation removes labels from the left, so the
 * octets that can survive are the last 253, and the window never needs
 * more than a few times that, whatever a record repeats.
 */
#include "spf_macro.h"

#include <stdio.h>
#include <string.h>

#include "spf.h"

#define WINDOW 2048

struct macro {
	uint8_t letter; /* lower case */
	bool url;       /* upper-case letter: URL-escape (§7.3) */
	bool rev;
	unsigned n; /* right-hand parts to keep; 0 = all */
	char delim[8];
};

#define F_CRT 1u
#define F_SP  2u

enum tok {
	TOK_END = 0,
	TOK_LIT,
	TOK_MACRO,
	TOK_ERR,
};

/* Output: a sliding window (domains) or a cut-off buffer (text). */
struct out {
	uint8_t *p;
	size_t len;
	size_t cap;
	bool window;
	bool dropped; /* window: octets fell off the left */
	size_t work;  /* octets generated so far */
};

/* An empty span may have a NULL pointer; arithmetic on it is undefined. */
static span
nonnull(span s)
{
	static const uint8_t empty[1];

	return s.p != NULL ? s : span_make(empty, 0);
}

static uint8_t
lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + ('a' - 'A')) : c;
}

static bool
is_delim(uint8_t c)
{
	return c == '.' || c == '-' || c == '+' || c == ',' || c == '/' ||
	    c == '_' || c == '=';
}

/*
 * One token at *pp: a literal octet (lit set; "%%", "%_", "%-" included,
 * *expand then true) or a macro-expand "%{...}" in m. fl: F_CRT allows
 * the c, r, t letters, F_SP a literal SP (explain-string).
 */
static enum tok
next_tok(const uint8_t **pp, const uint8_t *end, unsigned fl, uint8_t *lit,
    struct macro *m, bool *expand)
{
	const uint8_t *p = *pp;
	size_t nd = 0;
	unsigned n = 0;

	*expand = false;
	if (p >= end)
		return TOK_END;
	if (*p != '%') {
		if (*p < 0x21 || *p > 0x7e) {
			if (!((fl & F_SP) != 0 && *p == ' '))
				return TOK_ERR;
		}
		*lit = *p;
		*pp = p + 1;
		return TOK_LIT;
	}
	if (++p >= end)
		return TOK_ERR;
	*expand = true;
	switch (*p) {
	case '%':
		*lit = '%';
		*pp = p + 1;
		return TOK_LIT;
	case '_':
		*lit = ' ';
		*pp = p + 1;
		return TOK_LIT;
	case '-':
		*lit = 0; /* "%20", written by the caller */
		*pp = p + 1;
		return TOK_LIT;
	case '{':
		break;
	default:
		return TOK_ERR;
	}
	if (++p >= end)
		return TOK_ERR;
	memset(m, 0, sizeof(*m));
	m->letter = lower(*p);
	m->url = *p >= 'A' && *p <= 'Z';
	if (strchr((fl & F_CRT) != 0 ? "slodiphcrtv" : "slodiphv", m->letter) ==
	        NULL ||
	    m->letter == 0)
		return TOK_ERR;
	p++;
	if (p < end && *p >= '0' && *p <= '9') {
		while (p < end && *p >= '0' && *p <= '9') {
			if (n < 100000)
				n = n * 10 + (unsigned)(*p - '0');
			p++;
		}
		/* §7.1: "If a DIGIT is specified, the value MUST be nonzero."
		 */
		if (n == 0)
			return TOK_ERR;
	}
	m->n = n;
	if (p < end && (*p == 'r' || *p == 'R')) {
		m->rev = true;
		p++;
	}
	while (p < end && is_delim(*p)) {
		if (nd + 1 < sizeof(m->delim) && strchr(m->delim, *p) == NULL)
			m->delim[nd++] = (char)*p;
		p++;
	}
	if (p >= end || *p != '}')
		return TOK_ERR;
	*pp = p + 1;
	return TOK_MACRO;
}

bool
spf_macro_check(span s, bool crt, bool sp)
{
	unsigned fl = (crt ? F_CRT : 0) | (sp ? F_SP : 0);
	const uint8_t *p, *end;
	struct macro m;
	uint8_t lit;
	bool expand;
	enum tok t;

	s = nonnull(s);
	p = s.p;
	end = s.p + s.len;
	while ((t = next_tok(&p, end, fl, &lit, &m, &expand)) != TOK_END)
		if (t == TOK_ERR)
			return false;
	return true;
}

static bool
is_alnum(uint8_t c)
{
	return (c >= '0' && c <= '9') || (lower(c) >= 'a' && lower(c) <= 'z');
}

/*
 * toplabel = ( *alphanum ALPHA *alphanum ) /
 *	      ( 1*alphanum "-" *( alphanum / "-" ) alphanum )
 * i.e. alphanumerics and inner dashes, not all digits (RFC 7208 §7.1).
 */
bool
spf_is_toplabel(span l)
{
	bool alpha = false, dash = false;
	size_t i;

	if (l.len == 0 || !is_alnum(l.p[0]) || !is_alnum(l.p[l.len - 1]))
		return false;
	for (i = 0; i < l.len; i++) {
		if (l.p[i] == '-')
			dash = true;
		else if (!is_alnum(l.p[i]))
			return false;
		else if (!(l.p[i] >= '0' && l.p[i] <= '9'))
			alpha = true;
	}
	return alpha || dash;
}

bool
spf_domain_spec_check(span s)
{
	const uint8_t *p, *end, *run;
	struct macro m;
	uint8_t lit;
	bool expand, last_macro = false;
	enum tok t;
	span tail;
	size_t dot;

	s = nonnull(s);
	p = s.p;
	end = s.p + s.len;
	run = s.p;
	/* run: start of the trailing run of plain literal octets. */
	while ((t = next_tok(&p, end, 0, &lit, &m, &expand)) != TOK_END) {
		if (t == TOK_ERR)
			return false;
		last_macro = expand;
		if (expand)
			run = p;
	}
	if (s.len == 0)
		return false;
	if (last_macro)
		return true; /* domain-end = macro-expand */
	/* domain-end = "." toplabel [ "." ] */
	tail = span_make(run, (size_t)(end - run));
	if (tail.len > 0 && tail.p[tail.len - 1] == '.')
		tail.len--;
	for (dot = tail.len; dot > 0 && tail.p[dot - 1] != '.'; dot--)
		;
	if (dot == 0)
		return false;
	return spf_is_toplabel(span_sub(tail, dot, tail.len - dot));
}

bool
spf_macro_uses_p(span s)
{
	const uint8_t *p, *end;
	struct macro m;
	uint8_t lit;
	bool expand;
	enum tok t;

	s = nonnull(s);
	p = s.p;
	end = s.p + s.len;
	while ((t = next_tok(&p, end, F_CRT | F_SP, &lit, &m, &expand)) !=
	    TOK_END) {
		if (t == TOK_ERR)
			return false;
		if (t == TOK_MACRO && m.letter == 'p')
			return true;
	}
	return false;
}

bool
spf_name_is_valid(span name)
{
	size_t i, label = 0;

	if (name.len == 0 || name.len > 253)
		return false;
	for (i = 0; i < name.len; i++) {
		if (name.p[i] != '.') {
			if (++label > 63)
				return false;
			continue;
		}
		if (label == 0)
			return false;
		label = 0;
	}
	return label > 0;
}

/* Append n octets; false once the work bound is passed. */
static bool
out_add(struct out *o, const uint8_t *p, size_t n)
{
	if (n > SPF_MACRO_MAX_WORK - o->work)
		return false;
	o->work += n;
	if (!o->window) {
		if (n > o->cap - o->len)
			n = o->cap - o->len;
		memcpy(o->p + o->len, p, n);
		o->len += n;
		return true;
	}
	if (n >= o->cap / 2) {
		/* Only the tail of a long piece can survive. */
		o->dropped = o->dropped || o->len > 0 || n > o->cap / 2;
		p += n - o->cap / 2;
		n = o->cap / 2;
		o->len = 0;
	} else if (n > o->cap - o->len) {
		size_t keep = o->cap / 2 - n;

		memmove(o->p, o->p + o->len - keep, keep);
		o->len = keep;
		o->dropped = true;
	}
	memcpy(o->p + o->len, p, n);
	o->len += n;
	return true;
}

static bool
out_byte(struct out *o, uint8_t c)
{
	return out_add(o, &c, 1);
}

/* RFC 3986 unreserved characters stay, the rest become %XX (§7.3). */
static bool
out_url(struct out *o, const uint8_t *p, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	uint8_t e[3];
	size_t i;

	for (i = 0; i < n; i++) {
		uint8_t c = p[i];

		if (is_alnum(c) || c == '-' || c == '.' || c == '_' ||
		    c == '~') {
			if (!out_byte(o, c))
				return false;
			continue;
		}
		e[0] = '%';
		e[1] = (uint8_t)hex[c >> 4];
		e[2] = (uint8_t)hex[c & 15];
		if (!out_add(o, e, 3))
			return false;
	}
	return true;
}

static bool
out_piece(struct out *o, const uint8_t *p, size_t n, bool url)
{
	return url ? out_url(o, p, n) : out_add(o, p, n);
}

/*
 * §7.3 transformers: split on the delimiters (default "."), reverse if
 * asked, keep the right-hand n parts, join with ".".
 */
static bool
put_value(struct out *o, span val, const struct macro *m)
{
	uint16_t start[SPF_VALUE_MAX + 2];
	const char *delim = m->delim[0] != '\0' ? m->delim : ".";
	size_t k = 0, i, first, keep;
	static const uint8_t dot = '.';

	val = nonnull(val);
	if (val.len > SPF_VALUE_MAX)
		val.len = SPF_VALUE_MAX;
	start[k++] = 0;
	for (i = 0; i < val.len; i++)
		if (val.p[i] != 0 && strchr(delim, val.p[i]) != NULL)
			start[k++] = (uint16_t)(i + 1);
	start[k] = (uint16_t)(val.len + 1);
	keep = (m->n == 0 || m->n > k) ? k : m->n;
	for (i = 0; i < keep; i++) {
		/* Part index in the (possibly reversed) list's right end. */
		size_t idx = m->rev ? keep - 1 - i : k - keep + i;

		first = start[idx];
		if (i > 0 && !out_piece(o, &dot, 1, m->url))
			return false;
		if (!out_piece(
		        o, val.p + first, start[idx + 1] - 1 - first, m->url))
			return false;
	}
	return true;
}

/*
 * %{i}: dotted quad, or 32 dot-separated nibbles for IPv6 (§7.3). The
 * nibbles are upper case, as the openspf.org RFC 7208 suite
 * (v-macro-ip6), pyspf and Mail::SPF write them; the §7.4 example shows
 * lower case. Only an exp= text can tell: DNS names ignore case.
 */
static size_t
ip_dotted(const struct spf_ip *ip, uint8_t *b, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, n = 0;

	if (ip->len == 4)
		return spf_ip_format(ip, (char *)b, cap);
	for (i = 0; i < 32 && n + 2 <= cap; i++) {
		uint8_t x = ip->b[i / 2];

		b[n++] = (uint8_t)hex[i % 2 == 0 ? x >> 4 : x & 15];
		if (i < 31)
			b[n++] = '.';
	}
	return n;
}

static bool
put_macro(struct out *o, const struct macro *m, const struct spf_macro_vars *v)
{
	uint8_t tmp[72];
	span val;
	int n;

	switch (m->letter) {
	case 's':
		val = v->s;
		break;
	case 'l':
		val = v->l;
		break;
	case 'o':
		val = v->o;
		break;
	case 'd':
		val = v->d;
		break;
	case 'h':
		val = v->h;
		break;
	case 'r':
		val = v->r.len > 0 ? v->r : SPAN_LIT("unknown");
		break;
	case 'p':
		val = v->p.len > 0 ? v->p : SPAN_LIT("unknown");
		break;
	case 'v':
		val = v->ip->len == 4 ? SPAN_LIT("in-addr") : SPAN_LIT("ip6");
		break;
	case 'i':
		val = span_make(tmp, ip_dotted(v->ip, tmp, sizeof(tmp)));
		break;
	case 'c':
		val = span_make(
		    tmp, spf_ip_format(v->ip, (char *)tmp, sizeof(tmp)));
		break;
	case 't':
		n = snprintf(
		    (char *)tmp, sizeof(tmp), "%llu", (unsigned long long)v->t);
		val = span_make(tmp, n > 0 ? (size_t)n : 0);
		break;
	default:
		return false;
	}
	return put_value(o, val, m);
}

static bool
expand_str(span in, const struct spf_macro_vars *v, bool exp, struct out *o)
{
	static const uint8_t pct20[] = { '%', '2', '0' };
	const uint8_t *p, *end;
	struct macro m;
	uint8_t lit;
	bool ex;
	enum tok t;

	in = nonnull(in);
	p = in.p;
	end = in.p + in.len;
	while ((t = next_tok(&p, end, exp ? F_CRT | F_SP : 0, &lit, &m, &ex)) !=
	    TOK_END) {
		switch (t) {
		case TOK_LIT:
			if (ex && lit == 0) {
				if (!out_add(o, pct20, sizeof(pct20)))
					return false;
			} else if (!out_byte(o, lit)) {
				return false;
			}
			break;
		case TOK_MACRO:
			if (!put_macro(o, &m, v))
				return false;
			break;
		case TOK_END:
		case TOK_ERR:
			return false;
		}
	}
	return true;
}

bool
spf_macro_domain(
    span spec, const struct spf_macro_vars *v, struct spf_name *out)
{
	uint8_t win[WINDOW];
	struct out o = { win, 0, sizeof(win), true, false, 0 };
	size_t skip = 0, i;

	out->len = 0;
	out->valid = false;
	if (!expand_str(spec, v, false, &o))
		return false;
	if (o.len > 0 && win[o.len - 1] == '.')
		o.len--;
	/* A label cut by the window is not a label: drop through its dot. */
	if (o.dropped) {
		while (skip < o.len && win[skip] != '.')
			skip++;
		skip = skip < o.len ? skip + 1 : o.len;
	}
	/* §7.3: remove left labels until at most 253 octets remain. */
	for (i = skip; o.len - skip > 253 && i < o.len; i++)
		if (win[i] == '.')
			skip = i + 1;
	if (o.len - skip > 253)
		skip = o.len; /* one label longer than 253: nothing left */
	out->len = o.len - skip;
	memcpy(out->b, win + skip, out->len);
	out->valid = spf_name_is_valid(span_make(out->b, out->len));
	return true;
}

bool
spf_macro_exp(span text, const struct spf_macro_vars *v, uint8_t *out,
    size_t cap, size_t *len)
{
	struct out o = { out, 0, cap, false, false, 0 };

	*len = 0;
	if (!spf_macro_check(text, true, true) ||
	    !expand_str(text, v, true, &o))
		return false;
	*len = o.len;
	return true;
}
