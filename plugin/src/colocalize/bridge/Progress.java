package colocalize.bridge;

import ij.IJ;
import java.util.Map;

/**
 * The {@link Listener} of one command run: UPDATE messages go to ImageJ's status line and progress
 * bar; Esc (or, when set, a deadline) asks the command to cancel.
 */
final class Progress implements Listener {
    private final String title;
    private final long deadline;

    /**
     * @param title   the command's title, prefixed to status messages
     * @param timeout milliseconds after which {@link #cancelled()} turns true; 0 for none
     */
    Progress(String title, long timeout) {
        this.title = title;
        this.deadline = timeout > 0 ? System.currentTimeMillis() + timeout : Long.MAX_VALUE;
        IJ.resetEscape();
    }

    @Override
    public void update(String json) {
        Map<String, Object> update = Json.parseObject(json);
        String message = Json.string(update, "message", null);
        if (message != null && !message.isEmpty()) {
            IJ.showStatus(message.startsWith(title) ? message : title + ": " + message);
        }
        int maximum = (int) Json.number(update, "maximum", 0);
        if (maximum > 0) {
            IJ.showProgress((int) Json.number(update, "current", 0), maximum);
        }
    }

    @Override
    public boolean cancelled() {
        return IJ.escapePressed() || System.currentTimeMillis() > deadline;
    }

    /** True when the deadline (not the user) cancelled. */
    boolean timedOut() {
        return System.currentTimeMillis() > deadline;
    }

    /** Clears the progress bar and the status line. */
    void done() {
        IJ.showProgress(1.0);
        IJ.showStatus("");
    }
}
