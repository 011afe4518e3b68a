#!/usr/bin/env bash
# Local Neo4j Community 5.26 LTS without Docker: jars from Maven Central via mvn,
# cached outside the repo, bound to 127.0.0.1. Idempotent: a second run reuses
# the cache and an already running server.
#   scripts/neo4j.sh start|stop|status|wait|conf   (conf: print the configuration start writes)
set -euo pipefail

NEO4J_VERSION="${NEO4J_VERSION:-5.26.30}"
NEO4J_BROWSER_VERSION="${NEO4J_BROWSER_VERSION:-5.24.0}"
CACHE="${CDP_CACHE_DIR:-$HOME/.cache/cdp}"
# Jars are shared by every instance; each instance (dev, test…) has its own conf and data.
LIB_DIR="$CACHE/neo4j-$NEO4J_VERSION-lib"
INSTANCE="${NEO4J_INSTANCE:-dev}"
HOME_DIR="$CACHE/neo4j-instances/$INSTANCE"
BOLT_PORT="${NEO4J_BOLT_PORT:-7687}"
HTTP_PORT="${NEO4J_HTTP_PORT:-7474}"
PASSWORD="${CDP_NEO4J_PASSWORD:-cdp-local-password}"
HEAP="${NEO4J_HEAP:-1g}"
PAGECACHE="${NEO4J_PAGECACHE:-1g}"
PIDFILE="$HOME_DIR/run/neo4j.pid"
LOG="$HOME_DIR/logs/console.log"

log() { printf '[neo4j] %s\n' "$*" >&2; }

fetch_jars() {
  if [ -f "$LIB_DIR/.complete" ]; then return; fi
  log "fetching Neo4j $NEO4J_VERSION and neo4j-browser $NEO4J_BROWSER_VERSION from Maven Central"
  mkdir -p "$LIB_DIR"
  local pom="$LIB_DIR/fetch-pom.xml"
  cat >"$pom" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>cdp.local</groupId><artifactId>neo4j-fetch</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>org.neo4j</groupId><artifactId>neo4j</artifactId><version>$NEO4J_VERSION</version></dependency>
    <dependency><groupId>org.neo4j.client</groupId><artifactId>neo4j-browser</artifactId><version>$NEO4J_BROWSER_VERSION</version></dependency>
  </dependencies>
</project>
EOF
  mvn -q -B -f "$pom" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$LIB_DIR"
  touch "$LIB_DIR/.complete"
}

# The configuration this script starts Neo4j with (the heap is a JVM flag, noted for comparison).
# A cached plan is replanned once its statistics change tenfold (Neo4j's default: fourfold): a
# replan of an ingest statement stalls every writer for hundreds of milliseconds on 2 cores, and the
# threshold still decays over hours, so plans keep up with a graph that grows (docs/ingest-benchmark.md).
conf_text() {
  cat <<EOF
# JVM heap: $HEAP (a flag on the java command line, not a setting)
server.default_listen_address=127.0.0.1
server.default_advertised_address=127.0.0.1
server.bolt.listen_address=127.0.0.1:$BOLT_PORT
server.bolt.advertised_address=127.0.0.1:$BOLT_PORT
server.http.listen_address=127.0.0.1:$HTTP_PORT
server.http.advertised_address=127.0.0.1:$HTTP_PORT
server.https.enabled=false
server.memory.pagecache.size=$PAGECACHE
server.directories.data=$HOME_DIR/data
server.directories.logs=$HOME_DIR/logs
server.directories.import=$HOME_DIR/import
server.directories.run=$HOME_DIR/run
server.directories.plugins=$HOME_DIR/plugins
dbms.usage_report.enabled=false
dbms.security.auth_enabled=true
db.tx_log.rotation.retention_policy=100M size
db.transaction.timeout=120s
dbms.cypher.statistics_divergence_threshold=0.9
EOF
  # Extra settings, one per line (query logging while profiling, memory tuning…).
  if [ -n "${NEO4J_EXTRA_CONF:-}" ]; then printf '%s\n' "$NEO4J_EXTRA_CONF"; fi
}

write_conf() {
  mkdir -p "$HOME_DIR/conf" "$HOME_DIR/data" "$HOME_DIR/plugins" "$HOME_DIR/logs" "$HOME_DIR/run" "$HOME_DIR/import"
  conf_text >"$HOME_DIR/conf/neo4j.conf"
}

# A running instance keeps the settings it was started with; say so when they are not these
# (another version of this script, other NEO4J_* variables): only a restart applies them.
warn_if_conf_differs() {
  if conf_text | cmp -s - "$HOME_DIR/conf/neo4j.conf"; then return; fi
  log "warning: it runs with other settings than this script would start it with" \
      "(see $HOME_DIR/conf/neo4j.conf); stop it and start it again to apply them"
}

classpath() { echo "$HOME_DIR/plugins/*:$LIB_DIR/*"; }

jvm_flags() {
  # Neo4j's own recommended flags (from its default conf), plus a rotating GC log for pause analysis.
  echo "-Xms$HEAP -Xmx$HEAP -XX:+UseG1GC -XX:-OmitStackTraceInFastThrow -XX:+AlwaysPreTouch \
-XX:+UnlockExperimentalVMOptions -XX:+TrustFinalNonStaticFields -XX:+DisableExplicitGC \
-Djdk.nio.maxCachedBufferSize=1024 -XX:+ExitOnOutOfMemoryError \
-Xlog:gc*,safepoint:file=$HOME_DIR/logs/gc.log:time,uptime,level,tags:filecount=3,filesize=20m \
--add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED \
--add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/java.lang=ALL-UNNAMED \
-Dio.netty.tryReflectionSetAccessible=true -Dfile.encoding=UTF-8"
}

set_password() {
  if [ -f "$HOME_DIR/data/.password-set" ]; then return; fi
  log "setting the initial password"
  NEO4J_HOME="$HOME_DIR" NEO4J_CONF="$HOME_DIR/conf" java -Xmx256m -cp "$(classpath)" \
    org.neo4j.server.startup.Neo4jAdminCommand dbms set-initial-password "$PASSWORD" >&2
  touch "$HOME_DIR/data/.password-set"
}

running() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

bolt_open() { (exec 3<>"/dev/tcp/127.0.0.1/$BOLT_PORT") 2>/dev/null; }

wait_ready() {
  local deadline=$((SECONDS + ${NEO4J_START_TIMEOUT:-180}))
  until bolt_open; do
    if ! running; then log "Neo4j exited; last log lines:"; tail -n 30 "$LOG" >&2 || true; exit 1; fi
    if [ $SECONDS -ge $deadline ]; then log "timed out waiting for Bolt on $BOLT_PORT"; exit 1; fi
    sleep 0.5
  done
  log "ready: bolt://127.0.0.1:$BOLT_PORT  browser: http://127.0.0.1:$HTTP_PORT/browser/"
}

start() {
  if running; then log "already running (pid $(cat "$PIDFILE"))"; warn_if_conf_differs; wait_ready; return; fi
  if bolt_open; then log "something already listens on $BOLT_PORT; reusing it"; return; fi
  fetch_jars
  write_conf
  export NEO4J_HOME="$HOME_DIR" NEO4J_CONF="$HOME_DIR/conf"
  set_password
  log "starting Neo4j $NEO4J_VERSION (heap $HEAP, page cache $PAGECACHE)"
  # shellcheck disable=SC2046
  nohup java $(jvm_flags) -cp "$(classpath)" org.neo4j.server.CommunityEntryPoint \
    --home-dir="$HOME_DIR" --config-dir="$HOME_DIR/conf" --console-mode >"$LOG" 2>&1 &
  echo $! >"$PIDFILE"
  wait_ready
}

stop() {
  if ! running; then log "not running"; rm -f "$PIDFILE"; return; fi
  local pid; pid=$(cat "$PIDFILE")
  log "stopping pid $pid"
  kill -TERM "$pid"
  for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then log "still alive, killing"; kill -KILL "$pid"; fi
  rm -f "$PIDFILE"
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  wait) wait_ready ;;
  conf) conf_text ;;
  status) if running; then echo "running pid $(cat "$PIDFILE")"; else echo "stopped"; exit 1; fi ;;
  *) echo "usage: $0 start|stop|status|wait|conf" >&2; exit 2 ;;
esac
