/*
 * NAME
 *	cli_table.h - OpenDKIM KeyTable and SigningTable readers
 * SYNOPSIS
 *	cli_keytable_load("/etc/opendkim/KeyTable", &kt, err, sizeof(err));
 *	cli_signtable_load("refile:/etc/opendkim/SigningTable", kt, &st, ...);
 *	n = cli_signtable_match(st, kt, "u@example.com", multi, refs, 4,
 *	    why, sizeof(why));
 * DESCRIPTION
 *	Reads the flat-file forms of OpenDKIM's KeyTable and SigningTable
 *	(opendkim.conf(5), opendkim(8) "DATA SETS"), so --key-table and
 *	--signing-table take an OpenDKIM setup unchanged. In both files '#'
 *	starts a comment, blank lines are ignored, the key runs to the first
 *	whitespace and the value is the rest of the line; value fields are
 *	separated by ':'.
 *
 *	KeyTable:	keyname  domain:selector:keypath
 *	A domain of "%" means the From domain. The keypath must name a file
 *	("/...", "./..." or "../...", as OpenDKIM decides); a '%' in it is
 *	replaced by the signing domain. OpenDKIM's inline PEM or base64 keys
 *	are rejected at load time with a clear message. Key names are case
 *	sensitive; the first line wins for a repeated name.
 *
 *	The From domain stands for '%' only when it is a host name (LDH
 *	labels, RFC 5321 §4.1.2): a path built from message content must
 *	not leave its directory.
 *
 *	SigningTable:	pattern  keyname[:signer]
 *	"refile:PATH": patterns are matched against the whole From address,
 *	ASCII case-insensitively, '*' matching any run of characters, in
 *	file order. "PATH" or "file:PATH": exact (case-insensitive) keys,
 *	tried in OpenDKIM's order (opendkim.c dkimf_apply_signtable) for
 *	user@sub.example.com: "user@sub.example.com", "sub.example.com",
 *	then per parent "user@.example.com", ".example.com", "user@.com",
 *	".com", then "user@*", then "*". Parents are always tried, as in
 *	OpenDKIM (its SubDomains option governs the Domain list, not this
 *	table). A keyname of "%" names the KeyTable entry called like the
 *	From domain; a '%' in the signer is replaced by the From domain.
 *	Only the first match is used unless multiple signatures are asked
 *	for. Every keyname other than "%" must exist in the KeyTable at load
 *	time. Other data set types (db:, dsn:, ldap:, csl: ...) are refused.
 * OWNERSHIP
 *	Tables are immutable once loaded and may be shared by threads.
 *	Lifetime: process. Errors are "file:line: reason" in err.
 */
#ifndef HANKO_TOOLS_CLI_TABLE_H
#define HANKO_TOOLS_CLI_TABLE_H

#include <stdbool.h>
#include <stddef.h>

#define CLI_DOMAIN_MAX 256
#define CLI_PATH_MAX   4096
#define CLI_SIGNER_MAX 512

struct cli_keytable;
struct cli_signtable;

/* One KeyTable line as written; strings are owned by the table. */
struct cli_key_entry {
	const char *name;
	const char *domain; /* "%" when taken from the From domain */
	const char *selector;
	const char *keypath; /* may contain '%' */
	unsigned line;
};

/*
 * One key chosen for a message. name and selector point into the
 * KeyTable; domain and keypath have '%' resolved; signer is the optional
 * i= identity ("" when the SigningTable gives none).
 */
struct cli_key_ref {
	const char *name;
	const char *selector;
	char domain[CLI_DOMAIN_MAX];
	char keypath[CLI_PATH_MAX];
	char signer[CLI_SIGNER_MAX];
};

/*
 * Load a KeyTable ("file:" prefix allowed). 0 and *out set, or -errno /
 * -EINVAL / -ENOMEM with err filled and *out untouched.
 */
int cli_keytable_load(
    const char *path, struct cli_keytable **out, char *err, size_t errlen);
void cli_keytable_free(struct cli_keytable *kt);
/* Iterate every entry, e.g. to load each key once at start. */
size_t cli_keytable_count(const struct cli_keytable *kt);
const struct cli_key_entry *cli_keytable_entry(
    const struct cli_keytable *kt, size_t i);

/*
 * Load a SigningTable from spec ("refile:PATH", "file:PATH" or "PATH"),
 * checking every keyname against kt. Returns as cli_keytable_load().
 */
int cli_signtable_load(const char *spec, const struct cli_keytable *kt,
    struct cli_signtable **out, char *err, size_t errlen);
void cli_signtable_free(struct cli_signtable *st);

/*
 * The keys that sign a message whose From address is from_addr
 * (local@domain, already extracted), in table order; at most one unless
 * multiple. Fills out[0..n) with n <= maxout and returns n; 0 when
 * nothing matches or from_addr has no '@'. A match whose key cannot be
 * resolved (keyname "%" without such an entry) is skipped. So is a match
 * that would put a From domain that is not a host name (hdr.h
 * hdr_domain_is_host) into a key name, d=, a key path or i=; why (may be
 * NULL) then says so, and is "" otherwise.
 */
size_t cli_signtable_match(const struct cli_signtable *st,
    const struct cli_keytable *kt, const char *from_addr, bool multiple,
    struct cli_key_ref *out, size_t maxout, char *why, size_t whylen);

#endif
