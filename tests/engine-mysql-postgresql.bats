#!/usr/bin/env bats
# Across engines: PostgreSQL -> MariaDB -> PostgreSQL through dbapply, with
# real servers that this file starts and stops itself; after each sync a
# dbdiff of the two sides finds no differences.  What the target cannot
# represent is an error, never a silent change.

bats_require_minimum_version 1.5.0

setup_file() {
	load mysql_server
	load pg_server
	my_start
	pg_start
}

teardown_file() {
	load mysql_server
	load pg_server
	my_stop
	pg_stop
}

setup() {
	load helpers
	load mysql_server
	load pg_server
	common_setup
	export HOME=$T
	my_reset_db x
	pg_createdb x >/dev/null 2>&1
	PX=$(pg_url x)
	MX="mysql://dbpipe@127.0.0.1:$MY_PORT/x"
	pg_psql x <<-'SQL'
	CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
	CREATE TABLE parent (id int PRIMARY KEY, name text NOT NULL);
	CREATE TABLE types (id bigint PRIMARY KEY, parent_id int REFERENCES parent(id), i2 smallint, i8 bigint,
		n numeric(30,10), r real, d double precision, b boolean, t text, vc varchar(20), by bytea,
		dt date, tm time, tm6 time(6), ts timestamp(6), tz timestamptz, u uuid, j json, jb jsonb, m mood);
	SQL
	my_sql x <<-'SQL'
	CREATE TABLE parent (id INT PRIMARY KEY, name TEXT NOT NULL);
	CREATE TABLE types (id BIGINT PRIMARY KEY, parent_id INT, i2 SMALLINT, i8 BIGINT,
		n DECIMAL(30,10), r FLOAT, d DOUBLE, b BOOLEAN, t TEXT, vc VARCHAR(20), `by` BLOB,
		dt DATE, tm TIME, tm6 TIME(6), ts DATETIME(6), tz TIMESTAMP(6) NULL DEFAULT NULL, u UUID,
		j JSON, jb JSON, m ENUM('sad', 'ok', 'happy'),
		FOREIGN KEY (parent_id) REFERENCES parent(id)) ENGINE=InnoDB;
	SQL
}

@test "PostgreSQL -> MariaDB -> PostgreSQL: every neutral type survives, dbdiff finds no differences" {
	pg_psql x <<-'SQL'
	INSERT INTO parent VALUES (1, 'p1'), (2, 'p2 ü');
	INSERT INTO types VALUES
	(1, 1, -32768, -9223372036854775808, '12345678901234567890.0123456789', 3.25, 0.1, true, 'héllo 😀', 'x',
	 '\x00ff10', '2024-02-29', '23:59:59', '12:00:00.5', '2024-01-02 03:04:05.123456',
	 '2024-06-01 12:00:00+02', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"a": 1}', '{"b": [1, 2]}', 'happy'),
	(2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
	(3, 2, 1, 1, '-0.5', 1e30, -1e-300, false, '', '', '', '1000-01-01', '00:00:00', '00:00:00',
	 '1970-01-01 00:00:00', '1970-01-02 00:00:00.25+00', '00000000-0000-0000-0000-000000000000', '[]', '{}', 'sad');
	SQL
	run dbapply "$MX" <(dbdump-rows "$PX")
	assert_success
	run dbdiff "$PX" "$MX"
	assert_success
	assert_equal "$(my_sql x <<<'SELECT tz, HEX(`by`), m, i8 FROM types WHERE id = 1')" \
		"$(printf '2024-06-01 10:00:00.000000\t00FF10\thappy\t-9223372036854775808')"
	# Back: change MariaDB, mirror it into PostgreSQL.
	my_sql x <<-'SQL'
	UPDATE types SET n = '-99.1234567891', tz = '2030-01-01 00:00:00.000001', m = 'ok', `by` = 0x00,
		j = '{"z": true}', b = NULL WHERE id = 1;
	DELETE FROM types WHERE id = 2;
	SQL
	run dbapply --mirror "$PX" <(dbdump-rows "$MX")
	assert_success
	run dbdiff "$PX" "$MX"
	assert_success
	assert_equal "$(pg_psql x -At -c "SELECT n, tz AT TIME ZONE 'UTC', m, encode(by, 'hex'), (SELECT count(*) FROM types) FROM types WHERE id = 1")" \
		"-99.1234567891|2030-01-01 00:00:00.000001|ok|00|2"
}

@test "a digest sync between MariaDB and PostgreSQL: equal rows of every neutral type hash alike both ways; drift on both sides is found and mended" {
	pg_psql x <<-'SQL'
	INSERT INTO parent SELECT i, 'p' || i FROM generate_series(1, 5) i;
	INSERT INTO types SELECT i, 1 + i % 5, (i % 300)::smallint, i::bigint * 1000000007, i * 1.0000000001 - 500, i / 8.0, i / 3.0,
		i % 2 = 0, 'héllo ' || i, 'v' || i, decode(lpad(to_hex(i), 4, '0'), 'hex'), date '2024-02-29' + i,
		time '00:00:01' + i * interval '1 minute', time '12:00:00.5', timestamp '2024-01-02 03:04:05.123456' + i * interval '1 hour',
		timestamptz '2024-06-01 12:00:00+02' + i * interval '1 second', overlay(overlay(md5(i::text) placing '4' from 13) placing '8' from 17)::uuid, json_build_object('a', i),
		jsonb_build_object('b', jsonb_build_array(i, 'x')), (ARRAY['sad', 'ok', 'happy'])[1 + i % 3]::mood
	FROM generate_series(1, 400) i; -- uuids of version 4: MariaDB refuses other versions
	INSERT INTO types (id) VALUES (401);
	SQL
	dbapply -q --mirror "$MX" <(dbdump-rows "$PX")
	export PX MX
	# equal rows hash alike on both engines, either way round: nothing is sent
	run -0 --separate-stderr sh -c 'dbdump-rows --digest --digest-rows 50 "$MX" | dbdump-rows --against - "$PX"'
	assert_equal "$stderr" "dbdump-rows: 0 of 10 ranges differ; 0 rows sent"
	run -0 --separate-stderr sh -c 'dbdump-rows --digest --digest-rows 50 "$PX" | dbdump-rows --against - "$MX"'
	assert_equal "$stderr" "dbdump-rows: 0 of 10 ranges differ; 0 rows sent"
	# drift: an update and an insert in PostgreSQL (the source); an edit by
	# hand, an extra row and a deleted row in MariaDB (the target)
	pg_psql x -c "UPDATE types SET n = '-0.0000000001', tz = '2030-01-01 00:00:00.000001+00' WHERE id = 77" \
		-c "INSERT INTO types (id, parent_id, t) VALUES (402, 2, 'new')"
	my_sql x <<< "UPDATE types SET t = 'by hand' WHERE id = 250; INSERT INTO types (id, t) VALUES (900, 'extra');
		DELETE FROM types WHERE id = 333"
	run -0 --separate-stderr sh -c 'dbdump-rows --digest --digest-rows 50 "$MX" > digest.ndjson &&
		dbdump-rows --against digest.ndjson "$PX" > answer.ndjson'
	# the ranges of 77, 250 and 333 (50 rows each) and the last one; each
	# range's sketch tells its keys: 77, 250, 333, the source's 402, the
	# target's 900 (a key range alone, to delete); each key's row from
	# the source, hashed alike across the engines
	assert_equal "$stderr" "dbdump-rows: 4 of 10 ranges differ (4 of them by key: 5 keys); 4 rows sent"
	assert_equal "$(jq -c 'select(.type == "range") | .key.id' answer.ndjson | paste -sd' ')" "77 250 333 402 900"
	run -0 dbapply --mirror "$MX" answer.ndjson
	run -0 dbdiff "$PX" "$MX"
	assert_equal "$(my_sql x <<< "SELECT t FROM types WHERE id = 250; SELECT count(*) FROM types WHERE id IN (333, 402, 900)")" \
		"$(printf 'héllo 250\n2')"
}

@test "what PostgreSQL cannot hold (a negative MySQL TIME) is an error, and nothing is written" {
	my_sql x <<<"INSERT INTO parent VALUES (1, 'p'); INSERT INTO types (id, parent_id, tm) VALUES (1, 1, '-01:00:00');"
	run dbapply "$PX" <(dbdump-rows "$MX")
	assert_failure 2
	assert_output --partial '"types"'
	assert_output --partial '-01:00:00'
	assert_equal "$(pg_psql x -At -c 'SELECT count(*) FROM parent')" 0
}

# Rows the server read through full and index scans so far (every session).
rows_scanned() {
	my_sql x <<< "SHOW GLOBAL STATUS WHERE Variable_name IN ('Handler_read_next', 'Handler_read_rnd_next')" |
		awk '{ n += $2 } END { print n }'
}

@test "PostgreSQL --since into MariaDB: only the changed rows, looked up by key (text, bytes, composite keys)" {
	pg_psql x -q <<-'SQL'
	CREATE TABLE tags (code text PRIMARY KEY, label text);
	CREATE TABLE blobs (k bytea PRIMARY KEY, v int);
	CREATE TABLE pairs (a int, b text, v int, PRIMARY KEY (a, b));
	INSERT INTO tags SELECT 'tag' || g, 'label ' || g FROM generate_series(1, 5000) g;
	INSERT INTO tags VALUES ('o''brien', 'q'), ('back\slash', 'b'), ('ü', 'u');
	INSERT INTO blobs SELECT int4send(g), g FROM generate_series(1, 3000) g;
	INSERT INTO blobs VALUES ('\x00ff27', 0);
	INSERT INTO pairs SELECT g % 100, 'b' || g, g FROM generate_series(1, 3000) g;
	SQL
	my_sql x <<-'SQL'
	CREATE TABLE tags (code VARCHAR(40) PRIMARY KEY, label TEXT) ENGINE=InnoDB;
	CREATE TABLE blobs (k VARBINARY(16) PRIMARY KEY, v INT) ENGINE=InnoDB;
	CREATE TABLE pairs (a INT, b VARCHAR(20), v INT, PRIMARY KEY (a, b)) ENGINE=InnoDB;
	SQL
	dbdump-rows -t tags -t blobs -t pairs "$PX" | dbapply "$MX" > /dev/null
	pg_psql x -q -c "UPDATE tags SET label = 'changed' WHERE code IN ('o''brien', 'back\\slash', 'ü', 'tag77')" \
		-c "INSERT INTO tags VALUES ('new', 'n')" -c "UPDATE blobs SET v = -1 WHERE k IN ('\\x00ff27', int4send(5))" \
		-c "UPDATE pairs SET v = -1 WHERE (a, b) IN ((1, 'b1'), (99, 'b2999'))"
	dbdump-rows -t tags -t blobs -t pairs --since "$(dbapply --mark "$MX")" "$PX" > inc.ndjson
	assert_equal "$(grep -c '"type":"row"' inc.ndjson)" 9
	before=$(rows_scanned)
	run dbapply "$MX" inc.ndjson
	assert_success
	assert_line --regexp '^tags +1 +4 +0$'
	assert_line --regexp '^blobs +0 +2 +0$'
	assert_line --regexp '^pairs +0 +2 +0$'
	# a few index lookups, not a read of the 11000 rows
	assert [ $(( $(rows_scanned) - before )) -lt 1000 ]
	assert_equal "$(my_sql x <<< "SELECT label FROM tags WHERE code = 'back\\\\slash'")" changed
	run dbdiff "$PX" "$MX"
	assert_success
}

@test "PostgreSQL -> MariaDB: what MariaDB would store changed is refused by name, and nothing is written" {
	pg_psql x -q <<-'SQL'
	CREATE TABLE neg (id int PRIMARY KEY, d double precision);
	CREATE TABLE frac (id int PRIMARY KEY, ts timestamp(6));
	CREATE TABLE money (id int PRIMARY KEY, n numeric(10,3));
	CREATE TABLE arr (id int PRIMARY KEY, tags text[]);
	CREATE TABLE pt (id int PRIMARY KEY, p point);
	INSERT INTO neg VALUES (1, 1.5), (2, '-0');
	INSERT INTO frac VALUES (1, '2024-01-02 03:04:05.123'), (2, '2024-01-02 03:04:05.123456');
	INSERT INTO money VALUES (1, 1.25), (2, 1.005);
	INSERT INTO arr VALUES (1, '{}');
	INSERT INTO pt VALUES (1, '(1,2)');
	SQL
	my_sql x <<-'SQL'
	CREATE TABLE neg (id INT PRIMARY KEY, d DOUBLE);
	CREATE TABLE frac (id INT PRIMARY KEY, ts DATETIME(3));
	CREATE TABLE money (id INT PRIMARY KEY, n DECIMAL(10,2));
	CREATE TABLE arr (id INT PRIMARY KEY, tags JSON);
	CREATE TABLE pt (id INT PRIMARY KEY, p POINT);
	SQL
	refused() { # table, what stderr says
		run --separate-stderr dbapply "$MX" <(dbdump-rows -t "$1" "$PX")
		assert_failure 2
		[[ "$stderr" == *"$2"* ]] || fail "stderr: $stderr"
		assert_equal "$(my_sql x <<< "SELECT count(*) FROM $1")" 0
	}
	refused neg 'column "d" (double): -0: MySQL cannot store -0 (it keeps 0)'
	refused frac 'table "frac" at key {"id":2}: column "ts" (timestamp(6) without time zone in the stream, datetime(3) in the target): the value "2024-01-02T03:04:05.123456" has more digits of a second than the column keeps (3; --lossy fraction cuts them)'
	refused money 'table "money" at key {"id":2}: column "n" (numeric(10,3) in the stream, decimal(10,2) in the target): the value "1.005" has more fraction digits than the column keeps (2; --lossy fraction cuts them)'
	refused arr 'type mismatch: column "arr"."tags" is other (text[]) in the stream but json (longtext) in the target'
	refused pt 'column "p" (point): "(1,2)" is not well-known text (MySQL would store NULL in its place)'
	# --lossy fraction cuts what the column does not keep, and says how much
	run dbapply --lossy fraction "$MX" <(dbdump-rows -t frac -t money "$PX")
	assert_success
	assert_line '2 values of the stream cut to the digits their column keeps (--lossy fraction)'
	assert_equal "$(my_sql x <<< 'SELECT ts FROM frac WHERE id = 2; SELECT n FROM money WHERE id = 2')" "2024-01-02 03:04:05.123
1.00"
	run dbapply --lossy fraction "$MX" <(dbdump-rows -t frac -t money "$PX")
	assert_success
	assert_line --regexp '^total +0 +0 +0$'
	my_sql x <<< 'DELETE FROM frac; DELETE FROM money'
	# what MariaDB keeps goes in exactly
	pg_psql x -q -c 'DELETE FROM neg WHERE id = 2; DELETE FROM frac WHERE id = 2; DELETE FROM money WHERE id = 2'
	run dbapply "$MX" <(dbdump-rows -t neg -t frac -t money "$PX")
	assert_success
	assert_equal "$(my_sql x <<< 'SELECT d FROM neg; SELECT ts FROM frac; SELECT n FROM money')" "1.5
2024-01-02 03:04:05.123
1.25"
}

@test "dbdiff --schema: the PostgreSQL and MariaDB copies of one schema compare equal; --schema carries it from one to the other" {
	pg_createdb s >/dev/null 2>&1
	my_reset_db s
	pg_psql s -q <<-'SQL'
	CREATE TABLE authors (id serial PRIMARY KEY, name varchar(100) NOT NULL UNIQUE, born date,
		active boolean NOT NULL DEFAULT true, added timestamp DEFAULT now());
	CREATE TABLE books (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
		author_id int NOT NULL REFERENCES authors(id) ON DELETE CASCADE, title varchar(200) NOT NULL DEFAULT 'untitled',
		price numeric(8,2) DEFAULT 0, pages smallint);
	CREATE INDEX books_title ON books (title, pages);
	INSERT INTO authors (name, born) VALUES ('Ann', '1950-01-02'), ('Bob', NULL);
	INSERT INTO books (author_id, title, price, pages) VALUES (1, 'One', 9.99, 100), (2, 'Two', NULL, 20);
	SQL
	my_sql s <<-'SQL'
	CREATE TABLE authors (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100) NOT NULL UNIQUE, born DATE,
		active BOOLEAN NOT NULL DEFAULT 1, added DATETIME DEFAULT CURRENT_TIMESTAMP) ENGINE=InnoDB;
	CREATE TABLE books (id BIGINT AUTO_INCREMENT PRIMARY KEY, author_id INT NOT NULL,
		title VARCHAR(200) NOT NULL DEFAULT 'untitled', price DECIMAL(8,2) DEFAULT 0, pages SMALLINT,
		FOREIGN KEY (author_id) REFERENCES authors(id) ON DELETE CASCADE) ENGINE=InnoDB;
	CREATE INDEX books_title ON books (title, pages);
	SQL
	PS=$(pg_url s)
	MS="mysql://dbpipe@127.0.0.1:$MY_PORT/s"
	run --separate-stderr dbdiff --schema --stat "$PS" "$MS"
	assert_success
	assert_equal "$stderr" "no schema differences"
	# widths are not compared across engines (int is int); nullability and defaults are
	my_sql s <<< "ALTER TABLE books MODIFY pages INT; ALTER TABLE authors MODIFY born DATE NOT NULL DEFAULT '2000-01-01'"
	run --separate-stderr dbdiff --schema --stat "$PS" "$MS"
	assert_failure 1
	assert_equal "$stderr" "column \"authors\".\"born\" is (date, date) in OLD, (date, date, NOT NULL, DEFAULT '2000-01-01') in NEW
1 schema difference"
	# PostgreSQL -> an empty MariaDB database: schema and rows, then nothing differs
	my_reset_db t
	MT="mysql://dbpipe@127.0.0.1:$MY_PORT/t"
	run dbapply --schema "$MT" < <(dbdump-rows "$PS")
	assert_success
	assert_line 'dbapply: schema: CREATE TABLE `authors` (`id` int AUTO_INCREMENT NOT NULL, `name` varchar(100) NOT NULL, `born` date, `active` tinyint(1) NOT NULL DEFAULT true, `added` datetime(6) DEFAULT CURRENT_TIMESTAMP, PRIMARY KEY (`id`));'
	assert_same_rows_and_schema "$PS" "$MT"
	# and back, into an empty PostgreSQL database
	pg_createdb u >/dev/null 2>&1
	run dbapply --schema "$(pg_url u)" < <(dbdump-rows "$MT")
	assert_success
	run dbdiff --schema "$PS" "$(pg_url u)"
	assert_success
	run dbdiff "$PS" "$(pg_url u)"
	assert_success
}

@test "checks: PostgreSQL, MariaDB and SQLite spellings of one check compare equal; --schema makes them on each engine, enforced; one that is not portable is refused by name" {
	pg_createdb c >/dev/null 2>&1
	my_reset_db c
	pg_psql c -q <<-'SQL'
	CREATE TABLE people (id serial PRIMARY KEY, name varchar(50) NOT NULL, age int CHECK (age >= 0),
		price numeric(8,2), CONSTRAINT price_ok CHECK (price > 0 AND price < 1000 OR price IS NULL));
	INSERT INTO people (name, age, price) VALUES ('Ann', 30, 9.99), ('Bob', NULL, NULL);
	SQL
	my_sql c <<-'SQL'
	CREATE TABLE people (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(50) NOT NULL, age INT CHECK (`age` >= 0),
		price DECIMAL(8,2), CONSTRAINT price_ok CHECK ((price > 0) AND (price < 1000) OR price IS NULL)) ENGINE=InnoDB;
	SQL
	mkdb c.db <<-'SQL'
	CREATE TABLE people (id INTEGER PRIMARY KEY AUTOINCREMENT, name varchar(50) NOT NULL,
		age integer CHECK ("age" >= 0), -- as Django writes a PositiveIntegerField
		price decimal(8,2), CONSTRAINT price_ok CHECK (((price > 0) AND price < 1000) OR price IS NULL));
	SQL
	PC=$(pg_url c)
	MC="mysql://dbpipe@127.0.0.1:$MY_PORT/c"
	# the table records carry them, as each engine spells them
	assert_equal "$(dbdump-rows --schema-only "$PC" | jq -c 'select(.type == "table") | .checks')" \
		'[{"name":"people_age_check","check":"(age >= 0)"},{"name":"price_ok","check":"(((price > (0)::numeric) AND (price < (1000)::numeric)) OR (price IS NULL))"}]'
	assert_equal "$(dbdump-rows --schema-only "$MC" | jq -c 'select(.type == "table") | [.checks[].check]')" \
		'["`age` >= 0","`price` > 0 and `price` < 1000 or `price` is null"]'
	# PostgreSQL's parentheses and casts of literals to their own type change nothing
	run --separate-stderr dbdiff --schema --stat "$MC" c.db
	assert_success
	run --separate-stderr dbdiff --schema --stat "$PC" "$MC"
	assert_success
	# MariaDB -> empty PostgreSQL and SQLite: made, enforced, and then nothing differs
	my_sql c <<< "INSERT INTO people (name, age, price) VALUES ('Ann', 30, 9.99)"
	pg_createdb c2 >/dev/null 2>&1
	run dbapply --schema "$(pg_url c2)" < <(dbdump-rows "$MC")
	assert_success
	assert_output --partial 'CONSTRAINT "age" CHECK ("age" >= 0), CONSTRAINT "price_ok" CHECK ("price" > 0 AND "price" < 1000 OR "price" IS NULL)'
	run pg_psql c2 -c "INSERT INTO people (name, age) VALUES ('neg', -1)"
	assert_failure
	assert_output --partial 'violates check constraint "age"'
	run dbdiff --schema "$MC" "$(pg_url c2)"
	assert_success
	sqlite3 c2.db "PRAGMA user_version = 1"
	run dbapply --schema c2.db < <(dbdump-rows "$MC")
	assert_success
	run sqlite3 c2.db "INSERT INTO people (name, price) VALUES ('dear', 5000)"
	assert_failure
	assert_output --partial 'CHECK constraint failed: price_ok'
	run dbdiff --schema "$MC" c2.db
	assert_success
	# SQLite -> empty MariaDB
	my_reset_db c3
	run dbapply --schema "mysql://dbpipe@127.0.0.1:$MY_PORT/c3" < <(dbdump-rows c.db)
	assert_success
	run my_sql c3 <<< "INSERT INTO people (name, age) VALUES ('neg', -1)"
	assert_failure
	# PostgreSQL -> PostgreSQL keeps even what is not portable, as written
	pg_psql c -q -c "ALTER TABLE people ADD CONSTRAINT name_short CHECK (char_length(name) < 10)"
	run --separate-stderr dbdiff --schema --stat "$PC" "$MC"
	assert_failure 1
	assert_equal "$stderr" 'check "name_short" of "people" ((char_length((name)::text) < 10)) is only in OLD
1 schema difference'
	pg_createdb c4 >/dev/null 2>&1
	run dbapply --schema "$(pg_url c4)" < <(dbdump-rows "$PC")
	assert_success
	run pg_psql c4 -c "INSERT INTO people (name) VALUES ('a name too long')"
	assert_failure
	assert_output --partial 'name_short'
	run dbdiff --schema "$PC" "$(pg_url c4)"
	assert_success
	# ... and into another engine refuses it by name: nothing is made
	my_reset_db c5
	run dbapply --schema "mysql://dbpipe@127.0.0.1:$MY_PORT/c5" < <(dbdump-rows "$PC")
	assert_failure 2
	assert_output --partial 'table "people": check "name_short" ((char_length((name)::text) < 10)) uses more than columns, literals'
	run my_sql c5 <<< "SHOW TABLES"
	assert_output ""
}

@test "domains: --schema makes a PostgreSQL domain column in MariaDB and SQLite as its base type with the domain's NOT NULL, default and checks (VALUE as the column), enforced; dbdiff finds the rows equal and dbdiff --schema the domain column equal to them; a check that is not portable is refused by name" {
	pg_createdb d >/dev/null 2>&1
	pg_psql d -q <<-'SQL'
	CREATE DOMAIN year AS integer CONSTRAINT year_check CHECK (VALUE >= 1901 AND VALUE <= 2155);
	CREATE DOMAIN code AS varchar(8) DEFAULT 'none' NOT NULL;
	CREATE TABLE film (id int PRIMARY KEY, released year, code code);
	INSERT INTO film VALUES (1, 2006, 'a'), (2, NULL, DEFAULT);
	SQL
	PD=$(pg_url d)
	my_reset_db d
	MD="mysql://dbpipe@127.0.0.1:$MY_PORT/d"
	run dbapply --schema "$MD" < <(dbdump-rows "$PD")
	assert_success
	assert_line 'dbapply: schema: CREATE TABLE `film` (`id` int NOT NULL, `released` int, `code` varchar(8) NOT NULL DEFAULT '"'none'"', PRIMARY KEY (`id`), CHECK (`released` >= 1901 AND `released` <= 2155));'
	run my_sql d <<< "INSERT INTO film VALUES (3, 1800, 'b')"
	assert_failure
	assert_output --partial 'CONSTRAINT `CONSTRAINT_1` failed'
	run dbdiff "$PD" "$MD"
	assert_success
	run --separate-stderr dbdiff --schema --stat "$PD" "$MD"
	assert_success
	assert_equal "$stderr" "no schema differences"
	sqlite3 d.db "PRAGMA user_version = 1"
	run dbapply --schema d.db < <(dbdump-rows "$PD")
	assert_success
	assert_line 'dbapply: schema: CREATE TABLE "film" ("id" INTEGER NOT NULL, "released" INTEGER, "code" VARCHAR(8) NOT NULL DEFAULT '"'none'"', PRIMARY KEY ("id"), CHECK ("released" >= 1901 AND "released" <= 2155));'
	run sqlite3 d.db "INSERT INTO film VALUES (3, 2200, 'b')"
	assert_failure
	assert_output --partial 'CHECK constraint failed'
	assert_equal "$(sqlite3 d.db "INSERT INTO film (id) VALUES (3) RETURNING code; DELETE FROM film WHERE id = 3")" none
	run dbdiff "$PD" d.db
	assert_success
	# (SQLite's INTEGER PRIMARY KEY reads back as an id generator: the one
	# difference, not the domain's)
	run --separate-stderr dbdiff --schema --stat "$PD" d.db
	assert_failure 1
	assert_equal "$stderr" 'column "film"."id" is (int, integer, NOT NULL) in OLD, (int, INTEGER, NOT NULL, autoincrement) in NEW
1 schema difference'
	# the domain's check changed in the source: a difference of the column
	pg_psql d -qc "ALTER DOMAIN year DROP CONSTRAINT year_check; ALTER DOMAIN year ADD CONSTRAINT year_check CHECK (VALUE >= 1950)"
	run --separate-stderr dbdiff --schema --stat "$PD" "$MD"
	assert_failure 1
	assert_equal "$stderr" 'check "CONSTRAINT_1" of "film" (`released` >= 1901 and `released` <= 2155) is only in NEW
column "film"."released" is (int, year, CREATE DOMAIN year AS integer CONSTRAINT year_check CHECK ((VALUE >= 1950))) in OLD, (int, int(11)) in NEW
2 schema differences'
	# a check no other engine reads alike: refused by name, nothing made
	pg_psql d -qc "ALTER DOMAIN code ADD CONSTRAINT code_short CHECK (char_length(VALUE) < 8)"
	my_reset_db d2
	run dbapply --schema "mysql://dbpipe@127.0.0.1:$MY_PORT/d2" < <(dbdump-rows "$PD")
	assert_failure 2
	assert_output --partial 'table "film": check ((char_length(("code")::text) < 8)) uses more than columns, literals'
	run my_sql d2 <<< "SHOW TABLES"
	assert_output ""
}

@test "inheritance: --schema makes a PostgreSQL child table in MariaDB and SQLite as a table of its own with all its columns, the inheritance and the parent's id generator named in warnings; each table's rows its own, a text[] as its PostgreSQL text, a check of a date literal made; dbdiff finds none" {
	pg_createdb i >/dev/null 2>&1
	pg_psql i -q <<-'SQL'
	CREATE TABLE pay (id serial PRIMARY KEY, at date NOT NULL);
	CREATE TABLE pay_2007 (note text CHECK (note <> ''), tags text[], CONSTRAINT in_2007 CHECK (at >= '2007-01-01'::date)) INHERITS (pay);
	INSERT INTO pay (at) VALUES ('2006-05-01');
	INSERT INTO pay_2007 (at, note, tags) VALUES ('2007-02-01', 'x', '{a,"b c"}');
	SQL
	PI=$(pg_url i)
	my_reset_db i
	MI="mysql://dbpipe@127.0.0.1:$MY_PORT/i"
	sqlite3 i.db "PRAGMA user_version = 1"
	for dst in "$MI" i.db; do
		run --separate-stderr dbapply --schema "$dst" < <(dbdump-rows "$PI")
		assert_success
		assert_equal "$(grep -c warning <<< "$stderr")" 2
		[[ $stderr == *'warning: <stdin>:3: --schema: table "pay_2007" is made as a table of its own, with all its columns: its inheritance from "pay" is postgresql'"'"'s, which '[ms][yq][sl]*' does not have'* ]]
		[[ $stderr == *'warning: <stdin>:3: --schema: table "pay_2007": column "id" takes its ids from the generator of "pay" in the source: made without one'* ]]
		run dbdiff "$PI" "$dst"
		assert_success
	done
	assert_equal "$(my_sql i <<< "SELECT count(*) FROM pay; SELECT id, note FROM pay_2007" | tr '\n\t' '  ')" '1 2 x '
	# an array is its PostgreSQL text, kept as written
	assert_equal "$(my_sql i <<< "SELECT tags FROM pay_2007")" '{a,"b c"}'
	assert_equal "$(sqlite3 i.db "SELECT typeof(tags), tags FROM pay_2007")" 'text|{a,"b c"}'
	# the child's check of a date (PostgreSQL casts the literal) holds on both
	run my_sql i <<< "INSERT INTO pay_2007 VALUES (9, '2006-12-31', 'y', NULL)"
	assert_failure
	assert_output --partial 'in_2007'
	run sqlite3 i.db "INSERT INTO pay_2007 VALUES (9, '2006-12-31', 'y', NULL)"
	assert_failure
	assert_output --partial 'in_2007'
	assert_equal "$(sqlite3 i.db "SELECT count(*) FROM pay; SELECT id, note FROM pay_2007" | tr '\n' ' ')" '1 2|x '
}

@test "--schema into MariaDB: a PostgreSQL char(n) is a varchar(n) (its padded values kept as read); a foreign key that sets a NOT NULL column to NULL is NO ACTION, which refuses the delete alike; dbdiff and dbdiff --schema find none" {
	pg_createdb f >/dev/null 2>&1
	pg_psql f -q <<-'SQL'
	CREATE TABLE lang (id int PRIMARY KEY, name char(8) NOT NULL);
	CREATE TABLE pay (id int PRIMARY KEY, lang_id int NOT NULL REFERENCES lang ON DELETE SET NULL ON UPDATE CASCADE);
	INSERT INTO lang VALUES (1, 'en'), (2, 'fr');
	INSERT INTO pay VALUES (1, 1);
	SQL
	PF=$(pg_url f)
	my_reset_db f
	MF="mysql://dbpipe@127.0.0.1:$MY_PORT/f"
	run dbapply --schema "$MF" < <(dbdump-rows "$PF")
	assert_success
	assert_line 'dbapply: schema: CREATE TABLE `lang` (`id` int NOT NULL, `name` varchar(8) NOT NULL, PRIMARY KEY (`id`));'
	assert_line --partial 'FOREIGN KEY (`lang_id`) REFERENCES `lang` (`id`) ON UPDATE CASCADE;'
	assert_equal "$(my_sql f <<< "SELECT concat('[', name, ']') FROM lang WHERE id = 1")" '[en      ]'
	run dbdiff "$PF" "$MF"
	assert_success
	run --separate-stderr dbdiff --schema --stat "$PF" "$MF"
	assert_success
	run pg_psql f -c "DELETE FROM lang WHERE id = 1"
	assert_failure
	run my_sql f <<< "DELETE FROM lang WHERE id = 1"
	assert_failure
	assert_output --partial 'foreign key constraint fails'
}

@test "enums: the table record lists a PostgreSQL or MariaDB enum's values; --schema makes a MariaDB ENUM of a PostgreSQL one, and a value added in dev is a schema difference" {
	pg_createdb e >/dev/null 2>&1
	pg_psql e -q <<-'SQL'
	CREATE TYPE mood AS ENUM ('sad', 'ok', 'it''s fine');
	CREATE TABLE people (id int PRIMARY KEY, m mood NOT NULL);
	INSERT INTO people VALUES (1, 'sad'), (2, 'it''s fine');
	SQL
	PE=$(pg_url e)
	assert_equal "$(dbdump-rows --schema-only "$PE" | jq -c 'select(.type == "table") | .columns[1].labels')" \
		'["sad","ok","it'"'"'s fine"]'
	my_reset_db e
	ME="mysql://dbpipe@127.0.0.1:$MY_PORT/e"
	run dbapply --schema "$ME" < <(dbdump-rows "$PE")
	assert_success
	assert_output --partial "\`m\` enum('sad','ok','it''s fine') NOT NULL"
	assert_equal "$(my_sql e <<< "SELECT m FROM people ORDER BY id" | tr '\n' '|')" "sad|it's fine|"
	assert_equal "$(dbdump-rows --schema-only "$ME" | jq -c 'select(.type == "table") | .columns[1].labels')" \
		'["sad","ok","it'"'"'s fine"]'
	run my_sql e <<< "INSERT INTO people VALUES (3, 'glad')"
	assert_failure
	run dbdiff --schema "$PE" "$ME"
	assert_success
	run dbdiff "$PE" "$ME"
	assert_success
	# a value added to the type in dev: the column differs, said with both lists
	pg_createdb e2 >/dev/null 2>&1
	pg_dump -s -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" e | pg_psql e2 >/dev/null
	pg_psql e -q -c "ALTER TYPE mood ADD VALUE 'glad'"
	run --separate-stderr dbdiff --schema --stat "$(pg_url e2)" "$PE"
	assert_failure 1
	assert_equal "$stderr" "column \"people\".\"m\" is (enum, mood, NOT NULL, ENUM ('sad', 'ok', 'it's fine')) in OLD, (enum, mood, NOT NULL, ENUM ('sad', 'ok', 'it's fine', 'glad')) in NEW
1 schema difference"
}

@test "enums: --schema makes a PostgreSQL enum type named <table>_<column> for a MariaDB ENUM, values in order; dbdiff finds both equal; --rollback drops table and types" {
	my_reset_db e
	my_sql e <<-'SQL'
	CREATE TABLE film (id INT PRIMARY KEY AUTO_INCREMENT, rating ENUM('G', 'PG-13', 'it''s') NOT NULL DEFAULT 'G',
		`Kind` ENUM('a', 'b'));
	INSERT INTO film VALUES (1, 'PG-13', 'a'), (2, 'it''s', NULL);
	SQL
	ME="mysql://dbpipe@127.0.0.1:$MY_PORT/e"
	pg_createdb e >/dev/null 2>&1
	PE=$(pg_url e)
	run dbapply --schema "$PE" < <(dbdump-rows "$ME")
	assert_success
	assert_line "dbapply: schema: CREATE TYPE film_rating AS ENUM ('G', 'PG-13', 'it''s');"
	assert_line "dbapply: schema: CREATE TYPE \"film_Kind\" AS ENUM ('a', 'b');"
	assert_line --partial '"rating" film_rating NOT NULL DEFAULT '"'G'"', "Kind" "film_Kind"'
	assert_same_rows_and_schema "$ME" "$PE"
	assert_equal "$(pg_psql e -Atc "SELECT enum_range(NULL::film_rating)")" '{G,PG-13,it'"'"'s}'
	run pg_psql e -qc "INSERT INTO film (rating) VALUES ('R')"
	assert_failure
	assert_output --partial 'invalid input value for enum film_rating: "R"'
	# the id generator is past the data
	assert_equal "$(pg_psql e -Atc "INSERT INTO film DEFAULT VALUES RETURNING id")" 3
	pg_psql e -qc "DELETE FROM film WHERE id = 3"
	run dbapply --rollback "$PE"
	assert_success
	assert_line 'dbapply: schema: DROP TYPE film_rating;'
	assert_line 'dbapply: schema: DROP TYPE "film_Kind";'
	assert_equal "$(pg_psql e -Atc "SELECT count(*) FROM pg_type WHERE typtype = 'e'")" 0
	assert_equal "$(pg_psql e -Atc "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")" 0
}

@test "triggers and FULLTEXT: --schema carries a MariaDB trigger into MariaDB after the rows' commit (it does not fire for them); into PostgreSQL each trigger and index is refused by name, nothing made; --without-triggers --without-engine-indexes make the tables without them, each named" {
	my_reset_db tg
	my_sql tg <<-'SQL'
	CREATE TABLE doc (id INT PRIMARY KEY, title VARCHAR(100) NOT NULL, body TEXT,
		stamped DATETIME NOT NULL, FULLTEXT INDEX doc_text (title, body)) ENGINE=InnoDB;
	INSERT INTO doc VALUES (1, 'a', 'x', '2020-01-01 00:00:00');
	CREATE TRIGGER doc_stamp BEFORE INSERT ON doc FOR EACH ROW SET NEW.stamped = '2099-01-01 00:00:00';
	SQL
	MT="mysql://dbpipe@127.0.0.1:$MY_PORT/tg"
	assert_equal "$(dbdump-rows --schema-only "$MT" | jq -r 'select(.type == "table") | .triggers[0].sql')" \
		"CREATE TRIGGER \`doc_stamp\` BEFORE INSERT ON \`doc\` FOR EACH ROW SET NEW.stamped = '2099-01-01 00:00:00'"
	# same engine: made after the rows are committed, so the row keeps its own value
	my_reset_db tg2
	run dbapply --schema "mysql://dbpipe@127.0.0.1:$MY_PORT/tg2" < <(dbdump-rows "$MT")
	assert_success
	assert_line "dbapply: schema: CREATE TRIGGER \`doc_stamp\` BEFORE INSERT ON \`doc\` FOR EACH ROW SET NEW.stamped = '2099-01-01 00:00:00'; (after the rows' commit)"
	assert_same_rows_and_schema "$MT" "mysql://dbpipe@127.0.0.1:$MY_PORT/tg2"
	my_sql tg2 <<< "INSERT INTO doc VALUES (2, 'b', NULL, '2021-01-01')"
	assert_equal "$(my_sql tg2 <<< "SELECT stamped FROM doc WHERE id = 2")" "2099-01-01 00:00:00"
	assert_equal "$(my_sql tg2 <<< "SELECT index_type FROM information_schema.statistics WHERE table_schema = 'tg2' AND index_name = 'doc_text' LIMIT 1")" FULLTEXT
	# another engine: refused by name, nothing made
	pg_createdb tg >/dev/null 2>&1
	run --separate-stderr dbapply --schema "$(pg_url tg)" < <(dbdump-rows "$MT")
	assert_failure 2
	assert_equal "$stderr" "dbapply: <stdin>:2: --schema: table \"doc\": trigger \"doc_stamp\" is code of mysql, which postgresql cannot run: not made (--without-triggers makes the table without its triggers, each named)
dbapply: <stdin>:2: --schema: table \"doc\": index \"doc_text\" is a fulltext index of mysql, which postgresql cannot make: not made (--without-engine-indexes leaves it out)
dbapply: nothing was written to postgres://dbpipe@127.0.0.1:$PG_PORT/tg"
	assert_equal "$(pg_psql tg -Atc "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")" 0
	run dbapply --without-triggers "$(pg_url tg)" < <(dbdump-rows "$MT")
	assert_failure 2
	assert_output --partial 'go with --schema'
	# the opt-outs: made without them, each named
	run --separate-stderr dbapply --schema --without-triggers --without-engine-indexes "$(pg_url tg)" < <(dbdump-rows "$MT")
	assert_success
	assert_equal "$(grep warning <<< "$stderr")" "dbapply: warning: <stdin>:2: --schema: table \"doc\": trigger \"doc_stamp\" of mysql is left out (--without-triggers)
dbapply: warning: <stdin>:2: --schema: table \"doc\": the fulltext index \"doc_text\" of mysql is left out (--without-engine-indexes)"
	run dbdiff "$MT" "$(pg_url tg)"
	assert_success
	# what is left out stays a difference of the schemas
	run dbdiff --schema --stat "$MT" "$(pg_url tg)"
	assert_failure 1
	assert_output --partial 'index "doc_text"'
	assert_equal "$(pg_psql tg -Atc "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal")" 0
}

# ----------------------------------------------------------------------------
# Chinook and Sakila from ../shared/datasets, with --schema into empty
# databases of each engine.

# What the target made by new_target holds of engine $1 (tables, views,
# sequences, types, functions, triggers), one name a line: nothing when
# it is empty.
target_objects() {
	case $1 in
	sqlite) sqlite3 "$T/new.db" "SELECT type || ' ' || name FROM sqlite_schema ORDER BY 1" ;;
	pg) pg_psql new -Atc "SELECT c.relkind || ' ' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'
		UNION ALL SELECT 'type ' || t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = 'public'
		UNION ALL SELECT 'function ' || p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'
		ORDER BY 1" ;;
	mariadb) my_sql new <<< "SELECT concat('table ', table_name) FROM information_schema.tables WHERE table_schema = 'new'
		UNION ALL SELECT concat('trigger ', trigger_name) FROM information_schema.triggers WHERE trigger_schema = 'new'
		UNION ALL SELECT concat('routine ', routine_name) FROM information_schema.routines WHERE routine_schema = 'new'
		ORDER BY 1" ;;
	esac
}

# dbapply --rollback of the --schema run into the target new_target made
# (engine $1): the database empty again.
check_rollback_to_empty() {
	run dbapply --rollback "$DST"
	assert_success
	refute_output --partial 'delete failed'
	assert_line --regexp '^dbapply: schema: DROP TABLE .store.;'
	assert_equal "$(target_objects "$1")" ""
}

# Chinook (the ids generated by the engine) loaded in engine $1: sets SRC,
# or skips when the datasets are absent.
chinook_source() {
	local d=$ROOT/../shared/datasets/chinook
	[ -f "$d/Chinook_Sqlite.sqlite" ] || skip "shared/datasets is absent (a user's clone has no shared/)"
	case $1 in
	sqlite)
		cp "$d/Chinook_Sqlite.sqlite" "$T/chinook.db"
		SRC="sqlite:$T/chinook.db" ;;
	pg)
		pg_psql postgres -c "SET client_min_messages = warning" -f "$d/Chinook_PostgreSql_AutoIncrementPKs.sql" >/dev/null
		SRC=$(pg_url chinook_auto_increment) ;;
	mariadb)
		my_sql mysql < "$d/Chinook_MySql_AutoIncrementPKs.sql"
		SRC="mysql://dbpipe@127.0.0.1:$MY_PORT/Chinook_AutoIncrement" ;;
	esac
}

# SQL $2 run by the client of engine $1 on the empty target made by new_target.
target_sql() {
	case $1 in
	sqlite) sqlite3 -bail "$T/new.db" "PRAGMA foreign_keys = ON; $2" ;;
	pg) pg_psql new -Atc "$2" ;;
	mariadb) my_sql new <<< "$2" ;;
	esac
}

# An empty database of engine $1: sets DST.
new_target() {
	case $1 in
	sqlite) sqlite3 "$T/new.db" "PRAGMA user_version = 1"; DST="sqlite:$T/new.db" ;;
	pg) pg_createdb new >/dev/null; DST=$(pg_url new) ;;
	mariadb) my_reset_db new; DST="mysql://dbpipe@127.0.0.1:$MY_PORT/new" ;;
	esac
}

# Chinook from engine $1 into an empty database of engine $2 with --schema.
check_chinook() {
	chinook_source "$1"
	new_target "$2"
	run dbapply --schema "$DST" < <(dbdump-rows "$SRC")
	assert_success
	assert_line --regexp '^total +15607 +0 +0$'
	run dbdiff "$SRC" "$DST"
	assert_success
	# PostgreSQL's copy names tables and columns in snake_case, the others in PascalCase
	local q='"' genre=Genre id=GenreId name=Name album=Album title=Title artist=ArtistId
	[ "$2" = mariadb ] && q='`'
	if [ "$1" = pg ]; then genre=genre id=genre_id name=name album=album title=title artist=artist_id; fi
	# the id generator is past the data: an insert without an id takes the next
	run target_sql "$2" "INSERT INTO $q$genre$q ($q$name$q) VALUES ('new'); SELECT max($q$id$q) FROM $q$genre$q"
	assert_success
	assert_output 26
	# the foreign keys are there and enforced
	run target_sql "$2" "INSERT INTO $q$album$q ($q$title$q, $q$artist$q) VALUES ('dangling', 99999)"
	assert_failure
}

@test "--schema: Chinook from SQLite into empty PostgreSQL and MariaDB databases: every row equal, foreign keys enforced, ids past the data" {
	check_chinook sqlite pg
	check_chinook sqlite mariadb
}

@test "--schema: Chinook from PostgreSQL into empty SQLite and MariaDB databases: every row equal, foreign keys enforced, ids past the data" {
	check_chinook pg sqlite
	check_chinook pg mariadb
}

@test "--schema: Chinook from MariaDB into empty SQLite and PostgreSQL databases: every row equal, foreign keys enforced, ids past the data" {
	check_chinook mariadb sqlite
	check_chinook mariadb pg
}

# Sakila loaded into an empty database of engine $1 with --schema from
# $SAK: every row equal, foreign keys there and enforced, ids past the data.
check_sakila_into() {
	new_target "$1"
	run dbapply --schema "${@:2}" "$DST" < <(dbdump-rows "$SAK")
	assert_success
	assert_line --regexp '^total +47268 +0 +0$'
	APPLIED=$output
	if [ "$1" = sqlite ]; then
		# SQLite keeps an enum as text and a timestamp without its zone
		# (dbpipe(5)): dbdiff --schema names those, the rows are equal
		run dbdiff "$SAK" "$DST"
		assert_success
		assert_equal "$(target_sql sqlite "PRAGMA foreign_key_check")" ""
	elif [ $# -gt 1 ]; then
		# what was left out is what the schemas differ by: the index, the six triggers
		run dbdiff "$SAK" "$DST"
		assert_success
		run dbdiff --schema --stat "$SAK" "$DST"
		assert_failure 1
		assert_line --partial 'index "idx_title_description"'
		assert_line 'trigger "rental_date" of "rental" is only in OLD'
		assert_line '7 schema differences'
	else
		assert_same_rows_and_schema "$SAK" "$DST"
	fi
	# the store <-> staff cycle and the others: each foreign key there and enforced
	run target_sql "$1" "INSERT INTO rental (rental_date, inventory_id, customer_id, staff_id) VALUES ('2026-01-01', 999999, 1, 1)"
	assert_failure
	run target_sql "$1" "UPDATE store SET manager_staff_id = 99 WHERE store_id = 1"
	assert_failure
	assert_equal "$(target_sql "$1" "INSERT INTO actor (first_name, last_name) VALUES ('A', 'B'); SELECT max(actor_id) FROM actor")" 201
	# (a row the run did not write would go with its table, unsaid: for
	# check_rollback_to_empty)
	target_sql "$1" "DELETE FROM actor WHERE actor_id = 201"
}

@test "--schema: Sakila from MariaDB: into MariaDB with its triggers (made after the rows); into SQLite and PostgreSQL each trigger and the FULLTEXT index refused by name, nothing made, then left out with --without-triggers --without-engine-indexes (film.rating an enum type, the store <-> staff cycle): every row equal, foreign keys enforced, ids past the data" {
	local data=$ROOT/../shared/datasets/sakila/mysql
	[ -f "$data/sakila-schema.sql" ] || skip "shared/datasets is absent (a user's clone has no shared/)"
	my_reset_db sak
	sed 's/\bsakila\b/sak/g' "$data/sakila-schema.sql" | my_sql sak
	sed 's/\bsakila\b/sak/g' "$data/sakila-data.sql" | my_sql sak
	SAK="mysql://dbpipe@127.0.0.1:$MY_PORT/sak"
	dbdump-rows "$SAK" > sak.ndjson
	# the same engine: the six triggers too, once the rows are in (rental_date
	# and payment_date would set every date to the time of the load)
	check_sakila_into mariadb
	assert_equal "$(my_sql new <<< "SELECT group_concat(trigger_name ORDER BY trigger_name) FROM information_schema.triggers WHERE trigger_schema = 'new'")" \
		customer_create_date,del_film,ins_film,payment_date,rental_date,upd_film
	assert_equal "$(my_sql new <<< "SELECT index_type FROM information_schema.statistics WHERE table_schema = 'new' AND index_name = 'idx_title_description' LIMIT 1")" FULLTEXT
	# --rollback back to the empty database, through the store <-> staff cycle
	check_rollback_to_empty mariadb
	new_target sqlite
	run dbapply --schema "$DST" sak.ndjson
	assert_failure 2
	assert_line --partial 'sak.ndjson:7: --schema: table "film_text": index "idx_title_description" is a fulltext index of mysql, which sqlite cannot make'
	for t in film:ins_film film:upd_film film:del_film customer:customer_create_date rental:rental_date payment:payment_date; do
		assert_line --partial "--schema: table \"${t%%:*}\": trigger \"${t#*:}\" is code of mysql, which sqlite cannot run: not made"
	done
	refute_line --partial 'schema: CREATE'
	assert_equal "$(sqlite3 new.db "SELECT count(*) FROM sqlite_schema")" 0
	new_target pg
	run dbapply --schema "$DST" sak.ndjson
	assert_failure 2
	assert_line --partial 'index "idx_title_description" is a fulltext index of mysql, which postgresql cannot make'
	assert_line --partial 'table "rental": trigger "rental_date" is code of mysql, which postgresql cannot run: not made'
	assert_equal "$(pg_psql new -Atc "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")" 0
	# the user's way: without them, each named
	check_sakila_into sqlite --without-triggers --without-engine-indexes
	[[ $APPLIED == *'table "payment": trigger "payment_date" of mysql is left out (--without-triggers)'* ]]
	check_rollback_to_empty sqlite
	check_sakila_into pg --without-triggers --without-engine-indexes
	[[ $APPLIED == *'table "film_text": the fulltext index "idx_title_description" of mysql is left out (--without-engine-indexes)'* ]]
	assert_equal "$(pg_psql new -Atc "SELECT enum_range(NULL::film_rating)")" '{G,PG,PG-13,R,NC-17}'
	check_rollback_to_empty pg
}

@test "--schema: Sakila from PostgreSQL (jOOQ's port): into PostgreSQL with everything (the domain year, the enum mpaa_rating, the children with INHERITS, payment's rules and the triggers made after the rows, last_updated() with them); into SQLite and MariaDB with --without-triggers --without-engine-indexes (each trigger, rule and the gist index named; text[] and tsvector as their text): every row equal, foreign keys enforced, ids past the data" {
	local data=$ROOT/../shared/datasets/sakila/postgres
	[ -f "$data/postgres-sakila-schema.sql" ] || skip "shared/datasets is absent (a user's clone has no shared/)"
	pg_createdb sakpg >/dev/null
	# the dump names a role postgres; the test's server has none
	sed -e '/OWNER TO/d' -e '/^GRANT /d' -e '/^REVOKE /d' "$data/postgres-sakila-schema.sql" | pg_psql sakpg >/dev/null
	pg_psql sakpg -f "$data/postgres-sakila-insert-data-using-copy.sql" >/dev/null
	SAK=$(pg_url sakpg)
	dbdump-rows "$SAK" > sakpg.ndjson
	assert_equal "$(jq -c 'select(.type == "table" and .table == "film") | [.not_carried, .columns[3].domain, .columns[10].labels, (.triggers | map(.name)), (.functions | map(.name))]' sakpg.ndjson)" \
		'[null,{"name":"year","base":"integer","nullable":true,"checks":[{"name":"year_check","check":"((VALUE >= 1901) AND (VALUE <= 2155))"}]},["G","PG","PG-13","R","NC-17"],["film_fulltext_trigger","last_updated"],["last_updated()"]]'
	# PostgreSQL: everything, and then nothing differs, rows or schema
	new_target pg
	run dbapply --schema "$DST" sakpg.ndjson
	assert_success
	assert_line --regexp '^total +46273 +0 +0$'
	assert_line 'dbapply: schema: CREATE DOMAIN year AS integer CONSTRAINT year_check CHECK (((VALUE >= 1901) AND (VALUE <= 2155)));'
	assert_line --regexp '^dbapply: schema: CREATE TABLE "payment_p2007_06" .* INHERITS \("payment"\);$'
	assert_line 'dbapply: schema: CREATE RULE payment_insert_p2007_06 AS'
	assert_same_rows_and_schema "$SAK" "$DST"
	assert_equal "$(pg_psql new -Atc "SELECT count(*) FROM ONLY payment; SELECT count(*) FROM pg_rules WHERE schemaname = 'public'; SELECT count(*) FROM pg_inherits")" "16049
6
6"
	# --rollback back to the empty database, in one transaction: the store
	# <-> staff cycle (NOT NULL both ways, not deferrable) dropped with its
	# rows, the rules first, the domain, enum type and function after their
	# tables; then the same run again for what follows
	check_rollback_to_empty pg
	assert_line 'dbapply: schema: DROP RULE IF EXISTS "payment_insert_p2007_01" ON "payment";'
	assert_line 'dbapply: schema: DROP FUNCTION last_updated();'
	assert_line 'dbapply: schema: DROP TYPE year;'
	run dbapply --schema "$DST" sakpg.ndjson
	assert_success
	assert_line --regexp '^total +46273 +0 +0$'
	# the rules and triggers work: a payment of 2007-03 goes to its child, with an id past the data
	assert_equal "$(pg_psql new -Atc "INSERT INTO payment (customer_id, staff_id, rental_id, amount, payment_date) VALUES (1, 1, 1, 1.00, '2007-03-15'); SELECT payment_id FROM payment_p2007_03 WHERE payment_date = '2007-03-15'")" 16050
	run pg_psql new -Atc "UPDATE film SET release_year = 1800 WHERE film_id = 1"
	assert_failure
	assert_output --partial 'year_check'
	assert_equal "$(pg_psql new -Atc "UPDATE actor SET first_name = 'X' WHERE actor_id = 1 RETURNING last_update > '2020-01-01'")" t
	check_sakila_pg_into_other sqlite
	check_rollback_to_empty sqlite
	# payment's foreign key to rental sets a NOT NULL column to NULL on
	# delete, so a delete of a rental paid for fails: InnoDB refuses SET
	# NULL there, and gets NO ACTION, which fails it alike
	check_sakila_pg_into_other mariadb
	[[ $APPLIED == *'ALTER TABLE `payment` ADD CONSTRAINT `payment_rental_id_fkey` FOREIGN KEY (`rental_id`) REFERENCES `rental` (`rental_id`) ON UPDATE CASCADE;'* ]]
	run my_sql new <<< "DELETE FROM rental WHERE rental_id = 1"
	assert_failure
	assert_output --partial 'payment_rental_id_fkey'
	check_rollback_to_empty mariadb
}

# Sakila from PostgreSQL into an empty database of engine $1 with
# --without-triggers --without-engine-indexes: refused without them, each
# trigger, rule and the gist index named.
check_sakila_pg_into_other() {
	new_target "$1"
	run dbapply --schema "$DST" sakpg.ndjson
	assert_failure 2
	assert_line --partial '--schema: table "payment": rule "payment_insert_p2007_01" is code of postgresql'
	assert_line --partial '--schema: table "film": trigger "last_updated" is code of postgresql'
	assert_line --partial '--schema: table "film": index "film_fulltext_idx" is a gist index of postgresql'
	refute_line --partial 'schema: CREATE'
	run dbapply --schema --without-triggers --without-engine-indexes "$DST" sakpg.ndjson
	assert_success
	assert_line --regexp '^total +46273 +0 +0$'
	APPLIED=$output
	assert_line --partial 'table "payment": rule "payment_insert_p2007_06" of postgresql is left out (--without-triggers)'
	assert_line --partial 'table "payment_p2007_01" is made as a table of its own, with all its columns: its inheritance from "payment" is postgresql'"'"'s'
	run dbdiff "$SAK" "$DST"
	assert_success
	run target_sql "$1" "INSERT INTO rental (rental_date, inventory_id, customer_id, staff_id) VALUES ('2026-01-01', 999999, 1, 1)"
	assert_failure
	run target_sql "$1" "UPDATE store SET manager_staff_id = 99 WHERE store_id = 1"
	assert_failure
	run target_sql "$1" "UPDATE film SET release_year = 1800 WHERE film_id = 1"
	assert_failure
	assert_equal "$(target_sql "$1" "INSERT INTO actor (first_name, last_name) VALUES ('A', 'B'); SELECT max(actor_id) FROM actor")" 201
	target_sql "$1" "DELETE FROM actor WHERE actor_id = 201"
}
