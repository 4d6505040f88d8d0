/*
 * NAME
 *	fake_dns.h - an in-memory struct dns_ops for unit tests
 * SYNOPSIS
 *	fd = fake_dns_new(FAKE_DNS_SYNC);
 *	fake_dns_add_txt(fd, "sel._domainkey.example.com", "v=DKIM1; p=...");
 *	fake_dns_set_rcode(fd, "gone._domainkey.example.com", DNS_TEMPFAIL);
 *	fake_dns_ops(fd, &ops);		env.dns = &ops;
 *	... FAKE_DNS_QUEUED: fake_dns_run(fd) delivers the answers.
 *	fake_dns_free(fd);
 * DESCRIPTION
 *	A test registers, per name, a list of TXT strings (one per RR, may
 *	hold any bytes) or an rcode. Unregistered names answer DNS_NXDOMAIN.
 *	Names match ASCII case-insensitively, a trailing dot is ignored.
 *
 *	FAKE_DNS_SYNC calls done() before txt() returns (a zone file does
 *	that); FAKE_DNS_QUEUED only records the query, and fake_dns_run()
 *	answers everything queued, in order (or newest first after
 *	fake_dns_set_lifo), so tests can prove core/ handles both orders as
 *	STYLE.md requires. The answer is looked up when it is delivered.
 *
 *	Answer memory lives only during done(): each answer is built in a
 *	fresh heap copy that is overwritten and freed right after done()
 *	returns, so a core/ that keeps an answer span trips ASan or reads
 *	garbage. qname is copied at query time for the same reason.
 * OWNERSHIP
 *	Test lifetime, single-threaded; fake_dns_free() drops queued queries
 *	without answering them.
 */
#ifndef HANKO_TESTS_FAKE_DNS_H
#define HANKO_TESTS_FAKE_DNS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/dns.h"
#include "core/span.h"

enum fake_dns_mode {
	FAKE_DNS_SYNC = 0,
	FAKE_DNS_QUEUED,
};

struct fake_dns;

/* A new empty fake (NULL only when malloc fails). */
struct fake_dns *fake_dns_new(enum fake_dns_mode mode);
void fake_dns_free(struct fake_dns *fd);
void fake_dns_set_mode(struct fake_dns *fd, enum fake_dns_mode mode);
/* Deliver queued answers newest first instead of oldest first. */
void fake_dns_set_lifo(struct fake_dns *fd, bool lifo);
/* Make txt() refuse every query with -EIO (done() is never called). */
void fake_dns_set_refuse(struct fake_dns *fd, bool refuse);

/* Append one TXT RR (copied) to name; its rcode becomes DNS_OK. */
void fake_dns_add_txt(struct fake_dns *fd, const char *name, const char *txt);
void fake_dns_add_txt_span(struct fake_dns *fd, const char *name, span txt);
/* Answer name with rc (and no records, unless rc is DNS_OK). */
void fake_dns_set_rcode(
    struct fake_dns *fd, const char *name, enum dns_rcode rc);
/* Forget every registered name (queued queries stay queued). */
void fake_dns_clear(struct fake_dns *fd);

void fake_dns_ops(struct fake_dns *fd, struct dns_ops *out);
/* Answer every queued query, and any queued while doing so; count. */
size_t fake_dns_run(struct fake_dns *fd);
/* Queries received by txt() since fake_dns_new (refused ones too). */
size_t fake_dns_queries(const struct fake_dns *fd);
/* Queries queued and not yet answered. */
size_t fake_dns_pending(const struct fake_dns *fd);
/* The qname of the n-th query received (0-based); empty if none. */
span fake_dns_query_name(const struct fake_dns *fd, size_t n);

#endif
