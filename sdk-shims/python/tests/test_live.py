"""The client against a real ax-sidecar built from this repository."""

from __future__ import annotations

import threading
from typing import Dict, List

import pytest

from ax_secrets import AxiomContext, Redacted, Rendered, SecretInfo, SecretsUnavailableError
from conftest import SidecarFactory
from sidecar import Sidecar

BIG = "0123456789abcdef" * (1024 * 1024 // 16)  # exactly 1 MiB
SECRETS: Dict[str, object] = {
    "OPENAI_API_KEY": "sk-live-4f2b9c",
    "EMPTY": "",
    "UNICODE": "pässwörd-密码-🔑",
    "DB_URL": {"value": "postgres://u:p@db/x", "version": 3, "updated_at": 1795000000},
    "WEBHOOK": "whk_tenant",
    "SHORT": "k9",
}
OVERRIDES: Dict[str, object] = {
    "WEBHOOK": {"value": "whk_override", "version": 9, "updated_at": 1796000000},
    "ONLY_OVERRIDE": "only",
}


@pytest.fixture
def sidecar(start_sidecar: SidecarFactory) -> Sidecar:
    return start_sidecar(SECRETS, OVERRIDES, token=Sidecar.new_token())


@pytest.fixture
def ax(sidecar: Sidecar) -> AxiomContext:
    context = AxiomContext(socket=sidecar.socket, token=sidecar.token)
    yield context
    context.close()


def test_found(ax: AxiomContext) -> None:
    assert ax.secrets.get("OPENAI_API_KEY") == ("sk-live-4f2b9c", True)


def test_missing_is_not_found(ax: AxiomContext) -> None:
    assert ax.secrets.get("NOPE") == ("", False)
    assert ax.secrets.exists("NOPE") is False


def test_an_empty_value_is_found(ax: AxiomContext) -> None:
    assert ax.secrets.get("EMPTY") == ("", True)
    assert ax.secrets.exists("EMPTY") is True


def test_unicode_value(ax: AxiomContext) -> None:
    assert ax.secrets.get("UNICODE") == ("pässwörd-密码-🔑", True)


def test_a_value_of_one_mebibyte(start_sidecar: SidecarFactory) -> None:
    # A sidecar of its own: redacting with a 1 MiB value is costly for a debug-built sidecar.
    sidecar = start_sidecar({"BIG": BIG})
    with AxiomContext(socket=sidecar.socket) as ax:
        assert ax.secrets.get("BIG") == (BIG, True)


def test_an_override_wins(ax: AxiomContext) -> None:
    assert ax.secrets.get("WEBHOOK") == ("whk_override", True)
    assert ax.secrets.get("ONLY_OVERRIDE") == ("only", True)


def test_invalid_and_unicode_names_are_not_found(ax: AxiomContext) -> None:
    for name in ["", "1A", "has space", "ключ", "sk-live-4f2b9c", "A" * 129]:
        assert ax.secrets.get(name) == ("", False)


def test_list(ax: AxiomContext) -> None:
    listed = ax.secrets.list()
    assert [i.name for i in listed] == sorted(
        ["OPENAI_API_KEY", "EMPTY", "UNICODE", "DB_URL", "WEBHOOK", "SHORT", "ONLY_OVERRIDE"]
    )
    by_name = {i.name: i for i in listed}
    assert by_name["DB_URL"] == SecretInfo("DB_URL", 3, 1795000000)
    # An override shows its own metadata and nothing that marks it as an override.
    assert by_name["WEBHOOK"] == SecretInfo("WEBHOOK", 9, 1796000000)


def test_render(ax: AxiomContext) -> None:
    rendered = ax.secrets.render("k={{ secrets.OPENAI_API_KEY }} m={{secrets.M}} {{secrets.M}}")
    assert rendered == Rendered("k=sk-live-4f2b9c m={{secrets.M}} {{secrets.M}}", ["M"])


def test_redact(ax: AxiomContext) -> None:
    redacted = ax.secrets.redact("key=sk-live-4f2b9c b64=c2stbGl2ZS00ZjJiOWM= k9k9 whk_tenant")
    # SHORT ("k9") is under the 4-byte minimum: never masked.
    assert redacted == Redacted("key=*** b64=*** k9k9 whk_tenant", ["OPENAI_API_KEY"])


def test_the_mock_agrees_with_the_sidecar(ax: AxiomContext) -> None:
    from ax_secrets import MockAxiomContext

    values = {name: ax.secrets.get(name)[0] for name in [i.name for i in ax.secrets.list()]}
    mock = MockAxiomContext(secrets_map=values)  # type: ignore[arg-type]
    text = "pässwörd-密码-🔑 p%C3%A4ssw%C3%B6rd only k9 {{secrets.SHORT}} whk_override"
    assert mock.secrets.redact(text) == ax.secrets.redact(text)
    template = "{{{secrets.SHORT}}} {{ secrets.X }} {{secrets.UNICODE}}"
    assert mock.secrets.render(template) == ax.secrets.render(template)


def test_a_wrong_token_is_a_typed_error_naming_the_socket(sidecar: Sidecar) -> None:
    ax = AxiomContext(socket=sidecar.socket, token="not-" + (sidecar.token or ""))
    with pytest.raises(SecretsUnavailableError) as failed:
        ax.secrets.get("OPENAI_API_KEY")
    expected = f"ax-secrets: the sidecar at {sidecar.socket} refused the client token"
    assert str(failed.value) == expected
    assert failed.value.socket_path == sidecar.socket
    assert failed.value.code == "Unauthorized"


def test_a_missing_token_is_a_typed_error(sidecar: Sidecar, monkeypatch) -> None:
    monkeypatch.delenv("AX_SECRETS_TOKEN", raising=False)
    with pytest.raises(SecretsUnavailableError, match="refused the client token"):
        AxiomContext(socket=sidecar.socket).secrets.exists("OPENAI_API_KEY")


def test_the_environment_configures_the_context(sidecar: Sidecar, monkeypatch) -> None:
    monkeypatch.setenv("AX_SECRETS_SOCKET", sidecar.socket)
    monkeypatch.setenv("AX_SECRETS_TOKEN", sidecar.token or "")
    with AxiomContext() as ax:
        assert ax.secrets.get("SHORT") == ("k9", True)


def test_no_sidecar_is_a_typed_error_naming_the_path(tmp_path) -> None:
    path = str(tmp_path / "nobody.sock")
    with pytest.raises(SecretsUnavailableError) as failed:
        AxiomContext(socket=path).secrets.get("OPENAI_API_KEY")
    assert path in str(failed.value)
    assert failed.value.socket_path == path


def test_a_restarted_sidecar_is_reconnected_to(sidecar: Sidecar, ax: AxiomContext) -> None:
    assert ax.secrets.get("OPENAI_API_KEY") == ("sk-live-4f2b9c", True)
    sidecar.restart()
    assert ax.secrets.get("SHORT") == ("k9", True)
    assert ax.secrets.get("OPENAI_API_KEY") == ("sk-live-4f2b9c", True)


def test_a_stopped_sidecar_is_a_typed_error(sidecar: Sidecar, ax: AxiomContext) -> None:
    assert ax.secrets.exists("SHORT")
    assert sidecar.stop() == 0
    with pytest.raises(SecretsUnavailableError, match=sidecar.socket):
        ax.secrets.get("SHORT")


def test_concurrent_callers_all_get_the_right_value(ax: AxiomContext) -> None:
    names = ["OPENAI_API_KEY", "SHORT", "UNICODE", "NOPE"]
    expected = {n: ax.secrets.get(n) for n in names}
    wrong: List[object] = []
    start = threading.Barrier(16)

    def caller(index: int) -> None:
        name = names[index % len(names)]
        start.wait()
        for _ in range(50):
            got = ax.secrets.get(name)
            if got != expected[name]:
                wrong.append((name, got))

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []


def test_no_value_in_errors_or_repr(sidecar: Sidecar, ax: AxiomContext) -> None:
    assert ax.secrets.get("OPENAI_API_KEY")[0] == "sk-live-4f2b9c"
    shown = repr(ax) + repr(ax.secrets) + repr(ax._client)
    assert sidecar.socket in shown
    assert "sk-live" not in shown and (sidecar.token or "") not in shown
    rendered = ax.secrets.render("{{secrets.OPENAI_API_KEY}}")
    assert "sk-live" not in repr(rendered)
    sidecar.stop()
    with pytest.raises(SecretsUnavailableError) as failed:
        ax.secrets.render("secret sk-live-4f2b9c {{secrets.OPENAI_API_KEY}}")
    assert "sk-live" not in str(failed.value) and "sk-live" not in repr(failed.value)


def test_sealing_refuses_a_name_that_breaks_the_rule(start_sidecar: SidecarFactory) -> None:
    """The same rule on both sides: what the shim refuses locally, the bundle cannot hold."""
    import subprocess

    with pytest.raises(subprocess.CalledProcessError):
        start_sidecar({"UNI_ключ": "x"})
