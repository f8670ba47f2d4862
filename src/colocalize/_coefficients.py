"""Colocalization coefficients for channel pairs and triples.

The engine works on *weighted points*: for 8/16-bit integer channels (and every ranked channel)
every pair is reduced once to the non-empty cells of its joint histogram (value0, value1, count,
see ``colocalize._ranks``), so every coefficient costs O(cells) after one pass over the pixels,
and Kendall's tau-b comes from the same cells. Float and wider integer channels without ranks
are read pixel by pixel (weight 1). Two 8/16-bit channels with the compiled kernels skip all
this: one fused pass sums every non-rank coefficient in exact integers. Every pass runs in
chunks; per-channel work (range, mean, and the codes of 8/16-bit channels) is done once and
shared by all pairs and triples; a wider channel is coded again by each pair that ranks it (its
per-pixel codes weigh about twice the channel). Values enter the sums exactly pivoted and scaled
by a power of two (see ``_Stats``), so no dtype overflows, underflows or loses its variance.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

import numpy as np

from colocalize import _compiled
from colocalize._costes import (
    CostesResult,
    check_costes_method,
    costes_threshold,
)
from colocalize._ranks import (
    ChannelCodes,
    JointCells,
    OffsetValues,
    RankLookup,
    RunningRanks,
    ValueRuns,
    channel_codes,
    chunks,
    joint_cells,
    kendall_tau_b,
    packed_rank_sums,
    packed_ranks_pay,
    subtract_exact,
    wide_cells,
)
from colocalize._selection import Saturated, select_pixels
from colocalize._validation import (
    as_image,
    at_least,
    check_same_shape,
    is_real,
    warn_degenerate,
)

__all__ = [
    "MEASURES",
    "ON_REQUEST",
    "Coefficients",
    "TripleCoefficients",
    "coefficients",
    "triple_coefficients",
]

Thresholds = None | str | Sequence[float]
Comparison = Literal["peers", ">", ">="]

#: The values of ``threshold_comparison`` (see :func:`coefficients`).
COMPARISONS: tuple[Comparison, ...] = ("peers", ">", ">=")

_NAN = math.nan
# Coded channels with at most this many distinct values get float64 tables per value; beyond,
# the values are looked up per chunk (a wide integer channel may have one value per pixel).
_MAX_TABLE = 1 << 16


@dataclass(frozen=True)
class Coefficients:
    """Colocalization coefficients of one channel pair (a = ``image0``, b = ``image1``).

    All values are Python floats (``n_pixels`` is an int). Fields that need thresholds are NaN
    when none were given. Sums run over the selected pixels (mask, minus excluded pixels). The
    comparisons below are those of numbers and Coloc 2's Costes thresholds; other sources count
    their own foreground in every field (:func:`coefficients`, "Threshold comparisons").

    Attributes
    ----------
    pearson : float
        Pearson's r, sum((a - ā)(b - b̄)) / sqrt(sum((a - ā)²) sum((b - b̄)²)).
    pearson_below, pearson_above : float
        Coloc 2's Pearson of the pixels below (``a < T_a or b < T_b``) and above
        (``a > T_a or b > T_b``) the thresholds.
    overlap : float
        Manders' overlap coefficient sum(ab) / sqrt(sum(a²) sum(b²)).
    k1, k2 : float
        sum(ab) / sum(a²) and sum(ab) / sum(b²) (so overlap² = k1 k2).
    m1, m2 : float
        Manders' M1 = sum(a[b > 0]) / sum(a) and M2 = sum(b[a > 0]) / sum(b).
    tm1, tm2 : float
        Coloc 2's thresholded Manders, tM1 = sum(a[b >= T_b and b > 0]) / sum(a): only the other
        channel is thresholded, with >=, and the denominator is all of a.
    tm1_own, tm2_own : float
        The JACoP / CellProfiler variant, sum(a[a > T_a and b > T_b]) / sum(a[a > T_a]).
    toverlap, tk1, tk2 : float
        JACoP's thresholded overlap coefficient and k1, k2: ``overlap``, ``k1``, ``k2`` of the
        pixels above both thresholds (``a > T_a and b > T_b``).
    tos_linear, tos_log2 : float
        Threshold overlap score (Sheng et al. 2016, EzColocalization's TOS(linear) and
        TOS(log2), not rounded) of the pixels above the thresholds (``a > T_a``, ``b > T_b``):
        1 for as much overlap as the two fractions allow, 0 for chance, -1 for as little as
        possible (:func:`colocalize.threshold_overlap_score`, which also offers Ez's top-x%
        thresholds). Only with ``measures=`` naming ``"tos"``.
    spearman : float
        Spearman's rho: Pearson's r of the average ranks.
    kendall_tau : float
        Kendall's tau-b.
    icq : float
        Li's intensity correlation quotient, #{(a - ā)(b - b̄) >= 0} / n - 0.5 (Coloc 2's
        convention: a zero product counts as positive).
    fraction_colocalized : float
        Fraction of pixels above both thresholds, #{a > T_a and b > T_b} / n.
    n_pixels : int
        Number of pixels used.
    threshold0, threshold1 : float
        The thresholds used, in the images' units (NaN when none).
    costes_converged : float
        With ``thresholds="costes"``: 1.0 when Costes' search converged (the Pearson's r below
        the thresholds reached 0, :attr:`CostesResult.converged`), 0.0 when it did not (the
        thresholds are where the search gave up; a ColocalizeWarning says so). NaN for any
        other thresholds. A float, not a bool, so that tables keep one numeric column.

    The property ``measures`` (not a field, so tables keep their columns) lists the measure
    groups computed (see :data:`MEASURES`): all of them unless ``measures=`` asked for fewer
    (``tos``, of :data:`ON_REQUEST`, only when asked for); the fields of the other groups are
    NaN because they were not asked for.
    """

    pearson: float
    pearson_below: float
    pearson_above: float
    overlap: float
    k1: float
    k2: float
    m1: float
    m2: float
    tm1: float
    tm2: float
    tm1_own: float
    tm2_own: float
    toverlap: float
    tk1: float
    tk2: float
    tos_linear: float
    tos_log2: float
    spearman: float
    kendall_tau: float
    icq: float
    fraction_colocalized: float
    n_pixels: int
    threshold0: float
    threshold1: float
    costes_converged: float = _NAN

    @property
    def measures(self) -> tuple[str, ...]:
        """The measure groups computed (:data:`MEASURES`)."""
        computed: tuple[str, ...] = self.__dict__.get("_measures", tuple(MEASURES))
        return computed


@dataclass(frozen=True)
class TripleCoefficients:
    """Colocalization coefficients of one channel triple (a, b, c).

    No peer tool offers these; they extend the pair definitions to three labels (the seed
    paper's stated goal). "Above threshold" means > T, or > 0 when no thresholds are given.

    Attributes
    ----------
    m0, m1, m2 : float
        Fraction of each channel's intensity where both other channels are above their
        thresholds, e.g. m0 = sum(a[b > T_b and c > T_c]) / sum(a). It answers: how much of a is
        where b and c are both present?
    fraction_colocalized : float
        Fraction of pixels above all three thresholds.
    overlap : float
        Three-way overlap sum(abc) / (sum(a³) sum(b³) sum(c³))^(1/3). By Hölder's inequality it
        lies in [0, 1] for non-negative images and equals 1 exactly when the three channels are
        proportional, like Manders' overlap for two.
    n_pixels : int
        Number of pixels used.
    threshold0, threshold1, threshold2 : float
        The thresholds used (NaN when none, i.e. "above zero").
    """

    m0: float
    m1: float
    m2: float
    fraction_colocalized: float
    overlap: float
    n_pixels: int
    threshold0: float
    threshold1: float
    threshold2: float


_FLOAT_FIELDS = tuple(
    f.name
    for f in fields(Coefficients)
    if f.name not in ("n_pixels", "threshold0", "threshold1", "costes_converged")
)

#: The measure groups of :func:`coefficients` (``measures=``) and the fields each one fills.
#: Fields of thresholded measures also need ``thresholds``.
MEASURES: dict[str, tuple[str, ...]] = {
    "pearson": ("pearson", "pearson_below", "pearson_above"),
    "overlap": ("overlap", "k1", "k2"),
    "manders": ("m1", "m2"),
    "thresholded_manders": ("tm1", "tm2", "tm1_own", "tm2_own", "fraction_colocalized"),
    "thresholded_overlap": ("toverlap", "tk1", "tk2"),
    "icq": ("icq",),
    "spearman": ("spearman",),
    "kendall": ("kendall_tau",),
}
_RANKED = ("spearman", "kendall")
#: Groups computed only when ``measures=`` names them (None means the groups of
#: :data:`MEASURES`): EzColocalization's threshold overlap score costs extra passes and is
#: NaN, with a warning, whenever a channel is entirely above its threshold.
ON_REQUEST: dict[str, tuple[str, ...]] = {"tos": ("tos_linear", "tos_log2")}
_GROUPS = {**MEASURES, **ON_REQUEST}


def resolve_measures(
    measures: str | Sequence[str] | None, *, rank_coefficients: bool = True
) -> tuple[str, ...]:
    """The requested measure groups, in :data:`MEASURES` then :data:`ON_REQUEST` order (None:
    all of :data:`MEASURES`).

    ``rank_coefficients=False`` drops ``spearman`` and ``kendall``.
    """
    if measures is None:
        wanted = set(MEASURES)
    else:
        names = [measures] if isinstance(measures, str) else list(measures)
        unknown = [m for m in names if not isinstance(m, str) or m.lower() not in _GROUPS]
        if unknown or not names:
            raise ValueError(
                f"measures={measures!r} is not valid: pass one or more of "
                f"{', '.join(_GROUPS)} (or None for all but {', '.join(ON_REQUEST)})"
            )
        wanted = {m.lower() for m in names}
    if not rank_coefficients:
        wanted -= set(_RANKED)
    return tuple(m for m in _GROUPS if m in wanted)


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator != 0 else _NAN


@dataclass
class _Reasons:
    """Collects why fields are NaN, for one warning per call."""

    items: list[str] = field(default_factory=list)

    def add(self, fields: str, why: str) -> None:
        self.items.append(f"{fields} (because {why})")

    def warn(self, what: str) -> None:
        if self.items:
            warn_degenerate(f"{what}: NaN for " + "; ".join(self.items), stacklevel=5)


def _exponent(span: float) -> int:
    """e such that span * 2**-e lies in [0.5, 1) (0 for a zero span)."""
    return math.frexp(float(span))[1] if span else 0


@dataclass(frozen=True)
class _Stats:
    """One channel's selected pixels: exact range, scaling exponents, mean and total.

    Values are used as ``ldexp(x - pivot, -rel_exp)`` (in [0, 1): centred sums neither overflow,
    underflow nor lose the variance of data far from zero) and ``ldexp(x, -abs_exp)`` (in [0, 1):
    sums of products never overflow). ``mean`` and ``total`` are their means and sums.
    """

    low: float
    high: float
    pivot: float
    rel_exp: int
    abs_exp: int
    mean: float
    total: float

    @property
    def constant(self) -> bool:
        return self.low == self.high


class _CoefficientEngine:
    """The engine behind every coefficient: the selected pixels of several channels, and the
    pair (:meth:`pair`) and triple (:meth:`triple`) coefficients of any of them.

    Per-channel statistics, and the codes of 8/16-bit channels, are computed once, on demand,
    and shared by every pair; a wider channel keeps no per-pixel codes after a pair's joint
    cells (:meth:`_cells`). 8/16-bit integer channels, and any channel a pair ranks, are reduced
    per pair to their joint cells (value0, value1, count); other channels are read pixel by
    pixel. Every pass runs in chunks, and float64 tables per value are built only for up to
    ``_MAX_TABLE`` values (beyond, average ranks come per chunk from narrow cumulative counts),
    so the memory beyond the codes and cells is a few MiB.
    """

    def __init__(self, flats: list[np.ndarray], names: Sequence[str]) -> None:
        self.flats = flats
        self.names = list(names)
        self.n = flats[0].size if flats else 0
        self._codes: dict[int, ChannelCodes] = {}
        self._stats: dict[int, _Stats] = {}

    def codes(self, i: int) -> ChannelCodes:
        if i not in self._codes:
            self._codes[i] = channel_codes(self.flats[i])
        return self._codes[i]

    def _coded(self, i: int) -> bool:
        """Whether channel i is read through its codes (else pixel by pixel, in chunks).

        8/16-bit and boolean channels are; wider integers only once coded for ranks: with up to
        one distinct value per pixel their codes and per-value tables would take several times
        the image's memory for no saving.
        """
        dtype = self.flats[i].dtype
        return i in self._codes or (dtype.kind in "iub" and dtype.itemsize <= 2)

    def stats(self, i: int) -> _Stats:
        if i not in self._stats:
            if self._coded(i):
                c = self.codes(i)
                present = c.counts > 0  # the first and last values with pixels
                low = c.exact[int(np.argmax(present))].item()
                high = c.exact[c.n_codes - 1 - int(np.argmax(present[::-1]))].item()
                pivot = c.exact[0].item()
                rel_exp, abs_exp = _exponent(high - pivot), _exponent(high)
                if c.n_codes <= _MAX_TABLE:
                    mean = float(np.sum(c.counts * np.ldexp(c.relative, -rel_exp))) / self.n
                    total = float(np.sum(c.counts * np.ldexp(c.values, -abs_exp)))
                else:  # chunked: no float64 table per value
                    rel_sums, abs_sums = [], []
                    for part in chunks(c.n_codes):
                        w = c.counts[part].astype(np.float64)
                        x = subtract_exact(c.exact[part], pivot).astype(np.float64)
                        rel_sums.append(float(np.sum(w * np.ldexp(x, -rel_exp))))
                        x = c.exact[part].astype(np.float64)
                        abs_sums.append(float(np.sum(w * np.ldexp(x, -abs_exp))))
                    mean, total = math.fsum(rel_sums) / self.n, math.fsum(abs_sums)
            else:
                flat = self.flats[i]
                low, high = flat.min().item(), flat.max().item()
                pivot = low
                rel_exp, abs_exp = _exponent(high - low), _exponent(high)
                rel_sums, abs_sums = [], []
                for part in chunks(self.n):
                    x = flat[part].astype(np.float64)
                    abs_sums.append(float(np.sum(np.ldexp(x, -abs_exp))))
                    x = subtract_exact(flat[part], pivot)  # as the codes' relative values
                    rel_sums.append(float(np.sum(np.ldexp(x.astype(np.float64), -rel_exp))))
                mean, total = math.fsum(rel_sums) / self.n, math.fsum(abs_sums)
            self._stats[i] = _Stats(low, high, pivot, rel_exp, abs_exp, mean, total)
        return self._stats[i]

    def pair(
        self,
        i: int,
        j: int,
        thresholds: tuple[float, float] | None,
        *,
        measures: tuple[str, ...] = tuple(MEASURES),
        comparison: Comparison = "peers",
    ) -> Coefficients:
        """The coefficients of channels ``i`` and ``j``, the thresholds compared by
        ``comparison`` (see :class:`_Cuts`)."""
        reasons = _Reasons()
        result = self._pair(i, j, thresholds, measures, reasons, comparison)
        reasons.warn(f"coefficients of {self.names[i]} and {self.names[j]}")
        return result

    def _cells(self, i: int, j: int, ranks: bool) -> _Cells | None:
        """The joint cells of channels ``i`` and ``j`` and their codes, when the pair is read
        through them (None: pixel by pixel).

        A channel wider than 16 bits keeps no codes after this (its statistics are taken
        first): with up to one value per pixel its per-pixel codes weigh about twice the
        channel, and the pair's later steps need only its values and counts. A later pair
        codes it again; 8/16-bit codes are small and kept for every pair. Two wide integer
        channels are not coded at all when :func:`wide_cells` applies.
        """
        if not (ranks or (self._coded(i) and self._coded(j))):
            return None
        if not (self._coded(i) or self._coded(j)):
            # two wide integer channels: their cells without per-pixel codes, when they fit
            wide = wide_cells(self.flats[i], self.flats[j])
            if wide is not None:
                return _Cells(*wide)
        both = (self.codes(i), self.codes(j))
        cells = joint_cells(*both)
        kept = []
        for c, codes in zip((i, j), both):
            self.stats(c)
            if self.flats[c].dtype.itemsize > 2:
                self._codes.pop(c, None)
                codes = codes.without_pixels()
            kept.append(codes)
        return _Cells(cells, kept[0], kept[1])

    def _sides(
        self, i: int, j: int, coded: _Cells | None, thresholds: _Cuts | None, ranks: bool
    ) -> list[_Side]:
        cuts = [None if thresholds is None else thresholds.side(t) for t in (0, 1)]
        parts: list[tuple[ChannelCodes | ValueRuns | None, np.ndarray | None]]
        parts = [(None, None), (None, None)]
        if coded is not None:
            parts = [(coded.codes0, coded.cells.code0), (coded.codes1, coded.cells.code1)]
        # the cells are sorted by channel i's codes: its ranks need no cumulative counts
        return [
            _Side(self.flats[c], codes, index, self.stats(c), cut, ranks, ordered=c == i)
            for c, (codes, index), cut in zip((i, j), parts, cuts)
        ]

    def _pair(
        self,
        i: int,
        j: int,
        thresholds: tuple[float, float] | None,
        measures: tuple[str, ...],
        reasons: _Reasons,
        comparison: Comparison,
    ) -> Coefficients:
        """The coefficients of :meth:`pair`, with why any field is NaN added to ``reasons``.

        Drops NaN thresholds, returns all-NaN for an empty selection, takes the sums the
        ``measures`` need in one place (:meth:`_pixel_sums`) and turns them into each group's
        values.
        """
        t0, t1 = thresholds if thresholds is not None else (_NAN, _NAN)
        wanted = set(measures)
        thresholds = _usable_thresholds(thresholds, wanted, reasons)
        n = self.n
        values = dict.fromkeys(_FLOAT_FIELDS, _NAN)
        if n == 0:
            reasons.add("every coefficient", "no pixel is selected (empty mask or all excluded)")
            empty = Coefficients(**values, n_pixels=0, threshold0=t0, threshold1=t1)
            return _computed(empty, measures)
        cuts = None if thresholds is None else _Cuts.of(thresholds, comparison)
        sums = self._pixel_sums(i, j, cuts, wanted)
        names = (self.names[i], self.names[j])
        values.update(_centred_values(sums, wanted, names, n, reasons))
        values.update(_absolute_values(sums, wanted, names, reasons))
        if cuts is not None:
            values.update(self._thresholded_values(i, j, cuts, sums, wanted, reasons))
        result = Coefficients(**values, n_pixels=int(n), threshold0=float(t0), threshold1=float(t1))
        return _computed(result, measures)

    def _thresholded_values(
        self,
        i: int,
        j: int,
        cuts: _Cuts,
        sums: dict[str, float],
        wanted: set[str],
        reasons: _Reasons,
    ) -> dict[str, float]:
        """The wanted fields that need thresholds: the thresholded Manders' coefficients, JACoP's
        thresholded overlap, TOS, and Pearson's r below and above the thresholds."""
        values: dict[str, float] = {}
        if "thresholded_manders" in wanted:
            names = (self.names[i], self.names[j])
            values.update(_thresholded_manders(sums, names, self.n, reasons))
        if "thresholded_overlap" in wanted:
            values.update(self._thresholded_overlap(i, j, *cuts.above, sums, reasons))
        if "tos" in wanted:
            values.update(self._tos(i, j, *cuts.above, sums, reasons))
        if "pearson" in wanted:
            values.update(_subset_pearsons(sums, reasons))
        return values

    def _thresholded_overlap(
        self, i: int, j: int, t0: float, t1: float, sums: dict[str, float], reasons: _Reasons
    ) -> dict[str, float]:
        """JACoP's overlap, k1 and k2 of the pixels with a > T_a and b > T_b.

        From the fused pass's exact integer sums when it ran (``sums["t_ab"]``, ...), else by
        one chunked numpy pass over the values scaled by a power of two into [-1, 1) (exact
        scaling, so no square overflows).
        """
        if "t_ab" in sums:
            count = sums["both"]
            sab, saa, sbb, scale = sums["t_ab"], sums["t_aa"], sums["t_bb"], 0
        else:
            a, b = self.flats[i], self.flats[j]
            ea, eb = (
                _exponent(max(abs(s.low), abs(s.high))) for s in (self.stats(i), self.stats(j))
            )
            count, scale = 0, eb - ea
            sab = saa = sbb = 0.0
            for part in chunks(self.n):
                both = at_least(a[part], t0, strict=True) & at_least(b[part], t1, strict=True)
                x = np.ldexp(a[part][both].astype(np.float64), -ea)
                y = np.ldexp(b[part][both].astype(np.float64), -eb)
                count += x.size
                # pairwise sums, not BLAS: OpenBLAS's threads would spin on the other core
                sab += float(np.sum(x * y))
                saa += float(np.sum(x * x))
                sbb += float(np.sum(y * y))
        if not count:
            reasons.add("toverlap, tk1, tk2", "no pixel is above both thresholds")
            return dict.fromkeys(("toverlap", "tk1", "tk2"), _NAN)
        if saa == 0 or sbb == 0:  # pragma: no cover - above a threshold >= 0 means > 0
            return dict.fromkeys(("toverlap", "tk1", "tk2"), _NAN)
        return {
            "toverlap": _clip(sab / math.sqrt(saa * sbb)),
            "tk1": _ldexp(sab / saa, scale),
            "tk2": _ldexp(sab / sbb, -scale),
        }

    def _tos(
        self, i: int, j: int, t0: float, t1: float, sums: dict[str, float], reasons: _Reasons
    ) -> dict[str, float]:
        """EzColocalization's TOS of the pixels with a > T_a, b > T_b (:mod:`colocalize._tos`),
        from the fused pass's counts when it ran, else by one chunked numpy pass."""
        from colocalize._tos import tos_scores

        if "n_above0" in sums:
            counts = [int(sums["n_above0"]), int(sums["n_above1"]), int(sums["both"])]
        else:
            counts = [0, 0, 0]
            for part in chunks(self.n):
                above0 = at_least(self.flats[i][part], t0, strict=True)
                above1 = at_least(self.flats[j][part], t1, strict=True)
                counts[0] += int(np.count_nonzero(above0))
                counts[1] += int(np.count_nonzero(above1))
                counts[2] += int(np.count_nonzero(above0 & above1))
        linear, log2, _ = tos_scores(int(self.n), *counts)
        if math.isnan(linear) or math.isnan(log2):
            reasons.add("tos_linear, tos_log2", "nothing, or everything, is above a threshold")
        return {"tos_linear": linear, "tos_log2": log2}

    def _fusable(self, i: int, j: int) -> bool:
        """Whether :meth:`_fused_sums` applies (with the compiled kernels)."""
        small = all(
            self.flats[c].dtype.kind in "iu"
            and self.flats[c].dtype.itemsize <= 2
            and self.flats[c].dtype.isnative  # numba refuses big-endian data (e.g. from TIFF)
            for c in (i, j)
        )
        return small and self.n < 1 << 31  # int64 stays exact

    def _fused_sums(
        self, i: int, j: int, thresholds: _Cuts | None, wanted: set[str]
    ) -> dict[str, float] | None:
        """The non-rank sums of two 8/16-bit channels in exact integers, by one compiled pass
        after one read (None when that path does not apply: other dtypes, no compiled kernels).

        Same keys as :meth:`_pixel_sums`, unscaled (``k_exp`` 0); centred sums are n times the
        exact ones, so every ratio is the exact one rounded once or twice. Empty when only rank
        measures are wanted: they need no pass here.
        """
        a, b = self.flats[i], self.flats[j]
        n = self.n
        if not self._fusable(i, j):
            return None
        compiled = _compiled.loaded_kernels(n)
        if compiled is None:
            return None
        if not wanted - set(_RANKED):
            return {}  # the rank measures alone: their spreads tell a constant channel
        sum_a, sum_b = int(a.sum(dtype=np.int64)), int(b.sum(dtype=np.int64))
        t = thresholds.above if thresholds is not None else (0.0, 0.0)
        t_ge = thresholds.at_least if thresholds is not None else (0.0, 0.0)
        bounds = [
            # above the mean: n x > S <=> x >= floor(S / n) + 1; below: x <= ceil(S / n) - 1
            sum_a // n + 1,
            -(-sum_a // n) - 1,
            sum_b // n + 1,
            -(-sum_b // n) - 1,
            _integer_bound(t_ge[0]),
            _integer_bound(t[0], strict=True),
            _integer_bound(t_ge[1]),
            _integer_bound(t[1], strict=True),
        ]
        raw = [int(v) for v in compiled.pair_sums(a, b, np.array(bounds, dtype=np.int64))]
        saa, sbb, sab, disc, m1, m2, tm1, tm2, own0, own1, both0, both1, nboth = raw[:13]
        sums: dict[str, float] = {
            "suu": n * saa - sum_a * sum_a,
            "svv": n * sbb - sum_b * sum_b,
            "suv": n * sab - sum_a * sum_b,
            "icq": disc,
            "a": sum_a,
            "b": sum_b,
            "aa": saa,
            "bb": sbb,
            "ab": sab,
            "k_exp": 0,
            "m1": m1,
            "m2": m2,
        }
        if thresholds is not None:
            sums.update(tm1=tm1, tm2=tm2, own_u=own0, own_v=own1, both_u=both0, both_v=both1)
            sums["both"] = nboth
            sums["below"] = _exact_pearson(*raw[13:19])
            sums["above"] = _exact_pearson(*raw[19:25])
            sums.update(zip(("t_ab", "t_aa", "t_bb", "n_above0", "n_above1"), raw[25:]))
        return sums

    def _rank_sums(self, i: int, j: int, wanted: set[str]) -> dict[str, float]:
        """Spearman's centred rank sums and Kendall's tau-b of two 8/16-bit channels from packed
        keys: with the compiled kernels once loaded (as :meth:`_fused_sums`), else numpy."""
        if not wanted & set(_RANKED):
            return {}
        return packed_rank_sums(
            self.flats[i],
            self.flats[j],
            _compiled.loaded_kernels(self.n),
            spearman="spearman" in wanted,
            kendall="kendall" in wanted,
        )

    def _pixel_sums(
        self, i: int, j: int, thresholds: _Cuts | None, wanted: set[str]
    ) -> dict[str, float]:
        """The sums the wanted measures need, by chunked passes over the points (numpy).

        Values are scaled (see :class:`_Stats`); ``suu``, ``svv``, ``suv`` are centred sums,
        ``k_exp`` undoes the scaling in k1, ``below``/``above`` are Pearson's r of the subsets
        and ``kendall`` is Kendall's tau-b.
        """
        n = self.n
        start = time.perf_counter()
        fused = self._fused_sums(i, j, thresholds, wanted)
        if fused is not None:
            fused.update(self._rank_sums(i, j, wanted))
            return fused
        centred = bool(wanted & {"pearson", "icq", "spearman", "kendall"})
        ranked: dict[str, float] = {}
        # many (x, y) value pairs per pixel: the joint cells could be about as many as the
        # pixels, weigh more (codes, keys) and save no work, so the packed keys rank the pair
        # (no codes, no cells) and the other sums read the pixels
        many = self._fusable(i, j) and packed_ranks_pay(self.flats[i], self.flats[j])
        if wanted & set(_RANKED) and many:
            ranked = self._rank_sums(i, j, wanted)
            wanted = wanted - set(_RANKED)
        ranks = bool(wanted & set(_RANKED))
        absolute = bool(wanted & {"overlap", "manders", "thresholded_manders"})
        if "thresholded_manders" not in wanted and "pearson" not in wanted:
            thresholds = None
        coded = None if many else self._cells(i, j, ranks)
        sums: dict[str, float] = {}
        if "kendall" in wanted and coded is not None:
            # before the sides' tables: Kendall's own arrays are freed when it returns
            sums["kendall"] = kendall_tau_b(coded.codes0, coded.codes1, coded.cells)
        a, b = self._sides(i, j, coded, thresholds, ranks)
        size = n if coded is None else coded.cells.counts.size
        weights = None if coded is None else coded.cells.counts
        subsets: dict[str, _Subset] = {}
        pearson_subsets = thresholds is not None and "pearson" in wanted
        if pearson_subsets:
            subsets = {"below": _Subset(), "above": _Subset()}
        centre = (n + 1) / 2.0
        for part in chunks(size):
            w = None if weights is None else weights[part].astype(np.float64)

            def add(key: str, term: np.ndarray, w: np.ndarray | None = w) -> None:
                # pairwise summation, not BLAS: more accurate, no thread start-up per call
                value = float(np.sum(term * w)) if w is not None else float(np.sum(term))
                sums[key] = sums.get(key, 0.0) + value

            a.load(part)
            b.load(part)
            if centred:
                uc, vc = a.centred, b.centred
                add("u", uc)
                add("v", vc)
                add("uu", uc * uc)
                add("vv", vc * vc)
                add("uv", uc * vc)
                if "icq" in wanted:
                    add("icq", (((uc > 0) & (vc < 0)) | ((uc < 0) & (vc > 0))).astype(np.float64))
            if absolute:
                add("a", a.absolute)
                add("b", b.absolute)
            if "overlap" in wanted:
                add("ab", a.absolute * b.absolute)
                add("aa", a.absolute * a.absolute)
                add("bb", b.absolute * b.absolute)
            if "manders" in wanted:
                add("m1", np.where(b.positive, a.absolute, 0.0))
                add("m2", np.where(a.positive, b.absolute, 0.0))
            if "spearman" in wanted:
                ru, rv = a.rank - centre, b.rank - centre
                add("ruu", ru * ru)
                add("rvv", rv * rv)
                add("ruv", ru * rv)
            if thresholds is not None and "thresholded_manders" in wanted:
                above_u, above_v = a.above, b.above
                both = above_u & above_v
                add("tm1", np.where(b.at_least & b.positive, a.absolute, 0.0))
                add("tm2", np.where(a.at_least & a.positive, b.absolute, 0.0))
                add("own_u", np.where(above_u, a.absolute, 0.0))
                add("own_v", np.where(above_v, b.absolute, 0.0))
                add("both_u", np.where(both, a.absolute, 0.0))
                add("both_v", np.where(both, b.absolute, 0.0))
                add("both", both.astype(np.float64))
            if pearson_subsets:
                for name, subset in subsets.items():
                    subset.first(a.centred, b.centred, w, _subset_of(name, a, b))
        if centred:
            # corrected two-pass sums (Chan, Golub & LeVeque 1983): the means' rounding cancels
            sums["suu"] = sums["uu"] - sums["u"] ** 2 / n
            sums["svv"] = sums["vv"] - sums["v"] ** 2 / n
            sums["suv"] = sums["uv"] - sums["u"] * sums["v"] / n
            # exact test: a constant channel's centred values may be rounding noise, not zero
            for key, c in (("suu", i), ("svv", j)):
                if self.stats(c).constant:
                    sums[key] = 0.0
        sums["k_exp"] = self.stats(j).abs_exp - self.stats(i).abs_exp
        if pearson_subsets:
            for part in chunks(size):
                w = None if weights is None else weights[part].astype(np.float64)
                a.load(part, ranks=False)  # the subsets' second pass needs no ranks
                b.load(part, ranks=False)
                for name, subset in subsets.items():
                    subset.second(a.centred, b.centred, w, _subset_of(name, a, b))
            sums["below"], sums["above"] = subsets["below"].pearson(), subsets["above"].pearson()
        sums.update(ranked)
        if self._fusable(i, j):  # what the fused pass (and the packed-key ranks) would save
            _compiled.spent(n, time.perf_counter() - start)
        return sums

    def triple(
        self,
        i: int,
        j: int,
        k: int,
        thresholds: tuple[float, float, float] | None,
        *,
        comparison: Comparison = "peers",
    ) -> TripleCoefficients:
        """Triple coefficients; every test is ``x > T`` (``x >= T`` with ``comparison=">="``)."""
        reasons = _Reasons()
        levels = thresholds if thresholds is not None else (0.0, 0.0, 0.0)
        if thresholds is not None and comparison == ">=":
            low = [float(np.nextafter(t, -math.inf)) for t in thresholds]
            levels = (low[0], low[1], low[2])
        recorded = thresholds if thresholds is not None else (_NAN, _NAN, _NAN)
        n = self.n
        if n == 0:
            reasons.add("every coefficient", "no pixel is selected")
            reasons.warn(f"coefficients of {self.names[i]}, {self.names[j]}, {self.names[k]}")
            return TripleCoefficients(_NAN, _NAN, _NAN, _NAN, _NAN, 0, *map(float, recorded))
        channels = (i, j, k)
        exps = [self.stats(c).abs_exp for c in channels]
        inside = [0.0, 0.0, 0.0]
        cubes = [0.0, 0.0, 0.0]
        product = 0.0
        count = 0
        for part in chunks(n):
            raw = [self.flats[c][part] for c in channels]
            xs = [np.ldexp(x.astype(np.float64), -e) for x, e in zip(raw, exps)]
            above = [at_least(x, t, strict=True) for x, t in zip(raw, levels)]
            for c in range(3):
                others = above[(c + 1) % 3] & above[(c + 2) % 3]
                inside[c] += float(np.sum(xs[c], where=others))
                cubes[c] += float(np.sum(xs[c] * xs[c] * xs[c]))
            product += float(np.sum(xs[0] * xs[1] * xs[2]))
            count += int(np.count_nonzero(above[0] & above[1] & above[2]))
        fractions = [_ratio(inside[c], self.stats(channels[c]).total) for c in range(3)]
        denominator = math.prod(cubes) ** (1.0 / 3.0)
        overlap = _clip(product / denominator) if denominator > 0 else _NAN
        if math.isnan(overlap) or any(math.isnan(f) for f in fractions):
            reasons.add("overlap and fractions", "a channel is zero everywhere")
        reasons.warn(f"coefficients of {self.names[i]}, {self.names[j]}, {self.names[k]}")
        return TripleCoefficients(
            m0=fractions[0],
            m1=fractions[1],
            m2=fractions[2],
            fraction_colocalized=count / n,
            overlap=overlap,
            n_pixels=int(n),
            threshold0=float(recorded[0]),
            threshold1=float(recorded[1]),
            threshold2=float(recorded[2]),
        )


def _usable_thresholds(
    thresholds: tuple[float, float] | None, wanted: set[str], reasons: _Reasons
) -> tuple[float, float] | None:
    """``thresholds``, or None when either is NaN (e.g. Costes found none): the wanted fields
    that need them are then NaN, which ``reasons`` notes (Pearson's r itself does not need them).
    """
    if thresholds is None or not (math.isnan(thresholds[0]) or math.isnan(thresholds[1])):
        return thresholds
    lost = [
        f
        for m in ("pearson", "thresholded_manders", "thresholded_overlap", "tos")
        if m in wanted
        for f in _GROUPS[m]
        if f != "pearson"
    ]
    if lost:
        reasons.add(", ".join(lost), "the thresholds are NaN")
    return None


def _centred_values(
    sums: dict[str, float],
    wanted: set[str],
    names: tuple[str, str],
    n: int,
    reasons: _Reasons,
) -> dict[str, float]:
    """Pearson's r, ICQ, Spearman's rho and Kendall's tau-b, as wanted, from the centred sums of
    :meth:`_CoefficientEngine._pixel_sums`; NaN (noted in ``reasons``) for a constant channel."""
    values: dict[str, float] = {}
    if not wanted & {"pearson", "icq", "spearman", "kendall"}:
        return values
    # the rank measures alone by the packed ranks have no pixel sums: the rank spreads, zero
    # exactly when a channel is constant
    suu, svv = (sums["suu"], sums["svv"]) if "suu" in sums else (sums["ruu"], sums["rvv"])
    constant = [nm for nm, s in zip(names, (suu, svv)) if s <= 0]
    if constant:
        asked = [
            f
            for m in ("pearson", "spearman", "kendall", "icq")
            if m in wanted
            for f in MEASURES[m][:1]
        ]
        reasons.add(", ".join(asked), f"{' and '.join(constant)} is constant")
    if "pearson" in wanted:
        values["pearson"] = _clip(sums["suv"] / math.sqrt(suu * svv)) if not constant else _NAN
    if "icq" in wanted:
        values["icq"] = _NAN if constant else (n - sums["icq"]) / n - 0.5
    if "spearman" in wanted:
        ruu, rvv = sums["ruu"], sums["rvv"]
        if ruu > 0 and rvv > 0:
            values["spearman"] = _clip(sums["ruv"] / math.sqrt(ruu * rvv))
    if "kendall" in wanted:
        values["kendall_tau"] = sums["kendall"]
    return values


def _absolute_values(
    sums: dict[str, float], wanted: set[str], names: tuple[str, str], reasons: _Reasons
) -> dict[str, float]:
    """Manders' overlap, k1, k2, M1 and M2, as wanted, from the sums of the (scaled) values;
    NaN (noted in ``reasons``) for a channel that is zero everywhere or a ratio beyond float64.
    """
    values: dict[str, float] = {}
    sum_u, sum_v = sums.get("a", _NAN), sums.get("b", _NAN)
    if wanted & {"overlap", "manders"}:
        zero = [nm for nm, s in zip(names, (sum_u, sum_v)) if s == 0]
        if zero:
            asked = [f for m in ("overlap", "manders") if m in wanted for f in MEASURES[m]]
            reasons.add(", ".join(asked), f"{' and '.join(zero)} is zero everywhere")
    if "overlap" in wanted:
        sab, saa, sbb = sums["ab"], sums["aa"], sums["bb"]
        values["overlap"] = _clip(sab / math.sqrt(saa * sbb)) if saa > 0 and sbb > 0 else _NAN
        # k1 and k2 are not scale-free: undo the two channels' scalings
        scale = int(sums["k_exp"])
        for key, value in (
            ("k1", _ldexp(sab / saa, scale) if saa > 0 else _NAN),
            ("k2", _ldexp(sab / sbb, -scale) if sbb > 0 else _NAN),
        ):
            if math.isinf(value):
                reasons.add(key, "the ratio is beyond the float64 range")
                value = _NAN
            values[key] = value
    if "manders" in wanted:
        values["m1"], values["m2"] = _ratio(sums["m1"], sum_u), _ratio(sums["m2"], sum_v)
    return values


def _thresholded_manders(
    sums: dict[str, float], names: tuple[str, str], n: int, reasons: _Reasons
) -> dict[str, float]:
    """tM1, tM2 (Coloc 2's), tM1 and tM2 over each channel's own pixels above its threshold,
    and the fraction of pixels above both thresholds, from the thresholded sums."""
    own_u, own_v = sums["own_u"], sums["own_v"]
    for field_name, own, nm in (("tm1_own", own_u, names[0]), ("tm2_own", own_v, names[1])):
        if own == 0:
            reasons.add(field_name, f"nothing in {nm} is above its threshold")
    return {
        "tm1": _ratio(sums["tm1"], sums.get("a", _NAN)),
        "tm2": _ratio(sums["tm2"], sums.get("b", _NAN)),
        "tm1_own": _ratio(sums["both_u"], own_u),
        "tm2_own": _ratio(sums["both_v"], own_v),
        "fraction_colocalized": sums["both"] / n,
    }


def _subset_pearsons(sums: dict[str, float], reasons: _Reasons) -> dict[str, float]:
    """Pearson's r of the pixels below and above the thresholds (Coloc 2's), as summed;
    NaN (noted in ``reasons``) when fewer than two distinct pixels lie in a subset."""
    below, above = sums["below"], sums["above"]
    if math.isnan(below) or math.isnan(above):
        reasons.add(
            "pearson_below or pearson_above",
            "fewer than two distinct pixels lie below or above the thresholds",
        )
    return {"pearson_below": below, "pearson_above": above}


def _computed(result: Coefficients, measures: tuple[str, ...]) -> Coefficients:
    """``result`` with its ``measures`` property set (an attribute outside the fields)."""
    object.__setattr__(result, "_measures", measures)
    return result


def _integer_bound(t: float, *, strict: bool = False) -> int:
    """The least integer x with x >= t (or x > t), clipped to [-1, 2**20] (8/16-bit data)."""
    if t >= 1 << 20:
        return (1 << 20) + 1
    if t < -1:
        return -1
    return math.floor(t) + 1 if strict else math.ceil(t)


def _exact_pearson(n: int, sa: int, sb: int, saa: int, sbb: int, sab: int) -> float:
    """Pearson's r from exact integer sums; NaN for fewer than two pixels or a constant one."""
    suu, svv = n * saa - sa * sa, n * sbb - sb * sb
    if n < 2 or suu <= 0 or svv <= 0:
        return _NAN
    return _clip((n * sab - sa * sb) / math.sqrt(suu * svv))


def _ldexp(x: float, exponent: int) -> float:
    """``x * 2**exponent``, inf beyond the float64 range (math.ldexp raises there)."""
    try:
        return math.ldexp(x, exponent)
    except OverflowError:
        return math.copysign(math.inf, x)


def _clip(r: float) -> float:
    """A correlation-like ratio, with rounding beyond +-1 removed."""
    return min(1.0, max(-1.0, r))


@dataclass(frozen=True)
class _Cuts:
    """A pair's thresholds as the engine compares them: ``x > above`` for the ``>`` tests and
    ``x >= at_least`` for the ``>=`` tests (tm1, tm2, pearson_below).

    ``comparison`` ``"peers"``: both are T (each field as its peer compares); ``">"``: every
    field selects ``x > T`` (``at_least`` is the next float up: ``x >= at_least`` is exactly
    ``x > T``); ``">="``: every field selects ``x >= T`` (``above`` is the next float down).
    """

    above: tuple[float, float]
    at_least: tuple[float, float]

    @classmethod
    def of(cls, thresholds: tuple[float, float], comparison: Comparison) -> _Cuts:
        """The cuts of ``thresholds`` compared by ``comparison``."""
        if comparison == "peers":
            return cls(thresholds, thresholds)
        if comparison == ">":
            return cls(thresholds, _next(thresholds, math.inf))
        return cls(_next(thresholds, -math.inf), thresholds)

    def side(self, k: int) -> tuple[float, float]:
        """(T_ge, T) of side ``k``."""
        return self.at_least[k], self.above[k]


def _next(thresholds: tuple[float, float], towards: float) -> tuple[float, float]:
    """Each threshold's next float64 towards ``towards``."""
    return float(np.nextafter(thresholds[0], towards)), float(np.nextafter(thresholds[1], towards))


@dataclass(frozen=True)
class _Cells:
    """A pair's joint cells and its two channels' codes (perhaps without their per-pixel
    codes, :meth:`ChannelCodes.without_pixels`)."""

    cells: JointCells
    codes0: ChannelCodes | ValueRuns
    codes1: ChannelCodes


class _Side:
    """One channel of a pair, one chunk of points at a time (cells or pixels).

    After :meth:`load`: ``centred`` and ``absolute`` (scaled float64, see :class:`_Stats`),
    ``rank`` (average ranks), ``positive`` (x > 0), ``at_least`` (x >= T_ge) and ``above``
    (x > T), every test exact on the raw values (``threshold`` is (T_ge, T), see :class:`_Cuts`).
    """

    def __init__(
        self,
        flat: np.ndarray,
        codes: ChannelCodes | ValueRuns | None,
        index: np.ndarray | None,
        stats: _Stats,
        threshold: tuple[float, float] | None,
        ranks: bool,
        *,
        ordered: bool = False,
    ) -> None:
        self.flat, self.index, self.threshold = flat, index, threshold
        self.exact: np.ndarray | OffsetValues = flat  # the values of the codes ``index``
        self.stats = stats
        self.tables: dict[str, np.ndarray] = {}
        self.lookup = isinstance(codes, ChannelCodes) and codes.n_codes <= _MAX_TABLE
        # many distinct values: each chunk's ranks come from the counts (:class:`RankLookup`),
        # or for sorted codes (``ordered``) a running sum of the counts, not from a float64
        # table of every value's rank
        self.ranked: RankLookup | RunningRanks | None = None
        if codes is not None and index is not None and not self.lookup:
            # many distinct values (wide integers, floats): each chunk's values are looked up
            # and then treated as pixels, instead of float64 tables of every value
            self.exact = codes.exact
            if ranks and ordered:
                self.ranked = codes.running_ranks(index)
            elif ranks:
                assert isinstance(codes, ChannelCodes)  # a ValueRuns is always sorted
                self.ranked = codes.rank_lookup()
        elif isinstance(codes, ChannelCodes):
            exact = codes.exact
            self.tables = {
                "centred": np.ldexp(codes.relative, -stats.rel_exp) - stats.mean,
                "absolute": np.ldexp(codes.values, -stats.abs_exp),
                "positive": at_least(exact, 0.0, strict=True),
            }
            if ranks:
                self.tables["rank"] = codes.average_rank
            if threshold is not None:
                self.tables["at_least"] = at_least(exact, threshold[0])
                self.tables["above"] = at_least(exact, threshold[1], strict=True)
        self.centred = self.absolute = self.rank = np.empty(0)
        self.positive = self.at_least = self.above = np.empty(0, dtype=bool)

    def load(self, part: slice, *, ranks: bool = True) -> None:
        """Read the points ``part`` (without their ``rank`` when not ``ranks``)."""
        if self.index is not None:
            index = self.index[part]
            for name, table in self.tables.items():
                setattr(self, name, table[index])
            if ranks and isinstance(self.ranked, RunningRanks):
                self.rank = self.ranked.ranks(part)
            elif ranks and isinstance(self.ranked, RankLookup):
                self.rank = self.ranked.ranks(index)
            if self.lookup:
                return
            raw = self.exact[index]
        else:
            raw = self.flat[part]
        x = raw.astype(np.float64)
        self.absolute = np.ldexp(x, -self.stats.abs_exp)
        # exact for integers (no rounding of 64-bit values before the subtraction)
        relative = subtract_exact(raw, self.stats.pivot).astype(np.float64)
        self.centred = np.ldexp(relative, -self.stats.rel_exp) - self.stats.mean
        self.positive = x > 0
        if self.threshold is not None:
            self.at_least = at_least(raw, self.threshold[0])
            self.above = at_least(raw, self.threshold[1], strict=True)


def _subset_of(name: str, a: _Side, b: _Side) -> np.ndarray:
    """The loaded chunk's points in Pearson's ``below`` subset (not both at or above their
    thresholds) or ``above`` subset (either above): taken again in each pass, not kept."""
    if name == "below":
        return ~(a.at_least & b.at_least)
    return a.above | b.above


class _Subset:
    """Pearson's r of a subset of the points, by a corrected two-pass in chunks (the points of
    each chunk are given to both passes)."""

    def __init__(self) -> None:
        self.n = self.su = self.sv = 0.0
        self.lo = [math.inf, math.inf]
        self.hi = [-math.inf, -math.inf]
        self.sums = [0.0] * 5

    def first(self, uc: np.ndarray, vc: np.ndarray, w: np.ndarray | None, sel: np.ndarray) -> None:
        if not sel.any():
            return
        weights = sel if w is None else np.where(sel, w, 0.0)
        self.n += float(np.sum(weights))
        self.su += float(np.sum(uc * weights))
        self.sv += float(np.sum(vc * weights))
        for k, x in enumerate((uc, vc)):
            self.lo[k] = min(self.lo[k], float(x[sel].min()))
            self.hi[k] = max(self.hi[k], float(x[sel].max()))

    def second(self, uc: np.ndarray, vc: np.ndarray, w: np.ndarray | None, sel: np.ndarray) -> None:
        if self.n < 2 or not sel.any():
            return
        du = uc - self.su / self.n
        dv = vc - self.sv / self.n
        weights = sel if w is None else np.where(sel, w, 0.0)
        for k, term in enumerate((du, dv, du * du, dv * dv, du * dv)):
            self.sums[k] += float(np.sum(term * weights))

    def pearson(self) -> float:
        if self.n < 2 or self.lo[0] == self.hi[0] or self.lo[1] == self.hi[1]:
            return _NAN
        du, dv, suu, svv, suv = self.sums
        suu -= du * du / self.n
        svv -= dv * dv / self.n
        suv -= du * dv / self.n
        if suu <= 0 or svv <= 0:
            return _NAN
        return _clip(suv / math.sqrt(suu * svv))


def is_costes(thresholds: Thresholds) -> bool:
    """Whether the ``thresholds`` option asks for Costes' thresholds."""
    return isinstance(thresholds, str) and thresholds.lower() == "costes"


def pair_costes(
    image0: np.ndarray, image1: np.ndarray, selection: np.ndarray | None, costes_method: str
) -> CostesResult:
    """Costes' thresholds of one pair of (flattened or full) images with ``costes_method``."""
    return costes_threshold(
        image0, image1, mask=selection, method=check_costes_method(costes_method)
    )


_TOP = re.compile(r"top\s*([0-9]*\.?[0-9]+)\s*%?", re.IGNORECASE)


def top_percent(thresholds: object) -> float | None:
    """The percentage of a ``"top<x>%"`` thresholds option (EzColocalization's FT), checked;
    None for any other option.

    >>> top_percent("top10%"), top_percent("Top 2.5"), top_percent("Otsu")
    (10.0, 2.5, None)
    """
    if not isinstance(thresholds, str):
        return None
    found = _TOP.fullmatch(thresholds.strip())
    if found is None:
        return None
    percent = float(found.group(1))
    if not 0 < percent <= 100:
        raise ValueError(
            f"thresholds={thresholds!r} keeps {percent:g}% of the pixels; pass a percentage in "
            f"(0, 100], e.g. 'top10%' for the brightest 10% (EzColocalization's FT)"
        )
    return percent


def resolve_threshold_method(value: str, *, name: str = "thresholds") -> str:
    """A thresholds option given by name, in its canonical spelling: ``"costes"``,
    ``"top<x>%"`` or an ImageJ auto-threshold method (``"otsu"`` -> ``"Otsu"``); a ValueError
    names every choice. The one check of the API, the command line, batch and the bridge."""
    if value.strip().lower() == "costes":
        return "costes"
    percent = top_percent(value)
    if percent is not None:
        return f"top{percent:g}%"
    from colocalize._threshold._auto import resolve_method

    try:
        return resolve_method(value, name=name)
    except ValueError as exc:
        raise ValueError(
            f"{exc} Or 'costes', or 'top<x>%' (the brightest x% of each channel, "
            f"EzColocalization's FT, e.g. 'top10%')."
        ) from None


def comparison_of(
    thresholds: Thresholds, costes_method: str, threshold_comparison: str
) -> Comparison:
    """How a pair's thresholds are compared (see ``threshold_comparison`` of
    :func:`coefficients`): numbers as ``threshold_comparison`` says; Costes' thresholds of
    Coloc 2's searches as Coloc 2 compares them (``"peers"``); every other named source (an
    ImageJ method, top x%, JACoP's or EzColocalization's Costes) selects its own foreground,
    ``x > T``, in every field. A ValueError when ``threshold_comparison`` is not one of
    :data:`COMPARISONS` or is given with a named source."""
    if threshold_comparison not in COMPARISONS:
        raise ValueError(
            f"threshold_comparison must be one of {', '.join(map(repr, COMPARISONS))}, got "
            f"{threshold_comparison!r}"
        )
    if not isinstance(thresholds, str):
        return threshold_comparison
    if threshold_comparison != "peers":
        raise ValueError(
            f"threshold_comparison={threshold_comparison!r} applies to numeric thresholds; "
            f"thresholds={thresholds!r} selects its own pixels (see docs/coefficients.md). "
            f"Leave threshold_comparison out"
        )
    if is_costes(thresholds) and costes_method in ("bisection", "classic"):
        return "peers"
    return ">"


def with_convergence(result: Coefficients, costes: CostesResult | None) -> Coefficients:
    """``result`` with ``costes_converged`` filled from ``costes`` (kept: ``measures``)."""
    if costes is None:
        return result
    return _computed(replace(result, costes_converged=float(costes.converged)), result.measures)


def resolve_thresholds(
    thresholds: Thresholds,
    images: Sequence[np.ndarray],
    selection: np.ndarray | None,
    flats: Sequence[np.ndarray],
    *,
    costes_method: str = "bisection",
) -> tuple[float, ...] | None:
    """Turn the ``thresholds`` option into one threshold per image (None: no thresholds).

    ``"costes"`` is only valid for two images; ``"top<x>%"`` is the value above which lie the
    brightest x% of each image's selected pixels ``flats`` (as :func:`select_pixels` gives
    them; :func:`colocalize.top_percent_threshold`); any other string is an auto-threshold
    method.
    """
    if thresholds is None:
        return None
    if isinstance(thresholds, str):
        thresholds = resolve_threshold_method(thresholds)
        if is_costes(thresholds):
            if len(images) != 2:
                raise ValueError(
                    f"thresholds='costes' needs exactly two channels, got {len(images)}; pass "
                    f"explicit thresholds or an auto-threshold method for triples"
                )
            result = pair_costes(images[0], images[1], selection, costes_method)
            return (float(result.threshold0), float(result.threshold1))
        percent = top_percent(thresholds)
        if percent is not None:
            from colocalize._tos import top_threshold

            return tuple(top_threshold(flat, percent, "thresholds") for flat in flats)
        from colocalize._threshold._auto import threshold

        return tuple(float(threshold(img, thresholds, mask=selection)) for img in images)
    if not isinstance(thresholds, (Sequence, np.ndarray)) or not all(
        is_real(t) for t in thresholds
    ):
        raise ValueError(
            f"thresholds={thresholds!r} is not valid: pass one number per image in the images' "
            f"units, 'costes', or one auto-threshold method name for every image (e.g. "
            f"thresholds='Otsu')"
        )
    values = tuple(float(t) for t in thresholds)
    if len(values) != len(images):
        raise ValueError(
            f"thresholds has {len(values)} values for {len(images)} images; pass one threshold "
            f"per image in the images' units, 'costes', or an auto-threshold method name"
        )
    if any(math.isnan(t) for t in values):
        raise ValueError(f"thresholds contains NaN: {values}; pass finite thresholds")
    for idx, (t, img) in enumerate(zip(values, images)):
        if t < 0 and (img.dtype.kind in "ub" or img.min() >= 0):
            raise ValueError(
                f"thresholds has the negative value {t:g} for image {idx}, which has no "
                f"negative intensities: every pixel would be above it. Pass a threshold >= 0 "
                f"in the image's units"
            )
    return values


def check_images(images: Sequence[Any], names: Sequence[str]) -> list[np.ndarray]:
    """Validate the images of a pair or triple (arrays or one-channel Images): numeric, finite,
    non-negative, same shape."""
    arrays = [as_image(img, name=nm, allow_negative=False) for img, nm in zip(images, names)]
    check_same_shape(arrays, names)
    return arrays


def coefficients(
    image0: Any,
    image1: Any,
    *,
    mask: Any = None,
    thresholds: Thresholds = None,
    exclude_zero_zero: bool = False,
    saturated: Saturated = None,
    rank_coefficients: bool = True,
    measures: str | Sequence[str] | None = None,
    costes_method: str = "bisection",
    threshold_comparison: str = "peers",
) -> Coefficients:
    """All standard colocalization coefficients of two channels.

    Parameters
    ----------
    image0, image1 : array_like, shape (M, N[, P]), or colocalize.Image
        The two channels, same shape, any dimensionality (2D, 3D, or time series: pixels are
        pooled); an ``Image`` must have one channel. Intensities must be finite and
        non-negative; they are never rescaled.
    mask : array_like of bool, optional
        Pixels to use (non-zero is inside). A mask with the shape of the images' last axes
        applies to every plane, as in Coloc 2.
    thresholds : None, (float, float), "costes", "top<x>%" or str, optional
        Thresholds ``(T_0, T_1)`` in the images' units; ``"costes"`` computes Costes'
        thresholds on the selected pixels with ``costes_method``; ``"top<x>%"`` (e.g.
        ``"top10%"``) keeps each channel's brightest x% of the selected pixels
        (EzColocalization's FT, :func:`colocalize.top_percent_threshold`); any other string is
        an ImageJ auto-threshold method (see :func:`colocalize.threshold_methods`) applied to
        each channel. Which pixels each field counts: "Threshold comparisons" below.
    exclude_zero_zero : bool, optional
        Drop pixels that are zero in both channels (the seed paper's non-responders).
    saturated : None, True, float or (float, float), optional
        Drop pixels at or above a saturation level in either channel: ``True`` for the dtype
        maximum (integer images), or the level(s) in the images' units.
    rank_coefficients : bool, optional
        Compute Spearman's rho and Kendall's tau (default). ``False`` skips ranking (both fields
        are NaN), for speed on large float images: the same as leaving ``spearman`` and
        ``kendall`` out of ``measures``.
    measures : None, str or sequence of str, optional
        The measure groups to compute (default: all): ``"pearson"`` (pearson, pearson_below,
        pearson_above), ``"overlap"`` (overlap, k1, k2), ``"manders"`` (m1, m2),
        ``"thresholded_manders"`` (tm1, tm2, tm1_own, tm2_own, fraction_colocalized),
        ``"thresholded_overlap"`` (toverlap, tk1, tk2),
        ``"icq"``, ``"spearman"`` and ``"kendall"`` (kendall_tau); see :data:`MEASURES`.
        ``"tos"`` (tos_linear, tos_log2) is computed only when named (:data:`ON_REQUEST`). The
        other fields are NaN (without a warning) and ``result.measures`` lists the groups
        computed. A subset costs only its own passes: without ``spearman`` and ``kendall``
        nothing is ranked.
    costes_method : {"bisection", "classic", "jacop", "ezcolocalization"}, optional
        The search of ``thresholds="costes"`` (see :func:`colocalize.costes_threshold`):
        ``"bisection"`` (default: Coloc 2's "Bisection", as fast as any and the long-standing
        default here), ``"classic"`` (Coloc 2's "Costes", its dialog default), ``"jacop"``
        or ``"ezcolocalization"`` (those plugins' searches, to reproduce their analyses;
        EzColocalization's thresholds are continuous and may be negative, and are used as
        they are). Ignored for other thresholds.
        ``result.costes_converged`` says whether the search converged.
    threshold_comparison : {"peers", ">", ">="}, optional
        How numeric ``thresholds`` select pixels: ``"peers"`` (default) each field as the tool
        that defines it; ``">"`` every field ``x > T`` (ImageJ's auto threshold t, JACoP,
        EzColocalization, CellProfiler); ``">="`` every field ``x >= T`` (the lower bound of
        ImageJ's Threshold dialog). Named thresholds carry their own comparison; any value
        but ``"peers"`` with them is a ValueError.

    Returns
    -------
    Coefficients
        See :class:`Coefficients` for every formula.

    Raises
    ------
    ValueError
        Shapes differ, the mask has the wrong shape, an image has NaN/inf or negative values,
        the thresholds or ``saturated`` are malformed, a threshold is negative, or
        ``threshold_comparison`` is unknown or given with named thresholds.

    Warns
    -----
    ColocalizeWarning
        Degenerate but legal input (constant channel, empty mask, nothing above threshold): the
        affected fields are NaN.

    Notes
    -----
    Threshold comparisons. A threshold copied from a tool selects that tool's pixels:

    - numbers with ``threshold_comparison="peers"`` (default), and Costes' thresholds of Coloc 2's
      searches: each field as its peer compares, tm1/tm2 ``b >= T_b`` (and ``b > 0``),
      pearson_below ``a < T_a or b < T_b`` (Coloc 2), every other field ``>`` (pearson_above
      ``a > T_a or b > T_b``; tm*_own, toverlap, tk*, tos_*, fraction_colocalized
      ``a > T_a and b > T_b``);
    - ``">"``, and every other named source (ImageJ methods, ``"top<x>%"``, JACoP's and
      EzColocalization's Costes): every field counts ``x > T`` as above (pearson_below: ``a <= T_a
      or b <= T_b``);
    - ``">="``: every field counts ``x >= T`` as above (pearson_below: ``a < T_a or b < T_b``).

    ImageJ's Threshold dialog shows t + 1 as its lower bound L on 8- and 16-bit images: enter
    the method's name, or ``(L_a, L_b)`` with ``threshold_comparison=">="``, or
    ``(L_a - 1, L_b - 1)`` with ``">"``. Coloc 2's printed thresholds give its tM1/tM2 and
    Pearson below/above as they are (``"peers"``). docs/coefficients.md has the table for
    every peer (JACoP, EzColocalization, CellProfiler).

    The definitions follow Coloc 2 (Fiji) exactly: Pearson below/above thresholds, tM1/tM2 with
    the other channel >= its threshold and the total denominator, ICQ counting zero products as
    positive, Kendall's tau-b. ``tm1_own``/``tm2_own`` are the JACoP/CellProfiler variant.
    Differences from Coloc 2: every pixel set is exact (no 2D-histogram binning), no image
    overflows (each channel is taken relative to its minimum by exact subtraction, also for
    64-bit integers, and scaled by a power of two into [0, 1) before any sum; sums of centred
    values are corrected two-pass sums, so floats far from zero keep their variance), threshold
    tests are exact for every dtype, and degenerate cases give NaN plus a warning rather than an
    exception.

    References
    ----------
    .. [1] Manders, Verbeek & Aten (1993), J. Microsc. 169:375-382,
       doi:10.1111/j.1365-2818.1993.tb03313.x
    .. [2] Costes et al. (2004), Biophys. J. 86:3993-4003, doi:10.1529/biophysj.103.038422
    .. [3] Li et al. (2004), J. Neurosci. 24:4070-4081, doi:10.1523/JNEUROSCI.0346-04.2004
    .. [4] Bolte & Cordelières (2006), J. Microsc. 224:213-232,
       doi:10.1111/j.1365-2818.2006.01706.x

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array([[0, 1, 2], [3, 4, 5]], dtype=np.uint8)
    >>> c = coefficients(a, 2 * a, thresholds=(2, 4))
    >>> c.pearson, c.overlap, c.m1, c.k2
    (1.0, 1.0, 1.0, 0.5)
    >>> round(c.tm1, 4), c.pearson_below, c.pearson_above  # tm1: b >= 4, Coloc 2's rule
    (0.9333, 1.0, 1.0)
    >>> c = coefficients(a, 2 * a, thresholds=(2, 4), threshold_comparison=">")
    >>> c.tm1  # b > 4 in every field: a = 3, 4, 5 of 15
    0.8
    >>> c = coefficients(a, 2 * a, measures=("pearson", "manders"))
    >>> c.pearson, c.m1, c.overlap, c.measures
    (1.0, 1.0, nan, ('pearson', 'manders'))
    """
    wanted = resolve_measures(measures, rank_coefficients=rank_coefficients)
    check_costes_method(costes_method)
    comparison = comparison_of(thresholds, costes_method, threshold_comparison)
    arrays = check_images([image0, image1], ["image0", "image1"])
    selection, flats = select_pixels(
        arrays, mask=mask, exclude_zero_zero=exclude_zero_zero, saturated=saturated
    )
    costes = None
    if is_costes(thresholds):
        costes = pair_costes(arrays[0], arrays[1], selection, costes_method)
        pair_thresholds: tuple[float, float] | None = (costes.threshold0, costes.threshold1)
    else:
        resolved = resolve_thresholds(thresholds, arrays, selection, flats)
        pair_thresholds = None if resolved is None else (resolved[0], resolved[1])
    engine = _CoefficientEngine(flats, ["image0", "image1"])
    result = engine.pair(0, 1, pair_thresholds, measures=wanted, comparison=comparison)
    return with_convergence(result, costes)


def triple_coefficients(
    image0: Any,
    image1: Any,
    image2: Any,
    *,
    mask: Any = None,
    thresholds: Thresholds = None,
    exclude_zero_zero: bool = False,
    saturated: Saturated = None,
    threshold_comparison: str = "peers",
) -> TripleCoefficients:
    """Triple-label colocalization coefficients of three channels.

    Parameters
    ----------
    image0, image1, image2 : array_like, shape (M, N[, P])
        The three channels (finite, non-negative, same shape).
    mask, exclude_zero_zero, saturated
        As in :func:`coefficients` (``exclude_zero_zero`` drops pixels zero in all three).
    thresholds : None, (float, float, float) or str, optional
        Per-channel thresholds in the images' units, or an auto-threshold method name. Without
        thresholds, "above threshold" means > 0.

    Returns
    -------
    TripleCoefficients
        See :class:`TripleCoefficients` for the definitions.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array([0, 1, 2, 3], dtype=np.uint8)
    >>> t = triple_coefficients(a, a, a)
    >>> t.overlap, t.m0, t.fraction_colocalized
    (1.0, 1.0, 0.75)
    """
    names = ["image0", "image1", "image2"]
    comparison = comparison_of(thresholds, "bisection", threshold_comparison)
    arrays = check_images([image0, image1, image2], names)
    selection, flats = select_pixels(
        arrays, mask=mask, exclude_zero_zero=exclude_zero_zero, saturated=saturated
    )
    resolved = resolve_thresholds(thresholds, arrays, selection, flats)
    triple = None if resolved is None else (resolved[0], resolved[1], resolved[2])
    return _CoefficientEngine(flats, names).triple(0, 1, 2, triple, comparison=comparison)
