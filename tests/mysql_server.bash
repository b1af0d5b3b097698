# A throwaway MariaDB server for the MySQL/MariaDB tests: a data directory in
# a temporary directory, listening on 127.0.0.1 on a free port (and a socket
# in the same directory).  Call my_start in setup_file and my_stop in
# teardown_file (bats runs teardown_file also after a failure).
#
# Exports (my_start cleans up after itself if it fails):
#   MY_DIR     the temporary directory (datadir, socket, log, option file)
#   MY_PORT    the TCP port
#   MY_SOCK    the Unix socket
#   MY_URL     mysql://dbpipe@127.0.0.1:PORT/dbpipe_test (password in MYSQL_PWD)
#   MYSQL_PWD  the password of the dbpipe user
# and my_sql [DB] (runs SQL from stdin as root over the socket).

source "${BASH_SOURCE[0]%/*}/server_watch.bash"

my_find() {
	local b
	for b in "$@"; do
		if command -v "$b" >/dev/null 2>&1; then
			command -v "$b"
			return 0
		fi
	done
	for b in "$@"; do
		if [ -x "/usr/sbin/$b" ]; then
			echo "/usr/sbin/$b"
			return 0
		fi
	done
	return 1
}

# A port nobody listens on (the server start is retried on a collision).
my_free_port() {
	local port
	while :; do
		port=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return 0
		fi
	done
}

my_start() {
	my_start_server && server_watch "$MY_DIR" "$MY_DIR/server.pid" TERM && return 0
	my_stop
	return 1
}

my_start_server() {
	local installdb server client
	# Missing binaries are a failure, not a skip: `make check` installs them.
	installdb=$(my_find mariadb-install-db mysql_install_db) ||
		{ echo "mysql_server.bash: mariadb-install-db not found (run scripts/install-deps)" >&2; return 1; }
	server=$(my_find mariadbd mysqld) ||
		{ echo "mysql_server.bash: mariadbd not found (run scripts/install-deps)" >&2; return 1; }
	client=$(my_find mariadb mysql) ||
		{ echo "mysql_server.bash: the mariadb client not found (run scripts/install-deps)" >&2; return 1; }
	MY_CLIENT=$client
	MY_DIR=$(mktemp -d "${TMPDIR:-/tmp}/dbpipe-my.XXXXXX") || return 1
	export MY_DIR
	MY_SOCK=$MY_DIR/mysql.sock
	local user=()
	[ "$(id -u)" -eq 0 ] && user=(--user=root)
	"$installdb" --no-defaults --datadir="$MY_DIR/data" "${user[@]}" \
		--auth-root-authentication-method=normal --skip-test-db \
		>"$MY_DIR/install.log" 2>&1 ||
		{ echo "mysql_server.bash: mariadb-install-db failed:" >&2; cat "$MY_DIR/install.log" >&2; return 1; }
	# Its own directory for internal temporary tables, not the /tmp that
	# the other test files' servers share (a run once lost one there:
	# "Error on delete of '/tmp/#sql-temptable-....MAD'").
	mkdir -p "$MY_DIR/tmp" || return 1
	local try
	for try in 1 2 3 4 5; do
		MY_PORT=$(my_free_port)
		"$server" --no-defaults --datadir="$MY_DIR/data" "${user[@]}" \
			--bind-address=127.0.0.1 --port="$MY_PORT" --socket="$MY_SOCK" --tmpdir="$MY_DIR/tmp" \
			--pid-file="$MY_DIR/mysqld.pid" --log-error="$MY_DIR/error.log" \
			--skip-name-resolve --innodb-buffer-pool-size=32M --innodb-log-file-size=16M \
			--character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
			>/dev/null 2>&1 &
		echo $! >"$MY_DIR/server.pid"
		# Up to a minute while the server lives (a loaded machine, several
		# test files starting servers at once); one that exits (its port
		# was taken) is tried again on another port at once.
		local i
		for i in $(seq 1 600); do
			if MYSQL_PWD= "$client" --no-defaults -S "$MY_SOCK" -u root -e 'SELECT 1' >/dev/null 2>&1; then
				break 2
			fi
			kill -0 "$(cat "$MY_DIR/server.pid")" 2>/dev/null || break
			sleep 0.1
		done
		kill "$(cat "$MY_DIR/server.pid")" 2>/dev/null
		wait "$(cat "$MY_DIR/server.pid")" 2>/dev/null
		[ "$try" -eq 5 ] &&
			{ echo "mysql_server.bash: mariadbd did not start:" >&2; tail -20 "$MY_DIR/error.log" >&2; return 1; }
	done
	export MYSQL_PWD=dbpipe-secret
	my_sql mysql <<-SQL || return 1
		CREATE DATABASE dbpipe_test CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;
		CREATE USER 'dbpipe'@'127.0.0.1' IDENTIFIED BY '$MYSQL_PWD';
		CREATE USER 'dbpipe'@'localhost' IDENTIFIED BY '$MYSQL_PWD';
		GRANT ALL ON *.* TO 'dbpipe'@'127.0.0.1';
		GRANT ALL ON *.* TO 'dbpipe'@'localhost';
	SQL
	export MY_DIR MY_PORT MY_SOCK MY_CLIENT
	export MY_URL="mysql://dbpipe@127.0.0.1:$MY_PORT/dbpipe_test"
}

# Run SQL from stdin as root over the socket, in database $1 (default dbpipe_test).
my_sql() {
	MYSQL_PWD='' "$MY_CLIENT" --no-defaults -S "$MY_SOCK" -u root --batch --skip-column-names \
		--default-character-set=utf8mb4 "${1:-dbpipe_test}"
}

# Drop and recreate a database (default dbpipe_test).
my_reset_db() {
	local db=${1:-dbpipe_test}
	my_sql mysql <<-SQL
		DROP DATABASE IF EXISTS \`$db\`;
		CREATE DATABASE \`$db\` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;
	SQL
}

my_stop() {
	[ -n "${MY_DIR:-}" ] && [ -d "$MY_DIR" ] || return 0
	local pid
	pid=$(cat "$MY_DIR/server.pid" 2>/dev/null)
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill "$pid" 2>/dev/null
		local i
		for i in $(seq 1 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$pid" 2>/dev/null
	fi
	rm -rf "$MY_DIR"
}
