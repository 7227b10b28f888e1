package dev.ax.secrets.wire;

/** A request: a client-chosen {@code id} (a u32) the response echoes, and its body. */
public record Request(long id, RequestBody body) {}
