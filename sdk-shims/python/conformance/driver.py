#!/usr/bin/env python3
"""The conformance program of the Python shim (integration/conformance/DRIVER.md).

Reads one JSON request per line on stdin and writes one JSON answer per line on stdout, using
one context for the whole run: the real client, or the mock built from the JSON map named by
``$AX_CONFORMANCE_MOCK``. Run from sdk-shims/python as ``python3 conformance/driver.py``.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path
from typing import Any, Dict, List, Union

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ax_secrets import (  # noqa: E402  (the path is set up first)
    AxiomContext,
    MockAxiomContext,
    SecretsUnavailableError,
)

Context = Union[AxiomContext, MockAxiomContext]
Answer = Dict[str, Any]


def make_context() -> Context:
    mock = os.environ.get("AX_CONFORMANCE_MOCK")
    if mock:
        with open(mock, encoding="utf-8") as f:
            return MockAxiomContext(secrets_map=json.load(f))
    return AxiomContext()


def get_answer(ax: Context, name: str) -> Answer:
    value, found = ax.secrets.get(name)
    return {"found": True, "value": value} if found else {"found": False}


def concurrent_get(ax: Context, name: str, callers: int, calls: int) -> Answer:
    answers: List[List[Answer]] = [[] for _ in range(callers)]
    failures: List[BaseException] = []
    start = threading.Barrier(callers)

    def caller(mine: List[Answer]) -> None:
        try:
            start.wait()
            for _ in range(calls):
                mine.append(get_answer(ax, name))
        except BaseException as e:  # re-raised in the main thread
            failures.append(e)
            start.abort()

    threads = [threading.Thread(target=caller, args=(a,)) for a in answers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        # A caller that failed broke the barrier for the others: report the first real failure.
        real = [f for f in failures if not isinstance(f, threading.BrokenBarrierError)]
        raise (real or failures)[0]
    distinct: List[Answer] = []
    for mine in answers:
        for one in mine:
            if one not in distinct:
                distinct.append(one)
    return {"calls": sum(len(mine) for mine in answers), "results": distinct}


def answer(ax: Context, request: Dict[str, Any]) -> Answer:
    op = request.get("op")
    try:
        if op == "get":
            return get_answer(ax, request["name"])
        if op == "exists":
            return {"exists": ax.secrets.exists(request["name"])}
        if op == "list":
            return {"names": [info.name for info in ax.secrets.list()]}
        if op == "list_info":
            return {
                "secrets": [
                    {
                        "name": info.name,
                        "version": info.version,
                        "updated_at": info.updated_at,
                    }
                    for info in ax.secrets.list()
                ]
            }
        if op == "render":
            rendered = ax.secrets.render(request["template"])
            return {"text": rendered.text, "missing": rendered.missing}
        if op == "redact":
            redacted = ax.secrets.redact(request["text"])
            return {"text": redacted.text, "found": redacted.found}
        if op == "concurrent_get":
            return concurrent_get(ax, request["name"], request["callers"], request["calls"])
        return {"error": "unknown_op"}
    except SecretsUnavailableError as e:
        socket_path = os.environ.get("AX_SECRETS_SOCKET")
        mentions = bool(socket_path) and socket_path in str(e)
        return {
            "error": "unavailable",
            "mentions_socket": mentions,
            "code": e.code,
            "mentions_uid": "uid" in str(e),
        }
    except Exception as e:  # anything else fails the scenario, with what happened
        return {"error": "unexpected", "detail": f"{type(e).__name__}: {e}"}


def main() -> int:
    ax = make_context()
    out = sys.stdout.buffer
    for line in sys.stdin.buffer:
        if not line.strip():
            continue
        reply = answer(ax, json.loads(line.decode("utf-8")))
        out.write(json.dumps(reply, ensure_ascii=False).encode("utf-8") + b"\n")
        out.flush()
    ax.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
