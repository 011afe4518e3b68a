"""The browser snippet (/cdp.js). Filled in by the snippet work."""
from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
