#!/usr/bin/env bats
# The PostgreSQL backend against a real server that this file starts and
# stops itself (tests/pg_server.bash): types, keys, snapshots, the three
# apply modes, dry run, rollback, sequences and connection errors.

bats_require_minimum_version 1.5.0

setup_file() {
	load pg_server
	pg_start
}

teardown_file() {
	load pg_server
	pg_stop
}

setup() {
	load helpers
	load pg_server
	common_setup
	pg_createdb dev
	pg_createdb prod
	DEV=$(pg_url dev)
	PROD=$(pg_url prod)
	export DEV PROD
}

# Same schema in prod as in dev.
copy_schema() {
	pg_dump -s -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" dev | pg_psql prod >/dev/null
}

# The rows of a database as pg_dump writes them, sorted (physical order and
# the dump's random \restrict key are not part of the data).
pg_data() {
	PGTZ=UTC pg_dump --data-only --no-owner -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" "$1" 2>/dev/null |
		grep -v -e '^\\restrict' -e '^\\unrestrict' -e '^--' -e '^$' | LC_ALL=C sort
}

# One value of the dump in $1: table $2, row with id $3, column $4 (jq -c).
val() {
	jq -c --arg t "$2" --argjson id "$3" --arg c "$4" \
		'select(.type == "row" and .table == $t and .row.id == $id) | .row[$c]' "$1"
}

types_schema() {
	pg_psql dev <<-'SQL'
	CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
	CREATE TABLE types (
		id integer PRIMARY KEY,
		i2 smallint, i4 integer, i8 bigint,
		n numeric, n2 numeric(40,10),
		r real, d double precision,
		b boolean,
		t text, vc varchar(20), ch char(5),
		by bytea,
		dt date, tm time, ts timestamp, tstz timestamptz,
		iv interval, u uuid, j json, jb jsonb,
		ai integer[], at text[],
		m mood, ip inet, tz timetz
	);
	SQL
}

types_rows() {
	pg_psql dev <<-'SQL'
	INSERT INTO types VALUES
	(1, 32767, 2147483647, 9223372036854775807,
	 123456789012345678901234567890.123456789, 1234567890123456789012345678.9012345678,
	 3.14, 0.1, true,
	 E'quote '' dq " bs \\ nl\ntab\tend', 'héllo wörld ✓ 😀', 'ab',
	 '\x00ff10', '2024-02-29', '23:59:59.999999', '2024-02-29 12:34:56.123456',
	 '2024-02-29 12:34:56.654321+05:30',
	 '1 year 2 mons 3 days 04:05:06.7', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11',
	 '{"b": 1,  "a": [1, 2]}', '{"b": 1,  "a": [1, 2]}',
	 '{1,2,NULL}', '{"a b","c,d",NULL,"e\"f"}', 'happy', '192.168.0.1/24', '12:00:00+02'),
	(2, -32768, -2147483648, -9223372036854775808,
	 -0.000000000000000000000000000001, 0, 'NaN', 'Infinity', false,
	 '', '', '', '', '0001-01-01', '00:00:00', '1999-12-31 23:59:59',
	 '2000-01-01 00:00:00',
	 '-1 days', '00000000-0000-0000-0000-000000000000', '[]', '[]', '{}', '{}', 'sad', '::1', '00:00:00+00'),
	(3, 0, 0, 0, 'NaN', NULL, '-Infinity', '-Infinity', NULL,
	 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
	(4, 1, 1, 1, 1e-20, 1, 'Infinity', 1.7976931348623157e308, true,
	 'x', 'x', 'x', '\x', 'infinity', '24:00:00', '2024-01-01 00:00:00.000001', '-infinity',
	 '0', 'ffffffff-ffff-ffff-ffff-ffffffffffff', 'null', 'null', '{{1,2},{3,4}}', '{}', 'ok', '10.0.0.0/8', '23:59:59-12');
	-- Every byte value, in order.
	INSERT INTO types (id, by) SELECT 5, string_agg(set_byte('\x00'::bytea, 0, g), ''::bytea ORDER BY g)
	FROM generate_series(0, 255) g;
	SQL
}

@test "the type matrix round-trips dev -> prod exactly, whatever the session TimeZone" {
	types_schema
	# dev's sessions (ours included, unless we pin UTC) run in +05:45.
	pg_psql postgres -c "ALTER DATABASE dev SET TimeZone = 'Asia/Kathmandu'"
	types_rows
	copy_schema
	PGTZ=America/Los_Angeles dbdump-rows "$DEV" > dev.ndjson
	run dbapply "$PROD" dev.ndjson
	assert_success
	assert_line --regexp '^types +5 +0 +0$'

	# Values in the stream, in the canonical forms of dbpipe(5).
	assert_equal "$(val dev.ndjson types 1 i2)" 32767
	assert_equal "$(val dev.ndjson types 2 i2)" -32768
	# (jq would round 64-bit numbers: read these from the text)
	assert_equal "$(grep -o '"i8":[-0-9][0-9]*' dev.ndjson | tr '\n' ' ')" '"i8":9223372036854775807 "i8":-9223372036854775808 "i8":0 "i8":1 '
	assert_equal "$(grep -o '"i4":[-0-9][0-9]*' dev.ndjson | tr '\n' ' ')" '"i4":2147483647 "i4":-2147483648 "i4":0 "i4":1 '
	assert_equal "$(val dev.ndjson types 1 n)" '"123456789012345678901234567890.123456789"'
	assert_equal "$(val dev.ndjson types 2 n)" '"-0.000000000000000000000000000001"'
	assert_equal "$(val dev.ndjson types 3 n)" '"NaN"'
	assert_equal "$(val dev.ndjson types 1 r)" 3.14
	assert_equal "$(val dev.ndjson types 1 d)" 0.1
	assert_equal "$(val dev.ndjson types 2 r)" '"NaN"'
	assert_equal "$(val dev.ndjson types 3 r)" '"-Infinity"'
	assert_equal "$(val dev.ndjson types 4 r)" '"Infinity"'
	assert_equal "$(val dev.ndjson types 2 d)" '"Infinity"'
	assert_equal "$(val dev.ndjson types 3 d)" '"-Infinity"'
	assert_equal "$(val dev.ndjson types 4 d)" 1.7976931348623157e+308
	assert_equal "$(val dev.ndjson types 1 b)" true
	assert_equal "$(val dev.ndjson types 2 b)" false
	assert_equal "$(jq -r 'select(.type == "row" and .row.id == 1) | .row.t' dev.ndjson)" "$(printf 'quote %s dq " bs \\ nl\ntab\tend' "'")"
	assert_equal "$(val dev.ndjson types 1 vc)" '"héllo wörld ✓ 😀"'
	assert_equal "$(val dev.ndjson types 1 ch)" '"ab   "'
	assert_equal "$(val dev.ndjson types 1 by)" '"AP8Q"'
	assert_equal "$(val dev.ndjson types 2 by)" '""'
	all_bytes=$(printf '\\%03o' {0..255})   # printf "$all_bytes" writes bytes 0..255
	assert_equal "$(val dev.ndjson types 5 by)" "\"$(printf "$all_bytes" | base64 -w0)\""
	assert_equal "$(val dev.ndjson types 1 dt)" '"2024-02-29"'
	assert_equal "$(val dev.ndjson types 1 tm)" '"23:59:59.999999"'
	assert_equal "$(val dev.ndjson types 1 ts)" '"2024-02-29T12:34:56.123456"'
	assert_equal "$(val dev.ndjson types 4 ts)" '"2024-01-01T00:00:00.000001"'
	assert_equal "$(val dev.ndjson types 1 tstz)" '"2024-02-29T07:04:56.654321Z"'
	# Written without an offset, so in dev's own zone (+05:45).
	assert_equal "$(val dev.ndjson types 2 tstz)" '"1999-12-31T18:15:00Z"'
	assert_equal "$(val dev.ndjson types 1 iv)" '"1 year 2 mons 3 days 04:05:06.7"'
	assert_equal "$(val dev.ndjson types 1 u)" '"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"'
	assert_equal "$(val dev.ndjson types 1 j)" '"{\"b\": 1,  \"a\": [1, 2]}"'
	assert_equal "$(val dev.ndjson types 1 jb)" '"{\"a\": [1, 2], \"b\": 1}"'
	assert_equal "$(val dev.ndjson types 1 at)" '"{\"a b\",\"c,d\",NULL,\"e\\\"f\"}"'
	assert_equal "$(val dev.ndjson types 1 m)" '"happy"'
	assert_equal "$(val dev.ndjson types 1 ip)" '"192.168.0.1/24"'
	assert_equal "$(jq -c 'select(.type == "table") | [.columns[] | .type] | join(",")' dev.ndjson)" \
		'"int,int,int,int,decimal,decimal,float,float,bool,text,text,text,bytes,date,time,timestamp,timestamptz,other,uuid,json,json,other,other,enum,other,other"'

	# prod holds exactly what dev holds: through our eyes, dbdiff's, and pg_dump's.
	dbdump-rows "$PROD" | tail -n +2 > prod.body
	tail -n +2 dev.ndjson | diff -u - prod.body
	run dbdiff "$DEV" "$PROD"
	assert_success
	pg_data dev > dev.data
	pg_data prod > prod.data
	assert [ "$(grep -c . dev.data)" -gt 5 ]
	diff -u dev.data prod.data
	assert_equal "$(pg_psql prod -Atc 'SELECT md5(by) FROM types WHERE id = 5')" \
		"$(printf "$all_bytes" | md5sum | cut -d' ' -f1)"
	assert_equal "$(pg_psql prod -Atc "SELECT tstz = '2024-02-29 07:04:56.654321+00' FROM types WHERE id = 1")" t
}

@test "catalog: keys (primary, unique not-null, whole row), references, identity, generated, schemas" {
	pg_psql dev <<-'SQL'
	CREATE SCHEMA billing;
	CREATE TABLE customers (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL,
		referrer_id bigint REFERENCES customers DEFERRABLE);
	CREATE TABLE billing.invoices (no serial PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers,
		net numeric(10,2) NOT NULL, gross numeric GENERATED ALWAYS AS (net * 1.2) STORED);
	CREATE TABLE tags (code text NOT NULL, lang text NOT NULL, label text, UNIQUE (lang, code), UNIQUE (label));
	CREATE TABLE log (at timestamptz, msg text);
	CREATE TABLE events (id int, at date NOT NULL, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
	CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
	CREATE FUNCTION noop() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
	CREATE TRIGGER t BEFORE INSERT ON log FOR EACH ROW EXECUTE FUNCTION noop();
	INSERT INTO events VALUES (1, '2026-05-01');
	SQL
	run dbdump-rows "$DEV"
	assert_success
	echo "$output" > dump
	tables() { jq -r 'select(.type == "table") | .table' dump | sort | tr '\n' ' '; }
	assert_equal "$(tables)" "billing.invoices customers events log tags "
	tab() { jq -c --arg t "$1" "select(.type == \"table\" and .table == \$t) | $2" dump; }
	assert_equal "$(tab customers '[.key, .key_from, .columns[0].autoincrement, .references]')" \
		'[["id"],"primary",true,[{"columns":["referrer_id"],"table":"customers","to":["id"],"deferrable":true}]]'
	assert_equal "$(tab billing.invoices '[.key, .columns[0].autoincrement, .columns[3].generated, .references[0].table, .references[0].deferrable]')" \
		'[["no"],true,true,"customers",null]'
	assert_equal "$(tab tags '[.key, .key_from]')" '[["lang","code"],"unique"]'
	assert_equal "$(tab log '[.key, .key_from, .columns[0].type]')" '[["at","msg"],"row","timestamptz"]'
	assert_equal "$(tab events '[.key, .key_from]')" '[["id","at"],"primary"]'
	# The partition's rows come once, through the parent.
	assert_equal "$(jq -c 'select(.type == "row") | .table' dump)" '"events"'
	# Parents before children.
	assert_equal "$(jq -r 'select(.type == "table") | .table' dump | grep -n -e '^customers$' -e '^billing.invoices$' | cut -d: -f2 | tr '\n' ' ')" \
		"customers billing.invoices "
}

@test "text keys come in bytewise order whatever the column's collation" {
	pg_psql dev <<-'SQL'
	CREATE TABLE words (w text COLLATE "en-x-icu" PRIMARY KEY, n int);
	INSERT INTO words VALUES ('a', 1), ('B', 2), ('_', 3), ('é', 4), ('Z', 5), ('ab', 6), ('A', 7);
	CREATE TABLE stamps (at timestamptz PRIMARY KEY, d date NOT NULL, UNIQUE (d));
	INSERT INTO stamps VALUES ('2026-01-01 00:00:00.5+00', '2026-01-02'), ('2026-01-01 00:00:00+00', '2026-01-01'),
		('2025-12-31 23:59:59.999+00', '2025-12-31');
	SQL
	run dbdump-rows "$DEV"
	assert_success
	echo "$output" > dump
	assert_equal "$(jq -r 'select(.type == "row" and .table == "words") | .row.w' dump | tr '\n' ' ')" "A B Z _ a ab é "
	# Key order is the order of the canonical text, as every consumer checks it.
	assert_equal "$(jq -r 'select(.type == "row" and .table == "stamps") | .row.at' dump | tr '\n' ' ')" \
		"2025-12-31T23:59:59.999Z 2026-01-01T00:00:00.5Z 2026-01-01T00:00:00Z "
	run dbdiff dump "$DEV"
	assert_success
}

@test "a dump reads each table by walking its primary key's index (EXPLAIN): no sort of the table, one key column or two; a nullable key still puts NULLs first" {
	pg_createdb ix >/dev/null 2>&1
	pg_psql ix -q <<-'SQL'
	CREATE TABLE ix_orders (id bigint PRIMARY KEY, note text);
	CREATE TABLE ix_items (order_id bigint NOT NULL, line int NOT NULL, sku text, PRIMARY KEY (order_id, line));
	CREATE TABLE ix_tags (code int, label text NOT NULL);
	CREATE UNIQUE INDEX ix_tags_code ON ix_tags (code, label);
	INSERT INTO ix_orders SELECT i, 'n' || i FROM generate_series(1, 20000) i;
	INSERT INTO ix_items SELECT i / 3, i % 3, 's' || i FROM generate_series(3, 60000) i;
	INSERT INTO ix_tags VALUES (2, 'b'), (NULL, 'a'), (1, 'c');
	ANALYZE;
	SQL
	PGOPTIONS='-c log_min_duration_statement=0' dbdump-rows "$(pg_url ix)" > ix.ndjson
	grep -o 'COPY (SELECT .* FROM ONLY "public"."ix_[a-z]*" .*) TO STDOUT' "$PG_DIR/server.log" |
		sed 's/^COPY (\(.*\)) TO STDOUT$/\1/' | sort -u > reads.sql
	assert_equal "$(grep -c '"ix_orders"\|"ix_items"' reads.sql)" 2
	grep '"ix_orders"\|"ix_items"' reads.sql | while IFS= read -r stmt; do
		pg_psql ix -c "EXPLAIN $stmt" > plan.txt
		grep -q 'Index Scan using ix_[a-z]*_pkey' plan.txt
		run grep -c Sort plan.txt
		assert_output 0
	done
	# the whole row is the key of ix_tags: its NULL comes first, as dbpipe(5) orders keys
	assert_equal "$(jq -r 'select(.table == "ix_tags" and .type == "row") | .row.label' ix.ndjson | paste -sd,)" a,c,b
}

@test "a dump taken while another connection writes reflects one instant" {
	pg_psql dev <<-'SQL'
	CREATE TABLE a (id int PRIMARY KEY, pad text);
	CREATE TABLE b (id int PRIMARY KEY, pad text);
	INSERT INTO a SELECT g, repeat('x', 200) FROM generate_series(1, 20000) g;
	INSERT INTO b SELECT g, repeat('x', 200) FROM generate_series(1, 20000) g;
	SQL
	# The writer commits a row into a and the same row into b, over and over.
	PGAPPNAME=dbpipe-writer pg_psql dev -c 'DO $$ BEGIN
		FOR i IN 20001..100000000 LOOP
			INSERT INTO a VALUES (i, $x$w$x$); INSERT INTO b VALUES (i, $x$w$x$); COMMIT;
		END LOOP; END $$' >/dev/null 2>&1 3>&- &
	for _ in $(seq 100); do
		[ "$(pg_psql dev -Atc 'SELECT count(*) FROM a')" -gt 20200 ] && break
		sleep 0.05
	done
	for n in 1 2 3; do
		dbdump-rows "$DEV" > "dump$n"
	done
	pg_psql postgres -Atc "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'dbpipe-writer'" >/dev/null
	wait || true
	ids() { grep "^{\"type\":\"row\",\"table\":\"$2\"" "$1" | grep -o '"id":[0-9]*' | md5sum; }
	for n in 1 2 3; do
		assert_equal "$(ids "dump$n" a)" "$(ids "dump$n" b)"
	done
	# The writer really was writing during the dumps.
	assert [ "$(grep -c '"table":"a"' dump3)" -gt "$(grep -c '"table":"a"' dump1)" ]
	assert [ "$(grep -c '"table":"a"' dump1)" -gt 20002 ]
}

@test "inheritance: a child's rows come once, under the child, and writes to the parent leave them alone" {
	pg_psql dev <<-'SQL'
	CREATE TABLE payment (id int PRIMARY KEY, amount numeric(5,2) NOT NULL);
	CREATE TABLE payment_2007 () INHERITS (payment);
	INSERT INTO payment VALUES (1, 1.00), (2, 2.00);
	INSERT INTO payment_2007 VALUES (100, 9.99), (2, 7.77);
	SQL
	copy_schema
	pg_psql prod -c "INSERT INTO payment VALUES (3, 3.00); INSERT INTO payment_2007 VALUES (3, 3.33), (101, 5.55)"
	dbdump-rows "$DEV" > dump
	assert_equal "$(jq -c 'select(.type == "row") | [.table, .row.id]' dump | tr '\n' ' ')" \
		'["payment",1] ["payment",2] ["payment_2007",2] ["payment_2007",100] '
	run sh -c 'dbdump-rows "$DEV" | dbapply --mirror "$PROD"'
	assert_success
	assert_line --regexp '^payment +2 +0 +1$'
	assert_line --regexp '^payment_2007 +2 +0 +2$'
	assert_equal "$(pg_psql prod -Atc 'SELECT tableoid::regclass, id, amount FROM payment ORDER BY 1, 2' | tr '\n' ' ')" \
		'payment|1|1.00 payment|2|2.00 payment_2007|2|7.77 payment_2007|100|9.99 '
}

# The office example of the demo on PostgreSQL: dev.db (SQLite) loaded into
# the PostgreSQL database $1 through the stream.
office_pg() {
	office_pg_schema "$1"
	[ -f office.db ] || office_db office.db
	dbdump-rows office.db | dbapply "$(pg_url "$1")" >/dev/null
}

# The demo story: dev adds client #101, changes #50's phone and adds case
# #51; prod gets #102 by hand.
office_story() {
	office_pg dev
	office_pg prod
	pg_psql dev -c "INSERT INTO clients (name, phone, email, balance, created_at)
		VALUES ('Client 101', '+1 555 0101', 'c101@example.com', '0.00', '2026-03-01 10:00:00');
		UPDATE clients SET phone = '+1 555 9050' WHERE id = 50;
		INSERT INTO cases (client_id, type_id, title, opened) VALUES (101, 2, 'Case 51', '2026-03-02');"
	pg_psql prod -c "INSERT INTO clients (id, name, created_at) VALUES (102, 'Walk-in 102', '2026-03-03 11:00:00')"
}

@test "SQLite -> PostgreSQL -> SQLite: the office example crosses engines unchanged" {
	office_pg dev
	run dbdiff office.db "$DEV"
	assert_success
	assert_equal "$(pg_psql dev -Atc 'SELECT count(*) FROM clients')" 100
	assert_equal "$(pg_psql dev -Atc 'SELECT referred_by FROM clients WHERE id = 10')" 20
	assert_equal "$(pg_psql dev -Atc 'SELECT encode(content, $$hex$$) FROM documents WHERE id = 2')" 000000ff7f80
	mkdb back.db < "$ROOT/examples/office-schema.sql"
	dbdump-rows "$DEV" | dbapply back.db >/dev/null
	run dbdiff office.db back.db
	assert_success
}

@test "merge (the default; --prefer source on this first sync): new and changed rows arrive, prod's own #102 stays" {
	office_story
	run sh -c 'dbdump-rows "$DEV" | dbapply --prefer source "$PROD"'
	assert_success
	assert_line --regexp '^clients +1 +1 +0$'
	assert_line --regexp '^cases +1 +0 +0$'
	assert_line "1 row only in the target kept (--mirror would delete it)"
	assert_equal "$(pg_psql prod -Atc 'SELECT count(*) FROM clients')" 102
	assert_equal "$(pg_psql prod -Atc 'SELECT phone FROM clients WHERE id = 50')" "+1 555 9050"
	assert_equal "$(pg_psql prod -Atc 'SELECT title FROM cases WHERE id = 51')" "Case 51"
	assert_equal "$(pg_psql prod -Atc 'SELECT name FROM clients WHERE id = 102')" "Walk-in 102"
	run dbdiff "$DEV" "$PROD"
	assert_failure 1
	assert_equal "$(jq -c 'select(.type == "insert" or .type == "update" or .type == "delete") | [.type, .table, (.row.id // .key.id)]' <<<"$output")" \
		'["insert","clients",102]'
}

@test "--insert-only adds #101 and case #51 but leaves #50's phone alone" {
	office_story
	run sh -c 'dbdump-rows "$DEV" | dbapply --insert-only "$PROD"'
	assert_success
	assert_line --regexp '^clients +1 +0 +0$'
	assert_equal "$(pg_psql prod -Atc 'SELECT count(*) FROM clients')" 102
	assert_equal "$(pg_psql prod -Atc 'SELECT phone FROM clients WHERE id = 50')" "+1 555 0150"
	assert_equal "$(pg_psql prod -Atc 'SELECT count(*) FROM cases')" 51
}

@test "--mirror makes prod an exact copy (pg_dump agrees), #102 is deleted" {
	office_story
	run sh -c 'dbdump-rows "$DEV" | dbapply --mirror "$PROD"'
	assert_success
	assert_line --regexp '^clients +1 +1 +1$'
	run dbdiff "$DEV" "$PROD"
	assert_success
	assert_equal "$(pg_psql prod -Atc 'SELECT count(*) FROM clients WHERE id = 102')" 0
	# Same rows, byte for byte (the sequences may differ: prod used 102).
	pg_data dev | grep -v setval > dev.data
	pg_data prod | grep -v setval > prod.data
	diff -u dev.data prod.data
}

@test "--dry-run reports the changes and leaves the target untouched" {
	office_story
	dump_body "$PROD" > before
	run sh -c 'dbdump-rows "$DEV" | dbapply --mirror --dry-run "$PROD"'
	assert_success
	assert_line --regexp '^clients +1 +1 +1$'
	assert_line --partial "dry run: rolled back, nothing was written to postgres://dbpipe@127.0.0.1:$PG_PORT/prod"
	dump_body "$PROD" > after
	diff -u before after
	# Sequences are not transactional in PostgreSQL: not even they moved.
	assert_equal "$(pg_psql prod -Atc "SELECT last_value FROM clients_id_seq")" 100
	assert_equal "$(pg_psql prod -Atc "SELECT last_value FROM cases_id_seq")" 50
}

@test "a failing row rolls everything back and says what failed" {
	office_story
	# prod refuses big documents; dev has one, the last table of the stream.
	pg_psql prod -c "ALTER TABLE documents ADD CONSTRAINT small_files CHECK (length(content) < 30)"
	pg_psql dev -c "INSERT INTO documents (case_id, filename, content) VALUES (1, 'big.pdf', decode(repeat('ab', 40), 'hex'))"
	dump_body "$PROD" > before
	run sh -c 'dbdump-rows "$DEV" | dbapply --prefer source "$PROD"'
	assert_failure 2
	assert_output --partial 'documents'
	assert_output --partial 'violates check constraint "small_files"'
	assert_output --partial "nothing was written to postgres://dbpipe@127.0.0.1:$PG_PORT/prod"
	dump_body "$PROD" > after
	diff -u before after
	# A deferred foreign key that fails at the end rolls back just the same.
	pg_psql prod -c "ALTER TABLE documents DROP CONSTRAINT small_files;
		ALTER TABLE cases DROP CONSTRAINT cases_client_id_fkey;
		ALTER TABLE cases ADD FOREIGN KEY (client_id) REFERENCES clients DEFERRABLE"
	pg_psql dev -c "ALTER TABLE cases DROP CONSTRAINT cases_client_id_fkey; UPDATE cases SET client_id = 4000 WHERE id = 1"
	dump_body "$PROD" > before
	run sh -c 'dbdump-rows "$DEV" | dbapply --prefer source "$PROD"'
	assert_failure 2
	assert_output --partial 'violates foreign key constraint "cases_client_id_fkey"'
	dump_body "$PROD" > after
	diff -u before after
	# And so does a failing update (updates are sent in batches).
	pg_psql dev -c "UPDATE cases SET client_id = 1 WHERE id = 1"
	pg_psql prod -c "ALTER TABLE clients ADD CONSTRAINT no_9050 CHECK (phone <> '+1 555 9050')"
	dump_body "$PROD" > before # its table record now lists the check
	run sh -c 'dbdump-rows "$DEV" | dbapply --prefer source "$PROD"'
	assert_failure 2
	assert_output --partial 'updating "clients" (id=50): new row for relation "clients" violates check constraint "no_9050"'
	dump_body "$PROD" > after
	diff -u before after
}

@test "an update of a row the target no longer has is a conflict, and nothing is written" {
	office_story
	dbdiff "$PROD" "$DEV" > changes || true
	assert [ "$(jq -c 'select(.type == "update")' changes | wc -l)" -eq 1 ]
	pg_psql prod -c "DELETE FROM clients WHERE id = 50"
	dump_body "$PROD" > before
	run dbapply "$PROD" changes
	assert_failure 2
	assert_output --regexp 'changes:[0-9]+: conflict in table "clients" at key \{"id":50\}: the row is gone from the target'
	dump_body "$PROD" > after
	diff -u before after
}

@test "many updates and deletes (sent in batches): exact result, and a missing key is named" {
	pg_psql dev <<-'SQL'
	CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
	CREATE TABLE notes (k text COLLATE "en-x-icu" PRIMARY KEY, n int NOT NULL, body text, raw bytea,
		doc jsonb, m mood, u uuid, at timestamptz, price numeric(8,2));
	INSERT INTO notes SELECT 'Key "' || g || E'\\', g, 'body ' || g, decode(lpad(to_hex(g), 4, '0'), 'hex'),
		jsonb_build_object('g', g), 'ok', md5(g::text)::uuid, '2026-01-01'::timestamptz + g * interval '1 hour', g / 4.0
	FROM generate_series(1, 300) g;
	SQL
	copy_schema
	dbdump-rows "$DEV" | dbapply "$PROD" >/dev/null
	pg_psql dev <<-'SQL'
	UPDATE notes SET body = E'new\n"body"', raw = '\x00ff', doc = '{"x": [1, "\\"]}', m = 'happy',
		at = at + interval '1 microsecond', price = -price WHERE n % 3 = 0;
	UPDATE notes SET body = NULL WHERE n % 7 = 0;
	DELETE FROM notes WHERE n % 5 = 0;
	SQL
	run sh -c 'dbdump-rows "$DEV" | dbapply --mirror "$PROD"'
	assert_success
	assert_line --regexp '^notes +0 +102 +60$'
	dump_body "$DEV" > dev.body
	dump_body "$PROD" > prod.body
	diff -u dev.body prod.body
	# A change stream whose 50th update finds its row gone: a conflict.
	pg_psql dev -c "UPDATE notes SET n = n + 1000"
	dbdiff "$PROD" "$DEV" > changes || true
	assert [ "$(grep -c '"type":"update"' changes)" -eq 240 ]
	key=$(grep '"type":"update"' changes | sed -n 50p | jq -r .key.k)
	pg_psql prod -c "DELETE FROM notes WHERE k = \$\$$key\$\$"
	dump_body "$PROD" > before
	run dbapply "$PROD" changes
	assert_failure 2
	assert_output --partial 'conflict in table "notes" at key {"k":'
	assert_output --partial 'the row is gone from the target'
	dump_body "$PROD" > after
	diff -u before after
}

@test "a foreign-key cycle loads into an empty database (deferrable keys wait for the commit)" {
	pg_psql dev <<-'SQL'
	CREATE TABLE staff (id int PRIMARY KEY, store_id int NOT NULL, boss_id int REFERENCES staff);
	CREATE TABLE store (id int PRIMARY KEY, manager_id int NOT NULL REFERENCES staff DEFERRABLE);
	ALTER TABLE staff ADD FOREIGN KEY (store_id) REFERENCES store DEFERRABLE INITIALLY DEFERRED;
	BEGIN;
	INSERT INTO staff VALUES (1, 10, 2), (2, 20, NULL), (3, 10, 1);
	INSERT INTO store VALUES (10, 1), (20, 2);
	COMMIT;
	SQL
	copy_schema
	run sh -c 'dbdump-rows "$DEV" | dbapply --mirror "$PROD"'
	assert_success
	assert_line --regexp '^staff +3 +0 +0$'
	assert_line --regexp '^store +2 +0 +0$'
	run dbdiff "$DEV" "$PROD"
	assert_success
	assert_equal "$(pg_psql prod -Atc 'SELECT count(*) FROM staff JOIN store ON store.id = staff.store_id')" 3
}

@test "identity and serial sequences continue above the largest id after apply" {
	office_pg dev
	pg_psql prod <<-'SQL'
	CREATE TABLE case_types (id integer PRIMARY KEY, name text NOT NULL UNIQUE);
	CREATE TABLE clients (id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL,
		phone text, email text, referred_by integer REFERENCES clients(id),
		balance numeric(10,2) NOT NULL DEFAULT 0, vip boolean NOT NULL DEFAULT false,
		created_at timestamp NOT NULL);
	CREATE TABLE cases (id serial PRIMARY KEY, client_id integer NOT NULL REFERENCES clients(id),
		type_id integer NOT NULL REFERENCES case_types(id), title text NOT NULL, opened date NOT NULL);
	CREATE SEQUENCE doc_ids START 500;
	CREATE TABLE documents (id integer PRIMARY KEY DEFAULT nextval('doc_ids'), case_id integer NOT NULL REFERENCES cases(id),
		filename text NOT NULL, content bytea);
	SQL
	run sh -c 'dbdump-rows "$DEV" | dbapply "$PROD"'
	assert_success
	assert_equal "$(pg_psql prod -Atc "INSERT INTO clients (name, created_at) VALUES ('n', now()) RETURNING id")" 101
	assert_equal "$(pg_psql prod -Atc "INSERT INTO cases (client_id, type_id, title, opened) VALUES (1, 1, 't', now()) RETURNING id")" 51
	# A sequence already past every id is never moved back.
	assert_equal "$(pg_psql prod -Atc "INSERT INTO documents (case_id, filename) VALUES (1, 'f') RETURNING id")" 500
}

@test "connection errors: one clear line, exit 2, never the password" {
	pg_psql dev -c "CREATE TABLE t (id int PRIMARY KEY)"
	run dbdump-rows "postgres://dbpipe:Secr3t-Wr0ng@127.0.0.1:$PG_PORT/dev"
	assert_failure 2
	assert_equal "${#lines[@]}" 1
	assert_output --partial 'dbdump-rows: postgres://dbpipe:***@127.0.0.1:'
	assert_output --partial 'password authentication failed for user "dbpipe"'
	refute_output --partial 'Secr3t-Wr0ng'
	run sh -c 'dbdump-rows "$DEV" | dbapply "postgresql://dbpipe:Secr3t-Wr0ng@127.0.0.1:$PG_PORT/prod"'
	assert_failure 2
	refute_output --partial 'Secr3t-Wr0ng'
	assert_output --partial 'password authentication failed'
	run dbdump-rows "postgres://dbpipe@127.0.0.1:$PG_PORT/nosuchdb"
	assert_failure 2
	assert_equal "${#lines[@]}" 1
	assert_output --partial 'database "nosuchdb" does not exist'
}

@test "libpq's own environment: PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD" {
	pg_psql dev -c "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (7)"
	run env PGHOST=127.0.0.1 PGPORT="$PG_PORT" PGUSER="$PG_USER" PGDATABASE=dev PGPASSFILE=/dev/null \
		PGPASSWORD="$PG_PASSWORD" dbdump-rows postgresql://
	assert_success
	assert_line --partial '{"type":"row","table":"t","row":{"id":7}}'
	refute_output --partial "$PG_PASSWORD"
	# A password in the URL works and is masked in the stream's header.
	run env PGPASSFILE=/dev/null dbdump-rows "postgresql://$PG_USER:$PG_PASSWORD@127.0.0.1:$PG_PORT/dev?sslmode=disable"
	assert_success
	assert_line --partial "\"source\":\"postgresql://$PG_USER:***@127.0.0.1:$PG_PORT/dev?sslmode=disable\""
	assert_line --partial '{"type":"row","table":"t","row":{"id":7}}'
	refute_output --partial "$PG_PASSWORD"
	# dbapply's summary names the target for --rollback: masked too, and so are the files it keeps
	pg_psql prod -c "CREATE TABLE t (id int PRIMARY KEY)"
	url="postgresql://$PG_USER:$PG_PASSWORD@127.0.0.1:$PG_PORT/prod"
	run env PGPASSFILE=/dev/null sh -c 'dbdump-rows "$0" | dbapply "$1"' \
		"postgresql://$PG_USER:$PG_PASSWORD@127.0.0.1:$PG_PORT/dev" "$url"
	assert_success
	assert_output --regexp "undo: backups/[^ ]+ \(dbapply --rollback postgresql://$PG_USER:\*\*\*@127.0.0.1:$PG_PORT/prod restores"
	refute_output --partial "$PG_PASSWORD"
	run ls backups
	refute_output --partial "$PG_PASSWORD"
	run sh -c "zcat -f backups/* | grep -c -- '$PG_PASSWORD'"
	assert_output 0
	# dbdiff names a database it compares masked too, here in a schema-change message
	mkdb other.db <<<"CREATE TABLE t (id INTEGER PRIMARY KEY, extra TEXT);"
	run env PGPASSFILE=/dev/null dbdiff "$url" other.db
	assert_failure 2
	assert_output --partial "postgresql://$PG_USER:***@127.0.0.1:$PG_PORT/prod"
	refute_output --partial "$PG_PASSWORD"
}

@test "a cycle of keys that cannot be deferred loads with rows that point forward, and --mirror deletes it" {
	for db in dev prod; do
		pg_psql $db -q <<-'SQL'
		CREATE TABLE store (id integer PRIMARY KEY, manager_id integer);
		CREATE TABLE staff (id integer PRIMARY KEY, store_id integer NOT NULL REFERENCES store,
			boss_id integer REFERENCES staff);
		ALTER TABLE store ADD FOREIGN KEY (manager_id) REFERENCES staff;
		SQL
	done
	# store 1 is managed by staff 20, whose boss (30) comes later in key order
	pg_psql dev -q <<-'SQL'
	INSERT INTO store VALUES (1, NULL), (2, NULL);
	INSERT INTO staff VALUES (30, 2, NULL), (20, 1, 30), (10, 2, 20);
	UPDATE store SET manager_id = 20 WHERE id = 1;
	UPDATE store SET manager_id = 10 WHERE id = 2;
	SQL
	run dbdeps "$DEV"
	assert_success
	assert_output --partial "inserted as NULL, filled in by a later update"
	run dbapply "$PROD" <(dbdump-rows "$DEV")
	assert_success
	assert_line --regexp '^total +5 +0 +0$'
	run dbdiff "$DEV" "$PROD"
	assert_success
	# everything gone from dev: the mirror must unhook the cycle before deleting
	pg_psql dev -q -c "UPDATE store SET manager_id = NULL" -c "DELETE FROM staff" -c "DELETE FROM store"
	run dbapply --mirror "$PROD" <(dbdump-rows "$DEV")
	assert_success
	assert_line --regexp '^total +0 +0 +5$'
	assert_equal "$(pg_psql prod -Atc 'SELECT count(*) FROM staff') $(pg_psql prod -Atc 'SELECT count(*) FROM store')" "0 0"
}

# dbdump-rows --since: the incremental sync (dbapply keeps the mark).
since_story() {
	pg_psql dev -q <<-'SQL'
	CREATE TABLE kinds (id int PRIMARY KEY, name text NOT NULL);
	CREATE TABLE items (id bigint PRIMARY KEY, kind int REFERENCES kinds(id), name text);
	INSERT INTO kinds VALUES (1, 'one'), (2, 'two');
	INSERT INTO items SELECT g, 1 + g % 2, 'item ' || g FROM generate_series(1, 2000) g;
	SQL
	copy_schema
	# the last sync: dev -> prod, which keeps dev's mark
	dbdump-rows "$DEV" | dbapply "$PROD" >/dev/null
}

# The [type, table, id] of the data records of a stream on stdin.
records() {
	jq -c 'select(.type == "row" or .type == "insert" or .type == "update" or .type == "delete") |
		[.type, .table, (.row.id // .key.id)]'
}

@test "incremental sync: dbdump-rows --since the mark dbapply kept sends only what changed since" {
	since_story
	run dbapply --mark "$PROD"
	assert_success
	assert_output --regexp '^postgresql:[0-9]+:[0-9]+:[0-9]+$'
	mark=$output
	pg_psql dev -q -c "UPDATE items SET name = 'renamed' WHERE id IN (7, 1500)" \
		-c "INSERT INTO kinds VALUES (3, 'three')" -c "INSERT INTO items VALUES (2001, 3, 'new')" \
		-c "DELETE FROM items WHERE id = 9"
	dbdump-rows --since "$mark" "$DEV" > inc.ndjson
	assert_equal "$(head -1 inc.ndjson | jq -r .since)" "$mark"
	# only the changed rows, and no table claims to be complete
	assert_equal "$(records < inc.ndjson | paste -sd ' ')" \
		'["row","kinds",3] ["row","items",7] ["row","items",1500] ["row","items",2001]'
	assert_equal "$(jq -c 'select(.type == "table") | .complete' inc.ndjson | sort -u)" null
	# dbdiff takes the rows it lacks for unknown, not deleted
	run dbdiff "$PROD" inc.ndjson
	assert_failure 1
	assert_equal "$(records <<<"$output" | paste -sd ' ')" \
		'["insert","kinds",3] ["update","items",7] ["update","items",1500] ["insert","items",2001]'
	run dbapply "$PROD" inc.ndjson
	assert_success
	assert_line --regexp '^items +1 +2 +0$'
	assert_line --regexp '^kinds +1 +0 +0$'
	# prod now equals dev but for the delete, which a merge never makes
	run dbdiff "$DEV" "$PROD"
	assert_failure 1
	assert_equal "$(records <<<"$output")" '["insert","items",9]'
	# the mark moved on: nothing changed since it
	run dbapply --mark "$PROD"
	assert_success
	refute_output "$mark"
	assert_equal "$(dbdump-rows --since "$output" "$DEV" | records | wc -l)" 0
}

@test "--since with a change still uncommitted during the dump: it is in the next one" {
	since_story
	mkfifo tx
	# (fd 3 is bats' own)
	pg_psql dev -q < tx > /dev/null 2>&1 3>&- &
	exec 5> tx
	echo "BEGIN; UPDATE items SET name = 'slow' WHERE id = 42;" >&5
	for _ in $(seq 100); do
		[ "$(pg_psql dev -Atc "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'")" -ge 1 ] && break
		sleep 0.05
	done
	# a sync while the transaction is open: it cannot see #42's change
	pg_psql dev -q -c "UPDATE items SET name = 'quick' WHERE id = 43"
	dbdump-rows --since "$(dbapply --mark "$PROD")" "$DEV" | dbapply "$PROD" > /dev/null
	assert_equal "$(pg_psql prod -Atc 'SELECT name FROM items WHERE id IN (42, 43) ORDER BY id' | paste -sd ' ')" 'item 42 quick'
	echo "COMMIT;" >&5
	exec 5>&-
	wait
	dbdump-rows --since "$(dbapply --mark "$PROD")" "$DEV" > next.ndjson
	assert_equal "$(records < next.ndjson | grep -c '"items",42]')" 1
	dbapply "$PROD" next.ndjson > /dev/null
	run dbdiff "$DEV" "$PROD"
	assert_success
}

@test "--since a mark it cannot use (another database, empty) dumps every row, with a warning" {
	since_story
	other=$(dbdump-rows "$PROD" | head -1 | jq -r .mark)
	run --separate-stderr dbdump-rows --since "$other" "$DEV"
	assert_success
	assert_equal "$stderr" "dbdump-rows: warning: $DEV: --since: the mark is not of this database: every row is dumped"
	assert_equal "$(records <<<"$output" | wc -l)" 2002
	assert_equal "$(jq -c 'select(.type == "table") | .complete' <<<"$output" | sort -u)" true
	run --separate-stderr dbdump-rows --since "" "$DEV"
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$(records <<<"$output" | wc -l)" 2002
	# a SQLite source cannot tell what changed
	office_db office.db
	run --separate-stderr dbdump-rows --since "$other" office.db
	assert_success
	assert_equal "$stderr" "dbdump-rows: warning: office.db: --since: sqlite cannot tell which rows changed: every row is dumped"
}

@test "dbapply refuses a --since stream that does not follow the target's last sync, and writes nothing" {
	since_story
	mark=$(dbapply --mark "$PROD")
	pg_psql dev -q -c "UPDATE items SET name = 'x' WHERE id = 5"
	dbdump-rows --since "$mark" "$DEV" > inc.ndjson
	before=$(pg_data prod)
	# after a rollback the target keeps no mark: the stream cannot bring it up to date
	dbapply "$PROD" inc.ndjson > /dev/null
	dbapply --rollback "$PROD" > /dev/null 2>&1
	run dbapply --mark "$PROD"
	assert_success
	assert_output ""
	run dbapply "$PROD" inc.ndjson
	assert_failure 2
	assert_line "dbapply: inc.ndjson:1: the stream holds only the rows changed since its \"since\" mark, and $PROD has no record of a sync from it: dump it without --since"
	assert_equal "$(pg_data prod)" "$before"
	# a table the last sync did not hold
	dbdump-rows -t kinds "$DEV" | dbapply "$PROD" > /dev/null
	dbdump-rows --since "$(dbapply --mark "$PROD")" "$DEV" > inc2.ndjson
	run dbapply "$PROD" inc2.ndjson
	assert_failure 2
	assert_line --partial "inc2.ndjson:3: table \"items\" was not in the last sync into $PROD"
	assert_equal "$(pg_data prod)" "$before"
}

@test "Chinook (../shared/datasets): a full sync, changes in dev, then --since: prod equals dev" {
	data="$ROOT/../shared/datasets/chinook/Chinook_PostgreSql.sql"
	[ -f "$data" ] || skip "../shared/datasets/chinook is not here (a clone of dbpipe alone has no shared/)"
	pg_psql postgres -q -f "$data" > /dev/null 2>&1 # creates and fills the database chinook
	dev=$(pg_url chinook)
	pg_dump -s -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" chinook | pg_psql prod > /dev/null
	dbdump-rows "$dev" | dbapply "$PROD" > /dev/null
	pg_psql chinook -q -c "UPDATE track SET unit_price = unit_price + 0.10 WHERE track_id % 50 = 0" \
		-c "INSERT INTO artist VALUES (1000, 'New Artist')" \
		-c "INSERT INTO album VALUES (1000, 'New Album', 1000)" \
		-c "UPDATE employee SET reports_to = NULL WHERE employee_id = 8"
	changed=$(( $(pg_psql chinook -Atc 'SELECT count(*) FROM track WHERE track_id % 50 = 0') + 3 ))
	dbdump-rows --since "$(dbapply --mark "$PROD")" "$dev" > inc.ndjson
	assert_equal "$(records < inc.ndjson | wc -l)" "$changed"
	run dbapply "$PROD" inc.ndjson
	assert_success
	assert_line --regexp '^track +0 +[1-9][0-9]* +0$'
	run dbdiff "$dev" "$PROD"
	assert_success
	pg_psql postgres -q -c "DROP DATABASE chinook"
}

@test "--since into an environment that excludes a table: the mark leaves it out, and its rows never count" {
	since_story
	# (items, which refers to kinds, is the table excluded: excluding kinds
	# would leave items pointing at prod's own kinds, which dbapply refuses)
	printf '[prodenv]\nurl = %s\nexclude = items\n' "$PROD" > dbpipe.conf
	dbdump-rows "$DEV" | dbapply prodenv > /dev/null 2>&1
	assert_equal "$(jq -c .tables backups/prodenv.mark.json)" '["kinds"]'
	pg_psql dev -q -c "UPDATE kinds SET name = 'uno' WHERE id = 1" -c "UPDATE items SET name = 'y' WHERE id = 3"
	dbdump-rows --since "$(dbapply --mark prodenv)" "$DEV" > inc.ndjson
	assert_equal "$(records < inc.ndjson | paste -sd ' ')" '["row","kinds",1] ["row","items",3]'
	run dbapply prodenv inc.ndjson
	assert_success
	assert_line --regexp '^kinds +0 +1 +0$'
	refute_line --regexp '^items '
	assert_equal "$(pg_psql prod -Atc 'SELECT name FROM items WHERE id = 3')" "item 3"
	assert_equal "$(pg_psql prod -Atc 'SELECT name FROM kinds WHERE id = 1')" uno
}

@test "--disable-triggers: an updated_at trigger no longer rewrites what the sync sends; triggers return as they were" {
	pg_psql dev -q <<-'SQL'
	CREATE TABLE notes (id int PRIMARY KEY, body text CHECK (length(body) < 20),
		updated_at timestamptz NOT NULL DEFAULT '2026-01-01 00:00:00+00');
	INSERT INTO notes (id, body) SELECT g, 'note ' || g FROM generate_series(1, 50) g;
	SQL
	copy_schema
	pg_psql prod -q <<-'SQL'
	CREATE TABLE audit (what text);
	CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at = now(); RETURN NEW; END $$;
	CREATE FUNCTION log() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO audit VALUES (TG_OP); RETURN NULL; END $$;
	CREATE TRIGGER notes_touch BEFORE INSERT OR UPDATE ON notes FOR EACH ROW EXECUTE FUNCTION touch();
	CREATE TRIGGER notes_log AFTER INSERT OR UPDATE ON notes FOR EACH ROW EXECUTE FUNCTION log();
	CREATE TRIGGER notes_off AFTER DELETE ON notes FOR EACH ROW EXECUTE FUNCTION log();
	ALTER TABLE notes DISABLE TRIGGER notes_off;
	ALTER TABLE notes ENABLE ALWAYS TRIGGER notes_log;
	SQL
	modes() { pg_psql prod -Atc "SELECT tgname || ' ' || tgenabled::text FROM pg_trigger WHERE tgrelid = 'notes'::regclass AND NOT tgisinternal ORDER BY 1" | paste -sd ' '; }
	assert_equal "$(modes)" "notes_log A notes_off D notes_touch O"
	run sh -c 'dbdump-rows "$DEV" | dbapply --disable-triggers "$PROD"'
	assert_success
	assert_line --regexp '^notes +50 +0 +0$'
	run dbdiff "$DEV" "$PROD"
	assert_success
	assert_equal "$(pg_psql prod -Atc 'SELECT count(*) FROM audit')" 0
	assert_equal "$(modes)" "notes_log A notes_off D notes_touch O"
	# a sync that fails rolls the switch back with everything else
	pg_psql dev -q -c "UPDATE notes SET body = 'ok' WHERE id = 1" -c "ALTER TABLE notes DROP CONSTRAINT notes_body_check" \
		-c "UPDATE notes SET body = repeat('x', 30) WHERE id = 2"
	run sh -c 'dbdump-rows "$DEV" | dbapply --disable-triggers "$PROD"'
	assert_failure 2
	assert_equal "$(modes)" "notes_log A notes_off D notes_touch O"
	assert_equal "$(pg_psql prod -Atc 'SELECT body FROM notes WHERE id = 1')" "note 1"
	# without the option the trigger rewrites updated_at, and the sides differ
	pg_psql dev -q -c "UPDATE notes SET body = 'note 2' WHERE id = 2"
	dbdump-rows "$DEV" | dbapply "$PROD" > /dev/null 2>&1
	run dbdiff "$DEV" "$PROD"
	assert_failure 1
	assert_equal "$(pg_psql prod -Atc 'SELECT count(*) FROM audit')" 1
}

@test "a role that may not read the server's identity dumps without a mark, and --since then dumps every row" {
	since_story
	pg_psql postgres -q -c "CREATE ROLE plain LOGIN PASSWORD 'plainpw'"
	# (function privileges are the database's own)
	pg_psql dev -q -c "REVOKE EXECUTE ON FUNCTION pg_control_system() FROM PUBLIC" \
		-c "GRANT SELECT ON ALL TABLES IN SCHEMA public TO plain"
	url="postgres://plain:plainpw@127.0.0.1:$PG_PORT/dev"
	run --separate-stderr dbdump-rows "$url"
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$(head -1 <<<"$output" | jq -r .mark)" null
	assert_equal "$(records <<<"$output" | wc -l)" 2002
	run --separate-stderr dbdump-rows --since "$(dbapply --mark "$PROD")" "$url"
	assert_success
	assert_equal "$stderr" "dbdump-rows: warning: postgres://plain:***@127.0.0.1:$PG_PORT/dev: --since: this database's snapshot cannot be named (permission denied for function pg_control_system): every row is dumped"
	assert_equal "$(records <<<"$output" | wc -l)" 2002
}

@test "three-way merge: prod's edit stays, a key both sides' sequences gave out is a collision held back with its case" {
	office_pg dev
	office_pg prod
	dbdump-rows "$DEV" | dbapply "$PROD" > /dev/null # the sync base
	pg_psql prod -q -c "INSERT INTO clients (name, created_at) VALUES ('Lucia', '2026-03-03 11:00:00')" \
		-c "UPDATE clients SET vip = true WHERE id = 11"
	pg_psql dev -q -c "INSERT INTO clients (name, created_at) VALUES ('Giovanni', '2026-03-03 12:00:00')" \
		-c "INSERT INTO cases (client_id, type_id, title, opened) VALUES (101, 1, 'Giovanni case', '2026-03-04')" \
		-c "UPDATE clients SET phone = 'dev phone' WHERE id = 12"
	for pass in 1 2; do
		run sh -c 'dbdump-rows "$DEV" | dbapply "$PROD"'
		assert_failure 1
		assert_output --partial 'table "clients" at key {"id":101}: collision: the stream and the target each created this key for another row ("name": stream "Giovanni", target "Lucia";'
		assert_output --partial 'table "cases" at key {"id":51}: held back: it refers to table "clients" at {"id":101}'
	done
	assert_line --regexp '^total +0 +0 +0$' # the second pass: nothing else to do
	assert_equal "$(pg_psql prod -Atc 'SELECT name FROM clients WHERE id = 101')" Lucia
	assert_equal "$(pg_psql prod -Atc 'SELECT vip FROM clients WHERE id = 11')" t
	assert_equal "$(pg_psql prod -Atc 'SELECT phone FROM clients WHERE id = 12')" "dev phone"
	assert_equal "$(pg_psql prod -Atc 'SELECT count(*) FROM cases WHERE id = 51')" 0
	# prod's sequences still give out fresh ids
	assert_equal "$(pg_psql prod -Atc "INSERT INTO clients (name, created_at) VALUES ('Next', now()) RETURNING id" | head -1)" 102
}

@test "a batched write that fails names the table, key and line of its own row, not of a later one" {
	for d in dev prod; do
		pg_psql "$d" -q -c "CREATE TABLE a (id int PRIMARY KEY, n int); CREATE TABLE b (id int PRIMARY KEY, a_id int REFERENCES a(id), t text)"
	done
	pg_psql prod -q -c "ALTER TABLE a ADD CONSTRAINT small CHECK (n < 1000)"
	pg_psql dev -q -c "INSERT INTO a SELECT g, g FROM generate_series(1, 150) g" \
		-c "UPDATE a SET n = 5000 WHERE id = 100" -c "INSERT INTO b SELECT g, g, 'x' FROM generate_series(1, 10) g"
	dbdump-rows "$DEV" > s.ndjson
	line=$(grep -n '"table":"a","row":{"id":100,' s.ndjson | cut -d: -f1)
	# the inserts into "a" go as one COPY, whose failure surfaces when "b" is written
	run dbapply "$PROD" s.ndjson
	assert_failure 2
	assert_output --partial "s.ndjson:$line: table \"a\" at key {\"id\":100}: insert failed: inserting into \"a\" (row 100 of a batch of 150)"
	assert_output --partial 'violates check constraint "small"'
	refute_output --partial 'table "b"'
	# updates sent through the pipeline, then a later table
	pg_psql prod -q -c "ALTER TABLE a DROP CONSTRAINT small"
	dbapply "$PROD" s.ndjson > /dev/null
	pg_psql prod -q -c "UPDATE a SET n = 1 WHERE id = 100; ALTER TABLE a ADD CONSTRAINT small CHECK (n < 1000)"
	pg_psql dev -q -c "UPDATE a SET n = n + 1 WHERE id IN (20, 30)" -c "UPDATE a SET n = 7000 WHERE id = 30" -c "UPDATE b SET t = 'y'"
	dbdump-rows "$DEV" > s2.ndjson
	line=$(grep -n '"table":"a","row":{"id":30,' s2.ndjson | cut -d: -f1)
	run dbapply --prefer source "$PROD" s2.ndjson
	assert_failure 2
	assert_output --partial "s2.ndjson:$line: table \"a\" at key {\"id\":30}: update failed: updating \"a\" (id=30)"
}

@test "SQLite timestamps in a timestamptz column: a re-sync finds nothing, a later edit is an update, not a conflict" {
	mkdb r.db <<<"CREATE TABLE t (id integer PRIMARY KEY, at datetime NOT NULL); INSERT INTO t VALUES (1, '2024-01-15 09:30:00.250000');"
	pg_psql prod -q -c "CREATE TABLE t (id integer PRIMARY KEY, at timestamptz NOT NULL)"
	dbdump-rows r.db | dbapply "$PROD" > /dev/null
	run sh -c 'dbdump-rows r.db | dbapply "$PROD"'
	assert_success
	assert_line --regexp '^total +0 +0 +0$'
	refute_output --partial "kept as changed"
	sqlite3 r.db "UPDATE t SET at = '2024-06-01 12:00:00.500000'"
	run sh -c 'dbdump-rows r.db | dbapply "$PROD"'
	assert_success
	assert_line --regexp '^t +0 +1 +0$'
	assert_equal "$(pg_psql prod -Atc "SELECT to_char(at AT TIME ZONE 'UTC', 'HH24:MI:SS.US') FROM t")" 12:00:00.500000
}

@test "a row another session changes after dbapply read it is not written over: the run stops, nothing of it written" {
	for d in dev prod; do
		pg_psql "$d" -q -c "CREATE TABLE a (id int PRIMARY KEY, v text); CREATE TABLE b (id int PRIMARY KEY, v text)" \
			-c "INSERT INTO a SELECT g, 'a' || g FROM generate_series(1, 10) g" \
			-c "INSERT INTO b SELECT g, repeat('b', 60) || g FROM generate_series(1, 20000) g"
	done
	pg_psql dev -q -c "UPDATE a SET v = 'from dev' WHERE id = 5"
	dbdump-rows "$DEV" > s.ndjson
	# the stream through "a" and well into "b" (past what the reader buffers),
	# then a pause until the other session has written
	upto=$(grep -n '"table":"b","row":{"id":10000,' s.ndjson | cut -d: -f1)
	mkfifo in gate
	{ head -n "$upto" s.ndjson; cat gate > /dev/null; tail -n +"$((upto + 1))" s.ndjson; } > in &
	dbapply --prefer source "$PROD" in > out 2> err &
	apply=$!
	# dbapply has read "a" and waits for the rest of "b", in its transaction
	for _ in $(seq 1 100); do
		[ "$(pg_psql postgres -Atc "SELECT count(*) FROM pg_stat_activity WHERE datname = 'prod' AND state = 'idle in transaction'")" = 1 ] && break
		sleep 0.1
	done
	pg_psql prod -q -c "UPDATE a SET v = 'another session' WHERE id = 5"
	echo go > gate
	rc=0
	wait "$apply" || rc=$?
	assert_equal "$rc" 2
	run cat err
	assert_output --partial 'table "a" at key {"id":5}: update failed'
	assert_output --partial 'could not serialize access due to concurrent update'
	assert_output --partial 'another session changed the row after dbapply read it'
	assert_equal "$(pg_psql prod -Atc 'SELECT v FROM a WHERE id = 5')" "another session"
}

@test "text with a NUL byte is refused by name on every write path, never cut" {
	pg_psql prod -q -c "CREATE TABLE n (id int PRIMARY KEY, t text)" -c "INSERT INTO n VALUES (1, 'old')"
	dump_body "$PROD" > before
	# an update (id 1) and an insert (id 2)
	for id in 1 2; do
		mkdb src.db <<<"CREATE TABLE n (id INTEGER PRIMARY KEY, t TEXT); INSERT INTO n VALUES ($id, 'a' || char(0) || 'b');"
		dbdump-rows src.db > s.ndjson
		grep -q 'a\\u0000b' s.ndjson
		run dbapply --prefer source "$PROD" s.ndjson
		assert_failure 2
		assert_output --partial "s.ndjson:3: table \"n\" at key {\"id\":$id}:"
		assert_output --partial 'column "t": PostgreSQL cannot store a NUL byte (\u0000) in text'
	done
	dump_body "$PROD" > after
	diff -u before after
}

@test "--rekey: ids both sides' sequences gave out: dev's row goes in under a new id, its case follows, prod's sequence moves past" {
	office_pg dev
	office_pg prod
	dbdump-rows "$DEV" | dbapply "$PROD" > /dev/null # the sync base
	pg_psql prod -q -c "INSERT INTO clients (name, created_at) VALUES ('Lucia', '2026-03-03 11:00:00')"
	pg_psql dev -q -c "INSERT INTO clients (name, created_at) VALUES ('Giovanni', '2026-03-03 12:00:00')" \
		-c "INSERT INTO cases (client_id, type_id, title, opened) VALUES (101, 1, 'Giovanni case', '2026-03-04')"
	run sh -c 'dbdump-rows "$DEV" | dbapply --rekey "$PROD"'
	assert_success
	assert_output --partial 'table "clients" at key {"id":101}: collision: inserted as {"id":102} (--rekey)'
	assert_equal "$(pg_psql prod -Atc "SELECT id FROM clients WHERE name = 'Giovanni'")" 102
	assert_equal "$(pg_psql prod -Atc "SELECT client_id FROM cases WHERE title = 'Giovanni case'")" 102
	assert_equal "$(pg_psql prod -Atc "SELECT name FROM clients WHERE id = 101")" Lucia
	run sh -c 'dbdump-rows "$DEV" | dbapply "$PROD"'
	assert_success
	assert_line --regexp '^total +0 +0 +0$'
	assert_equal "$(pg_psql prod -Atc "INSERT INTO clients (name, created_at) VALUES ('Next', now()) RETURNING id" | head -1)" 103
}

@test "the connection lost during the COMMIT: a new connection asks the server what became of it, and the run says so" {
	office_pg dev
	office_pg prod
	pg_psql dev -q -c "UPDATE clients SET phone = 'committed?' WHERE id = 5"
	dbdump-rows "$DEV" > s.ndjson
	# prod's COMMIT waits for a synchronous standby that never answers
	pg_psql prod -q -c "ALTER DATABASE prod SET synchronous_commit = on"
	pg_psql postgres -q -c "ALTER SYSTEM SET synchronous_standby_names = 'nobody'" -c "SELECT pg_reload_conf()"
	dbapply --prefer source "$PROD" s.ndjson > out 2> err &
	pid=$!
	waiting() { pg_psql postgres -Atc "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'SyncRep'"; }
	for _ in $(seq 1 100); do
		[ "$(waiting)" = 1 ] && break
		sleep 0.1
	done
	assert_equal "$(waiting)" 1
	# the server goes down during the wait, and comes back without the standby
	pg_psql postgres -q -c "ALTER SYSTEM RESET synchronous_standby_names"
	pg_as_owner "$PG_BINDIR/pg_ctl" -D "$PG_DIR/data" -m fast -w restart > /dev/null
	rc=0
	wait $pid || rc=$?
	cat err
	assert_equal "$rc" 0
	run cat err
	assert_output --partial "the connection was lost during the commit, and a new connection found the transaction committed"
	refute_output --partial "nothing was written"
	assert_equal "$(pg_psql prod -Atc 'SELECT phone FROM clients WHERE id = 5')" "committed?"
	run sh -c 'ls backups/*.undo.ndjson.gz'
	assert_success
}

@test "an update a trigger of the target skips (0 rows) stops the run and names its key, alone or in a batch" {
	for d in dev prod; do
		pg_psql "$d" -q -c "CREATE TABLE a (id int PRIMARY KEY, n int)" -c "INSERT INTO a SELECT g, g FROM generate_series(1, 40) g"
	done
	# prod's trigger drops the update of row 7, as if the row were not there
	pg_psql prod -q <<-'SQL'
	CREATE FUNCTION keep7() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN IF OLD.id = 7 THEN RETURN NULL; END IF; RETURN NEW; END $$;
	CREATE TRIGGER keep7 BEFORE UPDATE ON a FOR EACH ROW EXECUTE FUNCTION keep7();
	SQL
	dump_body "$PROD" > before
	# one update: a prepared statement in the pipeline
	pg_psql dev -q -c "UPDATE a SET n = -n WHERE id = 7"
	run sh -c 'dbdump-rows "$DEV" | dbapply --prefer source "$PROD"'
	assert_failure 2
	assert_output --partial 'table "a" at key {"id":7}: update failed: updating "a" (id=7): no row with this key in the target (it changed since the diff)'
	assert_output --partial 'nothing was written'
	# thirty of them: one statement over arrays
	pg_psql dev -q -c "UPDATE a SET n = n + 100 WHERE id <= 30"
	run sh -c 'dbdump-rows "$DEV" | dbapply --prefer source "$PROD"'
	assert_failure 2
	assert_output --partial 'updating "a" (id=7): no row with this key in the target (it changed since the diff); one of a batch of 30 rows from this one'
	assert_output --partial 'nothing was written'
	dump_body "$PROD" > after
	diff -u before after
}

@test "--subset on PostgreSQL: the slice of one client equals the SQLite one and loads into an empty database with every foreign key" {
	office_pg dev
	office_pg prod
	pg_psql prod -q -c 'TRUNCATE documents, cases, clients, case_types'
	run dbdump-rows --subset 'clients:id = 10 OR id = 11' -o slice.ndjson "$DEV"
	assert_success
	dbdump-rows --subset 'clients:id IN (10, 11)' -o slice-sqlite.ndjson office.db
	run dbdiff slice-sqlite.ndjson slice.ndjson
	assert_success
	run dbapply "$PROD" slice.ndjson
	assert_success
	assert_equal "$(pg_psql prod -tA -c 'SELECT count(*) FROM cases')" "$(jq -c 'select(.type == "row" and .table == "cases")' slice.ndjson | wc -l)"
	run --separate-stderr dbdump-rows --subset 'clients:no_such = 1' "$DEV"
	assert_failure 2
	[[ "$stderr" == *'column "no_such" does not exist'* ]]
}

@test "a row prod's trigger makes during the sync is written over with the stream's values (PostgreSQL)" {
	for db in dev prod; do
		pg_psql "$db" -q <<-'SQL'
		CREATE TABLE clients (id integer PRIMARY KEY, name text NOT NULL);
		CREATE TABLE client_notes (client_id integer PRIMARY KEY, note text NOT NULL);
		CREATE FUNCTION note_new() RETURNS trigger LANGUAGE plpgsql AS
			$$ BEGIN INSERT INTO client_notes VALUES (NEW.id, 'new client ' || NEW.name); RETURN NEW; END $$;
		CREATE TRIGGER note_new AFTER INSERT ON clients FOR EACH ROW EXECUTE FUNCTION note_new();
		INSERT INTO clients VALUES (1, 'Ann'), (2, 'Bob');
		SQL
	done
	pg_psql dev -q -c "INSERT INTO clients VALUES (3, 'Cid'); UPDATE client_notes SET note = 'met at the fair' WHERE client_id = 3"
	run dbapply "$PROD" <(dbdump-rows "$DEV")
	assert_success
	assert_line "1 row made by a trigger during this sync written over with the stream's values"
	assert_equal "$(pg_psql prod -tA -c 'SELECT note FROM client_notes WHERE client_id = 3')" "met at the fair"
	run dbdiff "$DEV" "$PROD"
	assert_success
}

@test "table names with dots: public.\"audit.log\" is not audit.log, and a schema with a dot dumps, syncs and diffs" {
	for db in dev prod; do
		pg_psql "$db" -q <<-'SQL'
		CREATE SCHEMA audit;
		CREATE SCHEMA "dot.schema";
		CREATE TABLE public."audit.log" (id integer PRIMARY KEY, what text);
		CREATE TABLE audit.log (id integer PRIMARY KEY, what text);
		CREATE TABLE "dot.schema"."t.x" (id integer PRIMARY KEY, log_id integer REFERENCES audit.log (id));
		SQL
	done
	pg_psql dev -q <<-'SQL'
	INSERT INTO public."audit.log" VALUES (1, 'in public');
	INSERT INTO audit.log VALUES (1, 'in audit'), (2, 'also in audit');
	INSERT INTO "dot.schema"."t.x" VALUES (7, 2);
	SQL
	run dbdump-rows -o dev.ndjson "$DEV"
	assert_success
	assert_equal "$(jq -r 'select(.type == "table") | .table' dev.ndjson | sort | tr '\n' ' ')" 'audit.log audit\.log dot\.schema.t\.x '
	assert_equal "$(jq -c 'select(.type == "table" and .table == "dot\\.schema.t\\.x") | .references[0].table' dev.ndjson)" '"audit.log"'
	run dbapply "$PROD" dev.ndjson
	assert_success
	assert_equal "$(pg_psql prod -tA -c 'SELECT what FROM public."audit.log"')" "in public"
	assert_equal "$(pg_psql prod -tA -c 'SELECT count(*) FROM audit.log')" 2
	assert_equal "$(pg_psql prod -tA -c 'SELECT log_id FROM "dot.schema"."t.x"')" 2
	run dbdiff "$DEV" "$PROD"
	assert_success
	# -t takes the names as the stream writes them (a glob: \\ is one backslash)
	run dbdump-rows -t 'audit\\.log' "$DEV"
	assert_success
	assert_equal "$(echo "$output" | jq -r 'select(.type == "row") | .row.what')" "in public"
}

@test "PostgreSQL -> SQLite: a value SQLite would store changed is refused by name, exit 2, nothing written; what it keeps goes in exactly" {
	pg_psql dev -q <<-'SQL'
	CREATE TABLE wide (id integer PRIMARY KEY, d numeric);
	CREATE TABLE bits (id integer PRIMARY KEY, b varbit);
	CREATE TABLE ranges (id integer PRIMARY KEY, r int4range);
	CREATE TABLE zero (id integer PRIMARY KEY, f float8);
	INSERT INTO wide VALUES (1, 12.5), (2, 123456789012345678901234567890.5);
	INSERT INTO bits VALUES (1, B'1010'), (2, B'0010');
	INSERT INTO ranges VALUES (1, '[1,5)');
	INSERT INTO zero VALUES (1, 1.5), (2, '-0');
	SQL
	mkdb lite.db <<-'SQL'
	CREATE TABLE wide (id INTEGER PRIMARY KEY, d NUMERIC);
	CREATE TABLE bits (id INTEGER PRIMARY KEY, b VARBIT);
	CREATE TABLE ranges (id INTEGER PRIMARY KEY, r INT4RANGE);
	CREATE TABLE zero (id INTEGER PRIMARY KEY, f REAL);
	SQL
	refused() { # table, what stderr says
		run --separate-stderr dbapply lite.db <(dbdump-rows -t "$1" "$DEV")
		assert_failure 2
		[[ "$stderr" == *"$2"* ]] || fail "stderr: $stderr"
		assert_equal "$(sqlite3 lite.db "SELECT count(*) FROM $1")" 0
	}
	refused wide 'column "d" (NUMERIC): SQLite cannot keep 123456789012345678901234567890.5 exactly: it keeps 15 significant digits'
	refused bits 'column "b" (VARBIT): SQLite cannot keep 0010 exactly: it would store it as an integer, spelled otherwise'
	refused zero 'column "f": SQLite cannot store -0 (it would become 0)'
	# without the rows it cannot keep, the rest goes in and reads back the same
	pg_psql dev -q -c 'DELETE FROM wide WHERE id = 2; DELETE FROM bits WHERE id = 2; DELETE FROM zero WHERE id = 2'
	run dbapply lite.db <(dbdump-rows "$DEV")
	assert_success
	assert_equal "$(sqlite3 lite.db 'SELECT r FROM ranges')" '[1,5)'
	run dbdiff "$DEV" lite.db
	assert_success
}

@test "--mirror writes -0 over 0 (equal numbers, not the same value), and the next sync finds nothing" {
	for db in dev prod; do
		pg_psql "$db" -q -c 'CREATE TABLE f (id int PRIMARY KEY, x float8)'
	done
	pg_psql dev -q -c "INSERT INTO f VALUES (1, '-0'), (2, 0)"
	pg_psql prod -q -c "INSERT INTO f VALUES (1, 0), (2, 0)"
	run dbapply --mirror "$PROD" <(dbdump-rows "$DEV")
	assert_success
	assert_line --regexp '^f +0 +1 +0$'
	assert_equal "$(pg_psql prod -tA -c 'SELECT x::text FROM f ORDER BY id' | tr '\n' ' ')" "-0 0 "
	run dbapply --mirror "$PROD" <(dbdump-rows "$DEV")
	assert_success
	assert_line --regexp '^total +0 +0 +0$'
}

@test "PostgreSQL -> SQLite: a timestamptz goes into a DATETIME as SQLite and Django write it (UTC, no zone), and the next sync finds nothing" {
	pg_psql dev -q <<-'SQL'
	CREATE TABLE ev (id int PRIMARY KEY, at timestamptz, day date);
	SET TIME ZONE 'Europe/Rome';
	INSERT INTO ev VALUES (1, '2024-01-15 10:30:00.25+01', '2024-01-15'), (2, '2024-07-01 00:00:00+02', NULL);
	SQL
	mkdb lite.db <<<'CREATE TABLE ev (id INTEGER PRIMARY KEY, at DATETIME, day DATE);'
	run dbapply lite.db <(dbdump-rows "$DEV")
	assert_success
	assert_equal "$(sqlite3 lite.db 'SELECT at FROM ev ORDER BY id' | tr '\n' ' ')" "2024-01-15 09:30:00.250000 2024-06-30 22:00:00 "
	run dbapply lite.db <(dbdump-rows "$DEV")
	assert_success
	assert_line --regexp '^total +0 +0 +0$'
}

@test "numeric keeps its scale: --mirror writes 1.50 over 1.5 where the column has no typmod, and a numeric(10,2) target fed 1.5 finds nothing to do next time" {
	for db in dev prod; do
		pg_psql "$db" -q -c 'CREATE TABLE n (id int PRIMARY KEY, free numeric, fixed numeric(10,2))'
	done
	pg_psql dev -q -c "INSERT INTO n VALUES (1, 1.50, 1.5), (2, 7, 7)"
	pg_psql prod -q -c "INSERT INTO n VALUES (1, 1.5, 1.50), (2, 7, 7.00)"
	run dbapply --mirror "$PROD" <(dbdump-rows "$DEV")
	assert_success
	assert_line --regexp '^n +0 +1 +0$'
	assert_equal "$(pg_psql prod -tA -c 'SELECT free::text, fixed::text FROM n ORDER BY id' | tr '\n' ' ')" "1.50|1.50 7|7.00 "
	run dbapply --mirror "$PROD" <(dbdump-rows "$DEV")
	assert_success
	assert_line --regexp '^total +0 +0 +0$'
	run dbdiff "$DEV" "$PROD"
	assert_success
}

@test "--schema: a fresh install from SQLite into an empty PostgreSQL database, in one transaction: every row, foreign keys enforced, identities past the data" {
	office_db dev.db
	sqlite3 dev.db "CREATE INDEX clients_email ON clients (email);
		CREATE TABLE notes (id INTEGER PRIMARY KEY, case_id INT NOT NULL REFERENCES cases(id) ON DELETE CASCADE, body VARCHAR(200) DEFAULT 'n/a');
		INSERT INTO notes (case_id, body) VALUES (1, 'first');"
	run dbapply "$PROD" < <(dbdump-rows dev.db)
	assert_failure 2
	assert_output --partial 'unknown table "notes" (the target has no such table)'
	assert_output --partial 'dbapply --schema adds them'
	# a dry run makes all of it and takes all of it back
	run dbapply --dry-run --schema "$PROD" < <(dbdump-rows dev.db)
	assert_success
	assert_line 'dbapply: schema: CREATE TABLE "notes" ("id" bigint GENERATED BY DEFAULT AS IDENTITY NOT NULL, "case_id" bigint NOT NULL, "body" varchar(200) DEFAULT '"'n/a'"', PRIMARY KEY ("id"));'
	assert_line 'dbapply: schema: ALTER TABLE "notes" ADD CONSTRAINT "notes_case_id_fkey" FOREIGN KEY ("case_id") REFERENCES "cases" ("id") ON DELETE CASCADE DEFERRABLE; (after the rows)'
	assert_equal "$(pg_psql prod -tAc "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")" 0
	run dbapply --schema "$PROD" < <(dbdump-rows dev.db)
	assert_success
	assert_same_rows_and_schema dev.db "$PROD"
	# --rollback deletes the rows and drops the tables, in one transaction
	run dbapply --rollback "$PROD"
	assert_success
	assert_line 'dbapply: schema: DROP TABLE "notes";'
	assert_equal "$(pg_psql prod -tAc "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")" 0
	run dbapply --schema "$PROD" < <(dbdump-rows dev.db)
	assert_success
	assert_equal "$(pg_psql prod -tAc "INSERT INTO clients (name, created_at) VALUES ('n', now()) RETURNING id")" 101
	run pg_psql prod -c "INSERT INTO cases (client_id, type_id, title, opened) VALUES (9999, 1, 'x', '2026-01-01')"
	assert_failure
	assert_output --partial 'violates foreign key constraint "cases_client_id_fkey"'
	pg_psql prod -qc "DELETE FROM documents WHERE case_id = 1; DELETE FROM cases WHERE id = 1"
	assert_equal "$(pg_psql prod -tAc 'SELECT count(*) FROM notes')" 0
	assert_equal "$(pg_psql prod -tAc "SELECT indexdef FROM pg_indexes WHERE indexname = 'clients_email'")" 'CREATE INDEX clients_email ON public.clients USING btree (email)'
}

# dev: store <-> staff, a foreign-key cycle NOT NULL both ways and not
# deferrable (as Sakila's), node, which refers to itself, and kinds, which
# store refers to and which refers to node; devonly keeps a dump with
# -x devonly from holding every table of dev.
cycle_pg_dev() {
	pg_psql dev <<-'SQL'
	CREATE TABLE kinds (id int PRIMARY KEY, name text NOT NULL, best_node int);
	CREATE TABLE store (id int PRIMARY KEY, manager int NOT NULL, kind int NOT NULL REFERENCES kinds);
	CREATE TABLE staff (id int PRIMARY KEY, store int NOT NULL REFERENCES store);
	CREATE TABLE node (id int PRIMARY KEY, parent int REFERENCES node);
	CREATE TABLE devonly (id int PRIMARY KEY);
	INSERT INTO node VALUES (1, NULL), (2, 1), (3, 2);
	INSERT INTO kinds VALUES (1, 'big', NULL), (2, 'small', 3);
	INSERT INTO store VALUES (1, 10, 1), (2, 20, 2);
	INSERT INTO staff VALUES (10, 1), (20, 2), (21, 1);
	ALTER TABLE store ADD FOREIGN KEY (manager) REFERENCES staff;
	ALTER TABLE kinds ADD FOREIGN KEY (best_node) REFERENCES node;
	SQL
}

# Schema and rows of database $1 as pg_dump writes them (less its random \restrict key).
pg_snapshot() {
	pg_dump --no-owner -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" "$1" | grep -v -e '^\\restrict' -e '^\\unrestrict'
}

@test "--rollback of --schema on PostgreSQL drops the tables it made whole, in one transaction: a NOT NULL cycle that cannot be deferred and a self-reference, into an empty database and beside the target's own tables (a foreign key and a row of those that the made ones refer to); the target is exactly as before" {
	cycle_pg_dev
	# into an empty database
	pg_snapshot prod > before.sql
	run dbapply --schema "$PROD" < <(dbdump-rows "$DEV")
	assert_success
	assert_line --regexp '^total +10 +0 +0$'
	run dbapply --rollback "$PROD"
	assert_success
	# their rows go with them (deleted one by one, store's would break staff's key)
	refute_output --partial 'delete failed'
	assert_line 'dbapply: schema: ALTER TABLE "staff" DROP CONSTRAINT "staff_store_fkey";'
	assert_line 'dbapply: schema: DROP TABLE "store";'
	assert_line 'dbapply: schema: DROP TABLE "node";'
	pg_snapshot prod > after.sql
	diff -u before.sql after.sql
	assert_equal "$(pg_psql prod -tAc "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")" 0
	# beside prod's own tables: kinds (row 2 is the run's, and store's row 2
	# refers to it; the run gives it a foreign key into node) and notes
	pg_createdb prod >/dev/null
	pg_psql prod <<-'SQL'
	CREATE TABLE kinds (id int PRIMARY KEY, name text NOT NULL, best_node int);
	CREATE TABLE notes (id int PRIMARY KEY, body text);
	INSERT INTO kinds VALUES (1, 'big', NULL);
	INSERT INTO notes VALUES (1, 'mine');
	SQL
	pg_snapshot prod > before.sql
	run dbapply --schema "$PROD" < <(dbdump-rows -x devonly "$DEV")
	assert_success
	assert_line 'dbapply: schema: ALTER TABLE "kinds" ADD CONSTRAINT "kinds_best_node_fkey" FOREIGN KEY ("best_node") REFERENCES "node" ("id");'
	assert_line --regexp '^kinds +1 +0 +0$'
	# a row made since in a table the run made would go with the table
	# unsaid: refused, nothing written; --force drops it too
	pg_psql prod -qc "INSERT INTO node VALUES (4, 1)"
	pg_snapshot prod > applied.sql
	run dbapply --rollback "$PROD"
	assert_failure 2
	assert_line --regexp '^dbapply: backups/prod-[0-9TZ]+\.undo\.ndjson\.gz: table "node", which the undone run made, holds 1 row that it did not write \(made since\): the rollback drops the table, and it with it \(--force drops it too\)$'
	pg_snapshot prod > after.sql
	diff -u applied.sql after.sql
	run dbapply --rollback --force "$PROD"
	assert_success
	assert_line 'dbapply: warning: --force: table "node" holds 1 row that the undone run did not write: dropped with it'
	assert_line --regexp '^kinds +0 +0 +1$'
	# kinds' key into node before node, the made tables before kinds' row
	assert_equal "$(grep -o '^dbapply: schema: .*' <<< "$output")" 'dbapply: schema: ALTER TABLE "kinds" DROP CONSTRAINT "kinds_best_node_fkey";
dbapply: schema: DROP TABLE "node";
dbapply: schema: ALTER TABLE "staff" DROP CONSTRAINT "staff_store_fkey";
dbapply: schema: DROP TABLE "store";
dbapply: schema: DROP TABLE "staff";'
	pg_snapshot prod > after.sql
	diff -u before.sql after.sql
	# a rollback that fails writes nothing: a key a user gave notes into
	# store since is not the run's to drop (no CASCADE)
	run dbapply --schema "$PROD" < <(dbdump-rows -x devonly "$DEV")
	assert_success
	pg_psql prod -qc "ALTER TABLE notes ADD COLUMN store int REFERENCES store"
	pg_snapshot prod > applied.sql
	run dbapply --rollback "$PROD"
	assert_failure 2
	assert_output --partial 'DROP TABLE "store": cannot drop table store because other objects depend on it'
	assert_output --partial 'nothing was written'
	pg_snapshot prod > after.sql
	diff -u applied.sql after.sql
}

@test "--schema on PostgreSQL: a column added in dev arrives with its default; a failing row takes the DDL back with it" {
	office_pg_schema dev
	office_pg_schema prod
	office_db office.db
	dbapply "$DEV" < <(dbdump-rows office.db) > /dev/null
	dbapply "$PROD" < <(dbdump-rows office.db) > /dev/null
	pg_psql dev -qc "ALTER TABLE clients ADD COLUMN tier varchar(10) NOT NULL DEFAULT 'basic';
		UPDATE clients SET tier = 'gold' WHERE id = 7; UPDATE clients SET email = 'same@x' WHERE id IN (1, 2)"
	pg_psql prod -qc "CREATE UNIQUE INDEX clients_email_u ON clients (email)"
	# (a first sync from dev: --prefer source says dev's emails are edits)
	run dbapply --prefer source --schema "$PROD" < <(dbdump-rows "$DEV")
	assert_failure 2
	assert_output --partial 'clients_email_u'
	assert_equal "$(pg_psql prod -tAc "SELECT count(*) FROM information_schema.columns WHERE column_name = 'tier'")" 0
	pg_psql prod -qc "DROP INDEX clients_email_u"
	run dbapply --prefer source --schema "$PROD" < <(dbdump-rows "$DEV")
	assert_success
	assert_line "dbapply: schema: ALTER TABLE \"clients\" ADD COLUMN \"tier\" character varying(10) NOT NULL DEFAULT 'basic';"
	assert_equal "$(pg_psql prod -tAc 'SELECT tier FROM clients WHERE id IN (6, 7) ORDER BY id')" $'basic\ngold'
	run dbdiff --schema "$DEV" "$PROD"
	assert_success
	# NOT NULL without a default (Django drops the default after adding the
	# column): prod's rows would have no value, so it is refused by name
	pg_psql dev -qc "ALTER TABLE clients ADD COLUMN code text NOT NULL DEFAULT 'c'; ALTER TABLE clients ALTER COLUMN code DROP DEFAULT"
	run dbapply --schema "$PROD" < <(dbdump-rows "$DEV")
	assert_failure 2
	assert_output --partial '<stdin>:3: --schema: column "clients"."code" is NOT NULL without a default: the target'"'"'s rows would have no value for it'
	assert_equal "$(pg_psql prod -tAc "SELECT count(*) FROM information_schema.columns WHERE column_name = 'code'")" 0
}

@test "--schema: Chinook from SQLite into an empty PostgreSQL database, every row equal" {
	src=$ROOT/../shared/datasets/chinook/Chinook_Sqlite.sqlite
	[ -f "$src" ] || skip "shared/datasets is absent (a user's clone has no shared/)"
	cp "$src" chinook.db
	run dbapply --schema "$PROD" < <(dbdump-rows chinook.db)
	assert_success
	run dbdiff chinook.db "$PROD"
	assert_success
	assert_equal "$(pg_psql prod -tAc "SELECT count(*) FROM pg_constraint WHERE contype = 'f'")" 11
	assert_equal "$(pg_psql prod -tAc "INSERT INTO \"Artist\" (\"Name\") VALUES ('new') RETURNING \"ArtistId\"")" 276
}

@test "Django's own types, SQLite dev <-> PostgreSQL prod: a UUID goes into char(32) as 32 hex digits and into uuid with dashes, jsonb compares as JSON; every second sync finds nothing, a rollback needs no --force" {
	# the tables as Django 3.2 makes them on each engine
	mkdb lite.db <<-'SQL'
	CREATE TABLE doc (id integer PRIMARY KEY, uid char(32) NOT NULL UNIQUE, meta text CHECK (JSON_VALID(meta)),
	                  fee decimal NOT NULL, at datetime NOT NULL, day date);
	INSERT INTO doc VALUES (1, '0f8fad5bd9cb469fa16570867728950e', '{"alpha": [1, 2], "zeta": 1.0}', 12.5,
	                        '2024-01-15 09:30:00.250000', '2024-01-15');
	SQL
	pg_psql prod -q -c "CREATE TABLE doc (id integer PRIMARY KEY, uid uuid NOT NULL UNIQUE, meta jsonb,
	                    fee numeric(10,2) NOT NULL, at timestamptz NOT NULL, day date)"
	run dbapply --prefer source "$PROD" <(dbdump-rows lite.db)
	assert_success
	assert_equal "$(pg_psql prod -Atc 'SELECT uid, meta, fee FROM doc')" '0f8fad5b-d9cb-469f-a165-70867728950e|{"zeta": 1.0, "alpha": [1, 2]}|12.50'
	run dbapply "$PROD" <(dbdump-rows lite.db)
	assert_success
	assert_line --regexp '^total +0 +0 +0$'
	# prod's own row comes back to a laptop in Django's SQLite forms; SQLite
	# keeps JSON as text, so dev's row takes jsonb's key order, once
	pg_psql prod -q -c "INSERT INTO doc VALUES (2, 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', '{\"b\": 2, \"a\": 1}', 3, '2024-02-01 08:00:00+00', NULL)"
	run dbapply --prefer source lite.db <(dbdump-rows "$PROD")
	assert_success
	assert_line --regexp '^doc +1 +1 +0$'
	assert_equal "$(sqlite3 lite.db 'SELECT uid, at FROM doc WHERE id = 2')" 'a0eebc999c0b4ef8bb6d6bb9bd380a11|2024-02-01 08:00:00'
	run dbapply lite.db <(dbdump-rows "$PROD")
	assert_success
	assert_line --regexp '^total +0 +0 +0$'
	run dbapply "$PROD" <(dbdump-rows lite.db)
	assert_success
	assert_line --regexp '^total +0 +0 +0$'
	# dbdiff compares them as each side keeps its values: no difference either way
	run dbdiff lite.db "$PROD"
	assert_success
	run dbdiff "$PROD" lite.db
	assert_success
	# an edit in dev, synced, then undone with no false conflict
	sqlite3 lite.db "UPDATE doc SET meta = '{\"alpha\": [3]}', uid = '1f8fad5bd9cb469fa16570867728950e' WHERE id = 1"
	run dbapply "$PROD" <(dbdump-rows lite.db)
	assert_success
	assert_line --regexp '^doc +0 +1 +0$'
	run dbdiff "$PROD" lite.db
	assert_success
	run dbapply --rollback "$PROD"
	assert_success
	# the change stream is in the new side's forms, and dbapply takes it back
	run dbdiff "$PROD" lite.db
	assert_failure 1
	assert_output --partial '"set":{"uid":"1f8fad5bd9cb469fa16570867728950e"'
	run dbapply "$PROD" <(dbdiff "$PROD" lite.db)
	assert_success
	assert_line --regexp '^doc +0 +1 +0$'
	run dbdiff "$PROD" lite.db
	assert_success
	run dbapply --rollback "$PROD"
	assert_success
	assert_equal "$(pg_psql prod -Atc 'SELECT uid, meta FROM doc WHERE id = 1')" '0f8fad5b-d9cb-469f-a165-70867728950e|{"zeta": 1.0, "alpha": [1, 2]}'
	# what is not a UUID is refused by name, and nothing is written
	sqlite3 lite.db "UPDATE doc SET uid = 'not-a-uuid' WHERE id = 2"
	run dbapply "$PROD" <(dbdump-rows lite.db)
	assert_failure 2
	assert_output --regexp 'doc" at key \{"id":2\}: column "uid" \(char\(32\) in the stream, uuid in the target\): the value "not-a-uuid" is not a UUID'
	assert_equal "$(pg_psql prod -Atc "SELECT uid FROM doc WHERE id = 2")" a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11
}

@test "PostgreSQL rounds what its numeric(p,s) or timestamp(n) does not keep: dbapply refuses it by name instead, and --lossy fraction cuts it, counted" {
	pg_psql dev -q -c "CREATE TABLE m (id int PRIMARY KEY, n numeric(10,3), at timestamp(6))" \
		-c "INSERT INTO m VALUES (1, 1.005, '2024-01-02 03:04:05.5'), (2, 2.500, '2024-01-02 03:04:05')"
	pg_psql prod -q -c "CREATE TABLE m (id int PRIMARY KEY, n numeric(10,2), at timestamp(0))"
	run --separate-stderr dbapply "$PROD" <(dbdump-rows "$DEV")
	assert_failure 2
	[[ $stderr == *'table "m" at key {"id":1}: column "n" (numeric(10,3) in the stream, numeric(10,2) in the target): the value "1.005" has more fraction digits than the column keeps (2;'* ]] || fail "$stderr"
	assert_equal "$(pg_psql prod -Atc 'SELECT count(*) FROM m')" 0
	run dbapply --lossy fraction "$PROD" <(dbdump-rows "$DEV")
	assert_success
	assert_line '2 values of the stream cut to the digits their column keeps (--lossy fraction)'
	assert_equal "$(pg_psql prod -Atc 'SELECT n, at FROM m ORDER BY id' | tr '\n' ' ')" "1.00|2024-01-02 03:04:05 2.50|2024-01-02 03:04:05 "
}

@test "rows compared by their bytes still have their values checked where they differ: a hand-edited 1.005 into numeric(10,2) is refused by name, merge and --mirror alike, nothing written" {
	for db in dev prod; do
		pg_psql "$db" -q -c "CREATE TABLE m (id int PRIMARY KEY, n numeric(10,2), at timestamptz)" \
			-c "INSERT INTO m SELECT i, i / 100.0, '2024-01-02 03:04:05+00' FROM generate_series(1, 50) i"
	done
	dbdump-rows "$DEV" | dbapply "$PROD" > /dev/null # the sync base: every row alike
	dbdump-rows "$DEV" | sed 's/"id":7,"n":"0.07"/"id":7,"n":"1.005"/' > "$BATS_TEST_TMPDIR/edited.ndjson"
	grep -q '"n":"1.005"' "$BATS_TEST_TMPDIR/edited.ndjson"
	resign "$BATS_TEST_TMPDIR/edited.ndjson"
	for mode in "" --mirror; do
		run --separate-stderr dbapply $mode "$PROD" "$BATS_TEST_TMPDIR/edited.ndjson"
		assert_failure 2
		[[ $stderr == *'table "m" at key {"id":7}: column "n"'*'the value "1.005" has more fraction digits than the column keeps (2;'* ]] || fail "$mode: $stderr"
		assert_equal "$(pg_psql prod -Atc 'SELECT n FROM m WHERE id = 7')" 0.07
	done
	# the rows whose bytes are the target's: nothing to do
	run sh -c 'dbdump-rows "$DEV" | dbapply "$PROD"'
	assert_success
	assert_line --regexp '^total +0 +0 +0$'
}

@test "--sql on PostgreSQL: the script of a --schema run into an empty database, run by psql, makes what dbapply makes; values exact" {
	pg_createdb viapsql
	pg_psql dev <<-'SQL'
	CREATE TABLE t (id serial PRIMARY KEY, b bytea, n numeric, f float8, r real, ts timestamptz, tl timestamp,
		j jsonb, a int[], tx text, bo boolean, d date, tm time, iv interval, u uuid);
	INSERT INTO t (b, n, f, r, ts, tl, j, a, tx, bo, d, tm, iv, u) VALUES
		('\x00ff275c', 'NaN', 'Infinity', 1.1, '2020-01-01 10:00:00.123456+02', '1999-12-31 23:59:59',
		 '{"a": "it''s \\ q"}', '{1,2,NULL}', E'O''Br\\ien\nline\ttab; -- no comment', true, '2020-02-29',
		 '12:34:56.5', '1 day 02:00', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'),
		('', '123456789012345678901234567890.123456789', 0.1, 'NaN', NULL, NULL, 'null', '{}', '', false,
		 NULL, NULL, NULL, NULL),
		(NULL, '0.1', 2.2606631148481385e-299, '-Infinity', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
	CREATE TABLE c (id int PRIMARY KEY, t_id int REFERENCES t(id), parent int REFERENCES c(id));
	INSERT INTO c VALUES (1, 1, NULL), (2, 2, 1);
	UPDATE c SET parent = 2 WHERE id = 1;
	SQL
	dbdump-rows "$DEV" > s.ndjson
	run --separate-stderr dbapply --sql --schema "$PROD" s.ndjson
	assert_success
	printf '%s\n' "$output" > script.sql
	assert_line "SET standard_conforming_strings = on;"
	assert_line "BEGIN;"
	assert_line --partial 'CREATE TABLE "t" ('
	assert_line --partial "VALUES ('1','\\x00ff275c','NaN','Infinity','1.1','2020-01-01T08:00:00.123456Z',"
	assert_line --partial "SELECT pg_catalog.setval('t_id_seq', m) FROM"
	assert_line "COMMIT;"
	# nothing written
	assert_equal "$(pg_psql prod -Atc "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")" 0
	pg_psql viapsql -f script.sql > /dev/null
	dbapply --schema "$PROD" s.ndjson > /dev/null 2>&1
	run dbdiff "$PROD" "$(pg_url viapsql)"
	assert_success
	run dbdiff --schema "$PROD" "$(pg_url viapsql)"
	assert_success
	run dbdiff "$DEV" "$(pg_url viapsql)"
	assert_success
	# the sequence is past the data, the foreign keys are there
	assert_equal "$(pg_psql viapsql -Atc "INSERT INTO t (tx) VALUES ('next') RETURNING id")" 4
	run pg_psql viapsql -c "INSERT INTO c VALUES (3, 99, NULL)"
	assert_failure
	assert_equal "$(pg_psql viapsql -Atc "SELECT f = 2.2606631148481385e-299 FROM t WHERE id = 3; SELECT b = '\x00ff275c' FROM t WHERE id = 1")" "t
t"
}

@test "a digest sync from SQLite to PostgreSQL: the target's digest, the SQLite source's answer, applied" {
	mkdb dev.db <<-'SQL'
	CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, qty INTEGER);
	CREATE TABLE lines (order_id INTEGER NOT NULL, line INTEGER NOT NULL, sku TEXT, PRIMARY KEY (order_id, line));
	WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 1000)
	INSERT INTO items SELECT i, 'item ' || i, i * 3 FROM s;
	INSERT INTO lines SELECT id / 10, id % 10, 'sku ' || id FROM items;
	SQL
	pg_psql prod -c "CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL, qty integer)" \
		-c "CREATE TABLE lines (order_id integer NOT NULL, line integer NOT NULL, sku text, PRIMARY KEY (order_id, line))"
	dbdump-rows dev.db | dbapply -q --mirror "$PROD"
	# Equal rows hash alike on both engines: nothing is sent.
	run -0 --separate-stderr sh -c 'dbdump-rows --digest --digest-rows 100 "$PROD" | dbdump-rows --against - dev.db'
	[ "$stderr" = "dbdump-rows: 0 of 20 ranges differ; 0 rows sent" ]
	[ "$(jq -c 'select(.type == "row" or .type == "range")' <<<"$output")" = "" ]
	# Drift on both sides: an update, an insert, a delete in dev; an edit by
	# hand and an extra row in prod, a composite-key row deleted there.
	sqlite3 dev.db "UPDATE items SET qty = 0 WHERE id = 450; INSERT INTO items VALUES (1001, 'new', 1);
		DELETE FROM items WHERE id = 120"
	pg_psql prod -c "UPDATE items SET name = 'by hand' WHERE id = 777" -c "INSERT INTO items VALUES (5000, 'extra', 1)" \
		-c "DELETE FROM lines WHERE order_id = 55 AND line = 5"
	run -0 --separate-stderr sh -c 'dbdump-rows --digest --digest-rows 100 "$PROD" > digest.ndjson &&
		dbdump-rows --against digest.ndjson dev.db > answer.ndjson'
	# each range that differs goes by its keys: 120, 450, 777, 1001 (in
	# prod's last range, up to 5000), 5000, and (55, 5); dev's rows of them
	[ "$stderr" = "dbdump-rows: 5 of 21 ranges differ (5 of them by key: 6 keys); 4 rows sent" ]
	run -0 dbapply --mirror "$PROD" answer.ndjson
	run -0 dbdiff dev.db "$PROD"
	[ "$(pg_psql prod -At -c "SELECT name FROM items WHERE id = 777")" = "item 777" ]
	[ "$(pg_psql prod -At -c "SELECT count(*) FROM items WHERE id IN (120, 5000)")" = 0 ]
	# A digest cut short on the way is refused; nothing reaches the target.
	dbdump-rows --digest --digest-rows 100 "$PROD" | head -n 10 > cut.ndjson
	sqlite3 dev.db "UPDATE items SET qty = 1 WHERE id = 1"
	run sh -c 'dbdump-rows --against - dev.db < cut.ndjson | dbapply --mirror "$PROD"'
	assert_failure 2
	assert_output --partial "dbdump-rows: <stdin>:10: truncated stream: no final end record"
	[ "$(pg_psql prod -At -c "SELECT qty FROM items WHERE id = 1")" = 3 ]
}

# The office app in dev and prod with the same rows; prod also has a
# NOT NULL column (no default) and a table that dev no longer has.
office_pg_prod_has_more() {
	office_pg_schema dev
	office_pg_schema prod
	office_db office.db
	dbapply "$DEV" < <(dbdump-rows office.db) > /dev/null
	dbapply "$PROD" < <(dbdump-rows office.db) > /dev/null
	pg_psql prod -qc "ALTER TABLE clients ADD COLUMN legacy_code varchar(20);
		UPDATE clients SET legacy_code = 'L' || id;
		ALTER TABLE clients ALTER COLUMN legacy_code SET NOT NULL;
		CREATE TABLE old_notes (id integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
			client_id integer REFERENCES clients(id) ON DELETE CASCADE, body text NOT NULL DEFAULT 'x');
		CREATE INDEX old_notes_client ON old_notes (client_id);
		INSERT INTO old_notes (client_id, body) VALUES (3, 'hello'), (NULL, 'bye');"
	pg_psql dev -qc "UPDATE clients SET phone = '999' WHERE id = 5"
}

@test "--schema --mirror on PostgreSQL: a column and a table dropped in one transaction; refused without --mirror; --rollback restores schema and rows exactly" {
	office_pg_prod_has_more
	dbdump-rows "$PROD" > before.ndjson
	run --separate-stderr dbapply --schema "$PROD" < <(dbdump-rows "$DEV")
	assert_failure 2
	assert_equal "$stderr" "dbapply: <stdin>:3: --schema: column \"clients\".\"legacy_code\" (text, character varying(20), NOT NULL) is only in the target: dropping it takes its values away: only with --schema --mirror
dbapply: <stdin>: --schema: table \"old_notes\" is only in the target: dropping it takes its rows away (the stream holds every table of its source): only with --schema --mirror
dbapply: nothing was written to postgres://dbpipe@127.0.0.1:$PG_PORT/prod"
	run dbdiff before.ndjson "$PROD"
	assert_success
	run dbapply --schema --mirror "$PROD" < <(dbdump-rows "$DEV")
	assert_success
	assert_line 'dbapply: schema: ALTER TABLE "clients" DROP COLUMN "legacy_code";'
	assert_line 'dbapply: schema: DROP TABLE "old_notes";'
	assert_same_rows_and_schema "$DEV" "$PROD"
	run dbapply --rollback "$PROD"
	assert_success
	assert_line 'dbapply: schema: ALTER TABLE "clients" ADD COLUMN "legacy_code" character varying(20);'
	assert_line 'dbapply: schema: ALTER TABLE "clients" ALTER COLUMN "legacy_code" SET NOT NULL;'
	assert_line 'dbapply: schema: CREATE INDEX "old_notes_client" ON "old_notes" ("client_id");'
	dbdump-rows "$PROD" > after.ndjson
	assert_same_rows_and_schema before.ndjson after.ndjson
	assert_equal "$(pg_psql prod -tAc "SELECT is_nullable FROM information_schema.columns WHERE table_name = 'clients' AND column_name = 'legacy_code'")" NO
	# the identity is past the restored rows, the foreign key acts again
	pg_psql prod -qc "INSERT INTO old_notes (client_id, body) VALUES (4, 'next')"
	assert_equal "$(pg_psql prod -tAc "SELECT max(id) FROM old_notes")" 3
	pg_psql prod -qc "DELETE FROM old_notes WHERE id = 3"
	run pg_psql prod -qc "INSERT INTO old_notes (client_id) VALUES (99999)"
	assert_failure
}

@test "--schema --mirror on PostgreSQL drops the indexes and foreign keys the stream lacks, by their own names; a warning names each without --mirror; --rollback makes them again" {
	office_pg_schema dev
	office_pg_schema prod
	office_db office.db
	dbapply "$DEV" < <(dbdump-rows office.db) > /dev/null
	dbapply "$PROD" < <(dbdump-rows office.db) > /dev/null
	# the same schema (a UNIQUE constraint, foreign keys): nothing to drop
	run --separate-stderr dbapply --schema --mirror "$PROD" < <(dbdump-rows "$DEV")
	assert_success
	assert_equal "$(printf '%s\n' "$stderr" | grep -c -e 'schema: ' -e 'not dropped')" 0
	pg_psql dev -qc "ALTER TABLE cases DROP CONSTRAINT cases_type_id_fkey; UPDATE clients SET phone = '999' WHERE id = 5"
	pg_psql prod -qc "ALTER TABLE cases RENAME CONSTRAINT cases_type_id_fkey TO cases_type_by_hand;
		CREATE INDEX clients_email_idx ON clients (email);
		CREATE UNIQUE INDEX clients_name_phone ON clients (name, phone);
		ALTER TABLE clients ADD CONSTRAINT clients_email_key UNIQUE (email)"
	run --separate-stderr dbapply --schema "$PROD" < <(dbdump-rows "$DEV")
	assert_success
	assert_equal "$stderr" 'dbapply: warning: <stdin>:3: --schema: index "clients_email_idx" on "clients" (email) is only in the target: not dropped (only with --schema --mirror)
dbapply: warning: <stdin>:3: --schema: unique index "clients_email_key" on "clients" (email) is only in the target: not dropped (only with --schema --mirror)
dbapply: warning: <stdin>:3: --schema: unique index "clients_name_phone" on "clients" (name, phone) is only in the target: not dropped (only with --schema --mirror)
dbapply: warning: <stdin>:4: --schema: foreign key of "cases" (type_id) -> "case_types" (id) is only in the target: not dropped (only with --schema --mirror)'
	pg_psql dev -qc "UPDATE clients SET phone = '998' WHERE id = 6"
	dbdump-rows "$PROD" > before.ndjson
	run dbapply --schema --mirror "$PROD" < <(dbdump-rows "$DEV")
	assert_success
	assert_line 'dbapply: schema: ALTER TABLE "cases" DROP CONSTRAINT "cases_type_by_hand";'
	assert_line 'dbapply: schema: DROP INDEX "clients_email_idx";'
	assert_line 'dbapply: schema: DROP INDEX "clients_name_phone";'
	# the index of a UNIQUE constraint goes with its constraint
	assert_line 'dbapply: schema: ALTER TABLE "clients" DROP CONSTRAINT "clients_email_key";'
	assert_same_rows_and_schema "$DEV" "$PROD"
	run dbapply --rollback "$PROD"
	assert_success
	assert_line 'dbapply: schema: CREATE INDEX "clients_email_idx" ON "clients" ("email");'
	assert_line 'dbapply: schema: CREATE UNIQUE INDEX "clients_name_phone" ON "clients" ("name", "phone");'
	# each as it was: the UNIQUE constraint as a constraint, the foreign key under its own name
	assert_line 'dbapply: schema: ALTER TABLE "clients" ADD CONSTRAINT "clients_email_key" UNIQUE ("email");'
	assert_line 'dbapply: schema: ALTER TABLE "cases" ADD CONSTRAINT "cases_type_by_hand" FOREIGN KEY ("type_id") REFERENCES "case_types" ("id");'
	dbdump-rows "$PROD" > after.ndjson
	assert_same_rows_and_schema before.ndjson after.ndjson
	assert_equal "$(pg_psql prod -Atc "SELECT conname || ':' || contype::text FROM pg_constraint WHERE conrelid IN ('clients'::regclass, 'cases'::regclass) AND contype IN ('u', 'f') ORDER BY conname")" 'cases_client_id_fkey:f
cases_type_by_hand:f
clients_email_key:u
clients_referred_by_fkey:f'
	# the foreign key acts again
	run pg_psql prod -qc "UPDATE cases SET type_id = 999 WHERE id = 1"
	assert_failure
	assert_output --partial 'cases_type_by_hand'
}

@test "--schema --mirror on PostgreSQL: an index whose columns change under the same name is dropped before the new one is made, in the transaction; refused by name without --mirror; --rollback puts it back" {
	for db in dev prod; do
		pg_psql $db -qc "CREATE TABLE t (id integer PRIMARY KEY, a text, b text); INSERT INTO t VALUES (1, 'x', 'y'), (2, 'x', 'z');"
	done
	pg_psql prod -qc "CREATE INDEX t_ab ON t (a)"
	pg_psql dev -qc "CREATE UNIQUE INDEX t_ab ON t (a, b)"
	dbdump-rows "$PROD" > before.ndjson
	run --separate-stderr dbapply --schema "$PROD" < <(dbdump-rows "$DEV")
	assert_failure 2
	assert_equal "$stderr" 'dbapply: <stdin>:2: --schema: index "t_ab" on "t" (a) is only in the target: the stream'"'"'s table has another index of that name, which cannot be made beside it: only with --schema --mirror (which drops this one first)
dbapply: nothing was written to '"$PROD"
	# a row of prod the new unique index cannot take: the transaction keeps the old index
	pg_psql prod -qc "INSERT INTO t VALUES (3, 'x', 'y')"
	dbdump-rows "$PROD" > before.ndjson
	run --separate-stderr dbapply --schema --mirror "$PROD" < <(dbdump-rows "$DEV")
	assert_failure 2
	assert_same_rows_and_schema before.ndjson "$PROD"
	pg_psql prod -qc "DELETE FROM t WHERE id = 3"
	dbdump-rows "$PROD" > before.ndjson
	run --separate-stderr dbapply --schema --mirror "$PROD" < <(dbdump-rows "$DEV")
	assert_success
	assert_equal "$(printf '%s\n' "$stderr" | grep '^dbapply: schema')" 'dbapply: schema: DROP INDEX "t_ab";
dbapply: schema: CREATE UNIQUE INDEX "t_ab" ON "t" ("a", "b");'
	assert_same_rows_and_schema "$DEV" "$PROD"
	run dbapply --rollback "$PROD"
	assert_success
	dbdump-rows "$PROD" > after.ndjson
	assert_same_rows_and_schema before.ndjson after.ndjson
	assert_equal "$(pg_psql prod -Atc "SELECT indexdef FROM pg_indexes WHERE indexname = 't_ab'")" "CREATE INDEX t_ab ON public.t USING btree (a)"
}

@test "checks on PostgreSQL: --schema adds the stream's check to a table prod has after the rows (a row that breaks it refused, naming it, nothing written); --mirror drops prod's own before them; --rollback undoes both" {
	pg_psql dev -qc "CREATE TABLE scores (id integer PRIMARY KEY, points integer CONSTRAINT in_range CHECK (points BETWEEN 0 AND 100), n integer);
		INSERT INTO scores VALUES (1, 50, 1), (2, 70, 2);"
	pg_psql prod -qc "CREATE TABLE scores (id integer PRIMARY KEY, points integer, n integer, CONSTRAINT n_pos CHECK (n > 0));
		INSERT INTO scores VALUES (1, 500, 1), (3, 5, 4);"
	dbdump-rows "$PROD" > before.ndjson
	# prod's 500 (a collision the first sync leaves) breaks in_range
	run --separate-stderr dbapply --schema "$PROD" < <(dbdump-rows "$DEV")
	assert_failure 2
	assert_equal "$(printf '%s\n' "$stderr" | grep -v -e '^dbapply: schema: ' -e 'other rows under this key')" 'dbapply: warning: <stdin>:2: --schema: check "n_pos" of "scores" ((n > 0)) is only in the target: not dropped (only with --schema --mirror)
dbapply: '"$PROD"': --schema: adding check "in_range" (((points >= 0) AND (points <= 100))) to table "scores": check constraint "in_range" of relation "scores" is violated by some row
dbapply: nothing was written to '"$PROD"
	assert_same_rows_and_schema before.ndjson "$PROD"
	run --separate-stderr dbapply --schema --mirror --prefer source "$PROD" < <(dbdump-rows "$DEV")
	assert_success
	assert_equal "$(printf '%s\n' "$stderr" | grep '^dbapply: schema: ')" 'dbapply: schema: ALTER TABLE "scores" DROP CONSTRAINT "n_pos";
dbapply: schema: ALTER TABLE "scores" ADD CONSTRAINT "in_range" CHECK (((points >= 0) AND (points <= 100)));'
	assert_same_rows_and_schema "$DEV" "$PROD"
	run pg_psql prod -c "UPDATE scores SET points = 101 WHERE id = 1"
	assert_failure
	assert_output --partial 'violates check constraint "in_range"'
	run --separate-stderr dbapply --rollback "$PROD"
	assert_success
	assert_equal "$(printf '%s\n' "$stderr" | grep '^dbapply: schema: ')" 'dbapply: schema: ALTER TABLE "scores" DROP CONSTRAINT "in_range";
dbapply: schema: ALTER TABLE "scores" ADD CONSTRAINT "n_pos" CHECK ((n > 0));'
	dbdump-rows "$PROD" > after.ndjson
	assert_same_rows_and_schema before.ndjson after.ndjson
	assert_equal "$(pg_psql prod -Atc "SELECT conname FROM pg_constraint WHERE conrelid = 'scores'::regclass AND contype = 'c'")" n_pos
	# from SQLite, a check without a name: added under one (the undo stream drops it by it)
	sqlite3 s.db "CREATE TABLE scores (id INTEGER PRIMARY KEY, points INT, n INT, CONSTRAINT n_pos CHECK (n > 0), CHECK (n < 1000));
		INSERT INTO scores VALUES (1, 500, 1), (3, 5, 4);"
	run --separate-stderr dbapply --schema "$PROD" < <(dbdump-rows s.db)
	assert_success
	assert_equal "$(printf '%s\n' "$stderr" | grep 'schema: ')" 'dbapply: schema: ALTER TABLE "scores" ADD CONSTRAINT "scores_chk_1" CHECK ("n" < 1000);'
	# its checks compare equal across the engines (the INTEGER PRIMARY KEY's rowid is another matter)
	run dbdiff --schema s.db "$PROD"
	refute_output --partial '_check"'
	run dbapply --rollback "$PROD"
	assert_success
	assert_line 'dbapply: schema: ALTER TABLE "scores" DROP CONSTRAINT "scores_chk_1";'
	assert_equal "$(pg_psql prod -Atc "SELECT conname FROM pg_constraint WHERE conrelid = 'scores'::regclass AND contype = 'c'")" n_pos
}

@test "a JSON check of SQLite (Django's JSONField) is a jsonb column's type on PostgreSQL: no schema difference, --schema neither adds nor refuses it; on a text column it is a check PostgreSQL cannot take, refused by name" {
	sqlite3 dj.db "CREATE TABLE invoice (id INTEGER NOT NULL PRIMARY KEY, details TEXT NULL CHECK ((JSON_VALID(\"details\") OR \"details\" IS NULL)));
		INSERT INTO invoice VALUES (1, '{\"a\": 1}'), (2, NULL);"
	pg_createdb js >/dev/null 2>&1
	pg_createdb jt >/dev/null 2>&1
	pg_psql js -qc "CREATE TABLE invoice (id integer PRIMARY KEY, details jsonb)"
	pg_psql jt -qc "CREATE TABLE invoice (id integer PRIMARY KEY, details text)"
	run --separate-stderr dbdiff --schema --stat dj.db "$(pg_url js)"
	assert_failure 1
	# (the types differ, text and jsonb; the check is not one more difference)
	assert_equal "$stderr" 'column "invoice"."id" is (int, INTEGER, NOT NULL, autoincrement) in OLD, (int, integer, NOT NULL) in NEW
column "invoice"."details" is (text, TEXT) in OLD, (json, jsonb) in NEW
2 schema differences'
	run --separate-stderr dbapply --schema "$(pg_url js)" < <(dbdump-rows dj.db)
	assert_success
	refute_output --partial 'CONSTRAINT'
	assert_equal "$(pg_psql js -Atc "SELECT details->>'a' FROM invoice WHERE id = 1")" 1
	assert_equal "$(pg_psql js -Atc "SELECT count(*) FROM pg_constraint WHERE conrelid = 'invoice'::regclass AND contype = 'c'")" 0
	# the same check over a text column says more than the column: PostgreSQL has no JSON_VALID
	run --separate-stderr dbdiff --schema dj.db "$(pg_url jt)"
	assert_failure 1
	assert_output --partial '"change":"drop_check"'
	run --separate-stderr dbapply --schema "$(pg_url jt)" < <(dbdump-rows dj.db)
	assert_failure 2
	assert_equal "$(printf '%s\n' "$stderr" | grep -c 'check "invoice_chk_1" ((JSON_VALID("details") OR "details" IS NULL)) uses more than columns')" 1
	assert_equal "$(pg_psql jt -Atc "SELECT count(*) FROM invoice")" 0
}

@test "triggers on PostgreSQL: --schema makes the stream's trigger on a table prod has after the rows (not firing for them); --mirror drops prod's own; another engine's is refused by name (--without-triggers leaves it out); --rollback undoes both" {
	for db in dev prod; do
		pg_psql $db -qc "CREATE TABLE items (id integer PRIMARY KEY, name text, stamp text);
			CREATE FUNCTION stamp() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN NEW.stamp := 'auto'; RETURN NEW; END \$\$;
			INSERT INTO items VALUES (1, 'a', 'given');"
	done
	pg_psql dev -qc "CREATE TRIGGER items_stamp BEFORE INSERT ON items FOR EACH ROW EXECUTE FUNCTION stamp();
		INSERT INTO items VALUES (2, 'b', NULL); UPDATE items SET stamp = 'given2' WHERE id = 2"
	pg_psql prod -qc "CREATE TRIGGER items_old BEFORE UPDATE ON items FOR EACH ROW EXECUTE FUNCTION stamp()"
	dbdump-rows "$PROD" > before.ndjson
	run --separate-stderr dbapply --schema "$PROD" < <(dbdump-rows "$DEV")
	assert_success
	assert_equal "$(printf '%s\n' "$stderr" | grep -e 'schema: ' -e 'not dropped')" 'dbapply: warning: <stdin>:2: --schema: trigger "items_old" of "items" is only in the target: not dropped (only with --schema --mirror)
dbapply: schema: CREATE TRIGGER items_stamp BEFORE INSERT ON public.items FOR EACH ROW EXECUTE FUNCTION stamp();'
	assert_equal "$(pg_psql prod -Atc "SELECT stamp FROM items WHERE id = 2")" given2
	run --separate-stderr dbapply --schema --mirror "$PROD" < <(dbdump-rows "$DEV")
	assert_success
	assert_equal "$(printf '%s\n' "$stderr" | grep 'schema: ')" 'dbapply: schema: DROP TRIGGER "items_old" ON "items";'
	assert_same_rows_and_schema "$DEV" "$PROD"
	pg_psql prod -qc "INSERT INTO items VALUES (3, 'c', 'x')"
	assert_equal "$(pg_psql prod -Atc "SELECT stamp FROM items WHERE id = 3")" auto
	pg_psql prod -qc "DELETE FROM items WHERE id = 3"
	run dbapply --rollback "$PROD"
	assert_success
	assert_line 'dbapply: schema: CREATE TRIGGER items_old BEFORE UPDATE ON public.items FOR EACH ROW EXECUTE FUNCTION stamp();'
	run dbapply --rollback "$PROD"
	assert_success
	assert_line 'dbapply: schema: DROP TRIGGER "items_stamp" ON "items";'
	dbdump-rows "$PROD" > after.ndjson
	assert_same_rows_and_schema before.ndjson after.ndjson
	# from SQLite: its trigger's code is SQLite's
	sqlite3 s.db "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, stamp TEXT);
		CREATE TRIGGER items_sq AFTER INSERT ON items BEGIN SELECT 1; END; INSERT INTO items VALUES (1, 'a', 'given');"
	run --separate-stderr dbapply --schema "$PROD" < <(dbdump-rows s.db)
	assert_failure 2
	[[ "$stderr" == *'dbapply: <stdin>:2: --schema: table "items": trigger "items_sq" is code of sqlite, which postgresql cannot run: not made (--without-triggers leaves it out, named)'* ]]
	run --separate-stderr dbapply --schema --without-triggers "$PROD" < <(dbdump-rows s.db)
	assert_success
	[[ "$stderr" == *'dbapply: warning: <stdin>:2: --schema: table "items": trigger "items_sq" of sqlite is left out (--without-triggers)'* ]]
}

@test "--schema on PostgreSQL widens columns (varchar(10) to varchar(50), integer to bigint, NOT NULL dropped, a default) before the rows; --rollback narrows them back after" {
	for db in dev prod; do
		pg_psql $db -qc "CREATE TABLE tags (id integer PRIMARY KEY, name varchar(10) NOT NULL, n integer, note text);
			INSERT INTO tags VALUES (1, 'short', 1, NULL), (2, 'tiny', 2, 'b');"
	done
	pg_psql dev -qc "ALTER TABLE tags ALTER COLUMN name TYPE varchar(50), ALTER COLUMN name DROP NOT NULL,
		ALTER COLUMN n TYPE bigint, ALTER COLUMN note SET DEFAULT 'none';
		UPDATE tags SET name = 'a name longer than ten', n = 5000000000 WHERE id = 2"
	dbdump-rows "$PROD" > before.ndjson
	# --sql: the alters before the rows, as dbapply runs them; psql makes from it what dbapply makes
	pg_psql postgres -qc "DROP DATABASE IF EXISTS viapsql WITH (FORCE)" -c "CREATE DATABASE viapsql TEMPLATE prod"
	run --separate-stderr dbapply --prefer source --sql --schema "$PROD" < <(dbdump-rows "$DEV")
	assert_success
	printf '%s\n' "$output" > script.sql
	assert_equal "$(grep -e '^ALTER' -e '^UPDATE' -e '^BEGIN' -e '^COMMIT' script.sql)" 'BEGIN;
ALTER TABLE "tags" ALTER COLUMN "name" TYPE character varying(50), ALTER COLUMN "name" DROP NOT NULL;
ALTER TABLE "tags" ALTER COLUMN "n" TYPE bigint;
ALTER TABLE "tags" ALTER COLUMN "note" SET DEFAULT '"'none'"';
UPDATE "tags" SET "name" = '"'a name longer than ten'"',"n" = '"'5000000000'"' WHERE "id" = '"'2'"';
COMMIT;'
	assert_same_rows_and_schema before.ndjson "$PROD"
	pg_psql viapsql -f script.sql > /dev/null
	run dbapply --prefer source --schema "$PROD" < <(dbdump-rows "$DEV")
	assert_success
	assert_line 'dbapply: schema: ALTER TABLE "tags" ALTER COLUMN "name" TYPE character varying(50), ALTER COLUMN "name" DROP NOT NULL;'
	assert_line 'dbapply: schema: ALTER TABLE "tags" ALTER COLUMN "n" TYPE bigint;'
	assert_line "dbapply: schema: ALTER TABLE \"tags\" ALTER COLUMN \"note\" SET DEFAULT 'none';"
	assert_same_rows_and_schema "$DEV" "$PROD"
	assert_same_rows_and_schema "$PROD" "$(pg_url viapsql)"
	run dbapply --rollback "$PROD"
	assert_success
	assert_line 'dbapply: schema: ALTER TABLE "tags" ALTER COLUMN "name" TYPE character varying(10), ALTER COLUMN "name" SET NOT NULL;'
	dbdump-rows "$PROD" > after.ndjson
	assert_same_rows_and_schema before.ndjson after.ndjson
}

@test "--schema on PostgreSQL: narrowing needs --mirror; NOT NULL over a NULL the target holds is refused with the row's key; nothing written" {
	for db in dev prod; do
		pg_psql $db -qc "CREATE TABLE tags (id integer PRIMARY KEY, name varchar(50), note text);
			INSERT INTO tags VALUES (1, 'short', 'a'), (2, 'tiny', 'b');"
	done
	pg_psql prod -qc "INSERT INTO tags VALUES (3, 'more', NULL)"
	pg_psql dev -qc "ALTER TABLE tags ALTER COLUMN name TYPE varchar(10)"
	dbdump-rows "$PROD" > before.ndjson
	run dbapply --schema "$PROD" < <(dbdump-rows "$DEV")
	assert_failure 2
	assert_output --partial '<stdin>:2: --schema: column "tags"."name" is (text, character varying(50)) in the target, (text, character varying(10)) in the stream: from character varying(50) to character varying(10), a shorter text: only with --schema --mirror'
	# --sql: a narrowing after the rows, before the COMMIT; psql makes from it what dbapply makes
	pg_psql postgres -qc "DROP DATABASE IF EXISTS viapsql WITH (FORCE)" -c "CREATE DATABASE viapsql TEMPLATE prod"
	run --separate-stderr dbapply --sql --schema --mirror "$PROD" < <(dbdump-rows "$DEV")
	assert_success
	printf '%s\n' "$output" > script.sql
	assert_equal "$(tail -n 2 script.sql)" 'ALTER TABLE "tags" ALTER COLUMN "name" TYPE character varying(10);
COMMIT;'
	pg_psql viapsql -f script.sql > /dev/null
	run dbapply --schema --mirror "$PROD" < <(dbdump-rows "$DEV")
	assert_success
	assert_line 'dbapply: schema: ALTER TABLE "tags" ALTER COLUMN "name" TYPE character varying(10);'
	assert_equal "$(pg_psql prod -tAc "SELECT character_maximum_length FROM information_schema.columns WHERE table_name = 'tags' AND column_name = 'name'")" 10
	assert_same_rows_and_schema "$PROD" "$(pg_url viapsql)"
	run dbapply --rollback "$PROD"
	assert_success
	run dbdiff --schema before.ndjson "$PROD"
	assert_success
	pg_psql dev -qc "ALTER TABLE tags ALTER COLUMN name TYPE varchar(50), ALTER COLUMN note SET NOT NULL"
	dbdump-rows "$PROD" > before.ndjson
	run --separate-stderr dbapply --schema --mirror "$PROD" < <(dbdump-rows "$DEV")
	assert_failure 2
	grep -qF 'column "tags"."note" cannot be made NOT NULL: the row at key {"id":3} holds NULL there (fill it first)' <<< "$stderr"
	refute_output --partial 'schema: ALTER'
	assert_same_rows_and_schema before.ndjson "$PROD"
}

@test "--schema --mirror from SQLite into PostgreSQL: a table of prod's default schema is dropped, one of another schema is not; a column keeps prod's type and gets NOT NULL" {
	office_pg_schema prod
	office_db office.db
	dbapply "$PROD" < <(dbdump-rows office.db) > /dev/null
	pg_psql prod -qc "CREATE SCHEMA audit; CREATE TABLE audit.log (id integer PRIMARY KEY, what text);
		INSERT INTO audit.log VALUES (1, 'kept'); CREATE TABLE scratch (id integer PRIMARY KEY);
		INSERT INTO scratch VALUES (7); ALTER TABLE clients ALTER COLUMN name DROP NOT NULL"
	dbdump-rows "$PROD" > before.ndjson
	run dbapply --schema --mirror "$PROD" < <(dbdump-rows office.db)
	assert_success
	assert_line 'dbapply: schema: ALTER TABLE "clients" ALTER COLUMN "name" SET NOT NULL;'
	assert_line 'dbapply: schema: DROP TABLE "scratch";'
	refute_output --partial 'audit'
	assert_equal "$(pg_psql prod -tAc 'SELECT what FROM audit.log')" kept
	run dbapply --rollback "$PROD"
	assert_success
	assert_line 'dbapply: schema: ALTER TABLE "clients" ALTER COLUMN "name" DROP NOT NULL;'
	assert_same_rows_and_schema before.ndjson "$PROD"
}

@test "a protected PostgreSQL environment: --schema --mirror needs --yes; the backup, taken before the DDL, holds the dropped column and table; so does the rollback's" {
	office_pg_prod_has_more
	dbdump-rows "$PROD" > before.ndjson
	printf '[prod]\nurl = %s\nprotected = yes\n' "$PROD" > dbpipe.conf
	run sh -c 'dbdump-rows "$DEV" | dbapply --schema --mirror prod'
	assert_failure 2
	assert_output --partial "prod is protected: --mirror needs --yes (no terminal to ask on)"
	assert_equal "$(pg_psql prod -tAc "SELECT count(*) FROM old_notes")" 2
	run timeout 120 sh -c 'dbdump-rows "$DEV" | dbapply --schema --mirror --yes prod'
	assert_success
	assert_output --regexp 'dbapply: backup: backups/prod-[0-9T]+Z\.backup\.ndjson\.gz'
	assert_line 'dbapply: schema: DROP TABLE "old_notes";'
	backup=$(ls backups/*.backup.ndjson.gz)
	run jq -c 'select(.type == "row" and .table == "clients" and .row.id == 9) | .row.legacy_code' <(zcat "$backup")
	assert_output '"L9"'
	run jq -c 'select(.type == "row" and .table == "old_notes") | .row.body' <(zcat "$backup")
	assert_output $'"hello"\n"bye"'
	# the rollback makes the column and table again in its transaction: its
	# backup is taken before that too
	run timeout 120 dbapply --rollback --yes prod
	assert_success
	assert_equal "$(ls backups/*.backup.ndjson.gz | wc -l)" 2
	run dbdiff before.ndjson "$PROD"
	assert_success
}

@test "--schema on PostgreSQL makes a missing enum type by its name before the table (and a column added to a table); one of that name with other values is refused by name; --rollback drops what it made and keeps the target's own" {
	pg_psql dev -q <<-'SQL'
	CREATE TYPE mood AS ENUM ('sad', 'ok', 'it''s fine');
	CREATE TYPE size AS ENUM ('s', 'm');
	CREATE TABLE people (id int PRIMARY KEY, m mood NOT NULL, s size);
	INSERT INTO people VALUES (1, 'sad', 's'), (2, 'it''s fine', NULL);
	SQL
	# a type of that name with other values: refused by name, nothing made
	pg_psql prod -qc "CREATE TYPE mood AS ENUM ('sad', 'ok')"
	run --separate-stderr dbapply --schema "$PROD" < <(dbdump-rows "$DEV")
	assert_failure 2
	assert_equal "$stderr" "dbapply: <stdin>:2: --schema: table \"people\": column \"m\": the target's enum type mood has the values ('sad', 'ok'), the stream's ('sad', 'ok', 'it's fine'): not made (make them the same by hand)
dbapply: nothing was written to postgres://dbpipe@127.0.0.1:$PG_PORT/prod"
	assert_equal "$(pg_psql prod -tAc "SELECT count(*) FROM pg_type WHERE typname = 'size'")" 0
	# the same values: the target's type is used, the missing one made
	pg_psql prod -qc "ALTER TYPE mood ADD VALUE 'it''s fine'"
	run dbapply --schema "$PROD" < <(dbdump-rows "$DEV")
	assert_success
	refute_line --partial 'CREATE TYPE mood'
	assert_line "dbapply: schema: CREATE TYPE size AS ENUM ('s', 'm');"
	assert_line 'dbapply: schema: CREATE TABLE "people" ("id" integer NOT NULL, "m" mood NOT NULL, "s" size, PRIMARY KEY ("id"));'
	assert_same_rows_and_schema "$DEV" "$PROD"
	run pg_psql prod -qc "INSERT INTO people VALUES (3, 'glad', NULL)"
	assert_failure
	assert_output --partial 'invalid input value for enum mood: "glad"'
	# a column of a new enum type added to the table
	pg_psql dev -qc "CREATE TYPE colour AS ENUM ('red', 'blue'); ALTER TABLE people ADD COLUMN c colour; UPDATE people SET c = 'blue' WHERE id = 2"
	run dbapply --schema "$PROD" < <(dbdump-rows "$DEV")
	assert_success
	assert_line "dbapply: schema: CREATE TYPE colour AS ENUM ('red', 'blue');"
	assert_line 'dbapply: schema: ALTER TABLE "people" ADD COLUMN "c" colour;'
	assert_same_rows_and_schema "$DEV" "$PROD"
	# each rollback drops the types its run made, not the target's own mood
	run dbapply --rollback "$PROD"
	assert_success
	assert_line 'dbapply: schema: ALTER TABLE "people" DROP COLUMN "c";'
	assert_line 'dbapply: schema: DROP TYPE colour;'
	run dbapply --rollback "$PROD"
	assert_success
	assert_line 'dbapply: schema: DROP TABLE "people";'
	assert_line 'dbapply: schema: DROP TYPE size;'
	refute_line --partial 'DROP TYPE mood'
	assert_equal "$(pg_psql prod -tAc "SELECT string_agg(typname, ',' ORDER BY typname) FROM pg_type WHERE typtype = 'e'")" mood
	assert_equal "$(pg_psql prod -tAc "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")" 0
}

@test "--schema carries a table's triggers within PostgreSQL with the functions of the source's schemas they call, made after the rows (they do not fire for them); a function of that signature with other code is refused by name, nothing written; --rollback drops the table, its triggers and the functions its run made" {
	pg_psql dev -q <<-'SQL'
	CREATE FUNCTION stamp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.stamped := '2099-01-01'; RETURN NEW; END $$;
	CREATE TABLE doc (id int PRIMARY KEY, stamped date NOT NULL, body text, words tsvector);
	INSERT INTO doc VALUES (1, '2020-01-01', 'a b', NULL);
	CREATE TRIGGER doc_stamp BEFORE INSERT ON doc FOR EACH ROW EXECUTE FUNCTION stamp();
	CREATE TRIGGER doc_words BEFORE INSERT ON doc FOR EACH ROW EXECUTE FUNCTION tsvector_update_trigger(words, 'pg_catalog.english', body);
	CREATE INDEX doc_words_idx ON doc USING gist (words);
	SQL
	# the stream holds the function stamp() (tsvector_update_trigger is the server's own)
	assert_equal "$(dbdump-rows --schema-only "$DEV" | jq -c 'select(.type == "table") | [.functions[].name]')" '["stamp()"]'
	# a function of that signature with other code: refused by name, nothing written
	pg_psql prod -qc "CREATE FUNCTION stamp() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN RETURN NEW; END \$\$"
	run --separate-stderr dbapply --schema "$PROD" < <(dbdump-rows "$DEV")
	assert_failure 2
	assert_equal "$stderr" "dbapply: <stdin>:2: --schema: table \"doc\": its triggers call function stamp(), which the target has with other code: not made (make them the same by hand)
dbapply: nothing was written to postgres://dbpipe@127.0.0.1:$PG_PORT/prod"
	assert_equal "$(pg_psql prod -tAc "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")" 0
	pg_psql prod -qc "DROP FUNCTION stamp()"
	run dbapply --schema "$PROD" < <(dbdump-rows "$DEV")
	assert_success
	assert_line 'dbapply: schema: CREATE FUNCTION public.stamp()'
	# an index of another access method than btree keeps it
	assert_line 'dbapply: schema: CREATE INDEX "doc_words_idx" ON "doc" USING gist ("words");'
	assert_equal "$(pg_psql prod -tAc "SELECT indexdef LIKE '%USING gist%' FROM pg_indexes WHERE indexname = 'doc_words_idx'")" t
	assert_line 'dbapply: schema: CREATE TRIGGER doc_stamp BEFORE INSERT ON public.doc FOR EACH ROW EXECUTE FUNCTION stamp(); (after the rows)'
	assert_same_rows_and_schema "$DEV" "$PROD"
	pg_psql prod -qc "INSERT INTO doc VALUES (2, '2021-01-01', 'c d')"
	assert_equal "$(pg_psql prod -tAc "SELECT stamped, words FROM doc WHERE id = 2")" "2099-01-01|'c':1 'd':2"
	pg_psql prod -qc "DELETE FROM doc WHERE id = 2"
	run dbapply --rollback "$PROD"
	assert_success
	assert_line 'dbapply: schema: DROP FUNCTION stamp();'
	assert_equal "$(pg_psql prod -tAc "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal")" 0
	assert_equal "$(pg_psql prod -tAc "SELECT count(*) FROM pg_proc WHERE pronamespace = 'public'::regnamespace")" 0
	# a target that has the same function keeps it: the rollback drops only the table
	pg_psql prod -qc "CREATE FUNCTION stamp() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN NEW.stamped := '2099-01-01'; RETURN NEW; END \$\$"
	run dbapply --schema "$PROD" < <(dbdump-rows "$DEV")
	assert_success
	refute_line --partial 'CREATE FUNCTION'
	run dbapply --rollback "$PROD"
	assert_success
	refute_line --partial 'DROP FUNCTION'
	assert_equal "$(pg_psql prod -tAc "SELECT count(*) FROM pg_proc WHERE pronamespace = 'public'::regnamespace")" 1
}

@test "--schema on PostgreSQL makes a missing domain (base type, default, NOT NULL, checks) before the table; one of that name that says otherwise is refused by name; --rollback drops what it made and keeps the target's own" {
	pg_psql dev -q <<-'SQL'
	CREATE DOMAIN year AS integer CONSTRAINT year_check CHECK (VALUE >= 1901 AND VALUE <= 2155);
	CREATE DOMAIN "Code" AS varchar(8) DEFAULT 'none' NOT NULL CHECK (VALUE <> '');
	CREATE TABLE film (id int PRIMARY KEY, released year, code "Code");
	INSERT INTO film VALUES (1, 2006, 'a'), (2, NULL, DEFAULT);
	SQL
	dbdump-rows --schema-only "$DEV" | jq -c 'select(.type == "table") | (.columns[1:][] | .domain), .not_carried' > got
	cat > want <<-'EOF'
	{"name":"year","base":"integer","nullable":true,"checks":[{"name":"year_check","check":"((VALUE >= 1901) AND (VALUE <= 2155))"}]}
	{"name":"\"Code\"","base":"character varying(8)","nullable":false,"default":"'none'::character varying","checks":[{"name":"Code_check","check":"((VALUE)::text <> ''::text)"}]}
	null
	EOF
	diff -u want got
	# a domain of that name that says otherwise: refused by name, nothing made
	pg_psql prod -qc "CREATE DOMAIN year AS integer CHECK (VALUE >= 1800)"
	run --separate-stderr dbapply --schema "$PROD" < <(dbdump-rows "$DEV")
	assert_failure 2
	assert_equal "$stderr" "dbapply: <stdin>:2: --schema: table \"film\": column \"released\": the target's domain is \"CREATE DOMAIN year AS integer CONSTRAINT year_check CHECK ((VALUE >= 1800))\", the stream's \"CREATE DOMAIN year AS integer CONSTRAINT year_check CHECK (((VALUE >= 1901) AND (VALUE <= 2155)))\": not made (make them the same by hand)
dbapply: nothing was written to postgres://dbpipe@127.0.0.1:$PG_PORT/prod"
	assert_equal "$(pg_psql prod -tAc "SELECT count(*) FROM pg_type WHERE typname = 'Code'")" 0
	# the same definition: the target's domain is used, the missing one made
	pg_psql prod -qc "DROP DOMAIN year; CREATE DOMAIN year AS integer CONSTRAINT year_check CHECK (VALUE >= 1901 AND VALUE <= 2155)"
	run dbapply --schema "$PROD" < <(dbdump-rows "$DEV")
	assert_success
	refute_line --partial 'CREATE DOMAIN year'
	assert_line "dbapply: schema: CREATE DOMAIN \"Code\" AS character varying(8) DEFAULT 'none'::character varying NOT NULL CONSTRAINT \"Code_check\" CHECK (((VALUE)::text <> ''::text));"
	assert_line 'dbapply: schema: CREATE TABLE "film" ("id" integer NOT NULL, "released" year, "code" "Code", PRIMARY KEY ("id"));'
	assert_same_rows_and_schema "$DEV" "$PROD"
	# the domains hold on the target: check, NOT NULL, default
	run pg_psql prod -qc "INSERT INTO film VALUES (3, 1800, 'b')"
	assert_failure
	assert_output --partial 'violates check constraint "year_check"'
	run pg_psql prod -qc "INSERT INTO film VALUES (3, 2000, '')"
	assert_failure
	assert_output --partial 'violates check constraint "Code_check"'
	assert_equal "$(pg_psql prod -tAc "INSERT INTO film (id) VALUES (3) RETURNING code")" none
	pg_psql prod -qc "DELETE FROM film WHERE id = 3"
	# dbdiff --schema compares the domains: another check is a difference
	pg_psql dev -qc "ALTER DOMAIN \"Code\" ADD CONSTRAINT short CHECK (length(VALUE) < 8)"
	run dbdiff --schema "$DEV" "$PROD"
	assert_failure 1
	assert_output --partial '"alter_column"'
	assert_output --partial '"code"'
	pg_psql dev -qc "ALTER DOMAIN \"Code\" DROP CONSTRAINT short"
	# the rollback drops the table and the domain its run made, not year
	run dbapply --rollback "$PROD"
	assert_success
	assert_line 'dbapply: schema: DROP TABLE "film";'
	assert_line 'dbapply: schema: DROP TYPE "Code";'
	refute_line --partial 'DROP TYPE year'
	assert_equal "$(pg_psql prod -tAc "SELECT string_agg(typname, ',' ORDER BY typname) FROM pg_type WHERE typtype = 'd' AND typnamespace = 'public'::regnamespace")" year
	assert_equal "$(pg_psql prod -tAc "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")" 0
}

@test "--schema on PostgreSQL makes a table that inherits after its parent (CREATE TABLE ... INHERITS), each table's rows its own, the child's id from its parent's generator as in the source; dbdiff finds none; --rollback drops the child first" {
	pg_psql dev -q <<-'SQL'
	CREATE TABLE pay (id serial PRIMARY KEY, at date NOT NULL, amount numeric(5,2) CHECK (amount >= 0));
	CREATE TABLE a_pay_2007 (CONSTRAINT in_2007 CHECK (at >= '2007-01-01')) INHERITS (pay);
	INSERT INTO pay (at, amount) VALUES ('2006-05-01', 1.5), ('2006-06-01', 2);
	INSERT INTO a_pay_2007 (at, amount) VALUES ('2007-02-01', 2.5);
	SQL
	assert_equal "$(dbdump-rows --schema-only "$DEV" | jq -c 'select(.type == "table") | [.table, .inherits, .not_carried]' | tr '\n' ' ')" \
		'["a_pay_2007",["pay"],null] ["pay",null,null] '
	run dbapply --schema "$PROD" < <(dbdump-rows "$DEV")
	assert_success
	# the parent first, though the stream lists the child first
	assert_equal "$(grep -o 'CREATE TABLE "[a-z_0-9]*"' <<< "$output" | tr '\n' ' ')" 'CREATE TABLE "pay" CREATE TABLE "a_pay_2007" '
	assert_line "dbapply: schema: CREATE TABLE \"a_pay_2007\" (\"id\" integer NOT NULL, \"at\" date NOT NULL, \"amount\" numeric(5,2), CONSTRAINT \"in_2007\" CHECK ((at >= '2007-01-01'::date)), CONSTRAINT \"pay_amount_check\" CHECK ((amount >= (0)::numeric))) INHERITS (\"pay\");"
	assert_line "dbapply: schema: DO \$dbpipe\$BEGIN EXECUTE format('ALTER TABLE %s ALTER COLUMN %I SET DEFAULT nextval(%L::regclass)', '\"a_pay_2007\"', 'id', pg_catalog.pg_get_serial_sequence('\"pay\"', 'id')); END\$dbpipe\$;"
	assert_same_rows_and_schema "$DEV" "$PROD"
	assert_equal "$(pg_psql prod -tAc "SELECT (SELECT count(*) FROM pay), (SELECT count(*) FROM ONLY pay), (SELECT count(*) FROM a_pay_2007)")" '3|2|1'
	# the child's ids come from the parent's generator, past every id written
	assert_equal "$(pg_psql prod -tAc "INSERT INTO a_pay_2007 (at) VALUES ('2007-03-01') RETURNING id")" 4
	assert_equal "$(pg_psql prod -tAc "INSERT INTO pay (at) VALUES ('2006-07-01') RETURNING id")" 5
	pg_psql prod -qc "DELETE FROM pay WHERE id > 3"
	run dbapply --rollback "$PROD"
	assert_success
	assert_equal "$(grep -o 'DROP TABLE "[a-z_0-9]*"' <<< "$output" | tr '\n' ' ')" 'DROP TABLE "a_pay_2007" DROP TABLE "pay" '
	assert_equal "$(pg_psql prod -tAc "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")" 0
}

@test "--schema carries a table's rules within PostgreSQL, made after the rows (they do not send them elsewhere); dbdiff --schema compares them; into another engine they are refused by name, and left out with --without-triggers, each named" {
	pg_psql dev -q <<-'SQL'
	CREATE TABLE pay (id int PRIMARY KEY, at date NOT NULL);
	CREATE TABLE pay_2007 () INHERITS (pay);
	INSERT INTO pay VALUES (1, '2006-05-01'), (2, '2007-02-01');
	CREATE RULE pay_2007_in AS ON INSERT TO pay WHERE new.at >= '2007-01-01' DO INSTEAD INSERT INTO pay_2007 VALUES (new.*);
	SQL
	assert_equal "$(dbdump-rows --schema-only "$DEV" | jq -c 'select(.type == "table" and .table == "pay") | [.rules[].name, .not_carried]')" '["pay_2007_in",null]'
	run dbapply --schema "$PROD" < <(dbdump-rows "$DEV")
	assert_success
	assert_line --regexp '^dbapply: schema: CREATE RULE pay_2007_in AS$'
	assert_line --regexp "^ +ON INSERT TO public.pay$"
	assert_line "   WHERE (new.at >= '2007-01-01'::date) DO INSTEAD  INSERT INTO pay_2007 (id, at)"
	assert_line '  VALUES (new.id, new.at); (after the rows)'
	assert_same_rows_and_schema "$DEV" "$PROD"
	assert_equal "$(pg_psql prod -tAc "SELECT count(*) FROM ONLY pay")" 2
	pg_psql prod -qc "INSERT INTO pay VALUES (3, '2007-03-01')"
	assert_equal "$(pg_psql prod -tAc "SELECT id FROM pay_2007")" 3
	pg_psql prod -qc "DELETE FROM pay_2007"
	# a later sync into the table is warned of its rules
	run dbapply "$PROD" < <(dbdump-rows "$DEV")
	assert_success
	assert_line 'dbapply: warning: table "pay" has rules (PostgreSQL): they rewrite the statements that write its rows (an insert may go to another table), and --disable-triggers does not turn them off'
	# a rule dropped in dev is a schema difference, named
	pg_psql dev -qc "DROP RULE pay_2007_in ON pay"
	run --separate-stderr dbdiff --schema --stat "$DEV" "$PROD"
	assert_failure 1
	assert_equal "$stderr" 'rule "pay_2007_in" of "pay" is only in NEW
1 schema difference'
	pg_psql dev -qc "CREATE RULE pay_2007_in AS ON INSERT TO pay WHERE new.at >= '2007-01-01' DO INSTEAD INSERT INTO pay_2007 VALUES (new.*)"
	run dbapply --rollback "$PROD"
	assert_success
	assert_equal "$(pg_psql prod -tAc "SELECT count(*) FROM pg_rules WHERE schemaname = 'public'")" 0
	assert_equal "$(pg_psql prod -tAc "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")" 0
	# into SQLite: refused by name, nothing made; --without-triggers leaves it out, named
	sqlite3 pay.db "PRAGMA user_version = 1"
	run --separate-stderr dbapply --schema pay.db < <(dbdump-rows "$DEV")
	assert_failure 2
	assert_equal "$stderr" 'dbapply: <stdin>:2: --schema: table "pay": rule "pay_2007_in" is code of postgresql, which sqlite cannot run: not made (--without-triggers makes the table without its rules and triggers, each named)
dbapply: warning: <stdin>:3: --schema: table "pay_2007" is made as a table of its own, with all its columns: its inheritance from "pay" is postgresql'"'"'s, which sqlite does not have
dbapply: nothing was written to pay.db'
	assert_equal "$(sqlite3 pay.db "SELECT count(*) FROM sqlite_schema")" 0
	run --separate-stderr dbapply --schema --without-triggers pay.db < <(dbdump-rows "$DEV")
	assert_success
	[[ $stderr == *'dbapply: warning: <stdin>:2: --schema: table "pay": rule "pay_2007_in" of postgresql is left out (--without-triggers)'* ]]
	assert_equal "$(sqlite3 pay.db "SELECT count(*) FROM pay")" 2
}

@test "--schema refuses by name a table whose partitioning or domain over an enum the stream does not describe; nothing made" {
	pg_psql dev -q <<-'SQL'
	CREATE TYPE rating AS ENUM ('G', 'PG');
	CREATE DOMAIN kids AS rating CHECK (VALUE = 'G');
	CREATE TABLE film (id int PRIMARY KEY, rated kids);
	CREATE TABLE pay (id int PRIMARY KEY, at date NOT NULL);
	CREATE TABLE pay_2007 () INHERITS (pay);
	CREATE RULE pay_2007_in AS ON INSERT TO pay WHERE at >= '2007-01-01' DO INSTEAD INSERT INTO pay_2007 VALUES (NEW.*);
	CREATE TABLE ev (id int, at date NOT NULL, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
	CREATE TABLE ok (id int PRIMARY KEY);
	SQL
	assert_equal "$(dbdump-rows --schema-only "$DEV" | jq -c 'select(.type == "table") | [.table, .not_carried]' | tr '\n' ' ')" \
		'["ev",["partitioning by RANGE (at)"]] ["film",["column \"rated\" of the domain type kids"]] ["ok",null] ["pay",null] ["pay_2007",null] '
	run --separate-stderr dbapply --schema "$PROD" < <(dbdump-rows "$DEV")
	assert_failure 2
	assert_equal "$stderr" "dbapply: <stdin>:2: --schema: table \"ev\": the source's partitioning by RANGE (at) is not in the stream (dbpipe(5)), and a table made without it would behave otherwise: not made (make the table by hand)
dbapply: <stdin>:3: --schema: table \"film\": the source's column \"rated\" of the domain type kids is not in the stream (dbpipe(5)), and a table made without it would behave otherwise: not made (make the table by hand)
dbapply: nothing was written to postgres://dbpipe@127.0.0.1:$PG_PORT/prod"
	assert_equal "$(pg_psql prod -tAc "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")" 0
}

@test "dbdiff --schema within PostgreSQL compares inheritance and the functions triggers call: an alter_inherits and an alter_function record naming the table with both sides, exit 1; across engines neither" {
	for db in dev prod; do
		pg_psql "$db" <<-'SQL'
		CREATE TABLE parent (id int);
		CREATE TABLE other (id int);
		CREATE TABLE t2 (id int PRIMARY KEY);
		SQL
	done
	pg_psql dev <<-'SQL'
	CREATE TABLE child (note text) INHERITS (parent);
	CREATE FUNCTION stamp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.note := 'dev'; RETURN NEW; END $$;
	CREATE TRIGGER stamp BEFORE INSERT ON child FOR EACH ROW EXECUTE FUNCTION stamp();
	CREATE FUNCTION mark() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
	CREATE TRIGGER mark BEFORE INSERT ON t2 FOR EACH ROW EXECUTE FUNCTION mark();
	SQL
	pg_psql prod <<-'SQL'
	CREATE TABLE child (note text) INHERITS (other);
	CREATE FUNCTION stamp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.note := 'prod'; RETURN NEW; END $$;
	CREATE TRIGGER stamp BEFORE INSERT ON child FOR EACH ROW EXECUTE FUNCTION stamp();
	SQL
	run --separate-stderr dbdiff --schema --stat "$DEV" "$PROD"
	assert_failure 1
	assert_equal "$stderr" 'table "child" inherits from (parent) in OLD, from (other) in NEW
function stamp() of the triggers of "child" is other code in OLD than in NEW
trigger "mark" of "t2" is only in OLD
function mark() of the triggers of "t2" is only in OLD
4 schema differences'
	run jq -c 'select(.type == "schema") | [.change, .table, .old, .new]' <(dbdiff --schema "$DEV" "$PROD")
	assert_line '["alter_inherits","child",["parent"],["other"]]'
	assert_line --regexp '^\["alter_function","child",\{"name":"stamp\(\)","sql":"CREATE OR REPLACE FUNCTION public.stamp\(\)[^"]*NEW.note := '"'dev'"'.*"\},\{"name":"stamp\(\)","sql":".*NEW.note := '"'prod'"'.*"\}\]$'
	assert_line --regexp '^\["alter_function","t2",\{"name":"mark\(\)","sql":"CREATE OR REPLACE FUNCTION public.mark\(\).*"\},null\]$'
	# the same in both: nothing
	run dbdiff --schema "$DEV" "$DEV"
	assert_success
	# dbapply changes neither, and says so
	run dbapply --dry-run "$PROD" < <(dbdump-rows -t child -t t2 "$DEV")
	assert_success
	assert_line 'dbapply: warning: <stdin>:2: table "child" inherits from (other) in the target, from (parent) in the stream (dbapply does not change a table'"'"'s inheritance)'
	assert_line 'dbapply: warning: <stdin>:2: function stamp() of the triggers of "child" is other code in the target than in the stream (dbapply does not change a function)'
	assert_line --regexp '^dbapply: warning: <stdin>:3: function mark\(\) of the triggers of "t2" is only in the stream \(dbapply does not change a function\)$'
	# across engines neither is compared: SQLite has no inheritance and
	# runs no PostgreSQL function
	sqlite3 lite.db "CREATE TABLE parent (id INTEGER); CREATE TABLE other (id INTEGER); CREATE TABLE t2 (id INTEGER PRIMARY KEY);
		CREATE TABLE child (id INTEGER, note TEXT)"
	run dbdiff --schema <(dbdump-rows -x t2 "$DEV") <(dbdump-rows -x t2 lite.db)
	refute_output --partial 'alter_inherits'
	refute_output --partial 'alter_function'
}

@test "a stream that breaks off in the middle of a table the target reads whole (a COPY within a savepoint, on dbapply's read-ahead thread) is refused by file:line; the target is as it was, and the whole stream then applies" {
	for db in dev prod; do
		pg_psql "$db" -c "CREATE TABLE items (id integer PRIMARY KEY, name text NOT NULL)" \
			-c "INSERT INTO items SELECT i, 'item ' || i FROM generate_series(1, 20000) i"
	done
	pg_psql dev -c "UPDATE items SET name = 'changed' WHERE id % 1000 = 0"
	dbdump-rows "$DEV" > full.ndjson
	head -n 10000 full.ndjson > cut.ndjson
	before=$(pg_psql prod -At -c "SELECT count(*), sum(hashtext(i::text)) FROM items i")
	run dbapply --prefer source "$PROD" cut.ndjson
	assert_failure 2
	assert_output --partial "cut.ndjson:10000: truncated stream: no final end record"
	refute_output --partial "savepoint"
	assert_equal "$(pg_psql prod -At -c "SELECT count(*), sum(hashtext(i::text)) FROM items i")" "$before"
	run dbapply --prefer source "$PROD" full.ndjson
	assert_success
	assert_line --regexp '^items +0 +20 +0$'
	run dbdiff "$DEV" "$PROD"
	assert_success
}
