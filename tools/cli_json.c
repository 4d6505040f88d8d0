#include "cli_json.h"

#include <stdio.h>

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

/* Bytes from p on that JSON takes as they are (printable ASCII). */
static size_t
plain_run(const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n && p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"' &&
	    p[i] != '\\')
		i++;
	return i;
}

bool
cli_json_str(struct buf *b, span s)
{
	size_t i = 0, n;
	bool ok = buf_add_byte(b, '"');

	while (ok && i < s.len) {
		if ((n = plain_run(s.p + i, s.len - i)) > 0) {
			ok = buf_add(b, s.p + i, n);
			i += n;
		} else if (s.p[i] < 0x80) {
			ok = esc_byte(b, s.p[i++]);
		} else if ((n = span_utf8_len(s.p + i, s.len - i)) > 0) {
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
cli_json_opt_str(struct buf *b, span s)
{
	return s.len == 0 ? buf_add_cstr(b, "null") : cli_json_str(b, s);
}

bool
cli_json_key(struct buf *b, const char *key, bool first)
{
	return (first || buf_add_byte(b, ',')) &&
	    cli_json_str(b, span_cstr(key)) && buf_add_byte(b, ':');
}
