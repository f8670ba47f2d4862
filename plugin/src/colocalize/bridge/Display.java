package colocalize.bridge;

import ij.CompositeImage;
import ij.IJ;
import ij.ImagePlus;
import ij.ImageStack;
import ij.Prefs;
import ij.WindowManager;
import ij.gui.Overlay;
import ij.gui.Plot;
import ij.gui.Roi;
import ij.io.FileSaver;
import ij.plugin.filter.ThresholdToSelection;
import ij.macro.Interpreter;
import ij.measure.Calibration;
import ij.measure.ResultsTable;
import ij.process.ByteProcessor;
import ij.process.FloatProcessor;
import ij.process.ImageProcessor;
import ij.process.LUT;
import ij.process.ShortProcessor;
import java.awt.Color;
import java.awt.GraphicsEnvironment;
import java.awt.Rectangle;
import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Shows a command's OUTPUTS in ImageJ: tables as ResultsTables (the title "Results" is the system
 * table), images with calibration, LUTs and channel names, plots as {@code ij.gui.Plot}, log lines
 * and the status line; outputs carrying {@code "save"} are also written to that path. Overlays are
 * drawn on open images as elements of their ImageJ Overlay, never into their pixels.
 */
public final class Display {
    /** Named tables kept here when ImageJ has no window to find them by (headless, batch mode). */
    private static final Map<String, ResultsTable> TABLES = new HashMap<String, ResultsTable>();

    private Display() {
    }

    /**
     * Shows OUTPUTS ({@code {"tables": .., "images": .., "plots": .., "log": .., "status": ..}})
     * whose arrays index the message's buffers. Used by every command and by Python's
     * {@code colocalize.imagej.show}.
     *
     * @return what was shown, in order: a ResultsTable per table, an ImagePlus per image and per
     *         plot, an ij.gui.Overlay per overlay (the image's whole overlay)
     * @throws BridgeException when an output cannot be shown or saved
     */
    public static Object[] show(Message outputs) throws BridgeException {
        return show(Json.parseObject(outputs.json()), outputs.buffers());
    }

    static Object[] show(Map<String, Object> outputs, ByteBuffer[] buffers) throws BridgeException {
        List<Object> shown = new ArrayList<Object>();
        for (Map<String, Object> table : Json.objects(outputs, "tables")) {
            shown.add(table(table));
        }
        for (Map<String, Object> image : Json.objects(outputs, "images")) {
            ImagePlus imp = image(image, buffers);
            if (Json.bool(image, "show", true)) {
                imp.show();
            }
            String path = Json.string(image, "save", null);
            if (path != null && !(writable(path) && new FileSaver(imp).saveAsTiff(path))) {
                throw cannotSave(imp.getTitle(), path);
            }
            shown.add(imp);
        }
        for (Map<String, Object> plot : Json.objects(outputs, "plots")) {
            shown.add(plot(plot));
        }
        for (Map<String, Object> overlay : Json.objects(outputs, "overlays")) {
            shown.add(overlay(overlay, buffers));
        }
        for (Object line : Json.list(outputs, "log")) {
            IJ.log(String.valueOf(line));
        }
        String status = Json.string(outputs, "status", null);
        if (status != null) {
            IJ.showStatus(status);
        }
        return shown.toArray();
    }

    /**
     * The table shown under {@code title} ("Results": the system table), also headless or in batch
     * mode where ImageJ 1.x keeps no window to find it by; null when there is none.
     */
    public static ResultsTable table(String title) {
        if (title.equals("Results")) {
            return ResultsTable.getResultsTable();
        }
        ResultsTable table = ResultsTable.getResultsTable(title);
        if (table == null && noWindows()) {
            synchronized (TABLES) {
                table = TABLES.get(title);
            }
        }
        return table;
    }

    /**
     * An output IMAGE (the message's JSON is one IMAGE object) as an ImagePlus, not shown: the one
     * place where protocol pixels become an ImagePlus, also for Python's to_imageplus.
     */
    public static ImagePlus toImagePlus(Message image) throws BridgeException {
        return image(Json.parseObject(image.json()), image.buffers());
    }

    /** Headless, batch mode or a -batch launch: no table windows to find a table by. */
    private static boolean noWindows() {
        return windowless() || Interpreter.isBatchMode();
    }

    /**
     * Headless, or ImageJ launched with -batch: named tables get no window, so that a macro's
     * {@code saveAs("Results", path)} (which saves the front table window) saves the system
     * Results table.
     */
    private static boolean windowless() {
        return GraphicsEnvironment.isHeadless() || ExitStatus.imagejBatchMode();
    }

    /** Adds (mode "append") or sets (mode "replace") a table's rows and shows it. */
    private static ResultsTable table(Map<String, Object> spec) throws BridgeException {
        String title = Json.string(spec, "title", "Results");
        boolean system = title.equals("Results");
        ResultsTable table = table(title);
        if (table == null) {
            table = new ResultsTable();
        }
        if (!system) {
            synchronized (TABLES) {
                TABLES.put(title, table);
            }
        }
        if ("replace".equals(Json.string(spec, "mode", "append"))) {
            table.reset();
        }
        addRows(table, spec);
        if (system || !windowless()) {
            table.show(title);
        }
        if (!system && noWindows() && Json.bool(spec, "results", false)) {
            ResultsTable results = ResultsTable.getResultsTable();
            addRows(results, spec);
            results.show("Results");
        }
        String path = Json.string(spec, "save", null);
        if (path != null) {
            try {
                table.saveAs(path);
            } catch (IOException | RuntimeException e) {
                throw cannotSave(title, path);
            }
        }
        return table;
    }

    private static void addRows(ResultsTable table, Map<String, Object> spec) {
        List<Map<String, Object>> columns = Json.objects(spec, "columns");
        int rows = columns.isEmpty() ? 0 : Json.list(columns.get(0), "values").size();
        for (int row = 0; row < rows; row++) {
            table.incrementCounter();
            for (Map<String, Object> column : columns) {
                String name = Json.string(column, "name", "");
                List<Object> values = Json.list(column, "values");
                Object value = row < values.size() ? values.get(row) : null;
                if (value instanceof String) {
                    table.addValue(name, (String) value);
                } else {
                    table.addValue(name, value instanceof Number ? ((Number) value).doubleValue() : Double.NaN);
                }
            }
        }
    }

    /** An IMAGE as an ImagePlus (a CompositeImage for several channels); not shown. */
    static ImagePlus image(Map<String, Object> spec, ByteBuffer[] buffers) throws BridgeException {
        String title = Json.string(spec, "title", "colocalize output");
        String axes = Json.string(spec, "axes", "YX");
        Map<String, Object> data = Json.object(spec, "data");
        List<Object> shape = data == null ? null : Json.list(data, "shape");
        if (data == null || shape.size() != axes.length() || !axes.endsWith("YX")) {
            throw new BridgeException("the output image " + title + " has no pixel data for axes " + axes);
        }
        int[] size = {1, 1, 1}; // T, C, Z
        for (int i = 0; i < axes.length() - 2; i++) {
            size["TCZ".indexOf(axes.charAt(i))] = ((Number) shape.get(i)).intValue();
        }
        int height = ((Number) shape.get(axes.length() - 2)).intValue();
        int width = ((Number) shape.get(axes.length() - 1)).intValue();
        String dtype = Json.string(data, "dtype", "");
        ByteBuffer source = buffers[(int) Json.number(data, "buffer", 0)].duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int frames = size[0];
        int channels = size[1];
        int slices = size[2];
        ImageStack stack = new ImageStack(width, height);
        List<Object> names = Json.list(spec, "channel_names");
        for (int t = 0; t < frames; t++) {
            for (int z = 0; z < slices; z++) {
                for (int c = 0; c < channels; c++) {
                    int plane = (t * channels + c) * slices + z;
                    Object label = c < names.size() ? names.get(c) : null;
                    stack.addSlice(label == null ? null : label.toString(),
                            plane(source, plane, width, height, dtype, title));
                }
            }
        }
        ImagePlus imp = new ImagePlus(title, stack);
        imp.setDimensions(channels, slices, frames);
        imp.setOpenAsHyperStack(channels > 1 || (slices > 1 && frames > 1));
        calibrate(imp, spec, axes);
        List<Object> luts = Json.list(spec, "luts");
        if (channels > 1) {
            imp = new CompositeImage(imp, luts.isEmpty() ? IJ.GRAYSCALE : IJ.COMPOSITE);
        }
        applyLuts(imp, spec, luts, channels);
        return imp;
    }

    private static ImageProcessor plane(ByteBuffer source, int index, int width, int height, String dtype,
            String title) throws BridgeException {
        int n = width * height;
        ByteBuffer view = source.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        if (dtype.equals("|u1") || dtype.equals("|b1")) {
            byte[] pixels = new byte[n];
            view.position(index * n);
            view.get(pixels);
            return new ByteProcessor(width, height, pixels);
        }
        if (dtype.equals("<u2")) {
            short[] pixels = new short[n];
            view.position(index * n * 2);
            view.asShortBuffer().get(pixels);
            return new ShortProcessor(width, height, pixels, null);
        }
        if (dtype.equals("<f4")) {
            float[] pixels = new float[n];
            view.position(index * n * 4);
            view.asFloatBuffer().get(pixels);
            return new FloatProcessor(width, height, pixels);
        }
        throw new BridgeException("the output image " + title + " has pixel type " + dtype
                + ", which ImageJ cannot show (expected |u1, <u2 or <f4)");
    }

    private static void calibrate(ImagePlus imp, Map<String, Object> spec, String axes) {
        List<Object> spacing = Json.list(spec, "spacing");
        String unit = Json.string(spec, "unit", "pixel");
        Calibration cal = imp.getCalibration();
        for (int i = 0; i < axes.length() && i < spacing.size(); i++) {
            Object value = spacing.get(i);
            double step = value instanceof Number ? ((Number) value).doubleValue() : 1.0;
            switch (axes.charAt(i)) {
                case 'X':
                    cal.pixelWidth = step;
                    break;
                case 'Y':
                    cal.pixelHeight = step;
                    break;
                case 'Z':
                    cal.pixelDepth = step;
                    break;
                case 'T':
                    cal.frameInterval = step;
                    break;
                default:
                    break;
            }
        }
        if (!unit.equals("pixel") && !unit.isEmpty()) {
            cal.setUnit(unit);
        }
        cal.setTimeUnit(Json.string(spec, "time_unit", "sec"));
    }

    private static void applyLuts(ImagePlus imp, Map<String, Object> spec, List<Object> luts, int channels) {
        List<Object> ranges = Json.list(spec, "display_ranges");
        String name = Json.string(spec, "lut", null);
        for (int c = 0; c < channels; c++) {
            LUT lut = null;
            if ("glasbey".equals(name)) {
                lut = glasbey();
            } else if ("inverted".equals(name) || ("mask".equals(name) && !Prefs.blackBackground)) {
                // "mask": ImageJ's binary images are inverted unless Process > Binary > Options says
                // black background (255 = foreground either way)
                lut = LUT.createLutFromColor(Color.white).createInvertedLut();
            } else if ("mask".equals(name) || "grays".equals(name)) {
                lut = LUT.createLutFromColor(Color.white);
            } else if (c < luts.size() && luts.get(c) instanceof Map) {
                @SuppressWarnings("unchecked")
                Map<String, Object> given = (Map<String, Object>) luts.get(c);
                lut = LUT.createLutFromColor(Color.decode(Json.string(given, "color", "#ffffff")));
                if (Json.bool(given, "inverted", false)) {
                    lut = lut.createInvertedLut();
                }
            }
            double[] range = range(ranges, c);
            if (imp instanceof CompositeImage) {
                CompositeImage composite = (CompositeImage) imp;
                if (lut != null) {
                    composite.setChannelLut(lut, c + 1);
                }
                if (range != null) {
                    composite.setPositionWithoutUpdate(c + 1, 1, 1);
                    composite.setDisplayRange(range[0], range[1]);
                }
            } else {
                if (lut != null) {
                    imp.getProcessor().setLut(lut);
                }
                if (range != null) {
                    imp.setDisplayRange(range[0], range[1]);
                } else if ("glasbey".equals(name) && imp.getBitDepth() != 32) {
                    imp.setDisplayRange(0, 255); // label n keeps colour n, whatever the labels present
                }
            }
        }
        if (imp instanceof CompositeImage) {
            imp.setPosition(1, 1, 1);
        }
    }

    private static double[] range(List<Object> ranges, int channel) {
        if (channel >= ranges.size() || !(ranges.get(channel) instanceof List)) {
            return null;
        }
        List<?> pair = (List<?>) ranges.get(channel);
        if (pair.size() != 2 || !(pair.get(0) instanceof Number) || !(pair.get(1) instanceof Number)) {
            return null;
        }
        return new double[] {((Number) pair.get(0)).doubleValue(), ((Number) pair.get(1)).doubleValue()};
    }

    /** A LUT of 255 well-separated colours after black, for label images (in the spirit of glasbey). */
    private static LUT glasbey() {
        byte[] r = new byte[256];
        byte[] g = new byte[256];
        byte[] b = new byte[256];
        for (int i = 1; i < 256; i++) {
            float hue = (i * 0.618034f) % 1f;
            float saturation = 0.55f + 0.45f * ((i * 7) % 3) / 2f;
            float brightness = 1f - 0.35f * ((i * 5) % 4) / 3f;
            int rgb = Color.HSBtoRGB(hue, saturation, brightness);
            r[i] = (byte) (rgb >> 16);
            g[i] = (byte) (rgb >> 8);
            b[i] = (byte) rgb;
        }
        return new LUT(r, g, b);
    }

    /** Roi property naming the overlay group an element belongs to (only our elements have it). */
    static final String GROUP = "colocalize";

    /**
     * Draws an OVERLAY on the open image of its title: one Roi per listed object and plane (traced
     * from the labels, exact to the pixel; outlined, or filled with the given opacity), named after
     * the object, positioned on its plane. The elements an earlier overlay of the same name added
     * are replaced; every other element (the user's) stays. The image's pixels never change.
     */
    private static Overlay overlay(Map<String, Object> spec, ByteBuffer[] buffers) throws BridgeException {
        String group = Json.string(spec, "name", "colocalize");
        String title = Json.string(spec, "image", "");
        ImagePlus imp = WindowManager.getImage(title);
        if (imp == null) {
            throw new BridgeException("cannot draw the overlay " + group + ": no open image is called " + title);
        }
        String axes = Json.string(spec, "axes", "YX");
        Map<String, Object> data = Json.object(spec, "labels");
        List<Object> shape = data == null ? null : Json.list(data, "shape");
        int[] size = {1, 1}; // T, Z
        boolean fits = shape != null && shape.size() == axes.length() && axes.endsWith("YX");
        for (int i = 0; fits && i < axes.length() - 2; i++) {
            int axis = "TZ".indexOf(axes.charAt(i));
            fits = axis >= 0;
            if (fits) {
                size[axis] = ((Number) shape.get(i)).intValue();
            }
        }
        fits = fits && ((Number) shape.get(axes.length() - 1)).intValue() == imp.getWidth()
                && ((Number) shape.get(axes.length() - 2)).intValue() == imp.getHeight()
                && (axes.indexOf('T') < 0 || size[0] == imp.getNFrames())
                && (axes.indexOf('Z') < 0 || size[1] == imp.getNSlices());
        if (!fits) {
            throw new BridgeException("cannot draw the overlay " + group + " (" + shape + ", axes " + axes
                    + ") on " + title + " (" + imp.getWidth() + "x" + imp.getHeight() + "x" + imp.getNSlices()
                    + ", " + imp.getNFrames() + " frames)");
        }
        Map<Integer, Map<String, Object>> objects = new HashMap<Integer, Map<String, Object>>();
        for (Map<String, Object> object : Json.objects(spec, "objects")) {
            objects.put((int) Json.number(object, "label", 0), object);
        }
        double fill = Json.number(spec, "fill", 0);
        Overlay overlay = imp.getOverlay() == null ? new Overlay() : imp.getOverlay();
        for (Roi roi : overlay.toArray()) {
            if (group.equals(roi.getProperty(GROUP))) {
                overlay.remove(roi);
            }
        }
        String dtype = Json.string(data, "dtype", "");
        ByteBuffer source = buffers[(int) Json.number(data, "buffer", 0)];
        int width = imp.getWidth();
        int height = imp.getHeight();
        for (int t = 0; t < size[0]; t++) {
            for (int z = 0; z < size[1]; z++) {
                int[] labels = labelPlane(source, t * size[1] + z, width * height, dtype, group);
                for (Map.Entry<Integer, Rectangle> box : boxes(labels, width, objects.keySet()).entrySet()) {
                    Roi roi = trace(labels, width, box.getKey(), box.getValue());
                    Map<String, Object> object = objects.get(box.getKey());
                    Color color = Color.decode(Json.string(object, "color", "#ffff00"));
                    if (fill > 0) {
                        roi.setFillColor(new Color(color.getRed(), color.getGreen(), color.getBlue(),
                                (int) Math.round(255 * Math.min(fill, 1))));
                    } else {
                        roi.setStrokeColor(color);
                    }
                    roi.setName(Json.string(object, "name", group));
                    roi.setProperty(GROUP, group);
                    position(roi, imp, axes, z + 1, t + 1);
                    overlay.add(roi);
                }
            }
        }
        imp.setOverlay(overlay);
        return overlay;
    }

    private static int[] labelPlane(ByteBuffer source, int index, int n, String dtype, String group)
            throws BridgeException {
        ByteBuffer view = source.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int[] out = new int[n];
        if (dtype.equals("|u1") || dtype.equals("|b1")) {
            view.position(index * n);
            for (int i = 0; i < n; i++) {
                out[i] = view.get() & 0xff;
            }
        } else if (dtype.equals("<u2")) {
            view.position(index * n * 2);
            for (int i = 0; i < n; i++) {
                out[i] = view.getShort() & 0xffff;
            }
        } else if (dtype.equals("<i4")) {
            view.position(index * n * 4);
            view.asIntBuffer().get(out);
        } else {
            throw new BridgeException("the overlay " + group + " has labels of type " + dtype
                    + " (expected |u1, <u2 or <i4)");
        }
        return out;
    }

    /** The bounding box of every wanted label present in a plane, in the order of first pixels. */
    private static Map<Integer, Rectangle> boxes(int[] labels, int width, java.util.Set<Integer> wanted) {
        Map<Integer, int[]> bounds = new java.util.LinkedHashMap<Integer, int[]>(); // xmin, ymin, xmax, ymax
        for (int i = 0; i < labels.length; i++) {
            int label = labels[i];
            if (label == 0 || !wanted.contains(label)) {
                continue;
            }
            int x = i % width;
            int y = i / width;
            int[] b = bounds.get(label);
            if (b == null) {
                bounds.put(label, new int[] {x, y, x, y});
            } else {
                b[0] = Math.min(b[0], x);
                b[2] = Math.max(b[2], x);
                b[3] = y;
            }
        }
        Map<Integer, Rectangle> boxes = new java.util.LinkedHashMap<Integer, Rectangle>();
        for (Map.Entry<Integer, int[]> entry : bounds.entrySet()) {
            int[] b = entry.getValue();
            boxes.put(entry.getKey(), new Rectangle(b[0], b[1], b[2] - b[0] + 1, b[3] - b[1] + 1));
        }
        return boxes;
    }

    /** The pixels of {@code label} inside {@code box} as a selection (ImageJ's "Create Selection"). */
    private static Roi trace(int[] labels, int width, int label, Rectangle box) {
        ByteProcessor mask = new ByteProcessor(box.width, box.height);
        for (int y = 0; y < box.height; y++) {
            for (int x = 0; x < box.width; x++) {
                if (labels[(box.y + y) * width + box.x + x] == label) {
                    mask.set(x, y, 255);
                }
            }
        }
        mask.setThreshold(255, 255, ImageProcessor.NO_LUT_UPDATE);
        Roi roi = new ThresholdToSelection().convert(mask);
        roi.setLocation(roi.getXBase() + box.x, roi.getYBase() + box.y);
        return roi;
    }

    /** Puts a Roi on plane (z, t) of {@code imp} (1-based; every channel); labels without Z and T
     * go on every plane. */
    private static void position(Roi roi, ImagePlus imp, String axes, int z, int t) {
        if (axes.length() == 2) {
            return;
        }
        if (imp.isHyperStack() || imp.getNChannels() > 1) {
            roi.setPosition(0, axes.indexOf('Z') < 0 ? 0 : z, axes.indexOf('T') < 0 ? 0 : t);
        } else {
            roi.setPosition(imp.getNSlices() > 1 ? z : t);
        }
    }

    private static ImagePlus plot(Map<String, Object> spec) throws BridgeException {
        String title = Json.string(spec, "title", "Plot");
        Plot plot = new Plot(title, Json.string(spec, "x_label", "x"), Json.string(spec, "y_label", "y"));
        StringBuilder legend = new StringBuilder();
        for (Map<String, Object> series : Json.objects(spec, "series")) {
            plot.setColor(Color.decode(Json.string(series, "color", "#000000")));
            plot.setLineWidth((float) Json.number(series, "width", 1));
            plot.addPoints(numbers(series, "x"), numbers(series, "y"), shape(Json.string(series, "style", "line")));
            legend.append(legend.length() == 0 ? "" : "\n").append(Json.string(series, "label", ""));
        }
        if (Json.bool(spec, "legend", true) && legend.length() > 0) {
            plot.addLegend(legend.toString());
        }
        if (Json.bool(spec, "x_log", false)) {
            plot.setLogScaleX();
        }
        if (Json.bool(spec, "y_log", false)) {
            plot.setLogScaleY();
        }
        List<Object> limits = Json.list(spec, "limits");
        if (limits.size() == 4) {
            double[] values = new double[4];
            for (int i = 0; i < 4; i++) {
                values[i] = limits.get(i) instanceof Number ? ((Number) limits.get(i)).doubleValue() : Double.NaN;
            }
            plot.setLimits(values[0], values[1], values[2], values[3]);
        }
        if (GraphicsEnvironment.isHeadless()) {
            if (Interpreter.isBatchMode()) {
                plot.getImagePlus().show();
            }
        } else {
            plot.show();
        }
        String path = Json.string(spec, "save", null);
        if (path != null && !(writable(path) && new FileSaver(plot.getImagePlus()).saveAsPng(path))) {
            throw cannotSave(title, path);
        }
        return plot.getImagePlus();
    }

    private static int shape(String style) {
        switch (style) {
            case "circle":
                return Plot.CIRCLE;
            case "dot":
                return Plot.DOT;
            case "bar":
                return Plot.BAR;
            case "connected":
                return Plot.CONNECTED_CIRCLES;
            default:
                return Plot.LINE;
        }
    }

    private static double[] numbers(Map<String, Object> map, String key) {
        List<Object> values = Json.list(map, key);
        double[] out = new double[values.size()];
        for (int i = 0; i < out.length; i++) {
            Object value = values.get(i);
            out[i] = value instanceof Number ? ((Number) value).doubleValue() : Double.NaN;
        }
        return out;
    }

    /** True when {@code path}'s folder exists and can be written (FileSaver would show a modal error). */
    private static boolean writable(String path) {
        File folder = new File(path).getAbsoluteFile().getParentFile();
        return folder != null && folder.isDirectory() && folder.canWrite();
    }

    private static BridgeException cannotSave(String title, String path) {
        return new BridgeException("could not save " + title + " in " + path);
    }
}
