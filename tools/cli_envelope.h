/*
 * NAME
 *	cli_envelope.h - where hanko dmarc finds a message's SMTP envelope
 * DESCRIPTION
 *	Field by field (client IP, MAIL FROM, HELO), the first source that
 *	gives one wins: the flags (auth_envelope_set with "flags"), a sidecar
 *	DIR/NAME.env of key=value lines (ip, helo, mail-from, or Postfix's
 *	policy names client_address, helo_name, sender; '#' comments,
 *	unknown keys ignored, <> stripped), then the trace fields: the n-th
 *	Received field from the top for IP and HELO, the topmost
 *	Return-Path for MAIL FROM (core/auth.c reads those, once it has
 *	split the header). Spans point into the arena, the message or the
 *	flags.
 */
#ifndef HANKO_TOOLS_CLI_ENVELOPE_H
#define HANKO_TOOLS_CLI_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/auth.h"
#include "core/span.h"

struct arena;
struct dnsq_idna;

/* An SMTP path as given: "<a@b>" is a@b, "<>" the null path (empty). */
span envelope_path(span v);
/* The libidn2 IDNA hook core/ takes (struct dnsq_idna). */
void cli_idna(struct dnsq_idna *out);
/* d with U-labels as A-labels (libidn2); d itself when ASCII or not IDNA. */
span envelope_a_label(span d, struct arena *ar);
/* The same for the domain of local@domain. */
span envelope_addr_a_label(span addr, struct arena *ar);
/* The lines of a sidecar. */
void envelope_sidecar_text(struct auth_envelope *e, span text);
/* Read dir/basename(name).env into ar, if it exists. */
void envelope_sidecar(struct auth_envelope *e, const char *dir,
    const char *name, struct arena *ar);

#endif
