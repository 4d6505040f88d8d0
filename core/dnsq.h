/*
 * NAME
 *	dnsq.h - one message's DNS: a typed query cache over core/dns.h
 * SYNOPSIS
 *	q = dnsq_new(env->dns, arena);			per message
 *	dnsq_client_init(&cl, wake, arg, max);		per consumer
 *	r = dnsq_lookup(q, &cl, DNS_T_TXT, name, &ans);	OK, PENDING, ...
 *	... the backend answers; cl's wake(arg) runs; look again.
 *	while (!dnsq_idle(q)) run the DNS backend;
 * DESCRIPTION
 *	Every DNS question of one message (SPF, each DKIM key, DMARC) goes
 *	through one dnsq, so a name asked by several checks is sent once and
 *	every check sees the same answer. Consumers evaluate by replay (the
 *	design of the SPF checker): a pass asks for what it needs through
 *	dnsq_lookup, which either has the answer (DNSQ_OK) or has sent the
 *	question (DNSQ_PENDING); when an answer arrives the consumers that
 *	waited for it are woken and pass again from the top. A pass depends
 *	only on the cache, so the result never depends on the order in which
 *	answers arrive, or on which consumer asked first.
 *
 *	One rule for every consumer:
 *	 - An answer is copied into the message arena when done() delivers
 *	   it (MX exchanges sorted by preference, then name); its memory is
 *	   never kept. A copy that does not fit gives DNS_TEMPFAIL with
 *	   nomem set.
 *	 - Duplicate answers: the first one is kept, the others ignored.
 *	 - Synchronous answers (done() inside the backend call) are found by
 *	   the lookup that asked; nobody is woken for them.
 *	 - Late answers (after the consumer that asked finished) are stored
 *	   and wake nobody who finished; a message stays busy (dnsq_idle()
 *	   false) until every question is answered, so its arena may be
 *	   reset only then.
 *	 - Refused questions are answered at once: DNS_E_BADNAME (a name
 *	   that cannot exist) as DNS_NXDOMAIN, any other refusal, a type the
 *	   backend cannot ask (no query()) or no backend at all as
 *	   DNS_TEMPFAIL; refused tells which.
 *	Names are matched ASCII case-insensitively and sent in lower case,
 *	without a trailing dot.
 *
 *	IDNA is the embedder's (core/ has no libidn2): a struct dnsq_idna
 *	hook turns U-labels into A-labels, as the libpsl context is passed
 *	to DMARC.
 * LIMITS
 *	A client may set max: the distinct questions it asks (cache hits on
 *	other clients' questions included, so the count does not depend on
 *	who asked first); past it dnsq_lookup returns DNSQ_LIMIT.
 * OWNERSHIP
 *	The dnsq and every answer live in the arena given to dnsq_new;
 *	clients are the consumers' (worker lifetime) and must outlive the
 *	message's last answer. Single-threaded.
 */
#ifndef HANKO_CORE_DNSQ_H
#define HANKO_CORE_DNSQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns.h"
#include "hanko.h"
#include "span.h"

struct arena;
struct dnsq;

/*
 * U-labels to A-labels: the ASCII form of d written NUL-terminated to
 * out, returning its length; 0 when d does not convert or out is small.
 */
struct dnsq_idna {
	void *ctx;
	size_t (*to_ascii)(void *ctx, span d, char *out, size_t outlen);
};

enum dnsq_refusal {
	DNSQ_SENT = 0, /* asked, and this is the backend's answer */
	DNSQ_BADNAME,  /* refused: not a DNS name (rcode NXDOMAIN) */
	DNSQ_REFUSED,  /* refused for another reason (TEMPFAIL) */
	DNSQ_NODNS,    /* no backend, or none for this type (TEMPFAIL) */
};

/* An answer as kept: message lifetime, in the arena. */
struct dnsq_ans {
	enum dns_rcode rcode;
	enum dnsq_refusal refused;
	bool nomem; /* the answer did not fit in the arena (TEMPFAIL) */
	int secure; /* 1 DNSSEC-validated, 0 not, -1 bogus */
	uint32_t ttl;
	span *txt;
	size_t ntxt;
	struct dns_addr *addr;
	size_t naddr;
	span *name;     /* MX (sorted) and PTR names */
	uint16_t *pref; /* MX: preference of name[i]; zeros otherwise */
	size_t nname;
};

typedef void dnsq_wake_fn(void *arg);

/* One consumer of a message's dnsq; its own struct, reset per message. */
struct dnsq_client {
	dnsq_wake_fn *wake; /* an answer it waited for arrived */
	void *arg;
	size_t waiting; /* questions asked and not answered yet */
	size_t asked;   /* distinct questions asked */
	size_t max;     /* 0: no limit */
};

typedef enum dnsq_res {
	DNSQ_OK = 0,  /* *out is the answer */
	DNSQ_PENDING, /* asked; the client is woken when it comes */
	DNSQ_LIMIT,   /* the client's max reached; nothing asked */
	DNSQ_NOMEM,   /* the arena is spent; nothing asked */
} dnsq_res;

/* A new empty cache in ar; NULL when ar is spent. ops may be NULL. */
struct dnsq *dnsq_new(const struct dns_ops *ops, struct arena *ar);
struct arena *dnsq_arena(const struct dnsq *q);
/*
 * Called after each answer that arrives later (not inside the backend
 * call), once the waiting clients have been woken: the owner of a
 * message (core/auth.c) moves on from there.
 */
void dnsq_set_notify(struct dnsq *q, dnsq_wake_fn *fn, void *arg);

void dnsq_client_init(
    struct dnsq_client *cl, dnsq_wake_fn *wake, void *arg, size_t max);
/* The answer to (qtype, name), or the question sent; see above. */
HANKO_NODISCARD dnsq_res dnsq_lookup(struct dnsq *q, struct dnsq_client *cl,
    uint16_t qtype, span name, const struct dnsq_ans **out);
/* Every question sent has its answer. */
bool dnsq_idle(const struct dnsq *q);
/* Questions sent to the backend (refused ones included). */
size_t dnsq_sent(const struct dnsq *q);

/*
 * d with U-labels as A-labels (RFC 5890 §2.3) through idna, copied into
 * ar; d itself when it is ASCII, idna is NULL, or it does not convert.
 */
span dnsq_a_label(const struct dnsq_idna *idna, span d, struct arena *ar);
/* The same for the domain of local@domain. */
span dnsq_addr_a_label(
    const struct dnsq_idna *idna, span addr, struct arena *ar);

#endif
