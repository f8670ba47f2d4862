"""The fast paths of CCC against their slow definitions (issue 14): the folded box sums from the
centre-folded image, and the cached profile bins."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from colocalize import ColocalizeWarning, cross_correlation
from colocalize._ccc import _profile
from colocalize._ccc._fft import box_correlation, folded_box_correlation
from colocalize._ccc._profile import fold, profile_bins


@pytest.mark.parametrize(
    "shape", [(1,), (6,), (7,), (2, 3), (7, 6), (6, 6), (9, 8), (5, 4, 3), (8, 9, 10), (4, 4, 4)]
)
@pytest.mark.parametrize("max_distance", [None, 1.0, 2.5])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.bool_])
def test_folded_box_sums_of_integer_images_are_exact(shape, max_distance, dtype):
    # integer images fold in int32 and sum in float64: every partial sum is an integer, so the
    # result equals the fold of the box sums by their definition exactly
    rng = np.random.default_rng(sum(shape))
    top = 2 if dtype == np.bool_ else np.iinfo(dtype).max
    image = rng.integers(0, top, shape, endpoint=dtype != np.bool_).astype(dtype)
    bins = profile_bins(shape, (1.0,) * len(shape), max_distance)
    lags = [(lo - n // 2, n - 1 - lo - n // 2) for n, lo in zip(shape, bins.lows)]
    expected = fold(box_correlation(image.astype(np.float64), lags), shape, bins.lows)
    np.testing.assert_array_equal(folded_box_correlation(image, lags), expected)


def test_profile_bins_are_cached_read_only_and_equal_to_fresh_ones():
    shape, spacing = (37, 52), (0.1241, 0.1241)
    first = profile_bins(shape, spacing, None)
    assert profile_bins(list(shape), [0.1241, 0.1241]) is first
    fresh = _profile._compute_bins(shape, spacing, None)
    np.testing.assert_array_equal(first.distance, fresh.distance)
    np.testing.assert_array_equal(first.count, fresh.count)
    np.testing.assert_array_equal(first.index, fresh.index)
    with pytest.raises(ValueError, match="read-only"):
        first.distance[0] = 1.0
    # another max_distance is another entry
    cut = profile_bins(shape, spacing, 1.0)
    assert cut is not first
    assert cut.inside is not None
    assert cut.distance.max() <= 1.0


def test_the_bins_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(_profile, "_cache", type(_profile._cache)())
    small = profile_bins((20, 20), (1.0, 1.0))
    monkeypatch.setattr(_profile, "_CACHE_BYTES", small.nbytes * 2 + 1)
    profile_bins((21, 20), (1.0, 1.0))
    profile_bins((22, 20), (1.0, 1.0))
    profile_bins((23, 20), (1.0, 1.0))
    assert sum(b.nbytes for b in _profile._cache.values()) <= _profile._CACHE_BYTES
    assert ((20, 20), (1.0, 1.0), None) not in _profile._cache  # the oldest went first
    big = profile_bins((200, 200), (1.0, 1.0))  # larger than the whole cache: not kept
    assert big.nbytes > _profile._CACHE_BYTES
    assert all(b is not big for b in _profile._cache.values())


def test_results_own_their_profile_distances():
    # the cached bins are shared: a caller changing its result must not change the next one
    a = np.zeros((30, 31))
    a[10:14, 8:12] = 100.0
    b = np.roll(a, 3, axis=1)
    first = cross_correlation(a, b)
    expected = first.profile.distance.copy()
    first.profile.distance[:] = 1000.0
    first.profile.count[:] = 0
    second = cross_correlation(a, b)
    np.testing.assert_array_equal(second.profile.distance, expected)
    assert second.profile.count.min() > 0


def test_warnings_point_at_the_caller():
    # cross_correlation is split into helpers (issue 16): its warnings still name this file
    rng = np.random.default_rng(3)
    noise = rng.random((24, 25))
    a, b = shifted_pair(seed=1)
    cases = [
        ((noise, rng.random((24, 25))), {}, "could not fit"),
        ((noise, noise), {"mask": np.zeros((24, 25), bool)}, "mask is empty"),
        ((a, b), {"n_gaussians": 2}, "Gaussians could not be fitted"),
    ]
    for images, options, expected in cases:
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            cross_correlation(*images, **options)
        assert any(expected in str(w.message) for w in record)
        assert all(issubclass(w.category, ColocalizeWarning) for w in record)
        assert {w.filename for w in record} == {__file__}


def shifted_pair(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Smooth noise sharing a copy shifted by 3 pixels: one clear distance, so that a second
    Gaussian is not accepted."""
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    a = ndimage.gaussian_filter(rng.random((40, 40)), 1.0)
    b = ndimage.gaussian_filter(rng.random((40, 40)), 1.0)
    shifted = np.roll(a, 3, axis=1)
    return a + shifted, b + shifted


@pytest.mark.parametrize("shape", [(9, 8), (16, 17), (6, 7, 8), (1, 12)])
@pytest.mark.parametrize("pixel", [1.0, 0.5, 0.25, 4.0])
@pytest.mark.parametrize("max_distance", [None, 2.6])
def test_exact_bins_match_the_plugin_distances(shape, pixel, max_distance):
    # power-of-two pixel sizes take the exact path: distances from the integer keys, counts from
    # one count per key; the plugin measures every voxel as sqrt(sum ((x - c) s)²), X first
    spacing = (pixel,) * len(shape)
    terms = [((np.arange(n) - (n - 1.0) / 2.0) * pixel) ** 2 for n in shape]
    acc = terms[-1]
    for term in reversed(terms[:-1]):
        acc = np.add.outer(term, acc)
    keys, counts = np.unique(np.sqrt(acc), return_counts=True)
    keep = slice(None) if max_distance is None else keys <= max_distance
    bins = _profile._compute_bins(shape, spacing, max_distance)
    np.testing.assert_array_equal(bins.distance, keys[keep])
    np.testing.assert_array_equal(bins.count, counts[keep])


def _walk_reference(xs, ys, start, step, y):
    """commons-math's interpolateXAtY walk, one pair at a time."""
    j = start if step > 0 else start - 1
    while 0 <= j < xs.size - 1:
        y1, y2 = ys[j], ys[j + 1]
        if (y1 <= y <= y2) or (y2 <= y <= y1):
            x1, x2 = xs[j], xs[j + 1]
            if y1 == y:
                return float(x1)
            if y2 == y:
                return float(x2)
            return float(x1 + ((y - y1) * (x2 - x1)) / (y2 - y1))
        j += step
    return None


@pytest.mark.parametrize("seed", range(20))
def test_the_chunked_crossing_search_finds_the_walks_crossing(seed):
    from colocalize._ccc._fit import _interpolate_x

    rng = np.random.default_rng(seed)
    n = int(rng.choice([2, 5, 1000, 1025, 3000, 30000]))
    xs = np.sort(rng.uniform(-100, 1000, n))
    ys = np.exp(-((xs - rng.uniform(0, 50)) ** 2) / 200) + rng.normal(0, 0.01, n)
    for start in {0, 1, n // 2, n - 2, n - 1, int(rng.integers(0, n))}:
        for step in (1, -1):
            for y in (0.5, 0.02, -0.5, 2.0, float(ys[int(rng.integers(0, n))])):
                assert _interpolate_x(xs, ys, max(start, 0), step, y) == _walk_reference(
                    xs, ys, max(start, 0), step, y
                )


@pytest.mark.parametrize(
    "shape", [(6,), (7,), (8, 6), (7, 9), (6, 7), (4, 6, 8), (5, 4, 3), (3, 5, 7)]
)
@pytest.mark.parametrize("spacing", [1.0, 0.5, 0.1, "anisotropic"])
@pytest.mark.parametrize("max_distance", [None, 0.3, 2.5])
def test_profile_bins_equal_the_plugins_per_voxel_distances(shape, spacing, max_distance):
    # every path of _compute_bins (even sizes count cells unweighted, odd ones weight them by
    # their mirror multiplicity) against the plugin's definition voxel by voxel: squares summed
    # X then Y then Z in float64, bins of equal distance, the mean over each bin
    ndim = len(shape)
    sp = (
        tuple(0.5 + 0.25 * i for i in range(ndim))
        if spacing == "anisotropic"
        else (spacing,) * ndim
    )
    bins = _profile._compute_bins(shape, sp, max_distance)
    slices = tuple(slice(lo, n - lo) for n, lo in zip(shape, bins.lows))
    axes = [(np.arange(n)[s] - (n - 1.0) / 2.0) * h for n, s, h in zip(shape, slices, sp)]
    squared = np.zeros([a.size for a in axes])
    for axis in reversed(range(ndim)):
        squared = squared + (axes[axis] ** 2).reshape([-1 if i == axis else 1 for i in range(ndim)])
    dist = np.sqrt(squared)
    inside = np.ones(dist.shape, bool) if max_distance is None else dist <= max_distance
    distance, index, count = np.unique(dist[inside], return_inverse=True, return_counts=True)
    np.testing.assert_array_equal(bins.distance, distance)
    np.testing.assert_array_equal(bins.count, count)
    assert bins.count.dtype == np.int64
    values = np.random.default_rng(ndim).random(dist.shape)
    expected = np.bincount(index.ravel(), weights=values[inside]) / count
    np.testing.assert_allclose(bins.mean(values), expected, rtol=1e-12)
