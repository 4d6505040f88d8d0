/*
 * NAME
 *	hdr.h - split an RFC 5322 message into header fields and body
 * DESCRIPTION
 *	hdr_split() finds each header field (with its folded continuation
 *	lines), its name and raw value, and the body after the first empty
 *	line; a message of header fields alone has an empty body at its end
 *	(RFC 5322 §3.5), its last line with or without a line ending. Nothing is
 *copied: every span points into the message, which must outlive the result.
 *CRLF and bare-LF line endings are both accepted (RFC 6376 §5.3: the signer
 *signs the CRLF form, which the canonicalizers produce); crlf records the style
 *of the first line so output written beside the message can match it. LIMITS
 *	max_header_fields, max_field_bytes and max_msg_bytes from the env's
 *	limits; beyond them HDR_E_LIMIT. A line without a colon or a NUL in
 *	the header are errors, each with a specific message in err.
 */
#ifndef HANKO_CORE_HDR_H
#define HANKO_CORE_HDR_H

#include <stdbool.h>
#include <stddef.h>

#include "hanko.h"
#include "span.h"

struct arena;
struct hanko_limits;

struct hdr_field {
	span raw;   /* name through value, without the final line ending */
	span name;  /* without trailing WSP */
	span value; /* everything after the colon, folding included */
};

/* Message lifetime: fields live in the arena, spans in the message. */
struct hdr_msg {
	struct hdr_field *f;
	size_t nf;
	span body;
	size_t header_len; /* bytes before the body, separator included */
	bool crlf;         /* first line ends in CRLF */
};

typedef enum hdr_res {
	HDR_OK = 0,
	HDR_E_EMPTY,   /* zero bytes */
	HDR_E_NOCOLON, /* a header line with no colon */
	HDR_E_NAME,    /* empty or invalid field name */
	HDR_E_NUL,     /* NUL byte in the header */
	HDR_E_LIMIT,   /* too many or too long fields, or too big */
	HDR_E_NOMEM,
} hdr_res;

HANKO_NODISCARD hdr_res hdr_split(span msg, const struct hanko_limits *lim,
    struct arena *ar, struct hdr_msg *out, char *err, size_t errlen);
const char *hdr_res_str(hdr_res r);

/* Index of the n-th field (0-based, top-down) named name, or nf. */
size_t hdr_find(const struct hdr_msg *m, span name, size_t nth);
size_t hdr_count(const struct hdr_msg *m, span name);

/*
 * RFC 5322 §3.4 address-list parsing, enough for DKIM and DMARC: stores up
 * to max addr-specs ("local@domain", comments, display names and group
 * syntax removed) in addrs, copied into ar. Returns how many addresses
 * the value holds (which may exceed max), SIZE_MAX when it is
 * malformed (unbalanced quotes, comments or brackets), or HDR_ADDR_NOMEM
 * when ar is spent.
 */
#define HDR_ADDR_NOMEM (SIZE_MAX - 1)
size_t hdr_addr_list(span value, struct arena *ar, span *addrs, size_t max);
/* The domain of an addr-spec: what follows its last '@' (may be empty). */
span hdr_addr_domain(span addr);
/*
 * Is d a host name as RFC 5321 §4.1.2 writes one (LDH labels of 1-63
 * octets, no hyphen at either end, at most 253 octets, ASCII only)? What
 * a file name or a signature may be built from.
 */
bool hdr_domain_is_host(span d);

#endif
