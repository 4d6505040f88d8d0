/*
 * NAME
 *	deliver.h - sign a spool and hand each message to the MTA
 * SYNOPSIS
 *	deliver_new(&conf, &d, err, sizeof(err));	(lock, recover)
 *	deliver_pass(d, &stats);			(once, or per wake-up)
 *	deliver_free(d);
 * DESCRIPTION
 *	conf.connections threads each own one SMTP/LMTP session (or run the
 *	sendmail program) and one signing worker (the spool_work callbacks of
 *	spool.h). Each takes the next message NAME from the spool, reads its
 *	envelope (the sidecar NAME.env, or the header with envelope_headers),
 *	normalises its line endings to CRLF (so the signature covers exactly
 *	what is sent), signs it and runs one transaction:
 *
 *	1. when the server has said 354 (sendmail: before it starts), an
 *	   in-flight marker SPOOL/.hanko-inflight/INO holding NAME is
 *	   created (and synced): from here the MTA may have the message;
 *	2. every recipient accepted: NAME, then NAME.env, are removed and the
 *	   spool synced; some deferred: NAME stays, and NAME.env is replaced
 *	   by one listing only the deferred recipients (so no accepted one is
 *	   sent to again); some refused: a link to NAME goes to the failed
 *	   directory with an NAME.env of the refused ones and NAME.reason
 *	   with their replies (all refused: NAME itself moves there);
 *	3. the marker is removed.
 *
 *	A crash between the MTA's acceptance and step 2 leaves the marker:
 *	deliver_new() counts the markers whose message is still in the
 *	spool (stats.inflight_found; those may reach the MTA twice, the
 *	window every MTA hand-off has) and removes them. At most one
 *	message per connection is ever in that window.
 *
 *	A message that cannot be signed, has no or a malformed envelope, or
 *	is refused whole moves to the failed directory with its sidecar and
 *	NAME.reason; names ending in ".env", dot files and directories are
 *	never messages. A deferred message is tried again by the next pass
 *	after a back-off (retry_base_s, doubled per attempt up to
 *	retry_max_s); a batch run makes one pass.
 *
 *	One process per spool: deliver_new() takes the same lock as the
 *	spool pipeline (SPOOL/.hanko-done).
 */
#ifndef HANKO_IO_DELIVER_H
#define HANKO_IO_DELIVER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/smtp.h"
#include "io/spool.h"

#define DELIVER_INFLIGHT ".hanko-inflight"

enum deliver_kind {
	DELIVER_SMTP = 0,
	DELIVER_LMTP,
	DELIVER_SENDMAIL,
};

struct hanko_limits;
struct deliver_stats;

struct deliver_conf {
	const char *spool_dir;
	const char *failed_dir; /* NULL: SPOOL_DIR/failed */
	enum deliver_kind kind;
	struct smtp_target target;
	char sendmail[256]; /* the program, for DELIVER_SENDMAIL */
	const char *helo;
	unsigned connections;
	int timeout_ms; /* per read or write */
	bool envelope_headers;
	bool durable;
	unsigned retry_base_s, retry_max_s;
	size_t max_msg;
	const struct hanko_alloc *alloc;
	const struct hanko_limits *limits;
	const struct spool_work *work;
	atomic_int *stop;
	void (*report)(void *ctx, const char *what);
	void *ctx;
	/* About twice a second during a pass: this pass's counts so far. */
	void (*progress)(void *ctx, const struct deliver_stats *pass);
};

struct deliver_stats {
	uint64_t delivered; /* every recipient accepted (or refused) */
	uint64_t deferred;  /* some recipient still to be tried */
	uint64_t failed;    /* moved to the failed directory whole */
	uint64_t rcpt_refused; /* recipients recorded in failed/ */
	uint64_t left;      /* not a message we can touch; reported */
	uint64_t bytes_in;
	double seconds;
	int first_err;
	char err[256];
};

struct deliver;

/* Parse --deliver URL into c (kind, target, sendmail); 0 or -EINVAL. */
int deliver_url_parse(
    const char *url, struct deliver_conf *c, char *err, size_t errlen);
int deliver_new(const struct deliver_conf *c, struct deliver **out,
    char *err, size_t errlen);
/* In-flight markers found at start whose message was still in the spool. */
uint64_t deliver_inflight_found(const struct deliver *d);
/* One pass over the spool; 0, or -errno when the OS stopped it. */
int deliver_pass(struct deliver *d, struct deliver_stats *s);
/* The spool directory's fd, for inotify. */
int deliver_spool_fd(const struct deliver *d);
void deliver_free(struct deliver *d);

#endif
