#!/usr/bin/env bats
# dbapply: a row stream or a change stream into a database, in one transaction.

bats_require_minimum_version 1.5.0

setup() {
	load helpers
	common_setup
	office_db dev.db
	cp dev.db prod.db
	# The demo story: dev adds #101, changes #50's phone, adds case #51;
	# prod gets #102 by hand.
	sqlite3 dev.db "INSERT INTO clients (name, phone, email, balance, created_at)
		VALUES ('Client 101', '+1 555 0101', 'c101@example.com', '0.00', '2026-03-01 10:00:00');
		UPDATE clients SET phone = '+1 555 9050' WHERE id = 50;
		INSERT INTO cases (client_id, type_id, title, opened) VALUES (101, 2, 'Case 51', '2026-03-02');"
	sqlite3 prod.db "INSERT INTO clients (id, name, created_at) VALUES (102, 'Walk-in 102', '2026-03-03 11:00:00');"
}

# The state of a database, for before/after comparisons.
snapshot() { dump_body "$1" > "$2"; }

@test "usage errors: no target, both --insert-only and --mirror, unknown option" {
	run dbapply
	assert_failure 2
	assert_output --partial "dbapply: missing TARGET"
	run dbapply --insert-only --mirror prod.db
	assert_failure 2
	assert_output --partial "exclude each other"
	run dbapply --frobnicate prod.db
	assert_failure 2
	run dbapply --schema --rollback prod.db
	assert_failure 2
	assert_output --partial "--schema goes with a stream to apply, not --rollback or --mark"
	run dbapply --help
	assert_success
	assert_output --partial "usage: dbapply"
	assert_output --partial "--schema"
}

@test "merge (the default): new rows arrive, prod's own #102 stays; a first sync reports #50's edit until --prefer says whose it is" {
	# No sync base yet: #50 differs under the same id, and nothing tells
	# dev's edit from another client that took id 50 in prod.
	run sh -c 'dbdump-rows dev.db | dbapply prod.db'
	assert_failure 1
	assert_line --partial 'dbapply: <stdin>:60: table "clients" at key {"id":50}: the stream and the target hold other rows under this key'
	assert_line --partial '("phone": stream "+1 555 9050", target "+1 555 0150"): not applied'
	assert_line "1 row not applied: other values under the same key, and no sync base to tell an edit from a collision (a first sync: --prefer or --rekey settles them)"
	assert_equal "$(sqlite3 prod.db 'SELECT phone FROM clients WHERE id = 50')" "+1 555 0150"
	assert_equal "$(sqlite3 prod.db 'SELECT count(*) FROM clients')" 102
	# The next sync still knows #50 as a first-sync key: --prefer settles it.
	run sh -c 'dbdump-rows dev.db | dbapply --prefer source prod.db'
	assert_success
	cat > expected <<-'EOF'
	table        created   updated   deleted
	case_types         0         0         0
	clients            0         1         0
	cases              0         0         0
	documents          0         0         0
	total              0         1         0
	1 row only in the target kept (--mirror would delete it)
	1 row overwritten with no sync base to tell an edit from a collision (a first sync: --prefer source)
	EOF
	diff -u expected <(head -n 8 <<<"$output")
	assert_line --index 8 --regexp '^undo: backups/prod-[0-9]{8}T[0-9]{6}Z(-[0-9]+)?\.undo\.ndjson\.gz \(dbapply --rollback prod\.db restores the state before this run\)$'
	assert_equal "$(sqlite3 prod.db 'SELECT count(*) FROM clients')" 102
	assert_equal "$(sqlite3 prod.db 'SELECT phone FROM clients WHERE id = 50')" "+1 555 9050"
	assert_equal "$(sqlite3 prod.db 'SELECT count(*) FROM cases')" 51
	assert_equal "$(sqlite3 prod.db 'SELECT name FROM clients WHERE id = 102')" "Walk-in 102"
	# Everything dev has is now in prod: the only difference left is #102.
	dbdiff dev.db prod.db > d || true
	assert_equal "$(jq -c 'select(.type == "insert") | .row.id' d)" 102
	assert_equal "$(jq -c 'select(.type == "update" or .type == "delete")' d)" ""
	# and a third sync has nothing to do, without --prefer
	run sh -c 'dbdump-rows dev.db | dbapply prod.db'
	assert_success
	assert_line --regexp '^total +0 +0 +0$'
}

@test "a first sync between databases that took ids on their own: prod's own #101 is kept, dev's case of #101 held back; --rekey brings dev's in under a new id" {
	sqlite3 prod.db "INSERT INTO clients (id, name, created_at) VALUES (101, 'Lucia', '2026-03-03 11:00:00')"
	sqlite3 dev.db "UPDATE clients SET phone = '+1 555 0150' WHERE id = 50" # only #101 differs
	run sh -c 'dbdump-rows dev.db | dbapply prod.db'
	assert_failure 1
	assert_line --partial 'table "clients" at key {"id":101}: the stream and the target hold other rows under this key'
	assert_line --partial 'table "cases" at key {"id":51}: held back: it refers to table "clients" at {"id":101}, which is not applied'
	assert_line "1 row held back: they refer to a row not applied"
	assert_equal "$(sqlite3 prod.db 'SELECT name FROM clients WHERE id = 101')" Lucia
	assert_equal "$(sqlite3 prod.db 'SELECT count(*) FROM cases WHERE id = 51')" 0
	# dev's Client 101 is another person: --rekey gives it a new id, its case follows
	run sh -c 'dbdump-rows dev.db | dbapply --rekey prod.db'
	assert_success
	assert_output --partial 'table "clients" at key {"id":101}: collision: inserted as {"id":103} (--rekey)'
	assert_equal "$(sqlite3 prod.db 'SELECT name FROM clients WHERE id = 101')" Lucia
	assert_equal "$(sqlite3 prod.db 'SELECT name FROM clients WHERE id = 103')" "Client 101"
	assert_equal "$(sqlite3 prod.db 'SELECT client_id FROM cases WHERE id = 51')" 103
	run sh -c 'dbdump-rows dev.db | dbapply prod.db'
	assert_success
	assert_line --regexp '^total +0 +0 +0$'
}

@test "the id generator continues above the largest id after a sync" {
	dbdump-rows dev.db | dbapply --prefer source prod.db > /dev/null
	sqlite3 prod.db "DELETE FROM clients WHERE id = 102"
	sqlite3 prod.db "INSERT INTO clients (name, created_at) VALUES ('next', '2026-04-01 00:00:00')"
	# AUTOINCREMENT never reuses an id: 102 was used, so the next is 103.
	assert_equal "$(sqlite3 prod.db "SELECT id FROM clients WHERE name = 'next'")" 103
	office_db empty.db
	sqlite3 empty.db "DELETE FROM documents; DELETE FROM cases; DELETE FROM clients; DELETE FROM sqlite_sequence"
	dbdump-rows dev.db | dbapply empty.db > /dev/null
	assert_equal "$(sqlite3 empty.db "SELECT seq FROM sqlite_sequence WHERE name = 'clients'")" 101
}

@test "--insert-only adds #101 and case #51 but leaves #50's phone alone" {
	run sh -c 'dbdump-rows dev.db | dbapply --insert-only prod.db'
	assert_success
	assert_line --regexp '^clients +1 +0 +0$'
	assert_line "1 changed row left as it is (--insert-only)"
	assert_equal "$(sqlite3 prod.db 'SELECT count(*) FROM clients')" 102
	assert_equal "$(sqlite3 prod.db 'SELECT phone FROM clients WHERE id = 50')" "+1 555 0150"
}

@test "--mirror makes prod an exact copy: #102 is deleted" {
	run sh -c 'dbdump-rows dev.db | dbapply --mirror prod.db'
	assert_success
	assert_line --regexp '^clients +1 +1 +1$'
	run dbdiff dev.db prod.db
	assert_success
	assert_equal "$(sqlite3 prod.db 'SELECT count(*) FROM clients WHERE id = 102')" 0
}

@test "--mirror into an empty database loads rows that point forward (client 10 referred by 20)" {
	mkdb empty.db < "$ROOT/examples/office-schema.sql"
	run sh -c 'dbdump-rows dev.db | dbapply --mirror empty.db'
	assert_success
	run dbdiff dev.db empty.db
	assert_success
	assert_equal "$(sqlite3 empty.db 'SELECT referred_by FROM clients WHERE id = 10')" 20
}

@test "--dry-run previews the truth and leaves the target untouched" {
	snapshot prod.db before
	run sh -c 'dbdump-rows dev.db | dbapply --mirror --dry-run prod.db'
	assert_success
	assert_line --regexp '^clients +1 +1 +1$'
	assert_line --regexp '^total +2 +1 +1$'
	assert_line "dry run: rolled back, nothing was written to prod.db"
	snapshot prod.db after
	diff -u before after
}

@test "--dry-run reports constraint errors too, and still writes nothing" {
	cp dev.db bad.db
	sqlite3 bad.db "PRAGMA foreign_keys = OFF; UPDATE cases SET client_id = 4000 WHERE id = 1"
	snapshot prod.db before
	run sh -c 'dbdump-rows bad.db | dbapply --prefer source --dry-run prod.db'
	assert_failure 2
	assert_output --partial 'foreign key violation: a row of "cases" (rowid 1) references a missing row of "clients"'
	assert_output --partial "nothing was written to prod.db"
	snapshot prod.db after
	diff -u before after
}

@test "a failing row rolls back everything and names its line and table" {
	mkdb target.db <<-'SQL'
	CREATE TABLE items (id INTEGER PRIMARY KEY, qty INTEGER CHECK (qty >= 0));
	INSERT INTO items VALUES (1, 5);
	SQL
	# The source has no CHECK, so it can hold the row the target refuses.
	mkdb loose.db <<-'SQL'
	CREATE TABLE items (id INTEGER PRIMARY KEY, qty INTEGER);
	INSERT INTO items VALUES (1, 7), (2, 1), (3, -1);
	SQL
	dbdump-rows loose.db > s.ndjson
	snapshot target.db before
	run dbapply target.db s.ndjson
	assert_failure 2
	assert_output --partial 's.ndjson:5: table "items" at key {"id":3}: insert failed: CHECK constraint failed'
	assert_output --partial "nothing was written to target.db"
	snapshot target.db after
	diff -u before after
}

@test "a truncated stream (head -c) is refused and nothing is written" {
	dbdump-rows dev.db > s.ndjson
	snapshot prod.db before
	for n in 100 5000 20000 $(( $(wc -c < s.ndjson) - 1 )); do
		head -c $n s.ndjson > cut.ndjson
		run dbapply prod.db cut.ndjson
		assert_failure 2
		assert_output --regexp "cut.ndjson:[0-9]+: truncated stream"
	done
	head -n -1 s.ndjson > cut.ndjson
	run dbapply prod.db cut.ndjson
	assert_failure 2
	assert_output --partial "truncated stream: no final end record"
	snapshot prod.db after
	diff -u before after
	# a row both sides hold otherwise is reported only once the stream is
	# read whole: the truncated one prints its error alone
	sqlite3 prod.db "UPDATE clients SET phone = 'by hand' WHERE id = 3"
	run --separate-stderr dbapply prod.db cut.ndjson
	assert_failure 2
	assert_equal "$stderr" "dbapply: cut.ndjson:$(wc -l < cut.ndjson): truncated stream: no final end record
dbapply: nothing was written to prod.db"
	run --separate-stderr dbapply --dry-run prod.db s.ndjson
	assert_failure 1
	assert_equal "$(grep -c 'at key {"id":3}: the stream and the target hold other rows' <<< "$stderr")" 1
}

@test "unknown tables and columns are refused before any data is read" {
	dbdump-rows dev.db > s.ndjson
	sed '3s/"table":"clients"/"table":"custmers"/' s.ndjson > t.ndjson
	run dbapply prod.db t.ndjson
	assert_failure 2
	assert_output --partial 't.ndjson:3: unknown table "custmers" (the target has no such table)'
	sqlite3 prod.db "ALTER TABLE clients DROP COLUMN vip"
	snapshot prod.db before
	run dbapply prod.db s.ndjson
	assert_failure 2
	assert_output --partial 's.ndjson:3: unknown column "vip" in table "clients"'
	snapshot prod.db after
	diff -u before after
}

@test "type mismatches are refused: in a row, and between the stream and the target" {
	dbdump-rows dev.db > s.ndjson
	sed '11s/"id":1,/"id":"one",/' s.ndjson > bad.ndjson
	snapshot prod.db before
	run dbapply prod.db bad.ndjson
	assert_failure 2
	assert_output --partial 'bad.ndjson:11: type mismatch in "clients"."id": expected an integer, found JSON string'
	mkdb other.db <<-'SQL'
	CREATE TABLE case_types (id INTEGER PRIMARY KEY, name BLOB NOT NULL);
	SQL
	run dbapply other.db s.ndjson
	assert_failure 2
	assert_output --partial 'type mismatch: column "case_types"."name" is text (TEXT) in the stream but bytes (BLOB) in the target'
	snapshot prod.db after
	diff -u before after
}

@test "a key out of order is refused" {
	dbdump-rows dev.db > s.ndjson
	awk 'NR == 13 { keep = $0; next } NR == 14 { print; print keep; next } { print }' s.ndjson > swapped.ndjson
	run dbapply prod.db swapped.ndjson
	assert_failure 2
	assert_output --partial 'swapped.ndjson:14: key out of order in table "clients"'
}

@test "a record longer than 128 MiB is refused, streamed through a pipe: exit 2, the line named, nothing written" {
	dbdump-rows dev.db > s.ndjson
	snapshot prod.db before
	# One byte over the limit, never on disk: the reader refuses it before
	# it holds more than the limit.
	run sh -c '{ head -n 2 s.ndjson; head -c 134217729 /dev/zero | tr "\\0" x; echo; } | dbapply prod.db'
	assert_failure 2
	assert_line "dbapply: <stdin>:3: record longer than 134217728 bytes"
	assert_line "dbapply: nothing was written to prod.db"
	# At the limit the line is read (and refused as what it is: no JSON).
	run sh -c '{ head -n 2 s.ndjson; head -c 134217728 /dev/zero | tr "\\0" x; echo; } | dbapply prod.db'
	assert_failure 2
	assert_output --partial "dbapply: <stdin>:3: invalid JSON at column 1"
	snapshot prod.db after
	diff -u before after
}

@test "a row with a 50 MiB BLOB (70 MB of base64 on one line) goes through" {
	mkdb big.db <<-'SQL'
	CREATE TABLE files (id INTEGER PRIMARY KEY, body BLOB NOT NULL);
	INSERT INTO files VALUES (1, randomblob(52428800));
	SQL
	mkdb copy.db <<-'SQL'
	CREATE TABLE files (id INTEGER PRIMARY KEY, body BLOB NOT NULL);
	SQL
	dbdump-rows big.db > big.ndjson
	run dbapply --no-undo copy.db big.ndjson
	assert_success
	assert_line --regexp '^files +1 +0 +0$'
	assert_equal "$(sqlite3 copy.db 'SELECT length(body) FROM files')" 52428800
	run dbdiff big.db copy.db
	assert_success
}

@test "text longer than the target's varchar(n) is refused by name, in characters, though SQLite would keep it; as long fits" {
	mkdb src.db <<-'SQL'
	CREATE TABLE t (id INTEGER PRIMARY KEY, code TEXT);
	INSERT INTO t VALUES (1, 'àèìòù'), (2, 'abcdef');
	SQL
	mkdb short.db <<<'CREATE TABLE t (id INTEGER PRIMARY KEY, code VARCHAR(5));'
	run dbapply short.db <(dbdump-rows src.db)
	assert_failure 2
	assert_output --partial 'table "t" at key {"id":2}: column "code" (TEXT in the stream, VARCHAR(5) in the target): a value of 6 characters is longer than the column'"'"'s VARCHAR(5)'
	assert_equal "$(sqlite3 short.db 'SELECT count(*) FROM t')" 0
	sqlite3 src.db "DELETE FROM t WHERE id = 2"
	run dbapply short.db <(dbdump-rows src.db)
	assert_success
	assert_equal "$(sqlite3 short.db 'SELECT code FROM t')" 'àèìòù'
}

@test "a value that does not fit the column is refused" {
	mkdb src.db <<-'SQL'
	CREATE TABLE m (id INTEGER PRIMARY KEY, x REAL, flag INTEGER);
	INSERT INTO m VALUES (1, 1.5, 0), (2, 2, 5);
	SQL
	mkdb t1.db <<-'SQL'
	CREATE TABLE m (id INTEGER PRIMARY KEY, x INTEGER, flag INTEGER);
	SQL
	run sh -c 'dbdump-rows src.db | dbapply t1.db'
	assert_failure 2
	assert_output --partial 'type mismatch: column "m"."x" is float (REAL) in the stream but int (INTEGER) in the target'
	mkdb t2.db <<-'SQL'
	CREATE TABLE m (id INTEGER PRIMARY KEY, x REAL, flag BOOLEAN);
	SQL
	run sh -c 'dbdump-rows src.db | dbapply t2.db'
	assert_failure 2
	assert_output --partial '<stdin>:4: table "m" at key {"id":2}: column "flag" (INTEGER in the stream, BOOLEAN in the target): the value "5" is not 0 or 1 (the column is a bool), so it is refused'
	assert_equal "$(sqlite3 t2.db 'SELECT count(*) FROM m')" 0
}

@test "a change stream from dbdiff applies; its deletes need --mirror" {
	cp prod.db before.db
	dbdiff prod.db dev.db > changes.ndjson || true
	run dbapply prod.db changes.ndjson
	assert_success
	assert_line --regexp '^clients +1 +1 +0$'
	assert_line "1 row only in the target kept (--mirror would delete it)"
	assert_equal "$(sqlite3 prod.db 'SELECT count(*) FROM clients')" 102
	cp before.db prod.db
	run dbapply --mirror prod.db changes.ndjson
	assert_success
	run dbdiff dev.db prod.db
	assert_success
}

@test "a change stream whose rows changed in the target since is refused as conflicts" {
	# clients 8 and 11 have no cases and refer nobody
	sqlite3 dev.db "UPDATE clients SET phone = 'p8' WHERE id = 8; UPDATE clients SET email = 'e11' WHERE id = 11"
	dbdiff prod.db dev.db > changes.ndjson || true
	sqlite3 prod.db "DELETE FROM clients WHERE id = 8; UPDATE clients SET email = 'someone else' WHERE id = 11"
	snapshot prod.db before
	run dbapply prod.db changes.ndjson
	assert_failure 2
	assert_output --regexp 'changes.ndjson:[0-9]+: conflict in table "clients" at key \{"id":8\}: the row is gone from the target'
	assert_output --regexp 'changes.ndjson:[0-9]+: conflict in table "clients" at key \{"id":11\}: "email" changed in the target since the stream was made'
	assert_output --partial "2 conflicting rows"
	snapshot prod.db after
	diff -u before after
	# --force writes the stream's values over the changed row (the gone one cannot come back)
	run dbapply --force prod.db changes.ndjson
	assert_success
	assert_output --partial "skipped: an update cannot recreate a deleted row"
	assert_equal "$(sqlite3 prod.db 'SELECT email FROM clients WHERE id = 11')" "e11"
	assert_equal "$(sqlite3 prod.db 'SELECT count(*) FROM clients WHERE id = 8')" 0
}

@test "gzip input is read transparently" {
	dbdump-rows -o dev.ndjson.gz dev.db
	run dbapply --prefer source prod.db dev.ndjson.gz
	assert_success
	run sh -c 'dbapply prod.db < dev.ndjson.gz'
	assert_success
	assert_line --regexp '^total +0 +0 +0$'
}

@test "--rollback restores the state before the last sync, one sync at a time" {
	snapshot prod.db state0
	dbdump-rows dev.db | dbapply --prefer source prod.db > /dev/null
	snapshot prod.db state1
	sqlite3 dev.db "UPDATE clients SET name = 'renamed' WHERE id = 1"
	dbdump-rows dev.db | dbapply --mirror prod.db > /dev/null
	run dbapply --rollback prod.db
	assert_success
	snapshot prod.db now
	diff -u state1 now
	run dbapply --rollback prod.db
	assert_success
	snapshot prod.db now
	diff -u state0 now
	run dbapply --rollback prod.db
	assert_failure 2
	assert_output --partial "no undo stream for prod.db in backups/"
}

@test "--rollback takes the newest run by its name: a run's -1 taken at :00 whose header says :01 is older than the next run's :01" {
	synced_pair
	sqlite3 dev.db "UPDATE clients SET phone = 'first' WHERE id = 7"
	first=$(dbdump-rows dev.db | dbapply prod.db | sed -n 's/^undo: \([^ ]*\) .*/\1/p')
	sqlite3 dev.db "UPDATE clients SET phone = 'second' WHERE id = 8"
	second=$(dbdump-rows dev.db | dbapply prod.db | sed -n 's/^undo: \([^ ]*\) .*/\1/p')
	[ -f "$first" ] && [ -f "$second" ] && [ "$first" != "$second" ]
	# two runs as they fall about a second boundary: the first took the name
	# 000000Z-1 (another run had 000000Z) and wrote its header at 00:00:01
	restamp() { # undo file, new stem, header time
		local stem=${1%.undo.ndjson.gz} f
		zcat "$1" | sed "1s/\"at\":\"[^\"]*\"/\"at\":\"$3\"/" | gzip > "backups/$2.undo.ndjson.gz"
		rm "$1"
		for f in "$stem".prevbase-*; do mv "$f" "backups/$2${f#"$stem"}"; done
	}
	restamp "$first" prod-20260101T000000Z-1 2026-01-01T00:00:01Z
	restamp "$second" prod-20260101T000001Z 2026-01-01T00:00:01Z
	run dbapply --rollback prod.db
	assert_success
	assert_line "dbapply: rolling back with backups/prod-20260101T000001Z.undo.ndjson.gz"
	assert_equal "$(sqlite3 prod.db 'SELECT phone FROM clients WHERE id = 7')" first
	assert_not_equal "$(sqlite3 prod.db 'SELECT phone FROM clients WHERE id = 8')" second
	run dbapply --rollback prod.db
	assert_success
	assert_line "dbapply: rolling back with backups/prod-20260101T000000Z-1.undo.ndjson.gz"
	assert_not_equal "$(sqlite3 prod.db 'SELECT phone FROM clients WHERE id = 7')" first
}

@test "--rollback stops on rows changed since the sync and lists them, unless --force" {
	dbdump-rows dev.db | dbapply --prefer source prod.db > /dev/null
	sqlite3 prod.db "UPDATE clients SET phone = 'changed by hand' WHERE id = 50"
	snapshot prod.db before
	run dbapply --rollback prod.db
	assert_failure 2
	assert_output --regexp 'conflict in table "clients" at key \{"id":50\}: "phone" changed in the target since the stream was made'
	snapshot prod.db after
	diff -u before after
	run dbapply --rollback --force prod.db
	assert_success
	assert_equal "$(sqlite3 prod.db 'SELECT phone FROM clients WHERE id = 50')" "+1 555 0150"
}

@test "the undo stream is an ordinary change stream with the exact old values" {
	dbdump-rows dev.db | dbapply --mirror prod.db > /dev/null
	undo=$(ls backups/*.undo.ndjson.gz)
	zcat "$undo" | jq -c 'select(.type == "insert" or .type == "update" or .type == "delete")' > got
	cat > expected <<-'EOF'
	{"type":"delete","table":"clients","key":{"id":101},"old":{"id":101,"name":"Client 101","phone":"+1 555 0101","email":"c101@example.com","referred_by":null,"balance":"0","vip":false,"created_at":"2026-03-01T10:00:00"}}
	{"type":"update","table":"clients","key":{"id":50},"set":{"phone":"+1 555 0150"},"old":{"phone":"+1 555 9050"}}
	{"type":"insert","table":"clients","row":{"id":102,"name":"Walk-in 102","phone":null,"email":null,"referred_by":null,"balance":"0","vip":false,"created_at":"2026-03-03T11:00:00"}}
	{"type":"delete","table":"cases","key":{"id":51},"old":{"id":51,"client_id":101,"type_id":2,"title":"Case 51","opened":"2026-03-02"}}
	EOF
	diff -u <(sort expected) <(sort got)
	assert_equal "$(zcat "$undo" | head -1 | jq -r .purpose)" undo
}

@test "a dry run and a run without changes write no undo stream" {
	dbdump-rows dev.db | dbapply --prefer source --dry-run prod.db > /dev/null
	[ ! -e backups ] # a dry run keeps nothing at all
	dbdump-rows prod.db | dbapply prod.db > /dev/null
	run ls backups
	assert_output --regexp '^prod\.base-[0-9a-f]{16}-[0-9a-f]{16}\.ndjson\.zst$' # the sync base, no undo stream
}

@test "a protected environment: --mirror needs --yes, and a backup is taken first" {
	cat > dbpipe.conf <<-'EOF'
	[prod]
	url = sqlite:prod.db
	protected = yes
	exclude = documents
	EOF
	snapshot prod.db before
	run sh -c 'dbdump-rows dev.db | dbapply --mirror prod'
	assert_failure 2
	assert_output --partial "prod is protected: --mirror needs --yes (no terminal to ask on)"
	snapshot prod.db after
	diff -u before after
	run sh -c 'dbdump-rows dev.db | dbapply --mirror --yes prod'
	assert_success
	assert_output --regexp 'dbapply: backup: backups/prod-[0-9T]+Z\.backup\.ndjson\.gz'
	assert_output --partial 'table "documents" is excluded by the target'
	backup=$(ls backups/*.backup.ndjson.gz)
	# the backup holds the state before the sync, and restores it
	dump_body "$backup" > /dev/null 2>&1 || true
	run dbbackup --verify "$backup"
	assert_success
	run dbapply --mirror --yes --no-backup prod "$backup"
	assert_success
	snapshot prod.db restored
	diff -u before restored
	# a merge without deletes needs no confirmation
	run sh -c 'dbdump-rows dev.db | dbapply --prefer source prod'
	assert_success
}

@test "--save-base writes the target's rows after the sync" {
	dbdump-rows dev.db | dbapply --prefer source --save-base base.ndjson.gz prod.db > /dev/null
	run dbdiff base.ndjson.gz prod.db
	assert_success
	assert_equal "$(zcat base.ndjson.gz | head -1 | jq -r .purpose)" base
}

@test "a killed dbapply (kill -9 while reading, while writing) leaves the target as it was" {
	mkdb big.db <<-'SQL'
	CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);
	WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300000)
	INSERT INTO t SELECT i, printf('value %d with some padding text', i) FROM n;
	SQL
	mkdb small.db <<-'SQL'
	CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);
	INSERT INTO t VALUES (1, 'old');
	SQL
	dbdump-rows big.db > big.ndjson
	snapshot small.db before
	# while reading: the input stalls half-way (a slow link), then it is killed;
	# this shell holds the FIFO open for the stall, so nothing is left running
	mkfifo stalled
	dbapply --no-undo small.db < stalled > /dev/null 2>&1 &
	pid=$!
	exec {stall}> stalled
	head -n 150000 big.ndjson >&$stall
	sleep 1
	kill -9 $pid
	wait $pid || true
	exec {stall}>&-
	snapshot small.db after
	diff -u before after
	# while writing: killed as soon as SQLite's rollback journal shows writes under way
	dbapply --no-undo small.db big.ndjson > /dev/null 2>&1 &
	pid=$!
	# (up to a minute: under a loaded sanitizer build the reading alone
	# took more than the ten seconds this waited before)
	for i in $(seq 1 3000); do
		[ -e small.db-journal ] && break
		sleep 0.02
	done
	[ -e small.db-journal ]
	kill -9 $pid
	wait $pid || true
	snapshot small.db after
	diff -u before after
}

@test "--mirror on a table keyed by its whole row deletes one copy of a duplicate, not all" {
	mkdb src.db <<-'SQL'
	CREATE TABLE tags (name TEXT, n INTEGER);
	INSERT INTO tags VALUES ('a', 1), ('b', 2);
	SQL
	mkdb dst.db <<-'SQL'
	CREATE TABLE tags (name TEXT, n INTEGER);
	INSERT INTO tags VALUES ('a', 1), ('a', 1), ('c', 3);
	SQL
	run sh -c 'dbdump-rows src.db | dbapply --mirror dst.db'
	assert_success
	assert_line --regexp '^tags +1 +0 +2$'
	assert_equal "$(sqlite3 dst.db 'SELECT name, n FROM tags ORDER BY 1' | xargs)" "a|1 b|2"
}

@test "a merge, then --mirror, into SQLite tables named with SQL words and quotes (a WHERE b, x\"y)" {
	for db in src.db dst.db; do
		mkdb "$db" <<-'SQL'
		CREATE TABLE "a WHERE b" ("x ""q" TEXT, "order" INTEGER);
		CREATE TABLE "x""y" (id INTEGER PRIMARY KEY, "select" TEXT, "a WHERE b" INTEGER);
		SQL
	done
	sqlite3 src.db <<-'SQL'
	INSERT INTO "a WHERE b" VALUES ('k', 1), ('m', 2);
	INSERT INTO "x""y" VALUES (1, 'one', 1), (2, 'two src', 2), (4, 'four', 4);
	SQL
	sqlite3 dst.db <<-'SQL'
	INSERT INTO "a WHERE b" VALUES ('k', 1), ('k', 1), ('z', 9);
	INSERT INTO "x""y" VALUES (1, 'one', 1), (2, 'two', 2), (3, 'three', 3);
	SQL
	run sh -c 'dbdump-rows src.db | dbapply --prefer source dst.db'
	assert_success
	assert_line --regexp '^a WHERE b +1 +0 +0$'
	assert_line --regexp '^x"y +1 +1 +0$'
	assert_equal "$(sqlite3 dst.db 'SELECT * FROM "a WHERE b" ORDER BY 1, 2' | xargs)" "k|1 k|1 m|2 z|9"
	assert_equal "$(sqlite3 dst.db 'SELECT * FROM "x""y" ORDER BY 1' | xargs)" "1|one|1 2|two src|2 3|three|3 4|four|4"
	# the whole-row key deletes one copy of k by rowid, z by its values
	run sh -c 'dbdump-rows src.db | dbapply --mirror dst.db'
	assert_success
	assert_line --regexp '^a WHERE b +0 +0 +2$'
	assert_line --regexp '^x"y +0 +0 +1$'
	assert_equal "$(sqlite3 dst.db 'SELECT * FROM "a WHERE b" ORDER BY 1, 2' | xargs)" "k|1 m|2"
	assert_equal "$(sqlite3 dst.db 'SELECT * FROM "x""y" ORDER BY 1' | xargs)" "1|one|1 2|two src|2 4|four|4"
	run dbdiff src.db dst.db
	assert_success
}

@test "foreign-key violations the target had before are not blamed on the sync" {
	sqlite3 prod.db "PRAGMA foreign_keys = OFF; INSERT INTO documents (case_id, filename) VALUES (999, 'orphan.pdf')"
	run sh -c 'dbdump-rows dev.db | dbapply --prefer source prod.db'
	assert_success
	assert_equal "$(sqlite3 prod.db 'SELECT count(*) FROM clients')" 102
}

@test "SQLite's foreign-key check looks at the rows a sync writes and the parents it deletes: an orphan the target had is not blamed, even in a row the sync updates; one the sync makes is named; with a trigger in the database, every table is checked, to the same verdict" {
	for db in dev.db prod.db; do
		sqlite3 "$db" "PRAGMA foreign_keys = OFF; INSERT INTO documents (id, case_id, filename) VALUES (900, 999, 'orphan.pdf')"
	done
	sqlite3 dev.db "UPDATE documents SET filename = 'renamed.pdf' WHERE id = 900"
	cp prod.db prod-trigger.db
	sqlite3 prod-trigger.db "CREATE TRIGGER type_added AFTER INSERT ON case_types BEGIN SELECT 1; END"
	for target in prod.db prod-trigger.db; do
		run sh -c "dbdump-rows dev.db | dbapply --mirror $target"
		assert_success
		assert_equal "$(sqlite3 "$target" 'SELECT filename FROM documents WHERE id = 900')" renamed.pdf
	done
	sqlite3 dev.db "PRAGMA foreign_keys = OFF; INSERT INTO documents (id, case_id, filename) VALUES (901, 998, 'new-orphan.pdf');
		UPDATE documents SET filename = 'again.pdf' WHERE id = 900"
	for target in prod.db prod-trigger.db; do
		snapshot "$target" before
		run sh -c "dbdump-rows dev.db | dbapply --mirror $target"
		assert_failure 2
		assert_output --partial 'foreign key violation: a row of "documents" (rowid 901) references a missing row of "cases"'
		refute_output --partial 'rowid 900'
		snapshot "$target" after
		diff -u before after
	done
}

@test "an update whose set changes a key column is refused" {
	sqlite3 dev.db "UPDATE clients SET phone = 'p' WHERE id = 12"
	dbdiff prod.db dev.db > c.ndjson || true
	sed 's/"set":{"phone":"p"}/"set":{"id":13,"phone":"p"}/' c.ndjson > bad.ndjson
	run dbapply prod.db bad.ndjson
	assert_failure 2
	assert_output --regexp 'bad.ndjson:[0-9]+: "set" changes key column "id"'
}

@test "a two-table cycle (store <-> staff) with rows that point forward loads in one run" {
	mkdb src.db <<-'SQL'
	PRAGMA foreign_keys = ON;
	CREATE TABLE store (id INTEGER PRIMARY KEY, manager_id INTEGER NOT NULL REFERENCES staff(id) DEFERRABLE INITIALLY DEFERRED);
	CREATE TABLE staff (id INTEGER PRIMARY KEY, store_id INTEGER REFERENCES store(id), boss_id INTEGER REFERENCES staff(id));
	BEGIN;
	INSERT INTO store VALUES (1, 20), (2, 10);
	INSERT INTO staff VALUES (10, 2, 20), (20, 1, NULL);
	COMMIT;
	SQL
	mkdb dst.db <<-'SQL'
	CREATE TABLE store (id INTEGER PRIMARY KEY, manager_id INTEGER NOT NULL REFERENCES staff(id) DEFERRABLE INITIALLY DEFERRED);
	CREATE TABLE staff (id INTEGER PRIMARY KEY, store_id INTEGER REFERENCES store(id), boss_id INTEGER REFERENCES staff(id));
	SQL
	run dbdeps src.db
	assert_success
	assert_output --partial "cycle: "
	run sh -c 'dbdump-rows src.db | dbapply dst.db'
	assert_success
	assert_line --regexp '^total +4 +0 +0$'
	run dbdiff src.db dst.db
	assert_success
	assert_equal "$(sqlite3 dst.db 'PRAGMA foreign_key_check' | wc -l)" 0
}

@test "--rollback takes the undo stream of this database only, however its target is spelled" {
	mkdir a b
	cp prod.db a/prod.db
	cp prod.db b/prod.db
	run dbapply --rollback prod.db
	assert_failure 2
	assert_output --partial "no undo stream for prod.db: no backups/ here"
	dbdump-rows dev.db | dbapply --prefer source a/prod.db > /dev/null
	dump_body b/prod.db > b-before
	# b/prod.db shares the label "prod" and backups/, but not the database
	run dbapply --rollback b/prod.db
	assert_failure 2
	assert_output --partial "no undo stream for b/prod.db in backups/"
	run dbapply --rollback "sqlite:$PWD/a/../a/prod.db"
	assert_success
	dump_body b/prod.db > b-after
	diff -u b-before b-after
	assert_equal "$(sqlite3 a/prod.db 'SELECT count(*) FROM clients')" 101
}

@test "a protected environment asks for its name on a terminal, and only that name goes on" {
	printf '[prod]\nurl = sqlite:prod.db\nprotected = yes\n' > dbpipe.conf
	dbdump-rows dev.db > dev.ndjson
	snapshot prod.db before
	# script(1) gives dbapply a terminal on stdin; the stream comes from the file
	printf 'staging\n' | script -qec "dbapply --mirror prod dev.ndjson" /dev/null > out || true
	grep -q "prod is protected. Type its name to go on:" out
	grep -q "not confirmed: nothing was written to prod" out
	snapshot prod.db after
	diff -u before after
	printf 'prod\n' | script -qec "dbapply --mirror prod dev.ndjson" /dev/null > out
	grep -q "dbapply: backup: backups/prod-" out
	grep -qE '^clients +1 +1 +1' out
	run dbdiff dev.db prod.db
	assert_success
}

@test "--disable-triggers: rows arrive as sent, and the target's triggers are back afterwards as they were" {
	sqlite3 prod.db "CREATE TABLE audit (what TEXT);
		CREATE TRIGGER clients_touch AFTER UPDATE ON clients BEGIN
			UPDATE clients SET email = 'touched' WHERE id = NEW.id AND email <> 'touched';
			INSERT INTO audit VALUES ('update ' || NEW.id); END;
		CREATE TRIGGER clients_new AFTER INSERT ON clients BEGIN INSERT INTO audit VALUES ('insert ' || NEW.id); END;"
	triggers() { sqlite3 prod.db "SELECT name, sql FROM sqlite_schema WHERE type = 'trigger' ORDER BY name"; }
	before=$(triggers)
	# a dry run turns them off and on again inside its transaction: nothing changes
	run sh -c 'dbdump-rows dev.db | dbapply --prefer source -n --disable-triggers prod.db'
	assert_success
	assert_equal "$(triggers)" "$before"
	run sh -c 'dbdump-rows dev.db | dbapply --prefer source --disable-triggers prod.db'
	assert_success
	refute_output --partial "has triggers"
	assert_line --regexp '^clients +1 +1 +0$'
	assert_equal "$(sqlite3 prod.db 'SELECT count(*) FROM audit')" 0
	assert_equal "$(sqlite3 prod.db 'SELECT phone, email FROM clients WHERE id = 50')" "+1 555 9050|client50@example.com"
	assert_equal "$(triggers)" "$before"
	# they fire again for everyone else
	sqlite3 prod.db "UPDATE clients SET phone = 'x' WHERE id = 1"
	assert_equal "$(sqlite3 prod.db 'SELECT what FROM audit')" "update 1"
	# without the option they fire during the sync, and the sync says so
	sqlite3 dev.db "UPDATE clients SET phone = 'y' WHERE id = 2"
	run sh -c 'dbdump-rows dev.db | dbapply prod.db'
	assert_success
	assert_line 'dbapply: warning: table "clients" has triggers: they fire for every row written (--disable-triggers turns them off)'
	assert_equal "$(sqlite3 prod.db 'SELECT email FROM clients WHERE id = 2')" touched
}

@test "a mark file that cannot be read is taken for no mark: a warning, and the sync goes on" {
	mkdir -p backups
	echo 'not json' > backups/prod.mark.json
	run --separate-stderr dbapply --mark prod.db
	assert_success
	assert_output ""
	assert_equal "$stderr" "dbapply: warning: backups/prod.mark.json:1: invalid JSON at column 1: not a value (taken for no mark)"
	run sh -c 'dbdump-rows dev.db | dbapply --prefer source prod.db'
	assert_success
	assert_line --regexp '^clients +1 +1 +0$'
	# a stream without a mark (SQLite has none) leaves the target without one
	assert [ ! -e backups/prod.mark.json ]
}

# --- the sync base: a merge that never loses a row ---

# dev and prod equal, synced once so that prod keeps a base from dev.
synced_pair() {
	office_db dev.db
	cp dev.db prod.db
	dbdump-rows dev.db | dbapply prod.db > /dev/null
}

@test "a second sync finds nothing to do; the base is kept per source, only after a real run" {
	office_db dev.db
	cp dev.db prod.db
	dbdump-rows dev.db | dbapply --dry-run prod.db > /dev/null
	run ls backups
	assert_failure # a dry run keeps nothing
	dbdump-rows dev.db | dbapply prod.db > /dev/null
	base=$(ls backups/prod.base-*.ndjson.zst)
	run dbbackup --verify "$base"
	assert_success
	assert_equal "$(zstdcat "$base" | head -n 1 | jq -r '.purpose + " " + .source')" "syncbase dev.db"
	run sh -c 'dbdump-rows dev.db | dbapply prod.db'
	assert_success
	assert_line "total              0         0         0"
	# a stream from another source is not compared with dev's base: its
	# first sync names the row that differs, and leaves it out
	cp dev.db other.db
	sqlite3 other.db "UPDATE clients SET phone = 'other' WHERE id = 1"
	sqlite3 prod.db "UPDATE clients SET phone = 'prod' WHERE id = 1"
	run sh -c 'dbdump-rows other.db | dbapply prod.db'
	assert_failure 1
	assert_line "1 row not applied: other values under the same key, and no sync base to tell an edit from a collision (a first sync: --prefer or --rekey settles them)"
	assert_equal "$(sqlite3 prod.db 'SELECT phone FROM clients WHERE id = 1')" prod
	assert_equal "$(ls backups/prod.base-*.ndjson.zst | wc -l)" 2
}

@test "a row prod changed since the last sync is kept; dev's changes to other columns still arrive" {
	synced_pair
	sqlite3 prod.db "UPDATE clients SET vip = 1 WHERE id = 11; UPDATE clients SET email = 'new@prod' WHERE id = 12"
	sqlite3 dev.db "UPDATE clients SET phone = 'dev phone' WHERE id = 12"
	run sh -c 'dbdump-rows dev.db | dbapply prod.db'
	assert_success
	assert_line "clients            0         1         0"
	assert_line "2 rows changed in the target since the last sync kept as changed"
	assert_equal "$(sqlite3 prod.db 'SELECT vip FROM clients WHERE id = 11')" 1
	assert_equal "$(sqlite3 prod.db "SELECT email || ' ' || phone FROM clients WHERE id = 12")" "new@prod dev phone"
	# and the next sync leaves prod's edits alone again
	run sh -c 'dbdump-rows dev.db | dbapply prod.db'
	assert_success
	assert_line "total              0         0         0"
	assert_equal "$(sqlite3 prod.db 'SELECT vip FROM clients WHERE id = 11')" 1
}

@test "after a schema change the base cannot be used: a row prod edited is reported, not overwritten; dev's values in the new column arrive" {
	synced_pair
	sqlite3 dev.db "ALTER TABLE clients ADD COLUMN tier TEXT DEFAULT 'basic'; UPDATE clients SET tier = 'gold' WHERE id = 3"
	sqlite3 prod.db "UPDATE clients SET phone = 'prod phone' WHERE id = 5"
	run sh -c 'dbdump-rows dev.db | dbapply --schema prod.db'
	assert_failure 1
	assert_output --partial 'table "clients" has other columns or another key than in the sync base'
	assert_output --partial 'table "clients" at key {"id":5}: the stream and the target hold other rows under this key'
	refute_output --partial '{"id":3}'
	assert_equal "$(sqlite3 prod.db 'SELECT phone FROM clients WHERE id = 5')" "prod phone"
	assert_equal "$(sqlite3 prod.db 'SELECT tier FROM clients WHERE id = 3')" gold
	# prod's edit stands: --prefer target settles it, and the next sync is clean
	run sh -c 'dbdump-rows dev.db | dbapply --prefer target prod.db'
	assert_success
	assert_equal "$(sqlite3 prod.db 'SELECT phone FROM clients WHERE id = 5')" "prod phone"
	run sh -c 'dbdump-rows dev.db | dbapply prod.db'
	assert_success
	assert_line --regexp '^total +0 +0 +0$'
}

@test "a sync of part of the data (--subset, -t) keeps the base's other rows as they were: the next whole sync still tells prod's own edits from dev's" {
	synced_pair
	sqlite3 prod.db "UPDATE clients SET vip = 1 WHERE id = 11; UPDATE documents SET filename = 'prod.pdf' WHERE id = 3"
	sqlite3 dev.db "UPDATE clients SET phone = 'dev 12' WHERE id = 12; UPDATE clients SET phone = 'dev 13' WHERE id = 13"
	# client 12 and what it needs: every table read in part, by key
	run sh -c "dbdump-rows --subset 'clients:id = 12' dev.db | dbapply prod.db"
	assert_success
	assert_line --regexp '^clients +0 +1 +0$'
	# clients whole, and no other table
	run sh -c 'dbdump-rows -t clients dev.db | dbapply prod.db'
	assert_success
	assert_line --regexp '^clients +0 +1 +0$'
	assert_line "1 row changed in the target since the last sync kept as changed"
	# the whole sync: nothing left to write, and prod's two edits are its own
	run sh -c 'dbdump-rows dev.db | dbapply prod.db'
	assert_success
	assert_line "total              0         0         0"
	assert_line "2 rows changed in the target since the last sync kept as changed"
	assert_equal "$(sqlite3 prod.db "SELECT vip FROM clients WHERE id = 11; SELECT filename FROM documents WHERE id = 3")" "1
prod.pdf"
	# and the base holds a row for each of dev's, whole
	base=$(ls backups/prod.base-*.ndjson.zst)
	run dbbackup --verify "$base"
	assert_success
	assert_equal "$(zstdcat "$base" | jq -c 'select(.type == "row") | .row' | sort | md5sum)" \
		"$(dbdump-rows dev.db | jq -c 'select(.type == "row") | .row' | sort | md5sum)"
}

@test "a row prod deleted since the last sync stays deleted" {
	synced_pair
	sqlite3 prod.db "DELETE FROM documents WHERE id = 3"
	run sh -c 'dbdump-rows dev.db | dbapply prod.db'
	assert_success
	assert_line "total              0         0         0"
	assert_equal "$(sqlite3 prod.db 'SELECT count(*) FROM documents WHERE id = 3')" 0
}

@test "the same column changed on both sides: a conflict with base and both values, left out, exit 1; the rest applies" {
	synced_pair
	sqlite3 prod.db "UPDATE clients SET phone = 'prod phone' WHERE id = 5"
	sqlite3 dev.db "UPDATE clients SET phone = 'dev phone' WHERE id = 5; UPDATE clients SET name = 'Renamed' WHERE id = 6"
	run sh -c 'dbdump-rows dev.db | dbapply prod.db'
	assert_failure 1
	assert_output --regexp 'dbapply: <stdin>:[0-9]+: table "clients" at key \{"id":5\}: conflict: both changed since the last sync: "phone": base "\+1 555 [0-9]+", stream "dev phone", target "prod phone"'
	assert_line "1 conflict not applied: changed on both sides since the last sync (--prefer settles them)"
	assert_equal "$(sqlite3 prod.db 'SELECT phone FROM clients WHERE id = 5')" "prod phone"
	assert_equal "$(sqlite3 prod.db 'SELECT name FROM clients WHERE id = 6')" "Renamed"
	# reported again until settled, never overwritten silently
	run sh -c 'dbdump-rows dev.db | dbapply prod.db'
	assert_failure 1
	assert_output --partial 'at key {"id":5}: conflict'
	run sh -c 'dbdump-rows dev.db | dbapply --prefer target prod.db'
	assert_success
	assert_equal "$(sqlite3 prod.db 'SELECT phone FROM clients WHERE id = 5')" "prod phone"
	# settled for the target: the next sync takes prod's phone for prod's own edit
	run sh -c 'dbdump-rows dev.db | dbapply prod.db'
	assert_success
	assert_line "1 row changed in the target since the last sync kept as changed"
}

@test "--prefer source, and prefer = source in the environment, settle a conflict for the stream" {
	synced_pair
	sqlite3 prod.db "UPDATE clients SET phone = 'prod phone', email = 'prod@x' WHERE id = 5"
	sqlite3 dev.db "UPDATE clients SET phone = 'dev phone' WHERE id = 5"
	run sh -c 'dbdump-rows dev.db | dbapply --prefer source prod.db'
	assert_success
	# the conflicting column takes dev's value, prod's own email stays
	assert_equal "$(sqlite3 prod.db "SELECT phone || ' ' || email FROM clients WHERE id = 5")" "dev phone prod@x"
	# the same target named by an environment: the same base
	printf '[prod]\nurl = sqlite:prod.db\nprefer = source\n' > dbpipe.conf
	sqlite3 prod.db "UPDATE clients SET phone = 'prod again' WHERE id = 6"
	sqlite3 dev.db "UPDATE clients SET phone = 'dev again' WHERE id = 6"
	run sh -c 'dbdump-rows dev.db | dbapply prod'
	assert_success
	assert_equal "$(sqlite3 prod.db "SELECT phone FROM clients WHERE id = 6")" "dev again"
	printf '[prod]\nurl = sqlite:prod.db\nprefer = dev\n' > dbpipe.conf
	run dbapply prod < /dev/null
	assert_failure 2
	assert_output --partial "prefer takes source or target"
	run dbapply --prefer both prod.db < /dev/null
	assert_failure 2
	assert_output --partial "--prefer takes source or target"
}

@test "a key both sides created for other rows is a collision: never an update; the rows that refer to it are held back" {
	synced_pair
	# prod's Lucia and dev's Giovanni both get id 101; dev gives Giovanni a case and a document
	sqlite3 prod.db "INSERT INTO clients (id, name, created_at) VALUES (101, 'Lucia', '2026-03-03 11:00:00')"
	sqlite3 dev.db "INSERT INTO clients (id, name, created_at) VALUES (101, 'Giovanni', '2026-03-03 12:00:00');
		INSERT INTO clients (id, name, referred_by, created_at) VALUES (102, 'Friend of Giovanni', 101, '2026-03-03 12:00:00');
		INSERT INTO clients (id, name, created_at) VALUES (103, 'Unrelated', '2026-03-03 12:00:00');
		INSERT INTO cases (id, client_id, type_id, title, opened) VALUES (51, 101, 1, 'Giovanni case', '2026-03-04');
		INSERT INTO documents (case_id, filename) VALUES (51, 'giovanni.pdf')"
	snapshot prod.db before
	for flag in "" "--insert-only" "--prefer source"; do
		run sh -c "dbdump-rows dev.db | dbapply $flag --dry-run prod.db"
		assert_failure 1
		assert_output --regexp 'table "clients" at key \{"id":101\}: collision: the stream and the target each created this key for another row \("name": stream "Giovanni", target "Lucia"'
	done
	snapshot prod.db after
	diff -u before after
	run sh -c 'dbdump-rows dev.db | dbapply prod.db'
	assert_failure 1
	assert_output --partial 'table "clients" at key {"id":102}: held back: it refers to table "clients" at {"id":101}, which is not applied'
	assert_output --partial 'table "cases" at key {"id":51}: held back: it refers to table "clients" at {"id":101}'
	assert_output --partial 'table "documents" at key {"id":'
	assert_line "1 collision not applied: a key both sides created for other rows"
	assert_line "3 rows held back: they refer to a row not applied"
	assert_equal "$(sqlite3 prod.db 'SELECT name FROM clients WHERE id = 101')" "Lucia"
	assert_equal "$(sqlite3 prod.db 'SELECT count(*) FROM clients WHERE id IN (102)')" 0
	assert_equal "$(sqlite3 prod.db 'SELECT count(*) FROM cases WHERE client_id = 101')" 0
	assert_equal "$(sqlite3 prod.db 'SELECT name FROM clients WHERE id = 103')" "Unrelated"
}

@test "--rollback puts the sync base back: the undone rows come again on the next sync" {
	synced_pair
	old=$(sqlite3 prod.db 'SELECT phone FROM clients WHERE id = 7')
	sqlite3 dev.db "UPDATE clients SET phone = 'v2' WHERE id = 7"
	dbdump-rows dev.db | dbapply prod.db > /dev/null
	assert_equal "$(sqlite3 prod.db 'SELECT phone FROM clients WHERE id = 7')" v2
	run dbapply --rollback prod.db
	assert_success
	assert_equal "$(sqlite3 prod.db 'SELECT phone FROM clients WHERE id = 7')" "$old"
	# with the base of the sync rolled back, prod's old phone is not taken for prod's own edit
	run sh -c 'dbdump-rows dev.db | dbapply prod.db'
	assert_success
	assert_line "clients            0         1         0"
	assert_equal "$(sqlite3 prod.db 'SELECT phone FROM clients WHERE id = 7')" v2
	# a rollback of the very first sync removes the base it made
	office_db a.db
	mkdb b.db < "$ROOT/examples/office-schema.sql"
	dbdump-rows a.db | dbapply b.db > /dev/null
	ls backups/b.base-*
	dbapply --rollback b.db > /dev/null
	run ls backups/b.base-*
	assert_failure
}

@test "a sync base kept gzip'd by an earlier dbpipe is read, replaced by a zstd one, and put back by --rollback" {
	synced_pair
	base=$(ls backups/prod.base-*.ndjson.zst)
	old=${base%.ndjson.zst}.ndjson.gz
	zstdcat "$base" | gzip > "$old"
	rm "$base"
	sqlite3 dev.db "UPDATE clients SET phone = 'dev' WHERE id = 7"
	sqlite3 prod.db "UPDATE clients SET phone = 'prod' WHERE id = 12"
	# the old base tells prod's own edit from dev's: both kept, nothing left out
	run sh -c 'dbdump-rows dev.db | dbapply prod.db'
	assert_success
	assert_line --regexp '^clients +0 +1 +0$'
	assert_equal "$(sqlite3 prod.db 'SELECT phone FROM clients WHERE id IN (7, 12) ORDER BY id' | tr '\n' ' ')" "dev prod "
	[ -e "$base" ] && [ ! -e "$old" ]
	ls backups/prod-*.prevbase-*.ndjson.gz
	# the rollback brings the gzip'd base back, and the next sync reads it again
	dbapply --rollback prod.db > /dev/null
	[ -e "$old" ] && [ ! -e "$base" ]
	run dbbackup --verify "$old"
	assert_success
	run sh -c 'dbdump-rows dev.db | dbapply prod.db'
	assert_success
	assert_line --regexp '^clients +0 +1 +0$'
}

@test "a failed sync keeps the old base" {
	synced_pair
	before=$(zstdcat backups/prod.base-*.ndjson.zst | tail -n +2 | md5sum)
	sqlite3 dev.db "UPDATE clients SET phone = 'x' WHERE id = 3"
	run sh -c 'dbdump-rows dev.db | head -c 3000 | dbapply prod.db'
	assert_failure 2
	assert_equal "$(zstdcat backups/prod.base-*.ndjson.zst | tail -n +2 | md5sum)" "$before"
	run ls backups/*.partial*
	assert_failure
}

@test "migration-history tables are left out of a sync, said in the summary; --with-history and backups include them" {
	office_db dev.db
	sqlite3 dev.db "CREATE TABLE django_migrations (id INTEGER PRIMARY KEY, app TEXT, name TEXT);
		INSERT INTO django_migrations VALUES (1, 'office', '0001_initial'), (2, 'office', '0002_dev_only');
		CREATE TABLE app_versions (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO app_versions VALUES (1, 'dev')"
	cp dev.db prod.db
	sqlite3 prod.db "DELETE FROM django_migrations WHERE id = 2; DELETE FROM app_versions"
	run sh -c 'dbdump-rows dev.db | dbapply prod.db'
	assert_success
	assert_line 'history tables left out: "django_migrations" (--with-history includes them)'
	assert_equal "$(sqlite3 prod.db 'SELECT count(*) FROM django_migrations')" 1
	assert_equal "$(sqlite3 prod.db 'SELECT count(*) FROM app_versions')" 1
	printf '[prod]\nurl = sqlite:prod.db\nhistory_tables = app_*\n' > dbpipe.conf
	sqlite3 prod.db "DELETE FROM app_versions"
	run sh -c 'dbdump-rows dev.db | dbapply prod'
	assert_line 'history tables left out: "app_versions", "django_migrations" (--with-history includes them)'
	assert_equal "$(sqlite3 prod.db 'SELECT count(*) FROM app_versions')" 0
	run sh -c 'dbdump-rows dev.db | dbapply --with-history prod'
	assert_success
	refute_output --partial "history tables"
	assert_equal "$(sqlite3 prod.db 'SELECT count(*) FROM django_migrations')" 2
	# a backup is a restore, not a sync: its history comes back with it
	dbbackup prod > /dev/null 2>&1
	sqlite3 prod.db "DELETE FROM django_migrations WHERE id = 2"
	run sh -c "dbapply --mirror prod < \$(ls backups/prod-*.backup.ndjson.gz)"
	assert_success
	assert_equal "$(sqlite3 prod.db 'SELECT count(*) FROM django_migrations')" 2
}

@test "a table that refers to a table the target's environment excludes is refused before anything is written" {
	printf '[prod]\nurl = sqlite:prod.db\nexclude = case_types\n' > dbpipe.conf
	snapshot prod.db before
	run sh -c 'dbdump-rows dev.db | dbapply prod'
	assert_failure 2
	assert_output --regexp 'dbapply: <stdin>:[0-9]+: table "cases": column "type_id" refers to table "case_types", which the target.s environment excludes: its ids there name other rows\.  Exclude "cases" too, or stop excluding "case_types"'
	assert_output --partial "nothing was written"
	snapshot prod.db after
	diff -u before after
	# excluding the referring tables too is accepted
	printf '[prod]\nurl = sqlite:prod.db\nexclude = case_types cases documents\n' > dbpipe.conf
	run sh -c 'dbdump-rows dev.db | dbapply --prefer source prod'
	assert_success
}

@test "a base that no longer says what the target held is not used: a table emptied outside the syncs, a --mirror from another source" {
	synced_pair
	# prod's tables emptied behind dbapply's back (made anew): dev's rows come back, with a warning
	sqlite3 prod.db "DELETE FROM documents; DELETE FROM cases"
	run sh -c 'dbdump-rows dev.db | dbapply prod.db'
	assert_success
	assert_output --partial 'table "cases" is empty in the target but not in its sync base'
	assert_line --regexp '^cases +50 +0 +0$'
	# a --mirror from another source makes prod that source's copy: dev's base goes (kept for the rollback)
	cp dev.db other.db
	sqlite3 other.db "UPDATE clients SET phone = 'other' WHERE id = 1"
	dbdump-rows other.db | dbapply --mirror prod.db > /dev/null
	assert_equal "$(ls backups/prod.base-*.ndjson.zst | wc -l)" 1
	run sh -c 'dbdump-rows dev.db | dbapply --dry-run prod.db'
	assert_line "1 row not applied: other values under the same key, and no sync base to tell an edit from a collision (a first sync: --prefer or --rekey settles them)"
	# the rollback puts dev's base back and takes other's away
	dbapply --rollback prod.db > /dev/null
	run sh -c 'dbdump-rows dev.db | dbapply --dry-run prod.db'
	assert_line "total              0         0         0"
	run sh -c 'dbdump-rows other.db | dbapply --dry-run prod.db'
	assert_line "1 row not applied: other values under the same key, and no sync base to tell an edit from a collision (a first sync: --prefer or --rekey settles them)"
}

@test "a damaged sync base is refused by a merge, which reads it, and replaced by a --mirror, which does not" {
	synced_pair
	sqlite3 dev.db "UPDATE clients SET phone = 'new' WHERE id = 5"
	base=$(ls backups/prod.base-*.ndjson.zst)
	zstdcat "$base" | head -n -1 | zstd -q > cut.zst
	mv cut.zst "$base"
	snapshot prod.db before
	run sh -c 'dbdump-rows dev.db | dbapply prod.db'
	assert_failure 2
	# (the base's last lines: its table of keys a first sync left out, empty)
	assert_output --partial "$base:185: truncated stream: no final end record"
	assert_output --partial "dbapply: nothing was written to prod.db"
	snapshot prod.db after
	diff -u before after
	run sh -c 'dbdump-rows dev.db | dbapply --mirror prod.db'
	assert_success
	assert_line --regexp '^clients +0 +1 +0$'
	run dbbackup --verify "$base"
	assert_success
	assert_output "$base: ok, 4 tables, 174 rows"
	run sh -c 'dbdump-rows dev.db | dbapply prod.db'
	assert_success
	assert_line --regexp '^total +0 +0 +0$'
}

@test "a sync base that cannot be written (compressed on a thread of its own) fails the run before the commit" {
	# a megabyte of base, past what zstd holds back before it writes
	mkdb dev.db <<-'SQL'
	CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL);
	WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
	INSERT INTO t SELECT i, hex(randomblob(24)) FROM n;
	SQL
	cp dev.db prod.db
	dbdump-rows dev.db | dbapply prod.db > /dev/null
	sqlite3 dev.db "UPDATE t SET v = 'new' WHERE id = 5"
	base=$(ls backups/prod.base-*.ndjson.zst)
	ln -s /dev/full "${base%.ndjson.zst}.ndjson.partial.zst"
	snapshot prod.db before
	run -2 --separate-stderr sh -c 'dbdump-rows dev.db | dbapply --mirror prod.db'
	[[ "${stderr_lines[0]}" == "dbapply: ${base%.ndjson.zst}.ndjson.partial.zst: write error: "*"No space left on device" ]]
	assert_equal "${stderr_lines[-1]}" "dbapply: nothing was written to prod.db"
	snapshot prod.db after
	diff -u before after
	# the old base is still there, whole
	run dbbackup --verify "$base"
	assert_success
}

# dev and prod of an app whose reference tables have other ids on each side:
# content types created in another order, users of their own.
natural_pair() {
	for db in dev.db prod.db; do
		mkdb "$db" <<-'SQL'
		CREATE TABLE ctype (id INTEGER PRIMARY KEY, app TEXT NOT NULL, model TEXT NOT NULL, UNIQUE (app, model));
		CREATE TABLE users (id INTEGER PRIMARY KEY, username TEXT NOT NULL UNIQUE);
		CREATE TABLE perm (id INTEGER PRIMARY KEY, ctype_id INTEGER NOT NULL REFERENCES ctype(id), codename TEXT NOT NULL);
		CREATE TABLE cases (id INTEGER PRIMARY KEY, title TEXT);
		CREATE TABLE assigned (id INTEGER PRIMARY KEY, case_id INTEGER REFERENCES cases(id), user_id INTEGER REFERENCES users(id));
		CREATE TABLE notes (id INTEGER PRIMARY KEY, ctype_id INTEGER REFERENCES ctype(id), object_id INTEGER,
			perm_id INTEGER REFERENCES perm(id), text TEXT);
		SQL
	done
	sqlite3 dev.db "INSERT INTO ctype VALUES (1, 'office', 'client'), (2, 'auth', 'user');
		INSERT INTO users VALUES (1, 'giovanni'), (2, 'lucia');
		INSERT INTO perm VALUES (1, 1, 'add_client'), (2, 2, 'add_user');
		INSERT INTO cases VALUES (1, 'first case');
		INSERT INTO assigned VALUES (1, 1, 2);
		INSERT INTO notes VALUES (1, 1, 5, 1, 'about client 5')"
	sqlite3 prod.db "INSERT INTO ctype VALUES (1, 'auth', 'user'), (2, 'office', 'client');
		INSERT INTO users VALUES (7, 'lucia'), (8, 'giovanni');
		INSERT INTO perm VALUES (10, 1, 'add_user'), (11, 2, 'add_client')"
	printf '[prod]\nurl = sqlite:prod.db\nnatural = ctype(app, model) users(username) perm(ctype_id, codename)\n' > dbpipe.conf
}

@test "natural keys: references into tables whose ids differ per side are translated; those tables stay the target's own" {
	natural_pair
	run sh -c 'dbdump-rows dev.db | dbapply prod'
	assert_success
	assert_output --partial 'table "users" is matched by its natural key: not applied, and references into it are translated'
	# dev's user 2 is lucia, prod's 7; dev's content type 1 is office.client, prod's 2; dev's permission 1, prod's 11
	assert_equal "$(sqlite3 prod.db 'SELECT case_id, user_id FROM assigned')" "1|7"
	assert_equal "$(sqlite3 prod.db 'SELECT ctype_id, perm_id FROM notes')" "2|11"
	assert_equal "$(sqlite3 prod.db 'SELECT group_concat(id || username) FROM users')" "7lucia,8giovanni"
	# the next sync finds nothing to do
	run sh -c 'dbdump-rows dev.db | dbapply prod'
	assert_success
	assert_line --regexp '^total +0 +0 +0$'
	# a natural key the target lacks stops the run before anything is written
	sqlite3 dev.db "INSERT INTO users VALUES (3, 'nobody'); INSERT INTO assigned VALUES (2, 1, 3); INSERT INTO cases VALUES (2, 'second')"
	snapshot prod.db before
	run sh -c 'dbdump-rows dev.db | dbapply prod'
	assert_failure 2
	assert_output --regexp '<stdin>:[0-9]+: table "assigned": column "user_id" refers to the row of "users" with username=nobody, which the target lacks'
	snapshot prod.db after
	diff -u before after
}

@test "natural keys: a reference into an excluded table with a natural key is translated, not refused; a malformed setting is refused" {
	natural_pair
	printf '[prod]\nurl = sqlite:prod.db\nexclude = users\nnatural = ctype(app, model) users(username) perm(ctype_id, codename)\n' > dbpipe.conf
	run sh -c 'dbdump-rows dev.db | dbapply prod'
	assert_success
	assert_equal "$(sqlite3 prod.db 'SELECT user_id FROM assigned')" 7
	printf '[prod]\nurl = sqlite:prod.db\nnatural = users username\n' > dbpipe.conf
	run dbapply prod < /dev/null
	assert_failure 2
	assert_output --partial 'dbpipe.conf:3: natural takes TABLE(column, ...), space-separated'
	printf '[prod]\nurl = sqlite:prod.db\nnatural = users(login)\n' > dbpipe.conf
	run sh -c 'dbdump-rows dev.db | dbapply prod'
	assert_failure 2
	assert_output --partial 'natural key users: the target'"'"'s table has no column "login"'
}

@test "a row that refers to a later collision of its own table cannot be held back: the run stops, nothing written" {
	synced_pair
	sqlite3 prod.db "INSERT INTO clients (id, name, created_at) VALUES (101, 'Lucia', '2026-03-03 11:00:00')"
	# dev's client 7, read before #101, now names dev's #101 as the one who referred it
	sqlite3 dev.db "INSERT INTO clients (id, name, created_at) VALUES (101, 'Giovanni', '2026-03-03 12:00:00');
		UPDATE clients SET referred_by = 101 WHERE id = 7"
	snapshot prod.db before
	run sh -c 'dbdump-rows dev.db | dbapply prod.db'
	assert_failure 2
	assert_output --regexp '<stdin>:[0-9]+: table "clients" at key \{"id":7\} refers to table "clients" at \{"id":101\}, which is not applied, and comes before it in the stream, too early to be held back with it'
	snapshot prod.db after
	diff -u before after
}

@test "--rollback refuses while a later run's commit is unsettled (only its partial undo stream is left), and names it" {
	dbdump-rows dev.db | dbapply --prefer source prod.db > /dev/null
	phone9=$(sqlite3 prod.db 'SELECT phone FROM clients WHERE id = 9')
	sqlite3 dev.db "UPDATE clients SET phone = 'second sync' WHERE id = 9"
	dbdump-rows dev.db | dbapply prod.db > /dev/null
	# as if the second run were killed during its commit, after the data went in
	# (the newest by time: two runs in one second are named T and T-1, and
	# T-1 sorts first by name)
	last=$(ls -t backups/*.undo.ndjson.gz | head -1)
	mv "$last" "${last%.undo.ndjson.gz}.undo.ndjson.partial.gz"
	snapshot prod.db before
	run dbapply --rollback prod.db
	assert_failure 2
	assert_output --partial ".undo.ndjson.partial.gz: a later sync into prod.db was stopped during its commit, so whether it committed is unknown"
	snapshot prod.db after
	diff -u before after
	# settled: its changes are in prod, so it is the one to undo
	mv "${last%.undo.ndjson.gz}.undo.ndjson.partial.gz" "$last"
	run dbapply --rollback prod.db
	assert_success
	assert_equal "$(sqlite3 prod.db 'SELECT phone FROM clients WHERE id = 9')" "$phone9"
}

@test "SIGINT or SIGTERM mid-apply: rolled back, spool and partial undo removed, said so, exit 130 or 143" {
	dbdump-rows dev.db > s.ndjson
	snapshot prod.db before
	for sig in INT TERM; do
		mkdir -p "tmp.$sig"
		mkfifo "stalled.$sig"
		TMPDIR=$T/tmp.$sig dbapply prod.db < "stalled.$sig" > out 2> err &
		pid=$!
		exec {stall}> "stalled.$sig"
		head -n 150 s.ndjson >&$stall
		# dbapply holds its spool directory while it waits for the rest
		for _ in $(seq 1 100); do
			[ -n "$(ls "tmp.$sig")" ] && break
			sleep 0.05
		done
		kill -s "$sig" $pid
		rc=0
		wait $pid || rc=$?
		exec {stall}>&-
		assert_equal "$rc" "$([ $sig = INT ] && echo 130 || echo 143)"
		run cat err
		assert_output --partial "interrupted"
		assert_output --partial "nothing was written to prod.db"
		assert_equal "$(ls "tmp.$sig")" ""
		run sh -c 'ls backups/*.partial* 2>/dev/null'
		assert_output ""
		snapshot prod.db after
		diff -u before after
	done
}

@test "--rekey: a collision goes in under a new key, the rows that refer to it follow, and later syncs from dev are clean" {
	synced_pair
	sqlite3 prod.db "INSERT INTO clients (id, name, created_at) VALUES (101, 'Lucia', '2026-03-03 11:00:00');
		INSERT INTO cases (id, client_id, type_id, title, opened) VALUES (51, 101, 1, 'Lucia case', '2026-03-04')"
	sqlite3 dev.db "INSERT INTO clients (id, name, created_at) VALUES (101, 'Giovanni', '2026-03-03 12:00:00');
		INSERT INTO clients (id, name, referred_by, created_at) VALUES (102, 'Friend', 101, '2026-03-03 12:00:00');
		INSERT INTO cases (id, client_id, type_id, title, opened) VALUES (51, 101, 1, 'Giovanni case', '2026-03-04');
		INSERT INTO documents (id, case_id, filename) VALUES (900, 51, 'giovanni.pdf')"
	run sh -c 'dbdump-rows dev.db | dbapply --rekey prod.db'
	assert_success
	assert_output --partial 'table "clients" at key {"id":101}: collision: inserted as {"id":103} (--rekey)'
	assert_output --partial 'table "cases" at key {"id":51}: collision: inserted as {"id":52} (--rekey)'
	assert_line "2 collisions re-keyed: inserted under a new key (--rekey)"
	# Lucia and her case are untouched; Giovanni, his friend, case and document point at each other
	assert_equal "$(sqlite3 prod.db "SELECT name FROM clients WHERE id = 101")" Lucia
	assert_equal "$(sqlite3 prod.db "SELECT title FROM cases WHERE client_id = 101")" "Lucia case"
	assert_equal "$(sqlite3 prod.db "SELECT name FROM clients WHERE id = 103")" Giovanni
	assert_equal "$(sqlite3 prod.db "SELECT referred_by FROM clients WHERE name = 'Friend'")" 103
	assert_equal "$(sqlite3 prod.db "SELECT id || ' ' || client_id FROM cases WHERE title = 'Giovanni case'")" "52 103"
	assert_equal "$(sqlite3 prod.db "SELECT case_id FROM documents WHERE filename = 'giovanni.pdf'")" 52
	# the next sync finds nothing to do, with or without --rekey
	run sh -c 'dbdump-rows dev.db | dbapply prod.db'
	assert_success
	assert_line --regexp '^total +0 +0 +0$'
	# dev's later changes reach Giovanni's row in prod, and a new case of his follows the map
	sqlite3 dev.db "UPDATE clients SET phone = 'giovanni phone' WHERE id = 101;
		INSERT INTO cases (id, client_id, type_id, title, opened) VALUES (60, 101, 1, 'Second case', '2026-03-05')"
	run sh -c 'dbdump-rows dev.db | dbapply prod.db'
	assert_success
	assert_equal "$(sqlite3 prod.db "SELECT phone FROM clients WHERE id = 103")" "giovanni phone"
	assert_equal "$(sqlite3 prod.db "SELECT phone IS NULL FROM clients WHERE id = 101")" 1
	assert_equal "$(sqlite3 prod.db "SELECT client_id FROM cases WHERE id = 60")" 103
	# the rollback of the re-keying sync takes its rows out and forgets the map
	dbapply --rollback prod.db > /dev/null
	dbapply --rollback prod.db > /dev/null
	assert_equal "$(sqlite3 prod.db "SELECT count(*) FROM clients WHERE id IN (102, 103)")" 0
	run sh -c 'dbdump-rows dev.db | dbapply --dry-run prod.db'
	assert_failure 1
	assert_output --partial 'table "clients" at key {"id":101}: collision'
}

@test "--rekey: dev's own row under a key --rekey gave in prod is a collision in turn" {
	synced_pair
	sqlite3 prod.db "INSERT INTO clients (id, name, created_at) VALUES (101, 'Lucia', '2026-03-03 11:00:00')"
	sqlite3 dev.db "INSERT INTO clients (id, name, created_at) VALUES (101, 'Giovanni', '2026-03-03 12:00:00')"
	dbdump-rows dev.db | dbapply --rekey prod.db > /dev/null 2>&1 # Giovanni is prod's 102
	sqlite3 dev.db "INSERT INTO clients (id, name, created_at) VALUES (102, 'Dev 102', '2026-03-03 12:00:00')"
	run sh -c 'dbdump-rows dev.db | dbapply prod.db'
	assert_failure 1
	assert_output --partial 'table "clients" at key {"id":102}: collision: --rekey gave this key in the target to another row'
	assert_equal "$(sqlite3 prod.db "SELECT name FROM clients WHERE id = 102")" Giovanni
	printf '[prod]\nurl = sqlite:prod.db\nrekey = yes\n' > dbpipe.conf
	run sh -c 'dbdump-rows dev.db | dbapply prod'
	assert_success
	assert_output --partial 'table "clients" at key {"id":102}: collision: inserted as {"id":103} (--rekey)'
	assert_equal "$(sqlite3 prod.db "SELECT group_concat(id || name, ',') FROM clients WHERE id > 100")" "101Lucia,102Giovanni,103Dev 102"
	run sh -c 'dbdump-rows dev.db | dbapply prod'
	assert_success
	assert_line --regexp '^total +0 +0 +0$'
}

@test "--rekey then --mirror: the mirror makes prod dev's copy, keys and all, and drops the map" {
	synced_pair
	sqlite3 prod.db "INSERT INTO clients (id, name, created_at) VALUES (101, 'Lucia', '2026-03-03 11:00:00')"
	sqlite3 dev.db "INSERT INTO clients (id, name, created_at) VALUES (101, 'Giovanni', '2026-03-03 12:00:00');
		INSERT INTO cases (id, client_id, type_id, title, opened) VALUES (51, 101, 1, 'Giovanni case', '2026-03-04')"
	dbdump-rows dev.db | dbapply --rekey prod.db > /dev/null 2>&1
	assert_equal "$(sqlite3 prod.db "SELECT client_id FROM cases WHERE id = 51")" 102
	run sh -c 'dbdump-rows dev.db | dbapply --mirror prod.db'
	assert_success
	run dbdiff dev.db prod.db
	assert_success
	run sh -c 'zstdcat backups/prod.base-*.ndjson.zst | grep -c dbpipe.rekey'
	assert_output 0
	run sh -c 'dbdump-rows dev.db | dbapply prod.db'
	assert_success
	assert_line --regexp '^total +0 +0 +0$'
}

@test "a row a target's trigger makes during the sync is written over with the stream's values, and counted" {
	for db in dev.db prod.db; do
		mkdb "$db" <<-'SQL'
		CREATE TABLE clients (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
		CREATE TABLE client_notes (client_id INTEGER PRIMARY KEY, note TEXT NOT NULL);
		CREATE TRIGGER note_new AFTER INSERT ON clients BEGIN
			INSERT INTO client_notes VALUES (NEW.id, 'new client ' || NEW.name);
		END;
		INSERT INTO clients VALUES (1, 'Ann'), (2, 'Bob');
		SQL
	done
	# dev's trigger made Cid's note, which dev then edited
	sqlite3 dev.db "INSERT INTO clients VALUES (3, 'Cid'); UPDATE client_notes SET note = 'met at the fair' WHERE client_id = 3"
	# client_notes comes first by name; clients, whose trigger writes it, is written first
	run --separate-stderr dbapply prod.db <(dbdump-rows dev.db)
	assert_success
	assert_line --regexp '^total +2 +0 +0$'
	assert_line "1 row made by a trigger during this sync written over with the stream's values"
	assert_equal "$(sqlite3 prod.db 'SELECT note FROM client_notes WHERE client_id = 3')" "met at the fair"
	run dbdiff dev.db prod.db
	assert_success
	# the rollback takes both rows out again
	run dbapply --rollback prod.db
	assert_success
	assert_equal "$(sqlite3 prod.db 'SELECT count(*) FROM clients; SELECT count(*) FROM client_notes')" "2
2"
}

@test "a schema change in dev is refused without --schema, every missing table, column and index named; nothing written" {
	sqlite3 dev.db "ALTER TABLE clients ADD COLUMN vip_since DATE;
		ALTER TABLE cases ADD COLUMN priority INT NOT NULL DEFAULT 3;
		CREATE INDEX clients_email ON clients (email);
		CREATE TABLE notes (id INTEGER PRIMARY KEY, case_id INT NOT NULL REFERENCES cases(id) ON DELETE CASCADE, body TEXT);
		CREATE TABLE tags (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);"
	snapshot prod.db before
	run --separate-stderr dbapply --prefer source prod.db < <(dbdump-rows dev.db)
	assert_failure 2
	assert_equal "$stderr" 'dbapply: <stdin>:3: unknown column "vip_since" in table "clients"
dbapply: <stdin>:4: unknown column "priority" in table "cases"
dbapply: <stdin>:6: unknown table "notes" (the target has no such table)
dbapply: <stdin>:7: unknown table "tags" (the target has no such table)
dbapply: <stdin>:3: index "clients_email" on "clients" (email) is only in the stream
dbapply: the target lacks 2 tables and 2 columns of the stream: dbapply --schema adds them (and the indexes and foreign keys above), nothing was changed
dbapply: nothing was written to prod.db'
	snapshot prod.db after
	diff -u before after
	# an index alone stops nothing: it is a warning
	sqlite3 prod.db "ALTER TABLE clients ADD COLUMN vip_since DATE; ALTER TABLE cases ADD COLUMN priority INT NOT NULL DEFAULT 3;"
	run dbapply --prefer source --dry-run prod.db < <(dbdump-rows -x notes -x tags dev.db)
	assert_success
	assert_output --partial 'dbapply: warning: <stdin>:3: index "clients_email" on "clients" (email) is only in the stream (dbapply --schema adds it)'
}

@test "--schema adds the columns, index and tables (with foreign keys and defaults) before the rows, in the one transaction" {
	sqlite3 dev.db "ALTER TABLE clients ADD COLUMN vip_since DATE;
		ALTER TABLE cases ADD COLUMN priority INT NOT NULL DEFAULT 3;
		CREATE INDEX clients_email ON clients (email);
		CREATE TABLE notes (id INTEGER PRIMARY KEY, case_id INT NOT NULL REFERENCES cases(id) ON DELETE CASCADE, body TEXT DEFAULT 'n/a');
		UPDATE clients SET vip_since = '2026-01-01' WHERE id = 3;
		INSERT INTO notes (case_id, body) VALUES (1, 'first'), (51, 'on the new case');"
	# a dry run makes it all, then takes it all back
	snapshot prod.db before
	run dbapply --prefer source --dry-run --schema prod.db < <(dbdump-rows dev.db)
	assert_success
	assert_output --partial 'dbapply: schema: CREATE TABLE "notes" ("id" INTEGER PRIMARY KEY, "case_id" INT NOT NULL, "body" TEXT DEFAULT '"'n/a'"', FOREIGN KEY ("case_id") REFERENCES "cases" ("id") ON DELETE CASCADE);'
	snapshot prod.db after
	diff -u before after
	run sqlite3 prod.db "SELECT count(*) FROM sqlite_schema WHERE name = 'notes'"
	assert_output 0
	# A first sync: #50's phone differs and is left out, but #3's value in
	# the column this run made is no edit of prod's: it arrives.
	run dbapply --schema prod.db < <(dbdump-rows dev.db)
	assert_failure 1
	assert_output --partial 'table "clients" at key {"id":50}: the stream and the target hold other rows'
	refute_output --partial '{"id":3}'
	assert_line --regexp '^clients +1 +1 +0$'
	assert_line 'dbapply: schema: ALTER TABLE "clients" ADD COLUMN "vip_since" DATE;'
	assert_line 'dbapply: schema: ALTER TABLE "cases" ADD COLUMN "priority" INT NOT NULL DEFAULT 3;'
	assert_line 'dbapply: schema: CREATE INDEX "clients_email" ON "clients" ("email");'
	run dbdiff --schema --stat dev.db prod.db
	assert_success
	run sqlite3 prod.db "SELECT vip_since FROM clients WHERE id = 3; SELECT count(*) FROM notes; SELECT priority FROM cases WHERE id = 51"
	assert_output $'2026-01-01\n2\n3'
	# the foreign key is there and enforced: the note of case 1 goes with it
	sqlite3 prod.db "PRAGMA foreign_keys = ON; DELETE FROM documents WHERE case_id = 1; DELETE FROM cases WHERE id = 1"
	run sqlite3 prod.db "SELECT count(*) FROM notes"
	assert_output 1
	run sqlite3 prod.db "PRAGMA foreign_keys = ON; INSERT INTO notes (case_id) VALUES (999)"
	assert_failure
	assert_output --partial "FOREIGN KEY constraint failed"
}

@test "--rollback of a --schema run restores the rows and drops what it made: prod exactly as before" {
	sqlite3 dev.db "ALTER TABLE clients ADD COLUMN vip_since DATE;
		CREATE INDEX clients_email ON clients (email);
		CREATE TABLE notes (id INTEGER PRIMARY KEY, case_id INT NOT NULL REFERENCES cases(id), body TEXT);
		UPDATE clients SET vip_since = '2026-01-01' WHERE id = 3;
		INSERT INTO notes (case_id, body) VALUES (1, 'first');"
	snapshot prod.db before
	sqlite3 prod.db .schema > schema-before
	run dbapply --prefer source --schema prod.db < <(dbdump-rows dev.db)
	assert_success
	undo=$(ls backups/*.undo.ndjson.gz)
	run jq -c 'select(.type == "schema") | [.change, .table, .column // .old.name]' <(zcat "$undo")
	assert_output '["drop_index","clients","clients_email"]
["drop_column","clients","vip_since"]
["drop_table","notes",null]'
	run dbapply --rollback prod.db
	assert_success
	assert_line 'dbapply: schema: DROP INDEX "clients_email";'
	assert_line 'dbapply: schema: ALTER TABLE "clients" DROP COLUMN "vip_since";'
	assert_line 'dbapply: schema: DROP TABLE "notes";'
	snapshot prod.db after
	diff -u before after
	sqlite3 prod.db .schema > schema-after
	diff -u schema-before schema-after
}

# cycle.db: store <-> staff, a foreign-key cycle NOT NULL both ways (as
# Sakila's), node, which refers to itself ON DELETE CASCADE, and kinds,
# which store refers to; devonly keeps a dump with -x devonly from holding
# every table of it.
cycle_db() {
	mkdb cycle.db <<-'SQL'
	CREATE TABLE kinds (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
	CREATE TABLE store (id INTEGER PRIMARY KEY, manager INTEGER NOT NULL REFERENCES staff(id),
		kind INTEGER NOT NULL REFERENCES kinds(id));
	CREATE TABLE staff (id INTEGER PRIMARY KEY, store INTEGER NOT NULL REFERENCES store(id));
	CREATE TABLE node (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES node(id) ON DELETE CASCADE);
	CREATE TABLE devonly (id INTEGER PRIMARY KEY);
	INSERT INTO node VALUES (1, NULL), (2, 1), (3, 2);
	INSERT INTO kinds VALUES (1, 'big'), (2, 'small');
	INSERT INTO store VALUES (1, 10, 1), (2, 20, 2);
	INSERT INTO staff VALUES (10, 1), (20, 2), (21, 1);
	SQL
}

@test "--rollback of --schema drops the tables it made whole, in one transaction: a NOT NULL cycle and a self-reference ON DELETE CASCADE (which a delete of its rows one by one would trip on), into an empty database and beside the target's own tables (a row of those that the made ones refer to); the target is exactly as before" {
	cycle_db
	sqlite3 new.db "PRAGMA user_version = 1"
	sqlite3 new.db .dump > before.sql
	run dbapply --schema new.db < <(dbdump-rows cycle.db)
	assert_success
	assert_line --regexp '^total +10 +0 +0$'
	run dbapply --rollback new.db
	assert_success
	refute_output --partial 'delete failed'
	# children first: kinds once store, which refers to it, is gone; SQLite's
	# foreign keys wait for the commit, so the cycle needs no key dropped
	assert_equal "$(grep -o '^dbapply: schema: .*' <<< "$output")" 'dbapply: schema: DROP TABLE "node";
dbapply: schema: DROP TABLE "devonly";
dbapply: schema: DROP TABLE "store";
dbapply: schema: DROP TABLE "staff";
dbapply: schema: DROP TABLE "kinds";'
	sqlite3 new.db .dump > after.sql
	diff -u before.sql after.sql
	# beside prod's own tables: kinds (row 2 is the run's, and store's row 2
	# refers to it) and notes
	mkdb own.db <<-'SQL'
	CREATE TABLE kinds (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
	CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);
	INSERT INTO kinds VALUES (1, 'big');
	INSERT INTO notes VALUES (1, 'mine');
	SQL
	sqlite3 own.db .dump > before.sql
	run dbapply --schema own.db < <(dbdump-rows -x devonly cycle.db)
	assert_success
	assert_line --regexp '^kinds +1 +0 +0$'
	# rows made since in a table the run made would go with the table
	# unsaid: refused, nothing written; --force drops them too
	sqlite3 own.db "INSERT INTO staff VALUES (22, 1), (23, 2)"
	sqlite3 own.db .dump > applied.sql
	run dbapply --rollback own.db
	assert_failure 2
	assert_line --partial ': table "staff", which the undone run made, holds 2 rows that it did not write (made since): the rollback drops the table, and them with it (--force drops them too)'
	sqlite3 own.db .dump > after.sql
	diff -u applied.sql after.sql
	run dbapply --rollback --force own.db
	assert_success
	assert_line 'dbapply: warning: --force: table "staff" holds 2 rows that the undone run did not write: dropped with it'
	assert_line --regexp '^kinds +0 +0 +1$'
	assert_line --regexp '^node +0 +0 +3$'
	sqlite3 own.db .dump > after.sql
	diff -u before.sql after.sql
	assert_equal "$(sqlite3 own.db 'PRAGMA foreign_key_check')" ""
}

@test "--schema into an empty database is a fresh install: every row, ids past the data, foreign keys enforced" {
	sqlite3 new.db "PRAGMA user_version = 1"
	run dbapply --schema new.db < <(dbdump-rows dev.db)
	assert_success
	assert_same_rows_and_schema dev.db new.db
	run sqlite3 new.db "INSERT INTO clients (name, created_at) VALUES ('next', '2026-04-01'); SELECT max(id) FROM clients"
	assert_output 102
	run sqlite3 new.db "PRAGMA foreign_keys = ON; INSERT INTO cases (client_id, type_id, title, opened) VALUES (9999, 1, 'x', '2026-01-01')"
	assert_failure
	# the schema alone, from --schema-only: empty tables
	sqlite3 empty.db "PRAGMA user_version = 1"
	dbdump-rows --schema-only dev.db | dbapply --schema empty.db
	run sqlite3 empty.db "SELECT count(*) FROM clients"
	assert_output 0
	run dbdiff --schema dev.db empty.db
	assert_success
}

@test "--schema refuses by name what it cannot make, before making anything" {
	sqlite3 dev.db "CREATE TABLE totals (id INTEGER PRIMARY KEY, net INT, gross INT GENERATED ALWAYS AS (net * 2) VIRTUAL);
		ALTER TABLE clients ADD COLUMN code TEXT NOT NULL DEFAULT 'x';
		CREATE TABLE later (id INTEGER PRIMARY KEY);"
	dbdump-rows dev.db > s.ndjson
	snapshot prod.db before
	run dbapply --schema prod.db s.ndjson
	assert_failure 2
	assert_output --partial 's.ndjson:'
	assert_output --partial '--schema: table "totals": column "gross" is generated, and the stream does not hold its expression'
	refute_output --partial 'schema: CREATE'
	snapshot prod.db after
	diff -u before after
	run sqlite3 prod.db "SELECT count(*) FROM sqlite_schema WHERE name IN ('later', 'totals')"
	assert_output 0
}

@test "--schema makes nothing of a stream whose default or type carries a second statement" {
	sqlite3 new.db "CREATE TABLE keep (id INTEGER PRIMARY KEY); INSERT INTO keep VALUES (1);"
	printf '%s\n' '{"type":"header","stream":"rows","version":1,"source":"x","engine":"sqlite"}' \
		'{"type":"table","table":"t","key":["id"],"columns":[{"name":"id","type":"int","native":"INTEGER"},{"name":"v","type":"int","native":"INTEGER","default":"0); DROP TABLE keep; --"}],"references":[]}' \
		'{"type":"end","table":"t","rows":0,"hash":"2d06800538d394c2"}' \
		'{"type":"end","rows":0,"tables":1,"hash":"4cea74b0ca705196"}' > evil.ndjson
	run dbapply --schema new.db evil.ndjson
	assert_failure 2
	assert_output --partial 'column "v": its type or default is not one SQL expression'
	assert_equal "$(sqlite3 new.db "SELECT count(*) FROM keep; SELECT count(*) FROM sqlite_schema WHERE name = 't'" | tr '\n' ' ')" "1 0 "
}

@test "--schema: Chinook into an empty database, every row equal" {
	src=$ROOT/../shared/datasets/chinook/Chinook_Sqlite.sqlite
	[ -f "$src" ] || skip "shared/datasets is absent (a user's clone has no shared/)"
	cp "$src" chinook.db
	sqlite3 new.db "PRAGMA user_version = 1"
	run dbapply --schema new.db < <(dbdump-rows chinook.db)
	assert_success
	assert_same_rows_and_schema chinook.db new.db
	run sqlite3 new.db "PRAGMA foreign_key_check"
	assert_output ""
	run sqlite3 new.db "SELECT count(*) FROM pragma_foreign_key_list('Track')"
	assert_output 3
}

@test "SQLite: a parent deleted under its children is refused at commit; ON DELETE CASCADE still cascades" {
	# Foreign keys are checked whole before the commit; SQLite's own
	# enforcement is on only where a foreign key has an action.
	sqlite3 dev.db "PRAGMA foreign_keys = OFF; DELETE FROM clients WHERE id = 4"
	sqlite3 prod.db "SELECT client_id FROM cases WHERE id = 1" | grep -qx 4
	run dbdiff prod.db dev.db
	assert_failure 1
	echo "$output" > del.ndjson
	snapshot prod.db before
	run dbapply --mirror prod.db del.ndjson
	assert_failure 2
	assert_output --partial 'foreign key violation: a row of "cases" (rowid 1) references a missing row of "clients"'
	snapshot prod.db after
	diff -u before after
	mkdb a.db <<-'SQL'
	CREATE TABLE p (id INTEGER PRIMARY KEY);
	CREATE TABLE c (id INTEGER PRIMARY KEY, p_id INTEGER REFERENCES p(id) ON DELETE CASCADE);
	INSERT INTO p VALUES (1), (2);
	INSERT INTO c VALUES (1, 1), (2, 2);
	SQL
	cp a.db b.db
	# b loses parent 2 only: the change stream deletes it, not its child
	sqlite3 b.db "PRAGMA foreign_keys = OFF; DELETE FROM p WHERE id = 2"
	run dbdiff a.db b.db
	assert_failure 1
	echo "$output" > casc.ndjson
	run dbapply -q --mirror a.db casc.ndjson
	assert_success
	assert_equal "$(sqlite3 a.db 'SELECT id FROM c')" 1
}

@test "SQLite: a whole sync that deletes parents still finds the rows it left alone that refer to them (case 1 to client 4, client 10 to client 20), by name; nothing written" {
	# The target's tables are read whole to be compared; the deleted
	# parents' children are looked for among the values that read saw.
	sqlite3 dev.db "PRAGMA foreign_keys = OFF; DELETE FROM clients WHERE id IN (4, 20)"
	assert_equal "$(sqlite3 prod.db 'SELECT client_id FROM cases WHERE id = 1; SELECT referred_by FROM clients WHERE id = 10')" "4
20"
	snapshot prod.db before
	run sh -c 'dbdump-rows dev.db | dbapply --mirror prod.db'
	assert_failure 2
	assert_output --partial 'a row of "cases" (rowid 1) references a missing row of "clients"'
	assert_output --partial 'a row of "clients" (rowid 10) references a missing row of "clients"'
	snapshot prod.db after
	diff -u before after
	# with those rows gone too, the same sync deletes both parents
	sqlite3 dev.db "PRAGMA foreign_keys = OFF; DELETE FROM documents WHERE case_id IN (SELECT id FROM cases WHERE client_id = 4);
		DELETE FROM cases WHERE client_id = 4; UPDATE clients SET referred_by = NULL WHERE referred_by IN (4, 20)"
	run sh -c 'dbdump-rows dev.db | dbapply -q --mirror prod.db'
	assert_success
	assert_equal "$(sqlite3 prod.db 'SELECT count(*) FROM clients WHERE id IN (4, 20)')" 0
	assert_equal "$(sqlite3 prod.db 'PRAGMA foreign_key_check' | wc -l)" 0
}

@test "checks: a table --schema creates gets the stream's checks, enforced; one the target's table lacks is said without --schema" {
	sqlite3 dev.db "CREATE TABLE scores (id INTEGER PRIMARY KEY, points INT CONSTRAINT in_range CHECK (points BETWEEN 0 AND 100));
		INSERT INTO scores VALUES (1, 50);"
	sqlite3 prod.db "CREATE TABLE scores (id INTEGER PRIMARY KEY, points INT)"
	run dbapply prod.db < <(dbdump-rows -t scores dev.db)
	assert_success
	assert_output --partial 'dbapply: warning: <stdin>:2: check "in_range" of "scores" (points BETWEEN 0 AND 100) is only in the stream (dbapply --schema adds it)'
	run sqlite3 prod.db "SELECT points FROM scores"
	assert_output 50
	run --separate-stderr dbdiff --schema prod.db dev.db
	assert_failure 1
	assert_line '{"type":"schema","change":"add_check","table":"scores","new":{"name":"in_range","check":"points BETWEEN 0 AND 100"}}'
	sqlite3 new.db "PRAGMA user_version = 1"
	run dbapply --schema new.db < <(dbdump-rows dev.db)
	assert_success
	assert_output --partial 'CONSTRAINT "in_range" CHECK (points BETWEEN 0 AND 100)'
	run sqlite3 new.db "INSERT INTO scores VALUES (2, 101)"
	assert_failure
	assert_output --partial 'CHECK constraint failed: in_range'
	run dbdiff --schema dev.db new.db
	assert_success
}

@test "checks on SQLite: --schema adds the stream's check to a table the target has by a rebuild after the rows (a row that breaks it refused, naming it, nothing written); --mirror drops the target's own; --rollback undoes both" {
	sqlite3 dev.db "CREATE TABLE scores (id INTEGER PRIMARY KEY, points INT CONSTRAINT in_range CHECK (points BETWEEN 0 AND 100), n INT);
		INSERT INTO scores VALUES (1, 50, 1), (2, 70, 2);"
	sqlite3 prod.db "CREATE TABLE scores (id INTEGER PRIMARY KEY, points INT, n INT, CONSTRAINT n_pos CHECK (n > 0));
		INSERT INTO scores VALUES (1, 500, 1), (3, 5, 4);"
	cp prod.db prod-before.db
	# prod's 500 (a row the first sync leaves, a collision) breaks in_range: refused by name
	run --separate-stderr dbapply --schema prod.db < <(dbdump-rows -t scores dev.db)
	assert_failure 2
	assert_equal "$(printf '%s\n' "$stderr" | grep -v -e '^dbapply: schema: ' -e 'other rows under this key')" 'dbapply: warning: <stdin>:2: --schema: check "n_pos" of "scores" (n > 0) is only in the target: not dropped (only with --schema --mirror)
dbapply: prod.db: --schema: table "scores" cannot be rebuilt: CHECK constraint failed: in_range
dbapply: nothing was written to prod.db'
	cmp prod.db prod-before.db
	dbdump-rows prod.db > before.ndjson
	run --separate-stderr dbapply --schema --mirror --prefer source prod.db < <(dbdump-rows -t scores dev.db)
	assert_success
	run sqlite3 prod.db "SELECT sql FROM sqlite_schema WHERE name = 'scores'"
	assert_output 'CREATE TABLE "scores" (id INTEGER PRIMARY KEY, points INT, n INT, CONSTRAINT "in_range" CHECK (points BETWEEN 0 AND 100))'
	dbdump-rows -t scores dev.db > dev-scores.ndjson
	dbdump-rows -t scores prod.db > prod-scores.ndjson
	assert_same_rows_and_schema dev-scores.ndjson prod-scores.ndjson
	run sqlite3 prod.db "UPDATE scores SET points = 101 WHERE id = 1"
	assert_failure
	assert_output --partial 'CHECK constraint failed: in_range'
	undo=$(ls -t backups/*.undo.ndjson.gz | head -n 1)
	run jq -c 'select(.type == "schema")' <(zcat "$undo")
	assert_output '{"type":"schema","change":"add_check","table":"scores","new":{"name":"n_pos","check":"n > 0"}}
{"type":"schema","change":"drop_check","table":"scores","old":{"name":"in_range","check":"points BETWEEN 0 AND 100"}}'
	# in_range goes before the rows (prod's 500 comes back), n_pos comes back after them
	run --separate-stderr dbapply --rollback prod.db
	assert_success
	dbdump-rows prod.db > after.ndjson
	assert_same_rows_and_schema before.ndjson after.ndjson
	run sqlite3 prod.db "SELECT sql FROM sqlite_schema WHERE name = 'scores'"
	assert_output 'CREATE TABLE "scores" (id INTEGER PRIMARY KEY, points INT, n INT, CONSTRAINT "n_pos" CHECK (n > 0))'
}

@test "--sql prints the statements of the run, schema and rows, and writes nothing; sqlite3 makes the same change from it" {
	sqlite3 new.db "PRAGMA user_version = 1"
	cp new.db copy.db
	sqlite3 dev.db "CREATE TABLE odd (id INTEGER PRIMARY KEY, t TEXT, b BLOB, f REAL);
		INSERT INTO odd VALUES (1, 'it''s a \\ back; -- slash' || char(10) || 'x', X'00ff27', NULL),
			(2, 'nul' || CAST(X'00' AS TEXT) || 'byte', X'', 0.1), (3, NULL, NULL, 1.7976931348623157e308);"
	# a double that SQLite's own parser reads as its neighbour, bound exactly
	/usr/bin/python3 -c 'import sqlite3; c = sqlite3.connect("dev.db"); c.execute("UPDATE odd SET f = ? WHERE id = 1", (-2.2606631148481385e-299,)); c.commit()'
	assert_equal "$(sqlite3 dev.db "SELECT f = -2.2606631148481385e-299 FROM odd WHERE id = 1")" 0
	dbdump-rows dev.db > s.ndjson
	run --separate-stderr dbapply --sql --schema new.db s.ndjson
	assert_success
	printf '%s\n' "$output" > script.sql
	# the summary and the DDL shown go to stderr: stdout is the script
	assert_line --index 0 --partial '-- dbapply --sql: what dbapply would run on new.db (sqlite) for s.ndjson; nothing was written.'
	assert_line --index 1 'PRAGMA foreign_keys = ON;'
	assert_line --index 2 'BEGIN IMMEDIATE;'
	assert_line --partial 'CREATE TABLE "clients" ('
	assert_line 'INSERT INTO "odd" ("id","t","b","f") VALUES (1,'"'"'it'"''"'s a \ back; -- slash'
	assert_line --partial "X'00ff27',(CAST("
	assert_line --partial "VALUES (2,CAST(X'6e756c0062797465' AS TEXT),X'',0.1);"
	assert_line --index $((${#lines[@]} - 1)) 'COMMIT;'
	[[ "$stderr" == *"dry run: rolled back, nothing was written to new.db"* ]]
	# nothing written: no table, no backup, no sync base
	assert_equal "$(sqlite3 new.db "SELECT count(*) FROM sqlite_schema")" 0
	[ ! -e backups ]
	# the engine's own client, then the same as a sync by dbapply
	sqlite3 -bail viaclient.db < script.sql
	dbapply --schema copy.db s.ndjson > /dev/null 2>&1
	assert_same_rows_and_schema copy.db viaclient.db
	run dbdiff dev.db viaclient.db
	assert_success
	# the double SQLite's parser would round is written exactly, bit for bit
	assert_equal "$(sqlite3 viaclient.db "SELECT f = -2.2606631148481385e-299, hex(CAST(t AS BLOB)) FROM odd WHERE id IN (1, 2) ORDER BY id" | tr '\n' ' ')" \
		"0|697427732061205C206261636B3B202D2D20736C6173680A78 0|6E756C0062797465 "
	run sqlite3 -separator ' ' viaclient.db "SELECT printf('%!.17g', f) FROM odd WHERE id = 1; SELECT max(id) FROM clients"
	assert_output "-2.2606631148481385e-299
101"
}

@test "--sql of a merge: updates, inserts and the AUTOINCREMENT counter as dbapply makes them; --mirror's deletes" {
	sqlite3 prod.db "UPDATE clients SET email = 'prod@x' WHERE id = 7; CREATE TABLE seq (id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT)"
	sqlite3 dev.db "UPDATE clients SET balance = '12.34' WHERE id = 3; DELETE FROM documents WHERE id = 1;
		CREATE TABLE seq (id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT); INSERT INTO seq VALUES (41, 'a'), (42, 'b')"
	cp prod.db viaclient.db
	cp prod.db copy.db
	dbdump-rows dev.db > s.ndjson
	run --separate-stderr dbapply --sql --mirror prod.db s.ndjson
	assert_success
	printf '%s\n' "$output" > script.sql
	assert_line "UPDATE \"clients\" SET \"balance\" = '12.34' WHERE \"id\" = 3;"
	assert_line 'DELETE FROM "documents" WHERE "id" = 1;'
	assert_line "INSERT INTO sqlite_sequence (name, seq) SELECT 'seq', 0 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'seq');"
	sqlite3 -bail viaclient.db < script.sql
	dbapply --mirror copy.db s.ndjson > /dev/null 2>&1
	run dbdiff copy.db viaclient.db
	assert_success
	assert_equal "$(sqlite3 viaclient.db "SELECT seq FROM sqlite_sequence WHERE name = 'seq'")" 42
	# prod itself is as it was
	run dbdiff dev.db prod.db
	assert_failure 1
}

@test "--sql runs every check of a dry run: a conflict exits 2 with no script; it takes no --rollback, nor a CSV target" {
	dbdump-rows dev.db > s.ndjson
	dbapply --prefer source prod.db s.ndjson > /dev/null
	sqlite3 dev.db "UPDATE clients SET phone = 'dev' WHERE id = 5"
	sqlite3 prod.db "UPDATE clients SET phone = 'prod' WHERE id = 5"
	dbdiff prod.db dev.db > changes.ndjson || true
	sqlite3 prod.db "UPDATE clients SET phone = 'prod again' WHERE id = 5"
	run --separate-stderr dbapply --sql prod.db changes.ndjson
	assert_failure 2
	assert_output ""
	[[ "$stderr" == *"conflicting row"* ]]
	run dbapply --sql --rollback prod.db
	assert_failure 2
	assert_output --partial -- "--sql goes with a stream to apply"
	# a CSV directory has no SQL
	mkdir out
	run --separate-stderr dbapply --sql csv:out s.ndjson
	assert_failure 2
	assert_output ""
	[[ "$stderr" == *"csv:out: --sql: csv targets take no SQL"* ]]
	[ -z "$(ls out)" ]
}

@test "--schema brings the migration history with the schema it made: the history rows of the new migration arrive; without --schema they stay out" {
	sqlite3 dev.db "CREATE TABLE django_migrations (id INTEGER PRIMARY KEY, app TEXT, name TEXT);
		INSERT INTO django_migrations VALUES (1, 'office', '0001_initial');"
	cp dev.db prod.db
	sqlite3 dev.db "ALTER TABLE clients ADD COLUMN nickname TEXT;
		INSERT INTO django_migrations VALUES (2, 'office', '0002_nickname');"
	run sh -c 'dbdump-rows dev.db | dbapply prod.db'
	assert_failure 2
	assert_output --partial 'unknown column "nickname" in table "clients"'
	run sh -c 'dbdump-rows dev.db | dbapply --schema prod.db'
	assert_success
	refute_output --partial "history tables left out"
	assert_equal "$(sqlite3 prod.db "SELECT group_concat(name, ' ') FROM django_migrations ORDER BY id")" "0001_initial 0002_nickname"
	run dbdiff dev.db prod.db
	assert_success
	# a sync without --schema leaves the history out, as before
	sqlite3 dev.db "INSERT INTO django_migrations VALUES (3, 'office', '0003_data_only')"
	run sh -c 'dbdump-rows dev.db | dbapply prod.db'
	assert_success
	assert_line 'history tables left out: "django_migrations" (--with-history includes them)'
	assert_equal "$(sqlite3 prod.db "SELECT count(*) FROM django_migrations")" 2
}

# prod.db and dev.db: t with ids 1 to 9; dev deletes 5 and updates 4.
ranged_pair() {
	mkdb prod.db <<-'SQL'
	CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);
	WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 9)
	INSERT INTO t SELECT i, 'v' || i FROM n;
	SQL
	cp prod.db dev.db
	sqlite3 dev.db "DELETE FROM t WHERE id = 5; UPDATE t SET v = 'new' WHERE id = 4"
}

# After refusals: prod.db as the snapshot "before" had it; then
# ranged.ndjson applied with --mirror (one update, one delete) leaves t
# holding the rows given ("id v").
mirror_ranged_leaves() {
	snapshot prod.db after
	diff -u before after
	run -0 dbapply --mirror prod.db ranged.ndjson
	assert_output --partial 't             0         1         1'
	sqlite3 prod.db "SELECT id || ' ' || v FROM t ORDER BY id" > rows
	printf '%s\n' "$@" | diff -u - rows
}

@test "a ranged stream (dbdump-rows --against): --mirror deletes inside its ranges only; a malformed range is refused" {
	ranged_pair
	dbdump-rows --digest --digest-rows 3 --digest-cells 0 prod.db > digest.ndjson
	dbdump-rows -q --against digest.ndjson dev.db > ranged.ndjson
	jq -c 'select(.type == "range" or .type == "row") | [.after, .last, .row]' ranged.ndjson > records
	printf '%s\n' '[{"id":3},{"id":6},null]' '[null,null,{"id":4,"v":"new"}]' '[null,null,{"id":6,"v":"v6"}]' |
		diff -u - records
	# The target changes after its digest: rows outside the range sent stay.
	sqlite3 prod.db "INSERT INTO t VALUES (0, 'early'), (100, 'late')"
	# A row past its range's last key, a range below the rows before it:
	# refused by line, nothing written.
	snapshot prod.db before
	sed '5s/"id":6,/"id":7,/' ranged.ndjson > bad.ndjson
	run dbapply --mirror prod.db bad.ndjson
	assert_failure 2
	assert_output --partial 'bad.ndjson:5: table "t": a row after the last key of its range'
	sed '5a {"type":"range","table":"t","after":{"id":5},"last":{"id":7}}' ranged.ndjson > bad.ndjson
	run dbapply --mirror prod.db bad.ndjson
	assert_failure 2
	assert_output --partial 'bad.ndjson:6: table "t": a range that starts below the key before it'
	mirror_ranged_leaves '0 early' '1 v1' '2 v2' '3 v3' '4 new' '6 v6' '7 v7' '8 v8' '9 v9' '100 late'
}

@test "a ranged stream of single keys (the sketch's answer): --mirror deletes at those keys only; a row off its key is refused" {
	ranged_pair
	dbdump-rows --digest --digest-rows 3 prod.db > digest.ndjson
	dbdump-rows -q --against digest.ndjson dev.db > ranged.ndjson
	jq -c 'select(.type == "range" or .type == "row") | [.key, .row]' ranged.ndjson > records
	printf '%s\n' '[{"id":4},null]' '[null,{"id":4,"v":"new"}]' '[{"id":5},null]' | diff -u - records
	# The target changes after its digest: rows at other keys stay, even
	# beside the keys sent.
	sqlite3 prod.db "INSERT INTO t VALUES (0, 'early'), (100, 'late'); UPDATE t SET v = 'kept' WHERE id = 6"
	snapshot prod.db before
	# A row whose key is not its key range's, a key range below the one
	# before it: refused by line, nothing written.
	sed '4s/"id":4,/"id":3,/' ranged.ndjson > bad.ndjson
	run dbapply --mirror prod.db bad.ndjson
	assert_failure 2
	assert_output --partial 'bad.ndjson:4: table "t": a row whose key is not its key range'"'"'s'
	sed '5s/"id":5/"id":4/' ranged.ndjson > bad.ndjson
	run dbapply --mirror prod.db bad.ndjson
	assert_failure 2
	assert_output --partial 'bad.ndjson:5: table "t": a key range at or below the key or range before it'
	mirror_ranged_leaves '0 early' '1 v1' '2 v2' '3 v3' '4 new' '6 kept' '7 v7' '8 v8' '9 v9' '100 late'
}

@test "a ranged stream whose key changes type into the target: --mirror is refused by name, a merge goes through" {
	mkdb dev.db <<-'SQL'
	CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);
	WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 9)
	INSERT INTO t SELECT i, 'v' || i FROM n;
	SQL
	cp dev.db twin.db
	mkdb prod.db <<-'SQL'
	CREATE TABLE t (id NUMERIC PRIMARY KEY, v TEXT);
	SQL
	sqlite3 prod.db "ATTACH 'dev.db' AS d; INSERT INTO t SELECT * FROM d.t"
	sqlite3 dev.db "DELETE FROM t WHERE id = 5; UPDATE t SET v = 'new' WHERE id = 4"
	# An answer made against a digest of an int-keyed twin, applied where the key is decimal.
	dbdump-rows --digest --digest-rows 3 twin.db | dbdump-rows -q --against - dev.db > ranged.ndjson
	snapshot prod.db before
	run dbapply --mirror prod.db ranged.ndjson
	assert_failure 2
	assert_output --partial 'ranged.ndjson:3: table "t": key column "id" is int in the stream and decimal in the target, so --mirror cannot tell which target rows lie in its ranges'
	snapshot prod.db after
	diff -u before after
	run -0 dbapply --prefer source prod.db ranged.ndjson
	[ "$(sqlite3 prod.db "SELECT count(*) FROM t WHERE id = 5")" = 1 ] # kept: a merge deletes nothing
	[ "$(sqlite3 prod.db "SELECT v FROM t WHERE id = 4")" = new ]
}

@test "a row stream is compared by its records' bytes: equal bytes are kept, others decoded, checked and compared by value" {
	dbdump-rows prod.db > a.ndjson
	sed -n 11p a.ndjson | grep -q '"id":1,.*"balance":"13.01"'
	snapshot prod.db before
	# the same value in other bytes: nothing to write
	sed '11s/"balance":"13.01"/"balance":"13.010"/' a.ndjson > b.ndjson
	resign b.ndjson
	run dbapply --prefer source --no-undo prod.db b.ndjson
	assert_success
	assert_line --regexp '^clients +0 +0 +0$'
	snapshot prod.db after
	diff -u before after
	# the new sync base holds the stream's records as they came
	diff -u <(tail -n +2 b.ndjson) <(zstdcat backups/prod.base-*.ndjson.zst | tail -n +2)
	# a record malformed past its key, or with a column the table lacks, is refused
	sed '11s/"vip":false/"vip":"no"/' a.ndjson > type.ndjson
	resign type.ndjson
	run dbapply --no-undo prod.db type.ndjson
	assert_failure 2
	assert_output --partial 'type.ndjson:11: type mismatch in "clients"."vip": expected true or false, found JSON string'
	sed '11s/"id":1,/"id":1,"shoe_size":9,/' a.ndjson > col.ndjson
	resign col.ndjson
	run dbapply --no-undo prod.db col.ndjson
	assert_failure 2
	assert_output --partial 'col.ndjson:11: unknown column "shoe_size" in table "clients"'
	sed '11s/}}$/}},/' a.ndjson > tail.ndjson
	resign tail.ndjson
	run dbapply --no-undo prod.db tail.ndjson
	assert_failure 2
	assert_output --partial 'tail.ndjson:11:'
	snapshot prod.db after
	diff -u before after
	# a real difference beside equal rows: that row only, by value
	sed '12s/"Client 2"/"Client 2b"/' a.ndjson > c.ndjson
	resign c.ndjson
	run dbapply --mirror prod.db c.ndjson
	assert_success
	assert_line --regexp '^clients +0 +1 +0$'
	assert_equal "$(sqlite3 prod.db "SELECT name FROM clients WHERE id = 2")" "Client 2b"
	diff -u <(tail -n +2 c.ndjson) <(dump_body prod.db)
}

# prod has what dev no longer has: a column with values, a table with rows.
prod_has_more() {
	sqlite3 prod.db "ALTER TABLE clients ADD COLUMN legacy_code TEXT DEFAULT 'none';
		CREATE INDEX clients_legacy ON clients (legacy_code);
		UPDATE clients SET legacy_code = 'L' || id WHERE id % 3 = 0;
		UPDATE clients SET legacy_code = NULL WHERE id = 4;
		CREATE TABLE old_notes (id INTEGER PRIMARY KEY, client_id INT REFERENCES clients(id), body TEXT NOT NULL DEFAULT 'x');
		CREATE INDEX old_notes_client ON old_notes (client_id);
		INSERT INTO old_notes VALUES (1, 3, 'hello'), (2, NULL, 'bye');"
}

@test "--schema without --mirror refuses each drop by name, naming --schema --mirror; nothing written" {
	prod_has_more
	snapshot prod.db before
	run --separate-stderr dbapply --schema prod.db < <(dbdump-rows dev.db)
	assert_failure 2
	assert_equal "$stderr" "dbapply: <stdin>:3: --schema: column \"clients\".\"legacy_code\" (text, TEXT, DEFAULT 'none') is only in the target: dropping it takes its values away: only with --schema --mirror
dbapply: <stdin>: --schema: table \"old_notes\" is only in the target: dropping it takes its rows away (the stream holds every table of its source): only with --schema --mirror
dbapply: nothing was written to prod.db"
	snapshot prod.db after
	diff -u before after
	[ ! -e backups ] || [ -z "$(ls backups/*.undo.ndjson.gz 2>/dev/null)" ]
	# a dump of some tables only says nothing of the others: old_notes is no drop
	run dbdump-rows -t clients dev.db
	refute_line --partial '"all_tables"'
	run --separate-stderr dbapply --schema prod.db < <(dbdump-rows -t clients dev.db)
	assert_failure 2
	refute_output --partial 'old_notes'
	assert_equal "$(printf '%s\n' "$stderr" | grep -c 'only with --schema --mirror')" 1
}

@test "--schema --mirror drops a column and a table; --rollback restores schema and rows exactly" {
	prod_has_more
	dbdump-rows prod.db > before.ndjson
	sqlite3 prod.db .schema > schema-before
	# a dry run says the DDL, and writes nothing
	run dbapply --dry-run --schema --mirror prod.db < <(dbdump-rows dev.db)
	assert_success
	assert_line 'dbapply: schema: ALTER TABLE "clients" DROP COLUMN "legacy_code";'
	assert_line 'dbapply: schema: DROP TABLE "old_notes";'
	run dbdiff before.ndjson prod.db
	assert_success
	run dbapply --schema --mirror prod.db < <(dbdump-rows dev.db)
	assert_success
	assert_line 'dbapply: schema: DROP INDEX "clients_legacy";'
	assert_line 'dbapply: schema: ALTER TABLE "clients" DROP COLUMN "legacy_code";'
	run dbdiff dev.db prod.db
	assert_success
	run sqlite3 prod.db "SELECT count(*) FROM sqlite_schema WHERE name = 'old_notes'"
	assert_output 0
	# the undo stream keeps what the drops took
	undo=$(ls backups/*.undo.ndjson.gz)
	run jq -c 'select(.type == "schema") | [.change, .table, .column]' <(zcat "$undo")
	assert_output '["add_table","old_notes",null]
["add_column","clients","legacy_code"]'
	run jq -c 'select(.table == "clients" and .type == "update" and .key.id == 9) | .set' <(zcat "$undo")
	assert_output '{"legacy_code":"L9"}'
	run jq -c 'select(.table == "old_notes" and .type == "insert") | .row.body' <(zcat "$undo")
	assert_output $'"hello"\n"bye"'
	run dbapply --rollback prod.db
	assert_success
	assert_line --partial 'dbapply: schema: CREATE TABLE "old_notes"'
	assert_line 'dbapply: schema: CREATE INDEX "old_notes_client" ON "old_notes" ("client_id");'
	assert_line "dbapply: schema: ALTER TABLE \"clients\" ADD COLUMN \"legacy_code\" TEXT DEFAULT 'none';"
	assert_line 'dbapply: schema: CREATE INDEX "clients_legacy" ON "clients" ("legacy_code");'
	dbdump-rows prod.db > after.ndjson
	assert_same_rows_and_schema before.ndjson after.ndjson
	# NULL came back as NULL, not as the default
	assert_equal "$(sqlite3 prod.db "SELECT quote(legacy_code) FROM clients WHERE id IN (4, 5, 6) ORDER BY id" | tr '\n' ' ')" "NULL 'none' 'L6' "
}

# prod's tags as they were, dev's with wider, nullable, other-default columns.
sqlite_tags() {
	sqlite3 prod.db "CREATE TABLE tags (id INTEGER PRIMARY KEY AUTOINCREMENT,
			name VARCHAR(10) NOT NULL COLLATE NOCASE UNIQUE, note TEXT DEFAULT 'x', n INT,
			CHECK (n IS NULL OR n >= 0));
		CREATE INDEX tags_note ON tags (note);
		CREATE TABLE tag_log (id INTEGER PRIMARY KEY, tag_id INT REFERENCES tags(id), what TEXT);
		CREATE TRIGGER tags_named BEFORE INSERT ON tags WHEN new.name = '' BEGIN
			SELECT RAISE(ABORT, 'a tag needs a name'); END;
		CREATE VIEW tag_names AS SELECT name FROM tags;
		INSERT INTO tags (name, note, n) VALUES ('red', 'r', 1), ('green', NULL, 2), ('blue', 'b', 3), ('gone', 'g', 4);
		DELETE FROM tags WHERE name = 'gone';
		INSERT INTO tag_log (tag_id, what) VALUES (1, 'made');"
	sqlite3 dev.db "CREATE TABLE tags (id INTEGER PRIMARY KEY AUTOINCREMENT,
			name VARCHAR(50) COLLATE NOCASE UNIQUE, note TEXT DEFAULT 'y', n BIGINT,
			CHECK (n IS NULL OR n >= 0));
		CREATE INDEX tags_note ON tags (note);
		CREATE TABLE tag_log (id INTEGER PRIMARY KEY, tag_id INT REFERENCES tags(id), what TEXT);
		CREATE TRIGGER tags_named BEFORE INSERT ON tags WHEN new.name = '' BEGIN
			SELECT RAISE(ABORT, 'a tag needs a name'); END;
		INSERT INTO tags (id, name, note, n) VALUES (1, 'red', 'r', 1), (2, 'green', NULL, 2),
			(3, 'a name longer than ten', 'b', 5000000000);
		INSERT INTO tag_log (tag_id, what) VALUES (1, 'made');"
}

@test "--schema on SQLite rebuilds a table for a change that loses nothing, keeping its constraints, indexes, triggers, views and counter; --rollback restores it exactly" {
	sqlite_tags
	dbdump-rows prod.db > before.ndjson
	# a first sync: dev's tag 3 is an edit of prod's
	run --separate-stderr dbapply --prefer source --schema prod.db < <(dbdump-rows dev.db)
	assert_success
	# one rebuild for the three changed columns (the rows copied once), said, in the transaction
	assert_equal "$(printf '%s\n' "$stderr" | grep -c '^dbapply: schema: CREATE TABLE "tags__dbapply_rebuild"')" 1
	assert_equal "$(printf '%s\n' "$stderr" | grep -c 'DROP TABLE "tags"; PRAGMA legacy_alter_table = ON; ALTER TABLE "tags__dbapply_rebuild" RENAME TO "tags"')" 1
	assert_equal "$(printf '%s\n' "$stderr" | grep '^dbapply: schema: CREATE TABLE "tags__dbapply_rebuild"' | sed 's/); INSERT INTO .*/)/')" \
		"dbapply: schema: CREATE TABLE \"tags__dbapply_rebuild\" (id INTEGER PRIMARY KEY AUTOINCREMENT, name VARCHAR(50) COLLATE NOCASE UNIQUE, note TEXT DEFAULT 'y', n BIGINT, CHECK (n IS NULL OR n >= 0))"
	refute_output --partial 'change it by hand'
	run dbdiff --schema dev.db prod.db
	assert_success
	run dbdiff <(dbdump-rows -t tags -t tag_log dev.db) <(dbdump-rows -t tags -t tag_log prod.db)
	assert_success
	run sqlite3 prod.db "SELECT sql FROM sqlite_schema WHERE name = 'tags'"
	assert_output "CREATE TABLE \"tags\" (id INTEGER PRIMARY KEY AUTOINCREMENT, name VARCHAR(50) COLLATE NOCASE UNIQUE, note TEXT DEFAULT 'y', n BIGINT, CHECK (n IS NULL OR n >= 0))"
	# a value the old column refused a sync of is there, exactly
	assert_equal "$(sqlite3 prod.db "SELECT name, n FROM tags WHERE id = 3")" "a name longer than ten|5000000000"
	# index, UNIQUE, CHECK, trigger, view, foreign key and counter kept
	assert_equal "$(sqlite3 prod.db "SELECT name FROM sqlite_schema WHERE tbl_name = 'tags' AND type IN ('index', 'trigger') ORDER BY name" | tr '\n' ' ')" "sqlite_autoindex_tags_1 tags_named tags_note "
	run sqlite3 prod.db "INSERT INTO tags (name) VALUES ('RED')"
	assert_failure
	assert_output --partial 'UNIQUE constraint failed'
	run sqlite3 prod.db "INSERT INTO tags (name, n) VALUES ('minus', -1)"
	assert_failure
	assert_output --partial 'CHECK constraint failed'
	run sqlite3 prod.db "INSERT INTO tags (name) VALUES ('')"
	assert_failure
	assert_output --partial 'a tag needs a name'
	assert_equal "$(sqlite3 prod.db "SELECT count(*) FROM tag_names")" 3
	assert_equal "$(sqlite3 prod.db "SELECT seq FROM sqlite_sequence WHERE name = 'tags'")" 4
	assert_equal "$(sqlite3 prod.db "PRAGMA foreign_key_check")" ""
	# the undo stream says each column as it was; the rollback rebuilds it back
	undo=$(ls backups/*.undo.ndjson.gz)
	run jq -c 'select(.type == "schema") | [.change, .column, .new.native, .new.nullable, .new.default]' <(zcat "$undo")
	assert_output '["alter_column","n","INT",true,null]
["alter_column","note","TEXT",true,"'"'x'"'"]
["alter_column","name","VARCHAR(10)",false,null]'
	run --separate-stderr dbapply --rollback prod.db
	assert_success
	# its three alter_column records: one rebuild too
	assert_equal "$(printf '%s\n' "$stderr" | grep -c '^dbapply: schema: CREATE TABLE "tags__dbapply_rebuild"')" 1
	dbdump-rows prod.db > after.ndjson
	assert_same_rows_and_schema before.ndjson after.ndjson
	run sqlite3 prod.db "SELECT sql FROM sqlite_schema WHERE name = 'tags'"
	assert_output "CREATE TABLE \"tags\" (id INTEGER PRIMARY KEY AUTOINCREMENT, name VARCHAR(10) COLLATE NOCASE UNIQUE NOT NULL, note TEXT DEFAULT 'x', n INT, CHECK (n IS NULL OR n >= 0))"
	assert_equal "$(sqlite3 prod.db "SELECT seq FROM sqlite_sequence WHERE name = 'tags'")" 4
}

@test "--schema on SQLite rebuilds a table whose CREATE TABLE has quoted names, comments, a generated column, WITHOUT ROWID and signed defaults; --rollback brings it back" {
	sqlite3 prod.db "CREATE TABLE \"my t\" ( -- a comment, with a comma
		\"the id\" INTEGER NOT NULL, [na,me] varchar(10) CONSTRAINT nn NOT NULL DEFAULT ('a,b') CHECK (length([na,me]) > 0),
		g int GENERATED ALWAYS AS (length([na,me])) VIRTUAL, /* c */ x decimal(5,2) DEFAULT -1.5,
		PRIMARY KEY (\"the id\")) WITHOUT ROWID;
		INSERT INTO \"my t\" (\"the id\", [na,me], x) VALUES (1, 'abc', 2.5);"
	sqlite3 dev.db "CREATE TABLE \"my t\" (\"the id\" INTEGER NOT NULL PRIMARY KEY, [na,me] varchar(40) CHECK (length([na,me]) > 0),
		g int GENERATED ALWAYS AS (length([na,me])) VIRTUAL, x decimal(8,2) DEFAULT +0.25) WITHOUT ROWID;
		INSERT INTO \"my t\" (\"the id\", [na,me], x) VALUES (1, 'abc', 2.5), (2, 'a longer name here', 123456.25);"
	dbdump-rows prod.db > before.ndjson
	run dbapply --prefer source --schema prod.db < <(dbdump-rows dev.db)
	assert_success
	run sqlite3 prod.db "SELECT sql FROM sqlite_schema WHERE name = 'my t'"
	assert_output 'CREATE TABLE "my t" ("the id" INTEGER NOT NULL, [na,me] varchar(40) CHECK (length([na,me]) > 0), g int GENERATED ALWAYS AS (length([na,me])) VIRTUAL, x decimal(8,2) DEFAULT +0.25, PRIMARY KEY ("the id")) WITHOUT ROWID'
	assert_equal "$(sqlite3 prod.db "SELECT g, x FROM \"my t\" WHERE \"the id\" = 2")" "18|123456.25"
	run dbdiff --schema dev.db prod.db
	assert_success
	run dbapply --rollback prod.db
	assert_success
	dbdump-rows prod.db > after.ndjson
	assert_same_rows_and_schema before.ndjson after.ndjson
	assert_equal "$(sqlite3 prod.db "SELECT quote(x) FROM \"my t\" WHERE \"the id\" = 1")" 2.5
}

@test "--schema on SQLite keeps a NOT NULL's ON CONFLICT clause through a rebuild and its rollback (it decides what an INSERT of NULL does)" {
	sqlite3 prod.db "CREATE TABLE t (id INTEGER PRIMARY KEY, name varchar(10) NOT NULL ON CONFLICT IGNORE, note TEXT);
		INSERT INTO t VALUES (1, 'a', 'x');"
	sqlite3 dev.db "CREATE TABLE t (id INTEGER PRIMARY KEY, name varchar(50) NOT NULL, note TEXT);
		INSERT INTO t VALUES (1, 'a', 'x'), (2, 'b', 'y');"
	run dbapply --prefer source --schema prod.db < <(dbdump-rows dev.db)
	assert_success
	run sqlite3 prod.db "SELECT sql FROM sqlite_schema WHERE name = 't'"
	assert_output 'CREATE TABLE "t" (id INTEGER PRIMARY KEY, name varchar(50) NOT NULL ON CONFLICT IGNORE, note TEXT)'
	run dbapply --rollback prod.db
	assert_success
	run sqlite3 prod.db "SELECT sql FROM sqlite_schema WHERE name = 't'"
	assert_output 'CREATE TABLE "t" (id INTEGER PRIMARY KEY, name varchar(10) NOT NULL ON CONFLICT IGNORE, note TEXT)'
	sqlite3 prod.db "INSERT INTO t (id, name) VALUES (3, NULL)" # ignored, as before the sync
	assert_equal "$(sqlite3 prod.db 'SELECT count(*) FROM t')" 1
}

@test "--schema on SQLite: narrowing and NOT NULL need --mirror; a NULL or a value the narrower column cannot hold is refused with its row's key, the file unchanged" {
	sqlite3 prod.db "CREATE TABLE tags (id INTEGER PRIMARY KEY, name VARCHAR(20), n INTEGER);
		INSERT INTO tags VALUES (1, 'red', 1), (2, NULL, 2), (3, 'blue', 3);"
	sqlite3 dev.db "CREATE TABLE tags (id INTEGER PRIMARY KEY, name VARCHAR(5) NOT NULL, n SMALLINT);
		INSERT INTO tags VALUES (1, 'red', 1), (2, 'green', 2), (3, 'a long name', 70000);"
	cp prod.db prod-before.db
	dbdump-rows prod.db > before.ndjson
	run --separate-stderr dbapply --schema prod.db < <(dbdump-rows dev.db)
	assert_failure 2
	assert_equal "$stderr" "dbapply: <stdin>:6: --schema: column \"tags\".\"name\" is (text, VARCHAR(20)) in the target, (text, VARCHAR(5), NOT NULL) in the stream: from VARCHAR(20) to VARCHAR(5), a shorter text, and NOT NULL is set: only with --schema --mirror
dbapply: <stdin>:6: --schema: column \"tags\".\"n\" is (int, INTEGER) in the target, (int, SMALLINT) in the stream: from INTEGER to SMALLINT, a narrower integer: only with --schema --mirror
dbapply: nothing was written to prod.db"
	cmp prod.db prod-before.db
	# NOT NULL over the NULL prod holds: refused before any statement
	run --separate-stderr dbapply --schema --mirror prod.db < <(dbdump-rows dev.db)
	assert_failure 2
	assert_equal "$stderr" "dbapply: prod.db: --schema: column \"tags\".\"name\" cannot be made NOT NULL: the row at key {\"id\":2} holds NULL there (fill it first)
dbapply: nothing was written to prod.db"
	cmp prod.db prod-before.db
	# the rows go first, then each value is read against the narrower type
	sqlite3 prod.db "UPDATE tags SET name = 'green' WHERE id = 2"
	cp prod.db prod-before.db
	run dbapply --schema --mirror prod.db < <(dbdump-rows dev.db)
	assert_failure 2
	assert_line -n 0 "dbapply: prod.db: --schema: column \"tags\".\"name\" cannot be made VARCHAR(5): the row at key {\"id\":3}: a value of 11 characters is longer than the column's VARCHAR(5)"
	cmp prod.db prod-before.db
	sqlite3 dev.db "UPDATE tags SET name = 'blue' WHERE id = 3"
	run dbapply --schema --mirror prod.db < <(dbdump-rows dev.db)
	assert_failure 2
	assert_line "dbapply: prod.db: --schema: column \"tags\".\"n\" cannot be made SMALLINT: the row at key {\"id\":3}: the value 70000 is outside SMALLINT"
	cmp prod.db prod-before.db
	# values that fit: the table is rebuilt after the rows, and rolled back exactly
	sqlite3 dev.db "UPDATE tags SET n = 7000 WHERE id = 3"
	dbdump-rows prod.db > before.ndjson
	run dbapply --schema --mirror prod.db < <(dbdump-rows dev.db)
	assert_success
	run dbdiff dev.db prod.db
	assert_success
	run sqlite3 prod.db "SELECT sql FROM sqlite_schema WHERE name = 'tags'"
	assert_output 'CREATE TABLE "tags" (id INTEGER PRIMARY KEY, name VARCHAR(5) NOT NULL, n SMALLINT)'
	run dbapply --rollback prod.db
	assert_success
	dbdump-rows prod.db > after.ndjson
	assert_same_rows_and_schema before.ndjson after.ndjson
}

@test "--schema --mirror on SQLite: every change of a table at one time in one rebuild (columns, a foreign key and a UNIQUE dropped), narrowing after the rows in a second; --rollback restores the text and rows exactly" {
	sqlite3 prod.db "CREATE TABLE owners (id INTEGER PRIMARY KEY, name TEXT);
		CREATE TABLE pets (id INTEGER PRIMARY KEY, name VARCHAR(10) NOT NULL, tag VARCHAR(8) UNIQUE,
			owner_id INT REFERENCES owners(id), weight INTEGER, note TEXT DEFAULT 'x');
		CREATE INDEX pets_owner ON pets (owner_id);
		INSERT INTO owners VALUES (1, 'ann');
		INSERT INTO pets VALUES (1, 'rex', 'a1', 1, 30, 'good'), (2, 'tom', 'b2', NULL, 4, NULL);"
	sqlite3 dev.db "CREATE TABLE owners (id INTEGER PRIMARY KEY, name TEXT);
		CREATE TABLE pets (id INTEGER PRIMARY KEY, name VARCHAR(40), tag VARCHAR(8),
			owner_id INT, weight SMALLINT, note TEXT DEFAULT 'y');
		CREATE INDEX pets_owner ON pets (owner_id);
		INSERT INTO owners VALUES (1, 'ann');
		INSERT INTO pets VALUES (1, 'a name past ten', 'a1', 1, 30, 'good'), (2, 'tom', 'a1', 7, 4, NULL);"
	dbdump-rows prod.db > before.ndjson
	run --separate-stderr dbapply --schema --mirror prod.db < <(dbdump-rows dev.db)
	assert_success
	# before the rows: name, note, the foreign key and the UNIQUE in one rebuild; after them: weight
	assert_equal "$(printf '%s\n' "$stderr" | grep '^dbapply: schema: CREATE TABLE "pets__dbapply_rebuild"' | sed 's/); INSERT INTO .*/)/')" \
		"dbapply: schema: CREATE TABLE \"pets__dbapply_rebuild\" (id INTEGER PRIMARY KEY, name VARCHAR(40), tag VARCHAR(8), owner_id INT, weight INTEGER, note TEXT DEFAULT 'y')
dbapply: schema: CREATE TABLE \"pets__dbapply_rebuild\" (id INTEGER PRIMARY KEY, name VARCHAR(40), tag VARCHAR(8), owner_id INT, weight SMALLINT, note TEXT DEFAULT 'y')"
	run sqlite3 prod.db "SELECT sql FROM sqlite_schema WHERE name = 'pets'"
	assert_output 'CREATE TABLE "pets" (id INTEGER PRIMARY KEY, name VARCHAR(40), tag VARCHAR(8), owner_id INT, weight SMALLINT, note TEXT DEFAULT '"'y'"')'
	assert_equal "$(sqlite3 prod.db "SELECT name FROM sqlite_schema WHERE tbl_name = 'pets' AND type = 'index'")" pets_owner
	assert_same_rows_and_schema dev.db prod.db
	# the undo stream: one rebuild back for the columns and the foreign key
	run --separate-stderr dbapply --rollback prod.db
	assert_success
	assert_equal "$(printf '%s\n' "$stderr" | grep -c '^dbapply: schema: CREATE TABLE "pets__dbapply_rebuild"')" 1
	dbdump-rows prod.db > after.ndjson
	assert_same_rows_and_schema before.ndjson after.ndjson
	assert_equal "$(sqlite3 prod.db "SELECT \"table\", \"from\" FROM pragma_foreign_key_list('pets')")" "owners|owner_id"
	assert_equal "$(sqlite3 prod.db "SELECT group_concat(name || ':' || \"notnull\" || ':' || type, ' ') FROM pragma_table_info('pets')")" \
		"id:0:INTEGER name:1:VARCHAR(10) tag:0:VARCHAR(8) owner_id:0:INT weight:0:INTEGER note:0:TEXT"
}

@test "--sql --schema --mirror on SQLite: the script holds the rebuild, a column and a table dropped, and a narrowing after the rows; sqlite3 -bail makes from it what dbapply makes" {
	sqlite_tags
	sqlite3 dev.db "ALTER TABLE tag_log DROP COLUMN what; CREATE TABLE extra (id INTEGER PRIMARY KEY, v TEXT);
		INSERT INTO extra VALUES (1, 'x'); UPDATE tags SET n = 7 WHERE id = 3"
	sqlite3 prod.db "CREATE TABLE old (id INTEGER PRIMARY KEY); INSERT INTO old VALUES (5);
		CREATE TABLE sizes (id INTEGER PRIMARY KEY, label VARCHAR(20)); INSERT INTO sizes VALUES (1, 'small')"
	sqlite3 dev.db "CREATE TABLE sizes (id INTEGER PRIMARY KEY, label VARCHAR(5)); INSERT INTO sizes VALUES (1, 'S')"
	cp prod.db viasql.db
	cp prod.db prod-before.db
	dbdump-rows dev.db > s.ndjson
	run --separate-stderr dbapply --sql --schema --mirror --prefer source prod.db s.ndjson
	assert_success
	printf '%s\n' "$output" > script.sql
	cmp prod.db prod-before.db
	# in the order dbapply runs them: schema step, rows, the narrowing, COMMIT
	assert_equal "$(grep -e '^PRAGMA' -e '^CREATE TABLE' -e '^ALTER' -e '^DROP' -e '^UPDATE "sizes"' -e '^COMMIT' script.sql | cut -c 1-44 | sed 's/ *$//')" 'PRAGMA foreign_keys = ON;
PRAGMA foreign_keys = OFF;
PRAGMA defer_foreign_keys = ON;
CREATE TABLE "extra" ("id" INTEGER PRIMARY K
CREATE TABLE "tags__dbapply_rebuild" (id INT
ALTER TABLE "tag_log" DROP COLUMN "what";
DROP TABLE "old";
UPDATE "sizes" SET "label" = '"'S'"' WHERE "id"
CREATE TABLE "sizes__dbapply_rebuild" (id IN
COMMIT;'
	sqlite3 -bail viasql.db < script.sql
	run dbapply --schema --mirror --prefer source prod.db s.ndjson
	assert_success
	assert_same_rows_and_schema prod.db viasql.db
	assert_same_rows_and_schema dev.db viasql.db
	assert_equal "$(sqlite3 viasql.db "SELECT sql FROM sqlite_schema ORDER BY name")" "$(sqlite3 prod.db "SELECT sql FROM sqlite_schema ORDER BY name")"
	assert_equal "$(sqlite3 viasql.db "PRAGMA foreign_key_check")" ""
}

@test "--schema on SQLite refuses by name to rebuild a table another refers to while foreign keys are enforced (an ON DELETE action); nothing written" {
	sqlite3 prod.db "CREATE TABLE tags (id INTEGER PRIMARY KEY, name VARCHAR(10));
		CREATE TABLE tag_uses (id INTEGER PRIMARY KEY, tag_id INT REFERENCES tags(id) ON DELETE CASCADE);
		INSERT INTO tags VALUES (1, 'red'); INSERT INTO tag_uses VALUES (1, 1);"
	sqlite3 dev.db "CREATE TABLE tags (id INTEGER PRIMARY KEY, name VARCHAR(50));
		CREATE TABLE tag_uses (id INTEGER PRIMARY KEY, tag_id INT REFERENCES tags(id) ON DELETE CASCADE);
		INSERT INTO tags VALUES (1, 'red'); INSERT INTO tag_uses VALUES (1, 1);"
	cp prod.db prod-before.db
	run --separate-stderr dbapply --schema prod.db < <(dbdump-rows dev.db)
	assert_failure 2
	assert_equal "$stderr" "dbapply: <stdin>:6: --schema: column \"tags\".\"name\" is (text, VARCHAR(10)) in the target, (text, VARCHAR(50)) in the stream: table \"tags\" cannot be rebuilt to change column \"name\": table \"tag_uses\" has a foreign key into it, and SQLite enforces foreign keys in this run (one of the database has an ON DELETE or ON UPDATE action), which dropping the table for the rebuild would fire inside the transaction: change the column by hand
dbapply: nothing was written to prod.db"
	cmp prod.db prod-before.db
	assert_equal "$(sqlite3 prod.db "SELECT count(*) FROM tag_uses")" 1
}

@test "--schema --mirror drops the indexes and foreign keys the stream lacks (SQLite's by a rebuild), a warning names each without --mirror; --rollback makes them again" {
	# the same schema on both sides: a mirror sync finds nothing to drop
	run --separate-stderr dbapply --schema --mirror prod.db < <(dbdump-rows dev.db)
	assert_success
	assert_equal "$(printf '%s\n' "$stderr" | grep -c -e 'schema: ' -e 'not dropped')" 0
	sqlite3 prod.db "CREATE INDEX clients_email ON clients (email); CREATE UNIQUE INDEX clients_name_phone ON clients (name, phone);
		CREATE TABLE tags (id INTEGER PRIMARY KEY, name TEXT UNIQUE, client_id INT REFERENCES clients(id) ON DELETE SET NULL);
		INSERT INTO tags VALUES (1, 'red', 3);"
	sqlite3 dev.db "CREATE TABLE tags (id INTEGER PRIMARY KEY, name TEXT, client_id INT);
		INSERT INTO tags VALUES (1, 'red', 3);
		UPDATE clients SET phone = '999' WHERE id = 5"
	run --separate-stderr dbapply --schema prod.db < <(dbdump-rows dev.db)
	assert_success
	assert_equal "$stderr" 'dbapply: warning: <stdin>:3: --schema: index "clients_email" on "clients" (email) is only in the target: not dropped (only with --schema --mirror)
dbapply: warning: <stdin>:3: --schema: unique index "clients_name_phone" on "clients" (name, phone) is only in the target: not dropped (only with --schema --mirror)
dbapply: warning: <stdin>:6: --schema: unique index "sqlite_autoindex_tags_1" on "tags" (name) is only in the target: not dropped (only with --schema --mirror)
dbapply: warning: <stdin>:6: --schema: foreign key of "tags" (client_id) -> "clients" (id) ON DELETE SET NULL is only in the target: not dropped (only with --schema --mirror)'
	assert_equal "$(sqlite3 prod.db "SELECT count(*) FROM sqlite_schema WHERE name IN ('clients_email', 'clients_name_phone')")" 2
	# dev's rows need what prod's schema forbids: a tag name twice, a tag of no client
	sqlite3 dev.db "UPDATE clients SET phone = '998' WHERE id = 6; INSERT INTO tags VALUES (2, 'red', 99999)"
	dbdump-rows prod.db > before.ndjson
	run dbapply --schema --mirror prod.db < <(dbdump-rows dev.db)
	assert_success
	assert_line 'dbapply: schema: DROP INDEX "clients_email";'
	assert_line 'dbapply: schema: DROP INDEX "clients_name_phone";'
	# the foreign key and the UNIQUE constraint of tags: one rebuild
	assert_equal "$(printf '%s\n' "$output" | grep -c '^dbapply: schema: CREATE TABLE "tags__dbapply_rebuild"')" 1
	refute_output --partial 'not dropped'
	assert_equal "$(sqlite3 prod.db "SELECT count(*) FROM sqlite_schema WHERE name IN ('clients_email', 'clients_name_phone')")" 0
	run sqlite3 prod.db "SELECT sql FROM sqlite_schema WHERE name = 'tags'"
	assert_output 'CREATE TABLE "tags" (id INTEGER PRIMARY KEY, name TEXT, client_id INT)'
	run dbdiff dev.db prod.db
	assert_success
	run dbdiff --schema dev.db prod.db
	assert_success
	# the undo stream makes each again, after the rows
	undo=$(ls -t backups/*.undo.ndjson.gz | head -n 1)
	run jq -c 'select(.type == "schema") | [.change, .table, .new.name, .new.columns]' <(zcat "$undo")
	assert_output '["add_index","tags","sqlite_autoindex_tags_1",["name"]]
["add_index","clients","clients_name_phone",["name","phone"]]
["add_index","clients","clients_email",["email"]]
["add_reference","tags",null,["client_id"]]'
	run dbapply --rollback prod.db
	assert_success
	assert_line 'dbapply: schema: CREATE UNIQUE INDEX "clients_name_phone" ON "clients" ("name", "phone");'
	assert_line 'dbapply: schema: CREATE INDEX "clients_email" ON "clients" ("email");'
	# the UNIQUE constraint as one, in the CREATE TABLE (its own index name back), by a rebuild
	assert_line --partial 'dbapply: schema: CREATE TABLE "tags__dbapply_rebuild" (id INTEGER PRIMARY KEY, name TEXT, client_id INT, UNIQUE ("name"));'
	dbdump-rows prod.db > after.ndjson
	assert_same_rows_and_schema before.ndjson after.ndjson
	assert_equal "$(sqlite3 prod.db "SELECT name FROM sqlite_schema WHERE tbl_name = 'tags' AND type = 'index'")" sqlite_autoindex_tags_1
	run sqlite3 prod.db "SELECT sql FROM sqlite_schema WHERE name = 'tags'"
	assert_output 'CREATE TABLE "tags" (id INTEGER PRIMARY KEY, name TEXT, client_id INT, UNIQUE ("name"), FOREIGN KEY ("client_id") REFERENCES "clients" ("id") ON DELETE SET NULL)'
	run sqlite3 prod.db "INSERT INTO clients (name, phone, created_at) SELECT name, phone, created_at FROM clients WHERE id = 1"
	assert_failure
	assert_output --partial 'UNIQUE constraint failed'
	assert_equal "$(sqlite3 prod.db "SELECT \"table\", \"from\", on_delete FROM pragma_foreign_key_list('tags')")" "clients|client_id|SET NULL"
}

@test "--schema: an index whose columns change under the same name is refused by name without --mirror; --schema --mirror drops it before making the new one; --rollback puts it back" {
	sqlite3 prod.db "CREATE INDEX clients_lookup ON clients (name)"
	sqlite3 dev.db "CREATE UNIQUE INDEX clients_lookup ON clients (name, phone)"
	cp prod.db prod-before.db
	dbdump-rows prod.db > before.ndjson
	run --separate-stderr dbapply --schema prod.db < <(dbdump-rows dev.db)
	assert_failure 2
	assert_equal "$stderr" 'dbapply: <stdin>:3: --schema: index "clients_lookup" on "clients" (name) is only in the target: the stream'"'"'s table has another index of that name, which cannot be made beside it: only with --schema --mirror (which drops this one first)
dbapply: nothing was written to prod.db'
	cmp prod.db prod-before.db
	run --separate-stderr dbapply --schema --mirror prod.db < <(dbdump-rows dev.db)
	assert_success
	assert_equal "$(printf '%s\n' "$stderr" | grep '^dbapply: schema: ')" 'dbapply: schema: DROP INDEX "clients_lookup";
dbapply: schema: CREATE UNIQUE INDEX "clients_lookup" ON "clients" ("name", "phone");'
	assert_same_rows_and_schema dev.db prod.db
	run --separate-stderr dbapply --rollback prod.db
	assert_success
	assert_equal "$(printf '%s\n' "$stderr" | grep '^dbapply: schema: ')" 'dbapply: schema: DROP INDEX "clients_lookup";
dbapply: schema: CREATE INDEX "clients_lookup" ON "clients" ("name");'
	dbdump-rows prod.db > after.ndjson
	assert_same_rows_and_schema before.ndjson after.ndjson
	# --sql: the drop first in the script too
	run --separate-stderr dbapply --sql --schema --mirror prod.db < <(dbdump-rows dev.db)
	assert_success
	assert_equal "$(printf '%s\n' "$output" | grep -e '^DROP' -e '^CREATE')" 'DROP INDEX "clients_lookup";
CREATE UNIQUE INDEX "clients_lookup" ON "clients" ("name", "phone");'
}

@test "a protected environment: --schema --mirror needs --yes, and a backup is taken even when only the schema changes" {
	cp dev.db prod.db
	prod_has_more
	printf '[prod]\nurl = sqlite:prod.db\nprotected = yes\n' > dbpipe.conf
	snapshot prod.db before
	run sh -c 'dbdump-rows dev.db | dbapply --schema --mirror prod'
	assert_failure 2
	assert_output --partial "prod is protected: --mirror needs --yes (no terminal to ask on)"
	snapshot prod.db after
	diff -u before after
	run sh -c 'dbdump-rows dev.db | dbapply --schema --mirror --yes prod'
	assert_success
	assert_output --regexp 'dbapply: backup: backups/prod-[0-9T]+Z\.backup\.ndjson\.gz'
	assert_line 'dbapply: schema: DROP TABLE "old_notes";'
	backup=$(ls backups/*.backup.ndjson.gz)
	run jq -c 'select(.type == "row" and .table == "clients" and .row.id == 9) | .row.legacy_code' <(zcat "$backup")
	assert_output '"L9"'
	run jq -c 'select(.type == "row" and .table == "old_notes") | .row.body' <(zcat "$backup")
	assert_output $'"hello"\n"bye"'
}

@test "--schema carries a table's triggers within SQLite: made after the rows (they do not fire for them), then at work, with a new table or one the target has; --mirror drops the target's own; one whose SQL holds a second statement is refused; --rollback drops them" {
	mkdb src.db <<-'SQL'
	CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
	CREATE TABLE item_log (id INTEGER PRIMARY KEY, item_id INT, what TEXT);
	CREATE TRIGGER item_added AFTER INSERT ON item BEGIN
		INSERT INTO item_log (item_id, what) VALUES (new.id, 'added; by trigger'); END;
	INSERT INTO item VALUES (1, 'a'), (2, 'b');
	SQL
	assert_equal "$(dbdump-rows --schema-only src.db | jq -c 'select(.type == "table" and .table == "item") | .triggers | map(.name)')" '["item_added"]'
	sqlite3 new.db "PRAGMA user_version = 1"
	run dbapply --schema new.db < <(dbdump-rows src.db)
	assert_success
	assert_line "dbapply: schema: CREATE TRIGGER item_added AFTER INSERT ON item BEGIN"
	assert_line "INSERT INTO item_log (item_id, what) VALUES (new.id, 'added; by trigger'); END; (after the rows)"
	# the log holds the source's two rows, not two more from the trigger
	assert_line --regexp '^total +4 +0 +0$'
	assert_same_rows_and_schema src.db new.db
	cp new.db probe.db
	sqlite3 probe.db "INSERT INTO item VALUES (3, 'c')"
	assert_equal "$(sqlite3 probe.db "SELECT what FROM item_log WHERE item_id = 3")" 'added; by trigger'
	# dbdiff --schema compares triggers: by name, and within one engine their code
	sqlite3 probe.db "DROP TRIGGER item_added; CREATE TRIGGER item_added AFTER INSERT ON item BEGIN SELECT 1; END;
		CREATE TRIGGER item_gone AFTER DELETE ON item BEGIN SELECT 1; END;"
	run --separate-stderr dbdiff --schema --stat src.db probe.db
	assert_failure 1
	assert_equal "$stderr" 'trigger "item_added" of "item" is other code in OLD than in NEW
trigger "item_gone" of "item" is only in NEW
2 schema differences'
	# a trigger of other code under the same name is said and left
	run dbapply --schema probe.db < <(dbdump-rows new.db)
	assert_success
	assert_line --partial 'trigger "item_added" of "item" is other code in the target than in the stream (dbapply does not change a trigger)'
	# one the target's table lacks: said without --schema, made after the rows with it (not firing for
	# them); one only the target has: left without --mirror, dropped before the rows with it
	sqlite3 probe.db "DROP TRIGGER item_added"
	sqlite3 new.db "INSERT INTO item VALUES (3, 'c'), (4, 'd')"
	dbdump-rows probe.db > probe-before.ndjson
	run dbapply probe.db < <(dbdump-rows -t item new.db)
	assert_success
	assert_line --partial 'trigger "item_added" of "item" is only in the stream (dbapply --schema adds it, on the same engine)'
	dbapply --rollback probe.db 2> /dev/null
	run --separate-stderr dbapply --schema probe.db < <(dbdump-rows -t item new.db)
	assert_success
	assert_equal "$(printf '%s\n' "$stderr" | grep -e 'schema: ' -e 'not dropped' | head -n 2)" 'dbapply: warning: <stdin>:2: --schema: trigger "item_gone" of "item" is only in the target: not dropped (only with --schema --mirror)
dbapply: schema: CREATE TRIGGER item_added AFTER INSERT ON item BEGIN'
	assert_equal "$(sqlite3 probe.db "SELECT count(*) FROM item_log WHERE item_id = 4")" 0
	run --separate-stderr dbapply --schema --mirror probe.db < <(dbdump-rows -t item new.db)
	assert_success
	assert_equal "$(printf '%s\n' "$stderr" | grep 'schema: ')" 'dbapply: schema: DROP TRIGGER "item_gone";'
	assert_equal "$(sqlite3 probe.db "SELECT name FROM sqlite_schema WHERE type = 'trigger'")" item_added
	# the undo streams: the drop made again after the rows, the addition dropped before them
	run dbapply --rollback probe.db
	assert_success
	assert_line 'dbapply: schema: CREATE TRIGGER item_gone AFTER DELETE ON item BEGIN SELECT 1; END;'
	run dbapply --rollback probe.db
	assert_success
	assert_line 'dbapply: schema: DROP TRIGGER "item_added";'
	dbdump-rows probe.db > probe-after.ndjson
	assert_same_rows_and_schema probe-before.ndjson probe-after.ndjson
	sqlite3 new.db "DELETE FROM item WHERE id IN (3, 4)"
	# the log rows item_added made for them since are not the run's: the
	# drop of item_log would take them unsaid
	run dbapply --rollback new.db
	assert_failure 2
	assert_line --partial ': table "item_log", which the undone run made, holds 2 rows that it did not write (made since)'
	run dbapply --rollback --force new.db
	assert_success
	assert_equal "$(sqlite3 new.db "SELECT count(*) FROM sqlite_schema")" 0
	# a trigger whose SQL carries a statement of its own after it: nothing made
	dbdump-rows src.db | jq -c 'if .table == "item" and .type == "table" then .triggers[0].sql += "; DROP TABLE keep" else . end' > evil.ndjson
	sqlite3 evil.db "PRAGMA user_version = 1"
	run dbapply --schema evil.db evil.ndjson
	assert_failure 2
	assert_line --partial 'evil.ndjson:2: --schema: table "item": trigger "item_added": its SQL is not one CREATE TRIGGER statement: not made'
	assert_equal "$(sqlite3 evil.db "SELECT count(*) FROM sqlite_schema")" 0
}

@test "--schema: a stream of an older dbdump-rows that says only \"triggers\":true is refused, naming the table; --without-triggers makes the table without them, said" {
	mkdb h.db <<< "CREATE TABLE t (id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1);"
	dbdump-rows h.db | sed 's/^\({"type":"table".*\)}$/\1,"triggers":true}/' > old.ndjson
	resign old.ndjson
	sqlite3 new.db "PRAGMA user_version = 1"
	run dbapply --schema new.db old.ndjson
	assert_failure 2
	assert_line 'dbapply: old.ndjson:2: --schema: table "t" has triggers in the source, and the stream does not hold their code (an older dbdump-rows wrote it): not made (--without-triggers makes it without them)'
	assert_equal "$(sqlite3 new.db "SELECT count(*) FROM sqlite_schema")" 0
	run dbapply --schema --without-triggers new.db old.ndjson
	assert_success
	assert_line 'dbapply: warning: old.ndjson:2: --schema: table "t" is made without its triggers (the stream does not hold their code) (--without-triggers)'
	assert_equal "$(sqlite3 new.db "SELECT id FROM t")" 1
}
