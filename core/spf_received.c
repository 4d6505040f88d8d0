/*
 * spf_received.c - the Received-SPF header field (RFC 7208 §9.1).
 *
 * Every value comes from the SMTP client or from DNS, so each is written
 * as a dot-atom only when it is one and as a quoted-string otherwise,
 * with '"' and '\' escaped and control octets and invalid UTF-8 made
 * '?'; the comment escapes its parentheses the same way. No input can
 * end the field, start a new one or add a key.
 */
#include "spf.h"

#include <string.h>

#include "authres.h"

/* Longest value written; SMTP paths are at most 256 octets (RFC 5321). */
#define VALUE_MAX 512

/* RFC 5322 §3.2.3 atext. */
static bool
is_atext(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') ||
	    (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

static bool
is_dot_atom(span v)
{
	size_t i;

	if (v.len == 0 || v.p[0] == '.' || v.p[v.len - 1] == '.')
		return false;
	for (i = 0; i < v.len; i++) {
		if (v.p[i] == '.' ? v.p[i - 1] == '.' : !is_atext(v.p[i]))
			return false;
	}
	return true;
}

/* Escape v (see authres_escape), cut at VALUE_MAX octets. */
static bool
add_escaped(struct buf *out, span v, const char *esc)
{
	if (v.len > VALUE_MAX)
		v.len = VALUE_MAX;
	return authres_escape(out, v, esc);
}

static bool
add_value(struct buf *out, span v)
{
	if (v.len <= VALUE_MAX && is_dot_atom(v))
		return buf_add_span(out, v);
	return buf_add_byte(out, '"') && add_escaped(out, v, "\"\\") &&
	    buf_add_byte(out, '"');
}

static bool
add_text(struct buf *out, span v)
{
	return add_escaped(out, v, "()\\");
}

static bool
add_pair(struct buf *out, const char *eol, const char *key, span v)
{
	return buf_add_byte(out, ';') &&
	    (eol != NULL ? buf_add_cstr(out, eol) && buf_add_byte(out, '\t')
	                 : buf_add_byte(out, ' ')) &&
	    buf_add_cstr(out, key) && buf_add_byte(out, '=') &&
	    add_value(out, v);
}

/* The comment's words, after the wording of RFC 7208 §9.1's examples. */
static bool
add_comment(struct buf *out, const struct spf_request *req,
    const struct spf_outcome *o, span ip)
{
	span who = req->receiver.len > 0 ? req->receiver : SPAN_LIT("unknown");
	bool ok = buf_add_byte(out, '(') && add_text(out, who) &&
	    buf_add_cstr(out, ": ");

	switch (o->result) {
	case SPF_R_PASS:
		ok = ok && buf_add_cstr(out, "domain of ") &&
		    add_text(out, o->sender) &&
		    buf_add_cstr(out, " designates ") && add_text(out, ip) &&
		    buf_add_cstr(out, " as permitted sender");
		break;
	case SPF_R_FAIL:
	case SPF_R_SOFTFAIL:
		ok = ok && buf_add_cstr(out, "domain of ") &&
		    (o->result == SPF_R_FAIL ||
		        buf_add_cstr(out, "transitioning ")) &&
		    add_text(out, o->sender) &&
		    buf_add_cstr(out, " does not designate ") &&
		    add_text(out, ip) &&
		    buf_add_cstr(out, " as permitted sender");
		break;
	case SPF_R_NEUTRAL:
		ok = ok && add_text(out, ip) &&
		    buf_add_cstr(out,
		        " is neither permitted nor denied by "
		        "domain of ") &&
		    add_text(out, o->sender);
		break;
	case SPF_R_NONE:
		ok = ok && buf_add_cstr(out, "domain of ") &&
		    add_text(out, o->sender) &&
		    buf_add_cstr(out,
		        " does not designate permitted sender "
		        "hosts");
		break;
	case SPF_R_TEMPERROR:
	case SPF_R_PERMERROR:
		ok = ok &&
		    buf_add_cstr(out,
		        o->result == SPF_R_TEMPERROR ? "temporary error"
		                                     : "permanent error") &&
		    buf_add_cstr(out, " in processing domain of ") &&
		    add_text(out, o->sender);
		break;
	}
	return ok && buf_add_byte(out, ')');
}

bool
spf_received(struct buf *out, const struct spf_request *req,
    const struct spf_outcome *o, const char *eol)
{
	char ipt[48];
	size_t mark = out->len;
	span ip = span_make(ipt, spf_ip_format(&req->ip, ipt, sizeof(ipt)));
	bool ok;

	ok = buf_add_cstr(out, "Received-SPF: ") &&
	    buf_add_cstr(out, spf_result_str(o->result)) &&
	    buf_add_byte(out, ' ') && add_comment(out, req, o, ip) &&
	    (eol != NULL ? buf_add_cstr(out, eol) && buf_add_byte(out, '\t')
	                 : buf_add_byte(out, ' ')) &&
	    buf_add_cstr(out, "client-ip=") && add_value(out, ip) &&
	    add_pair(out, eol, "envelope-from", req->sender) &&
	    add_pair(out, eol, "helo", req->helo) &&
	    (req->receiver.len == 0 ||
	        add_pair(out, eol, "receiver", req->receiver)) &&
	    add_pair(out, eol, "identity",
	        req->identity == SPF_ID_HELO ? SPAN_LIT("helo")
	                                     : SPAN_LIT("mailfrom")) &&
	    (o->mechanism.len == 0 ||
	        add_pair(out, eol, "mechanism", o->mechanism)) &&
	    (o->problem[0] == '\0' ||
	        add_pair(out, eol, "problem", span_cstr(o->problem))) &&
	    buf_add_byte(out, ';') && (eol == NULL || buf_add_cstr(out, eol));
	if (!ok)
		out->len = mark;
	return ok;
}
