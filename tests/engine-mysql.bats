#!/usr/bin/env bats
# The MySQL/MariaDB backend against a real MariaDB server that this file
# starts and stops itself (tests/mysql_server.bash): the type matrix, key
# order, zero dates, connection errors, the three apply modes, dry run,
# rollback, AUTO_INCREMENT, foreign-key cycles, non-transactional tables,
# and syncs SQLite -> MariaDB -> SQLite checked with dbdiff.

bats_require_minimum_version 1.5.0

setup_file() {
	load mysql_server
	my_start
}

teardown_file() {
	load mysql_server
	my_stop
}

setup() {
	load helpers
	load mysql_server
	common_setup
	# The user's own option files must not change what the tests connect to.
	export HOME=$T
	my_reset_db dev
	my_reset_db prod
	DEV="mysql://dbpipe@127.0.0.1:$MY_PORT/dev"
	PROD="mysql://dbpipe@127.0.0.1:$MY_PORT/prod"
}

# One value of the dump in $1: table $2, row with id $3, column $4 (jq -c).
val() {
	jq -c --arg t "$2" --argjson id "$3" --arg c "$4" \
		'select(.type == "row" and .table == $t and .row.id == $id) | .row[$c]' "$1"
}

# The JSON text of one value, as written (jq would round big integers).
rawval() {
	grep -F "\"type\":\"row\",\"table\":\"$2\",\"row\":{\"id\":$3," "$1" | grep -o "\"$4\":[^,}]*" | cut -d: -f2-
}

# The office example's schema, in MySQL's words.
office_schema() {
	my_sql "$1" <<-'SQL'
	CREATE TABLE case_types (
		id INT PRIMARY KEY,
		name VARCHAR(100) NOT NULL UNIQUE
	) ENGINE=InnoDB;
	CREATE TABLE clients (
		id INT AUTO_INCREMENT PRIMARY KEY,
		name VARCHAR(200) NOT NULL,
		phone VARCHAR(50),
		email VARCHAR(200),
		referred_by INT,
		balance DECIMAL(10,2) NOT NULL DEFAULT 0,
		vip BOOLEAN NOT NULL DEFAULT 0,
		created_at DATETIME NOT NULL,
		FOREIGN KEY (referred_by) REFERENCES clients(id)
	) ENGINE=InnoDB;
	CREATE TABLE cases (
		id INT AUTO_INCREMENT PRIMARY KEY,
		client_id INT NOT NULL,
		type_id INT NOT NULL,
		title VARCHAR(200) NOT NULL,
		opened DATE NOT NULL,
		FOREIGN KEY (client_id) REFERENCES clients(id),
		FOREIGN KEY (type_id) REFERENCES case_types(id)
	) ENGINE=InnoDB;
	CREATE TABLE documents (
		id INT AUTO_INCREMENT PRIMARY KEY,
		case_id INT NOT NULL,
		filename VARCHAR(200) NOT NULL,
		content BLOB,
		FOREIGN KEY (case_id) REFERENCES cases(id)
	) ENGINE=InnoDB;
	SQL
}

# dev and prod hold the office example (loaded from SQLite through dbapply).
office_dev_prod() {
	office_db office.db
	office_schema dev
	office_schema prod
	dbdump-rows office.db > office.ndjson
	dbapply "$DEV" office.ndjson >/dev/null
	dbapply "$PROD" office.ndjson >/dev/null
}

types_schema() {
	my_sql "$1" <<-'SQL'
	CREATE TABLE types (
		id INT PRIMARY KEY,
		b TINYINT(1), bo BOOLEAN,
		ti TINYINT, tu TINYINT UNSIGNED, si SMALLINT, su SMALLINT UNSIGNED,
		mi MEDIUMINT, mu MEDIUMINT UNSIGNED, i INT, iu INT UNSIGNED,
		bi BIGINT, bu BIGINT UNSIGNED,
		d DECIMAL(65,30), f FLOAT, dbl DOUBLE,
		t VARCHAR(100), tx TEXT, c CHAR(5),
		bl BLOB, vb VARBINARY(300),
		dt DATE, tm TIME(6), dtm DATETIME(6), ts TIMESTAMP NULL DEFAULT NULL, ts6 TIMESTAMP(6) NULL DEFAULT NULL,
		yr YEAR,
		e ENUM('small','medium','large'), st SET('x','y','z'), j JSON, bt BIT(10)
	) ENGINE=InnoDB;
	SQL
}

types_rows() {
	my_sql "$1" <<-'SQL'
	INSERT INTO types VALUES
	(1, 1, TRUE, -128, 255, -32768, 65535, -8388608, 16777215, -2147483648, 4294967295,
	 -9223372036854775808, 18446744073709551615,
	 '-12345678901234567890123456789012345.123456789012345678901234567891', -3.40282e38, 1.7976931348623157e308,
	 'héllo 😀 wörld', 'line1\nline2\t"quoted"\\', 'ab',
	 (SELECT UNHEX(GROUP_CONCAT(LPAD(HEX(seq), 2, '0') ORDER BY seq SEPARATOR '')) FROM seq_0_to_255), 0x00FF,
	 '2024-02-29', '-838:59:59', '2024-01-02 03:04:05.123456', '2038-01-19 03:14:07', '2001-02-03 04:05:06.5',
	 2155, 'medium', 'x,z', '{"a": [1, 2.5, "x"], "b": null}', b'1010101010'),
	(2, 0, FALSE, 127, 0, 32767, 0, 8388607, 0, 2147483647, 0,
	 9223372036854775807, 9223372036854775808,
	 '0.000000000000000000000000000001', 1.1, 0.1,
	 '', '', '',
	 '', '',
	 '1000-01-01', '838:59:59.5', '9999-12-31 23:59:59.999999', '1970-01-01 00:00:01', NULL,
	 1901, 'small', '', '[]', b'0'),
	(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
	SQL
}

@test "connection errors: wrong password is one clear line, exit 2, password never shown" {
	run --separate-stderr dbdump-rows "mysql://dbpipe:not-the-password@127.0.0.1:$MY_PORT/dev"
	assert_failure 2
	assert_equal "$output" ""
	assert_equal "${#stderr_lines[@]}" 1
	[[ "$stderr" == *"Access denied for user 'dbpipe'"* ]]
	[[ "$stderr" == *"mysql://dbpipe:***@127.0.0.1:$MY_PORT/dev"* ]]
	[[ "$stderr" != *not-the-password* ]]

	MYSQL_PWD=also-wrong run --separate-stderr dbdump-rows "$DEV"
	assert_failure 2
	assert_equal "${#stderr_lines[@]}" 1
	[[ "$stderr" == *"Access denied"* ]]
	[[ "$stderr" != *also-wrong* ]]

	run dbdump-rows "mysql://dbpipe@127.0.0.1:$MY_PORT/"
	assert_failure 2
	assert_output --partial "no database given"
	run dbdump-rows "mysql://dbpipe@127.0.0.1:$MY_PORT/no_such_db"
	assert_failure 2
	assert_output --partial "Unknown database 'no_such_db'"
	run dbdump-rows "mysql://dbpipe@127.0.0.1:$MY_PORT/dev?sslmode=x"
	assert_failure 2
	assert_output --partial "unknown URL parameter"
}

@test "connection errors: a password holding @, : and / works unencoded and is never shown" {
	my_sql mysql <<<"DROP USER IF EXISTS 'odd'@'127.0.0.1'; CREATE USER 'odd'@'127.0.0.1' IDENTIFIED BY 'p@ss:w/rd'; GRANT ALL ON dev.* TO 'odd'@'127.0.0.1';"
	my_sql dev <<<"CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (7);"
	MYSQL_PWD= run --separate-stderr dbdump-rows "mysql://odd:p@ss:w/rd@127.0.0.1:$MY_PORT/dev"
	assert_success
	assert_line --index 0 --partial "\"source\":\"mysql://odd:***@127.0.0.1:$MY_PORT/dev\""
	assert_line --index 2 '{"type":"row","table":"t","row":{"id":7}}'
	[[ "$output" != *p@ss* ]]

	MYSQL_PWD= run --separate-stderr dbdump-rows "mysql://odd:p@ss:x/y@127.0.0.1:$MY_PORT/dev"
	assert_failure 2
	[[ "$stderr" == *"mysql://odd:***@127.0.0.1:$MY_PORT/dev"* ]]
	[[ "$stderr" != *p@ss* && "$stderr" != *x/y* ]]
	my_sql mysql <<<"DROP USER 'odd'@'127.0.0.1'"
}

@test "connections: password in the URL, MYSQL_PWD, a socket, an option file, mariadb://" {
	my_sql dev <<<"CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (7);"
	local pw=$MYSQL_PWD
	run env -u MYSQL_PWD dbdump-rows "mysql://dbpipe:$pw@127.0.0.1:$MY_PORT/dev"
	assert_success
	assert_line --partial '"row":{"id":7}'
	refute_output --partial "$pw"
	assert_line --index 0 --partial "\"source\":\"mysql://dbpipe:***@127.0.0.1:$MY_PORT/dev\""
	run dbdump-rows "mariadb://dbpipe@localhost/dev?socket=$MY_SOCK"
	assert_success
	assert_line --index 0 --partial '"engine":"mysql"'
	assert_line --partial '"row":{"id":7}'
	mkdir home
	printf '[client]\nuser=dbpipe\npassword=%s\nhost=127.0.0.1\nport=%s\n' "$pw" "$MY_PORT" > home/.my.cnf
	HOME=$T/home run env -u MYSQL_PWD dbdump-rows "mysql:///dev"
	assert_success
	assert_line --partial '"row":{"id":7}'
}

@test "type matrix: every MySQL type dumps to its canonical value" {
	types_schema dev
	types_rows dev
	run dbdump-rows -o dev.ndjson "$DEV"
	assert_success
	cols=$(jq -c 'select(.type == "table") | [.columns[] | [.name, .type]]' dev.ndjson)
	assert_equal "$cols" '[["id","int"],["b","bool"],["bo","bool"],["ti","int"],["tu","int"],["si","int"],["su","int"],["mi","int"],["mu","int"],["i","int"],["iu","int"],["bi","int"],["bu","decimal"],["d","decimal"],["f","float"],["dbl","float"],["t","text"],["tx","text"],["c","text"],["bl","bytes"],["vb","bytes"],["dt","date"],["tm","time"],["dtm","timestamp"],["ts","timestamptz"],["ts6","timestamptz"],["yr","int"],["e","enum"],["st","text"],["j","json"],["bt","other"]]'
	assert_equal "$(jq -c 'select(.type == "table") | .columns[] | select(.name == "bu") | .native' dev.ndjson)" '"bigint(20) unsigned"'
	# Row 1: the extremes.
	assert_equal "$(val dev.ndjson types 1 b)" true
	assert_equal "$(val dev.ndjson types 1 ti)" -128
	assert_equal "$(val dev.ndjson types 1 tu)" 255
	assert_equal "$(val dev.ndjson types 1 mu)" 16777215
	assert_equal "$(val dev.ndjson types 1 iu)" 4294967295
	assert_equal "$(rawval dev.ndjson types 1 bi)" -9223372036854775808
	assert_equal "$(val dev.ndjson types 1 bu)" '"18446744073709551615"'
	assert_equal "$(val dev.ndjson types 1 d)" '"-12345678901234567890123456789012345.123456789012345678901234567891"'
	assert_equal "$(rawval dev.ndjson types 1 f)" -3.40282e+38
	assert_equal "$(rawval dev.ndjson types 1 dbl)" 1.7976931348623157e+308
	assert_equal "$(val dev.ndjson types 1 t)" '"héllo 😀 wörld"'
	assert_equal "$(val dev.ndjson types 1 tx)" '"line1\nline2\t\"quoted\"\\"'
	assert_equal "$(val dev.ndjson types 1 c)" '"ab"'
	assert_equal "$(val dev.ndjson types 1 vb)" '"AP8="'
	# All 256 byte values, in order.
	jq -r 'select(.type == "row" and .row.id == 1) | .row.bl' dev.ndjson | base64 -d | od -An -v -tu1 | tr -s ' \n' '\n' | sed '/^$/d' > bytes
	seq 0 255 | diff -u - bytes
	assert_equal "$(val dev.ndjson types 1 dt)" '"2024-02-29"'
	assert_equal "$(val dev.ndjson types 1 tm)" '"-838:59:59"'
	assert_equal "$(val dev.ndjson types 1 dtm)" '"2024-01-02T03:04:05.123456"'
	assert_equal "$(val dev.ndjson types 1 ts)" '"2038-01-19T03:14:07Z"'
	assert_equal "$(val dev.ndjson types 1 ts6)" '"2001-02-03T04:05:06.5Z"'
	assert_equal "$(val dev.ndjson types 1 yr)" 2155
	assert_equal "$(val dev.ndjson types 1 e)" '"medium"'
	assert_equal "$(val dev.ndjson types 1 st)" '"x,z"'
	assert_equal "$(val dev.ndjson types 1 j | jq -c 'fromjson')" '{"a":[1,2.5,"x"],"b":null}'
	assert_equal "$(val dev.ndjson types 1 bt)" '"1010101010"'
	# Row 2: the other ends, empty strings and bytes.
	assert_equal "$(val dev.ndjson types 2 bo)" false
	assert_equal "$(rawval dev.ndjson types 2 bi)" 9223372036854775807
	assert_equal "$(val dev.ndjson types 2 bu)" '"9223372036854775808"'
	assert_equal "$(val dev.ndjson types 2 f)" 1.1
	assert_equal "$(val dev.ndjson types 2 dbl)" 0.1
	assert_equal "$(val dev.ndjson types 2 t)" '""'
	assert_equal "$(val dev.ndjson types 2 bl)" '""'
	assert_equal "$(val dev.ndjson types 2 tm)" '"838:59:59.5"'
	assert_equal "$(val dev.ndjson types 2 dtm)" '"9999-12-31T23:59:59.999999"'
	assert_equal "$(val dev.ndjson types 2 ts)" '"1970-01-01T00:00:01Z"'
	assert_equal "$(val dev.ndjson types 2 bt)" '"0000000000"'
	# Row 3: NULL everywhere but the key.
	assert_equal "$(jq -c 'select(.type == "row" and .row.id == 3) | [.row[]] | map(select(. != null))' dev.ndjson)" '[3]'
}

@test "type matrix: a MariaDB -> MariaDB round trip is exact" {
	types_schema dev
	types_rows dev
	types_schema prod
	dbdump-rows -o dev.ndjson "$DEV"
	run dbapply "$PROD" dev.ndjson
	assert_success
	dbdump-rows -o prod.ndjson "$PROD"
	diff -u <(tail -n +2 dev.ndjson) <(tail -n +2 prod.ndjson)
	# Byte for byte in the server's own eyes as well.
	q='SELECT id, HEX(b), HEX(bu), HEX(d), HEX(f), HEX(dbl), HEX(t), HEX(tx), HEX(bl), dt, tm, dtm, ts, ts6, yr, e, st, j, HEX(bt) FROM types ORDER BY id'
	assert_equal "$(my_sql prod <<<"$q")" "$(my_sql dev <<<"$q")"
	# And once more: nothing left to do.
	run dbdiff "$DEV" "$PROD"
	assert_success
}

@test "spatial values travel as WKT with their SRID; generated columns are read, never written" {
	for db in dev prod; do
		my_sql $db <<-'SQL'
		CREATE TABLE places (id INT PRIMARY KEY, p POINT NULL, g GEOMETRY NULL, u UUID, ip INET6,
			name VARCHAR(20) CHARACTER SET latin1, twice INT AS (id * 2) VIRTUAL, thrice INT AS (id * 3) STORED) ENGINE=InnoDB;
		CREATE TABLE shapes (g GEOMETRY NULL, n INT) ENGINE=InnoDB;
		SQL
	done
	my_sql dev <<-'SQL'
	INSERT INTO places (id, p, g, u, ip, name) VALUES
		(1, POINT(1.5, 2), ST_GeomFromText('POLYGON((0 0,1 0,1 1,0 0))', 4326), '123e4567-e89b-12d3-a456-426614174000', '::1', 'Größe'),
		(2, NULL, NULL, NULL, NULL, NULL);
	INSERT INTO shapes VALUES (POINT(1, 1), 1), (POINT(1, 1), 1), (NULL, 2);
	SQL
	my_sql prod <<<"INSERT INTO shapes VALUES (POINT(1, 1), 1), (POINT(9, 9), 3);"
	dbdump-rows -o dev.ndjson "$DEV"
	assert_equal "$(val dev.ndjson places 1 p)" '"POINT(1.5 2)"'
	assert_equal "$(val dev.ndjson places 1 g)" '"SRID=4326;POLYGON((0 0,1 0,1 1,0 0))"'
	assert_equal "$(val dev.ndjson places 1 u)" '"123e4567-e89b-12d3-a456-426614174000"'
	assert_equal "$(val dev.ndjson places 1 ip)" '"::1"'
	assert_equal "$(val dev.ndjson places 1 name)" '"Größe"'
	assert_equal "$(val dev.ndjson places 1 thrice)" 3
	run dbapply --mirror "$PROD" dev.ndjson
	assert_success
	run dbdiff dev.ndjson "$PROD"
	assert_success
	assert_equal "$(my_sql prod <<<'SELECT ST_SRID(g), ST_AsText(g), thrice FROM places WHERE id = 1')" "$(printf '4326\tPOLYGON((0 0,1 0,1 1,0 0))\t3')"
	assert_equal "$(my_sql prod <<<'SELECT count(*) FROM shapes WHERE n = 1')" 2
}

@test "text keys come in byte order whatever the collation" {
	my_sql dev <<-'SQL'
	CREATE TABLE words (w VARCHAR(20) COLLATE utf8mb4_general_ci PRIMARY KEY, n INT) ENGINE=InnoDB;
	INSERT INTO words VALUES ('b', 1), ('B2', 2), ('a', 3), ('Äx', 4), ('z', 5), ('😀', 6), ('é', 7), ('A1', 8), ('a b', 9), ('a!', 10);
	SQL
	run dbdump-rows -o dev.ndjson "$DEV"
	assert_success
	jq -r 'select(.type == "row") | .row.w' dev.ndjson > got
	LC_ALL=C sort got > expected
	diff -u expected got
	assert_equal "$(wc -l < got)" 10
	# dbdiff checks the order as it reads.
	run dbdiff dev.ndjson dev.ndjson
	assert_success
}

@test "tables without a primary key: a unique NOT NULL index, else the whole row" {
	my_sql dev <<-'SQL'
	CREATE TABLE u (a INT NULL, b VARCHAR(10) NOT NULL, c INT NOT NULL, UNIQUE KEY z_nullable (a), UNIQUE KEY k_bc (b, c)) ENGINE=InnoDB;
	CREATE TABLE w (x INT, y VARCHAR(10)) ENGINE=InnoDB;
	CREATE TABLE fw (f FLOAT, n INT) ENGINE=InnoDB;
	INSERT INTO u VALUES (1, 'q', 2), (NULL, 'p', 1);
	INSERT INTO w VALUES (2, 'b'), (1, NULL), (1, NULL), (1, 'a');
	INSERT INTO fw VALUES (1.1, 1), (-0.3, 3);
	SQL
	run dbdump-rows -o dev.ndjson "$DEV"
	assert_success
	assert_equal "$(jq -c 'select(.type == "table" and .table == "u") | .key' dev.ndjson)" '["b","c"]'
	assert_equal "$(jq -c 'select(.type == "table" and .table == "w") | .key' dev.ndjson)" '["x","y"]'
	assert_equal "$(jq -c 'select(.type == "row" and .table == "w") | [.row.x, .row.y]' dev.ndjson | tr -d '\n')" '[1,null][1,null][1,"a"][2,"b"]'
	# Whole-row tables sync too (duplicates included).
	my_sql prod <<-'SQL'
	CREATE TABLE u (a INT NULL, b VARCHAR(10) NOT NULL, c INT NOT NULL, UNIQUE KEY z_nullable (a), UNIQUE KEY k_bc (b, c)) ENGINE=InnoDB;
	CREATE TABLE w (x INT, y VARCHAR(10)) ENGINE=InnoDB;
	CREATE TABLE fw (f FLOAT, n INT) ENGINE=InnoDB;
	INSERT INTO w VALUES (1, NULL), (3, 'c');
	INSERT INTO fw VALUES (1.1, 1), (2.2, 2), (-0.3, 4);
	SQL
	run dbapply --mirror "$PROD" dev.ndjson
	assert_success
	assert_equal "$(my_sql prod <<<'SELECT x, IFNULL(y, "-") FROM w ORDER BY x, y' | tr '\t\n' ' ,')" "1 -,1 -,1 a,2 b,"
	# Single-precision floats in a whole-row key are matched as floats.
	assert_equal "$(my_sql prod <<<'SELECT f, n FROM fw ORDER BY n' | tr '\t\n' ' ,')" "1.1 1,-0.3 3,"
}

@test "keys: a primary key on a prefix is passed over for the first usable unique index, by bytewise name" {
	# Bytewise, B_first comes before a_second (a collation folding case
	# would put a_second first); A_pre has a prefix, c_null a NULL column.
	my_sql dev <<-'SQL'
	CREATE TABLE k (s VARCHAR(20) NOT NULL, a INT NOT NULL, b INT NOT NULL, c INT NULL, PRIMARY KEY (s(3)),
		UNIQUE KEY a_second (a), UNIQUE KEY B_first (b), UNIQUE KEY A_pre (s(2), a), UNIQUE KEY c_null (c)) ENGINE=InnoDB;
	INSERT INTO k VALUES ('abc', 1, 2, NULL), ('xyz', 2, 1, NULL);
	SQL
	run dbdump-rows -o dev.ndjson "$DEV"
	assert_success
	assert_equal "$(jq -c 'select(.type == "table" and .table == "k") | [.key, .key_from]' dev.ndjson)" '[["b"],"unique"]'
	assert_equal "$(jq -c 'select(.type == "row" and .table == "k") | .row.s' dev.ndjson | tr -d '\n')" '"xyz""abc"'
}

@test "zero dates: an error naming table, column and key, or NULL with --zero-date=null" {
	my_sql dev <<-'SQL'
	SET SESSION sql_mode = '';
	CREATE TABLE events (id INT PRIMARY KEY, day DATE, at DATETIME) ENGINE=InnoDB;
	INSERT INTO events VALUES (1, '2020-01-01', '2020-01-01 10:00:00'), (2, '0000-00-00', '2020-01-01 10:00:00'),
		(3, '2020-01-02', '0000-00-00 00:00:00');
	SQL
	run --separate-stderr dbdump-rows "$DEV"
	assert_failure 2
	[[ "$stderr" == *'table "events", column "day" (date), row with id=2: zero date '"'0000-00-00'"* ]]
	# The output has no final end record: no reader accepts it.
	refute_line --partial '"type":"end","rows"'
	run dbdump-rows --zero-date=null -o dev.ndjson "$DEV"
	assert_success
	assert_equal "$(val dev.ndjson events 2 day)" null
	assert_equal "$(val dev.ndjson events 3 at)" null
	assert_equal "$(val dev.ndjson events 3 day)" '"2020-01-02"'
}

@test "merge (the default; --prefer source on this first sync): new and changed rows arrive, prod's own rows stay" {
	office_dev_prod
	my_sql dev <<-'SQL'
	INSERT INTO clients (name, phone, email, balance, created_at) VALUES ('Client 101', '+1 555 0101', 'c101@example.com', 0, '2026-03-01 10:00:00');
	UPDATE clients SET phone = '+1 555 9050' WHERE id = 50;
	INSERT INTO cases (client_id, type_id, title, opened) VALUES (101, 2, 'Case 51', '2026-03-02');
	SQL
	my_sql prod <<<"INSERT INTO clients (id, name, created_at) VALUES (102, 'Walk-in 102', '2026-03-03 11:00:00');"
	run dbapply --prefer source "$PROD" <(dbdump-rows "$DEV")
	assert_success
	assert_equal "$(my_sql prod <<<'SELECT count(*) FROM clients')" 102
	assert_equal "$(my_sql prod <<<'SELECT phone FROM clients WHERE id = 50')" "+1 555 9050"
	assert_equal "$(my_sql prod <<<'SELECT count(*) FROM cases')" 51
	assert_equal "$(my_sql prod <<<'SELECT title FROM cases WHERE id = 51')" "Case 51"
}

@test "--insert-only: new rows only, changed rows are left alone" {
	office_dev_prod
	my_sql dev <<-'SQL'
	INSERT INTO clients (name, created_at) VALUES ('Client 101', '2026-03-01 10:00:00');
	UPDATE clients SET phone = '+1 555 9050' WHERE id = 50;
	SQL
	run dbapply --insert-only "$PROD" <(dbdump-rows "$DEV")
	assert_success
	assert_equal "$(my_sql prod <<<'SELECT count(*) FROM clients')" 101
	assert_equal "$(my_sql prod <<<'SELECT phone FROM clients WHERE id = 50')" "+1 555 0150"
}

@test "--mirror: prod becomes an exact copy, its own rows deleted" {
	office_dev_prod
	my_sql dev <<-'SQL'
	UPDATE clients SET phone = '+1 555 9050' WHERE id = 50;
	DELETE FROM documents WHERE id = 20;
	SQL
	my_sql prod <<-'SQL'
	INSERT INTO clients (id, name, created_at) VALUES (102, 'Walk-in 102', '2026-03-03 11:00:00');
	INSERT INTO cases (id, client_id, type_id, title, opened) VALUES (60, 102, 1, 'Walk-in case', '2026-03-04');
	SQL
	run dbapply --mirror "$PROD" <(dbdump-rows "$DEV")
	assert_success
	assert_equal "$(my_sql prod <<<'SELECT count(*) FROM clients')" 100
	assert_equal "$(my_sql prod <<<'SELECT count(*) FROM cases WHERE id = 60')" 0
	assert_equal "$(my_sql prod <<<'SELECT count(*) FROM documents')" 19
	run dbdiff "$DEV" "$PROD"
	assert_success
}

@test "--dry-run reports and leaves the target untouched" {
	office_dev_prod
	my_sql dev <<-'SQL'
	UPDATE clients SET phone = '+1 555 9050' WHERE id = 50;
	INSERT INTO clients (name, created_at) VALUES ('Client 101', '2026-03-01 10:00:00');
	DELETE FROM documents WHERE id = 20;
	SQL
	dump_body "$PROD" > before
	run dbapply --dry-run --mirror "$PROD" <(dbdump-rows "$DEV")
	assert_success
	assert_output --partial "dry run"
	dump_body "$PROD" > after
	diff -u before after
	assert_equal "$(my_sql prod <<<'SELECT count(*) FROM clients')" 100
}

@test "a failing row rolls everything back" {
	office_dev_prod
	dump_body "$PROD" > before
	# New clients (fine), then a case of a client that does not exist.
	my_sql dev <<-'SQL'
	INSERT INTO clients (name, created_at) VALUES ('Client 101', '2026-03-01 10:00:00');
	SET foreign_key_checks = 0;
	INSERT INTO cases (client_id, type_id, title, opened) VALUES (999, 1, 'Orphan', '2026-03-05');
	SQL
	run dbapply "$PROD" <(dbdump-rows "$DEV")
	assert_failure 2
	assert_output --partial "cases"
	assert_output --partial "foreign key constraint fails"
	dump_body "$PROD" > after
	diff -u before after
	assert_equal "$(my_sql prod <<<'SELECT count(*) FROM clients')" 100
}

@test "a failing insert among many (sent together) is named by its key" {
	office_dev_prod
	my_sql prod <<<"ALTER TABLE clients ADD UNIQUE KEY u_email (email);"
	dump_body "$PROD" > before
	my_sql dev <<-'SQL'
	INSERT INTO clients (id, name, email, created_at) VALUES
		(101, 'New 101', 'new101@example.com', '2026-03-01 10:00:00'),
		(102, 'New 102', 'client1@example.com', '2026-03-01 10:00:00'),
		(103, 'New 103', 'new103@example.com', '2026-03-01 10:00:00');
	SQL
	run dbapply "$PROD" <(dbdump-rows "$DEV")
	assert_failure 2
	assert_output --partial 'table "clients", inserting the row with id=102: Duplicate entry'
	dump_body "$PROD" > after
	diff -u before after
}

@test "a change stream whose delete finds its row already gone skips it; the rest applies" {
	office_dev_prod
	my_sql dev <<<"DELETE FROM documents WHERE id IN (3, 4, 5); UPDATE clients SET phone = 'new' WHERE id = 7;"
	run dbdiff -o changes.ndjson "$PROD" "$DEV"
	assert_failure 1
	assert_equal "$(grep -c '"type":"delete"' changes.ndjson)" 3
	my_sql prod <<<"DELETE FROM documents WHERE id = 4;"
	run dbapply --mirror "$PROD" changes.ndjson
	assert_success
	assert_line --regexp '^documents +0 +0 +2$'
	assert_equal "$(my_sql prod <<<'SELECT count(*) FROM documents')" 17
	assert_equal "$(my_sql prod <<<'SELECT phone FROM clients WHERE id = 7')" new
}

@test "AUTO_INCREMENT continues past the largest id written" {
	office_dev_prod
	my_sql dev <<<"INSERT INTO clients (id, name, created_at) VALUES (500, 'Far away', '2026-03-01 10:00:00');"
	run dbapply "$PROD" <(dbdump-rows "$DEV")
	assert_success
	my_sql prod <<<"INSERT INTO clients (name, created_at) VALUES ('Next', '2026-03-02 10:00:00');"
	assert_equal "$(my_sql prod <<<"SELECT id FROM clients WHERE name = 'Next'")" 501
}

cycle_schema() {
	my_sql "$1" <<-'SQL'
	CREATE TABLE staff (id INT PRIMARY KEY, store_id INT NOT NULL, boss INT NULL,
		FOREIGN KEY (boss) REFERENCES staff(id)) ENGINE=InnoDB;
	CREATE TABLE store (id INT PRIMARY KEY, manager INT NOT NULL,
		FOREIGN KEY (manager) REFERENCES staff(id)) ENGINE=InnoDB;
	ALTER TABLE staff ADD FOREIGN KEY (store_id) REFERENCES store(id);
	CREATE TABLE customer (id INT PRIMARY KEY, store_id INT NOT NULL,
		FOREIGN KEY (store_id) REFERENCES store(id)) ENGINE=InnoDB;
	SQL
}

@test "foreign-key cycles and self-references load in any key order; a dangling one is caught" {
	cycle_schema dev
	cycle_schema prod
	# Staff 1 reports to staff 3, a later row; stores and staff point at each other.
	my_sql dev <<-'SQL'
	SET foreign_key_checks = 0;
	INSERT INTO staff VALUES (1, 2, 3), (2, 1, NULL), (3, 1, 2);
	INSERT INTO store VALUES (1, 1), (2, 3);
	INSERT INTO customer VALUES (1, 2), (2, 1);
	SQL
	run dbapply "$PROD" <(dbdump-rows "$DEV")
	assert_success
	run dbdiff "$DEV" "$PROD"
	assert_success
	# A stream whose cycle member points nowhere: refused, nothing written.
	my_reset_db prod
	cycle_schema prod
	my_sql dev <<<"SET foreign_key_checks = 0; UPDATE staff SET boss = 42 WHERE id = 3;"
	run dbapply "$PROD" <(dbdump-rows "$DEV")
	assert_failure 2
	assert_output --partial 'foreign key violation: the row of "staff" with id=3 references a missing row of "staff"'
	assert_equal "$(my_sql prod <<<'SELECT (SELECT count(*) FROM staff) + (SELECT count(*) FROM store) + (SELECT count(*) FROM customer)')" 0
	# --dry-run reports it too (check_constraints).
	run dbapply --dry-run "$PROD" <(dbdump-rows "$DEV")
	assert_failure 2
	assert_output --partial 'foreign key violation'
}

@test "--rollback of a sync into foreign-key cycles restores the target; a table outside the cycles keeps the server's checks" {
	cycle_schema dev
	cycle_schema prod
	my_sql prod <<-'SQL'
	SET foreign_key_checks = 0;
	INSERT INTO staff VALUES (5, 5, 6), (6, 5, NULL);
	INSERT INTO store VALUES (5, 6);
	INSERT INTO customer VALUES (5, 5);
	SQL
	my_sql dev <<-'SQL'
	SET foreign_key_checks = 0;
	INSERT INTO staff VALUES (1, 2, 3), (2, 1, NULL), (3, 1, 2);
	INSERT INTO store VALUES (1, 1), (2, 3);
	INSERT INTO customer VALUES (1, 2), (2, 1);
	SQL
	dbdump-rows -o before.ndjson "$PROD"
	run dbapply --mirror "$PROD" <(dbdump-rows "$DEV")
	assert_success
	run dbdiff "$DEV" "$PROD"
	assert_success
	# The undo stream deletes dev's rows and puts prod's back, cycles and all.
	run dbapply --rollback "$PROD"
	assert_success
	run dbdiff before.ndjson "$PROD"
	assert_success
	# customer is in no cycle: the server refuses its dangling row itself.
	my_sql dev <<<"SET foreign_key_checks = 0; INSERT INTO customer VALUES (3, 42);"
	run dbapply "$PROD" <(dbdump-rows "$DEV")
	assert_failure 2
	assert_output --partial 'a foreign key constraint fails'
	assert_equal "$(my_sql prod <<<'SELECT count(*) FROM customer')" 1
}

@test "non-transactional tables are refused as a write target unless allowed" {
	for db in dev prod; do
		my_sql $db <<<"CREATE TABLE notes (id INT PRIMARY KEY, body TEXT) ENGINE=MyISAM;"
	done
	my_sql dev <<<"INSERT INTO notes VALUES (1, 'one'), (2, 'two');"
	run dbapply "$PROD" <(dbdump-rows "$DEV")
	assert_failure 2
	assert_output --partial 'table "notes" uses the non-transactional engine MyISAM'
	assert_equal "$(my_sql prod <<<'SELECT count(*) FROM notes')" 0
	# Reading one is fine.
	run dbdump-rows "$DEV"
	assert_success
	# A dry run could not take such writes back, so it refuses them even when allowed.
	run dbapply --dry-run --allow-non-transactional "$PROD" <(dbdump-rows "$DEV")
	assert_failure 2
	assert_output --partial 'table "notes" uses the non-transactional engine MyISAM'
	assert_equal "$(my_sql prod <<<'SELECT count(*) FROM notes')" 0
	run dbapply --allow-non-transactional "$PROD" <(dbdump-rows "$DEV")
	assert_success
	assert_equal "$(my_sql prod <<<'SELECT count(*) FROM notes')" 2
}

@test "SQLite -> MariaDB -> SQLite: after each sync dbdiff finds no differences" {
	office_db office.db
	office_schema dev
	run dbapply "$DEV" <(dbdump-rows office.db)
	assert_success
	run dbdiff office.db "$DEV"
	assert_success
	dbdump-rows -o a.ndjson office.db
	dbdump-rows -o b.ndjson "$DEV"
	run dbdiff a.ndjson b.ndjson
	assert_success
	assert_equal "$(grep -c '"type":"row"' b.ndjson)" 174
	# Change the MariaDB side, then bring SQLite up to it.
	my_sql dev <<-'SQL'
	UPDATE clients SET balance = 1234.5, vip = TRUE, phone = 'ünïcödé 😀' WHERE id = 3;
	INSERT INTO clients (name, created_at, referred_by) VALUES ('Client 101', '2026-03-01 10:00:00.000', 100);
	UPDATE documents SET content = UNHEX('00FF10') WHERE id = 5;
	DELETE FROM documents WHERE id = 7;
	SQL
	run dbdiff office.db "$DEV"
	assert_failure 1
	run dbapply --mirror office.db <(dbdump-rows "$DEV")
	assert_success
	run dbdiff office.db "$DEV"
	assert_success
	assert_equal "$(sqlite3 office.db 'SELECT phone, vip FROM clients WHERE id = 3')" "ünïcödé 😀|1"
	assert_equal "$(sqlite3 office.db 'SELECT hex(content) FROM documents WHERE id = 5')" "00FF10"
	assert_equal "$(sqlite3 office.db 'SELECT count(*) FROM documents')" 19
}

@test "sakila (the real MySQL sample database) dumps and syncs into an empty copy" {
	local data=$ROOT/../shared/datasets/sakila/mysql
	[ -f "$data/sakila-schema.sql" ] || skip "the datasets are not on this machine"
	sed 's/\bsakila\b/dev/g' "$data/sakila-schema.sql" | my_sql dev
	sed 's/\bsakila\b/dev/g' "$data/sakila-data.sql" | my_sql dev
	sed 's/\bsakila\b/prod/g' "$data/sakila-schema.sql" | my_sql prod
	run dbdump-rows -o dev.ndjson "$DEV"
	assert_success
	assert_equal "$(tail -n 1 dev.ndjson | jq -c '[.rows, .tables]')" '[47268,16]'
	# film's triggers fill film_text: leave film_text to them.
	run dbapply "$PROD" <(dbdump-rows -x film_text "$DEV")
	assert_success
	run dbdiff "$DEV" "$PROD"
	assert_success
}

@test "--disable-triggers is refused where a table has triggers: MySQL cannot turn them off in a transaction" {
	my_sql dev <<< "CREATE TABLE t (id INT PRIMARY KEY, v INT) ENGINE=InnoDB; INSERT INTO t VALUES (1, 1);"
	my_sql prod <<< "CREATE TABLE t (id INT PRIMARY KEY, v INT) ENGINE=InnoDB; CREATE TABLE audit (n INT) ENGINE=InnoDB;
		CREATE TRIGGER t_log AFTER INSERT ON t FOR EACH ROW INSERT INTO audit VALUES (NEW.id);"
	dbdump-rows "$DEV" > dev.ndjson
	run dbapply --disable-triggers "$PROD" dev.ndjson
	assert_failure 2
	assert_line 'dbapply: dev.ndjson:2: table "t" has triggers, and mysql cannot turn them off inside a transaction (drop --disable-triggers)'
	assert_equal "$(my_sql prod <<< 'SELECT count(*) FROM t')" 0
	# without it the trigger fires, and the sync says it will
	run dbapply "$PROD" dev.ndjson
	assert_success
	assert_line 'dbapply: warning: table "t" has triggers: they fire for every row written (--disable-triggers turns them off)'
	assert_equal "$(my_sql prod <<< 'SELECT n FROM audit')" 1
}

# Tables whose updates go in batches: keys near the ends of BIGINT and past
# 2^53, binary keys with zero and 0xFF bytes, text keys with quotes,
# backslashes and non-ASCII in a case-insensitive collation.
batch_schema() {
	my_sql "$1" <<-'SQL'
	CREATE TABLE nums (id BIGINT PRIMARY KEY, d DECIMAL(30,10), u BIGINT UNSIGNED, note VARCHAR(40), c CHAR(6),
		f FLOAT, at DATETIME(6), ts TIMESTAMP(3) NULL, bt BIT(10), e ENUM('x','y','z'), j JSON) ENGINE=InnoDB;
	CREATE TABLE blobs (k VARBINARY(16) PRIMARY KEY, v VARCHAR(20), b VARBINARY(10)) ENGINE=InnoDB;
	CREATE TABLE words (w VARCHAR(40) COLLATE utf8mb4_general_ci PRIMARY KEY, n INT, s TEXT) ENGINE=InnoDB;
	INSERT INTO nums (id, d, u, note, c, f, at, ts, bt, e, j)
		SELECT id, seq * 1.5, seq, CONCAT('n', seq), 'c', 1.5, '2020-01-01 00:00:00', '2020-01-01 00:00:00', b'1', 'x', '[]'
		FROM (SELECT seq, 9223372036854775807 - seq AS id FROM seq_0_to_499
		      UNION ALL SELECT seq, -9223372036854775807 - 1 + CAST(seq AS SIGNED) FROM seq_0_to_499
		      UNION ALL SELECT seq, 9007199254740992 - 250 + seq FROM seq_0_to_499) AS ids;
	INSERT INTO blobs SELECT UNHEX(CONCAT(IF(seq % 2, 'FF', '00'), LPAD(HEX(seq), 4, '0'), REPEAT('00', seq % 5))), 'v', 0x01
		FROM seq_0_to_999;
	INSERT INTO words SELECT CONCAT(ELT(seq % 6 + 1, 'it''s ', 'back\\slash ', 'ünï ', '😀 ', '"q" ', 'Plain '), seq), seq, 'old'
		FROM seq_0_to_999;
	SQL
}

# The values of every row, as the server holds them (bytes in hex).
batch_state() {
	my_sql "$1" <<-'SQL'
	SELECT id, d, u, HEX(note), HEX(c), f, at, ts, bt + 0, e, j FROM nums ORDER BY id;
	SELECT HEX(k), HEX(v), HEX(b) FROM blobs ORDER BY k;
	SELECT HEX(w), n, HEX(s) FROM words ORDER BY HEX(w);
	SQL
}

@test "thousands of updates of the same columns are written a batch at a time, exactly; rollback restores every value" {
	batch_schema dev
	batch_schema prod
	# Every column of every row changes: extreme decimals and unsigned values,
	# trailing spaces, NULLs (the first row in key order too), bytes.
	my_sql dev <<-'SQL'
	UPDATE nums SET d = CONCAT(IF(id % 2, '-', ''), '12345678901234567890.', LPAD(ABS(id % 10000000000), 10, '0')),
		u = 18446744073709551615 - ABS(id % 1000), note = CONCAT('it''s \\ "', id % 1000, '"  '), c = CONCAT('ç', id % 1000),
		f = 1.1, at = '2026-03-04 05:06:07.123456', ts = '2026-03-04 05:06:07.5', bt = 512 + ABS(id % 512), e = 'z',
		j = CONCAT('{"k": ', id % 1000, '}');
	UPDATE nums SET d = NULL, u = NULL, note = NULL, c = NULL, f = NULL, at = NULL, ts = NULL, bt = NULL, e = NULL, j = NULL
		WHERE id % 7 = 0 OR id = -9223372036854775807 - 1;
	UPDATE blobs SET v = CONCAT('v ', HEX(k), '  '), b = IF(LENGTH(k) % 2, NULL, CONCAT(0x00FF, k));
	-- The "Plain ..." rows, in the middle of the key order, change n alone.
	UPDATE words SET n = -n - 1, s = CONCAT('"', n, '" \\ it''s 😀  ') WHERE w NOT LIKE 'Plain %';
	UPDATE words SET n = n * 2 WHERE w LIKE 'Plain %';
	SQL
	batch_state prod > before
	run dbdiff -o changes.ndjson "$PROD" "$DEV"
	assert_failure 1
	assert_equal "$(grep -c '"type":"update"' changes.ndjson)" 3500
	status_of() { my_sql <<<"SHOW GLOBAL STATUS LIKE '$1'" | cut -f2; }
	local single=$(status_of Com_update) multi=$(status_of Com_update_multi)
	run dbapply "$PROD" changes.ndjson
	assert_success
	assert_line --regexp '^nums +0 +1500 +0$'
	assert_line --regexp '^words +0 +1000 +0$'
	# A statement per batch (a table, a set of columns, up to 1000 rows), not
	# per row: nums 1000 + 500, blobs 1000, words 166 + 166 ("Plain ...", n
	# alone) + 668.
	assert_equal "$(( $(status_of Com_update_multi) - multi ))" 6
	assert_equal "$(( $(status_of Com_update) - single ))" 0
	run dbdiff "$DEV" "$PROD"
	assert_success
	batch_state dev > expected
	batch_state prod > got
	diff -u expected got
	assert_equal "$(my_sql prod <<<"SELECT d, u, CONCAT('[', note, ']') FROM nums WHERE id = 9223372036854775806")" \
		"$(printf '%s\t' 12345678901234567890.6854775806 18446744073709550809)[it's \\\\ \"806\"  ]"
	assert_equal "$(my_sql prod <<<'SELECT count(*) FROM nums WHERE note IS NULL')" 217
	# The undo stream writes the old values back the same way.
	run dbapply --rollback "$PROD"
	assert_success
	batch_state prod > restored
	diff -u before restored
}

@test "an update whose row is gone from the target in the middle of a batch stops the run, names the key, changes nothing" {
	for db in dev prod; do
		my_sql $db <<-'SQL'
		CREATE TABLE owners (id INT PRIMARY KEY, name VARCHAR(20)) ENGINE=InnoDB;
		CREATE TABLE items (id BIGINT PRIMARY KEY, owner INT NOT NULL, note VARCHAR(40),
			FOREIGN KEY (owner) REFERENCES owners (id)) ENGINE=InnoDB;
		INSERT INTO owners VALUES (1, 'Ann');
		INSERT INTO items SELECT 9223372036854775807 - 2000 + seq, 1, 'old' FROM seq_1_to_2000;
		SQL
	done
	my_sql dev <<<"UPDATE owners SET name = 'Bob'; UPDATE items SET note = CONCAT('new ', id);"
	run dbdiff -o changes.ndjson "$PROD" "$DEV"
	assert_failure 1
	# While the sync runs, row 9223372036854775000 (the 1193rd update of
	# items) goes: here a trigger of owners, written first, deletes it, as
	# another session could.
	my_sql prod <<-'SQL'
	CREATE TRIGGER owner_renamed AFTER UPDATE ON owners FOR EACH ROW DELETE FROM items WHERE id = 9223372036854775000;
	SQL
	dump_body "$PROD" > before
	run dbapply "$PROD" changes.ndjson
	assert_failure 2
	assert_output --partial 'table "items", updating the row with id=9223372036854775000: no row with this key in the target (it changed since the diff)'
	refute_output --partial 'id=9223372036854774999'
	assert_line --partial 'nothing was written to'
	dump_body "$PROD" > after
	diff -u before after
	assert_equal "$(my_sql prod <<<"SELECT count(*) FROM items WHERE note = 'old'")" 2000
	assert_equal "$(my_sql prod <<<'SELECT name FROM owners')" Ann
}

@test "three-way merge: prod's edit stays, a key both sides' AUTO_INCREMENT gave out is a collision held back with its case" {
	office_dev_prod
	dbdump-rows "$DEV" | dbapply "$PROD" > /dev/null # the sync base
	my_sql prod <<-'SQL'
	INSERT INTO clients (name, created_at) VALUES ('Lucia', '2026-03-03 11:00:00');
	UPDATE clients SET vip = 1 WHERE id = 11;
	SQL
	my_sql dev <<-'SQL'
	INSERT INTO clients (name, created_at) VALUES ('Giovanni', '2026-03-03 12:00:00');
	INSERT INTO cases (client_id, type_id, title, opened) VALUES (101, 1, 'Giovanni case', '2026-03-04');
	UPDATE clients SET phone = 'dev phone' WHERE id = 12;
	SQL
	for pass in 1 2; do
		run sh -c "dbdump-rows '$DEV' | dbapply '$PROD'"
		assert_failure 1
		assert_output --partial 'table "clients" at key {"id":101}: collision: the stream and the target each created this key for another row ("name": stream "Giovanni", target "Lucia";'
		assert_output --partial 'table "cases" at key {"id":51}: held back: it refers to table "clients" at {"id":101}'
	done
	assert_line --regexp '^total +0 +0 +0$' # the second pass: nothing else to do
	assert_equal "$(echo 'SELECT name FROM clients WHERE id = 101' | my_sql prod)" Lucia
	assert_equal "$(echo 'SELECT vip FROM clients WHERE id = 11' | my_sql prod)" 1
	assert_equal "$(echo 'SELECT phone FROM clients WHERE id = 12' | my_sql prod)" "dev phone"
	assert_equal "$(echo 'SELECT count(*) FROM cases WHERE id = 51' | my_sql prod)" 0
	echo "INSERT INTO clients (name, created_at) VALUES ('Next', NOW())" | my_sql prod
	assert_equal "$(echo "SELECT id FROM clients WHERE name = 'Next'" | my_sql prod)" 102
}

@test "a batched insert that fails names the table, key and line of its own row, not of a later one" {
	for d in dev prod; do
		my_sql "$d" <<<"CREATE TABLE a (id INT PRIMARY KEY, n INT) ENGINE=InnoDB;
			CREATE TABLE b (id INT PRIMARY KEY, a_id INT, t TEXT, FOREIGN KEY (a_id) REFERENCES a(id)) ENGINE=InnoDB;"
	done
	my_sql prod <<<"ALTER TABLE a ADD CONSTRAINT small CHECK (n < 1000);"
	my_sql dev <<<"INSERT INTO a SELECT seq, seq FROM seq_1_to_150; UPDATE a SET n = 5000 WHERE id = 100;
		INSERT INTO b SELECT seq, seq, 'x' FROM seq_1_to_10;"
	dbdump-rows "$DEV" > s.ndjson
	line=$(grep -n '"table":"a","row":{"id":100,' s.ndjson | cut -d: -f1)
	run dbapply "$PROD" s.ndjson
	assert_failure 2
	assert_output --partial "s.ndjson:$line: table \"a\" at key {\"id\":100}: insert failed: table \"a\", inserting the row with id=100"
	refute_output --partial 'table "b"'
}

@test "a row another session changes after dbapply read it is not written over: dbapply locks what it read, the other write waits and comes after" {
	for d in dev prod; do
		my_sql "$d" <<<"CREATE TABLE a (id INT PRIMARY KEY, v TEXT) ENGINE=InnoDB; CREATE TABLE b (id INT PRIMARY KEY, v TEXT) ENGINE=InnoDB;
			INSERT INTO a SELECT seq, CONCAT('a', seq) FROM seq_1_to_10;
			INSERT INTO b SELECT seq, CONCAT(REPEAT('b', 60), seq) FROM seq_1_to_20000;"
	done
	my_sql dev <<<"UPDATE a SET v = 'from dev' WHERE id = 5"
	dbdump-rows "$DEV" > s.ndjson
	# the stream through "a" and well into "b" (past what the reader buffers), then a pause
	upto=$(grep -n '"table":"b","row":{"id":10000,' s.ndjson | cut -d: -f1)
	mkfifo in gate
	{ head -n "$upto" s.ndjson; cat gate > /dev/null; tail -n +"$((upto + 1))" s.ndjson; } > in &
	dbapply --prefer source "$PROD" in > out 2> err &
	apply=$!
	trx() { my_sql <<<"SELECT count(*) FROM information_schema.INNODB_TRX WHERE $1"; }
	for _ in $(seq 1 100); do
		[ "$(trx 'trx_rows_locked >= 10')" -ge 1 ] && break
		sleep 0.1
	done
	my_sql prod <<<"UPDATE a SET v = 'another session' WHERE id = 5" &
	other=$!
	for _ in $(seq 1 100); do
		[ "$(trx "trx_state = 'LOCK WAIT'")" -ge 1 ] && break
		sleep 0.1
	done
	assert_equal "$(trx "trx_state = 'LOCK WAIT'")" 1 # the other session waits for dbapply
	echo go > gate
	rc=0
	wait "$apply" || rc=$?
	assert_equal "$rc" 0
	wait "$other"
	assert_equal "$(my_sql prod <<<'SELECT v FROM a WHERE id = 5')" "another session"
}

@test "--rekey: ids both sides' AUTO_INCREMENT gave out: dev's row goes in under a new id, its case follows" {
	office_dev_prod
	dbdump-rows "$DEV" | dbapply "$PROD" > /dev/null # the sync base
	my_sql prod <<<"INSERT INTO clients (name, created_at) VALUES ('Lucia', '2026-03-03 11:00:00');"
	my_sql dev <<<"INSERT INTO clients (name, created_at) VALUES ('Giovanni', '2026-03-03 12:00:00');
		INSERT INTO cases (client_id, type_id, title, opened) VALUES (101, 1, 'Giovanni case', '2026-03-04');"
	run sh -c "dbdump-rows '$DEV' | dbapply --rekey '$PROD'"
	assert_success
	assert_output --partial 'table "clients" at key {"id":101}: collision: inserted as {"id":102} (--rekey)'
	assert_equal "$(my_sql prod <<<"SELECT client_id FROM cases WHERE title = 'Giovanni case'")" 102
	assert_equal "$(my_sql prod <<<"SELECT name FROM clients WHERE id = 101")" Lucia
	run sh -c "dbdump-rows '$DEV' | dbapply '$PROD'"
	assert_success
	assert_line --regexp '^total +0 +0 +0$'
	my_sql prod <<<"INSERT INTO clients (name, created_at) VALUES ('Next', NOW())"
	assert_equal "$(my_sql prod <<<"SELECT id FROM clients WHERE name = 'Next'")" 103
}

@test "--subset on MariaDB: the slice of one client equals the SQLite one and loads into an empty database with every foreign key" {
	office_db office.db
	office_schema dev
	office_schema prod
	dbdump-rows office.db | dbapply "$DEV" >/dev/null
	run dbdump-rows --subset 'clients:id = 10' -o slice.ndjson "$DEV"
	assert_success
	dbdump-rows --subset 'clients:id = 10' -o slice-sqlite.ndjson office.db
	# client 10, who referred them, their cases and documents: the same rows as from SQLite
	run dbdiff slice-sqlite.ndjson slice.ndjson
	assert_success
	assert_equal "$(jq -c 'select(.type == "row" and .table == "clients") | .row.id' slice.ndjson | sort -n | head -2 | tr '\n' ' ')" "10 20 "
	run dbapply "$PROD" slice.ndjson
	assert_success
	assert_equal "$(my_sql prod <<< 'SELECT count(*) FROM cases')" "$(jq -c 'select(.type == "row" and .table == "cases")' slice.ndjson | wc -l)"
	run --separate-stderr dbdump-rows --subset 'clients:no_such = 1' "$DEV"
	assert_failure 2
	[[ "$stderr" == *"Unknown column 'no_such'"* ]]
}

@test "sakila: a film dev added syncs although prod's trigger already made its film_text row; merge and mirror, then dbdiff finds nothing" {
	local data=$ROOT/../shared/datasets/sakila/mysql
	[ -f "$data/sakila-schema.sql" ] || skip "shared/datasets is absent (a user's clone has no shared/)"
	sed 's/\bsakila\b/dev/g' "$data/sakila-schema.sql" | my_sql dev
	sed 's/\bsakila\b/dev/g' "$data/sakila-data.sql" | my_sql dev
	sed 's/\bsakila\b/prod/g' "$data/sakila-schema.sql" | my_sql prod
	sed 's/\bsakila\b/prod/g' "$data/sakila-data.sql" | my_sql prod
	# dev's own trigger makes dev's film_text row; dev then edits its description
	my_sql dev <<-'SQL'
	INSERT INTO film (film_id, title, description, language_id) VALUES (1001, 'NEW FILM', 'A new film', 1);
	UPDATE film_text SET description = 'Edited in dev' WHERE film_id = 1001;
	SQL
	run dbapply "$PROD" <(dbdump-rows "$DEV")
	assert_success
	assert_line "1 row made by a trigger during this sync written over with the stream's values"
	assert_equal "$(my_sql prod <<< 'SELECT description FROM film_text WHERE film_id = 1001')" "Edited in dev"
	run dbdiff "$DEV" "$PROD"
	assert_success
	# and a mirror of another new film
	my_sql dev <<< "INSERT INTO film (film_id, title, description, language_id) VALUES (1002, 'SECOND', 'Another', 1)"
	run dbapply --mirror --yes "$PROD" <(dbdump-rows "$DEV")
	assert_success
	run dbdiff "$DEV" "$PROD"
	assert_success
}

@test "YEAR 0000 stays 0000 (MySQL reads the string '0' as 2000)" {
	my_sql dev <<< "CREATE TABLE t (id INT PRIMARY KEY, yr YEAR); INSERT INTO t VALUES (1, 0), (2, 2000), (3, 1999);"
	my_sql prod <<< "CREATE TABLE t (id INT PRIMARY KEY, yr YEAR);"
	run dbapply "$PROD" <(dbdump-rows "$DEV")
	assert_success
	assert_equal "$(my_sql prod <<< 'SELECT yr FROM t ORDER BY id' | tr '\n' ' ')" "0000 2000 1999 "
	run dbdiff "$DEV" "$PROD"
	assert_success
}

# The reported case, in dev: a column (with a value), an index, a table
# with a foreign key (and rows).
reported_schema_change() {
	my_sql dev <<-'SQL'
	ALTER TABLE clients ADD COLUMN vip_since DATE NULL;
	CREATE INDEX clients_email ON clients (email);
	CREATE TABLE notes (
		id INT AUTO_INCREMENT PRIMARY KEY,
		case_id INT NOT NULL,
		body VARCHAR(200) NOT NULL DEFAULT 'n/a',
		CONSTRAINT notes_case FOREIGN KEY (case_id) REFERENCES cases(id) ON DELETE CASCADE
	) ENGINE=InnoDB;
	UPDATE clients SET vip_since = '2026-01-01' WHERE id = 3;
	INSERT INTO notes (case_id, body) VALUES (1, 'first'), (2, 'second');
	SQL
}

@test "a schema change in dev (a column, an index, a table with a foreign key): dbdiff --schema names each, a sync refuses, --schema brings schema and rows" {
	office_dev_prod
	reported_schema_change
	run --separate-stderr dbdiff --schema --stat "$PROD" "$DEV"
	assert_failure 1
	assert_equal "$stderr" 'column "clients"."vip_since" (date, date) is only in NEW
index "clients_email" on "clients" (email) is only in NEW
table "notes" (3 columns) is only in NEW
3 schema differences'
	[ "$(echo "$output" | jq -r 'select(.type == "schema") | .change' | tr '\n' ' ')" = "add_column add_index add_table " ]
	[ "$(echo "$output" | jq -c 'select(.change == "add_table") | .new.references')" = '[{"columns":["case_id"],"table":"cases","to":["id"],"on_delete":"CASCADE"}]' ]
	dbdump-rows "$PROD" | tail -n +2 > before
	run --separate-stderr dbapply "$PROD" < <(dbdump-rows "$DEV")
	assert_failure 2
	assert_equal "$stderr" 'dbapply: <stdin>:3: unknown column "vip_since" in table "clients"
dbapply: <stdin>:6: unknown table "notes" (the target has no such table)
dbapply: <stdin>:3: index "clients_email" on "clients" (email) is only in the stream
dbapply: the target lacks 1 table and 1 column of the stream: dbapply --schema adds them (and the indexes and foreign keys above), nothing was changed
dbapply: nothing was written to mysql://dbpipe@127.0.0.1:'"$MY_PORT"'/prod'
	dbdump-rows "$PROD" | tail -n +2 > after
	diff -u before after
	# a dry run shows the DDL and runs none of it (MySQL would commit it);
	# the rows are checked against the schema it would make and counted
	run dbapply --dry-run --schema "$PROD" < <(dbdump-rows "$DEV")
	assert_success
	assert_line 'dbapply: schema: ALTER TABLE `clients` ADD COLUMN `vip_since` date; (not run: dry run)'
	assert_line --partial 'rows checked against the schema changes above as planned, not tried on the server'
	assert_line --regexp '^notes +2 +0 +0$'
	assert_line --regexp '^clients +0 +1 +0$'
	assert_equal "$(my_sql prod <<< "SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'prod' AND TABLE_NAME = 'notes'")" 0
	run dbapply --schema "$PROD" < <(dbdump-rows "$DEV")
	assert_success
	assert_line 'dbapply: schema: CREATE TABLE `notes` (`id` int(11) AUTO_INCREMENT NOT NULL, `case_id` int(11) NOT NULL, `body` varchar(200) NOT NULL DEFAULT '"'n/a'"', PRIMARY KEY (`id`));'
	assert_line 'dbapply: schema: CREATE INDEX `clients_email` ON `clients` (`email`);'
	assert_same_rows_and_schema "$DEV" "$PROD"
	assert_equal "$(my_sql prod <<< 'SELECT vip_since FROM clients WHERE id = 3')" 2026-01-01
	# --rollback restores the rows, then drops what the sync made (after the
	# rows' commit: MySQL commits DDL by itself)
	run dbapply --rollback "$PROD"
	assert_success
	assert_line 'dbapply: schema: DROP INDEX `clients_email` ON `clients`; (after the rows'"'"' commit)'
	assert_line 'dbapply: schema: ALTER TABLE `clients` DROP COLUMN `vip_since`; (after the rows'"'"' commit)'
	assert_line 'dbapply: schema: DROP TABLE `notes`; (after the rows'"'"' commit)'
	dbdump-rows "$PROD" | tail -n +2 > rolled
	diff -u before rolled
	run dbapply --schema "$PROD" < <(dbdump-rows "$DEV")
	assert_success
	# the foreign key is enforced, with its action; AUTO_INCREMENT is past the data
	assert_equal "$(my_sql prod <<< 'INSERT INTO notes (case_id) VALUES (1); SELECT LAST_INSERT_ID()')" 3
	run my_sql prod <<< 'INSERT INTO notes (case_id) VALUES (9999)'
	assert_failure
	my_sql prod <<< 'DELETE FROM documents WHERE case_id = 1; DELETE FROM cases WHERE id = 1'
	assert_equal "$(my_sql prod <<< 'SELECT group_concat(id) FROM notes')" 2
}

@test "--schema on MariaDB: when the rows fail, the schema step is undone and says so" {
	office_dev_prod
	my_sql dev <<-'SQL'
	ALTER TABLE clients ADD COLUMN code VARCHAR(10) NULL;
	CREATE TABLE notes (id INT PRIMARY KEY, case_id INT NOT NULL, FOREIGN KEY (case_id) REFERENCES cases(id)) ENGINE=InnoDB;
	INSERT INTO notes VALUES (1, 1);
	UPDATE clients SET email = 'same@example.com' WHERE id IN (1, 2);
	SQL
	# prod holds emails unique: dev's rows cannot go in
	my_sql prod <<< 'CREATE UNIQUE INDEX clients_email_u ON clients (email)'
	my_sql prod <<< 'SHOW CREATE TABLE clients' > before
	run --separate-stderr dbapply --prefer source --schema "$PROD" < <(dbdump-rows "$DEV")
	assert_failure 2
	[[ "$stderr" == *"Duplicate entry 'same@example.com'"* ]]
	[[ "$stderr" == *'dbapply: schema undone: DROP TABLE `notes`;'* ]]
	[[ "$stderr" == *'dbapply: schema undone: ALTER TABLE `clients` DROP COLUMN `code`;'* ]]
	[[ "$stderr" == *"the schema step is undone: mysql://dbpipe@127.0.0.1:$MY_PORT/prod is as before"* ]]
	my_sql prod <<< 'SHOW CREATE TABLE clients' > after
	diff -u before after
	assert_equal "$(my_sql prod <<< "SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'prod' AND TABLE_NAME = 'notes'")" 0
}

@test "--schema: a fresh install into an empty MariaDB database, foreign keys enforced; SQLite's TEXT in an index is refused by name" {
	office_db office.db
	run dbapply --schema "$PROD" < <(dbdump-rows office.db)
	assert_failure 2
	assert_output --partial '<stdin>:2: --schema: table "case_types": column "name" is text without a length (TEXT) in a key, an index or a foreign key: MySQL cannot index TEXT'
	assert_equal "$(my_sql prod <<< "SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'prod'")" 0
	office_schema dev
	dbapply "$DEV" < <(dbdump-rows office.db) > /dev/null
	run dbapply --schema "$PROD" < <(dbdump-rows "$DEV")
	assert_success
	assert_same_rows_and_schema "$DEV" "$PROD"
	run my_sql prod <<< "INSERT INTO cases (client_id, type_id, title, opened) VALUES (9999, 1, 'x', '2026-01-01')"
	assert_failure
	assert_equal "$(my_sql prod <<< "INSERT INTO clients (name, created_at) VALUES ('n', NOW()); SELECT max(id) FROM clients")" 101
}

@test "composite keys: what dbapply reads and deletes by key uses the primary key's ranges (EXPLAIN), never a walk of the whole index" {
	# dbpipe writes no range condition over a key ((a,b) > (x,y), which
	# MariaDB 10.11 answers by walking the whole index): its look-ups and
	# deletes by key are (a,b) IN ((x,y),...), checked here on the server.
	my_sql dev <<-SQL
	CREATE TABLE items (order_id BIGINT NOT NULL, line INT NOT NULL, sku VARCHAR(20) NOT NULL,
		PRIMARY KEY (order_id, line)) ENGINE=InnoDB;
	INSERT INTO items SELECT seq DIV 3, seq MOD 3, CONCAT('s', seq) FROM seq_1_to_30000;
	SQL
	my_sql prod <<-SQL
	CREATE TABLE items LIKE dev.items;
	INSERT INTO items SELECT * FROM dev.items;
	ANALYZE TABLE items;
	SQL
	dbdump-rows "$DEV" > before.ndjson
	my_sql dev <<< "UPDATE items SET sku = 'x' WHERE order_id % 1000 = 1; DELETE FROM items WHERE order_id % 1000 = 2"
	run dbdiff before.ndjson "$DEV"
	assert_failure 1
	echo "$output" > changes.ndjson
	my_sql <<< "SET GLOBAL general_log_file = '$MY_DIR/general.log'; SET GLOBAL general_log = 1"
	dbapply -q --no-undo --mirror "$PROD" changes.ndjson
	my_sql <<< "SET GLOBAL general_log = 0"
	# the statements with the key's tuple: look-ups (SELECT ... FOR UPDATE) and deletes
	sed -n 's/.*\(Query\|Execute\)\t\(\(SELECT\|DELETE\) .* WHERE (`order_id`,`line`) IN .*\)$/\2/p' \
		"$MY_DIR/general.log" > keyed.sql
	grep -q '^SELECT' keyed.sql
	grep -q '^DELETE' keyed.sql
	while IFS= read -r stmt; do
		my_sql prod <<< "EXPLAIN $stmt" > plan.txt
		# id, select_type, table, type: range over PRIMARY
		awk -F '\t' '$3 == "items" && !($4 == "range" && $6 == "PRIMARY") { print "not a range of PRIMARY: " $0; bad = 1 } END { exit bad }' plan.txt
	done < keyed.sql
}

# Database $1 as SHOW CREATE TABLE and its rows, table by table in name
# order, rows ordered by every column: two databases made alike print alike.
my_snapshot() {
	local t n
	for t in $(my_sql "$1" <<< 'SHOW TABLES' | sort); do
		my_sql "$1" <<< "SHOW CREATE TABLE \`$t\`"
		n=$(my_sql "$1" <<< "SELECT count(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '$1' AND TABLE_NAME = '$t'")
		my_sql "$1" <<< "SELECT * FROM \`$t\` ORDER BY $(seq -s, 1 "$n")"
	done
	my_sql "$1" <<< "SELECT TRIGGER_NAME, EVENT_MANIPULATION, EVENT_OBJECT_TABLE, ACTION_TIMING, ACTION_STATEMENT
		FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = '$1' ORDER BY 1"
}

# dev, prod and viaclient (where a script is run) hold the office example.
office_dev_prod_copy() {
	office_db office.db
	dbdump-rows office.db > office.ndjson
	my_reset_db viaclient
	for db in dev prod viaclient; do
		office_schema $db
		dbapply "mysql://dbpipe@127.0.0.1:$MY_PORT/$db" office.ndjson > /dev/null
	done
}

# The databases named hold what dev lacks: a column with values, a table
# with rows and a foreign key.
office_prod_extra() {
	local db
	for db in "$@"; do
		my_sql $db <<-'SQL'
		ALTER TABLE clients ADD COLUMN legacy_code VARCHAR(20) NULL;
		UPDATE clients SET legacy_code = CONCAT('L', id) WHERE id % 3 = 0;
		CREATE TABLE old_notes (
			id INT AUTO_INCREMENT PRIMARY KEY,
			client_id INT NULL,
			body VARCHAR(200) NOT NULL DEFAULT 'x',
			CONSTRAINT old_notes_client FOREIGN KEY (client_id) REFERENCES clients(id)
		) ENGINE=InnoDB;
		INSERT INTO old_notes (client_id, body) VALUES (3, 'hello'), (NULL, 'bye');
		SQL
	done
}

@test "--sql on MariaDB: the script of a --mirror run (a cycle, geometry, NUL and backslashes), run by mariadb, makes what dbapply makes; and of a --schema run into an empty database" {
	my_reset_db viaclient
	local schema='CREATE TABLE t (id int AUTO_INCREMENT PRIMARY KEY, b varbinary(20), n decimal(40,9), f double, r float,
		ts timestamp(6) NULL, dt datetime, tx text, e enum('"'a','b'"'), bo tinyint(1), bi bit(3), y year, g geometry NULL) ENGINE=InnoDB;
	CREATE TABLE c (id int PRIMARY KEY, t_id int, parent int, FOREIGN KEY (parent) REFERENCES c(id),
		FOREIGN KEY (t_id) REFERENCES t(id)) ENGINE=InnoDB;'
	for db in dev prod viaclient; do my_sql $db <<< "$schema"; done
	my_sql dev <<-'SQL'
	INSERT INTO t VALUES (1, X'00ff275c', 12345678901234567890.123456789, 0.1, 1.1, '2020-01-01 10:00:00.5',
		'1999-12-31 23:59:59', 'O''Br\\ien\nx\0y; -- z', 'b', 1, b'101', 2024, ST_GeomFromText('POINT(1 2)', 4326)),
		(2, '', 0, 1.7976931348623157e308, 3.4e38, NULL, NULL, '', 'a', 0, b'0', 0, NULL);
	INSERT INTO c VALUES (1, 1, NULL), (2, 2, 1);
	UPDATE c SET parent = 2 WHERE id = 1;
	SQL
	for db in prod viaclient; do my_sql $db <<< "INSERT INTO t (id, tx) VALUES (1, 'old'), (3, 'gone');"; done
	dbdump-rows "$DEV" > s.ndjson
	run --separate-stderr dbapply --mirror --sql "$PROD" s.ndjson
	assert_success
	printf '%s\n' "$output" > script.sql
	assert_line 'SET NAMES utf8mb4;'
	assert_line 'START TRANSACTION;'
	assert_line --partial "\`g\` = ST_GeomFromText('POINT(1 2)', 4326)"
	assert_line 'SET foreign_key_checks = 0;'
	assert_line "DELETE FROM \`t\` WHERE \`id\` = '3';"
	assert_line 'COMMIT;'
	assert_equal "$(my_sql prod <<< 'SELECT count(*) FROM t; SELECT count(*) FROM c' | tr '\n' ' ')" "2 0 "
	my_sql viaclient < script.sql
	dbapply --mirror "$PROD" s.ndjson > /dev/null 2>&1
	run dbdiff "$PROD" "mysql://dbpipe@127.0.0.1:$MY_PORT/viaclient"
	assert_success
	run dbdiff "$DEV" "mysql://dbpipe@127.0.0.1:$MY_PORT/viaclient"
	assert_success
	assert_equal "$(my_sql viaclient <<< "SELECT HEX(tx) FROM t WHERE id = 1")" "4F2742725C69656E0A7800793B202D2D207A"
	# into empty databases: the tables made before the rows (MariaDB would
	# commit them at once, so the rows are checked against them as planned);
	# the client makes from the script what dbapply --schema makes
	my_reset_db prod
	my_reset_db viaclient
	run --separate-stderr dbapply --sql --schema "$PROD" s.ndjson
	assert_success
	printf '%s\n' "$output" > script.sql
	assert_line --partial 'CREATE TABLE `c` ('
	assert_equal "$(my_sql prod <<< 'SHOW TABLES')" ""
	MYSQL_PWD= "$MY_CLIENT" --no-defaults -S "$MY_SOCK" -u root --batch viaclient < script.sql
	dbapply --schema "$PROD" s.ndjson > /dev/null 2>&1
	my_snapshot prod > prod-after
	my_snapshot viaclient > viaclient-after
	diff -u prod-after viaclient-after
	run dbdiff "$DEV" "mysql://dbpipe@127.0.0.1:$MY_PORT/viaclient"
	assert_success
}

@test "--sql --schema on MariaDB, the reported case (a column, an index, a table with a foreign key and a trigger): the schema step, the rows, the trigger after the commit; mariadb --batch on a copy of prod makes what dbapply makes; the checks still refuse" {
	office_dev_prod_copy
	reported_schema_change
	my_sql dev <<-'SQL'
	ALTER TABLE clients ADD COLUMN tier VARCHAR(10) NOT NULL DEFAULT 'basic';
	UPDATE clients SET tier = 'gold' WHERE id = 3;
	UPDATE clients SET phone = '+1 555 0004' WHERE id = 4;
	INSERT INTO clients (id, name, created_at, tier) VALUES (500, 'New; client', '2026-02-02 10:00:00', 'basic');
	INSERT INTO notes (case_id, body) VALUES (2, 'it''s third');
	DELIMITER //
	CREATE TRIGGER notes_body BEFORE INSERT ON notes FOR EACH ROW
	BEGIN IF NEW.body = '' THEN SET NEW.body = 'empty; note'; END IF; END//
	DELIMITER ;
	SQL
	my_snapshot prod > prod-before
	run --separate-stderr dbapply --prefer source --sql --schema "$PROD" < <(dbdump-rows "$DEV")
	assert_success
	printf '%s\n' "$output" > script.sql
	assert_line -- '-- mysql commits each DDL statement by itself, so this script is not atomic: the rows'
	assert_line -- '-- The rows were checked against the schema the statements before them make, not tried'
	# the schema step, then the rows, then the trigger, in the order dbapply runs them
	[ "$(grep -n -e '^CREATE TABLE `notes`' -e '^ALTER TABLE `clients` ADD COLUMN `vip_since`' -e '^CREATE INDEX `clients_email`' \
		-e '^ALTER TABLE `notes` ADD CONSTRAINT' -e '^START TRANSACTION;' -e '^INSERT INTO `notes`' -e '^COMMIT;' \
		-e '^CREATE TRIGGER `notes_body`' script.sql | cut -d: -f2- | cut -c1-20 | uniq | tr '\n' '|')" = \
		'CREATE TABLE `notes`|ALTER TABLE `clients|CREATE INDEX `client|ALTER TABLE `notes` |START TRANSACTION;|INSERT INTO `notes` |COMMIT;|CREATE TRIGGER `note|' ]
	assert_line --partial "UPDATE \`clients\` SET \`vip_since\` = '2026-01-01',\`tier\` = 'gold' WHERE \`id\` = '3';"
	assert_line --partial "'it''s third'"
	assert_line --partial "UPDATE \`clients\` SET \`phone\` = '+1 555 0004' WHERE \`id\` = '4';"
	# nothing was written, the schema included
	my_snapshot prod > prod-after-sql
	diff -u prod-before prod-after-sql
	# the client makes from the script on a copy of prod what dbapply makes on prod
	MYSQL_PWD= "$MY_CLIENT" --no-defaults -S "$MY_SOCK" -u root --batch viaclient < script.sql
	run dbapply --prefer source --schema "$PROD" < <(dbdump-rows "$DEV")
	assert_success
	my_snapshot prod > prod-after
	my_snapshot viaclient > viaclient-after
	diff -u prod-after viaclient-after
	grep -q 'vip_since' viaclient-after
	grep -q 'notes_body' viaclient-after
	run dbdiff "$DEV" "mysql://dbpipe@127.0.0.1:$MY_PORT/viaclient"
	assert_success
	# the checks of the rows run against the schema as it would be: an edit
	# on both sides since the last sync is reported and left out of the
	# script, as dbapply leaves it out
	my_sql dev <<< "ALTER TABLE clients ADD COLUMN nick VARCHAR(20) NULL; UPDATE clients SET phone = 'dev6', nick = 'six' WHERE id = 6; UPDATE clients SET nick = 'seven' WHERE id = 7"
	my_sql prod <<< "UPDATE clients SET phone = 'prod6' WHERE id = 6"
	my_snapshot prod > prod-before
	run --separate-stderr dbapply --sql --schema "$PROD" < <(dbdump-rows "$DEV")
	assert_failure 1
	[[ "$stderr" == *'table "clients" at key {"id":6}: the stream and the target hold other rows under this key'* ]]
	[[ "$stderr" == *'table "clients" at key {"id":7}: held back'* ]]
	assert_line 'ALTER TABLE `clients` ADD COLUMN `nick` varchar(20);'
	refute_output --partial 'dev6'
	refute_output --partial 'seven'
	my_snapshot prod > prod-after-sql
	diff -u prod-before prod-after-sql
	# a column the schema step cannot add is refused by name: no script, nothing made
	my_sql dev <<< "ALTER TABLE clients ADD COLUMN code INT NOT NULL"
	run --separate-stderr dbapply --sql --schema "$PROD" < <(dbdump-rows "$DEV")
	assert_failure 2
	assert_output ""
	[[ "$stderr" == *'--schema: column "clients"."code" is NOT NULL without a default'* ]]
	my_snapshot prod > prod-after-sql
	diff -u prod-before prod-after-sql
	# tables of another engine's stream: their MySQL types are known only once made
	my_reset_db prod
	sqlite3 small.db "CREATE TABLE t (id INTEGER PRIMARY KEY, v VARCHAR(10)); INSERT INTO t VALUES (1, 'a');"
	run --separate-stderr dbapply --sql --schema "$PROD" < <(dbdump-rows small.db)
	assert_failure 2
	assert_output ""
	[[ "$stderr" == *"--sql: the schema step would make tables or columns of a sqlite stream, which mysql commits by itself"* ]]
	assert_equal "$(my_sql prod <<< 'SHOW TABLES')" ""
}

# dev: store <-> staff, a foreign-key cycle NOT NULL both ways (as
# Sakila's), node, which refers to itself, and kinds, which store refers
# to and which refers to node; devonly keeps a dump with -x devonly from
# holding every table of dev.
cycle_my_dev() {
	my_sql dev <<-'SQL'
	SET foreign_key_checks = 0;
	CREATE TABLE kinds (id int PRIMARY KEY, name varchar(20) NOT NULL, best_node int);
	CREATE TABLE store (id int PRIMARY KEY, manager int NOT NULL, kind int NOT NULL REFERENCES kinds (id));
	CREATE TABLE staff (id int PRIMARY KEY, store int NOT NULL REFERENCES store (id));
	CREATE TABLE node (id int PRIMARY KEY, parent int REFERENCES node (id));
	CREATE TABLE devonly (id int PRIMARY KEY);
	ALTER TABLE store ADD FOREIGN KEY (manager) REFERENCES staff (id);
	ALTER TABLE kinds ADD FOREIGN KEY (best_node) REFERENCES node (id);
	INSERT INTO node VALUES (1, NULL), (2, 1), (3, 2);
	INSERT INTO kinds VALUES (1, 'big', NULL), (2, 'small', 3);
	INSERT INTO store VALUES (1, 10, 1), (2, 20, 2);
	INSERT INTO staff VALUES (10, 1), (20, 2), (21, 1);
	SQL
}

# Schema and rows of database $1 as mariadb-dump writes them.
my_dump() {
	MYSQL_PWD='' "$(my_find mariadb-dump mysqldump)" --no-defaults -S "$MY_SOCK" -u root --skip-dump-date \
		--skip-comments "$1"
}

@test "--rollback of --schema on MariaDB drops the tables it made after the rows' commit: a NOT NULL cycle and a self-reference, into an empty database and beside the target's own tables (a foreign key and a row of those that the made ones refer to); the target is exactly as before" {
	cycle_my_dev
	my_dump prod > before.sql
	run dbapply --schema "$PROD" < <(dbdump-rows "$DEV")
	assert_success
	assert_line --regexp '^total +10 +0 +0$'
	run dbapply --rollback "$PROD"
	assert_success
	assert_line 'dbapply: schema: ALTER TABLE `staff` DROP FOREIGN KEY `staff_store_fkey`; (after the rows'"'"' commit)'
	assert_line 'dbapply: schema: DROP TABLE `store`; (after the rows'"'"' commit)'
	my_dump prod > after.sql
	diff -u before.sql after.sql
	assert_equal "$(my_sql prod <<< 'SHOW TABLES')" ""
	# beside prod's own tables: kinds (row 2 is the run's, and store's row 2
	# refers to it; the run gives it a foreign key into node) and notes
	my_reset_db prod
	my_sql prod <<-'SQL'
	CREATE TABLE kinds (id int PRIMARY KEY, name varchar(20) NOT NULL, best_node int);
	CREATE TABLE notes (id int PRIMARY KEY, body text);
	INSERT INTO kinds VALUES (1, 'big', NULL);
	INSERT INTO notes VALUES (1, 'mine');
	SQL
	my_dump prod > before.sql
	run dbapply --schema "$PROD" < <(dbdump-rows -x devonly "$DEV")
	assert_success
	assert_line --regexp '^kinds +1 +0 +0$'
	assert_line --partial 'ALTER TABLE `kinds` ADD CONSTRAINT `kinds_best_node_fkey` FOREIGN KEY (`best_node`) REFERENCES `node` (`id`)'
	# a row made since in a table the run made would go with the table
	# unsaid: refused, nothing written
	my_sql prod <<< 'INSERT INTO node VALUES (4, 1)'
	my_dump prod > applied.sql
	run dbapply --rollback "$PROD"
	assert_failure 2
	assert_line --partial ': table "node", which the undone run made, holds 1 row that it did not write (made since)'
	my_dump prod > after.sql
	diff -u applied.sql after.sql
	my_sql prod <<< 'DELETE FROM node WHERE id = 4'
	run dbapply --rollback "$PROD"
	assert_success
	assert_line --regexp '^kinds +0 +0 +1$'
	# kinds' key into node before node; the cycle's key before its table;
	# the index MariaDB gave kinds' key once that key is gone
	assert_equal "$(grep -o '^dbapply: schema: .*' <<< "$output")" 'dbapply: schema: ALTER TABLE `kinds` DROP FOREIGN KEY `kinds_best_node_fkey`; (after the rows'"'"' commit)
dbapply: schema: DROP TABLE `node`; (after the rows'"'"' commit)
dbapply: schema: ALTER TABLE `staff` DROP FOREIGN KEY `staff_store_fkey`; (after the rows'"'"' commit)
dbapply: schema: DROP TABLE `store`; (after the rows'"'"' commit)
dbapply: schema: DROP TABLE `staff`; (after the rows'"'"' commit)
dbapply: schema: DROP INDEX `best_node` ON `kinds`; (after the rows'"'"' commit)'
	my_dump prod > after.sql
	diff -u before.sql after.sql
}

@test "--sql --schema --mirror on MariaDB: the drops after the rows' commit close the script, a narrowing and NOT NULL precede the rows, checked first; mariadb --batch makes from it on a copy of prod what dbapply makes; an added check is refused by name" {
	office_dev_prod_copy
	office_prod_extra prod viaclient
	for db in prod viaclient; do my_sql $db <<< 'CREATE INDEX clients_phone ON clients (phone)'; done
	my_sql dev <<-'SQL'
	UPDATE clients SET phone = '999' WHERE id = 5;
	DELETE FROM documents WHERE id = 2;
	INSERT INTO case_types VALUES (77, 'Appeal');
	DELIMITER //
	CREATE TRIGGER case_types_name BEFORE INSERT ON case_types FOR EACH ROW
	BEGIN IF NEW.name = '' THEN SET NEW.name = 'none; really'; END IF; END//
	DELIMITER ;
	SQL
	my_snapshot prod > prod-before
	run --separate-stderr dbapply --sql --schema --mirror "$PROD" < <(dbdump-rows "$DEV")
	assert_success
	printf '%s\n' "$output" > script.sql
	assert_line --index 0 --partial '-- dbapply --sql: what dbapply would run on'
	assert_line -- '-- mysql commits each DDL statement by itself, so this script is not atomic: the rows'
	assert_line 'START TRANSACTION;'
	assert_line "UPDATE \`clients\` SET \`phone\` = '999' WHERE \`id\` = '5';"
	assert_line "DELETE FROM \`documents\` WHERE \`id\` = '2';"
	# the order dbapply runs them in: rows, commit, then the drops
	[ "$(grep -n -x -e 'COMMIT;' -e 'ALTER TABLE `clients` DROP COLUMN `legacy_code`;' -e 'DROP TABLE `old_notes`;' \
		-e 'DROP INDEX `clients_phone` ON `clients`;' -e 'DELIMITER .*' script.sql | cut -d: -f2 | tr '\n' '|')" = \
		'COMMIT;|DROP INDEX `clients_phone` ON `clients`;|DELIMITER $$|DELIMITER ;|ALTER TABLE `clients` DROP COLUMN `legacy_code`;|DROP TABLE `old_notes`;|' ]
	# the trigger, made after the rows' commit (not firing for them), holds
	# a ';': between DELIMITER lines for the client
	grep -q "^CREATE TRIGGER \`case_types_name\` BEFORE INSERT ON \`case_types\` FOR EACH ROW.*END IF; END\\$\\$\$" script.sql
	# nothing written, the schema included
	my_snapshot prod > prod-after-sql
	diff -u prod-before prod-after-sql
	# the client makes from the script on a copy of prod what dbapply makes on prod
	MYSQL_PWD= "$MY_CLIENT" --no-defaults -S "$MY_SOCK" -u root --batch viaclient < script.sql
	run dbapply --schema --mirror "$PROD" < <(dbdump-rows "$DEV")
	assert_success
	my_snapshot prod > prod-after
	my_snapshot viaclient > viaclient-after
	diff -u prod-after viaclient-after
	! diff -q prod-before prod-after > /dev/null
	grep -q 'legacy_code' prod-before
	! grep -q 'legacy_code' viaclient-after
	grep -q 'case_types_name' viaclient-after
	my_sql viaclient <<< "INSERT INTO case_types VALUES (78, '')"
	assert_equal "$(my_sql viaclient <<< 'SELECT name FROM case_types WHERE id = 78')" 'none; really'
	my_sql viaclient <<< 'DELETE FROM case_types WHERE id = 78'
	# a narrowing and NOT NULL run before the rows on MySQL: checked as
	# MySQL's ALTER would check them, a value that does not fit refused by
	# its key, with no script
	my_sql dev <<< "ALTER TABLE clients MODIFY phone VARCHAR(20), MODIFY email VARCHAR(200) NOT NULL DEFAULT ''"
	my_sql dev <<< "UPDATE clients SET phone = '+1 555 7777' WHERE id = 9"
	for db in prod viaclient; do my_sql $db <<< "UPDATE clients SET phone = '+1 555 0108 extension 12' WHERE id = 8"; done
	my_snapshot prod > prod-before
	run --separate-stderr dbapply --prefer source --sql --schema --mirror "$PROD" < <(dbdump-rows "$DEV")
	assert_failure 2
	assert_output ""
	[[ "$stderr" == *'--schema: column "clients"."phone" cannot be made varchar(20): the row at key {"id":8}'* ]]
	my_snapshot prod > prod-after-sql
	diff -u prod-before prod-after-sql
	for db in prod viaclient; do my_sql $db <<< "UPDATE clients SET phone = '+1 555 0108', email = NULL WHERE id = 8"; done
	run --separate-stderr dbapply --prefer source --sql --schema --mirror "$PROD" < <(dbdump-rows "$DEV")
	assert_failure 2
	assert_output ""
	[[ "$stderr" == *'--schema: column "clients"."email" cannot be made NOT NULL: the row at key {"id":8} holds NULL'* ]]
	# where the values fit: the alters before the transaction, and the client
	# makes from the script what dbapply makes
	for db in prod viaclient; do my_sql $db <<< "UPDATE clients SET email = 'c8@example.com' WHERE id = 8"; done
	run --separate-stderr dbapply --prefer source --sql --schema --mirror "$PROD" < <(dbdump-rows "$DEV")
	assert_success
	printf '%s\n' "$output" > script.sql
	[ "$(grep -n -e '^ALTER TABLE `clients` MODIFY COLUMN `phone` varchar(20);$' -e '^START TRANSACTION;$' \
		-e '^ALTER TABLE `clients` MODIFY COLUMN `email` varchar(200) NOT NULL DEFAULT' -e '^UPDATE `clients` SET `phone`' \
		-e '^COMMIT;$' script.sql | cut -d: -f2- | cut -c1-44 | tr '\n' '|')" = \
		'ALTER TABLE `clients` MODIFY COLUMN `phone` |ALTER TABLE `clients` MODIFY COLUMN `email` |START TRANSACTION;|UPDATE `clients` SET `phone` = '"'+1 555 7777'|"'COMMIT;|' ]
	MYSQL_PWD= "$MY_CLIENT" --no-defaults -S "$MY_SOCK" -u root --batch viaclient < script.sql
	run dbapply --prefer source --schema --mirror "$PROD" < <(dbdump-rows "$DEV")
	assert_success
	my_snapshot prod > prod-after
	my_snapshot viaclient > viaclient-after
	diff -u prod-after viaclient-after
	grep -q 'varchar(20)' viaclient-after
	# a check added to a table prod has runs before the rows, which cannot
	# be checked against it: refused by name
	my_sql dev <<< 'ALTER TABLE case_types ADD CONSTRAINT case_types_id CHECK (id > 0)'
	my_snapshot prod > prod-before
	run --separate-stderr dbapply --sql --schema "$PROD" < <(dbdump-rows "$DEV")
	assert_failure 2
	assert_output ""
	[[ "$stderr" == *'(not run: dry run)'* ]]
	[[ "$stderr" != *'warning: --dry-run'* ]]
	[[ "$stderr" == *"--sql: mysql commits DDL by itself, and a check added to a table the target has (above) runs before the rows, which cannot be checked against it"* ]]
	my_snapshot prod > prod-after-sql
	diff -u prod-before prod-after-sql
}

@test "--schema --mirror on MariaDB: a column and a table dropped after the rows' commit; refused without --mirror; --rollback restores schema and rows exactly" {
	office_dev_prod
	office_prod_extra prod
	my_sql dev <<< "UPDATE clients SET phone = '999' WHERE id = 5"
	dbdump-rows "$PROD" > before.ndjson
	run --separate-stderr dbapply --schema "$PROD" < <(dbdump-rows "$DEV")
	assert_failure 2
	assert_equal "$stderr" 'dbapply: <stdin>:3: --schema: column "clients"."legacy_code" (text, varchar(20)) is only in the target: dropping it takes its values away: only with --schema --mirror
dbapply: <stdin>: --schema: table "old_notes" is only in the target: dropping it takes its rows away (the stream holds every table of its source): only with --schema --mirror
dbapply: nothing was written to mysql://dbpipe@127.0.0.1:'"$MY_PORT"'/prod'
	run dbdiff before.ndjson "$PROD"
	assert_success
	# a dry run shows the drops and runs none; the rows, which need no DDL
	# before them, are tried as in any dry run
	run dbapply --dry-run --schema --mirror "$PROD" < <(dbdump-rows "$DEV")
	assert_success
	assert_line 'dbapply: schema: ALTER TABLE `clients` DROP COLUMN `legacy_code`; (after the rows'"'"' commit; not run: dry run)'
	assert_line 'dbapply: schema: DROP TABLE `old_notes`; (after the rows'"'"' commit; not run: dry run)'
	assert_line --regexp '^clients +0 +1 +0$'
	assert_line --partial 'dry run: rolled back, nothing was written'
	run dbdiff before.ndjson "$PROD"
	assert_success
	run dbapply --schema --mirror "$PROD" < <(dbdump-rows "$DEV")
	assert_success
	assert_line 'dbapply: schema: ALTER TABLE `clients` DROP COLUMN `legacy_code`; (after the rows'"'"' commit)'
	assert_line 'dbapply: schema: DROP TABLE `old_notes`; (after the rows'"'"' commit)'
	assert_same_rows_and_schema "$DEV" "$PROD"
	run dbapply --rollback "$PROD"
	assert_success
	assert_line 'dbapply: schema: ALTER TABLE `clients` ADD COLUMN `legacy_code` varchar(20);'
	dbdump-rows "$PROD" > after.ndjson
	assert_same_rows_and_schema before.ndjson after.ndjson
	assert_equal "$(my_sql prod <<< 'INSERT INTO old_notes (client_id) VALUES (1); SELECT LAST_INSERT_ID()')" 3
	run my_sql prod <<< 'INSERT INTO old_notes (client_id) VALUES (9999)'
	assert_failure
}

@test "--schema --mirror on MariaDB drops the indexes and foreign keys the stream lacks after the rows' commit; a warning names each without --mirror; --rollback makes them again" {
	office_dev_prod
	# the same schema (UNIQUE, foreign keys and the indexes MariaDB made for them): nothing to drop
	run --separate-stderr dbapply --schema --mirror "$PROD" < <(dbdump-rows "$DEV")
	assert_success
	assert_equal "$(printf '%s\n' "$stderr" | grep -c -e 'schema: ' -e 'not dropped')" 0
	fk=$(my_sql prod <<< "SELECT CONSTRAINT_NAME FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = 'prod' AND TABLE_NAME = 'cases' AND REFERENCED_TABLE_NAME = 'case_types'" | tail -n 1)
	my_sql dev <<< "ALTER TABLE cases DROP FOREIGN KEY $fk; UPDATE clients SET phone = '999' WHERE id = 5"
	my_sql prod <<< "ALTER TABLE clients ADD INDEX clients_email (email), ADD UNIQUE INDEX clients_name_phone (name, phone)"
	run --separate-stderr dbapply --schema "$PROD" < <(dbdump-rows "$DEV")
	assert_success
	assert_equal "$stderr" 'dbapply: warning: <stdin>:3: --schema: index "clients_email" on "clients" (email) is only in the target: not dropped (only with --schema --mirror)
dbapply: warning: <stdin>:3: --schema: unique index "clients_name_phone" on "clients" (name, phone) is only in the target: not dropped (only with --schema --mirror)
dbapply: warning: <stdin>:4: --schema: foreign key of "cases" (type_id) -> "case_types" (id) is only in the target: not dropped (only with --schema --mirror)'
	my_sql dev <<< "UPDATE clients SET phone = '998' WHERE id = 6"
	dbdump-rows "$PROD" > before.ndjson
	run dbapply --schema --mirror "$PROD" < <(dbdump-rows "$DEV")
	assert_success
	assert_line "dbapply: schema: ALTER TABLE \`cases\` DROP FOREIGN KEY \`$fk\`; (after the rows' commit)"
	assert_line "dbapply: schema: DROP INDEX \`clients_email\` ON \`clients\`; (after the rows' commit)"
	assert_line "dbapply: schema: DROP INDEX \`clients_name_phone\` ON \`clients\`; (after the rows' commit)"
	assert_same_rows_and_schema "$DEV" "$PROD"
	run dbapply --rollback "$PROD"
	assert_success
	assert_line "dbapply: schema: CREATE INDEX \`clients_email\` ON \`clients\` (\`email\`); (after the rows' commit)"
	# under its own name, as it was
	assert_line "dbapply: schema: ALTER TABLE \`cases\` ADD CONSTRAINT \`$fk\` FOREIGN KEY (\`type_id\`) REFERENCES \`case_types\` (\`id\`); (after the rows' commit)"
	dbdump-rows "$PROD" > after.ndjson
	assert_same_rows_and_schema before.ndjson after.ndjson
	run my_sql prod <<< 'UPDATE cases SET type_id = 999 WHERE id = 1'
	assert_failure
	assert_output --partial "$fk"
}

@test "--schema --mirror on MariaDB: an index whose columns change under the same name is dropped before the new one is made, made again when the schema step fails; refused by name without --mirror; --rollback puts it back" {
	for db in dev prod; do
		my_sql $db <<< "CREATE TABLE t (id INT PRIMARY KEY, a VARCHAR(20), b VARCHAR(20)) ENGINE=InnoDB;
			INSERT INTO t VALUES (1, 'x', 'y'), (2, 'x', 'z');"
	done
	my_sql prod <<< "CREATE INDEX t_ab ON t (a)"
	my_sql dev <<< "CREATE UNIQUE INDEX t_ab ON t (a, b)"
	dbdump-rows "$PROD" > before.ndjson
	run --separate-stderr dbapply --schema "$PROD" < <(dbdump-rows "$DEV")
	assert_failure 2
	assert_equal "$stderr" 'dbapply: <stdin>:2: --schema: index "t_ab" on "t" (a) is only in the target: the stream'"'"'s table has another index of that name, which cannot be made beside it: only with --schema --mirror (which drops this one first)
dbapply: nothing was written to '"$PROD"
	# a row of prod the new unique index cannot take: its CREATE fails, the old index comes back
	my_sql prod <<< "INSERT INTO t VALUES (3, 'x', 'y')"
	dbdump-rows "$PROD" > before.ndjson
	run --separate-stderr dbapply --schema --mirror "$PROD" < <(dbdump-rows "$DEV")
	assert_failure 2
	assert_equal "$(printf '%s\n' "$stderr" | grep -e '^dbapply: schema' -e 'undone')" 'dbapply: schema: DROP INDEX `t_ab` ON `t`;
dbapply: schema: CREATE UNIQUE INDEX `t_ab` ON `t` (`a`, `b`);
dbapply: schema undone: CREATE INDEX `t_ab` ON `t` (`a`);
dbapply: the schema step is undone: '"$PROD"' is as before (MySQL commits DDL by itself, so it was made and then taken back)'
	assert_same_rows_and_schema before.ndjson "$PROD"
	my_sql prod <<< "DELETE FROM t WHERE id = 3"
	dbdump-rows "$PROD" > before.ndjson
	run --separate-stderr dbapply --schema --mirror "$PROD" < <(dbdump-rows "$DEV")
	assert_success
	assert_equal "$(printf '%s\n' "$stderr" | grep '^dbapply: schema')" 'dbapply: schema: DROP INDEX `t_ab` ON `t`;
dbapply: schema: CREATE UNIQUE INDEX `t_ab` ON `t` (`a`, `b`);'
	assert_same_rows_and_schema "$DEV" "$PROD"
	run dbapply --rollback "$PROD"
	assert_success
	dbdump-rows "$PROD" > after.ndjson
	assert_same_rows_and_schema before.ndjson after.ndjson
	assert_equal "$(my_sql prod <<< "SELECT NON_UNIQUE, COLUMN_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = 'prod' AND INDEX_NAME = 't_ab'")" "$(printf '1\ta')"
}

@test "checks on MariaDB: --schema adds the stream's check to a table prod has before the rows, dropped again when they fail (a row that breaks it refused, naming it); --mirror drops prod's own; --rollback undoes both" {
	my_sql dev <<< "CREATE TABLE scores (id INT PRIMARY KEY, points INT, n INT, CONSTRAINT in_range CHECK (points BETWEEN 0 AND 100)) ENGINE=InnoDB;
		INSERT INTO scores VALUES (1, 50, 1), (2, 70, 2);"
	my_sql prod <<< "CREATE TABLE scores (id INT PRIMARY KEY, points INT, n INT, CONSTRAINT n_pos CHECK (n > 0)) ENGINE=InnoDB;
		INSERT INTO scores VALUES (1, 500, 1), (3, 5, 4);"
	dbdump-rows "$PROD" > before.ndjson
	# prod's 500 breaks in_range: MariaDB refuses the ALTER, nothing else was made
	run --separate-stderr dbapply --schema "$PROD" < <(dbdump-rows "$DEV")
	assert_failure 2
	assert_equal "$(printf '%s\n' "$stderr" | grep -v -e '^dbapply: schema: ' -e 'other rows under this key')" 'dbapply: warning: <stdin>:2: --schema: check "n_pos" of "scores" (`n` > 0) is only in the target: not dropped (only with --schema --mirror)
dbapply: '"$PROD"': --schema: adding check "in_range" (`points` between 0 and 100) to table "scores": CONSTRAINT `in_range` failed for `prod`.`scores`
dbapply: nothing was written to '"$PROD"
	assert_same_rows_and_schema before.ndjson "$PROD"
	# prod's 500 fixed by hand; a row of the stream that breaks prod's n_pos: the rows fail, and the
	# check made before them is dropped again
	my_sql prod <<< "UPDATE scores SET points = 5 WHERE id = 1"
	my_sql dev <<< "UPDATE scores SET n = -5 WHERE id = 2"
	dbdump-rows "$PROD" > before.ndjson
	run --separate-stderr dbapply --schema --prefer source "$PROD" < <(dbdump-rows "$DEV")
	assert_failure 2
	[[ "$stderr" == *'dbapply: schema: ALTER TABLE `scores` ADD CONSTRAINT `in_range` CHECK (`points` between 0 and 100);'* ]]
	[[ "$stderr" == *'dbapply: schema undone: ALTER TABLE `scores` DROP CONSTRAINT `in_range`;'* ]]
	assert_same_rows_and_schema before.ndjson "$PROD"
	run --separate-stderr dbapply --schema --mirror --prefer source "$PROD" < <(dbdump-rows "$DEV")
	assert_success
	assert_equal "$(printf '%s\n' "$stderr" | grep '^dbapply: schema: ')" 'dbapply: schema: ALTER TABLE `scores` ADD CONSTRAINT `in_range` CHECK (`points` between 0 and 100);
dbapply: schema: ALTER TABLE `scores` DROP CONSTRAINT `n_pos`;'
	assert_same_rows_and_schema "$DEV" "$PROD"
	run my_sql prod <<< "UPDATE scores SET points = 101 WHERE id = 1"
	assert_failure
	assert_output --partial 'in_range'
	run --separate-stderr dbapply --rollback "$PROD"
	assert_success
	dbdump-rows "$PROD" > after.ndjson
	assert_same_rows_and_schema before.ndjson after.ndjson
	assert_equal "$(my_sql prod <<< "SELECT CONSTRAINT_NAME FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = 'prod'")" n_pos
}

@test "triggers on MariaDB: --schema makes the stream's trigger on a table prod has after the rows' commit (not firing for them); --mirror drops prod's own before the rows; --rollback undoes both" {
	for db in dev prod; do
		my_sql $db <<< "CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(20), stamp VARCHAR(20)) ENGINE=InnoDB;
			INSERT INTO items VALUES (1, 'a', 'given');"
	done
	my_sql dev <<< "CREATE TRIGGER items_stamp BEFORE INSERT ON items FOR EACH ROW SET NEW.stamp = 'auto';
		INSERT INTO items VALUES (2, 'b', NULL); UPDATE items SET stamp = 'given2' WHERE id = 2"
	my_sql prod <<< "CREATE TRIGGER items_old BEFORE UPDATE ON items FOR EACH ROW SET NEW.stamp = 'old'"
	dbdump-rows "$PROD" > before.ndjson
	run --separate-stderr dbapply --schema "$PROD" < <(dbdump-rows "$DEV")
	assert_success
	assert_equal "$(printf '%s\n' "$stderr" | grep -e 'schema: ' -e 'not dropped')" "dbapply: warning: <stdin>:2: --schema: trigger \"items_old\" of \"items\" is only in the target: not dropped (only with --schema --mirror)
dbapply: schema: CREATE TRIGGER \`items_stamp\` BEFORE INSERT ON \`items\` FOR EACH ROW SET NEW.stamp = 'auto'; (after the rows' commit)"
	assert_equal "$(my_sql prod <<< "SELECT stamp FROM items WHERE id = 2")" given2
	run --separate-stderr dbapply --schema --mirror "$PROD" < <(dbdump-rows "$DEV")
	assert_success
	assert_equal "$(printf '%s\n' "$stderr" | grep 'schema: ')" 'dbapply: schema: DROP TRIGGER `items_old`;'
	assert_same_rows_and_schema "$DEV" "$PROD"
	run dbapply --rollback "$PROD"
	assert_success
	run dbapply --rollback "$PROD"
	assert_success
	dbdump-rows "$PROD" > after.ndjson
	assert_same_rows_and_schema before.ndjson after.ndjson
	assert_equal "$(my_sql prod <<< "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = 'prod'")" items_old
}

@test "--schema on MariaDB widens columns (varchar(10) to varchar(50), int to bigint) before the rows; --rollback narrows them back; NOT NULL over a NULL is refused with the row's key" {
	for db in dev prod; do
		my_sql $db <<< "CREATE TABLE tags (id INT PRIMARY KEY, name VARCHAR(10) NOT NULL, n INT NULL, note TEXT NULL) ENGINE=InnoDB;
			INSERT INTO tags VALUES (1, 'short', 1, NULL), (2, 'tiny', 2, 'b');"
	done
	my_sql dev <<< "ALTER TABLE tags MODIFY name VARCHAR(50) NOT NULL, MODIFY n BIGINT NULL;
		UPDATE tags SET name = 'a name longer than ten', n = 5000000000 WHERE id = 2"
	dbdump-rows "$PROD" > before.ndjson
	run dbapply --prefer source --schema "$PROD" < <(dbdump-rows "$DEV")
	assert_success
	assert_line 'dbapply: schema: ALTER TABLE `tags` MODIFY COLUMN `name` varchar(50) NOT NULL;'
	assert_line 'dbapply: schema: ALTER TABLE `tags` MODIFY COLUMN `n` bigint(20);'
	assert_same_rows_and_schema "$DEV" "$PROD"
	run dbapply --rollback "$PROD"
	assert_success
	assert_line 'dbapply: schema: ALTER TABLE `tags` MODIFY COLUMN `name` varchar(10) NOT NULL; (after the rows'"'"' commit)'
	dbdump-rows "$PROD" > after.ndjson
	assert_same_rows_and_schema before.ndjson after.ndjson
	# NOT NULL over prod's NULL at id 1: refused with its key, before any DDL
	my_sql dev <<< "UPDATE tags SET note = 'a' WHERE id = 1; ALTER TABLE tags MODIFY note TEXT NOT NULL"
	run --separate-stderr dbapply --schema --mirror "$PROD" < <(dbdump-rows "$DEV")
	assert_failure 2
	grep -qF 'column "tags"."note" cannot be made NOT NULL: the row at key {"id":1} holds NULL there (fill it first)' <<< "$stderr"
	[[ "$stderr" != *'schema: ALTER'* ]]
	run dbdiff --schema before.ndjson "$PROD"
	assert_success
	run dbdiff before.ndjson "$PROD"
	assert_success
}

@test "a protected MariaDB environment: --schema --mirror asks before any DDL (MySQL cannot take a drop back); with --yes the backup comes first" {
	office_dev_prod
	my_sql prod <<< "ALTER TABLE clients ADD COLUMN legacy_code VARCHAR(20) NULL; UPDATE clients SET legacy_code = CONCAT('L', id)"
	printf '[prod]\nurl = %s\nprotected = yes\n' "$PROD" > dbpipe.conf
	run sh -c "dbdump-rows '$DEV' | dbapply --schema --mirror prod"
	assert_failure 2
	assert_output --partial "prod is protected: --mirror needs --yes (no terminal to ask on)"
	refute_output --partial 'schema: ALTER'
	assert_equal "$(my_sql prod <<< 'SELECT legacy_code FROM clients WHERE id = 9')" L9
	run sh -c "dbdump-rows '$DEV' | dbapply --schema --mirror --yes prod"
	assert_success
	assert_output --regexp 'dbapply: backup: backups/prod-[0-9T]+Z\.backup\.ndjson\.gz'
	assert_line 'dbapply: schema: ALTER TABLE `clients` DROP COLUMN `legacy_code`; (after the rows'"'"' commit)'
	backup=$(ls backups/*.backup.ndjson.gz)
	run jq -c 'select(.type == "row" and .table == "clients" and .row.id == 9) | .row.legacy_code' <(zcat "$backup")
	assert_output '"L9"'
}

@test "--schema on MariaDB: an int made unsigned, or an unsigned int made signed of the same width, is a narrowing, refused by name without --mirror; nothing written" {
	my_sql dev <<< "CREATE TABLE u (id INT PRIMARY KEY, a INT UNSIGNED, b INT, c SMALLINT UNSIGNED) ENGINE=InnoDB;
		INSERT INTO u VALUES (1, 4000000000, -5, 60000)"
	my_sql prod <<< "CREATE TABLE u (id INT PRIMARY KEY, a INT, b INT UNSIGNED, c INT) ENGINE=InnoDB;
		INSERT INTO u VALUES (1, -1, 7, 3)"
	run --separate-stderr dbapply --schema "$PROD" < <(dbdump-rows -t u "$DEV")
	assert_failure 2
	assert_equal "$stderr" 'dbapply: <stdin>:2: --schema: column "u"."a" is (int, int(11)) in the target, (int, int(10) unsigned) in the stream: from int(11) to int(10) unsigned, which holds no negative numbers: only with --schema --mirror
dbapply: <stdin>:2: --schema: column "u"."b" is (int, int(10) unsigned) in the target, (int, int(11)) in the stream: from int(10) unsigned to int(11), a narrower integer: only with --schema --mirror
dbapply: <stdin>:2: --schema: column "u"."c" is (int, int(11)) in the target, (int, smallint(5) unsigned) in the stream: from int(11) to smallint(5) unsigned, which holds no negative numbers: only with --schema --mirror
dbapply: nothing was written to '"$PROD"
	assert_equal "$(my_sql prod <<< "SELECT a, b, c FROM u")" "-1	7	3"
}

@test "--schema on MariaDB: when the rows fail, a widened column is narrowed back (undone newest first) and prod's table is as before" {
	for db in dev prod; do
		my_sql $db <<< "CREATE TABLE tags (id INT PRIMARY KEY, name VARCHAR(10) NOT NULL, code VARCHAR(5) NULL) ENGINE=InnoDB;
			INSERT INTO tags VALUES (1, 'short', 'a'), (2, 'tiny', 'b');"
	done
	my_sql dev <<< "ALTER TABLE tags MODIFY name VARCHAR(50) NOT NULL; UPDATE tags SET name = 'a name longer than ten', code = 'a' WHERE id = 2"
	# prod holds codes unique: dev's rows cannot go in
	my_sql prod <<< 'CREATE UNIQUE INDEX tags_code_u ON tags (code)'
	my_sql prod <<< 'SHOW CREATE TABLE tags' > before
	run --separate-stderr dbapply --prefer source --schema "$PROD" < <(dbdump-rows "$DEV")
	assert_failure 2
	[[ "$stderr" == *'dbapply: schema: ALTER TABLE `tags` MODIFY COLUMN `name` varchar(50) NOT NULL;'* ]]
	[[ "$stderr" == *"Duplicate entry 'a'"* ]]
	[[ "$stderr" == *'dbapply: schema undone: ALTER TABLE `tags` MODIFY COLUMN `name` varchar(10) NOT NULL;'* ]]
	[[ "$stderr" == *"the schema step is undone: mysql://dbpipe@127.0.0.1:$MY_PORT/prod is as before"* ]]
	my_sql prod <<< 'SHOW CREATE TABLE tags' > after
	diff -u before after
	assert_equal "$(my_sql prod <<< 'SELECT name FROM tags WHERE id = 2')" tiny
}
