package colocalize.bridge;

/**
 * Where Python, when it hosts this JVM, registers itself: one {@link Endpoint} for every command.
 * Without one, commands run in a {@link Worker}.
 */
public final class Registry {
    private static volatile Endpoint endpoint;

    private Registry() {
    }

    /** Sets the in-process endpoint (null removes it; commands then use a {@link Worker}). */
    public static void setEndpoint(Endpoint value) {
        endpoint = value;
    }

    /** The in-process endpoint, or null when none is registered. */
    public static Endpoint endpoint() {
        return endpoint;
    }
}
