/* keysort: the records of one table put back in key order in bounded
 * memory, for dbmask, whose masked keys no longer come in order.  Records
 * are kept until `limit` bytes, sorted, and written out as a run (a stream
 * file in a temporary directory); at the end the runs are merged, as
 * sort(1) does.  Two records with one key are a collision, named. */
#ifndef DBPIPE_KEYSORT_H
#define DBPIPE_KEYSORT_H

#include <stddef.h>

#include "stream.h"

struct keysort {
	const struct table *t;
	enum stream_kind kind;
	size_t limit;
	char *dir;              /* the runs' directory, made when the first is written */
	/* The records kept, packed one after the other (type, then each row's
	 * values as state, length, bytes), and where each starts. */
	struct buf arena;
	size_t *start;
	size_t n, alloc;
	size_t nruns;
	struct change scratch;  /* a record unpacked, handed to emit */
};

void keysort_init(struct keysort *ks, const struct table *t, enum stream_kind kind, size_t limit);
/* Keep a copy of c (a record of t). */
int keysort_add(struct keysort *ks, const struct change *c);
/* Hand every record kept to emit, in key order, and forget them.  -1 (with
 * a message) for a collision, a failing run file, or when emit fails. */
int keysort_finish(struct keysort *ks, int (*emit)(void *ctx, const struct change *c), void *ctx);
/* Remove the runs and free what is kept. */
void keysort_release(struct keysort *ks);

/* Write c to w the way its type is written (row, change or conflict record). */
int stream_write_record(struct stream_writer *w, const struct change *c);

#endif
