/*
 * NAME
 *	sidecar.h - the envelope file NAME.env that travels with spool file NAME
 * SYNOPSIS
 *	sidecar_iter_init(&it, text);
 *	while ((r = sidecar_next(&it, &line, err, sizeof(err))) != SIDECAR_END)
 *		...
 *	sidecar_envelope(text, ar, &env, err, sizeof(err));
 * DESCRIPTION
 *	One key=value per line (LF or CRLF), '#' starts a comment line,
 *	blank lines are skipped. The same file serves hanko dmarc (ip=,
 *	helo=, mail-from= and Postfix's policy names) and delivery
 *	(mail-from=, one rcpt= per recipient); each reader ignores the keys
 *	that belong to the other.
 *
 *	sidecar_next() hands out one line at a time; a malformed line (no
 *	'=', an empty or invalid key, a NUL byte) is SIDECAR_E_SYNTAX with
 *	its line number in err, and the iterator moves past it, so a lenient
 *	reader may go on. sidecar_envelope() is the strict reader delivery
 *	uses: exactly one mail-from= ("<>" or empty is the null sender,
 *	"<a@b>" is a@b), at least one rcpt=, every address free of controls,
 *	spaces and angle brackets (a sidecar cannot smuggle an SMTP command
 *	into the session); the first wrong line is named in err.
 * LIMITS
 *	SIDECAR_RCPT_MAX recipients, SIDECAR_ADDR_MAX bytes per address.
 */
#ifndef HANKO_CORE_SIDECAR_H
#define HANKO_CORE_SIDECAR_H

#include <stdbool.h>
#include <stddef.h>

#include "hanko.h"
#include "span.h"

struct arena;

#define SIDECAR_RCPT_MAX 1000 /* RFC 5321 §4.5.3.1.8 asks for 100 at least */
#define SIDECAR_ADDR_MAX 320  /* 64 local + @ + 255 domain */

typedef enum sidecar_res {
	SIDECAR_OK = 0,
	SIDECAR_END,      /* no more lines */
	SIDECAR_E_SYNTAX, /* a malformed line; err says which */
	SIDECAR_E_LIMIT,  /* too many recipients or too long an address */
	SIDECAR_E_NOMEM,
} sidecar_res;

struct sidecar_iter {
	span text;
	size_t pos;
	size_t lineno; /* of the line last returned */
};

/* Spans point into the text. */
struct sidecar_line {
	span key;   /* trimmed */
	span value; /* trimmed */
	size_t lineno;
};

/* Message lifetime: the list lives in the arena, addresses in the text. */
struct sidecar_env {
	span mail_from; /* empty: the null sender */
	span *rcpt;
	size_t nrcpt;
};

void sidecar_iter_init(struct sidecar_iter *it, span text);
HANKO_NODISCARD sidecar_res sidecar_next(struct sidecar_iter *it,
    struct sidecar_line *out, char *err, size_t errlen);
/* An SMTP path as written: "<a@b>" is a@b, "<>" the null path (empty). */
span sidecar_path(span v);
/* Can addr go into MAIL FROM:<...> or RCPT TO:<...> as it is? */
bool sidecar_addr_is_safe(span addr);
HANKO_NODISCARD sidecar_res sidecar_envelope(span text, struct arena *ar,
    struct sidecar_env *out, char *err, size_t errlen);

#endif
