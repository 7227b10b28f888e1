"""A scripted stand-in for the sidecar, for the client's edge cases: one thread accepting on a
Unix socket, each connection handed to a test-supplied function with helpers to read requests
and write responses."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
from typing import Callable, List, Optional

from ax_secrets.limits import PROTOCOL_VERSION
from ax_secrets.messages import (
    ErrorResponse,
    HelloRequest,
    HelloResponse,
    Request,
    Response,
    ResponseBody,
    SecretResponse,
)
from ax_secrets.wire import decode_request, encode_response, frame


class Peer:
    """One accepted connection, seen from the fake sidecar."""

    def __init__(self, sock: socket.socket, received: List[Request]) -> None:
        self.sock = sock
        self.file = sock.makefile("rb")
        self._received = received

    def read(self) -> Optional[Request]:
        """The next request (recorded in the fake's ``requests``), or ``None`` at the end."""
        header = self.file.read(4)
        if len(header) < 4:
            return None
        request = decode_request(self.file.read(int.from_bytes(header, "big")))
        self._received.append(request)
        return request

    def answer(self, request_id: int, body: ResponseBody) -> None:
        self.sock.sendall(frame(encode_response(Response(request_id, body))))

    def handshake(self) -> Request:
        hello = self.read()
        assert hello is not None
        self.answer(hello.id, HelloResponse(PROTOCOL_VERSION, "fake/0", "exec-fake"))
        return hello

    def error(self, request_id: int, code: str) -> None:
        self.answer(request_id, ErrorResponse(code, f"{code} from the fake"))

    def close(self) -> None:
        self.file.close()
        self.sock.close()


def serve_gets(peer: Peer, value: str = "v", limit: int = 1000) -> None:
    """Answers every Get with ``value`` (after the handshake, done by the caller)."""
    for _ in range(limit):
        request = peer.read()
        if request is None:
            return
        peer.answer(request.id, SecretResponse(value))


class FakeSidecar:
    """Serves connection number ``i`` (from 0) with ``script(i, peer)``, one after the other.

    ``requests`` lists every request any peer read, Hellos included, in order.
    """

    def __init__(self, script: Callable[[int, Peer], None]) -> None:
        self.dir = tempfile.mkdtemp(prefix="axpy-fake-")
        self.path = os.path.join(self.dir, "s.sock")
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(self.path)
        self.listener.listen(8)
        self.script = script
        self.connections = 0
        self.closed = 0
        self._closing = threading.Condition()
        self.requests: List[Request] = []
        self.failures: List[BaseException] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            index = self.connections
            self.connections += 1
            peer = Peer(sock, self.requests)
            try:
                self.script(index, peer)
            except BaseException as e:  # surfaced by close()
                self.failures.append(e)
            finally:
                peer.close()
                with self._closing:
                    self.closed += 1
                    self._closing.notify_all()

    def wait_closed(self, count: int, timeout: float = 10.0) -> None:
        """Waits until the fake has closed ``count`` connections (its end, after the script)."""
        with self._closing:
            if not self._closing.wait_for(lambda: self.closed >= count, timeout):
                raise AssertionError(f"{self.closed} of {count} connections closed in {timeout}s")

    def bodies(self) -> List[object]:
        """The bodies of the requests read so far, Hellos left out."""
        return [r.body for r in self.requests if not isinstance(r.body, HelloRequest)]

    def close(self) -> None:
        self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        self.thread.join(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)
        if self.failures:
            raise self.failures[0]
