/*
 * spf_ip.c - IP address text for SPF: ip4-network and ip6-network of
 * RFC 7208 §5.6 (RFC 4291 §2.2 text forms), and canonical output for the
 * %{c} macro and Received-SPF (RFC 5952).
 */
#include "spf.h"

#include <stdint.h>

#include <stdio.h>
#include <string.h>

#include "spf_record.h"

/* qnum of RFC 7208 §12: 0-255 without leading zeros. */
static bool
parse_qnum(const uint8_t **pp, const uint8_t *end, uint8_t *out)
{
	const uint8_t *p = *pp;
	unsigned v = 0;
	size_t n = 0;

	while (p < end && *p >= '0' && *p <= '9' && n < 4) {
		v = v * 10 + (unsigned)(*p - '0');
		p++;
		n++;
	}
	if (n == 0 || n > 3 || v > 255 || (n > 1 && **pp == '0'))
		return false;
	*out = (uint8_t)v;
	*pp = p;
	return true;
}

static bool
parse_ip4(const uint8_t *p, const uint8_t *end, uint8_t out[4])
{
	int i;

	for (i = 0; i < 4; i++) {
		if (i > 0 && (p >= end || *p++ != '.'))
			return false;
		if (!parse_qnum(&p, end, &out[i]))
			return false;
	}
	return p == end;
}

static int
hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* One h16 group; false when none. */
static bool
parse_h16(const uint8_t **pp, const uint8_t *end, uint16_t *out)
{
	const uint8_t *p = *pp;
	unsigned v = 0;
	size_t n = 0;
	int h;

	while (p < end && n < 5 && (h = hexval(*p)) >= 0) {
		v = (v << 4) | (unsigned)h;
		p++;
		n++;
	}
	if (n == 0 || n > 4)
		return false;
	*out = (uint16_t)v;
	*pp = p;
	return true;
}

/* True when [p, end) from here on is a dotted quad (ls32 alternative). */
static bool
at_ip4(const uint8_t *p, const uint8_t *end)
{
	for (; p < end; p++)
		if (*p == '.')
			return true;
		else if (*p == ':')
			return false;
	return false;
}

/*
 * RFC 4291 §2.2: up to 8 groups, one "::" standing for one or more zero
 * groups, and an optional trailing dotted quad worth two groups.
 */
/* No "::" seen; any group index, 8 included, is a real position. */
#define NOGAP SIZE_MAX

static bool
parse_ip6(const uint8_t *p, const uint8_t *end, uint8_t out[16])
{
	uint16_t g[8];
	size_t n = 0, gap = NOGAP, i;

	if (end - p >= 2 && p[0] == ':' && p[1] == ':') {
		gap = 0;
		p += 2;
	} else if (p < end && *p == ':') {
		return false;
	}
	while (p < end) {
		if (n >= 8)
			return false;
		if (at_ip4(p, end)) {
			uint8_t q[4];

			if (n > 6 || !parse_ip4(p, end, q))
				return false;
			g[n++] = (uint16_t)(q[0] << 8 | q[1]);
			g[n++] = (uint16_t)(q[2] << 8 | q[3]);
			p = end;
			break;
		}
		if (!parse_h16(&p, end, &g[n]))
			return false;
		n++;
		if (p == end)
			break;
		if (*p++ != ':' || p == end)
			return false;
		if (*p == ':') {
			if (gap != NOGAP)
				return false;
			gap = n;
			if (++p == end)
				break;
		}
	}
	if ((gap == NOGAP && n != 8) || (gap != NOGAP && n > 7))
		return false;
	memset(out, 0, 16);
	for (i = 0; i < n; i++) {
		size_t at = (gap != NOGAP && i >= gap) ? 8 - n + i : i;

		out[2 * at] = (uint8_t)(g[i] >> 8);
		out[2 * at + 1] = (uint8_t)g[i];
	}
	return true;
}

bool
spf_ip_parse_raw(span text, struct spf_ip *out)
{
	const uint8_t *p, *end;
	struct spf_ip ip;

	if (text.len == 0 || text.len > 45)
		return false;
	p = text.p;
	end = text.p + text.len;
	memset(&ip, 0, sizeof(ip));
	if (memchr(p, ':', text.len) == NULL) {
		if (!parse_ip4(p, end, ip.b))
			return false;
		ip.len = 4;
	} else {
		if (!parse_ip6(p, end, ip.b))
			return false;
		ip.len = 16;
	}
	*out = ip;
	return true;
}

bool
spf_ip_parse(span text, struct spf_ip *out)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff,
		0xff };
	struct spf_ip ip;

	if (!spf_ip_parse_raw(text, &ip))
		return false;
	/* RFC 7208 §5: an IPv4-mapped IPv6 client is an IPv4 client. */
	if (ip.len == 16 && memcmp(ip.b, mapped, sizeof(mapped)) == 0) {
		memmove(ip.b, ip.b + 12, 4);
		memset(ip.b + 4, 0, 12);
		ip.len = 4;
	}
	*out = ip;
	return true;
}

size_t
spf_ip_format(const struct spf_ip *ip, char *out, size_t len)
{
	size_t i, best = 0, bestlen = 0, run, o = 0;
	int n;

	if (ip->len == 4) {
		n = snprintf(out, len, "%u.%u.%u.%u", ip->b[0], ip->b[1],
		    ip->b[2], ip->b[3]);
		return n > 0 && (size_t)n < len ? (size_t)n : 0;
	}
	if (ip->len != 16 || len < 46)
		return 0;
	/* RFC 5952 §4.2: the longest run of two or more zero groups. */
	for (i = 0; i < 8; i += run + 1) {
		for (run = 0; i + run < 8 && ip->b[2 * (i + run)] == 0 &&
		     ip->b[2 * (i + run) + 1] == 0;
		     run++)
			;
		if (run > bestlen) {
			best = i;
			bestlen = run;
		}
	}
	if (bestlen < 2)
		bestlen = 0;
	for (i = 0; i < 8; i++) {
		if (bestlen > 0 && i == best) {
			out[o++] = ':';
			if (i == 0)
				out[o++] = ':';
			i += bestlen - 1;
			continue;
		}
		n = snprintf(out + o, len - o, "%x%s",
		    (unsigned)(ip->b[2 * i] << 8 | ip->b[2 * i + 1]),
		    i < 7 ? ":" : "");
		if (n < 0)
			return 0;
		o += (size_t)n;
	}
	out[o] = '\0';
	return o;
}
