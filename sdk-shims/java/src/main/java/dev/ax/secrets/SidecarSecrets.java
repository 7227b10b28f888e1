package dev.ax.secrets;

import dev.ax.secrets.wire.RequestBody;
import dev.ax.secrets.wire.ResponseBody;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/** {@code ax.secrets()} backed by the execution's sidecar. Safe to share between threads. */
final class SidecarSecrets implements Secrets {
    private final SidecarClient client;

    SidecarSecrets(SidecarClient client) {
        this.client = client;
    }

    @Override
    public Optional<String> get(String name) {
        Objects.requireNonNull(name, "name");
        if (!Names.isValid(name)) {
            return Optional.empty();
        }
        ResponseBody.Secret secret =
                client.call("Get", new RequestBody.Get(name), ResponseBody.Secret.class);
        return Optional.ofNullable(secret.value());
    }

    @Override
    public List<SecretInfo> list() {
        ResponseBody.SecretList list = client.call(
                "List", RequestBody.ListSecrets.INSTANCE, ResponseBody.SecretList.class);
        List<SecretInfo> out = new ArrayList<>(list.secrets().size());
        for (ResponseBody.Info info : list.secrets()) {
            out.add(new SecretInfo(info.name(), info.version(), info.updatedAt()));
        }
        return List.copyOf(out);
    }

    @Override
    public Rendered render(String template) {
        Objects.requireNonNull(template, "template");
        Arguments.requireUnicode(template, "template");
        ResponseBody.Rendered rendered = client.call(
                "Render", new RequestBody.Render(template), ResponseBody.Rendered.class);
        return new Rendered(rendered.text(), rendered.missing());
    }

    @Override
    public Redacted redact(String text) {
        Objects.requireNonNull(text, "text");
        Arguments.requireUnicode(text, "text");
        ResponseBody.Redacted redacted = client.call(
                "Redact", new RequestBody.Redact(text), ResponseBody.Redacted.class);
        return new Redacted(redacted.text(), redacted.found());
    }

    @Override
    public String toString() {
        return "Secrets[socket=" + client.socketPath() + "]";
    }
}
