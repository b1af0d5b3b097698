/* progress: the stderr meter of dbdump-rows, dbapply and dbbackup. */
#include "progress.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct {
	int on;
	char what[16], table[64];
	uint64_t rows, bytes;
	double start, last;
	int drawn;
} meter;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

void progress_init(int quiet)
{
	meter.on = !quiet && isatty(STDERR_FILENO);
	meter.start = now();
}

void progress_table(const char *what, const char *table)
{
	if (!meter.on)
		return;
	snprintf(meter.what, sizeof(meter.what), "%s", what);
	snprintf(meter.table, sizeof(meter.table), "%s", table);
	meter.rows = meter.bytes = 0;
	meter.start = now();
	meter.last = 0;
	progress_rows(0, 0);
}

void progress_rows(uint64_t rows, uint64_t bytes)
{
	if (!meter.on)
		return;
	meter.rows += rows;
	meter.bytes += bytes;
	double t = now();
	if (t - meter.last < 0.1)
		return;
	meter.last = t;
	double secs = t - meter.start > 0.001 ? t - meter.start : 0.001;
	fprintf(stderr, "\r\033[K%s %s: %llu rows, %.0f rows/s, %.1f MB", meter.what, meter.table,
		(unsigned long long)meter.rows, meter.rows / secs, meter.bytes / 1e6);
	meter.drawn = 1;
}

void progress_done(void)
{
	if (meter.on && meter.drawn)
		fputs("\r\033[K", stderr);
	meter.drawn = 0;
}
