"""What the caller's admin token may do: the console asks before it shows changing actions."""
from __future__ import annotations

from fastapi import APIRouter, Header, Request

from app.api.deps import services

router = APIRouter(tags=["auth"])


@router.get("/v1/auth/whoami", summary="The scope of the bearer token (read or admin)")
async def whoami(request: Request, authorization: str | None = Header(default=None)) -> dict:
    return {"scope": services(request).keyring.check_admin(authorization, "read")}
