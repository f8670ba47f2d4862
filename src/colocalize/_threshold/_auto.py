"""Automatic intensity thresholds, identical to ImageJ's, and local (adaptive) thresholds.

How ImageJ 1.x thresholds an image, and so how :func:`threshold` does
-----------------------------------------------------------------------
``ImageProcessor.setAutoThreshold(method, darkBackground, lutUpdate)`` (ImageJ 1.53t, the version
our tests drive; with the normal, non-inverted LUT) works on a 256-bin histogram:

* 8-bit images: the histogram of the pixel values 0..255. ``AutoThresholder.getThreshold`` returns
  a level ``k``; with a dark background the selected range is ``k+1 .. 255``, i.e. ``image > k``.
* 16-bit images: the image is converted to 8 bits with scaling over its own minimum ``a`` and
  maximum ``b`` (``TypeConverter.convertShortToByte``): ``bin = floor((v - a) * 256 / (b - a + 1)
  + 0.5)``, clipped to 255. The level ``k`` is mapped back with
  ``ImageProcessor.scaleAndSetThreshold``: ``lower = a + (k + 1) / 255 * (b - a)`` (``k + 1`` is
  clipped to 255), ``upper = 65535``; ``ShortProcessor.setThreshold`` stores
  ``Math.round(lower)`` and its mask (``createMask``, also the red overlay) keeps pixels with
  ``v >= round(lower)``. So our threshold is ``t = round(lower) - 1`` (``round(x) =
  floor(x + 0.5)``) and the foreground is ``image > t``.
* 32-bit (float) images: ``bin = floor((v - a) * 255 / (b - a) + 0.5)``, clipped to 255
  (``FloatProcessor.create8BitImage``); ``lower = a + (k + 1) / 255 * (b - a)`` and ImageJ keeps
  ``pixel >= (float) lower`` (``FloatProcessor.createMask``). We return ``t`` = the float32 just
  below ``(float) lower``, so that ``image > t`` is exactly that set.
* With a bright background (``darkBackground`` false) ImageJ selects ``0 .. k`` on the 8-bit scale,
  ``upper = a + k / 255 * (b - a)``; the foreground is ``image <= t`` with ``t = k`` (8-bit),
  ``round(upper)`` (16-bit) or ``(float) upper`` (float). When ``k = 255`` the upper end is the
  type's maximum (65535 or 1e30) and we return the image maximum instead (the same pixels).
* Stacks with the "stack histogram" option (``IJ.setAutoThreshold(imp, "Otsu dark stack")``)
  use ``StackStatistics``, which bins differently: ``bin = floor((v - a) / ((b - a) / 256))``
  for 16-bit and ``floor((v - a) * 256 / (b - a))`` for float stacks (truncated, no rounding),
  where ``a``, ``b`` are the minimum and maximum of the (masked) stack; ``lower`` and ``upper``
  are mapped back as above (``upper`` is ``b`` itself). :func:`threshold` does the same for
  images with more than two axes.

The mapping back is not the inverse of the binning (the binning rounds, the mapping does not), so
for 16-bit and float images ImageJ's selected pixels are not exactly the histogram bins above
``k``: the dimmest pixels of bin ``k + 1`` (up to half a bin) stay background. We copy ImageJ's
selection, not the bins. Other integer types follow the 16-bit rules, other float types the float
rules (in their own precision). A mask (ImageJ: ROI + mask) restricts the histogram to the masked
pixels; for a single plane the scaling range ``a .. b`` stays, as in ImageJ, the minimum and
maximum of the whole plane, for a stack it is that of the masked pixels (``StackStatistics``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np

from colocalize._threshold._imagej import METHODS, compute_fiji_level, compute_level
from colocalize._validation import as_image, as_mask, warn_degenerate

__all__ = [
    "resolve_method",
    "threshold",
    "threshold_from_histogram",
    "threshold_local",
    "threshold_methods",
    "threshold_per_slice",
]

StackMode = Literal["histogram", "projection"]
_STACK_MODES = ("histogram", "projection")
_LOCAL_METHODS = ("gaussian", "mean", "median")
_BY_LOWER = {name.lower(): name for name in METHODS}
_BY_LOWER["minerror(i)"] = "MinError"  # Fiji's Auto Threshold spells it so
# full_histogram=True: at most one bin per 16-bit value, as Fiji's Auto Threshold (16-bit images)
MAX_FULL_HISTOGRAM_BINS = 2**16
# 64-bit integer images must lie within +-2**40: there ImageJ's mapping of a level back to
# intensities, low + (k + 1) / 255 (high - low) rounded, is exact in float64 (its fraction is a
# multiple of 1/255, at least 2**-9 from a tie, and the rounding errors stay below 2**-10), so
# thresholds do not depend on an offset of the image.
_MAX_INTEGER = 2**40
_BLOCK = 1 << 20  # pixels binned at a time (temporaries of 8 bytes per pixel: 8 MiB each)


def threshold_methods() -> tuple[str, ...]:
    """Return the names of the automatic threshold methods, in ImageJ's menu order.

    ``Default`` is ImageJ's variant of IsoData (``IJ_IsoData`` after clipping the mode's count),
    the method of ImageJ's Threshold dialog; ``Huang2`` comes from Fiji's Auto Threshold plugin.

    Examples
    --------
    >>> import colocalize
    >>> colocalize.threshold_methods()[:3]
    ('Default', 'Huang', 'Huang2')
    >>> len(colocalize.threshold_methods())
    18
    """
    return tuple(METHODS)


def resolve_method(method: object, *, name: str = "method") -> str:
    """ImageJ's spelling of an automatic threshold method given in any case (``"otsu"`` ->
    ``"Otsu"``); the one place where every entry point (API, command line, batch) checks a name.

    Parameters
    ----------
    method : str
        A name of :func:`threshold_methods`, in any case (``"MinError(I)"`` is accepted too, as
        Fiji's Auto Threshold spells it).
    name : str, optional
        The argument's name in the error message, e.g. ``"--method"``.

    Raises
    ------
    ValueError
        When ``method`` is not one of the names; the message lists them.

    Examples
    --------
    >>> resolve_method("otsu"), resolve_method("MAXENTROPY")
    ('Otsu', 'MaxEntropy')
    """
    if not isinstance(method, str) or method.strip().lower() not in _BY_LOWER:
        raise ValueError(
            f"{name} must be one of {', '.join(METHODS)} (ImageJ's automatic threshold "
            f"methods, any case), got {method!r}."
        )
    return _BY_LOWER[method.strip().lower()]


def threshold_from_histogram(histogram: Sequence[int] | np.ndarray, method: str = "Otsu") -> int:
    """Return the threshold level ImageJ's ``AutoThresholder`` picks for a histogram.

    Parameters
    ----------
    histogram : (B,) array_like of int
        Bin counts (non-negative integers, at least one of them non-zero). ImageJ takes exactly
        256 bins; other lengths run the same algorithms with ImageJ's 255 replaced by ``B - 1``.
    method : str
        One of :func:`threshold_methods` (case-insensitive).

    Returns
    -------
    int
        The level ``k`` (a bin index): the foreground of a dark-background image is the bins
        ``> k``. ImageJ's -1 ("no threshold found") is returned as 0, as ``getThreshold`` does.

    Notes
    -----
    For 256 bins the result equals ImageJ 1.53t's ``AutoThresholder.getThreshold(method,
    histogram)`` (tested against it), quirks included: for example ``IJ_IsoData`` ignores the
    first and last bins, ``Otsu`` keeps the last of equal maxima, ``Intermodes`` and ``Minimum``
    return 0 when 10000 smoothings leave more than two peaks, and ImageJ's Java ``int`` overflow
    in ``MinError`` and ``IsoData`` is reproduced. References for each method are in
    :func:`threshold`.

    Raises
    ------
    ValueError
        When the histogram is empty, all zero, negative or not integer-valued, or the method is
        unknown.

    Examples
    --------
    >>> from colocalize import threshold_from_histogram
    >>> hist = [0] * 256
    >>> hist[50], hist[51], hist[200], hist[201] = 10, 30, 20, 5
    >>> threshold_from_histogram(hist, "Otsu")  # ImageJ keeps the last of equal maxima
    199
    >>> threshold_from_histogram(hist, "Mean")
    108
    """
    name = resolve_method(method)
    counts = np.asarray(histogram)
    if counts.ndim != 1 or counts.size == 0:
        raise ValueError(
            f"histogram must be a non-empty 1-D array of bin counts, got shape {counts.shape}."
        )
    if not (np.issubdtype(counts.dtype, np.integer) or np.issubdtype(counts.dtype, np.floating)):
        raise ValueError(f"histogram must hold integer counts, got dtype {counts.dtype}.")
    if np.issubdtype(counts.dtype, np.floating) and not (
        np.isfinite(counts).all() and (counts == np.round(counts)).all()
    ):
        raise ValueError("histogram must hold whole-number counts (no NaN or fractions).")
    if (counts < 0).any():
        raise ValueError(
            f"histogram has negative counts (minimum {counts.min()}); pass pixel counts."
        )
    if not counts.any():
        raise ValueError(
            "histogram is all zero: there are no pixels to threshold (check the mask)."
        )
    return compute_level(counts, name)


def _fiji_level(counts: np.ndarray, name: str) -> int:
    """Fiji Auto Threshold's level for a full (one bin per value) histogram, ``counts[0] > 0``."""
    occupied = np.flatnonzero(counts)
    if occupied.size == 2:  # Fiji's bilevel rule: the level just below the upper value
        return int(occupied[1]) - 1
    cropped = counts[: int(occupied[-1]) + 1]
    if cropped.size < 2:
        return 0
    return compute_fiji_level(cropped, name)


def _plane_threshold(
    values: np.ndarray,
    range_values: np.ndarray,
    name: str,
    *,
    dark_background: bool,
    full_histogram: bool,
) -> float:
    """Threshold of ``values`` (the histogram pixels); ``range_values`` give ImageJ's min/max."""
    if values.size == 0:
        warn_degenerate("the mask is empty: no pixels to threshold; the threshold is NaN.")
        return float("nan")
    dtype = values.dtype
    if dtype == np.uint8 and not full_histogram:
        counts = np.bincount(values.ravel(), minlength=256)
        return float(compute_level(counts, name))
    if full_histogram:
        if not np.issubdtype(dtype, np.integer):
            raise ValueError(
                f"full_histogram=True needs an integer image (one bin per value), got dtype "
                f"{dtype}; use full_histogram=False for float images."
            )
        base, top = int(values.min()), int(values.max())
        if top - base + 1 > MAX_FULL_HISTOGRAM_BINS:
            raise ValueError(
                f"full_histogram=True (--full-histogram) needs one bin per value, and the "
                f"values span {base}..{top} ({top - base + 1} bins); at most "
                f"{MAX_FULL_HISTOGRAM_BINS} bins (16-bit images, as Fiji's Auto Threshold) are "
                f"allowed. Use full_histogram=False (ImageJ's 256 bins over min..max)."
            )
        counts = np.bincount((values.astype(np.int64) - base).ravel())
        return float(_fiji_level(counts, name) + base)
    if np.issubdtype(dtype, np.integer):
        return _integer_threshold(values, range_values, name, dark_background=dark_background)
    return _float_threshold(values, range_values, name, dark_background=dark_background)


def _warn_constant(low: float) -> None:
    warn_degenerate(
        f"the image is constant ({low!r}): as in ImageJ, every pixel is selected, whatever the "
        f"method."
    )


def _constant_threshold(
    low: float, work: type[np.floating] | None, *, dark_background: bool
) -> float:
    """A constant image (ImageJ selects every pixel); ``work`` is None for integer images."""
    _warn_constant(low)
    if not dark_background:
        return float(low)
    if work is None:
        return float(low - 1)
    return float(np.nextafter(work(low), work(-np.inf)))


def _level_to_threshold(
    level: int,
    low: float,
    high: float,
    work: type[np.floating] | None,
    *,
    dark_background: bool,
    clamp_top: bool = True,
) -> float:
    """ImageJ's mapping of a 256-bin level back to intensities (``work`` None: integer image).

    Dark background: ``lower = low + (k + 1) / 255 (high - low)``; integer images keep
    ``v >= round(lower)``, float images ``v >= (float) lower``. Bright background: ``upper =
    low + k / 255 (high - low)``, rounded (integer) or stored in ``work``; with ``clamp_top``
    a level of 255 gives ``high``.
    """
    if dark_background:
        lower = low + (min(level + 1, 255) / 255.0) * (high - low)
        if work is None:  # ShortProcessor.setThreshold rounds
            return float(np.floor(lower + 0.5) - 1)
        return float(np.nextafter(work(lower), work(-np.inf)))
    if clamp_top and level >= 255:
        return float(high)
    upper = low + (level / 255.0) * (high - low)
    return float(np.floor(upper + 0.5)) if work is None else float(work(upper))


def _binned_counts(values: np.ndarray, bin_of: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """The 256 bin counts of ``values`` for the (float, non-negative) bin indices ``bin_of``
    gives, clipped at 255; computed in blocks of ``_BLOCK`` pixels so that the temporaries of
    the binning stay a few MiB whatever the image size."""
    flat = values.reshape(-1)
    counts = np.zeros(256, dtype=np.int64)
    for start in range(0, flat.size, _BLOCK):
        index = np.minimum(bin_of(flat[start : start + _BLOCK]), 255).astype(np.intp)
        counts += np.bincount(index, minlength=256)
    return counts


def _integer_threshold(
    values: np.ndarray, range_values: np.ndarray, name: str, *, dark_background: bool
) -> float:
    low, high = int(range_values.min()), int(range_values.max())
    if high == low:
        return _constant_threshold(low, None, dark_background=dark_background)
    scale = 256.0 / (high - low + 1)
    counts = _binned_counts(values, lambda v: np.floor((v.astype(np.int64) - low) * scale + 0.5))
    level = compute_level(counts, name)
    return _level_to_threshold(level, low, high, None, dark_background=dark_background)


def _float_threshold(
    values: np.ndarray, range_values: np.ndarray, name: str, *, dark_background: bool
) -> float:
    work = np.float32 if values.dtype.itemsize <= 4 else np.float64
    low = float(range_values.min().astype(work))
    high = float(range_values.max().astype(work))
    if high == low:
        return _constant_threshold(low, work, dark_background=dark_background)
    scale = 255.0 / (high - low)
    counts = _binned_counts(
        values,
        lambda v: np.floor(np.maximum(v.astype(work).astype(np.float64) - low, 0.0) * scale + 0.5),
    )
    level = compute_level(counts, name)
    return _level_to_threshold(level, low, high, work, dark_background=dark_background)


def _stack_threshold(values: np.ndarray, name: str, *, dark_background: bool) -> float:
    """ImageJ's ``IJ.setAutoThreshold(imp, "<method> [dark] stack")`` (``StackStatistics``)."""
    if values.size == 0:
        warn_degenerate("the mask is empty: no pixels to threshold; the threshold is NaN.")
        return float("nan")
    if values.dtype == np.uint8:
        return float(compute_level(np.bincount(values.ravel(), minlength=256), name))
    integer = np.issubdtype(values.dtype, np.integer)
    work = np.float32 if values.dtype.itemsize <= 4 else np.float64
    low = float(values.min() if integer else values.min().astype(work))
    high = float(values.max() if integer else values.max().astype(work))
    if high == low:
        return _constant_threshold(low, None if integer else work, dark_background=dark_background)
    if integer:  # sum16BitHistograms: bin width (max - min) / 256, truncated
        scale = 1.0 / ((high - low) / 256)
        base = int(low)
        counts = _binned_counts(
            values, lambda v: np.floor(scale * (v.astype(np.int64) - base).astype(np.float64))
        )
    else:  # doCalculations: 256 / (max - min), truncated
        scale = 256 / (high - low)
        counts = _binned_counts(
            values, lambda v: np.floor(scale * (v.astype(work).astype(np.float64) - low))
        )
    level = compute_level(counts, name)
    return _level_to_threshold(
        level,
        low,
        high,
        None if integer else work,
        dark_background=dark_background,
        clamp_top=False,  # StackStatistics' upper bound is the stack maximum itself
    )


def _prepare(image: object, mask: object | None) -> tuple[np.ndarray, np.ndarray | None]:
    arr = as_image(image, name="image")
    if arr.dtype == np.float16:
        arr = arr.astype(np.float32)
    if arr.dtype.kind in "iu" and arr.dtype.itemsize == 8 and arr.size:
        _check_integer_range(int(arr.min()), int(arr.max()), arr.dtype)
    if mask is None:
        return arr, None
    return arr, as_mask(mask, arr.shape)


def _check_integer_range(low: int, high: int, dtype: np.dtype) -> None:
    """64-bit integers: refuse values where the float64 arithmetic of the threshold is inexact."""
    if low >= -_MAX_INTEGER and high <= _MAX_INTEGER:
        return
    raise ValueError(
        f"image holds {dtype} values {low}..{high}; thresholds of integer images are exact only "
        f"within +-2**40 ({_MAX_INTEGER}), beyond which they could select the wrong pixels. "
        f"Subtract an offset (thresholds move with it) or convert to float64 first."
    )


def threshold(
    image: object,
    method: str = "Otsu",
    *,
    mask: object | None = None,
    dark_background: bool = True,
    stack_mode: StackMode = "histogram",
    full_histogram: bool = False,
) -> float:
    """Return ImageJ's automatic threshold of an image, in the image's units.

    The foreground is ``image > t`` (bright objects on a dark background). With
    ``dark_background=False`` it is ``image <= t`` (dark objects), as ImageJ's "Dark background"
    checkbox flips the selected range.

    Parameters
    ----------
    image : (M, N[, ...]) array_like
        Intensities, integer or float (boolean is read as 0/1). Axis order (..., y, x). 64-bit
        integers must lie within +-2**40 (about 1.1e12), where the threshold computed in float64
        is exact; other values raise ``ValueError``.
    method : str
        One of :func:`threshold_methods`, ImageJ's names (case-insensitive, see
        :func:`resolve_method`); default ``"Otsu"``.
    mask : array_like of bool, optional
        Only pixels where ``mask`` is true form the histogram; the same shape as ``image`` or as
        its last axes. The 16-bit/float scaling range stays that of the whole image, as in ImageJ.
    dark_background : bool
        True (default): the foreground is brighter than the background.
    stack_mode : {"histogram", "projection"}
        For images with more than two axes: ``"histogram"`` (default) uses one histogram of every
        pixel of the stack, as ImageJ's ``IJ.setAutoThreshold(imp, "<method> dark stack")``
        (the "Stack histogram" option); ``"projection"`` thresholds the maximum-intensity
        projection over the leading axes (the mask is projected with a logical OR). For one
        threshold per plane, see :func:`threshold_per_slice`.
    full_histogram : bool
        False (default): ImageJ's 256-bin histogram over the image's minimum..maximum, as
        Image > Adjust > Threshold. True (integer images only): one bin per integer value, as
        Fiji's Auto Threshold plugin does for 16-bit images (its bilevel rule included); ``t`` is
        then the level itself. The values may span at most 65536 bins (``maximum - minimum <
        2**16``, any integer dtype): wider ranges raise ``ValueError`` instead of allocating a
        histogram of billions of bins.

    Returns
    -------
    float
        ``t`` such that ``image > t`` (or ``image <= t``) is exactly the set of pixels ImageJ
        selects. NaN with a :class:`~colocalize.ColocalizeWarning` when the mask is empty.

    Notes
    -----
    Exactly which pixels ImageJ selects, and how a 256-bin level is mapped back to 16-bit and float
    intensities, is described in this module's docstring (``colocalize._threshold._auto``). In
    short: 8-bit images return ImageJ's ``AutoThresholder`` level ``k`` itself; 16-bit images return
    ``round(a + (k + 1)(b - a)/255) - 1`` where ``a``, ``b`` are the image's minimum and maximum;
    float images the float32 just below ``a + (k + 1)(b - a)/255``.

    The methods (``k`` maximises or minimises, over the 256 levels, the criterion named):

    - ``Default``: ImageJ's iterative intermeans (``IJ_IsoData``) after clipping the histogram's
      highest count to 1.5 x the second highest; ``IJ_IsoData`` ignores the first and last bins.
    - ``IsoData``: Ridler & Calvard's k = (mean below k + mean above k) / 2, from the bottom.
      doi:10.1109/TSMC.1978.4310039
    - ``Huang`` (Huang & Wang, doi:10.1016/0031-3203(94)E0043-K): minimum fuzzy entropy.
      ``Huang2`` is Fiji's faster variant (integer class means); it can differ from ``Huang``.
    - ``Intermodes`` / ``Minimum`` (Prewitt & Mendelsohn, doi:10.1111/j.1749-6632.1965.tb11715.x):
      smooth until bimodal; midpoint of the two peaks / valley between them.
    - ``Li`` (Li & Tam, doi:10.1016/S0167-8655(98)00057-9): iterative minimum cross entropy.
    - ``MaxEntropy`` (Kapur et al., doi:10.1016/0734-189X(85)90125-2), ``RenyiEntropy`` and
      ``Shanbhag`` (doi:10.1006/cgip.1994.1037): entropy criteria.
    - ``Mean``: floor of the mean level (Glasbey, doi:10.1006/cgip.1993.1040).
    - ``MinError`` (Kittler & Illingworth, doi:10.1016/0031-3203(86)90030-0).
    - ``Moments`` (Tsai, doi:10.1016/0734-189X(85)90133-1): moment-preserving.
    - ``Otsu`` (doi:10.1109/TSMC.1979.4310076): maximum between-class variance
      ``(N1 S / N - S1)^2 / (N1 (N - N1))``.
    - ``Percentile``: the level closest to 50 % of the pixels below (Doyle 1962).
    - ``Triangle`` (Zack et al., doi:10.1177/25.7.70454): largest distance to the line from the
      peak to the far end of the histogram.
    - ``Yen`` (doi:10.1109/83.366472): maximum correlation criterion.

    Deliberate differences from ImageJ: none in the selected pixels for 8-bit (``uint8``), 16-bit
    (``uint16``) and float32 images with the default options, except that for 8-bit images and
    ``k = 255`` we return 255 (nothing above it) where ``setAutoThreshold`` clamps its range to
    select the pixels equal to 255. Other dtypes, which ImageJ cannot hold, follow the closest
    ImageJ type (16-bit rules for integers, with negative values allowed).
    ``full_histogram=True`` follows Fiji's Auto Threshold plugin (v1.18): its bilevel rule (two
    values: the level just below the upper one), the histogram cropped to the occupied values,
    its own ``Default`` (ImageJ's original IsoData without the mode clipping), ``Otsu`` (first
    of equal maxima) and ``Mean`` (64-bit integers), and ``t = minimum - 1`` when a method fails
    (Intermodes, Minimum); tested against Fiji's plugin. One deliberate difference: Fiji's
    ``Moments`` computes ``i * i * i`` in Java ``int``, which overflows for images spanning more
    than 1290 values; ours does not. ``IJ_IsoData`` (not in Fiji's list) runs ImageJ's code on
    the cropped histogram. The entropy methods and Huang cost O(n²) in the number of values
    spanned (seconds for ten thousand).

    scikit-image's functions of the same name (``skimage.filters``) select other pixels in
    several cases; docs/thresholds.md lists how each one differs.

    Examples
    --------
    >>> import numpy as np
    >>> import colocalize
    >>> rng = np.random.default_rng(0)
    >>> image = np.where(rng.random((64, 64)) < 0.3, 180, 40).astype(np.uint8)
    >>> image = image + rng.integers(0, 20, image.shape).astype(np.uint8)
    >>> t = colocalize.threshold(image, "Otsu")
    >>> bool(40 + 19 <= t < 180)
    True
    >>> round(float(np.mean(image > t)), 2)
    0.3
    """
    name = resolve_method(method)
    if stack_mode not in _STACK_MODES:
        raise ValueError(
            f"stack_mode must be one of {', '.join(_STACK_MODES)}, got {stack_mode!r}; use "
            f"threshold_per_slice() for one threshold per plane."
        )
    arr, mask_arr = _prepare(image, mask)
    if stack_mode == "projection" and arr.ndim > 2:
        lead = tuple(range(arr.ndim - 2))
        arr = arr.max(axis=lead)
        if mask_arr is not None:
            mask_arr = np.asarray(mask_arr.any(axis=lead))
    values = arr if mask_arr is None else arr[mask_arr]
    if arr.ndim > 2 and not full_histogram:
        return _stack_threshold(values, name, dark_background=bool(dark_background))
    return _plane_threshold(
        values,
        arr,
        name,
        dark_background=bool(dark_background),
        full_histogram=bool(full_histogram),
    )


def threshold_per_slice(
    image: object,
    method: str = "Otsu",
    *,
    mask: object | None = None,
    dark_background: bool = True,
    full_histogram: bool = False,
) -> np.ndarray:
    """Return ImageJ's automatic threshold of each (M, N) plane of a stack.

    Parameters
    ----------
    image : (..., M, N) array_like
        A stack with at least three axes (for example (P, M, N) or (T, P, M, N)).
    method, mask, dark_background, full_histogram
        As in :func:`threshold`; each plane gets its own histogram and its own scaling range (as
        ImageJ's auto threshold of the current slice).

    Returns
    -------
    ndarray of float64, shape ``image.shape[:-2]``
        The threshold of each plane; the foreground of plane ``i`` is ``image[i] > t[i]``.
        NaN (with a :class:`~colocalize.ColocalizeWarning`) for planes whose mask is empty.

    Examples
    --------
    >>> import numpy as np
    >>> import colocalize
    >>> stack = np.zeros((2, 8, 8), dtype=np.uint8)
    >>> stack[0, :4], stack[0, 4:] = 10, 100
    >>> stack[1, :4], stack[1, 4:] = 20, 200
    >>> colocalize.threshold_per_slice(stack, "Default")
    array([ 55., 110.])
    """
    name = resolve_method(method)
    arr, mask_arr = _prepare(image, mask)
    if arr.ndim < 3:
        raise ValueError(
            f"image must be a stack with at least 3 axes for a threshold per plane, got shape "
            f"{arr.shape}; use threshold() for a single plane."
        )
    planes = arr.reshape((-1, *arr.shape[-2:]))
    masks = None if mask_arr is None else mask_arr.reshape((-1, *arr.shape[-2:]))
    out = np.empty(planes.shape[0], dtype=np.float64)
    for i, plane in enumerate(planes):
        values = plane if masks is None else plane[masks[i]]
        out[i] = _plane_threshold(
            values,
            plane,
            name,
            dark_background=bool(dark_background),
            full_histogram=bool(full_histogram),
        )
    return out.reshape(arr.shape[:-2])


def threshold_local(
    image: object,
    *,
    block_size: int | Sequence[int],
    method: Literal["gaussian", "mean", "median"] = "gaussian",
    offset: float = 0.0,
    mask: object | None = None,
    mode: str = "reflect",
) -> np.ndarray:
    """Return a local (adaptive) threshold image: a neighbourhood statistic minus an offset.

    Follows :func:`skimage.filters.threshold_local`: ``T = f(image) - offset`` where ``f`` is a
    Gaussian filter with ``sigma = (block_size - 1) / 6`` (``"gaussian"``), the mean over a
    ``block_size`` box (``"mean"``) or its median (``"median"``); the foreground is
    ``image > T``.

    Parameters
    ----------
    image : (M, N[, ...]) array_like
        Intensities (computed in float64; the result is in the image's units).
    block_size : int or sequence of int
        Odd neighbourhood size in pixels, one for all axes or one per axis.
    method : {"gaussian", "mean", "median"}
        The neighbourhood statistic (default ``"gaussian"``, as scikit-image).
    offset : float
        Subtracted from the statistic (in the image's units).
    mask : array_like of bool, optional
        When given, the statistic uses only masked pixels (normalised convolution
        ``f(image * mask) / f(mask)`` for ``"gaussian"`` and ``"mean"``); ``T`` is NaN outside the
        mask, so that nothing there is foreground. Not available for ``"median"``.
    mode : str
        Border handling of :mod:`scipy.ndimage` (default ``"reflect"``, as scikit-image).

    Returns
    -------
    ndarray of float64, the shape of ``image``
        The threshold image ``T``.

    Notes
    -----
    Without a mask the result equals ``skimage.filters.threshold_local(image, block_size,
    method, offset=offset, mode=mode)`` computed in float64. Reference: Gonzalez & Woods,
    Digital Image Processing, 2nd ed., 2002, pp. 600-612.

    Examples
    --------
    >>> import numpy as np
    >>> import colocalize
    >>> image = np.tile(np.arange(10.0), (10, 1))
    >>> t = colocalize.threshold_local(image, block_size=3, method="mean", offset=0.5)
    >>> t[5, :4]
    array([-0.16666667,  0.5       ,  1.5       ,  2.5       ])
    """
    from scipy import ndimage as ndi

    arr = as_image(image, name="image").astype(np.float64)
    raw = (
        (block_size,) * arr.ndim if isinstance(block_size, (int, np.integer)) else tuple(block_size)
    )
    if len(raw) != arr.ndim or any(
        not isinstance(b, (int, np.integer)) or b < 1 or b % 2 == 0 for b in raw
    ):
        raise ValueError(
            f"block_size must be an odd positive integer (or one per axis, {arr.ndim} values), "
            f"got {block_size!r}; for example block_size=35."
        )
    sizes = tuple(int(b) for b in raw)
    if method not in _LOCAL_METHODS:
        raise ValueError(f"method must be one of {', '.join(_LOCAL_METHODS)}, got {method!r}.")

    def stat(data: np.ndarray) -> np.ndarray:
        if method == "gaussian":
            sigma = tuple((b - 1) / 6.0 for b in sizes)
            return ndi.gaussian_filter(data, sigma, mode=mode)
        if method == "mean":
            return ndi.uniform_filter(data, sizes, mode=mode)
        return ndi.median_filter(data, size=sizes, mode=mode)

    if mask is None:
        return stat(arr) - float(offset)
    if method == "median":
        raise ValueError(
            "a mask is supported for method='gaussian' or 'mean', not 'median'; apply the "
            "median threshold to the whole image and combine its result with the mask."
        )
    inside = np.ascontiguousarray(as_mask(mask, arr.shape), dtype=np.float64)
    weight = stat(inside)
    with np.errstate(invalid="ignore", divide="ignore"):
        local = stat(arr * inside) / weight
    local[inside == 0] = np.nan
    return local - float(offset)
