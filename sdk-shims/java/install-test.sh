#!/usr/bin/env bash
# Installs the shim the two ways the README's "Install" section gives, and uses it from a
# consumer outside this folder:
#  1. `mvn install` into a temporary local repository, then a fresh Maven project that depends
#     on `dev.ax:ax-secrets:0.1.0` compiles against it, and its program runs;
#  2. the jar alone with plain `javac -cp` and `java -cp`.
# The user's ~/.m2/repository only lends the build plugins and JUnit: it is warmed with them
# first (a `help` goal loads its plugin and installs nothing), copied into the temporary
# repository, and both Maven builds then run offline (-o) there. Nothing is installed into
# ~/.m2. Needs a JDK 17+ and Maven (test.sh installs both on Debian when missing).
set -euo pipefail
cd "$(dirname "$0")"
shim="$PWD"

fail() { echo "install-test.sh: FAILED: $*" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
user_repo="${HOME}/.m2/repository"
repo="$work/repo"
coords=dev/ax/ax-secrets/0.1.0

# The plugins of the lifecycle up to `install` at the versions the pom pins, and the project's
# dependencies (test-compile resolves the test scope too, even when told to skip the tests).
# The repository is named explicitly: Maven's default is under Java's user.home, not $HOME.
mvn -B -ntp -q -Dstyle.color=never -Dmaven.repo.local="$user_repo" -Dmaven.test.skip=true \
    test-compile surefire:help jar:help install:help >/dev/null \
    || fail "fetching the build plugins into $user_repo"
if [[ -d "$user_repo" ]]; then cp -a "$user_repo" "$repo"; else mkdir -p "$repo"; fi
[[ ! -e "$user_repo/$coords" ]] || rm -rf "$repo/$coords" # only this build's install counts

# 1a. mvn install into the temporary repository (the tests run in test.sh; not here).
mvn -B -ntp -q -Dstyle.color=never -o -Dmaven.repo.local="$repo" -Dmaven.test.skip=true install \
    || fail "mvn install into $repo"
jar="$repo/$coords/ax-secrets-0.1.0.jar"
[[ -f "$jar" && -f "$repo/$coords/ax-secrets-0.1.0.pom" ]] || fail "mvn install put no jar and pom at $repo/$coords"
[[ ! -e "$user_repo/$coords" ]] || fail "mvn install wrote into $user_repo"

consumer_source() {
    mkdir -p "$1"
    cat >"$1/Consumer.java" <<'JAVA'
import dev.ax.secrets.AxContext;
import dev.ax.secrets.AxiomContext;
import dev.ax.secrets.MockAxiomContext;
import dev.ax.secrets.SecretsUnavailableException;
import java.nio.file.Files;
import java.util.Map;
import java.util.Optional;

public final class Consumer {
    public static void main(String[] args) throws Exception {
        AxContext ax = MockAxiomContext.of(Map.of("GREETER_SIGNATURE", "test-sig"));
        check(ax.secrets().get("GREETER_SIGNATURE").equals(Optional.of("test-sig")), "mock get");
        check(ax.secrets().render("sig={{secrets.GREETER_SIGNATURE}}").text().equals("sig=test-sig"), "mock render");
        check(ax.secrets().redact("was test-sig").text().equals("was ***"), "mock redact");

        // The real client, with no sidecar behind its socket: the typed exception.
        String socket = Files.createTempDirectory("axjava-").resolve("no-sidecar.sock").toString();
        try (AxiomContext real = new AxiomContext(socket, null)) {
            real.secrets().get("GREETER_SIGNATURE");
            check(false, "a missing sidecar threw nothing");
        } catch (SecretsUnavailableException expected) {
            // as documented
        }
        System.out.println("consumer: ok");
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            System.err.println("consumer: FAILED: " + what);
            System.exit(1);
        }
    }
}
JAVA
}

# 1b. A fresh Maven project depending on the coordinates, built offline from that repository.
app="$work/app"
consumer_source "$app/src/main/java"
cat >"$app/pom.xml" <<'POM'
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0"
         xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
         xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 https://maven.apache.org/xsd/maven-4.0.0.xsd">
  <modelVersion>4.0.0</modelVersion>
  <groupId>example</groupId>
  <artifactId>consumer</artifactId>
  <version>1</version>
  <properties>
    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
    <maven.compiler.release>17</maven.compiler.release>
  </properties>
  <dependencies>
    <dependency>
      <groupId>dev.ax</groupId>
      <artifactId>ax-secrets</artifactId>
      <version>0.1.0</version>
    </dependency>
  </dependencies>
  <build>
    <plugins>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-resources-plugin</artifactId>
        <version>3.3.1</version>
      </plugin>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-compiler-plugin</artifactId>
        <version>3.14.0</version>
      </plugin>
    </plugins>
  </build>
</project>
POM
(cd "$app" && mvn -B -ntp -q -Dstyle.color=never -o -Dmaven.repo.local="$repo" compile) \
    || fail "the consumer project depending on dev.ax:ax-secrets:0.1.0 did not build"
java -cp "$app/target/classes:$jar" Consumer || fail "the Maven consumer's program"

# 2. The jar with plain javac and java.
plain="$work/plain"
consumer_source "$plain/src"
javac -d "$plain/classes" -cp "$jar" "$plain/src/Consumer.java" || fail "javac -cp $jar"
java -cp "$plain/classes:$jar" Consumer || fail "java -cp with the jar"

echo "install-test.sh: mvn install into a temporary repository, a Maven consumer of dev.ax:ax-secrets:0.1.0, and javac/java -cp with the jar all work"
