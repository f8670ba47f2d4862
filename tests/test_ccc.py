"""Tests for colocalization by cross correlation (colocalize._ccc._correlation*), stage by stage.

Reference: ../shared/reference/ccc-2.2.3.md (CCC 2.2.3). The Gaussian fit is also compared with the
real Apache commons-math3 3.6.1 fitter through tests/java/CccFitReference.java.
"""

from __future__ import annotations

import contextlib
import math
import shutil
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage, signal

import colocalize
from colocalize import ColocalizeWarning, Image, cross_correlation, cross_correlation_profile
from colocalize._ccc._fft import box_correlation, folded_box_correlation
from colocalize._ccc._fit import (
    area_under_curve,
    commons_guess,
    fit_profile,
    gaussian,
    lm_fit,
    moving_average,
    r_squared,
)
from colocalize._ccc._profile import fold, profile_bins
from conftest import skip_or_fail

JAVA_SOURCE = Path(__file__).parent / "java" / "CccFitReference.java"
COMMONS_MATH = Path("/usr/share/java/commons-math3.jar")


def spot_pair(
    shape, distance, *, spacing=None, pairs=60, extra=20, psf=1.5, seed=0, brightness=1000.0
):
    """Blurred spots; each spot of image 0 has a partner in image 1 at ``distance`` (calibrated)
    in a random direction, plus ``extra`` unpaired spots per image. ``psf`` is the blur sigma in
    pixels of the finest axis (scaled per axis by the spacing); each spot sums to
    ``brightness``."""
    rng = np.random.default_rng(seed)
    shape = tuple(shape)
    ndim = len(shape)
    sp = np.ones(ndim) if spacing is None else np.asarray(spacing, dtype=float)
    upper = np.array(shape) - 1
    images = [np.zeros(shape), np.zeros(shape)]
    first = rng.uniform(0, 1, (pairs, ndim)) * upper
    direction = rng.normal(size=(pairs, ndim))
    direction /= np.linalg.norm(direction, axis=1)[:, None]
    second = first + distance * direction / sp
    for image, points in zip(images, (first, second)):
        idx = np.round(points).astype(int)
        inside = np.all((idx >= 0) & (idx <= upper), axis=1)
        np.add.at(image, tuple(idx[inside].T), brightness)
        lone = np.round(rng.uniform(0, 1, (extra, ndim)) * upper).astype(int)
        np.add.at(image, tuple(lone.T), brightness)
    blur = psf * sp.min() / sp
    return tuple(ndimage.gaussian_filter(image, blur) for image in images)


def brute_profile(image, spacing):
    """The plugin's RadialProfiler, literally: float distance of every voxel, exact-key means."""
    idx = np.indices(image.shape)
    sq = np.zeros(image.shape)
    for axis in reversed(range(image.ndim)):  # X first, then Y, then Z
        sq = sq + ((idx[axis] - (image.shape[axis] - 1) / 2) * spacing[axis]) ** 2
    keys, inverse, counts = np.unique(np.sqrt(sq).ravel(), return_inverse=True, return_counts=True)
    sums = np.bincount(inverse.ravel(), weights=image.ravel().astype(np.float64))
    return keys, sums / counts, counts


def reference_correlations(a, b, mask):
    """Checklist step 1-2 of the reference with scipy.signal.correlate(mode='full')."""
    a = np.where(mask, a.astype(np.float32), 0).astype(np.float64)
    b = np.where(mask, b.astype(np.float32), 0).astype(np.float64)
    count = mask.sum()
    mean = a.sum() / count
    window = tuple(slice(n - 1 - n // 2, n - 1 - n // 2 + n) for n in a.shape)
    original = signal.correlate(a, b, mode="full")[window] / count
    subtracted = signal.correlate(np.where(mask, a - mean, 0), b, mode="full")[window] / count
    return original, subtracted


# ------------------------------------------------------------------------ correlation layout


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
@pytest.mark.parametrize("shape", [(8, 9), (7, 6), (6, 6), (5, 4, 3), (4, 6, 7)])
@pytest.mark.parametrize("masked", [False, True])
def test_correlation_layout_matches_scipy_full_slice(dtype, shape, masked):
    rng = np.random.default_rng(sum(shape))
    a = (rng.random(shape) * 200).astype(dtype)
    b = (rng.random(shape) * 200).astype(dtype)
    mask = rng.random(shape) > 0.3 if masked else np.ones(shape, bool)
    with _maybe_warns():  # random noise may not give a fit; the correlations are checked
        res = cross_correlation(a, b, mask=mask if masked else None, intermediates=True)
    original, subtracted = reference_correlations(a, b, mask)
    assert res.zero_shift == tuple(n // 2 for n in shape)
    assert res.original_correlation.dtype == np.float32
    scale = np.abs(original).max()
    np.testing.assert_allclose(res.original_correlation, original, atol=1e-6 * scale)
    np.testing.assert_allclose(res.subtracted_correlation, subtracted, atol=1e-6 * scale)


def test_peak_position_of_a_shifted_feature():
    # a feature of image 0 at p0 paired with image 1 at p1 peaks at N//2 + (p0 - p1)
    a = np.zeros((10, 11))
    b = np.zeros((10, 11))
    a[4, 7] = 1
    b[6, 3] = 1
    with _maybe_warns():  # two single pixels: nothing to fit
        res = cross_correlation(a, b, intermediates=True)
    peak = np.unravel_index(np.argmax(res.original_correlation), (10, 11))
    assert peak == (10 // 2 + 4 - 6, 11 // 2 + 7 - 3)


def test_max_distance_keeps_the_same_profile_values():
    a, b = spot_pair((40, 50), 5, seed=3)
    full = cross_correlation_profile(a, b)
    part = cross_correlation_profile(a, b, max_distance=7.5)
    n = part.distance.size
    assert part.distance.max() <= 7.5 < full.distance[n]
    np.testing.assert_array_equal(part.distance, full.distance[:n])
    np.testing.assert_array_equal(part.count, full.count[:n])
    np.testing.assert_allclose(part.original, full.original[:n], rtol=1e-5, atol=1e-7)


def test_just_cross_correlation_profile_is_original_profile():
    a, b = spot_pair((31, 30), 4, seed=5)
    mask = np.zeros(a.shape, bool)
    mask[3:28, 2:27] = True
    prof = cross_correlation_profile(a, b, mask=mask)
    assert prof.subtracted is None
    assert prof.fit is None
    original, _ = reference_correlations(a, b, mask)
    keys, means, counts = brute_profile(original, (1.0, 1.0))
    np.testing.assert_array_equal(prof.distance, keys)
    np.testing.assert_array_equal(prof.count, counts)
    # float32 FFTs: the tails of the profile are ~0, so an absolute term scaled to its peak
    np.testing.assert_allclose(prof.original, means, rtol=1e-5, atol=1e-6 * np.abs(means).max())


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
@pytest.mark.parametrize("shape", [(12, 13), (9, 8, 7)])
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("max_distance", [None, 3.5])
def test_original_profile_is_the_profile_of_the_original_correlation(
    dtype, shape, masked, max_distance
):
    # the fast path sums profiles (sCorr + mean / V * corr(M, b), the box sums folded directly);
    # the slow one averages the original correlation image itself
    rng = np.random.default_rng(len(shape))
    a = (rng.random(shape) * 200).astype(dtype)
    b = (rng.random(shape) * 200).astype(dtype)
    mask = rng.random(shape) > 0.3 if masked else None
    with _maybe_warns():
        res = cross_correlation(a, b, mask=mask, intermediates=True, max_distance=max_distance)
    bins = profile_bins(shape, (1.0,) * len(shape), max_distance)
    scale = np.abs(res.original_correlation).max()
    np.testing.assert_allclose(
        res.profile.original, bins.mean(res.original_correlation), rtol=1e-6, atol=1e-6 * scale
    )
    np.testing.assert_allclose(
        res.profile.subtracted,
        bins.mean(res.subtracted_correlation),
        rtol=1e-6,
        atol=1e-6 * scale,
    )
    prof = cross_correlation_profile(a, b, mask=mask, max_distance=max_distance)
    np.testing.assert_allclose(prof.original, res.profile.original, rtol=1e-5, atol=1e-6 * scale)


@pytest.mark.parametrize("shape", [(7, 6), (6, 6), (1, 1), (2, 3), (5, 4, 3), (8, 9, 10)])
@pytest.mark.parametrize("max_distance", [None, 0.5, 1.0, 2.5])
def test_folded_box_correlation_is_the_fold_of_the_box_correlation(shape, max_distance):
    rng = np.random.default_rng(sum(shape))
    image = (rng.random(shape) * 1000).astype(np.float32)
    bins = profile_bins(shape, (1.0,) * len(shape), max_distance)
    lags = [(lo - n // 2, n - 1 - lo - n // 2) for n, lo in zip(shape, bins.lows)]
    full = box_correlation(image, lags)
    # the box sums by their definition: sum of image[m] over 0 <= m + s < N
    for index in np.ndindex(full.shape):
        s = [i + lo for i, (lo, _) in zip(index, lags)]
        region = tuple(slice(max(0, -si), min(n, n - si)) for si, n in zip(s, shape))
        assert full[index] == pytest.approx(image[region].sum(dtype=np.float64), rel=1e-12)
    np.testing.assert_allclose(
        folded_box_correlation(image, lags), fold(full, shape, bins.lows), rtol=1e-12
    )


# --------------------------------------------------------------------------- radial profile


@pytest.mark.parametrize(
    ("shape", "spacing"),
    [
        ((7, 7), (1.0, 1.0)),
        ((8, 8), (1.0, 1.0)),
        ((9, 12), (0.1, 0.1)),  # float rounding splits some integer keys, as in the plugin
        ((33, 40), (0.1, 0.1)),
        ((10, 9), (0.2, 0.13)),
        ((5, 6, 7), (0.5, 0.1, 0.1)),
        ((6, 6, 6), (1.0, 1.0, 1.0)),
    ],
)
@pytest.mark.parametrize("max_distance", [None, 2.05])
def test_profile_keys_counts_and_means_match_the_plugin_definition(shape, spacing, max_distance):
    rng = np.random.default_rng(1)
    image = rng.normal(size=shape)
    bins = profile_bins(shape, spacing, max_distance)
    keys, means, counts = brute_profile(image, spacing)
    keep = slice(None) if max_distance is None else keys <= max_distance
    window = tuple(slice(lo, n - lo) for n, lo in zip(shape, bins.lows))
    np.testing.assert_array_equal(bins.distance, keys[keep])
    np.testing.assert_array_equal(bins.count, counts[keep])
    np.testing.assert_allclose(bins.mean(image[window]), means[keep], rtol=1e-12, atol=1e-12)


def test_float_keys_split_where_the_plugin_splits_them():
    # with spacing 0.1 some equal integer distances round to different doubles (as in Java)
    shape = (33, 40)
    bins = profile_bins(shape, (0.1, 0.1))
    half = [(2 * np.arange(n) - n + 1) ** 2 for n in shape]
    integer_keys = np.unique(np.add.outer(*half))
    assert bins.distance.size > integer_keys.size
    assert profile_bins(shape, (1.0, 1.0)).distance.size == integer_keys.size


def test_even_size_has_no_zero_key():
    bins = profile_bins((8, 8), (1.0, 1.0))
    assert bins.distance[0] == pytest.approx(math.sqrt(0.5))
    assert bins.count[0] == 4


# ------------------------------------------------------------------------------------ fit


def test_commons_start_point_uses_the_half_height_quirk():
    # halfY = n + (m - n) / 2 with peak n = 10 at m = 2: halfY = 6 (not 5)
    x = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    y = np.array([2.0, 4.0, 10.0, 4.0, 2.0])
    norm, mean, sigma = commons_guess(x, y)
    # crossings of 6: between x=1 (4) and 2 (10): 1 + 2/6; symmetric on the right
    fwhm = (3 - 2 / 6) - (1 + 2 / 6)
    assert (norm, mean) == (10.0, 2.0)
    assert sigma == pytest.approx(fwhm / (2 * math.sqrt(2 * math.log(2))), rel=1e-15)


def test_commons_start_point_falls_back_to_the_x_range():
    x = np.array([-3.0, 0.0, 1.0, 5.0])
    y = np.array([1.0, 100.0, 90.0, 80.0])  # halfY = 50 is never crossed on the right
    assert commons_guess(x, y)[2] == pytest.approx(8 / (2 * math.sqrt(2 * math.log(2))))


def test_area_under_curve_uses_the_open_interval():
    keys = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    values = np.array([1.0, 10.0, 100.0, 1000.0, 10000.0])
    # mean 2, sigma 1/3: interval (1, 3) open excludes both ends
    assert area_under_curve(keys, values, 2.0, 1 / 3) == 100.0


def test_r_squared_uses_the_half_open_interval():
    keys = np.array([0.0, 1.0, 2.0, 3.0])
    values = np.array([5.0, 1.0, 3.0, 7.0])
    # [1, 3): keys 1 and 2 only; the model 0 gives R² = 1 - (1 + 9) / (1 + 1)
    assert r_squared(keys, values, 2.0, 1 / 3, lambda k: np.zeros_like(k)) == pytest.approx(-4.0)


def test_moving_average_matches_its_definition():
    keys = np.array([0.0, 0.5, 1.0, 1.2, 3.0])
    values = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    new_keys, new_values = moving_average(keys, values, 0.5)
    # windows [k - 0.5, k + 0.5): {0}, {0, .5}, {.5, 1, 1.2}, {1, 1.2}, {3}
    expected = sorted(
        {
            (0.0, 1.0),
            (0.25, 1.5),
            (2.7 / 3, 3.0),
            (1.1, 3.5),
            (3.0, 5.0),
        }
    )
    np.testing.assert_allclose(new_keys, [k for k, _ in expected])
    np.testing.assert_allclose(new_values, [v for _, v in expected])


def test_fit_with_too_few_points_fails_cleanly():
    assert fit_profile(np.array([0.5]), np.array([1.0]), 1.0).params is None
    assert fit_profile(np.array([0.0, 1.0]), np.array([1.0, 0.5]), 1.0).params is None
    with pytest.warns(ColocalizeWarning, match="could not fit"):
        res = cross_correlation(np.eye(2), np.eye(2))
    assert not res.fit_ok


def test_fit_rejects_a_single_spike_and_fails_cleanly():
    keys = np.arange(0.0, 10.0, 0.5)
    values = np.zeros_like(keys)
    values[4] = 1.0  # a one-point spike: sigma <= pixel every time
    assert fit_profile(keys, values, 1.0).params is None


# ----------------------------------------------------------- fit vs the real commons-math3


@pytest.fixture(scope="module")
def java_fitter(tmp_path_factory):
    if shutil.which("javac") is None or shutil.which("java") is None:
        skip_or_fail("javac/java not found: apt-get install default-jdk-headless")
    if not COMMONS_MATH.is_file():
        skip_or_fail(f"{COMMONS_MATH} not found: apt-get install libcommons-math3-java")
    out = tmp_path_factory.mktemp("cccjava")
    subprocess.run(
        ["javac", "-d", str(out), "-cp", str(COMMONS_MATH), str(JAVA_SOURCE)],
        check=True,
        capture_output=True,
    )

    def run(result, pixel):
        prof = result.profile
        lines = [float(pixel).hex()] + [
            f"{float(k).hex()} {float(s).hex()} {float(o).hex()}"
            for k, s, o in zip(prof.distance, prof.subtracted, prof.original)
        ]
        proc = subprocess.run(
            ["java", "-cp", f"{out}:{COMMONS_MATH}", "CccFitReference"],
            input="\n".join(lines) + "\n",
            capture_output=True,
            text=True,
            check=True,
        )
        text = proc.stdout.strip()
        return None if text == "FAILED" else [float(v) for v in text.split()]

    return run


@pytest.mark.parametrize(
    ("shape", "distance", "spacing", "seed"),
    [
        ((129, 129), 8, (1.0, 1.0), 1),
        ((128, 128), 8, (1.0, 1.0), 1),  # even size: half-pixel centre
        ((129, 129), 0, (1.0, 1.0), 1),  # colocalised
        ((64, 80), 0.5, (0.1, 0.1), 3),
        ((20, 48, 48), 4, (1.0, 1.0, 1.0), 4),
        ((20, 48, 48), 0.4, (0.3, 0.1, 0.1), 5),
        ((60, 60), 3, (1.0, 1.0), 7),
    ],
)
def test_fit_matches_commons_math_levenberg_marquardt(java_fitter, shape, distance, spacing, seed):
    a, b = spot_pair(shape, distance, spacing=spacing, seed=seed)
    res = cross_correlation(a, b, spacing=spacing)
    java = java_fitter(res, spacing[-1])
    assert java is not None
    assert res.fit_ok
    norm, mean, sigma, conf, r2 = java
    assert res.mean == pytest.approx(mean, rel=1e-3, abs=1e-9)
    assert res.sigma == pytest.approx(sigma, rel=1e-3)
    assert res.confidence == pytest.approx(conf, rel=1e-3)
    assert res.r_squared == pytest.approx(r2, rel=1e-3)
    height = norm * math.exp(-((mean - abs(mean)) ** 2) / (2 * sigma**2))
    assert res.height == pytest.approx(height, rel=1e-3)


def test_start_point_quirk_fails_like_commons_math_on_small_values(java_fitter):
    # correlations ~1e-3: halfY = (ymax + xpeak) / 2 is far above the peak, the start sigma falls
    # back to the whole x range and the fit diverges; the plugin fails the same way
    a, b = spot_pair((120, 130), 0.9, spacing=(0.15, 0.15), pairs=120, seed=4, brightness=1.0)
    mask = np.zeros(a.shape, bool)
    mask[5:115, 10:125] = True
    with pytest.warns(ColocalizeWarning, match="could not fit"):
        res = cross_correlation(a, b, mask=mask, spacing=(0.15, 0.15))
    assert java_fitter(res, 0.15) is None
    assert not res.fit_ok
    # the same images 1000 times brighter: the start point is sensible and the fit succeeds
    bright = cross_correlation(1000 * a, 1000 * b, mask=mask, spacing=(0.15, 0.15))
    assert bright.fit_ok
    assert bright.mean == pytest.approx(java_fitter(bright, 0.15)[1], rel=1e-3)


@pytest.mark.parametrize("seed", range(4))
def test_fit_failures_and_retries_match_commons_math(java_fitter, seed):
    # noisy, weak, uncorrelated data exercise the retries and the failure path
    rng = np.random.default_rng(seed)
    a = ndimage.gaussian_filter(rng.random((40, 40)), 1.0)
    b = ndimage.gaussian_filter(rng.random((40, 40)), 1.0)
    with _maybe_warns() as record:
        res = cross_correlation(a, b)
    java = java_fitter(res, 1.0)
    if java is None:
        assert not res.fit_ok
        assert math.isnan(res.mean)
        assert any(issubclass(w.category, ColocalizeWarning) for w in record)
    else:
        assert res.fit_ok
        assert res.mean == pytest.approx(java[1], rel=1e-3, abs=1e-9)
        assert res.sigma == pytest.approx(java[2], rel=1e-3)


@contextlib.contextmanager
def _maybe_warns():
    """Record (rather than raise) ColocalizeWarning where a fit may legitimately fail."""
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always", ColocalizeWarning)
        yield record


# ------------------------------------------------------------------ synthetic known answers


@pytest.mark.parametrize(
    ("shape", "distance", "spacing"),
    [
        ((160, 160), 7.0, None),
        ((161, 150), 6.0, None),
        ((150, 150), 0.7, (0.1, 0.1)),
        ((150, 150), 1.2, (0.2, 0.1)),
        ((40, 72, 72), 5.0, None),
        ((40, 72, 72), 0.6, (0.2, 0.1, 0.1)),
    ],
)
def test_recovers_a_known_offset_within_one_pixel(shape, distance, spacing):
    a, b = spot_pair(shape, distance, spacing=spacing, pairs=150, extra=30, psf=1.2, seed=11)
    res = cross_correlation(a, b, spacing=spacing)
    pixel = 1.0 if spacing is None else max(spacing)
    assert res.fit_ok
    assert abs(res.mean - distance) < pixel
    assert res.confidence > 0.1


@pytest.mark.parametrize("shape", [(120, 120), (30, 64, 64)])
def test_colocalised_spots_give_a_mean_near_zero(shape):
    a, b = spot_pair(shape, 0.0, pairs=100, seed=2)
    res = cross_correlation(a, b)
    assert res.fit_ok
    assert abs(res.mean) < 0.5
    assert res.confidence > 0.3


def test_offset_is_found_inside_a_mask_and_with_an_image():
    a, b = spot_pair((120, 130), 0.9, spacing=(0.15, 0.15), pairs=120, seed=4)
    mask = np.zeros(a.shape, bool)
    mask[5:115, 10:125] = True
    img0 = Image(a, axes="YX", spacing=(0.15, 0.15), unit="um")
    img1 = Image(b, axes="YX", spacing=(0.15, 0.15), unit="um")
    res = cross_correlation(img0, img1, mask=mask)
    same = cross_correlation(a, b, mask=mask, spacing=(0.15, 0.15), unit="um")
    assert res.unit == "um"
    assert res.mean == same.mean
    assert abs(res.mean - 0.9) < 0.15


def test_no_confidence_gives_the_same_fit():
    a, b = spot_pair((128, 128), 6, pairs=150, seed=8)
    full = cross_correlation(a, b)
    noconf = cross_correlation(a, b, confidence=False)
    assert noconf.mean == pytest.approx(full.mean, rel=1e-6)
    assert math.isnan(noconf.confidence)
    assert noconf.profile.original is None


def test_two_gaussians_find_two_distances():
    a1, b1 = spot_pair((160, 160), 4, pairs=100, extra=0, seed=1)
    a2, b2 = spot_pair((160, 160), 14, pairs=100, extra=0, seed=11)
    res = cross_correlation(a1 + a2, b1 + b2, n_gaussians=2)
    assert res.fit_ok
    assert len(res.components) == 2
    near, far = res.components
    assert abs(near.mean - 4) < 1.5
    assert abs(far.mean - 14) < 1.5
    assert res.mean == near.mean
    assert 0 < far.confidence < near.confidence


# ---------------------------------------------------------------------------- contributions


@pytest.mark.parametrize("shape", [(12, 13), (14, 14), (7, 8, 9)])
def test_contributions_equal_mirror_convolution_with_the_weighted_correlation(shape):
    a, b = spot_pair(shape, 2.0, pairs=6, extra=2, psf=1.0, seed=6)
    with _maybe_warns():
        res = cross_correlation(a, b, contributions=True, intermediates=True)
    if not res.fit_ok:
        pytest.skip("no fit on this tiny pattern")
    g = res.weighted_correlation.astype(np.float64)
    a32 = a.astype(np.float32).astype(np.float64)
    b32 = b.astype(np.float32).astype(np.float64)
    c0 = a32 * ndimage.convolve(b32, g, mode="mirror")
    c1 = b32 * ndimage.correlate(a32, g, mode="mirror")
    np.testing.assert_allclose(res.contribution0, c0, rtol=1e-4, atol=1e-6 * np.abs(c0).max())
    np.testing.assert_allclose(res.contribution1, c1, rtol=1e-4, atol=1e-6 * np.abs(c1).max())


def test_contributions_highlight_paired_spots():
    # pairs on the left half only; image 0 also has unpaired spots on the right half
    a, b = spot_pair((100, 100), 5, pairs=80, extra=0, seed=9)
    a[:, 50:] = 0
    b[:, 50:] = 0
    lone, _ = spot_pair((100, 50), 5, pairs=40, extra=0, seed=10)
    a[:, 50:] = lone
    res = cross_correlation(a, b, contributions=True)
    assert res.fit_ok
    assert res.contribution0.shape == a.shape
    assert res.contribution0.dtype == np.float32
    left = res.contribution0[:, :45].sum()
    right = res.contribution0[:, 55:].sum()
    assert left > 10 * abs(right)


# ------------------------------------------------------------------------------ time series


def test_time_series_table_and_best_frame():
    frames = [spot_pair((96, 96), d, pairs=80, seed=20 + i) for i, d in enumerate((3, 6, 9))]
    a = np.stack([f[0] for f in frames], axis=-1)  # time last
    b = np.stack([f[1] for f in frames], axis=-1)
    res = cross_correlation(a, b, time_axis=-1)
    table = res.frames
    assert table is not None
    assert table.frame.tolist() == [0, 1, 2]
    for t, (fa, fb) in enumerate(frames):
        single = cross_correlation(fa, fb)
        assert table.mean[t] == pytest.approx(single.mean, rel=1e-9)
        assert table.confidence[t] == pytest.approx(single.confidence, rel=1e-9)
    assert res.best_frame == int(np.argmax(table.confidence))
    assert res.mean == table.mean[res.best_frame]
    assert table.profile.subtracted.shape == (3, table.profile.distance.size)
    df = table.to_dataframe()
    assert list(df.columns[:2]) == ["mean", "sigma"]
    assert len(df) == 3
    noconf = cross_correlation(a, b, time_axis=2, confidence=False)
    assert noconf.best_frame == int(np.argmin(noconf.frames.sigma))


def test_time_series_from_an_image_uses_its_time_axis_and_spacing():
    a, b = spot_pair((64, 64), 0.8, spacing=(0.2, 0.2), seed=14)
    img0 = Image(np.stack([a, b]), axes="TYX", spacing=(5.0, 0.2, 0.2), unit="um")
    img1 = Image(np.stack([b, a]), axes="TYX", spacing=(5.0, 0.2, 0.2), unit="um")
    res = cross_correlation(img0, img1)
    single = cross_correlation(a, b, spacing=(0.2, 0.2))
    assert res.frames is not None
    assert res.unit == "um"
    assert res.frames.mean[0] == pytest.approx(single.mean, rel=1e-9)


def test_time_series_mask_needs_the_same_frames():
    a = np.random.default_rng(0).random((3, 20, 20))
    with pytest.raises(ValueError, match="frames"):
        cross_correlation(a, a, mask=np.ones((2, 20, 20)), time_axis=0)
    # an empty frame of the mask is degenerate, not an error: tests/test_input_layer.py


# ---------------------------------------------------------------------- errors and warnings


def test_bad_inputs_raise_clear_errors():
    a = np.ones((10, 10))
    with pytest.raises(ValueError, match=r"mask has shape \(9, 10\)"):
        cross_correlation(a, a, mask=np.ones((9, 10)))
    with pytest.raises(ValueError, match="image1 has shape"):
        cross_correlation(a, np.ones((10, 11)))
    with pytest.raises(ValueError, match="spacing must be 2"):
        cross_correlation(a, a, spacing=(1.0, 0.0))
    with pytest.raises(ValueError, match="2D"):
        cross_correlation(np.ones(10), np.ones(10))
    with pytest.raises(ValueError, match="max_distance"):
        cross_correlation(a, a, max_distance=-1)
    with pytest.raises(ValueError, match="n_gaussians"):
        cross_correlation(a, a, n_gaussians=0)
    with pytest.raises(ValueError, match="channels"):
        cross_correlation(Image(np.ones((2, 10, 10)), axes="CYX"), a)


def test_constant_images_give_a_failed_fit_not_an_exception():
    a = np.full((16, 16), 3.0)
    with pytest.warns(ColocalizeWarning, match="could not fit"):
        res = cross_correlation(a, a, contributions=True)
    assert not res.fit_ok
    assert math.isnan(res.mean)
    assert math.isnan(res.sigma)
    assert math.isnan(res.confidence)
    assert np.isnan(res.contribution0).all()
    assert isinstance(res.r_squared, float)


def test_inputs_are_not_modified():
    a, b = spot_pair((30, 30), 3, seed=1)
    a0, b0 = a.copy(), b.copy()
    mask = np.ones(a.shape, bool)
    mask[:3] = False
    cross_correlation(a, b, mask=mask, contributions=True)
    np.testing.assert_array_equal(a, a0)
    np.testing.assert_array_equal(b, b0)


# ------------------------------------------------------------------------------- properties


@settings(max_examples=25, deadline=None)
@given(
    st.integers(3, 9).map(lambda k: 2 * k + 1),
    st.integers(3, 9).map(lambda k: 2 * k + 1),
    st.integers(0, 2**31 - 1),
    st.floats(0.01, 100.0),
)
def test_profile_is_linear_and_symmetric_for_odd_sizes(ny, nx, seed, factor):
    rng = np.random.default_rng(seed)
    a = rng.random((ny, nx))
    b = rng.random((ny, nx))
    base = cross_correlation_profile(a, b).original
    scaled = cross_correlation_profile(a * factor, b).original
    swapped = cross_correlation_profile(b, a).original
    np.testing.assert_allclose(scaled, factor * base, rtol=1e-5)
    np.testing.assert_allclose(swapped, base, rtol=1e-5)


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**31 - 1), st.sampled_from([(9, 10), (8, 8), (5, 6, 7)]))
def test_scalar_results_are_python_floats_or_nan(seed, shape):
    rng = np.random.default_rng(seed)
    a = ndimage.gaussian_filter(rng.random(shape), 1.0)
    with _maybe_warns():
        res = cross_correlation(a, a)
    for name in ("mean", "sigma", "height", "confidence", "r_squared"):
        assert type(getattr(res, name)) is float
    assert res.fit_ok == (not math.isnan(res.mean))


def test_public_names():
    for name in ("cross_correlation", "cross_correlation_profile", "CrossCorrelation"):
        assert name in colocalize.__all__


# ------------------------------------------------------------------------------ plot and CLI


def test_plots_draw_the_plugin_series():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from colocalize.plot import correlation_heatmap, correlation_profile

    a, b = spot_pair((64, 64), 4, seed=12)
    res = cross_correlation(a, b)
    ax = correlation_profile(res)
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["Original CC", "Subtracted CC", "Gaussian Fit"]
    assert ax.get_xlim() == pytest.approx((0, res.mean + 5 * res.sigma))
    with pytest.raises(ValueError, match="time series"):
        correlation_heatmap(res)
    series = cross_correlation(np.stack([a, b]), np.stack([b, a]), time_axis=0)
    ax = correlation_heatmap(series)
    assert ax.get_xlabel() == "Frame"
    plt.close("all")


def test_cli_writes_tables_plot_and_contributions(tmp_path):
    import tifffile

    from colocalize._cli._main import main

    a, b = spot_pair((64, 70), 4, seed=13)
    calibration = {"spacing": (0.2, 0.2), "unit": "um"}
    colocalize.write_image(tmp_path / "a.tif", a.astype(np.float32), **calibration)
    colocalize.write_image(tmp_path / "b.tif", b.astype(np.float32), **calibration)
    tifffile.imwrite(tmp_path / "m.tif", np.ones(a.shape, np.uint8))
    out = tmp_path / "out"
    images = [str(tmp_path / "a.tif"), str(tmp_path / "b.tif")]
    code = main(
        ["ccc", *images, "--mask", str(tmp_path / "m.tif"), "--contributions", "--out", str(out)]
    )
    assert code == 0
    expected = cross_correlation(*(colocalize.read_image(path) for path in images))
    results = (out / "CC Results.csv").read_text().splitlines()
    assert results[1].startswith("Mean (um),")
    assert float(results[1].split(",")[1]) == pytest.approx(expected.mean)
    profile = (out / "Correlation of images.csv").read_text().splitlines()
    assert profile[0] == "Distance (um),Original CC,Subtracted CC,Gaussian fit"
    assert len(profile) == expected.profile.distance.size + 1
    assert (out / "Correlation of images.png").stat().st_size > 0
    c0 = colocalize.read_image(out / "Contribution of a.tif")
    assert c0.data.shape == a.shape
    # the contribution images keep the input's calibration (they used to be written without)
    assert (c0.spatial_spacing, c0.unit) == ((0.2, 0.2), "um")
    assert main(["ccc", str(tmp_path / "a.tif"), str(tmp_path / "missing.tif")]) == 2


def test_import_colocalize_leaves_scipy_fft_and_optimize_for_the_first_ccc():
    """They cost ~0.35 s of every `import colocalize` (CLI start, each batch worker)."""
    import sys

    code = (
        "import sys, colocalize\n"
        "print(sorted(m for m in ('scipy.fft', 'scipy.optimize') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _full_lm_fit(x, y, start, max_iterations):
    """The fit as MINPACK sees it without the n + 1 row reduction: every residual and the full
    m x n Jacobian (the slow path the fast one must equal)."""
    from scipy.optimize import leastsq

    def residual(p):
        return gaussian(x, p) - y

    def jacobian(p):
        rows = []
        for norm, mean, sigma in np.reshape(p, (-1, 3)):
            e = np.exp(-((x - mean) ** 2) / (2 * sigma * sigma))
            rows += [e, e * norm * (x - mean) / sigma**2, e * norm * (x - mean) ** 2 / sigma**3]
        return np.array(rows)

    params, _, info, _, ier = leastsq(
        residual,
        start,
        Dfun=jacobian,
        col_deriv=True,
        full_output=True,
        ftol=1e-10,
        xtol=1e-10,
        gtol=1e-10,
        factor=100.0,
        maxfev=200 * (max_iterations + 1),
    )
    ok = ier in (1, 2, 3, 4) and info["njev"] <= max_iterations
    return params if ok else None, info["nfev"], info["njev"]


@pytest.mark.parametrize("n", [1, 2])
@pytest.mark.parametrize("seed", range(12))
def test_the_reduced_lm_fit_equals_minpack_on_every_residual(seed, n):
    """lm_fit gives MINPACK the problem in n + 1 rows (R, Q^T f and the rest of ||f||): the
    same parameters and the same evaluation counts as the fit over every point."""
    import scipy.optimize

    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(-10, 30, int(rng.integers(20, 3000))))
    true = np.array([1.0, 4.0, 2.0, 0.5, 12.0, 3.0][: 3 * n])
    y = gaussian(x, true) + rng.normal(0, rng.uniform(0.01, 0.3), x.size)
    start = true * rng.uniform(0.7, 1.3, true.size)
    counts = []
    real = scipy.optimize.leastsq

    def spy(*args, **kwargs):
        out = real(*args, **kwargs)
        counts.append((out[2]["nfev"], out[2]["njev"]))
        return out

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(scipy.optimize, "leastsq", spy)
        fast = lm_fit(x, y, start, 100)
    slow, nfev, njev = _full_lm_fit(x, y, start, 100)
    assert counts == [(nfev, njev)]
    assert (fast is None) == (slow is None)
    if fast is not None:
        np.testing.assert_allclose(fast, slow, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("n", [1, 2])
@pytest.mark.parametrize("seed", range(6))
def test_the_windowed_lm_fit_equals_minpack_on_every_residual(seed, n):
    """On a long profile (the distances of a large image) lm_fit computes only the points within
    _REACH sigmas of the Gaussians, where the model is not exactly 0: the same parameters and the
    same evaluation counts as MINPACK over every point."""
    import scipy.optimize

    from colocalize._ccc import _fit

    rng = np.random.default_rng(100 + seed)
    x = np.sort(rng.uniform(-60, 1500, int(rng.integers(20000, 60000))))
    true = np.array([1.0, 4.0, 2.0, 0.5, 12.0, 3.0][: 3 * n])
    y = gaussian(x, true) + rng.normal(0, rng.uniform(0.01, 0.3), x.size)
    start = true * rng.uniform(0.7, 1.3, true.size)
    counts = []
    widths = []
    real = scipy.optimize.leastsq
    real_around = _fit._Window.around

    def spy(*args, **kwargs):
        out = real(*args, **kwargs)
        counts.append((out[2]["nfev"], out[2]["njev"]))
        return out

    def around(self, p):
        lo, hi, outside = real_around(self, p)
        widths.append(hi - lo)
        return lo, hi, outside

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(scipy.optimize, "leastsq", spy)
        patch.setattr(_fit._Window, "around", around)
        fast = lm_fit(x, y, start, 100)
    slow, nfev, njev = _full_lm_fit(x, y, start, 100)
    assert max(widths) < x.size / 4  # the window did shrink
    assert counts == [(nfev, njev)]
    assert (fast is None) == (slow is None)
    if fast is not None:
        np.testing.assert_allclose(fast, slow, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_the_window_leaves_out_only_points_where_the_model_is_exactly_zero(seed):
    from colocalize._ccc._fit import _Window

    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(-100, 3000, 40000))
    y = rng.normal(size=x.size)
    p = np.array([rng.uniform(0.1, 10), rng.uniform(0, 50), rng.uniform(0.05, 5)])
    lo, hi, outside = _Window(x, y).around(p)
    assert 0 < hi - lo < x.size
    left, right = slice(0, lo), slice(hi, None)
    assert np.all(gaussian(x[left], p) == 0)
    assert np.all(gaussian(x[right], p) == 0)
    assert outside == pytest.approx(math.fsum(np.concatenate([y[left], y[right]]) ** 2), rel=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_gaussian_on_a_long_sorted_axis_is_exactly_the_formula(seed):
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(-50, 2000, 30000))
    params = np.array([rng.uniform(-5, 5), rng.uniform(-10, 50), rng.uniform(0.01, 20)] * 2)
    expected = np.zeros_like(x)
    for norm, mean, sigma in params.reshape(-1, 3):
        expected += norm * np.exp(-((x - mean) ** 2) * (1.0 / (2.0 * sigma * sigma)))
    np.testing.assert_array_equal(gaussian(x, params), expected)
