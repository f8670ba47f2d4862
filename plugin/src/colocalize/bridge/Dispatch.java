package colocalize.bridge;

import ij.IJ;
import ij.ImagePlus;
import ij.Macro;
import ij.Menus;
import ij.WindowManager;
import ij.macro.Interpreter;
import ij.plugin.PlugIn;
import java.awt.GraphicsEnvironment;
import java.lang.reflect.Field;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * The plugin class behind every menu entry in plugins.config: asks the Python side for the
 * command's dialog (DESCRIBE, cached per transport), shows it, reads the inputs, runs the command
 * (in-process endpoint when Python hosts this JVM, a {@link Worker} otherwise) and shows the
 * outputs. Errors become a log line plus an aborted macro when a macro runs, and an error dialog
 * (wrapped to fit the screen) otherwise; never a modal dialog that stalls a macro.
 */
public class Dispatch implements PlugIn {
    private static final long DESCRIBE_TIMEOUT_MS = 60000;
    private static final int WRAP = 90;
    private static final Map<Endpoint, Map<String, Map<String, Object>>> SPECS =
            new WeakHashMap<Endpoint, Map<String, Map<String, Object>>>();
    private static volatile String lastError;

    /** Runs command {@code arg} (its key in plugins.config). */
    @Override
    public void run(String arg) {
        lastError = null;
        String options = Macro.getOptions();
        Endpoint endpoint = Registry.endpoint();
        try {
            if (endpoint == null) {
                endpoint = Worker.shared();
            }
            execute(endpoint, arg, options);
        } catch (BridgeException e) {
            report(arg, e.getMessage());
        } catch (RuntimeException e) {
            if (Macro.MACRO_CANCELED.equals(e.getMessage())) {
                throw e; // ImageJ's way of ending a macro whose dialog was cancelled
            }
            report(arg, "internal error (" + e + "); please report it with this message");
        } catch (Exception e) {
            report(arg, "internal error (" + e + "); please report it with this message");
        }
    }

    private static void execute(Endpoint endpoint, String key, String options) throws Exception {
        Map<String, Object> spec = spec(endpoint, key);
        String title = Json.string(spec, "title", label(key));
        Map<String, Object> values = Dialogs.ask(spec, options);
        if (values == null) {
            return; // cancelled dialog
        }
        Inputs inputs = new Inputs(endpoint instanceof Inputs.Allocator ? (Inputs.Allocator) endpoint : Inputs.DIRECT);
        Map<String, Object> images = new LinkedHashMap<String, Object>();
        Map<String, Object> masks = new LinkedHashMap<String, Object>();
        readInputs(spec, values, inputs, images, masks);
        Map<String, Object> request = Json.obj("requestType", "EXECUTE", "command", key, "options", options,
                "values", values, "images", images, "masks", masks);
        Progress progress = new Progress(title, 0);
        Message response;
        try {
            response = endpoint.call(new Message(Json.write(request), inputs.buffers()), progress);
        } finally {
            progress.done();
        }
        Map<String, Object> body = Json.parseObject(response.json());
        String type = Json.string(body, "responseType", "");
        if (type.equals("COMPLETION")) {
            Map<String, Object> outputs = Json.object(body, "outputs");
            if (outputs != null) {
                boolean derived = readsImages(spec);
                for (Object shown : Display.show(outputs, response.buffers())) {
                    if (derived && shown instanceof ImagePlus) {
                        Dialogs.created(((ImagePlus) shown).getTitle());
                    }
                }
            }
        } else if (type.equals("CANCELATION")) {
            IJ.showStatus(title + ": cancelled");
            IJ.log(title + ": cancelled");
        } else if (type.equals("FAILURE")) {
            throw new BridgeException(Json.string(body, "error", "failed"));
        } else {
            throw new BridgeException("unexpected answer from Python: " + response.json());
        }
    }

    /**
     * True when the command reads open images: the images it shows are then derived ones (masks,
     * label images) that image defaults skip; a command without image fields (File > Import >
     * colocalize TIFF...) shows source images, which stay the defaults.
     */
    private static boolean readsImages(Map<String, Object> spec) {
        for (Map<String, Object> field : Json.objects(spec, "fields")) {
            if (Json.string(field, "kind", "").equals("image")) {
                return true;
            }
        }
        return false;
    }

    /** The IMAGE of every image field and of a mask field set to an image; ROI_MASKs otherwise. */
    private static void readInputs(Map<String, Object> spec, Map<String, Object> values, Inputs inputs,
            Map<String, Object> images, Map<String, Object> masks) throws Exception {
        ImagePlus first = null;
        List<Map<String, Object>> fields = Json.objects(spec, "fields");
        for (Map<String, Object> field : fields) {
            String kind = Json.string(field, "kind", "");
            String key = Json.string(field, "key", "");
            ImagePlus imp = kind.equals("image") || kind.equals("mask") ? open(values.get(key)) : null;
            if (imp != null) {
                images.put(key, inputs.image(imp, imp.getTitle()));
                if (first == null && kind.equals("image")) {
                    first = imp;
                }
            }
        }
        ImagePlus target = first != null ? first : WindowManager.getCurrentImage();
        for (Map<String, Object> field : fields) {
            String key = Json.string(field, "key", "");
            Object value = values.get(key);
            if (target != null && Dialogs.SELECTION.equals(value)) {
                masks.put(key, inputs.selection(target));
            } else if (target != null && Dialogs.ROI_MANAGER.equals(value)) {
                masks.put(key, inputs.roiManager(target));
            }
        }
    }

    private static ImagePlus open(Object title) {
        if (!(title instanceof String) || ((String) title).isEmpty() || ((String) title).startsWith("<")) {
            return null;
        }
        return WindowManager.getImage((String) title);
    }

    /** The COMMAND_SPEC of {@code key} from {@code endpoint} (asked once per endpoint). */
    private static Map<String, Object> spec(Endpoint endpoint, String key) throws Exception {
        Map<String, Map<String, Object>> specs;
        synchronized (SPECS) {
            specs = SPECS.get(endpoint);
        }
        if (specs == null) {
            specs = describe(endpoint);
            synchronized (SPECS) {
                SPECS.put(endpoint, specs);
            }
        }
        Map<String, Object> spec = specs.get(key);
        if (spec == null) {
            throw new BridgeException("the Python side has no command '" + key + "' (it has "
                    + specs.keySet() + "); install matching versions with colocalize install-fiji");
        }
        return spec;
    }

    private static Map<String, Map<String, Object>> describe(Endpoint endpoint) throws Exception {
        Progress progress = new Progress("colocalize", DESCRIBE_TIMEOUT_MS);
        Message response = endpoint.call(new Message(Json.write(Json.obj("requestType", "DESCRIBE"))), progress);
        Map<String, Object> body = Json.parseObject(response.json());
        String type = Json.string(body, "responseType", "");
        if (type.equals("FAILURE")) {
            throw new BridgeException("the Python side could not list its commands: "
                    + Json.string(body, "error", "?"));
        }
        if (!type.equals("COMPLETION")) {
            throw new BridgeException(progress.timedOut()
                    ? "the Python side did not list its commands within " + DESCRIBE_TIMEOUT_MS / 1000 + " s"
                    : "cancelled");
        }
        Map<String, Map<String, Object>> specs = new HashMap<String, Map<String, Object>>();
        Map<String, Object> outputs = Json.object(body, "outputs");
        if (outputs != null) {
            for (Map<String, Object> command : Json.objects(outputs, "commands")) {
                specs.put(Json.string(command, "key", ""), command);
            }
        }
        return specs;
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
        } catch (ReflectiveOperationException | RuntimeException e) {
            Macro.abort();
        }
    }

    /** The error of the last command run through the menu (null when it succeeded). */
    public static String lastError() {
        return lastError;
    }

    /**
     * Shows an error: one log line plus an aborted macro when a macro runs (a modal dialog would
     * stall it) or when headless, an error dialog wrapped to fit the screen otherwise. In a batch
     * launch ImageJ then exits with status 1 ({@link ExitStatus}).
     */
    public static void report(String command, String message) {
        fail(label(command), message);
    }

    /** {@link #report} for a command known by its title. */
    static void fail(String title, String message) {
        lastError = title + ": " + message;
        boolean macro = Interpreter.getInstance() != null || Macro.getOptions() != null;
        if (macro || GraphicsEnvironment.isHeadless()) {
            IJ.log(title + ": error: " + oneLine(message));
            Interpreter interpreter = Interpreter.getInstance();
            if (interpreter != null) {
                stopMacro(interpreter);
            }
            ExitStatus.commandFailed();
        } else {
            IJ.error(title, wrap(message));
        }
    }

    private static String oneLine(String text) {
        return text.replaceAll("\\s*\\n\\s*", " | ");
    }

    /** Breaks lines longer than {@value #WRAP} characters at spaces (ImageJ sizes dialogs to text). */
    static String wrap(String text) {
        StringBuilder out = new StringBuilder();
        for (String line : text.split("\n", -1)) {
            if (out.length() > 0) {
                out.append('\n');
            }
            int width = 0;
            for (String word : line.split(" ", -1)) {
                if (width > 0 && width + 1 + word.length() > WRAP) {
                    out.append('\n');
                    width = 0;
                } else if (width > 0 || (out.length() > 0 && out.charAt(out.length() - 1) != '\n')) {
                    out.append(' ');
                    width++;
                }
                out.append(word);
                width += word.length();
            }
        }
        return out.toString();
    }
}
