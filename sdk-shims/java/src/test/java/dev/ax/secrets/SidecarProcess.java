package dev.ax.secrets;

import dev.ax.secrets.json.Json;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A real ax-sidecar built from this repository, serving a sealed bundle, for the live tests.
 *
 * <p>The binary is {@code $AX_SIDECAR_BIN} when set, else {@code cargo build -q -p ax-sidecar}
 * is run at the workspace root and {@code target/debug/ax-sidecar} is used. The sidecar is
 * ready when it writes {@code READY\n} on its ready descriptor: {@code --ready-fd 1}, its
 * stdout, which is a pipe to this process (the sidecar logs to stderr only, and closes the
 * descriptor after the line). Nothing here sleeps.
 */
final class SidecarProcess {
    private static final long START_TIMEOUT_S = 30;
    private static final long STOP_TIMEOUT_S = 30;
    private static Path binary;

    private final Path work;
    private final String socket;
    private final String token;
    private Process process;
    private int starts;

    /** The sidecar binary, built once per test run when $AX_SIDECAR_BIN is unset. */
    static synchronized Path binary() {
        if (binary == null) {
            String given = System.getenv("AX_SIDECAR_BIN");
            if (given != null && !given.isEmpty()) {
                binary = Path.of(given);
            } else {
                Path root = Workspace.root();
                run(root, List.of("cargo", "build", "-q", "-p", "ax-sidecar"));
                binary = root.resolve("target").resolve("debug").resolve("ax-sidecar");
            }
        }
        return binary;
    }

    private static void run(Path dir, List<String> command) {
        try {
            Process p = new ProcessBuilder(command)
                    .directory(dir.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectOutput(ProcessBuilder.Redirect.INHERIT)
                    .redirectError(ProcessBuilder.Redirect.INHERIT)
                    .start();
            int code = p.waitFor();
            if (code != 0) {
                throw new IllegalStateException(command + " exited " + code);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** A fresh client token. */
    static String newToken() {
        byte[] bytes = new byte[16];
        new SecureRandom().nextBytes(bytes);
        return HexFormat.of().formatHex(bytes);
    }

    /**
     * Seals {@code secrets} and {@code overrides} (name to a value string, or to an object
     * {@code {value, version, updated_at}}) in {@code work}, which must not exist yet; the
     * sidecar requires {@code token} when it is not null.
     *
     * @throws IllegalStateException when sealing fails (e.g. a name that breaks the rule)
     */
    SidecarProcess(Path work, Map<String, ?> secrets, Map<String, ?> overrides, String token)
            throws IOException {
        this.work = Files.createDirectories(work);
        Files.setPosixFilePermissions(work, PosixFilePermissions.fromString("rwx------"));
        this.socket = work.resolve("run").resolve("s.sock").toString();
        this.token = token;
        Map<String, Object> spec = new LinkedHashMap<>();
        spec.put("secrets", secrets);
        spec.put("overrides", overrides);
        Path specFile = work.resolve("secrets.json");
        Files.writeString(specFile, Json.write(spec), StandardCharsets.UTF_8);
        Process seal = new ProcessBuilder(binary().toString(), "seal",
                "--input", specFile.toString(),
                "--key-file", work.resolve("key").toString(),
                "--output", work.resolve("bundle").toString(),
                "--new-key")
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(work.resolve("seal.log").toFile())
                .start();
        try {
            if (seal.waitFor() != 0) {
                throw new IllegalStateException("sealing failed: "
                        + Files.readString(work.resolve("seal.log"), StandardCharsets.UTF_8));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        if (token != null) {
            Path tokenFile = work.resolve("token");
            Files.createFile(tokenFile, PosixFilePermissions.asFileAttribute(
                    PosixFilePermissions.fromString("rw-------")));
            Files.writeString(tokenFile, token, StandardCharsets.UTF_8);
        }
    }

    /** Further {@code serve} arguments for the next {@link #start()}, e.g. {@code --allow-uid}. */
    final List<String> extra = new ArrayList<>();

    String socket() {
        return socket;
    }

    String token() {
        return token;
    }

    /** Starts the sidecar and returns once it serves. */
    void start() throws IOException {
        starts++;
        Path log = work.resolve("sidecar-" + starts + ".log");
        List<String> args = new ArrayList<>(List.of(binary().toString(), "serve",
                "--socket", socket,
                "--bundle-file", work.resolve("bundle").toString(),
                "--key-file", work.resolve("key").toString(),
                "--audit-file", work.resolve("audit.jsonl").toString(),
                "--ready-fd", "1"));
        if (token != null) {
            args.add("--client-token-file");
            args.add(work.resolve("token").toString());
        }
        args.addAll(extra);
        Process p = new ProcessBuilder(args)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(ProcessBuilder.Redirect.PIPE)
                .redirectError(log.toFile())
                .start();
        process = p;
        CompletableFuture<String> ready = CompletableFuture.supplyAsync(() -> readLine(p));
        String line;
        try {
            line = ready.get(START_TIMEOUT_S, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            line = null;
        } catch (ExecutionException | TimeoutException e) {
            line = null;
        }
        if (!"READY\n".equals(line)) {
            p.destroyForcibly();
            process = null;
            throw new IllegalStateException("the sidecar did not become ready (read " + line
                    + "):\n" + Files.readString(log, StandardCharsets.UTF_8));
        }
    }

    /** Everything up to and including the first newline, or what came before end of stream. */
    private static String readLine(Process p) {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        try {
            InputStream in = p.getInputStream();
            int b;
            while ((b = in.read()) >= 0) {
                line.write(b);
                if (b == '\n') {
                    break;
                }
            }
        } catch (IOException e) {
            // The pipe broke: what was read says why.
        }
        return line.toString(StandardCharsets.UTF_8);
    }

    /** Stops the sidecar with SIGTERM; returns its exit code. */
    int stop() throws InterruptedException {
        Process p = process;
        if (p == null) {
            return 0;
        }
        process = null;
        p.destroy(); // SIGTERM
        if (!p.waitFor(STOP_TIMEOUT_S, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor();
            throw new IllegalStateException("the sidecar did not stop within 30 s of SIGTERM");
        }
        return p.exitValue();
    }

    void restart() throws IOException, InterruptedException {
        stop();
        start();
    }
}
