/*
 * NAME
 *	smtp.h - a small, strict SMTP and LMTP client for delivery
 * SYNOPSIS
 *	smtp_open(&c, &target, helo, timeout_ms, &rep);
 *	smtp_send(&c, &txn);		(as often as the session allows)
 *	smtp_close(&c);
 * DESCRIPTION
 *	One session on one socket, used by one thread. smtp_open() connects
 *	(TCP, or a unix socket for LMTP), reads the greeting and says EHLO
 *	(LHLO for LMTP), noting PIPELINING, 8BITMIME and SMTPUTF8. With
 *	target.tls it then requires STARTTLS (OpenSSL; the certificate
 *	checked against the host name and the trust anchors unless
 *	tls_verify is off), refuses a server that sends anything past the
 *	220 before the handshake, and says EHLO again over TLS.
 *	smtp_send() runs one transaction: RSET first when the session has
 *	had one, MAIL FROM, one RCPT TO per recipient and DATA (written as
 *	one group when the server offers PIPELINING, RFC 2920), then the
 *	message dot-stuffed (RFC 5321 §4.5.2), and the final reply: one for
 *	SMTP, one per accepted recipient for LMTP (RFC 2033 §4.2). Each
 *	recipient ends accepted, deferred or refused with the reply that
 *	decided it.
 *
 *	The message must already have CRLF line endings (the caller
 *	normalises it before signing, so the signature covers what is
 *	sent); a last line without one gets CRLF.
 *
 *	Every peer is hostile: a reply line longer than SMTP_LINE_MAX, more
 *	than SMTP_REPLY_LINES lines in a reply, a line that is not a reply,
 *	silence past the timeout or a closed connection ends the session
 *	(SMTP_E_PROTO or SMTP_E_IO, with c->err) and leaves every recipient
 *	not yet decided deferred. Reading never waits without a timeout.
 */
#ifndef HANKO_IO_SMTP_H
#define HANKO_IO_SMTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/span.h"

#define SMTP_LINE_MAX    2048 /* RFC 5321 §4.5.3.1.5 says 512 */
#define SMTP_REPLY_LINES 100
#define SMTP_TEXT_MAX    400

struct smtp_target {
	bool lmtp;
	bool unix_path; /* path, not host and port */
	char host[256];
	char port[16];
	char path[108]; /* sun_path */
	bool tls;        /* STARTTLS required (RFC 3207) */
	bool tls_verify; /* the certificate must match host, from a CA */
	const char *tls_ca; /* trust anchors (PEM); NULL: the system's */
};

struct smtp_reply {
	int code; /* 200..599, or 0: no reply (the session failed) */
	char text[SMTP_TEXT_MAX]; /* the first line, as received, sanitised */
};

enum smtp_res {
	SMTP_OK = 0,
	SMTP_E_IO,    /* connection refused, lost, or timed out */
	SMTP_E_PROTO, /* garbage, an overlong line, a wrong reply */
};

/* Worker lifetime. */
struct ssl_st;
struct ssl_ctx_st;

struct smtp_conn {
	int fd;
	struct ssl_ctx_st *tls_ctx; /* worker lifetime, made on first use */
	struct ssl_st *ssl;         /* after STARTTLS */
	bool starttls;              /* offered */
	bool lmtp;
	bool pipelining, eightbitmime, smtputf8;
	bool used; /* a transaction ran: RSET before the next */
	int timeout_ms;
	size_t rpos, rlen;
	uint8_t rbuf[SMTP_LINE_MAX + 2];
	uint8_t *wbuf; /* SMTP_WBUF bytes */
	size_t wlen;
	char err[256];
};

enum smtp_rcpt_state {
	SMTP_RCPT_DEFERRED = 0, /* also: not decided when the session failed */
	SMTP_RCPT_ACCEPTED,
	SMTP_RCPT_REFUSED,
};

/*
 * One transaction. The caller provides st and rep (nrcpt each); committing
 * is called once the server has said 354, just before the message is
 * written: from then on the message may be delivered whatever happens.
 * When it returns false the session is ended instead (nothing is
 * delivered) and every recipient deferred.
 */
struct smtp_txn {
	span from; /* empty: the null sender */
	const span *rcpt;
	size_t nrcpt;
	span data[2]; /* prefix and message, CRLF */
	bool eightbit;
	bool utf8;
	enum smtp_rcpt_state *st;
	struct smtp_reply *rep;
	bool (*committing)(void *ctx); /* false: end the session first */
	void *ctx;
	bool committed; /* committing was called */
};

void smtp_init(struct smtp_conn *c);
/* 0, or -errno / SMTP_E_* with c->err and rep (when the server said no). */
int smtp_open(struct smtp_conn *c, const struct smtp_target *t,
    const char *helo, int timeout_ms, struct smtp_reply *rep);
bool smtp_is_open(const struct smtp_conn *c);
/*
 * SMTP_OK when the session is still usable (whatever the recipients'
 * fate), else the session is closed and the undecided are deferred.
 */
enum smtp_res smtp_send(struct smtp_conn *c, struct smtp_txn *t);
/* QUIT (not waited for long) and close; the conn can be opened again. */
void smtp_close(struct smtp_conn *c);
void smtp_fini(struct smtp_conn *c);

#endif
