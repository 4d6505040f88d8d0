/*
 * hanko milter: options, --config, keys, socket, privileges, and
 * libmilter's loop (cli_milter.h; one connection is cli_milter_msg.c).
 *
 * Start-up order: options (the --config file first, then the command
 * line, so a flag overrides the file), keys loaded, DNS zone loaded,
 * socket bound, pid file written, privileges dropped (--user), then
 * libmilter's threads start. A key or socket that needs root is opened
 * before the drop; nothing after it does.
 */
#include "cli_milter.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <libpsl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "cli_envelope.h"
#include "cli_keymap.h"
#include "cli_verify.h"

static const char milter_usage[] =
    "usage: hanko milter --socket inet:PORT@ADDR|unix:PATH [KEYS] [DNS] "
    "[OPTIONS]\n"
    "Signs mail from --internal-hosts or authenticated clients (when KEYS\n"
    "are given) and verifies the rest: SPF, DKIM, DMARC, one\n"
    "Authentication-Results field after removing those claiming our id.\n"
    "  --socket SPEC            inet:PORT@ADDR or unix:PATH (libmilter)\n"
    "  --config FILE            read long options from FILE, one "
    "\"option value\"\n"
    "                           a line, '#' comments (flags override it)\n"
    "  --user USER              drop to USER after binding and loading "
    "keys\n"
    "  --pidfile FILE           write the process id to FILE\n"
    "  --internal-hosts LIST    CIDR,... whose mail is signed (default\n"
    "                           127.0.0.0/8,::1/128)\n"
    "  --authserv-id NAME       authserv-id (default: host name)\n"
    "  --dmarc-reject           550 5.7.1 for a DMARC failure under "
    "p=reject,\n"
    "                           451 4.7.5 for a DNS temperror (default: "
    "annotate)\n"
    "  --dmarc-quarantine hold|header   p=quarantine failures: hold in "
    "the\n"
    "                           MTA's queue, or add X-Hanko-Quarantine\n"
    "  --history FILE           append one JSON line per verified message\n"
    "  --rfc7489                RFC 7489 rules (public suffix list)\n"
    "  --psl FILE               public suffix list for --rfc7489\n"
    "  --max-size BYTES         largest message handled (default 16 MiB;\n"
    "                           the body is hashed as it comes, not kept)\n"
    "  --max-header BYTES       largest header section (default 256 KiB)\n"
    "  --max-connections N      connections at once (default 256)\n"
    "  --max-signatures N       signatures verified per message (default "
    "10)\n"
    "KEYS (as hanko sign): -d DOMAIN -s SELECTOR -k FILE, or --key-table "
    "FILE\n"
    "  --signing-table SPEC [--multiple-signatures]; -c H/B, --headers "
    "LIST,\n"
    "  --oversign LIST, --no-oversign, -x SECONDS, "
    "--allow-unsafe-key-perms\n" CLI_DNS_USAGE;

enum {
	MOPT_SOCKET = 0x1200,
	MOPT_CONFIG,
	MOPT_USER,
	MOPT_PIDFILE,
	MOPT_INTERNAL,
	MOPT_AUTHSERV,
	MOPT_REJECT,
	MOPT_QUARANTINE,
	MOPT_HISTORY,
	MOPT_RFC7489,
	MOPT_PSL,
	MOPT_MAXSIZE,
	MOPT_MAXHEADER,
	MOPT_MAXCONNS,
	MOPT_MAXSIGS,
};

static const struct option milter_longopts[] = {
	{ "socket", required_argument, NULL, MOPT_SOCKET },
	{ "config", required_argument, NULL, MOPT_CONFIG },
	{ "user", required_argument, NULL, MOPT_USER },
	{ "pidfile", required_argument, NULL, MOPT_PIDFILE },
	{ "internal-hosts", required_argument, NULL, MOPT_INTERNAL },
	{ "authserv-id", required_argument, NULL, MOPT_AUTHSERV },
	{ "dmarc-reject", no_argument, NULL, MOPT_REJECT },
	{ "dmarc-quarantine", required_argument, NULL, MOPT_QUARANTINE },
	{ "history", required_argument, NULL, MOPT_HISTORY },
	{ "rfc7489", no_argument, NULL, MOPT_RFC7489 },
	{ "psl", required_argument, NULL, MOPT_PSL },
	{ "max-size", required_argument, NULL, MOPT_MAXSIZE },
	{ "max-header", required_argument, NULL, MOPT_MAXHEADER },
	{ "max-connections", required_argument, NULL, MOPT_MAXCONNS },
	{ "max-signatures", required_argument, NULL, MOPT_MAXSIGS },
	CLI_SIGN_KEY_LONGOPTS,
	CLI_DNS_LONGOPTS,
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

#define MILTER_SHORTOPTS "d:s:k:c:x:h"
#define CONFIG_MAX       (64 << 10)
#define CONFIG_ARGS      512

bool
cli_milter_is_internal(const struct milter_conf *c, const char *text)
{
	struct spf_ip ip;
	size_t i;

	if (!spf_ip_parse(span_cstr(text), &ip))
		return false;
	for (i = 0; i < c->nnets; i++) {
		const struct milter_net *n = &c->nets[i];
		unsigned bits = n->prefix, k;

		if (n->ip.len != ip.len)
			continue;
		for (k = 0; bits >= 8; k++, bits -= 8)
			if (n->ip.b[k] != ip.b[k])
				break;
		if (bits >= 8)
			continue;
		if (bits == 0 ||
		    ((n->ip.b[k] ^ ip.b[k]) & (0xffu << (8 - bits)) & 0xffu) ==
		        0)
			return true;
	}
	return false;
}

/* "CIDR,CIDR...": replaces the list; false on a bad entry. */
static bool
parse_nets(struct milter_conf *c, const char *list)
{
	char item[80];
	const char *p = list;

	c->nnets = 0;
	while (*p != '\0') {
		size_t len = strcspn(p, ", \t");
		char *slash;
		uint64_t bits;
		struct milter_net *n = &c->nets[c->nnets];

		if (len == 0) {
			p++;
			continue;
		}
		if (len >= sizeof(item) || c->nnets == MILTER_NETS_MAX)
			return false;
		memcpy(item, p, len);
		item[len] = '\0';
		p += len;
		if ((slash = strchr(item, '/')) != NULL)
			*slash = '\0';
		if (!spf_ip_parse(span_cstr(item), &n->ip))
			return false;
		bits = (uint64_t)n->ip.len * 8;
		if (slash != NULL &&
		    (!cli_parse_u64(slash + 1, &bits) ||
		        bits > (uint64_t)n->ip.len * 8))
			return false;
		n->prefix = (unsigned)bits;
		c->nnets++;
	}
	return true;
}

static int
num_opt(const char *name, const char *arg, uint64_t lo, uint64_t *out)
{
	if (cli_parse_u64(arg, out) && *out >= lo)
		return 0;
	cli_err("milter: --%s %s: expected a number of at least %llu", name,
	    arg, (unsigned long long)lo);
	return CLI_EX_USAGE;
}

static int
milter_opt(struct milter_conf *c, int ch, const char *arg)
{
	int r;

	switch (ch) {
	case MOPT_SOCKET:
		c->socket = arg;
		return 0;
	case MOPT_CONFIG:
		return 0; /* read before the command line */
	case MOPT_USER:
		c->user = arg;
		return 0;
	case MOPT_PIDFILE:
		c->pidfile = arg;
		return 0;
	case MOPT_INTERNAL:
		if (parse_nets(c, arg))
			return 0;
		cli_err("milter: --internal-hosts %s: expected CIDR,...", arg);
		return CLI_EX_USAGE;
	case MOPT_AUTHSERV:
		c->authserv = arg;
		return 0;
	case MOPT_REJECT:
		c->dmarc_reject = true;
		return 0;
	case MOPT_QUARANTINE:
		if (arg != NULL && strcmp(arg, "hold") == 0)
			c->quarantine = MILTER_Q_HOLD;
		else if (arg != NULL && strcmp(arg, "header") == 0)
			c->quarantine = MILTER_Q_HEADER;
		else {
			cli_err("milter: --dmarc-quarantine hold|header");
			return CLI_EX_USAGE;
		}
		return 0;
	case MOPT_HISTORY:
		c->history = arg;
		return 0;
	case MOPT_RFC7489:
		c->rfc7489 = true;
		return 0;
	case MOPT_PSL:
		c->psl_file = arg;
		return 0;
	case MOPT_MAXSIZE:
		return num_opt("max-size", arg, 1024, &c->max_size);
	case MOPT_MAXHEADER:
		return num_opt("max-header", arg, 1024, &c->max_header);
	case MOPT_MAXCONNS:
		return num_opt("max-connections", arg, 1, &c->max_conns);
	case MOPT_MAXSIGS:
		return num_opt("max-signatures", arg, 1, &c->max_sigs);
	default:
		break;
	}
	if ((r = cli_dns_opt(&c->dns, ch, arg)) != 0)
		return r > 0 ? 0 : CLI_EX_USAGE;
	return cli_sign_opt(c->sign, ch, arg);
}

static const struct option *
longopt_named(const char *name)
{
	const struct option *o;

	for (o = milter_longopts; o->name != NULL; o++)
		if (strcmp(o->name, name) == 0)
			return o;
	return NULL;
}

/*
 * One "option value" line of --config, applied as the flag would be.
 * The value points into the file buffer, kept for the process.
 */
static int
config_line(
    struct milter_conf *c, char *line, const char *path, unsigned lineno)
{
	char *name, *val, *end;
	const struct option *o;

	line += strspn(line, " \t\r");
	if (*line == '\0' || *line == '#')
		return 0;
	name = line;
	val = name + strcspn(name, " \t\r");
	if (*val != '\0')
		*val++ = '\0';
	val += strspn(val, " \t");
	end = val + strlen(val);
	while (
	    end > val && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		*--end = '\0';
	if ((o = longopt_named(name)) == NULL || o->val == MOPT_CONFIG ||
	    o->val == 'h') {
		cli_err("milter: %s:%u: unknown option %s", path, lineno, name);
		return CLI_EX_CONFIG;
	}
	if ((o->has_arg == no_argument) != (*val == '\0')) {
		cli_err("milter: %s:%u: %s %s", path, lineno, name,
		    o->has_arg == no_argument ? "takes no value"
		                              : "needs a value");
		return CLI_EX_CONFIG;
	}
	return milter_opt(c, o->val, *val != '\0' ? val : NULL);
}

/* --config FILE: every line applied in order; the buffer is kept. */
static int
config_load(struct milter_conf *c, const char *path, char **keep)
{
	uint8_t *buf;
	size_t len;
	char *line, *nl;
	unsigned lineno = 0;
	int r;

	if ((r = cli_read_regular(path, CONFIG_MAX, &buf, &len)) != 0) {
		cli_err("milter: --config %s: %s", path,
		    r == -EFBIG ? "too large" : strerror(-r));
		return CLI_EX_CONFIG;
	}
	if (memchr(buf, '\0', len) != NULL ||
	    (*keep = realloc(buf, len + 1)) == NULL) {
		free(buf);
		cli_err("milter: --config %s: not a text file", path);
		return CLI_EX_CONFIG;
	}
	(*keep)[len] = '\0';
	for (line = *keep; line != NULL; line = nl) {
		if ((nl = strchr(line, '\n')) != NULL)
			*nl++ = '\0';
		if ((r = config_line(c, line, path, ++lineno)) != 0)
			return r;
	}
	return 0;
}

/* The --config FILE named on the command line, or NULL. */
static const char *
config_arg(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			return argv[i + 1];
		if (strncmp(argv[i], "--config=", 9) == 0)
			return argv[i] + 9;
	}
	return NULL;
}

static int
milter_parse(struct milter_conf *c, int argc, char **argv, char **keep)
{
	const char *cfg = config_arg(argc, argv);
	int ch, r;

	if (cfg != NULL && (r = config_load(c, cfg, keep)) != 0)
		return r;
	optind = 1;
	while ((ch = getopt_long(argc, argv, MILTER_SHORTOPTS, milter_longopts,
	            NULL)) != -1) {
		if (ch == 'h') {
			fputs(milter_usage, stdout);
			return -1;
		}
		if (ch == '?') {
			fputs(milter_usage, stderr);
			return CLI_EX_USAGE;
		}
		if ((r = milter_opt(c, ch, optarg)) != 0)
			return r;
	}
	if (optind != argc) {
		cli_err("milter: unexpected argument %s", argv[optind]);
		return CLI_EX_USAGE;
	}
	if (c->socket == NULL) {
		cli_err("milter: --socket inet:PORT@ADDR or unix:PATH is "
		        "required");
		return CLI_EX_USAGE;
	}
	return 0;
}

/* The KeyTable keys without '%' once, before privileges go. */
static int
milter_keys(struct milter_conf *c)
{
	struct cli_sign_opts *o = c->sign;
	char err[512];
	size_t i;
	int r;

	if ((r = cli_sign_keys_load(o)) != 0)
		return r;
	c->can_sign = o->nconfs > 0 || o->st != NULL;
	if ((c->keys = cli_keymap_new()) == NULL)
		return CLI_EX_SOFTWARE;
	for (i = 0; o->kt != NULL && i < cli_keytable_count(o->kt); i++) {
		const char *path = cli_keytable_entry(o->kt, i)->keypath;

		if (strchr(path, '%') == NULL &&
		    cli_keymap_load(c->keys, path, o->allow_unsafe, err,
		        sizeof(err)) == NULL) {
			cli_err("milter: %s", err);
			return CLI_EX_CONFIG;
		}
	}
	return 0;
}

static int
milter_verify_setup(struct milter_conf *c)
{
	int r;

	if (c->authserv == NULL) {
		if (gethostname(c->host, sizeof(c->host) - 1) != 0)
			snprintf(c->host, sizeof(c->host), "localhost");
		c->authserv = c->host;
	} else {
		snprintf(c->host, sizeof(c->host), "%s", c->authserv);
	}
	if ((r = cli_dns_setup(&c->dns)) != 0)
		return r;
	c->e->limits.max_sigs = (size_t)c->max_sigs;
	c->e->limits.max_msg_bytes = (size_t)c->max_size;
	c->conf.dmarc = true;
	c->conf.mode = c->rfc7489 ? DMARC_RFC7489 : DMARC_RFC9989;
	c->conf.authserv_id = span_cstr(c->authserv);
	c->conf.receiver = span_cstr(c->host);
	c->conf.eol = "\n";
	cli_idna(&c->idna);
	c->conf.idna = &c->idna;
	if (c->rfc7489) {
		c->psl = c->psl_file != NULL ? psl_load_file(c->psl_file)
		                             : psl_latest(NULL);
		if (c->psl == NULL) {
			cli_err("milter: cannot load the public suffix list");
			return CLI_EX_CONFIG;
		}
		c->conf.psl = c->psl;
	}
	if (c->history != NULL &&
	    (c->history_fd = cli_history_open(c->history)) < 0) {
		cli_err("milter: --history %s: %s", c->history,
		    strerror(-c->history_fd));
		return CLI_EX_CANTCREAT;
	}
	return 0;
}

static int
write_pidfile(const char *path)
{
	char line[32];
	int fd, n;

	/* A fresh file: never through a link, never someone else's. */
	(void)unlink(path);
	fd = open(
	    path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	n = snprintf(line, sizeof(line), "%ld\n", (long)getpid());
	if (cli_write_all(fd, line, (size_t)n) != 0) {
		close(fd);
		return -EIO;
	}
	return close(fd) == 0 ? 0 : -errno;
}

static int
drop_privileges(const char *user)
{
	struct passwd *pw = getpwnam(user);

	if (pw == NULL) {
		cli_err("milter: --user %s: no such user", user);
		return CLI_EX_CONFIG;
	}
	if (setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 ||
	    setuid(pw->pw_uid) != 0 || setuid(0) == 0) {
		cli_err("milter: --user %s: cannot switch: %s", user,
		    strerror(errno));
		return CLI_EX_OSERR;
	}
	return 0;
}

/* Bind, write the pid, drop privileges, run until SIGTERM/SIGINT. */
static int
milter_serve(struct milter_conf *c)
{
	int r;

	if (cli_milter_register(c) != 0 ||
	    smfi_setconn((char *)(uintptr_t)c->socket) != MI_SUCCESS) {
		cli_err("milter: --socket %s: not a milter socket", c->socket);
		return CLI_EX_USAGE;
	}
	/* true: a stale unix socket left by a previous run is removed. */
	if (smfi_opensocket(true) != MI_SUCCESS) {
		cli_err("milter: --socket %s: cannot listen", c->socket);
		return CLI_EX_OSERR;
	}
	if (c->pidfile != NULL && (r = write_pidfile(c->pidfile)) != 0) {
		cli_err("milter: --pidfile %s: %s", c->pidfile, strerror(-r));
		return CLI_EX_CANTCREAT;
	}
	if (c->user != NULL && (r = drop_privileges(c->user)) != 0)
		return r;
	fprintf(stderr, "hanko: milter: listening on %s (%s; authserv-id %s)\n",
	    c->socket, c->can_sign ? "signing internal mail" : "verify only",
	    c->authserv);
	r = smfi_main() == MI_SUCCESS ? CLI_EX_OK : CLI_EX_SOFTWARE;
	if (c->pidfile != NULL)
		(void)unlink(c->pidfile);
	return r;
}

/*
 * libmilter's smfi_main() returns without joining its worker threads:
 * the configuration may be freed only once every connection has closed
 * (the close's atomic decrement orders its last use before our load).
 * True when they did within a few seconds.
 */
static bool
connections_drained(const struct milter_conf *c)
{
	int i;

	for (i = 0; i < 50; i++) {
		if (atomic_load(&c->nconns) == 0)
			return true;
		usleep(100000);
	}
	return false;
}

static void
milter_fini(struct milter_conf *c)
{
	size_t i;

	if (c->sign != NULL) {
		for (i = 0; i < c->sign->nconfs; i++)
			dkim_privkey_fini(&c->sign->keys[i]);
		cli_signtable_free(c->sign->st);
		cli_keytable_free(c->sign->kt);
		free(c->sign);
	}
	cli_keymap_free(c->keys);
	psl_free(c->psl);
	if (c->history_fd >= 0)
		close(c->history_fd);
	cli_dns_fini(&c->dns);
}

int
cli_milter_main(struct cli_env *e, int argc, char **argv)
{
	struct milter_conf *c = calloc(1, sizeof(*c));
	char *keep = NULL;
	int r;

	if (c == NULL || (c->sign = calloc(1, sizeof(*c->sign))) == NULL) {
		free(c);
		cli_err("out of memory");
		return CLI_EX_SOFTWARE;
	}
	c->e = e;
	c->history_fd = -1;
	c->max_size = (uint64_t)16 << 20;
	c->max_header = (uint64_t)256 << 10;
	c->max_conns = 256;
	c->max_sigs = e->limits.max_sigs;
	cli_dns_init(&c->dns);
	dkim_sign_conf_default(&c->sign->base);
	(void)parse_nets(c, "127.0.0.0/8,::1/128");
	if ((r = milter_parse(c, argc, argv, &keep)) == 0 &&
	    (r = milter_keys(c)) == 0 && (r = milter_verify_setup(c)) == 0) {
		signal(SIGPIPE, SIG_IGN);
		r = milter_serve(c);
		if (!connections_drained(c)) {
			/* A worker still holds c: the process ends with it. */
			cli_warn("milter: connections still open at exit");
			return r;
		}
	}
	milter_fini(c);
	free(keep);
	free(c);
	return r < 0 ? CLI_EX_OK : r;
}
