package dev.ax.secrets;

import java.time.Instant;
import java.util.Objects;

/**
 * Metadata of one secret; never its value. An override and a tenant value look the same: node
 * code cannot tell them apart (operators see overrides in the console).
 *
 * @param name the secret's name
 * @param version counts replacements in the console (1 for the first value); a u32
 * @param updatedAt when the current value was set, in seconds since the Unix epoch (UTC); a u64
 *     on the wire, read it with {@link Long#toUnsignedString(long)} if it could exceed 2^63
 */
public record SecretInfo(String name, long version, long updatedAt) {
    /** Checks that the name is not null. */
    public SecretInfo {
        Objects.requireNonNull(name, "name");
    }

    /** {@link #updatedAt()} as an instant. */
    public Instant updatedAtInstant() {
        return Instant.ofEpochSecond(updatedAt);
    }
}
