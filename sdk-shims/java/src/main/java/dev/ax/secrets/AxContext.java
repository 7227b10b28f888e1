package dev.ax.secrets;

/**
 * The execution context node code receives as {@code ax}: {@link AxiomContext} in an
 * execution, {@link MockAxiomContext} in unit tests. Code that takes an {@code AxContext} runs
 * unchanged on both.
 */
public interface AxContext extends AutoCloseable {
    /** The execution's secrets. */
    Secrets secrets();

    /** Releases the connection, if any; never throws. */
    @Override
    void close();
}
