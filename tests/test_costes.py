"""Costes' threshold (Coloc 2's AutoThresholdRegression)."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import zlib

import numpy as np
import pytest
import tifffile
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

import colocalize
from colocalize import ColocalizeWarning, _compiled, _costes, costes_threshold
from colocalize._costes import check_costes_method
from colocalize._java import java_round
from conftest import require_module

# Random pairs need not converge: tests comparing with a naive port ignore that warning.
NOT_CONVERGED = "ignore:.*never reached 0:colocalize.ColocalizeWarning"


def pytest_generate_tests(metafunc):
    """Every test runs twice, numpy only and with the numba kernels (the ``fast`` extra);
    tests marked ``compiled_only`` test the kernels themselves and run once."""
    only = metafunc.definition.get_closest_marker("compiled_only") is not None
    metafunc.parametrize("kernels", ["compiled"] if only else ["numpy", "compiled"], indirect=True)


@pytest.fixture(autouse=True)
def kernels(request, monkeypatch):
    """The variant: ``COLOCALIZE_NUMBA=0``, or the kernels even for small test images."""
    if request.param == "numpy":
        monkeypatch.setenv("COLOCALIZE_NUMBA", "0")
    else:
        require_module("numba", "the 'fast' extra")
        monkeypatch.setattr(_compiled, "MIN_PIXELS", 0)  # compiled even for small test images
        assert _compiled.kernels(1) is not None  # loaded now: calls never wait for them
    return request.param


# ------------------------------------------------------------------------------------------
# A deliberately naive port of Coloc 2 (one full pass over the pixels per candidate), used as
# an independent reference for the histogram/cumulative-sum implementation.
# ------------------------------------------------------------------------------------------


def _jround(x: float) -> float:
    return 0.0 if math.isnan(x) else float(math.floor(x + 0.5))


def _naive_pearson(a: np.ndarray, b: np.ndarray) -> float:
    n = a.size
    if n == 0:
        return math.nan
    sx, sy = float(a.sum()), float(b.sum())
    sxx, syy, sxy = float(a @ a), float(b @ b), float(a @ b)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = np.float64(1.0) / n
        r = (sxy - sx * sy * inv) / np.sqrt((sxx - sx * sx * inv) * (syy - sy * sy * inv))
    return float(r) if np.isfinite(r) else math.nan


def _naive_costes(a0, b0, method, step=1.0):
    """Coloc 2's search, candidates in units of ``step`` (thresholds returned in image units)."""
    lo_t, hi_t = _costes._type_range(a0.dtype)
    a = a0.astype(np.float64).ravel() / step
    b = b0.astype(np.float64).ravel() / step
    n = a.size
    ma, mb = a.mean(), b.mean()
    va = ((a - ma) ** 2).sum() / (n - 1)
    vb = ((b - mb) ** 2).sum() / (n - 1)
    vs = ((a + b - ma - mb) ** 2).sum() / (n - 1.0)
    cov = 0.5 * (vs - (va + vb))
    m = (vb - va + math.sqrt((vb - va) ** 2 + 4 * cov * cov)) / (2 * cov)
    c = mb - m * ma
    if -1 < m < 1:

        def mapper(t):
            return t, t * m + c

        w_max, w_min = a.max(), a.min()
    else:

        def mapper(t):
            return (t - c) / m, t

        w_max, w_min = b.max(), b.min()

    def store(v):
        v = min(max(v * step, lo_t), hi_t)
        return (float(np.float32(v)) if a0.dtype == np.float32 else v) / step

    def r_at(t):
        t0, t1 = mapper(t)
        th0, th1 = store(_jround(t0)), store(_jround(t1))
        sel = (a < th0) | (b < th1)
        return th0, th1, _naive_pearson(a[sel], b[sel])

    th0, th1, r = store(a.max()), store(b.max()), math.nan
    if method == "classic":
        t, last, finished = float(w_max), 1.0, False
        while not finished:
            th0, th1, r = r_at(t)
            previous, last = last, r
            t -= 1.0
            finished = t < 1 or r < 0.0001 or r > previous
    else:
        t1, t2 = abs(w_max + w_min) * 0.5, float(w_max)
        diff, it = abs(t1 - t2), 0
        while not (it > 100 or diff < 1.0):
            th0, th1, r = r_at(t1)
            t2 = t1
            if r < 0:
                t1 = t1 + diff * 0.5
            elif r > 0:
                t1 = t1 - diff * 0.5
            diff = abs(t1 - t2)
            it += 1
    return th0 * step, th1 * step, r


def _pair(rng, shape, dtype, *, negative=False, scale=200.0):
    signal = ndimage.gaussian_filter(rng.random(shape), 1.5)
    signal = (signal - signal.min()) / np.ptp(signal)
    other = 1 - signal if negative else signal
    a = scale * (0.7 * signal + 0.3 * rng.random(shape))
    b = scale * (0.6 * other + 0.4 * rng.random(shape))
    if np.dtype(dtype).kind == "i":
        a, b = a - scale / 4, b - scale / 4
    return a.astype(dtype), b.astype(dtype)


# ------------------------------------------------------------------------------------------
# Coloc 2's own test images
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def colocsample(coloc2_dir):
    read = tifffile.imread
    return (
        read(coloc2_dir / "colocsample1b-green.tif"),
        read(coloc2_dir / "colocsample1b-red.tif"),
        read(coloc2_dir / "colocsample1b-mask.tif") > 0,
    )


def _tm(a, b, t_other):
    """Coloc 2's thresholded Manders: sum(a[b >= T_b and b > 0]) / sum(a)."""
    a = a.astype(np.float64)
    return float(a[(b >= t_other) & (b > 0)].sum() / a.sum())


def test_colocsample_mask_bisection_is_70_53(colocsample):
    g, r, mask = colocsample
    res = costes_threshold(g, r, mask=mask, method="bisection")
    assert (res.threshold0, res.threshold1) == (70.0, 53.0)
    assert _tm(g[mask], r[mask], res.threshold1) == pytest.approx(0.705665, abs=1e-6)
    assert _tm(r[mask], g[mask], res.threshold0) == pytest.approx(0.724752, abs=1e-6)


def test_colocsample_mask_classic(colocsample):
    g, r, mask = colocsample
    res = costes_threshold(g, r, mask=mask, method="classic")
    assert (res.threshold0, res.threshold1) == (68.0, 52.0)


def test_colocsample_classic_is_8_6(colocsample):
    g, r, _ = colocsample
    res = costes_threshold(g, r, method="classic")
    assert (res.threshold0, res.threshold1) == (8.0, 6.0)
    assert res.slope == pytest.approx(0.7039042, abs=1e-7)
    assert res.intercept == pytest.approx(0.7283700, abs=1e-7)
    assert res.pearson_below == pytest.approx(-0.011639, abs=1e-6)
    assert res.pearson_above == pytest.approx(0.675648, abs=1e-6)
    assert _tm(g, r, res.threshold1) == pytest.approx(0.7290664, abs=1e-7)
    assert _tm(r, g, res.threshold0) == pytest.approx(0.7419663, abs=1e-7)


def test_colocsample_bisection_is_10_8(colocsample):
    g, r, _ = colocsample
    res = costes_threshold(g, r, method="bisection")
    assert (res.threshold0, res.threshold1) == (10.0, 8.0)
    assert res.pearson_below == pytest.approx(0.016640, abs=1e-6)
    assert res.pearson_above == pytest.approx(0.661119, abs=1e-6)
    coef = colocalize.coefficients(g, r, thresholds="costes")
    assert coef.tm1 == pytest.approx(0.7002744, abs=1e-7)
    assert coef.tm2 == pytest.approx(0.7161097, abs=1e-7)


@pytest.mark.parametrize(("method", "expected"), [("classic", (3, 152)), ("bisection", (3, 151))])
def test_synthetic_negative_and_commutativity(coloc2_dir, method, expected):
    ch1 = tifffile.imread(coloc2_dir / "syntheticNegCh1.tif")
    ch2 = tifffile.imread(coloc2_dir / "syntheticNegCh2.tif")
    assert ch1.dtype == np.float32
    res = costes_threshold(ch1, ch2, method=method)
    swapped = costes_threshold(ch2, ch1, method=method)
    assert (res.threshold0, res.threshold1) == expected
    assert (swapped.threshold1, swapped.threshold0) == expected
    assert res.slope < 0


@pytest.mark.parametrize(
    ("method", "expected"), [("classic", (181, 232)), ("bisection", (182, 231))]
)
def test_zero_correlation_stacks(coloc2_dir, method, expected):
    g = tifffile.imread(coloc2_dir / "greenZstack.tif")
    r = tifffile.imread(coloc2_dir / "redZstack.tif")
    res = costes_threshold(g, r, method=method)
    assert (res.threshold0, res.threshold1) == expected
    assert res.slope == pytest.approx(-1.7625195, abs=1e-6)


def test_colocsample_swap(colocsample):
    g, r, mask = colocsample
    for method in ("classic", "bisection"):
        a = costes_threshold(g, r, mask=mask, method=method)
        b = costes_threshold(r, g, mask=mask, method=method)
        assert (a.threshold0, a.threshold1) == (b.threshold1, b.threshold0)


# ------------------------------------------------------------------------------------------
# The fast search equals the naive port
# ------------------------------------------------------------------------------------------


@pytest.mark.filterwarnings(NOT_CONVERGED)
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.float32, np.float64])
@pytest.mark.parametrize("shape", [(40, 50), (6, 20, 24)])
@pytest.mark.parametrize("negative", [False, True])
@pytest.mark.parametrize("method", ["classic", "bisection"])
def test_matches_naive_port(dtype, shape, negative, method):
    rng = np.random.default_rng(zlib.crc32(repr((np.dtype(dtype).str, shape, negative)).encode()))
    a, b = _pair(rng, shape, dtype, negative=negative)
    res = costes_threshold(a, b, method=method)
    th0, th1, r = _naive_costes(a, b, method, res.step)
    assert (res.threshold0, res.threshold1) == (th0, th1)
    np.testing.assert_allclose(res.pearson_below, r, rtol=1e-9, atol=1e-12)
    if np.dtype(dtype).kind == "f":  # fractional values: 2**16 to 2**17 steps over the range
        span = max(np.ptp(a.astype(np.float64)), np.ptp(b.astype(np.float64)))
        assert 2**16 <= span / res.step < 2**17
        assert math.log2(res.step).is_integer()
    else:
        assert res.step == 1.0


@pytest.mark.parametrize("method", ["classic", "bisection"])
@pytest.mark.parametrize("scale", [1.0, 2.5])
def test_normalised_float_images_search_a_fine_grid(method, scale):
    """On [0, 1]-scaled data Coloc 2's whole grey levels would evaluate nothing; the search
    runs on a fine power-of-two grid instead, exactly as Coloc 2's on the rescaled pixels."""
    rng = np.random.default_rng(8)
    a, b = _pair(rng, (30, 30), np.float32, scale=scale)
    res = costes_threshold(a, b, method=method)
    assert res.step < 1e-4
    assert res.iterations > 10
    th0, th1, _ = _naive_costes(a, b, method, res.step)
    assert (res.threshold0, res.threshold1) == (th0, th1)


@pytest.mark.parametrize("method", ["classic", "bisection"])
def test_small_blocks_and_direct_fallback_match_naive(monkeypatch, method):
    """Force the blocked classic walk and the per-candidate bisection fallback."""
    monkeypatch.setattr(_costes, "_BLOCK", 16)
    rng = np.random.default_rng(5)
    a, b = _pair(rng, (50, 60), np.uint16, scale=3000.0)
    res = costes_threshold(a, b, method=method)
    th0, th1, _ = _naive_costes(a, b, method)
    assert (res.threshold0, res.threshold1) == (th0, th1)


def test_wide_integer_range_uses_pixels_not_histogram():
    rng = np.random.default_rng(2)
    a, b = _pair(rng, (30, 30), np.int32, scale=2e4)
    for method in ("classic", "bisection"):
        res = costes_threshold(a, b, method=method)
        assert (res.threshold0, res.threshold1) == _naive_costes(a, b, method)[:2]


@pytest.mark.filterwarnings(NOT_CONVERGED)
@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    size=st.integers(4, 30),
    method=st.sampled_from(["classic", "bisection"]),
    top=st.sampled_from([3, 20, 255]),
)
def test_property_matches_naive(seed, size, method, top):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, top + 1, (size, size)).astype(np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-top // 3 - 1, top // 3 + 2, a.shape), 0, 255)
    b = b.astype(np.uint8)
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return
    res = costes_threshold(a, b, method=method)
    if not math.isfinite(res.slope):
        return
    assert (res.threshold0, res.threshold1) == _naive_costes(a, b, method)[:2]


def test_mask_equals_selected_pixels_and_broadcasts():
    rng = np.random.default_rng(3)
    a, b = _pair(rng, (4, 30, 30), np.uint8)
    mask2d = np.zeros((30, 30), bool)
    mask2d[5:25, 3:20] = True
    res = costes_threshold(a, b, mask=mask2d)
    full = np.broadcast_to(mask2d, a.shape)
    ref = costes_threshold(a[full], b[full])
    assert res == ref


def test_result_types_and_inputs_untouched():
    rng = np.random.default_rng(4)
    a, b = _pair(rng, (32, 32), np.uint8)
    a0, b0 = a.copy(), b.copy()
    res = costes_threshold(a, b)
    assert isinstance(res, colocalize.CostesResult)
    for value in (res.threshold0, res.threshold1, res.slope, res.pearson_below):
        assert type(value) is float
    assert type(res.iterations) is int
    assert res.iterations > 0
    np.testing.assert_array_equal(a, a0)
    np.testing.assert_array_equal(b, b0)


def test_bad_method_and_shapes():
    a = np.zeros((5, 5), np.uint8)
    with pytest.raises(ValueError, match="method"):
        costes_threshold(a, a, method="costes")
    with pytest.raises(ValueError, match="shape"):
        costes_threshold(a, np.zeros((5, 6), np.uint8))


def test_a_bad_method_is_refused_as_every_costes_method_is():
    """costes_threshold checks ``method`` with check_costes_method (it had its own copy, with
    its own wording), naming its own argument."""
    a = np.zeros((5, 5), np.uint8)
    with pytest.raises(ValueError, match="method") as raised:
        costes_threshold(a, a, method="costes")
    with pytest.raises(ValueError, match="costes_method") as expected:
        check_costes_method("costes")
    assert str(raised.value) == str(expected.value).replace("costes_method", "method", 1)


def test_constant_channel_and_empty_mask_warn():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 255, (10, 10)).astype(np.uint8)
    with pytest.warns(ColocalizeWarning, match="non-constant"):
        res = costes_threshold(a, np.full_like(a, 7))
    assert math.isnan(res.threshold0)
    assert math.isnan(res.threshold1)
    with pytest.warns(ColocalizeWarning):
        res = costes_threshold(a, a, mask=np.zeros(a.shape, bool))
    assert math.isnan(res.pearson_below)


def test_java_round_is_exact_half_up():
    x = np.array([0.49999999999999994, 0.5, 1.5, -0.5, -1.5, 2.4999, np.nan])
    np.testing.assert_array_equal(java_round(x), [0, 1, 2, 0, -1, 2, 0])


# ------------------------------------------------------------------------------------------
# The per-level (lookup table) path of integer images
# ------------------------------------------------------------------------------------------


def _path(dtype, slope, intercept, t_max, step, count):
    """A Costes candidate path as costes_threshold builds it (walking channel 0 or 1)."""
    t = t_max - step * np.arange(count, dtype=np.float64)
    if -1 < slope < 1:
        t0, t1 = t, t * slope + intercept
    else:
        t0, t1 = (t - intercept) / slope, t
    dt = np.dtype(dtype)
    return _costes._store(java_round(t0), dt), _costes._store(java_round(t1), dt)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16])
@pytest.mark.parametrize(
    ("slope", "intercept"),
    [(0.6, 5.0), (-0.6, 150.0), (1.7, -20.0), (-1.7, 300.0), (0.3, -400.0), (-0.4, 500.0)],
)
@pytest.mark.parametrize("step", [1.0, 0.75, 3.5])
@pytest.mark.parametrize("joint", [False, True])
def test_level_path_equals_pixel_path(monkeypatch, dtype, slope, intercept, step, joint):
    """Both slope signs, walking along either channel, clamped thresholds, raw or joint pairs.

    The sums are whole numbers far below 2**53, so the float64 per-pixel sums are exact too
    and the two paths must agree bit for bit.
    """
    monkeypatch.setattr(_costes, "_JOINT_FRACTION", 1e9 if joint else 0)
    rng = np.random.default_rng(11)
    a, b = _pair(rng, (30, 40), dtype, scale=250.0)
    pairs = _costes._Pairs(a.ravel(), b.ravel())
    assert pairs.levels
    assert (pairs.counts is not None) == joint
    th0, th1 = _path(dtype, slope, intercept, float(a.max()) + 3, step, 120)
    fast = _costes._level_path_sums(pairs, th0, th1)
    assert fast is not None
    reference = _costes._pixel_path_sums(pairs, th0, th1)
    for got, want in zip(fast, reference):
        np.testing.assert_array_equal(got, want)


def test_level_path_single_candidate():
    rng = np.random.default_rng(12)
    a, b = _pair(rng, (20, 20), np.uint16, scale=3000.0)
    pairs = _costes._Pairs(a.ravel(), b.ravel())
    th0, th1 = np.array([900.0]), np.array([700.0])
    fast = _costes._level_path_sums(pairs, th0, th1)
    below = (a < 900) | (b < 700)
    assert fast is not None
    assert fast[0][0] == below.sum()
    assert fast[5][0] == (a[below].astype(np.int64) * b[below]).sum()


@pytest.mark.filterwarnings(NOT_CONVERGED)
@pytest.mark.parametrize("method", ["classic", "bisection"])
@pytest.mark.parametrize("negative", [False, True])
@pytest.mark.parametrize("walk_on_1", [False, True])
@pytest.mark.parametrize("dtype", [np.uint16, np.int16])
def test_wide_16bit_matches_naive_port(method, negative, walk_on_1, dtype):
    """Raw (uncompressed) 16-bit pixels with a mask, either walking channel, either slope."""
    rng = np.random.default_rng(zlib.crc32(repr((method, negative, walk_on_1)).encode()))
    a, b = _pair(rng, (48, 56), dtype, negative=negative, scale=3000.0)
    b = (b.astype(np.int64) * 2 if walk_on_1 else b.astype(np.int64) // 3).astype(dtype)
    mask = np.ones(a.shape, bool)
    mask[:10, :20] = False
    res = costes_threshold(a, b, mask=mask, method=method)
    pairs = _costes._Pairs(a[mask], b[mask])
    assert pairs.levels
    assert pairs.counts is None
    assert (abs(res.slope) >= 1) == walk_on_1
    assert (res.slope < 0) == negative
    th0, th1, r = _naive_costes(a[mask], b[mask], method)
    assert (res.threshold0, res.threshold1) == (th0, th1)
    np.testing.assert_allclose(res.pearson_below, r, rtol=1e-9, atol=1e-12)
    above = (a[mask] > th0) | (b[mask] > th1)
    expected = _naive_pearson(a[mask][above].astype(np.float64), b[mask][above].astype(np.float64))
    np.testing.assert_allclose(res.pearson_above, expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("method", ["classic", "bisection"])
@pytest.mark.parametrize("negative", [False, True])
def test_inexact_bin_sums_fall_back_to_pixel_path(monkeypatch, kernels, method, negative):
    """When a float64 bin sum could reach 2**53 the per-pixel path takes over.

    The compiled kernels sum in int64, which is exact here, so they never fall back.
    """
    rng = np.random.default_rng(13)
    a, b = _pair(rng, (40, 40), np.uint16, negative=negative, scale=3000.0)
    calls = []
    pixel_path = _costes._pixel_path_sums
    monkeypatch.setattr(
        _costes, "_pixel_path_sums", lambda *args: calls.append(1) or pixel_path(*args)
    )
    exact = costes_threshold(a, b, method=method)
    assert not calls
    monkeypatch.setattr(_costes, "_EXACT", 1e6)
    fallback = costes_threshold(a, b, method=method)
    assert bool(calls) == (kernels == "numpy")
    assert (fallback.threshold0, fallback.threshold1) == (exact.threshold0, exact.threshold1)
    np.testing.assert_allclose(fallback.pearson_below, exact.pearson_below, rtol=1e-12, atol=1e-12)
    assert fallback.iterations == exact.iterations


def test_exact_sums_beyond_float64_precision():
    """Pixel sums above 2**53 stay exact (float64 sums would round)."""
    rng = np.random.default_rng(14)
    a = rng.integers(60000, 65536, 2_400_000).astype(np.uint16)
    b = rng.integers(0, 65536, a.size).astype(np.uint16)
    pairs = _costes._Pairs(a, b)
    a64, b64 = a.astype(np.int64), b.astype(np.int64)
    expected = [a.size, a64.sum(), b64.sum(), a64 @ a64, b64 @ b64, a64 @ b64]
    assert a64 @ a64 > 2**53
    assert pairs.exact_sums() == [int(v) for v in expected]


@pytest.mark.parametrize("corner", [(100, 100), (2500, 2000)])
def test_above_pearson_both_ways(corner):
    """Above-threshold r from the selected pixels or as all minus the lower-left corner."""
    rng = np.random.default_rng(15)
    a, b = _pair(rng, (50, 50), np.uint16, scale=3000.0)
    pairs = _costes._Pairs(a.ravel(), b.ravel())
    t0, t1 = corner
    above = (a > t0) | (b > t1)
    expected = _naive_pearson(a[above].astype(np.float64), b[above].astype(np.float64))
    assert pairs.above_pearson(float(t0), float(t1)) == pytest.approx(expected, rel=1e-12)
    direct = pairs.subset_pearson(pairs.outside(t0, t1, below=False))
    assert pairs.above_pearson(float(t0), float(t1)) == pytest.approx(direct, rel=1e-12)


def test_integer_bisection_with_nothing_to_evaluate():
    """A channel range below 2 grey levels: bisection evaluates nothing (as in Coloc 2)."""
    rng = np.random.default_rng(16)
    a = rng.integers(0, 2, (20, 20)).astype(np.uint16)
    b = np.where(rng.random(a.shape) < 0.8, a, 1 - a).astype(np.uint16)
    res = costes_threshold(a, b, method="bisection")
    assert res.iterations == 0
    assert (res.threshold0, res.threshold1) == _naive_costes(a, b, "bisection")[:2]
    assert math.isnan(res.pearson_above)  # nothing is above the channel maxima


@pytest.mark.filterwarnings(NOT_CONVERGED)
@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    method=st.sampled_from(["classic", "bisection"]),
    signed=st.booleans(),
    sign=st.sampled_from([1, -1]),
    gain=st.sampled_from([0.3, 1.0, 2.5]),
)
def test_property_wide_range_matches_naive(seed, method, signed, sign, gain):
    """Random 16-bit pairs of either slope sign and steepness (per-level path)."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 3000, (12, 15))
    b = np.clip(sign * gain * a + rng.normal(0, 600, a.shape) + (4000 if sign < 0 else 0), 0, 9000)
    dtype = np.int16 if signed else np.uint16
    offset = 2000 if signed else 0
    a, b = (a - offset).astype(dtype), (b - offset).astype(dtype)
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return
    res = costes_threshold(a, b, method=method)
    if not math.isfinite(res.slope):
        return
    th0, th1, r = _naive_costes(a, b, method)
    assert (res.threshold0, res.threshold1) == (th0, th1)
    np.testing.assert_allclose(res.pearson_below, r, rtol=1e-9, atol=1e-12)


# ------------------------------------------------------------------------------------------
# The compiled kernels (numba, the ``fast`` extra) and the bisection strategies they enable
# ------------------------------------------------------------------------------------------


@pytest.mark.filterwarnings(NOT_CONVERGED)
@pytest.mark.parametrize("dtype", [np.uint16, np.int16])
@pytest.mark.parametrize(("ring", "steps"), [(1.0, 1), (1.0, 8), (0.2, 8), (0.05, 2)])
@pytest.mark.parametrize("walk_on_1", [False, True])
@pytest.mark.compiled_only
def test_bisection_windows_match_naive_and_numpy(monkeypatch, dtype, ring, steps, walk_on_1):
    """Quadrant passes plus one ring window, at every switch point, equal the numpy path."""
    monkeypatch.setattr(_costes, "_PATH_LEVELS", 0)  # always the window strategy
    monkeypatch.setattr(_costes, "_RING", ring)
    monkeypatch.setattr(_costes, "_WINDOW_STEPS", steps)
    windows = []
    window = _costes._GridWindows.window
    monkeypatch.setattr(
        _costes._GridWindows,
        "window",
        lambda self, lo, hi, bound: windows.append(1) or window(self, lo, hi, bound),
    )
    rng = np.random.default_rng(zlib.crc32(repr((dtype, ring, steps, walk_on_1)).encode()))
    a, b = _pair(rng, (60, 70), dtype, scale=6000.0)
    b = (b.astype(np.int64) * 2 if walk_on_1 else b.astype(np.int64) // 2).astype(dtype)
    mask = np.ones(a.shape, bool)
    mask[:12, :30] = False
    res = costes_threshold(a, b, mask=mask)
    assert res.slope > 0
    assert (abs(res.slope) >= 1) == walk_on_1
    if ring == 1.0:
        assert windows  # the window pass ran
    th0, th1, r = _naive_costes(a[mask], b[mask], "bisection")
    assert (res.threshold0, res.threshold1) == (th0, th1)
    np.testing.assert_allclose(res.pearson_below, r, rtol=1e-9, atol=1e-12)
    monkeypatch.setenv("COLOCALIZE_NUMBA", "0")
    reference = costes_threshold(a, b, mask=mask)
    assert res == reference  # exact integer sums either way: equal bit for bit


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    signed=st.booleans(),
    bounds=st.tuples(st.integers(-400, 3000), st.integers(-400, 3000)),
)
@pytest.mark.compiled_only
def test_property_kernels_equal_numpy(seed, signed, bounds):
    """Each compiled kernel against the same sums in numpy (int64, exact)."""
    compiled = _compiled.kernels(_compiled.MIN_PIXELS)
    rng = np.random.default_rng(seed)
    dtype = np.int16 if signed else np.uint16
    low = -300 if signed else 0
    a = rng.integers(low, 2500, 700).astype(dtype)
    b = rng.integers(low, 1500, 700).astype(dtype)
    x, y = a.astype(np.int64), b.astype(np.int64)

    def moments(sel):
        return [
            sel.sum(),
            x[sel].sum(),
            y[sel].sum(),
            x[sel] @ x[sel],
            y[sel] @ y[sel],
            x[sel] @ y[sel],
        ]

    summary = compiled.summary(a, b)
    assert list(summary) == [x.min(), x.max(), y.min(), y.max(), *moments(x == x)]
    t0, t1 = bounds
    box = compiled.box_moments(a, b, t0, t0 + 900, t1, t1 + 500)
    assert list(box) == moments((x >= t0) & (x <= t0 + 900) & (y >= t1) & (y <= t1 + 500))
    ring = (x >= t0) & (y >= t1) & ~((x >= t0 + 300) & (y >= t1 + 200))
    index = np.empty(np.count_nonzero(ring) + 1, dtype=np.intp)  # as _GridWindows.window
    size = compiled.ring_select(a, b, t0, t1, t0 + 300, t1 + 200, index)
    np.testing.assert_array_equal(index[:size], np.flatnonzero(ring))
    guard = np.full(max(1, ring.sum() // 2) + 1, -7, dtype=np.intp)  # too small: tells
    small = guard[:-1]
    assert compiled.ring_select(a, b, t0, t1, t0 + 300, t1 + 200, small) == ring.sum()
    assert guard[-1] == -7  # and writes nothing past its end


@pytest.mark.compiled_only
def test_compiled_is_lazy_optional_and_can_be_disabled(monkeypatch):
    """numba loads only when a large enough input needs it; COLOCALIZE_NUMBA=0 turns it off."""
    code = (
        "import sys, numpy as np, colocalize\n"
        "a = np.arange(4096, dtype=np.uint16).reshape(64, 64); b = a[::-1].copy()\n"
        "colocalize.costes_threshold(a, a // 2 + b % 7)\n"
        "print('numba' in sys.modules)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "COLOCALIZE_NUMBA"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip() == "False"  # small image: numpy, numba never imported
    monkeypatch.setenv("COLOCALIZE_NUMBA", "0")
    assert _compiled.kernels(1 << 22) is None
    monkeypatch.delenv("COLOCALIZE_NUMBA")
    assert _compiled.kernels(1 << 22) is not None
    assert _compiled.kernels(_compiled.MIN_PIXELS - 1) is None
    monkeypatch.setattr(_compiled, "_cache", {})
    monkeypatch.setitem(sys.modules, "numba", None)  # as if it were not installed
    assert _compiled.kernels(1 << 22) is None


@pytest.mark.parametrize("method", ["classic", "bisection"])
@pytest.mark.parametrize("negative", [False, True])
def test_float_floor_table_equals_binary_search(monkeypatch, method, negative):
    """Float pixels are looked up by floor(value) (whole-number thresholds); the per-pixel
    binary search it replaces gives the same result."""
    rng = np.random.default_rng(9)
    a, b = _pair(rng, (40, 50), np.float32, negative=negative, scale=300.0)
    fast = costes_threshold(a, b, method=method)
    monkeypatch.setattr(_costes._Pairs, "floors", lambda self, which: None)
    slow = costes_threshold(a, b, method=method)
    assert fast == slow


@pytest.mark.compiled_only
def test_first_calls_use_numpy_until_the_load_has_paid_for_itself(monkeypatch):
    """A fresh process's first call never waits for numba: numpy until the numpy time spent on
    calls the kernels would have replaced reaches the load's cost, then the kernels."""
    monkeypatch.setattr(_compiled, "_cache", {})
    monkeypatch.setattr(_compiled, "_spent", [0.0])
    monkeypatch.setattr(_compiled, "LOAD_SECONDS", 1e-9)  # one numpy call pays for the load
    rng = np.random.default_rng(4)
    a = rng.integers(0, 3000, (40, 50)).astype(np.uint16)
    b = (a // 2 + rng.integers(0, 900, (40, 50))).astype(np.uint16)
    assert _compiled.loaded_kernels(a.size) is None
    first = costes_threshold(a, b)
    assert "numba" not in _compiled._cache  # the first call ran on numpy
    assert _compiled._spent[0] > 0
    assert _compiled.loaded_kernels(a.size) is not None  # it has earned the load
    assert costes_threshold(a, b) == first
    # floats never use the kernels: their time does not count
    monkeypatch.setattr(_compiled, "_cache", {})
    monkeypatch.setattr(_compiled, "_spent", [0.0])
    costes_threshold(a.astype(np.float32), b.astype(np.float32))
    assert _compiled._spent == [0.0]


# ------------------------------------------------------------------------------------------
# Convergence (issue 15)
# ------------------------------------------------------------------------------------------


def _converging_pair() -> tuple[np.ndarray, np.ndarray]:
    """Anti-correlated dim background plus a correlated bright signal: r below reaches 0."""
    rng = np.random.default_rng(15)
    a = rng.integers(0, 20, (64, 64))
    b = 19 - a + rng.integers(0, 3, (64, 64))
    signal = rng.integers(60, 200, (64, 64))
    spots = rng.random((64, 64)) < 0.2
    a = np.where(spots, signal, a).astype(np.uint8)
    b = np.where(spots, signal // 2 + rng.integers(0, 5, (64, 64)), b).astype(np.uint8)
    return a, b


def _non_converging_pair() -> tuple[np.ndarray, np.ndarray]:
    """Perfectly proportional channels: every subset below the line is still r = 1."""
    a = np.tile(np.arange(1, 201, dtype=np.uint16), (20, 1))
    return a, 2 * a


@pytest.mark.parametrize("method", ["bisection", "classic"])
def test_converged_pair_reports_converged_without_warning(method):
    a, b = _converging_pair()
    res = costes_threshold(a, b, method=method)  # a warning would fail (filterwarnings=error)
    assert res.converged is True
    assert res.pearson_below < 1e-4 or method == "bisection"


@pytest.mark.parametrize("method", ["bisection", "classic"])
def test_non_converging_pair_warns_and_says_so(method):
    a, b = _non_converging_pair()
    with pytest.warns(ColocalizeWarning, match="never reached 0") as caught:
        res = costes_threshold(a, b, method=method)
    assert res.converged is False
    assert not res.pearson_below < 1e-4  # still correlated (or NaN: too few pixels left)
    # the same line reaches ImageJ's Log: plain words, no Python call or attribute syntax
    message = str(caught[0].message)
    assert message.startswith(f"Costes' {method} search did not converge")
    assert "(method=" not in message
    assert "CostesResult" not in message


@pytest.mark.parametrize("method", ["bisection", "classic", "jacop", "ezcolocalization"])
def test_non_convergence_warning_points_at_the_caller(method):
    # EzColocalization's pointed into _costes.py (one stack level short)
    a, b = _non_converging_pair()
    with pytest.warns(ColocalizeWarning, match="did not converge") as caught:
        costes_threshold(a, b, method=method)
    assert [w.filename for w in caught] == [__file__]


def test_degenerate_result_is_not_converged():
    with pytest.warns(ColocalizeWarning, match="constant|regression"):
        res = costes_threshold(
            np.ones((4, 4), np.uint8), np.arange(16, dtype=np.uint8).reshape(4, 4)
        )
    assert res.converged is False


# ------------------------------------------------------------------------------------------
# method="jacop" (JACoP 2.1.4's CostesAutoThr; peers' numbers in test_costes_peers.py)
# ------------------------------------------------------------------------------------------


def _naive_jacop(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """JACoP's search written from its definition, one candidate at a time."""
    x, y = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
    n = x.size
    den = n * (x * x).sum() - x.sum() ** 2
    slope = (n * (x * y).sum() - x.sum() * y.sum()) / den
    intercept = ((x * x).sum() * y.sum() - x.sum() * (x * y).sum()) / den
    lo = math.trunc(max(x.min(), (y.min() - intercept) / slope))
    hi = math.trunc(min(x.max(), (y.max() - intercept) / slope))
    best = (float(x.max()), float(y.max()))
    running = 1.0
    for i in range(hi, lo - 1, -1):
        tb = math.trunc(slope * i + intercept)
        sel = (x < i) & (y < tb)
        with np.errstate(invalid="ignore", divide="ignore"):
            r = np.corrcoef(x[sel], y[sel])[0, 1] if sel.sum() >= 2 else math.nan
        if r <= running and i != hi:
            best = (float(i), float(tb))
        if not math.isnan(r):
            running = min(running, r)
    return best


@pytest.mark.filterwarnings(NOT_CONVERGED)
@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_jacop_matches_naive_port(seed, dtype):
    rng = np.random.default_rng(seed)
    top = 200 if dtype == np.uint8 else 3000
    signal = rng.integers(0, top, (30, 40))
    sign = -1 if seed % 3 == 2 else 1  # some pairs with a negative slope
    a = np.clip(signal + rng.normal(0, top / 10, signal.shape), 0, top).astype(dtype)
    b = np.clip(
        top / 2 + sign * (signal / 2 - top / 4) + rng.normal(0, top / 8, signal.shape), 0, top
    ).astype(dtype)
    res = costes_threshold(a, b, method="jacop")
    assert (res.threshold0, res.threshold1) == _naive_jacop(a, b)
    assert res.step == 1.0


def test_jacop_converges_on_background_plus_signal():
    a, b = _converging_pair()
    res = costes_threshold(a, b, method="jacop")
    assert res.converged is True
    assert res.pearson_below < 1e-4
    # least squares of b on a, not the orthogonal line of the Coloc 2 steppers
    x, y = a.ravel().astype(float), b.ravel().astype(float)
    assert res.slope == pytest.approx(np.polyfit(x, y, 1)[0], rel=1e-9)
    assert res.threshold1 == math.trunc(res.slope * res.threshold0 + res.intercept)


def test_jacop_mask_and_float_grid():
    a, b = _converging_pair()
    mask = np.zeros(a.shape, bool)
    mask[:, :40] = True
    masked = costes_threshold(a, b, mask=mask, method="jacop")
    assert (masked.threshold0, masked.threshold1) == _naive_jacop(a[mask], b[mask])
    whole = costes_threshold(a, b, method="jacop")
    as_float = costes_threshold(a.astype(np.float32), b.astype(np.float64), method="jacop")
    assert (as_float.threshold0, as_float.threshold1) == (whole.threshold0, whole.threshold1)
    scaled = costes_threshold(a / 255.0, b / 255.0, method="jacop")  # searched on a fine grid
    assert scaled.step < 1 / 255
    assert scaled.converged is True
    assert 0 < scaled.threshold0 < 1
    assert scaled.slope == pytest.approx(whole.slope, rel=1e-9)


def test_jacop_bad_method_names_the_choices():
    with pytest.raises(ValueError, match="'jacop'"):
        costes_threshold(np.ones((3, 3)), np.ones((3, 3)), method="JACoP")


@pytest.mark.filterwarnings(NOT_CONVERGED)
@pytest.mark.parametrize("method", ["bisection", "classic", "jacop", "ezcolocalization"])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("masked", [False, True])
def test_regression_line_is_the_line_costes_walks(method, dtype, masked):
    # the scatter plot and the report draw this line; they ran the whole search for it
    from colocalize._costes import regression_line

    rng = np.random.default_rng(7)
    base = rng.random((3, 12, 10))
    scale = 1e-3 if np.dtype(dtype).kind == "f" else (200 if dtype == np.uint8 else 3000)
    a = (base * scale).astype(dtype)
    b = (0.6 * base * scale + rng.random(base.shape) * scale * 0.3).astype(dtype)
    mask = rng.random(base.shape) > 0.3 if masked else None
    result = costes_threshold(a, b, mask=mask, method=method)
    assert regression_line(a, b, mask=mask, method=method) == (result.slope, result.intercept)


def test_regression_line_of_a_constant_channel_is_nan():
    from colocalize._costes import regression_line

    slope, intercept = regression_line(np.ones((4, 4)), np.arange(16.0).reshape(4, 4))
    assert math.isnan(slope)
    assert math.isnan(intercept)
