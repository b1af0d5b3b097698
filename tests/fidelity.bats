#!/usr/bin/env bats
# The fidelity matrix of issue 11: every ordered pair of SQLite, PostgreSQL
# and MariaDB (same-engine pairs too), and for each common family of column
# types, edge values put into the source as each engine declares the column
# natively (Django's forms: char(32) for a UUID on SQLite and MariaDB,
# datetime(6) on MariaDB, jsonb on PostgreSQL, text for JSON on SQLite).
# Every cell is either EXACT (the target's own client reads back the expected
# text, and a second sync finds nothing to do) or REFUSED BY NAME (exit 2,
# the message names the table, the column and the value, and the target is
# as it was).  The cases come from the table in `cases` below; one @test a
# pair.

bats_require_minimum_version 1.5.0

setup_file() {
	load helpers
	load mysql_server
	load pg_server
	my_start
	pg_start
	export HOME=$BATS_FILE_TMPDIR
	make_sources
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
}

FAMILIES="int dec float bool text uuid date time ts tstz json bytes"

# How each engine declares a column of each family (sqlite pg mariadb).
decl() {
	local e=$2
	case $1 in
	int) set -- integer bigint bigint ;;
	dec) set -- 'decimal(20,5)' 'numeric(20,5)' 'decimal(20,5)' ;;
	float) set -- real 'double precision' double ;;
	bool) set -- bool boolean bool ;;
	text) set -- text text longtext ;;
	uuid) set -- 'char(32)' uuid 'char(32)' ;;
	date) set -- date date date ;;
	time) set -- time 'time(6)' 'time(6)' ;;
	ts) set -- datetime 'timestamp(6)' 'datetime(6)' ;;
	tstz) set -- datetime timestamptz 'datetime(6)' ;;
	json) set -- text jsonb json ;;
	bytes) set -- blob bytea longblob ;;
	esac
	case $e in sqlite) echo "$1" ;; pg) echo "$2" ;; maria) echo "$3" ;; esac
}

# The text each engine's client reads back for column v of a family: for
# SQLite's numbers the storage class too (a number kept as text, or an
# integer kept as a REAL, is not exact); text and bytes as hex.
readback_expr() {
	case $1:$2 in
	int:sqlite | dec:sqlite | float:sqlite | bool:sqlite) echo "typeof(v) || ':' || quote(v)" ;;
	text:sqlite | bytes:sqlite | text:maria | bytes:maria) echo "lower(hex(v))" ;;
	text:pg) echo "encode(convert_to(v, 'UTF8'), 'hex')" ;;
	bytes:pg) echo "encode(v, 'hex')" ;;
	*) echo v ;;
	esac
}

# family | id | value in sqlite | in pg | in mariadb | read back from sqlite | pg | mariadb | in a refusal
# A value "-": the engine cannot hold it (no such row in that source); "=":
# as the column before.  Expected "!": refused; "x:S": the hex of printf %b S;
# "A~B": A when PostgreSQL is the source or the target, else B (jsonb keeps
# its own key order, text columns keep the text written).
cases() {
	cat <<-'EOF'
	int|1|0|=|=|integer:0|0|0|
	int|2|-9223372036854775808|=|=|integer:-9223372036854775808|-9223372036854775808|=|
	int|3|9223372036854775807|=|=|integer:9223372036854775807|9223372036854775807|=|
	int|4|-1|=|=|integer:-1|-1|=|
	int|5|NULL|=|=|null:NULL|NULL|=|
	dec|1|12.5|=|=|real:12.5|12.50000|=|
	dec|2|-0.00001|=|=|real:-1.0e-05|-0.00001|=|
	dec|3|0|=|=|integer:0|0.00000|=|
	dec|4|-|123456789012345.12345|=|!|123456789012345.12345|=|123456789012345.12345
	dec|5|-|'NaN'|-|text:'NaN'|NaN|!|NaN
	float|1|0.1|=|=|real:0.1|0.1|=|
	float|2|1.5|=|=|real:1.5|1.5|=|
	float|3|1e308|=|=|real:1.0e+308|1e+308|1e308|
	float|4|5e-324|=|=|real:4.94065645841247e-324|5e-324|5e-324|
	float|5|0.30000000000000004|=|=|real:3.00000000000000044408e-01|0.30000000000000004|0.30000000000000004|
	float|6|-|'-0'|-|!|-0|!|-0
	float|7|-|'NaN'|-|!|NaN|!|NaN
	float|8|9e999|'Infinity'|-|real:Inf|Infinity|!|Infinity
	float|9|-9e999|'-Infinity'|-|real:-Inf|-Infinity|!|-Infinity
	bool|1|1|true|1|integer:1|true|1|
	bool|2|0|false|0|integer:0|false|0|
	text|1|'héllo 😀 𝄞'|=|=|x:h\xc3\xa9llo \xf0\x9f\x98\x80 \xf0\x9d\x84\x9e|=|=|
	text|2|printf('a%sb%s%sc%s', char(10), char(13), char(10), char(9))|E'a\nb\r\nc\t'|'a\nb\r\nc\t'|x:a\nb\r\nc\t|=|=|
	text|3|CAST(X'610062' AS TEXT)|-|'a\0b'|x:a\0b|!|x:a\0b|a\u0000b
	text|4|replace(hex(zeroblob(125000)), '00', printf('ab😀%s', char(10)))|repeat(E'ab😀\n', 125000)|repeat('ab😀\n', 125000)|@BIGTEXT|=|=|
	text|5|''|=|=|x:|=|=|
	uuid|1|'a0eebc999c0b4ef8bb6d6bb9bd380a11'|'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'|'a0eebc999c0b4ef8bb6d6bb9bd380a11'|a0eebc999c0b4ef8bb6d6bb9bd380a11|a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11|a0eebc999c0b4ef8bb6d6bb9bd380a11|
	uuid|2|'00000000000000000000000000000000'|'00000000-0000-0000-0000-000000000000'|'00000000000000000000000000000000'|00000000000000000000000000000000|00000000-0000-0000-0000-000000000000|00000000000000000000000000000000|
	uuid|3|'FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF'|-|'FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF'|FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF|ffffffff-ffff-ffff-ffff-ffffffffffff|FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF|
	uuid|4|'not-a-uuid'|-|'not-a-uuid'|not-a-uuid|!|not-a-uuid|not-a-uuid
	date|1|'2024-02-29'|=|=|2024-02-29|=|=|
	date|2|'0001-01-01'|=|=|0001-01-01|=|=|
	date|3|'9999-12-31'|=|=|9999-12-31|=|=|
	date|4|-|'0044-03-15 BC'|-|0044-03-15 BC|0044-03-15 BC|!|0044-03-15 BC
	date|5|-|'infinity'|-|infinity|infinity|!|infinity
	date|6|-|'-infinity'|-|-infinity|-infinity|!|-infinity
	time|1|'00:00:00'|=|=|00:00:00|00:00:00|00:00:00.000000|
	time|2|'23:59:59.999999'|=|=|23:59:59.999999|=|=|
	time|3|'12:00:00.500000'|'12:00:00.5'|'12:00:00.5'|12:00:00.500000|12:00:00.5|12:00:00.500000|
	time|4|-|'24:00:00'|-|24:00:00|24:00:00|24:00:00.000000|
	time|5|-|-|'-01:30:00'|-01:30:00|!|-01:30:00.000000|-01:30:00
	time|6|-|-|'838:59:59.5'|838:59:59.5|!|838:59:59.500000|838:59:59.5
	ts|1|'2024-01-02 03:04:05.123456'|=|=|2024-01-02 03:04:05.123456|=|=|
	ts|2|'1970-01-01 00:00:00'|=|=|1970-01-01 00:00:00|1970-01-01 00:00:00|1970-01-01 00:00:00.000000|
	ts|3|'2024-02-29 23:59:59.500000'|'2024-02-29 23:59:59.5'|=|2024-02-29 23:59:59.500000|2024-02-29 23:59:59.5|2024-02-29 23:59:59.500000|
	ts|4|'0001-01-01 00:00:00'|=|=|0001-01-01 00:00:00|0001-01-01 00:00:00|0001-01-01 00:00:00.000000|
	ts|5|-|'infinity'|-|infinity|infinity|!|infinity
	ts|6|-|'2000-01-01 00:00:00 BC'|-|2000-01-01 00:00:00 BC|2000-01-01 00:00:00 BC|!|2000-01-01 00:00:00 BC
	tstz|1|'2024-06-01 10:00:00'|'2024-06-01 12:00:00+02'|'2024-06-01 10:00:00'|2024-06-01 10:00:00|2024-06-01 10:00:00+00|2024-06-01 10:00:00.000000|
	tstz|2|'2024-01-15 09:30:00.250000'|'2024-01-15 10:30:00.25+01'|'2024-01-15 09:30:00.25'|2024-01-15 09:30:00.250000|2024-01-15 09:30:00.25+00|2024-01-15 09:30:00.250000|
	tstz|3|-|'infinity'|-|infinity|infinity|!|infinity
	json|1|'{"b": 2, "a": [1, 2.50]}'|=|=|{"a": [1, 2.50], "b": 2}~{"b": 2, "a": [1, 2.50]}|{"a": [1, 2.50], "b": 2}|{"a": [1, 2.50], "b": 2}~{"b": 2, "a": [1, 2.50]}|
	json|2|'[]'|=|=|[]|=|=|
	json|3|'{"emoji": "😀"}'|=|=|{"emoji": "😀"}|=|=|
	json|4|'null'|=|=|null|=|=|
	json|5|'not json'|-|-|not json|!|!|not json
	bytes|1|X''|'\x'|X''||=|=|
	bytes|2|X'00ff10'|'\x00ff10'|X'00ff10'|00ff10|=|=|
	bytes|3|zeroblob(100000)|decode(repeat('00', 100000), 'hex')|repeat(X'00', 100000)|@BIGBYTES|=|=|
	EOF
}

# Engine number in the rows of cases: sqlite 0, pg 1, maria 2.
eng_index() {
	case $1 in sqlite) echo 0 ;; pg) echo 1 ;; maria) echo 2 ;; esac
}

# Lines "family id literal expected refusal" of the cases that source $1 holds,
# for target $2, with "=" resolved.
cases_for() {
	local s=$1 t=$2 si ti
	si=$(eng_index "$s")
	ti=$(eng_index "$t")
	cases | while IFS='|' read -r fam id l0 l1 l2 e0 e1 e2 msg; do
		[ "$l1" = = ] && l1=$l0
		[ "$l2" = = ] && l2=$l1
		[ "$e1" = = ] && e1=$e0
		[ "$e2" = = ] && e2=$e1
		local lits=("$l0" "$l1" "$l2") exps=("$e0" "$e1" "$e2")
		local lit=${lits[$si]} exp=${exps[$ti]}
		[ "$lit" = - ] && continue
		if [[ $exp == *~* ]]; then
			if [ "$s" = pg ] || [ "$t" = pg ]; then exp=${exp%%~*}; else exp=${exp#*~}; fi
		fi
		printf '%s\x1f%s\x1f%s\x1f%s\x1f%s\n' "$fam" "$id" "$lit" "$exp" "$msg"
	done
}

# The expected text of a cell, as the readback below writes it.
expand() {
	case $1 in
	x:*) printf '%b' "${1#x:}" | od -An -v -tx1 | tr -d ' \n' ;;
	@BIG*) cat "$BATS_FILE_TMPDIR/${1#@}" ;;
	*) printf '%s' "$1" ;;
	esac
}

# Lines longer than 200 characters are shown as their length and checksum.
shorten() {
	perl -MDigest::SHA=sha1_hex -ne 'chomp; if (length > 200) {
		printf "%s... (%d chars, %s)\n", substr($_, 0, 40), length, substr(sha1_hex($_), 0, 16) } else { print "$_\n" }'
}

# SQL on engine $1, database $2 (a file for sqlite), from stdin.
run_sql() {
	case $1 in
	sqlite) sqlite3 -bail "$2" ;;
	pg) pg_psql "$2" -q ;;
	maria) my_sql "$2" ;;
	esac
}

# "family|id|text" for each row of every table f_* in engine $1, database
# $2, by family and id: one query.
readback() {
	local e=$1 db=$2 fam x k=0 q=
	for fam in $FAMILIES; do
		k=$((k + 1))
		x=$(readback_expr "$fam" "$e")
		[ -n "$q" ] && q+=" UNION ALL "
		case $e in
		sqlite) q+="SELECT $k AS k, id, '$fam|' || id || '|' || coalesce($x, 'NULL') AS line FROM f_$fam" ;;
		pg) q+="SELECT $k AS k, id, '$fam|' || id::text || '|' || coalesce(($x)::text, 'NULL') AS line FROM f_$fam" ;;
		maria) q+="SELECT $k AS k, id, CONCAT('$fam|', id, '|', COALESCE($x, 'NULL')) AS line FROM f_$fam" ;;
		esac
	done
	q="SELECT line FROM ($q) AS u ORDER BY k, id"
	case $e in
	sqlite) sqlite3 "$db" "$q" ;;
	pg) PGTZ=UTC pg_psql "$db" -At -c "$q" ;;
	maria) my_sql "$db" <<<"$q" ;;
	esac | shorten
}

create_tables() {
	local e=$1 db=$2 fam
	for fam in $FAMILIES; do
		echo "CREATE TABLE f_$fam (id integer PRIMARY KEY, v $(decl "$fam" "$e"));"
	done | run_sql "$e" "$db"
}

make_sources() {
	: >"$BATS_FILE_TMPDIR/src.db"
	pg_createdb src >/dev/null
	my_reset_db src
	local e
	for e in sqlite pg maria; do
		local db=src
		[ $e = sqlite ] && db=$BATS_FILE_TMPDIR/src.db
		create_tables $e $db
		cases_for $e $e | while IFS=$'\x1f' read -r fam id lit exp msg; do
			echo "INSERT INTO f_$fam (id, v) VALUES ($id, $lit);"
		done | run_sql $e $db
	done
	# the large values as the readback writes them
	perl -e 'print unpack("H*", "ab\xf0\x9f\x98\x80\n" x 125000)' >"$BATS_FILE_TMPDIR/BIGTEXT"
	perl -e 'print "00" x 100000' >"$BATS_FILE_TMPDIR/BIGBYTES"
}

url() {
	case $1:$2 in
	sqlite:src) echo "$BATS_FILE_TMPDIR/src.db" ;;
	sqlite:*) echo "$T/$2.db" ;;
	pg:*) pg_url "$2" ;;
	maria:*) echo "mysql://dbpipe@127.0.0.1:$MY_PORT/$2" ;;
	esac
}

# The database of engine $1 named $2, as run_sql and readback take it.
dbname() {
	if [ "$1" = sqlite ]; then url sqlite "$2"; else echo "$2"; fi
}

# The expected readback of target $2 from source $1 (cases_for's lines on stdin).
expected_readback() {
	local f id lit exp msg
	while IFS=$'\x1f' read -r f id lit exp msg; do
		[ "$exp" != '!' ] || continue
		echo "$f|$id|$(expand "$exp")"
	done | shorten
}

# One pair: an empty target with the target engine's own declarations, the
# exact cells synced in one run and read back, a second run finding
# nothing, then each refused cell alone, and the target as it was.
check_pair() {
	local s=$1 t=$2 tdb=t_$1 fam
	case $t in
	sqlite) : >"$(url sqlite "$tdb")" ;;
	pg) pg_createdb "$tdb" >/dev/null ;;
	maria) my_reset_db "$tdb" ;;
	esac
	local tname
	tname=$(dbname "$t" "$tdb")
	create_tables "$t" "$tname"
	local src tgt
	src=$(url "$s" src)
	tgt=$(url "$t" "$tdb")
	# the refused cells, left out of the first sync by --subset
	local -A refused=()
	local cells
	cells=$(cases_for "$s" "$t")
	while IFS=$'\x1f' read -r fam id lit exp msg; do
		[ "$exp" = '!' ] && refused[$fam]+=" $id"
	done <<<"$cells"
	local subset=()
	for fam in $FAMILIES; do
		local ids=${refused[$fam]-}
		ids=${ids# }
		subset+=(--subset "f_$fam:id NOT IN (${ids// /, }${ids:+, }-1)")
	done
	dbdump-rows -q "${subset[@]}" -o "$T/exact.ndjson" "$src"
	run dbapply "$tgt" "$T/exact.ndjson"
	echo "first sync $s -> $t: $output"
	assert_success
	expected_readback <<<"$cells" >"$T/expected"
	readback "$t" "$tname" >"$T/actual"
	run diff -u "$T/expected" "$T/actual"
	echo "$output"
	assert_success
	run dbapply "$tgt" "$T/exact.ndjson"
	echo "second sync $s -> $t: $output"
	assert_success
	assert_line --regexp '^total +0 +0 +0$'
	refute_output --partial 'kept as changed'
	# each refused cell alone: exit 2, named, nothing written
	while IFS=$'\x1f' read -r fam id lit exp msg; do
		[ "$exp" = '!' ] || continue
		local one=$BATS_FILE_TMPDIR/cell-$s-$fam-$id.ndjson
		[ -f "$one" ] || dbdump-rows -q -t "f_$fam" --subset "f_$fam:id = $id" -o "$one" "$src"
		run dbapply "$tgt" "$one"
		echo "refusal of f_$fam id $id $s -> $t: $output"
		assert_failure 2
		assert_output --partial "\"f_$fam\""
		assert_output --regexp 'column "v"|`v`'
		assert_output --partial "$msg"
	done <<<"$cells"
	readback "$t" "$tname" >"$T/after"
	run diff -u "$T/actual" "$T/after"
	echo "$output"
	assert_success

	# The same cells through the update path (another writer in every
	# engine: batches, temporary tables): every value of the target made
	# NULL, a row of NULL for each refused cell, and a sync with no sync
	# base (kept beside the working directory: a fresh one) and --prefer source write the
	# stream's values over them.
	while IFS=$'\x1f' read -r fam id lit exp msg; do
		if [ "$exp" = '!' ]; then
			echo "INSERT INTO f_$fam (id, v) VALUES ($id, NULL);"
		else
			echo "UPDATE f_$fam SET v = NULL WHERE id = $id;"
		fi
	done <<<"$cells" | run_sql "$t" "$tname"
	mkdir -p "$T/update"
	cd "$T/update"
	run dbapply --prefer source "$tgt" "$T/exact.ndjson"
	echo "first sync by updates $s -> $t: $output"
	assert_success
	while IFS=$'\x1f' read -r fam id lit exp msg; do
		if [ "$exp" = '!' ]; then
			case $t:$fam in
			sqlite:int | sqlite:dec | sqlite:float | sqlite:bool) echo "$fam|$id|null:NULL" ;;
			*) echo "$fam|$id|NULL" ;;
			esac
		else
			echo "$fam|$id|$(expand "$exp")"
		fi
	done <<<"$cells" | shorten | sort -t'|' -k1,1 -s >"$T/expected"
	readback "$t" "$tname" | sort -t'|' -k1,1 -s >"$T/actual"
	run diff -u "$T/expected" "$T/actual"
	echo "$output"
	assert_success
	run dbapply "$tgt" "$T/exact.ndjson"
	echo "second sync by updates $s -> $t: $output"
	assert_success
	assert_line --regexp '^total +0 +0 +0$'
	refute_output --partial 'kept as changed'
	# (the first refused cell of each family, from a directory without a
	# sync base, as no refused run saves one)
	mkdir -p "$T/update-refused"
	cd "$T/update-refused"
	local done=
	while IFS=$'\x1f' read -r fam id lit exp msg; do
		[ "$exp" = '!' ] || continue
		[[ " $done " == *" $fam "* ]] && continue
		done+=" $fam"
		run dbapply --prefer source "$tgt" "$BATS_FILE_TMPDIR/cell-$s-$fam-$id.ndjson"
		echo "refusal by update of f_$fam id $id $s -> $t: $output"
		assert_failure 2
		assert_output --partial "\"f_$fam\""
		assert_output --regexp 'column "v"|`v`'
		assert_output --partial "$msg"
	done <<<"$cells"
	readback "$t" "$tname" | sort -t'|' -k1,1 -s >"$T/after"
	run diff -u "$T/actual" "$T/after"
	echo "$output"
	assert_success
}

@test "sqlite -> sqlite" { check_pair sqlite sqlite; }
@test "sqlite -> postgresql" { check_pair sqlite pg; }
@test "sqlite -> mariadb" { check_pair sqlite maria; }
@test "postgresql -> sqlite" { check_pair pg sqlite; }
@test "postgresql -> postgresql" { check_pair pg pg; }
@test "postgresql -> mariadb" { check_pair pg maria; }
@test "mariadb -> sqlite" { check_pair maria sqlite; }
@test "mariadb -> postgresql" { check_pair maria pg; }
@test "mariadb -> mariadb" { check_pair maria maria; }


@test "a bit string into a SQLite INTEGER column is refused by name, not stored as another number" {
	# MariaDB's BIT(64) and PostgreSQL's varbit travel as their digits
	# ("0101"), which an integer column would read as 101
	my_reset_db bits
	my_sql bits <<<"CREATE TABLE b (id int PRIMARY KEY, v bit(64)); INSERT INTO b VALUES (1, 5);"
	pg_createdb bits >/dev/null
	pg_psql bits -c "CREATE TABLE b (id int PRIMARY KEY, v varbit); INSERT INTO b VALUES (1, B'0101')"
	local src
	for src in "$(url maria bits)" "$(pg_url bits)"; do
		mkdb lite.db <<<'CREATE TABLE b (id integer PRIMARY KEY, v integer); INSERT INTO b VALUES (1, NULL);'
		run dbapply lite.db <(dbdump-rows -q "$src")
		echo "$src: $output"
		assert_failure 2
		assert_output --regexp 'table "b" at key \{"id":1\}: (insert failed: )?column "v" .*0101'
		assert_equal "$(sqlite3 -nullvalue NULL lite.db 'SELECT v FROM b')" NULL
	done
}

# Known wrong today: what it should do, skipped with the finding.
@test "an update PostgreSQL refuses inside a batch of updates names the row at fault and its column, not the batch's first row" {
	my_reset_db batch
	my_sql batch <<<'CREATE TABLE t (id int PRIMARY KEY, v time(6)); INSERT INTO t SELECT seq, "01:00:00" FROM seq_1_to_100; UPDATE t SET v = "-01:30:00" WHERE id = 77;'
	pg_createdb batch >/dev/null
	pg_psql batch -c 'CREATE TABLE t (id int PRIMARY KEY, v time(6)); INSERT INTO t SELECT g, NULL FROM generate_series(1, 100) g'
	run dbapply --prefer source "$(pg_url batch)" <(dbdump-rows -q "$(url maria batch)")
	assert_failure 2
	assert_output --partial 'table "t" at key {"id":77}'
	assert_output --regexp 'column "v"|`v`'
	assert_output --partial -01:30:00
}
