"""One Unix-socket connection to the sidecar: connect, write a frame, read a frame.

This layer knows nothing of handshakes or retries (see ``client.py``); it only tells apart the
failures the resend rule of PROTOCOL §7.4 turns on: the peer had closed the connection before
any byte of an answer arrived (:class:`Closed`: a write met EPIPE/ECONNRESET, or a read met the
end of the stream or ECONNRESET at a frame boundary), or anything else that broke it
(:class:`Broken`: a timeout, an I/O error, an answer cut short).
"""

from __future__ import annotations

import socket
from typing import Optional

from .limits import FRAME_HEADER_LEN, MAX_RESPONSE_FRAME
from .wire import announced_length

_READ_SIZE = 65536


class Broken(Exception):
    """The connection broke or timed out; its message is the reason, for error messages."""


class Closed(Broken):
    """The peer had closed the connection, and not one byte of an answer came from it."""


#: The errors of a socket whose peer has closed it.
_PEER_CLOSED = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)


class Connection:
    """A connected stream socket with a read buffer. Not thread-safe: the client locks."""

    __slots__ = ("_buffer", "_sock", "answered")

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buffer = b""
        #: Whether a request (not the Hello) was answered on it: only then is it *reused*, and
        #: only a request on a reused connection is ever resent.
        self.answered = False

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
        the next write (EPIPE) or by the read after it (end of stream): :class:`Closed`.
        """
        return bool(self._buffer)

    def send(self, data: bytes) -> None:
        """Writes all of ``data``.

        Raises :class:`Closed` when the peer had closed (whether or not some bytes went out:
        a closed peer reads none of them), else :class:`Broken`.
        """
        try:
            sent = self._sock.send(data)
            if sent < len(data):
                self._sock.sendall(memoryview(data)[sent:])
        except _PEER_CLOSED as e:
            raise Closed(type(e).__name__) from None
        except OSError as e:
            raise Broken(_describe(e)) from None

    def read_frame(self) -> bytes:
        """The next frame's body.

        Raises :class:`Closed` when the stream ends (or is reset) before any byte of the frame,
        :class:`Broken` when it ends inside the frame, times out or fails otherwise.

        A frame over the response limit raises ``WireError("FrameTooLarge")`` before its body
        is read. A small frame usually arrives with its prefix in one ``recv``.
        """
        buffer = self._buffer
        recv = self._sock.recv
        try:
            while len(buffer) < FRAME_HEADER_LEN:
                try:
                    chunk = recv(_READ_SIZE)
                except _PEER_CLOSED as e:
                    if buffer:
                        raise Broken(_describe(e)) from None
                    raise Closed(type(e).__name__) from None
                if not chunk:
                    if buffer:
                        raise Broken("end of stream inside a frame")
                    raise Closed("end of stream")
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
                    raise Broken("end of stream inside a frame")
                have += count
            self._buffer = b""
            return body  # a bytearray: decoded in place, never modified
        except Broken:
            raise
        except OSError as e:
            raise Broken(_describe(e)) from None


def _describe(error: OSError) -> str:
    if isinstance(error, socket.timeout):
        return "timed out"
    return type(error).__name__ if error.strerror is None else error.strerror
