/*
 * Per-message log lines (cli_log.h): formatted on the caller's stack,
 * written with one write(2) or one syslog(3) call, so no lock is needed.
 */
#include "cli_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cli_json.h"

#define LOG_STR_MAX 255  /* bytes of one string value kept */
#define LOG_LINE    8192 /* one line, escapes included */

/* Process lifetime; read-only once open. */
struct cli_log {
	const char *path; /* a FILE sink's, else NULL */
	int fd;           /* -1 for syslog */
	bool syslog;
	enum cli_log_format fmt;
	enum cli_log_level level;
};

static const char *const level_names[] = {
	[CLI_LOG_ERROR] = "error",
	[CLI_LOG_WARNING] = "warning",
	[CLI_LOG_INFO] = "info",
};

bool
cli_log_parse_format(const char *s, enum cli_log_format *out)
{
	if (strcmp(s, "text") == 0)
		*out = CLI_LOG_TEXT;
	else if (strcmp(s, "json") == 0)
		*out = CLI_LOG_JSON;
	else
		return false;
	return true;
}

bool
cli_log_parse_level(const char *s, enum cli_log_level *out)
{
	size_t i;

	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum cli_log_level)i;
			return true;
		}
	}
	return false;
}

/*
 * A file others may have planted: never followed through a link, never
 * a FIFO or device (opened without blocking, then checked).
 */
static int
open_file(const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd, fl;

	fd = open(path,
	    O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
	    0640);
	if (fd < 0) {
		snprintf(err, errlen, "--log %s: %s", path,
		    errno == ELOOP ? "is a symbolic link" : strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "--log %s: not a regular file", path);
		close(fd);
		return -1;
	}
	if ((fl = fcntl(fd, F_GETFL)) < 0 ||
	    fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
		snprintf(err, errlen, "--log %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int
cli_log_open(const char *spec, enum cli_log_format fmt,
    enum cli_log_level level, struct cli_log **out, char *err, size_t errlen)
{
	struct cli_log *l = calloc(1, sizeof(*l));

	if (l == NULL) {
		snprintf(err, errlen, "out of memory");
		return CLI_EX_SOFTWARE;
	}
	l->fmt = fmt;
	l->level = level;
	l->fd = -1;
	if (strcmp(spec, "-") == 0) {
		l->fd = STDOUT_FILENO;
	} else if (strcmp(spec, "syslog") == 0) {
		l->syslog = true;
		openlog("hanko", LOG_PID | LOG_NDELAY, LOG_MAIL);
	} else if ((l->fd = open_file(spec, err, errlen)) < 0) {
		free(l);
		return CLI_EX_CANTCREAT;
	} else {
		l->path = spec;
	}
	*out = l;
	return 0;
}

int
cli_log_reopen(struct cli_log *l, char *err, size_t errlen)
{
	int fd;

	if (l == NULL || l->path == NULL)
		return 0;
	if ((fd = open_file(l->path, err, errlen)) < 0)
		return CLI_EX_CANTCREAT;
	/* dup2 swaps the file under the same descriptor, atomically. */
	if (dup2(fd, l->fd) < 0) {
		snprintf(err, errlen, "--log %s: %s", l->path, strerror(errno));
		close(fd);
		return CLI_EX_OSERR;
	}
	close(fd);
	return 0;
}

void
cli_log_close(struct cli_log *l)
{
	if (l == NULL)
		return;
	if (l->syslog)
		closelog();
	else if (l->fd > STDERR_FILENO)
		close(l->fd);
	free(l);
}

bool
cli_log_wants(const struct cli_log *l, enum cli_log_level level)
{
	return l != NULL && level >= l->level;
}

static span
cut(span s)
{
	if (s.len > LOG_STR_MAX)
		s.len = LOG_STR_MAX;
	return s;
}

/*
 * Text value bytes: printable ASCII but '"', '\' and sep (0 for none),
 * else \xHH.
 */
static bool
text_esc(struct buf *b, span s, uint8_t sep)
{
	static const char hex[] = "0123456789abcdef";
	bool ok = true;
	size_t i;

	s = cut(s);
	for (i = 0; ok && i < s.len; i++) {
		uint8_t c = s.p[i];
		size_t n = i;

		while (n < s.len && s.p[n] >= 0x20 && s.p[n] < 0x7f &&
		    s.p[n] != '"' && s.p[n] != '\\' &&
		    (sep == 0 || s.p[n] != sep))
			n++;
		if (n > i) {
			ok = buf_add(b, s.p + i, n - i);
			i = n - 1;
		} else {
			ok = buf_add_cstr(b, "\\x") &&
			    buf_add_byte(b, (uint8_t)hex[c >> 4]) &&
			    buf_add_byte(b, (uint8_t)hex[c & 15]);
		}
	}
	return ok;
}

static bool
text_str(struct buf *b, span s)
{
	return buf_add_byte(b, '"') && text_esc(b, s, 0) &&
	    buf_add_byte(b, '"');
}

static bool
json_str(struct buf *b, span s)
{
	return cli_json_str(b, cut(s));
}

static bool
add_seconds(struct buf *b, double v)
{
	char tmp[48];
	int n = snprintf(tmp, sizeof(tmp), "%.6f", v);

	return n > 0 && (size_t)n < sizeof(tmp) && buf_add(b, tmp, (size_t)n);
}

/* RFC 3339 UTC with milliseconds. */
static bool
add_time(struct buf *b)
{
	struct timespec ts;
	struct tm tm;
	char tmp[40];

	clock_gettime(CLOCK_REALTIME, &ts);
	if (gmtime_r(&ts.tv_sec, &tm) == NULL ||
	    strftime(tmp, sizeof(tmp), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		return false;
	snprintf(tmp + strlen(tmp), sizeof(tmp) - strlen(tmp), ".%03ldZ",
	    ts.tv_nsec / 1000000);
	return buf_add_cstr(b, tmp);
}

static bool
text_line(struct buf *b, const struct cli_log_rec *r, bool stamp)
{
	bool ok = true;
	size_t i;

	if (stamp)
		ok = add_time(b) && buf_add_byte(b, ' ');
	ok = ok && buf_add_cstr(b, "level=") &&
	    buf_add_cstr(b, level_names[r->level]) && buf_add_cstr(b, " id=") &&
	    text_str(b, r->id) && buf_add_cstr(b, " from_domain=") &&
	    text_str(b, r->from_domain);
	for (i = 0; ok && i < r->nsigs; i++) {
		const struct cli_log_sig *s = &r->sigs[i];

		ok = buf_add_cstr(b, " sig=\"") &&
		    text_esc(b, s->domain, '/') && buf_add_byte(b, '/') &&
		    text_esc(b, s->selector, '/') && buf_add_byte(b, '/') &&
		    text_esc(b,
		        span_cstr(s->algorithm != NULL ? s->algorithm : ""),
		        '/') &&
		    buf_add_byte(b, '"');
	}
	for (i = 0; ok && i < r->nresults; i++) {
		const struct cli_log_result *x = &r->results[i];

		ok = buf_add_byte(b, ' ') && buf_add_cstr(b, x->method) &&
		    buf_add_cstr(b, "=\"") &&
		    text_esc(b, span_cstr(x->result), '/') &&
		    buf_add_byte(b, '/') && text_esc(b, x->domain, '/') &&
		    buf_add_byte(b, '"');
	}
	ok = ok && buf_add_cstr(b, " action=") && buf_add_cstr(b, r->action);
	if (ok && r->reason.len > 0)
		ok = buf_add_cstr(b, " reason=") && text_str(b, r->reason);
	return ok && buf_add_cstr(b, " seconds=") && add_seconds(b, r->seconds);
}

static bool
json_sigs(struct buf *b, const struct cli_log_rec *r)
{
	bool ok = cli_json_key(b, "signatures", false) && buf_add_byte(b, '[');
	size_t i;

	for (i = 0; ok && i < r->nsigs; i++) {
		const struct cli_log_sig *s = &r->sigs[i];

		ok = (i == 0 || buf_add_byte(b, ',')) && buf_add_byte(b, '{') &&
		    cli_json_key(b, "d", true) && json_str(b, s->domain) &&
		    cli_json_key(b, "s", false) && json_str(b, s->selector) &&
		    cli_json_key(b, "a", false) &&
		    json_str(b,
		        span_cstr(s->algorithm != NULL ? s->algorithm : "")) &&
		    buf_add_byte(b, '}');
	}
	return ok && buf_add_byte(b, ']');
}

static bool
json_results(struct buf *b, const struct cli_log_rec *r)
{
	bool ok = cli_json_key(b, "results", false) && buf_add_byte(b, '[');
	size_t i;

	for (i = 0; ok && i < r->nresults; i++) {
		const struct cli_log_result *x = &r->results[i];

		ok = (i == 0 || buf_add_byte(b, ',')) && buf_add_byte(b, '{') &&
		    cli_json_key(b, "method", true) &&
		    json_str(b, span_cstr(x->method)) &&
		    cli_json_key(b, "result", false) &&
		    json_str(b, span_cstr(x->result)) &&
		    cli_json_key(b, "domain", false) &&
		    json_str(b, x->domain) && buf_add_byte(b, '}');
	}
	return ok && buf_add_byte(b, ']');
}

static bool
json_line(struct buf *b, const struct cli_log_rec *r, bool stamp)
{
	bool ok = buf_add_byte(b, '{');

	if (stamp)
		ok = ok && cli_json_key(b, "time", true) &&
		    buf_add_byte(b, '"') && add_time(b) && buf_add_byte(b, '"');
	ok = ok && cli_json_key(b, "level", !stamp) &&
	    json_str(b, span_cstr(level_names[r->level])) &&
	    cli_json_key(b, "id", false) && json_str(b, r->id) &&
	    cli_json_key(b, "from_domain", false) &&
	    json_str(b, r->from_domain) && json_sigs(b, r) &&
	    json_results(b, r) && cli_json_key(b, "action", false) &&
	    json_str(b, span_cstr(r->action)) &&
	    cli_json_key(b, "reason", false) && json_str(b, r->reason) &&
	    cli_json_key(b, "seconds", false) && add_seconds(b, r->seconds);
	return ok && buf_add_byte(b, '}');
}

static bool
format(const struct cli_log *l, const struct cli_log_rec *r, struct buf *b)
{
	bool stamp = !l->syslog; /* syslog stamps its own */

	return l->fmt == CLI_LOG_JSON ? json_line(b, r, stamp)
	                              : text_line(b, r, stamp);
}

static int
priority(enum cli_log_level level)
{
	switch (level) {
	case CLI_LOG_ERROR:
		return LOG_ERR;
	case CLI_LOG_WARNING:
		return LOG_WARNING;
	case CLI_LOG_INFO:
		break;
	}
	return LOG_INFO;
}

void
cli_log_msg(struct cli_log *l, const struct cli_log_rec *rec)
{
	uint8_t line[LOG_LINE];
	struct cli_log_rec r;
	struct buf b;

	if (!cli_log_wants(l, rec->level))
		return;
	buf_init_fixed(&b, line, sizeof(line) - 1);
	if (!format(l, rec, &b)) {
		/* Too long (thousands of escapes): the essentials only. */
		r = *rec;
		r.nsigs = r.nresults = 0;
		buf_init_fixed(&b, line, sizeof(line) - 1);
		if (!format(l, &r, &b))
			return;
	}
	if (l->syslog) {
		line[b.len] = '\0';
		syslog(priority(rec->level), "%s", (const char *)line);
		return;
	}
	line[b.len++] = '\n';
	if (cli_write_all(l->fd, line, b.len) != 0)
		return; /* a full disk must not stop the mail */
}
