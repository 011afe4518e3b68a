"""HubSpot CRM v3 contacts: batch upsert (POST /crm/v3/objects/contacts/batch/upsert, at most 100
inputs, idProperty email; a batch with an invalid email is refused whole, 400 VALIDATION_ERROR) and
update by a unique property (PATCH /crm/v3/objects/contacts/{email}?idProperty=email; 404 when no
contact has it, never a create), and GDPR delete (POST /crm/v3/objects/contacts/gdpr-delete with
objectId and idProperty email: 204, the contact gone; an unknown email is blocklisted, also 204)."""

from __future__ import annotations

import re
import time
import uuid
from urllib.parse import unquote

from tests.destinations.fakes.server import Answer, FakeServer, Req

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CONTACT = "/crm/v3/objects/contacts/"


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())


class HubSpotFake(FakeServer):
    def __init__(self, token: str = "pat-na1-test-token"):
        super().__init__()
        self.token = token
        self.contacts: dict[str, dict] = {}  # email -> {id, properties}
        self.reject = set()
        self.updates: list[str] = []  # emails PATCHed, in order
        self.gdpr_deleted: list[str] = []  # emails GDPR-deleted (or blocklisted), in order

    def handle(self, req: Req) -> Answer:
        if req.headers.get("authorization") != f"Bearer {self.token}":
            return Answer(
                401, {"status": "error", "category": "INVALID_AUTHENTICATION", "message": "bad token"}
            )
        if req.method == "PATCH" and req.path.startswith(_CONTACT):
            return self._update(req)
        if req.method == "POST" and req.path == "/crm/v3/objects/contacts/gdpr-delete":
            body = req.json()
            if body.get("idProperty") != "email" or not body.get("objectId"):
                return Answer(400, {"status": "error", "category": "VALIDATION_ERROR", "message": "objectId"})
            with self.lock:
                email = str(body["objectId"]).lower()
                self.gdpr_deleted.append(email)
                self.contacts.pop(email, None)
            return Answer(204, None)
        if req.method != "POST" or req.path != "/crm/v3/objects/contacts/batch/upsert":
            return Answer(
                404, {"status": "error", "category": "OBJECT_NOT_FOUND", "message": "no such route"}
            )
        inputs = req.json().get("inputs") or []
        if len(inputs) > 100:
            return Answer(
                400,
                {"status": "error", "category": "VALIDATION_ERROR", "message": "Batch input limit is 100"},
            )
        bad = [
            i["id"]
            for i in inputs
            if i.get("idProperty") != "email"
            or not _EMAIL.match(str(i.get("id")))
            or str(i.get("id")).lower() in self.reject
        ]
        if bad:
            return Answer(
                400,
                {
                    "status": "error",
                    "category": "VALIDATION_ERROR",
                    "message": f"Property values were not valid: {bad}",
                    "context": {"ids": bad},
                },
            )
        results = []
        with self.lock:
            for i in inputs:
                email = str(i["id"]).lower()
                new = email not in self.contacts
                c = self.contacts.setdefault(email, {"id": str(uuid.uuid4().int)[:10], "properties": {}})
                c["properties"].update(i.get("properties") or {})
                results.append(
                    {
                        "id": c["id"],
                        "properties": dict(c["properties"]),
                        "createdAt": _now(),
                        "updatedAt": _now(),
                        "archived": False,
                        "new": new,
                    }
                )
        return Answer(
            200, {"status": "COMPLETE", "results": results, "startedAt": _now(), "completedAt": _now()}
        )

    def _update(self, req: Req) -> Answer:
        email = unquote(req.path[len(_CONTACT):]).lower()
        if (req.query.get("idProperty") or [None])[0] != "email":
            return Answer(400, {"status": "error", "category": "VALIDATION_ERROR", "message": "idProperty"})
        with self.lock:
            self.updates.append(email)
            c = self.contacts.get(email)
            if c is None:
                return Answer(404, {"status": "error", "category": "OBJECT_NOT_FOUND",
                                    "message": "resource not found"})
            c["properties"].update(req.json().get("properties") or {})
            return Answer(200, {"id": c["id"], "properties": dict(c["properties"]), "createdAt": _now(),
                                "updatedAt": _now(), "archived": False})
