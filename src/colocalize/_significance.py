"""Costes' randomisation test of Pearson's r (Coloc 2's ``CostesSignificanceTest``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields

import numpy as np

from colocalize._validation import as_image, as_mask, check_same_shape, warn_degenerate

__all__ = ["SignificanceResult", "costes_significance"]


@dataclass(frozen=True)
class SignificanceResult:
    """Costes' randomisation test of Pearson's r.

    Attributes
    ----------
    p_value : float
        Coloc 2's "Costes P-Value": ``Phi((observed - randomized_mean) / randomized_std)``, the
        normal CDF. Note the direction: values above 0.95 mean *colocalised*.
    p_value_empirical : float
        The conventional one-sided permutation p-value ``(1 + #{r_rand >= observed}) / (n + 1)``;
        small values (< 0.05) mean colocalised.
    observed : float
        Pearson's r of the two channels inside the mask.
    randomized_mean, randomized_std : float
        Mean and sample standard deviation (n - 1) of the randomised r values.
    n : int
        Number of randomisations.
    randomized : ndarray of float64, shape (n,) or (0,)
        Pearson's r of every randomisation, in the order computed (read-only): the sample that
        ``randomized_mean``, ``randomized_std`` and both p-values summarise. NaN where r is
        undefined (such values are left out of those fields). Empty when no randomisation was
        run (a degenerate input, see :func:`costes_significance`). Results compare equal when
        all fields are equal, ``randomized`` element-wise (NaN equal to NaN).
    """

    p_value: float
    p_value_empirical: float
    observed: float
    randomized_mean: float
    randomized_std: float
    n: int
    randomized: np.ndarray = field(compare=False, repr=False)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SignificanceResult):
            return NotImplemented
        mine = tuple(getattr(self, f.name) for f in fields(self) if f.compare)
        theirs = tuple(getattr(other, f.name) for f in fields(other) if f.compare)
        return mine == theirs and bool(
            np.array_equal(self.randomized, other.randomized, equal_nan=True)
        )

    def histogram(self, bins: int | str = "auto") -> tuple[np.ndarray, np.ndarray]:
        """Counts and bin edges of the finite ``randomized`` values (:func:`numpy.histogram`).

        ``bins`` is a number of bins or one of numpy's rules (default ``"auto"``). Two empty
        arrays when there is no finite randomized value.

        Examples
        --------
        >>> import numpy as np, colocalize
        >>> rng = np.random.default_rng(0)
        >>> a, b = rng.random((2, 32, 32))
        >>> counts, edges = colocalize.costes_significance(a, b, n=20, rng=0).histogram(4)
        >>> int(counts.sum()), edges.size
        (20, 5)
        """
        finite = self.randomized[np.isfinite(self.randomized)]
        if finite.size == 0:
            return np.zeros(0, dtype=np.intp), np.zeros(0)
        return np.histogram(finite, bins=bins)


# Randomisations draw their random numbers in groups of max(1, _DRAW_VALUES // pixels): this
# fixes which numbers each one uses (as in the first version: seeded results never change).
_DRAW_VALUES = 1 << 25
# A group is shuffled and smoothed (most of the work) in chunks of max(1, _CHUNK_VALUES // pixels)
# randomisations (16 MiB of float32), with progress and cancel in between; Pearson's r is then
# computed for the whole group at once, as in the first version (the same rounding).
_CHUNK_VALUES = 1 << 22


def _read_only(values: np.ndarray) -> np.ndarray:
    values.setflags(write=False)
    return values


def _masked_pearson(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson r along the last axis (x may be batched)."""
    xm = x - x.mean(axis=-1, keepdims=True)
    ym = y - y.mean()
    num = xm @ ym
    den = np.sqrt(np.einsum("...i,...i->...", xm, xm) * (ym @ ym))
    with np.errstate(divide="ignore", invalid="ignore"):
        return num / den


def costes_significance(
    image0: object,
    image1: object,
    *,
    mask: object = None,
    psf: int = 3,
    n: int = 200,
    rng: object = None,
    progress: Callable[[int, int], object] | None = None,
) -> SignificanceResult:
    r"""Costes' randomisation test: is Pearson's r larger than for block-shuffled images?

    ``image0`` is cut into cubes of ``psf`` pixels along every axis (squares in 2D), the cubes
    are shuffled, the shuffled image is smoothed with a Gaussian of sigma ``psf`` pixels, and
    Pearson's r with ``image1`` is computed; this is repeated ``n`` times. Then

    .. math::
        P = \Phi\!\left(\frac{r_\mathrm{obs} - \bar r_\mathrm{rand}}{s_\mathrm{rand}}\right),
        \qquad p_\mathrm{emp} = \frac{1 + \#\{r_\mathrm{rand} \ge r_\mathrm{obs}\}}{n + 1},

    with ``s`` the sample standard deviation. ``P`` is what Coloc 2 reports as "Costes
    P-Value" (P > 0.95 means colocalised); ``p_emp`` is the usual permutation p-value [2]_
    (small means colocalised).

    Parameters
    ----------
    image0, image1 : (M, N[, P]) ndarray
        The two channels. ``image0`` is the one shuffled (as in Coloc 2).
    mask : ndarray of bool, optional
        Region to analyse. Only blocks lying entirely inside the mask are shuffled, among
        themselves; mask pixels in no such block are shuffled individually among themselves.
    psf : int, optional
        Block edge and smoothing sigma in pixels (Coloc 2's "PSF", default 3).
    n : int, optional
        Number of randomisations (Coloc 2's default is 10; 200 gives a usable empirical p).
    rng : int or numpy.random.Generator, optional
        Seed or generator, for reproducible results.
    progress : callable, optional
        ``progress(done, total)`` is called with ``done = 0`` before the first randomisation and
        after each chunk of randomisations, ``done`` increasing to ``total = n``; its return
        value is ignored. It is not called when no randomisation is run (degenerate input).
        A chunk holds ``max(1, 2**22 // pixels)`` randomisations (16 MiB of float32 smoothed),
        typically well under a second of work. Passing a callback changes no result.
        **Cancelling**: raise an exception in ``progress`` (your own, ``KeyboardInterrupt``,
        or the ImageJ bridge's ``Cancelled``). It propagates unchanged out of
        ``costes_significance`` before the next chunk starts; no result is returned, and a
        ``Generator`` passed as ``rng`` has advanced.

    Returns
    -------
    SignificanceResult
        The p-values, their summary of the randomised r values, and those values
        (``randomized``).

    Warns
    -----
    ColocalizeWarning
        A constant channel, fewer than two blocks to shuffle, or randomised r values with zero
        spread: the affected fields are NaN.

    Notes
    -----
    Deliberate differences from Coloc 2's ``CostesSignificanceTest``:

    - With a mask, Coloc 2 shuffles blocks of the mask's whole bounding box (its issue #75),
      dragging outside pixels into the mask; here only blocks inside the mask move, and the
      smoothing is a normalised convolution inside the mask (outside pixels do not bleed in).
    - Without a mask the image is tiled from its origin and the partial blocks at the far
      edges are shuffled pixel by pixel instead of being filled by mirroring.
    - Randomisations are seeded and computed in batches (shuffled images smoothed in float32,
      Gaussian truncated at ``round(3 psf)`` pixels like imglib2's ``Gauss3``); there is no
      "retry on numerical failure": a NaN r is left out of the mean, SD and empirical p.
    - The empirical p-value is reported instead of Coloc 2's inverted "ratio of randomised
      Pearsons >= actual".

    References
    ----------
    .. [1] Costes, S. V. et al. (2004). Automatic and quantitative measurement of
       protein-protein colocalization in live cells. Biophys. J. 86(6), 3993-4003.
       :doi:`10.1529/biophysj.103.038422`
    .. [2] Phipson, B. & Smyth, G. K. (2010). Permutation p-values should never be zero.
       Stat. Appl. Genet. Mol. Biol. 9(1), 39. :doi:`10.2202/1544-6115.1585`

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import ndimage
    >>> import colocalize
    >>> rng = np.random.default_rng(1)
    >>> signal = ndimage.gaussian_filter(rng.random((96, 96)), 2)
    >>> a = signal + 0.01 * rng.random((96, 96))
    >>> b = signal + 0.01 * rng.random((96, 96))
    >>> res = colocalize.costes_significance(a, b, n=50, rng=0)
    >>> res.p_value > 0.95, res.p_value_empirical < 0.05
    (True, True)
    >>> res.randomized.shape, bool(res.randomized.mean() == res.randomized_mean)
    ((50,), True)
    """
    arr0, arr1, psf, n = _checked(image0, image1, psf, n, progress)
    generator = np.random.default_rng(rng)  # type: ignore[arg-type]
    shape = arr0.shape
    inside = (
        np.ones(shape, dtype=bool) if mask is None else np.array(as_mask(mask, shape), dtype=bool)
    )
    x = arr0.astype(np.float64)
    y = arr1.astype(np.float64)
    nan = float("nan")
    yv = y[inside]
    xv = x[inside]
    if xv.size < 2 or np.ptp(xv) == 0 or np.ptp(yv) == 0:
        warn_degenerate(
            f"costes_significance: {xv.size} pixel(s) in the mask or a constant channel; "
            "Pearson's r is undefined, all results are NaN."
        )
        return SignificanceResult(nan, nan, nan, nan, nan, n, _read_only(np.empty(0)))
    observed = float(_masked_pearson(xv, yv))
    blocks = _Blocks.of(inside, psf)
    if blocks is None:
        warn_degenerate(
            f"costes_significance: fewer than two {psf}-pixel blocks fit inside the mask; "
            "use a smaller psf or a larger region. The p-values are NaN."
        )
        return SignificanceResult(nan, nan, observed, nan, nan, n, _read_only(np.empty(0)))
    randomized = blocks.randomized_pearson(
        x, yv, psf, n, generator, smooth_in_mask=mask is not None, progress=progress
    )
    finite = randomized[np.isfinite(randomized)]
    mean = float(finite.mean()) if finite.size else nan
    std = float(finite.std(ddof=1)) if finite.size > 1 else nan
    return SignificanceResult(
        p_value=_normal_p_value(observed, mean, std),
        p_value_empirical=float((1 + np.count_nonzero(finite >= observed)) / (finite.size + 1)),
        observed=observed,
        randomized_mean=mean,
        randomized_std=std,
        n=n,
        randomized=_read_only(randomized),
    )


def _checked(
    image0: object,
    image1: object,
    psf: object,
    n: object,
    progress: object,
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """The checked arguments of :func:`costes_significance`: both images, ``psf`` and ``n``."""
    arr0 = as_image(image0, name="image0", min_ndim=2)
    arr1 = as_image(image1, name="image1", min_ndim=2)
    check_same_shape([arr0, arr1], ["image0", "image1"])
    if isinstance(psf, bool) or not isinstance(psf, (int, np.integer)) or psf < 1:
        raise ValueError(
            f"psf must be a positive integer number of pixels (block edge and smoothing "
            f"sigma), got {psf!r}; Coloc 2's default is 3."
        )
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"n must be an integer >= 2 (number of randomisations), got {n!r}.")
    if progress is not None and not callable(progress):
        raise ValueError(
            f"progress must be a callable progress(done, total) or None, got {progress!r}."
        )
    return arr0, arr1, int(psf), int(n)


@dataclass(frozen=True, eq=False)
class _Blocks:
    """The pixels Costes' test moves: the blocks of ``psf`` pixels per axis that lie entirely
    inside the mask, on a grid over the mask's bounding box, and the mask's other pixels."""

    inside: np.ndarray  # the mask (all True without one)
    pixels: np.ndarray  # (blocks, psf**ndim) flat positions, the same in-block order in each
    loose: np.ndarray  # flat positions of the mask pixels in no movable block

    @classmethod
    def of(cls, inside: np.ndarray, psf: int) -> _Blocks | None:
        """The blocks of the mask ``inside`` (None when fewer than two fit)."""
        shape = inside.shape
        coords = np.nonzero(inside)
        origin = [int(c.min()) for c in coords]
        extent = [int(c.max()) + 1 - o for c, o in zip(coords, origin)]
        counts = [e // psf for e in extent]
        box = tuple(slice(o, o + c * psf) for o, c in zip(origin, counts))
        block_index = np.full(shape, -1, dtype=np.intp)
        n_blocks = int(np.prod(counts)) if all(counts) else 0
        full: np.ndarray = np.zeros(0, dtype=bool)
        if n_blocks:
            ids = np.arange(n_blocks).reshape(counts)
            for axis in range(len(shape)):
                ids = np.repeat(ids, psf, axis=axis)
            block_index[box] = ids
            covered = np.bincount(ids[inside[box]].ravel(), minlength=n_blocks)
            full = covered == psf ** len(shape)
        good = np.flatnonzero(full)
        if good.size < 2:
            return None
        flat_inside = np.flatnonzero(inside.ravel())
        blk = block_index.ravel()[flat_inside]
        in_good = (blk >= 0) & full[np.maximum(blk, 0)]
        block_pixels = flat_inside[in_good]
        order = np.argsort(blk[in_good], kind="stable")
        block_pixels = block_pixels[order].reshape(good.size, -1)
        return cls(inside, block_pixels, flat_inside[~in_good])

    def randomized_pearson(
        self,
        x: np.ndarray,
        yv: np.ndarray,
        psf: int,
        n: int,
        generator: np.random.Generator,
        *,
        smooth_in_mask: bool,
        progress: Callable[[int, int], object] | None,
    ) -> np.ndarray:
        """Pearson's r with ``yv`` (image1 inside the mask) of ``n`` shuffles of the image
        ``x``, each smoothed by a Gaussian of sigma ``psf`` (normalised by the smoothed mask
        when ``smooth_in_mask``), drawn from ``generator`` in groups and smoothed in chunks
        with ``progress(done, n)`` between them (see ``_DRAW_VALUES``, ``_CHUNK_VALUES``)."""
        from scipy import ndimage

        shape, inside = x.shape, self.inside
        block_pixels, loose = self.pixels, self.loose
        xflat = x.ravel()
        radius = int(3 * psf + 0.5)  # kernel half-width ~3 sigma, as imglib2's Gauss3
        weight = (
            ndimage.gaussian_filter(inside.astype(np.float32), psf, mode="mirror", radius=radius)
            if smooth_in_mask
            else None
        )
        group = max(1, min(n, int(_DRAW_VALUES // max(1, x.size))))
        chunk = max(1, int(_CHUNK_VALUES // max(1, x.size)))
        randomized = np.empty(n)
        done = 0
        if progress is not None:
            progress(0, n)
        while done < n:
            m = min(group, n - done)
            # m independent block permutations, the argsorts of uniform keys (sorted per chunk);
            # the group draws all its keys first, then those of its loose pixels
            keys = generator.random((m, len(block_pixels)))
            loose_keys = generator.random((m, loose.size)) if loose.size else keys[:, :0]
            # column-major, as numpy's fancy indexing of a whole group gave it in the first
            # version: the sums of _masked_pearson round the same way
            smoothed = np.empty((m, yv.size), dtype=np.float32, order="F")
            for first in range(0, m, chunk):
                if first and progress is not None:
                    progress(done + first, n)
                k = min(chunk, m - first)
                shuffled = np.zeros((k, x.size), dtype=np.float32)  # smoothing is memory-bound
                rows = np.arange(k)[:, None]
                moved = block_pixels[np.argsort(keys[first : first + k], axis=1)].reshape(k, -1)
                shuffled[rows, block_pixels.ravel()[None, :]] = xflat[moved]
                if loose.size:
                    loose_perms = np.argsort(loose_keys[first : first + k], axis=1)
                    shuffled[rows, loose[None, :]] = xflat[loose[loose_perms]]
                smooth = ndimage.gaussian_filter(
                    shuffled.reshape((k, *shape)),
                    (0, *([psf] * len(shape))),
                    mode="mirror",
                    radius=(0, *([radius] * len(shape))),
                )
                if smooth_in_mask:
                    with np.errstate(divide="ignore", invalid="ignore"):
                        smooth = smooth / weight
                smoothed[first : first + k] = smooth.reshape(k, -1)[:, inside.ravel()]
            randomized[done : done + m] = _masked_pearson(smoothed.astype(np.float64), yv)
            done += m
            if progress is not None:
                progress(done, n)
        return randomized


def _normal_p_value(observed: float, mean: float, std: float) -> float:
    """Coloc 2's "Costes P-Value", the normal CDF of the observed r's z-score among the
    randomised ones; NaN (with a :class:`ColocalizeWarning`) when they have no spread."""
    from scipy import special

    if not std > 0:
        warn_degenerate(
            "costes_significance: the randomised Pearson r values have no spread; "
            "Coloc 2's normal-CDF p-value is NaN.",
            stacklevel=4,
        )
        return float("nan")
    z = (observed - mean) / std
    return float(min(1.0, max(0.0, special.ndtr(z))))
