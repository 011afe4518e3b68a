"""A minimal HTTP/1.1 keep-alive client on asyncio streams, for loopback load generation.

General clients (httpx, requests) spend a millisecond or more of CPU per request; on a 2-core
machine that shares its cores with the server and Neo4j, the generator would be what is
measured. This one writes prepared request bytes and reads Content-Length bodies: tens of
microseconds per request.
"""
from __future__ import annotations

import asyncio


class Connection:
    def __init__(self, host: str, port: int, headers: dict[str, str]):
        self.host, self.port = host, port
        self.fixed = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        head = (f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n{self.fixed}"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        self.writer.write(head + body)
        status_line = await self.reader.readline()
        status = int(status_line.split(b" ", 2)[1])
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        payload = await self.reader.readexactly(length) if length else b""
        return status, payload

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except ConnectionError:
                pass


class Pool:
    """A fixed set of connections handed out one request at a time."""

    def __init__(self, host: str, port: int, headers: dict[str, str], size: int):
        self.connections = [Connection(host, port, headers) for _ in range(size)]
        self.free: asyncio.Queue[Connection] = asyncio.Queue()

    async def __aenter__(self) -> "Pool":
        for c in self.connections:
            await c.open()
            self.free.put_nowait(c)
        return self

    async def __aexit__(self, *exc) -> None:
        for c in self.connections:
            await c.close()

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        conn = await self.free.get()
        try:
            return await conn.post(path, body)
        finally:
            self.free.put_nowait(conn)
