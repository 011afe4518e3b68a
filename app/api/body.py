"""Reading request bodies with a size cap, refused with 413 as soon as they pass it (never read
whole into memory first)."""
from __future__ import annotations

from fastapi import Request

from app.ingest.messages import FieldError


async def read_capped(request: Request, cap: int, limit: int | None = None) -> bytes:
    """The raw body; 413 naming `limit` (default: cap) once more than `cap` bytes arrive."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            raise FieldError("body", f"request body exceeds {limit or cap} bytes", 413)
        chunks.append(chunk)
    return b"".join(chunks)
