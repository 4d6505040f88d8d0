#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cli_alloc.h"
#include "core/dkim_key.h"
#include "core/scan.h"
#include "core/span.h"

void
cli_err(const char *fmt, ...)
{
	va_list ap;

	fputs("hanko: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void
cli_warn(const char *fmt, ...)
{
	va_list ap;

	fputs("hanko: warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

bool
cli_parse_u64(const char *s, uint64_t *out)
{
	return span_to_u64(span_cstr(s), out);
}

int
cli_env_init(struct cli_env *e)
{
	const char *simd = getenv("HANKO_SIMD");
	int isa = SCAN_AUTO;

	memset(e, 0, sizeof(*e));
	hanko_limits_default(&e->limits);
	if (simd != NULL && (isa = scan_isa_parse(simd)) < 0) {
		cli_err(
		    "HANKO_SIMD=%s: use ref, swar, sse2, avx2 or auto", simd);
		return CLI_EX_USAGE;
	}
	e->core.scan = scan_select((enum scan_isa)isa);
	if (e->core.scan == NULL) {
		cli_err(
		    "HANKO_SIMD=%s: this CPU lacks that instruction set", simd);
		return CLI_EX_USAGE;
	}
	e->core.alloc = cli_alloc();
	e->core.limits = &e->limits;
	e->core.dns = NULL;
	return 0;
}

int
cli_read_fd(int fd, size_t max, uint8_t **out, size_t *len)
{
	size_t cap = 64 << 10, n = 0;
	uint8_t *b = malloc(cap), *nb;
	ssize_t r;

	if (b == NULL)
		return -ENOMEM;
	for (;;) {
		if (n == cap) {
			if (cap > max) {
				free(b);
				return -EFBIG;
			}
			if ((nb = realloc(b, cap * 2)) == NULL) {
				free(b);
				return -ENOMEM;
			}
			b = nb;
			cap *= 2;
		}
		r = read(fd, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			r = -errno;
			free(b);
			return (int)r;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > max) {
		free(b);
		return -EFBIG;
	}
	*out = b;
	*len = n;
	return 0;
}

int
cli_read_file(const char *path, size_t max, uint8_t **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;

	if (fd < 0)
		return -errno;
	r = cli_read_fd(fd, max, out, len);
	close(fd);
	return r;
}

int
cli_read_regular(const char *path, size_t max, uint8_t **out, size_t *len)
{
	int fd, r;
	struct stat st;

	fd = open(
	    path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return errno == ELOOP ? -EINVAL : -errno;
	if (fstat(fd, &st) != 0)
		r = -errno;
	else if (!S_ISREG(st.st_mode))
		r = -EINVAL;
	else
		r = cli_read_fd(fd, max, out, len);
	close(fd);
	return r;
}

int
cli_write_all(int fd, const void *p, size_t len)
{
	const uint8_t *c = p;
	ssize_t r;

	while (len > 0) {
		if ((r = write(fd, c, len)) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		c += r;
		len -= (size_t)r;
	}
	return 0;
}

/*
 * The file must be a regular file: a FIFO or a device at a key path would
 * block the reader or feed it endless bytes. Symbolic links are followed
 * (operators link one key under several names, or into a secrets mount);
 * the checks apply to the file the link leads to.
 */
static int
key_perm_check(
    int fd, const char *path, bool allow_unsafe, char *err, size_t errlen)
{
	struct stat st;

	if (fstat(fd, &st) != 0) {
		snprintf(err, errlen, "key %s: %s", path, strerror(errno));
		return CLI_EX_NOINPUT;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "key %s is not a regular file", path);
		return CLI_EX_NOINPUT;
	}
	if ((st.st_mode & 0066) != 0 && !allow_unsafe) {
		snprintf(err, errlen,
		    "key %s refused: accessible by group or others (mode "
		    "%04o); chmod 600 it or pass --allow-unsafe-key-perms",
		    path, (unsigned)(st.st_mode & 07777));
		return CLI_EX_NOPERM;
	}
	return 0;
}

/*
 * O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
 * writer, and a file under a lease would wait for the lease to break.
 * Neither ever happens to a key, so not waiting costs nothing.
 */
int
cli_key_load(const char *path, bool allow_unsafe, struct dkim_privkey *out,
    char *err, size_t errlen)
{
	char kerr[160];
	uint8_t *data = NULL;
	size_t len = 0;
	int fd, r;
	dkim_res dr;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open key %s: %s", path,
		    strerror(errno));
		return CLI_EX_NOINPUT;
	}
	if ((r = key_perm_check(fd, path, allow_unsafe, err, errlen)) == 0 &&
	    (r = cli_read_fd(fd, 1 << 20, &data, &len)) != 0) {
		snprintf(err, errlen, "cannot read key %s: %s", path,
		    r == -EFBIG ? "larger than 1 MiB" : strerror(-r));
		r = CLI_EX_NOINPUT;
	}
	close(fd);
	if (r != 0)
		return r;
	dr = dkim_privkey_load(span_make(data, len), out, kerr, sizeof(kerr));
	OPENSSL_cleanse(data, len);
	free(data);
	if (dr != DKIM_OK) {
		snprintf(err, errlen, "key %s: %s", path, kerr);
		return CLI_EX_CONFIG;
	}
	if (out->type == DKIM_KEY_RSA && out->bits < 2048)
		cli_warn("%s: RSA key of %u bits; use 2048 or more", path,
		    out->bits);
	return 0;
}
