"""colocalize's ImageJ commands run from real ImageJ macros (Debian's ij.jar), compared with the
Python API; error handling; the headless batch CLI; installing into a Fiji.app.

These tests run headless (no display) or under xvfb-run; tables are read from the named table
with a display and from the system "Results" table headless (see ``show_table``).
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

import colocalize
from _faults import inputs_unchanged
from colocalize import Image
from colocalize.imagej import from_imageplus, from_results_table, get_table, show, to_imageplus
from colocalize.imagej._contract import Request

pytestmark = pytest.mark.imagej_command

TABLES = [
    "Colocalization coefficients",
    "Colocalization triple coefficients",
    "Auto threshold",
    "Costes significance",
    "CC Results",
    "Table of correlations",
    "Correlation over time",
    "Learned thresholds",
]
COEFFICIENT_FIELDS = [f.name for f in dataclasses.fields(colocalize.Coefficients)]


def quiet(function, *args, **kwargs):
    """Call the Python API with degenerate-input warnings ignored (the command logs them)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", colocalize.ColocalizeWarning)
        return function(*args, **kwargs)


def table(gateway, title: str):
    """The rows of table ``title`` as a DataFrame."""
    found = get_table(title)
    assert found is not None, f"no table {title!r}"
    return from_results_table(found)


def put(image: Image | np.ndarray, title: str, **kwargs):
    imp = to_imageplus(image, title=title, **kwargs)
    imp.show()
    return imp


def run(gateway, command: str, options: str) -> str | None:
    """Run ``command`` from a macro; returns colocalize's error message (None on success)."""
    import jpype

    marker = gateway.IJ.runMacro(f'run("{command}", "{options}"); return "finished";')
    error = jpype.JClass("colocalize.bridge.Dispatch").lastError()
    if error is None:
        assert str(marker) == "finished"
    return None if error is None else str(error)


def image_by_title(title: str):
    import jpype

    imp = jpype.JClass("ij.WindowManager").getImage(title)
    assert imp is not None, f"no image {title!r}"
    return imp


def image_by_title_or_none(title: str):
    import jpype

    return jpype.JClass("ij.WindowManager").getImage(title)


def _pair(dtype, shape=(48, 40), seed=0):
    rng = np.random.default_rng(seed)
    base = ndimage.gaussian_filter(rng.random(shape), 2)
    scale = 200 if dtype == np.uint8 else 3000
    a = (base * scale + rng.random(shape) * scale / 10).astype(dtype)
    b = (np.roll(base, 1, axis=-1) * scale / 2 + rng.random(shape) * scale / 10).astype(dtype)
    return a, b


def assert_row_matches(row, result) -> None:
    for name in COEFFICIENT_FIELDS:
        expected = float(getattr(result, name))
        if math.isnan(expected):  # an empty cell (None) in a column with no value at all
            assert row[name] is None or math.isnan(row[name]), name
        else:
            assert row[name] == pytest.approx(expected, rel=1e-12, abs=1e-15), name


# ---------------------------------------------------------------------------------------------
# Coloc Coefficients


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
@pytest.mark.parametrize(
    ("choice", "thresholds"),
    [
        ("None", None),
        ("[Manual] threshold_1=20 threshold_2=10", (20.0, 10.0)),
        ("Costes", "costes"),
        ("Otsu", "Otsu"),
    ],
)
def test_coefficients_macro_matches_python_api(session, dtype, choice, thresholds):
    a, b = _pair(dtype)
    put(a, "green one")
    put(b, "red")
    error = run(
        session, "Coloc Coefficients...", f"image_1=[green one] image_2=red threshold={choice}"
    )
    assert error is None
    rows = table(session, "Colocalization coefficients")
    assert len(rows) == 1
    row = rows.iloc[0]
    assert (row["Image 1"], row["Image 2"]) == ("green one", "red")
    assert_row_matches(row, quiet(colocalize.coefficients, a, b, thresholds=thresholds))


def _plot(title: str):
    """The ij.gui.Plot of the plot image ``title``."""
    import jpype

    plot = image_by_title(title).getProperty(jpype.JClass("ij.gui.Plot").PROPERTY_KEY)
    assert plot is not None, f"{title!r} is not a plot"
    return plot


def test_coefficients_scatter_plot_shows_histogram_regression_and_thresholds(session):
    a, b = _pair(np.uint8)
    put(Image(a, axes="YX", unit="um"), "green")
    put(Image(b, axes="YX", unit="um"), "red")
    options = "image_1=green image_2=red threshold=[Manual] threshold_1=40 threshold_2=30"
    assert run(session, "Coloc Coefficients...", f"{options} scatter_plot") is None
    plot = _plot("Scatter plot of red against green")
    assert str(plot.getLabel("x")) == "green (intensity, grey values)"
    assert str(plot.getLabel("y")) == "red (intensity, grey values)"
    legend = "\n".join(str(d) for d in plot.getDataObjectDesignations())
    fit = quiet(colocalize.costes_threshold, a, b)
    sign = "-" if fit.intercept < 0 else "+"  # never "+ -1.1e+04"
    assert f"regression: C2 = {fit.slope:.4g} C1 {sign} {abs(fit.intercept):.4g}" in legend
    assert "threshold 1 = 40" in legend
    assert "threshold 2 = 30" in legend
    # every occupied bin of the joint histogram is a dot, in the series of its count's decade
    histogram = colocalize.bivariate_histogram(a, b, nbins=256)
    dots = 0
    for k in range(int(plot.getNumPlotObjects())):
        label = str(plot.getPlotObjectLabel(k))
        if label.endswith("pixels"):
            dots += len(plot.getDataObjectArrays(k)[0])
    assert dots == int(np.count_nonzero(histogram.counts))
    # drawn, not only declared: the red regression line and the green thresholds are on the image
    pixels = np.array(
        image_by_title("Scatter plot of red against green").getProcessor().getPixels()
    )
    rgb = np.stack([(pixels >> shift) & 0xFF for shift in (16, 8, 0)], axis=-1)
    assert np.sum(np.all(rgb == (255, 0, 0), axis=-1)) > 50
    assert np.sum(np.all(rgb == (0, 160, 0), axis=-1)) > 50


def test_scatter_plot_draws_the_chosen_costes_methods_line_without_its_warning(session, capfd):
    # JACoP's and Ez's Costes fit least squares, not Coloc 2's orthogonal line; the plot drew
    # Coloc 2's line whatever the method, and its bisection search's "did not converge" warning
    # reached the Log of a run that used neither bisection nor Costes thresholds
    import jpype

    a, b = _pair(np.uint16)
    put(Image(a, axes="YX"), "green")
    put(Image(b, axes="YX"), "red")
    log_class = jpype.JClass("ij.IJ")
    log_class.log("\\Clear")
    options = "image_1=green image_2=red threshold=[Manual] threshold_1=900 threshold_2=400"
    for method in ("jacop", "ezcolocalization"):
        chosen = f"{options} costes_method={method} scatter_plot"
        assert run(session, "Coloc Coefficients...", chosen) is None
        legend = "\n".join(
            str(d) for d in _plot("Scatter plot of red against green").getDataObjectDesignations()
        )
        fit = quiet(colocalize.costes_threshold, a, b, method=method)
        sign = "-" if fit.intercept < 0 else "+"
        assert f"regression: C2 = {fit.slope:.4g} C1 {sign} {abs(fit.intercept):.4g}" in legend
        orthogonal = quiet(colocalize.costes_threshold, a, b)
        assert f"C2 = {orthogonal.slope:.4g} C1" not in legend
    log = str(log_class.getLog() or "") + capfd.readouterr().out
    assert "did not converge" not in log


def test_coefficients_macro_without_scatter_plot_key_opens_no_plot(session):
    """An old recorded macro (no scatter_plot key) gets no plot: a checkbox is off when its key
    is absent, as for every ImageJ command."""
    import jpype

    a, b = _pair(np.uint8)
    put(a, "green")
    put(b, "red")
    assert run(session, "Coloc Coefficients...", "image_1=green image_2=red threshold=None") is None
    assert jpype.JClass("ij.WindowManager").getImage("Scatter plot of red against green") is None


def test_coefficients_measure_groups_compute_only_what_is_checked(session):
    """measures= of the API as one checkbox per group; a macro naming none (recorded before the
    checkboxes existed) computes every group, as it did."""
    a, b = _pair(np.uint16)
    put(a, "green")
    put(b, "red")
    options = "image_1=green image_2=red threshold=Costes pearson manders"
    assert run(session, "Coloc Coefficients...", options) is None
    row = table(session, "Colocalization coefficients").iloc[-1]
    expected = quiet(
        colocalize.coefficients, a, b, thresholds="costes", measures=["pearson", "manders"]
    )
    assert_row_matches(row, expected)
    assert math.isnan(row["spearman"])
    assert math.isnan(row["kendall_tau"])
    assert math.isfinite(row["m1"])


def test_coefficients_costes_method_is_chosen_in_the_dialog(session):
    """costes_method= of the API as a dialog choice; the colocalized-pixel mask gets a mask LUT."""
    a, b = _pair(np.uint16)
    put(a, "green")
    put(b, "red")
    options = (
        "image_1=green image_2=red threshold=Costes costes_method=jacop colocalized_pixel_mask"
    )
    assert run(session, "Coloc Coefficients...", options) is None
    row = table(session, "Colocalization coefficients").iloc[-1]
    jacop = quiet(colocalize.coefficients, a, b, thresholds="costes", costes_method="jacop")
    bisection = quiet(colocalize.coefficients, a, b, thresholds="costes")
    assert (jacop.threshold0, jacop.threshold1) != (bisection.threshold0, bisection.threshold1)
    assert (row["threshold0"], row["threshold1"]) == (jacop.threshold0, jacop.threshold1)
    import jpype

    mask = image_by_title("Colocalized pixels of green and red")
    assert mask.isInvertedLut() != bool(jpype.JClass("ij.Prefs").blackBackground)


def test_roi_manager_without_a_display_is_a_clear_error(session):
    """Plain ImageJ 1.x has no ROI Manager without a display: one clear line, not an internal
    error (HeadlessException)."""
    import jpype

    if not jpype.JClass("java.awt.GraphicsEnvironment").isHeadless():
        pytest.skip("only a headless JVM lacks the ROI Manager (the headless run covers this)")
    a, b = _pair(np.uint16)
    put(a, "A")
    put(b, "B")
    error = run(session, "Coloc Coefficients...", "image_1=A image_2=B mask=[<ROI Manager>]")
    assert error is not None
    assert "ROI Manager" in error
    assert "internal error" not in error


def test_coefficients_of_hyperstack_channels_including_three(session):
    rng = np.random.default_rng(3)
    data = (ndimage.gaussian_filter(rng.random((3, 30, 36)), (0, 2, 2)) * 4000).astype(np.uint16)
    put(Image(data, axes="CYX", channel_names=("a", "b", "c")), "cells")
    assert (
        run(
            session,
            "Coloc Coefficients...",
            "image_1=cells image_2=cells channel_1=1 channel_2=3 threshold=None",
        )
        is None
    )
    row = table(session, "Colocalization coefficients").iloc[-1]
    assert (row["Image 1"], row["Image 2"]) == ("cells (C1)", "cells (C3)")
    assert_row_matches(row, quiet(colocalize.coefficients, data[0], data[2]))

    assert (
        run(
            session,
            "Coloc Coefficients...",
            "image_1=cells image_2=cells channel_1=1 channel_2=2 channel_3=3 threshold=Li",
        )
        is None
    )
    rows = table(session, "Colocalization coefficients").iloc[-3:]
    for (_, row), (i, j) in zip(rows.iterrows(), [(0, 1), (0, 2), (1, 2)]):
        assert_row_matches(row, quiet(colocalize.coefficients, data[i], data[j], thresholds="Li"))
    triple = table(session, "Colocalization triple coefficients").iloc[-1]
    expected = quiet(colocalize.triple_coefficients, *data, thresholds="Li")
    assert triple["overlap"] == pytest.approx(expected.overlap, rel=1e-12)
    assert triple["m0"] == pytest.approx(expected.m0, rel=1e-12)


def test_coefficients_with_mask_image_and_selection(session, ij):
    a, b = _pair(np.uint8)
    mask = np.zeros(a.shape, bool)
    mask[5:30, 8:33] = True
    put(a, "A")
    put(b, "B")
    put(mask, "cell mask")
    image_by_title("A").setRoi(ij.JClass("ij.gui.Roi")(8, 5, 25, 25))  # the same rectangle
    for choice in ("[cell mask]", "<Selection>"):
        options = f"image_1=A image_2=B mask={choice} threshold=None"
        assert run(session, "Coloc Coefficients...", options) is None
        assert_row_matches(
            table(session, "Colocalization coefficients").iloc[-1],
            quiet(colocalize.coefficients, a, b, mask=mask),
        )


def test_rows_say_which_mask_and_threshold_produced_them(session, ij):
    """A table of many runs can be read later: every row names its mask (or selection with the
    ROI's name) and threshold method, next to the thresholds used."""
    a, b = _pair(np.uint8)
    mask = np.zeros(a.shape, bool)
    mask[5:30, 8:33] = True
    put(a, "A")
    put(b, "B")
    put(mask, "cell mask")
    roi = ij.JClass("ij.gui.Roi")(8, 5, 25, 25)
    roi.setName("cell 1")
    image_by_title("A").setRoi(roi)
    for choice, shown in (("[cell mask]", "cell mask"), ("<Selection>", "<Selection> cell 1")):
        options = f"image_1=A image_2=B mask={choice} threshold=Otsu"
        assert run(session, "Coloc Coefficients...", options) is None
        row = table(session, "Colocalization coefficients").iloc[-1]
        assert row["Mask"] == shown
        assert row["Threshold method"] == "Otsu"
        assert row["threshold0"] == colocalize.threshold(a, "Otsu", mask=mask)
        assert row["threshold1"] == colocalize.threshold(b, "Otsu", mask=mask)
    assert run(session, "Coloc Coefficients...", "image_1=A image_2=B threshold=None") is None
    row = table(session, "Colocalization coefficients").iloc[-1]
    assert (row["Mask"], row["Threshold method"]) == ("<None>", "None")
    options = "image=A method=Li mask=[cell mask]"
    assert run(session, "Coloc Auto Threshold...", options) is None
    assert table(session, "Auto threshold").iloc[-1]["Mask"] == "cell mask"
    options = "image_1=A image_2=B mask=[cell mask] psf_size=3 randomizations=5 seed=1"
    assert run(session, "Coloc Costes Significance...", options) is None
    assert table(session, "Costes significance").iloc[-1]["Mask"] == "cell mask"
    assert (
        run(session, "Coloc Cross Correlation...", "image_1=A image_2=B mask=[cell mask]") is None
    )
    assert set(table(session, "CC Results")["Mask"]) == {"cell mask"}


def _with_roi_manager(
    gateway, rois: dict[str, tuple[int, int, int, int]], command: str, options: str
) -> str | None:
    """Run ``command`` from a macro that first puts rectangles (x, y, width, height) named by
    their keys into the ROI Manager (in batch mode, a macro's own ROI Manager, hence one
    macro); returns colocalize's error message (None on success)."""
    import jpype

    lines = ['roiManager("reset");', 'selectImage("A");']
    for k, (name, (x, y, w, h)) in enumerate(rois.items()):
        lines += [
            f"makeRectangle({x}, {y}, {w}, {h});",
            'roiManager("add");',
            f'roiManager("select", {k});',
            f'roiManager("rename", "{name}");',
        ]
    lines += ['run("Select None");', f'run("{command}", "{options}");']
    gateway.IJ.runMacro("\n".join(lines))
    error = jpype.JClass("colocalize.bridge.Dispatch").lastError()
    return None if error is None else str(error)


def _rectangle(shape, x, y, w, h) -> np.ndarray:
    inside = np.zeros(shape, bool)
    inside[y : y + h, x : x + w] = True
    return inside


def test_mask_fields_offer_the_roi_manager():
    from colocalize.imagej._catalog import commands

    fields = [f for c in commands().values() for f in c.spec.fields if f.kind == "mask"]
    assert fields
    assert all("roi_manager" in f.options for f in fields)
    coefficients = {f.key: f for f in commands()["coefficients"].spec.fields}
    assert coefficients["labels"].kind == "image"
    assert coefficients["labels"].default == "<None>"


def _handle(command: str, values: dict, images: dict, masks: dict | None = None):
    """Run a handler on a Request built as Java builds it (dialog defaults plus ``values``),
    without ImageJ: the tables of its Response as DataFrames by title, and the Response."""
    import pandas as pd

    from colocalize.imagej._catalog import commands
    from colocalize.imagej._contract import ImageData

    found = commands()[command]
    request_values = {f.key: f.default for f in found.spec.fields if f.key} | values
    request = Request(
        command,
        values=request_values,
        images={
            k: ImageData(Image(v, axes="YX", name=request_values[k])) for k, v in images.items()
        },
        masks=masks or {},
    )
    response = found.handler(request, lambda *args, **kwargs: None)
    tables = {t.title: pd.DataFrame(dict(t.columns)) for t in response.tables}
    return tables, response


def test_coefficients_per_roi_of_the_roi_manager_handler():
    """mask=<ROI Manager>: one row per ROI (overlapping ROIs allowed), named after the ROI,
    each ROI measured as if it were the selection (thresholds within the ROI); the colocalized
    pixel mask holds every ROI's pixels above its own thresholds."""
    from colocalize.imagej._contract import RoiMask

    a, b = _pair(np.uint16)
    rois = {"cell 1": (8, 5, 25, 25), "cell 2": (20, 18, 15, 22)}
    masks = {"mask": tuple(RoiMask(n, _rectangle(a.shape, *box)) for n, box in rois.items())}
    values = {
        "image_1": "A",
        "image_2": "B",
        "mask": "<ROI Manager>",
        "threshold": "Costes",
        "colocalized_pixel_mask": True,
    }
    tables, response = _handle("coefficients", values, {"image_1": a, "image_2": b}, masks)
    rows = tables["Colocalization coefficients"]
    assert list(rows["ROI"]) == list(rois)
    assert set(rows["Mask"]) == {"<ROI Manager>"}
    coloc = np.zeros(a.shape, bool)
    for (_, row), box in zip(rows.iterrows(), rois.values()):
        inside = _rectangle(a.shape, *box)
        expected = quiet(colocalize.coefficients, a, b, mask=inside, thresholds="costes")
        assert_row_matches(row, expected)
        coloc |= inside & (a > expected.threshold0) & (b > expected.threshold1)
    np.testing.assert_array_equal(response.images[0].image.data, coloc)
    assert [p.title for p in response.plots] == ["Scatter plot of B against A"]


def test_coefficients_per_roi_of_the_roi_manager(session):
    """The same from a macro, with the ROI Manager of ImageJ; other commands take the ROIs
    together."""
    if session.headless:
        pytest.skip("ImageJ 1.53t's ROI Manager is a window: it cannot exist headless")
    a, b = _pair(np.uint16)
    put(a, "A")
    put(b, "B")
    rois = {"cell 1": (8, 5, 25, 25), "cell 2": (20, 18, 15, 22)}
    options = "image_1=A image_2=B mask=[<ROI Manager>] threshold=Costes"
    assert _with_roi_manager(session, rois, "Coloc Coefficients...", options) is None
    rows = table(session, "Colocalization coefficients")
    assert list(rows["ROI"]) == list(rois)
    for (_, row), box in zip(rows.iterrows(), rois.values()):
        inside = _rectangle(a.shape, *box)
        assert_row_matches(
            row, quiet(colocalize.coefficients, a, b, mask=inside, thresholds="costes")
        )
    options = "image=A method=Otsu mask=[<ROI Manager>] dark_background"
    assert _with_roi_manager(session, rois, "Coloc Auto Threshold...", options) is None
    union = _rectangle(a.shape, *rois["cell 1"]) | _rectangle(a.shape, *rois["cell 2"])
    row = table(session, "Auto threshold").iloc[-1]
    assert row["Threshold"] == colocalize.threshold(a, "Otsu", mask=union)
    assert row["Mask"] == "<ROI Manager>"
    options = "image_1=A image_2=B mask=[<ROI Manager>]"
    error = _with_roi_manager(session, {}, "Coloc Coefficients...", options)
    assert error is not None
    assert "the ROI Manager has no area ROIs" in error


@pytest.mark.parametrize("dtype", [np.uint16, np.float32])
def test_coefficients_per_label_of_a_label_image(session, dtype):
    """labels=<a label image>: one row per label, as coefficient_table(labels=...)."""
    a, b = _pair(np.uint16)
    labels = np.zeros(a.shape, dtype)
    labels[2:20, 3:18] = 1
    labels[25:45, 5:30] = 3
    labels[4:15, 22:38] = 2
    put(a, "A")
    put(b, "B")
    put(labels, "nuclei")
    mask = np.zeros(a.shape, bool)
    mask[:, :30] = True
    put(mask, "cells")
    for choice, selected in (("<None>", None), ("cells", mask)):
        options = f"image_1=A image_2=B mask=[{choice}] labels=nuclei threshold=Costes"
        assert run(session, "Coloc Coefficients...", options) is None
        rows = table(session, "Colocalization coefficients").tail(3)
        assert list(rows["Object"]) == [1, 2, 3]
        assert set(rows["Label image"]) == {"nuclei"}
        expected = quiet(
            colocalize.coefficient_table,
            np.stack([a, b]),
            channel_axis=0,
            mask=selected,
            labels=labels.astype(int),
            thresholds="costes",
        )
        for (_, row), (_, want) in zip(rows.iterrows(), expected.iterrows()):
            for name in COEFFICIENT_FIELDS:
                assert row[name] == pytest.approx(want[name], rel=1e-12, abs=1e-15, nan_ok=True)


def test_per_object_coefficients_refuse_ambiguous_or_wrong_inputs():
    from colocalize.imagej._contract import RoiMask

    a, b = _pair(np.uint8)
    halves = np.zeros(a.shape, np.float32)
    halves[:5, :5] = 1.5
    images = {"image_1": a, "image_2": b}
    roi = {"mask": (RoiMask("cell", _rectangle(a.shape, 1, 1, 10, 10)),)}
    cases = [
        (
            {"mask": "<ROI Manager>", "labels": "nuclei"},
            {"labels": halves.astype(np.uint16)},
            roi,
            "both ask for one row per object",
        ),
        (
            {"labels": "small"},
            {"labels": np.zeros((10, 10), np.uint16)},
            {},
            "is 10x10 but the image 'A' is 40x48",
        ),
        ({"labels": "halves"}, {"labels": halves}, {}, "must be an integer label image"),
        ({"mask": "<ROI Manager>"}, {}, {"mask": ()}, "the ROI Manager has no area ROIs"),
    ]
    for values, more, masks, expected in cases:
        values = {"image_1": "A", "image_2": "B"} | values
        with pytest.raises((ValueError, TypeError), match=expected):
            _handle("coefficients", values, images | more, masks)


def test_colocalized_pixel_mask_carries_titles_and_calibration(session):
    a, b = _pair(np.uint16)
    put(Image(a, axes="YX", spacing=(0.2, 0.1), unit="um"), "A")
    put(b, "B")
    assert (
        run(
            session,
            "Coloc Coefficients...",
            "image_1=A image_2=B threshold=Costes colocalized_pixel_mask",
        )
        is None
    )
    result = quiet(colocalize.coefficients, a, b, thresholds="costes")
    out = from_imageplus(image_by_title("Colocalized pixels of A and B"))
    np.testing.assert_array_equal(out.data != 0, (a > result.threshold0) & (b > result.threshold1))
    assert out.spacing == (0.2, 0.1)
    assert out.unit == "um"


def test_commands_never_modify_the_source_images(session):
    a, b = _pair(np.uint16)
    imp_a = put(Image(a, axes="YX", spacing=(0.5, 0.5), unit="um"), "A")
    put(b, "B")
    for command, options in [
        ("Coloc Coefficients...", "image_1=A image_2=B threshold=Costes colocalized_pixel_mask"),
        ("Coloc Auto Threshold...", "image=A method=Otsu create_mask"),
        ("Coloc Cross Correlation...", "image_1=A image_2=B contribution_images"),
    ]:
        assert run(session, command, options) is None
        np.testing.assert_array_equal(from_imageplus(image_by_title("A")).data, a)
        np.testing.assert_array_equal(from_imageplus(image_by_title("B")).data, b)
        assert float(imp_a.getCalibration().pixelWidth) == 0.5
        assert not imp_a.changes


# ---------------------------------------------------------------------------------------------
# Coloc Auto Threshold


@pytest.mark.parametrize("method", ["Otsu", "Li", "Triangle", "Huang2"])
@pytest.mark.parametrize("dark", [True, False])
def test_auto_threshold_matches_python_api(session, method, dark):
    a, _ = _pair(np.uint16, seed=5)
    put(Image(a, axes="YX", spacing=(0.3, 0.3), unit="um"), "nuclei")
    options = f"image=nuclei method={method} create_mask" + (" dark_background" if dark else "")
    assert run(session, "Coloc Auto Threshold...", options) is None
    level = colocalize.threshold(a, method, dark_background=dark)
    row = table(session, "Auto threshold").iloc[-1]
    assert (row["Image"], row["Method"]) == ("nuclei", method)
    assert row["Threshold"] == level
    out = from_imageplus(image_by_title(f"Mask of nuclei ({method})"))
    np.testing.assert_array_equal(out.data != 0, a > level if dark else a <= level)
    assert out.spacing == (0.3, 0.3)


def test_auto_threshold_offers_every_method(session):
    a, _ = _pair(np.uint8)
    put(a, "img")
    for method in colocalize.threshold_methods():
        assert run(session, "Coloc Auto Threshold...", f"image=img method={method}") is None
    assert table(session, "Auto threshold")["Method"].tolist() == list(
        colocalize.threshold_methods()
    )


# ---------------------------------------------------------------------------------------------
# Coloc Costes Significance


def test_costes_significance_matches_python_api(session):
    a, b = _pair(np.uint8, shape=(40, 40))
    put(a, "A")
    put(b, "B")
    options = "image_1=A image_2=B psf_size=3 randomizations=25 seed=7"
    assert run(session, "Coloc Costes Significance...", options) is None
    row = table(session, "Costes significance").iloc[-1]
    expected = quiet(colocalize.costes_significance, a, b, psf=3, n=25, rng=7)
    for column, name in (
        ("P(r_rand < r_obs) normal", "p_value"),
        ("p(r_rand >= r_obs) permutation", "p_value_empirical"),
        ("observed", "observed"),
        ("randomized_mean", "randomized_mean"),
        ("randomized_std", "randomized_std"),
        ("n", "n"),
    ):
        assert row[column] == pytest.approx(float(getattr(expected, name)), rel=1e-12), name
    # the p-value columns name the direction they test; nothing is left ambiguous
    assert "p_value" not in row.index
    assert row["Mask"] == "<None>"
    # a macro without the histogram key (recorded before it existed) opens no plot
    assert image_by_title_or_none("Costes significance of A and B") is None


def test_costes_significance_histogram_shows_randomized_and_observed_r(session):
    a, b = _pair(np.uint16, shape=(48, 45))
    put(a, "A")
    put(b, "B")
    options = "image_1=A image_2=B psf_size=3 randomizations=60 seed=3 histogram"
    assert run(session, "Coloc Costes Significance...", options) is None
    expected = quiet(colocalize.costes_significance, a, b, psf=3, n=60, rng=3)
    plot = _plot("Costes significance of A and B")
    assert str(plot.getLabel("x")) == "Pearson's r (randomized: grey bars; observed: red line)"
    assert str(plot.getLabel("y")) == "Randomizations (count)"
    labels = [str(plot.getPlotObjectLabel(k)) for k in range(int(plot.getNumPlotObjects()))]
    assert labels[:2] == ["randomized r (n = 60)", f"observed r = {expected.observed:.4g}"]
    counts, edges = expected.histogram()
    x, y = (np.array(v) for v in plot.getDataObjectArrays(0)[:2])
    # float in Java; a bar can sit at r ~ 0, so also an absolute float32 resolution of r
    np.testing.assert_allclose(x, (edges[:-1] + edges[1:]) / 2, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(y, counts)
    x, _ = (np.array(v) for v in plot.getDataObjectArrays(1)[:2])
    np.testing.assert_allclose(x, [expected.observed] * 2, rtol=1e-6, atol=1e-7)
    # drawn, not only declared: the red observed-r line is on the plot image
    pixels = np.array(image_by_title("Costes significance of A and B").getProcessor().getPixels())
    rgb = np.stack([(pixels >> shift) & 0xFF for shift in (16, 8, 0)], axis=-1)
    assert np.sum(np.all(rgb == (255, 0, 0), axis=-1)) > 50
    assert table(session, "Costes significance").iloc[-1]["n"] == 60


@pytest.mark.slow
def test_escape_stops_costes_significance_in_the_worker_within_its_grace(session, capfd):
    """Esc during Coloc Costes Significance (ImageJ's worker path, as in a plain launch): the
    worker stops at its next chunk of randomizations and answers CANCELATION, so ImageJ keeps it
    (before, it ran on and was killed after the 3 s grace): one "cancelled" line, no table row,
    no plot."""
    import threading
    import time

    import jpype

    from colocalize.imagej._registry import register_all

    ij_class = jpype.JClass("ij.IJ")
    worker = jpype.JClass("colocalize.bridge.Worker")
    system = jpype.JClass("java.lang.System")
    base_a, base_b = _pair(np.uint16, shape=(40, 36))
    put(np.tile(base_a, (3, 3)), "A")  # 120x108: chunks of 323 randomizations
    put(np.tile(base_b, (3, 3)), "B")
    jpype.JClass("colocalize.bridge.Registry").setEndpoint(None)
    system.setProperty("colocalize.python", sys.executable)
    try:
        quick = "image_1=A image_2=B randomizations=2 seed=1"
        assert run(session, "Coloc Costes Significance...", quick) is None  # worker started
        pid = str(worker.pid())
        assert pid
        rows = len(table(session, "Costes significance"))
        errors: list[str | None] = []
        options = "image_1=A image_2=B randomizations=200000 seed=1 histogram"
        thread = threading.Thread(
            target=lambda: errors.append(run(session, "Coloc Costes Significance...", options))
        )
        thread.start()
        time.sleep(1.5)  # randomizing by now
        assert thread.is_alive()
        pressed = time.monotonic()
        ij_class.setKeyDown(27)  # Esc, as ImageJ's key listener does
        thread.join(timeout=60)
        assert not thread.is_alive()
        assert time.monotonic() - pressed < 3  # within ImageJ's grace: no kill
        assert errors == [None]
        assert str(worker.pid()) == pid  # the same worker, not killed and restarted
    finally:
        ij_class.resetEscape()
        worker.stopShared()
        system.clearProperty("colocalize.python")
        register_all()
    assert len(table(session, "Costes significance")) == rows  # no row of the cancelled run
    assert image_by_title_or_none("Costes significance of A and B") is None
    log = str(ij_class.getLog() or "") + capfd.readouterr().out
    assert log.count("Coloc Costes Significance: cancelled") == 1


# ---------------------------------------------------------------------------------------------
# Coloc Cross Correlation


def _spots(shape=(64, 64), shift=3, seed=0):
    rng = np.random.default_rng(seed)
    spots = np.zeros(shape)
    spots[tuple(rng.integers(8, min(shape) - 8, (2, 30)))] = 1
    a = (ndimage.gaussian_filter(spots, 1.5) * 4000).astype(np.uint16)
    b = (ndimage.gaussian_filter(np.roll(spots, shift, axis=-1), 1.5) * 4000).astype(np.uint16)
    return a, b


def test_cross_correlation_outputs_match_python_api(session, tmp_path):
    a, b = _spots()
    put(Image(a, axes="YX", spacing=(0.05, 0.05), unit="um"), "A")
    put(Image(b, axes="YX", spacing=(0.05, 0.05), unit="um"), "B")
    folder = tmp_path / "ccc out"
    options = (
        "image_1=A image_2=B confidence significant_digits=0 contribution_images "
        f"intermediate_images save_folder=[{folder}]"
    )
    assert run(session, "Coloc Cross Correlation...", options) is None
    expected = quiet(
        colocalize.cross_correlation, a, b, spacing=(0.05, 0.05), unit="um", contributions=True
    )
    results = table(session, "CC Results")
    values = dict(zip(results["Measure"], results["Value"]))
    assert values["Mean (um)"] == pytest.approx(expected.mean, rel=1e-9)
    assert values["StDev (um)"] == pytest.approx(expected.sigma, rel=1e-9)
    assert values["Confidence"] == pytest.approx(expected.confidence, rel=1e-9)
    assert values["R-squared"] == pytest.approx(expected.r_squared, rel=1e-9)
    assert values["Gaussian Height"] == pytest.approx(expected.height, rel=1e-9)
    contribution = from_imageplus(image_by_title("Contribution of A"))
    np.testing.assert_allclose(contribution.data, expected.contribution0, rtol=1e-6, atol=1e-6)
    assert contribution.spacing == (0.05, 0.05)
    assert contribution.unit == "um"
    image_by_title("Contribution of B")
    image_by_title("Subtracted CC result")
    plot = image_by_title("Correlation of images")
    assert int(plot.getWidth()) > 100
    saved = sorted(p.name for p in folder.iterdir())
    for name in [
        "CC Results.csv",
        "Contribution of A.tif",
        "Correlation of images.csv",
        "Correlation of images.png",
    ]:
        assert name in saved
    # a second run into the same folder would replace them (it did): refused before any write
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    error = run(session, "Coloc Cross Correlation...", options)
    assert error is not None
    assert "already has 'CC Results.csv'" in error
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_cross_correlation_table_of_correlations_and_rounding(session):
    a, b = _spots(seed=2)
    put(a, "A")
    put(b, "B")
    assert (
        run(
            session,
            "Coloc Cross Correlation...",
            "image_1=A image_2=B confidence significant_digits=3",
        )
        is None
    )
    expected = quiet(colocalize.cross_correlation, a, b)
    results = table(session, "CC Results")
    mean = dict(zip(results["Measure"], results["Value"]))["Mean (pixel)"]
    assert mean == float(f"{expected.mean:.3g}")
    correlations = table(session, "Table of correlations")
    assert list(correlations.columns) == [
        "Distance (pixel)",
        "Shifts",
        "Original CC",
        "Subtracted CC",
        "Gaussian fit",
    ]


def test_cross_correlation_table_has_one_row_per_pixel_of_distance(session):
    """Not one row per exact distance (thousands): one per bin of one pixel size, each the mean
    over all the shifts in it; the plot's y axis says what it shows."""
    a, b = _spots(shape=(64, 64), seed=2)
    put(Image(a, axes="YX", spacing=(0.1, 0.1), unit="um"), "A")
    put(Image(b, axes="YX", spacing=(0.1, 0.1), unit="um"), "B")
    assert run(session, "Coloc Cross Correlation...", "image_1=A image_2=B confidence") is None
    profile = quiet(colocalize.cross_correlation, a, b, spacing=(0.1, 0.1), unit="um").profile
    rows = table(session, "Table of correlations")
    bins = np.unique(np.floor(profile.distance / 0.1 + 0.5))
    assert len(profile.distance) > 5 * len(rows)
    assert len(rows) == len(bins)
    assert rows["Shifts"].sum() == profile.count.sum()
    for column, values in (
        ("Original CC", profile.original),
        ("Subtracted CC", profile.subtracted),
    ):
        # each bin is the mean over its shifts: the shift-weighted sums agree
        total = float(np.sum(profile.count * values))
        assert float(np.sum(rows["Shifts"] * rows[column])) == pytest.approx(total, rel=1e-9)
    distance = rows["Distance (um)"].to_numpy()
    assert np.all(np.diff(distance) > 0.05)
    assert np.all(np.abs(distance - np.round(distance / 0.1) * 0.1) <= 0.05 + 1e-12)
    plot = _plot("Correlation of images")
    assert str(plot.getLabel("y")) == "Cross correlation (mean over the shifts at this distance)"
    assert str(plot.getLabel("x")) == "Distance (um)"


def test_cross_correlation_time_series(session):
    frames = [_spots(shape=(48, 48), shift=2, seed=s) for s in range(3)]
    a = np.stack([f[0] for f in frames])
    b = np.stack([f[1] for f in frames])
    put(Image(a, axes="TYX", spacing=(2.0, 0.1, 0.1), unit="um"), "A")
    put(Image(b, axes="TYX", spacing=(2.0, 0.1, 0.1), unit="um"), "B")
    assert run(session, "Coloc Cross Correlation...", "image_1=A image_2=B confidence") is None
    expected = quiet(colocalize.cross_correlation, a, b, spacing=(0.1, 0.1), unit="um", time_axis=0)
    assert expected.frames is not None
    heat = from_imageplus(image_by_title("Correlation over time of A and B"))
    assert heat.data.shape == (3, len(expected.frames.profile.distance), 3)  # C, distance, frame
    per_frame = table(session, "Correlation over time")
    np.testing.assert_allclose(per_frame["Mean"], expected.frames.mean, rtol=1e-9)


def _cross_correlation(folder: Path, axes: str, **values):
    """Coloc Cross Correlation of two spot images (three frames with axes "TYX") saving into
    ``folder``, run as the protocol runs it; its Response."""
    from colocalize.imagej._catalog import commands
    from colocalize.imagej._contract import ImageData

    pairs = [_spots(shape=(32, 32), shift=2, seed=s) for s in range(3 if "T" in axes else 1)]
    images = [np.stack(p) if "T" in axes else p[0] for p in zip(*pairs)]
    found = commands()["cross_correlation"]
    values = {f.key: f.default for f in found.spec.fields if f.key} | values
    request = Request(
        "cross_correlation",
        values=values | {"image_1": "A", "image_2": "B", "save_folder": str(folder)},
        images={
            key: ImageData(Image(data, axes=axes, name=name))
            for key, data, name in zip(("image_1", "image_2"), images, "AB")
        },
    )
    return quiet(found.handler, request, lambda *args, **kwargs: None)


@pytest.mark.parametrize(
    ("axes", "values", "taken"),
    [
        ("YX", {}, "CC Results.csv"),
        ("YX", {}, "Correlation of images.png"),
        ("YX", {"contribution_images": True}, "Contribution of B.tif"),
        ("YX", {"intermediate_images": True}, "Gaussian-modified CC result.tif"),
        ("TYX", {}, "Correlation over time of A and B.tif"),
        ("TYX", {}, "Gaussian fits over time.csv"),
    ],
)
def test_cross_correlation_refuses_a_file_it_would_replace_before_correlating(
    tmp_path, monkeypatch, axes, values, taken
):
    """Before, the correlation ran first and the protocol refused its response."""

    def correlate(*args, **kwargs):
        raise AssertionError("cross_correlation ran")

    folder = tmp_path / "out"
    folder.mkdir()
    (folder / taken).write_bytes(b"mine")
    monkeypatch.setattr(colocalize, "cross_correlation", correlate)
    message = rf"the save folder \[{re.escape(str(folder))}\] already has '{re.escape(taken)}'"
    with inputs_unchanged(tmp_path), pytest.raises(ValueError, match=message):
        _cross_correlation(folder, axes, **values)


@pytest.mark.parametrize(
    ("axes", "values", "other"),
    [
        ("YX", {"intermediate_images": True, "confidence": False}, "Original CC result.tif"),
        ("YX", {}, "Contribution of A.tif"),
        ("TYX", {}, "Correlation of images.png"),
        ("YX", {}, "Correlation over time of A and B.tif"),
    ],
)
def test_cross_correlation_keeps_files_it_would_not_write(tmp_path, axes, values, other):
    """A file of another kind of run in the save folder is no reason to refuse this run."""
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / other).write_bytes(b"mine")
    response = _cross_correlation(folder, axes, **values)
    saves = [t.save for t in response.tables] + [i.save for i in response.images]
    saves += [p.save for p in response.plots]
    assert str(folder / other) not in saves
    assert str(folder / "CC Results.csv") in saves


# ---------------------------------------------------------------------------------------------
# Coloc Learned Threshold


def test_learned_threshold_applies_a_saved_model(session, tmp_path):
    rng = np.random.default_rng(0)
    features = np.sort(rng.uniform(0, 100, (40, 9)), axis=1)
    labels = np.array(["0", "1"] * 20)
    midpoint = 3 + 0.5 * features[:, 8] + rng.normal(0, 1, 40)
    model = colocalize.ThresholdModel.fit(features, labels, midpoint - 2, midpoint + 2)
    path = tmp_path / "model.json"
    model.save(path)
    data = (rng.random((2, 32, 32)) * 200).astype(np.uint8)
    put(Image(data, axes="CYX", spacing=(1.0, 0.2, 0.2), unit="um"), "cells")
    assert (
        run(
            session,
            "Coloc Learned Threshold...",
            f"image=cells model=[{path}] apply_threshold rescale",
        )
        is None
    )
    levels = model.predict_image(data, channel_axis=0, channels=["0", "1"])
    rows = table(session, "Learned thresholds")
    np.testing.assert_allclose(rows["Threshold"].to_numpy(), levels, rtol=1e-12)
    out = from_imageplus(image_by_title("cells (learned threshold)"))
    for c in range(2):
        np.testing.assert_array_equal(out.data[c], colocalize.apply_threshold(data[c], levels[c]))
    assert out.spacing == (1.0, 0.2, 0.2)


# ---------------------------------------------------------------------------------------------
# errors reach the user as one line and stop the macro, never as a hang or a traceback


def test_no_image_open_is_an_imagej_error(session):
    error = run(session, "Coloc Coefficients...", "threshold=None")
    assert error == "Coloc Coefficients: Coloc Coefficients needs an open image; open one first."


def test_images_of_different_sizes_are_refused(session):
    put(np.zeros((10, 12), np.uint8), "small")
    put(np.zeros((10, 13), np.uint8), "wide")
    error = run(session, "Coloc Coefficients...", "image_1=small image_2=wide")
    assert error is not None
    assert "different sizes" in error
    assert "'small' is 12x10 and 'wide' is 13x10" in error  # ImageJ's width x height


def test_messages_speak_imagej_sizes_channels_and_no_python_text(session, tmp_path):
    put(Image(np.zeros((3, 10, 12), np.uint8), axes="ZYX"), "stack")
    put(Image(np.zeros((3, 10, 12), np.uint8), axes="ZYX"), "stack 2")
    put(np.ones((10, 13), np.uint8), "wide mask")
    put(Image(np.ones((2, 10, 12), np.uint16), axes="CYX"), "two")
    error = run(
        session, "Coloc Coefficients...", "image_1=stack image_2=[stack 2] mask=[wide mask]"
    )
    assert error == (
        "Coloc Coefficients: the mask image 'wide mask' is 13x10 but the image 'stack' is "
        "12x10x3; use a mask of the image's size (or of one of its planes, to use it on every "
        "plane)"
    )
    error = run(session, "Coloc Coefficients...", "image_1=two image_2=two channel_2=3")
    assert error is not None
    assert "channel_2=3 is out of range" in error
    assert "has channels 1 to 2" in error
    error = run(session, "Coloc Coefficients...", "image_1=two image_2=two channel_1=1.5")
    assert error is not None
    assert "channel_1=1.5 is not a channel number" in error
    error = run(session, "Coloc Costes Significance...", "image_1=two image_2=two randomizations=1")
    assert error is not None
    assert "randomizations=1 is not a number of randomizations" in error
    assert "n must be" not in error
    missing = tmp_path / "no model.json"
    error = run(session, "Coloc Learned Threshold...", f"image=two model=[{missing}]")
    assert error is not None
    assert str(missing) in error
    assert "Errno" not in error


def test_one_channel_image_is_not_correlated_with_itself(session):
    """The defaults image_1 = image_2 = the only open image, channel_2=2: a clear error, not a
    Pearson of 1."""
    a, _ = _pair(np.uint8)
    put(a, "only")
    for command in ("Coloc Coefficients...", "Coloc Costes Significance..."):
        error = run(session, command, "image_1=only image_2=only")
        assert error is not None
        assert "image_1 and image_2 are both 'only', which has one channel" in error


def test_empty_mask_gives_nan_not_an_error(session):
    a, b = _pair(np.uint8)
    put(a, "A")
    put(b, "B")
    put(np.zeros(a.shape, bool), "empty")
    assert run(session, "Coloc Coefficients...", "image_1=A image_2=B mask=empty") is None
    row = table(session, "Colocalization coefficients").iloc[-1]
    assert math.isnan(row["pearson"])


def test_bad_choice_is_refused_without_a_dialog(session):
    a, _ = _pair(np.uint8)
    put(a, "A")
    error = run(session, "Coloc Auto Threshold...", "image=A method=Sauvola")
    assert error is not None
    assert "method='Sauvola' is not one of" in error


def test_failed_command_stops_the_macro(session):
    put(np.zeros((10, 12), np.uint8), "small")
    put(np.zeros((10, 13), np.uint8), "wide")
    marker = session.IJ.runMacro(
        'run("Coloc Coefficients...", "image_1=small image_2=wide"); return "continued";'
    )
    assert marker is None or str(marker) != "continued"


def test_unexpected_python_error_is_reported_with_its_cause(session, monkeypatch):
    from colocalize.imagej import _catalog, _spec

    def broken(request, progress):
        raise ZeroDivisionError("division by zero in a handler")

    cmd = _catalog.commands()["auto_threshold"]
    monkeypatch.setitem(_spec.COMMANDS, "auto_threshold", dataclasses.replace(cmd, handler=broken))
    put(np.zeros((4, 4), np.uint8), "any")
    error = run(session, "Coloc Auto Threshold...", "image=any")
    assert error is not None
    assert "internal error (ZeroDivisionError: division by zero in a handler)" in error


def test_without_an_endpoint_and_python_the_command_says_how_to_install(session):
    """No in-process endpoint: the shim looks for a Python to start a worker with; a wrong one
    gives the install commands, as one line per problem."""
    import jpype

    from colocalize.imagej._registry import register_all

    registry = jpype.JClass("colocalize.bridge.Registry")
    system = jpype.JClass("java.lang.System")
    registry.setEndpoint(None)
    system.setProperty("colocalize.python", "/nonexistent/bin/python3")
    try:
        error = run(session, "Coloc Costes Significance...", "")
    finally:
        system.clearProperty("colocalize.python")
        register_all()
    assert error is not None
    assert "/nonexistent/bin/python3" in error
    assert "pip install colocalize" in error
    assert "colocalize install-fiji" in error


def test_degenerate_input_gives_a_logged_warning_not_an_error(session):
    put(np.full((10, 10), 7, np.uint8), "flat")
    put(np.arange(100, dtype=np.uint8).reshape(10, 10), "ramp")
    assert run(session, "Coloc Coefficients...", "image_1=flat image_2=ramp threshold=None") is None
    row = table(session, "Colocalization coefficients").iloc[-1]
    assert math.isnan(row["pearson"])


# ---------------------------------------------------------------------------------------------
# show(): any result into ImageJ


def test_show_puts_results_into_imagej(session):
    a, b = _pair(np.uint8)
    result = quiet(colocalize.coefficients, a, b)
    shown = show(result, title="my coefficients")
    back = from_results_table(shown[0]).iloc[-1]
    assert back["pearson"] == pytest.approx(result.pearson, rel=1e-12)
    image = Image(a, axes="YX", spacing=(0.5, 0.5), unit="um", name="shown image")
    imp = show(image)[0]
    assert str(imp.getTitle()) == "shown image"
    assert from_imageplus(imp).spacing == (0.5, 0.5)
    ccc = quiet(colocalize.cross_correlation, *_spots(), contributions=True)
    objects = show(ccc)
    titles = [str(o.getTitle()) for o in objects[1:] if hasattr(o, "getTitle")]
    assert "CrossCorrelation contribution0" in titles
    profile = from_results_table(get_table("CrossCorrelation profile"))
    np.testing.assert_array_equal(profile["distance"], ccc.profile.distance)
    with pytest.raises(TypeError, match="show\\(\\) takes"):
        show(42)


# ---------------------------------------------------------------------------------------------
# command line: headless batch macro, doctor, install-fiji


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    return subprocess.run(
        [sys.executable, "-m", "colocalize", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=cwd,
    )


def test_headless_batch_macro_from_the_command_line(ij, tmp_path):
    a, b = _pair(np.uint16, seed=9)
    for name, data in (("cell1_green", a), ("cell1_red", b)):
        colocalize.write_image(
            tmp_path / f"{name}.tif", Image(data, axes="YX", spacing=(0.1, 0.1), unit="um")
        )
    macro = tmp_path / "batch.ijm"
    macro.write_text(
        "dir = getArgument();\n"
        "setBatchMode(true);\n"
        'open(dir + "cell1_green.tif");\n'
        'open(dir + "cell1_red.tif");\n'
        'run("Coloc Coefficients...", "image_1=cell1_green.tif image_2=cell1_red.tif '
        'threshold=Costes");\n'
        'print("pearson=" + d2s(getResult("pearson", nResults - 1), 12));\n'
        'File.saveString(d2s(getResult("pearson", 0), 9), dir + "pearson.txt");\n'
    )
    done = _cli("imagej", "--headless", "--macro", str(macro), "--arg", f"{tmp_path}/")
    assert done.returncode == 0, done.stderr
    expected = quiet(colocalize.coefficients, a, b, thresholds="costes").pearson
    line = next(s for s in done.stdout.splitlines() if s.startswith("pearson="))
    assert float(line.split("=")[1]) == pytest.approx(expected, abs=1e-8)  # d2s: 9 decimals
    assert float((tmp_path / "pearson.txt").read_text()) == pytest.approx(expected, abs=1e-4)

    macro.write_text('run("Coloc Coefficients...", "threshold=None");\nprint("not reached");\n')
    failed = _cli("imagej", "--headless", "--macro", str(macro))
    assert failed.returncode == 1
    assert "needs an open image" in failed.stdout
    assert "not reached" not in failed.stdout
    assert "Traceback" not in failed.stdout + failed.stderr

    # an error of the macro language itself (no colocalize command involved) also fails
    macro.write_text('print("before");\nx = undefinedFunction(3);\nprint("not reached");\n')
    failed = _cli("imagej", "--headless", "--macro", str(macro))
    assert failed.returncode == 1
    assert "not reached" not in failed.stdout


def test_doctor_reports_java_imagej_and_pyimagej():
    done = _cli("doctor", "--fiji", "/nonexistent/Fiji.app")
    assert done.returncode == 0, done.stdout
    for item in (
        "Java",
        "JPype",
        "ImageJ 1.x (ij.jar)",
        "colocalize shim jar",
        "PyImageJ",
        "Fiji.app",
    ):
        assert item in done.stdout
    assert "-- " in done.stdout  # the missing Fiji.app is reported, not hidden


def test_install_fiji_copies_the_jar_and_scripts(tmp_path):
    from colocalize.imagej._fiji import doctor, install_fiji
    from colocalize.imagej._jvm import bridge_jar

    fiji = tmp_path / "Fiji.app"
    (fiji / "plugins").mkdir(parents=True)
    (fiji / "jars").mkdir()
    written = install_fiji(fiji)
    jar = fiji / "plugins" / "Colocalize_Bridge.jar"
    assert jar in written
    assert jar.read_bytes() == bridge_jar().read_bytes()
    script = fiji / "scripts" / "Analyze" / "Colocalization" / "Coloc_Coefficients_(Python_mode).py"
    assert script.is_file()
    assert 'run_in_python_mode("coefficients")' in script.read_text()
    with zipfile.ZipFile(jar) as z:
        assert "plugins.config" in z.namelist()
    assert fiji / "plugins" / "colocalize-python.txt" in written
    assert (fiji / "plugins" / "colocalize-python.txt").read_text().strip() == sys.executable
    rows = {item: (ok, detail) for item, ok, detail in doctor(fiji)}
    assert rows["Python for the worker"] == (True, f"{sys.executable} (from {written[1]})")
    plain = tmp_path / "ImageJ"  # a plain ImageJ folder without plugins/: created
    plain.mkdir()
    install_fiji(plain)
    assert (plain / "plugins" / "Colocalize_Bridge.jar").is_file()
    new = tmp_path / "new ImageJ"  # a new -ijpath folder is created (it was refused)
    install_fiji(new)
    assert (new / "plugins" / "Colocalize_Bridge.jar").read_bytes() == bridge_jar().read_bytes()
    assert not list(new.rglob("*.tmp"))
    with pytest.raises(FileNotFoundError, match=r"not a Fiji\.app"):
        install_fiji(tmp_path / "no parent" / "nothing")
    assert _cli("install-fiji", str(tmp_path / "no parent" / "nothing")).returncode == 2


def test_start_through_pyimagej_needs_a_real_fiji():
    fiji = os.environ.get("COLOCALIZE_TEST_FIJI")
    if not fiji:
        pytest.skip(
            "PyImageJ path not testable here: set COLOCALIZE_TEST_FIJI to a Fiji.app (and allow "
            "network for PyImageJ's first start) to run it, in a fresh process"
        )
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import colocalize.imagej as c, sys; g = c.start(sys.argv[1], mode='headless'); "
            "assert g.pyimagej is not None; print(sorted(g.commands))",
            fiji,
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert "coefficients" in done.stdout


def test_the_cookbook_batch_macro_runs_headless(ij, tmp_path):
    docs = Path(__file__).resolve().parents[1] / "docs" / "macros.md"
    text = docs.read_text()
    start = text.index("```ijm\n// batch_coloc.ijm")
    macro = text[start + len("```ijm\n") : text.index("```", start + 6)]
    (tmp_path / "batch_coloc.ijm").write_text(macro)
    pairs = {}
    for k, name in enumerate(["cellA", "cellB"]):
        a, b = _pair(np.uint16, seed=20 + k)
        pairs[name] = (a, b)
        colocalize.write_image(tmp_path / f"{name}_green.tif", a)
        colocalize.write_image(tmp_path / f"{name}_red.tif", b)
    done = _cli(
        "imagej", "--headless", "--macro", str(tmp_path / "batch_coloc.ijm"), "--arg", str(tmp_path)
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = (tmp_path / "coloc.csv").read_text().splitlines()
    assert lines[0] == "name,pearson,m1,m2,tm1,tm2,threshold0,threshold1"
    for line in lines[1:]:
        name, *values = line.split(",")
        expected = quiet(colocalize.coefficients, *pairs[name], thresholds="costes")
        for field, value in zip(
            ["pearson", "m1", "m2", "tm1", "tm2", "threshold0", "threshold1"], values
        ):
            assert float(value) == pytest.approx(getattr(expected, field), abs=1e-8), field
    assert len(lines) == 3


def test_start_with_an_imagej_folder(ij, tmp_path):
    from colocalize.imagej._fiji import install_fiji
    from colocalize.imagej._jvm import find_ij_jar

    app = tmp_path / "ImageJ"
    (app / "plugins").mkdir(parents=True)
    (app / "ij.jar").symlink_to(find_ij_jar())
    install_fiji(app)
    macro = tmp_path / "version.ijm"
    macro.write_text('print("version " + getVersion());\nrun("Coloc Auto Threshold...", "");\n')
    done = _cli("imagej", "--headless", "--fiji", str(app), "--macro", str(macro))
    assert "version 1." in done.stdout
    assert done.returncode == 1  # no image open: the command's error, not a start-up failure
    assert "Coloc Auto Threshold: error:" in done.stdout
