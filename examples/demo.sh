#!/bin/sh
# The demo sync on SQLite: dev and prod start alike and sync once, both
# change (and both give out id #102 to another person), dev is merged into
# prod (preview first), the collision is settled, then a --mirror preview
# shows what a full replace would delete.  Run by `make demo`; works in a scratch directory.
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
rm -rf backups

step "a first sync: nothing to change, but prod now keeps a sync base (what both hold)"
show "dbdump-rows dev.db | dbapply prod.db"

step "in dev: client #101 added, client #50 gets a new phone, case #51 added; then Giovanni (#102) with case #52"
sqlite3 dev.db "INSERT INTO clients (name, phone, email, balance, created_at)
	VALUES ('Client 101', '+1 555 0101', 'client101@example.com', '0.00', '2026-03-01 10:00:00');
UPDATE clients SET phone = '+1 555 9050' WHERE id = 50;
INSERT INTO cases (client_id, type_id, title, opened) VALUES (101, 2, 'Case 51 of client 101', '2026-03-02');
INSERT INTO clients (name, created_at) VALUES ('Giovanni', '2026-03-03 12:00:00');
INSERT INTO cases (client_id, type_id, title, opened) VALUES (102, 1, 'Case 52 of Giovanni', '2026-03-04');"

step "in prod: client #102 added by hand (another person, same id), client #11 made a VIP"
sqlite3 prod.db "INSERT INTO clients (id, name, created_at) VALUES (102, 'Walk-in 102', '2026-03-03 11:00:00');
UPDATE clients SET vip = 1 WHERE id = 11;"

step "preview the sync dev -> prod (runs it, rolls back): #102 is a collision, Giovanni's case is held back"
show "dbdump-rows dev.db | dbapply --dry-run prod.db || echo \"(exit status \$?: rows left out)\""

step "sync: merge dev into prod (prod keeps #102 and #11's VIP; the collision stays out)"
show "dbdump-rows dev.db | dbapply prod.db || echo \"(exit status \$?: rows left out)\""

step "settle the collision: in dev, Giovanni moves to a free id, #103, with his case"
sqlite3 dev.db "UPDATE clients SET id = 103 WHERE id = 102; UPDATE cases SET client_id = 103 WHERE client_id = 102;"
show "dbdump-rows dev.db | dbapply prod.db"

step "and a sync with nothing new finds nothing to do"
show "dbdump-rows dev.db | dbapply prod.db"

step "prod now"
show "sqlite3 prod.db \"SELECT 'clients', count(*) FROM clients; SELECT 'cases', count(*) FROM cases; SELECT 'phone of #50', phone FROM clients WHERE id = 50; SELECT 'client #102', name FROM clients WHERE id = 102; SELECT 'client #103', name FROM clients WHERE id = 103; SELECT 'vip of #11', vip FROM clients WHERE id = 11;\""

step "what is still different between dev and prod: prod's own #102 and #11's VIP"
show "dbdiff --stat dev.db prod.db > changes.ndjson || true"
show "grep -v '\"type\":\"table\"' changes.ndjson | grep '\"type\":\"[a-z]*\",\"table\":\"clients\"' | grep -v '\"end\"'"

step "preview a full replace (--mirror): #102 would be deleted and #11's VIP undone"
show "dbdump-rows dev.db | dbapply --mirror --dry-run prod.db"

printf '\nThe databases are in %s\n' "$work"
