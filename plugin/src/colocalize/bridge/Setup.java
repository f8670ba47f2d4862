package colocalize.bridge;

import ij.IJ;
import ij.Macro;
import ij.Prefs;
import ij.gui.GenericDialog;
import ij.macro.Interpreter;
import java.awt.GraphicsEnvironment;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * <i>Analyze &gt; Colocalization &gt; Coloc Setup...</i>: choose the Python that runs colocalize's
 * commands, test it ({@code python -c "import colocalize; print(colocalize.__version__)"}, 30 s
 * at most) and save it as an ImageJ preference. Pure Java: works when no Python is set up at all.
 * Macro: {@code run("Coloc Setup...", "python=/path/to/python");}
 */
public class Setup implements ij.plugin.PlugIn {
    private static final String TITLE = "Coloc Setup";
    private static final long TEST_TIMEOUT_MS = 30000;

    /** Shows the dialog (or reads {@code python=} from the macro options), tests and saves. */
    @Override
    public void run(String arg) {
        String current = current();
        String options = Macro.getOptions();
        String python;
        if (GraphicsEnvironment.isHeadless() || ExitStatus.imagejBatchMode()) {
            python = options == null ? null : Macro.getValue(options, "python", null);
        } else {
            GenericDialog dialog = new GenericDialog(TITLE);
            dialog.addMessage(Dispatch.wrap("colocalize's commands run in a Python that has the colocalize "
                    + "package (python3 -m pip install colocalize). Choose its executable, e.g. "
                    + "/home/me/venv/bin/python or C:\\Users\\me\\venv\\Scripts\\python.exe."));
            dialog.addFileField("Python", current == null ? "" : current);
            dialog.showDialog();
            python = dialog.wasCanceled() ? null : dialog.getNextString();
        }
        if (python == null || python.trim().isEmpty()) {
            return;
        }
        python = python.trim();
        String version;
        try {
            version = test(python);
        } catch (BridgeException e) {
            Dispatch.fail(TITLE, e.getMessage());
            return;
        }
        Prefs.set(PythonFinder.PROPERTY, python);
        Prefs.savePreferences();
        Worker.stopShared();
        String text = "Saved: colocalize " + version + " in " + python + ".";
        String override = overriddenBy();
        if (override != null) {
            text += " Note: " + override + " is set and takes precedence over this choice.";
        }
        if (GraphicsEnvironment.isHeadless() || Interpreter.getInstance() != null) {
            IJ.log(TITLE + ": " + text);
        } else {
            IJ.showMessage(TITLE, Dispatch.wrap(text));
        }
    }

    /**
     * Runs {@code python -c "import colocalize; print(colocalize.__version__)"}.
     *
     * @return the colocalize version that Python prints
     * @throws BridgeException naming the problem and the fix when it fails or takes over 30 s
     */
    public static String test(String python) throws BridgeException {
        ProcessBuilder builder = new ProcessBuilder(python, "-c", "import colocalize; print(colocalize.__version__)");
        builder.redirectErrorStream(true);
        Process process;
        try {
            process = builder.start();
        } catch (IOException e) {
            throw new BridgeException("Cannot run " + python + ": " + e.getMessage()
                    + ". Choose a Python executable (a file named python, python3 or python.exe).");
        }
        ByteArrayOutputStream output = new ByteArrayOutputStream();
        Thread reader = new Thread(() -> copy(process.getInputStream(), output), "colocalize-setup-test");
        reader.setDaemon(true);
        reader.start();
        try {
            if (!process.waitFor(TEST_TIMEOUT_MS, TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                throw new BridgeException(python + " did not answer within " + TEST_TIMEOUT_MS / 1000
                        + " s; choose another Python.");
            }
            reader.join(1000);
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new BridgeException("interrupted while testing " + python);
        }
        String text = new String(output.toByteArray(), StandardCharsets.UTF_8).trim();
        if (process.exitValue() != 0) {
            String last = text.isEmpty() ? "exit code " + process.exitValue() : text.substring(text.lastIndexOf('\n') + 1);
            throw new BridgeException(python + " cannot import colocalize (" + last + "). Install it there:\n"
                    + "    " + python + " -m pip install colocalize\nor choose another Python.");
        }
        return text.substring(text.lastIndexOf('\n') + 1);
    }

    private static String current() {
        try {
            return PythonFinder.find().executable;
        } catch (BridgeException e) {
            return Prefs.get(PythonFinder.PROPERTY, null);
        }
    }

    private static String overriddenBy() {
        if (System.getProperty(PythonFinder.PROPERTY) != null) {
            return "the Java system property " + PythonFinder.PROPERTY;
        }
        if (System.getenv(PythonFinder.ENVIRONMENT) != null) {
            return "the environment variable " + PythonFinder.ENVIRONMENT;
        }
        return null;
    }

    private static void copy(InputStream in, ByteArrayOutputStream out) {
        byte[] chunk = new byte[4096];
        try {
            int n;
            while ((n = in.read(chunk)) > 0) {
                out.write(chunk, 0, n);
            }
        } catch (IOException e) {
            // the process ended; what was read is the answer
        }
    }
}
