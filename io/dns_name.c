#include "dns_name.h"

#include "core/dns.h"

bool
dns_name_norm(span q, char out[DNS_NAME_MAX + 1])
{
	size_t i, label = 0;

	if (q.len > 0 && q.p[q.len - 1] == '.')
		q.len--;
	if (q.len == 0 || q.len > DNS_NAME_MAX)
		return false;
	for (i = 0; i < q.len; i++) {
		uint8_t c = q.p[i];

		if (c == 0)
			return false;
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (++label > DNS_LABEL_MAX) {
			return false;
		}
		if (c >= 'A' && c <= 'Z')
			c = (uint8_t)(c + ('a' - 'A'));
		out[i] = (char)c;
	}
	out[q.len] = '\0';
	return label > 0; /* "a..", once one dot is stripped */
}

bool
dns_qtype_ok(uint16_t qtype)
{
	switch (qtype) {
	case DNS_T_A:
	case DNS_T_AAAA:
	case DNS_T_MX:
	case DNS_T_PTR:
	case DNS_T_TXT:
		return true;
	default:
		return false;
	}
}
