"""Issue 14: the ranks of two wide integer channels (value ranges beyond 2**22) from
:func:`wide_cells`: one packed key per pixel, no per-pixel codes, the first channel's values
as its codes. Checked against :func:`channel_codes` + :func:`joint_cells` (the path before),
against SciPy, and the pieces (:class:`RankLookup`, running ranks of value runs, the blocked
Fenwick count) against the rank tables they replace."""

from __future__ import annotations

import warnings
from unittest import mock

import numpy as np
import pytest
from scipy import stats

from colocalize import _coefficients, _compiled, _ranks
from colocalize._coefficients import _CoefficientEngine
from colocalize._ranks import (
    RankLookup,
    channel_codes,
    joint_cells,
    kendall_tau_b,
    wide_cells,
)
from conftest import compiled_kernels

WIDE = [np.uint32, np.int32, np.uint64, np.int64]
# about the chunk edges of the passes (CHUNK = 2**16) and a few chunks
SIZES = [_ranks.CHUNK - 1, _ranks.CHUNK, _ranks.CHUNK + 1, 3 * _ranks.CHUNK + 7]


def _pair(dtype: type, n: int, kind: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two correlated wide channels: ``"2**40"`` values up to 2**40 (or the dtype's maximum),
    ``"negative"`` values from about -2**31 (signed dtypes), ``"ties"`` a few thousand
    values spread over 2**31 with a third of the pixels on one of them."""
    rng = np.random.default_rng(seed)
    info = np.iinfo(dtype)
    low = max(int(info.min), -(2**31)) if kind == "negative" else 0
    high = min(int(info.max), 2**40 if kind != "ties" else 2**31 - 1)
    a = rng.integers(low, high, n, dtype=dtype, endpoint=True)
    b = rng.integers(low, high, n, dtype=dtype, endpoint=True)
    if kind == "ties":
        pool = rng.integers(low, high, 3000, dtype=dtype, endpoint=True)
        a, b = pool[rng.integers(0, pool.size, n)], pool[rng.integers(0, pool.size, n)]
        a[: n // 3] = a[0]
        b[-5000:] = b[-1]
    b = np.where(rng.random(n) < 0.3, a, b).astype(dtype)  # some pixels equal: correlated
    return a, b


@pytest.mark.parametrize("dtype", WIDE)
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("kind", ["2**40", "negative", "ties"])
def test_wide_cells_are_the_joint_cells(dtype, n, kind):
    """The cells of :func:`wide_cells` are those of the codes' :func:`joint_cells`: code0 the
    values less the minimum (a range of at most 32 bits), else the same dense codes; the
    channels' values and counts are their codes'."""
    a, b = _pair(dtype, n, kind)
    wide = wide_cells(a, b)
    assert wide is not None
    cells, runs, codes1 = wide
    ca, cb = channel_codes(a), channel_codes(b)
    old = joint_cells(ca, cb)
    if int(a.max()) - int(a.min()) < 2**32:
        assert isinstance(runs, _ranks.ValueRuns)
        relative = _ranks.subtract_exact(ca.exact, int(a.min()))
        np.testing.assert_array_equal(cells.code0, relative[old.code0])
        np.testing.assert_array_equal(runs.exact[cells.code0], ca.exact[old.code0])
    else:  # coded densely over the cells
        assert isinstance(runs, _ranks.ChannelCodes)
        np.testing.assert_array_equal(cells.code0, old.code0)
        np.testing.assert_array_equal(runs.exact, ca.exact)
    np.testing.assert_array_equal(cells.code1, old.code1)
    np.testing.assert_array_equal(cells.counts, old.counts)
    np.testing.assert_array_equal(codes1.exact, cb.exact)
    np.testing.assert_array_equal(codes1.counts, cb.counts)
    np.testing.assert_array_equal(runs.counts, ca.counts)
    assert runs.n_pixels == n
    assert runs.tied_pairs == ca.tied_pairs
    # Kendall's n_c - n_d exactly as the codes' (tau-b the same float): by the blocked table
    # (few values), the kernels or SciPy's merge sort (to 1e-12)
    assert kendall_tau_b(runs, codes1, cells) == kendall_tau_b(ca, cb, old)
    with mock.patch.object(_compiled, "kernels", return_value=None):
        assert kendall_tau_b(runs, codes1, cells) == pytest.approx(
            kendall_tau_b(ca, cb, old), rel=1e-12, abs=1e-15
        )
    compiled = _compiled.kernels(_compiled.MIN_PIXELS)
    if compiled is not None:  # the compiled count at any size
        with mock.patch.object(_compiled, "kernels", return_value=compiled):
            assert kendall_tau_b(runs, codes1, cells) == kendall_tau_b(ca, cb, old)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (np.arange(10**5, dtype=np.int64) * 2**40, np.arange(10**5, dtype=np.int64) << 23),
        (np.array([-(2**63), 2**63 - 1] * 5000), np.arange(10**4, dtype=np.int64) << 23),
        (np.arange(10**5, dtype=np.uint32), np.arange(10**5, dtype=np.uint32) << 10),
        (np.arange(10**5, dtype=np.float64) * 1e9, np.arange(10**5, dtype=np.float64) * 1e9),
        (np.full(10**5, 2**30, np.uint32), np.arange(10**5, dtype=np.uint32) << 10),
    ],
    ids=["range and index beyond 64 bits", "full int64 range", "small range", "floats", "constant"],
)
def test_wide_cells_refuse_what_does_not_fit(a, b):
    """A value range and pixel index beyond 64 bits, a range the look-up codes take, floats:
    the codes' path."""
    assert wide_cells(a, b) is None


def _engine_pair(a, b, mask, wide: bool):
    sel = slice(None) if mask is None else mask
    engine = _CoefficientEngine([a[sel], b[sel]], ["a", "b"])
    thresholds = (float(np.median(a)), float(np.median(b)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if wide:
            return engine.pair(0, 1, thresholds)
        with mock.patch.object(_coefficients, "wide_cells", return_value=None):
            return engine.pair(0, 1, thresholds)


@pytest.mark.parametrize("dtype", WIDE)
@pytest.mark.parametrize("kind", ["2**40", "negative", "ties"])
@pytest.mark.parametrize("masked", [False, True])
def test_engine_wide_path_equals_the_codes_path(dtype, kind, masked):
    """Every coefficient of a wide pair through :func:`wide_cells` equals the codes' path
    (Kendall exactly, the rest to 1e-12), and the ranks equal SciPy's."""
    n = 2 * _ranks.CHUNK + 3
    a, b = _pair(dtype, n, kind, seed=3)
    mask = np.random.default_rng(4).random(n) < 0.7 if masked else None
    returned = []

    def spy(x, y):
        returned.append(wide_cells(x, y))
        return returned[-1]

    with mock.patch.object(_coefficients, "wide_cells", spy):
        new = _engine_pair(a, b, mask, wide=True)
    assert len(returned) == 1
    assert returned[0] is not None  # the wide path ran
    old = _engine_pair(a, b, mask, wide=False)
    assert new.kendall_tau == old.kendall_tau
    for field in ("spearman", "pearson", "pearson_below", "pearson_above", "m1", "m2", "icq"):
        assert getattr(new, field) == pytest.approx(getattr(old, field), rel=1e-12, abs=1e-14)
    x, y = (a, b) if mask is None else (a[mask], b[mask])
    assert new.spearman == pytest.approx(stats.spearmanr(x, y).statistic, rel=1e-12)
    assert new.kendall_tau == pytest.approx(stats.kendalltau(x, y).statistic, rel=1e-12)


def test_engine_takes_the_wide_path_for_32_bit_pairs():
    """The engine builds a 32-bit pair's cells by :func:`wide_cells` (no channel codes)."""
    a, b = _pair(np.uint32, 5000, "2**40")
    engine = _CoefficientEngine([a, b], ["a", "b"])
    with mock.patch.object(_coefficients, "channel_codes") as coded:
        result = engine.pair(0, 1, None, measures=("spearman", "kendall"))
    coded.assert_not_called()
    assert result.kendall_tau == pytest.approx(stats.kendalltau(a, b).statistic, rel=1e-12)


@pytest.mark.parametrize("tied", [0, 1, 40, 3000])
def test_rank_lookup_equals_the_rank_table(tied):
    """Average ranks from the tied values alone (few ties, codes in and out of blocks with
    ties) and from cumulative counts (many): the table's numbers exactly, any code order."""
    rng = np.random.default_rng(tied)
    counts = np.ones(100_003, dtype=np.uint8)
    counts[rng.choice(counts.size, tied, replace=False)] = rng.integers(2, 200, tied)
    codes = _ranks.ChannelCodes(np.empty(0, np.uint32), np.arange(counts.size), counts)
    lookup = RankLookup(counts, codes.n_pixels)
    assert (lookup.cumulative is None) == (tied * _ranks._SPARSE_TIES < counts.size)
    index = rng.permutation(counts.size).astype(np.uint32)
    np.testing.assert_array_equal(lookup.ranks(index), codes.average_rank[index])


@pytest.mark.parametrize("step", [777, _ranks.CHUNK])
def test_running_ranks_of_value_runs(step):
    """Channel 0's ranks from the cells' values (runs of equal values across chunk ends, a
    restart, a chunk out of order) are the rank table's numbers exactly."""
    a, b = _pair(np.uint32, 3 * _ranks.CHUNK + 11, "ties", seed=7)
    wide = wide_cells(a, b)
    assert wide is not None
    cells, runs, _ = wide
    ca = channel_codes(a)
    expected = ca.average_rank[joint_cells(ca, channel_codes(b)).code0]
    running = runs.running_ranks(cells.code0)
    m = cells.counts.size
    for _ in range(2):
        for start in range(0, m, step):
            part = slice(start, min(start + step, m))
            np.testing.assert_array_equal(running.ranks(part), expected[part])
    part = slice(m // 2, m // 2 + 100)
    np.testing.assert_array_equal(running.ranks(part), expected[part])


@pytest.mark.parametrize("seed", range(4))
def test_blocked_fenwick_kendall_equals_the_dense_table(seed):
    """The compiled count (a Fenwick tree of blocks of 64 codes plus the column counts) equals
    the blocked dense table, with k1 not a multiple of 64 and heavily tied columns."""
    compiled = compiled_kernels()
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 300, 20_000).astype(np.uint16)
    b = (a // 3 + rng.integers(0, 1000 + 37 * seed, a.size)).astype(np.uint16)
    b[::3] = b[0]
    ca, cb = channel_codes(a), channel_codes(b)
    cells = joint_cells(ca, cb)
    k1 = cb.n_codes
    tree = np.zeros((k1 >> _compiled.KENDALL_BLOCK_BITS) + 2, np.int32)
    column = np.zeros(k1, np.uint16)
    score = compiled.kendall_score(cells.code0, cells.code1, cells.counts, tree, column)
    assert score == _ranks._score_table(cells, ca.n_codes, k1)
