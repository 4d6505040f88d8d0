/*
 * NAME
 *	cli_verify.h - the message loop shared by hanko verify and dmarc
 * DESCRIPTION
 *	cli_verify.c reads files, stdin or directories (through the spool
 *	pipeline's read-only workers), keeps a batch of messages in flight
 *	per thread, authenticates each with core/auth.h and prints one
 *	result per message. What differs between hanko verify and hanko
 *	dmarc (options, envelope, output) is a struct verify_mode:
 *	cli_verify_mode here, cli_dmarc_mode in cli_dmarc.c.
 */
#ifndef HANKO_TOOLS_CLI_VERIFY_H
#define HANKO_TOOLS_CLI_VERIFY_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "cli.h"
#include "cli_dns.h"
#include "cli_ops.h"
#include "core/auth.h"
#include "core/dnsq.h"

#define VERIFY_BATCH_MAX 256

struct auth_request;
struct psl_ctx_st;
struct spool_item;
struct verify_opts;

/*
 * What hanko verify and hanko dmarc do differently: their options, the
 * envelope of each message, and how a result is printed and counted.
 */
struct verify_mode {
	const char *usage;
	/* DNS queries a message may have in flight beyond its DKIM keys. */
	size_t extra_queries;
	/* 1 taken, 0 not an option of the mode, -1 bad value. */
	int (*opt)(struct verify_opts *o, int ch, const char *arg);
	/* After option parsing: 0 or an exit code. */
	int (*setup)(struct verify_opts *o);
	void (*fini)(struct verify_opts *o);
	/* Fill the request's envelope for the item. */
	void (*prepare)(struct verify_opts *o, const struct spool_item *it,
	    struct arena *ar, struct auth_request *req);
	/* The printed result (text or JSON); false when out is full. */
	bool (*format)(struct verify_opts *o, const char *name,
	    const struct auth_ctx *a, struct buf *out);
	/* Count the result (under the output lock). */
	void (*tally)(struct verify_opts *o, const struct auth_result *r);
	/* Keep the result (--history), under the output lock; 0 or exit. */
	int (*record)(struct verify_opts *o, const char *name,
	    const struct auth_ctx *a, struct arena *ar);
};

extern const struct verify_mode cli_verify_mode, cli_dmarc_mode;

/* Process lifetime. */
struct verify_opts {
	const struct verify_mode *mode;
	struct cli_dns_opts dns;
	const char *authserv;
	bool json;
	uint64_t now, max_size, max_sigs, jobs, batch;
	char host[256];
	struct cli_env *e;
	struct auth_conf conf;    /* what every message is checked with */
	struct dnsq_idna idna;    /* libidn2 */
	bool tagged;              /* "# path" before each result */
	const char *dir;          /* directory being verified, or NULL */
	pthread_mutex_t out_lock; /* output, the tallies, the history */
	bool any_nopass, any_temp, any_unreadable;
	uint64_t nmsgs; /* results written */
	/* hanko dmarc only (cli_dmarc.c) */
	const char *ip, *mail_from, *helo, *envelope_dir, *psl_file;
	uint64_t trust_received; /* 0: no; n: the n-th Received, top-down */
	bool rfc7489;
	int pct_roll; /* -1: random */
	struct psl_ctx_st *psl;
	const char *history; /* --history FILE */
	int history_fd;      /* -1 until opened */
	struct cli_ops_opts ops; /* --log, --metrics */
	struct cli_ops ops_rt;   /* started from ops */
};

/* One per thread: its own resolver, and a context per message in flight. */
struct vctx {
	struct verify_opts *o;
	struct core_env env;
	struct cli_resolver res;
	struct cli_ops_dns counted; /* with --metrics: res, counted */
	size_t nv;
	struct auth_ctx *a[VERIFY_BATCH_MAX];
	struct arena ar[VERIFY_BATCH_MAX];
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
	CLI_OPT_HISTORY,
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
	    { "history", required_argument, NULL, CLI_OPT_HISTORY },     \
	{                                                                \
		"pct-roll", required_argument, NULL, CLI_OPT_PCT_ROLL    \
	}

/*
 * Open FILE for appending JSON lines from several processes: O_APPEND,
 * never through a symbolic link, created 0640 when missing; a regular
 * file only. The descriptor, or -errno.
 */
int cli_history_open(const char *path);
/* Append one line (text ending in a newline) with a single write(). */
int cli_history_append(int fd, const void *line, size_t len);
/*
 * hanko dmarc --json's object for one message, named name, with the field
 * authres, and "time" when time is not NULL; false when out is full.
 */
bool cli_dmarc_json(struct buf *out, const char *name,
    const struct auth_result *r, span authres, bool rfc7489,
    const uint64_t *time);

#endif
