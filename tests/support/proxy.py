"""A TCP relay a test can cut and restore: the database dying under a process, without stopping it."""

from __future__ import annotations

import asyncio
import contextlib

from launch.processes import free_port

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
