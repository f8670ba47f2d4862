package colocalize.bridge;

import ij.IJ;
import ij.Prefs;
import java.io.BufferedReader;
import java.io.File;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URISyntaxException;
import java.net.URL;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Finds the Python that runs the worker. Looked up in this order; the first source that is set
 * wins (a source naming a file that does not exist is an error, not skipped):
 * <ol>
 * <li>the system property {@code colocalize.python};</li>
 * <li>the environment variable {@code COLOCALIZE_PYTHON};</li>
 * <li>the ImageJ preference {@code colocalize.python} (set by <i>Coloc Setup...</i>);</li>
 * <li>the file {@code colocalize-python.txt} beside this plugin's jar (written by
 *     {@code colocalize install-fiji});</li>
 * <li>a {@code colocalize} executable on the PATH (run as {@code colocalize imagej-worker}).</li>
 * </ol>
 */
public final class PythonFinder {
    /** System property, and ImageJ preference key, holding a Python executable. */
    public static final String PROPERTY = "colocalize.python";
    /** Environment variable holding a Python executable. */
    public static final String ENVIRONMENT = "COLOCALIZE_PYTHON";
    /** The file beside the jar that {@code colocalize install-fiji} writes. */
    public static final String FILE_NAME = "colocalize-python.txt";

    /** A way to start the worker: the command prefix and where it was found. */
    public static final class Found {
        /** The worker command without the {@code --buffer-dir} argument. */
        public final List<String> command;
        /** The executable (a Python, or the {@code colocalize} script). */
        public final String executable;
        /** Where it came from, for messages ("the system property colocalize.python", ...). */
        public final String source;

        Found(List<String> command, String executable, String source) {
            this.command = command;
            this.executable = executable;
            this.source = source;
        }

        @Override
        public boolean equals(Object other) {
            return other instanceof Found && ((Found) other).command.equals(command);
        }

        @Override
        public int hashCode() {
            return command.hashCode();
        }
    }

    private PythonFinder() {
    }

    /**
     * The worker command.
     *
     * @throws BridgeException with the install instructions when nothing is found, or naming the
     *                         source when it points at a missing file
     */
    public static Found find() throws BridgeException {
        String value = System.getProperty(PROPERTY);
        if (isSet(value)) {
            return python(value, "the Java system property " + PROPERTY);
        }
        value = System.getenv(ENVIRONMENT);
        if (isSet(value)) {
            return python(value, "the environment variable " + ENVIRONMENT);
        }
        value = Prefs.get(PROPERTY, null);
        if (isSet(value)) {
            return python(value, "the ImageJ preference set by Coloc Setup...");
        }
        File file = settingsFile();
        if (file != null && file.isFile()) {
            value = firstLine(file);
            if (isSet(value)) {
                return python(value, file.getPath());
            }
        }
        File script = onPath(File.separatorChar == '\\' ? "colocalize.exe" : "colocalize");
        if (script != null) {
            return new Found(Arrays.asList(script.getPath(), "imagej-worker"), script.getPath(),
                    "the PATH");
        }
        throw new BridgeException(installInstructions("No Python with colocalize was found."));
    }

    /**
     * The message for a missing or unusable Python: what went wrong, then the exact commands that
     * install colocalize and connect it to this ImageJ.
     */
    public static String installInstructions(String problem) {
        String folder = imagejFolder();
        String target = folder == null ? "<ImageJ folder>" : quoteIfNeeded(folder);
        return problem + " Install colocalize and connect it to this ImageJ:\n"
                + "    python3 -m pip install colocalize\n"
                + "    python3 -m colocalize install-fiji " + target + "\n"
                + "then restart ImageJ; or choose a Python that has colocalize with "
                + "Analyze > Colocalization > Coloc Setup...";
    }

    /** The Python-command file beside this jar (or in ImageJ's plugins folder), or null. */
    public static File settingsFile() {
        File jar = jarFile();
        if (jar != null) {
            return new File(jar.getParentFile(), FILE_NAME);
        }
        String plugins = IJ.getDirectory("plugins");
        return plugins == null ? null : new File(plugins, FILE_NAME);
    }

    /** The folder whose plugins/ holds this jar (what install-fiji takes), else ImageJ's folder. */
    private static String imagejFolder() {
        File jar = jarFile();
        File plugins = jar == null ? null : jar.getParentFile();
        if (plugins != null && plugins.getName().equals("plugins") && plugins.getParentFile() != null) {
            return plugins.getParentFile().getPath();
        }
        String folder = IJ.getDirectory("imagej");
        return folder == null ? null : stripSlash(folder);
    }

    private static File jarFile() {
        try {
            URL url = PythonFinder.class.getProtectionDomain().getCodeSource().getLocation();
            File file = new File(url.toURI());
            return file.isFile() ? file : null;
        } catch (URISyntaxException | RuntimeException e) {
            return null;
        }
    }

    private static Found python(String value, String source) throws BridgeException {
        String path = value.trim();
        File file = new File(path);
        if (!file.isAbsolute()) {
            File resolved = onPath(path);
            if (resolved != null) {
                file = resolved;
            }
        }
        if (!file.isFile()) {
            throw new BridgeException(installInstructions("The Python named by " + source + " ("
                    + path + ") does not exist."));
        }
        List<String> command = new ArrayList<String>(
                Arrays.asList(file.getPath(), "-u", "-m", "colocalize.imagej._worker"));
        return new Found(command, file.getPath(), source);
    }

    private static File onPath(String name) {
        String path = System.getenv("PATH");
        if (path == null || name.indexOf(File.separatorChar) >= 0) {
            return null;
        }
        for (String dir : path.split(File.pathSeparator)) {
            File candidate = new File(dir, name);
            if (candidate.isFile() && candidate.canExecute()) {
                return candidate;
            }
        }
        return null;
    }

    private static String firstLine(File file) {
        try (BufferedReader reader = new BufferedReader(
                new InputStreamReader(new FileInputStream(file), "UTF-8"))) {
            String line;
            while ((line = reader.readLine()) != null) {
                if (!line.trim().isEmpty()) {
                    return line.trim();
                }
            }
        } catch (IOException e) {
            IJ.log("colocalize: cannot read " + file + ": " + e.getMessage());
        }
        return null;
    }

    private static boolean isSet(String value) {
        return value != null && !value.trim().isEmpty();
    }

    private static String stripSlash(String folder) {
        return folder.length() > 1 && (folder.endsWith("/") || folder.endsWith("\\"))
                ? folder.substring(0, folder.length() - 1) : folder;
    }

    private static String quoteIfNeeded(String path) {
        return path.contains(" ") ? "\"" + path + "\"" : path;
    }
}
