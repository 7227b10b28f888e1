"""One Unix-socket connection to the sidecar: connect, write a frame, read a frame.

This layer knows nothing of handshakes or retries (see ``client.py``); it only tells apart the
failures the retry rules care about: nothing could be written (:class:`NotSent`), or the
connection broke once a request was on its way (:class:`Broken`).
"""

from __future__ import annotations

import socket
from typing import Optional

from .limits import FRAME_HEADER_LEN, MAX_RESPONSE_FRAME
from .wire import announced_length

_READ_SIZE = 65536


class NotSent(Exception):
    """The peer had closed the connection: not one byte of the request was written."""


class Broken(Exception):
    """The connection broke or timed out after a request was (partly) written."""


class Connection:
    """A connected stream socket with a read buffer. Not thread-safe: the client locks."""

    __slots__ = ("_buffer", "_sock")

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buffer = b""

    @classmethod
    def connect(cls, path: str, timeout: Optional[float]) -> Connection:
        """Connects to the Unix socket at ``path``; raises ``OSError`` when that fails."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect(path)
        except BaseException:
            sock.close()
            raise
        return cls(sock)

    def close(self) -> None:
        self._sock.close()

    def out_of_step(self) -> bool:
        """Whether bytes arrived that no request asked for: the stream cannot be trusted.

        No system call: a peer that closed the connection (idle timeout, restart) is found by
        the next write, which fails with EPIPE before anything goes out (:class:`NotSent`).
        """
        return bool(self._buffer)

    def send(self, data: bytes) -> None:
        """Writes all of ``data``.

        Raises :class:`NotSent` when the peer had closed and nothing went out, else
        :class:`Broken`.
        """
        try:
            sent = self._sock.send(data)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError) as e:
            raise NotSent(type(e).__name__) from None
        except OSError as e:
            raise Broken(_describe(e)) from None
        if sent < len(data):
            try:
                self._sock.sendall(memoryview(data)[sent:])
            except OSError as e:
                raise Broken(_describe(e)) from None

    def read_frame(self) -> bytes:
        """The next frame's body; raises :class:`Broken` on end of stream or an I/O error.

        A frame over the response limit raises ``WireError("FrameTooLarge")`` before its body
        is read. A small frame usually arrives with its prefix in one ``recv``.
        """
        buffer = self._buffer
        recv = self._sock.recv
        try:
            while len(buffer) < FRAME_HEADER_LEN:
                chunk = recv(_READ_SIZE)
                if not chunk:
                    raise Broken("end of stream")
                buffer = buffer + chunk if buffer else chunk
            length = announced_length(buffer, MAX_RESPONSE_FRAME)
            end = FRAME_HEADER_LEN + length
            if len(buffer) >= end:
                self._buffer = buffer[end:]
                return buffer[FRAME_HEADER_LEN:end]
            # A large frame: read the rest straight into one buffer of the announced size.
            body = bytearray(length)
            have = len(buffer) - FRAME_HEADER_LEN
            body[:have] = buffer[FRAME_HEADER_LEN:]
            view = memoryview(body)
            recv_into = self._sock.recv_into
            while have < length:
                count = recv_into(view[have:])
                if count == 0:
                    raise Broken("end of stream")
                have += count
            self._buffer = b""
            return body  # a bytearray: decoded in place, never modified
        except OSError as e:
            raise Broken(_describe(e)) from None


def _describe(error: OSError) -> str:
    if isinstance(error, socket.timeout):
        return "timed out"
    return type(error).__name__ if error.strerror is None else error.strerror
