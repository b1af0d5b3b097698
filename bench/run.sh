#!/usr/bin/env bash
# make bench: speed and peak memory of dbpipe against the engines' own tools,
# measured in one run on a synthetic database (BENCH_ROWS rows in the main
# table, child tables with foreign keys).  A benchmark, not a test: it
# prints figures and asserts nothing.  Servers are started in temporary
# directories on 127.0.0.1 and stopped at the end, as in the tests.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
ROWS=${BENCH_ROWS:-1000000}
ENGINES=${BENCH_ENGINES:-"postgresql mariadb"}
export PATH="$root/bin:$PATH"
export TMPDIR=${TMPDIR:-/tmp}
work=$(mktemp -d "$TMPDIR/dbpipe-bench.XXXXXX")
cd "$work" # dbapply keeps its marks and undo streams in ./backups

# What the benchmark needs beyond the build: GNU time for peak memory;
# sqldiff (sqlite3-tools), the SQLite peer; percona-toolkit only if the
# archive has it (their rows are skipped otherwise).
# Only what is missing, and percona-toolkit only where the package index
# has it (else every run would try it again).
need=""
[ -x /usr/bin/time ] || need="$need time"
command -v sqldiff > /dev/null 2>&1 || need="$need sqlite3-tools"
command -v pt-table-sync > /dev/null 2>&1 || ! apt-cache show percona-toolkit > /dev/null 2>&1 ||
	need="$need percona-toolkit"
if [ -n "$need" ]; then
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	for p in $need; do
		$sudo apt-get install -y -qq "$p" > /dev/null 2>&1 || echo "bench: could not install $p" >&2
	done
fi

cleanup() {
	[ -n "${PG_DIR:-}" ] && pg_stop > /dev/null 2>&1 || true
	[ -n "${MY_DIR:-}" ] && my_stop > /dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

# Every row of the report sets dbpipe beside the tool an engine or the
# system ships for the same job (the peer), with the ratio dbpipe/peer and
# each side's peak memory; a row with no peer has dbpipe's figures only.
# Each measurement is also one JSON object, one per line, appended to
# $BENCH_JSON (bench/results.ndjson unless set; "" for none), so that runs can
# be compared: {"run", "rows", "load" (the 1-minute load average: the
# machine may be shared), "section", "what", "side", "command",
# "seconds", "peak_mb", "rows_per_s"} and, on dbpipe's side of a pair,
# "ratio" and "peer_seconds" (and "mb_per_s" where input bytes are known).
BENCH_JSON=${BENCH_JSON-$root/bench/results.ndjson}
RUN_ID=$(date -u +%Y-%m-%dT%H:%M:%SZ)
SECTION=""

# Each command runs BENCH_REPEAT times (default 3; a pair's two sides in
# turn) and its median time is reported, with the largest peak: single runs
# on a shared 2-core machine move by 20% and more.  A command that changes
# what it runs on gets BENCH_PREP, run untimed before each run to put the
# files back; one that cannot be put back cheaply runs once (BENCH_REPEAT=1
# before the call).
REPEAT=${BENCH_REPEAT:-3}
BENCH_PREP=""

# measure_once CMD: time and peak memory of one run of a command (through
# sh -c), into m_secs and m_mb; 1 (said why) if it failed.  Its standard
# output goes to /dev/null: a dump is timed to the same sink as its peer
# (its file, where one is needed, is written after, untimed).
measure_once() {
	# (and the files it wrote on disk: else the run's fsync writes them)
	if [ -n "$BENCH_PREP" ]; then
		sh -c "$BENCH_PREP" > /dev/null 2> "$work/err" || {
			echo "bench: failed to prepare: $BENCH_PREP" >&2
			cat "$work/err" >&2
			return 1
		}
		sync
	fi
	/usr/bin/time -f '%e %M' -o "$work/time" sh -c "$1" > /dev/null 2> "$work/err" || {
		echo "bench: failed: $1" >&2
		cat "$work/err" >&2
		return 1
	}
	local kb
	read -r m_secs kb < "$work/time"
	m_mb=$(awk -v k="$kb" 'BEGIN { printf "%.1f", k / 1024 }')
}

# median SECS...: the middle one (the lower middle of an even count)
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# most MB...
most() { printf '%s\n' "$@" | sort -n | tail -1; }

# measure CMD [CMD2]: each command REPEAT times (in turn with CMD2 if
# given), the median time and largest peak into m_secs and m_mb (m_secs2
# and m_mb2 for CMD2).
measure() {
	local n=${BENCH_REPEAT:-$REPEAT} i s=() m=() s2=() m2=()
	for ((i = 0; i < n; i++)); do
		measure_once "$1" || return 1
		s+=("$m_secs") m+=("$m_mb")
		if [ -n "${2:-}" ]; then
			measure_once "$2" || return 1
			s2+=("$m_secs") m2+=("$m_mb")
		fi
	done
	if [ -n "${2:-}" ]; then
		m_secs2=$(median "${s2[@]}") m_mb2=$(most "${m2[@]}")
	fi
	m_secs=$(median "${s[@]}") m_mb=$(most "${m[@]}")
}

# json WHAT SIDE COMMAND SECS MB ROWS [PEER_SECS [BYTES]]: one line of $BENCH_JSON
json() {
	[ -n "$BENCH_JSON" ] || return 0
	awk -v run="$RUN_ID" -v n="$ROWS" -v loadavg="$(cut -d' ' -f1 /proc/loadavg)" -v sec="$SECTION" -v what="$1" \
		-v side="$2" -v cmd="$(shown "$3")" \
		-v s="$4" -v mb="$5" -v r="$6" -v p="${7:-0}" -v b="${8:-0}" '
	function q(x) { gsub(/\\/, "\\\\", x); gsub(/"/, "\\\"", x); gsub(/\t/, "\\t", x); return "\"" x "\"" }
	BEGIN {
		printf "{\"run\":%s,\"rows\":%d,\"load\":%s,\"section\":%s,\"what\":%s,\"side\":%s,\"command\":%s,", \
			q(run), n, loadavg, q(sec), q(what), q(side), q(cmd);
		printf "\"seconds\":%.2f,\"peak_mb\":%.1f,\"rows_per_s\":%.0f", s, mb, (s > 0 ? r / s : 0);
		if (p > 0) printf ",\"peer_seconds\":%.2f,\"ratio\":%.2f", p, (p > 0 ? s / p : 0);
		if (b > 0 && s > 0) printf ",\"mb_per_s\":%.1f", b / s / 1e6;
		printf "}\n" }' >> "$BENCH_JSON"
}

# section KEY TITLE [bytes]: KEY names it in the JSON lines, the same in every
# run; a section of bytes prints its own header (time_header for its times)
section() {
	SECTION=$1
	printf '\n== %s\n' "$2"
	[ -n "${3:-}" ] || time_header
}
time_header() {
	printf '%-44s %9s %8s %9s %8s %7s %10s\n' "" "peer s" "peer MB" "dbpipe s" "dbpipe MB" "ratio" "rows/s"
}

# pair WHAT ROWS PEER_CMD OURS_CMD [BYTES]: the peer, then dbpipe, one row;
# BYTES: the input's size, for dbpipe's MB/s.  ours_secs keeps dbpipe's time.
pair() {
	local what=$1 rows=$2 peer=$3 ours=$4 bytes=${5:-0} ps pm
	measure "$peer" "$ours" || return 1
	ps=$m_secs pm=$m_mb
	json "$what" peer "$peer" "$ps" "$pm" "$rows"
	m_secs=$m_secs2 m_mb=$m_mb2
	ours_secs=$m_secs
	json "$what" dbpipe "$ours" "$m_secs" "$m_mb" "$rows" "$ps" "$bytes"
	awk -v w="$what" -v ps="$ps" -v pm="$pm" -v s="$m_secs" -v m="$m_mb" -v r="$rows" -v b="$bytes" 'BEGIN {
		printf "%-44s %9.2f %8.1f %9.2f %8.1f %7s %10s", w, ps, pm, s, m,
			(ps > 0 ? sprintf("%.2fx", s / ps) : "-"), (s > 0 ? sprintf("%.0f", r / s) : "-");
		if (b > 0 && s > 0) printf "  %.0f MB/s of input", b / s / 1e6;
		printf "\n" }'
	printf '    peer:   %s\n    dbpipe: %s\n' "$(shown "$peer")" "$(shown "$ours")"
}

# ours WHAT ROWS CMD [PEER_SECS PEER_WHAT]: dbpipe alone, or against a peer's
# time measured in another row (PEER_WHAT names it).
ours() {
	local what=$1 rows=$2 cmd=$3 ps=${4:-0}
	measure "$cmd" || return 1
	ours_secs=$m_secs
	json "$what" dbpipe "$cmd" "$m_secs" "$m_mb" "$rows" "$ps"
	awk -v w="$what" -v ps="$ps" -v s="$m_secs" -v m="$m_mb" -v r="$rows" 'BEGIN {
		printf "%-44s %9s %8s %9.2f %8.1f %7s %10s\n", w, (ps > 0 ? sprintf("(%.2f)", ps) : "-"), "-", s, m,
			(ps > 0 ? sprintf("%.2fx", s / ps) : "-"), (s > 0 ? sprintf("%.0f", r / s) : "-") }'
	printf '    dbpipe: %s\n' "$(shown "$cmd")"
	[ -z "${5:-}" ] || printf '    peer:   the time of "%s" above\n' "$5"
}

# peer WHAT ROWS CMD: a peer with no dbpipe row beside it.
peer() {
	local what=$1 rows=$2 cmd=$3
	measure "$cmd" || return 1
	peer_secs=$m_secs
	json "$what" peer "$cmd" "$m_secs" "$m_mb" "$rows"
	awk -v w="$what" -v s="$m_secs" -v m="$m_mb" -v r="$rows" 'BEGIN {
		printf "%-44s %9.2f %8.1f %9s %8s %7s %10s\n", w, s, m, "-", "-", "-", (s > 0 ? sprintf("%.0f", r / s) : "-") }'
	printf '    peer:   %s\n' "$(shown "$cmd")"
}

# A command as shown: the scratch directory and the servers' URLs left out.
shown() {
	local c=${1//$work\//}
	printf '%s' "$c" | sed -E "s#postgres(ql)?://[^/' ]*/##g; s#mysql://[^/' ]*/##g; s#-h 127\.0\.0\.1 -P [0-9]+ -u dbpipe ##g" | cut -c1-150
}

CHILD=$((ROWS / 2))
CHANGED=$((ROWS / 100))

bench_postgresql() {
	# shellcheck source=/dev/null
	. "$root/tests/pg_server.bash"
	pg_start > /dev/null
	pg_createdb dev
	pg_psql dev -q <<-SQL
	CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL, email text,
		balance numeric(12,2) NOT NULL, referred_by bigint REFERENCES customers(id), created timestamptz NOT NULL);
	CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers(id),
		total numeric(12,2) NOT NULL, note text);
	INSERT INTO customers SELECT i, 'Customer ' || i, 'c' || i || '@example.com', (i % 100000) / 100.0,
		CASE WHEN i > 1 AND i % 10 = 0 THEN i - 1 END, '2026-01-01'::timestamptz + i * interval '1 second'
		FROM generate_series(1, $ROWS) i;
	INSERT INTO orders SELECT i, (i * 7) % $ROWS + 1, (i % 5000) / 10.0, 'order ' || i FROM generate_series(1, $CHILD) i;
	ANALYZE;
	SQL
	pg_psql postgres -q -c "CREATE DATABASE prod TEMPLATE dev" -c "CREATE DATABASE prod2 TEMPLATE dev" \
		-c "CREATE DATABASE prod3 TEMPLATE dev" -c "CREATE DATABASE full_copy TEMPLATE dev"
	local dev prod prod2 prod3 total
	dev=$(pg_url dev)
	prod=$(pg_url prod)
	prod2=$(pg_url prod2)
	prod3=$(pg_url prod3)
	# the last sync dev -> prod, which leaves prod with dev's mark
	dbdump-rows -q "$dev" | dbapply -q --no-undo "$prod" > /dev/null
	# dev moves on: 1% of the customers change
	pg_psql dev -q -c "UPDATE customers SET email = 'new' || id || '@example.com' WHERE id % 100 = 0"
	total=$((ROWS + CHILD))
	section postgresql "PostgreSQL: $ROWS customers, $CHILD orders"
	pair "dump, both tables (peer: ordered COPY)" $total \
		"psql -X -q -d '$dev' -c 'COPY (SELECT * FROM customers ORDER BY id) TO STDOUT' -c 'COPY (SELECT * FROM orders ORDER BY id) TO STDOUT'" \
		"dbdump-rows -q '$dev'"
	dbdump-rows -q "$dev" > "$work/dev.ndjson"
	dbdump-rows -q "$prod" > "$work/prod.ndjson"
	local bytes
	bytes=$(($(stat -c %s "$work/prod.ndjson") + $(stat -c %s "$work/dev.ndjson")))
	# jq reads one of the two files (and checks nothing but JSON): MB/s is the measure
	peer "jq -c . dev.ndjson (one stream file)" $total "jq -c . '$work/dev.ndjson'"
	ours "dbdiff of two stream files, 1% changed" $total "dbdiff '$work/prod.ndjson' '$work/dev.ndjson'; test \$? -eq 1"
	awk -v b="$bytes" -v s="$ours_secs" -v j="$(stat -c %s "$work/dev.ndjson")" -v p="$peer_secs" 'BEGIN {
		printf "    input MB/s: dbdiff %.0f, jq %.0f\n", b / s / 1e6, j / p / 1e6 }'
	echo 'bench secret' > "$work/key"
	printf '[customers]\nname = fake name\nemail = fake email\n' > "$work/mask.conf"
	printf '[customers]\nid = hash\nname = fake name\nemail = fake email\n' > "$work/mask-key.conf"
	ours "dbmask dev.ndjson (name and email)" $total \
		"dbmask -r '$work/mask.conf' -k '$work/key' '$work/dev.ndjson'"
	ours "dbmask dev.ndjson (the key too: sorted again)" $total \
		"dbmask -r '$work/mask-key.conf' -k '$work/key' '$work/dev.ndjson'"
	local full
	peer "full replace: pg_dump --data-only | psql" $total \
		"psql -X -q -d '$(pg_url full_copy)' -c 'TRUNCATE orders, customers' && pg_dump --data-only '$dev' | psql -X -q -d '$(pg_url full_copy)'"
	full=$peer_secs
	# These three change their target.  Before each run, untimed, the
	# target gets its 1% back (prod's as they were when dev changed them)
	# and its sync state in backups/ is put back as the run found it: none
	# for prod2 and prod3, the last sync's mark and base for prod.
	local undo="UPDATE customers SET email = 'c' || id || '@example.com' WHERE id % 100 = 0"
	mkdir "$work/prod-state"
	cp -p "$work"/backups/prod.* "$work/prod-state/"
	# (a first sync into prod2: --prefer source says dev's changed rows are edits, so they are written as before)
	BENCH_PREP="rm -f '$work'/backups/prod2.* && psql -X -q -d '$prod2' -c \"$undo\"" \
		ours "sync, every row compared, 1% changed" $total \
		"dbdump-rows -q '$dev' | dbapply -q --no-undo --prefer source '$prod2'" "$full" "full replace"
	BENCH_PREP="rm -f '$work'/backups/prod.* && cp -p '$work'/prod-state/* '$work/backups/' && psql -X -q -d '$prod' -c \"$undo\"" \
		ours "sync --since MARK (incremental), 1% changed" $total \
		"dbdump-rows -q --since \"\$(dbapply --mark '$prod')\" '$dev' | dbapply -q --no-undo '$prod'" "$full" "full replace"
	# the digest pipeline (item 4) as a general sync on one machine: each
	# side reads its own rows, only the ranges that differ cross (item 3)
	BENCH_PREP="rm -f '$work'/backups/prod3.* && psql -X -q -d '$prod3' -c \"$undo\"" \
		ours "digest sync (--digest | --against | dbapply), 1% changed" $total \
		"dbdump-rows -q --digest '$prod3' | dbdump-rows -q --against - '$dev' | dbapply -q --no-undo --prefer source '$prod3'" \
		"$full" "full replace"
	ours "dbdiff of the live pair after the sync" $total "dbdiff '$dev' '$prod'"
	ours "dbdiff of the live pair after the digest sync" $total "dbdiff '$dev' '$prod3'"
	pg_stop > /dev/null || true
	unset PG_DIR
}

bench_mariadb() {
	# shellcheck source=/dev/null
	. "$root/tests/mysql_server.bash"
	my_start > /dev/null
	my_sql <<< "CREATE DATABASE dev; CREATE DATABASE prod; CREATE DATABASE full_copy;" # the dbpipe user may use every database
	my_sql dev <<-SQL
	CREATE TABLE customers (id bigint PRIMARY KEY, name varchar(100) NOT NULL, email varchar(100),
		balance decimal(12,2) NOT NULL, referred_by bigint, created datetime(6) NOT NULL,
		FOREIGN KEY (referred_by) REFERENCES customers(id)) ENGINE=InnoDB;
	CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL, total decimal(12,2) NOT NULL,
		note text, FOREIGN KEY (customer_id) REFERENCES customers(id)) ENGINE=InnoDB;
	SET foreign_key_checks = 0;
	INSERT INTO customers SELECT seq, CONCAT('Customer ', seq), CONCAT('c', seq, '@example.com'),
		(seq % 100000) / 100, IF(seq > 1 AND seq % 10 = 0, seq - 1, NULL),
		'2026-01-01' + INTERVAL seq SECOND FROM seq_1_to_$ROWS;
	INSERT INTO orders SELECT seq, (seq * 7) % $ROWS + 1, (seq % 5000) / 10, CONCAT('order ', seq) FROM seq_1_to_$CHILD;
	SQL
	my_sql prod <<-SQL
	CREATE TABLE customers LIKE dev.customers;
	CREATE TABLE orders LIKE dev.orders;
	SET foreign_key_checks = 0;
	INSERT INTO customers SELECT * FROM dev.customers;
	INSERT INTO orders SELECT * FROM dev.orders;
	SQL
	my_sql full_copy <<-SQL
	CREATE TABLE customers LIKE dev.customers;
	CREATE TABLE orders LIKE dev.orders;
	SQL
	my_sql dev <<< "UPDATE customers SET email = CONCAT('new', id, '@example.com') WHERE id % 100 = 0"
	local base dev prod total
	base=${MY_URL%/*}
	dev=$base/dev
	prod=$base/prod
	total=$((ROWS + CHILD))
	section mariadb "MariaDB: $ROWS customers, $CHILD orders"
	pair "dump (peer: mysqldump)" $total \
		"mysqldump -h 127.0.0.1 -P $MY_PORT -u dbpipe --single-transaction --quick dev" \
		"dbdump-rows -q '$dev'"
	peer "mysql --quick, both tables ORDER BY id" $total \
		"mysql -h 127.0.0.1 -P $MY_PORT -u dbpipe --quick -e 'SELECT * FROM customers ORDER BY id; SELECT * FROM orders ORDER BY id' dev"
	local full
	# mysqldump turns foreign_key_checks off itself; TRUNCATE of a parent needs it off too
	peer "full replace: mysqldump --no-create-info | mysql" $total \
		"mysql -h 127.0.0.1 -P $MY_PORT -u dbpipe -e 'SET foreign_key_checks = 0; TRUNCATE orders; TRUNCATE customers' full_copy && mysqldump -h 127.0.0.1 -P $MY_PORT -u dbpipe --single-transaction --quick --no-create-info dev | mysql -h 127.0.0.1 -P $MY_PORT -u dbpipe full_copy"
	full=$peer_secs
	# before each run, untimed: prod's 1% back as they were, and no sync state
	BENCH_PREP="rm -f '$work'/backups/prod.* && mysql -h 127.0.0.1 -P $MY_PORT -u dbpipe -e \"UPDATE customers SET email = CONCAT('c', id, '@example.com') WHERE id % 100 = 0\" prod" \
		ours "sync, every row compared, 1% changed" $total \
		"dbdump-rows -q '$dev' | dbapply -q --no-undo --prefer source '$prod'" "$full" "full replace"
	if command -v pt-table-sync > /dev/null 2>&1; then
		# pt-table-sync exits 2 when it changed rows
		my_sql dev <<< "UPDATE customers SET email = CONCAT('again', id, '@example.com') WHERE id % 100 = 1"
		BENCH_REPEAT=1 peer "pt-table-sync --execute, customers, 1% changed" $total \
			"pt-table-sync --execute --no-check-triggers h=127.0.0.1,P=$MY_PORT,u=dbpipe,p=\$MYSQL_PWD,D=dev,t=customers h=127.0.0.1,P=$MY_PORT,D=prod; test \$? -eq 2" ||
			echo "(pt-table-sync failed: $(head -c 300 "$work/err"))"
	else
		echo "(pt-table-sync: percona-toolkit is not installed; row skipped)"
	fi
	my_stop > /dev/null || true
	unset MY_DIR
}

# The JSON codec: jansson (Debian's libjansson) against lib/json.c on one stream.
bench_json() {
	local sudo=""
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	dpkg-query -W -f='${Status}' libjansson-dev 2>/dev/null | grep -q 'install ok' ||
		$sudo apt-get install -y -qq libjansson-dev > /dev/null
	cc -O2 -D_GNU_SOURCE -I"$root/src/lib" -o "$work/json-parse" "$here/json-parse.c" \
		"$root/build/libdbpipe.a" -ljansson -lxxhash -lz -lm -pthread
	section json "JSON: parsing one row stream ($1)"
	"$work/json-parse" "$1"
}

# A SQLite database $1 of $ROWS customers (a self-reference every tenth row).
sqlite_customers() {
	local rows=${2:-$ROWS}
	sqlite3 "$1" <<-SQL
	CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT, balance NUMERIC(12,2) NOT NULL,
		referred_by INTEGER REFERENCES customers(id), created DATETIME NOT NULL);
	WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $rows)
	INSERT INTO customers SELECT i, 'Customer ' || i, 'c' || i || '@example.com', (i % 100000) / 100.0,
		CASE WHEN i > 1 AND i % 10 = 0 THEN i - 1 END, datetime(1767225600 + i, 'unixepoch') FROM n;
	SQL
}

# Drift $1, a copy of sqlite_customers' $2 customers, by 1% of each kind:
# 0.5% updated, 0.25% deleted, 0.25% inserted (ids ending in 1 are never
# referred to: referred_by is id - 1 of ids ending in 0).
sqlite_drift() {
	sqlite3 "$1" "UPDATE customers SET email = 'new' || id || '@example.com' WHERE id % 200 = 0;
		DELETE FROM customers WHERE id % 400 = 1;
		INSERT INTO customers SELECT id + $2, name, email, balance, NULL, created FROM customers WHERE id % 400 = 2"
}


# The whole SQLite sync (issue 15, item 1): a dev that drifted 1% from prod
# (0.5% updated, 0.25% deleted, 0.25% inserted), applied with --mirror
# (checks, spool and undo stream included) against sqldiff's SQL run by
# sqlite3 (to a file first: sqlite3 cannot write while sqldiff reads).
bench_sqlite_mirror() {
	command -v sqldiff > /dev/null 2>&1 || {
		echo "(sqldiff: package sqlite3-tools is not installed; the whole-sync rows skipped)"
		return 0
	}
	sqlite_customers "$work/drift.db"
	cp "$work/drift.db" "$work/drift-base.db"
	sqlite_drift "$work/drift.db" "$ROWS"
	section sqlite-sync "SQLite: the whole sync of $ROWS customers, 1% drift (0.5% updated, 0.25% deleted, 0.25% inserted)"
	BENCH_PREP="cp '$work/drift-base.db' '$work/drift-peer.db' && cp '$work/drift-base.db' '$work/drift-ours.db' && rm -rf '$work'/backups/drift-ours*" \
		pair "whole sync (peer: sqldiff | sqlite3)" $ROWS \
		"sqldiff --primarykey --transaction '$work/drift-peer.db' '$work/drift.db' > '$work/patch.sql' && sqlite3 '$work/drift-peer.db' < '$work/patch.sql'" \
		"dbdump-rows -q '$work/drift.db' | dbapply -q --mirror '$work/drift-ours.db'"
	echo "    (dbapply --mirror checks, spools and writes its undo stream and sync base)"
	rm -f "$work/drift.db" "$work/drift-base.db" "$work/drift-peer.db" "$work/drift-ours.db" "$work/patch.sql"
}

bench_sqlite() {
	sqlite_customers "$work/dev.db"
	cp "$work/dev.db" "$work/prod.db"
	sqlite3 "$work/dev.db" "UPDATE customers SET email = 'new' || id || '@example.com' WHERE id % 100 = 0"
	section sqlite "SQLite: $ROWS customers"
	pair "dump (peer: sqlite3 -csv)" $ROWS \
		"sqlite3 -csv '$work/dev.db' 'SELECT * FROM customers ORDER BY id'" \
		"dbdump-rows -q '$work/dev.db'"
	dbdump-rows -q "$work/dev.db" > "$work/s.ndjson"
	# dbdiff of two stream files against GNU diff of the same files (lines
	# only: no keys, types or checks, and both files held in memory)
	dbdump-rows -q "$work/prod.db" > "$work/s-prod.ndjson"
	local bytes
	bytes=$(($(stat -c %s "$work/s-prod.ndjson") + $(stat -c %s "$work/s.ndjson")))
	pair "diff of two stream files (peer: GNU diff)" $ROWS \
		"diff '$work/s-prod.ndjson' '$work/s.ndjson'; test \$? -eq 1" \
		"dbdiff '$work/s-prod.ndjson' '$work/s.ndjson'; test \$? -eq 1" "$bytes"
	rm -f "$work/s-prod.ndjson"
	if command -v sqldiff > /dev/null 2>&1; then
		pair "diff of the SQLite pair (peer: sqldiff)" $ROWS \
			"sqldiff --primarykey '$work/prod.db' '$work/dev.db'" \
			"dbdiff '$work/prod.db' '$work/dev.db'; test \$? -eq 1"
	else
		ours "diff of the SQLite pair" $ROWS "dbdiff '$work/prod.db' '$work/dev.db'; test \$? -eq 1"
	fi
	cp "$work/prod.db" "$work/prod-orig.db"
	dbdiff "$work/prod.db" "$work/dev.db" > "$work/s-changes.ndjson" || true
	# each run a first sync into the same prod (no sync base left by the one before)
	BENCH_PREP="cp '$work/prod-orig.db' '$work/prod.db' && rm -rf '$work'/backups/prod.* '$work'/backups/prod-*" \
		ours "sync, every row compared, 1% changed" $ROWS \
		"dbdump-rows -q '$work/dev.db' | dbapply -q --no-undo --prefer source '$work/prod.db'"
	BENCH_PREP="cp '$work/prod-orig.db' '$work/prod-keyed.db'" \
		ours "change stream of 1% of the rows, by key" $CHANGED \
		"dbapply -q --no-undo '$work/prod-keyed.db' '$work/s-changes.ndjson'"
	bench_sqlite_mirror
	bench_json "$work/s.ndjson"
}

# The digest sync over a slow link (issue 15, item 4): the bytes that cross
# the link, digest (target to source) plus answer (source to target),
# against a full dump, plain and gzip'd, for a few range sizes.  Bytes, not
# seconds.  SQLite on both sides (the bytes are the same on every engine).
# The set: customers (a self-reference), orders, order_items (a composite
# key); dev drifts 0.1% from prod in each table: 0.05% updated and 0.025%
# deleted, spread evenly over the keys, 0.025% inserted with new ids past
# the end, as an id generator gives them.
digest_row() {
	awk -v l="$1" -v b="$2" -v g="$3" -v fb="$4" -v fg="$5" 'BEGIN {
		printf "%-44s %12d %12d %8.2f%% %8.2f%%\n", l, b, g, 100 * b / fb, 100 * g / fg }'
}
gz_bytes() { gzip -c "$1" | wc -c; }
# dev.db in dir $1: prod.db drifted by the moduli $2 (updates, 1/$2 of the
# rows), $3 (deletes and inserts), $4 and $5 (order items): 2000 4000 1000
# 2000 is 0.1%.
digest_drift() {
	cp "$1/prod.db" "$1/dev.db"
	# ids ending in 1 are never referred to (referred_by is id - 1 of ids ending in 0)
	sqlite3 "$1/dev.db" <<-SQL
	UPDATE customers SET email = 'new' || id || '@example.com' WHERE id % $2 = 0;
	DELETE FROM customers WHERE id % $3 = 1;
	INSERT INTO customers SELECT id + $ROWS, name, email, balance, NULL, created FROM customers WHERE id % $3 = 2;
	UPDATE orders SET note = 'changed ' || id WHERE id % $2 = 3;
	DELETE FROM order_items WHERE order_id IN (SELECT id FROM orders WHERE id % $3 = 5);
	DELETE FROM orders WHERE id % $3 = 5;
	INSERT INTO orders SELECT id + $CHILD, customer_id, total, note FROM orders WHERE id % $3 = 6;
	UPDATE order_items SET qty = qty + 10 WHERE order_id % $4 = 7 AND line = 1;
	DELETE FROM order_items WHERE order_id % $5 = 9 AND line = 2;
	INSERT INTO order_items SELECT order_id, 3, sku, qty FROM order_items WHERE order_id % $5 = 11 AND line = 1;
	SQL
}
# digest + answer for --digest-rows $2 and --digest-cells $3, dev.db against
# prod.db in dir $1, as a row of the table (label $4); full dump bytes in
# $full and $full_gz
digest_shape() {
	local db dg ab ag
	dbdump-rows -q --digest --digest-rows "$2" --digest-cells "$3" "$1/prod.db" > "$1/digest.ndjson"
	dbdump-rows -q --against "$1/digest.ndjson" "$1/dev.db" > "$1/answer.ndjson"
	db=$(stat -c %s "$1/digest.ndjson")
	dg=$(gz_bytes "$1/digest.ndjson")
	ab=$(stat -c %s "$1/answer.ndjson")
	ag=$(gz_bytes "$1/answer.ndjson")
	if [ -n "${4:-}" ]; then
		digest_row "$4: digest + answer" $((db + ab)) $((dg + ag)) "$full" "$full_gz"
		return
	fi
	digest_row "rows $2, cells $3: digest" "$db" "$dg" "$full" "$full_gz"
	digest_row "rows $2, cells $3: answer (--against)" "$ab" "$ag" "$full" "$full_gz"
	digest_row "rows $2, cells $3: digest + answer" $((db + ab)) $((dg + ag)) "$full" "$full_gz"
}
bench_digest() {
	local d=$work/digest full full_gz db dg ab ag
	mkdir -p "$d"
	sqlite_customers "$d/prod.db"
	sqlite3 "$d/prod.db" <<-SQL
	CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL, total NUMERIC(12,2) NOT NULL, note TEXT);
	CREATE TABLE order_items (order_id INTEGER NOT NULL REFERENCES orders(id), line INTEGER NOT NULL,
		sku TEXT NOT NULL, qty INTEGER NOT NULL, PRIMARY KEY (order_id, line));
	WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $CHILD)
	INSERT INTO orders SELECT i, (i * 7) % $ROWS + 1, (i % 5000) / 10.0, 'order ' || i FROM n;
	INSERT INTO order_items SELECT id, 1, 'sku-' || (id % 977), 1 + id % 5 FROM orders;
	INSERT INTO order_items SELECT id, 2, 'sku-' || (id % 983), 1 + id % 3 FROM orders;
	SQL
	digest_drift "$d" 2000 4000 1000 2000
	section digest "Digest sync over a slow link: $ROWS customers, $CHILD orders, $ROWS order_items; 0.1% drift" bytes
	printf '%-44s %12s %12s %9s %9s\n' "bytes crossing the link" "plain" "gzip" "% plain" "% gzip"
	dbdump-rows -q "$d/dev.db" > "$d/full.ndjson"
	full=$(stat -c %s "$d/full.ndjson")
	full_gz=$(gz_bytes "$d/full.ndjson")
	digest_row "full dump, dbdump-rows dev.db" "$full" "$full_gz" "$full" "$full_gz"
	# rows:cells (--digest-rows, --digest-cells); 64:0 is the digest of
	# ranges alone (the default before the sketches), 1024:48 the default.
	for rc in ${BENCH_DIGEST_SHAPES:-64:0 1024:24 1024:36 1024:48 2048:48}; do
		digest_shape "$d" "${rc%:*}" "${rc#*:}"
	done
	# More drift (of the full dump above): 0.3% and 1%, each kind alike.
	for m in "667 1333 333 667 0.3%" "200 400 100 200 1%"; do
		set -- $m
		digest_drift "$d" "$1" "$2" "$3" "$4"
		digest_shape "$d" 64 0 "drift $5, rows 64, cells 0"
		digest_shape "$d" 1024 48 "drift $5, the defaults"
	done
	digest_drift "$d" 2000 4000 1000 2000
	# Time and peak memory (which must not grow with the tables) at the
	# default range size, beside a full dump.
	local total=$((2 * ROWS + CHILD))
	time_header
	ours "dbdump-rows dev.db (full dump)" $total "dbdump-rows -q '$d/dev.db' > /dev/null"
	ours "dbdump-rows --digest prod.db" $total "dbdump-rows -q --digest '$d/prod.db' > '$d/digest.ndjson'"
	ours "dbdump-rows --against digest dev.db" $total \
		"dbdump-rows -q --against '$d/digest.ndjson' '$d/dev.db' > '$d/answer.ndjson'"
	# The answer applied: the pair must then be equal, and a second digest
	# finds nothing (its bytes are then the digest alone).
	cp "$d/prod.db" "$d/synced.db"
	dbapply -q --no-undo --mirror "$d/synced.db" "$d/answer.ndjson" > /dev/null
	if dbdiff "$d/synced.db" "$d/dev.db" > /dev/null; then
		echo "after dbapply --mirror of that answer: dbdiff synced.db dev.db finds no difference"
	else
		echo "bench: after the digest sync, dbdiff still finds differences" >&2
	fi
	dbdump-rows -q --digest "$d/synced.db" > "$d/digest.ndjson"
	dbdump-rows -q --against "$d/digest.ndjson" "$d/dev.db" > "$d/answer.ndjson"
	db=$(stat -c %s "$d/digest.ndjson")
	dg=$(gz_bytes "$d/digest.ndjson")
	ab=$(stat -c %s "$d/answer.ndjson")
	ag=$(gz_bytes "$d/answer.ndjson")
	digest_row "no drift, the defaults: digest + answer" $((db + ab)) $((dg + ag)) "$full" "$full_gz"
	rm -rf "$d"
}

# Peak memory at two sizes (ROWS / 10 and ROWS customers, SQLite, 1% drift
# of each kind): a streaming program's peak must not grow with the table.
# One run each (memory does not move as time does); times in the JSON lines.
memory_pair() {
	local n=$1 d=$2
	sqlite_customers "$d/prod.db" "$n"
	cp "$d/prod.db" "$d/dev.db"
	sqlite_drift "$d/dev.db" "$n"
	cp "$d/prod.db" "$d/target.db"
	dbdump-rows -q "$d/prod.db" > "$d/prod.ndjson"
}
bench_memory() {
	local small=$((ROWS / 10)) large=$ROWS n i
	section memory "Peak memory, SQLite customers at two sizes, 1% drift" bytes
	printf '%-52s %10s %10s %7s\n' "" "MB $small" "MB $large" "large/small"
	local whats=(
		"dbdump-rows dev.db"
		"dbdiff prod.ndjson dev.ndjson (two stream files)"
		"dbdiff prod.db dev.db (the live pair)"
		"dbapply --mirror target.db < dev.ndjson (first sync)"
		"dbapply target.db < dev.ndjson (three-way, base)"
		"dbmerge prod.ndjson dev.ndjson prod.ndjson"
		"dbbackup dev.db (written, read back)"
		"dbmask dev.ndjson (name and email)"
		"dbdump-rows --digest prod.db"
		"dbdump-rows --against digest dev.db"
	)
	local cmds=(
		"dbdump-rows -q dev.db > dev.ndjson"
		"dbdiff prod.ndjson dev.ndjson; test \$? -eq 1"
		"dbdiff prod.db dev.db; test \$? -eq 1"
		"dbapply -q --mirror target.db < dev.ndjson"
		"dbapply -q target.db < dev.ndjson"
		"dbmerge prod.ndjson dev.ndjson prod.ndjson; test \$? -le 1"
		"dbbackup -q -d bk dev.db"
		"dbmask -r mask.conf -k key dev.ndjson"
		"dbdump-rows -q --digest prod.db > digest.ndjson"
		"dbdump-rows -q --against digest.ndjson dev.db"
	)
	local -A mb
	for n in $small $large; do
		local d=$work/memory-$n
		mkdir -p "$d"
		memory_pair "$n" "$d"
		echo 'bench secret' > "$d/key"
		printf '[customers]\nname = fake name\nemail = fake email\n' > "$d/mask.conf"
		for i in "${!cmds[@]}"; do
			measure_once "cd '$d' && ${cmds[$i]}" || return 1
			mb[$n,$i]=$m_mb
			ROWS=$n json "${whats[$i]}" dbpipe "${cmds[$i]}" "$m_secs" "$m_mb" "$n"
		done
		rm -rf "$d"
	done
	for i in "${!cmds[@]}"; do
		awk -v w="${whats[$i]}" -v a="${mb[$small,$i]}" -v b="${mb[$large,$i]}" 'BEGIN {
			printf "%-52s %10.1f %10.1f %6.2fx\n", w, a, b, (a > 0 ? b / a : 0) }'
	done
}

echo "dbpipe benchmark, $RUN_ID, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), rows: $ROWS, times: the median of $REPEAT runs (BENCH_REPEAT)"
[ -z "$BENCH_JSON" ] || echo "(each measurement also appended to $BENCH_JSON as a JSON line)"
# BENCH_ONLY=digest, sqlite, postgresql, mariadb or memory: that section
# alone (digest, sqlite and memory: no server started)
case "${BENCH_ONLY:-}" in
digest | sqlite | postgresql | mariadb | memory)
	"bench_$BENCH_ONLY"
	exit 0
	;;
"") ;;
*)
	echo "bench: BENCH_ONLY is digest, sqlite, postgresql, mariadb or memory, not \"$BENCH_ONLY\"" >&2
	exit 2
	;;
esac
bench_sqlite
for e in $ENGINES; do
	"bench_$e"
done
bench_digest
bench_memory
