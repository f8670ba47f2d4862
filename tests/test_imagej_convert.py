"""numpy <-> ImageJ conversions against a real ImageJ 1.x (Debian's ij.jar)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from colocalize import Image
from colocalize.imagej import (
    from_imageplus,
    from_results_table,
    mask_from_imageplus,
    roi_mask,
    to_imageplus,
    to_results_table,
)

AXES = ["YX", "ZYX", "CYX", "TYX", "CZYX", "TCZYX"]


def _image(axes: str, dtype, seed: int = 0) -> Image:
    rng = np.random.default_rng(seed)
    sizes = {"T": 3, "C": 2, "Z": 4, "Y": 5, "X": 7}
    data = (rng.random([sizes[a] for a in axes]) * 250).astype(dtype)
    spacing = tuple({"T": 2.5, "C": 1.0, "Z": 0.8, "Y": 0.125, "X": 0.25}[a] for a in axes)
    names = ("GFP", "RFP") if "C" in axes else ()
    return Image(data, axes=axes, spacing=spacing, unit="um", channel_names=names, name="src")


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
@pytest.mark.parametrize("axes", AXES)
def test_round_trip_keeps_pixels_axes_and_calibration(ij, axes, dtype):
    image = _image(axes, dtype)
    imp = to_imageplus(image, title="round trip")
    n = image.data.shape
    assert int(imp.getNChannels()) == (n[axes.index("C")] if "C" in axes else 1)
    assert int(imp.getNSlices()) == (n[axes.index("Z")] if "Z" in axes else 1)
    assert int(imp.getNFrames()) == (n[axes.index("T")] if "T" in axes else 1)
    assert str(imp.getTitle()) == "round trip"
    cal = imp.getCalibration()
    assert str(cal.getUnit()) == "µm"
    assert float(cal.pixelWidth) == 0.25
    assert float(cal.pixelHeight) == 0.125
    back = from_imageplus(imp)
    assert back.axes == axes
    assert back.data.dtype == dtype
    np.testing.assert_array_equal(back.data, image.data)
    assert back.spacing == image.spacing
    assert back.unit == "um"
    assert back.channel_names == image.channel_names
    assert back.name == "round trip"


def test_imageplus_pixels_are_copied_both_ways(ij):
    data = np.arange(12, dtype=np.float32).reshape(3, 4)
    imp = to_imageplus(data)
    data[0, 0] = 99  # changing the array later does not reach ImageJ
    assert float(imp.getProcessor().getf(0, 0)) == 0.0
    back = from_imageplus(imp).data
    back[0, 1] = -5  # and the array we get back is ours
    assert float(imp.getProcessor().getf(1, 0)) == 1.0


def test_uncalibrated_image_has_pixel_unit(ij):
    back = from_imageplus(to_imageplus(np.zeros((4, 5), np.uint8)))
    assert back.unit == "pixel"
    assert back.spacing == (1.0, 1.0)


def test_frame_interval_in_other_time_units_becomes_seconds(ij):
    imp = to_imageplus(_image("TYX", np.uint8))
    imp.getCalibration().frameInterval = 250.0
    imp.getCalibration().setTimeUnit("ms")
    assert from_imageplus(imp).spacing[0] == pytest.approx(0.25)


def test_masks_become_0_255_bytes_and_come_back_boolean(ij):
    mask = np.zeros((6, 8), bool)
    mask[2:4, 3:7] = True
    imp = to_imageplus(mask)
    assert int(imp.getBitDepth()) == 8
    assert set(np.unique(from_imageplus(imp).data)) == {0, 255}
    np.testing.assert_array_equal(mask_from_imageplus(imp), mask)


@pytest.mark.parametrize(("high", "bits"), [(300, 16), (70_000, 32)])
def test_label_images_keep_their_labels(ij, high, bits):
    labels = np.zeros((5, 6), np.int32)
    labels[1, 1], labels[2, 3], labels[4, 5] = 1, high // 2, high
    imp = to_imageplus(labels)
    assert int(imp.getBitDepth()) == bits
    np.testing.assert_array_equal(from_imageplus(imp).data, labels)


def test_labels_beyond_float32_precision_are_refused(ij):
    with pytest.raises(ValueError, match=r"16777216"):
        to_imageplus(np.array([[0, 2**25 + 1]], np.int64), title="labels")


def test_float64_becomes_float32(ij):
    data = np.array([[0.1, 1e-3], [2.5, 1e6]])
    back = from_imageplus(to_imageplus(data)).data
    assert back.dtype == np.float32
    np.testing.assert_array_equal(back, data.astype(np.float32))


def test_rgb_images_become_three_channels(ij):
    rgb = ij.JClass("ij.process.ColorProcessor")(3, 2)
    rgb.set(1, 0, (10 << 16) | (20 << 8) | 30)
    image = from_imageplus(ij.JClass("ij.ImagePlus")("rgb", rgb))
    assert image.axes == "CYX"
    assert image.channel_names == ("red", "green", "blue")
    assert image.data[:, 0, 1].tolist() == [10, 20, 30]


def test_roi_mask_is_the_selection(ij):
    imp = to_imageplus(np.zeros((10, 12), np.uint8))
    assert roi_mask(imp) is None
    imp.setRoi(ij.JClass("ij.gui.Roi")(2, 3, 4, 5))
    mask = roi_mask(imp)
    assert mask is not None
    expected = np.zeros((10, 12), bool)
    expected[3:8, 2:6] = True
    np.testing.assert_array_equal(mask, expected)


def test_tables_round_trip_numbers_text_and_missing(ij):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(
        {"Image": ["a", "b c"], "r": [0.5, -1.25], "n": [3, 4], "ok": [True, False]}
    )
    table = to_results_table(frame)
    assert int(table.size()) == 2
    back = from_results_table(table)
    assert back["Image"].tolist() == ["a", "b c"]
    assert back["r"].tolist() == [0.5, -1.25]
    assert back["n"].tolist() == [3.0, 4.0]
    assert back["ok"].tolist() == [1.0, 0.0]
    more = from_results_table(to_results_table({"x": None, "y": 1e-300}))
    assert math.isnan(more["x"][0])
    assert more["y"][0] == 1e-300


@settings(max_examples=25, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 3), st.integers(1, 6), st.integers(1, 6)),
    dtype=st.sampled_from([np.uint8, np.uint16, np.float32]),
    seed=st.integers(0, 2**16),
)
def test_round_trip_property(ij, shape, dtype, seed):
    rng = np.random.default_rng(seed)
    data = (rng.random(shape) * 200).astype(dtype)
    back = from_imageplus(to_imageplus(data, axes="ZYX"))
    np.testing.assert_array_equal(back.data.reshape(shape), data)
