"""The compiled kernels of the packed rank path (issue 14): the histograms, the counting sort of y
by x and the per-x-range counts (n_d by a 4-level digit count, ties, Spearman's sums), each
against a brute-force count; and ``packed_rank_sums`` with them against the numpy path, SciPy's
kendalltau and spearmanr on every 8/16-bit dtype pair, with heavy ties and without, at sizes
around the two threads' split (n = 0, 1, 2, odd, one x holding most pixels)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats

from _faults import run_python
from colocalize._ranks import _doubled_ranks, packed_rank_sums
from conftest import compiled_kernels, require_module

SMALL_INTS = [np.uint8, np.int8, np.uint16, np.int16]


def _counting_sort(kernels, x, y):
    """The kernels' histograms of x and y and y grouped by x (unsigned x, y; one thread)."""
    hist0 = np.zeros(1 << (8 * x.dtype.itemsize), dtype=np.int64)
    hist1 = np.zeros(1 << (8 * y.dtype.itemsize), dtype=np.int64)
    kernels.value_counts(x, y, 0, 0, hist0, hist1)
    ordered = np.empty_like(y)
    kernels.scatter_y(x, y, 0, 0, np.cumsum(hist0) - hist0, ordered)
    return hist0, hist1, ordered


@settings(max_examples=60, deadline=None)
@given(
    x=arrays(np.uint16, st.integers(0, 60), elements=st.integers(0, 65535)),
    y=arrays(np.uint8, 60, elements=st.integers(0, 255)),
    flips=st.sampled_from([(0, 0), (0x8000, 0), (0, 0x80), (0x8000, 0x80)]),
)
def test_counting_sort_groups_y_by_x_stably(x, y, flips):
    """Histograms of ``x ^ flip0`` and ``y ^ flip1``; y in the order of a stable sort by
    x ^ flip0; a second call adds to the histograms and fills from the positions given."""
    kernels = compiled_kernels()
    y = y[: x.size]
    flip0, flip1 = flips
    hist0 = np.zeros(65536, dtype=np.int64)
    hist1 = np.zeros(256, dtype=np.int64)
    kernels.value_counts(x, y, flip0, flip1, hist0, hist1)
    np.testing.assert_array_equal(hist0, np.bincount(x ^ flip0, minlength=65536))
    np.testing.assert_array_equal(hist1, np.bincount(y ^ flip1, minlength=256))
    first = np.cumsum(hist0) - hist0
    ordered = np.empty_like(y)
    kernels.scatter_y(x, y, flip0, flip1, first.copy(), ordered)
    np.testing.assert_array_equal(ordered, (y ^ flip1)[np.argsort(x ^ flip0, kind="stable")])
    # two halves, the second starting after the first's pixels of each x (as in two threads)
    half = x.size // 2
    lower = np.bincount(x[:half] ^ flip0, minlength=65536)
    split = np.empty_like(y)
    kernels.scatter_y(x[:half], y[:half], flip0, flip1, first.copy(), split)
    kernels.scatter_y(x[half:], y[half:], flip0, flip1, first + lower, split)
    np.testing.assert_array_equal(split, ordered)


def _brute_counts(x, y):
    """n_d, the pairs with equal y and different x, of every pair."""
    discordant = same = 0
    for i, j in itertools.combinations(range(x.size), 2):
        discordant += (x[i] - x[j]) * (y[i] - y[j]) < 0
        same += x[i] != x[j] and y[i] == y[j]
    return discordant, same


@settings(max_examples=80, deadline=None)
@given(
    x=arrays(np.uint8, st.integers(0, 70), elements=st.integers(0, 255)),
    other=st.lists(st.integers(0, 65535), min_size=70, max_size=70),
    bits=st.sampled_from([8, 16]),
    fold=st.sampled_from([1, 2, 5, 256, 65536]),
    middle=st.integers(0, 256),
    merge=st.sampled_from([1, 2, 3, 10**9]),
)
def test_bucket_ranks_equal_brute_force(x, other, bits, fold, middle, merge):
    """n_d, the ties in y across x, the histogram of y and Spearman's sums of each x range (the
    ranges below and above ``middle``, as the two threads see them), with heavy ties (y modulo
    ``fold``), y of 8 and 16 bits, and each x's pixels inserted one by one or once per
    distinct y (x values with ``merge`` pixels or more)."""
    kernels = compiled_kernels()
    y = (np.array(other[: x.size]) % fold % (1 << bits)).astype(f"u{bits // 8}")
    hist0, hist1, ordered = _counting_sort(kernels, x, y)
    n = x.size
    rank1 = _doubled_ranks(hist1).astype(np.int32)
    rank0 = _doubled_ranks(hist0)
    start = int(hist0[:middle].sum())
    for low, high, first, inside in ((0, middle, 0, x < middle), (middle, 256, start, x >= middle)):
        args = (ordered, hist0, low, high, first, n, bits, rank1, merge)
        result = kernels.bucket_ranks(*args, True, True)
        discordant, same, cross, square, hist = result
        xs, ys = x[inside].astype(int), y[inside].astype(int)
        assert (discordant, same) == _brute_counts(xs, ys)
        np.testing.assert_array_equal(hist, np.bincount(ys, minlength=1 << bits))
        assert cross == float(np.sum(rank0[xs] * rank1[ys].astype(np.int64)))
        assert square == float(np.sum(rank0[xs] ** 2))
        # each coefficient alone: the other's numbers stay zero
        alone = kernels.bucket_ranks(*args, True, False)
        assert alone[:2] == (discordant, same)
        assert alone[2:4] == (0.0, 0.0)
        alone = kernels.bucket_ranks(*args, False, True)
        assert alone[:4] == (0, 0, cross, square)


def _channel(rng, dtype, n, ties):
    """``n`` values over the whole range of ``dtype``: all distinct where the dtype allows
    (``ties`` False), else drawn from 5 values, the extremes included."""
    info = np.iinfo(dtype)
    if ties:
        grid = np.array([info.min, info.max, 0, info.max // 3, info.min // 2], dtype=np.int64)
        return rng.choice(grid, n).astype(dtype)
    span = int(info.max) - int(info.min) + 1
    values = rng.permutation(span)[:n] if n <= span else rng.integers(0, span, n)
    return (values + int(info.min)).astype(dtype)


@pytest.mark.parametrize("dtypes", list(itertools.product(SMALL_INTS, SMALL_INTS)))
@pytest.mark.parametrize("n", [0, 1, 2, 3, 17, 1001, 70_001])
@pytest.mark.parametrize("ties", [False, True])
def test_compiled_packed_path_equals_numpy_and_scipy(dtypes, n, ties):
    """Every 8/16-bit dtype pair, with and without ties: tau-b bit for bit as the numpy path (the
    same integer counts) and as SciPy's to 1e-13; Spearman's sums to 1e-12 and rho as SciPy's."""
    kernels = compiled_kernels()
    rng = np.random.default_rng([n, ties, SMALL_INTS.index(dtypes[0]), SMALL_INTS.index(dtypes[1])])
    x = _channel(rng, dtypes[0], n, ties)
    y = _channel(rng, dtypes[1], n, ties)
    if n > 3:
        y[: n // 2] = x[: n // 2].astype(np.int64).clip(*_limits(dtypes[1]))  # correlated
    with np.errstate(invalid="ignore"):
        fast = packed_rank_sums(x, y, kernels, spearman=True, kendall=True)
        slow = packed_rank_sums(x, y, None, spearman=True, kendall=True)
    _assert_same_tau(fast["kendall"], slow["kendall"])
    for key in ("ruu", "rvv", "ruv"):
        assert fast[key] == pytest.approx(slow[key], rel=1e-12, abs=1e-9)
    if n >= 3 and len(np.unique(x)) > 1 and len(np.unique(y)) > 1:
        tau = stats.kendalltau(x, y).statistic
        assert fast["kendall"] == pytest.approx(tau, rel=1e-13, abs=1e-15)
        rho = fast["ruv"] / np.sqrt(fast["ruu"] * fast["rvv"])
        assert rho == pytest.approx(stats.spearmanr(x, y).statistic, rel=1e-12, abs=1e-12)
    # each coefficient alone gives the same numbers
    only = packed_rank_sums(x, y, kernels, spearman=True, kendall=False)
    assert only == {key: fast[key] for key in ("ruu", "rvv", "ruv")}
    with np.errstate(invalid="ignore"):
        only = packed_rank_sums(x, y, kernels, spearman=False, kendall=True)
    _assert_same_tau(only["kendall"], fast["kendall"])


def _assert_same_tau(tau, expected):
    """The same float bit for bit, or both NaN (a constant channel, fewer than 2 pixels)."""
    assert tau == expected or (np.isnan(tau) and np.isnan(expected))


def _limits(dtype):
    info = np.iinfo(dtype)
    return int(info.min), int(info.max)


@pytest.mark.parametrize("share", [0.0, 0.5, 0.9, 1.0])
@pytest.mark.parametrize("at", ["min", "max"])
def test_split_at_a_dominant_x(share, at):
    """One x value (the smallest or the largest) holding ``share`` of the pixels, so that the
    median x falls on it or the threads' ranges are lopsided (one possibly empty): the same
    counts as the numpy path, on an odd number of pixels."""
    kernels = compiled_kernels()
    rng = np.random.default_rng(int(share * 10))
    n = 30_001
    x = rng.integers(0, 65536, n).astype(np.uint16)
    y = (x // 7 + rng.integers(0, 9000, n)).astype(np.uint16)
    x[rng.random(n) < share] = 0 if at == "min" else 65535
    with np.errstate(invalid="ignore"):
        fast = packed_rank_sums(x, y, kernels, spearman=True, kendall=True)
        slow = packed_rank_sums(x, y, None, spearman=True, kendall=True)
    _assert_same_tau(fast["kendall"], slow["kendall"])
    assert np.isnan(fast["kendall"]) == (share == 1.0)
    for key in ("ruu", "rvv", "ruv"):
        assert fast[key] == pytest.approx(slow[key], rel=1e-12, abs=1e-9)


_CACHED_CALL = """
import numpy as np
from colocalize import _compiled, _ranks
kernels = _compiled.kernels(_compiled.MIN_PIXELS)
x = np.arange(1000, dtype=np.uint16)
_ranks.packed_rank_sums(x, x[::-1].copy(), kernels, spearman=True, kendall=True)
for name in ("value_counts", "scatter_y", "bucket_ranks"):
    stats = getattr(kernels, name).stats
    print(name, sum(stats.cache_hits.values()), sum(stats.cache_misses.values()))
"""


def test_kernels_load_from_numba_disk_cache(tmp_path):
    """A second process loads the packed-rank kernels from numba's disk cache: bucket_ranks
    closed over its numba helpers, whose pickle (numba's cache key) is new in every process, so
    each process compiled it again (0.9 s instead of 0.2 s for its first call)."""
    require_module("numba", "the 'fast' extra")
    env = {"NUMBA_CACHE_DIR": str(tmp_path), "COLOCALIZE_NUMBA": "1"}
    first = run_python(_CACHED_CALL, env=env)
    assert first.returncode == 0, first.stderr
    second = run_python(_CACHED_CALL, env=env)
    assert second.returncode == 0, second.stderr
    for line in second.stdout.split("\n")[:3]:
        name, hits, misses = line.split()
        assert (int(hits), int(misses)) == (1, 0), name
