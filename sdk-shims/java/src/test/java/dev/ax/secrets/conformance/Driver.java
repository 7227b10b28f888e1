package dev.ax.secrets.conformance;

import dev.ax.secrets.AxContext;
import dev.ax.secrets.AxiomContext;
import dev.ax.secrets.ErrorCode;
import dev.ax.secrets.MockAxiomContext;
import dev.ax.secrets.Redacted;
import dev.ax.secrets.Rendered;
import dev.ax.secrets.SecretInfo;
import dev.ax.secrets.SecretsUnavailableException;
import dev.ax.secrets.json.Json;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CyclicBarrier;

/**
 * The conformance program of the Java shim (integration/conformance/DRIVER.md).
 *
 * <p>Reads one JSON request per line on stdin and writes one JSON answer per line on stdout,
 * using one context for the whole run: the real client, or the mock built from the JSON map
 * named by {@code $AX_CONFORMANCE_MOCK}. Run from sdk-shims/java, after {@code mvn -q -B
 * -DskipTests package}, as {@code java -cp target/classes:target/test-classes
 * dev.ax.secrets.conformance.Driver}.
 */
public final class Driver {
    private Driver() {}

    /** The context DRIVER.md asks for: the mock when {@code AX_CONFORMANCE_MOCK} is set. */
    static AxContext makeContext(Map<String, String> env) throws IOException {
        String mock = env.get("AX_CONFORMANCE_MOCK");
        if (mock != null && !mock.isEmpty()) {
            Map<String, String> values = new LinkedHashMap<>();
            Json.object(Json.parse(Files.readString(Path.of(mock), StandardCharsets.UTF_8)))
                    .forEach((name, value) -> values.put(name, (String) value));
            return MockAxiomContext.of(values);
        }
        return new AxiomContext();
    }

    private static Map<String, Object> map(Object... pairs) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (int i = 0; i < pairs.length; i += 2) {
            out.put((String) pairs[i], pairs[i + 1]);
        }
        return out;
    }

    static Map<String, Object> getAnswer(AxContext ax, String name) {
        Optional<String> value = ax.secrets().get(name);
        return value.isPresent() ? map("found", true, "value", value.get()) : map("found", false);
    }

    static Map<String, Object> concurrentGet(AxContext ax, String name, int callers, int calls)
            throws InterruptedException {
        List<List<Map<String, Object>>> answers = new ArrayList<>();
        List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
        CyclicBarrier start = new CyclicBarrier(callers);
        List<Thread> threads = new ArrayList<>();
        for (int c = 0; c < callers; c++) {
            List<Map<String, Object>> mine = new ArrayList<>();
            answers.add(mine);
            threads.add(new Thread(() -> {
                try {
                    start.await();
                    for (int k = 0; k < calls; k++) {
                        mine.add(getAnswer(ax, name));
                    }
                } catch (Throwable e) { // rethrown in the calling thread
                    failures.add(e);
                    start.reset();
                }
            }));
        }
        for (Thread t : threads) {
            t.start();
        }
        for (Thread t : threads) {
            t.join();
        }
        if (!failures.isEmpty()) {
            // A caller that failed broke the barrier for the others: report a real failure.
            Throwable first = failures.stream()
                    .filter(f -> !(f instanceof BrokenBarrierException))
                    .findFirst()
                    .orElse(failures.get(0));
            if (first instanceof RuntimeException e) {
                throw e;
            }
            throw new IllegalStateException(first);
        }
        List<Map<String, Object>> distinct = new ArrayList<>();
        int total = 0;
        for (List<Map<String, Object>> mine : answers) {
            total += mine.size();
            for (Map<String, Object> one : mine) {
                if (!distinct.contains(one)) {
                    distinct.add(one);
                }
            }
        }
        return map("calls", (long) total, "results", distinct);
    }

    private static int intOf(Object number) {
        return Math.toIntExact((Long) number);
    }

    /** The answer to one request, as DRIVER.md defines it. */
    public static Map<String, Object> answer(AxContext ax, Map<String, Object> request) {
        Object op = request.get("op");
        try {
            if ("get".equals(op)) {
                return getAnswer(ax, (String) request.get("name"));
            }
            if ("exists".equals(op)) {
                return map("exists", ax.secrets().exists((String) request.get("name")));
            }
            if ("list".equals(op)) {
                return map("names", ax.secrets().names());
            }
            if ("list_info".equals(op)) {
                List<Object> secrets = new ArrayList<>();
                for (SecretInfo info : ax.secrets().list()) {
                    secrets.add(map("name", info.name(), "version", info.version(),
                            "updated_at", info.updatedAt()));
                }
                return map("secrets", secrets);
            }
            if ("render".equals(op)) {
                Rendered rendered = ax.secrets().render((String) request.get("template"));
                return map("text", rendered.text(), "missing", rendered.missing());
            }
            if ("redact".equals(op)) {
                Redacted redacted = ax.secrets().redact((String) request.get("text"));
                return map("text", redacted.text(), "found", redacted.found());
            }
            if ("concurrent_get".equals(op)) {
                return concurrentGet(ax, (String) request.get("name"),
                        intOf(request.get("callers")), intOf(request.get("calls")));
            }
            return map("error", "unknown_op");
        } catch (SecretsUnavailableException e) {
            String socket = System.getenv("AX_SECRETS_SOCKET");
            String message = String.valueOf(e.getMessage());
            boolean mentions = socket != null && !socket.isEmpty() && message.contains(socket);
            return map("error", "unavailable", "mentions_socket", mentions,
                    "code", e.code().map(ErrorCode::wireName).orElse(null),
                    "mentions_uid", message.contains("uid"));
        } catch (Exception e) { // anything else fails the scenario, with what happened
            return map("error", "unexpected",
                    "detail", e.getClass().getSimpleName() + ": " + e.getMessage());
        }
    }

    /** Runs the program: requests on stdin, answers on stdout; exits 0 at end of input. */
    public static void main(String[] args) throws IOException {
        OutputStream out = System.out;
        try (AxContext ax = makeContext(System.getenv());
                BufferedReader in = new BufferedReader(
                        new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                if (line.isBlank()) {
                    continue;
                }
                Map<String, Object> request = Json.object(Json.parse(line));
                String reply = Json.write(answer(ax, request)) + "\n";
                out.write(reply.getBytes(StandardCharsets.UTF_8));
                out.flush();
            }
        }
    }
}
