package colocalize.bridge;

import ij.IJ;
import ij.Macro;
import ij.Menus;
import ij.macro.Interpreter;
import ij.plugin.PlugIn;
import java.awt.GraphicsEnvironment;
import java.lang.reflect.Field;

/**
 * The plugin class behind every menu entry in plugins.config: hands the call to the Python handler
 * registered under its argument, and reports failures without blocking a running macro.
 */
public class Dispatch implements PlugIn {
    private static volatile String lastError;
    static final String NOT_RUNNING = "The Python side of colocalize is not running in this ImageJ. "
            + "Start ImageJ from Python with 'colocalize imagej [--fiji /path/to/Fiji.app]', or "
            + "launch Fiji in Python mode (Edit > Options > Python..., pip dependency 'colocalize') "
            + "and use the scripts under Analyze > Colocalization.";

    public void run(String arg) {
        lastError = null;
        String options = Macro.getOptions();
        Handler handler = Registry.get(arg);
        if (handler == null) {
            report(arg, NOT_RUNNING);
            return;
        }
        String error;
        try {
            error = handler.run(arg, options);
        } catch (Throwable t) {
            error = "internal error: " + t;
        }
        if (error != null) {
            report(arg, error);
        }
    }

    /** The menu label of a command key (from ImageJ's command table), or "colocalize KEY". */
    static String label(String command) {
        java.util.Hashtable<?, ?> table = Menus.getCommands();
        String target = Dispatch.class.getName() + "(\"" + command + "\")";
        if (table != null) {
            for (java.util.Map.Entry<?, ?> entry : table.entrySet()) {
                if (target.equals(String.valueOf(entry.getValue()))) {
                    return String.valueOf(entry.getKey()).replaceAll("\\.\\.\\.$", "");
                }
            }
        }
        return "colocalize " + command;
    }

    /**
     * Ends the running macro after the current statement, quietly. Interpreter.abortMacro() would
     * wait 2 s for its own thread, and Macro.abort() stops a macro only when ImageJ's window or
     * batch mode is up; so set the interpreter's "done" flag, falling back to Macro.abort().
     */
    static void stopMacro(Interpreter interpreter) {
        try {
            Field done = Interpreter.class.getDeclaredField("done");
            done.setAccessible(true);
            done.setBoolean(interpreter, true);
        } catch (Exception e) {
            Macro.abort();
        }
    }

    /** The error of the last command run through the menu (null when it succeeded). */
    public static String lastError() {
        return lastError;
    }

    /**
     * Shows an error: a log line plus an aborted macro when a macro runs (a modal dialog would
     * stall it), a log line when headless, an error dialog otherwise.
     */
    public static void report(String command, String message) {
        String title = label(command);
        lastError = title + ": " + message;
        boolean macro = Interpreter.getInstance() != null || Macro.getOptions() != null;
        if (macro || GraphicsEnvironment.isHeadless()) {
            IJ.log(title + ": error: " + message);
            Interpreter interpreter = Interpreter.getInstance();
            if (interpreter != null) {
                stopMacro(interpreter);
            }
        } else {
            IJ.error(title, message);
        }
    }
}
