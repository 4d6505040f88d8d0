/*
 * spf_parse.c - SPF record and term syntax, one function per RFC 7208
 * §12 production: record, directive (qualifier mechanism), modifier,
 * dual-cidr-length, ip4-network, ip6-network.
 */
#include "spf_record.h"

#include <stdio.h>
#include <string.h>

#include "spf_macro.h"

static uint8_t
lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + ('a' - 'A')) : c;
}

static bool
is_alpha(uint8_t c)
{
	return lower(c) >= 'a' && lower(c) <= 'z';
}

static bool
is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

bool
spf_record_is_spf(span txt)
{
	return span_has_prefix_ci(txt, SPAN_LIT("v=spf1")) &&
	    (txt.len == 6 || txt.p[6] == ' ');
}

/* 1*DIGIT without leading zeros, at most max. */
static bool
parse_cidr_len(span s, unsigned max, uint8_t *out)
{
	unsigned v = 0;
	size_t i;

	if (s.len == 0 || s.len > 3 || (s.len > 1 && s.p[0] == '0'))
		return false;
	for (i = 0; i < s.len; i++) {
		if (!is_digit(s.p[i]))
			return false;
		v = v * 10 + (unsigned)(s.p[i] - '0');
	}
	if (v > max)
		return false;
	*out = (uint8_t)v;
	return true;
}

/* Length of the run of digits that ends s. */
static size_t
digits_at_end(span s)
{
	size_t n = 0;

	while (n < s.len && is_digit(s.p[s.len - 1 - n]))
		n++;
	return n;
}

/*
 * dual-cidr-length = [ ip4-cidr-length ] [ "/" ip6-cidr-length ] at the
 * end of s: removed from *s, lengths stored. A domain-spec may hold "/"
 * itself, so only a trailing "/digits" or "//digits" is a length.
 */
static bool
split_dual_cidr(span *s, struct spf_term *t)
{
	size_t n = digits_at_end(*s);

	if (n == 0 || n >= s->len || s->p[s->len - n - 1] != '/')
		return true;
	if (s->len >= n + 2 && s->p[s->len - n - 2] == '/') {
		if (!parse_cidr_len(
		        span_sub(*s, s->len - n, n), 128, &t->cidr6))
			return false;
		s->len -= n + 2;
		n = digits_at_end(*s);
		if (n == 0 || n >= s->len || s->p[s->len - n - 1] != '/')
			return true;
	}
	if (!parse_cidr_len(span_sub(*s, s->len - n, n), 32, &t->cidr4))
		return false;
	s->len -= n + 1;
	return true;
}

/* ip4-network [ ip4-cidr-length ] / ip6-network [ ip6-cidr-length ] */
static bool
parse_ip_network(span s, struct spf_term *t, bool v6)
{
	const uint8_t *slash;
	span net = s;

	if (s.len == 0)
		return false;
	slash = memchr(s.p, '/', s.len);
	if (slash != NULL) {
		net.len = (size_t)(slash - s.p);
		if (!parse_cidr_len(
		        span_sub(s, net.len + 1, s.len - net.len - 1),
		        v6 ? 128 : 32, v6 ? &t->cidr6 : &t->cidr4))
			return false;
	}
	if ((memchr(net.p, ':', net.len) != NULL) != v6)
		return false;
	return spf_ip_parse_raw(net, &t->net) && t->net.len == (v6 ? 16 : 4);
}

static const struct {
	const char *name;
	enum spf_kind kind;
} mechs[] = {
	{ "all", SPF_K_ALL },
	{ "include", SPF_K_INCLUDE },
	{ "a", SPF_K_A },
	{ "mx", SPF_K_MX },
	{ "ptr", SPF_K_PTR },
	{ "ip4", SPF_K_IP4 },
	{ "ip6", SPF_K_IP6 },
	{ "exists", SPF_K_EXISTS },
};

/* The argument of a mechanism: rest is what follows its name. */
static bool
parse_mech_arg(span rest, struct spf_term *t)
{
	bool colon = rest.len > 0 && rest.p[0] == ':';
	span arg = colon ? span_sub(rest, 1, rest.len - 1) : rest;

	switch (t->kind) {
	case SPF_K_ALL:
		return rest.len == 0;
	case SPF_K_INCLUDE:
	case SPF_K_EXISTS:
		t->domain = arg;
		return colon && spf_domain_spec_check(arg);
	case SPF_K_PTR:
		t->domain = arg;
		return rest.len == 0 || (colon && spf_domain_spec_check(arg));
	case SPF_K_A:
	case SPF_K_MX:
		if (rest.len > 0 && !colon && rest.p[0] != '/')
			return false;
		if (!split_dual_cidr(&arg, t))
			return false;
		t->domain = colon ? arg : span_make(NULL, 0);
		return colon ? spf_domain_spec_check(arg) : arg.len == 0;
	case SPF_K_IP4:
	case SPF_K_IP6:
		return colon && parse_ip_network(arg, t, t->kind == SPF_K_IP6);
	case SPF_K_REDIRECT:
	case SPF_K_EXP:
	case SPF_K_UNKNOWN:
		break;
	}
	return false;
}

/* directive = [ qualifier ] mechanism */
static bool
parse_directive(span text, struct spf_term *t)
{
	size_t i = 0, n, k;

	switch (text.p[0]) {
	case '+':
		t->qual = SPF_R_PASS;
		i = 1;
		break;
	case '-':
		t->qual = SPF_R_FAIL;
		i = 1;
		break;
	case '~':
		t->qual = SPF_R_SOFTFAIL;
		i = 1;
		break;
	case '?':
		t->qual = SPF_R_NEUTRAL;
		i = 1;
		break;
	default:
		t->qual = SPF_R_PASS;
		break;
	}
	for (n = i; n < text.len && text.p[n] != ':' && text.p[n] != '/'; n++)
		;
	for (k = 0; k < sizeof(mechs) / sizeof(mechs[0]); k++) {
		if (span_ieq_cstr(span_sub(text, i, n - i), mechs[k].name)) {
			t->kind = mechs[k].kind;
			return parse_mech_arg(
			    span_sub(text, n, text.len - n), t);
		}
	}
	return false;
}

bool
spf_term_parse(span text, struct spf_term *t)
{
	size_t n = 0;
	span name, val;

	memset(t, 0, sizeof(*t));
	t->text = text;
	t->cidr4 = 32;
	t->cidr6 = 128;
	if (text.len == 0)
		return false;
	/* modifier = name "=" ...; name = ALPHA *( ALPHA / DIGIT / - _ . ) */
	if (is_alpha(text.p[0])) {
		while (n < text.len &&
		    (is_alpha(text.p[n]) || is_digit(text.p[n]) ||
		        text.p[n] == '-' || text.p[n] == '_' ||
		        text.p[n] == '.'))
			n++;
	}
	if (n == 0 || n == text.len || text.p[n] != '=')
		return parse_directive(text, t);
	name = span_sub(text, 0, n);
	val = span_sub(text, n + 1, text.len - n - 1);
	t->qual = SPF_R_NEUTRAL;
	t->domain = val;
	/* Known names are not unknown-modifiers when malformed (§6 erratum). */
	if (span_ieq_cstr(name, "redirect")) {
		t->kind = SPF_K_REDIRECT;
		return spf_domain_spec_check(val);
	}
	if (span_ieq_cstr(name, "exp")) {
		t->kind = SPF_K_EXP;
		return spf_domain_spec_check(val);
	}
	t->kind = SPF_K_UNKNOWN;
	return spf_macro_check(val, true, false);
}

/* The text of the term after *pos; false after the last one. */
static bool
next_text(span r, size_t *pos, span *out)
{
	size_t i = *pos < 6 ? 6 : *pos, start;

	while (i < r.len && r.p[i] == ' ')
		i++;
	if (i >= r.len)
		return false;
	for (start = i; i < r.len && r.p[i] != ' '; i++)
		;
	*pos = i;
	*out = span_sub(r, start, i - start);
	return true;
}

bool
spf_record_next(const struct spf_record *rec, size_t *pos, struct spf_term *t)
{
	span text;

	return next_text(rec->text, pos, &text) && spf_term_parse(text, t);
}

static void
why_term(char *why, size_t whylen, const char *what, span term)
{
	int n = term.len > 60 ? 60 : (int)term.len;

	snprintf(why, whylen, "%s \"%.*s\"", what, n, (const char *)term.p);
}

bool
spf_record_parse(span txt, struct spf_record *rec, char *why, size_t whylen)
{
	struct spf_record r;
	struct spf_term t;
	size_t i, pos = 0;
	span text;

	memset(&r, 0, sizeof(r));
	r.text = txt;
	if (!spf_record_is_spf(txt)) {
		snprintf(why, whylen, "not an SPF record");
		return false;
	}
	/* §3.1, §4.6.1: 7-bit ASCII, terms separated by SP only. */
	for (i = 0; i < txt.len; i++) {
		if (txt.p[i] < 0x20 || txt.p[i] > 0x7e) {
			snprintf(why, whylen,
			    "record has a control or non-ASCII octet 0x%02x",
			    txt.p[i]);
			return false;
		}
	}
	while (next_text(txt, &pos, &text)) {
		if (!spf_term_parse(text, &t)) {
			why_term(why, whylen, "syntax error in term", text);
			return false;
		}
		if ((t.kind == SPF_K_REDIRECT && r.has_redirect) ||
		    (t.kind == SPF_K_EXP && r.has_exp)) {
			why_term(why, whylen, "modifier repeated:", text);
			return false;
		}
		if (t.kind == SPF_K_REDIRECT) {
			r.has_redirect = true;
			r.redirect = t.domain;
		} else if (t.kind == SPF_K_EXP) {
			r.has_exp = true;
			r.exp = t.domain;
		}
	}
	*rec = r;
	return true;
}
