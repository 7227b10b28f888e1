#!/usr/bin/env python3
"""The cross-language conformance suite: every shim, every scenario, one expected result.

Starts a real ax-sidecar on the conformance bundle (secrets.json, sealed at run time with a fresh
key) with a client token (and a second one that allows only another uid), then runs each shim's
conformance program (DRIVER.md) through every scenario of scenarios.json: live against the
sidecar, or against the scripted fake sidecar of fake_sidecar.py for the races, then against the
shim's mock loaded with the same effective values. Prints one line per shim, mode and scenario, the differences where a
scenario fails, and a closing `conformance: N passed, M failed` line; exits 1 on any failure.

    python3 integration/conformance/run.py                  # every shim in shims.json
    python3 integration/conformance/run.py --shim python    # one shim (repeatable)
    python3 integration/conformance/run.py --shim python,go,ts   # or several, comma-separated
    python3 integration/conformance/run.py --mode live      # live only, or mock only

The sidecar binary is $AX_SIDECAR_BIN, or target/debug/ax-sidecar built by `cargo build`.
Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fake_sidecar import FakeSidecar, SCRIPTS

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
# How long one answer, a sidecar start and a program's exit may take before the run gives up.
ANSWER_TIMEOUT = 60.0
START_TIMEOUT = 30.0
EXIT_TIMEOUT = 30.0


def main() -> int:
    args = parse_args()
    shims = json.loads((HERE / "shims.json").read_text())
    chosen = [name for given in args.shim or [] for name in given.split(",") if name]
    chosen = chosen or list(shims)
    unknown = [name for name in chosen if name not in shims]
    if unknown:
        print(f"unknown shim(s) {unknown}; shims.json has {list(shims)}", file=sys.stderr)
        return 2
    scenarios = load_scenarios(HERE / "scenarios.json")
    modes = ["live", "mock"] if args.mode == "both" else [args.mode]
    binary = sidecar_binary()

    with tempfile.TemporaryDirectory(prefix="ax-conformance-") as scratch:
        work = Path(scratch)
        os.chmod(work, 0o700)
        sidecar = Sidecar.prepare(binary, work)
        # The same bundle behind a socket only another uid may use, for `refused_uid`.
        refusing = sidecar.variant("refusing", ["--allow-uid", str(other_uid())])
        mock_map = work / "mock.json"
        mock_map.write_text(json.dumps(effective_values(HERE / "secrets.json")))
        sidecar.start()
        refusing.start()
        results = Results()
        try:
            for name in chosen:
                shim = shims[name]
                if not args.no_build:
                    build(name, shim)
                for mode in modes:
                    for scenario in scenarios:
                        if mode == "mock" and scenario["live_only"]:
                            continue
                        label = f"{name} {mode} {scenario['name']}"
                        sidecars = {"main": sidecar, "refusing": refusing}
                        problems = run_scenario(shim, scenario, mode, sidecars, mock_map, work)
                        results.record(label, problems)
        finally:
            refusing.stop()
            sidecar.stop()
    print(f"\nconformance: {results.passed} passed, {results.failed} failed")
    return 1 if results.failed else 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--shim", action="append", help="shims of shims.json, comma-separated (repeatable)"
    )
    parser.add_argument("--mode", choices=["live", "mock", "both"], default="both")
    parser.add_argument(
        "--no-build", action="store_true", help="skip each shim's build step (already built)"
    )
    return parser.parse_args()


def load_scenarios(path: Path) -> list[dict[str, Any]]:
    """The scenarios, refusing unknown keys so a feature the runner does not know cannot pass."""
    doc = json.loads(path.read_text())
    expect_keys(doc, {"schema", "description", "scenarios"}, "scenarios.json")
    if doc["schema"] != "ax-secrets/conformance/v1":
        raise SystemExit(f"scenarios.json: unknown schema {doc['schema']!r}")
    for scenario in doc["scenarios"]:
        where = f"scenario {scenario.get('name')!r}"
        keys = {"name", "description", "env", "live_only", "steps"}
        if scenario.get("env") == "fake":
            keys.add("fake")
        expect_keys(scenario, keys, where)
        if scenario["env"] not in ENVIRONMENTS:
            raise SystemExit(f"{where}: unknown env {scenario['env']!r}")
        if scenario["env"] in LIVE_ENVIRONMENTS and not scenario["live_only"]:
            raise SystemExit(f"{where}: env {scenario['env']!r} needs live_only")
        if "fake" in scenario and scenario["fake"] not in SCRIPTS:
            raise SystemExit(f"{where}: unknown fake script {scenario['fake']!r}")
        for number, step in enumerate(scenario["steps"], start=1):
            if "runner" not in step:
                expect_keys(step, {"request", "expect"}, where)
            elif step["runner"] == "restart_sidecar":
                expect_keys(step, {"runner"}, where)
            elif step["runner"] == "expect_received":
                expect_keys(step, {"runner", "connections", "requests"}, where)
                if scenario["env"] != "fake" or number != len(scenario["steps"]):
                    raise SystemExit(f"{where}: expect_received is the last step of a fake")
            else:
                raise SystemExit(f"{where}: unknown runner action {step['runner']!r}")
    return doc["scenarios"]


def expect_keys(obj: dict[str, Any], keys: set[str], where: str) -> None:
    if set(obj) != keys:
        raise SystemExit(f"{where}: keys {sorted(obj)} but expected exactly {sorted(keys)}")


def effective_values(path: Path) -> dict[str, str]:
    """Name → effective value (overrides replace tenant values), for the mocks."""
    doc = json.loads(path.read_text())

    def value(v: Any) -> str:
        return v if isinstance(v, str) else v["value"]

    merged = {name: value(v) for name, v in doc["secrets"].items()}
    merged.update({name: value(v) for name, v in doc.get("overrides", {}).items()})
    return merged


def sidecar_binary() -> Path:
    if os.environ.get("AX_SIDECAR_BIN"):
        return Path(os.environ["AX_SIDECAR_BIN"])
    subprocess.run(["cargo", "build", "-q", "-p", "ax-sidecar"], cwd=ROOT, check=True)
    return ROOT / "target" / "debug" / "ax-sidecar"


def build(name: str, shim: dict[str, Any]) -> None:
    for command in shim.get("build", []):
        print(f"building {name}: {' '.join(command)}", flush=True)
        subprocess.run(command, cwd=ROOT / shim["dir"], check=True)


# ------------------------------------------------------------------------------------------
# The sidecar under test.


@dataclass
class Sidecar:
    """One ax-sidecar serving the conformance bundle on a fixed socket path, restartable."""

    binary: Path
    work: Path
    socket: Path
    token: str
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    name: str = "sidecar"
    extra_args: list[str] = field(default_factory=list)

    @classmethod
    def prepare(cls, binary: Path, work: Path) -> Sidecar:
        subprocess.run(
            [
                str(binary), "seal",
                "--input", str(HERE / "secrets.json"),
                "--key-file", str(work / "key"),
                "--output", str(work / "bundle"),
                "--new-key",
            ],
            check=True,
            stderr=subprocess.DEVNULL,
        )
        token = secrets.token_hex(16)
        token_file = work / "token"
        token_file.write_text(token)
        os.chmod(token_file, 0o600)
        (work / "run").mkdir(mode=0o700)
        return cls(binary=binary, work=work, socket=work / "run" / "sidecar.sock", token=token)

    def variant(self, name: str, extra_args: list[str]) -> Sidecar:
        """Another sidecar on the same bundle and token, on its own socket, with more flags."""
        socket = self.work / "run" / f"{name}.sock"
        return Sidecar(self.binary, self.work, socket, self.token, None, 0, name, extra_args)

    def start(self) -> None:
        read_end, write_end = os.pipe()
        self.starts += 1
        log_path = self.work / f"{self.name}-{self.starts}.log"
        log = open(log_path, "wb")
        self.process = subprocess.Popen(
            [
                str(self.binary), "serve",
                "--socket", str(self.socket),
                "--bundle-file", str(self.work / "bundle"),
                "--key-file", str(self.work / "key"),
                "--client-token-file", str(self.work / "token"),
                "--audit-file", str(self.work / "audit.jsonl"),
                "--ready-fd", str(write_end),
                *self.extra_args,
            ],
            pass_fds=(write_end,),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
        os.close(write_end)
        log.close()
        ready = read_ready(read_end)
        os.close(read_end)
        if ready != b"READY\n":
            self.process.kill()
            self.process.wait()
            tail = log_path.read_text(errors="replace")
            raise SystemExit(f"the sidecar did not become ready (read {ready!r}):\n{tail}")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise SystemExit("the sidecar did not stop within 30 s of SIGTERM")
        self.process = None
        if code != 0:
            raise SystemExit(f"the sidecar exited {code} after SIGTERM (see its log)")

    def restart(self) -> None:
        self.stop()
        self.start()


def read_ready(fd: int) -> bytes:
    """Reads the ready descriptor until a line or EOF, within START_TIMEOUT."""
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


# ------------------------------------------------------------------------------------------
# Scenarios.

#: `fake`: the runner's scripted fake sidecar (fake_sidecar.py, the scenario's `fake` script);
#: `refused_uid`: a real sidecar that allows only another uid; `long_path`: a socket path of
#: more than 107 bytes. The last three exist only live.
LIVE_ENVIRONMENTS = {"fake", "refused_uid", "long_path"}
ENVIRONMENTS = {"good", "wrong_token", "no_token", "no_sidecar"} | LIVE_ENVIRONMENTS
#: The longest socket path a `sockaddr_un` holds (108 bytes with the closing NUL).
MAX_SOCKET_PATH = 107


def other_uid() -> int:
    """A uid that is not ours, for the sidecar that refuses us."""
    return 4242 if os.getuid() != 4242 else 4243


def scenario_env(env: str, sidecars: dict[str, Sidecar], work: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("AX_")}
    sidecar = sidecars["main"]
    if env == "no_sidecar":
        return base | {"AX_SECRETS_SOCKET": str(work / "run" / "nobody-here.sock")}
    if env == "fake":
        return base | {"AX_SECRETS_SOCKET": str(work / "run" / "fake.sock")}
    if env == "long_path":
        short = str(work / "run") + "/"
        long = short + "x" * max(0, MAX_SOCKET_PATH + 1 - len(short.encode()) - 5) + ".sock"
        return base | {"AX_SECRETS_SOCKET": long, "AX_SECRETS_TOKEN": sidecar.token}
    if env == "refused_uid":
        sidecar = sidecars["refusing"]
    base["AX_SECRETS_SOCKET"] = str(sidecar.socket)
    if env in ("good", "refused_uid"):
        base["AX_SECRETS_TOKEN"] = sidecar.token
    elif env == "wrong_token":
        base["AX_SECRETS_TOKEN"] = "not-" + sidecar.token
    return base


def run_scenario(
    shim: dict[str, Any],
    scenario: dict[str, Any],
    mode: str,
    sidecars: dict[str, Sidecar],
    mock_map: Path,
    work: Path,
) -> list[str]:
    """Runs one scenario through a fresh conformance program; returns what went wrong."""
    env = scenario_env(scenario["env"], sidecars, work)
    if mode == "mock":
        env["AX_CONFORMANCE_MOCK"] = str(mock_map)
    fake = None
    if "fake" in scenario:
        fake = FakeSidecar(work / "run" / "fake.sock", scenario["fake"])
    try:
        return run_steps(shim, scenario, env, sidecars["main"], fake)
    finally:
        if fake is not None:
            fake.close()


def run_steps(
    shim: dict[str, Any],
    scenario: dict[str, Any],
    env: dict[str, str],
    sidecar: Sidecar,
    fake: FakeSidecar | None,
) -> list[str]:
    program = Program(shim, env)
    problems: list[str] = []
    received: dict[str, Any] | None = None
    try:
        for number, step in enumerate(scenario["steps"], start=1):
            if step.get("runner") == "restart_sidecar":
                sidecar.restart()
                continue
            if step.get("runner") == "expect_received":
                received = step  # checked once the program has exited (the last step)
                continue
            answer = program.ask(step["request"])
            if answer != step["expect"]:
                problems.append(
                    f"step {number}: {json.dumps(step['request'], ensure_ascii=False)}\n"
                    f"      expected {json.dumps(step['expect'], ensure_ascii=False)}\n"
                    f"      got      {json.dumps(answer, ensure_ascii=False)}"
                )
    except ProgramFailed as failure:
        problems.append(str(failure))
    problems.extend(program.finish())
    if fake is not None:
        problems.extend(check_received(fake, received))
    return problems


def check_received(fake: FakeSidecar, step: dict[str, Any] | None) -> list[str]:
    """Compares what the fake received with the scenario's `expect_received` step.

    Run once the program has exited, so every connection is closed and the counts are final.
    """
    problems = list(fake.failures)
    connections, requests = fake.counts(EXIT_TIMEOUT)
    if step is not None and (connections, requests) != (step["connections"], step["requests"]):
        problems.append(
            f"the fake expected {step['connections']} connection(s) and {step['requests']} "
            f"request(s) besides Hello; it got {connections} and {requests}"
        )
    return problems


class ProgramFailed(Exception):
    """The conformance program broke the driver protocol (no answer, bad JSON, crashed)."""


class Program:
    """A shim's conformance program, fed one request line at a time."""

    def __init__(self, shim: dict[str, Any], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            shim["run"],
            cwd=ROOT / shim["dir"],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.stdout = b""

    def ask(self, request: dict[str, Any]) -> Any:
        assert self.process.stdin is not None
        try:
            line = json.dumps(request, ensure_ascii=False) + "\n"
            self.process.stdin.write(line.encode())
            self.process.stdin.flush()
        except BrokenPipeError:
            raise ProgramFailed("the program exited before reading the request") from None
        answer = self.read_line()
        try:
            return json.loads(answer)
        except json.JSONDecodeError:
            raise ProgramFailed(f"the program answered with a line that is not JSON: {answer!r}")

    def read_line(self) -> bytes:
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        deadline = time.monotonic() + ANSWER_TIMEOUT
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while b"\n" not in self.stdout:
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    raise ProgramFailed(f"no answer within {ANSWER_TIMEOUT:.0f} s")
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise ProgramFailed("the program closed its output without answering")
                self.stdout += chunk
        line, _, self.stdout = self.stdout.partition(b"\n")
        return line

    def finish(self) -> list[str]:
        """Closes the input and checks the program exits 0 with nothing more on stdout."""
        problems = []
        try:
            # Empty input: communicate() closes stdin itself (and copes with a program that
            # already exited), which is the program's signal to finish.
            rest, stderr = self.process.communicate(input=b"", timeout=EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            rest, stderr = self.process.communicate()
            problems.append("the program did not exit at the end of its input")
        if self.process.returncode != 0:
            problems.append(f"the program exited {self.process.returncode}")
        if (self.stdout + rest).strip():
            problems.append(f"unexpected output after the last answer: {(self.stdout + rest)!r}")
        if problems and stderr.strip():
            problems.append("its stderr:\n" + stderr.decode(errors="replace").rstrip())
        return problems


@dataclass
class Results:
    passed: int = 0
    failed: int = 0
    failures: list[str] = field(default_factory=list)

    def record(self, label: str, problems: list[str]) -> None:
        if problems:
            self.failed += 1
            print(f"FAIL {label}")
            for problem in problems:
                print("    " + problem.replace("\n", "\n    "))
        else:
            self.passed += 1
            print(f"ok   {label}")
        sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
