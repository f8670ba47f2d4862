"""Li's intensity correlation analysis (ICA): the ICA plots as data, and the ICQ.

Li et al. (2004) plot each channel's intensity against the product of the two channels'
deviations from their means, (a - ā)(b - b̄). Pixels of dyes that vary together lie right of
zero, pixels of segregated dyes left of it; the intensity correlation quotient (ICQ) is the
fraction of positive products minus 0.5, from -0.5 (segregated) to +0.5 (dependent).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from colocalize._validation import as_image, as_mask, check_same_shape, warn_degenerate

__all__ = ["LiICA", "LiICAHistograms", "li_ica"]


@dataclass(frozen=True)
class LiICAHistograms:
    """The two ICA plots binned: pixel counts over (product, intensity).

    Attributes
    ----------
    counts0, counts1 : ndarray of int64, shape (nbins, nbins)
        ``counts0[i, j]``: pixels with the product in bin i and image0's intensity in bin j;
        ``counts1`` the same with image1's intensity.
    product_edges : ndarray of float64, shape (nbins + 1,)
        Edges of the product bins, symmetric about 0 (as the plots are).
    edges0, edges1 : ndarray of float64, shape (nbins + 1,)
        Edges of the intensity bins, from each channel's minimum to its maximum.
    """

    counts0: np.ndarray
    counts1: np.ndarray
    product_edges: np.ndarray
    edges0: np.ndarray
    edges1: np.ndarray


@dataclass(frozen=True)
class LiICA:
    """Li's intensity correlation analysis of two channels (a = ``image0``, b = ``image1``).

    The arrays hold one value per selected pixel, in the images' C order.

    Attributes
    ----------
    product : ndarray of float64, shape (n_pixels,)
        (a - ā)(b - b̄), in the product of the images' units.
    intensity0, intensity1 : ndarray of float64, shape (n_pixels,)
        a and b, in the images' units (not rescaled).
    mean0, mean1 : float
        ā and b̄, the means over the selected pixels.
    icq : float
        Li's intensity correlation quotient, #{(a - ā)(b - b̄) >= 0} / n - 0.5, equal to
        :attr:`colocalize.Coefficients.icq` (a zero product counts as positive, as in Coloc 2).
        NaN when a channel is constant or no pixel is selected.
    n_pixels : int
        Number of pixels used.
    """

    product: np.ndarray
    intensity0: np.ndarray
    intensity1: np.ndarray
    mean0: float
    mean1: float
    icq: float
    n_pixels: int

    def histograms(self, *, nbins: int = 256) -> LiICAHistograms:
        """Bin both ICA plots into ``nbins`` x ``nbins`` counts (Coloc 2's Li histograms).

        Parameters
        ----------
        nbins : int, optional
            Bins along each axis (Coloc 2 uses 256).

        Returns
        -------
        LiICAHistograms

        Examples
        --------
        >>> import numpy as np
        >>> a = np.array([[0.0, 1.0], [2.0, 3.0]])
        >>> h = li_ica(a, a).histograms(nbins=4)
        >>> int(h.counts0.sum()), h.counts0.shape
        (4, (4, 4))
        """
        ok = isinstance(nbins, (int, np.integer)) and not isinstance(nbins, bool)
        if not ok or nbins < 1:
            raise ValueError(f"nbins must be a positive integer, got {nbins!r}; e.g. nbins=256.")
        n = int(nbins)
        lim = float(np.max(np.abs(self.product))) if self.n_pixels else 0.0
        lim = lim if lim > 0 else 1.0  # all products 0: any symmetric range
        product_edges = np.linspace(-lim, lim, n + 1)

        def edges(values: np.ndarray) -> np.ndarray:
            low = float(values.min()) if values.size else 0.0
            high = float(values.max()) if values.size else 1.0
            return np.linspace(low, high if high > low else low + 1.0, n + 1)

        e0, e1 = edges(self.intensity0), edges(self.intensity1)
        c0, _, _ = np.histogram2d(self.product, self.intensity0, bins=(product_edges, e0))
        c1, _, _ = np.histogram2d(self.product, self.intensity1, bins=(product_edges, e1))
        return LiICAHistograms(
            counts0=c0.astype(np.int64),
            counts1=c1.astype(np.int64),
            product_edges=product_edges,
            edges0=e0,
            edges1=e1,
        )


def li_ica(image0: Any, image1: Any, *, mask: Any = None) -> LiICA:
    """Li's intensity correlation analysis: the data of the two ICA plots, and the ICQ.

    For every selected pixel, the product of the deviations from the channel means

    .. math:: p = (a - \\bar a)(b - \\bar b)

    is returned with both intensities; plotting a against p and b against p gives Li's ICA
    plots. ICQ = #{p >= 0} / n - 0.5.

    The plots are those of JACoP and Coloc 2. Deliberate differences: intensities are not
    rescaled (JACoP plots (a - a_min) / a_max, which changes the axes' scale but not the sign of
    p); a zero product counts as positive in the ICQ, as in Coloc 2 and
    :func:`colocalize.coefficients` (JACoP counts it as negative); a mask may be given (JACoP
    uses the whole image). See ``docs/diagnostics.md``.

    Parameters
    ----------
    image0, image1 : array_like, shape (M, N[, P])
        The two channels (finite, same shape); not modified.
    mask : array_like of bool, optional
        Pixels to use (non-zero is inside), the images' shape or that of their last axes.

    Returns
    -------
    LiICA

    Warns
    -----
    ColocalizeWarning
        When a channel is constant over the selected pixels or the mask is empty (ICQ is NaN).

    References
    ----------
    Li Q, Lau A, Morris TJ, Guo L, Fordyce CB, Stanley EF. A syntaxin 1, Galpha(o), and N-type
    calcium channel complex at a presynaptic nerve terminal: analysis by quantitative
    immunocolocalization. J Neurosci 24:4070-4081 (2004). doi:10.1523/JNEUROSCI.3726-03.2004

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> res = li_ica(a, a)
    >>> res.product.tolist(), res.icq
    ([2.25, 0.25, 0.25, 2.25], 0.5)
    >>> li_ica(a, a[::-1, ::-1]).icq                  # anti-correlated
    -0.5
    """
    a = as_image(image0, name="image0")
    b = as_image(image1, name="image1")
    check_same_shape([a, b], ["image0", "image1"])
    if mask is None:
        u, v = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    else:
        inside = as_mask(mask, a.shape)
        u, v = a[inside].astype(np.float64), b[inside].astype(np.float64)
    n = u.size
    if n == 0:
        warn_degenerate("the mask selects no pixel; li_ica's arrays are empty and icq is NaN.")
        empty = np.empty(0)
        return LiICA(empty, empty, empty.copy(), math.nan, math.nan, math.nan, 0)
    mean_u, mean_v = float(np.sum(u)) / n, float(np.sum(v)) / n
    uc, vc = u - mean_u, v - mean_v
    # exact test: a constant channel's centred values may be rounding noise, not zero
    if u.min() == u.max():
        uc = np.zeros_like(uc)
    if v.min() == v.max():
        vc = np.zeros_like(vc)
    constant = [nm for nm, x in (("image0", u), ("image1", v)) if x.min() == x.max()]
    if constant:
        warn_degenerate(f"{' and '.join(constant)} is constant; li_ica's icq is NaN.")
        icq = math.nan
    else:
        # count signs, not the product: a product of tiny deviations may underflow to 0
        negative = np.count_nonzero(((uc > 0) & (vc < 0)) | ((uc < 0) & (vc > 0)))
        icq = (n - int(negative)) / n - 0.5
    return LiICA(
        product=uc * vc,
        intensity0=u,
        intensity1=v,
        mean0=mean_u,
        mean1=mean_v,
        icq=icq,
        n_pixels=n,
    )
