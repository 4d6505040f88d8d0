/*
 * NAME
 *	authres.h - RFC 8601 Authentication-Results fields
 * DESCRIPTION
 *	Writes "Authentication-Results: authserv-id; method=result ..." with
 *	one resinfo per DKIM signature (header.d, header.s, header.b, RFC
 *	6008). Every value that comes from the message is emitted as a token
 *	or domain-name only when it is one, and as an escaped quoted-string
 *	otherwise, so a hostile d= or s= cannot inject text into the field.
 *	Reasons go into reason="..." (RFC 8601 §2.2), key details into a
 *	comment.
 */
#ifndef HANKO_CORE_AUTHRES_H
#define HANKO_CORE_AUTHRES_H

#include <stdbool.h>
#include <stddef.h>

#include "span.h"

struct dkim_result;
struct dmarc_outcome;
struct spf_outcome;
struct spf_request;

/*
 * Incremental form, for fields with several methods (hanko dmarc):
 *	authres_begin(&w, out, id, eol);
 *	authres_add_spf(&w, ...); authres_add_dkim(&w, ...); ...
 *	ok = authres_end(&w);
 * Each add appends one or more resinfos; on any failure the buffer is
 * put back as it was before authres_begin and authres_end is false.
 */
struct authres_w {
	struct buf *out;
	const char *eol;
	size_t mark;
	size_t nres;
	bool ok;
};

void authres_begin(
    struct authres_w *w, struct buf *out, span authserv_id, const char *eol);
/* spf=RESULT (detail) smtp.mailfrom=SENDER or smtp.helo=HELO. */
void authres_add_spf(struct authres_w *w, const struct spf_request *req,
    const struct spf_outcome *o);
/* As authres_dkim's body: one dkim= per result, or dkim=none/permerror. */
void authres_add_dkim(struct authres_w *w, const struct dkim_result *res,
    size_t n, size_t nskipped, const char *error);
/*
 * dmarc=RESULT (p=.. sp=.. [np=.. when it applied] dis=..)
 * [reason=".."] header.from=DOMAIN, Gmail's spelling of the comment.
 */
void authres_add_dmarc(
    struct authres_w *w, const struct dmarc_outcome *o, span from_domain);
/*
 * The one dmarc= of a message with several author domains (RFC 9989
 * §11, RFC 7489 §6.6.1): o is the outcome that decided and from_domain
 * its domain; each[0..n) adds every domain's result to the comment
 * ("; authors: a.example pass, b.example fail") when n > 1. A reader
 * that takes the first dmarc= of the field so sees the verdict.
 */
void authres_add_dmarc_authors(struct authres_w *w,
    const struct dmarc_outcome *o, span from_domain,
    const struct dmarc_outcome *each, size_t n);
bool authres_end(struct authres_w *w);

/*
 * Append the whole field; eol separates the folded lines ("\r\n" for a
 * header written into a message, "\n" for a terminal, NULL for one line).
 * nskipped counts signatures beyond the limit. error, when non-NULL, reports a
 * message that could not be parsed: dkim=permerror with that reason.
 */
bool authres_dkim(struct buf *out, span authserv_id,
    const struct dkim_result *res, size_t n, size_t nskipped, const char *error,
    const char *eol);
/*
 * Append v with each byte in esc preceded by a backslash; control bytes
 * and invalid UTF-8 become '?'. false (buffer full) may leave a part.
 */
bool authres_escape(struct buf *out, span v, const char *esc);
/* Append v as an RFC 2045 token if it is one, else as a quoted-string. */
bool authres_value(struct buf *out, span v);
/* Append v inside a comment, escaping parentheses and backslashes. */
bool authres_comment_text(struct buf *out, span v);

/*
 * The authserv-id an Authentication-Results field value claims (RFC 8601
 * §2.2: [CFWS] authserv-id, a token or a quoted-string), after folding,
 * whitespace and nested comments; the span (quotes excluded, escapes
 * kept) points into value. false when the value starts with anything
 * else, or a comment or quoted-string does not end.
 */
bool authres_id_of(span value, span *id);
/*
 * Does the field value claim authserv_id (ASCII case-insensitive)? A
 * receiver removes such fields before adding its own (RFC 8601 §5); one
 * whose id cannot be read is not ours and is kept.
 */
bool authres_claims_id(span value, span authserv_id);

#endif
