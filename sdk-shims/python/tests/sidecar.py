"""Starts a real ax-sidecar built from this repository, for the live tests.

The binary is ``$AX_SIDECAR_BIN`` when set, else ``cargo build -q -p ax-sidecar`` is run at the
workspace root (found from this file) and ``target/debug/ax-sidecar`` is used. A sidecar is
ready when it writes ``READY\\n`` on the pipe given as ``--ready-fd``; nothing here sleeps.
"""

from __future__ import annotations

import json
import os
import secrets as random
import selectors
import signal
import subprocess
import time
from functools import lru_cache
from pathlib import Path
from typing import Dict, Optional

START_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0


def workspace_root() -> Path:
    for parent in Path(__file__).resolve().parents:
        cargo = parent / "Cargo.toml"
        if cargo.is_file() and "[workspace]" in cargo.read_text():
            return parent
    raise RuntimeError("no Cargo workspace above the tests")


@lru_cache(maxsize=None)
def sidecar_binary() -> Path:
    given = os.environ.get("AX_SIDECAR_BIN")
    if given:
        return Path(given)
    root = workspace_root()
    subprocess.run(["cargo", "build", "-q", "-p", "ax-sidecar"], cwd=root, check=True)
    return root / "target" / "debug" / "ax-sidecar"


class Sidecar:
    """A sealed bundle in a private directory, and the sidecar serving it (when started)."""

    def __init__(
        self,
        work: Path,
        secrets: Dict[str, object],
        overrides: Optional[Dict[str, object]] = None,
        token: Optional[str] = None,
    ) -> None:
        self.work = work
        work.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(work, 0o700)
        self.binary = sidecar_binary()
        self.socket = str(work / "run" / "s.sock")
        self.token = token
        self.process: Optional[subprocess.Popen[bytes]] = None
        self.starts = 0
        spec = work / "secrets.json"
        spec.write_text(json.dumps({"secrets": secrets, "overrides": overrides or {}}))
        subprocess.run(
            [
                str(self.binary), "seal",
                "--input", str(spec),
                "--key-file", str(work / "key"),
                "--output", str(work / "bundle"),
                "--new-key",
            ],
            check=True,
            capture_output=True,
        )
        if token is not None:
            fd = os.open(work / "token", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(token)

    @staticmethod
    def new_token() -> str:
        return random.token_hex(16)

    def start(self) -> None:
        self.starts += 1
        log_path = self.work / f"sidecar-{self.starts}.log"
        args = [
            str(self.binary), "serve",
            "--socket", self.socket,
            "--bundle-file", str(self.work / "bundle"),
            "--key-file", str(self.work / "key"),
            "--audit-file", str(self.work / "audit.jsonl"),
        ]
        if self.token is not None:
            args += ["--client-token-file", str(self.work / "token")]
        read_end, write_end = os.pipe()
        args += ["--ready-fd", str(write_end)]
        with open(log_path, "wb") as log:
            self.process = subprocess.Popen(
                args, pass_fds=(write_end,), stdin=subprocess.DEVNULL, stdout=log, stderr=log
            )
        os.close(write_end)
        try:
            ready = _read_ready(read_end)
        finally:
            os.close(read_end)
        if ready != b"READY\n":
            self.process.kill()
            self.process.wait()
            self.process = None
            raise RuntimeError(
                f"the sidecar did not become ready (read {ready!r}):\n"
                + log_path.read_text(errors="replace")
            )

    def stop(self) -> int:
        process = self.process
        if process is None:
            return 0
        self.process = None
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise

    def restart(self) -> None:
        self.stop()
        self.start()


def _read_ready(fd: int) -> bytes:
    data = b""
    deadline = time.monotonic() + START_TIMEOUT
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while not data.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(left):
                break
            chunk = os.read(fd, 64)
            if not chunk:
                break
            data += chunk
    return data
