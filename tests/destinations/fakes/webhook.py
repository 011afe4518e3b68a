"""A webhook receiver: checks the HMAC signature and records each batch by its id."""

from __future__ import annotations

from app.destinations.clients.webhook import SIGNATURE_HEADER, verify
from tests.destinations.fakes.server import Answer, FakeServer, Req


class WebhookReceiver(FakeServer):
    def __init__(self, secret: str = "whk_test_signing_secret"):
        super().__init__()
        self.secret = secret
        self.batches: dict[str, dict] = {}
        self.deliveries = 0
        self.poison: set[str] = set()  # profile ids whose presence makes a batch unacceptable (422)

    def handle(self, req: Req) -> Answer:
        if not verify(self.secret, req.headers.get(SIGNATURE_HEADER.lower(), ""), req.body):
            return Answer(401, {"error": "bad signature"})
        body = req.json()
        if any(m["profileId"] in self.poison for m in body["members"]):
            return Answer(422, {"error": "unacceptable member"})
        with self.lock:
            self.deliveries += 1
            self.batches[body["batchId"]] = body
        return Answer(200, {"ok": True})

    def members(self, action: str) -> set[str]:
        with self.lock:
            return {
                m["profileId"]
                for b in self.batches.values()
                if b["type"] == f"segment.members.{action}"
                for m in b["members"]
            }
