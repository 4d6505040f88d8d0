/*
 * gen_check_keys - N Ed25519 signing keys with their DNS records, for the
 * hanko check table benchmark (bench/check_table.sh).
 *
 *   gen_check_keys -o DIR -n COUNT [-s]
 *
 * Writes DIR/keys/dNNNNNNN.pem (PKCS#8; with -s the base64 32-byte seed
 * of RFC 8463 Appendix A instead, which loads without OpenSSL's decoder
 * framework), DIR/KeyTable and DIR/SigningTable
 * (OpenDKIM format: one domain dNNNNNNN.bench.example per key, selector
 * ed), and DIR/zone: each key record as dkim_privkey_record prints it, so
 * every key must audit as a match. Names are absolute, without SOA (the
 * server script adds it). About 50 us a key on one core.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "core/dkim_key.h"

static FILE *
open_out(const char *dir, const char *name)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "w")) == NULL)
		fprintf(
		    stderr, "gen_check_keys: %s: %s\n", path, strerror(errno));
	return f;
}

/* One key: its PEM file, its KeyTable, SigningTable and zone lines. */
static int
write_key(FILE *f, EVP_PKEY *pk, int seed)
{
	unsigned char raw[32], b64[64];
	size_t len = sizeof(raw);

	if (!seed)
		return PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL) ==
		    1;
	if (EVP_PKEY_get_raw_private_key(pk, raw, &len) != 1 || len != 32)
		return 0;
	EVP_EncodeBlock(b64, raw, 32);
	return fprintf(f, "%s\n", (const char *)b64) > 0;
}

static int
one_key(
    const char *dir, unsigned long i, int seed, FILE *kt, FILE *st, FILE *zone)
{
	struct dkim_privkey k = { NULL, DKIM_KEY_ED25519, 256 };
	uint8_t rec[512];
	struct buf b;
	char name[64], path[4096], err[160];
	FILE *f;
	int ok;

	if ((k.pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")) == NULL)
		return -1;
	snprintf(name, sizeof(name), "keys/d%07lu.pem", i);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ok = (f = fopen(path, "w")) != NULL && write_key(f, k.pk, seed);
	if (f != NULL && fclose(f) != 0)
		ok = 0;
	buf_init_fixed(&b, rec, sizeof(rec));
	ok = ok && dkim_privkey_record(&k, &b, err, sizeof(err)) == DKIM_OK;
	EVP_PKEY_free(k.pk);
	if (!ok)
		return -1;
	fprintf(kt, "k%lu d%07lu.bench.example:ed:%s\n", i, i, path);
	fprintf(st, "*@d%07lu.bench.example k%lu\n", i, i);
	fprintf(zone, "ed._domainkey.d%07lu.bench.example. IN TXT \"%.*s\"\n",
	    i, (int)b.len, (const char *)b.p);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *dir = NULL;
	unsigned long n = 0, i;
	char path[4096];
	FILE *kt, *st, *zone;
	int ch, r = 0, seed = 0;

	while ((ch = getopt(argc, argv, "o:n:s")) != -1) {
		if (ch == 's')
			seed = 1;
		else if (ch == 'o')
			dir = optarg;
		else if (ch == 'n')
			n = strtoul(optarg, NULL, 10);
		else
			return 64;
	}
	if (dir == NULL || n == 0) {
		fprintf(stderr, "usage: gen_check_keys -o DIR -n COUNT [-s]\n");
		return 64;
	}
	snprintf(path, sizeof(path), "%s/keys", dir);
	if ((mkdir(dir, 0700) != 0 && errno != EEXIST) ||
	    (mkdir(path, 0700) != 0 && errno != EEXIST)) {
		fprintf(
		    stderr, "gen_check_keys: %s: %s\n", path, strerror(errno));
		return 73;
	}
	kt = open_out(dir, "KeyTable");
	st = open_out(dir, "SigningTable");
	zone = open_out(dir, "zone");
	if (kt == NULL || st == NULL || zone == NULL)
		return 73;
	for (i = 0; i < n && r == 0; i++)
		r = one_key(dir, i, seed, kt, st, zone);
	if (fclose(kt) != 0 || fclose(st) != 0 || fclose(zone) != 0 || r != 0) {
		fprintf(stderr, "gen_check_keys: failed at key %lu\n", i);
		return 74;
	}
	return 0;
}
