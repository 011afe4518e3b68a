"""End-to-end tests in Debian's headless Chromium, driven by Playwright (no browser download: the
executable comes from scripts/chromium.sh, CDP_CHROMIUM). The API runs as a real uvicorn process
against the test Neo4j and Redis; pages load it over loopback like a user's browser would.

Every page records console errors and failed requests; `page` fails the test if any were seen.
Screenshots go to tests/browser/screenshots/ for review. Pages that stand for a customer's site come
from `site_server`, on another loopback address than the API, so everything they send is cross-origin.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import SplitResult, urlsplit

import httpx
import pytest

from tests.conftest import ROOT
from tests.destinations.conftest import (  # noqa: F401 - the destinations page's sync engine and vendor fakes
    engine,
    facebook_fake,
    hubspot_fake,
    redis_client,
    resend_fake,
    store,
    sync_settings,
)
from tests.helpers import free_port

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
ADMIN_TOKEN = "browser-admin-token"
READ_TOKEN = "browser-read-token"
WRITE_KEY = "browser-web-key"
SITE_HOST = "127.0.0.2"  # loopback too, but another host than the API's: the site's cookies are not the API's
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]



def _chromium() -> str:
    path = os.environ.get("CDP_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).is_file():
        pytest.fail("Chromium is missing: scripts/test.sh installs it (scripts/chromium.sh ensure)")
    return path


@pytest.fixture(scope="session")
def console_built():
    """The console bundle (scripts/console.sh build), built here too when pytest runs on its own."""
    subprocess.run([str(ROOT / "scripts/console.sh"), "build"], check=True)


@pytest.fixture(scope="session")
def live_server(settings, driver, console_built):
    """Base URL of a uvicorn process serving the app on a free loopback port."""
    port = free_port()
    env = {**os.environ, "CDP_NEO4J_URI": settings.neo4j_uri, "CDP_NEO4J_PASSWORD": settings.neo4j_password,
           "CDP_REDIS_URL": settings.redis_url, "CDP_ADMIN_TOKENS": f'["{ADMIN_TOKEN}", "read:{READ_TOKEN}"]',
           "CDP_WRITE_KEYS": f'{{"{WRITE_KEY}": "web", "browser-server-key": "server"}}',
           "CDP_LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "app.main:create_app",
                             "--host", "127.0.0.1", "--port", str(port)], env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the API did not become ready on {base}")
        time.sleep(0.2)
    yield base
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=_chromium(), headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


class PageProblems(list):
    """Console errors, uncaught exceptions and failed requests seen by one page."""

    def attach(self, page) -> None:
        page.on("console", lambda m: m.type == "error" and self.append(f"console: {m.text}"))
        page.on("pageerror", lambda e: self.append(f"exception: {e}"))
        page.on("requestfailed", lambda r: self.append(f"request failed: {r.method} {r.url} {r.failure}"))


@pytest.fixture
def page(browser, live_server, clean_db, request):
    """A fresh browser context on a laptop-sized screen (1366x768); fails the test on console errors."""
    context = browser.new_context(viewport={"width": 1366, "height": 768}, base_url=live_server)
    context.set_default_timeout(15_000)
    pg = context.new_page()
    problems = PageProblems()
    problems.attach(pg)
    pg.problems = problems
    yield pg
    context.close()
    allowed = getattr(request.node, "allowed_problems", ())
    unexpected = [p for p in problems if not any(a in p for a in allowed)]
    assert not unexpected, f"the page reported problems: {unexpected}"


@pytest.fixture
def screenshot(page, request):
    """screenshot(name): a full-page PNG under tests/browser/screenshots/<test>-<name>.png."""
    SCREENSHOTS.mkdir(exist_ok=True)

    def take(name: str) -> Path:
        path = SCREENSHOTS / f"{request.node.name}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def ingest(live_server):
    """ingest(messages, write_key=WRITE_KEY): post one /v1/batch to the live server; 200 means durable."""
    def send(messages: list[dict], write_key: str = WRITE_KEY) -> None:
        r = httpx.post(f"{live_server}/v1/batch", json={"batch": messages}, auth=(write_key, ""), timeout=30)
        assert r.status_code == 200, r.text

    return send


@pytest.fixture
def api(live_server):
    """An httpx client on the live server with the admin token."""
    with httpx.Client(base_url=live_server, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=30) as c:
        yield c


class _SiteHandler(BaseHTTPRequestHandler):
    respond: Callable[[SplitResult], tuple[str, bytes] | None]

    def do_GET(self):  # http.server's name for it
        found = type(self).respond(urlsplit(self.path))
        if found is None:
            self.send_error(404)
            return
        content_type, body = found
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # quiet
        pass


@contextmanager
def site_server(respond: Callable[[SplitResult], tuple[str, bytes] | None]) -> Iterator[str]:
    """A customer's site on SITE_HOST and a free port, yielding its base URL. respond(url) gives each
    GET its (content type, body), or None for a 404."""
    handler = type("Site", (_SiteHandler,), {"respond": staticmethod(respond)})
    server = ThreadingHTTPServer((SITE_HOST, 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{SITE_HOST}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def poll(page, read, what: str, timeout: float = 20.0):
    """read() until it returns something truthy, within timeout seconds. The waits go through the
    page, so Playwright dispatches its events (routes, console) meanwhile; time.sleep would not."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = read()
        if last:
            return last
        page.wait_for_timeout(100)
    pytest.fail(f"timed out waiting for {what}; last: {last!r}")
