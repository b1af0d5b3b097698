/* holdback: rows held back because a row they refer to was not applied.
 *
 * When a sync leaves a row out (a collision: both sides created its key
 * with other content), the rows of the stream that refer to it must stay
 * out too, or they would attach to the other side's row of that key:
 * dev's documents of client 2003 (Giovanni) under prod's client 2003
 * (Lucia).  Tables come parents first, so a parent is held before its
 * children are read; a held child is held in turn, for its own children.
 *
 * The set keeps, per reference that points at a held row's table, the
 * referenced values of each held row; memory grows with the rows held,
 * never with the stream. */
#ifndef DBPIPE_HOLDBACK_H
#define DBPIPE_HOLDBACK_H

#include "schema.h"
#include "strmap.h"
#include "util.h"

struct holdback {
	const struct schema *s;  /* the stream's tables, whose references are followed */
	/* "child index:ref index:" then the referenced values -> the held
	 * row, as the report names it */
	struct strmap held;
};

void holdback_init(struct holdback *h, const struct schema *s);
void holdback_release(struct holdback *h);
/* Hold r, a whole row of t (a table of h's schema, rows laid out by it):
 * the rows that refer to it are held from now on. */
void holdback_add(struct holdback *h, const struct table *t, const struct row *r);
/* Whether r (a row of t, values absent where unknown) refers to a held
 * row: if so, returns its description ("table \"clients\" at {\"id\":7}"),
 * valid until holdback_release, else NULL. */
const char *holdback_refers(struct holdback *h, const struct table *t, const struct row *r);

#endif
