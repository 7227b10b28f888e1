#!/usr/bin/env python3
"""What the sidecar executes, counted by callgrind rather than timed.

    sidecar/benches/instructions.py [--secrets N] [--gets N] BINARY [BASELINE_BINARY]

Wall-clock figures on a shared 2-vCPU VM move with whatever else runs there; instruction
counts do not (the same binary, inputs and environment give the same total). For each binary
this seals N secrets with the binary's own `seal`, then runs `serve` under
`valgrind --tool=callgrind` twice: once to READY and straight to SIGTERM, once with G `Get`s on
one connection in between. It prints the instructions of start-up and shutdown (the first run)
and of one `Get` ((second - first) / G), every thread of the process counted. With a second
binary (e.g. one built from an older commit in a git worktree) both are measured in the same run
and the ratios printed. What callgrind cannot see is the kernel: the syscalls per `Get` are
counted separately with `strace -c` when strace is installed.

Needs valgrind (Debian: `apt-get install -y valgrind`); it runs the binary as it is, so run it as
root or give `--allow-unlocked-memory` with `--extra`.
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        if not n:
            out.append(low)
            return bytes(out)
        out.append(low | 0x80)


def text(s: str) -> bytes:
    raw = s.encode()
    return varint(len(raw)) + raw


def frame(body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + body


def read_exact(sock: socket.socket, n: int) -> bytes:
    out = b""
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            raise EOFError("the sidecar closed the connection")
        out += chunk
    return out


def read_frame(sock: socket.socket) -> bytes:
    (length,) = struct.unpack(">I", read_exact(sock, 4))
    return read_exact(sock, length)


def handshake(path: str) -> socket.socket:
    """Hello with this protocol's version, or with the one an older sidecar names."""
    version = 2
    for _ in range(2):
        sock = socket.socket(socket.AF_UNIX)
        sock.connect(path)
        sock.sendall(frame(varint(1) + varint(0) + varint(version) + text("bench") + b"\x00"))
        body = read_frame(sock)
        if body[1] == 0:  # Hello
            return sock
        sock.close()
        spoken = re.search(rb"speaks (\d+)", body)
        if not spoken:
            raise RuntimeError("the sidecar refused the handshake")
        version = int(spoken.group(1))
    raise RuntimeError("no protocol version agreed")


def wait_for_ready(ready: int, proc: subprocess.Popen) -> None:
    """Reads the ready pipe to READY: start-up is over only then (the socket exists earlier)."""
    line = b""
    while not line.endswith(b"\n"):
        chunk = os.read(ready, 64)
        if not chunk:
            proc.wait(timeout=300)
            raise RuntimeError(f"the sidecar exited with {proc.returncode} before READY")
        line += chunk
    os.close(ready)


def serve(binary: str, work: str, gets: int, wrapper: list, extra: list) -> str:
    """Runs serve under `wrapper`, does `gets` Gets, stops it; returns the wrapper's output."""
    sock_dir = tempfile.mkdtemp(dir=work)
    os.chmod(sock_dir, 0o700)
    path = os.path.join(sock_dir, "s")
    out = os.path.join(work, f"out.{os.getpid()}.{time.monotonic_ns()}")
    args = [binary, "serve", "--socket", path, "--bundle-file", os.path.join(work, "bundle"),
            "--key-file", os.path.join(work, "key"), "--audit-file", os.path.join(work, "audit")]
    ready, ready_write = os.pipe()
    args += ["--ready-fd", str(ready_write)]
    proc = subprocess.Popen([a.replace("{out}", out) for a in wrapper] + args + extra,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            pass_fds=(ready_write,))
    os.close(ready_write)
    wait_for_ready(ready, proc)
    if gets:
        sock = handshake(path)
        request = frame(varint(2) + varint(1) + text("NAME_000500"))
        for _ in range(gets):
            sock.sendall(request)
            read_frame(sock)
        sock.close()
    # Signal the sidecar itself, not the tool wrapping it.
    children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True)
    pids = [int(p) for p in children.stdout.split()] or [proc.pid]
    for pid in pids:
        os.kill(pid, signal.SIGTERM)
    proc.wait(timeout=300)
    return out


def instructions(out: str) -> int:
    with open(out) as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    raise RuntimeError(f"no totals in {out}")


def syscalls(out: str) -> dict:
    counts = {}
    with open(out) as f:
        for line in f:
            fields = line.split()
            if len(fields) >= 5 and fields[3].isdigit():
                counts[fields[-1]] = int(fields[3])
    return counts


def measure(binary: str, secrets: int, gets: int, extra: list) -> dict:
    work = tempfile.mkdtemp(prefix="ax-instructions-")
    try:
        with open(os.path.join(work, "secrets.json"), "w") as f:
            names = {f"NAME_{i:06}": f"value-{i:06}-abcdefghijklmnop" for i in range(secrets)}
            json.dump({"secrets": names}, f)
        subprocess.run([binary, "seal", "--input", os.path.join(work, "secrets.json"),
                        "--key-file", os.path.join(work, "key"), "--new-key",
                        "--output", os.path.join(work, "bundle")],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        grind = ["valgrind", "--tool=callgrind", "--callgrind-out-file={out}"]
        idle = instructions(serve(binary, work, 0, grind, extra))
        busy = instructions(serve(binary, work, gets, grind, extra))
        result = {"start": idle, "get": (busy - idle) / gets}
        if shutil.which("strace"):
            trace = ["strace", "-f", "-c", "-o", "{out}"]
            quiet = syscalls(serve(binary, work, 0, trace, extra))
            loud = syscalls(serve(binary, work, gets, trace, extra))
            per_get = {name: (loud[name] - quiet.get(name, 0)) / gets for name in loud}
            result["syscalls"] = {k: round(v, 2) for k, v in per_get.items() if v >= 0.05}
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("binary")
    parser.add_argument("baseline", nargs="?")
    parser.add_argument("--secrets", type=int, default=1000)
    parser.add_argument("--gets", type=int, default=5000)
    parser.add_argument("--extra", action="append", default=[],
                        help="one more serve flag, e.g. --extra=--allow-unlocked-memory")
    args = parser.parse_args()
    if not shutil.which("valgrind"):
        print("valgrind is missing: apt-get install -y valgrind", file=sys.stderr)
        return 1
    rows = [("sidecar", measure(args.binary, args.secrets, args.gets, args.extra))]
    if args.baseline:
        rows.append(("baseline", measure(args.baseline, args.secrets, args.gets, args.extra)))
    print(f"{args.secrets} secrets, {args.gets} gets on one connection (callgrind, all threads)")
    for label, r in rows:
        print(f"  {label:8}  start-up and shutdown {r['start']:>13,} instructions"
              f"   one Get {r['get']:>9,.0f} instructions   syscalls per Get {r.get('syscalls')}")
    if args.baseline:
        (_, new), (_, old) = rows
        print(f"  ratio     start-up {new['start'] / old['start']:.2f}x"
              f"   Get {new['get'] / old['get']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
