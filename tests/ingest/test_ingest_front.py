"""The ingest front (app/api/ingest_front.py) answers the ingest POSTs itself, and answers them
exactly as the FastAPI routes do: same status, body and headers, for good and bad requests."""
from __future__ import annotations

import gzip

import orjson
import pytest
from fastapi.testclient import TestClient
from starlette.responses import Response

from app.api import ingest as ingest_routes
from app.api import ingest_front
from app.ingest.messages import FieldError
from app.main import create_app
from tests.helpers import basic, new_id
from tests.ingest.support import message, read_event

COMPARED_HEADERS = ("content-type", "www-authenticate", "retry-after", "access-control-allow-origin")


def _requests() -> list[tuple[str, str, dict, bytes]]:
    """(name, path, headers, body): a fresh messageId in each, so both apps store them anew."""
    js = {"Content-Type": "application/json"}
    track = lambda **f: orjson.dumps({**message("track"), **f})  # noqa: E731
    return [
        ("track", "/v1/track", {**basic(), **js}, track()),
        ("short path", "/v1/t", {**basic(), **js}, track()),
        ("typed", "/api/track", {**basic(), **js}, orjson.dumps({**message("identify"), "type": "identify"})),
        ("batch", "/v1/batch", {**basic(), **js}, orjson.dumps({"batch": [{**message("page"), "type": "page"}]})),
        ("writeKey in body", "/v1/track", js, track(writeKey="dev-web-key")),
        ("gzip", "/v1/track", {**basic(), **js, "Content-Encoding": "gzip"}, gzip.compress(track())),
        ("cors", "/v1/track", {**basic(), **js, "Origin": "https://shop.example"}, track()),
        ("unknown key", "/v1/track", {**basic("no-such-key"), **js}, track()),
        ("no key", "/v1/track", js, track()),
        ("invalid json", "/v1/track", {**basic(), **js}, b"{not json"),
        ("missing event", "/v1/track", {**basic(), **js}, orjson.dumps({"userId": "u", "messageId": new_id("m")})),
        ("no ids", "/v1/identify", {**basic(), **js}, orjson.dumps({"traits": {"plan": "pro"}})),
        ("bad gzip", "/v1/track", {**basic(), **js, "Content-Encoding": "gzip"}, b"not gzip"),
        ("encoding", "/v1/track", {**basic(), **js, "Content-Encoding": "br"}, track()),
        ("too big", "/v1/track", {**basic(), **js}, track(properties={"pad": "x" * 40_000})),
        ("empty batch", "/v1/batch", {**basic(), **js}, orjson.dumps({"batch": []})),
        ("bad item", "/v1/import", {**basic(), **js},
         orjson.dumps({"batch": [{**message("track"), "type": "track"}, {"type": "track", "event": "x"}]})),
    ]


def _answers(settings, front: bool) -> dict[str, tuple[int, dict, dict]]:
    app = create_app(settings.model_copy(update={"ingest_front": front}))
    out = {}
    with TestClient(app) as client:
        for name, path, headers, body in _requests():
            r = client.post(path, content=body, headers=headers)
            out[name] = (r.status_code, r.json(), {h: r.headers.get(h) for h in COMPARED_HEADERS})
            assert r.headers.get("x-request-id"), name  # RequestContext still wraps the front
    return out


def test_the_front_answers_as_the_routes_do(clean_db, settings):
    with_front, without = _answers(settings, True), _answers(settings, False)
    assert with_front == without
    statuses = {name: answer[0] for name, answer in with_front.items()}
    assert statuses["track"] == statuses["batch"] == statuses["cors"] == 200
    assert statuses["unknown key"] == 401 and statuses["too big"] == 413 and statuses["encoding"] == 415
    assert with_front["cors"][2]["access-control-allow-origin"] == "*"


def _routes_refuse(monkeypatch) -> None:
    """The FastAPI routes' `accept` answers 418: a request that gets a 200 was served by the front."""
    async def refuse(*args, **kwargs):
        raise FieldError("route", "the FastAPI route served this request", 418)

    monkeypatch.setattr(ingest_routes, "accept", refuse)


def test_the_front_serves_the_ingest_paths_itself(clean_db, settings, monkeypatch):
    """With the routes refusing, an ingest request through the front is stored, and its metrics
    carry the route's path as usual."""
    _routes_refuse(monkeypatch)
    for front, expected in ((True, 200), (False, 418)):
        app = create_app(settings.model_copy(update={"ingest_front": front}))
        with TestClient(app) as client:
            msg = message("track")
            r = client.post("/v1/track", json=msg, headers=basic())
            assert r.status_code == expected, r.text
            if front:
                assert read_event(client, msg["messageId"])["profileId"]
                metrics = client.get("/metrics").text
                assert 'route="/v1/track",status="200"' in metrics


def test_the_front_is_ahead_of_the_framework(clean_db, settings):
    """Ingest POSTs never reach the framework's middleware stack; everything else still does."""
    app = create_app(settings)
    with TestClient(app) as client:
        async def refuse(scope, receive, send):
            await Response("the framework's stack served this request", status_code=418)(scope, receive, send)

        app.middleware_stack = refuse
        assert client.post("/v1/track", json=message("track"), headers=basic()).status_code == 200
        assert client.options("/v1/track").status_code == 418
        assert client.get("/healthz").status_code == 418


def test_an_unexpected_error_is_a_500_in_both_paths(clean_db, settings, monkeypatch):
    """The server-error handler answers it, and RequestContext counts it under the route's path."""
    async def fail(*args, **kwargs):
        raise RuntimeError("not a domain error")

    monkeypatch.setattr(ingest_routes, "accept", fail)
    monkeypatch.setattr(ingest_front, "accept", fail)
    for front in (True, False):
        app = create_app(settings.model_copy(update={"ingest_front": front}))
        with TestClient(app, raise_server_exceptions=False) as client:
            r = client.post("/v1/track", json=message("track"), headers=basic())
            assert (r.status_code, r.text) == (500, "Internal Server Error"), front
            assert 'route="/v1/track",status="500"' in client.get("/metrics").text, front


@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_other_methods_on_ingest_paths_still_reach_the_framework(client, method):
    r = client.request(method, "/v1/track", headers=basic())
    assert r.status_code == 405


def test_a_repeated_header_counts_once_the_first_in_both_paths(clean_db, settings):
    """With two Authorization headers the first one decides, in the front as in the routes."""
    good, bad = basic()["Authorization"], basic("no-such-key")["Authorization"]
    for front in (True, False):
        app = create_app(settings.model_copy(update={"ingest_front": front}))
        with TestClient(app) as client:
            for first, second, expected in ((good, bad, 200), (bad, good, 401)):
                headers = [("authorization", first), ("authorization", second),
                           ("content-type", "application/json")]
                r = client.post("/v1/track", content=orjson.dumps(message("track")), headers=headers)
                assert r.status_code == expected, (front, r.text)


def test_behind_a_root_path_the_front_still_serves(clean_db, settings, monkeypatch):
    _routes_refuse(monkeypatch)
    with TestClient(create_app(settings), root_path="/cdp") as client:
        msg = message("track")
        assert client.post("/v1/track", json=msg, headers=basic()).status_code == 200
        assert read_event(client, msg["messageId"])["profileId"]


def test_a_client_that_hangs_up_mid_body_is_a_499_in_both_paths(clean_db, settings):
    """Nothing is stored, no 500 is counted: the access log and metrics say 499."""
    for front in (True, False):
        app = create_app(settings.model_copy(update={"ingest_front": front}))
        with TestClient(app) as client:
            sent: list[dict] = []
            messages = iter([{"type": "http.request", "body": b'{"userId": "u', "more_body": True},
                             {"type": "http.disconnect"}])

            async def receive():
                return next(messages)

            async def send(message):
                sent.append(message)

            scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                     "scheme": "http", "path": "/v1/track", "raw_path": b"/v1/track", "root_path": "",
                     "query_string": b"", "server": ("testserver", 80), "client": ("127.0.0.1", 1),
                     "headers": [(b"authorization", basic()["Authorization"].encode()),
                                 (b"content-type", b"application/json")]}
            client.portal.call(app, scope, receive, send)
            starts = [m for m in sent if m["type"] == "http.response.start"]
            assert [m["status"] for m in starts] == [499], front
            assert 'route="/v1/track",status="499"' in client.get("/metrics").text
