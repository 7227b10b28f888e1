package dev.ax.secrets.wire;

/** A response: the {@code id} of the request it answers (or 0), and its body. */
public record Response(long id, ResponseBody body) {}
