/*
 * NAME
 *	dmarc.h - DMARC evaluation (RFC 9989; RFC 7489 compatibility mode)
 * SYNOPSIS
 *	dmarc_author_domain(&msg, arena, &req.from_domain);
 *	dmarc_evaluator_new(env, &e);			once per worker
 *	r = dmarc_eval_start(e, &req, arena);		per message
 *	while (!dmarc_eval_is_done(e)) run the DNS backend;
 *	out = dmarc_eval_outcome(e);
 * DESCRIPTION
 *	The caller brings the author domain, the DKIM results (one per
 *	signature, d= and s=) and the SPF result; the evaluator discovers the
 *	policy record, decides identifier alignment and returns the DMARC
 *	result with the policy that applies and the disposition after the
 *	t=y (or, in RFC 7489 mode, pct=) downgrade.
 *
 *	RFC 9989 mode (the default) finds policy records and Organizational
 *	Domains with the DNS Tree Walk (§4.10): at most 8 TXT queries per
 *	walk, each walk cached, alignment walks run in parallel. RFC 7489
 *	mode takes Organizational Domains from the Public Suffix List (a
 *	libpsl context the caller loads; core/ never reads files) and looks
 *	for a policy at the author domain and its Organizational Domain only
 *	(RFC 7489 §6.6.3).
 *
 *	DNS goes through the message's dnsq (core/dnsq.h; TXT queries only,
 *	the answer may come before txt() returns, or later): a private one
 *	made by dmarc_eval_start, or the one shared with SPF and DKIM given
 *	to dmarc_eval_start_q. The evaluation is replayed from the top
 *	whenever an answer arrives, against the dnsq's answers copied into
 *	the arena, so no answer memory is kept. Section numbers are those of
 *	RFC 9989 (draft-ietf-dmarc-dmarcbis-41 numbering).
 * OWNERSHIP
 *	The evaluator has worker lifetime. Everything a message produces
 *	(the outcome's spans, the per-signature array) lives in the arena
 *	given to dmarc_eval_start, which must stay untouched, and the request
 *	spans alive, until dmarc_eval_is_done(). A new message may start only
 *	once the previous one is done.
 * LIMITS
 *	8 queries per tree walk (§4.10). Besides the author domain's walk,
 *	the first DMARC_MAX_WALKS distinct passing identifiers (SPF first,
 *	then DKIM in request order) get a walk; a later one aligns only by
 *	matching the author domain exactly. So a message costs at most
 *	(1 + DMARC_MAX_WALKS) * 8 + 1 queries, under DMARC_MAX_QUERIES.
 */
#ifndef HANKO_CORE_DMARC_H
#define HANKO_CORE_DMARC_H

#include <stdbool.h>
#include <stddef.h>

#include "hanko.h"
#include "span.h"

struct arena;
struct core_env;
struct dmarc_evaluator;
struct dnsq;
struct hdr_msg;
struct psl_ctx_st; /* libpsl's psl_ctx_t */

#define DMARC_WALK_MAX 8 /* RFC 9989 §4.10: queries per tree walk */
/* Longest domain accepted as input (DNS names stop at 253 octets). */
#define DMARC_NAME_MAX    1024
#define DMARC_MAX_WALKS   5  /* identifier walks besides the author's */
#define DMARC_MAX_QUERIES 50 /* distinct DNS queries per message */

enum dmarc_mode {
	DMARC_RFC9989 = 0,
	DMARC_RFC7489,
};

enum dmarc_policy {
	DMARC_P_UNSPEC = 0,
	DMARC_P_NONE,
	DMARC_P_QUARANTINE,
	DMARC_P_REJECT,
};

enum dmarc_alignment {
	DMARC_A_RELAXED = 0,
	DMARC_A_STRICT,
};

enum dmarc_psd {
	DMARC_PSD_U = 0,
	DMARC_PSD_Y,
	DMARC_PSD_N,
};

/* Bits of dmarc_record.invalid: tags present with a value not allowed. */
#define DMARC_BAD_P     0x001u
#define DMARC_BAD_SP    0x002u
#define DMARC_BAD_NP    0x004u
#define DMARC_BAD_ADKIM 0x008u
#define DMARC_BAD_ASPF  0x010u
#define DMARC_BAD_PSD   0x020u
#define DMARC_BAD_T     0x040u
#define DMARC_BAD_PCT   0x080u
#define DMARC_BAD_FO    0x100u
#define DMARC_BAD_RUA   0x200u /* no valid URI in rua= */
#define DMARC_BAD_RUF   0x400u
#define DMARC_BAD_DUP   0x800u /* a known tag appears twice */

/*
 * A parsed policy record. Spans point into the parsed text. After the
 * RFC 9989 §4.10.1 (RFC 7489 §6.6.3) rescue of an invalid policy by a
 * valid rua=, p is DMARC_P_NONE and sp/np are UNSPEC; rescued says so.
 */
struct dmarc_record {
	enum dmarc_policy p, sp, np; /* UNSPEC when absent or invalid */
	enum dmarc_alignment adkim, aspf;
	enum dmarc_psd psd;
	bool testing;     /* t=y (RFC 9989 only) */
	unsigned pct;     /* RFC 7489 mode only; 100 by default */
	span rua, ruf;    /* raw values, trimmed */
	span fo;          /* raw value; "0" when absent or invalid */
	size_t nrua_ok;   /* syntactically valid URIs in rua= */
	unsigned invalid; /* DMARC_BAD_* */
	bool p_missing;   /* no p= at all */
	bool rescued;     /* invalid policy turned into p=none by rua= */
	size_t ntags;     /* tag-specs seen, v= included */
	unsigned dropped; /* DMARC_DROPPED_*: RFC 7489 tags RFC 9989 dropped */
};

/* Bits of dmarc_record.dropped: present though RFC 9989 removed them. */
#define DMARC_DROPPED_PCT 0x1u /* ignored in RFC 9989 mode */
#define DMARC_DROPPED_RI  0x2u
#define DMARC_DROPPED_RF  0x4u

typedef enum dmarc_rec_res {
	DMARC_REC_OK = 0,
	DMARC_REC_NOT_DMARC, /* v=DMARC1 is not the first tag: not a record */
	DMARC_REC_INVALID,   /* a DMARC record, but no DMARC processing */
} dmarc_rec_res;

/*
 * Parse one TXT record (strings already joined). NOT_DMARC when it does
 * not start with v=DMARC1 (§4.7); INVALID when p= is invalid (RFC 7489:
 * or missing) or sp=/np= invalid and rua= holds no valid URI (§4.10.1);
 * OK otherwise, out filled either way except for NOT_DMARC. why gets a
 * human reason (may be NULL). Never allocates.
 */
HANKO_NODISCARD dmarc_rec_res dmarc_record_parse(span txt, enum dmarc_mode mode,
    struct dmarc_record *out, char *why, size_t whylen);

/*
 * The valid URIs of a dmarc-urilist (rua=, ruf=) one at a time: the URI
 * after *pos (0 at first), trimmed, with any "!size" suffix; false after
 * the last. Invalid URIs are skipped as DMARC processing skips them.
 */
bool dmarc_uri_next(span list, size_t *pos, span *uri);
/*
 * The domain of a mailto: URI (RFC 6068: the part after the last '@',
 * up to a '?' header part or the "!size" suffix); false for another
 * scheme or no domain. Points into uri.
 */
bool dmarc_uri_mailto_domain(span uri, span *domain);

enum dmarc_result {
	DMARC_R_NONE = 0,
	DMARC_R_PASS,
	DMARC_R_FAIL,
	DMARC_R_TEMPERROR,
	DMARC_R_PERMERROR,
};

/* Results of the underlying mechanisms, RFC 8601 vocabulary. */
enum dmarc_auth {
	DMARC_AUTH_NONE = 0,
	DMARC_AUTH_PASS,
	DMARC_AUTH_FAIL,
	DMARC_AUTH_SOFTFAIL,
	DMARC_AUTH_NEUTRAL,
	DMARC_AUTH_TEMPERROR,
	DMARC_AUTH_PERMERROR,
	DMARC_AUTH_POLICY,
};

/* One per DKIM signature (d=, s=). */
struct dmarc_dkim_in {
	span domain;
	span selector;
	enum dmarc_auth result;
};

enum dmarc_spf_scope {
	DMARC_SPF_MFROM = 0,
	DMARC_SPF_HELO,
};

struct dmarc_spf_in {
	span domain;
	enum dmarc_auth result;
	enum dmarc_spf_scope scope;
};

typedef enum dmarc_from_res {
	DMARC_FROM_OK = 0,
	DMARC_FROM_NONE,            /* no From field */
	DMARC_FROM_MULTIPLE_FIELDS, /* more than one From field */
	DMARC_FROM_MULTIPLE_ADDRS,  /* addresses in more than one domain */
	DMARC_FROM_NO_DOMAIN,       /* no address, or one without a domain */
	DMARC_FROM_NOMEM,
} dmarc_from_res;

/*
 * The author domain (RFC 9989 §5.3.1) of a split header: exactly one
 * From field whose addresses all have the same domain (several addresses
 * in one domain give one Author Domain). Anything else means "DMARC
 * validation is not possible" (§5.3.1, §4.4): the status says why.
 * hanko dmarc then follows the recommendation kept in RFC 9989's
 * security considerations (RFC 7489 §6.6.1): it evaluates each author
 * domain and applies the strictest failing policy, fails a message with
 * several From fields or none, and reports temperror for NOMEM.
 * *domain points into ar.
 */
HANKO_NODISCARD dmarc_from_res dmarc_author_domain(
    const struct hdr_msg *m, struct arena *ar, span *domain);
const char *dmarc_from_res_str(dmarc_from_res r);

struct dmarc_request {
	span from_domain; /* RFC5322.From domain (A-labels) */
	const struct dmarc_dkim_in *dkim;
	size_t ndkim;
	/* SPF for MAIL FROM; a HELO-scope result never aligns (§4.4.2). */
	struct dmarc_spf_in spf;
	enum dmarc_mode mode;
	const struct psl_ctx_st *psl; /* required for DMARC_RFC7489 */
	unsigned pct_roll;            /* 0..99: pct sampling (RFC 7489) */
};

struct dmarc_dkim_eval {
	span domain;
	span selector;
	enum dmarc_auth result;
	bool aligned; /* a pass whose d= aligns with the author domain */
};

/* Message lifetime: spans and dkim[] live in the message arena. */
struct dmarc_outcome {
	enum dmarc_result result;
	bool have_record;
	struct dmarc_record rec; /* the policy record used */
	span record_domain;      /* where the policy record was found */
	span org_domain;         /* Organizational Domain of the From domain */
	span from_domain;        /* normalised: lower case, no trailing dot */
	/* p, sp or np as chosen (the report's policy_evaluated). */
	enum dmarc_policy policy;
	/* What to apply: none unless fail; after t=y / pct downgrade. */
	enum dmarc_policy disposition;
	bool downgraded;  /* t=y or pct sampling lowered it */
	bool nonexistent; /* the From domain answered NXDOMAIN */
	bool spf_aligned, dkim_aligned;
	struct dmarc_dkim_eval *dkim;
	size_t ndkim;
	struct dmarc_spf_in spf;
	char reason[160]; /* why fail / none / temperror / permerror */
	unsigned queries; /* DNS queries sent */
};

typedef enum dmarc_res {
	DMARC_OK = 0,
	DMARC_PENDING, /* answers outstanding; see dmarc_eval_is_done */
	DMARC_E_NOMEM,
	DMARC_E_ARG, /* empty from_domain, no psl in RFC 7489 mode, busy */
} dmarc_res;

HANKO_NODISCARD dmarc_res dmarc_evaluator_new(
    const struct core_env *env, struct dmarc_evaluator **out);
void dmarc_evaluator_free(struct dmarc_evaluator *e);
/*
 * Evaluate req. DMARC_OK when the outcome is final, DMARC_PENDING while
 * answers are outstanding; DMARC_E_NOMEM when the arena ran out (the
 * outcome is then a temperror), DMARC_E_ARG on a bad request (nothing
 * started). The request's spans and ar must outlive the evaluation.
 */
HANKO_NODISCARD dmarc_res dmarc_eval_start(struct dmarc_evaluator *e,
    const struct dmarc_request *req, struct arena *ar);
/*
 * As dmarc_eval_start, on a message's shared DNS cache (core/dnsq.h),
 * whose arena is the evaluation's.
 */
HANKO_NODISCARD dmarc_res dmarc_eval_start_q(
    struct dmarc_evaluator *e, const struct dmarc_request *req, struct dnsq *q);
bool dmarc_eval_is_done(const struct dmarc_evaluator *e);
/* The outcome of the last message; meaningful once done. */
const struct dmarc_outcome *dmarc_eval_outcome(const struct dmarc_evaluator *e);

const char *dmarc_result_str(enum dmarc_result r);
/* "none", "quarantine", "reject" ("unspecified" for DMARC_P_UNSPEC). */
const char *dmarc_policy_str(enum dmarc_policy p);
const char *dmarc_res_str(dmarc_res r);

/*
 * Domain helpers (dmarc_align.c), exported for tests and tools.
 *
 * dmarc_domain_norm: lower-case copy in ar without the trailing dot;
 * false when d is not a usable DNS name (empty label, label over 63 or
 * name over 253 bytes, bytes other than letters, digits, '-', '_') or
 * ar is spent (*nomem set).
 */
bool dmarc_domain_norm(span d, struct arena *ar, span *out, bool *nomem);
/* Labels in a normalised name (0 for the empty name). */
size_t dmarc_domain_labels(span d);
/* The last n labels of d (d itself when n >= its label count). */
span dmarc_domain_suffix(span d, size_t n);
/* Case-insensitive equality, a trailing dot ignored (§4.4, RFC 4343). */
bool dmarc_domain_eq(span a, span b);
/*
 * RFC 9989 §4.10 steps 1-7: the names a tree walk from d queries, in
 * order (d, then 7 labels when d has 8 or more, then one label less each
 * step, down to the TLD). Returns how many (at most DMARC_WALK_MAX).
 */
size_t dmarc_walk_targets(span d, span out[DMARC_WALK_MAX]);

/* A policy record a tree walk found: its name and psd= value. */
struct dmarc_walk_hit {
	span name;
	enum dmarc_psd psd;
};

/*
 * RFC 9989 §4.10.2: the Organizational Domain of d from the records a
 * walk from d found (hits in query order, longest name first; the walk
 * stopped at the first psd=y or psd=n).
 */
span dmarc_walk_org(span d, const struct dmarc_walk_hit *hits, size_t nhits);
/*
 * RFC 7489 §3.2: the Organizational Domain of normalised d by the Public
 * Suffix List (libpsl's registrable domain, a suffix of d); d itself
 * when d is a public suffix or has no registrable part.
 */
span dmarc_psl_org(const struct psl_ctx_st *psl, span d);
/*
 * RFC 7489 §3.1.1 relaxed alignment without DNS, for a signer: are the
 * Organizational Domains of from and d (dmarc_psl_org) equal? With psl
 * NULL, whether one name is within the other (label-wise), which misses
 * sibling subdomains of one Organizational Domain and takes a d= that is
 * a public suffix for aligned.
 */
bool dmarc_psl_aligned(const struct psl_ctx_st *psl, span from, span d);

#endif
