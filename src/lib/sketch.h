/* sketch: a small invertible Bloom lookup table of one digest range's rows
 * (digest.h, man/dbpipe.5 "Digest streams and ranged tables").
 *
 * Each row is an element (its key's text, the XXH3-128 hash of its row
 * record), added to one cell in each of SKETCH_PARTS parts of the table.
 * A cell holds the count of its elements and the XOR of their hashes and of
 * their keys' texts.  Subtracting the target's sketch of a range from the
 * source's leaves only the rows that differ (an update is two elements: the
 * target's row and the source's); while a cell holds one of them alone
 * (a "pure" cell: count +1 or -1, at the places its hash gives) it is read
 * out and removed from its other cells.  With 48 cells the peel empties
 * the table for 10 such rows 99 times in 100, for 20 95 times, for 35
 * about half the time (a simulation): a range whose difference does not
 * peel whole is sent whole instead, so the sketch's size only trades bytes.
 *
 * A key's text is its values as a row record writes them, comma-separated
 * (JSON has no NUL byte, so zero padding ends it).  A key longer than
 * SKETCH_KEY_MAX marks the sketch unusable (overflow). */
#ifndef DBPIPE_SKETCH_H
#define DBPIPE_SKETCH_H

#include <stddef.h>
#include <stdint.h>
#include <xxhash.h>

#include "util.h"

#define SKETCH_PARTS 3
#define SKETCH_KEY_MAX 128

struct sketch_cell {
	int64_t count;
	XXH128_hash_t h;
	unsigned char key[SKETCH_KEY_MAX];
};

struct sketch {
	size_t ncells; /* a multiple of SKETCH_PARTS */
	struct sketch_cell *cells;
	int overflow;
};

/* A row of a peeled difference: side +1, the first sketch's (the source's);
 * -1, the second's (the target's). */
struct sketch_elem {
	int side;
	XXH128_hash_t h;
	size_t keylen;
	char key[SKETCH_KEY_MAX + 1]; /* NUL-terminated */
};

void sketch_init(struct sketch *s, size_t ncells);
void sketch_reset(struct sketch *s);
void sketch_release(struct sketch *s);
/* Add (sign +1) or take out (-1) the row whose key text is key and whose
 * record hashes to h. */
void sketch_add(struct sketch *s, const char *key, size_t keylen, XXH128_hash_t h, int sign);
/* a -= b (b of the same size). */
void sketch_subtract(struct sketch *a, const struct sketch *b);
/* Peel s (a difference) whole, emptying it: 0 with the rows in out (at most
 * s->ncells of them, room the caller gives) and their number in *n; -1 when
 * it does not empty (too many rows differ, or a row is there twice). */
int sketch_peel(struct sketch *s, struct sketch_elem *out, size_t *n);
/* Append s's cells to out as base64 (a digest range's "cells"). */
void sketch_encode(const struct sketch *s, struct buf *out);
/* Read ncells cells from base64 text (n bytes) into s (sketch_init'd with
 * ncells): 0, or -1 when the text is not such cells. */
int sketch_decode(struct sketch *s, const char *text, size_t n);

#endif
