package dev.ax.secrets;

import java.time.Instant;
import java.util.Objects;

/**
 * Metadata of one secret; never its value.
 *
 * @param name the secret's name
 * @param version counts replacements in the console (1 for the first value); a u32
 * @param updatedAt when the current value was set, in seconds since the Unix epoch (UTC); a u64
 *     on the wire, read it with {@link Long#toUnsignedString(long)} if it could exceed 2^63
 * @param source whether the effective value is the tenant's or the flow config's override
 */
public record SecretInfo(String name, long version, long updatedAt, SecretSource source) {
    /** Checks that no component is null. */
    public SecretInfo {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(source, "source");
    }

    /** {@link #updatedAt()} as an instant. */
    public Instant updatedAtInstant() {
        return Instant.ofEpochSecond(updatedAt);
    }
}
