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
	/* This pass's counts so far, for progress. */
	atomic_uint_fast64_t n_delivered, n_deferred, n_failed;
	double pass_start, last_progress;
	uint64_t inflight_found;
	atomic_uint_fast64_t seq; /* marker names: INO.SEQ */
	/* Group commit of the in-flight directory's syncs. */
	pthread_cond_t synced_cv;
	uint64_t sync_asked, sync_done;
	bool syncing;
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
	char mark[48]; /* its in-flight marker, or "" */
	/*
	 * Markers of settled messages, removed after the next spool sync:
	 * one sync for DELIVER_GROUP messages.
	 */
	char (*done_marks)[48];
	size_t ndone;
};

#define DELIVER_GROUP 32

/* fsync the in-flight directory, shared by the threads asking at once. */
int deliver_sync_inflight(struct deliver *d);

void deliver_report(struct deliver *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void deliver_os_err(struct deliver *d, int e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void deliver_defer(struct deliver *d, uint64_t ino);
bool deliver_next(struct deliver *d, char *name);
void *deliver_worker_main(void *arg);

#endif
