/*
 * NAME
 *	cli_sign.h - hanko sign's options, shared by filter and batch modes
 * DESCRIPTION
 *	cli_sign.c parses the command line and runs filter mode;
 *	cli_batch.c runs the spool pipeline with the same keys and
 *	signature settings. Process lifetime.
 */
#ifndef HANKO_TOOLS_CLI_SIGN_H
#define HANKO_TOOLS_CLI_SIGN_H

#include <stdbool.h>
#include <stdint.h>

#include "cli.h"
#include "cli_ops.h"
#include "cli_table.h"
#include "core/dkim_key.h"
#include "core/dkim_sign.h"

struct psl_ctx_st;

#define MAX_CONFS 16
#define MAX_NAMES 64

struct cli_sign_opts {
	struct dkim_sign_conf base;
	struct dkim_sign_conf confs[MAX_CONFS];
	struct dkim_privkey keys[MAX_CONFS];
	struct {
		const char *domain, *selector, *path;
	} specs[MAX_CONFS];
	size_t nconfs;
	span headers[MAX_NAMES], oversign[MAX_NAMES];
	const char *domain, *selector, *key_table, *sign_table;
	bool allow_unsafe, multiple, fixed_time;
	bool require_aligned;   /* refuse mail DMARC would not align */
	struct psl_ctx_st *psl; /* for alignment; NULL if none could load */
	uint64_t now, max_size;
	struct cli_keytable *kt;
	struct cli_signtable *st;
	struct cli_key_ref refs[MAX_CONFS];
	/* Batch mode: */
	uint64_t jobs, batch;
	const char *failed, *stats_json, *io;
	bool no_fsync, watch;
	bool check_keys; /* load every KeyTable key at start */
	/* Delivery (--deliver URL SPOOL_DIR): */
	const char *deliver, *helo, *tls_ca;
	bool envelope_headers, tls, tls_no_verify;
	uint64_t connections, smtp_timeout, retry_max;
	double t_start;  /* CLOCK_MONOTONIC at start, for the summary */
	struct cli_ops_opts ops; /* --log, --metrics */
};

/* KEYS and signature long options (getopt values), for cli_sign_opt. */
enum cli_sign_optid {
	OPT_KEYTABLE = 256,
	OPT_SIGNTABLE,
	OPT_MULTIPLE,
	OPT_HEADERS,
	OPT_OVERSIGN,
	OPT_NOOVERSIGN,
	OPT_TIME,
	OPT_MAXSIZE,
	OPT_UNSAFE,
	OPT_REQALIGNED,
};

/* The key options hanko sign and hanko milter share (getopt_long rows). */
#define CLI_SIGN_KEY_LONGOPTS \
	{ "domain", required_argument, NULL, 'd' }, \
	{ "selector", required_argument, NULL, 's' }, \
	{ "key", required_argument, NULL, 'k' }, \
	{ "canon", required_argument, NULL, 'c' }, \
	{ "expire", required_argument, NULL, 'x' }, \
	{ "key-table", required_argument, NULL, OPT_KEYTABLE }, \
	{ "signing-table", required_argument, NULL, OPT_SIGNTABLE }, \
	{ "multiple-signatures", no_argument, NULL, OPT_MULTIPLE }, \
	{ "headers", required_argument, NULL, OPT_HEADERS }, \
	{ "oversign", required_argument, NULL, OPT_OVERSIGN }, \
	{ "no-oversign", no_argument, NULL, OPT_NOOVERSIGN }, \
	{ "allow-unsafe-key-perms", no_argument, NULL, OPT_UNSAFE }


/* Batch-only long options (getopt values). */
enum cli_batch_opt {
	CLI_OPT_FAILED = 512,
	CLI_OPT_IO,
	CLI_OPT_NOFSYNC,
	CLI_OPT_BATCH,
	CLI_OPT_WATCH,
	CLI_OPT_STATS,
	CLI_OPT_CHECKKEYS,
	CLI_OPT_DELIVER,
	CLI_OPT_ENVELOPE,
	CLI_OPT_CONNECTIONS,
	CLI_OPT_DELIVER_HELO,
	CLI_OPT_SMTPTIMEOUT,
	CLI_OPT_RETRYMAX,
	CLI_OPT_TLS,
	CLI_OPT_TLSCA,
	CLI_OPT_TLSNOVERIFY,
};

/*
 * One KEYS or signature option of hanko sign (the short letter or the
 * long option's value); 0, or an exit code with the message printed.
 */
int cli_sign_opt(struct cli_sign_opts *o, int ch, const char *arg);
/* Load the tables and the -k keys once every option is known. */
int cli_sign_keys_load(struct cli_sign_opts *o);
/* Parse a batch-only option; CLI_EX_USAGE when ch is not one. */
int cli_sign_batch_opt(struct cli_sign_opts *o, int ch, const char *arg);
/* Run the spool pipeline from spool to out; returns an exit code. */
int cli_sign_batch(struct cli_env *e, struct cli_sign_opts *o,
    const char *spool, const char *out);

struct batch;
struct spool_work;
/*
 * The batch signing callbacks for another loop (delivery): keys as
 * batch mode loads them. NULL (reported) on failure.
 */
struct batch *cli_batch_new(struct cli_env *e, struct cli_sign_opts *o,
    const struct spool_work **work);
void cli_batch_free(struct batch *b);
/* hanko sign --deliver URL SPOOL_DIR; returns an exit code. */
int cli_sign_deliver(
    struct cli_env *e, struct cli_sign_opts *o, const char *spool);

#endif
