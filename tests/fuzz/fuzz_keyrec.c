/*
 * fuzz_keyrec: dkim_keyrec_parse() on the input as a TXT key record
 * (RFC 6376 §3.6.1, RFC 8463). Oracles: an accepted record either is
 * revoked with no key or holds a key of its k= type and a bit count;
 * the key is freed each time (LeakSanitizer checks). OpenSSL's error
 * queue must be left empty, or a long-running verifier would grow it.
 */
#include <stdint.h>
#include <string.h>

#include <openssl/err.h>

#include "core/arena.h"
#include "core/dkim_key.h"
#include "tests/fuzz/common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct arena ar;
	static bool init;
	struct dkim_keyrec rec;
	char err[160];
	dkim_res r;

	if (!init) {
		arena_init(&ar, fuzz_alloc(), 16 << 10, 8 << 20);
		init = true;
	}
	arena_reset(&ar);
	memset(&rec, 0, sizeof(rec));
	err[0] = '\0';
	r = dkim_keyrec_parse(
	    span_make(data, size), 64, &ar, &rec, err, sizeof(err));
	FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
	if (r != DKIM_OK) {
		FUZZ_CHECK(rec.pk == NULL);
		FUZZ_CHECK(
		    r == DKIM_E_SYNTAX || r == DKIM_E_KEY || r == DKIM_E_NOMEM);
		FUZZ_CHECK(ERR_peek_error() == 0);
		return 0;
	}
	if (rec.revoked) {
		FUZZ_CHECK(rec.pk == NULL);
	} else {
		FUZZ_CHECK(rec.pk != NULL);
		FUZZ_CHECK(rec.type == DKIM_KEY_ED25519
		        ? EVP_PKEY_get_base_id(rec.pk) == EVP_PKEY_ED25519
		        : EVP_PKEY_get_base_id(rec.pk) == EVP_PKEY_RSA);
		FUZZ_CHECK(rec.bits > 0);
	}
	FUZZ_CHECK(!(rec.sha256_ok && rec.sha1_only));
	FUZZ_CHECK(ERR_peek_error() == 0);
	dkim_keyrec_fini(&rec);
	FUZZ_CHECK(rec.pk == NULL);
	return 0;
}
