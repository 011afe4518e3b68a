"""Graph API custom audience users: POST (add) and DELETE (remove) /{version}/{audience}/users with
a JSON `payload` {schema, data, is_raw}; at most 10,000 rows; answers num_received and invalid entries."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs

from tests.destinations.fakes.server import Answer, FakeServer, Req

_PATH = re.compile(r"^/v\d+\.\d+/([^/]+)/users$")
_HEX = re.compile(r"^[0-9a-f]{64}$")


def _error(status: int, code: int, message: str, transient: bool = False) -> Answer:
    return Answer(
        status,
        {
            "error": {
                "message": message,
                "type": "OAuthException",
                "code": code,
                "is_transient": transient,
                "fbtrace_id": "fake",
            }
        },
    )


class FacebookFake(FakeServer):
    def __init__(self, token: str = "EAAB-test-token", audiences=("6000000000001",)):
        super().__init__()
        self.token = token
        self.audiences: dict[str, set[tuple[str, ...]]] = {a: set() for a in audiences}
        self.batch_sizes: list[int] = []

    def handle(self, req: Req) -> Answer:
        params = {k: v[0] for k, v in req.query.items()}
        if req.method == "POST":
            params |= {k: v[0] for k, v in parse_qs(req.body.decode()).items()}
        if params.get("access_token") != self.token:
            return _error(400, 190, "Invalid OAuth access token")
        m = _PATH.match(req.path)
        if not m or m.group(1) not in self.audiences or req.method not in ("POST", "DELETE"):
            return _error(400, 100, "Unsupported request")
        payload = json.loads(params.get("payload") or "{}")
        data, schema = payload.get("data") or [], payload.get("schema")
        if schema != ["EMAIL", "PHONE"] or not payload.get("is_raw"):
            return _error(400, 100, "Invalid schema")
        if len(data) > 10_000:
            return _error(400, 100, "Too many users in one request (limit 10000)")
        valid, invalid = [], {}
        for row in data:
            if len(row) == 2 and all(v == "" or _HEX.match(v) for v in row) and any(row):
                valid.append(tuple(row))
            else:
                invalid[next((v for v in row if v), "")] = "invalid hash"
        with self.lock:
            self.batch_sizes.append(len(data))
            book = self.audiences[m.group(1)]
            (book.update if req.method == "POST" else book.difference_update)(valid)
        return Answer(
            200,
            {
                "audience_id": m.group(1),
                "session_id": "1",
                "num_received": len(data),
                "num_invalid_entries": len(invalid),
                "invalid_entry_samples": invalid,
            },
        )
