package dev.ax.secrets;

import java.util.Locale;

/**
 * Where a secret's effective value comes from (PROTOCOL.md §6.2), in wire tag order. Node code
 * reads both the same way; only {@link Secrets#list()} tells them apart.
 */
public enum SecretSource {
    /** The tenant's secret. */
    TENANT("Tenant"),
    /** The flow config's override of it (or a name only the config has). */
    OVERRIDE("Override");

    private static final SecretSource[] BY_TAG = values();

    private final String wireName;

    SecretSource(String wireName) {
        this.wireName = wireName;
    }

    /** The source's name in PROTOCOL.md and the vectors: {@code "Tenant"} or {@code "Override"}. */
    public String wireName() {
        return wireName;
    }

    /** The lower-case name other shims use: {@code "tenant"} or {@code "override"}. */
    public String label() {
        return wireName.toLowerCase(Locale.ROOT);
    }

    /** The wire tag. */
    public int tag() {
        return ordinal();
    }

    /** How many sources protocol v1 defines. */
    public static int count() {
        return BY_TAG.length;
    }

    /** The source with wire tag {@code tag} (below {@link #count()}). */
    public static SecretSource fromTag(int tag) {
        return BY_TAG[tag];
    }

    /** The source named {@code wireName}: {@code "Tenant"} or {@code "Override"}. */
    public static SecretSource fromWireName(String wireName) {
        for (SecretSource source : BY_TAG) {
            if (source.wireName.equals(wireName)) {
                return source;
            }
        }
        throw new IllegalArgumentException("not a secret source of protocol v1: " + wireName);
    }
}
