"""Bivariate (2D intensity) histograms of two channels, the cytofluorogram behind every figure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from colocalize._coefficients import Saturated, check_images, select_pixels

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


def _edges(values: np.ndarray, nbins: int) -> np.ndarray:
    if values.size == 0:
        return np.linspace(0.0, 1.0, nbins + 1)
    low, high = float(values.min()), float(values.max())
    if values.dtype.kind in "iu" and high - low + 1 <= nbins:
        # one bin per integer value, centred on it
        return np.arange(low, high + 2) - 0.5
    if high == low:
        high = low + 1.0
    return np.linspace(low, high, nbins + 1)


def _bin_index(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    index = np.searchsorted(edges, values, side="right") - 1
    return np.clip(index, 0, edges.size - 2)


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
    edges0, edges1 = _edges(flat0, int(nbins)), _edges(flat1, int(nbins))
    i0, i1 = _bin_index(flat0, edges0), _bin_index(flat1, edges1)
    k0, k1 = edges0.size - 1, edges1.size - 1
    counts = np.bincount(i0 * k1 + i1, minlength=k0 * k1).reshape(k0, k1)
    return BivariateHistogram(counts=counts, edges0=edges0, edges1=edges1)
