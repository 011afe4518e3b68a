"""scripts/neo4j.sh reuses an instance that is already running, and says so when that instance
runs with other settings than the script would start it with: only a restart applies them."""
from __future__ import annotations

import os
import socket
import subprocess

from tests.conftest import ROOT
from tests.helpers import free_port

SCRIPT = str(ROOT / "scripts" / "neo4j.sh")
WARNING = "runs with other settings than this script would start it with"


def _script(action: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([SCRIPT, action], env=env, capture_output=True, text=True, timeout=60, check=True)


def _running_instance(tmp_path, port: int) -> tuple[dict, object]:
    """An instance the script takes for running: its pid file names a live process (this one) and
    something listens on its Bolt port. No Neo4j is needed to check what start says about it."""
    env = {**os.environ, "CDP_CACHE_DIR": str(tmp_path), "NEO4J_INSTANCE": "conf-check",
           "NEO4J_BOLT_PORT": str(port), "NEO4J_HTTP_PORT": str(free_port())}
    env.pop("NEO4J_EXTRA_CONF", None)
    home = tmp_path / "neo4j-instances" / "conf-check"
    (home / "run").mkdir(parents=True)
    (home / "conf").mkdir()
    (home / "run" / "neo4j.pid").write_text(str(os.getpid()))
    (home / "conf" / "neo4j.conf").write_text(_script("conf", env).stdout)  # as start would write it
    listener = socket.create_server(("127.0.0.1", port))
    return env, listener


def test_a_running_instance_with_this_script_s_settings_is_reused_quietly(tmp_path):
    env, listener = _running_instance(tmp_path, free_port())
    with listener:
        out = _script("start", env).stderr
    assert "already running" in out and "ready" in out and WARNING not in out


def test_a_running_instance_started_with_other_settings_is_named(tmp_path):
    env, listener = _running_instance(tmp_path, free_port())
    with listener:
        for changed in ({"NEO4J_PAGECACHE": "3g"}, {"NEO4J_HEAP": "2g"},
                        {"NEO4J_EXTRA_CONF": "db.logs.query.enabled=INFO"}):
            out = _script("start", {**env, **changed}).stderr
            assert WARNING in out and "ready" in out, changed


def test_the_configuration_names_its_ports_and_memory(tmp_path):
    env = {**os.environ, "CDP_CACHE_DIR": str(tmp_path), "NEO4J_BOLT_PORT": "7999", "NEO4J_PAGECACHE": "768m",
           "NEO4J_HEAP": "640m", "NEO4J_EXTRA_CONF": "db.logs.query.enabled=INFO"}
    conf = _script("conf", env).stdout.splitlines()
    assert "server.bolt.listen_address=127.0.0.1:7999" in conf
    # Advertised too: Neo4j Browser connects to the Bolt address the server advertises (7687 otherwise).
    assert "server.bolt.advertised_address=127.0.0.1:7999" in conf
    assert "server.memory.pagecache.size=768m" in conf and any("640m" in line for line in conf)
    assert conf[-1] == "db.logs.query.enabled=INFO"
    assert not (tmp_path / "neo4j-instances").exists()  # printing it writes nothing
