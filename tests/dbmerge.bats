#!/usr/bin/env bats
# dbmerge: change-stream policies and the three-way merge BASE OURS THEIRS.

bats_require_minimum_version 1.5.0

setup() {
	load helpers
	common_setup
}

# Data records of a stream (no header, table records or ends).
data() { grep -v -e '"type":"header"' -e '"type":"table"' -e '"type":"end"' "$@"; }

# A small shop, then what each side did since: every case of the merge.
#   item 1  OURS qty 5->6, THEIRS name -> claw hammer   column-level merge
#   item 2  both qty 3->4                                same change
#   item 3  OURS qty 90 and name, THEIRS qty 80          update/update
#   item 4  OURS deleted, THEIRS kept                    delete
#   item 5  OURS deleted, THEIRS qty 1->2                delete/update
#   item 6  OURS renamed, THEIRS deleted                 update/delete
#   item 7  THEIRS deleted                               THEIRS' own
#   item 8  THEIRS qty 300->301                          THEIRS' own
#   item 9  OURS inserted (kind 3, also new in OURS)     insert
#   item 10 both inserted the same row                   nothing
#   item 11 both inserted, other content                 insert/insert
#   item 12 THEIRS inserted                              THEIRS' own
shop_dbs() {
	mkdb base.db <<-'SQL'
	PRAGMA foreign_keys = ON;
	CREATE TABLE kinds (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
	CREATE TABLE items (id INTEGER PRIMARY KEY, kind_id INTEGER NOT NULL REFERENCES kinds(id),
		name TEXT NOT NULL, qty INTEGER);
	INSERT INTO kinds VALUES (1, 'tool'), (2, 'part');
	INSERT INTO items VALUES (1, 1, 'hammer', 5), (2, 1, 'saw', 3), (3, 2, 'bolt', 100), (4, 2, 'nut', 200),
		(5, 1, 'drill', 1), (6, 2, 'washer', 50), (7, 1, 'file', 2), (8, 2, 'screw', 300);
	SQL
	cp base.db ours.db
	cp base.db theirs.db
	sqlite3 ours.db "INSERT INTO kinds VALUES (3, 'glue');
		UPDATE items SET qty = 6 WHERE id = 1; UPDATE items SET qty = 4 WHERE id = 2;
		UPDATE items SET qty = 90, name = 'hex bolt' WHERE id = 3; DELETE FROM items WHERE id IN (4, 5);
		UPDATE items SET name = 'big washer' WHERE id = 6;
		INSERT INTO items VALUES (9, 3, 'tube', 10), (10, 1, 'level', 1), (11, 1, 'plane', 1);"
	sqlite3 theirs.db "UPDATE items SET name = 'claw hammer' WHERE id = 1; UPDATE items SET qty = 4 WHERE id = 2;
		UPDATE items SET qty = 80 WHERE id = 3; UPDATE items SET qty = 2 WHERE id = 5;
		DELETE FROM items WHERE id IN (6, 7); UPDATE items SET qty = 301 WHERE id = 8;
		INSERT INTO items VALUES (10, 1, 'level', 1), (11, 2, 'pin', 40), (12, 2, 'clip', 7);"
	dbdump-rows -o base.ndjson base.db
}

# A change stream from the office example: one insert, one update, one delete.
office_changes() {
	office_db old.db
	cp old.db new.db
	sqlite3 new.db "UPDATE clients SET phone = 'new' WHERE id = 5;
		DELETE FROM documents WHERE id = 3;
		INSERT INTO case_types VALUES (9, 'tax');"
	dbdiff old.db new.db > changes.ndjson || true
}

@test "usage errors: two or four operands, --policy with three, --prefer with one, bad values, two stdins" {
	run dbmerge a b
	assert_failure 2
	assert_output --partial "dbmerge: two operands: give one change stream, or BASE OURS THEIRS"
	assert_output --partial "Try 'dbmerge --help'."
	run dbmerge a b c d
	assert_failure 2
	assert_output --partial "too many operands"
	run dbmerge --policy mirror a b c
	assert_failure 2
	assert_output --partial "--policy filters a change stream"
	run dbmerge --prefer ours changes.ndjson
	assert_failure 2
	assert_output --partial "--prefer settles the conflicts of BASE OURS THEIRS"
	run dbmerge --policy everything
	assert_failure 2
	assert_output --partial 'unknown policy "everything" (upsert, insert-only or mirror)'
	run dbmerge --prefer mine a b c
	assert_failure 2
	assert_output --partial '--prefer takes ours or theirs, not "mine"'
	run dbmerge - - c
	assert_failure 2
	assert_output --partial "only one of BASE, OURS and THEIRS can be stdin"
	run dbmerge --bogus
	assert_failure 2
	run dbmerge --help
	assert_success
	assert_output --partial "usage: dbmerge [--policy POLICY]"
	assert_output --partial "--prefer ours|theirs"
}

@test "an unknown option, long or short: getopt's one line and the --help hint, nothing more" {
	run -2 --separate-stderr dbmerge --bogus
	assert_output ""
	assert_equal "$stderr" "dbmerge: unrecognized option '--bogus'
Try 'dbmerge --help'."
	run -2 --separate-stderr dbmerge -Z
	assert_output ""
	assert_equal "$stderr" "dbmerge: invalid option -- 'Z'
Try 'dbmerge --help'."
}

@test "--policy upsert (the default) keeps inserts and updates, drops deletes" {
	office_changes
	dbmerge < changes.ndjson > out 2> err
	[ ! -s err ]
	data out > got
	cat > expected <<-'EOF'
	{"type":"insert","table":"case_types","row":{"id":9,"name":"tax"}}
	{"type":"update","table":"clients","key":{"id":5},"set":{"phone":"new"},"old":{"phone":"+1 555 0105"}}
	EOF
	diff -u expected got
	dbmerge --policy upsert changes.ndjson > out2
	diff -u <(tail -n +2 out) <(tail -n +2 out2)
	# A valid change stream: dbapply takes it, and the document stays.
	cp old.db target.db
	run dbapply --mirror target.db out
	assert_success
	assert_line --regexp '^total +1 +1 +0$'
	assert_equal "$(sqlite3 target.db 'SELECT count(*) FROM documents WHERE id = 3')" 1
	assert_equal "$(sqlite3 target.db 'SELECT phone FROM clients WHERE id = 5')" new
}

@test "--policy insert-only keeps inserts only; --stat says what was left out" {
	office_changes
	dbmerge --policy insert-only --stat changes.ndjson > out 2> stat
	data out > got
	echo '{"type":"insert","table":"case_types","row":{"id":9,"name":"tax"}}' > expected
	diff -u expected got
	cat > expected <<-'EOF'
	table        created   updated   deleted
	case_types         1         0         0
	clients            0         0         0
	cases              0         0         0
	documents          0         0         0
	total              1         0         0
	1 row only in the target kept (--mirror would delete it)
	1 update left out by --policy insert-only
	EOF
	diff -u expected stat
}

@test "--policy mirror keeps everything: the same records, counts and hashes" {
	office_changes
	run dbmerge --policy mirror --stat -o out.ndjson changes.ndjson
	assert_success
	assert_line --regexp '^total +1 +1 +1$'
	diff -u <(tail -n +2 changes.ndjson) <(tail -n +2 out.ndjson)
	# gzip out and in
	dbmerge --policy mirror -o out.ndjson.gz changes.ndjson
	dbmerge --policy mirror out.ndjson.gz > again.ndjson
	diff -u <(tail -n +2 changes.ndjson) <(tail -n +2 again.ndjson)
}

@test "the per-table ends and the final end are recomputed for what is kept" {
	office_changes
	dbmerge --policy insert-only changes.ndjson > out
	jq -c 'select(.type == "end") | [.table, .rows]' out > got
	cat > expected <<-'EOF'
	["case_types",1]
	["clients",0]
	["cases",0]
	["documents",0]
	[null,1]
	EOF
	diff -u expected got
	# The output reads back (every count and hash checked).
	run dbmerge --policy mirror out
	assert_success
}

@test "policies refuse row streams, truncated and tampered change streams" {
	office_changes
	dbdump-rows old.db > rows.ndjson
	run dbmerge rows.ndjson
	assert_failure 2
	assert_output --partial "rows.ndjson: a row stream where a change stream is needed"
	head -n -1 changes.ndjson > cut.ndjson
	dbmerge cut.ndjson > out 2> err && status=0 || status=$?
	[ "$status" -eq 2 ]
	grep -q "cut.ndjson:[0-9]*: truncated stream: no final end record" err
	# what was written lacks its final end record: consumers refuse it too
	assert_equal "$(tail -1 out | grep -c '"type":"end","rows"')" 0
	sed 's/"phone":"new"/"phone":"newer"/' changes.ndjson > edited.ndjson
	run dbmerge edited.ndjson
	assert_failure 2
	assert_output --regexp 'edited.ndjson:[0-9]+: clients: hash mismatch'
}

@test "three-way: nothing changed anywhere: exit 0, an empty change stream" {
	shop_dbs
	run dbmerge --stat base.db base.db base.ndjson
	assert_success
	assert_line "no changes"
	dbmerge base.ndjson base.db base.db > out
	assert_equal "$(data out)" ""
	assert_equal "$(tail -1 out | jq -c '[.rows, .tables]')" "[0,2]"
}

@test "three-way: merged changes, conflict records of every kind, exit 1" {
	shop_dbs
	dbmerge base.ndjson ours.db theirs.db > out 2> err && status=0 || status=$?
	[ "$status" -eq 1 ]
	data out > got
	cat > expected <<-'EOF'
	{"type":"insert","table":"kinds","row":{"id":3,"name":"glue"}}
	{"type":"update","table":"items","key":{"id":1},"set":{"qty":6},"old":{"qty":5}}
	{"type":"conflict","table":"items","key":{"id":3},"kind":"update/update","base":{"id":3,"kind_id":2,"name":"bolt","qty":100},"ours":{"id":3,"kind_id":2,"name":"hex bolt","qty":90},"theirs":{"id":3,"kind_id":2,"name":"bolt","qty":80}}
	{"type":"delete","table":"items","key":{"id":4},"old":{"id":4,"kind_id":2,"name":"nut","qty":200}}
	{"type":"conflict","table":"items","key":{"id":5},"kind":"delete/update","base":{"id":5,"kind_id":1,"name":"drill","qty":1},"ours":null,"theirs":{"id":5,"kind_id":1,"name":"drill","qty":2}}
	{"type":"conflict","table":"items","key":{"id":6},"kind":"update/delete","base":{"id":6,"kind_id":2,"name":"washer","qty":50},"ours":{"id":6,"kind_id":2,"name":"big washer","qty":50},"theirs":null}
	{"type":"insert","table":"items","row":{"id":9,"kind_id":3,"name":"tube","qty":10}}
	{"type":"conflict","table":"items","key":{"id":11},"kind":"insert/insert","base":null,"ours":{"id":11,"kind_id":1,"name":"plane","qty":1},"theirs":{"id":11,"kind_id":2,"name":"pin","qty":40}}
	EOF
	diff -u expected got
	assert_equal "$(cat err)" "dbmerge: warning: 4 conflicts written as conflict records, not applied (--prefer ours or theirs settles them)"
	# conflict records are counted and hashed like every data record
	assert_equal "$(jq -c 'select(.type == "end") | [.table, .rows]' out | tr -d '\n')" '["kinds",1]["items",7][null,8]'
	head -1 out | grep -q '"stream":"changes"'
}

@test "three-way --stat counts changes and conflicts" {
	shop_dbs
	dbmerge --stat base.ndjson ours.db theirs.db > /dev/null 2> stat || true
	cat > expected <<-'EOF'
	table   created   updated   deleted
	kinds         1         0         0
	items         1         1         1
	total         2         1         1
	4 conflicts, not applied
	EOF
	diff -u expected stat
}

@test "--prefer ours settles every conflict with OURS' row" {
	shop_dbs
	run dbmerge --prefer ours --stat base.ndjson ours.db theirs.db
	assert_success
	dbmerge --prefer ours base.ndjson ours.db theirs.db > out
	data out > got
	cat > expected <<-'EOF'
	{"type":"insert","table":"kinds","row":{"id":3,"name":"glue"}}
	{"type":"update","table":"items","key":{"id":1},"set":{"qty":6},"old":{"qty":5}}
	{"type":"update","table":"items","key":{"id":3},"set":{"name":"hex bolt","qty":90},"old":{"name":"bolt","qty":80}}
	{"type":"delete","table":"items","key":{"id":4},"old":{"id":4,"kind_id":2,"name":"nut","qty":200}}
	{"type":"delete","table":"items","key":{"id":5},"old":{"id":5,"kind_id":1,"name":"drill","qty":2}}
	{"type":"insert","table":"items","row":{"id":6,"kind_id":2,"name":"big washer","qty":50}}
	{"type":"insert","table":"items","row":{"id":9,"kind_id":3,"name":"tube","qty":10}}
	{"type":"update","table":"items","key":{"id":11},"set":{"kind_id":1,"name":"plane","qty":1},"old":{"kind_id":2,"name":"pin","qty":40}}
	EOF
	diff -u expected got
	dbmerge --prefer ours --stat base.ndjson ours.db theirs.db 2>&1 > /dev/null | tail -1 > stat
	assert_equal "$(cat stat)" "4 conflicts settled for ours"
}

@test "--prefer theirs keeps THEIRS' rows where they conflict and still merges the other columns" {
	shop_dbs
	dbmerge --prefer theirs base.ndjson ours.db theirs.db > out 2> err
	[ ! -s err ]
	data out > got
	cat > expected <<-'EOF'
	{"type":"insert","table":"kinds","row":{"id":3,"name":"glue"}}
	{"type":"update","table":"items","key":{"id":1},"set":{"qty":6},"old":{"qty":5}}
	{"type":"update","table":"items","key":{"id":3},"set":{"name":"hex bolt"},"old":{"name":"bolt"}}
	{"type":"delete","table":"items","key":{"id":4},"old":{"id":4,"kind_id":2,"name":"nut","qty":200}}
	{"type":"insert","table":"items","row":{"id":9,"kind_id":3,"name":"tube","qty":10}}
	EOF
	diff -u expected got
}

@test "round trip with --prefer: both sides end up equal" {
	shop_dbs
	dbmerge --prefer ours base.ndjson ours.db theirs.db > to-theirs.ndjson
	dbmerge --prefer theirs base.ndjson theirs.db ours.db > to-ours.ndjson
	run dbapply --mirror theirs.db to-theirs.ndjson
	assert_success
	run dbapply --mirror ours.db to-ours.ndjson
	assert_success
	run dbdiff ours.db theirs.db
	assert_success
	# and both hold OURS' version of every conflicting row, THEIRS' own changes too
	assert_equal "$(sqlite3 theirs.db 'SELECT id, name, qty FROM items WHERE id IN (1, 3, 6, 8, 11, 12)')" \
		"$(printf '1|claw hammer|6\n3|hex bolt|90\n6|big washer|50\n8|screw|301\n11|plane|1\n12|clip|7')"
	assert_equal "$(sqlite3 theirs.db 'SELECT count(*) FROM items WHERE id IN (4, 5, 7)')" 0
}

@test "round trip keeping each side's version of the conflicts: equal except the conflicting rows" {
	shop_dbs
	# --prefer theirs on both runs: each target keeps its own row where they conflict
	dbmerge --prefer theirs base.ndjson ours.db theirs.db > to-theirs.ndjson
	dbmerge --prefer theirs base.ndjson theirs.db ours.db > to-ours.ndjson
	dbapply --mirror theirs.db to-theirs.ndjson > /dev/null
	dbapply --mirror ours.db to-ours.ndjson > /dev/null
	dbdiff ours.db theirs.db > d.ndjson && status=0 || status=$?
	[ "$status" -eq 1 ]
	data d.ndjson | jq -r '[.type, .table, (.key // .row).id] | @tsv' > got
	printf 'update\titems\t3\ninsert\titems\t5\ndelete\titems\t6\nupdate\titems\t11\n' > expected
	diff -u expected got
	# item 3: the column only OURS changed (name) merged into both
	assert_equal "$(sqlite3 theirs.db 'SELECT name, qty FROM items WHERE id = 3')" "hex bolt|80"
	assert_equal "$(sqlite3 ours.db 'SELECT name, qty FROM items WHERE id = 3')" "hex bolt|90"
}

@test "round trip through dbapply: conflicts are not applied, everything else is" {
	shop_dbs
	dbmerge base.ndjson ours.db theirs.db > to-theirs.ndjson || true
	dbmerge base.ndjson theirs.db ours.db > to-ours.ndjson || true
	dbapply --mirror theirs.db to-theirs.ndjson > out 2> err && status=0 || status=$?
	# the conflicts are reported, not applied, and make the exit status 1
	[ "$status" -eq 1 ]
	grep -q 'conflict not applied' err
	grep -q 'conflicts from dbmerge not applied' out
	dbapply --mirror ours.db to-ours.ndjson > /dev/null 2>&1 || true
	dbdiff ours.db theirs.db > d.ndjson && status=0 || status=$?
	[ "$status" -eq 1 ]
	data d.ndjson | jq -r '[.type, .table, (.key // .row).id] | @tsv' > got
	printf 'update\titems\t3\ninsert\titems\t5\ndelete\titems\t6\nupdate\titems\t11\n' > expected
	diff -u expected got
	# item 3 is a conflict: nothing of it changed on either side
	assert_equal "$(sqlite3 theirs.db 'SELECT name, qty FROM items WHERE id = 3')" "bolt|80"
}

@test "the office, dev and prod both changed since the last sync: merge both ways" {
	office_db base.db
	cp base.db dev.db
	cp base.db prod.db
	dbdump-rows -o base.ndjson.gz base.db
	# dev: a new client referred by an older one, a new case; prod: a walk-in, a phone, a deleted document
	sqlite3 dev.db "INSERT INTO clients (id, name, referred_by, created_at) VALUES (101, 'Client 101', 20, '2026-03-01 10:00:00');
		INSERT INTO cases (client_id, type_id, title, opened) VALUES (101, 2, 'Case 51', '2026-03-02');
		UPDATE clients SET email = 'c7@new.example' WHERE id = 7;"
	sqlite3 prod.db "INSERT INTO clients (id, name, created_at) VALUES (102, 'Walk-in 102', '2026-03-03 11:00:00');
		UPDATE clients SET phone = '+1 555 7777' WHERE id = 7;
		DELETE FROM documents WHERE id = 20;"
	run dbmerge --stat base.ndjson.gz dev.db prod.db
	assert_success
	dbmerge base.ndjson.gz dev.db prod.db > to-prod.ndjson
	dbmerge base.ndjson.gz prod.db dev.db > to-dev.ndjson
	dbapply --mirror prod.db to-prod.ndjson > /dev/null
	dbapply --mirror dev.db to-dev.ndjson > /dev/null
	run dbdiff dev.db prod.db
	assert_success
	assert_equal "$(sqlite3 prod.db 'SELECT phone, email FROM clients WHERE id = 7')" "+1 555 7777|c7@new.example"
	assert_equal "$(sqlite3 dev.db 'SELECT count(*) FROM clients WHERE id IN (101, 102)')" 2
	assert_equal "$(sqlite3 dev.db 'SELECT count(*) FROM documents')" 19
}

@test "inputs can be databases, streams, gzip streams and stdin, mixed" {
	shop_dbs
	dbmerge base.db ours.db theirs.db > a || true
	dbdump-rows -o ours.ndjson.gz ours.db
	dbdump-rows theirs.db | dbmerge base.ndjson ours.ndjson.gz - > b || true
	diff -u <(tail -n +2 a) <(tail -n +2 b)
	assert_equal "$(data a | wc -l)" 8
}

@test "conflict records read back: --policy passes them on, exit 1" {
	shop_dbs
	dbmerge base.ndjson ours.db theirs.db > merged.ndjson || true
	dbmerge --policy upsert merged.ndjson > out 2> err && status=0 || status=$?
	[ "$status" -eq 1 ]
	assert_equal "$(cat err)" "dbmerge: warning: 4 conflicts written as conflict records, not applied"
	data out > got
	data merged.ndjson | grep -v '"type":"delete"' > expected
	diff -u expected got
	dbmerge --policy mirror merged.ndjson > out 2> /dev/null && status=0 || status=$?
	[ "$status" -eq 1 ]
	diff -u <(tail -n +2 merged.ndjson) <(tail -n +2 out)
}

@test "malformed conflict records are refused with their line" {
	shop_dbs
	dbmerge base.ndjson ours.db theirs.db > m.ndjson || true
	n=$(grep -n '"kind":"update/update"' m.ndjson | cut -d: -f1)
	sed "${n}s#update/update#update/merge#" m.ndjson > bad.ndjson
	run dbmerge bad.ndjson
	assert_failure 2
	assert_output --partial "bad.ndjson:$n: unknown conflict kind \"update/merge\""
	sed "${n}s#,\"base\":{[^}]*}##" m.ndjson > bad.ndjson
	run dbmerge bad.ndjson
	assert_failure 2
	assert_output --partial "bad.ndjson:$n: conflict record without \"base\" (null if that side has no row)"
	sed "${n}s#\"theirs\":{\"id\":3,#\"theirs\":{\"id\":33,#" m.ndjson > bad.ndjson
	run dbmerge bad.ndjson
	assert_failure 2
	assert_output --partial "bad.ndjson:$n: the \"theirs\" row has another key than the record"
	sed "${n}s#\"theirs\":{[^}]*}#\"theirs\":null#" m.ndjson > bad.ndjson
	run dbmerge bad.ndjson
	assert_failure 2
	assert_output --partial "bad.ndjson:$n: a update/update conflict needs the \"theirs\" row"
	m=$(grep -n '"kind":"insert/insert"' m.ndjson | cut -d: -f1)
	sed "${m}s#\"base\":null#\"base\":{\"id\":11,\"kind_id\":1,\"name\":\"x\",\"qty\":1}#" m.ndjson > bad.ndjson
	run dbmerge bad.ndjson
	assert_failure 2
	assert_output --partial "bad.ndjson:$m: a insert/insert conflict has no \"base\" row: it must be null"
	sed "${n}s#\"qty\":80#\"qty\":81#" m.ndjson > bad.ndjson
	run dbmerge bad.ndjson
	assert_failure 2
	assert_output --regexp 'bad.ndjson:[0-9]+: items: hash mismatch'
	# a conflict record's key takes part in the key order check
	awk -v n=$n 'NR == n { keep = $0; next } NR == n + 1 { print; print keep; next } { print }' m.ndjson > swapped.ndjson
	run dbmerge swapped.ndjson
	assert_failure 2
	assert_output --partial "swapped.ndjson:$((n + 1)): key out of order in table \"items\""
}

@test "a truncated BASE gives no final end record and exit 2" {
	shop_dbs
	head -n -1 base.ndjson > cut.ndjson
	dbmerge cut.ndjson ours.db theirs.db > out 2> err && status=0 || status=$?
	[ "$status" -eq 2 ]
	grep -q "cut.ndjson:[0-9]*: truncated stream: no final end record" err
	assert_equal "$(tail -1 out | grep -c '"type":"end","rows"')" 0
}

@test "tables: another shape is an error, one missing from BASE is new on both sides" {
	shop_dbs
	sqlite3 theirs.db "ALTER TABLE items ADD COLUMN colour TEXT"
	run dbmerge base.ndjson ours.db theirs.db
	assert_failure 2
	assert_output --partial 'theirs.db: table "items" has other columns, column types or another key than in the other input'
	shop_dbs
	sqlite3 base.db "DROP TABLE items"
	dbmerge base.db ours.db theirs.db > out 2> err && status=0 || status=$?
	[ "$status" -eq 1 ]
	grep -q 'table "items" is not in BASE: its rows on both sides count as new' err
	# in both with other content: 1 3 8 11; only in OURS: 6 7 9; the same in both: 2 10
	assert_equal "$(jq -r 'select(.type == "conflict") | .kind + " " + (.key.id | tostring)' out | tr '\n' ,)" \
		"insert/insert 1,insert/insert 3,insert/insert 8,insert/insert 11,"
	assert_equal "$(jq -r 'select(.type == "insert" and .table == "items") | .row.id' out | tr '\n' ' ')" "6 7 9 "
	# a table THEIRS has and OURS has not is left alone
	shop_dbs
	sqlite3 theirs.db "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes VALUES (1, 'x')"
	dbmerge --prefer ours base.ndjson ours.db theirs.db > out 2> err
	assert_equal "$(cat err)" 'dbmerge: warning: table "notes" is not in OURS: left as it is'
	assert_equal "$(jq -c 'select(.table == "notes")' out)" ""
}

@test "the man page's example: the shop merged, its conflicts listed, then settled both ways" {
	shop_dbs
	dbmerge --stat base.ndjson ours.db theirs.db > merge.ndjson 2> stat && status=0 || status=$?
	[ "$status" -eq 1 ]
	cat > expected <<-'EOF'
	table   created   updated   deleted
	kinds         1         0         0
	items         1         1         1
	total         2         1         1
	4 conflicts, not applied
	EOF
	diff -u expected stat
	jq -c 'select(.type == "conflict") | [.key.id, .kind]' merge.ndjson > got
	printf '%s\n' '[3,"update/update"]' '[5,"delete/update"]' '[6,"update/delete"]' '[11,"insert/insert"]' > expected
	diff -u expected got
	assert_equal "$(grep '"id":1}' merge.ndjson)" '{"type":"update","table":"items","key":{"id":1},"set":{"qty":6},"old":{"qty":5}}'
	sed '7s#update/update#update/merge#' merge.ndjson > m.ndjson
	dbmerge m.ndjson > out 2> err && status=0 || status=$?
	[ "$status" -eq 2 ]
	assert_equal "$(cat err)" 'dbmerge: m.ndjson:7: unknown conflict kind "update/merge"'
	assert_equal "$(tail -1 out | grep -c '"type":"end","rows"')" 0
	dbmerge --prefer ours base.ndjson ours.db theirs.db | dbapply --mirror theirs.db > /dev/null
	dbmerge --prefer theirs base.ndjson theirs.db ours.db | dbapply --mirror ours.db > /dev/null
	run dbdiff ours.db theirs.db
	assert_success
}

@test "a reader that stops early (| head -1) ends it quietly: no message, status 141, SIGPIPE ignored or not" {
	mkdb old.db <<-'SQL'
	CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);
	SQL
	mkdb new.db <<-'SQL'
	CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);
	WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
	INSERT INTO t SELECT i, printf('row %d, in a stream far longer than a pipe holds', i) FROM n;
	SQL
	run -1 dbdiff old.db new.db -o changes.ndjson
	for sig in --default-signal=PIPE --ignore-signal=PIPE; do
		echo 0 > status # set -e: the status is written only if it fails
		{ env "$sig" dbmerge changes.ndjson 2> err || echo $? > status; } | head -1 > first
		assert_equal "$sig $(cat status)" "$sig 141"
		assert_equal "$sig $(cat err)" "$sig "
		assert_equal "$(jq -r .type first)" header
	done
}

@test "rows that refer to a key both sides inserted (or THEIRS deleted) are held back as conflicts, with their own referrers" {
	mkdb base.db <<-'SQL'
	CREATE TABLE clients (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
	CREATE TABLE docs (id INTEGER PRIMARY KEY, client_id INTEGER REFERENCES clients(id), title TEXT);
	CREATE TABLE pages (id INTEGER PRIMARY KEY, doc_id INTEGER REFERENCES docs(id), n INTEGER);
	INSERT INTO clients VALUES (1, 'Ann'), (3, 'Cy'); INSERT INTO docs VALUES (1, 1, 'ann doc');
	SQL
	cp base.db ours.db
	cp base.db theirs.db
	# client 2: Giovanni in OURS, Lucia in THEIRS; client 3: renamed in OURS, deleted in THEIRS
	sqlite3 ours.db "INSERT INTO clients VALUES (2, 'Giovanni'); UPDATE clients SET name = 'Cyrus' WHERE id = 3;
		INSERT INTO docs VALUES (2, 2, 'giovanni doc'), (3, 1, 'clean'), (4, 3, 'cy doc');
		INSERT INTO pages VALUES (1, 2, 1), (2, 3, 1)"
	sqlite3 theirs.db "INSERT INTO clients VALUES (2, 'Lucia'); DELETE FROM clients WHERE id = 3"
	run -1 --separate-stderr dbmerge base.db ours.db theirs.db
	echo "$output" > merged.ndjson
	assert_equal "$(jq -c 'select(.type == "conflict") | [.table, .key.id, .kind, .ours.title // .ours.name // .ours.n]' merged.ndjson | paste -sd ' ')" \
		'["clients",2,"insert/insert","Giovanni"] ["clients",3,"update/delete","Cyrus"] ["docs",2,"held","giovanni doc"] ["docs",4,"held","cy doc"] ["pages",1,"held",1]'
	assert_equal "$(data merged.ndjson | jq -c 'select(.type != "conflict") | [.type, .table, .row.id]' | paste -sd ' ')" \
		'["insert","docs",3] ["insert","pages",2]'
	[[ "$stderr" == *'table "docs" at key {"id":2}: held back as a conflict: it refers to table "clients" at {"id":2}, which is in conflict'* ]]
	[[ "$stderr" == *'table "pages" at key {"id":1}: held back as a conflict: it refers to table "docs" at {"id":2}'* ]]
	# dbapply reports them and applies the rest: Giovanni's doc never lands on Lucia
	run dbapply theirs.db merged.ndjson
	assert_failure 1
	assert_output --partial 'table "docs" at key {"id":2}: held conflict not applied'
	assert_equal "$(sqlite3 theirs.db 'SELECT count(*) FROM docs WHERE client_id = 2')" 0
	assert_equal "$(sqlite3 theirs.db 'SELECT title FROM docs WHERE id = 3')" clean
	# settled, nothing is held
	run dbmerge --prefer ours base.db ours.db theirs.db
	assert_success
	refute_output --partial '"kind":"held"'
}
