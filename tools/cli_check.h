/*
 * NAME
 *	cli_check.h - what hanko check's two modes share: key reading,
 *	printing a finished audit, the exit status
 * DESCRIPTION
 *	cli_check.c audits one domain; cli_check_table.c audits every key
 *	of an OpenDKIM KeyTable/SigningTable in one asynchronous pass. Both
 *	print through cli_check_print and sum what they printed in a tally,
 *	from which cli_check_exit gives 1 (an error was found), 75 (a
 *	lookup failed, no error) or 0.
 */
#ifndef HANKO_TOOLS_CLI_CHECK_H
#define HANKO_TOOLS_CLI_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "core/dkim_key.h"

struct arena;
struct check;
struct cli_dns_opts;
struct cli_env;

/* A private key read for comparison; err says why when !loaded. */
struct cli_check_key {
	struct dkim_privkey key;
	bool loaded;
	char err[160];
};

struct cli_check_tally {
	size_t errors;
	bool dns_failed;
	bool incomplete; /* an audit ran out of memory */
};

void cli_check_key_read(const char *path, struct cli_check_key *k);
void cli_check_key_fini(struct cli_check_key *k);
/* Print a finished audit (text or one JSON line) and tally it. */
int cli_check_print(const struct check *c, bool json, struct arena *ar,
    struct cli_check_tally *t);
int cli_check_exit(const struct cli_check_tally *t);
/* The table audit; returns the exit status. */
int cli_check_table(struct cli_env *e, const struct cli_dns_opts *dns,
    const char *keytable, const char *signtable, bool all, bool json);
int cli_check_main(struct cli_env *e, int argc, char **argv);

#endif
