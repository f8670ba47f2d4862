package colocalize.bridge;

import ij.CompositeImage;
import ij.ImagePlus;
import ij.ImageStack;
import ij.gui.Roi;
import ij.measure.Calibration;
import ij.plugin.frame.RoiManager;
import ij.process.ImageProcessor;
import ij.process.LUT;
import java.awt.HeadlessException;
import java.awt.Rectangle;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Reads ImageJ inputs into protocol form, never modifying them: an {@link ImagePlus} of any type,
 * stack or hyperstack becomes an IMAGE (axes a subset of TCZYX in that order; RGB becomes three
 * 8-bit channels) whose pixels are copied into one buffer; an area selection or the ROI Manager's
 * area ROIs become ROI_MASKs (1 byte per pixel, 0/1). One instance collects the buffers of one
 * message.
 */
public final class Inputs {
    /** Where the buffers of a message come from. */
    public interface Allocator {
        /** A little-endian buffer of exactly {@code bytes} bytes, position 0. */
        ByteBuffer allocate(long bytes) throws IOException;
    }

    /** Direct buffers in this JVM (the in-process transport). */
    public static final Allocator DIRECT = bytes -> {
        if (bytes > Integer.MAX_VALUE) {
            throw new IOException("an input of " + bytes + " bytes is over the 2 GiB buffer limit");
        }
        return ByteBuffer.allocateDirect((int) bytes).order(ByteOrder.LITTLE_ENDIAN);
    };

    private final Allocator allocator;
    private final List<ByteBuffer> buffers = new ArrayList<ByteBuffer>();

    /** @param allocator where this message's buffers are allocated */
    public Inputs(Allocator allocator) {
        this.allocator = allocator;
    }

    /** The buffers added so far, in index order. */
    public ByteBuffer[] buffers() {
        return buffers.toArray(new ByteBuffer[0]);
    }

    /** An image as a single-image message: IMAGE JSON plus its pixel buffer (direct memory). */
    public static Message image(ImagePlus imp) throws IOException {
        Inputs inputs = new Inputs(DIRECT);
        return new Message(Json.write(inputs.image(imp, imp.getTitle())), inputs.buffers());
    }

    /**
     * The IMAGE of {@code imp} under {@code title}, its pixels appended to this message's buffers.
     */
    public Map<String, Object> image(ImagePlus imp, String title) throws IOException {
        boolean rgb = imp.getType() == ImagePlus.COLOR_RGB;
        int width = imp.getWidth();
        int height = imp.getHeight();
        int frames = imp.getNFrames();
        int slices = imp.getNSlices();
        int channels = imp.getNChannels();
        int stored = rgb ? 3 * channels : channels;
        Calibration cal = imp.getCalibration();
        StringBuilder axes = new StringBuilder();
        List<Object> shape = new ArrayList<Object>();
        List<Object> spacing = new ArrayList<Object>();
        if (frames > 1) {
            axes.append('T');
            shape.add(frames);
            spacing.add(cal.frameInterval); // 0 when unset: Python then labels time as frames
        }
        if (stored > 1) {
            axes.append('C');
            shape.add(stored);
            spacing.add(1.0);
        }
        if (slices > 1) {
            axes.append('Z');
            shape.add(slices);
            spacing.add(cal.pixelDepth);
        }
        axes.append("YX");
        shape.addAll(Arrays.asList(height, width));
        spacing.addAll(Arrays.asList(cal.pixelHeight, cal.pixelWidth));

        int bytesPerPixel = rgb ? 1 : imp.getBitDepth() / 8;
        long plane = (long) width * height * bytesPerPixel;
        ByteBuffer data = allocator.allocate(plane * stored * slices * frames);
        ImageStack stack = imp.getStack();
        long offset = 0;
        for (int t = 1; t <= frames; t++) {
            for (int c = 1; c <= channels; c++) {
                for (int part = 0; part < (rgb ? 3 : 1); part++) {
                    for (int z = 1; z <= slices; z++) {
                        Object pixels = stack.getPixels(imp.getStackIndex(c, z, t));
                        copy(pixels, rgb ? 2 - part : -1, data, offset);
                        offset += plane;
                    }
                }
            }
        }
        Map<String, Object> image = Json.obj("title", title, "axes", axes.toString(),
                "spacing", spacing, "unit", cal.getUnit(), "time_unit", cal.getTimeUnit());
        image.put("channel_names", channelNames(imp, stack, rgb));
        image.put("luts", luts(imp, rgb));
        image.put("display_ranges", ranges(imp, rgb));
        image.put("data", array(data, rgb ? "|u1" : dtype(imp), shape));
        return image;
    }

    /** The area selection of {@code imp} as one ROI_MASK, or an empty list when it has none. */
    public List<Object> selection(ImagePlus imp) throws IOException {
        List<Object> masks = new ArrayList<Object>();
        Roi roi = imp.getRoi();
        if (roi != null && roi.isArea()) {
            masks.add(mask(roi, imp, roi.getName() == null ? "Selection" : roi.getName()));
        }
        return masks;
    }

    /** The ROI Manager's area ROIs as ROI_MASKs sized like {@code imp} (empty without one). */
    public List<Object> roiManager(ImagePlus imp) throws IOException {
        List<Object> masks = new ArrayList<Object>();
        RoiManager manager;
        try {
            manager = RoiManager.getInstance2(); // also the batch-mode manager
        } catch (HeadlessException e) {
            return masks; // plain ImageJ 1.x has no ROI Manager without a display (Fiji's has)
        }
        if (manager == null) {
            return masks;
        }
        Roi[] rois = manager.getRoisAsArray();
        for (int i = 0; i < rois.length; i++) {
            if (rois[i].isArea()) {
                masks.add(mask(rois[i], imp, rois[i].getName() == null ? "ROI " + (i + 1) : rois[i].getName()));
            }
        }
        return masks;
    }

    private Map<String, Object> mask(Roi roi, ImagePlus imp, String name) throws IOException {
        int width = imp.getWidth();
        int height = imp.getHeight();
        ByteBuffer data = allocator.allocate((long) width * height);
        Rectangle box = roi.getBounds();
        ImageProcessor inside = roi.getMask();
        for (int y = Math.max(0, box.y); y < Math.min(height, box.y + box.height); y++) {
            for (int x = Math.max(0, box.x); x < Math.min(width, box.x + box.width); x++) {
                if (inside == null || inside.get(x - box.x, y - box.y) != 0) {
                    data.put(y * width + x, (byte) 1);
                }
            }
        }
        return Json.obj("name", name, "data", array(data, "|b1", Arrays.<Object>asList(height, width)));
    }

    private Map<String, Object> array(ByteBuffer data, String dtype, List<Object> shape) {
        buffers.add(data);
        return Json.obj("buffer", buffers.size() - 1, "dtype", dtype, "shape", shape);
    }

    /** Copies one plane; {@code shift} picks a byte of RGB pixels (2 = red), -1 otherwise. */
    private static void copy(Object pixels, int shift, ByteBuffer data, long offset) {
        ByteBuffer view = data.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        view.position((int) offset);
        if (pixels instanceof byte[]) {
            view.put((byte[]) pixels);
        } else if (pixels instanceof short[]) {
            view.asShortBuffer().put((short[]) pixels);
        } else if (pixels instanceof float[]) {
            view.asFloatBuffer().put((float[]) pixels);
        } else {
            int[] rgb = (int[]) pixels;
            byte[] part = new byte[rgb.length];
            for (int i = 0; i < rgb.length; i++) {
                part[i] = (byte) (rgb[i] >> (8 * shift));
            }
            view.put(part);
        }
    }

    private static String dtype(ImagePlus imp) {
        switch (imp.getBitDepth()) {
            case 8:
                return "|u1";
            case 16:
                return "<u2";
            default:
                return "<f4";
        }
    }

    private static List<Object> channelNames(ImagePlus imp, ImageStack stack, boolean rgb) {
        List<Object> names = new ArrayList<Object>();
        if (rgb) {
            names.addAll(Arrays.asList("red", "green", "blue"));
            return names;
        }
        for (int c = 1; c <= imp.getNChannels(); c++) {
            String label = imp.getNChannels() > 1 ? stack.getSliceLabel(imp.getStackIndex(c, 1, 1)) : null;
            names.add(label == null || label.trim().isEmpty() ? null : label.split("\n")[0]);
        }
        return names;
    }

    private static List<Object> luts(ImagePlus imp, boolean rgb) {
        List<Object> luts = new ArrayList<Object>();
        if (rgb) {
            for (String color : new String[] {"#ff0000", "#00ff00", "#0000ff"}) {
                luts.add(Json.obj("color", color, "inverted", false));
            }
            return luts;
        }
        for (int c = 1; c <= imp.getNChannels(); c++) {
            LUT lut = lut(imp, c);
            boolean inverted = brightness(lut.getRGB(0)) > brightness(lut.getRGB(255));
            int top = lut.getRGB(inverted ? 0 : 255);
            luts.add(Json.obj("color", String.format("#%06x", top & 0xffffff), "inverted", inverted));
        }
        return luts;
    }

    private static int brightness(int rgb) {
        return ((rgb >> 16) & 0xff) + ((rgb >> 8) & 0xff) + (rgb & 0xff);
    }

    private static List<Object> ranges(ImagePlus imp, boolean rgb) {
        List<Object> ranges = new ArrayList<Object>();
        for (int c = 1; c <= (rgb ? 3 : imp.getNChannels()); c++) {
            if (rgb) {
                ranges.add(Arrays.asList(0.0, 255.0));
            } else {
                LUT lut = lut(imp, c);
                ranges.add(Arrays.asList(lut.min, lut.max));
            }
        }
        return ranges;
    }

    private static LUT lut(ImagePlus imp, int channel) {
        if (imp instanceof CompositeImage && ((CompositeImage) imp).getNChannels() > 1) {
            return ((CompositeImage) imp).getChannelLut(channel);
        }
        return imp.getProcessor().getLut(); // a new LUT carrying the display range
    }
}
