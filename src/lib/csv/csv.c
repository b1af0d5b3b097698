/* csv: the CSV backend.  csv:DIR is a directory holding one TABLE.csv a
 * table, its first row the column names (csv/file.h).
 *
 * A directory has no types, keys or transactions of its own, so:
 *  - the column types, keys and references come from db->opts.like: for a
 *    source the tables of the database named by dbdump-rows --like, for a
 *    target the stream's own tables.  Without them every column is text and
 *    a table is keyed by its whole row.
 *  - load_schema reads every file whole into memory and sorts its rows in
 *    key order, so a malformed file is refused, by file:line, before a
 *    program has written anything, and a scan is a walk over an array.
 *  - writes change those rows; commit writes each changed table to a
 *    temporary file in DIR and renames them all into place once every one
 *    is written, so a failed or rolled-back run leaves DIR as it was. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db.h"
#include "file.h"

struct crow {
	struct row r;
	long line;      /* where it was read; 0 for a row written by this run */
	int deleted;
};

/* One table: its file and its rows, laid out by t. */
struct ctab {
	struct table *t;   /* the file's columns (then any the stream adds), typed */
	char *path;
	struct crow *rows;
	size_t n, alloc;
	size_t sorted;     /* rows[0, sorted) are in key order; the rest were inserted since */
	int dirty;         /* to be written at commit */
	/* The column of t for each column of the table last written through
	 * (write_map). */
	const struct table *map_for;
	size_t *map;
};

struct csv_db {
	char *dir;
	int writing;
	struct ctab **tabs;
	size_t ntabs, alloc;
	struct json_doc doc;   /* parses the numbers of a file */
	struct buf tmp;
};

struct db_cursor {
	struct ctab *ct;
	const struct table *t;
	size_t *map;      /* column_map */
	size_t pos;
};

static void ctab_free(struct ctab *ct)
{
	for (size_t i = 0; i < ct->n; i++)
		row_release(&ct->rows[i].r);
	free(ct->rows);
	table_free(ct->t);
	free(ct->path);
	free(ct->map);
	free(ct);
}

static void forget_tables(struct csv_db *c)
{
	for (size_t i = 0; i < c->ntabs; i++)
		ctab_free(c->tabs[i]);
	c->ntabs = 0;
}

static struct ctab *find_table(struct csv_db *c, const char *name)
{
	for (size_t i = 0; i < c->ntabs; i++)
		if (!strcmp(c->tabs[i]->t->name, name))
			return c->tabs[i];
	return NULL;
}

static int csv_open(struct db *db, const char *path)
{
	struct csv_db *c = xcalloc(1, sizeof(*c));
	struct stat st;
	db->impl = c;
	json_doc_init(&c->doc);
	buf_init(&c->tmp);
	size_t n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		n--;
	c->dir = xstrndup(path, n);
	if (!n)
		return db_error(db, "csv: needs a directory (csv:DIR)");
	/* A missing directory is made by the first commit into it. */
	if (!stat(c->dir, &st) && !S_ISDIR(st.st_mode))
		return db_error(db, "not a directory");
	return 0;
}

static void csv_close(struct db *db)
{
	struct csv_db *c = db->impl;
	forget_tables(c);
	free(c->tabs);
	free(c->dir);
	json_doc_release(&c->doc);
	buf_release(&c->tmp);
	free(c);
	db->impl = NULL;
}

/* --- reading a file --- */

struct loading {
	struct db *db;
	struct ctab *ct;
	const struct table *like;   /* the table the types come from, or NULL */
};

/* Value i of r from field f, read as the stream reads the same text in JSON
 * (value_from_json), so a CSV value is checked and made canonical by the
 * rules every reader shares: numbers as JSON numbers, true/false, bytes in
 * base64, any other type as a string. */
static int field_value(struct csv_db *c, struct row *r, size_t i, const struct column *col,
		       const struct csv_field *f, struct buf *err)
{
	struct jv j = { .type = J_STRING, .s = f->p, .len = f->len };
	struct jv *num;
	if (!f->p) {
		row_set_null(r, i);
		return 0;
	}
	switch (col->type) {
	case VT_INT:
	case VT_FLOAT:
	case VT_DECIMAL:
		if (col->type != VT_INT && (!strcmp(f->p, "NaN") || !strcmp(f->p, "Infinity") ||
					    !strcmp(f->p, "-Infinity")))
			break;
		if (json_parse(&c->doc, f->p, f->len, 0, &num, err) < 0 || num->type != J_NUMBER)
			goto bad;
		if (col->type != VT_DECIMAL || jv_is_integer(num))
			j = *num; /* a decimal with a fraction stays a string, as in the stream */
		break;
	case VT_BOOL:
		if (f->len == 4 && !memcmp(f->p, "true", 4))
			j.type = J_TRUE;
		else if (f->len == 5 && !memcmp(f->p, "false", 5))
			j.type = J_FALSE;
		else
			goto bad;
		break;
	case VT_BYTES:
		break;
	default:
		if (!utf8_valid(f->p, f->len)) {
			buf_reset(err);
			buf_addf(err, "column \"%s\": the value is not valid UTF-8", col->name);
			return -1;
		}
	}
	if (value_from_json(r, i, col->type, &j, err) == 0)
		return 0;
	if (col->type == VT_BYTES || col->type == VT_INT) {
		struct buf why = BUF_INIT;
		buf_add(&why, err->buf, err->len);
		buf_reset(err);
		buf_addf(err, "column \"%s\" (%s): \"%.40s\": %s", col->name, vtype_name(col->type), f->p,
			 why.buf);
		buf_release(&why);
		return -1;
	}
bad:
	buf_reset(err);
	buf_addf(err, "column \"%s\": \"%.40s\" is not a valid %s value", col->name, f->p,
		 vtype_name(col->type));
	return -1;
}

static struct column *add_column_like(struct table *t, const char *name, const struct column *like)
{
	if (!like)
		return table_add_column(t, name, VT_TEXT, "text", 1);
	struct column *col = table_add_column(t, name, like->type, like->native, like->nullable);
	col->generated = like->generated;
	col->autoinc = like->autoinc;
	return col;
}

/* The key, and for a source the references, of t from like's table. */
static int key_like(struct table *t, const struct table *like, int source, struct buf *err)
{
	size_t *cols = xcalloc(like->nkey + 1, sizeof(*cols)), n = 0;
	for (size_t k = 0; k < like->nkey; k++) {
		const char *name = like->cols[like->key[k]].name;
		long i = table_column_index(t, name);
		if (i >= 0)
			cols[n++] = (size_t)i;
		else if (like->key_kind != KEY_ROW) {
			buf_reset(err);
			buf_addf(err, "the header lacks column \"%s\" of the key of table \"%s\"", name, t->name);
			free(cols);
			return -1;
		}
	}
	/* A whole-row key is the like table's columns in its order, so that a
	 * target's key names the stream's columns as the stream does. */
	free(t->key);
	t->key = cols;
	t->nkey = n;
	t->key_kind = like->key_kind;
	if (!n)
		table_key_whole_row(t);
	for (size_t r = 0; source && r < like->nrefs; r++) {
		const struct ref *rf = &like->refs[r];
		size_t have = 0;
		for (size_t k = 0; k < rf->ncols; k++)
			have += table_column_index(t, rf->cols[k]) >= 0;
		if (have < rf->ncols)
			continue; /* the file leaves the reference out */
		struct ref *to = table_add_ref(t, rf->table, rf->deferrable);
		for (size_t k = 0; k < rf->ncols; k++)
			ref_add_column(to, rf->cols[k], rf->to[k]);
	}
	return 0;
}

static int on_header(void *ctx, const struct csv_field *names, size_t n, struct buf *err)
{
	struct loading *l = ctx;
	struct csv_db *c = l->db->impl;
	struct table *t = l->ct->t;
	for (size_t i = 0; i < n; i++) {
		long j = l->like ? table_column_index(l->like, names[i].p) : -1;
		if (l->like && j < 0 && !c->writing) {
			buf_reset(err);
			buf_addf(err, "column \"%s\" is not in table \"%s\" of the --like database", names[i].p,
				 t->name);
			return -1;
		}
		add_column_like(t, names[i].p, j >= 0 ? &l->like->cols[j] : NULL);
	}
	if (!l->like) {
		table_key_whole_row(t);
		return 0;
	}
	/* A target gains the columns of the stream's table that its file lacks. */
	for (size_t i = 0; c->writing && i < l->like->ncols; i++)
		if (table_column_index(t, l->like->cols[i].name) < 0) {
			add_column_like(t, l->like->cols[i].name, &l->like->cols[i]);
			l->ct->dirty = 1;
		}
	return key_like(t, l->like, !c->writing, err);
}

static int on_record(void *ctx, const struct csv_field *f, size_t n, long line, struct buf *err)
{
	struct loading *l = ctx;
	struct ctab *ct = l->ct;
	ALLOC_GROW(ct->rows, ct->n + 1, ct->alloc);
	struct crow *cr = &ct->rows[ct->n];
	row_init(&cr->r, ct->t->ncols);
	cr->line = line;
	cr->deleted = 0;
	ct->n++;
	for (size_t i = n; i < ct->t->ncols; i++)
		row_set_null(&cr->r, i); /* columns the stream added */
	for (size_t i = 0; i < n; i++)
		if (field_value(l->db->impl, &cr->r, i, &ct->t->cols[i], &f[i], err) < 0)
			return -1;
	return 0;
}

/* --- key order --- */

static int crow_cmp(const void *a, const void *b, void *t)
{
	const struct crow *x = a, *y = b;
	int c = table_key_cmp(t, &x->r, &y->r);
	return c ? c : (x->line > y->line) - (x->line < y->line);
}

/* Bring the rows inserted since the last call into key order. */
static void settle(struct ctab *ct)
{
	if (ct->sorted == ct->n)
		return;
	qsort_r(ct->rows + ct->sorted, ct->n - ct->sorted, sizeof(*ct->rows), crow_cmp, ct->t);
	if (ct->sorted) {
		struct crow *m = xmalloc(ct->n * sizeof(*m));
		size_t a = 0, b = ct->sorted, o = 0;
		while (a < ct->sorted || b < ct->n)
			m[o++] = b >= ct->n || (a < ct->sorted && crow_cmp(&ct->rows[a], &ct->rows[b], ct->t) <= 0)
					 ? ct->rows[a++] : ct->rows[b++];
		free(ct->rows);
		ct->rows = m;
		ct->alloc = ct->n;
	}
	ct->sorted = ct->n;
}

/* A file's rows in key order, and no key twice (but for whole-row keys,
 * where equal rows are the same row twice). */
static int sort_rows(struct db *db, struct ctab *ct)
{
	settle(ct);
	if (ct->t->key_kind == KEY_ROW)
		return 0;
	for (size_t i = 1; i < ct->n; i++)
		if (!table_key_cmp(ct->t, &ct->rows[i - 1].r, &ct->rows[i].r)) {
			struct buf key = BUF_INIT;
			table_describe_key(&key, ct->t, &ct->rows[i].r);
			db_error(db, "%s:%ld: the key%s is on line %ld too", ct->path, ct->rows[i].line, key.buf,
				 ct->rows[i - 1].line);
			buf_release(&key);
			return -1;
		}
	return 0;
}

/* --- the schema --- */

static int csv_name(const struct dirent *e)
{
	size_t n = strlen(e->d_name);
	return e->d_name[0] != '.' && n > 4 && !strcmp(e->d_name + n - 4, ".csv");
}

static struct ctab *add_table(struct csv_db *c, const char *name)
{
	struct ctab *ct = xcalloc(1, sizeof(*ct));
	ct->t = table_new(name);
	struct buf path = BUF_INIT;
	buf_addf(&path, "%s/%s.csv", c->dir, name);
	ct->path = buf_detach(&path);
	ALLOC_GROW(c->tabs, c->ntabs + 1, c->alloc);
	c->tabs[c->ntabs++] = ct;
	return ct;
}

static int load_file(struct db *db, const char *file)
{
	struct csv_db *c = db->impl;
	const struct schema *like = db->opts.like;
	char *name = xstrndup(file, strlen(file) - 4);
	struct loading l = { db, add_table(c, name), like ? schema_find(like, name) : NULL };
	struct csv_sink sink = { on_header, on_record, &l };
	free(name);
	if (like && !l.like && !c->writing)
		return db_error(db, "%s: the --like database has no table \"%s\"", l.ct->path, l.ct->t->name);
	if (csv_read_file(l.ct->path, &sink, &db->err) < 0)
		return -1;
	return sort_rows(db, l.ct);
}

static int csv_load_schema(struct db *db, struct schema *out)
{
	struct csv_db *c = db->impl;
	const struct schema *like = db->opts.like;
	struct dirent **names;
	forget_tables(c);
	int n = scandir(c->dir, &names, csv_name, alphasort);
	if (n < 0 && !(errno == ENOENT && c->writing))
		return db_error(db, "%s: %s", c->dir, strerror(errno));
	int ret = 0;
	for (int i = 0; i < n; i++) {
		if (!ret)
			ret = load_file(db, names[i]->d_name);
		free(names[i]);
	}
	if (n > 0)
		free(names);
	/* A table the stream brings and DIR lacks gets its file at commit. */
	for (size_t i = 0; !ret && c->writing && like && i < like->n; i++) {
		const struct table *lt = like->tables[i];
		if (find_table(c, lt->name))
			continue;
		if (strchr(lt->name, '/') || lt->name[0] == '.')
			return db_error(db, "table \"%s\": no file can be named after it", lt->name);
		struct ctab *ct = add_table(c, lt->name);
		table_free(ct->t);
		ct->t = table_project(lt, lt);
		ct->dirty = 1;
	}
	for (size_t i = 0; !ret && i < c->ntabs; i++)
		schema_add(out, table_copy(c->tabs[i]->t));
	schema_sort(out);
	return ret;
}

static int csv_begin_read(struct db *db)
{
	struct csv_db *c = db->impl;
	c->writing = 0;
	return 0;
}

static int csv_begin_write(struct db *db)
{
	struct csv_db *c = db->impl;
	c->writing = 1;
	return 0;
}

/* --- scans --- */

/* Which column of ct holds each column of t (t: the caller's layout), or
 * NULL; the caller frees it. */
static size_t *column_map(struct db *db, struct ctab *ct, const struct table *t)
{
	size_t *map = xcalloc(t->ncols + 1, sizeof(*map));
	for (size_t i = 0; i < t->ncols; i++) {
		long j = table_column_index(ct->t, t->cols[i].name);
		if (j < 0) {
			db_error(db, "table \"%s\" has no column \"%s\"", t->name, t->cols[i].name);
			free(map);
			return NULL;
		}
		map[i] = (size_t)j;
	}
	return map;
}

/* column_map for a write: kept for the next write through the same t
 * (apply writes a table's changes through one projection). */
static const size_t *write_map(struct db *db, struct ctab *ct, const struct table *t)
{
	if (ct->map_for != t) {
		free(ct->map);
		ct->map = column_map(db, ct, t);
		ct->map_for = ct->map ? t : NULL;
	}
	return ct->map;
}

static struct ctab *table_for(struct db *db, const struct table *t)
{
	struct ctab *ct = find_table(db->impl, t->name);
	if (!ct)
		db_error(db, "no table \"%s\" in this directory", t->name);
	return ct;
}

static int csv_scan_open(struct db *db, const struct table *t, struct db_cursor **out)
{
	struct ctab *ct = table_for(db, t);
	size_t *map = ct ? column_map(db, ct, t) : NULL;
	if (!map)
		return -1;
	settle(ct);
	struct db_cursor *cur = xcalloc(1, sizeof(*cur));
	cur->ct = ct;
	cur->t = t;
	cur->map = map;
	*out = cur;
	return 0;
}

static int csv_scan_next(struct db_cursor *cur, struct row *row)
{
	struct ctab *ct = cur->ct;
	while (cur->pos < ct->n && ct->rows[cur->pos].deleted)
		cur->pos++;
	if (cur->pos >= ct->n)
		return 0;
	const struct row *r = &ct->rows[cur->pos++].r;
	row_resize(row, cur->t->ncols);
	for (size_t i = 0; i < cur->t->ncols; i++) {
		size_t j = cur->map[i];
		if (r->v[j].state == V_SET)
			row_set(row, i, row_ptr(r, j), r->v[j].len);
		else
			row_set_null(row, i);
	}
	return 1;
}

static void csv_scan_close(struct db_cursor *cur)
{
	if (cur)
		free(cur->map);
	free(cur);
}

/* --- writes --- */

/* How the stored row cr orders against the key of row r of t. */
static int key_cmp_change(const struct crow *cr, const struct table *t, const size_t *map,
			  const struct row *r)
{
	int c = 0;
	for (size_t k = 0; k < t->nkey && !c; k++) {
		size_t i = t->key[k];
		c = value_cmp(&cr->r, map[i], r, i, t->cols[i].type);
	}
	return c;
}

/* The first live row of ct whose key is that of row r of t, or NULL. */
static struct crow *find_row(struct ctab *ct, const struct table *t, const size_t *map, const struct row *r)
{
	settle(ct);
	size_t lo = 0, hi = ct->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (key_cmp_change(&ct->rows[mid], t, map, r) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < ct->n && !key_cmp_change(&ct->rows[lo], t, map, r); lo++)
		if (!ct->rows[lo].deleted)
			return &ct->rows[lo];
	return NULL;
}

static int csv_write_change(struct db *db, const struct table *t, const struct change *c)
{
	struct ctab *ct = table_for(db, t);
	const size_t *map = ct ? write_map(db, ct, t) : NULL;
	struct crow *cr;
	if (!map)
		return -1;
	switch (c->type) {
	case REC_ROW:
	case REC_INSERT:
		ALLOC_GROW(ct->rows, ct->n + 1, ct->alloc);
		cr = &ct->rows[ct->n++];
		memset(cr, 0, sizeof(*cr));
		row_init(&cr->r, ct->t->ncols);
		for (size_t i = 0; i < ct->t->ncols; i++)
			row_set_null(&cr->r, i);
		for (size_t i = 0; i < t->ncols; i++)
			if (c->row.v[i].state == V_SET)
				row_set(&cr->r, map[i], row_ptr(&c->row, i), c->row.v[i].len);
		break;
	case REC_UPDATE:
		if (!(cr = find_row(ct, t, map, &c->row)))
			return db_no_row(db);
		for (size_t i = 0; i < t->ncols; i++)
			if (!table_is_key(t, i)) {
				if (c->row.v[i].state == V_SET)
					row_set(&cr->r, map[i], row_ptr(&c->row, i), c->row.v[i].len);
				else if (c->row.v[i].state == V_NULL)
					row_set_null(&cr->r, map[i]);
			}
		break;
	case REC_DELETE:
		if (!(cr = find_row(ct, t, map, &c->row)))
			return db_no_row(db);
		cr->deleted = 1;
		break;
	default:
		return 0;
	}
	ct->dirty = 1;
	return 0;
}

static int csv_check_constraints(struct db *db)
{
	(void)db;
	return 0; /* files refer to nothing: references are not checked */
}

static int csv_reset_sequence(struct db *db, const struct table *t)
{
	(void)db;
	(void)t;
	return 0; /* no id generators */
}

/* --- commit: each changed table to a temporary file, then all renamed --- */

static void add_line(struct csv_db *c, const struct ctab *ct, const struct row *r)
{
	buf_reset(&c->tmp);
	for (size_t i = 0; i < ct->t->ncols; i++) {
		if (i)
			buf_addch(&c->tmp, ',');
		if (!r) {
			csv_add_field(&c->tmp, ct->t->cols[i].name, strlen(ct->t->cols[i].name));
		} else if (r->v[i].state != V_SET) {
			/* NULL: an empty unquoted field */
		} else if (ct->t->cols[i].type == VT_BYTES) {
			struct buf b64 = BUF_INIT;
			base64_encode(&b64, (const unsigned char *)row_ptr(r, i), r->v[i].len);
			csv_add_field(&c->tmp, b64.buf, b64.len);
			buf_release(&b64);
		} else {
			csv_add_field(&c->tmp, row_ptr(r, i), r->v[i].len);
		}
	}
	buf_addch(&c->tmp, '\n');
}

static int write_table(struct db *db, struct ctab *ct, char **tmp_out)
{
	struct csv_db *c = db->impl;
	struct buf path = BUF_INIT;
	buf_addf(&path, "%s/.%s.csv.XXXXXX", c->dir, ct->t->name);
	int fd = mkstemp(path.buf);
	if (fd < 0) {
		db_error(db, "%s: %s", path.buf, strerror(errno));
		buf_release(&path);
		return -1;
	}
	*tmp_out = buf_detach(&path);
	mode_t mask = umask(0);
	umask(mask);
	fchmod(fd, 0666 & ~mask); /* as a file made by open(2) */
	FILE *f = fdopen(fd, "wb");
	if (!f) {
		close(fd);
		return db_error(db, "%s: %s", *tmp_out, strerror(errno));
	}
	settle(ct);
	add_line(c, ct, NULL);
	fwrite(c->tmp.buf, 1, c->tmp.len, f);
	for (size_t i = 0; i < ct->n; i++) {
		if (ct->rows[i].deleted)
			continue;
		add_line(c, ct, &ct->rows[i].r);
		fwrite(c->tmp.buf, 1, c->tmp.len, f);
	}
	int bad = fflush(f) != 0 || ferror(f) || fsync(fileno(f)) != 0;
	if (fclose(f) != 0 || bad)
		return db_error(db, "%s: %s", *tmp_out, strerror(errno));
	return 0;
}

static int csv_commit(struct db *db)
{
	struct csv_db *c = db->impl;
	char **tmp = xcalloc(c->ntabs + 1, sizeof(*tmp));
	int ret = 0;
	if (mkdir(c->dir, 0777) < 0 && errno != EEXIST)
		ret = db_error(db, "%s: %s", c->dir, strerror(errno));
	for (size_t i = 0; !ret && i < c->ntabs; i++)
		if (c->tabs[i]->dirty)
			ret = write_table(db, c->tabs[i], &tmp[i]);
	for (size_t i = 0; i < c->ntabs; i++) {
		if (!tmp[i])
			continue;
		if (!ret && rename(tmp[i], c->tabs[i]->path) < 0)
			ret = db_error(db, "%s: %s", c->tabs[i]->path, strerror(errno));
		if (ret)
			unlink(tmp[i]);
		else
			c->tabs[i]->dirty = 0;
		free(tmp[i]);
	}
	free(tmp);
	c->writing = 0;
	return ret;
}

static int csv_rollback(struct db *db)
{
	struct csv_db *c = db->impl;
	forget_tables(c); /* the files were never touched */
	c->writing = 0;
	return 0;
}

const struct db_ops db_csv_ops = {
	.engine = "csv",
	.defers_all_checks = 1,
	.open = csv_open,
	.close = csv_close,
	.load_schema = csv_load_schema,
	.begin_read = csv_begin_read,
	.begin_write = csv_begin_write,
	.commit = csv_commit,
	.rollback = csv_rollback,
	.scan_open = csv_scan_open,
	.scan_next = csv_scan_next,
	.scan_close = csv_scan_close,
	.write = csv_write_change,
	.check_constraints = csv_check_constraints,
	.reset_sequence = csv_reset_sequence,
};
