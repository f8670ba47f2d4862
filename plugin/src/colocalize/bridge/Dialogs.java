package colocalize.bridge;

import ij.ImagePlus;
import ij.Macro;
import ij.Prefs;
import ij.WindowManager;
import ij.gui.GenericDialog;
import ij.io.SaveDialog;
import ij.measure.Calibration;
import java.awt.Button;
import java.awt.Component;
import java.awt.GraphicsEnvironment;
import java.awt.TextField;
import java.awt.event.ActionEvent;
import java.awt.event.ActionListener;
import java.io.File;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A command's parameters, from its COMMAND_SPEC: an ImageJ {@code GenericDialog} when AWT has a
 * display (it reads a running macro's options itself and feeds the Macro Recorder), otherwise the
 * same macro keys read with {@code Macro.getValue}; a {@code -batch} launch never shows a dialog
 * (nobody could answer it: a command run without options takes its defaults). A macro option that the dialog would reject
 * with a modal error (a choice not in its list, text in a number field) is passed through
 * unchanged instead, for the Python side to report as one line.
 *
 * <p>A dialog the user answered is remembered (ImageJ {@code Prefs}, keys
 * {@code colocalize.<command>.<field>}) and offered next time, except an image title when that image
 * is no longer open and an output file ("save" fields: only its folder is remembered, where the
 * next Browse starts, since a command never writes over a file) or output folder ("save_folder"); a macro run with options never sees remembered values (fields it does not name
 * take the spec's defaults, as in a headless run). Image defaults skip the images our commands
 * created in this session (masks, label images) when another image is open.
 */
final class Dialogs {
    /** Choice of "no image/mask". */
    static final String NONE = "<None>";
    /** Mask choice: the selection of the command's first image. */
    static final String SELECTION = "<Selection>";
    /** Mask choice: every area ROI of the ROI Manager. */
    static final String ROI_MANAGER = "<ROI Manager>";
    /** Where a COMMAND_SPEC without "help" points: the command's section of docs/fiji.md. */
    static final String DOCS = "https://github.com/colocalize/colocalize/blob/main/docs/fiji.md";
    /** Titles of the images our commands showed in this session (see {@link #created}). */
    private static final Set<String> OUTPUTS = Collections.synchronizedSet(new HashSet<String>());

    private Dialogs() {
    }

    /**
     * Every field's value by macro key (numbers as Double, checkboxes as Boolean, the rest as
     * String), or null when the user cancelled the dialog.
     *
     * @param spec    a COMMAND_SPEC
     * @param options the running macro's options, or null
     */
    static Map<String, Object> ask(Map<String, Object> spec, String options) {
        List<Map<String, Object>> fields = Json.objects(spec, "fields");
        boolean nobodyToAsk = GraphicsEnvironment.isHeadless() || (options == null && ExitStatus.imagejBatchMode());
        if (nobodyToAsk || !dialogCanShow(fields, options)) {
            return fromOptions(fields, options);
        }
        GenericDialog dialog = new GenericDialog(Json.string(spec, "title", "colocalize"));
        String command = Json.string(spec, "key", "");
        for (Map<String, Object> field : fields) {
            add(dialog, field, options == null ? command : null);
        }
        dialog.addHelp(helpUrl(spec));
        dialog.showDialog();
        if (dialog.wasCanceled()) {
            return null;
        }
        Map<String, Object> values = new LinkedHashMap<String, Object>();
        for (Map<String, Object> field : fields) {
            String kind = Json.string(field, "kind", "");
            String key = Json.string(field, "key", "");
            if (kind.equals("number") || kind.equals("integer")) {
                values.put(key, dialog.getNextNumber());
            } else if (kind.equals("checkbox")) {
                values.put(key, dialog.getNextBoolean());
            } else if (kind.equals("string") || kind.equals("file") || isOutput(kind)
                    || kind.equals("directory")) {
                values.put(key, dialog.getNextString());
            } else if (!kind.equals("message")) {
                values.put(key, dialog.getNextChoice());
            }
        }
        if (options == null) {
            for (Map<String, Object> field : fields) {
                String key = Json.string(field, "key", "");
                if (!values.containsKey(key)) {
                    continue;
                }
                String value = String.valueOf(values.get(key));
                String kind = Json.string(field, "kind", "");
                if (!isOutput(kind)) {
                    Prefs.set(prefsKey(command, key), value);
                } else if (kind.equals("save") && !value.trim().isEmpty()) {
                    // an output file: only its folder, where the next Browse starts
                    File folder = new File(value.trim()).getAbsoluteFile().getParentFile();
                    Prefs.set(prefsKey(command, key) + FOLDER, folder == null ? null : folder.getPath());
                }
            }
        }
        return values;
    }

    /** The spec's "help" URL, or the command's section of docs/fiji.md when it has none. */
    static String helpUrl(Map<String, Object> spec) {
        String help = Json.string(spec, "help", "");
        if (help != null && !help.trim().isEmpty()) {
            return help;
        }
        String title = Json.string(spec, "title", Json.string(spec, "label", ""));
        // GitHub's heading anchor: lower case, punctuation dropped, spaces as hyphens
        String anchor = title.toLowerCase().replaceAll("[^a-z0-9 _-]", "").trim().replace(' ', '-');
        return anchor.isEmpty() ? DOCS : DOCS + "#" + anchor;
    }

    /** Notes that our command showed {@code title}: image defaults skip it while others are open. */
    static void created(String title) {
        OUTPUTS.add(title);
    }

    /** Suffix of the Prefs key of a "save" field: the folder of the last file chosen. */
    static final String FOLDER = ".folder";

    private static String prefsKey(String command, String key) {
        return "colocalize." + command + "." + key;
    }

    /** The items of a choice, image or mask field (open image titles for the last two). */
    static String[] choices(Map<String, Object> field) {
        String kind = Json.string(field, "kind", "");
        List<String> items = new ArrayList<String>();
        if (kind.equals("choice")) {
            for (Object item : Json.list(field, "choices")) {
                items.add(String.valueOf(item));
            }
            return items.toArray(new String[0]);
        }
        List<Object> options = Json.list(field, "options");
        if (Json.bool(field, "optional", false) || options.contains("none")) {
            items.add(NONE);
        }
        if (options.contains("selection")) {
            items.add(SELECTION);
        }
        if (options.contains("roi_manager")) {
            items.add(ROI_MANAGER);
        }
        items.addAll(Arrays.asList(titles()));
        return items.toArray(new String[0]);
    }

    /**
     * A field's default with "@current" (the current image), "@second" (the first other open
     * image) and "@pixel_size" / "@pixel_size*F" (F times {@link #pixelSize}) resolved.
     */
    static Object defaultValue(Map<String, Object> field) {
        Object value = field.get("default");
        ImagePlus current = WindowManager.getCurrentImage();
        if ("@current".equals(value) || "@second".equals(value)) {
            // a "labels" field (Coloc Cytoplasm Rings) wants a label image: our outputs are its best default
            Set<String> skip = "labels".equals(Json.string(field, "key", "")) ? Collections.<String>emptySet() : OUTPUTS;
            List<String> titles = new ArrayList<String>();
            for (String title : titles()) {
                if (!skip.contains(title)) {
                    titles.add(title); // sources first, our own outputs only when nothing else is open
                }
            }
            for (String title : titles()) {
                if (skip.contains(title)) {
                    titles.add(title);
                }
            }
            String currentTitle = current == null ? null : current.getTitle();
            if (currentTitle != null && skip.contains(currentTitle) && !skip.contains(titles.get(0))) {
                currentTitle = titles.get(0);
            }
            if ("@second".equals(value)) {
                for (String title : titles) {
                    if (!title.equals(currentTitle)) {
                        return title;
                    }
                }
            }
            return currentTitle != null ? currentTitle : titles.isEmpty() ? "" : titles.get(0);
        }
        if (value instanceof String && ((String) value).startsWith("@pixel_size")) {
            String factor = ((String) value).substring("@pixel_size".length());
            Double times = factor.startsWith("*") ? parse(factor.substring(1)) : Double.valueOf(1);
            return pixelSize(current) * (times == null ? 1 : times);
        }
        return value;
    }

    /** The largest spatial pixel size of {@code imp} (depth only for stacks), 1 uncalibrated. */
    private static double pixelSize(ImagePlus imp) {
        if (imp == null || !imp.getCalibration().scaled()) {
            return 1.0;
        }
        Calibration cal = imp.getCalibration();
        double size = Math.max(cal.pixelWidth, cal.pixelHeight);
        return imp.getNSlices() > 1 ? Math.max(size, cal.pixelDepth) : size;
    }

    private static String[] titles() {
        String[] titles = WindowManager.getImageTitles();
        return titles == null ? new String[0] : titles;
    }

    /** False when a macro option would make the dialog open a modal error, or a list is empty. */
    private static boolean dialogCanShow(List<Map<String, Object>> fields, String options) {
        for (Map<String, Object> field : fields) {
            String kind = Json.string(field, "kind", "");
            String key = Json.string(field, "key", "");
            boolean isChoice = isChoice(kind);
            if (isChoice && choices(field).length == 0) {
                return false;
            }
            String value = options == null ? null : Macro.getValue(options, key, null);
            if (value == null) {
                continue;
            }
            if (isChoice && !Arrays.asList(choices(field)).contains(value)) {
                return false;
            }
            if ((kind.equals("number") || kind.equals("integer")) && parse(value) == null) {
                return false;
            }
        }
        return true;
    }

    /**
     * Adds {@code field} to {@code dialog}, showing the value remembered for {@code command} (null:
     * a macro with options runs, remembered values are not used) when it is still valid.
     */
    private static void add(GenericDialog dialog, Map<String, Object> field, String command) {
        String kind = Json.string(field, "kind", "");
        String label = Json.string(field, "label", "");
        Object fallback = defaultValue(field);
        // an output file is never offered again: the command refuses to write over it
        String remembered = command == null || kind.equals("message") || isOutput(kind) ? null
                : Prefs.get(prefsKey(command, Json.string(field, "key", "")), null);
        if (remembered != null) {
            if (kind.equals("number") || kind.equals("integer")) {
                Double number = parse(remembered);
                fallback = number == null ? fallback : number;
            } else if (kind.equals("checkbox")) {
                fallback = Boolean.valueOf(remembered);
            } else if (!isChoice(kind) || Arrays.asList(choices(field)).contains(remembered)) {
                fallback = remembered; // an image title only while that image is open
            }
        }
        if (kind.equals("number") || kind.equals("integer")) {
            int digits = kind.equals("integer") ? 0 : (int) Json.number(field, "digits", 3);
            double number = fallback instanceof Number ? ((Number) fallback).doubleValue() : 0;
            dialog.addNumericField(label, number, digits);
        } else if (kind.equals("checkbox")) {
            dialog.addCheckbox(label, Boolean.TRUE.equals(fallback));
        } else if (kind.equals("string")) {
            dialog.addStringField(label, text(fallback), (int) Json.number(field, "columns", 20));
        } else if (kind.equals("file")) {
            dialog.addFileField(label, text(fallback));
        } else if (kind.equals("save")) {
            String folder = command == null ? null
                    : Prefs.get(prefsKey(command, Json.string(field, "key", "")) + FOLDER, null);
            addSaveField(dialog, label, text(fallback), folder);
        } else if (kind.equals("directory") || kind.equals("save_folder")) {
            dialog.addDirectoryField(label, text(fallback));
        } else if (kind.equals("message")) {
            dialog.addMessage(label);
        } else {
            String[] items = choices(field);
            String chosen = text(fallback);
            dialog.addChoice(label, items, Arrays.asList(items).contains(chosen) ? chosen : items[0]);
        }
    }

    /**
     * An output-file field: ImageJ's file field (a text field and a Browse button), its button
     * opening a save dialog (a new file name may be typed) in {@code folder} (null: ImageJ's
     * default folder) instead of an open dialog.
     */
    private static void addSaveField(GenericDialog dialog, String label, String path, String folder) {
        dialog.addFileField(label, path);
        final TextField text = (TextField) dialog.getStringFields().lastElement();
        final String start = folder != null && new File(folder).isDirectory() ? folder : null;
        for (Component component : text.getParent().getComponents()) {
            if (!(component instanceof Button)) {
                continue;
            }
            Button browse = (Button) component;
            for (ActionListener listener : browse.getActionListeners()) {
                browse.removeActionListener(listener);
            }
            final String title = label.replace('_', ' ');
            browse.addActionListener(new ActionListener() {
                @Override
                public void actionPerformed(ActionEvent event) {
                    String current = text.getText().trim();
                    File chosen = current.isEmpty() ? null : new File(current).getAbsoluteFile();
                    String dir = chosen != null && chosen.getParentFile() != null
                            && chosen.getParentFile().isDirectory() ? chosen.getParent() : start;
                    String name = chosen == null ? "" : chosen.getName();
                    SaveDialog save = dir == null ? new SaveDialog(title, name, "")
                            : new SaveDialog(title, dir, name, "");
                    if (save.getFileName() != null) {
                        text.setText(new File(save.getDirectory(), save.getFileName()).getPath());
                    }
                }
            });
        }
    }

    /** The values without a dialog: macro options where given (like ImageJ), defaults otherwise. */
    private static Map<String, Object> fromOptions(List<Map<String, Object>> fields, String options) {
        Map<String, Object> values = new LinkedHashMap<String, Object>();
        String padded = options == null ? null : " " + options + " ";
        for (Map<String, Object> field : fields) {
            String kind = Json.string(field, "kind", "");
            String key = Json.string(field, "key", "");
            if (kind.equals("message")) {
                continue;
            }
            if (kind.equals("checkbox")) {
                // ImageJ: with macro options, a checkbox is on exactly when its key is a word of them
                values.put(key, padded == null ? Boolean.TRUE.equals(defaultValue(field))
                        : padded.contains(" " + key + " "));
                continue;
            }
            String given = options == null ? null : Macro.getValue(options, key, null);
            if (given == null) {
                Object fallback = defaultValue(field);
                values.put(key, fallback == null ? "" : fallback);
            } else if (kind.equals("number") || kind.equals("integer")) {
                Double number = parse(given);
                values.put(key, number == null ? given : number);
            } else {
                values.put(key, given);
            }
        }
        return values;
    }

    /**
     * An output file ("save") or folder ("save_folder", e.g. Coloc Batch's output, whose default
     * follows the input folder): never offered again from Prefs.
     */
    private static boolean isOutput(String kind) {
        return kind.equals("save") || kind.equals("save_folder");
    }

    private static boolean isChoice(String kind) {
        return kind.equals("choice") || kind.equals("image") || kind.equals("mask");
    }

    private static Double parse(String text) {
        try {
            return Double.valueOf(text.trim());
        } catch (NumberFormatException e) {
            return null;
        }
    }

    private static String text(Object value) {
        return value == null ? "" : value.toString();
    }
}
