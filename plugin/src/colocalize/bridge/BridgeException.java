package colocalize.bridge;

/** A failure whose message is written for the user (no stack trace is shown). */
public class BridgeException extends Exception {
    private static final long serialVersionUID = 1L;

    /** @param message one or a few lines for the user */
    public BridgeException(String message) {
        super(message);
    }
}
