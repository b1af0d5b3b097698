#!/usr/bin/env bats
# dbmask: a copy of prod for a laptop without the people in it.

bats_require_minimum_version 1.5.0

DATASETS=${DATASETS:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)/shared/datasets}

setup() {
	load helpers
	common_setup
	echo 'a secret nobody guesses' > key
	unset DBMASK_KEY
}

teardown() {
	if [ -n "${MY_DIR:-}" ]; then
		load mysql_server
		my_stop
	fi
}

chinook() {
	[ -f "$DATASETS/chinook/Chinook_Sqlite.sqlite" ] ||
		skip "shared/datasets is absent (a user's clone has no shared/)"
	cp "$DATASETS/chinook/Chinook_Sqlite.sqlite" "$1"
}

# The rules of the README's example, for Chinook's people.
chinook_rules() {
	cat > mask.conf <<-'EOF'
	; Chinook: customers and employees are people
	[Customer]
	FirstName = fake name
	LastName  = fake name
	Company   = null
	Address   = fake text
	Phone     = fake phone
	Fax       = fake phone
	Email     = fake email

	[Employee]
	FirstName = fake name
	LastName  = fake name
	BirthDate = fake date
	Address   = fake text
	Phone     = fake phone
	Fax       = fake phone
	Email     = fake email

	[Invoice]
	BillingAddress = fake text
	EOF
}

# An empty database with Chinook's schema.
chinook_empty() {
	sqlite3 "$1" < <(sqlite3 "$DATASETS/chinook/Chinook_Sqlite.sqlite" .schema)
}

@test "usage errors: what is wrong and where help is, exit 2; --help" {
	run dbmask
	assert_failure 2
	assert_output "dbmask: missing -r RULES
Try 'dbmask --help'."
	run dbmask --bogus -r x
	assert_failure 2
	assert_line --index 0 "dbmask: unrecognized option '--bogus'"
	run dbmask --check -r x
	assert_failure 2
	assert_output --partial "missing SOURCE"
	run dbmask --help
	assert_success
	assert_output --partial "usage: dbmask -r RULES"
}

@test "Chinook's customers and employees masked: the copy loads with every foreign key, and no original name, email or phone is left" {
	chinook prod.db
	chinook_rules
	dbdump-rows prod.db > prod.ndjson
	run --separate-stderr dbmask -r mask.conf -k key -o masked.ndjson prod.ndjson
	assert_success
	assert_equal "$stderr" ""
	# the header says which rules, never the secret
	assert_equal "$(head -1 masked.ndjson | jq -r .masked)" mask.conf
	run grep -c 'a secret nobody guesses' masked.ndjson
	assert_output 0
	run dbbackup --verify masked.ndjson
	assert_success

	# not one original email, phone, full name or address is left anywhere
	local leaked=0 v
	while IFS= read -r v; do
		[ -n "$v" ] && grep -qF -- "\"$v\"" masked.ndjson && { echo "left: $v"; leaked=$((leaked + 1)); }
	done < <(sqlite3 prod.db "SELECT Email FROM Customer UNION SELECT Phone FROM Customer
		UNION SELECT Address FROM Customer UNION SELECT Email FROM Employee
		UNION SELECT Phone FROM Employee UNION SELECT Address FROM Employee")
	assert_equal "$leaked" 0
	assert_equal "$(jq -r 'select(.type == "row" and .table == "Customer") | .row.FirstName + " " + .row.LastName' masked.ndjson |
		grep -cxFf <(sqlite3 prod.db "SELECT FirstName || ' ' || LastName FROM Customer"))" 0

	# everything else is as it was: the tables without rules, and the columns without rules
	assert_equal "$(jq -c 'select(.table == "Track")' masked.ndjson | md5sum)" \
		"$(jq -c 'select(.table == "Track")' prod.ndjson | md5sum)"
	assert_equal "$(jq -c 'select(.type == "row" and .table == "Customer") | [.row.CustomerId, .row.City, .row.SupportRepId]' masked.ndjson | md5sum)" \
		"$(jq -c 'select(.type == "row" and .table == "Customer") | [.row.CustomerId, .row.City, .row.SupportRepId]' prod.ndjson | md5sum)"
	# the shapes stay: a valid email, as many digits in a phone, a date, null where asked
	assert_equal "$(jq -r 'select(.type == "row" and .table == "Customer") | .row.Email' masked.ndjson | grep -cvE '^u[0-9a-f]{16}@example\.com$')" 0
	assert_equal "$(jq -r 'select(.type == "row" and .table == "Customer") | .row.Phone // empty | gsub("[0-9]"; "9")' masked.ndjson | sort | md5sum)" \
		"$(jq -r 'select(.type == "row" and .table == "Customer") | .row.Phone // empty | gsub("[0-9]"; "9")' prod.ndjson | sort | md5sum)"
	assert_equal "$(jq -r 'select(.type == "row" and .table == "Customer") | .row.Company' masked.ndjson | sort -u)" null
	assert_equal "$(jq -r 'select(.type == "row" and .table == "Employee") | .row.BirthDate' masked.ndjson | grep -cvE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T00:00:00$')" 0
	# unique emails stay unique
	assert_equal "$(jq -r 'select(.type == "row" and .table == "Customer") | .row.Email' masked.ndjson | sort -u | wc -l)" 59

	# the masked copy loads into an empty database, foreign keys enforced
	chinook_empty laptop.db
	run dbapply --mirror laptop.db masked.ndjson
	assert_success
	assert_equal "$(sqlite3 laptop.db 'PRAGMA foreign_key_check')" ""
	assert_equal "$(sqlite3 laptop.db 'SELECT count(*) FROM Invoice JOIN Customer USING (CustomerId)')" 412
	run dbdiff masked.ndjson laptop.db
	assert_success
}

@test "the same secret gives the same output; another secret other values; DBMASK_KEY is the same as -k" {
	chinook prod.db
	chinook_rules
	dbdump-rows prod.db > prod.ndjson
	dbmask -r mask.conf -k key prod.ndjson | tail -n +2 > one
	dbmask -r mask.conf -k key prod.ndjson | tail -n +2 > two
	DBMASK_KEY='a secret nobody guesses' dbmask -r mask.conf prod.ndjson | tail -n +2 > three
	echo 'another secret' > key2
	dbmask -r mask.conf -k key2 prod.ndjson | tail -n +2 > four
	cmp one two
	cmp one three
	run cmp -s one four
	assert_failure
	# with another secret, no customer keeps the email the first secret gave
	assert_equal "$(comm -12 <(jq -r 'select(.table == "Customer") | .row.Email // empty' one | sort) \
		<(jq -r 'select(.table == "Customer") | .row.Email // empty' four | sort))" ""
}

@test "a masked text key: the rows that refer to it stay joined, and the output is in key order again" {
	mkdb prod.db <<-'SQL'
	CREATE TABLE people (email TEXT PRIMARY KEY, name TEXT NOT NULL);
	CREATE TABLE orders (id INTEGER PRIMARY KEY, email TEXT NOT NULL REFERENCES people (email), total INTEGER);
	WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400)
	INSERT INTO people SELECT 'person' || i || '@mail.example', 'Name ' || i FROM n;
	INSERT INTO orders SELECT rowid, email, rowid * 10 FROM people;
	SQL
	printf '[people]\nemail = hash\nname = fake name\n' > mask.conf
	dbdump-rows prod.db > prod.ndjson
	# in memory, and through sorted runs on disk (a 4 KiB buffer): the same stream
	dbmask -r mask.conf -k key prod.ndjson > mem.ndjson
	run dbmask -r mask.conf -k key -S 4K -o runs.ndjson prod.ndjson
	assert_success
	cmp <(tail -n +2 mem.ndjson) <(tail -n +2 runs.ndjson)
	# orders.email took the rule of the key it refers to
	assert_equal "$(grep -c person runs.ndjson)" 0
	mkdb laptop.db <<-'SQL'
	CREATE TABLE people (email TEXT PRIMARY KEY, name TEXT NOT NULL);
	CREATE TABLE orders (id INTEGER PRIMARY KEY, email TEXT NOT NULL REFERENCES people (email), total INTEGER);
	SQL
	run dbapply laptop.db runs.ndjson
	assert_success
	assert_equal "$(sqlite3 laptop.db 'PRAGMA foreign_key_check')" ""
	assert_equal "$(sqlite3 laptop.db 'SELECT count(*), sum(total) FROM orders JOIN people USING (email)')" "400|802000"
	assert_equal "$(sqlite3 laptop.db "SELECT count(*) FROM people WHERE length(email) = 32 AND email NOT GLOB '*[^0-9a-f]*'")" 400
}

@test "a change stream is masked too, old values included, and applies" {
	chinook prod.db
	chinook_rules
	cp prod.db old.db
	sqlite3 prod.db "UPDATE Customer SET Email = 'new.address@example.org', Phone = '+1 555 0199' WHERE CustomerId = 7;
		DELETE FROM InvoiceLine WHERE InvoiceId IN (SELECT InvoiceId FROM Invoice WHERE CustomerId = 59);
		DELETE FROM Invoice WHERE CustomerId = 59; DELETE FROM Customer WHERE CustomerId = 59;"
	run dbdiff old.db prod.db
	assert_failure 1
	echo "$output" > changes.ndjson
	run dbmask -r mask.conf -k key -o masked-changes.ndjson changes.ndjson
	assert_success
	assert_equal "$(head -1 masked-changes.ndjson | jq -r .stream)" changes
	run grep -cE 'new\.address|0199|Puja|Srivastava|puja_srivastava' masked-changes.ndjson
	assert_output 0
	# the laptop, masked from the old prod, follows prod's masked changes
	dbdump-rows old.db | dbmask -r mask.conf -k key > old-masked.ndjson
	chinook_empty laptop.db
	dbapply --mirror laptop.db old-masked.ndjson
	# (deletes are applied with --mirror, as for any change stream)
	run dbapply --mirror laptop.db masked-changes.ndjson
	assert_success
	assert_line --regexp '^total +0 +1 +43$'
	dbdump-rows prod.db | dbmask -r mask.conf -k key > prod-masked.ndjson
	run dbdiff prod-masked.ndjson laptop.db
	assert_success
}

@test "--check lists the text columns no rule covers (exit 1), and nothing once every one is covered (exit 0)" {
	chinook prod.db
	chinook_rules
	run --separate-stderr dbmask --check -r mask.conf prod.db
	assert_failure 1
	assert_line Customer.City
	assert_line Employee.Title
	assert_line Track.Name
	refute_line Customer.Email
	refute_line Customer.Company
	# a new column nobody wrote a rule for does not leak silently
	sqlite3 prod.db "ALTER TABLE Customer ADD COLUMN Email2 NVARCHAR(60)"
	run --separate-stderr dbmask --check -r mask.conf prod.db
	assert_line Customer.Email2
	# every text column given a rule (keep included): exit 0, nothing listed
	run dbmask --check -r mask.conf prod.db
	{ cat mask.conf; echo "$output" | awk -F. '{ print "[" $1 "]"; print $2 " = keep" }'; } > all.conf
	run --separate-stderr dbmask --check -r all.conf prod.db
	assert_success
	assert_output ""
}

@test "rules that cannot be kept are refused by file:line, exit 2, and nothing is written" {
	chinook prod.db
	dbdump-rows prod.db > prod.ndjson
	check_refused() {
		run --separate-stderr dbmask -r mask.conf -k key prod.ndjson
		assert_failure 2
		assert_equal "$output" ""
		assert_equal "$stderr" "$1"
	}
	printf '[Customer]\nEmail = scramble\n' > mask.conf
	check_refused 'dbmask: mask.conf:2: unknown rule for "Email" (known: keep, null, fixed VALUE, hash, fake email, fake phone, fake name, fake text, fake date, fake number)'
	printf '[Customer]\nEmial = fake email\n' > mask.conf
	check_refused 'dbmask: mask.conf:2: table "Customer" has no column "Emial"'
	printf 'Email = hash\n' > mask.conf
	check_refused 'dbmask: mask.conf:1: a rule before any [TABLE] section'
	printf '[Customer]\n\nEmail = null\n' > mask.conf
	check_refused 'dbmask: mask.conf:3: "Customer"."Email" is NOT NULL: null cannot mask it'
	printf '[Invoice]\nInvoiceDate = hash\n' > mask.conf
	check_refused 'dbmask: mask.conf:2: "Invoice"."InvoiceDate" is timestamp: hash cannot keep it one'
	printf '[Customer]\nCustomerId = fixed 1\n' > mask.conf
	check_refused 'dbmask: mask.conf:2: "Customer"."CustomerId" is a key or referenced: fixed would give many rows one value (use hash)'
	printf '[Customer]\nCity = fixed Springfield\nCountry = fixed 12\nPhone = hash\nPhone = keep\n' > mask.conf
	check_refused 'dbmask: mask.conf:5: a second rule for "Customer"."Phone" (the first is on line 4)'
	printf '[Invoice]\nTotal = fixed abc\n' > mask.conf
	run --separate-stderr dbmask -r mask.conf -k key prod.ndjson
	assert_failure 2
	assert_output ""
	[[ "$stderr" == 'dbmask: mask.conf:2: fixed value for "Invoice"."Total" (decimal): '* ]]
	printf '[Customer]\nCustomerId = hash\n[Invoice]\nCustomerId = fake number\n' > mask.conf
	check_refused 'dbmask: mask.conf: "Invoice"."CustomerId" refers to "Customer"."CustomerId": give both one rule (fake number and hash would part them)'
	printf '[Customer]\nEmail = fake email\n' > mask.conf
	run --separate-stderr dbmask -r mask.conf prod.ndjson
	assert_failure 2
	assert_equal "$stderr" 'dbmask: mask.conf:2: fake email needs a secret: -k FILE or DBMASK_KEY'
	# fixed values are taken as their column's type
	printf '[Customer]\nCity = fixed Springfield\nSupportRepId = keep\n[Invoice]\nTotal = fixed 9.99\n' > mask.conf
	run dbmask -r mask.conf -k key prod.ndjson
	assert_success
	assert_equal "$(echo "$output" | jq -r 'select(.table == "Customer" and .type == "row") | .row.City' | sort -u)" Springfield
	assert_equal "$(echo "$output" | jq -r 'select(.table == "Invoice" and .type == "row") | .row.Total' | sort -u)" 9.99
}

@test "two keys that masking makes one are a collision: named, exit 2, the output refused downstream" {
	mkdb prod.db <<-'SQL'
	CREATE TABLE codes (code INTEGER PRIMARY KEY, label TEXT);
	INSERT INTO codes VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd'), (5, 'e'), (6, 'f'), (7, 'g');
	SQL
	printf '[codes]\ncode = fake number\n' > mask.conf
	dbdump-rows prod.db > prod.ndjson
	run --separate-stderr dbmask -r mask.conf -k key -o out.ndjson prod.ndjson
	assert_failure 2
	[[ "$stderr" == 'dbmask: table "codes": two records have the key (code='*') once masked: the rules make two keys one (use hash, or keep the key)' ]]
	run dbapply --dry-run prod.db out.ndjson
	assert_failure 2
}

@test "a truncated input gives a truncated output, which consumers refuse" {
	chinook prod.db
	chinook_rules
	dbdump-rows prod.db | head -c 200000 > cut.ndjson
	run --separate-stderr dbmask -r mask.conf -k key -o out.ndjson cut.ndjson
	assert_failure 2
	[[ "$stderr" == *"cut.ndjson:"* ]]
	run dbbackup --verify out.ndjson
	assert_failure 2
}

@test "Sakila on MariaDB: customers and addresses masked, loaded into an empty copy with every foreign key" {
	local data=$DATASETS/sakila/mysql
	[ -f "$data/sakila-data.sql" ] || skip "shared/datasets is absent (a user's clone has no shared/)"
	load mysql_server
	export HOME=$T
	my_start
	my_reset_db dev
	my_reset_db prod
	sed 's/\bsakila\b/dev/g' "$data/sakila-schema.sql" | my_sql dev
	sed 's/\bsakila\b/dev/g' "$data/sakila-data.sql" | my_sql dev
	sed 's/\bsakila\b/prod/g' "$data/sakila-schema.sql" | my_sql prod
	cat > mask.conf <<-'EOF'
	[customer]
	first_name = fake name
	last_name = fake name
	email = fake email
	[staff]
	first_name = fake name
	last_name = fake name
	email = fake email
	username = hash
	password = null
	[address]
	address = fake text
	address2 = null
	phone = fake phone
	EOF
	DEV="mysql://dbpipe@127.0.0.1:$MY_PORT/dev"
	PROD="mysql://dbpipe@127.0.0.1:$MY_PORT/prod"
	dbdump-rows -x film_text "$DEV" > dev.ndjson
	run dbmask -r mask.conf -k key -o masked.ndjson dev.ndjson
	assert_success
	local leaked
	# no original email, phone or street address is a value of the output
	leaked=$(jq -r 'select(.type == "row") | .row[]? | strings' masked.ndjson | sort -u |
		grep -cxFf <(my_sql dev <<< "SELECT email FROM customer UNION SELECT email FROM staff
			UNION SELECT phone FROM address WHERE phone <> '' UNION SELECT address FROM address") || true)
	assert_equal "$leaked" 0
	run dbapply "$PROD" masked.ndjson
	assert_success
	assert_equal "$(my_sql prod <<< 'SELECT count(*), count(DISTINCT email) FROM customer')" "599	599"
	assert_equal "$(my_sql prod <<< 'SELECT count(*) FROM rental r JOIN customer c USING (customer_id) JOIN address a USING (address_id)')" 16044
	# film's triggers filled film_text in prod: compare the rest
	run dbdiff masked.ndjson <(dbdump-rows -x film_text "$PROD")
	assert_success
}
