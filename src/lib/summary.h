/* summary: the per-table count of created, updated and deleted rows that
 * dbdiff --stat, dbapply and dbmerge print. */
#ifndef DBPIPE_SUMMARY_H
#define DBPIPE_SUMMARY_H

#include <stdint.h>
#include <stdio.h>

#include "diff.h"

struct summary {
	size_t n, alloc;
	struct summary_row {
		char *table;
		struct diff_counts c;
	} **rows;             /* each allocated alone: a returned pointer stays valid */
	char **left_out;      /* migration-history tables not applied */
	size_t nleft_out;
	int sync;             /* dbapply's: say what the sync base decided (kept, */
			      /* overwritten, conflicts, collisions, held rows) */
	int rows_not_tried;   /* a dry run stopped before the rows (MySQL's --schema) */
	int rows_unrun;       /* MySQL's --schema: the rows checked against the DDL planned, not run */
	size_t schema_drops;  /* --schema --mirror: drops and narrowings planned */
};

/* The counts of table (added at the end on first use); the pointer stays
 * valid until summary_release. */
struct diff_counts *summary_table(struct summary *s, const char *table);
/* The aligned table with a total line; returns the total number of changes. */
uint64_t summary_print(const struct summary *s, FILE *f);
uint64_t summary_changes(const struct summary *s);
/* Rows not applied because someone must decide: conflicts, collisions and
 * the rows held back with them. */
uint64_t summary_undecided(const struct summary *s);
/* Note a migration-history table left out of the sync. */
void summary_left_out(struct summary *s, const char *table);
void summary_release(struct summary *s);

#endif
