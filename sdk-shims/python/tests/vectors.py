"""Loads the shared vectors of protocol/vectors/ with the strict key checks of PROTOCOL §10.2,
and converts messages to and from their canonical JSON."""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Dict, List

from ax_secrets import messages as m
from sidecar import workspace_root

VECTORS = workspace_root() / "protocol" / "vectors"
MESSAGE_FILES = ["requests.json", "requests-large.json", "responses.json", "responses-large.json"]
FILE_KEYS = {"schema", "area", "description", "numberOfTests", "tests"}
MESSAGE_FILE_KEYS = FILE_KEYS | {"direction", "limit"}
TEST_KEYS = {"id", "comment", "flags", "hex", "value", "result", "error"}
SCHEMAS = {
    "ax-protocol/messages/v2": MESSAGE_FILE_KEYS,
    "ax-protocol/names/v1": FILE_KEYS,
    "ax-protocol/templates/v1": FILE_KEYS,
    "ax-protocol/bundles/v1": FILE_KEYS,
    "ax-protocol/redaction/v1": FILE_KEYS,
}
# The names of the forms of PROTOCOL §8.4, in the order ``ax_secrets.encodings.forms`` gives
# them: the keys of a forms case in redaction.json (protocol/src/encodings.rs, FORM_NAMES).
FORM_NAMES = [
    "utf8", "base64", "base64_unpadded", "base64url", "base64url_unpadded", "json", "json_ascii",
    "percent", "json_html_safe", "json_gson", "json_dotnet", "json_upper_controls",
    "python_repr_str", "python_repr_bytes", "go_quoted", "query_escape", "form_urlencoded",
    "python_quote", "go_path_escape", "uri_component", "percent_lower", "dotnet_http_utility",
    "dotnet_web_utility",
]
FORMS_KEYS = {"secret", "masked", "forms"}
REDACTION_KEYS = {"secrets", "text", "redacted", "found"}


class VectorFileError(Exception):
    """A vector file breaks the format of PROTOCOL §10.2."""


def check_file(name: str, data: Any) -> Dict[str, Any]:
    """Checks a loaded vector file's keys and test keys; fails on anything unknown."""
    if not isinstance(data, dict):
        raise VectorFileError(f"{name}: not a JSON object")
    expected = SCHEMAS.get(data.get("schema"))  # type: ignore[arg-type]
    if expected is None:
        raise VectorFileError(f"{name}: unknown schema {data.get('schema')!r}")
    if set(data) != expected:
        raise VectorFileError(f"{name}: keys {sorted(data)} are not {sorted(expected)}")
    tests = data["tests"]
    if data["numberOfTests"] != len(tests):
        raise VectorFileError(f"{name}: numberOfTests is not the number of tests")
    seen = set()
    for test in tests:
        if set(test) != TEST_KEYS:
            raise VectorFileError(f"{name}#{test.get('id')}: keys {sorted(test)}")
        if test["result"] not in ("valid", "invalid"):
            raise VectorFileError(f"{name}#{test['id']}: result {test['result']!r}")
        if (test["error"] is None) != (test["result"] == "valid"):
            raise VectorFileError(f"{name}#{test['id']}: error does not fit result")
        if test["id"] in seen:
            raise VectorFileError(f"{name}#{test['id']}: id repeated")
        seen.add(test["id"])
    return data


def load(name: str) -> Dict[str, Any]:
    with open(VECTORS / name, encoding="utf-8") as f:
        return check_file(name, json.load(f))


def cases(name: str) -> List[Any]:
    """``pytest.param`` per vector, with ids like ``requests.json#12``."""
    import pytest

    data = load(name)
    return [pytest.param(data, t, id=f"{name}#{t['id']}") for t in data["tests"]]


def _type_name(cls: type) -> str:
    for suffix in ("Request", "Response"):
        if cls.__name__.endswith(suffix):
            return cls.__name__[: -len(suffix)]
    raise AssertionError(cls)


_REQUESTS = {_type_name(c): c for c in m.REQUEST_TYPES}
_RESPONSES = {_type_name(c): c for c in m.RESPONSE_TYPES}


def to_json(message: Any) -> Dict[str, Any]:
    """The canonical JSON of a decoded ``Request`` or ``Response``."""
    out: Dict[str, Any] = {"id": message.id, "type": _type_name(type(message.body))}
    for f in dataclasses.fields(message.body):
        value = getattr(message.body, f.name)
        if f.name == "secrets":
            value = [dataclasses.asdict(info) for info in value]
        out[f.name] = value
    return out


def from_json(direction: str, value: Dict[str, Any]) -> Any:
    """The message a canonical JSON object stands for; fails on unknown or missing fields."""
    types = _REQUESTS if direction == "request" else _RESPONSES
    cls = types[value["type"]]
    fields = {k: v for k, v in value.items() if k not in ("id", "type")}
    if set(fields) != {f.name for f in dataclasses.fields(cls)}:
        raise VectorFileError(f"fields {sorted(fields)} do not fit {value['type']}")
    if "secrets" in fields:
        fields["secrets"] = [m.WireSecretInfo(**info) for info in fields["secrets"]]
    envelope = m.Request if direction == "request" else m.Response
    return envelope(value["id"], cls(**fields))
