#include "b64.h"

static const char b64_alpha[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int
b64_val(uint8_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static bool
is_fws(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool
b64_decode(span in, uint8_t *out, size_t cap, size_t *outlen)
{
	uint32_t acc = 0;
	size_t n = 0, len = 0, pad = 0, i;

	for (i = 0; i < in.len; i++) {
		uint8_t c = in.p[i];
		int v;

		if (is_fws(c))
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		if (pad > 0 || (v = b64_val(c)) < 0)
			return false;
		acc = acc << 6 | (uint32_t)v;
		if (++n == 4) {
			if (cap - len < 3)
				return false;
			out[len++] = (uint8_t)(acc >> 16);
			out[len++] = (uint8_t)(acc >> 8);
			out[len++] = (uint8_t)acc;
			acc = 0;
			n = 0;
		}
	}
	/* n data characters remain; padding must complete the quantum. */
	if (n == 1 || (pad > 0 && n + pad != 4) || pad > 2)
		return false;
	if (n == 2) {
		if (cap - len < 1 || (acc & 0xf) != 0)
			return false;
		out[len++] = (uint8_t)(acc >> 4);
	} else if (n == 3) {
		if (cap - len < 2 || (acc & 0x3) != 0)
			return false;
		out[len++] = (uint8_t)(acc >> 10);
		out[len++] = (uint8_t)(acc >> 2);
	}
	*outlen = len;
	return true;
}

bool
b64_encode(struct buf *b, span in)
{
	size_t i, mark = b->len;
	char q[4];

	for (i = 0; i < in.len; i += 3) {
		size_t left = in.len - i;
		uint32_t v = (uint32_t)in.p[i] << 16;

		if (left > 1)
			v |= (uint32_t)in.p[i + 1] << 8;
		if (left > 2)
			v |= in.p[i + 2];
		q[0] = b64_alpha[v >> 18];
		q[1] = b64_alpha[(v >> 12) & 63];
		q[2] = q[3] = '=';
		if (left > 1)
			q[2] = b64_alpha[(v >> 6) & 63];
		if (left > 2)
			q[3] = b64_alpha[v & 63];
		if (!buf_add(b, q, 4)) {
			b->len = mark;
			return false;
		}
	}
	return true;
}
