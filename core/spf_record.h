/*
 * NAME
 *	spf_record.h - SPF record syntax (RFC 7208 §4.5, §4.6, §5, §6, §12)
 * DESCRIPTION
 *	spf_record_parse checks a whole record before anything is evaluated
 *	(a syntax error anywhere is a permerror, §4.6) and finds its
 *	redirect= and exp= modifiers; spf_record_next then hands out the
 *	terms one at a time. Nothing is allocated: terms are spans into the
 *	record text, parsed again on each pass, which costs less than
 *	keeping them.
 */
#ifndef HANKO_CORE_SPF_RECORD_H
#define HANKO_CORE_SPF_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "span.h"
#include "spf.h"

enum spf_kind {
	SPF_K_ALL = 0,
	SPF_K_INCLUDE,
	SPF_K_A,
	SPF_K_MX,
	SPF_K_PTR,
	SPF_K_IP4,
	SPF_K_IP6,
	SPF_K_EXISTS,
	SPF_K_REDIRECT, /* modifiers from here on */
	SPF_K_EXP,
	SPF_K_UNKNOWN, /* unknown modifier: checked, then ignored (§6) */
};

/* One term; spans into the record text. */
struct spf_term {
	enum spf_kind kind;
	enum spf_result qual; /* PASS, FAIL, SOFTFAIL or NEUTRAL */
	span text;            /* the whole term as written */
	span domain;          /* domain-spec; empty when absent */
	uint8_t cidr4;        /* a, mx, ip4: prefix length (default 32) */
	uint8_t cidr6;        /* a, mx, ip6: prefix length (default 128) */
	struct spf_ip net;    /* ip4, ip6 */
};

/* A record that passed spf_record_parse. */
struct spf_record {
	span text;
	span redirect; /* domain-spec of redirect=, if has_redirect */
	span exp;      /* domain-spec of exp=, if has_exp */
	bool has_redirect;
	bool has_exp;
};

/* §4.5: txt begins with "v=spf1" (any case) followed by SP or its end. */
bool spf_record_is_spf(span txt);
/*
 * Check the syntax of every term of txt (an SPF record); on failure
 * false with the reason in why[0..whylen).
 */
bool spf_record_parse(
    span txt, struct spf_record *rec, char *why, size_t whylen);
/* The term after *pos (0 at first); false after the last one. */
bool spf_record_next(
    const struct spf_record *rec, size_t *pos, struct spf_term *t);
/* One term's syntax (§12 directive / modifier). */
bool spf_term_parse(span text, struct spf_term *t);
/* As spf_ip_parse, but an IPv4-mapped IPv6 address stays 16 octets. */
bool spf_ip_parse_raw(span text, struct spf_ip *out);

#endif
