/* csv/file: one CSV file (RFC 4180) read whole through libcsv, and the
 * quoting of the fields written back.
 *
 * A field is NULL when it is empty and unquoted; "" is the empty string.
 * Every record must have as many fields as the header; records are handed
 * out with the line they start on.  Functions returning int give 0, or -1
 * with "file:line: reason" in err. */
#ifndef DBPIPE_CSV_FILE_H
#define DBPIPE_CSV_FILE_H

#include <stddef.h>

#include "util.h"

struct csv_field {
	const char *p;  /* NUL-terminated (it may hold NULs too); NULL for a NULL field */
	size_t len;
};

struct csv_sink {
	/* The header row: n column names, none NULL, none repeated. */
	int (*header)(void *ctx, const struct csv_field *names, size_t n, struct buf *err);
	/* A record of as many fields as the header, starting on line. */
	int (*record)(void *ctx, const struct csv_field *f, size_t n, long line, struct buf *err);
	void *ctx;
};

/* Read path, calling the sink for its header and each record. */
int csv_read_file(const char *path, const struct csv_sink *sink, struct buf *err);

/* Append one field: nothing for NULL (p NULL), "" for the empty string, and
 * quotes around a value holding a comma, a quote, a line end or white space
 * at either end. */
void csv_add_field(struct buf *out, const char *p, size_t len);

#endif
