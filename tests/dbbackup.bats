#!/usr/bin/env bats
# dbbackup: verified gzip NDJSON backups, their list, and restore through dbapply.

setup() {
	load helpers
	common_setup
	office_db prod.db
}

@test "usage errors" {
	run dbbackup
	assert_failure 2
	assert_output --partial "missing TARGET"
	run dbbackup --verify
	assert_failure 2
	assert_output --partial "--verify needs a FILE"
	run dbbackup --verify --list
	assert_failure 2
	run dbbackup --help
	assert_success
	assert_output --partial "usage: dbbackup"
}

@test "a backup is named after the database and the UTC time, verified, and holds every row" {
	run dbbackup prod.db
	assert_success
	assert_output --regexp '^backups/prod-[0-9]{8}T[0-9]{6}Z\.backup\.ndjson\.gz$'
	file=$output
	gzip -t "$file"
	assert_equal "$(zcat "$file" | head -1 | jq -r '.purpose + " " + .source + " " + .engine')" "backup prod.db sqlite"
	run dbdiff "$file" prod.db
	assert_success
	run dbbackup --verify "$file"
	assert_success
	assert_output "$file: ok, 4 tables, 174 rows"
}

@test "--dir and an environment's backups setting choose the directory" {
	run dbbackup -d elsewhere prod.db
	assert_success
	assert_output --regexp '^elsewhere/prod-'
	printf '[live]\nurl = sqlite:prod.db\nbackups = nightly\n' > dbpipe.conf
	run dbbackup live
	assert_success
	assert_output --regexp '^nightly/live-[0-9T]+Z\.backup\.ndjson\.gz$'
}

@test "--verify says exactly what is wrong with a damaged backup" {
	file=$(dbbackup prod.db)
	# cut the gzip file short: a crash or a full disk while copying
	head -c 2000 "$file" > cut.ndjson.gz
	run dbbackup --verify cut.ndjson.gz
	assert_failure 2
	assert_output --regexp "cut.ndjson.gz:[0-9]+: (truncated|read error)"
	assert_output --partial "cut.ndjson.gz: NOT verified"
	# a changed row inside an intact gzip file
	zcat "$file" | sed 's/"Client 9"/"Client 99"/' | gzip > edited.ndjson.gz
	run dbbackup --verify edited.ndjson.gz
	assert_failure 2
	assert_output --regexp 'edited.ndjson.gz:[0-9]+: clients: hash mismatch'
	# a flipped byte in the compressed data fails gzip's CRC
	cp "$file" flipped.ndjson.gz
	printf '\xff' | dd of=flipped.ndjson.gz bs=1 seek=1500 conv=notrunc 2> /dev/null
	run dbbackup --verify flipped.ndjson.gz
	assert_failure 2
}

@test "--list shows backups and undo streams with size, tables, rows and status" {
	office_db dev.db
	sqlite3 dev.db "UPDATE clients SET phone = 'x' WHERE id = 1"
	dbbackup prod.db > /dev/null
	dbdump-rows dev.db | dbapply --prefer source prod.db > /dev/null
	echo 'not a backup' | gzip > backups/stray.ndjson.gz
	run dbbackup --list
	assert_success
	assert_line --index 0 --regexp '^time +kind +bytes +tables +rows +status +file$'
	# in time order: the sync base and the undo stream of one run may fall
	# in two seconds, either first
	assert_line --index 1 --regexp '^[0-9-]+T[0-9:]+Z +backup +[0-9]+ +4 +174 +verified +backups/prod-.*\.backup\.ndjson\.gz$'
	assert_line --regexp '^[0-9-]+T[0-9:]+Z +undo +[0-9]+ +- +- +- +backups/prod-.*\.undo\.ndjson\.gz$'
	assert_equal "$(echo "$output" | awk 'NR > 1 { print $1 }' | sort -c && echo sorted)" sorted
	refute_output --partial stray
}

@test "restore: dbapply --mirror brings the backup back, also into an empty database" {
	file=$(dbbackup prod.db)
	dump_body prod.db > before
	sqlite3 prod.db "DELETE FROM documents; UPDATE clients SET name = 'gone' WHERE id < 50"
	run dbapply --mirror prod.db "$file"
	assert_success
	dump_body prod.db > after
	diff -u before after
	mkdb empty.db < "$ROOT/examples/office-schema.sql"
	run dbapply --mirror empty.db "$file"
	assert_success
	run dbdiff "$file" empty.db
	assert_success
}

@test "a backup of a database that cannot be read leaves no file behind" {
	run dbbackup missing.db
	assert_failure 2
	assert_output --partial "no such SQLite database file"
	[ ! -e backups ] || [ -z "$(ls backups)" ]
}

@test "a backup whose .verified marker cannot be written is not called verified: exit 2" {
	dbbackup prod.db > /dev/null 2>&1
	b=$(ls backups/*.backup.ndjson.gz)
	rm "$b.verified"
	mkdir "$b.verified" # the marker's name is taken: it cannot be written
	run dbbackup --verify "$b"
	assert_failure 2
	assert_output --partial "$b.verified: "
	assert_output --partial "cannot be marked verified"
	run dbbackup --list backups
	refute_output --partial "verified"
}

@test "--schema-only: the table records, verified, no rows; dbprune leaves it alone; it creates the tables in an empty database" {
	run dbbackup --schema-only prod.db
	assert_success
	assert_output --regexp '^backups/prod-[0-9]{8}T[0-9]{6}Z\.schema\.ndjson\.gz$'
	file=$output
	run dbbackup --verify "$file"
	assert_success
	assert_output "$file: ok, 4 tables, 0 rows"
	[ "$(zcat "$file" | head -1 | jq -r .purpose)" = schema ]
	run dbbackup --schema-only --list
	assert_failure 2
	run dbprune --keep 0 backups
	[ -f "$file" ]
	sqlite3 new.db "PRAGMA user_version = 1"
	run dbapply --schema new.db "$file"
	assert_success
	run dbdiff --schema prod.db new.db
	assert_success
	run sqlite3 new.db "SELECT count(*) FROM clients"
	assert_output 0
}
