"""Van Steensel's cross-correlation function (CCF): Pearson's r against a shift along x.

Van Steensel et al. (1996) shift one channel against the other along x, one pixel at a time, and
plot Pearson's r against the shift. Colocalized structures give a peak at dx = 0; a peak off
zero means the channels are offset; a dip means exclusion. JACoP (Bolte & Cordelieres 2006) made
it a Fiji command and fits a Gaussian to the curve; this is the same function (same pairs, same
sign of dx, same fit model), with a mask and calibrated shifts added.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from colocalize._channels import is_image, resolve_spacing, spacing_of
from colocalize._validation import as_image, as_mask, check_same_shape, warn_degenerate

__all__ = ["VanSteenselCCF", "van_steensel_ccf"]

# FWHM of a Gaussian = this times its standard deviation d
_FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))


# the per-pair fields of a VanSteenselCCF in a summary row (batch ccf_summary.csv, the ccf CLI)
CCF_SUMMARY = (
    "r_max",
    "dx_max",
    "r_min",
    "dx_min",
    "fit_a",
    "fit_b",
    "fit_c",
    "fit_d",
    "fwhm",
    "fwhm_calibrated",
    "pixel_size",
)


@dataclass(frozen=True)
class VanSteenselCCF:
    """Van Steensel's cross-correlation function of two channels.

    Pearson's r of ``image0[..., x]`` against ``image1[..., x + dx]`` for each shift dx, and a
    Gaussian fitted to r(dx). Scalars are Python floats; shifts and the fit's centre, width and
    FWHM are in pixels unless the name says calibrated.

    Attributes
    ----------
    dx : ndarray of int64, shape (2 * max_shift + 1,)
        The shifts, -max_shift ... max_shift, in pixels along x (the last axis).
    shift : ndarray of float64
        The same shifts in calibrated units (``dx * pixel_size``).
    r : ndarray of float64
        Pearson's r per shift (NaN where fewer than two pixel pairs overlap or one channel is
        constant over the pairs).
    n_pairs : ndarray of int64
        Number of pixel pairs used per shift.
    r_max, r_min : float
        The largest and smallest r.
    dx_max, dx_min : float
        The shifts (pixels) of ``r_max`` and ``r_min``; the first (most negative) shift on ties,
        as JACoP.
    fit_a, fit_b, fit_c, fit_d : float
        Parameters of the fitted Gaussian r = a + (b - a) exp(-(dx - c)^2 / (2 d^2)) (c and d in
        pixels; d >= 0). NaN when the fit failed (a :class:`ColocalizeWarning` says why).
    fwhm : float
        Full width at half maximum of the fitted Gaussian, 2 sqrt(2 ln 2) d, in pixels.
    fwhm_calibrated : float
        ``fwhm * pixel_size``.
    fit : ndarray of float64
        The fitted curve at each ``dx`` (NaN when the fit failed).
    pixel_size : float
        Pixel size along x (the last entry of ``spacing``).
    unit : str
        Unit of ``pixel_size`` ("pixel" when uncalibrated).
    """

    dx: np.ndarray
    shift: np.ndarray
    r: np.ndarray
    n_pairs: np.ndarray
    r_max: float
    dx_max: float
    r_min: float
    dx_min: float
    fit_a: float
    fit_b: float
    fit_c: float
    fit_d: float
    fwhm: float
    fwhm_calibrated: float
    fit: np.ndarray
    pixel_size: float
    unit: str


def _gaussian(x: np.ndarray, a: float, b: float, c: float, d: float) -> np.ndarray:
    return a + (b - a) * np.exp(-((x - c) ** 2) / (2.0 * d * d))


def _check_max_shift(max_shift: object, width: int) -> int:
    ok = isinstance(max_shift, (int, np.integer)) and not isinstance(max_shift, bool)
    if not ok or not 1 <= int(max_shift) <= width - 1:  # type: ignore[call-overload]
        raise ValueError(
            f"max_shift must be an integer from 1 to {width - 1} (the images are {width} pixels "
            f"wide along x, the last axis), got {max_shift!r}; pass e.g. "
            f"max_shift={min(20, max(width - 1, 1))}."
        )
    return int(max_shift)  # type: ignore[call-overload]


def _pearson_per_shift(
    a: np.ndarray, b: np.ndarray, mask: np.ndarray | None, shifts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """r and the number of pairs for each shift, from summed moments of the overlap.

    ``a`` and ``b`` are float64 and centred on their (masked) means, so the moment formula
    sum(ab) - sum(a) sum(b) / n loses no precision to a large intensity offset.
    """
    width = a.shape[-1]
    r = np.full(shifts.size, np.nan)
    n_pairs = np.zeros(shifts.size, dtype=np.int64)
    for k, dx in enumerate(shifts.tolist()):
        lo, hi = max(0, -dx), width - max(0, dx)  # image0 columns whose partner exists
        sa, sb = a[..., lo:hi], b[..., lo + dx : hi + dx]
        if mask is not None:
            inside = mask[..., lo:hi] & mask[..., lo + dx : hi + dx]
            sa, sb = sa[inside], sb[inside]
        n = sa.size
        n_pairs[k] = n
        # exact constancy test: a constant overlap's centred moments may be rounding noise
        if n < 2 or sa.min() == sa.max() or sb.min() == sb.max():
            continue
        sum_a, sum_b = float(np.sum(sa)), float(np.sum(sb))
        saa = float(np.sum(sa * sa)) - sum_a * sum_a / n
        sbb = float(np.sum(sb * sb)) - sum_b * sum_b / n
        sab = float(np.sum(sa * sb)) - sum_a * sum_b / n
        r[k] = sab / math.sqrt(saa * sbb)
    return r, n_pairs


def _fit_gaussian(
    dx: np.ndarray, r: np.ndarray, start: tuple[float, float, float, float]
) -> tuple[float, float, float, float]:
    """JACoP's Gaussian fit of r(dx), or four NaN and a warning when it fails."""
    # imported here: scipy.optimize costs every `import colocalize` (CLI start, batch workers)
    from scipy.optimize import OptimizeWarning, curve_fit

    ok = np.isfinite(r)
    if np.count_nonzero(ok) < 5:
        warn_degenerate(
            f"the CCF Gaussian fit needs at least 5 finite r values, got {np.count_nonzero(ok)}; "
            f"fit_a..fit_d and fwhm are NaN.",
            stacklevel=4,
        )
        return (math.nan,) * 4
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OptimizeWarning)  # no covariance: not used here
            params, _ = curve_fit(_gaussian, dx[ok].astype(np.float64), r[ok], p0=start)
    except (RuntimeError, ValueError) as exc:
        warn_degenerate(
            f"the CCF Gaussian fit did not converge ({exc}); fit_a..fit_d and fwhm are NaN.",
            stacklevel=4,
        )
        return (math.nan,) * 4
    a, b, c, d = (float(p) for p in params)
    if not all(math.isfinite(p) for p in (a, b, c, d)) or d == 0:
        warn_degenerate(
            "the CCF Gaussian fit gave a non-finite or zero-width Gaussian; fit_a..fit_d and "
            "fwhm are NaN.",
            stacklevel=4,
        )
        return (math.nan,) * 4
    return a, b, c, abs(d)


def van_steensel_ccf(
    image0: Any,
    image1: Any,
    *,
    mask: Any = None,
    max_shift: int = 20,
    spacing: Sequence[float] | float | None = None,
    unit: str | None = None,
) -> VanSteenselCCF:
    """Van Steensel's cross-correlation function: Pearson's r of image0 against shifted image1.

    For each dx in [-max_shift, max_shift], pixel ``image0[..., x]`` is paired with
    ``image1[..., x + dx]`` (x is the last axis) wherever both exist: no wrap-around, only the
    overlapping columns. With a mask, a pair counts when both of its pixels are inside the mask.
    For each shift

    .. math:: r(dx) = \\frac{\\sum (a - \\bar a)(b - \\bar b)}
              {\\sqrt{\\sum (a - \\bar a)^2 \\sum (b - \\bar b)^2}}

    over the pairs, with the means of the pairs. So if image1 is image0 moved by k pixels
    towards larger x, r peaks at dx = +k. A Gaussian
    r = a + (b - a) exp(-(dx - c)^2 / (2 d^2)) is fitted (least squares, started as JACoP at
    a = r_min, b = r_max, c = dx_max, d = max_shift) and FWHM = 2 sqrt(2 ln 2) d.

    This is JACoP's "Van Steensel's CCF" (pairs, sign of dx, Gaussian model and start, first
    extremum on ties). Deliberate differences: the mask (JACoP uses the whole image), calibrated
    shifts, float images used as values (JACoP reads 32-bit pixels through ``getPixel``, i.e.
    as raw bits), and SciPy's Levenberg-Marquardt fit instead of ImageJ's simplex (the same
    minimum to about 1e-4). See ``docs/diagnostics.md``.

    Parameters
    ----------
    image0, image1 : array_like, shape (M, N[, P])
        The two channels (finite, same shape, at least 2D); the shift runs along the last axis.
        Integer or float; not modified.
    mask : array_like of bool, optional
        Pixels to use (non-zero is inside), the images' shape or that of their last axes.
    max_shift : int, optional
        Largest shift in pixels, from 1 to the image width - 1 (JACoP's default is 20).
    spacing : float or sequence of float, optional
        Pixel size per axis in (z, y, x) order, or one number for all; only x is used
        (default: ``image0``'s spatial spacing when it is an ``Image``, else 1 pixel).
    unit : str, optional
        Unit of ``spacing`` for labels (an ``Image``'s unit, else "pixel" when not given).

    Returns
    -------
    VanSteenselCCF

    Warns
    -----
    ColocalizeWarning
        When a channel is constant (or the mask empty) over a shift's pairs (that r is NaN), or
        the Gaussian fit fails (the fit fields are NaN).

    References
    ----------
    van Steensel B, van Binnendijk EP, Hornsby CD, et al. Partial colocalization of
    glucocorticoid and mineralocorticoid receptors in discrete compartments in nuclei of rat
    hippocampus neurons. J Cell Sci 109:787-792 (1996). doi:10.1242/jcs.109.4.787

    Bolte S, Cordelieres FP. A guided tour into subcellular colocalization analysis in light
    microscopy. J Microsc 224:213-232 (2006). doi:10.1111/j.1365-2818.2006.01706.x

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(64.0)
    >>> row = np.exp(-((x - 30) ** 2) / 18)           # a Gaussian line, sigma 3 px
    >>> image0 = np.tile(row, (8, 1))
    >>> image1 = np.roll(image0, 4, axis=-1)          # image1 moved 4 px towards larger x
    >>> res = van_steensel_ccf(image0, image1, max_shift=10)
    >>> res.dx_max, round(res.r_max, 3)
    (4.0, 1.0)
    """
    a = as_image(image0, name="image0", min_ndim=2)
    b = as_image(image1, name="image1", min_ndim=2)
    check_same_shape([a, b], ["image0", "image1"])
    width = a.shape[-1]
    n_shift = _check_max_shift(max_shift, width)
    if spacing is None and is_image(image0):
        spacing = spacing_of(image0, spacing)
        unit = str(image0.unit) if unit is None else unit
    pixel_size = resolve_spacing(spacing, a.ndim)[-1]
    unit = ("pixel" if spacing is None else "unit") if unit is None else str(unit)
    m = None if mask is None else as_mask(mask, a.shape)

    # centre on the means of the selected pixels (float64 copies; the inputs are not touched)
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    if m is None or m.any():
        a -= a.mean() if m is None else a[m].mean()
        b -= b.mean() if m is None else b[m].mean()

    dx = np.arange(-n_shift, n_shift + 1, dtype=np.int64)
    r, n_pairs = _pearson_per_shift(a, b, m, dx)
    nan = math.nan
    finite = np.isfinite(r)
    if not finite.all():
        bad = dx[~finite]
        what = "all shifts" if not finite.any() else f"dx = {bad.tolist()}"
        warn_degenerate(
            f"Van Steensel's r is NaN for {what}: a channel is constant over the overlapping "
            f"pixels, or fewer than two pixel pairs overlap (inside the mask)."
        )
    if finite.any():
        i_max = int(np.nanargmax(r))
        i_min = int(np.nanargmin(r))
        r_max, dx_max = float(r[i_max]), float(dx[i_max])
        r_min, dx_min = float(r[i_min]), float(dx[i_min])
        fa, fb, fc, fd = _fit_gaussian(dx, r, (r_min, r_max, dx_max, float(n_shift)))
    else:
        r_max = dx_max = r_min = dx_min = nan
        fa = fb = fc = fd = nan
    fit = _gaussian(dx.astype(np.float64), fa, fb, fc, fd) if math.isfinite(fd) else dx * nan
    fwhm = _FWHM_PER_SIGMA * fd
    return VanSteenselCCF(
        dx=dx,
        shift=dx * pixel_size,
        r=r,
        n_pairs=n_pairs,
        r_max=r_max,
        dx_max=dx_max,
        r_min=r_min,
        dx_min=dx_min,
        fit_a=fa,
        fit_b=fb,
        fit_c=fc,
        fit_d=fd,
        fwhm=fwhm,
        fwhm_calibrated=fwhm * pixel_size,
        fit=fit,
        pixel_size=pixel_size,
        unit=unit,
    )
