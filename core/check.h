/*
 * NAME
 *	check.h - audit the SPF, DKIM, DMARC, ADSP and MX records a domain
 *	publishes
 * SYNOPSIS
 *	r = check_start(env, &req, arena, &c);
 *	while (!check_is_done(c)) run the DNS backend;
 *	for (f = check_findings(c); f != NULL; f = f->next) print f;
 * DESCRIPTION
 *	One audit of one domain: the SPF record and the tree of every
 *	include and redirect below it (RFC 7208 §4.6.4 counts: DNS-querying
 *	terms and void lookups), each DKIM selector's key record (RFC 6376
 *	§3.6.1, RFC 8301 key sizes), with a private key the match of its
 *	public half against p=, the DMARC policy record that applies as RFC
 *	9989's tree walk finds it (core/dmarc_eval), rua/ruf destinations in
 *	another Organizational Domain and their authorization (RFC 9989
 *	§4.7, RFC 9990 §3), an obsolete ADSP record (RFC 5617, historic) and
 *	the MX set. Records are read with the same parsers signing and
 *	verification use; nothing is parsed a second way.
 *
 *	Every judgement is a finding: a stable code (check_code_str, the
 *	contract of --json), its severity and record kind from one table,
 *	the selector for DKIM findings, and a message with the fix. Findings
 *	come in a fixed order (SPF, DKIM in request order, DMARC, ADSP, MX)
 *	whatever order the answers arrive in.
 *
 *	All queries go through env->dns and may be answered before the call
 *	returns or later, in any order; every query of one audit is in
 *	flight at once where the data allows.
 * OWNERSHIP
 *	Everything, the context included, lives in the arena given to
 *	check_start; the request (and the private keys it points to) must
 *	stay alive and the arena untouched until check_is_done(). Findings
 *	stay valid until the arena is reset.
 * LIMITS
 *	SPF: CHECK_SPF_MAX_NODES records in the tree (breadth first),
 *	CHECK_SPF_MAX_DEPTH levels, a loop reported where it closes; DMARC:
 *	DMARC_WALK_MAX queries per walk, CHECK_MAX_RUA report destinations;
 *	CHECK_MAX_QUERIES (and one per selector) in all. A hostile zone costs
 *	bounded time and memory, and the caps cut the same records whatever
 *	order answers arrive in.
 */
#ifndef HANKO_CORE_CHECK_H
#define HANKO_CORE_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "hanko.h"
#include "span.h"

struct arena;
struct buf;
struct core_env;
struct check;
struct dkim_privkey;

#define CHECK_SPF_MAX_NODES 64
#define CHECK_SPF_MAX_DEPTH 16
#define CHECK_MAX_RUA       8
#define CHECK_MAX_QUERIES   512

enum check_sev {
	CHECK_OK = 0,
	CHECK_WARNING,
	CHECK_ERROR,
};

enum check_kind {
	CHECK_K_SPF = 0,
	CHECK_K_DKIM,
	CHECK_K_DMARC,
	CHECK_K_ADSP,
	CHECK_K_MX,
};

/* Stable finding codes; each has one severity and kind (check_code.c). */
enum check_code {
	CHECK_SPF_OK = 0,
	CHECK_SPF_NONE,
	CHECK_SPF_MULTIPLE,
	CHECK_SPF_SYNTAX,
	CHECK_SPF_LOOKUPS,
	CHECK_SPF_TOO_MANY_LOOKUPS,
	CHECK_SPF_TOO_MANY_VOID,
	CHECK_SPF_PASS_ALL,
	CHECK_SPF_NEUTRAL_ALL,
	CHECK_SPF_NO_ALL,
	CHECK_SPF_PTR,
	CHECK_SPF_INCLUDE_NONE,
	CHECK_SPF_INCLUDE_SYNTAX,
	CHECK_SPF_LOOP,
	CHECK_SPF_MACRO,
	CHECK_SPF_DNS,
	CHECK_SPF_DNSSEC,
	CHECK_DKIM_OK,
	CHECK_DKIM_NONE,
	CHECK_DKIM_SYNTAX,
	CHECK_DKIM_RSA_WEAK,
	CHECK_DKIM_RSA_SHORT,
	CHECK_DKIM_TESTING,
	CHECK_DKIM_REVOKED,
	CHECK_DKIM_SHA1_ONLY,
	CHECK_DKIM_KEY_MATCH,
	CHECK_DKIM_KEY_MISMATCH,
	CHECK_DKIM_KEY_UNREADABLE,
	CHECK_DKIM_DNS,
	CHECK_DKIM_DNSSEC,
	CHECK_DMARC_OK,
	CHECK_DMARC_INHERITED,
	CHECK_DMARC_NONE,
	CHECK_DMARC_MULTIPLE,
	CHECK_DMARC_SYNTAX,
	CHECK_DMARC_INVALID_POLICY,
	CHECK_DMARC_NO_RUA,
	CHECK_DMARC_RUA_UNAUTHORIZED,
	CHECK_DMARC_RUA_AUTHORIZED,
	CHECK_DMARC_OBSOLETE_TAG,
	CHECK_DMARC_DNS,
	CHECK_DMARC_DNSSEC,
	CHECK_ADSP_PRESENT,
	CHECK_MX_OK,
	CHECK_MX_NONE,
	CHECK_MX_NULL,
	CHECK_MX_DNS,
	CHECK_MX_DNSSEC,
	CHECK_NCODES,
};

/* Message lifetime (the arena). selector is empty unless kind is DKIM. */
struct check_finding {
	struct check_finding *next;
	enum check_code code;
	span selector;
	span message;
};

/* One node of the SPF tree, in pre-order; depth 0 is the domain itself. */
struct check_spf_node {
	unsigned depth;
	span via;    /* "include:x" or "redirect=x" as written; empty at 0 */
	span domain; /* the name queried */
	span record; /* the SPF record found; empty when none */
	unsigned lookups; /* DNS-querying terms in this record (not below) */
};

/* Which record families to audit. */
#define CHECK_W_SPF   0x01u
#define CHECK_W_DKIM  0x02u
#define CHECK_W_DMARC 0x04u
#define CHECK_W_ADSP  0x08u
#define CHECK_W_MX    0x10u
#define CHECK_W_ALL   0x1fu

/*
 * A selector to audit. key: the private key to compare with p= (NULL:
 * none given); key_error: why the private key could not be read (NULL:
 * none), reported as an error instead of the comparison.
 */
struct check_selector {
	span name;
	const struct dkim_privkey *key;
	const char *key_error;
};

/* Borrowed until check_is_done(). */
struct check_request {
	span domain;
	const struct check_selector *sel;
	size_t nsel;
	unsigned what; /* CHECK_W_* */
	bool dnssec;   /* report each record's DNSSEC status */
};

typedef enum check_res {
	CHECK_R_OK = 0,
	CHECK_R_PENDING, /* answers outstanding; see check_is_done */
	CHECK_R_NOMEM,   /* the arena ran out (findings so far stay) */
	CHECK_R_ARG,     /* domain not a usable DNS name, or no env->dns */
} check_res;

/* Start an audit; *out is set for PENDING, OK and NOMEM. */
HANKO_NODISCARD check_res check_start(const struct core_env *env,
    const struct check_request *req, struct arena *ar, struct check **out);
bool check_is_done(const struct check *c);
/*
 * Release what is not in the arena (the DMARC evaluator); done by the
 * audit itself when it finishes. NULL is a no-op; not while pending.
 */
void check_fini(struct check *c);
/* Once done: OK, or NOMEM when memory ran out on the way. */
check_res check_status(const struct check *c);
/* The findings in their fixed order; meaningful once done. */
const struct check_finding *check_findings(const struct check *c);
/* A lookup failed temporarily (the audit may be incomplete). */
bool check_dns_failed(const struct check *c);
/* The SPF tree, pre-order; *n nodes, and the counts of the whole walk. */
const struct check_spf_node *check_spf_tree(
    const struct check *c, size_t *n, unsigned *lookups, unsigned *voids);
/* The normalised domain audited (lower case, no trailing dot). */
span check_domain(const struct check *c);

/* "spf-none", ...; the stable names of --json. */
const char *check_code_str(enum check_code code);
enum check_sev check_code_sev(enum check_code code);
enum check_kind check_code_kind(enum check_code code);
/* "ok", "warning", "error". */
const char *check_sev_str(enum check_sev s);
/* "spf", "dkim", "dmarc", "adsp", "mx". */
const char *check_kind_str(enum check_kind k);
const char *check_res_str(check_res r);

/*
 * The records a new sending domain starts from, which an audit passes:
 * SPF authorizing the domain's MX hosts with ~all (tighten to the real
 * senders, then -all), and DMARC p=none with aggregate reports to addr
 * (RFC 9989 §5.1: watch the reports, then raise the policy). false when
 * b is full or addr is not a plain local@domain.
 */
bool check_starter_spf(struct buf *b);
bool check_starter_dmarc(struct buf *b, span addr);

#endif
