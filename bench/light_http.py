"""A load generator's HTTP/1.1 client that costs little CPU: keep-alive requests over asyncio streams.

On a two-core machine the clients share the cores with the service they measure; httpx spends
about as much CPU per request as the API's own list handler, which would make the figures
measure the generator. This client sends GETs and JSON POSTs and parses only what this API
answers: a status line, headers and a `Content-Length` body.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlencode


class LightConnection:
    """One keep-alive connection to 127.0.0.1:`port`."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def send(self, method: str, target: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        if self.writer is None or self.writer.is_closing():
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        lines = [
            f"{method} {target} HTTP/1.1",
            f"Host: 127.0.0.1:{self.port}",
            *(f"{k}: {v}" for k, v in headers.items()),
        ]
        if body:
            lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        status = int((await self.reader.readline()).split(b" ", 2)[1])
        length, close = 0, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "connection" and "close" in value.lower():
                close = True
        body = await self.reader.readexactly(length)
        if close:
            self.writer.close()
        return status, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


class LightPool:
    """`n` connections, spread over the ports in turn (as a load balancer spreads clients over
    replicas); a request takes a free one and gives it back."""

    def __init__(self, ports: list[int], n: int) -> None:
        self.free: asyncio.Queue[LightConnection] = asyncio.Queue()
        for i in range(n):
            self.free.put_nowait(LightConnection(ports[i % len(ports)]))

    async def get_json(self, path: str, params: dict[str, Any] | None, headers: dict[str, str]) -> tuple[int, Any]:
        target = f"{path}?{urlencode(params)}" if params else path
        return await self.request("GET", target, headers)

    async def post_json(self, path: str, body: Any, headers: dict[str, str]) -> tuple[int, Any]:
        return await self.request("POST", path, headers, json.dumps(body).encode())

    async def request(self, method: str, target: str, headers: dict[str, str], body: bytes = b"") -> tuple[int, Any]:
        conn = await self.free.get()
        try:
            status, answer = await conn.send(method, target, headers, body)
        except BaseException:
            conn.close()
            conn.writer = None
            raise
        finally:
            self.free.put_nowait(conn)
        return status, json.loads(answer) if answer else None

    def close(self) -> None:
        while not self.free.empty():
            self.free.get_nowait().close()
