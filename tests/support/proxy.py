"""A TCP relay a test can cut and restore: the database dying under a process, without stopping it."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from sqlalchemy import make_url

from launch.processes import free_port
from settings import Settings

CHUNK = 65536


class TcpProxy:
    """Relays 127.0.0.1:`port` to a target. `cut` drops every connection and refuses new ones."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self.server: asyncio.Server | None = None
        self.links: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)

    async def cut(self) -> None:
        """Stop listening and abort every open connection, as a crashed server would."""
        if self.server is not None:
            self.server.close()
            self.server = None
        for writer in list(self.links):
            writer.transport.abort()
        self.links.clear()

    async def _relay(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            target_reader, target_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.transport.abort()
            return
        self.links.update((client_writer, target_writer))
        try:
            await asyncio.gather(_pipe(client_reader, target_writer), _pipe(target_reader, client_writer))
        finally:
            for writer in (client_writer, target_writer):
                self.links.discard(writer)
                writer.transport.abort()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until either side closes; a dropped connection ends the copy quietly."""
    with contextlib.suppress(ConnectionError, OSError):
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
    writer.transport.abort()


async def database_proxy(settings: Settings) -> tuple[TcpProxy, str]:
    """A running proxy to the read model, and the database URL that goes through it."""
    target = make_url(settings.database_url)
    if target.get_backend_name() != "postgresql":
        pytest.skip("cutting the database's connections needs a networked read model (PostgreSQL)")
    proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432)
    await proxy.start()
    return proxy, target.set(port=proxy.port).render_as_string(hide_password=False)
