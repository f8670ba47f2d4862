"""Fault tests of issue 11, "wrong numbers with no warning": the coefficient engine and Costes.

Every coefficient is checked against an exact reference computed with Python integers and
fractions on small arrays (64-bit integers near the dtype limits, floats far from 1 or far from
zero), Costes' thresholds for scale invariance, degenerate and malformed input through the API
and the command line, and the engine's peak memory.
"""

from __future__ import annotations

import json
import math
import re
import sys
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import tifffile
from hypothesis import example, given, settings
from hypothesis import strategies as st

import colocalize
from colocalize import (
    ColocalizeWarning,
    _compiled,
    coefficient_table,
    coefficients,
    costes_threshold,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _faults import assert_clean_error, inputs_unchanged, run_cli, run_python

NAN = math.nan

# --------------------------------------------------------------------------------------------
# The exact reference
# --------------------------------------------------------------------------------------------


def _numbers(image: np.ndarray) -> list:
    """The pixels as Python ints (integer images) or exact Fractions (float images)."""
    values = np.asarray(image).ravel()
    if values.dtype.kind in "iu":
        return [int(v) for v in values.tolist()]
    return [Fraction(float(v)) for v in values.tolist()]


def _corr(sxy, sxx, syy) -> float:
    """sxy / sqrt(sxx syy) from exact sums, correctly rounded before the square root."""
    if sxx == 0 or syy == 0:
        return NAN
    r2 = Fraction(sxy * sxy) / (sxx * syy)
    return math.sqrt(float(r2)) * (1 if sxy >= 0 else -1)


def _pearson(x: list, y: list) -> float:
    n = len(x)
    if n < 2:
        return NAN
    mx, my = Fraction(sum(x), n), Fraction(sum(y), n)
    dx, dy = [v - mx for v in x], [v - my for v in y]
    return _corr(sum(p * q for p, q in zip(dx, dy)), sum(p * p for p in dx), sum(q * q for q in dy))


def _ranks(x: list) -> list[Fraction]:
    order = sorted(range(len(x)), key=lambda k: x[k])
    ranks = [Fraction(0)] * len(x)
    start = 0
    while start < len(order):
        stop = start
        while stop + 1 < len(order) and x[order[stop + 1]] == x[order[start]]:
            stop += 1
        for k in order[start : stop + 1]:
            ranks[k] = Fraction(start + stop + 2, 2)
        start = stop + 1
    return ranks


def _kendall(x: list, y: list) -> float:
    n = len(x)
    score = n1 = n2 = 0
    for i in range(n):
        for j in range(i + 1, n):
            sx = (x[i] > x[j]) - (x[i] < x[j])
            sy = (y[i] > y[j]) - (y[i] < y[j])
            score += sx * sy
            n1 += sx == 0
            n2 += sy == 0
    n0 = n * (n - 1) // 2
    if n0 in (n1, n2):
        return NAN
    return math.copysign(math.sqrt(float(Fraction(score * score, (n0 - n1) * (n0 - n2)))), score)


def _exact(a: np.ndarray, b: np.ndarray, thresholds=None) -> dict[str, float]:
    """Every Coefficients field from exact arithmetic (the definitions in docs/coefficients.md)."""
    x, y = _numbers(a), _numbers(b)
    n = len(x)
    sa, sb = sum(x), sum(y)
    mx, my = Fraction(sa, n), Fraction(sb, n)
    sab = sum(p * q for p, q in zip(x, y))
    saa, sbb = sum(p * p for p in x), sum(q * q for q in y)
    negative = sum(1 for p, q in zip(x, y) if (p - mx) * (q - my) < 0)
    out = {
        "pearson": _pearson(x, y),
        "overlap": _corr(sab, saa, sbb),
        "k1": float(Fraction(sab) / saa),
        "k2": float(Fraction(sab) / sbb),
        "m1": float(Fraction(sum(p for p, q in zip(x, y) if q > 0)) / sa),
        "m2": float(Fraction(sum(q for p, q in zip(x, y) if p > 0)) / sb),
        "spearman": _pearson(_ranks(x), _ranks(y)),
        "kendall_tau": _kendall(x, y),
        "icq": (n - negative) / n - 0.5,
    }
    if thresholds is not None:
        t0, t1 = thresholds
        both = [(p, q) for p, q in zip(x, y) if p > t0 and q > t1]
        own0 = sum(p for p in x if p > t0)
        own1 = sum(q for q in y if q > t1)
        below = [(p, q) for p, q in zip(x, y) if p < t0 or q < t1]
        above = [(p, q) for p, q in zip(x, y) if p > t0 or q > t1]
        out |= {
            "tm1": float(Fraction(sum(p for p, q in zip(x, y) if q >= t1 and q > 0)) / sa),
            "tm2": float(Fraction(sum(q for p, q in zip(x, y) if p >= t0 and p > 0)) / sb),
            "tm1_own": float(Fraction(sum(p for p, _ in both)) / own0) if own0 else NAN,
            "tm2_own": float(Fraction(sum(q for _, q in both)) / own1) if own1 else NAN,
            "fraction_colocalized": len(both) / n,
            "pearson_below": _pearson([p for p, _ in below], [q for _, q in below]),
            "pearson_above": _pearson([p for p, _ in above], [q for _, q in above]),
        }
    return out


def _assert_matches(result, expected: dict[str, float], rel: float = 1e-12) -> None:
    for key, value in expected.items():
        got = getattr(result, key)
        if math.isnan(value):
            assert math.isnan(got), f"{key}: {got} where the exact value is NaN"
        else:
            assert got == pytest.approx(value, rel=rel, abs=1e-14), f"{key}: {got} != {value}"


def _correlated(rng: np.random.Generator, shape=(8, 8), top=1000) -> tuple[np.ndarray, ...]:
    a = rng.integers(0, top, shape)
    b = a + rng.integers(0, top, shape)
    return a, b


def _offset(values: np.ndarray, offset: int, dtype) -> np.ndarray:
    """``values + offset`` in ``dtype``, computed exactly (the offset may exceed int64)."""
    return np.array([int(v) + offset for v in values.ravel()], dtype=dtype).reshape(values.shape)


# --------------------------------------------------------------------------------------------
# 64-bit (and every other) integer dtype: no wrap-around, exact to 1e-12
# --------------------------------------------------------------------------------------------

INTEGER_CASES = {
    "uint64 near 2**64": (np.uint64, 2**64 - 2100),
    "uint64 from 2**63": (np.uint64, 2**63),
    "int64 from 1e16": (np.int64, 10**16),
    "int64 near 2**63": (np.int64, 2**63 - 2100),
    "uint32 near 2**32": (np.uint32, 2**32 - 2100),
    "int32 near 2**31": (np.int32, 2**31 - 2100),
    "uint16": (np.uint16, 60000),
    "int16": (np.int16, 30000),
    "uint8": (np.uint8, 0),
    "int8": (np.int8, 0),
}


@pytest.mark.parametrize("case", sorted(INTEGER_CASES))
def test_integer_dtypes_match_exact_reference(case):
    dtype, offset = INTEGER_CASES[case]
    rng = np.random.default_rng(11)
    top = 60 if np.dtype(dtype).itemsize == 1 else 1000
    a, b = _correlated(rng, top=top)
    a, b = _offset(a, offset, dtype), _offset(b // 2, offset, dtype)
    t0, t1 = float(np.sort(a.ravel())[40]), float(np.sort(b.ravel())[30])
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no overflow warning either
        warnings.simplefilter("ignore", ColocalizeWarning)  # float thresholds may round up
        result = coefficients(a, b, thresholds=(t0, t1))
    _assert_matches(result, _exact(a, b, (t0, t1)))


def test_uint64_full_range_and_wide_values_match_exact_reference():
    """Values spread over the whole uint64 range: the joint cells come from a sort."""
    rng = np.random.default_rng(12)
    a = rng.integers(0, 2**64 - 1, (9, 7), dtype=np.uint64, endpoint=True)
    b = (a // np.uint64(3)) + rng.integers(0, 2**62, a.shape, dtype=np.uint64)
    t = (float(2**63), float(2**62))
    _assert_matches(coefficients(a, b, thresholds=t), _exact(a, b, t))


def test_int64_values_from_1e16_keep_manders_in_range():
    """The issue's case: int64 data from 1e16 up gave M1 = -104 (the int64 sum of 40 x 40
    such values wraps around)."""
    rng = np.random.default_rng(13)
    a = _offset(rng.integers(0, 10**15, (40, 40)), 10**16, np.int64)
    b = _offset(rng.integers(0, 10**15, (40, 40)), 10**16, np.int64)
    b.flat[::5] = 0
    result = coefficients(a, b, rank_coefficients=False)
    x, y = _numbers(a), _numbers(b)
    assert result.m1 == pytest.approx(
        float(Fraction(sum(p for p, q in zip(x, y) if q > 0), sum(x))), rel=1e-12
    )
    assert result.m2 == pytest.approx(1.0, rel=1e-12)
    assert result.pearson == pytest.approx(_pearson(x, y), rel=1e-12)


def test_64bit_table_matches_exact_reference_through_cli(tmp_path):
    rng = np.random.default_rng(14)
    a, b = _correlated(rng)
    image = np.stack([_offset(a, 2**64 - 2100, np.uint64), _offset(b, 2**64 - 2100, np.uint64)])
    path = tmp_path / "u64.tif"
    tifffile.imwrite(path, image, metadata={"axes": "CYX"})
    with inputs_unchanged(path):
        proc = run_cli("coefficients", path, "--csv")
    assert proc.returncode == 0, proc.stderr
    header, line = proc.stdout.splitlines()[:2]
    row = {
        k: float(v) if v else NAN
        for k, v in zip(header.split(","), line.split(","))
        if k[:1] in "pokmsi"
    }
    expected = _exact(image[0], image[1])
    for key in ("pearson", "overlap", "k1", "k2", "m1", "m2", "spearman", "kendall_tau", "icq"):
        assert row[key] == pytest.approx(expected[key], rel=1e-12, abs=1e-14), key


# --------------------------------------------------------------------------------------------
# Floats: any finite input gives the right answer
# --------------------------------------------------------------------------------------------


def _float_pair(seed: int = 15) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.random((12, 10))
    y = 0.6 * x + 0.4 * rng.random(x.shape)
    x[0, :3] = 0  # zeros for M1/M2
    y[1, 2:4] = 0
    return x, y


@pytest.mark.parametrize(
    "transform",
    [
        "scale 1e160",
        "scale 1e300",
        "scale 1e-300",
        "subnormal 1e-310",
        "offset 1e15",
        "offset 1e8",
        "float32",
    ],
)
def test_floats_far_from_one_match_exact_reference(transform):
    x, y = _float_pair()
    kind, amount = transform.split(" ") if " " in transform else (transform, "")
    if kind in ("scale", "subnormal"):
        a, b = x * float(amount), y * float(amount)
    elif kind == "offset":
        a, b = x + float(amount), y + float(amount)
    else:
        a, b = x.astype(np.float32), y.astype(np.float32)
    t = (float(np.median(a)), float(np.median(b)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # neither numpy's RuntimeWarning nor a "constant" warning
        result = coefficients(a, b, thresholds=t)
    _assert_matches(result, _exact(a, b, t), rel=1e-11)


@settings(max_examples=30, deadline=None)
@given(exponent=st.integers(-300, 300), seed=st.integers(0, 2**16))
def test_float_coefficients_do_not_depend_on_scale(exponent, seed):
    x, y = _float_pair(seed)
    scale = 10.0**exponent
    base = coefficients(x, y, thresholds=(0.5, 0.4))
    scaled = coefficients(x * scale, y * scale, thresholds=(0.5 * scale, 0.4 * scale))
    for key in (
        "pearson",
        "overlap",
        "k1",
        "k2",
        "m1",
        "m2",
        "spearman",
        "kendall_tau",
        "icq",
        "pearson_below",
        "pearson_above",
        "tm1_own",
        "tm2_own",
    ):
        assert getattr(scaled, key) == pytest.approx(getattr(base, key), rel=1e-9, abs=1e-12), key


def test_triple_overlap_of_huge_floats():
    """sum(a**3) overflowed to inf for values above ~1e103 (overlap NaN, numpy warnings)."""
    x, y = _float_pair()
    z = 0.5 * (x + y)
    base = colocalize.triple_coefficients(x, y, z)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        huge = colocalize.triple_coefficients(x * 1e200, y * 1e200, z * 1e200)
    assert huge.overlap == pytest.approx(base.overlap, rel=1e-12)
    assert huge.m0 == pytest.approx(base.m0, rel=1e-12)


# --------------------------------------------------------------------------------------------
# Costes on float images: the thresholds do not depend on the scale
# --------------------------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@example(seed=425, exponent=-3, method="classic")  # does not converge: failed with a warning
@given(
    seed=st.integers(0, 2**16),
    exponent=st.integers(-60, 20),
    method=st.sampled_from(["bisection", "classic"]),
)
def test_costes_float_scale_invariance_power_of_two(seed, exponent, method):
    """Scaling a float image by a power of two scales its thresholds exactly."""
    x, y = _float_pair(seed)
    with warnings.catch_warnings():
        # some random pairs never bring r below the thresholds to 0 (seed 425, classic): the
        # search still ends, warns, and must scale the same way
        warnings.simplefilter("ignore", ColocalizeWarning)
        base = costes_threshold(x, y, method=method)
        scaled = costes_threshold(np.ldexp(x, exponent), np.ldexp(y, exponent), method=method)
    assert base.iterations > 0
    assert scaled.converged == base.converged
    assert scaled.threshold0 == math.ldexp(base.threshold0, exponent)
    assert scaled.threshold1 == math.ldexp(base.threshold1, exponent)
    assert scaled.step == math.ldexp(base.step, exponent)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**16), scale=st.floats(1e-6, 1e6))
def test_costes_float_scale_invariance_any_scale(seed, scale):
    """Any scale: the same thresholds within a few steps of the search's grid."""
    x, y = _float_pair(seed)
    base = costes_threshold(x, y)
    scaled = costes_threshold(x * scale, y * scale)
    assert base.iterations > 0
    assert scaled.iterations > 0
    # the grids' steps are below max range / 2**16: four steps of the coarser one
    tolerance = 4 * max(np.ptp(x), np.ptp(y)) * 2.0**-16
    assert scaled.threshold0 / scale == pytest.approx(base.threshold0, abs=tolerance)
    assert scaled.threshold1 / scale == pytest.approx(base.threshold1, abs=tolerance)


@pytest.mark.filterwarnings("ignore:.*never reached 0:colocalize.ColocalizeWarning")
def test_costes_on_real_sample_scaled_to_unit_range():
    """neuron-4Ch / 65535 gave 3676 / 16383 (the maxima, 0 iterations) instead of 1518 / 399.

    Bisection stops within two steps of the point it converges to, on either grid; the integer
    search's steps are whole grey levels, so the two agree within two grey levels.
    """
    sample = colocalize.data.neuron_4ch()
    a, b = sample.channel(0), sample.channel(1)
    integer = costes_threshold(a, b)
    scaled = costes_threshold(a / 65535.0, b / 65535.0)
    assert scaled.iterations > 0
    assert scaled.step * 65535 < 1
    assert scaled.threshold0 * 65535 == pytest.approx(integer.threshold0, abs=2)
    assert scaled.threshold1 * 65535 == pytest.approx(integer.threshold1, abs=2)
    assert scaled.slope == pytest.approx(integer.slope, rel=1e-9)


def test_costes_manders_on_unit_range_data():
    """Data in [0, 1]: tM1 was 0.0005 (threshold at the maximum) instead of ~0.9."""
    rng = np.random.default_rng(16)
    signal = rng.gamma(2.0, 40.0, (64, 64))
    a = np.clip(signal + rng.normal(0, 8, signal.shape), 0, 255).astype(np.uint8)
    b = np.clip(0.8 * signal + rng.normal(0, 8, signal.shape), 0, 255).astype(np.uint8)
    integer = coefficients(a, b, thresholds="costes")
    unit = coefficients(a / 255.0, b / 255.0, thresholds="costes")
    assert integer.tm1 > 0.5
    assert unit.tm1 == pytest.approx(integer.tm1, abs=0.02)
    assert unit.tm2 == pytest.approx(integer.tm2, abs=0.02)


# --------------------------------------------------------------------------------------------
# Degenerate input: NaN plus a warning, never a made-up 0
# --------------------------------------------------------------------------------------------


def test_single_pixel_costes_gives_nan_manders():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ColocalizeWarning)
        result = coefficients(
            np.array([[5]], np.uint8), np.array([[7]], np.uint8), thresholds="costes"
        )
    assert any("thresholds are NaN" in str(w.message) for w in caught)
    for key in ("tm1", "tm2", "tm1_own", "tm2_own", "fraction_colocalized", "pearson_below"):
        assert math.isnan(getattr(result, key)), key


def test_single_pixel_costes_cli(tmp_path):
    path = tmp_path / "one.tif"
    tifffile.imwrite(path, np.array([[[5]], [[7]]], np.uint8), metadata={"axes": "CYX"})
    proc = run_cli("coefficients", path, "--thresholds", "costes", "--json")
    assert proc.returncode == 0, proc.stderr
    row = json.loads(proc.stdout)[0]
    for key in ("tm1", "tm2", "fraction_colocalized"):
        assert row[key] is None, (key, row[key])  # NaN in JSON
    assert "warning" in proc.stderr
    assert "Traceback" not in proc.stderr


def _two_channels() -> np.ndarray:
    rng = np.random.default_rng(17)
    return rng.integers(0, 200, (2, 16, 16)).astype(np.uint16)


def test_negative_labels_are_refused():
    labels = -np.ones((16, 16), dtype=np.int32)
    with pytest.raises(ValueError, match=r"labels has negative values \(minimum -1\).*relabel"):
        coefficient_table(_two_channels(), channel_axis=0, labels=labels)


def test_empty_label_image_warns():
    with pytest.warns(ColocalizeWarning, match="labels has no object"):
        table = coefficient_table(
            _two_channels(), channel_axis=0, labels=np.zeros((16, 16), dtype=np.int32)
        )
    assert len(table) == 0


def test_labels_cli(tmp_path):
    image, zero, negative = tmp_path / "two.tif", tmp_path / "zero.tif", tmp_path / "neg.tif"
    tifffile.imwrite(image, _two_channels(), metadata={"axes": "CYX"})
    tifffile.imwrite(zero, np.zeros((16, 16), np.uint16))
    tifffile.imwrite(negative, -np.ones((16, 16), np.int16))
    with inputs_unchanged(tmp_path):
        proc = run_cli("coefficients", image, "--labels", negative)
        assert_clean_error(proc, "labels", "negative", "-1")
        proc = run_cli("coefficients", image, "--labels", zero)
    assert proc.returncode == 0, proc.stderr
    assert "warning: labels has no object" in proc.stderr
    assert "Traceback" not in proc.stderr


# --------------------------------------------------------------------------------------------
# Malformed options: a message naming the argument, the value and the fix
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "mentions"),
    [
        ({"thresholds": ("Otsu", "Li")}, ["thresholds=('Otsu', 'Li')", "thresholds='Otsu'"]),
        ({"saturated": "yes"}, ["saturated='yes'", "True"]),
        ({"saturated": (1, "x")}, ["saturated=(1, 'x')", "one level per image"]),
        ({"thresholds": (-5, -5)}, ["thresholds", "-5", ">= 0"]),
    ],
)
def test_malformed_options_name_argument_value_and_fix(options, mentions):
    a = np.arange(16, dtype=np.uint16).reshape(4, 4)
    with pytest.raises(ValueError, match=re.escape(mentions[0])) as info:
        coefficients(a, a[::-1], **options)
    for text in mentions:
        assert text in str(info.value)


@pytest.mark.parametrize(
    ("pairs", "mentions"),
    [("foo", ["pairs='foo'", "[(0, 1)]"]), ([(0, 1), 2], ["pairs=[(0, 1), 2]", "item 2"])],
)
def test_malformed_pairs(pairs, mentions):
    with pytest.raises(ValueError, match=re.escape(mentions[0])) as info:
        coefficient_table(_two_channels(), channel_axis=0, pairs=pairs)
    for text in mentions:
        assert text in str(info.value)


def test_negative_thresholds_cli(tmp_path):
    path = tmp_path / "two.tif"
    tifffile.imwrite(path, _two_channels(), metadata={"axes": "CYX"})
    proc = run_cli("coefficients", path, "--thresholds", "-5", "-5")
    assert_clean_error(proc, "thresholds", "-5", "negative")


def test_zero_thresholds_stay_legal():
    """0 (and -0.0) is a meaningful threshold: "at least 0" keeps every pixel."""
    a = np.arange(16, dtype=np.uint16).reshape(4, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ColocalizeWarning)  # nothing below a threshold of 0
        result = coefficients(a, a[::-1], thresholds=(0, -0.0))
    _assert_matches(result, _exact(a, a[::-1], (0, -0.0)))


# --------------------------------------------------------------------------------------------
# Memory: a small multiple of the input for 16-bit images with many distinct values
# --------------------------------------------------------------------------------------------

_MEMORY = """
import resource, warnings
import numpy as np, pandas, scipy.stats
import colocalize
from colocalize import _compiled
kendall = getattr(_compiled.kernels(1 << 20), "kendall_score", None)
if kendall is not None:  # numba's import and first compilation: fixed costs, before the baseline
    codes = np.zeros(4, np.uint16)[::2]  # joint cells' codes: strided views
    kendall(codes, codes, np.ones(2, np.uint32), np.zeros(3, np.int32), np.zeros(2, np.int32))
rng = np.random.default_rng(0)
size = {size}
image = rng.integers(0, 65536, (3, size, size), dtype=np.uint16)
image[1] = image[0] // 2 + rng.integers(0, 30000, (size, size), dtype=np.uint16)
warnings.simplefilter("ignore")
colocalize.coefficient_table(image[:, :8, :8], channel_axis=0)  # first-call costs
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
table = colocalize.coefficient_table(image, channel_axis=0, thresholds=[30000] * 3)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print((after - before) * 1024 / image.nbytes, float(table["kendall_tau"][0]))
"""


@pytest.mark.slow
def test_peak_memory_is_a_small_multiple_of_the_input():
    """3 x 1024 x 1024 uint16 with ~65536 levels: 34x the input before (per-pixel float64
    arrays and SciPy's merge sort); now the codes and the sorted joint cells (about 6x).

    Kendall's tau of so many levels needs the compiled Fenwick tree (the ``fast`` extra);
    numpy alone falls back to SciPy's merge sort, about 12x.
    """
    if _compiled.kernels(1 << 20) is None:
        pytest.skip("numba (the fast extra) is not installed or COLOCALIZE_NUMBA=0")
    proc = run_python(_MEMORY.format(size=1024), timeout=300, memory_mb=6000)
    assert proc.returncode == 0, proc.stderr
    ratio, tau = map(float, proc.stdout.split())
    assert 0.3 < tau < 1
    assert ratio < 8, f"peak extra memory {ratio:.1f} x the input"


@pytest.mark.parametrize(("dtype", "offset"), [(np.uint64, 2**64 - 2100), (np.int64, 10**17)])
def test_bivariate_histogram_of_64bit_values(dtype, offset):
    """Values near the 64-bit limits were binned through float64 edges (a ValueError, or every
    pixel in one bin); the counts equal those of the same data shifted to zero."""
    rng = np.random.default_rng(18)
    a, b = _correlated(rng, top=40)
    wide_a, wide_b = _offset(a, offset, dtype), _offset(b, offset, dtype)
    for nbins in (300, 4):  # one bin per value, and bins of several values
        wide = colocalize.bivariate_histogram(wide_a, wide_b, nbins=nbins)
        small = colocalize.bivariate_histogram(a, b, nbins=nbins)
        np.testing.assert_array_equal(wide.counts, small.counts)


def test_ratio_beyond_float64_range_is_nan_with_a_reason():
    """k1 = sum(ab) / sum(a**2) of channels 1e600 apart in scale: no float64 holds it."""
    a = np.array([1e-300, 2e-300, 3e-300])
    b = np.array([1e300, 3e300, 2e300])
    with pytest.warns(ColocalizeWarning, match=r"k1 \(because the ratio is beyond the float64"):
        result = coefficients(a, b)
    assert math.isnan(result.k1)
    assert result.pearson == pytest.approx(0.5, rel=1e-12)
    x, y = _numbers(a), _numbers(b)
    overlap = _corr(sum(p * q for p, q in zip(x, y)), sum(p * p for p in x), sum(q * q for q in y))
    assert result.overlap == pytest.approx(overlap, rel=1e-12)
