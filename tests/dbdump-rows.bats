#!/usr/bin/env bats
# dbdump-rows: a database as a row stream.

bats_require_minimum_version 1.5.0

setup() {
	load helpers
	common_setup
	office_db dev.db
}

@test "usage errors: no source, too many operands, unknown option" {
	run dbdump-rows
	assert_failure 2
	assert_output --partial "dbdump-rows: missing SOURCE"
	assert_output --partial "Try 'dbdump-rows --help'."
	run dbdump-rows a.db b.db
	assert_failure 2
	run dbdump-rows --bogus dev.db
	assert_failure 2
}

@test "--help describes the options" {
	run dbdump-rows --help
	assert_success
	assert_output --partial "usage: dbdump-rows"
	assert_output --partial "--exclude"
}

@test "a missing database is an error, and no file is created" {
	run dbdump-rows nothere.db
	assert_failure 2
	assert_output --partial "nothere.db: no such SQLite database file"
	[ ! -e nothere.db ]
}

@test "an unknown environment name is an error" {
	run dbdump-rows staging
	assert_failure 2
	assert_output --partial 'unknown target "staging"'
}

@test "the stream: header, table records parents first, rows in key order, ends" {
	run dbdump-rows dev.db
	assert_success
	jq -r .type <<<"$output" | uniq -c | awk '{print $2, $1}' > types
	printf 'header 1\ntable 4\nrow 4\nend 1\nrow 100\nend 1\nrow 50\nend 1\nrow 20\nend 2\n' > expected
	diff -u expected types
	# Tables in dependency order: parents before children, then by name.
	jq -r 'select(.type == "table") | .table' <<<"$output" > tables
	printf 'case_types\nclients\ncases\ndocuments\n' > expected
	diff -u expected tables
	# Per-table end records count the rows.
	jq -c 'select(.type == "end")' <<<"$output" | jq -r '[.table // "ALL", .rows, .tables // ""] | @tsv' > ends
	printf 'case_types\t4\t\nclients\t100\t\ncases\t50\t\ndocuments\t20\t\nALL\t174\t4\n' > expected
	diff -u expected ends
}

@test "values are typed: ints, decimals as strings, bools, timestamps with T, bytes in base64" {
	# SQLite keeps NUMERIC(10,2) '130.10' as the REAL 130.1: the dump says what is stored.
	run dbdump-rows dev.db
	assert_success
	row=$(jq -c 'select(.type == "row" and .table == "clients" and .row.id == 10) | .row' <<<"$output")
	assert_equal "$row" '{"id":10,"name":"Client 10","phone":"+1 555 0110","email":"client10@example.com","referred_by":20,"balance":"130.1","vip":true,"created_at":"2026-01-11T09:10:00"}'
	doc=$(jq -r 'select(.type == "row" and .table == "documents" and .row.id == 2) | .row.content' <<<"$output")
	assert_equal "$(printf %s "$doc" | base64 -d | od -An -tx1 | tr -d ' \n')" "000000ff7f80"
	jq -c 'select(.type == "table" and .table == "clients") | [.key, (.columns | map(.type))]' <<<"$output" > types
	echo '[["id"],["int","text","text","text","int","decimal","bool","timestamp"]]' > expected
	diff -u expected types
}

@test "rows come in key order: ints by value, text bytewise" {
	mkdb k.db <<-'SQL'
	CREATE TABLE n (id INTEGER PRIMARY KEY);
	INSERT INTO n VALUES (10), (9), (-1), (100);
	CREATE TABLE s (code TEXT COLLATE NOCASE PRIMARY KEY);
	INSERT INTO s VALUES ('b'), ('C'), ('a'), ('é'), ('Z');
	SQL
	run dbdump-rows k.db
	assert_success
	assert_equal "$(jq -r 'select(.type == "row" and .table == "n") | .row.id' <<<"$output" | xargs)" "-1 9 10 100"
	assert_equal "$(jq -r 'select(.type == "row" and .table == "s") | .row.code' <<<"$output" | xargs)" "C Z a b é"
}

@test "a table without a primary key is keyed by a unique not-null index, else the whole row" {
	mkdb k.db <<-'SQL'
	CREATE TABLE u (a TEXT, b INTEGER NOT NULL, UNIQUE (b));
	CREATE TABLE w (a TEXT, b INTEGER);
	INSERT INTO u VALUES ('x', 2), ('y', 1);
	INSERT INTO w VALUES ('x', 2), ('x', 1), ('x', 1);
	SQL
	run dbdump-rows k.db
	assert_success
	assert_equal "$(jq -c 'select(.type == "table") | [.table, .key, .key_from]' <<<"$output" | xargs)" \
		'[u,[b],unique] [w,[a,b],row]'
	assert_equal "$(jq -c 'select(.type == "row" and .table == "w") | .row.b' <<<"$output" | xargs)" "1 1 2"
}

@test "the key is the first unique index by name that can be one (every column NOT NULL, none generated, no expression, not partial); a reference without target columns points at the parent's key" {
	mkdb k.db <<-'SQL'
	CREATE TABLE p (a TEXT NOT NULL, b INTEGER NOT NULL, PRIMARY KEY (b, a));
	CREATE TABLE u (a TEXT NOT NULL, b INTEGER NOT NULL, g INTEGER GENERATED ALWAYS AS (b * 2) NOT NULL, n INTEGER);
	CREATE UNIQUE INDEX u_0_partial ON u (b) WHERE b > 0;
	CREATE UNIQUE INDEX u_a_expr ON u (lower(a));
	CREATE UNIQUE INDEX u_b_generated ON u (g);
	CREATE UNIQUE INDEX u_c_nullable ON u (n);
	CREATE UNIQUE INDEX u_e_b ON u (b);
	CREATE UNIQUE INDEX u_d_ab ON u (a, b);
	CREATE TABLE c (x INTEGER, y TEXT, FOREIGN KEY (x, y) REFERENCES p);
	CREATE TABLE s (id INTEGER PRIMARY KEY, up INTEGER REFERENCES s);
	SQL
	run dbdump-rows k.db
	assert_success
	cat > expected <<-'EOF'
	["c",["x","y"],"row",[[["x","y"],"p",["b","a"]]]]
	["p",["b","a"],"primary",[]]
	["s",["id"],"primary",[[["up"],"s",["id"]]]]
	["u",["a","b"],"unique",[]]
	EOF
	jq -c 'select(.type == "table") | [.table, .key, .key_from, [.references[] | [.columns, .table, .to]]]' \
		<<<"$output" | sort > actual
	diff -u expected actual
}

@test "-t and -x select tables by glob" {
	run dbdump-rows -t 'c*' -x cases dev.db
	assert_success
	assert_equal "$(jq -r 'select(.type == "table") | .table' <<<"$output" | xargs)" "case_types clients"
	run dbdump-rows -t nothing dev.db
	assert_failure 2
	assert_output --partial 'no table matches "nothing"'
}

@test "-o FILE.gz writes gzip that every program reads back" {
	run dbdump-rows -o dump.ndjson.gz dev.db
	assert_success
	assert_output ""
	gzip -t dump.ndjson.gz
	[ "$(zcat dump.ndjson.gz | wc -l)" -eq 184 ]
	run dbdiff dump.ndjson.gz dev.db
	assert_success
}

@test "-o FILE.zst writes zstd that every program reads back from a file; cut short or on a pipe, it is refused by name" {
	run dbdump-rows -o dump.ndjson.zst dev.db
	assert_success
	assert_output ""
	zstd -q -t dump.ndjson.zst
	[ "$(zstdcat dump.ndjson.zst | wc -l)" -eq 184 ]
	run dbdiff dump.ndjson.zst dev.db
	assert_success
	run dbbackup --verify dump.ndjson.zst
	assert_success
	assert_output "dump.ndjson.zst: ok, 4 tables, 174 rows"
	before=$(sha1sum < dev.db)
	run sh -c 'dbapply --mirror dev.db dump.ndjson.zst'
	assert_success
	assert_line --regexp '^total +0 +0 +0$'
	# a file cut inside its zstd frame: no row of it is taken
	head -c 2000 dump.ndjson.zst > cut.ndjson.zst
	run dbapply --mirror dev.db cut.ndjson.zst
	assert_failure 2
	assert_line --regexp '^dbapply: cut\.ndjson\.zst:[0-9]+: truncated zstd data: its last frame ends early$'
	# a pipe cannot be looked at before it is read: zlib's reader takes it
	run sh -c 'cat dump.ndjson.zst | dbdiff - dev.db'
	assert_failure 2
	assert_output "dbdiff: <stdin>:1: zstd data on a pipe: give the file's name, or decompress it first (zstd -dc)"
	assert_equal "$(sha1sum < dev.db)" "$before"
}

@test "two dumps of the same data carry the same final hash" {
	dbdump-rows dev.db > a.ndjson
	cp dev.db copy.db
	dbdump-rows copy.db > b.ndjson
	assert_equal "$(tail -1 a.ndjson)" "$(tail -1 b.ndjson)"
	sqlite3 copy.db "UPDATE clients SET phone = 'x' WHERE id = 3"
	dbdump-rows copy.db > c.ndjson
	[ "$(tail -1 a.ndjson)" != "$(tail -1 c.ndjson)" ]
}

@test "names with spaces and quotes, self-references and real BLOBs (Northwind)" {
	src=$ROOT/../shared/datasets/northwind/sqlite/create.sql
	[ -f "$src" ] || skip "shared/datasets is absent (a user's clone has no shared/)"
	sqlite3 nw.db < "$src" > /dev/null
	run dbdump-rows -o nw.ndjson nw.db
	assert_success
	assert_equal "$(jq -c 'select(.type == "end" and .table == "Order Details") | .rows' nw.ndjson)" 2155
	run dbdiff nw.ndjson nw.db
	assert_success
	cp nw.db copy.db
	sqlite3 copy.db 'DELETE FROM "Order Details"; DELETE FROM Orders; DELETE FROM Customers;'
	run dbapply --mirror copy.db nw.ndjson
	assert_success
	run dbdiff nw.db copy.db
	assert_success
}

@test "SQLite's loose typing: untyped keys, mixed DATETIME text and a dot in a table name still make a valid stream" {
	mkdb loose.db <<-'SQL'
	CREATE TABLE u (k PRIMARY KEY, v);
	INSERT INTO u VALUES (9, 'nine'), (10, 'ten'), ('a', 'text');
	CREATE TABLE ts (at DATETIME PRIMARY KEY);
	INSERT INTO ts VALUES ('2026-01-01 10:00:00'), ('2026-01-01T09:00:00');
	CREATE TABLE "odd.name" (id INTEGER PRIMARY KEY);
	INSERT INTO "odd.name" VALUES (1);
	SQL
	run dbdump-rows -o loose.ndjson loose.db
	assert_success
	assert_equal "$(jq -c 'select(.type == "row" and .table == "u") | .row.k' loose.ndjson | xargs)" "10 9 a"
	assert_equal "$(jq -c 'select(.type == "row" and .table == "ts") | .row.at' loose.ndjson | xargs)" \
		"2026-01-01T09:00:00 2026-01-01T10:00:00"
	# the dot is the table's own, not a schema's: written with a backslash (dbpipe(5))
	assert_equal "$(jq -c 'select(.type == "end" and .table == "odd\\.name") | .rows' loose.ndjson)" 1
	run dbdiff loose.ndjson loose.db
	assert_success
}

@test "a progress meter on stderr only when it is a terminal, and -q silences it" {
	# script(1) gives the program a terminal
	script -qec "dbdump-rows -o out.ndjson dev.db" /dev/null > tty.txt
	grep -q 'dump clients: [0-9]* rows' tty.txt
	script -qec "dbdump-rows -q -o out.ndjson dev.db" /dev/null > tty.txt
	[ ! -s tty.txt ]
	dbdump-rows -o out.ndjson dev.db 2> err.txt
	[ ! -s err.txt ]
}

@test "an empty database dumps as a stream with no tables, which applies as nothing" {
	sqlite3 empty.db "CREATE TABLE x (a); DROP TABLE x;"
	run dbdump-rows -o empty.ndjson empty.db
	assert_success
	assert_equal "$(wc -l < empty.ndjson)" 2
	assert_equal "$(tail -1 empty.ndjson)" '{"type":"end","rows":0,"tables":0,"hash":"2d06800538d394c2"}'
	run dbapply dev.db empty.ndjson
	assert_success
	assert_line --regexp '^total +0 +0 +0$'
}

@test "a reader that stops early (| head -1) ends it quietly, as it ends cat: no message, status 141, SIGPIPE ignored or not" {
	mkdb big.db <<-'SQL'
	CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);
	WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
	INSERT INTO t SELECT i, printf('row %d, in a stream far longer than a pipe holds', i) FROM n;
	SQL
	for sig in --default-signal=PIPE --ignore-signal=PIPE; do
		echo 0 > status # set -e: the status is written only if it fails
		{ env "$sig" dbdump-rows -q big.db 2> err || echo $? > status; } | head -1 > first
		assert_equal "$sig $(cat status)" "$sig 141"
		assert_equal "$sig $(cat err)" "$sig "
		assert_equal "$(jq -r .type first)" header
	done
	# a write error of another kind is still said, once
	run -2 --separate-stderr dbdump-rows -q big.db -o /dev/full
	assert_equal "$stderr" "dbdump-rows: /dev/full: write error: No space left on device"
}

# Chinook from ../shared/datasets as $1, or skip.
chinook_copy() {
	local src=$ROOT/../shared/datasets/chinook/Chinook_Sqlite.sqlite
	[ -f "$src" ] || skip "shared/datasets is absent (a user's clone has no shared/)"
	cp "$src" "$1"
}

# The rows of table $2 in stream $1.
rows_of() {
	jq -r --arg t "$2" 'select(.type == "end" and .table == $t) | .rows' "$1"
}

@test "--subset: one customer, everything that refers to them and everything they need, loads into an empty database with every foreign key" {
	chinook_copy chinook.db
	run dbdump-rows --subset 'Customer:CustomerId = 1' -o slice.ndjson chinook.db
	assert_success
	# the closure, counted by hand in SQL
	q() { sqlite3 chinook.db "$1"; }
	local lines="SELECT il.* FROM InvoiceLine il JOIN Invoice i USING (InvoiceId) WHERE i.CustomerId = 1"
	local tracks="SELECT DISTINCT t.* FROM Track t JOIN ($lines) l USING (TrackId)"
	assert_equal "$(rows_of slice.ndjson Customer)" 1
	assert_equal "$(rows_of slice.ndjson Invoice)" "$(q 'SELECT count(*) FROM Invoice WHERE CustomerId = 1')"
	assert_equal "$(rows_of slice.ndjson InvoiceLine)" "$(q "SELECT count(*) FROM ($lines)")"
	assert_equal "$(rows_of slice.ndjson Track)" "$(q "SELECT count(*) FROM ($tracks)")"
	assert_equal "$(rows_of slice.ndjson Album)" "$(q "SELECT count(DISTINCT AlbumId) FROM ($tracks)")"
	assert_equal "$(rows_of slice.ndjson Artist)" "$(q "SELECT count(DISTINCT a.ArtistId) FROM Album a JOIN ($tracks) t USING (AlbumId)")"
	assert_equal "$(rows_of slice.ndjson Genre)" "$(q "SELECT count(DISTINCT GenreId) FROM ($tracks)")"
	assert_equal "$(rows_of slice.ndjson MediaType)" "$(q "SELECT count(DISTINCT MediaTypeId) FROM ($tracks)")"
	# the support rep and whoever they report to, up the chain
	assert_equal "$(rows_of slice.ndjson Employee)" "$(q "WITH RECURSIVE up(id) AS (
		SELECT SupportRepId FROM Customer WHERE CustomerId = 1
		UNION SELECT e.ReportsTo FROM Employee e JOIN up ON e.EmployeeId = up.id WHERE e.ReportsTo IS NOT NULL)
		SELECT count(*) FROM up")"
	# tracks are needed, not followed: no playlist comes along
	assert_equal "$(rows_of slice.ndjson PlaylistTrack)" 0
	# no table says it is whole
	assert_equal "$(jq -c 'select(.type == "table" and .complete)' slice.ndjson)" ""

	sqlite3 empty.db < <(sqlite3 chinook.db .schema)
	run dbapply empty.db slice.ndjson
	assert_success
	assert_equal "$(sqlite3 empty.db 'PRAGMA foreign_key_check')" ""
	assert_equal "$(sqlite3 empty.db 'SELECT count(*) FROM InvoiceLine JOIN Invoice USING (InvoiceId) JOIN Track USING (TrackId) JOIN Album USING (AlbumId) JOIN Artist USING (ArtistId)')" \
		"$(rows_of slice.ndjson InvoiceLine)"
}

@test "--subset: several starts add up; a --mirror apply of a slice keeps the rows outside it" {
	chinook_copy chinook.db
	run dbdump-rows --subset 'Customer:CustomerId IN (1, 2)' --subset 'Artist:Name = '"'AC/DC'" -o slice.ndjson chinook.db
	assert_success
	# customers 1 and 2, and everyone who bought an AC/DC track: the invoice
	# lines of AC/DC's tracks refer to them, and need their invoices and buyers
	assert_equal "$(rows_of slice.ndjson Customer)" "$(sqlite3 chinook.db "SELECT count(*) FROM Customer WHERE CustomerId IN (1, 2)
		OR CustomerId IN (SELECT i.CustomerId FROM Invoice i JOIN InvoiceLine USING (InvoiceId) JOIN Track USING (TrackId)
		JOIN Album USING (AlbumId) JOIN Artist ar USING (ArtistId) WHERE ar.Name = 'AC/DC')")"
	# AC/DC's albums and their tracks came as descendants of the artist
	assert_equal "$(jq -c 'select(.type == "row" and .table == "Album" and .row.ArtistId == 1) | .row.AlbumId' slice.ndjson | wc -l)" 2
	cp chinook.db copy.db
	sqlite3 copy.db "UPDATE Customer SET Company = 'changed' WHERE CustomerId = 1"
	run dbapply --mirror --yes copy.db slice.ndjson
	assert_success
	assert_line --regexp '^total +0 +1 +0$'
	assert_equal "$(sqlite3 copy.db 'SELECT count(*) FROM Customer')" 59
	assert_equal "$(sqlite3 copy.db 'SELECT count(*) FROM Invoice')" 412
}

@test "--subset refusals: an unknown table, a condition the engine refuses, no condition; exit 2" {
	office_db dev.db
	run --separate-stderr dbdump-rows --subset 'nosuch:id = 1' dev.db
	assert_failure 2
	assert_equal "$output" ""
	assert_equal "$stderr" 'dbdump-rows: --subset: no table "nosuch" in dev.db (or it is excluded)'
	run --separate-stderr dbdump-rows --subset 'clients:no_such_column = 1' dev.db
	assert_failure 2
	[[ "$stderr" == *'--subset clients:no_such_column = 1: '*'no such column: no_such_column'* ]]
	run --separate-stderr dbdump-rows --subset 'clients' dev.db
	assert_failure 2
	[[ "$stderr" == 'dbdump-rows: --subset takes TABLE:WHERE-CONDITION'* ]]
}

@test "a row whose record would pass the 128 MiB limit is not written: exit 2, the table named, a stream every reader refuses" {
	mkdb big.db <<<"CREATE TABLE files (id INTEGER PRIMARY KEY, body BLOB); INSERT INTO files VALUES (1, x'00'), (2, zeroblob(100 * 1024 * 1024));"
	run --separate-stderr dbdump-rows -q -o out.ndjson big.db
	assert_failure 2
	[[ "$stderr" == 'dbdump-rows: out.ndjson: table "files": a record of '*' bytes, longer than the 134217728 a stream may hold (see dbpipe(5))' ]]
	run dbbackup --verify out.ndjson
	assert_failure 2
}

@test "a SQLite table whose name holds a dot is written a\\.b (no schema), and syncs back into a table a.b" {
	mkdb dev.db <<<'CREATE TABLE "a.b" (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO "a.b" VALUES (1, '"'"'x'"'"');
		CREATE TABLE c (id INTEGER PRIMARY KEY, ab INTEGER REFERENCES "a.b" (id)); INSERT INTO c VALUES (5, 1);'
	run dbdump-rows dev.db
	assert_success
	assert_line --index 1 --partial '"table":"a\\.b"'
	assert_output --partial '"references":[{"columns":["ab"],"table":"a\\.b","to":["id"]'
	mkdb prod.db <<<'CREATE TABLE "a.b" (id INTEGER PRIMARY KEY, v TEXT); CREATE TABLE c (id INTEGER PRIMARY KEY, ab INTEGER REFERENCES "a.b" (id));'
	run dbapply prod.db <(dbdump-rows dev.db)
	assert_success
	assert_equal "$(sqlite3 prod.db 'SELECT v FROM "a.b"')" x
	run dbdiff dev.db prod.db
	assert_success
}

@test "--schema-only: table records with defaults, indexes and foreign-key actions, empty sections, nothing complete" {
	mkdb s.db <<-'SQL'
	CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT 'new', n INT DEFAULT '5',
	                     flag BOOLEAN DEFAULT 1, at DATETIME DEFAULT CURRENT_TIMESTAMP);
	CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INT REFERENCES parent(id) ON DELETE CASCADE,
	                    code TEXT UNIQUE, note TEXT);
	CREATE INDEX child_note ON child (note, parent_id);
	CREATE INDEX child_expr ON child (lower(note));
	INSERT INTO parent (id, name) VALUES (1, 'a');
	SQL
	run dbdump-rows --schema-only s.db
	assert_success
	echo "$output" | tail -n +2 > body
	cat > expected <<-'EOF2'
	{"type":"table","table":"parent","key":["id"],"key_from":"primary","columns":[{"name":"id","type":"int","native":"INTEGER","nullable":false,"autoincrement":true},{"name":"name","type":"text","native":"TEXT","nullable":false,"default":"'new'"},{"name":"n","type":"int","native":"INT","nullable":true,"default":"5"},{"name":"flag","type":"bool","native":"BOOLEAN","nullable":true,"default":"true"},{"name":"at","type":"timestamp","native":"DATETIME","nullable":true,"default":"CURRENT_TIMESTAMP"}],"references":[]}
	{"type":"table","table":"child","key":["id"],"key_from":"primary","columns":[{"name":"id","type":"int","native":"INTEGER","nullable":false,"autoincrement":true},{"name":"parent_id","type":"int","native":"INT","nullable":true},{"name":"code","type":"text","native":"TEXT","nullable":true},{"name":"note","type":"text","native":"TEXT","nullable":true}],"references":[{"columns":["parent_id"],"table":"parent","to":["id"],"deferrable":true,"on_delete":"CASCADE"}],"indexes":[{"name":"child_note","columns":["note","parent_id"]},{"name":"sqlite_autoindex_child_1","columns":["code"],"unique":true}]}
	EOF2
	head -2 body > tables
	diff -u expected tables
	# empty sections and the final end record: a valid stream of no rows
	run grep -c '"type":"row"' body
	assert_output 0
	tail -1 body | grep -q '"rows":0,"tables":2'
	run dbdump-rows --schema-only --since x s.db
	assert_failure 2
	assert_output --partial "--schema-only takes no --since or --subset"
}

@test "a stream of before defaults and indexes were written still reads" {
	old=$ROOT/fuzz/corpus/stream/rows.ndjson # written by an earlier version
	run grep -c '"default"\|"indexes"' "$old"
	assert_output 0
	assert_same_rows_and_schema "$old" "$old"
	sqlite3 empty.db 'CREATE TABLE t (x INT); DROP TABLE t'
	run dbdiff --schema "$old" empty.db
	assert_failure 1
}

# --- --digest and --against (a sync over a slow link) ---

# dev.db and a copy prod.db, 2,500 rows: an integer key, a composite key,
# a text key.
digest_pair() {
	mkdb dev.db <<-'SQL'
	CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, qty INTEGER);
	CREATE TABLE lines (order_id INTEGER NOT NULL, line INTEGER NOT NULL, sku TEXT,
		PRIMARY KEY (order_id, line));
	CREATE TABLE codes (code TEXT PRIMARY KEY, label TEXT);
	WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 1000)
	INSERT INTO items SELECT i, 'item ' || i, i * 3 FROM s;
	INSERT INTO lines SELECT id / 10, id % 10, 'sku' || id FROM items;
	INSERT INTO codes SELECT printf('c%04d', id), 'label ' || id FROM items WHERE id <= 500;
	SQL
	cp dev.db prod.db
}

# Drift on both sides of digest_pair.  In dev: an update, an insert past
# the end, a delete.  In prod: an edit by hand, a row dev never had, a
# composite-key and a text-key edit.
digest_drift() {
	sqlite3 dev.db "UPDATE items SET qty = 0 WHERE id = 450; INSERT INTO items VALUES (1001, 'new', 1);
		DELETE FROM items WHERE id = 120;"
	sqlite3 prod.db "UPDATE items SET name = 'by hand' WHERE id = 777; INSERT INTO items VALUES (5000, 'extra', 1);
		UPDATE lines SET sku = 'x' WHERE order_id = 55 AND line = 5; UPDATE codes SET label = 'y' WHERE code = 'c0333';"
}

@test "--digest: a header, the table records, per table ranges of --digest-rows rows with a 128-bit hash and a sketch, ends" {
	digest_pair
	run -0 dbdump-rows --digest --digest-rows 300 prod.db
	jq -r .type <<<"$output" | uniq -c | awk '{print $2, $1}' > types
	printf 'header 1\ntable 3\nrange 2\nend 1\nrange 4\nend 1\nrange 4\nend 2\n' > expected
	diff -u expected types
	jq -r 'select(.type == "header") | [.stream, .hash, .range_rows, .cells] | @tsv' <<<"$output" > header
	printf 'digest\txxh3-128-sum\t300\t48\n' | diff -u - header
	# each range's 48 cells, base64: none empty at 100 rows or more a range
	# (each cell a count, 16 bytes of hash, a key's length and its 1 to 7
	# bytes)
	jq -c 'select(.type == "range" and .table == "lines") | [.last, .rows, (.hash | length),
		((.cells | @base64d | length) > 48 * 18)]' <<<"$output" > ranges
	printf '%s\n' '[{"order_id":30,"line":0},300,32,true]' '[{"order_id":60,"line":0},300,32,true]' \
		'[{"order_id":90,"line":0},300,32,true]' '[{"order_id":100,"line":0},100,32,true]' | diff -u - ranges
	# --digest-cells 0: ranges without sketches
	run -0 dbdump-rows --digest --digest-rows 300 --digest-cells 0 prod.db
	jq -c 'select(.type == "range") | has("cells")' <<<"$output" | sort -u > cells
	echo false | diff -u - cells
	jq -c 'select(.type == "end" and .table == "codes") | .rows' <<<"$output" > ends
	echo 2 | diff -u - ends
}

@test "--against a digest of the same rows: no rows, a table record and an empty section per table" {
	digest_pair
	dbdump-rows --digest prod.db > digest.ndjson
	run -0 --separate-stderr dbdump-rows --against digest.ndjson dev.db
	jq -r .type <<<"$output" | uniq -c | awk '{print $2, $1}' > types
	printf 'header 1\ntable 3\nend 4\n' | diff -u - types
	jq -r 'select(.type == "table") | [.table, .ranged, .complete] | @tsv' <<<"$output" > tables
	printf 'codes\ttrue\t\nitems\ttrue\t\nlines\ttrue\t\n' | diff -u - tables
	[ "$stderr" = "dbdump-rows: 0 of 3 ranges differ; 0 rows sent" ]
}

@test "--against --digest-cells 0: only the ranges that differ, framed; a digest sync makes the target equal to the source" {
	digest_pair
	digest_drift
	dbdump-rows --digest --digest-rows 100 --digest-cells 0 prod.db > digest.ndjson
	run -0 --separate-stderr dbdump-rows --against digest.ndjson dev.db
	printf '%s\n' "$output" > against.ndjson
	jq -c 'select(.type == "range") | [.table, .after, .last]' against.ndjson > ranges
	printf '%s\n' '["codes",{"code":"c0300"},{"code":"c0400"}]' \
		'["items",{"id":100},{"id":200}]' '["items",{"id":400},{"id":500}]' \
		'["items",{"id":700},{"id":800}]' '["items",{"id":1000},{"id":5000}]' \
		'["lines",{"order_id":50,"line":0},{"order_id":60,"line":0}]' | diff -u - ranges
	# The rows of those ranges, 100 each but one deleted (item 120) and the
	# last, (1000, 5000], holding dev's 1001; nothing outside them.
	jq -r 'select(.type == "end" and .table) | [.table, .rows] | @tsv' against.ndjson > ends
	printf 'codes\t100\nitems\t300\nlines\t100\n' | diff -u - ends
	[ "$stderr" = "dbdump-rows: 6 of 26 ranges differ; 500 rows sent" ]
	# Merge: a first sync (no sync base) leaves the rows that differ out and
	# names them; --prefer source takes dev's: updates and inserts, the
	# target's extra row kept.
	cp prod.db merged.db
	run -1 --separate-stderr dbapply merged.db against.ndjson
	[[ "$stderr" == *'table "items" at key {"id":777}: the stream and the target hold other rows under this key'* ]]
	[ "$(sqlite3 merged.db "SELECT name FROM items WHERE id = 777")" = "by hand" ]
	run -0 dbapply --prefer source merged.db against.ndjson
	[ "$(sqlite3 merged.db "SELECT name FROM items WHERE id = 777")" = "item 777" ]
	[ "$(sqlite3 merged.db "SELECT count(*) FROM items WHERE id IN (120, 1001, 5000)")" = 3 ]
	run -1 dbdiff merged.db dev.db
	# --mirror: deletes inside the ranges too (120, 5000), and the pair is equal.
	run -0 dbapply --mirror prod.db against.ndjson
	run -0 dbdiff prod.db dev.db
	# A second digest finds nothing more.
	run -0 --separate-stderr sh -c 'dbdump-rows --digest prod.db | dbdump-rows --against - dev.db'
	[ "$stderr" = "dbdump-rows: 0 of 3 ranges differ; 0 rows sent" ]
}

@test "--against: a range whose sketch tells the rows that differ sends those keys alone; one that changed too much goes whole" {
	digest_pair
	digest_drift
	dbdump-rows --digest --digest-rows 100 prod.db > digest.ndjson
	run -0 --separate-stderr dbdump-rows --against digest.ndjson dev.db
	printf '%s\n' "$output" > against.ndjson
	# Each key that differs is a range of its own, followed by dev's row
	# if dev has one: 120 deleted in dev, 5000 only in prod (both to be
	# deleted), the edits with dev's rows; 1001 lies in prod's range
	# (1000, 5000], so it is a key too.
	jq -c 'select(.type == "range" or .type == "row") | [.table, .key, .row]' against.ndjson > records
	printf '%s\n' '["codes",{"code":"c0333"},null]' '["codes",null,{"code":"c0333","label":"label 333"}]' \
		'["items",{"id":120},null]' \
		'["items",{"id":450},null]' '["items",null,{"id":450,"name":"item 450","qty":0}]' \
		'["items",{"id":777},null]' '["items",null,{"id":777,"name":"item 777","qty":2331}]' \
		'["items",{"id":1001},null]' '["items",null,{"id":1001,"name":"new","qty":1}]' \
		'["items",{"id":5000},null]' \
		'["lines",{"order_id":55,"line":5},null]' '["lines",null,{"order_id":55,"line":5,"sku":"sku555"}]' |
		diff -u - records
	[ "$stderr" = "dbdump-rows: 6 of 26 ranges differ (6 of them by key: 7 keys); 5 rows sent" ]
	run -0 dbapply --mirror prod.db against.ndjson
	assert_line --regexp '^items +1 +2 +2$'
	run -0 dbdiff prod.db dev.db
	# 60 rows changed, 201 to 260: the last of prod's range (101, 201] goes
	# by key; the rest, in (201, 301], are more than its 48 cells tell
	# apart, so that range goes whole; a range with one change, by key.
	sqlite3 dev.db "UPDATE items SET qty = -1 WHERE id BETWEEN 201 AND 260; UPDATE items SET qty = -2 WHERE id = 650"
	dbdump-rows --digest --digest-rows 100 prod.db > digest.ndjson
	run -0 --separate-stderr dbdump-rows --against digest.ndjson dev.db
	printf '%s\n' "$output" > against.ndjson
	jq -c 'select(.type == "range") | [.after, .last, .key]' against.ndjson > ranges
	printf '%s\n' '[null,null,{"id":201}]' '[{"id":201},{"id":301},null]' '[null,null,{"id":650}]' | diff -u - ranges
	[ "$stderr" = "dbdump-rows: 3 of 25 ranges differ (2 of them by key: 2 keys); 102 rows sent" ]
	run -0 dbapply --mirror prod.db against.ndjson
	run -0 dbdiff prod.db dev.db
}

@test "--against: a sketch whose keys do not give the range's hash is not believed; the range goes whole" {
	digest_pair
	sqlite3 dev.db "UPDATE items SET qty = 0 WHERE id = 450"
	# prod's digest, with the sketch of its range (400, 500] replaced by
	# dev's own (cut alike: no row was inserted or deleted): it peels to
	# nothing, though the range's hash differs.
	dbdump-rows --digest --digest-rows 100 prod.db > digest.ndjson
	dbdump-rows --digest --digest-rows 100 dev.db > dev-digest.ndjson
	at=$(grep -n '"table":"items","last":{"id":500}' digest.ndjson | cut -d: -f1)
	cells=$(sed -n "${at}p" dev-digest.ndjson | jq -r .cells)
	sed -E "${at}s|\"cells\":\"[^\"]*\"|\"cells\":\"$cells\"|" digest.ndjson > lying.ndjson
	! cmp -s digest.ndjson lying.ndjson
	resign lying.ndjson
	run -0 --separate-stderr dbdump-rows --against lying.ndjson dev.db
	printf '%s\n' "$output" > against.ndjson
	[ "$stderr" = "dbdump-rows: 1 of 25 ranges differ; 100 rows sent" ]
	jq -c 'select(.type == "range") | [.table, .after, .last]' against.ndjson > ranges
	echo '["items",{"id":400},{"id":500}]' | diff -u - ranges
	# the true digest sends the one key; either way the update arrives
	run -0 --separate-stderr dbdump-rows --against digest.ndjson dev.db
	[ "$stderr" = "dbdump-rows: 1 of 25 ranges differ (1 of them by key: 1 keys); 1 rows sent" ]
	run -0 dbapply --mirror prod.db against.ndjson
	[ "$(sqlite3 prod.db "SELECT qty FROM items WHERE id = 450")" = 0 ]
	run -0 dbdiff prod.db dev.db
}

@test "--against: a range emptied by the source, and rows of a table the target lacks" {
	digest_pair
	sqlite3 dev.db "DELETE FROM codes WHERE code > 'c0100'"
	sqlite3 prod.db "DROP TABLE lines"
	dbdump-rows --digest --digest-rows 100 prod.db > digest.ndjson
	run -0 dbdump-rows -q --against digest.ndjson dev.db
	printf '%s\n' "$output" > against.ndjson
	jq -c 'select(.type == "range") | [.table, .after, .last]' against.ndjson > ranges
	# Four adjacent ranges emptied: one range record.
	echo '["codes",{"code":"c0100"},{"code":"c0500"}]' | diff -u - ranges
	jq -r 'select(.type == "table") | [.table, .ranged, .complete] | @tsv' against.ndjson > tables
	printf 'codes\ttrue\t\nitems\ttrue\t\nlines\t\ttrue\n' | diff -u - tables
	sqlite3 prod.db "CREATE TABLE lines (order_id INTEGER NOT NULL, line INTEGER NOT NULL, sku TEXT, PRIMARY KEY (order_id, line))"
	run -0 dbapply --mirror prod.db against.ndjson
	[ "$(sqlite3 prod.db "SELECT count(*) FROM codes")" = 100 ]
	run -0 dbdiff prod.db dev.db
}

@test "--against: a table whose columns differ from the digest's is sent whole, with a warning" {
	digest_pair
	sqlite3 prod.db "ALTER TABLE codes ADD COLUMN note TEXT"
	dbdump-rows --digest prod.db > digest.ndjson
	run -0 --separate-stderr dbdump-rows --against digest.ndjson dev.db
	jq -r 'select(.type == "end" and .table) | [.table, .rows] | @tsv' <<<"$output" > ends
	printf 'codes\t500\nitems\t0\nlines\t0\n' | diff -u - ends
	[[ "$stderr" == *'table "codes": columns or key differ from the digest'*': sent whole'* ]]
}

@test "--against refuses a truncated digest and writes nothing; a row stream is not a digest" {
	digest_pair
	dbdump-rows --digest --digest-rows 100 prod.db > digest.ndjson
	head -n 20 digest.ndjson > cut.ndjson
	run dbdump-rows --against - -o out.ndjson dev.db < cut.ndjson
	assert_failure 2
	assert_output "dbdump-rows: <stdin>:20: truncated stream: no final end record"
	[ ! -e out.ndjson ]
	run --separate-stderr dbdump-rows --against cut.ndjson dev.db
	[ "$status" -eq 2 ] && [ -z "$output" ]
	[ "$stderr" = "dbdump-rows: cut.ndjson:20: truncated stream: no final end record" ]
	# A range whose hash was altered is refused by the digest's own hash.
	sed '5s/"hash":"./"hash":"0/' digest.ndjson > bad.ndjson
	cmp -s digest.ndjson bad.ndjson && sed '5s/"hash":"./"hash":"1/' digest.ndjson > bad.ndjson
	run dbdump-rows --against bad.ndjson dev.db
	assert_failure 2
	assert_output --partial "hash mismatch"
	dbdump-rows prod.db > rows.ndjson
	run dbdump-rows --against rows.ndjson dev.db
	assert_failure 2
	assert_output "dbdump-rows: rows.ndjson:1: not a digest stream (dbdump-rows --digest writes one)"
	run dbdump-rows --digest --against digest.ndjson dev.db
	assert_failure 2
	run dbdump-rows --digest-rows 0 --digest dev.db
	assert_failure 2
	assert_output --partial "--digest-rows takes a count"
	run dbdump-rows --digest-cells 10 --digest dev.db
	assert_failure 2
	assert_output --partial "--digest-cells takes a multiple of 3"
	# A range's sketch cut short, a digest of another hash: refused by
	# line, nothing written.
	sed -E '5s/"cells":"[^"]*"/"cells":"AAAA"/' digest.ndjson > bad.ndjson
	run dbdump-rows --against bad.ndjson -o out.ndjson dev.db
	assert_failure 2
	assert_output 'dbdump-rows: bad.ndjson:5: range record: "cells" are not the 48 cells of a sketch (dbdump-rows --digest writes them)'
	sed '1s/"cells":48/"cells":47/' digest.ndjson > bad.ndjson
	run dbdump-rows --against bad.ndjson -o out.ndjson dev.db
	assert_failure 2
	assert_output 'dbdump-rows: bad.ndjson:1: header: "cells" must be a multiple of 3 from 0 to 99999'
	# (as an older dbdump-rows wrote it: ranges hashed whole, no sketches)
	dbdump-rows --digest --digest-rows 100 --digest-cells 0 prod.db | sed '1s/"xxh3-128-sum"/"xxh3-128"/' > bad.ndjson
	run dbdump-rows --against bad.ndjson -o out.ndjson dev.db
	assert_failure 2
	assert_output 'dbdump-rows: bad.ndjson:1: a digest of ranges hashed by "xxh3-128": this dbdump-rows reads "xxh3-128-sum"'
	[ ! -e out.ndjson ]
}

@test "a digest is read only by --against; a stream of ranges only by dbapply" {
	digest_pair
	dbdump-rows --digest prod.db > digest.ndjson
	run dbapply prod.db digest.ndjson
	assert_failure 2
	assert_output --partial "digest.ndjson:1: a digest stream (dbdump-rows --digest): only dbdump-rows --against reads it"
	sqlite3 dev.db "UPDATE items SET qty = 0 WHERE id = 450"
	dbdump-rows -q --against digest.ndjson dev.db > against.ndjson
	run dbdiff against.ndjson prod.db
	assert_failure 2
	assert_output --partial "a range record (dbdump-rows --against): only dbapply reads such a stream"
}

@test "--digest never cuts between equal rows of a table keyed by its whole row; the sync restores a repeated row" {
	mkdb dev.db <<-'SQL'
	CREATE TABLE k (a INTEGER, b TEXT);
	WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 300)
	INSERT INTO k SELECT i / 3, 'x' FROM s;
	SQL
	cp dev.db prod.db
	sqlite3 prod.db "DELETE FROM k WHERE rowid = (SELECT min(rowid) FROM k WHERE a = 50); INSERT INTO k VALUES (90, 'y')"
	dbdump-rows --digest --digest-rows 10 --digest-cells 0 prod.db > digest.ndjson
	# Keys in groups of three (two of 0 and of 50, one of 100, (90,y) alone):
	# a range ends at the first change of key from its 10th row on, so
	# 11 (0..3), 12 (four groups) each, 11 (48..51), 10 (88..90 and (90,y)),
	# 4 (99, 100).
	jq -c 'select(.type == "range") | .rows' digest.ndjson | sort | uniq -c | awk '{print $2 "x" $1}' | paste -sd' ' > sizes
	echo "10x1 11x2 12x22 4x1" | diff -u - sizes
	run -0 --separate-stderr dbdump-rows --against digest.ndjson dev.db
	printf '%s\n' "$output" > against.ndjson
	jq -c 'select(.type == "range") | [.after, .last]' against.ndjson > ranges
	printf '%s\n' '[{"a":47,"b":"x"},{"a":51,"b":"x"}]' '[{"a":87,"b":"x"},{"a":90,"b":"y"}]' | diff -u - ranges
	run -0 dbapply --mirror prod.db against.ndjson
	[ "$(sqlite3 prod.db "SELECT count(*) FROM k WHERE a = 50")" = 3 ]
	run -0 dbdiff prod.db dev.db
	# With sketches: the repeated row is a key of its own, sent with every
	# copy dev holds.
	sqlite3 prod.db "DELETE FROM k WHERE rowid = (SELECT min(rowid) FROM k WHERE a = 50)"
	dbdump-rows --digest --digest-rows 10 prod.db > digest.ndjson
	dbdump-rows -q --against digest.ndjson dev.db > against.ndjson
	jq -c 'select(.type == "range" or .type == "row") | [.key, .row]' against.ndjson > records
	printf '%s\n' '[{"a":50,"b":"x"},null]' '[null,{"a":50,"b":"x"}]' '[null,{"a":50,"b":"x"}]' \
		'[null,{"a":50,"b":"x"}]' | diff -u - records
	run -0 dbapply --mirror prod.db against.ndjson
	[ "$(sqlite3 prod.db "SELECT count(*) FROM k WHERE a = 50")" = 3 ]
	run -0 dbdiff prod.db dev.db
}

@test "the header says all_tables only when no table is left out (-t, -x, an environment's exclude)" {
	header() { dbdump-rows "$@" | head -1 | jq -c .all_tables; }
	assert_equal "$(header dev.db)" true
	assert_equal "$(header --schema-only dev.db)" true
	assert_equal "$(header -t clients dev.db)" null
	assert_equal "$(header -x documents dev.db)" null
	printf '[dev]\nurl = sqlite:dev.db\nexclude = documents\n' > dbpipe.conf
	assert_equal "$(header dev)" null
	# dbmask keeps it
	printf '[clients]\nemail = fake email\n' > mask.conf
	echo 'a secret' > key
	assert_equal "$(dbdump-rows dev.db | dbmask -r mask.conf -k key | head -1 | jq -c .all_tables)" true
}
