"""A scripted fake sidecar for the conformance scenarios whose point is a race (DRIVER.md).

A real sidecar cannot be told to close a connection at the moment a client writes, or to be at
its connection cap on cue; this fake can, and it orders each event after one the client caused
(it reads the request before it closes), so a scenario's outcome never depends on timing luck.
It speaks just enough of protocol v2 (PROTOCOL.md §2-§6): it reads frames and the id and tag of
each request, and writes `Hello`, `Secret` and `Error` responses. It counts the connections it
accepted and the requests (other than `Hello`) it read, for `expect_received` steps.

Standard library only.
"""

from __future__ import annotations

import socket
import threading
from pathlib import Path
from typing import Callable, Optional

#: The value the fake answers every `Get` with.
FAKE_VALUE = "from-the-fake"

_ERROR_CODES = (
    "BadRequest",
    "UnsupportedVersion",
    "Unauthorized",
    "TooLarge",
    "ShuttingDown",
    "Internal",
    "HandshakeRequired",
    "Busy",
)
_HELLO_TAG = 0
_SECRET_TAG = 1
_ERROR_TAG = 6


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _string(text: str) -> bytes:
    data = text.encode("utf-8")
    return _varint(len(data)) + data


def _frame(body: bytes) -> bytes:
    return len(body).to_bytes(4, "big") + body


def _read_varint(data: bytes, at: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, at
        shift += 7


class Peer:
    """One accepted connection, seen from the fake."""

    def __init__(self, fake: FakeSidecar, sock: socket.socket) -> None:
        self.fake = fake
        self.sock = sock
        self.file = sock.makefile("rb")

    def read(self) -> Optional[tuple[int, int]]:
        """The next request's (id, tag), or None at the end of the stream; counts it."""
        header = self.file.read(4)
        if len(header) < 4:
            return None
        body = self.file.read(int.from_bytes(header, "big"))
        request_id, at = _read_varint(body, 0)
        tag, _ = _read_varint(body, at)
        if tag != _HELLO_TAG:
            self.fake.count_request()
        return request_id, tag

    def handshake(self) -> None:
        hello = self.read()
        if hello is None or hello[1] != _HELLO_TAG:
            raise AssertionError(f"the first request was {hello}, not a Hello")
        body = _varint(hello[0]) + _varint(_HELLO_TAG) + _varint(2)
        self.sock.sendall(_frame(body + _string("fake/0") + _string("exec-fake")))

    def serve_gets(self) -> None:
        """Answers every request with `Secret { value: FAKE_VALUE }` until the client hangs up."""
        while (request := self.read()) is not None:
            body = _varint(request[0]) + _varint(_SECRET_TAG) + b"\x01" + _string(FAKE_VALUE)
            self.sock.sendall(_frame(body))

    def error(self, request_id: int, code: str) -> None:
        body = _varint(request_id) + _varint(_ERROR_TAG) + _varint(_ERROR_CODES.index(code))
        self.sock.sendall(_frame(body + _string(f"{code} from the fake")))

    def close(self) -> None:
        self.file.close()
        self.sock.close()


# The scripts: connection number i (from 0) of a scenario is served by script(i, peer).


def _busy_at_connect(i: int, peer: Peer) -> None:
    peer.error(0, "Busy")  # before reading anything, as a sidecar at its cap does


def _idle_close_at_write(i: int, peer: Peer) -> None:
    peer.handshake()
    if i == 0:
        first = peer.read()
        assert first is not None
        peer.sock.sendall(_frame(_varint(first[0]) + b"\x01\x01" + _string(FAKE_VALUE)))
        peer.read()  # the next request arrived: close without answering it
    else:
        peer.serve_gets()


def _no_resend_on_fresh_connection(i: int, peer: Peer) -> None:
    peer.handshake()
    peer.read()  # and close without answering


def _no_resend_after_answer_began(i: int, peer: Peer) -> None:
    peer.handshake()
    first = peer.read()
    assert first is not None
    peer.sock.sendall(_frame(_varint(first[0]) + b"\x01\x01" + _string(FAKE_VALUE)))
    if peer.read() is not None:
        peer.sock.sendall(b"\x00\x00")  # half a length prefix, then close


SCRIPTS: dict[str, Callable[[int, Peer], None]] = {
    "busy_at_connect": _busy_at_connect,
    "idle_close_at_write": _idle_close_at_write,
    "no_resend_on_fresh_connection": _no_resend_on_fresh_connection,
    "no_resend_after_answer_began": _no_resend_after_answer_began,
}


class FakeSidecar:
    """Serves each connection to `path` with one script, one connection after the other."""

    def __init__(self, path: Path, script: str) -> None:
        self.path = path
        self.script = SCRIPTS[script]
        self.connections = 0
        self.requests = 0
        self.failures: list[str] = []
        self._lock = threading.Condition()
        self._served = 0
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(path))
        self.listener.listen(16)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def count_request(self) -> None:
        with self._lock:
            self.requests += 1

    def counts(self, timeout: float) -> tuple[int, int]:
        """(connections, requests) once every accepted connection's script has finished.

        A client that answered its caller may not yet have closed a connection the script is
        still reading; waiting for the scripts (not for time) makes the counts final.
        """
        with self._lock:
            self._lock.wait_for(lambda: self._served >= self.connections, timeout)
            return self.connections, self.requests

    def _serve(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            with self._lock:
                index = self.connections
                self.connections += 1
            peer = Peer(self, sock)
            try:
                self.script(index, peer)
            except (AssertionError, OSError) as e:
                self.failures.append(f"the fake's connection {index}: {e}")
            finally:
                peer.close()
                with self._lock:
                    self._served += 1
                    self._lock.notify_all()

    def close(self) -> None:
        self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        self.thread.join(timeout=10)
        self.path.unlink(missing_ok=True)
