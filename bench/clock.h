/*
 * bench/clock.h - the two clocks every benchmark program reports:
 * wall time (monotonic) and the CPU time of the process, in seconds.
 */
#ifndef HANKO_BENCH_CLOCK_H
#define HANKO_BENCH_CLOCK_H

#include <sys/resource.h>
#include <time.h>

static inline double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline double
cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

#endif
