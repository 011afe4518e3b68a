"""Reading request bodies with a size cap, refused with 413 as soon as they pass it (never read
whole into memory first)."""
from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import Request
from starlette.requests import ClientDisconnect

from app.ingest.messages import FieldError


async def _capped(chunks: AsyncIterator[bytes], cap: int, limit: int | None) -> bytes:
    parts, size = [], 0
    async for chunk in chunks:
        size += len(chunk)
        if size > cap:
            raise FieldError("body", f"request body exceeds {limit or cap} bytes", 413)
        parts.append(chunk)
    return b"".join(parts)


async def read_capped(request: Request, cap: int, limit: int | None = None) -> bytes:
    """The raw body; 413 naming `limit` (default: cap) once more than `cap` bytes arrive."""
    return await _capped(request.stream(), cap, limit)


async def _receive_chunks(receive) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        yield message.get("body", b"")
        if not message.get("more_body", False):
            return


async def read_capped_asgi(receive, cap: int, limit: int | None = None) -> bytes:
    """read_capped for a plain ASGI app: straight from `receive`, no Request object."""
    return await _capped(_receive_chunks(receive), cap, limit)
