/*
 * The SMTP/LMTP client state machine of smtp.h: greeting, EHLO/LHLO,
 * then MAIL, RCPT..., DATA, the dot-stuffed message and the final
 * reply(ies), on a socket every read and write of which has a deadline.
 */
#include "smtp.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define SMTP_WBUF (64 << 10)

void
smtp_init(struct smtp_conn *c)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

bool
smtp_is_open(const struct smtp_conn *c)
{
	return c->fd >= 0;
}

static int fail(struct smtp_conn *c, int res, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(struct smtp_conn *c, int res, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	SSL_free(c->ssl);
	c->ssl = NULL;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	return res;
}

static int
wait_fd(struct smtp_conn *c, short ev)
{
	struct pollfd p = { .fd = c->fd, .events = ev };
	int n;

	do
		n = poll(&p, 1, c->timeout_ms);
	while (n < 0 && errno == EINTR);
	return n > 0 ? 0 : n == 0 ? -ETIMEDOUT : -errno;
}

/*
 * One send or receive, plain or TLS: >0 bytes, 0 closed, -1 with errno
 * (EAGAIN: wait for *ev and try again).
 */
static ssize_t
xfer(struct smtp_conn *c, void *p, size_t n, bool out, short *ev)
{
	int r, k;

	*ev = out ? POLLOUT : POLLIN;
	if (c->ssl == NULL)
		return out ? send(c->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT)
		           : recv(c->fd, p, n, MSG_DONTWAIT);
	n = n > INT_MAX ? INT_MAX : n;
	r = out ? SSL_write(c->ssl, p, (int)n) : SSL_read(c->ssl, p, (int)n);
	if (r > 0)
		return r;
	k = SSL_get_error(c->ssl, r);
	if (k == SSL_ERROR_WANT_READ || k == SSL_ERROR_WANT_WRITE) {
		*ev = k == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
		errno = EAGAIN;
		return -1;
	}
	if (k == SSL_ERROR_ZERO_RETURN)
		return 0;
	ERR_clear_error();
	errno = k == SSL_ERROR_SYSCALL && errno != 0 ? errno : EPROTO;
	return -1;
}

static int
write_all(struct smtp_conn *c, const uint8_t *p, size_t n)
{
	short ev = POLLOUT;
	ssize_t w;
	int e;

	while (n > 0) {
		if ((e = wait_fd(c, ev)) != 0)
			return fail(c, SMTP_E_IO, "write: %s",
			    e == -ETIMEDOUT ? "timed out" : strerror(-e));
		w = xfer(c, (void *)(uintptr_t)p, n, true, &ev);
		if (w < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (w <= 0)
			return fail(c, SMTP_E_IO, "write: %s",
			    w < 0 ? strerror(errno) : "closed");
		p += w;
		n -= (size_t)w;
	}
	return SMTP_OK;
}

static int
flush(struct smtp_conn *c)
{
	int r = write_all(c, c->wbuf, c->wlen);

	c->wlen = 0;
	return r;
}

static int
put(struct smtp_conn *c, const void *p, size_t n)
{
	const uint8_t *s = p;
	size_t k;
	int r;

	while (n > 0) {
		if (c->wlen == SMTP_WBUF && (r = flush(c)) != SMTP_OK)
			return r;
		k = SMTP_WBUF - c->wlen < n ? SMTP_WBUF - c->wlen : n;
		memcpy(c->wbuf + c->wlen, s, k);
		c->wlen += k;
		s += k;
		n -= k;
	}
	return SMTP_OK;
}

/* One command; the caller flushes (so pipelined commands share a write). */
static int
cmd(struct smtp_conn *c, const char *verb, span arg, const char *tail)
{
	int r;

	if ((r = put(c, verb, strlen(verb))) != SMTP_OK ||
	    (r = put(c, arg.p, arg.len)) != SMTP_OK ||
	    (r = put(c, tail, strlen(tail))) != SMTP_OK)
		return r;
	return put(c, "\r\n", 2);
}

/* The next line (without its line ending) into *line, valid until the next read. */
static int
read_line(struct smtp_conn *c, span *line)
{
	short ev = POLLIN;
	ssize_t n;
	int e;

	for (;;) {
		uint8_t *s = c->rbuf + c->rpos;
		uint8_t *nl = memchr(s, '\n', c->rlen - c->rpos);

		if (nl != NULL) {
			size_t len = (size_t)(nl - s);

			if (len > 0 && s[len - 1] == '\r')
				len--;
			*line = span_make(s, len);
			c->rpos += (size_t)(nl - s) + 1;
			return SMTP_OK;
		}
		if (c->rlen - c->rpos > SMTP_LINE_MAX)
			return fail(c, SMTP_E_PROTO, "%s",
			    "reply line longer than 2048 bytes");
		if (c->rpos > 0) {
			memmove(c->rbuf, s, c->rlen - c->rpos);
			c->rlen -= c->rpos;
			c->rpos = 0;
		}
		/* TLS may hold a decrypted record already: try first. */
		n = xfer(c, c->rbuf + c->rlen, sizeof(c->rbuf) - c->rlen,
		    false, &ev);
		if (n < 0 && errno == EAGAIN) {
			if ((e = wait_fd(c, ev)) != 0)
				return fail(c, SMTP_E_IO, "read: %s",
				    e == -ETIMEDOUT ? "no reply (timed out)"
				                    : strerror(-e));
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			return fail(c, SMTP_E_IO, "read: %s",
			    n < 0 ? strerror(errno)
			          : "connection closed by the server");
		c->rlen += (size_t)n;
	}
}

static int
line_code(span l)
{
	if (l.len < 3 || l.p[0] < '2' || l.p[0] > '5' || l.p[1] < '0' ||
	    l.p[1] > '9' || l.p[2] < '0' || l.p[2] > '9' ||
	    (l.len > 3 && l.p[3] != ' ' && l.p[3] != '-'))
		return 0;
	return (l.p[0] - '0') * 100 + (l.p[1] - '0') * 10 + (l.p[2] - '0');
}

/* Printable ASCII only: a reply ends up in reason files and logs. */
static void
keep_text(struct smtp_reply *r, span l)
{
	size_t i, n = l.len < SMTP_TEXT_MAX - 1 ? l.len : SMTP_TEXT_MAX - 1;

	for (i = 0; i < n; i++) {
		char ch = '?';

		if (l.p[i] >= ' ' && l.p[i] < 0x7f)
			ch = (char)l.p[i];
		r->text[i] = ch;
	}
	r->text[n] = '\0';
}

typedef void smtp_line_fn(struct smtp_conn *c, span line);

static int
read_reply(struct smtp_conn *c, struct smtp_reply *r, smtp_line_fn *each)
{
	span l = { .p = NULL, .len = 0 };
	int res, code, nlines = 0;

	r->code = 0;
	r->text[0] = '\0';
	for (;;) {
		if ((res = read_line(c, &l)) != SMTP_OK)
			return res;
		code = line_code(l);
		if (code == 0 || (nlines > 0 && code != r->code)) {
			keep_text(r, l);
			r->code = 0;
			return fail(c, SMTP_E_PROTO, "not an SMTP reply: %.60s",
			    r->text);
		}
		if (nlines == 0) {
			r->code = code;
			keep_text(r, l);
		}
		if (each != NULL && l.len > 4)
			each(c, span_sub(l, 4, l.len - 4));
		if (++nlines > SMTP_REPLY_LINES)
			return fail(c, SMTP_E_PROTO, "%s",
			    "reply of more than 100 lines");
		if (l.len <= 3 || l.p[3] == ' ')
			return SMTP_OK;
	}
}

static void
ehlo_line(struct smtp_conn *c, span l)
{
	if (span_ieq_cstr(l, "PIPELINING"))
		c->pipelining = true;
	else if (span_ieq_cstr(l, "8BITMIME"))
		c->eightbitmime = true;
	else if (span_ieq_cstr(l, "SMTPUTF8"))
		c->smtputf8 = true;
	else if (span_ieq_cstr(l, "STARTTLS"))
		c->starttls = true;
}

static int
tls_ctx(struct smtp_conn *c, const struct smtp_target *t)
{
	SSL_CTX *ctx;

	if (c->tls_ctx != NULL)
		return SMTP_OK;
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return fail(c, SMTP_E_IO, "%s", "TLS: cannot create a context");
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (t->tls_verify) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		if ((t->tls_ca != NULL
		            ? SSL_CTX_load_verify_locations(ctx, t->tls_ca, NULL)
		            : SSL_CTX_set_default_verify_paths(ctx)) != 1) {
			SSL_CTX_free(ctx);
			ERR_clear_error();
			return fail(c, SMTP_E_IO, "TLS: cannot load %s",
			    t->tls_ca != NULL ? t->tls_ca : "the system's CAs");
		}
	}
	c->tls_ctx = ctx;
	return SMTP_OK;
}

/* The handshake, on the non-blocking socket, within the timeout. */
static int
handshake(struct smtp_conn *c, const struct smtp_target *t)
{
	unsigned long err;
	char buf[160];
	int r, k, e;

	if ((c->ssl = SSL_new(c->tls_ctx)) == NULL ||
	    SSL_set_fd(c->ssl, c->fd) != 1)
		return fail(c, SMTP_E_IO, "%s", "TLS: out of memory");
	if (!t->unix_path) {
		char sni[sizeof(t->host)];

		/* A copy: the macro takes a mutable pointer. */
		memcpy(sni, t->host, sizeof(sni));
		SSL_set_tlsext_host_name(c->ssl, sni);
		if (t->tls_verify && SSL_set1_host(c->ssl, t->host) != 1)
			return fail(c, SMTP_E_IO, "%s", "TLS: bad host name");
	}
	while ((r = SSL_connect(c->ssl)) != 1) {
		k = SSL_get_error(c->ssl, r);
		if (k != SSL_ERROR_WANT_READ && k != SSL_ERROR_WANT_WRITE) {
			err = ERR_get_error();
			ERR_error_string_n(err, buf, sizeof(buf));
			ERR_clear_error();
			return fail(c, SMTP_E_IO, "TLS handshake: %s%s%s", buf,
			    SSL_get_verify_result(c->ssl) != X509_V_OK
			        ? ": "
			        : "",
			    SSL_get_verify_result(c->ssl) != X509_V_OK
			        ? X509_verify_cert_error_string(
			              SSL_get_verify_result(c->ssl))
			        : "");
		}
		if ((e = wait_fd(c, k == SSL_ERROR_WANT_READ ? POLLIN
		                                            : POLLOUT)) != 0)
			return fail(c, SMTP_E_IO, "TLS handshake: %s",
			    e == -ETIMEDOUT ? "timed out" : strerror(-e));
	}
	return SMTP_OK;
}

/*
 * STARTTLS (RFC 3207): anything the server sent past its 220 was sent
 * in the clear before the handshake, and could be an injected reply.
 */
/* EHLO (LMTP: LHLO) and its 250, noting the extensions offered. */
static int
ehlo(struct smtp_conn *c, const struct smtp_target *t, const char *helo,
    struct smtp_reply *rep, const char *what)
{
	int r;

	if ((r = cmd(c, t->lmtp ? "LHLO " : "EHLO ", span_cstr(helo), "")) !=
	        SMTP_OK ||
	    (r = flush(c)) != SMTP_OK ||
	    (r = read_reply(c, rep, ehlo_line)) != SMTP_OK)
		return r;
	if (rep->code != 250)
		return fail(c, SMTP_E_PROTO, "%s: %.200s", what, rep->text);
	return SMTP_OK;
}

static int
starttls(struct smtp_conn *c, const struct smtp_target *t, const char *helo,
    struct smtp_reply *rep)
{
	int r;

	if (!c->starttls)
		return fail(c, SMTP_E_PROTO, "%s",
		    "the server does not offer STARTTLS (--tls)");
	if ((r = tls_ctx(c, t)) != SMTP_OK ||
	    (r = cmd(c, "STARTTLS", span_cstr(""), "")) != SMTP_OK ||
	    (r = flush(c)) != SMTP_OK ||
	    (r = read_reply(c, rep, NULL)) != SMTP_OK)
		return r;
	if (rep->code != 220)
		return fail(c, SMTP_E_PROTO, "STARTTLS: %.200s", rep->text);
	if (c->rpos != c->rlen)
		return fail(c, SMTP_E_PROTO, "%s",
		    "STARTTLS: data after the 220 (injection?)");
	if ((r = handshake(c, t)) != SMTP_OK)
		return r;
	/* What the server offered in clear no longer counts. */
	c->pipelining = c->eightbitmime = c->smtputf8 = c->starttls = false;
	return ehlo(c, t, helo, rep, "EHLO after STARTTLS");
}

static int
connect_to(struct smtp_conn *c, const struct smtp_target *t)
{
	struct addrinfo hints, *res = NULL, *ai;
	struct sockaddr_un sun;
	int e = ECONNREFUSED, r;

	if (t->unix_path) {
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		memcpy(sun.sun_path, t->path, sizeof(sun.sun_path) - 1);
		c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (c->fd < 0 ||
		    connect(c->fd, (struct sockaddr *)&sun, sizeof(sun)) != 0)
			return fail(c, SMTP_E_IO, "connect: %s",
			    strerror(errno));
		return SMTP_OK;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((r = getaddrinfo(t->host, t->port, &hints, &res)) != 0)
		return fail(c, SMTP_E_IO, "%s", gai_strerror(r));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		c->fd = socket(ai->ai_family,
		    ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (c->fd < 0)
			continue;
		/* Commands and data are buffered here: no Nagle delays. */
		(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 },
		    sizeof(int));
		if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
		    (errno == EINPROGRESS && wait_fd(c, POLLOUT) == 0 &&
		        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e,
		            &(socklen_t){ sizeof(e) }) == 0 &&
		        e == 0))
			break;
		if (errno != EINPROGRESS)
			e = errno;
		close(c->fd);
		c->fd = -1;
	}
	freeaddrinfo(res);
	if (c->fd < 0)
		return fail(c, SMTP_E_IO, "connect: %s",
		    strerror(e != 0 ? e : ETIMEDOUT));
	return SMTP_OK;
}

int
smtp_open(struct smtp_conn *c, const struct smtp_target *t,
    const char *helo, int timeout_ms, struct smtp_reply *rep)
{
	int r;

	c->timeout_ms = timeout_ms;
	c->lmtp = t->lmtp;
	c->pipelining = c->eightbitmime = c->smtputf8 = c->starttls = false;
	c->used = false;
	c->rpos = c->rlen = c->wlen = 0;
	c->err[0] = '\0';
	rep->code = 0;
	rep->text[0] = '\0';
	if (c->wbuf == NULL && (c->wbuf = malloc(SMTP_WBUF)) == NULL)
		return fail(c, -ENOMEM, "%s", "out of memory");
	if ((r = connect_to(c, t)) != SMTP_OK ||
	    (r = read_reply(c, rep, NULL)) != SMTP_OK)
		return r;
	if (rep->code != 220)
		return fail(c, SMTP_E_PROTO, "greeting: %.200s", rep->text);
	if ((r = ehlo(c, t, helo, rep, "EHLO")) != SMTP_OK)
		return r;
	if (t->tls)
		return starttls(c, t, helo, rep);
	return SMTP_OK;
}

/*
 * The message, dot-stuffed: a line that begins with '.' gets one more
 * (RFC 5321 §4.5.2); then CRLF if the last line had none, and ".".
 */
static int
put_body(struct smtp_conn *c, const struct smtp_txn *t)
{
	bool bol = true;
	uint8_t last = '\n';
	size_t i;
	int r;

	for (i = 0; i < 2; i++) {
		span d = t->data[i];
		size_t pos = 0;

		while (pos < d.len) {
			const uint8_t *nl;
			size_t len;

			if (bol && d.p[pos] == '.' &&
			    (r = put(c, ".", 1)) != SMTP_OK)
				return r;
			nl = memchr(d.p + pos, '\n', d.len - pos);
			len = nl != NULL ? (size_t)(nl - (d.p + pos)) + 1
			                 : d.len - pos;
			if ((r = put(c, d.p + pos, len)) != SMTP_OK)
				return r;
			pos += len;
			bol = nl != NULL;
			last = d.p[pos - 1];
		}
	}
	if (last != '\n' && (r = put(c, "\r\n", 2)) != SMTP_OK)
		return r;
	if ((r = put(c, ".\r\n", 3)) != SMTP_OK)
		return r;
	return flush(c);
}

static void
copy_reply(struct smtp_reply *to, const struct smtp_reply *from)
{
	memcpy(to, from, sizeof(*to));
}

/* Every recipient still accepted gets the reply (for a failed DATA). */
static void
decide_accepted(struct smtp_txn *t, const struct smtp_reply *rep)
{
	size_t i;

	for (i = 0; i < t->nrcpt; i++)
		if (t->st[i] == SMTP_RCPT_ACCEPTED) {
			t->st[i] = rep->code >= 500 ? SMTP_RCPT_REFUSED
			                            : SMTP_RCPT_DEFERRED;
			copy_reply(&t->rep[i], rep);
		}
}

/* Not accepted after the session failed: deferred with what was said. */
static enum smtp_res
lost(struct smtp_conn *c, struct smtp_txn *t, int res, bool undelivered)
{
	size_t i;

	for (i = 0; i < t->nrcpt; i++)
		if (t->rep[i].code == 0 ||
		    (undelivered && t->st[i] == SMTP_RCPT_ACCEPTED)) {
			t->st[i] = SMTP_RCPT_DEFERRED;
			t->rep[i].code = 0;
			snprintf(t->rep[i].text, sizeof(t->rep[i].text), "%s",
			    c->err);
		}
	return (enum smtp_res)res;
}

static int
send_envelope(struct smtp_conn *c, const struct smtp_txn *t)
{
	char tail[32];
	size_t i;
	int r;

	snprintf(tail, sizeof(tail), ">%s%s",
	    t->eightbit && c->eightbitmime ? " BODY=8BITMIME" : "",
	    t->utf8 && c->smtputf8 ? " SMTPUTF8" : "");
	if (c->used && c->pipelining &&
	    (r = cmd(c, "RSET", span_cstr(""), "")) != SMTP_OK)
		return r;
	if ((r = cmd(c, "MAIL FROM:<", t->from, tail)) != SMTP_OK)
		return r;
	if (!c->pipelining)
		return flush(c);
	for (i = 0; i < t->nrcpt; i++)
		if ((r = cmd(c, "RCPT TO:<", t->rcpt[i], ">")) != SMTP_OK)
			return r;
	if ((r = cmd(c, "DATA", span_cstr(""), "")) != SMTP_OK)
		return r;
	return flush(c);
}

/* Without PIPELINING each command waits for its reply. */
static int
next_cmd(struct smtp_conn *c, const struct smtp_txn *t, size_t i)
{
	int r;

	if (c->pipelining)
		return SMTP_OK;
	if (i < t->nrcpt)
		r = cmd(c, "RCPT TO:<", t->rcpt[i], ">");
	else
		r = cmd(c, "DATA", span_cstr(""), "");
	return r != SMTP_OK ? r : flush(c);
}

/*
 * SMTP: one reply decides every accepted recipient. LMTP: one reply per
 * accepted recipient, in RCPT order; if the session fails halfway, only
 * those whose reply had not come are deferred.
 */
static enum smtp_res
final_replies(struct smtp_conn *c, struct smtp_txn *t)
{
	struct smtp_reply rep;
	size_t i, j;
	int r;

	for (i = 0; i < t->nrcpt; i++) {
		if (t->st[i] != SMTP_RCPT_ACCEPTED)
			continue;
		if ((r = read_reply(c, &rep, NULL)) != SMTP_OK) {
			for (j = i; j < t->nrcpt; j++)
				if (t->st[j] == SMTP_RCPT_ACCEPTED) {
					t->st[j] = SMTP_RCPT_DEFERRED;
					t->rep[j].code = 0;
					snprintf(t->rep[j].text,
					    sizeof(t->rep[j].text), "%s",
					    c->err);
				}
			return (enum smtp_res)r;
		}
		if (!c->lmtp) {
			if (rep.code >= 400)
				decide_accepted(t, &rep);
			return SMTP_OK;
		}
		if (rep.code >= 400) {
			t->st[i] = rep.code >= 500 ? SMTP_RCPT_REFUSED
			                           : SMTP_RCPT_DEFERRED;
			copy_reply(&t->rep[i], &rep);
		}
	}
	return SMTP_OK;
}

enum smtp_res
smtp_send(struct smtp_conn *c, struct smtp_txn *t)
{
	struct smtp_reply rep, mail;
	size_t i, naccepted = 0;
	int r;

	t->committed = false;
	for (i = 0; i < t->nrcpt; i++) {
		t->st[i] = SMTP_RCPT_DEFERRED;
		t->rep[i].code = 0;
		t->rep[i].text[0] = '\0';
	}
	if (t->utf8 && !c->smtputf8) {
		/* RFC 6531 §3.4: no downgrade here; it cannot be sent. */
		for (i = 0; i < t->nrcpt; i++) {
			t->st[i] = SMTP_RCPT_REFUSED;
			t->rep[i].code = 553;
			snprintf(t->rep[i].text, sizeof(t->rep[i].text),
			    "553 (hanko) the server does not offer SMTPUTF8, "
			    "which this envelope needs");
		}
		return SMTP_OK;
	}
	if (c->used && !c->pipelining &&
	    ((r = cmd(c, "RSET", span_cstr(""), "")) != SMTP_OK ||
	        (r = flush(c)) != SMTP_OK ||
	        (r = read_reply(c, &rep, NULL)) != SMTP_OK))
		return lost(c, t, r, false);
	if ((r = send_envelope(c, t)) != SMTP_OK)
		return lost(c, t, r, false);
	if (c->used && c->pipelining &&
	    (r = read_reply(c, &rep, NULL)) != SMTP_OK)
		return lost(c, t, r, false);
	c->used = true;
	if ((r = read_reply(c, &mail, NULL)) != SMTP_OK)
		return lost(c, t, r, false);
	if (mail.code >= 300 && !c->pipelining) {
		for (i = 0; i < t->nrcpt; i++) {
			t->st[i] = mail.code >= 500 ? SMTP_RCPT_REFUSED
			                            : SMTP_RCPT_DEFERRED;
			copy_reply(&t->rep[i], &mail);
		}
		return SMTP_OK;
	}
	if (!c->pipelining && (r = next_cmd(c, t, 0)) != SMTP_OK)
		return lost(c, t, r, false);
	for (i = 0; i < t->nrcpt; i++) {
		if ((r = read_reply(c, &t->rep[i], NULL)) != SMTP_OK)
			return lost(c, t, r, false);
		/* A refused MAIL decides every recipient (RFC 2920 §3.1). */
		if (mail.code >= 300)
			copy_reply(&t->rep[i], &mail);
		t->st[i] = t->rep[i].code < 300 ? SMTP_RCPT_ACCEPTED
		    : t->rep[i].code >= 500     ? SMTP_RCPT_REFUSED
		                                : SMTP_RCPT_DEFERRED;
		naccepted += t->st[i] == SMTP_RCPT_ACCEPTED;
		if (naccepted == 0 && i + 1 == t->nrcpt && !c->pipelining)
			return SMTP_OK; /* no DATA to send; RSET next time */
		if ((r = next_cmd(c, t, i + 1)) != SMTP_OK)
			return lost(c, t, r, false);
	}
	if ((r = read_reply(c, &rep, NULL)) != SMTP_OK)
		return lost(c, t, r, false);
	if (rep.code != 354) {
		if (rep.code >= 300 && rep.code < 400)
			return lost(c, t,
			    fail(c, SMTP_E_PROTO, "DATA: %.200s", rep.text),
			    true);
		if (naccepted > 0)
			decide_accepted(t, &rep);
		return SMTP_OK;
	}
	if (naccepted == 0) {
		/* 354 with no recipient (RFC 2920 §3.1): end it empty. */
		if ((r = put(c, ".\r\n", 3)) != SMTP_OK ||
		    (r = flush(c)) != SMTP_OK ||
		    (r = read_reply(c, &rep, NULL)) != SMTP_OK)
			return lost(c, t, r, false);
		return SMTP_OK;
	}
	if (t->committing != NULL && !t->committing(t->ctx))
		return lost(c, t,
		    fail(c, SMTP_E_IO, "%s", "not sent: the spool cannot record it"),
		    true);
	t->committed = true;
	if ((r = put_body(c, t)) != SMTP_OK)
		return lost(c, t, r, true);
	return final_replies(c, t);
}

void
smtp_close(struct smtp_conn *c)
{
	static const char quit[] = "QUIT\r\n";

	if (c->fd < 0)
		return;
	/* A courtesy: never waited for. */
	if (c->ssl == NULL)
		(void)!send(c->fd, quit, sizeof(quit) - 1,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
	SSL_free(c->ssl);
	c->ssl = NULL;
	close(c->fd);
	c->fd = -1;
}

void
smtp_fini(struct smtp_conn *c)
{
	smtp_close(c);
	SSL_CTX_free(c->tls_ctx);
	c->tls_ctx = NULL;
	free(c->wbuf);
	c->wbuf = NULL;
}
