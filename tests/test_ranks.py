"""Rank coefficients (Spearman, Kendall's tau-b): the packed-key paths (compiled and numpy)
against the numpy path by codes + joint cells (the previous implementation), SciPy and a
brute-force count, on random data of every supported dtype with ties, masks and extreme
values."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats

from colocalize import ColocalizeWarning, _compiled, _ranks, coefficients
from colocalize._ranks import (
    _inversions,
    _packed_keys,
    _score_table,
    channel_codes,
    joint_cells,
    kendall_tau_b,
    packed_rank_sums,
)
from conftest import compiled_kernels, require_module

SMALL_INTS = [np.uint8, np.int8, np.uint16, np.int16]
EVERY_DTYPE = [
    np.uint8,
    np.uint16,
    np.uint32,
    np.uint64,
    np.int8,
    np.int16,
    np.int32,
    np.int64,
    np.float32,
    np.float64,
    bool,
]


@pytest.fixture
def compiled(monkeypatch):
    """The compiled kernels, used even for small test images (skips without numba, except in
    CI)."""
    require_module("numba", "the 'fast' extra")
    monkeypatch.delenv("COLOCALIZE_NUMBA", raising=False)
    monkeypatch.setattr(_compiled, "MIN_PIXELS", 0)
    kernels = _compiled.kernels(1)
    assert kernels is not None
    return kernels


@pytest.fixture(params=["compiled", "numpy"])
def kernels(request):
    """Each packed-key path: the compiled kernels (skips without numba), or None (numpy)."""
    return request.getfixturevalue("compiled") if request.param == "compiled" else None


def _pair(rng, dtype, n, *, levels=None):
    """Two correlated channels of ``dtype`` over its whole range (or ``levels`` values), with
    ties, zeros and the dtype's extremes."""
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        a = rng.random(n) < 0.4
        return a, a ^ (rng.random(n) < 0.3)
    if dtype.kind == "f":
        base = rng.choice(rng.normal(size=levels or n), n)
        a = base.astype(dtype)
        return a, (0.5 * base + rng.choice(rng.normal(size=levels or n), n)).astype(dtype)
    info = np.iinfo(dtype)
    low, high = int(info.min), int(info.max)
    if levels is not None:
        grid = np.array([low + (high - low) * k // (levels - 1) for k in range(levels)], object)
        a = rng.choice(grid, n)
        b = np.where(rng.random(n) < 0.5, a, rng.choice(grid, n))
    else:
        a = rng.integers(low, high, n, endpoint=True, dtype=dtype).astype(object)
        b = (a // 2 + rng.integers(low // 2, high // 2, n, endpoint=True).astype(object)) // 1
        b = np.clip(b, low, high)
    a[: min(3, n)] = [low, high, 0][: min(3, n)]
    b[: min(3, n)] = [high, low, 0][: min(3, n)]
    return np.array(a.tolist(), dtype=dtype), np.array(b.tolist(), dtype=dtype)


def _numpy_rank_sums(a, b):
    """The numpy path (the previous implementation): codes, joint cells, average ranks."""
    ca, cb = channel_codes(a), channel_codes(b)
    centre = (a.size + 1) / 2.0
    ru = ca.average_rank[ca.codes] - centre
    rv = cb.average_rank[cb.codes] - centre
    return {
        "ruu": float(np.dot(ru, ru)),
        "rvv": float(np.dot(rv, rv)),
        "ruv": float(np.dot(ru, rv)),
        "kendall": kendall_tau_b(ca, cb, joint_cells(ca, cb)),
    }


def _assert_sums_equal(fast, slow):
    assert fast.keys() == slow.keys()
    for key, value in slow.items():
        scale = max(abs(slow.get("ruu", 1.0)), 1.0) if key != "kendall" else 1.0
        assert fast[key] == pytest.approx(value, rel=1e-12, abs=1e-12 * scale, nan_ok=True), key


# --- the packed-key paths (compiled, numpy) against the codes path ---------------------------


@pytest.mark.parametrize("dtype0", SMALL_INTS)
@pytest.mark.parametrize("dtype1", SMALL_INTS)
@pytest.mark.parametrize("levels", [None, 2, 7, 300])
def test_packed_rank_sums_equal_the_numpy_path(kernels, dtype0, dtype1, levels):
    rng = np.random.default_rng([SMALL_INTS.index(dtype0), SMALL_INTS.index(dtype1), levels or 0])
    a, _ = _pair(rng, dtype0, 3000, levels=levels)
    _, b = _pair(rng, dtype1, 3000, levels=levels)
    b = np.where(rng.random(3000) < 0.5, a.astype(np.int64) % 100, b).astype(dtype1)
    fast = packed_rank_sums(a, b, kernels, spearman=True, kendall=True)
    _assert_sums_equal(fast, _numpy_rank_sums(a, b))
    spearman = fast["ruv"] / np.sqrt(fast["ruu"] * fast["rvv"])
    assert spearman == pytest.approx(stats.spearmanr(a, b).statistic, rel=1e-12, abs=1e-14)
    tau = stats.kendalltau(a, b, variant="b").statistic
    assert fast["kendall"] == pytest.approx(tau, rel=1e-12, abs=1e-14)


def test_packed_rank_sums_of_full_range_16_bit_data(kernels):
    """Every digit of the three-level count is used (values over all of 0..65535)."""
    rng = np.random.default_rng(7)
    a = rng.integers(0, 65536, 200_000).astype(np.uint16)
    b = (a // 2 + rng.integers(0, 30000, a.size)).astype(np.uint16)
    fast = packed_rank_sums(a, b, kernels, spearman=True, kendall=True)
    _assert_sums_equal(fast, _numpy_rank_sums(a, b))
    tau = stats.kendalltau(a, b, variant="b").statistic
    assert fast["kendall"] == pytest.approx(tau, rel=1e-12, abs=1e-14)


@pytest.mark.parametrize(("spearman", "kendall"), [(True, False), (False, True)])
def test_packed_rank_sums_computes_what_is_asked(kernels, spearman, kendall):
    rng = np.random.default_rng(3)
    a, b = _pair(rng, np.uint16, 500, levels=40)
    fast = packed_rank_sums(a, b, kernels, spearman=spearman, kendall=kendall)
    slow = _numpy_rank_sums(a, b)
    # the rank spreads ruu and rvv always (they tell a constant channel), ruv with Spearman
    expected = (
        {"ruu", "rvv"} | ({"ruv"} if spearman else set()) | ({"kendall"} if kendall else set())
    )
    _assert_sums_equal(fast, {k: slow[k] for k in expected})


@pytest.mark.parametrize("n", [0, 1, 2, 5])
def test_packed_rank_sums_of_tiny_and_constant_channels(kernels, n):
    a = np.full(n, 7, dtype=np.uint16)
    b = np.arange(n, dtype=np.int8)
    with np.errstate(invalid="ignore"):
        fast = packed_rank_sums(a, b, kernels, spearman=True, kendall=True)
    assert np.isnan(fast["kendall"])
    assert fast["ruu"] == 0.0
    if n:
        assert fast["rvv"] == pytest.approx(n * (n * n - 1) / 12)


@pytest.mark.parametrize("dtype0", SMALL_INTS)
@pytest.mark.parametrize("dtype1", SMALL_INTS)
def test_packed_keys_order_pixels_by_value(dtype0, dtype1):
    """Signed values keep their order (the sign bit is flipped), also at the dtype limits."""
    rng = np.random.default_rng(5)
    a, _ = _pair(rng, dtype0, 400)
    _, b = _pair(rng, dtype1, 400)
    key, shift = _packed_keys(a, b)
    assert np.all(key[:-1] <= key[1:])
    order = np.lexsort((b, a))
    x = (key >> shift).astype(np.int64)
    y = (key & ((1 << shift) - 1)).astype(np.int64)
    np.testing.assert_array_equal(np.argsort(np.argsort(x, kind="stable")), np.arange(400))
    np.testing.assert_array_equal(x - x.min(), a[order].astype(np.int64) - int(a.min()))
    np.testing.assert_array_equal(y - y.min(), b[order].astype(np.int64) - int(b.min()))


def _brute_force(x, y):
    """n_d, n_x and n_xy of Knight's method by looking at every pair."""
    discordant = tied_x = tied_xy = 0
    for i, j in itertools.combinations(range(x.size), 2):
        tied_x += x[i] == x[j]
        tied_xy += (x[i] == x[j]) and (y[i] == y[j])
        discordant += (x[i] - x[j]) * (y[i] - y[j]) < 0
    return discordant, tied_x, tied_xy


@settings(max_examples=80, deadline=None)
@given(
    y=arrays(np.uint16, st.integers(0, 70), elements=st.integers(0, 65535)),
    low=st.sampled_from([1, 2, 3, 256, 65536]),
)
def test_inversions_equal_brute_force(y, low):
    """The numpy radix count of n_d, with heavy ties (values reduced modulo ``low``)."""
    y = y % low if low < 65536 else y
    before = y.copy()
    expected = sum(int(y[i] > y[j]) for i, j in itertools.combinations(range(y.size), 2))
    assert _inversions(y, np.bincount(y, minlength=65536), 16) == expected
    np.testing.assert_array_equal(y, before)  # the caller's array is left alone
    small = (y % 256).astype(np.uint8)
    expected = sum(int(small[i] > small[j]) for i, j in itertools.combinations(range(y.size), 2))
    assert _inversions(small, np.bincount(small, minlength=256), 8) == expected


@settings(max_examples=60, deadline=None)
@given(
    pixels=arrays(np.int16, st.integers(0, 40), elements=st.integers(-32768, 32767)),
    other=st.lists(st.integers(-128, 127), min_size=40, max_size=40),
    repeat=st.integers(1, 3),
)
def test_numpy_packed_kendall_equals_brute_force(pixels, other, repeat):
    """Signed 16- and 8-bit channels with runs of equal keys and ties in y: Knight's score from
    the numpy packed path, against every pair."""
    x = np.repeat(pixels, repeat)
    y = np.repeat(np.array(other[: pixels.size], dtype=np.int8), repeat)
    y[::3] = y[0] if y.size else 0
    n = x.size
    discordant, tied_x, tied_xy = _brute_force(x.astype(int), y.astype(int))
    tied_y = sum(int(y[i] == y[j]) for i, j in itertools.combinations(range(n), 2))
    n0 = n * (n - 1) // 2
    score = n0 - tied_x - tied_y + tied_xy - 2 * discordant
    denominator = np.sqrt(float(n0 - tied_x) * float(n0 - tied_y))
    tau = packed_rank_sums(x, y, None, spearman=False, kendall=True)["kendall"]
    if n < 2 or denominator == 0:
        assert np.isnan(tau)
    else:
        assert tau == score / denominator


@pytest.mark.parametrize("dtype0", SMALL_INTS)
@pytest.mark.parametrize("dtype1", SMALL_INTS)
@pytest.mark.parametrize("levels", [None, 3, 300])
def test_numpy_packed_path_equals_the_compiled_one(compiled, dtype0, dtype1, levels):
    """Same integer counts (n_d, ties) as the compiled kernels, hence the same tau-b bit for bit;
    Spearman's sums to 1e-12."""
    rng = np.random.default_rng([SMALL_INTS.index(dtype0), SMALL_INTS.index(dtype1), levels or 1])
    a, _ = _pair(rng, dtype0, 20_000, levels=levels)
    _, b = _pair(rng, dtype1, 20_000, levels=levels)
    slow = packed_rank_sums(a, b, compiled, spearman=True, kendall=True)
    fast = packed_rank_sums(a, b, None, spearman=True, kendall=True)
    assert fast["kendall"] == slow["kendall"]
    _assert_sums_equal(fast, slow)


@pytest.mark.parametrize("seed", range(3))
def test_compiled_kendall_score_equals_the_dense_table(seed):
    """The Fenwick count over joint cells (codes beyond 16 bits) against the blocked table."""
    compiled = compiled_kernels()
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 300, 3000).astype(np.uint16)
    b = (a // 3 + rng.integers(0, 200, 3000)).astype(np.uint16)
    ca, cb = channel_codes(a), channel_codes(b)
    cells = joint_cells(ca, cb)
    k0, k1 = ca.n_codes, cb.n_codes
    tree, column = np.zeros(k1 + 1, np.int32), np.zeros(k1, np.int32)
    fenwick = compiled.kendall_score(cells.code0, cells.code1, cells.counts, tree, column)
    assert fenwick == _score_table(cells, k0, k1)


# --- coefficients(): compiled and numpy paths, every dtype, against SciPy ---------------------


@pytest.mark.parametrize("dtype", EVERY_DTYPE)
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("ranks_only", [False, True])
def test_rank_coefficients_equal_scipy_on_both_paths(monkeypatch, dtype, masked, ranks_only):
    """Every supported dtype, with ties and a mask: the compiled path (packed keys for 8/16-bit
    integers) and the numpy path give SciPy's values, and each other's to 1e-12."""
    require_module("numba", "the 'fast' extra")
    rng = np.random.default_rng(11)
    a, b = _pair(rng, dtype, 2500, levels=None if dtype in (np.uint8, np.int8) else 900)
    if np.dtype(dtype).kind in "if":  # intensities are non-negative: many ties at 0
        a, b = np.maximum(a, 0), np.maximum(b, 0)
    a, b = a.reshape(50, 50), b.reshape(50, 50)
    mask = rng.random((50, 50)) < 0.7 if masked else None
    selected = np.ones((50, 50), bool) if mask is None else mask
    measures = ("spearman", "kendall") if ranks_only else None
    results = {}
    for path in ("compiled", "numpy", "numpy codes"):
        if path == "compiled":
            monkeypatch.setattr(_compiled, "MIN_PIXELS", 0)
            assert _compiled.kernels(1) is not None  # loaded: the fused pass runs
        else:
            monkeypatch.setenv("COLOCALIZE_NUMBA", "0")
        if path == "numpy codes":  # never the packed keys
            monkeypatch.setattr(_ranks, "_PACKED_CELLS_PER_PIXEL", 1 << 62)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ColocalizeWarning)
            results[path] = coefficients(a, b, mask=mask, measures=measures)
    af, bf = a[selected].astype(np.float64), b[selected].astype(np.float64)
    spearman = stats.spearmanr(af, bf).statistic
    tau = stats.kendalltau(af, bf, variant="b").statistic
    for result in results.values():
        assert result.spearman == pytest.approx(spearman, rel=1e-12, abs=1e-14)
        assert result.kendall_tau == pytest.approx(tau, rel=1e-12, abs=1e-14)
    fast = results["compiled"]
    for slow in (results["numpy"], results["numpy codes"]):
        assert fast.spearman == pytest.approx(slow.spearman, rel=1e-12, abs=1e-14)
        assert fast.kendall_tau == pytest.approx(slow.kendall_tau, rel=1e-12, abs=1e-14)


def test_compiled_path_skips_the_channel_codes(monkeypatch):
    """8/16-bit pairs with the kernels rank by the packed keys: no per-channel codes."""
    require_module("numba", "the 'fast' extra")
    monkeypatch.setattr(_compiled, "MIN_PIXELS", 0)
    assert _compiled.kernels(1) is not None
    from colocalize import _coefficients

    def refuse(values):
        raise AssertionError("channel codes computed")

    monkeypatch.setattr(_coefficients, "channel_codes", refuse)
    rng = np.random.default_rng(2)
    a, b = _pair(rng, np.uint16, 900)
    c = coefficients(a.reshape(30, 30), b.reshape(30, 30), measures=("spearman", "kendall"))
    assert c.kendall_tau == pytest.approx(stats.kendalltau(a, b).statistic, rel=1e-12)


@pytest.mark.parametrize("levels", [None, 40])
def test_numpy_path_chooses_packed_keys_for_many_levels(monkeypatch, levels):
    """Without the kernels, 16-bit pairs with many levels rank by the packed keys (not the joint
    cells' Kendall, which beyond its dense table loads numba or SciPy: 0.5-0.7 s of a one-shot
    run); pairs with few levels keep the dense table (faster for them)."""
    monkeypatch.setenv("COLOCALIZE_NUMBA", "0")
    from colocalize import _coefficients

    coded = []

    def counting(*args):
        coded.append(args)
        return kendall_tau_b(*args)

    monkeypatch.setattr(_coefficients, "kendall_tau_b", counting)
    rng = np.random.default_rng(4)
    a, b = _pair(rng, np.uint16, 10_000, levels=levels)
    c = coefficients(a.reshape(100, 100), b.reshape(100, 100), measures=("spearman", "kendall"))
    assert c.kendall_tau == pytest.approx(stats.kendalltau(a, b).statistic, rel=1e-12)
    assert c.spearman == pytest.approx(stats.spearmanr(a, b).statistic, rel=1e-12)
    assert bool(coded) == (levels is not None)


def test_calls_with_ranks_earn_the_kernels_load(monkeypatch):
    """The numpy time of 8/16-bit calls with rank coefficients counts towards loading the
    kernels (it did not: a process asking for every coefficient stayed on numpy for good)."""
    require_module("numba", "the 'fast' extra")
    monkeypatch.delenv("COLOCALIZE_NUMBA", raising=False)
    monkeypatch.setattr(_compiled, "MIN_PIXELS", 0)
    monkeypatch.setattr(_compiled, "_cache", {})
    monkeypatch.setattr(_compiled, "_spent", [0.0])
    monkeypatch.setattr(_compiled, "LOAD_SECONDS", 1e-9)  # one numpy call pays for the load
    rng = np.random.default_rng(8)
    a, b = _pair(rng, np.uint16, 2000, levels=500)
    first = coefficients(a.reshape(40, 50), b.reshape(40, 50))
    assert "numba" not in _compiled._cache  # the first call ran on numpy
    assert _compiled._spent[0] > 0
    assert _compiled.loaded_kernels(a.size) is not None  # it has earned the load
    second = coefficients(a.reshape(40, 50), b.reshape(40, 50))
    assert second.spearman == pytest.approx(first.spearman, rel=1e-12)
    assert second.kendall_tau == pytest.approx(first.kendall_tau, rel=1e-12)


@pytest.mark.parametrize("dtype", [">u2", ">i2", "<u2"])
def test_byte_order_does_not_change_the_coefficients(monkeypatch, dtype):
    """Big-endian 16-bit images (as read from some TIFF files) crashed the compiled pass
    (numba's TypingError for a '>u2' array); they now take the numpy path, same values."""
    require_module("numba", "the 'fast' extra")
    monkeypatch.setattr(_compiled, "MIN_PIXELS", 0)
    assert _compiled.kernels(1) is not None
    rng = np.random.default_rng(6)
    a, b = _pair(rng, np.dtype(dtype).newbyteorder("="), 1200, levels=300)
    a, b = np.maximum(a, 0).reshape(30, 40), np.maximum(b, 0).reshape(30, 40)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ColocalizeWarning)
        native = coefficients(a, b, thresholds=(1000, 2000))
        swapped = coefficients(a.astype(dtype), b.astype(dtype), thresholds=(1000, 2000))
    for field in ("pearson", "spearman", "kendall_tau", "m1", "tm1", "icq"):
        expected = getattr(native, field)
        assert getattr(swapped, field) == pytest.approx(expected, rel=1e-12, abs=1e-14), field


@pytest.mark.parametrize(
    "dtype", [np.int32, np.uint32, np.int64, np.uint64, np.float32, np.float64]
)
@pytest.mark.parametrize("n", [0, 1, 7, 5000])
def test_sorted_channel_codes_equal_unique(dtype, n):
    """The argsort coding of channels with a wide range equals np.unique's (values, inverse,
    counts), ties and extreme values included."""
    rng = np.random.default_rng(n)
    if np.dtype(dtype).kind == "f":
        values = rng.normal(0, 1e6, n).astype(dtype)
    else:
        info = np.iinfo(dtype)
        values = rng.integers(info.min, info.max, n, dtype=dtype, endpoint=True)
    values[rng.random(n) < 0.3] = values[:1] if n else 0  # ties
    c = channel_codes(values)
    uniq, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    np.testing.assert_array_equal(c.exact, uniq)
    np.testing.assert_array_equal(c.counts, counts)
    np.testing.assert_array_equal(c.codes, inverse.ravel())
    assert c.counts.dtype.kind == "u"  # no int64 counts: 8 bytes per value
    assert c.counts.dtype.itemsize <= (1 if n < 256 else 4)
    assert c.codes.dtype.itemsize <= (1 if uniq.size <= 256 else 2 if uniq.size <= 65536 else 4)
