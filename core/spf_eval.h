/*
 * NAME
 *	spf_eval.h - the SPF checker's insides, shared by spf_check.c (the
 *	API, the answer cache and the driver) and spf_eval.c (check_host())
 * DESCRIPTION
 *	A check is evaluated from the top each time its answers are
 *	complete ("replay"). spf_lookup() returns a cached answer, or sends
 *	the query and reports SPF_EV_PENDING; spf_eval_run() is one pass of
 *	the whole check. A pass depends only on the request and the cache,
 *	so every pass takes the same path up to the first missing answer.
 */
#ifndef HANKO_CORE_SPF_EVAL_H
#define HANKO_CORE_SPF_EVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns.h"
#include "dnsq.h"
#include "spf.h"
#include "spf_macro.h"

/* include nesting; the lookup limit keeps real chains far shorter. */
#define SPF_MAX_DEPTH 16

/* Evaluation states: the results of enum spf_result, then the rest. */
enum spf_ev {
	SPF_EV_NONE = SPF_R_NONE,
	SPF_EV_NEUTRAL = SPF_R_NEUTRAL,
	SPF_EV_PASS = SPF_R_PASS,
	SPF_EV_FAIL = SPF_R_FAIL,
	SPF_EV_SOFTFAIL = SPF_R_SOFTFAIL,
	SPF_EV_TEMPERROR = SPF_R_TEMPERROR,
	SPF_EV_PERMERROR = SPF_R_PERMERROR,
	SPF_EV_OK,      /* step done, carry on */
	SPF_EV_MATCH,   /* mechanism matched */
	SPF_EV_NOMATCH, /* mechanism did not match */
	SPF_EV_PENDING, /* an answer is missing */
	SPF_EV_NOMEM,
};

/* A cached answer (message lifetime, in the message's dnsq). */
#define spf_ans dnsq_ans

/* Worker lifetime; everything below env is reset by each check. */
struct spf_checker {
	const struct core_env *env;
	struct arena *ar;
	struct spf_request rq;
	struct spf_name domain; /* initial <domain> */
	span sender;            /* effective <sender> */
	span local;             /* its local-part */
	span sdomain;           /* its domain */
	struct dnsq *q;         /* the message's DNS (shared or our own) */
	struct dnsq_client cl;  /* our questions in it */
	bool running;           /* inside a pass: answers only get stored */
	bool finished;          /* outcome final (answers may still arrive) */
	bool nomem;
	struct spf_outcome out;
};

/*
 * The answer to (qtype, name): SPF_EV_OK with *out set, SPF_EV_PENDING
 * (query sent), SPF_EV_NOMEM, or SPF_EV_PERMERROR past SPF_MAX_QUERIES.
 */
enum spf_ev spf_lookup(struct spf_checker *c, uint16_t qtype, span name,
    const struct spf_ans **out);
/* One pass over the whole check; fills c->out when it gets to the end. */
enum spf_ev spf_eval_run(struct spf_checker *c);
/* Set c->out.problem unless already set (force: always). */
void spf_problem(struct spf_checker *c, bool force, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
