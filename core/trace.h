/*
 * NAME
 *	trace.h - the SMTP envelope as recorded in trace header fields
 * SYNOPSIS
 *	trace_received(value, &helo, &ip);
 *	trace_return_path(value, &addr);
 * DESCRIPTION
 *	hanko dmarc can take the envelope (client IP, HELO, MAIL FROM) from
 *	the message when the operator names the Received field its own MTA
 *	wrote: fields further down were written by strangers and prove
 *	nothing. The from-clause (RFC 5321 §4.4) is read in the forms the
 *	common MTAs write:
 *	  Postfix, Sendmail:  from HELO (RDNS [IP])
 *	  Exim:               from RDNS ([IP]:PORT helo=HELO)
 *	                      from [IP] (helo=HELO)
 *	The address comes from the TCP-info comment the receiving MTA
 *	wrote, never from the first token, which is the client's own HELO
 *	(except in Exim's "from [IP] (helo=...)", where no comment holds
 *	one). An "IPv6:" prefix inside the brackets is dropped. Spans point
 *	into value. The IP is not validated here (spf_ip_parse does that).
 */
#ifndef HANKO_CORE_TRACE_H
#define HANKO_CORE_TRACE_H

#include <stdbool.h>

#include "span.h"

/* false when value has no from-clause with a bracketed address. */
bool trace_received(span value, span *helo, span *ip);
/*
 * Return-Path: "<addr>" (RFC 5322 §3.6.7) gives addr; "<>" gives an
 * empty span (the null reverse-path). false when malformed.
 */
bool trace_return_path(span value, span *addr);

#endif
