#!/usr/bin/env bash
# Runs every test of the Java shim with Maven Surefire: the shared vectors, the codec, the
# mock (and the conformance scenarios on it), the client's protocol rules against a scripted
# fake sidecar, and live tests against a real ax-sidecar ($AX_SIDECAR_BIN, or built with
# `cargo build -q -p ax-sidecar` at the workspace root by the tests).
# Needs a JDK 17+ and Maven; on a Debian machine without them, installs both. The shim itself
# has no run-time dependencies; JUnit 5 (test scope) comes from Maven Central. install-test.sh
# first installs it as a user would (mvn install, a Maven consumer, javac -cp with the jar).
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v mvn >/dev/null 2>&1 || ! command -v javac >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            openjdk-17-jdk-headless maven >/dev/null
    else
        echo "test.sh: needs a JDK 17+ (javac) and Maven (mvn)" >&2
        exit 1
    fi
fi

./install-test.sh

# Not -q: under -q Maven hides Surefire's closing `Tests run: N, Failures: 0, ...` summary.
mvn -B -ntp test "$@"
