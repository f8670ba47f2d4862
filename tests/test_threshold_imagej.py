"""Our thresholds against ImageJ 1.x's own implementation (Debian's ij.jar, through JPype).

8-bit: ``AutoThresholder.getThreshold(method, histogram)`` on a few hundred histograms.
16-bit and float: ``ImageProcessor.setAutoThreshold(method, darkBackground, NO_LUT_UPDATE)`` and
ImageJ's own ``createMask()`` (the pixels it selects) against ``image > t`` (or ``<= t``).
Run with ``-s`` to see the "N/N agree" counts per method and type.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

import colocalize
from colocalize._threshold._imagej import IMAGEJ_METHODS
from conftest import skip_or_fail

pytestmark = pytest.mark.filterwarnings("ignore::colocalize.ColocalizeWarning")


def _histograms(rng: np.random.Generator) -> list[np.ndarray]:
    """Random, bimodal, sparse, edge-empty, single-bin, two-bin and huge-count histograms."""
    out: list[np.ndarray] = []
    for k in range(150):
        kind = k % 10
        h = np.zeros(256, dtype=np.int64)
        if kind == 0:
            h = rng.integers(0, 1000, 256)
        elif kind in (1, 2):
            n0, n1 = rng.integers(100, 20000, 2)
            x = np.concatenate(
                [
                    rng.normal(rng.uniform(10, 110), rng.uniform(2, 25), n0),
                    rng.normal(rng.uniform(120, 245), rng.uniform(2, 30), n1),
                ]
            )
            h = np.bincount(np.clip(np.round(x), 0, 255).astype(int), minlength=256)
        elif kind == 3:  # empty bins at both ends
            lo, hi = np.sort(rng.choice(np.arange(1, 255), 2, replace=False))
            h[lo : hi + 1] = rng.integers(0, 60, hi - lo + 1)
            h[lo] += 1
        elif kind == 4:  # a single non-empty bin
            h[rng.integers(0, 256)] = rng.integers(1, 10**6)
        elif kind == 5:  # two non-empty bins
            i, j = rng.choice(256, 2, replace=False)
            h[i], h[j] = rng.integers(1, 10**5, 2)
        elif kind == 6:  # sparse
            idx = rng.choice(256, int(rng.integers(3, 12)), replace=False)
            h[idx] = rng.integers(1, 500, idx.size)
        elif kind == 7:  # skewed, like fluorescence background
            x = rng.exponential(rng.uniform(3, 60), int(rng.integers(1000, 300000)))
            h = np.bincount(np.clip(x, 0, 255).astype(int), minlength=256)
        elif kind == 8:  # saturated: large counts in the top bins (Java int overflow paths)
            h = rng.integers(0, 2000, 256)
            h[-int(rng.integers(1, 4)) :] = rng.integers(40_000, 3_000_000)
        else:  # unimodal Gaussian: Intermodes and Minimum fail to find two peaks
            x = rng.normal(rng.uniform(40, 200), rng.uniform(5, 30), int(rng.integers(500, 5000)))
            h = np.bincount(np.clip(np.round(x), 0, 255).astype(int), minlength=256)
        out.append(np.asarray(h, dtype=np.int64))
    return out


@pytest.fixture(scope="module")
def imagej(ij):
    return {
        "thresholder": ij.JClass("ij.process.AutoThresholder")(),
        "Method": ij.JClass("ij.process.AutoThresholder$Method"),
        "ByteProcessor": ij.JClass("ij.process.ByteProcessor"),
        "ShortProcessor": ij.JClass("ij.process.ShortProcessor"),
        "FloatProcessor": ij.JClass("ij.process.FloatProcessor"),
        "ImageProcessor": ij.JClass("ij.process.ImageProcessor"),
        "Rectangle": ij.JClass("java.awt.Rectangle"),
        "jpype": ij,
    }


def test_imagej_methods_are_ours(imagej):
    names = [str(m) for m in imagej["thresholder"].getMethods()]
    assert names == list(IMAGEJ_METHODS)
    assert set(IMAGEJ_METHODS) | {"Huang2"} == set(colocalize.threshold_methods())


@pytest.mark.parametrize("method", IMAGEJ_METHODS)
def test_histogram_levels_equal_autothresholder(imagej, method):
    jp = imagej["jpype"]
    java_method = imagej["Method"].valueOf(method)
    hists = _histograms(np.random.default_rng(20241122))
    disagree = []
    for h in hists:
        expected = int(imagej["thresholder"].getThreshold(java_method, jp.JArray(jp.JInt)(h)))
        got = colocalize.threshold_from_histogram(h, method)
        if got != expected:
            disagree.append((expected, got, np.flatnonzero(h)[[0, -1]].tolist()))
    print(f"8-bit histograms, {method}: {len(hists) - len(disagree)}/{len(hists)} agree")
    assert not disagree


def _to_imagej(imagej, image: np.ndarray):
    jp = imagej["jpype"]
    h, w = image.shape
    if image.dtype == np.uint8:
        return imagej["ByteProcessor"](w, h, jp.JArray(jp.JByte)(image.ravel().view(np.int8)))
    if image.dtype == np.uint16:
        pixels = jp.JArray(jp.JShort)(image.ravel().view(np.int16))
        return imagej["ShortProcessor"](w, h, pixels, None)
    return imagej["FloatProcessor"](w, h, jp.JArray(jp.JFloat)(image.ravel()))


def _imagej_selection(imagej, image, method, dark, mask=None) -> np.ndarray:
    ip = _to_imagej(imagej, image)
    if mask is not None:
        ip.setRoi(imagej["Rectangle"](0, 0, image.shape[1], image.shape[0]))
        ip.setMask(_to_imagej(imagej, mask.astype(np.uint8) * 255))
    ip.setAutoThreshold(method, dark, imagej["ImageProcessor"].NO_LUT_UPDATE)
    selected = np.asarray(ip.createMask().getPixels(), dtype=np.int8)
    return selected.reshape(image.shape) != 0


def _ours(image, method, dark, mask=None) -> np.ndarray:
    t = colocalize.threshold(image, method, dark_background=dark, mask=mask)
    return image > t if dark else image <= t


def _random_images(rng: np.random.Generator, n: int) -> list[np.ndarray]:
    images = []
    for k in range(n):
        shape = (int(rng.integers(8, 40)), int(rng.integers(8, 40)))
        low = rng.normal(rng.uniform(50, 1500), rng.uniform(5, 300), shape)
        high = rng.normal(rng.uniform(1600, 30000), rng.uniform(5, 3000), shape)
        image = np.where(rng.random(shape) < rng.uniform(0.02, 0.7), high, low)
        if k % 4 == 3:
            image = rng.exponential(rng.uniform(10, 3000), shape)
        images.append(np.clip(image, 0, 65535))
    return images


DTYPES = {"8-bit": np.uint8, "16-bit": np.uint16, "float": np.float32}


@pytest.mark.parametrize("dtype_name", list(DTYPES))
def test_images_select_what_imagej_selects(imagej, dtype_name):
    dtype = DTYPES[dtype_name]
    images = _random_images(np.random.default_rng(7), 10)
    agree: Counter[str] = Counter()
    total: Counter[str] = Counter()
    failures = []
    for image in images:
        if dtype == np.uint8:
            typed = np.clip(image / image.max() * 255, 0, 255).astype(np.uint8)
        elif dtype == np.float32:
            typed = (image / 1000.0 - 0.3).astype(np.float32)  # negative values too
        else:
            typed = image.astype(np.uint16)
        for method in IMAGEJ_METHODS:
            for dark in (True, False):
                same = np.array_equal(
                    _ours(typed, method, dark), _imagej_selection(imagej, typed, method, dark)
                )
                total[method] += 1
                agree[method] += same
                if not same:
                    failures.append((method, dark, typed.shape))
    for method in IMAGEJ_METHODS:
        print(f"{dtype_name} images, {method}: {agree[method]}/{total[method]} agree")
    assert not failures


def test_mask_selects_what_imagej_selects(imagej):
    rng = np.random.default_rng(3)
    for image in _random_images(rng, 4):
        typed = image.astype(np.uint16)
        mask = rng.random(typed.shape) < 0.5
        for method in ("Default", "Otsu", "Li", "Triangle", "MaxEntropy"):
            ours = _ours(typed, method, True, mask=mask)
            theirs = _imagej_selection(imagej, typed, method, True, mask=mask)
            assert np.array_equal(ours, theirs), method


@pytest.fixture(scope="module")
def neuron() -> np.ndarray:
    """The ndev-sampledata neuron, (4, 623, 502) uint16 (skip when the package is absent, fail in
    CI, where scripts/test.sh installs it)."""
    try:
        return colocalize.data.neuron_4ch().data
    except ModuleNotFoundError as exc:
        skip_or_fail(str(exc))


@pytest.mark.slow
def test_neuron_sample_selects_what_imagej_selects(imagej, neuron):
    assert neuron.dtype == np.uint16
    assert neuron.shape[0] == 4
    agree = total = 0
    for channel in neuron:
        plane = np.ascontiguousarray(channel)
        for method in IMAGEJ_METHODS:
            for typed in (plane, plane.astype(np.float32)):
                for dark in (True, False):
                    same = np.array_equal(
                        _ours(typed, method, dark), _imagej_selection(imagej, typed, method, dark)
                    )
                    agree += same
                    total += 1
    print(f"neuron-4Ch (4 channels, 16-bit and float, both backgrounds): {agree}/{total} agree")
    assert agree == total


@pytest.mark.parametrize("dtype_name", list(DTYPES))
def test_stack_histogram_selects_what_imagej_selects(imagej, dtype_name):
    # IJ.setAutoThreshold(imp, "<method> [dark] stack"): one StackStatistics histogram.
    jp = imagej["jpype"]
    ij_class = jp.JClass("ij.IJ")
    dtype = DTYPES[dtype_name]
    rng = np.random.default_rng(11)
    agree = total = 0
    for k in range(4):
        planes = _random_images(rng, 3)
        shape = planes[0].shape
        stack = np.stack([np.resize(p, shape) * (1 + 0.5 * i) for i, p in enumerate(planes)])
        if dtype == np.uint8:
            typed = np.clip(stack / stack.max() * 255, 0, 255).astype(np.uint8)
        elif dtype == np.float32:
            typed = (stack / 1000.0 - 0.5).astype(np.float32)
        else:
            typed = np.clip(stack, 0, 65535).astype(np.uint16)
        java_stack = jp.JClass("ij.ImageStack")(shape[1], shape[0])
        for plane in typed:
            java_stack.addSlice("", _to_imagej(imagej, np.ascontiguousarray(plane)))
        imp = jp.JClass("ij.ImagePlus")("stack", java_stack)
        for method in IMAGEJ_METHODS:
            for dark in (True, False):
                ij_class.setAutoThreshold(imp, f"{method}{' dark' if dark else ''} stack")
                ip = imp.getProcessor()
                low, high = float(ip.getMinThreshold()), float(ip.getMaxThreshold())
                if dtype == np.float32:
                    theirs = (typed >= np.float32(low)) & (typed <= np.float32(high))
                else:  # ShortProcessor/ByteProcessor.createMask: (int) thresholds
                    theirs = (typed >= int(low)) & (typed <= int(high))
                t = colocalize.threshold(typed, method, dark_background=dark)
                ours = typed > t if dark else typed <= t
                same = np.array_equal(ours, theirs)
                agree += same
                total += 1
                assert same, (method, dark, k)
    print(f"{dtype_name} stacks (stack histogram): {agree}/{total} agree")


@pytest.mark.parametrize("dtype_name", list(DTYPES))
def test_degenerate_images_select_what_imagej_selects(imagej, dtype_name):
    # constant, two-valued and three-valued images, and a single bright pixel
    dtype = DTYPES[dtype_name]
    images = [
        np.full((4, 5), 9),
        np.array([[3, 3, 3, 200, 200]] * 3),
        np.array([[0, 7, 7, 250, 7]] * 2),
        np.pad([[255]], ((3, 3), (2, 4))),
    ]
    for image in images:
        typed = image.astype(dtype)
        for method in IMAGEJ_METHODS:
            for dark in (True, False):
                ours = _ours(typed, method, dark)
                theirs = _imagej_selection(imagej, typed, method, dark)
                if dtype == np.uint8 and dark and colocalize.threshold(typed, method) == 255:
                    # documented: t is the AutoThresholder level (255: nothing above it), while
                    # setAutoThreshold clamps its range to 255..255
                    assert not ours.any()
                    assert np.array_equal(theirs, typed == 255)
                    continue
                assert np.array_equal(ours, theirs), (method, dark, image.tolist())
