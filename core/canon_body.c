/*
 * Streaming body canonicalization, RFC 6376 §3.4.3 (simple) and §3.4.4
 * (relaxed). Line endings and, in relaxed mode, WSP runs are deferred
 * until content follows, which is how trailing empty lines and trailing
 * WSP disappear without look-ahead across chunks.
 */
#include "canon.h"

#include <string.h>

#include "scan.h"

/* Below this, a piece is copied into the stage rather than hashed alone. */
#define DIRECT_MIN 512

static void
md_update(struct canon_body *cb, const uint8_t *p, size_t n)
{
	if (n > 0 && EVP_DigestUpdate(cb->md, p, n) != 1)
		cb->ok = false;
}

static void
stage_flush(struct canon_body *cb)
{
	md_update(cb, cb->stage, cb->nstage);
	cb->nstage = 0;
}

/* Count n canonical bytes and hash those inside the l= limit. */
static void
hash_bytes(struct canon_body *cb, const uint8_t *p, size_t n)
{
	uint64_t room = cb->limit - cb->hashed;

	cb->total += n;
	if ((uint64_t)n > room)
		n = (size_t)room;
	cb->hashed += n;
	if (n >= DIRECT_MIN) {
		stage_flush(cb);
		md_update(cb, p, n);
		return;
	}
	if (n > CANON_STAGE_CAP - cb->nstage)
		stage_flush(cb);
	memcpy(cb->stage + cb->nstage, p, n);
	cb->nstage += n;
}

static void
commit_run(struct canon_body *cb)
{
	if (cb->run.len > 0)
		hash_bytes(cb, cb->run.p, cb->run.len);
	cb->run.len = 0;
}

/* Emit source bytes, merging with the pending run when contiguous. */
static void
out_src(struct canon_body *cb, const uint8_t *p, size_t n)
{
	if (cb->run.len > 0 && cb->run.p + cb->run.len == p) {
		cb->run.len += n;
		return;
	}
	commit_run(cb);
	cb->run = span_make(p, n);
}

static void
out_syn(struct canon_body *cb, const char *s, size_t n)
{
	commit_run(cb);
	hash_bytes(cb, (const uint8_t *)s, n);
}

static void
flush_eols(struct canon_body *cb)
{
	if (cb->pend_eol_src.p != NULL &&
	    cb->pend_eol_src.len == 2 * cb->pend_eol) {
		out_src(cb, cb->pend_eol_src.p, cb->pend_eol_src.len);
	} else {
		for (; cb->pend_eol > 0; cb->pend_eol--)
			out_syn(cb, "\r\n", 2);
	}
	cb->pend_eol = 0;
	cb->pend_eol_src = span_make(NULL, 0);
}

/* Content follows: release deferred line endings and WSP first. */
static void
before_content(struct canon_body *cb)
{
	if (cb->pend_eol > 0)
		flush_eols(cb);
	if (cb->pend_wsp) {
		if (cb->pend_wsp_src.p != NULL)
			out_src(cb, cb->pend_wsp_src.p, 1);
		else
			out_syn(cb, " ", 1);
		cb->pend_wsp = false;
	}
	cb->any = true;
}

static void
content(struct canon_body *cb, const uint8_t *p, size_t n)
{
	if (n == 0)
		return;
	before_content(cb);
	out_src(cb, p, n);
}

/* A line ended; src is its CRLF in the input, or NULL if synthesized. */
static void
line_end(struct canon_body *cb, const uint8_t *src)
{
	cb->pend_wsp = false; /* §3.4.4: WSP at end of line is dropped */
	if (src == NULL) {
		cb->pend_eol_src = span_make(NULL, 0);
	} else if (cb->pend_eol == 0) {
		cb->pend_eol_src = span_make(src, 2);
	} else if (cb->pend_eol_src.p != NULL &&
	    cb->pend_eol_src.p + cb->pend_eol_src.len == src) {
		cb->pend_eol_src.len += 2;
	} else {
		cb->pend_eol_src = span_make(NULL, 0);
	}
	cb->pend_eol++;
}

/*
 * Handle the CR at p[i]; returns the index after what was consumed, or
 * len with pend_cr set when the chunk ends on it.
 */
static size_t
at_cr(struct canon_body *cb, const uint8_t *p, size_t i, size_t len)
{
	if (i + 1 == len) {
		cb->pend_cr = true;
		return len;
	}
	if (p[i + 1] == '\n') {
		line_end(cb, p + i);
		return i + 2;
	}
	content(cb, p + i, 1);
	return i + 1;
}

/* Resolve a CR left at the end of the previous chunk. */
static size_t
resume_cr(struct canon_body *cb, span c)
{
	cb->pend_cr = false;
	if (c.p[0] == '\n') {
		line_end(cb, NULL);
		return 1;
	}
	before_content(cb);
	out_syn(cb, "\r", 1);
	return 0;
}

static size_t
at_wsp(struct canon_body *cb, const uint8_t *p, size_t i, size_t len)
{
	size_t j = i;

	while (j < len && (p[j] == ' ' || p[j] == '\t'))
		j++;
	if (cb->pend_wsp || j - i != 1 || p[i] != ' ')
		cb->pend_wsp_src = span_make(NULL, 0);
	else
		cb->pend_wsp_src = span_make(p + i, 1);
	cb->pend_wsp = true;
	return j;
}

static void
feed_simple(struct canon_body *cb, const uint8_t *p, size_t len, size_t i)
{
	while (i < len) {
		size_t k = i + cb->scan->byte2(p + i, len - i, '\r', '\n');

		content(cb, p + i, k - i);
		if (k == len)
			break;
		if (p[k] == '\n') {
			line_end(cb, NULL);
			i = k + 1;
		} else {
			i = at_cr(cb, p, k, len);
		}
	}
}

static void
feed_relaxed(struct canon_body *cb, const uint8_t *p, size_t len, size_t i)
{
	/*
	 * A WSP run left pending by the previous chunk continues here; the
	 * scanner would pass over a single SP before content as ordinary.
	 */
	if (cb->pend_wsp && i < len && (p[i] == ' ' || p[i] == '\t'))
		i = at_wsp(cb, p, i, len);
	while (i < len) {
		size_t k = i + cb->scan->relaxed_stop(p + i, len - i);

		content(cb, p + i, k - i);
		if (k == len)
			break;
		switch (p[k]) {
		case '\n':
			line_end(cb, NULL);
			i = k + 1;
			break;
		case '\r':
			i = at_cr(cb, p, k, len);
			break;
		default:
			i = at_wsp(cb, p, k, len);
			break;
		}
	}
}

void
canon_body_init(struct canon_body *cb, enum canon_alg alg,
    const struct scan_ops *scan, EVP_MD_CTX *md, uint64_t limit)
{
	memset(cb, 0, offsetof(struct canon_body, stage));
	cb->scan = scan;
	cb->md = md;
	cb->alg = alg;
	cb->ok = true;
	cb->limit = limit;
}

bool
canon_body_feed(struct canon_body *cb, span c)
{
	size_t i = 0;

	if (c.len == 0)
		return cb->ok;
	/* Pieces of the run must not outlive the caller's chunk. */
	if (cb->pend_cr)
		i = resume_cr(cb, c);
	if (cb->alg == CANON_RELAXED)
		feed_relaxed(cb, c.p, c.len, i);
	else
		feed_simple(cb, c.p, c.len, i);
	commit_run(cb);
	if (cb->pend_eol_src.p != NULL || cb->pend_wsp_src.p != NULL) {
		/* Deferred source spans may not refer to this chunk later. */
		cb->pend_eol_src = span_make(NULL, 0);
		cb->pend_wsp_src = span_make(NULL, 0);
	}
	return cb->ok;
}

bool
canon_body_finish(struct canon_body *cb)
{
	if (cb->pend_cr) {
		cb->pend_cr = false;
		before_content(cb);
		out_syn(cb, "\r", 1);
	}
	/*
	 * §3.4.3/§3.4.4: trailing empty lines go; a non-empty body ends in
	 * exactly one CRLF. An empty body is CRLF under simple and nothing
	 * under relaxed.
	 */
	if (cb->any || cb->alg == CANON_SIMPLE)
		out_syn(cb, "\r\n", 2);
	commit_run(cb);
	stage_flush(cb);
	return cb->ok;
}
