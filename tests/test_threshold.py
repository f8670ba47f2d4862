"""Thresholds without Java: invariants, stacks, masks, errors, scikit-image, local thresholds.

The comparison with ImageJ itself is in test_threshold_imagej.py.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import colocalize
from colocalize import (
    ColocalizeWarning,
    threshold,
    threshold_from_histogram,
    threshold_local,
    threshold_methods,
    threshold_per_slice,
)
from conftest import require_module

METHODS = threshold_methods()
FAST = ("Default", "IsoData", "Li", "Mean", "MinError", "Moments", "Otsu", "Percentile", "Yen")


def bimodal(rng, shape, dtype, *, low=40.0, high=180.0, spread=10.0, fraction=0.3):
    image = np.where(
        rng.random(shape) < fraction,
        rng.normal(high, spread, shape),
        rng.normal(low, spread, shape),
    )
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        image = np.clip(np.round(image), info.min, info.max)
    return image.astype(dtype)


def test_methods_list():
    assert len(METHODS) == 18
    assert METHODS[0] == "Default"
    assert {"Huang2", "IJ_IsoData", "MinError", "RenyiEntropy"} <= set(METHODS)
    assert colocalize.threshold is threshold


# Methods whose criterion recovers the bright fraction of a symmetric bimodal image; the entropy
# methods, Triangle and Yen pick other levels by design, Percentile always gives 50 %.
SPLITTING = (
    "Default",
    "Huang",
    "Huang2",
    "Intermodes",
    "IsoData",
    "IJ_IsoData",
    "Li",
    "Mean",
    "MinError",
    "Minimum",
    "Moments",
    "Otsu",
)


@pytest.mark.parametrize("method", SPLITTING)
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("ndim", [2, 3])
def test_recovers_the_bright_population(method, dtype, ndim):
    # Known answer: 30 % of the pixels from N(180, 12), the rest from N(40, 12).
    rng = np.random.default_rng(1)
    image = bimodal(rng, (6, 24, 24)[-ndim:], dtype, low=40, high=180, spread=12)
    t = threshold(image, method)
    assert isinstance(t, float)
    assert 0.27 <= np.mean(image > t) <= 0.33
    assert 0.67 <= np.mean(image <= threshold(image, method, dark_background=False)) <= 0.73


@pytest.mark.parametrize("method", ["Percentile"])
def test_percentile_splits_in_half(method):
    rng = np.random.default_rng(1)
    image = rng.permutation(np.arange(1000, dtype=np.uint16)).reshape(20, 50)
    assert 0.49 <= np.mean(image > threshold(image, method)) <= 0.51


@pytest.mark.parametrize("method", METHODS)
def test_uint8_threshold_is_the_histogram_level(method):
    rng = np.random.default_rng(2)
    image = bimodal(rng, (32, 32), np.uint8)
    level = threshold_from_histogram(np.bincount(image.ravel(), minlength=256), method)
    assert threshold(image, method) == level
    # dark objects: the complement of the bright foreground, same level
    assert threshold(image, method, dark_background=False) == level


def _warns_if(condition):
    """A constant 16-bit or float image warns (every pixel is selected)."""
    return pytest.warns(ColocalizeWarning) if condition else contextlib.nullcontext()


@settings(max_examples=40, deadline=None)
@given(
    image=hnp.arrays(np.uint16, (5, 7), elements=st.integers(0, 3000)),
    shift=st.integers(0, 60000),
    method=st.sampled_from(FAST),
    dark=st.booleans(),
)
def test_integer_threshold_shifts_with_the_image(image, shift, method, dark):
    # 16-bit binning depends only on v - min, so the threshold moves with an offset.
    with np.errstate(over="ignore"):
        shifted = image + np.uint16(shift)
    if shifted.astype(np.int64).max() != image.astype(np.int64).max() + shift:
        return  # wrapped around
    constant = image.min() == image.max()
    with _warns_if(constant):
        t0 = threshold(image, method, dark_background=dark)
    with _warns_if(constant):
        t1 = threshold(shifted, method, dark_background=dark)
    assert t1 == t0 + shift


@settings(max_examples=40, deadline=None)
@given(
    image=hnp.arrays(
        st.sampled_from([np.uint8, np.uint16, np.float32]),
        (6, 6),
        elements=st.integers(0, 255),
    ),
    method=st.sampled_from(FAST),
)
def test_threshold_in_range_and_splits_consistently(image, method):
    if image.min() == image.max():
        with _warns_if(image.dtype != np.uint8):
            threshold(image, method)
        return
    t = threshold(image, method)
    bright = threshold(image, method, dark_background=False)
    if image.dtype == np.uint8:  # ImageJ's level itself, which may lie outside the data
        assert 0 <= t == bright <= 255
        return
    assert float(image.min()) - 1 <= t <= float(image.max())
    assert float(image.min()) <= bright <= float(image.max())


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_stack_modes(dtype):
    rng = np.random.default_rng(4)
    stack = bimodal(rng, (3, 20, 20), dtype)
    stack[1] = stack[1] // 2 if np.issubdtype(dtype, np.integer) else stack[1] / 2
    # stack histogram: binned like ImageJ's StackStatistics (see test_threshold_imagej.py); the
    # same pixels in more axes give the same threshold, and 8-bit stacks sum their histograms
    t = threshold(stack, "Otsu")
    assert threshold(stack.reshape(1, 3, 20, 20), "Otsu") == t
    if dtype == np.uint8:
        assert t == threshold(stack.reshape(1, -1), "Otsu")
    assert threshold(stack, "Otsu", stack_mode="projection") == threshold(stack.max(0), "Otsu")
    per = threshold_per_slice(stack, "Otsu")
    assert per.shape == (3,)
    assert per.tolist() == [threshold(p, "Otsu") for p in stack]
    four = threshold_per_slice(stack.reshape(1, 3, 20, 20), "Li")
    assert four.shape == (1, 3)
    assert four[0].tolist() == threshold_per_slice(stack, "Li").tolist()


def test_mask_restricts_the_histogram():
    rng = np.random.default_rng(5)
    image = bimodal(rng, (30, 30), np.uint8)
    mask = np.zeros(image.shape, bool)
    mask[:, :15] = True
    expected = threshold_from_histogram(np.bincount(image[mask], minlength=256), "Yen")
    assert threshold(image, "Yen", mask=mask) == expected
    # a 2-D mask applies to every plane of a stack
    stack = np.stack([image, image])
    assert threshold(stack, "Yen", mask=mask) == expected
    per = threshold_per_slice(stack, "Yen", mask=mask)
    assert per.tolist() == [expected, expected]


def test_mask_keeps_the_whole_image_range_for_16_bit():
    # ImageJ scales 16-bit images over the whole image's min..max even with a mask.
    image = np.array([[0, 100, 110, 1000]] * 4, dtype=np.uint16)
    mask = image < 1000
    t = threshold(image, "Default", mask=mask)
    t_cropped = threshold(image[:, :3], "Default")
    assert t != t_cropped


def test_empty_mask_gives_nan_and_warning():
    image = np.arange(16, dtype=np.uint16).reshape(4, 4)
    with pytest.warns(ColocalizeWarning, match="mask is empty"):
        t = threshold(image, "Otsu", mask=np.zeros((4, 4), bool))
    assert np.isnan(t)
    stack = np.stack([image, image])
    mask = np.zeros((2, 4, 4), bool)
    mask[0] = True
    with pytest.warns(ColocalizeWarning):
        per = threshold_per_slice(stack, "Otsu", mask=mask)
    assert np.isnan(per[1])
    assert not np.isnan(per[0])


@pytest.mark.parametrize("dtype", [np.uint16, np.float32])
def test_constant_image_selects_everything_like_imagej(dtype):
    image = np.full((5, 5), 7, dtype=dtype)
    with pytest.warns(ColocalizeWarning, match="constant"):
        t = threshold(image, "Otsu")
    assert (image > t).all()
    with pytest.warns(ColocalizeWarning):
        t_bright = threshold(image, "Otsu", dark_background=False)
    assert (image <= t_bright).all()


def test_float_threshold_is_just_below_imagej_lower_bound():
    image = np.array([[0.0, 0.1, 0.2, 0.9, 1.0]], dtype=np.float32)
    t = threshold(image, "Mean")
    level = threshold_from_histogram(
        np.bincount(np.floor(image.ravel() * 255 + 0.5).astype(int), minlength=256), "Mean"
    )
    lower = np.float32((level + 1) / 255.0)
    assert np.float32(t) == np.nextafter(lower, np.float32(-np.inf))


def test_full_histogram_uses_one_bin_per_value():
    rng = np.random.default_rng(6)
    image = bimodal(rng, (30, 30), np.uint16, low=1000, high=1800, spread=40)
    base = int(image.min())
    counts = np.bincount((image.astype(np.int64) - base).ravel())
    for method in ("Huang2", "Li", "Triangle", "Yen"):
        expected = threshold_from_histogram(counts, method) + base
        assert threshold(image, method, full_histogram=True) == expected
    # Fiji's bilevel rule: two values -> just below the upper one
    two = np.array([[300, 300, 900]], dtype=np.uint16)
    assert threshold(two, "Otsu", full_histogram=True) == 899
    with pytest.raises(ValueError, match="integer image"):
        threshold(image.astype(np.float32), "Otsu", full_histogram=True)
    # a unimodal histogram defeats Intermodes: Fiji's -1 becomes the minimum - 1 (all pixels)
    counts = np.round(100 * np.exp(-0.5 * ((np.arange(41) - 20) / 6) ** 2)).astype(int)
    unimodal = (500 + np.repeat(np.arange(41), counts)).astype(np.uint16)[None, :]
    assert threshold(unimodal, "Intermodes", full_histogram=True) == unimodal.min() - 1


def _fiji_histogram(kind: int) -> np.ndarray:
    i = np.arange(1000 if kind == 0 else 1800)
    if kind == 0:  # bimodal, every bin occupied
        counts = 800 * np.exp(-0.5 * ((i - 250) / 60) ** 2)
        counts += 300 * np.exp(-0.5 * ((i - 700) / 90) ** 2) + 5 * (i % 7)
    else:  # skewed background with a sparse comb
        counts = 5000 * np.exp(-i / 150) + 3 * (i % 13 == 0)
    return np.round(counts).astype(np.int64)


# Levels from Fiji's Auto Threshold plugin (fiji/Auto_Threshold 4ca9f1a, v1.18, run on ImageJ
# 1.53t: Auto_Threshold.exec(imp, method, white objects, set threshold) on a 1-row 16-bit image
# holding the pixels of _fiji_histogram(kind) offset by 100 (kind 0) or 2000 (kind 1).
FIJI_LEVELS = {
    0: {"Default": 578, "Huang": 573, "Huang2": 566, "Intermodes": 575, "IsoData": 578,
        "Li": 536, "MaxEntropy": 484, "Mean": 518, "MinError": 531, "Minimum": 548,
        "Moments": 616, "Otsu": 577, "Percentile": 401, "RenyiEntropy": 491, "Shanbhag": 694,
        "Triangle": 507, "Yen": 456},
    # Moments left out: Fiji computes i * i * i in Java int, which overflows past 1290 bins
    # (Fiji 2261, ours 2293).
    1: {"Default": 2238, "Huang": 2143, "Huang2": 2144, "Intermodes": 2778, "IsoData": 2239,
        "Li": 2154, "MaxEntropy": 2755, "Mean": 2149, "MinError": 2004, "Minimum": 3517,
        "Otsu": 2239, "Percentile": 2103, "RenyiEntropy": 2718, "Shanbhag": 2344,
        "Triangle": 2376, "Yen": 2858},
}  # fmt: skip


@pytest.mark.parametrize("kind", [0, 1])
def test_full_histogram_equals_fiji_auto_threshold(kind):
    counts = _fiji_histogram(kind)
    base = 100 if kind == 0 else 2000
    image = (base + np.repeat(np.arange(counts.size), counts)).astype(np.uint16)[None, :]
    got = {m: threshold(image, m, full_histogram=True) for m in FIJI_LEVELS[kind]}
    assert got == FIJI_LEVELS[kind]


def test_histogram_level_edge_cases():
    single = np.zeros(256, int)
    single[77] = 5
    two = np.zeros(256, int)
    two[[10, 200]] = [3, 9]
    for method in METHODS:
        for hist in (single, two):
            level = threshold_from_histogram(hist, method)
            assert isinstance(level, int)
            assert 0 <= level <= 255
    # lists and other lengths work too
    assert threshold_from_histogram([1, 5, 1, 0, 2, 9, 2], "Otsu") == 3  # last of a tie
    assert threshold_from_histogram(np.array([3.0, 0.0, 4.0]), "mean") == 1


@pytest.mark.parametrize(
    ("histogram", "match"),
    [
        (np.zeros(256, int), "all zero"),
        (np.array([1, -1, 3]), "negative"),
        (np.array([1.5, 2.0]), "whole-number"),
        (np.zeros((2, 2), int), "1-D"),
        (np.array([], int), "1-D"),
    ],
)
def test_bad_histograms(histogram, match):
    with pytest.raises(ValueError, match=match):
        threshold_from_histogram(histogram, "Otsu")


def test_bad_arguments():
    image = np.arange(16, dtype=np.uint8).reshape(4, 4)
    with pytest.raises(ValueError, match="method must be one of"):
        threshold(image, "otsu2")
    with pytest.raises(ValueError, match="stack_mode"):
        threshold(image, "Otsu", stack_mode="slice")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least 3 axes"):
        threshold_per_slice(image, "Otsu")
    with pytest.raises(ValueError, match="mask has shape"):
        threshold(image, "Otsu", mask=np.ones((3, 3), bool))
    with pytest.raises(ValueError, match="NaN"):
        threshold(np.array([[1.0, np.nan]]), "Otsu")
    assert threshold(image, "OTSU") == threshold(image, "Otsu")
    assert threshold(image, "MinError(I)") == threshold(image, "MinError")


def test_input_not_modified():
    rng = np.random.default_rng(8)
    image = bimodal(rng, (16, 16), np.uint16)
    copy = image.copy()
    mask = image > 50
    threshold(image, "Triangle", mask=mask)
    threshold_per_slice(image[None], "Triangle")
    threshold_local(image, block_size=5)
    assert np.array_equal(image, copy)


# --- scikit-image, where the method names coincide -----------------------------------------


def _skimage_images(n=25):
    rng = np.random.default_rng(9)
    for _ in range(n):
        yield bimodal(
            rng,
            (40, 40),
            np.uint8,
            low=rng.uniform(20, 90),
            high=rng.uniform(120, 220),
            spread=rng.uniform(5, 20),
            fraction=rng.uniform(0.1, 0.6),
        )


def test_against_skimage_otsu_yen_mean():
    filters = require_module("skimage.filters")
    for image in _skimage_images():
        # Otsu: same criterion; on equal maxima (an empty gap) ImageJ keeps the last level and
        # scikit-image the first, so the thresholds can differ but the foreground cannot.
        t = threshold(image, "Otsu")
        assert np.array_equal(image > t, image > filters.threshold_otsu(image))
        assert threshold(image, "Yen") == filters.threshold_yen(image)
        assert threshold(image, "Mean") == np.floor(filters.threshold_mean(image))


def test_against_skimage_triangle_isodata_li():
    filters = require_module("skimage.filters")
    for image in _skimage_images():
        # Triangle: ImageJ subtracts one bin (``split--``) and pads the ends differently.
        assert abs(threshold(image, "Triangle") - filters.threshold_triangle(image)) <= 1
        # IsoData: ImageJ leaves level g out of both means; at most one level apart here.
        assert abs(threshold(image, "IsoData") - filters.threshold_isodata(image)) <= 1
        # Li: ImageJ iterates on integer levels, scikit-image on continuous values.
        assert abs(threshold(image, "Li") - filters.threshold_li(image)) < 12


# --- local thresholds -----------------------------------------------------------------------


@pytest.mark.parametrize("method", ["gaussian", "mean", "median"])
@pytest.mark.parametrize("ndim", [2, 3])
def test_threshold_local_matches_skimage(method, ndim):
    filters = require_module("skimage.filters")
    rng = np.random.default_rng(10)
    image = rng.random((5, 20, 24)[-ndim:]) * 1000
    ours = threshold_local(image, block_size=7, method=method, offset=3.0)
    theirs = filters.threshold_local(image, 7, method, offset=3.0)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-9)


def test_threshold_local_mask():
    rng = np.random.default_rng(11)
    image = rng.random((20, 20))
    full = threshold_local(image, block_size=5, method="mean")
    np.testing.assert_allclose(
        threshold_local(image, block_size=5, method="mean", mask=np.ones((20, 20), bool)), full
    )
    mask = np.zeros((20, 20), bool)
    mask[5:15, 5:15] = True
    masked = threshold_local(image, block_size=5, method="gaussian", mask=mask, offset=0.1)
    assert np.isnan(masked[~mask]).all()
    assert np.isfinite(masked[mask]).all()
    # a neighbourhood fully inside the mask is unaffected by pixels outside it
    bumped = image.copy()
    bumped[~mask] += 100
    again = threshold_local(bumped, block_size=5, method="gaussian", mask=mask, offset=0.1)
    np.testing.assert_allclose(again[mask], masked[mask])
    with pytest.raises(ValueError, match="median"):
        threshold_local(image, block_size=5, method="median", mask=mask)


def test_threshold_local_bad_block_size():
    with pytest.raises(ValueError, match="odd positive"):
        threshold_local(np.zeros((5, 5)), block_size=4)
    with pytest.raises(ValueError, match="odd positive"):
        threshold_local(np.zeros((5, 5)), block_size=(3, 3, 3))
    with pytest.raises(ValueError, match="method must be"):
        threshold_local(np.zeros((5, 5)), block_size=3, method="otsu")  # type: ignore[arg-type]


# --- command line ---------------------------------------------------------------------------


def test_cli_prints_one_threshold_per_channel(tmp_path, capsys):
    import tifffile

    from colocalize._cli._main import main

    rng = np.random.default_rng(12)
    data = np.stack([bimodal(rng, (30, 40), np.uint16), bimodal(rng, (30, 40), np.uint16) * 3])
    path = tmp_path / "two.tif"
    tifffile.imwrite(path, data, imagej=True, metadata={"axes": "CYX"})
    assert main(["threshold", str(path), "--method", "Li"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split("\t") == ["channel", "name", "method", "threshold"]
    values = [float(line.split("\t")[3]) for line in lines[1:]]
    assert values == [threshold(data[0], "Li"), threshold(data[1], "Li")]

    mask = np.zeros((30, 40), np.uint8)
    mask[:, :20] = 255
    mask_path = tmp_path / "mask.tif"
    tifffile.imwrite(mask_path, mask)
    assert main(["threshold", str(path), "--channel", "1", "--mask", str(mask_path)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    assert float(lines[1].split("\t")[3]) == threshold(data[1], "Otsu", mask=mask > 0)

    assert main(["threshold", str(path), "--channel", "7"]) == 2
    assert "--channel='7' is not a channel" in capsys.readouterr().err
    # the last channel, counted from the end as everywhere else (was an error)
    assert main(["threshold", str(path), "--channel", "-1", "--mask", str(mask_path)]) == 0
    assert capsys.readouterr().out.strip().splitlines()[1:] == lines[1:]
    pixel_path = tmp_path / "pixel.tif"
    tifffile.imwrite(pixel_path, np.ones((1, 1), np.uint8))
    assert main(["threshold", str(path), "--mask", str(pixel_path)]) == 2
    assert "--mask" in capsys.readouterr().err  # a 1x1 mask (was a deep broadcasting error)


def test_cli_per_slice(tmp_path, capsys):
    import tifffile

    from colocalize._cli._main import main

    rng = np.random.default_rng(13)
    stack = np.stack([bimodal(rng, (20, 20), np.uint16) * (i + 1) for i in range(3)])
    path = tmp_path / "stack.tif"
    tifffile.imwrite(path, stack, imagej=True, metadata={"axes": "ZYX"})
    assert main(["threshold", str(path), "--per-slice", "--method", "Huang2"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split("\t") == ["channel", "name", "method", "slice", "threshold"]
    got = [float(line.split("\t")[4]) for line in lines[1:]]
    assert got == threshold_per_slice(stack, "Huang2").tolist()
    assert main(["threshold", str(path), "--stack-mode", "projection"]) == 0
    value = float(capsys.readouterr().out.strip().splitlines()[1].split("\t")[3])
    assert value == threshold(stack.max(axis=0), "Otsu")
