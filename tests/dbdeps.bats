#!/usr/bin/env bats
# dbdeps: dependency order, levels and foreign-key cycles of a database or stream.

bats_require_minimum_version 1.5.0

setup() {
	load helpers
	common_setup
	office_db office.db
}

# After editing table records of a stream (they are not in any per-table
# hash), write the hash they now give into the final end record.
rehash() {
	command -v xxhsum > /dev/null || skip "xxhsum (package xxhash) is needed to re-sign an edited stream"
	local h
	h=$(tail -n +2 "$1" | head -n -1 | xxhsum -H3 | grep -oE '\b[0-9a-f]{16}\b')
	sed -i '$s/"hash":"[0-9a-f]*"/"hash":"'"$h"'"/' "$1"
}

# Two tables that point at each other (departments.head_id is nullable,
# employees.dept_id is not) and a child of the cycle.
cycle_db() {
	mkdb "$1" <<-'SQL'
	CREATE TABLE departments (id INTEGER PRIMARY KEY, name TEXT NOT NULL,
		head_id INTEGER REFERENCES employees(id));
	CREATE TABLE employees (id INTEGER PRIMARY KEY, name TEXT NOT NULL,
		dept_id INTEGER NOT NULL REFERENCES departments(id));
	CREATE TABLE badges (id INTEGER PRIMARY KEY, employee_id INTEGER NOT NULL REFERENCES employees(id));
	INSERT INTO departments VALUES (1, 'sales', 2);
	INSERT INTO employees VALUES (1, 'Ann', 1), (2, 'Bob', 1);
	INSERT INTO badges VALUES (7, 2);
	SQL
}

@test "usage errors: too many operands, --dot with --ndjson, unknown option; --help" {
	run dbdeps a.db b.db
	assert_failure 2
	assert_output --partial "dbdeps: too many operands"
	assert_output --partial "Try 'dbdeps --help'."
	run dbdeps --dot --ndjson office.db
	assert_failure 2
	assert_output --partial "--dot and --ndjson exclude each other"
	run dbdeps --bogus office.db
	assert_failure 2
	run dbdeps --help
	assert_success
	assert_output --partial "usage: dbdeps"
	assert_output --partial "--no-defer"
}

@test "an unknown option, long or short: getopt's one line and the --help hint, nothing more" {
	run -2 --separate-stderr dbdeps --bogus
	assert_output ""
	assert_equal "$stderr" "dbdeps: unrecognized option '--bogus'
Try 'dbdeps --help'."
	run -2 --separate-stderr dbdeps -Z
	assert_output ""
	assert_equal "$stderr" "dbdeps: invalid option -- 'Z'
Try 'dbdeps --help'."
}

@test "a missing database and a missing file are errors" {
	run dbdeps nothere.db
	assert_failure 2
	assert_output --partial "nothere.db: no such SQLite database file"
	run dbdeps nothere.ndjson
	assert_failure 2
	assert_output --partial "nothere.ndjson: No such file or directory"
}

@test "the office: parents first with levels; the self-reference is deferred" {
	run dbdeps office.db
	assert_success
	cat > expected <<-'EOF'
	0 case_types
	0 clients
	1 cases
	2 documents
	cycle: clients (self-reference)
	  clients(referred_by) -> clients(id): deferred, checked at commit
	EOF
	diff -u expected - <<<"$output"
}

@test "a database, a stream file, a gzip stream and stdin (- or nothing) give the same report" {
	dbdeps office.db > from-db
	dbdump-rows office.db > s.ndjson
	dbdump-rows -o s.ndjson.gz office.db
	dbdeps s.ndjson > from-file
	dbdeps s.ndjson.gz > from-gz
	dbdeps - < s.ndjson > from-dash
	dbdeps < s.ndjson > from-stdin
	[ -s from-db ]
	diff -u from-db from-file
	diff -u from-db from-gz
	diff -u from-db from-dash
	diff -u from-db from-stdin
}

@test "--no-defer: the self-reference is loaded NULL first and updated" {
	run dbdeps --no-defer office.db
	assert_success
	assert_line --index 4 "cycle: clients (self-reference)"
	assert_line --index 5 "  clients(referred_by) -> clients(id): inserted as NULL, filled in by a later update"
	run dbdeps --no-defer --ndjson office.db
	assert_success
	assert_line --index 1 '{"type":"table","table":"clients","level":0,"references":["clients"],"cycle":1,"insert_null":["referred_by"]}'
}

@test "a truncated or tampered stream is refused and nothing is printed" {
	dbdump-rows office.db > s.ndjson
	head -n -1 s.ndjson > cut.ndjson
	dbdeps cut.ndjson > out 2> err && status=0 || status=$?
	[ "$status" -eq 2 ]
	[ ! -s out ]
	grep -q "cut.ndjson:[0-9]*: truncated stream: no final end record" err
	sed 's/"Client 7"/"Client 77"/' s.ndjson > edited.ndjson
	run dbdeps edited.ndjson
	assert_failure 2
	assert_output --regexp 'edited.ndjson:[0-9]+: clients: hash mismatch'
	dbdiff office.db office.db > changes.ndjson
	run dbdeps changes.ndjson
	assert_failure 2
	assert_output --partial "a change stream where a row stream is needed"
}

@test "references to tables left out of a dump do not count" {
	dbdump-rows -t cases -t documents office.db > part.ndjson
	run dbdeps part.ndjson
	assert_success
	printf '0 cases\n1 documents\n' > expected
	diff -u expected - <<<"$output"
}

@test "a two-table cycle: SQLite defers it; without deferral the nullable key is broken" {
	cycle_db c.db
	run dbdeps c.db
	assert_success
	cat > expected <<-'EOF'
	0 departments
	1 employees
	2 badges
	cycle: departments, employees
	  departments(head_id) -> employees(id): deferred, checked at commit
	EOF
	diff -u expected - <<<"$output"
	# employees.dept_id is NOT NULL: only departments.head_id can be broken by update.
	run dbdeps --no-defer c.db
	assert_success
	cat > expected <<-'EOF'
	0 departments
	1 employees
	2 badges
	cycle: departments, employees
	  departments(head_id) -> employees(id): inserted as NULL, filled in by a later update
	EOF
	diff -u expected - <<<"$output"
}

@test "a stream whose keys are not deferrable (another engine's) gets the update plan" {
	cycle_db c.db
	dbdump-rows c.db > s.ndjson
	grep -q '"deferrable":true' s.ndjson
	sed -i '/"type":"table"/s/,"deferrable":true//g' s.ndjson
	rehash s.ndjson
	run dbdeps --ndjson s.ndjson
	assert_success
	cat > expected <<-'EOF'
	{"type":"table","table":"departments","level":0,"references":["employees"],"cycle":1,"insert_null":["head_id"]}
	{"type":"table","table":"employees","level":1,"references":["departments"],"cycle":1,"insert_null":[]}
	{"type":"table","table":"badges","level":2,"references":["employees"],"cycle":null,"insert_null":[]}
	{"type":"cycle","cycle":1,"tables":["departments","employees"],"self_reference":false,"loadable":true,"breaks":[{"table":"departments","columns":["head_id"],"references":"employees","to":["id"],"how":"set-null"}]}
	EOF
	diff -u expected - <<<"$output"
}

@test "the cheaper break wins: a deferrable NOT NULL key before a nullable one that needs an update" {
	mkdb s.db <<-'SQL'
	CREATE TABLE staff (id INTEGER PRIMARY KEY, store_id INTEGER NOT NULL REFERENCES store(id));
	CREATE TABLE store (id INTEGER PRIMARY KEY, manager_id INTEGER REFERENCES staff(id));
	SQL
	dbdump-rows s.db > s.ndjson
	# store.manager_id loses its deferrability; staff.store_id keeps it.
	sed -i '/"type":"table","table":"store"/s/,"deferrable":true//' s.ndjson
	rehash s.ndjson
	run dbdeps s.ndjson
	assert_success
	cat > expected <<-'EOF'
	0 staff
	1 store
	cycle: staff, store
	  staff(store_id) -> store(id): deferred, checked at commit
	EOF
	diff -u expected - <<<"$output"
}

@test "a longer loop: three tables, one nullable key" {
	mkdb l.db <<-'SQL'
	CREATE TABLE a (id INTEGER PRIMARY KEY, b_id INTEGER NOT NULL REFERENCES b(id));
	CREATE TABLE b (id INTEGER PRIMARY KEY, c_id INTEGER NOT NULL REFERENCES c(id));
	CREATE TABLE c (id INTEGER PRIMARY KEY, a_id INTEGER REFERENCES a(id));
	CREATE TABLE z (id INTEGER PRIMARY KEY);
	SQL
	run dbdeps l.db
	assert_success
	cat > expected <<-'EOF'
	0 a
	1 c
	2 b
	0 z
	cycle: a, c, b
	  a(b_id) -> b(id): deferred, checked at commit
	EOF
	diff -u expected - <<<"$output"
	run dbdeps --no-defer l.db
	assert_success
	cat > expected <<-'EOF'
	0 c
	1 b
	2 a
	0 z
	cycle: c, b, a
	  c(a_id) -> a(id): inserted as NULL, filled in by a later update
	EOF
	diff -u expected - <<<"$output"
}

@test "a cycle through NOT NULL keys that are not deferrable cannot be loaded: exit 1" {
	mkdb n.db <<-'SQL'
	CREATE TABLE x (id INTEGER PRIMARY KEY, y_id INTEGER NOT NULL REFERENCES y(id));
	CREATE TABLE y (id INTEGER PRIMARY KEY, x_id INTEGER NOT NULL REFERENCES x(id));
	CREATE TABLE w (id INTEGER PRIMARY KEY, x_id INTEGER REFERENCES x(id));
	SQL
	cat > expected <<-'EOF'
	0 x
	1 w
	1 y
	cycle: x, y: cannot be loaded row by row
	  x(y_id) -> y(id): NOT NULL and not deferrable
	EOF
	# As it is, SQLite defers both keys: loadable.
	run dbdeps n.db
	assert_success
	assert_line "cycle: x, y"
	# For an engine that cannot defer, it is not.
	run dbdeps --no-defer n.db
	assert_failure 1
	diff -u expected - <<<"$output"
	# The same from a stream whose keys say they are not deferrable.
	dbdump-rows n.db > n.ndjson
	sed -i '/"type":"table"/s/,"deferrable":true//g' n.ndjson
	rehash n.ndjson
	run dbdeps n.ndjson
	assert_failure 1
	diff -u expected - <<<"$output"
}

@test "a NOT NULL self-reference that cannot be deferred depends on the row order" {
	mkdb t.db <<-'SQL'
	CREATE TABLE nodes (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES nodes(id));
	SQL
	run dbdeps --no-defer t.db
	assert_failure 1
	cat > expected <<-'EOF'
	0 nodes
	cycle: nodes (self-reference): cannot be loaded row by row
	  nodes(parent_id) -> nodes(id): NOT NULL and not deferrable (rows may refer only to rows before them in key order)
	EOF
	diff -u expected - <<<"$output"
}

@test "--dot: a box per table, cycles as clusters, broken keys dashed, unbreakable ones red" {
	cycle_db c.db
	run dbdeps --dot c.db
	assert_success
	# (no <<- here: the tabs are part of the output)
	cat > expected <<'EOF'
digraph dbdeps {
	node [shape=box];
	subgraph "cluster_1" {
		label="cycle 1";
		"departments";
		"employees";
	}
	"badges";
	"departments" -> "employees" [label="head_id (defer)", style=dashed];
	"employees" -> "departments" [label="dept_id"];
	"badges" -> "employees" [label="employee_id"];
}
EOF
	diff -u expected - <<<"$output"
	mkdb q.db <<-'SQL'
	CREATE TABLE "odd ""name""" (id INTEGER PRIMARY KEY, up INTEGER NOT NULL REFERENCES "odd ""name"""(id));
	SQL
	run dbdeps --dot --no-defer q.db
	assert_failure 1
	cat > expected <<'EOF'
digraph dbdeps {
	node [shape=box];
	"odd \"name\"";
	"odd \"name\"" -> "odd \"name\"" [label="up (none)", style=dashed, color=red];
}
EOF
	diff -u expected - <<<"$output"
}

@test "--ndjson: one object per table in load order, then one per cycle" {
	run dbdeps --ndjson office.db
	assert_success
	cat > expected <<-'EOF'
	{"type":"table","table":"case_types","level":0,"references":[],"cycle":null,"insert_null":[]}
	{"type":"table","table":"clients","level":0,"references":["clients"],"cycle":1,"insert_null":[]}
	{"type":"table","table":"cases","level":1,"references":["case_types","clients"],"cycle":null,"insert_null":[]}
	{"type":"table","table":"documents","level":2,"references":["cases"],"cycle":null,"insert_null":[]}
	{"type":"cycle","cycle":1,"tables":["clients"],"self_reference":true,"loadable":true,"breaks":[{"table":"clients","columns":["referred_by"],"references":"clients","to":["id"],"how":"defer"}]}
	EOF
	diff -u expected - <<<"$output"
	# Every line is JSON.
	jq -c . <<<"$output" > /dev/null
}

@test "the order does not depend on the order tables were created in" {
	mkdb one.db <<-'SQL'
	CREATE TABLE m (id INTEGER PRIMARY KEY);
	CREATE TABLE b (id INTEGER PRIMARY KEY, m_id INTEGER REFERENCES m(id));
	CREATE TABLE a (id INTEGER PRIMARY KEY, b_id INTEGER REFERENCES b(id));
	CREATE TABLE k (id INTEGER PRIMARY KEY);
	SQL
	mkdb two.db <<-'SQL'
	CREATE TABLE k (id INTEGER PRIMARY KEY);
	CREATE TABLE a (id INTEGER PRIMARY KEY, b_id INTEGER REFERENCES b(id));
	CREATE TABLE b (id INTEGER PRIMARY KEY, m_id INTEGER REFERENCES m(id));
	CREATE TABLE m (id INTEGER PRIMARY KEY);
	SQL
	dbdeps one.db > one
	dbdeps two.db > two
	printf '0 k\n0 m\n1 b\n2 a\n' > expected
	diff -u expected one
	diff -u expected two
}

@test "Sakila (real schema): the store/staff cycle" {
	src=$ROOT/../shared/datasets/sakila/sqlite/sqlite-sakila-schema.sql
	[ -f "$src" ] || skip "shared/datasets is absent (a user's clone has no shared/)"
	sqlite3 sakila.db < "$src" > /dev/null
	run dbdeps sakila.db
	assert_success
	cat > expected <<-'EOF'
	0 actor
	0 category
	0 country
	1 city
	2 address
	0 film_text
	0 language
	1 film
	2 film_actor
	2 film_category
	3 staff
	4 store
	5 customer
	5 inventory
	6 rental
	7 payment
	cycle: staff, store
	  staff(store_id) -> store(store_id): deferred, checked at commit
	EOF
	diff -u expected - <<<"$output"
	# Both keys are NOT NULL: an engine that cannot defer cannot load it row by row.
	run dbdeps --no-defer sakila.db
	assert_failure 1
	assert_line "cycle: staff, store: cannot be loaded row by row"
	assert_line "  staff(store_id) -> store(store_id): NOT NULL and not deferrable"
}

@test "the man page's examples: the tables that need a second pass, the ndjson objects" {
	run sh -c "dbdeps --ndjson --no-defer office.db |
		jq -r 'select(.type == \"table\" and (.insert_null | length) > 0) | .table'"
	assert_success
	assert_output clients
	run dbdeps --ndjson --no-defer office.db
	assert_line --index 1 '{"type":"table","table":"clients","level":0,"references":["clients"],"cycle":1,"insert_null":["referred_by"]}'
	assert_line --index 4 '{"type":"cycle","cycle":1,"tables":["clients"],"self_reference":true,"loadable":true,"breaks":[{"table":"clients","columns":["referred_by"],"references":"clients","to":["id"],"how":"set-null"}]}'
	dbdump-rows office.db | head -n -1 > cut.ndjson
	run dbdeps cut.ndjson
	assert_failure 2
	assert_output "dbdeps: cut.ndjson:183: truncated stream: no final end record"
}

@test "a table of a two-table cycle that also references itself: both keys in one cycle" {
	mkdb cs.db <<-'SQL'
	CREATE TABLE d (id INTEGER PRIMARY KEY, head INTEGER REFERENCES e(id));
	CREATE TABLE e (id INTEGER PRIMARY KEY, d_id INTEGER NOT NULL REFERENCES d(id),
		boss INTEGER REFERENCES e(id));
	SQL
	run dbdeps --no-defer cs.db
	assert_success
	cat > expected <<-'EOF'
	0 d
	1 e
	cycle: d, e
	  d(head) -> e(id): inserted as NULL, filled in by a later update
	  e(boss) -> e(id): inserted as NULL, filled in by a later update
	EOF
	diff -u expected - <<<"$output"
	run dbdeps --no-defer --ndjson cs.db
	assert_line --index 1 '{"type":"table","table":"e","level":1,"references":["e","d"],"cycle":1,"insert_null":["boss"]}'
}
