/*
 * NAME
 *	cli_envelope.h - where hanko dmarc finds a message's SMTP envelope
 * DESCRIPTION
 *	Field by field (client IP, MAIL FROM, HELO), the first source that
 *	gives one wins: the flags (envelope_set with "flags"), a sidecar
 *	DIR/NAME.env of key=value lines (ip, helo, mail-from, or Postfix's
 *	policy names client_address, helo_name, sender; '#' comments,
 *	unknown keys ignored, <> stripped), then the trace fields: the n-th
 *	Received field from the top for IP and HELO, the topmost
 *	Return-Path for MAIL FROM. Spans point into the arena, the message
 *	or the flags.
 */
#ifndef HANKO_TOOLS_CLI_ENVELOPE_H
#define HANKO_TOOLS_CLI_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/span.h"

struct arena;
struct hdr_msg;

enum envelope_field {
	ENV_IP = 0,
	ENV_MAIL_FROM,
	ENV_HELO,
};

/* Message lifetime. */
struct envelope {
	span ip, mail_from, helo;
	bool has_ip, has_mail_from, has_helo;
	const char *source; /* of the first field found */
	char problem[160];  /* a source that could not be read */
};

/* An SMTP path as given: "<a@b>" is a@b, "<>" the null path (empty). */
span envelope_path(span v);
/* d with U-labels as A-labels (libidn2); d itself when ASCII or not IDNA. */
span envelope_a_label(span d, struct arena *ar);
/* The same for the domain of local@domain. */
span envelope_addr_a_label(span addr, struct arena *ar);
/* Set field to v unless an earlier source set it. */
void envelope_set(
    struct envelope *e, enum envelope_field field, span v, const char *source);
/* The lines of a sidecar. */
void envelope_sidecar_text(struct envelope *e, span text);
/* Read dir/basename(name).env into ar, if it exists. */
void envelope_sidecar(
    struct envelope *e, const char *dir, const char *name, struct arena *ar);
/*
 * IP and HELO from the nth (1-based) Received, MAIL FROM from the
 * topmost Return-Path above it (one below was written before our MTA
 * saw the message, by anyone). m may be NULL (header not split).
 */
void envelope_trace(struct envelope *e, const struct hdr_msg *m, size_t nth);

#endif
