# A throwaway PostgreSQL server for a bats file: pg_start in setup_file,
# pg_stop in teardown_file.  The cluster lives in a mktemp -d directory,
# listens only on 127.0.0.1 on a free port, and runs as an ordinary user
# (PostgreSQL refuses to run as root: as root we use the system user
# dbpipe-test, created if missing).  Exports:
#   PG_URL       postgres://dbpipe@127.0.0.1:PORT/postgres (password via PGPASSFILE)
#   PG_PORT, PG_DIR, PG_USER, PG_PASSWORD, PGPASSFILE
# and pg_url DB / pg_psql DB [psql args] / pg_createdb DB for the tests.

PG_TEST_OSUSER=dbpipe-test

source "${BASH_SOURCE[0]%/*}/server_watch.bash"

# The directory holding initdb, pg_ctl and postgres.
pg_bindir() {
	local d
	if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
		dirname "$(readlink -f "$(command -v pg_ctl)")"
		return 0
	fi
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
			echo "$d"
			return 0
		fi
	done
	return 1
}

# Run a server command as the server's user.
pg_as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		(cd "$PG_DIR" && runuser -u "$PG_TEST_OSUSER" -- "$@")
	else
		(cd "$PG_DIR" && "$@")
	fi
}

pg_port_in_use() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Start the server; on failure say why, clean up and return 1.
pg_start() {
	pg_start_server && server_watch "$PG_DIR" "$PG_DIR/data/postmaster.pid" QUIT && return 0
	pg_stop
	return 1
}

pg_start_server() {
	local bindir port tries
	if ! bindir=$(pg_bindir); then
		echo "pg_server: no PostgreSQL server binaries (initdb, pg_ctl) on the PATH or in /usr/lib/postgresql/*/bin; run 'make deps'" >&2
		return 1
	fi
	PG_BINDIR=$bindir
	# psql and pg_dump for the tests: the server's own, first on the PATH
	# (they match it, and Debian's /usr/bin/psql is a Perl wrapper that
	# costs some 50 ms a call, hundreds of calls a run); else any on the PATH.
	if [ -x "$bindir/psql" ] && [ -x "$bindir/pg_dump" ]; then
		PATH="$bindir:$PATH"
	else
		PATH="$PATH:$bindir"
	fi
	export PATH
	PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/dbpipe-pg.XXXXXX") || return 1
	export PG_DIR PG_BINDIR
	chmod 755 "$PG_DIR"
	if [ "$(id -u)" -eq 0 ]; then
		# Test files run in parallel (bats --jobs): one useradd at a time,
		# else two may race for /etc/passwd's lock and one of them fail.
		if ! id "$PG_TEST_OSUSER" >/dev/null 2>&1; then
			flock "${TMPDIR:-/tmp}/dbpipe-test-useradd.lock" sh -c '
				id "$1" >/dev/null 2>&1 ||
					useradd --system --no-create-home --shell /usr/sbin/nologin "$1" >/dev/null 2>&1' sh "$PG_TEST_OSUSER"
			id "$PG_TEST_OSUSER" >/dev/null 2>&1 || {
				echo "pg_server: cannot create the system user $PG_TEST_OSUSER" >&2
				return 1
			}
		fi
		chown "$PG_TEST_OSUSER" "$PG_DIR"
	fi
	PG_USER=dbpipe
	PG_PASSWORD="pw-$RANDOM-$RANDOM"
	export PG_USER PG_PASSWORD
	pg_as_owner sh -c 'umask 077; printf "%s\n" "$1" > "$2/pwfile"' sh "$PG_PASSWORD" "$PG_DIR" || return 1
	if ! pg_as_owner "$bindir/initdb" -D "$PG_DIR/data" -U "$PG_USER" --pwfile="$PG_DIR/pwfile" \
		--auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 --no-sync \
		>"$PG_DIR/initdb.log" 2>&1; then
		echo "pg_server: initdb failed:" >&2
		cat "$PG_DIR/initdb.log" >&2
		return 1
	fi
	tries=0
	port=$((20000 + (RANDOM % 20000)))
	while :; do
		tries=$((tries + 1))
		if [ "$tries" -gt 20 ]; then
			echo "pg_server: could not start PostgreSQL on any port (log below)" >&2
			cat "$PG_DIR/server.log" >&2
			return 1
		fi
		port=$((port + 1))
		pg_port_in_use "$port" && continue
		if pg_as_owner "$bindir/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 120 \
			-o "-p $port -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
			start >/dev/null 2>&1; then
			break
		fi
	done
	PG_PORT=$port
	PGPASSFILE=$PG_DIR/pgpass
	printf '127.0.0.1:%s:*:%s:%s\n' "$PG_PORT" "$PG_USER" "$PG_PASSWORD" >"$PGPASSFILE"
	chmod 600 "$PGPASSFILE"
	PG_URL=$(pg_url postgres)
	export PG_PORT PGPASSFILE PG_URL
	# libpq settings of the caller's environment must not redirect the tests.
	unset PGHOST PGPORT PGUSER PGDATABASE PGPASSWORD PGSERVICE PGOPTIONS PGTZ
}

pg_stop() {
	[ -n "${PG_DIR:-}" ] && [ -d "$PG_DIR" ] || return 0
	if [ -f "$PG_DIR/data/postmaster.pid" ]; then
		pg_as_owner "$PG_BINDIR/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	rm -rf "$PG_DIR"
}

# The URL of database $1 on the test server (no password: it comes from PGPASSFILE).
pg_url() {
	printf 'postgres://%s@127.0.0.1:%s/%s\n' "$PG_USER" "$PG_PORT" "$1"
}

# psql on database $1 of the test server, stopping at the first error.
pg_psql() {
	local db=$1
	shift
	psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d "$db" "$@"
}

# A fresh, empty database $1 (even if a connection to the old one is open).
pg_createdb() {
	pg_psql postgres -c "SET client_min_messages = warning" \
		-c "DROP DATABASE IF EXISTS \"$1\" WITH (FORCE)" -c "CREATE DATABASE \"$1\""
}

# The office example's schema (examples/office-schema.sql) in PostgreSQL's
# words, in database $1.
office_pg_schema() {
	pg_psql "$1" <<-'SQL'
	CREATE TABLE case_types (id integer PRIMARY KEY, name text NOT NULL UNIQUE);
	CREATE TABLE clients (id integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, name text NOT NULL,
		phone text, email text, referred_by integer REFERENCES clients(id),
		balance numeric(10,2) NOT NULL DEFAULT 0, vip boolean NOT NULL DEFAULT false,
		created_at timestamp NOT NULL);
	CREATE TABLE cases (id serial PRIMARY KEY, client_id integer NOT NULL REFERENCES clients(id),
		type_id integer NOT NULL REFERENCES case_types(id), title text NOT NULL, opened date NOT NULL);
	CREATE TABLE documents (id serial PRIMARY KEY, case_id integer NOT NULL REFERENCES cases(id),
		filename text NOT NULL, content bytea);
	SQL
}
