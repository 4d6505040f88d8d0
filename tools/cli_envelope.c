/*
 * The SMTP envelope of a message for hanko dmarc, gathered field by
 * field from the flags, a sidecar file and the trace fields; the first
 * source to give a field wins.
 */
#include "cli_envelope.h"

#include <errno.h>
#include <idn2.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/arena.h"
#include "core/dnsq.h"
#include "core/sidecar.h"

#define ENVELOPE_MAX (64 << 10)

span
envelope_path(span v)
{
	return sidecar_path(v);
}

/*
 * The lines of a sidecar (core/sidecar.h reads them, as it does for
 * delivery); unknown keys and malformed lines are ignored here.
 */
void
envelope_sidecar_text(struct auth_envelope *e, span text)
{
	static const struct {
		const char *key;
		enum auth_env_field field;
	} keys[] = {
		{ "ip", AUTH_ENV_IP },
		{ "client_address", AUTH_ENV_IP },
		{ "mail-from", AUTH_ENV_MAIL_FROM },
		{ "mail_from", AUTH_ENV_MAIL_FROM },
		{ "sender", AUTH_ENV_MAIL_FROM },
		{ "helo", AUTH_ENV_HELO },
		{ "helo_name", AUTH_ENV_HELO },
	};
	struct sidecar_iter it;
	struct sidecar_line l;
	sidecar_res r;
	char err[128];
	size_t j;

	sidecar_iter_init(&it, text);
	while ((r = sidecar_next(&it, &l, err, sizeof(err))) != SIDECAR_END) {
		if (r != SIDECAR_OK)
			continue;
		for (j = 0; j < sizeof(keys) / sizeof(keys[0]); j++)
			if (span_ieq_cstr(l.key, keys[j].key))
				auth_envelope_set(e, keys[j].field,
				    sidecar_path(l.value), "sidecar");
	}
}

void
envelope_sidecar(struct auth_envelope *e, const char *dir, const char *name,
    struct arena *ar)
{
	const char *base = strrchr(name, '/');
	char path[PATH_MAX];
	uint8_t *p = NULL, *copy;
	size_t len = 0;
	int r;

	base = base != NULL ? base + 1 : name;
	if (snprintf(path, sizeof(path), "%s/%s.env", dir, base) >=
	    (int)sizeof(path))
		return;
	if ((r = cli_read_regular(path, ENVELOPE_MAX, &p, &len)) != 0) {
		if (r != -ENOENT)
			snprintf(e->problem, sizeof(e->problem),
			    "envelope file %.100s.env: %s", base,
			    r == -EINVAL ? "not a regular file" : strerror(-r));
		return;
	}
	copy = len > 0 ? arena_dup(ar, p, len) : NULL;
	free(p);
	if (copy != NULL)
		envelope_sidecar_text(e, span_make(copy, len));
}

/*
 * A domain in U-labels (RFC 6532 mail, SMTPUTF8) becomes its A-label
 * form for DNS (RFC 7208 §4.3, RFC 9989 §5.3.1, RFC 5890 §2.3); one
 * that does not convert is kept as it is (the checks then find no
 * record for it).
 */
static size_t
idna_to_ascii(void *ctx, span d, char *out, size_t outlen)
{
	char in[1024], *a = NULL;
	size_t n = 0;

	(void)ctx;
	if (d.len >= sizeof(in))
		return 0;
	memcpy(in, d.p, d.len);
	in[d.len] = '\0';
	if (idn2_to_ascii_8z(in, &a, IDN2_NONTRANSITIONAL) == IDN2_OK &&
	    (n = strlen(a)) < outlen)
		memcpy(out, a, n + 1);
	else
		n = 0;
	idn2_free(a);
	return n;
}

void
cli_idna(struct dnsq_idna *out)
{
	out->ctx = NULL;
	out->to_ascii = idna_to_ascii;
}

span
envelope_a_label(span d, struct arena *ar)
{
	struct dnsq_idna idna;

	cli_idna(&idna);
	return dnsq_a_label(&idna, d, ar);
}

span
envelope_addr_a_label(span addr, struct arena *ar)
{
	struct dnsq_idna idna;

	cli_idna(&idna);
	return dnsq_addr_a_label(&idna, addr, ar);
}
