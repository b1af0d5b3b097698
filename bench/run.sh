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
# percona-toolkit only if the archive has it (its row is skipped otherwise).
if [ ! -x /usr/bin/time ] || ! command -v pt-table-sync > /dev/null 2>&1; then
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	$sudo apt-get install -y -qq time percona-toolkit > /dev/null 2>&1 ||
		$sudo apt-get install -y -qq time > /dev/null 2>&1 || true
fi

cleanup() {
	[ -n "${PG_DIR:-}" ] && pg_stop > /dev/null 2>&1 || true
	[ -n "${MY_DIR:-}" ] && my_stop > /dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

# run LABEL ROWS CMD...: time and peak memory of one command (through sh -c)
printf '%-58s %9s %12s %10s\n' "what" "seconds" "rows/s" "peak MB"
run() {
	local label=$1 rows=$2
	shift 2
	/usr/bin/time -f '%e %M' -o "$work/time" sh -c "$*" > /dev/null 2> "$work/err" || {
		echo "bench: failed: $*" >&2
		cat "$work/err" >&2
		return 1
	}
	read -r secs kb < "$work/time"
	last_secs=$secs
	awk -v l="$label" -v s="$secs" -v k="$kb" -v r="$rows" 'BEGIN {
		rs = (r > 0 && s > 0) ? sprintf("%.0f", r / s) : "-";
		printf "%-58s %9.2f %12s %10.1f\n", l, s, rs, k / 1024 }'
}
section() { printf '\n== %s\n' "$*"; }
# ratio LABEL PEER_SECS OURS_SECS [BYTES]: ours against the peer (and MB/s of input)
ratio() {
	awk -v l="$1" -v p="$2" -v o="$3" -v b="${4:-0}" 'BEGIN {
		printf "%-58s %9s", l, (p > 0 ? sprintf("%.2fx", o / p) : "-");
		if (b > 0 && o > 0) printf "   dbpipe %.0f MB/s of input", b / o / 1e6;
		printf "\n" }'
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
		-c "CREATE DATABASE full_copy TEMPLATE dev"
	local dev prod prod2 total
	dev=$(pg_url dev)
	prod=$(pg_url prod)
	prod2=$(pg_url prod2)
	# the last sync dev -> prod, which leaves prod with dev's mark
	dbdump-rows -q "$dev" | dbapply -q --no-undo "$prod" > /dev/null
	# dev moves on: 1% of the customers change
	pg_psql dev -q -c "UPDATE customers SET email = 'new' || id || '@example.com' WHERE id % 100 = 0"
	total=$((ROWS + CHILD))
	section "PostgreSQL: $ROWS customers, $CHILD orders"
	run "psql COPY (SELECT ... ORDER BY id) TO STDOUT, both tables" $total \
		"psql -X -q -d '$dev' -c 'COPY (SELECT * FROM customers ORDER BY id) TO STDOUT' -c 'COPY (SELECT * FROM orders ORDER BY id) TO STDOUT'"
	run "dbdump-rows dev > dev.ndjson" $total "dbdump-rows -q '$dev' > '$work/dev.ndjson'"
	dbdump-rows -q "$prod" > "$work/prod.ndjson"
	run "jq -c . dev.ndjson" $total "jq -c . '$work/dev.ndjson'"
	run "dbdiff prod.ndjson dev.ndjson (1% changed)" $total "dbdiff '$work/prod.ndjson' '$work/dev.ndjson'; test \$? -eq 1"
	echo 'bench secret' > "$work/key"
	printf '[customers]\nname = fake name\nemail = fake email\n' > "$work/mask.conf"
	printf '[customers]\nid = hash\nname = fake name\nemail = fake email\n' > "$work/mask-key.conf"
	run "dbmask dev.ndjson (customers' name and email)" $total \
		"dbmask -r '$work/mask.conf' -k '$work/key' '$work/dev.ndjson'"
	run "dbmask dev.ndjson (customers' key too: sorted again, 64 MB)" $total \
		"dbmask -r '$work/mask-key.conf' -k '$work/key' '$work/dev.ndjson'"
	run "dbdump-rows dev | dbapply prod2 (every row compared, 1% changed)" $total \
		"dbdump-rows -q '$dev' | dbapply -q --no-undo '$prod2'"
	run "dbdump-rows --since MARK dev | dbapply prod (incremental, 1% changed)" $total \
		"dbdump-rows -q --since \"\$(dbapply --mark '$prod')\" '$dev' | dbapply -q --no-undo '$prod'"
	run "pg_dump --data-only dev | psql (truncated copy: full replace)" $total \
		"psql -X -q -d '$(pg_url full_copy)' -c 'TRUNCATE orders, customers' && pg_dump --data-only '$dev' | psql -X -q -d '$(pg_url full_copy)'"
	run "dbdiff dev prod after the sync (two live databases, no differences)" $total "dbdiff '$dev' '$prod'"
	pg_stop > /dev/null || true
	unset PG_DIR
}

bench_mariadb() {
	# shellcheck source=/dev/null
	. "$root/tests/mysql_server.bash"
	my_start > /dev/null
	my_sql <<< "CREATE DATABASE dev; CREATE DATABASE prod;" # the dbpipe user may use every database
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
	my_sql dev <<< "UPDATE customers SET email = CONCAT('new', id, '@example.com') WHERE id % 100 = 0"
	local base dev prod total
	base=${MY_URL%/*}
	dev=$base/dev
	prod=$base/prod
	total=$((ROWS + CHILD))
	section "MariaDB: $ROWS customers, $CHILD orders"
	run "mysqldump dev" $total "mysqldump -h 127.0.0.1 -P $MY_PORT -u dbpipe --single-transaction --quick dev"
	run "mysql --quick -e 'SELECT ... ORDER BY id', both tables" $total \
		"mysql -h 127.0.0.1 -P $MY_PORT -u dbpipe --quick -e 'SELECT * FROM customers ORDER BY id; SELECT * FROM orders ORDER BY id' dev"
	run "dbdump-rows dev > dev.ndjson" $total "dbdump-rows -q '$dev' > '$work/dev.ndjson'"
	run "dbdump-rows dev | dbapply prod (every row compared, 1% changed)" $total \
		"dbdump-rows -q '$dev' | dbapply -q --no-undo '$prod'"
	if command -v pt-table-sync > /dev/null 2>&1; then
		# pt-table-sync exits 2 when it changed rows
		my_sql dev <<< "UPDATE customers SET email = CONCAT('again', id, '@example.com') WHERE id % 100 = 1"
		run "pt-table-sync --execute dev -> prod, customers (1% changed)" $total \
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
	section "JSON: parsing one row stream ($1)"
	"$work/json-parse" "$1"
}

# A SQLite database $1 of $ROWS customers (a self-reference every tenth row).
sqlite_customers() {
	sqlite3 "$1" <<-SQL
	CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT, balance NUMERIC(12,2) NOT NULL,
		referred_by INTEGER REFERENCES customers(id), created DATETIME NOT NULL);
	WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $ROWS)
	INSERT INTO customers SELECT i, 'Customer ' || i, 'c' || i || '@example.com', (i % 100000) / 100.0,
		CASE WHEN i > 1 AND i % 10 = 0 THEN i - 1 END, datetime(1767225600 + i, 'unixepoch') FROM n;
	SQL
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
	local peer
	sqlite_customers "$work/drift.db"
	cp "$work/drift.db" "$work/drift-peer.db"
	cp "$work/drift.db" "$work/drift-ours.db"
	# ids ending in 1 are never referred to (referred_by is id - 1 of ids ending in 0)
	sqlite3 "$work/drift.db" "UPDATE customers SET email = 'new' || id || '@example.com' WHERE id % 200 = 0;
		DELETE FROM customers WHERE id % 400 = 1;
		INSERT INTO customers SELECT id + $ROWS, name, email, balance, NULL, created FROM customers WHERE id % 400 = 2"
	section "SQLite: the whole sync of $ROWS customers, 1% drift (0.5% updated, 0.25% deleted, 0.25% inserted)"
	run "sqldiff --primarykey tgt dev > patch.sql && sqlite3 tgt < patch.sql" $ROWS \
		"sqldiff --primarykey --transaction '$work/drift-peer.db' '$work/drift.db' > '$work/patch.sql' && sqlite3 '$work/drift-peer.db' < '$work/patch.sql'"
	peer=$last_secs
	run "dbdump-rows dev.db | dbapply --mirror tgt.db (undo stream written)" $ROWS \
		"dbdump-rows -q '$work/drift.db' | dbapply -q --mirror '$work/drift-ours.db'"
	ratio "  dbapply --mirror against sqldiff | sqlite3" "$peer" "$last_secs"
	rm -f "$work/drift.db" "$work/drift-peer.db" "$work/drift-ours.db" "$work/patch.sql"
}

bench_sqlite() {
	sqlite_customers "$work/dev.db"
	cp "$work/dev.db" "$work/prod.db"
	sqlite3 "$work/dev.db" "UPDATE customers SET email = 'new' || id || '@example.com' WHERE id % 100 = 0"
	section "SQLite: $ROWS customers"
	run "sqlite3 -csv 'SELECT * ... ORDER BY id'" $ROWS "sqlite3 -csv '$work/dev.db' 'SELECT * FROM customers ORDER BY id'"
	run "dbdump-rows dev.db" $ROWS "dbdump-rows -q '$work/dev.db' > '$work/s.ndjson'"
	# dbdiff of two stream files against GNU diff of the same files (lines
	# only: no keys, types or checks, and both files held in memory)
	dbdump-rows -q "$work/prod.db" > "$work/s-prod.ndjson"
	local bytes peer
	bytes=$(($(stat -c %s "$work/s-prod.ndjson") + $(stat -c %s "$work/s.ndjson")))
	run "diff prod.ndjson dev.ndjson (GNU diff, 1% changed)" $ROWS \
		"diff '$work/s-prod.ndjson' '$work/s.ndjson'; test \$? -eq 1"
	peer=$last_secs
	run "dbdiff prod.ndjson dev.ndjson (1% changed)" $ROWS \
		"dbdiff '$work/s-prod.ndjson' '$work/s.ndjson'; test \$? -eq 1"
	ratio "  dbdiff against GNU diff" "$peer" "$last_secs" "$bytes"
	rm -f "$work/s-prod.ndjson"
	cp "$work/prod.db" "$work/prod-keyed.db"
	dbdiff "$work/prod.db" "$work/dev.db" > "$work/s-changes.ndjson" || true
	run "dbdump-rows dev.db | dbapply prod.db (every row compared, 1% changed)" $ROWS \
		"dbdump-rows -q '$work/dev.db' | dbapply -q --no-undo '$work/prod.db'"
	run "dbapply prod.db < change stream (1% of rows, looked up by key)" $CHANGED \
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
bench_digest() {
	local d=$work/digest full full_gz db dg ab ag r
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
	cp "$d/prod.db" "$d/dev.db"
	# ids ending in 1 are never referred to (referred_by is id - 1 of ids ending in 0)
	sqlite3 "$d/dev.db" <<-SQL
	UPDATE customers SET email = 'new' || id || '@example.com' WHERE id % 2000 = 0;
	DELETE FROM customers WHERE id % 4000 = 1;
	INSERT INTO customers SELECT id + $ROWS, name, email, balance, NULL, created FROM customers WHERE id % 4000 = 2;
	UPDATE orders SET note = 'changed ' || id WHERE id % 2000 = 3;
	DELETE FROM order_items WHERE order_id IN (SELECT id FROM orders WHERE id % 4000 = 5);
	DELETE FROM orders WHERE id % 4000 = 5;
	INSERT INTO orders SELECT id + $CHILD, customer_id, total, note FROM orders WHERE id % 4000 = 6;
	UPDATE order_items SET qty = qty + 10 WHERE order_id % 1000 = 7 AND line = 1;
	DELETE FROM order_items WHERE order_id % 2000 = 9 AND line = 2;
	INSERT INTO order_items SELECT order_id, 3, sku, qty FROM order_items WHERE order_id % 2000 = 11 AND line = 1;
	SQL
	section "Digest sync over a slow link: $ROWS customers, $CHILD orders, $ROWS order_items; 0.1% drift"
	printf '%-44s %12s %12s %9s %9s\n' "bytes crossing the link" "plain" "gzip" "% plain" "% gzip"
	dbdump-rows -q "$d/dev.db" > "$d/full.ndjson"
	full=$(stat -c %s "$d/full.ndjson")
	full_gz=$(gz_bytes "$d/full.ndjson")
	digest_row "full dump, dbdump-rows dev.db" "$full" "$full_gz" "$full" "$full_gz"
	for r in ${BENCH_DIGEST_ROWS:-30 100 300 1000}; do
		dbdump-rows -q --digest --digest-rows "$r" "$d/prod.db" > "$d/digest.ndjson"
		dbdump-rows -q --against "$d/digest.ndjson" "$d/dev.db" > "$d/answer.ndjson"
		db=$(stat -c %s "$d/digest.ndjson")
		dg=$(gz_bytes "$d/digest.ndjson")
		ab=$(stat -c %s "$d/answer.ndjson")
		ag=$(gz_bytes "$d/answer.ndjson")
		digest_row "--digest-rows $r: digest" "$db" "$dg" "$full" "$full_gz"
		digest_row "--digest-rows $r: answer (--against)" "$ab" "$ag" "$full" "$full_gz"
		digest_row "--digest-rows $r: digest + answer" $((db + ab)) $((dg + ag)) "$full" "$full_gz"
	done
	# Time and peak memory (which must not grow with the tables) at the
	# default range size, beside a full dump.
	local total=$((2 * ROWS + CHILD))
	run "dbdump-rows dev.db (full dump)" $total "dbdump-rows -q '$d/dev.db' > /dev/null"
	run "dbdump-rows --digest prod.db" $total "dbdump-rows -q --digest '$d/prod.db' > '$d/digest.ndjson'"
	run "dbdump-rows --against digest dev.db" $total \
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
	digest_row "no drift, default --digest-rows: digest + answer" $((db + ab)) $((dg + ag)) "$full" "$full_gz"
	rm -rf "$d"
}

echo "dbpipe benchmark, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, rows: $ROWS"
if [ "${BENCH_ONLY:-}" = digest ]; then
	bench_digest
	exit 0
fi
bench_sqlite
for e in $ENGINES; do
	"bench_$e"
done
bench_digest
