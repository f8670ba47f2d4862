"""Bivariate (2D intensity) histograms of two channels, the cytofluorogram behind every figure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from colocalize._coefficients import check_images
from colocalize._ranks import subtract_exact
from colocalize._selection import Saturated, select_pixels

__all__ = ["BivariateHistogram", "bivariate_histogram"]


@dataclass(frozen=True)
class BivariateHistogram:
    """Joint histogram of two channels.

    Attributes
    ----------
    counts : ndarray of int64, shape (nbins0, nbins1)
        ``counts[i, j]`` is the number of pixels with image0 in bin i and image1 in bin j.
    edges0, edges1 : ndarray of float64
        Bin edges in the images' units (``nbins + 1`` each); the last bin includes its right
        edge.
    """

    counts: np.ndarray
    edges0: np.ndarray
    edges1: np.ndarray

    @property
    def n_pixels(self) -> int:
        return int(self.counts.sum())

    def log_probability(self) -> np.ndarray:
        """log10 of the fraction of pixels in each bin (-inf for empty bins)."""
        with np.errstate(divide="ignore"):
            return np.log10(self.counts / max(self.n_pixels, 1))


def _bins(values: np.ndarray, nbins: int) -> tuple[np.ndarray, np.ndarray]:
    """Each value's bin index and the bin edges (``nbins + 1``, or one bin per integer value).

    Integer values are binned relative to their minimum by exact subtraction, so 64-bit values
    near the dtype limits (where float64 cannot tell neighbours apart) are counted right; their
    edges are float64, rounded like any float64 near those values.
    """
    if values.size == 0:
        return np.zeros(0, dtype=np.intp), np.linspace(0.0, 1.0, nbins + 1)
    if values.dtype.kind in "iu":
        low, high = int(values.min()), int(values.max())
        relative = subtract_exact(values, low)
        if high - low + 1 <= nbins:  # one bin per integer value, centred on it
            return relative.astype(np.intp), float(low) + np.arange(high - low + 2) - 0.5
        steps = np.linspace(0.0, float(high - low), nbins + 1)
        index = np.searchsorted(steps, relative.astype(np.float64), side="right") - 1
        return np.clip(index, 0, nbins - 1), float(low) + steps
    low_f, high_f = float(values.min()), float(values.max())
    if high_f == low_f:
        high_f = low_f + 1.0
    edges = np.linspace(low_f, high_f, nbins + 1)
    index = np.searchsorted(edges, values, side="right") - 1
    return np.clip(index, 0, nbins - 1), edges


def bivariate_histogram(
    image0: Any,
    image1: Any,
    *,
    nbins: int = 256,
    mask: Any = None,
    exclude_zero_zero: bool = False,
    saturated: Saturated = None,
) -> BivariateHistogram:
    """Joint intensity histogram of two channels over the selected pixels.

    Parameters
    ----------
    image0, image1 : array_like, shape (M, N[, P])
        The two channels (finite, non-negative, same shape).
    nbins : int, optional
        Bins per channel between the channel's minimum and maximum. Integer images whose range
        fits in ``nbins`` get one bin per value instead (exact counts, like Coloc 2 for 8-bit).
    mask, exclude_zero_zero, saturated
        Pixel selection, as in :func:`colocalize.coefficients`. The seed paper's figures drop
        zero-zero and saturated pixels.

    Returns
    -------
    BivariateHistogram

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array([0, 1, 1, 2], dtype=np.uint8)
    >>> h = bivariate_histogram(a, a)
    >>> h.counts.tolist()
    [[1, 0, 0], [0, 2, 0], [0, 0, 1]]
    """
    if int(nbins) < 1:
        raise ValueError(f"nbins must be a positive integer, got {nbins!r}")
    arrays = check_images([image0, image1], ["image0", "image1"])
    _, (flat0, flat1) = select_pixels(
        arrays, mask=mask, exclude_zero_zero=exclude_zero_zero, saturated=saturated
    )
    (i0, edges0), (i1, edges1) = _bins(flat0, int(nbins)), _bins(flat1, int(nbins))
    k0, k1 = edges0.size - 1, edges1.size - 1
    counts = np.bincount(i0 * k1 + i1, minlength=k0 * k1).reshape(k0, k1)
    return BivariateHistogram(counts=counts, edges0=edges0, edges1=edges1)
