"""A node for the sandbox test (integration/tests/sandbox.rs): reads one secret through the
Python shim and prints one JSON line, with a fingerprint of the value (never the value), the
shim's error code when the sidecar cannot be asked, and the namespaces it runs in."""

import hashlib
import json
import os
import sys

from ax_secrets import AxiomContext, SecretsUnavailableError

out = {
    "shim": "python",
    "uid": os.getuid(),
    "gid": os.getgid(),
    "groups": sorted(os.getgroups()),
    "ns": {kind: os.readlink(f"/proc/self/ns/{kind}") for kind in ("mnt", "pid", "net", "ipc")},
    "sees": sorted(os.listdir("/")),
}
try:
    value, found = AxiomContext().secrets.get(sys.argv[1])
    out["found"] = found
    out["fingerprint"] = hashlib.sha256(value.encode()).hexdigest()[:12]
except SecretsUnavailableError as err:
    out["error"] = "unavailable"
    out["code"] = err.code
print(json.dumps(out))
