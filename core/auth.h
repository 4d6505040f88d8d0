/*
 * NAME
 *	auth.h - one message's authentication: SPF, DKIM, DMARC, and the
 *	Authentication-Results field
 * SYNOPSIS
 *	auth_new(env, &conf, share, &a);		once per worker
 *	r = auth_start(a, &req, arena);			per message
 *	while (!auth_is_done(a)) run the DNS backend;
 *	res = auth_result(a);
 * DESCRIPTION
 *	The message header is split once. Every DKIM signature is verified;
 *	with conf->dmarc, SPF is checked for the envelope (RFC 7208, MAIL
 *	FROM identity) and DMARC evaluated for each author domain (RFC 9989;
 *	RFC 7489 in that mode), all on one per-message DNS cache
 *	(core/dnsq.h), so a name asked by two checks is sent once.
 *
 *	Author domains: a From naming several domains is evaluated once per
 *	domain (at most AUTH_FROM_DOMAINS_MAX) and the strictest failing
 *	policy applies (RFC 9989 §11 after RFC 7489 §6.6.1). The outcome
 *	that decides is, of the failing ones, the one with the strictest
 *	disposition (then a temperror, a permerror, a none; all passing:
 *	the first). Several From fields, or a From not every domain of
 *	which could be evaluated, never pass: RFC 5322 allows one From
 *	field, and a second is how a spoofed author hides beside a real one;
 *	the strictest policy found applies. Without an author domain:
 *	permerror for a message that could not be read, else fail.
 *
 *	The field carries exactly one dmarc= resinfo, the one that decided
 *	(filters read the first dmarc= of a field, so a pass for an innocent
 *	second author must not stand beside the spoofed one's fail), with
 *	each author domain's result in its comment.
 *
 *	The envelope: the caller gives what its sources say (flags, a
 *	sidecar); with trust_received set, fields still missing come from
 *	the trace fields (auth_envelope_trace). Without a client IP SPF is
 *	not run (none).
 *
 *	Like every verifying part of core/, it never blocks: auth_start
 *	returns AUTH_PENDING while answers are outstanding, and the last
 *	answer finishes the message inside the backend's done().
 * OWNERSHIP
 *	The context has worker lifetime; conf and env must outlive it. The
 *	request's spans, the message and the arena stay untouched until
 *	auth_is_done(); the result's spans live in the arena.
 */
#ifndef HANKO_CORE_AUTH_H
#define HANKO_CORE_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dmarc.h"
#include "hanko.h"
#include "span.h"
#include "spf.h"

struct arena;
struct auth_ctx;
struct buf;
struct core_env;
struct dkim_bodystream;
struct dkim_result;
struct dkim_verifier;
struct dnsq_idna;
struct hdr_msg;

/*
 * Beyond this many author domains the cost is an attacker's lever: the
 * rest are not evaluated and the message cannot pass.
 */
#define AUTH_FROM_DOMAINS_MAX 4
#define AUTH_FROM_ADDRS_MAX   64

enum auth_env_field {
	AUTH_ENV_IP = 0,
	AUTH_ENV_MAIL_FROM,
	AUTH_ENV_HELO,
};

/* The SMTP envelope as found; spans in the arena, message or caller. */
struct auth_envelope {
	span ip, mail_from, helo;
	bool has_ip, has_mail_from, has_helo;
	const char *source; /* of the first field found */
	char problem[160];  /* a source that could not be read */
};

/* Set field to v unless an earlier source set it. */
void auth_envelope_set(struct auth_envelope *e, enum auth_env_field field,
    span v, const char *source);
/*
 * IP and HELO from the nth (1-based) Received, MAIL FROM from the
 * topmost Return-Path above it (one below was written before our MTA
 * saw the message, by anyone). m may be NULL (header not split).
 */
void auth_envelope_trace(
    struct auth_envelope *e, const struct hdr_msg *m, size_t nth);

/* Process lifetime. */
struct auth_conf {
	bool dmarc; /* SPF and DMARC too; false: DKIM only */
	enum dmarc_mode mode;
	const struct psl_ctx_st *psl; /* required for DMARC_RFC7489 */
	const struct dnsq_idna *idna; /* NULL: U-labels stay as they are */
	span authserv_id;             /* of the Authentication-Results */
	span receiver;                /* SPF %{r}; empty: "unknown" */
	const char
	    *eol; /* folding of the field (authres_dkim); NULL: one line */
};

struct auth_request {
	span msg; /* the whole message, or its header with body set */
	/*
	 * Non-NULL: the body was hashed as it streamed in (a finished
	 * dkim_bodystream made from this header with this now) and msg is
	 * the header section alone.
	 */
	const struct dkim_bodystream *body;
	const char *unread; /* non-NULL: the message could not be read, why */
	uint64_t now;
	struct auth_envelope env; /* from the caller's sources */
	size_t trust_received;    /* 0: no; n: the n-th Received, top-down */
	unsigned pct_roll;        /* 0..99, RFC 7489 pct= sampling */
};

/* Message lifetime (the arena); valid once auth_is_done(). */
struct auth_result {
	/* DKIM */
	const char *error; /* the message could not be verified, why */
	const struct dkim_result *dkim;
	size_t ndkim, skipped;
	/* SPF (conf->dmarc) */
	struct auth_envelope env;
	bool spf_run; /* spf/spf_req are set */
	struct spf_request spf_req;
	const struct spf_outcome *spf;
	/* DMARC (conf->dmarc) */
	dmarc_from_res from;
	span from_domain; /* the single author domain, or empty */
	span doms[AUTH_FROM_DOMAINS_MAX];
	struct dmarc_outcome outs[AUTH_FROM_DOMAINS_MAX];
	size_t ndoms;
	const struct dmarc_outcome *dmarc; /* the one that decided */
	span dmarc_from;               /* its domain, as header.from shows it */
	enum dmarc_policy disposition; /* what to apply (none unless fail) */
	/* The Authentication-Results field, whole (authres_dkim's form). */
	span authres;
	bool authres_ok; /* false: the arena could not hold it */
};

typedef enum auth_res {
	AUTH_OK = 0,
	AUTH_PENDING, /* answers outstanding; see auth_is_done */
	AUTH_E_NOMEM, /* the context could not be made */
	AUTH_E_ARG,   /* bad configuration, or a message still in flight */
} auth_res;

/*
 * A context for one message at a time; share, when not NULL, lends its
 * cache of parsed DKIM keys (freed last).
 */
HANKO_NODISCARD auth_res auth_new(const struct core_env *env,
    const struct auth_conf *conf, struct auth_ctx *share,
    struct auth_ctx **out);
void auth_free(struct auth_ctx *a);
/*
 * Start the message: AUTH_OK when the result is final, AUTH_PENDING while
 * answers are outstanding, AUTH_E_ARG while the previous message is.
 * Running out of memory is part of the result (temperror), not a status.
 */
HANKO_NODISCARD auth_res auth_start(
    struct auth_ctx *a, const struct auth_request *req, struct arena *ar);
/* The result is final and every answer is in (the arena may go). */
bool auth_is_done(const struct auth_ctx *a);
const struct auth_result *auth_result(const struct auth_ctx *a);

/*
 * The message's Authentication-Results field again, folded with eol
 * (the result's authres used conf->eol); false when out is full.
 */
bool auth_write_authres(
    const struct auth_ctx *a, struct buf *out, const char *eol);

/* RFC 8601 results of the mechanisms, as DMARC takes them. */
enum dmarc_auth auth_of_spf(enum spf_result r);

#endif
