"""Every shared vector of protocol/vectors/, one sub-test each (PROTOCOL §10.2)."""

from __future__ import annotations

import socket
import threading
from typing import Any, Dict

import pytest

from ax_secrets.connection import Broken, Connection
from ax_secrets.errors import WireError
from ax_secrets.mock import MockSecrets
from ax_secrets.names import is_valid_name, name_problem
from ax_secrets.template import Reference, Text, render, segments
from ax_secrets.wire import (
    decode_request,
    decode_response,
    encode_request,
    encode_response,
    frame,
    read_frame_from_stream,
)
from ax_secrets.encodings import forms
from ax_secrets.limits import MIN_REDACTED_LEN
from ax_secrets.redact import Redactor
from vectors import (
    FORM_NAMES,
    FORMS_KEYS,
    MESSAGE_FILES,
    REDACTION_KEYS,
    VECTORS,
    VectorFileError,
    cases,
    check_file,
    from_json,
    to_json,
)

Json = Dict[str, Any]
MESSAGE_CASES = [case for name in MESSAGE_FILES for case in cases(name)]


def decode(direction: str, body: bytes) -> Any:
    return decode_request(body) if direction == "request" else decode_response(body)


def encode(direction: str, message: Any) -> bytes:
    return frame(encode_request(message) if direction == "request" else encode_response(message))


@pytest.mark.parametrize("data, test", MESSAGE_CASES)
def test_message_vector(data: Json, test: Json) -> None:
    stream = bytes.fromhex(test["hex"])
    direction, limit = data["direction"], data["limit"]
    if test["result"] == "valid":
        message = decode(direction, read_frame_from_stream(stream, limit))
        assert to_json(message) == test["value"]
        again = encode(direction, from_json(direction, test["value"]))
        if "NonCanonical" in test["flags"]:
            assert again != stream
            assert decode(direction, read_frame_from_stream(again, limit)) == message
        else:
            assert again == stream
    else:
        assert test["value"] is None
        with pytest.raises(WireError) as refused:
            decode(direction, read_frame_from_stream(stream, limit))
        assert refused.value.kind == test["error"]


@pytest.mark.parametrize("data, test", cases("responses.json") + cases("responses-large.json"))
def test_response_vector_through_the_socket_reader(data: Json, test: Json) -> None:
    """The client's own reader, fed the stream over a socket, refuses and accepts the same."""
    stream = bytes.fromhex(test["hex"])
    ours, theirs = socket.socketpair()
    writer = threading.Thread(target=_send_and_close, args=(theirs, stream))
    writer.start()
    with ours:
        connection = Connection(ours)
        if test["result"] == "valid":
            assert to_json(decode_response(connection.read_frame())) == test["value"]
            with pytest.raises(Broken):
                connection.read_frame()
        elif test["error"] == "Truncated":
            with pytest.raises(Broken):
                connection.read_frame()
        elif test["error"] == "FrameTooLarge":
            with pytest.raises(WireError, match="exceeds the limit"):
                connection.read_frame()
        else:
            with pytest.raises(WireError) as refused:
                decode_response(connection.read_frame())
            assert refused.value.kind == test["error"]
    writer.join()


def _send_and_close(sock: socket.socket, data: bytes) -> None:
    with sock:
        try:
            sock.sendall(data)
        except BrokenPipeError:
            pass  # a refused frame is not read to its end


@pytest.mark.parametrize("data, test", cases("names.json"))
def test_name_vector(data: Json, test: Json) -> None:
    name = test["value"]
    assert bytes.fromhex(test["hex"]) == name.encode("utf-8")
    assert is_valid_name(name) is (test["result"] == "valid")
    assert name_problem(name) == test["error"]


@pytest.mark.parametrize("data, test", cases("templates.json"))
def test_template_vector(data: Json, test: Json) -> None:
    value = test["value"]
    assert set(value) == {"template", "secrets", "segments", "rendered", "missing"}
    template = value["template"]
    assert bytes.fromhex(test["hex"]) == template.encode("utf-8")
    expected = []
    for segment in value["segments"]:
        if set(segment) == {"text"}:
            expected.append(Text(segment["text"]))
        elif set(segment) == {"reference", "raw"}:
            expected.append(Reference(segment["reference"], segment["raw"]))
        else:
            raise VectorFileError(f"unknown segment keys {sorted(segment)}")
    assert segments(template) == expected
    assert render(template, value["secrets"].get) == (value["rendered"], value["missing"])
    rendered = MockSecrets(value["secrets"]).render(template)
    assert (rendered.text, rendered.missing) == (value["rendered"], value["missing"])


BUNDLE_VALUE_KEYS = {
    "format", "key", "control_plane_public_key", "expected_execution_id", "now",
    "seal_randomness", "signing_seed", "plaintext", "bundle",
}
BUNDLE_KEYS = {
    "tenant", "execution_id", "environment", "config", "issued_at", "expires_at", "secrets",
    "overrides",
}
BUNDLE_SECRET_KEYS = {"name", "value", "version", "created_at", "updated_at"}
BUNDLE_ERRORS = {
    "BadMagic", "Truncated", "LengthMismatch", "BadSignature", "WrongExecution",
    "BadEncapsulatedKey", "DecryptionFailed", "NotYetValid", "Expired",
}
MAGIC = {"envelope": b"ax-secrets/bundle/v1\n", "local": b"ax-secrets/local-bundle/v1\n"}


@pytest.mark.parametrize("data, test", cases("bundles.json"))
def test_bundle_vector_shape(data: Json, test: Json) -> None:
    """Shims never open bundles (only the sidecar does), so this checks each vector's shape
    with the same strict key rules; it does not verify any cryptography."""
    sealed = bytes.fromhex(test["hex"])
    value = test["value"]
    assert set(value) == BUNDLE_VALUE_KEYS
    assert value["format"] in MAGIC
    assert isinstance(value["now"], int)
    bytes.fromhex(value["key"])
    bytes.fromhex(value["seal_randomness"])
    if test["error"] != "BadMagic":
        assert sealed.startswith(MAGIC[value["format"]])
    if test["result"] == "valid":
        bytes.fromhex(value["plaintext"])
        bundle = value["bundle"]
        assert set(bundle) == BUNDLE_KEYS
        for entry in bundle["secrets"] + bundle["overrides"]:
            assert set(entry) == BUNDLE_SECRET_KEYS
            assert is_valid_name(entry["name"])
    else:
        assert value["bundle"] is None and value["plaintext"] is None
        assert test["error"] in BUNDLE_ERRORS


@pytest.mark.parametrize("data, test", cases("redaction.json"))
def test_redaction_vector(data: Json, test: Json) -> None:
    """The mock's forms by name and its redaction (``MockSecrets.redact`` and the ``Redactor``
    behind it) give what the sidecar gives."""
    value = test["value"]
    if "forms" in value:
        assert set(value) == FORMS_KEYS
        secret = value["secret"]
        assert bytes.fromhex(test["hex"]) == secret.encode("utf-8")
        assert set(value["forms"]) == set(FORM_NAMES)
        assert dict(zip(FORM_NAMES, forms(secret))) == value["forms"]
        masked = len(secret.encode("utf-8")) >= MIN_REDACTED_LEN
        assert masked is value["masked"]
        mock = MockSecrets({"S": secret})
        for name, form in value["forms"].items():
            expected = ("***", ["S"]) if masked else (form, [])
            redacted = mock.redact(form)
            assert (redacted.text, redacted.found) == expected, name
    else:
        assert set(value) == REDACTION_KEYS
        assert bytes.fromhex(test["hex"]) == value["text"].encode("utf-8")
        expected = (value["redacted"], value["found"])
        assert Redactor(value["secrets"]).redact(value["text"]) == expected
        redacted = MockSecrets(value["secrets"]).redact(value["text"])
        assert (redacted.text, redacted.found) == expected


# Every vector file a test of this module runs; a file on disk that is not here fails.
COVERED = set(MESSAGE_FILES) | {"names.json", "templates.json", "bundles.json", "redaction.json"}


def test_every_vector_file_is_covered() -> None:
    assert {path.name for path in VECTORS.glob("*.json")} == COVERED


def test_loader_refuses_an_unknown_key_at_file_level() -> None:
    data = {
        "schema": "ax-protocol/names/v1", "area": "x", "description": "x",
        "numberOfTests": 0, "tests": [], "extra": 1,
    }
    with pytest.raises(VectorFileError):
        check_file("x.json", data)


def test_loader_refuses_an_unknown_key_at_test_level() -> None:
    test = {
        "id": 1, "comment": "", "flags": [], "hex": "41", "value": "A", "result": "valid",
        "error": None, "surprise": True,
    }
    data = {
        "schema": "ax-protocol/names/v1", "area": "x", "description": "x",
        "numberOfTests": 1, "tests": [test],
    }
    with pytest.raises(VectorFileError):
        check_file("x.json", data)


def test_loader_refuses_a_wrong_test_count() -> None:
    data = {
        "schema": "ax-protocol/names/v1", "area": "x", "description": "x",
        "numberOfTests": 2, "tests": [],
    }
    with pytest.raises(VectorFileError):
        check_file("x.json", data)
