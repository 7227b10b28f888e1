"""The client against the races of PROTOCOL §7.3/§7.4: a sidecar that refuses, closes or shuts
down at the moment a request is written.

Each test fixes the order of events itself (the fake closes before the client writes, or only
after it has read what the client wrote), so none depends on timing luck; the fake records every
request it read, so the tests count how often a request arrived.
"""

from __future__ import annotations

import os
import select

import pytest

from ax_secrets import AxiomContext, SecretsUnavailableError
from ax_secrets.connection import Connection
from ax_secrets.messages import GetRequest, SecretResponse
from fake_sidecar import FakeSidecar, Peer, serve_gets

GET_A = GetRequest("A")


def connect_once_closed(monkeypatch: pytest.MonkeyPatch, sidecar: FakeSidecar) -> None:
    """Makes the client's connect return only once the fake has closed that connection, so
    that the client's first write (the Hello) meets a closed peer."""
    real = Connection.connect.__func__  # type: ignore[attr-defined]

    def connect(cls: type, path: str, timeout: object) -> Connection:
        conn = real(cls, path, timeout)
        sidecar.wait_closed(sidecar.connections)
        return conn

    monkeypatch.setattr(Connection, "connect", classmethod(connect))


def answer_first_then(peer: Peer) -> None:
    """The handshake and the first Get answered: the connection is now a reused one."""
    peer.handshake()
    first = peer.read()
    assert first is not None
    peer.answer(first.id, SecretResponse("first"))


def wait_readable(peer: Peer) -> None:
    """Blocks until the client's next request has arrived, without reading it."""
    readable, _, _ = select.select([peer.sock], [], [], 10.0)
    assert readable, "the client sent nothing within 10 s"


# Resend once, on a reused connection only.


def test_a_request_on_a_reused_connection_closed_after_it_was_read_is_resent_once(fake) -> None:
    def script(i: int, peer: Peer) -> None:
        if i == 0:
            answer_first_then(peer)
            assert peer.read() is not None  # and close without answering
        else:
            peer.handshake()
            serve_gets(peer, "resent")

    sidecar = fake(script)
    with AxiomContext(socket=sidecar.path) as ax:
        assert ax.secrets.get("A") == ("first", True)
        assert ax.secrets.get("A") == ("resent", True)
    assert sidecar.bodies() == [GET_A, GET_A, GET_A]  # the second arrived twice
    assert sidecar.connections == 2


def test_a_request_on_a_reused_connection_reset_with_it_unread_is_resent_once(fake) -> None:
    def script(i: int, peer: Peer) -> None:
        if i == 0:
            answer_first_then(peer)
            wait_readable(peer)  # closing with it unread: the client's read gets ECONNRESET
        else:
            peer.handshake()
            serve_gets(peer, "resent")

    sidecar = fake(script)
    with AxiomContext(socket=sidecar.path) as ax:
        assert ax.secrets.get("A") == ("first", True)
        assert ax.secrets.get("A") == ("resent", True)
    assert sidecar.bodies() == [GET_A, GET_A]  # the unread one never counted
    assert sidecar.connections == 2


def test_a_request_is_resent_only_once(fake) -> None:
    def script(i: int, peer: Peer) -> None:
        if i == 0:
            answer_first_then(peer)
        else:
            peer.handshake()
        assert peer.read() is not None  # and close without answering, every time

    sidecar = fake(script)
    with AxiomContext(socket=sidecar.path) as ax:
        assert ax.secrets.get("A") == ("first", True)
        with pytest.raises(SecretsUnavailableError, match="also when resent") as failed:
            ax.secrets.get("A")
    assert failed.value.code is None
    assert sidecar.bodies() == [GET_A, GET_A, GET_A]
    assert sidecar.connections == 2  # never a third


def test_an_answer_cut_after_its_first_byte_is_not_resent(fake) -> None:
    def script(i: int, peer: Peer) -> None:
        answer_first_then(peer)
        assert peer.read() is not None
        peer.sock.sendall(b"\x00")  # the first byte of a length prefix, then close

    sidecar = fake(script)
    with AxiomContext(socket=sidecar.path) as ax:
        assert ax.secrets.get("A") == ("first", True)
        with pytest.raises(SecretsUnavailableError, match="it was not resent") as failed:
            ax.secrets.get("A")
    assert "inside a frame" in str(failed.value)
    assert sidecar.bodies() == [GET_A, GET_A]
    assert sidecar.connections == 1


def test_an_idle_shutting_down_found_at_the_write_is_resent_on_a_fresh_connection(
    fake, monkeypatch
) -> None:
    def script(i: int, peer: Peer) -> None:
        if i == 0:
            answer_first_then(peer)
            peer.error(0, "ShuttingDown")  # what a sidecar sends an idle connection, then closes
        else:
            peer.handshake()
            serve_gets(peer, "new sidecar")

    sidecar = fake(script)
    with AxiomContext(socket=sidecar.path) as ax:
        assert ax.secrets.get("A") == ("first", True)
        sidecar.wait_closed(1)  # the write of the next request fails: the error is waiting
        assert ax.secrets.get("A") == ("new sidecar", True)
    assert sidecar.bodies() == [GET_A, GET_A]
    assert sidecar.connections == 2


def test_an_id_0_shutting_down_read_instead_of_an_answer_is_resent_on_a_reused_connection(
    fake,
) -> None:
    def script(i: int, peer: Peer) -> None:
        if i == 0:
            answer_first_then(peer)
            assert peer.read() is not None
            peer.error(0, "ShuttingDown")
        else:
            peer.handshake()
            serve_gets(peer, "new sidecar")

    sidecar = fake(script)
    with AxiomContext(socket=sidecar.path) as ax:
        assert ax.secrets.get("A") == ("first", True)
        assert ax.secrets.get("A") == ("new sidecar", True)
    assert sidecar.bodies() == [GET_A, GET_A, GET_A]
    assert sidecar.connections == 2


def test_an_id_0_shutting_down_on_a_fresh_connection_is_not_resent(fake) -> None:
    def script(i: int, peer: Peer) -> None:
        peer.handshake()
        assert peer.read() is not None
        peer.error(0, "ShuttingDown")

    sidecar = fake(script)
    with AxiomContext(socket=sidecar.path) as ax:
        with pytest.raises(SecretsUnavailableError) as failed:
            ax.secrets.get("A")
    assert failed.value.code == "ShuttingDown"
    assert sidecar.bodies() == [GET_A]
    assert sidecar.connections == 1


# Connection-level errors waiting behind a failed Hello write.


def test_busy_waiting_when_the_hello_write_fails_is_reported_as_busy(fake, monkeypatch) -> None:
    sidecar = fake(lambda i, peer: peer.error(0, "Busy"))  # before reading anything
    connect_once_closed(monkeypatch, sidecar)
    with AxiomContext(socket=sidecar.path) as ax:
        with pytest.raises(SecretsUnavailableError, match="connection cap") as failed:
            ax.secrets.get("A")
    assert failed.value.code == "Busy"
    assert "closed the connection" not in str(failed.value)
    assert sidecar.requests == []  # the Hello never reached it
    assert sidecar.connections == 1  # Busy is never retried


@pytest.mark.parametrize("hello_write_fails", [True, False])
def test_a_refused_uid_names_the_uid_and_not_the_token(
    fake, monkeypatch, hello_write_fails: bool
) -> None:
    sidecar = fake(lambda i, peer: peer.error(0, "Unauthorized"))
    if hello_write_fails:
        connect_once_closed(monkeypatch, sidecar)
    with AxiomContext(socket=sidecar.path, token="tok") as ax:
        with pytest.raises(SecretsUnavailableError) as failed:
            ax.secrets.get("A")
    message = str(failed.value)
    assert failed.value.code == "Unauthorized"
    assert f"uid {os.getuid()}" in message
    assert "token" not in message
    assert sidecar.connections == 1


def test_a_refused_token_names_the_token_and_not_the_uid(fake) -> None:
    def script(i: int, peer: Peer) -> None:
        hello = peer.read()
        assert hello is not None and hello.id != 0
        peer.error(hello.id, "Unauthorized")

    sidecar = fake(script)
    with AxiomContext(socket=sidecar.path, token="tok-s3cr3t") as ax:
        with pytest.raises(SecretsUnavailableError) as failed:
            ax.secrets.get("A")
    message = str(failed.value)
    assert failed.value.code == "Unauthorized"
    assert "token" in message
    assert "uid" not in message
    assert "tok-s3cr3t" not in message


# The socket path.


def test_a_socket_path_over_107_bytes_is_refused_before_connecting() -> None:
    path = "/tmp/" + "é" * 52  # 5 + 104 bytes, though only 57 characters
    with pytest.raises(SecretsUnavailableError) as failed:
        AxiomContext(socket=path).secrets.get("A")
    assert str(failed.value) == (
        f"ax-secrets: socket path {path} is 109 bytes; a Unix socket path holds at most 107"
    )
    assert failed.value.code is None


def test_a_socket_path_of_107_bytes_is_tried() -> None:
    path = "/nonexistent/" + "x" * 94
    assert len(path) == 107
    with pytest.raises(SecretsUnavailableError, match="cannot be reached"):
        AxiomContext(socket=path).secrets.get("A")
