#include "cli_json.h"

#include <stdio.h>

/* Length of the valid UTF-8 sequence at p (RFC 3629), or 0. */
static size_t
utf8_len(const uint8_t *p, size_t n)
{
	size_t len, i;
	uint32_t cp;

	if (p[0] < 0xc2 || p[0] > 0xf4)
		return 0;
	len = p[0] < 0xe0 ? 2 : p[0] < 0xf0 ? 3 : 4;
	if (len > n)
		return 0;
	cp = p[0] & (0x7f >> len);
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

static bool
esc_byte(struct buf *b, uint8_t c)
{
	char tmp[8];

	switch (c) {
	case '"':
		return buf_add_cstr(b, "\\\"");
	case '\\':
		return buf_add_cstr(b, "\\\\");
	case '\n':
		return buf_add_cstr(b, "\\n");
	case '\r':
		return buf_add_cstr(b, "\\r");
	case '\t':
		return buf_add_cstr(b, "\\t");
	default:
		break;
	}
	if (c < 0x20 || c == 0x7f) {
		snprintf(tmp, sizeof(tmp), "\\u%04x", c);
		return buf_add_cstr(b, tmp);
	}
	return buf_add_byte(b, c);
}

bool
cli_json_str(struct buf *b, span s)
{
	size_t i = 0, n;
	bool ok = buf_add_byte(b, '"');

	while (ok && i < s.len) {
		if (s.p[i] < 0x80) {
			ok = esc_byte(b, s.p[i++]);
		} else if ((n = utf8_len(s.p + i, s.len - i)) > 0) {
			ok = buf_add(b, s.p + i, n);
			i += n;
		} else {
			ok = buf_add_cstr(b, "\\ufffd");
			i++;
		}
	}
	return ok && buf_add_byte(b, '"');
}

bool
cli_json_key(struct buf *b, const char *key, bool first)
{
	return (first || buf_add_byte(b, ',')) &&
	    cli_json_str(b, span_cstr(key)) && buf_add_byte(b, ':');
}
