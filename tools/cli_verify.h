/*
 * NAME
 *	cli_verify.h - the message loop shared by hanko verify and dmarc
 * DESCRIPTION
 *	cli_verify.c reads files, stdin or directories (through the spool
 *	pipeline's read-only workers), keeps a batch of messages in flight
 *	per thread and prints one result per message. In dmarc mode it calls
 *	the hooks of cli_dmarc.c: start (envelope, SPF) beside DKIM, step
 *	(DMARC once DKIM and SPF are final) while waiting for DNS, and emit.
 */
#ifndef HANKO_TOOLS_CLI_VERIFY_H
#define HANKO_TOOLS_CLI_VERIFY_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "cli.h"
#include "cli_dns.h"

#define VERIFY_BATCH_MAX 256

struct dkim_result;
struct dkim_verifier;
struct dmarc_slot;
struct psl_ctx_st;
struct spool_item;

/* Process lifetime. */
struct verify_opts {
	struct cli_dns_opts dns;
	const char *authserv;
	bool json, dmarc;
	uint64_t now, max_size, max_sigs, jobs, batch;
	char host[256];
	struct cli_env *e;
	bool tagged;              /* "# path" before each result */
	const char *dir;          /* directory being verified, or NULL */
	pthread_mutex_t out_lock; /* output and the tallies */
	bool any_nopass, any_temp, any_unreadable;
	uint64_t nmsgs; /* results written */
	/* hanko dmarc only (cli_dmarc.c) */
	const char *ip, *mail_from, *helo, *envelope_dir, *psl_file;
	uint64_t trust_received; /* 0: no; n: the n-th Received, top-down */
	bool rfc7489;
	int pct_roll; /* -1: random */
	struct psl_ctx_st *psl;
};

/* One per thread: its own resolver, and a verifier per message in flight. */
struct vctx {
	struct verify_opts *o;
	struct core_env env;
	struct cli_resolver res;
	size_t nv;
	struct dkim_verifier *v[VERIFY_BATCH_MAX];
	struct arena ar[VERIFY_BATCH_MAX];
	struct dmarc_slot *dm[VERIFY_BATCH_MAX];
};

/* One message's outcome: results, or an error that stopped verification. */
struct outcome {
	const struct dkim_result *res;
	size_t n, skipped;
	const char *error;
};

enum {
	CLI_OPT_IP = 0x1100,
	CLI_OPT_MAILFROM,
	CLI_OPT_HELO,
	CLI_OPT_ENVDIR,
	CLI_OPT_TRUST_RECEIVED,
	CLI_OPT_RFC7489,
	CLI_OPT_PSL,
	CLI_OPT_PCT_ROLL,
};

#define CLI_DMARC_LONGOPTS                                               \
	{ "ip", required_argument, NULL, CLI_OPT_IP },                   \
	    { "mail-from", required_argument, NULL, CLI_OPT_MAILFROM },  \
	    { "helo", required_argument, NULL, CLI_OPT_HELO },           \
	    { "envelope-dir", required_argument, NULL, CLI_OPT_ENVDIR }, \
	    { "trust-received", required_argument, NULL,                 \
		    CLI_OPT_TRUST_RECEIVED },                            \
	    { "rfc7489", no_argument, NULL, CLI_OPT_RFC7489 },           \
	    { "psl", required_argument, NULL, CLI_OPT_PSL },             \
	{                                                                \
		"pct-roll", required_argument, NULL, CLI_OPT_PCT_ROLL    \
	}

extern const char cli_dmarc_usage[];

void cli_dmarc_init(struct verify_opts *o);
/* 1 taken, 0 not a dmarc option, -1 bad value. */
int cli_dmarc_opt(struct verify_opts *o, int ch, const char *arg);
/* After option parsing: checks, loads the PSL; 0 or an exit code. */
int cli_dmarc_setup(struct verify_opts *o);
void cli_dmarc_fini(struct verify_opts *o);
int cli_dmarc_slot_new(struct vctx *c, size_t i);
void cli_dmarc_slot_free(struct vctx *c, size_t i);
/* With DKIM started on it[0]: read the envelope, start SPF. */
void cli_dmarc_start(struct vctx *c, size_t i, const struct spool_item *it);
/* Advance slot i (DKIM is done); true when its result is final. */
bool cli_dmarc_step(struct vctx *c, size_t i);
/* Print slot i's result; 0 or an exit code. */
int cli_dmarc_emit(
    struct vctx *c, size_t i, const char *name, struct outcome oc);

#endif
