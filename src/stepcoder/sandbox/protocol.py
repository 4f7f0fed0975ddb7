"""Length-prefixed pickle frames between the pool and its workers.

Both ends are our own trusted code; candidate code never writes to these pipes (its reports
reach the worker as JSON text inside the frames, see :mod:`stepcoder.sandbox.child`).
"""

from __future__ import annotations

import os
import pickle
import select
import struct
from typing import Any

_HEADER = struct.Struct("<Q")


class ChannelClosed(EOFError):
    """The other end exited or closed the pipe."""


def send(fd: int, obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view):]


def _read_exact(fd: int, n: int) -> bytes:
    chunks, left = [], n
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise ChannelClosed("pipe closed")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def recv(fd: int, timeout_s: float | None = None) -> Any:
    """Next frame; ``TimeoutError`` if none starts within ``timeout_s``."""
    if timeout_s is not None:
        ready, _, _ = select.select([fd], [], [], timeout_s)
        if not ready:
            raise TimeoutError(f"no reply within {timeout_s:.0f} s")
    (size,) = _HEADER.unpack(_read_exact(fd, _HEADER.size))
    return pickle.loads(_read_exact(fd, size))
