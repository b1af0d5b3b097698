#!/bin/sh
# The demo sync on SQLite: dev and prod start alike, both change, dev is
# merged into prod (preview first), then a --mirror preview shows what a full
# replace would delete.  Run by `make demo`; works in a scratch directory.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin=${DBPIPE_BIN:-$here/../bin}
PATH="$bin:$PATH"
work=${DEMO_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/dbpipe-demo.XXXXXX")}
mkdir -p "$work"
cd "$work"

step() { printf '\n== %s\n' "$*"; }
show() { printf '$ %s\n' "$*"; sh -c "$*"; }

step "dev and prod start with the same 100 clients and 50 cases"
for env in dev prod; do
	rm -f $env.db
	sqlite3 $env.db < "$here/office-schema.sql"
	sqlite3 $env.db < "$here/office-seed.sql"
done

step "in dev: client #101 added, client #50 gets a new phone, case #51 added"
sqlite3 dev.db "INSERT INTO clients (name, phone, email, balance, created_at)
	VALUES ('Client 101', '+1 555 0101', 'client101@example.com', '0.00', '2026-03-01 10:00:00');
UPDATE clients SET phone = '+1 555 9050' WHERE id = 50;
INSERT INTO cases (client_id, type_id, title, opened) VALUES (101, 2, 'Case 51 of client 101', '2026-03-02');"

step "in prod: client #102 added by hand"
sqlite3 prod.db "INSERT INTO clients (id, name, created_at) VALUES (102, 'Walk-in 102', '2026-03-03 11:00:00');"

step "preview the sync dev -> prod (runs it, rolls back)"
show "dbdump-rows dev.db | dbapply --dry-run prod.db"

step "sync: merge dev into prod (prod keeps its own client #102)"
show "dbdump-rows dev.db | dbapply prod.db"

step "prod now"
show "sqlite3 prod.db \"SELECT 'clients', count(*) FROM clients; SELECT 'cases', count(*) FROM cases; SELECT 'phone of #50', phone FROM clients WHERE id = 50; SELECT 'client #102', name FROM clients WHERE id = 102;\""

step "what is still different between dev and prod"
show "dbdiff --stat dev.db prod.db > changes.ndjson || true"
show "grep -v '\"type\":\"table\"' changes.ndjson | grep '\"type\":\"[a-z]*\",\"table\":\"clients\"' | grep -v '\"end\"'"

step "preview a full replace (--mirror): #102 would be deleted"
show "dbdump-rows dev.db | dbapply --mirror --dry-run prod.db"

printf '\nThe databases are in %s\n' "$work"
