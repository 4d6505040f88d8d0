/*
 * DMARC policy records: RFC 9989 §4.7 (tags), §4.8 (formal definition),
 * §4.10.1 (what an invalid policy means); RFC 7489 §6.3, §6.4, §6.6.3
 * in compatibility mode. The record is a DKIM-style tag list (RFC 6376
 * §3.2) whose first tag must be v=DMARC1.
 *
 * Choices where the text leaves room, each the reading that keeps a
 * receiver safe and interoperable:
 *  - Tag names and the keyword values (none, r, y, ...) compare ASCII
 *    case-insensitively: they are ABNF quoted strings (RFC 5234 §2.3).
 *    Only the v= value is case-sensitive (%s"DMARC1", §4.8).
 *  - A tag-spec that breaks the grammar (no '=', a name that is not
 *    1*ALPHA, an empty value, bytes outside %x20-7E) is a syntax error
 *    and is ignored (§4.8); for a known tag its default applies.
 *  - A known tag given twice is a syntax error in both places: neither
 *    value is used. For p/sp/np that makes the policy invalid.
 *  - §4.7 says a record without p= is read as p=none; §4.10.1 says an
 *    invalid p=, sp= or np= means p=none when rua= holds a valid URI and
 *    no DMARC processing otherwise. RFC 7489 §6.6.3 applies that rule to
 *    a missing p= as well (p is REQUIRED there).
 *  - pct= exists only in RFC 7489 mode; t=, np= and psd= only in RFC
 *    9989 mode (each is an unknown tag, ignored, in the other mode).
 */
#include "dmarc.h"

#include <stdio.h>
#include <string.h>

enum tag_id {
	TAG_P,
	TAG_SP,
	TAG_NP,
	TAG_ADKIM,
	TAG_ASPF,
	TAG_PSD,
	TAG_T,
	TAG_PCT,
	TAG_RUA,
	TAG_RUF,
	TAG_FO,
	TAG_UNKNOWN,
};

struct tag_name {
	const char *name;
	enum tag_id id;
	unsigned bad;
	unsigned modes; /* bit (1 << mode) */
};

#define BOTH (1u << DMARC_RFC9989 | 1u << DMARC_RFC7489)
#define BIS  (1u << DMARC_RFC9989)
#define OLD  (1u << DMARC_RFC7489)

static const struct tag_name tag_names[] = {
	{ "p", TAG_P, DMARC_BAD_P, BOTH },
	{ "sp", TAG_SP, DMARC_BAD_SP, BOTH },
	{ "np", TAG_NP, DMARC_BAD_NP, BIS },
	{ "adkim", TAG_ADKIM, DMARC_BAD_ADKIM, BOTH },
	{ "aspf", TAG_ASPF, DMARC_BAD_ASPF, BOTH },
	{ "psd", TAG_PSD, DMARC_BAD_PSD, BIS },
	{ "t", TAG_T, DMARC_BAD_T, BIS },
	{ "pct", TAG_PCT, DMARC_BAD_PCT, OLD },
	{ "rua", TAG_RUA, DMARC_BAD_RUA, BOTH },
	{ "ruf", TAG_RUF, DMARC_BAD_RUF, BOTH },
	{ "fo", TAG_FO, DMARC_BAD_FO, BOTH },
};

static bool
is_alpha(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static bool
is_wsp(uint8_t c)
{
	return c == ' ' || c == '\t';
}

/* WSP only: §4.8 dmarc-sep and equals allow *WSP, nothing else. */
static span
trim_wsp(span s)
{
	while (s.len > 0 && is_wsp(s.p[0])) {
		s.p++;
		s.len--;
	}
	while (s.len > 0 && is_wsp(s.p[s.len - 1]))
		s.len--;
	return s;
}

static void
say(char *why, size_t whylen, const char *msg)
{
	if (why != NULL && whylen > 0)
		snprintf(why, whylen, "%s", msg);
}

/*
 * One tag-spec "name *WSP = *WSP value": false on a syntax error in the
 * name or a missing '='. The value may still be bad; see value_ok.
 */
static bool
split_tag(span spec, span *name, span *value)
{
	size_t i = 0;

	while (i < spec.len && is_alpha(spec.p[i]))
		i++;
	if (i == 0)
		return false;
	*name = span_sub(spec, 0, i);
	while (i < spec.len && is_wsp(spec.p[i]))
		i++;
	if (i == spec.len || spec.p[i] != '=')
		return false;
	i++;
	*value = trim_wsp(span_sub(spec, i, spec.len - i));
	return true;
}

/* §4.8: 1*dmarc-value, printing characters but ';'. */
static bool
value_ok(span v)
{
	size_t i;

	if (v.len == 0)
		return false;
	for (i = 0; i < v.len; i++)
		if (v.p[i] < 0x20 || v.p[i] > 0x7e)
			return false;
	return true;
}

static enum dmarc_policy
parse_policy(span v)
{
	if (span_ieq_cstr(v, "none"))
		return DMARC_P_NONE;
	if (span_ieq_cstr(v, "quarantine"))
		return DMARC_P_QUARANTINE;
	if (span_ieq_cstr(v, "reject"))
		return DMARC_P_REJECT;
	return DMARC_P_UNSPEC;
}

/* RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ). */
static size_t
scheme_len(span u)
{
	size_t i;

	if (u.len == 0 || !is_alpha(u.p[0]))
		return 0;
	for (i = 1; i < u.len; i++) {
		uint8_t c = u.p[i];

		if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' &&
		    c != '.')
			break;
	}
	return i;
}

/* RFC 3986 §2: characters a URI may hold (reserved and unreserved, %). */
static bool
uri_char(uint8_t c)
{
	if (c <= 0x20 || c >= 0x7f)
		return false;
	return strchr("\"<>\\^`{|}", c) == NULL;
}

/*
 * One dmarc-uri or obs-dmarc-uri (§4.8): an absolute URI, a scheme and
 * something after the colon, optionally followed by the obsolete
 * "!" 1*DIGIT [k/m/g/t] size limit, which is ignored.
 */
static bool
uri_ok(span u)
{
	size_t s = scheme_len(u), i, bang = u.len;

	if (s == 0 || s + 1 >= u.len || u.p[s] != ':')
		return false;
	for (i = s + 1; i < u.len; i++) {
		if (u.p[i] == '!') {
			bang = i;
			break;
		}
		if (!uri_char(u.p[i]))
			return false;
	}
	if (bang == u.len)
		return true;
	if (bang == s + 1)
		return false;
	for (i = bang + 1; i < u.len && is_digit(u.p[i]); i++)
		;
	if (i == bang + 1)
		return false;
	if (i < u.len && strchr("kmgtKMGT", u.p[i]) != NULL)
		i++;
	return i == u.len;
}

/* dmarc-urilist: URIs separated by *WSP "," *WSP; how many are valid. */
static size_t
count_uris(span v)
{
	size_t n = 0, start = 0, i;

	for (i = 0; i <= v.len; i++) {
		if (i < v.len && v.p[i] != ',')
			continue;
		if (uri_ok(trim_wsp(span_sub(v, start, i - start))))
			n++;
		start = i + 1;
	}
	return n;
}

bool
dmarc_uri_next(span list, size_t *pos, span *uri)
{
	size_t i, start;

	if (list.len == 0)
		return false; /* an absent tag is the empty span, p NULL */
	while (*pos <= list.len) {
		start = *pos;
		for (i = start; i < list.len && list.p[i] != ','; i++)
			;
		*pos = i + 1;
		*uri = trim_wsp(span_sub(list, start, i - start));
		if (uri_ok(*uri))
			return true;
	}
	return false;
}

bool
dmarc_uri_mailto_domain(span uri, span *domain)
{
	size_t i, at = uri.len, end = uri.len;

	if (!span_has_prefix_ci(uri, SPAN_LIT("mailto:")))
		return false;
	for (i = 7; i < uri.len; i++) {
		if (uri.p[i] == '?' || uri.p[i] == '!') {
			end = i;
			break;
		}
		if (uri.p[i] == '@')
			at = i;
	}
	if (at == uri.len || at + 1 >= end)
		return false;
	*domain = span_sub(uri, at + 1, end - at - 1);
	return true;
}

/*
 * dmarc-fo (§4.8): colon-separated 0, 1, d, s, each at most once; RFC
 * 9989 makes 0 and 1 exclusive, RFC 7489 §6.3 does not.
 */
static bool
fo_ok(span v, enum dmarc_mode mode)
{
	unsigned seen = 0, bit;
	size_t i;

	for (i = 0; i < v.len; i += 2) {
		switch (v.p[i] | 0x20) {
		case '0':
			bit = 1;
			break;
		case '1':
			bit = 2;
			break;
		case 'd':
			bit = 4;
			break;
		case 's':
			bit = 8;
			break;
		default:
			return false;
		}
		if ((seen & bit) != 0)
			return false;
		seen |= bit;
		if (i + 1 < v.len && (v.p[i + 1] != ':' || i + 2 == v.len))
			return false;
	}
	return seen != 0 && (mode == DMARC_RFC7489 || (seen & 3) != 3);
}

/* pct (RFC 7489 §6.3): 1*3DIGIT, 0 to 100. */
static bool
parse_pct(span v, unsigned *out)
{
	unsigned n = 0;
	size_t i;

	if (v.len == 0 || v.len > 3)
		return false;
	for (i = 0; i < v.len; i++) {
		if (!is_digit(v.p[i]))
			return false;
		n = n * 10 + (unsigned)(v.p[i] - '0');
	}
	if (n > 100)
		return false;
	*out = n;
	return true;
}

static enum tag_id
lookup_tag(span name, enum dmarc_mode mode, unsigned *bad)
{
	size_t i;

	for (i = 0; i < sizeof(tag_names) / sizeof(tag_names[0]); i++) {
		if ((tag_names[i].modes & (1u << mode)) != 0 &&
		    span_ieq_cstr(name, tag_names[i].name)) {
			*bad = tag_names[i].bad;
			return tag_names[i].id;
		}
	}
	return TAG_UNKNOWN;
}

/* Store one value; false when it is not allowed for the tag. */
static bool
set_tag(struct dmarc_record *r, enum tag_id id, span v, enum dmarc_mode mode)
{
	switch (id) {
	case TAG_P:
		return (r->p = parse_policy(v)) != DMARC_P_UNSPEC;
	case TAG_SP:
		return (r->sp = parse_policy(v)) != DMARC_P_UNSPEC;
	case TAG_NP:
		return (r->np = parse_policy(v)) != DMARC_P_UNSPEC;
	case TAG_ADKIM:
	case TAG_ASPF: {
		enum dmarc_alignment *a =
		    id == TAG_ADKIM ? &r->adkim : &r->aspf;

		*a = span_ieq_cstr(v, "s") ? DMARC_A_STRICT : DMARC_A_RELAXED;
		return span_ieq_cstr(v, "s") || span_ieq_cstr(v, "r");
	}
	case TAG_PSD:
		r->psd = span_ieq_cstr(v, "y") ? DMARC_PSD_Y
		    : span_ieq_cstr(v, "n")    ? DMARC_PSD_N
		                               : DMARC_PSD_U;
		return r->psd != DMARC_PSD_U || span_ieq_cstr(v, "u");
	case TAG_T:
		r->testing = span_ieq_cstr(v, "y");
		return r->testing || span_ieq_cstr(v, "n");
	case TAG_PCT:
		return parse_pct(v, &r->pct);
	case TAG_RUA:
		r->rua = v;
		r->nrua_ok = count_uris(v);
		return r->nrua_ok > 0;
	case TAG_RUF:
		r->ruf = v;
		return count_uris(v) > 0;
	case TAG_FO:
		if (!fo_ok(v, mode))
			return false;
		r->fo = v;
		return true;
	case TAG_UNKNOWN:
		break;
	}
	return true;
}

/* Undo a tag given twice: back to its default, value unused. */
static void
reset_tag(struct dmarc_record *r, enum tag_id id)
{
	switch (id) {
	case TAG_P:
		r->p = DMARC_P_UNSPEC;
		break;
	case TAG_SP:
		r->sp = DMARC_P_UNSPEC;
		break;
	case TAG_NP:
		r->np = DMARC_P_UNSPEC;
		break;
	case TAG_ADKIM:
		r->adkim = DMARC_A_RELAXED;
		break;
	case TAG_ASPF:
		r->aspf = DMARC_A_RELAXED;
		break;
	case TAG_PSD:
		r->psd = DMARC_PSD_U;
		break;
	case TAG_T:
		r->testing = false;
		break;
	case TAG_PCT:
		r->pct = 100;
		break;
	case TAG_RUA:
		r->rua = span_make(NULL, 0);
		r->nrua_ok = 0;
		break;
	case TAG_RUF:
		r->ruf = span_make(NULL, 0);
		break;
	case TAG_FO:
		r->fo = SPAN_LIT("0");
		break;
	case TAG_UNKNOWN:
		break;
	}
}

/* RFC 9989 Appendix C: pct, ri and rf are gone (a record audit says so). */
static unsigned
dropped_tag(span name)
{
	if (span_ieq_cstr(name, "pct"))
		return DMARC_DROPPED_PCT;
	if (span_ieq_cstr(name, "ri"))
		return DMARC_DROPPED_RI;
	if (span_ieq_cstr(name, "rf"))
		return DMARC_DROPPED_RF;
	return 0;
}

static void
take_spec(
    struct dmarc_record *r, span spec, enum dmarc_mode mode, unsigned *seen)
{
	span name, value;
	unsigned bad = 0;
	enum tag_id id;

	if (!split_tag(spec, &name, &value))
		return;
	if ((id = lookup_tag(name, mode, &bad)) == TAG_UNKNOWN) {
		r->dropped |= dropped_tag(name);
		return; /* §4.7: unknown tags MUST be ignored */
	}
	if ((*seen & bad) != 0) {
		r->invalid |= bad | DMARC_BAD_DUP;
		reset_tag(r, id);
		return;
	}
	*seen |= bad;
	if (!value_ok(value) || !set_tag(r, id, value, mode)) {
		r->invalid |= bad;
		reset_tag(r, id);
	}
}

/*
 * §4.7 v: the first tag, "v" equals %s"DMARC1". The record begins with
 * dmarc-version = "v" *WSP "=" *WSP %s"DMARC1" (§4.8; RFC 7489 §6.4),
 * and discovery keeps only records that start with it (§4.10, RFC 7489
 * §6.6.3 step 3): no WSP or other byte may come before the "v", whose
 * case is free (an ABNF quoted string, RFC 5234 §2.3).
 */
static bool
version_ok(span spec)
{
	span name, value;

	return split_tag(spec, &name, &value) && span_ieq_cstr(name, "v") &&
	    span_eq(value, SPAN_LIT("DMARC1"));
}

static void
record_defaults(struct dmarc_record *r)
{
	memset(r, 0, sizeof(*r));
	r->adkim = DMARC_A_RELAXED;
	r->aspf = DMARC_A_RELAXED;
	r->psd = DMARC_PSD_U;
	r->pct = 100;
	r->fo = SPAN_LIT("0");
}

/* §4.10.1 (RFC 7489 §6.6.3): a bad policy and what rua= makes of it. */
static dmarc_rec_res
judge_policy(
    struct dmarc_record *r, enum dmarc_mode mode, char *why, size_t whylen)
{
	bool bad =
	    (r->invalid & (DMARC_BAD_P | DMARC_BAD_SP | DMARC_BAD_NP)) != 0;

	if (r->p_missing && mode == DMARC_RFC7489)
		bad = true;
	if (!bad) {
		if (r->p_missing)
			r->p = DMARC_P_NONE; /* §4.7 p */
		return DMARC_REC_OK;
	}
	if (r->nrua_ok > 0) {
		r->p = DMARC_P_NONE;
		r->sp = DMARC_P_UNSPEC;
		r->np = DMARC_P_UNSPEC;
		r->rescued = true;
		say(why, whylen,
		    "invalid or missing policy, read as p=none "
		    "because rua= is valid");
		return DMARC_REC_OK;
	}
	say(why, whylen,
	    r->p_missing && (r->invalid & DMARC_BAD_P) == 0
	        ? "no p= and no valid rua=: no DMARC processing"
	        : "invalid p=, sp= or np= and no valid rua=: "
	          "no DMARC processing");
	return DMARC_REC_INVALID;
}

dmarc_rec_res
dmarc_record_parse(span txt, enum dmarc_mode mode, struct dmarc_record *out,
    char *why, size_t whylen)
{
	struct dmarc_record r;
	size_t start = 0, i;
	unsigned seen = 0;
	bool first = true;

	record_defaults(&r);
	say(why, whylen, "");
	if (txt.len == 0) {
		say(why, whylen, "empty record");
		return DMARC_REC_NOT_DMARC;
	}
	for (i = 0; i <= txt.len; i++) {
		span spec;

		if (i < txt.len && txt.p[i] != ';')
			continue;
		spec = span_sub(txt, start, i - start);
		start = i + 1;
		if (first) {
			if (!version_ok(spec)) {
				say(why, whylen,
				    "does not start with v=DMARC1");
				return DMARC_REC_NOT_DMARC;
			}
			first = false;
			r.ntags++;
			continue;
		}
		spec = trim_wsp(spec);
		if (spec.len == 0)
			continue;
		r.ntags++;
		take_spec(&r, spec, mode, &seen);
	}
	r.p_missing = (seen & DMARC_BAD_P) == 0;
	*out = r;
	return judge_policy(out, mode, why, whylen);
}

const char *
dmarc_policy_str(enum dmarc_policy p)
{
	switch (p) {
	case DMARC_P_UNSPEC:
		return "unspecified";
	case DMARC_P_NONE:
		return "none";
	case DMARC_P_QUARANTINE:
		return "quarantine";
	case DMARC_P_REJECT:
		return "reject";
	}
	return "unknown";
}

const char *
dmarc_result_str(enum dmarc_result r)
{
	switch (r) {
	case DMARC_R_NONE:
		return "none";
	case DMARC_R_PASS:
		return "pass";
	case DMARC_R_FAIL:
		return "fail";
	case DMARC_R_TEMPERROR:
		return "temperror";
	case DMARC_R_PERMERROR:
		return "permerror";
	}
	return "unknown";
}

const char *
dmarc_res_str(dmarc_res r)
{
	switch (r) {
	case DMARC_OK:
		return "ok";
	case DMARC_PENDING:
		return "pending";
	case DMARC_E_NOMEM:
		return "out of memory";
	case DMARC_E_ARG:
		return "bad request";
	}
	return "unknown";
}
