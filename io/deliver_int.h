/*
 * The delivery loop's shared state (deliver.c) and the per-message work
 * of a connection's thread (deliver_msg.c). Process lifetime for struct
 * deliver, pass lifetime for struct deliver_worker.
 */
#ifndef HANKO_IO_DELIVER_INT_H
#define HANKO_IO_DELIVER_INT_H

#include <dirent.h>
#include <pthread.h>
#include <stdarg.h>

#include "core/arena.h"
#include "io/deliver.h"
#include "io/smtp.h"

struct deliver_backoff {
	uint64_t ino; /* 0: free */
	unsigned tries;
	double next; /* CLOCK_MONOTONIC seconds */
};

struct deliver {
	const struct deliver_conf *c;
	int spool_fd, done_fd, inflight_fd, failed_fd;
	pthread_mutex_t mu; /* dir, backoff, report, first_err */
	DIR *dir;           /* this pass's stream */
	struct deliver_backoff *backoff;
	size_t nbackoff;
	atomic_bool unreachable; /* no session could be opened this pass */
	atomic_bool halt;        /* an OS error: stop taking messages */
	uint64_t deferred_unattempted, waiting;
	uint64_t inflight_found;
	int first_err;
	char err[256];
};

struct deliver_worker {
	struct deliver *d;
	unsigned idx;
	void *sw; /* the signing worker */
	struct arena ar;
	struct smtp_conn conn;
	struct deliver_stats st;
	uint64_t ino; /* of the message being delivered */
	const char *name;
	bool marked; /* its in-flight marker exists */
};

void deliver_report(struct deliver *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void deliver_os_err(struct deliver *d, int e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void deliver_defer(struct deliver *d, uint64_t ino);
bool deliver_next(struct deliver *d, char *name);
void *deliver_worker_main(void *arg);

#endif
