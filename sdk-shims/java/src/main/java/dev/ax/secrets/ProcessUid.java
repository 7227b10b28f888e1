package dev.ax.secrets;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * This process's uid, for the message of a refused uid (the sidecar checks {@code SO_PEERCRED}).
 *
 * <p>The JDK has no {@code getuid()} in {@code java.base}: it is read from {@code
 * com.sun.security.auth.module.UnixSystem} (module {@code jdk.security.auth}, in every full
 * JDK and JRE), else from the owner of {@code /proc/self}; -1 when neither is there.
 */
final class ProcessUid {
    private ProcessUid() {}

    static long get() {
        try {
            return new com.sun.security.auth.module.UnixSystem().getUid();
        } catch (LinkageError | RuntimeException e) {
            // A runtime without jdk.security.auth: fall back to /proc.
        }
        try {
            Object uid = Files.getAttribute(Path.of("/proc/self"), "unix:uid");
            return ((Number) uid).longValue();
        } catch (Exception e) {
            return -1;
        }
    }
}
