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

/*
 * Append the whole field; eol separates the folded lines ("\r\n" for a
 * header written into a message, "\n" for a terminal, NULL for one line).
 * nskipped counts signatures beyond the limit. error, when non-NULL, reports a
 * message that could not be parsed: dkim=permerror with that reason.
 */
bool authres_dkim(struct buf *out, span authserv_id,
    const struct dkim_result *res, size_t n, size_t nskipped, const char *error,
    const char *eol);
/* Append v as an RFC 2045 token if it is one, else as a quoted-string. */
bool authres_value(struct buf *out, span v);
/* Append v inside a comment, escaping parentheses and backslashes. */
bool authres_comment_text(struct buf *out, span v);

#endif
