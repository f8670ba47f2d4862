package colocalize.bridge;

/** What a running command reports to, and asks of, the ImageJ side while it works. */
public interface Listener {
    /**
     * A progress report: the JSON of an UPDATE response
     * ({@code {"responseType": "UPDATE", "message": str, "current": n, "maximum": n}}).
     */
    void update(String json);

    /** True once the user asked to cancel (Esc); the command should stop at its next check. */
    boolean cancelled();
}
