/* check: a table's CHECK constraints as SQL text, read in each engine's
 * spelling and written again in any engine's.
 *
 * A check's expression is kept as the engine's catalog gives it (without
 * CHECK and its outer parentheses).  To compare two checks, or to write
 * one for another engine, it is read as SQL tokens and written again:
 * names of the table's columns quoted in the dialect's way, keywords in
 * upper case, == and != as = and <>, and the parentheses an engine adds
 * of its own (PostgreSQL writes "((a > 0) AND (b > 0))" for "a > 0 AND
 * b > 0") left out where leaving them out cannot change the meaning.
 *
 * An expression is portable when it holds only the table's columns,
 * number and string literals, comparisons, + - * /, AND, OR, NOT, IS
 * [NOT] NULL, IN (...), BETWEEN, TRUE and FALSE: the three engines read
 * those alike.  Anything else (a function, a cast, ||, LIKE) is written
 * only for the engine it came from. */
#ifndef DBPIPE_CHECK_H
#define DBPIPE_CHECK_H

#include "schema.h"
#include "sql.h"
#include "util.h"

/* Append expr, read as SQL, in dialect d's spelling (see above).  Returns
 * 1 when it is portable, 0 when it is not, -1 when it is not one
 * expression that can be read (an unbalanced parenthesis or quote, a ';'
 * or a comment), out then unchanged. */
int check_render(struct buf *out, const struct sql_dialect *d, const struct table *t, const char *expr);

/* Whether two checks of tables a and b say the same: their expressions
 * rendered alike compare equal. */
int check_equal(const struct table *a, const char *expr_a, const struct table *b, const char *expr_b);

/* A domain's check (expr, in which VALUE stands for the value) as a check
 * of the column named col: VALUE written as the column's name in double
 * quotes, everything else as written.  -1 when expr is not one
 * expression (check_render), out then unchanged. */
int check_of_domain(struct buf *out, const char *expr, const char *col);

/* A copy of t in which each column of a domain is of the domain's base
 * type, NOT NULL where the domain is, with the domain's default where it
 * has none of its own, and each check of the domain a check of the table
 * (check_of_domain, unnamed: engines name checks per table or per
 * schema): what another engine makes of t.  NULL when t has no column of
 * a domain; -1 in *bad (and NULL) when a domain's check is not one
 * expression. */
struct table *check_domains_inlined(const struct table *t, int *bad);

/* The column of t that a check of it only says holds JSON text,
 * "JSON_VALID(c)" or "JSON_VALID(c) OR c IS NULL" in any spelling (Django's
 * JSONField on SQLite, MariaDB's JSON): -1 for any other check.  Another
 * engine's json column (PostgreSQL's jsonb) says as much by its type. */
long check_json_column(const struct table *t, const char *expr);

/* Add to t the CHECK constraints of a CREATE TABLE statement's text (a
 * column's and the table's, named where CONSTRAINT names them): SQLite
 * keeps no catalog of them, only the statement. */
void check_scan_create_table(struct table *t, const char *create_sql);

#endif
