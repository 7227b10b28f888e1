"""The sidecar client: lazy connection, handshake, request ids, reconnection, errors.

One connection per client, reused for every call and guarded by a lock, so one request is in
flight at a time. The rules of PROTOCOL §7:

* The ``Hello`` goes with id 1 (:data:`~ax_secrets.limits.HELLO_ID`): an ``Unauthorized`` with
  id 0 came before the sidecar read it (this process's uid is not allowed), one under id 1 is
  the token's.
* When a write fails because the peer closed (EPIPE/ECONNRESET), one frame is still read: an
  ``Error`` with id 0 waiting there (``Busy``, ``Unauthorized``, ``ShuttingDown``) is what is
  reported, not the broken pipe.
* **Resend once.** Every request is idempotent (§7.1). When a request on a *reused* connection
  (one that already carried an answered request) fails before any byte of its answer arrived
  (the peer had closed: the write fails, or the read meets the end of the stream, or an id-0
  ``ShuttingDown`` is waiting), it is sent once more on a fresh connection. Never on a fresh
  connection, never twice, never once its answer has begun, never after a timeout.
* ``ShuttingDown`` under the request's id means "not served": sent once more too. ``Busy`` and
  ``Unauthorized`` are never retried.
* A response whose id is not the request's drops the connection (the stream is out of step).
"""

from __future__ import annotations

import os
import threading
from typing import Callable, Optional

from . import errors
from .connection import Broken, Closed, Connection
from .errors import SecretsUnavailableError, WireError
from .limits import (
    CLIENT_NAME,
    HELLO_ID,
    MAX_SOCKET_PATH,
    PROTOCOL_VERSION,
    SOCKET_ENV,
    TOKEN_ENV,
)
from .messages import ErrorResponse, HelloRequest, HelloResponse, Request, Response
from .wire import decode_response, encode_request, frame

#: Codes after which the sidecar keeps the connection open (PROTOCOL §6.6).
_KEEPS_OPEN = frozenset(("Internal", "TooLarge"))


class _Resend(Exception):
    """The request was not served and may go once more on a fresh connection."""

    def __init__(self, reason: str, code: Optional[str] = None) -> None:
        super().__init__(reason)
        self.reason = reason
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
            try:
                return self._call_once(kind, build, expected)
            except _Resend:
                self._drop()
            try:
                return self._call_once(kind, build, expected, resending=True)
            except _Resend as again:
                self._drop()
                if again.code is not None:
                    message = errors.NOT_SERVED_TWICE.format(code=again.code)
                else:
                    message = errors.CLOSED_RESENT.format(kind=kind, reason=again.reason)
                raise self._error(message, again.code) from None

    # --------------------------------------------------------------------------------------

    def _call_once(
        self, kind: str, build: Callable[[int], bytes], expected: type, resending: bool = False
    ) -> Response:
        request_id = self._take_id()
        data = build(request_id)
        conn = self._conn
        if conn is not None and conn.out_of_step():
            self._drop()
            conn = None
        if conn is None:
            conn = self._connect()
        reused = conn.answered
        try:
            conn.send(data)
            response = self._receive(conn, kind, request_id)
        except Closed as closed:
            waiting = self._waiting_error(conn)
            self._drop()
            if waiting is not None:
                raise self._connection_error(waiting, kind, reused) from None
            if reused:
                raise _Resend(str(closed)) from None
            told = errors.CLOSED_RESENT if resending else errors.CLOSED_MID_REQUEST
            raise self._error(told.format(kind=kind, reason=closed)) from None
        except Broken as broken:
            raise self._broken(kind, broken) from None
        body = response.body
        if isinstance(body, ErrorResponse):
            if response.id == 0:
                self._drop()
                raise self._connection_error(body, kind, reused)
            if body.code == "ShuttingDown":
                raise _Resend(body.code, body.code)
            if body.code in _KEEPS_OPEN:
                conn.answered = True
            else:
                self._drop()
            message = errors.ERROR_ANSWER.format(kind=kind, code=body.code)
            raise self._error(message, body.code)
        if not isinstance(body, expected):
            self._drop()
            answer = type(body).__name__
            raise self._error(errors.UNEXPECTED_ANSWER.format(kind=kind, answer=answer))
        conn.answered = True
        return response

    def _waiting_error(self, conn: Connection) -> Optional[ErrorResponse]:
        """After the peer closed: the id-0 ``Error`` it left waiting, if it left one."""
        try:
            response = decode_response(conn.read_frame())
        except (Broken, WireError):
            return None
        if response.id == 0 and isinstance(response.body, ErrorResponse):
            return response.body
        return None

    def _connection_error(
        self, body: ErrorResponse, kind: str, reused: bool
    ) -> SecretsUnavailableError:
        """The error for a connection-level (id 0) ``Error``; raises ``_Resend`` when due."""
        if body.code == "ShuttingDown" and reused:
            raise _Resend(body.code, body.code)
        if body.code == "Unauthorized":
            return self._error(errors.UID_REFUSED.format(uid=os.getuid()), body.code)
        if body.code == "Busy":
            return self._error(errors.BUSY, body.code)
        return self._error(errors.ERROR_ANSWER.format(kind=kind, code=body.code), body.code)

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

    def _receive(self, conn: Connection, kind: str, request_id: int) -> Response:
        """The answer to ``request_id``, or an id-0 ``Error``; raises ``Broken`` as read."""
        try:
            response = decode_response(conn.read_frame())
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
        size = len(path.encode("utf-8", "surrogateescape"))
        if size > MAX_SOCKET_PATH:
            message = errors.socket_path_too_long(path, size, MAX_SOCKET_PATH)
            raise SecretsUnavailableError(path, message)
        try:
            conn = Connection.connect(path, self._timeout)
        except OSError as e:
            reason = e.strerror or type(e).__name__
            raise self._error(errors.CANNOT_CONNECT.format(reason=reason)) from None
        self._conn = conn
        hello = HelloRequest(PROTOCOL_VERSION, CLIENT_NAME, self._token)
        try:
            conn.send(frame(encode_request(Request(HELLO_ID, hello))))
            response = self._receive(conn, "Hello", HELLO_ID)
        except Closed as closed:
            # A sidecar that refuses the connection (Busy, a uid it does not allow) may write
            # its id-0 Error and close before the Hello is even written: read it anyway.
            waiting = self._waiting_error(conn)
            self._drop()
            if waiting is not None:
                raise self._handshake_error(waiting, 0) from None
            message = errors.CLOSED_MID_REQUEST.format(kind="Hello", reason=closed)
            raise self._error(message) from None
        except Broken as broken:
            raise self._broken("Hello", broken) from None
        body = response.body
        if isinstance(body, HelloResponse):
            if body.version != PROTOCOL_VERSION:
                self._drop()
                raise self._error(
                    errors.WRONG_VERSION.format(version=body.version, ours=PROTOCOL_VERSION)
                )
            return conn
        self._drop()
        if isinstance(body, ErrorResponse):
            raise self._handshake_error(body, response.id)
        answer = type(body).__name__
        raise self._error(errors.UNEXPECTED_ANSWER.format(kind="Hello", answer=answer))

    def _handshake_error(self, body: ErrorResponse, response_id: int) -> Exception:
        """The error for an ``Error`` answering the handshake (id 0: about the connection)."""
        if body.code == "ShuttingDown":
            return _Resend(body.code, body.code)  # nothing was sent: connecting again is safe
        if body.code == "Unauthorized":
            if response_id == 0:
                return self._error(errors.UID_REFUSED.format(uid=os.getuid()), body.code)
            return self._error(errors.TOKEN_REFUSED, body.code)
        if body.code == "Busy":
            return self._error(errors.BUSY, body.code)
        return self._error(errors.HANDSHAKE_REFUSED.format(code=body.code), body.code)

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _error(self, what: str, code: Optional[str] = None) -> SecretsUnavailableError:
        path = self._path or "(unset)"
        return SecretsUnavailableError(self._path, errors.at(path, what), code)

