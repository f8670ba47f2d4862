"""Threshold overlap score (TOS) and top-percent thresholds, as EzColocalization computes them.

TOS (Sheng, Stauffer & Lim 2016) asks whether the pixels above the thresholds of two channels
overlap more or less than chance would make them, rescaled to [-1, 1]. EzColocalization
(Stauffer, Sheng & Lim 2018) computes it with Costes' thresholds or with its "FT" thresholds,
the top x% of each channel's pixels. Both definitions here follow EzColocalization's source
(github.com/DrHanLim/EzColocalization at commit c8abc7b, ``BasicCalculator.getTOS`` and
``prepCellData``) and are checked against it run on real images (``tests/test_tos.py``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from colocalize._validation import (
    as_image,
    as_mask,
    at_least,
    check_same_shape,
    warn_degenerate,
)

__all__ = ["ThresholdOverlapScore", "threshold_overlap_score", "top_percent_threshold"]


@dataclass(frozen=True)
class ThresholdOverlapScore:
    """The threshold overlap score of two channels.

    Attributes
    ----------
    linear, log2 : float
        TOS rescaled linearly and logarithmically (EzColocalization's "TOS(linear)" and
        "TOS(log2)"): 1 when the pixels above the thresholds overlap as much as their
        fractions allow, 0 when they overlap as chance predicts, -1 when as little as
        possible. NaN (with a warning) when nothing is above a threshold or everything is.
    overlap_ratio : float
        Observed over expected overlap, ``f01 / (f0 f1)`` (the paper's PO ratio).
    fraction0, fraction1, fraction_both : float
        The fractions of the selected pixels above the threshold of ``image0``, of
        ``image1``, and of both.
    threshold0, threshold1 : float
        The thresholds, in the images' units: a pixel is above when its value is greater
        (``>``), for every kind of threshold.
    n_pixels : int
        How many pixels were selected (mask).
    """

    linear: float
    log2: float
    overlap_ratio: float
    fraction0: float
    fraction1: float
    fraction_both: float
    threshold0: float
    threshold1: float
    n_pixels: int


def tos_scores(n: int, n0: int, n1: int, n01: int) -> tuple[float, float, float]:
    r"""TOS (linear, log2) and the overlap ratio from pixel counts, as EzColocalization.

    ``n`` pixels, ``n0`` above the threshold of channel 0, ``n1`` of channel 1, ``n01`` of
    both. With the fractions ``f0 = n0 / n``, ``f1 = n1 / n`` and ``f01 = n01 / n``:

    .. math::
        PO = \frac{f_{01}}{f_0 f_1}, \quad
        PO_{max} = \frac{\min(f_0, f_1)}{f_0 f_1}, \quad
        PO_{min} = \begin{cases} 0 & f_0 + f_1 < 1 \\
        \frac{f_0 + f_1 - 1}{f_0 f_1} & \text{otherwise} \end{cases}

    ``linear`` is ``(PO - 1) / (PO_max - 1)`` above 1 and ``(1 - PO) / (PO_min - 1)`` below
    1; ``log2`` is ``m log2(k (PO - 1) + 1)`` with ``m = ln 2 / ln((PO_max - 1) /
    (1 - PO_min))`` and ``k = (PO_max + PO_min - 2) / ((PO_max - 1)(1 - PO_min))`` (the
    logarithmic curve through -1, 0 and 1 at ``PO_min``, 1 and ``PO_max``), 1 above
    ``PO_max``, -1 below ``PO_min``, and ``2 (PO - 1) / (PO_max - PO_min)`` when
    ``PO_max + PO_min = 2`` (where that curve is a line). At ``PO = 1`` both are 0, or NaN when
    ``PO_max`` or ``PO_min`` is 1 (a channel entirely above its threshold). Both are clamped
    to [-1, 1].

    These are the operations of EzColocalization's ``BasicCalculator.getTOS(float[]...)``
    (the form its metrics use) in its order. Deliberate differences: Ez rounds both scores
    to 3 decimals (``BigDecimal`` HALF_UP) before clamping; here they are not rounded.
    Ez's two-channel ``getTOS(CellData, CellData)`` (unused by its metrics) tests
    ``f0 + f1 <= 1`` and ``f != 0.5`` instead; the results agree except exactly on those
    boundaries.
    """
    nan = float("nan")
    f0, f1 = n0 / n, n1 / n
    product = 1.0 * f0 * f1
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = float(np.float64(n01 / n) / np.float64(product))
        po_max = float(np.float64(min(f0, f1)) / np.float64(product))
        po_min = 0.0 if f0 + f1 < 1 else float(np.float64(f0 + f1 - 2 + 1) / np.float64(product))
    if ratio == 1:
        linear = log2 = nan if po_max == 1 or po_min == 1 else 0.0
    elif math.isnan(ratio):
        linear = log2 = nan
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            if ratio < 1:
                linear = float(np.float64(1 - ratio) / np.float64(po_min - 1))
            else:
                linear = float(np.float64(ratio - 1) / np.float64(po_max - 1))
            if ratio > po_max:
                log2 = 1.0
            elif ratio < po_min:
                log2 = -1.0
            elif po_max + po_min != 2:
                m = math.log(2) / np.log(np.float64(po_max - 1) / np.float64(1 - po_min))
                k = (po_max + po_min - 2) / np.float64((po_max - 1) * (1 - po_min))
                log2 = float(m * np.log(k * (ratio - 1) + 1) / math.log(2))
            else:
                log2 = 2 / (po_max - po_min) * (ratio - 1)
    return _clamp(linear), _clamp(log2), ratio


def _clamp(x: float) -> float:
    return x if math.isnan(x) else min(1.0, max(-1.0, x))


def _pixels(image: object, name: str, mask: object) -> np.ndarray:
    arr = as_image(image, name=name)
    return arr.ravel() if mask is None else arr[as_mask(mask, arr.shape)]


def top_threshold(values: np.ndarray, percent: float, name: str) -> float:
    """:func:`top_percent_threshold` of the selected pixels ``values``."""
    if not (isinstance(percent, (int, float)) and 0 < percent <= 100):
        raise ValueError(
            f"{name} must be a percentage in (0, 100] (EzColocalization's FT, e.g. 10 for the "
            f"brightest 10%), got {percent!r}"
        )
    if values.size == 0:
        return float("nan")
    levels, counts = np.unique(values, return_counts=True)
    levels, counts = levels[::-1], counts[::-1]  # descending, as Ez ranks
    before = np.cumsum(counts) - counts
    mean_rank = before + (counts + 1) / 2  # Ez's tie rank: the mean of the group's ranks
    cutoff = math.ceil(values.size * float(percent) / 100.0)
    kept = int(np.count_nonzero(mean_rank <= cutoff))  # a prefix: mean ranks increase
    if kept == levels.size:
        return -math.inf
    return float(levels[kept])


def top_percent_threshold(image: object, percent: float, *, mask: object = None) -> float:
    """EzColocalization's "FT" threshold: the value above which lie the top ``percent``% pixels.

    Ez ranks the pixels from the brightest (rank 1), gives tied pixels the mean of their
    ranks, and keeps those whose rank is at most ``ceil(n * percent / 100)``: a group of
    equal values that straddles the cut is kept whole when its mean rank is within it and
    dropped whole otherwise, so the fraction kept can differ from ``percent``% either way
    (Coloc 2's sample, 60%: 33% of the green pixels, its zeros being one group). The
    threshold returned is the
    brightest value *not* kept, so that ``image > threshold`` selects exactly Ez's pixels
    (``-inf`` when every pixel is kept).

    Parameters
    ----------
    image : (M, N[, P]) ndarray
        One channel (any real dtype).
    percent : float
        The percentage of pixels to keep, in (0, 100] (Ez's FT: an integer 1-99, default 10).
    mask : ndarray of bool, optional
        Only pixels where ``mask`` is non-zero are ranked.

    Returns
    -------
    float
        The threshold in the image's units (NaN, with a :class:`~colocalize.ColocalizeWarning`,
        for an empty mask).

    Notes
    -----
    Deliberate difference from Ez (``BasicCalculator.prepCellData``, ``DataSorter.getRank``):
    Ez ranks the values as Java floats (float32), so float64 values that round to the same
    float32 tie there; here the values are compared as they are.

    Examples
    --------
    >>> import numpy as np
    >>> from colocalize import top_percent_threshold
    >>> image = np.array([[9, 8, 7, 7], [5, 4, 3, 1]])
    >>> top_percent_threshold(image, 25)  # ranks 1, 2: 9 and 8 are the top 25%
    7.0
    >>> top_percent_threshold(image, 50)  # the two 7s (mean rank 3.5 <= 4) are kept too
    5.0
    """
    values = _pixels(image, "image", mask)
    threshold = top_threshold(values, percent, "percent")
    if values.size == 0:
        warn_degenerate("top_percent_threshold: the mask is empty: no pixel to rank; NaN.")
    return threshold


def threshold_overlap_score(
    image0: object,
    image1: object,
    *,
    mask: object = None,
    thresholds: str | Sequence[float] | None = None,
    percent: float | Sequence[float] = 10.0,
    costes_method: str = "bisection",
) -> ThresholdOverlapScore:
    """Threshold overlap score (TOS) of two channels, as EzColocalization computes it.

    The pixels above each channel's threshold are compared with what chance predicts from
    their fractions alone (:func:`tos_scores` has the formulas): TOS is 1 when they overlap
    as much as possible, 0 as by chance, -1 as little as possible (Sheng et al. 2016).

    Parameters
    ----------
    image0, image1 : (M, N[, P]) ndarray
        The two channels (any real dtype, same shape).
    mask : ndarray of bool, optional
        Only pixels where ``mask`` is non-zero are used (EzColocalization: one cell).
    thresholds : None, "costes" or (float, float), optional
        None (default): the top ``percent``% of each channel (Ez's "FT", its default for
        TOS); ``"costes"``: Costes' thresholds with ``costes_method`` (use
        ``"ezcolocalization"`` to reproduce Ez's "Costes'" option); or two thresholds in the
        images' units. A pixel is above a threshold when it is greater (``>``), as in Ez.
    percent : float or (float, float), optional
        The FT percentages of the two channels (default 10, Ez's default), in (0, 100].
    costes_method : str, optional
        The search of ``thresholds="costes"`` (see :func:`colocalize.costes_threshold`).

    Returns
    -------
    ThresholdOverlapScore

    Warns
    -----
    ColocalizeWarning
        Nothing, or everything, is above a threshold: the scores are NaN (Ez: NaN too).

    Notes
    -----
    Deliberate differences from EzColocalization: the scores are not rounded to 3 decimals;
    a mask of any shape replaces Ez's cells (and a stack is one set of pixels, where Ez
    measures each slice); only two channels (Ez also has a three-channel TOS).

    References
    ----------
    .. [1] Sheng, H., Stauffer, W. & Lim, H. N. (2016). Systematic and general method for
       quantifying localization in microscopy images. Biology Open 5(12), 1882-1893.
       :doi:`10.1242/bio.019893`
    .. [2] Stauffer, W., Sheng, H. & Lim, H. N. (2018). EzColocalization: an ImageJ plugin
       for visualizing and measuring colocalization in cells and organisms. Scientific
       Reports 8, 15764. :doi:`10.1038/s41598-018-33592-8`

    Examples
    --------
    >>> import numpy as np
    >>> from colocalize import threshold_overlap_score
    >>> rng = np.random.default_rng(0)
    >>> a = rng.random((64, 64))
    >>> threshold_overlap_score(a, a).linear  # identical channels: as much as possible
    1.0
    >>> threshold_overlap_score(a, -a).linear  # the brightest of one are the dimmest of the other
    -1.0
    """
    arr0 = as_image(image0, name="image0")
    arr1 = as_image(image1, name="image1")
    check_same_shape([arr0, arr1], ["image0", "image1"])
    inside = None if mask is None else as_mask(mask, arr0.shape)
    a, b = (arr.ravel() if inside is None else arr[inside] for arr in (arr0, arr1))
    if thresholds is None:
        pair = (percent, percent) if isinstance(percent, (int, float)) else tuple(percent)
        if len(pair) != 2:
            raise ValueError(f"percent must be one number or two, got {percent!r}")
        t0 = top_threshold(a, pair[0], "percent")
        t1 = top_threshold(b, pair[1], "percent")
    elif isinstance(thresholds, str):
        if thresholds.lower() != "costes":
            raise ValueError(
                f"thresholds must be None (top percent), 'costes' or two numbers, got "
                f"{thresholds!r}"
            )
        from colocalize._costes import check_costes_method, costes_threshold

        costes = costes_threshold(arr0, arr1, mask=mask, method=check_costes_method(costes_method))
        t0, t1 = costes.threshold0, costes.threshold1
    else:
        values = tuple(thresholds)
        if len(values) != 2 or not all(isinstance(t, (int, float)) for t in values):
            raise ValueError(
                f"thresholds must be None (top percent), 'costes' or two numbers, got "
                f"{thresholds!r}"
            )
        t0, t1 = float(values[0]), float(values[1])
    n = int(a.size)
    nan = float("nan")
    if n == 0 or math.isnan(t0) or math.isnan(t1):
        warn_degenerate(
            f"threshold_overlap_score: {n} pixel(s) selected, thresholds ({t0}, {t1}): "
            "no score; all results are NaN."
        )
        return ThresholdOverlapScore(nan, nan, nan, nan, nan, nan, t0, t1, n)
    above0 = at_least(a, t0, strict=True)
    above1 = at_least(b, t1, strict=True)
    n0, n1 = int(np.count_nonzero(above0)), int(np.count_nonzero(above1))
    n01 = int(np.count_nonzero(above0 & above1))
    linear, log2, ratio = tos_scores(n, n0, n1, n01)
    if math.isnan(linear) or math.isnan(log2):
        warn_degenerate(
            f"threshold_overlap_score: {n0} and {n1} of {n} pixels are above the thresholds "
            f"({t0:g}, {t1:g}): TOS needs some pixels above and some below each threshold; "
            "the scores are NaN."
        )
    return ThresholdOverlapScore(linear, log2, ratio, n0 / n, n1 / n, n01 / n, t0, t1, n)
