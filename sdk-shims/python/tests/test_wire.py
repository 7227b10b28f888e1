"""Framing: frames split at every byte boundary, limits checked before reading a body."""

from __future__ import annotations

from typing import List

import pytest

from ax_secrets.connection import Broken, Connection
from ax_secrets.errors import WireError
from ax_secrets.limits import MAX_REQUEST_FRAME, MAX_RESPONSE_FRAME
from ax_secrets.messages import Response, SecretResponse
from ax_secrets.wire import encode_get_frame, encode_response, frame, frame_length, varint


class ChunkedSocket:
    """Hands out scripted chunks, as a socket may; then end of stream."""

    def __init__(self, chunks: List[bytes]) -> None:
        self.chunks = list(chunks)

    def recv(self, size: int, flags: int = 0) -> bytes:
        if not self.chunks:
            return b""
        chunk = self.chunks.pop(0)
        if len(chunk) > size:
            self.chunks.insert(0, chunk[size:])
            chunk = chunk[:size]
        return chunk

    def recv_into(self, view: memoryview) -> int:
        chunk = self.recv(len(view))
        view[: len(chunk)] = chunk
        return len(chunk)


FRAME = frame(encode_response(Response(300, SecretResponse("ünïcode value"))))


@pytest.mark.parametrize("cut", range(1, len(FRAME)))
def test_reads_a_frame_split_at_every_byte(cut: int) -> None:
    connection = Connection(ChunkedSocket([FRAME[:cut], FRAME[cut:]]))  # type: ignore[arg-type]
    assert connection.read_frame() == FRAME[4:]


def test_reads_a_frame_one_byte_at_a_time() -> None:
    chunks = [bytes((b,)) for b in FRAME]
    assert Connection(ChunkedSocket(chunks)).read_frame() == FRAME[4:]  # type: ignore[arg-type]


def test_reads_a_large_frame_in_many_pieces() -> None:
    big = frame(encode_response(Response(1, SecretResponse("x" * 1_000_000))))
    chunks = [big[i : i + 4093] for i in range(0, len(big), 4093)]
    assert Connection(ChunkedSocket(chunks)).read_frame() == big[4:]  # type: ignore[arg-type]


@pytest.mark.parametrize("cut", range(1, len(FRAME)))
def test_end_of_stream_inside_a_frame_is_broken(cut: int) -> None:
    with pytest.raises(Broken):
        Connection(ChunkedSocket([FRAME[:cut]])).read_frame()  # type: ignore[arg-type]


def test_two_frames_in_one_chunk_are_read_one_after_the_other() -> None:
    connection = Connection(ChunkedSocket([FRAME + FRAME]))  # type: ignore[arg-type]
    assert connection.read_frame() == FRAME[4:]
    assert connection.read_frame() == FRAME[4:]


def test_refuses_a_frame_over_the_response_limit_from_its_prefix_alone() -> None:
    prefix = (MAX_RESPONSE_FRAME + 1).to_bytes(4, "big")
    with pytest.raises(WireError) as refused:
        Connection(ChunkedSocket([prefix])).read_frame()  # type: ignore[arg-type]
    assert refused.value.kind == "FrameTooLarge"


def test_the_limit_is_inclusive() -> None:
    exactly = MAX_REQUEST_FRAME.to_bytes(4, "big")
    assert frame_length(exactly, MAX_REQUEST_FRAME) is None  # body still to come: no error


def test_frame_length_needs_more_bytes_for_every_prefix() -> None:
    for cut in range(len(FRAME)):
        assert frame_length(FRAME[:cut], MAX_RESPONSE_FRAME) is None
    assert frame_length(FRAME, MAX_RESPONSE_FRAME) == len(FRAME) - 4


@pytest.mark.parametrize(
    "value, encoded",
    [(0, "00"), (127, "7f"), (128, "8001"), (300, "ac02"), (16383, "ff7f"), (16384, "808001"),
     (2097152, "80808001"), (4294967295, "ffffffff0f")],
)
def test_varints_match_the_protocol_table(value: int, encoded: str) -> None:
    assert varint(value).hex() == encoded


def test_the_get_fast_path_matches_the_general_encoder() -> None:
    from ax_secrets.messages import GetRequest, Request
    from ax_secrets.wire import encode_request

    names = ["A", "OPENAI_API_KEY", "A" * 120, "A" * 128, "é" * 64, "é" * 100]
    for request_id in (0, 1, 127, 128, 16383, 16384, 2**28, 4294967295):
        for name in names:
            general = frame(encode_request(Request(request_id, GetRequest(name))))
            assert encode_get_frame(request_id, name) == general, (request_id, name)


def _general_decode(body: bytes):
    """The general decoder alone, bypassing the short-``Secret`` fast path."""
    from ax_secrets import wire

    r = wire._Reader(body)
    response_id = r.varint(32)
    message = Response(response_id, wire._RESPONSE_DECODERS[r.tag(len(wire._RESPONSE_DECODERS))](r))
    r.finish()
    return message


def _outcome(decode, body: bytes):
    try:
        return ("ok", decode(body))
    except WireError as e:
        return ("error", e.kind)


def _secret_shaped_bodies():
    ids = (0, 1, 127, 128, 300, 16383, 16384, 2**21 - 1, 2**21, 2**28 - 1, 2**28, 2**32 - 1)
    for request_id in ids:
        for value in (None, "", "v", "ü" * 20, "x" * 126, "x" * 127, "x" * 128):
            body = encode_response(Response(request_id, SecretResponse(value)))
            yield body
            yield body + b"\x00"  # trailing byte
            yield body[:-1]  # truncated
            for i in range(len(body)):
                for b in (0x00, 0x01, 0x02, 0x7F, 0x80, 0xFF):
                    yield body[:i] + bytes((b,)) + body[i + 1 :]
    yield b"\x80\x00\x01\x00"  # a non-canonical two-byte id
    yield b"\x80\x80\x80\x00\x01\x00"  # a non-canonical four-byte id
    yield b"\xff\xff\xff\xff\x1f\x01\x00"  # an id over u32
    yield b"\x01\x01\x01\x02\xc3\x28"  # bad UTF-8


def test_the_short_secret_path_agrees_with_the_general_decoder() -> None:
    from ax_secrets.wire import decode_response

    checked = 0
    for body in _secret_shaped_bodies():
        assert _outcome(decode_response, body) == _outcome(_general_decode, body), body.hex()
        checked += 1
    assert checked > 10_000
