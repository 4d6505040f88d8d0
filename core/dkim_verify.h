/*
 * NAME
 *	dkim_verify.h - DKIM verification (RFC 6376 §6, RFC 8301, RFC 8463)
 * SYNOPSIS
 *	dkim_verifier_new(env, &v);			once per worker
 *	r = dkim_verify_start(v, msg, now, arena);	per message
 *	while (r == DKIM_PENDING) run the DNS backend;	done() finishes
 *	n = dkim_verify_results(v, &res);
 * DESCRIPTION
 *	Each DKIM-Signature field (at most limits->max_sigs, top-down) is
 *	judged on its own. Key queries go out first, through the message's
 *	dnsq (core/dnsq.h: one query per key name, however many signatures
 *	name it), so hashing overlaps the lookups; the answer may come
 *	before txt() returns. Body hashes are computed once per (canonicalization, l=).
 *	The message and the arena must stay untouched until every answer
 *	has arrived (dkim_verify_is_done).
 *
 *	Verdicts follow RFC 8601: permerror for a malformed signature or key
 *	record, a missing required tag, h= without From, rsa-sha1, an RSA key
 *	under 1024 bits, a revoked key, an expired signature; temperror when
 *	DNS failed temporarily; fail when the body hash or signature does not
 *	match; pass otherwise. Every result carries a reason for humans.
 */
#ifndef HANKO_CORE_DKIM_VERIFY_H
#define HANKO_CORE_DKIM_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dkim.h"
#include "hanko.h"
#include "span.h"

struct arena;
struct core_env;
struct dkim_bodystream;
struct dkim_verifier;
struct dnsq;
struct hdr_msg;

enum dkim_verdict {
	DKIM_V_NONE = 0,
	DKIM_V_PASS,
	DKIM_V_FAIL,
	DKIM_V_NEUTRAL,
	DKIM_V_POLICY,
	DKIM_V_TEMPERROR,
	DKIM_V_PERMERROR,
};

/* Message lifetime; spans point into the message. */
struct dkim_result {
	enum dkim_verdict verdict;
	enum dkim_alg alg;
	bool alg_known;
	span d;         /* d=, may be empty when missing */
	span s;         /* s= */
	span i;         /* i= as given, or empty */
	char bpref[12]; /* first 8 characters of b=, for header.b */
	bool has_l;
	uint64_t l;        /* l= value */
	uint64_t body_len; /* canonical body length */
	unsigned key_bits;
	bool testing; /* key record t=y */
	int dnssec;   /* 1 secure, 0 insecure, -1 bogus */
	char reason[128];
};

/* Allowed clock skew for t= in the future, seconds. */
#define DKIM_VERIFY_SKEW 300

HANKO_NODISCARD dkim_res dkim_verifier_new(
    const struct core_env *env, struct dkim_verifier **out);
/*
 * As dkim_verifier_new, but sharing share's cache of parsed keys (one
 * thread's verifiers for messages in flight together); share must be
 * freed last.
 */
HANKO_NODISCARD dkim_res dkim_verifier_new_shared(const struct core_env *env,
    struct dkim_verifier *share, struct dkim_verifier **out);
void dkim_verifier_free(struct dkim_verifier *v);
/*
 * Start verifying msg at time now. DKIM_OK when every result is final,
 * DKIM_PENDING while DNS answers are outstanding, DKIM_E_SYNTAX when the
 * message itself cannot be parsed (see dkim_verifier_err), DKIM_E_NOMEM.
 */
HANKO_NODISCARD dkim_res dkim_verify_start(
    struct dkim_verifier *v, span msg, uint64_t now, struct arena *ar);
/*
 * As dkim_verify_start, for a header already split (hdr_split; m and
 * the message it points into stay untouched until done), on a message's
 * shared DNS cache (core/dnsq.h) whose arena is the message's.
 */
HANKO_NODISCARD dkim_res dkim_verify_start_hdr(struct dkim_verifier *v,
    const struct hdr_msg *m, uint64_t now, struct dnsq *q);
/*
 * Body hashes for the next dkim_verify_start_hdr from a finished stream
 * (dkim_bodystream.h) instead of the body of the message, which may then
 * be the header alone; NULL to hash the body again. Kept until changed
 * (dkim_verify_start clears it); bs must outlive the verification.
 */
void dkim_verify_set_bodies(
    struct dkim_verifier *v, const struct dkim_bodystream *bs);
bool dkim_verify_is_done(const struct dkim_verifier *v);
/* Results of the last message, one per signature examined. */
size_t dkim_verify_results(
    const struct dkim_verifier *v, const struct dkim_result **res);
/* Signatures present beyond max_sigs and not examined. */
size_t dkim_verify_skipped(const struct dkim_verifier *v);
const char *dkim_verifier_err(const struct dkim_verifier *v);
const char *dkim_verdict_str(enum dkim_verdict v);

#endif
