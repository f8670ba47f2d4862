package colocalize.bridge;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** The handlers registered from Python, by command key. */
public final class Registry {
    private static final Map<String, Handler> HANDLERS = new ConcurrentHashMap<String, Handler>();

    private Registry() {
    }

    public static void register(String command, Handler handler) {
        HANDLERS.put(command, handler);
    }

    public static void unregister(String command) {
        HANDLERS.remove(command);
    }

    public static Handler get(String command) {
        return HANDLERS.get(command);
    }
}
