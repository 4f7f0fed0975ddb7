"""Length-prefixed byte frames on a pipe or socket; what goes inside is a message of
:mod:`stepcoder.sandbox.messages` (JSON), never a pickle: a frame may come from a process the
candidate could reach, and unpickling runs code."""

from __future__ import annotations

import os
import select
import struct

_HEADER = struct.Struct("<I")
MAX_FRAME = 256 << 20


class ChannelClosed(EOFError):
    """The other end exited or closed the channel."""


def send(fd: int, data: bytes) -> None:
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view):]


def _read_exact(fd: int, n: int) -> bytes:
    chunks, left = [], n
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise ChannelClosed("channel closed")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def recv(fd: int, timeout_s: float | None = None, limit: int = MAX_FRAME) -> bytes:
    """Next frame; ``TimeoutError`` if none starts within ``timeout_s``; a frame announced
    larger than ``limit`` closes the channel (``ChannelClosed``)."""
    if timeout_s is not None:
        ready, _, _ = select.select([fd], [], [], max(timeout_s, 0.0))
        if not ready:
            raise TimeoutError(f"no reply within {timeout_s:.0f} s")
    (size,) = _HEADER.unpack(_read_exact(fd, _HEADER.size))
    if size > limit:
        raise ChannelClosed(f"frame of {size} bytes, more than {limit}")
    return _read_exact(fd, size)
