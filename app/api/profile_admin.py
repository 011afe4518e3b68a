"""Profile changes: split (unmerge) and GDPR erasure."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from app.api.deps import require_admin, services
from app.destinations.erasures import seal_erased
from app.destinations.secrets import SecretBox
from app.identity.erasure import erase_profile
from app.identity.split import split_profile
from app.ingest.messages import FieldError, MessageErrors
from app.profiles.resolve import parse_ref, resolve
from app.segments.upkeep import upkeep as segment_upkeep

router = APIRouter(tags=["profiles"], dependencies=[Depends(require_admin)])


class SplitRequest(BaseModel):
    identifiers: list[str] = Field(min_length=1, max_length=1000,
                                   description="External ids to move, e.g. anonymous_id:abc or email:a@b.io")
    reason: str = Field(default="manual split", max_length=500)


@router.post("/v1/profiles/{ref}/split", summary="Move identifiers (and their events) to a new profile")
async def split(ref: str, body: SplitRequest, request: Request) -> dict:
    svc = services(request)
    keys, errors = [], []
    for n, raw in enumerate(body.identifiers):
        try:
            kind, value = parse_ref(svc.rules, raw)
        except FieldError as exc:
            errors.append(FieldError(f"identifiers[{n}]", exc.reason))
            continue
        if kind != "identifier":
            errors.append(FieldError(f"identifiers[{n}]", "must be an external id (type:value), not a profile id"))
        else:
            keys.append(value)
    if errors:
        raise MessageErrors(errors)
    db = svc.settings.neo4j_database
    profile_id = await run_in_threadpool(resolve, svc.driver, db, svc.rules, ref)
    result = await run_in_threadpool(split_profile, svc.driver, db, profile_id, keys, body.reason)
    # Both sides' segment memberships follow the events and traits that moved.
    await run_in_threadpool(segment_upkeep, svc.driver, db, [result["profileId"], result["newProfileId"]])
    return result


@router.delete("/v1/profiles/{ref}", summary="GDPR erasure: the profile, its identifiers, events and evidence")
async def erase(ref: str, request: Request) -> dict:
    svc = services(request)
    db = svc.settings.neo4j_database
    profile_id = await run_in_threadpool(resolve, svc.driver, db, svc.rules, ref)
    def record_exits(profile_ids: list[str], keys: list[str], at: int) -> None:
        # Sealed first: a sync that reads the exit finds what to remove the person by.
        seal_erased(svc.driver, db, SecretBox(svc.settings.destination_secret_key), profile_ids, keys, at)
        segment_upkeep(svc.driver, db, profile_ids)  # segment feeds show the erased profile leaving

    return await run_in_threadpool(erase_profile, svc.driver, db, svc.settings.suppression_salt, profile_id,
                                   record_exits)
