"""The rank paths in bounded memory and two threads. For 8/16-bit pairs: the compiled kernels
(a counting sort of y by x, the x values counted in two ranges split at a median x, the pairs
across them from histograms; their own tests are in test_packed_ranks_kernels.py) and the numpy
packed path's chunked passes, each against a brute-force count and its own peak memory. For
wider channels: the codes' narrow counts and the joint cells reduced in place, against np.unique
and their own peak memory."""

from __future__ import annotations

import itertools
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats

from colocalize import ColocalizeWarning, _ranks, coefficients
from colocalize._ranks import (
    _inversions,
    _tied_runs,
    channel_codes,
    joint_cells,
    kendall_tau_b,
    packed_rank_sums,
)
from conftest import compiled_kernels, traced_peak

SMALL_INTS = [np.uint8, np.int8, np.uint16, np.int16]


def _knight(x, y):
    """Kendall's tau-b by looking at every pair (NaN for a constant channel)."""
    score = tied_x = tied_y = 0
    for i, j in itertools.combinations(range(x.size), 2):
        dx, dy = int(x[i]) - int(x[j]), int(y[i]) - int(y[j])
        score += int(np.sign(dx) * np.sign(dy))
        tied_x += dx == 0
        tied_y += dy == 0
    n0 = x.size * (x.size - 1) // 2
    denominator = np.sqrt(float(n0 - tied_x) * float(n0 - tied_y))
    return score / denominator if denominator else np.nan


@settings(max_examples=80, deadline=None)
@given(
    dtypes=st.sampled_from(list(itertools.product(SMALL_INTS, SMALL_INTS))),
    n=st.integers(0, 50),
    levels=st.integers(1, 6),
    seed=st.integers(0, 2**32 - 1),
    ties=st.floats(0.0, 0.9),
)
def test_split_compiled_ranks_equal_brute_force(dtypes, n, levels, seed, ties):
    """Every pair of 8/16-bit dtypes, with long runs of one x (the split falls inside or next
    to them) and ties in y: tau-b exactly Knight's, Spearman as SciPy's; equal to numpy's."""
    kernels = compiled_kernels()
    rng = np.random.default_rng(seed)
    pair = []
    for dtype in dtypes:
        info = np.iinfo(dtype)
        grid = rng.integers(info.min, info.max, levels, endpoint=True, dtype=dtype)
        values = (
            rng.choice(grid, n)
            if rng.random() < 0.5
            else rng.integers(info.min, info.max, n, endpoint=True, dtype=dtype)
        )
        values[rng.random(n) < ties] = grid[0]
        pair.append(values.astype(dtype))
    x, y = pair
    fast = packed_rank_sums(x, y, kernels, spearman=True, kendall=True)
    expected = _knight(x, y) if n >= 2 else np.nan
    assert fast["kendall"] == pytest.approx(expected, rel=1e-13, abs=1e-15, nan_ok=True)
    slow = packed_rank_sums(x, y, None, spearman=True, kendall=True)
    assert fast["kendall"] == slow["kendall"] or np.isnan(slow["kendall"])
    for key in ("ruu", "rvv", "ruv"):
        assert fast[key] == pytest.approx(slow[key], rel=1e-12, abs=1e-9)
    if n >= 3 and fast["ruu"] > 0 and fast["rvv"] > 0:
        rho = fast["ruv"] / np.sqrt(fast["ruu"] * fast["rvv"])
        assert rho == pytest.approx(stats.spearmanr(x, y).statistic, rel=1e-12, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    y=arrays(np.uint16, st.integers(0, 70), elements=st.integers(0, 65535)),
    low=st.sampled_from([1, 2, 3, 256, 65536]),
    chunk=st.integers(1, 9),
)
def test_chunked_inversions_equal_brute_force(y, low, chunk):
    """The numpy radix count in chunks of a few pixels (every chunk border), on a copy it may
    overwrite and on the caller's array it must not."""
    y = y % low if low < 65536 else y
    expected = sum(int(y[i] > y[j]) for i, j in itertools.combinations(range(y.size), 2))
    hist = np.bincount(y, minlength=65536)
    before = y.copy()
    with mock.patch.object(_ranks, "_PACKED_CHUNK", chunk):
        assert _inversions(y, hist, 16) == expected
        np.testing.assert_array_equal(y, before)
        assert _inversions(y.copy(), hist, 16, scratch=True) == expected


@settings(max_examples=60, deadline=None)
@given(
    values=arrays(np.uint32, st.integers(0, 60), elements=st.integers(0, 5)),
    chunk=st.integers(1, 9),
)
def test_tied_runs_count_the_equal_pairs(values, chunk):
    """Pairs of equal elements of a sorted array, runs crossing chunk borders included."""
    values = np.sort(values)
    expected = sum(int(a == b) for a, b in itertools.combinations(values.tolist(), 2))
    with mock.patch.object(_ranks, "_PACKED_CHUNK", chunk):
        assert _tied_runs(values) == expected


@pytest.mark.traced
@pytest.mark.parametrize("path", ["compiled", "numpy"])
def test_packed_rank_sums_stay_within_twice_the_pair(path):
    """Issue 14: peak extra memory at most 2x the input's, for 2048 x 2048 random 16-bit data
    (about one joint cell per pixel). The numpy path (a fresh process's first calls, before the
    kernels load) took 130 MiB for this 16 MiB pair: whole-array temporaries per bit."""
    kernels = compiled_kernels() if path == "compiled" else None
    rng = np.random.default_rng(0)
    a = rng.integers(0, 65536, 2048 * 2048, dtype=np.uint16)
    b = a // 2 + rng.integers(0, 30000, a.size, dtype=np.uint16)
    packed_rank_sums(a[:1000], b[:1000], kernels, spearman=True, kendall=True)  # cache loads
    peak = traced_peak(lambda: packed_rank_sums(a, b, kernels, spearman=True, kendall=True))
    assert peak <= 2 * (a.nbytes + b.nbytes)


@settings(max_examples=80, deadline=None)
@given(
    dtypes=st.sampled_from(list(itertools.product([np.uint8, np.int32, np.uint64], repeat=2))),
    n=st.integers(0, 400),
    levels=st.sampled_from([2, 30, 300, 70_000]),
    seed=st.integers(0, 2**32 - 1),
)
def test_joint_cells_equal_unique_pairs(dtypes, n, levels, seed):
    """Sorted cells (code0, code1, count) as np.unique over the pairs of codes, for codes of
    one, two and four bytes in either channel, few cells (copied out of the keys) or many
    (views of them), and the dense histogram."""
    rng = np.random.default_rng(seed)
    pair = []
    for dtype in dtypes:
        info = np.iinfo(dtype)
        grid = rng.integers(info.min, info.max, min(levels, info.max - info.min), dtype=dtype)
        pair.append(rng.choice(grid, n) if n else np.zeros(0, dtype))
    c0, c1 = channel_codes(pair[0]), channel_codes(pair[1])
    cells = joint_cells(c0, c1)
    both = np.stack([c0.codes.astype(np.int64), c1.codes.astype(np.int64)], axis=1)
    expected, counts = np.unique(both.reshape(-1, 2), axis=0, return_counts=True)
    np.testing.assert_array_equal(cells.code0, expected[:, 0])
    np.testing.assert_array_equal(cells.code1, expected[:, 1])
    np.testing.assert_array_equal(cells.counts, counts)


def test_wide_channel_codes_take_at_most_three_words_per_value():
    """Codes, values and counts of a uint32 channel with about one value per pixel: 4 + 4 + 4
    bytes per pixel (the counts were int64: 16 bytes in all)."""
    values = np.random.default_rng(0).integers(0, 2**32 - 1, 1 << 16, dtype=np.uint32)
    c = channel_codes(values)
    assert c.codes.nbytes + c.exact.nbytes + c.counts.nbytes <= 12 * values.size


@pytest.mark.traced
def test_joint_cells_and_kendall_of_wide_channels_stay_small():
    """Two uint32 channels of 2**20 pixels, about one cell per pixel: the joint cells peak at the
    8-byte keys plus the counts and run starts (13 bytes per pixel and a chunk; a separate copy
    of the cells and of both codes took about 20), Kendall's Fenwick count at 8 bytes per value
    of channel 1 (int64: 16) and a chunk."""
    compiled_kernels()
    rng = np.random.default_rng(1)
    n = 1 << 20
    a = rng.integers(0, 2**32 - 1, n, dtype=np.uint32)
    b = a // 2 + rng.integers(0, 2**30, n, dtype=np.uint32)
    c0, c1 = channel_codes(a), channel_codes(b)
    cells = joint_cells(c0, c1)
    tau = kendall_tau_b(c0, c1, cells)  # the kernel's first call for these dtypes (cache load)
    del cells
    built = []
    # and 2**16-pixel chunks
    assert traced_peak(lambda: built.append(joint_cells(c0, c1))) <= 15 * n
    assert traced_peak(lambda: kendall_tau_b(c0, c1, built[0])) <= 8 * c1.n_codes + (2 << 20)
    assert kendall_tau_b(c0, c1, built[0]) == tau


@pytest.mark.parametrize("dtype", [np.int32, np.uint16, np.float64])
def test_constant_channel_with_an_8_bit_channel(dtype):
    """One value against the 256 codes of an 8-bit channel: 256 joint cells, whose packed key
    (code0 * 256 + code1) was built in uint8 and overflowed (OverflowError from coefficients)."""
    a = np.full((4, 4), 5, dtype)
    b = np.arange(16, dtype=np.uint8).reshape(4, 4)
    with pytest.warns(ColocalizeWarning, match="constant"):
        result = coefficients(a, b)
    assert np.isnan(result.kendall_tau)
    assert np.isnan(result.spearman)
    assert result.m2 == 1.0


@pytest.mark.parametrize("density", [0.0, 1e-5, 0.3, 1.0])
def test_run_lengths_across_chunks_in_the_narrowest_dtype(density):
    """Run lengths from the run starts over 200 000 elements (several 2**16 chunks, runs across
    their borders), against np.diff of the starts, in the narrowest dtype for the longest."""
    rng = np.random.default_rng(int(density * 10))
    first = rng.random(200_000) < density
    first[0] = True
    starts = np.flatnonzero(first)
    expected = np.diff(np.append(starts, first.size))
    lengths = _ranks._run_lengths(first)
    np.testing.assert_array_equal(lengths, expected)
    assert lengths.dtype.itemsize == (
        1 if expected.max() < 256 else 2 if expected.max() < 65536 else 4
    )


def test_full_range_16_bit_channel_is_its_own_codes():
    """Every value from 0 to the maximum present: the codes are the values (no copy)."""
    values = np.random.default_rng(0).permutation(np.tile(np.arange(50_000, dtype=np.uint16), 3))
    c = channel_codes(values)
    uniq, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    assert np.shares_memory(c.codes, values)
    np.testing.assert_array_equal(c.codes, inverse)
    np.testing.assert_array_equal(c.exact, uniq)
    np.testing.assert_array_equal(c.counts, counts)
    values[0] = 50_001  # one value missing (50 000): coded by the look-up table
    c = channel_codes(values)
    assert not np.shares_memory(c.codes, values)
    np.testing.assert_array_equal(c.codes, np.unique(values, return_inverse=True)[1])
