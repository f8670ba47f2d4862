"""FFT cross-correlations and contribution images for CCC, in float32 with the fewest lags needed.

CCC 2.2.3 (imglib2 ``FFTConvolution`` with ``complexConjugate``) returns an image of the input's
size ``N`` whose pixel ``x`` holds the linear, zero-padded correlation at shift ``s = x - N // 2``:
``out[x] = sum_m a[m + s] * b[m]``. We compute it as the circular convolution of ``a`` with ``b``
reversed (both at the start of their padded buffers): index ``k`` of the result holds shift
``s = k - (N - 1)``, without aliasing as long as the padded size ``P >= N + max(-s_min, s_max)``,
so ``P`` is about ``1.5 N`` for the plugin's full range of shifts and ``N + lag`` with a distance
cut-off, instead of the ``2N - 1`` of a full correlation. The window of shifts is then a slice of
the result (a view, not a copy), and no spectrum needs conjugating.

Every FFT goes through :data:`fft`, the one place that names an FFT library (see "Compute
backends" in docs/contributing.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "ScipyFFT",
    "box_correlation",
    "contribution_images",
    "correlate_window",
    "fft",
    "folded_box_correlation",
    "padded",
    "padded_shape",
]


class ScipyFFT:
    """The FFT backend: ``scipy.fft`` (pocketfft) on the CPU, threads from ``workers``.

    scipy is imported on first use, not with colocalize (it costs ~0.2 s of every import). Another
    backend (CuPy, say) provides the same three methods on its own arrays.
    """

    def next_fast_len(self, n: int) -> int:
        """The smallest size ``>= n`` that this library's real FFT handles fast."""
        import scipy.fft

        return int(scipy.fft.next_fast_len(n, real=True))

    def rfftn(self, image: np.ndarray, shape: Sequence[int], workers: int) -> np.ndarray:
        """Real FFT (complex64 for float32 input) of ``image`` zero-padded to ``shape``."""
        import scipy.fft

        return scipy.fft.rfftn(image, s=tuple(shape), workers=workers)

    def irfftn(self, spec: np.ndarray, shape: Sequence[int], workers: int) -> np.ndarray:
        """Inverse of :meth:`rfftn` for a real result of ``shape``; may overwrite ``spec``."""
        import scipy.fft

        return scipy.fft.irfftn(spec, s=tuple(shape), workers=workers, overwrite_x=True)


fft = ScipyFFT()


def padded_shape(shape: Sequence[int], lags: Sequence[tuple[int, int]]) -> tuple[int, ...]:
    """Fast real-FFT sizes that hold the shifts ``lags[i] = (s_min, s_max)`` without wrap-around."""
    return tuple(fft.next_fast_len(n + max(-lo, hi, 0)) for n, (lo, hi) in zip(shape, lags))


def padded(
    shape: Sequence[int], inner: Sequence[int], *, reverse: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """A zero float32 buffer of ``shape`` and a view of its first ``inner`` voxels per axis; with
    ``reverse``, a view that fills them in reverse order (``b`` of :func:`correlate_window`)."""
    buffer = np.zeros(tuple(shape), np.float32)
    view = buffer[tuple(slice(0, n) for n in inner)]
    return buffer, np.flip(view) if reverse else view


def correlate_window(
    spec_a: np.ndarray,
    spec_b_reversed: np.ndarray,
    image_shape: Sequence[int],
    lags: Sequence[tuple[int, int]],
    workers: int,
) -> np.ndarray:
    """Window of ``sum_m a[m + s] b[m]`` for the shifts in ``lags`` (images of ``image_shape``),
    from the FFT of ``a`` and that of ``b`` reversed (:func:`padded` with ``reverse=True``) at
    :func:`padded_shape`: a view of the circular result.

    Overwrites ``spec_a``.
    """
    spec_a *= spec_b_reversed
    full = fft.irfftn(spec_a, padded_shape(image_shape, lags), workers)
    return full[tuple(slice(n - 1 + lo, n + hi) for n, (lo, hi) in zip(image_shape, lags))]


def box_correlation(image: np.ndarray, lags: Sequence[tuple[int, int]]) -> np.ndarray:
    """``sum_m 1[0 <= m + s < N] * image[m]`` for the shifts in ``lags``: the correlation of an
    all-ones mask with ``image``, as box sums from cumulative sums, one axis at a time (float64,
    no FFT)."""
    out = image
    for axis, ((lo, hi), n) in enumerate(zip(lags, image.shape)):

        def along(index: slice, ndim: int = out.ndim, axis: int = axis) -> tuple[slice, ...]:
            return _along(ndim, axis, index)

        shape = list(out.shape)
        shape[axis] = n + 1
        table = np.empty(shape)  # table[k] = sum of image[:k] along the axis
        table[along(slice(0, 1))] = 0
        _cumsum(out, axis, table[along(slice(1, None))])
        # the summed range of m is [max(0, -s), min(n, n - s)): for s < 0 it is
        # table[n] - table[-s], for s >= 0 table[n - s]
        shape[axis] = hi - lo + 1
        out = np.empty(shape)
        neg = min(max(-lo, 0), hi - lo + 1)  # how many shifts are negative
        np.subtract(
            table[along(slice(n, n + 1))],
            table[along(slice(-lo, -lo - neg, -1))],
            out=out[along(slice(0, neg))],
        )
        first = max(lo, 0)
        out[along(slice(neg, None))] = table[along(slice(n - first, n - hi - 1, -1))]
        del table
    return out


def folded_box_correlation(image: np.ndarray, lags: Sequence[tuple[int, int]]) -> np.ndarray:
    """:func:`box_correlation` summed over mirror positions as
    :func:`colocalize._ccc._profile.fold` sums it, without the unfolded result (float64).

    The window of ``lags`` must be symmetric about the centre. On one axis of size ``n = 2k``
    (``k = n // 2`` is the zero shift), the fold pairs shifts ``j`` and ``-1 - j``, whose box sums
    add up to the total plus the sum over ``[j + 1, n - j)``, centred on ``k``; for ``n = 2k + 1``
    shifts ``j`` and ``-j`` give the total plus the sum over ``[j, n - j)`` (the zero shift once:
    the total). Both are sums over positions ``|m - k| <= d``: the image is first folded about
    ``k`` on every axis (``image[k - e] + image[k + e]``, :func:`_centre_fold`), a quarter of its
    size in 2D, then each axis's sums are a cumulative sum of the folded image and the totals its
    last entry. The same terms as the sums' definition, in another order: exact for integer
    images (every partial sum is an integer below 2**53).
    """
    last = image.ndim - 1
    # 8/16-bit integers fold exactly in int32 (2**ndim values each), half the bytes of float64
    small = image.dtype.kind in "biu" and image.dtype.itemsize <= 2
    out = image
    for axis in range(image.ndim):
        out = _centre_fold(out, axis, np.int32 if small else np.float64, outermost=axis == last)
    # the last axis first, while it is outermost in memory (its cumulative sum adds whole rows;
    # the sum writes the C-ordered result), then the others
    for axis in (last, *range(last)):
        (_, hi), n = lags[axis], image.shape[axis]
        ndim = out.ndim
        k = n // 2
        sums = out if out.dtype == np.float64 else np.empty_like(out, dtype=np.float64)
        _cumsum(out, axis, sums)  # sums[d]: the sum over |m - k| <= d along the axis
        out = sums
        total = out[_along(ndim, axis, slice(k, k + 1))]
        shape = list(out.shape)
        shape[axis] = hi + 1
        folded = np.empty(shape)  # fold index j = 0 .. s_max
        first = n % 2  # odd: the zero shift is not paired, its box sum is the total
        folded[_along(ndim, axis, slice(0, first))] = total
        # j >= first pairs with d = k - 1 - (j - first), from k - 1 down
        np.add(
            total,
            np.flip(out[_along(ndim, axis, slice(k + first - 1 - hi, k))], axis=axis),
            out=folded[_along(ndim, axis, slice(first, None))],
        )
        out = folded
    return out


def _centre_fold(
    image: np.ndarray, axis: int, dtype: type, *, outermost: bool = False
) -> np.ndarray:
    """``out[e] = image[k - e] + image[k + e]`` along ``axis`` (``k = n // 2``; ``image[k]`` alone
    at ``e = 0``; for even ``n``, ``image[0]`` alone at ``e = k``) in ``dtype``, ``n // 2 + 1``
    long: every position once, by its distance from ``k``. With ``outermost``, ``axis`` is the
    outermost axis of the result in memory."""
    ndim = image.ndim
    n = image.shape[axis]
    k = n // 2
    reach = k - 1 + n % 2  # e = 1 .. reach has both partners
    shape = list(image.shape)
    shape[axis] = k + 1
    out: np.ndarray
    if outermost:
        out = np.moveaxis(np.empty([shape.pop(axis), *shape], dtype), 0, axis)
    else:
        out = np.empty(shape, dtype)
    out[_along(ndim, axis, slice(0, 1))] = image[_along(ndim, axis, slice(k, k + 1))]
    np.add(
        np.flip(image[_along(ndim, axis, slice(k - reach, k))], axis=axis),
        image[_along(ndim, axis, slice(k + 1, k + 1 + reach))],
        out=out[_along(ndim, axis, slice(1, reach + 1))],
        dtype=dtype,
    )
    if reach < k:  # even n: position 0 has no partner
        out[_along(ndim, axis, slice(k, k + 1))] = image[_along(ndim, axis, slice(0, 1))]
    return out


def _along(ndim: int, axis: int, index: slice) -> tuple[slice, ...]:
    """Index ``index`` along ``axis`` of an ``ndim``-dimensional array."""
    return (slice(None),) * axis + (index,) + (slice(None),) * (ndim - axis - 1)


def _cumsum(values: np.ndarray, axis: int, out: np.ndarray) -> None:
    """``np.cumsum(values, axis, out=out)``; plane by plane except along the innermost axis of
    ``values`` in memory, because numpy's cumsum along an outer axis is several times slower than
    adding whole planes (its additions are one dependent chain; a plane's are not)."""
    if values.strides[axis] == values.itemsize:
        np.cumsum(values, axis=axis, dtype=out.dtype, out=out)
        return
    src = np.moveaxis(values, axis, 0)
    dst = np.moveaxis(out, axis, 0)
    dst[0] = src[0]
    for i in range(1, src.shape[0]):
        np.add(dst[i - 1], src[i], out=dst[i])


def contribution_images(
    image0: np.ndarray,
    image1: np.ndarray,
    kernel: np.ndarray,
    lags: Sequence[tuple[int, int]],
    workers: int,
) -> tuple[np.ndarray, np.ndarray]:
    """CCC's contribution images from the Gaussian-weighted correlation ``kernel``.

    ``kernel[k]`` is the weight of shift ``s = lags_min + k``. With mirror-extended images
    (``np.pad(..., mode="reflect")``, imglib2's ``extendMirrorSingle``)::

        C0(x) = image0(x) * sum_s G(s) image1(x - s)    (a convolution)
        C1(x) = image1(x) * sum_s G(s) image0(x + s)    (a correlation)
    """
    shape = image0.shape
    before0 = [(hi, -lo) for lo, hi in lags]  # image1(x - s) needs s_max before, -s_min after
    before1 = [(-lo, hi) for lo, hi in lags]
    fft_shape = tuple(fft.next_fast_len(n + k - 1) for n, k in zip(shape, kernel.shape))
    kspec = fft.rfftn(kernel.astype(np.float32, copy=False), fft_shape, workers)
    ext = np.pad(image1, [(max(a, 0), max(b, 0)) for a, b in before0], mode="reflect")
    spec = fft.rfftn(ext, fft_shape, workers)
    del ext
    spec *= kspec
    full = fft.irfftn(spec, fft_shape, workers)
    del spec
    start = [k - 1 for k in kernel.shape]
    conv = full[tuple(slice(s0, s0 + n) for s0, n in zip(start, shape))]
    c0 = (image0 * conv).astype(np.float32)
    del full, conv
    ext = np.pad(image0, [(max(a, 0), max(b, 0)) for a, b in before1], mode="reflect")
    spec = fft.rfftn(ext, fft_shape, workers)
    del ext
    np.conjugate(kspec, out=kspec)
    spec *= kspec
    del kspec
    full = fft.irfftn(spec, fft_shape, workers)
    del spec
    c1 = (image1 * full[tuple(slice(0, n) for n in shape)]).astype(np.float32)
    return c0, c1
