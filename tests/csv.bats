#!/usr/bin/env bats
# csv:DIR, a directory of CSV files, as a fourth engine: a source for
# dbdump-rows (typed by --like DB), a target for dbapply, an input of dbdiff;
# refusals by file:line; round trips from SQLite, PostgreSQL and MariaDB.

bats_require_minimum_version 1.5.0

setup_file() {
	load pg_server
	load mysql_server
	pg_start
	my_start
}

teardown_file() {
	load pg_server
	load mysql_server
	pg_stop
	my_stop
}

setup() {
	load helpers
	load pg_server
	load mysql_server
	common_setup
	export HOME=$T
	mkdb people.db <<-'SQL'
	CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT NOT NULL, note TEXT, score NUMERIC(6,2),
		active BOOLEAN, photo BLOB);
	CREATE TABLE pets (id INTEGER PRIMARY KEY, owner INTEGER NOT NULL REFERENCES people(id), name TEXT);
	SQL
}

# seeds/people.csv with the rows given on stdin, under the header of people.db.
seed() {
	mkdir -p seeds
	{ echo 'id,name,note,score,active,photo'; cat; } > seeds/people.csv
}

# The refusal of dbdump-rows --like people.db csv:seeds/: exit 2, the
# message $1, and nothing on stdout.
refused() {
	run --separate-stderr dbdump-rows --like people.db csv:seeds/
	assert_failure 2
	assert_equal "$output" ""
	[[ $stderr == *"$1"* ]] || fail "stderr lacks \"$1\": $stderr"
}

@test "a missing directory is no source, and a file is no directory" {
	run dbdump-rows csv:nothere
	assert_failure 2
	assert_output --partial "nothere: No such file or directory"
	[ ! -e nothere ]
	touch plain
	run dbdump-rows csv:plain
	assert_failure 2
	assert_output --partial "csv:plain: not a directory"
}

@test "--like names a database that must exist" {
	seed </dev/null
	run dbdump-rows --like nothere.db csv:seeds
	assert_failure 2
	assert_output --partial "nothere.db: no such SQLite database file"
}

@test "an unterminated quote is refused by file:line, nothing written" {
	printf '1,Ann,fine,,,\n2,"Bob,not closed,,,\n3,Cy,,,,\n' | seed
	refused "seeds/people.csv:3: a quoted value is not closed before the end of the file"
}

@test "a quote inside an unquoted value is refused by file:line" {
	printf '1,An"n,,,,\n' | seed
	refused "seeds/people.csv:2: a quote inside an unquoted value"
}

@test "a row with too many or too few fields is refused by file:line" {
	printf '1,Ann,,,,\n2,Bob,,,,,\n' | seed
	refused "seeds/people.csv:3: 7 fields, but the header has 6"
	printf '1,Ann,,,,\n2,"Bob\nSmith",,\n' | seed
	refused "seeds/people.csv:3: 4 fields, but the header has 6"
}

@test "a value that does not read as its column's type is refused by file:line" {
	printf '1,Ann,,,,\nx2,Bob,,,,\n' | seed
	refused 'seeds/people.csv:3: column "id": "x2" is not a valid int value'
	printf '1,Ann,,1.5x,,\n' | seed
	refused 'seeds/people.csv:2: column "score": "1.5x" is not a valid decimal value'
	printf '1,Ann,,,yes,\n' | seed
	refused 'seeds/people.csv:2: column "active": "yes" is not a valid bool value'
	printf '1,Ann,,,,not base64!\n' | seed
	refused 'seeds/people.csv:2: column "photo" (bytes): "not base64!": invalid base64'
	printf '1,Ann,\xff\xfe,,,\n' | seed
	refused 'seeds/people.csv:2: column "note": the value is not valid UTF-8'
}

@test "a duplicate key is refused with both lines" {
	printf '2,Bob,,,,\n1,Ann,,,,\n2,Bea,,,,\n' | seed
	refused 'seeds/people.csv:4: the key (id=2) is on line 2 too'
}

@test "a file whose table or column the --like database lacks is refused by name" {
	printf '1,Ann,,,,\n' | seed
	printf 'id\n1\n' > seeds/ghosts.csv
	refused 'seeds/ghosts.csv: the --like database has no table "ghosts"'
	rm seeds/ghosts.csv
	printf 'id,name,colour\n1,Rex,brown\n' > seeds/pets.csv
	refused 'seeds/pets.csv:1: column "colour" is not in table "pets" of the --like database'
	printf 'name\nRex\n' > seeds/pets.csv
	refused 'seeds/pets.csv:1: the header lacks column "id" of the key of table "pets"'
}

@test "a header must name every column once" {
	printf 'id,name,id\n1,a,1\n' > people.csv && mkdir -p seeds && mv people.csv seeds/
	run dbdump-rows csv:seeds
	assert_failure 2
	assert_output --partial 'seeds/people.csv:1: column "id" is named twice in the header'
	printf 'id,,name\n' > seeds/people.csv
	run dbdump-rows csv:seeds
	assert_failure 2
	assert_output --partial 'seeds/people.csv:1: column 2 of the header has no name'
	: > seeds/people.csv
	run dbdump-rows csv:seeds
	assert_failure 2
	assert_output --partial 'seeds/people.csv: no header row'
}

@test "without --like every column is text and the whole row is the key, rows sorted" {
	mkdir seeds
	printf 'b,a\n2,x\n10,y\n2,x\n' > seeds/t.csv
	run dump_body csv:seeds
	assert_success
	cat > expected <<-'EOF'
	{"type":"table","table":"t","key":["b","a"],"key_from":"row","columns":[{"name":"b","type":"text","native":"text","nullable":true},{"name":"a","type":"text","native":"text","nullable":true}],"references":[],"complete":true}
	{"type":"row","table":"t","row":{"b":"10","a":"y"}}
	{"type":"row","table":"t","row":{"b":"2","a":"x"}}
	{"type":"row","table":"t","row":{"b":"2","a":"x"}}
	EOF
	head -4 <<<"$output" > actual
	diff -u expected actual
	assert_equal "$(dbdump-rows csv:seeds | head -n 1 | jq -r .engine)" csv
}

@test "with --like: types, key and references from the database, rows in key order" {
	printf '10,Zed,,1.50,true,AAE=\n9,Ann,"",,false,""\n' | seed
	printf 'id,owner,name\n1,10,Rex\n' > seeds/pets.csv
	run dump_body --like people.db csv:seeds/
	assert_success
	jq -c 'select(.type == "table") | [.table, .key, [.columns[].type], [.references[].table]]' <<<"$output" > actual
	cat > expected <<-'EOF'
	["people",["id"],["int","text","text","decimal","bool","bytes"],[]]
	["pets",["id"],["int","int","text"],["people"]]
	EOF
	diff -u expected actual
	jq -c 'select(.type == "row" and .table == "people") | .row' <<<"$output" > actual
	cat > expected <<-'EOF'
	{"id":9,"name":"Ann","note":"","score":null,"active":false,"photo":""}
	{"id":10,"name":"Zed","note":null,"score":"1.50","active":true,"photo":"AAE="}
	EOF
	diff -u expected actual
}

@test "values that need quoting: commas, quotes, line ends, UTF-8, NULL and the empty string, bytes" {
	sqlite3 people.db <<-'SQL'
	INSERT INTO people VALUES (1, 'Smith, Ann', 'she said "hi"', 1.5, 1, x'00ff0a');
	INSERT INTO people VALUES (2, 'Bob', 'two
	lines', NULL, 0, NULL);
	INSERT INTO people VALUES (3, 'Éva Ørsted 東京', '', NULL, NULL, x'41');
	INSERT INTO people VALUES (4, ' padded ', NULL, 0, 1, NULL);
	SQL
	run dbdump-rows people.db -o people.ndjson
	assert_success
	run dbapply csv:out/ people.ndjson
	assert_success
	cat > expected <<-'EOF'
	id,name,note,score,active,photo
	1,"Smith, Ann","she said ""hi""",1.5,true,AP8K
	2,Bob,"two
	lines",,false,
	3,Éva Ørsted 東京,"",,,QQ==
	4," padded ",,0,true,
	EOF
	diff -u expected out/people.csv
	printf 'id,owner,name\n' > expected
	diff -u expected out/pets.csv # a table the stream brings gets its file, rows or not
	# Read back through the same types: the very rows of the database.
	tail -n +2 people.ndjson > expected
	dump_body --like people.db csv:out > actual
	diff -u expected actual
}

@test "SQLite round trip: Chinook -> csv:DIR -> a copy, and dbdiff finds no difference" {
	src=$ROOT/../shared/datasets/chinook/Chinook_Sqlite.sqlite
	[ -f "$src" ] || skip "shared/datasets is absent (a user's clone has no shared/)"
	cp "$src" chinook.db
	run dbapply csv:chinook/ < <(dbdump-rows chinook.db)
	assert_success
	assert_line --regexp '^Track +3503 +0 +0$'
	[ "$(ls chinook | wc -l)" = 11 ]
	sqlite3 chinook.db .schema | mkdb copy.db
	dbdump-rows --like chinook.db csv:chinook > chinook.ndjson
	run dbapply --mirror copy.db chinook.ndjson
	assert_success
	assert_line --regexp '^total +15607 +0 +0$'
	run dbdiff chinook.db copy.db
	assert_success
}

@test "PostgreSQL round trip: the office example through csv:DIR into another database" {
	office_db office.db
	pg_createdb dev
	pg_createdb prod
	office_pg_schema dev
	office_pg_schema prod
	DEV=$(pg_url dev) PROD=$(pg_url prod)
	dbdump-rows office.db | dbapply "$DEV" >/dev/null
	run dbapply csv:export < <(dbdump-rows "$DEV")
	assert_success
	run dbapply --mirror "$PROD" < <(dbdump-rows --like "$DEV" csv:export)
	assert_success
	assert_line --regexp '^clients +100 +0 +0$'
	run dbdiff "$DEV" "$PROD"
	assert_success
	run dbdiff office.db "$PROD"
	assert_success
}

@test "MariaDB round trip: the office example through csv:DIR into another database" {
	office_db office.db
	my_reset_db dev
	my_reset_db prod
	for db in dev prod; do
		my_sql "$db" <<-'SQL'
		CREATE TABLE case_types (id INT PRIMARY KEY, name VARCHAR(100) NOT NULL UNIQUE) ENGINE=InnoDB;
		CREATE TABLE clients (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(200) NOT NULL,
			phone VARCHAR(50), email VARCHAR(200), referred_by INT,
			balance DECIMAL(10,2) NOT NULL DEFAULT 0, vip BOOLEAN NOT NULL DEFAULT 0,
			created_at DATETIME NOT NULL, FOREIGN KEY (referred_by) REFERENCES clients(id)) ENGINE=InnoDB;
		CREATE TABLE cases (id INT AUTO_INCREMENT PRIMARY KEY, client_id INT NOT NULL, type_id INT NOT NULL,
			title VARCHAR(200) NOT NULL, opened DATE NOT NULL,
			FOREIGN KEY (client_id) REFERENCES clients(id),
			FOREIGN KEY (type_id) REFERENCES case_types(id)) ENGINE=InnoDB;
		CREATE TABLE documents (id INT AUTO_INCREMENT PRIMARY KEY, case_id INT NOT NULL,
			filename VARCHAR(200) NOT NULL, content BLOB, FOREIGN KEY (case_id) REFERENCES cases(id)) ENGINE=InnoDB;
		SQL
	done
	DEV="mysql://dbpipe@127.0.0.1:$MY_PORT/dev" PROD="mysql://dbpipe@127.0.0.1:$MY_PORT/prod"
	dbdump-rows office.db | dbapply "$DEV" >/dev/null
	run dbapply csv:export < <(dbdump-rows "$DEV")
	assert_success
	run dbapply --mirror "$PROD" < <(dbdump-rows --like "$DEV" csv:export)
	assert_success
	assert_line --regexp '^documents +20 +0 +0$'
	run dbdiff "$DEV" "$PROD"
	assert_success
}

@test "a merge into csv:DIR updates and inserts; --mirror deletes; other files are left alone" {
	office_db dev.db
	dbdump-rows dev.db | dbapply csv:out >/dev/null
	printf 'a,b\n1,2\n' > out/notes.csv
	sqlite3 dev.db "UPDATE clients SET phone = '+1, 555' WHERE id = 7;
		INSERT INTO case_types VALUES (5, 'tax'); DELETE FROM documents WHERE id > 18"
	run dbapply --mirror csv:out < <(dbdump-rows dev.db)
	assert_success
	assert_line --regexp '^case_types +1 +0 +0$'
	assert_line --regexp '^clients +0 +1 +0$'
	assert_line --regexp '^documents +0 +0 +2$'
	grep -qxF '7,Client 7,"+1, 555",client7@example.com,6,91.07,false,2026-01-08T09:07:00' out/clients.csv
	[ "$(tail -n 1 out/case_types.csv)" = "5,tax" ]
	[ "$(wc -l < out/documents.csv)" = 19 ]
	printf 'a,b\n1,2\n' > expected
	diff -u expected out/notes.csv
	ls -A out > files
	printf 'case_types.csv\ncases.csv\nclients.csv\ndocuments.csv\nnotes.csv\n' > expected
	diff -u expected files # no temporary file left
	# --like refuses a file its database has no table for, -x or not.
	run dbdump-rows --like dev.db -x notes csv:out
	assert_failure 2
	assert_output --partial 'out/notes.csv: the --like database has no table "notes"'
	mv out/notes.csv .
	dbdump-rows --like dev.db csv:out > out.ndjson
	run dbdiff dev.db out.ndjson
	assert_success
}

@test "a failed or dry-run apply leaves the directory exactly as it was" {
	office_db dev.db
	dbdump-rows dev.db | dbapply csv:out >/dev/null
	(cd out && md5sum * > ../before.md5)
	sqlite3 dev.db "UPDATE clients SET name = 'changed' WHERE id = 1"
	dbdump-rows dev.db > dev.ndjson
	head -n 20 dev.ndjson > truncated.ndjson
	run dbapply csv:out truncated.ndjson
	assert_failure 2
	assert_output --partial "nothing was written to csv:out"
	run dbapply -n csv:out dev.ndjson
	assert_success
	assert_line --regexp '^clients +0 +1 +0$'
	(cd out && md5sum -c --quiet ../before.md5)
	[ "$(ls -A out | wc -l)" = 4 ]
	# A target file that does not read as the stream's types is refused.
	sed -i 's/^3,/x3,/' out/cases.csv
	run dbapply csv:out dev.ndjson
	assert_failure 2
	assert_output --partial 'out/cases.csv:4: column "id": "x3" is not a valid int value'
	run dbapply -n csv:new dev.ndjson
	assert_success
	[ ! -e new ] # a dry run makes no directory either
}

@test "dbdiff compares csv:DIR with a database through --like, and two directories directly" {
	office_db dev.db
	dbdump-rows dev.db | dbapply csv:a >/dev/null
	cp -r a b
	sed -i 's/^4,contract$/4,contracts/' b/case_types.csv
	dbdump-rows --like dev.db csv:b > b.ndjson
	run dbdiff dev.db b.ndjson
	assert_failure 1
	assert_output --partial '{"type":"update","table":"case_types","key":{"id":4},"set":{"name":"contracts"},"old":{"name":"contract"}}'
	run dbdiff csv:a csv:b
	assert_failure 1
	assert_output --partial '"type":"insert","table":"case_types","row":{"id":"4","name":"contracts"}'
	assert_output --partial '"type":"delete","table":"case_types","key":{"id":"4","name":"contract"}'
}

@test "dbdeps reads csv:DIR: without --like its files refer to nothing" {
	office_db dev.db
	dbdump-rows dev.db | dbapply csv:out >/dev/null
	run dbdeps csv:out
	assert_success
	printf '0 case_types\n0 cases\n0 clients\n0 documents\n' > expected
	diff -u expected - <<<"$output"
}

@test "seed data kept as CSV, typed by the database it is applied to (the man page's example)" {
	office_db dev.db
	mkdir seeds
	printf 'id,name\n5,tax\n4,contract\n' > seeds/case_types.csv
	run dbapply dev.db < <(dbdump-rows --like dev.db csv:seeds/)
	assert_success
	assert_line --regexp '^case_types +1 +0 +0$'
	assert_equal "$(sqlite3 dev.db 'SELECT name FROM case_types WHERE id = 5')" tax
}

@test "column names with commas, quotes or spaces are quoted in the header, and read back" {
	mkdb odd.db <<-'SQL'
	CREATE TABLE "odd table" ("id" INTEGER PRIMARY KEY, "a,b" TEXT, "say ""x""" TEXT, " lead" TEXT);
	INSERT INTO "odd table" VALUES (1, 'v', 'w', 'x');
	SQL
	dbdump-rows odd.db | dbapply csv:out >/dev/null
	printf 'id,"a,b","say ""x"""," lead"\n1,v,w,x\n' > expected
	diff -u expected "out/odd table.csv"
	dbdump-rows odd.db | tail -n +2 > expected
	dump_body --like odd.db csv:out > actual
	diff -u expected actual
}
