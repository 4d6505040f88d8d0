/*
 * report_unpack.c - find report documents in what receivers send: XML,
 * gzip (RFC 1952), zip, a mail message or an mbox of messages. The kind
 * is told by the bytes, not by names or Content-Type labels, which real
 * reporters get wrong (gzip sent as application/octet-stream, zip named
 * .gz). Every inflated size is capped by REPORT_MAX_XML.
 */
#include "io/report.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>
#include <zlib.h>

static bool
has_prefix(const uint8_t *p, size_t len, const char *pre)
{
	size_t n = strlen(pre);

	return len >= n && memcmp(p, pre, n) == 0;
}

/* XML: optional BOM and white space, then '<'. */
static bool
is_xml(const uint8_t *p, size_t len)
{
	size_t i = has_prefix(p, len, "\xef\xbb\xbf") ? 3 : 0;

	while (i < len && strchr(" \t\r\n", p[i]) != NULL && p[i] != '\0')
		i++;
	return i < len && p[i] == '<';
}

/*
 * Double *buf (64 KiB first), never past REPORT_MAX_XML: the cap that
 * stops a gzip or zip bomb. *buf stays the caller's to free.
 */
static int
grow(uint8_t **buf, size_t *cap)
{
	size_t ncap = *cap == 0 ? 65536 : *cap * 2;
	uint8_t *n;

	if (*cap >= REPORT_MAX_XML)
		return REPORT_E_LIMIT;
	if (ncap > REPORT_MAX_XML)
		ncap = REPORT_MAX_XML;
	if ((n = realloc(*buf, ncap)) == NULL)
		return REPORT_E_NOMEM;
	*buf = n;
	*cap = ncap;
	return REPORT_OK;
}

static int
gunzip(const uint8_t *p, size_t len, int depth, report_xml_fn *fn, void *cookie,
    char *err, size_t el)
{
	z_stream z;
	uint8_t *out = NULL;
	size_t cap = 0, used = 0;
	int zr, r;

	memset(&z, 0, sizeof(z));
	/* 15 + 32: zlib or gzip header, detected. */
	if (inflateInit2(&z, 15 + 32) != Z_OK) {
		snprintf(err, el, "gzip: cannot initialise zlib");
		return REPORT_E_NOMEM;
	}
	z.next_in = (Bytef *)(uintptr_t)p;
	z.avail_in = (uInt)(len > UINT32_MAX ? UINT32_MAX : len);
	do {
		if (used == cap) {
			if ((r = grow(&out, &cap)) == REPORT_E_LIMIT)
				snprintf(err, el,
				    "gzip: inflates beyond %zu bytes",
				    REPORT_MAX_XML);
			if (r != REPORT_OK)
				goto out;
		}
		z.next_out = out + used;
		z.avail_out = (uInt)(cap - used);
		zr = inflate(&z, Z_NO_FLUSH);
		used = cap - z.avail_out;
	} while (zr == Z_OK && (z.avail_in > 0 || z.avail_out == 0));
	/*
	 * Trailing bytes after the first member are ignored: some reporters
	 * pad the file; what matters is a complete, checksummed stream.
	 */
	if (zr != Z_STREAM_END) {
		snprintf(err, el, "gzip: %s",
		    z.msg != NULL ? z.msg : "truncated stream");
		r = REPORT_E_CONTAINER;
		goto out;
	}
	r = report_unpack_depth(out, used, depth + 1, fn, cookie, err, el);
out:
	inflateEnd(&z);
	free(out);
	return r;
}

static int
unzip_entry(struct archive *a, int depth, report_xml_fn *fn, void *cookie,
    char *err, size_t el)
{
	uint8_t *out = NULL;
	size_t cap = 0, used = 0;
	la_ssize_t got;
	int r;

	for (;;) {
		if (used == cap) {
			if ((r = grow(&out, &cap)) != REPORT_OK) {
				if (r == REPORT_E_LIMIT)
					snprintf(err, el,
					    "zip: entry inflates beyond %zu bytes",
					    REPORT_MAX_XML);
				free(out);
				return r;
			}
		}
		got = archive_read_data(a, out + used, cap - used);
		if (got == 0)
			break;
		if (got < 0) {
			snprintf(err, el, "zip: %s", archive_error_string(a));
			free(out);
			return REPORT_E_CONTAINER;
		}
		used += (size_t)got;
	}
	r = report_unpack_depth(out, used, depth + 1, fn, cookie, err, el);
	free(out);
	return r;
}

static int
unzip(const uint8_t *p, size_t len, int depth, report_xml_fn *fn, void *cookie,
    char *err, size_t el)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	int r = 0, ar, nentries = 0;

	if (a == NULL)
		return REPORT_E_NOMEM;
	archive_read_support_format_zip(a);
	if (archive_read_open_memory(a, p, len) != ARCHIVE_OK) {
		snprintf(err, el, "zip: %s", archive_error_string(a));
		archive_read_free(a);
		return REPORT_E_CONTAINER;
	}
	while ((ar = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		if (archive_entry_filetype(e) != AE_IFREG)
			continue;
		if (++nentries > REPORT_MAX_PARTS) {
			snprintf(err, el, "zip: more than %d entries",
			    REPORT_MAX_PARTS);
			r = REPORT_E_LIMIT;
			break;
		}
		if ((r = unzip_entry(a, depth, fn, cookie, err, el)) != 0)
			break;
	}
	if (r == 0 && ar != ARCHIVE_EOF) {
		snprintf(err, el, "zip: %s", archive_error_string(a));
		r = REPORT_E_CONTAINER;
	} else if (r == 0 && nentries == 0) {
		snprintf(err, el, "zip: no file inside");
		r = REPORT_E_CONTAINER;
	}
	archive_read_free(a);
	return r;
}

/*
 * mbox (RFC 4155): messages start at "From " at the start of the data or
 * after an empty line... in practice after any line; we split at every
 * line that begins with "From " and follows a newline.
 */
static int
mbox(const uint8_t *p, size_t len, int depth, report_xml_fn *fn, void *cookie,
    char *err, size_t el)
{
	const uint8_t *end = p + len, *msg, *q;
	int r;

	while (p < end) {
		q = memchr(p, '\n', (size_t)(end - p));
		msg = q != NULL ? q + 1 : end;
		for (q = msg; q < end;) {
			const uint8_t *nl;

			if (has_prefix(q, (size_t)(end - q), "From "))
				break;
			nl = memchr(q, '\n', (size_t)(end - q));
			q = nl != NULL ? nl + 1 : end;
		}
		r = report_mime_walk(
		    msg, (size_t)(q - msg), depth + 1, fn, cookie, err, el);
		if (r != 0)
			return r;
		p = q;
	}
	return 0;
}

int
report_unpack_depth(const uint8_t *p, size_t len, int depth, report_xml_fn *fn,
    void *cookie, char *err, size_t el)
{
	if (depth > REPORT_MAX_DEPTH) {
		snprintf(err, el, "containers nested deeper than %d",
		    REPORT_MAX_DEPTH);
		return REPORT_E_LIMIT;
	}
	if (len == 0) {
		snprintf(err, el, "empty input");
		return REPORT_E_FORMAT;
	}
	if (has_prefix(p, len, "\x1f\x8b"))
		return gunzip(p, len, depth, fn, cookie, err, el);
	if (has_prefix(p, len, "PK\x03\x04"))
		return unzip(p, len, depth, fn, cookie, err, el);
	if (is_xml(p, len))
		return fn(cookie, p, len);
	if (has_prefix(p, len, "From "))
		return mbox(p, len, depth, fn, cookie, err, el);
	return report_mime_walk(p, len, depth + 1, fn, cookie, err, el);
}

int
report_unpack(const uint8_t *p, size_t len, report_xml_fn *fn, void *cookie,
    char *err, size_t el)
{
	err[0] = '\0';
	return report_unpack_depth(p, len, 0, fn, cookie, err, el);
}
