/*
 * hanko milter, one connection (cli_milter.h). libmilter calls these
 * callbacks one at a time per connection, possibly on different threads
 * of its pool; a connection's state is its own struct mconn (smfi_setpriv),
 * so nothing here is shared but the read-only configuration.
 *
 * The header is rebuilt as it arrives: each field as "name:" followed by
 * its value (leading whitespace kept, SMFIP_HDR_LEADSPC) with CRLF line
 * ends. A message being signed has its body hashed chunk by chunk as it
 * streams in (dkim_sign_begin/body/body_end) and never kept; a message
 * being verified keeps its body too, since core/auth takes the whole
 * message. Header bytes beyond --max-header and message bytes beyond
 * --max-size are not kept: such a message is answered as unreadable
 * (verify) or refused (sign), never half-checked.
 *
 * Authentication-Results fields are counted as the MTA counts them for
 * smfi_chgheader (the n-th field of that name, case-insensitively, in the
 * order received); those claiming our authserv-id are deleted, highest
 * index first, so each index still names the field it named when read.
 */
#include "cli_milter.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>

#include "cli_envelope.h"
#include "cli_keymap.h"
#include "cli_table.h"
#include "cli_verify.h"
#include "core/arena.h"
#include "core/authres.h"
#include "core/dkim_bodystream.h"
#include "core/dkim_sign.h"
#include "core/dkim_verify.h"
#include "core/dmarc.h"
#include "core/hdr.h"
#include "core/span.h"

/*
 * libmilter passes no user pointer to its callbacks: the configuration
 * is reached through this one pointer, set once before smfi_main() starts
 * any thread and never written again.
 */
static const struct milter_conf *mconf;

#define AR_NAME "Authentication-Results"

/* Connection lifetime, message fields reset per message. */
struct mconn {
	char ip[64], helo[256];
	bool has_ip, internal, leadspc;
	/* Message */
	char *mail_from;
	bool auth;         /* {auth_authen} was set */
	uint8_t *msg;      /* header then body, as rebuilt */
	size_t len, cap;   /* bytes kept, allocated */
	size_t hdr_len;    /* header bytes seen (kept or not) */
	bool too_big;      /* a limit dropped bytes */
	uint64_t body_len; /* body bytes seen */
	uint64_t now;      /* the message's time, taken at its header end */
	struct hdr_msg hm; /* the header, split for the body stream */
	struct dkim_bodystream *bs; /* verifying: body hashes as it streams */
	size_t nar;                 /* Authentication-Results fields seen */
	size_t *ours, nours, ours_cap; /* their indexes claiming our id */
	/* Verifying */
	struct cli_resolver res;
	bool res_open;
	struct core_env env;
	struct auth_ctx *a;
	struct arena ar;
	/* Signing: the body is hashed as it streams in, never kept. */
	bool signing;   /* this message is signed, not verified */
	dkim_res begun; /* dkim_sign_begin's answer at the header end */
	span from;      /* its From address (in the arena) */
	struct dkim_signer *signer;
	struct cli_keymap *own; /* keys whose path has '%' */
	struct cli_key_ref refs[MAX_CONFS];
	struct dkim_sign_conf confs[MAX_CONFS];
};

/*
 * libmilter's prototypes take char * for strings they only read; these
 * pass copies so no literal loses its const.
 */
static void
reply(SMFICTX *ctx, const char *code, const char *xcode, const char *text)
{
	char c[8], x[16], t[400];

	snprintf(c, sizeof(c), "%s", code);
	snprintf(x, sizeof(x), "%s", xcode);
	snprintf(t, sizeof(t), "%s", text);
	(void)smfi_setreply(ctx, c, x, t);
}

static const char *
symval(SMFICTX *ctx, const char *name)
{
	char n[32];

	snprintf(n, sizeof(n), "%s", name);
	return smfi_getsymval(ctx, n);
}

static struct mconn *
conn_of(SMFICTX *ctx)
{
	return smfi_getpriv(ctx);
}

static void
msg_reset(struct mconn *m)
{
	free(m->mail_from);
	m->mail_from = NULL;
	m->auth = false;
	m->len = 0;
	m->hdr_len = 0;
	m->too_big = false;
	m->body_len = 0;
	dkim_bodystream_free(m->bs);
	m->bs = NULL;
	m->nar = 0;
	m->nours = 0;
	m->signing = false;
	m->begun = DKIM_E_ARG;
	/* A message buffer that grew large is not kept for the next. */
	if (m->cap > ((size_t)1 << 20)) {
		free(m->msg);
		m->msg = NULL;
		m->cap = 0;
	}
}

static void
conn_free(struct mconn *m)
{
	if (m == NULL)
		return;
	msg_reset(m);
	free(m->msg);
	free(m->ours);
	auth_free(m->a);
	arena_fini(&m->ar);
	if (m->res_open)
		cli_resolver_close(&m->res);
	dkim_signer_free(m->signer);
	cli_keymap_free(m->own);
	free(m);
}

/* Append p to the message unless that passes --max-size. */
static void
msg_add(struct mconn *m, const void *p, size_t n)
{
	size_t cap;
	uint8_t *q;

	if (m->too_big)
		return;
	if (n > mconf->max_size - m->len) {
		m->too_big = true;
		return;
	}
	if (n > m->cap - m->len) {
		cap = m->cap > 0 ? m->cap : 16384;
		while (cap - m->len < n)
			cap = cap > mconf->max_size / 2 ? mconf->max_size
			                                : cap * 2;
		if ((q = realloc(m->msg, cap)) == NULL) {
			m->too_big = true;
			return;
		}
		m->msg = q;
		m->cap = cap;
	}
	memcpy(m->msg + m->len, p, n);
	m->len += n;
}

/* Header text with every bare LF (libmilter's folding) made CRLF. */
static void
msg_add_crlf(struct mconn *m, const char *s)
{
	const char *nl;

	while ((nl = strchr(s, '\n')) != NULL) {
		size_t n = (size_t)(nl - s);

		if (n > 0 && s[n - 1] == '\r')
			n--;
		msg_add(m, s, n);
		msg_add(m, "\r\n", 2);
		s = nl + 1;
	}
	msg_add(m, s, strlen(s));
}

/* A connection's state, counted against --max-connections; NULL: none. */
static struct mconn *
conn_new(SMFICTX *ctx, bool leadspc)
{
	struct milter_conf *c = (struct milter_conf *)(uintptr_t)mconf;
	struct mconn *m;

	if (atomic_fetch_add(&c->nconns, 1) >= c->max_conns) {
		atomic_fetch_sub(&c->nconns, 1);
		return NULL;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		atomic_fetch_sub(&c->nconns, 1);
		return NULL;
	}
	arena_init(
	    &m->ar, c->e->core.alloc, 64 << 10, c->e->limits.max_arena_bytes);
	m->leadspc = leadspc;
	smfi_setpriv(ctx, m);
	return m;
}

/* The first callback of a connection (protocol 6 MTAs). */
static sfsistat
on_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
    unsigned long f3, unsigned long *pf0, unsigned long *pf1,
    unsigned long *pf2, unsigned long *pf3)
{
	(void)f2;
	(void)f3;
	*pf0 = f0 & (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE);
	*pf1 = f1 & SMFIP_HDR_LEADSPC;
	*pf2 = 0;
	*pf3 = 0;
	if (conn_of(ctx) == NULL &&
	    conn_new(ctx, (f1 & SMFIP_HDR_LEADSPC) != 0) == NULL)
		return SMFIS_TEMPFAIL;
	return SMFIS_CONTINUE;
}

static void
addr_text(const struct sockaddr *sa, char *out, size_t len, bool *has)
{
	const void *a = NULL;

	*has = false;
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET)
		a = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	if (a != NULL && inet_ntop(sa->sa_family, a, out, (socklen_t)len))
		*has = true;
}

static sfsistat
on_connect(SMFICTX *ctx, char *host, struct sockaddr *sa)
{
	struct mconn *m = conn_of(ctx);

	(void)host;
	if (m == NULL && (m = conn_new(ctx, false)) == NULL) {
		reply(ctx, "421", "4.3.2", "too many connections");
		return SMFIS_TEMPFAIL;
	}
	addr_text(sa, m->ip, sizeof(m->ip), &m->has_ip);
	/* No address: a local submission (sendmail -bs, a unix socket). */
	m->internal = !m->has_ip || cli_milter_is_internal(mconf, m->ip);
	return SMFIS_CONTINUE;
}

static sfsistat
on_helo(SMFICTX *ctx, char *helo)
{
	struct mconn *m = conn_of(ctx);

	if (m != NULL && helo != NULL)
		snprintf(m->helo, sizeof(m->helo), "%s", helo);
	return SMFIS_CONTINUE;
}

static sfsistat
on_envfrom(SMFICTX *ctx, char **argv)
{
	struct mconn *m = conn_of(ctx);
	const char *authen;

	if (m == NULL)
		return SMFIS_TEMPFAIL;
	msg_reset(m);
	/* The previous message's verification finished at its end. */
	arena_reset(&m->ar);
	if (argv != NULL && argv[0] != NULL &&
	    (m->mail_from = strdup(argv[0])) == NULL)
		return SMFIS_TEMPFAIL;
	authen = symval(ctx, "{auth_authen}");
	m->auth = authen != NULL && authen[0] != '\0';
	m->signing = mconf->can_sign && (m->internal || m->auth);
	return SMFIS_CONTINUE;
}

static bool
note_ours(struct mconn *m)
{
	size_t *q;

	if (m->nours == m->ours_cap) {
		size_t cap = m->ours_cap > 0 ? m->ours_cap * 2 : 8;

		if ((q = realloc(m->ours, cap * sizeof(*q))) == NULL)
			return false;
		m->ours = q;
		m->ours_cap = cap;
	}
	m->ours[m->nours++] = m->nar;
	return true;
}

static sfsistat
on_header(SMFICTX *ctx, char *name, char *value)
{
	struct mconn *m = conn_of(ctx);
	size_t n;

	if (m == NULL || name == NULL || value == NULL)
		return SMFIS_TEMPFAIL;
	n = strlen(name) + strlen(value) + 3;
	if (m->hdr_len > mconf->max_header ||
	    n > mconf->max_header - m->hdr_len)
		m->too_big = true;
	m->hdr_len += n;
	if (strcasecmp(name, AR_NAME) == 0) {
		m->nar++;
		if (authres_claims_id(
		        span_cstr(value), mconf->conf.authserv_id) &&
		    !note_ours(m))
			return SMFIS_TEMPFAIL;
	}
	msg_add(m, name, strlen(name));
	msg_add(m, m->leadspc ? ":" : ": ", m->leadspc ? 1 : 2);
	msg_add_crlf(m, value);
	msg_add(m, "\r\n", 2);
	return SMFIS_CONTINUE;
}

/* Verifying: split the header and set up its signatures' body hashes. */
static sfsistat
eoh_verify(struct mconn *m)
{
	char err[160];

	if (hdr_split(span_make(m->msg, m->len), mconf->e->core.limits, &m->ar,
	        &m->hm, err, sizeof(err)) != HDR_OK)
		return SMFIS_CONTINUE; /* core/auth says why at the end */
	switch (dkim_bodystream_new(
	    &mconf->e->core, &m->hm, m->now, &m->ar, &m->bs)) {
	case DKIM_OK:
		return SMFIS_CONTINUE;
	case DKIM_E_NOMEM:
		m->too_big = true; /* judged unreadable, as too large */
		return SMFIS_CONTINUE;
	case DKIM_PENDING:
	case DKIM_E_SYNTAX:
	case DKIM_E_FROM:
	case DKIM_E_LIMIT:
	case DKIM_E_KEY:
	case DKIM_E_ARG:
	case DKIM_E_CRYPTO:
		break;
	}
	return SMFIS_TEMPFAIL;
}

static sfsistat
on_eoh(SMFICTX *ctx)
{
	struct mconn *m = conn_of(ctx);

	if (m == NULL)
		return SMFIS_TEMPFAIL;
	msg_add(m, "\r\n", 2);
	m->now = (uint64_t)time(NULL);
	if (m->too_big)
		return SMFIS_CONTINUE;
	if (!m->signing)
		return eoh_verify(m);
	if (m->signer == NULL &&
	    dkim_signer_new(&mconf->e->core, &m->signer) != DKIM_OK)
		return SMFIS_TEMPFAIL;
	m->begun = dkim_sign_begin(
	    m->signer, span_make(m->msg, m->len), &m->ar, &m->from);
	return SMFIS_CONTINUE;
}

/*
 * Body chunks go to the signer or to the verifier's hashers as they
 * come; no body byte is kept. Past --max-size the message is no longer
 * hashed and is judged too large at its end.
 */
static sfsistat
on_body(SMFICTX *ctx, unsigned char *p, size_t n)
{
	struct mconn *m = conn_of(ctx);

	if (m == NULL)
		return SMFIS_TEMPFAIL;
	if (n > mconf->max_size - m->len ||
	    m->body_len > mconf->max_size - m->len - n)
		m->too_big = true;
	m->body_len += n;
	if (m->too_big)
		return SMFIS_CONTINUE;
	if (m->signing) {
		if (m->begun == DKIM_OK &&
		    dkim_sign_body(m->signer, span_make(p, n)) != DKIM_OK)
			return SMFIS_TEMPFAIL;
	} else if (m->bs != NULL &&
	    !dkim_bodystream_feed(m->bs, span_make(p, n))) {
		return SMFIS_TEMPFAIL;
	}
	return SMFIS_CONTINUE;
}

static const char *
queue_id(SMFICTX *ctx)
{
	const char *id = symval(ctx, "i");

	return id != NULL ? id : "NOQUEUE";
}

/* Field text "Name: value\r\n..." as libmilter wants a value: folds as LF. */
static char *
field_value(span field, size_t namelen)
{
	char *v = malloc(field.len + 1), *q = v;
	size_t i;

	if (v == NULL)
		return NULL;
	for (i = namelen + 1; i < field.len; i++)
		if (field.p[i] != '\r')
			*q++ = (char)field.p[i];
	while (q > v && q[-1] == '\n')
		q--;
	*q = '\0';
	return v;
}

/* The keys for this From: the -k keys, else the SigningTable's. */
static size_t
sign_confs(struct mconn *m, span from, char *why, size_t whylen)
{
	const struct cli_sign_opts *o = mconf->sign;
	char addr[512];
	size_t n, i;

	why[0] = '\0';
	if (o->nconfs > 0) {
		memcpy(m->confs, o->confs, o->nconfs * sizeof(m->confs[0]));
		return o->nconfs;
	}
	if (o->st == NULL || from.len >= sizeof(addr))
		return 0;
	memcpy(addr, from.p, from.len);
	addr[from.len] = '\0';
	n = cli_signtable_match(
	    o->st, o->kt, addr, o->multiple, m->refs, MAX_CONFS, why, whylen);
	for (i = 0; i < n; i++) {
		const struct cli_key_ref *ref = &m->refs[i];
		const struct dkim_privkey *key;

		key = cli_keymap_find(mconf->keys, ref->keypath);
		if (key == NULL && m->own == NULL &&
		    (m->own = cli_keymap_new()) == NULL)
			return 0;
		if (key == NULL &&
		    (key = cli_keymap_load(m->own, ref->keypath,
		         o->allow_unsafe, why, whylen)) == NULL)
			return 0;
		m->confs[i] = o->base;
		m->confs[i].key = key;
		m->confs[i].domain = span_cstr(ref->domain);
		m->confs[i].selector = span_cstr(ref->selector);
		if (ref->signer[0] != '\0')
			m->confs[i].identity = span_cstr(ref->signer);
	}
	return n;
}

/* Insert the DKIM-Signature fields of out, first field on top. */
static bool
insert_fields(SMFICTX *ctx, span all, const char *name)
{
	size_t nl = strlen(name), i, start = 0;
	span f[MAX_CONFS];
	size_t nf = 0;

	for (i = 0; i < all.len && nf < MAX_CONFS; i++) {
		/* A field ends at a line end not followed by WSP. */
		if (all.p[i] == '\n' &&
		    (i + 1 == all.len ||
		        (all.p[i + 1] != ' ' && all.p[i + 1] != '\t'))) {
			f[nf++] = span_make(all.p + start, i + 1 - start);
			start = i + 1;
		}
	}
	while (nf-- > 0) {
		char *v = field_value(f[nf], nl);
		int r;

		if (v == NULL)
			return false;
		r = smfi_insheader(ctx, 0, (char *)(uintptr_t)name, v);
		free(v);
		if (r != MI_SUCCESS)
			return false;
	}
	return true;
}

static sfsistat
eom_sign(SMFICTX *ctx, struct mconn *m)
{
	struct buf out;
	char why[256];
	size_t n;

	if (m->too_big) {
		fprintf(stderr,
		    "hanko: milter: %s: not signed: message "
		    "larger than the limits; refused\n",
		    queue_id(ctx));
		reply(ctx, "552", "5.3.4", "message too large to sign");
		return SMFIS_REJECT;
	}
	if (m->begun != DKIM_OK) {
		fprintf(stderr,
		    "hanko: milter: %s: not signed: %s; "
		    "accepted\n",
		    queue_id(ctx),
		    m->signer != NULL ? dkim_signer_err(m->signer)
		                      : "no header");
		return SMFIS_ACCEPT;
	}
	if (dkim_sign_body_end(m->signer) != DKIM_OK)
		goto fail;
	if ((n = sign_confs(m, m->from, why, sizeof(why))) == 0) {
		fprintf(stderr,
		    "hanko: milter: %s: not signed: %s; "
		    "accepted\n",
		    queue_id(ctx),
		    why[0] != '\0' ? why : "no key for the From address");
		return SMFIS_ACCEPT;
	}
	buf_init_arena(&out, &m->ar);
	if (dkim_sign_emit(
	        m->signer, m->confs, n, (uint64_t)time(NULL), &out) != DKIM_OK)
		goto fail;
	if (!insert_fields(ctx, buf_span(&out), "DKIM-Signature")) {
		fprintf(stderr,
		    "hanko: milter: %s: not signed: the MTA "
		    "refused the field; tempfail\n",
		    queue_id(ctx));
		return SMFIS_TEMPFAIL;
	}
	fprintf(stderr,
	    "hanko: milter: %s: signed d=%.*s s=%.*s%s "
	    "client=%s\n",
	    queue_id(ctx), (int)m->confs[0].domain.len,
	    (const char *)m->confs[0].domain.p, (int)m->confs[0].selector.len,
	    (const char *)m->confs[0].selector.p, n > 1 ? " (+more)" : "",
	    m->has_ip ? m->ip : "local");
	return SMFIS_ACCEPT;
fail:
	fprintf(stderr, "hanko: milter: %s: not signed: %s; tempfail\n",
	    queue_id(ctx), dkim_signer_err(m->signer));
	return SMFIS_TEMPFAIL;
}

static bool
auth_done(void *arg)
{
	return auth_is_done(arg);
}

/* Verify the message: the result in m->a, or false (no resources). */
static bool
verify_run(struct mconn *m)
{
	struct auth_request req;
	char err[256];

	if (!m->res_open) {
		if (cli_resolver_open(&mconf->dns, (size_t)mconf->max_sigs + 80,
		        &m->res, err, sizeof(err)) != 0) {
			fprintf(stderr, "hanko: milter: resolver: %s\n", err);
			return false;
		}
		m->res_open = true;
		m->env = mconf->e->core;
		m->env.dns = &m->res.ops;
	}
	if (m->a == NULL &&
	    auth_new(&m->env, &mconf->conf, NULL, &m->a) != AUTH_OK)
		return false;
	memset(&req, 0, sizeof(req));
	req.msg = span_make(m->msg, m->len); /* the header section */
	req.now = m->now;
	if (m->bs != NULL && !dkim_bodystream_finish(m->bs))
		return false;
	req.body = m->bs;
	if (m->too_big)
		req.unread = "message larger than the milter's limits";
	req.pct_roll = arc4random_uniform(100);
	if (m->has_ip)
		auth_envelope_set(
		    &req.env, AUTH_ENV_IP, span_cstr(m->ip), "milter");
	if (m->mail_from != NULL)
		auth_envelope_set(&req.env, AUTH_ENV_MAIL_FROM,
		    envelope_path(span_cstr(m->mail_from)), "milter");
	if (m->helo[0] != '\0')
		auth_envelope_set(
		    &req.env, AUTH_ENV_HELO, span_cstr(m->helo), "milter");
	if (auth_start(m->a, &req, &m->ar) == AUTH_E_ARG)
		return false;
	cli_resolver_wait(&m->res, auth_done, m->a);
	return true;
}

/* Remove the fields claiming our id (last first), add ours on top. */
static bool
replace_authres(SMFICTX *ctx, struct mconn *m, const struct auth_result *r)
{
	size_t i = m->nours;
	char *v;
	int rc;

	while (i-- > 0)
		if (smfi_chgheader(ctx, (char *)(uintptr_t)AR_NAME,
		        (int)m->ours[i], NULL) != MI_SUCCESS)
			return false;
	if (!r->authres_ok ||
	    (v = field_value(r->authres, strlen(AR_NAME))) == NULL)
		return false;
	rc = smfi_insheader(ctx, 0, (char *)(uintptr_t)AR_NAME, v);
	free(v);
	return rc == MI_SUCCESS;
}

static void
record_history(
    const struct mconn *m, const struct auth_result *r, const char *qid)
{
	struct arena ar;
	struct buf line;
	uint64_t now = (uint64_t)time(NULL);
	int e;

	if (mconf->history_fd < 0)
		return;
	arena_init(&ar, mconf->e->core.alloc, 16 << 10, (size_t)4 << 20);
	buf_init_arena(&line, &ar);
	(void)m;
	if (!cli_dmarc_json(&line, qid, r, r->authres, mconf->rfc7489, &now))
		fprintf(
		    stderr, "hanko: milter: %s: history line too long\n", qid);
	else if ((e = cli_history_append(
	              mconf->history_fd, line.p, line.len)) != 0)
		fprintf(stderr, "hanko: milter: --history %s: %s\n",
		    mconf->history, strerror(-e));
	arena_fini(&ar);
}

/* What --dmarc-reject and --dmarc-quarantine make of the result. */
static sfsistat
enforce(SMFICTX *ctx, const struct auth_result *r, const char **action)
{
	char why[300];
	const struct dmarc_outcome *d = r->dmarc;
	span dom = r->dmarc_from;

	*action = "accept";
	if (d == NULL)
		return SMFIS_ACCEPT;
	if (mconf->dmarc_reject && d->result == DMARC_R_TEMPERROR) {
		*action = "tempfail";
		reply(ctx, "451", "4.7.5",
		    "DMARC evaluation failed temporarily (DNS); try again");
		return SMFIS_TEMPFAIL;
	}
	if (r->disposition == DMARC_P_REJECT && mconf->dmarc_reject) {
		*action = "reject";
		snprintf(why, sizeof(why),
		    "DMARC policy of %.*s rejects this "
		    "message",
		    (int)(dom.len > 200 ? 200 : dom.len), (const char *)dom.p);
		reply(ctx, "550", "5.7.1", why);
		return SMFIS_REJECT;
	}
	if (r->disposition == DMARC_P_QUARANTINE &&
	    mconf->quarantine == MILTER_Q_HOLD) {
		*action = "quarantine";
		if (smfi_quarantine(ctx,
		        (char *)(uintptr_t) "DMARC p=quarantine") != MI_SUCCESS)
			return SMFIS_TEMPFAIL;
	} else if (r->disposition == DMARC_P_QUARANTINE &&
	    mconf->quarantine == MILTER_Q_HEADER) {
		*action = "quarantine-header";
		if (smfi_insheader(ctx, 0,
		        (char *)(uintptr_t) "X-Hanko-Quarantine",
		        (char *)(uintptr_t) " DMARC p=quarantine") !=
		    MI_SUCCESS)
			return SMFIS_TEMPFAIL;
	}
	return SMFIS_ACCEPT;
}

/* "pass,fail" for the log: each signature's verdict, or "none". */
static void
dkim_list(const struct auth_result *r, char *out, size_t len)
{
	size_t i, n = 0;

	snprintf(out, len, "none");
	for (i = 0; i < r->ndkim && n < len; i++) {
		int k = snprintf(out + n, len - n, "%s%s", i > 0 ? "," : "",
		    dkim_verdict_str(r->dkim[i].verdict));

		if (k < 0)
			break;
		n += (size_t)k;
	}
}

static sfsistat
eom_verify(SMFICTX *ctx, struct mconn *m)
{
	const struct auth_result *r;
	const char *qid = queue_id(ctx), *action;
	char dk[128];
	sfsistat st;

	if (!verify_run(m)) {
		fprintf(stderr,
		    "hanko: milter: %s: not verified: out of "
		    "resources; tempfail\n",
		    qid);
		return SMFIS_TEMPFAIL;
	}
	r = auth_result(m->a);
	st = enforce(ctx, r, &action);
	if (st == SMFIS_ACCEPT && !replace_authres(ctx, m, r)) {
		action = "tempfail";
		st = SMFIS_TEMPFAIL;
	}
	record_history(m, r, qid);
	dkim_list(r, dk, sizeof(dk));
	fprintf(stderr,
	    "hanko: milter: %s: client=%s removed=%zu "
	    "spf=%s dkim=%s dmarc=%s%s%.*s action=%s\n",
	    qid, m->has_ip ? m->ip : "local", st == SMFIS_ACCEPT ? m->nours : 0,
	    r->spf_run ? spf_result_str(r->spf->result) : "none", dk,
	    r->dmarc != NULL ? dmarc_result_str(r->dmarc->result) : "none",
	    r->dmarc_from.len > 0 ? " header.from=" : "",
	    (int)(r->dmarc_from.len > 200 ? 200 : r->dmarc_from.len),
	    (const char *)r->dmarc_from.p, action);
	return st;
}

static sfsistat
on_eom(SMFICTX *ctx)
{
	struct mconn *m = conn_of(ctx);
	sfsistat st;

	if (m == NULL)
		return SMFIS_TEMPFAIL;
	if (m->signing)
		st = eom_sign(ctx, m);
	else
		st = eom_verify(ctx, m);
	msg_reset(m);
	return st;
}

static sfsistat
on_abort(SMFICTX *ctx)
{
	struct mconn *m = conn_of(ctx);

	if (m != NULL)
		msg_reset(m);
	return SMFIS_CONTINUE;
}

static sfsistat
on_close(SMFICTX *ctx)
{
	struct mconn *m = conn_of(ctx);
	struct milter_conf *c = (struct milter_conf *)(uintptr_t)mconf;

	if (m != NULL) {
		smfi_setpriv(ctx, NULL);
		conn_free(m);
		atomic_fetch_sub(&c->nconns, 1);
	}
	return SMFIS_CONTINUE;
}

int
cli_milter_register(const struct milter_conf *c)
{
	static struct smfiDesc desc = {
		.xxfi_name = (char *)(uintptr_t) "hanko",
		.xxfi_version = SMFI_VERSION,
		.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE,
		.xxfi_connect = on_connect,
		.xxfi_helo = on_helo,
		.xxfi_envfrom = on_envfrom,
		.xxfi_header = on_header,
		.xxfi_eoh = on_eoh,
		.xxfi_body = on_body,
		.xxfi_eom = on_eom,
		.xxfi_abort = on_abort,
		.xxfi_close = on_close,
		.xxfi_negotiate = on_negotiate,
	};

	mconf = c;
	return smfi_register(desc) == MI_SUCCESS ? 0 : -1;
}
