"""The mock answers as a sidecar serving the same values would."""

from __future__ import annotations

import base64
import json
import threading
import urllib.parse
from pathlib import Path
from typing import Dict

import pytest

from ax_secrets import MockAxiomContext, Redacted, Rendered, SecretInfo
from ax_secrets.encodings import forms, json_escaped, percent_encoded
from sidecar import workspace_root

UNICODE = "pässwörd-密码-🔑"
SECRETS: Dict[str, str] = {
    "GREETER_SIGNATURE": "test-sig",
    "EMPTY": "",
    "UNI": UNICODE,
    "QUOTED": 'say "hi"\\n\tthen\x01go',
    "SHORT": "k9",
    "LONG": "sk-0123456789",
    "TWIN": "k9",
    "LOOP": "{{secrets.SHORT}}",
    "lower": "v",
}


@pytest.fixture
def ax() -> MockAxiomContext:
    return MockAxiomContext(secrets_map=SECRETS)


def test_get_returns_the_value_and_true(ax: MockAxiomContext) -> None:
    assert ax.secrets.get("GREETER_SIGNATURE") == ("test-sig", True)


def test_get_of_a_missing_secret_is_none_and_false(ax: MockAxiomContext) -> None:
    assert ax.secrets.get("MISSING") == ("", False)


def test_an_empty_value_is_found(ax: MockAxiomContext) -> None:
    assert ax.secrets.get("EMPTY") == ("", True)
    assert ax.secrets.exists("EMPTY") is True


def test_names_are_case_sensitive(ax: MockAxiomContext) -> None:
    assert ax.secrets.get("lower") == ("v", True)
    assert ax.secrets.get("LOWER") == ("", False)


@pytest.mark.parametrize("name", ["", "1A", "A-B", "A\n", "test-sig", "Ä", "A" * 129])
def test_invalid_names_are_not_found(ax: MockAxiomContext, name: str) -> None:
    assert ax.secrets.get(name) == ("", False)
    assert ax.secrets.exists(name) is False


def test_a_non_string_name_is_a_type_error(ax: MockAxiomContext) -> None:
    with pytest.raises(TypeError):
        ax.secrets.get(b"SHORT")  # type: ignore[arg-type]


def test_exists(ax: MockAxiomContext) -> None:
    assert ax.secrets.exists("SHORT") and not ax.secrets.exists("NOPE")


def test_list_is_sorted_bytewise_with_fixed_metadata(ax: MockAxiomContext) -> None:
    listed = ax.secrets.list()
    assert [i.name for i in listed] == sorted(SECRETS)
    assert listed[0] == SecretInfo("EMPTY", 1, 0)
    assert all((i.version, i.updated_at) == (1, 0) for i in listed)


def test_render_replaces_found_and_keeps_missing_once(ax: MockAxiomContext) -> None:
    template = "a={{ secrets.SHORT }} m={{secrets.M}}{{secrets.M}} e=[{{secrets.EMPTY}}]"
    rendered = ax.secrets.render(template)
    assert rendered == Rendered("a=k9 m={{secrets.M}}{{secrets.M}} e=[]", ["M"])


def test_render_is_a_single_pass(ax: MockAxiomContext) -> None:
    assert ax.secrets.render("{{secrets.LOOP}}").text == "{{secrets.SHORT}}"


def test_render_repr_hides_the_text(ax: MockAxiomContext) -> None:
    assert "k9" not in repr(ax.secrets.render("{{secrets.SHORT}}"))


@pytest.mark.parametrize(
    "form",
    [
        UNICODE,
        base64.b64encode(UNICODE.encode()).decode(),
        base64.b64encode(UNICODE.encode()).decode().rstrip("="),
        base64.urlsafe_b64encode(UNICODE.encode()).decode(),
        base64.urlsafe_b64encode(UNICODE.encode()).decode().rstrip("="),
        json.dumps(UNICODE, ensure_ascii=False)[1:-1],
        json.dumps(UNICODE)[1:-1],
        urllib.parse.quote(UNICODE, safe=""),
    ],
    ids=[
        "raw", "b64", "b64-unpadded", "b64url", "b64url-unpadded", "json", "json-ascii",
        "percent",
    ],
)
def test_redacts_each_encoded_form(ax: MockAxiomContext, form: str) -> None:
    assert ax.secrets.redact(f"<{form}>") == Redacted("<***>", ["UNI"])


def test_redacts_json_escaped_control_characters(ax: MockAxiomContext) -> None:
    inside = json.dumps(SECRETS["QUOTED"])[1:-1]
    assert ax.secrets.redact(f'{{"m": "{inside}"}}') == Redacted('{"m": "***"}', ["QUOTED"])


def test_redaction_is_leftmost_longest_without_overlaps(ax: MockAxiomContext) -> None:
    result = ax.secrets.redact("sk-0123456789sk-0123456789 and sk-0123456789k9 x")
    assert result == Redacted("****** and ***k9 x", ["LONG"])


def test_values_under_four_bytes_are_never_masked(ax: MockAxiomContext) -> None:
    # SHORT and TWIN are "k9": masking them would turn every "k9" of a log into "***".
    assert ax.secrets.redact("k9k9 k9") == Redacted("k9k9 k9", [])


def test_redacts_what_python_itself_prints(ax: MockAxiomContext) -> None:
    import urllib.parse

    value = SECRETS["QUOTED"]
    text = f"{value!r} {value.encode()!r} {urllib.parse.quote(value)} {urllib.parse.quote_plus(value)}"
    assert ax.secrets.redact(text) == Redacted("'***' b'***' *** ***", ["QUOTED"])
    assert ax.secrets.redact(repr({"q": value})) == Redacted("{'q': '***'}", ["QUOTED"])


def test_the_longest_of_overlapping_values_wins() -> None:
    ax = MockAxiomContext(secrets_map={"A": "abc", "B": "abcdef", "C": "cdefgh"})
    assert ax.secrets.redact("xabcdefghx") == Redacted("x***ghx", ["B"])


def test_empty_values_are_never_matched() -> None:
    ax = MockAxiomContext(secrets_map={"EMPTY": ""})
    assert ax.secrets.redact("any text") == Redacted("any text", [])


def test_redact_of_nothing_secret(ax: MockAxiomContext) -> None:
    assert ax.secrets.redact("") == Redacted("", [])
    assert ax.secrets.redact("plain") == Redacted("plain", [])


def test_a_map_key_that_is_not_a_name_is_refused_without_showing_it() -> None:
    with pytest.raises(ValueError) as refused:
        MockAxiomContext(secrets_map={"sk-live-123": "x"})
    assert "sk-live-123" not in str(refused.value)


def test_repr_shows_no_value(ax: MockAxiomContext) -> None:
    assert "test-sig" not in repr(ax) + repr(ax.secrets)


def test_the_mock_is_safe_across_threads(ax: MockAxiomContext) -> None:
    seen = set()

    def work() -> None:
        for _ in range(200):
            seen.add(ax.secrets.get("SHORT"))
            seen.add(ax.secrets.redact("sk-0123456789").text)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == {("k9", True), "***"}


# --- the encodings, against published and reference cases ---------------------------------


def test_base64_forms_match_rfc4648() -> None:
    assert forms("foob")[1:5] == ["Zm9vYg==", "Zm9vYg", "Zm9vYg==", "Zm9vYg"]
    assert forms("\u00fb\u00ff")[3] == base64.urlsafe_b64encode("ûÿ".encode()).decode()


def test_json_escaping_matches_the_sidecar() -> None:
    assert json_escaped('a"b\\c\nd\x01', False) == 'a\\"b\\\\c\\nd\\u0001'
    assert json_escaped("grüß 🌍", False) == "grüß 🌍"
    assert json_escaped("grüß 🌍", True) == "gr\\u00fc\\u00df \\ud83c\\udf0d"
    assert json_escaped("\b\f\r\t\x7f", True) == "\\b\\f\\r\\t\x7f"


def test_percent_encoding_matches_the_sidecar() -> None:
    assert percent_encoded(b"a-b.c_d~e") == "a-b.c_d~e"
    assert percent_encoded("p@ss w/ü".encode()) == "p%40ss%20w%2F%C3%BC"


# --- the conformance scenarios, run in process against the mock ----------------------------


def _conformance() -> Path:
    return workspace_root() / "integration" / "conformance"


def _scenario_cases() -> list:
    path = _conformance() / "scenarios.json"
    scenarios = json.loads(path.read_text(encoding="utf-8"))["scenarios"]
    return [pytest.param(s, id=s["name"]) for s in scenarios if not s["live_only"]]


def _effective_values() -> Dict[str, str]:
    spec = json.loads((_conformance() / "secrets.json").read_text(encoding="utf-8"))
    values: Dict[str, str] = {}
    for name, entry in [*spec["secrets"].items(), *spec["overrides"].items()]:
        values[name] = entry if isinstance(entry, str) else entry["value"]
    return values


@pytest.mark.parametrize("scenario", _scenario_cases())
def test_conformance_scenario_on_the_mock(scenario: dict) -> None:
    import driver

    ax = MockAxiomContext(secrets_map=_effective_values())
    for step in scenario["steps"]:
        assert driver.answer(ax, step["request"]) == step["expect"]
