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
 *	For SPF, a name may also hold A, AAAA, MX, PTR records and a CNAME,
 *	and an rcode per (name, type). ops->query answers any type: the
 *	per-type rcode if set; else the records of that type (DNS_OK); else
 *	the CNAME's target (followed up to 8 times, a longer chain or loop
 *	is DNS_TEMPFAIL); else, for TXT, exactly what txt() answers, and for
 *	other types the name's rcode when that is NXDOMAIN, TEMPFAIL or
 *	PERMFAIL, and DNS_NODATA otherwise. Names in answers are lower case
 *	without the trailing dot (an MX exchange "" or "." is the null MX).
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
#include <stdint.h>

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
/*
 * Make txt() and query() refuse with -EINVAL a name that is not a valid
 * DNS name (an empty label, a label over 63 octets, over 253 in all), as
 * a real resolver library does.
 */
void fake_dns_set_strict_names(struct fake_dns *fd, bool strict);

/* Append one TXT RR (copied) to name; its rcode becomes DNS_OK. */
void fake_dns_add_txt(struct fake_dns *fd, const char *name, const char *txt);
void fake_dns_add_txt_span(struct fake_dns *fd, const char *name, span txt);
/* Answer name with rc (and no records, unless rc is DNS_OK). */
void fake_dns_set_rcode(
    struct fake_dns *fd, const char *name, enum dns_rcode rc);
/* Typed records; text addresses must parse (inet_pton) or the test aborts. */
void fake_dns_add_a(struct fake_dns *fd, const char *name, const char *ip4);
void fake_dns_add_aaaa(struct fake_dns *fd, const char *name, const char *ip6);
void fake_dns_add_mx(
    struct fake_dns *fd, const char *name, unsigned pref, const char *exch);
void fake_dns_add_ptr(
    struct fake_dns *fd, const char *name, const char *target);
void fake_dns_set_cname(
    struct fake_dns *fd, const char *name, const char *target);
/* Answer (name, qtype) with rc whatever the name holds. */
void fake_dns_set_rcode_type(
    struct fake_dns *fd, const char *name, uint16_t qtype, enum dns_rcode rc);
/* Forget every registered name (queued queries stay queued). */
void fake_dns_clear(struct fake_dns *fd);

void fake_dns_ops(struct fake_dns *fd, struct dns_ops *out);
/* Answer every queued query, and any queued while doing so; count. */
size_t fake_dns_run(struct fake_dns *fd);
/* Queries received by txt() or query() since fake_dns_new (refused too). */
size_t fake_dns_queries(const struct fake_dns *fd);
/* Queries queued and not yet answered. */
size_t fake_dns_pending(const struct fake_dns *fd);
/* The qname of the n-th query received (0-based); empty if none. */
span fake_dns_query_name(const struct fake_dns *fd, size_t n);
/* Its type (DNS_T_TXT for txt()), 0 if none. */
uint16_t fake_dns_query_type(const struct fake_dns *fd, size_t n);

#endif
