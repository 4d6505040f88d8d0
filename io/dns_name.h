/*
 * NAME
 *	dns_name.h - the query names both DNS backends accept
 * DESCRIPTION
 *	dns_name_norm() lower-cases a query name into a C string without
 *	its trailing dot, and refuses one a resolver could not send (RFC
 *	1035 §2.3.4: 1 to 253 octets in presentation form, labels of 1 to
 *	63, no NUL). Backends answer such names DNS_E_BADNAME, and
 *	dns_qtype_ok() tells the query types they answer.
 */
#ifndef HANKO_IO_DNS_NAME_H
#define HANKO_IO_DNS_NAME_H

#include <stdbool.h>
#include <stdint.h>

#include "core/span.h"

#define DNS_NAME_MAX  253 /* presentation form, no trailing dot */
#define DNS_LABEL_MAX 63

bool dns_name_norm(span q, char out[DNS_NAME_MAX + 1]);
/* One of the dns_qtype values the backends answer. */
bool dns_qtype_ok(uint16_t qtype);

#endif
