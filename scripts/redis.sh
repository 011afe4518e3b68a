#!/usr/bin/env bash
# Local Redis from Debian's redis-server, bound to 127.0.0.1, state outside the repo.
# Idempotent: installs once, reuses a running server.
#   scripts/redis.sh start|stop|status
set -euo pipefail

CACHE="${CDP_CACHE_DIR:-$HOME/.cache/cdp}"
PORT="${REDIS_PORT:-6379}"
DIR="$CACHE/redis-$PORT"
PIDFILE="$DIR/redis.pid"

log() { printf '[redis] %s\n' "$*" >&2; }

ensure_installed() {
  if command -v redis-server >/dev/null 2>&1; then return; fi
  log "installing redis-server from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq redis-server >/dev/null
}

ping() { redis-cli -h 127.0.0.1 -p "$PORT" ping 2>/dev/null | grep -q PONG; }

start() {
  ensure_installed
  if ping; then log "already answering on $PORT"; return; fi
  mkdir -p "$DIR"
  redis-server --bind 127.0.0.1 --port "$PORT" --dir "$DIR" --daemonize yes \
    --pidfile "$PIDFILE" --logfile "$DIR/redis.log" --appendonly yes --save "" \
    --protected-mode yes
  for _ in $(seq 1 100); do ping && { log "ready: redis://127.0.0.1:$PORT"; return; }; sleep 0.1; done
  log "redis did not answer"; tail -n 20 "$DIR/redis.log" >&2; exit 1
}

stop() {
  if ping; then redis-cli -h 127.0.0.1 -p "$PORT" shutdown nosave >/dev/null 2>&1 || true; log "stopped"; else log "not running"; fi
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  status) if ping; then echo running; else echo stopped; exit 1; fi ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
