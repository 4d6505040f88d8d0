/*
 * NAME
 *	report.h - DMARC aggregate reports (RFC 9990, RFC 7489 app. C) read
 *	from the bytes receivers send
 * SYNOPSIS
 *	report_unpack(data, len, name, on_xml, cookie, err, sizeof(err));
 *	report_xml_parse(xml, len, &rep, err, sizeof(err));
 *	report_fini(&rep);
 * DESCRIPTION
 *	report_unpack() finds the report XML documents inside what arrives:
 *	plain XML, gzip, zip, or a mail message (RFC 5322 + MIME, base64 or
 *	quoted-printable, nested multiparts), and an mbox of such messages.
 *	Each document found goes to on_xml(); a container holding none is
 *	an error. Decompressed sizes are capped (REPORT_MAX_XML) so a zip
 *	or gzip bomb stops early with REPORT_E_LIMIT.
 *
 *	report_xml_parse() reads one <feedback> document with libxml2, with
 *	no network, no DTD loading and no entity substitution; a document
 *	with a DOCTYPE is refused (no report has one, and entity expansion
 *	is how XML bombs work). It accepts the RFC 9990 namespace, RFC 7489
 *	documents without one, the pre-RFC draft layout, missing optional
 *	elements, upper-case result words (lower-cased) and invalid UTF-8
 *	(replaced by '?'). It refuses what lacks the elements that make a
 *	report countable: org_name, report_id, date_range, the policy
 *	domain, and per row source_ip and count.
 *
 *	The report owns its rows (malloc'd, about 4 KB each, so a report of
 *	more than REPORT_MAX_ROWS records is refused before any is
 *	allocated); report_fini() frees them.
 *	Strings are NUL-terminated, trimmed, and cut at the field sizes.
 */
#ifndef HANKO_IO_REPORT_H
#define HANKO_IO_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "core/hanko.h"

#define REPORT_MAX_XML   ((size_t)64 << 20) /* per document, decompressed */
#define REPORT_MAX_PARTS 64                 /* documents per container */
#define REPORT_MAX_DEPTH 8                  /* MIME/container nesting */
#define REPORT_MAX_AUTH  4                  /* auth results kept per row */
#define REPORT_MAX_ROWS  50000              /* records per report */
#define REPORT_MAX_COUNT 0xffffffffu        /* RFC 9990: unsignedInt */

typedef enum report_res {
	REPORT_OK = 0,
	REPORT_E_XML,    /* not well-formed XML */
	REPORT_E_FORMAT, /* XML, but not an aggregate report */
	REPORT_E_LIMIT,  /* beyond a size, count or nesting cap */
	REPORT_E_NOMEM,
	REPORT_E_CONTAINER, /* gzip/zip/MIME broken, or no report inside */
} report_res;

const char *report_res_str(report_res r);

struct report_meta {
	char org[256];
	char email[256];
	char report_id[256];
	int64_t begin;
	int64_t end;
	char domain[256]; /* policy_published */
	char p[16];
	char sp[16];
	char np[16];
	char adkim[4];
	char aspf[4];
	char pct[8];
	char testing[4];
};

struct report_auth {
	char domain[256];
	char selector[64];
	char scope[16];
	char result[16];
};

struct report_row {
	char ip[64];
	uint64_t count;
	char disposition[16];
	char dkim[16]; /* policy_evaluated: aligned pass or fail */
	char spf[16];
	char reason[64];
	char header_from[256];
	char envelope_from[256];
	char envelope_to[256];
	size_t ndkim;
	struct report_auth dkim_res[REPORT_MAX_AUTH];
	size_t nspf;
	struct report_auth spf_res[REPORT_MAX_AUTH];
};

/* Caller-allocated; rows owned until report_fini(). */
struct report {
	struct report_meta meta;
	struct report_row *rows;
	size_t nrows;
};

void report_fini(struct report *r);

/*
 * Parse one aggregate report document. On success *out is filled and must
 * be report_fini()'d; on failure it is left empty and err says why.
 */
HANKO_NODISCARD report_res report_xml_parse(
    const uint8_t *p, size_t len, struct report *out, char *err, size_t errlen);

/*
 * Called once per XML document found; xml is valid only during the call.
 * A nonzero return stops the walk and is returned by report_unpack().
 */
typedef int report_xml_fn(void *cookie, const uint8_t *xml, size_t len);

/*
 * Walk data (any container above) and hand each report document to fn.
 * Returns 0, a REPORT_E_* value (err says why), or fn's nonzero value.
 */
HANKO_NODISCARD int report_unpack(const uint8_t *data, size_t len,
    report_xml_fn *fn, void *cookie, char *err, size_t errlen);

/* Used by report_unpack; exported for the MIME walker. */
HANKO_NODISCARD int report_unpack_depth(const uint8_t *data, size_t len,
    int depth, report_xml_fn *fn, void *cookie, char *err, size_t errlen);

/*
 * MIME: walk one RFC 5322 message, decode each leaf part's transfer
 * encoding and hand the decoded body to report_unpack_depth().
 */
HANKO_NODISCARD int report_mime_walk(const uint8_t *msg, size_t len, int depth,
    report_xml_fn *fn, void *cookie, char *err, size_t errlen);

#endif
