#!/usr/bin/env bats
# The scripts in examples/ do what their comments say.

setup() {
	load helpers
	common_setup
	cp "$ROOT"/examples/workflow/* .
	office_db dev.db
	cp dev.db prod.db
	# prod was made from dev and synced once: it keeps a sync base, so the
	# next sync tells dev's edits from prod's (a first sync cannot)
	echo y | ./sync-dev-to-prod > /dev/null 2>&1
	sqlite3 dev.db "UPDATE clients SET phone = 'from dev' WHERE id = 3; INSERT INTO case_types VALUES (5, 'tax')"
	sqlite3 prod.db "INSERT INTO case_types VALUES (6, 'prod only')"
}

@test "examples/demo.sh tells the demo story and ends with prod as the README says" {
	DEMO_DIR=$T/demo run sh "$ROOT/examples/demo.sh"
	assert_success
	# both sides gave out #102: a collision, Giovanni's case held back with it
	assert_output --partial 'table "clients" at key {"id":102}: collision: the stream and the target each created this key for another row ("name": stream "Giovanni", target "Walk-in 102"'
	assert_output --partial 'table "cases" at key {"id":52}: held back'
	assert_line "(exit status 1: rows left out)"
	assert_line "clients|103"
	assert_line "cases|52"
	assert_line "phone of #50|+1 555 9050"
	assert_line "client #102|Walk-in 102"
	assert_line "client #103|Giovanni"
	assert_line "vip of #11|1"
	# the --mirror preview at the end would delete #102 and undo #11's VIP, nothing else
	assert_line --regexp '^clients +0 +1 +1$'
	assert_line --regexp '^total +0 +1 +1$'
	assert_equal "$(sqlite3 demo/prod.db 'SELECT count(*) FROM clients')" 103
}

@test "sync-dev-to-prod previews, asks, and does nothing without a yes" {
	dump_body prod.db > before
	run sh -c 'echo n | ./sync-dev-to-prod'
	assert_failure 1
	assert_line --regexp '^case_types +1 +0 +0$'
	assert_line "dry run: rolled back, nothing was written to sqlite:prod.db"
	assert_line --partial "nothing done"
	dump_body prod.db > after
	diff -u before after
}

@test "sync-dev-to-prod with a yes merges, after a backup, and leaves an undo stream" {
	run sh -c 'echo y | ./sync-dev-to-prod'
	assert_success
	assert_output --regexp 'dbapply: backup: backups/prod-[0-9T]+Z\.backup\.ndjson\.gz'
	assert_output --regexp 'undo: backups/prod-[0-9T]+Z\.undo\.ndjson\.gz'
	assert_equal "$(sqlite3 prod.db 'SELECT phone FROM clients WHERE id = 3')" "from dev"
	assert_equal "$(sqlite3 prod.db 'SELECT name FROM case_types WHERE id = 6')" "prod only"
}

@test "rollback-last-sync puts prod back as it was before the sync" {
	dump_body prod.db > before
	echo y | ./sync-dev-to-prod > /dev/null 2>&1
	run ./rollback-last-sync prod
	assert_success
	dump_body prod.db > after
	diff -u before after
}

@test "sync-prod-to-dev makes dev an exact copy of prod" {
	run ./sync-prod-to-dev
	assert_success
	run dbdiff prod.db dev.db
	assert_success
}

@test "nightly-backup writes a verified backup and prunes old ones" {
	run ./nightly-backup prod
	assert_success
	run dbbackup --list backups
	assert_line --regexp ' backup .* verified +backups/prod-'
	for i in $(seq 1 16); do ./nightly-backup prod > /dev/null; done
	[ "$(ls backups/*.backup.ndjson.gz | wc -l)" -eq 14 ]
}

@test "sync-dev-to-prod with a collision: the preview names it, a yes applies the rest, exit 1" {
	sqlite3 dev.db "INSERT INTO clients (id, name, created_at) VALUES (101, 'dev 101', '2026-01-01 00:00:00');
		UPDATE clients SET phone = 'again' WHERE id = 4"
	sqlite3 prod.db "INSERT INTO clients (id, name, created_at) VALUES (101, 'prod 101', '2026-01-01 00:00:00')"
	run sh -c 'echo y | ./sync-dev-to-prod'
	assert_failure 1
	assert_output --partial 'table "clients" at key {"id":101}: collision'
	assert_line "the rows named above would be left out; the rest can be applied"
	assert_equal "$(sqlite3 prod.db 'SELECT phone FROM clients WHERE id = 4')" again
	assert_equal "$(sqlite3 prod.db 'SELECT name FROM clients WHERE id = 101')" "prod 101"
}
