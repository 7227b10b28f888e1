#!/usr/bin/env bash
# Installs the shim the two ways its README gives, each into a fresh venv in a temporary
# directory, and uses it there from a program outside this folder: a wheel built with the
# standard front-end (`python -m build --wheel`, pinned in requirements-build.txt), and
# `pip install <this folder>`. Asserts that neither leaves anything in this folder (no build/,
# no *.egg-info): `git status --porcelain --ignored` of it is the same before and after.
# Needs python3 with venv and network access to PyPI for the pinned build tools.
set -euo pipefail
cd "$(dirname "$0")"
shim="$PWD"

fail() { echo "install-test.sh: FAILED: $*" >&2; exit 1; }

if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
    if command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    else
        fail "python3 has no venv/ensurepip module (Debian: apt-get install python3-venv)"
    fi
fi

tree_state() { git status --porcelain --ignored --untracked-files=all -- . ; }
before="$(tree_state)"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# A program that can only find the installed copy: it runs in $work, and checks where the
# package came from before using its mock.
cat >"$work/consumer.py" <<'PY'
import sys
from pathlib import Path

import ax_secrets
from ax_secrets import AxiomContext, MockAxiomContext, SecretsUnavailableError

where = Path(ax_secrets.__file__).resolve()
assert Path(sys.prefix).resolve() in where.parents, f"imported from {where}, not the venv"
assert (where.parent / "py.typed").is_file(), "py.typed is missing from the installed package"

ax = MockAxiomContext(secrets_map={"GREETER_SIGNATURE": "test-sig"})
assert ax.secrets.get("GREETER_SIGNATURE") == ("test-sig", True)
assert ax.secrets.render("sig={{secrets.GREETER_SIGNATURE}}").text == "sig=test-sig"
assert ax.secrets.redact("was test-sig").text == "was ***"

# The real client: no sidecar behind this socket, so the typed error, not another exception.
real = AxiomContext(socket=str(Path.cwd() / "no-sidecar.sock"))
try:
    real.secrets.get("GREETER_SIGNATURE")
except SecretsUnavailableError:
    pass
else:
    raise AssertionError("a missing sidecar did not raise SecretsUnavailableError")
print("consumer: ok", ax_secrets.__version__)
PY

# 1. The wheel, built with the standard front-end and the pinned backend (no isolation, so
#    the versions are those of requirements-build.txt), into $work/dist, not ./dist.
python3 -m venv "$work/build-venv"
"$work/build-venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    -r requirements-build.txt
"$work/build-venv/bin/python" -m build --wheel --no-isolation --outdir "$work/dist" . \
    >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; fail "python -m build --wheel"; }
wheels=("$work"/dist/ax_secrets-*.whl)
[[ ${#wheels[@]} -eq 1 && -f "${wheels[0]}" ]] || fail "expected one wheel in dist/, got: ${wheels[*]}"

# The two venvs that use it get no pip of their own (faster); the build venv's pip installs into
# each (`pip --python`).
pip_into() { "$work/build-venv/bin/python" -m pip --python "$1/bin/python" install --quiet --disable-pip-version-check "${@:2}"; }
python3 -m venv --without-pip "$work/wheel-venv"
pip_into "$work/wheel-venv" --no-index "${wheels[0]}"
(cd "$work" && "$work/wheel-venv/bin/python" consumer.py) || fail "the wheel's consumer"

# 2. `pip install <path>`, as a user would type it (pip's own isolated build).
python3 -m venv --without-pip "$work/path-venv"
pip_into "$work/path-venv" "$shim"
(cd "$work" && "$work/path-venv/bin/python" consumer.py) || fail "pip install <path>'s consumer"

after="$(tree_state)"
if [[ "$before" != "$after" ]]; then
    diff <(echo "$before") <(echo "$after") >&2 || true
    fail "installing changed $shim (above: git status before/after)"
fi
echo "install-test.sh: wheel $(basename "${wheels[0]}") and pip install <path> both installed and used; $shim unchanged"
