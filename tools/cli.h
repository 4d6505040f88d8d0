/*
 * NAME
 *	cli.h - what the hanko subcommands share
 * DESCRIPTION
 *	Exit codes (sysexits, as an MTA reads them), the process-wide core
 *	environment, whole-file reading with a size cap, and the private key
 *	loader that refuses unsafe file permissions. Only tools/ prints or
 *	exits.
 */
#ifndef HANKO_TOOLS_CLI_H
#define HANKO_TOOLS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/dns.h"
#include "core/env.h"

#define CLI_EX_OK        0
#define CLI_EX_SOMEFAIL  1 /* done, but some messages failed */
#define CLI_EX_USAGE     64
#define CLI_EX_DATAERR   65
#define CLI_EX_NOINPUT   66
#define CLI_EX_SOFTWARE  70
#define CLI_EX_OSERR     71
#define CLI_EX_CANTCREAT 73
#define CLI_EX_IOERR     74
#define CLI_EX_TEMPFAIL  75
#define CLI_EX_NOPERM    77
#define CLI_EX_CONFIG    78

struct dkim_privkey;

/* Process lifetime: built once in main, read-only afterwards. */
struct cli_env {
	struct core_env core;
	struct hanko_limits limits;
	struct dns_ops dns;
};

/* Fill e: allocator, scanner (HANKO_SIMD may force one), limits. */
int cli_env_init(struct cli_env *e);

/*
 * Read all of fd (stdin) or path into a malloc'd buffer, at most max
 * bytes; -EFBIG when larger, -errno otherwise.
 */
int cli_read_fd(int fd, size_t max, uint8_t **out, size_t *len);
int cli_read_file(const char *path, size_t max, uint8_t **out, size_t *len);
/*
 * Like cli_read_file() for a file named by what others write (a sidecar
 * beside a spool message): opened without blocking and without following
 * a symbolic link, and refused (-EINVAL) unless it is a regular file, so a
 * FIFO or device planted at the name cannot hang or feed the reader.
 */
int cli_read_regular(const char *path, size_t max, uint8_t **out, size_t *len);
/* Write all of p to fd; -errno on failure. */
int cli_write_all(int fd, const void *p, size_t len);

/*
 * Load a private key file: a regular file (a symbolic link to one is
 * followed), opened without blocking. Unless allow_unsafe, a key readable
 * or writable by group or others is refused (CLI_EX_NOPERM). Warns on
 * stderr for RSA under 2048 bits. The file buffer is wiped after use.
 * Returns 0, or an exit code with the reason in err: the path and the
 * cause, never a byte of the file.
 */
int cli_key_load(const char *path, bool allow_unsafe, struct dkim_privkey *out,
    char *err, size_t errlen);

/* "hanko: " + message on stderr. */
void cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Parse a non-negative decimal; false on junk. */
bool cli_parse_u64(const char *s, uint64_t *out);

int cli_sign_main(struct cli_env *e, int argc, char **argv);
int cli_verify_main(struct cli_env *e, int argc, char **argv);
int cli_keygen_main(struct cli_env *e, int argc, char **argv);
int cli_spf_main(struct cli_env *e, int argc, char **argv);
int cli_dmarc_main(struct cli_env *e, int argc, char **argv);
int cli_report_main(struct cli_env *e, int argc, char **argv);
/* Exec hanko-report with argv (argv[0] "report"); returns only on error. */
int cli_report_exec(char **argv);
int cli_milter_main(struct cli_env *e, int argc, char **argv);

#endif
