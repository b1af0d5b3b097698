#!/usr/bin/env bats
# The Django tier: a real Django project (tests/django/: app `office` with
# clients that refer to clients, cases assigned to auth users, documents with
# a generic foreign key), migrated with manage.py on SQLite, PostgreSQL and
# MariaDB, objects made and read back through the ORM, and synced with
# `dbdump-rows DEV | dbapply PROD` as a user of the toolkit would.
#
# Django is Debian's python3-django, for /usr/bin/python3 (not a python3 that
# may come first on the PATH), with python3-psycopg2 and python3-mysqldb;
# scripts/install-deps installs them.  Without them every test skips.
#
# One PostgreSQL and one MariaDB server for the whole file (setup_file).
# Each engine is migrated once into a template (and dev seeded once); the
# tests copy them: cp for SQLite, CREATE DATABASE ... TEMPLATE for
# PostgreSQL, mariadb-dump for MariaDB.  Dev and prod are migrated by
# separate `manage.py migrate` runs, as on two machines.
#
# Pairs (dev -> prod): sqlite -> postgresql, sqlite -> mariadb,
# postgresql -> postgresql, postgresql -> mariadb; and prod's data to a
# laptop: postgresql -> sqlite, mariadb -> sqlite.

bats_require_minimum_version 1.5.0

PY=/usr/bin/python3

django_missing() {
	if [ ! -x "$PY" ]; then
		echo "$PY not found"
		return 0
	fi
	local why
	why=$(PYTHONNOUSERSITE=1 env -u PYTHONPATH -u PYTHONHOME "$PY" -c 'import django, psycopg2, MySQLdb' 2>&1) && return 1
	echo "$PY cannot import django, psycopg2 and MySQLdb (apt-get install python3-django python3-psycopg2 python3-mysqldb, or scripts/install-deps): ${why##*$'\n'}"
	return 0
}

# manage.py of the test project on database URL $1 (dbpipe's own URL forms).
dj() {
	local db=$1
	shift
	OFFICE_DB=$db PYTHONDONTWRITEBYTECODE=1 PYTHONNOUSERSITE=1 \
		env -u PYTHONPATH -u PYTHONHOME "$PY" "$ROOT/tests/django/manage.py" "$@"
}

# Python run through the ORM on $1 (Client, Case, Document, User, ContentType at hand).
orm() {
	dj "$1" office run "$2"
}

my_dump_bin() {
	my_find mariadb-dump mysqldump
}

# A copy of MariaDB database $1 as $2.
my_clone() {
	local dump
	dump=$(my_dump_bin) || { echo "mariadb-dump not found" >&2; return 1; }
	my_reset_db "$2" || return 1
	MYSQL_PWD='' "$dump" --no-defaults -S "$MY_SOCK" -u root --single-transaction "$1" | my_sql "$2"
}

# A copy of PostgreSQL database $1 as $2.
pg_clone() {
	pg_psql postgres -c "SET client_min_messages = warning" \
		-c "DROP DATABASE IF EXISTS \"$2\" WITH (FORCE)" -c "CREATE DATABASE \"$2\" TEMPLATE \"$1\""
}

my_url() {
	printf 'mysql://dbpipe@127.0.0.1:%s/%s\n' "$MY_PORT" "$1"
}

setup_file() {
	local why
	if why=$(django_missing); then
		export DJANGO_SKIP="Django tier skipped: $why"
		return 0
	fi
	load helpers
	load pg_server
	load mysql_server
	export HOME=$BATS_FILE_TMPDIR XDG_CONFIG_HOME=$BATS_FILE_TMPDIR/.config
	pg_start
	my_start
	cd "$BATS_FILE_TMPDIR" || return 1
	# Templates: prod's engines migrated once (migrated); dev's migrated by
	# runs of their own (other django_migrations times) and seeded (seeded).
	dj "sqlite:$BATS_FILE_TMPDIR/seeded.db" migrate -v0
	dj "sqlite:$BATS_FILE_TMPDIR/seeded.db" office seed
	pg_createdb migrated
	dj "$(pg_url migrated)" migrate -v0
	pg_createdb seeded
	dj "$(pg_url seeded)" migrate -v0
	dj "$(pg_url seeded)" office seed
	my_reset_db migrated
	dj "$(my_url migrated)" migrate -v0
	# prod's data going to a laptop: MariaDB seeded, SQLite migrated empty
	my_reset_db seeded
	dj "$(my_url seeded)" migrate -v0
	dj "$(my_url seeded)" office seed
	dj "sqlite:$BATS_FILE_TMPDIR/migrated.db" migrate -v0
}

teardown_file() {
	[ -n "${DJANGO_SKIP:-}" ] && return 0
	load pg_server
	load mysql_server
	pg_stop
	my_stop
}

setup() {
	[ -n "${DJANGO_SKIP:-}" ] && skip "$DJANGO_SKIP"
	load helpers
	load pg_server
	load mysql_server
	common_setup
	# The user's own option files and dbpipe config must not change what the tests connect to.
	export HOME=$T XDG_CONFIG_HOME=$T/.config
}

# Fresh dev ($1: sqlite or pg), seeded through the ORM: sets DEV.
new_dev() {
	case $1 in
	sqlite)
		cp "$BATS_FILE_TMPDIR/seeded.db" "$T/dev.db"
		DEV="sqlite:$T/dev.db" ;;
	pg)
		pg_clone seeded dev >/dev/null
		DEV=$(pg_url dev) ;;
	mariadb)
		my_clone seeded dev
		DEV=$(my_url dev) ;;
	*) echo "new_dev: $1?" >&2; return 1 ;;
	esac
}

# Fresh prod ($1: pg or mariadb), migrated, no data: sets PROD.
new_prod() {
	case $1 in
	pg)
		pg_clone migrated prod >/dev/null
		PROD=$(pg_url prod) ;;
	mariadb)
		my_clone migrated prod
		PROD=$(my_url prod) ;;
	sqlite)
		cp "$BATS_FILE_TMPDIR/migrated.db" "$T/prod.db"
		PROD="sqlite:$T/prod.db" ;;
	*) echo "new_prod: $1?" >&2; return 1 ;;
	esac
}

# dev and prod of pair $1 (dev-prod, e.g. sqlite-pg).
new_pair() {
	new_dev "${1%-*}" && new_prod "${1#*-}"
}

# push [ARGS]: `dbdump-rows DEV | dbapply [ARGS] TARGET` under bats' run: $status is
# dbapply's, $output its stdout, $stderr its stderr.  TARGET is PROD unless
# SYNC_TARGET is set.
push() {
	run --separate-stderr bash -c 'set -o pipefail; dbdump-rows "$1" | dbapply "${@:3}" "$2"' \
		push "$DEV" "${SYNC_TARGET:-$PROD}" "$@"
}

# The created, updated and deleted counts of the summary's total line.
total_counts() {
	awk '$1 == "total" { print $2, $3, $4 }' <<<"$output"
}

# The summary lines of the tables that changed (for failure messages).
changed_tables() {
	awk 'NF == 4 && $1 != "table" && $1 != "total" && ($2 != 0 || $3 != 0 || $4 != 0)' <<<"$output"
}

# A first sync that must succeed.
first_sync() {
	push
	if [ "$status" -ne 0 ]; then
		echo "first sync failed (exit $status):" >&2
		echo "$output" >&2
		echo "$stderr" >&2
		return 1
	fi
}

# ----------------------------------------------------------------------------
# 1-3: seed, sync, read back; a second sync; new objects in prod.

# 1: the first sync.
check_first_sync() {
	new_pair "$1"
	push
	assert_success
	# Something was created (the users, clients, cases, links, documents).
	[ "$(total_counts | cut -d' ' -f1)" -gt 0 ] || fail "first sync created nothing: $output"
	run dj "$DEV" office show
	assert_success
	local dev_show=$output
	run dj "$PROD" office show
	assert_success
	# What the seed made, as prod's ORM reads it: self-references both ways,
	# many-to-many, and generic foreign keys to four models.
	assert_line --regexp "^client [0-9]+ 'Anna Rossi' phone='\+39 06 1111' vip=False referred_by=Elena Russo$"
	assert_line --regexp "^client [0-9]+ 'Carla Verdi' phone='' vip=True referred_by=Bruno Bianchi$"
	assert_line --regexp "^case [0-9]+ 'Appeal' client='Anna Rossi' assigned=\[alice,carol\]$"
	assert_line --regexp "^document [0-9]+ 'Lease contract' case='Lease dispute' about=office.client:Anna Rossi$"
	assert_line --regexp "^document [0-9]+ 'Will' case='Inheritance' about=office.case:Contract review$"
	assert_line --regexp "^document [0-9]+ 'Power of attorney' case='Appeal' about=auth.user:carol$"
	assert_line --regexp "^document [0-9]+ 'Notes on the contract' case='Lease dispute' about=office.document:Lease contract$"
	assert_line --regexp "^user [0-9]+ alice first='Alice' last='Archer' staff=False active=True joined=2024-01-15T09:30:00.250000\+00:00$"
	assert_line --regexp "^invoice [0-9]+ 0f8fad5b-d9cb-469f-a165-70867728950e case='Lease dispute' amount=1250.50 issued=2024-04-02T16:45:10.500000\+00:00 due=2024-05-02 details=\{\"lines\": \[\{\"hours\": 5, \"rate\": 250.1\}\], \"paid\": false, \"vat\": \"22%\"\}$"
	assert_line --regexp "^invoice [0-9]+ a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11 case='Appeal' amount=80.00 issued=2024-06-30T23:59:59\+00:00 due=None details=\{\}$"
	# Every object, with its id and relations, as dev's ORM reads it.
	assert_equal "$output" "$dev_show"
	# Django finds the values by them: a UUID, a day, a time range, a
	# decimal, a key inside the JSON (SQLite's char(32) needs 32 digits,
	# its datetime text a space, not a 'T').
	run orm "$PROD" '
import datetime
from django.utils import timezone
print(Invoice.objects.get(number=uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")).case.title)
print(Invoice.objects.filter(issued_at__date=datetime.date(2024, 6, 30)).count(),
      Invoice.objects.filter(issued_at__gte=datetime.datetime(2024, 4, 2, 16, 45, 10, 500000, tzinfo=timezone.utc)).count(),
      Invoice.objects.filter(amount=Decimal("1250.5")).count(),
      Invoice.objects.filter(details__paid=False).count())
'
	assert_success
	assert_output "Appeal
1 2 1 1"
}

# 2: nothing changed, nothing to do.
check_resync_nothing() {
	new_pair "$1"
	first_sync
	push
	assert_success
	assert_equal "$(total_counts)" "0 0 0" ||
		fail "second sync without changes wrote rows again (issue 11 if these are timestamps):
$(changed_tables)"
}

# 3: ids in prod after the sync.
check_fresh_ids() {
	new_pair "$1"
	first_sync
	run dj "$DEV" office show
	assert_success
	local dev_show=$output
	# New objects of every kind through prod's ORM: users, clients,
	# cases, their many-to-many rows, documents.  A sequence left behind
	# the synced ids fails here with a duplicate key.
	run orm "$PROD" '
dave = User.objects.create_user("dave", first_name="Dave")
walter = Client.objects.create(name="Walter White", phone="+39 06 9999", referred_by=Client.objects.get(name="Anna Rossi"))
case = Case.objects.create(client=walter, title="Walk-in consultation")
case.assigned_to.add(dave, User.objects.get(username="alice"))
Document.objects.create(case=case, title="Intake form", about=walter)
Document.objects.create(case=Case.objects.get(title="Appeal"), title="Hearing notes", about=dave)
'
	assert_success
	run dj "$PROD" office show
	assert_success
	local prod_show=$output
	assert_line --regexp "^user [0-9]+ dave first='Dave' "
	assert_line --regexp "^client [0-9]+ 'Walter White' phone='\+39 06 9999' vip=False referred_by=Anna Rossi$"
	assert_line --regexp "^case [0-9]+ 'Walk-in consultation' client='Walter White' assigned=\[alice,dave\]$"
	assert_line --regexp "^document [0-9]+ 'Intake form' case='Walk-in consultation' about=office.client:Walter White$"
	assert_line --regexp "^document [0-9]+ 'Hearing notes' case='Appeal' about=auth.user:dave$"
	# The synced objects are untouched: prod without the new ones is dev.
	run grep -v -e ' dave ' -e 'Walter White' -e 'Walk-in consultation' -e 'Hearing notes' <<<"$prod_show"
	assert_equal "$output" "$dev_show"
	# Each new object has an id above every synced one of its kind.
	local kind
	for kind in user client case document; do
		local max_dev min_new
		max_dev=$(awk -v k="$kind" '$1 == k { print $2 }' <<<"$dev_show" | sort -n | tail -1)
		min_new=$(grep -e ' dave ' -e 'Walter White' -e 'Walk-in consultation' -e 'Hearing notes' <<<"$prod_show" |
			awk -v k="$kind" '$1 == k { print $2 }' | sort -n | head -1)
		[ -n "$min_new" ] && [ "$min_new" -gt "$max_dev" ] ||
			fail "new $kind got id '$min_new', synced ones go up to $max_dev"
	done
}

@test "sqlite dev -> postgresql prod: the first sync copies every object; prod's ORM reads back dev's objects" {
	check_first_sync sqlite-pg
}

@test "sqlite dev -> postgresql prod: a second sync without changes finds nothing to do (total 0 0 0)" {
	check_resync_nothing sqlite-pg
}

@test "sqlite dev -> postgresql prod: objects created through prod's ORM after the sync get fresh ids" {
	check_fresh_ids sqlite-pg
}

@test "sqlite dev -> mariadb prod: the first sync copies every object; prod's ORM reads back dev's objects" {
	check_first_sync sqlite-mariadb
}

@test "sqlite dev -> mariadb prod: a second sync without changes finds nothing to do (total 0 0 0)" {
	check_resync_nothing sqlite-mariadb
}

@test "sqlite dev -> mariadb prod: objects created through prod's ORM after the sync get fresh ids" {
	check_fresh_ids sqlite-mariadb
}

@test "postgresql dev -> postgresql prod: the first sync copies every object; prod's ORM reads back dev's objects" {
	check_first_sync pg-pg
}

@test "postgresql dev -> postgresql prod: a second sync without changes finds nothing to do (total 0 0 0)" {
	check_resync_nothing pg-pg
}

@test "postgresql dev -> postgresql prod: objects created through prod's ORM after the sync get fresh ids" {
	check_fresh_ids pg-pg
}

@test "postgresql dev -> mariadb prod: the first sync copies every object; prod's ORM reads back dev's objects" {
	check_first_sync pg-mariadb
}

@test "postgresql dev -> mariadb prod: a second sync without changes finds nothing to do (total 0 0 0)" {
	check_resync_nothing pg-mariadb
}

@test "postgresql dev -> mariadb prod: objects created through prod's ORM after the sync get fresh ids" {
	check_fresh_ids pg-mariadb
}

@test "postgresql prod -> sqlite laptop: the first sync copies every object in Django's SQLite forms; the laptop's ORM finds them by UUID, day and JSON key" {
	check_first_sync pg-sqlite
}

@test "postgresql prod -> sqlite laptop: a second sync without changes finds nothing to do (total 0 0 0)" {
	check_resync_nothing pg-sqlite
}

@test "postgresql prod -> sqlite laptop: objects created through the laptop's ORM after the sync get fresh ids" {
	check_fresh_ids pg-sqlite
}

@test "mariadb prod -> sqlite laptop: the first sync copies every object; the laptop's ORM finds them by UUID, day and JSON key" {
	check_first_sync mariadb-sqlite
}

@test "mariadb prod -> sqlite laptop: a second sync without changes finds nothing to do (total 0 0 0)" {
	check_resync_nothing mariadb-sqlite
}

@test "mariadb prod -> sqlite laptop: objects created through the laptop's ORM after the sync get fresh ids" {
	check_fresh_ids mariadb-sqlite
}

# 3b: a sync undone with one command, across engines: the undo stream holds
# prod's own values (its UUID form, its timestamps), so nothing looks
# changed since the sync and no --force is needed.
check_rollback() {
	new_pair "$1"
	first_sync
	run dj "$PROD" office show
	local before=$output
	run orm "$DEV" '
inv = Invoice.objects.get(number=uuid.UUID("0f8fad5b-d9cb-469f-a165-70867728950e"))
inv.number = uuid.UUID("1f8fad5b-d9cb-469f-a165-70867728950e")
inv.amount = Decimal("99.99")
inv.details = {"vat": "10%"}
inv.save()
Client.objects.filter(name="Anna Rossi").update(phone="+39 06 0000")'
	assert_success
	push
	assert_success
	run dj "$PROD" office show
	assert_line --regexp "^invoice [0-9]+ 1f8fad5b-d9cb-469f-a165-70867728950e case='Lease dispute' amount=99.99 "
	run --separate-stderr dbapply --rollback "$PROD"
	assert_success
	run dj "$PROD" office show
	assert_success
	assert_equal "$output" "$before"
}

@test "rollback, sqlite dev -> postgresql prod: dbapply --rollback puts prod's invoice and client back as they were, without --force" {
	check_rollback sqlite-pg
}

@test "rollback, postgresql dev -> mariadb prod: dbapply --rollback puts prod's invoice and client back as they were, without --force" {
	check_rollback pg-mariadb
}

@test "rollback, postgresql prod -> sqlite laptop: dbapply --rollback puts the laptop back as it was, without --force" {
	check_rollback pg-sqlite
}

# ----------------------------------------------------------------------------
# 4: the sync base (issue 10).

# a: prod's own edit survives the next sync; dev's edit arrives.
check_prod_edit_kept() {
	new_pair "$1"
	first_sync
	run orm "$PROD" 'Client.objects.filter(name="Dario Neri").update(vip=True)'
	assert_success
	run orm "$DEV" 'Client.objects.filter(name="Bruno Bianchi").update(phone="+39 02 7777")'
	assert_success
	push
	assert_success
	run dj "$PROD" office show
	assert_success
	# prod's edit of a client dev never touched is kept ...
	assert_line --regexp "^client [0-9]+ 'Dario Neri' phone='\+39 011 4444' vip=True referred_by=Anna Rossi$"
	# ... and dev's edit of another client is applied.
	assert_line --regexp "^client [0-9]+ 'Bruno Bianchi' phone='\+39 02 7777' vip=False referred_by=Anna Rossi$"
	# dev still has Dario as it was: the edit was prod's alone.
	run dj "$DEV" office show
	assert_line --regexp "^client [0-9]+ 'Dario Neri' phone='\+39 011 4444' vip=False referred_by=Anna Rossi$"
	# And the sync after that keeps it too.
	push
	assert_success
	run dj "$PROD" office show
	assert_line --regexp "^client [0-9]+ 'Dario Neri' phone='\+39 011 4444' vip=True referred_by=Anna Rossi$"
}

# a': both sides edit other columns of the same client: both edits stay.
check_column_merge() {
	new_pair "$1"
	first_sync
	run orm "$PROD" 'Client.objects.filter(name="Elena Russo").update(vip=True)'
	assert_success
	run orm "$DEV" 'Client.objects.filter(name="Elena Russo").update(phone="+39 055 0000")'
	assert_success
	push
	assert_success
	run dj "$PROD" office show
	assert_success
	assert_line --regexp "^client [0-9]+ 'Elena Russo' phone='\+39 055 0000' vip=True referred_by=None$"
}

# b: the same new id on both sides is a collision, not an update.
check_collision() {
	new_pair "$1"
	first_sync
	# Ids are allocated on each side: Giovanni (dev) and Lucia (prod) get the same one.
	run orm "$DEV" '
g = Client.objects.create(name="Giovanni Galli", phone="+39 06 3333")
claim = Case.objects.create(client=g, title="Giovanni claim")
claim.assigned_to.add(User.objects.get(username="bob"))
marco = Client.objects.create(name="Marco Moretti", phone="+39 081 1234", referred_by=Client.objects.get(name="Anna Rossi"))
audit = Case.objects.create(client=Client.objects.get(name="Carla Verdi"), title="Tax audit")
audit.assigned_to.add(User.objects.get(username="alice"))
Document.objects.create(case=audit, title="Audit letter", about=marco)
print(g.pk, claim.pk)
'
	assert_success
	local gid cid
	read -r gid cid <<<"$output"
	run orm "$PROD" 'print(Client.objects.create(name="Lucia Longo", phone="+39 06 4444").pk)'
	assert_success
	assert_equal "$output" "$gid" # (the set-up: both sides used the same id)
	push
	[ "$status" -eq 1 ] || fail "exit status $status, expected 1 (a collision)
stdout: $output
stderr: $stderr"
	# The collision, named with its table.
	grep -i 'collision' <<<"$stderr" | grep -q 'office_client' ||
		fail "no stderr line names the collision in office_client: $stderr"
	# Giovanni's case, which refers to him, is held back and named.
	grep -i 'held back' <<<"$stderr" | grep -v 'office_case_assigned_to' | grep 'office_case' | grep -qw "$cid" ||
		fail "no stderr line says office_case $cid (Giovanni's case) is held back: $stderr"
	run dj "$PROD" office show
	assert_success
	# Lucia is intact, Giovanni is not written over her, nothing of his is attached to her.
	assert_line "client $gid 'Lucia Longo' phone='+39 06 4444' vip=False referred_by=None"
	refute_output --partial "Giovanni"
	refute_line --regexp "^case [0-9]+ .* client='Lucia Longo'"
	# The unrelated new rows of the same sync are applied.
	assert_line --regexp "^client [0-9]+ 'Marco Moretti' phone='\+39 081 1234' vip=False referred_by=Anna Rossi$"
	assert_line --regexp "^case [0-9]+ 'Tax audit' client='Carla Verdi' assigned=\[alice\]$"
	assert_line --regexp "^document [0-9]+ 'Audit letter' case='Tax audit' about=office.client:Marco Moretti$"
	# The next sync meets the same collision: it is not settled by the
	# base of the sync before (nothing of Giovanni's was synced).
	push
	[ "$status" -eq 1 ] || fail "the next sync: exit status $status, expected 1 (the collision again)
stdout: $output
stderr: $stderr"
	grep -i 'collision' <<<"$stderr" | grep -q 'office_client' ||
		fail "the next sync does not report the collision in office_client: $stderr"
	run dj "$PROD" office show
	assert_line "client $gid 'Lucia Longo' phone='+39 06 4444' vip=False referred_by=None"
	refute_output --partial "Giovanni"
}

# b2: the same collision with --rekey: Giovanni goes in under a new id, his
# case and its assignment follow, and the next sync has nothing to do.
check_rekey() {
	new_pair "$1"
	first_sync
	run orm "$DEV" '
g = Client.objects.create(name="Giovanni Galli", phone="+39 06 3333")
claim = Case.objects.create(client=g, title="Giovanni claim")
claim.assigned_to.add(User.objects.get(username="bob"))
f = Client.objects.create(name="Franco Fabbri", referred_by=g)
print(g.pk)
'
	assert_success
	local gid=$output
	run orm "$PROD" 'print(Client.objects.create(name="Lucia Longo", phone="+39 06 4444").pk)'
	assert_success
	assert_equal "$output" "$gid"
	push --rekey
	[ "$status" -eq 0 ] || fail "exit status $status
stdout: $output
stderr: $stderr"
	grep -q "office_client.*collision: inserted as" <<<"$stderr" || fail "no re-key named: $stderr"
	run dj "$PROD" office show
	assert_success
	assert_line "client $gid 'Lucia Longo' phone='+39 06 4444' vip=False referred_by=None"
	assert_line --regexp "^client [0-9]+ 'Giovanni Galli' phone='\+39 06 3333' vip=False referred_by=None$"
	refute_line --regexp "^client $gid 'Giovanni"
	assert_line --regexp "^client [0-9]+ 'Franco Fabbri' phone='' vip=False referred_by=Giovanni Galli$"
	assert_line --regexp "^case [0-9]+ 'Giovanni claim' client='Giovanni Galli' assigned=\[bob\]$"
	refute_line --regexp "^case [0-9]+ .* client='Lucia Longo'"
	push
	assert_success
	assert_equal "$(total_counts)" "0 0 0"
	# and new objects through prod's ORM still get fresh ids
	run orm "$PROD" 'print(Client.objects.create(name="After").pk > max(c.pk for c in Client.objects.exclude(name="After")))'
	assert_success
	assert_output True
}

@test "--rekey, sqlite dev -> postgresql prod: the colliding client goes in under a new id with his case; the next sync is clean" {
	check_rekey sqlite-pg
}

@test "--rekey, postgresql dev -> mariadb prod: the colliding client goes in under a new id with his case; the next sync is clean" {
	check_rekey pg-mariadb
}

# c: django_migrations is history, not data.
migrations_list='
from django.db.migrations.recorder import MigrationRecorder
for m in MigrationRecorder.Migration.objects.order_by("id"):
    print(m.id, m.app, m.name, m.applied.isoformat())
'
check_migration_history() {
	new_pair "$1"
	run orm "$PROD" "$migrations_list"
	assert_success
	local before=$output
	[ -n "$before" ] || fail "prod has no django_migrations rows"
	# dev ran a migration that prod has not.
	run orm "$DEV" '
from django.db.migrations.recorder import MigrationRecorder
MigrationRecorder.Migration.objects.create(app="office", name="0002_client_email")
'
	assert_success
	push
	assert_success
	run orm "$PROD" "$migrations_list"
	assert_success
	assert_equal "$output" "$before"
	# The data itself arrived.
	run dj "$PROD" office show
	assert_line --regexp "^client [0-9]+ 'Anna Rossi' "
	# --with-history takes it along.
	push --with-history
	assert_success
	run orm "$PROD" "$migrations_list"
	assert_success
	assert_line --regexp "^[0-9]+ office 0002_client_email "
}

# d: prod keeps its own users; rows that refer to them are refused.
check_excluded_reference() {
	new_pair "$1"
	# prod's own people, with the ids dev's users have.
	run orm "$PROD" '
for name in ("zoe", "yann", "xavier"):
    User.objects.create_user(name)
'
	assert_success
	printf '[prod]\nurl = %s\nexclude = auth_user\n' "$PROD" >dbpipe.conf
	dump_body "$PROD" >before.ndjson
	run dj "$PROD" office show
	local before_show=$output
	SYNC_TARGET=prod push
	[ "$status" -eq 2 ] || fail "exit status $status, expected 2 (refused)
stdout: $output
stderr: $stderr"
	# A line names the column of office_case_assigned_to and the excluded
	# table it refers to, with a remedy: a natural key for auth_user, or
	# excluding office_case_assigned_to as well.
	local why
	why=$(grep 'office_case_assigned_to' <<<"$stderr" | grep 'user_id' | grep 'auth_user') ||
		fail "no stderr line names office_case_assigned_to, its column user_id and the table auth_user: $stderr"
	grep -qiE 'natural|exclude "?office_case_assigned_to' <<<"$why" ||
		fail "the line does not give the remedy (a natural key for auth_user, or excluding office_case_assigned_to): $why"
	# Nothing was written.
	dump_body "$PROD" >after.ndjson
	run diff before.ndjson after.ndjson
	assert_success
	run dj "$PROD" office show
	assert_equal "$output" "$before_show"
}

@test "sync base, sqlite dev -> postgresql prod: a prod-side edit (vip) that dev never touched survives the next syncs" {
	check_prod_edit_kept sqlite-pg
}

@test "sync base, postgresql dev -> mariadb prod: a prod-side edit (vip) that dev never touched survives the next syncs" {
	check_prod_edit_kept pg-mariadb
}

@test "sync base, sqlite dev -> postgresql prod: dev and prod edit other columns of one client (phone, vip): both edits stay" {
	check_column_merge sqlite-pg
}

@test "sync base, postgresql dev -> mariadb prod: dev and prod edit other columns of one client (phone, vip): both edits stay" {
	check_column_merge pg-mariadb
}

@test "collision, sqlite dev -> postgresql prod: same new client id on both sides is not written over prod's client; its case is held back; unrelated rows applied (exit 1, again on the next sync)" {
	check_collision sqlite-pg
}

@test "collision, postgresql dev -> mariadb prod: same new client id on both sides is not written over prod's client; its case is held back; unrelated rows applied (exit 1, again on the next sync)" {
	check_collision pg-mariadb
}

@test "migration history, sqlite dev -> postgresql prod: django_migrations is left out of data syncs; --with-history includes it" {
	check_migration_history sqlite-pg
}

@test "migration history, postgresql dev -> mariadb prod: django_migrations is left out of data syncs; --with-history includes it" {
	check_migration_history pg-mariadb
}

# e: prod keeps its own users, named by their usernames: natural = auth_user(username).
check_natural_users() {
	new_pair "$1"
	# prod's own people first, then the same usernames as dev's: other ids.
	run orm "$PROD" '
for name in ("zoe", "yann", "xavier", "carol", "bob", "alice"):
    User.objects.create_user(name)
'
	assert_success
	printf '[prod]\nurl = %s\nexclude = auth_user\nnatural = auth_user(username) django_content_type(app_label, model)\n' \
		"$PROD" >dbpipe.conf
	SYNC_TARGET=prod push
	[ "$status" -eq 0 ] || fail "exit status $status
stdout: $output
stderr: $stderr"
	run dj "$PROD" office show
	assert_success
	# the assignments name prod's alice and carol, not whoever has dev's ids there
	assert_line --regexp "^case [0-9]+ 'Appeal' client='Anna Rossi' assigned=\[alice,carol\]$"
	refute_output --regexp "assigned=\[[^]]*(zoe|yann|xavier)"
	assert_line --regexp "^user [0-9]+ zoe "
	# and the next sync has nothing to do
	SYNC_TARGET=prod push
	assert_success
	assert_equal "$(total_counts)" "0 0 0"
}

@test "natural auth_user(username), sqlite dev -> postgresql prod env: assignments point at prod's own users of the same name" {
	check_natural_users sqlite-pg
}

@test "natural auth_user(username), postgresql dev -> mariadb prod env: assignments point at prod's own users of the same name" {
	check_natural_users pg-mariadb
}

@test "excluded auth_user, sqlite dev -> postgresql prod env: office_case_assigned_to.user_id refused before writing (exit 2, column, table, remedy)" {
	check_excluded_reference sqlite-pg
}

@test "excluded auth_user, postgresql dev -> mariadb prod env: office_case_assigned_to.user_id refused before writing (exit 2, column, table, remedy)" {
	check_excluded_reference pg-mariadb
}

@test "a safe copy of prod for a laptop: examples/mask.conf leaves no person in it, and the laptop's ORM reads every object with its relations" {
	pg_clone seeded prod >/dev/null
	pg_clone migrated laptop >/dev/null
	PROD=$(pg_url prod)
	LAPTOP=$(pg_url laptop)
	local rules=$ROOT/examples/mask.conf
	echo 'the team secret' > key
	# every text column of the app and of auth_user has a rule
	run --separate-stderr dbmask --check -r "$rules" "$PROD"
	assert_failure 1
	refute_output --regexp '^(office_|auth_user\.|django_admin_log\.|django_session\.)'
	run bash -c 'set -o pipefail; dbdump-rows "$1" | dbmask -r "$2" -k key | dbapply --mirror "$3"' _ "$PROD" "$rules" "$LAPTOP"
	assert_success
	# no real name, username, phone or title is left, as the laptop's ORM reads it
	run dj "$LAPTOP" office show
	assert_success
	assert_output --partial "case 1 "
	refute_output --regexp "Rossi|Russo|Bianchi|Verdi|Archer|alice|carol|\\+39|Appeal|Lease|Will"
	# every relation holds: referrers, clients, assignees, generic foreign keys
	local relations='print([(c.pk, c.referred_by_id) for c in Client.objects.order_by("pk")],
		[(c.pk, c.client_id, sorted(u.pk for u in c.assigned_to.all())) for c in Case.objects.order_by("pk")],
		[(d.pk, d.case_id, d.content_type.model if d.content_type else None, d.object_id, d.about is not None)
		 for d in Document.objects.order_by("pk")])'
	run orm "$PROD" "$relations"
	assert_success
	local prod_relations=$output
	run orm "$LAPTOP" "$relations"
	assert_success
	assert_equal "$output" "$prod_relations"
	# nobody logs in with a production password
	run dj "$LAPTOP" office run 'print(sorted({u.has_usable_password() for u in User.objects.all()}))'
	assert_output "[False]"
	# the same secret next week: the laptop is already what prod masks to
	run bash -c 'set -o pipefail; dbdump-rows "$1" | dbmask -r "$2" -k key | dbapply --mirror "$3"' _ "$PROD" "$rules" "$LAPTOP"
	assert_success
	assert_line --regexp '^total +0 +0 +0$'
}

# ----------------------------------------------------------------------------
# A model change in dev only: makemigrations and migrate there, then a sync
# with --schema; prod's manage.py finds nothing to migrate.

# manage.py of the copy of the project in $T/proj on database URL $1.
dj_copy() {
	local db=$1
	shift
	OFFICE_DB=$db PYTHONDONTWRITEBYTECODE=1 PYTHONNOUSERSITE=1 \
		env -u PYTHONPATH -u PYTHONHOME "$PY" "$T/proj/manage.py" "$@"
}

# Pair $1: a first sync; then, in a copy of the project, a new field on
# Client and a new model Tag that refers to it, made by makemigrations and
# migrated in dev only, used through the ORM; then dev | dbapply --schema prod.
check_model_change() {
	new_pair "$1"
	first_sync
	cp -r "$ROOT/tests/django" "$T/proj"
	cat >> "$T/proj/office/models.py" <<-'PY'


	Client.add_to_class("nickname", models.CharField(max_length=50, null=True, blank=True))


	class Tag(models.Model):
	    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="tags")
	    label = models.CharField(max_length=40)
	PY
	run dj_copy "$DEV" makemigrations office -n dev_change
	assert_success
	assert_output --partial "0003_dev_change.py"
	run dj_copy "$DEV" migrate -v1
	assert_success
	assert_output --partial "Applying office.0003_dev_change... OK"
	run dj_copy "$DEV" office run 'from office.models import Tag
c = Client.objects.get(name="Anna Rossi"); c.nickname = "Annie"; c.save()
Tag.objects.create(client=c, label="loyal")'
	assert_success
	# prod, on the old code, lacks the column and the table: a plain sync refuses
	push
	assert_failure 2
	[[ "$stderr" == *'unknown column "nickname" in table "office_client"'* ]]
	push --schema
	assert_success
	[[ "$stderr" == *"schema: CREATE TABLE"*"office_tag"* ]]
	refute_output --partial "history tables left out"
	# the history came with the schema: nothing to migrate, the checks pass
	run dj_copy "$PROD" migrate --check
	assert_success
	run dj_copy "$PROD" migrate
	assert_success
	assert_output --partial "No migrations to apply."
	run dj_copy "$PROD" check
	assert_success
	run dj_copy "$PROD" showmigrations office
	assert_output --partial "[X] 0003_dev_change"
	# the new field and model, read and written through prod's ORM
	run dj_copy "$PROD" office run 'from office.models import Tag
c = Client.objects.get(name="Anna Rossi")
print(c.nickname, [t.label for t in c.tags.all()])
c.nickname = "Ann"; c.save()
t = Tag.objects.create(client=c, label="prod-made")
print(Client.objects.get(pk=c.pk).nickname, t.pk > 1, Tag.objects.count())'
	assert_success
	assert_output "Annie ['loyal']
Ann True 2"
	# and the next sync from dev finds prod's own edits, not a schema change
	push --schema
	assert_success
	refute_output --partial "schema:"
}

@test "a model change in dev only (makemigrations, migrate), SQLite -> SQLite with --schema: prod's migrate has nothing to apply, check passes, the ORM uses the new field" {
	check_model_change sqlite-sqlite
}

@test "a model change in dev only (makemigrations, migrate), PostgreSQL -> PostgreSQL with --schema: prod's migrate has nothing to apply, check passes, the ORM uses the new field" {
	check_model_change pg-pg
}

@test "a model change in dev only (makemigrations, migrate), SQLite -> PostgreSQL with --schema: prod's migrate has nothing to apply, check passes, the ORM uses the new field" {
	check_model_change sqlite-pg
}
