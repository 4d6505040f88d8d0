#include "dkim.h"

const char *
dkim_res_str(dkim_res r)
{
	switch (r) {
	case DKIM_OK:
		return "ok";
	case DKIM_PENDING:
		return "waiting for DNS";
	case DKIM_E_SYNTAX:
		return "malformed input";
	case DKIM_E_FROM:
		return "no single From field";
	case DKIM_E_LIMIT:
		return "input exceeds a limit";
	case DKIM_E_NOMEM:
		return "out of memory";
	case DKIM_E_CRYPTO:
		return "cryptographic library failure";
	case DKIM_E_KEY:
		return "unusable key";
	case DKIM_E_ARG:
		return "bad configuration";
	}
	return "unknown";
}

const char *
dkim_alg_str(enum dkim_alg a)
{
	switch (a) {
	case DKIM_ALG_RSA_SHA256:
		return "rsa-sha256";
	case DKIM_ALG_ED25519_SHA256:
		return "ed25519-sha256";
	case DKIM_ALG_RSA_SHA1:
		return "rsa-sha1";
	}
	return "unknown";
}
