package colocalize.bridge;

import ij.IJ;
import ij.ImageJ;
import java.awt.GraphicsEnvironment;
import java.lang.reflect.Field;

/**
 * Makes a failed command visible to the shell that launched a batch job: when ImageJ runs as
 * {@code java -jar ij.jar -batch job.ijm} (or headless, e.g. {@code ImageJ-linux64 --headless
 * -macro job.ijm}), a failure sets the JVM's exit status to 1 when ImageJ exits after the macro.
 *
 * <p>How a batch launch is detected: ImageJ's {@code main} sets the private static field
 * {@code ij.ImageJ.batchMode} for {@code -batch} (and {@code -macro}, told apart by the ImageJ
 * window that {@code -macro} opens); a headless JVM started by the {@code java}
 * launcher (the system property {@code sun.java.command} is set) counts too. A JVM hosted by Python
 * (JPype: no {@code sun.java.command}, {@code org.jpype} classes present) never counts, and this
 * class never calls {@code System.exit}: the status is set from a shutdown hook
 * ({@code Runtime.halt(1)} after ImageJ's own {@code System.exit(0)}), and only in a batch launch.
 */
final class ExitStatus {
    private static boolean hooked;

    private ExitStatus() {
    }

    /** Records a failed command: exit status 1 at the end of a batch launch, nothing otherwise. */
    static synchronized void commandFailed() {
        if (hooked || !batchLaunch()) {
            return;
        }
        hooked = true;
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            Worker.stopShared();
            System.out.flush();
            System.err.flush();
            Runtime.getRuntime().halt(1);
        }, "colocalize-exit-status"));
    }

    /** True for a {@code -batch} (or headless) launch by the java launcher, not hosted by Python. */
    static boolean batchLaunch() {
        if (System.getProperty("sun.java.command") == null || pythonHosted()) {
            return false;
        }
        return GraphicsEnvironment.isHeadless() || imagejBatchMode();
    }

    /**
     * True when ImageJ runs a {@code -batch} job: no ImageJ window, and ImageJ's main set its
     * private {@code ij.ImageJ.batchMode} flag (which {@code -macro} sets too, but that launch
     * opens the ImageJ window).
     */
    static boolean imagejBatchMode() {
        if (IJ.getInstance() != null) {
            return false;
        }
        try {
            Field field = ImageJ.class.getDeclaredField("batchMode");
            field.setAccessible(true);
            return field.getBoolean(null);
        } catch (ReflectiveOperationException | RuntimeException e) {
            String command = System.getProperty("sun.java.command", "");
            return (" " + command + " ").contains(" -batch ");
        }
    }

    private static boolean pythonHosted() {
        try {
            Class.forName("org.jpype.JPypeContext", false, ClassLoader.getSystemClassLoader());
            return true;
        } catch (ClassNotFoundException | LinkageError e) {
            return false;
        }
    }
}
