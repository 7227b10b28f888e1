"""The sidecar client: lazy connection, handshake, request ids, reconnection, errors.

One connection per client, reused for every call and guarded by a lock, so one request is in
flight at a time. The rules of PROTOCOL §7:

* A connection found closed *before* a request is written (the write fails with
  EPIPE/ECONNRESET before any byte went out: on a Unix socket a closed peer is known at once,
  so no probe is spent on the hot path) is replaced, once, with a fresh connection and
  handshake. So is one holding bytes no request asked for (out of step).
* ``ShuttingDown`` and ``Busy`` mean the request was not served: retried once on a fresh
  connection.
* A connection that breaks after a request was written is dropped and the request is **not**
  resent: the caller gets :class:`SecretsUnavailableError`, and the next call connects afresh.
* A response whose id is not the request's drops the connection (the stream is out of step).
"""

from __future__ import annotations

import os
import threading
from typing import Callable, Optional

from . import errors
from .connection import Broken, Connection, NotSent
from .errors import SecretsUnavailableError, WireError
from .limits import CLIENT_NAME, PROTOCOL_VERSION, SOCKET_ENV, TOKEN_ENV
from .messages import ErrorResponse, HelloRequest, HelloResponse, Request, Response
from .wire import decode_response, encode_request, frame

#: Codes that mean "not served, try again on a fresh connection".
_NOT_SERVED = frozenset(("ShuttingDown", "Busy"))
#: Codes after which the sidecar keeps the connection open (PROTOCOL §6.6).
_KEEPS_OPEN = frozenset(("Internal", "TooLarge"))


class _NotServed(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class SidecarClient:
    """Speaks protocol v2 to one sidecar. Thread-safe; connects on the first request.

    Args:
        socket_path: The socket; default ``$AX_SECRETS_SOCKET``, read at the first request.
        token: The client token; default ``$AX_SECRETS_TOKEN`` (unset or empty: none).
        timeout: Seconds to wait for connecting and for each answer; ``None`` waits for ever.
    """

    def __init__(
        self,
        socket_path: Optional[str] = None,
        token: Optional[str] = None,
        timeout: Optional[float] = None,
    ) -> None:
        self._path = socket_path
        self._token = token or None
        self._token_given = token is not None
        self._timeout = timeout
        self._configured = False
        self._lock = threading.Lock()
        self._conn: Optional[Connection] = None
        self._next_id = 1

    def __repr__(self) -> str:
        return f"SidecarClient(socket={self._path!r})"

    @property
    def socket_path(self) -> Optional[str]:
        """The socket path, once known (after the first request when taken from the env)."""
        return self._path

    def close(self) -> None:
        """Closes the connection; a later request connects again."""
        with self._lock:
            self._drop()

    def call(self, kind: str, build: Callable[[int], bytes], expected: type) -> Response:
        """Sends the frame ``build(id)`` returns and answers with the matching response.

        ``kind`` names the request in error messages; the response body must be an instance
        of ``expected``. Error responses other than the "not served" ones raise
        :class:`SecretsUnavailableError`. ``build`` runs before any connection is made, so an
        argument error it raises leaves nothing sent.
        """
        with self._lock:
            retried = False
            while True:
                try:
                    return self._call_once(kind, build, expected)
                except NotSent:
                    self._drop()
                    if retried:
                        raise self._error(errors.BROKEN_TWICE) from None
                except _NotServed as e:
                    self._drop()
                    if retried:
                        message = errors.NOT_SERVED_TWICE.format(code=e.code)
                        raise self._error(message, e.code) from None
                retried = True

    # --------------------------------------------------------------------------------------

    def _call_once(self, kind: str, build: Callable[[int], bytes], expected: type) -> Response:
        request_id = self._take_id()
        data = build(request_id)
        conn = self._conn
        if conn is not None and conn.out_of_step():
            self._drop()
            conn = None
        if conn is None:
            conn = self._connect()
        self._send(conn, data, kind)
        response = self._receive(conn, kind, request_id)
        body = response.body
        if isinstance(body, ErrorResponse):
            if body.code in _NOT_SERVED:
                raise _NotServed(body.code)
            if body.code not in _KEEPS_OPEN:
                self._drop()
            message = errors.ERROR_ANSWER.format(kind=kind, code=body.code)
            raise self._error(message, body.code)
        if not isinstance(body, expected):
            self._drop()
            answer = type(body).__name__
            raise self._error(errors.UNEXPECTED_ANSWER.format(kind=kind, answer=answer))
        return response

    def _broken(self, kind: str, broken: Broken) -> SecretsUnavailableError:
        """The connection broke with a request under way: dropped, never resent."""
        self._drop()
        reason = str(broken)
        if reason == "timed out":
            message = errors.TIMED_OUT.format(kind=kind, seconds=self._timeout)
        else:
            message = errors.CLOSED_MID_REQUEST.format(kind=kind, reason=reason)
        return self._error(message)

    def _take_id(self) -> int:
        request_id = self._next_id
        self._next_id = request_id + 1 if request_id < 0xFFFFFFFF else 1
        return request_id

    def _send(self, conn: Connection, data: bytes, kind: str) -> None:
        """Writes a request; raises ``NotSent`` (worth a second try) or the typed error."""
        try:
            conn.send(data)
        except Broken as e:
            raise self._broken(kind, e) from None

    def _receive(self, conn: Connection, kind: str, request_id: int) -> Response:
        try:
            response = decode_response(conn.read_frame())
        except Broken as e:
            raise self._broken(kind, e) from None
        except WireError as e:
            self._drop()
            raise self._error(errors.MALFORMED.format(reason=e.kind)) from None
        if response.id != request_id and not (
            response.id == 0 and isinstance(response.body, ErrorResponse)
        ):
            self._drop()
            message = errors.ID_MISMATCH.format(sent=request_id, received=response.id)
            raise self._error(message)
        return response

    def _configure(self) -> str:
        if not self._configured:
            if self._path is None:
                self._path = os.environ.get(SOCKET_ENV) or None
            if not self._token_given:
                self._token = os.environ.get(TOKEN_ENV) or None
            self._configured = True
        if self._path is None:
            raise SecretsUnavailableError(None, errors.no_socket_configured(SOCKET_ENV))
        return self._path

    def _connect(self) -> Connection:
        path = self._configure()
        try:
            conn = Connection.connect(path, self._timeout)
        except OSError as e:
            reason = e.strerror or type(e).__name__
            raise self._error(errors.CANNOT_CONNECT.format(reason=reason)) from None
        self._conn = conn
        hello = HelloRequest(PROTOCOL_VERSION, CLIENT_NAME, self._token)
        try:
            conn.send(frame(encode_request(Request(0, hello))))
        except NotSent:
            self._drop()
            message = errors.CLOSED_MID_REQUEST.format(kind="Hello", reason="closed")
            raise self._error(message) from None
        except Broken as e:
            self._drop()
            message = errors.CLOSED_MID_REQUEST.format(kind="Hello", reason=str(e))
            raise self._error(message) from None
        body = self._receive(conn, "Hello", 0).body
        if isinstance(body, HelloResponse):
            if body.version != PROTOCOL_VERSION:
                self._drop()
                raise self._error(
                    errors.WRONG_VERSION.format(version=body.version, ours=PROTOCOL_VERSION)
                )
            return conn
        self._drop()
        if isinstance(body, ErrorResponse):
            if body.code in _NOT_SERVED:
                raise _NotServed(body.code)
            if body.code == "Unauthorized":
                raise self._error(errors.TOKEN_REFUSED, body.code)
            raise self._error(errors.HANDSHAKE_REFUSED.format(code=body.code), body.code)
        answer = type(body).__name__
        raise self._error(errors.UNEXPECTED_ANSWER.format(kind="Hello", answer=answer))

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _error(self, what: str, code: Optional[str] = None) -> SecretsUnavailableError:
        path = self._path or "(unset)"
        return SecretsUnavailableError(self._path, errors.at(path, what), code)

