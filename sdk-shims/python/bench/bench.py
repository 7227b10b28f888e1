#!/usr/bin/env python3
"""What one ``get`` costs through the shim, next to a raw round trip of the same bytes.

Usage: ``python3 bench/bench.py ECHO_SOCKET NAME CALLS`` with ``AX_SECRETS_SOCKET`` (and
``AX_SECRETS_TOKEN``) set for a real sidecar. ECHO_SOCKET answers a Hello frame with a Hello
response and any other frame with the sidecar's response bytes for Get(NAME). After 1000
warm-up calls of each, blocks of 1000 raw and 1000 shim calls alternate until CALLS of each;
every call is timed with ``time.perf_counter_ns``. Prints one JSON line.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Callable, List

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ax_secrets import AxiomContext  # noqa: E402
from ax_secrets.limits import CLIENT_NAME, PROTOCOL_VERSION, TOKEN_ENV  # noqa: E402
from ax_secrets.messages import HelloRequest, Request  # noqa: E402
from ax_secrets.wire import encode_get_frame, encode_request, frame  # noqa: E402

BLOCK = 1000
WARM_UP = 1000


def read_exactly(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise SystemExit("the echo server closed the connection")
        data += chunk
    return data


def raw_round_trip(sock: socket.socket, request: bytes) -> Callable[[], None]:
    def once() -> None:
        sock.sendall(request)
        length = int.from_bytes(read_exactly(sock, 4), "big")
        read_exactly(sock, length)

    return once


def timed(call: Callable[[], None], count: int, into: List[int]) -> None:
    clock = time.perf_counter_ns
    for _ in range(count):
        start = clock()
        call()
        into.append(clock() - start)


def percentile(samples: List[int], fraction: float) -> int:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main(argv: List[str]) -> int:
    if len(argv) != 4:
        print("usage: bench.py ECHO_SOCKET NAME CALLS", file=sys.stderr)
        return 64
    echo_path, name, calls = argv[1], argv[2], int(argv[3])

    raw = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    raw.connect(echo_path)
    token = os.environ.get(TOKEN_ENV) or None
    hello = HelloRequest(PROTOCOL_VERSION, CLIENT_NAME, token)
    raw.sendall(frame(encode_request(Request(0, hello))))
    read_exactly(raw, int.from_bytes(read_exactly(raw, 4), "big"))
    raw_call = raw_round_trip(raw, encode_get_frame(1, name))

    ax = AxiomContext()
    get = ax.secrets.get
    if not get(name)[1]:
        print(f"the sidecar has no secret named {name}", file=sys.stderr)
        return 1

    def shim_call() -> None:
        get(name)

    timed(raw_call, WARM_UP, [])
    timed(shim_call, WARM_UP, [])
    raw_ns: List[int] = []
    shim_ns: List[int] = []
    while len(raw_ns) < calls:
        block = min(BLOCK, calls - len(raw_ns))
        timed(raw_call, block, raw_ns)
        timed(shim_call, block, shim_ns)
    raw.close()
    ax.close()
    print(
        json.dumps(
            {
                "lang": "python",
                "calls": calls,
                "raw_p50_ns": percentile(raw_ns, 0.50),
                "raw_p99_ns": percentile(raw_ns, 0.99),
                "shim_p50_ns": percentile(shim_ns, 0.50),
                "shim_p99_ns": percentile(shim_ns, 0.99),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
