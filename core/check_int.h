/*
 * NAME
 *	check_int.h - the audit's insides, shared by check.c (queries, the
 *	driver, findings), check_spf.c, check_dkim.c and check_dmarc.c
 * DESCRIPTION
 *	Answers are copied into the arena as they arrive and the SPF tree
 *	grows from them; every judgement is made once, by check_*_judge(),
 *	after the last answer, so findings do not depend on answer order.
 */
#ifndef HANKO_CORE_CHECK_INT_H
#define HANKO_CORE_CHECK_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "check.h"
#include "dmarc.h"
#include "dns.h"
#include "env.h"
#include "spf.h"

struct check_q;
typedef void check_on_fn(struct check_q *q);

/* One query and its copied answer; message lifetime. */
struct check_q {
	struct check *c;
	check_on_fn *on; /* called once the answer is stored; may be NULL */
	size_t arg;      /* the caller's index */
	uint16_t qtype;
	span qname; /* SPF walk: the name asked, in the arena */
	bool done;
	enum dns_rcode rc;
	span *txt; /* TXT answers */
	size_t ntxt;
	size_t naddr; /* A, AAAA: addresses */
	size_t nname; /* MX: exchanges */
	bool null_mx; /* MX: the only exchange is "." (RFC 7505) */
	int secure;   /* 1 DNSSEC-validated, 0 not */
};

#define CHECK_SPF_CACHE (CHECK_SPF_MAX_NODES + SPF_MAX_QUERIES)

/* A selector's key record query (a struct: arrays of pointers are not). */
struct check_sel_q {
	struct check_q *q;
};

/* A record family's state for one SPF record in the tree. */
struct check_spf_rec {
	struct check_q *q;
	size_t parent; /* index of the parent node; 0 for the root itself */
	size_t pos;    /* term position in the parent; SIZE_MAX: redirect */
	unsigned depth;
	span via, domain;
	bool loop; /* not followed: the name is one of its ancestors */
};

/* An RFC 9989 §4.10 walk for a domain's Organizational Domain. */
struct check_walk {
	span dom;
	struct check_q *q[DMARC_WALK_MAX];
	size_t n;
};

/* A rua/ruf destination in another domain. */
struct check_rua {
	span uri;  /* as written */
	span host; /* the mailto: domain, normalised */
	bool ruf;
	struct check_walk walk;
	struct check_q *auth; /* <domain>._report._dmarc.<host> */
	bool decided;         /* both walks are in (or failed) */
	bool external;        /* another Organizational Domain */
};

struct check {
	const struct core_env *env;
	struct arena *ar;
	struct check_request req;
	span domain;
	/* queries */
	size_t nq, outstanding;
	bool nomem, dns_failed, started, running, again, finished;
	/* SPF */
	struct check_spf_rec spf[CHECK_SPF_MAX_NODES];
	size_t nspf;
	struct check_q *probe[SPF_MAX_QUERIES]; /* a, mx, exists lookups */
	size_t nprobe;
	bool spf_capped, spf_running, spf_again;
	struct check_q *spfq[CHECK_SPF_CACHE]; /* the walk's answers */
	size_t nspfq;
	struct check_spf_node *tree;
	size_t ntree;
	unsigned lookups, voids;
	/* DKIM, ADSP, MX */
	struct check_sel_q *dkim; /* one per request selector */
	struct check_q *adsp, *mx;
	/* DMARC */
	struct check_q *dmarc_own;
	struct check_walk pol_walk; /* the policy record's domain */
	struct dmarc_evaluator *ev;
	struct core_env ev_env;
	struct dns_ops ev_dns;
	struct dmarc_request ev_req;
	unsigned in_ev; /* inside the evaluator's answer callback */
	bool rua_started;
	struct check_rua rua[CHECK_MAX_RUA];
	size_t nrua;
	/* findings */
	struct check_finding *head, *tail;
};

/* Ask (qtype, name); the answer lands in the returned entry. NULL: nomem. */
struct check_q *check_ask(
    struct check *c, uint16_t qtype, span name, check_on_fn *on, size_t arg);
/* Start what the answers so far allow; finish when all are in. */
void check_advance(struct check *c);
/* "prefix" + name in the arena; empty span when out of memory. */
span check_name(struct check *c, const char *prefix, span name);
/* Append a finding; the message is formatted into the arena. */
void check_add(struct check *c, enum check_code code, span selector,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* With req.dnssec: whether q's answer (data or denial) was validated. */
void check_dnssec(struct check *c, enum check_code code, span selector,
    const struct check_q *q, span name);

void check_spf_start(struct check *c);
void check_spf_judge(struct check *c);
void check_dkim_start(struct check *c);
void check_dkim_judge(struct check *c);
void check_dmarc_start(struct check *c);
/* Once the evaluator is done: ask what the rua/ruf checks need. */
void check_dmarc_advance(struct check *c);
bool check_dmarc_is_done(const struct check *c);
void check_dmarc_judge(struct check *c);
void check_dmarc_fini(struct check *c);

#endif
