"""A real HTTP server for the SDK tests: the app under uvicorn in a background thread."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import httpx
import pytest
import uvicorn

from app.main import create_app
from tests.helpers import free_port


@dataclass
class LiveServer:
    url: str
    requests: list[dict] = field(default_factory=list)  # method, path, headers of every ingest request


def _recording(app, log: list[dict]):
    """ASGI wrapper that notes each request's method, path and headers (to see what an SDK sent)."""
    async def wrapper(scope, receive, send):
        if scope["type"] == "http":
            headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
            log.append({"method": scope["method"], "path": scope["path"], "headers": headers})
        await app(scope, receive, send)
    return wrapper



def _wait_until_answering(url: str, thread: threading.Thread, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise RuntimeError("the server thread died while starting")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)  # polling interval, bounded by the deadline
    raise TimeoutError(f"{url} did not answer /healthz within {timeout}s")


@pytest.fixture
def live_server(clean_db, settings):
    log: list[dict] = []
    port = free_port()
    config = uvicorn.Config(_recording(create_app(settings), log), host="127.0.0.1", port=port,
                            log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_answering(url, thread)
        yield LiveServer(url, log)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        assert not thread.is_alive(), "the server did not stop"
