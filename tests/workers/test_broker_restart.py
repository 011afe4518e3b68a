"""A real Celery worker survives its Redis broker going away with a task in flight, and runs tasks
again once Redis is back on the same port."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from celery import Celery

from tests.helpers import wait_for

ROOT_DIR = Path(__file__).resolve().parents[2]
HOLD, MARK = "tests.broker_restart.hold", "tests.broker_restart.mark"


def _worker_app() -> Celery:
    """The project's worker app plus two probe tasks; built only inside the worker subprocess."""
    from workers.celery_app import make_celery

    app = make_celery()

    @app.task(name=HOLD)
    def hold(started: str, release: str) -> None:
        Path(started).touch()
        deadline = time.monotonic() + 60
        while not Path(release).exists() and time.monotonic() < deadline:
            time.sleep(0.05)

    @app.task(name=MARK)
    def mark(path: str) -> None:
        Path(path).touch()

    return app


def __getattr__(name: str):
    # `celery -A tests.workers.test_broker_restart:app` builds the app on first use, not at collection.
    if name == "app":
        globals()["app"] = _worker_app()
        return globals()["app"]
    raise AttributeError(name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A throwaway redis-server without persistence, which the test can kill and start again."""

    def __init__(self, binary: str, port: int, workdir: Path):
        self.binary, self.port, self.workdir = binary, port, workdir
        self.proc: subprocess.Popen | None = None

    def _answers(self) -> bool:
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2, socket_timeout=0.2)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_for(self._answers, 10, f"redis-server on {self.port}")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def broker(tmp_path):
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (scripts/redis.sh installs it)")
    server = RedisServer(binary, _free_port(), tmp_path)
    server.start()
    yield server
    server.kill()


@pytest.fixture
def worker(broker, tmp_path):
    log = tmp_path / "worker.log"
    env = {**os.environ, "CDP_REDIS_URL": f"redis://127.0.0.1:{broker.port}/0", "CDP_LOG_LEVEL": "INFO"}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", f"{__name__}:app", "worker", "-P", "prefork", "-c", "2",
             "--without-heartbeat", "--without-mingle", "--without-gossip", "-l", "info"],
            cwd=ROOT_DIR, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    yield proc, log
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # pool children left behind, if any
    except ProcessLookupError:
        pass
    proc.wait(timeout=10)


def _send(port: int, name: str, *args: str) -> None:
    producer = Celery("broker-restart-probe", broker=f"redis://127.0.0.1:{port}/0", set_as_current=False)
    try:
        producer.send_task(name, args=list(args))
    finally:
        producer.close()


def test_worker_survives_a_broker_restart_with_a_task_in_flight(broker, worker, tmp_path):
    proc, log = worker
    started, release, marked = tmp_path / "started", tmp_path / "release", tmp_path / "marked"

    def log_text() -> str:
        return log.read_text(errors="replace")

    def alive_or_fail(what: str) -> None:
        assert proc.poll() is None, f"the worker exited ({proc.returncode}) {what}:\n{log_text()[-4000:]}"

    # A late-acknowledged task is running (unacknowledged) when Redis goes away.
    _send(broker.port, HOLD, str(started), str(release))
    wait_for(started.exists, 30, "the held task to start", log)
    broker.kill()
    wait_for(lambda: proc.poll() is not None or "Connection to broker lost" in log_text(), 30,
             "the worker to notice the lost broker", log)
    alive_or_fail("when the broker went away")

    # The task finishes while Redis is away (a worker that gave up exits once it is done).
    release.touch()
    broker.start()
    _send(broker.port, MARK, str(marked))
    wait_for(lambda: proc.poll() is not None or marked.exists(), 45, "a task sent after the restart", log)
    alive_or_fail("after the broker came back")
    assert marked.exists()
