package colocalize.bridge;

import ij.Menus;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.lang.reflect.Field;
import java.util.Hashtable;

/**
 * Makes this jar's commands runnable ({@code run("...")}) in a headless plain ImageJ 1.x, whose
 * menus cannot be built without AWT. Not needed with a display, nor in Fiji (ij1-patcher).
 * Python calls it for a headless JPype ImageJ; a truly headless plain launch with this jar on the
 * class path ({@code java -Djava.awt.headless=true -cp ij.jar:DIR/plugins/Colocalize_Bridge.jar
 * ij.ImageJ -ijpath DIR -batch job.ijm}) calls it as the macro's first line,
 * {@code call("colocalize.bridge.HeadlessMenus.install");}, and saves results with
 * {@code Table.save(path)} (ImageJ's own commands, {@code saveAs("Results", ..)} included, stay
 * unavailable there).
 */
public final class HeadlessMenus {
    private HeadlessMenus() {
    }

    /** Adds this jar's plugins.config entries to ImageJ's command table; returns how many. */
    @SuppressWarnings("unchecked")
    public static int install() throws IOException, ReflectiveOperationException {
        Field field = Menus.class.getDeclaredField("pluginsTable");
        field.setAccessible(true);
        Hashtable<String, String> table = (Hashtable<String, String>) field.get(null);
        if (table == null) {
            table = new Hashtable<String, String>();
            field.set(null, table);
        }
        int count = 0;
        InputStream stream = HeadlessMenus.class.getResourceAsStream("/plugins.config");
        if (stream == null) {
            throw new IOException("plugins.config not found next to " + HeadlessMenus.class);
        }
        BufferedReader reader = new BufferedReader(new InputStreamReader(stream, "UTF-8"));
        try {
            String line;
            while ((line = reader.readLine()) != null) {
                line = line.trim();
                if (line.isEmpty() || line.startsWith("#")) {
                    continue;
                }
                int open = line.indexOf('"');
                int close = line.indexOf('"', open + 1);
                if (open < 0 || close < 0) {
                    continue;
                }
                String label = line.substring(open + 1, close);
                String className = line.substring(line.indexOf(',', close) + 1).trim();
                table.put(label, className);
                count++;
            }
        } finally {
            reader.close();
        }
        return count;
    }
}
