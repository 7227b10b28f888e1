"""``AxiomContext``: node code's handle on the execution, and ``ax.secrets`` over the sidecar."""

from __future__ import annotations

from types import TracebackType
from typing import List, Optional, Tuple, Type

from . import errors
from .client import SidecarClient
from .limits import FRAME_HEADER_LEN, MAX_REQUEST_FRAME
from .messages import (
    ListRequest,
    ListResponse,
    RedactedResponse,
    RenderedResponse,
    Request,
    SecretResponse,
)
from .names import is_valid_name
from .results import Redacted, Rendered, SecretInfo
from .wire import encode_get_frame, encode_request, frame, varint


def _text_frame(kind: str, tag: bytes, request_id: int, data: bytes) -> bytes:
    body = b"".join((varint(request_id), tag, varint(len(data)), data))
    if len(body) > MAX_REQUEST_FRAME:
        raise errors.RequestTooLargeError(
            errors.request_too_large(kind, len(body), MAX_REQUEST_FRAME)
        )
    return len(body).to_bytes(FRAME_HEADER_LEN, "big") + body


def _utf8(argument: object, what: str) -> bytes:
    if not isinstance(argument, str):
        raise TypeError(f"{what} must be str, not {type(argument).__name__}")
    try:
        return argument.encode("utf-8")
    except UnicodeEncodeError as e:
        # The codec's own message quotes the offending character: say where, not what.
        raise ValueError(
            f"{errors.PREFIX}the {what} is not valid Unicode (a lone surrogate at index {e.start})"
        ) from None


class Secrets:
    """``ax.secrets`` backed by the execution's sidecar. Safe to share between threads.

    Every method raises :class:`~ax_secrets.SecretsUnavailableError` when the sidecar cannot be
    asked; a missing secret is never an exception.
    """

    __slots__ = ("_client",)

    def __init__(self, client: SidecarClient) -> None:
        self._client = client

    def __repr__(self) -> str:
        return f"Secrets(socket={self._client.socket_path!r})"

    def get(self, name: str) -> Tuple[str, bool]:
        """The secret's value: ``(value, True)``, or ``("", False)`` when there is none.

        An empty value is found: ``("", True)``. A string that is not a valid name is not
        found and is never sent to the sidecar.
        """
        if not isinstance(name, str):
            raise TypeError(f"a secret name must be str, not {type(name).__name__}")
        if not is_valid_name(name):
            return "", False
        response = self._client.call(
            "Get", lambda request_id: encode_get_frame(request_id, name), SecretResponse
        )
        value = response.body.value  # type: ignore[union-attr]
        return ("", False) if value is None else (value, True)

    def exists(self, name: str) -> bool:
        """Whether a secret of that name exists (asked with ``Get``)."""
        return self.get(name)[1]

    def render(self, template: str) -> Rendered:
        """Expands each ``{{secrets.NAME}}`` in ``template``, on the sidecar.

        References to missing secrets stay as written; ``missing`` names them once each, in
        order of first appearance.

        Raises:
            RequestTooLargeError: the template makes a request over 1 MiB (nothing is sent).
        """
        data = _utf8(template, "template")
        response = self._client.call(
            "Render",
            lambda request_id: _text_frame("Render", b"\x03", request_id, data),
            RenderedResponse,
        )
        body = response.body
        return Rendered(body.text, body.missing)  # type: ignore[union-attr]

    def redact(self, text: str) -> Redacted:
        """Replaces every secret value in ``text``, and its common encodings, by ``***``.

        ``found`` names the secrets found, sorted, each once.

        Raises:
            RequestTooLargeError: the text makes a request over 1 MiB (nothing is sent).
        """
        data = _utf8(text, "text")
        response = self._client.call(
            "Redact",
            lambda request_id: _text_frame("Redact", b"\x04", request_id, data),
            RedactedResponse,
        )
        body = response.body
        return Redacted(body.text, body.found)  # type: ignore[union-attr]

    def list(self) -> List[SecretInfo]:
        """The metadata of every secret, sorted by name; never a value."""
        response = self._client.call(
            "List",
            lambda request_id: frame(encode_request(Request(request_id, ListRequest()))),
            ListResponse,
        )
        secrets = response.body.secrets  # type: ignore[union-attr]
        return [SecretInfo(i.name, i.version, i.updated_at) for i in secrets]


class AxiomContext:
    """The execution context node code receives as ``ax``.

    Connects lazily, on the first call, to the sidecar at ``$AX_SECRETS_SOCKET`` with the token
    in ``$AX_SECRETS_TOKEN``, then reuses that connection.

    Args:
        socket: Overrides ``$AX_SECRETS_SOCKET``.
        token: Overrides ``$AX_SECRETS_TOKEN``.
        timeout: Seconds to wait to connect and for each answer (default: no limit).

    Usable as a context manager, which closes the connection at the end.
    """

    __slots__ = ("_client", "secrets")

    def __init__(
        self,
        socket: Optional[str] = None,
        token: Optional[str] = None,
        timeout: Optional[float] = None,
    ) -> None:
        self._client = SidecarClient(socket, token, timeout)
        self.secrets = Secrets(self._client)

    def __repr__(self) -> str:
        return f"AxiomContext(socket={self._client.socket_path!r})"

    def close(self) -> None:
        """Closes the connection to the sidecar (a later call reconnects)."""
        self._client.close()

    def __enter__(self) -> AxiomContext:
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()
