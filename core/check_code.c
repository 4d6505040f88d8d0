/*
 * check_code.c - the finding codes: one table gives each its stable
 * name (the contract of hanko check --json and the README's table), its
 * severity and its record kind, so no judge can disagree with another
 * about what a code means.
 */
#include "check.h"

struct code_info {
	const char *name;
	enum check_sev sev;
	enum check_kind kind;
};

static const struct code_info codes[CHECK_NCODES] = {
	[CHECK_SPF_OK] = { "spf-ok", CHECK_OK, CHECK_K_SPF },
	[CHECK_SPF_NONE] = { "spf-none", CHECK_WARNING, CHECK_K_SPF },
	[CHECK_SPF_MULTIPLE] = { "spf-multiple", CHECK_ERROR, CHECK_K_SPF },
	[CHECK_SPF_SYNTAX] = { "spf-syntax", CHECK_ERROR, CHECK_K_SPF },
	[CHECK_SPF_LOOKUPS] = { "spf-lookups", CHECK_OK, CHECK_K_SPF },
	[CHECK_SPF_TOO_MANY_LOOKUPS] = { "spf-too-many-lookups", CHECK_ERROR,
	    CHECK_K_SPF },
	[CHECK_SPF_TOO_MANY_VOID] = { "spf-too-many-void-lookups", CHECK_ERROR,
	    CHECK_K_SPF },
	[CHECK_SPF_PASS_ALL] = { "spf-pass-all", CHECK_ERROR, CHECK_K_SPF },
	[CHECK_SPF_NEUTRAL_ALL] = { "spf-neutral-all", CHECK_WARNING,
	    CHECK_K_SPF },
	[CHECK_SPF_NO_ALL] = { "spf-no-all", CHECK_WARNING, CHECK_K_SPF },
	[CHECK_SPF_PTR] = { "spf-ptr", CHECK_WARNING, CHECK_K_SPF },
	[CHECK_SPF_INCLUDE_NONE] = { "spf-include-none", CHECK_ERROR,
	    CHECK_K_SPF },
	[CHECK_SPF_INCLUDE_SYNTAX] = { "spf-include-syntax", CHECK_ERROR,
	    CHECK_K_SPF },
	[CHECK_SPF_LOOP] = { "spf-loop", CHECK_ERROR, CHECK_K_SPF },
	[CHECK_SPF_MACRO] = { "spf-macro", CHECK_OK, CHECK_K_SPF },
	[CHECK_SPF_DNS] = { "spf-dns", CHECK_WARNING, CHECK_K_SPF },
	[CHECK_SPF_DNSSEC] = { "spf-dnssec", CHECK_OK, CHECK_K_SPF },
	[CHECK_DKIM_OK] = { "dkim-ok", CHECK_OK, CHECK_K_DKIM },
	[CHECK_DKIM_NONE] = { "dkim-none", CHECK_ERROR, CHECK_K_DKIM },
	[CHECK_DKIM_SYNTAX] = { "dkim-syntax", CHECK_ERROR, CHECK_K_DKIM },
	[CHECK_DKIM_RSA_WEAK] = { "dkim-rsa-weak", CHECK_ERROR, CHECK_K_DKIM },
	[CHECK_DKIM_RSA_SHORT] = { "dkim-rsa-short", CHECK_WARNING,
	    CHECK_K_DKIM },
	[CHECK_DKIM_TESTING] = { "dkim-testing", CHECK_WARNING, CHECK_K_DKIM },
	[CHECK_DKIM_REVOKED] = { "dkim-revoked", CHECK_WARNING, CHECK_K_DKIM },
	[CHECK_DKIM_SHA1_ONLY] = { "dkim-sha1-only", CHECK_ERROR,
	    CHECK_K_DKIM },
	[CHECK_DKIM_KEY_MATCH] = { "dkim-key-match", CHECK_OK, CHECK_K_DKIM },
	[CHECK_DKIM_KEY_MISMATCH] = { "dkim-key-mismatch", CHECK_ERROR,
	    CHECK_K_DKIM },
	[CHECK_DKIM_KEY_UNREADABLE] = { "dkim-key-unreadable", CHECK_ERROR,
	    CHECK_K_DKIM },
	[CHECK_DKIM_DNS] = { "dkim-dns", CHECK_WARNING, CHECK_K_DKIM },
	[CHECK_DKIM_DNSSEC] = { "dkim-dnssec", CHECK_OK, CHECK_K_DKIM },
	[CHECK_DMARC_OK] = { "dmarc-ok", CHECK_OK, CHECK_K_DMARC },
	[CHECK_DMARC_INHERITED] = { "dmarc-inherited", CHECK_OK,
	    CHECK_K_DMARC },
	[CHECK_DMARC_NONE] = { "dmarc-none", CHECK_WARNING, CHECK_K_DMARC },
	[CHECK_DMARC_MULTIPLE] = { "dmarc-multiple", CHECK_ERROR,
	    CHECK_K_DMARC },
	[CHECK_DMARC_SYNTAX] = { "dmarc-syntax", CHECK_ERROR, CHECK_K_DMARC },
	[CHECK_DMARC_INVALID_POLICY] = { "dmarc-invalid-policy", CHECK_ERROR,
	    CHECK_K_DMARC },
	[CHECK_DMARC_NO_RUA] = { "dmarc-no-rua", CHECK_WARNING, CHECK_K_DMARC },
	[CHECK_DMARC_RUA_UNAUTHORIZED] = { "dmarc-report-unauthorized",
	    CHECK_WARNING, CHECK_K_DMARC },
	[CHECK_DMARC_RUA_AUTHORIZED] = { "dmarc-report-authorized", CHECK_OK,
	    CHECK_K_DMARC },
	[CHECK_DMARC_OBSOLETE_TAG] = { "dmarc-obsolete-tag", CHECK_WARNING,
	    CHECK_K_DMARC },
	[CHECK_DMARC_DNS] = { "dmarc-dns", CHECK_WARNING, CHECK_K_DMARC },
	[CHECK_DMARC_DNSSEC] = { "dmarc-dnssec", CHECK_OK, CHECK_K_DMARC },
	[CHECK_ADSP_PRESENT] = { "adsp-present", CHECK_WARNING, CHECK_K_ADSP },
	[CHECK_MX_OK] = { "mx-ok", CHECK_OK, CHECK_K_MX },
	[CHECK_MX_NONE] = { "mx-none", CHECK_WARNING, CHECK_K_MX },
	[CHECK_MX_NULL] = { "mx-null", CHECK_OK, CHECK_K_MX },
	[CHECK_MX_DNS] = { "mx-dns", CHECK_WARNING, CHECK_K_MX },
	[CHECK_MX_DNSSEC] = { "mx-dnssec", CHECK_OK, CHECK_K_MX },
};

const char *
check_code_str(enum check_code code)
{
	return (unsigned)code < CHECK_NCODES ? codes[code].name : "?";
}

enum check_sev
check_code_sev(enum check_code code)
{
	return (unsigned)code < CHECK_NCODES ? codes[code].sev : CHECK_ERROR;
}

enum check_kind
check_code_kind(enum check_code code)
{
	return (unsigned)code < CHECK_NCODES ? codes[code].kind : CHECK_K_SPF;
}

const char *
check_sev_str(enum check_sev s)
{
	switch (s) {
	case CHECK_OK:
		return "ok";
	case CHECK_WARNING:
		return "warning";
	case CHECK_ERROR:
		return "error";
	}
	return "?";
}

const char *
check_kind_str(enum check_kind k)
{
	switch (k) {
	case CHECK_K_SPF:
		return "spf";
	case CHECK_K_DKIM:
		return "dkim";
	case CHECK_K_DMARC:
		return "dmarc";
	case CHECK_K_ADSP:
		return "adsp";
	case CHECK_K_MX:
		return "mx";
	}
	return "?";
}

bool
check_starter_spf(struct buf *b)
{
	return buf_add_cstr(b, "v=spf1 mx ~all");
}

/* local@domain with neither WSP nor the URI list's ',' and '!'. */
static bool
plain_addr(span a)
{
	size_t i, at = a.len;

	for (i = 0; i < a.len; i++) {
		if (a.p[i] <= ' ' || a.p[i] >= 0x7f || a.p[i] == ',' ||
		    a.p[i] == '!' || a.p[i] == ';')
			return false;
		if (a.p[i] == '@')
			at = i;
	}
	return at > 0 && at + 1 < a.len;
}

bool
check_starter_dmarc(struct buf *b, span addr)
{
	return plain_addr(addr) &&
	    buf_add_cstr(b, "v=DMARC1; p=none; rua=mailto:") &&
	    buf_add_span(b, addr);
}
