"""Colocalization coefficients for channel pairs and triples.

The engine works on *weighted points*: for integer channels every pair is reduced once to the
non-empty cells of its joint histogram (value0, value1, count), so every coefficient costs
O(distinct value pairs) after one O(n) pass, and Kendall's tau-b comes from the same histogram.
Float channels with many distinct values are processed pixel by pixel (weight 1). Per-channel
work (sums, distinct values, ranks) is done once and shared by all pairs and triples.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from colocalize._ranks import (
    MAX_JOINT_CELLS,
    ChannelCodes,
    channel_codes,
    joint_histogram,
    kendall_tau_b,
)
from colocalize._validation import as_image, as_mask, check_same_shape, warn_degenerate

__all__ = [
    "Coefficients",
    "TripleCoefficients",
    "coefficients",
    "triple_coefficients",
]

Thresholds = None | str | Sequence[float]
Saturated = None | bool | float | Sequence[float]

_NAN = math.nan


@dataclass(frozen=True)
class Coefficients:
    """Colocalization coefficients of one channel pair (a = ``image0``, b = ``image1``).

    All values are Python floats (``n_pixels`` is an int). Fields that need thresholds are NaN
    when none were given. Sums run over the selected pixels (mask, minus excluded pixels).

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
    spearman: float
    kendall_tau: float
    icq: float
    fraction_colocalized: float
    n_pixels: int
    threshold0: float
    threshold1: float


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
    if f.name not in ("n_pixels", "threshold0", "threshold1")
)


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


class _Channels:
    """Selected pixels of several channels, with per-channel codes computed once on demand."""

    def __init__(self, flats: list[np.ndarray], names: Sequence[str]) -> None:
        self.flats = flats
        self.names = list(names)
        self.n = flats[0].size if flats else 0
        self._codes: dict[int, ChannelCodes] = {}
        self._sums: dict[int, float] = {}
        self._constant: dict[int, bool] = {}

    def codes(self, i: int) -> ChannelCodes:
        if i not in self._codes:
            self._codes[i] = channel_codes(self.flats[i])
        return self._codes[i]

    def total(self, i: int) -> float:
        if i not in self._sums:
            flat = self.flats[i]
            if flat.dtype.kind in "iub":
                self._sums[i] = float(np.sum(flat, dtype=np.int64))
            else:
                self._sums[i] = float(np.sum(flat, dtype=np.float64))
        return self._sums[i]

    def is_constant(self, i: int) -> bool:
        if i not in self._constant:
            flat = self.flats[i]
            self._constant[i] = bool(flat.min() == flat.max())
        return self._constant[i]

    def _cheap_codes(self, i: int) -> bool:
        return i in self._codes or self.flats[i].dtype.kind in "iub"

    def pair(
        self,
        i: int,
        j: int,
        thresholds: tuple[float, float] | None,
        *,
        rank_coefficients: bool = True,
    ) -> Coefficients:
        reasons = _Reasons()
        result = self._pair(i, j, thresholds, rank_coefficients, reasons)
        reasons.warn(f"coefficients of {self.names[i]} and {self.names[j]}")
        return result

    def _pair(
        self,
        i: int,
        j: int,
        thresholds: tuple[float, float] | None,
        rank_coefficients: bool,
        reasons: _Reasons,
    ) -> Coefficients:
        t0, t1 = thresholds if thresholds is not None else (_NAN, _NAN)
        n = self.n
        if n == 0:
            reasons.add("every coefficient", "no pixel is selected (empty mask or all excluded)")
            empty = dict.fromkeys(_FLOAT_FIELDS, _NAN)
            return Coefficients(**empty, n_pixels=0, threshold0=t0, threshold1=t1)
        # weighted points (u, v, w): the joint histogram's cells when it is small enough,
        # else every pixel with weight 1 (w None)
        joint = None
        ru = rv = None
        w: np.ndarray | None = None
        if rank_coefficients or (self._cheap_codes(i) and self._cheap_codes(j)):
            ci, cj = self.codes(i), self.codes(j)
            if ci.n_codes * cj.n_codes <= MAX_JOINT_CELLS:
                joint = joint_histogram(ci, cj)
                cells = np.flatnonzero(joint)
                iu, iv = np.divmod(cells, cj.n_codes)
                u, v = ci.values[iu], cj.values[iv]
                w = joint.ravel()[cells].astype(np.float64)
                if rank_coefficients:
                    ru, rv = ci.average_rank[iu], cj.average_rank[iv]
            elif rank_coefficients:
                ru, rv = ci.average_rank[ci.codes], cj.average_rank[cj.codes]
        if joint is None:
            u = self.flats[i].astype(np.float64, copy=False)
            v = self.flats[j].astype(np.float64, copy=False)

        def wsum(x: np.ndarray) -> float:
            # pairwise summation, not BLAS: more accurate, and no thread start-up per call
            return float(np.sum(x * w)) if w is not None else float(np.sum(x))

        def wcount(selected: np.ndarray) -> float:
            return float(np.sum(w, where=selected)) if w is not None else float(
                np.count_nonzero(selected)
            )

        sum_u, sum_v = self.total(i), self.total(j)
        mean_u, mean_v = sum_u / n, sum_v / n
        uc, vc = u - mean_u, v - mean_v
        suu, svv, suv = wsum(uc * uc), wsum(vc * vc), wsum(uc * vc)
        # exact test: a constant channel's centred values may be rounding noise, not zero
        suu, svv = (0.0 if self.is_constant(i) else suu), (0.0 if self.is_constant(j) else svv)
        constant = [nm for nm, s in ((self.names[i], suu), (self.names[j], svv)) if s == 0]
        if constant:
            reasons.add(
                "pearson, spearman, kendall_tau, icq", f"{' and '.join(constant)} is constant"
            )
        pearson = suv / math.sqrt(suu * svv) if suu > 0 and svv > 0 else _NAN

        sab, saa, sbb = wsum(u * v), wsum(u * u), wsum(v * v)
        m1 = _ratio(wsum(np.where(v > 0, u, 0.0)), sum_u)
        m2 = _ratio(wsum(np.where(u > 0, v, 0.0)), sum_v)
        zero = [nm for nm, s in ((self.names[i], sum_u), (self.names[j], sum_v)) if s == 0]
        if zero:
            reasons.add("overlap, k1, k2, m1, m2", f"{' and '.join(zero)} is zero everywhere")
        overlap = sab / math.sqrt(saa * sbb) if saa > 0 and sbb > 0 else _NAN
        icq = _NAN
        if not constant:
            icq = (n - wcount(((uc > 0) & (vc < 0)) | ((uc < 0) & (vc > 0)))) / n - 0.5

        spearman = kendall = _NAN
        if rank_coefficients and ru is not None and rv is not None:
            centre = (n + 1) / 2.0
            rcu, rcv = ru - centre, rv - centre
            ruu, rvv = wsum(rcu * rcu), wsum(rcv * rcv)
            if ruu > 0 and rvv > 0:
                spearman = wsum(rcu * rcv) / math.sqrt(ruu * rvv)
            kendall = kendall_tau_b(self.codes(i), self.codes(j), joint=joint)

        below = above = tm1 = tm2 = tm1_own = tm2_own = fraction = _NAN
        if thresholds is not None:
            tm1 = _ratio(wsum(np.where((v >= t1) & (v > 0), u, 0.0)), sum_u)
            tm2 = _ratio(wsum(np.where((u >= t0) & (u > 0), v, 0.0)), sum_v)
            above_u, above_v = u > t0, v > t1
            both = above_u & above_v
            own_u = wsum(np.where(above_u, u, 0.0))
            own_v = wsum(np.where(above_v, v, 0.0))
            tm1_own = _ratio(wsum(np.where(both, u, 0.0)), own_u)
            tm2_own = _ratio(wsum(np.where(both, v, 0.0)), own_v)
            for field_name, own, nm in (("tm1_own", own_u, i), ("tm2_own", own_v, j)):
                if own == 0:
                    reasons.add(field_name, f"nothing in {self.names[nm]} is above its threshold")
            fraction = wcount(both) / n
            below = _subset_pearson(u, v, w, (u < t0) | (v < t1))
            above = _subset_pearson(u, v, w, above_u | above_v)
            if math.isnan(below) or math.isnan(above):
                reasons.add(
                    "pearson_below or pearson_above",
                    "fewer than two distinct pixels lie below or above the thresholds",
                )
        return Coefficients(
            pearson=pearson,
            pearson_below=below,
            pearson_above=above,
            overlap=overlap,
            k1=_ratio(sab, saa),
            k2=_ratio(sab, sbb),
            m1=m1,
            m2=m2,
            tm1=tm1,
            tm2=tm2,
            tm1_own=tm1_own,
            tm2_own=tm2_own,
            spearman=spearman,
            kendall_tau=kendall,
            icq=icq,
            fraction_colocalized=fraction,
            n_pixels=int(n),
            threshold0=float(t0),
            threshold1=float(t1),
        )

    def triple(
        self, i: int, j: int, k: int, thresholds: tuple[float, float, float] | None
    ) -> TripleCoefficients:
        reasons = _Reasons()
        levels = thresholds if thresholds is not None else (0.0, 0.0, 0.0)
        recorded = thresholds if thresholds is not None else (_NAN, _NAN, _NAN)
        n = self.n
        if n == 0:
            reasons.add("every coefficient", "no pixel is selected")
            reasons.warn(f"coefficients of {self.names[i]}, {self.names[j]}, {self.names[k]}")
            return TripleCoefficients(_NAN, _NAN, _NAN, _NAN, _NAN, 0, *map(float, recorded))
        xs = [self.flats[c].astype(np.float64, copy=False) for c in (i, j, k)]
        above = [x > t for x, t in zip(xs, levels)]
        fractions = []
        for c in range(3):
            others = above[(c + 1) % 3] & above[(c + 2) % 3]
            fractions.append(_ratio(float(np.sum(xs[c], where=others)), self.total((i, j, k)[c])))
        cubes = [float(np.sum(x * x * x)) for x in xs]
        denominator = math.prod(cubes) ** (1.0 / 3.0)
        overlap = float(np.sum(xs[0] * xs[1] * xs[2])) / denominator if denominator > 0 else _NAN
        if math.isnan(overlap) or any(math.isnan(f) for f in fractions):
            reasons.add("overlap and fractions", "a channel is zero everywhere")
        reasons.warn(f"coefficients of {self.names[i]}, {self.names[j]}, {self.names[k]}")
        return TripleCoefficients(
            m0=fractions[0],
            m1=fractions[1],
            m2=fractions[2],
            fraction_colocalized=float(np.count_nonzero(above[0] & above[1] & above[2])) / n,
            overlap=overlap,
            n_pixels=int(n),
            threshold0=float(recorded[0]),
            threshold1=float(recorded[1]),
            threshold2=float(recorded[2]),
        )


def _subset_pearson(
    u: np.ndarray, v: np.ndarray, w: np.ndarray | None, selected: np.ndarray
) -> float:
    us, vs = u[selected], v[selected]
    ws = w[selected] if w is not None else None
    n = float(ws.sum()) if ws is not None else float(us.size)
    if n < 2 or us.min() == us.max() or vs.min() == vs.max():
        return _NAN
    weights = ws if ws is not None else 1.0
    mu = float(np.sum(us * weights)) / n
    mv = float(np.sum(vs * weights)) / n
    uc, vc = us - mu, vs - mv
    suu = float(np.sum(uc * uc * weights))
    svv = float(np.sum(vc * vc * weights))
    suv = float(np.sum(uc * vc * weights))
    if suu <= 0 or svv <= 0:
        return _NAN
    return float(suv / math.sqrt(suu * svv))


def saturation_levels(saturated: Saturated, images: Sequence[np.ndarray]) -> list[float] | None:
    """Per-image saturation levels from the ``saturated`` option (None: keep every pixel)."""
    if saturated is None or saturated is False:
        return None
    if saturated is True:
        levels = []
        for idx, img in enumerate(images):
            if img.dtype.kind not in "iu":
                raise ValueError(
                    f"saturated=True means the dtype maximum, but image {idx} is {img.dtype}; "
                    f"pass the saturation value instead, e.g. saturated=1.0"
                )
            levels.append(float(np.iinfo(img.dtype).max))
        return levels
    if isinstance(saturated, (int, float, np.number)):
        return [float(saturated)] * len(images)
    values = [float(s) for s in saturated]
    if len(values) != len(images):
        raise ValueError(
            f"saturated has {len(values)} values for {len(images)} channels; pass one value, "
            f"one per channel, or True for the dtype maximum"
        )
    return values


def select_pixels(
    images: Sequence[np.ndarray],
    *,
    mask: np.ndarray | None,
    exclude_zero_zero: bool,
    saturated: Saturated,
) -> tuple[np.ndarray | None, list[np.ndarray]]:
    """The selection (None: every pixel) and each image's selected pixels as a flat array.

    Pixels are dropped when outside the mask, zero in every image (``exclude_zero_zero``), or at
    or above an image's saturation level.
    """
    shape = images[0].shape
    selection = None if mask is None else as_mask(mask, shape)
    if exclude_zero_zero:
        responders = np.zeros(shape, dtype=bool)
        for img in images:
            responders |= img != 0
        selection = responders if selection is None else selection & responders
    levels = saturation_levels(saturated, images)
    if levels is not None:
        for img, level in zip(images, levels):
            unsaturated = img < level
            selection = unsaturated if selection is None else selection & unsaturated
    if selection is None:
        return None, [img.reshape(-1) for img in images]
    return selection, [img[selection] for img in images]


def resolve_thresholds(
    thresholds: Thresholds,
    images: Sequence[np.ndarray],
    selection: np.ndarray | None,
) -> tuple[float, ...] | None:
    """Turn the ``thresholds`` option into one threshold per image (None: no thresholds).

    ``"costes"`` is only valid for two images; any other string is an auto-threshold method.
    """
    if thresholds is None:
        return None
    if isinstance(thresholds, str):
        if thresholds.lower() == "costes":
            if len(images) != 2:
                raise ValueError(
                    f"thresholds='costes' needs exactly two channels, got {len(images)}; pass "
                    f"explicit thresholds or an auto-threshold method for triples"
                )
            from colocalize._costes import costes_threshold

            result = costes_threshold(images[0], images[1], mask=selection)
            return (float(result.threshold0), float(result.threshold1))
        from colocalize._threshold import threshold

        return tuple(float(threshold(img, thresholds, mask=selection)) for img in images)
    values = tuple(float(t) for t in thresholds)
    if len(values) != len(images):
        raise ValueError(
            f"thresholds has {len(values)} values for {len(images)} images; pass one threshold "
            f"per image in the images' units, 'costes', or an auto-threshold method name"
        )
    if any(math.isnan(t) for t in values):
        raise ValueError(f"thresholds contains NaN: {values}; pass finite thresholds")
    return values


def check_images(images: Sequence[Any], names: Sequence[str]) -> list[np.ndarray]:
    """Validate the images of a pair or triple: numeric, finite, non-negative, same shape."""
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
) -> Coefficients:
    """All standard colocalization coefficients of two channels.

    Parameters
    ----------
    image0, image1 : array_like, shape (M, N[, P])
        The two channels, same shape, any dimensionality (2D, 3D, or time series: pixels are
        pooled). Intensities must be finite and non-negative; they are never rescaled.
    mask : array_like of bool, optional
        Pixels to use (non-zero is inside). A mask with the shape of the images' last axes
        applies to every plane, as in Coloc 2.
    thresholds : None, (float, float), "costes" or str, optional
        Thresholds ``(T_0, T_1)`` in the images' units; ``"costes"`` computes Coloc 2's Costes
        threshold (bisection) on the selected pixels; any other string is an ImageJ
        auto-threshold method (see :func:`colocalize.threshold_methods`) applied to each channel.
    exclude_zero_zero : bool, optional
        Drop pixels that are zero in both channels (the seed paper's non-responders).
    saturated : None, True, float or (float, float), optional
        Drop pixels at or above a saturation level in either channel: ``True`` for the dtype
        maximum (integer images), or the level(s) in the images' units.
    rank_coefficients : bool, optional
        Compute Spearman's rho and Kendall's tau (default). ``False`` skips ranking (both fields
        are NaN), for speed on large float images.

    Returns
    -------
    Coefficients
        See :class:`Coefficients` for every formula.

    Raises
    ------
    ValueError
        Shapes differ, the mask has the wrong shape, an image has NaN/inf or negative values,
        or the thresholds are malformed.

    Warns
    -----
    ColocalizeWarning
        Degenerate but legal input (constant channel, empty mask, nothing above threshold): the
        affected fields are NaN.

    Notes
    -----
    The definitions follow Coloc 2 (Fiji) exactly: Pearson below/above thresholds, tM1/tM2 with
    the other channel >= its threshold and the total denominator, ICQ counting zero products as
    positive, Kendall's tau-b. ``tm1_own``/``tm2_own`` are the JACoP/CellProfiler variant.
    Differences from Coloc 2: every pixel set is exact (no 2D-histogram binning), integer
    images never overflow (sums in int64/float64), and degenerate cases give NaN plus a warning
    rather than an exception.

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
    >>> round(c.tm1, 4), c.pearson_below, c.pearson_above
    (0.9333, 1.0, 1.0)
    """
    arrays = check_images([image0, image1], ["image0", "image1"])
    selection, flats = select_pixels(
        arrays, mask=mask, exclude_zero_zero=exclude_zero_zero, saturated=saturated
    )
    resolved = resolve_thresholds(thresholds, arrays, selection)
    pair_thresholds = None if resolved is None else (resolved[0], resolved[1])
    return _Channels(flats, ["image0", "image1"]).pair(
        0, 1, pair_thresholds, rank_coefficients=rank_coefficients
    )


def triple_coefficients(
    image0: Any,
    image1: Any,
    image2: Any,
    *,
    mask: Any = None,
    thresholds: Thresholds = None,
    exclude_zero_zero: bool = False,
    saturated: Saturated = None,
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
    arrays = check_images([image0, image1, image2], names)
    selection, flats = select_pixels(
        arrays, mask=mask, exclude_zero_zero=exclude_zero_zero, saturated=saturated
    )
    resolved = resolve_thresholds(thresholds, arrays, selection)
    triple = None if resolved is None else (resolved[0], resolved[1], resolved[2])
    return _Channels(flats, names).triple(0, 1, 2, triple)


