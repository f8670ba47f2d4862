"""Issue 14: the rank coefficients of wide integer channels (32/64-bit, up to one value per
pixel) in bounded memory. The table engine keeps no per-pixel codes after a pair's joint cells
(two 32-bit channels have none at all: :func:`wide_cells`), takes each chunk's average ranks
from narrow counts and runs Kendall before the sides' tables exist; checked by numpy's traced
allocations, and against the float64 rank tables they replace."""

from __future__ import annotations

import warnings
from unittest import mock

import numpy as np
import pytest

from colocalize import _compiled, coefficient_table, coefficients
from colocalize._ranks import RunningRanks, channel_codes, joint_cells, kendall_tau_b
from conftest import traced_peak


def _image(dtype: type, size: int) -> np.ndarray:
    """Three random channels with about one distinct value per pixel."""
    high = min(int(np.iinfo(dtype).max), 2**40)
    return np.random.default_rng(0).integers(0, high, (3, size, size), dtype=dtype)


def _table_peak(image: np.ndarray) -> int:
    """The peak of the traced allocations of a thresholded ``coefficient_table`` with every
    coefficient, after one untraced call (the kernels' first calls are a fixed cost)."""
    thresholds = [float(channel.mean()) for channel in image]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        coefficient_table(image, channel_axis=0, thresholds=thresholds)
        return traced_peak(lambda: coefficient_table(image, channel_axis=0, thresholds=thresholds))


# (dtype, bound as a multiple of the input), traced at 1024 x 1024 (where the chunk loop's few
# MiB of temporaries are a larger share than at 2048 x 2048). 32-bit: 2.12x since the pair's
# cells come from one packed key per pixel without per-pixel codes (wide_cells), the second
# channel's ranks from its tied values alone and Kendall's Fenwick tree counts blocks of 64
# codes (2.76x before, 3.1x and 5.7x before that); 1.5x of peak RSS at 2048 x 2048 (2.0-2.3x
# before). 64-bit (values up to 2**40: wide_cells too, the first channel coded over the cells):
# 1.56x (1.71x before, 1.88x and 3.3x before that); 1.2x of peak RSS at 2048 x 2048 (1.5-1.7x).
BOUNDS = [(np.int64, 1.65), (np.uint64, 1.65), (np.uint32, 2.3), (np.int32, 2.3)]


@pytest.mark.traced
@pytest.mark.parametrize(("dtype", "bound"), BOUNDS)
def test_wide_integer_ranks_table_memory(dtype, bound):
    """Three 1024 x 1024 channels, three pairs with Spearman and Kendall: the codes of each
    pair only, and no float64 rank table per value."""
    if _compiled.kernels(_compiled.MIN_PIXELS) is None:
        pytest.skip("the bound is for the compiled Kendall kernel (numba, the 'fast' extra)")
    image = _image(dtype, 1024)
    assert _table_peak(image) <= bound * image.nbytes


@pytest.mark.parametrize("dtype", [np.uint32, np.int64, np.float64])
@pytest.mark.parametrize("high", [5000, 2**32])
def test_chunk_ranks_equal_rank_tables(dtype, high):
    """The average ranks of :class:`RankLookup` (cumulative counts when many values are tied,
    else the tied values alone) are the rank table's numbers exactly, and Kendall's tau-b is
    the same without the per-pixel codes (with and without the kernels)."""
    rng = np.random.default_rng(1)
    a = rng.integers(0, high, 20_000).astype(dtype)
    a[::50] = a[1]  # some ties
    b = (a // 3 + rng.integers(0, 900, a.size)).astype(dtype)
    ca, cb = channel_codes(a), channel_codes(b)
    index = ca.codes[::7]
    lookup = ca.rank_lookup()
    assert (lookup.cumulative is None) == (high > 5000)
    np.testing.assert_array_equal(lookup.ranks(index), ca.average_rank[index])
    cells = joint_cells(ca, cb)
    full = kendall_tau_b(ca, cb, cells)
    assert kendall_tau_b(ca.without_pixels(), cb.without_pixels(), cells) == full
    with mock.patch.object(_compiled, "kernels", return_value=None):
        fallback = kendall_tau_b(ca.without_pixels(), cb.without_pixels(), cells)
    assert fallback == pytest.approx(full, rel=1e-12)


@pytest.mark.parametrize("dtype", [np.uint32, np.float64])
def test_running_ranks_equal_rank_tables(dtype):
    """The running ranks of sorted codes are the rank table's numbers exactly, in order (chunk
    ends inside runs of equal codes), after a restart, and for a chunk read out of order."""
    rng = np.random.default_rng(2)
    values = rng.integers(0, 3000, 20_000).astype(dtype)
    codes = channel_codes(values)
    index = np.sort(codes.codes)
    expected = codes.average_rank[index]
    running = RunningRanks(codes.counts, index)
    for _ in range(2):  # a second pass starts the running sum again
        for start in range(0, index.size, 777):
            part = slice(start, min(start + 777, index.size))
            np.testing.assert_array_equal(running.ranks(part), expected[part])
    part = slice(9000, 9100)
    np.testing.assert_array_equal(running.ranks(part), expected[part])


@pytest.mark.traced
def test_numpy_ranks_of_a_16_bit_pair_memory(monkeypatch):
    """A many-valued 16-bit pair with every coefficient on numpy (a fresh process's first call,
    before the kernels load, or without numba) within 2x the pair: 1.3x here, 3.1x before
    (bincount's int64 copy of a whole channel for the level count, joint cells about as many as
    the pixels, the Pearson subsets' selections kept between their two passes)."""
    monkeypatch.setenv("COLOCALIZE_NUMBA", "0")
    rng = np.random.default_rng(0)
    a = rng.integers(0, 65536, (2048, 2048), dtype=np.uint16)
    b = a // 2 + rng.integers(0, 30000, a.shape, dtype=np.uint16)
    thresholds = (float(a.mean()), float(b.mean()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        coefficients(a[:64, :64], b[:64, :64], thresholds=thresholds)  # the lazy imports
        results = []
        peak = traced_peak(lambda: results.append(coefficients(a, b, thresholds=thresholds)))
    result = results[0]
    assert np.isfinite([result.spearman, result.kendall_tau, result.pearson_above]).all()
    assert peak <= 2 * (a.nbytes + b.nbytes)
