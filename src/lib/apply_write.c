/* apply_write: the spools of apply's changes, phase 2 that writes them,
 * and the undo stream made from them. */
#include "apply_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "progress.h"
#include "strmap.h"

/* Create p's spool which (0 upserts, 1 deletes) in the spool directory,
 * with its file of input lines; idx names it. */
int apply_spool_open(struct apply *a, struct plan *p, size_t idx, int which)
{
	struct buf path = BUF_INIT;
	buf_addf(&path, "%s/%zu-%s", a->tmpdir, idx, which ? "delete" : "upsert");
	p->spool[which] = xstrdup(path.buf);
	buf_adds(&path, ".lines");
	p->lines[which] = fopen(path.buf, "w+");
	buf_release(&path);
	if (!p->lines[which] || stream_create(&p->w[which], p->spool[which]) < 0)
		return error("%s: %s", a->tmpdir, strerror(errno));
	stream_write_header(&p->w[which], STREAM_CHANGES, "dbapply spool", a->db->ops->engine);
	stream_write_table(&p->w[which], p->st);
	stream_begin_table(&p->w[which], p->st);
	return 0;
}

/* Spool one change and count it; line is where it came from (0: the target). */
int apply_spool_change(struct apply *a, const struct change *c, long line)
{
	struct plan *p = a->cur;
	int which = c->type == REC_DELETE;
	if (stream_write_change(&p->w[which], c) < 0 ||
	    fwrite(&line, sizeof(line), 1, p->lines[which]) != 1)
		return error("%s: cannot spool: %s", a->tmpdir, strerror(errno));
	p->nspooled[which]++;
	return 0;
}

/* A change of a two-way comparison (diff_table's emit): spooled. */
int apply_emit_from_diff(void *ctx, const struct change *c)
{
	struct apply *a = ctx;
	return apply_spool_change(a, c, c->type == REC_DELETE ? 0 : a->line);
}

/* The change that undoes c. */
static void invert(const struct change *c, struct change *u)
{
	u->table = c->table;
	switch (c->type) {
	case REC_INSERT:
	case REC_ROW: {
		const struct table *t = c->table;
		u->type = REC_DELETE;
		row_resize(&u->row, t->ncols);
		for (size_t k = 0; k < t->nkey; k++)
			row_copy_value(&u->row, &c->row, t->key[k]);
		row_copy(&u->old, &c->row);
		break;
	}
	case REC_UPDATE: {
		const struct table *t = c->table;
		u->type = REC_UPDATE;
		row_copy(&u->row, &c->old);
		for (size_t k = 0; k < t->nkey; k++)
			row_copy_value(&u->row, &c->row, t->key[k]);
		row_copy(&u->old, &c->row);
		for (size_t k = 0; k < t->nkey; k++)
			u->old.v[t->key[k]].state = V_ABSENT;
		break;
	}
	case REC_DELETE:
		u->type = REC_INSERT;
		row_copy(&u->row, &c->old);
		row_resize(&u->old, c->table->ncols);
		break;
	default:
		break;
	}
}

/* Open a spool for reading; an empty one is left closed. */
static int spool_reader(struct plan *p, int which, struct stream_reader *r, int *have)
{
	*have = 0;
	if (!p->nspooled[which])
		return 0;
	if (stream_open(r, p->spool[which]) < 0)
		return -1;
	*have = 1;
	int got = stream_next(r);
	if (got < 0)
		return -1;
	*have = got > 0 && r->rec.type != REC_TABLE_END;
	return 0;
}

static int spool_advance(struct stream_reader *r, int *have)
{
	int got = stream_next(r);
	if (got < 0)
		return -1;
	*have = got > 0 && r->rec.type != REC_TABLE_END;
	return 0;
}

/* The undo stream: per table, the inverse of every spooled change in key
 * order (the upsert and delete spools merged), so that applying it with
 * dbapply --mirror restores the rows this run changes. */
int apply_write_undo(struct apply *a)
{
	struct stream_writer w;
	struct change u;
	int ret = -1;
	if (make_parent_dir(a->undo_partial) < 0 || stream_create(&w, a->undo_partial) < 0)
		return -1;
	change_init(&u);
	w.purpose = "undo";
	stream_write_header(&w, STREAM_CHANGES, a->o->undo_source ? a->o->undo_source : a->db->shown_url,
			    a->db->ops->engine);
	/* What --schema made, as the drops that undo it: foreign keys, then
	 * indexes, columns and tables, each kind newest first. */
	static const enum schema_change_kind drop_order[] = {
		SC_DROP_REFERENCE, SC_DROP_INDEX, SC_DROP_COLUMN, SC_DROP_TABLE,
	};
	for (size_t k = 0; k < 4; k++)
		for (size_t i = a->made.n; i-- > 0;)
			if (a->made.v[i].kind == drop_order[k] && stream_write_schema(&w, &a->made.v[i]) < 0)
				goto out;
	/* What --schema --mirror dropped or --schema altered, to restore:
	 * the dropped columns ride in their tables' records, their values in
	 * the sections; dropped tables come last, rows and all. */
	if (apply_alter_undo_schema(a->alter, &w) < 0)
		goto out;
	for (size_t i = 0; i < a->nplans; i++) {
		if (!a->plans[i].skip)
			stream_write_table(&w, apply_alter_undo_table(a->alter, a->plans[i].st));
	}
	if (apply_alter_undo_tables(a->alter, &w, 1) < 0)
		goto out;
	for (size_t i = 0; i < a->nplans; i++) {
		struct plan *p = &a->plans[i];
		struct stream_reader r[2];
		struct undo_merge *m = NULL;
		int have[2] = { 0, 0 }, opened[2] = { 0, 0 }, ok = -1;
		if (p->skip)
			continue;
		if (apply_alter_undo_begin(a->alter, p->st, &m) < 0) {
			apply_alter_undo_free(m);
			goto out;
		}
		stream_begin_table(&w, apply_alter_undo_table(a->alter, p->st));
		for (int s = 0; s < 2; s++) {
			opened[s] = p->nspooled[s] > 0;
			if (spool_reader(p, s, &r[s], &have[s]) < 0)
				goto next;
		}
		while (have[0] || have[1]) {
			int s = !have[0] ? 1 : !have[1] ? 0
				: table_key_cmp(p->st, &r[0].rec.row, &r[1].rec.row) <= 0 ? 0 : 1;
			r[s].rec.table = p->st;
			if (s == 0 && a->rk.n && apply_rekey_references(a, p->st, &r[s].rec.row, i + 1) < 0)
				goto next; /* as apply_write_spool will write it */
			invert(&r[s].rec, &u);
			if (apply_alter_undo_change(m, &w, &u) < 0 || spool_advance(&r[s], &have[s]) < 0)
				goto next;
		}
		ok = apply_alter_undo_end(m, &w) < 0 ? -1 : stream_end_table(&w);
next:
		apply_alter_undo_free(m);
		for (int s = 0; s < 2; s++)
			if (opened[s])
				stream_close(&r[s]);
		if (ok < 0)
			goto out;
	}
	if (apply_alter_undo_tables(a->alter, &w, 0) < 0)
		goto out;
	ret = stream_finish(&w); /* closes w: w.name is NULL from here on */
out:
	if (w.name)
		stream_abandon(&w);
	change_release(&u);
	return ret;
}

static const char *const verbs[] = { "insert", "insert", "update", "delete" };

static int write_failed(struct apply *a, struct plan *p, const struct change *c, long line)
{
	buf_reset(&a->msg);
	table_key_to_json(&a->msg, p->st, &c->row);
	if (line)
		return error("%s:%ld: table \"%s\" at key %s: %s failed: %s", a->rd.name, line, p->st->name,
			     a->msg.buf, verbs[c->type], a->db->err.buf);
	return error("%s: table \"%s\" at key %s: %s of a row only in the target failed: %s",
		     a->db->shown_url, p->st->name, a->msg.buf, verbs[c->type], a->db->err.buf);
}

struct written {
	long line;               /* the input line, 0: none */
	uint32_t plan, which;    /* the plan and its spool (apply_write_spool's which) */
	uint64_t rec;            /* the change's place in that spool, from 0 */
};

/* A failure the engine reported for an earlier write than the current one
 * (writes are batched), when it said which: reported with that write's
 * table, key and line; 1 if so, 0 if not known. */
int apply_blame_earlier_write(struct apply *a)
{
	uint64_t n = a->db->failed_write;
	struct written e;
	struct stream_reader sp;
	int got, found = 0;
	if (!a->wlog || n <= a->wlog_base ||
	    fseeko(a->wlog, (off_t)((n - a->wlog_base - 1) * sizeof(e)), SEEK_SET) ||
	    fread(&e, sizeof(e), 1, a->wlog) != 1 || e.plan >= a->nplans)
		return 0;
	struct plan *p = &a->plans[e.plan];
	if (stream_open(&sp, e.which == 2 ? p->fixup : p->spool[e.which & 1]) < 0)
		return 0;
	for (uint64_t i = 0; !found && (got = stream_next(&sp)) > 0;)
		if (sp.rec.type != REC_TABLE_END && i++ == e.rec)
			found = 1;
	if (found) {
		sp.rec.type = e.which >= 2 ? REC_UPDATE : sp.rec.type; /* the cycle's columns */
		write_failed(a, p, &sp.rec, e.line);
	}
	stream_close(&sp);
	return found;
}

/* For a table in a cycle the engine cannot defer: take the cycle's columns
 * out of c (into the fixup spool when they hold a value), so the row can be
 * written before the rows it points at.  Returns 1 if c still has work. */
static int hold_back_cycle_columns(struct apply *a, struct plan *p, struct change *c)
{
	const struct table *t = p->st;
	struct change *fix = &a->out;
	int held = 0, rest = c->type == REC_INSERT;
	row_resize(&fix->row, t->ncols);
	row_resize(&fix->old, t->ncols);
	fix->type = REC_UPDATE;
	fix->table = p->st;
	for (size_t k = 0; k < t->nkey; k++)
		row_copy_value(&fix->row, &c->row, t->key[k]);
	for (size_t j = 0; j < p->nnull; j++) {
		size_t i = p->null_cols[j];
		if (c->row.v[i].state != V_SET)
			continue;
		row_copy_value(&fix->row, &c->row, i);
		held = 1;
		if (c->type == REC_INSERT)
			row_set_null(&c->row, i);
		else
			c->row.v[i].state = V_ABSENT;
	}
	for (size_t i = 0; i < t->ncols && !rest; i++)
		rest = c->row.v[i].state != V_ABSENT && !table_is_key(t, i);
	if (held) {
		if (!p->fixup) {
			struct buf path = BUF_INIT;
			buf_addf(&path, "%s.fixup", p->spool[0]);
			p->fixup = buf_detach(&path);
			if (stream_create(&p->fw, p->fixup) < 0)
				return -1;
			stream_write_header(&p->fw, STREAM_CHANGES, "dbapply spool", a->db->ops->engine);
			stream_write_table(&p->fw, p->st);
			stream_begin_table(&p->fw, p->st);
		}
		if (stream_write_change(&p->fw, fix) < 0)
			return -1;
		p->nfixups++;
	}
	return rest;
}

/* An upsert of a row read before the one it refers to was left out (a
 * self-reference, a cycle): too late to hold it back.  -1 (said why) if so. */
static int refers_to_left_out(struct apply *a, struct plan *p, const struct change *c, long line)
{
	const char *held = holdback_refers(&a->holdback, p->st, &c->row);
	if (!held)
		return 0;
	buf_reset(&a->msg);
	table_key_to_json(&a->msg, p->st, &c->row);
	return error("%s:%ld: table \"%s\" at key %s refers to %s, which is not applied, and comes before it "
		     "in the stream, too early to be held back with it: settle that row first", a->rd.name,
		     line, p->st->name, a->msg.buf, held);
}

/* Before a delete: NULL into the cycle's columns, so no row of the cycle
 * points at a row deleted before it.  Turns the delete c into that update;
 * 0 if it has nothing to set. */
static int null_cycle_columns(const struct plan *p, struct change *c)
{
	c->type = REC_UPDATE;
	row_copy(&c->row, &c->old);
	int any = 0;
	for (size_t i = 0; i < p->st->ncols; i++) {
		int cycle_col = 0;
		for (size_t j = 0; j < p->nnull; j++)
			cycle_col |= p->null_cols[j] == i;
		if (cycle_col && c->row.v[i].state == V_SET) {
			row_set_null(&c->row, i);
			any = 1;
		} else if (!table_is_key(p->st, i)) {
			c->row.v[i].state = V_ABSENT;
		}
	}
	return any;
}

/* Write the spooled changes of one table; which: 0 upserts, 1 deletes,
 * 2 the cycle columns held back from the upserts, 3 the cycle columns set
 * NULL before deletes. */
/* Rows of p's table that this run's triggers made: the keys of the rows the
 * spool inserts that the target holds now, though it did not when read (a
 * trigger on a table written before, such as Sakila's film making its
 * film_text row).  The stream's values go over them, as an update. */
static int find_trigger_made(struct apply *a, struct plan *p, const char *path, struct strmap *made)
{
	struct stream_reader sp;
	struct strmap inserts = { 0 };
	struct buf key = BUF_INIT;
	struct db_cursor *cur = NULL;
	struct row row;
	int got, rc = -1;
	row_init(&row, p->proj->ncols);
	if (stream_open(&sp, path) < 0)
		goto out;
	while ((got = stream_next(&sp)) > 0)
		if (sp.rec.type == REC_INSERT || sp.rec.type == REC_ROW) {
			table_key_text(&key, p->proj, &sp.rec.row);
			strmap_put(&inserts, key.buf ? key.buf : "", key.len, "", 0);
		}
	if (got < 0)
		goto out;
	if (!inserts.n) {
		rc = 0;
		goto out;
	}
	if (a->db->ops->scan_open(a->db, p->proj, &cur) < 0) {
		error("%s: table \"%s\": %s", a->db->shown_url, p->st->name, a->db->err.buf);
		goto out;
	}
	while ((got = a->db->ops->scan_next(cur, &row)) > 0) {
		table_key_text(&key, p->proj, &row);
		if (strmap_get(&inserts, key.buf ? key.buf : "", key.len))
			strmap_put(made, key.buf ? key.buf : "", key.len, "", 0);
	}
	if (got < 0)
		error("%s: table \"%s\": %s", a->db->shown_url, p->st->name, a->db->err.buf);
	else
		rc = 0;
out:
	if (cur)
		a->db->ops->scan_close(cur);
	stream_close(&sp);
	strmap_release(&inserts);
	buf_release(&key);
	row_release(&row);
	return rc;
}

int apply_write_spool(struct apply *a, struct plan *p, int which)
{
	struct strmap made = { 0 };
	struct buf key = BUF_INIT;
	struct stream_reader sp;
	const char *path = which == 2 ? p->fixup : p->spool[which & 1];
	int got, ret = -1;
	long line = 0;
	uint64_t nrec = 0;
	if (which == 2 ? !p->nfixups : !p->nspooled[which & 1] || (which == 3 && !p->nnull))
		return 0;
	if (which < 2)
		rewind(p->lines[which]);
	progress_table(which == 1 ? "delete" : "write", p->st->name);
	if (which == 0 && a->triggers_fired && find_trigger_made(a, p, path, &made) < 0) {
		strmap_release(&made);
		return -1;
	}
	if (stream_open(&sp, path) < 0)
		goto out;
	while ((got = stream_next(&sp)) > 0) {
		struct change *c = &sp.rec;
		if (c->type == REC_TABLE_END)
			continue;
		if (which < 2 && fread(&line, sizeof(line), 1, p->lines[which]) != 1) {
			error("%s: spool out of step", path);
			goto out;
		}
		struct written w = { which < 2 ? line : 0, (uint32_t)(p - a->plans), (uint32_t)which, nrec++ };
		/* read before its parent was re-keyed (a self-reference, a cycle) */
		if (which == 0 && a->rk.n && apply_rekey_references(a, p->st, &c->row, (size_t)(p - a->plans) + 1) < 0)
			goto out;
		if (which == 0 && refers_to_left_out(a, p, c, w.line) < 0)
			goto out;
		progress_rows(1, 0);
		if (util_interrupted) {
			error("interrupted");
			goto out;
		}
		if (which == 3) {
			if (!null_cycle_columns(p, c))
				continue;
		} else if (which == 0 && p->nnull) {
			int rest = hold_back_cycle_columns(a, p, c);
			if (rest < 0)
				goto out;
			if (!rest)
				continue;
		}
		if (fwrite(&w, sizeof(w), 1, a->wlog) != 1) {
			error("%s: %s", a->tmpdir, strerror(errno));
			goto out;
		}
		if (made.n && (c->type == REC_INSERT || c->type == REC_ROW)) {
			table_key_text(&key, p->proj, &c->row);
			if (strmap_get(&made, key.buf ? key.buf : "", key.len)) {
				c->type = REC_UPDATE; /* every column of the stream's row */
				p->counts->trigger_made++;
			}
		}
		/* --sql on MySQL before a schema step that did not run: checked, not written */
		if (!a->schema_unrun && db_write(a->db, p->proj, c) < 0) {
			if (a->db->failed_write == a->db->nwrites || !apply_blame_earlier_write(a))
				write_failed(a, p, c, w.line);
			goto out;
		}
		if (apply_sql_write(a, p, c) < 0)
			goto out;
		if (p->proj->has_triggers && !p->triggers_are_off)
			a->triggers_fired = 1;
	}
	if (got == 0)
		ret = 0;
out:
	stream_close(&sp);
	strmap_release(&made);
	buf_release(&key);
	if (which == 0 && p->fixup && p->fw.name &&
	    (stream_end_table(&p->fw) < 0 || stream_finish(&p->fw) < 0))
		ret = -1;
	return ret;
}

/* --disable-triggers: off before the first write to a table that gets
 * any, back on after the last, before the commit.  A failure between is
 * rolled back, and the rollback restores them. */
int apply_set_triggers(struct apply *a, struct plan **live, size_t n, int on)
{
	for (size_t i = 0; i < n; i++) {
		struct plan *p = live[i];
		if (!p->quiet_triggers || p->triggers_are_off == !on ||
		    !(p->nspooled[0] || p->nspooled[1] || p->nfixups))
			continue;
		if (a->db->ops->set_triggers(a->db, p->proj, on) < 0)
			return error("%s: table \"%s\": turning its triggers %s: %s", a->db->shown_url,
				     p->st->name, on ? "back on" : "off", a->db->err.buf);
		p->triggers_are_off = !on;
	}
	return 0;
}
