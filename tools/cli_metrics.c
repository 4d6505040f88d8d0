/*
 * Prometheus metrics (cli_metrics.h). Counters are atomics in series that
 * never move once created, so workers count without a lock; a lock is
 * taken only to find or create a label set, and by a scrape.
 */
#include "cli_metrics.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "cli.h"

#define DEFAULT_DOMAINS 100
#define LABEL_MAX       253         /* a domain name's longest spelling */
#define SELECTORS_PER   ((size_t)8) /* series per domain before "_other" */
#define NACTIONS        ((size_t)4)
#define NMETHODS        3
#define OTHER           "_other"

/*
 * libmicrohttpd is opened when --metrics asks for its server, not linked:
 * linked, it and GnuTLS under it cost every hanko process 2.8 M
 * instructions at start-up (a one-message filter sign: 16.1 M against
 * 13.4 M, callgrind), for a server only the long-running modes start.
 * Its SONAME, as Debian's libmicrohttpd12 ships it.
 */
#define MHD_SONAME "libmicrohttpd.so.12"

/* The functions used, typed from <microhttpd.h> itself. */
struct mhd_api {
	void *dl;
	__typeof__(MHD_start_daemon) *start_daemon;
	__typeof__(MHD_stop_daemon) *stop_daemon;
	__typeof__(MHD_get_daemon_info) *get_daemon_info;
	__typeof__(MHD_is_feature_supported) *is_feature_supported;
	__typeof__(MHD_create_response_from_buffer) *create_response;
	__typeof__(MHD_add_response_header) *add_response_header;
	__typeof__(MHD_queue_response) *queue_response;
	__typeof__(MHD_destroy_response) *destroy_response;
};

static const char *const action_names[NACTIONS] = {
	[CLI_M_SIGNED] = "signed",
	[CLI_M_FAILED] = "failed",
	[CLI_M_DELIVERED] = "delivered",
	[CLI_M_DEFERRED] = "deferred",
};
static const char *const action_help[NACTIONS] = {
	[CLI_M_SIGNED] = "Messages signed and handed off, by signature.",
	[CLI_M_FAILED] = "Messages that could not be signed or delivered.",
	[CLI_M_DELIVERED] = "Messages the MTA accepted, by signature.",
	[CLI_M_DEFERRED] = "Deliveries the MTA deferred (4xx), for a retry.",
};
static const char *const method_names[NMETHODS] = {
	[CLI_M_SPF] = "spf",
	[CLI_M_DKIM] = "dkim",
	[CLI_M_DMARC] = "dmarc",
};
/* RFC 8601 result words, then "other". */
static const char *const results[] = { "pass", "fail", "softfail", "neutral",
	"none", "policy", "temperror", "permerror", "other" };
#define NRESULTS (sizeof(results) / sizeof(results[0]))
static const char *const dns_outcomes[] = { "answer", "nxdomain", "nodata",
	"tempfail", "permfail", "refused", "other" };
#define NDNS (sizeof(dns_outcomes) / sizeof(dns_outcomes[0]))
/* Latency bucket bounds, seconds. */
static const double bounds[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
	0.25, 0.5, 1, 2.5, 5, 10 };
#define NBOUNDS (sizeof(bounds) / sizeof(bounds[0]))

/* One label set of one action; never moves once created. */
struct series {
	uint64_t hash; /* of the labels, to skip most comparisons */
	unsigned action;
	char domain[LABEL_MAX + 1];
	char selector[LABEL_MAX + 1];
	char algorithm[32];
	atomic_uint_fast64_t n;
};

/* Process lifetime. */
struct cli_metrics {
	pthread_mutex_t lock; /* guards nseries, ndomains and creation */
	struct series *series;
	size_t nseries, cap; /* cap: every bounded set plus the "_other"s */
	size_t ndomains, max_domains;
	atomic_uint_fast64_t results[NMETHODS][NRESULTS];
	atomic_uint_fast64_t dns[NDNS];
	atomic_uint_fast64_t bucket[NBOUNDS + 1]; /* last: above all bounds */
	atomic_uint_fast64_t lat_ns;              /* sum, nanoseconds */
	atomic_uint_fast64_t backlog;
	_Atomic double oldest_mtime;
	struct MHD_Daemon *httpd;
	struct mhd_api mhd;
	unsigned port;
	double start; /* Unix seconds at creation */
};

int
cli_metrics_new(size_t max_domains, struct cli_metrics **out)
{
	struct cli_metrics *m = calloc(1, sizeof(*m));
	struct timespec ts;

	if (m == NULL)
		return -ENOMEM;
	m->max_domains = max_domains > 0 ? max_domains : DEFAULT_DOMAINS;
	m->cap = m->max_domains * SELECTORS_PER * NACTIONS +
	    SELECTORS_PER * NACTIONS;
	if ((m->series = calloc(m->cap, sizeof(*m->series))) == NULL) {
		free(m);
		return -ENOMEM;
	}
	pthread_mutex_init(&m->lock, NULL);
	atomic_init(&m->oldest_mtime, 0.0);
	clock_gettime(CLOCK_REALTIME, &ts);
	m->start = (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
	*out = m;
	return 0;
}

void
cli_metrics_free(struct cli_metrics *m)
{
	if (m == NULL)
		return;
	if (m->httpd != NULL)
		m->mhd.stop_daemon(m->httpd);
	if (m->mhd.dl != NULL)
		dlclose(m->mhd.dl);
	pthread_mutex_destroy(&m->lock);
	free(m->series);
	free(m);
}

/* A label value: printable ASCII, lower case, '?' for anything else. */
static void
label(char *out, size_t cap, span s)
{
	size_t i, n = s.len < cap - 1 ? s.len : cap - 1;

	for (i = 0; i < n; i++) {
		uint8_t c = s.p[i];

		if (c >= 'A' && c <= 'Z')
			c = (uint8_t)(c + ('a' - 'A'));
		if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\\')
			c = '?';
		out[i] = (char)c;
	}
	out[n] = '\0';
}

static bool
domain_known(const struct cli_metrics *m, const char *d)
{
	size_t i;

	for (i = 0; i < m->nseries; i++)
		if (strcmp(m->series[i].domain, d) == 0)
			return true;
	return false;
}

static size_t
domain_series(const struct cli_metrics *m, const char *d)
{
	size_t i, n = 0;

	for (i = 0; i < m->nseries; i++)
		n += strcmp(m->series[i].domain, d) == 0;
	return n;
}

/* FNV-1a over the action and the labels, each ended by its NUL. */
static uint64_t
labels_hash(unsigned a, const char *d, const char *s, const char *alg)
{
	const char *parts[3] = { d, s, alg };
	uint64_t h = 14695981039346656037ULL ^ a;
	size_t i;

	for (i = 0; i < 3; i++) {
		const char *p = parts[i];

		do {
			h = (h ^ (uint8_t)*p) * 1099511628211ULL;
		} while (*p++ != '\0');
	}
	return h;
}

static struct series *
find(struct cli_metrics *m, unsigned a, const char *d, const char *s,
    const char *alg)
{
	uint64_t h = labels_hash(a, d, s, alg);
	size_t i;

	for (i = 0; i < m->nseries; i++) {
		struct series *x = &m->series[i];

		if (x->hash == h && x->action == a &&
		    strcmp(x->domain, d) == 0 && strcmp(x->selector, s) == 0 &&
		    strcmp(x->algorithm, alg) == 0)
			return x;
	}
	return NULL;
}

/*
 * The series for these labels, created if the bounds allow, else the
 * domain's (or everyone's) "_other". Called with the lock held. The
 * label sets are few (bounded), so a scan is cheap next to signing.
 */
static struct series *
series_for(struct cli_metrics *m, unsigned a, char *d, char *s, const char *alg)
{
	struct series *x;

	if ((x = find(m, a, d, s, alg)) != NULL)
		return x;
	if (!domain_known(m, d)) {
		if (m->ndomains >= m->max_domains) {
			snprintf(d, LABEL_MAX + 1, "%s", OTHER);
			if (s[0] != '\0')
				snprintf(s, LABEL_MAX + 1, "%s", OTHER);
		} else {
			m->ndomains++;
		}
	} else if (strcmp(d, OTHER) != 0 &&
	    domain_series(m, d) >= SELECTORS_PER * NACTIONS && s[0] != '\0') {
		snprintf(s, LABEL_MAX + 1, "%s", OTHER);
	}
	if ((x = find(m, a, d, s, alg)) != NULL || m->nseries == m->cap)
		return x;
	x = &m->series[m->nseries];
	x->hash = labels_hash(a, d, s, alg);
	x->action = a;
	memcpy(x->domain, d, strlen(d) + 1);
	memcpy(x->selector, s, strlen(s) + 1);
	snprintf(x->algorithm, sizeof(x->algorithm), "%s", alg);
	atomic_init(&x->n, 0);
	m->nseries++;
	return x;
}

void
cli_metrics_count(struct cli_metrics *m, enum cli_metrics_action a, span domain,
    span selector, const char *algorithm)
{
	char d[LABEL_MAX + 1], s[LABEL_MAX + 1], alg[32];
	struct series *x;

	if (m == NULL || (unsigned)a >= NACTIONS)
		return;
	label(d, sizeof(d), domain.len > 0 ? domain : SPAN_LIT("_unknown"));
	label(s, sizeof(s), selector);
	label(alg, sizeof(alg), span_cstr(algorithm != NULL ? algorithm : ""));
	pthread_mutex_lock(&m->lock);
	x = series_for(m, (unsigned)a, d, s, alg);
	pthread_mutex_unlock(&m->lock);
	if (x != NULL)
		atomic_fetch_add(&x->n, 1);
}

static size_t
word_index(const char *const *words, size_t n, const char *w)
{
	size_t i;

	for (i = 0; w != NULL && i < n - 1; i++)
		if (strcmp(words[i], w) == 0)
			return i;
	return n - 1;
}

void
cli_metrics_result(
    struct cli_metrics *m, enum cli_metrics_method method, const char *result)
{
	if (m == NULL || (unsigned)method >= NMETHODS)
		return;
	atomic_fetch_add(
	    &m->results[method][word_index(results, NRESULTS, result)], 1);
}

void
cli_metrics_dns(struct cli_metrics *m, const char *outcome)
{
	if (m != NULL)
		atomic_fetch_add(
		    &m->dns[word_index(dns_outcomes, NDNS, outcome)], 1);
}

void
cli_metrics_latency(struct cli_metrics *m, double seconds)
{
	size_t i;

	if (m == NULL)
		return;
	if (!(seconds >= 0))
		seconds = 0; /* NaN or a clock step */
	for (i = 0; i < NBOUNDS && seconds > bounds[i]; i++)
		continue;
	atomic_fetch_add(&m->bucket[i], 1);
	atomic_fetch_add(
	    &m->lat_ns, seconds < 1e9 ? (uint_fast64_t)(seconds * 1e9) : 0);
}

void
cli_metrics_backlog(struct cli_metrics *m, uint64_t n, double oldest_mtime)
{
	if (m == NULL)
		return;
	atomic_store(&m->backlog, n);
	atomic_store(&m->oldest_mtime, n > 0 ? oldest_mtime : 0.0);
}

static bool add_f(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static bool
add_f(struct buf *b, const char *fmt, ...)
{
	char tmp[LABEL_MAX * 2 + 256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	return n >= 0 && (size_t)n < sizeof(tmp) && buf_add(b, tmp, (size_t)n);
}

static bool
head(struct buf *b, const char *name, const char *type, const char *help)
{
	return add_f(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/*
 * Label values hold printable ASCII without '"' and '\' (label()), so
 * they need no escaping in the exposition.
 */
static bool
series_line(struct buf *b, const char *name, const struct series *x)
{
	bool ok = add_f(b, "%s{domain=\"%s\"", name, x->domain);

	if (ok && x->selector[0] != '\0')
		ok = add_f(b, ",selector=\"%s\"", x->selector);
	if (ok && x->algorithm[0] != '\0')
		ok = add_f(b, ",algorithm=\"%s\"", x->algorithm);
	return ok &&
	    add_f(b, "} %llu\n", (unsigned long long)atomic_load(&x->n));
}

static bool
write_actions(struct cli_metrics *m, struct buf *b)
{
	char name[64];
	size_t i;
	unsigned a;
	bool ok = true;

	for (a = 0; ok && a < NACTIONS; a++) {
		snprintf(name, sizeof(name), "hanko_messages_%s_total",
		    action_names[a]);
		ok = head(b, name, "counter", action_help[a]);
		pthread_mutex_lock(&m->lock);
		for (i = 0; ok && i < m->nseries; i++)
			if (m->series[i].action == a)
				ok = series_line(b, name, &m->series[i]);
		pthread_mutex_unlock(&m->lock);
	}
	return ok;
}

static bool
write_results(struct cli_metrics *m, struct buf *b)
{
	bool ok = head(b, "hanko_auth_results_total", "counter",
	    "Authentication results by method and result.");
	size_t i, k;

	for (i = 0; ok && i < NMETHODS; i++)
		for (k = 0; ok && k < NRESULTS; k++)
			ok = add_f(b,
			    "hanko_auth_results_total{method=\"%s\","
			    "result=\"%s\"} %llu\n",
			    method_names[i], results[k],
			    (unsigned long long)atomic_load(&m->results[i][k]));
	ok = ok &&
	    head(b, "hanko_dns_lookups_total", "counter",
	        "DNS lookups by outcome.");
	for (i = 0; ok && i < NDNS; i++)
		ok = add_f(b, "hanko_dns_lookups_total{outcome=\"%s\"} %llu\n",
		    dns_outcomes[i],
		    (unsigned long long)atomic_load(&m->dns[i]));
	return ok;
}

static bool
write_latency(struct cli_metrics *m, struct buf *b)
{
	const char *name = "hanko_message_duration_seconds";
	bool ok = head(b, name, "histogram",
	    "Seconds from taking a message to its outcome.");
	uint64_t cum = 0;
	size_t i;

	for (i = 0; ok && i <= NBOUNDS; i++) {
		cum += atomic_load(&m->bucket[i]);
		if (i < NBOUNDS)
			ok = add_f(b, "%s_bucket{le=\"%g\"} %llu\n", name,
			    bounds[i], (unsigned long long)cum);
		else
			ok = add_f(b, "%s_bucket{le=\"+Inf\"} %llu\n", name,
			    (unsigned long long)cum);
	}
	return ok &&
	    add_f(b, "%s_sum %.9f\n%s_count %llu\n", name,
	        (double)atomic_load(&m->lat_ns) * 1e-9, name,
	        (unsigned long long)cum);
}

static bool
write_gauges(struct cli_metrics *m, struct buf *b)
{
	double oldest = atomic_load(&m->oldest_mtime), age = 0;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (oldest > 0)
		age = (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9 - oldest;
	return head(b, "hanko_spool_backlog_messages", "gauge",
	           "Messages waiting in the spool.") &&
	    add_f(b, "hanko_spool_backlog_messages %llu\n",
	        (unsigned long long)atomic_load(&m->backlog)) &&
	    head(b, "hanko_spool_oldest_message_age_seconds", "gauge",
	        "Age of the oldest message waiting in the spool.") &&
	    add_f(b, "hanko_spool_oldest_message_age_seconds %.3f\n",
	        age > 0 ? age : 0) &&
	    head(b, "hanko_start_time_seconds", "gauge",
	        "Unix time the process started.") &&
	    add_f(b, "hanko_start_time_seconds %.3f\n", m->start);
}

bool
cli_metrics_write(struct cli_metrics *m, struct buf *b)
{
	return write_actions(m, b) && write_results(m, b) &&
	    write_latency(m, b) && write_gauges(m, b);
}

/*
 * libmicrohttpd's handler: GET or HEAD of /metrics; nothing else, and
 * no request body is read.
 */
static enum MHD_Result
on_request(void *cls, struct MHD_Connection *con, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_len, void **con_cls)
{
	struct cli_metrics *m = cls;
	struct MHD_Response *resp;
	unsigned status = MHD_HTTP_OK;
	struct buf b;
	size_t cap = 16384 + m->cap * 64;
	uint8_t *p = NULL;
	enum MHD_Result r;

	(void)version;
	(void)upload;
	(void)con_cls;
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
		status = MHD_HTTP_METHOD_NOT_ALLOWED;
		*upload_len = 0;
	} else if (strcmp(url, "/metrics") != 0) {
		status = MHD_HTTP_NOT_FOUND;
	} else {
		for (;;) {
			if ((p = malloc(cap)) == NULL)
				return MHD_NO;
			buf_init_fixed(&b, p, cap);
			if (cli_metrics_write(m, &b))
				break;
			free(p);
			cap *= 2;
		}
	}
	resp = p != NULL
	    ? m->mhd.create_response(b.len, p, MHD_RESPMEM_MUST_FREE)
	    : m->mhd.create_response(0, NULL, MHD_RESPMEM_PERSISTENT);
	if (resp == NULL) {
		free(p);
		return MHD_NO;
	}
	if (p != NULL)
		m->mhd.add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
		    "text/plain; version=0.0.4; charset=utf-8");
	r = m->mhd.queue_response(con, status, resp);
	m->mhd.destroy_response(resp);
	return r;
}

/* ADDR:PORT, [ADDR6]:PORT or PORT (loopback) into sa. */
static bool
parse_addr(const char *s, struct sockaddr_storage *sa, socklen_t *len)
{
	struct sockaddr_in *v4 = (struct sockaddr_in *)sa;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)sa;
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon = strrchr(s, ':');
	uint64_t port;
	size_t hl;

	memset(sa, 0, sizeof(*sa));
	if (!cli_parse_u64(colon != NULL ? colon + 1 : s, &port) ||
	    port > 65535)
		return false;
	hl = colon != NULL ? (size_t)(colon - s) : 0;
	if (hl >= sizeof(host))
		return false;
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (hl == 0)
		snprintf(host, sizeof(host), "127.0.0.1");
	if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
		host[hl - 1] = '\0';
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*v6);
		return inet_pton(AF_INET6, host + 1, &v6->sin6_addr) == 1;
	}
	v4->sin_family = AF_INET;
	v4->sin_port = htons((uint16_t)port);
	*len = sizeof(*v4);
	return inet_pton(AF_INET, host, &v4->sin_addr) == 1;
}

/* One symbol into *fn (a function pointer of any type); false if absent. */
static bool
mhd_sym(void *dl, const char *name, void *fn, size_t fnlen)
{
	void *p = dlsym(dl, name);

	if (p == NULL || fnlen != sizeof(p))
		return false;
	memcpy(fn, &p, sizeof(p)); /* ISO C has no object-to-function cast */
	return true;
}

#define MHD_SYM(api, field, name) \
	mhd_sym((api)->dl, name, &(api)->field, sizeof((api)->field))

static int
mhd_open(struct mhd_api *api, char *err, size_t errlen)
{
	const char *e;

	if (api->dl != NULL)
		return 0;
	if ((api->dl = dlopen(MHD_SONAME, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		e = dlerror();
		snprintf(err, errlen, "--metrics needs %s (Debian: "
		    "libmicrohttpd12): %s", MHD_SONAME, e != NULL ? e : "?");
		return -1;
	}
	if (!MHD_SYM(api, start_daemon, "MHD_start_daemon") ||
	    !MHD_SYM(api, stop_daemon, "MHD_stop_daemon") ||
	    !MHD_SYM(api, get_daemon_info, "MHD_get_daemon_info") ||
	    !MHD_SYM(api, is_feature_supported, "MHD_is_feature_supported") ||
	    !MHD_SYM(api, create_response,
	        "MHD_create_response_from_buffer") ||
	    !MHD_SYM(api, add_response_header, "MHD_add_response_header") ||
	    !MHD_SYM(api, queue_response, "MHD_queue_response") ||
	    !MHD_SYM(api, destroy_response, "MHD_destroy_response")) {
		snprintf(err, errlen, "--metrics: %s lacks a function hanko "
		    "uses", MHD_SONAME);
		dlclose(api->dl);
		memset(api, 0, sizeof(*api));
		return -1;
	}
	return 0;
}

int
cli_metrics_serve(
    struct cli_metrics *m, const char *addr, char *err, size_t errlen)
{
	struct sockaddr_storage sa;
	const union MHD_DaemonInfo *info;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
	socklen_t len;

	if (!parse_addr(addr, &sa, &len)) {
		snprintf(err, errlen,
		    "--metrics %s: give ADDR:PORT, [ADDR6]:PORT or PORT", addr);
		return CLI_EX_USAGE;
	}
	if (sa.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/* A scraper that hangs up mid-reply must not end the process. */
	if (mhd_open(&m->mhd, err, errlen) != 0)
		return CLI_EX_OSERR;
	if (m->mhd.is_feature_supported(MHD_FEATURE_AUTOSUPPRESS_SIGPIPE) !=
	    MHD_YES)
		signal(SIGPIPE, SIG_IGN);
	m->httpd = m->mhd.start_daemon(flags, 0, NULL, NULL, on_request, m,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)16,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16384, MHD_OPTION_END);
	if (m->httpd == NULL) {
		snprintf(
		    err, errlen, "--metrics %s: cannot listen there", addr);
		return CLI_EX_OSERR;
	}
	info = m->mhd.get_daemon_info(m->httpd, MHD_DAEMON_INFO_BIND_PORT);
	m->port = info != NULL ? info->port : 0;
	return 0;
}

unsigned
cli_metrics_port(const struct cli_metrics *m)
{
	return m != NULL ? m->port : 0;
}
