# Shared set-up for the bats files: the programs under test, a scratch
# directory per test, bats-support/bats-assert, and small fixtures.
TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$TESTS_DIR/.." && pwd)
BIN=${DBPIPE_BIN:-$ROOT/bin}
PATH="$BIN:$PATH"
export PATH
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load

common_setup() {
	T=$BATS_TEST_TMPDIR
	cd "$T" || return 1
}

# A SQLite database from SQL text on stdin.
mkdb() {
	rm -f "$1"
	sqlite3 -bail "$1"
}

# The office example: clients (self-reference), case types, cases, documents.
office_db() {
	mkdb "$1" < "$ROOT/examples/office-schema.sql"
	sqlite3 -bail "$1" < "$ROOT/examples/office-seed.sql"
}

# Two databases or streams hold the same rows and the same schema: dbdiff
# and dbdiff --schema both exit 0.
assert_same_rows_and_schema() {
	run dbdiff "$1" "$2"
	assert_success
	run dbdiff --schema "$1" "$2"
	assert_success
}

# Dump without the header (its "at" time differs between runs).
dump_body() {
	dbdump-rows "$@" | tail -n +2
}

# After editing rows of a stream, write the hashes its lines now give into
# each table's end record and the final one.
resign() {
	command -v xxhsum > /dev/null || skip "xxhsum (package xxhash) is needed to re-sign an edited stream"
	local t h
	for t in $(sed -n 's/^{"type":"table","table":"\([^"]*\)".*/\1/p' "$1"); do
		h=$(grep -E "^\{\"type\":\"(row|range)\",\"table\":\"$t\"," "$1" | xxhsum -H3 | grep -oE '\b[0-9a-f]{16}\b')
		sed -i 's/^\({"type":"end","table":"'"$t"'","rows":[0-9]*,"hash":"\)[0-9a-f]*"/\1'"$h"'"/' "$1"
	done
	h=$(tail -n +2 "$1" | head -n -1 | xxhsum -H3 | grep -oE '\b[0-9a-f]{16}\b')
	sed -i '$s/"hash":"[0-9a-f]*"/"hash":"'"$h"'"/' "$1"
}
