package colocalize.bridge;

/**
 * One menu command, implemented in Python (JPype {@code @JImplements("colocalize.bridge.Handler")}).
 */
public interface Handler {
    /**
     * Runs the command.
     *
     * @param command the key from plugins.config, e.g. {@code "coefficients"}
     * @param options the macro options ({@code Macro.getOptions()}), or null when run from the menu
     * @return null on success, otherwise a one-line error message for the user
     */
    String run(String command, String options) throws Exception;
}
