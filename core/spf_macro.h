/*
 * NAME
 *	spf_macro.h - SPF macro-string syntax and expansion (RFC 7208 §7)
 * DESCRIPTION
 *	spf_macro_check and spf_domain_spec_check decide the syntax of a
 *	macro-string, an explain-string and a domain-spec (§7.1, §12).
 *	spf_macro_domain expands a domain-spec into a name ready to query:
 *	trailing dot dropped, left labels removed until it fits in 253
 *	octets (§7.3); spf_macro_exp expands explanation text. Both are
 *	pure: the caller resolves %{p} beforehand (spf_macro_uses_p says
 *	whether it must).
 * LIMITS
 *	Request values are at most SPF_VALUE_MAX octets; an expansion that
 *	generates more than SPF_MACRO_MAX_WORK octets in total is refused,
 *	so a record full of %{s} costs bounded time. Explanations stop at
 *	the caller's buffer.
 */
#ifndef HANKO_CORE_SPF_MACRO_H
#define HANKO_CORE_SPF_MACRO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "span.h"

struct spf_ip;

/* The macro letters' values for one expansion (§7.3). */
struct spf_macro_vars {
	span s; /* <sender> */
	span l; /* local-part of <sender> */
	span o; /* domain of <sender> */
	span d; /* <domain> */
	span h; /* HELO/EHLO name */
	span r; /* receiving host ("unknown" when not known) */
	span p; /* validated name of <ip>, or "unknown" */
	const struct spf_ip *ip;
	uint64_t t;
};

/* A name made by expansion; len excludes any trailing dot. */
struct spf_name {
	uint8_t b[256];
	size_t len;
	bool valid; /* 1..63-octet labels, 1..253 octets in all */
};

/*
 * Syntax of a macro-string. crt: the c, r and t letters are allowed
 * (explanations, and unknown modifiers, which are never expanded); sp:
 * SP is a literal too (explain-string).
 */
bool spf_macro_check(span s, bool crt, bool sp);
/* domain-spec = macro-string domain-end (§7.1). */
bool spf_domain_spec_check(span s);
/* Whether s (already checked) contains a p macro. */
bool spf_macro_uses_p(span s);
/* toplabel of RFC 7208 §7.1: alphanumerics and inner dashes, not all digits. */
bool spf_is_toplabel(span label);
/* Label syntax of a name to query: 1..63-octet labels, <= 253 octets. */
bool spf_name_is_valid(span name);

/* Expand domain-spec into out; false when the expansion is too large. */
bool spf_macro_domain(
    span spec, const struct spf_macro_vars *v, struct spf_name *out);
/*
 * Expand an explain-string into out[0..cap) (cut at cap); false when it
 * is not valid or too large. *len is the length written.
 */
bool spf_macro_exp(span text, const struct spf_macro_vars *v, uint8_t *out,
    size_t cap, size_t *len);

#endif
