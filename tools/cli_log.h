/*
 * NAME
 *	cli_log.h - one log line per message for the long-running modes
 * SYNOPSIS
 *	cli_log_open("-", CLI_LOG_JSON, CLI_LOG_INFO, &log, err, sizeof(err));
 *	cli_log_msg(log, &rec);		(any thread)
 *	cli_log_close(log);
 * DESCRIPTION
 *	A record says what became of one message: its spool or queue id,
 *	the From domain, the signatures made (d=, s=, algorithm) or the
 *	verification and DMARC results, the action (published, delivered,
 *	deferred, failed, left) with its reason, and the seconds it took.
 *	The sink is standard output ("-"), syslog(3) ("syslog", facility
 *	mail) or a file, opened for appending without following a symbolic
 *	link, created 0640, refused unless it is a regular file. Each line
 *	is one write(2), so lines from several threads or processes never
 *	interleave.
 *
 *	Text lines are key=value pairs, every value taken from a message
 *	quoted, with '"', '\' and every byte outside printable ASCII written
 *	as \xHH; JSON lines are one object per line (RFC 8259, invalid UTF-8
 *	as U+FFFD). So a hostile From domain can neither start a line of its
 *	own nor break the JSON. Strings are cut at 255 bytes.
 *
 *	Levels: CLI_LOG_ERROR logs failures only, CLI_LOG_WARNING adds what
 *	was deferred or left for a retry, CLI_LOG_INFO every message.
 * OWNERSHIP
 *	A record and what it points to are borrowed for the call. The log
 *	has process lifetime; it may be used from several threads at once.
 */
#ifndef HANKO_TOOLS_CLI_LOG_H
#define HANKO_TOOLS_CLI_LOG_H

#include <stdbool.h>
#include <stddef.h>

#include "core/span.h"

enum cli_log_format {
	CLI_LOG_TEXT = 0,
	CLI_LOG_JSON,
};

/* In rising severity; the zero value, info, is the default threshold. */
enum cli_log_level {
	CLI_LOG_INFO = 0, /* published, delivered, verified */
	CLI_LOG_WARNING,  /* deferred, left for a retry */
	CLI_LOG_ERROR,    /* failed */
};

/* One signature made (signing) or judged (verifying). */
struct cli_log_sig {
	span domain;           /* d= */
	span selector;         /* s= */
	const char *algorithm; /* "rsa-sha256", "ed25519-sha256" */
};

/* One authentication result: method "spf", "dkim", "dmarc". */
struct cli_log_result {
	const char *method;
	const char *result; /* RFC 8601 word: pass, fail, none, ... */
	span domain;        /* the domain it is about; may be empty */
};

struct cli_log_rec {
	enum cli_log_level level;
	span id;          /* spool file name or queue id */
	span from_domain; /* as the message has it: hostile */
	const struct cli_log_sig *sigs;
	size_t nsigs;
	const struct cli_log_result *results;
	size_t nresults;
	const char *action; /* published, delivered, deferred, failed, left */
	span reason;        /* empty when none */
	double seconds;     /* what handling the message took */
};

struct cli_log;

/*
 * Open the sink spec ("-", "syslog", or a path; "./syslog" for a file of
 * that name). 0, or an exit code (CLI_EX_*) with the reason in err.
 */
int cli_log_open(const char *spec, enum cli_log_format fmt,
    enum cli_log_level level, struct cli_log **out, char *err, size_t errlen);
void cli_log_close(struct cli_log *l);
/*
 * Open a FILE sink's path again (after log rotation moved it), in place:
 * writers in other threads go on with the new file. 0, or an exit code
 * with err filled (the old file stays in use). Other sinks: 0.
 */
int cli_log_reopen(struct cli_log *l, char *err, size_t errlen);
/* Would a record of this level be written? (false for a NULL log) */
bool cli_log_wants(const struct cli_log *l, enum cli_log_level level);
/* Write rec as one line if its level is wanted; NULL log: nothing. */
void cli_log_msg(struct cli_log *l, const struct cli_log_rec *rec);
/*
 * Parse --log-format and --log-level values; false for anything else.
 */
bool cli_log_parse_format(const char *s, enum cli_log_format *out);
bool cli_log_parse_level(const char *s, enum cli_log_level *out);

#endif
