"""Profile API (profile_graph)."""
from __future__ import annotations

from fastapi import APIRouter, Depends

from app.api.deps import require_admin

router = APIRouter(tags=["profiles"], dependencies=[Depends(require_admin)])
