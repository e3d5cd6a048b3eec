# A private PostgreSQL server for tests: Debian's postgresql package, a throw-away cluster in a temp
# dir, listening on a private port and a private socket dir only. Source it, then:
#   pg_start        -> exports HEARTH_PG_ADMIN_URL (a server URL whose database can be created/dropped)
#   pg_new_database NAME -> prints the URL of a fresh empty database
#   pg_stop         -> stops the server and removes the cluster (register it with on_exit)

pg_bin() {
    local d
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [ -n "$d" ] || return 1
    echo "$d"
}

pg_start() {
    ensure_packages postgresql
    local bin
    bin=$(pg_bin) || die "PostgreSQL binaries not found after installing postgresql"
    PG_DIR=$(mktemp -d /tmp/hearth-pg.XXXXXX)
    chown postgres: "$PG_DIR"
    PG_PORT=${HEARTH_TEST_PG_PORT:-$(( 40000 + RANDOM % 20000 ))}
    log "starting a private PostgreSQL on port $PG_PORT ($PG_DIR)"
    runuser -u postgres -- "$bin/initdb" -D "$PG_DIR/data" --auth=trust -U postgres >/dev/null
    runuser -u postgres -- "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w \
        -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null \
        || { cat "$PG_DIR/log" >&2; die "PostgreSQL did not start"; }
    PG_BIN=$bin
    export HEARTH_PG_ADMIN_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
}

pg_new_database() {
    runuser -u postgres -- "$PG_BIN/createdb" -h "$PG_DIR" -p "$PG_PORT" "$1"
    echo "postgres://postgres@127.0.0.1:$PG_PORT/$1"
}

pg_stop() {
    [ -n "${PG_DIR:-}" ] || return 0
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
    PG_DIR=
}
