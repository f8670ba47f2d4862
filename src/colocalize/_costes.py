"""Costes' automatic threshold (Coloc 2's ``AutoThresholdRegression``).

The threshold search reproduces Fiji's Coloc 2 exactly (orthogonal regression, its two steppers,
Java's ``Math.round``, clamping to the pixel type), but evaluates every candidate from cumulative
moments instead of re-reading all pixels: the candidates of one search lie on a monotone path,
so each pixel is below the thresholds for one contiguous run of candidates and a single pass of
``np.bincount`` gives the below-threshold Pearson of every candidate (O(pixels + candidates)
overall, O(1) per step). For integer images the run of a pixel depends only on its two grey
levels, so it is read from per-level lookup tables, and with a positive slope one bin per pixel
(the channel whose threshold it passes last, and its level) carries all six moments exactly in
integers. Integer images with a small joint range are first reduced to their joint histogram.
The optional compiled kernels of ``colocalize._compiled`` (numba) replace the hot loops for
large 8- and 16-bit images; both paths give identical results.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from types import SimpleNamespace
from typing import Literal

import numpy as np

from colocalize import _compiled
from colocalize._java import java_int, java_round
from colocalize._validation import as_image, as_mask, check_same_shape, warn_degenerate

__all__ = ["CostesResult", "costes_threshold"]

#: The searches of :func:`costes_threshold` (``method=``).
COSTES_METHODS = ("bisection", "classic", "jacop", "ezcolocalization")
CostesMethod = Literal["bisection", "classic", "jacop", "ezcolocalization"]


def check_costes_method(costes_method: str, *, name: str = "costes_method") -> CostesMethod:
    """The ``costes_method`` option (called ``name``), checked (a ValueError names the
    choices)."""
    if costes_method not in COSTES_METHODS:
        raise ValueError(
            f"{name} must be one of {', '.join(map(repr, COSTES_METHODS))}, got {costes_method!r}"
        )
    return costes_method  # type: ignore[return-value]


# Costes' criterion "r below the thresholds is 0", with Coloc 2's tolerance (its classic stepper
# stops at r < 1e-4).
_ZERO = 1e-4
# Longest path of candidates evaluated in one block (memory ~ 50 bytes per candidate).
_BLOCK = 1 << 18
# Compiled bisection: one pass evaluates every grid point still reachable once they change the
# side of at most this fraction of the pixels and at least log2(_WINDOW_STEPS) + 1 remain
# (measured: collecting the ring costs ~3 quadrant passes, binning all pixels ~9 passes).
_RING = 1 / 5
_WINDOW_STEPS = 8
# ... used when the two channels have more levels than this (else per-level bins are faster).
_PATH_LEVELS = 3 << 14
# Integer pairs with |values| <= _MAX_LEVEL and fewer than _MAX_LEVEL_PAIRS pixels use per-level
# lookup tables; their moments, at most N (2 * 2**16)**2 <= 2**62, are exact in int64.
_MAX_LEVEL = 1 << 16
_MAX_LEVEL_PAIRS = 1 << 28
# float64 sums of whole numbers are exact below this.
_EXACT = 2.0**53
# Pairs per chunk of the per-level binning (temporaries of ~1 MiB).
_CHUNK = 1 << 17
# A chunk's bin counts (<= _CHUNK) fit in the low _PACK bits of a packed float64 bin sum.
_PACK = 18
# Integer pairs whose joint range has at most this many cells per pixel are first reduced to
# their joint histogram.
_JOINT_FRACTION = 0.25


@dataclass(frozen=True)
class CostesResult:
    """Costes' thresholds of two channels (Coloc 2's ``AutoThresholdRegression``).

    Attributes
    ----------
    threshold0, threshold1 : float
        The thresholds of ``image0`` and ``image1``, in the images' units (Coloc 2's
        "Ch1 Max Threshold" and "Ch2 Max Threshold"). Pixels at or above them are "above".
    slope, intercept : float
        The regression line ``image1 = slope * image0 + intercept``: orthogonal (Coloc 2), or
        least squares of ``image1`` on ``image0`` for ``method="jacop"`` and
        ``"ezcolocalization"``.
    pearson_below : float
        Pearson's r of the pixels with ``image0 < threshold0`` OR ``image1 < threshold1``
        (``method="jacop"``: AND, JACoP's "below"; ``"ezcolocalization"``: ``<=`` OR ``<=``).
    pearson_above : float
        Pearson's r of the pixels with ``image0 > threshold0`` OR ``image1 > threshold1``.
    iterations : int
        How many candidate thresholds the stepper evaluated.
    step : float
        The spacing of the candidate thresholds, in the images' units: 1.0 (whole grey levels,
        as Coloc 2) for integer images and float images of whole numbers; for other float
        images a power of two that gives 2**16 to 2**17 steps over the wider channel's range,
        so that the thresholds do not depend on the images' scale. 0.0 for
        ``method="ezcolocalization"``, whose thresholds are continuous.
    converged : bool
        Whether the search reached Costes' criterion: some candidate it evaluated has a
        below-threshold Pearson's r at or under 0 (below 1e-4, the tolerance of Coloc 2's
        classic stepper). When it did not (the channels stay
        correlated down to the bottom of the search, or a stepper stopped early), the
        thresholds are only where the search gave up, and :func:`costes_threshold` warns.
    """

    threshold0: float
    threshold1: float
    slope: float
    intercept: float
    pearson_below: float
    pearson_above: float
    iterations: int
    step: float
    converged: bool


# --------------------------------------------------------------------------------------------
# Helpers reproducing Java arithmetic
# --------------------------------------------------------------------------------------------


def _type_range(dtype: np.dtype) -> tuple[float, float]:
    """imglib2's ``getMinValue()``/``getMaxValue()`` of the pixel type."""
    if dtype.kind in "ui":
        info = np.iinfo(dtype)
        return float(info.min), float(info.max)
    finfo = np.finfo(dtype)
    return -float(finfo.max), float(finfo.max)


def _store(values: np.ndarray, dtype: np.dtype, shift: int = 0) -> np.ndarray:
    """Clamp to the type range and store as the pixel type would (``T.setReal``).

    ``values`` are in steps of ``2**shift`` (see :func:`_grid_shift`); so is the result.
    """
    lo, hi = _type_range(dtype)
    out = np.clip(np.ldexp(values, shift), lo, hi)
    if dtype == np.float32:
        out = out.astype(np.float32).astype(np.float64)
    return np.ldexp(out, -shift)


# Float images with a fractional value, or a range beyond this, are searched on a grid of
# 2**16 to 2**17 steps over the wider channel's range.
_GRID_LEVELS = 1 << 16


def _grid_shift(a: np.ndarray, b: np.ndarray) -> int:
    """The candidates' spacing ``2**shift``: 0 (whole grey levels, as Coloc 2) for integer
    images and float images of whole numbers with a range below ``2 * _GRID_LEVELS``, else
    the power of two that gives ``_GRID_LEVELS`` to twice as many steps over the wider range.

    A power of two, so that scaling the pixels by it is exact; the search then depends on the
    images' scale only through that rounding of the step.
    """
    if a.dtype.kind in "iu" and b.dtype.kind in "iu":
        return 0
    span = max(float(x.max()) - float(x.min()) for x in (a, b))
    whole = all(x.dtype.kind in "iu" or bool(np.all(np.floor(x) == x)) for x in (a, b))
    if span == 0 or (whole and span < 2 * _GRID_LEVELS):
        return 0
    return math.frexp(span)[1] - 1 - _GRID_LEVELS.bit_length() + 1


def _pearson_of(sums: np.ndarray) -> float:
    """Coloc 2's Fast Pearson of exact int64 sums n, Sa, Sb, Saa, Sbb, Sab."""
    return float(_fast_pearson(*sums.astype(np.float64)))


def _fast_pearson(n: np.ndarray, sx, sy, sxx, syy, sxy) -> np.ndarray:
    """Coloc 2's "Fast" Pearson from sums, with its exact operation order; NaN if not finite."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        inv = 1.0 / np.asarray(n, dtype=np.float64)
        p1 = sxy - (sx * sy * inv)
        p2 = sxx - (sx * sx * inv)
        p3 = syy - (sy * sy * inv)
        r = p1 / np.sqrt(p2 * p3)
    return np.where(np.isfinite(r), r, np.nan)


# --------------------------------------------------------------------------------------------
# Pixel data: raw pixels, or the joint histogram of an integer pair
# --------------------------------------------------------------------------------------------


class _Pairs:
    """The masked pixel pairs, possibly compressed to (value0, value1, count) triples."""

    def __init__(self, a: np.ndarray, b: np.ndarray) -> None:
        self.integer = a.dtype.kind in "ui" and b.dtype.kind in "ui"
        summary = None
        # chosen once per call, never waiting for numba to load (numpy meanwhile)
        self._kernels = _compiled.loaded_kernels(a.size)
        if self.integer and max(a.dtype.itemsize, b.dtype.itemsize) <= 2:
            compiled = self._kernels
            summary = None if compiled is None else compiled.summary(a, b)
        if summary is None:
            self.a_min, self.a_max = a.min(), a.max()
            self.b_min, self.b_max = b.min(), b.max()
        else:  # ranges and exact moments of 8- and 16-bit pairs in one compiled pass
            self.a_min, self.a_max = a.dtype.type(summary[0]), a.dtype.type(summary[1])
            self.b_min, self.b_max = b.dtype.type(summary[2]), b.dtype.type(summary[3])
        counts: np.ndarray | None = None
        if self.integer:
            ra = int(self.a_max) - int(self.a_min) + 1
            rb = int(self.b_max) - int(self.b_min) + 1
            if ra * rb <= _JOINT_FRACTION * a.size:
                code = np.multiply(a, rb, dtype=np.intp)
                code += b
                offset = int(self.a_min) * rb + int(self.b_min)
                if offset:
                    code -= offset
                hist = np.bincount(code, minlength=ra * rb)
                nz = np.flatnonzero(hist != 0)  # faster on a boolean array
                counts = hist[nz].astype(np.float64)
                a, b = np.divmod(nz, rb)
                a += int(self.a_min)
                b += int(self.b_min)
        self.raw_a, self.raw_b = a, b
        self.counts = counts
        self.n = float(a.size if counts is None else counts.sum())
        self._weights: list[np.ndarray | None] | None = None
        self._floors: dict[int, tuple[np.ndarray, int] | None] = {}
        self._totals: np.ndarray | None = None
        # Integer values small enough for per-level lookup tables and exact int64 moments.
        self.levels = (
            self.integer
            and max(-int(self.a_min), int(self.a_max), -int(self.b_min), int(self.b_max))
            <= _MAX_LEVEL
            and self.n < _MAX_LEVEL_PAIRS
        )
        # Lookup tables start at 0 for non-negative values (the raw values are the indices).
        self.base, self.top = (0, 0), (0, 0)
        if self.levels:
            self.base = (min(int(self.a_min), 0), min(int(self.b_min), 0))
            self.top = (int(self.a_max), int(self.b_max))
        self._exact_totals: list[int] | None = None
        if summary is not None and self.levels and counts is None:
            self._exact_totals = [int(v) for v in summary[4:]]

    @cached_property
    def compiled(self) -> SimpleNamespace | None:
        """The compiled kernels (``colocalize._compiled``) for raw integer levels, else None."""
        if not (self.levels and self.counts is None):
            return None
        return self._kernels

    def box_sums(self, lo: tuple[int, int], hi: tuple[int, int] | None = None) -> np.ndarray:
        """Exact int64 n, Sa, Sb, Saa, Sbb, Sab of ``lo <= (a, b) <= hi`` (compiled only).

        Without ``hi``, the quadrant ``a >= lo[0], b >= lo[1]``.
        """
        assert self.compiled is not None
        if hi is None:
            hi = (_MAX_LEVEL, _MAX_LEVEL)
        return self.compiled.box_moments(self.raw_a, self.raw_b, lo[0], hi[0], lo[1], hi[1])

    @cached_property
    def x(self) -> np.ndarray:
        """Channel 0 as float64."""
        return self.raw_a.astype(np.float64)

    @cached_property
    def y(self) -> np.ndarray:
        """Channel 1 as float64."""
        return self.raw_b.astype(np.float64)

    def level(self, which: int, chunk: slice) -> np.ndarray:
        """The pairs' values minus the table base, as an intp index (integer pairs only)."""
        idx = (self.raw_a if which == 0 else self.raw_b)[chunk].astype(np.intp)
        if self.base[which]:
            idx -= self.base[which]
        return idx

    def entry_table(self, which: int, thresholds: np.ndarray, *, decreasing: bool) -> np.ndarray:
        """:meth:`first_index` of every level ``base..top`` of a channel (integer pairs)."""
        levels = np.arange(self.base[which], self.top[which] + 1, dtype=np.float64)
        if decreasing:
            return np.searchsorted(-thresholds, -levels, side="left")
        return np.searchsorted(thresholds, levels, side="right")

    def level_sums(
        self, size: int, binner: Callable[[slice], list[tuple[np.ndarray, np.ndarray | None]]]
    ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]] | None:
        """Exact int64 count and sums of ``s = a + b`` and ``s**2`` per bin, for bin families.

        ``binner(chunk)`` returns, for a slice of the pairs, one ``(bin index, factor or
        None)`` per family; the pairs are weighted by their counts and the factor. The pairs
        are processed in chunks of ``_CHUNK`` (the temporaries stay in cache) and each chunk's
        float64 bin sums of whole numbers are exact below 2**53 (the ``s**2`` terms are >= 0
        and bound the others; for uncompressed levels always, 2**17 * (2 * 2**16)**2 =
        2**51); None if a bin reaches that.
        """
        total: list[list[np.ndarray]] | None = None
        for start in range(0, self.raw_a.size, _CHUNK):
            chunk = slice(start, start + _CHUNK)
            s = np.add(self.raw_a[chunk], self.raw_b[chunk], dtype=np.float64)
            s2 = np.square(s)
            counts = None if self.counts is None else self.counts[chunk]
            if counts is not None:
                s *= counts
                s2 *= counts
            families = binner(chunk)
            if total is None:
                total = [[np.zeros(size, dtype=np.int64) for _ in range(3)] for _ in families]
            for sums, (index, factor) in zip(total, families):
                w, ws, ws2 = counts, s, s2
                if factor is not None:
                    w = factor if counts is None else factor * counts
                    ws, ws2 = s * factor, s2 * factor
                sum2 = np.bincount(index, weights=ws2, minlength=size)
                if sum2.max() >= _EXACT:
                    return None
                sums[2] += sum2.astype(np.int64)
                if w is None and self.levels:
                    # one bincount for the count and the sum of s: weights s * 2**18 + 1,
                    # whole numbers whose bin sums stay below 2**18 * 2**34 + 2**17 < 2**53
                    ws = ws * float(1 << _PACK)
                    ws += 1.0
                    packed = np.bincount(index, weights=ws, minlength=size).astype(np.int64)
                    sums[0] += packed & ((1 << _PACK) - 1)
                    sums[1] += packed >> _PACK
                    continue
                sums[0] += np.bincount(index, weights=w, minlength=size).astype(np.int64)
                sums[1] += np.bincount(index, weights=ws, minlength=size).astype(np.int64)
        assert total is not None
        return [(n, s1, s2) for n, s1, s2 in total]

    def exact_sums(self, sel: np.ndarray | None = None) -> list[int] | None:
        """n, Sa, Sb, Saa, Sbb, Sab as Python ints over the (selected) raw integer pixels.

        None unless the pairs are uncompressed integer levels (|values| <= 2**16).
        """
        if not (self.levels and self.counts is None):
            return None
        a, b = self.raw_a, self.raw_b
        if sel is not None:
            a, b = a[sel], b[sel]
        elif self._exact_totals is not None:
            return self._exact_totals
        if sel is None and self.compiled is not None:
            everything = self.box_sums((-_MAX_LEVEL, -_MAX_LEVEL))
            self._exact_totals = [int(v) for v in everything]
            return self._exact_totals
        sums = [int(a.size), 0, 0, 0, 0, 0]
        for start in range(0, a.size, _CHUNK):
            # whole numbers below 2**17 * (2**16)**2 = 2**49: float64 sums are exact. einsum,
            # not BLAS: threaded BLAS dot products stall badly on a busy machine.
            x = a[start : start + _CHUNK].astype(np.float64)
            y = b[start : start + _CHUNK].astype(np.float64)
            products = (np.einsum("i,i", u, v) for u, v in ((x, x), (y, y), (x, y)))
            for i, value in enumerate((x.sum(), y.sum(), *products), start=1):
                sums[i] += round(float(value))
        if sel is None:
            self._exact_totals = sums
        return sums

    def above_pearson(self, t0: float, t1: float) -> float:
        """Pearson r of the pairs with ``A > t0 OR B > t1``.

        Integer pixels: exact sums, as all pixels minus the (usually smaller) set
        ``A <= t0 AND B <= t1`` when that is the smaller one.
        """
        totals = self.exact_sums()
        if totals is None:
            return self.subset_pearson(self.outside(t0, t1, below=False))
        if self.compiled is not None:
            corner = self.box_sums((-_MAX_LEVEL, -_MAX_LEVEL), (int(t0), int(t1)))
            return _pearson_of(np.array(totals) - corner)
        inside = (self.raw_a <= int(t0)) & (self.raw_b <= int(t1))
        complement = 2 * np.count_nonzero(inside) <= inside.size
        part = self.exact_sums(np.flatnonzero(inside if complement else ~inside))
        assert part is not None
        sums = [t - p for t, p in zip(totals, part)] if complement else part
        return float(_fast_pearson(*(np.float64(v) for v in sums)))

    def weights(self) -> list[np.ndarray | None]:
        """The weights whose sums are n, Sx, Sy, Sxx, Syy, Sxy."""
        if self._weights is None:
            x, y, c = self.x, self.y, self.counts
            if c is None:
                self._weights = [None, x, y, x * x, y * y, x * y]
            else:
                cx, cy = c * x, c * y
                self._weights = [c, cx, cy, cx * x, cy * y, cx * y]
        return self._weights

    def totals(self) -> np.ndarray:
        """n, Sx, Sy, Sxx, Syy, Sxy over all pairs."""
        if self._totals is None:
            x, y = self.x, self.y
            if self.counts is None:
                sums = (x.sum(), y.sum(), x @ x, y @ y, x @ y)
            else:
                cx, cy = self.counts * x, self.counts * y
                sums = (cx.sum(), cy.sum(), cx @ x, cy @ y, cx @ y)
            self._totals = np.array([self.n, *sums], dtype=np.float64)
        return self._totals

    def regression(self) -> tuple[float, float]:
        """Coloc 2's orthogonal regression line: slope and intercept.

        Coloc 2 sums ``(v - mean)**2`` in double precision; for integer images we use the
        exact integer moments instead (the result is the correctly rounded value of the same
        formula, within a few float64 roundings of Coloc 2's); float images use two passes.
        """
        n = round(self.n)
        if self.integer:
            exact = self.exact_sums()
            if exact is None:  # BLAS dot products: exact while the sums stay below 2**53
                sx, sy, sxx, syy, sxy = (round(float(v)) for v in self.totals()[1:])
            else:
                sx, sy, sxx, syy, sxy = exact[1:]
            denom = n * (n - 1)
            mean0, mean1 = sx / n, sy / n
            var0 = (n * sxx - sx * sx) / denom
            var1 = (n * syy - sy * sy) / denom
            cov = (n * sxy - sx * sy) / denom
        else:
            mean0, mean1 = float(self.x.mean()), float(self.y.mean())
            d0 = self.x - mean0
            d1 = self.y - mean1
            var0 = float(d0 @ d0) / (n - 1)
            var1 = float(d1 @ d1) / (n - 1)
            ds = d0 + d1
            var_sum = float(ds @ ds) / (n - 1.0)
            cov = 0.5 * (var_sum - (var0 + var1))
        denom2 = 2 * cov
        num = var1 - var0 + math.sqrt((var1 - var0) * (var1 - var0) + (4 * cov * cov))
        with np.errstate(divide="ignore", invalid="ignore"):
            slope = float(np.float64(num) / np.float64(denom2))
        return slope, mean1 - slope * mean0

    def outside(self, t0: float, t1: float, *, below: bool) -> np.ndarray:
        """``A < t0 OR B < t1`` (``below``) or ``A > t0 OR B > t1``, on the raw values."""
        if self.integer:  # thresholds are whole numbers inside the dtype range
            a, b, c0, c1 = self.raw_a, self.raw_b, int(t0), int(t1)
            return (a < c0) | (b < c1) if below else (a > c0) | (b > c1)
        x, y = self.x, self.y
        return (x < t0) | (y < t1) if below else (x > t0) | (y > t1)

    def subset_pearson(self, sel: np.ndarray) -> float:
        """Coloc 2's Fast Pearson over the pairs where ``sel`` is true (BLAS dot products)."""
        ind = sel.astype(np.float64)
        if self._weights is not None:
            n = ind.sum() if self._weights[0] is None else ind @ self._weights[0]
            sums = [n, *(ind @ w for w in self._weights[1:] if w is not None)]
        else:
            f = ind if self.counts is None else ind * self.counts
            fx, fy = f * self.x, f * self.y
            sums = [f.sum(), fx.sum(), fy.sum(), fx @ self.x, fy @ self.y, fx @ self.y]
        return float(_fast_pearson(*(np.asarray(v, dtype=np.float64) for v in sums)))

    def first_index(self, which: int, thresholds: np.ndarray, *, decreasing: bool) -> np.ndarray:
        """Per pair: how many leading candidates put this value *below* the threshold.

        For ``decreasing`` thresholds the value is below (value < thr) for a prefix of the
        candidates; for increasing thresholds, for a suffix, and we return the length of the
        complementary prefix (value >= thr).
        """
        raw = self.raw_a if which == 0 else self.raw_b
        lo = int(self.a_min if which == 0 else self.b_min) if self.integer else 0
        hi = int(self.a_max if which == 0 else self.b_max) if self.integer else 0
        if decreasing:
            key = -thresholds
            side: Literal["left", "right"] = "left"
        else:
            key = thresholds
            side = "right"
        if self.integer and hi - lo + 1 <= max(4 * raw.size, 1024):
            levels = np.arange(lo, hi + 1, dtype=np.float64)
            lut = np.searchsorted(key, -levels if decreasing else levels, side=side)
            return lut[raw.astype(np.intp) - lo] if lo else lut[raw]
        values = self.x if which == 0 else self.y
        floors = self.floors(which) if bool(np.all(np.floor(thresholds) == thresholds)) else None
        if floors is not None:
            # whole-number thresholds: v < T <=> floor(v) < T, so a table over floor(v) serves
            index, lo = floors
            levels = np.arange(lo, lo + int(index.max()) + 1, dtype=np.float64)
            lut = np.searchsorted(key, -levels if decreasing else levels, side=side)
            return lut[index]
        return np.searchsorted(key, -values if decreasing else values, side=side)

    def floors(self, which: int) -> tuple[np.ndarray, int] | None:
        """``floor(value) - lo`` of a float channel as an index, and ``lo``; None if the
        floors span more than a few levels per pixel."""
        if which not in self._floors:
            values = self.x if which == 0 else self.y
            floor = np.floor(values)
            lo, hi = float(floor.min()), float(floor.max())
            found = None
            if hi - lo + 1 <= max(4 * values.size, 1024):
                floor -= lo
                found = (floor.astype(np.intp), int(lo))
            self._floors[which] = found
        return self._floors[which]


def _below_pearson_path(pairs: _Pairs, th0: np.ndarray, th1: np.ndarray) -> np.ndarray:
    """Pearson r below (A < th0 OR B < th1) for every candidate of a monotone path.

    ``th0`` and ``th1`` are each monotone along the path. A pair is *above both* thresholds
    (excluded) for one contiguous run of candidates; it is below for the rest, so the
    below-moments of every candidate are cumulative sums of bincounts.
    """
    sums = _level_path_sums(pairs, th0, th1) if pairs.levels else None
    if sums is None:
        sums = _pixel_path_sums(pairs, th0, th1)
    return _fast_pearson(*sums)


def _pixel_path_sums(pairs: _Pairs, th0: np.ndarray, th1: np.ndarray) -> list[np.ndarray]:
    """Below-moments of every candidate from per-pair candidate indices (any dtype).

    Six bincounts over the pairs, indexed by the candidate at which each pair enters or
    leaves the above-both quadrant; the sums are float64.
    """
    k = th0.size
    lo: np.ndarray | None = None
    hi: np.ndarray | None = None
    for which, th in ((0, th0), (1, th1)):
        if _decreasing(th):
            # below for a prefix of length f: above for k >= f
            f = pairs.first_index(which, th, decreasing=True)
            lo = f if lo is None else np.maximum(lo, f, out=lo)
        else:
            # increasing thresholds: above (value >= thr) for a prefix of length g
            g = pairs.first_index(which, th, decreasing=False)
            hi = g if hi is None else np.minimum(hi, g, out=hi)
    if lo is None:  # pragma: no cover - the walking channel's thresholds always decrease
        lo = np.zeros(pairs.x.shape, dtype=np.intp)
    # below at candidate j  <=>  j < lo  or  j >= hi
    if hi is None:  # no upper bound (positive slope): hi == k for every pair
        start, restart = lo, None
    else:
        empty = lo >= hi  # never above both: below everywhere
        start = np.where(empty, k, lo)  # contributes to j < start
        restart = np.where(empty, k, hi)  # contributes to j >= restart
    moments = []
    for w in pairs.weights():
        prefix = np.bincount(start, weights=w, minlength=k + 1)
        below = np.cumsum(prefix[::-1])[::-1][1:]  # sum over pairs with start > j
        if restart is not None:
            below = below + np.cumsum(np.bincount(restart, weights=w, minlength=k + 1))[:k]
        moments.append(below)
    return moments


def _columns(table: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The count, sum and sum-of-squares columns of a compiled kernel's bin table."""
    return table[:, 0], table[:, 1], table[:, 2]


def _decreasing(th: np.ndarray) -> bool:
    """Whether a channel's thresholds never increase along the path (else they never drop)."""
    steps = np.diff(th)
    if th.size == 1 or bool(np.all(steps <= 0)):
        return True
    if not bool(np.all(steps >= 0)):  # pragma: no cover - rounding is monotone
        raise RuntimeError("internal error: Costes candidates are not monotone")
    return False


def _level_moments(
    value: np.ndarray, is_0: np.ndarray | bool, n: np.ndarray, s1: np.ndarray, s2: np.ndarray
) -> np.ndarray:
    """Exact int64 moments (n, Sa, Sb, Saa, Sbb, Sab) of bins of known value in one channel.

    A bin holds the pairs whose value in one channel (channel 0 where ``is_0``) equals
    ``value``; ``n``, ``s1`` and ``s2`` are its count and its sums of ``s = a + b`` and
    ``s**2``, so the other channel's sums are ``s1 - n v`` and ``s2 - n v**2 - 2 v (s1 - n v)``.
    """
    v = value.astype(np.int64)
    own1 = n * v
    own2 = own1 * v
    other1 = s1 - own1
    other2 = s2 - own2 - 2 * v * other1
    return np.stack(
        [
            n,
            np.where(is_0, own1, other1),
            np.where(is_0, other1, own1),
            np.where(is_0, own2, other2),
            np.where(is_0, other2, own2),
            v * other1,
        ]
    )


def _level_path_sums(pairs: _Pairs, th0: np.ndarray, th1: np.ndarray) -> list[np.ndarray] | None:
    """Below-moments of every candidate for integer pairs, from per-level lookup tables.

    Each pair's candidate interval depends only on its two values, so it is read from two
    lookup tables over the value ranges. With a positive slope (both thresholds falling along
    the path) the pair enters the above-both quadrant at ``max(f0(a), f1(b))`` and stays; the
    levels of both channels are merged in the order of their entry candidate, so ONE index per
    pair -- the later-entering channel and its value -- bins it, and the bin counts and sums of
    ``a + b`` and of its square give all six moments exactly in integers. With a
    negative slope the quadrant is entered at ``f0(a)`` and left at ``g1(b)``: the pairs are
    binned by each channel's level. Returns None when a float64 bin sum could be inexact.
    """
    k = th0.size
    dec0, dec1 = _decreasing(th0), _decreasing(th1)
    if not dec0:  # negative slope walking along channel 1: swap the roles of the channels
        swapped = _level_path_sums_interval(pairs, 1, th1, th0)
        if swapped is None:
            return None
        n, s1, s0, s11, s00, s01 = swapped
        return [n, s0, s1, s00, s11, s01]
    if not dec1:
        return _level_path_sums_interval(pairs, 0, th0, th1)
    f0 = pairs.entry_table(0, th0, decreasing=True)  # non-increasing over the levels
    f1 = pairs.entry_table(1, th1, decreasing=True)
    r0, r1 = f0.size, f1.size
    f0_up, f1_up = f0[::-1], f1[::-1]  # entry candidates in ascending order (levels falling)
    pos0 = np.arange(r0) + np.searchsorted(f1_up, f0_up, side="left")
    pos1 = np.arange(r1) + np.searchsorted(f0_up, f1_up, side="right")
    entry = np.empty(r0 + r1, dtype=np.intp)
    entry[pos0], entry[pos1] = f0_up, f1_up
    value = np.empty(r0 + r1, dtype=np.int64)
    value[pos0] = np.arange(pairs.top[0], pairs.base[0] - 1, -1)
    value[pos1] = np.arange(pairs.top[1], pairs.base[1] - 1, -1)
    is_0 = np.zeros(r0 + r1, dtype=bool)
    is_0[pos0] = True
    code0, code1 = pos0[::-1].copy(), pos1[::-1].copy()  # bin of each level of a channel

    def binner(chunk: slice) -> list[tuple[np.ndarray, np.ndarray | None]]:
        code = code0.take(pairs.level(0, chunk))
        return [(np.maximum(code, code1.take(pairs.level(1, chunk)), out=code), None)]

    compiled = pairs.compiled
    if compiled is not None:
        table = compiled.entry_bins(pairs.raw_a, pairs.raw_b, code0, code1, *pairs.base, r0 + r1)
        sums: list[tuple[np.ndarray, np.ndarray, np.ndarray]] | None = [_columns(table)]
    else:
        sums = pairs.level_sums(r0 + r1, binner)
    if sums is None:
        return None
    cum = np.cumsum(_level_moments(value, is_0, *sums[0]), axis=1)
    entered = np.searchsorted(entry, np.arange(k), side="right")  # bins entered by candidate j
    quadrant = np.where(entered > 0, cum[:, entered - 1], 0)
    below = cum[:, -1:] - quadrant
    return list(below.astype(np.float64))


def _level_path_sums_interval(
    pairs: _Pairs, which: int, th_in: np.ndarray, th_out: np.ndarray
) -> list[np.ndarray] | None:
    """Negative slope: a pair is above both for candidates ``f(v_in) <= j < g(v_out)``.

    ``which`` is the channel whose thresholds fall (``th_in``); the other one's rise. Pairs
    with ``f >= g`` are never above both and go to an extra "never" bin. Returns the moments
    in the order (n, S_in, S_out, S_in_in, S_out_out, S_in_out).
    """
    other = 1 - which
    k = th_in.size
    f = pairs.entry_table(which, th_in, decreasing=True)  # enters at j >= f
    g = pairs.entry_table(other, th_out, decreasing=False)  # leaves at j >= g
    never = max(f.size, g.size)
    exact = pairs.exact_sums()

    def binner(chunk: slice) -> list[tuple[np.ndarray, np.ndarray | None]]:
        lev_in, lev_out = pairs.level(which, chunk), pairs.level(other, chunk)
        dump = (f.take(lev_in) >= g.take(lev_out)) * never  # 0, or the "never" bin
        families: list[tuple[np.ndarray, np.ndarray | None]] = [
            (np.maximum(lev_in, dump), None),
            (np.maximum(lev_out, dump, out=dump), None),
        ]
        return families if exact is not None else [*families, (lev_in, None)]

    compiled = pairs.compiled
    if compiled is not None:
        raw = (pairs.raw_a, pairs.raw_b)
        tables = compiled.interval_bins(
            raw[which], raw[other], f, g, pairs.base[which], pairs.base[other], never
        )
        sums: list[tuple[np.ndarray, np.ndarray, np.ndarray]] | None = [
            _columns(table) for table in tables
        ]
    else:
        sums = pairs.level_sums(never + 1, binner)
    if sums is None:
        return None
    values_in = np.arange(pairs.base[which], pairs.top[which] + 1)
    values_out = np.arange(pairs.base[other], pairs.top[other] + 1)
    entering = [v[: f.size] for v in sums[0]]
    leaving = [v[: g.size] for v in sums[1]]
    # in-channel first: rows are (n, S_in, S_out, ...) for bins of the in-channel's levels
    if exact is None:
        total = _level_moments(values_in, True, *(v[: f.size] for v in sums[2])).sum(axis=1)
    else:
        n, s0, s1, s00, s11, s01 = exact
        total = np.array([n, s0, s1, s00, s11, s01] if which == 0 else [n, s1, s0, s11, s00, s01])
    cum_in = np.cumsum(_level_moments(values_in, True, *entering)[:, ::-1], axis=1)
    cum_out = np.cumsum(_level_moments(values_out, False, *leaving), axis=1)
    j = np.arange(k)
    n_in = np.searchsorted(f[::-1], j, side="right")  # levels (from the top) entered by j
    n_out = np.searchsorted(g, j, side="right")  # levels (from the bottom) left by j
    quadrant = np.where(n_in > 0, cum_in[:, n_in - 1], 0) - np.where(
        n_out > 0, cum_out[:, n_out - 1], 0
    )
    below = total[:, None] - quadrant
    return list(below.astype(np.float64))


# --------------------------------------------------------------------------------------------
# Costes' threshold
# --------------------------------------------------------------------------------------------


def costes_threshold(
    image0: object,
    image1: object,
    *,
    mask: object = None,
    method: CostesMethod = "bisection",
) -> CostesResult:
    r"""Costes' automatic thresholds, exactly as Fiji's Coloc 2 computes them.

    The orthogonal (total least squares) regression line of the two channels,

    .. math::
        m = \frac{\sigma_1^2 - \sigma_0^2 + \sqrt{(\sigma_1^2 - \sigma_0^2)^2 + 4\,
        \mathrm{cov}^2}}{2\,\mathrm{cov}}, \qquad b = \bar{y} - m\,\bar{x},

    (variances with the N - 1 divisor, ``cov = (var(A + B) - var(A) - var(B)) / 2``) is walked
    along the channel it leans towards (``image0`` when ``-1 < m < 1``, else ``image1``). For
    each candidate ``t`` the thresholds are ``T0 = round(t)``, ``T1 = round(m t + b)`` (or the
    other way round), rounded with Java's ``Math.round`` and clamped to the pixel type, and
    Pearson's r of the pixels *below* them (``A < T0`` OR ``B < T1``) is computed.

    - ``method="classic"`` (Coloc 2's "Costes"): ``t`` starts at the channel maximum and drops
      by 1 until r < 1e-4, r rises, or ``t < 1``.
    - ``method="bisection"`` (Coloc 2's "Bisection"): ``t`` starts at ``|max + min| / 2`` and
      moves by half the last step, down while r > 0 and up while r < 0, until the step is
      below 1 (or 100 iterations); a NaN r leaves ``t`` unchanged, which ends the search (as in
      Coloc 2, where ``Double.NaN == value`` is false).

    The result is the last candidate evaluated.

    ``method="jacop"`` reproduces JACoP 2.1.4's ``ImageColocalizer.CostesAutoThr``
    (github.com/fabricecordelieres/IJ-Plugin_JACoP at commit 291f24c), line by line:

    1. The line is the least squares fit of ``image1`` on ``image0`` (JACoP's ``linreg``:
       ``a = (n Sab - Sa Sb) / (n Saa - Sa^2)``, ``b = (Saa Sb - Sa Sab) / (n Saa - Sa^2)``),
       not Coloc 2's orthogonal line.
    2. ``LoopMin = (int) max(min0, (min1 - b) / a)`` and
       ``LoopMax = (int) min(max0, (max1 - b) / a)`` (Java's ``(int)``: truncation toward 0).
    3. For every integer ``i`` from ``LoopMax`` down to ``LoopMin``: ``T1 = (int)(a i + b)`` and
       r is Pearson's r of the pixels with ``image0 < i`` AND ``image1 < T1`` (both below,
       not Coloc 2's OR).
    4. The kept candidate is the last (lowest ``i``) whose r is at or below the lowest r seen
       before it (starting from 1): the lowest ``i`` at the global minimum of r (not of ``|r|``,
       and not the first zero crossing). ``LoopMax`` itself is never kept, and a NaN r is never
       kept; if nothing is kept (or the loop is empty, e.g. a negative slope makes
       ``LoopMax < LoopMin``), the thresholds are the channel maxima.
    5. ``threshold0 = i`` and ``threshold1 = (int)(a i + b)`` as JACoP prints them; JACoP's
       Costes mask and its thresholded Manders count ``> threshold``.

    JACoP's deliberate bugs, not copied: its Costes "M1/M2" (``sum(A[A > TA]) / sum(A)``)
    divides a channel by itself and never involves the other channel (use ``tm1_own`` /
    ``tm1`` of :func:`colocalize.coefficients` with these thresholds instead); its overlap,
    k1, k2 and the regression sum ``A * B`` multiply in Java ``int``, which overflows when
    the product exceeds 2**31 - 1 (both values above 46340), whereas our sums are exact; it
    logs the r of the *last* candidate evaluated as "below thresholds" where
    ``pearson_below`` is the r at the kept candidate. Other differences: a mask selects the
    pixels (JACoP has none); signed integer and float images are allowed (JACoP reads 8- and
    16-bit images), with float images of fractional values searched on the power-of-two grid
    ``step``; ``pearson_above`` keeps Coloc 2's definition; r comes from exact integer sums
    (JACoP: two-pass doubles), so it can differ in the last bits.

    ``method="ezcolocalization"`` reproduces EzColocalization's ``CostesThreshold.getCostesThrd``
    (github.com/DrHanLim/EzColocalization at commit c8abc7b, 2020-12-23, the 1.1.x release),
    line by line:

    1. The pixels are Java ``float`` s (float32) in Ez's order: a whole image row by row, a cell
       mask column by column within each plane. The line is the least squares fit of
       ``image1`` on ``image0`` as in JACoP (step 1 above), with each ``A * B`` and ``A * A``
       a float32 product summed in ``double``.
    2. With a slope >= 0 each pixel gets one value, ``p = min(slope * A + b, B)`` (with a
       slope of exactly 0: ``p = A``, a quirk), and the pixels are sorted by ``p`` in
       descending order with Ez's own quicksort (a Hoare partition around the middle
       element, not stable). Walking that order backwards, all pixels of equal ``p`` are
       added at once to the "below" set (``A <= T_A`` OR ``B <= T_B``, inclusive, for
       ``T_B = p`` and ``T_A = (p - b) / slope``) and ``r^2`` is computed from running sums
       (``cov^2 / (var_A var_B)``, all times ``n^2``, as Ez writes it).
    3. With a negative slope a pixel above the line (``slope * A + b < B``) leaves the below
       set when ``T_B`` falls below ``B`` and comes back when ``T_A`` rises to ``A``: two
       entries (``B`` and the line value), sorted together in descending order (pixels on
       or below the line have NaN entries, sorted last, which end the walk). Walking from
       all pixels, each run of equal values applies its entries; removals that come after
       the run's first addition *in Ez's order* are held until the next run (its
       ``tiesHolder``), so with ties the r^2 depends on that order. (Ez also ends a run
       before its array's very last entry; not reproduced: that entry is a NaN one whenever
       a pixel lies on or below the line, which least-squares residuals summing to 0 make
       all but certain.)
    4. The kept candidate is the first one (in walking order) with the smallest ``r^2``
       below 2.0: the minimum of ``|r|``, not the first ``r <= 0``, and never a threshold
       pair chosen for ``r < 0`` (Costes' criterion).
    5. The thresholds come from one pixel of the kept run: with a slope >= 0 the one at
       the run's first position in Ez's descending order; with a negative slope its last
       position, or, when the run removed pixels only, the first position of the *next*
       run (a NaN entry there or past the end: Ez's "Cannot compute" and NaN here). When
       that pixel's value came from the line (``p < B``) the thresholds are ``(A, p)``,
       else ``((p - b) / slope, p)``.

    Deliberate quirks of Ez, reproduced because they are its answer and named here so that
    they are not mistaken for ours: the thresholds are continuous (not grey levels), can be
    negative or beyond the data (neuron sample c0/c1: ``T_B = -21.15``, so every pixel of
    channel 1 is "above"; c1/c2: ``T_A = -278.5``), ``(p - b) / 0`` gives an infinite or
    NaN ``T_A`` with a slope of 0, and which pixel of a run of ties is read (so the
    result) depends on the order of its quicksort, which is reproduced exactly: only runs
    whose pixels would give different answers are sorted that way (a vectorised emulation
    of its partitions), the others in any order. Not copied into our coefficients: what Ez
    does with the thresholds. Its PCC is over the pixels above both (``A > T_A`` AND
    ``B > T_B``), where ours keep Coloc 2's ``pearson_below``/``pearson_above``; its M1/M2
    are our ``tm1_own``/``tm2_own`` and its TOS our ``tos_*`` (equal, tested); our
    ``tm1``/``tm2`` stay Coloc 2's (the other channel at or above its threshold *and*
    above 0), so a negative ``T_B`` never counts pixels of intensity 0 as colocalized.
    Differences: a mask of any shape (Ez: one cell ROI at a time,
    per slice of a stack; a stack here is one set of pixels, read plane by plane);
    ``pearson_below`` is the r of the kept run, ``pearson_above`` keeps Coloc 2's
    definition, ``step`` is 0 (continuous thresholds). The sums are exact (as Ez's) for
    integer-valued pixels while they stay below 2**53; for fractional float values they
    are summed in another order and can differ from Java's in the last bits.

    ``converged`` is True when some candidate evaluated had r below < 1e-4 (Coloc 2's own zero
    in its classic stepper); otherwise a ColocalizeWarning says where the search stopped.

    Parameters
    ----------
    image0, image1 : (M, N[, P]) ndarray
        The two channels (any real dtype, same shape). NaN is not allowed.
    mask : ndarray of bool, optional
        Only pixels where ``mask`` is non-zero are used (a mask of the last axes applies to
        every plane).
    method : {"bisection", "classic", "jacop", "ezcolocalization"}, optional
        The search. Coloc 2's dialog default is "Costes" (``"classic"``); bisection is much
        faster on 16-bit data and is the default here (kept so that results do not change
        between versions). ``"jacop"`` and ``"ezcolocalization"`` are those plugins'
        searches (below), to reproduce a JACoP or EzColocalization analysis.

    Returns
    -------
    CostesResult
        Thresholds in the images' units, the regression line, the below- and above-threshold
        Pearson r, and the number of candidates evaluated.

    Warns
    -----
    ColocalizeWarning
        Fewer than two pixels or a constant channel (no regression line): every field is NaN.
        The search did not converge (``converged`` is False).

    Notes
    -----
    Evaluation costs O(pixels + candidates) in total rather than O(pixels) per candidate:
    the candidates of either stepper lie on a monotone path (the classic stepper's integers,
    or the dyadic grid that bisection can reach), so every candidate's below-threshold sums
    come from one pass of cumulative histograms. For integer images (values within
    +-65536) the candidate at which a pixel enters the "above both" quadrant is a lookup in
    per-level tables; with a positive slope the levels of both channels are merged in entry
    order, so one bin per pixel (the later channel and its level) and the sums of ``A + B``
    and ``(A + B)**2`` give all six moments in exact integer arithmetic. Integer images whose
    joint range has at most a quarter as many cells as pixels are first reduced to their
    joint histogram; float images use a binary search per pixel.

    With numba installed (``pip install colocalize[fast]``) 8- and 16-bit images of at least
    2**20 pixels use compiled kernels (:mod:`colocalize._compiled`) that sum in int64, so the
    results are identical, bit for bit, to the numpy path. They bin the pixels by entry
    candidate in one pass, or, for bisection with a positive slope on channels with more
    than 49152 levels in all, sum the below-threshold quadrant of each visited point in one
    vectorised pass until the pixels that can still change side are few, then bin just those
    for every point left. Loading the kernels costs the numba import and numba's disk cache
    (about 0.6 s here; compiling them the first time on a machine, a few seconds), so calls
    use numpy until the numpy time they would have saved adds up to that cost, then load
    them (:func:`colocalize._compiled.loaded_kernels`): the first call in a fresh process
    costs what numpy costs, and a long run at most what the better choice would have cost
    plus the load. ``COLOCALIZE_NUMBA=0`` turns the kernels off.

    Deliberate differences from Coloc 2 (``sc.fiji.coloc.algorithms.AutoThresholdRegression``
    at commit 82af2de):

    - A constant channel or fewer than two pixels gives NaN and a warning (Coloc 2 computes a
      NaN slope, which Java's rounding then turns into thresholds of 0).
    - Each channel is clamped to its own dtype's range (Coloc 2 requires both images to have
      the same type and uses the first image's type).
    - Sums are taken in a different order from Java's. For integer images with values within
      +-65536 every sum is an exact integer (any number of pixels up to 2**29), so while the
      sums stay below 2**53 (8-bit: up to 1e11 pixels) each below-threshold r equals Coloc 2's
      bit for bit, and beyond that it is Coloc 2's formula applied to the exactly rounded sums
      (Java's running double sums then round differently, by ~1e-16 relative); the
      regression uses the exact integer moments, where Coloc 2's two-pass double sums may
      differ in the last bits of the slope. For float images (and integers beyond +-65536)
      the sums are float64 and differ from Java's by float64 rounding.
    - Candidates of float images with fractional values are not whole grey levels but
      multiples of a power-of-two ``step`` giving 2**16 to 2**17 steps over the wider channel's
      range (``CostesResult.step``): the search is Coloc 2's on the pixels divided by ``step``
      (exact), and the thresholds do not depend on the images' scale (up to that rounding of
      the step: scaling by a power of two scales the result exactly). On [0, 1] data Coloc 2's
      whole grey levels would evaluate nothing and report the channel maxima. Integer images,
      and float images of whole numbers with a range below 2**17, use whole grey levels as
      Coloc 2 does.

    A negative slope is handled exactly as by Coloc 2 (napari-colocalization returns NaN).

    References
    ----------
    .. [1] Costes, S. V. et al. (2004). Automatic and quantitative measurement of
       protein-protein colocalization in live cells. Biophys. J. 86(6), 3993-4003.
       :doi:`10.1529/biophysj.103.038422`

    Examples
    --------
    >>> import numpy as np
    >>> import colocalize
    >>> rng = np.random.default_rng(0)
    >>> signal = rng.gamma(2.0, 20.0, (64, 64))
    >>> a = np.clip(signal + rng.normal(0, 5, signal.shape), 0, 255).astype(np.uint8)
    >>> b = np.clip(0.8 * signal + rng.normal(0, 5, signal.shape), 0, 255).astype(np.uint8)
    >>> res = colocalize.costes_threshold(a, b)
    >>> res.threshold0, res.threshold1, round(res.slope, 2)
    (11.0, 8.0, 0.8)
    """
    check_costes_method(method, name="method")
    start = time.perf_counter()
    arr0, arr1, sel, a, b = _selected(image0, image1, mask)
    nan = float("nan")
    pairs = _Pairs(a, b) if a.size else None
    if pairs is None or a.size < 2 or pairs.a_min == pairs.a_max or pairs.b_min == pairs.b_max:
        ranges = (
            (nan,) * 4 if pairs is None else (pairs.a_min, pairs.a_max, pairs.b_min, pairs.b_max)
        )
        warn_degenerate(
            f"costes_threshold: {a.size} pixel(s) in the mask, "
            f"image0 range [{ranges[0]}, {ranges[1]}], image1 range [{ranges[2]}, {ranges[3]}]: "
            "a regression line needs at least two pixels and two non-constant channels; "
            "all results are NaN."
        )
        return CostesResult(nan, nan, nan, nan, nan, nan, 0, nan, False)

    if method == "ezcolocalization":
        return _ez_result(pairs, *_ez_pixels(arr0, arr1, sel))
    shift = _grid_shift(a, b)
    step = math.ldexp(1.0, shift)
    if shift:  # search in units of the step: exact, as the step is a power of two
        pairs = _Pairs(np.ldexp(a, -shift, dtype=np.float64), np.ldexp(b, -shift, dtype=np.float64))
    slope, intercept = pairs.regression()
    if not (math.isfinite(slope) and math.isfinite(intercept)):
        warn_degenerate(
            f"costes_threshold: the two channels have zero covariance (slope {slope}), so "
            "there is no regression line to walk; all results are NaN."
        )
        return CostesResult(nan, nan, slope, intercept * step, nan, nan, 0, step, False)
    if method == "jacop":
        a_s, b_s = (a, b) if not shift else (np.ldexp(a, -shift), np.ldexp(b, -shift))
        th0_final, th1_final, r_last, iterations, r_lowest, slope, intercept = _jacop(a_s, b_s)
    else:
        th0_final, th1_final, r_last, iterations, r_lowest = _coloc2_search(
            pairs, method, slope, intercept, (a.dtype, b.dtype), shift
        )
    above = pairs.above_pearson(th0_final, th1_final)
    if method != "jacop" and pairs.levels and pairs.counts is None and pairs.compiled is None:
        _compiled.spent(pairs.raw_a.size, time.perf_counter() - start)  # what numpy cost
    converged = _check_converged(
        method, r_lowest, math.ldexp(float(th0_final), shift), math.ldexp(float(th1_final), shift)
    )
    return CostesResult(
        threshold0=math.ldexp(float(th0_final), shift),
        threshold1=math.ldexp(float(th1_final), shift),
        slope=float(slope),
        intercept=math.ldexp(float(intercept), shift),
        pearson_below=float(r_last),
        pearson_above=float(above),
        iterations=int(iterations),
        step=step,
        converged=converged,
    )


def _coloc2_search(
    pairs: _Pairs,
    method: CostesMethod,
    slope: float,
    intercept: float,
    dtypes: tuple[np.dtype, np.dtype],
    shift: int,
) -> tuple[float, float, float, int, float]:
    """Coloc 2's walk down the regression line (``method`` ``"classic"`` or ``"bisection"``),
    on the grid of step ``2**shift``: threshold0, threshold1, r below them, candidates evaluated
    and the lowest r seen.

    The walk runs along the channel the line leans towards (``image0`` when ``-1 < slope < 1``);
    each candidate is rounded as Java rounds, then clamped and stored as its image's pixel type
    stores it (Coloc 2's ``T.setReal``, :func:`_store`).
    """
    walk_on_0 = -1 < slope < 1.0
    if walk_on_0:
        w_min, w_max = float(pairs.a_min), float(pairs.a_max)
    else:
        w_min, w_max = float(pairs.b_min), float(pairs.b_max)

    def thresholds(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if walk_on_0:
            t0, t1 = t, (t * slope) + intercept
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                t0, t1 = (t - intercept) / slope, t
        return _store(java_round(t0), dtypes[0], shift), _store(java_round(t1), dtypes[1], shift)

    if method == "classic":
        th0, th1, r_last, iterations = _classic(pairs, thresholds, w_max)
        r_lowest = r_last  # the stepper stops at the first r < 1e-4
    else:
        th0, th1, r_last, iterations, r_lowest = _bisection(pairs, thresholds, w_min, w_max)
    if iterations == 0:
        # Coloc 2 never evaluated a candidate: it reports the channel maxima.
        th0 = float(_store(np.asarray(float(pairs.a_max)), dtypes[0], shift))
        th1 = float(_store(np.asarray(float(pairs.b_max)), dtypes[1], shift))
        r_last = r_lowest = pairs.subset_pearson(pairs.outside(th0, th1, below=True))
    return th0, th1, r_last, iterations, r_lowest


def _selected(
    image0: object, image1: object, mask: object | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray, np.ndarray]:
    """Both images (checked, in native byte order), the mask and the selected pixels."""
    # native byte order once, here (e.g. big-endian TIFF data): the compiled kernels refuse
    # the other order; a copy only when the order differs, never a change to the caller's array
    arr0, arr1 = (
        arr.astype(arr.dtype.newbyteorder("="), copy=False)
        for arr in (as_image(image0, name="image0"), as_image(image1, name="image1"))
    )
    check_same_shape([arr0, arr1], ["image0", "image1"])
    if mask is None:
        return arr0, arr1, None, arr0.ravel(), arr1.ravel()
    sel = as_mask(mask, arr0.shape)
    return arr0, arr1, sel, arr0[sel], arr1[sel]


def regression_line(
    image0: object,
    image1: object,
    *,
    mask: object | None = None,
    method: CostesMethod = "bisection",
) -> tuple[float, float]:
    """The line :func:`costes_threshold` with ``method`` walks, ``(slope, intercept)`` in the
    images' units, without its search (which can take seconds) and without its warnings: Coloc
    2's orthogonal line for ``"bisection"`` and ``"classic"``, JACoP's and EzColocalization's
    least squares of ``image1`` on ``image0``. Equal to the result's ``slope`` and
    ``intercept``; NaN where it has none (fewer than two pixels, a constant channel)."""
    check_costes_method(method)
    arr0, arr1, sel, a, b = _selected(image0, image1, mask)
    nan = float("nan")
    if a.size < 2 or a.min() == a.max() or b.min() == b.max():
        return nan, nan
    if method == "ezcolocalization":
        slope, intercept = _ez_linreg(*_ez_pixels(arr0, arr1, sel))
        return float(slope), float(intercept)
    pairs = _Pairs(a, b)
    shift = _grid_shift(a, b)
    if method == "jacop":
        a_s, b_s = (a, b) if not shift else (np.ldexp(a, -shift), np.ldexp(b, -shift))
        slope, intercept = _ols(a_s, b_s)
        return float(slope), math.ldexp(float(intercept), shift)
    if shift:
        pairs = _Pairs(np.ldexp(a, -shift, dtype=np.float64), np.ldexp(b, -shift, dtype=np.float64))
    slope, intercept = pairs.regression()
    return float(slope), math.ldexp(float(intercept), shift)


def _check_converged(
    method: str, r_lowest: float, threshold0: float, threshold1: float, *, stacklevel: int = 4
) -> bool:
    """Whether the search reached r_below <= 0; warn with ColocalizeWarning when it did not.

    The warning points at the caller of :func:`costes_threshold` (``stacklevel`` 4 when that
    calls this directly, one more per function in between)."""
    converged = bool(r_lowest < _ZERO)
    if not converged:
        warn_degenerate(
            f"Costes' {method} search did not converge: the Pearson's r of the pixels below "
            f"the thresholds never reached 0 (lowest {r_lowest:.4g}); it stopped at "
            f"({threshold0:g}, {threshold1:g}), thresholds that do not separate uncorrelated "
            "background (the result's converged flag and the tables' costes_converged column "
            "say so). Check the mask/background, or use explicit thresholds.",
            stacklevel=stacklevel,
        )
    return converged


def _classic(pairs: _Pairs, thresholds, w_max: float) -> tuple[float, float, float, int]:
    """Coloc 2's ``SimpleStepper``: t = max, max - 1, ... evaluated in blocks along the path."""
    last_value = 1.0  # SimpleStepper's initial "current value"
    n_candidates = math.floor(w_max - 1.0) + 1 if w_max >= 1 else 1
    iterations = 0
    start = 0
    while True:
        stop = min(n_candidates, start + _BLOCK)
        t = w_max - np.arange(start, stop, dtype=np.float64)
        th0, th1 = thresholds(t)
        r = _below_pearson_path(pairs, th0, th1)
        for j in range(r.size):
            value = float(r[j])
            iterations += 1
            previous, last_value = last_value, value
            next_t = float(t[j]) - 1.0
            if next_t < 1 or value < 0.0001 or value > previous:
                return float(th0[j]), float(th1[j]), value, iterations
        start = stop
        if start >= n_candidates:  # pragma: no cover - the loop above always stops first
            return float(th0[-1]), float(th1[-1]), float(r[-1]), iterations


def _bisection(
    pairs: _Pairs, thresholds, w_min: float, w_max: float
) -> tuple[float, float, float, int, float]:
    """Coloc 2's ``BisectionStepper``, with candidates looked up on the dyadic grid.

    Returns the last candidate's thresholds and r, the number of candidates and the lowest r.
    """
    t = abs(w_max + w_min) * 0.5
    diff = abs(t - w_max)
    if not diff >= 1.0:
        return float("nan"), float("nan"), float("nan"), 0, float("nan")
    # Candidates reachable by bisection: t0 + j * delta, |j| < 2**depth.
    depth = 0
    while diff / 2.0 ** (depth + 1) >= 1.0 and depth < 100:
        depth += 1
    grid = _Grid(t, diff / 2.0**depth, 2**depth, thresholds)
    # compiled: few levels -> every grid point from one pass of per-level bins (L2-sized
    # tables); many levels and nested quadrants -> a few quadrant passes and one window
    levels = sum(top - base + 1 for base, top in zip(pairs.base, pairs.top))
    windows = pairs.compiled is not None and levels > _PATH_LEVELS and grid.nested()
    evaluate = _GridWindows(pairs, grid) if windows else _GridPath(pairs, grid)
    iterations = 0
    th0 = th1 = value = lowest = float("nan")
    while not (iterations > 100 or diff < 1.0):
        c0, c1 = thresholds(np.asarray([t]))
        th0, th1 = float(c0[0]), float(c1[0])
        j = round((t - grid.t0) / grid.delta)
        if abs(j) <= grid.half and grid.t0 + j * grid.delta == t:
            value = evaluate(j, round(diff / grid.delta), th0, th1)
        else:  # pragma: no cover - bisection stays on its grid
            value = pairs.subset_pearson(pairs.outside(th0, th1, below=True))
        iterations += 1
        if math.isnan(lowest) or value < lowest:
            lowest = value
        previous = t
        # Java: ``Double.NaN == value`` is always false, so NaN leaves t unchanged and stops.
        if value < 0:
            t = t + diff * 0.5
        elif value > 0:
            t = t - diff * 0.5
        diff = abs(t - previous)
    return th0, th1, value, iterations, lowest


@dataclass(frozen=True)
class _Grid:
    """The dyadic grid ``t0 + j * delta`` (``|j| <= half``) that bisection can reach."""

    t0: float
    delta: float
    half: int
    thresholds: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]

    def nested(self) -> bool:
        """Whether both thresholds fall along the grid (positive slope: nested quadrants)."""
        # each channel's thresholds are monotone along the grid: compare its two ends
        ends = self.thresholds(self.t0 + np.array([self.half, -self.half]) * self.delta)
        return all(th[0] >= th[1] for th in ends)

    def path(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        """The thresholds of grid points ``hi, hi - 1, ..., lo`` (decreasing t: monotone)."""
        return self.thresholds(self.t0 + np.arange(hi, lo - 1, -1, dtype=np.float64) * self.delta)


class _GridPath:
    """The below-threshold r of every grid point from one pass of per-level bins.

    O(pixels) once, then O(1) per step (numpy, or the compiled ``entry_bins``); beyond
    ``_BLOCK`` grid points each step reads the pixels instead.
    """

    def __init__(self, pairs: _Pairs, grid: _Grid) -> None:
        self.pairs, self.half = pairs, grid.half
        self.r = None
        if 2 * grid.half + 1 <= _BLOCK:
            self.r = _below_pearson_path(pairs, *grid.path(-grid.half, grid.half))

    def __call__(self, j: int, step: int, th0: float, th1: float) -> float:
        if self.r is None:
            return self.pairs.subset_pearson(self.pairs.outside(th0, th1, below=True))
        return float(self.r[self.half - j])


class _GridWindows:
    """Compiled kernels: r at each visited grid point, by the quadrant's exact sums.

    Faster than :class:`_GridPath` when the two channels have many levels (its per-level
    tables then spill out of the cache), at the price of reading the pixels once per early
    step instead of once in all. For a positive slope only, where the quadrants along the
    grid are nested.

    The below-threshold set is the complement of the quadrant ``A >= T0 AND B >= T1``. While
    bisection takes large steps, each visited point costs one pass of ``box_moments`` over the
    pixels. Only the pixels in the quadrant of the lowest point bisection can still visit but
    not of the highest (the ring) can still change side; once the points already visited show
    that the ring holds at most ``_RING`` of the pixels (and enough steps remain to pay for
    it), one :meth:`window` pass evaluates every point that is left.
    """

    def __init__(self, pairs: _Pairs, grid: _Grid) -> None:
        self.pairs, self.grid = pairs, grid
        self.total = np.array(pairs.exact_sums())
        self.known: dict[int, float] = {}
        self.quadrants: dict[int, np.ndarray] = {}  # the quadrant sums of visited points

    def __call__(self, j: int, step: int, th0: float, th1: float) -> float:
        if j not in self.known:
            # every later point lies within j +- (step - 1)
            lo, hi = max(-self.grid.half, j - step), min(self.grid.half, j + step)
            bound = self.ring_bound(lo, hi)
            if step >= _WINDOW_STEPS and bound <= _RING * self.total[0]:
                self.window(lo, hi, bound)
            else:
                self.quadrants[j] = self.pairs.box_sums((int(th0), int(th1)))
                self.known[j] = _pearson_of(self.total - self.quadrants[j])
        return self.known[j]

    def ring_bound(self, lo: int, hi: int) -> int:
        """An upper bound, from the points visited so far, of the pixels in the ring.

        The quadrants are nested, so the ring lies between the quadrants of the nearest
        visited points outside ``lo..hi`` (all pixels, or none, where there is none).
        """
        outer = max((j for j in self.quadrants if j <= lo), default=None)
        inner = min((j for j in self.quadrants if j >= hi), default=None)
        most = int(self.total[0]) if outer is None else int(self.quadrants[outer][0])
        return most - (0 if inner is None else int(self.quadrants[inner][0]))

    def window(self, lo: int, hi: int, bound: int) -> None:
        """Evaluate the grid points ``lo..hi`` with one pass over the pixels.

        The quadrant of point ``hi`` (highest thresholds) is usually a visited point, else it
        is summed directly; the pixels in the quadrant of point ``lo`` but not of ``hi`` (the
        ring) are collected and binned by the point at which they enter the quadrant.
        ``bound`` is an upper bound of the ring's pixels.
        """
        pairs = self.pairs
        compiled = pairs.compiled
        assert compiled is not None
        th0, th1 = self.grid.path(lo, hi)
        low, high = (int(th0[-1]), int(th1[-1])), (int(th0[0]), int(th1[0]))
        first = self.quadrants[hi] if hi in self.quadrants else self.pairs.box_sums(high)
        index = np.empty(bound + 1, dtype=np.intp)
        size = compiled.ring_select(pairs.raw_a, pairs.raw_b, *low, *high, index)
        if size > bound:  # pragma: no cover - the quadrants are nested
            raise RuntimeError(f"internal error: Costes ring of {size} pixels > bound {bound}")
        f0 = pairs.entry_table(0, th0, decreasing=True)
        f1 = pairs.entry_table(1, th1, decreasing=True)
        bins = compiled.ring_bins(
            pairs.raw_a, pairs.raw_b, index[:size], f0, f1, *pairs.base, th0.size
        )
        bins[0] += first
        below = self.total[:, None] - np.cumsum(bins, axis=0).T
        for j, r in zip(range(hi, lo - 1, -1), _fast_pearson(*below.astype(np.float64))):
            self.known[j] = float(r)


# --------------------------------------------------------------------------------------------
# JACoP's search
# --------------------------------------------------------------------------------------------


def _ols(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """JACoP's ``linreg``: least squares of b on a, from exact sums when the pixels allow."""
    exact = a.dtype.kind in "iu" and b.dtype.kind in "iu"
    if exact:
        ai, bi = a.astype(np.int64), b.astype(np.int64)
        n, sa, sb = a.size, int(ai.sum()), int(bi.sum())
        sab, saa = int(np.dot(ai, bi)), int(np.dot(ai, ai))
        den = float(n * saa - sa * sa)
        return float(n * sab - sa * sb) / den, float(saa * sb - sa * sab) / den
    af, bf = a.astype(np.float64), b.astype(np.float64)
    ma, mb = af.mean(), bf.mean()
    da, db = af - ma, bf - mb
    slope = float(np.dot(da, db) / np.dot(da, da))
    return slope, float(mb - slope * ma)


def _jacop(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float, int, float, float, float]:
    """JACoP 2.1.4's ``CostesAutoThr`` on the (grid-scaled) pixels ``a``, ``b``.

    Returns threshold0, threshold1, r below at them, candidates evaluated, lowest r, slope,
    intercept.
    """
    slope, intercept = _ols(a, b)
    a_min, a_max, b_min, b_max = (float(x) for x in (a.min(), a.max(), b.min(), b.max()))
    with np.errstate(divide="ignore", invalid="ignore"):
        loop_min = java_int(max(a_min, (b_min - intercept) / slope))
        loop_max = java_int(min(a_max, (b_max - intercept) / slope))
    nan = float("nan")
    if loop_max < loop_min:  # JACoP's loop never runs: it reports the channel maxima
        return a_max, b_max, nan, 0, nan, slope, intercept
    cand = np.arange(loop_min, loop_max + 1, dtype=np.float64)  # ascending
    t1 = np.trunc(cand * slope + intercept)  # (int)(a*i+b), candidates within int32
    # pixel p is "below" candidate k when a_p < cand[k] and b_p < t1[k]: one interval of k
    lo = np.searchsorted(cand, np.floor(a) + 1.0, side="left")  # a < i <=> i >= floor(a) + 1
    if slope >= 0:  # t1 rises with i: from the first t1 > b on
        lo = np.maximum(lo, np.searchsorted(t1, b, side="right"))
        hi = np.full(a.shape, cand.size)
    else:  # t1 falls with i: up to the last t1 > b
        hi = np.searchsorted(-t1, -b, side="left")
    keep = lo < hi
    sums = _interval_sums(a[keep], b[keep], lo[keep], hi[keep], cand.size)
    r = _moments_pearson(*sums)
    # JACoP walks i downwards and keeps the last i (never the first) whose r is at or below the
    # lowest r before it (starting at 1); a NaN r is never kept and never lowers that minimum.
    desc = r[::-1]
    finite = np.where(np.isnan(desc), np.inf, desc)
    before = np.minimum.accumulate(np.concatenate(([1.0], finite[:-1])))
    kept = np.flatnonzero(finite[1:] <= before[1:])
    lowest = float(np.nanmin(r)) if np.any(~np.isnan(r)) else nan
    if kept.size == 0:
        return a_max, b_max, nan, int(cand.size), lowest, slope, intercept
    k = cand.size - 2 - int(kept[-1])
    return float(cand[k]), float(t1[k]), float(r[k]), int(cand.size), lowest, slope, intercept


def _interval_sums(
    a: np.ndarray, b: np.ndarray, lo: np.ndarray, hi: np.ndarray, size: int
) -> list[np.ndarray]:
    """n, Sa, Sb, Saa, Sbb, Sab of the pixels whose interval [lo, hi) covers each candidate.

    Exact in int64 for integer pixels within +-2**16 (the sums of one candidate stay below
    2**63 up to 2**31 pixels); float64 otherwise, of values centred on their means.
    """
    exact = a.dtype.kind in "iu" and b.dtype.kind in "iu"
    if exact and a.size and max(abs(int(a.min())), abs(int(a.max()))) > _MAX_LEVEL:
        exact = False
    if exact and b.size and max(abs(int(b.min())), abs(int(b.max()))) > _MAX_LEVEL:
        exact = False
    kind = np.int64 if exact else np.float64
    x, y = a.astype(kind), b.astype(kind)
    if not exact and x.size:
        x, y = x - x.mean(), y - y.mean()
    out = []
    for w in (np.ones_like(x), x, y, x * x, y * y, x * y):
        delta = np.zeros(size + 1, dtype=kind)
        np.add.at(delta, lo, w)
        np.add.at(delta, hi, -w)
        out.append(np.cumsum(delta[:-1]))
    return out


def _moments_pearson(n, sa, sb, saa, sbb, sab) -> np.ndarray:
    """Pearson's r of every candidate from its sums (exact integer arithmetic for int64)."""
    if n.dtype == np.int64:
        obj = [v.astype(object) for v in (n, sa, sb, saa, sbb, sab)]
        num = obj[0] * obj[5] - obj[1] * obj[2]
        da = obj[0] * obj[3] - obj[1] * obj[1]
        db = obj[0] * obj[4] - obj[2] * obj[2]
        num, da, db = (v.astype(np.float64) for v in (num, da, db))
    else:
        num = n * sab - sa * sb
        da = n * saa - sa * sa
        db = n * sbb - sb * sb
    with np.errstate(divide="ignore", invalid="ignore"):
        r = num / np.sqrt(da * db)
    return np.where((n >= 2) & (da > 0) & (db > 0), r, np.nan)


# --------------------------------------------------------------------------------------------
# EzColocalization's search
# --------------------------------------------------------------------------------------------


def _ez_result(pairs: _Pairs, a: np.ndarray, b: np.ndarray) -> CostesResult:
    """``costes_threshold(method="ezcolocalization")`` from Ez's pixels and ours."""
    th0, th1, r_kept, iterations, r_lowest, slope, intercept = _ezcolocalization(a, b)
    if math.isnan(th0) or math.isnan(th1):
        above = float("nan")
    elif pairs.integer:  # A > t <=> A > floor(t) for whole numbers; clamped to the data
        t0 = min(max(math.floor(th0), int(pairs.a_min) - 1), int(pairs.a_max))
        t1 = min(max(math.floor(th1), int(pairs.b_min) - 1), int(pairs.b_max))
        above = pairs.above_pearson(t0, t1)
    else:
        above = pairs.above_pearson(th0, th1)
    converged = _check_converged("ezcolocalization", r_lowest, th0, th1, stacklevel=5)
    return CostesResult(
        threshold0=th0,
        threshold1=th1,
        slope=slope,
        intercept=intercept,
        pearson_below=r_kept,
        pearson_above=float(above),
        iterations=iterations,
        step=0.0,
        converged=converged,
    )


def _ez_pixels(
    arr0: np.ndarray, arr1: np.ndarray, sel: np.ndarray | None
) -> tuple[np.ndarray, ...]:
    """The pixels as EzColocalization reads them: float32, in its order.

    A whole image is read row by row (C order); a cell mask column by column within each
    plane (x outer, y inner). The order only decides ties of its quicksort.
    """
    if sel is None:
        a, b = arr0.ravel(), arr1.ravel()
    elif arr0.ndim < 2:
        a, b = arr0[sel], arr1[sel]
    else:
        sel_t = np.swapaxes(sel, -1, -2)
        a, b = np.swapaxes(arr0, -1, -2)[sel_t], np.swapaxes(arr1, -1, -2)[sel_t]
    return a.astype(np.float32), b.astype(np.float32)


def _sequential_sum(x: np.ndarray) -> float:
    """Java's running ``double`` sum, left to right (numpy's sum is pairwise), unless every
    value is a whole number (then any order gives the exact sum below 2**53)."""
    if np.array_equal(x, np.floor(x)):
        return float(x.sum(dtype=np.float64))
    return float(np.cumsum(x, dtype=np.float64)[-1])


def _ez_linreg(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """EzColocalization's ``CostesThreshold.linreg``: least squares of b on a.

    ``a * b`` and ``a * a`` are products of Java ``float``s (rounded to float32) summed in
    ``double``.
    """
    n = float(a.size)
    sa, sb = _sequential_sum(a), _sequential_sum(b)
    sab, saa = _sequential_sum(a * b), _sequential_sum(a * a)
    den = n * saa - sa * sa
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.float64(n * sab - sa * sb) / np.float64(den)
        intercept = np.float64(saa * sb - sa * sab) / np.float64(den)
    return float(slope), float(intercept)


def _quicksort_order(values: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """The permutation of EzColocalization's ``DataSorter.quickSortDouble``, exact at ``wanted``.

    Its sort is a recursive Hoare quicksort in descending order: the pivot is the middle
    element ``x[lo + (hi - lo) / 2]``; ``i`` walks right over values above the pivot and
    ``j`` left over values below it (NaN counts as the smallest value); when ``i <= j`` the
    two are swapped and both move on; then ``[lo, j]`` and ``[i, hi]`` are sorted. It is not
    stable: equal values end in an order that depends on the input order. Each partition is
    evaluated here in one vectorised step: the k-th value at or below the pivot from the
    left is swapped with the k-th value at or above it from the right while the first lies
    left of the second, and the final ``i``, ``j`` follow from the last such pair. Ranges
    without a wanted position are not sorted further (positions elsewhere are arbitrary).
    """
    x = np.where(np.isnan(values), -np.inf, values)
    idx = np.arange(x.size)
    stack = [(0, x.size - 1)]
    while stack:
        lo, hi = stack.pop()
        if lo >= hi or not wanted[lo : hi + 1].any():
            continue
        seg, sid = x[lo : hi + 1], idx[lo : hi + 1]
        pivot = seg[(hi - lo) // 2]
        left = np.flatnonzero(seg <= pivot)  # where i stops, left to right
        right = np.flatnonzero(seg >= pivot)[::-1]  # where j stops, right to left
        m = min(left.size, right.size)
        k = int(np.searchsorted(left[:m] - right[:m], 0, side="right"))  # swaps (>= 1)
        sl, sr = left[:k], right[:k]
        seg[sl], seg[sr] = seg[sr], seg[sl].copy()
        sid[sl], sid[sr] = sid[sr], sid[sl].copy()
        i, j = int(sl[-1]) + 1, int(sr[-1]) - 1
        if i <= j:  # one more scan each, which cross without a swap
            ni = int(left[k]) if k < left.size and left[k] <= j else int(sr[-1])
            nj = int(right[k]) if k < right.size and right[k] >= i else int(sl[-1])
            i, j = ni, nj
        if j > 0:
            stack.append((lo, lo + j))
        if lo + i < hi:
            stack.append((lo + i, hi))
    return idx


def _ez_group_bounds(sorted_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last positions of each run of equal values (Java's ``!=`` on doubles)."""
    cut = np.flatnonzero(sorted_values[1:] != sorted_values[:-1]) + 1
    starts = np.concatenate(([0], cut))
    ends = np.concatenate((cut - 1, [sorted_values.size - 1]))
    return starts, ends


def _ez_moments(a: np.ndarray, b: np.ndarray) -> Iterator[np.ndarray]:
    """Per pixel, one at a time: 1, A, B, A*A, B*B, A*B, products rounded to float32 as in
    Java."""
    yield np.ones(a.size)
    yield a.astype(np.float64)
    yield b.astype(np.float64)
    for x, y in ((a, a), (b, b), (a, b)):
        yield (x * y).astype(np.float64)


def _ez_square_r(sums: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """EzColocalization's r^2 of each row of sums (its operations, in its order) and r."""
    n, sa, sb, saa, sbb, sab = sums.T
    cov = n * sab - sa * sb
    da = n * saa - sa * sa
    db = n * sbb - sb * sb
    with np.errstate(divide="ignore", invalid="ignore"):
        return cov * cov / (da * db), cov / np.sqrt(da * db)


def _ez_first_minimum(square: np.ndarray) -> int:
    """The first candidate whose r^2 is below every earlier one, starting from 2.0; -1: none."""
    finite = np.where(np.isnan(square), np.inf, square)
    k = int(np.argmin(finite))  # the first occurrence of the minimum
    return k if finite[k] < 2.0 else -1


def _ezcolocalization(
    a: np.ndarray, b: np.ndarray
) -> tuple[float, float, float, int, float, float, float]:
    """EzColocalization's ``CostesThreshold.getCostesThrd`` on float32 pixels in its order.

    Returns threshold0, threshold1, r below at them, candidates evaluated, lowest r, slope,
    intercept.
    """
    slope, intercept = _ez_linreg(a, b)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    nan = float("nan")
    with np.errstate(invalid="ignore"):
        temp = slope * a64 + intercept
    if slope < 0:
        # Two events per pixel above the line (temp < B), walking T_B down from +inf: it
        # leaves "below" when T_B passes B (a removal, value B) and comes back when T_A
        # passes A (an addition, value temp). Pixels on or below the line never leave; their
        # two entries are NaN, sorted last, and end the walk.
        above = temp < b64
        values = np.concatenate((np.where(above, temp, nan), np.where(above, b64, nan)))
        is_add = np.arange(values.size) < a.size
        owner = np.concatenate((np.arange(a.size), np.arange(a.size)))
        count = 2 * int(np.count_nonzero(above))
    else:
        # One event per pixel: it is "below" once T_B reaches min(temp, B) (with slope 0,
        # Ez's quirk: A itself).
        values = a64.copy() if slope == 0 else np.where(temp < b64, temp, b64)
        is_add = values < b64  # Ez's test for "the threshold came from A"
        owner = np.arange(a.size)
        count = a.size
    order = np.argsort(-values, kind="stable")  # descending, NaN last; ties resolved below
    sv = values[order[:count]]
    if not count:  # nothing above the line: Ez's loop ends at once
        return nan, nan, nan, 0, nan, slope, intercept
    starts, ends = _ez_group_bounds(sv)
    # Groups whose members give different thresholds (or, with a negative slope, sums) need
    # Ez's own order of equal values: its quicksort on its array, at those positions only.
    key = np.where(is_add[order[:count]], a64[owner[order[:count]]], np.inf)
    differ = np.minimum.reduceat(key, starts) != np.maximum.reduceat(key, starts)
    wanted = np.zeros(values.size, dtype=bool)
    wanted[:count] = np.repeat(differ, ends - starts + 1)
    if differ.any():
        order = np.where(wanted, _quicksort_order(values, wanted), order)
    # Sums per run of ties (exact in any order for whole-number pixels), one moment at a time:
    # with a negative slope the entries of B are removals; otherwise every entry adds.
    groups = starts.size
    group_sorted = np.repeat(np.arange(groups), ends - starts + 1)
    group = np.full(values.size, groups)  # NaN entries: an extra bin, dropped
    group[order[:count]] = group_sorted
    removal = ~is_add & (slope < 0)
    adds_sorted = ~removal[order[:count]]
    has_add = np.bincount(group_sorted[adds_sorted], minlength=groups) > 0
    # Removals that come after their run's first addition in Ez's order are held until the
    # next run starts (its tiesHolder): only runs with both kinds, all among `wanted`.
    held = np.zeros(0, dtype=np.intp)
    if slope < 0 and wanted.any():
        pos = np.flatnonzero(wanted)
        first_add = np.full(groups, count)
        np.minimum.at(first_add, group_sorted[pos[adds_sorted[pos]]], pos[adds_sorted[pos]])
        late = ~adds_sorted[pos] & (pos > first_add[group_sorted[pos]])
        held = order[pos[late]]
    sums = np.empty((groups, 6))
    for k, moment in enumerate(_ez_moments(a, b)):
        entry = moment[owner]
        if slope < 0:
            entry = np.where(removal, -entry, entry)
        per_group = np.bincount(group, weights=entry, minlength=groups + 1)[:groups]
        if slope < 0:
            kept_back = np.bincount(group[held], weights=-entry[held], minlength=groups)
            sums[:, k] = moment.sum() + np.cumsum(per_group) + kept_back
        else:  # Ez walks its descending order backwards: ascending runs
            sums[:, k] = np.cumsum(per_group[::-1])
    square, r = _ez_square_r(sums)
    g = _ez_first_minimum(square)
    lowest = float(np.min(r, initial=np.inf, where=~np.isnan(r))) if (r == r).any() else nan
    if g < 0:  # every r^2 NaN: Ez's "Cannot compute Costes' thresholds"
        return nan, nan, nan, groups, lowest, slope, intercept
    if slope < 0:
        # an addition in the run: its last position; else the next run's first one
        pos_kept = int(ends[g]) if has_add[g] else int(ends[g]) + 1
    else:
        pos_kept = int(starts[groups - 1 - g])  # the run's first position (descending)
    if pos_kept >= count:  # Ez reads a NaN entry or past its array: "Cannot compute"
        return nan, nan, float(r[g]), groups, lowest, slope, intercept
    k = int(order[pos_kept])
    v = float(values[k])
    if is_add[k]:
        th0 = float(a64[owner[k]])
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            th0 = float(np.float64(v - intercept) / np.float64(slope))
    return th0, v, float(r[g]), groups, lowest, slope, intercept
