# server_watch DIR PIDFILE SIGNAL: once the bats run that started the
# server of DIR is gone, send SIGNAL to the process in PIDFILE, wait for it
# and remove DIR.  A run killed from outside (a timeout, kill -9) never
# reaches teardown_file, and its server would run on, holding a port and
# memory, until someone finds it.  The watcher is a session of its own, so
# a signal to the run's process group does not take it too; after a normal
# teardown DIR is gone and it ends within two seconds.
server_watch() {
	setsid -f sh -c '
		trap "" INT TERM HUP
		while [ -d "$1" ] && kill -0 "$4" 2>/dev/null; do sleep 2; done
		[ -d "$1" ] || exit 0
		pid=$(head -n 1 "$2" 2>/dev/null)
		if [ -n "$pid" ] && kill -"$3" "$pid" 2>/dev/null; then
			n=0
			while kill -0 "$pid" 2>/dev/null && [ $n -lt 100 ]; do sleep 0.2; n=$((n + 1)); done
			kill -KILL "$pid" 2>/dev/null
		fi
		rm -rf "$1"' sh "$1" "$2" "$3" "${BATS_ROOT_PID:-$$}" </dev/null >/dev/null 2>&1 3>&-
}
