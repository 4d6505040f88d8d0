/*
 * NAME
 *	cli_milter.h - hanko milter: sign outbound, verify inbound, for an
 *	MTA speaking the milter protocol (Postfix, Sendmail)
 * DESCRIPTION
 *	cli_milter.c parses the options (the command line, and --config
 *	FILE holding the same long options one per line), loads the keys,
 *	binds the socket, drops privileges and runs libmilter's loop.
 *	cli_milter_msg.c is one connection: the envelope and the message as
 *	they stream in, then at the end of the data either the
 *	DKIM-Signature fields (a client in --internal-hosts or
 *	authenticated, when keys are given) or the Authentication-Results
 *	field after removing every one that claims our authserv-id, and
 *	the DMARC disposition when enforcing.
 * OWNERSHIP
 *	struct milter_conf has process lifetime and is read-only once
 *	libmilter's threads run; each connection owns its struct mconn, its
 *	resolver, its verifier and its signer (no lock per message).
 */
#ifndef HANKO_TOOLS_CLI_MILTER_H
#define HANKO_TOOLS_CLI_MILTER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli.h"
#include "cli_dns.h"
#include "cli_sign.h"
#include "core/auth.h"
#include "core/dnsq.h"
#include "core/spf.h"

#define MILTER_NETS_MAX 64

struct cli_keymap;
struct psl_ctx_st;

/* One --internal-hosts entry. */
struct milter_net {
	struct spf_ip ip;
	unsigned prefix;
};

enum milter_quarantine {
	MILTER_Q_NONE = 0, /* annotate only */
	MILTER_Q_HOLD,     /* smfi_quarantine: the MTA holds the message */
	MILTER_Q_HEADER,   /* an X-Hanko-Quarantine field */
};

/* Process lifetime; read-only once the milter threads run. */
struct milter_conf {
	struct cli_env *e;
	struct cli_dns_opts dns;
	struct auth_conf conf;
	struct dnsq_idna idna;
	struct cli_sign_opts *sign; /* KEYS; nothing to sign with when none */
	bool can_sign;
	struct cli_keymap *keys; /* KeyTable keys without '%', loaded once */
	struct milter_net nets[MILTER_NETS_MAX];
	size_t nnets;
	const char *socket, *user, *pidfile, *authserv, *history, *psl_file;
	char host[256];
	bool dmarc_reject, rfc7489;
	enum milter_quarantine quarantine;
	struct psl_ctx_st *psl;
	int history_fd;
	uint64_t max_size, max_header, max_conns, max_sigs;
	atomic_ulong nconns; /* connections open now */
};

/*
 * Register the callbacks with libmilter for c, which is kept until the
 * process ends (libmilter's callbacks take no user pointer); 0 or -1.
 */
int cli_milter_register(const struct milter_conf *c);
/* Is ip (text) in one of the --internal-hosts networks? */
bool cli_milter_is_internal(const struct milter_conf *c, const char *ip);
int cli_milter_main(struct cli_env *e, int argc, char **argv);

#endif
