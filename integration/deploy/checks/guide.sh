# Sourced by integration/deploy/test.sh: every ```sh {test} block of DEPLOYMENT.md, run as
# written.
# shellcheck shell=bash
step "the guide's sh {test} blocks, as written"
python3 - "$deploy/DEPLOYMENT.md" >"$scratch/guide.sh" <<'EOF'
import sys

lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
blocks, block = [], None
for line in lines:
    if block is None and line.strip() == "```sh {test}":
        block = []
    elif block is not None and line.strip() == "```":
        blocks.append(block)
        block = None
    elif block is not None:
        block.append(line)
print("set -euo pipefail")
for number, block in enumerate(blocks, 1):
    print(f"echo '--- block {number}' >&2")
    print("\n".join(block))
print(f"echo '--- {len(blocks)} blocks ran' >&2")
EOF
blocks=$(grep -c '^```sh {test}$' "$deploy/DEPLOYMENT.md")
rc=0
STATE=$STATE NODE_DIR=$NODE_DIR PATH="$bin:$PATH" \
  timeout 120 bash "$scratch/guide.sh" >"$scratch/guide.out" 2>"$scratch/guide.err" || rc=$?
expect_guide() { # what the guide says the blocks print
  if grep -qF -- "$1" "$scratch/guide.out"; then pass "guide: printed '$1'"; else fail "guide: no '$1' in its output"; fi
}
if [ "$rc" = 0 ] && grep -q -- "--- $blocks blocks ran" "$scratch/guide.err"; then
  pass "guide: all $blocks sh {test} blocks ran and exited 0"
else
  fail "guide: the blocks exited $rc (of $blocks blocks); stdout and stderr:"
  cat "$scratch/guide.out" "$scratch/guide.err"
fi
expect_guide "uid $NODE_UID gid $NODE_UID: GREETING found, value ***"
expect_guide "READY"
expect_guide "probe: exit 69"
if grep -qF -- "$GREETING_VALUE" "$scratch/guide.out" "$scratch/guide.err"; then
  fail "guide: the secret's value was printed unmasked"
elif grep -qF -- "GREETING found, value ***" "$scratch/guide.out"; then
  pass "guide: the node printed the value, and it appears nowhere in the output (masked)"
else
  fail "guide: the node never printed the value, so masking was not shown"
fi
