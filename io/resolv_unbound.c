#include "resolv_unbound.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unbound.h>

#define TXT_MAX  8    /* TXT records per answer */
#define TXT_SIZE 4096 /* joined bytes per record */

struct resolv_ub {
	struct ub_ctx *ctx;
};

int
resolv_ub_new(const char *server, const char *trust_anchor,
    struct resolv_ub **out, char *err, size_t errlen)
{
	struct resolv_ub *r = calloc(1, sizeof(*r));
	int e = 0;

	if (r == NULL || (r->ctx = ub_ctx_create()) == NULL) {
		free(r);
		snprintf(err, errlen, "cannot create a resolver context");
		return -ENOMEM;
	}
	if (server != NULL)
		e = ub_ctx_set_fwd(r->ctx, server);
	else if ((e = ub_ctx_resolvconf(r->ctx, NULL)) == 0)
		e = ub_ctx_hosts(r->ctx, NULL);
	if (e == 0 && trust_anchor != NULL)
		e = ub_ctx_add_ta_file(r->ctx, trust_anchor);
	if (e != 0) {
		snprintf(err, errlen, "resolver setup: %s", ub_strerror(e));
		resolv_ub_free(r);
		return -EINVAL;
	}
	*out = r;
	return 0;
}

void
resolv_ub_free(struct resolv_ub *r)
{
	if (r == NULL)
		return;
	ub_ctx_delete(r->ctx);
	free(r);
}

/* Join the <length><bytes> character-strings of one TXT rdata. */
static size_t
txt_join(const uint8_t *rd, size_t n, uint8_t *out, size_t cap)
{
	size_t i = 0, len = 0;

	while (i < n) {
		size_t l = rd[i++];

		if (l > n - i || l > cap - len)
			return len;
		memcpy(out + len, rd + i, l);
		len += l;
		i += l;
	}
	return len;
}

static enum dns_rcode
ub_rcode(const struct ub_result *res)
{
	if (res->rcode == 3)
		return DNS_NXDOMAIN;
	if (res->rcode != 0 || res->bogus)
		return DNS_TEMPFAIL;
	return res->havedata ? DNS_OK : DNS_NODATA;
}

static int
ub_txt(void *ctx, span qname, dns_done_fn *done, void *cookie)
{
	static __thread uint8_t store[TXT_MAX][TXT_SIZE];
	struct resolv_ub *r = ctx;
	struct ub_result *res = NULL;
	struct dns_answer ans = { DNS_TEMPFAIL, 0, NULL, 0, 0 };
	span txt[TXT_MAX];
	char name[256];
	size_t i;

	if (qname.len == 0 || qname.len >= sizeof(name))
		return -EINVAL;
	memcpy(name, qname.p, qname.len);
	name[qname.len] = '\0';
	if (ub_resolve(r->ctx, name, 16, 1, &res) == 0) {
		ans.rcode = ub_rcode(res);
		ans.ttl = (uint32_t)res->ttl;
		ans.secure = res->bogus ? -1 : res->secure ? 1 : 0;
		for (i = 0;
		     ans.rcode == DNS_OK && i < TXT_MAX && res->data[i] != NULL;
		     i++)
			txt[i] = span_make(store[i],
			    txt_join((const uint8_t *)res->data[i],
			        (size_t)res->len[i], store[i], TXT_SIZE));
		ans.txt = txt;
		ans.ntxt = ans.rcode == DNS_OK ? i : 0;
	}
	done(cookie, &ans);
	ub_resolve_free(res);
	return 0;
}

void
resolv_ub_ops(struct resolv_ub *r, struct dns_ops *out)
{
	out->ctx = r;
	out->txt = ub_txt;
}
