"""Per-channel ranks and Kendall's tau-b for large images.

Ranks are computed once per channel and shared by every pair. Each channel is reduced to dense
codes (the index of each pixel's value among the channel's sorted distinct values); for integer
images this is a table look-up in O(n), otherwise a sort. Kendall's tau-b is then counted exactly
on the joint histogram of the codes in O(n + K0 K1) time (K0, K1 the numbers of distinct values),
or with SciPy's O(n log n) merge sort when that histogram would be too large.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["MAX_JOINT_CELLS", "ChannelCodes", "channel_codes", "kendall_tau_b"]

# Largest joint histogram (cells) built for a channel pair; beyond it the pair is processed pixel
# by pixel and Kendall's tau falls back to SciPy's merge sort.
MAX_JOINT_CELLS = 1 << 24
# Integer channels whose value range is at most this are coded by a bincount look-up, not a sort.
_MAX_LOOKUP_RANGE = 1 << 22


@dataclass(frozen=True)
class ChannelCodes:
    """One channel's pixels as dense codes into its sorted distinct values.

    Attributes
    ----------
    codes : ndarray of intp, shape (n,)
        ``values[codes]`` recovers the pixels.
    values : ndarray of float64, shape (K,)
        The sorted distinct values.
    average_rank : ndarray of float64, shape (K,)
        The 1-based average rank of each distinct value (ties share the mean of their positions,
        as ``scipy.stats.rankdata(method="average")``).
    """

    codes: np.ndarray
    values: np.ndarray
    average_rank: np.ndarray

    @property
    def n_distinct(self) -> int:
        return int(self.values.size)


def channel_codes(values: np.ndarray) -> ChannelCodes:
    """Code a 1-D array by its distinct values, with their average ranks.

    Examples
    --------
    >>> c = channel_codes(np.array([10, 30, 10, 20]))
    >>> c.codes.tolist(), c.values.tolist(), c.average_rank[c.codes].tolist()
    ([0, 2, 0, 1], [10.0, 20.0, 30.0], [1.5, 4.0, 1.5, 3.0])
    """
    values = np.asarray(values).reshape(-1)
    if values.dtype.kind in "iub" and values.size:
        low = int(values.min())
        span = int(values.max()) - low + 1
        if span <= _MAX_LOOKUP_RANGE:
            shifted = values.astype(np.intp) - low if (low or values.dtype.kind != "u") else values
            counts = np.bincount(shifted, minlength=span)
            present = np.flatnonzero(counts)
            lookup = np.cumsum(counts > 0) - 1
            kept = counts[present]
            cum = np.cumsum(kept)
            return ChannelCodes(
                codes=lookup[shifted],
                values=(present + low).astype(np.float64),
                average_rank=cum - (kept - 1) / 2.0,
            )
    uniq, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    cum = np.cumsum(counts)
    return ChannelCodes(
        codes=inverse.reshape(-1).astype(np.intp, copy=False),
        values=uniq.astype(np.float64),
        average_rank=cum - (counts - 1) / 2.0,
    )


def _tie_pairs(counts: np.ndarray) -> int:
    counts = counts.astype(np.int64, copy=False)
    return int(np.sum(counts * (counts - 1) // 2))


def kendall_tau_b(
    codes0: ChannelCodes, codes1: ChannelCodes, *, joint: np.ndarray | None = None
) -> float:
    """Kendall's tau-b of two coded channels; NaN when either channel is constant.

    tau_b = (n_c - n_d) / sqrt((n_0 - n_1)(n_0 - n_2)), with n_c and n_d the concordant and
    discordant pairs, n_0 = n(n-1)/2 and n_1, n_2 the pairs tied in each channel (Kendall 1945,
    doi:10.1093/biomet/33.3.239). This equals Coloc 2's ``KendallTauRankCorrelation`` and
    ``scipy.stats.kendalltau(variant="b")``.

    Parameters
    ----------
    codes0, codes1 : ChannelCodes
        The two channels, over the same pixels.
    joint : ndarray of int64, shape (K0, K1), optional
        Their joint histogram of codes, when the caller has it already.

    Examples
    --------
    >>> a = channel_codes(np.array([4, 10, 3, 1, 9, 2, 6, 7, 8, 5]))
    >>> b = channel_codes(np.array([5, 8, 6, 2, 10, 3, 9, 4, 7, 1]))
    >>> round(kendall_tau_b(a, b) * 45)
    23
    """
    n = codes0.codes.size
    k0, k1 = codes0.n_distinct, codes1.n_distinct
    if n < 2 or k0 < 2 or k1 < 2:
        return math.nan
    if joint is None:
        if k0 * k1 > MAX_JOINT_CELLS:
            from scipy.stats import kendalltau

            return float(kendalltau(codes0.codes, codes1.codes, variant="b").statistic)
        joint = joint_histogram(codes0, codes1)
    # at_least[i, j]: pixels with code0 >= i and code1 >= j
    at_least = joint[::-1, ::-1].cumsum(axis=0).cumsum(axis=1)[::-1, ::-1]
    concordant = int(np.sum(joint[:-1, :-1] * at_least[1:, 1:]))
    del at_least
    # up_left[i, j]: pixels with code0 >= i and code1 <= j
    up_left = joint[::-1, :].cumsum(axis=0)[::-1, :].cumsum(axis=1)
    discordant = int(np.sum(joint[:-1, 1:] * up_left[1:, :-1]))
    n0 = n * (n - 1) // 2
    n1 = _tie_pairs(joint.sum(axis=1))
    n2 = _tie_pairs(joint.sum(axis=0))
    denominator = math.sqrt(float(n0 - n1) * float(n0 - n2))
    if denominator == 0.0:
        return math.nan
    return (concordant - discordant) / denominator


def joint_histogram(codes0: ChannelCodes, codes1: ChannelCodes) -> np.ndarray:
    """The (K0, K1) int64 histogram of code pairs."""
    k0, k1 = codes0.n_distinct, codes1.n_distinct
    pair = codes0.codes * k1 + codes1.codes
    return np.bincount(pair, minlength=k0 * k1).reshape(k0, k1)
