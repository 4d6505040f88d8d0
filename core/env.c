#include "env.h"

#include "dns.h"

void
hanko_limits_default(struct hanko_limits *l)
{
	l->max_msg_bytes = (size_t)64 << 20;
	l->max_header_fields = 1000;
	l->max_field_bytes = (size_t)128 << 10;
	l->max_sigs = 10;
	l->max_tags = 64;
	l->max_arena_bytes = (size_t)64 << 20;
	l->body_cache_bytes = (size_t)4 << 20;
}

const char *
dns_rcode_str(enum dns_rcode rc)
{
	switch (rc) {
	case DNS_OK:
		return "ok";
	case DNS_NXDOMAIN:
		return "nxdomain";
	case DNS_NODATA:
		return "nodata";
	case DNS_TEMPFAIL:
		return "tempfail";
	case DNS_PERMFAIL:
		return "permfail";
	}
	return "unknown";
}

const char *
dns_qtype_str(uint16_t qtype)
{
	switch (qtype) {
	case DNS_T_A:
		return "A";
	case DNS_T_PTR:
		return "PTR";
	case DNS_T_MX:
		return "MX";
	case DNS_T_TXT:
		return "TXT";
	case DNS_T_AAAA:
		return "AAAA";
	default:
		return "TYPE?";
	}
}
