"""Forward the host's 127.0.0.1:PORT to 127.0.0.1:TARGET inside a network namespace.

Run as `python -m tests.controlplane._forward NETNS TARGET PORT_FILE`; writes the host port
it listens on to PORT_FILE, then serves until killed. The listening socket is made before the
process joins the namespace, so it stays on the host's loopback (a socket keeps the namespace
it was made in); every connection it opens afterwards is made inside the namespace.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import socket
import sys
from pathlib import Path

_CLONE_NEWNET = 0x40000000


def _join(netns: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/run/netns/{netns}", os.O_RDONLY)
    try:
        if libc.setns(fd, _CLONE_NEWNET) != 0:
            error = ctypes.get_errno()
            raise OSError(error, f"setns into {netns}: {os.strerror(error)}")
    finally:
        os.close(fd)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def _serve(listener: socket.socket, target: int) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            inner_reader, inner_writer = await asyncio.open_connection("127.0.0.1", target)
        except OSError:
            writer.close()
            return
        await asyncio.gather(_pipe(reader, inner_writer), _pipe(inner_reader, writer))

    server = await asyncio.start_server(handle, sock=listener)
    async with server:
        await server.serve_forever()


def main() -> None:
    netns, target, port_file = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    _join(netns)  # before any thread exists: every later thread inherits the namespace
    partial = Path(f"{port_file}.partial")
    partial.write_text(str(listener.getsockname()[1]))
    partial.rename(port_file)
    asyncio.run(_serve(listener, target))


if __name__ == "__main__":
    main()
