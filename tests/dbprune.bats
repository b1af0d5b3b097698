#!/usr/bin/env bats
# dbprune: retention of backups and undo streams.

setup() {
	load helpers
	common_setup
	office_db prod.db
	mkdir backups
}

# A backup or undo file as dbpipe writes it, with a chosen time.
fake() { # label stamp kind [verified]
	local f=backups/$1-$2.$3.ndjson.gz at
	at=$(date -u -d "$(echo "$2" | sed -E 's/(....)(..)(..)T(..)(..)(..)Z/\1-\2-\3 \4:\5:\6/')" +%Y-%m-%dT%H:%M:%SZ)
	dbdump-rows prod.db | sed "1s/\"at\":\"[^\"]*\"/\"at\":\"$at\",\"purpose\":\"$3\"/" | gzip > "$f"
	[ "${4:-}" = verified ] && dbbackup --verify "$f" > /dev/null
	return 0
}

@test "usage errors" {
	run dbprune
	assert_failure 2
	assert_output --partial "missing DIR"
	run dbprune --keep many backups
	assert_failure 2
	assert_output --partial '--keep takes a whole number, not "many"'
	run dbprune --max-age soon backups
	assert_failure 2
	assert_output --partial "--max-age takes an age"
	run dbprune nothere
	assert_failure 2
}

@test "--keep N keeps the newest N per name and kind, and prints what it removed" {
	for d in 01 02 03 04; do fake prod 202601${d}T000000Z backup verified; done
	for d in 01 02 03; do fake prod 202601${d}T120000Z undo; done
	fake dev 20260101T000000Z backup verified
	run dbprune --keep 2 backups
	assert_success
	cat > expected <<-'EOF'
	removed backups/prod-20260101T000000Z.backup.ndjson.gz
	removed backups/prod-20260101T120000Z.undo.ndjson.gz
	removed backups/prod-20260102T000000Z.backup.ndjson.gz
	EOF
	diff -u expected - <<<"$output"
	assert_equal "$(ls backups | grep -c 'ndjson.gz$')" 5
	[ ! -e backups/prod-20260101T000000Z.backup.ndjson.gz.verified ]
}

@test "--max-age removes old files, but never the newest verified backup" {
	fake prod 20200101T000000Z backup verified
	fake prod 20200102T000000Z backup
	fake prod 20200103T000000Z undo
	run dbprune --max-age 30d backups
	assert_success
	assert_line "removed backups/prod-20200102T000000Z.backup.ndjson.gz"
	assert_line "removed backups/prod-20200103T000000Z.undo.ndjson.gz"
	refute_output --partial 20200101
	[ -e backups/prod-20200101T000000Z.backup.ndjson.gz ]
}

@test "--dry-run removes nothing; files that are not dbpipe's are never touched" {
	fake prod 20200101T000000Z undo
	echo hello | gzip > backups/notes.ndjson.gz
	echo hello > backups/README
	run dbprune --dry-run --keep 0 backups
	assert_success
	assert_output "would remove backups/prod-20200101T000000Z.undo.ndjson.gz"
	[ -e backups/prod-20200101T000000Z.undo.ndjson.gz ]
	run dbprune --keep 0 backups
	assert_success
	[ -e backups/notes.ndjson.gz ] && [ -e backups/README ]
}

@test "the partial undo stream of a dbapply killed over a day ago goes; a younger one may be a run still going" {
	old=backups/prod-20261101T000000Z.undo.ndjson.partial.gz
	young=backups/prod-20261122T000000Z.undo.ndjson.partial.gz
	dbdump-rows prod.db | sed '1s/"at":"[^"]*"/&,"purpose":"undo"/' | head -c 3000 | gzip > "$old"
	cp "$old" "$young"
	echo '{"type":"header","stream":"rows","version":1}' | gzip > backups/mine.undo.ndjson.partial.gz
	touch -d '2 days ago' "$old" backups/mine.undo.ndjson.partial.gz
	run dbprune -n backups
	assert_success
	assert_output "would remove $old"
	assert [ -f "$old" ]
	run dbprune backups
	assert_success
	assert_output "removed $old"
	assert [ ! -e "$old" ]
	assert [ -f "$young" ]
	assert [ -f backups/mine.undo.ndjson.partial.gz ]
}

@test "the sync base kept for an undo stream's rollback goes with that undo stream" {
	office_db dev.db
	mkdb prod.db < "$ROOT/examples/office-schema.sql"
	dbdump-rows dev.db | dbapply prod.db > /dev/null
	sqlite3 dev.db "UPDATE clients SET phone = 'x' WHERE id = 1"
	dbdump-rows dev.db | dbapply prod.db > /dev/null
	run ls backups
	assert_equal "$(ls backups | grep -c prevbase)" 2
	run dbprune --keep 1 backups
	assert_success
	assert_output --regexp 'removed backups/prod-[0-9TZ]+\.prevbase-[0-9a-f]{16}-[0-9a-f]{16}\.none'
	assert_equal "$(ls backups | grep -c prevbase)" 1
	ls backups/prod.base-*.ndjson.zst # the base itself is never pruned
}
