/*
 * Unit tests for tools/cli_metrics.c and tools/cli_log.c: the exposition
 * text, bounded labels, hostile label values, counting from threads,
 * the HTTP endpoint on loopback, and log lines written to a file.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/auth.h"
#include "core/dkim_verify.h"
#include "core/dmarc.h"
#include "core/spf.h"
#include "tools/cli.h"
#include "tools/cli_log.h"
#include "tools/cli_metrics.h"
#include "tools/cli_ops.h"

static uint8_t out[1 << 20];

/* The exposition as a C string. */
static const char *
scrape(struct cli_metrics *m)
{
	struct buf b;

	buf_init_fixed(&b, out, sizeof(out) - 1);
	assert_true(cli_metrics_write(m, &b));
	out[b.len] = '\0';
	return (const char *)out;
}

/* The value of the sample named exactly line (name{labels}), or -1. */
static long long
sample(const char *text, const char *line)
{
	const char *p = text;
	size_t n = strlen(line);

	while ((p = strstr(p, line)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == ' ')
			return strtoll(p + n + 1, NULL, 10);
		p += n;
	}
	return -1;
}

static void
t_cli_metrics_count_signed(void **state)
{
	struct cli_metrics *m;
	const char *t;

	(void)state;
	assert_int_equal(cli_metrics_new(0, &m), 0);
	cli_metrics_count(m, CLI_M_SIGNED, SPAN_LIT("Example.COM"),
	    SPAN_LIT("rsa"), "rsa-sha256");
	cli_metrics_count(m, CLI_M_SIGNED, SPAN_LIT("example.com"),
	    SPAN_LIT("rsa"), "rsa-sha256");
	cli_metrics_count(m, CLI_M_SIGNED, SPAN_LIT("example.com"),
	    SPAN_LIT("ed"), "ed25519-sha256");
	cli_metrics_count(m, CLI_M_FAILED, SPAN_LIT(""), SPAN_LIT(""), NULL);
	cli_metrics_count(m, CLI_M_DELIVERED, SPAN_LIT("example.com"),
	    SPAN_LIT("rsa"), "rsa-sha256");
	cli_metrics_count(m, CLI_M_DEFERRED, SPAN_LIT("example.com"),
	    SPAN_LIT("rsa"), "rsa-sha256");
	t = scrape(m);
	assert_int_equal(
	    sample(t,
	        "hanko_messages_signed_total{domain=\"example."
	        "com\",selector=\"rsa\",algorithm=\"rsa-sha256\"}"),
	    2);
	assert_int_equal(sample(t,
	                     "hanko_messages_signed_total{domain=\"example."
	                     "com\",selector=\"ed\",algorithm=\"ed25519-"
	                     "sha256\"}"),
	    1);
	assert_int_equal(
	    sample(t, "hanko_messages_failed_total{domain=\"_unknown\"}"), 1);
	assert_int_equal(
	    sample(t,
	        "hanko_messages_delivered_total{domain=\"example."
	        "com\",selector=\"rsa\",algorithm=\"rsa-sha256\"}"),
	    1);
	assert_int_equal(
	    sample(t,
	        "hanko_messages_deferred_total{domain=\"example."
	        "com\",selector=\"rsa\",algorithm=\"rsa-sha256\"}"),
	    1);
	assert_non_null(
	    strstr(t, "# TYPE hanko_messages_signed_total counter\n"));
	cli_metrics_free(m);
}

static void
t_cli_metrics_count_bounded(void **state)
{
	struct cli_metrics *m;
	char d[32];
	const char *t;
	int i;

	(void)state;
	assert_int_equal(cli_metrics_new(3, &m), 0);
	for (i = 0; i < 50; i++) {
		snprintf(d, sizeof(d), "d%d.example", i);
		cli_metrics_count(
		    m, CLI_M_SIGNED, span_cstr(d), SPAN_LIT("s"), "rsa-sha256");
	}
	t = scrape(m);
	assert_int_equal(
	    sample(t,
	        "hanko_messages_signed_total{domain=\"d2.example\","
	        "selector=\"s\",algorithm=\"rsa-sha256\"}"),
	    1);
	assert_int_equal(
	    sample(t,
	        "hanko_messages_signed_total{domain=\"d3.example\","
	        "selector=\"s\",algorithm=\"rsa-sha256\"}"),
	    -1);
	assert_int_equal(sample(t,
	                     "hanko_messages_signed_total{domain=\"_other\","
	                     "selector=\"_other\",algorithm=\"rsa-sha256\"}"),
	    47);
	cli_metrics_free(m);
}

static void
t_cli_metrics_count_hostile_label(void **state)
{
	struct cli_metrics *m;
	const char *t;

	(void)state;
	assert_int_equal(cli_metrics_new(0, &m), 0);
	cli_metrics_count(m, CLI_M_FAILED,
	    SPAN_LIT("a\"}\nhanko_x 1\\ \xff.EXAMPLE"), SPAN_LIT(""), NULL);
	t = scrape(m);
	assert_int_equal(sample(t,
	                     "hanko_messages_failed_total{domain=\"a?}?hanko_x?"
	                     "1???.example\"}"),
	    1);
	assert_null(strstr(t, "\nhanko_x"));
	cli_metrics_free(m);
}

static void
t_cli_metrics_result_dns_latency(void **state)
{
	struct cli_metrics *m;
	const char *t;

	(void)state;
	assert_int_equal(cli_metrics_new(0, &m), 0);
	cli_metrics_result(m, CLI_M_DKIM, "pass");
	cli_metrics_result(m, CLI_M_DKIM, "pass");
	cli_metrics_result(m, CLI_M_DMARC, "bogus");
	cli_metrics_dns(m, "nxdomain");
	cli_metrics_dns(m, "weird");
	cli_metrics_latency(m, 0.0005);
	cli_metrics_latency(m, 3.0);
	cli_metrics_latency(m, 100.0);
	cli_metrics_backlog(m, 7, 1.0);
	t = scrape(m);
	assert_int_equal(sample(t,
	                     "hanko_auth_results_total{method=\"dkim\",result="
	                     "\"pass\"}"),
	    2);
	assert_int_equal(sample(t,
	                     "hanko_auth_results_total{method=\"dmarc\","
	                     "result=\"other\"}"),
	    1);
	assert_int_equal(
	    sample(t, "hanko_dns_lookups_total{outcome=\"nxdomain\"}"), 1);
	assert_int_equal(
	    sample(t, "hanko_dns_lookups_total{outcome=\"other\"}"), 1);
	assert_int_equal(
	    sample(t, "hanko_message_duration_seconds_bucket{le=\"0.001\"}"),
	    1);
	assert_int_equal(
	    sample(t, "hanko_message_duration_seconds_bucket{le=\"2.5\"}"), 1);
	assert_int_equal(
	    sample(t, "hanko_message_duration_seconds_bucket{le=\"5\"}"), 2);
	assert_int_equal(
	    sample(t, "hanko_message_duration_seconds_bucket{le=\"+Inf\"}"), 3);
	assert_int_equal(sample(t, "hanko_message_duration_seconds_count"), 3);
	assert_non_null(strstr(t, "hanko_message_duration_seconds_sum 103.0"));
	assert_int_equal(sample(t, "hanko_spool_backlog_messages"), 7);
	cli_metrics_free(m);
}

static void *
count_many(void *p)
{
	int i;

	for (i = 0; i < 20000; i++) {
		cli_metrics_count(p, CLI_M_SIGNED, SPAN_LIT("t.example"),
		    SPAN_LIT("s"), "ed25519-sha256");
		cli_metrics_latency(p, 0.002);
	}
	return NULL;
}

static void
t_cli_metrics_count_threads(void **state)
{
	struct cli_metrics *m;
	pthread_t th[4];
	const char *t;
	int i;

	(void)state;
	assert_int_equal(cli_metrics_new(0, &m), 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(
		    pthread_create(&th[i], NULL, count_many, m), 0);
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	t = scrape(m);
	assert_int_equal(sample(t,
	                     "hanko_messages_signed_total{domain=\"t.example\","
	                     "selector=\"s\",algorithm=\"ed25519-sha256\"}"),
	    80000);
	assert_int_equal(
	    sample(t, "hanko_message_duration_seconds_count"), 80000);
	cli_metrics_free(m);
}

/* One HTTP/1.0 request to 127.0.0.1:port; the reply into buf. */
static size_t
http(unsigned port, const char *req, char *buf, size_t cap)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	size_t len = 0;
	ssize_t n;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_true(write(fd, req, strlen(req)) == (ssize_t)strlen(req));
	while (len < cap - 1 && (n = read(fd, buf + len, cap - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(fd);
	return len;
}

static void
t_cli_metrics_serve_loopback(void **state)
{
	struct cli_metrics *m;
	char err[256], reply[65536];

	(void)state;
	assert_int_equal(cli_metrics_new(0, &m), 0);
	assert_int_equal(
	    cli_metrics_serve(m, "bogus", err, sizeof(err)), CLI_EX_USAGE);
	assert_int_equal(cli_metrics_serve(m, "0", err, sizeof(err)), 0);
	assert_true(cli_metrics_port(m) > 0);
	cli_metrics_count(m, CLI_M_SIGNED, SPAN_LIT("h.example"), SPAN_LIT("s"),
	    "rsa-sha256");
	http(cli_metrics_port(m), "GET /metrics HTTP/1.0\r\n\r\n", reply,
	    sizeof(reply));
	assert_non_null(strstr(reply, " 200 OK\r\n"));
	assert_non_null(strstr(reply, "text/plain; version=0.0.4"));
	assert_non_null(strstr(reply,
	    "\nhanko_messages_signed_total{domain=\"h.example\",selector="
	    "\"s\",algorithm=\"rsa-sha256\"} 1\n"));
	http(cli_metrics_port(m), "GET /x HTTP/1.0\r\n\r\n", reply,
	    sizeof(reply));
	assert_non_null(strstr(reply, " 404 "));
	http(cli_metrics_port(m),
	    "DELETE /metrics HTTP/1.0\r\nContent-Length: 0\r\n\r\n", reply,
	    sizeof(reply));
	assert_non_null(strstr(reply, " 405 "));
	cli_metrics_free(m);
}

static void
t_cli_log_msg_escapes(void **state)
{
	const char *dir = getenv("TMPDIR");
	char path[512];
	struct cli_log_sig sig = { SPAN_LIT("d.example"), SPAN_LIT("s/1"),
		"rsa-sha256" };
	struct cli_log_rec rec = { .level = CLI_LOG_ERROR,
		.id = SPAN_LIT("q\n1"),
		.from_domain = SPAN_LIT("ev\"il\\\r\n{x"),
		.sigs = &sig,
		.nsigs = 1,
		.action = "failed",
		.reason = SPAN_LIT("bad"),
		.seconds = 0.5 };
	struct cli_log *l;
	struct stat st;
	char err[256], line[1024];
	const char *p;
	FILE *f;
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "%s/hanko-log-XXXXXX",
	    dir != NULL ? dir : P_tmpdir);
	assert_true((fd = mkstemp(path)) >= 0);
	close(fd);
	unlink(path);
	assert_int_equal(cli_log_open(path, CLI_LOG_TEXT, CLI_LOG_WARNING, &l,
	                     err, sizeof(err)),
	    0);
	cli_log_msg(l, &rec);
	rec.level = CLI_LOG_INFO; /* below the threshold: not written */
	cli_log_msg(l, &rec);
	cli_log_close(l);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640 & ~(unsigned)umask(022));
	assert_non_null(f = fopen(path, "r"));
	assert_non_null(fgets(line, sizeof(line), f));
	assert_null(fgets(line + 512, 512, f)); /* exactly one line */
	fclose(f);
	unlink(path);
	assert_non_null(p = strchr(line, ' '));
	assert_string_equal(p + 1,
	    "level=error id=\"q\\x0a1\" "
	    "from_domain=\"ev\\x22il\\x5c\\x0d\\x0a{x\" "
	    "sig=\"d.example/s\\x2f1/rsa-sha256\" action=failed "
	    "reason=\"bad\" seconds=0.500000\n");
}

/* The first line of path, without its time stamp; path removed. */
static void
read_line(const char *path, char *line, size_t cap)
{
	FILE *f = fopen(path, "r");

	assert_non_null(f);
	assert_non_null(fgets(line, (int)cap, f));
	fclose(f);
	unlink(path);
}

static void
t_cli_ops_auth_logs_and_counts(void **state)
{
	const char *dir = getenv("TMPDIR");
	struct dkim_result dk[2];
	struct spf_outcome spf;
	struct dmarc_outcome dm;
	struct auth_result r;
	struct cli_ops ops;
	char path[512], err[256], line[2048];
	const char *t, *p;
	int fd;

	(void)state;
	memset(dk, 0, sizeof(dk));
	memset(&spf, 0, sizeof(spf));
	memset(&dm, 0, sizeof(dm));
	memset(&r, 0, sizeof(r));
	dk[0].verdict = DKIM_V_PASS;
	dk[0].d = SPAN_LIT("a.example");
	dk[1].verdict = DKIM_V_FAIL;
	dk[1].d = SPAN_LIT("b\"x.example");
	spf.result = SPF_R_PASS;
	spf.domain = SPAN_LIT("bounce.a.example");
	dm.result = DMARC_R_PASS;
	r.dkim = dk;
	r.ndkim = 2;
	r.spf_run = true;
	r.spf = &spf;
	r.dmarc = &dm;
	r.dmarc_from = SPAN_LIT("a.example");
	r.from_domain = SPAN_LIT("a.example");
	snprintf(path, sizeof(path), "%s/hanko-log-XXXXXX",
	    dir != NULL ? dir : P_tmpdir);
	assert_true((fd = mkstemp(path)) >= 0);
	close(fd);
	memset(&ops, 0, sizeof(ops));
	assert_int_equal(cli_log_open(path, CLI_LOG_JSON, CLI_LOG_INFO,
	                     &ops.log, err, sizeof(err)),
	    0);
	assert_int_equal(cli_metrics_new(0, &ops.metrics), 0);
	cli_ops_auth(&ops, SPAN_LIT("q1"), &r, "verified", 0.25);
	t = scrape(ops.metrics);
	assert_int_equal(sample(t,
	                     "hanko_auth_results_total{method=\"dkim\",result="
	                     "\"pass\"}"),
	    1);
	assert_int_equal(sample(t,
	                     "hanko_auth_results_total{method=\"dkim\",result="
	                     "\"fail\"}"),
	    1);
	assert_int_equal(sample(t,
	                     "hanko_auth_results_total{method=\"spf\",result="
	                     "\"pass\"}"),
	    1);
	assert_int_equal(sample(t,
	                     "hanko_auth_results_total{method=\"dmarc\","
	                     "result=\"pass\"}"),
	    1);
	assert_int_equal(sample(t, "hanko_message_duration_seconds_count"), 1);
	cli_ops_stop(&ops);
	read_line(path, line, sizeof(line));
	assert_non_null(p = strstr(line, "\"level\""));
	assert_string_equal(p,
	    "\"level\":\"info\",\"id\":\"q1\",\"from_domain\":\"a.example\","
	    "\"signatures\":[],\"results\":["
	    "{\"method\":\"spf\",\"result\":\"pass\",\"domain\":"
	    "\"bounce.a.example\"},"
	    "{\"method\":\"dkim\",\"result\":\"pass\",\"domain\":"
	    "\"a.example\"},"
	    "{\"method\":\"dkim\",\"result\":\"fail\",\"domain\":"
	    "\"b\\\"x.example\"},"
	    "{\"method\":\"dmarc\",\"result\":\"pass\",\"domain\":"
	    "\"a.example\"}],"
	    "\"action\":\"verified\",\"reason\":\"\",\"seconds\":0.250000}\n");
}

/* A backend that keeps one query and answers it when told to. */
struct fake_dns {
	dns_done_fn *done;
	void *cookie;
	int calls;
};

static int
fake_txt(void *ctx, span qname, dns_done_fn *done, void *cookie)
{
	struct fake_dns *f = ctx;
	struct dns_answer a;

	f->calls++;
	if (span_eq(qname, SPAN_LIT("bad..name")))
		return DNS_E_BADNAME;
	if (span_eq(qname, SPAN_LIT("later.example"))) {
		f->done = done;
		f->cookie = cookie;
		return 0;
	}
	memset(&a, 0, sizeof(a));
	a.rcode =
	    span_eq(qname, SPAN_LIT("gone.example")) ? DNS_NXDOMAIN : DNS_OK;
	done(cookie, &a); /* before the query returns, as a zone file does */
	return 0;
}

static void
count_answer(void *cookie, const struct dns_answer *a)
{
	int *n = cookie;

	(void)a;
	(*n)++;
}

static void
t_cli_ops_dns_counts_outcomes(void **state)
{
	struct fake_dns f = { 0 };
	struct dns_ops dns = { .ctx = &f, .txt = fake_txt };
	struct cli_ops ops = { 0 };
	struct cli_ops_dns d;
	struct dns_answer late = { .rcode = DNS_TEMPFAIL };
	const char *t;
	int answers = 0, i;

	(void)state;
	assert_int_equal(cli_metrics_new(0, &ops.metrics), 0);
	assert_int_equal(cli_ops_dns_init(&d, &ops, &dns, 2), 0);
	assert_ptr_not_equal(dns.ctx, &f);
	for (i = 0; i < 3; i++)
		assert_int_equal(dns.txt(dns.ctx, SPAN_LIT("ok.example"),
		                     count_answer, &answers),
		    0);
	assert_int_equal(
	    dns.txt(dns.ctx, SPAN_LIT("gone.example"), count_answer, &answers),
	    0);
	assert_int_equal(
	    dns.txt(dns.ctx, SPAN_LIT("bad..name"), count_answer, &answers),
	    DNS_E_BADNAME);
	assert_int_equal(
	    dns.txt(dns.ctx, SPAN_LIT("later.example"), count_answer, &answers),
	    0);
	assert_int_equal(answers, 4);
	f.done(f.cookie, &late); /* the late answer reaches its caller */
	assert_int_equal(answers, 5);
	assert_int_equal(f.calls, 6);
	t = scrape(ops.metrics);
	assert_int_equal(
	    sample(t, "hanko_dns_lookups_total{outcome=\"answer\"}"), 3);
	assert_int_equal(
	    sample(t, "hanko_dns_lookups_total{outcome=\"nxdomain\"}"), 1);
	assert_int_equal(
	    sample(t, "hanko_dns_lookups_total{outcome=\"refused\"}"), 1);
	assert_int_equal(
	    sample(t, "hanko_dns_lookups_total{outcome=\"tempfail\"}"), 1);
	cli_ops_dns_fini(&d);
	cli_ops_stop(&ops);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_cli_metrics_count_signed),
		cmocka_unit_test(t_cli_metrics_count_bounded),
		cmocka_unit_test(t_cli_metrics_count_hostile_label),
		cmocka_unit_test(t_cli_metrics_result_dns_latency),
		cmocka_unit_test(t_cli_metrics_count_threads),
		cmocka_unit_test(t_cli_metrics_serve_loopback),
		cmocka_unit_test(t_cli_log_msg_escapes),
		cmocka_unit_test(t_cli_ops_auth_logs_and_counts),
		cmocka_unit_test(t_cli_ops_dns_counts_outcomes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
