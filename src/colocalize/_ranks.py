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
from functools import cached_property

import numpy as np

__all__ = ["MAX_JOINT_CELLS", "ChannelCodes", "channel_codes", "kendall_tau_b"]

# Largest joint histogram (cells) built for a channel pair; beyond it the pair is processed pixel
# by pixel and Kendall's tau falls back to SciPy's merge sort.
MAX_JOINT_CELLS = 1 << 24
# Integer channels whose value range is at most this are coded by a bincount look-up, not a sort.
_MAX_LOOKUP_RANGE = 1 << 22
# Integer channels whose value range is at most this use their values as codes directly.
_MAX_DIRECT_RANGE = 1 << 10


@dataclass(frozen=True)
class ChannelCodes:
    """One channel's pixels as codes into a sorted table of values.

    Attributes
    ----------
    codes : ndarray of unsigned or intp integers, shape (n,)
        ``values[codes]`` recovers the pixels.
    values : ndarray of float64, shape (K,)
        Sorted values: the distinct values, or for integer channels with a small range every
        value from the minimum to the maximum (some may have no pixels).
    counts : ndarray of int, shape (K,), optional
        Pixels per value, when already known.

    The 1-based average rank of each value (ties share the mean of their positions, as
    ``scipy.stats.rankdata(method="average")``) is computed on first use, as ``average_rank``.
    """

    codes: np.ndarray
    values: np.ndarray
    counts: np.ndarray | None = None

    @cached_property
    def average_rank(self) -> np.ndarray:
        counts = self.counts
        if counts is None:
            counts = np.bincount(self.codes, minlength=self.values.size)
        return np.cumsum(counts) - (counts - 1) / 2.0

    @property
    def n_codes(self) -> int:
        return int(self.values.size)


def channel_codes(values: np.ndarray) -> ChannelCodes:
    """Code a 1-D array by its distinct values, with their average ranks.

    Examples
    --------
    >>> c = channel_codes(np.array([1.0, 3.0, 1.0, 2.5]))
    >>> c.codes.tolist(), c.values.tolist(), c.average_rank[c.codes].tolist()
    ([0, 2, 0, 1], [1.0, 2.5, 3.0], [1.5, 4.0, 1.5, 3.0])
    >>> c = channel_codes(np.array([12, 14, 12], dtype=np.uint16))
    >>> c.codes.tolist(), c.values.tolist(), c.average_rank[c.codes].tolist()
    ([0, 2, 0], [12.0, 13.0, 14.0], [1.5, 3.0, 1.5])
    """
    values = np.asarray(values).reshape(-1)
    if values.dtype.kind in "iub" and values.size:
        if values.dtype.itemsize == 1 and values.dtype.kind in "ub":
            low, span = 0, 256  # no min/max passes: every 8-bit value is its own code
        else:
            low = int(values.min())
            span = int(values.max()) - low + 1
        if span <= _MAX_LOOKUP_RANGE:
            unshifted = low == 0 and values.dtype.kind in "ub"
            shifted = values if unshifted else values.astype(np.intp) - low
            if span <= _MAX_DIRECT_RANGE:
                # the values themselves (minus the minimum) are the codes: no pass over the
                # pixels at all; codes of absent values simply have no pixels
                return ChannelCodes(
                    codes=shifted, values=np.arange(low, low + span, dtype=np.float64)
                )
            counts = np.bincount(shifted, minlength=span)
            present = np.flatnonzero(counts)
            lookup = np.cumsum(counts > 0) - 1
            return ChannelCodes(
                codes=lookup[shifted],
                values=(present + low).astype(np.float64),
                counts=counts[present],
            )
    uniq, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    return ChannelCodes(
        codes=inverse.reshape(-1).astype(np.intp, copy=False),
        values=uniq.astype(np.float64),
        counts=counts,
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
    k0, k1 = codes0.n_codes, codes1.n_codes
    if n < 2 or k0 < 2 or k1 < 2:
        return math.nan
    if joint is None:
        if k0 * k1 > MAX_JOINT_CELLS:
            from scipy.stats import kendalltau

            return float(kendalltau(codes0.codes, codes1.codes, variant="b").statistic)
        joint = joint_histogram(codes0, codes1)
    # n_c - n_d = sum_ij H[i, j] (sum_{i'>i, j'>j} H - sum_{i'>i, j'<j} H). With R[i] the
    # histogram of the rows after i and C[i] its cumulative sum over j (T[i] = C[i, -1]), the
    # bracket is (T[i] - C[i, j]) - (C[i, j] - R[i, j]): two cumulative sums, all contiguous.
    rows_after = np.cumsum(joint, axis=0)
    np.subtract(rows_after[-1], rows_after, out=rows_after)
    cumulative = np.cumsum(rows_after, axis=1)
    totals = cumulative[:, -1:].copy()
    cumulative *= -2
    cumulative += rows_after
    cumulative += totals
    del rows_after
    score = int(np.einsum("ij,ij->", joint, cumulative))
    del cumulative
    n0 = n * (n - 1) // 2
    n1 = _tie_pairs(joint.sum(axis=1))
    n2 = _tie_pairs(joint.sum(axis=0))
    denominator = math.sqrt(float(n0 - n1) * float(n0 - n2))
    if denominator == 0.0:
        return math.nan
    return score / denominator


def joint_histogram(codes0: ChannelCodes, codes1: ChannelCodes) -> np.ndarray:
    """The (K0, K1) int64 histogram of code pairs."""
    k0, k1 = codes0.n_codes, codes1.n_codes
    wide = np.uint16 if k0 * k1 <= 2**16 else np.uint32 if k0 * k1 <= 2**32 else np.int64
    pair = codes0.codes.astype(wide) * wide(k1) + codes1.codes
    return np.bincount(pair, minlength=k0 * k1).reshape(k0, k1)
