"""The client's protocol rules against a scripted fake sidecar (PROTOCOL §7)."""

from __future__ import annotations

import pytest

from ax_secrets import AxiomContext, RequestTooLargeError, SecretsUnavailableError
from ax_secrets.messages import GetRequest, PongResponse, SecretResponse
from fake_sidecar import Peer, serve_gets


def test_handshake_sends_version_client_and_token(fake) -> None:
    seen = []

    def script(i: int, peer: Peer) -> None:
        seen.append(peer.handshake())
        serve_gets(peer)

    sidecar = fake(script)
    with AxiomContext(socket=sidecar.path, token="tok-1") as ax:
        assert ax.secrets.get("A") == ("v", True)
        assert ax.secrets.get("B") == ("v", True)
    hello = seen[0].body
    assert (seen[0].id, hello.version, hello.client, hello.token) == (1, 2, "python/0.1.0", "tok-1")
    assert sidecar.connections == 1  # one connection, one handshake, reused


def test_an_empty_token_is_sent_as_none(fake, monkeypatch) -> None:
    seen = []

    def script(i: int, peer: Peer) -> None:
        seen.append(peer.handshake())
        serve_gets(peer)

    sidecar = fake(script)
    monkeypatch.setenv("AX_SECRETS_SOCKET", sidecar.path)
    monkeypatch.setenv("AX_SECRETS_TOKEN", "")
    with AxiomContext() as ax:
        ax.secrets.get("A")
    assert seen[0].body.token is None


def test_an_id_mismatch_drops_the_connection_and_the_next_call_reconnects(fake) -> None:
    def script(i: int, peer: Peer) -> None:
        peer.handshake()
        request = peer.read()
        assert request is not None
        if i == 0:
            peer.answer(request.id + 1, SecretResponse("wrong"))
            assert peer.read() is None  # the client hung up
        else:
            peer.answer(request.id, SecretResponse("right"))

    sidecar = fake(script)
    with AxiomContext(socket=sidecar.path) as ax:
        with pytest.raises(SecretsUnavailableError, match="answered request"):
            ax.secrets.get("A")
        assert ax.secrets.get("A") == ("right", True)
    assert sidecar.connections == 2


def test_shutting_down_is_retried_once_on_a_fresh_connection(fake) -> None:
    def script(i: int, peer: Peer) -> None:
        peer.handshake()
        request = peer.read()
        assert request is not None
        if i == 0:
            peer.error(request.id, "ShuttingDown")
        else:
            peer.answer(request.id, SecretResponse("served"))

    sidecar = fake(script)
    with AxiomContext(socket=sidecar.path) as ax:
        assert ax.secrets.get("A") == ("served", True)
    assert sidecar.connections == 2


def test_busy_is_a_typed_error_and_never_retried(fake) -> None:
    def script(i: int, peer: Peer) -> None:
        peer.read()
        peer.error(0, "Busy")

    sidecar = fake(script)
    with AxiomContext(socket=sidecar.path) as ax:
        with pytest.raises(SecretsUnavailableError, match="connection cap") as failed:
            ax.secrets.get("A")
    assert failed.value.code == "Busy"
    assert sidecar.path in str(failed.value)
    assert sidecar.connections == 1


def test_a_request_on_a_fresh_connection_is_not_resent_when_it_breaks(fake) -> None:
    def script(i: int, peer: Peer) -> None:
        peer.handshake()
        peer.read()  # and hang up without answering

    sidecar = fake(script)
    with AxiomContext(socket=sidecar.path) as ax:
        with pytest.raises(SecretsUnavailableError, match="it was not resent") as failed:
            ax.secrets.get("A")
    assert failed.value.code is None
    assert sidecar.bodies() == [GetRequest("A")]
    assert sidecar.connections == 1


def test_a_connection_closed_while_idle_is_replaced_before_sending(fake) -> None:
    def script(i: int, peer: Peer) -> None:
        peer.handshake()
        request = peer.read()
        assert request is not None
        peer.answer(request.id, SecretResponse(f"conn{i}"))
        # then close: the client finds it closed before its next request

    sidecar = fake(script)
    with AxiomContext(socket=sidecar.path) as ax:
        assert ax.secrets.get("A") == ("conn0", True)
        # Closed for sure before the next request is written: this test is about a connection
        # found closed, not about one that closes while the request is on its way.
        sidecar.wait_closed(1)
        assert ax.secrets.get("A") == ("conn1", True)
    assert sidecar.connections == 2
    # Whichever way the closed connection is found (the write fails, or its read meets the end
    # of the stream), the request reached the fake once: conn0 never read its second request.
    assert sidecar.bodies() == [GetRequest("A")] * 2


def test_an_unexpected_answer_kind_is_a_typed_error(fake) -> None:
    def script(i: int, peer: Peer) -> None:
        peer.handshake()
        request = peer.read()
        assert request is not None
        peer.answer(request.id, PongResponse())

    sidecar = fake(script)
    with AxiomContext(socket=sidecar.path) as ax:
        with pytest.raises(SecretsUnavailableError, match="answered Get with PongResponse"):
            ax.secrets.get("A")


def test_a_malformed_response_is_a_typed_error(fake) -> None:
    def script(i: int, peer: Peer) -> None:
        peer.handshake()
        request = peer.read()
        assert request is not None
        peer.sock.sendall(bytes.fromhex("0000000401010200"))  # option tag 02

    sidecar = fake(script)
    with AxiomContext(socket=sidecar.path) as ax:
        with pytest.raises(SecretsUnavailableError, match="InvalidOptionTag"):
            ax.secrets.get("A")


def test_another_protocol_version_is_refused(fake) -> None:
    from ax_secrets.messages import HelloResponse

    def script(i: int, peer: Peer) -> None:
        hello = peer.read()
        assert hello is not None
        peer.answer(hello.id, HelloResponse(3, "future", "exec"))

    sidecar = fake(script)
    with AxiomContext(socket=sidecar.path) as ax:
        with pytest.raises(SecretsUnavailableError, match="version 3, not 2"):
            ax.secrets.get("A")


def test_internal_errors_keep_the_connection(fake) -> None:
    def script(i: int, peer: Peer) -> None:
        peer.handshake()
        first = peer.read()
        assert first is not None
        peer.error(first.id, "Internal")
        serve_gets(peer, "after")

    sidecar = fake(script)
    with AxiomContext(socket=sidecar.path) as ax:
        with pytest.raises(SecretsUnavailableError) as failed:
            ax.secrets.get("A")
        assert failed.value.code == "Internal"
        assert ax.secrets.get("A") == ("after", True)
    assert sidecar.connections == 1


def test_a_render_over_the_request_limit_is_refused_before_connecting() -> None:
    ax = AxiomContext(socket="/nonexistent/ax.sock")
    template = "x" * (1024 * 1024)
    with pytest.raises(RequestTooLargeError, match="1048576") as refused:
        ax.secrets.render(template)
    assert "xxxx" not in str(refused.value)
    with pytest.raises(RequestTooLargeError):
        ax.secrets.redact("y" * (1024 * 1024 - 4))


def test_a_request_of_exactly_the_limit_is_sent(fake) -> None:
    from ax_secrets.messages import RedactedResponse

    def script(i: int, peer: Peer) -> None:
        peer.handshake()
        request = peer.read()
        assert request is not None
        peer.answer(request.id, RedactedResponse("ok", []))

    sidecar = fake(script)
    with AxiomContext(socket=sidecar.path) as ax:
        # id 1 (1 byte) + tag (1) + length varint (3) + text = 1 MiB exactly
        assert ax.secrets.redact("r" * (1024 * 1024 - 5)).text == "ok"


def test_no_socket_configured_is_a_typed_error(monkeypatch) -> None:
    monkeypatch.delenv("AX_SECRETS_SOCKET", raising=False)
    with pytest.raises(SecretsUnavailableError, match="AX_SECRETS_SOCKET is not set"):
        AxiomContext().secrets.get("A")


def test_an_invalid_name_never_connects() -> None:
    ax = AxiomContext(socket="/nonexistent/ax.sock")
    assert ax.secrets.get("not a name") == ("", False)
    assert ax.secrets.exists("") is False


# The same rules on a connection already in use (the second call on it, not the first).


def test_shutting_down_on_a_reused_connection_is_retried_once_on_a_fresh_one(fake) -> None:
    def script(i: int, peer: Peer) -> None:
        peer.handshake()
        first = peer.read()
        assert first is not None
        if i == 0:
            peer.answer(first.id, SecretResponse("before"))
            second = peer.read()
            assert second is not None
            peer.error(second.id, "ShuttingDown")
        else:
            peer.answer(first.id, SecretResponse("after"))

    sidecar = fake(script)
    with AxiomContext(socket=sidecar.path) as ax:
        assert ax.secrets.get("A") == ("before", True)
        assert ax.secrets.get("A") == ("after", True)
    assert sidecar.connections == 2


def test_shutting_down_on_a_reused_connection_then_busy_is_a_typed_error(fake) -> None:
    def script(i: int, peer: Peer) -> None:
        if i == 0:
            peer.handshake()
            first = peer.read()
            assert first is not None
            peer.answer(first.id, SecretResponse("v"))
            second = peer.read()
            assert second is not None
            peer.error(second.id, "ShuttingDown")
        else:
            peer.read()
            peer.error(0, "Busy")

    sidecar = fake(script)
    with AxiomContext(socket=sidecar.path) as ax:
        assert ax.secrets.get("A") == ("v", True)
        with pytest.raises(SecretsUnavailableError) as failed:
            ax.secrets.get("A")
    assert failed.value.code == "Busy"
    assert sidecar.connections == 2  # one fresh connection, never a third


def test_an_unexpected_answer_on_a_reused_connection_drops_it(fake) -> None:
    def script(i: int, peer: Peer) -> None:
        peer.handshake()
        first = peer.read()
        assert first is not None
        if i == 0:
            peer.answer(first.id, SecretResponse("v"))
            second = peer.read()
            assert second is not None
            peer.answer(second.id, PongResponse())
        else:
            peer.answer(first.id, SecretResponse("fresh"))

    sidecar = fake(script)
    with AxiomContext(socket=sidecar.path) as ax:
        assert ax.secrets.get("A") == ("v", True)
        with pytest.raises(SecretsUnavailableError, match="answered Get with PongResponse"):
            ax.secrets.get("A")
        assert ax.secrets.get("A") == ("fresh", True)
    assert sidecar.connections == 2


def test_a_write_that_fails_otherwise_than_closed_is_a_typed_error_not_resent(fake) -> None:
    class FailingSocket:
        """Fails every write as a broken device would (not a closed peer: no resend)."""

        def __init__(self, real):
            self.real = real

        def send(self, data):
            raise OSError(5, "Input/output error")

        def __getattr__(self, name):
            return getattr(self.real, name)

    sidecar = fake(lambda i, peer: (peer.handshake(), serve_gets(peer)))
    with AxiomContext(socket=sidecar.path) as ax:
        assert ax.secrets.get("A") == ("v", True)
        conn = ax.secrets._client._conn
        conn._sock = FailingSocket(conn._sock)
        with pytest.raises(SecretsUnavailableError, match="Input/output error"):
            ax.secrets.get("A")
        assert ax.secrets.get("A") == ("v", True)  # the next call connects afresh
    assert sidecar.connections == 2
    assert sidecar.bodies() == [GetRequest("A")] * 2  # the failed write never reached it
