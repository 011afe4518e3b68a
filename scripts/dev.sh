#!/usr/bin/env bash
# The whole stack for local development, without Docker: project venv, dev Neo4j, Redis, then the
# API (and the Celery worker and beat, once workers/celery_app.py exists) until Ctrl-C.
# Neo4j and Redis keep running after Ctrl-C, so the next run starts in seconds. A worker or beat
# that exits is started again after a short pause; the API exiting stops the session.
#   scripts/dev.sh         start everything (reuses servers that already run)
#   scripts/dev.sh stop    stop a running dev.sh, then Neo4j and Redis
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PORT="${CDP_PORT:-8000}"
# Pid, logs (overwritten each run) and beat's schedule; one dir per port, so two checkouts can each run one.
RUN_DIR="${CDP_CACHE_DIR:-$HOME/.cache/cdp}/dev-$PORT"
PIDFILE="$RUN_DIR/dev.pid"
# Read by neo4j.sh / redis.sh; the CDP_* ones by the app. Every default can be overridden.
export NEO4J_INSTANCE="${NEO4J_INSTANCE:-dev}" NEO4J_BOLT_PORT="${NEO4J_BOLT_PORT:-7687}"
export NEO4J_HTTP_PORT="${NEO4J_HTTP_PORT:-7474}" REDIS_PORT="${REDIS_PORT:-6379}"
export CDP_NEO4J_PASSWORD="${CDP_NEO4J_PASSWORD:-cdp-local-password}"
export CDP_NEO4J_URI="${CDP_NEO4J_URI:-bolt://127.0.0.1:$NEO4J_BOLT_PORT}"
export CDP_REDIS_URL="${CDP_REDIS_URL:-redis://127.0.0.1:$REDIS_PORT/0}"

log() { printf '[dev] %s\n' "$*" >&2; }

# The pid in the pidfile, if it is still a dev.sh (a stale file may name a reused pid).
running_pid() {
  local pid
  pid=$(cat "$PIDFILE" 2>/dev/null) || return 1
  ps -o args= -p "$pid" 2>/dev/null | grep -q 'dev\.sh' && echo "$pid"
}

stop() {
  local pid
  if pid=$(running_pid); then
    log "stopping dev.sh (pid $pid)"
    kill -TERM "$pid"
    for _ in $(seq 1 80); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  fi
  scripts/neo4j.sh stop
  scripts/redis.sh stop
}

pids=()
declare -A pid_of=()   # name -> pid of each background child
cleanup() {
  trap - INT TERM EXIT
  [ ${#pids[@]} -gt 0 ] || return 0
  log "stopping (pids ${pids[*]})"
  kill -TERM "${pids[@]}" 2>/dev/null || true
  # uvicorn drains in-flight batches on TERM; give everyone 30 s before KILL.
  for _ in $(seq 1 60); do
    local alive=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ $alive = 1 ] || break
    sleep 0.5
  done
  kill -KILL "${pids[@]}" 2>/dev/null || true
  rm -f "$PIDFILE"
}

# bg NAME CMD...: a background child whose output is prefixed "[NAME] " and kept in $RUN_DIR/NAME.log
# (appended to when NAME is started again, so the lines before a crash stay).
bg() {
  local name=$1; shift
  local tee_opt=()
  [ -n "${pid_of[$name]:-}" ] && tee_opt=(-a)
  # The pipe ignores Ctrl-C so it outlives the child and shows its shutdown lines.
  "$@" > >(trap '' INT TERM; tee "${tee_opt[@]}" "$RUN_DIR/$name.log" | sed -u "s/^/[$name] /") 2>&1 &
  pid_of[$name]=$!
  pids=("${pid_of[@]}")
}

# spawn NAME: start (or start again) one of the session's processes.
spawn() {
  case $1 in
    api) bg api uvicorn --factory app.main:create_app --host 127.0.0.1 --port "$PORT" ;;
    worker) bg worker celery -A workers.celery_app worker -l info ;;
    # beat keeps its schedule state in a file; keep it out of the work tree.
    beat) bg beat celery -A workers.celery_app beat -l info --schedule "$RUN_DIR/celerybeat-schedule" ;;
  esac
}

# supervise: wait for children; the API exiting ends the session, a worker or beat exiting is
# started again, after a pause that grows (to 30 s) while it keeps exiting within a minute.
supervise() {
  local rc exited name pause
  declare -A started=() backoff=()
  for name in "${!pid_of[@]}"; do started[$name]=$SECONDS; backoff[$name]=1; done
  while :; do
    rc=0 exited=
    # A child that died while we were busy may already be reaped, which wait -n would not report.
    for name in "${!pid_of[@]}"; do
      kill -0 "${pid_of[$name]}" 2>/dev/null && continue
      exited=${pid_of[$name]}; wait "$exited" || rc=$?; break
    done
    [ -n "$exited" ] || wait -n -p exited "${pids[@]}" || rc=$?
    name=
    for n in "${!pid_of[@]}"; do [ "${pid_of[$n]}" = "$exited" ] && name=$n; done
    if [ -z "$name" ] || [ "$name" = api ]; then
      log "the ${name:-unknown process} exited (status $rc); stopping the rest"
      exit "$rc"
    fi
    if [ $((SECONDS - started[$name])) -ge 60 ]; then backoff[$name]=1; fi
    pause=${backoff[$name]}
    log "the $name exited (status $rc); starting it again in ${pause}s"
    # Sleep in the background so Ctrl-C and 'dev.sh stop' are handled at once.
    sleep "$pause" & wait $! || true
    backoff[$name]=$((pause * 2 > 30 ? 30 : pause * 2))
    spawn "$name"
    started[$name]=$SECONDS
  done
}

banner() {
  cat >&2 <<EOF

  API            http://127.0.0.1:$PORT   (docs: http://127.0.0.1:$PORT/docs)
  Console        http://127.0.0.1:$PORT/console/   (sign in with the admin token below)
  Snippet        http://127.0.0.1:$PORT/cdp.js
  Neo4j Browser  http://127.0.0.1:$NEO4J_HTTP_PORT/browser/   $CDP_NEO4J_URI  user neo4j  password $CDP_NEO4J_PASSWORD
  Redis          $CDP_REDIS_URL
  Write key      dev-web-key   Admin token  dev-admin-token
  Try            curl -u dev-web-key: -H 'content-type: application/json' \\
                   -d '{"userId":"u1","event":"Test"}' http://127.0.0.1:$PORT/v1/track
  Logs           $RUN_DIR   Stop: Ctrl-C (servers keep running; 'scripts/dev.sh stop' stops them)

EOF
}

start() {
  local pid
  if pid=$(running_pid); then
    log "already running (pid $pid): http://127.0.0.1:$PORT; 'scripts/dev.sh stop' stops it"
    exit 0
  fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
    log "port $PORT is taken by another program; choose another with CDP_PORT=..."; exit 1
  fi
  # shellcheck source=scripts/env.sh
  source scripts/env.sh
  scripts/console.sh build   # the admin console at /console/
  scripts/neo4j.sh start
  scripts/redis.sh start
  mkdir -p "$RUN_DIR"
  echo $$ >"$PIDFILE"
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  spawn api
  local api=${pid_of[api]}
  # Workers start only once the module exists; until then the API alone is the stack.
  if [ -f workers/celery_app.py ]; then
    spawn worker
    spawn beat
  fi

  until (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; do
    kill -0 "$api" 2>/dev/null || { log "the API exited; see above"; exit 1; }
    sleep 0.3
  done
  banner
  supervise
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 [start|stop]" >&2; exit 2 ;;
esac
