"""What the user sees, under Xvfb: the Coloc Coefficients scatter plot, the per-ROI table, the
Costes significance histogram and the PNG report, captured from the screen (``java.awt.Robot``)
and checked against what they must show.

The plot: a plot window with the command's title and axis labels naming the channels, and on
screen the red regression line and green threshold lines at the pixels where the Plot's own
scale puts Costes' line and the thresholds of the Python API. The table: a table window whose
rows are the ROI Manager's ROIs (names in the ROI column) with the API's coefficients as ImageJ
displays them. The histogram: grey bars and the observed r as a red line at its scale position.
The report: two pages, grey channel images, red and green lines in the scatter plot, text on
page 2. Set ``COLOCALIZE_SCREENSHOTS`` to a folder to keep the PNGs.
"""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

import colocalize
from _imagej_helpers import wait
from test_imagej_gui import gui, images  # noqa: F401 - fixtures

pytestmark = pytest.mark.gui

REGRESSION = (255, 0, 0)  # "#ff0000" in _scatter_plot
THRESHOLD = (0, 160, 0)  # "#00a000"


def capture(ij, component, path: Path) -> np.ndarray:
    """The screen pixels of ``component`` (Robot capture) as (height, width, 3) uint8; saved
    as PNG at ``path`` (and copied to ``COLOCALIZE_SCREENSHOTS`` when set)."""
    where = component.getLocationOnScreen()
    size = component.getSize()
    rectangle = ij.JClass("java.awt.Rectangle")(where.x, where.y, size.width, size.height)
    shot = ij.JClass("java.awt.Robot")().createScreenCapture(rectangle)
    ij.JClass("javax.imageio.ImageIO").write(shot, "png", ij.JClass("java.io.File")(str(path)))
    keep = os.environ.get("COLOCALIZE_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(keep) / path.name)
    width, height = int(size.width), int(size.height)
    argb = np.array(shot.getRGB(0, 0, width, height, None, 0, width), dtype=np.int64)
    rgb = np.stack([(argb >> 16) & 255, (argb >> 8) & 255, argb & 255], axis=-1)
    return rgb.reshape(height, width, 3).astype(np.uint8)


def _is(pixels: np.ndarray, color: tuple[int, int, int]) -> np.ndarray:
    return np.all(pixels == np.array(color, np.uint8), axis=-1)


def _pixel(plot, x: float, y: float) -> tuple[int, int]:
    """The plot image's pixel (column, row) of data point (x, y)."""
    return round(float(plot.scaleXtoPxl(x))), round(float(plot.scaleYtoPxl(y)))


def _quiet(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", colocalize.ColocalizeWarning)
        return function(*args, **kwargs)


def test_the_scatter_plot_shows_channels_regression_and_thresholds(gui, ij, images, tmp_path):  # noqa: F811
    a, b = images
    gui.IJ.runMacro(
        'run("Coloc Coefficients...", "image_1=A image_2=B threshold=Costes scatter_plot");'
    )
    title = "Scatter plot of B against A"
    manager = ij.JClass("ij.WindowManager")
    wait(lambda: manager.getWindow(title) is not None)
    window = manager.getWindow(title)
    assert isinstance(window, ij.JClass("ij.gui.PlotWindow"))
    assert window.isVisible()
    plot = window.getPlot()
    assert str(plot.getLabel("x")) == "A (intensity, grey values)"
    assert str(plot.getLabel("y")) == "B (intensity, grey values)"
    expected = _quiet(colocalize.coefficients, a, b, thresholds="costes")
    fit = colocalize.costes_threshold(a, b)
    wait(lambda: window.getCanvas().isShowing())
    canvas = window.getCanvas()
    assert float(canvas.getMagnification()) == 1.0
    pixels = capture(ij, canvas, tmp_path / "screen_scatter_plot.png")
    frame = plot.getDrawingFrame()
    x0, x1 = int(frame.x), int(frame.x + frame.width)
    y0, y1 = int(frame.y), int(frame.y + frame.height)
    inside = pixels[y0 + 1 : y1 - 1, x0 + 1 : x1 - 1]
    # dots of the 2D histogram: the decade colours of _scatter_plot
    dots = sum(int(_is(inside, c).sum()) for c in ((158, 202, 225), (66, 146, 198), (8, 81, 156)))
    assert dots > 100
    # the vertical threshold line at threshold 1, the horizontal one at threshold 2
    column, row = _pixel(plot, expected.threshold0, expected.threshold1)
    near = slice(column - 1, column + 2)
    assert _is(pixels[y0 + 2 : y1 - 2, near], THRESHOLD).any(axis=1).mean() > 0.8
    near = slice(row - 1, row + 2)
    assert _is(pixels[near, x0 + 2 : x1 - 2], THRESHOLD).any(axis=0).mean() > 0.8
    assert _is(pixels, THRESHOLD).sum() < 6 * (frame.width + frame.height)  # nothing else green
    # the regression line through Costes' fit: red pixels where the Plot's scale puts it, and
    # none a third of the frame above it
    xs = np.linspace(float(plot.descaleX(x0 + 10)), float(plot.descaleX(x1 - 10)), 9)
    on_line = [_pixel(plot, x, fit.slope * x + fit.intercept) for x in xs]
    hits = [_is(pixels[py - 2 : py + 3, px - 2 : px + 3], REGRESSION).any() for px, py in on_line]
    assert sum(hits) >= 3
    above = [(px, py - frame.height // 3) for px, py in on_line]
    assert not any(
        _is(pixels[py - 2 : py + 3, px - 2 : px + 3], REGRESSION).any()
        for px, py in above
        if y0 + 2 < py < y1 - 2
    )


def test_the_per_roi_table_shows_one_row_per_roi(gui, ij, images, tmp_path):  # noqa: F811
    a, b = images
    rois = {"cell 1": (10, 8, 50, 40), "cell 2": (70, 30, 60, 50), "nucleus": (30, 60, 30, 30)}
    lines = ['roiManager("reset");', 'selectImage("A");']
    for k, (name, (x, y, w, h)) in enumerate(rois.items()):
        lines += [
            f"makeRectangle({x}, {y}, {w}, {h});",
            'roiManager("add");',
            f'roiManager("select", {k});',
            f'roiManager("rename", "{name}");',
        ]
    lines += [
        'run("Select None");',
        'run("Coloc Coefficients...", "image_1=A image_2=B mask=[<ROI Manager>] '
        'threshold=Costes");',
    ]
    manager = ij.JClass("ij.WindowManager")
    try:
        gui.IJ.runMacro("\n".join(lines))
        title = "Colocalization coefficients"
        wait(lambda: manager.getWindow(title) is not None)
        window = manager.getWindow(title)
        assert isinstance(window, ij.JClass("ij.text.TextWindow"))
        wait(lambda: window.isShowing())
        panel = window.getTextPanel()
        headings = str(panel.getColumnHeadings()).split("\t")
        assert "ROI" in headings
        assert "pearson" in headings
        assert int(panel.getLineCount()) == len(rois)
        for k, (name, (x, y, w, h)) in enumerate(rois.items()):
            cells = dict(zip(headings, str(panel.getLine(k)).split("\t")))
            assert cells["ROI"] == name
            assert cells["Mask"] == "<ROI Manager>"
            inside = np.zeros(a.shape, bool)
            inside[y : y + h, x : x + w] = True
            expected = _quiet(colocalize.coefficients, a, b, mask=inside, thresholds="costes")
            # as ImageJ displays it (3 decimals)
            assert float(cells["pearson"]) == pytest.approx(expected.pearson, abs=6e-4)
            assert float(cells["tm1"]) == pytest.approx(expected.tm1, abs=6e-4)
        window.toFront()
        pixels = capture(ij, window, tmp_path / "screen_roi_table.png")
        dark = pixels.max(axis=-1) < 100
        text_rows = np.nonzero(dark.mean(axis=1) > 0.01)[0]
        assert dark.mean() > 0.005  # text on screen, not an empty window
        assert text_rows.size >= 4 * (len(rois) + 1)  # heading and rows, several pixels tall
    finally:
        roi_manager = ij.JClass("ij.plugin.frame.RoiManager").getInstance()
        if roi_manager is not None:
            roi_manager.reset()
            roi_manager.close()


def test_the_costes_histogram_shows_randomized_bars_and_the_observed_r(gui, ij, images, tmp_path):  # noqa: F811
    a, b = images
    gui.IJ.runMacro(
        'run("Coloc Costes Significance...", "image_1=A image_2=B psf_size=3 randomizations=40 '
        'seed=2 histogram");'
    )
    title = "Costes significance of A and B"
    manager = ij.JClass("ij.WindowManager")
    wait(lambda: manager.getWindow(title) is not None)
    window = manager.getWindow(title)
    assert isinstance(window, ij.JClass("ij.gui.PlotWindow"))
    plot = window.getPlot()
    assert str(plot.getLabel("x")) == "Pearson's r (randomized: grey bars; observed: red line)"
    assert str(plot.getLabel("y")) == "Randomizations (count)"
    expected = _quiet(colocalize.costes_significance, a, b, psf=3, n=40, rng=2)
    wait(lambda: window.getCanvas().isShowing())
    pixels = capture(ij, window.getCanvas(), tmp_path / "screen_costes_histogram.png")
    frame = plot.getDrawingFrame()
    x0, x1 = int(frame.x), int(frame.x + frame.width)
    y0, y1 = int(frame.y), int(frame.y + frame.height)
    inside = pixels[y0 + 1 : y1 - 1, x0 + 1 : x1 - 1]
    assert _is(inside, (128, 128, 128)).sum() > 200  # the grey bars ("#808080")
    # the observed r: a red vertical line where the Plot's scale puts it, over most of the height
    column = round(float(plot.scaleXtoPxl(expected.observed)))
    red = _is(pixels[y0 + 2 : y1 - 2, column - 1 : column + 2], REGRESSION).any(axis=1)
    assert red.mean() > 0.8
    # no other vertical red line (the legend's red box and text are short)
    per_column = _is(inside, REGRESSION).mean(axis=0)
    per_column[column - x0 - 4 : column - x0 + 3] = 0
    assert per_column.max() < 0.3


def test_the_report_shows_the_images_scatter_plot_and_numbers(gui, ij, images, tmp_path):  # noqa: F811
    """The PNG report (``report=[...png]``) as ImageJ shows it: two pages side by side, the two
    channels in grey, the scatter plot's red regression line and green threshold lines."""
    path = tmp_path / "report.png"
    gui.IJ.runMacro(
        f'run("Coloc Coefficients...", "image_1=A image_2=B threshold=Costes report=[{path}]");'
    )
    assert path.is_file()
    imp = ij.JClass("ij.IJ").openImage(str(path))
    imp.show()
    window = imp.getWindow()
    wait(lambda: window is not None and window.getCanvas().isShowing())
    try:
        canvas = window.getCanvas()
        window.toFront()
        shots: list[np.ndarray] = []

        def painted() -> bool:  # the window can take a moment to be drawn on screen
            shots.append(capture(ij, canvas, tmp_path / "screen_report.png"))
            left = shots[-1][:, : shots[-1].shape[1] // 2]
            grey = (left.max(axis=-1) - left.min(axis=-1) < 8) & (left.mean(axis=-1) < 200)
            return bool(grey.mean() > 0.05)  # the channel images, in grey

        wait(painted, timeout=10.0)
        shown = shots[-1]
        magnification = float(canvas.getMagnification())
        width, height = int(imp.getWidth()), int(imp.getHeight())
        assert width > height  # two A4 pages side by side
        assert shown.shape[1] == pytest.approx(width * magnification, abs=2)
        # the lines are 1-2 pixels wide: on screen, ImageJ's zoom (0.5 on a 1280x1024 screen, in
        # CI) blends them away, so their colours are checked in the pixels the window shows
        argb = np.array(imp.getProcessor().getPixels(), dtype=np.int64).reshape(height, width)
        pixels = np.stack([(argb >> 16) & 255, (argb >> 8) & 255, argb & 255], axis=-1)
        left = pixels[:, : width // 2]
        right = pixels[:, width // 2 :]
        red = (left[..., 0] > 200) & (left[..., 1] < 60) & (left[..., 2] < 60)
        green = (left[..., 1] > 100) & (left[..., 0] < 100) & (left[..., 2] < 100)
        assert red.sum() > 30  # Costes' regression line
        assert green.sum() > 30  # the thresholds (tab:green, dashed)
        dark = right.max(axis=-1) < 100
        assert (dark.mean(axis=1) > 0.01).sum() > 40  # page 2: lines of text (the numbers)
    finally:
        imp.changes = False
        imp.close()
