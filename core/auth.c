/*
 * auth.c - one message: split once, DKIM and SPF side by side, then
 * DMARC for each author domain, then the Authentication-Results field.
 *
 * The steps move on from auth_start and from the dnsq's notification
 * after each answer (step()), so nothing polls: DMARC starts inside the
 * done() that finished the last of DKIM and SPF.
 */
#include "auth.h"

#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "authres.h"
#include "dkim_verify.h"
#include "dnsq.h"
#include "env.h"
#include "hdr.h"
#include "trace.h"

struct auth_ctx {
	const struct core_env *env;
	const struct auth_conf *conf;
	struct dkim_verifier *v;
	struct spf_checker *spf;
	struct dmarc_evaluator *dm;
	/* Message lifetime: */
	struct arena *ar;
	struct dnsq *q;
	struct auth_request req;
	struct hdr_msg hm;
	bool hdr_ok;
	bool dkim_started, spf_started, dm_started;
	size_t cur;      /* author domain being evaluated */
	bool incomplete; /* an author domain could not be read or was over */
	bool unread;     /* the message could not be read or split */
	char err[160];   /* why DMARC could not see every author */
	char dkim_err[160];
	bool stepping, again, final;
	struct auth_result res;
};

void
auth_envelope_set(struct auth_envelope *e, enum auth_env_field field, span v,
    const char *source)
{
	span *dst[] = { &e->ip, &e->mail_from, &e->helo };
	bool *has[] = { &e->has_ip, &e->has_mail_from, &e->has_helo };

	if (*has[field])
		return;
	*dst[field] = v;
	*has[field] = true;
	if (e->source == NULL)
		e->source = source;
}

void
auth_envelope_trace(
    struct auth_envelope *e, const struct hdr_msg *m, size_t nth)
{
	span helo, ip, addr;
	size_t k, rp;

	if (m == NULL)
		return;
	k = hdr_find(m, span_cstr("Received"), nth - 1);
	if (k < m->nf && trace_received(m->f[k].value, &helo, &ip)) {
		auth_envelope_set(e, AUTH_ENV_IP, ip, "trace");
		if (helo.len > 0)
			auth_envelope_set(e, AUTH_ENV_HELO, helo, "trace");
	} else if (e->problem[0] == '\0') {
		snprintf(e->problem, sizeof(e->problem),
		    "no readable Received field number %zu", nth);
	}
	rp = hdr_find(m, span_cstr("Return-Path"), 0);
	if (rp < m->nf && rp < k && trace_return_path(m->f[rp].value, &addr))
		auth_envelope_set(e, AUTH_ENV_MAIL_FROM, addr, "trace");
}

auth_res
auth_new(const struct core_env *env, const struct auth_conf *conf,
    struct auth_ctx *share, struct auth_ctx **out)
{
	struct auth_ctx *a;

	*out = NULL;
	if (env == NULL || env->alloc == NULL || conf == NULL ||
	    (conf->dmarc && conf->mode == DMARC_RFC7489 && conf->psl == NULL))
		return AUTH_E_ARG;
	if ((a = env->alloc->alloc(env->alloc->ctx, sizeof(*a))) == NULL)
		return AUTH_E_NOMEM;
	memset(a, 0, sizeof(*a));
	a->env = env;
	a->conf = conf;
	a->final = true;
	if (dkim_verifier_new_shared(
	        env, share != NULL ? share->v : NULL, &a->v) != DKIM_OK ||
	    (conf->dmarc &&
	        (spf_checker_new(env, &a->spf) != SPF_OK ||
	            dmarc_evaluator_new(env, &a->dm) != DMARC_OK))) {
		auth_free(a);
		return AUTH_E_NOMEM;
	}
	*out = a;
	return AUTH_OK;
}

void
auth_free(struct auth_ctx *a)
{
	if (a == NULL)
		return;
	dmarc_evaluator_free(a->dm);
	spf_checker_free(a->spf);
	if (a->v != NULL)
		dkim_verifier_free(a->v);
	a->env->alloc->free(a->env->alloc->ctx, a);
}

/* Add d to the author domains unless present; false when full. */
static bool
add_domain(struct auth_ctx *a, span d)
{
	struct auth_result *r = &a->res;
	size_t k;

	if (d.len == 0)
		return true;
	for (k = 0; k < r->ndoms; k++)
		if (span_ieq_ascii(r->doms[k], d))
			return true;
	if (r->ndoms == AUTH_FROM_DOMAINS_MAX)
		return false;
	r->doms[r->ndoms++] = d;
	return true;
}

/*
 * The domains of every From field, at most AUTH_FROM_DOMAINS_MAX. An
 * address without a domain, a list that does not parse or domains
 * beyond the limit make the set incomplete: what was read is still
 * evaluated and the message cannot pass (a partial evaluation proves
 * nothing).
 */
static void
from_domains(struct auth_ctx *a)
{
	span from = span_cstr("From"), addrs[AUTH_FROM_ADDRS_MAX], d;
	size_t f, n, k, nth = 0;

	while ((f = hdr_find(&a->hm, from, nth++)) < a->hm.nf) {
		n = hdr_addr_list(
		    a->hm.f[f].value, a->ar, addrs, AUTH_FROM_ADDRS_MAX);
		if (n == SIZE_MAX || n == HDR_ADDR_NOMEM || n == 0) {
			a->incomplete = true;
			continue;
		}
		if (n > AUTH_FROM_ADDRS_MAX) {
			a->incomplete = true;
			n = AUTH_FROM_ADDRS_MAX;
		}
		for (k = 0; k < n; k++) {
			d = hdr_addr_domain(addrs[k]);
			if (d.len == 0 ||
			    !add_domain(
			        a, dnsq_a_label(a->conf->idna, d, a->ar)))
				a->incomplete = true;
		}
	}
	if (a->incomplete)
		snprintf(a->err, sizeof(a->err),
		    "%s; not every author domain could be evaluated",
		    dmarc_from_res_str(a->res.from));
}

/* The envelope as given, the trace fields if trusted, then SPF. */
static void
start_spf(struct auth_ctx *a)
{
	struct auth_envelope *e = &a->res.env;
	struct spf_request *sr = &a->res.spf_req;

	*e = a->req.env;
	if (a->req.trust_received > 0)
		auth_envelope_trace(
		    e, a->hdr_ok ? &a->hm : NULL, a->req.trust_received);
	if (!e->has_ip)
		return;
	if (!e->has_mail_from) {
		/* Unknown is not the null path: postmaster@HELO would be. */
		snprintf(e->problem, sizeof(e->problem),
		    "no MAIL FROM in the envelope");
		return;
	}
	if (!spf_ip_parse(e->ip, &sr->ip)) {
		snprintf(e->problem, sizeof(e->problem),
		    "envelope client IP is not an address");
		return;
	}
	sr->sender = dnsq_addr_a_label(a->conf->idna, e->mail_from, a->ar);
	sr->helo = dnsq_a_label(a->conf->idna, e->helo, a->ar);
	sr->receiver = a->conf->receiver;
	sr->now = a->req.now;
	sr->identity = SPF_ID_MAILFROM;
	if (sr->sender.len == 0 && sr->helo.len == 0) {
		snprintf(e->problem, sizeof(e->problem),
		    "no MAIL FROM and no HELO in the envelope");
		return;
	}
	switch (spf_check_start_q(a->spf, sr, a->q)) {
	case SPF_OK:
	case SPF_PENDING:
		a->spf_started = true;
		break;
	case SPF_E_ARG:
	case SPF_E_NOMEM:
		snprintf(e->problem, sizeof(e->problem), "SPF: %.150s",
		    spf_check_outcome(a->spf)->problem);
		break;
	}
}

/* The author domains of the split header. */
static void
start_from(struct auth_ctx *a)
{
	struct auth_result *r = &a->res;

	r->from = dmarc_author_domain(&a->hm, a->ar, &r->from_domain);
	r->from_domain = dnsq_a_label(a->conf->idna, r->from_domain, a->ar);
	if (r->from == DMARC_FROM_OK)
		r->doms[r->ndoms++] = r->from_domain;
	else if (r->from == DMARC_FROM_MULTIPLE_ADDRS ||
	    r->from == DMARC_FROM_MULTIPLE_FIELDS ||
	    r->from == DMARC_FROM_NO_DOMAIN)
		from_domains(a);
}

static enum dmarc_auth
auth_of_dkim(enum dkim_verdict v)
{
	switch (v) {
	case DKIM_V_PASS:
		return DMARC_AUTH_PASS;
	case DKIM_V_FAIL:
		return DMARC_AUTH_FAIL;
	case DKIM_V_NEUTRAL:
		return DMARC_AUTH_NEUTRAL;
	case DKIM_V_POLICY:
		return DMARC_AUTH_POLICY;
	case DKIM_V_TEMPERROR:
		return DMARC_AUTH_TEMPERROR;
	case DKIM_V_PERMERROR:
		return DMARC_AUTH_PERMERROR;
	case DKIM_V_NONE:
		break;
	}
	return DMARC_AUTH_NONE;
}

enum dmarc_auth
auth_of_spf(enum spf_result r)
{
	switch (r) {
	case SPF_R_PASS:
		return DMARC_AUTH_PASS;
	case SPF_R_FAIL:
		return DMARC_AUTH_FAIL;
	case SPF_R_SOFTFAIL:
		return DMARC_AUTH_SOFTFAIL;
	case SPF_R_NEUTRAL:
		return DMARC_AUTH_NEUTRAL;
	case SPF_R_TEMPERROR:
		return DMARC_AUTH_TEMPERROR;
	case SPF_R_PERMERROR:
		return DMARC_AUTH_PERMERROR;
	case SPF_R_NONE:
		break;
	}
	return DMARC_AUTH_NONE;
}

/*
 * DKIM and SPF are final: evaluate DMARC for author domain a->cur.
 * false when it could not start (the outcome is then made here).
 */
static bool
dmarc_begin(struct auth_ctx *a)
{
	struct auth_result *rs = &a->res;
	struct dmarc_outcome *out = &rs->outs[a->cur];
	struct dmarc_dkim_in *din;
	struct dmarc_request req;
	dmarc_res r;
	size_t n = rs->ndkim, k;

	a->dm_started = true;
	din = n > 0 ? arena_alloc(a->ar, n * sizeof(*din)) : NULL;
	if (n > 0 && din == NULL) {
		r = DMARC_E_NOMEM;
		goto fail;
	}
	for (k = 0; k < n; k++) {
		din[k].domain = rs->dkim[k].d;
		din[k].selector = rs->dkim[k].s;
		din[k].result = auth_of_dkim(rs->dkim[k].verdict);
	}
	memset(&req, 0, sizeof(req));
	req.from_domain = rs->doms[a->cur];
	req.dkim = din;
	req.ndkim = n;
	if (a->spf_started) {
		req.spf.domain = rs->spf->domain;
		req.spf.result = auth_of_spf(rs->spf->result);
		req.spf.scope = DMARC_SPF_MFROM;
	}
	req.mode = a->conf->mode;
	req.psl = a->conf->psl;
	req.pct_roll = a->req.pct_roll;
	r = dmarc_eval_start_q(a->dm, &req, a->q);
	if (r == DMARC_OK || r == DMARC_PENDING)
		return true;
fail:
	memset(out, 0, sizeof(*out));
	out->from_domain = rs->doms[a->cur];
	out->result =
	    r == DMARC_E_NOMEM ? DMARC_R_TEMPERROR : DMARC_R_PERMERROR;
	snprintf(out->reason, sizeof(out->reason), "%s", dmarc_res_str(r));
	return false;
}

static const char *
from_problem(dmarc_from_res r)
{
	switch (r) {
	case DMARC_FROM_OK:
		return NULL;
	case DMARC_FROM_NONE:
		return "no From field";
	case DMARC_FROM_MULTIPLE_FIELDS:
		return "several From fields";
	case DMARC_FROM_MULTIPLE_ADDRS:
		return "several addresses in From";
	case DMARC_FROM_NO_DOMAIN:
		return "From address without a domain";
	case DMARC_FROM_NOMEM:
		return "out of memory";
	}
	return "unusable From field";
}

/* The strictest policy among the evaluated author domains. */
static enum dmarc_policy
strictest(const struct auth_result *r)
{
	enum dmarc_policy p = DMARC_P_NONE, q;
	size_t k;

	for (k = 0; k < r->ndoms; k++) {
		q = r->outs[k].result == DMARC_R_FAIL ? r->outs[k].disposition
		                                      : r->outs[k].policy;
		if (q > p)
			p = q;
	}
	return p;
}

/*
 * The outcome that decides (auth.h), and its index in outs (SIZE_MAX
 * when made here, in tmp).
 */
static const struct dmarc_outcome *
decide(const struct auth_ctx *a, struct dmarc_outcome *tmp, size_t *idx)
{
	static const enum dmarc_result order[] = { DMARC_R_FAIL,
		DMARC_R_TEMPERROR, DMARC_R_PERMERROR, DMARC_R_NONE };
	const struct auth_result *r = &a->res;
	const char *why = a->err[0] != '\0' ? a->err : from_problem(r->from);
	const struct dmarc_outcome *d = NULL;
	char reason[sizeof(tmp->reason)];
	size_t j, k;

	*idx = SIZE_MAX;
	if (r->ndoms == 0) {
		memset(tmp, 0, sizeof(*tmp));
		tmp->result = r->from == DMARC_FROM_NOMEM ? DMARC_R_TEMPERROR
		    : a->unread                           ? DMARC_R_PERMERROR
		                                          : DMARC_R_FAIL;
		snprintf(tmp->reason, sizeof(tmp->reason), "%s",
		    why != NULL ? why : "not evaluated");
		return tmp;
	}
	for (j = 0; d == NULL && j < sizeof(order) / sizeof(order[0]); j++)
		for (k = 0; k < r->ndoms; k++)
			if (r->outs[k].result == order[j] &&
			    (d == NULL ||
			        r->outs[k].disposition > d->disposition)) {
				d = &r->outs[k];
				*idx = k;
			}
	if (d == NULL) {
		d = &r->outs[0];
		*idx = 0;
	}
	if (why == NULL)
		return d;
	*tmp = *d;
	snprintf(reason, sizeof(reason), "%.60s%s%.95s", why,
	    d->reason[0] != '\0' ? ": " : "", d->reason);
	memcpy(tmp->reason, reason, sizeof(reason));
	if ((r->from == DMARC_FROM_MULTIPLE_FIELDS || a->incomplete) &&
	    (tmp->result == DMARC_R_PASS || tmp->result == DMARC_R_NONE)) {
		tmp->result = DMARC_R_FAIL;
		tmp->disposition = strictest(r);
	}
	return tmp;
}

bool
auth_write_authres(const struct auth_ctx *a, struct buf *out, const char *eol)
{
	const struct auth_result *r = &a->res;
	struct authres_w w;

	if (!a->conf->dmarc)
		return authres_dkim(out, a->conf->authserv_id, r->dkim,
		    r->ndkim, r->skipped, r->error, eol);
	authres_begin(&w, out, a->conf->authserv_id, eol);
	if (a->spf_started)
		authres_add_spf(&w, &r->spf_req, r->spf);
	authres_add_dkim(&w, r->dkim, r->ndkim, r->skipped, r->error);
	/* One dmarc=, the one that decided (auth.h). */
	authres_add_dmarc_authors(
	    &w, r->dmarc, r->dmarc_from, r->outs, r->ndoms);
	return authres_end(&w);
}

/* Everything is known: the verdict and the field. */
static void
conclude(struct auth_ctx *a)
{
	static const struct dmarc_outcome nomem = {
		.result = DMARC_R_TEMPERROR,
		.reason = "out of memory",
	};
	struct auth_result *r = &a->res;
	struct dmarc_outcome *tmp = NULL;
	struct buf b;
	size_t dec = SIZE_MAX;

	r->spf_run = a->spf_started;
	if (a->conf->dmarc) {
		/* The decided outcome lives as long as the message. */
		if ((tmp = arena_alloc(a->ar, sizeof(*tmp))) == NULL)
			r->dmarc = &nomem;
		else
			r->dmarc = decide(a, tmp, &dec);
		r->dmarc_from = r->dmarc->from_domain.len > 0
		    ? r->dmarc->from_domain
		    : dec < r->ndoms ? r->doms[dec]
		                     : r->from_domain;
		r->disposition = r->dmarc->disposition != DMARC_P_UNSPEC
		    ? r->dmarc->disposition
		    : DMARC_P_NONE;
	}
	buf_init_arena(&b, a->ar);
	r->authres_ok = auth_write_authres(a, &b, a->conf->eol);
	r->authres = buf_span(&b);
}

/* One move forward; false while an answer is awaited. */
static bool
advance(struct auth_ctx *a)
{
	struct auth_result *r = &a->res;

	if (a->dkim_started && !dkim_verify_is_done(a->v))
		return false;
	if (a->dkim_started) {
		r->ndkim = dkim_verify_results(a->v, &r->dkim);
		r->skipped = dkim_verify_skipped(a->v);
	}
	if (!a->conf->dmarc)
		return true;
	if (a->spf_started && !spf_check_is_done(a->spf))
		return false;
	if (a->spf_started)
		r->spf = spf_check_outcome(a->spf);
	/* One author domain after the other, on the one evaluator. */
	while (a->cur < r->ndoms) {
		if (!a->dm_started && !dmarc_begin(a)) {
			a->dm_started = false;
			a->cur++;
			continue;
		}
		if (!dmarc_eval_is_done(a->dm))
			return false;
		r->outs[a->cur++] = *dmarc_eval_outcome(a->dm);
		a->dm_started = false;
	}
	return true;
}

static void
step(void *arg)
{
	struct auth_ctx *a = arg;

	if (a->final)
		return;
	if (a->stepping) {
		a->again = true;
		return;
	}
	a->stepping = true;
	do {
		a->again = false;
		if (!a->final && advance(a)) {
			conclude(a);
			a->final = true;
		}
	} while (a->again && !a->final);
	a->stepping = false;
}

/* Split the header and start DKIM; false when the message is unusable. */
static bool
start_dkim(struct auth_ctx *a)
{
	struct auth_result *r = &a->res;
	char err[128];
	hdr_res hr;
	dkim_res d;

	if (a->req.unread != NULL) {
		r->error = a->req.unread;
		a->unread = true;
		snprintf(a->err, sizeof(a->err), "message not read");
		return false;
	}
	hr = hdr_split(a->req.msg, a->env->limits, a->ar, &a->hm, a->dkim_err,
	    sizeof(a->dkim_err));
	if (hr != HDR_OK) {
		r->error = hr == HDR_E_NOMEM ? dkim_res_str(DKIM_E_NOMEM)
		                             : a->dkim_err;
		a->unread = true;
		memcpy(err, a->dkim_err, sizeof(err) - 1);
		err[sizeof(err) - 1] = '\0';
		snprintf(a->err, sizeof(a->err), "header: %s", err);
		return false;
	}
	a->hdr_ok = true;
	dkim_verify_set_bodies(a->v, a->req.body);
	d = dkim_verify_start_hdr(a->v, &a->hm, a->req.now, a->q);
	if (d != DKIM_OK && d != DKIM_PENDING) {
		r->error = d == DKIM_E_SYNTAX ? dkim_verifier_err(a->v)
		                              : dkim_res_str(d);
		return true;
	}
	a->dkim_started = true;
	return true;
}

auth_res
auth_start(struct auth_ctx *a, const struct auth_request *req, struct arena *ar)
{
	struct auth_result *r = &a->res;

	if (!auth_is_done(a))
		return AUTH_E_ARG;
	a->ar = ar;
	a->req = *req;
	memset(r, 0, sizeof(*r));
	a->hdr_ok = a->dkim_started = a->spf_started = a->dm_started = false;
	a->incomplete = a->unread = false;
	a->err[0] = a->dkim_err[0] = '\0';
	a->cur = 0;
	a->stepping = a->again = false;
	a->final = false;
	r->from = DMARC_FROM_NONE;
	r->env = req->env;
	a->q = dnsq_new(a->env->dns, ar);
	if (a->q == NULL) {
		/* Not even the cache fits: report it, ask nothing. */
		r->error = dkim_res_str(DKIM_E_NOMEM);
		a->unread = true;
		snprintf(a->err, sizeof(a->err), "out of memory");
		conclude(a);
		a->final = true;
		return AUTH_OK;
	}
	/* Steps wait for the whole start before moving on. */
	a->stepping = true;
	dnsq_set_notify(a->q, step, a);
	if (start_dkim(a) && a->conf->dmarc) {
		start_from(a);
		start_spf(a);
	} else {
		/* Unread: no envelope shows (nothing of it was used). */
		memset(&r->env, 0, sizeof(r->env));
	}
	a->stepping = false;
	step(a);
	return auth_is_done(a) ? AUTH_OK : AUTH_PENDING;
}

/*
 * The dnsq is idle exactly when none of its clients waits (each
 * unanswered question has a waiting client), and asking the clients
 * does not touch the arena, which the caller may have freed since.
 */
bool
auth_is_done(const struct auth_ctx *a)
{
	return a->final && dkim_verify_is_done(a->v) &&
	    (a->spf == NULL || spf_check_is_done(a->spf)) &&
	    (a->dm == NULL || dmarc_eval_is_done(a->dm));
}

const struct auth_result *
auth_result(const struct auth_ctx *a)
{
	return &a->res;
}
