"""Framing and the postcard codec of protocol v2 (PROTOCOL §2, §4).

Every message travels as one frame::

    +----------------------+------------------------------------------+
    | length: u32, big-end |  body: `length` bytes                    |
    |      (4 bytes)       |  exactly one postcard-encoded message    |
    +----------------------+------------------------------------------+

    Ping with id 20:   00 00 00 02 | 14 (id 20, varint) | 05 (request tag 5 = Ping)

Inside the body, integers are unsigned LEB128 varints (least significant group first), strings
are a varint byte length and UTF-8, ``Option`` is a ``00``/``01`` tag, enums are a varint tag
then their fields, sequences are a varint count then their elements. Decoders accept
non-canonical (over-long) varints within the type's width; encoders write the shortest form.
"""

from __future__ import annotations

from typing import Callable, List, Optional, Tuple

from .errors import WireError
from .limits import FRAME_HEADER_LEN
from .messages import (
    ERROR_CODES,
    ErrorResponse,
    GetRequest,
    HelloRequest,
    HelloResponse,
    ListRequest,
    ListResponse,
    PingRequest,
    PongResponse,
    RedactedResponse,
    RedactRequest,
    RenderedResponse,
    RenderRequest,
    Request,
    RequestBody,
    Response,
    ResponseBody,
    SecretResponse,
    WireSecretInfo,
)

# ------------------------------------------------------------------------------------------
# Framing.


def frame_length(buffer: bytes, limit: int) -> Optional[int]:
    """The body length of the frame at the start of ``buffer``, once all of it is present.

    Returns ``None`` while more bytes are needed. Raises ``WireError("FrameTooLarge")`` as soon
    as the length prefix announces more than ``limit``, before any body byte is awaited.
    """
    if len(buffer) < FRAME_HEADER_LEN:
        return None
    length = announced_length(buffer, limit)
    if len(buffer) < FRAME_HEADER_LEN + length:
        return None
    return length


def announced_length(buffer: bytes, limit: int) -> int:
    """The body length in the (complete) length prefix at the start of ``buffer``.

    Raises ``WireError("FrameTooLarge")`` when it exceeds ``limit``: checked before any memory
    is reserved for the body.
    """
    length = int.from_bytes(buffer[:FRAME_HEADER_LEN], "big")
    if length > limit:
        raise WireError("FrameTooLarge")
    return length


def read_frame_from_stream(stream: bytes, limit: int) -> bytes:
    """The body of the one frame ``stream`` must consist of (as the shared vectors are run).

    Raises ``WireError``: ``FrameTooLarge``, ``Truncated`` (the stream ends inside the frame)
    or ``TrailingBytes`` (more bytes after it).
    """
    length = frame_length(stream, limit)
    if length is None:
        raise WireError("Truncated")
    end = FRAME_HEADER_LEN + length
    if len(stream) != end:
        raise WireError("TrailingBytes")
    return stream[FRAME_HEADER_LEN:end]


def frame(body: bytes) -> bytes:
    """``body`` with its length prefix."""
    return len(body).to_bytes(FRAME_HEADER_LEN, "big") + body


# ------------------------------------------------------------------------------------------
# Encoding.


def varint(value: int) -> bytes:
    """The shortest unsigned LEB128 encoding of ``value``."""
    if value < 0x80:
        return bytes((value,))
    if value < 0x4000:  # request ids spend most of a connection's life here
        return bytes(((value & 0x7F) | 0x80, value >> 7))
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _string(text: str) -> bytes:
    data = text.encode("utf-8")
    return varint(len(data)) + data


def _option_string(text: Optional[str]) -> bytes:
    return b"\x00" if text is None else b"\x01" + _string(text)


def _names(names: List[str]) -> bytes:
    return varint(len(names)) + b"".join(_string(n) for n in names)


def encode_request(request: Request) -> bytes:
    """The postcard body of ``request`` (no length prefix)."""
    body = request.body
    head = varint(request.id)
    if isinstance(body, HelloRequest):
        return (
            head
            + b"\x00"
            + varint(body.version)
            + _string(body.client)
            + _option_string(body.token)
        )
    if isinstance(body, GetRequest):
        return head + b"\x01" + _string(body.name)
    if isinstance(body, ListRequest):
        return head + b"\x02"
    if isinstance(body, RenderRequest):
        return head + b"\x03" + _string(body.template)
    if isinstance(body, RedactRequest):
        return head + b"\x04" + _string(body.text)
    if isinstance(body, PingRequest):
        return head + b"\x05"
    raise TypeError(f"not a request body: {type(body).__name__}")


def encode_get_frame(request_id: int, name: str) -> bytes:
    """The whole frame of ``Get`` (the per-call path of ``get``).

    A valid name is at most 128 bytes, so its length is one varint byte and the frame's
    length fits in its last prefix byte: two concatenations, no loop.
    """
    data = name.encode("utf-8")
    head = varint(request_id)
    size = len(head) + 2 + len(data)
    if len(data) < 0x80 and size < 0x100:
        return bytes((0, 0, 0, size)) + head + bytes((1, len(data))) + data
    body = head + b"\x01" + varint(len(data)) + data
    return len(body).to_bytes(FRAME_HEADER_LEN, "big") + body


def encode_response(response: Response) -> bytes:
    """The postcard body of ``response`` (no length prefix)."""
    body = response.body
    head = varint(response.id)
    if isinstance(body, HelloResponse):
        return (
            head
            + b"\x00"
            + varint(body.version)
            + _string(body.sidecar)
            + _string(body.execution_id)
        )
    if isinstance(body, SecretResponse):
        return head + b"\x01" + _option_string(body.value)
    if isinstance(body, ListResponse):
        parts = [head, b"\x02", varint(len(body.secrets))]
        for info in body.secrets:
            parts += [
                _string(info.name),
                varint(info.version),
                varint(info.updated_at),
            ]
        return b"".join(parts)
    if isinstance(body, RenderedResponse):
        return head + b"\x03" + _string(body.text) + _names(body.missing)
    if isinstance(body, RedactedResponse):
        return head + b"\x04" + _string(body.text) + _names(body.found)
    if isinstance(body, PongResponse):
        return head + b"\x05"
    if isinstance(body, ErrorResponse):
        return head + b"\x06" + varint(ERROR_CODES.index(body.code)) + _string(body.message)
    raise TypeError(f"not a response body: {type(body).__name__}")


# ------------------------------------------------------------------------------------------
# Decoding.


class _Reader:
    """A cursor over one frame body; every read checks the bytes left before using them."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def varint(self, bits: int) -> int:
        data = self.data
        pos = self.pos
        if pos < len(data) and data[pos] < 0x80:  # the common one-byte case
            self.pos = pos + 1
            return data[pos]
        value = 0
        last = (bits + 6) // 7 - 1
        for i in range(last + 1):
            if pos >= len(data):
                raise WireError("UnexpectedEnd")
            b = data[pos]
            pos += 1
            value |= (b & 0x7F) << (7 * i)
            if b < 0x80:
                if i == last and b > (1 << (bits - 7 * i)) - 1:
                    raise WireError("InvalidVarint")
                self.pos = pos
                return value
        raise WireError("InvalidVarint")

    def tag(self, count: int) -> int:
        tag = self.varint(32)
        if tag >= count:
            raise WireError("UnknownVariant")
        return tag

    def string(self) -> str:
        length = self.varint(64)
        start = self.pos
        end = start + length
        if end > len(self.data):
            raise WireError("UnexpectedEnd")
        self.pos = end
        try:
            return str(self.data[start:end], "utf-8")
        except UnicodeDecodeError:
            raise WireError("InvalidUtf8") from None

    def option_string(self) -> Optional[str]:
        if self.pos >= len(self.data):
            raise WireError("UnexpectedEnd")
        flag = self.data[self.pos]
        self.pos += 1
        if flag == 0:
            return None
        if flag == 1:
            return self.string()
        raise WireError("InvalidOptionTag")

    def names(self) -> List[str]:
        # No pre-allocation for the announced count: a lie runs into UnexpectedEnd.
        return [self.string() for _ in range(self.varint(64))]

    def finish(self) -> None:
        if self.pos != len(self.data):
            raise WireError("TrailingBytes")


def _hello_request(r: _Reader) -> RequestBody:
    return HelloRequest(r.varint(16), r.string(), r.option_string())


_REQUEST_DECODERS: Tuple[Callable[[_Reader], RequestBody], ...] = (
    _hello_request,
    lambda r: GetRequest(r.string()),
    lambda r: ListRequest(),
    lambda r: RenderRequest(r.string()),
    lambda r: RedactRequest(r.string()),
    lambda r: PingRequest(),
)


def _secret_info(r: _Reader) -> WireSecretInfo:
    return WireSecretInfo(r.string(), r.varint(32), r.varint(64))


def _list_response(r: _Reader) -> ResponseBody:
    return ListResponse([_secret_info(r) for _ in range(r.varint(64))])


def _rendered(r: _Reader) -> ResponseBody:
    return RenderedResponse(r.string(), r.names())


def _redacted(r: _Reader) -> ResponseBody:
    return RedactedResponse(r.string(), r.names())


def _error(r: _Reader) -> ResponseBody:
    return ErrorResponse(ERROR_CODES[r.tag(len(ERROR_CODES))], r.string())


_RESPONSE_DECODERS: Tuple[Callable[[_Reader], ResponseBody], ...] = (
    lambda r: HelloResponse(r.varint(16), r.string(), r.string()),
    lambda r: SecretResponse(r.option_string()),
    _list_response,
    _rendered,
    _redacted,
    lambda r: PongResponse(),
    _error,
)


def decode_request(body: bytes) -> Request:
    """Decodes one request body; raises ``WireError`` on any malformation."""
    r = _Reader(body)
    request_id = r.varint(32)
    message = Request(request_id, _REQUEST_DECODERS[r.tag(len(_REQUEST_DECODERS))](r))
    r.finish()
    return message


def _short_secret(body: bytes) -> Optional[Response]:
    """The answer to most ``get`` calls, decoded without the general reader, or ``None``.

    Covers a ``Secret`` response with an id of at most four varint bytes (below 2**28, so no
    overflow to check) and a value under 128 bytes (or none); anything else, malformed or not,
    is left to the general decoder, which alone decides errors. Worth it because ``get`` is
    the call node code makes in loops.
    """
    size = len(body)
    if size < 3:
        return None
    request_id = 0
    pos = 0
    while True:
        if pos == 4 or pos == size:
            return None
        byte = body[pos]
        request_id |= (byte & 0x7F) << (7 * pos)
        pos += 1
        if byte < 0x80:
            break
    if pos + 1 >= size or body[pos] != 1:
        return None
    flag = body[pos + 1]
    if flag == 0:
        return Response(request_id, SecretResponse(None)) if size == pos + 2 else None
    if flag != 1 or pos + 2 >= size:
        return None
    length = body[pos + 2]
    if length >= 0x80 or pos + 3 + length != size:
        return None
    try:
        return Response(request_id, SecretResponse(str(body[pos + 3 :], "utf-8")))
    except UnicodeDecodeError:
        return None


def decode_response(body: bytes) -> Response:
    """Decodes one response body; raises ``WireError`` on any malformation."""
    short = _short_secret(body)
    if short is not None:
        return short
    r = _Reader(body)
    response_id = r.varint(32)
    message = Response(response_id, _RESPONSE_DECODERS[r.tag(len(_RESPONSE_DECODERS))](r))
    r.finish()
    return message
