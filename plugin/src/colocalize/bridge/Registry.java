package colocalize.bridge;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Where Python, when it hosts this JVM, registers itself: one {@link Endpoint} for every command
 * (and, until the Python side has moved to it, the older per-command {@link Handler}s).
 */
public final class Registry {
    private static final Map<String, Handler> HANDLERS = new ConcurrentHashMap<String, Handler>();
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

    /** Registers a per-command handler (older path, used while no endpoint is registered). */
    public static void register(String command, Handler handler) {
        HANDLERS.put(command, handler);
    }

    /** Removes the handler of {@code command}. */
    public static void unregister(String command) {
        HANDLERS.remove(command);
    }

    /** The handler of {@code command}, or null. */
    public static Handler get(String command) {
        return HANDLERS.get(command);
    }
}
