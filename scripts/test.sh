#!/usr/bin/env bash
# The whole test suite against real, locally provisioned Neo4j and Redis (separate test
# instances on ports 7688 and 6380, so a running dev service keeps its data).
#   scripts/test.sh [pytest args]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/env.sh

export NEO4J_INSTANCE="${CDP_TEST_INSTANCE:-test}" NEO4J_BOLT_PORT="${CDP_TEST_NEO4J_PORT:-7688}" NEO4J_HTTP_PORT="${CDP_TEST_NEO4J_HTTP_PORT:-7475}"
export CDP_TEST_NEO4J_URI="bolt://127.0.0.1:$NEO4J_BOLT_PORT"
export CDP_TEST_REDIS_URL="redis://127.0.0.1:${CDP_TEST_REDIS_PORT:-6380}/0"
if ! python -c "import docker; docker.from_env().ping()" >/dev/null 2>&1; then
  scripts/neo4j.sh start
  REDIS_PORT="${CDP_TEST_REDIS_PORT:-6380}" scripts/redis.sh start
fi
# The browser tests (tests/browser) need the console bundle and Debian's Chromium.
scripts/console.sh build
export CDP_CHROMIUM="$(scripts/chromium.sh ensure)"
exec python -m pytest "$@"
