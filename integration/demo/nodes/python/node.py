"""The demo node in Python: runs the operations it is given, one JSON line per result.

Operations (the contract every demo node follows, see ../README.md):
  get NAME             {"op": "get", "name": NAME, "found": bool, "fingerprint": hex|null}
  get-or NAME DEFAULT  like get; when NAME is missing, uses DEFAULT and reports it
  print NAME           prints "NAME is <value>" (the platform log shows ***)
  wait                 reads one line from stdin (the demo changes something meanwhile)
"""

import hashlib
import json
import sys

from ax_secrets import AxiomContext


def fingerprint(value: str) -> str:
    """Twelve hex digits of SHA-256: shows which value was read without printing it."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:12]


def emit(record: dict) -> None:
    print(json.dumps(record), flush=True)


def main(args: list) -> int:
    ax = AxiomContext()
    i = 0
    while i < len(args):
        op = args[i]
        if op == "get":
            name = args[i + 1]
            value, ok = ax.secrets.get(name)
            emit({"op": "get", "name": name, "found": ok,
                  "fingerprint": fingerprint(value) if ok else None})
            i += 2
        elif op == "get-or":
            name, default = args[i + 1], args[i + 2]
            value, ok = ax.secrets.get(name)
            emit({"op": "get-or", "name": name, "found": ok,
                  "fingerprint": fingerprint(value) if ok else None,
                  "used": None if ok else default})
            i += 3
        elif op == "print":
            name = args[i + 1]
            value, _ = ax.secrets.get(name)
            print(f"{name} is {value}", flush=True)
            i += 2
        elif op == "wait":
            sys.stdin.readline()
            i += 1
        else:
            emit({"op": op, "error": "unknown operation"})
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
