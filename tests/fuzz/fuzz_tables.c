/*
 * fuzz_tables: tools/cli_table.c's OpenDKIM KeyTable and SigningTable
 * readers. The input is split at its first NUL or 0xff byte: the part
 * before is the KeyTable, the part after the SigningTable, read as
 * "refile:" when the separator was 0xff and as a plain file otherwise
 * (no separator: the SigningTable is empty). Both go through files
 * (memfds), as the CLI reads them. Then From addresses are matched: fixed
 * ones, and user@D for every KeyTable domain D, with and without
 * multiple signatures. Oracles: no crash or leak; every match names a
 * KeyTable entry, its strings are NUL-terminated inside their arrays,
 * a single match is the first of the multiple ones, and a reason for a
 * skipped line is given only for a From domain that is not a host name.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/hdr.h"
#include "core/span.h"
#include "tests/fuzz/common.h"
#include "tools/cli_table.h"

#define MAXREF 4

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
terminated(const char *s, size_t cap)
{
	return memchr(s, '\0', cap) != NULL;
}

static bool
in_keytable(const struct cli_keytable *kt, const char *name)
{
	size_t i, n = cli_keytable_count(kt);

	for (i = 0; i < n; i++)
		if (cli_keytable_entry(kt, i)->name == name)
			return true;
	return false;
}

static void
match(const struct cli_signtable *st, const struct cli_keytable *kt,
    const char *addr)
{
	static struct cli_key_ref one[1], many[MAXREF];
	const char *at = strrchr(addr, '@');
	char why[160];
	size_t n1, n, i;

	n1 = cli_signtable_match(st, kt, addr, false, one, 1, NULL, 0);
	n = cli_signtable_match(
	    st, kt, addr, true, many, MAXREF, why, sizeof(why));
	FUZZ_CHECK(terminated(why, sizeof(why)));
	FUZZ_CHECK(why[0] == '\0' ||
	    (at != NULL && !hdr_domain_is_host(span_cstr(at + 1))));
	FUZZ_CHECK(n1 <= 1 && n <= MAXREF);
	FUZZ_CHECK((n1 == 0) == (n == 0));
	for (i = 0; i < n; i++) {
		const struct cli_key_ref *r = &many[i];

		FUZZ_CHECK(in_keytable(kt, r->name));
		FUZZ_CHECK(r->selector != NULL);
		FUZZ_CHECK(terminated(r->domain, sizeof(r->domain)));
		FUZZ_CHECK(terminated(r->keypath, sizeof(r->keypath)));
		FUZZ_CHECK(terminated(r->signer, sizeof(r->signer)));
	}
	if (n1 == 1) {
		FUZZ_CHECK(one[0].name == many[0].name);
		FUZZ_CHECK(strcmp(one[0].keypath, many[0].keypath) == 0);
		FUZZ_CHECK(strcmp(one[0].signer, many[0].signer) == 0);
	}
}

static void
match_all(const struct cli_signtable *st, const struct cli_keytable *kt)
{
	static const char *fixed[] = { "user@example.com",
		"User@Sub.Example.COM", "a@b", "x@hanko.example",
		"postmaster@mail.hanko.example", "@example.com", "user@",
		"noat", "a@b@c.example", "", "a@../../etc/x", "a@x/y", "a@.." };
	char addr[1024];
	size_t i, n = cli_keytable_count(kt);

	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		match(st, kt, fixed[i]);
	for (i = 0; i < n && i < 16; i++) {
		const struct cli_key_entry *e = cli_keytable_entry(kt, i);

		FUZZ_CHECK(e != NULL && e->name != NULL && e->domain != NULL);
		FUZZ_CHECK(e->selector != NULL && e->keypath != NULL);
		snprintf(addr, sizeof(addr), "user@%s", e->domain);
		match(st, kt, addr);
		snprintf(addr, sizeof(addr), "%s@%s", e->name, e->selector);
		match(st, kt, addr);
	}
	FUZZ_CHECK(cli_keytable_entry(kt, n) == NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cli_keytable *kt = NULL;
	struct cli_signtable *st = NULL;
	const char *kpath, *spath;
	char err[512], spec[4200];
	size_t k;
	bool refile = false;

	for (k = 0; k < size && data[k] != 0 && data[k] != 0xff; k++)
		;
	if (k < size)
		refile = data[k] == 0xff;
	kpath = fuzz_file(0, data, k);
	spath = fuzz_file(1, data + k + (k < size), size - k - (k < size));
	err[0] = '\0';
	if (cli_keytable_load(kpath, &kt, err, sizeof(err)) != 0) {
		FUZZ_CHECK(kt == NULL && terminated(err, sizeof(err)));
		return 0;
	}
	snprintf(spec, sizeof(spec), "%s%s", refile ? "refile:" : "", spath);
	if (cli_signtable_load(spec, kt, &st, err, sizeof(err)) != 0) {
		FUZZ_CHECK(st == NULL && terminated(err, sizeof(err)));
		cli_keytable_free(kt);
		return 0;
	}
	match_all(st, kt);
	cli_signtable_free(st);
	cli_keytable_free(kt);
	return 0;
}
