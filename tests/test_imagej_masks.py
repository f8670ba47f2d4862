"""Coloc Segment Nuclei, Coloc Cytoplasm Rings and Coloc Translocation run from real ImageJ macros
(Debian's ij.jar), compared with the Python API; their bad-input errors.

Headless, parameters go through Python's option parser; under ``xvfb-run`` through ImageJ's
``GenericDialog`` (scripts/test.sh runs both).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import colocalize
from _imagej_helpers import time_lapse as _time_lapse
from colocalize import Image
from colocalize.imagej import from_imageplus, from_results_table, get_table, to_imageplus

pytestmark = pytest.mark.imagej_command

TABLES = ["Nuclei measurements", "Cytoplasm ring measurements", "Translocation"]


def run(gateway, command: str, options: str) -> str | None:
    """Run ``command`` from a macro; colocalize's error message, or None on success."""
    import jpype

    marker = gateway.IJ.runMacro(f'run("{command}", "{options}"); return "finished";')
    error = jpype.JClass("colocalize.bridge.Dispatch").lastError()
    if error is None:
        assert str(marker) == "finished"
    return None if error is None else str(error)


def put(image: Image, title: str) -> None:
    to_imageplus(image, title=title).show()


def image_by_title(title: str):
    import jpype

    imp = jpype.JClass("ij.WindowManager").getImage(title)
    assert imp is not None, f"no image {title!r}"
    return imp


def table(title: str) -> pd.DataFrame:
    found = get_table(title)
    assert found is not None, f"no table {title!r}"
    return from_results_table(found)


def quiet(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", colocalize.ColocalizeWarning)
        return function(*args, **kwargs)


def assert_frame_matches(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Every column of ``expected`` in ``got`` (ImageJ tables hold numbers as float64)."""
    assert len(got) == len(expected)
    for column in expected.columns:
        np.testing.assert_allclose(
            got[column].to_numpy(float),
            expected[column].to_numpy(float),
            rtol=1e-12,
            atol=1e-12,  # coefficients such as pearson_below can be ~0
            err_msg=column,
        )


def nuclei_image(shape=(60, 80), centres=((20, 20), (40, 55), (18, 60)), seed=0, scale=100.0):
    """Gaussian blobs of different brightness on a noisy background."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    image = 10.0 + rng.normal(0, 1, shape)
    for k, (cy, cx) in enumerate(centres):
        image += scale * (1 - 0.2 * k) * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 60.0)
    return image


# ---------------------------------------------------------------------------------------------
# Coloc Segment Nuclei


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_segment_nuclei_matches_python_api(session, dtype):
    data = nuclei_image().astype(dtype)
    put(Image(data, axes="YX", spacing=(0.5, 0.5), unit="um"), "dapi")
    assert run(session, "Coloc Segment Nuclei...", "image=dapi") is None
    expected = colocalize.segment_nuclei(data, spacing=(0.5, 0.5))
    assert expected.max() == 3
    out = image_by_title("Nuclei of dapi")
    assert out.getBitDepth() == 16
    labels = from_imageplus(out)
    np.testing.assert_array_equal(labels.data, expected)
    assert labels.spacing == (0.5, 0.5)
    assert labels.unit == "um"
    np.testing.assert_array_equal(from_imageplus(image_by_title("dapi")).data, data)  # untouched
    rows = table("Nuclei measurements")
    assert (rows["Image"] == "dapi").all()
    assert_frame_matches(rows, colocalize.measure_objects(expected, data, spacing=(0.5, 0.5)))


def test_segment_nuclei_of_a_hyperstack_channel_measures_every_channel(session):
    dapi = nuclei_image(seed=1)
    other = nuclei_image(seed=2, scale=40.0)[:, ::-1].copy()
    data = np.stack([np.stack([dapi, dapi * 0.8]), np.stack([other, other])]).astype(np.uint16)
    put(Image(data, axes="CZYX", spacing=(1.0, 2.0, 0.4, 0.4), unit="um"), "cells")
    options = "image=cells channel=1 radius=2 method=Otsu stack_mode=planes edge_fraction=0.5"
    assert run(session, "Coloc Segment Nuclei...", options) is None
    spacing = (2.0, 0.4, 0.4)
    expected = colocalize.segment_nuclei(
        data[0], spacing=spacing, radius=2, method="Otsu", stack_mode="planes", edge_fraction=0.5
    )
    out = from_imageplus(image_by_title("Nuclei of cells (C1)"))
    assert out.axes == "ZYX"
    assert out.spacing == spacing
    np.testing.assert_array_equal(out.data, expected)
    rows = table("Nuclei measurements")
    reference = colocalize.measure_objects(
        expected, data, spacing=spacing, channel_axis=0, channel_names=["C1", "C2"]
    )
    assert "mean_C2" in rows.columns
    assert_frame_matches(rows, reference)


def test_segment_nuclei_refuses_a_time_lapse_and_bad_options(session):
    data = np.stack([nuclei_image(seed=s) for s in range(2)]).astype(np.uint16)
    put(Image(data, axes="TYX"), "movie")
    error = run(session, "Coloc Segment Nuclei...", "image=movie")
    assert error is not None
    assert "'movie' has 2 frames" in error
    assert "Coloc Translocation" in error
    put(Image(data[0], axes="YX"), "still")
    error = run(session, "Coloc Segment Nuclei...", "image=still edge_fraction=1.5")
    assert error is not None
    assert "edge_fraction must be in (0, 1), got 1.5" in error
    assert get_table("Nuclei measurements") is None or len(table("Nuclei measurements")) == 0


# ---------------------------------------------------------------------------------------------
# Coloc Cytoplasm Rings


def _labels(shape=(40, 50)) -> np.ndarray:
    labels = np.zeros(shape, np.uint16)
    labels[8:16, 8:18] = 1
    labels[20:30, 14:22] = 2
    labels[10:18, 30:40] = 7
    return labels


def test_cytoplasm_rings_match_python_api_with_calibration_and_mask(session):
    labels = _labels()
    put(Image(labels, axes="YX", spacing=(0.25, 0.25), unit="um"), "nuclei")
    assert run(session, "Coloc Cytoplasm Rings...", "labels=nuclei inner=0.3 outer=1.5") is None
    out = from_imageplus(image_by_title("Rings of nuclei"))
    expected = colocalize.ring_mask(labels, inner=0.3, outer=1.5, spacing=(0.25, 0.25))
    assert expected.any()
    np.testing.assert_array_equal(out.data, expected)
    assert (out.spacing, out.unit) == ((0.25, 0.25), "um")
    np.testing.assert_array_equal(from_imageplus(image_by_title("nuclei")).data, labels)

    mask = np.zeros(labels.shape, bool)
    mask[:, :25] = True
    put(Image(mask, axes="YX"), "cells")
    image_by_title("Rings of nuclei").close()
    assert (
        run(session, "Coloc Cytoplasm Rings...", "labels=nuclei inner=0 outer=1 mask=cells") is None
    )
    out = from_imageplus(image_by_title("Rings of nuclei"))
    expected = colocalize.ring_mask(labels, outer=1.0, spacing=(0.25, 0.25), mask=mask)
    np.testing.assert_array_equal(out.data, expected)
    assert not out.data[:, 25:].any()


def test_cytoplasm_rings_of_every_frame_with_default_distances(session):
    labels = np.stack([_labels(), np.roll(_labels(), 3, axis=1)])
    put(Image(labels, axes="TYX", spacing=(5.0, 0.5, 0.5), unit="um"), "tracks")
    assert run(session, "Coloc Cytoplasm Rings...", "labels=tracks") is None
    out = from_imageplus(image_by_title("Rings of tracks"))
    assert out.axes == "TYX"
    for t in range(2):  # defaults: 0.5 and 3 µm, whatever the pixel size
        expected = colocalize.ring_mask(labels[t], inner=0.5, outer=3.0, spacing=(0.5, 0.5))
        np.testing.assert_array_equal(out.data[t], expected)


@pytest.mark.parametrize(
    ("spacing", "unit", "inner", "outer"),
    [(0.25, "um", 0.5, 3.0), (120.0, "nm", 500.0, 3000.0), (1.0, "pixel", 1.0, 5.0)],
)
def test_cytoplasm_ring_defaults_are_cell_sized_in_the_image_unit(
    session, spacing, unit, inner, outer
):
    """inner/outer left out: 0.5 and 3 µm in the image's unit (one and five pixels when it is
    not calibrated); the table says which distances were used."""
    labels = _labels((60, 70))
    put(Image(labels, axes="YX", spacing=(spacing, spacing), unit=unit), "nuclei")
    assert run(session, "Coloc Cytoplasm Rings...", "labels=nuclei") is None
    out = from_imageplus(image_by_title("Rings of nuclei"))
    expected = colocalize.ring_mask(labels, inner=inner, outer=outer, spacing=(spacing, spacing))
    np.testing.assert_array_equal(out.data, expected)
    rows = table("Cytoplasm ring measurements")
    assert rows["Inner"].tolist() == [inner] * 3
    assert rows["Outer"].tolist() == [outer] * 3


def test_cytoplasm_rings_measure_area_and_mean_of_each_ring_and_nucleus(session):
    """The measurements table: per object, the area and the mean of every channel of the
    chosen image in the nucleus and in its ring (as measure_objects computes them)."""
    labels = _labels()
    rng = np.random.default_rng(2)
    data = rng.integers(0, 4000, size=(2, *labels.shape)).astype(np.uint16)
    spacing = (0.25, 0.25)
    put(Image(labels, axes="YX", spacing=spacing, unit="um"), "nuclei")
    put(Image(data, axes="CYX", spacing=(1.0, *spacing), unit="um"), "cells")
    options = "labels=nuclei inner=0.25 outer=1.5 image=cells"
    assert run(session, "Coloc Cytoplasm Rings...", options) is None
    rows = table("Cytoplasm ring measurements")
    rings = colocalize.ring_mask(labels, inner=0.25, outer=1.5, spacing=spacing)
    assert rows["label"].tolist() == [1, 2, 7]
    assert set(rows["Labels"]) == {"nuclei"}
    assert set(rows["Image"]) == {"cells"}
    for prefix, objects in (("nucleus_", labels), ("ring_", rings)):
        expected = colocalize.measure_objects(
            objects, data, spacing=spacing, channel_axis=0, channel_names=["C1", "C2"]
        )
        for column in ("area", "mean_C1", "mean_C2"):
            np.testing.assert_allclose(rows[prefix + column], expected[column], rtol=1e-12)
    assert (rows["ring_area"] > 0).all()


def test_cytoplasm_ring_table_of_a_time_lapse_without_an_image(session):
    labels = np.stack([_labels(), np.roll(_labels(), 3, axis=1)])
    put(Image(labels, axes="TYX", spacing=(5.0, 0.5, 0.5), unit="um"), "tracks")
    assert run(session, "Coloc Cytoplasm Rings...", "labels=tracks inner=0 outer=1") is None
    rows = table("Cytoplasm ring measurements")
    assert rows["frame"].tolist() == [0, 0, 0, 1, 1, 1]
    assert set(rows["Image"]) == {"<None>"}
    for t in range(2):
        expected = colocalize.measure_objects(labels[t], spacing=(0.5, 0.5))
        np.testing.assert_allclose(rows["nucleus_area"][rows["frame"] == t], expected["area"])
    assert not any(c.startswith("nucleus_mean") for c in rows.columns)


def test_cytoplasm_rings_refuse_an_image_of_another_size(session):
    put(Image(_labels(), axes="YX"), "nuclei")
    put(Image(np.zeros((2, 30, 50), np.uint8), axes="CYX"), "small")
    error = run(session, "Coloc Cytoplasm Rings...", "labels=nuclei image=small")
    assert error is not None
    assert "the image 'small' is 50x30 but the label image 'nuclei' is 50x40" in error


def test_cytoplasm_rings_refuse_bad_distances_and_non_label_images(session):
    put(Image(_labels(), axes="YX"), "nuclei")
    error = run(session, "Coloc Cytoplasm Rings...", "labels=nuclei inner=3 outer=2")
    assert error is not None
    assert "0 <= inner < outer, got inner=3.0, outer=2.0" in error
    put(Image(np.full((10, 12), 0.5, np.float32), axes="YX"), "smooth")
    error = run(session, "Coloc Cytoplasm Rings...", "labels=smooth inner=0 outer=2")
    assert error is not None
    assert "must be an integer label image" in error
    put(Image(np.stack([_labels()] * 2), axes="CYX"), "two")
    error = run(session, "Coloc Cytoplasm Rings...", "labels=two inner=0 outer=2")
    assert error is not None
    assert "labels='two' has 2 channels" in error


# ---------------------------------------------------------------------------------------------
# Coloc Translocation


def test_translocation_with_given_nuclei_matches_python_api_and_plots(session):
    data, nuclei = _time_lapse()
    image = Image(data, axes="TCYX", spacing=(30.0, 1.0, 0.5, 0.5), unit="um")
    put(image, "ktr")
    put(Image(nuclei, axes="TYX", spacing=(30.0, 0.5, 0.5), unit="um"), "nuclei")
    options = "image=ktr nucleus_channel=1 reporter_channel=2 nuclei=nuclei inner=0.5 outer=2 plot"
    assert run(session, "Coloc Translocation...", options) is None
    expected = colocalize.translocation(
        image, nucleus_channel=0, reporter_channel=1, nuclei=nuclei, inner=0.5, outer=2.0
    )
    rows = table("Translocation")
    assert (rows["Image"] == "ktr").all()
    assert_frame_matches(rows, expected)
    np.testing.assert_allclose(rows["time"], expected["frame"] * 30.0)
    assert sorted(set(rows["cell"])) == [1, 2]
    plot = image_by_title("Translocation of ktr").getProperty("thePlot")
    np.testing.assert_allclose(list(plot.getXValues()), [0, 30, 60, 90])
    medians = expected.groupby("frame")["ratio"].median().to_numpy()
    np.testing.assert_allclose(list(plot.getYValues()), medians, rtol=1e-6)  # float32 plot
    assert np.all(np.diff(medians) > 0)  # the reporter leaves the nucleus


def test_translocation_without_a_frame_interval_plots_frames(session):
    """A time-lapse with no frame interval in ImageJ is plotted against frames, not seconds."""
    data, nuclei = _time_lapse()
    imp = to_imageplus(Image(data, axes="TCYX"), title="ktr_frames")
    imp.getCalibration().frameInterval = 0.0  # as ImageJ leaves an uncalibrated time-lapse
    imp.show()
    put(Image(nuclei, axes="TYX"), "nuclei_frames")
    options = (
        "image=ktr_frames nucleus_channel=1 reporter_channel=2 nuclei=nuclei_frames "
        "inner=0.5 outer=2 plot"
    )
    assert run(session, "Coloc Translocation...", options) is None
    plot = image_by_title("Translocation of ktr_frames").getProperty("thePlot")
    assert str(plot.getLabel("x")) == "Frame"
    np.testing.assert_allclose(list(plot.getXValues()), [0, 1, 2, 3])


def test_translocation_segments_nuclei_like_the_python_api(session):
    data, _ = _time_lapse(n_t=3)
    put(Image(data, axes="TCYX"), "movie")
    options = "image=movie nucleus_channel=1 reporter_channel=2 radius=6 method=Otsu"
    assert run(session, "Coloc Translocation...", options) is None
    expected = colocalize.translocation(
        Image(data, axes="TCYX"),
        nucleus_channel=0,
        reporter_channel=1,
        inner=1.0,
        outer=5.0,
        segment_options={"radius": 6.0, "method": "Otsu"},
    )
    assert len(expected) == 6
    assert_frame_matches(table("Translocation"), expected)
    np.testing.assert_array_equal(table("Translocation")["time"], expected["frame"])  # no interval
    import jpype

    # a checkbox left out of the macro options is off: no plot
    assert jpype.JClass("ij.WindowManager").getImage("Translocation of movie") is None


def test_translocation_refuses_images_without_frames_and_bad_channels(session):
    data, _ = _time_lapse(n_t=2)
    put(Image(data[0], axes="CYX"), "still")
    error = run(session, "Coloc Translocation...", "image=still")
    assert error is not None
    assert "'still' has axes 'CYX'" in error
    assert "frames (T) and channels (C)" in error
    put(Image(data, axes="TCYX"), "movie")
    error = run(session, "Coloc Translocation...", "image=movie reporter_channel=3")
    assert error is not None
    assert "reporter_channel=3 is out of range" in error
    error = run(session, "Coloc Translocation...", "image=movie nucleus_channel=1.5")
    assert error is not None
    assert "nucleus_channel=1.5 is not a channel number" in error  # not silently channel 1
    assert get_table("Translocation") is None or len(table("Translocation")) == 0
