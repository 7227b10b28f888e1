package dev.ax.secrets;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Where the Cargo workspace this shim lives in is: found upwards from the working directory. */
public final class Workspace {
    private Workspace() {}

    /** The directory of the {@code Cargo.toml} that holds {@code [workspace]}. */
    public static Path root() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            Path cargo = p.resolve("Cargo.toml");
            try {
                if (Files.isRegularFile(cargo)
                        && Files.readString(cargo, StandardCharsets.UTF_8).contains("[workspace]")) {
                    return p;
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        throw new IllegalStateException("no Cargo workspace above " + Path.of("").toAbsolutePath());
    }
}
