package dev.ax.secrets;

import static dev.ax.secrets.Vectors.expectKeys;
import static dev.ax.secrets.Vectors.hex;
import static dev.ax.secrets.json.Json.array;
import static dev.ax.secrets.json.Json.object;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.ax.secrets.wire.Limits;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code redaction.json} (PROTOCOL.md §8.4, §10.2) through the mock: each value's forms by name
 * against {@link Encodings#forms}, each form alone through {@link MockSecrets#redact}, and whole
 * redactions through the {@link Redactor} and the mock.
 */
final class RedactionVectors {
    private RedactionVectors() {}

    /**
     * The names of the forms, in the order {@link Encodings#forms} gives them: the keys of a
     * forms case ({@code FORM_NAMES} in protocol/src/encodings.rs).
     */
    static final List<String> FORM_NAMES = List.of("utf8", "base64", "base64_unpadded",
            "base64url", "base64url_unpadded", "json", "json_ascii", "percent", "json_html_safe",
            "json_gson", "json_dotnet", "json_upper_controls", "python_repr_str",
            "python_repr_bytes", "go_quoted", "query_escape", "form_urlencoded", "python_quote",
            "go_path_escape", "uri_component", "percent_lower", "dotnet_http_utility",
            "dotnet_web_utility");

    static void run(Map<String, Object> file, Map<String, Object> test) {
        assertEquals("valid", test.get("result"));
        Map<String, Object> value = object(test.get("value"));
        if (value.containsKey("forms")) {
            forms(test, value);
        } else {
            redaction(test, value);
        }
    }

    private static void forms(Map<String, Object> test, Map<String, Object> value) {
        expectKeys(value, Set.of("secret", "masked", "forms"), "forms vector");
        String secret = (String) value.get("secret");
        byte[] utf8 = secret.getBytes(StandardCharsets.UTF_8);
        assertArrayEquals(hex(test.get("hex")), utf8);
        boolean masked = utf8.length >= Limits.MIN_REDACTED_LEN;
        assertEquals(masked, value.get("masked"));
        Map<String, Object> named = object(value.get("forms"));
        expectKeys(named, Set.copyOf(FORM_NAMES), "forms");
        List<String> ours = Encodings.forms(secret);
        assertEquals(FORM_NAMES.size(), ours.size());
        MockSecrets mock = new MockSecrets(Map.of("S", secret));
        for (int i = 0; i < FORM_NAMES.size(); i++) {
            String name = FORM_NAMES.get(i);
            String form = (String) named.get(name);
            assertEquals(form, ours.get(i), "form " + name);
            Redacted want = masked
                    ? new Redacted("***", List.of("S"))
                    : new Redacted(form, List.of());
            assertEquals(want, mock.redact(form), "form " + name + " alone");
        }
    }

    private static void redaction(Map<String, Object> test, Map<String, Object> value) {
        expectKeys(value, Set.of("secrets", "text", "redacted", "found"), "redaction vector");
        String text = (String) value.get("text");
        assertArrayEquals(hex(test.get("hex")), text.getBytes(StandardCharsets.UTF_8));
        Map<String, String> secrets = new LinkedHashMap<>();
        object(value.get("secrets")).forEach((k, v) -> secrets.put(k, (String) v));
        List<String> found = new ArrayList<>();
        for (Object name : array(value.get("found"))) {
            found.add((String) name);
        }
        Redacted want = new Redacted((String) value.get("redacted"), found);
        assertEquals(want, new Redactor(secrets).redact(text));
        assertEquals(want, new MockSecrets(secrets).redact(text));
    }
}
