"""HubSpot CRM contacts through the official hubspot-api-client: batch upsert by email (100 per
request, HubSpot's documented batch limit) with the mapped traits as contact properties. HubSpot
contacts are not deleted on exit: a configured membership property is set to "false" instead. An
erased person's contact is GDPR-deleted when the destination says so (`gdprDelete`), else flagged."""

from __future__ import annotations

import orjson
import urllib3
from hubspot import HubSpot
from hubspot.crm.contacts import (
    ApiException,
    BatchInputSimplePublicObjectBatchInputUpsert,
    PublicGdprDeleteInput,
    SimplePublicObjectBatchInputUpsert,
    SimplePublicObjectInput,
)

from app.destinations.clients import Caller, DestinationClient, Failures
from app.destinations.mapping import Member
from app.destinations.retry import Permanent, Retryable, network_error, retry_after_seconds
from app.settings import Settings

BATCH_LIMIT = 100


def _value(v) -> str:
    """HubSpot property values are strings; lists and booleans in HubSpot's own spelling."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return ";".join(str(x) for x in v)  # multi-select checkbox syntax
    return str(v)


class HubSpotClient(DestinationClient):
    max_batch = BATCH_LIMIT

    def __init__(self, config: dict, secrets: dict, settings: Settings, caller: Caller):
        # The SDK's retry is left off: retries, backoff and Retry-After are ours, shared by all vendors.
        self.api = HubSpot(access_token=secrets["accessToken"], host=settings.hubspot_api_url.rstrip("/"))
        self.batch_api = self.api.crm.contacts.batch_api
        self.basic_api = self.api.crm.contacts.basic_api
        self.membership_property = config.get("membershipProperty")
        self.can_remove = bool(self.membership_property)
        self.gdpr_delete = bool(config.get("gdprDelete"))
        self.caller = caller

    def removes(self, erased: bool) -> bool:
        return self.can_remove or (erased and self.gdpr_delete)

    def addressable(self, member: Member) -> bool:
        return bool(member.email)

    def _upsert(self, members: list[Member], extra: dict[str, str]) -> Failures:
        by_email = {str(m.email).lower(): m for m in members}
        inputs = [
            SimplePublicObjectBatchInputUpsert(
                id_property="email",
                id=str(m.email),
                properties={**{k: _value(v) for k, v in m.fields.items() if v is not None}, **extra},
            )
            for m in members
        ]
        body = BatchInputSimplePublicObjectBatchInputUpsert(inputs=inputs)

        def attempt():
            try:
                return self.batch_api.upsert(body)
            except urllib3.exceptions.HTTPError as exc:  # the SDK's transport: DNS, refused, reset, timeout
                raise network_error("hubspot", exc) from exc
            except ApiException as exc:
                status = _refusal_status(exc)
                raise Permanent(
                    f"hubspot {status}: {_message(exc.body)}", fatal=status in (401, 403)
                ) from exc

        response = self.caller.call(attempt)
        # A 207 answer names the inputs it refused in each error's context; the rest were written.
        failures: Failures = []
        for err in getattr(response, "errors", None) or []:
            for values in (err.context or {}).values():
                for v in values:
                    m = by_email.pop(str(v).lower(), None)
                    if m is not None:
                        failures.append((m, f"hubspot: {err.message}"))
        return failures

    def add(self, members: list[Member]) -> Failures:
        extra = {self.membership_property: "true"} if self.membership_property else {}
        return self._upsert(members, extra)

    def update(self, members: list[Member]) -> Failures:
        return self._upsert(members, {})

    def remove(self, members: list[Member]) -> Failures:
        # Only the key and the flag: an exited profile's other properties are left as they were.
        staying = [Member(m.profile_id, {"email": m.email}) for m in members if not m.erased]
        assert not staying or self.membership_property, "the engine skips exits for a HubSpot destination without one"
        failures = self._upsert(staying, {self.membership_property: "false"}) if staying else []
        erase = self._purge if self.gdpr_delete else self._unflag_existing
        return failures + [f for m in members if m.erased for f in erase(m)]

    def _purge(self, m: Member) -> Failures:
        """HubSpot's GDPR delete of the contact by email: gone with its history, and the address
        blocklisted there if no contact has it (HubSpot's documented behaviour)."""
        body = PublicGdprDeleteInput(object_id=str(m.email), id_property="email")
        return self._per_contact(m, lambda: self.basic_api.purge(body), missing_ok=False)

    def _unflag_existing(self, m: Member) -> Failures:
        """An erased person's contact: flagged out only if HubSpot still has it (an update by email,
        never an upsert, which would create again a contact the CRM's own GDPR delete removed)."""
        body = SimplePublicObjectInput(properties={self.membership_property: "false"})
        return self._per_contact(m, lambda: self.basic_api.update(str(m.email), body, id_property="email"),
                                 missing_ok=True)

    def _per_contact(self, m: Member, call, missing_ok: bool) -> Failures:
        """One request about one contact, classified as the batch upsert's are."""

        def attempt() -> Failures:
            try:
                call()
            except urllib3.exceptions.HTTPError as exc:  # the SDK's transport: DNS, refused, reset, timeout
                raise network_error("hubspot", exc) from exc
            except ApiException as exc:
                status = _refusal_status(exc)
                if status == 404 and missing_ok:
                    return []  # not in HubSpot: nothing to do
                if status in (401, 403):
                    raise Permanent(f"hubspot {status}: {_message(exc.body)}", fatal=True) from exc
                return [(m, f"hubspot {status}: {_message(exc.body)}")]
            return []

        return self.caller.call(attempt)


def _refusal_status(exc: ApiException) -> int:
    """Raise Retryable for what may pass later (429, 5xx, no answer); else the status of the refusal."""
    status = int(exc.status or 0)
    if status == 429:
        headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
        raise Retryable("hubspot 429", retry_after_seconds(headers.get("retry-after")), rate_limited=True) from exc
    if status >= 500 or status == 0:
        raise Retryable(f"hubspot {status}: {exc.reason}") from exc
    return status


def _message(body) -> str:
    try:
        return str(orjson.loads(body).get("message", body))[:300]
    except (orjson.JSONDecodeError, TypeError, AttributeError):
        return str(body)[:300]
